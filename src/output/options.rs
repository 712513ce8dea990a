//! The terminal output's own settings, as ansible-core's default callback and the aggregate
//! callbacks baton reproduces (ansible.posix's `profile_tasks` and `timer`) read them: from
//! ansible.cfg, with the environment above it. This file owns their names, defaults and
//! parsing; `human.rs` and `profile.rs` act on them.

use crate::config::{Config, parse_bool};

/// How results are written (`callback_result_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultFormat {
    #[default]
    Json,
    Yaml,
}

/// `profile_tasks`'s `sort_order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Descending,
    Ascending,
    None,
}

/// The options of ansible.posix's `profile_tasks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileOptions {
    /// `output_limit`: how many tasks the summary lists (`None`: all).
    pub output_limit: Option<usize>,
    pub sort_order: SortOrder,
    /// `summary_only`: no line under each task's banner, the summary only.
    pub summary_only: bool,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            output_limit: Some(20),
            sort_order: SortOrder::Descending,
            summary_only: false,
        }
    }
}

/// An aggregate callback `callbacks_enabled` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// ansible.posix's `profile_tasks`, with its options.
    ProfileTasks(ProfileOptions),
    /// ansible.posix's `timer`.
    Timer,
}

/// What the default callback's options and `callbacks_enabled` ask of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayOptions {
    pub result_format: ResultFormat,
    /// `callback_format_pretty`: `None` leaves it to the format (YAML pretty, JSON compact).
    pub pretty_results: Option<bool>,
    pub display_skipped_hosts: bool,
    pub display_ok_hosts: bool,
    /// Failed and unreachable results go to stderr.
    pub display_failed_stderr: bool,
    /// `task path: FILE:LINE` above a failed result (below `-vv`, where every banner has it).
    pub show_task_path_on_failure: bool,
    /// `DRY RUN` and `[CHECK MODE]` markers in a check run.
    pub check_mode_markers: bool,
    /// ` [started TASK: NAME on HOST]` as each host starts a task.
    pub show_per_host_start: bool,
    /// What `set_stats` gathered, after the recap.
    pub show_custom_stats: bool,
    /// The aggregate callbacks `callbacks_enabled` names, in its order (the order they
    /// write in after the default callback).
    pub callbacks: Vec<Callback>,
}

impl Default for DisplayOptions {
    fn default() -> Self {
        DisplayOptions {
            result_format: ResultFormat::Json,
            pretty_results: None,
            display_skipped_hosts: true,
            display_ok_hosts: true,
            display_failed_stderr: false,
            show_task_path_on_failure: false,
            check_mode_markers: false,
            show_per_host_start: false,
            show_custom_stats: false,
            callbacks: Vec::new(),
        }
    }
}

/// A callback plugin's names: short, FQCN, and the redirect ansible-core keeps for the short
/// one (`profile_tasks` is `ansible.posix.profile_tasks`).
fn names_plugin(entry: &str, short: &str) -> bool {
    let entry = entry.trim();
    entry == short || entry == format!("ansible.posix.{short}")
}

impl DisplayOptions {
    /// The options from the configuration file's settings and the environment (which wins).
    pub fn from_config(config: &Config) -> DisplayOptions {
        Self::from_sources(config, |name| {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        })
    }

