//! The inventory: which hosts exist, how they are grouped, and the variables inventory gives them.
//!
//! This module owns the model ([`Inventory`], [`Host`], [`Group`]) with Ansible's rules for it
//! (the implicit groups `all` and `ungrouped`, group depth and `ansible_group_priority`, loops
//! refused, a port only taken from the first line that names a host), and the variables a host
//! gets from inventory in Ansible's precedence: `all`'s own vars, other groups' own vars (by
//! depth, priority, name), `group_vars/all` next to the inventory then next to the playbook,
//! `group_vars/<group>` likewise, the host's own vars, then `host_vars/<host>` likewise.
//!
//! Reading sources is in [`sources`] (which picks a parser per file as Ansible's plugin chain
//! does: [`script`], [`plugin`] configurations (through ansible-core), [`yaml`], [`ini`],
//! comma-separated host lists); `group_vars/` and `host_vars/` in [`vars_dirs`]; host patterns
//! in [`pattern`]; `baton inventory` in [`command`].
//! Parsers only change the model through the builder methods here, which are Ansible's
//! `InventoryData` methods and fail the way those do.

pub mod address;
pub mod ini;
pub mod literal;
pub mod pattern;
pub mod plugin;
mod query;
pub mod script;
pub mod sources;
pub mod toml;
pub mod vars_dirs;
pub mod yaml;

use crate::diagnostics::{Error, ErrorKind, Source};
use crate::value::{Value, Vars};
use indexmap::IndexMap;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vars_dirs::VarsDir;

/// The names Ansible treats as the controller itself: a pattern naming one of them selects an
/// implicit `localhost` (connection `local`) when the inventory does not define it.
pub const LOCALHOST: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

/// One host as the inventory knows it.
#[derive(Debug, Clone, Default)]
pub struct Host {
    pub name: String,
    /// Variables set on the host itself: inline in the inventory, a port written after its name.
    pub vars: Vars,
    /// The source the host was first seen in (its `inventory_file` and `inventory_dir`
    /// variables, which rank just below [`Self::vars`]); undefined for the implicit localhost.
    pub inventory_file: Value,
    pub inventory_dir: Value,
    /// Groups the host was put in directly, in order (`all` and `ungrouped` included when so).
    pub groups: Vec<String>,
    /// The implicit `localhost`: not in any group, not matched by `all`.
    pub implicit: bool,
}

/// One group.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    /// The group's own variables (without `ansible_group_priority`, which sets [`Self::priority`]).
    pub vars: Vars,
    /// Hosts put in this group directly, in order.
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub parents: Vec<String>,
    /// `ansible_group_priority`, 1 unless set.
    pub priority: i64,
    /// The longest path from `all` (0) down to this group; the first key of the var order.
    pub depth: usize,
}

impl Group {
    fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            vars: Vars::new(),
            hosts: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
            priority: 1,
            depth: 0,
        }
    }
}

/// The source a host was first seen in: its `inventory_file` and `inventory_dir` variables.
#[derive(Debug, Clone)]
struct CurrentSource {
    file: Value,
    dir: Value,
}

/// The most hosts one inventory holds: far more than any real fleet, far less than fills memory.
pub const MAX_HOSTS: usize = 1_000_000;

/// Hosts and groups, in the order they were first seen, and the `group_vars`/`host_vars`
/// directories that apply to them.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// Directories next to the inventory sources (one per source that is a path, in order),
    /// where `group_vars/` and `host_vars/` are looked for.
    pub dirs: Vec<PathBuf>,
    /// The `-i` sources as given.
    pub sources: Vec<String>,
    /// Warnings Ansible would print while loading (a host and group of the same name, a YAML key
    /// that is skipped, ...). `baton inventory` prints them; the executor may too.
    pub warnings: Vec<String>,
    inventory_vars: Vec<Arc<VarsDir>>,
    playbook_vars: Vec<Arc<VarsDir>>,
    current_source: Option<CurrentSource>,
}

