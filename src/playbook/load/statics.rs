//! What the loader templates itself, before any host is known: the names of static imports
//! (`import_playbook`, `import_tasks`, `import_role`) and `import_playbook`'s keywords.
//!
//! ansible-core templates them while it loads, with the variables it knows then: the vars of
//! the play being loaded (with those of the `import_playbook`s that brought it in) and the
//! extra vars. No inventory, facts or host variables: those need a host.

use super::Loader;
use crate::diagnostics::{Error, Span};
use crate::value::{Value, Vars};
use crate::vars::{Layers, VarStore};
use std::sync::Arc;

impl Loader {
    /// The variables a static template sees now.
    fn static_scope(&self) -> Value {
        let store = VarStore::new(Arc::default(), (*self.extra_vars).clone());
        let known = self
            .static_vars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let layers = Layers {
            mid: vec![Arc::new(known)],
            ..Layers::default()
        };
        store.play_scope(&layers)
    }

    /// Templates a value written where ansible-core templates it while loading.
    pub fn template_static(&self, v: &Value, span: &Span) -> Result<Value, Error> {
        if !crate::template::needs_templating(v) {
            return Ok(v.clone());
        }
        crate::template::render_value(v, &self.static_scope()).map_err(|e| e.at(span))
    }

    /// Templates the name of a static import (a file or a role).
    pub fn template_static_name(&self, name: &str, span: &Span) -> Result<String, Error> {
        if !crate::template::is_template(name) {
            return Ok(name.to_string());
        }
        Ok(self.template_static(&Value::from(name), span)?.to_string())
    }

    /// Runs `f` with `vars` known to static templates (a play's vars while its tasks load, an
    /// import_playbook's while its plays load), then forgets them again.
    pub fn with_static_vars<R>(&self, vars: &Vars, f: impl FnOnce() -> R) -> R {
        let saved = {
            let mut known = self.static_vars.lock().unwrap_or_else(|e| e.into_inner());
            let saved = known.clone();
            known.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            saved
        };
        let out = f();
        *self.static_vars.lock().unwrap_or_else(|e| e.into_inner()) = saved;
        out
    }
}
