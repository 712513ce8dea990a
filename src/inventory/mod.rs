//! The inventory: which hosts exist, how they are grouped, and the variables inventory gives them.
//!
//! This module owns the model ([`Inventory`], [`Host`], [`Group`]), loading it from the sources a
//! user names with `-i`, variable merging in Ansible's order (`all` first, parents before children,
//! then `ansible_group_priority`, then name; host vars last), and host patterns ([`pattern`]).
//! Parsers for the file formats live beside it and only ever call the builder methods here.

pub mod command;
pub mod ini;
pub mod pattern;

use crate::diagnostics::{Error, ErrorKind, Source};
use crate::value::{Value, Vars};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// One host as the inventory knows it.
#[derive(Debug, Clone, Default)]
pub struct Host {
    pub name: String,
    /// Variables set on the host itself (inline or in `[host]` form).
    pub vars: Vars,
    /// Groups the host was put in directly, in order.
    pub groups: Vec<String>,
}

/// One group.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub name: String,
    pub vars: Vars,
    /// Hosts put in this group directly, in order.
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub parents: Vec<String>,
}

/// Hosts and groups, in the order they were first seen.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// Directories of the sources, where `group_vars/` and `host_vars/` are looked for.
    pub dirs: Vec<PathBuf>,
}

impl Default for Inventory {
    fn default() -> Self {
        let mut inv = Inventory {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            dirs: Vec::new(),
        };
        inv.add_group("all");
        inv.add_group("ungrouped");
        inv
    }
}

