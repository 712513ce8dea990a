//! Python methods on strings, lists and dicts (`name.split(',')`, `d.items()`, `s.startswith('x')`),
//! which Jinja under Python allows and playbooks use everywhere.
//!
//! minijinja values have no methods of their own; it asks this callback for any method it does
//! not know. The non-mutating methods of `str`, `list` and `dict` are here, with Python's
//! semantics (`split()` with no separator splits on runs of whitespace, `find` returns -1, ...).

use super::filters::{center_text, err, percent_format, py_str, py_type};
use crate::value::Value;
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Error, ErrorKind, State};

/// The environment's unknown-method callback.
pub fn call_method(
    state: &mut State,
    value: &Value,
    name: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let (pos, kwargs): (Vec<Value>, Option<Kwargs>) = match args.last() {
        Some(l) if l.is_kwargs() => (
            args[..args.len() - 1].to_vec(),
            Some(Kwargs::try_from(l.clone())?),
        ),
        _ => (args.to_vec(), None),
    };
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    match value.kind() {
        ValueKind::String => str_method(state, value.as_str().unwrap_or(""), name, &pos, kwargs),
        ValueKind::Map => dict_method(value, name, &pos),
        ValueKind::Seq | ValueKind::Iterable => list_method(value, name, &pos),
        _ => Err(unknown(value, name)),
    }
}

fn unknown(v: &Value, name: &str) -> Error {
    Error::new(
        ErrorKind::UnknownMethod,
        format!("'{}' object has no attribute '{name}'", py_type(v)),
    )
}

fn arg_str(args: &[Value], i: usize) -> Option<String> {
    args.get(i).filter(|v| !v.is_none()).map(py_str)
}

fn arg_int(args: &[Value], i: usize) -> Result<Option<i64>, Error> {
    match args.get(i) {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| err(format!("an integer is required, not {}", py_type(v)))),
    }
}

/// Python's `str.split(sep=None, maxsplit=-1)`.
pub fn py_split(s: &str, sep: Option<&str>, maxsplit: i64) -> Result<Vec<String>, Error> {
    let max = if maxsplit < 0 {
        usize::MAX
    } else {
        maxsplit as usize
    };
    match sep {
        Some("") => Err(err("empty separator")),
        Some(sep) => {
            if max == usize::MAX {
                Ok(s.split(sep).map(String::from).collect())
            } else {
                Ok(s.splitn(max + 1, sep).map(String::from).collect())
            }
        }
        None => {
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if out.len() == max {
                    out.push(rest.to_string());
                    break;
                }
                match rest.find(char::is_whitespace) {
                    Some(i) => {
                        out.push(rest[..i].to_string());
                        rest = rest[i..].trim_start();
                    }
                    None => {
                        out.push(rest.to_string());
                        break;
                    }
                }
            }
            Ok(out)
        }
    }
}

