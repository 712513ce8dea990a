//! Inventory sources: what `-i` names, and which parser reads each file.
//!
//! A source is a comma-separated host list (`-i 'web1,web2:2222,'`, when no such path exists), a
//! directory (every file in it, sorted, recursively, skipping hidden files, `group_vars`,
//! `host_vars`, and backup or documentation extensions, as Ansible does), or a file. For a
//! file, parsers are tried in Ansible's plugin order until one succeeds: an executable file is
//! run as a script; a `.yml`/`.yaml` file with a top-level `plugin` is a plugin configuration
//! that the controller's ansible-core reads ([`plugin`]); a `.yml`/`.yaml`/`.json` file or one
//! without extension is tried as YAML
//! (or JSON); anything but `.toml` is tried as INI. So an INI file named `hosts` (no extension)
//! works, and so does an empty YAML file (the INI parser accepts it).
//!
//! A source that no parser reads is Ansible's business as usual: each parser's failure is a
//! warning ("Failed to parse inventory with 'yaml' plugin: ..." carrying baton's file:line:col),
//! then "Unable to parse SOURCE as an inventory source", and loading goes on; when no source at
//! all was read, "No inventory was parsed, only implicit localhost is available". The
//! `[inventory]` settings `any_unparsed_is_failed` and `unparsed_is_failed` turn these into
//! errors ([`UnparsedPolicy`]).

use super::plugin::{self, PluginFailure};
use super::{Inventory, ini, script, toml, yaml};
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

/// What to do with a source no parser reads: Ansible's `[inventory]` settings.
#[derive(Debug, Clone, Copy)]
pub struct UnparsedPolicy {
    /// `unparsed_is_failed`: no source read at all is an error.
    pub unparsed_is_failed: bool,
    /// `any_unparsed_is_failed`: any source not read is an error.
    pub any_unparsed_is_failed: bool,
    /// `inventory_unparsed_warning`: warn when no source was read.
    pub unparsed_warning: bool,
}

impl Default for UnparsedPolicy {
    fn default() -> Self {
        UnparsedPolicy {
            unparsed_is_failed: false,
            any_unparsed_is_failed: false,
            unparsed_warning: true,
        }
    }
}

impl UnparsedPolicy {
    /// The policy the configuration (ansible.cfg and `ANSIBLE_*`) sets.
    pub fn from_config(cfg: &crate::config::Config) -> UnparsedPolicy {
        let d = UnparsedPolicy::default();
        UnparsedPolicy {
            unparsed_is_failed: cfg
                .inventory_unparsed_is_failed
                .unwrap_or(d.unparsed_is_failed),
            any_unparsed_is_failed: cfg
                .inventory_any_unparsed_is_failed
                .unwrap_or(d.any_unparsed_is_failed),
            unparsed_warning: cfg.inventory_unparsed_warning.unwrap_or(d.unparsed_warning),
        }
    }
}

