//! When a rendered template keeps the type of what it printed, as ansible-core 2.19 decides it.
//!
//! ansible's Jinja environment concatenates a template's output nodes natively: no node gives
//! `None` (a template that printed nothing; text without Jinja is not rendered at all), exactly one node gives that node's value as it is (a dict stays a dict), more than one
//! are joined as text. A macro's body is concatenated the same way, so `{{ m() }}` where `m`
//! prints one dict is that dict. minijinja renders to text; this module watches what the
//! formatter prints (every `{{ }}` goes through it, literal text does not) so that a render can
//! tell afterwards whether its whole output was one printed value, and which.

use crate::value::Value;
use minijinja::value::ValueKind;
use std::cell::RefCell;

/// One value the formatter printed: into which output (a macro prints into its own), and as
/// what text.
struct Printed {
    output: usize,
    value: Value,
    text: String,
}

thread_local! {
    /// The renders that watch their prints on this thread, innermost last.
    static WATCHES: RefCell<Vec<Vec<Printed>>> = const { RefCell::new(Vec::new()) };
}

/// Notes a value the formatter prints into `output` as `text`, for the innermost watching render.
pub(super) fn printed(output: &minijinja::Output, value: &Value, text: &str) {
    WATCHES.with(|w| {
        if let Some(watch) = w.borrow_mut().last_mut() {
            watch.push(Printed {
                output: std::ptr::from_ref(output) as usize,
                value: value.clone(),
                text: text.to_string(),
            });
        }
    });
}

/// Runs a render that gives text, then applies ansible's rule to it: the value of the one node
/// its output was, or the text. `rendered` picks the text to compare from the render's result
/// (the template lookup compares without the one trailing newline Jinja drops).
pub(super) fn render<E>(
    render: impl FnOnce() -> Result<String, E>,
    compared: impl FnOnce(&str) -> &str,
) -> Result<Value, E> {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            WATCHES.with(|w| w.borrow_mut().pop());
        }
    }
    WATCHES.with(|w| w.borrow_mut().push(Vec::new()));
    let pop = Pop;
    let text = render()?;
    let prints = WATCHES.with(|w| w.borrow_mut().last_mut().map(std::mem::take));
    drop(pop);
    Ok(one_node(&prints.unwrap_or_default(), compared(&text)).unwrap_or_else(|| Value::from(text)))
}

/// The value of the one node an output of `text` was, if it was one printed value.
fn one_node(prints: &[Printed], text: &str) -> Option<Value> {
    // The template's own output is the one its last print went to (a macro's output ends
    // before the print of its result).
    let Some(last) = prints.last() else {
        // No node at all (`{% if false %}x{% endif %}`) is None.
        return text.is_empty().then(|| Value::from(()));
    };
    let mut top = prints.iter().filter(|p| p.output == last.output);
    if (top.next().is_some() && top.next().is_some()) || last.text != text {
        return None;
    }
    if last.value.kind() != ValueKind::String {
        return Some(last.value.clone());
    }
    // A printed macro result is the text of the macro's own output: when that output was one
    // printed value, the macro's value is that value.
    let before = prints.len().checked_sub(2).map(|i| &prints[i])?;
    (before.output != last.output
        && before.text == text
        && before.value.kind() != ValueKind::String)
        .then(|| before.value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::file::{Overrides, render_native};

    fn native(text: &str) -> Value {
        let d = crate::value::map([("foo", Value::from("bar"))]);
        let ctx = crate::value::map([("d", d), ("n", Value::from(3))]);
        render_native(text, &ctx, &Overrides::default(), &[]).expect("renders")
    }

    #[test]
    fn one_printed_node_keeps_its_type() {
        let m = native("{% macro m() %}{{ {\"foo\":\"bar\"} }}{% endmacro %}\n{{ m() }}\n");
        assert_eq!(m.kind(), ValueKind::Map);
        assert_eq!(m.get_attr("foo").unwrap().as_str(), Some("bar"));
        assert_eq!(native("{% if n %}{{ n }}{% endif %}\n").as_i64(), Some(3));
        assert_eq!(
            native("{% if true %}{{ d }}{% endif %}").kind(),
            ValueKind::Map
        );
        // Two nodes, or a node and text, are text.
        assert_eq!(native("{{ n }}{{ n }}").as_str(), Some("33"));
        assert!(native("{% if false %}x{% endif %}\n").is_none());
        assert_eq!(native("").as_str(), Some(""));
        assert_eq!(native("x{{ n }}").as_str(), Some("x3"));
        let m = native("{% macro m() %}<{{ d }}>{% endmacro %}{{ m() }}");
        assert_eq!(m.as_str(), Some("<{'foo': 'bar'}>"));
    }
}
