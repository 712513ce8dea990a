//! Reading a finished inventory: group depths, a host's groups in Ansible's order, its
//! variables layered in Ansible's precedence (`host_vars`, `group_vars`), implicit
//! `localhost`, and group membership (`group_names`, `groups`).

use super::*;

impl Inventory {
    /// How deep a group sits below `all` (`all` is 0), the first key of Ansible's var order.
    pub fn depth(&self, group: &str) -> usize {
        self.groups.get(group).map_or(0, |g| g.depth)
    }

    /// Every group the host belongs to, directly or through parents (`all` included).
    pub(super) fn host_group_set(&self, host: &str) -> HashSet<&str> {
        let mut seen = HashSet::new();
        let Some(h) = self.hosts.get(host) else {
            return seen;
        };
        let mut todo: Vec<&str> = h.groups.iter().map(String::as_str).collect();
        while let Some(g) = todo.pop() {
            if seen.insert(g)
                && let Some(grp) = self.groups.get(g)
            {
                todo.extend(grp.parents.iter().map(String::as_str));
            }
        }
        seen
    }

    /// The host's groups other than `all`, sorted the way Ansible layers their variables:
    /// depth, then priority, then name.
    pub(super) fn sorted_groups(&self, host: &str) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self
            .host_group_set(host)
            .into_iter()
            .filter(|g| *g != "all")
            .filter_map(|g| self.groups.get(g))
            .collect();
        groups.sort_by(|a, b| {
            (a.depth, a.priority, a.name.as_str()).cmp(&(b.depth, b.priority, b.name.as_str()))
        });
        groups
    }

    /// Every group the host belongs to, `all` first, in variable order.
    pub fn host_groups(&self, host: &str) -> Vec<String> {
        let mut out = vec!["all".to_string()];
        out.extend(self.sorted_groups(host).iter().map(|g| g.name.clone()));
        out
    }

    /// The variables inventory gives a host, in Ansible's precedence (see the module doc).
    pub fn host_vars(&self, host: &str) -> Vars {
        let implicit = self.implicit_host(host);
        let Some(h) = self.hosts.get(host).or(implicit.as_ref()) else {
            return Vars::new();
        };
        let groups = self.sorted_groups(host);
        let vars = self.group_layers(&groups);
        self.host_layers(h, vars)
    }

    /// [`Inventory::host_vars`] of many hosts at once. Hosts in the same groups share the
    /// group layers, which are merged once per distinct set of groups rather than per host.
    pub fn host_vars_many<'a>(&self, hosts: impl IntoIterator<Item = &'a str>) -> Vec<Vars> {
        let mut cache: HashMap<Vec<&str>, Vars> = HashMap::new();
        let mut out = Vec::new();
        for host in hosts {
            let Some(h) = self.hosts.get(host) else {
                out.push(self.host_vars(host));
                continue;
            };
            let groups = self.sorted_groups(host);
            let key: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
            let base = cache
                .entry(key)
                .or_insert_with(|| self.group_layers(&groups))
                .clone();
            out.push(self.host_layers(h, base));
        }
        out
    }

    /// `all`'s own vars, the other groups' own vars, then `group_vars/all` and
    /// `group_vars/<group>` from the inventory's directories and then the playbook's.
    pub(super) fn group_layers(&self, groups: &[&Group]) -> Vars {
        let mut vars = Vars::new();
        extend(&mut vars, &self.groups["all"].vars);
        for g in groups {
            extend(&mut vars, &g.vars);
        }
        for vd in self.inventory_vars.iter().chain(&self.playbook_vars) {
            if let Some(v) = vd.group("all") {
                extend(&mut vars, v);
            }
        }
        for dirs in [&self.inventory_vars, &self.playbook_vars] {
            for vd in dirs {
                for g in groups {
                    if let Some(v) = vd.group(&g.name) {
                        extend(&mut vars, v);
                    }
                }
            }
        }
        vars
    }

    /// The host's own variables, then `host_vars/<host>` from the inventory's directories and
    /// then the playbook's, over the group layers.
    pub(super) fn host_layers(&self, h: &Host, mut vars: Vars) -> Vars {
        source_vars(&mut vars, h);
        extend(&mut vars, &h.vars);
        for vd in self.inventory_vars.iter().chain(&self.playbook_vars) {
            if let Some(v) = vd.host(&h.name) {
                extend(&mut vars, v);
            }
        }
        vars
    }

    /// A group's own variables with the `group_vars/` files for it, the way `ansible-inventory
    /// --export` shows a group (priority included when it is not 1).
    pub fn group_vars(&self, group: &str, with_playbook_dir: bool) -> Vars {
        let mut vars = Vars::new();
        let Some(g) = self.groups.get(group) else {
            return vars;
        };
        vars.extend(g.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        let dirs = self.inventory_vars.iter().chain(if with_playbook_dir {
            &self.playbook_vars[..]
        } else {
            &[]
        });
        for vd in dirs {
            if let Some(v) = vd.group(group) {
                vars.extend(v.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        if g.priority != 1 {
            vars.insert("ansible_group_priority".into(), Value::from(g.priority));
        }
        vars
    }

    /// A host's own variables with the `host_vars/` files for it (`ansible-inventory --export`).
    pub fn own_host_vars(&self, host: &str, with_playbook_dir: bool) -> Vars {
        let mut vars = Vars::new();
        let Some(h) = self.hosts.get(host) else {
            return vars;
        };
        source_vars(&mut vars, h);
        vars.extend(h.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        let dirs = self.inventory_vars.iter().chain(if with_playbook_dir {
            &self.playbook_vars[..]
        } else {
            &[]
        });
        for vd in dirs {
            if let Some(v) = vd.host(host) {
                vars.extend(v.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        vars
    }

    /// The implicit `localhost` Ansible makes up when a pattern names it and the inventory does
    /// not: connection `local`, the controller's Python (`ansible_playbook_python`, as ansible
    /// sets `sys.executable`), the variables of `all`.
    pub(super) fn implicit_host(&self, name: &str) -> Option<Host> {
        if self.hosts.contains_key(name) || !LOCALHOST.contains(&name) {
            return None;
        }
        let mut vars = Vars::new();
        vars.insert("ansible_connection".into(), Value::from("local"));
        vars.insert(
            "ansible_python_interpreter".into(),
            Value::from("{{ ansible_playbook_python }}"),
        );
        Some(Host {
            name: name.to_string(),
            vars,
            implicit: true,
            ..Host::default()
        })
    }

    /// Whether `name` is the implicit localhost (selected by a pattern, not in the inventory).
    pub fn is_implicit(&self, name: &str) -> bool {
        self.implicit_host(name).is_some()
    }

    /// `inventory_hostname_short`: the name up to the first dot, or the whole name when it is
    /// an IP address.
    pub fn hostname_short(name: &str) -> &str {
        if address::is_ip_address(name) {
            name
        } else {
            name.split('.').next().unwrap_or(name)
        }
    }

    /// `group_names`: the host's groups, sorted, without `all`.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .host_group_set(host)
            .into_iter()
            .filter(|g| *g != "all")
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    /// The groups below `group`, `group` first, in the order Ansible walks them: the group, its
    /// children, then each further level. (Ansible walks a level as a set, so when two groups
    /// of one level both have children its order varies between runs; this is the order in
    /// which the groups were written.)
    pub fn descendants(&self, group: &str) -> Vec<&str> {
        let Some(g) = self.groups.get(group) else {
            return Vec::new();
        };
        let mut ordered: Vec<&str> = vec![g.name.as_str()];
        ordered.extend(g.children.iter().map(String::as_str));
        let mut seen: HashSet<&str> = ordered.iter().copied().collect();
        let mut level: Vec<&str> = ordered.clone();
        while !level.is_empty() {
            let mut next: Vec<&str> = Vec::new();
            for l in &level {
                for c in &self.groups[*l].children {
                    if !seen.contains(c.as_str()) && !next.contains(&c.as_str()) {
                        next.push(c.as_str());
                    }
                }
            }
            ordered.extend(next.iter().copied());
            seen.extend(next.iter().copied());
            level = next;
        }
        ordered
    }

    /// The hosts of a group and of all groups below it, in Ansible's order (see
    /// [`Inventory::descendants`]).
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out = Vec::new();
        for kid in self.descendants(group) {
            for h in &self.groups[kid].hosts {
                if seen.insert(h.as_str()) {
                    if group == "all" && self.hosts.get(h).is_some_and(|h| h.implicit) {
                        continue;
                    }
                    out.push(h.clone());
                }
            }
        }
        out
    }

    /// The `groups` magic variable: every group with its hosts.
    pub fn groups_value(&self) -> Value {
        crate::value::map(self.groups.keys().map(|g| {
            let hosts: Value = self.group_hosts(g).into_iter().map(Value::from).collect();
            (g.as_str(), hosts)
        }))
    }
}