fn py_rsplit(s: &str, sep: Option<&str>, maxsplit: i64) -> Result<Vec<String>, Error> {
    if maxsplit < 0 {
        return py_split(s, sep, maxsplit);
    }
    match sep {
        Some("") => Err(err("empty separator")),
        Some(sep) => {
            let mut v: Vec<String> = s
                .rsplitn(maxsplit as usize + 1, sep)
                .map(String::from)
                .collect();
            v.reverse();
            Ok(v)
        }
        None => {
            let mut out: Vec<String> = Vec::new();
            let mut rest = s.trim_end();
            while !rest.is_empty() {
                if out.len() == maxsplit as usize {
                    out.push(rest.to_string());
                    break;
                }
                match rest.rfind(char::is_whitespace) {
                    Some(i) => {
                        let ws_len = rest[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                        out.push(rest[i + ws_len..].to_string());
                        rest = rest[..i].trim_end();
                    }
                    None => {
                        out.push(rest.to_string());
                        break;
                    }
                }
            }
            out.reverse();
            Ok(out)
        }
    }
}

fn strip_chars(s: &str, chars: Option<&str>, left: bool, right: bool) -> String {
    let pred = |c: char| match chars {
        Some(set) => set.contains(c),
        None => c.is_whitespace(),
    };
    let mut t = s;
    if left {
        t = t.trim_start_matches(pred);
    }
    if right {
        t = t.trim_end_matches(pred);
    }
    t.to_string()
}

fn list(items: Vec<String>) -> Value {
    Value::from(items.into_iter().map(Value::from).collect::<Vec<_>>())
}

/// Python slice bounds (`start`, `end` may be negative) as character indices.
fn bounds(len: usize, start: Option<i64>, end: Option<i64>) -> (usize, usize) {
    let fix = |i: i64| -> usize {
        if i < 0 {
            (len as i64 + i).max(0) as usize
        } else {
            (i as usize).min(len)
        }
    };
    (fix(start.unwrap_or(0)), fix(end.unwrap_or(len as i64)))
}

fn str_method(
    state: &mut State,
    s: &str,
    name: &str,
    args: &[Value],
    kwargs: Option<Kwargs>,
) -> Result<Value, Error> {
    let chars: Vec<char> = s.chars().collect();
    let sub = |i: usize| arg_str(args, i).unwrap_or_default();
    Ok(match name {
        "upper" => Value::from(s.to_uppercase()),
        "lower" | "casefold" => Value::from(s.to_lowercase()),
        "title" => state.apply_filter("title", &[Value::from(s)])?,
        "capitalize" => state.apply_filter("capitalize", &[Value::from(s)])?,
        "swapcase" => Value::from(
            s.chars()
                .flat_map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<Vec<_>>()
                    } else {
                        c.to_uppercase().collect::<Vec<_>>()
                    }
                })
                .collect::<String>(),
        ),
        "strip" => Value::from(strip_chars(s, arg_str(args, 0).as_deref(), true, true)),
        "lstrip" => Value::from(strip_chars(s, arg_str(args, 0).as_deref(), true, false)),
        "rstrip" => Value::from(strip_chars(s, arg_str(args, 0).as_deref(), false, true)),
        "split" | "rsplit" => {
            let mut sep = arg_str(args, 0);
            let mut maxsplit = arg_int(args, 1)?.unwrap_or(-1);
            if let Some(kw) = &kwargs {
                if let Some(s) = kw.get::<Option<String>>("sep")? {
                    sep = Some(s);
                }
                if let Some(m) = kw.get::<Option<i64>>("maxsplit")? {
                    maxsplit = m;
                }
                kw.assert_all_used()?;
            }
            let parts = if name == "split" {
                py_split(s, sep.as_deref(), maxsplit)?
            } else {
                py_rsplit(s, sep.as_deref(), maxsplit)?
            };
            list(parts)
        }
        "splitlines" => {
            let keep = args.first().is_some_and(|v| v.is_true());
            let mut out = Vec::new();
            let mut line = String::new();
            let mut it = s.chars().peekable();
            while let Some(c) = it.next() {
                if matches!(
                    c,
                    '\n' | '\r'
                        | '\x0b'
                        | '\x0c'
                        | '\x1c'
                        | '\x1d'
                        | '\x1e'
                        | '\u{85}'
                        | '\u{2028}'
                        | '\u{2029}'
                ) {
                    if keep {
                        line.push(c);
                    }
                    if c == '\r' && it.peek() == Some(&'\n') {
                        it.next();
                        if keep {
                            line.push('\n');
                        }
                    }
                    out.push(std::mem::take(&mut line));
                } else {
                    line.push(c);
                }
            }
            if !line.is_empty() {
                out.push(line);
            }
            list(out)
        }
        "replace" => {
            let (old, new) = (sub(0), sub(1));
            match arg_int(args, 2)? {
                Some(n) if n >= 0 => Value::from(s.replacen(&old, &new, n as usize)),
                _ => Value::from(s.replace(&old, &new)),
            }
        }
        "startswith" | "endswith" => {
            let prefixes: Vec<String> = match args.first() {
                Some(v) if v.kind() == ValueKind::Seq => {
                    v.try_iter()?.map(|p| py_str(&p)).collect()
                }
                Some(v) => vec![py_str(v)],
                None => return Err(err(format!("{name}() takes at least 1 argument (0 given)"))),
            };
            let (a, b) = bounds(chars.len(), arg_int(args, 1)?, arg_int(args, 2)?);
            let part: String = chars.get(a..b.max(a)).unwrap_or(&[]).iter().collect();
            Value::from(prefixes.iter().any(|p| {
                if name == "startswith" {
                    part.starts_with(p.as_str())
                } else {
                    part.ends_with(p.as_str())
                }
            }))
        }
        "find" | "index" | "rfind" | "rindex" | "count" => {
            let needle = sub(0);
            let (a, b) = bounds(chars.len(), arg_int(args, 1)?, arg_int(args, 2)?);
            let hay: String = chars.get(a..b.max(a)).unwrap_or(&[]).iter().collect();
            if name == "count" {
                if needle.is_empty() {
                    return Ok(Value::from(hay.chars().count() + 1));
                }
                return Ok(Value::from(hay.matches(needle.as_str()).count()));
            }
            let found = if name.starts_with('r') {
                hay.rfind(needle.as_str())
            } else {
                hay.find(needle.as_str())
            };
            match found {
                Some(byte) => Value::from(a + hay[..byte].chars().count()),
                None if name.ends_with("index") => return Err(err("substring not found")),
                None => Value::from(-1),
            }
        }
        "join" => {
            let items = args
                .first()
                .ok_or_else(|| err("join() takes exactly one argument"))?;
            let parts: Vec<String> = items
                .try_iter()?
                .map(|i| match i.as_str() {
                    Some(t) => Ok(t.to_string()),
                    None => Err(err(format!(
                        "sequence item: expected str instance, {} found",
                        py_type(&i)
                    ))),
                })
                .collect::<Result<_, _>>()?;
            Value::from(parts.join(s))
        }
        "center" | "ljust" | "rjust" => {
            let width = arg_int(args, 0)?.unwrap_or(0).max(0) as usize;
            let fill = arg_str(args, 1)
                .and_then(|f| f.chars().next())
                .unwrap_or(' ');
            let len = chars.len();
            let pad = width.saturating_sub(len);
            let fills = |n: usize| fill.to_string().repeat(n);
            Value::from(match name {
                "center" => center_text(s, width, fill),
                "ljust" => format!("{s}{}", fills(pad)),
                _ => format!("{}{s}", fills(pad)),
            })
        }
        "zfill" => {
            let width = arg_int(args, 0)?.unwrap_or(0).max(0) as usize;
            let len = chars.len();
            if width <= len {
                Value::from(s)
            } else {
                let (sign, digits) = match s.chars().next() {
                    Some(c @ ('+' | '-')) => (c.to_string(), &s[1..]),
                    _ => (String::new(), s),
                };
                Value::from(format!("{sign}{}{digits}", "0".repeat(width - len)))
            }
        }
        "isdigit" | "isdecimal" | "isnumeric" => {
            Value::from(!s.is_empty() && s.chars().all(|c| c.is_numeric()))
        }
        "isalpha" => Value::from(!s.is_empty() && s.chars().all(char::is_alphabetic)),
        "isalnum" => Value::from(!s.is_empty() && s.chars().all(char::is_alphanumeric)),
        "isspace" => Value::from(!s.is_empty() && s.chars().all(char::is_whitespace)),
        "islower" => {
            Value::from(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase))
        }
        "isupper" => {
            Value::from(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase))
        }
        "istitle" => {
            let title = state.apply_filter("title", &[Value::from(s)])?;
            Value::from(s.chars().any(char::is_alphabetic) && title.as_str() == Some(s))
        }
        "isidentifier" => Value::from(
            s.chars()
                .next()
                .is_some_and(|c| c == '_' || c.is_alphabetic())
                && s.chars().all(|c| c == '_' || c.is_alphanumeric()),
        ),
        "partition" | "rpartition" => {
            let sep = sub(0);
            if sep.is_empty() {
                return Err(err("empty separator"));
            }
            let found = if name == "partition" {
                s.find(&sep)
            } else {
                s.rfind(&sep)
            };
            let parts = match found {
                Some(i) => vec![
                    s[..i].to_string(),
                    sep.clone(),
                    s[i + sep.len()..].to_string(),
                ],
                None if name == "partition" => vec![s.to_string(), String::new(), String::new()],
                None => vec![String::new(), String::new(), s.to_string()],
            };
            list(parts)
        }
        "removeprefix" => Value::from(s.strip_prefix(sub(0).as_str()).unwrap_or(s)),
        "removesuffix" => Value::from(s.strip_suffix(sub(0).as_str()).unwrap_or(s)),
        "expandtabs" => {
            let size = arg_int(args, 0)?.unwrap_or(8).max(0) as usize;
            let mut out = String::new();
            let mut col = 0;
            for c in s.chars() {
                match c {
                    '\t' if size > 0 => {
                        let n = size - col % size;
                        out.push_str(&" ".repeat(n));
                        col += n;
                    }
                    '\t' => {}
                    '\n' | '\r' => {
                        out.push(c);
                        col = 0;
                    }
                    c => {
                        out.push(c);
                        col += 1;
                    }
                }
            }
            Value::from(out)
        }
        "format" => Value::from(str_format(s, args, kwargs.as_ref())?),
        "encode" | "decode" => Value::from(s),
        "__mod__" => Value::from(percent_format(s, args, None)?),
        _ => return Err(unknown(&Value::from(s), name)),
    })
}

