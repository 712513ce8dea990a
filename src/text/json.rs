//! Python's `json.dumps`, byte for byte: the one JSON writer behind the `to_json` and
//! `to_nice_json` filters and `baton inventory --list`/`--host`.
//!
//! Users compare these outputs with Ansible's (a rendered config file, an inventory listing), so
//! what differs from serde_json's writer matters: Python's separators (`", "` and `": "`, the
//! item separator losing its space once there is an indent), `indent=0` meaning newlines
//! without indentation, `ensure_ascii` escaping everything outside printable ASCII as `\uXXXX`
//! (UTF-16 surrogate pairs beyond the BMP), floats as Python's `repr` spells them (`1e+16`,
//! `1000.0`, `NaN`, `Infinity`) and `sort_keys` sorting by the text of the key.
//!
//! What to write comes through [`ToJson`], so a caller with its own data (the inventory's
//! variables, written straight from templating values without building a JSON tree first)
//! decides what its values are, and this file alone decides how they are spelled. A caller that
//! writes a large document piece by piece uses the [`Writer`]'s streaming calls.

use std::fmt::Display;

/// The options of `json.dumps` that change the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// `indent`: `None` for one line, `Some(n)` for a newline and n spaces per level.
    pub indent: Option<usize>,
    /// The first of `separators`, written between items.
    pub item_separator: String,
    /// The second of `separators`, written between a key and its value.
    pub key_separator: String,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
}

impl Default for Style {
    /// `json.dumps(value)`.
    fn default() -> Style {
        Style {
            indent: None,
            item_separator: ", ".into(),
            key_separator: ": ".into(),
            sort_keys: false,
            ensure_ascii: true,
        }
    }
}

impl Style {
    /// `json.dumps(value, indent=n)`: Python's default item separator is then `","`.
    pub fn indented(n: usize) -> Style {
        Style {
            indent: Some(n),
            item_separator: ",".into(),
            ..Style::default()
        }
    }
}

/// Something [`Writer`] can write: it says what it is by calling the writer.
pub trait ToJson {
    fn write_json(&self, w: &mut Writer<'_>);
}

/// `json.dumps(value, **style)`.
pub fn dumps<T: ToJson + ?Sized>(value: &T, style: &Style) -> String {
    let mut w = Writer::new(style);
    value.write_json(&mut w);
    w.finish()
}

/// Writes JSON text in a [`Style`]. Values are written with the scalar calls ([`Writer::str`],
/// [`Writer::int`], ...), containers with [`Writer::array`] and [`Writer::object`] (which sorts
/// keys when the style says so), or, for a document built piece by piece, with `begin_*`,
/// [`Writer::key`] and `end_*` (keys in the order given).
pub struct Writer<'s> {
    style: &'s Style,
    out: String,
    /// For each open container, how many items it has so far.
    open: Vec<usize>,
    /// A key was just written: the next value is its value, not an item of its own.
    after_key: bool,
}

