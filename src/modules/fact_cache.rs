//! The fact cache: Ansible's `jsonfile` cache plugin, so facts gathered in one run are there in
//! the next (`fact_caching = jsonfile`, `fact_caching_connection = DIR`) and `gathering = smart`
//! can skip hosts already known.
//!
//! Files are ansible-core 2.19's: `DIR/<prefix>s1_<host>` holding `{"__payload__": "<JSON of the
//! facts>"}`, facts with their `ansible_` names, expired `fact_caching_timeout` seconds after
//! they were written (0: never). baton and ansible-playbook can share one cache directory.
//! Ansible's tagged values (`{"__ansible_type": ..., "value": ...}`) are read as their value.

use crate::value::{self, Vars};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A `jsonfile` fact cache directory.
#[derive(Debug, Clone)]
pub struct FactCache {
    dir: PathBuf,
    prefix: String,
    timeout: u64,
}

/// Ansible's `namespace_facts`: the names facts have inside `ansible_facts` (the `ansible_`
/// prefix taken off, except for `ansible_local`).
pub fn namespace_facts(facts: &Vars) -> Vars {
    facts
        .iter()
        .map(|(k, v)| match k.strip_prefix("ansible_") {
            Some(rest) if k != "ansible_local" => (rest.to_string(), v.clone()),
            _ => (k.clone(), v.clone()),
        })
        .collect()
}

pub use crate::vars::restricted_fact;

/// The other way: facts as the setup module returns them and the cache stores them.
pub fn prefix_facts(facts: &Vars) -> Vars {
    facts
        .iter()
        .map(|(k, v)| {
            if k.starts_with("ansible_")
                || k.starts_with('_')
                || matches!(
                    k.as_str(),
                    "gather_subset" | "module_setup" | "discovered_interpreter_python"
                )
            {
                (k.clone(), v.clone())
            } else {
                (format!("ansible_{k}"), v.clone())
            }
        })
        .collect()
}

/// Ansible 2.19 tags some values; the cache stores them as objects with `__ansible_type`.
fn untag(j: serde_json::Value) -> serde_json::Value {
    match j {
        serde_json::Value::Object(mut m) => {
            if m.contains_key("__ansible_type")
                && let Some(v) = m.remove("value")
            {
                return untag(v);
            }
            serde_json::Value::Object(m.into_iter().map(|(k, v)| (k, untag(v))).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(untag).collect()),
        other => other,
    }
}

impl FactCache {
    pub fn new(dir: &Path, prefix: &str, timeout: u64) -> FactCache {
        FactCache {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            timeout,
        }
    }

    /// The cache the configuration asks for: `jsonfile` with a directory (Ansible's
    /// `fact_caching`, `fact_caching_connection`, `fact_caching_prefix`,
    /// `fact_caching_timeout`, default one day). The `memory` cache is what every run has.
    pub fn from_config(cfg: &crate::config::Config) -> Option<FactCache> {
        let plugin = cfg.fact_caching.as_deref()?;
        if !matches!(plugin, "jsonfile" | "ansible.builtin.jsonfile") {
            return None;
        }
        let dir = cfg.fact_caching_connection.as_ref()?;
        Some(FactCache::new(
            dir,
            cfg.fact_caching_prefix.as_deref().unwrap_or(""),
            cfg.fact_caching_timeout.unwrap_or(86400),
        ))
    }

    fn path(&self, host: &str) -> PathBuf {
        self.dir.join(format!("{}s1_{host}", self.prefix))
    }

    /// The cached facts of `host` (namespaced, as `ansible_facts` holds them), unless missing,
    /// unreadable or expired.
    pub fn load(&self, host: &str) -> Option<Vars> {
        let path = self.path(host);
        let meta = std::fs::metadata(&path).ok()?;
        if self.timeout > 0 {
            let age = meta
                .modified()
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .unwrap_or(Duration::ZERO);
            if age.as_secs() > self.timeout {
                return None;
            }
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let outer: serde_json::Value = serde_json::from_str(&text).ok()?;
        let payload = match outer.get("__payload__").and_then(|p| p.as_str()) {
            Some(p) => serde_json::from_str(p).ok()?,
            None => outer,
        };
        let facts = value::from_json(&untag(payload));
        let vars: Vars = facts
            .try_iter()
            .ok()?
            .map(|k| (k.to_string(), facts.get_item(&k).unwrap_or_default()))
            .collect();
        Some(namespace_facts(&vars))
    }

    /// Writes the facts of `host` (namespaced) to the cache, atomically.
    pub fn store(&self, host: &str, facts: &Vars) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let f = prefix_facts(facts);
        let inner = value::to_json(&value::from_vars(&f)).to_string();
        let outer = serde_json::json!({ "__payload__": inner }).to_string();
        let path = self.path(host);
        let tmp = self.dir.join(format!(
            ".{}s1_{host}.tmp{}",
            self.prefix,
            std::process::id()
        ));
        std::fs::write(&tmp, outer)?;
        std::fs::rename(&tmp, &path)
    }

    /// Forgets the cached facts of `host` (`--flush-cache`); a host with none is fine.
    pub fn remove(&self, host: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(host)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Whether facts of `host` were gathered (gathering marks them), in the cache or in this
    /// run.
    pub fn gathered(facts: &Vars) -> bool {
        facts.contains_key("_ansible_facts_gathered")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn round_trip_in_ansibles_layout() {
        let dir = std::env::temp_dir().join(format!("baton-fc-{}", std::process::id()));
        let cache = FactCache::new(&dir, "", 3600);
        let mut facts = Vars::new();
        facts.insert("hostname".into(), Value::from("web1"));
        facts.insert("_ansible_facts_gathered".into(), Value::from(true));
        facts.insert("ansible_local".into(), Value::from(Vars::new().len()));
        cache.store("web1", &facts).unwrap();
        let text = std::fs::read_to_string(dir.join("s1_web1")).unwrap();
        assert!(text.starts_with("{\"__payload__\":"));
        assert!(text.contains("ansible_hostname"));
        let back = cache.load("web1").unwrap();
        assert_eq!(back["hostname"], Value::from("web1"));
        assert!(back.contains_key("ansible_local"));
        assert!(FactCache::gathered(&back));
        assert!(cache.load("other").is_none());
        // Ansible's tagged strings read as their value.
        std::fs::write(
            dir.join("s1_tagged"),
            r#"{"__payload__": "{\"myfact\": {\"value\": \"1\", \"__ansible_type\": \"_AnsibleTaggedStr\"}}"}"#,
        )
        .unwrap();
        assert_eq!(cache.load("tagged").unwrap()["myfact"], Value::from("1"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
