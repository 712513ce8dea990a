//! Ansible's filters (`ansible.builtin.*` and the Jinja2 ones Ansible users rely on), registered
//! on the environment.
//!
//! Each filter follows what ansible-core 2.19 does for the arguments real playbooks use, checked
//! against the real `ansible-playbook` (tests/conformance). Where minijinja's built-in differs
//! from Jinja2 under Python (`bool`, `int`, `join`, `string`, `round`, `indent`), the Python
//! behaviour wins. Values print as Python prints them (`True`, `None`, `['a']`).
//!
//! Every filter except the few that exist to handle undefined values (`default`, `mandatory`)
//! fails on an undefined argument, as Ansible's do: `missing | upper` is an error naming the
//! variable, never an empty string. Errors name the filter.

use super::crypt;
use super::pyrandom::{PyRandom, Seed};
use super::pyyaml;
use crate::value::{self, Value};
use minijinja::value::{Kwargs, Object, Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};
use regex::Regex;
use std::sync::Arc;

pub(crate) fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Registers a filter that fails on undefined positional arguments, and names itself in errors.
pub(crate) fn add_strict_filter<F, Rv, Args>(
    env: &mut Environment<'static>,
    name: &'static str,
    f: F,
) where
    F: minijinja::functions::Function<Rv, Args>,
    Rv: minijinja::value::FunctionResult,
    Args: for<'a> minijinja::value::FunctionArgs<'a>,
{
    let inner = Value::from_function(f);
    env.add_filter(name, move |state: &mut State, args: Rest<ValueOrKwargs>| {
        let args = args.into_values();
        reject_undefined(&args)?;
        inner
            .call(state, &args)
            .map_err(|e| name_error("filter", name, e))
    });
}

/// Positional arguments and keyword arguments of a variadic call.
pub(crate) fn split_kwargs(args: Rest<ValueOrKwargs>) -> Result<(Vec<Value>, Kwargs), Error> {
    let mut args = args.into_values();
    let kwargs = match args.last() {
        Some(l) if l.is_kwargs() => Kwargs::try_from(args.pop().unwrap_or_default())?,
        _ => Kwargs::from_iter(std::iter::empty::<(String, Value)>()),
    };
    Ok((args, kwargs))
}

/// Fails with an undefined error when any positional argument is undefined.
pub(crate) fn reject_undefined(args: &[Value]) -> Result<(), Error> {
    if args.iter().any(|a| a.is_undefined()) {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    Ok(())
}

/// Adds "the filter 'x' failed" context to an error that does not already say which one.
pub(crate) fn name_error(what: &str, name: &str, e: Error) -> Error {
    match e.kind() {
        ErrorKind::UndefinedError | ErrorKind::UnknownFilter | ErrorKind::UnknownTest => e,
        kind => {
            let detail = e.detail().unwrap_or("").to_string();
            if detail.contains(&format!("'{name}'")) {
                return e;
            }
            let text = if detail.is_empty() {
                kind.to_string()
            } else {
                detail
            };
            Error::new(kind, format!("the {what} '{name}' failed: {text}"))
        }
    }
}

/// Registers every filter on the environment.
/// markupsafe's `escape`: `& < > ' "` as entities.
fn html_escape(s: &str) -> String {
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

pub fn register(env: &mut Environment<'static>) {
    // Undefined-aware: these see undefined values.
    env.add_filter("default", default_filter);
    env.add_filter("d", default_filter);
    env.add_filter("mandatory", mandatory);

    macro_rules! strict {
        ($($name:literal => $f:expr),* $(,)?) => {
            $( add_strict_filter(env, $name, $f); )*
        };
    }
    strict! {
        "bool" => bool_filter,
        "int" => int_filter,
        "float" => float_filter,
        "string" => |v: Value| py_str(&v),
        "lower" => |v: Value| py_str(&v).to_lowercase(),
        "urlencode" => urlencode,
        "replace" => |v: Value, old: Value, new: Value, count: Option<i64>| {
            let (s, old, new) = (py_str(&v), py_str(&old), py_str(&new));
            match count {
                Some(n) if n >= 0 => s.replacen(&old, &new, n as usize),
                _ => s.replace(&old, &new),
            }
        },
        "upper" => |v: Value| py_str(&v).to_uppercase(),
        // Jinja's (markupsafe's) escape. minijinja's would pass a "safe" string through, and
        // baton marks host data that way (crate::value::untrusted): that must be escaped too.
        "escape" => |v: Value| html_escape(&py_str(&v)),
        "e" => |v: Value| html_escape(&py_str(&v)),
        "join" => join,
        "round" => round,
        "indent" => indent,
        "center" => center,
        "truncate" => truncate,
        "wordcount" => |v: Value| py_str(&v).split_whitespace().count(),
        "wordwrap" => wordwrap,
        "format" => format_filter,
        "to_json" => to_json,
        "to_nice_json" => to_nice_json,
        "from_json" => from_json,
        "to_yaml" => to_yaml,
        "to_nice_yaml" => to_nice_yaml,
        "from_yaml" => from_yaml,
        "from_yaml_all" => from_yaml_all,
        "regex_replace" => regex_replace,
        "regex_search" => regex_search,
        "regex_findall" => regex_findall,
        "regex_escape" => regex_escape,
        "b64encode" => b64encode_filter,
        "b64decode" => b64decode_filter,
        "hash" => hash,
        "checksum" => |v: Value| digest("sha1", &v),
        "sha1" => |v: Value| digest("sha1", &v),
        "md5" => |v: Value| digest("md5", &v),
        "password_hash" => password_hash,
        "combine" => combine,
        "dict2items" => dict2items,
        "items2dict" => items2dict,
        "flatten" => flatten,
        "ternary" => ternary,
        "basename" => |v: Value| basename(&py_str(&v)).to_string(),
        "dirname" => |v: Value| dirname(&py_str(&v)),
        "expanduser" => |v: Value| expanduser(&py_str(&v)),
        "expandvars" => |v: Value| expandvars(&py_str(&v)),
        "realpath" => |v: Value| realpath(&py_str(&v)),
        "relpath" => |v: Value, start: Option<Value>| relpath(&py_str(&v), start.as_ref().map(py_str)),
        "path_join" => path_join,
        "splitext" => splitext,
        "quote" => |v: Value| if v.is_none() { "''".to_string() } else { shell_quote(&py_str(&v)) },
        "extract" => extract,
        "union" => union,
        "intersect" => intersect,
        "difference" => difference,
        "symmetric_difference" => symmetric_difference,
        "zip" => zip,
        "zip_longest" => zip_longest,
        "product" => product,
        "permutations" => permutations,
        "combinations" => combinations,
        "random" => random,
        "shuffle" => shuffle,
        "comment" => comment,
        "type_debug" => |v: Value| py_type(&v),
        "human_readable" => human_readable,
        "human_to_bytes" => human_to_bytes,
        "to_datetime" => to_datetime,
        "strftime" => strftime,
        "subelements" => subelements,
        "to_uuid" => to_uuid,
        "log" => |x: f64, base: Option<f64>| match base { Some(b) if b != 10.0 => x.ln() / b.ln(), Some(_) => x.log10(), None => x.ln() },
        "pow" => |x: f64, y: f64| x.powf(y),
        "root" => |x: f64, base: Option<f64>| match base { None | Some(2.0) => x.sqrt(), Some(b) => x.powf(1.0 / b) },
        "ipaddr" => super::ipaddr::ipaddr_filter,
        "ipv4" => super::ipaddr::ipv4_filter,
        "ipv6" => super::ipaddr::ipv6_filter,
        "ansible.utils.ipaddr" => super::ipaddr::ipaddr_filter,
        "ansible.utils.ipv4" => super::ipaddr::ipv4_filter,
        "ansible.utils.ipv6" => super::ipaddr::ipv6_filter,
    }

    // minijinja's built-ins that behave as Jinja2's, made strict about undefined input too.
    macro_rules! builtin {
        ($($name:literal => $f:path),* $(,)?) => {
            $( add_strict_filter(env, $name, $f); )*
        };
    }
    builtin! {
        "title" => minijinja::filters::title,
        "capitalize" => minijinja::filters::capitalize,
        "length" => minijinja::filters::length,
        "count" => minijinja::filters::length,
        "dictsort" => minijinja::filters::dictsort,
        "items" => minijinja::filters::items,
        "reverse" => minijinja::filters::reverse,
        "trim" => minijinja::filters::trim,
        "split" => minijinja::filters::split,
        "abs" => minijinja::filters::abs,
        "attr" => minijinja::filters::attr,
        "first" => minijinja::filters::first,
        "last" => minijinja::filters::last,
        "min" => minijinja::filters::min,
        "max" => minijinja::filters::max,
        "sum" => minijinja::filters::sum,
        "sort" => minijinja::filters::sort,
        "list" => minijinja::filters::list,
        "batch" => minijinja::filters::batch,
        "slice" => minijinja::filters::slice,
        "select" => minijinja::filters::select,
        "reject" => minijinja::filters::reject,
        "selectattr" => minijinja::filters::selectattr,
        "rejectattr" => minijinja::filters::rejectattr,
        "map" => minijinja::filters::map,
        "groupby" => minijinja::filters::groupby,
        "unique" => minijinja::filters::unique,
    }
    // Ansible's FQCN spellings of its own filters.
    for name in [
        "bool",
        "to_json",
        "to_nice_json",
        "from_json",
        "to_yaml",
        "to_nice_yaml",
        "from_yaml",
        "regex_replace",
        "regex_search",
        "regex_findall",
        "regex_escape",
        "b64encode",
        "b64decode",
        "hash",
        "checksum",
        "password_hash",
        "combine",
        "dict2items",
        "items2dict",
        "flatten",
        "ternary",
        "mandatory",
        "basename",
        "dirname",
        "quote",
        "extract",
        "unique",
        "union",
        "intersect",
        "difference",
        "symmetric_difference",
        "zip",
        "zip_longest",
        "product",
        "random",
        "shuffle",
        "comment",
        "type_debug",
        "human_readable",
        "human_to_bytes",
        "to_datetime",
        "strftime",
        "subelements",
        "split",
        "path_join",
        "realpath",
        "relpath",
        "splitext",
        "expanduser",
        "expandvars",
        "to_uuid",
        "default",
    ] {
        env.add_filter(
            format!("ansible.builtin.{name}"),
            move |state: &mut State, args: Rest<ValueOrKwargs>| {
                state.apply_filter(name, &args.into_values())
            },
        );
    }
}

/// Python's `str()` of a value, which Jinja uses wherever a filter wants text.
pub fn py_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::String => v.as_str().unwrap_or("").to_string(),
        ValueKind::None => "None".into(),
        ValueKind::Undefined => String::new(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number => py_number(v),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable if plain_data(v) => {
            value::python_repr(&value::to_json(v))
        }
        _ => v.to_string(),
    }
}

/// Whether a value is data (not an object that prints itself, like a date).
fn plain_data(v: &Value) -> bool {
    v.downcast_object_ref::<DateTime>().is_none()
}

/// Python's `str()` of a number.
pub fn py_number(v: &Value) -> String {
    if v.is_integer() {
        return v.to_string();
    }
    match f64::try_from(v.clone()) {
        Ok(f) => value::python_float(f),
        Err(_) => v.to_string(),
    }
}

/// Python's type names, as Ansible shows them.
pub fn py_type(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::None | ValueKind::Undefined => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number => {
            if v.is_integer() {
                "int"
            } else {
                "float"
            }
        }
        ValueKind::String => "str",
        ValueKind::Seq if v.is_tuple() => "tuple",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        ValueKind::Bytes => "bytes",
        _ if v.downcast_object_ref::<DateTime>().is_some() => "datetime",
        _ => "object",
    }
}