impl<'s> Writer<'s> {
    pub fn new(style: &'s Style) -> Writer<'s> {
        Writer::with_capacity(style, 0)
    }

    /// A writer whose output buffer starts with room for `capacity` bytes.
    pub fn with_capacity(style: &'s Style, capacity: usize) -> Writer<'s> {
        Writer {
            style,
            out: String::with_capacity(capacity),
            open: Vec::new(),
            after_key: false,
        }
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.out
    }

    pub fn null(&mut self) {
        self.before_value();
        self.out.push_str("null");
    }

    pub fn bool(&mut self, b: bool) {
        self.before_value();
        self.out.push_str(if b { "true" } else { "false" });
    }

    /// An integer, written as its decimal digits.
    pub fn int(&mut self, n: impl Display) {
        self.before_value();
        self.out.push_str(&n.to_string());
    }

    /// A float as Python's `repr`; NaN and the infinities as `json.dumps` writes them.
    pub fn float(&mut self, f: f64) {
        self.before_value();
        if f.is_nan() {
            self.out.push_str("NaN");
        } else if f.is_infinite() {
            self.out
                .push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        } else {
            self.out.push_str(&crate::text::python_float(f));
        }
    }

    pub fn str(&mut self, s: &str) {
        self.before_value();
        self.quoted(s);
    }

    /// Any [`ToJson`] value.
    pub fn value<T: ToJson + ?Sized>(&mut self, v: &T) {
        v.write_json(self);
    }

    /// A list of the items.
    pub fn array<T: ToJson>(&mut self, items: impl IntoIterator<Item = T>) {
        self.begin_array();
        for item in items {
            item.write_json(self);
        }
        self.end_array();
    }

    /// A mapping of the entries, sorted by key when the style says so (stably: equal keys keep
    /// their order).
    pub fn object<K: AsRef<str>, V: ToJson>(&mut self, entries: impl IntoIterator<Item = (K, V)>) {
        let mut entries: Vec<(K, V)> = entries.into_iter().collect();
        if self.style.sort_keys {
            entries.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        }
        self.begin_object();
        for (k, v) in &entries {
            self.key(k.as_ref());
            v.write_json(self);
        }
        self.end_object();
    }

    pub fn begin_array(&mut self) {
        self.begin('[');
    }

    pub fn end_array(&mut self) {
        self.end(']');
    }

    pub fn begin_object(&mut self) {
        self.begin('{');
    }

    pub fn end_object(&mut self) {
        self.end('}');
    }

    /// The key of the next value in the open object.
    pub fn key(&mut self, k: &str) {
        self.next_item();
        self.quoted(k);
        self.out.push_str(&self.style.key_separator);
        self.after_key = true;
    }

    /// Before a value: nothing after a key; in a list, what separates it from the one before.
    fn before_value(&mut self) {
        if std::mem::take(&mut self.after_key) {
            return;
        }
        if !self.open.is_empty() {
            self.next_item();
        }
    }

    /// The separator (unless first) and the newline and indentation of an item.
    fn next_item(&mut self) {
        let Some(count) = self.open.last_mut() else {
            return;
        };
        *count += 1;
        if *count > 1 {
            self.out.push_str(&self.style.item_separator);
        }
        self.newline(self.open.len());
    }

    fn begin(&mut self, bracket: char) {
        self.before_value();
        self.out.push(bracket);
        self.open.push(0);
    }

    fn end(&mut self, bracket: char) {
        let count = self.open.pop().unwrap_or(0);
        // Python writes `[]` and `{}` with nothing inside, whatever the indent.
        if count > 0 {
            self.newline(self.open.len());
        }
        self.out.push(bracket);
    }

    fn newline(&mut self, level: usize) {
        if let Some(n) = self.style.indent {
            self.out.push('\n');
            for _ in 0..n * level {
                self.out.push(' ');
            }
        }
    }

    /// A JSON string: Python escapes `"`, `\` and control characters, and with `ensure_ascii`
    /// everything outside printable ASCII (DEL included), as UTF-16 code units.
    fn quoted(&mut self, s: &str) {
        let out = &mut self.out;
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
                c if self.style.ensure_ascii && (c as u32) > 0x7e => {
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
}

impl ToJson for serde_json::Value {
    fn write_json(&self, w: &mut Writer<'_>) {
        match self {
            serde_json::Value::Null => w.null(),
            serde_json::Value::Bool(b) => w.bool(*b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => w.int(i),
                (_, Some(u), _) => w.int(u),
                (_, _, Some(f)) => w.float(f),
                _ => w.int(n),
            },
            serde_json::Value::String(s) => w.str(s),
            serde_json::Value::Array(a) => w.array(a),
            serde_json::Value::Object(o) => w.object(o),
        }
    }
}

impl ToJson for str {
    fn write_json(&self, w: &mut Writer<'_>) {
        w.str(self);
    }
}

impl ToJson for String {
    fn write_json(&self, w: &mut Writer<'_>) {
        w.str(self);
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, w: &mut Writer<'_>) {
        (**self).write_json(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data of the table below, in this key order.
    fn data() -> serde_json::Value {
        serde_json::json!({
            "b": [1, 2.5, 1e16, 1.5e-05, 1000.0, -0.0, "é\u{2028}😀", null, true, false],
            "a": {},
            "c": [],
            "d": {"z": "\u{1}\u{7f}\"\\\n\t\u{8}\u{c}\r", "y": [[]]}
        })
    }

    #[test]
    fn writes_what_pythons_json_dumps_writes() {
        // What CPython 3.11's json.dumps(data, **style) returned for each style.
        let cases = [
            (
                Style::default(),
                "{\"b\": [1, 2.5, 1e+16, 1.5e-05, 1000.0, -0.0, \"\\u00e9\\u2028\\ud83d\\ude00\", null, true, false], \"a\": {}, \"c\": [], \"d\": {\"z\": \"\\u0001\\u007f\\\"\\\\\\n\\t\\b\\f\\r\", \"y\": [[]]}}",
            ),
            (
                Style::indented(2),
                "{\n  \"b\": [\n    1,\n    2.5,\n    1e+16,\n    1.5e-05,\n    1000.0,\n    -0.0,\n    \"\\u00e9\\u2028\\ud83d\\ude00\",\n    null,\n    true,\n    false\n  ],\n  \"a\": {},\n  \"c\": [],\n  \"d\": {\n    \"z\": \"\\u0001\\u007f\\\"\\\\\\n\\t\\b\\f\\r\",\n    \"y\": [\n      []\n    ]\n  }\n}",
            ),
            (
                Style::indented(0),
                "{\n\"b\": [\n1,\n2.5,\n1e+16,\n1.5e-05,\n1000.0,\n-0.0,\n\"\\u00e9\\u2028\\ud83d\\ude00\",\nnull,\ntrue,\nfalse\n],\n\"a\": {},\n\"c\": [],\n\"d\": {\n\"z\": \"\\u0001\\u007f\\\"\\\\\\n\\t\\b\\f\\r\",\n\"y\": [\n[]\n]\n}\n}",
            ),
            (
                Style {
                    sort_keys: true,
                    ..Style::default()
                },
                "{\"a\": {}, \"b\": [1, 2.5, 1e+16, 1.5e-05, 1000.0, -0.0, \"\\u00e9\\u2028\\ud83d\\ude00\", null, true, false], \"c\": [], \"d\": {\"y\": [[]], \"z\": \"\\u0001\\u007f\\\"\\\\\\n\\t\\b\\f\\r\"}}",
            ),
            (
                Style {
                    ensure_ascii: false,
                    ..Style::default()
                },
                "{\"b\": [1, 2.5, 1e+16, 1.5e-05, 1000.0, -0.0, \"\u{e9}\u{2028}\u{1f600}\", null, true, false], \"a\": {}, \"c\": [], \"d\": {\"z\": \"\\u0001\u{7f}\\\"\\\\\\n\\t\\b\\f\\r\", \"y\": [[]]}}",
            ),
            (
                Style {
                    item_separator: ",".into(),
                    key_separator: ":".into(),
                    ..Style::default()
                },
                "{\"b\":[1,2.5,1e+16,1.5e-05,1000.0,-0.0,\"\\u00e9\\u2028\\ud83d\\ude00\",null,true,false],\"a\":{},\"c\":[],\"d\":{\"z\":\"\\u0001\\u007f\\\"\\\\\\n\\t\\b\\f\\r\",\"y\":[[]]}}",
            ),
            (
                Style {
                    sort_keys: true,
                    ensure_ascii: false,
                    ..Style::indented(4)
                },
                "{\n    \"a\": {},\n    \"b\": [\n        1,\n        2.5,\n        1e+16,\n        1.5e-05,\n        1000.0,\n        -0.0,\n        \"\u{e9}\u{2028}\u{1f600}\",\n        null,\n        true,\n        false\n    ],\n    \"c\": [],\n    \"d\": {\n        \"y\": [\n            []\n        ],\n        \"z\": \"\\u0001\u{7f}\\\"\\\\\\n\\t\\b\\f\\r\"\n    }\n}",
            ),
        ];
        for (style, want) in cases {
            assert_eq!(dumps(&data(), &style), want, "{style:?}");
        }
    }

    #[test]
    fn floats_are_pythons_repr() {
        let style = Style::default();
        let mut w = Writer::new(&style);
        w.array(
            [
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                0.0001,
                1e-5,
                1e15,
                123.456,
            ]
            .map(Float),
        );
        assert_eq!(
            w.finish(),
            "[NaN, Infinity, -Infinity, 0.0001, 1e-05, 1000000000000000.0, 123.456]"
        );
    }

    struct Float(f64);

    impl ToJson for Float {
        fn write_json(&self, w: &mut Writer<'_>) {
            w.float(self.0);
        }
    }

    #[test]
    fn streaming_and_whole_values_agree() {
        let style = Style::indented(4);
        let mut w = Writer::new(&style);
        w.begin_object();
        w.key("k");
        w.begin_object();
        w.end_object();
        w.key("l");
        w.value(&serde_json::json!([1, {"x": "y"}]));
        w.end_object();
        assert_eq!(
            w.finish(),
            dumps(&serde_json::json!({"k": {}, "l": [1, {"x": "y"}]}), &style)
        );
    }
}
