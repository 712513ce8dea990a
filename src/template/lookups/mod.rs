//! Lookups: `lookup(name, terms...)`, `query(...)`/`q(...)` and the `with_<name>` loops built on
//! them, plus the other globals Ansible adds to Jinja (`now()`, Python's `dict()`).
//!
//! Lookups run on the controller, as Ansible's do. Relative paths are searched the way Ansible
//! searches them: in each directory of the task's search path (`ansible_search_path` when the
//! executor sets it, else the role's `role_path` and the playbook's directory, read from the
//! `playbook_dir` variable), first under the lookup's subdirectory (`files/`, `templates/`),
//! then directly. A lookup's result is munged as Ansible's `lookup()` munges it (one item
//! unwrapped, several strings joined with commas) unless `wantlist=True` or `query` is used.
//! Errors name the lookup and say what went wrong; `errors='warn'|'ignore'` turn them into
//! `None` (or `[]` with wantlist). The password lookup never puts the secret in a message.
//!
//! This file owns what every lookup shares: the call protocol above, the search path and the
//! table of plugins (`run_plugin`). The plugins live by topic: `files` (reading the
//! controller's files and commands), `vars`, `items` (the loop shapers), `password`;
//! `globals` has the functions that are not lookups.

mod files;
mod globals;
mod items;
mod password;
mod vars;

use super::crypt;
use super::filters::py_str;
use crate::value::{self, Value};
use minijinja::value::{Kwargs, Object, Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Registers `lookup`, `query`, `q` and the other global functions.
pub fn register(env: &mut Environment<'static>) {
    env.add_function(
        "lookup",
        |state: &State, name: String, args: Rest<ValueOrKwargs>| {
            call(state, &name, &args.into_values(), false)
        },
    );
    env.add_function(
        "query",
        |state: &State, name: String, args: Rest<ValueOrKwargs>| {
            call(state, &name, &args.into_values(), true)
        },
    );
    env.add_function(
        "q",
        |state: &State, name: String, args: Rest<ValueOrKwargs>| {
            call(state, &name, &args.into_values(), true)
        },
    );
    globals::register(env);
}

/// Runs a `with_<name>` loop's lookup: `terms` is the loop's list (or single value) and
/// `action` the task's module name (first_found looks in `templates/`, `vars/` or `files/`
/// depending on it, as Ansible does). Returns the list of items.
pub fn loop_items(
    name: &str,
    terms: &Value,
    action: &str,
    ctx: &Value,
) -> Result<Value, crate::diagnostics::Error> {
    let overlay = Overlay::value(
        [
            ("__baton_lookup".to_string(), Value::from(name)),
            ("__baton_terms".to_string(), terms.clone()),
            ("__baton_action".to_string(), Value::from(action)),
        ]
        .into_iter()
        .collect(),
        ctx.clone(),
    );
    let expr = "query(__baton_lookup, __baton_with=__baton_action, __baton_terms=__baton_terms)";
    super::eval_expression(expr, &overlay)
        .map_err(|e| e.context(format!("in the with_{name} loop")))
}

/// A variable scope with a few variables on top (they win over the scope's own).
#[derive(Debug)]
pub struct Overlay {
    pub extra: indexmap::IndexMap<String, Value>,
    pub base: Value,
}

impl Overlay {
    /// `base` with `extra` on top, as a value to template against.
    pub fn value(extra: indexmap::IndexMap<String, Value>, base: Value) -> Value {
        Value::from_object(Overlay { extra, base })
    }
}

impl Object for Overlay {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(v) = key.as_str().and_then(|k| self.extra.get(k)) {
            return Some(v.clone());
        }
        let v = self.base.get_item(key).ok()?;
        (!v.is_undefined()).then_some(v)
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        let mut keys: Vec<Value> = self.extra.keys().map(|k| Value::from(k.as_str())).collect();
        if let Ok(it) = self.base.try_iter() {
            keys.extend(it);
        }
        minijinja::value::Enumerator::Values(keys)
    }
}

/// What a lookup plugin sees: the template state (for variables) and how it was invoked.
struct Ctx<'a, 'b, 'c> {
    state: &'a State<'b, 'c>,
    /// For `with_first_found`: the task's action.
    with_action: Option<String>,
}

