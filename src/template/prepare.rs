//! What Ansible does to a template's text before Jinja compiles it.
//!
//! - Backslashes in string literals inside `{{ }}` are taken literally (ansible-core's
//!   `AnsibleLexer` escapes them): task values come from YAML, which has already processed
//!   escapes, so `regex_replace('(a)', '\\1')` in a double-quoted YAML string means the
//!   backreference `\1`, not the character U+0001. Literals in `{% %}`, conditionals and template
//!   files keep Jinja's escapes.
//! - Python's `'format' % args` on a string literal, which Jinja under Python supports and
//!   minijinja does not, becomes the equivalent `format` filter call.
//! - Whether a value is a single `{{ expression }}` (which keeps its type) is decided by Jinja's
//!   tokens, so `{{ {'a': {'b': 1}} }}` is one expression although it contains `}}`.

use std::borrow::Cow;

/// Reads a Jinja string literal starting at `chars[i]` (a quote); returns its raw inner text and
/// the index after the closing quote. A backslash escapes the next character, as in Jinja's lexer.
fn read_string(chars: &[char], i: usize) -> Option<(String, usize)> {
    let q = chars[i];
    let mut j = i + 1;
    let mut raw = String::new();
    while j < chars.len() {
        let c = chars[j];
        if c == '\\' && j + 1 < chars.len() {
            raw.push(c);
            raw.push(chars[j + 1]);
            j += 2;
            continue;
        }
        if c == q {
            return Some((raw, j + 1));
        }
        raw.push(c);
        j += 1;
    }
    None
}

/// A literal whose value (in minijinja) is exactly `raw`.
fn literal(raw: &str, q: char) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push(q);
    for c in raw.chars() {
        if c == '\\' || c == q {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(q);
    out
}

/// Finds the end of the operand after `%`: a bracketed group or one primary (a name, number or
/// string, with `.attr`, `[key]` and calls after it).
fn operand_end(chars: &[char], mut i: usize) -> Option<usize> {
    let close_of = |c: char| match c {
        '(' => Some(')'),
        '[' => Some(']'),
        '{' => Some('}'),
        _ => None,
    };
    let skip_group = |mut j: usize| -> Option<usize> {
        let mut stack = vec![close_of(chars[j])?];
        j += 1;
        while j < chars.len() {
            let c = chars[j];
            if c == '\'' || c == '"' {
                j = read_string(chars, j)?.1;
                continue;
            }
            if let Some(cl) = close_of(c) {
                stack.push(cl);
            } else if stack.last() == Some(&c) {
                stack.pop();
                if stack.is_empty() {
                    return Some(j + 1);
                }
            }
            j += 1;
        }
        None
    };
    let c = *chars.get(i)?;
    i = if close_of(c).is_some() {
        skip_group(i)?
    } else if c == '\'' || c == '"' {
        read_string(chars, i)?.1
    } else if c.is_alphanumeric() || c == '_' || c == '.' {
        let mut j = i;
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '.')
        {
            j += 1;
        }
        j
    } else {
        return None;
    };
    // Trailers: .attr, [key], (args).
    loop {
        match chars.get(i) {
            Some('.') => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                if j == i + 1 {
                    return Some(i);
                }
                i = j;
            }
            Some('[') | Some('(') => i = skip_group(i)?,
            _ => return Some(i),
        }
    }
}

/// Whether a `+` after `before` (the expression so far) is unary: at the start, after an
/// opening bracket, a separator, an operator or a keyword that takes an operand.
fn unary_position(before: &str) -> bool {
    let t = before.trim_end();
    match t.chars().last() {
        None => true,
        Some(c) if "([{,:+-*/%<>=!~".contains(c) => true,
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let word = t
                .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("");
            matches!(word, "and" | "or" | "not" | "in" | "if" | "else")
                && !t[..t.len() - word.len()].ends_with('.')
        }
        Some(_) => false,
    }
}

