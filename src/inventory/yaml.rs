//! YAML (and JSON) inventories, as Ansible's `yaml` plugin reads them, and the loading of data
//! files shared with `group_vars/` and `host_vars/`.
//!
//! A YAML inventory is a mapping of group names to `{hosts, vars, children}`, nested to any
//! depth under `children`; a group may be empty (`web:`), a section may be one name
//! (`hosts: web1`), host keys are host patterns (`www[01:03]:2222`) whose values are the host's
//! variables. Keys are processed in the order written, exactly as Ansible does, because the
//! order decides the order of hosts and groups. What Ansible only warns about (a scalar where a
//! group should be, an unknown key) is collected as a warning; what fails there fails here, at
//! the node's line and column.
//!
//! Data files are read as Ansible's `DataLoader` reads them: as JSON first (so `1e3` in a JSON
//! file is a float), else as YAML 1.1 (where `1e3` is text).

use super::{Inventory, address};
use crate::diagnostics::{Error, Source};
use crate::value::{self, Value};
use crate::yaml::{Node, NodeKind};
use std::sync::Arc;

/// Loads a data file's text: JSON when it parses as JSON, YAML 1.1 otherwise. The nodes always
/// carry spans (from the YAML parse of the same text) so errors can point into the file.
/// `aliases` says how YAML aliases are read (an inventory is structure, `group_vars` data);
/// duplicate keys are added to `warnings`.
pub fn load_data(
    source: &Arc<Source>,
    aliases: crate::yaml::Aliases,
    warnings: &mut Vec<String>,
) -> Result<Node, Error> {
    // (A vault-encrypted file arrives decrypted: `Source::read` opens it with the run's keyring.)
    let json: Option<serde_json::Value> = serde_json::from_str(&source.text).ok();
    let yaml = crate::yaml::load(source, aliases).map(|loaded| {
        warnings.extend(loaded.warnings);
        loaded.node
    });
    match (json, yaml) {
        (Some(j), Ok(mut node)) => {
            overlay_json(&mut node, &j);
            Ok(node)
        }
        (Some(j), Err(_)) => Ok(node_from_json(&j, &root_span(source))),
        (None, result) => result,
    }
}

fn root_span(source: &Arc<Source>) -> crate::diagnostics::Span {
    crate::diagnostics::Span::point(source.clone(), crate::diagnostics::Pos { line: 1, col: 1 })
}

/// Types the scalars of a node tree as JSON typed them (the trees have the same shape: the
/// text is JSON, which YAML reads with the same structure).
fn overlay_json(node: &mut Node, json: &serde_json::Value) {
    match (&mut node.kind, json) {
        (NodeKind::Map(entries), serde_json::Value::Object(obj)) => {
            for (k, v) in Arc::make_mut(entries).iter_mut() {
                match k.as_str().and_then(|k| obj.get(k)) {
                    Some(j) => overlay_json(v, j),
                    None => *v = node_from_json(json, &v.span),
                }
            }
        }
        (NodeKind::Seq(items), serde_json::Value::Array(arr)) if items.len() == arr.len() => {
            for (n, j) in Arc::make_mut(items).iter_mut().zip(arr) {
                overlay_json(n, j);
            }
        }
        _ => *node = node_from_json(json, &node.span),
    }
}

fn node_from_json(json: &serde_json::Value, span: &crate::diagnostics::Span) -> Node {
    let kind = match json {
        serde_json::Value::Null => NodeKind::Null,
        serde_json::Value::Bool(b) => NodeKind::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => NodeKind::Int(i),
            None => NodeKind::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => NodeKind::Str(s.clone()),
        serde_json::Value::Array(a) => NodeKind::Seq(Arc::new(
            a.iter().map(|j| node_from_json(j, span)).collect(),
        )),
        serde_json::Value::Object(o) => NodeKind::Map(Arc::new(
            o.iter()
                .map(|(k, v)| {
                    (
                        Node {
                            kind: NodeKind::Str(k.clone()),
                            span: span.clone(),
                        },
                        node_from_json(v, span),
                    )
                })
                .collect(),
        )),
    };
    Node {
        kind,
        span: span.clone(),
    }
}

