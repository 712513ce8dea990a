//! Runtime values: variables, module arguments and results are all [`minijinja::Value`]s, so that
//! templating needs no conversion. This module owns the conversions in and out (YAML nodes, JSON)
//! and the small amount of Python-compatible formatting Ansible's output relies on.

pub mod origin;
pub mod timestamp;
pub mod vaulted;

use crate::diagnostics::Error;
use crate::yaml::{Node, NodeKind};
use indexmap::IndexMap;
pub use minijinja::Value;
use minijinja::value::ValueKind;

/// An ordered string-keyed map, the shape of every variable layer.
pub type Vars = IndexMap<String, Value>;

/// Builds a mapping value that keeps insertion order.
pub fn map<K: Into<Value>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
    let m: IndexMap<Value, Value> = pairs.into_iter().map(|(k, v)| (k.into(), v)).collect();
    Value::from_object(m)
}

/// A mapping value from variables.
pub fn from_vars(vars: &Vars) -> Value {
    map(vars.iter().map(|(k, v)| (k.as_str(), v.clone())))
}

/// Whether a value is plain data (a list or mapping built from YAML, JSON or a filter) as opposed
/// to a live object such as a variable scope or `hostvars`, which nothing may walk into.
pub fn is_plain(v: &Value) -> bool {
    v.downcast_object_ref::<Vec<Value>>().is_some()
        || v.downcast_object_ref::<IndexMap<Value, Value>>().is_some()
}

/// Marks data that did not come from text the user wrote (what a host printed, a module
/// returned, a fact, a lookup's result, a loop item) as data: none of its strings is ever
/// templated again. This is ansible's "unsafe" (2.19: not `TrustedAsTemplate`). Without it, a
/// host whose command prints `{{ lookup('pipe', ...) }}` would run that on the controller when a
/// later task uses the registered result.
///
/// The mark is minijinja's "safe string" flag, the one `!unsafe` YAML text carries
/// ([`from_node`]); templating ([`crate::template::render_value`]) never renders a string that
/// has it. Only strings that look like templates need the mark, so a value without any is
/// returned as it is (no copy).
pub fn untrusted(v: Value) -> Value {
    mark_where(v, looks_like_template)
}

/// [`untrusted`] for every value of a variable layer (a module's result, facts).
pub fn untrusted_vars(vars: Vars) -> Vars {
    vars.into_iter().map(|(k, v)| (k, untrusted(v))).collect()
}

/// Marks every string of what a host said (a module's result, its facts) as data, not only
/// those that look like templates: ansible-core 2.19 trusts none of them as a template or an
/// expression (`debug: var: "{{ result.stdout }}"` and `when: "{{ result.stdout }}"` refuse
/// them, `tagged_with('TrustedAsTemplate')` is false), where text the playbook wrote and
/// variables that pass it on keep their trust. A copy is made only of lists and mappings that
/// hold a string not marked yet.
pub fn host_data(v: Value) -> Value {
    mark_where(v, |_| true)
}

/// [`host_data`] for every value of a variable layer.
pub fn host_data_vars(vars: Vars) -> Vars {
    vars.into_iter().map(|(k, v)| (k, host_data(v))).collect()
}

/// `v` with each string (and mapping key) that `needs` picks marked as data.
fn mark_where(v: Value, needs: fn(&str) -> bool) -> Value {
    let mut seen = Seen {
        needs,
        clean: Default::default(),
        marked: Default::default(),
    };
    if !has_template_text(&v, &mut seen) {
        return v;
    }
    mark(&v, &mut seen)
}

/// What [`untrusted`] learnt about the lists and mappings it walked, by identity: a YAML alias
/// makes one value appear many times (an alias bomb, a billion times), and each is looked at
/// once, and marked once, so shared values stay shared.
struct Seen {
    /// Which unmarked strings need the mark.
    needs: fn(&str) -> bool,
    /// Lists and mappings with no template text in them.
    clean: std::collections::HashSet<usize>,
    /// Lists and mappings already marked, by the identity of the original.
    marked: std::collections::HashMap<usize, Value>,
}

