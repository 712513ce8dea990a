//! Loading a playbook: YAML nodes to the typed model, with Ansible's keyword sets.
//!
//! Every mistake is reported at the node it is about: a keyword a play does not have, a task with
//! no module or two, a module baton does not know, a value of the wrong shape.

use super::model::*;
use crate::diagnostics::{Error, ErrorKind, Source, Span};
use crate::value::{self, Value, Vars};
use crate::yaml::{self, Node, NodeKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Keywords a play takes (Ansible's `Play` attributes).
const PLAY_KEYWORDS: &[&str] = &[
    "hosts",
    "name",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "vars",
    "vars_files",
    "vars_prompt",
    "roles",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "serial",
    "max_fail_percentage",
    "force_handlers",
    "order",
    "strategy",
    "any_errors_fatal",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "remote_user",
    "connection",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "tags",
    "check_mode",
    "diff",
    "module_defaults",
    "collections",
    "port",
    "run_once",
    "throttle",
    "timeout",
    "debugger",
];

/// Keywords a task takes besides its module (Ansible's `Task` attributes).
const TASK_KEYWORDS: &[&str] = &[
    "name",
    "action",
    "args",
    "async",
    "poll",
    "changed_when",
    "failed_when",
    "delay",
    "retries",
    "until",
    "delegate_to",
    "delegate_facts",
    "local_action",
    "loop",
    "loop_control",
    "notify",
    "register",
    "when",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "check_mode",
    "collections",
    "connection",
    "debugger",
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
    "listen",
    "any_errors_fatal",
];

/// Keywords a block takes.
const BLOCK_KEYWORDS: &[&str] = &[
    "block",
    "rescue",
    "always",
    "name",
    "when",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "check_mode",
    "collections",
    "connection",
    "debugger",
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
    "any_errors_fatal",
    "delegate_to",
    "delegate_facts",
    "notify",
];

/// Modules whose free-form text is a command line, not `k=v` arguments.
const RAW_PARAM_MODULES: &[&str] = &[
    "command",
    "shell",
    "raw",
    "script",
    "include_tasks",
    "import_tasks",
    "include_vars",
    "import_playbook",
    "meta",
    "include_role",
    "import_role",
    "add_host",
    "group_by",
];

/// `k=v` options that command-like modules accept inside their free-form text.
const RAW_PARAM_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// Loads a playbook file.
pub fn load(path: &Path) -> Result<Playbook, Error> {
    let dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut plays = Vec::new();
    load_into(path, &mut plays, 0)?;
    Ok(Playbook {
        path: path.to_path_buf(),
        dir: std::fs::canonicalize(&dir).unwrap_or(dir),
        plays,
    })
}

fn load_into(path: &Path, plays: &mut Vec<Play>, depth: usize) -> Result<(), Error> {
    let source = Source::read(path)?;
    let root = yaml::parse(&source)?;
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
    for entry in entries {
        if entry.as_map().is_none() {
            return Err(entry.error(format!(
                "a play must be a mapping, got {} instead",
                entry.type_name()
            )));
        }
        let import = entry
            .get("import_playbook")
            .or_else(|| entry.get("ansible.builtin.import_playbook"));
        if let Some(target) = import {
            if depth > 20 {
                return Err(target.error("import_playbook nests more than 20 deep (a loop?)"));
            }
            let Some(name) = target.as_str() else {
                return Err(target.error("import_playbook takes the path of a playbook"));
            };
            let base = path.parent().unwrap_or(Path::new("."));
            let sub = base.join(name);
            load_into(&sub, plays, depth + 1).map_err(|e| {
                if e.span.is_none() {
                    e.at(&target.span)
                } else {
                    e
                }
            })?;
            continue;
        }
        plays.push(load_play(entry)?);
    }
    Ok(())
}

fn load_play(node: &Node) -> Result<Play, Error> {
    let map = node.as_map().unwrap_or(&[]);
    for (k, _) in map {
        let key = key_str(k)?;
        if !PLAY_KEYWORDS.contains(&key) {
            return Err(k.error(format!("'{key}' is not a valid attribute for a Play")));
        }
        if matches!(key, "roles" | "vars_prompt") {
            return Err(k.error(format!(
                "the play keyword '{key}' is not supported by this version of baton yet"
            )));
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
    let list = |key: &str| -> Result<Vec<Item>, Error> {
        match node.get(key) {
            Some(n) => load_items(n, key == "handlers"),
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
    Ok(Play {
        name,
        hosts,
        span: node.span.clone(),
        spans: map
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.span.clone())))
            .collect(),
        kw: keywords(node)?,
        gather_facts: opt(node, "gather_facts"),
        serial: opt(node, "serial"),
        max_fail_percentage: opt(node, "max_fail_percentage"),
        force_handlers: opt(node, "force_handlers"),
        order: opt(node, "order"),
        strategy: opt(node, "strategy"),
        vars_files,
        pre_tasks: list("pre_tasks")?,
        tasks: list("tasks")?,
        post_tasks: list("post_tasks")?,
        handlers: list("handlers")?,
    })
}

fn key_str(k: &Node) -> Result<&str, Error> {
    k.as_str()
        .ok_or_else(|| k.error(format!("expected a keyword here, got {}", k.type_name())))
}

fn opt(node: &Node, key: &str) -> Option<Value> {
    node.get(key).map(value::from_node)
}

/// A list of tasks and blocks.
pub fn load_items(node: &Node, handlers: bool) -> Result<Vec<Item>, Error> {
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
    items.iter().map(|i| load_item(i, handlers)).collect()
}

fn load_item(node: &Node, handler: bool) -> Result<Item, Error> {
    if node.as_map().is_none() {
        return Err(node.error(format!(
            "a task must be a mapping, got {} instead",
            node.type_name()
        )));
    }
    if node.get("block").is_some() {
        return Ok(Item::Block(Arc::new(load_block(node, handler)?)));
    }
    Ok(Item::Task(Arc::new(load_task(node, handler)?)))
}

fn load_block(node: &Node, handler: bool) -> Result<Block, Error> {
    for (k, _) in node.as_map().unwrap_or(&[]) {
        let key = key_str(k)?;
        if !BLOCK_KEYWORDS.contains(&key) {
            return Err(k.error(format!("'{key}' is not a valid attribute for a Block")));
        }
    }
    let part = |key: &str| -> Result<Vec<Item>, Error> {
        match node.get(key) {
            Some(n) => load_items(n, handler),
            None => Ok(Vec::new()),
        }
    };
    Ok(Block {
        name: node.get("name").and_then(Node::scalar_text),
        span: node.span.clone(),
        kw: keywords(node)?,
        block: part("block")?,
        rescue: part("rescue")?,
        always: part("always")?,
    })
}

/// The keywords plays, blocks and tasks share.
fn keywords(node: &Node) -> Result<Keywords, Error> {
    let vars = match node.get("vars") {
        None => Vars::new(),
        Some(v) => vars_of(v)?,
    };
    Ok(Keywords {
        become_: opt(node, "become"),
        become_user: opt(node, "become_user"),
        become_method: opt(node, "become_method"),
        become_flags: opt(node, "become_flags"),
        remote_user: opt(node, "remote_user"),
        connection: opt(node, "connection"),
        environment: opt(node, "environment"),
        ignore_errors: opt(node, "ignore_errors"),
        ignore_unreachable: opt(node, "ignore_unreachable"),
        no_log: opt(node, "no_log"),
        check_mode: opt(node, "check_mode"),
        diff: opt(node, "diff"),
        any_errors_fatal: opt(node, "any_errors_fatal"),
        run_once: opt(node, "run_once"),
        delegate_to: opt(node, "delegate_to"),
        throttle: opt(node, "throttle"),
        timeout: opt(node, "timeout"),
        tags: string_list(node.get("tags"), true)?,
        when: conditions(node.get("when")),
        vars: Arc::new(vars),
    })
}

/// `vars:` as a mapping (or, as Ansible also allows, a list of mappings).
pub fn vars_of(node: &Node) -> Result<Vars, Error> {
    match &node.kind {
        NodeKind::Null => Ok(Vars::new()),
        NodeKind::Map(_) => Ok(value::vars_from_node(node).unwrap_or_default()),
        NodeKind::Seq(items) => {
            let mut vars = Vars::new();
            for item in items {
                let Some(v) = value::vars_from_node(item) else {
                    return Err(item.error(
                        "vars must be specified as a dictionary, or a list of dictionaries",
                    ));
                };
                vars.extend(v);
            }
            Ok(vars)
        }
        _ => Err(node.error(format!(
            "vars must be specified as a dictionary, got {} instead",
            node.type_name()
        ))),
    }
}

fn conditions(node: Option<&Node>) -> Vec<Value> {
    match node {
        None => Vec::new(),
        Some(n) => match &n.kind {
            NodeKind::Seq(items) => items.iter().map(value::from_node).collect(),
            NodeKind::Null => Vec::new(),
            _ => vec![value::from_node(n)],
        },
    }
}

/// A string-or-list keyword (`tags`, `notify`, `listen`); tags split on commas.
fn string_list(node: Option<&Node>, split_commas: bool) -> Result<Vec<String>, Error> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut push = |s: String| {
        if split_commas {
            out.extend(
                s.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty()),
            );
        } else {
            out.push(s);
        }
    };
    match &node.kind {
        NodeKind::Seq(items) => {
            for i in items {
                push(
                    i.scalar_text()
                        .ok_or_else(|| i.error("expected a string here"))?,
                );
            }
        }
        NodeKind::Null => {}
        _ => push(
            node.scalar_text()
                .ok_or_else(|| node.error("expected a string or a list of strings"))?,
        ),
    }
    Ok(out)
}

/// Strips the collection prefix of builtin modules: `ansible.builtin.copy` is `copy`.
pub fn short_module_name(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}

fn load_task(node: &Node, handler: bool) -> Result<Task, Error> {
    let map = node.as_map().unwrap_or(&[]);
    let mut action: Option<(&Node, &Node)> = None;
    let mut loop_: Option<Loop> = None;
    for (k, v) in map {
        let key = key_str(k)?;
        if TASK_KEYWORDS.contains(&key) {
            continue;
        }
        if let Some(kind) = key.strip_prefix("with_") {
            if loop_.is_some() || node.get("loop").is_some() {
                return Err(k.error("a task can have only one loop ('loop' or one 'with_*')"));
            }
            if !matches!(
                kind,
                "items"
                    | "list"
                    | "dict"
                    | "indexed_items"
                    | "sequence"
                    | "together"
                    | "nested"
                    | "flattened"
                    | "subelements"
                    | "fileglob"
                    | "lines"
                    | "random_choice"
                    | "first_found"
            ) {
                return Err(k.error(format!(
                    "the lookup '{kind}' is not available for with_{kind}"
                )));
            }
            loop_ = Some(Loop {
                kind: kind.to_string(),
                value: value::from_node(v),
            });
            continue;
        }
        if let Some((prev, _)) = action {
            return Err(k.error(format!(
                "conflicting action statements: {}, {key}",
                prev.as_str().unwrap_or("")
            )));
        }
        action = Some((k, v));
    }
    let task_name = node.get("name").and_then(Node::scalar_text);
    let named = || match &task_name {
        Some(n) => format!("in the task '{n}'"),
        None => "in a task with no name".to_string(),
    };
    // `action: module args` and `local_action:` spell the module as a value.
    let (module, args_node, delegate_local) =
        match (action, node.get("action"), node.get("local_action")) {
            (Some((k, v)), None, None) => (key_str(k)?.to_string(), Some(v), false),
            (None, Some(a), None) | (None, None, Some(a)) => {
                let local = node.get("local_action").is_some();
                match &a.kind {
                    NodeKind::Str(s) => {
                        let (m, rest) = s
                            .trim()
                            .split_once(char::is_whitespace)
                            .unwrap_or((s.trim(), ""));
                        let synthetic = Node {
                            kind: NodeKind::Str(rest.trim().to_string()),
                            span: a.span.clone(),
                        };
                        return finish_task(
                            node,
                            m.to_string(),
                            Some(&synthetic),
                            local,
                            loop_,
                            handler,
                            task_name,
                        );
                    }
                    NodeKind::Map(_) => {
                        let Some(m) = a.get("module").and_then(Node::as_str) else {
                            return Err(a.error("'action' as a mapping needs a 'module' key"));
                        };
                        let mut rest = a.clone();
                        if let NodeKind::Map(entries) = &mut rest.kind {
                            entries.retain(|(k, _)| k.as_str() != Some("module"));
                        }
                        return finish_task(
                            node,
                            m.to_string(),
                            Some(&rest),
                            local,
                            loop_,
                            handler,
                            task_name,
                        );
                    }
                    _ => return Err(a.error("'action' takes a module name and its arguments")),
                }
            }
            (None, None, None) => {
                return Err(node
                    .error("no module/action detected in task")
                    .context(named()));
            }
            _ => {
                return Err(node
                    .error("a task may have only one of a module, 'action' and 'local_action'")
                    .context(named()));
            }
        };
    let _ = delegate_local;
    finish_task(node, module, args_node, false, loop_, handler, task_name)
}

fn finish_task(
    node: &Node,
    module: String,
    args_node: Option<&Node>,
    local: bool,
    loop_: Option<Loop>,
    handler: bool,
    name: Option<String>,
) -> Result<Task, Error> {
    let action = short_module_name(&module).to_string();
    let at = node
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(module.as_str())))
        .map(|(k, _)| k.span.clone())
        .unwrap_or_else(|| node.span.clone());
    if !crate::modules::is_known(&action) {
        let who = match &name {
            Some(n) => format!("in the task '{n}'"),
            None => "in a task with no name".to_string(),
        };
        return Err(Error::syntax(
            &at,
            format!("couldn't resolve module/action '{module}'. This often indicates a misspelling, missing collection, or incorrect module path."),
        )
        .context(who));
    }
    let mut args = match args_node {
        None => Vec::new(),
        Some(a) => module_args(&action, a)?,
    };
    if let Some(extra) = node.get("args") {
        let Some(extra_map) = extra.as_map() else {
            return Err(extra.error("'args' must be a mapping"));
        };
        for (k, v) in extra_map {
            let key = k.scalar_text().unwrap_or_default();
            if !args.iter().any(|(a, _)| *a == key) {
                args.push((key, value::from_node(v)));
            }
        }
    }
    let mut kw = keywords(node)?;
    if local {
        kw.delegate_to = Some(Value::from("localhost"));
    }
    if node.get("loop").is_some() && loop_.is_some() {
        return Err(node.error("a task can have only one loop ('loop' or one 'with_*')"));
    }
    let loop_ = loop_.or_else(|| {
        node.get("loop").map(|v| Loop {
            kind: "loop".to_string(),
            value: value::from_node(v),
        })
    });
    let loop_control = match node.get("loop_control") {
        None => LoopControl::default(),
        Some(lc) => {
            let Some(entries) = lc.as_map() else {
                return Err(lc.error("loop_control must be a mapping"));
            };
            let mut out = LoopControl::default();
            for (k, v) in entries {
                match k.as_str().unwrap_or("") {
                    "loop_var" => out.loop_var = v.scalar_text(),
                    "index_var" => out.index_var = v.scalar_text(),
                    "label" => out.label = Some(value::from_node(v)),
                    "extended" => out.extended = matches!(v.kind, NodeKind::Bool(true)),
                    "pause" => out.pause = Some(value::from_node(v)),
                    "extended_allitems" | "break_when" => {}
                    other => {
                        return Err(k.error(format!(
                            "'{other}' is not a valid attribute for loop_control"
                        )));
                    }
                }
            }
            out
        }
    };
    if !handler && node.get("listen").is_some() {
        return Err(node
            .get("listen")
            .map(|l| l.error("'listen' is only valid on handlers"))
            .unwrap_or_else(|| node.error("'listen' is only valid on handlers")));
    }
    Ok(Task {
        name,
        action,
        args: value::map(args.into_iter().map(|(k, v)| (Value::from(k), v))),
        span: node.span.clone(),
        kw,
        register: node.get("register").and_then(Node::scalar_text),
        notify: string_list(node.get("notify"), false)?,
        listen: string_list(node.get("listen"), false)?,
        changed_when: conditions(node.get("changed_when")),
        failed_when: conditions(node.get("failed_when")),
        loop_,
        loop_control,
        until: conditions(node.get("until")),
        retries: opt(node, "retries"),
        delay: opt(node, "delay"),
    })
}

