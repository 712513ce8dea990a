//! A Python module's input and output, as ansible-core 2.19 writes and reads them: the
//! arguments document (`{"ANSIBLE_MODULE_ARGS": {...}}` with the `_ansible_*` keys its action
//! plugin adds, see [`module_args`]) and the result read back from the module's standard output
//! ([`read_result`]: the JSON object among other lines, as `_filter_non_json_lines` finds it,
//! then the clean-up `_execute_module` and the task executor do).

use crate::value::{self, Value, Vars};
use serde_json::{Map, Value as Json, json};

/// The settings of the controller's ansible configuration that a module's arguments carry
/// (`ansible.cfg`, `ANSIBLE_*`), as the helper read them; the defaults are ansible-core 2.19's.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub version: String,
    pub debug: bool,
    pub no_target_syslog: bool,
    pub syslog_facility: String,
    pub selinux_special_fs: Vec<String>,
    pub keep_remote_files: bool,
    pub target_log_info: Json,
    pub shell_executable: String,
    pub tracebacks_for: Vec<String>,
    /// INTERPRETER_PYTHON_FALLBACK: what interpreter discovery looks for, in order.
    pub interpreter_fallback: Vec<String>,
    /// INTERPRETER_PYTHON (`interpreter_python` in ansible.cfg, ANSIBLE_PYTHON_INTERPRETER):
    /// the interpreter when the inventory names none; `auto` asks for discovery.
    pub interpreter_python: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            version: "2.19.14".into(),
            debug: false,
            no_target_syslog: false,
            syslog_facility: "LOG_USER".into(),
            selinux_special_fs: ["fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat"]
                .map(String::from)
                .to_vec(),
            keep_remote_files: false,
            target_log_info: Json::Null,
            shell_executable: "/bin/sh".into(),
            tracebacks_for: Vec::new(),
            interpreter_fallback: [
                "python3.13",
                "python3.12",
                "python3.11",
                "python3.10",
                "python3.9",
                "python3.8",
                "/usr/bin/python3",
                "python3",
            ]
            .map(String::from)
            .to_vec(),
            interpreter_python: "auto".into(),
        }
    }
}

impl Settings {
    /// The helper's `settings`, each missing or malformed one at its default.
    pub fn from_json(j: &Json) -> Settings {
        let d = Settings::default();
        let text = |k: &str, d: String| j.get(k).and_then(Json::as_str).map_or(d, str::to_string);
        let flag = |k: &str, d: bool| j.get(k).and_then(Json::as_bool).unwrap_or(d);
        let list = |k: &str, d: Vec<String>| {
            j.get(k)
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or(d)
        };
        Settings {
            version: text("version", d.version),
            debug: flag("debug", d.debug),
            no_target_syslog: flag("no_target_syslog", d.no_target_syslog),
            syslog_facility: text("syslog_facility", d.syslog_facility),
            selinux_special_fs: list("selinux_special_fs", d.selinux_special_fs),
            keep_remote_files: flag("keep_remote_files", d.keep_remote_files),
            target_log_info: j.get("target_log_info").cloned().unwrap_or(Json::Null),
            shell_executable: text("shell_executable", d.shell_executable),
            tracebacks_for: list("tracebacks_for", d.tracebacks_for),
            interpreter_fallback: list("interpreter_fallback", d.interpreter_fallback),
            interpreter_python: text("interpreter_python", d.interpreter_python),
        }
    }
}

/// What a task says about how its module runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    pub check: bool,
    pub diff: bool,
    pub no_log: bool,
    pub verbosity: u8,
}