impl Ctx<'_, '_, '_> {
    fn var(&self, name: &str) -> Option<Value> {
        self.state.lookup(name).filter(|v| !v.is_undefined())
    }

    /// The playbook's directory (relative paths in lookups start there).
    fn basedir(&self) -> PathBuf {
        match self
            .var("playbook_dir")
            .and_then(|v| v.as_str().map(PathBuf::from))
        {
            Some(p) => p,
            None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }

    /// The directories a relative path is looked up in.
    fn search_path(&self) -> Vec<PathBuf> {
        if let Some(paths) = self.var("ansible_search_path")
            && paths.kind() == ValueKind::Seq
            && let Ok(it) = paths.try_iter()
        {
            return it.map(|p| PathBuf::from(py_str(&p))).collect();
        }
        let mut out = Vec::new();
        if let Some(r) = self.var("role_path") {
            out.push(PathBuf::from(py_str(&r)));
        }
        out.push(self.basedir());
        out
    }

    /// Ansible's `find_file_in_search_path`: `dir/subdir/needle`, then `dir/needle`, for each
    /// directory of the search path (which holds the task's own directory) and finally the
    /// playbook's directory.
    fn find_file(&self, subdir: Option<&str>, needle: &str) -> Option<PathBuf> {
        if needle.starts_with('/') || needle.starts_with('~') {
            let p = PathBuf::from(expand_home(needle));
            return p.exists().then(|| normalize(&p));
        }
        let first = needle.split('/').next().unwrap_or("");
        let in_role = self.var("role_path").is_some();
        let mut candidates = Vec::new();
        let mut dirs = self.search_path();
        dirs.push(self.basedir());
        for dir in dirs {
            // A directory under a role's tasks/ (an included file's): the role's subdir and
            // tasks/ itself come first, as in ansible's path_dwim_relative_stack.
            if in_role && let Some(tasks) = dir.parent().filter(|p| p.ends_with("tasks")) {
                if let Some(role) = tasks.parent() {
                    candidates.push(role.join(subdir.unwrap_or("")).join(needle));
                }
                candidates.push(tasks.join(needle));
            }
            if let Some(sub) = subdir
                && first != sub
            {
                candidates.push(dir.join(sub).join(needle));
            }
            candidates.push(dir.join(needle));
        }
        candidates
            .into_iter()
            .find(|c| c.exists())
            .map(|c| normalize(&c))
    }
}

fn expand_home(p: &str) -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/".into());
    if p == "~" {
        home
    } else if let Some(rest) = p.strip_prefix("~/") {
        format!("{}/{rest}", home.trim_end_matches('/'))
    } else {
        p.to_string()
    }
}

fn normalize(p: &Path) -> PathBuf {
    PathBuf::from(super::filters::normpath(&p.display().to_string()))
}

/// The lookup failed; `msg` says why, without the lookup's name (added by the caller).
struct LookupError(String);

impl From<Error> for LookupError {
    fn from(e: Error) -> Self {
        LookupError(
            e.detail()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
        )
    }
}

impl From<String> for LookupError {
    fn from(s: String) -> Self {
        LookupError(s)
    }
}

type LResult<T> = Result<T, LookupError>;

/// A lookup's terms with the templates in them rendered, as ansible-core 2.19 renders a
/// template in a string it trusts (`lookup('pipe', 'echo {{ x }}')`, the literal being the
/// playbook's own text); data (a string marked untrusted: a template's result, what a host
/// said) is passed on as it is.
fn render_trusted_terms(terms: Vec<Value>) -> Result<Vec<Value>, Error> {
    if !terms.iter().any(is_trusted_template) {
        return Ok(terms);
    }
    let scope = super::current_context().unwrap_or_default();
    terms
        .into_iter()
        .map(|t| match t.as_str() {
            Some(text) if is_trusted_template(&t) => super::render_str(text, &scope)
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.message)),
            _ => Ok(t),
        })
        .collect()
}

fn is_trusted_template(v: &Value) -> bool {
    v.kind() == ValueKind::String && !v.is_safe() && v.as_str().is_some_and(super::is_template)
}

