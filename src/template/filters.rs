//! Ansible's filters and tests beyond what minijinja ships, registered on the environment.
//!
//! Each one follows the behaviour of Ansible's own (`ansible.builtin.*`) for the arguments real
//! playbooks use; where Jinja's built-in differs from Ansible's (`bool`), Ansible's wins.

use crate::value::{self, Value};
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind};
use regex::Regex;

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Registers every filter and test on the environment.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("bool", bool_filter);
    env.add_filter("d", default_filter);
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_yaml);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("basename", |s: String| {
        s.rsplit('/').next().unwrap_or("").to_string()
    });
    env.add_filter("dirname", |s: String| match s.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => s[..i].to_string(),
        None => String::new(),
    });
    env.add_filter("quote", |s: Value| shell_quote(&s.to_string()));
    env.add_filter("b64encode", |s: String| b64encode(s.as_bytes()));
    env.add_filter("b64decode", |s: String| -> Result<String, Error> {
        let bytes = b64decode(&s).ok_or_else(|| err("b64decode: not valid base64"))?;
        String::from_utf8(bytes).map_err(|_| err("b64decode: not valid UTF-8"))
    });
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("ternary", ternary);
    env.add_filter("mandatory", mandatory);
    env.add_filter("union", union);
    env.add_filter("intersect", intersect);
    env.add_filter("difference", difference);
    env.add_filter("type_debug", type_debug);
    env.add_filter("string", |v: Value| v.to_string());
    env.add_test("match", |v: String, pat: String| -> Result<bool, Error> {
        Ok(re(&format!("^(?:{pat})"))?.is_match(&v))
    });
    env.add_test("search", |v: String, pat: String| -> Result<bool, Error> {
        Ok(re(&pat)?.is_match(&v))
    });
    env.add_test("regex", |v: String, pat: String| -> Result<bool, Error> {
        Ok(re(&pat)?.is_match(&v))
    });
    env.add_test("truthy", |v: Value| crate::template::truthy(&v));
    env.add_test("falsy", |v: Value| !crate::template::truthy(&v));
    env.add_test("failed", |v: Value| flag(&v, "failed"));
    env.add_test("failure", |v: Value| flag(&v, "failed"));
    env.add_test("succeeded", |v: Value| !flag(&v, "failed"));
    env.add_test("success", |v: Value| !flag(&v, "failed"));
    env.add_test("changed", |v: Value| flag(&v, "changed"));
    env.add_test("change", |v: Value| flag(&v, "changed"));
    env.add_test("skipped", |v: Value| flag(&v, "skipped"));
    env.add_test("skip", |v: Value| flag(&v, "skipped"));
}

fn flag(v: &Value, key: &str) -> bool {
    v.get_attr(key).map(|f| f.is_true()).unwrap_or(false)
}

fn re(pat: &str) -> Result<Regex, Error> {
    Regex::new(pat).map_err(|e| err(format!("invalid regular expression '{pat}': {e}")))
}

/// Ansible's `bool`: yes/on/1/true (any case) are true; everything else false.
fn bool_filter(v: Value) -> bool {
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::Number => v.as_i64() == Some(1),
        ValueKind::String => matches!(
            v.as_str()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "yes" | "on" | "1" | "true" | "y" | "t"
        ),
        _ => false,
    }
}

fn default_filter(v: Value, d: Option<Value>, boolean: Option<bool>) -> Value {
    if v.is_undefined() || (boolean.unwrap_or(false) && !v.is_true()) {
        d.unwrap_or_else(|| Value::from(""))
    } else {
        v
    }
}

fn to_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let _: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    Ok(value::python_json(&value::to_json(&v)))
}

