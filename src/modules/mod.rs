//! Modules: what a task does on a host, as shell commands over a [`Connection`].
//!
//! This module owns the [`Module`] trait, the registry of modules by name, and [`Args`], the
//! strict reader of module arguments (an unknown, missing or mistyped parameter fails the task
//! with Ansible's wording before anything on the host is touched). Modules reach a host only
//! through [`ModuleCtx::exec`], which applies `become` and `environment`; they never see the
//! transport, so a target needs nothing but a POSIX shell. Every temporary path a module's
//! script uses on a host comes from [`hosttmp`].

mod apt;
mod apt_key;
mod apt_repository;
mod authorized_key;
mod command;
mod copy;
mod cron;
mod debug;
mod dnf;
mod edit;
pub mod fact_cache;
mod fetch;
mod file;
pub mod fileutil;
mod git;
pub mod hosttmp;
mod misc;
mod net;
mod npm;
mod package;
mod pause;
mod pip;
mod script;
mod service;
mod setup;
mod stat;
mod sysutil;
pub mod transfer;
mod unarchive;
mod users;
mod waitfor;
mod yum_repository;

use crate::connection::{BoxFuture, ConnError, Connection, ExecOutput, ExecRequest, Stdin};
use crate::value::{Value, Vars};
use minijinja::value::ValueKind;
use std::sync::Arc;
use std::time::Duration;

pub use crate::connection::become_::Become;

/// What a module gets to do its work.
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
}

impl From<ConnError> for ModuleError {
    fn from(e: ConnError) -> Self {
        match e {
            ConnError::Unreachable(m) => ModuleError::Unreachable(m),
            ConnError::Timeout(d) => ModuleError::Failed(format!(
                "The command action failed to execute in the expected time frame ({}) and was terminated",
                d.as_secs()
            )),
            ConnError::Failed(m) => ModuleError::Failed(m),
        }
    }
}

pub type ModuleResult = Result<Vars, ModuleError>;

/// A module.
pub trait Module: Send + Sync {
    /// Whether the module runs on the host (most) or only on the controller (`debug`, `set_fact`).
    fn needs_connection(&self) -> bool {
        true
    }

    /// Runs the module. `args` are templated already.
    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult>;
}

/// Every module, by its short name.
static MODULES: &[(&str, &dyn Module)] = &[
    ("command", &command::Command),
    ("shell", &command::Shell),
    ("raw", &command::Raw),
    ("debug", &debug::Debug),
    ("set_fact", &misc::SetFact),
    ("fail", &misc::Fail),
    ("assert", &misc::Assert),
    ("ping", &misc::Ping),
    ("setup", &setup::Setup),
    ("include_vars", &misc::IncludeVars),
    ("gather_facts", &setup::Setup),
    // System modules (users.rs, apt.rs, service.rs, ...; helpers in sysutil.rs).
    ("user", &users::User),
    ("group", &users::Group),
    ("apt", &apt::Apt),
    ("dnf", &dnf::Dnf),
    ("dnf5", &dnf::Dnf),
    ("yum", &dnf::Dnf),
    ("package", &package::Package),
    ("systemd", &service::Systemd),
    ("systemd_service", &service::Systemd),
    ("service", &service::Service),
    ("npm", &npm::Npm),
    ("yum_repository", &yum_repository::YumRepository),
    ("cron", &cron::Cron),
    ("git", &git::Git),
    ("pip", &pip::Pip),
    ("authorized_key", &authorized_key::AuthorizedKey),
    ("apt_key", &apt_key::AptKey),
    ("apt_repository", &apt_repository::AptRepository),
    ("pause", &pause::Pause),
    // File and network modules (file.rs, copy.rs, ...; helpers in fileutil.rs).
    ("file", &file::File),
    ("copy", &copy::Copy),
    ("template", &copy::Template),
    ("stat", &stat::Stat),
    ("lineinfile", &edit::LineInFile),
    ("blockinfile", &edit::BlockInFile),
    ("replace", &edit::Replace),
    ("fetch", &fetch::Fetch),
    ("script", &script::Script),
    ("unarchive", &unarchive::Unarchive),
    ("get_url", &net::GetUrl),
    ("uri", &net::Uri),
    ("wait_for", &waitfor::WaitFor),
    ("wait_for_connection", &waitfor::WaitForConnection),
];

/// Looks a module up by its short name; gives the registry's own (static) name with it.
pub fn get(name: &str) -> Option<(&'static str, &'static dyn Module)> {
    MODULES.iter().find(|(n, _)| *n == name).copied()
}

/// Actions the executor carries out itself rather than through a module.
pub const EXECUTOR_ACTIONS: &[&str] = &[
    "meta",
    "import_tasks",
    "include_tasks",
    "import_role",
    "include_role",
    // They change the run's inventory (exec/runner.rs).
    "add_host",
    "group_by",
];

