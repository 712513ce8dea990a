//! The `gather_facts` action (the implicit "Gathering Facts" task and an explicit one), as
//! ansible-core's plugins/action/gather_facts.py runs it: the fact modules of FACTS_MODULES
//! (`ansible_facts_modules`, ANSIBLE_FACTS_MODULES, ansible.cfg `facts_modules`; `smart` by
//! default, which stands for `setup` or the network OS's facts module), run one after another
//! or side by side (`parallel`), their facts merged in order (dictionaries deeply, lists
//! appended with earlier duplicates removed), failed and skipped modules reported by name.
//!
//! `setup` is baton's native module; any other fact module runs as the Python module
//! ansible-core finds (a playbook's `library/`, collections).

use super::{HostJob, Implementation};
use crate::modules::{self, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::template::{self, filters};
use crate::value::{self, Value, Vars};
use std::time::Duration;

/// ansible-core's `C._ACTION_SETUP`: the names that are the setup module.
const SETUP: [&str; 3] = ["setup", "ansible.builtin.setup", "ansible.legacy.setup"];

/// CONNECTION_FACTS_MODULES' default: the facts module of each network OS.
const NETWORK_FACTS: [(&str, &str); 24] = [
    ("asa", "ansible.legacy.asa_facts"),
    ("cisco.asa.asa", "cisco.asa.asa_facts"),
    ("eos", "ansible.legacy.eos_facts"),
    ("arista.eos.eos", "arista.eos.eos_facts"),
    ("frr", "ansible.legacy.frr_facts"),
    ("frr.frr.frr", "frr.frr.frr_facts"),
    ("ios", "ansible.legacy.ios_facts"),
    ("cisco.ios.ios", "cisco.ios.ios_facts"),
    ("iosxr", "ansible.legacy.iosxr_facts"),
    ("cisco.iosxr.iosxr", "cisco.iosxr.iosxr_facts"),
    ("junos", "ansible.legacy.junos_facts"),
    (
        "junipernetworks.junos.junos",
        "junipernetworks.junos.junos_facts",
    ),
    ("nxos", "ansible.legacy.nxos_facts"),
    ("cisco.nxos.nxos", "cisco.nxos.nxos_facts"),
    ("vyos", "ansible.legacy.vyos_facts"),
    ("vyos.vyos.vyos", "vyos.vyos.vyos_facts"),
    ("exos", "ansible.legacy.exos_facts"),
    ("extreme.exos.exos", "extreme.exos.exos_facts"),
    ("slxos", "ansible.legacy.slxos_facts"),
    ("extreme.slxos.slxos", "extreme.slxos.slxos_facts"),
    ("voss", "ansible.legacy.voss_facts"),
    ("extreme.voss.voss", "extreme.voss.voss_facts"),
    ("ironware", "ansible.legacy.ironware_facts"),
    (
        "community.network.ironware",
        "community.network.ironware_facts",
    ),
];

/// What one fact module gave.
enum Ran {
    Facts(Outcome),
    Skipped(Vars),
    Failed(Vars),
}

impl HostJob {
    /// Runs the gather_facts action with its templated arguments on the host of `ctx`.
    pub(super) async fn gather_facts(
        &self,
        mut args: Vars,
        ctx: &ModuleCtx,
        scope: &Value,
    ) -> ModuleResult {
        let mut warnings: Vec<String> = Vec::new();
        let mut names = self.facts_modules(scope);
        handle_smart(&mut names, &args, scope, &mut warnings)?;
        // As the action: the argument is taken out whether or not the variable wins.
        let parallel_arg = args.shift_remove("parallel");
        // Read by `handle_smart` above; no fact module takes it.
        args.shift_remove("network_os");
        let parallel = match scope
            .get_attr("ansible_facts_parallel")
            .ok()
            .filter(|v| !v.is_undefined())
            .or(parallel_arg)
        {
            Some(v) if !v.is_none() => template::filters::bool_filter(v),
            _ => names.len() > 1,
        };
        let timeout = args
            .get("gather_timeout")
            .and_then(|t| t.as_i64().or_else(|| t.as_str()?.trim().parse().ok()))
            .filter(|t| *t > 0)
            .map(|t| Duration::from_secs(t as u64));
        let mut jobs = Vec::with_capacity(names.len());
        for name in &names {
            let mod_args = self.fact_module_args(name, &args, scope, &mut warnings)?;
            // A module that does not take gather_timeout itself is stopped at it when the
            // modules run side by side (ansible runs them async, with the timeout as limit).
            let mut ctx = ctx.clone();
            if parallel && timeout.is_some() && !mod_args.contains_key("gather_timeout") {
                ctx.timeout = timeout;
            }
            jobs.push((name.clone(), mod_args, ctx));
        }
        let ran: Vec<(String, Ran)> = if parallel {
            let mut set = tokio::task::JoinSet::new();
            for (i, (name, a, c)) in jobs.into_iter().enumerate() {
                let job = self.clone();
                set.spawn(async move {
                    let r = job.run_fact_module(&name, a, &c).await;
                    (i, name, r)
                });
            }
            let mut done = Vec::with_capacity(names.len());
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok(r) => done.push(r),
                    Err(e) => {
                        return Err(ModuleError::Failed(format!(
                            "a fact module stopped unexpectedly: {e}"
                        )));
                    }
                }
            }
            done.sort_by_key(|(i, _, _)| *i);
            done.into_iter().map(|(_, n, r)| (n, r)).collect()
        } else {
            let mut out = Vec::with_capacity(jobs.len());
            for (name, a, c) in &jobs {
                out.push((name.clone(), self.run_fact_module(name, a.clone(), c).await));
            }
            out
        };
        let mut facts = serde_json::Value::Object(Default::default());
        let mut module_warnings: Vec<serde_json::Value> = Vec::new();
        let mut deprecations: Vec<serde_json::Value> = Vec::new();
        let (mut skipped, mut failed) = (Vars::new(), Vars::new());
        for (name, r) in ran {
            match r {
                Ran::Facts(mut o) => {
                    let got = o.facts.take().unwrap_or_default();
                    // The action's `merge_hash(..., list_merge='append_rp')`.
                    let got = value::to_json(&value::from_vars(&got));
                    filters::merge_json(&mut facts, got, true, "append_rp");
                    for (key, acc) in [
                        ("warnings", &mut module_warnings),
                        ("deprecations", &mut deprecations),
                    ] {
                        if let Some(serde_json::Value::Array(list)) =
                            o.rest.get(key).map(value::to_json)
                        {
                            filters::append_rp(acc, list);
                        }
                    }
                }
                Ran::Skipped(r) => {
                    skipped.insert(name, value::from_vars(&r));
                }
                Ran::Failed(r) => {
                    failed.insert(name, value::from_vars(&r));
                }
            }
        }
        let mut facts: Vars = match facts {
            serde_json::Value::Object(m) => m
                .iter()
                .map(|(k, v)| (k.clone(), value::from_json(v)))
                .collect(),
            _ => Vars::new(),
        };
        facts.insert("_ansible_facts_gathered".into(), Value::from(true));
        let mut out = Outcome {
            facts: Some(facts),
            ..Outcome::ok()
        };
        if !skipped.is_empty() {
            let list: Vec<&str> = skipped.keys().map(String::as_str).collect();
            out.msg = Some(Value::from(format!(
                "The following modules were skipped: {}.",
                list.join(", ")
            )));
            out.skipped = skipped.len() == names.len();
            out.rest
                .insert("skipped_modules".into(), value::from_vars(&skipped));
        }
        if !failed.is_empty() {
            let list: Vec<&str> = failed.keys().map(String::as_str).collect();
            out.failed = true;
            out.msg = Some(Value::from(format!(
                "The following modules failed to execute: {}.",
                list.join(", ")
            )));
            out.rest
                .insert("failed_modules".into(), value::from_vars(&failed));
        }
        let mut all_warnings: Vec<Value> = warnings.into_iter().map(Value::from).collect();
        all_warnings.extend(module_warnings.iter().map(value::from_json));
        if !all_warnings.is_empty() {
            out.rest
                .insert("warnings".into(), Value::from(all_warnings));
        }
        if !deprecations.is_empty() {
            out.rest.insert(
                "deprecations".into(),
                value::from_json(&serde_json::Value::Array(deprecations)),
            );
        }
        Ok(out)
    }

    /// FACTS_MODULES for this host: its `ansible_facts_modules`, else the configuration's,
    /// else `smart`.
    fn facts_modules(&self, scope: &Value) -> Vec<String> {
        let from_var = scope
            .get_attr("ansible_facts_modules")
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_none());
        let names: Vec<String> = match from_var {
            Some(v) => match v.as_str() {
                Some(text) => crate::config::split_list(text),
                None => v
                    .try_iter()
                    .map(|i| i.map(|n| n.to_string()).collect())
                    .unwrap_or_default(),
            },
            None => self.opts.facts_modules.clone(),
        };
        if names.is_empty() {
            vec!["smart".to_string()]
        } else {
            names
        }
    }

    /// A fact module's arguments, as the action's `_get_module_args`: the task's, without the
    /// setup-only ones for another module (with a warning when they say something), without
    /// null values, over the module's own module_defaults.
    fn fact_module_args(
        &self,
        name: &str,
        args: &Vars,
        scope: &Value,
        warnings: &mut Vec<String>,
    ) -> Result<Vars, ModuleError> {
        let mut mod_args = args.clone();
        if !SETUP.contains(&name) {
            if let Some(subset) = mod_args.shift_remove("gather_subset") {
                let all = subset.is_none()
                    || subset.as_str() == Some("all")
                    || subset == Value::from(vec![Value::from("all")]);
                if !all {
                    warnings.push(format!(
                        "Not passing subset({}) to {name}",
                        template::filters::py_str(&subset)
                    ));
                }
            }
            for (key, what) in [("gather_timeout", "timeout"), ("filter", "filter")] {
                if let Some(v) = mod_args.shift_remove(key)
                    && !v.is_none()
                {
                    warnings.push(format!(
                        "Not passing {what}({}) to {name}",
                        template::filters::py_str(&v)
                    ));
                }
            }
        }
        mod_args.retain(|_, v| !v.is_none() && !v.is_undefined());
        let defaults = self
            .defaults_for_module(name, scope)
            .map_err(|e| ModuleError::Failed(e.message))?;
        for (k, v) in defaults {
            mod_args.entry(k).or_insert(v);
        }
        Ok(mod_args)
    }

    /// Runs one fact module: baton's own when it has one (and no library/ module of the same
    /// name overrides it), else the Python module ansible-core finds.
    async fn run_fact_module(&self, name: &str, args: Vars, ctx: &ModuleCtx) -> Ran {
        let run = match self.implementation(name).await {
            Ok(Some(Implementation::Native(r))) => modules::invoke(r, args, ctx).await,
            Ok(Some(Implementation::Python(found))) => {
                let opts = modules::python::RunOpts {
                    no_log: self.no_log(),
                    verbosity: self.opts.verbosity,
                    delegated_interpreter: None,
                };
                self.python.run(&found, args, ctx, &opts).await
            }
            Ok(None) => Err(ModuleError::Failed(format!(
                "The module {name} was not found in configured module paths"
            ))),
            Err(m) => Err(ModuleError::Failed(m)),
        };
        match run {
            Ok(o) if o.failed => Ran::Failed(o.into_result()),
            Ok(o) if o.skipped => Ran::Skipped(o.into_result()),
            Ok(o) => Ran::Facts(o),
            // As async_wrapper leaves a job stopped at its time limit.
            Err(ModuleError::TimedOut(_)) => Ran::Failed(failed_result("Timeout exceeded")),
            Err(e) => Ran::Failed(failed_result(&e.message())),
        }
    }
}

