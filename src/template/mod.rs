//! Jinja as Ansible has it.
//!
//! This module owns the one minijinja [`Environment`] of a run (with Ansible's filters and tests
//! from [`filters`]) and Ansible's rules for applying it: a string with no Jinja in it is left as
//! it is; a string that is one `{{ expression }}` yields the expression's own value (a list stays
//! a list, a number a number); anything else renders to a string; `when` is a bare expression;
//! lists and mappings are templated item by item. Errors become [`Error`]s that name what was
//! undefined.

pub mod filters;

use crate::diagnostics::{Error, ErrorKind};
use crate::value::Value;
use minijinja::value::ValueKind;
use minijinja::{Environment, UndefinedBehavior};
use std::sync::OnceLock;

/// The shared, immutable environment: Ansible's filters, tests and syntax options.
pub fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_debug(true);
        // Ansible renders with trim_blocks on and keeps the trailing newline of a template file
        // when it has one (the template module's defaults).
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid");
        env.set_syntax(syntax);
        env.set_formatter(python_formatter);
        filters::register(&mut env);
        env
    })
}

/// Prints values the way Jinja under Python does: `True`, `None`, `['a', 1]`.
fn python_formatter(
    out: &mut minijinja::Output,
    _state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    let text = match value.kind() {
        ValueKind::String => {
            return out
                .write_str(value.as_str().unwrap_or(""))
                .map_err(write_err);
        }
        // Ansible 2.19 prints a bare None as nothing (inside a list it is still `None`).
        ValueKind::Undefined | ValueKind::None => return Ok(()),
        ValueKind::Bool | ValueKind::Seq | ValueKind::Map => {
            crate::value::python_repr(&crate::value::to_json(value))
        }
        ValueKind::Number if value.as_i64().is_none() => match f64::try_from(value.clone()) {
            Ok(f) => crate::value::python_float(f),
            Err(_) => value.to_string(),
        },
        _ => value.to_string(),
    };
    out.write_str(&text).map_err(write_err)
}

fn write_err(_: std::fmt::Error) -> minijinja::Error {
    minijinja::Error::new(
        minijinja::ErrorKind::WriteFailure,
        "cannot write the output",
    )
}

/// Whether a string has any Jinja in it at all.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// If the whole string is a single `{{ expression }}`, the expression.
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim().trim_start_matches('-').trim_end_matches('-'))
}

/// Templates a string the way Ansible does. `ctx` is the variable scope.
pub fn render_str(s: &str, ctx: &Value) -> Result<Value, Error> {
    if !is_template(s) {
        return Ok(Value::from(s));
    }
    if let Some(expr) = single_expression(s) {
        let compiled = env()
            .compile_expression(expr)
            .map_err(|e| convert_error(e, s))?;
        let value = compiled
            .eval(ctx.clone())
            .map_err(|e| convert_error(e, s))?;
        if value.is_undefined() {
            return Err(undefined_error(expr, s));
        }
        return Ok(value);
    }
    env()
        .render_str(s, ctx.clone())
        .map(Value::from)
        .map_err(|e| convert_error(e, s))
}

/// Templates a string to a string: file templates and places where only text makes sense.
pub fn render_text(s: &str, ctx: &Value) -> Result<String, Error> {
    if !is_template(s) {
        return Ok(s.to_string());
    }
    env()
        .render_str(s, ctx.clone())
        .map_err(|e| convert_error(e, s))
}

/// Whether a value is plain data (a list or mapping built from YAML, JSON or a filter) as opposed
/// to a live object such as a variable scope or `hostvars`, which templating must not walk into.
fn is_plain(v: &Value) -> bool {
    v.downcast_object_ref::<Vec<Value>>().is_some()
        || v.downcast_object_ref::<indexmap::IndexMap<Value, Value>>()
            .is_some()
}

/// Templates every string inside a value; `!unsafe` strings (marked safe) are left alone.
pub fn render_value(v: &Value, ctx: &Value) -> Result<Value, Error> {
    match v.kind() {
        ValueKind::String if !v.is_safe() => render_str(v.as_str().unwrap_or(""), ctx),
        ValueKind::Seq | ValueKind::Map if !is_plain(v) => Ok(v.clone()),
        ValueKind::Seq => {
            if !needs_templating(v) {
                return Ok(v.clone());
            }
            let items: Result<Vec<Value>, Error> = v
                .try_iter()
                .map_err(|e| convert_error(e, ""))?
                .map(|item| render_value(&item, ctx))
                .collect();
            Ok(Value::from(items?))
        }
        ValueKind::Map => {
            if !needs_templating(v) {
                return Ok(v.clone());
            }
            let mut pairs = Vec::new();
            for k in v.try_iter().map_err(|e| convert_error(e, ""))? {
                let item = v.get_item(&k).unwrap_or_default();
                let key = match k.as_str() {
                    Some(s) if is_template(s) => render_str(s, ctx)?,
                    _ => k,
                };
                pairs.push((key, render_value(&item, ctx)?));
            }
            Ok(crate::value::map(pairs))
        }
        _ => Ok(v.clone()),
    }
}

