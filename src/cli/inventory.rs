//! `baton inventory`: an inventory as baton reads it, in `ansible-inventory`'s formats.
//!
//! `--yaml` and `--toml` write `--list` (and `--host`) in those formats instead
//! (`inventory_formats.rs`); `--output FILE` writes to a file instead of standard output.
//!
//! `--list` prints the same JSON as `ansible-inventory --list`, byte for byte
//! (`json.dumps(indent=4, sort_keys=True)`): every group reachable from `all` that has hosts or
//! children, and `_meta.hostvars` with each host's variables flattened in Ansible's precedence
//! (magic variables such as `inventory_file` left out). `--export` keeps group variables on the
//! groups instead. `--graph [GROUP]` prints the tree, `--vars` adds variables to it, and
//! `--host NAME` prints one host's variables. Like `ansible-inventory`, the directory the
//! playbook would be in (`--playbook-dir`, else the current directory) contributes its
//! `group_vars/` and `host_vars/`.

#[path = "inventory_formats.rs"]
mod formats;

use crate::diagnostics::{Error, ErrorKind};
use crate::inventory::Inventory;
use crate::output::warn_stderr;
use crate::text::json::{self, Style, ToJson, Writer};
use crate::value::{Value, Vars};
use crate::vault::Masker;
use clap::Args;
use minijinja::value::ValueKind;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Inventory source: a file, a directory, a script or a comma-separated host list. May be
    /// repeated. Without it: ANSIBLE_INVENTORY or ansible.cfg's `inventory` (comma-separated
    /// paths), else /etc/ansible/hosts.
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<String>,
    /// Every group and host with its variables, as JSON (`ansible-inventory --list`).
    #[arg(long = "list")]
    pub list: bool,
    /// One host's variables, as JSON.
    #[arg(long = "host")]
    pub host: Option<String>,
    /// The groups and hosts as a tree, from `all` or from GROUP.
    #[arg(long = "graph")]
    pub graph: bool,
    /// The group to start the graph at.
    #[arg(value_name = "GROUP")]
    pub group: Option<String>,
    /// Show variables in the graph.
    #[arg(long = "vars")]
    pub vars: bool,
    /// With --list, keep group variables on the groups instead of flattening them into hosts.
    #[arg(long = "export", env = "ANSIBLE_INVENTORY_EXPORT")]
    pub export: bool,
    /// Only hosts matching this pattern (for --list).
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// The playbook directory whose group_vars/ and host_vars/ apply (default: the current
    /// directory, as for ansible-inventory).
    #[arg(long = "playbook-dir", env = "ANSIBLE_PLAYBOOK_DIR")]
    pub playbook_dir: Option<PathBuf>,
    /// Write the output to this file instead of standard output.
    #[arg(long = "output")]
    pub output: Option<PathBuf>,
    /// YAML instead of JSON for --list and --host (PyYAML's block style, as ansible-inventory).
    #[arg(short = 'y', long = "yaml")]
    pub yaml: bool,
    /// TOML instead of JSON for --list and --host (as ansible-inventory writes it with tomli_w).
    #[arg(long = "toml")]
    pub toml: bool,
    /// More output (-v, -vv, ...), accepted as ansible-inventory accepts it: the output of
    /// --list, --host and --graph is the same at every verbosity.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Vault passwords, for vault-encrypted inventory and variable files.
    #[command(flatten)]
    pub vault: crate::cli::vault::VaultPasswordArgs,
}