/// Python's truthiness of a loaded value (`if data:`).
pub fn truthy(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Null => false,
        NodeKind::Bool(b) => *b,
        NodeKind::Int(i) => *i != 0,
        NodeKind::Float(f) => *f != 0.0,
        NodeKind::Str(s) | NodeKind::Unsafe(s) | NodeKind::Vault(s) => !s.is_empty(),
        NodeKind::Timestamp(_) => true,
        NodeKind::Seq(s) => !s.is_empty(),
        NodeKind::Map(m) => !m.is_empty(),
    }
}

/// What the YAML plugin found wrong with a file that loaded: an error for the user, or the
/// plugin declining a file another plugin may read (an empty file is read by the INI plugin).
pub enum YamlFailure {
    /// The file is empty or holds no mapping: let the next plugin try.
    NotYamlInventory(Error),
    /// The file is a YAML inventory with a mistake in it.
    Invalid(Error),
}

/// Parses a loaded YAML inventory document into the inventory.
pub fn parse(root: &Node, inv: &mut Inventory) -> Result<(), YamlFailure> {
    if !truthy(root) {
        return Err(YamlFailure::NotYamlInventory(
            root.error("Parsed empty YAML file"),
        ));
    }
    let Some(entries) = root.as_map() else {
        return Err(YamlFailure::NotYamlInventory(root.error(format!(
            "YAML inventory has invalid structure, it should be a dictionary, got {}",
            root.type_name()
        ))));
    };
    if let Some(p) = root.get("plugin").filter(|p| truthy(p)) {
        return Err(YamlFailure::Invalid(p.error(
            "this is an inventory plugin configuration file ('plugin:'), not a YAML inventory; \
             baton reads INI, YAML, JSON and script inventories, not inventory plugins",
        )));
    }
    for (k, v) in entries {
        parse_group(inv, k, v).map_err(YamlFailure::Invalid)?;
    }
    Ok(())
}

/// One group and what is under it; returns its name, or `None` when Ansible would skip it
/// with a warning (its value is not a mapping).
fn parse_group(inv: &mut Inventory, key: &Node, data: &Node) -> Result<Option<String>, Error> {
    let name = match &data.kind {
        NodeKind::Map(_) | NodeKind::Null => group_name(key)?,
        _ => {
            inv.warnings.push(format!(
                "{}: Skipping '{}' as this is not a valid group definition",
                key.span.location(),
                key.scalar_text().unwrap_or_default()
            ));
            return Ok(key.as_str().map(str::to_string));
        }
    };
    inv.add_group(&name).map_err(|m| key.error(m))?;
    let Some(entries) = data.as_map() else {
        return Ok(Some(name));
    };
    for section in ["vars", "children", "hosts"] {
        if let Some(v) = data.get(section)
            && !matches!(
                v.kind,
                NodeKind::Map(_) | NodeKind::Null | NodeKind::Str(_) | NodeKind::Unsafe(_)
            )
        {
            return Err(v.error(format!(
                "Invalid \"{section}\" entry for \"{name}\" group, requires a dictionary, found {} instead",
                v.type_name()
            )));
        }
    }
    for (k, v) in entries {
        let key_name = k.as_str();
        // A section given as one name stands for a mapping of that name to nothing.
        let single;
        let v = match (&v.kind, key_name) {
            (NodeKind::Str(s) | NodeKind::Unsafe(s), Some("vars" | "children" | "hosts")) => {
                single = Node {
                    kind: NodeKind::Map(Arc::new(vec![(
                        Node {
                            kind: NodeKind::Str(s.clone()),
                            span: v.span.clone(),
                        },
                        Node {
                            kind: NodeKind::Null,
                            span: v.span.clone(),
                        },
                    )])),
                    span: v.span.clone(),
                };
                &single
            }
            _ => v,
        };
        let Some(items) = v.as_map() else {
            if !v.is_null() {
                inv.warnings.push(format!(
                    "{}: Skipping key ({}) in group ({name}) as it is not a mapping, it is {}",
                    k.span.location(),
                    k.scalar_text().unwrap_or_default(),
                    v.type_name()
                ));
            }
            continue;
        };
        match key_name {
            Some("vars") => {
                for (vk, vv) in items {
                    let var = vk.scalar_text().unwrap_or_default();
                    inv.set_variable(&name, &var, value::from_node(vv))
                        .map_err(|m| vv.error(m))?;
                }
            }
            Some("children") => {
                for (ck, cv) in items {
                    let child = parse_group(inv, ck, cv)?;
                    let child = child.unwrap_or_else(|| ck.scalar_text().unwrap_or_default());
                    inv.add_child_any(&name, &child).map_err(|m| ck.error(m))?;
                }
            }
            Some("hosts") => {
                for (hk, hv) in items {
                    parse_host(inv, &name, hk, hv)?;
                }
            }
            _ => inv.warnings.push(format!(
                "{}: Skipping unexpected key ({}) in group ({name}), only \"vars\", \"children\" \
                 and \"hosts\" are valid",
                k.span.location(),
                k.scalar_text().unwrap_or_default()
            )),
        }
    }
    Ok(Some(name))
}

