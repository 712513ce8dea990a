//! `debug`: print a message or a variable, on the controller.

use super::{Args, Module, ModuleCtx, ModuleResult};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};

pub struct Debug;

impl Module for Debug {
    fn needs_connection(&self) -> bool {
        false
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let msg = args.raw_with_null("msg");
            let var = args.str("var")?;
            let verbosity = args.int("verbosity")?.unwrap_or(0);
            args.finish()?;
            let mut r = Vars::new();
            let current = ctx
                .vars
                .get_attr("ansible_verbosity")
                .ok()
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            if verbosity > current {
                r.insert(
                    "skipped_reason".into(),
                    Value::from("Verbosity threshold not met."),
                );
                r.insert("skipped".into(), Value::from(true));
                r.insert("changed".into(), Value::from(false));
                return Ok(r);
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
                                || e.message.contains("has no attribute") =>
                        {
                            Value::from(format!("<< error 1 - {} >>", e.message))
                        }
                        Err(e) => return Err(super::ModuleError::Failed(e.message)),
                    };
                    r.insert(var, value);
                }
                (msg, None) => {
                    r.insert(
                        "msg".into(),
                        msg.unwrap_or_else(|| Value::from("Hello world!")),
                    );
                }
            }
            r.insert("changed".into(), Value::from(false));
            // Shown without -v: debug's whole point.
            r.insert("_ansible_verbose_always".into(), Value::from(true));
            Ok(r)
        })
    }
}
