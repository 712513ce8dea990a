//! Best-effort templating of a task's name for its banner, as ansible-core 2.19 does it
//! (`Task._post_validate_name` with a `ReplacingMarkerBehavior`).
//!
//! The name is templated with the variables of the first host the task runs on. What cannot
//! be templated does not fail the task: each failure becomes `<< error N - MESSAGE >>` in the
//! name, and the errors are reported as one warning ("Encountered N template errors."). An
//! expression whose value is undefined (a missing variable, a failed lookup) is replaced and
//! the rest of the name goes on; an error raised while rendering (a division by zero, an
//! undefined value used in an operation) stops the rendering, and what follows is lost, which
//! a second marker says ("template potentially truncated"). A name that does not compile is
//! one marker.

use super::{chainable_env, convert_error_in, enter_context, env, is_chain_error, prepare};
use crate::value::Value;

/// What a name became, and the warning about what could not be templated (if anything).
pub struct Banner {
    /// (The caller knows `omit`'s placeholder: a name that is only that is no name.)
    pub name: Option<String>,
    pub warning: Option<String>,
}

enum Segment {
    Text(String),
    Expr(String),
}

/// Splits a template into text and `{{ }}` expressions; `None` when it has statements or
/// comments (`{% %}`, `{# #}`), which are rendered as a whole.
fn segments(s: &str) -> Option<Vec<Segment>> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        let two = (chars[i], chars.get(i + 1).copied());
        match two {
            ('{', Some('%' | '#')) => return None,
            ('{', Some('{')) => {
                let mut j = i + 2;
                let mut depth = 0usize;
                let end = loop {
                    let c = *chars.get(j)?;
                    if c == '\'' || c == '"' {
                        j += 1;
                        while j < chars.len() && chars[j] != c {
                            j += if chars[j] == '\\' { 2 } else { 1 };
                        }
                    } else if c == '{' {
                        depth += 1;
                    } else if c == '}' {
                        if depth > 0 {
                            depth -= 1;
                        } else if chars.get(j + 1) == Some(&'}') {
                            break j;
                        }
                    }
                    j += 1;
                };
                if !text.is_empty() {
                    out.push(Segment::Text(std::mem::take(&mut text)));
                }
                let inner: String = chars[i + 2..end].iter().collect();
                let inner = inner.strip_prefix('-').unwrap_or(&inner);
                let inner = inner.strip_suffix('-').unwrap_or(inner);
                out.push(Segment::Expr(inner.trim().to_string()));
                i = end + 2;
            }
            _ => {
                text.push(chars[i]);
                i += 1;
            }
        }
    }
    if !text.is_empty() {
        out.push(Segment::Text(text));
    }
    Some(out)
}

/// The outcome of one expression of a name.
enum Outcome {
    Value(Value),
    /// Undefined (or a failed lookup): replaced, and rendering goes on.
    Marker(String),
    /// Raised while rendering: replaced, and rendering stops.
    Raised(String),
    /// An unknown filter or test, which Jinja finds when it compiles: the whole name is lost.
    Syntax(String),
}

fn evaluate(expr: &str, ctx: &Value) -> Outcome {
    let prepared = prepare::prepare_expression(expr, true);
    let eval = |env: &'static minijinja::Environment<'static>| {
        env.compile_expression(&prepared)
            .and_then(|c| c.eval(ctx.clone()))
    };
    let result = match eval(env()) {
        Err(e) if is_chain_error(&e) => eval(chainable_env()),
        other => other,
    };
    match result {
        Ok(v) if v.is_undefined() => Outcome::Marker(super::describe_undefined(expr, ctx)),
        Ok(v) if super::contains_undefined(&v) => {
            Outcome::Marker(super::first_undefined_name(&prepared, ctx))
        }
        Ok(v) => Outcome::Value(v),
        // An undefined value goes through lookups of attributes, filters and tests as a
        // marker; an operator on it raises.
        Err(e) if e.kind() == minijinja::ErrorKind::UndefinedError && !has_operator(expr) => {
            Outcome::Marker(convert_error_in(e, "", ctx).message)
        }
        Err(e) if e.kind() == minijinja::ErrorKind::UnknownFilter => Outcome::Syntax(format!(
            "Syntax error in template: No filter named '{}'.",
            unknown_name(&e)
        )),
        Err(e) if e.kind() == minijinja::ErrorKind::UnknownTest => Outcome::Syntax(format!(
            "Syntax error in template: No test named '{}'.",
            unknown_name(&e)
        )),
        // A lookup that fails yields a marker too.
        Err(e) if e.detail().is_some_and(|d| d.contains("lookup plugin")) => {
            Outcome::Marker(e.detail().unwrap_or_default().to_string())
        }
        Err(e) => Outcome::Raised(convert_error_in(e, "", ctx).message),
    }
}

/// The name in minijinja's "filter X is unknown".
fn unknown_name(e: &minijinja::Error) -> String {
    let d = e.detail().unwrap_or_default();
    d.split_whitespace().nth(1).unwrap_or(d).to_string()
}