/// Variables Ansible sets itself; `ansible-inventory` leaves them out of what it shows.
const INTERNAL_VARS: &[&str] = &[
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "hostvars",
    "playbook_dir",
    "play_hosts",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

/// Runs the subcommand; returns the exit status.
pub fn run(args: InventoryArgs, masker: &Arc<Masker>) -> Result<i32, Error> {
    let actions = [args.list, args.host.is_some(), args.graph]
        .iter()
        .filter(|a| **a)
        .count();
    if actions == 0 {
        return Err(Error::new(
            ErrorKind::Options,
            "No action selected, at least one of --host, --graph or --list needs to be specified.",
        ));
    }
    if actions > 1 {
        return Err(Error::new(
            ErrorKind::Options,
            "Conflicting options used, only one of --host, --graph or --list can be used at the same time.",
        ));
    }
    let config = crate::config::Config::load()?;
    for w in &config.warnings {
        warn_stderr(masker, w);
    }
    if args.verbose > 0 {
        // What ansible-inventory says first at -v, on standard output.
        match &config.file {
            Some(f) => println!("Using {} as config file", f.display()),
            None => println!("No config file found; using defaults"),
        }
    }
    // Vault passwords first: reading the inventory decrypts vault-encrypted files.
    let keyring = args
        .vault
        .keyring_for_play(&mut |w| warn_stderr(masker, &w))?;
    crate::vault::install(keyring.with_masker(masker.clone()));
    let sources = if !args.inventory.is_empty() {
        args.inventory.clone()
    } else {
        if !config.inventory.is_empty() {
            config.inventory.clone()
        } else if std::path::Path::new("/etc/ansible/hosts").exists() {
            vec!["/etc/ansible/hosts".to_string()]
        } else {
            Vec::new()
        }
    };
    let playbook_dir = match &args.playbook_dir {
        Some(d) => Some(d.clone()),
        None => std::env::current_dir().ok(),
    };
    let inv = Inventory::load_with_policy(
        &sources,
        playbook_dir.as_deref(),
        &crate::inventory::sources::UnparsedPolicy::from_config(&config),
    )?;
    for w in &inv.warnings {
        warn_stderr(masker, w);
    }
    // A graph without `--vars` writes no variable.
    if !args.graph || args.vars {
        refuse_endless_values(&inv)?;
    }
    let view = View {
        inv: &inv,
        export: args.export,
        explicit_playbook_dir: args.playbook_dir.is_some(),
    };
    let text = if let Some(host) = &args.host {
        let sel = inv.get_hosts(host, None)?;
        for u in &sel.unmatched {
            warn_stderr(
                masker,
                &format!("Could not match supplied host pattern, ignoring: {u}"),
            );
        }
        if sel.hosts.len() != 1 {
            return Err(Error::new(
                ErrorKind::Options,
                "You must pass a single valid host to --host parameter",
            ));
        }
        let vars = view.host_vars(&sel.hosts[0]);
        if args.yaml {
            formats::dump_yaml(&crate::value::from_vars(&vars))?
        } else if args.toml {
            formats::dump_toml(&formats::vars_data(&vars))?
        } else {
            json::dumps(&ListedVars(&vars), &listing_style())
        }
    } else if args.graph {
        let start = args.group.as_deref().unwrap_or("all");
        if !inv.groups.contains_key(start) {
            return Err(Error::new(
                ErrorKind::Options,
                "Pattern must be valid group name when using --graph",
            ));
        }
        let mut lines = Vec::new();
        view.graph_group(start, 0, args.vars, &mut lines);
        lines.join("\n")
    } else {
        let sel = inv.get_hosts("all", args.limit.as_deref())?;
        for u in &sel.unmatched {
            warn_stderr(
                masker,
                &format!("Could not match supplied host pattern, ignoring: {u}"),
            );
        }
        if args.yaml {
            formats::yaml(&view, &sel.hosts)?
        } else if args.toml {
            formats::toml(&view, &sel.hosts)?
        } else {
            view.list(&sel.hosts)
        }
    };
    // ansible-inventory writes nothing, and fails, when there is nothing to write (an empty
    // TOML listing).
    if text.is_empty() {
        std::mem::forget(inv);
        return Ok(1);
    }
    match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes()).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "Unable to write to destination file {}: {e}",
                    path.display()
                ),
            )
        })?,
        // On the screen, a line end unless the text has one (YAML and TOML do, JSON does not).
        None if text.ends_with('\n') => print!("{text}"),
        None => println!("{text}"),
    }
    // The process ends now: freeing ten thousand hosts one by one would only cost time.
    std::mem::forget(inv);
    Ok(0)
}

/// How many values one variable may be made of for the listing to write it out.
const MAX_VALUES_LISTED: u64 = 1_000_000;

