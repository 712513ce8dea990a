//! Variables: what a task sees, in Ansible's precedence, templated lazily when used.
//!
//! A [`VarStore`] holds the variables of a run that outlive a task: what inventory gives each
//! host, facts, registered results and `set_fact`s, and extra vars. For each task the executor asks
//! it for a [`Scope`]: the layers in precedence order (lowest first) plus the magic variables.
//! A scope is a minijinja object, so templates read straight from it; a value is templated only
//! when something reads it, and may refer to other variables (a loop between them is an error,
//! not a hang). `hostvars` is a lazy object too: `hostvars['web1'].x` builds web1's scope on demand.

use crate::inventory::Inventory;
use crate::template;
use crate::value::{self, Value, Vars};
use minijinja::value::{Enumerator, Object};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// Each host's own layers (by host name).
pub type PerHostLayers = HashMap<String, Vec<Arc<Vars>>>;

/// The variables of plays, roles, blocks and tasks, in three bands by precedence: below
/// inventory (role defaults), between facts and registered results (play vars, vars_files, role
/// vars, block and task vars), and above them (role and include parameters). Lowest first in
/// each band.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    pub low: Vec<Arc<Vars>>,
    pub mid: Vec<Arc<Vars>>,
    pub high: Vec<Arc<Vars>>,
    /// Layers that differ from host to host (a play's `vars_files` templated with host
    /// variables), in the middle band before the layer at the index.
    pub per_host: Option<(usize, Arc<PerHostLayers>)>,
}

impl Layers {
    /// Adds a layer to the middle band (block and task vars), if it has anything.
    pub fn with_mid(&self, vars: &Arc<Vars>) -> Layers {
        let mut l = self.clone();
        if !vars.is_empty() {
            l.mid.push(vars.clone());
        }
        l
    }
}

/// Run-wide variables, shared by every task.
#[derive(Debug)]
pub struct VarStore {
    /// The inventory; `add_host` and `group_by` change it during a run
    /// ([`VarStore::update_inventory`]).
    inventory: RwLock<Arc<Inventory>>,
    /// What inventory gives each host, computed once (and again after the inventory changed).
    inventory_vars: RwLock<HashMap<String, Arc<Vars>>>,
    facts: RwLock<HashMap<String, Arc<Vars>>>,
    /// `register` and `set_fact` results, per host.
    host_vars: RwLock<HashMap<String, Arc<Vars>>>,
    /// What `include_vars` read, per host: just below `set_fact` and registered results
    /// (ansible-core's `_vars_cache`).
    included_vars: RwLock<HashMap<String, Arc<Vars>>>,
    pub extra: Arc<Vars>,
    groups: RwLock<Value>,
    /// Variables every scope gets (playbook_dir, ansible_check_mode, ...).
    pub globals: RwLock<Arc<Vars>>,
    /// The changes `add_host` and `group_by` made, in order: made again on the inventory
    /// `meta: refresh_inventory` reads afresh, as ansible-core replays its dynamic hosts and
    /// groups.
    dynamic: std::sync::Mutex<DynamicChanges>,
}

/// One change to the inventory, kept to be made again.
pub type InventoryEdit = Arc<dyn Fn(&mut Inventory) + Send + Sync>;

/// The inventory changes a run made ([`VarStore::update_inventory_kept`]).
#[derive(Default)]
struct DynamicChanges(Vec<InventoryEdit>);

impl std::fmt::Debug for DynamicChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} inventory changes", self.0.len())
    }
}

impl VarStore {
    pub fn new(inventory: Arc<Inventory>, extra: Vars) -> Arc<VarStore> {
        let inventory_vars = inventory
            .hosts
            .keys()
            .map(|h| (h.clone(), Arc::new(inventory.host_vars(h))))
            .collect();
        let groups = inventory.groups_value();
        Arc::new(VarStore {
            inventory: RwLock::new(inventory),
            inventory_vars: RwLock::new(inventory_vars),
            facts: RwLock::default(),
            host_vars: RwLock::default(),
            included_vars: RwLock::default(),
            extra: Arc::new(extra),
            groups: RwLock::new(groups),
            globals: RwLock::default(),
            dynamic: Default::default(),
        })
    }

