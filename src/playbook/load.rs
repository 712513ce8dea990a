//! Loading a playbook: YAML nodes to the typed model, with Ansible's keyword sets.
//!
//! Every mistake is reported at the node it is about: a keyword a play does not have, a task with
//! no module or two, a module baton does not know, a value of the wrong shape.

use super::model::*;
use super::role;
use crate::diagnostics::{Error, ErrorKind, Source};
use crate::value::{self, Value, Vars};
use crate::yaml::{self, Node, NodeKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod keyword_sets;
use keyword_sets::*;

mod args;
pub use args::{decode_escapes, join_args, parse_free_form, split_args};

mod statics;

mod imports;
pub use imports::push_tags;
use imports::{import_playbook, import_role, import_tasks};

mod task;
use task::*;
pub use task::{ARGS_SPLAT, is_variable_name, keywords, vars_of};

/// A role's name and the names of its dependencies.
pub type RoleNames = (String, Vec<String>);

/// Where playbooks, task files and roles are looked for.
#[derive(Debug, Clone)]
pub struct Loader {
    /// The directory of the top playbook (`playbook_dir`).
    pub playbook_dir: PathBuf,
    /// Extra directories to find roles in (`ANSIBLE_ROLES_PATH`, `roles_path`).
    pub roles_path: Vec<PathBuf>,
    /// Defaults and vars of the roles `import_role` brought into the play being loaded: Ansible
    /// exposes them to the whole play at parse time, as for `roles:`.
    pub imported_role_vars: std::sync::Arc<std::sync::Mutex<(Vars, Vars)>>,
    /// The roles `import_role` brought into the play being loaded, each with its dependencies'
    /// names: they join the play's roles (`ansible_play_role_names`), as in Ansible.
    pub imported_role_names: std::sync::Arc<std::sync::Mutex<Vec<RoleNames>>>,
    /// Handlers of the roles `import_role` brought into the play being loaded: they join the
    /// play's handlers, as in Ansible.
    pub imported_role_handlers: std::sync::Arc<std::sync::Mutex<Vec<Item>>>,
    /// The extra vars (`-e`): static imports are templated with them.
    pub extra_vars: Arc<Vars>,
    /// The variables static templates see besides the extra vars ([`statics`]).
    pub static_vars: Arc<std::sync::Mutex<Vars>>,
    /// Warnings from reading files (duplicate keys), until the run shows them: loading
    /// happens before the run starts and again while it runs (includes, vars files), and the
    /// run's reporter is the one place warnings are shown.
    pub warnings: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The modules baton does not implement, run as Ansible's Python modules: the names met
    /// while loading, resolved by the controller's ansible-core (see [`Loader::resolve_modules`]).
    pub python: Arc<crate::modules::python::Python>,
}

impl Loader {
    /// A loader for a playbook at `path`, with the roles path from `ANSIBLE_ROLES_PATH`.
    pub fn for_playbook(path: &Path) -> Loader {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let roles_path = std::env::var("ANSIBLE_ROLES_PATH")
            .map(|v| {
                v.split(':')
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        let playbook_dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        Loader {
            python: Arc::new(crate::modules::python::Python::new(&playbook_dir)),
            playbook_dir,
            roles_path,
            imported_role_vars: Default::default(),
            imported_role_names: Default::default(),
            extra_vars: Default::default(),
            static_vars: Default::default(),
            imported_role_handlers: Default::default(),
            warnings: Default::default(),
        }
    }

    /// Keeps warnings until [`Loader::take_warnings`].
    pub fn warn(&self, warnings: Vec<String>) {
        if warnings.is_empty() {
            return;
        }
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(warnings);
    }

    /// Asks the controller's ansible-core, in one call, about every module name loading met
    /// that baton does not implement (none: no call); a name it does not know either is the
    /// load-time error ansible-playbook gives.
    pub fn resolve_modules(&self) -> Result<(), Error> {
        self.python.resolve_pending()
    }

    /// The warnings kept so far, in the order found; they are forgotten here.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What loading a list of tasks needs to know about where it is.
pub struct ItemCtx<'a> {
    pub loader: &'a Loader,
    /// The directory of the file being read: relative imports start there.
    pub dir: PathBuf,
    /// The role whose tasks these are.
    pub role: Option<Arc<RoleCtx>>,
    pub handler: bool,
    pub depth: usize,
}

/// Loads a playbook file.
pub fn load(path: &Path) -> Result<Playbook, Error> {
    load_with(path, Loader::for_playbook(path))
}

/// Loads a playbook file with a given loader (roles path from configuration).
pub fn load_with(path: &Path, loader: Loader) -> Result<Playbook, Error> {
    let mut plays = Vec::new();
    load_into(path, &loader, &mut plays, 0)?;
    loader.resolve_modules()?;
    Ok(Playbook {
        path: path.to_path_buf(),
        dir: loader.playbook_dir.clone(),
        plays,
        loader: Arc::new(loader),
    })
}

/// Parses playbook text (plays and `import_playbook`s relative to the loader's playbook
/// directory) without reading it from a file: for tools and the fuzz target.
pub fn parse_plays(source: &Arc<Source>, loader: &Loader) -> Result<Vec<Play>, Error> {
    let mut plays = Vec::new();
    let path = loader.playbook_dir.join(&source.name);
    parse_into(source, &path, loader, &mut plays, 0)?;
    Ok(plays)
}

fn load_into(
    path: &Path,
    loader: &Loader,
    plays: &mut Vec<Play>,
    depth: usize,
) -> Result<(), Error> {
    let source = crate::value::read_source(path)?;
    // An imported playbook's folder brings its library/ and module_utils/, as in ansible-core.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        loader
            .python
            .add_plugin_dir(&std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()));
    }
    parse_into(&source, path, loader, plays, depth)
}

fn parse_into(
    source: &Arc<Source>,
    path: &Path,
    loader: &Loader,
    plays: &mut Vec<Play>,
    depth: usize,
) -> Result<(), Error> {
    let loaded = yaml::load(source, yaml::Aliases::Budgeted)?;
    loader.warn(loaded.warnings);
    let root = loaded.node;
    let entries = match &root.kind {
        NodeKind::Seq(items) => items,
        NodeKind::Null => return Ok(()),
        _ => {
            return Err(root.error(format!(
                "a playbook must be a list of plays, got {} instead",
                root.type_name()
            )));
        }
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    for entry in entries.iter() {
        if entry.as_map().is_none() {
            return Err(entry.error(format!(
                "a play must be a mapping, got {} instead",
                entry.type_name()
            )));
        }
        let import = entry
            .get("import_playbook")
            .or_else(|| entry.get("ansible.builtin.import_playbook"))
            .or_else(|| entry.get("ansible.legacy.import_playbook"));
        if let Some(target) = import {
            if depth > 20 {
                return Err(target.error("import_playbook nests more than 20 deep (a loop?)"));
            }
            import_playbook(entry, target, &dir, loader, plays, depth)?;
            continue;
        }
        plays.push(load_play(entry, loader, &dir)?);
    }
    Ok(())
}

/// A play; its static imports are templated with its vars ([`statics`]).
fn load_play(node: &Node, loader: &Loader, dir: &Path) -> Result<Play, Error> {
    let vars = match node.get("vars") {
        Some(v) => vars_of(v)?,
        None => Vars::new(),
    };
    loader.with_static_vars(&vars, || load_play_in(node, loader, dir))
}

fn load_play_in(node: &Node, loader: &Loader, dir: &Path) -> Result<Play, Error> {
    let map = node.as_map().unwrap_or(&[]);
    for (k, _) in map {
        let key = key_str(k)?;
        if !PLAY_KEYWORDS.contains(&key) {
            return Err(k.error(format!("'{key}' is not a valid attribute for a Play")));
        }
    }
    let hosts = match node.get("hosts") {
        None => {
            return Err(node.error("the field 'hosts' is required but was not set"));
        }
        Some(h) => match &h.kind {
            NodeKind::Seq(items) => Value::from(
                items
                    .iter()
                    .map(|i| i.scalar_text().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            NodeKind::Str(_) => value::from_node(h),
            NodeKind::Null => return Err(h.error("hosts list cannot be empty")),
            _ => Value::from(h.scalar_text().unwrap_or_default()),
        },
    };
    let name = match node.get("name") {
        Some(n) => n.scalar_text().unwrap_or_default(),
        None => hosts.as_str().unwrap_or("").to_string(),
    };
    let ctx = ItemCtx {
        loader,
        dir: dir.to_path_buf(),
        role: None,
        handler: false,
        depth: 0,
    };
    let list = |key: &str, handler: bool| -> Result<Vec<Item>, Error> {
        match node.get(key) {
            Some(n) => load_items(
                n,
                &ItemCtx {
                    handler,
                    ..ctx_clone(&ctx)
                },
            ),
            None => Ok(Vec::new()),
        }
    };
    let vars_files = match node.get("vars_files") {
        None => Vec::new(),
        Some(n) => match &n.kind {
            NodeKind::Seq(items) => items.iter().map(value::from_node).collect(),
            NodeKind::Null => Vec::new(),
            _ => vec![value::from_node(n)],
        },
    };
    let vars_prompt = match node.get("vars_prompt") {
        None => Vec::new(),
        Some(n) => load_vars_prompt(n)?,
    };
    if let Ok(mut exposed) = loader.imported_role_vars.lock() {
        *exposed = Default::default();
    }
    if let Ok(mut imported) = loader.imported_role_handlers.lock() {
        imported.clear();
    }
    if let Ok(mut imported) = loader.imported_role_names.lock() {
        imported.clear();
    }
    let mut role_names = Vec::new();
    let mut dependency_role_names = Vec::new();
    let mut handlers = list("handlers", true)?;
    let mut roles = Vec::new();
    let mut role_defaults = Vars::new();
    let mut role_vars = Vars::new();
    if let Some(r) = node.get("roles") {
        let entries = match &r.kind {
            NodeKind::Seq(items) => items.as_slice(),
            NodeKind::Null => &[],
            _ => return Err(r.error("roles must be a list")),
        };
        let mut role_handlers = Vec::new();
        for entry in entries {
            let loaded = role::load_role_entry(entry, loader, 0, role::Origin::default())?;
            if role::role_public(None, true) {
                loaded.merge_vars_into(&mut role_defaults, &mut role_vars);
            }
            role_names.push(loaded.ctx.name.clone());
            loaded.dependency_names(&mut dependency_role_names);
            roles.extend(loaded.into_items(&mut role_handlers));
        }
        // Role handlers come before the play's own, in the order the roles were listed.
        role_handlers.extend(handlers);
        handlers = role_handlers;
    }
    let pre_tasks = list("pre_tasks", false)?;
    let tasks = list("tasks", false)?;
    let post_tasks = list("post_tasks", false)?;
    if let Ok(mut imported) = loader.imported_role_handlers.lock() {
        handlers.append(&mut imported);
    }
    if let Ok(mut imported) = loader.imported_role_names.lock() {
        for (name, deps) in imported.drain(..) {
            role_names.push(name);
            for d in deps {
                if !dependency_role_names.contains(&d) {
                    dependency_role_names.push(d);
                }
            }
        }
    }
    if let Ok(mut exposed) = loader.imported_role_vars.lock() {
        let (defaults, vars) = std::mem::take(&mut *exposed);
        for (k, v) in defaults {
            role_defaults.entry(k).or_insert(v);
        }
        for (k, v) in vars {
            role_vars.entry(k).or_insert(v);
        }
    }
    Ok(Play {
        name,
        dir: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()),
        hosts,
        span: node.span.clone(),
        spans: map
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.span.clone())))
            .collect(),
        kw: keywords(node)?,
        gather_facts: opt(node, "gather_facts"),
        gather_args: ["gather_subset", "gather_timeout", "fact_path"]
            .iter()
            .filter_map(|k| Some((k.to_string(), opt(node, k)?)))
            .collect(),
        serial: opt(node, "serial"),
        max_fail_percentage: opt(node, "max_fail_percentage"),
        force_handlers: opt(node, "force_handlers"),
        order: opt(node, "order"),
        strategy: opt(node, "strategy"),
        vars_files,
        vars_prompt,
        roles,
        role_defaults: Arc::new(role_defaults),
        role_vars: Arc::new(role_vars),
        role_names,
        dependency_role_names,
        pre_tasks,
        tasks,
        post_tasks,
        handlers,
    })
}

