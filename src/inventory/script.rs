//! Executable inventory scripts, as Ansible's `script` plugin runs them.
//!
//! `SCRIPT --list` prints JSON: groups (`{"hosts": [...], "vars": {...}, "children": [...]}`, or
//! the older forms Ansible still accepts: a bare list of hosts, or a mapping of variables that
//! makes the group its own only host) and `_meta.hostvars`. Without `_meta.hostvars` the script
//! is asked `SCRIPT --host NAME` for each host. A script that cannot start, exits non-zero or
//! prints something that is not that JSON is an error naming the script, with its stderr.

use super::Inventory;
use crate::diagnostics::{Error, ErrorKind};
use crate::value::{self, Value};
use indexmap::IndexSet;
use serde_json::Value as Json;
use std::path::Path;
use std::process::{Command, Stdio};

/// Why a script could not be used.
pub enum ScriptFailure {
    /// It could not be started at all (not really a program: a data file with an exec bit).
    NotRunnable(Error),
    /// It ran and failed, or printed what is not an inventory.
    Failed(Error),
}

/// Runs the script and adds what it prints to the inventory.
/// `path` is what is run (absolute), `shown` how messages name it (as the user wrote it).
pub fn parse(path: &Path, shown: &str, inv: &mut Inventory) -> Result<(), ScriptFailure> {
    let data = run(path, shown, &["--list"])?;
    let fail = |msg: String| ScriptFailure::Failed(script_error(shown, msg, &data.stderr));
    let json: Json = serde_json::from_str(&data.stdout).map_err(|e| {
        fail(format!(
            "the output of the inventory script '{shown} --list' could not be parsed as JSON: {e}"
        ))
    })?;
    let Json::Object(groups) = &json else {
        return Err(fail(format!(
            "the output of the inventory script '{shown} --list' is {} instead of a JSON object",
            json_type(&json)
        )));
    };
    let (hosts, meta_hostvars) = add_groups(inv, groups).map_err(fail)?;
    if meta_hostvars.is_none() {
        inv.warnings.push(format!(
            "Inventory scripts should always provide 'meta.hostvars'; running '{shown} --host' \
             for each host"
        ));
    }
    for host in &hosts {
        let got: Json = match meta_hostvars {
            Some(hv) => hv
                .get(host)
                .cloned()
                .unwrap_or(Json::Object(Default::default())),
            None => {
                let out = run(path, shown, &["--host", host])?;
                if out.stdout.trim().is_empty() {
                    Json::Object(Default::default())
                } else {
                    serde_json::from_str(&out.stdout).map_err(|e| {
                        ScriptFailure::Failed(script_error(
                            shown,
                            format!(
                                "the output of the inventory script '{shown} --host {host}' \
                                 could not be parsed as JSON: {e}"
                            ),
                            &out.stderr,
                        ))
                    })?
                }
            }
        };
        add_host_vars(inv, host, &got).map_err(fail)?;
    }
    Ok(())
}

/// A JSON object.
type Object = serde_json::Map<String, Json>;

/// The groups of inventory JSON (what `--list` prints: every key but `_meta` a group), added
/// in their order; the hosts they name, in the order met, and `_meta.hostvars` if given.
pub(super) fn add_groups<'a>(
    inv: &mut Inventory,
    groups: &'a Object,
) -> Result<(IndexSet<String>, Option<&'a Object>), String> {
    let mut hosts: IndexSet<String> = IndexSet::new();
    let mut meta_hostvars = None;
    for (group, gdata) in groups {
        if group == "_meta" {
            let Json::Object(meta) = gdata else {
                return Err(format!(
                    "its output contains '_meta' which is {} instead of an object",
                    json_type(gdata)
                ));
            };
            if let Some(p) = meta.get("profile") {
                match p.as_str() {
                    Some(s) if s.starts_with("inventory_") => {}
                    _ => {
                        return Err(format!(
                            "its output has '_meta.profile' {p}, which is not an inventory profile"
                        ));
                    }
                }
            }
            match meta.get("hostvars") {
                Some(Json::Object(hv)) => meta_hostvars = Some(hv),
                other => {
                    return Err(format!(
                        "its output contains '_meta.hostvars' which is {} instead of an object",
                        other.map_or("missing", json_type)
                    ));
                }
            }
        } else {
            parse_group(inv, group, gdata, &mut hosts)?;
        }
    }
    Ok((hosts, meta_hostvars))
}

/// One host's variables from inventory JSON (the host is added if new).
pub(super) fn add_host_vars(inv: &mut Inventory, host: &str, got: &Json) -> Result<(), String> {
    let Json::Object(vars) = got else {
        return Err(format!(
            "the variables of host '{host}' are {} instead of an object",
            json_type(got)
        ));
    };
    inv.add_host_in(host, None, None)?;
    for (k, v) in vars {
        inv.set_variable(host, k, from_json(v))?;
    }
    Ok(())
}