/// Whether any string inside a value has Jinja in it.
pub fn needs_templating(v: &Value) -> bool {
    match v.kind() {
        ValueKind::String => !v.is_safe() && v.as_str().is_some_and(is_template),
        ValueKind::Seq | ValueKind::Map if !is_plain(v) => false,
        ValueKind::Seq => v
            .try_iter()
            .map(|mut it| it.any(|i| needs_templating(&i)))
            .unwrap_or(false),
        ValueKind::Map => v
            .try_iter()
            .map(|mut it| {
                it.any(|k| {
                    needs_templating(&k) || needs_templating(&v.get_item(&k).unwrap_or_default())
                })
            })
            .unwrap_or(false),
        _ => false,
    }
}

/// Evaluates a `when`/`changed_when`/`failed_when` condition: a bare expression, or a boolean.
pub fn eval_condition(cond: &Value, ctx: &Value) -> Result<bool, Error> {
    match cond.kind() {
        ValueKind::Bool => Ok(cond.is_true()),
        ValueKind::None | ValueKind::Undefined => Ok(true),
        ValueKind::String => {
            let text = cond.as_str().unwrap_or("").trim();
            // Ansible accepts `when: "{{ x }}"` (with a warning): the expression is inside.
            let expr = single_expression(text).unwrap_or(text);
            let compiled = env()
                .compile_expression(expr)
                .map_err(|e| convert_error(e, text))?;
            let value = compiled
                .eval(ctx.clone())
                .map_err(|e| convert_error(e, text))?;
            if value.is_undefined() {
                return Err(undefined_error(expr, text));
            }
            Ok(truthy(&value))
        }
        _ => Ok(truthy(cond)),
    }
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

fn undefined_error(expr: &str, source: &str) -> Error {
    Error::new(ErrorKind::Template, format!("'{expr}' is undefined"))
        .context(format!("while templating '{source}'"))
}

/// Turns a minijinja error into baton's, naming the undefined expression where there is one.
pub fn convert_error(e: minijinja::Error, source: &str) -> Error {
    use minijinja::ErrorKind as K;
    let what = e
        .range()
        .and_then(|r| e.template_source().and_then(|s| s.get(r)))
        .map(str::to_string);
    let message = match (e.kind(), &what) {
        (K::UndefinedError, Some(expr)) => format!("'{expr}' is undefined"),
        (K::UnknownFilter, _) => {
            format!("template error: {}", e.detail().unwrap_or("unknown filter"))
        }
        (K::UnknownTest, _) => format!("template error: {}", e.detail().unwrap_or("unknown test")),
        (K::SyntaxError, _) => format!(
            "template syntax error: {}",
            e.detail().unwrap_or("invalid syntax")
        ),
        _ => match (e.detail(), &what) {
            (Some(d), Some(w)) => format!("{} in '{w}': {d}", kind_text(e.kind())),
            (Some(d), None) => format!("{}: {d}", kind_text(e.kind())),
            (None, _) => e.kind().to_string(),
        },
    };
    let mut err = Error::new(ErrorKind::Template, message);
    if !source.is_empty() {
        err = err.context(format!("while templating '{source}'"));
    }
    err
}

fn kind_text(kind: minijinja::ErrorKind) -> String {
    kind.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::map;

    fn ctx() -> Value {
        map([
            ("n", Value::from(3)),
            (
                "items",
                Value::from(vec![Value::from("a"), Value::from("b")]),
            ),
            ("name", Value::from("web")),
        ])
    }

    #[test]
    fn single_expressions_keep_their_type() {
        assert_eq!(render_str("{{ n + 1 }}", &ctx()).unwrap().as_i64(), Some(4));
        assert_eq!(render_str("{{ items }}", &ctx()).unwrap().len(), Some(2));
        assert_eq!(
            render_str("host-{{ name }}", &ctx()).unwrap().as_str(),
            Some("host-web")
        );
        assert_eq!(render_str("plain", &ctx()).unwrap().as_str(), Some("plain"));
    }

    #[test]
    fn undefined_names_are_named() {
        let err = render_str("{{ missing }}", &ctx()).unwrap_err();
        assert!(err.message.contains("'missing' is undefined"), "{err}");
        let err = render_str("x {{ name.nope.deeper }} y", &ctx()).unwrap_err();
        assert!(err.message.contains("undefined"), "{err}");
    }

    #[test]
    fn conditions_are_bare_expressions() {
        assert!(eval_condition(&Value::from("n > 2"), &ctx()).unwrap());
        assert!(!eval_condition(&Value::from("'no' | bool"), &ctx()).unwrap());
        assert!(eval_condition(&Value::from("missing is not defined"), &ctx()).unwrap());
    }
}
