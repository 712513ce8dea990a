//! What a module says about itself ([`Spec`]) and the arguments it takes ([`Param`]), and
//! [`Args`]: a task's arguments checked against that schema before the module runs.
//!
//! A module file holds its `Spec` as a `static` next to its code, so everything about a module
//! (names, free-form arguments, connection, check and diff mode, facts, inventory changes, its
//! arguments) is in one place. The checks follow ansible-core's `ArgumentSpecValidator`, in its
//! order: mutually exclusive parameters, missing required ones, types, choices, "one of the
//! following is required", then unknown parameters; the first failure is the task's message,
//! in Ansible's words.

use super::ModuleError;
use crate::value::{Value, Vars};
use minijinja::value::ValueKind;

mod convert;
use convert::*;
pub use convert::{convert, python_type, to_list};

/// Everything a module declares about itself.
pub struct Spec {
    /// The names a task may use: short names (each also answers as `ansible.builtin.NAME` and
    /// `ansible.legacy.NAME`), then the module's real home when it is a collection's
    /// (`ansible.posix.authorized_key`). The first name is the module's own.
    pub names: &'static [&'static str],
    /// How free-form text (`shell: echo hi`, `include_vars: file.yml`) is read.
    pub free_form: FreeForm,
    /// Whether the module runs on the host (most) or only on the controller (`debug`).
    pub connection: bool,
    /// Whether the module honours check mode; one that does not is skipped under `--check`.
    pub check_mode: bool,
    /// Whether the module reports a diff under `--diff`.
    pub diff: bool,
    /// Whether and how the module returns facts ([`super::Outcome::facts`]).
    pub facts: Facts,
    /// Whether the module changes the run's inventory ([`super::Outcome::inventory`]).
    pub inventory: Inventory,
    /// How the output shows the module's result.
    pub output: Output,
    /// The arguments, in groups (a module's own, and groups modules share such as the file
    /// attributes). Ansible's `argument_spec`.
    pub params: &'static [&'static [Param]],
    /// Any other argument is accepted too (`set_fact`'s variables, and the actions that pass
    /// their arguments on to another module, which checks them: `package`, `service`).
    pub open: bool,
    /// Groups of parameters of which at most one may be given.
    pub mutually_exclusive: &'static [&'static [&'static str]],
    /// Groups of parameters of which at least one must be given.
    pub required_one_of: &'static [&'static [&'static str]],
}

/// How a module takes free-form text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeForm {
    /// `k=v` words only (`copy: src=a dest=b`); a word without `=` is `_raw_params`.
    No,
    /// Text that is not one of the command options (`creates=`, `chdir=`...) stays the command
    /// line in `_raw_params` (command, shell, raw, script); the module needs some.
    Command,
    /// Read like a command line (`_raw_params` keeps what is not a command option); the module
    /// reads its `_raw_params` itself (`include_vars: file.yml`, `add_host: name=x`).
    Params,
}

/// What a module's facts are to the executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facts {
    /// The module returns no facts.
    None,
    /// Facts about the host (`setup`): kept as the host's facts, under `ansible_facts` and the
    /// fact cache.
    Host,
    /// Variables for the host (`set_fact`): data, never templated again.
    Variables,
    /// Variables read from the user's own files (`include_vars`): text the user wrote,
    /// templated when used.
    Files,
}

/// How a module changes the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inventory {
    /// It does not.
    None,
    /// Once per host, the hosts taken one at a time in order (`group_by`).
    PerHost,
    /// Once for the whole batch, bypassing the host loop (`add_host`).
    Once,
}

/// How the output shows a module's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The result as JSON.
    Json,
    /// Ad hoc, the command's output as text after `rc=N >>` (Ansible's `MODULE_NO_JSON`).
    Text,
    /// Only what was asked for is shown (`debug`: the callback's `_clean_results`).
    Debug,
}

