//! Modules: what a task does on a host, as shell commands over a [`Connection`].
//!
//! A module is one file: a [`Spec`] (its names, how it takes free-form text, whether it needs a
//! connection, supports check and diff mode, returns facts or changes the inventory, and its
//! arguments) next to its `run`, which gets [`Args`] already checked against that spec (an
//! unknown, missing or mistyped parameter fails the task with Ansible's wording before anything
//! on the host is touched) and returns a typed [`Outcome`]. This file owns the [`Module`]
//! trait and the registry, the one place a name a task uses (`copy`, `ansible.builtin.copy`,
//! `ansible.posix.authorized_key`) is resolved: adding a module is a new file and a line in
//! [`MODULES`]. Modules reach a host only
//! through [`ModuleCtx::exec`], which applies `become` and `environment`; they never see the
//! transport, so a target needs nothing but a POSIX shell. Every temporary path a module's
//! script uses on a host comes from [`hosttmp`].

pub mod async_host;
pub mod async_job;
mod outcome;
mod spec;

pub use outcome::{InventoryChange, Outcome};
pub use spec::{
    Args, Facts, FreeForm, Inventory, Kind, Output, Param, ParamDefault, Spec, python_type,
};

mod add_host;
mod apt;
mod apt_key;
mod apt_repository;
pub mod ask;
mod assert;
mod authorized_key;
mod command;
mod copy;
mod cron;
mod debug;
mod dnf;
mod edit;
pub mod fact_cache;
mod fail;
mod fetch;
mod file;
pub mod fileutil;
mod getent;
mod git;
mod group_by;
pub mod hosttmp;
mod include_vars;
mod net;
mod npm;
mod package;
mod pause;
mod ping;
mod pip;
mod protomatter_debug;
pub mod python;
mod script;
mod service;
pub mod set_fact;
mod set_stats;
mod setup;
mod setup_local;
mod setup_mounts;
mod setup_python;
mod slurp;
mod stat;
mod sysutil;
pub mod transfer;
mod unarchive;
mod users;
mod waitfor;
mod yum_repository;

use crate::connection::{BoxFuture, ConnError, Connection, ExecOutput, ExecRequest, Stdin};
use crate::value::{Value, Vars};
use std::sync::Arc;
use std::time::Duration;

pub use crate::connection::become_::Become;

/// What a module gets to do its work.
#[derive(Clone)]
pub struct ModuleCtx {
    pub host: String,
    pub conn: Option<Arc<dyn Connection>>,
    /// The variables of the task, for modules that read them (`debug: var=`).
    pub vars: Value,
    pub check_mode: bool,
    pub diff: bool,
    pub become_: Option<Become>,
    pub environment: Vec<(String, String)>,
    pub timeout: Option<Duration>,
}

/// Why a module did not produce a result.
#[derive(Debug, Clone)]
pub enum ModuleError {
    /// The host could not be reached: the task is UNREACHABLE.
    Unreachable(String),
    /// The task failed with this message (bad arguments, a command that could not run...).
    Failed(String),
    /// The task's `timeout` ran out: it fails with Ansible's message and a `timedout` result.
    TimedOut(Duration),
}

impl ModuleError {
    /// Ansible's message for a task that ran out of its `timeout`.
    pub fn timed_out_msg(d: Duration) -> String {
        format!(
            "The command action failed to execute in the expected time frame ({}) and was terminated",
            d.as_secs()
        )
    }

    /// The failure's message.
    pub fn message(&self) -> String {
        match self {
            ModuleError::Unreachable(m) | ModuleError::Failed(m) => m.clone(),
            ModuleError::TimedOut(d) => ModuleError::timed_out_msg(*d),
        }
    }
}

impl From<ConnError> for ModuleError {
    fn from(e: ConnError) -> Self {
        match e {
            ConnError::Unreachable(m) => ModuleError::Unreachable(m),
            ConnError::Timeout(d) => ModuleError::TimedOut(d),
            ConnError::Failed(m) => ModuleError::Failed(m),
        }
    }
}

/// What a module returns, or why it could not.
pub type ModuleResult = Result<Outcome, ModuleError>;

/// What a module body that builds its result as a map returns (see [`from_map`]).
pub type MapResult = Result<Vars, ModuleError>;

/// Runs a module body that builds its result as a map of return values; the result is typed
/// on the way out (`impl From<Vars> for Outcome`).
pub fn from_map<'a>(
    body: impl std::future::Future<Output = MapResult> + Send + 'a,
) -> BoxFuture<'a, ModuleResult> {
    Box::pin(async move { body.await.map(Outcome::from) })
}

