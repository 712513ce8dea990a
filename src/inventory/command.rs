//! `baton inventory`: an inventory as baton reads it, in `ansible-inventory`'s formats.

use super::Inventory;
use crate::diagnostics::{Error, ErrorKind};
use crate::value;
use clap::Args;

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Inventory source: a file or a comma-separated host list. May be repeated.
    #[arg(short = 'i', long = "inventory", env = "ANSIBLE_INVENTORY")]
    pub inventory: Vec<String>,
    /// Every group and host with its variables, as JSON (`ansible-inventory --list`).
    #[arg(long = "list")]
    pub list: bool,
    /// One host's variables, as JSON.
    #[arg(long = "host")]
    pub host: Option<String>,
}

/// Runs the subcommand; returns the exit status.
pub fn run(args: InventoryArgs) -> Result<i32, Error> {
    let inv = Inventory::load(&args.inventory)?;
    if let Some(host) = &args.host {
        if !inv.hosts.contains_key(host) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("You must pass a single valid host to --host parameter: {host}"),
            ));
        }
        let vars = value::to_json(&value::from_vars(&inv.host_vars(host)));
        println!("{}", value::ansible_json(&vars));
        return Ok(0);
    }
    if !args.list {
        return Err(Error::new(
            ErrorKind::Usage,
            "No action selected, at least one of --host or --list needs to be specified.",
        ));
    }
    let mut out = serde_json::Map::new();
    let mut hostvars = serde_json::Map::new();
    for h in inv.hosts.keys() {
        let vars = inv.host_vars(h);
        if !vars.is_empty() {
            hostvars.insert(h.clone(), value::to_json(&value::from_vars(&vars)));
        }
    }
    out.insert(
        "_meta".into(),
        serde_json::json!({ "hostvars": serde_json::Value::Object(hostvars) }),
    );
    for (name, g) in &inv.groups {
        let mut entry = serde_json::Map::new();
        if !g.children.is_empty() {
            entry.insert("children".into(), serde_json::json!(g.children));
        }
        if !g.hosts.is_empty() {
            entry.insert("hosts".into(), serde_json::json!(g.hosts));
        }
        if !entry.is_empty() {
            out.insert(name.clone(), serde_json::Value::Object(entry));
        }
    }
    println!("{}", value::ansible_json(&serde_json::Value::Object(out)));
    Ok(0)
}
