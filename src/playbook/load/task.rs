//! One task (or handler) from its YAML node: the shared keywords, conditions, lists, the module
//! and its arguments, checked against the task keywords and the module registry.

use super::*;
use crate::modules::python::Python;

/// The keywords plays, blocks and tasks share.
pub fn keywords(node: &Node) -> Result<Keywords, Error> {
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
        delegate_facts: opt(node, "delegate_facts"),
        throttle: opt(node, "throttle"),
        timeout: opt(node, "timeout"),
        tags: string_list(node.get("tags"), true)?,
        module_defaults: match node.get("module_defaults") {
            None => Vec::new(),
            Some(n) => match &n.kind {
                NodeKind::Null => Vec::new(),
                NodeKind::Seq(items) => items.iter().map(value::from_node).collect(),
                _ => vec![value::from_node(n)],
            },
        },
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
            for item in items.iter() {
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

pub(super) fn conditions(node: Option<&Node>) -> Vec<Value> {
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
pub(super) fn string_list(node: Option<&Node>, split_commas: bool) -> Result<Vec<String>, Error> {
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
            for i in items.iter() {
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

pub(super) fn load_task(node: &Node, handler: bool, python: &Python) -> Result<Task, Error> {
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
                    | "fileglob"
                    | "lines"
                    | "first_found"
                    | "file"
                    | "env"
                    | "template"
                    | "pipe"
                    | "vars"
                    | "password"
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
                            python,
                        );
                    }
                    NodeKind::Map(_) => {
                        let Some(m) = a.get("module").and_then(Node::as_str) else {
                            return Err(a.error("'action' as a mapping needs a 'module' key"));
                        };
                        let mut rest = a.clone();
                        if let NodeKind::Map(entries) = &mut rest.kind {
                            let entries = Arc::make_mut(entries);
                            entries.retain(|(k, _)| k.as_str() != Some("module"));
                            // `args:` inside the mapping merges into it, as ansible-core's
                            // mod_args does for the old-style form.
                            let nested = entries
                                .iter()
                                .position(|(k, v)| {
                                    k.as_str() == Some("args") && matches!(v.kind, NodeKind::Map(_))
                                })
                                .map(|i| entries.remove(i).1);
                            if let Some(Node {
                                kind: NodeKind::Map(inner),
                                ..
                            }) = nested
                            {
                                entries.extend(inner.iter().cloned());
                            }
                        }
                        return finish_task(
                            node,
                            m.to_string(),
                            Some(&rest),
                            local,
                            loop_,
                            handler,
                            task_name,
                            python,
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
    finish_task(
        node, module, args_node, false, loop_, handler, task_name, python,
    )
}

/// The argument under which a task keeps a templated `args:` (argument splatting) until it
/// runs.
pub const ARGS_SPLAT: &str = "__baton_args_splat";

#[allow(clippy::too_many_arguments)]
pub(super) fn finish_task(
    node: &Node,
    module: String,
    args_node: Option<&Node>,
    local: bool,
    loop_: Option<Loop>,
    handler: bool,
    name: Option<String>,
    python: &Python,
) -> Result<Task, Error> {
    let at = node
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(module.as_str())))
        .map(|(k, _)| k.span.clone())
        .unwrap_or_else(|| node.span.clone());
    // The registry resolves the name (`copy`, `ansible.builtin.copy`,
    // `ansible.posix.authorized_key`): the task goes by the module's short name from here on.
    // A templated module name (`action: {module: "{{ m }}"}`) is resolved per host when the
    // task runs, as ansible-core does.
    // A name nothing native answers to is kept as written, for the controller's ansible-core
    // to find after the whole file is loaded (`Loader::resolve_modules`); so is a short name a
    // module of the user's own may take from a native one, as `ansible.legacy.NAME` (which
    // `ansible.builtin.NAME` never is).
    let templated = value::looks_like_template(&module);
    let shadowed = crate::modules::canonical(&module).is_some()
        && crate::modules::spec_of(&module).is_some()
        && python.shadows(&module);
    let python_name = crate::modules::python::could_be_module(&module)
        && (shadowed || crate::modules::canonical(&module).is_none());
    let legacy = |m: &str| {
        format!(
            "ansible.legacy.{}",
            m.strip_prefix("ansible.legacy.").unwrap_or(m)
        )
    };
    if python_name {
        let noted = if shadowed {
            legacy(&module)
        } else {
            module.clone()
        };
        python.note_unknown(&noted, &at, name.as_deref());
    }
    let Some(action) = (if shadowed {
        Some(legacy(&module))
    } else {
        crate::modules::canonical(&module)
            .map(str::to_string)
            .or_else(|| (templated || python_name).then(|| module.clone()))
    }) else {
        let who = match &name {
            Some(n) => format!("in the task '{n}'"),
            None => "in a task with no name".to_string(),
        };
        return Err(Error::syntax(&at, crate::modules::unknown_action(&module)).context(who));
    };
    let mut args = match args_node {
        None => Vec::new(),
        Some(a) => module_args(&action, a)?,
    };
    if let Some(extra) = node.get("args") {
        let extra_map = match extra.as_map() {
            Some(m) => m,
            // `args: "{{ a_mapping }}"`: templated when the task runs, under the task's own
            // arguments (crate::exec's `templated_args`).
            None if extra
                .scalar_text()
                .is_some_and(|t| crate::template::is_template(&t)) =>
            {
                args.push((ARGS_SPLAT.to_string(), value::from_node(extra)));
                &[][..]
            }
            None => return Err(extra.error("'args' must be a mapping")),
        };
        for (k, v) in extra_map {
            let key = k.scalar_text().unwrap_or_default();
            if !args.iter().any(|(a, _)| *a == key) {
                args.push((key, value::from_node(v)));
            }
        }
    }
    // `_ansible_` names are ansible-core's own; only the free-form command modules may have
    // them in their text (mod_args.py).
    if !matches!(
        action.as_str(),
        "command" | "shell" | "script" | "raw" | "win_command" | "win_shell"
    ) && let Some((k, _)) = args.iter().find(|(k, _)| k.starts_with("_ansible_"))
    {
        // A plain AnsibleError in ansible-core, not a parser error: exit status 1.
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "Invalid parameter specified beginning with keyword '_ansible_' for action \
                 '{module}': '{k}'. The prefix '_ansible_' is reserved for internal use only."
            ),
        )
        .at(&at));
    }
    // An include or import of tasks must name its file (checked while loading, as
    // ansible-core's TaskInclude does).
    if matches!(action.as_str(), "include_tasks" | "import_tasks")
        && !args
            .iter()
            .any(|(k, v)| (k == "_raw_params" || k == "file") && !v.is_none() && !v.is_undefined())
    {
        return Err(Error::syntax(
            &node.span,
            format!("No file specified for {module}"),
        ));
    }
    // include_role/import_role: the files to read are named by strings (checked while
    // loading, as ansible-core's IncludeRole.load does).
    if matches!(action.as_str(), "include_role" | "import_role") {
        for (k, v) in &args {
            if k.ends_with("_from") && v.as_str().is_none() {
                let ty = match v.kind() {
                    minijinja::value::ValueKind::Seq => "list",
                    minijinja::value::ValueKind::Map => "dict",
                    minijinja::value::ValueKind::Bool => "bool",
                    minijinja::value::ValueKind::Number if v.as_i64().is_some() => "int",
                    minijinja::value::ValueKind::Number => "float",
                    _ => "NoneType",
                };
                return Err(Error::syntax(
                    &node.span,
                    format!("Expected a string for {k} but got <class '{ty}'> instead"),
                ));
            }
        }
    }
    let apply_node = args_node
        .and_then(|a| a.get("apply"))
        .or_else(|| node.get("args").and_then(|a| a.get("apply")));
    let apply = match apply_node {
        None => None,
        Some(a) if matches!(action.as_str(), "include_tasks" | "include_role") => {
            if a.as_map().is_none() {
                return Err(a.error("Expected a dict for apply but got a different type"));
            }
            Some(Arc::new(Apply {
                kw: keywords(a)?,
                notify: string_list(a.get("notify"), false)?,
            }))
        }
        Some(a) => {
            return Err(a.error(format!("Invalid options for {action}: apply")));
        }
    };
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
                    "extended_allitems" => {
                        out.extended_allitems = !matches!(v.kind, NodeKind::Bool(false))
                    }
                    "break_when" => out.break_when = conditions(Some(v)),
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
        register: register_name(node.get("register"))?,
        notify: string_list(node.get("notify"), false)?,
        listen: string_list(node.get("listen"), false)?,
        changed_when: conditions(node.get("changed_when")),
        failed_when: conditions(node.get("failed_when")),
        loop_,
        loop_control,
        until: conditions(node.get("until")),
        retries: opt(node, "retries"),
        delay: opt(node, "delay"),
        async_: opt(node, "async"),
        poll: opt(node, "poll"),
        apply,
    })
}

