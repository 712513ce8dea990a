//! What a module returns: an [`Outcome`], typed where the executor and the output act on it
//! (changed, failed, skipped, msg, diff, facts, inventory changes), with the rest of the
//! module's return values beside it. [`Outcome::into_result`] is the one conversion to the
//! result Ansible registers and shows.

use crate::value::{self, Value, Vars};

/// A module's result.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The module changed something (for the inventory modules: the executor sets it from
    /// what applying [`Outcome::inventory`] changed).
    pub changed: bool,
    /// The task failed (with `msg` saying why).
    pub failed: bool,
    /// The module decided not to run (`command` in check mode, `debug` above its verbosity).
    pub skipped: bool,
    /// The message: text, or any value (`debug: msg:` a list).
    pub msg: Option<Value>,
    /// What changed, as the output's `--diff` shows it (one diff, or a list of them).
    pub diff: Option<Value>,
    /// Facts or variables for the host, as the spec's [`super::Facts`] says (registered under
    /// `ansible_facts`).
    pub facts: Option<Vars>,
    /// Changes to the run's inventory, which the executor applies.
    pub inventory: Vec<InventoryChange>,
    /// The result is shown without `-v` (`debug`, `assert`).
    pub verbose_always: bool,
    /// Every other return value, in the module's order.
    pub rest: Vars,
}

/// A change to the run's inventory, asked for by a module and applied by the executor.
#[derive(Debug, Clone, PartialEq)]
pub enum InventoryChange {
    /// `add_host`: the host (created if new) with these variables, in these groups (created if
    /// new).
    AddHost {
        name: String,
        groups: Vec<String>,
        vars: Vars,
    },
    /// `group_by`: `host` joins `group`, which goes under each of `parents`, all created as
    /// needed.
    AddGroup {
        host: String,
        group: String,
        parents: Vec<String>,
    },
}

impl Outcome {
    /// The outcome with the module's `invocation` (its arguments, see
    /// [`super::spec::Args::invocation`]) among its return values, unless it reports its own.
    pub fn with_invocation(mut self, invocation: Value) -> Outcome {
        if !self.rest.contains_key("invocation") {
            self.rest.insert("invocation".to_string(), invocation);
        }
        self
    }

    /// A result that changed nothing.
    pub fn ok() -> Outcome {
        Outcome::default()
    }

    /// A failed result with its message.
    pub fn failed(msg: impl Into<String>) -> Outcome {
        Outcome {
            failed: true,
            msg: Some(Value::from(msg.into())),
            ..Outcome::default()
        }
    }

    /// Adds a return value.
    pub fn with(mut self, key: &str, value: Value) -> Outcome {
        self.rest.insert(key.to_string(), value);
        self
    }

    /// Adds the warnings a module reports (`warnings`), when there are any.
    pub fn with_warnings(self, warnings: Vec<String>) -> Outcome {
        if warnings.is_empty() {
            return self;
        }
        self.with("warnings", warnings.into_iter().map(Value::from).collect())
    }

    /// The result as Ansible registers it: `changed`, the module's other values, then
    /// `diff`, `failed`, `skipped`, `msg` and `ansible_facts` when there are any.
    pub fn into_result(self) -> Vars {
        let mut r = Vars::new();
        r.insert("changed".into(), Value::from(self.changed));
        r.extend(self.rest);
        if let Some(d) = self.diff {
            r.insert("diff".into(), d);
        }
        if self.failed {
            r.insert("failed".into(), Value::from(true));
        }
        if self.skipped {
            r.insert("skipped".into(), Value::from(true));
        }
        if let Some(m) = self.msg {
            r.insert("msg".into(), m);
        }
        if let Some(f) = self.facts {
            r.insert("ansible_facts".into(), value::from_vars(&f));
        }
        if self.verbose_always {
            r.insert("_ansible_verbose_always".into(), Value::from(true));
        }
        r
    }
}

/// A result a module built as a map of return values: the values the executor and the output
/// act on are taken out into their fields (facts and inventory changes never are: a module
/// returns those typed).
impl From<Vars> for Outcome {
    fn from(mut r: Vars) -> Outcome {
        let flag = |r: &mut Vars, k: &str| r.shift_remove(k).is_some_and(|v| v.is_true());
        Outcome {
            changed: flag(&mut r, "changed"),
            failed: flag(&mut r, "failed"),
            skipped: flag(&mut r, "skipped"),
            verbose_always: flag(&mut r, "_ansible_verbose_always"),
            msg: r.shift_remove("msg"),
            diff: r.shift_remove("diff"),
            facts: None,
            inventory: Vec::new(),
            rest: r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_map_becomes_typed_and_back() {
        let mut r = Vars::new();
        r.insert("rc".into(), Value::from(2));
        r.insert("changed".into(), Value::from(true));
        r.insert("failed".into(), Value::from(true));
        r.insert("msg".into(), Value::from("non-zero return code"));
        let o = Outcome::from(r);
        assert!(o.changed && o.failed && !o.skipped);
        assert_eq!(
            o.msg.as_ref().and_then(|m| m.as_str()),
            Some("non-zero return code")
        );
        assert_eq!(o.rest.keys().collect::<Vec<_>>(), ["rc"]);
        let back = o.into_result();
        assert_eq!(
            back.keys().map(String::as_str).collect::<Vec<_>>(),
            ["changed", "rc", "failed", "msg"]
        );
    }

    #[test]
    fn facts_and_flags_are_registered_as_ansible_shows_them() {
        let mut facts = Vars::new();
        facts.insert("x".into(), Value::from(1));
        let o = Outcome {
            facts: Some(facts),
            verbose_always: true,
            ..Outcome::ok()
        };
        let r = o.into_result();
        assert_eq!(r["changed"], Value::from(false));
        assert_eq!(r["ansible_facts"].get_attr("x").unwrap(), Value::from(1));
        assert!(r["_ansible_verbose_always"].is_true());
        assert!(!r.contains_key("failed") && !r.contains_key("msg"));
    }

    #[test]
    fn false_flags_from_a_map_are_not_registered() {
        let mut r = Vars::new();
        r.insert("changed".into(), Value::from(false));
        r.insert("skipped".into(), Value::from(false));
        let back = Outcome::from(r).into_result();
        assert_eq!(back.keys().collect::<Vec<_>>(), ["changed"]);
    }
}
