//! Settings from an ansible.cfg-compatible file, the way Ansible finds and reads it.
//!
//! The file is the first of `$ANSIBLE_CONFIG`, `./ansible.cfg`, `~/.ansible.cfg`,
//! `/etc/ansible/ansible.cfg`. Settings rank: command line, then `ANSIBLE_*` environment
//! variables, then this file, then Ansible's defaults. Only the settings baton uses are read;
//! relative paths are taken from the file's directory, as Ansible does.

use crate::diagnostics::{Error, Source};
use std::path::{Path, PathBuf};

/// The settings baton takes from configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file they came from, if any.
    pub file: Option<PathBuf>,
    pub inventory: Vec<String>,
    pub forks: Option<usize>,
    pub remote_user: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub host_key_checking: Option<bool>,
    pub roles_path: Vec<PathBuf>,
    /// `[defaults] library` (`ANSIBLE_LIBRARY`): where modules of the user's own are looked
    /// for (the Python fallback's library path; its modules come before the builtin ones).
    pub library: Vec<PathBuf>,
    pub timeout: Option<u64>,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    /// `retry_files_enabled`: write PLAYBOOK.retry listing failed hosts (off by default).
    pub retry_files_enabled: Option<bool>,
    pub retry_files_save_path: Option<PathBuf>,
    /// `[defaults] gathering`: implicit, explicit or smart.
    pub gathering: Option<String>,
    /// `[defaults] facts_modules` (`ANSIBLE_FACTS_MODULES`): the modules the gather_facts
    /// action runs (`smart` by default), as written.
    pub facts_modules: Vec<String>,
    /// `[defaults] strategy` (`ANSIBLE_STRATEGY`): the strategy of plays that name none.
    pub strategy: Option<String>,
    /// `[defaults] fact_caching` (the cache plugin: jsonfile or memory).
    pub fact_caching: Option<String>,
    pub fact_caching_connection: Option<PathBuf>,
    pub fact_caching_timeout: Option<u64>,
    pub fact_caching_prefix: Option<String>,
    /// `[defaults] force_handlers` (`ANSIBLE_FORCE_HANDLERS`): handlers run on failed hosts too.
    pub force_handlers: Option<bool>,
    /// `[defaults] error_on_missing_handler` (`ANSIBLE_ERROR_ON_MISSING_HANDLER`): notifying a
    /// handler that does not exist is an error (the default) or a warning.
    pub error_on_missing_handler: Option<bool>,
    /// `[defaults] debug` (`ANSIBLE_DEBUG`): the executor's debug lines too.
    pub debug: Option<bool>,
    /// `[inventory] unparsed_is_failed` (`ANSIBLE_INVENTORY_UNPARSED_FAILED`): no source read at
    /// all is an error, not a warning.
    pub inventory_unparsed_is_failed: Option<bool>,
    /// `[inventory] any_unparsed_is_failed` (`ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED`): any
    /// source that no parser reads is an error.
    pub inventory_any_unparsed_is_failed: Option<bool>,
    /// `[inventory] inventory_unparsed_warning` (`ANSIBLE_INVENTORY_UNPARSED_WARNING`): warn when
    /// no source was read (the default).
    pub inventory_unparsed_warning: Option<bool>,
    /// `[defaults] localhost_warning` (`ANSIBLE_LOCALHOST_WARNING`): warn that an empty
    /// inventory leaves only the implicit localhost (the default).
    pub localhost_warning: Option<bool>,
    /// `[defaults] allow_broken_conditionals` (`ANSIBLE_ALLOW_BROKEN_CONDITIONALS`).
    pub allow_broken_conditionals: Option<bool>,
    /// `[defaults] ansible_managed`: the text of the template variable `ansible_managed`.
    pub ansible_managed: Option<String>,
    /// `[defaults] private_role_vars` (`ANSIBLE_PRIVATE_ROLE_VARS`): roles keep their defaults
    /// and vars to themselves unless made public; None when not set.
    pub private_role_vars: Option<bool>,
    /// What loading the configuration warned about (an ansible.cfg ignored), for the command
    /// to show before it starts.
    pub warnings: Vec<String>,
    /// The file's other settings, `(section, key, value)` in order: those that parts of baton
    /// read for themselves (the terminal output's options, `crate::output::options`).
    pub other: Vec<(String, String, String)>,
    /// `[defaults] callbacks_enabled` (`callback_whitelist` before it;
    /// `ANSIBLE_CALLBACKS_ENABLED`): the callback plugins asked for, as written.
    pub callbacks_enabled: Vec<String>,
    /// `[baton] report` (`BATON_REPORT`): write the HTML report of each run here, as
    /// `baton play --report` does.
    pub report: Option<PathBuf>,
}

