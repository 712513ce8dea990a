//! Roles: finding a role by name, reading its tasks, handlers, defaults, vars and meta
//! dependencies, and turning a `roles:` entry (or `import_role`) into blocks that carry the role.
//!
//! A role is looked for as Ansible looks: `roles/NAME` beside the playbook, then each directory of
//! the roles path (`ANSIBLE_ROLES_PATH` / `roles_path`), then `NAME` beside the playbook; a name
//! with a slash is a path; `ns.col.role` is a collection's role (in `collections/` beside the
//! playbook or a collections path). A role with the same parameters runs once per play unless it allows
//! duplicates; dependencies run before the role that needs them.

use super::load::{ItemCtx, Loader, keywords, load_items};
use super::model::{Block, Item, Keywords, RoleCtx};
use crate::diagnostics::{Error, ErrorKind, Span};
use crate::value::load_vars_file;
use crate::value::{self, Value, Vars};
use crate::yaml::{self, Node, NodeKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Keywords a `roles:` entry takes; every other key is a role parameter.
const ROLE_KEYWORDS: &[&str] = &[
    "role",
    "name",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "delegate_to",
    "delegate_facts",
    "diff",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "module_defaults",
    "no_log",
    "port",
    "remote_user",
    "run_once",
    "tags",
    "throttle",
    "timeout",
    "vars",
    "when",
    "any_errors_fatal",
];

/// Which files of a role to read (`import_role`'s `tasks_from` and friends).
#[derive(Debug, Clone, Default)]
pub struct RoleFiles {
    pub tasks_from: Option<String>,
    pub vars_from: Option<String>,
    pub defaults_from: Option<String>,
    pub handlers_from: Option<String>,
}

/// A role read from disk, with its dependencies (already read, in the order they run).
#[derive(Debug, Clone)]
pub struct LoadedRole {
    pub ctx: Arc<RoleCtx>,
    pub tasks: Vec<Item>,
    pub handlers: Vec<Item>,
    pub dependencies: Vec<LoadedRole>,
    /// Keywords of the entry that asked for the role (when, tags, become...).
    pub kw: Keywords,
    pub span: Span,
}

impl LoadedRole {
    /// The role and its dependencies as blocks, dependencies first. Whether a role runs again
    /// on a host where it already ran is decided while running (see `RoleCtx::identity`). The
    /// role's handlers go to `handlers`.
    pub fn into_items(self, handlers: &mut Vec<Item>) -> Vec<Item> {
        let mut inner = Vec::new();
        for dep in self.dependencies {
            inner.extend(dep.into_items(handlers));
        }
        if !self.handlers.is_empty() {
            // The entry's keywords (become, delegate_to...) reach the role's handlers too:
            // ansible-core gives them the same parent.
            handlers.push(Item::Block(Arc::new(Block {
                name: None,
                span: self.span.clone(),
                kw: self.kw.clone(),
                role: Some(self.ctx.clone()),
                block: self.handlers,
                rescue: Vec::new(),
                always: Vec::new(),
            })));
        }
        // The entry's `vars:` are the role's own, above its vars/ files (ansible-core's
        // Role.get_vars adds them last).
        inner.push(Item::Block(Arc::new(Block {
            name: None,
            span: self.span.clone(),
            kw: Keywords {
                vars: self.kw.vars.clone(),
                ..Keywords::default()
            },
            role: Some(self.ctx),
            block: self.tasks,
            rescue: Vec::new(),
            always: Vec::new(),
        })));
        // The entry's keywords (when, tags, become...) cover the dependencies too.
        vec![Item::Block(Arc::new(Block {
            name: None,
            span: self.span,
            kw: self.kw,
            role: None,
            block: inner,
            rescue: Vec::new(),
            always: Vec::new(),
        }))]
    }

    /// The names of this role's dependencies, theirs included (deepest first), each once.
    pub fn dependency_names(&self, out: &mut Vec<String>) {
        for dep in &self.dependencies {
            dep.dependency_names(out);
            if !out.contains(&dep.ctx.name) {
                out.push(dep.ctx.name.clone());
            }
        }
    }

    /// This role's and its dependencies' defaults and vars, merged in run order into `defaults`
    /// and `vars`.
    pub fn merge_vars_into(&self, defaults: &mut Vars, vars: &mut Vars) {
        for dep in &self.dependencies {
            dep.merge_vars_into(defaults, vars);
        }
        defaults.extend(
            self.ctx
                .defaults
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        vars.extend(self.ctx.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// Where a role is asked for from: for a dependency, the declaring role's directory (searched
/// too, as Ansible does) and its parameters, which the dependency's tasks see below its own
/// (ansible-core's `get_role_params(dep_chain)`).
#[derive(Default, Clone, Copy)]
pub struct Origin<'a> {
    pub basedir: Option<&'a Path>,
    pub parent_params: Option<&'a Vars>,
}

/// Reads a `roles:` entry (a name, or a mapping with `role:` and keywords and parameters).
pub fn load_role_entry(
    node: &Node,
    loader: &Loader,
    depth: usize,
    origin: Origin,
) -> Result<LoadedRole, Error> {
    let (name, kw, params) = match &node.kind {
        NodeKind::Str(s) => (s.clone(), Keywords::default(), Vars::new()),
        NodeKind::Map(entries) => {
            let name = node
                .get("role")
                .or_else(|| node.get("name"))
                .and_then(Node::scalar_text)
                .ok_or_else(|| node.error("role definitions must contain a role name"))?;
            let mut params = Vars::new();
            for (k, v) in entries.iter() {
                let key = k.scalar_text().unwrap_or_default();
                if !ROLE_KEYWORDS.contains(&key.as_str()) {
                    params.insert(key, value::from_node(v));
                }
            }
            (name, keywords(node)?, params)
        }
        _ => {
            return Err(node.error(format!(
                "a role must be given by name or as a mapping, got {}",
                node.type_name()
            )));
        }
    };
    load_role_in(
        &name,
        &node.span,
        params,
        kw,
        &RoleFiles::default(),
        loader,
        depth,
        origin,
    )
}

/// Finds a role, as ansible-core's `RoleDefinition._load_role_path` does: `roles/NAME` beside
/// the playbook, each roles-path directory, the declaring role's directory (for dependencies),
/// then beside the playbook. The name stays as written (`lang/roles/app` is that role's name);
/// only a role found as a plain path, as a last resort, is named by its last component.
pub fn find_role(name: &str, loader: &Loader, basedir: Option<&Path>) -> Option<(String, PathBuf)> {
    let mut bases = vec![loader.playbook_dir.join("roles")];
    bases.extend(loader.roles_path.iter().cloned());
    bases.extend(basedir.map(Path::to_path_buf));
    bases.push(loader.playbook_dir.clone());
    for base in bases {
        let candidate = base.join(name);
        if candidate.is_dir() {
            // `role_path` is absolute, links resolved (ansible-core's unfrackpath).
            let candidate = std::fs::canonicalize(&candidate).unwrap_or(candidate);
            return Some((name.to_string(), candidate));
        }
    }
    if let Some(found) = collection_role(name, loader) {
        return Some((name.to_string(), found));
    }
    let p = Path::new(name);
    p.is_dir().then(|| {
        let short = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_string());
        (short, p.to_path_buf())
    })
}

/// A role named by its collection (`ns.col.role`): `ansible_collections/ns/col/roles/role` in
/// the `collections/` beside the playbook, then in each collections path
/// (`ANSIBLE_COLLECTIONS_PATH`, else `~/.ansible/collections:/usr/share/ansible/collections`),
/// as ansible-core's collection loader looks.
fn collection_role(name: &str, loader: &Loader) -> Option<PathBuf> {
    let parts: Vec<&str> = name.split('.').collect();
    let plain = |p: &&str| {
        !p.is_empty()
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !p.starts_with(|c: char| c.is_ascii_digit())
    };
    if parts.len() != 3 || !parts.iter().all(plain) {
        return None;
    }
    let mut roots = vec![loader.playbook_dir.join("collections")];
    let from_env = std::env::var("ANSIBLE_COLLECTIONS_PATH")
        .or_else(|_| std::env::var("ANSIBLE_COLLECTIONS_PATHS"))
        .ok();
    match from_env {
        Some(v) => roots.extend(v.split(':').filter(|s| !s.is_empty()).map(PathBuf::from)),
        None => {
            if let Some(home) = std::env::var_os("HOME") {
                roots.push(Path::new(&home).join(".ansible/collections"));
            }
            roots.push(PathBuf::from("/usr/share/ansible/collections"));
        }
    }
    roots
        .into_iter()
        .map(|r| {
            r.join("ansible_collections")
                .join(parts[0])
                .join(parts[1])
                .join("roles")
                .join(parts[2])
        })
        .find(|d| d.is_dir())
}

/// `main.yml`, `main.yaml`, `main` (or the `_from` name, with the same endings) in a role's
/// sub-directory.
pub fn role_file(role: &Path, sub: &str, from: Option<&str>) -> Option<PathBuf> {
    let base = from.unwrap_or("main");
    let dir = role.join(sub);
    [
        format!("{base}.yml"),
        format!("{base}.yaml"),
        base.to_string(),
        format!("{base}.json"),
    ]
    .into_iter()
    .map(|f| dir.join(f))
    .find(|p| p.is_file())
}

/// A role's vars or defaults files, as ansible-core's `find_vars_files` finds them: `main`
/// (or the `_from` name) as is, `.yml`, `.yaml` or `.json`, the first that exists; a directory
/// by that name gives every file in it (sub-directories too) with one of those endings or
/// none, in sorted order, merged in that order.
fn role_vars_files(role: &Path, sub: &str, from: Option<&str>) -> Vec<PathBuf> {
    const ENDINGS: [&str; 4] = ["", ".yml", ".yaml", ".json"];
    // `main` is looked for with an ending first; a `_from` name as written first.
    let order: [&str; 4] = match from {
        None => [".yml", ".yaml", ".json", ""],
        Some(_) => ENDINGS,
    };
    fn dir_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') || name.ends_with('~') {
                continue;
            }
            if p.is_dir() {
                dir_files(&p, out);
            } else {
                let ext = p
                    .extension()
                    .map(|e| format!(".{}", e.to_string_lossy()))
                    .unwrap_or_default();
                if ENDINGS.contains(&ext.as_str()) {
                    out.push(p);
                }
            }
        }
    }
    let base = role.join(sub).join(from.unwrap_or("main"));
    for ending in order {
        let candidate = PathBuf::from(format!("{}{ending}", base.display()));
        if candidate.is_dir() {
            let mut out = Vec::new();
            dir_files(&candidate, &mut out);
            return out;
        }
        if candidate.is_file() {
            return vec![candidate];
        }
    }
    Vec::new()
}

