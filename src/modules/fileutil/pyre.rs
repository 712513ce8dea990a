//! Python's `re` patterns and replacement templates in Rust's `regex` syntax, for the
//! modules that take them (`lineinfile`, `replace`).

use super::*;

/// Python `re` syntax to Rust `regex` syntax, for the common differences (`\Z`).
pub fn python_regex(pattern: &str, multiline: bool) -> Result<regex::Regex, ModuleError> {
    let p = pattern.replace("\\Z", "\\z");
    let p = if multiline { format!("(?m){p}") } else { p };
    regex::Regex::new(&p).map_err(|e| {
        ModuleError::Failed(format!(
            "the regular expression '{pattern}' is not supported: {e}"
        ))
    })
}

/// Python's replacement template (`\1`, `\g<1>`, `\g<name>`, `\n`, `\\`) to `regex`'s (`${1}`,
/// `${name}`, a literal `$` doubled).
pub fn python_template(t: &str) -> String {
    let mut out = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(|d| d.is_ascii_digit()) {
                        n.push(d);
                        chars.next();
                        if n.len() == 2 {
                            break;
                        }
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}