/// Runs a module: its arguments checked against its spec first (a bad one fails the task with
/// Ansible's message before the host is touched), and a module that does not support check
/// mode skipped under `--check`, as AnsibleModule does.
pub async fn invoke(found: Resolved, args: Vars, ctx: &ModuleCtx) -> ModuleResult {
    let spec = found.module.spec();
    let args = Args::parse(found.name, spec, args)?;
    let invocation = spec.runs_as_module().then(|| args.invocation());
    let outcome = if ctx.check_mode && !spec.check_mode {
        Outcome {
            skipped: true,
            msg: Some(Value::from(format!(
                "remote module ({}) does not support check mode",
                found.name
            ))),
            ..Outcome::ok()
        }
    } else {
        found.module.run(args, ctx).await?
    };
    Ok(match invocation {
        Some(invocation) => outcome.with_invocation(invocation),
        None => outcome,
    })
}

/// A module: its [`Spec`] and its `run`.
pub trait Module: Send + Sync {
    /// What the module declares about itself: names, arguments, what it needs and returns.
    fn spec(&self) -> &'static Spec;

    /// Runs the module with its arguments, templated and checked against its spec.
    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult>;
}

/// Every module: one line each. Its names come from its spec.
static MODULES: &[&dyn Module] = &[
    &command::Command,
    &command::Shell,
    &command::Raw,
    &debug::Debug,
    &set_fact::SetFact,
    &set_stats::SetStats,
    &fail::Fail,
    &assert::Assert,
    &ping::Ping,
    &setup::Setup,
    &include_vars::IncludeVars,
    &add_host::AddHost,
    &group_by::GroupBy,
    // System modules (users.rs, apt.rs, service.rs, ...; helpers in sysutil.rs).
    &users::User,
    &users::Group,
    &apt::Apt,
    &dnf::Dnf,
    &package::Package,
    &service::Systemd,
    &service::Service,
    &npm::Npm,
    &yum_repository::YumRepository,
    &cron::Cron,
    &git::Git,
    &pip::Pip,
    &authorized_key::AuthorizedKey,
    &apt_key::AptKey,
    &apt_repository::AptRepository,
    &pause::Pause,
    // File and network modules (file.rs, copy.rs, ...; helpers in fileutil.rs).
    &file::File,
    &copy::Copy,
    &copy::Template,
    &stat::Stat,
    &edit::LineInFile,
    &edit::BlockInFile,
    &edit::Replace,
    &fetch::Fetch,
    &script::Script,
    &unarchive::Unarchive,
    &net::GetUrl,
    &net::Uri,
    &waitfor::WaitFor,
    &waitfor::WaitForConnection,
    &slurp::Slurp,
    &getent::Getent,
    &protomatter_debug::ProtomatterDebug,
    &async_job::AsyncStatus,
];

/// Actions the executor carries out itself rather than through a module; their free-form
/// text is read as [`FreeForm::No`] (`k=v` words are arguments).
const EXECUTOR_ACTIONS: &[&str] = &[
    "meta",
    "import_tasks",
    "include_tasks",
    "import_role",
    "include_role",
];

/// A module found by the name a task used.
#[derive(Clone, Copy)]
pub struct Resolved {
    /// The module's short name as the task used it (`yum` for `ansible.builtin.yum`, the
    /// first name for a collection's FQCN): what messages call it.
    pub name: &'static str,
    pub module: &'static dyn Module,
}

/// The short name a builtin FQCN stands for: `ansible.builtin.copy` and
/// `ansible.legacy.copy` are `copy`.
fn builtin_short(name: &str) -> Option<&str> {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
}

/// Finds the module a task names: by a short name, `ansible.builtin.`/`ansible.legacy.` and
/// the short name, or a full name the module's spec lists (`ansible.posix.authorized_key`).
pub fn resolve(name: &str) -> Option<Resolved> {
    let short = builtin_short(name);
    MODULES.iter().find_map(|m| {
        let names = m.spec().names;
        names.iter().find_map(|n| {
            let found = if n.contains('.') {
                *n == name
            } else {
                *n == name || Some(*n) == short
            };
            found.then(|| Resolved {
                name: if n.contains('.') { names[0] } else { n },
                module: *m,
            })
        })
    })
}

