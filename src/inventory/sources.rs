//! Inventory sources: what `-i` names, and which parser reads each file.
//!
//! A source is a comma-separated host list (`-i 'web1,web2:2222,'`, when no such path exists), a
//! directory (every file in it, sorted, recursively, skipping hidden files, `group_vars`,
//! `host_vars`, and backup or documentation extensions, as Ansible does), or a file. For a
//! file, parsers are tried in Ansible's plugin order until one succeeds: an executable file is
//! run as a script; a `.yml`/`.yaml`/`.json` file or one without extension is tried as YAML
//! (or JSON); anything but `.toml` is tried as INI. So an INI file named `hosts` (no extension)
//! works, and so does an empty YAML file (the INI parser accepts it).
//!
//! Where Ansible only warns, baton is stricter about files the user named: a file that no
//! parser reads is an error pointing at the mistake (the YAML error for a YAML-looking file,
//! the INI error otherwise), and a script with a `#!` line that fails is an error rather than
//! being re-read as INI. Files found inside a directory keep Ansible's leniency: one that no
//! parser reads is skipped with a warning that carries the same error.

use super::{Inventory, ini, script, yaml};
use crate::diagnostics::{Error, ErrorKind};
use std::path::{Component, Path, PathBuf};

/// Names in an inventory directory that are never inventory files.
fn ignored(name: &str) -> bool {
    const EXTS: [&str; 12] = [
        ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg",
        ".retry",
    ];
    name.starts_with('.')
        || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
        || EXTS.iter().any(|e| name.ends_with(e))
}

/// Python's `os.path.splitext(name)[1]`: the last `.suffix`, not counting leading dots.
pub fn extension(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    let stripped = base.trim_start_matches('.');
    match stripped.rfind('.') {
        Some(i) => &stripped[i..],
        None => "",
    }
}

/// Parses every source into the inventory (without reconciling it: see [`Inventory::finish`]).
pub fn load_sources(inv: &mut Inventory, sources: &[String]) -> Result<(), Error> {
    for src in sources {
        if src.is_empty() {
            continue;
        }
        inv.sources.push(src.clone());
        if src.contains(',') && !Path::new(src).exists() {
            host_list(inv, src)?;
            continue;
        }
        // Read and shown as given (with `~` and `$VARS` expanded); recorded absolute.
        let shown = PathBuf::from(expand_vars(&expand_user(src)));
        let path = unfrack(src);
        if !path.exists() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("the inventory source {src} could not be found"),
            )
            .with_help("give -i a file, a directory, a script or a comma-separated host list"));
        }
        inv.dirs.push(if path.is_dir() {
            path.clone()
        } else {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        });
        parse_source(inv, &shown, &path, true)?;
    }
    Ok(())
}

/// `-i 'host1,host2:2222,'`: every name in `ungrouped`, no ranges.
fn host_list(inv: &mut Inventory, src: &str) -> Result<(), Error> {
    inv.set_current_source(Some(src.to_string()), None);
    for h in src.split(',') {
        let h = h.trim();
        if h.is_empty() {
            continue;
        }
        let (host, port) = super::address::parse_address(h, false).unwrap_or((h.to_string(), None));
        if !inv.hosts.contains_key(&host) {
            inv.add_host_in(&host, Some("ungrouped"), port)
                .map_err(|m| {
                    Error::new(ErrorKind::Syntax, format!("in the host list '{src}': {m}"))
                })?;
        }
    }
    Ok(())
}

fn parse_source(inv: &mut Inventory, shown: &Path, path: &Path, top: bool) -> Result<(), Error> {
    if path.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!(
                        "cannot read the inventory directory {}: {e}",
                        path.display()
                    ),
                )
            })?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        for name in names.iter().filter(|n| !ignored(n)) {
            parse_source(inv, &shown.join(name), &path.join(name), false)?;
        }
        return Ok(());
    }
    let parent = path
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    inv.set_current_source(Some(path.display().to_string()), Some(parent));
    match parse_file(inv, shown, path) {
        Ok(()) => Ok(()),
        Err(e) if top => Err(e),
        Err(e) => {
            inv.warnings.push(format!(
                "Unable to parse {} as an inventory source, skipping it: {}",
                shown.display(),
                e.one_line()
            ));
            Ok(())
        }
    }
}