    /// [`DisplayOptions::from_config`] with the environment given as a lookup.
    pub fn from_sources(config: &Config, env: impl Fn(&str) -> Option<String>) -> DisplayOptions {
        // The value of a setting: its environment variable, else the file's last one.
        let setting = |var: &str, section: &str, key: &str| -> Option<String> {
            env(var).or_else(|| {
                config
                    .other
                    .iter()
                    .rev()
                    .find(|(s, k, _)| s == section && k == key)
                    .map(|(_, _, v)| v.clone())
            })
        };
        let flag = |var: &str, key: &str, default: bool| -> bool {
            setting(var, "defaults", key)
                .and_then(|v| parse_bool(&v))
                .unwrap_or(default)
        };
        let enabled: Vec<String> =
            setting("ANSIBLE_CALLBACKS_ENABLED", "defaults", "callbacks_enabled")
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default();
        let profile_tasks = || {
            let profile = |var: &str, key: &str| {
                setting(var, "callback_profile_tasks", key).map(|v| v.trim().to_lowercase())
            };
            let defaults = ProfileOptions::default();
            ProfileOptions {
                output_limit: match profile("PROFILE_TASKS_TASK_OUTPUT_LIMIT", "task_output_limit")
                {
                    Some(v) if v == "all" => None,
                    Some(v) => v.parse().ok().or(defaults.output_limit),
                    None => defaults.output_limit,
                },
                sort_order: match profile("PROFILE_TASKS_SORT_ORDER", "sort_order").as_deref() {
                    Some("ascending") => SortOrder::Ascending,
                    Some("none") => SortOrder::None,
                    _ => SortOrder::Descending,
                },
                summary_only: profile("PROFILE_TASKS_SUMMARY_ONLY", "summary_only")
                    .and_then(|v| parse_bool(&v))
                    .unwrap_or(false),
            }
        };
        let mut callbacks = Vec::new();
        for entry in &enabled {
            let callback = if names_plugin(entry, "profile_tasks") {
                Callback::ProfileTasks(profile_tasks())
            } else if names_plugin(entry, "timer") {
                Callback::Timer
            } else {
                continue;
            };
            if !callbacks.contains(&callback) {
                callbacks.push(callback);
            }
        }
        DisplayOptions {
            result_format: match setting(
                "ANSIBLE_CALLBACK_RESULT_FORMAT",
                "defaults",
                "callback_result_format",
            )
            .map(|v| v.trim().to_lowercase())
            .as_deref()
            {
                Some("yaml") => ResultFormat::Yaml,
                _ => ResultFormat::Json,
            },
            pretty_results: setting(
                "ANSIBLE_CALLBACK_FORMAT_PRETTY",
                "defaults",
                "callback_format_pretty",
            )
            .and_then(|v| parse_bool(&v)),
            display_skipped_hosts: flag(
                "ANSIBLE_DISPLAY_SKIPPED_HOSTS",
                "display_skipped_hosts",
                true,
            ),
            display_ok_hosts: flag("ANSIBLE_DISPLAY_OK_HOSTS", "display_ok_hosts", true),
            display_failed_stderr: flag(
                "ANSIBLE_DISPLAY_FAILED_STDERR",
                "display_failed_stderr",
                false,
            ),
            show_task_path_on_failure: flag(
                "ANSIBLE_SHOW_TASK_PATH_ON_FAILURE",
                "show_task_path_on_failure",
                false,
            ),
            check_mode_markers: flag("ANSIBLE_CHECK_MODE_MARKERS", "check_mode_markers", false),
            show_per_host_start: flag("ANSIBLE_SHOW_PER_HOST_START", "show_per_host_start", false),
            show_custom_stats: flag("ANSIBLE_SHOW_CUSTOM_STATS", "show_custom_stats", false),
            callbacks,
        }
    }
}