fn ctx_clone<'a>(c: &ItemCtx<'a>) -> ItemCtx<'a> {
    ItemCtx {
        loader: c.loader,
        dir: c.dir.clone(),
        role: c.role.clone(),
        handler: c.handler,
        depth: c.depth,
    }
}

fn load_vars_prompt(node: &Node) -> Result<Vec<VarsPrompt>, Error> {
    let Some(items) = node.as_seq() else {
        return Err(node.error("vars_prompt must be a list of prompts"));
    };
    let mut out = Vec::new();
    for item in items {
        let name = item
            .get("name")
            .and_then(Node::scalar_text)
            .ok_or_else(|| item.error("a vars_prompt entry needs a 'name'"))?;
        out.push(VarsPrompt {
            prompt: item
                .get("prompt")
                .and_then(Node::scalar_text)
                .unwrap_or_else(|| name.clone()),
            name,
            default: item.get("default").map(value::from_node),
            private: !matches!(
                item.get("private").map(|p| &p.kind),
                Some(NodeKind::Bool(false))
            ),
            span: item.span.clone(),
        });
    }
    Ok(out)
}

fn key_str(k: &Node) -> Result<&str, Error> {
    k.as_str()
        .ok_or_else(|| k.error(format!("expected a keyword here, got {}", k.type_name())))
}