fn flag(kwargs: &Kwargs, name: &str) -> Result<bool, Error> {
    Ok(kwargs
        .get::<Option<Value>>(name)?
        .map(|v| v.is_true())
        .unwrap_or(false))
}

// ---------------------------------------------------------------------------------------------
// Defaults, booleans and numbers

/// `default(value, default_value='', boolean=False)`.
fn default_filter(
    v: Value,
    args: minijinja::value::Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    // Positional arguments through `Rest`: an `Option` parameter would turn an explicit
    // `default(none)` into "no default given".
    let d = args.first().cloned();
    let boolean = args.get(1).cloned();
    let boolean = match boolean {
        Some(b) => b.is_true(),
        None => flag(&kwargs, "boolean")?,
    };
    kwargs.assert_all_used()?;
    Ok(if v.is_undefined() || (boolean && !v.is_true()) {
        d.unwrap_or_else(|| Value::from(""))
    } else {
        v
    })
}

fn mandatory(v: Value, msg: Option<String>) -> Result<Value, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            msg.unwrap_or_else(|| "Mandatory variable not defined.".to_string()),
        ));
    }
    Ok(v)
}

/// Ansible's `bool`: yes/on/true/1 (any case) and 1 are true; no/off/false/0 false; anything
/// else compares with 1 (so 1.0 is true and 2 false), as ansible-core 2.19 still does.
pub fn bool_filter(v: Value) -> bool {
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::String => {
            matches!(
                v.as_str().unwrap_or("").to_lowercase().as_str(),
                "yes" | "on" | "true" | "1"
            )
        }
        ValueKind::Number => f64::try_from(v.clone()).is_ok_and(|f| f == 1.0),
        _ => false,
    }
}

/// Python's `int(text, base)`: whitespace and underscores allowed, a prefix when it matches.
fn parse_py_int(s: &str, base: u32) -> Option<i128> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let (base, digits) = match (base, lower.get(..2)) {
        (16 | 0, Some("0x")) => (16, &t[2..]),
        (8 | 0, Some("0o")) => (8, &t[2..]),
        (2 | 0, Some("0b")) => (2, &t[2..]),
        (0, _) => {
            // Base 0 forbids leading zeros except for 0 itself.
            if t.len() > 1 && t.starts_with('0') && t.chars().any(|c| c != '0' && c != '_') {
                return None;
            }
            (10, t)
        }
        (b, _) => (b, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let n = i128::from_str_radix(&digits.replace('_', ""), base).ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `float(text)`.
fn parse_py_float(s: &str) -> Option<f64> {
    let t = s.trim().to_ascii_lowercase();
    match t.trim_start_matches(['+', '-']) {
        "inf" | "infinity" | "nan" => {}
        body if body.is_empty()
            || !body
                .chars()
                .all(|c| c.is_ascii_digit() || "._e+-".contains(c)) =>
        {
            return None;
        }
        _ => {}
    }
    if t.contains("__") || t.starts_with('_') || t.ends_with('_') {
        return None;
    }
    t.replace('_', "").parse::<f64>().ok()
}

/// Jinja2's `int(value, default=0, base=10)`: text in the base, else through float, else the
/// default.
fn int_filter(
    v: Value,
    default: Option<Value>,
    base: Option<u32>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(0)),
    };
    let base = match base {
        Some(b) => b,
        None => kwargs.get::<Option<u32>>("base")?.unwrap_or(10),
    };
    kwargs.assert_all_used()?;
    if base == 1 || base > 36 {
        return Err(err("int() base must be >= 2 and <= 36, or 0"));
    }
    Ok(match v.kind() {
        ValueKind::String => {
            let s = v.as_str().unwrap_or("");
            match parse_py_int(s, base) {
                Some(i) => Value::from(i),
                None => match parse_py_float(s) {
                    Some(f) if f.is_finite() => Value::from(f.trunc() as i128),
                    _ => default,
                },
            }
        }
        ValueKind::Bool => Value::from(i64::from(v.is_true())),
        ValueKind::Number => {
            if v.is_integer() {
                v
            } else {
                let f = f64::try_from(v.clone()).unwrap_or(0.0);
                if f.is_finite() {
                    Value::from(f.trunc() as i128)
                } else {
                    return Err(err("cannot convert float infinity or NaN to integer"));
                }
            }
        }
        _ => default,
    })
}

/// Jinja2's `float(value, default=0.0)`.
fn float_filter(v: Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(0.0)),
    };
    kwargs.assert_all_used()?;
    Ok(match v.kind() {
        ValueKind::String => match parse_py_float(v.as_str().unwrap_or("")) {
            Some(f) => Value::from(f),
            None => default,
        },
        ValueKind::Bool => Value::from(if v.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => Value::from(f64::try_from(v.clone()).unwrap_or(0.0)),
        _ => default,
    })
}

/// Python's `round(x, n)`: halves go to the even neighbour, integers stay integers.
fn round(
    v: Value,
    precision: Option<i32>,
    method: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let precision = match precision {
        Some(p) => p,
        None => kwargs.get::<Option<i32>>("precision")?.unwrap_or(0),
    };
    let method = match method {
        Some(m) => m,
        None => kwargs
            .get::<Option<String>>("method")?
            .unwrap_or("common".into()),
    };
    kwargs.assert_all_used()?;
    if v.kind() != ValueKind::Number {
        return Err(err(format!(
            "type {} doesn't define __round__ method",
            py_type(&v)
        )));
    }
    let is_int = v.is_integer();
    let f = f64::try_from(v.clone()).unwrap_or(0.0);
    let scale = 10f64.powi(precision);
    match method.as_str() {
        "common" => {
            if is_int && precision >= 0 {
                return Ok(v);
            }
            Ok(Value::from(py_round(f, precision)))
        }
        "ceil" => Ok(Value::from((f * scale).ceil() / scale)),
        "floor" => Ok(Value::from((f * scale).floor() / scale)),
        _ => Err(err("method must be common, ceil or floor")),
    }
}

/// Correctly rounded decimal rounding with ties to even, as Python's `round` for floats.
fn py_round(f: f64, ndigits: i32) -> f64 {
    if !f.is_finite() {
        return f;
    }
    if ndigits >= 0 {
        // Formatting rounds the exact binary value half-to-even, which is Python's rule.
        let s = format!("{:.*}", ndigits as usize, f);
        s.parse().unwrap_or(f)
    } else {
        let scale = 10f64.powi(-ndigits);
        let q = f / scale;
        let r = q.round();
        let r = if (q - q.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
            r - q.signum()
        } else {
            r
        };
        r * scale
    }
}

// ---------------------------------------------------------------------------------------------
// Text