impl DisplayOptions {
    /// A result (or any value) as the default callback's `_dump_results` writes it after
    /// ` => `: JSON on one line, JSON indented by 4 (`-vvv`, a module that asks to be shown,
    /// `callback_format_pretty`), or YAML on the lines below, indented by 4. `indent` is an
    /// indentation the caller asks for (the custom stats' 1).
    pub fn dump(
        &self,
        result: &serde_json::Value,
        indent: Option<usize>,
        verbose_always: bool,
        verbosity: u8,
    ) -> String {
        let yaml = self.result_format == ResultFormat::Yaml;
        let mut indent = indent;
        if indent.is_none()
            && (verbose_always
                || (self.pretty_results.is_none() && yaml)
                || self.pretty_results == Some(true)
                || verbosity > 2)
        {
            indent = Some(4);
        }
        if self.pretty_results == Some(false) {
            indent = None;
        }
        if !yaml {
            return match indent {
                None => crate::value::python_json(&crate::value::sort_keys(result)),
                Some(4) => crate::value::ansible_json(result),
                Some(n) => crate::text::json::dumps(
                    result,
                    &crate::text::json::Style {
                        sort_keys: true,
                        ensure_ascii: false,
                        ..crate::text::json::Style::indented(n)
                    },
                ),
            };
        }
        let lossy = self.pretty_results != Some(false);
        let mut result = result.clone();
        if lossy && let serde_json::Value::Object(o) = &mut result {
            // The lines again add nothing to the text itself.
            for (text, lines) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
                if o.contains_key(text) && o.contains_key(lines) {
                    o.insert(lines.into(), "<omitted>".into());
                }
            }
        }
        let opts = crate::template::pyyaml::DumpOptions {
            default_flow_style: Some(false),
            indent: indent.unwrap_or(2),
            literal_multiline: true,
            lossy,
            ..Default::default()
        };
        let text = crate::template::pyyaml::dump(&crate::value::from_json(&result), opts)
            .unwrap_or_else(|e| format!("<cannot show as YAML: {e}>\n"));
        // textwrap.indent: every line with something on it.
        let prefix = " ".repeat(indent.unwrap_or(4));
        let mut out = String::from("\n");
        for line in text.split_inclusive('\n') {
            if !line.trim().is_empty() {
                out.push_str(&prefix);
            }
            out.push_str(line);
        }
        // The display ends the text with its newline.
        if out.ends_with('\n') {
            out.pop();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(settings: &[(&str, &str, &str)]) -> Config {
        Config {
            other: settings
                .iter()
                .map(|(s, k, v)| (s.to_string(), k.to_string(), v.to_string()))
                .collect(),
            ..Config::default()
        }
    }

    #[test]
    fn file_settings_with_the_environment_above_them() {
        let cfg = config(&[
            ("defaults", "callback_result_format", "YAML"),
            ("defaults", "display_ok_hosts", "no"),
            ("defaults", "display_skipped_hosts", "false"),
            (
                "defaults",
                "callbacks_enabled",
                "ansible.posix.profile_tasks, timer",
            ),
            ("callback_profile_tasks", "sort_order", "ascending"),
            ("callback_profile_tasks", "task_output_limit", "all"),
        ]);
        let o = DisplayOptions::from_sources(&cfg, |v| {
            (v == "ANSIBLE_DISPLAY_OK_HOSTS").then(|| "yes".to_string())
        });
        assert_eq!(o.result_format, ResultFormat::Yaml);
        assert!(o.display_ok_hosts);
        assert!(!o.display_skipped_hosts);
        assert_eq!(
            o.callbacks,
            [
                Callback::ProfileTasks(ProfileOptions {
                    output_limit: None,
                    sort_order: SortOrder::Ascending,
                    summary_only: false,
                }),
                Callback::Timer
            ]
        );
        let none = DisplayOptions::from_sources(&Config::default(), |_| None);
        assert_eq!(none, DisplayOptions::default());
        let env = DisplayOptions::from_sources(&Config::default(), |v| match v {
            "ANSIBLE_CALLBACKS_ENABLED" => Some("profile_tasks".into()),
            "PROFILE_TASKS_TASK_OUTPUT_LIMIT" => Some("3".into()),
            "PROFILE_TASKS_SUMMARY_ONLY" => Some("true".into()),
            _ => None,
        });
        let [Callback::ProfileTasks(p)] = env.callbacks.as_slice() else {
            panic!("profile_tasks alone: {:?}", env.callbacks)
        };
        assert_eq!(p.sort_order, SortOrder::Descending);
        assert_eq!(p.output_limit, Some(3));
        assert!(p.summary_only);
    }
}

#[cfg(test)]
mod dump_tests {
    use super::*;

    fn yaml(pretty: Option<bool>) -> DisplayOptions {
        DisplayOptions {
            result_format: ResultFormat::Yaml,
            pretty_results: pretty,
            ..DisplayOptions::default()
        }
    }

    // Expected text from ansible-core 2.19.14 (callback_result_format = yaml).
    #[test]
    fn yaml_results_as_ansible_writes_them() {
        let r = serde_json::json!({
            "changed": true, "cmd": ["echo", "a"], "rc": 0,
            "stdout": "one \ntwo\t x\n", "stdout_lines": ["one ", "two\t x"],
            "msg": "plain", "empty": "", "n": null, "d": {}
        });
        assert_eq!(
            yaml(None).dump(&r, None, false, 0),
            "\n    changed: true\n    cmd:\n    - echo\n    - a\n    d: {}\n    empty: ''\n    msg: plain\n    n: null\n    rc: 0\n    stdout: |-\n        one\n        two      x\n    stdout_lines: <omitted>"
        );
        // Not lossy: the text kept as it is, so it cannot be a block.
        assert_eq!(
            yaml(Some(false)).dump(&serde_json::json!({"s": "a \nb"}), None, false, 0),
            "\n    s: \"a \\nb\""
        );
        // JSON: compact unless something asks for the indented form.
        let json = DisplayOptions::default();
        let v = serde_json::json!({"b": 1, "a": "é"});
        assert_eq!(json.dump(&v, None, false, 0), "{\"a\": \"é\", \"b\": 1}");
        assert_eq!(
            json.dump(&v, None, true, 0),
            "{\n    \"a\": \"é\",\n    \"b\": 1\n}"
        );
        assert_eq!(
            json.dump(&serde_json::json!({"a": [2]}), Some(1), false, 0)
                .replace('\n', ""),
            "{ \"a\": [  2 ]}"
        );
    }
}
