//! Delegation for one host's task: where `delegate_to` sends it (templated once per loop
//! item), how that host is reached and named, and `ansible_delegated_vars`.

use super::*;

impl HostJob {
    /// The variables a task delegated to `delegate` sees on top of this host's:
    /// `ansible_delegated_vars` (the delegated host's variables under its name, with
    /// `inventory_hostname` still this host's, as ansible-core gives them) and `ansible_host`,
    /// the delegated host's address, since the task's connection variables are its.
    pub(super) fn delegated_layer(&self, delegate: &str, scope: &Value) -> [(String, Value); 2] {
        let theirs = scope
            .get_attr("hostvars")
            .and_then(|h| h.get_item(&Value::from(delegate)))
            .unwrap_or_default();
        let address = Value::from(self.delegated_address(delegate, &theirs));
        let mut mine = indexmap::IndexMap::new();
        mine.insert(
            "inventory_hostname".to_string(),
            Value::from(self.host.as_str()),
        );
        mine.insert("ansible_host".to_string(), address.clone());
        [
            (
                "ansible_delegated_vars".to_string(),
                value::map([(delegate, template::Overlay::value(mine, theirs))]),
            ),
            ("ansible_host".to_string(), address),
        ]
    }

    /// The address a delegated host is reached at: its `ansible_host`, else its name.
    pub(super) fn delegated_address(&self, delegate: &str, theirs: &Value) -> String {
        theirs
            .get_attr("ansible_host")
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_none())
            .map(|v| v.to_string())
            .unwrap_or_else(|| delegate.to_string())
    }

    /// `delegate_to`, templated with this host's variables; `None` when the task runs here.
    pub(super) fn delegate_target(&self, scope: &Value) -> Result<Option<String>, Error> {
        let Some(d) = self.kw(|k| &k.delegate_to) else {
            return Ok(None);
        };
        // A loop item's target is templated once (it may be random) and kept in its scope.
        if let Ok(chosen) = scope.get_attr(ITEM_DELEGATE)
            && let Some(name) = chosen.as_str()
        {
            return Ok((name != self.host).then(|| name.to_string()));
        }
        let name = template::render_value(d, scope)?.to_string();
        Ok((!name.is_empty() && name != self.host).then_some(name))
    }

    /// How ansible-playbook names a delegated host in its output: `name(address)` when the
    /// inventory gives it an address other than its name.
    pub(super) fn delegate_label(&self, delegate: &str) -> String {
        let vars = self.store.inventory_vars(delegate);
        match vars.get("ansible_host").map(|v| v.to_string()) {
            Some(addr) if addr != delegate => format!("{delegate}({addr})"),
            _ => delegate.to_string(),
        }
    }

    /// The `ansible_python_interpreter` of the host a task is delegated to (the controller's
    /// Python for the implicit localhost), templated with that host's variables.
    pub(super) fn delegate_interpreter(&self, delegate: &str) -> Option<String> {
        let mut magic = Vars::new();
        magic.insert("inventory_hostname".into(), Value::from(delegate));
        let known = self.store.inventory().hosts.contains_key(delegate)
            || self.store.inventory().is_implicit(delegate);
        let scope = if known {
            self.store.scope(delegate, &self.layers, magic)
        } else {
            return None;
        };
        let v = scope.get_attr("ansible_python_interpreter").ok()?;
        if v.is_undefined() || v.is_none() {
            return None;
        }
        let text = v.to_string();
        let text = if text.contains("{{") {
            template::render_str(&text, &scope).ok()?.to_string()
        } else {
            text
        };
        (!text.trim().is_empty()).then(|| text.trim().to_string())
    }

    /// How to reach the delegated host: its own inventory variables (or, for a localhost that
    /// the inventory does not name, Ansible's implicit localhost on the local connection).
    pub(super) fn delegate_spec(&self, delegate: &str) -> Result<ConnectSpec, Error> {
        let known = self.store.inventory().hosts.contains_key(delegate);
        if !known && matches!(delegate, "localhost" | "127.0.0.1" | "::1") {
            let mut spec = ConnectSpec::new(delegate);
            spec.transport = Transport::Local;
            return Ok(spec);
        }
        let mut magic = Vars::new();
        magic.insert("inventory_hostname".into(), Value::from(delegate));
        let scope = self.store.scope(delegate, &self.layers, magic);
        let mut spec = self.connect_spec(&scope)?;
        spec.name = delegate.to_string();
        let has_address = scope
            .get_attr("ansible_host")
            .is_ok_and(|v| !v.is_undefined() && !v.is_none());
        if !has_address {
            spec.address = delegate.to_string();
        }
        Ok(spec)
    }
}
