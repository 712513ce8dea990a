//! TOML text the way Python's `tomli_w.dumps` writes it (what `ansible-inventory --toml` prints).
//!
//! A table's plain values come first as `key = value` lines, under a `[dotted.name]` header
//! when the table has a name and has such values (or nothing else); its sub-tables follow, each
//! after a blank line. Arrays are written one item a line, indented four spaces a level, with a
//! trailing comma; a mapping inside an array is an inline table `{ k = v }`. A non-empty list
//! of mappings is an array of tables (`[[name]]`) unless every one fits inline on a line of 100
//! characters. Keys are bare when made of `A-Za-z0-9_-`, else quoted. Strings are basic strings
//! with `tomli_w`'s escapes; non-ASCII text is written as it is. TOML has no null: a value it
//! cannot hold is an error naming the Python type, as `tomli_w`'s `TypeError` does.

const MAX_LINE_LENGTH: usize = 100;
const INDENT: &str = "    ";

/// Data to write as TOML: what a Python program hands `tomli_w`.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
    List(Vec<Data>),
    /// A mapping, in its order; a key that is not text is an error when written.
    Map(Vec<(Key, Data)>),
    /// A date or date-time: written as Python's `str()` of it, unquoted.
    Date(String),
    /// Something TOML cannot hold, by its Python type name (`NoneType`, `EncryptedString`).
    Other(&'static str),
}

/// A mapping key: text, or the Python type name and `str()` of something else.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Str(String),
    Other(&'static str, String),
}

/// `tomli_w.dumps(table)`; the error is `tomli_w`'s message for what TOML cannot hold.
pub fn dumps(table: &Data) -> Result<String, String> {
    let mut out = String::new();
    table_chunks(table, "", false, &mut out)?;
    Ok(out)
}

/// The pairs of a mapping with text keys.
fn pairs(v: &Data) -> Result<Vec<(&str, &Data)>, String> {
    let Data::Map(m) = v else {
        return Ok(Vec::new());
    };
    m.iter()
        .map(|(k, v)| match k {
            Key::Str(s) => Ok((s.as_str(), v)),
            Key::Other(t, s) => Err(format!(
                "Invalid mapping key '{s}' of type '{t}'. A string is required."
            )),
        })
        .collect()
}

/// A non-empty list of mappings.
fn is_array_of_tables(v: &Data) -> bool {
    matches!(v, Data::List(items) if !items.is_empty() && items.iter().all(|i| matches!(i, Data::Map(_))))
}

fn table_chunks(
    table: &Data,
    name: &str,
    inside_aot: bool,
    out: &mut String,
) -> Result<(), String> {
    let mut literals = Vec::new();
    let mut tables: Vec<(&str, &Data, bool)> = Vec::new();
    for (k, v) in pairs(table)? {
        if matches!(v, Data::Map(_)) {
            tables.push((k, v, false));
        } else if is_array_of_tables(v) && !all_fit_inline(v)? {
            if let Data::List(items) = v {
                tables.extend(items.iter().map(|t| (k, t, true)));
            }
        } else {
            literals.push((k, v));
        }
    }
    let mut yielded = false;
    if inside_aot || (!name.is_empty() && (!literals.is_empty() || tables.is_empty())) {
        yielded = true;
        if inside_aot {
            out.push_str(&format!("[[{name}]]\n"));
        } else {
            out.push_str(&format!("[{name}]\n"));
        }
    }
    for (k, v) in &literals {
        yielded = true;
        out.push_str(&format!("{} = {}\n", key_part(k), literal(v, 0)?));
    }
    for (k, v, in_aot) in tables {
        if yielded {
            out.push('\n');
        } else {
            yielded = true;
        }
        let part = key_part(k);
        let display = if name.is_empty() {
            part
        } else {
            format!("{name}.{part}")
        };
        table_chunks(v, &display, in_aot, out)?;
    }
    Ok(())
}