impl Spec {
    /// The defaults a module's spec starts from: a host module with no facts, no inventory
    /// changes and no arguments, supporting check mode.
    pub const BASE: Spec = Spec {
        names: &[],
        free_form: FreeForm::No,
        connection: true,
        check_mode: true,
        diff: false,
        facts: Facts::None,
        inventory: Inventory::None,
        output: Output::Json,
        params: &[],
        open: false,
        mutually_exclusive: &[],
        required_one_of: &[],
    };

    /// The module's own name.
    pub fn name(&self) -> &'static str {
        self.names[0]
    }

    /// Every parameter, in the order declared.
    pub fn all_params(&self) -> impl Iterator<Item = &'static Param> {
        self.params.iter().flat_map(|g| g.iter())
    }

    /// Whether ansible runs this as a module on the host, whose result then carries its
    /// `invocation` (AnsibleModule's `exit_json`), rather than only as an action on the
    /// controller: the modules without a connection (`debug`, `set_fact`...) and the actions that
    /// run no module (`raw`, `script`, `fetch`, `wait_for_connection`).
    pub fn runs_as_module(&self) -> bool {
        const ACTIONS_ONLY: &[&str] = &["raw", "script", "fetch", "wait_for_connection"];
        self.connection && !ACTIONS_ONLY.contains(&self.name())
    }

    /// The parameter `name` (its own name, not an alias).
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.all_params().find(|p| p.name == name)
    }
}

/// The type of a parameter, and what a value is turned into (Ansible's `type=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text; numbers and booleans become their text (`True`/`False`).
    Str,
    /// A boolean, with Ansible's spellings (yes/no/on/off/1/0/true/false...).
    Bool,
    /// An integer (`"3"` and `3.0` are 3).
    Int,
    /// A list; text is split on commas.
    List,
    /// Any value, as given (the module reads it: `mode`, `body`...); null is not given.
    Any,
    /// Any value as given, null included (`debug: msg: null` prints null).
    Nullable,
}

/// A default value, applied when the parameter is not given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamDefault {
    None,
    Str(&'static str),
    Bool(bool),
    Int(i64),
}

/// One parameter of a module (an entry of Ansible's `argument_spec`).
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub default: ParamDefault,
    pub choices: &'static [&'static str],
    pub aliases: &'static [&'static str],
    /// A secret (Ansible's `no_log=True`): its value never shows in the result's `invocation`.
    pub no_log: bool,
}

impl Param {
    pub const fn new(name: &'static str, kind: Kind) -> Param {
        Param {
            name,
            kind,
            required: false,
            default: ParamDefault::None,
            choices: &[],
            aliases: &[],
            no_log: false,
        }
    }
    pub const fn str(name: &'static str) -> Param {
        Param::new(name, Kind::Str)
    }
    pub const fn bool(name: &'static str) -> Param {
        Param::new(name, Kind::Bool)
    }
    pub const fn int(name: &'static str) -> Param {
        Param::new(name, Kind::Int)
    }
    pub const fn list(name: &'static str) -> Param {
        Param::new(name, Kind::List)
    }
    pub const fn any(name: &'static str) -> Param {
        Param::new(name, Kind::Any)
    }
    pub const fn required(self) -> Param {
        Param {
            required: true,
            ..self
        }
    }
    pub const fn choices(self, choices: &'static [&'static str]) -> Param {
        Param { choices, ..self }
    }
    pub const fn aliases(self, aliases: &'static [&'static str]) -> Param {
        Param { aliases, ..self }
    }
    pub const fn no_log(self) -> Param {
        Param {
            no_log: true,
            ..self
        }
    }
    pub const fn default_str(self, s: &'static str) -> Param {
        Param {
            default: ParamDefault::Str(s),
            ..self
        }
    }
    pub const fn default_bool(self, b: bool) -> Param {
        Param {
            default: ParamDefault::Bool(b),
            ..self
        }
    }
    pub const fn default_int(self, i: i64) -> Param {
        Param {
            default: ParamDefault::Int(i),
            ..self
        }
    }
}

