//! `set_stats`: custom statistics for the run, set on the controller. The module only checks
//! and returns them (`ansible_stats: {data, per_host, aggregate}`, as ansible-core's action
//! does); adding them up across hosts and tasks, and showing them after the recap
//! (`show_custom_stats`), is the output's (`crate::output::custom_stats`).

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec};
use crate::connection::BoxFuture;
use crate::value::{self, Value};

pub struct SetStats;

static SPEC: Spec = Spec {
    names: &["set_stats"],
    connection: false,
    params: &[&[
        Param::any("data"),
        Param::bool("per_host").default_bool(false),
        Param::bool("aggregate").default_bool(true),
    ]],
    ..Spec::BASE
};

impl Module for SetStats {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, _ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let per_host = args.bool("per_host")?.unwrap_or(false);
            let aggregate = args.bool("aggregate")?.unwrap_or(true);
            let data = args
                .raw("data")
                .unwrap_or_else(|| value::map(Vec::<(String, Value)>::new()));
            if data.kind() != minijinja::value::ValueKind::Map {
                return Err(ModuleError::Failed(
                    "The 'data' option needs to be a dictionary/hash".into(),
                ));
            }
            let mut pairs = Vec::new();
            for key in data.try_iter().into_iter().flatten() {
                let name = key.as_str().map(str::to_string);
                match name {
                    Some(n) if crate::playbook::load::is_variable_name(&n) => {
                        pairs.push((n, data.get_item(&key).unwrap_or_default()));
                    }
                    _ => {
                        return Err(ModuleError::Failed(format!(
                            "Invalid variable name '{key}'. Variable names must be strings \
                             starting with a letter or underscore character, and contain only \
                             letters, numbers and underscores."
                        )));
                    }
                }
            }
            let stats = value::map([
                ("data", value::map(pairs)),
                ("per_host", Value::from(per_host)),
                ("aggregate", Value::from(aggregate)),
            ]);
            let mut outcome = Outcome::ok();
            outcome.rest.insert("ansible_stats".into(), stats);
            Ok(outcome)
        })
    }
}