fn all_fit_inline(v: &Data) -> Result<bool, String> {
    let Data::List(items) = v else {
        return Ok(false);
    };
    for t in items {
        let rendered = format!("{INDENT}{},", inline_table(t)?);
        if rendered.chars().count() > MAX_LINE_LENGTH || rendered.contains('\n') {
            return Ok(false);
        }
    }
    Ok(true)
}

fn literal(v: &Data, nest: usize) -> Result<String, String> {
    Ok(match v {
        Data::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => super::python_float(*f),
        Data::Str(s) => string(s),
        Data::Date(d) => d.clone(),
        Data::List(items) if items.is_empty() => "[]".into(),
        Data::List(items) => {
            let lines: Vec<String> = items
                .iter()
                .map(|item| {
                    Ok(format!(
                        "{}{}",
                        INDENT.repeat(nest + 1),
                        literal(item, nest + 1)?
                    ))
                })
                .collect::<Result<_, String>>()?;
            format!("[\n{},\n{}]", lines.join(",\n"), INDENT.repeat(nest))
        }
        Data::Map(_) => inline_table(v)?,
        Data::Other(t) => return Err(format!("Object of type '{t}' is not TOML serializable")),
    })
}

fn inline_table(v: &Data) -> Result<String, String> {
    let pairs = pairs(v)?;
    if pairs.is_empty() {
        return Ok("{}".into());
    }
    let parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| Ok(format!("{} = {}", key_part(k), literal(v, 0)?)))
        .collect::<Result<_, String>>()?;
    Ok(format!("{{ {} }}", parts.join(", ")))
}

fn key_part(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { k.to_string() } else { string(k) }
}

/// A basic string with `tomli_w`'s escapes (compact ones where TOML has them, else `\uXXXX`).
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push('\t'),
            c if (c as u32) < 32 || c as u32 == 127 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(j: &serde_json::Value) -> Data {
        match j {
            serde_json::Value::Null => Data::Other("NoneType"),
            serde_json::Value::Bool(b) => Data::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Data::Int(i.into()),
                None => Data::Float(n.as_f64().unwrap()),
            },
            serde_json::Value::String(s) => Data::Str(s.clone()),
            serde_json::Value::Array(a) => Data::List(a.iter().map(data).collect()),
            serde_json::Value::Object(o) => Data::Map(
                o.iter()
                    .map(|(k, v)| (Key::Str(k.clone()), data(v)))
                    .collect(),
            ),
        }
    }

    fn toml(json: &str) -> Result<String, String> {
        dumps(&data(&serde_json::from_str(json).unwrap()))
    }

    // Expected text from tomli_w 1.2.0 (what ansible-inventory --toml uses).
    #[test]
    fn tables_values_and_arrays() {
        assert_eq!(
            toml(r#"{"g": {"hosts": {"h": {"a": "b", "d": {"i": 1, "f": 1.0, "l": [1, 2]}}}}}"#)
                .unwrap(),
            "[g.hosts.h]\na = \"b\"\n\n[g.hosts.h.d]\ni = 1\nf = 1.0\nl = [\n    1,\n    2,\n]\n"
        );
        assert_eq!(
            toml(r#"{"p": {"children": ["a"]}, "q": {"hosts": {"příbor": {}}}}"#).unwrap(),
            "[p]\nchildren = [\n    \"a\",\n]\n\n[q.hosts.\"příbor\"]\n"
        );
        assert_eq!(
            toml(r#"{"t": {"x": [{"a": 1}], "s": "q\"\u0001"}}"#).unwrap(),
            "[t]\nx = [\n    { a = 1 },\n]\ns = \"q\\\"\\u0001\"\n"
        );
    }

    #[test]
    fn null_is_not_toml() {
        assert_eq!(
            toml(r#"{"t": {"n": null}}"#).unwrap_err(),
            "Object of type 'NoneType' is not TOML serializable"
        );
    }
}