/// A setting of ansible's `list` type written as text: comma-separated, each item trimmed.
pub(crate) fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" | "y" | "t" => Some(true),
        "0" | "no" | "false" | "off" | "n" | "f" => Some(false),
        _ => None,
    }
}

/// The config file Ansible would use, and the warnings finding it gave.
///
/// As ansible-core's `find_ini_config_file`: `./ansible.cfg` is skipped when the current
/// directory is world-writable (anyone could have planted it, to turn off host key checking or
/// swap the inventory, keys and roles), with a warning unless `ANSIBLE_CONFIG` chose the file.
pub fn find_file() -> (Option<PathBuf>, Vec<String>) {
    let mut candidates = Vec::new();
    let from_env = std::env::var_os("ANSIBLE_CONFIG").map(|p| {
        let p = PathBuf::from(p);
        if p.is_dir() { p.join("ansible.cfg") } else { p }
    });
    candidates.extend(from_env.clone());
    let mut skipped_cwd = None;
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(meta) = std::fs::metadata(&cwd)
    {
        use std::os::unix::fs::PermissionsExt;
        let cfg = cwd.join("ansible.cfg");
        if meta.permissions().mode() & 0o002 != 0 {
            if cfg.exists() {
                skipped_cwd = Some(cwd);
            }
        } else {
            candidates.push(PathBuf::from("ansible.cfg"));
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".ansible.cfg"));
    }
    candidates.push(PathBuf::from("/etc/ansible/ansible.cfg"));
    let found = candidates.into_iter().find(|p| p.is_file());
    let mut warnings = Vec::new();
    if let Some(cwd) = skipped_cwd
        && (from_env.is_none() || found != from_env)
    {
        warnings.push(format!(
            "Ansible is being run in a world writable directory ({}), ignoring it as an ansible.cfg source. For more information see https://docs.ansible.com/ansible/devel/reference_appendices/config.html#cfg-in-world-writable-dir",
            cwd.display()
        ));
    }
    (found, warnings)
}

impl Config {
    /// Reads the configuration file (if there is one), then the environment over it. What
    /// finding the file warned about is in [`Config::warnings`].
    pub fn load() -> Result<Config, Error> {
        let (file, warnings) = find_file();
        let mut cfg = match file {
            Some(f) => Config::read(&f)?,
            None => Config::default(),
        };
        cfg.warnings = warnings;
        cfg.apply_env();
        Ok(cfg)
    }