/// A module's arguments: a mapping, or free-form text.
fn module_args(action: &str, node: &Node) -> Result<Vec<(String, Value)>, Error> {
    match &node.kind {
        NodeKind::Null => Ok(Vec::new()),
        NodeKind::Map(entries) => Ok(entries
            .iter()
            .map(|(k, v)| (k.scalar_text().unwrap_or_default(), value::from_node(v)))
            .collect()),
        NodeKind::Seq(_) => Err(node.error(format!(
            "the arguments of '{action}' must be a mapping or a string, got a list"
        ))),
        _ => {
            let text = node.scalar_text().unwrap_or_default();
            Ok(parse_free_form(action, &text))
        }
    }
}

/// Ansible's `parse_kv`: `k=v` pairs become arguments; for command-like modules only their own
/// options do, and the rest stays the command line in `_raw_params`.
pub fn parse_free_form(action: &str, text: &str) -> Vec<(String, Value)> {
    let raw_module = RAW_PARAM_MODULES.contains(&action);
    let mut args = Vec::new();
    let mut raw = Vec::new();
    for token in split_args(text) {
        if let Some((k, v)) = token.split_once('=') {
            let is_key = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if is_key && (!raw_module || RAW_PARAM_OPTIONS.contains(&k)) {
                args.push((k.to_string(), Value::from(unquote(v))));
                continue;
            }
        }
        raw.push(token);
    }
    if !raw.is_empty() {
        args.insert(0, ("_raw_params".to_string(), Value::from(raw.join(" "))));
    }
    args
}