fn opt(node: &Node, key: &str) -> Option<Value> {
    node.get(key).map(value::from_node)
}

/// A list of tasks and blocks.
pub fn load_items(node: &Node, ctx: &ItemCtx) -> Result<Vec<Item>, Error> {
    let items = match &node.kind {
        NodeKind::Seq(items) => items,
        NodeKind::Null => return Ok(Vec::new()),
        _ => {
            return Err(node.error(format!(
                "a list of tasks was expected here, got {} instead",
                node.type_name()
            )));
        }
    };
    items.iter().map(|i| load_item(i, ctx)).collect()
}

fn load_item(node: &Node, ctx: &ItemCtx) -> Result<Item, Error> {
    if node.as_map().is_none() {
        return Err(node.error(format!(
            "a task must be a mapping, got {} instead",
            node.type_name()
        )));
    }
    if node.get("block").is_some() {
        return Ok(Item::Block(Arc::new(load_block(node, ctx)?)));
    }
    let task = load_task(node, ctx.handler, &ctx.loader.python)?;
    if ctx.handler && matches!(task.action.as_str(), "include_role" | "import_role") {
        return Err(Error::syntax(
            &task.span,
            format!("Using '{}' as a handler is not supported.", task.action),
        ));
    }
    // `meta: end_role` ends a role: ansible-core refuses it where there is none to end.
    if task.action == "meta"
        && task
            .args
            .get_attr("_raw_params")
            .ok()
            .as_ref()
            .and_then(|v| v.as_str())
            == Some("end_role")
    {
        let refusal = if ctx.handler {
            Some("Cannot execute 'end_role' from a handler")
        } else if ctx.role.is_none() {
            Some("Cannot execute 'end_role' from outside of a role")
        } else {
            None
        };
        if let Some(message) = refusal {
            return Err(Error::syntax(&task.span, message));
        }
    }
    match task.action.as_str() {
        "import_tasks" => import_tasks(task, ctx),
        "import_role" => import_role(task, ctx),
        _ => Ok(Item::Task(Arc::new(task))),
    }
}