    /// Keeps a change the run made to the inventory (`add_host`, `group_by`, already made
    /// through [`VarStore::update_inventory`]), to be made again on a refreshed inventory
    /// ([`VarStore::replace_inventory`]).
    pub fn keep_inventory_edit(&self, edit: InventoryEdit) {
        self.dynamic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .push(edit);
    }

    /// `meta: refresh_inventory`: the inventory read afresh from its sources replaces the one
    /// in use, and the changes the run made to it are made again.
    pub fn replace_inventory(&self, fresh: Inventory) {
        let edits = self
            .dynamic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone();
        {
            let mut guard = self.inventory.write().unwrap_or_else(|e| e.into_inner());
            *guard = Arc::new(fresh);
        }
        self.update_inventory(|inv| {
            for edit in &edits {
                edit(inv);
            }
        });
    }

    /// The inventory as it is now.
    pub fn inventory(&self) -> Arc<Inventory> {
        self.inventory
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Changes the inventory for the rest of the run (`add_host`, `group_by`), then reconciles
    /// it as Ansible does (new groups under `all`, `ungrouped` kept right); `groups`, `hostvars`
    /// and every host's inventory variables follow. Changes are made one at a time.
    pub fn update_inventory<R>(&self, change: impl FnOnce(&mut Inventory) -> R) -> R {
        let mut guard = self.inventory.write().unwrap_or_else(|e| e.into_inner());
        let inv = Arc::make_mut(&mut guard);
        let r = change(inv);
        inv.finish();
        *self.groups.write().unwrap_or_else(|e| e.into_inner()) = inv.groups_value();
        // Group membership or host variables changed: recomputed when next asked for.
        self.inventory_vars
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        r
    }

    /// What inventory says about a host (group vars in order, then host vars).
    pub fn inventory_vars(&self, host: &str) -> Arc<Vars> {
        if let Some(v) = self
            .inventory_vars
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
        {
            return v.clone();
        }
        let inventory = self.inventory();
        if !inventory.hosts.contains_key(host) && !inventory.is_implicit(host) {
            return Arc::default();
        }
        let vars = Arc::new(inventory.host_vars(host));
        self.inventory_vars
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string(), vars.clone());
        vars
    }

    /// Sets a registered result or fact-like variable on a host, for the rest of the run.
    /// What is set here was computed during the run (a module's result, a templated `set_fact`):
    /// it is data, never templated again ([`value::untrusted`]).
    pub fn set_host_var(&self, host: &str, key: &str, value: Value) {
        let value = value::untrusted(value);
        let mut all = self.host_vars.write().unwrap_or_else(|e| e.into_inner());
        let entry = all.entry(host.to_string()).or_default();
        Arc::make_mut(entry).insert(key.to_string(), value);
    }

    /// Sets variables that `include_vars` read from a file the user wrote: like a vars file, they
    /// may be templates, rendered when used (the one setter that does not mark its values as
    /// data).
    pub fn set_host_var_from_file(&self, host: &str, key: &str, value: Value) {
        let mut all = self
            .included_vars
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let entry = all.entry(host.to_string()).or_default();
        Arc::make_mut(entry).insert(key.to_string(), value);
    }

    /// Adds facts to a host's facts, as Ansible's set_host_facts does (a later `setup` with a
    /// filter does not forget the others); gives the host's facts after.
    pub fn merge_facts(&self, host: &str, facts: Vars) -> Arc<Vars> {
        // Facts are what a host said about itself: data ([`value::untrusted`]).
        let facts = value::untrusted_vars(facts);
        let mut all = self.facts.write().unwrap_or_else(|e| e.into_inner());
        let entry = all.entry(host.to_string()).or_default();
        Arc::make_mut(entry).extend(facts);
        entry.clone()
    }

