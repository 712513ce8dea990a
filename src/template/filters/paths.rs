//! Path filters on the controller (`basename`, `dirname`, `realpath`, `relpath`, `splitext`,
//! `fileglob`, `path_join`, `expanduser`, `quote`), with Python's `posixpath` rules rather than Rust's
//! `Path` ones (`dirname('/a/')` is `/a`). Other rooms use [`normpath`] and [`shell_quote`] for
//! the same reason.

use super::{err, py_str};
use crate::value::Value;
use minijinja::Error;
use minijinja::value::ValueKind;
use regex::Regex;

pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or("")
}

/// Python's `posixpath.dirname`.
pub fn dirname(p: &str) -> String {
    let i = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let head = &p[..i];
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

fn home() -> String {
    std::env::var("HOME").unwrap_or_else(|_| "/".to_string())
}

pub(super) fn expanduser(p: &str) -> String {
    if p == "~" {
        return home();
    }
    match p.strip_prefix("~/") {
        Some(rest) => format!("{}/{rest}", home().trim_end_matches('/')),
        None => p.to_string(),
    }
}

pub(super) fn expandvars(p: &str) -> String {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re =
        RE.get_or_init(|| Regex::new(r"\$(\w+|\{[^}]*\})").expect("the variable pattern is valid"));
    re.replace_all(p, |c: &regex::Captures| {
        let name = c[1].trim_start_matches('{').trim_end_matches('}');
        std::env::var(name).unwrap_or_else(|_| c[0].to_string())
    })
    .into_owned()
}

/// Python's `posixpath.normpath`.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let initial = if p.starts_with("//") && !p.starts_with("///") {
        2
    } else if p.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if initial == 0 && (parts.is_empty() || parts.last() == Some(&"..")) {
                    parts.push("..");
                } else if !parts.is_empty() {
                    parts.pop();
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    let out = format!("{}{joined}", "/".repeat(initial));
    if out.is_empty() { ".".into() } else { out }
}

fn absolute(p: &str) -> String {
    if p.starts_with('/') {
        normpath(p)
    } else {
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "/".into());
        normpath(&format!("{cwd}/{p}"))
    }
}

/// Ansible's `fileglob` filter: the regular files (symlinks followed) matching a glob on the
/// controller.
pub(super) fn fileglob(v: Value) -> Value {
    let files: Vec<Value> = crate::text::glob::glob(&py_str(&v))
        .into_iter()
        .filter(|p| std::path::Path::new(p).is_file())
        .map(Value::from)
        .collect();
    Value::from(files)
}

/// Python's `os.path.realpath`: symlinks resolved as far as the path exists.
pub(super) fn realpath(p: &str) -> String {
    let abs = absolute(p);
    let mut existing = std::path::PathBuf::from(&abs);
    let mut rest: Vec<String> = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(&existing) {
            let mut out = c.display().to_string();
            for r in rest.iter().rev() {
                out = format!("{}/{r}", out.trim_end_matches('/'));
            }
            return normpath(&out);
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_string_lossy().into_owned());
                existing = parent.to_path_buf();
            }
            _ => return abs,
        }
    }
}

/// Python's `os.path.relpath(path, start)`.
pub(super) fn relpath(p: &str, start: Option<String>) -> String {
    let path = absolute(p);
    let start = absolute(start.as_deref().unwrap_or("."));
    let a: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let b: Vec<&str> = start.split('/').filter(|s| !s.is_empty()).collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = vec![".."; b.len() - common];
    parts.extend(&a[common..]);
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

pub(super) fn path_join(v: Value) -> Result<String, Error> {
    // A string is one path; a sequence (not a mapping) is joined, its items strings as
    // os.path.join wants them.
    let parts: Vec<String> = match v.kind() {
        ValueKind::String => return Ok(v.as_str().unwrap_or("").to_string()),
        ValueKind::Seq | ValueKind::Iterable => path_strings(&v)?,
        _ => {
            return Err(err(format!(
                "|path_join expects string or sequence, got <class '{}'> instead.",
                super::py_type(&v)
            )));
        }
    };
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') || out.is_empty() {
            out = p;
        } else if out.ends_with('/') {
            out.push_str(&p);
        } else {
            out.push('/');
            out.push_str(&p);
        }
    }
    Ok(out)
}

/// The items of a sequence of paths, each a string as Python's os.path functions want it.
fn path_strings(v: &Value) -> Result<Vec<String>, Error> {
    v.try_iter()?
        .map(|p| match p.as_str() {
            Some(s) if p.kind() == ValueKind::String => Ok(s.to_string()),
            _ => Err(err(format!(
                "expected str, bytes or os.PathLike object, not {}",
                super::py_type(&p)
            ))),
        })
        .collect()
}

/// Ansible's `commonpath`: Python's `os.path.commonpath` of a sequence of paths.
pub(super) fn commonpath(v: Value) -> Result<String, Error> {
    if !matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return Err(err(format!(
            "|commonpath expects sequence, got <class '{}'> instead.",
            super::py_type(&v)
        )));
    }
    let paths = path_strings(&v)?;
    let Some(first) = paths.first() else {
        return Err(err("commonpath() arg is an empty sequence"));
    };
    let absolute = first.starts_with('/');
    if paths.iter().any(|p| p.starts_with('/') != absolute) {
        return Err(err("Can't mix absolute and relative paths"));
    }
    let parts = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_string)
            .collect()
    };
    let mut common = parts(first);
    for p in &paths[1..] {
        let other = parts(p);
        let same = common
            .iter()
            .zip(&other)
            .take_while(|(a, b)| a == b)
            .count();
        common.truncate(same);
    }
    let prefix = if absolute { "/" } else { "" };
    Ok(format!("{prefix}{}", common.join("/")))
}

/// Python's `os.path.splitext`, a two-item tuple.
pub(super) fn splitext(v: Value) -> Value {
    let p = py_str(&v);
    let base_start = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let base = &p[base_start..];
    let lead = base.len() - base.trim_start_matches('.').len();
    match base[lead..].rfind('.') {
        Some(i) => {
            let at = base_start + lead + i;
            super::lists::tuple(vec![Value::from(&p[..at]), Value::from(&p[at..])])
        }
        None => super::lists::tuple(vec![Value::from(p.as_str()), Value::from("")]),
    }
}

/// Shell-quotes a string as Python's `shlex.quote` does.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

#[cfg(test)]
mod tests {
    use super::super::render;
    use super::*;

    #[test]
    fn paths_are_posixpath() {
        assert_eq!(dirname("/trailing/"), "/trailing");
        assert_eq!(dirname("/"), "/");
        assert_eq!(dirname("noslash"), "");
        assert_eq!(normpath("/usr/../etc/./hosts"), "/etc/hosts");
        assert_eq!(
            render("{{ 'a/.b.c' | splitext }} {{ '.hidden' | splitext }}"),
            "['a/.b', '.c'] ['.hidden', '']"
        );
        assert_eq!(relpath("/etc/hosts", Some("/etc/nginx".into())), "../hosts");
    }

    #[test]
    fn quote_is_shlex() {
        assert_eq!(shell_quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(shell_quote("/plain/path"), "/plain/path");
    }
}