/// The name a task's action goes by from here on (a module's short name, or one of the
/// executor's own actions), or `None` for a name nothing answers to.
pub fn canonical(name: &str) -> Option<&'static str> {
    if let Some(r) = resolve(name) {
        return Some(r.name);
    }
    let short = builtin_short(name).unwrap_or(name);
    EXECUTOR_ACTIONS.iter().find(|a| **a == short).copied()
}

/// The spec of the module a task names (`None` for the executor's own actions). A name that
/// is neither native nor the executor's is a Python module ([`python::SPEC`]): loading made
/// sure ansible-core finds it.
pub fn spec_of(name: &str) -> Option<&'static Spec> {
    match resolve(name) {
        Some(r) => Some(r.module.spec()),
        None if canonical(name).is_none() && python::could_be_module(name) => Some(&python::SPEC),
        None => None,
    }
}

/// How the free-form text of an action is read (`import_playbook` and the executor's actions
/// read theirs as parameters).
pub fn free_form(action: &str) -> FreeForm {
    // The executor's own actions (and import_playbook) read `k=v` words as their arguments
    // and the other words as `_raw_params`, as ansible-core's parse_kv without check_raw:
    // `import_role: name=x handlers_from=y`.
    match spec_of(action) {
        Some(s) => s.free_form,
        None => FreeForm::No,
    }
}

/// Ansible's message for an action nothing answers to.
pub fn unknown_action(name: &str) -> String {
    format!(
        "couldn't resolve module/action '{name}'. This often indicates a misspelling, missing collection, or incorrect module path."
    )
}

impl ModuleCtx {
    /// Runs a shell command on the host, with `become` and `environment` applied.
    pub async fn exec(&self, cmd: &str, stdin: Option<&[u8]>) -> Result<ExecOutput, ModuleError> {
        self.exec_input(cmd, stdin.map_or(Stdin::Null, Stdin::Bytes))
            .await
    }

    /// [`ModuleCtx::exec`] with any kind of input, streamed input included (see
    /// [`Stdin`]). With `become` and a become password, the password dialogue with sudo happens
    /// before the input is sent (see [`crate::connection::become_`]); sudo asking for a password
    /// nobody gave fails with Ansible's "Missing sudo password".
    pub async fn exec_input(&self, cmd: &str, stdin: Stdin<'_>) -> Result<ExecOutput, ModuleError> {
        self.exec_request(cmd, stdin, false).await
    }

    /// [`ModuleCtx::exec`] of text for the login user's own shell rather than `/bin/sh`
    /// (`raw`: see [`ExecRequest::login_shell`]).
    pub async fn exec_login_shell(&self, cmd: &str) -> Result<ExecOutput, ModuleError> {
        self.exec_request(cmd, Stdin::Null, true).await
    }

    async fn exec_request(
        &self,
        cmd: &str,
        stdin: Stdin<'_>,
        login_shell: bool,
    ) -> Result<ExecOutput, ModuleError> {
        let Some(conn) = &self.conn else {
            return Err(ModuleError::Failed("this module needs a connection".into()));
        };
        let mut script = String::new();
        for (k, v) in &self.environment {
            script.push_str(&format!("{k}={}; export {k}; ", shell_quote(v)));
        }
        script.push_str(cmd);
        // The script itself goes on the standard input of sudo's shell, never on its command
        // line (see `connection::launch`).
        let escalation = match (&self.become_, conn.become_password()) {
            (Some(b), Some(password)) => Some(crate::connection::become_::escalation(b, password)),
            _ => None,
        };
        let answered = escalation.is_some();
        let out = conn
            .run(ExecRequest {
                cmd: &script,
                stdin,
                become_: self.become_.clone(),
                timeout: self.timeout,
                escalation,
                login_shell,
            })
            .await?;
        // A script whose private temporary directory could not be made safely stopped before
        // it wrote anything; its message is the task's failure, whatever the module.
        if out.rc != Some(0)
            && let Some(msg) = hosttmp::refusal(&out.stdout)
        {
            return Err(ModuleError::Failed(msg));
        }
        if let Some(b) = &self.become_
            && b.method == "sudo"
            && !answered
            && out.rc == Some(1)
            && crate::connection::become_::sudo_needs_password(&out.stderr)
        {
            return Err(ModuleError::Failed("Missing sudo password".into()));
        }
        Ok(out)
    }
}

/// Quotes a word for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    crate::template::filters::shell_quote(s)
}