/// The identity of a plain list or mapping (its shared allocation): the same list or mapping
/// reached twice (a YAML alias, group variables every host of the group has) has one identity,
/// as a Python object has one `id()`.
pub fn identity(v: &Value) -> Option<usize> {
    v.downcast_object_ref::<Vec<Value>>()
        .map(|x| x as *const _ as usize)
        .or_else(|| {
            v.downcast_object_ref::<IndexMap<Value, Value>>()
                .map(|x| x as *const _ as usize)
        })
}

/// Whether a string has any Jinja in it at all: what templating would render
/// (`template::is_template` is this test).
pub fn looks_like_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Whether a plain value holds a string (or mapping key) not marked yet that `seen.needs`
/// picks (for [`untrusted`]: one that templating would render).
fn has_template_text(v: &Value, seen: &mut Seen) -> bool {
    match v.kind() {
        ValueKind::String => !v.is_safe() && v.as_str().is_some_and(seen.needs),
        ValueKind::Seq | ValueKind::Map if !is_plain(v) => false,
        ValueKind::Seq | ValueKind::Map => {
            let id = identity(v);
            if id.is_some_and(|id| seen.clean.contains(&id) || seen.marked.contains_key(&id)) {
                return id.is_some_and(|id| seen.marked.contains_key(&id));
            }
            let found = match v.try_iter() {
                Ok(mut it) if v.kind() == ValueKind::Seq => it.any(|i| has_template_text(&i, seen)),
                Ok(mut it) => it.any(|k| {
                    let item = v.get_item(&k).unwrap_or_default();
                    has_template_text(&k, seen) || has_template_text(&item, seen)
                }),
                Err(_) => false,
            };
            if !found && let Some(id) = id {
                seen.clean.insert(id);
            }
            found
        }
        _ => false,
    }
}

fn mark(v: &Value, seen: &mut Seen) -> Value {
    match v.kind() {
        ValueKind::String if !v.is_safe() && v.as_str().is_some_and(seen.needs) => {
            Value::from_safe_string(v.as_str().unwrap_or("").to_string())
        }
        ValueKind::Seq | ValueKind::Map if !is_plain(v) => v.clone(),
        ValueKind::Seq | ValueKind::Map => {
            let id = identity(v);
            if let Some(id) = id {
                if seen.clean.contains(&id) {
                    return v.clone();
                }
                if let Some(done) = seen.marked.get(&id) {
                    return done.clone();
                }
            }
            let out = match v.try_iter() {
                Ok(it) if v.kind() == ValueKind::Seq => it.map(|i| mark(&i, seen)).collect(),
                Ok(keys) => {
                    let pairs: Vec<(Value, Value)> = keys
                        .map(|k| {
                            let item = v.get_item(&k).unwrap_or_default();
                            (mark(&k, seen), mark(&item, seen))
                        })
                        .collect();
                    map(pairs)
                }
                Err(_) => v.clone(),
            };
            if let Some(id) = id {
                seen.marked.insert(id, out.clone());
            }
            out
        }
        _ => v.clone(),
    }
}

/// Converts a YAML node to a value. `!unsafe` text becomes a "safe" string, which baton's
/// templating treats as never-to-be-templated (minijinja's autoescape, which that flag is for, is
/// off in baton).
pub fn from_node(node: &Node) -> Value {
    from_node_shared(node, &mut Shared::new())
}

/// Values already made from YAML collections that aliases share, by the collection's address:
/// a list or mapping repeated by aliases becomes one value (minijinja's values are reference
/// counted) instead of a copy per alias, so an alias bomb costs no more as variables than as
/// YAML.
type Shared = std::collections::HashMap<usize, Value>;