fn parse_group(
    inv: &mut Inventory,
    group: &str,
    data: &Json,
    hosts: &mut IndexSet<String>,
) -> Result<(), String> {
    inv.add_group(group)?;
    // The older forms: a list of hosts, or a mapping that is all variables of a lone host.
    let owned;
    let data = match data {
        Json::Object(o)
            if !["hosts", "vars", "children"]
                .iter()
                .any(|k| o.contains_key(*k)) =>
        {
            owned = serde_json::json!({ "hosts": [group], "vars": data });
            &owned
        }
        Json::Object(_) => data,
        other => {
            owned = serde_json::json!({ "hosts": other });
            &owned
        }
    };
    if let Some(h) = data.get("hosts") {
        let Json::Array(list) = h else {
            return Err(format!(
                "its output contains '{group}.hosts' which is {} instead of a list",
                json_type(h)
            ));
        };
        for name in list {
            let Some(name) = name.as_str() else {
                return Err(format!(
                    "Invalid host name supplied, expected a string but got {} for {name}",
                    json_type(name)
                ));
            };
            hosts.insert(name.to_string());
            inv.add_host_in(name, Some(group), None)?;
        }
    }
    if let Some(v) = data.get("vars") {
        let Json::Object(vars) = v else {
            return Err(format!(
                "its output contains '{group}.vars' which is {} instead of an object",
                json_type(v)
            ));
        };
        for (k, v) in vars {
            inv.set_variable(group, k, from_json(v))?;
        }
    }
    if let Some(children) = data.get("children") {
        // Python iterates whatever it is given: list items, object keys, a string's characters.
        let names: Vec<String> = match children {
            Json::Array(a) => a
                .iter()
                .map(|c| {
                    c.as_str().map(str::to_string).ok_or_else(|| {
                        format!("Invalid group name supplied, expected a string but got {c}")
                    })
                })
                .collect::<Result<_, _>>()?,
            Json::Object(o) => o.keys().cloned().collect(),
            Json::String(s) => s.chars().map(String::from).collect(),
            other => {
                return Err(format!(
                    "its output contains '{group}.children' which is {} instead of a list",
                    json_type(other)
                ));
            }
        };
        for child in names {
            inv.add_group(&child)?;
            inv.add_child_any(group, &child)?;
        }
    }
    Ok(())
}

/// Script JSON as variables; `{"__ansible_unsafe": "..."}` is text never to be templated, and
/// `{"__baton_timestamp": "..."}` (what [`super::plugin`] makes of a `datetime`) a timestamp.
fn from_json(j: &Json) -> Value {
    match j {
        Json::Object(o) if o.len() == 1 => {
            // The timestamp's text comes marked unsafe, as any text a plugin made.
            let stamp = o.get("__baton_timestamp").and_then(|t| {
                t.as_str()
                    .or_else(|| t.get("__ansible_unsafe").and_then(Json::as_str))
            });
            match (o.get("__ansible_unsafe"), stamp) {
                (Some(Json::String(s)), _) => Value::from_safe_string(s.clone()),
                (_, Some(s)) => value::timestamp::value(s),
                _ => value::map(o.iter().map(|(k, v)| (k.as_str(), from_json(v)))),
            }
        }
        Json::Object(o) => value::map(o.iter().map(|(k, v)| (k.as_str(), from_json(v)))),
        Json::Array(a) => a.iter().map(from_json).collect(),
        other => value::from_json(other),
    }
}

fn json_type(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

struct Output {
    stdout: String,
    stderr: String,
}

fn script_error(shown: &str, msg: String, stderr: &str) -> Error {
    // Messages that quote the command already name the script.
    let msg = if msg.contains(shown) {
        msg
    } else {
        format!("the inventory script {shown}: {msg}")
    };
    let mut e = Error::new(ErrorKind::Syntax, msg);
    if !stderr.trim().is_empty() {
        let indented: Vec<String> = stderr
            .trim_end()
            .lines()
            .map(|l| format!("    {l}"))
            .collect();
        e = e.context(format!(
            "standard error from the inventory script:\n{}",
            indented.join("\n")
        ));
    }
    e
}

fn run(path: &Path, shown: &str, args: &[&str]) -> Result<Output, ScriptFailure> {
    let command = format!("{shown} {}", args.join(" "));
    let out = Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            ScriptFailure::NotRunnable(Error::new(
                ErrorKind::Syntax,
                format!("failed to run the inventory script '{command}': {e}"),
            ))
        })?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        let how = match out.status.code() {
            Some(c) => format!("returned non-zero exit code {c}"),
            None => format!("was killed ({})", out.status),
        };
        return Err(ScriptFailure::Failed(script_error(
            shown,
            format!("the inventory script '{command}' {how}"),
            &stderr,
        )));
    }
    let stdout = String::from_utf8(out.stdout).map_err(|_| {
        ScriptFailure::Failed(script_error(
            shown,
            format!("the output of the inventory script '{command}' is not valid UTF-8"),
            &stderr,
        ))
    })?;
    Ok(Output { stdout, stderr })
}
