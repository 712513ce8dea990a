//! JUnit XML for CI systems, as ansible-core's `junit` callback writes it: one test case per
//! task and host (`[host] play: task args`, classname the task's `FILE:LINE`), failures,
//! errors and skips marked, one file per playbook (`DIR/PLAYBOOK-TIME.xml`). Built from the
//! recorded run ([`crate::output::report::RunRecord`]) at each playbook's recap.
//!
//! Enabled as Ansible enables it (`callbacks_enabled = junit` in ansible.cfg, or
//! `ANSIBLE_CALLBACKS_ENABLED`, also as `ansible.builtin.junit` / `community.general.junit`),
//! or by `baton play --junit PATH` (a directory, or a file when PATH ends in `.xml`). Its
//! options are the callback's environment variables: `JUNIT_OUTPUT_DIR`, `JUNIT_TASK_CLASS`,
//! `JUNIT_TASK_RELATIVE_PATH`, `JUNIT_REPLACE_OUT_OF_TREE_PATH`, `JUNIT_FAIL_ON_CHANGE`,
//! `JUNIT_FAIL_ON_IGNORE`, `JUNIT_INCLUDE_SETUP_TASKS_IN_REPORT`, `JUNIT_HIDE_TASK_ARGUMENTS`,
//! `JUNIT_TEST_CASE_PREFIX`.

use crate::output::report::{HostRecord, PlayRecord, StatusWord, TaskRecord};
use serde_json::Value as Json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The callback's options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where files go: a directory (`PLAYBOOK-TIME.xml` in it), or the file itself.
    pub dest: PathBuf,
    pub dest_is_file: bool,
    /// `JUNIT_TASK_CLASS`: one class per YAML file (the classname less its `.yml:LINE`).
    pub task_class: bool,
    /// `JUNIT_TASK_RELATIVE_PATH`: classnames relative to this directory.
    pub task_relative_path: Option<String>,
    /// `JUNIT_REPLACE_OUT_OF_TREE_PATH`: a relative classname out of that tree (`../`) becomes
    /// this text and the file's name.
    pub replace_out_of_tree_path: Option<String>,
    /// `JUNIT_FAIL_ON_CHANGE`: a changed result is a failure.
    pub fail_on_change: bool,
    /// `JUNIT_FAIL_ON_IGNORE`: an ignored failure is still a failure.
    pub fail_on_ignore: bool,
    /// `JUNIT_INCLUDE_SETUP_TASKS_IN_REPORT` (default true): `setup` tasks are test cases.
    pub include_setup_tasks: bool,
    /// `JUNIT_HIDE_TASK_ARGUMENTS`: test case names leave the task's arguments out.
    pub hide_task_arguments: bool,
    /// `JUNIT_TEST_CASE_PREFIX`: only tasks whose name starts with it are test cases (and
    /// every failure).
    pub test_case_prefix: String,
}

/// The names ansible.cfg's `callbacks_enabled` may give the callback.
pub fn is_junit_callback(name: &str) -> bool {
    matches!(
        name.trim(),
        "junit" | "ansible.builtin.junit" | "ansible.legacy.junit" | "community.general.junit"
    )
}

impl Options {
    /// The options from the environment, as the callback reads them; `dest` (the `--junit`
    /// flag) over `JUNIT_OUTPUT_DIR` over `~/.ansible.log`.
    pub fn from_env(dest: Option<PathBuf>) -> Options {
        Options::from_lookup(dest, |k| std::env::var(k).ok())
    }

