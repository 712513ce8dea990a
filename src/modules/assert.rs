//! `assert`: checks conditions on the controller.

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec};
use crate::connection::BoxFuture;
use crate::value::Value;

pub struct Assert;

static SPEC: Spec = Spec {
    names: &["assert"],
    connection: false,
    params: &[&[
        // Required as ansible-core requires it: present, even if null (checked in `run`).
        Param::any("that"),
        Param::any("fail_msg"),
        Param::any("msg"),
        Param::any("success_msg"),
        Param::bool("quiet"),
    ]],
    ..Spec::BASE
};

impl Module for Assert {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            // Ansible's _check_type_list_strict: a string is one condition, never split on
            // commas (`that: x in ['a', 'b']`).
            let that = match args.raw("that") {
                Some(v) if v.kind() == minijinja::value::ValueKind::String => vec![v],
                Some(v) => super::spec::to_list("that", &v)?,
                // `that:` with nothing after it is one empty condition (ansible-core's
                // `_check_type_list_strict(None)`), an error of its own.
                None if args.peek("that").is_some_and(|v| v.is_none()) => {
                    return Err(ModuleError::Failed(
                        "Empty conditional expressions are not allowed.".into(),
                    ));
                }
                None => {
                    return Err(ModuleError::Failed(
                        "missing required arguments: that".into(),
                    ));
                }
            };
            let fail_msg = args.raw("fail_msg").or_else(|| args.raw("msg"));
            let success_msg = args.raw("success_msg");
            let quiet = args.bool("quiet")?.unwrap_or(false);
            let mut deprecations = Vec::new();
            for cond in &that {
                let (ok, found) = crate::template::with_deprecations(|| {
                    crate::template::eval_condition(cond, &ctx.vars)
                });
                deprecations.extend(found);
                let ok = ok.map_err(|e| ModuleError::Failed(e.message))?;
                if !ok {
                    return Ok(with_deprecations(
                        Outcome {
                            failed: true,
                            msg: Some(fail_msg.unwrap_or_else(|| Value::from("Assertion failed"))),
                            verbose_always: !quiet,
                            ..Outcome::ok()
                        }
                        .with("assertion", cond.clone())
                        .with("evaluated_to", Value::from(false)),
                        deprecations,
                    ));
                }
            }
            Ok(with_deprecations(
                Outcome {
                    msg: (!quiet).then(|| {
                        success_msg.unwrap_or_else(|| Value::from("All assertions passed"))
                    }),
                    verbose_always: !quiet,
                    ..Outcome::ok()
                },
                deprecations,
            ))
        })
    }
}

/// The result with the deprecations its conditions raised, as ansible-core registers them.
fn with_deprecations(outcome: Outcome, deprecations: Vec<Value>) -> Outcome {
    if deprecations.is_empty() {
        return outcome;
    }
    outcome.with("deprecations", Value::from(deprecations))
}
