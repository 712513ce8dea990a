//! The Python fallback: a module baton does not implement natively runs as the real Ansible
//! module, found and packaged by the controller's ansible-core and run by the host's Python.
//!
//! This file owns what a run knows about such modules ([`Python`]): the names met while
//! loading and what ansible-core said about them (resolved in one helper call per load, see
//! [`Python::resolve_pending`]), the payloads built so far (once per run per module), and per
//! host the interpreter and the private directory the payloads are kept in (removed at the end
//! of the run by [`Python::cleanup`]). The other files:
//! - `helper.rs`: the Python program baton embeds and runs on the controller;
//! - `remote.rs`: what happens on a host (interpreter discovery, sending a payload, running it);
//! - `result.rs`: the module's arguments as ansible-core 2.19 sends them, and its result read
//!   back the way ansible-core reads it.
//!
//! A fallback module answers to one [`SPEC`]: it needs a connection, takes check mode (the
//! module itself decides what it does with it) and returns host facts (`ansible_facts`, as
//! `setup`'s). Its arguments are checked by the module's own argument_spec on the host.

mod helper;
mod interp;
mod remote;
mod result;

pub use helper::{HelperError, controller_python, run_blocking};
pub use result::{Settings, filter_non_json_lines, module_args};

use super::spec::{Facts, Spec};
use super::{ModuleCtx, ModuleError, ModuleResult};
use crate::diagnostics::{Error, Span};
use crate::value::Vars;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What every fallback module declares.
pub static SPEC: Spec = Spec {
    names: &["python_module"],
    facts: Facts::Host,
    open: true,
    ..Spec::BASE
};

/// INTERPRETER_PYTHON_FALLBACK's default: what interpreter discovery looks for, in order.
pub fn interpreter_fallback() -> Vec<String> {
    result::Settings::default().interpreter_fallback
}

/// Whether a name a task uses could be a module for ansible-core to find: not native, not one
/// of the executor's own actions, not a template, and spelled as a module name.
pub fn could_be_module(name: &str) -> bool {
    !name.is_empty()
        && name != "import_playbook"
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !name.starts_with('.')
        && !name.ends_with('.')
}

/// A module ansible-core found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The name as the task wrote it.
    pub name: String,
    pub fqcn: String,
    pub path: String,
    /// `new` (AnsibleModule), `old`, `want_json`, `binary`, `jsonargs`, `powershell`.
    pub style: String,
    /// An action plugin of that name (its FQCN and file), which ansible-playbook would run on
    /// the controller around the module.
    pub action_plugin: Option<(String, String)>,
}

/// A module's payload, as ansible-core built it.
#[derive(Debug)]
pub struct Payload {
    pub style: String,
    /// The zip (new-style) or the module's own bytes (the other styles).
    pub data: Vec<u8>,
    /// The module's name inside the zip (`ansible.modules.tempfile`, `ansible.legacy.mine`).
    pub fqn: String,
    pub profile: String,
    /// An old-style module's interpreter (its `#!` line).
    pub interpreter: Option<String>,
    /// SHA-1 of `data`: the name of the file it is kept in on a host.
    pub sha1: String,
}

/// A name met while loading that nothing native answers to.
#[derive(Debug, Clone)]
struct Pending {
    name: String,
    span: Span,
    task: Option<String>,
}

/// What a run knows about Python modules (see the module doc).
pub struct Python {
    playbook_dir: PathBuf,
    python: PathBuf,
    plugin_dirs: Mutex<Vec<PathBuf>>,
    /// The configured library path (`library`, ANSIBLE_LIBRARY).
    library: Mutex<Vec<PathBuf>>,
    pending: Mutex<Vec<Pending>>,
    found: Mutex<HashMap<String, Arc<Found>>>,
    /// Names ansible-core knows only as controller-side action plugins, with their files.
    action_only: Mutex<HashMap<String, String>>,
    settings: Mutex<Option<Arc<Settings>>>,
    payloads: Mutex<HashMap<String, Result<Arc<Payload>, String>>>,
    /// Held while the helper builds payloads.
    building: tokio::sync::Mutex<()>,
    hosts: remote::Hosts,
}

impl std::fmt::Debug for Python {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Python")
            .field("python", &self.python)
            .finish_non_exhaustive()
    }
}

impl Python {
    /// The fallback for a playbook in `playbook_dir` (its `library/` and `module_utils/` are
    /// ansible's first plugin directories), with the controller's Python.
    pub fn new(playbook_dir: &Path) -> Python {
        Python {
            playbook_dir: playbook_dir.to_path_buf(),
            python: controller_python(),
            plugin_dirs: Mutex::new(vec![playbook_dir.to_path_buf()]),
            library: Mutex::default(),
            pending: Mutex::default(),
            found: Mutex::default(),
            action_only: Mutex::default(),
            settings: Mutex::default(),
            payloads: Mutex::default(),
            building: tokio::sync::Mutex::default(),
            hosts: remote::Hosts::default(),
        }
    }