/// One parser's failure on a source: Ansible's plugin name and baton's error.
type Failure = (&'static str, Error);

/// Parses every source into the inventory (without reconciling it: see [`Inventory::finish`]);
/// whether any source was read.
pub fn load_sources(
    inv: &mut Inventory,
    sources: &[String],
    policy: &UnparsedPolicy,
) -> Result<bool, Error> {
    let mut parsed = false;
    let mut first_failure: Option<Error> = None;
    for src in sources {
        if src.is_empty() {
            continue;
        }
        inv.sources.push(src.clone());
        if src.contains(',') && !Path::new(src).exists() {
            match host_list(inv, src) {
                Ok(()) => parsed = true,
                Err(e) => {
                    let failures = vec![("host_list", e)];
                    unparsed(inv, policy, src, failures, Some(0), &mut first_failure)?
                }
            }
            continue;
        }
        // Read and shown as given (with `~` and `$VARS` expanded); recorded absolute.
        let shown = PathBuf::from(expand_vars(&expand_user(src)));
        let path = unfrack(src);
        if !path.exists() {
            // No parser wants it. Ansible keeps quiet about its own default when it is missing.
            if path != Path::new("/etc/ansible/hosts") {
                let shown = path.display().to_string();
                unparsed(inv, policy, &shown, Vec::new(), None, &mut first_failure)?;
            }
            continue;
        }
        inv.dirs.push(if path.is_dir() {
            path.clone()
        } else {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        });
        if parse_source(inv, &shown, &path, policy, &mut first_failure)? {
            parsed = true;
        }
    }
    if !parsed {
        if policy.unparsed_is_failed {
            // Ansible's plain AnsibleError: exit status 1.
            let mut e = Error::new(
                ErrorKind::Unsupported,
                "No inventory was parsed, please check your configuration and options.",
            );
            if let Some(first) = first_failure {
                e.span = first.span;
                e.context = first.context;
                e.help = first.help;
            }
            return Err(e);
        }
        if policy.unparsed_warning {
            inv.warnings
                .push("No inventory was parsed, only implicit localhost is available".into());
        }
    }
    Ok(parsed)
}

/// A source that no parser read: each parser's failure, then "Unable to parse" (Ansible's
/// warnings), or the error `any_unparsed_is_failed` asks for. The first failure is kept for the
/// error `unparsed_is_failed` gives when nothing was read.
fn unparsed(
    inv: &mut Inventory,
    policy: &UnparsedPolicy,
    shown: &str,
    failures: Vec<Failure>,
    primary: Option<usize>,
    first_failure: &mut Option<Error>,
) -> Result<(), Error> {
    let mut summary = Error::new(
        ErrorKind::Unsupported,
        format!("Completely failed to parse inventory source {shown}"),
    );
    for (plugin, e) in &failures {
        // On one line each, with what the parser's error adds (a script's standard error).
        let more: String = e.context.iter().map(|c| format!("\n    {c}")).collect();
        summary.context.push(format!(
            "Failed to parse inventory with '{plugin}' plugin: {}{more}",
            e.one_line()
        ));
    }
    // The location and advice of the failure most likely the user's: the parser the file was
    // meant for.
    if let Some((_, main)) = primary.and_then(|i| failures.get(i)) {
        summary.span = main.span.clone();
        summary.help = main.help.clone();
    }
    if policy.any_unparsed_is_failed {
        return Err(summary);
    }
    for (plugin, e) in failures {
        inv.warnings.push(format!(
            "Failed to parse inventory with '{plugin}' plugin: {e}"
        ));
    }
    inv.warnings
        .push(format!("Unable to parse {shown} as an inventory source"));
    if first_failure.is_none() {
        summary
            .context
            .insert(0, format!("Unable to parse {shown} as an inventory source"));
        *first_failure = Some(summary);
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

/// Parses a file, or every file of a directory; whether anything was read.
fn parse_source(
    inv: &mut Inventory,
    shown: &Path,
    path: &Path,
    policy: &UnparsedPolicy,
    first_failure: &mut Option<Error>,
) -> Result<bool, Error> {
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
        let mut parsed = false;
        for name in names.iter().filter(|n| !ignored(n)) {
            let one = parse_source(
                inv,
                &shown.join(name),
                &path.join(name),
                policy,
                first_failure,
            )?;
            parsed |= one;
        }
        return Ok(parsed);
    }
    let parent = path
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    inv.set_current_source(Some(path.display().to_string()), Some(parent));
    match parse_file(inv, shown, path) {
        Ok(()) => Ok(true),
        Err(FileFailure::Fatal(e)) => Err(e),
        Err(FileFailure::Unparsed(mut failures, primary)) => {
            // baton's cap on hosts is a refusal, not a file to skip: what the source added up
            // to the cap would be listed or run on, a million hosts of it.
            if inv.hosts.len() >= super::MAX_HOSTS
                && let Some(i) = primary.filter(|i| *i < failures.len())
            {
                return Err(failures.swap_remove(i).1);
            }
            let shown = path.display().to_string();
            unparsed(inv, policy, &shown, failures, primary, first_failure)?;
            Ok(false)
        }
    }
}

/// Why a file gave no inventory.
enum FileFailure {
    /// What each parser that tried said, and which of them is most likely the user's mistake
    /// (the parser the file was meant for).
    Unparsed(Vec<Failure>, Option<usize>),
    /// Nothing can read it here (a plugin configuration without ansible-core): an error.
    Fatal(Error),
}

/// Python's truth of a YAML value (`plugin: ''` names no plugin).
fn truthy(node: &crate::yaml::Node) -> bool {
    use crate::yaml::NodeKind;
    match &node.kind {
        NodeKind::Null => false,
        NodeKind::Bool(b) => *b,
        NodeKind::Int(i) => *i != 0,
        NodeKind::Float(f) => *f != 0.0,
        NodeKind::Str(s) | NodeKind::Unsafe(s) => !s.is_empty(),
        NodeKind::Seq(s) => !s.is_empty(),
        NodeKind::Map(m) => !m.is_empty(),
        NodeKind::Vault(_) | NodeKind::Timestamp(_) => true,
    }
}

/// Ansible's plugin chain for one file, in its order (script, auto, yaml, ini, toml), each
/// parser trying the files it would. On failure, what each parser that tried said, and which
/// of them is most likely the user's mistake (the parser the file was meant for).
fn parse_file(inv: &mut Inventory, shown: &Path, path: &Path) -> Result<(), FileFailure> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = extension(&name).to_string();
    let mut failures: Vec<Failure> = Vec::new();
    let mut primary = None;
    if is_executable(path) {
        match script::parse(path, &shown.display().to_string(), inv) {
            Ok(()) => return Ok(()),
            Err(script::ScriptFailure::NotRunnable(e)) => failures.push(("script", e)),
            Err(script::ScriptFailure::Failed(e)) => {
                if starts_with_shebang(path) {
                    primary = Some(failures.len());
                }
                failures.push(("script", e));
            }
        }
    }
    let yamlish = matches!(ext.as_str(), ".yml" | ".yaml" | ".json");
    let wants_yaml = ext.is_empty() || yamlish;
    let wants_ini = ext != ".toml";
    let source = match crate::value::read_source(shown) {
        Ok(s) => s,
        Err(e) => {
            let plugin = match ext.as_str() {
                ".toml" => "toml",
                _ if wants_yaml => "yaml",
                _ => "ini",
            };
            primary = primary.or(Some(failures.len()));
            failures.push((plugin, e));
            return Err(FileFailure::Unparsed(failures, primary));
        }
    };
    if ext == ".toml" {
        return match toml::parse(&source, inv) {
            Ok(()) => Ok(()),
            Err(e) => {
                let primary = primary.or(Some(failures.len()));
                failures.push(("toml", e));
                Err(FileFailure::Unparsed(failures, primary))
            }
        };
    }
    // A document that starts with `[` is a list, never a YAML inventory: the YAML parser would
    // decline it, after reading all of it (an INI file without extension).
    let yaml_possible = !(ext.is_empty() && starts_with_bracket(&source.text));
    if wants_yaml && yaml_possible {
        match yaml::load_data(&source, crate::yaml::Aliases::Budgeted, &mut inv.warnings) {
            Ok(node) => {
                let plugin = node.get("plugin").filter(|p| truthy(p));
                if matches!(ext.as_str(), ".yml" | ".yaml") {
                    // Ansible's `auto` plugin tries it first, as a plugin configuration.
                    match plugin {
                        None => failures.push((
                            "auto",
                            Error::new(
                                ErrorKind::Syntax,
                                format!(
                                    "no root 'plugin' key found, '{}' is not a valid YAML \
                                     inventory plugin config file",
                                    path.display()
                                ),
                            ),
                        )),
                        Some(p) => {
                            let shown = shown.display().to_string();
                            match plugin::parse(path, &shown, p, inv) {
                                Ok(()) => return Ok(()),
                                Err(PluginFailure::NoAnsible(e)) => {
                                    return Err(FileFailure::Fatal(e));
                                }
                                Err(PluginFailure::Failed(e)) => {
                                    primary = primary.or(Some(failures.len()));
                                    failures.push(("auto", e));
                                }
                            }
                        }
                    }
                }
                if let Some(p) = plugin {
                    // Ansible's `yaml` plugin declines a plugin configuration.
                    failures.push((
                        "yaml",
                        Error::syntax(
                            &p.span,
                            "Plugin configuration YAML file, not YAML inventory",
                        ),
                    ));
                } else {
                    match yaml::parse(&node, inv) {
                        Ok(()) => return Ok(()),
                        // A YAML inventory with a mistake in it: its error is the useful one.
                        Err(yaml::YamlFailure::Invalid(e)) => {
                            primary = primary.or(Some(failures.len()));
                            failures.push(("yaml", e));
                        }
                        Err(yaml::YamlFailure::NotYamlInventory(e)) => {
                            if yamlish || looks_like_yaml(&source.text) {
                                primary = primary.or(Some(failures.len()));
                            }
                            failures.push(("yaml", e));
                        }
                    }
                }
            }
            Err(e) => {
                if yamlish || looks_like_yaml(&source.text) {
                    primary = primary.or(Some(failures.len()));
                }
                failures.push(("yaml", e));
            }
        }
    }
    if wants_ini {
        match ini::parse(&source, inv) {
            Ok(()) => return Ok(()),
            Err(e) => {
                primary = primary.or(Some(failures.len()));
                failures.push(("ini", e));
            }
        }
    }
    Err(FileFailure::Unparsed(failures, primary))
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
