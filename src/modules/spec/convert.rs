//! Turning a task's argument into the type its parameter declares, with the messages of
//! ansible-core's `check_type_*` functions, and Python's type names for them.

use super::*;

/// Converts a given value to a parameter's type, as Ansible's type checkers do.
pub fn convert(kind: Kind, name: &str, v: &Value) -> Result<Value, ModuleError> {
    Ok(match kind {
        // A string stays the value it was: data (`!unsafe`) stays data.
        Kind::Str if v.kind() == ValueKind::String => v.clone(),
        Kind::Str => Value::from(to_str(name, v)?),
        Kind::Bool => Value::from(to_bool(name, v)?),
        Kind::Int => Value::from(to_int(name, v)?),
        Kind::List => Value::from(to_list(name, v)?),
        Kind::Any | Kind::Nullable => v.clone(),
    })
}

pub(super) fn type_error(name: &str, v: &Value, want: &str) -> ModuleError {
    failed(format!(
        "argument '{name}' is of type {} and we were unable to convert to {want}",
        python_type(v)
    ))
}

/// Text (numbers and booleans are turned into text, as Ansible does).
pub(super) fn to_str(name: &str, v: &Value) -> Result<String, ModuleError> {
    match v.kind() {
        ValueKind::String => Ok(v.as_str().unwrap_or("").to_string()),
        ValueKind::Number => Ok(v.to_string()),
        ValueKind::Bool => Ok(if v.is_true() { "True" } else { "False" }.into()),
        _ => Err(type_error(name, v, "str")),
    }
}

/// A boolean, with Ansible's spellings (yes/no/on/off/1/0/true/false).
pub(super) fn to_bool(name: &str, v: &Value) -> Result<bool, ModuleError> {
    match v.kind() {
        ValueKind::Bool => Ok(v.is_true()),
        ValueKind::Number => match v.as_i64() {
            Some(1) => Ok(true),
            Some(0) => Ok(false),
            _ => Err(type_error(name, v, "bool")),
        },
        ValueKind::String => match v.as_str().unwrap_or("").to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => Ok(true),
            "no" | "off" | "0" | "false" | "n" | "f" => Ok(false),
            _ => Err(type_error(name, v, "bool")),
        },
        _ => Err(type_error(name, v, "bool")),
    }
}

/// An integer.
pub(super) fn to_int(name: &str, v: &Value) -> Result<i64, ModuleError> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    // check_type_int: a bool is an int in Python; the rest goes through Decimal, so "3.0"
    // and 3.0 are 3 but 3.5 is refused.
    if v.kind() == ValueKind::Bool {
        return Ok(v.is_true() as i64);
    }
    let text = v.to_string();
    let as_float = match v.kind() {
        ValueKind::Number | ValueKind::String => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    if let Some(i) = text.trim().parse::<i64>().ok().or_else(|| {
        as_float
            .filter(|f| f.fract() == 0.0 && f.is_finite())
            .map(|f| f as i64)
    }) {
        return Ok(i);
    }
    let shown = crate::value::python_repr(&crate::value::to_json(v));
    Err(failed(format!(
        "argument '{name}' is of type {} and we were unable to convert to int: \"{shown}\" cannot be converted to an int",
        python_type(v)
    )))
}

/// A list; a string becomes a list split on commas, as Ansible's `type='list'`.
pub fn to_list(name: &str, v: &Value) -> Result<Vec<Value>, ModuleError> {
    match v.kind() {
        // Iterable: a lazily computed sequence (minijinja's `list + list`).
        ValueKind::Seq | ValueKind::Iterable => {
            Ok(v.try_iter().map(|i| i.collect()).unwrap_or_default())
        }
        ValueKind::String => Ok(v
            .as_str()
            .unwrap_or("")
            .split(',')
            .map(|s| Value::from(s.trim()))
            .collect()),
        // check_type_list: numbers (and so booleans) become their text; the rest fails.
        ValueKind::Number | ValueKind::Bool => Ok(vec![v.clone()]),
        _ => Err(failed(format!(
            "argument '{name}' is of type {} and we were unable to convert to list: <class '{}'> cannot be converted to a list",
            python_type(v),
            python_type(v)
        ))),
    }
}

/// Python's name for a value's type, as Ansible's messages use it.
pub fn python_type(v: &Value) -> &'static str {
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
