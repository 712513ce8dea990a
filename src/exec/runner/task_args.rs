//! A task's arguments for one host: its `module_defaults` under its own arguments, templated,
//! `omit`ted ones left out, and set_fact's names checked as variable names.

use super::HostJob;
use crate::diagnostics::Error;
use crate::modules;
use crate::template;
use crate::value::{Value, Vars};
use crate::vars::OMIT;
use minijinja::value::ValueKind;

impl HostJob {
    /// The task's arguments templated for this host, `omit`ted ones left out.
    pub(super) fn templated_args(&self, scope: &Value) -> Result<Vars, Error> {
        let args_value = template::render_value(&self.task.args, scope)?;
        let mut args = self.module_defaults(scope)?;
        if let Ok(keys) = args_value.try_iter() {
            for k in keys {
                // set_fact's names may be templates: what they give must be a variable name.
                if self.task.action == "set_fact" && k.as_str() != Some("cacheable") {
                    check_variable_name(&k)?;
                }
                let v = args_value.get_item(&k).unwrap_or_default();
                if v.as_str() == Some(OMIT) {
                    args.shift_remove(&k.to_string());
                    continue;
                }
                args.insert(k.to_string(), v);
            }
        }
        Ok(args)
    }

    /// The `module_defaults` that apply to this task's module, from the play down to the task
    /// (an inner one wins), templated: the task's own arguments override them. `gather_facts`
    /// takes those of the fact module it runs (`setup`), as ansible-core's action does.
    fn module_defaults(&self, scope: &Value) -> Result<Vars, Error> {
        let mut out = Vars::new();
        if self.chain.iter().all(|k| k.module_defaults.is_empty()) {
            return Ok(out);
        }
        let action = modules::canonical(&self.task.action).unwrap_or(&self.task.action);
        let applies = |name: &str| {
            let name = modules::canonical(name).unwrap_or(name);
            name == action || (action == "gather_facts" && name == "setup")
        };
        for kw in self.chain.iter() {
            for entry in &kw.module_defaults {
                let entry = template::render_value(entry, scope)?;
                let Ok(keys) = entry.try_iter() else {
                    continue;
                };
                // The fact module's defaults first, so gather_facts' own win.
                let mut keys: Vec<Value> =
                    keys.filter(|k| k.as_str().is_some_and(applies)).collect();
                keys.sort_by_key(|k| k.as_str().map(|n| modules::canonical(n) == Some(action)));
                for k in keys {
                    let defaults = entry.get_item(&k).unwrap_or_default();
                    if let Ok(names) = defaults.try_iter() {
                        for n in names {
                            let v = defaults.get_item(&n).unwrap_or_default();
                            out.insert(n.to_string(), v);
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A name set_fact sets must be a variable name (ansible-core's `validate_variable_name`).
fn check_variable_name(k: &Value) -> Result<(), Error> {
    let text = match k.as_str() {
        Some(s) if crate::playbook::load::is_variable_name(s) => return Ok(()),
        Some(s) => format!("name '{s}'"),
        None => {
            let ty = match k.kind() {
                ValueKind::Number if k.as_i64().is_some() => "int",
                ValueKind::Number => "float",
                ValueKind::Bool => "bool",
                ValueKind::None | ValueKind::Undefined => "NoneType",
                ValueKind::Seq => "list",
                ValueKind::Map => "dict",
                _ => "str",
            };
            let shown = match k.kind() {
                ValueKind::Bool => if k.is_true() { "True" } else { "False" }.to_string(),
                ValueKind::None | ValueKind::Undefined => "None".to_string(),
                ValueKind::Number => k.to_string(),
                _ => String::new(),
            };
            if shown.is_empty() {
                format!("name of type '{ty}'")
            } else {
                format!("name '{shown}' of type '{ty}'")
            }
        }
    };
    Err(Error::new(
        crate::diagnostics::ErrorKind::Syntax,
        format!("Invalid variable {text}."),
    ))
}