    /// Reads one file.
    pub fn read(path: &Path) -> Result<Config, Error> {
        let source = Source::read(path)?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut cfg = Config {
            file: Some(path.to_path_buf()),
            ..Config::default()
        };
        let mut section = String::new();
        for raw in source.text.lines() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.trim().to_string();
                continue;
            }
            let Some((k, v)) = line.split_once('=').or_else(|| line.split_once(':')) else {
                continue;
            };
            // Inline comments after a value, as configparser with Ansible's settings.
            let v = v
                .split(" ;")
                .next()
                .unwrap_or(v)
                .split(" #")
                .next()
                .unwrap_or(v)
                .trim();
            let path = |p: &str| -> PathBuf {
                let p = expand_home(p);
                if p.is_absolute() { p } else { base.join(p) }
            };
            match (section.as_str(), k.trim()) {
                ("defaults", "inventory" | "hostfile") => {
                    cfg.inventory = v
                        .split(',')
                        .map(|s| path(s.trim()).display().to_string())
                        .collect();
                }
                ("defaults", "forks") => cfg.forks = v.parse().ok(),
                ("defaults", "remote_user") => cfg.remote_user = Some(v.to_string()),
                ("defaults", "private_key_file") => cfg.private_key_file = Some(path(v)),
                ("defaults", "host_key_checking") => cfg.host_key_checking = parse_bool(v),
                ("defaults", "roles_path") => {
                    cfg.roles_path = v.split(':').filter(|s| !s.is_empty()).map(path).collect();
                }
                ("defaults", "library") => {
                    cfg.library = v.split(':').filter(|s| !s.is_empty()).map(path).collect();
                }
                ("defaults", "timeout") => cfg.timeout = v.parse().ok(),
                ("defaults", "gathering") => cfg.gathering = Some(v.to_string()),
                ("defaults", "facts_modules") => cfg.facts_modules = split_list(v),
                ("defaults", "strategy") => cfg.strategy = Some(v.to_string()),
                ("defaults", "fact_caching") => cfg.fact_caching = Some(v.to_string()),
                ("defaults", "fact_caching_connection") => {
                    cfg.fact_caching_connection = Some(path(v))
                }
                ("defaults", "fact_caching_timeout") => cfg.fact_caching_timeout = v.parse().ok(),
                ("defaults", "fact_caching_prefix") => {
                    cfg.fact_caching_prefix = Some(v.to_string())
                }
                ("defaults", "force_handlers") => cfg.force_handlers = parse_bool(v),
                ("defaults", "debug") => cfg.debug = parse_bool(v),
                ("defaults", "allow_broken_conditionals") => {
                    cfg.allow_broken_conditionals = parse_bool(v)
                }
                ("defaults", "ansible_managed") => cfg.ansible_managed = Some(v.to_string()),
                ("defaults", "private_role_vars") => cfg.private_role_vars = parse_bool(v),
                ("defaults", "error_on_missing_handler") => {
                    cfg.error_on_missing_handler = parse_bool(v)
                }
                ("defaults", "retry_files_enabled") => cfg.retry_files_enabled = parse_bool(v),
                ("defaults", "retry_files_save_path") => cfg.retry_files_save_path = Some(path(v)),
                ("defaults", "localhost_warning") => cfg.localhost_warning = parse_bool(v),
                ("inventory", "unparsed_is_failed") => {
                    cfg.inventory_unparsed_is_failed = parse_bool(v)
                }
                ("inventory", "any_unparsed_is_failed") => {
                    cfg.inventory_any_unparsed_is_failed = parse_bool(v)
                }
                ("inventory", "inventory_unparsed_warning") => {
                    cfg.inventory_unparsed_warning = parse_bool(v)
                }
                ("defaults", key @ ("callbacks_enabled" | "callback_whitelist")) => {
                    cfg.callbacks_enabled = split_list(v);
                    // The terminal output's aggregate callbacks read it too.
                    cfg.other
                        .push(("defaults".into(), key.to_string(), v.to_string()));
                }
                ("baton", "report") => cfg.report = Some(path(v)),
                ("privilege_escalation", "become") => cfg.become_ = parse_bool(v),
                ("privilege_escalation", "become_user") => cfg.become_user = Some(v.to_string()),
                ("privilege_escalation", "become_method") => {
                    cfg.become_method = Some(v.to_string())
                }
                (section, key) => {
                    cfg.other
                        .push((section.to_string(), key.to_string(), v.to_string()))
                }
            }
        }
        Ok(cfg)
    }

    /// `ANSIBLE_*` variables rank above the file.
    fn apply_env(&mut self) {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("ANSIBLE_INVENTORY") {
            self.inventory = v.split(',').map(|s| s.trim().to_string()).collect();
        }
        if let Some(v) = env("ANSIBLE_GATHERING") {
            self.gathering = Some(v);
        }
        if let Some(v) = env("ANSIBLE_FACTS_MODULES") {
            self.facts_modules = split_list(&v);
        }
        for (name, setting) in [
            (
                "ANSIBLE_INVENTORY_UNPARSED_FAILED",
                &mut self.inventory_unparsed_is_failed,
            ),
            (
                "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED",
                &mut self.inventory_any_unparsed_is_failed,
            ),
            (
                "ANSIBLE_INVENTORY_UNPARSED_WARNING",
                &mut self.inventory_unparsed_warning,
            ),
            ("ANSIBLE_LOCALHOST_WARNING", &mut self.localhost_warning),
            ("ANSIBLE_PRIVATE_ROLE_VARS", &mut self.private_role_vars),
        ] {
            if let Some(v) = env(name) {
                *setting = parse_bool(&v).or(*setting);
            }
        }
        if let Some(v) = env("ANSIBLE_STRATEGY") {
            self.strategy = Some(v);
        }
        if let Some(v) = env("ANSIBLE_CACHE_PLUGIN") {
            self.fact_caching = Some(v);
        }
        if let Some(v) = env("ANSIBLE_CACHE_PLUGIN_CONNECTION") {
            self.fact_caching_connection = Some(expand_home(&v));
        }
        if let Some(v) = env("ANSIBLE_CACHE_PLUGIN_TIMEOUT") {
            self.fact_caching_timeout = v.parse().ok().or(self.fact_caching_timeout);
        }
        if let Some(v) = env("ANSIBLE_CACHE_PLUGIN_PREFIX") {
            self.fact_caching_prefix = Some(v);
        }
        if let Some(v) = env("ANSIBLE_FORKS") {
            self.forks = v.parse().ok().or(self.forks);
        }
        if let Some(v) = env("ANSIBLE_REMOTE_USER") {
            self.remote_user = Some(v);
        }
        if let Some(v) = env("ANSIBLE_PRIVATE_KEY_FILE") {
            self.private_key_file = Some(expand_home(&v));
        }
        if let Some(v) = env("ANSIBLE_HOST_KEY_CHECKING") {
            self.host_key_checking = parse_bool(&v).or(self.host_key_checking);
        }
        if let Some(v) = env("ANSIBLE_ROLES_PATH") {
            self.roles_path = v
                .split(':')
                .filter(|s| !s.is_empty())
                .map(expand_home)
                .collect();
        }
        if let Some(v) = env("ANSIBLE_LIBRARY") {
            self.library = v
                .split(':')
                .filter(|s| !s.is_empty())
                .map(expand_home)
                .collect();
        }
        if let Some(v) = env("ANSIBLE_TIMEOUT") {
            self.timeout = v.parse().ok().or(self.timeout);
        }
        if let Some(v) = env("ANSIBLE_BECOME") {
            self.become_ = parse_bool(&v).or(self.become_);
        }
        if let Some(v) = env("ANSIBLE_BECOME_USER") {
            self.become_user = Some(v);
        }
        if let Some(v) = env("ANSIBLE_RETRY_FILES_ENABLED") {
            self.retry_files_enabled = parse_bool(&v).or(self.retry_files_enabled);
        }
        if let Some(v) = env("ANSIBLE_RETRY_FILES_SAVE_PATH") {
            self.retry_files_save_path = Some(expand_home(&v));
        }
        if let Some(v) = env("ANSIBLE_DEBUG") {
            self.debug = parse_bool(&v).or(self.debug);
        }
        if let Some(v) = env("ANSIBLE_ALLOW_BROKEN_CONDITIONALS") {
            self.allow_broken_conditionals = parse_bool(&v).or(self.allow_broken_conditionals);
        }
        if let Some(v) = env("ANSIBLE_FORCE_HANDLERS") {
            self.force_handlers = parse_bool(&v).or(self.force_handlers);
        }
        if let Some(v) = env("ANSIBLE_ERROR_ON_MISSING_HANDLER") {
            self.error_on_missing_handler = parse_bool(&v).or(self.error_on_missing_handler);
        }
        if let Some(v) = env("ANSIBLE_BECOME_METHOD") {
            self.become_method = Some(v);
        }
        if let Some(v) =
            env("ANSIBLE_CALLBACKS_ENABLED").or_else(|| env("ANSIBLE_CALLBACK_WHITELIST"))
        {
            self.callbacks_enabled = split_list(&v);
        }
        if let Some(v) = env("BATON_REPORT") {
            self.report = Some(expand_home(&v));
        }
    }
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_settings_baton_uses() {
        let dir = std::env::temp_dir().join(format!("baton-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("ansible.cfg");
        std::fs::write(
            &f,
            "[defaults]\ninventory = hosts.ini\nforks=20\nhost_key_checking = False ; no\nroles_path = roles:/etc/roles\n[privilege_escalation]\nbecome = yes\n",
        )
        .unwrap();
        let cfg = Config::read(&f).unwrap();
        assert_eq!(cfg.forks, Some(20));
        assert_eq!(cfg.host_key_checking, Some(false));
        assert_eq!(
            cfg.inventory,
            vec![dir.join("hosts.ini").display().to_string()]
        );
        assert_eq!(
            cfg.roles_path,
            vec![dir.join("roles"), PathBuf::from("/etc/roles")]
        );
        assert_eq!(cfg.become_, Some(true));
    }
}