/// The file an import or include names: `_raw_params` or `file`.
pub fn include_target(args: &Value) -> Option<String> {
    ["_raw_params", "file"].iter().find_map(|k| {
        args.get_attr(k)
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_none())
            .map(|v| v.to_string())
    })
}

/// Where a tasks file named in an import or include is: beside the including file, in the
/// role's `tasks/`, or beside the playbook.
pub fn resolve_tasks_file(
    name: &str,
    dir: &Path,
    role: Option<&RoleCtx>,
    loader: &Loader,
) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    let mut candidates = vec![dir.join(p)];
    if let Some(r) = role {
        candidates.push(r.path.join("tasks").join(p));
        // Relative to the role itself too (`import_tasks: tasks/x.yml` in its handlers).
        candidates.push(r.path.join(p));
    }
    candidates.push(loader.playbook_dir.join(p));
    candidates.into_iter().find(|c| c.is_file())
}

/// ansible-core's message for an included tasks file it cannot find (the path it tried last:
/// beside the playbook).
pub fn missing_tasks_file(loader: &Loader, target: &str) -> String {
    let p = loader.playbook_dir.join(target);
    let p = p.display();
    format!(
        "Could not find or access '{p}' on the Ansible Controller: Unable to retrieve file \
         contents.\nCould not find or access '{p}' on the Ansible Controller.\nIf you are using \
         a module and expect the file to exist on the remote, see the remote_src option: \
         [Errno 2] No such file or directory: '{p}'"
    )
}

