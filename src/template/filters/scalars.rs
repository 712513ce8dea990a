//! Filters that supply or coerce one value: `default`, `mandatory`, `ternary`, `bool`, `int`,
//! `float`, `round`. They are here together because each must reproduce Python's conversion
//! rules (`int(' 42 ')`, `round(2.5) == 2`), not minijinja's.

use super::{arg, err, flag, py_type};
use crate::value::Value;
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Error, ErrorKind};

/// `default(value, default_value='', boolean=False)`.
pub(super) fn default_filter(
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

pub(super) fn mandatory(v: Value, msg: Option<String>) -> Result<Value, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            msg.unwrap_or_else(|| super::MANDATORY_UNNAMED.to_string()),
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
pub(super) fn parse_py_float(s: &str) -> Option<f64> {
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
pub(super) fn int_filter(
    v: Value,
    default: Option<Value>,
    base: Option<u32>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default = arg(default, &kwargs, "default")?.unwrap_or(Value::from(0));
    let base = arg(base, &kwargs, "base")?.unwrap_or(10);
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
pub(super) fn float_filter(
    v: Value,
    default: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default = arg(default, &kwargs, "default")?.unwrap_or(Value::from(0.0));
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
pub(super) fn round(
    v: Value,
    precision: Option<i32>,
    method: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let precision = arg(precision, &kwargs, "precision")?.unwrap_or(0);
    let method = arg(method, &kwargs, "method")?.unwrap_or("common".into());
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
pub(super) fn py_round(f: f64, ndigits: i32) -> f64 {
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

pub(super) fn ternary(v: Value, t: Value, f: Value, none: Option<Value>) -> Value {
    match none {
        Some(n) if v.is_none() && !n.is_none() => n,
        _ if v.is_true() => t,
        _ => f,
    }
}

#[cfg(test)]
mod tests {
    use super::super::render;

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
}
