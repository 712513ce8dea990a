//! `assert`: checks conditions on the controller.

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec};
use crate::connection::BoxFuture;
use crate::value::Value;

pub struct Assert;

static SPEC: Spec = Spec {
    names: &["assert"],
    connection: false,
    params: &[&[
        Param::any("that").required(),
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
                None => {
                    return Err(ModuleError::Failed(
                        "missing required arguments: that".into(),
                    ));
                }
            };
            let fail_msg = args.raw("fail_msg").or_else(|| args.raw("msg"));
            let success_msg = args.raw("success_msg");
            let quiet = args.bool("quiet")?.unwrap_or(false);
            for cond in &that {
                let ok = crate::template::eval_condition(cond, &ctx.vars)
                    .map_err(|e| ModuleError::Failed(e.message))?;
                if !ok {
                    return Ok(Outcome {
                        failed: true,
                        msg: Some(fail_msg.unwrap_or_else(|| Value::from("Assertion failed"))),
                        verbose_always: !quiet,
                        ..Outcome::ok()
                    }
                    .with("assertion", cond.clone())
                    .with("evaluated_to", Value::from(false)));
                }
            }
            Ok(Outcome {
                msg: (!quiet)
                    .then(|| success_msg.unwrap_or_else(|| Value::from("All assertions passed"))),
                verbose_always: !quiet,
                ..Outcome::ok()
            })
        })
    }
}
