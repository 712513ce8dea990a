//! What a task's arguments and keywords are for one host: templated in its scope, `omit`
//! leaving an argument out or a keyword unset (the inherited value counting), and templated
//! layers of arguments (`args: "{{ mapping }}"`, a module given one template) under the ones
//! the task sets itself, as ansible's `TaskArgsFinalizer` layers them; `module_defaults`
//! under all of them; set_fact's names checked as variable names.

use super::*;
use crate::vars::OMIT;

impl HostJob {
    /// The innermost keyword set, templated in `scope`; one that templates to `omit` is as if
    /// it were not set, and the next one out counts.
    pub(super) fn kw_in(
        &self,
        get: impl Fn(&Keywords) -> &Option<Value>,
        scope: &Value,
    ) -> Result<Option<Value>, Error> {
        for v in self.chain.iter().rev().filter_map(|k| get(k).as_ref()) {
            let v = template::render_value(v, scope)?;
            if v.as_str() != Some(OMIT) {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// The task's arguments templated for this host, `omit`ted ones left out.
    /// A templated `args:` (argument splatting) gives the arguments the task does not.
    pub(super) fn templated_args(&self, scope: &Value) -> Result<Vars, Error> {
        let args_value = template::render_value(&self.task.args, scope)?;
        let mut args = Vars::new();
        let mut splat = None;
        let mut raw_splat = None;
        let mut omitted: Vec<String> = Vec::new();
        // A module without free-form arguments given one template (`assert: "{{ item }}"`):
        // the template is its arguments, above `args:` and under those the task sets.
        let raw_is_splat = crate::modules::free_form(&self.task.action)
            == crate::modules::FreeForm::No
            && self
                .task
                .args
                .get_attr("_raw_params")
                .ok()
                .and_then(|v| v.as_str().map(str::trim).map(str::to_string))
                .is_some_and(|t| t.starts_with("{{") && t.ends_with("}}"));
        if let Ok(keys) = args_value.try_iter() {
            for k in keys {
                let v = args_value.get_item(&k).unwrap_or_default();
                if k.as_str() == Some(crate::playbook::load::ARGS_SPLAT) {
                    splat = Some(v);
                    continue;
                }
                if raw_is_splat && k.as_str() == Some("_raw_params") {
                    raw_splat = Some(v);
                    continue;
                }
                // set_fact's names may be templates: what they give must be a variable name.
                if self.task.action == "set_fact" && k.as_str() != Some("cacheable") {
                    check_variable_name(&k)?;
                }
                if v.as_str() == Some(OMIT) {
                    omitted.push(k.to_string());
                    continue;
                }
                args.insert(k.to_string(), v);
            }
        }
        for layer in [raw_splat, splat].into_iter().flatten() {
            self.splat_args(&mut args, layer)?;
        }
        // module_defaults under everything the task gives (an omitted argument stays unset).
        for (k, v) in self.module_defaults(scope)? {
            if !args.contains_key(&k) && !omitted.contains(&k) {
                args.insert(k, v);
            }
        }
        // assert's `that` holds conditions, evaluated as such: only a whole template that
        // renders a list is templated first, a list is taken as it is (ansible-core's assert
        // `finalize_task_arg`); so are `ansible._protomatter.debug`'s expressions.
        let action = crate::modules::canonical(&self.task.action);
        let untemplated = match action {
            Some("assert") => Some("that"),
            Some("ansible._protomatter.debug") => Some("expression"),
            _ => None,
        };
        if let Some(name) = untemplated
            && let Ok(raw) = self.task.args.get_attr(name)
            && (raw.kind() == ValueKind::Seq || name == "expression")
        {
            args.insert(name.into(), raw);
        } else if action == Some("assert")
            && let Ok(that) = self.task.args.get_attr("that")
            && that.kind() == ValueKind::String
        {
            let all_template = that
                .as_str()
                .is_some_and(|t| t.trim_start().starts_with("{{") && t.trim_end().ends_with("}}"));
            let renders_list = all_template
                && matches!(
                    template::render_value(&that, scope).map(|v| v.kind()),
                    Ok(ValueKind::Seq)
                );
            if !renders_list {
                args.insert("that".into(), that);
            } else if let Some(list) = that
                .as_str()
                .and_then(|t| template::single_expression(t.trim()))
                .and_then(|name| crate::vars::untemplated(scope, name))
                .filter(|v| v.kind() == ValueKind::Seq)
            {
                // `that: "{{ conditions }}"`: the list itself, its conditions unevaluated.
                args.insert("that".into(), list);
            }
        }
        Ok(args)
    }

    /// The `module_defaults` that apply to this task's module, from the play down to the task
    /// (an inner one wins), templated: the task's own arguments override them. (`gather_facts`
    /// gives each fact module it runs that module's own, [`HostJob::defaults_for_module`].)
    fn module_defaults(&self, scope: &Value) -> Result<Vars, Error> {
        self.defaults_for_module(&self.task.action, scope)
    }

    /// The `module_defaults` of a module by name (its short name, `ansible.builtin.` or
    /// `ansible.legacy.` name, or a collection's full name).
    pub(super) fn defaults_for_module(&self, module: &str, scope: &Value) -> Result<Vars, Error> {
        let mut out = Vars::new();
        if self.chain.iter().all(|k| k.module_defaults.is_empty()) {
            return Ok(out);
        }
        let short = |name: &str| -> String {
            let bare = name
                .strip_prefix("ansible.builtin.")
                .or_else(|| name.strip_prefix("ansible.legacy."))
                .unwrap_or(name);
            modules::canonical(bare).unwrap_or(bare).to_string()
        };
        let action = short(module);
        let applies = |name: &str| short(name) == action;
        for kw in self.chain.iter() {
            for entry in &kw.module_defaults {
                let entry = template::render_value(entry, scope)?;
                let Ok(keys) = entry.try_iter() else {
                    continue;
                };
                let keys: Vec<Value> = keys.filter(|k| k.as_str().is_some_and(applies)).collect();
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

    /// Adds the arguments of a templated layer (`args:`, a module's one template) that are not
    /// set already.
    fn splat_args(&self, args: &mut Vars, layer: Value) -> Result<(), Error> {
        match Some(layer) {
            Some(v) if v.as_str() == Some(OMIT) => {}
            Some(v) if v.kind() == ValueKind::Map => {
                for k in v.try_iter().into_iter().flatten() {
                    let item = v.get_item(&k).unwrap_or_default();
                    let key = k.to_string();
                    if item.as_str() != Some(OMIT) && !args.contains_key(&key) {
                        args.insert(key, item);
                    }
                }
            }
            Some(v) => {
                return Err(Error::new(
                    crate::diagnostics::ErrorKind::Template,
                    format!(
                        "Finalization of task args for '{}' failed: Task args must resolve to a 'dict' not '{}'.",
                        self.task.action,
                        template::filters::py_type(&v)
                    ),
                ));
            }
            None => {}
        }
        Ok(())
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