fn group_name(key: &Node) -> Result<String, Error> {
    match key.as_str() {
        Some("") => Err(key.error("Invalid empty group name provided")),
        Some(s) => Ok(s.to_string()),
        None => Err(key.error(format!(
            "Unable to add group {}: Invalid group name supplied, expected a string but got {}",
            key.scalar_text().unwrap_or_default(),
            key.type_name()
        ))),
    }
}

fn parse_host(inv: &mut Inventory, group: &str, key: &Node, vars: &Node) -> Result<(), Error> {
    let Some(pattern) = key.as_str() else {
        return Err(key
            .error(format!(
                "Host pattern {} must be a string. Enclose integers/floats in quotation marks.",
                key.scalar_text()
                    .unwrap_or_else(|| key.type_name().to_string())
            ))
            .with_help(format!(
                "write it quoted: \"{}\":",
                key.scalar_text().unwrap_or_default()
            )));
    };
    let expanded = address::expand_hostpattern(pattern).map_err(|m| key.error(m))?;
    let pairs: &[(Node, Node)] = if truthy(vars) {
        vars.as_map().ok_or_else(|| {
            vars.error(format!(
                "Invalid data from file, expected dictionary and got {} for host '{pattern}'",
                vars.type_name()
            ))
        })?
    } else {
        &[]
    };
    let values: Vec<(String, Value)> = pairs
        .iter()
        .map(|(k, v)| (k.scalar_text().unwrap_or_default(), value::from_node(v)))
        .collect();
    for name in &expanded.names {
        inv.add_host_in(name, Some(group), expanded.port)
            .map_err(|m| key.error(m))?;
        for (k, v) in &values {
            inv.set_variable(name, k, v.clone())
                .map_err(|m| key.error(m))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Inventory, Error> {
        let mut inv = Inventory::default();
        let node = load_data(
            &Source::new("inv.yml", text),
            crate::yaml::Aliases::Budgeted,
            &mut Vec::new(),
        )?;
        parse(&node, &mut inv).map_err(|f| match f {
            YamlFailure::NotYamlInventory(e) | YamlFailure::Invalid(e) => e,
        })?;
        inv.finish();
        Ok(inv)
    }

    #[test]
    fn groups_nest_to_any_depth() {
        let inv = load(
            "all:\n  hosts:\n    mail:\n  children:\n    web:\n      hosts:\n        w[1:2]:2222:\n          x: 1\n      children:\n        east:\n          hosts: e1\n    empty:\n",
        )
        .unwrap();
        assert_eq!(inv.group_hosts("web"), vec!["w1", "w2", "e1"]);
        assert_eq!(inv.hosts["w2"].vars["ansible_port"].as_i64(), Some(2222));
        assert_eq!(inv.group_hosts("ungrouped"), vec!["mail"]);
        assert!(inv.groups.contains_key("empty"));
    }

    #[test]
    fn a_host_that_is_a_number_is_an_error_at_its_line() {
        let err = load("all:\n  hosts:\n    12:\n").unwrap_err();
        assert!(err.message.contains("must be a string"), "{err}");
        assert!(err.to_string().contains("inv.yml:3:5"), "{err}");
        let err = load("web:\n  hosts: [a, b]\n").unwrap_err();
        assert!(err.message.contains("requires a dictionary"), "{err}");
    }

    #[test]
    fn json_is_typed_as_json() {
        let inv = load(r#"{"all": {"hosts": {"h": {"a": 1e3, "b": "x"}}}}"#).unwrap();
        let a = &inv.hosts["h"].vars["a"];
        assert!(!a.is_integer());
        assert_eq!(f64::try_from(a.clone()).unwrap(), 1000.0);
    }
}