    /// A host's facts.
    pub fn facts_of(&self, host: &str) -> Arc<Vars> {
        self.host_facts(host)
    }

    /// Replaces a host's gathered facts.
    pub fn set_facts(&self, host: &str, facts: Vars) {
        let facts = value::untrusted_vars(facts);
        let mut all = self.facts.write().unwrap_or_else(|e| e.into_inner());
        all.insert(host.to_string(), Arc::new(facts));
    }

    pub fn set_global(&self, key: &str, value: Value) {
        let mut g = self.globals.write().unwrap_or_else(|e| e.into_inner());
        Arc::make_mut(&mut g).insert(key.to_string(), value);
    }

    fn dynamic(&self, host: &str) -> Arc<Vars> {
        let all = self.host_vars.read().unwrap_or_else(|e| e.into_inner());
        all.get(host).cloned().unwrap_or_default()
    }

    fn host_facts(&self, host: &str) -> Arc<Vars> {
        let all = self.facts.read().unwrap_or_else(|e| e.into_inner());
        all.get(host).cloned().unwrap_or_default()
    }

    /// The scope a task on `host` sees: `layers` from the play down to the task, and `magic`,
    /// the per-task magic variables.
    pub fn scope(self: &Arc<Self>, host: &str, extra_layers: &Layers, magic: Vars) -> Value {
        self.scope_of(host, extra_layers, magic, true)
    }

    /// The variables of a play with no host (ansible-core's `get_vars(play=play)`): the
    /// play's layers, the extra vars and the run's globals; no inventory, facts or host
    /// variables. What play-level keywords (the play's name, tags) are templated with.
    pub fn play_scope(self: &Arc<Self>, layers: &Layers) -> Value {
        let mut all = Vec::with_capacity(layers.low.len() + layers.mid.len() + 3);
        all.extend(layers.low.iter().cloned());
        all.extend(layers.mid.iter().cloned());
        all.extend(layers.high.iter().cloned());
        all.push(self.extra.clone());
        let mut magic = Vars::new();
        for (k, v) in self
            .globals
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            magic.insert(k.clone(), v.clone());
        }
        magic.insert(
            "groups".into(),
            self.groups
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        );
        all.push(Arc::new(magic));
        Value::from_object(Scope {
            layers: all,
            cache: Mutex::default(),
        })
    }

    /// A scope; `for_task` false is what `hostvars[host]` holds, Ansible's `HostVarsVars`: the
    /// host's variables without `hostvars` itself (nor `omit`), so that a whole `hostvars`
    /// value is finite when it is written out, and `hostvars` is undefined in the templates of
    /// another host's variables, as in Ansible.
    fn scope_of(
        self: &Arc<Self>,
        host: &str,
        extra_layers: &Layers,
        magic: Vars,
        for_task: bool,
    ) -> Value {
        let mut layers = Vec::with_capacity(extra_layers.low.len() + extra_layers.mid.len() + 8);
        layers.extend(extra_layers.low.iter().cloned());
        layers.push(self.inventory_vars(host));
        let facts = self.host_facts(host);
        if facts.is_empty() {
            // Ansible defines `ansible_facts` (empty) before any fact is known.
            let mut empty = Vars::new();
            empty.insert("ansible_facts".to_string(), value::from_vars(&Vars::new()));
            layers.push(Arc::new(empty));
        } else {
            let mut with_prefix = Vars::new();
            with_prefix.insert("ansible_facts".to_string(), value::from_vars(&facts));
            for (k, v) in facts.iter() {
                // `ansible_local` keeps its name inside ansible_facts and as a variable.
                let name = if k.starts_with("ansible_") {
                    k.clone()
                } else {
                    format!("ansible_{k}")
                };
                // clean_facts: a fact never sets a connection variable or `ansible_facts`.
                if !restricted_fact(&name) {
                    with_prefix.insert(name, v.clone());
                }
            }
            layers.push(Arc::new(with_prefix));
        }
        for (i, layer) in extra_layers.mid.iter().enumerate() {
            if let Some((at, files)) = &extra_layers.per_host
                && *at == i
            {
                layers.extend(files.get(host).into_iter().flatten().cloned());
            }
            layers.push(layer.clone());
        }
        if let Some((at, files)) = &extra_layers.per_host
            && *at >= extra_layers.mid.len()
        {
            layers.extend(files.get(host).into_iter().flatten().cloned());
        }
        if let Some(included) = self
            .included_vars
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
        {
            layers.push(included.clone());
        }
        layers.push(self.dynamic(host));
        layers.extend(extra_layers.high.iter().cloned());
        layers.push(self.extra.clone());
        let mut magic = magic;
        magic.insert("inventory_hostname".into(), Value::from(host));
        magic.insert(
            "inventory_hostname_short".into(),
            Value::from(host.split('.').next().unwrap_or(host)),
        );
        magic.insert(
            "group_names".into(),
            self.inventory()
                .group_names(host)
                .into_iter()
                .map(Value::from)
                .collect(),
        );
        magic.insert(
            "groups".into(),
            self.groups
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        );
        if for_task {
            magic.insert(
                "hostvars".into(),
                Value::from_object(HostVars {
                    store: self.clone(),
                }),
            );
        }
        for (k, v) in self
            .globals
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            magic.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if for_task {
            magic
                .entry("omit".into())
                .or_insert_with(|| Value::from(OMIT));
        }
        layers.push(Arc::new(magic));
        Value::from_object(Scope {
            layers,
            cache: Mutex::default(),
        })
    }
}