    /// A role's directory, or an (imported) playbook's: its `library/` and `module_utils/`
    /// join ansible's plugin paths, as when ansible-core loads a role or a playbook file
    /// (`add_all_plugin_dirs`).
    pub fn add_plugin_dir(&self, dir: &Path) {
        let mut dirs = lock(&self.plugin_dirs);
        if !dirs.iter().any(|d| d == dir) {
            dirs.push(dir.to_path_buf());
        }
    }

    /// The configured library path (`library` in ansible.cfg, ANSIBLE_LIBRARY). The helper's
    /// ansible-core reads the same configuration; baton needs it to know which native modules a
    /// module of the user's own shadows ([`Python::shadows`]).
    pub fn set_library(&self, dirs: &[PathBuf]) {
        *lock(&self.library) = dirs.to_vec();
    }

    /// Whether a module of the user's own may shadow the native module of this name: a file
    /// of that name in the configured library path or in the playbook's or a role's `library/`
    /// (ansible looks there before its builtin modules for a short or `ansible.legacy.` name).
    /// A cheap look at the file system, so that native-only playbooks never start Python;
    /// ansible-core then says which module the name means.
    pub fn shadows(&self, name: &str) -> bool {
        let leaf = name.strip_prefix("ansible.legacy.").unwrap_or(name);
        if leaf.contains('.') || leaf.is_empty() {
            return false;
        }
        let mut dirs: Vec<PathBuf> = lock(&self.library).clone();
        dirs.extend(lock(&self.plugin_dirs).iter().map(|d| d.join("library")));
        dirs.iter().any(|d| {
            d.join(leaf).is_file()
                || std::fs::read_dir(d).is_ok_and(|entries| {
                    entries.flatten().any(|e| {
                        let file = e.file_name();
                        let file = file.to_string_lossy();
                        file.strip_prefix(leaf).is_some_and(|rest| {
                            rest.starts_with('.') && !rest[1..].contains('.') && rest != ".ps1"
                        })
                    })
                })
        })
    }

    /// A module of the user's own that takes the place of the native one of this name (see
    /// [`Python::shadows`]), once ansible-core said so.
    pub fn overriding(&self, name: &str) -> Option<Arc<Found>> {
        lock(&self.found)
            .get(name)
            .filter(|f| !f.fqcn.contains('.'))
            .cloned()
    }

    /// Notes a name no native module answers to, for [`Python::resolve_pending`].
    pub fn note_unknown(&self, name: &str, span: &Span, task: Option<&str>) {
        if lock(&self.found).contains_key(name) {
            return;
        }
        lock(&self.pending).push(Pending {
            name: name.to_string(),
            span: span.clone(),
            task: task.map(str::to_string),
        });
    }

    /// Asks ansible-core about every name noted since the last call, in one helper call (none
    /// when there are none); the first name it cannot find either is the load-time error
    /// ansible-playbook gives, at the task that used it.
    pub fn resolve_pending(&self) -> Result<(), Error> {
        let pending = std::mem::take(&mut *lock(&self.pending));
        let Some(first) = pending.first() else {
            return Ok(());
        };
        let mut names: Vec<String> = Vec::new();
        for p in &pending {
            if !names.contains(&p.name) && !lock(&self.found).contains_key(&p.name) {
                names.push(p.name.clone());
            }
        }
        if !names.is_empty() {
            let request =
                helper::resolve_request(&names, &self.playbook_dir, &lock(&self.plugin_dirs));
            let answer = helper::ask_blocking(&self.python, &request)
                .map_err(|e| self.load_error(first, &e))?;
            self.take_answer(&answer);
        }
        let known = lock(&self.found);
        if let Some(p) = pending.iter().find(|p| !known.contains_key(&p.name)) {
            if let Some(path) = lock(&self.action_only).get(&p.name) {
                return Err(Error::syntax(
                    &p.span,
                    format!(
                        "'{}' is an action plugin ({path}), which runs on the controller: baton does not run Ansible's controller-side Python plugins",
                        p.name
                    ),
                )
                .context(who(&p.task)));
            }
            return Err(unknown(p));
        }
        for p in &pending {
            if let Some(f) = known.get(&p.name)
                && let Some(msg) = unsupported(f)
            {
                return Err(Error::syntax(&p.span, msg).context(who(&p.task)));
            }
        }
        Ok(())
    }