/// Splits on spaces outside quotes and Jinja blocks, keeping quotes (Ansible's `split_args`).
pub fn split_args(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match (c, quote) {
            ('\\', Some(_)) if next.is_some() => {
                cur.push(c);
                cur.push(chars[i + 1]);
                i += 2;
                continue;
            }
            ('"' | '\'', None) if depth == 0 => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('{', None) if matches!(next, Some('{' | '%' | '#')) => depth += 1,
            ('}' | '%' | '#', None) if next == Some('}') && depth > 0 => depth -= 1,
            (c, None) if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        cur.push(c);
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        let inner = &v[1..v.len() - 1];
        if b[0] == b'"' {
            return inner.replace("\\\"", "\"");
        }
        return inner.to_string();
    }
    v.to_string()
}

/// Loads a vars file (`vars_files`, `group_vars/x.yml`): a mapping at the top.
pub fn load_vars_file(path: &Path) -> Result<Vars, Error> {
    let source = Source::read(path)?;
    let node = yaml::parse(&source)?;
    if node.is_null() {
        return Ok(Vars::new());
    }
    value::vars_from_node(&node).ok_or_else(|| {
        node.error(format!(
            "a vars file must be a mapping at its top, got {} instead",
            node.type_name()
        ))
    })
}

/// A span for errors about a whole file.
pub fn file_span(path: &Path) -> Option<Span> {
    let _ = PathBuf::from(path);
    None
}

#[allow(dead_code)]
fn internal(msg: &str) -> Error {
    Error::new(ErrorKind::Internal, msg)
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
    fn split_args_respects_quotes_and_jinja() {
        assert_eq!(
            split_args(r#"msg="a b" x={{ y | default('c d') }} z"#),
            vec![r#"msg="a b""#, "x={{ y | default('c d') }}", "z"]
        );
    }
}
