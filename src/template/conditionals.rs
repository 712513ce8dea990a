//! Conditions (`when`, `changed_when`, `failed_when`, `until`, assert's `that`) as
//! ansible-core 2.19 evaluates them: a bare expression with a boolean result, the playbook's own
//! text only (never data), a whole template only as an indirection to a variable's expression.

use super::*;

/// Evaluates a `when`/`changed_when`/`failed_when` condition: a bare expression (or a
/// boolean). As in ansible-core 2.19, the result must be a boolean: a string, number, list or
/// `None` result is an error, and so are an empty expression and a non-string condition.
pub fn eval_condition(cond: &Value, ctx: &Value) -> Result<bool, Error> {
    match cond.kind() {
        ValueKind::Bool => Ok(cond.is_true()),
        ValueKind::None | ValueKind::Undefined => Ok(true),
        ValueKind::String => {
            let text = cond.as_str().unwrap_or("").trim();
            if text.is_empty() {
                return Err(Error::new(
                    ErrorKind::Template,
                    "Empty conditional expressions are not allowed.",
                ));
            }
            // Text that is data (`!unsafe`, a module's result) is never an expression.
            if cond.is_safe() {
                return Err(untrusted_expression());
            }
            // Ansible accepts `when: "{{ x }}"` (with a warning): the expression is inside.
            let expr = single_expression(text).unwrap_or(text);
            let evaluate = |expr: &str| {
                eval_in_source(&prepare::prepare_expression(expr, false), ctx, text).map_err(
                    |mut e| {
                        e.message = format!("Error while evaluating conditional: {}", e.message);
                        e
                    },
                )
            };
            // A string constant holding a template is rendered first (ansible-core 2.19 still
            // does, deprecated): `"{{ 'hi' }}" == "hi"`.
            let rendered = render_constant_templates(expr, ctx)?;
            let mut value = evaluate(&rendered)?;
            // A whole template that renders text names an expression indirectly (`when: "{{
            // cond }}"` with `cond: "x == 1"`): allowed when that text is the playbook's own,
            // a variable's value as written, as ansible-core trusts it; text a template made
            // (`"{{ '1 == 1' }}"`) or data is refused.
            if expr != text && value.kind() == ValueKind::String {
                if value.is_safe() || !is_variable_path(expr) {
                    return Err(untrusted_expression());
                }
                let inner = value.as_str().unwrap_or("").trim().to_string();
                value = evaluate(&inner)?;
            }
            match value.kind() {
                ValueKind::Bool => Ok(value.is_true()),
                _ if crate::config::allow_broken_conditionals() => {
                    warnings::warn(format!(
                        "Conditional result ({}) was derived from value of type '{}'. Conditionals must have a boolean result.",
                        if value.is_true() { "True" } else { "False" },
                        filters::py_type(&value)
                    ));
                    Ok(value.is_true())
                }
                _ => Err(Error::new(
                    ErrorKind::Template,
                    format!(
                        "Conditional result ({}) was derived from value of type '{}'. Conditionals must have a boolean result.",
                        if value.is_true() { "True" } else { "False" },
                        filters::py_type(&value)
                    ),
                )
                .context(format!("while evaluating the conditional '{text}'"))),
            }
        }
        _ => Err(Error::new(
            ErrorKind::Template,
            "Conditional expressions must be strings.",
        )),
    }
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

/// Whether an expression only names a variable (`a`, `a.b`, `a['b']`, `a[0]`).
fn is_variable_path(expr: &str) -> bool {
    let e = expr.trim();
    let mut chars = e.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && e.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '\'' | '"'))
}