/// Whether a task may name this action.
pub fn is_known(name: &str) -> bool {
    get(name).is_some() || EXECUTOR_ACTIONS.contains(&name)
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

/// A module's arguments, read strictly: every read marks the parameter as known, and
/// [`Args::finish`] refuses any the module did not read, as Ansible does.
pub struct Args {
    module: &'static str,
    values: Vars,
    known: Vec<&'static str>,
    /// Aliases declared with [`Args::alias`], for the "Supported parameters" message.
    aliases: Vec<&'static str>,
}

impl Args {
    pub fn new(module: &'static str, values: Vars) -> Args {
        Args {
            module,
            values,
            known: Vec::new(),
            aliases: Vec::new(),
        }
    }

    /// Ansible's `aliases`: a value given under one of `aliases` is read as `name` (call this
    /// before reading `name`). When both are given the alias wins, as in Ansible (which warns).
    pub fn alias(&mut self, name: &'static str, aliases: &[&'static str]) {
        for a in aliases {
            self.aliases.push(a);
            self.known.push(a);
            if let Some(v) = self.values.shift_remove(*a) {
                self.values.insert(name.to_string(), v);
            }
        }
    }

    fn take(&mut self, name: &'static str) -> Option<Value> {
        self.known.push(name);
        self.values
            .get(name)
            .filter(|v| !v.is_none() && v.as_str() != Some(crate::vars::OMIT))
            .cloned()
    }

    fn type_error(&self, name: &str, v: &Value, want: &str) -> ModuleError {
        ModuleError::Failed(format!(
            "argument '{name}' is of type {} and we were unable to convert to {want}",
            python_type(v)
        ))
    }

    /// A string parameter (numbers and booleans are turned into text, as Ansible does).
    pub fn str(&mut self, name: &'static str) -> Result<Option<String>, ModuleError> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        match v.kind() {
            ValueKind::String => Ok(Some(v.as_str().unwrap_or("").to_string())),
            ValueKind::Number => Ok(Some(v.to_string())),
            ValueKind::Bool => Ok(Some(if v.is_true() { "True" } else { "False" }.into())),
            _ => Err(self.type_error(name, &v, "str")),
        }
    }

    pub fn required_str(&mut self, name: &'static str) -> Result<String, ModuleError> {
        self.str(name)?
            .ok_or_else(|| ModuleError::Failed(format!("missing required arguments: {name}")))
    }

    /// A boolean parameter, with Ansible's spellings (yes/no/on/off/1/0/true/false).
    pub fn bool(&mut self, name: &'static str) -> Result<Option<bool>, ModuleError> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        match v.kind() {
            ValueKind::Bool => Ok(Some(v.is_true())),
            ValueKind::Number => match v.as_i64() {
                Some(1) => Ok(Some(true)),
                Some(0) => Ok(Some(false)),
                _ => Err(self.type_error(name, &v, "bool")),
            },
            ValueKind::String => match v.as_str().unwrap_or("").to_ascii_lowercase().as_str() {
                "yes" | "on" | "1" | "true" | "y" | "t" => Ok(Some(true)),
                "no" | "off" | "0" | "false" | "n" | "f" => Ok(Some(false)),
                _ => Err(self.type_error(name, &v, "bool")),
            },
            _ => Err(self.type_error(name, &v, "bool")),
        }
    }

    /// An integer parameter.
    pub fn int(&mut self, name: &'static str) -> Result<Option<i64>, ModuleError> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        if let Some(i) = v.as_i64() {
            return Ok(Some(i));
        }
        // check_type_int: a bool is an int in Python; the rest goes through Decimal, so "3.0"
        // and 3.0 are 3 but 3.5 is refused.
        if v.kind() == ValueKind::Bool {
            return Ok(Some(v.is_true() as i64));
        }
        let text = v.to_string();
        let as_float = match v.kind() {
            ValueKind::Number | ValueKind::String => text.trim().parse::<f64>().ok(),
            _ => None,
        };
        if let Some(i) = text.trim().parse::<i64>().ok().or_else(|| {
            as_float
                .filter(|f| f.fract() == 0.0 && f.is_finite())
                .map(|f| f as i64)
        }) {
            return Ok(Some(i));
        }
        let shown = crate::value::python_repr(&crate::value::to_json(&v));
        Err(ModuleError::Failed(format!(
            "argument '{name}' is of type {} and we were unable to convert to int: \"{shown}\" cannot be converted to an int",
            python_type(&v)
        )))
    }

    /// A list parameter; a string becomes a list split on commas, as Ansible's `type='list'`.
    pub fn list(&mut self, name: &'static str) -> Result<Option<Vec<Value>>, ModuleError> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        match v.kind() {
            // Iterable: a lazily computed sequence (minijinja's `list + list`).
            ValueKind::Seq | ValueKind::Iterable => {
                Ok(Some(v.try_iter().map(|i| i.collect()).unwrap_or_default()))
            }
            ValueKind::String => Ok(Some(
                v.as_str()
                    .unwrap_or("")
                    .split(',')
                    .map(|s| Value::from(s.trim()))
                    .collect(),
            )),
            // check_type_list: numbers (and so booleans) become their text; the rest fails.
            ValueKind::Number | ValueKind::Bool => Ok(Some(vec![v])),
            _ => Err(ModuleError::Failed(format!(
                "argument '{name}' is of type {} and we were unable to convert to list: <class '{}'> cannot be converted to a list",
                python_type(&v),
                python_type(&v)
            ))),
        }
    }

    /// Any value, as given.
    pub fn raw(&mut self, name: &'static str) -> Option<Value> {
        self.take(name)
    }

    /// Any value as given, null included (`Some(None)`): for parameters where an explicit
    /// null differs from leaving it out (`debug: msg: null` prints null).
    pub fn raw_with_null(&mut self, name: &'static str) -> Option<Value> {
        self.known.push(name);
        self.values
            .get(name)
            .filter(|v| v.as_str() != Some(crate::vars::OMIT))
            .cloned()
    }

    /// One of a fixed set of strings.
    pub fn choice(
        &mut self,
        name: &'static str,
        choices: &[&str],
    ) -> Result<Option<String>, ModuleError> {
        let Some(s) = self.str(name)? else {
            return Ok(None);
        };
        if !choices.contains(&s.as_str()) {
            return Err(ModuleError::Failed(format!(
                "value of {name} must be one of: {}, got: {s}",
                choices.join(", ")
            )));
        }
        Ok(Some(s))
    }

    /// Refuses parameters the module did not read.
    pub fn finish(self) -> Result<(), ModuleError> {
        let mut unknown: Vec<&str> = self
            .values
            .keys()
            .map(String::as_str)
            .filter(|k| !self.known.contains(k) && !k.starts_with("_ansible"))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort();
        let mut supported: Vec<&str> = self
            .known
            .iter()
            .copied()
            .filter(|k| !k.starts_with('_') && !self.aliases.contains(k))
            .collect();
        supported.sort();
        supported.dedup();
        let mut aliases = self.aliases.clone();
        aliases.sort();
        aliases.dedup();
        let aliases = if aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", aliases.join(", "))
        };
        Err(ModuleError::Failed(format!(
            "Unsupported parameters for ({}) module: {}. Supported parameters include: {}{aliases}.",
            self.module,
            unknown.join(", "),
            supported.join(", ")
        )))
    }

    /// All values, for modules that take free-form keys (`set_fact`).
    pub fn into_values(self) -> Vars {
        self.values
    }
}

