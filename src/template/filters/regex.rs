//! The regular-expression filters (`regex_replace`, `regex_search`, `regex_findall`,
//! `regex_escape`) with Python's `re` syntax: patterns and replacement strings are translated to
//! the regex crate's where they differ, so playbooks written for Python keep their meaning.

use super::{arg, err, flag, py_str, split_kwargs};
use crate::value::Value;
use ::regex::Regex;
use minijinja::Error;
use minijinja::value::{Kwargs, Rest, ValueOrKwargs};

/// Compiles a Python regular expression, translating what differs (`\Z`, flags).
pub fn py_regex(pat: &str, ignorecase: bool, multiline: bool) -> Result<Regex, Error> {
    let mut flags = String::new();
    if ignorecase {
        flags.push('i');
    }
    if multiline {
        flags.push('m');
    }
    let mut translated = String::with_capacity(pat.len());
    let mut chars = pat.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('Z') => translated.push_str("\\z"),
                Some(n) => {
                    translated.push('\\');
                    translated.push(n);
                }
                None => translated.push('\\'),
            }
        } else {
            translated.push(c);
        }
    }
    let full = if flags.is_empty() {
        translated
    } else {
        format!("(?{flags}){translated}")
    };
    Regex::new(&full).map_err(|e| {
        let why = match &e {
            regex::Error::Syntax(s) if s.contains("look-around") => {
                "look-around assertions are not supported".to_string()
            }
            regex::Error::Syntax(s) if s.contains("backreferences") => {
                "backreferences are not supported".to_string()
            }
            other => other
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string(),
        };
        err(format!("invalid regular expression '{pat}': {why}"))
    })
}

fn regex_flags(kwargs: &Kwargs) -> Result<(bool, bool), Error> {
    Ok((flag(kwargs, "ignorecase")?, flag(kwargs, "multiline")?))
}

pub(super) fn regex_replace(
    v: Value,
    pat: Option<String>,
    repl: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let pat = arg(pat, &kwargs, "pattern")?.unwrap_or_default();
    let repl = arg(repl, &kwargs, "replacement")?.unwrap_or_default();
    let (ic, ml) = regex_flags(&kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    let mandatory_count = kwargs.get::<Option<usize>>("mandatory_count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let r = py_regex(&pat, ic, ml)?;
    let text = py_str(&v);
    let repl = python_repl(&repl)?;
    let subs = if count == 0 {
        r.find_iter(&text).count()
    } else {
        r.find_iter(&text).count().min(count)
    };
    if mandatory_count != 0 && mandatory_count != subs {
        return Err(err(format!(
            "'{pat}' should match {mandatory_count} times, but matches {subs} times in '{text}'"
        )));
    }
    Ok(r.replacen(&text, count, repl.as_str()).into_owned())
}

/// Python's replacement syntax (`\1`, `\g<name>`, `\n`) to the regex crate's (`${1}`, `$$`).
fn python_repl(r: &str) -> Result<String, Error> {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = d.to_string();
                    if let Some(&e) = chars.peek()
                        && e.is_ascii_digit()
                    {
                        num.push(e);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    if chars.next() != Some('<') {
                        return Err(err("missing < in group reference"));
                    }
                    let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('f') => out.push('\x0c'),
                Some('v') => out.push('\x0b'),
                Some('a') => out.push('\x07'),
                Some('\\') => out.push('\\'),
                Some(o) if o.is_ascii_alphabetic() => {
                    return Err(err(format!("bad escape \\{o} in the replacement")));
                }
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

pub(super) fn regex_search(
    v: Value,
    pat: String,
    groups: Rest<ValueOrKwargs>,
) -> Result<Value, Error> {
    let (groups, kw) = split_kwargs(groups)?;
    let ic = flag(&kw, "ignorecase")?;
    let ml = flag(&kw, "multiline")?;
    kw.assert_all_used()?;
    let wanted: Vec<String> = groups.iter().map(py_str).collect();
    let r = py_regex(&pat, ic, ml)?;
    let text = py_str(&v);
    let Some(caps) = r.captures(&text) else {
        return Ok(Value::from(()));
    };
    if wanted.is_empty() {
        return Ok(Value::from(caps.get(0).map(|m| m.as_str()).unwrap_or("")));
    }
    let mut out = Vec::new();
    for g in &wanted {
        let m = if let Some(name) = g.strip_prefix("\\g<").and_then(|n| n.strip_suffix('>')) {
            match name.parse::<usize>() {
                Ok(i) => caps.get(i),
                Err(_) => caps.name(name),
            }
        } else if let Some(n) = g.strip_prefix('\\') {
            let i: usize = n.parse().map_err(|_| err("Unknown argument"))?;
            if i >= r.captures_len() {
                return Err(err(format!("no such group: {i}")));
            }
            caps.get(i)
        } else {
            return Err(err("Unknown argument"));
        };
        out.push(m.map(|m| Value::from(m.as_str())).unwrap_or_default());
    }
    Ok(Value::from(out))
}

pub(super) fn regex_findall(v: Value, pat: String, kwargs: Kwargs) -> Result<Value, Error> {
    let (ic, ml) = regex_flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let r = py_regex(&pat, ic, ml)?;
    let text = py_str(&v);
    let groups = r.captures_len() - 1;
    let items: Vec<Value> = r
        .captures_iter(&text)
        .map(|c| {
            let g = |i: usize| Value::from(c.get(i).map(|m| m.as_str()).unwrap_or(""));
            match groups {
                0 => g(0),
                1 => g(1),
                _ => (1..=groups).map(g).collect(),
            }
        })
        .collect();
    Ok(Value::from(items))
}

pub(super) fn regex_escape(
    v: Value,
    rest: minijinja::value::Rest<minijinja::value::ValueOrKwargs>,
) -> Result<String, Error> {
    // `re_type` is positional or a keyword, as in Python.
    let (args, kwargs) = super::split_kwargs(rest)?;
    let re_type = match args.first() {
        Some(t) => Some(py_str(t)),
        None => kwargs.get::<Option<String>>("re_type")?,
    };
    kwargs.assert_all_used()?;
    let s = py_str(&v);
    // A backslash before each character that is special in the regex type.
    let escape = |special: &str| -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if special.contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    match re_type.as_deref().unwrap_or("python") {
        "python" => Ok(escape("()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c")),
        "posix_basic" => Ok(escape("].[^$*\\")),
        "posix_extended" => Err(err("Regex type (posix_extended) not yet implemented")),
        other => Err(err(format!("Invalid regex type ({other})"))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::render;

    #[test]
    fn regex_filters_take_python_syntax() {
        assert_eq!(
            render(r"{{ 'ab12' | regex_replace('([a-z]+)(\\d+)', '\\2-\\1') }}"),
            "12-ab"
        );
        assert_eq!(
            render(r"{{ 'cost $5' | regex_replace('\\$(\\d)', 'USD \\1') }}"),
            "cost USD 5"
        );
        assert_eq!(
            render("{{ 'aaa' | regex_replace('a', 'b', count=2) }}"),
            "bba"
        );
        assert_eq!(
            render("{{ 'x=1 y=2' | regex_findall('(\\\\w)=(\\\\d)') | length }}"),
            "2"
        );
        assert_eq!(render(r"{{ 'a.b*c' | regex_escape }}"), r"a\.b\*c");
    }
}
