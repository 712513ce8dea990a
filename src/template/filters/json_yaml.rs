//! `to_json`, `to_nice_json`, `from_json`, the YAML filters and `from_toml`: the options of Python's
//! `json.dumps` and PyYAML's `dump` that Ansible passes through, and the conversion of template
//! values to data (a date becomes its ISO text). The text is written by the shared writers:
//! [`crate::text::json`] for JSON, [`super::super::pyyaml`] for YAML.

use super::super::pyyaml;
use super::dates::DateTime;
use super::{err, py_str, py_type};
use crate::text::json::{self, Style};
use crate::value::{self, Value};
use minijinja::Error;
use minijinja::value::{Kwargs, ValueKind};

/// The `json.dumps` options the filters take; `indent` and `sort_keys` are the filter's own
/// defaults.
fn json_style(kwargs: &Kwargs, indent: Option<usize>, sort_keys: bool) -> Result<Style, Error> {
    let indent = match kwargs.get::<Option<Value>>("indent")? {
        Some(v) if v.is_none() => None,
        Some(v) => Some(v.as_usize().unwrap_or(0)),
        None => indent,
    };
    let sort_keys = kwargs
        .get::<Option<bool>>("sort_keys")?
        .unwrap_or(sort_keys);
    let ensure_ascii = kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true);
    let mut style = match indent {
        Some(n) => Style::indented(n),
        None => Style::default(),
    };
    if let Some(s) = kwargs.get::<Option<Vec<String>>>("separators")?
        && s.len() == 2
    {
        style.item_separator = s[0].clone();
        style.key_separator = s[1].clone();
    }
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
    Ok(Style {
        sort_keys,
        ensure_ascii,
        ..style
    })
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
                // (A YAML timestamp is written in ISO form there too.)
                None => value::to_json(v),
            },
        }
    }
    walk(v)
}

pub(super) fn to_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let style = json_style(&kwargs, None, false)?;
    Ok(json::dumps(&json_of(&v), &style))
}

pub(super) fn to_nice_json(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    let mut style = json_style(&kwargs, Some(4), true)?;
    // to_nice_json always uses these separators.
    style.item_separator = ",".into();
    style.key_separator = ": ".into();
    Ok(json::dumps(&json_of(&v), &style))
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
    o.default_style = match kwargs.get::<Option<Value>>("default_style")? {
        Some(v) if v.is_none() => None,
        Some(v) => match v.as_str() {
            Some("") => None,
            Some(s @ ("\"" | "'" | "|" | ">")) => s.chars().next(),
            _ => {
                return Err(err(format!(
                    "invalid default_style: {}",
                    super::py_repr(&v)
                )));
            }
        },
        None => None,
    };
    o.canonical = kwargs
        .get::<Option<Value>>("canonical")?
        .is_some_and(|v| v.is_true());
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

/// `from_toml`: Python's `tomllib.loads` (the filter ansible-core's own tests define, and that
/// TOML inventories round-trip through); tables keep their order, date-times are their text.
pub(super) fn from_toml(v: Value) -> Result<Value, Error> {
    match v.as_str() {
        Some(s) => {
            let table =
                crate::inventory::toml::load(&crate::diagnostics::Source::new("<from_toml>", s))
                    .map_err(|e| err(format!("from_toml: {}", e.one_line())))?;
            Ok(crate::inventory::toml::table_value(&table))
        }
        None => Err(err(format!(
            "from_toml expects a string, got {}",
            py_type(&v)
        ))),
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
