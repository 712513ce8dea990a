//! `ansible-inventory --list --yaml` and `--list --toml`: the shapes of the inventory Ansible
//! dumps as YAML and as TOML, each its own walk of the groups (they differ from `--list`'s
//! JSON and from each other), and the conversion of values to TOML data.
//!
//! YAML: a tree from `all`, each group with its `children` (a group met again is `{}`), its
//! `hosts` (a host's variables only where it is met first, `{}` after) and, with `--export`,
//! its `vars`; empty parts and groups left out; written by PyYAML's rules
//! ([`crate::template::pyyaml`], block style, sorted keys).
//!
//! TOML: a flat table of groups, in the order the walk meets them (a group met again is
//! walked again, and takes the place of the first), each with its `children` names, its
//! `hosts` and, with `--export`, its `vars`; `ungrouped` only when it has hosts. Written as
//! `tomli_w` writes it ([`crate::text::toml`]), which refuses nulls and vaulted values.

use super::View;
use crate::diagnostics::{Error, ErrorKind};
use crate::text::toml::{Data, Key};
use crate::value::{Value, Vars, from_vars};
use indexmap::IndexMap;
use minijinja::value::ValueKind;
use std::collections::HashSet;

/// How deep groups may nest for the nested outputs: each level is a few stack frames here and
/// in the writers (Python stops at its recursion limit, 1000 frames, long before).
const MAX_DEPTH: usize = 500;

fn too_deep() -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("the groups nest more than {MAX_DEPTH} levels deep: too deep to write out"),
    )
}

/// The walk's memory: the hosts and groups already written.
struct Seen<'a> {
    available: HashSet<&'a str>,
    hosts: HashSet<String>,
    groups: HashSet<String>,
}

impl<'a> Seen<'a> {
    fn new(hosts: &'a [String]) -> Seen<'a> {
        Seen {
            available: hosts.iter().map(String::as_str).collect(),
            hosts: HashSet::new(),
            groups: HashSet::new(),
        }
    }

    /// A group's host as the listing writes it: `None` for a host the pattern left out; its
    /// variables the first time the walk meets it, nothing after (ansible-inventory writes a
    /// host's variables once).
    fn host_entry(&mut self, view: &View<'_>, h: &str) -> Option<Vars> {
        if !self.available.contains(h) {
            return None;
        }
        Some(if self.hosts.insert(h.to_string()) {
            view.host_vars(h)
        } else {
            Vars::new()
        })
    }
}

/// `ansible-inventory --list --yaml`, as text.
pub(super) fn yaml(view: &View<'_>, hosts: &[String]) -> Result<String, Error> {
    let mut seen = Seen::new(hosts);
    let mut top = Vec::new();
    if let Some(entry) = yaml_group(view, "all", &mut seen, 0)? {
        top.push(("all", entry));
    }
    dump_yaml(&crate::value::map(top))
}

/// One value as YAML (`--host` with `--yaml`).
pub(super) fn dump_yaml(v: &Value) -> Result<String, Error> {
    let opts = crate::template::pyyaml::DumpOptions {
        default_flow_style: Some(false),
        aliases: true,
        ..Default::default()
    };
    crate::template::pyyaml::dump(v, opts).map_err(|m| Error::new(ErrorKind::Internal, m))
}

fn yaml_group(
    view: &View<'_>,
    name: &str,
    seen: &mut Seen<'_>,
    depth: usize,
) -> Result<Option<Value>, Error> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let g = &view.inv.groups[name];
    let mut children: Vec<(String, Value)> = Vec::new();
    for c in &g.children {
        if c == "all" {
            continue;
        }
        if seen.groups.contains(c) {
            children.push((c.clone(), from_vars(&Vars::new())));
        } else {
            if let Some(entry) = yaml_group(view, c, seen, depth + 1)? {
                children.push((c.clone(), entry));
            }
            seen.groups.insert(c.clone());
        }
    }
    let mut hosts: Vec<(String, Value)> = Vec::new();
    if name != "all" {
        for h in &g.hosts {
            let Some(vars) = seen.host_entry(view, h) else {
                continue;
            };
            hosts.push((h.clone(), from_vars(&vars)));
        }
    }
    let mut entry: Vec<(&str, Value)> = Vec::new();
    if !children.is_empty() {
        entry.push(("children", crate::value::map(children)));
    }
    if !hosts.is_empty() {
        entry.push(("hosts", crate::value::map(hosts)));
    }
    if view.export {
        let vars = view.group_vars(name);
        if !vars.is_empty() {
            entry.push(("vars", from_vars(&vars)));
        }
    }
    Ok((!entry.is_empty()).then(|| crate::value::map(entry)))
}

/// One group of the TOML listing.
#[derive(Default)]
struct TomlGroup {
    children: Vec<String>,
    hosts: IndexMap<String, Vars>,
    vars: Vars,
}

