//! Inventory plugin configurations (`plugin: amazon.aws.aws_ec2` and the like), read by the
//! controller's ansible-core.
//!
//! A `.yml`/`.yaml` inventory source whose top level names a `plugin` is a plugin
//! configuration, which Ansible's `auto` plugin hands to the plugin it names (after the
//! plugin's own `verify_file`, which for most plugins wants a file name of their own: a
//! `*.aws_ec2.yml`). baton runs no controller-side Python of its own, so it asks the
//! controller's ansible-core (found as the Python fallback finds it:
//! [`crate::ansible_py::controller_python`]) to run exactly that: [`PROGRAM`] fills an
//! `InventoryData` with what the sources before this one made (`constructed` groups those
//! hosts), calls the `auto` plugin on the file into it, reconciles it, and prints what the
//! plugin made (groups with their hosts, children and variables; every host's variables,
//! composed ones included) as `ansible-inventory --list` encodes it, untrusted strings marked
//! unsafe. From there baton goes on natively: the groups and hosts are added in the plugin's
//! order ([`super::script`] reads the same JSON; a `datetime` comes as
//! `{"__baton_timestamp": "..."}` and stays a timestamp), merged with the other sources, with the
//! `group_vars/` and `host_vars/` next to the file.
//!
//! What the plugin printed as warnings become the inventory's warnings. A plugin that fails
//! is the `auto` plugin's failure on that source (a warning, then "Unable to parse", as in
//! Ansible; an error under `any_unparsed_is_failed`), with the plugin's own message; a
//! controller without ansible-core is an error saying how to install it.

use super::Inventory;
use crate::ansible_py::{HelperError, controller_python, run_blocking};
use crate::diagnostics::{Error, ErrorKind};
use crate::yaml::Node;
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};

/// Why a plugin configuration gave no inventory.
pub enum PluginFailure {
    /// The controller's Python has no ansible-core: nothing can read the file.
    NoAnsible(Error),
    /// The plugin ran and failed (or refused the file): the `auto` plugin's failure.
    Failed(Error),
}

/// The controller-side program: reads `{"path": ...}` on stdin, prints
/// `{"inventory": "<JSON text>", "output": "..."}` or `{"error": ..., "detail": ...}`.
pub const PROGRAM: &str = r#"
import sys, io, json
real_stdout = sys.stdout

def answer(doc):
    real_stdout.write(json.dumps(doc))
    real_stdout.flush()
    sys.exit(0)

req = json.load(sys.stdin)
try:
    from ansible.plugins.loader import init_plugin_loader, inventory_loader
    from ansible.parsing.dataloader import DataLoader
    from ansible.inventory.data import InventoryData
    from ansible.inventory.manager import _InventoryDataWrapper
    from ansible._internal._datatag._tags import Origin
    from ansible._internal._json._profiles import _inventory_legacy
except Exception as e:
    answer({"error": "no-ansible", "detail": "%s: %s" % (type(e).__name__, e), "python": sys.executable})

# What the plugin and ansible print (warnings, deprecations) is kept for baton to show.
captured = io.StringIO()
sys.stdout = sys.stderr = captured

def message(e):
    parts = [str(e) or type(e).__name__]
    cause = e.__cause__ or e.__context__
    while cause is not None and len(parts) < 5:
        text = str(cause)
        if text and text not in parts[-1]:
            parts.append(text)
        cause = cause.__cause__ or cause.__context__
    return " <<caused by>> ".join(parts)

path = req["path"]
try:
    init_plugin_loader()
    loader = DataLoader()
    data = InventoryData()
    # What the sources before this one made: plugins such as `constructed` work on it.
    known = req.get("inventory", {"groups": [], "hosts": []})
    for g in known["groups"]:
        data.add_group(g["name"])
        for k, v in g["vars"].items():
            data.set_variable(g["name"], k, v)
    for h in known["hosts"]:
        data.add_host(h["name"])
        for k, v in h["vars"].items():
            data.set_variable(h["name"], k, v)
    for g in known["groups"]:
        for c in g["children"]:
            data.add_child(g["name"], c)
        for h in g["hosts"]:
            data.add_child(g["name"], h)
    before = {}
    for name, e in list(data.groups.items()) + list(data.hosts.items()):
        before[name] = dict(e.vars)
    # The sources read so far (their directories), whose group_vars/ and host_vars/ a plugin
    # asked to use vars plugins (constructed's use_vars_plugins) reads.
    data.processed_sources = list(req.get("sources", []))
    data.current_source = path
    auto = inventory_loader.get("auto")
    origin = Origin(description="<inventory plugin 'auto' with source %r>" % path)
    auto.parse(_InventoryDataWrapper(data, target_plugin=auto, origin=origin), loader, path, cache=True)
    try:
        auto.update_cache_if_changed()
    except AttributeError:
        pass
except Exception as e:
    answer({"error": "failed", "detail": message(e), "output": captured.getvalue()})

import datetime

