//! `ping`: a round trip to the host and back.

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec};
use crate::connection::BoxFuture;
use crate::value::Value;

pub struct Ping;

static SPEC: Spec = Spec {
    names: &["ping"],
    params: &[&[Param::str("data").default_str("pong")]],
    ..Spec::BASE
};

impl Module for Ping {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let data = args.required_str("data")?;
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
            Ok(Outcome::ok().with("ping", Value::from(data)))
        })
    }
}