/// Whether an expression applies an operator at its top level (outside strings and brackets).
fn has_operator(expr: &str) -> bool {
    let chars: Vec<char> = expr.chars().collect();
    let mut depth = 0usize;
    let mut word = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
        } else if "([{".contains(c) {
            depth += 1;
        } else if ")]}".contains(c) {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && "~+-*/%<>=!".contains(c) {
            return true;
        }
        if depth == 0 && (c.is_alphanumeric() || c == '_') {
            word.push(c);
        } else {
            if matches!(word.as_str(), "and" | "or" | "in" | "if" | "not") {
                return true;
            }
            word.clear();
        }
        i += 1;
    }
    matches!(word.as_str(), "and" | "or" | "in" | "if" | "not")
}

/// Templates a task name for its banner (see the module docs).
pub fn render_name(name: &str, ctx: &Value) -> Banner {
    if !super::is_template(name) {
        return Banner {
            name: Some(name.to_string()),
            warning: None,
        };
    }
    let _guard = enter_context(ctx);
    let mut errors: Vec<String> = Vec::new();
    let mut out = String::new();
    // A name that does not compile is one marker.
    if let Err(e) = env().template_from_str(&prepare::prepare_template(name)) {
        let message = convert_error_in(e, "", ctx).message;
        return Banner {
            name: Some(marker(1, Some(&message))),
            warning: Some(format!(
                "Encountered 1 template error.\nerror 1 - {message}"
            )),
        };
    }
    match segments(name) {
        Some(parts) => {
            let outcomes: Vec<(Segment, Option<Outcome>)> = parts
                .into_iter()
                .map(|p| match &p {
                    Segment::Expr(e) => {
                        let o = evaluate(e, ctx);
                        (p, Some(o))
                    }
                    Segment::Text(_) => (p, None),
                })
                .collect();
            if let Some(Outcome::Syntax(m)) = outcomes
                .iter()
                .find_map(|(_, o)| o.as_ref().filter(|o| matches!(o, Outcome::Syntax(_))))
            {
                return Banner {
                    name: Some(marker(1, Some(m))),
                    warning: Some(format!("Encountered 1 template error.\nerror 1 - {m}")),
                };
            }
            for (part, outcome) in outcomes {
                match (part, outcome) {
                    (Segment::Text(t), _) => out.push_str(&t),
                    (Segment::Expr(_), None) => {}
                    (Segment::Expr(_), Some(o)) => match o {
                        Outcome::Value(v) => out.push_str(&super::filters::py_str(&v)),
                        Outcome::Marker(m) => {
                            errors.push(m);
                            out.push_str(&marker(errors.len(), errors.last()));
                        }
                        Outcome::Raised(m) | Outcome::Syntax(m) => {
                            errors.push(m);
                            out.push_str(&marker(errors.len(), errors.last()));
                            truncated(&mut errors, &mut out);
                            break;
                        }
                    },
                }
            }
        }
        // Statements: rendered as a whole; what was output before an error is kept.
        None => {
            let prepared = prepare::prepare_template(name);
            let render = |env: &'static minijinja::Environment<'static>, buf: &mut Vec<u8>| {
                env.template_from_str(&prepared)
                    .and_then(|t| t.render_captured_to(ctx.clone(), &mut *buf).map(|_| ()))
            };
            let mut buf = Vec::new();
            let mut result = render(env(), &mut buf);
            if matches!(&result, Err(e) if is_chain_error(e)) {
                buf.clear();
                result = render(chainable_env(), &mut buf);
            }
            out = String::from_utf8_lossy(&buf).into_owned();
            if let Err(e) = result {
                errors.push(convert_error_in(e, "", ctx).message);
                out.push_str(&marker(errors.len(), errors.last()));
                truncated(&mut errors, &mut out);
            }
        }
    }
    let warning = (!errors.is_empty()).then(|| {
        let mut w = format!(
            "Encountered {} template error{}.",
            errors.len(),
            if errors.len() > 1 { "s" } else { "" }
        );
        for (i, e) in errors.iter().enumerate() {
            w.push_str(&format!("\nerror {} - {e}", i + 1));
        }
        w
    });
    Banner {
        name: Some(out),
        warning,
    }
}

fn marker(number: usize, message: Option<&String>) -> String {
    format!(
        "<< error {number} - {} >>",
        message.map_or("", String::as_str)
    )
}

fn truncated(errors: &mut Vec<String>, out: &mut String) {
    errors.push("template potentially truncated".to_string());
    out.push_str(&marker(errors.len(), errors.last()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Value {
        crate::value::map([("hv", Value::from("HV"))])
    }

    #[test]
    fn undefined_parts_become_markers_and_errors_truncate() {
        let b = render_name("a {{ hv }} {{ nope }} {{ nope | default('d') }}", &ctx());
        assert_eq!(
            b.name.as_deref(),
            Some("a HV << error 1 - 'nope' is undefined >> d")
        );
        assert!(
            b.warning
                .unwrap()
                .starts_with("Encountered 1 template error.\n")
        );
        let b = render_name("a {{ 1/0 }} b {{ nope }}", &ctx());
        let name = b.name.unwrap();
        assert!(name.starts_with("a << error 1 - "), "{name}");
        assert!(
            name.ends_with("<< error 2 - template potentially truncated >>"),
            "{name}"
        );
        assert_eq!(render_name("plain", &ctx()).name.as_deref(), Some("plain"));
    }
}