/// Whether a value counts as given: not null, not `omit`.
fn given(v: &Value) -> bool {
    !v.is_none() && !v.is_undefined() && v.as_str() != Some(crate::vars::OMIT)
}

/// A module's arguments, checked against its [`Spec`]: read them with the typed getters.
pub struct Args {
    module: &'static str,
    spec: &'static Spec,
    values: Vars,
}

impl Args {
    /// Checks `values` against `spec` and converts them to their types, in Ansible's order
    /// (see the module docs); `module` is the name the task used, for the messages.
    pub fn parse(
        module: &'static str,
        spec: &'static Spec,
        values: Vars,
    ) -> Result<Args, ModuleError> {
        let mut values = values;
        // Aliases: a value given under an alias is read as the parameter (the alias wins when
        // both are given, as in Ansible, which warns).
        for p in spec.all_params() {
            for a in p.aliases {
                if let Some(v) = values.shift_remove(*a) {
                    values.insert(p.name.to_string(), v);
                }
            }
        }
        let is_given = |values: &Vars, name: &str| values.get(name).is_some_and(given);
        let exclusive: Vec<String> = spec
            .mutually_exclusive
            .iter()
            .filter(|group| group.iter().filter(|n| is_given(&values, n)).count() > 1)
            .map(|group| group.join("|"))
            .collect();
        if !exclusive.is_empty() {
            return Err(failed(format!(
                "parameters are mutually exclusive: {}",
                exclusive.join(", ")
            )));
        }
        let mut missing: Vec<&str> = spec
            .all_params()
            .filter(|p| p.required && !is_given(&values, p.name))
            .map(|p| p.name)
            .collect();
        if !missing.is_empty() {
            missing.sort();
            return Err(failed(format!(
                "missing required arguments: {}",
                missing.join(", ")
            )));
        }
        for p in spec.all_params() {
            let Some(v) = values.get(p.name).filter(|v| given(v)) else {
                continue;
            };
            let converted = convert(p.kind, p.name, v)?;
            values.insert(p.name.to_string(), converted);
        }
        for p in spec.all_params().filter(|p| !p.choices.is_empty()) {
            let Some(v) = values.get(p.name).filter(|v| given(v)) else {
                continue;
            };
            check_choice(p, v)?;
        }
        for group in spec.required_one_of {
            if !group.iter().any(|n| is_given(&values, n)) {
                return Err(failed(format!(
                    "one of the following is required: {}",
                    group.join(", ")
                )));
            }
        }
        if !spec.open {
            let mut unknown: Vec<&str> = values
                .keys()
                .map(String::as_str)
                .filter(|k| !k.starts_with("_ansible") && spec.param(k).is_none())
                .collect();
            if !unknown.is_empty() {
                unknown.sort();
                return Err(failed(unsupported(module, spec, &unknown)));
            }
        }
        for p in spec.all_params() {
            if !is_given(&values, p.name) {
                let d = match p.default {
                    ParamDefault::None => continue,
                    ParamDefault::Str(s) => Value::from(s),
                    ParamDefault::Bool(b) => Value::from(b),
                    ParamDefault::Int(i) => Value::from(i),
                };
                values.insert(p.name.to_string(), d);
            }
        }
        Ok(Args {
            module,
            spec,
            values,
        })
    }

    /// The name the task used for the module.
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// Reading a parameter the spec does not declare (with a type it does not declare) is a
    /// mistake in the module: caught by the tests, which run debug builds.
    fn declared(&self, name: &str, kinds: &[Kind]) {
        if self.spec.open && self.spec.param(name).is_none() {
            return;
        }
        debug_assert!(
            self.spec
                .param(name)
                .is_some_and(|p| kinds.contains(&p.kind)),
            "module {} reads parameter {name} as {kinds:?}, which its spec does not declare",
            self.spec.name()
        );
    }