fn from_node_shared(node: &Node, shared: &mut Shared) -> Value {
    // Only collections with more than one owner can be met again.
    let key = match &node.kind {
        NodeKind::Seq(items) if std::sync::Arc::strong_count(items) > 1 => {
            Some(std::sync::Arc::as_ptr(items) as usize)
        }
        NodeKind::Map(entries) if std::sync::Arc::strong_count(entries) > 1 => {
            Some(std::sync::Arc::as_ptr(entries) as usize)
        }
        _ => None,
    };
    if let Some(v) = key.and_then(|k| shared.get(&k)) {
        return v.clone();
    }
    let value = match &node.kind {
        NodeKind::Null => Value::from(()),
        NodeKind::Bool(b) => Value::from(*b),
        NodeKind::Int(i) => Value::from(*i),
        NodeKind::Float(f) => Value::from(*f),
        NodeKind::Str(s) => Value::from(s.as_str()),
        NodeKind::Unsafe(s) => Value::from_safe_string(s.clone()),
        NodeKind::Timestamp(s) => timestamp::value(s),
        // Decrypted when templating uses it (crate::vault::value), not when read.
        NodeKind::Vault(s) => crate::value::vaulted::vaulted(s, &node.span.location()),
        NodeKind::Seq(items) => items.iter().map(|n| from_node_shared(n, shared)).collect(),
        NodeKind::Map(entries) => map(entries.iter().map(|(k, v)| {
            (
                Value::from(k.scalar_text().unwrap_or_default()),
                from_node_shared(v, shared),
            )
        })),
    };
    if let Some(k) = key {
        shared.insert(k, value.clone());
    }
    value
}

/// The variables of a mapping node (a vars file, `vars:`); `None` when the node is not a mapping.
/// The values of a vault-encrypted file are registered as secrets for output masking.
pub fn vars_from_node(node: &Node) -> Option<Vars> {
    if node.span.source.vaulted {
        register_node_secrets(node);
    }
    // One table for the whole file: its variables share what their aliases share.
    let mut shared = Shared::new();
    Some(
        node.as_map()?
            .iter()
            .map(|(k, v)| {
                (
                    k.scalar_text().unwrap_or_default(),
                    from_node_shared(v, &mut shared),
                )
            })
            .collect(),
    )
}

/// Reads a file the user wrote (a playbook, a vars file, an inventory) into a source: the
/// plaintext if it is vault-encrypted (the source then says so, and its lines are never
/// quoted), the bytes as they are otherwise.
pub fn read_source(
    path: &std::path::Path,
) -> Result<std::sync::Arc<crate::diagnostics::Source>, Error> {
    let (bytes, vaulted) =
        crate::vault::decrypt_if_vaulted(path, crate::diagnostics::read_file(path)?)?;
    crate::diagnostics::Source::from_bytes(path, bytes, vaulted)
}

/// Loads a vars file (`vars_files`, a role's vars and defaults, `include_vars`, `-e @file`): a
/// mapping at the top. Its aliases stay shared ([`crate::yaml::Aliases::Shared`]); what reading it
/// found worth a warning is added to `warnings`.
pub fn load_vars_file(path: &std::path::Path, warnings: &mut Vec<String>) -> Result<Vars, Error> {
    let source = read_source(path)?;
    let loaded = crate::yaml::load(&source, crate::yaml::Aliases::Shared)?;
    warnings.extend(loaded.warnings);
    let node = loaded.node;
    if node.is_null() {
        return Ok(Vars::new());
    }
    vars_from_node(&node).ok_or_else(|| {
        node.error(format!(
            "a vars file must be a mapping at its top, got {} instead",
            node.type_name()
        ))
    })
}

/// A play's `vars_files` entry: a mapping, or (as ansible-core's `preprocess_vars` also takes)
/// a list of mappings, merged in order.
pub fn load_play_vars_file(
    path: &std::path::Path,
    warnings: &mut Vec<String>,
) -> Result<Vars, Error> {
    let source = read_source(path)?;
    let loaded = crate::yaml::load(&source, crate::yaml::Aliases::Shared)?;
    let Some(items) = loaded.node.as_seq() else {
        return load_vars_file(path, warnings);
    };
    warnings.extend(loaded.warnings);
    let mut all = Vars::new();
    for item in items {
        let vars = vars_from_node(item).ok_or_else(|| {
            item.error(
                "variable files must contain either a dictionary of variables, or a list of \
                 dictionaries",
            )
        })?;
        all.extend(vars);
    }
    Ok(all)
}

