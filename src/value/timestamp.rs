//! YAML timestamps as values: a plain `2024-01-01` is a Python `date` and a plain
//! `2024-01-01 12:01:01` a `datetime` to PyYAML, so to Ansible, not text.
//!
//! It matters where they are written out or compared: `str()` (templates) gives
//! `2024-01-01 12:01:01`, JSON (ansible-inventory, `to_json`, module arguments) the ISO form
//! `2024-01-01T12:01:01`, YAML the form it was read in, TOML `str()` unquoted; a date is never
//! equal to text, and `type_debug` says `date` or `datetime`. A timestamp PyYAML would refuse
//! (a 13th month) stays text.

pub use crate::text::timestamp::Timestamp;
use crate::value::Value;
use minijinja::value::{Object, ObjectRepr};
use std::sync::Arc;

impl Object for Timestamp {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let time = self.time.as_ref();
        Some(match key.as_str()? {
            "year" => Value::from(self.year),
            "month" => Value::from(self.month),
            "day" => Value::from(self.day),
            "hour" => Value::from(time?.0),
            "minute" => Value::from(time?.1),
            "second" => Value::from(time?.2),
            "microsecond" => Value::from(time?.3),
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.python_str())
    }
}

/// The value of a YAML timestamp; text when PyYAML could not make a date of it.
pub fn value(text: &str) -> Value {
    match Timestamp::parse(text) {
        Some(t) => Value::from_object(t),
        None => Value::from(text),
    }
}

/// The timestamp a value is, if it is one.
pub fn of(v: &Value) -> Option<&Timestamp> {
    v.downcast_object_ref::<Timestamp>()
}