fn failed_result(msg: &str) -> Vars {
    let mut r = Vars::new();
    r.insert("failed".into(), Value::from(true));
    r.insert("msg".into(), Value::from(msg));
    r
}

/// The action's `_handle_smart`: `smart` becomes the network OS's facts module, or `setup`
/// when there is no network OS and no setup among the modules.
fn handle_smart(
    names: &mut Vec<String>,
    args: &Vars,
    scope: &Value,
    warnings: &mut Vec<String>,
) -> Result<(), ModuleError> {
    let Some(at) = names.iter().position(|n| n == "smart") else {
        return Ok(());
    };
    names.remove(at);
    let defined = |v: Value| (!v.is_undefined() && !v.is_none()).then_some(v);
    let network_os = args
        .get("network_os")
        .cloned()
        .and_then(defined)
        .or_else(|| scope.get_attr("ansible_network_os").ok().and_then(defined))
        .or_else(|| {
            scope
                .get_attr("ansible_facts")
                .and_then(|f| f.get_attr("network_os"))
                .ok()
                .and_then(defined)
        })
        .map(|v| template::filters::py_str(&v))
        .filter(|v| !v.is_empty());
    let has_setup = names.iter().any(|n| SETUP.contains(&n.as_str()));
    match network_os {
        Some(os) => {
            if let Some((_, module)) = NETWORK_FACTS.iter().find(|(k, _)| *k == os) {
                names.push(module.to_string());
            } else if names.is_empty() {
                return Err(ModuleError::Failed(format!(
                    "No fact modules available and we could not find a fact module for your network OS ({os}), try setting one via the `FACTS_MODULES` configuration."
                )));
            }
            if has_setup {
                warnings.push(
                    "Detected 'setup' module and a network OS is set, the output when running it will reflect 'localhost' and not the target when a networking connection plugin is used."
                        .to_string(),
                );
            }
        }
        None if !has_setup => names.push("ansible.legacy.setup".to_string()),
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_merge_as_ansible_merges_them() {
        let mut x =
            serde_json::json!({"d": {"one": 1, "two": 1}, "l": ["one", "three", "five"], "s": "x"});
        filters::merge_json(
            &mut x,
            serde_json::json!({"d": {"two": 2, "four": 2}, "l": ["one", "two", "four"], "s": "y"}),
            true,
            "append_rp",
        );
        assert_eq!(
            x,
            serde_json::json!({"d": {"one": 1, "two": 2, "four": 2}, "l": ["three", "five", "one", "two", "four"], "s": "y"})
        );
    }

    #[test]
    fn smart_is_setup_without_a_network_os() {
        let scope = value::from_json(&serde_json::json!({}));
        let mut names = vec!["smart".to_string(), "facts_one".to_string()];
        let mut warnings = Vec::new();
        handle_smart(&mut names, &Vars::new(), &scope, &mut warnings).unwrap();
        assert_eq!(names, ["facts_one", "ansible.legacy.setup"]);
        let scope = value::from_json(&serde_json::json!({"ansible_network_os": "N/A"}));
        let mut names = vec!["smart".to_string()];
        let e = handle_smart(&mut names, &Vars::new(), &scope, &mut warnings).unwrap_err();
        assert!(e.message().contains("No fact modules available"), "{e:?}");
        let mut names = vec!["smart".to_string(), "setup".to_string()];
        handle_smart(&mut names, &Vars::new(), &scope, &mut warnings).unwrap();
        assert_eq!(names, ["setup"]);
        assert!(
            warnings[0].contains("Detected 'setup' module"),
            "{warnings:?}"
        );
    }
}
