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
        // Any value: debug checks it itself, converting nothing (`_check_type_str_no_conversion`).
        Param::new("var", Kind::Any),
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
            let untrusted_var = args.is_untrusted("var");
            let var = match args.raw("var") {
                Some(v) if v.kind() == minijinja::value::ValueKind::String => {
                    Some(v.as_str().unwrap_or_default().to_string())
                }
                Some(v) => {
                    return Err(super::ModuleError::Failed(format!(
                        "argument 'var' is of type {} and we were unable to convert to str: '{}' is not a string and conversion is not allowed",
                        crate::template::filters::py_type(&v),
                        crate::template::filters::py_repr(&v)
                    )));
                }
                None => None,
            };
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
                (None, Some(_)) if untrusted_var => {
                    // An expression that is data (`!unsafe`) is never evaluated.
                    return Err(super::ModuleError::Failed(
                        "Error while resolving `var` expression: Encountered untrusted template or expression.".into(),
                    ));
                }
                (None, Some(var)) => {
                    // `var` names an expression; Ansible templates it against the task's vars.
                    let expr = format!("{{{{ {var} }}}}");
                    let mut warning = None;
                    let value = match crate::template::render_str(&expr, &ctx.vars) {
                        // `omit` cannot leave out a value that is printed.
                        Ok(v) if v.as_str() == Some(crate::vars::OMIT) => {
                            warning = Some(
                                "The result of the `var` expression could not be omitted; a placeholder was used instead.".to_string(),
                            );
                            Value::from("<<Omit>>")
                        }
                        Ok(v) => v,
                        // ansible-core 2.19 shows the undefined marker's text in place, and
                        // warns about it in the result.
                        Err(e) if e.kind == crate::diagnostics::ErrorKind::Undefined => {
                            warning = Some(format!(
                                "Encountered 1 template error.\nerror 1 - {}",
                                e.message
                            ));
                            Value::from(format!("<< error 1 - {} >>", e.message))
                        }
                        Err(e) => return Err(super::ModuleError::Failed(e.message)),
                    };
                    r.rest.insert(var, value);
                    if let Some(w) = warning {
                        r = r.with_warnings(vec![w]);
                    }
                }
                (msg, None) => {
                    r.msg = Some(msg.unwrap_or_else(|| Value::from("Hello world!")));
                }
            }
            Ok(r)
        })
    }
}