/// A module's arguments: a mapping, or free-form text.
pub(super) fn module_args(action: &str, node: &Node) -> Result<Vec<(String, Value)>, Error> {
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

/// `register`: a variable name, as ansible-core's `validate_variable_name` allows them (ASCII
/// letters, digits and underscores, not starting with a digit, not a Jinja constant).
fn register_name(node: Option<&Node>) -> Result<Option<String>, Error> {
    let Some(node) = node else {
        return Ok(None);
    };
    let (name, type_name) = match &node.kind {
        NodeKind::Null => return Ok(None),
        NodeKind::Str(s) => (Some(s.clone()), None),
        NodeKind::Int(i) => (Some(i.to_string()), Some("int")),
        NodeKind::Float(_) => (node.scalar_text(), Some("float")),
        NodeKind::Bool(b) => (
            Some(if *b { "True" } else { "False" }.to_string()),
            Some("bool"),
        ),
        NodeKind::Seq(_) => (None, Some("list")),
        NodeKind::Map(_) => (None, Some("dict")),
        _ => (node.scalar_text(), None),
    };
    if let (Some(n), None) = (&name, type_name)
        && is_variable_name(n)
    {
        return Ok(name);
    }
    let mut what = match &name {
        Some(n) => format!("name '{n}'"),
        None => "name".to_string(),
    };
    if let Some(t) = type_name {
        what.push_str(&format!(" of type '{t}'"));
    }
    Err(node.error(format!(
        "Invalid 'register' specified: Invalid variable {what}. Variable names must be strings \
         starting with a letter or underscore character, and contain only letters, numbers and \
         underscores."
    )))
}

/// Python's `str.isidentifier()` for ASCII text, less the names Jinja reserves.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(
            name,
            "true" | "false" | "none" | "True" | "False" | "None" | "not"
        )
}