    fn take(&self, name: &str) -> Option<Value> {
        self.values.get(name).filter(|v| given(v)).cloned()
    }

    /// Replaces a parameter's value before it is read (an action resolving a value the way
    /// ansible's action plugin does before the module sees it: template's `mode=preserve`).
    pub fn replace(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_string(), value);
    }

    /// The value given for a parameter, left in place.
    pub fn peek(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// Whether a parameter's value is data rather than text the user wrote (`!unsafe`, a
    /// module's output): such a string is never a template or an expression.
    pub fn is_untrusted(&self, name: &str) -> bool {
        self.values
            .get(name)
            .is_some_and(|v| v.kind() == minijinja::value::ValueKind::String && v.is_safe())
    }

    /// A string parameter.
    pub fn str(&mut self, name: &'static str) -> Result<Option<String>, ModuleError> {
        self.declared(name, &[Kind::Str]);
        match self.take(name) {
            Some(v) => Ok(Some(to_str(name, &v)?)),
            None => Ok(None),
        }
    }

    /// A string parameter that must be there.
    pub fn required_str(&mut self, name: &'static str) -> Result<String, ModuleError> {
        self.str(name)?
            .ok_or_else(|| failed(format!("missing required arguments: {name}")))
    }

    /// A boolean parameter.
    pub fn bool(&mut self, name: &'static str) -> Result<Option<bool>, ModuleError> {
        self.declared(name, &[Kind::Bool]);
        match self.take(name) {
            Some(v) => Ok(Some(to_bool(name, &v)?)),
            None => Ok(None),
        }
    }

    /// An integer parameter.
    pub fn int(&mut self, name: &'static str) -> Result<Option<i64>, ModuleError> {
        self.declared(name, &[Kind::Int]);
        match self.take(name) {
            Some(v) => Ok(Some(to_int(name, &v)?)),
            None => Ok(None),
        }
    }

    /// A list parameter.
    pub fn list(&mut self, name: &'static str) -> Result<Option<Vec<Value>>, ModuleError> {
        self.declared(name, &[Kind::List]);
        match self.take(name) {
            Some(v) => Ok(Some(to_list(name, &v)?)),
            None => Ok(None),
        }
    }

    /// Any value, as given.
    pub fn raw(&mut self, name: &'static str) -> Option<Value> {
        self.declared(name, &[Kind::Any, Kind::Nullable]);
        self.take(name)
    }

    /// Any value as given, null included (`Some(None)`): for parameters where an explicit
    /// null differs from leaving it out (`debug: msg: null` prints null).
    pub fn raw_with_null(&mut self, name: &'static str) -> Option<Value> {
        self.declared(name, &[Kind::Nullable]);
        self.values
            .get(name)
            .filter(|v| v.as_str() != Some(crate::vars::OMIT))
            .cloned()
    }

    /// The names of the parameters that have a value.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values
            .iter()
            .filter(|(_, v)| given(v))
            .map(|(k, _)| k.as_str())
    }

    /// The result's `invocation` as AnsibleModule reports it: `module_args`, every parameter of
    /// the spec (null when not given) then any other given one, a secret's value masked.
    pub fn invocation(&self) -> Value {
        let mut args = Vars::new();
        for p in self.spec.all_params() {
            let v = match self.values.get(p.name) {
                Some(_) if p.no_log => Value::from("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"),
                Some(v) => v.clone(),
                None => Value::from(()),
            };
            args.insert(p.name.to_string(), v);
        }
        for (k, v) in &self.values {
            if !args.contains_key(k) && !k.starts_with("_ansible") {
                args.insert(k.clone(), v.clone());
            }
        }
        crate::value::map([("module_args", crate::value::from_vars(&args))])
    }

    /// All values (after aliases, conversions and defaults), for modules that take free keys
    /// (`set_fact`) or pass their arguments on (`package`).
    pub fn into_values(self) -> Vars {
        self.values
    }
}

fn failed(msg: String) -> ModuleError {
    ModuleError::Failed(msg)
}