/// `ansible-inventory --list --toml`, as text (empty when there is nothing to list).
pub(super) fn toml(view: &View<'_>, hosts: &[String]) -> Result<String, Error> {
    let mut seen = Seen::new(hosts);
    let has_ungrouped = view
        .inv
        .groups
        .get("ungrouped")
        .is_some_and(|g| !g.hosts.is_empty());
    let groups = toml_group(view, "all", has_ungrouped, &mut seen, 0)?;
    let data = Data::Map(
        groups
            .into_iter()
            .map(|(name, g)| {
                let mut entry = Vec::new();
                if !g.children.is_empty() {
                    entry.push((
                        Key::Str("children".into()),
                        Data::List(g.children.into_iter().map(Data::Str).collect()),
                    ));
                }
                if !g.hosts.is_empty() {
                    let hosts = g
                        .hosts
                        .into_iter()
                        .map(|(h, vars)| (Key::Str(h), vars_data(&vars)))
                        .collect();
                    entry.push((Key::Str("hosts".into()), Data::Map(hosts)));
                }
                if !g.vars.is_empty() {
                    entry.push((Key::Str("vars".into()), vars_data(&g.vars)));
                }
                (Key::Str(name), Data::Map(entry))
            })
            .collect(),
    );
    dump_toml(&data)
}

/// Data as TOML; what TOML cannot hold fails as ansible-inventory fails on it (exit 250).
pub(super) fn dump_toml(data: &Data) -> Result<String, Error> {
    crate::text::toml::dumps(data).map_err(|m| {
        Error::new(
            ErrorKind::Internal,
            format!("Unexpected Exception, this is probably a bug: {m}"),
        )
    })
}

fn toml_group(
    view: &View<'_>,
    name: &str,
    has_ungrouped: bool,
    seen: &mut Seen<'_>,
    depth: usize,
) -> Result<IndexMap<String, TomlGroup>, Error> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let g = &view.inv.groups[name];
    let mut results: IndexMap<String, TomlGroup> = IndexMap::new();
    results.insert(name.to_string(), TomlGroup::default());
    for c in &g.children {
        if c == "ungrouped" && !has_ungrouped {
            continue;
        }
        if name != "all" {
            results[name].children.push(c.clone());
        }
        // A group met again replaces what was written for it, in the first one's place.
        for (k, v) in toml_group(view, c, has_ungrouped, seen, depth + 1)? {
            results.insert(k, v);
        }
    }
    if name != "all" {
        for h in &g.hosts {
            let Some(vars) = seen.host_entry(view, h) else {
                continue;
            };
            results[name].hosts.insert(h.clone(), vars);
        }
    }
    if view.export {
        results[name].vars = view.group_vars(name);
    }
    let own = &results[name];
    if own.children.is_empty() && own.hosts.is_empty() && own.vars.is_empty() {
        results.shift_remove(name);
    }
    Ok(results)
}

/// Variables as TOML data.
pub(super) fn vars_data(vars: &Vars) -> Data {
    Data::Map(
        vars.iter()
            .map(|(k, v)| (Key::Str(k.clone()), data(v)))
            .collect(),
    )
}

/// A value as the Python data `tomli_w` would be handed.
fn data(v: &Value) -> Data {
    if crate::value::vaulted::is_vaulted(v) {
        return Data::Other("EncryptedString");
    }
    if let Some(t) = crate::value::timestamp::of(v) {
        return Data::Date(t.python_str());
    }
    match v.kind() {
        ValueKind::None | ValueKind::Undefined => Data::Other("NoneType"),
        ValueKind::Bool => Data::Bool(v.is_true()),
        ValueKind::Number if v.is_integer() => {
            Data::Int(i128::try_from(v.clone()).unwrap_or_default())
        }
        ValueKind::Number => Data::Float(f64::try_from(v.clone()).unwrap_or(f64::NAN)),
        ValueKind::String => Data::Str(v.as_str().unwrap_or("").to_string()),
        ValueKind::Seq | ValueKind::Iterable => Data::List(
            v.try_iter()
                .map(|it| it.map(|x| data(&x)).collect())
                .unwrap_or_default(),
        ),
        ValueKind::Map => Data::Map(
            v.try_iter()
                .map(|keys| {
                    keys.map(|k| {
                        let item = v.get_item(&k).unwrap_or_default();
                        (key(&k), data(&item))
                    })
                    .collect()
                })
                .unwrap_or_default(),
        ),
        _ => Data::Other("object"),
    }
}

/// A mapping key: text, or what Python would call it.
fn key(k: &Value) -> Key {
    match k.kind() {
        ValueKind::String => Key::Str(k.as_str().unwrap_or("").to_string()),
        ValueKind::Bool => Key::Other("bool", if k.is_true() { "True" } else { "False" }.into()),
        ValueKind::None | ValueKind::Undefined => Key::Other("NoneType", "None".into()),
        ValueKind::Number if k.is_integer() => Key::Other("int", k.to_string()),
        ValueKind::Number => Key::Other(
            "float",
            crate::text::python_float(f64::try_from(k.clone()).unwrap_or(f64::NAN)),
        ),
        _ => Key::Other("object", k.to_string()),
    }
}