/// Refuses an inventory with a variable that writing out would not end: YAML aliases keep a
/// "billion laughs" small in memory (see `crate::yaml`), but a listing writes every repetition,
/// and ansible-inventory runs out of time or memory on it. Each group's and host's own
/// variables are looked at once, before anything is written.
fn refuse_endless_values(inv: &Inventory) -> Result<(), Error> {
    let owners = inv
        .groups
        .keys()
        .map(|g| ("group", g, inv.group_vars(g, true)))
        .chain(
            inv.hosts
                .keys()
                .map(|h| ("host", h, inv.own_host_vars(h, true))),
        );
    for (what, name, vars) in owners {
        for (k, v) in &vars {
            if crate::value::count_values(v, MAX_VALUES_LISTED) >= MAX_VALUES_LISTED {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "the variable '{k}' of the {what} '{name}' is made of more than \
                         {MAX_VALUES_LISTED} values (YAML aliases repeated many times?): too \
                         many to list"
                    ),
                ));
            }
        }
    }
    Ok(())
}

struct View<'a> {
    inv: &'a Inventory,
    export: bool,
    explicit_playbook_dir: bool,
}

impl View<'_> {
    fn host_vars(&self, host: &str) -> Vars {
        let mut vars = if self.export {
            self.inv.own_host_vars(host, self.explicit_playbook_dir)
        } else {
            self.inv.host_vars(host)
        };
        vars.retain(|k, _| !INTERNAL_VARS.contains(&k.as_str()));
        vars
    }

    fn host_vars_many(&self, hosts: &[&String]) -> Vec<Vars> {
        if self.export {
            return hosts.iter().map(|h| self.host_vars(h)).collect();
        }
        let mut all = self.inv.host_vars_many(hosts.iter().map(|h| h.as_str()));
        for vars in &mut all {
            vars.retain(|k, _| !INTERNAL_VARS.contains(&k.as_str()));
        }
        all
    }

    fn group_vars(&self, group: &str) -> Vars {
        let mut vars = self.inv.group_vars(group, self.explicit_playbook_dir);
        vars.retain(|k, _| !INTERNAL_VARS.contains(&k.as_str()));
        vars
    }

    /// `ansible-inventory --list`, as text. Host variables are written straight from the
    /// variables, not through a JSON tree: with ten thousand hosts that tree is most of the time.
    fn list(&self, hosts: &[String]) -> String {
        let available: std::collections::HashSet<&str> = hosts.iter().map(String::as_str).collect();
        let mut groups = indexmap::IndexMap::new();
        let mut seen = std::collections::HashSet::new();
        self.format_group("all", &available, &mut seen, &mut groups);
        let mut keys: Vec<&str> = groups.keys().map(String::as_str).collect();
        keys.push("_meta");
        keys.sort_unstable();
        keys.dedup();
        let style = listing_style();
        // About half a kilobyte a host: growing the text as it is written costs copies.
        let mut w = Writer::with_capacity(&style, 4096 + hosts.len() * 512);
        w.begin_object();
        for k in keys {
            w.key(k);
            if k == "_meta" {
                self.write_meta(hosts, &mut w);
            } else {
                w.value(&groups[k]);
            }
        }
        w.end_object();
        w.finish()
    }

    /// `{"hostvars": {HOST: VARS, ...}, "profile": "inventory_legacy"}`.
    fn write_meta(&self, hosts: &[String], w: &mut Writer<'_>) {
        let mut sorted: Vec<&String> = hosts.iter().collect();
        sorted.sort_unstable();
        w.begin_object();
        w.key("hostvars");
        w.begin_object();
        let all_vars = self.host_vars_many(&sorted);
        for (h, vars) in sorted.into_iter().zip(all_vars) {
            if vars.is_empty() {
                continue;
            }
            w.key(h);
            w.value(&ListedVars(&vars));
        }
        w.end_object();
        w.key("profile");
        w.str("inventory_legacy");
        w.end_object();
    }

    /// The groups of `--list`: each group reachable from `all` with its hosts (those selected),
    /// children and, with `--export`, variables; groups with none of these are left out.
    fn format_group<'a>(
        &'a self,
        name: &str,
        available: &std::collections::HashSet<&str>,
        seen: &mut std::collections::HashSet<String>,
        out: &mut indexmap::IndexMap<String, GroupEntry<'a>>,
    ) {
        // Walked with a list, not recursion: a chain of groups may be long.
        let mut todo = vec![name.to_string()];
        while let Some(name) = todo.pop() {
            let g = &self.inv.groups[&name];
            let hosts = if name == "all" {
                Vec::new()
            } else {
                g.hosts
                    .iter()
                    .filter(|h| available.contains(h.as_str()))
                    .map(String::as_str)
                    .collect()
            };
            for c in &g.children {
                if seen.insert(c.clone()) {
                    todo.push(c.clone());
                }
            }
            let vars = if self.export {
                self.group_vars(&name)
            } else {
                Vars::new()
            };
            let entry = GroupEntry {
                hosts,
                children: &g.children,
                vars,
            };
            if !entry.is_empty() {
                out.insert(name, entry);
            }
        }
    }

    /// `ansible-inventory --graph`: a group, its children's trees, then its own hosts (with
    /// their variables) and its variables. A shared child is drawn under each parent.
    fn graph_group(&self, name: &str, depth: usize, show_vars: bool, out: &mut Vec<String>) {
        enum Step<'a> {
            Open(&'a str, usize),
            Close(&'a str, usize),
        }
        // Walked with a stack, not recursion: a chain of groups may be long.
        let mut stack = vec![Step::Open(name, depth)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Open(name, depth) => {
                    out.push(graph_name(&format!("@{name}:"), depth));
                    let g = &self.inv.groups[name];
                    stack.push(Step::Close(name, depth));
                    for c in g.children.iter().rev() {
                        stack.push(Step::Open(c, depth + 1));
                    }
                }
                Step::Close(name, depth) => {
                    if name != "all" {
                        for h in &self.inv.groups[name].hosts {
                            out.push(graph_name(h, depth + 1));
                            if show_vars {
                                show(&self.host_vars(h), depth + 2, out);
                            }
                        }
                    }
                    if show_vars {
                        show(&self.group_vars(name), depth + 1, out);
                    }
                }
            }
        }
    }
}