fn to_nice_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    let text = value::ansible_json(&value::to_json(&v));
    Ok(match indent {
        Some(n) if n != 4 => text
            .lines()
            .map(|l| {
                let lead = l.len() - l.trim_start().len();
                format!("{}{}", " ".repeat(lead / 4 * n), l.trim_start())
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => text,
    })
}

fn from_json(s: String) -> Result<Value, Error> {
    let j: serde_json::Value =
        serde_json::from_str(&s).map_err(|e| err(format!("from_json: {e}")))?;
    Ok(value::from_json(&j))
}

/// A block-style YAML rendering of a value, as `to_nice_yaml` gives it.
fn to_yaml(v: Value) -> String {
    let mut out = String::new();
    yaml_emit(&value::to_json(&v), 0, &mut out, false);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn yaml_scalar(j: &serde_json::Value) -> String {
    match j {
        serde_json::Value::Null => "null".to_string(),
        serde_json::Value::String(s) => {
            let plain = !s.is_empty()
                && !s.contains([
                    ':', '#', '\n', '\'', '"', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>',
                    '%', '@', '`',
                ])
                && !s.starts_with([' ', '-', '?'])
                && !s.ends_with(' ')
                && crate::yaml::parse(&crate::diagnostics::Source::new("", format!("v: {s}")))
                    .ok()
                    .and_then(|n| n.get("v").map(|v| v.as_str() == Some(s)))
                    .unwrap_or(false);
            if plain {
                s.clone()
            } else {
                format!("'{}'", s.replace('\'', "''"))
            }
        }
        other => other.to_string(),
    }
}

fn yaml_emit(j: &serde_json::Value, indent: usize, out: &mut String, in_seq: bool) {
    let pad = " ".repeat(indent);
    match j {
        serde_json::Value::Object(o) if !o.is_empty() => {
            for (i, (k, v)) in o.iter().enumerate() {
                if !(in_seq && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str(&yaml_scalar(&serde_json::Value::String(k.clone())));
                out.push(':');
                match v {
                    serde_json::Value::Object(m) if !m.is_empty() => {
                        out.push('\n');
                        yaml_emit(v, indent + 2, out, false);
                    }
                    serde_json::Value::Array(a) if !a.is_empty() => {
                        out.push('\n');
                        yaml_emit(v, indent, out, false);
                    }
                    _ => {
                        out.push(' ');
                        yaml_emit(v, 0, out, false);
                    }
                }
            }
        }
        serde_json::Value::Array(a) if !a.is_empty() => {
            for item in a {
                out.push_str(&pad);
                out.push_str("- ");
                yaml_emit(item, indent + 2, out, true);
            }
        }
        serde_json::Value::Object(_) => out.push_str("{}\n"),
        serde_json::Value::Array(_) => out.push_str("[]\n"),
        scalar => {
            out.push_str(&yaml_scalar(scalar));
            out.push('\n');
        }
    }
}

fn regex_replace(
    s: Value,
    pat: String,
    repl: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let ignorecase: Option<bool> = kwargs.get("ignorecase")?;
    let multiline: Option<bool> = kwargs.get("multiline")?;
    kwargs.assert_all_used()?;
    let mut flags = String::new();
    if ignorecase.unwrap_or(false) {
        flags.push('i');
    }
    if multiline.unwrap_or(false) {
        flags.push('m');
    }
    let pat = if flags.is_empty() {
        pat
    } else {
        format!("(?{flags}){pat}")
    };
    // Python's replacement syntax (\1, \g<name>) to the regex crate's (${1}, ${name}).
    let repl = python_repl(&repl.unwrap_or_default());
    Ok(re(&pat)?
        .replace_all(&s.to_string(), repl.as_str())
        .into_owned())
}

fn python_repl(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    chars.next();
                    out.push_str(&format!("${{{d}}}"));
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

fn regex_search(
    s: String,
    pat: String,
    groups: minijinja::value::Rest<String>,
) -> Result<Value, Error> {
    let r = re(&pat)?;
    let Some(caps) = r.captures(&s) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map(|m| m.as_str()).unwrap_or("")));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        let m = if let Some(n) = g.strip_prefix('\\') {
            n.parse::<usize>().ok().and_then(|i| caps.get(i))
        } else if let Some(n) = g.strip_prefix("\\g<").and_then(|n| n.strip_suffix('>')) {
            caps.name(n)
        } else {
            None
        };
        out.push(Value::from(m.map(|m| m.as_str()).unwrap_or("")));
    }
    Ok(Value::from(out))
}

fn regex_findall(s: String, pat: String) -> Result<Value, Error> {
    let r = re(&pat)?;
    let groups = r.captures_len() - 1;
    let items: Vec<Value> = r
        .captures_iter(&s)
        .map(|c| match groups {
            0 => Value::from(c.get(0).map(|m| m.as_str()).unwrap_or("")),
            1 => Value::from(c.get(1).map(|m| m.as_str()).unwrap_or("")),
            _ => (1..=groups)
                .map(|i| Value::from(c.get(i).map(|m| m.as_str()).unwrap_or("")))
                .collect(),
        })
        .collect();
    Ok(Value::from(items))
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

fn combine(
    base: Value,
    others: minijinja::value::Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let recursive: Option<bool> = kwargs.get("recursive")?;
    let list_merge: Option<String> = kwargs.get("list_merge")?;
    kwargs.assert_all_used()?;
    let mut acc = value::to_json(&base);
    for o in others.iter() {
        let items: Vec<Value> = if o.kind() == ValueKind::Seq {
            o.try_iter()?.collect()
        } else {
            vec![o.clone()]
        };
        for item in items {
            merge_json(
                &mut acc,
                value::to_json(&item),
                recursive.unwrap_or(false),
                list_merge.as_deref().unwrap_or("replace"),
            );
        }
    }
    Ok(value::from_json(&acc))
}

fn merge_json(a: &mut serde_json::Value, b: serde_json::Value, recursive: bool, list_merge: &str) {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            for (k, v) in y {
                match x.get_mut(&k) {
                    Some(existing) if recursive && existing.is_object() && v.is_object() => {
                        merge_json(existing, v, recursive, list_merge)
                    }
                    Some(serde_json::Value::Array(existing))
                        if list_merge != "replace" && v.is_array() =>
                    {
                        let serde_json::Value::Array(new) = v else {
                            unreachable!()
                        };
                        match list_merge {
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
        (a, b) => *a = b,
    }
}

fn dict2items(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: Option<String> = kwargs.get("key_name")?;
    let value_name: Option<String> = kwargs.get("value_name")?;
    kwargs.assert_all_used()?;
    if v.kind() != ValueKind::Map {
        return Err(err(format!(
            "dict2items requires a dictionary, got {}",
            v.kind()
        )));
    }
    let (kn, vn) = (
        key_name.unwrap_or("key".into()),
        value_name.unwrap_or("value".into()),
    );
    let items: Vec<Value> = v
        .try_iter()?
        .map(|k| {
            let val = v.get_item(&k).unwrap_or_default();
            value::map([(kn.as_str(), k), (vn.as_str(), val)])
        })
        .collect();
    Ok(Value::from(items))
}

fn items2dict(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: Option<String> = kwargs.get("key_name")?;
    let value_name: Option<String> = kwargs.get("value_name")?;
    kwargs.assert_all_used()?;
    let (kn, vn) = (
        key_name.unwrap_or("key".into()),
        value_name.unwrap_or("value".into()),
    );
    let mut pairs = Vec::new();
    for item in v.try_iter()? {
        pairs.push((item.get_attr(&kn)?, item.get_attr(&vn)?));
    }
    Ok(value::map(pairs))
}

fn flatten(v: Value, levels: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let skip_nulls: Option<bool> = kwargs.get("skip_nulls")?;
    kwargs.assert_all_used()?;
    fn walk(
        v: &Value,
        depth: Option<usize>,
        skip_nulls: bool,
        out: &mut Vec<Value>,
    ) -> Result<(), Error> {
        for item in v.try_iter()? {
            match item.kind() {
                ValueKind::Seq if depth != Some(0) => {
                    walk(&item, depth.map(|d| d - 1), skip_nulls, out)?
                }
                ValueKind::None | ValueKind::Undefined if skip_nulls => {}
                _ => out.push(item),
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(&v, levels, skip_nulls.unwrap_or(true), &mut out)?;
    Ok(Value::from(out))
}

fn ternary(v: Value, t: Value, f: Value, none: Option<Value>) -> Value {
    match (v.kind(), none) {
        (ValueKind::None, Some(n)) => n,
        _ if v.is_true() => t,
        _ => f,
    }
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

fn list_of(v: &Value) -> Result<Vec<Value>, Error> {
    Ok(v.try_iter()?.collect())
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

fn union(a: Value, b: Value) -> Result<Value, Error> {
    let mut items = list_of(&a)?;
    items.extend(list_of(&b)?);
    Ok(Value::from(dedup(items)))
}

fn intersect(a: Value, b: Value) -> Result<Value, Error> {
    let other = list_of(&b)?;
    Ok(Value::from(dedup(
        list_of(&a)?
            .into_iter()
            .filter(|x| other.contains(x))
            .collect(),
    )))
}

fn difference(a: Value, b: Value) -> Result<Value, Error> {
    let other = list_of(&b)?;
    Ok(Value::from(dedup(
        list_of(&a)?
            .into_iter()
            .filter(|x| !other.contains(x))
            .collect(),
    )))
}

/// Python's type names, as Ansible's `type_debug` shows them.
fn type_debug(v: Value) -> &'static str {
    match v.kind() {
        ValueKind::None | ValueKind::Undefined => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number => {
            if v.as_i64().is_some() {
                "int"
            } else {
                "float"
            }
        }
        ValueKind::String => "str",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(s: &str) -> String {
        crate::template::render_text(s, &Value::from(())).unwrap()
    }

    #[test]
    fn ansible_bool_reads_words() {
        assert_eq!(
            render("{{ 'yes' | bool }} {{ 'no' | bool }} {{ 'off' | bool }}"),
            "True False False"
        );
        assert_eq!(render("{{ [1, 'a', none] }}"), "[1, 'a', None]");
    }

    #[test]
    fn regex_filters_take_python_syntax() {
        assert_eq!(
            render(r"{{ 'ab12' | regex_replace('([a-z]+)(\\d+)', '\\2-\\1') }}"),
            "12-ab"
        );
        assert_eq!(
            render("{{ 'x=1 y=2' | regex_findall('(\\\\w)=(\\\\d)') | length }}"),
            "2"
        );
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
            render("{{ {'k': 'v'} | dict2items | items2dict | to_json }}"),
            r#"{"k": "v"}"#
        );
    }

    #[test]
    fn base64_round_trip_and_quote() {
        assert_eq!(b64encode(b"hello!?"), "aGVsbG8hPw==");
        assert_eq!(b64decode("aGVsbG8hPw==").unwrap(), b"hello!?");
        assert_eq!(shell_quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(shell_quote("/plain/path"), "/plain/path");
    }
}
