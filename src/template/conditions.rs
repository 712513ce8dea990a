//! Conditionals (`when`, `changed_when`, `failed_when`, `until`, `assert: that`) as ansible-core
//! 2.19 evaluates them (`TemplateEngine.evaluate_conditional`):
//! - a boolean is itself; an absent (null) condition is true;
//! - a string is a bare expression, stripped; an empty one is an error;
//! - text that is data (`!unsafe`, a module's result) is never an expression;
//! - a string wholly inside delimiters (`"{{ x }}"`) is templated first: a string result is then
//!   the expression (an indirection ansible allows only when that text is a variable's own
//!   value as the playbook wrote it; text a template made is refused), anything else is the
//!   result itself;
//! - a quoted string constant holding a template inside the expression is rendered first
//!   (`"{{ 'hi' }}" == "hi"`, still allowed by 2.19);
//! - any other type is an error ("Conditional expressions must be strings.");
//! - the result must be a boolean.
//!
//! With `ALLOW_BROKEN_CONDITIONALS` ([`super::Settings`]) the last three rules relax, each with
//! a deprecation warning: an empty condition is true, a non-string one is templated, and a
//! non-boolean result counts for its Python truth.

use super::{
    eval_in_source, filters, is_template, prepare, render_str, render_value, settings, warnings,
};
use crate::diagnostics::{Error, ErrorKind};
use crate::value::Value;
use minijinja::value::ValueKind;

const ALLOWED: &str = "Broken conditionals are currently allowed because the \
                       `ALLOW_BROKEN_CONDITIONALS` configuration option is enabled.";
const REMOVED: &str = "This feature will be removed from ansible-core version 2.23.";

fn deprecated(msg: &str, allowed: bool) {
    let help = if allowed {
        format!(" {ALLOWED}")
    } else {
        String::new()
    };
    warnings::warn(format!("[DEPRECATION WARNING]: {msg} {REMOVED}{help}"));
}

/// A condition that is empty (or None after templating): an error, or true when allowed.
fn empty() -> Result<bool, Error> {
    if settings().allow_broken_conditionals {
        deprecated("Empty conditional expression was evaluated as True.", true);
        return Ok(true);
    }
    Err(Error::new(
        ErrorKind::Template,
        "Empty conditional expressions are not allowed.",
    ))
}

/// Whether a condition starts with a Jinja start delimiter and ends with an end delimiter.
fn all_template(s: &str) -> bool {
    ["{{", "{%", "{#"].iter().any(|m| s.starts_with(m))
        && ["}}", "%}", "#}"].iter().any(|m| s.ends_with(m))
}

/// Evaluates a condition (see the module docs).
pub fn eval_condition(cond: &Value, ctx: &Value) -> Result<bool, Error> {
    let allowed = settings().allow_broken_conditionals;
    let result = match cond.kind() {
        ValueKind::Bool => return Ok(cond.is_true()),
        ValueKind::None | ValueKind::Undefined => return Ok(true),
        ValueKind::String => {
            let text = cond.as_str().unwrap_or("").trim();
            if text.is_empty() {
                return empty();
            }
            if cond.is_safe() {
                return Err(untrusted_expression());
            }
            let mut expr = text.to_string();
            if all_template(text) {
                let templated = super::render_str(text, ctx).map_err(in_conditional)?;
                match templated.kind() {
                    ValueKind::String => {
                        let inner = templated.as_str().unwrap_or("").trim();
                        if inner.is_empty() {
                            return empty();
                        }
                        let names_variable =
                            prepare::single_expression(text).is_some_and(prepare::is_variable_path);
                        if templated.is_safe() || !names_variable {
                            return Err(untrusted_expression());
                        }
                        expr = inner.to_string();
                    }
                    ValueKind::None => return empty(),
                    _ => {
                        deprecated(
                            "Conditionals should not be surrounded by templating delimiters such as {{ }} or {% %}.",
                            false,
                        );
                        return judge(templated, text, allowed);
                    }
                }
            }
            let expr = render_constant_templates(&expr, ctx)?;
            eval_in_source(&prepare::prepare_expression(&expr, false), ctx, text)
                .map_err(in_conditional)?
        }
        _ if allowed => render_value(cond, ctx)?,
        _ => {
            return Err(Error::new(
                ErrorKind::Template,
                "Conditional expressions must be strings.",
            ));
        }
    };
    judge(result, &filters::py_str(cond), allowed)
}

fn in_conditional(mut e: Error) -> Error {
    e.message = format!("Error while evaluating conditional: {}", e.message);
    e
}

/// A condition's result: a boolean, or (when allowed) the truth of something else.
fn judge(value: Value, source: &str, allowed: bool) -> Result<bool, Error> {
    if value.kind() == ValueKind::Bool {
        return Ok(value.is_true());
    }
    let truth = value.is_true();
    let msg = format!(
        "Conditional result ({}) was derived from value of type '{}'. Conditionals must have a boolean result.",
        if truth { "True" } else { "False" },
        filters::py_type(&value)
    );
    if allowed {
        deprecated(&msg, true);
        return Ok(truth);
    }
    Err(Error::new(ErrorKind::Template, msg)
        .context(format!("while evaluating the conditional '{source}'")))
}

/// Python truthiness, with strings that spell a boolean read as Ansible's conditionals read them.
pub fn truthy(v: &Value) -> bool {
    if let Some(s) = v.as_str() {
        return !matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "false" | "no" | "off" | "0" | ""
        );
    }
    v.is_true()
}

/// An expression with each quoted string that holds a template replaced by what it renders.
fn render_constant_templates<'a>(
    expr: &'a str,
    ctx: &Value,
) -> Result<std::borrow::Cow<'a, str>, Error> {
    if !expr.contains("{{") && !expr.contains("{%") {
        return Ok(std::borrow::Cow::Borrowed(expr));
    }
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::with_capacity(expr.len());
    let mut i = 0;
    while i < chars.len() {
        let q = chars[i];
        if q != '\'' && q != '"' {
            out.push(q);
            i += 1;
            continue;
        }
        // The literal's text up to its closing quote (a backslash escapes one character).
        let mut j = i + 1;
        let mut text = String::new();
        while j < chars.len() && chars[j] != q {
            if chars[j] == '\\' && j + 1 < chars.len() {
                text.push(chars[j]);
                j += 1;
            }
            text.push(chars[j]);
            j += 1;
        }
        if j >= chars.len() {
            out.extend(&chars[i..]);
            break;
        }
        if is_template(&text) && !text.contains('\\') {
            let v = render_str(&text, ctx)?;
            out.push_str(&serde_json::Value::String(v.to_string()).to_string());
        } else {
            out.extend(&chars[i..=j]);
        }
        i = j + 1;
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// ansible-core's refusal to evaluate text that is not the playbook's as an expression.
fn untrusted_expression() -> Error {
    Error::new(
        ErrorKind::Template,
        "Encountered untrusted template or expression.",
    )
}