impl Default for Inventory {
    fn default() -> Self {
        let mut inv = Inventory {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            dirs: Vec::new(),
            sources: Vec::new(),
            warnings: Vec::new(),
            inventory_vars: Vec::new(),
            playbook_vars: Vec::new(),
            current_source: None,
        };
        inv.groups.insert("all".into(), Group::new("all"));
        inv.groups
            .insert("ungrouped".into(), Group::new("ungrouped"));
        let _ = inv.add_child_group("all", "ungrouped");
        inv
    }
}

impl Inventory {
    /// Loads and merges every source given with `-i` (files, directories, scripts, or
    /// comma-separated host lists) with the `group_vars/` and `host_vars/` next to them.
    pub fn load(sources: &[String]) -> Result<Inventory, Error> {
        Inventory::load_with_playbook_dir(sources, None)
    }

    /// [`Inventory::load`], plus the `group_vars/` and `host_vars/` next to a playbook (which
    /// rank above the inventory's own, as in Ansible).
    pub fn load_with_playbook_dir(
        sources: &[String],
        playbook_dir: Option<&Path>,
    ) -> Result<Inventory, Error> {
        let policy = crate::config::Config::load()
            .map(|c| sources::UnparsedPolicy::from_config(&c))
            .unwrap_or_default();
        Inventory::load_with_policy(sources, playbook_dir, &policy)
    }

    /// [`Inventory::load_with_playbook_dir`] with the policy for sources that no parser reads
    /// given (it is otherwise read from the configuration).
    pub fn load_with_policy(
        sources: &[String],
        playbook_dir: Option<&Path>,
        policy: &sources::UnparsedPolicy,
    ) -> Result<Inventory, Error> {
        let mut inv = Inventory::default();
        if sources::load_sources(&mut inv, sources, policy)? {
            inv.finish();
        } else {
            // Ansible reconciles only an inventory it read: what a source that failed half-way
            // added stays out of `all`.
            inv.finish_with(false);
        }
        inv.load_inventory_vars()?;
        if let Some(dir) = playbook_dir {
            inv.set_playbook_dir(Some(dir))?;
        }
        Ok(inv)
    }

    /// ansible's warning when the inventory has no host at all and the hosts asked for
    /// (`pattern`) are not the implicit localhost, unless `localhost_warning` is off.
    pub fn empty_warning(&self, pattern: &str, config: &crate::config::Config) -> Option<String> {
        let empty = self.hosts.values().all(|h| h.implicit);
        let local = matches!(pattern, "localhost" | "127.0.0.1" | "::1");
        (empty && !local && config.localhost_warning.unwrap_or(true)).then(|| {
            "provided hosts list is empty, only localhost is available. Note that the \
             implicit localhost does not match 'all'"
                .to_string()
        })
    }

    /// Replaces the playbook-adjacent `group_vars/` and `host_vars/` (None: there are none).
    /// Running several playbooks from different directories, call this before each.
    pub fn set_playbook_dir(&mut self, dir: Option<&Path>) -> Result<(), Error> {
        self.playbook_vars.clear();
        if let Some(dir) = dir {
            let vd = VarsDir::load(dir, self)?;
            self.warnings.extend(vd.warnings.iter().cloned());
            self.playbook_vars.push(Arc::new(vd));
        }
        Ok(())
    }

    /// Reads the `group_vars/` and `host_vars/` files of groups and hosts that were added since
    /// the inventory was read (`add_host`, `group_by`), beside the sources and the playbook.
    pub fn load_vars_of_new_names(&mut self) -> Result<(), Error> {
        let mut dirs = std::mem::take(&mut self.inventory_vars);
        let mut pdirs = std::mem::take(&mut self.playbook_vars);
        let mut result = Ok(());
        for vd in dirs.iter_mut().chain(pdirs.iter_mut()) {
            if result.is_ok() && vd.has_new(self) {
                result = Arc::make_mut(vd).load_new(self);
            }
        }
        self.inventory_vars = dirs;
        self.playbook_vars = pdirs;
        result
    }