/// Rewrites the inside of one `{{ }}` (or a bare expression): literal backslashes in strings,
/// `'fmt' % args` as `format`, and a unary `+` (Python's, which minijinja lacks) dropped: on a
/// number it changes nothing.
/// With `escape_backslashes` false (conditionals), string literals keep Jinja's escapes.
pub fn prepare_expression(expr: &str, escape_backslashes: bool) -> Cow<'_, str> {
    let needs_escaping = escape_backslashes && expr.contains('\\');
    if !needs_escaping && !expr.contains('%') && !expr.contains('+') {
        return Cow::Borrowed(expr);
    }
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::with_capacity(expr.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '+' && chars.get(i + 1) != Some(&'+') && unary_position(&out) {
            i += 1;
            continue;
        }
        if c != '\'' && c != '"' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some((raw, after)) = read_string(&chars, i) else {
            out.extend(&chars[i..]);
            break;
        };
        let lit = if escape_backslashes {
            literal(&raw, c)
        } else {
            chars[i..after].iter().collect()
        };
        // `'fmt' % operand`?
        let mut j = after;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        if chars.get(j) == Some(&'%') {
            let mut k = j + 1;
            while k < chars.len() && chars[k] == ' ' {
                k += 1;
            }
            if let Some(end) = operand_end(&chars, k) {
                let operand: String = chars[k..end].iter().collect();
                let operand = prepare_expression(&operand, escape_backslashes).into_owned();
                let args = if chars[k] == '(' {
                    operand[1..operand.len() - 1].to_string()
                } else {
                    operand
                };
                out.push_str(&format!("({lit} | format({args}))"));
                i = end;
                continue;
            }
        }
        out.push_str(&lit);
        i = after;
    }
    Cow::Owned(out)
}

/// Applies [`prepare_expression`] to every `{{ }}` of a template; `{% %}` and `{# #}` are left
/// alone, and so is everything between `{% raw %}` and `{% endraw %}`.
pub fn prepare_template(s: &str) -> Cow<'_, str> {
    prepare_template_with(s, true)
}

/// [`prepare_template`] for a template file: its string literals keep Jinja's escapes.
pub fn prepare_file_template(s: &str) -> Cow<'_, str> {
    prepare_template_with(s, false)
}

