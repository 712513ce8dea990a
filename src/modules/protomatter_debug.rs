//! `ansible._protomatter.debug`: the action ansible-core 2.19 ships for its own tests of
//! templating. It evaluates each expression of `expression` (a list of strings) and returns
//! their values as `expression_result`; an expression whose value is undefined is no failure
//! (ansible-core's `ReplacingMarkerBehavior`): its place holds `<< error N - why >>` and a
//! warning says why, the errors numbered across the task.

use super::{Args, Kind, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param};
use super::{Spec, spec::python_type};
use crate::connection::BoxFuture;
use crate::value::Value;
use minijinja::value::ValueKind;

pub struct ProtomatterDebug;

static SPEC: Spec = Spec {
    names: &["ansible._protomatter.debug"],
    connection: false,
    params: &[&[Param::new("expression", Kind::Any).required()]],
    ..Spec::BASE
};

impl Module for ProtomatterDebug {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            // `_check_type_list_strict` with string elements, none converted.
            let given = args.raw("expression").unwrap_or_default();
            let expressions: Vec<Value> = match given.kind() {
                ValueKind::Seq => given.try_iter().map(|it| it.collect()).unwrap_or_default(),
                _ => vec![given],
            };
            let mut results = Vec::new();
            let mut warnings = Vec::new();
            for e in &expressions {
                let Some(expr) = e.as_str().filter(|_| e.kind() == ValueKind::String) else {
                    return Err(ModuleError::Failed(format!(
                        "Elements value for option 'expression' is of type {} and we were unable to convert to _check_type_str_no_conversion: '{}' is not a string and conversion is not allowed",
                        python_type(e),
                        crate::template::filters::py_repr(e)
                    )));
                };
                match crate::template::eval_expression_or_undefined(expr, &ctx.vars) {
                    Ok(Ok(v)) => results.push(v),
                    Ok(Err(why)) => {
                        let n = warnings.len() + 1;
                        warnings.push(format!("Encountered 1 template error.\nerror {n} - {why}"));
                        results.push(Value::from(format!("<< error {n} - {why} >>")));
                    }
                    Err(e) => return Err(ModuleError::Failed(e.message)),
                }
            }
            Ok(Outcome {
                verbose_always: true,
                ..Outcome::ok()
            }
            .with("expression_result", Value::from(results))
            .with_warnings(warnings))
        })
    }
}