    /// Reads `group_vars/` and `host_vars/` next to every inventory source, for the groups and
    /// hosts that exist. A directory used by several sources is read once and applied for each,
    /// as Ansible applies it once per source.
    fn load_inventory_vars(&mut self) -> Result<(), Error> {
        let mut cache: HashMap<PathBuf, Arc<VarsDir>> = HashMap::new();
        let mut out = Vec::new();
        for dir in &self.dirs {
            let vd = match cache.get(dir) {
                Some(vd) => vd.clone(),
                None => {
                    let vd = Arc::new(VarsDir::load(dir, self)?);
                    cache.insert(dir.clone(), vd.clone());
                    self.warnings.extend(vd.warnings.iter().cloned());
                    vd
                }
            };
            out.push(vd);
        }
        self.inventory_vars = out;
        Ok(())
    }

    /// Parses one INI text into a fresh inventory (tests and small tools).
    pub fn from_ini(name: &str, text: &str) -> Result<Inventory, Error> {
        let mut inv = Inventory::default();
        ini::parse(&Source::new(name, text), &mut inv)?;
        inv.finish();
        Ok(inv)
    }

    // --- Builder methods: Ansible's InventoryData, Group and Host methods -----------------------

    /// Adds a group if it is new.
    pub fn add_group(&mut self, name: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err(format!("Invalid empty/false group name provided: {name}"));
        }
        if !self.groups.contains_key(name) {
            self.groups.insert(name.to_string(), Group::new(name));
        }
        Ok(())
    }

    /// Adds a host if it is new (taking `port` then, and only then) and puts it in `group`,
    /// up to [`MAX_HOSTS`] hosts.
    pub fn add_host_in(
        &mut self,
        name: &str,
        group: Option<&str>,
        port: Option<u64>,
    ) -> Result<(), String> {
        if name.is_empty() {
            return Err("Invalid empty host name provided: ".into());
        }
        if let Some(g) = group
            && !self.groups.contains_key(g)
        {
            return Err(format!("Could not find group {g} in inventory"));
        }
        if !self.hosts.contains_key(name) {
            // Several `h[0:999999]` ranges would otherwise add up until memory runs out.
            if self.hosts.len() >= MAX_HOSTS {
                return Err(format!(
                    "the inventory has more than {MAX_HOSTS} hosts; '{name}' is one too many \
                     (do several large host ranges add up?)"
                ));
            }
            let mut host = Host {
                name: name.to_string(),
                ..Host::default()
            };
            if let Some(p) = port.filter(|p| *p != 0) {
                host.vars.insert("ansible_port".into(), Value::from(p));
            }
            (host.inventory_file, host.inventory_dir) = match &self.current_source {
                Some(s) => (s.file.clone(), s.dir.clone()),
                None => (Value::from(()), Value::from(())),
            };
            self.hosts.insert(name.to_string(), host);
        }
        if let Some(g) = group {
            self.put_host_in_group(g, name);
        }
        Ok(())
    }

    /// Adds a host (once) and puts it in `group` (once), creating the group if needed.
    pub fn add_host(&mut self, name: &str, group: &str) {
        let _ = self.add_group(group);
        let _ = self.add_host_in(name, Some(group), None);
    }

    fn put_host_in_group(&mut self, group: &str, host: &str) -> bool {
        // A host's own list of groups is short; a group's list of hosts may be very long.
        let h = &mut self.hosts[host];
        if h.groups.iter().any(|g| g == group) {
            return false;
        }
        h.groups.push(group.to_string());
        self.groups[group].hosts.push(host.to_string());
        true
    }

    /// Ansible's `InventoryData.set_variable`: on the group of that name if there is one, else
    /// on the host. `ansible_group_priority` on a group sets its priority instead.
    pub fn set_variable(&mut self, entity: &str, key: &str, value: Value) -> Result<(), String> {
        if let Some(g) = self.groups.get_mut(entity) {
            if key == "ansible_group_priority" {
                g.priority = python_int(&value).ok_or_else(|| {
                    format!("ansible_group_priority must be an integer, got: {value}")
                })?;
            } else {
                g.vars.insert(key.to_string(), value);
            }
            Ok(())
        } else if let Some(h) = self.hosts.get_mut(entity) {
            h.vars.insert(key.to_string(), value);
            Ok(())
        } else {
            Err(format!("Could not identify group or host named {entity}"))
        }
    }

    pub fn set_host_var(&mut self, host: &str, key: &str, value: Value) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.vars.insert(key.to_string(), value);
        }
    }

    pub fn set_group_var(&mut self, group: &str, key: &str, value: Value) {
        let _ = self.add_group(group);
        let _ = self.set_variable(group, key, value);
    }

    /// Ansible's `InventoryData.add_child`: `child` may be a group or a host.
    pub fn add_child(&mut self, parent: &str, child: &str) -> Result<(), Error> {
        self.add_child_any(parent, child)
            .map(|_| ())
            .map_err(|m| Error::new(ErrorKind::Syntax, m))
    }

    fn add_child_any(&mut self, parent: &str, child: &str) -> Result<bool, String> {
        if !self.groups.contains_key(parent) {
            return Err(format!("{parent} is not a known group"));
        }
        if self.groups.contains_key(child) {
            self.add_child_group(parent, child)
        } else if self.hosts.contains_key(child) {
            Ok(self.put_host_in_group(parent, child))
        } else {
            Err(format!("{child} is not a known host nor group"))
        }
    }

    fn add_child_group(&mut self, parent: &str, child: &str) -> Result<bool, String> {
        if parent == child {
            return Err(format!("can't add group '{child}' to itself"));
        }
        if self.groups[parent].children.iter().any(|c| c == child) {
            return Ok(false);
        }
        if self.is_ancestor(child, parent) {
            return Err(format!(
                "Adding group '{child}' as child to '{parent}' creates a recursive dependency loop."
            ));
        }
        self.groups[parent].children.push(child.to_string());
        let c = &mut self.groups[child];
        if !c.parents.iter().any(|p| p == parent) {
            c.parents.push(parent.to_string());
        }
        Ok(true)
    }

    /// Whether `ancestor` is `group` or above it.
    fn is_ancestor(&self, ancestor: &str, group: &str) -> bool {
        let mut todo = vec![group];
        let mut seen = HashSet::new();
        while let Some(g) = todo.pop() {
            if g == ancestor {
                return true;
            }
            if seen.insert(g)
                && let Some(grp) = self.groups.get(g)
            {
                todo.extend(grp.parents.iter().map(String::as_str));
            }
        }
        false
    }

    /// Ansible's `reconcile_inventory`: groups without a parent go under `all`; a host in no
    /// group but `all` goes in `ungrouped`, and a host in another group leaves `ungrouped`.
    pub fn finish(&mut self) {
        self.finish_with(true);
    }

    /// [`Inventory::finish`], leaving groups without parents outside `all` unless
    /// `adopt_orphans`.
    fn finish_with(&mut self, adopt_orphans: bool) {
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for name in &names {
            if adopt_orphans && name != "all" && self.groups[name].parents.is_empty() {
                let _ = self.add_child_group("all", name);
            }
        }
        self.compute_depths();
        // Per group: is `ungrouped` at or above it, and is any group other than `all` and
        // `ungrouped` at or above it. Parents are shallower than their children, so in order
        // of depth each group's answer follows from its parents'. A host's answer is then the
        // "or" over its direct groups, without walking its ancestors.
        let mut order: Vec<&Group> = self.groups.values().collect();
        order.sort_by_key(|g| g.depth);
        let mut flags: HashMap<&str, (bool, bool)> = HashMap::new();
        for g in order {
            let (mut under_ungrouped, mut other) = match g.name.as_str() {
                "ungrouped" => (true, false),
                "all" => (false, false),
                _ => (false, true),
            };
            for p in &g.parents {
                let (u, o) = flags.get(p.as_str()).copied().unwrap_or_default();
                under_ungrouped |= u;
                other |= o;
            }
            flags.insert(g.name.as_str(), (under_ungrouped, other));
        }
        let mut leave: HashSet<String> = HashSet::new();
        let mut join: Vec<String> = Vec::new();
        for (name, h) in &self.hosts {
            let (mut ungrouped, mut other) = (false, false);
            for g in &h.groups {
                let (u, o) = flags.get(g.as_str()).copied().unwrap_or_default();
                ungrouped |= u;
                other |= o;
            }
            if ungrouped {
                if other {
                    leave.insert(name.clone());
                }
            } else if !h.implicit && !other {
                // In no group, or only in `all`.
                join.push(name.clone());
            }
        }
        // In one pass each, so that thousands of hosts cost no more than one.
        if !leave.is_empty() {
            self.groups["ungrouped"]
                .hosts
                .retain(|h| !leave.contains(h));
            for h in &leave {
                self.hosts[h].groups.retain(|g| g != "ungrouped");
            }
        }
        for h in join {
            self.put_host_in_group("ungrouped", &h);
        }
        for name in &names {
            if self.hosts.contains_key(name) {
                self.warnings
                    .push(format!("Found both group and host with same name: {name}"));
            }
        }
    }

    fn compute_depths(&mut self) {
        let mut depth: HashMap<String, usize> = HashMap::new();
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for n in &names {
            self.depth_of(n, &mut depth);
        }
        for (n, g) in self.groups.iter_mut() {
            g.depth = depth.get(n).copied().unwrap_or(0);
        }
    }

    /// The longest path from `all`, without recursion (a chain of groups may be long).
    fn depth_of(&self, group: &str, memo: &mut HashMap<String, usize>) -> usize {
        let mut stack: Vec<&str> = vec![group];
        while let Some(&g) = stack.last() {
            if memo.contains_key(g) {
                stack.pop();
                continue;
            }
            // Parents are a DAG (loops are refused when adding), so this ends.
            let parents = &self.groups[g].parents;
            let todo: Vec<&str> = parents
                .iter()
                .map(String::as_str)
                .filter(|p| !memo.contains_key(*p))
                .collect();
            if todo.is_empty() {
                let d = parents.iter().map(|p| memo[p] + 1).max().unwrap_or(0);
                memo.insert(g.to_string(), d);
                stack.pop();
            } else {
                stack.extend(todo);
            }
        }
        memo[group]
    }

    /// Sets what new hosts record as `inventory_file` / `inventory_dir` (None: nothing).
    fn set_current_source(&mut self, file: Option<String>, dir: Option<String>) {
        self.current_source = Some(CurrentSource {
            file: file.map_or(Value::from(()), Value::from),
            dir: dir.map_or(Value::from(()), Value::from),
        });
    }
}