def dates(v):
    # A plugin's datetime stays one (ansible-inventory's YAML and TOML write it unquoted).
    if isinstance(v, (datetime.datetime, datetime.date)):
        return {"__baton_timestamp": str(v)}
    if isinstance(v, dict):
        return {k: dates(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [dates(x) for x in v]
    return v

def new_vars(name, current):
    # Only what the plugin set: what baton gave keeps its own types.
    old = before.get(name, {})
    return {k: v for k, v in current.items() if k not in old or old[k] is not v}

data.reconcile_inventory()
out = {}
for name, g in data.groups.items():
    gvars = new_vars(name, g.vars)
    if g.priority != 1:
        gvars["ansible_group_priority"] = g.priority
    out[name] = {"hosts": [h.name for h in g.hosts], "children": [c.name for c in g.child_groups], "vars": dates(gvars)}
hostvars = {}
for name, h in data.hosts.items():
    hostvars[name] = dates({k: v for k, v in new_vars(name, h.vars).items() if k not in ("inventory_file", "inventory_dir")})
out["_meta"] = {"hostvars": hostvars}
try:
    text = json.dumps(out, cls=_inventory_legacy.Encoder)
except Exception as e:
    answer({"error": "failed", "detail": "its inventory cannot be encoded: " + message(e), "output": captured.getvalue()})
answer({"inventory": text, "output": captured.getvalue()})
"#;

/// Runs the plugin configuration at `path` (absolute; `shown` as the user named it, `plugin`
/// the node of its `plugin:` key) through the controller's ansible-core and adds what it made
/// to the inventory.
pub fn parse(
    path: &Path,
    shown: &str,
    plugin: &Node,
    inv: &mut Inventory,
) -> Result<(), PluginFailure> {
    let name = plugin.scalar_text().unwrap_or_default();
    let python = controller_python();
    // The directories of the sources read before this one (a directory source's own, when
    // this file is in it).
    let mut sources: Vec<&Path> = inv.dirs.iter().map(PathBuf::as_path).collect();
    if sources.last().copied() == path.parent() {
        sources.pop();
    }
    let request = json!({ "path": path, "inventory": known(inv), "sources": sources });
    let answer = run_blocking(&python, PROGRAM, &request).map_err(|e| match e {
        HelperError::NoAnsible { .. } => PluginFailure::NoAnsible(
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "the inventory source {shown} is a configuration of the inventory plugin \
                 '{name}', which baton reads with the controller's ansible-core: {}",
                    e.hint()
                ),
            )
            .at(&plugin.span),
        ),
        HelperError::Failed(m) => PluginFailure::Failed(
            Error::new(
                ErrorKind::Syntax,
                format!("the inventory plugin '{name}' failed on {shown}: {m}"),
            )
            .at(&plugin.span),
        ),
    })?;
    let output = answer.get("output").and_then(Json::as_str).unwrap_or("");
    inv.warnings.extend(warnings(output));
    let fail = |m: String| {
        PluginFailure::Failed(
            Error::new(
                ErrorKind::Syntax,
                format!("the inventory plugin '{name}' on {shown}: {m}"),
            )
            .at(&plugin.span),
        )
    };
    let text = answer.get("inventory").and_then(Json::as_str).unwrap_or("");
    let json: Json = serde_json::from_str(text)
        .map_err(|e| fail(format!("its inventory could not be read as JSON: {e}")))?;
    let Json::Object(groups) = &json else {
        return Err(fail("its inventory is not a JSON object".into()));
    };
    // Hosts in the plugin's order (a group lists only its own), then their groups.
    let hostvars = groups
        .get("_meta")
        .and_then(|m| m.get("hostvars"))
        .and_then(Json::as_object);
    for host in hostvars.into_iter().flat_map(|hv| hv.keys()) {
        inv.add_host_in(host, None, None).map_err(fail)?;
    }
    let (_, hostvars) = super::script::add_groups(inv, groups).map_err(fail)?;
    for (host, vars) in hostvars.into_iter().flatten() {
        super::script::add_host_vars(inv, host, vars).map_err(fail)?;
    }
    Ok(())
}

/// The inventory so far, for the plugin to start from: groups (their own variables, child
/// groups and hosts) and hosts (their own variables).
fn known(inv: &Inventory) -> Json {
    let vars = |v: &crate::value::Vars| -> serde_json::Map<String, Json> {
        v.iter()
            .map(|(k, v)| (k.to_string(), crate::value::to_json(v)))
            .collect()
    };
    let groups: Vec<Json> = inv
        .groups
        .values()
        .map(|g| {
            json!({"name": g.name, "vars": vars(&g.vars), "children": g.children, "hosts": g.hosts})
        })
        .collect();
    let hosts: Vec<Json> = inv
        .hosts
        .values()
        .map(|h| json!({"name": h.name, "vars": vars(&h.vars)}))
        .collect();
    json!({"groups": groups, "hosts": hosts})
}

/// The warnings in what ansible-core printed (`[WARNING]: ...`, with the lines that continue
/// one), without their prefix; a deprecation keeps its own (`[DEPRECATION WARNING]: ...`), as
/// baton's warning path shows it.
fn warnings(output: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("[WARNING]:") {
            out.extend(current.take());
            current = Some(rest.trim().to_string());
        } else if line.starts_with("[DEPRECATION WARNING]:") {
            out.extend(current.take());
            current = Some(line.trim_end().to_string());
        } else if line.starts_with('[') {
            out.extend(current.take());
        } else if let Some(c) = current.as_mut()
            && !line.trim().is_empty()
        {
            c.push('\n');
            c.push_str(line);
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_taken_from_what_ansible_printed() {
        let printed = "[WARNING]: Deprecation warnings can be disabled by setting x.\n\
            [DEPRECATION WARNING]: Passing `disable_lookups` is deprecated.\n\
            [WARNING]: Found variable using reserved name 'tags'.\n\
            Origin: <unknown>\n\
            \n\
            [WARNING]: second\n";
        assert_eq!(
            warnings(printed),
            vec![
                "Deprecation warnings can be disabled by setting x.".to_string(),
                "[DEPRECATION WARNING]: Passing `disable_lookups` is deprecated.".to_string(),
                "Found variable using reserved name 'tags'.\nOrigin: <unknown>".to_string(),
                "second".to_string()
            ]
        );
    }
}
