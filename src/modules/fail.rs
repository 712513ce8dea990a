//! `fail`: fails the task with a message, on the controller.

use super::{Args, Module, ModuleCtx, ModuleResult, Outcome, Param, Spec};
use crate::connection::BoxFuture;
use crate::value::Value;

pub struct Fail;

static SPEC: Spec = Spec {
    names: &["fail"],
    connection: false,
    params: &[&[Param::any("msg")]],
    ..Spec::BASE
};

impl Module for Fail {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, _ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let msg = args
                .raw("msg")
                .unwrap_or_else(|| Value::from("Failed as requested from task"));
            Ok(Outcome {
                failed: true,
                msg: Some(msg),
                ..Outcome::ok()
            })
        })
    }
}
