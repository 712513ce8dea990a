//! `to_json`, `to_nice_json`, `from_json` and the YAML filters: the options of Python's
//! `json.dumps` and PyYAML's `dump` that Ansible passes through, and the conversion of template
//! values to data (a date becomes its ISO text). YAML is written by [`super::super::pyyaml`].

use super::super::pyyaml;
use super::dates::DateTime;
use super::{err, py_str, py_type};
use crate::value::{self, Value};
use minijinja::Error;
use minijinja::value::{Kwargs, ValueKind};

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
pub(super) fn json_of(v: &Value) -> serde_json::Value {
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

pub(super) fn to_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let o = json_opts(&kwargs, None, false)?;
    let mut out = String::new();
    py_json(&json_of(&v), &o, 0, &mut out);
    Ok(out)
}

pub(super) fn to_nice_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let mut o = json_opts(&kwargs, Some(4), true)?;
    // to_nice_json always uses these separators.
    o.item_sep = ",".into();
    o.key_sep = ": ".into();
    let mut out = String::new();
    py_json(&json_of(&v), &o, 0, &mut out);
    Ok(out)
}

pub(super) fn from_json(s: Value, kwargs: Kwargs) -> Result<Value, Error> {
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

pub(super) fn to_yaml(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let o = yaml_opts(&kwargs, None, None)?;
    pyyaml::dump(&v, o).map_err(err)
}

pub(super) fn to_nice_yaml(
    v: Value,
    indent: Option<usize>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let o = yaml_opts(&kwargs, Some(indent.unwrap_or(4)), Some(false))?;
    pyyaml::dump(&v, o).map_err(err)
}

pub(super) fn from_yaml(v: Value) -> Result<Value, Error> {
    match v.as_str() {
        Some(s) => {
            let node = crate::yaml::parse(&crate::diagnostics::Source::new("<from_yaml>", s))
                .map_err(|e| err(format!("from_yaml: {}", e.one_line())))?;
            Ok(value::from_node(&node))
        }
        None => Ok(v),
    }
}

pub(super) fn from_yaml_all(v: Value) -> Result<Value, Error> {
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

#[cfg(test)]
mod tests {
    use super::super::render;

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
}
