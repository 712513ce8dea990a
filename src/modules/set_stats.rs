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
        Param::any("per_host"),
        Param::any("aggregate"),
    ]],
    ..Spec::BASE
};

impl Module for SetStats {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, _ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let per_host = args.raw("per_host").is_some_and(|v| lenient_bool(&v));
            let aggregate = args.raw("aggregate").is_none_or(|v| lenient_bool(&v));
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

/// ansible-core's `boolean(value, strict=False)`: its true words and numbers are true,
/// anything else false.
fn lenient_bool(v: &Value) -> bool {
    match v.kind() {
        minijinja::value::ValueKind::Bool => v.is_true(),
        minijinja::value::ValueKind::Number => v.as_i64() == Some(1) || v.to_string() == "1.0",
        _ => v.as_str().is_some_and(|s| {
            matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "y" | "yes" | "on" | "1" | "true" | "t" | "1.0"
            )
        }),
    }
}
