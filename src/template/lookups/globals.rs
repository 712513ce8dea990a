//! The global functions Ansible adds to Jinja that are not lookups: `now()`, Python's `dict()`
//! and `range()` (lazy, with a cap that says so instead of exhausting memory), `undef()`, Jinja's
//! `joiner()`.

use crate::template::filters::err;
use crate::value::Value;
use minijinja::value::{Kwargs, Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind};

/// Registers the functions of this file.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_function("now", |kwargs: Kwargs| -> Result<Value, Error> {
        let utc = kwargs.get::<Option<bool>>("utc")?.unwrap_or(false);
        let fmt: Option<String> = kwargs.get("fmt")?;
        kwargs.assert_all_used()?;
        Ok(crate::template::filters::now(utc, fmt))
    });
    env.add_function("dict", dict);
    env.add_function("joiner", |sep: Option<String>| {
        Value::from_object(Joiner {
            sep: sep.unwrap_or_else(|| ", ".into()),
            used: std::sync::atomic::AtomicBool::new(false),
        })
    });
    env.add_function("range", py_range);
    env.add_function("undef", |hint: Option<String>| -> Result<Value, Error> {
        // What the value says when it is used: ansible-core's `UndefinedMarker` hint.
        let hint = hint.filter(|h| !h.is_empty());
        crate::template::note_undefined(hint.unwrap_or_else(|| UNDEF_DEFAULT.to_string()));
        Ok(Value::UNDEFINED)
    });
}

/// Jinja's `joiner(sep)`: a function that gives "" when first called, then `sep`.
#[derive(Debug)]
struct Joiner {
    sep: String,
    used: std::sync::atomic::AtomicBool,
}

impl minijinja::value::Object for Joiner {
    fn call(
        self: &std::sync::Arc<Self>,
        _state: &mut minijinja::State<'_, '_>,
        args: &[Value],
    ) -> Result<Value, Error> {
        if !args.is_empty() {
            return Err(err("joiner() takes no arguments".to_string()));
        }
        let used = self.used.swap(true, std::sync::atomic::Ordering::Relaxed);
        Ok(Value::from(if used { self.sep.as_str() } else { "" }))
    }
}

/// What `undef()` without a hint says when it is used (ansible-core's `_DEFAULT_UNDEF`).
pub(crate) const UNDEF_DEFAULT: &str = "Mandatory variable has not been overridden";

/// The most items a `range()` may have: ten million (a quarter of a gigabyte once a loop or
/// `| list` holds them all). Jinja has no cap, but past memory Python fails too; baton says so
/// first. minijinja's own `range` stops at 100,000, well below loops users write.
const MAX_RANGE: i128 = 10_000_000;

/// Python's `range(stop)` / `range(start, stop[, step])`, lazily iterated.
fn py_range(a: i64, b: Option<i64>, step: Option<i64>) -> Result<Value, Error> {
    let (start, stop) = match b {
        Some(b) => (a, b),
        None => (0, a),
    };
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "range() arg 3 must not be zero",
        ));
    }
    let (start, stop, step) = (start as i128, stop as i128, step as i128);
    let len = if step > 0 && start < stop {
        (stop - start + step - 1) / step
    } else if step < 0 && start > stop {
        (start - stop - step - 1) / -step
    } else {
        0
    };
    if len > MAX_RANGE {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("range() of {len} items is more than baton holds ({MAX_RANGE})"),
        ));
    }
    Ok(Value::make_iterable(move || {
        (0..len).map(move |i| Value::from((start + i * step) as i64))
    }))
}

/// Python's `dict(iterable_or_mapping, **kwargs)`.
fn dict(args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    for a in args.iter() {
        if a.is_kwargs() || a.kind() == ValueKind::Map {
            for k in a.try_iter()? {
                pairs.push((k.clone(), a.get_item(&k)?));
            }
        } else {
            for item in a.try_iter()? {
                let kv: Vec<Value> = item.try_iter()?.collect();
                if kv.len() != 2 {
                    return Err(err(format!(
                        "dictionary update sequence element has length {}; 2 is required",
                        kv.len()
                    )));
                }
                pairs.push((kv[0].clone(), kv[1].clone()));
            }
        }
    }
    // Later keys win, but keep the first position, as a Python dict does.
    let mut map: indexmap::IndexMap<Value, Value> = indexmap::IndexMap::new();
    for (k, v) in pairs {
        map.insert(k, v);
    }
    Ok(Value::from_object(map))
}