/// The module's arguments, then the keys ansible-core's `_update_module_args` adds, in its
/// order. `_ansible_tmpdir` is null as with pipelining (the module makes its own under
/// `_ansible_remote_tmp` when it needs one).
pub fn module_args(name: &str, args: &Vars, mode: Mode, s: &Settings) -> Json {
    let mut m = Map::new();
    for (k, v) in args {
        m.insert(k.clone(), value::to_json(v));
    }
    let extra = [
        ("_ansible_check_mode", json!(mode.check)),
        ("_ansible_no_log", json!(mode.no_log || s.no_target_syslog)),
        ("_ansible_debug", json!(s.debug)),
        ("_ansible_diff", json!(mode.diff)),
        ("_ansible_verbosity", json!(mode.verbosity)),
        ("_ansible_version", json!(s.version)),
        ("_ansible_module_name", json!(name)),
        ("_ansible_syslog_facility", json!(s.syslog_facility)),
        ("_ansible_selinux_special_fs", json!(s.selinux_special_fs)),
        ("_ansible_socket", Json::Null),
        ("_ansible_shell_executable", json!(s.shell_executable)),
        ("_ansible_keep_remote_files", json!(s.keep_remote_files)),
        ("_ansible_tmpdir", Json::Null),
        ("_ansible_remote_tmp", json!("~/.ansible/tmp")),
        ("_ansible_ignore_unknown_opts", json!(false)),
        ("_ansible_target_log_info", s.target_log_info.clone()),
        ("_ansible_tracebacks_for", json!(s.tracebacks_for)),
    ];
    for (k, v) in extra {
        m.insert(k.to_string(), v);
    }
    json!({ "ANSIBLE_MODULE_ARGS": Json::Object(m) })
}

/// ansible-core's `_filter_non_json_lines` for objects: the lines from the first one starting
/// with `{` to the last one ending with `}`, and a warning for anything but blank lines after
/// it. `Err` says what was missing, in ansible's words.
pub fn filter_non_json_lines(data: &str) -> Result<(String, Vec<String>), &'static str> {
    let lines: Vec<&str> = data.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim().starts_with('{'))
        .ok_or("No start of json char found")?;
    let lines = &lines[start..];
    let back = lines
        .iter()
        .rev()
        .position(|l| l.trim().ends_with('}'))
        .ok_or("No end of json char found")?;
    let end = lines.len() - back;
    let mut warnings = Vec::new();
    let junk = &lines[end..];
    if junk.iter().any(|l| !l.trim().is_empty()) {
        warnings.push(format!(
            "Module invocation had junk after the JSON data: {}",
            junk.join("\n")
        ));
    }
    Ok((lines[..end].join("\n"), warnings))
}

/// The result of a module run, read as ansible-core reads it: the JSON object of its standard
/// output, or a failure with ansible's message and the module's raw output.
pub fn read_result(stdout: &str, stderr: &str, rc: Option<i32>) -> Vars {
    let parsed = filter_non_json_lines(stdout).and_then(|(text, warnings)| {
        match serde_json::from_str::<Json>(&text) {
            Ok(Json::Object(o)) => Ok((o, warnings)),
            _ => Err("Expecting value"),
        }
    });
    let (data, junk_warnings) = match parsed {
        Ok(x) => x,
        Err(why) => {
            let mut r = Vars::new();
            r.insert("changed".into(), Value::from(false));
            r.insert("failed".into(), Value::from(true));
            r.insert("module_stderr".into(), Value::from(stderr));
            r.insert("module_stdout".into(), Value::from(stdout));
            r.insert(
                "msg".into(),
                Value::from(format!("Module result deserialization failed: {why}")),
            );
            if let Some(rc) = rc {
                r.insert("rc".into(), Value::from(rc));
            }
            return r;
        }
    };
    let mut r = Vars::new();
    for (k, v) in &data {
        // `remove_internal_keys`: a module may not set ansible's own keys.
        if (k.starts_with("_ansible_") && k != "_ansible_parsed")
            || k == "add_host"
            || k == "add_group"
        {
            continue;
        }
        let v = match k.as_str() {
            "warnings" | "deprecations" => plain_messages(v),
            _ => v.clone(),
        };
        r.insert(k.clone(), value::from_json(&v));
    }
    for key in ["warnings", "deprecations"] {
        if r.get(key).is_some_and(|v| !v.is_true()) {
            r.shift_remove(key);
        }
    }
    if !junk_warnings.is_empty() {
        let mut all: Vec<Value> = r
            .get("warnings")
            .and_then(|w| w.try_iter().ok())
            .map(|i| i.collect())
            .unwrap_or_default();
        all.extend(junk_warnings.into_iter().map(Value::from));
        r.insert("warnings".into(), Value::from(all));
    }
    if let Some(results) = r.get("results")
        && !matches!(results.kind(), minijinja::value::ValueKind::Seq)
    {
        let moved = r.shift_remove("results").unwrap_or_default();
        r.insert("ansible_module_results".into(), moved);
    }
    // A failure the module did not word (an exception it did not catch): its summary's message.
    if r.get("failed").is_some_and(Value::is_true) && !r.contains_key("msg") {
        let msg = data
            .get("exception")
            .and_then(|e| e.pointer("/event/msg").or_else(|| e.get("msg")))
            .and_then(Json::as_str)
            .map(|m| format!("Task failed: Module failed: {m}"))
            .unwrap_or_else(|| "Unknown error.".into());
        r.insert("msg".into(), Value::from(msg));
    }
    // The task executor: `failed` from `rc` when the module did not say, and output lines.
    if !r.contains_key("failed") {
        let bad_rc = r
            .get("rc")
            .is_some_and(|v| !(v.as_i64() == Some(0) || v.as_str() == Some("0")));
        if bad_rc {
            r.insert("failed".into(), Value::from(true));
        }
    }
    for (key, lines) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if let Some(v) = r.get(key)
            && !r.contains_key(lines)
        {
            let text = if v.is_true() {
                v.to_string()
            } else {
                String::new()
            };
            let split: Vec<Value> = text.lines().map(Value::from).collect();
            r.insert(lines.into(), Value::from(split));
        }
    }
    r
}

