//! Ansible's math filters (`log`, `pow`, `root`), with its errors: each works on numbers only
//! (Python's `math` functions, which also take booleans) and says so otherwise.

use super::err;
use crate::value::Value;
use minijinja::Error;
use minijinja::value::ValueKind;

/// A number as Python's `math` takes it, or the filter's "can only be used on numbers".
fn number(v: &Value, filter: &str) -> Result<f64, Error> {
    match v.kind() {
        ValueKind::Number | ValueKind::Bool => f64::try_from(v.clone())
            .map_err(|_| err(format!("{filter}() can only be used on numbers"))),
        _ => Err(err(format!("{filter}() can only be used on numbers"))),
    }
}

fn domain(x: f64) -> Result<f64, Error> {
    if x.is_nan() {
        Err(err("math domain error"))
    } else {
        Ok(x)
    }
}

pub(super) fn log(x: Value, base: Option<Value>) -> Result<f64, Error> {
    let x = number(&x, "log")?;
    let base = base.map(|b| number(&b, "log")).transpose()?;
    if x <= 0.0 || base.is_some_and(|b| b <= 0.0) {
        return Err(err("math domain error"));
    }
    domain(match base {
        Some(10.0) => x.log10(),
        Some(b) => x.ln() / b.ln(),
        None => x.ln(),
    })
}

pub(super) fn pow(x: Value, y: Value) -> Result<f64, Error> {
    let (x, y) = (number(&x, "pow")?, number(&y, "pow")?);
    domain(x.powf(y))
}

pub(super) fn root(x: Value, base: Option<Value>) -> Result<f64, Error> {
    let x = number(&x, "root")?;
    let base = base.map(|b| number(&b, "root")).transpose()?;
    let r = match base {
        None | Some(2.0) => x.sqrt(),
        Some(b) => x.powf(1.0 / b),
    };
    if r.is_nan() {
        return Err(err("root() can only be used on numbers"));
    }
    Ok(r)
}
