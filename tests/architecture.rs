//! The house has no circles: the top-level rooms of `src/` (cli, exec, modules, connection,
//! template, vars, value, yaml, diagnostics, ...) import each other in one direction only. This
//! test reads every source file, collects the `crate::ROOM` paths each room uses outside its
//! tests and comments, and fails naming the circle when there is one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The room a file belongs to: the first component under src/ (`exec/mod.rs` -> `exec`).
fn room_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without its unit tests and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The rooms a piece of code names: `crate::x::...` and `use crate::{x, y::z}`.
fn rooms_used(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(inner) = rest.strip_prefix('{') {
            // Top-level items of the group only: `{value::{self, Value}, vars::Scope}`.
            let (mut depth, mut start) = (0usize, true);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        start = false;
                        let name = ident(&inner[i..]);
                        if !name.is_empty() {
                            out.insert(name);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let room = room_of(&f);
        if room == "lib" || room == "main" {
            continue;
        }
        let used = rooms_used(&code(&std::fs::read_to_string(&f).unwrap()));
        let entry = graph.entry(room.clone()).or_default();
        entry.extend(used.into_iter().filter(|r| *r != room));
    }
    graph
}

/// A circle through `start`, if there is one (depth-first search back to it).
fn circle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    at: &str,
    path: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    for next in graph.get(at).into_iter().flatten() {
        if next == start {
            let mut c = path.clone();
            c.push(start.to_string());
            return Some(c);
        }
        if seen.insert(next.clone()) {
            path.push(next.clone());
            if let Some(c) = circle_from(graph, start, next, path, seen) {
                return Some(c);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn rooms_import_each_other_in_one_direction_only() {
    let graph = graph();
    assert!(graph.len() > 10, "too few rooms found: {graph:?}");
    for room in graph.keys() {
        let mut path = vec![room.clone()];
        if let Some(circle) = circle_from(&graph, room, room, &mut path, &mut BTreeSet::new()) {
            panic!(
                "the rooms import each other in a circle: {}\n(each room's imports: {graph:#?})",
                circle.join(" -> ")
            );
        }
    }
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    let mut path = vec!["a".to_string()];
    let found = circle_from(&g, "a", "a", &mut path, &mut BTreeSet::new());
    assert_eq!(
        found,
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        rooms_used(
            "use crate::{value::{self, Value}, vars::Scope};\nlet x = crate::yaml::load(y);"
        ),
        ["value", "vars", "yaml"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

/// vault is a leaf: it imports no other room (not even diagnostics: it has its own error,
/// turned into the one error type where vault meets the rest, and the masking registry is a
/// value the CLI hands it, not a global it shares with the printers).
#[test]
fn vault_imports_no_other_room() {
    let graph = graph();
    let used = graph.get("vault").expect("the vault room");
    assert!(used.is_empty(), "vault imports {used:?}");
}