/// Registers the string and number values of a vaulted YAML node for masking (values, not
/// keys: `password: x` must hide `x`, not every mention of the word `password`).
fn register_node_secrets(node: &Node) {
    let keyring = crate::vault::keyring();
    register_secrets_once(
        keyring.masker(),
        node,
        &mut std::collections::HashSet::new(),
    );
}

/// Walks each collection once however many aliases share it (`seen` holds their addresses):
/// an alias bomb in a vaulted vars file is as cheap to walk as to load.
fn register_secrets_once(
    masker: &crate::vault::Masker,
    node: &Node,
    seen: &mut std::collections::HashSet<usize>,
) {
    match &node.kind {
        NodeKind::Str(s) | NodeKind::Unsafe(s) => masker.register(s),
        NodeKind::Int(i) => masker.register(&i.to_string()),
        NodeKind::Float(f) => masker.register(&crate::text::python_float(*f)),
        NodeKind::Seq(items) => {
            if seen.insert(std::sync::Arc::as_ptr(items) as usize) {
                items
                    .iter()
                    .for_each(|n| register_secrets_once(masker, n, seen));
            }
        }
        NodeKind::Map(entries) => {
            if seen.insert(std::sync::Arc::as_ptr(entries) as usize) {
                entries
                    .iter()
                    .for_each(|(_, v)| register_secrets_once(masker, v, seen));
            }
        }
        NodeKind::Timestamp(s) => masker.register(&timestamp::value(s).to_string()),
        NodeKind::Null | NodeKind::Bool(_) | NodeKind::Vault(_) => {}
    }
}

/// How many values `value` is made of, itself and the keys and items of its lists and
/// mappings at every depth, counted up to `limit` (the count stops there). Values shared by YAML
/// aliases count once per place they appear, as an output would write them: the way to find
/// out, cheaply, that writing a value out would not end (an alias bomb).
pub fn count_values(value: &Value, limit: u64) -> u64 {
    let mut count = 0;
    // A stack, not recursion: the count must not depend on the nesting.
    let mut todo = vec![value.clone()];
    while let Some(v) = todo.pop() {
        count += 1;
        if count >= limit {
            return limit;
        }
        match v.kind() {
            ValueKind::Seq | ValueKind::Iterable => {
                if let Ok(items) = v.try_iter() {
                    todo.extend(items);
                }
            }
            ValueKind::Map => {
                if let Ok(keys) = v.try_iter() {
                    for k in keys {
                        todo.push(v.get_item(&k).unwrap_or_default());
                        todo.push(k);
                    }
                }
            }
            _ => {}
        }
    }
    count
}

/// Converts a value to JSON for output. Undefined becomes null.
pub fn to_json(value: &Value) -> serde_json::Value {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => serde_json::Value::Null,
        ValueKind::Bool => serde_json::Value::Bool(value.is_true()),
        ValueKind::Number => {
            // as_i64 also accepts a float with an integral value; 3.0 must stay a float.
            if let Some(i) = value.as_i64().filter(|_| value.is_integer()) {
                serde_json::Value::from(i)
            } else if let Ok(f) = f64::try_from(value.clone()) {
                serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null)
            } else {
                serde_json::Value::String(value.to_string())
            }
        }
        ValueKind::String => serde_json::Value::String(value.as_str().unwrap_or("").to_string()),
        ValueKind::Seq | ValueKind::Iterable => serde_json::Value::Array(
            value
                .try_iter()
                .map(|it| it.map(|v| to_json(&v)).collect())
                .unwrap_or_default(),
        ),
        ValueKind::Map => {
            let mut obj = serde_json::Map::new();
            if let Ok(keys) = value.try_iter() {
                for k in keys {
                    let v = value.get_item(&k).unwrap_or_default();
                    obj.insert(key_string(&k), to_json(&v));
                }
            }
            serde_json::Value::Object(obj)
        }
        _ => match timestamp::of(value) {
            Some(t) => serde_json::Value::String(t.isoformat()),
            None => crate::value::vaulted::to_json(value)
                .unwrap_or_else(|| serde_json::Value::String(value.to_string())),
        },
    }
}