/// Reads a tasks file (for `import_tasks` and `include_tasks`).
pub fn load_tasks_file(path: &Path, ctx: &ItemCtx) -> Result<Vec<Item>, Error> {
    if ctx.depth > 50 {
        return Err(Error::new(
            ErrorKind::Syntax,
            format!(
                "{} includes itself (more than 50 levels deep)",
                path.display()
            ),
        ));
    }
    let source = crate::value::read_source(path)?;
    let loaded = yaml::load(&source, yaml::Aliases::Budgeted)?;
    ctx.loader.warn(loaded.warnings);
    let node = loaded.node;
    let sub = ItemCtx {
        loader: ctx.loader,
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        role: ctx.role.clone(),
        handler: ctx.handler,
        depth: ctx.depth + 1,
    };
    load_items(&node, &sub)
}

fn load_block(node: &Node, ctx: &ItemCtx) -> Result<Block, Error> {
    for (k, _) in node.as_map().unwrap_or(&[]) {
        let key = key_str(k)?;
        if !BLOCK_KEYWORDS.contains(&key) {
            return Err(k.error(format!("'{key}' is not a valid attribute for a Block")));
        }
    }
    // A block at the top of a handler list is a group of handlers (an implicit block); one
    // inside it would be a block as a handler, which ansible-core refuses.
    if ctx.handler {
        for key in ["block", "rescue", "always"] {
            let inner = node.get(key).and_then(Node::as_seq).unwrap_or(&[]);
            if let Some(nested) = inner.iter().find(|n| n.get("block").is_some()) {
                return Err(nested.error("Using a block as a handler is not supported."));
            }
        }
    }
    let part = |key: &str| -> Result<Vec<Item>, Error> {
        match node.get(key) {
            Some(n) => load_items(n, ctx),
            None => Ok(Vec::new()),
        }
    };
    let mut block = Block {
        name: node.get("name").and_then(Node::scalar_text),
        span: node.span.clone(),
        kw: keywords(node)?,
        role: None,
        block: part("block")?,
        rescue: part("rescue")?,
        always: part("always")?,
    };
    // `notify` on a block is inherited by the tasks inside that notify nothing themselves.
    let notify = string_list(node.get("notify"), false)?;
    if !notify.is_empty() {
        for items in [&mut block.block, &mut block.rescue, &mut block.always] {
            inherit_notify(items, &notify);
        }
    }
    Ok(block)
}

