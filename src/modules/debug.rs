//! `debug`: print a message or a variable, on the controller.

use super::{Args, Kind, Module, ModuleCtx, ModuleResult, Outcome, Output, Param, Spec};
use crate::connection::BoxFuture;
use crate::value::Value;

pub struct Debug;

static SPEC: Spec = Spec {
    names: &["debug"],
    connection: false,
    output: Output::Debug,
    params: &[&[
        Param::new("msg", Kind::Nullable),
        Param::str("var"),
        Param::int("verbosity"),
    ]],
    ..Spec::BASE
};

impl Module for Debug {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let msg = args.raw_with_null("msg");
            let var = args.str("var")?;
            let verbosity = args.int("verbosity")?.unwrap_or(0);
            let mut r = Outcome {
                // Shown without -v: debug's whole point.
                verbose_always: true,
                ..Outcome::ok()
            };
            let current = ctx
                .vars
                .get_attr("ansible_verbosity")
                .ok()
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            if verbosity > current {
                return Ok(Outcome {
                    skipped: true,
                    ..Outcome::ok()
                }
                .with(
                    "skipped_reason",
                    Value::from("Verbosity threshold not met."),
                ));
            }
            match (msg, var) {
                (Some(_), Some(_)) => {
                    return Err(super::ModuleError::Failed(
                        "parameters are mutually exclusive: msg|var".into(),
                    ));
                }
                (None, Some(var)) => {
                    // `var` names an expression; Ansible templates it against the task's vars.
                    let expr = format!("{{{{ {var} }}}}");
                    let value = match crate::template::render_str(&expr, &ctx.vars) {
                        Ok(v) => v,
                        // ansible-core 2.19 shows the undefined marker's text in place.
                        Err(e)
                            if e.message.contains("is undefined")
                                || e.message.contains("has no attribute")
                                || e.message.contains("has no element") =>
                        {
                            Value::from(format!("<< error 1 - {} >>", e.message))
                        }
                        Err(e) => return Err(super::ModuleError::Failed(e.message)),
                    };
                    r.rest.insert(var, value);
                }
                (msg, None) => {
                    r.msg = Some(msg.unwrap_or_else(|| Value::from("Hello world!")));
                }
            }
            Ok(r)
        })
    }
}