/// Python's `str.format` for `{}`, `{0}`, `{name}`, `{0.attr}`/`{0[key]}` and simple specs.
fn str_format(s: &str, args: &[Value], kwargs: Option<&Kwargs>) -> Result<String, Error> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    let mut auto = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                let mut depth = 1;
                for c in chars.by_ref() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    field.push(c);
                }
                let (name, spec) = match field.split_once(':') {
                    Some((n, s)) => (n.to_string(), Some(s.to_string())),
                    None => (field.clone(), None),
                };
                let name = name.split('!').next().unwrap_or("").to_string();
                let head_end = name.find(['.', '[']).unwrap_or(name.len());
                let (head, tail) = name.split_at(head_end);
                let mut value = if head.is_empty() {
                    let v = args
                        .get(auto)
                        .cloned()
                        .ok_or_else(|| err("Replacement index out of range"))?;
                    auto += 1;
                    v
                } else if let Ok(i) = head.parse::<usize>() {
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| err(format!("Replacement index {i} out of range")))?
                } else {
                    let kw = kwargs.ok_or_else(|| err(format!("KeyError: '{head}'")))?;
                    kw.get::<Value>(head)
                        .map_err(|_| err(format!("KeyError: '{head}'")))?
                };
                let mut rest = tail;
                while !rest.is_empty() {
                    if let Some(r) = rest.strip_prefix('.') {
                        let end = r.find(['.', '[']).unwrap_or(r.len());
                        value = value.get_attr(&r[..end])?;
                        rest = &r[end..];
                    } else if let Some(r) = rest.strip_prefix('[') {
                        let end = r
                            .find(']')
                            .ok_or_else(|| err("Missing ']' in format string"))?;
                        let key = &r[..end];
                        value = match key.parse::<i64>() {
                            Ok(i) => value.get_item(&Value::from(i))?,
                            Err(_) => value.get_item(&Value::from(key))?,
                        };
                        rest = &r[end + 1..];
                    } else {
                        break;
                    }
                }
                match spec.filter(|s| !s.is_empty()) {
                    Some(spec) => out.push_str(&format_spec(&value, &spec)?),
                    None => out.push_str(&py_str(&value)),
                }
            }
            c => out.push(c),
        }
    }
    if let Some(kw) = kwargs {
        // Unused keyword arguments are fine for str.format.
        let _ = kw;
    }
    Ok(out)
}