/// A map key as JSON needs it: a string, in Python's spelling for other scalars.
fn key_string(k: &Value) -> String {
    match k.kind() {
        ValueKind::String => k.as_str().unwrap_or("").to_string(),
        ValueKind::Bool => if k.is_true() { "True" } else { "False" }.to_string(),
        ValueKind::None | ValueKind::Undefined => "None".to_string(),
        _ => k.to_string(),
    }
}

/// Converts JSON to a value.
pub fn from_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => a.iter().map(from_json).collect(),
        serde_json::Value::Object(o) => map(o.iter().map(|(k, v)| (k.as_str(), from_json(v)))),
    }
}

pub use crate::text::python_float;

/// Python's `repr()` of JSON-like data: `{'a': 1, 'b': [True, None]}`.
pub fn python_repr(j: &serde_json::Value) -> String {
    match j {
        serde_json::Value::Null => "None".to_string(),
        serde_json::Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => python_float(f),
            _ => n.to_string(),
        },
        serde_json::Value::String(s) => python_str_repr(s),
        serde_json::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        serde_json::Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", python_str_repr(k), python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `repr()` of a string: single quotes unless the text has one and no double quote.
fn python_str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Python's `json.dumps` with its default separators (`", "` and `": "`), no indent.
pub fn python_json(j: &serde_json::Value) -> String {
    match j {
        serde_json::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        serde_json::Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    serde_json::Value::String(k.clone()),
                    python_json(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// JSON the way Ansible's output shows it: `json.dumps(indent=4, sort_keys=True,
/// ensure_ascii=False)`.
pub fn ansible_json(json: &serde_json::Value) -> String {
    use serde::Serialize;
    let sorted = sort_keys(json);
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    // Serializing a serde_json::Value into memory cannot fail.
    let _ = sorted.serialize(&mut ser);
    String::from_utf8(out).unwrap_or_default()
}

/// A copy with every object's keys sorted, as Python's `sort_keys=True` does.
pub fn sort_keys(json: &serde_json::Value) -> serde_json::Value {
    match json {
        serde_json::Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sort_keys(&o[k])))
                    .collect(),
            )
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Source;

    #[test]
    fn yaml_to_value_to_json_keeps_order_and_types() {
        let node = crate::yaml::parse(&Source::new("t", "b: 1\na: [yes, '2', 3.5, ~]\n")).unwrap();
        let json = to_json(&from_node(&node));
        assert_eq!(json.to_string(), r#"{"b":1,"a":[true,"2",3.5,null]}"#);
    }

    #[test]
    fn ansible_json_sorts_and_indents_by_four() {
        let json: serde_json::Value = serde_json::from_str(r#"{"msg":"hi","a":1}"#).unwrap();
        assert_eq!(
            ansible_json(&json),
            "{\n    \"a\": 1,\n    \"msg\": \"hi\"\n}"
        );
    }

    #[test]
    fn untrusted_marks_every_template_string_and_key_and_copies_nothing_else() {
        let plain = map([("a", Value::from("no braces")), ("n", Value::from(1))]);
        let same = untrusted(plain.clone());
        let inner = |v: &Value| {
            v.downcast_object_ref::<IndexMap<Value, Value>>()
                .map(|m| m as *const _)
        };
        assert_eq!(
            inner(&same),
            inner(&plain),
            "a value with no template text is not copied"
        );
        let v = map([
            ("s", Value::from("{{ x }}")),
            (
                "l",
                Value::from(vec![Value::from("{% if 1 %}"), Value::from(2)]),
            ),
            ("{{ k }}", Value::from("v")),
        ]);
        let u = untrusted(v);
        assert!(u.get_attr("s").unwrap().is_safe());
        assert!(
            u.get_attr("l")
                .unwrap()
                .get_item(&Value::from(0))
                .unwrap()
                .is_safe()
        );
        let key = u.try_iter().unwrap().nth(2).unwrap();
        assert!(key.is_safe() && key.as_str() == Some("{{ k }}"));
        // Marked values still compare and look up as the same text.
        assert_eq!(u.get_attr("s").unwrap(), Value::from("{{ x }}"));
        assert_eq!(
            u.get_item(&Value::from("{{ k }}")).unwrap().as_str(),
            Some("v")
        );
    }

    #[test]
    fn host_data_marks_every_string_and_copies_what_is_marked_already_no_more() {
        let v = map([
            ("out", Value::from("plain")),
            ("n", Value::from(1)),
            ("lines", Value::from(vec![Value::from("a")])),
        ]);
        let d = host_data(v);
        assert!(d.get_attr("out").unwrap().is_safe());
        let line = d.get_attr("lines").unwrap().get_item_by_index(0).unwrap();
        assert!(line.is_safe() && line.as_str() == Some("a"));
        assert_eq!(d.get_attr("n").unwrap().as_i64(), Some(1));
        let inner = |v: &Value| {
            v.downcast_object_ref::<IndexMap<Value, Value>>()
                .map(|m| m as *const _)
        };
        assert_eq!(inner(&host_data(d.clone())), inner(&d));
        // `untrusted` still marks only what looks like a template.
        assert!(!untrusted(Value::from("plain")).is_safe());
    }

    #[test]
    fn untrusted_walks_shared_values_once_and_keeps_them_shared() {
        // 2^40 paths to the leaf, 40 distinct lists: a copy per path would never end.
        let mut v = Value::from(vec![Value::from("{{ leaf }}"), Value::from(1)]);
        for _ in 0..40 {
            v = Value::from(vec![v.clone(), v]);
        }
        let u = untrusted(v);
        let a = u.get_item_by_index(0).unwrap();
        let b = u.get_item_by_index(1).unwrap();
        let ptr = |v: &Value| v.downcast_object_ref::<Vec<Value>>().map(|x| x as *const _);
        assert_eq!(
            ptr(&a),
            ptr(&b),
            "the marked copy is shared as the original was"
        );
        let mut leaf = u;
        while let Ok(next) = leaf.get_item_by_index(0) {
            if next.kind() == ValueKind::String {
                leaf = next;
                break;
            }
            leaf = next;
        }
        assert!(leaf.is_safe() && leaf.as_str() == Some("{{ leaf }}"));
    }

    #[test]
    fn aliased_yaml_becomes_shared_values() {
        // Six levels of nine aliases (small enough that copies would still end, so that the
        // test fails rather than hangs if the sharing were lost; tests/hostile_input.rs loads a
        // real bomb).
        let mut text = String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..6 {
            let items = vec![format!("*l{}", i - 1); 9].join(", ");
            text.push_str(&format!("l{i}: &l{i} [{items}]\n"));
        }
        let loaded =
            crate::yaml::load(&Source::new("v.yml", text), crate::yaml::Aliases::Shared).unwrap();
        let vars = vars_from_node(&loaded.node).unwrap();
        let top = &vars["l5"];
        let first = top.get_item_by_index(0).unwrap();
        let last = top.get_item_by_index(8).unwrap();
        let inner = |v: &Value| {
            v.as_object()
                .and_then(|o| o.downcast_ref::<Vec<Value>>())
                .map(|items| items as *const Vec<Value>)
        };
        assert!(inner(&first).is_some());
        assert_eq!(inner(&first), inner(&last));
        // The next variable down is the same value as what the aliases hold.
        assert_eq!(inner(&first), inner(&vars["l4"]));
        assert_eq!(count_values(top, 100_000), 100_000);
        assert_eq!(count_values(&vars["l1"], 1_000_000), 1 + 9 * 10);
    }
}