    /// A module ansible-core found for this name, asking it now (a module named by a template,
    /// known only when the task runs).
    pub async fn find(&self, name: &str) -> Result<Option<Arc<Found>>, String> {
        if let Some(f) = lock(&self.found).get(name) {
            return Ok(Some(f.clone()));
        }
        if !could_be_module(name) {
            return Ok(None);
        }
        let request = helper::resolve_request(
            &[name.to_string()],
            &self.playbook_dir,
            &lock(&self.plugin_dirs),
        );
        let answer = helper::ask(&self.python, &request)
            .await
            .map_err(|e| e.message(name))?;
        self.take_answer(&answer);
        Ok(lock(&self.found).get(name).cloned())
    }

    fn take_answer(&self, answer: &Json) {
        if let Some(s) = answer.get("settings") {
            *lock(&self.settings) = Some(Arc::new(Settings::from_json(s)));
        }
        let mut found = lock(&self.found);
        for m in answer["modules"].as_array().into_iter().flatten() {
            if m["found"].as_bool() != Some(true) {
                // An action plugin with no module: said at load time, with its file.
                if let (Some(n), Some(a)) = (m["name"].as_str(), m["action_plugin"].as_object()) {
                    let path = a.get("path").and_then(Json::as_str).unwrap_or("");
                    lock(&self.action_only).insert(n.to_string(), path.to_string());
                }
                continue;
            }
            let text = |k: &str| m[k].as_str().unwrap_or("").to_string();
            let action_plugin = m["action_plugin"].as_object().map(|a| {
                (
                    a.get("name")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .to_string(),
                    a.get("path")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .to_string(),
                )
            });
            let f = Found {
                name: text("name"),
                fqcn: text("fqcn"),
                path: text("path"),
                style: text("style"),
                action_plugin,
            };
            found.insert(f.name.clone(), Arc::new(f));
        }
    }

    fn load_error(&self, p: &Pending, e: &HelperError) -> Error {
        let msg = match e {
            HelperError::NoAnsible { .. } => format!(
                "{} It is not built into baton, which looks for such modules with the controller's ansible-core: {}",
                super::unknown_action(&p.name),
                e.hint()
            ),
            HelperError::Failed(_) => e.message(&p.name),
        };
        Error::syntax(&p.span, msg).context(who(&p.task))
    }

    /// The payload of a module, built once per run. The first module a run needs is built
    /// with every other one known by then that is not built yet, in one helper call (one
    /// Python start-up for all: builds are cheap, starting Python is not); a module that
    /// could not be built fails the tasks that run it, and only those.
    async fn payload(&self, found: &Found) -> Result<Arc<Payload>, String> {
        if let Some(p) = lock(&self.payloads).get(&found.name) {
            return p.clone();
        }
        let _one_build_at_a_time = self.building.lock().await;
        if let Some(p) = lock(&self.payloads).get(&found.name) {
            return p.clone();
        }
        let mut wanted: Vec<(String, String)> = vec![(found.name.clone(), found.path.clone())];
        {
            let built = lock(&self.payloads);
            for f in lock(&self.found).values() {
                if f.name != found.name && !built.contains_key(&f.name) && f.style != "powershell" {
                    wanted.push((f.name.clone(), f.path.clone()));
                }
            }
        }
        let request = helper::build_request(&wanted, &self.playbook_dir, &lock(&self.plugin_dirs));
        let answer = helper::ask(&self.python, &request)
            .await
            .map_err(|e| e.message(&found.name))?;
        let mut built = lock(&self.payloads);
        for p in answer["payloads"].as_array().into_iter().flatten() {
            let Some(name) = p["name"].as_str() else {
                continue;
            };
            let result = match p.get("error").and_then(Json::as_str) {
                Some(e) => Err(format!("while preparing the module '{name}': {e}")),
                None => Payload::from_json(&p["payload"])
                    .map(Arc::new)
                    .ok_or_else(|| {
                        format!("while preparing the module '{name}': ansible-core gave no payload")
                    }),
            };
            built.insert(name.to_string(), result);
        }
        built.get(&found.name).cloned().unwrap_or_else(|| {
            Err(format!(
                "while preparing the module '{}': ansible-core gave no payload",
                found.name
            ))
        })
    }

    fn settings(&self) -> Arc<Settings> {
        lock(&self.settings).clone().unwrap_or_default()
    }

    /// Runs a module ansible-core found, on the host of `ctx`.
    pub async fn run(
        &self,
        found: &Found,
        args: Vars,
        ctx: &ModuleCtx,
        opts: &RunOpts,
    ) -> ModuleResult {
        if let Some(msg) = action_plugin_needed(found, &args) {
            return Err(ModuleError::Failed(msg));
        }
        let payload = self.payload(found).await.map_err(ModuleError::Failed)?;
        let settings = self.settings();
        remote::run(&self.hosts, found, &payload, &settings, args, ctx, opts).await
    }

