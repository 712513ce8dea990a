//! Text filters whose Jinja2 spelling differs from minijinja's built-ins (`join`, `indent`,
//! `center`, `truncate`, `wordwrap`, `urlencode`, `escape`): each reproduces Jinja2's result
//! under Python, argument for argument.

use super::{arg, err, py_str};
use crate::value::Value;
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Error, ErrorKind};

/// Registers every filter on the environment.
/// markupsafe's `escape`: `& < > ' "` as entities.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            c => out.push(c),
        }
    }
    out
}

/// Jinja2's `join(value, d='', attribute=None)`, with Python's `str()` of each item.
pub(super) fn join(v: Value, sep: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let sep = match sep {
        Some(s) => py_str(&s),
        None => kwargs.get::<Option<String>>("d")?.unwrap_or_default(),
    };
    let attribute: Option<String> = kwargs.get("attribute")?;
    kwargs.assert_all_used()?;
    if v.kind() == ValueKind::String {
        let s = v.as_str().unwrap_or("");
        return Ok(s.chars().map(String::from).collect::<Vec<_>>().join(&sep));
    }
    let mut parts = Vec::new();
    for item in v.try_iter()? {
        let item = match &attribute {
            Some(a) => item.get_attr(a)?,
            None => item,
        };
        if item.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        parts.push(py_str(&item));
    }
    Ok(parts.join(&sep))
}

/// Jinja2's `url_quote`: percent-encoding with `/` kept, or for a query string (`+` for space).
fn url_quote(s: &str, for_qs: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b'/' if !for_qs => out.push('/'),
            b' ' if for_qs => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Jinja2's `urlencode`: a string is quoted; a mapping or a list of pairs becomes a query string.
pub(super) fn urlencode(v: Value) -> Result<String, Error> {
    let pairs: Vec<(Value, Value)> = match v.kind() {
        ValueKind::String => return Ok(url_quote(v.as_str().unwrap_or(""), false)),
        ValueKind::Map => v
            .try_iter()?
            .map(|k| {
                let val = v.get_item(&k).unwrap_or_default();
                (k, val)
            })
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => v
            .try_iter()?
            .map(|p| {
                (
                    p.get_item(&Value::from(0)).unwrap_or_default(),
                    p.get_item(&Value::from(1)).unwrap_or_default(),
                )
            })
            .collect(),
        _ => return Ok(url_quote(&py_str(&v), false)),
    };
    Ok(pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                url_quote(&py_str(k), true),
                url_quote(&py_str(v), true)
            )
        })
        .collect::<Vec<_>>()
        .join("&"))
}

/// Jinja2's `indent(width=4, first=False, blank=False)`; `width` may be a string.
pub(super) fn indent(
    v: Value,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = arg(width, &kwargs, "width")?.unwrap_or(Value::from(4));
    let first = arg(first, &kwargs, "first")?.unwrap_or(false);
    let blank = arg(blank, &kwargs, "blank")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let pad = match width.as_str() {
        Some(s) => s.to_string(),
        None => " ".repeat(width.as_usize().unwrap_or(4)),
    };
    let s = py_str(&v);
    let mut out = String::new();
    let mut lines = s.split('\n').peekable();
    let mut first_line = true;
    while let Some(line) = lines.next() {
        let indent_it = if first_line {
            first
        } else {
            blank || !line.is_empty()
        };
        if indent_it && !(first_line && line.is_empty() && !blank && lines.peek().is_none()) {
            out.push_str(&pad);
        }
        out.push_str(line);
        if lines.peek().is_some() {
            out.push('\n');
        }
        first_line = false;
    }
    Ok(out)
}

/// Python's `str.center(width, fill)`.
pub fn center_text(s: &str, width: usize, fill: char) -> String {
    let len = s.chars().count();
    if width <= len {
        return s.to_string();
    }
    let pad = width - len;
    let left = pad / 2 + (pad & width & 1);
    let right = pad - left;
    format!(
        "{}{s}{}",
        fill.to_string().repeat(left),
        fill.to_string().repeat(right)
    )
}

pub(super) fn center(v: Value, width: Option<usize>) -> String {
    center_text(&py_str(&v), width.unwrap_or(80), ' ')
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`.
pub(super) fn truncate(
    v: Value,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let length = arg(length, &kwargs, "length")?.unwrap_or(255);
    let killwords = arg(killwords, &kwargs, "killwords")?.unwrap_or(false);
    let end = arg(end, &kwargs, "end")?.unwrap_or("...".into());
    let leeway = kwargs.get::<Option<usize>>("leeway")?.unwrap_or(5);
    kwargs.assert_all_used()?;
    let s = py_str(&v);
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(s);
    }
    let end_len = end.chars().count();
    if length < end_len {
        return Err(err("expected length >= len(end)"));
    }
    let head: String = chars[..length - end_len].iter().collect();
    if killwords {
        return Ok(head + &end);
    }
    let cut = match head.rfind(' ') {
        Some(i) => head[..i].to_string(),
        None => head,
    };
    Ok(cut + &end)
}

/// Jinja2's `wordwrap(width=79, break_long_words=True, wrapstring='\n')`, greedy like textwrap.
pub(super) fn wordwrap(
    v: Value,
    width: Option<usize>,
    break_long_words: Option<bool>,
    wrapstring: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = arg(width, &kwargs, "width")?.unwrap_or(79).max(1);
    let break_long = arg(break_long_words, &kwargs, "break_long_words")?.unwrap_or(true);
    let wrapstring = arg(wrapstring, &kwargs, "wrapstring")?.unwrap_or("\n".into());
    let _: Option<bool> = kwargs.get("break_on_hyphens")?;
    kwargs.assert_all_used()?;
    let s = py_str(&v);
    let mut paragraphs = Vec::new();
    for para in s.split('\n') {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word = word.to_string();
            loop {
                let need = if line.is_empty() { 0 } else { 1 } + word.chars().count();
                if line.chars().count() + need <= width {
                    if !line.is_empty() {
                        line.push(' ');
                    }
                    line.push_str(&word);
                    break;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    continue;
                }
                if break_long && word.chars().count() > width {
                    let head: String = word.chars().take(width).collect();
                    let rest: String = word.chars().skip(width).collect();
                    lines.push(head);
                    word = rest;
                    continue;
                }
                line = word.clone();
                break;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        paragraphs.push(lines.join(&wrapstring));
    }
    Ok(paragraphs.join(&wrapstring))
}

#[cfg(test)]
mod tests {
    use super::super::render;

    #[test]
    fn text_filters_are_jinjas() {
        assert_eq!(render("{{ 'abc' | center(9) }}|"), "   abc   |");
        assert_eq!(
            render("{{ 'a long sentence that goes on and on' | truncate(20) }}"),
            "a long sentence..."
        );
        assert_eq!(render("{{ 'line1\nline2' | indent(2) }}"), "line1\n  line2");
    }

    #[test]
    fn urlencode_is_jinjas() {
        assert_eq!(
            render("{{ 'a=1&b=x y/z' | urlencode }}"),
            "a%3D1%26b%3Dx%20y/z"
        );
        assert_eq!(
            render("{{ {'a': 1, 'b': 'x y'} | urlencode }}"),
            "a=1&b=x+y"
        );
    }
}