impl Inventory {
    /// Loads and merges every source given with `-i`: files, or comma-separated host lists.
    pub fn load(sources: &[String]) -> Result<Inventory, Error> {
        let mut inv = Inventory::default();
        for src in sources {
            if src.contains(',') && !Path::new(src).exists() {
                for name in src.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (name, port) = ini::split_host_port(name);
                    inv.add_host(&name, "ungrouped");
                    if let Some(port) = port {
                        inv.set_host_var(&name, "ansible_port", Value::from(port));
                    }
                }
                continue;
            }
            let path = Path::new(src);
            let source = Source::read(path)
                .map_err(|e| e.context(format!("while reading the inventory source {src}")))?;
            ini::parse(&source, &mut inv)?;
            if let Some(dir) = path.parent() {
                inv.dirs.push(dir.to_path_buf());
            }
        }
        inv.finish();
        Ok(inv)
    }

    pub fn add_group(&mut self, name: &str) {
        if !self.groups.contains_key(name) {
            self.groups.insert(
                name.to_string(),
                Group {
                    name: name.to_string(),
                    ..Group::default()
                },
            );
        }
    }

    /// Adds a host (once) and puts it in `group` (once).
    pub fn add_host(&mut self, name: &str, group: &str) {
        self.add_group(group);
        let host = self.hosts.entry(name.to_string()).or_insert_with(|| Host {
            name: name.to_string(),
            ..Host::default()
        });
        if group != "ungrouped" && !host.groups.iter().any(|g| g == group) {
            host.groups.push(group.to_string());
        }
        let g = &mut self.groups[group];
        if !g.hosts.iter().any(|h| h == name) {
            g.hosts.push(name.to_string());
        }
    }

    pub fn add_child(&mut self, parent: &str, child: &str) -> Result<(), Error> {
        if parent == child || self.is_descendant(parent, child) {
            return Err(Error::new(
                ErrorKind::Syntax,
                format!("adding group '{child}' as a child of '{parent}' would make a loop"),
            ));
        }
        self.add_group(parent);
        self.add_group(child);
        if !self.groups[parent].children.iter().any(|c| c == child) {
            self.groups[parent].children.push(child.to_string());
            self.groups[child].parents.push(parent.to_string());
        }
        Ok(())
    }

    /// Whether `group` is below `ancestor` (so adding `ancestor` under it would loop).
    fn is_descendant(&self, group: &str, ancestor: &str) -> bool {
        let Some(g) = self.groups.get(group) else {
            return false;
        };
        g.parents
            .iter()
            .any(|p| p == ancestor || self.is_descendant(p, ancestor))
    }

    pub fn set_host_var(&mut self, host: &str, key: &str, value: Value) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.vars.insert(key.to_string(), value);
        }
    }

    pub fn set_group_var(&mut self, group: &str, key: &str, value: Value) {
        self.add_group(group);
        self.groups[group].vars.insert(key.to_string(), value);
    }

    /// Ansible's reconciliation: top-level groups become children of `all`; a host in no group
    /// but `all` is in `ungrouped`, and only there.
    pub fn finish(&mut self) {
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for name in names {
            if name != "all" && self.groups[&name].parents.is_empty() {
                self.groups["all"].children.push(name.clone());
                self.groups[&name].parents.push("all".to_string());
            }
        }
        let hosts: Vec<(String, bool)> = self
            .hosts
            .values()
            .map(|h| (h.name.clone(), h.groups.is_empty()))
            .collect();
        let ungrouped = &mut self.groups["ungrouped"];
        ungrouped
            .hosts
            .retain(|h| hosts.iter().any(|(n, lone)| n == h && *lone));
        for (name, lone) in hosts {
            if lone && !ungrouped.hosts.contains(&name) {
                ungrouped.hosts.push(name);
            }
        }
    }

    /// How deep a group sits below `all` (`all` is 0), the first key of Ansible's var order.
    pub fn depth(&self, group: &str) -> usize {
        self.groups
            .get(group)
            .map(|g| {
                g.parents
                    .iter()
                    .map(|p| self.depth(p) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    }

    fn priority(&self, group: &str) -> i64 {
        self.groups
            .get(group)
            .and_then(|g| g.vars.get("ansible_group_priority"))
            .and_then(|v| v.as_i64())
            .unwrap_or(1)
    }

    /// Every group the host belongs to, through parents, including `all`, sorted the way
    /// Ansible layers their variables: depth, then priority, then name.
    pub fn host_groups(&self, host: &str) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let mut todo: Vec<String> = match self.hosts.get(host) {
            Some(h) if h.groups.is_empty() => vec!["ungrouped".to_string()],
            Some(h) => h.groups.clone(),
            None => return Vec::new(),
        };
        while let Some(g) = todo.pop() {
            if seen.contains(&g) {
                continue;
            }
            if let Some(group) = self.groups.get(&g) {
                todo.extend(group.parents.iter().cloned());
            }
            seen.push(g);
        }
        if !seen.iter().any(|g| g == "all") {
            seen.push("all".to_string());
        }
        seen.sort_by(|a, b| {
            (self.depth(a), self.priority(a), a.as_str()).cmp(&(
                self.depth(b),
                self.priority(b),
                b.as_str(),
            ))
        });
        seen
    }

    /// The variables inventory gives a host: group vars in Ansible's order, then its own.
    pub fn host_vars(&self, host: &str) -> Vars {
        let mut vars = Vars::new();
        for g in self.host_groups(host) {
            for (k, v) in &self.groups[&g].vars {
                vars.insert(k.clone(), v.clone());
            }
        }
        if let Some(h) = self.hosts.get(host) {
            for (k, v) in &h.vars {
                vars.insert(k.clone(), v.clone());
            }
        }
        vars
    }

    /// `group_names`: the host's groups, sorted, without `all`.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| g != "all")
            .collect();
        names.sort();
        names
    }

    /// The hosts of a group and of all groups below it, in inventory order.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        if group == "all" {
            return self.hosts.keys().cloned().collect();
        }
        let mut members = std::collections::HashSet::new();
        self.collect_hosts(group, &mut members, &mut Vec::new());
        self.hosts
            .keys()
            .filter(|h| members.contains(h.as_str()))
            .cloned()
            .collect()
    }

    fn collect_hosts<'a>(
        &'a self,
        group: &'a str,
        out: &mut std::collections::HashSet<&'a str>,
        seen: &mut Vec<&'a str>,
    ) {
        if seen.contains(&group) {
            return;
        }
        seen.push(group);
        if let Some(g) = self.groups.get(group) {
            out.extend(g.hosts.iter().map(String::as_str));
            for c in &g.children {
                self.collect_hosts(c, out, seen);
            }
        }
    }

    /// The `groups` magic variable: every group with its hosts.
    pub fn groups_value(&self) -> Value {
        crate::value::map(self.groups.keys().map(|g| {
            let hosts: Value = self.group_hosts(g).into_iter().map(Value::from).collect();
            (g.as_str(), hosts)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(text: &str) -> Inventory {
        let mut inv = Inventory::default();
        ini::parse(&Source::new("hosts.ini", text), &mut inv).unwrap();
        inv.finish();
        inv
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
    fn lone_hosts_are_ungrouped() {
        let i = inv("h0\n[g]\nh1\n");
        assert_eq!(i.group_hosts("ungrouped"), vec!["h0"]);
        assert_eq!(i.group_hosts("all"), vec!["h0", "h1"]);
    }
}