    /// Removes every host's private directory of payloads (at the end of the run).
    pub async fn cleanup(&self) {
        self.hosts.cleanup().await;
    }
}

/// What a task adds to a module's arguments.
#[derive(Debug, Clone, Default)]
pub struct RunOpts {
    pub no_log: bool,
    pub verbosity: u8,
    /// For a delegated task: the `ansible_python_interpreter` of the host it runs on (`None`
    /// inside when that host names none: discovery).
    pub delegated_interpreter: Option<Option<String>>,
}

impl Payload {
    fn from_json(p: &Json) -> Option<Payload> {
        let data = crate::template::filters::b64decode(p.get("data")?.as_str()?)?;
        let text = |k: &str| p.get(k).and_then(Json::as_str).map(str::to_string);
        Some(Payload {
            style: text("style")?,
            sha1: super::transfer::sha1_hex(&data),
            data,
            fqn: text("fqn").unwrap_or_default(),
            profile: text("profile").unwrap_or_else(|| "legacy".into()),
            interpreter: text("interpreter"),
        })
    }
}

/// Modules whose action plugin baton can do without: `assemble` runs the module itself when
/// its source is on the host (`remote_src`, the default).
fn action_plugin_needed(found: &Found, args: &Vars) -> Option<String> {
    let (plugin, path) = found.action_plugin.as_ref()?;
    if found.fqcn == "ansible.builtin.assemble" {
        let remote = args
            .get("remote_src")
            .map(|v| {
                super::spec::convert(super::Kind::Bool, "remote_src", v)
                    .map_or(true, |b| b.is_true())
            })
            .unwrap_or(true);
        if remote {
            return None;
        }
    }
    Some(format!(
        "the module '{}' needs its action plugin {plugin} ({path}), which runs on the controller: baton does not run Ansible's controller-side Python plugins",
        found.name
    ))
}

/// Whether a found module cannot run under baton at all, and why: said at load time.
fn unsupported(f: &Found) -> Option<String> {
    if f.style == "powershell" {
        return Some(format!(
            "the module '{}' ({}) is a PowerShell module: baton runs modules on POSIX hosts",
            f.name, f.path
        ));
    }
    match &f.action_plugin {
        Some((plugin, path)) if f.fqcn != "ansible.builtin.assemble" => Some(format!(
            "the module '{}' needs its action plugin {plugin} ({path}), which runs on the controller: baton does not run Ansible's controller-side Python plugins",
            f.name
        )),
        _ => None,
    }
}

fn who(task: &Option<String>) -> String {
    match task {
        Some(n) => format!("in the task '{n}'"),
        None => "in a task with no name".to_string(),
    }
}

fn unknown(p: &Pending) -> Error {
    Error::syntax(&p.span, super::unknown_action(&p.name)).context(who(&p.task))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_are_told_from_templates_and_paths() {
        for n in [
            "tempfile",
            "ansible.builtin.find",
            "community.general.ini_file",
        ] {
            assert!(could_be_module(n), "{n}");
        }
        for n in ["{{ m }}", "", "a b", "../x", "import_playbook", "x."] {
            assert!(!could_be_module(n), "{n}");
        }
    }

    #[test]
    fn a_library_module_shadows_a_native_short_name_only() {
        let dir = std::env::temp_dir().join(format!("baton-shadow-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("library")).unwrap();
        std::fs::write(dir.join("library/ping.py"), "").unwrap();
        std::fs::write(dir.join("library/stat"), "").unwrap();
        std::fs::write(dir.join("library/copy.ps1"), "").unwrap();
        let py = Python::new(&dir);
        assert!(py.shadows("ping"));
        assert!(py.shadows("ansible.legacy.ping"));
        assert!(py.shadows("stat"));
        assert!(!py.shadows("ansible.builtin.ping"));
        assert!(!py.shadows("copy"));
        assert!(!py.shadows("file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn assemble_runs_without_its_action_plugin_only_from_the_host() {
        let f = Found {
            name: "assemble".into(),
            fqcn: "ansible.builtin.assemble".into(),
            path: "/x/assemble.py".into(),
            style: "new".into(),
            action_plugin: Some(("ansible.builtin.assemble".into(), "/x/a.py".into())),
        };
        assert_eq!(unsupported(&f), None);
        assert_eq!(action_plugin_needed(&f, &Vars::new()), None);
        let mut args = Vars::new();
        args.insert("remote_src".into(), crate::value::Value::from("no"));
        assert!(action_plugin_needed(&f, &args).is_some());
        let reboot = Found {
            name: "reboot".into(),
            fqcn: "ansible.builtin.reboot".into(),
            ..f
        };
        assert!(unsupported(&reboot).unwrap().contains("action plugin"));
    }
}
