//! Tests of the PyYAML-compatible emitter (`super`): expected text from ansible-core 2.19.

use super::*;

fn y(json: &str, flow: Option<bool>, indent: usize) -> String {
    let j: serde_json::Value = serde_json::from_str(json).unwrap();
    dump(
        &crate::value::from_json(&j),
        DumpOptions {
            default_flow_style: flow,
            indent,
            width: 80,
            aliases: false,
            ..DumpOptions::default()
        },
    )
    .unwrap()
}

// Expected strings from ansible-core 2.19's to_yaml / to_nice_yaml (libyaml emitter).
#[test]
fn flow_style_for_leaf_collections() {
    assert_eq!(
        y(
            r#"{"tags": ["a", "b"], "n": {"x": [1, {"y": "z"}], "e": []}}"#,
            None,
            2
        ),
        "n:\n  e: []\n  x:\n  - 1\n  - {y: z}\ntags: [a, b]\n"
    );
    assert_eq!(
        y(r#"[1, "two", {"three": 3}]"#, None, 2),
        "- 1\n- two\n- {three: 3}\n"
    );
}

#[test]
fn nice_yaml_blocks_and_indents() {
    assert_eq!(
        y(r#"{"x": [1, {"y": "z"}], "tags": ["a"]}"#, Some(false), 4),
        "tags:\n- a\nx:\n- 1\n-   y: z\n"
    );
    assert_eq!(
        y(r#"[1, "two", {"three": 3}]"#, Some(false), 4),
        "- 1\n- two\n-   three: 3\n"
    );
}

#[test]
fn quoting_and_folding() {
    assert_eq!(
        y(
            r#"{"a": "yes", "b": "123", "c": "it's: here", "d": "multi\nline", "e": "", "f": null}"#,
            None,
            2
        ),
        "{a: 'yes', b: '123', c: 'it''s: here', d: 'multi\n\n    line', e: '', f: null}\n"
    );
    let long = "this is a rather long string value that goes past the eighty column limit of the yaml emitter for sure";
    assert_eq!(
        y(&format!("{{\"k\": \"{long}\"}}"), Some(false), 4),
        "k: this is a rather long string value that goes past the eighty column limit of the\n    yaml emitter for sure\n"
    );
    assert_eq!(
        y(&format!("\"{long}\""), None, 2),
        "this is a rather long string value that goes past the eighty column limit of the yaml\n  emitter for sure\n"
    );
    assert_eq!(y(r#""tab\there""#, None, 2), "\"tab\\there\"\n");
    assert_eq!(y(r#"{"u": "héllo ✓"}"#, None, 2), "{u: héllo ✓}\n");
}
