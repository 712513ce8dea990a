//! What the system modules share (user, apt, service, npm, git, ...): running a script on the
//! host and reading its output back in named sections, quoting command lines, and Ansible's
//! result conventions.
//!
//! A module's script prints `\n<MARK> name\n` (see [`section`]) before each part of its output,
//! so one round trip can carry a command's own output followed by the state read after it:
//! [`sections`] splits that back, exactly (the newline the marker adds is taken away again).

use super::{ModuleCtx, ModuleError, shell_quote, text};
use crate::value::{Value, Vars};
use indexmap::IndexMap;

/// Starts a section line in a script's output; chosen so no real output contains it.
pub const MARK: &str = "__baton_sect_7c1d__";

/// A shell command that starts the section `name` on stdout.
pub fn section(name: &str) -> String {
    format!("printf '\\n{MARK} %s\\n' {}", shell_quote(name))
}

/// Splits a script's stdout into its sections; the text before the first marker is `""`.
pub fn sections(out: &str) -> IndexMap<String, String> {
    let sep = format!("\n{MARK} ");
    let mut map = IndexMap::new();
    let mut parts = out.split(sep.as_str());
    map.insert(String::new(), parts.next().unwrap_or("").to_string());
    for part in parts {
        let (name, body) = part.split_once('\n').unwrap_or((part, ""));
        map.insert(name.to_string(), body.to_string());
    }
    map
}

/// `key=value` lines (the first `=` splits); later keys win.
pub fn kv(text: &str) -> IndexMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A finished command: exit status and output as text.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `script` through the task's shell (become and environment applied).
pub async fn run(ctx: &ModuleCtx, script: &str) -> Result<Run, ModuleError> {
    let out = ctx.exec(script, None).await?;
    Ok(Run {
        rc: out.rc.unwrap_or(-1),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    })
}

/// A command line from words, each quoted for the shell.
pub fn argv<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Python's `str.splitlines()` as a list value.
pub fn lines(s: &str) -> Value {
    super::command::lines(s)
}

/// What Ansible's action layer adds to every module result: `stdout_lines` beside `stdout`
/// and `stderr_lines` beside `stderr`.
pub fn add_lines(r: &mut Vars) {
    for (k, lk) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if let Some(v) = r.get(k)
            && !r.contains_key(lk)
        {
            let l = lines(v.as_str().unwrap_or(""));
            r.insert(lk.to_string(), l);
        }
    }
}

/// A result from pairs, with `stdout_lines`/`stderr_lines` added.
pub fn result(pairs: Vec<(&str, Value)>) -> Vars {
    let mut r: Vars = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    add_lines(&mut r);
    r
}

/// A failed result: `failed`, `msg` and whatever else Ansible's `fail_json` carried.
pub fn failed(msg: impl Into<String>, extra: Vec<(&str, Value)>) -> Vars {
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(false));
    for (k, v) in extra {
        r.insert(k.to_string(), v);
    }
    r.insert("failed".into(), Value::from(true));
    r.insert("msg".into(), Value::from(msg.into()));
    add_lines(&mut r);
    r
}

/// The strings of a list parameter (Ansible's `type='list', elements='str'`): scalars are
/// turned into text as Python's `str()` would; empty strings are kept.
pub fn strings(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| {
            if v.kind() == minijinja::value::ValueKind::Bool {
                if v.is_true() { "True" } else { "False" }.to_string()
            } else {
                v.to_string()
            }
        })
        .collect()
}

/// A fact of the host (`ansible_facts[name]`), if facts were gathered.
pub fn fact(ctx: &ModuleCtx, name: &str) -> Option<String> {
    let facts = ctx.vars.get_attr("ansible_facts").ok()?;
    let v = facts.get_attr(name).ok()?;
    if v.is_undefined() || v.is_none() {
        return None;
    }
    Some(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_split_back_exactly() {
        let out = format!(
            "installed foo\n\n{MARK} state\nP=a:x:1\n\n{MARK} empty\n\n{MARK} last\nno newline"
        );
        let s = sections(&out);
        assert_eq!(s[""], "installed foo\n");
        assert_eq!(s["state"], "P=a:x:1\n");
        assert_eq!(s["empty"], "");
        assert_eq!(s["last"], "no newline");
        assert_eq!(sections("plain")[""], "plain");
    }

    #[test]
    fn results_get_their_lines() {
        let r = result(vec![("stdout", Value::from("a\nb\n"))]);
        assert_eq!(r["stdout_lines"].len(), Some(2));
        assert!(!r.contains_key("stderr_lines"));
    }
}
