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
            let msg = args.raw("msg");
            let var = args.str("var")?;
            let _verbosity = args.int("verbosity")?;
            args.finish()?;
            let mut r = Vars::new();
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
                        Err(e) if e.message.contains("is undefined") => {
                            Value::from("VARIABLE IS NOT DEFINED!")
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
            Ok(r)
        })
    }
}