/// Jinja2's `join(value, d='', attribute=None)`, with Python's `str()` of each item.
fn join(v: Value, sep: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
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
fn urlencode(v: Value) -> Result<String, Error> {
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
fn indent(
    v: Value,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = match width {
        Some(w) => w,
        None => kwargs
            .get::<Option<Value>>("width")?
            .unwrap_or(Value::from(4)),
    };
    let first = match first {
        Some(f) => f,
        None => kwargs.get::<Option<bool>>("first")?.unwrap_or(false),
    };
    let blank = match blank {
        Some(b) => b,
        None => kwargs.get::<Option<bool>>("blank")?.unwrap_or(false),
    };
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

fn center(v: Value, width: Option<usize>) -> String {
    center_text(&py_str(&v), width.unwrap_or(80), ' ')
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(
    v: Value,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let length = match length {
        Some(l) => l,
        None => kwargs.get::<Option<usize>>("length")?.unwrap_or(255),
    };
    let killwords = match killwords {
        Some(k) => k,
        None => kwargs.get::<Option<bool>>("killwords")?.unwrap_or(false),
    };
    let end = match end {
        Some(e) => e,
        None => kwargs.get::<Option<String>>("end")?.unwrap_or("...".into()),
    };
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
fn wordwrap(
    v: Value,
    width: Option<usize>,
    break_long_words: Option<bool>,
    wrapstring: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = match width {
        Some(w) => w,
        None => kwargs.get::<Option<usize>>("width")?.unwrap_or(79),
    }
    .max(1);
    let break_long = match break_long_words {
        Some(b) => b,
        None => kwargs
            .get::<Option<bool>>("break_long_words")?
            .unwrap_or(true),
    };
    let wrapstring = match wrapstring {
        Some(w) => w,
        None => kwargs
            .get::<Option<String>>("wrapstring")?
            .unwrap_or("\n".into()),
    };
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

/// Jinja2's `format`: Python's `%` formatting of the value with the arguments.
fn format_filter(v: Value, args: Rest<ValueOrKwargs>) -> Result<String, Error> {
    let fmt = py_str(&v);
    let args = args.into_values();
    let (positional, mapping): (Vec<Value>, Option<Value>) = match args.as_slice() {
        [only] if only.is_kwargs() || only.kind() == ValueKind::Map => {
            (Vec::new(), Some(only.clone()))
        }
        rest => (rest.to_vec(), None),
    };
    percent_format(&fmt, &positional, mapping.as_ref())
}

/// Python's `fmt % args`.
pub fn percent_format(fmt: &str, args: &[Value], mapping: Option<&Value>) -> Result<String, Error> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut next_arg = 0;
    let mut take = |i: &mut usize| -> Result<Value, Error> {
        let _ = i;
        let v = args
            .get(next_arg)
            .cloned()
            .ok_or_else(|| err("not enough arguments for format string"))?;
        next_arg += 1;
        Ok(v)
    };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut key: Option<String> = None;
        if chars.get(i) == Some(&'(') {
            let close = chars[i..]
                .iter()
                .position(|&c| c == ')')
                .ok_or_else(|| err("incomplete format key"))?;
            key = Some(chars[i + 1..i + close].iter().collect());
            i += close + 1;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.get(i) {
            if "-+ #0".contains(f) {
                flags.push(f);
                i += 1;
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = chars.get(i) {
            if d.is_ascii_digit() {
                width.push(d);
                i += 1;
            } else if d == '*' {
                width = py_str(&take(&mut i)?);
                i += 1;
            } else {
                break;
            }
        }
        let mut precision: Option<usize> = None;
        if chars.get(i) == Some(&'.') {
            i += 1;
            let mut p = String::new();
            while let Some(&d) = chars.get(i) {
                if d.is_ascii_digit() {
                    p.push(d);
                    i += 1;
                } else {
                    break;
                }
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let conv = *chars.get(i).ok_or_else(|| err("incomplete format"))?;
        i += 1;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let arg = match (&key, mapping) {
            (Some(k), Some(m)) => m.get_item(&Value::from(k.as_str()))?,
            (Some(k), None) => return Err(err(format!("format requires a mapping for %({k})"))),
            (None, _) => take(&mut i)?,
        };
        if arg.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        let left = flags.contains('-');
        let zero = flags.contains('0') && !left;
        let sign = if flags.contains('+') {
            "+"
        } else if flags.contains(' ') {
            " "
        } else {
            ""
        };
        let width: usize = width.parse().unwrap_or(0);
        let body = match conv {
            's' => {
                let s = py_str(&arg);
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'r' | 'a' => {
                let s = py_repr(&arg);
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'd' | 'i' | 'u' => {
                let n = as_int(&arg)?;
                with_sign(n.abs().to_string(), n < 0, sign)
            }
            'x' | 'X' | 'o' => {
                let n = as_int(&arg)?;
                let digits = match conv {
                    'x' => format!("{:x}", n.unsigned_abs()),
                    'X' => format!("{:X}", n.unsigned_abs()),
                    _ => format!("{:o}", n.unsigned_abs()),
                };
                let prefix = if flags.contains('#') {
                    match conv {
                        'x' => "0x",
                        'X' => "0X",
                        _ => "0o",
                    }
                } else {
                    ""
                };
                with_sign(format!("{prefix}{digits}"), n < 0, sign)
            }
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                let f = f64::try_from(arg.clone())
                    .map_err(|_| err(format!("must be real number, not {}", py_type(&arg))))?;
                let p = precision.unwrap_or(6);
                let s = match conv {
                    'f' | 'F' => format!("{:.*}", p, f.abs()),
                    'e' | 'E' => py_exp(f.abs(), p, conv == 'E'),
                    _ => py_general(f.abs(), p, conv == 'G', flags.contains('#')),
                };
                with_sign(s, f.is_sign_negative() && f != 0.0, sign)
            }
            'c' => match arg.as_str() {
                Some(s) => s.to_string(),
                None => char::from_u32(as_int(&arg)? as u32)
                    .map(String::from)
                    .ok_or_else(|| err("%c arg not in range"))?,
            },
            other => {
                return Err(err(format!(
                    "unsupported format character '{other}' (0x{:x})",
                    other as u32
                )));
            }
        };
        let len = body.chars().count();
        if len >= width {
            out.push_str(&body);
        } else if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(width - len));
        } else if zero && "dixXofFeEgGu".contains(conv) {
            // Zero padding goes after the sign.
            let (s, digits) = match body.chars().next() {
                Some(c @ ('-' | '+' | ' ')) => (c.to_string(), body[1..].to_string()),
                _ => (String::new(), body.clone()),
            };
            out.push_str(&s);
            out.push_str(&"0".repeat(width - len));
            out.push_str(&digits);
        } else {
            out.push_str(&" ".repeat(width - len));
            out.push_str(&body);
        }
    }
    if mapping.is_none() && next_arg < args.len() {
        return Err(err("not all arguments converted during string formatting"));
    }
    Ok(out)
}

fn with_sign(digits: String, negative: bool, sign: &str) -> String {
    if negative {
        format!("-{digits}")
    } else {
        format!("{sign}{digits}")
    }
}

fn as_int(v: &Value) -> Result<i128, Error> {
    match v.kind() {
        ValueKind::Bool => Ok(i128::from(v.is_true())),
        ValueKind::Number => {
            if let Ok(i) = i128::try_from(v.clone()) {
                Ok(i)
            } else {
                Ok(f64::try_from(v.clone()).unwrap_or(0.0).trunc() as i128)
            }
        }
        _ => Err(err(format!(
            "%d format: a real number is required, not {}",
            py_type(v)
        ))),
    }
}

/// `%e` as C and Python print it: at least two exponent digits.
fn py_exp(f: f64, p: usize, upper: bool) -> String {
    let s = format!("{:.*e}", p, f);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let e = if upper { 'E' } else { 'e' };
    format!(
        "{mant}{e}{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

/// `%g`: the shorter of `%e` and `%f` with `p` significant digits, trailing zeros removed.
fn py_general(f: f64, p: usize, upper: bool, alt: bool) -> String {
    let p = p.max(1);
    if f == 0.0 {
        return if alt {
            format!("{:.*}", p - 1, 0.0)
        } else {
            "0".into()
        };
    }
    let exp = f.abs().log10().floor() as i32;
    if exp < -4 || exp >= p as i32 {
        let s = py_exp(f, p - 1, upper);
        if alt {
            s
        } else {
            let (m, e) = s.split_at(s.find(['e', 'E']).unwrap_or(s.len()));
            let m = if m.contains('.') {
                m.trim_end_matches('0').trim_end_matches('.')
            } else {
                m
            };
            format!("{m}{e}")
        }
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let s = format!("{:.*}", decimals, f);
        if alt || !s.contains('.') {
            s
        } else {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

/// Python's `repr()`.
pub fn py_repr(v: &Value) -> String {
    match v.kind() {
        ValueKind::String => value::python_repr(&serde_json::Value::String(
            v.as_str().unwrap_or("").to_string(),
        )),
        _ => py_str(v),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON and YAML

/// Options of Python's `json.dumps` that the filters pass through.
struct JsonOpts {
    indent: Option<usize>,
    sort_keys: bool,
    ensure_ascii: bool,
    item_sep: String,
    key_sep: String,
}

fn json_opts(kwargs: &Kwargs, indent: Option<usize>, sort_keys: bool) -> Result<JsonOpts, Error> {
    let indent = match kwargs.get::<Option<Value>>("indent")? {
        Some(v) if v.is_none() => None,
        Some(v) => Some(v.as_usize().unwrap_or(0)),
        None => indent,
    };
    let sort_keys = kwargs
        .get::<Option<bool>>("sort_keys")?
        .unwrap_or(sort_keys);
    let ensure_ascii = kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true);
    let (item_sep, key_sep) = match kwargs.get::<Option<Vec<String>>>("separators")? {
        Some(s) if s.len() == 2 => (s[0].clone(), s[1].clone()),
        _ if indent.is_some() => (",".to_string(), ": ".to_string()),
        _ => (", ".to_string(), ": ".to_string()),
    };
    for ignored in [
        "vault_to_text",
        "preprocess_unsafe",
        "profile",
        "allow_nan",
        "skipkeys",
    ] {
        let _: Option<Value> = kwargs.get(ignored)?;
    }
    kwargs.assert_all_used()?;
    Ok(JsonOpts {
        indent,
        sort_keys,
        ensure_ascii,
        item_sep,
        key_sep,
    })
}

/// Python's `json.dumps`.
fn py_json(j: &serde_json::Value, o: &JsonOpts, level: usize, out: &mut String) {
    let newline = |out: &mut String, level: usize| {
        if let Some(n) = o.indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
    };
    match j {
        serde_json::Value::Null => out.push_str("null"),
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => out.push_str(&if f.is_nan() {
                "NaN".to_string()
            } else if f.is_infinite() {
                if f > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
            } else {
                value::python_float(f)
            }),
            _ => out.push_str(&n.to_string()),
        },
        serde_json::Value::String(s) => json_string(s, o.ensure_ascii, out),
        serde_json::Value::Array(a) => {
            if a.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(&o.item_sep);
                }
                newline(out, level + 1);
                py_json(item, o, level + 1, out);
            }
            newline(out, level);
            out.push(']');
        }
        serde_json::Value::Object(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = m.keys().collect();
            if o.sort_keys {
                keys.sort();
            }
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(&o.item_sep);
                }
                newline(out, level + 1);
                json_string(k, o.ensure_ascii, out);
                out.push_str(&o.key_sep);
                py_json(&m[k], o, level + 1, out);
            }
            newline(out, level);
            out.push('}');
        }
    }
}

fn json_string(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// JSON data of a value; JSON keys as `json.dumps` writes non-string keys.
fn json_of(v: &Value) -> serde_json::Value {
    fn walk(v: &Value) -> serde_json::Value {
        match v.kind() {
            ValueKind::Map => {
                let mut m = serde_json::Map::new();
                if let Ok(keys) = v.try_iter() {
                    for k in keys {
                        let key = match k.kind() {
                            ValueKind::Bool => if k.is_true() { "true" } else { "false" }.into(),
                            ValueKind::None => "null".into(),
                            _ => py_str(&k),
                        };
                        m.insert(key, walk(&v.get_item(&k).unwrap_or_default()));
                    }
                }
                serde_json::Value::Object(m)
            }
            ValueKind::Seq | ValueKind::Iterable => serde_json::Value::Array(
                v.try_iter()
                    .map(|i| i.map(|x| walk(&x)).collect())
                    .unwrap_or_default(),
            ),
            _ => match v.downcast_object_ref::<DateTime>() {
                Some(d) => serde_json::Value::String(d.iso()),
                None => value::to_json(v),
            },
        }
    }
    walk(v)
}

fn to_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let o = json_opts(&kwargs, None, false)?;
    let mut out = String::new();
    py_json(&json_of(&v), &o, 0, &mut out);
    Ok(out)
}

fn to_nice_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let mut o = json_opts(&kwargs, Some(4), true)?;
    // to_nice_json always uses these separators.
    o.item_sep = ",".into();
    o.key_sep = ": ".into();
    let mut out = String::new();
    py_json(&json_of(&v), &o, 0, &mut out);
    Ok(out)
}

fn from_json(s: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let _: Option<Value> = kwargs.get("profile")?;
    kwargs.assert_all_used()?;
    let text = s
        .as_str()
        .ok_or_else(|| err(format!("the JSON object must be str, not {}", py_type(&s))))?;
    let j: serde_json::Value =
        serde_json::from_str(text).map_err(|e| err(format!("from_json: {e}")))?;
    Ok(value::from_json(&j))
}

fn yaml_opts(
    kwargs: &Kwargs,
    indent: Option<usize>,
    flow: Option<bool>,
) -> Result<pyyaml::DumpOptions, Error> {
    let mut o = pyyaml::DumpOptions::default();
    if let Some(i) = kwargs.get::<Option<usize>>("indent")?.or(indent) {
        o.indent = i;
    }
    if let Some(w) = kwargs.get::<Option<usize>>("width")? {
        o.width = w;
    }
    o.default_flow_style = match kwargs.get::<Option<Value>>("default_flow_style")? {
        Some(v) if v.is_none() => None,
        Some(v) => Some(v.is_true()),
        None => flow,
    };
    for ignored in [
        "allow_unicode",
        "sort_keys",
        "explicit_start",
        "line_break",
        "encoding",
    ] {
        let _: Option<Value> = kwargs.get(ignored)?;
    }
    kwargs.assert_all_used()?;
    Ok(o)
}

fn to_yaml(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let o = yaml_opts(&kwargs, None, None)?;
    pyyaml::dump(&v, o).map_err(err)
}

fn to_nice_yaml(v: Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let o = yaml_opts(&kwargs, Some(indent.unwrap_or(4)), Some(false))?;
    pyyaml::dump(&v, o).map_err(err)
}

fn from_yaml(v: Value) -> Result<Value, Error> {
    match v.as_str() {
        Some(s) => {
            let node = crate::yaml::parse(&crate::diagnostics::Source::new("<from_yaml>", s))
                .map_err(|e| err(format!("from_yaml: {}", e.one_line())))?;
            Ok(value::from_node(&node))
        }
        None => Ok(v),
    }
}

fn from_yaml_all(v: Value) -> Result<Value, Error> {
    if v.is_none() {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    match v.as_str() {
        Some(s) => {
            let nodes =
                crate::yaml::parse_all(&crate::diagnostics::Source::new("<from_yaml_all>", s))
                    .map_err(|e| err(format!("from_yaml_all: {}", e.one_line())))?;
            Ok(nodes.iter().map(value::from_node).collect())
        }
        None => Ok(v),
    }
}

// ---------------------------------------------------------------------------------------------
// Regular expressions (Python's `re` syntax)

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

fn regex_replace(
    v: Value,
    pat: Option<String>,
    repl: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let pat = match pat {
        Some(p) => p,
        None => kwargs.get::<Option<String>>("pattern")?.unwrap_or_default(),
    };
    let repl = match repl {
        Some(r) => r,
        None => kwargs
            .get::<Option<String>>("replacement")?
            .unwrap_or_default(),
    };
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

fn regex_search(v: Value, pat: String, groups: Rest<ValueOrKwargs>) -> Result<Value, Error> {
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

fn regex_findall(v: Value, pat: String, kwargs: Kwargs) -> Result<Value, Error> {
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

fn regex_escape(v: Value, re_type: Option<String>) -> Result<String, Error> {
    let s = py_str(&v);
    match re_type.as_deref().unwrap_or("python") {
        "python" => Ok(s
            .chars()
            .map(|c| {
                if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
                    format!("\\{c}")
                } else {
                    c.to_string()
                }
            })
            .collect()),
        "posix_basic" => Ok(s
            .chars()
            .map(|c| {
                if "].[^$*\\".contains(c) {
                    format!("\\{c}")
                } else {
                    c.to_string()
                }
            })
            .collect()),
        "posix_extended" => Err(err("Regex type (posix_extended) not yet implemented")),
        other => Err(err(format!("Invalid regex type ({other})"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Encodings and hashes

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn b64encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn b64decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            break;
        }
        let c = match c {
            b'-' => b'+',
            b'_' => b'/',
            c => c,
        };
        let v = B64.iter().position(|&x| x == c)? as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

fn b64encode_filter(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let _: Option<String> = kwargs.get("encoding")?;
    let urlsafe = flag(&kwargs, "urlsafe")?;
    kwargs.assert_all_used()?;
    let bytes = match v.as_bytes() {
        Some(b) if v.kind() == ValueKind::Bytes => b.to_vec(),
        _ => py_str(&v).into_bytes(),
    };
    let out = b64encode(&bytes);
    Ok(if urlsafe {
        out.replace('+', "-").replace('/', "_")
    } else {
        out
    })
}

fn b64decode_filter(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let _: Option<String> = kwargs.get("encoding")?;
    let _: Option<bool> = kwargs.get("urlsafe")?;
    kwargs.assert_all_used()?;
    let bytes =
        b64decode(&py_str(&v)).ok_or_else(|| err("Incorrect padding or invalid base64 data"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn digest(algorithm: &str, v: &Value) -> Result<String, Error> {
    crypt::hexdigest(algorithm, py_str(v).as_bytes())
        .ok_or_else(|| err(format!("unsupported hash type {algorithm}")))
}

fn hash(v: Value, algorithm: Option<String>) -> Result<String, Error> {
    digest(algorithm.as_deref().unwrap_or("sha1"), &v)
}

fn password_hash(
    v: Value,
    hashtype: Option<String>,
    salt: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let hashtype = match hashtype {
        Some(h) => h,
        None => kwargs
            .get::<Option<String>>("hashtype")?
            .unwrap_or("sha512".into()),
    };
    let salt = match salt {
        Some(s) => Some(s),
        None => kwargs.get::<Option<Value>>("salt")?,
    };
    let salt_size: Option<usize> = kwargs.get("salt_size")?;
    let rounds: Option<u32> = kwargs.get("rounds")?;
    let _ident: Option<String> = kwargs.get("ident")?;
    kwargs.assert_all_used()?;
    let scheme = crypt::Scheme::from_name(&hashtype).ok_or_else(|| {
        err(format!(
            "{hashtype} is not in the list of supported passlib algorithms: md5, sha256, sha512 (baton does not implement blowfish/bcrypt)"
        ))
    })?;
    let salt = match salt.filter(|s| !s.is_none() && s.is_true()) {
        Some(s) => py_str(&s),
        None => crypt::random_salt(salt_size.unwrap_or(scheme.salt_size())).map_err(err)?,
    };
    let rounds = rounds.filter(|r| *r > 0).or(scheme.ansible_rounds());
    crypt::crypt(scheme, py_str(&v).as_bytes(), &salt, rounds).map_err(err)
}

// ---------------------------------------------------------------------------------------------
// Dictionaries and lists

fn combine(base: Value, others: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (others, kwargs) = split_kwargs(others)?;
    let recursive = flag(&kwargs, "recursive")?;
    let list_merge: String = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or("replace".into());
    kwargs.assert_all_used()?;
    if !matches!(
        list_merge.as_str(),
        "replace" | "keep" | "append" | "prepend" | "append_rp" | "prepend_rp"
    ) {
        return Err(err(format!(
            "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp', not '{list_merge}'"
        )));
    }
    // Ansible flattens the terms one level: `[d1, d2] | combine` works.
    let mut dicts = Vec::new();
    for term in std::iter::once(&base).chain(others.iter()) {
        if term.kind() == ValueKind::Seq {
            dicts.extend(term.try_iter()?);
        } else {
            dicts.push(term.clone());
        }
    }
    let Some(first) = dicts.first() else {
        return Ok(value::map(Vec::<(Value, Value)>::new()));
    };
    for d in &dicts {
        if d.kind() != ValueKind::Map {
            return Err(err(format!(
                "failed to combine variables, expected dicts but got a '{}'",
                py_type(d)
            )));
        }
    }
    let mut acc = json_of(first);
    for d in &dicts[1..] {
        merge_json(&mut acc, json_of(d), recursive, &list_merge);
    }
    Ok(value::from_json(&acc))
}

fn merge_json(a: &mut serde_json::Value, b: serde_json::Value, recursive: bool, list_merge: &str) {
    let (serde_json::Value::Object(x), serde_json::Value::Object(y)) = (&mut *a, b) else {
        return;
    };
    for (k, v) in y {
        match x.get_mut(&k) {
            Some(existing) if recursive && existing.is_object() && v.is_object() => {
                merge_json(existing, v, recursive, list_merge)
            }
            Some(serde_json::Value::Array(existing)) if v.is_array() && list_merge != "replace" => {
                let serde_json::Value::Array(new) = v else {
                    continue;
                };
                match list_merge {
                    "keep" => {}
                    "append" => existing.extend(new),
                    "prepend" => {
                        let old = std::mem::take(existing);
                        *existing = new;
                        existing.extend(old);
                    }
                    "append_rp" => {
                        existing.retain(|e| !new.contains(e));
                        existing.extend(new);
                    }
                    "prepend_rp" => {
                        let old: Vec<_> = std::mem::take(existing)
                            .into_iter()
                            .filter(|e| !new.contains(e))
                            .collect();
                        *existing = new;
                        existing.extend(old);
                    }
                    _ => *existing = new,
                }
            }
            _ => {
                x.insert(k, v);
            }
        }
    }
}

fn dict2items(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or("key".into());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or("value".into());
    kwargs.assert_all_used()?;
    if v.kind() != ValueKind::Map {
        return Err(err(format!(
            "dict2items requires a dictionary, got <class '{}'> instead.",
            py_type(&v)
        )));
    }
    let items: Vec<Value> = v
        .try_iter()?
        .map(|k| {
            let val = v.get_item(&k).unwrap_or_default();
            value::map([(key_name.as_str(), k), (value_name.as_str(), val)])
        })
        .collect();
    Ok(Value::from(items))
}

fn items2dict(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or("key".into());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or("value".into());
    kwargs.assert_all_used()?;
    if !matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return Err(err(format!(
            "items2dict requires a list, got <class '{}'> instead.",
            py_type(&v)
        )));
    }
    let mut pairs = Vec::new();
    for item in v.try_iter()? {
        if item.kind() != ValueKind::Map {
            return Err(err(format!(
                "items2dict requires a list of dictionaries, got {} instead",
                py_type(&item)
            )));
        }
        let k = item.get_item(&Value::from(key_name.as_str()))?;
        let val = item.get_item(&Value::from(value_name.as_str()))?;
        if k.is_undefined() || val.is_undefined() {
            return Err(err(format!(
                "items2dict requires each dictionary in the list to contain the keys '{key_name}' and '{value_name}', got {}",
                py_str(&item)
            )));
        }
        pairs.push((k, val));
    }
    Ok(value::map(pairs))
}

/// Ansible's `flatten(levels=None, skip_nulls=True)`; null-ish items are `None`, 'None', 'null'.
fn flatten(v: Value, levels: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get::<Option<Value>>("levels")?,
    };
    let levels = match levels {
        Some(l) if l.is_none() => None,
        Some(l) => Some(as_int(&l)? as i64),
        None => None,
    };
    let skip_nulls = kwargs
        .get::<Option<Value>>("skip_nulls")?
        .map(|v| v.is_true())
        .unwrap_or(true);
    kwargs.assert_all_used()?;
    fn walk(
        v: &Value,
        levels: Option<i64>,
        skip_nulls: bool,
        out: &mut Vec<Value>,
    ) -> Result<(), Error> {
        for item in v.try_iter()? {
            let nullish = item.is_none() || matches!(item.as_str(), Some("None" | "null"));
            if skip_nulls && nullish {
                continue;
            }
            if matches!(item.kind(), ValueKind::Seq | ValueKind::Iterable) {
                match levels {
                    None => walk(&item, None, skip_nulls, out)?,
                    Some(l) if l >= 1 => walk(&item, Some(l - 1), skip_nulls, out)?,
                    Some(_) => out.push(item),
                }
            } else {
                out.push(item);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(&v, levels, skip_nulls, &mut out)?;
    Ok(Value::from(out))
}

fn ternary(v: Value, t: Value, f: Value, none: Option<Value>) -> Value {
    match none {
        Some(n) if v.is_none() && !n.is_none() => n,
        _ if v.is_true() => t,
        _ => f,
    }
}

fn extract(item: Value, container: Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut keys = vec![item];
    match morekeys {
        None => {}
        Some(m) if m.kind() == ValueKind::Seq => keys.extend(m.try_iter()?),
        Some(m) => keys.push(m),
    }
    let mut value = container;
    for k in keys {
        if value.is_undefined() {
            return Ok(value);
        }
        value = value.get_item(&k).unwrap_or_default();
    }
    Ok(value)
}

fn items_of(v: &Value) -> Result<Vec<Value>, Error> {
    match v.kind() {
        ValueKind::String => Ok(v
            .as_str()
            .unwrap_or("")
            .chars()
            .map(|c| Value::from(c.to_string()))
            .collect()),
        _ => Ok(v.try_iter()?.collect()),
    }
}

fn dedup(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

// Python computes these on sets, whose order for strings changes from run to run; baton keeps the
// order of first appearance, which is one of the orders Python may give.
fn union(a: Value, b: Value) -> Result<Value, Error> {
    let mut items = items_of(&a)?;
    items.extend(items_of(&b)?);
    Ok(Value::from(dedup(items)))
}

fn intersect(a: Value, b: Value) -> Result<Value, Error> {
    let other = items_of(&b)?;
    Ok(Value::from(dedup(
        items_of(&a)?
            .into_iter()
            .filter(|x| other.contains(x))
            .collect(),
    )))
}

fn difference(a: Value, b: Value) -> Result<Value, Error> {
    let other = items_of(&b)?;
    Ok(Value::from(dedup(
        items_of(&a)?
            .into_iter()
            .filter(|x| !other.contains(x))
            .collect(),
    )))
}

fn symmetric_difference(a: Value, b: Value) -> Result<Value, Error> {
    let (x, y) = (items_of(&a)?, items_of(&b)?);
    let mut out: Vec<Value> = x.iter().filter(|i| !y.contains(i)).cloned().collect();
    out.extend(y.iter().filter(|i| !x.contains(i)).cloned());
    Ok(Value::from(dedup(out)))
}

fn zip(first: Value, others: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (others, kwargs) = split_kwargs(others)?;
    kwargs.assert_all_used()?;
    let mut lists = vec![items_of(&first)?];
    for o in others.iter() {
        lists.push(items_of(o)?);
    }
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok((0..n)
        .map(|i| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>()))
        .collect())
}

fn zip_longest(first: Value, others: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (others, kw) = split_kwargs(others)?;
    let fill = kw
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    kw.assert_all_used()?;
    let mut lists = vec![items_of(&first)?];
    for o in others.iter() {
        lists.push(items_of(o)?);
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..n)
        .map(|i| {
            Value::from(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                    .collect::<Vec<_>>(),
            )
        })
        .collect())
}

fn product(first: Value, others: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (others, kw) = split_kwargs(others)?;
    let repeat = kw.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kw.assert_all_used()?;
    let mut pools = vec![items_of(&first)?];
    for o in others.iter() {
        pools.push(items_of(o)?);
    }
    let pools: Vec<Vec<Value>> = (0..repeat).flat_map(|_| pools.clone()).collect();
    let mut result: Vec<Vec<Value>> = vec![Vec::new()];
    for pool in &pools {
        let mut next = Vec::new();
        for r in &result {
            for item in pool {
                let mut t = r.clone();
                t.push(item.clone());
                next.push(t);
            }
        }
        result = next;
        if result.len() > 1_000_000 {
            return Err(err("product: the result is too large"));
        }
    }
    Ok(result.into_iter().map(Value::from).collect())
}

fn permutations(v: Value, r: Option<usize>) -> Result<Value, Error> {
    let pool = items_of(&v)?;
    let n = pool.len();
    let r = r.unwrap_or(n);
    if r > n {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    // itertools.permutations' order.
    let mut out = Vec::new();
    let mut indices: Vec<usize> = (0..n).collect();
    let mut cycles: Vec<usize> = (n - r + 1..=n).rev().collect();
    out.push(Value::from(
        indices[..r]
            .iter()
            .map(|&i| pool[i].clone())
            .collect::<Vec<_>>(),
    ));
    'outer: loop {
        for i in (0..r).rev() {
            cycles[i] -= 1;
            if cycles[i] == 0 {
                let moved = indices.remove(i);
                indices.push(moved);
                cycles[i] = n - i;
            } else {
                let j = cycles[i];
                indices.swap(i, n - j);
                out.push(Value::from(
                    indices[..r]
                        .iter()
                        .map(|&i| pool[i].clone())
                        .collect::<Vec<_>>(),
                ));
                if out.len() > 1_000_000 {
                    return Err(err("permutations: the result is too large"));
                }
                continue 'outer;
            }
        }
        break;
    }
    Ok(Value::from(out))
}

fn combinations(v: Value, r: usize) -> Result<Value, Error> {
    let pool = items_of(&v)?;
    let n = pool.len();
    if r > n {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let mut out = Vec::new();
    let mut idx: Vec<usize> = (0..r).collect();
    loop {
        out.push(Value::from(
            idx.iter().map(|&i| pool[i].clone()).collect::<Vec<_>>(),
        ));
        if out.len() > 1_000_000 {
            return Err(err("combinations: the result is too large"));
        }
        let Some(i) = (0..r).rev().find(|&i| idx[i] != i + n - r) else {
            break;
        };
        idx[i] += 1;
        for j in i + 1..r {
            idx[j] = idx[j - 1] + 1;
        }
    }
    Ok(Value::from(out))
}

fn seed_of(v: &Value) -> Result<PyRandom, Error> {
    Ok(match v.kind() {
        ValueKind::String => PyRandom::new(Seed::Str(v.as_str().unwrap_or(""))),
        ValueKind::Bool => PyRandom::new(Seed::Int(i128::from(v.is_true()))),
        ValueKind::Number if v.is_integer() => {
            PyRandom::new(Seed::Int(i128::try_from(v.clone()).unwrap_or(0)))
        }
        _ => PyRandom::new(Seed::Str(&py_str(v))),
    })
}

/// Ansible's `random(end, start=None, step=None, seed=None)`.
fn random(
    end: Value,
    start: Option<Value>,
    step: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let start = match start {
        Some(s) => Some(s),
        None => kwargs.get::<Option<Value>>("start")?,
    };
    let step = match step {
        Some(s) => Some(s),
        None => kwargs.get::<Option<Value>>("step")?,
    };
    let seed: Option<Value> = kwargs.get("seed")?;
    kwargs.assert_all_used()?;
    let mut rng = match seed.filter(|s| !s.is_none()) {
        Some(s) => Some(seed_of(&s)?),
        None => None,
    };
    let below = |rng: &mut Option<PyRandom>, n: u128| -> Result<u128, Error> {
        match rng {
            Some(r) => Ok(r.randbelow(n)),
            None => crypt::os_random_below(n.min(usize::MAX as u128) as usize)
                .map(|i| i as u128)
                .map_err(err),
        }
    };
    if end.kind() == ValueKind::Number && (end.is_integer()) {
        let end = i128::try_from(end.clone()).unwrap_or(0);
        let start = start
            .filter(|s| s.is_true())
            .map(|s| as_int(&s))
            .transpose()?
            .unwrap_or(0);
        let step = step
            .filter(|s| s.is_true())
            .map(|s| as_int(&s))
            .transpose()?
            .unwrap_or(1);
        let value = match &mut rng {
            Some(r) => r.randrange(start, end, step),
            None => {
                let width = end - start;
                let n = match step {
                    0 => 0,
                    s if s > 0 => (width + s - 1).div_euclid(s),
                    s => (width + s + 1).div_euclid(s),
                };
                if n <= 0 {
                    None
                } else {
                    Some(start + step * below(&mut rng, n as u128)? as i128)
                }
            }
        };
        return value.map(Value::from).ok_or_else(|| {
            err(format!(
                "empty range for randrange() ({start}, {end}, {step})"
            ))
        });
    }
    if matches!(
        end.kind(),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::String | ValueKind::Map
    ) {
        if start.is_some_and(|s| s.is_true()) || step.is_some_and(|s| s.is_true()) {
            return Err(err("start and step can only be used with integer values"));
        }
        let items = items_of(&end)?;
        if items.is_empty() {
            return Err(err("Cannot choose from an empty sequence"));
        }
        let i = below(&mut rng, items.len() as u128)? as usize;
        return Ok(items[i].clone());
    }
    Err(err("random can only be used on sequences and integers"))
}

fn shuffle(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let seed: Option<Value> = kwargs.get("seed")?;
    kwargs.assert_all_used()?;
    let mut items = items_of(&v)?;
    match seed.filter(|s| s.is_true()) {
        Some(s) => seed_of(&s)?.shuffle(&mut items),
        None => {
            for i in (1..items.len()).rev() {
                let j = crypt::os_random_below(i + 1).map_err(err)?;
                items.swap(i, j);
            }
        }
    }
    Ok(Value::from(items))
}

fn subelements(obj: Value, subelements: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let skip_missing = flag(&kwargs, "skip_missing")?;
    kwargs.assert_all_used()?;
    let elements: Vec<Value> = match obj.kind() {
        ValueKind::Map => obj
            .try_iter()?
            .map(|k| obj.get_item(&k).unwrap_or_default())
            .collect(),
        ValueKind::Seq => obj.try_iter()?.collect(),
        _ => return Err(err("obj must be a list of dicts or a nested dict")),
    };
    let path: Vec<Value> = match subelements.kind() {
        ValueKind::Seq => subelements.try_iter()?.collect(),
        ValueKind::String => subelements
            .as_str()
            .unwrap_or("")
            .split('.')
            .map(Value::from)
            .collect(),
        _ => return Err(err("subelements must be a list or a string")),
    };
    let mut out = Vec::new();
    for element in elements {
        let mut values = element.clone();
        let mut missing = false;
        for key in &path {
            if values.kind() != ValueKind::Map {
                return Err(err(format!(
                    "the key {} should point to a dictionary, got '{}'",
                    py_str(key),
                    py_str(&values)
                )));
            }
            let next = values.get_item(key).unwrap_or_default();
            if next.is_undefined() {
                if skip_missing {
                    missing = true;
                    break;
                }
                return Err(err(format!(
                    "could not find {} key in iterated item {}",
                    py_repr(key),
                    py_str(&values)
                )));
            }
            values = next;
        }
        if missing {
            continue;
        }
        if values.kind() != ValueKind::Seq {
            return Err(err(format!(
                "the key {} should point to a list, got {}",
                py_repr(path.last().unwrap_or(&Value::from(""))),
                py_repr(&values)
            )));
        }
        for v in values.try_iter()? {
            out.push(Value::from(vec![element.clone(), v]));
        }
    }
    Ok(Value::from(out))
}

// ---------------------------------------------------------------------------------------------
// Paths (controller side, POSIX)

pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or("")
}

/// Python's `posixpath.dirname`.
pub fn dirname(p: &str) -> String {
    let i = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let head = &p[..i];
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

fn home() -> String {
    std::env::var("HOME").unwrap_or_else(|_| "/".to_string())
}

fn expanduser(p: &str) -> String {
    if p == "~" {
        return home();
    }
    match p.strip_prefix("~/") {
        Some(rest) => format!("{}/{rest}", home().trim_end_matches('/')),
        None => p.to_string(),
    }
}

fn expandvars(p: &str) -> String {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re =
        RE.get_or_init(|| Regex::new(r"\$(\w+|\{[^}]*\})").expect("the variable pattern is valid"));
    re.replace_all(p, |c: &regex::Captures| {
        let name = c[1].trim_start_matches('{').trim_end_matches('}');
        std::env::var(name).unwrap_or_else(|_| c[0].to_string())
    })
    .into_owned()
}

/// Python's `posixpath.normpath`.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let initial = if p.starts_with("//") && !p.starts_with("///") {
        2
    } else if p.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if initial == 0 && (parts.is_empty() || parts.last() == Some(&"..")) {
                    parts.push("..");
                } else if !parts.is_empty() {
                    parts.pop();
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    let out = format!("{}{joined}", "/".repeat(initial));
    if out.is_empty() { ".".into() } else { out }
}

fn absolute(p: &str) -> String {
    if p.starts_with('/') {
        normpath(p)
    } else {
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "/".into());
        normpath(&format!("{cwd}/{p}"))
    }
}

/// Python's `os.path.realpath`: symlinks resolved as far as the path exists.
fn realpath(p: &str) -> String {
    let abs = absolute(p);
    let mut existing = std::path::PathBuf::from(&abs);
    let mut rest: Vec<String> = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(&existing) {
            let mut out = c.display().to_string();
            for r in rest.iter().rev() {
                out = format!("{}/{r}", out.trim_end_matches('/'));
            }
            return normpath(&out);
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_string_lossy().into_owned());
                existing = parent.to_path_buf();
            }
            _ => return abs,
        }
    }
}

/// Python's `os.path.relpath(path, start)`.
fn relpath(p: &str, start: Option<String>) -> String {
    let path = absolute(p);
    let start = absolute(start.as_deref().unwrap_or("."));
    let a: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let b: Vec<&str> = start.split('/').filter(|s| !s.is_empty()).collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = vec![".."; b.len() - common];
    parts.extend(&a[common..]);
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn path_join(v: Value) -> Result<String, Error> {
    let parts: Vec<String> = match v.kind() {
        ValueKind::String => return Ok(v.as_str().unwrap_or("").to_string()),
        _ => v.try_iter()?.map(|p| py_str(&p)).collect(),
    };
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') || out.is_empty() {
            out = p;
        } else if out.ends_with('/') {
            out.push_str(&p);
        } else {
            out.push('/');
            out.push_str(&p);
        }
    }
    Ok(out)
}

/// Python's `os.path.splitext`, as a two-item list.
fn splitext(v: Value) -> Value {
    let p = py_str(&v);
    let base_start = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let base = &p[base_start..];
    let lead = base.len() - base.trim_start_matches('.').len();
    match base[lead..].rfind('.') {
        Some(i) => {
            let at = base_start + lead + i;
            Value::from(vec![Value::from(&p[..at]), Value::from(&p[at..])])
        }
        None => Value::from(vec![Value::from(p.as_str()), Value::from("")]),
    }
}

/// Shell-quotes a string as Python's `shlex.quote` does.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

// ---------------------------------------------------------------------------------------------
// Presentation

/// Ansible's `comment(style='plain', **kw)`.
fn comment(v: Value, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let style = style.unwrap_or_else(|| "plain".into());
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            return Err(err(format!(
                "Invalid style '{other}'. Available styles: plain, erlang, c, cblock, xml"
            )));
        }
    };
    let kw = |name: &str| -> Result<Option<String>, Error> {
        Ok(kwargs.get::<Option<Value>>(name)?.map(|v| py_str(&v)))
    };
    let prepostfix = kw("decoration")?.unwrap_or_else(|| decoration.to_string());
    let newline = kw("newline")?.unwrap_or_else(|| "\n".into());
    let beginning = kw("beginning")?.unwrap_or_else(|| beginning.to_string());
    // A style's own decoration applies to the lines; the pre/postfix default to it trimmed.
    let decoration = kw("decoration")?.unwrap_or_else(|| {
        if style == "plain" || style == "erlang" || style == "c" {
            String::new()
        } else {
            decoration.to_string()
        }
    });
    let prefix = kw("prefix")?.unwrap_or_else(|| prepostfix.trim_end().to_string());
    let postfix = kw("postfix")?.unwrap_or_else(|| prepostfix.trim_end().to_string());
    let prefix_count: usize = kw("prefix_count")?
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let postfix_count: usize = kw("postfix_count")?
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let end = kw("end")?.unwrap_or_else(|| end.to_string());
    kwargs.assert_all_used()?;
    // Python's dict update: the style's decoration replaces the default '' for the text lines
    // (plain/erlang/c put it in 'decoration' as well).
    let line_decoration =
        if ["plain", "erlang", "c"].contains(&style.as_str()) && decoration.is_empty() {
            prepostfix.clone()
        } else {
            decoration.clone()
        };
    let text = py_str(&v);
    let mut s = String::new();
    if !beginning.is_empty() {
        s.push_str(&beginning);
        s.push_str(&newline);
    }
    if !prefix.is_empty() {
        if prefix != newline {
            s.push_str(&format!("{prefix}{newline}").repeat(prefix_count));
        } else {
            s.push_str(&newline.repeat(prefix_count));
        }
    }
    let body = format!(
        "{line_decoration}{}",
        text.replace(&newline, &format!("{newline}{line_decoration}"))
    )
    .replace(
        &format!("{line_decoration}{newline}"),
        &format!("{}{newline}", line_decoration.trim_end()),
    );
    s.push_str(&body);
    for _ in 0..postfix_count {
        s.push_str(&newline);
        s.push_str(&postfix);
    }
    if !end.is_empty() {
        s.push_str(&newline);
        s.push_str(&end);
    }
    Ok(s)
}

const SIZE_RANGES: [(char, u128); 9] = [
    ('Y', 1 << 80),
    ('Z', 1 << 70),
    ('E', 1 << 60),
    ('P', 1 << 50),
    ('T', 1 << 40),
    ('G', 1 << 30),
    ('M', 1 << 20),
    ('K', 1 << 10),
    ('B', 1),
];

fn human_readable(
    size: Value,
    isbits: Option<bool>,
    unit: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let isbits = match isbits {
        Some(b) => b,
        None => flag(&kwargs, "isbits")?,
    };
    let unit = match unit {
        Some(u) => Some(u),
        None => kwargs.get::<Option<String>>("unit")?,
    };
    kwargs.assert_all_used()?;
    let size = match size.kind() {
        ValueKind::Number => f64::try_from(size.clone()).unwrap_or(0.0),
        ValueKind::String => parse_py_float(size.as_str().unwrap_or(""))
            .ok_or_else(|| err("human_readable() can't interpret the input"))?,
        _ => return Err(err("human_readable() failed on bad input")),
    };
    let base = if isbits { "bits" } else { "Bytes" };
    let mut chosen = ('B', 1u128);
    for (suffix, limit) in SIZE_RANGES {
        chosen = (suffix, limit);
        let hit = match &unit {
            None => size >= limit as f64,
            Some(u) => u.to_uppercase().starts_with(suffix),
        };
        if hit {
            break;
        }
    }
    let (suffix, limit) = chosen;
    let suffix = if limit != 1 {
        format!("{suffix}{}", &base[..1])
    } else {
        base.to_string()
    };
    Ok(format!("{:.2} {suffix}", size / limit as f64))
}

fn human_to_bytes(
    size: Value,
    default_unit: Option<String>,
    isbits: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default_unit = match default_unit {
        Some(u) => Some(u),
        None => kwargs.get::<Option<String>>("default_unit")?,
    };
    let isbits = match isbits {
        Some(b) => b,
        None => flag(&kwargs, "isbits")?,
    };
    kwargs.assert_all_used()?;
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").expect("the size pattern is valid")
    });
    let text = py_str(&size);
    let caps = re.captures(&text).ok_or_else(|| {
        err(format!(
            "human_to_bytes() can't interpret following string: {text}"
        ))
    })?;
    let num: f64 = caps[1]
        .parse()
        .map_err(|_| err("human_to_bytes() can't interpret the input"))?;
    let unit = caps.get(2).map(|m| m.as_str().to_string()).or(default_unit);
    let Some(unit) = unit else {
        return Ok(Value::from(py_round(num, 0) as i128));
    };
    let key = unit.chars().next().unwrap_or('B').to_ascii_uppercase();
    let limit = SIZE_RANGES
        .iter()
        .find(|(s, _)| *s == key)
        .map(|(_, l)| *l)
        .ok_or_else(|| {
            err(format!(
                "human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
            ))
        })?;
    if unit.chars().count() > 1 {
        let names = [
            ('B', "byte", "bit"),
            ('K', "kilobyte", "kilobit"),
            ('M', "megabyte", "megabit"),
            ('G', "gigabyte", "gigabit"),
            ('T', "terabyte", "terabit"),
            ('P', "petabyte", "petabit"),
            ('E', "exabyte", "exabit"),
            ('Z', "zetabyte", "zetabit"),
            ('Y', "yottabyte", "yottabit"),
        ];
        let (_, byte_name, bit_name) = names
            .iter()
            .find(|(k, _, _)| *k == key)
            .copied()
            .unwrap_or(('B', "byte", "bit"));
        let (long, short) = if isbits {
            (
                bit_name.to_string(),
                if key == 'B' {
                    "b".to_string()
                } else {
                    format!("{key}b")
                },
            )
        } else {
            (
                byte_name.to_string(),
                if key == 'B' {
                    "B".to_string()
                } else {
                    format!("{key}B")
                },
            )
        };
        if unit.to_lowercase() != long && unit != short {
            return Err(err(format!(
                "human_to_bytes() failed to convert {text}. Value is not a valid string (expect {short})"
            )));
        }
    }
    Ok(Value::from(py_round(num * limit as f64, 0) as i128))
}

fn to_uuid(v: Value, namespace: Option<String>) -> Result<String, Error> {
    // uuid5 with Ansible's namespace (361E6D51-FAEC-444A-9079-341386DA8E2E).
    let ns = namespace.unwrap_or_else(|| "361E6D51-FAEC-444A-9079-341386DA8E2E".into());
    let hex: String = ns.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if hex.len() != 32 {
        return Err(err(format!("Invalid value '{ns}' for 'namespace'")));
    }
    let mut bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    bytes.extend_from_slice(py_str(&v).as_bytes());
    use sha1::Digest;
    let h = sha1::Sha1::digest(&bytes);
    let mut u = [0u8; 16];
    u.copy_from_slice(&h[..16]);
    u[6] = (u[6] & 0x0f) | 0x50;
    u[8] = (u[8] & 0x3f) | 0x80;
    let s: String = u.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &s[..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..]
    ))
}

// ---------------------------------------------------------------------------------------------
// Dates

/// A `datetime.datetime` (naive, as Ansible's `to_datetime` returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub microsecond: u32,
}

impl DateTime {
    fn from_timestamp(ts: f64) -> DateTime {
        let secs = ts.floor() as i64;
        let micro = ((ts - ts.floor()) * 1e6).round() as u32;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            microsecond: micro.min(999_999),
        }
    }

    fn timestamp(&self) -> f64 {
        let days = days_from_civil(self.year, self.month, self.day);
        (days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)) as f64
            + f64::from(self.microsecond) / 1e6
    }

    fn weekday(&self) -> u32 {
        // Monday = 0, as Python's weekday().
        (days_from_civil(self.year, self.month, self.day) + 3).rem_euclid(7) as u32
    }

    fn yday(&self) -> u32 {
        (days_from_civil(self.year, self.month, self.day) - days_from_civil(self.year, 1, 1) + 1)
            as u32
    }

    /// `str(dt)`.
    pub fn py_str(&self) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.microsecond != 0 {
            s.push_str(&format!(".{:06}", self.microsecond));
        }
        s
    }

    /// `dt.isoformat()`, which is how Ansible serialises a datetime to JSON.
    pub fn iso(&self) -> String {
        self.py_str().replacen(' ', "T", 1)
    }

    pub fn strftime(&self, fmt: &str) -> String {
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let mut out = String::new();
        let mut chars = fmt.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let Some(d) = chars.next() else {
                out.push('%');
                break;
            };
            let month_name = MONTHS[(self.month.clamp(1, 12) - 1) as usize];
            let day_name = DAYS[self.weekday() as usize];
            let hour12 = match self.hour % 12 {
                0 => 12,
                h => h,
            };
            match d {
                'Y' => out.push_str(&format!("{:04}", self.year)),
                'y' => out.push_str(&format!("{:02}", self.year.rem_euclid(100))),
                'm' => out.push_str(&format!("{:02}", self.month)),
                'd' => out.push_str(&format!("{:02}", self.day)),
                'e' => out.push_str(&format!("{:>2}", self.day)),
                'H' => out.push_str(&format!("{:02}", self.hour)),
                'I' => out.push_str(&format!("{hour12:02}")),
                'M' => out.push_str(&format!("{:02}", self.minute)),
                'S' => out.push_str(&format!("{:02}", self.second)),
                'f' => out.push_str(&format!("{:06}", self.microsecond)),
                'p' => out.push_str(if self.hour < 12 { "AM" } else { "PM" }),
                'j' => out.push_str(&format!("{:03}", self.yday())),
                'a' => out.push_str(&day_name[..3]),
                'A' => out.push_str(day_name),
                'b' | 'h' => out.push_str(&month_name[..3]),
                'B' => out.push_str(month_name),
                'w' => out.push_str(&((self.weekday() + 1) % 7).to_string()),
                'u' => out.push_str(&(self.weekday() + 1).to_string()),
                'Z' => out.push_str("UTC"),
                'z' => out.push_str("+0000"),
                's' => out.push_str(&(self.timestamp().floor() as i64).to_string()),
                'F' => out.push_str(&format!(
                    "{:04}-{:02}-{:02}",
                    self.year, self.month, self.day
                )),
                'T' => out.push_str(&format!(
                    "{:02}:{:02}:{:02}",
                    self.hour, self.minute, self.second
                )),
                'D' => out.push_str(&format!(
                    "{:02}/{:02}/{:02}",
                    self.month,
                    self.day,
                    self.year.rem_euclid(100)
                )),
                'c' => out.push_str(&format!(
                    "{} {} {:>2} {:02}:{:02}:{:02} {}",
                    &day_name[..3],
                    &month_name[..3],
                    self.day,
                    self.hour,
                    self.minute,
                    self.second,
                    self.year
                )),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '%' => out.push('%'),
                other => {
                    out.push('%');
                    out.push(other);
                }
            }
        }
        out
    }

    /// `datetime.strptime(text, fmt)` for the usual directives.
    fn strptime(text: &str, fmt: &str) -> Option<DateTime> {
        let mut dt = DateTime {
            year: 1900,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            microsecond: 0,
        };
        let t: Vec<char> = text.chars().collect();
        let mut i = 0usize;
        let mut pm: Option<bool> = None;
        let mut f = fmt.chars();
        let num = |i: &mut usize, max: usize| -> Option<i64> {
            let start = *i;
            while *i < t.len() && *i - start < max && t[*i].is_ascii_digit() {
                *i += 1;
            }
            if *i == start {
                return None;
            }
            t[start..*i].iter().collect::<String>().parse().ok()
        };
        while let Some(c) = f.next() {
            if c != '%' {
                if c.is_whitespace() {
                    while i < t.len() && t[i].is_whitespace() {
                        i += 1;
                    }
                    continue;
                }
                if t.get(i) != Some(&c) {
                    return None;
                }
                i += 1;
                continue;
            }
            match f.next()? {
                'Y' => dt.year = num(&mut i, 4)?,
                'y' => {
                    let y = num(&mut i, 2)?;
                    dt.year = if y < 69 { 2000 + y } else { 1900 + y };
                }
                'm' => dt.month = num(&mut i, 2)? as u32,
                'd' => dt.day = num(&mut i, 2)? as u32,
                'H' => dt.hour = num(&mut i, 2)? as u32,
                'I' => dt.hour = num(&mut i, 2)? as u32,
                'M' => dt.minute = num(&mut i, 2)? as u32,
                'S' => dt.second = num(&mut i, 2)? as u32,
                'f' => {
                    let start = i;
                    let v = num(&mut i, 6)?;
                    dt.microsecond = (v * 10i64.pow(6 - (i - start) as u32)) as u32;
                }
                'p' => {
                    let word: String = t.get(i..i + 2)?.iter().collect::<String>().to_uppercase();
                    pm = Some(word == "PM");
                    i += 2;
                }
                'b' | 'B' | 'a' | 'A' => {
                    let start = i;
                    while i < t.len() && t[i].is_alphabetic() {
                        i += 1;
                    }
                    let word: String = t[start..i].iter().collect::<String>().to_lowercase();
                    if word.len() < 3 {
                        return None;
                    }
                    const MONTHS: [&str; 12] = [
                        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                        "nov", "dec",
                    ];
                    if let Some(m) = MONTHS.iter().position(|m| word.starts_with(m)) {
                        dt.month = m as u32 + 1;
                    }
                }
                'j' => {
                    let yday = num(&mut i, 3)?;
                    let (y, m, d) = civil_from_days(days_from_civil(dt.year, 1, 1) + yday - 1);
                    dt.year = y;
                    dt.month = m;
                    dt.day = d;
                }
                '%' => {
                    if t.get(i) != Some(&'%') {
                        return None;
                    }
                    i += 1;
                }
                _ => return None,
            }
        }
        if i != t.len() {
            return None;
        }
        if let Some(pm) = pm {
            dt.hour = dt.hour % 12 + if pm { 12 } else { 0 };
        }
        let valid = (1..=12).contains(&dt.month)
            && dt.day >= 1
            && dt.day <= days_in_month(dt.year, dt.month)
            && dt.hour < 24
            && dt.minute < 60
            && dt.second < 62;
        valid.then_some(dt)
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl std::fmt::Display for DateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // JSON output (debug) shows isoformat; the formatter prints str() inside templates.
        f.write_str(&self.iso())
    }
}

impl Object for DateTime {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "year" => Value::from(self.year),
            "month" => Value::from(self.month),
            "day" => Value::from(self.day),
            "hour" => Value::from(self.hour),
            "minute" => Value::from(self.minute),
            "second" => Value::from(self.second),
            "microsecond" => Value::from(self.microsecond),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State,
        name: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match name {
            "strftime" => {
                let fmt = args.first().map(py_str).unwrap_or_default();
                Ok(Value::from(self.strftime(&fmt)))
            }
            "isoformat" => Ok(Value::from(self.iso())),
            "timestamp" => Ok(Value::from(self.timestamp())),
            "weekday" => Ok(Value::from(self.weekday())),
            "isoweekday" => Ok(Value::from(self.weekday() + 1)),
            "date" => Ok(Value::from(format!(
                "{:04}-{:02}-{:02}",
                self.year, self.month, self.day
            ))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result
    where
        Self: Sized + 'static,
    {
        std::fmt::Display::fmt(&**self, f)
    }
}

fn to_datetime(v: Value, format: Option<String>) -> Result<Value, Error> {
    let fmt = format.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".into());
    let text = py_str(&v);
    DateTime::strptime(&text, &fmt)
        .map(Value::from_object)
        .ok_or_else(|| err(format!("time data '{text}' does not match format '{fmt}'")))
}

/// `strftime(format, second=None, utc=False)`. Times are UTC (baton reads no time zone data).
fn strftime(fmt: Value, second: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let _utc = flag(&kwargs, "utc")?;
    kwargs.assert_all_used()?;
    let ts = match second.filter(|s| !s.is_none()) {
        Some(s) => match s.kind() {
            ValueKind::Number => f64::try_from(s.clone()).unwrap_or(0.0),
            _ => parse_py_float(&py_str(&s))
                .ok_or_else(|| err(format!("Invalid value for epoch value ({})", py_str(&s))))?,
        },
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
    };
    Ok(DateTime::from_timestamp(ts).strftime(&py_str(&fmt)))
}

/// The current time, for the `now()` global.
pub fn now(utc: bool, fmt: Option<String>) -> Value {
    let _ = utc;
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let dt = DateTime::from_timestamp(ts);
    match fmt {
        Some(f) => Value::from(dt.strftime(&f)),
        None => Value::from_object(dt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(s: &str) -> String {
        crate::template::render_text(s, &Value::from(())).unwrap()
    }

    #[test]
    fn ansible_bool_reads_words_only() {
        assert_eq!(
            render(
                "{{ 'yes' | bool }} {{ 'no' | bool }} {{ 'off' | bool }} {{ 'y' | bool }} {{ 1.0 | bool }} {{ 2 | bool }}"
            ),
            "True False False False True False"
        );
        assert_eq!(render("{{ [1, 'a', none] }}"), "[1, 'a', None]");
    }

    #[test]
    fn int_and_float_follow_python() {
        assert_eq!(
            render(
                "{{ ' 42 ' | int }} {{ '4.7' | int }} {{ 'x' | int(7) }} {{ '0x1A' | int(0, 16) }} {{ '017' | int(base=8) }} {{ none | int }}"
            ),
            "42 4 7 26 15 0"
        );
        assert_eq!(
            render("{{ '1e3' | float }} {{ 'x' | float }} {{ 3 | float }}"),
            "1000.0 0.0 3.0"
        );
        assert_eq!(
            render("{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ 3 | round }}"),
            "2.0 4.0 2.57 3"
        );
    }

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

    #[test]
    fn combine_and_items() {
        assert_eq!(
            render(
                "{{ {'a': {'x': 1}, 'b': 2} | combine({'a': {'y': 3}}, recursive=true) | to_json }}"
            ),
            r#"{"a": {"x": 1, "y": 3}, "b": 2}"#
        );
        assert_eq!(
            render(
                "{{ {'c': [1, 2]} | combine({'c': [2, 3]}, list_merge='append_rp') | to_json }}"
            ),
            r#"{"c": [1, 2, 3]}"#
        );
        assert_eq!(
            render("{{ {'k': 'v'} | dict2items | items2dict | to_json }}"),
            r#"{"k": "v"}"#
        );
        assert_eq!(
            render("{{ [1, [2, [3]], none, 'None'] | flatten }}"),
            "[1, 2, 3]"
        );
    }

    #[test]
    fn json_is_pythons() {
        assert_eq!(
            render("{{ {'u': 'é', 'f': 1.0, 'n': none} | to_json }}"),
            r#"{"u": "\u00e9", "f": 1.0, "n": null}"#
        );
        assert_eq!(
            render("{{ {'b': [1], 'a': {}} | to_nice_json(indent=2) }}"),
            "{\n  \"a\": {},\n  \"b\": [\n    1\n  ]\n}"
        );
    }

    #[test]
    fn base64_hash_and_quote() {
        assert_eq!(b64encode(b"hello!?"), "aGVsbG8hPw==");
        assert_eq!(b64decode("aGVsbG8hPw==").unwrap(), b"hello!?");
        assert_eq!(shell_quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(shell_quote("/plain/path"), "/plain/path");
        assert_eq!(
            render("{{ 42 | hash('md5') }}"),
            "a1d0c6e83f027327d8461063f4ac58a6"
        );
        assert_eq!(
            render("{{ 'secret' | password_hash('sha512', 'mysalt', rounds=5000) }}"),
            crypt::crypt(crypt::Scheme::Sha512, b"secret", "mysalt", None).unwrap()
        );
    }

    #[test]
    fn seeded_random_and_shuffle_are_pythons() {
        assert_eq!(
            render("{{ 100 | random(seed='web1') }} {{ 60 | random(seed=42) }}"),
            "41 40"
        );
        assert_eq!(
            render("{{ 100 | random(start=10, step=10, seed='s') }}"),
            "80"
        );
        assert_eq!(
            render("{{ ['a','b','c','d','e','f','g','h'] | random(seed='pick') }}"),
            "g"
        );
        assert_eq!(render("{{ 'abc' | shuffle(seed='s') | join }}"), "acb");
    }

    #[test]
    fn paths_are_posixpath() {
        assert_eq!(dirname("/trailing/"), "/trailing");
        assert_eq!(dirname("/"), "/");
        assert_eq!(dirname("noslash"), "");
        assert_eq!(normpath("/usr/../etc/./hosts"), "/etc/hosts");
        assert_eq!(
            render("{{ 'a/.b.c' | splitext }} {{ '.hidden' | splitext }}"),
            "['a/.b', '.c'] ['.hidden', '']"
        );
        assert_eq!(relpath("/etc/hosts", Some("/etc/nginx".into())), "../hosts");
    }

    #[test]
    fn formats_like_python() {
        assert_eq!(
            render("{{ '%s is %d years' | format('bob', 42) }}"),
            "bob is 42 years"
        );
        assert_eq!(
            render("{{ '%05.1f|%-4s|%x' | format(3.14159, 'ab', 255) }}"),
            "003.1|ab  |ff"
        );
        assert_eq!(render("{{ '%r' | format('a') }}"), "'a'");
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

    #[test]
    fn human_sizes_and_dates() {
        assert_eq!(
            render("{{ 1536 | human_readable }} {{ 1048576 | human_readable(unit='K') }}"),
            "1.50 KB 1024.00 KB"
        );
        assert_eq!(
            render("{{ '1.5M' | human_to_bytes }} {{ '1Mb' | human_to_bytes(isbits=true) }}"),
            "1572864 1048576"
        );
        assert_eq!(
            render("{{ '%a %b %d %j %y %I %p' | strftime(1700000000) }}"),
            "Tue Nov 14 318 23 10 PM"
        );
        assert_eq!(
            render("{{ ('05/03/2024' | to_datetime('%d/%m/%Y')).month }}"),
            "3"
        );
        assert_eq!(
            render("{{ '2024-03-05 14:30:00' | to_datetime }}"),
            "2024-03-05 14:30:00"
        );
    }

    #[test]
    fn undefined_input_is_an_error_except_for_default() {
        let ctx = Value::from(());
        assert!(crate::template::render_str("{{ nope | upper }}", &ctx).is_err());
        assert!(crate::template::render_str("{{ nope | to_json }}", &ctx).is_err());
        assert_eq!(render("{{ nope | default('d') }}"), "d");
        assert_eq!(render("{{ nope.attr | default('chain') }}"), "chain");
    }
}