    /// The options from any lookup of the callback's variables (tests).
    pub fn from_lookup(dest: Option<PathBuf>, get: impl Fn(&str) -> Option<String>) -> Options {
        // The callback compares lowercased text with 'true' / 'false'.
        let flag = |k: &str, default: bool| match get(k) {
            Some(v) => v.to_lowercase() == "true",
            None => default,
        };
        let dest = dest
            .or_else(|| get("JUNIT_OUTPUT_DIR").map(PathBuf::from))
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
                Path::new(&home).join(".ansible.log")
            });
        let dest_is_file = dest.extension().is_some_and(|e| e == "xml");
        Options {
            dest,
            dest_is_file,
            task_class: flag("JUNIT_TASK_CLASS", false),
            task_relative_path: get("JUNIT_TASK_RELATIVE_PATH").filter(|p| !p.is_empty()),
            replace_out_of_tree_path: get("JUNIT_REPLACE_OUT_OF_TREE_PATH"),
            fail_on_change: flag("JUNIT_FAIL_ON_CHANGE", false),
            fail_on_ignore: flag("JUNIT_FAIL_ON_IGNORE", false),
            // Anything but 'false' keeps them, as the callback's test.
            include_setup_tasks: get("JUNIT_INCLUDE_SETUP_TASKS_IN_REPORT")
                .is_none_or(|v| v.to_lowercase() != "false"),
            hide_task_arguments: flag("JUNIT_HIDE_TASK_ARGUMENTS", false),
            test_case_prefix: get("JUNIT_TEST_CASE_PREFIX").unwrap_or_default(),
        }
    }

    /// The file for a playbook's report: `DIR/NAME-TIME.xml` (TIME as Python prints
    /// `time.time()`), or the file given.
    pub fn file_for(&self, playbook: &str, unix_time: f64) -> PathBuf {
        if self.dest_is_file {
            self.dest.clone()
        } else {
            self.dest
                .join(format!("{playbook}-{}.xml", py_float(unix_time)))
        }
    }
}

/// Python's `repr` of a float that has a fraction: Rust's shortest round-trip digits are the
/// same digits.
fn py_float(f: f64) -> String {
    let s = format!("{f}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// What a result counts as, after the callback's rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ok,
    Failed,
    Skipped,
    Included,
}

/// One test case.
struct Case<'a> {
    name: String,
    classname: String,
    time: f64,
    kind: Kind,
    host: Option<&'a HostRecord>,
    /// An inclusion's text (`system-out`).
    included: String,
}

/// One task across the batches it ran in (Ansible's task data is per task object: its start
/// is the first batch's).
struct Task<'a> {
    first: &'a TaskRecord,
    play: &'a str,
    results: Vec<&'a HostRecord>,
    included: Vec<&'a str>,
}

/// The JUnit XML of a playbook's plays.
pub fn render(playbook: &str, plays: &[PlayRecord], opts: &Options) -> String {
    let mut tasks: Vec<Task> = Vec::new();
    for play in plays {
        for t in &play.tasks {
            match tasks.iter_mut().find(|x| x.first.id == t.id) {
                Some(x) => {
                    x.results.extend(t.results.iter());
                    x.included.extend(t.included.iter().map(String::as_str));
                }
                None => tasks.push(Task {
                    first: t,
                    play: &play.name,
                    results: t.results.iter().collect(),
                    included: t.included.iter().map(String::as_str).collect(),
                }),
            }
        }
    }
    let mut cases = Vec::new();
    for task in &tasks {
        let t = task.first;
        if t.action == "setup" && !opts.include_setup_tasks {
            continue;
        }
        let mut name = t.name.trim().to_string();
        if !opts.hide_task_arguments
            && let Some(args) = &t.args
            && !args.is_empty()
        {
            name.push(' ');
            name.push_str(args);
        }
        let classname = classname(t.path.as_deref().unwrap_or(""), opts);
        let keep = |kind: Kind| name.starts_with(&opts.test_case_prefix) || kind == Kind::Failed;
        for r in &task.results {
            let mut kind = match r.status {
                StatusWord::Ok => Kind::Ok,
                StatusWord::Changed if opts.fail_on_change => Kind::Failed,
                StatusWord::Changed => Kind::Ok,
                StatusWord::Failed if r.ignored && !opts.fail_on_ignore => Kind::Ok,
                StatusWord::Failed => Kind::Failed,
                StatusWord::Skipped => Kind::Skipped,
                // The callback has no unreachable handler: no test case.
                StatusWord::Unreachable => continue,
            };
            kind = toggled(&name, kind);
            if keep(kind) {
                cases.push(Case {
                    name: format!("[{}] {}: {}", r.host, task.play, name),
                    classname: classname.clone(),
                    time: (r.end - t.start).max(0.0),
                    kind,
                    host: Some(r),
                    included: String::new(),
                });
            }
        }
        // Inclusions are one test case for the host `include`, their lines joined.
        if !task.included.is_empty() {
            let kind = toggled(&name, Kind::Included);
            if keep(kind) {
                cases.push(Case {
                    name: format!("[include] {}: {}", task.play, name),
                    classname: classname.clone(),
                    time: 0.0,
                    kind,
                    host: None,
                    included: task.included.join("\n"),
                });
            }
        }
    }
    xml(playbook, &cases)
}