/// The placeholder `omit` renders to; a module argument equal to it is dropped.
pub const OMIT: &str = "__omit_place_holder__baton__";

/// The variables one task on one host sees.
#[derive(Debug)]
pub struct Scope {
    /// Lowest precedence first.
    layers: Vec<Arc<Vars>>,
    /// Values already templated, so a variable used twice is templated once.
    cache: Mutex<HashMap<String, Value>>,
}

thread_local! {
    /// The variables being templated right now on this thread, to catch loops between them.
    static RESOLVING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

impl Scope {
    fn raw(&self, key: &str) -> Option<&Value> {
        self.layers.iter().rev().find_map(|l| l.get(key))
    }
}

/// A variable's value as written, not templated (ansible-core's `resolve_to_container`: the
/// list a variable holds, its items left for their user to evaluate); `None` when `scope` is
/// not a variable scope or has no such variable.
pub fn untemplated(scope: &Value, name: &str) -> Option<Value> {
    scope.downcast_object_ref::<Scope>()?.raw(name).cloned()
}

impl Object for Scope {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        if let Some(v) = self.cache.lock().ok()?.get(key) {
            return Some(v.clone());
        }
        // `vars`: every variable this scope sees, by name (ansible-core keeps it for backwards
        // compatibility: `vars['name']`, `vars[some_name_in_a_var]`).
        if key == "vars" && self.raw(key).is_none() {
            return Some(Value::from_dyn_object(self.clone()));
        }
        let raw = self.raw(key)?.clone();
        if !template::needs_templating(&raw) {
            return Some(raw);
        }
        // A `!vault` value nobody can decrypt is Ansible's VaultExceptionMarker: it fails where
        // it is used, not where it is looked up (`x | type_debug` works).
        if crate::value::vaulted::undecryptable(&raw).is_some() {
            return Some(raw);
        }
        let looping = RESOLVING.with(|r| r.borrow().iter().any(|k| k == key));
        if looping {
            return Some(Value::from(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!(
                    "recursive loop detected in template: the variable '{key}' refers to itself"
                ),
            )));
        }
        RESOLVING.with(|r| r.borrow_mut().push(key.to_string()));
        let ctx = Value::from_dyn_object(self.clone());
        let result = template::render_value(&raw, &ctx);
        RESOLVING.with(|r| r.borrow_mut().pop());
        match result {
            Ok(v) => {
                if let Ok(mut c) = self.cache.lock() {
                    c.insert(key.to_string(), v.clone());
                }
                Some(v)
            }
            // A variable built on something undefined is itself undefined, as in Ansible: so
            // `x is defined` is false and `x | default(...)` applies. A hint (`undef('why')`)
            // stays with it, to be told where the variable is used.
            Err(e) if e.kind == crate::diagnostics::ErrorKind::Undefined => {
                if !e.message.ends_with("is undefined") {
                    template::note_undefined(e.message);
                }
                None
            }
            Err(e) => Some(Value::from(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("{} (in the variable '{key}')", e.message),
            ))),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = Vec::new();
        for layer in &self.layers {
            for k in layer.keys() {
                let k = Value::from(k.as_str());
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        Enumerator::Values(keys)
    }
}

/// `hostvars`: every inventory host's variables, built when asked for.
#[derive(Debug)]
struct HostVars {
    store: Arc<VarStore>,
}

impl Object for HostVars {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let host = key.as_str()?;
        // The implicit localhost is there too when asked for by name, as Ansible's
        // `inventory.get_host` makes it up (it is not listed with the inventory's hosts).
        let inventory = self.store.inventory();
        if !inventory.hosts.contains_key(host) && !inventory.is_implicit(host) {
            return None;
        }
        // Another host's variables: inventory, facts, registered results, extra vars; not the
        // current play's or task's variables, which belong to the host being run.
        let mut magic = Vars::new();
        magic.insert("inventory_hostname".into(), Value::from(host));
        Some(self.store.scope_of(host, &Layers::default(), magic, false))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.store
                .inventory()
                .hosts
                .keys()
                .map(|h| Value::from(h.as_str()))
                .collect(),
        )
    }
}