/// Warnings and deprecations as ansible-core registers them: a module's `WarningSummary` is its
/// message, a `DeprecationSummary` the message with its deprecator, version or date.
fn plain_messages(list: &Json) -> Json {
    let Some(items) = list.as_array() else {
        return list.clone();
    };
    let plain = |item: &Json| -> Json {
        let msg = item.pointer("/event/msg").cloned();
        match (item.get("__ansible_type").and_then(Json::as_str), msg) {
            (Some("WarningSummary"), Some(m)) => m,
            (Some("DeprecationSummary"), Some(m)) => {
                let mut d = Map::new();
                let deprecator = item.get("deprecator").cloned().unwrap_or(Json::Null);
                if let Some(name) = deprecator.get("resolved_name") {
                    d.insert("collection_name".into(), name.clone());
                }
                if let Some(date) = item.get("date") {
                    d.insert("date".into(), date.clone());
                }
                let mut dep = deprecator;
                if let Some(o) = dep.as_object_mut() {
                    o.remove("__ansible_type");
                }
                d.insert("deprecator".into(), dep);
                d.insert("msg".into(), m);
                if let Some(v) = item.get("version") {
                    d.insert("version".into(), v.clone());
                }
                Json::Object(d)
            }
            _ => item.clone(),
        }
    };
    Json::Array(items.iter().map(plain).collect())
}

