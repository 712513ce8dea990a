//! Static imports: `import_playbook` (its plays in place, with its vars, tags and `when`),
//! `import_tasks` and `import_role` (their tasks in place), resolved while loading. Their
//! names may be templates, rendered with what is known then ([`super::statics`]).

use super::*;

/// `import_playbook`: the playbook's plays in place. Its path and `tags` are templated
/// with its own vars and the extra vars; its vars override each play's own, its tags join
/// theirs, and its `when` applies to every task of them (fact gathering included), as
/// ansible-core's PlaybookInclude does.
pub(super) fn import_playbook(
    entry: &Node,
    target: &Node,
    dir: &Path,
    loader: &Loader,
    plays: &mut Vec<Play>,
    depth: usize,
) -> Result<(), Error> {
    let Some(name) = target.as_str() else {
        return Err(target.error("import_playbook takes the path of a playbook"));
    };
    let vars = match entry.get("vars") {
        Some(v) => vars_of(v)?,
        None => Vars::new(),
    };
    // Its vars stay templates, for later (ansible-core's post_validate leaves `vars` be).
    let mut vars = vars;
    let (name, tags) = loader.with_static_vars(&vars, || -> Result<_, Error> {
        let name = loader.template_static_name(name, &target.span)?;
        let mut tags = Vec::new();
        for t in string_list(entry.get("tags"), true)? {
            let span = entry
                .get("tags")
                .map(|n| n.span.clone())
                .unwrap_or_else(|| entry.span.clone());
            push_tags(&loader.template_static(&Value::from(t), &span)?, &mut tags);
        }
        Ok((name, tags))
    })?;
    let when = conditions(entry.get("when"));
    let sub = dir.join(&name);
    let mut loaded = Vec::new();
    loader
        .with_static_vars(&vars, || load_into(&sub, loader, &mut loaded, depth + 1))
        .map_err(|e| {
            if e.span.is_none() {
                e.at(&target.span)
            } else {
                e
            }
        })?;
    // A `tags` variable among the import's vars is more tags (comma-separated).
    let var_tags = vars.shift_remove("tags");
    for mut play in loaded {
        if !vars.is_empty() {
            let mut all = (*play.kw.vars).clone();
            all.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            play.kw.vars = Arc::new(all);
        }
        if let Some(t) = &var_tags {
            play.kw.tags.extend(
                t.to_string()
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            );
        }
        for t in &tags {
            if !play.kw.tags.contains(t) {
                play.kw.tags.push(t.clone());
            }
        }
        let mut all_when = when.clone();
        all_when.append(&mut play.kw.when);
        play.kw.when = all_when;
        plays.push(play);
    }
    Ok(())
}

/// A templated tag's value as tags: a list gives each of its items, anything else itself.
pub fn push_tags(v: &Value, out: &mut Vec<String>) {
    match v.kind() {
        minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Iterable => {
            if let Ok(items) = v.try_iter() {
                for i in items {
                    out.push(i.to_string());
                }
            }
        }
        _ => out.push(v.to_string()),
    }
}

/// `import_tasks`: the file's tasks, in place, with the import's keywords applied to them all.
pub(super) fn import_tasks(task: Task, ctx: &ItemCtx) -> Result<Item, Error> {
    let Some(name) = include_target(&task.args) else {
        return Err(Error::syntax(
            &task.span,
            "import_tasks needs the name of a tasks file",
        ));
    };
    // Static: templated now, with what is known while loading (play vars, extra vars).
    let name = ctx.loader.with_static_vars(&task.kw.vars, || {
        ctx.loader.template_static_name(&name, &task.span)
    })?;
    if task.loop_.is_some() {
        return Err(Error::syntax(
            &task.span,
            "import_tasks cannot be used with a loop; use include_tasks",
        ));
    }
    let path =
        resolve_tasks_file(&name, &ctx.dir, ctx.role.as_deref(), ctx.loader).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, missing_tasks_file(ctx.loader, &name)).at(&task.span)
        })?;
    let mut items = load_tasks_file(&path, ctx)
        .map_err(|e| e.context(format!("imported from {}", task.span.location())))?;
    // `notify` on the import goes to the tasks that notify nothing themselves.
    inherit_notify(&mut items, &task.notify);
    Ok(Item::Block(Arc::new(Block {
        name: task.name.clone(),
        span: task.span.clone(),
        kw: task.kw.clone(),
        role: None,
        block: items,
        rescue: Vec::new(),
        always: Vec::new(),
    })))
}

/// `import_role`: the role's tasks in place; its handlers join the play's (after its own).
pub(super) fn import_role(task: Task, ctx: &ItemCtx) -> Result<Item, Error> {
    let args = ctx.loader.with_static_vars(&task.kw.vars, || {
        ctx.loader.template_static(&task.args, &task.span)
    })?;
    let (name, files, allow) =
        role::role_task_args(&args).map_err(|m| Error::syntax(&task.span, m))?;
    let mut loaded = role::load_role(
        &name,
        &task.span,
        Vars::new(),
        task.kw.clone(),
        &files,
        ctx.loader,
        ctx.depth + 1,
    )?;
    loaded.ctx = Arc::new(role::from_include((*loaded.ctx).clone(), allow));
    if role::role_public(role::public_arg(&args), true)
        && let Ok(mut exposed) = ctx.loader.imported_role_vars.lock()
    {
        let (defaults, vars) = &mut *exposed;
        loaded.merge_vars_into(defaults, vars);
    }
    if let Ok(mut names) = ctx.loader.imported_role_names.lock() {
        let mut deps = Vec::new();
        loaded.dependency_names(&mut deps);
        names.push((loaded.ctx.name.clone(), deps));
    }
    let mut handlers = Vec::new();
    let items = loaded.into_items(&mut handlers);
    if !ctx.handler
        && let Ok(mut imported) = ctx.loader.imported_role_handlers.lock()
    {
        imported.extend(handlers);
    }
    Ok(Item::Block(Arc::new(Block {
        name: task.name.clone(),
        span: task.span.clone(),
        kw: Keywords::default(),
        role: None,
        block: items,
        rescue: Vec::new(),
        always: Vec::new(),
    })))
}
