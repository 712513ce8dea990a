//! `group_by`: the host joins the group `key` (spaces become dashes), which goes under
//! `parents` (default `all`), all created as needed. As ansible-core's action it asks for the
//! change and the executor applies it, host by host in the batch's order (so groups list their
//! hosts as Ansible's do), and says whether the inventory changed.

use super::add_host::raw_args;
use super::{Args, Inventory, InventoryChange, Module, ModuleCtx, ModuleResult, Outcome, Spec};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};
use minijinja::value::ValueKind;

pub struct GroupBy;

static SPEC: Spec = Spec {
    names: &["group_by"],
    connection: false,
    inventory: Inventory::PerHost,
    // The action checks its own options (`key`, `parents`), with its own message.
    open: true,
    ..Spec::BASE
};

impl Module for GroupBy {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move { Ok(group_by(&ctx.host, args.into_values())) })
    }
}

fn group_by(host: &str, mut args: Vars) -> Outcome {
    if let Err(m) = raw_args(&mut args) {
        return Outcome::failed(m);
    }
    let bad: Vec<&str> = args
        .keys()
        .map(String::as_str)
        .filter(|k| !matches!(*k, "key" | "parents"))
        .collect();
    if !bad.is_empty() {
        return Outcome::failed(format!("Invalid options for group_by: {}", bad.join(",")));
    }
    let Some(key) = args.get("key").filter(|v| !v.is_undefined()) else {
        return Outcome::failed("the 'key' param is required when using group_by");
    };
    let group = key.to_string().replace(' ', "-");
    let parents: Vec<String> = match args.get("parents") {
        None => vec!["all".to_string()],
        Some(p) if p.kind() == ValueKind::Seq => p
            .try_iter()
            .map(|i| i.map(|x| x.to_string().replace(' ', "-")).collect())
            .unwrap_or_default(),
        Some(p) => vec![p.to_string().replace(' ', "-")],
    };
    let shown_parents = Value::from(
        parents
            .iter()
            .map(|p| Value::from(p.as_str()))
            .collect::<Vec<_>>(),
    );
    Outcome {
        inventory: vec![InventoryChange::AddGroup {
            host: host.to_string(),
            group: group.clone(),
            parents,
        }],
        ..Outcome::ok()
    }
    .with("add_group", Value::from(group))
    .with("parent_groups", shown_parents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_joins_the_key_group_under_its_parents() {
        let mut args = Vars::new();
        args.insert("key".into(), Value::from("os debian"));
        args.insert("parents".into(), Value::from("linux"));
        let o = group_by("web1", args);
        assert_eq!(
            o.inventory,
            vec![InventoryChange::AddGroup {
                host: "web1".into(),
                group: "os-debian".into(),
                parents: vec!["linux".into()],
            }]
        );
        assert_eq!(o.rest["add_group"], Value::from("os-debian"));
    }

    #[test]
    fn unknown_options_and_a_missing_key_fail_with_ansible_words() {
        let mut args = Vars::new();
        args.insert("colour".into(), Value::from("red"));
        let o = group_by("web1", args);
        assert_eq!(
            o.msg.unwrap().as_str(),
            Some("Invalid options for group_by: colour")
        );
        let o = group_by("web1", Vars::new());
        assert_eq!(
            o.msg.unwrap().as_str(),
            Some("the 'key' param is required when using group_by")
        );
    }
}