/// Ansible's message for unknown parameters, naming the supported ones and their aliases.
fn unsupported(module: &str, spec: &Spec, unknown: &[&str]) -> String {
    let mut supported: Vec<&str> = spec
        .all_params()
        .map(|p| p.name)
        .filter(|n| !n.starts_with('_'))
        .collect();
    supported.sort();
    supported.dedup();
    let mut aliases: Vec<&str> = spec
        .all_params()
        .flat_map(|p| p.aliases.iter().copied())
        .collect();
    aliases.sort();
    aliases.dedup();
    let aliases = if aliases.is_empty() {
        String::new()
    } else {
        format!(" ({})", aliases.join(", "))
    };
    format!(
        "Unsupported parameters for ({module}) module: {}. Supported parameters include: {}{aliases}.",
        unknown.join(", "),
        supported.join(", ")
    )
}

fn check_choice(p: &Param, v: &Value) -> Result<(), ModuleError> {
    if p.kind == Kind::List {
        let items = v
            .try_iter()
            .map(|i| i.collect::<Vec<_>>())
            .unwrap_or_default();
        let bad: Vec<String> = items
            .iter()
            .map(|i| i.to_string())
            .filter(|i| !p.choices.contains(&i.as_str()))
            .collect();
        if !bad.is_empty() {
            return Err(failed(format!(
                "value of {} must be one or more of: {}. Got no match for: {}",
                p.name,
                p.choices.join(", "),
                bad.join(", ")
            )));
        }
        return Ok(());
    }
    let s = v
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string());
    if !p.choices.contains(&s.as_str()) {
        return Err(failed(format!(
            "value of {} must be one of: {}, got: {s}",
            p.name,
            p.choices.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    static DEBUG: Spec = Spec {
        names: &["debug"],
        params: &[&[
            Param::new("msg", Kind::Nullable),
            Param::str("var"),
            Param::int("verbosity").default_int(0),
        ]],
        ..Spec::BASE
    };

    static USER: Spec = Spec {
        names: &["user"],
        params: &[&[
            Param::str("name").required().aliases(&["user"]),
            Param::str("state")
                .choices(&["absent", "present"])
                .default_str("present"),
            Param::bool("append"),
            Param::list("groups"),
            Param::str("home"),
            Param::str("shell"),
        ]],
        mutually_exclusive: &[&["append", "groups"], &["home", "shell"]],
        ..Spec::BASE
    };

    static PIP: Spec = Spec {
        names: &["pip"],
        params: &[&[Param::list("name"), Param::str("requirements")]],
        required_one_of: &[&["name", "requirements"]],
        ..Spec::BASE
    };

    fn vars(pairs: &[(&str, Value)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn message(r: Result<Args, ModuleError>) -> String {
        match r {
            Err(ModuleError::Failed(m)) => m,
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("the arguments were accepted"),
        }
    }

    #[test]
    fn unknown_parameters_are_named_with_the_supported_ones() {
        let m = message(Args::parse(
            "debug",
            &DEBUG,
            vars(&[("msg", Value::from("x")), ("colour", Value::from("red"))]),
        ));
        assert_eq!(
            m,
            "Unsupported parameters for (debug) module: colour. Supported parameters include: msg, var, verbosity."
        );
    }

    #[test]
    fn aliases_are_read_under_their_name_and_listed_apart() {
        let mut args = Args::parse("user", &USER, vars(&[("user", Value::from("app"))])).unwrap();
        assert_eq!(args.str("name").unwrap().as_deref(), Some("app"));
        let m = message(Args::parse(
            "user",
            &USER,
            vars(&[("user", Value::from("app")), ("colour", Value::from("red"))]),
        ));
        assert_eq!(
            m,
            "Unsupported parameters for (user) module: colour. Supported parameters include: append, groups, home, name, shell, state (user)."
        );
    }

    #[test]
    fn values_are_converted_and_defaults_applied() {
        let mut args = Args::parse(
            "user",
            &USER,
            vars(&[("name", Value::from(42)), ("append", Value::from("yes"))]),
        )
        .unwrap();
        assert_eq!(args.str("name").unwrap().as_deref(), Some("42"));
        assert_eq!(args.bool("append").unwrap(), Some(true));
        assert_eq!(args.str("state").unwrap().as_deref(), Some("present"));
        let mut args = Args::parse(
            "user",
            &USER,
            vars(&[("name", Value::from("a")), ("groups", Value::from("x, y"))]),
        )
        .unwrap();
        assert_eq!(
            args.list("groups").unwrap().unwrap(),
            vec![Value::from("x"), Value::from("y")]
        );
        let mut args =
            Args::parse("debug", &DEBUG, vars(&[("verbosity", Value::from("2"))])).unwrap();
        assert_eq!(args.int("verbosity").unwrap(), Some(2));
        // An explicit null is kept for a nullable parameter, `omit` is not given at all.
        let mut args = Args::parse("debug", &DEBUG, vars(&[("msg", Value::from(()))])).unwrap();
        assert!(args.raw_with_null("msg").is_some_and(|v| v.is_none()));
    }

    #[test]
    fn bad_values_get_ansible_messages() {
        let m = message(Args::parse(
            "user",
            &USER,
            vars(&[("name", Value::from("a")), ("append", Value::from("maybe"))]),
        ));
        assert_eq!(
            m,
            "argument 'append' is of type str and we were unable to convert to bool"
        );
        let m = message(Args::parse(
            "debug",
            &DEBUG,
            vars(&[("verbosity", Value::from("3.5"))]),
        ));
        assert_eq!(
            m,
            "argument 'verbosity' is of type str and we were unable to convert to int: \"'3.5'\" cannot be converted to an int"
        );
        let m = message(Args::parse(
            "user",
            &USER,
            vars(&[("name", Value::from("a")), ("state", Value::from("gone"))]),
        ));
        assert_eq!(
            m,
            "value of state must be one of: absent, present, got: gone"
        );
        let m = message(Args::parse("user", &USER, Vars::new()));
        assert_eq!(m, "missing required arguments: name");
        let m = message(Args::parse("pip", &PIP, Vars::new()));
        assert_eq!(m, "one of the following is required: name, requirements");
    }

    #[test]
    fn checks_run_in_ansible_order() {
        // Mutually exclusive groups first (all of them named), then required, types, choices,
        // and unknown parameters last.
        let m = message(Args::parse(
            "user",
            &USER,
            vars(&[
                ("name", Value::from("a")),
                ("state", Value::from("gone")),
                ("append", Value::from(true)),
                ("groups", Value::from("x")),
                ("home", Value::from("/h")),
                ("shell", Value::from("/bin/sh")),
                ("colour", Value::from("red")),
            ]),
        ));
        assert_eq!(
            m,
            "parameters are mutually exclusive: append|groups, home|shell"
        );
        let m = message(Args::parse(
            "user",
            &USER,
            vars(&[
                ("state", Value::from("gone")),
                ("colour", Value::from("red")),
            ]),
        ));
        assert_eq!(m, "missing required arguments: name");
        let m = message(Args::parse(
            "user",
            &USER,
            vars(&[
                ("name", Value::from("a")),
                ("state", Value::from("gone")),
                ("colour", Value::from("red")),
            ]),
        ));
        assert_eq!(
            m,
            "value of state must be one of: absent, present, got: gone"
        );
    }

    #[test]
    fn list_choices_name_what_does_not_match() {
        static S: Spec = Spec {
            names: &["m"],
            params: &[&[Param::list("l").choices(&["a", "b"])]],
            ..Spec::BASE
        };
        let m = message(Args::parse("m", &S, vars(&[("l", Value::from("a,c"))])));
        assert_eq!(
            m,
            "value of l must be one or more of: a, b. Got no match for: c"
        );
    }
}