fn prepare_template_with(s: &str, escape_backslashes: bool) -> Cow<'_, str> {
    let escapes = escape_backslashes && s.contains('\\');
    if !(escapes || s.contains('%') || s.contains('+')) {
        return Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    let starts = |i: usize, pat: &str| {
        pat.chars()
            .enumerate()
            .all(|(k, p)| chars.get(i + k) == Some(&p))
    };
    while i < chars.len() {
        if starts(i, "{{") {
            // Find the closing }} outside strings.
            let mut j = i + 2;
            let mut end = None;
            while j < chars.len() {
                if chars[j] == '\'' || chars[j] == '"' {
                    match read_string(&chars, j) {
                        Some((_, after)) => j = after,
                        None => break,
                    }
                    continue;
                }
                if starts(j, "}}") {
                    end = Some(j);
                    break;
                }
                j += 1;
            }
            let Some(end) = end else {
                out.extend(&chars[i..]);
                break;
            };
            let inner: String = chars[i + 2..end].iter().collect();
            out.push_str("{{");
            out.push_str(&prepare_expression(&inner, escape_backslashes));
            out.push_str("}}");
            i = end + 2;
        } else if starts(i, "{#") {
            let close = (i + 2..chars.len())
                .find(|&j| starts(j, "#}"))
                .map(|j| j + 2)
                .unwrap_or(chars.len());
            out.extend(&chars[i..close]);
            i = close;
        } else if starts(i, "{%") {
            let close = (i + 2..chars.len())
                .find(|&j| starts(j, "%}"))
                .map(|j| j + 2)
                .unwrap_or(chars.len());
            let block: String = chars[i..close].iter().collect();
            out.push_str(&block);
            i = close;
            let word = block
                .trim_start_matches("{%")
                .trim_start_matches('-')
                .trim();
            if word.starts_with("raw") {
                // Copy verbatim up to and including the endraw block.
                let mut k = i;
                while k < chars.len() {
                    if starts(k, "{%") {
                        let c2 = (k + 2..chars.len())
                            .find(|&j| starts(j, "%}"))
                            .map(|j| j + 2)
                            .unwrap_or(chars.len());
                        let b: String = chars[k..c2].iter().collect();
                        if b.trim_start_matches("{%")
                            .trim_start_matches('-')
                            .trim()
                            .starts_with("endraw")
                        {
                            out.extend(&chars[i..c2]);
                            i = c2;
                            break;
                        }
                    }
                    k += 1;
                }
                if k >= chars.len() {
                    out.extend(&chars[i..]);
                    i = chars.len();
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// Whether an expression only names a variable (`a`, `a.b`, `a['b']`, `a[0]`): its value is
/// the variable's own, not something the template made.
pub fn is_variable_path(expr: &str) -> bool {
    let e = expr.trim();
    let mut chars = e.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && e.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '\'' | '"'))
}

/// If the whole text is one `{{ expression }}`, the expression (without whitespace control).
pub fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    if !inner.contains("}}")
        && !inner.contains("{{")
        && !inner.contains("{%")
        && !inner.contains("{#")
    {
        return Some(inner.trim());
    }
    // `}}` may be inside a string or a dict literal; one expression only if the first `}}`
    // outside strings is the last one.
    let chars: Vec<char> = s.chars().collect();
    let mut j = 2;
    while j < chars.len() {
        if chars[j] == '\'' || chars[j] == '"' {
            j = read_string(&chars, j)?.1;
            continue;
        }
        if chars[j] == '}' && chars.get(j + 1) == Some(&'}') {
            // Dict literals close with `}}` too: only the very end counts.
            if j + 2 == chars.len() {
                return Some(inner.trim());
            }
            // A `}}` followed by more text: is it the end of a dict or of the expression?
            // Count braces opened inside the expression to decide.
            let opened = chars[2..j].iter().filter(|c| **c == '{').count();
            let closed = chars[2..j].iter().filter(|c| **c == '}').count();
            if opened > closed {
                j += 1;
                continue;
            }
            return None;
        }
        if chars[j] == '{' && matches!(chars.get(j + 1), Some('{' | '%' | '#')) && j > 2 {
            let opened = chars[2..j].iter().filter(|c| **c == '{').count();
            let closed = chars[2..j].iter().filter(|c| **c == '}').count();
            if opened == closed {
                return None;
            }
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unary_plus_is_dropped_and_a_binary_one_kept() {
        assert_eq!(
            prepare_expression("[-2.5, +2.5, 1 + 2.5]", true),
            "[-2.5, 2.5, 1 + 2.5]"
        );
        assert_eq!(
            prepare_expression("+x if +1 else a+ 'b+'", true),
            "x if 1 else a+ 'b+'"
        );
        assert_eq!(prepare_expression("a.if + 1", true), "a.if + 1");
    }

    #[test]
    fn backslashes_in_expression_strings_are_literal() {
        assert_eq!(
            prepare_expression(r"x | regex_replace('(a)', '\1')", true),
            r"x | regex_replace('(a)', '\\1')"
        );
        assert_eq!(
            prepare_template(r"a\1 {{ 'b\1' }} {% set x = 'c\1' %}"),
            r"a\1 {{ 'b\\1' }} {% set x = 'c\1' %}"
        );
        assert_eq!(prepare_expression(r"'it\'s'", true), r"'it\\\'s'");
    }

    #[test]
    fn percent_formatting_becomes_format() {
        assert_eq!(
            prepare_expression("'%s-%d' % (a, 1)", false),
            "('%s-%d' | format(a, 1))"
        );
        assert_eq!(
            prepare_expression("'n: %d' % x.y[0]", true),
            "('n: %d' | format(x.y[0]))"
        );
        assert_eq!(prepare_expression("10 % 3", true), "10 % 3");
    }

    #[test]
    fn single_expressions_by_tokens() {
        assert_eq!(single_expression("{{ x }}"), Some("x"));
        assert_eq!(single_expression("{{- x -}}"), Some("x"));
        assert_eq!(single_expression("{{ -4 | abs }}"), Some("-4 | abs"));
        assert_eq!(
            single_expression("{{ {'a': {'b': 1}} | combine(y) }}"),
            Some("{'a': {'b': 1}} | combine(y)")
        );
        assert_eq!(single_expression("{{ '}}' }}"), Some("'}}'"));
        assert_eq!(single_expression("{{ a }} and {{ b }}"), None);
        assert_eq!(single_expression("{{ a }}{% if x %}{% endif %}"), None);
    }
}