fn graph_name(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
    }
}

fn show(vars: &Vars, depth: usize, out: &mut Vec<String>) {
    let mut keys: Vec<&String> = vars.keys().collect();
    keys.sort();
    for k in keys {
        let mut v = vars[k].clone();
        // Python's `str()` of a `!vault` value is its plaintext.
        if let Some(plain) = crate::value::vaulted::reveal(&v) {
            v = plain.unwrap_or_else(|e| Value::from(format!("<{}>", e.message)));
        }
        let v = &v;
        let text = match v.kind() {
            _ if crate::value::timestamp::of(v).is_some() => v.to_string(),
            ValueKind::String => v.as_str().unwrap_or("").to_string(),
            ValueKind::Bool => if v.is_true() { "True" } else { "False" }.to_string(),
            ValueKind::None | ValueKind::Undefined => "None".to_string(),
            _ => crate::value::python_repr(&graph_json(v)),
        };
        out.push(graph_name(&format!("{{{k} = {text}}}"), depth));
    }
}

/// A value as JSON, for the graph's Python `repr()` of variables (no `!unsafe` marking there).
fn graph_json(v: &Value) -> serde_json::Value {
    if let Some(j) = crate::value::vaulted::to_json(v) {
        return j;
    }
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable => serde_json::Value::Array(
            v.try_iter()
                .map(|it| it.map(|x| graph_json(&x)).collect())
                .unwrap_or_default(),
        ),
        ValueKind::Map => {
            let mut obj = serde_json::Map::new();
            if let Ok(keys) = v.try_iter() {
                for k in keys {
                    let item = v.get_item(&k).unwrap_or_default();
                    obj.insert(json_key(&k), graph_json(&item));
                }
            }
            serde_json::Value::Object(obj)
        }
        // `value::to_json` would write 1000.0 as 1000; Ansible keeps floats floats.
        ValueKind::Number if !v.is_integer() => f64::try_from(v.clone())
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        _ => crate::value::to_json(v),
    }
}