/// `EXPECTED FAILURE` in a task's name passes its failure; `TOGGLE RESULT` swaps ok and failed.
fn toggled(name: &str, kind: Kind) -> Kind {
    match kind {
        Kind::Failed if name.contains("EXPECTED FAILURE") => Kind::Ok,
        Kind::Failed if name.contains("TOGGLE RESULT") => Kind::Ok,
        Kind::Ok if name.contains("TOGGLE RESULT") => Kind::Failed,
        k => k,
    }
}

/// The test case's class: the task's path, made relative, its out-of-tree directory replaced,
/// its `.yml:LINE` taken off, as the options ask.
fn classname(path: &str, opts: &Options) -> String {
    let mut c = match &opts.task_relative_path {
        Some(base) if !path.is_empty() => relpath(path, base),
        _ => path.to_string(),
    };
    if let Some(repl) = &opts.replace_out_of_tree_path
        && c.starts_with("../")
    {
        let base = c.rsplit('/').next().unwrap_or("").to_string();
        c = format!("{repl}{base}");
    }
    if opts.task_class
        && let Some(at) = c.rfind(".yml:")
        && c[at + 5..].bytes().all(|b| b.is_ascii_digit())
        && c.len() > at + 5
    {
        c.truncate(at);
    }
    c
}

/// Python's `os.path.relpath(path, start)` (both made absolute against the current directory).
fn relpath(path: &str, start: &str) -> String {
    let abs = |p: &str| -> Vec<String> {
        let p = std::path::absolute(p).unwrap_or_else(|_| PathBuf::from(p));
        let mut parts: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
                std::path::Component::ParentDir => {
                    parts.pop();
                }
                _ => {}
            }
        }
        parts
    };
    let (p, s) = (abs(path), abs(start));
    let common = p.iter().zip(&s).take_while(|(a, b)| a == b).count();
    let mut out: Vec<String> = vec!["..".to_string(); s.len() - common];
    out.extend(p[common..].iter().cloned());
    if out.is_empty() {
        ".".to_string()
    } else {
        out.join("/")
    }
}

/// The result as the callback dumps it: `json.dumps(indent=0, sort_keys=True)` of the result
/// less internal keys, `invocation`, `diff`, `exception`, `warnings`, `deprecations`,
/// `failed` and `skipped`
/// (indented by 4 when the module asks for its result to be shown always, as `debug` does).
fn dump(h: &HostRecord) -> String {
    use serde::Serialize;
    let mut shown = strip_internal(&h.result);
    if let Json::Object(o) = &mut shown {
        // `failed` and `skipped` too: ansible-core's callbacks get results without them.
        for k in [
            "invocation",
            "diff",
            "exception",
            "warnings",
            "deprecations",
            "failed",
            "skipped",
        ] {
            o.remove(k);
        }
    }
    let sorted = crate::value::sort_keys(&shown);
    let mut out = Vec::new();
    let indent: &[u8] = if h.verbose_always { b"    " } else { b"" };
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    let _ = sorted.serialize(&mut ser);
    String::from_utf8(out).unwrap_or_default()
}

