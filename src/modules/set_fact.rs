//! `set_fact`: variables for the host, set on the controller.

use super::{Args, Facts, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec};
use crate::connection::BoxFuture;

pub struct SetFact;

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
            facts.shift_remove("cacheable");
            if facts.is_empty() {
                return Err(ModuleError::Failed(
                    "No key/value pairs provided, at least one is required for this action to succeed".into(),
                ));
            }
            Ok(Outcome {
                facts: Some(facts),
                ..Outcome::ok()
            })
        })
    }
}