/// Gives `notify` to the tasks (in nested blocks too) that have none of their own.
pub fn inherit_notify(items: &mut [Item], notify: &[String]) {
    if notify.is_empty() {
        return;
    }
    for item in items {
        match item {
            Item::Task(t) if t.notify.is_empty() => {
                Arc::make_mut(t).notify = notify.to_vec();
            }
            Item::Task(_) => {}
            Item::Block(b) => {
                let b = Arc::make_mut(b);
                for part in [&mut b.block, &mut b.rescue, &mut b.always] {
                    inherit_notify(part, notify);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Vec<Play>, Error> {
        let dir = std::env::temp_dir().join(format!("baton-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("p{}.yml", text.len()));
        std::fs::write(&path, text).unwrap();
        load(&path).map(|p| p.plays)
    }

    #[test]
    fn tasks_parse_with_free_form_and_keywords() {
        let plays = load_str("- hosts: all\n  tasks:\n    - name: t\n      command: echo hi chdir=/tmp\n      register: r\n      when: x is defined\n").unwrap();
        let Item::Task(t) = &plays[0].tasks[0] else {
            panic!()
        };
        assert_eq!(t.action, "command");
        assert_eq!(
            t.args.get_attr("_raw_params").unwrap().as_str(),
            Some("echo hi")
        );
        assert_eq!(t.args.get_attr("chdir").unwrap().as_str(), Some("/tmp"));
        assert_eq!(t.register.as_deref(), Some("r"));
        assert_eq!(t.kw.when.len(), 1);
    }

    #[test]
    fn unknown_play_keyword_points_at_it() {
        let err = load_str("- hosts: all\n  tasx: []\n").unwrap_err();
        assert_eq!(err.message, "'tasx' is not a valid attribute for a Play");
        assert!(err.to_string().contains(":2:3"), "{err}");
    }

    #[test]
    fn unknown_module_names_task_and_module() {
        let err = load_str("- hosts: all\n  tasks:\n    - name: Say hi\n      debugg: msg=hi\n")
            .unwrap_err();
        assert!(
            err.message
                .contains("couldn't resolve module/action 'debugg'"),
            "{err}"
        );
        assert!(err.to_string().contains("Say hi"), "{err}");
        assert!(err.to_string().contains(":4:7"), "{err}");
    }

    #[test]
    fn two_modules_conflict() {
        let err =
            load_str("- hosts: all\n  tasks:\n    - command: a\n      shell: b\n").unwrap_err();
        assert!(
            err.message.contains("conflicting action statements"),
            "{err}"
        );
    }

    #[test]
    fn register_must_be_a_variable_name() {
        let book =
            |r: &str| format!("- hosts: all\n  tasks:\n    - debug: msg=x\n      register: {r}\n");
        assert!(load_str(&book("result_1")).is_ok());
        assert!(load_str(&book("_r")).is_ok());
        for bad in ["200", "1abc", "a-b", "None", "[a]"] {
            let err = load_str(&book(bad)).unwrap_err();
            assert!(
                err.message.contains("Invalid variable name"),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains(":4:17"), "{bad}: {err}");
        }
        let err = load_str(&book("200")).unwrap_err();
        assert!(err.message.contains("name '200' of type 'int'"), "{err}");
    }

    /// parse_free_form's arguments as (key, text) pairs.
    fn get(action: &str, text: &str) -> Vec<(String, String)> {
        parse_free_form(action, text)
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_executor_actions_read_k_v_words_as_arguments() {
        assert_eq!(
            get("import_role", "name=r handlers_from=alt.yml"),
            kv(&[("name", "r"), ("handlers_from", "alt.yml")])
        );
        assert_eq!(
            get("include_tasks", "file.yml"),
            kv(&[("_raw_params", "file.yml")])
        );
        // An '=' inside a template is no key.
        assert_eq!(
            get("include_tasks", "{{ 'a.yml' if x == 1 else 'b.yml' }}"),
            kv(&[("_raw_params", "{{ 'a.yml' if x == 1 else 'b.yml' }}")])
        );
        // A whole template before the '=' is a key (templated when the task runs).
        assert_eq!(
            get("set_fact", "{{ item }}=set"),
            kv(&[("{{ item }}", "set")])
        );
    }

    #[test]
    fn free_form_arguments_decode_escapes_as_parse_kv() {
        // Expected values printed by ansible-core 2.19's parse_kv on the same text.
        assert_eq!(
            get("lineinfile", r#"line="a\nb" path=/tmp/x"#),
            kv(&[("line", "a\nb"), ("path", "/tmp/x")])
        );
        assert_eq!(
            get("debug", r#"msg="say \"hi\"" x=\u00e9\x41 t=a\tb"#),
            kv(&[("msg", "say \"hi\""), ("x", "\u{e9}A"), ("t", "a\tb")])
        );
        // The command line is kept as written; the module's own options are decoded.
        assert_eq!(
            get("shell", r"echo a\nb chdir=/tmp"),
            kv(&[("_raw_params", r"echo a\nb"), ("chdir", "/tmp")])
        );
        // An escaped '=' is no separator.
        assert_eq!(get("debug", r"a\=b"), kv(&[("_raw_params", "a=b")]));
        assert_eq!(decode_escapes(r"\q\\ \x4"), r"\q\ \x4");
    }

    #[test]
    fn split_args_respects_quotes_and_jinja() {
        assert_eq!(
            split_args(r#"msg="a b" x={{ y | default('c d') }} z"#),
            vec![r#"msg="a b""#, "x={{ y | default('c d') }}", "z"]
        );
    }
}