/// Whether `path` is inside `dir`, by their names (`..` resolved), as ansible-core's
/// `is_subpath`.
fn is_inside(path: &Path, dir: &Path) -> bool {
    fn normal(p: &Path) -> PathBuf {
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    }
    normal(path).starts_with(normal(dir))
}

/// A role's file found outside the role's directory for it (a `_from` with `..` or an
/// absolute path) is refused, as ansible-core does.
fn check_inside(
    found: &Path,
    role: &Path,
    sub: &str,
    name: &str,
    span: &Span,
) -> Result<(), Error> {
    let dir = role.join(sub);
    if is_inside(found, &dir) {
        return Ok(());
    }
    Err(Error::syntax(
        span,
        format!(
            "Failed loading '{}' for role ({name}) as it is not inside the expected role path: '{}'",
            found.display(),
            dir.display()
        ),
    ))
}

/// Reads a role and its dependencies.
pub fn load_role(
    name: &str,
    span: &Span,
    params: Vars,
    kw: Keywords,
    files: &RoleFiles,
    loader: &Loader,
    depth: usize,
) -> Result<LoadedRole, Error> {
    load_role_in(
        name,
        span,
        params,
        kw,
        files,
        loader,
        depth,
        Origin::default(),
    )
}

/// [`load_role`] for a role asked for from `origin`.
#[allow(clippy::too_many_arguments)]
fn load_role_in(
    name: &str,
    span: &Span,
    params: Vars,
    kw: Keywords,
    files: &RoleFiles,
    loader: &Loader,
    depth: usize,
    origin: Origin,
) -> Result<LoadedRole, Error> {
    let basedir = origin.basedir;
    if depth > 30 {
        return Err(Error::syntax(
            span,
            format!("role '{name}' depends on itself (a dependency loop?)"),
        ));
    }
    let Some((role_name, path)) = find_role(name, loader, basedir) else {
        let mut searched = vec![loader.playbook_dir.join("roles").display().to_string()];
        searched.extend(loader.roles_path.iter().map(|p| p.display().to_string()));
        searched.extend(basedir.map(|b| b.display().to_string()));
        searched.push(loader.playbook_dir.display().to_string());
        return Err(Error::syntax(
            span,
            format!("the role '{name}' was not found in {}", searched.join(":")),
        ));
    };
    // The role's `library/` and `module_utils/` join the Python modules' search path, as
    // when ansible-core loads a role.
    loader.python.add_plugin_dir(&path);
    let read_vars = |sub: &str, from: Option<&str>| -> Result<Vars, Error> {
        let found = role_vars_files(&path, sub, from);
        for f in &found {
            check_inside(f, &path, sub, &role_name, span)?;
        }
        match found.is_empty() {
            false => {
                let mut all = Vars::new();
                for f in found {
                    let mut warnings = Vec::new();
                    let vars = load_vars_file(&f, &mut warnings)
                        .map_err(|e| e.context(format!("in the role '{role_name}'")))?;
                    loader.warn(warnings);
                    all.extend(vars);
                }
                Ok(all)
            }
            true if from.is_some() => Err(Error::syntax(
                span,
                format!(
                    "could not find '{}' in {}/{sub}",
                    from.unwrap_or(""),
                    path.display()
                ),
            )),
            true => Ok(Vars::new()),
        }
    };
    let defaults = read_vars("defaults", files.defaults_from.as_deref())?;
    let vars = read_vars("vars", files.vars_from.as_deref())?;
    let meta = match role_file(&path, "meta", None) {
        Some(m) => {
            let loaded = yaml::load(&crate::value::read_source(&m)?, yaml::Aliases::Budgeted)?;
            loader.warn(loaded.warnings);
            Some(loaded.node)
        }
        None => None,
    };
    let allow_duplicates = meta
        .as_ref()
        .and_then(|m| m.get("allow_duplicates"))
        .is_some_and(|a| matches!(a.kind, NodeKind::Bool(true)));
    // ansible-core tells roles apart by name, path, parameters, the entry's `when`, `tags` and
    // `vars`, and the files read (`tasks_from`...): the same role asked for the same way runs
    // once (Role._get_hash_dict).
    let when: Vec<Value> = kw.when.clone();
    let identity = format!(
        "{}|{}|{}|{}|{:?}|{}|{:?}",
        role_name,
        path.display(),
        value::to_json(&value::from_vars(&params)),
        value::to_json(&Value::from(when)),
        kw.tags,
        value::to_json(&value::from_vars(&kw.vars)),
        (
            &files.tasks_from,
            &files.vars_from,
            &files.defaults_from,
            &files.handlers_from
        ),
    );
    let params = match origin.parent_params {
        Some(parent) if !parent.is_empty() => {
            let mut all = parent.clone();
            all.extend(params);
            all
        }
        _ => params,
    };
    let ctx = Arc::new(RoleCtx {
        name: role_name.clone(),
        path: path.clone(),
        defaults: Arc::new(defaults),
        vars: Arc::new(vars),
        params: Arc::new(params),
        allow_duplicates,
        identity,
        included: false,
    });
    let read_items = |sub: &str, from: Option<&str>, handlers: bool| -> Result<Vec<Item>, Error> {
        match role_file(&path, sub, from) {
            Some(f) => {
                check_inside(&f, &path, sub, &role_name, span)?;
                let source = crate::value::read_source(&f)?;
                let loaded = yaml::load(&source, yaml::Aliases::Budgeted)?;
                loader.warn(loaded.warnings);
                let node = loaded.node;
                let ictx = ItemCtx {
                    loader,
                    dir: f.parent().map(Path::to_path_buf).unwrap_or_default(),
                    role: Some(ctx.clone()),
                    handler: handlers,
                    depth: depth + 1,
                };
                load_items(&node, &ictx)
            }
            None if from.is_some() => Err(Error::syntax(
                span,
                format!(
                    "could not find '{}' in {}/{sub}",
                    from.unwrap_or(""),
                    path.display()
                ),
            )),
            None => Ok(Vec::new()),
        }
    };
    let tasks = read_items("tasks", files.tasks_from.as_deref(), false)?;
    let handlers = read_items("handlers", files.handlers_from.as_deref(), true)?;
    let mut dependencies = Vec::new();
    if let Some(deps) = meta.as_ref().and_then(|m| m.get("dependencies")) {
        match &deps.kind {
            NodeKind::Seq(items) => {
                let origin = Origin {
                    basedir: path.parent(),
                    parent_params: Some(&ctx.params),
                };
                for d in items.iter() {
                    dependencies.push(load_role_entry(d, loader, depth + 1, origin)?);
                }
            }
            NodeKind::Null => {}
            _ => return Err(deps.error("dependencies must be a list of roles")),
        }
    }
    Ok(LoadedRole {
        ctx,
        tasks,
        handlers,
        dependencies,
        kw,
        span: span.clone(),
    })
}