/// Python's name for a value's type, as Ansible's messages use it.
pub fn python_type(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::None | ValueKind::Undefined => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number => {
            if v.as_i64().is_some() {
                "int"
            } else {
                "float"
            }
        }
        ValueKind::String => "str",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
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
    fn unknown_parameters_are_named() {
        let mut values = Vars::new();
        values.insert("msg".into(), Value::from("x"));
        values.insert("colour".into(), Value::from("red"));
        let mut args = Args::new("debug", values);
        args.str("msg").unwrap();
        args.str("var").unwrap();
        let err = args.finish().unwrap_err();
        let ModuleError::Failed(m) = err else {
            panic!()
        };
        assert_eq!(
            m,
            "Unsupported parameters for (debug) module: colour. Supported parameters include: msg, var."
        );
    }

    #[test]
    fn aliases_are_read_under_their_name_and_listed_apart() {
        let mut values = Vars::new();
        values.insert("user".into(), Value::from("app"));
        values.insert("colour".into(), Value::from("red"));
        let mut args = Args::new("user", values);
        args.alias("name", &["user"]);
        assert_eq!(args.str("name").unwrap().as_deref(), Some("app"));
        args.str("state").unwrap();
        let ModuleError::Failed(m) = args.finish().unwrap_err() else {
            panic!()
        };
        assert_eq!(
            m,
            "Unsupported parameters for (user) module: colour. Supported parameters include: name, state (user)."
        );
    }

    #[test]
    fn booleans_and_ints_are_converted_or_refused() {
        let mut values = Vars::new();
        values.insert("a".into(), Value::from("yes"));
        values.insert("b".into(), Value::from("maybe"));
        values.insert("n".into(), Value::from("12"));
        let mut args = Args::new("m", values);
        assert_eq!(args.bool("a").unwrap(), Some(true));
        assert!(args.bool("b").is_err());
        assert_eq!(args.int("n").unwrap(), Some(12));
    }
}