/// A format spec like `>10`, `05d`, `.2f`, `x`.
fn format_spec(v: &Value, spec: &str) -> Result<String, Error> {
    let re = regex::Regex::new(
        r"^(?:(.)?([<>^=]))?([+\- ])?(#)?(0)?(\d+)?(,)?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$",
    )
    .expect("valid pattern");
    let c = re
        .captures(spec)
        .ok_or_else(|| err(format!("Invalid format specifier '{spec}'")))?;
    let fill = c.get(1).and_then(|m| m.as_str().chars().next());
    let align = c.get(2).map(|m| m.as_str());
    let zero = c.get(5).is_some();
    let width: usize = c.get(6).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
    let precision = c.get(8).map(|m| m.as_str());
    let ty = c.get(9).map(|m| m.as_str()).unwrap_or("");
    let mut printf = String::from("%");
    if let Some(s) = c.get(3) {
        printf.push_str(s.as_str());
    }
    if c.get(4).is_some() {
        printf.push('#');
    }
    if let Some(p) = precision {
        printf.push('.');
        printf.push_str(p);
    }
    let body = match ty {
        "" if v.kind() == ValueKind::String => {
            let s = py_str(v);
            match precision.and_then(|p| p.parse::<usize>().ok()) {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        "" | "s" => py_str(v),
        "n" => percent_format(&format!("{printf}d"), std::slice::from_ref(v), None)?,
        "%" => {
            let f = f64::try_from(v.clone()).unwrap_or(0.0) * 100.0;
            format!(
                "{}%",
                percent_format(&format!("{printf}f"), &[Value::from(f)], None)?
            )
        }
        "b" => format!("{:b}", v.as_i64().unwrap_or(0)),
        t => percent_format(&format!("{printf}{t}"), std::slice::from_ref(v), None)?,
    };
    let len = body.chars().count();
    if len >= width {
        return Ok(body);
    }
    let pad = width - len;
    let numeric = v.kind() == ValueKind::Number;
    let default_align = if numeric { ">" } else { "<" };
    let (fill, align) = if zero && align.is_none() {
        ('0', "=")
    } else {
        (fill.unwrap_or(' '), align.unwrap_or(default_align))
    };
    let fills = |n: usize| fill.to_string().repeat(n);
    Ok(match align {
        "<" => format!("{body}{}", fills(pad)),
        "^" => format!("{}{body}{}", fills(pad / 2), fills(pad - pad / 2)),
        "=" => match body.chars().next() {
            Some(s @ ('-' | '+' | ' ')) => format!("{s}{}{}", fills(pad), &body[1..]),
            _ => format!("{}{body}", fills(pad)),
        },
        _ => format!("{}{body}", fills(pad)),
    })
}

fn dict_method(v: &Value, name: &str, args: &[Value]) -> Result<Value, Error> {
    let keys: Vec<Value> = v.try_iter()?.collect();
    Ok(match name {
        "keys" => Value::from(keys),
        "values" => keys
            .iter()
            .map(|k| v.get_item(k).unwrap_or_default())
            .collect(),
        "items" => keys
            .iter()
            .map(|k| Value::from(vec![k.clone(), v.get_item(k).unwrap_or_default()]))
            .collect(),
        "get" => {
            let key = args
                .first()
                .ok_or_else(|| err("get expected at least 1 argument, got 0"))?;
            let found = v.get_item(key).unwrap_or_default();
            if found.is_undefined() {
                args.get(1).cloned().unwrap_or_else(|| Value::from(()))
            } else {
                found
            }
        }
        "copy" => v.clone(),
        "__contains__" => Value::from(args.first().is_some_and(|k| keys.contains(k))),
        _ => return Err(unknown(v, name)),
    })
}

fn list_method(v: &Value, name: &str, args: &[Value]) -> Result<Value, Error> {
    let items: Vec<Value> = v.try_iter()?.collect();
    Ok(match name {
        "index" => {
            let x = args
                .first()
                .ok_or_else(|| err("index expected at least 1 argument, got 0"))?;
            match items.iter().position(|i| i == x) {
                Some(i) => Value::from(i),
                None => return Err(err(format!("{} is not in list", py_str(x)))),
            }
        }
        "count" => {
            let x = args.first().cloned().unwrap_or_default();
            Value::from(items.iter().filter(|i| **i == x).count())
        }
        "copy" => Value::from(items),
        _ => return Err(unknown(v, name)),
    })
}
