//! Where a value came from, for the values that say so: ansible-core 2.19's `Origin` tag as
//! the `ansible._protomatter.origin` filter shows it (`<environment variable 'HOME'>` for
//! what the env lookup read).
//!
//! minijinja's values have no room for a tag, and an origin is asked for rarely, so it is
//! kept beside the value rather than in it: a small table from a string's shared text (its
//! `Arc<str>`, which every copy of the value shares, as a Python `str` is one object) to its
//! origin. The table holds a copy of each value it describes, so the text cannot be freed and
//! its address reused by another string while the entry lives; it keeps the latest
//! [`CAPACITY`] entries, so a loop over many lookups costs bounded memory. Only values made
//! with [`tagged`] have an origin; text the playbook wrote (which ansible-core tags with its
//! file, line and column) has none here.

use super::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many tagged values the table remembers.
const CAPACITY: usize = 256;

/// The tagged values (a copy, which keeps the text alive) and their origins, oldest first.
static TABLE: Mutex<VecDeque<(Value, String)>> = Mutex::new(VecDeque::new());

/// The address of a string value's shared text; short strings made the usual way are kept
/// inline in the value and have none (see [`tagged`]).
fn text_address(v: &Value) -> Option<usize> {
    v.as_str().map(|s| s.as_ptr() as usize)
}

/// `v` (a string) with its origin recorded; other values are returned as they are. The string
/// is made over shared text, so that its copies can be recognized as the same string.
pub fn tagged(v: Value, origin: String) -> Value {
    let Some(text) = v.as_str() else {
        return v;
    };
    let shared: Arc<str> = Arc::from(text);
    let v = if v.is_safe() {
        Value::from_safe_string(text.to_string())
    } else {
        Value::from(shared)
    };
    let mut table = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    if table.len() == CAPACITY {
        table.pop_front();
    }
    table.push_back((v.clone(), origin));
    v
}

/// The origin recorded for `v`, if any.
pub fn of(v: &Value) -> Option<String> {
    let address = text_address(v)?;
    let table = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    table
        .iter()
        .rev()
        .find(|(t, _)| text_address(t) == Some(address))
        .map(|(_, o)| o.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tagged_string_and_its_copies_have_the_origin_an_equal_string_does_not() {
        let v = tagged(Value::from("short"), "<environment variable 'X'>".into());
        let copy = v.clone();
        assert_eq!(of(&copy).as_deref(), Some("<environment variable 'X'>"));
        assert_eq!(copy, Value::from("short"), "still the same text");
        assert_eq!(
            of(&Value::from("short")),
            None,
            "another string of that text"
        );
        assert_eq!(of(&Value::from(1)), None);
    }
}
