//! `set_fact`: variables for the host, set on the controller.

use super::{Args, Facts, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec};
use crate::connection::BoxFuture;
use crate::value::Value;

pub struct SetFact;

/// The result key that says the facts are cacheable (hidden from output like every
/// `_ansible_` key; taken out before the result is registered).
pub const CACHEABLE: &str = "_ansible_facts_cacheable";

static SPEC: Spec = Spec {
    names: &["set_fact"],
    connection: false,
    facts: Facts::Variables,
    // Any name is a variable to set.
    open: true,
    params: &[&[Param::any("cacheable")]],
    ..Spec::BASE
};

impl Module for SetFact {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, _ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let mut facts = args.into_values();
            let cacheable = facts.shift_remove("cacheable").is_some_and(|v| {
                v.as_str().map_or_else(
                    || crate::template::truthy(&v),
                    |s| {
                        matches!(
                            s.to_ascii_lowercase().as_str(),
                            "yes" | "on" | "1" | "true" | "y" | "t"
                        )
                    },
                )
            });
            if facts.is_empty() {
                return Err(ModuleError::Failed(
                    "No key/value pairs provided, at least one is required for this action to succeed".into(),
                ));
            }
            let mut outcome = Outcome {
                facts: Some(facts),
                ..Outcome::ok()
            };
            // The executor also keeps cacheable facts as host facts, in the fact cache
            // (ansible-core's `_ansible_facts_cacheable`).
            outcome
                .rest
                .insert(CACHEABLE.into(), Value::from(cacheable));
            Ok(outcome)
        })
    }
}