/// A role brought in by `import_role` or `include_role`: its `allow_duplicates` argument
/// (true unless given) decides over the role's meta, and it is another role than the same one
/// listed under `roles:` (`from_include` in ansible-core's Role identity).
pub fn from_include(ctx: RoleCtx, allow_duplicates: bool) -> RoleCtx {
    RoleCtx {
        allow_duplicates,
        identity: format!("{}|include", ctx.identity),
        included: true,
        ..ctx
    }
}

/// An error for a role that could not be used.
pub fn role_error(span: &Span, msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Syntax, msg).at(span)
}

/// The parameters of `import_role`/`include_role`: the role's name and which files to read.
/// Whether a role's defaults and vars become the play's (ansible-core's `Role.public`): its
/// `public` argument when given; else the opposite of `private_role_vars` when that is
/// configured; else true for roles loaded with the playbook (`roles:`, `import_role`) and false
/// for `include_role`.
pub fn role_public(explicit: Option<bool>, static_: bool) -> bool {
    explicit
        .or_else(|| crate::template::settings().private_role_vars.map(|p| !p))
        .unwrap_or(static_)
}

/// A role task's `public` argument, when given (and not omitted).
pub fn public_arg(args: &Value) -> Option<bool> {
    args.get_attr("public")
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_none() && v.as_str() != Some(crate::vars::OMIT))
        .map(|v| crate::template::truthy(&v))
}

pub fn role_task_args(args: &Value) -> Result<(String, RoleFiles, bool), String> {
    // An argument set to `omit` is not given.
    let get = |k: &str| -> Option<String> {
        args.get_attr(k)
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_none())
            .filter(|v| v.as_str() != Some(crate::vars::OMIT))
            .map(|v| v.to_string())
    };
    let name = get("name")
        .or_else(|| get("role"))
        .ok_or("'name' is a required field for import_role/include_role")?;
    let allow = args
        .get_attr("allow_duplicates")
        .ok()
        .map(|v| v.is_undefined() || crate::template::truthy(&v))
        .unwrap_or(true);
    Ok((
        name,
        RoleFiles {
            tasks_from: get("tasks_from"),
            vars_from: get("vars_from"),
            defaults_from: get("defaults_from"),
            handlers_from: get("handlers_from"),
        },
        allow,
    ))
}
