//! `add_host`: a host (with a `:port`, which becomes `ansible_ssh_port`) joins the run's
//! inventory for the rest of the run, in the groups named (created if new), with the other
//! arguments as its variables. As ansible-core's action it bypasses the host loop (it runs once
//! for the batch) and asks for the change; the executor applies it and says whether the
//! inventory changed.

use super::{Args, Inventory, InventoryChange, Module, ModuleCtx, ModuleResult, Outcome, Spec};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};
use minijinja::value::ValueKind;

pub struct AddHost;

static SPEC: Spec = Spec {
    names: &["add_host"],
    connection: false,
    inventory: Inventory::Once,
    // Every argument but the names and groups is a variable of the host.
    open: true,
    ..Spec::BASE
};

impl Module for AddHost {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, _ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move { Ok(add_host(args.into_values())) })
    }
}

fn add_host(mut args: Vars) -> Outcome {
    if let Err(m) = raw_args(&mut args) {
        return Outcome::failed(m);
    }
    let Some(new_name) = ["name", "hostname", "host"]
        .iter()
        .find_map(|k| args.get(*k).filter(|v| !v.is_none()))
        .map(|v| v.to_string())
    else {
        return Outcome::failed("name, host or hostname needs to be provided");
    };
    let (name, port) = match crate::inventory::address::parse_address(&new_name, false) {
        Ok(p) => p,
        Err(_) => (new_name.clone(), None),
    };
    if let Some(p) = port {
        args.insert("ansible_ssh_port".into(), Value::from(p));
    }
    let groups_arg = ["groupname", "groups", "group"]
        .iter()
        .find_map(|k| args.get(*k))
        .cloned();
    let mut groups: Vec<String> = Vec::new();
    if let Some(g) = groups_arg.filter(crate::template::truthy) {
        match name_list(&g) {
            Ok(list) => {
                for n in list {
                    let n = n.trim().to_string();
                    if !groups.contains(&n) {
                        groups.push(n);
                    }
                }
            }
            Err(m) => return Outcome::failed(m),
        }
    }
    // Ansible leaves `host` and `group` among the variables.
    let host_vars: Vars = args
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "name" | "hostname" | "groupname" | "groups"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let shown = value::map([
        ("host_name", Value::from(name.as_str())),
        (
            "groups",
            Value::from(
                groups
                    .iter()
                    .map(|g| Value::from(g.as_str()))
                    .collect::<Vec<_>>(),
            ),
        ),
        ("host_vars", value::from_vars(&host_vars)),
    ]);
    Outcome {
        inventory: vec![InventoryChange::AddHost {
            name,
            groups,
            vars: host_vars,
        }],
        ..Outcome::ok()
    }
    .with("add_host", shown)
}

/// Arguments given as a mapping in `_raw_params` (`add_host: "{{ spec }}"`), lower than the
/// others. Free-form `k=v` text was split into arguments when the task was read, as Ansible's
/// parse_kv does; free text that is not `k=v` is refused, as Ansible refuses it.
pub fn raw_args(args: &mut Vars) -> Result<(), String> {
    let Some(raw) = args.shift_remove("_raw_params") else {
        return Ok(());
    };
    if raw.kind() != ValueKind::Map {
        return Err(format!(
            "Invalid raw parameters passed, requires a dictionary/mapping got a  <class '{}'>",
            super::python_type(&raw)
        ));
    }
    let keys: Vec<Value> = raw.try_iter().map(|k| k.collect()).unwrap_or_default();
    for k in keys {
        let v = raw.get_item(&k).unwrap_or_default();
        args.entry(k.to_string()).or_insert(v);
    }
    Ok(())
}

/// A list argument given as a list or a comma-separated string.
fn name_list(v: &Value) -> Result<Vec<String>, String> {
    match v.kind() {
        ValueKind::Seq => Ok(v
            .try_iter()
            .map(|i| i.map(|x| x.to_string()).collect())
            .unwrap_or_default()),
        ValueKind::String => Ok(v
            .as_str()
            .unwrap_or("")
            .split(',')
            .map(str::to_string)
            .collect()),
        ValueKind::None | ValueKind::Undefined => Ok(Vec::new()),
        _ => Err("Groups must be specified as a list.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Value)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn asks_for_the_host_with_its_port_groups_and_variables() {
        let o = add_host(args(&[
            ("name", Value::from("web9:2222")),
            ("groups", Value::from("web,new")),
            ("colour", Value::from("blue")),
        ]));
        assert!(!o.failed && !o.changed);
        let InventoryChange::AddHost { name, groups, vars } = &o.inventory[0] else {
            panic!("{o:?}")
        };
        assert_eq!(name, "web9");
        assert_eq!(groups, &["web", "new"]);
        assert_eq!(vars["ansible_ssh_port"], Value::from(2222));
        assert_eq!(vars["colour"], Value::from("blue"));
        assert!(!vars.contains_key("groups") && !vars.contains_key("name"));
        assert_eq!(
            o.rest["add_host"].get_attr("host_name").unwrap(),
            Value::from("web9")
        );
    }

    #[test]
    fn refuses_what_ansible_refuses() {
        let o = add_host(args(&[("_raw_params", Value::from("web9"))]));
        assert!(o.failed && o.inventory.is_empty());
        assert_eq!(
            o.msg.unwrap().as_str(),
            Some(
                "Invalid raw parameters passed, requires a dictionary/mapping got a  <class 'str'>"
            )
        );
        // A mapping there is arguments, lower than the others.
        let spec = crate::value::map([
            ("name", Value::from("web9")),
            ("colour", Value::from("red")),
        ]);
        let o = add_host(args(&[
            ("_raw_params", spec),
            ("colour", Value::from("blue")),
        ]));
        let InventoryChange::AddHost { name, vars, .. } = &o.inventory[0] else {
            panic!("{o:?}")
        };
        assert_eq!(
            (name.as_str(), &vars["colour"]),
            ("web9", &Value::from("blue"))
        );
        let o = add_host(args(&[("groups", Value::from("web"))]));
        assert_eq!(
            o.msg.unwrap().as_str(),
            Some("name, host or hostname needs to be provided")
        );
    }
}