/// `lookup()` / `query()`.
fn call(state: &State, name: &str, args: &[Value], query: bool) -> Result<Value, Error> {
    let (mut terms, kwargs): (Vec<Value>, Option<Kwargs>) = match args.last() {
        Some(last) if last.is_kwargs() => (
            args[..args.len() - 1].to_vec(),
            Some(Kwargs::try_from(last.clone())?),
        ),
        _ => (args.to_vec(), None),
    };
    let kwargs = kwargs.unwrap_or_else(|| Kwargs::from_iter(std::iter::empty::<(String, Value)>()));
    let wantlist = query
        || kwargs
            .get::<Option<Value>>("wantlist")?
            .is_some_and(|w| w.is_true());
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    let with_action: Option<String> = kwargs.get("__baton_with")?;
    terms = render_trusted_terms(terms)?;
    if let Some(t) = kwargs.get::<Option<Value>>("__baton_terms")? {
        terms = match t.kind() {
            ValueKind::Seq => t.try_iter()?.collect(),
            _ => vec![t],
        };
    }
    // An undefined term makes the lookup's result undefined (an error once it is used).
    if terms.iter().any(|t| t.is_undefined()) {
        return Ok(Value::UNDEFINED);
    }
    let name = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    let ctx = Ctx { state, with_action };
    let result = run_plugin(&ctx, name, &terms, &kwargs).and_then(|r| {
        kwargs
            .assert_all_used()
            .map_err(|e| LookupError(e.detail().unwrap_or("unknown option").to_string()))?;
        Ok(r)
    });
    let items = match result {
        Ok(items) => items,
        Err(LookupError(msg)) if msg == "__not_found__" => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("The lookup plugin '{name}' was not found."),
            ));
        }
        Err(LookupError(msg)) => match errors.as_str() {
            "warn" => {
                super::warnings::warn(format!(
                    "An error occurred while running the lookup plugin '{name}': {msg}"
                ));
                return Ok(if wantlist {
                    Value::from(Vec::<Value>::new())
                } else {
                    Value::from(())
                });
            }
            "ignore" => {
                return Ok(if wantlist {
                    Value::from(Vec::<Value>::new())
                } else {
                    Value::from(())
                });
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("The lookup plugin '{name}' failed: {msg}"),
                ));
            }
        },
    };
    // A lookup's results are data (a file's text, a command's output): never templated again.
    let items: Vec<Value> = items.into_iter().map(value::untrusted).collect();
    if wantlist {
        return Ok(Value::from(items));
    }
    Ok(match items.len() {
        0 => Value::from(items),
        1 => items.into_iter().next().unwrap_or_default(),
        _ if items.iter().all(|i| i.kind() == ValueKind::String) => value::untrusted(Value::from(
            items
                .iter()
                .map(|i| i.as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
                .join(","),
        )),
        _ => Value::from(items),
    })
}

fn run_plugin(ctx: &Ctx, name: &str, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    match name {
        "file" => files::file(ctx, terms, kwargs),
        "unvault" => files::unvault(ctx, terms),
        "env" => vars::env_lookup(terms, kwargs),
        "config" => vars::config(terms),
        "template" => files::template(ctx, terms, kwargs),
        "pipe" => files::pipe(ctx, terms, false),
        "lines" => files::pipe(ctx, terms, true),
        "first_found" => files::first_found(ctx, terms, kwargs),
        "fileglob" => files::fileglob(ctx, terms),
        "vars" => vars::vars(ctx, terms, kwargs),
        "items" => Ok(items::flatten_once(terms)?),
        "list" => Ok(terms.to_vec()),
        "indexed_items" => Ok(items::flatten_once(terms)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| Value::from(vec![Value::from(i), v]))
            .collect()),
        "dict" => items::dict_items(terms),
        "sequence" => items::sequence(terms, kwargs),
        "nested" | "cartesian" => items::nested(terms),
        "together" => items::together(terms),
        "random_choice" => {
            if terms.is_empty() {
                return Ok(Vec::new());
            }
            let i = crypt::os_random_below(terms.len())?;
            Ok(vec![terms[i].clone()])
        }
        "password" => password::password(ctx, terms, kwargs),
        _ => Err(LookupError("__not_found__".into())),
    }
}

fn str_terms(terms: &[Value]) -> LResult<Vec<String>> {
    terms
        .iter()
        .map(|t| match t.kind() {
            ValueKind::String | ValueKind::Number | ValueKind::Bool => Ok(py_str(t)),
            other => Err(LookupError(format!(
                "the term must be a string, got {other}: {}",
                py_str(t)
            ))),
        })
        .collect()
}

fn kw_bool(kwargs: &Kwargs, name: &str, default: bool) -> LResult<bool> {
    Ok(kwargs
        .get::<Option<Value>>(name)?
        .map(|v| {
            super::filters::bool_filter(v.clone()) || (v.kind() == ValueKind::Bool && v.is_true())
        })
        .unwrap_or(default))
}

/// What the lookups' tests share: a playbook directory to search.
#[cfg(test)]
mod test_support {
    use crate::value::{self, Value};
    use std::path::{Path, PathBuf};

    pub(super) fn ctx_with(dir: &Path) -> Value {
        value::map([("playbook_dir", Value::from(dir.display().to_string()))])
    }

    pub(super) fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("baton-lookups-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("files")).unwrap();
        d
    }
}