/// ansible-core's `clean_facts`: a fact that may not become a variable of its name (its
/// `ansible_` name here), because it would set a connection or become setting, an interpreter,
/// or a reserved result key (`ansible_facts` itself). SSH host keys are kept.
pub fn restricted_fact(name: &str) -> bool {
    const MAGIC: &[&str] = &[
        "ansible_connection",
        "ansible_module_compression",
        "ansible_shell_type",
        "ansible_shell_executable",
        "ansible_ssh_host",
        "ansible_host",
        "ansible_ssh_user",
        "ansible_user",
        "ansible_ssh_pass",
        "ansible_password",
        "ansible_ssh_port",
        "ansible_port",
        "ansible_ssh_pipelining",
        "ansible_pipelining",
        "ansible_ssh_timeout",
        "ansible_timeout",
        "ansible_ssh_private_key_file",
        "ansible_private_key_file",
        "ansible_network_os",
        "ansible_connection_user",
        "ansible_ssh_executable",
        "ansible_ssh_common_args",
        "ansible_sftp_extra_args",
        "ansible_scp_extra_args",
        "ansible_ssh_extra_args",
        "ansible_ssh_transfer_method",
        "ansible_docker_extra_args",
        "ansible_become",
        "ansible_become_method",
        "ansible_become_user",
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_become_exe",
        "ansible_become_flags",
        "ansible_rsync_path",
        "ansible_playbook_python",
        "ansible_facts",
        "add_host",
        "add_group",
    ];
    const CONNECTIONS: &[&str] = &[
        "local",
        "paramiko_ssh",
        "_paramiko_ssh",
        "psrp",
        "ssh",
        "winrm",
    ];
    if name.starts_with("ansible_ssh_host_key_") {
        return false;
    }
    let connection_var = CONNECTIONS.iter().any(|c| {
        name.strip_prefix("ansible_")
            .and_then(|r| r.strip_prefix(c))
            .is_some_and(|r| r.starts_with('_'))
    }) && !name.ends_with("_bridge")
        && !name.ends_with("_gwbridge");
    MAGIC.contains(&name)
        || connection_var
        || name.starts_with("ansible_become_")
        || name.starts_with("ansible_") && name.ends_with("_interpreter") && name.len() >= 20
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Source;

    fn store() -> Arc<VarStore> {
        let mut inv = Inventory::default();
        crate::inventory::ini::parse(
            &Source::new(
                "i",
                "[web]\nw1 port=80 url='http://{{ inventory_hostname }}:{{ port }}'\nw2 port=81\n",
            ),
            &mut inv,
        )
        .unwrap();
        inv.finish();
        VarStore::new(Arc::new(inv), Vars::new())
    }

    #[test]
    fn values_are_templated_lazily_against_their_scope() {
        let s = store();
        let scope = s.scope("w1", &Layers::default(), Vars::new());
        let out = template::render_text("{{ url }}", &scope).unwrap();
        assert_eq!(out, "http://w1:80");
        let other = template::render_text("{{ hostvars['w2'].port }}", &scope).unwrap();
        assert_eq!(other, "81");
    }

    #[test]
    fn registered_results_and_facts_are_data_not_templates() {
        let s = store();
        let evil = "{{ lookup('pipe', 'id') }}";
        s.set_host_var(
            "w1",
            "r",
            value::map([
                ("stdout", Value::from(evil)),
                ("lines", Value::from(vec![Value::from(evil)])),
            ]),
        );
        let mut facts = Vars::new();
        facts.insert("env".into(), value::map([("EVIL", Value::from(evil))]));
        s.merge_facts("w1", facts);
        let scope = s.scope("w1", &Layers::default(), Vars::new());
        for expr in [
            "{{ r.stdout }}",
            "{{ r.lines[0] }}",
            "{{ ansible_env.EVIL }}",
            "{{ ansible_facts.env.EVIL }}",
        ] {
            assert_eq!(template::render_text(expr, &scope).unwrap(), evil, "{expr}");
        }
        // A variable the user wrote that refers to them still renders, once.
        let mut layer = Vars::new();
        layer.insert("v".into(), Value::from("got {{ r.stdout }}"));
        let scope = s.scope(
            "w1",
            &Layers::default().with_mid(&Arc::new(layer)),
            Vars::new(),
        );
        assert_eq!(
            template::render_text("{{ v }}", &scope).unwrap(),
            format!("got {evil}")
        );
    }

    #[test]
    fn loops_between_variables_are_errors() {
        let s = store();
        let mut layer = Vars::new();
        layer.insert("a".into(), Value::from("{{ b }}"));
        layer.insert("b".into(), Value::from("{{ a }}"));
        let scope = s.scope(
            "w1",
            &Layers::default().with_mid(&Arc::new(layer)),
            Vars::new(),
        );
        let err = template::render_text("{{ a }}", &scope).unwrap_err();
        assert!(err.message.contains("recursive loop"), "{err}");
    }

    #[test]
    fn precedence_task_over_play_over_inventory_extra_over_all() {
        let mut inv = Inventory::default();
        inv.add_host("h", "g");
        inv.set_host_var("h", "x", Value::from("inv"));
        inv.finish();
        let mut extra = Vars::new();
        extra.insert("y".into(), Value::from("extra"));
        let s = VarStore::new(Arc::new(inv), extra);
        let mut play = Vars::new();
        play.insert("x".into(), Value::from("play"));
        play.insert("y".into(), Value::from("play"));
        let mut task = Vars::new();
        task.insert("x".into(), Value::from("task"));
        let layers = Layers::default()
            .with_mid(&Arc::new(play))
            .with_mid(&Arc::new(task));
        let scope = s.scope("h", &layers, Vars::new());
        assert_eq!(
            template::render_text("{{ x }} {{ y }}", &scope).unwrap(),
            "task extra"
        );
    }
}