/// The facts of a result, less those only an action may set (`discovered_interpreter_*`).
pub fn take_facts(r: &mut Vars) -> Option<Vars> {
    let facts = r.shift_remove("ansible_facts")?;
    let keys = facts.try_iter().ok()?;
    let mut out = Vars::new();
    for k in keys {
        let name = k.to_string();
        if name.starts_with("discovered_interpreter_")
            || name.starts_with("ansible_discovered_interpreter_")
        {
            continue;
        }
        out.insert(name, facts.get_item(&k).unwrap_or_default());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_among_other_lines() {
        let (text, warnings) = filter_non_json_lines("motd\n  {\"a\": 1,\n\"b\": {}}\n\n").unwrap();
        assert_eq!(text, "  {\"a\": 1,\n\"b\": {}}");
        assert!(warnings.is_empty());
        let (text, warnings) = filter_non_json_lines("{\"a\": 1}\nbye\n").unwrap();
        assert_eq!(text, "{\"a\": 1}");
        assert_eq!(
            warnings,
            ["Module invocation had junk after the JSON data: bye"]
        );
        assert_eq!(
            filter_non_json_lines("[1]\n"),
            Err("No start of json char found")
        );
        assert_eq!(
            filter_non_json_lines("{\"a\": 1\n"),
            Err("No end of json char found")
        );
    }

    #[test]
    fn a_module_without_json_fails_as_in_ansible() {
        let r = read_result("hello no json\n", "boom\n", Some(3));
        assert!(r["failed"].is_true());
        assert_eq!(
            r["msg"].as_str(),
            Some("Module result deserialization failed: No start of json char found")
        );
        assert_eq!(r["module_stdout"].as_str(), Some("hello no json\n"));
        assert_eq!(r["module_stderr"].as_str(), Some("boom\n"));
        assert_eq!(r["rc"].as_i64(), Some(3));
    }

    #[test]
    fn a_result_is_cleaned_as_ansible_cleans_it() {
        let mut r = read_result(
            "junk\n{\"changed\": true, \"stdout\": \"a\\nb\", \"warnings\": [], \"_ansible_x\": 1, \
             \"ansible_facts\": {\"f\": 1, \"discovered_interpreter_python\": \"/x\"}}\n",
            "",
            Some(0),
        );
        assert!(!r.contains_key("warnings") && !r.contains_key("_ansible_x"));
        assert_eq!(r["stdout_lines"].len(), Some(2));
        let facts = take_facts(&mut r).unwrap();
        assert_eq!(facts.keys().collect::<Vec<_>>(), ["f"]);
        let r = read_result(
            r#"{"warnings": [{"event": {"msg": "w1", "__ansible_type": "Event"}, "__ansible_type": "WarningSummary"}],
                "deprecations": [{"event": {"msg": "old", "__ansible_type": "Event"}, "deprecator": {"resolved_name": "my.coll", "type": null, "__ansible_type": "PluginInfo"}, "version": "9.0", "__ansible_type": "DeprecationSummary"}]}"#,
            "",
            Some(0),
        );
        assert_eq!(
            r["warnings"].get_item(&Value::from(0)).unwrap().as_str(),
            Some("w1")
        );
        let d = value::to_json(&r["deprecations"]);
        assert_eq!(
            d,
            json!([{"collection_name": "my.coll", "deprecator": {"resolved_name": "my.coll", "type": null}, "msg": "old", "version": "9.0"}])
        );
        let r = read_result("{\"rc\": 2}", "", Some(0));
        assert!(r["failed"].is_true());
        let r = read_result(
            "{\"failed\": true, \"exception\": {\"event\": {\"msg\": \"kaput\"}}}",
            "",
            Some(1),
        );
        assert_eq!(r["msg"].as_str(), Some("Task failed: Module failed: kaput"));
    }

    #[test]
    fn arguments_carry_ansibles_keys_after_the_modules_own() {
        let mut args = Vars::new();
        args.insert("path".into(), Value::from("/tmp"));
        let mode = Mode {
            check: true,
            diff: false,
            no_log: true,
            verbosity: 2,
        };
        let doc = module_args("ansible.builtin.find", &args, mode, &Settings::default());
        let a = doc["ANSIBLE_MODULE_ARGS"].as_object().unwrap();
        let keys: Vec<&str> = a.keys().map(String::as_str).collect();
        assert_eq!(keys[0], "path");
        assert_eq!(keys[1], "_ansible_check_mode");
        for k in [
            "_ansible_no_log",
            "_ansible_debug",
            "_ansible_diff",
            "_ansible_verbosity",
            "_ansible_version",
            "_ansible_module_name",
            "_ansible_syslog_facility",
            "_ansible_selinux_special_fs",
            "_ansible_shell_executable",
            "_ansible_keep_remote_files",
            "_ansible_tmpdir",
            "_ansible_remote_tmp",
            "_ansible_ignore_unknown_opts",
            "_ansible_target_log_info",
            "_ansible_tracebacks_for",
        ] {
            assert!(a.contains_key(k), "{k}");
        }
        assert_eq!(a["_ansible_check_mode"], json!(true));
        assert_eq!(a["_ansible_no_log"], json!(true));
        assert_eq!(a["_ansible_verbosity"], json!(2));
        assert_eq!(a["_ansible_module_name"], json!("ansible.builtin.find"));
    }
}