/// ansible's `strip_internal_keys`: `_ansible_*` keys, in the result and its loop's results.
fn strip_internal(j: &Json) -> Json {
    match j {
        Json::Object(o) => Json::Object(
            o.iter()
                .filter(|(k, _)| !k.starts_with("_ansible_") && k.as_str() != "_baton_item_label")
                .map(|(k, v)| {
                    let v = if k == "results" {
                        match v {
                            Json::Array(a) => Json::Array(a.iter().map(strip_internal).collect()),
                            v => v.clone(),
                        }
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Python's `str()` of a result value (a message that is not text).
fn py_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => crate::value::python_repr(other),
    }
}

/// `Decimal(float)`'s text: the float's exact decimal value.
fn decimal(f: f64) -> String {
    let s = format!("{f:.1100}");
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// The document, as `minidom`'s `toprettyxml()` lays it out (tab indents).
fn xml(playbook: &str, cases: &[Case]) -> String {
    let count = |f: &dyn Fn(&Case) -> bool| cases.iter().filter(|c| f(c)).count();
    let errors = count(&|c| c.kind == Kind::Failed && is_error(c));
    let failures = count(&|c| c.kind == Kind::Failed && !is_error(c));
    let skipped = count(&|c| c.kind == Kind::Skipped);
    let total: f64 = cases.iter().map(|c| c.time).sum();
    let mut out = String::from("<?xml version=\"1.0\" ?>\n");
    let _ = writeln!(
        out,
        "<testsuites disabled=\"0\" errors=\"{errors}\" failures=\"{failures}\" tests=\"{}\" time=\"{}\">",
        cases.len(),
        decimal(total)
    );
    let _ = writeln!(
        out,
        "\t<testsuite disabled=\"0\" errors=\"{errors}\" failures=\"{failures}\" name=\"{}\" skipped=\"{skipped}\" tests=\"{}\" time=\"{}\">",
        esc(playbook),
        cases.len(),
        decimal(total)
    );
    for c in cases {
        let _ = write!(
            out,
            "\t\t<testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
            esc(&c.classname),
            esc(&c.name),
            decimal(c.time)
        );
        let mut children = Vec::new();
        let text = |tag: &str, attrs: &str, body: &str| {
            if body.is_empty() {
                format!("<{tag}{attrs}/>")
            } else {
                format!("<{tag}{attrs}>{}</{tag}>", esc(body))
            }
        };
        match (c.kind, c.host) {
            (Kind::Included, _) => children.push(text("system-out", "", &c.included)),
            (Kind::Ok, Some(h)) => children.push(text("system-out", "", &dump(h))),
            (Kind::Skipped, Some(h)) => {
                let msg = h
                    .result
                    .get("skip_reason")
                    .map(py_text)
                    .unwrap_or_else(|| "skipped".into());
                children.push(text("skipped", "", &msg));
            }
            (Kind::Failed, Some(h)) => {
                let res = &h.result;
                if let Some(exc) = res.get("exception") {
                    let msg = h
                        .error
                        .clone()
                        .unwrap_or_else(|| res.get("msg").map(py_text).unwrap_or_default());
                    let attrs = format!(" message=\"{}\" type=\"error\"", esc(&msg));
                    children.push(text("error", &attrs, &traceback(&msg, exc)));
                } else {
                    let msg = match res.get("msg") {
                        Some(m) => py_text(m),
                        None => format!(
                            "rc={}",
                            res.get("rc").map(py_text).unwrap_or_else(|| "0".into())
                        ),
                    };
                    let attrs = format!(" message=\"{}\" type=\"failure\"", esc(&msg));
                    children.push(text("failure", &attrs, &dump(h)));
                }
            }
            _ => {}
        }
        if children.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push_str(">\n");
            for ch in children {
                let _ = writeln!(out, "\t\t\t{ch}");
            }
            out.push_str("\t\t</testcase>\n");
        }
    }
    out.push_str("\t</testsuite>\n</testsuites>\n");
    out
}

/// The error's text: ansible-core 2.19 writes an action's failure (`fail`, `assert`) as its
/// chain of three exceptions, with no traceback kept by default; other errors as they came.
fn traceback(brief: &str, exception: &Json) -> String {
    if brief.starts_with("Task failed: Action failed") {
        let missing = "(traceback missing)";
        format!(
            "{missing}\n\nThe above action exception was the direct cause of the following controller exception:\n\n{missing}\n\nThe above exception was the direct cause of the following exception:\n\n{missing}\n"
        )
    } else {
        py_text(exception)
    }
}

fn is_error(c: &Case) -> bool {
    c.host.is_some_and(|h| h.result.get("exception").is_some())
}

/// minidom's escaping (`&`, `<`, `>`, `"`), with the characters XML 1.0 cannot hold replaced
/// by U+FFFD (minidom writes them as they are, which no parser reads).
fn esc(s: &str) -> String {
    s.chars()
        .fold(String::with_capacity(s.len()), |mut out, c| {
            let entity = match c {
                '&' => Some("&amp;"),
                '<' => Some("&lt;"),
                '>' => Some("&gt;"),
                '"' => Some("&quot;"),
                _ => None,
            };
            let xml_char =
                matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}');
            match (entity, xml_char) {
                (Some(e), _) => out.push_str(e),
                (None, true) => out.push(c),
                (None, false) => out.push('\u{fffd}'),
            }
            out
        })
}

#[cfg(test)]
mod tests;