/// Later layers replace earlier values key by key (Ansible's `combine_vars`, hash_behaviour
/// `replace`).
fn extend(vars: &mut Vars, layer: &Vars) {
    for (k, v) in layer {
        vars.insert(k.clone(), v.clone());
    }
}

/// `inventory_file` and `inventory_dir`, for a host read from a source.
fn source_vars(vars: &mut Vars, h: &Host) {
    if !h.inventory_file.is_undefined() {
        vars.insert("inventory_file".into(), h.inventory_file.clone());
        vars.insert("inventory_dir".into(), h.inventory_dir.clone());
    }
}

/// Python's `int(value)` for `ansible_group_priority`: ints, floats (truncated), booleans and
/// numeric text.
fn python_int(v: &Value) -> Option<i64> {
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Bool => Some(v.is_true() as i64),
        ValueKind::Number => v
            .as_i64()
            .or_else(|| f64::try_from(v.clone()).ok().map(|f| f.trunc() as i64)),
        ValueKind::String => {
            let s = v.as_str()?.trim().replace('_', "");
            s.parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(text: &str) -> Inventory {
        Inventory::from_ini("hosts.ini", text).unwrap()
    }

    #[test]
    fn vars_layer_all_then_parents_then_children_then_host() {
        let i = inv(
            "[web]\nw1 x=host\nw2\n[prod:children]\nweb\n[all:vars]\nx=all\ny=all\n[prod:vars]\nx=prod\ny=prod\n[web:vars]\nx=web\n",
        );
        assert_eq!(i.host_vars("w1")["x"].to_string(), "host");
        assert_eq!(i.host_vars("w2")["x"].to_string(), "web");
        assert_eq!(i.host_vars("w2")["y"].to_string(), "prod");
        assert_eq!(i.group_names("w1"), vec!["prod", "web"]);
        assert_eq!(i.group_hosts("prod"), vec!["w1", "w2"]);
    }

    #[test]
    fn priority_orders_groups_of_equal_depth() {
        let i = inv("[a]\nh\n[b]\nh\n[a:vars]\nx=a\nansible_group_priority=10\n[b:vars]\nx=b\n");
        assert_eq!(i.host_vars("h")["x"].to_string(), "a");
        assert!(!i.host_vars("h").contains_key("ansible_group_priority"));
        assert_eq!(i.groups["a"].priority, 10);
    }

    #[test]
    fn lone_hosts_are_ungrouped() {
        let i = inv("h0\n[g]\nh1\n[ungrouped]\nh1\n");
        assert_eq!(i.group_hosts("ungrouped"), vec!["h0"]);
        assert_eq!(i.group_hosts("all"), vec!["h0", "h1"]);
        assert_eq!(i.group_names("h0"), vec!["ungrouped"]);
    }

    #[test]
    fn loops_are_refused() {
        let err = Inventory::from_ini("h", "[a:children]\nb\n[b:children]\na\n").unwrap_err();
        assert!(
            err.to_string().contains("recursive dependency loop"),
            "{err}"
        );
        assert!(err.to_string().contains("h:4:1"), "{err}");
    }

    #[test]
    fn connection_variables_are_typed_as_ansible_types_them() {
        let i = inv(
            "[s]\ns1 ansible_host=10.0.0.1 ansible_port=2222 ansible_user=deploy \
             ansible_password=secret ansible_ssh_private_key_file=~/.ssh/id \
             ansible_ssh_common_args='-o ProxyJump=b' ansible_connection=local \
             ansible_become=true ansible_become_user=pg ansible_become_password=pw \
             ansible_host_key_checking=false\n[s:vars]\nansible_become=True\n",
        );
        let v = i.host_vars("s1");
        assert_eq!(v["ansible_host"].as_str(), Some("10.0.0.1"));
        assert_eq!(v["ansible_port"].as_i64(), Some(2222));
        assert_eq!(
            v["ansible_ssh_common_args"].as_str(),
            Some("-o ProxyJump=b")
        );
        assert_eq!(
            v["ansible_ssh_private_key_file"].as_str(),
            Some("~/.ssh/id")
        );
        // `true` and `false` are not Python literals: they stay text, as in Ansible, and the
        // executor reads them with Ansible's boolean rules.
        assert_eq!(v["ansible_become"].as_str(), Some("true"));
        assert_eq!(v["ansible_host_key_checking"].as_str(), Some("false"));
        for k in ["ansible_user", "ansible_password", "ansible_connection"] {
            assert!(v[k].as_str().is_some(), "{k}");
        }
        assert!(i.host_vars("nobody").is_empty());
    }

    #[test]
    fn hostile_input_is_an_error_or_text_never_a_crash() {
        let err = Inventory::from_ini("h", "[g]\nh[0:99999999999]\n").unwrap_err();
        assert!(err.message.contains("more than"), "{err}");
        let err = Inventory::from_ini("h", "[g]\nh[0:9223372036854775807:1]\n").unwrap_err();
        assert!(err.message.contains("more than"), "{err}");
        let deep = format!("[g]\nh x={}1{}\n", "[".repeat(5000), "]".repeat(5000));
        let i = inv(&deep);
        assert!(i.host_vars("h")["x"].as_str().is_some());
        // A long chain of groups: nothing walks it recursively.
        let mut text = String::new();
        for n in 0..3000 {
            text.push_str(&format!("[g{n}:children]\ng{}\n", n + 1));
        }
        text.push_str("[g3000]\nleaf\n");
        let i = inv(&text);
        assert_eq!(i.depth("g3000"), 3001);
        assert_eq!(i.group_hosts("g0"), vec!["leaf"]);
        assert!(i.host_vars("leaf").contains_key("inventory_file"));
    }

    #[test]
    fn implicit_localhost_has_local_connection() {
        let i = inv("[all:vars]\nx=1\n[g]\nh\n");
        assert!(i.is_implicit("localhost"));
        assert!(!i.is_implicit("h"));
        let v = i.host_vars("localhost");
        assert_eq!(v["ansible_connection"].as_str(), Some("local"));
        assert_eq!(v["x"].as_i64(), Some(1));
    }
}