/// Ansible's plugin chain for one file; the error is the one most likely to be the user's.
fn parse_file(inv: &mut Inventory, shown: &Path, path: &Path) -> Result<(), Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = extension(&name).to_string();
    let mut script_error = None;
    if is_executable(path) {
        match script::parse(path, &shown.display().to_string(), inv) {
            Ok(()) => return Ok(()),
            Err(script::ScriptFailure::NotRunnable(e)) => script_error = Some(e),
            Err(script::ScriptFailure::Failed(e)) => {
                if starts_with_shebang(path) {
                    return Err(e);
                }
                script_error = Some(e);
            }
        }
    }
    let source = crate::value::read_source(shown)?;
    let mut yaml_error = None;
    // A document that starts with `[` is a list, never a YAML inventory: the YAML parser would
    // decline it, after reading all of it (an INI file without extension).
    let yaml_possible = !(ext.is_empty() && starts_with_bracket(&source.text));
    if yaml_possible && (ext.is_empty() || matches!(ext.as_str(), ".yml" | ".yaml" | ".json")) {
        match yaml::load_data(&source, crate::yaml::Aliases::Budgeted, &mut inv.warnings) {
            Ok(node) => match yaml::parse(&node, inv) {
                Ok(()) => return Ok(()),
                // A YAML inventory with a mistake in it. Ansible would go on to the INI parser,
                // which fails on its `key:` lines; the YAML error is the useful one.
                Err(yaml::YamlFailure::Invalid(e)) => return Err(e),
                Err(yaml::YamlFailure::NotYamlInventory(e)) => yaml_error = Some(e),
            },
            Err(e) => yaml_error = Some(e),
        }
    }
    if ext == ".toml" {
        return Err(Error::new(
            ErrorKind::Syntax,
            format!(
                "{}: TOML inventories are not supported by baton",
                shown.display()
            ),
        )
        .with_help("convert it to INI or YAML (ansible-inventory -i FILE --list -y)"));
    }
    match ini::parse(&source, inv) {
        Ok(()) => Ok(()),
        Err(ini_error) => {
            if let Some(e) = script_error {
                return Err(e);
            }
            let yamlish = matches!(ext.as_str(), ".yml" | ".yaml" | ".json");
            match yaml_error {
                Some(e) if yamlish || looks_like_yaml(&source.text) => Err(e),
                _ => Err(ini_error),
            }
        }
    }
}

/// Whether the first line that is not blank nor a YAML comment starts with `[`.
fn starts_with_bracket(text: &str) -> bool {
    text.lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with('['))
}

/// A file without extension that fails both parsers: is the YAML error the one to show?
fn looks_like_yaml(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    match first {
        Some(l) => l == "---" || l.starts_with('{') || (l.ends_with(':') && !l.starts_with('[')),
        None => false,
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn starts_with_shebang(path: &Path) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok_and(|_| &buf == b"#!")
}

/// Ansible's `unfrackpath(follow=False)`: `~` and `$VARS` expanded, made absolute, `.` and
/// `..` resolved without following symlinks.
pub fn unfrack(src: &str) -> PathBuf {
    let expanded = expand_vars(&expand_user(src));
    let p = Path::new(&expanded);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn expand_user(s: &str) -> String {
    match (s.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => s.to_string(),
    }
}

/// `os.path.expandvars`: `$NAME` and `${NAME}` for variables that are set; others stay.
fn expand_vars(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(j) => (&inner[..j], j + 2),
                None => ("", 0),
            }
        } else {
            let j = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..j], j)
        };
        match std::env::var(name) {
            Ok(v) if !name.is_empty() => {
                out.push_str(&v);
                rest = &after[len..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_like_splitext() {
        assert_eq!(extension("hosts"), "");
        assert_eq!(extension("hosts.yml"), ".yml");
        assert_eq!(extension(".hidden"), "");
        assert_eq!(extension("a.b.json"), ".json");
        assert!(ignored("README.md") && ignored(".git") && ignored("group_vars"));
        assert!(!ignored("hosts") && !ignored("01-web.yml"));
    }

    #[test]
    fn paths_are_made_absolute_without_following_links() {
        let p = unfrack("/a/b/../c/./d");
        assert_eq!(p, PathBuf::from("/a/c/d"));
    }
}