/// `ansible-inventory`'s JSON: `json.dumps(indent=4, sort_keys=True, ensure_ascii=False)`.
fn listing_style() -> Style {
    Style {
        sort_keys: true,
        ensure_ascii: false,
        ..Style::indented(4)
    }
}

/// One group of `--list`: its selected hosts, its children and, with `--export`, its variables.
struct GroupEntry<'a> {
    hosts: Vec<&'a str>,
    children: &'a [String],
    vars: Vars,
}

impl GroupEntry<'_> {
    fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.children.is_empty() && self.vars.is_empty()
    }
}

impl ToJson for GroupEntry<'_> {
    fn write_json(&self, w: &mut Writer<'_>) {
        // The keys in sorted order, as sort_keys=True has them.
        w.begin_object();
        if !self.children.is_empty() {
            w.key("children");
            w.array(self.children);
        }
        if !self.hosts.is_empty() {
            w.key("hosts");
            w.array(&self.hosts);
        }
        if !self.vars.is_empty() {
            w.key("vars");
            w.value(&ListedVars(&self.vars));
        }
        w.end_object();
    }
}

/// Variables as `ansible-inventory` writes them (each value a [`Listed`]).
struct ListedVars<'a>(&'a Vars);

impl ToJson for ListedVars<'_> {
    fn write_json(&self, w: &mut Writer<'_>) {
        w.object(self.0.iter().map(|(k, v)| (k, Listed(v))));
    }
}

/// A value as Ansible's JSON encoder writes it: text never to be templated (`!unsafe`) as
/// `{"__ansible_unsafe": "..."}`, a still-encrypted `!vault` value as
/// `{"__ansible_vault": "<ciphertext>"}`, floats kept floats.
struct Listed<'a>(&'a Value);

impl ToJson for Listed<'_> {
    fn write_json(&self, w: &mut Writer<'_>) {
        let v = self.0;
        if let Some(j) = crate::value::vaulted::to_json(v) {
            w.value(&j);
            return;
        }
        if let Some(t) = crate::value::timestamp::of(v) {
            w.str(&t.isoformat());
            return;
        }
        match v.kind() {
            ValueKind::String if v.is_safe() => {
                w.object([("__ansible_unsafe", v.as_str().unwrap_or(""))]);
            }
            ValueKind::String => w.str(v.as_str().unwrap_or("")),
            ValueKind::Number if v.is_integer() => w.int(v),
            ValueKind::Number => match f64::try_from(v.clone()) {
                Ok(f) => w.float(f),
                Err(_) => w.null(),
            },
            ValueKind::Bool => w.bool(v.is_true()),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = v.try_iter().map(|it| it.collect()).unwrap_or_default();
                w.array(items.iter().map(Listed));
            }
            ValueKind::Map => {
                // Keys as JSON spells them; two keys that spell the same keep the last value.
                let mut map = Vars::new();
                if let Ok(keys) = v.try_iter() {
                    for k in keys {
                        let item = v.get_item(&k).unwrap_or_default();
                        map.insert(json_key(&k), item);
                    }
                }
                w.value(&ListedVars(&map));
            }
            _ => w.null(),
        }
    }
}

/// A map key as JSON has it: text; `json.dumps` spells other scalars `1`, `true`, `null`.
fn json_key(k: &Value) -> String {
    match crate::value::to_json(k) {
        serde_json::Value::String(s) => s,
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Null => "null".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_values_mark_unsafe_text_and_keep_floats() {
        let vars: Vars = [
            ("b".to_string(), Value::from_safe_string("{{ raw }}".into())),
            (
                "a".to_string(),
                Value::from(vec![Value::from(1.0), Value::from("é")]),
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            json::dumps(&ListedVars(&vars), &listing_style()),
            "{\n    \"a\": [\n        1.0,\n        \"é\"\n    ],\n    \"b\": {\n        \"__ansible_unsafe\": \"{{ raw }}\"\n    }\n}"
        );
    }

    #[test]
    fn graph_lines() {
        assert_eq!(graph_name("@all:", 0), "@all:");
        assert_eq!(graph_name("h", 2), "  |  |--h");
    }
}