/// Turns bytes from a host into text, replacing what is not UTF-8.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `Vars` result from pairs.
pub fn result<const N: usize>(pairs: [(&str, Value); N]) -> Vars {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_one_place() {
        for (name, short) in [
            ("copy", "copy"),
            ("ansible.builtin.copy", "copy"),
            ("ansible.legacy.copy", "copy"),
            ("yum", "yum"),
            ("ansible.builtin.dnf5", "dnf5"),
            ("ansible.posix.authorized_key", "authorized_key"),
            ("ansible.builtin.authorized_key", "authorized_key"),
            ("community.general.npm", "npm"),
            ("gather_facts", "gather_facts"),
            ("ansible.builtin.add_host", "add_host"),
        ] {
            let found = resolve(name).unwrap_or_else(|| panic!("{name} does not resolve"));
            assert_eq!(found.name, short, "{name}");
            assert_eq!(canonical(name), Some(short), "{name}");
        }
        assert_eq!(resolve("dnf").unwrap().module.spec().name(), "dnf");
        assert_eq!(resolve("yum").unwrap().module.spec().name(), "dnf");
        // A collection's name is only its own: no builtin prefix before it, no other
        // collection.
        for name in [
            "ansible.builtin.ansible.posix.authorized_key",
            "community.general.copy",
            "ansible.posix.npm",
            "nosuchmodule",
            "ansible.builtin.nosuchmodule",
        ] {
            assert!(resolve(name).is_none(), "{name}");
        }
    }

    #[test]
    fn the_executor_actions_are_known_but_not_modules() {
        assert_eq!(
            canonical("ansible.builtin.include_tasks"),
            Some("include_tasks")
        );
        assert!(spec_of("include_tasks").is_none());
        assert_eq!(free_form("include_role"), FreeForm::No);
        assert_eq!(free_form("import_playbook"), FreeForm::No);
        assert_eq!(canonical("import_playbook"), None);
        assert_eq!(free_form("copy"), FreeForm::No);
        assert_eq!(free_form("ansible.builtin.shell"), FreeForm::Command);
        assert_eq!(free_form("add_host"), FreeForm::No);
        assert_eq!(free_form("include_vars"), FreeForm::Params);
    }

    #[test]
    fn an_unknown_action_gets_ansible_message() {
        assert_eq!(
            unknown_action("copyy"),
            "couldn't resolve module/action 'copyy'. This often indicates a misspelling, missing collection, or incorrect module path."
        );
    }

    /// Every spec in the registry holds together: names unique across modules, parameter
    /// names and aliases unique within a module, choices only on text and lists, defaults
    /// of the parameter's type and never on a required parameter.
    #[test]
    fn every_spec_is_consistent() {
        let mut names: Vec<&str> = Vec::new();
        for m in MODULES {
            let spec = m.spec();
            assert!(!spec.names.is_empty());
            // A short name first, unless the full name is the only one (an action of a
            // collection with no short name of its own: `ansible._protomatter.debug`).
            assert!(
                !spec.names[0].contains('.') || spec.names.len() == 1,
                "{:?}",
                spec.names
            );
            for n in spec.names {
                assert!(!names.contains(n), "{n} is registered twice");
                names.push(n);
            }
            let mut seen: Vec<&str> = Vec::new();
            for p in spec.all_params() {
                for n in std::iter::once(&p.name).chain(p.aliases.iter()) {
                    assert!(!seen.contains(n), "{}: {n} twice", spec.name());
                    seen.push(n);
                }
                if !p.choices.is_empty() {
                    assert!(
                        matches!(p.kind, Kind::Str | Kind::List),
                        "{}: choices on {}",
                        spec.name(),
                        p.name
                    );
                }
                let ok = match p.default {
                    ParamDefault::None => true,
                    ParamDefault::Str(s) => {
                        p.kind == Kind::Str && (p.choices.is_empty() || p.choices.contains(&s))
                    }
                    ParamDefault::Bool(_) => p.kind == Kind::Bool,
                    ParamDefault::Int(_) => p.kind == Kind::Int,
                };
                assert!(
                    ok,
                    "{}: the default of {} is not of its type",
                    spec.name(),
                    p.name
                );
                assert!(
                    !(p.required && p.default != ParamDefault::None),
                    "{}: {} is required and has a default",
                    spec.name(),
                    p.name
                );
            }
            for group in spec.mutually_exclusive.iter().chain(spec.required_one_of) {
                for n in *group {
                    assert!(spec.param(n).is_some(), "{}: {n} in a group", spec.name());
                }
            }
            if spec.inventory != Inventory::None || spec.output == Output::Debug {
                assert!(!spec.connection, "{}", spec.name());
            }
        }
    }
}
