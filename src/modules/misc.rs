//! Small modules: `set_fact`, `fail`, `assert` (controller only) and `ping` (a round trip to the
//! host and back).

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};

pub struct SetFact;
pub struct Fail;
pub struct Assert;
pub struct Ping;

impl Module for SetFact {
    fn needs_connection(&self) -> bool {
        false
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
            let mut r = Vars::new();
            r.insert("ansible_facts".into(), value::from_vars(&facts));
            r.insert("changed".into(), Value::from(false));
            Ok(r)
        })
    }
}

impl Module for Fail {
    fn needs_connection(&self) -> bool {
        false
    }

    fn run<'a>(&'a self, mut args: Args, _ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let msg = args
                .raw("msg")
                .unwrap_or_else(|| Value::from("Failed as requested from task"));
            args.finish()?;
            Ok(super::result([
                ("failed", Value::from(true)),
                ("changed", Value::from(false)),
                ("msg", msg),
            ]))
        })
    }
}

impl Module for Assert {
    fn needs_connection(&self) -> bool {
        false
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let that = args
                .list("that")?
                .ok_or_else(|| ModuleError::Failed("missing required arguments: that".into()))?;
            let fail_msg = args.raw("fail_msg").or_else(|| args.raw("msg"));
            let success_msg = args.raw("success_msg");
            let quiet = args.bool("quiet")?.unwrap_or(false);
            args.finish()?;
            for cond in &that {
                let ok = crate::template::eval_condition(cond, &ctx.vars)
                    .map_err(|e| ModuleError::Failed(e.message))?;
                if !ok {
                    let mut r = Vars::new();
                    r.insert("assertion".into(), cond.clone());
                    r.insert("changed".into(), Value::from(false));
                    r.insert("evaluated_to".into(), Value::from(false));
                    r.insert("failed".into(), Value::from(true));
                    r.insert(
                        "msg".into(),
                        fail_msg.unwrap_or_else(|| Value::from("Assertion failed")),
                    );
                    return Ok(r);
                }
            }
            let mut r = Vars::new();
            r.insert("changed".into(), Value::from(false));
            if !quiet {
                r.insert(
                    "msg".into(),
                    success_msg.unwrap_or_else(|| Value::from("All assertions passed")),
                );
            }
            Ok(r)
        })
    }
}

impl Module for Ping {
    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let data = args.str("data")?.unwrap_or_else(|| "pong".to_string());
            args.finish()?;
            if data == "crash" {
                return Err(ModuleError::Failed("boom".into()));
            }
            let out = ctx.exec("echo pong", None).await?;
            if out.rc != Some(0) {
                return Err(ModuleError::Failed(format!(
                    "the host could not run a shell command: {}",
                    super::text(&out.stderr).trim()
                )));
            }
            Ok(super::result([
                ("changed", Value::from(false)),
                ("ping", Value::from(data)),
            ]))
        })
    }
}
