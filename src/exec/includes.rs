//! The includes room: `include_tasks` and `include_role` at run time.
//!
//! Owns how an include is decided per host (conditions, loop items, the target), grouped by
//! target, loaded (and its load reported before any of it runs, as ansible-playbook does), and
//! run in lockstep on the hosts that included it; the include's own failures (a missing file or
//! role is a host failure like any other); and the recursion limit ([`MAX_INCLUDE_DEPTH`]),
//! past which the run stops with its recap. Static `import_*` is the loader's
//! (`crate::playbook::load`): it is resolved before the run.

use super::events::{self, Event};
use super::handlers::flatten_handlers;
use super::runner;
use super::{BatchState, Ctx, Runner};
use crate::diagnostics::{Error, ErrorKind};
use crate::playbook::load::{ItemCtx, load_tasks_file, resolve_tasks_file};
use crate::playbook::role::{RoleFiles, load_role, role_task_args};
use crate::playbook::{Item, Keywords, Task};
use crate::value::{self, Value, Vars};
use std::sync::Arc;

/// What an include brought in.
pub(super) struct IncludedFile {
    items: Vec<Item>,
    /// The role's name, for an included role.
    role: Option<String>,
    /// An included role's handlers.
    handlers: Vec<Item>,
}

/// How deep `include_tasks`/`include_role` may nest. ansible-core has no limit of its own but
/// Python's recursion limit, which a file that includes itself reaches after about 250 levels
/// ("maximum recursion depth exceeded", exit 250, no recap); a recursion that ends by a `when:`
/// runs there up to that depth. baton allows four times as many, then fails the include on the
/// host with the chain of includes and ends the run, with its recap (see
/// `Runner::stop_run_on_deep_includes`). The executor recurses once per level: see
/// `crate::cli::MAIN_STACK_BYTES`.
pub const MAX_INCLUDE_DEPTH: usize = 1000;

/// The error for an include nested deeper than [`MAX_INCLUDE_DEPTH`]: the chain, with a cycle
/// that repeats (a file including itself, two files including each other) written once with
/// its count.
pub(super) fn include_too_deep(chain: &[String], next: String) -> Error {
    let mut links: Vec<&str> = chain.iter().map(String::as_str).collect();
    links.push(&next);
    let mut parts = Vec::new();
    let mut i = 0;
    while i < links.len() {
        // The shortest cycle starting here that repeats most, if any.
        let mut best = (1, 1);
        for len in 1..=8.min(links.len() - i) {
            let mut reps = 1;
            while i + (reps + 1) * len <= links.len()
                && links[i..i + len] == links[i + reps * len..i + (reps + 1) * len]
            {
                reps += 1;
            }
            if reps > 1 && reps * len > best.0 * best.1 {
                best = (len, reps);
            }
        }
        let (len, reps) = best;
        let cycle = links[i..i + len].join(", then ");
        if reps > 1 {
            parts.push(format!("{reps} times: {cycle}"));
        } else {
            parts.push(cycle);
        }
        i += len * reps;
    }
    Error::new(
        ErrorKind::Syntax,
        format!(
            "includes nest more than {MAX_INCLUDE_DEPTH} levels deep (an include that never \
             stops including itself?): {}",
            parts.join("; ")
        ),
    )
}

/// `include_role`'s target travels as one string: the name, then the `_from` files.
pub(super) fn serde_role_files(target: &str) -> RoleFiles {
    let mut parts = target.split('\u{1f}').skip(1);
    let mut next = || parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    RoleFiles {
        tasks_from: next(),
        vars_from: next(),
        defaults_from: next(),
        handlers_from: next(),
    }
}

/// Encodes `include_role`'s arguments for grouping hosts (see [`serde_role_files`]).
pub(crate) fn role_target(args: &Value) -> Result<String, String> {
    let (name, files, _) = role_task_args(args)?;
    // `public: true`: the role's defaults and vars are the play's from then on.
    let public = crate::playbook::role::role_public(crate::playbook::role::public_arg(args), false);
    Ok([
        name,
        files.tasks_from.unwrap_or_default(),
        files.vars_from.unwrap_or_default(),
        files.defaults_from.unwrap_or_default(),
        files.handlers_from.unwrap_or_default(),
        if public { "public" } else { "" }.to_string(),
    ]
    .join("\u{1f}"))
}

impl Runner<'_> {
    /// `include_tasks` / `include_role`: decided per host (conditions, loop items, the file),
    /// then each distinct file runs on the hosts that included it, in lockstep.
    pub(super) async fn run_include(
        &mut self,
        state: &mut BatchState,
        task: &Arc<Task>,
        ctx: &Ctx,
        active: Vec<String>,
    ) -> Result<Vec<String>, Error> {
        let hosts: Vec<String> = active
            .iter()
            .filter(|h| !state.ended.contains(*h))
            .cloned()
            .collect();
        if hosts.is_empty() {
            return Ok(active);
        }
        let name = self.banner_name(state, task, ctx, hosts.first().map(String::as_str));
        self.reporter.event(&Event::TaskStart {
            name: &name,
            handler: ctx.handler,
            id: events::task_id(task),
            origin: &task.span,
            action: &task.action,
            args: events::shown_args(task, &ctx.chain),
            check_mode: events::check_mode_of(task, &ctx.chain, self.opts.check),
        });
        // `run_once`: the include is decided, and what it brings in runs, on the first host
        // alone.
        let fan = self.fan_out(state, task, ctx, &hosts)?;
        let (hosts, passed_over): (Vec<String>, Vec<String>) = if fan.run_once && !state.free {
            let others = hosts
                .iter()
                .filter(|h| !fan.targets.contains(h))
                .cloned()
                .collect();
            (fan.targets, others)
        } else {
            (hosts, Vec::new())
        };
        // Per host: the included target and the loop item's variables, or a skip/failure.
        let mut groups: Vec<(String, Option<Vars>, Vec<String>)> = Vec::new();
        let mut failed_now: Vec<String> = Vec::new();
        let magic = self.magic(state, ctx, task);
        for host in &hosts {
            self.reporter.event(&Event::HostStart {
                host,
                name: &name,
                task: events::task_id(task),
            });
            let job = self.job_with(task, ctx, host, magic.clone());
            let decisions = job.include_decisions();
            match decisions {
                Err(e) => {
                    let outcome = job.failure(e);
                    self.apply_outcome(task, &outcome)?;
                    if outcome.result.ignored {
                        continue;
                    }
                    if ctx.rescuable {
                        self.note_rescued_failure(host, task, outcome.registered.clone());
                    }
                    failed_now.push(host.clone());
                    if !ctx.rescuable {
                        self.fail_host(state, host);
                        self.stats.entry(host.clone()).or_default().failed += 1;
                    }
                }
                Ok(None) => {
                    let outcome = job.skipped_outcome();
                    self.apply_outcome(task, &outcome)?;
                }
                Ok(Some(list)) => {
                    for (target, item_vars) in list {
                        match groups.iter_mut().find(|(t, v, _)| {
                            *t == target
                                && v.as_ref().map(value::from_vars)
                                    == item_vars.as_ref().map(value::from_vars)
                        }) {
                            Some((_, _, hs)) => hs.push(host.clone()),
                            None => groups.push((target, item_vars, vec![host.clone()])),
                        }
                    }
                }
            }
        }
        let mut survivors: Vec<String> = hosts
            .iter()
            .filter(|h| !failed_now.contains(h))
            .cloned()
            .collect();
        // Load every included file first and report it, as ansible-playbook does, then run them.
        let mut ready = Vec::new();
        for (target, item_vars, group_hosts) in groups {
            let link = format!("{} includes {}", task.span.location(), target);
            let loaded = if ctx.includes.len() >= MAX_INCLUDE_DEPTH {
                Err(include_too_deep(&ctx.includes, link.clone()).at(&task.span))
            } else {
                self.load_included(task, ctx, &target)
            };
            // Ansible warns while it reads the file, before it reports the include.
            self.show_load_warnings();
            match loaded {
                Ok(IncludedFile {
                    items,
                    role,
                    handlers: role_handlers,
                }) => {
                    let shown = match &role {
                        Some(r) => r.clone(),
                        None => {
                            let dir = std::path::Path::new(&task.span.source.name)
                                .parent()
                                .map(|p| p.to_path_buf())
                                .unwrap_or_default();
                            resolve_tasks_file(&target, &dir, ctx.role.as_deref(), &self.loader)
                                .map(|p| {
                                    std::fs::canonicalize(&p).unwrap_or(p).display().to_string()
                                })
                                .unwrap_or(target.clone())
                        }
                    };
                    self.reporter.event(&Event::Included {
                        path: &shown,
                        hosts: &group_hosts,
                        item: item_vars
                            .as_ref()
                            .and_then(|v| {
                                v.get(runner::ITEM_LABEL).or_else(|| {
                                    let name = v.get("ansible_loop_var")?.as_str()?.to_string();
                                    v.get(&name)
                                })
                            })
                            .map(runner::label_text),
                        task: events::task_id(task),
                    });
                    for h in &group_hosts {
                        self.stats.entry(h.clone()).or_default().ok += 1;
                    }
                    ready.push((items, role, role_handlers, item_vars, group_hosts, link));
                }
                // A file that does not parse ends the run, as ansible-core re-raises its
                // AnsibleParserError (a missing file or role is the host's failure).
                Err(e)
                    if e.kind == ErrorKind::Syntax
                        && e.span
                            .as_ref()
                            .is_some_and(|s| s.source.name != task.span.source.name)
                        && ctx.includes.len() < MAX_INCLUDE_DEPTH =>
                {
                    return Err(e);
                }
                Err(e) => {
                    let too_deep = ctx.includes.len() >= MAX_INCLUDE_DEPTH;
                    for h in &group_hosts {
                        let job = self.job(state, task, ctx, h);
                        let mut outcome = job.failure(e.clone());
                        // Nesting too deep stops the run: no ignore_errors lets it pass.
                        outcome.result.ignored &= !too_deep;
                        self.apply_outcome(task, &outcome)?;
                        if outcome.result.ignored {
                            continue;
                        }
                        if ctx.rescuable {
                            self.note_rescued_failure(h, task, outcome.registered.clone());
                        }
                        survivors.retain(|s| s != h);
                        failed_now.push(h.clone());
                        if !ctx.rescuable || too_deep {
                            self.fail_host(state, h);
                            self.stats.entry(h.clone()).or_default().failed += 1;
                        }
                    }
                    if too_deep {
                        self.stop_run_on_deep_includes(state);
                    }
                }
            }
        }
        // The include's own failures (a condition, a missing file or role) go through the
        // failure policy before any included task runs, as ansible-core processes the include's
        // results before the included blocks join the hosts' task lists.
        let hosts_left: Vec<String> = state
            .batch
            .iter()
            .filter(|h| !self.unreachable.contains(*h))
            .cloned()
            .collect();
        let marked =
            self.apply_failure_policy(state, ctx, false, &failed_now, &[], &hosts_left, true);
        survivors.retain(|h| !marked.contains(h));
        if let Some(shared) = &state.shared {
            let mut removed = shared.removed.lock().unwrap_or_else(|e| e.into_inner());
            removed.extend(
                failed_now
                    .iter()
                    .filter(|h| self.failed.contains(*h))
                    .cloned(),
            );
        }
        for (items, _role, role_handlers, item_vars, group_hosts, link) in ready {
            let group_hosts: Vec<String> = group_hosts
                .into_iter()
                .filter(|h| survivors.contains(h))
                .collect();
            if group_hosts.is_empty() || state.over {
                continue;
            }
            if !role_handlers.is_empty() {
                let list = Arc::make_mut(&mut state.handlers);
                flatten_handlers(&role_handlers, ctx, list);
            }
            let mut ictx = ctx.clone();
            // The include's own keywords (when, run_once, become...) are the include's alone:
            // what it brings in inherits from the include's parents (ansible-core's tasks skip
            // a parent that is not statically loaded), `apply` aside. `ctx` is the include's
            // context: its keywords are the last link of the chain.
            ictx.chain.pop();
            if ictx
                .layers
                .mid
                .last()
                .is_some_and(|l| Arc::ptr_eq(l, &task.kw.vars))
            {
                ictx.layers.mid.pop();
            }
            // The include's vars are include params for what it brings in: above set_fact
            // and registered results (ansible-core's `get_include_params`).
            if !task.kw.vars.is_empty() {
                ictx.layers.high.push(task.kw.vars.clone());
            }
            if let Some(v) = item_vars {
                ictx.layers.mid.push(Arc::new(v));
            }
            let mut includes = Vec::with_capacity(ctx.includes.len() + 1);
            includes.extend(ctx.includes.iter().cloned());
            includes.push(link);
            ictx.includes = Arc::new(includes);
            // An included file does not inherit the include's tags (Ansible's `apply` aside).
            ictx.tags = ictx
                .tags
                .iter()
                .filter(|t| !task.kw.tags.contains(t))
                .cloned()
                .collect();
            // `apply`: its keywords are a block around what was included.
            if let Some(apply) = &task.apply {
                ictx = ictx.enter(&apply.kw, None);
            }
            let after = self
                .run_items(state, &items, ictx, group_hosts.clone())
                .await?;
            survivors.retain(|h| !group_hosts.contains(h) || after.contains(h));
        }
        Ok(active
            .into_iter()
            .filter(|h| survivors.contains(h) || passed_over.contains(h) || state.ended.contains(h))
            .collect())
    }

    /// Includes nested past [`MAX_INCLUDE_DEPTH`] end the run, as ansible-core's recursion
    /// error ends it, but with the recap: were it a host failure like others, a `rescue` or
    /// `ignore_errors` would let the host go on to the next include, which recurses again, and
    /// a file with two includes of itself would take 2^1000 steps to end.
    pub(super) fn stop_run_on_deep_includes(&mut self, state: &mut BatchState) {
        self.reporter.event(&Event::PlayAborted {
            reason: &format!(
                "ERROR! includes nest more than {MAX_INCLUDE_DEPTH} levels deep: the run stops"
            ),
        });
        state.over = true;
        state.break_play = true;
        self.stopped = true;
        // Under `free`, every host's lane stops too (and the play ends).
        if let Some(shared) = &state.shared {
            for flag in [&shared.end_batch, &shared.end_play] {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }

    /// The handlers of the roles `import_role` brought in while a file was being loaded (and
    /// the list emptied): they join the handlers, as for a play's imports.
    fn imported_role_handlers(&self) -> Vec<Item> {
        self.loader
            .imported_role_handlers
            .lock()
            .map(|mut h| std::mem::take(&mut *h))
            .unwrap_or_default()
    }

    /// The items of an included tasks file, or of an included role (its blocks carry it) with
    /// the role's name and its handlers.
    pub(super) fn load_included(
        &mut self,
        task: &Task,
        ctx: &Ctx,
        target: &str,
    ) -> Result<IncludedFile, Error> {
        let dir = std::path::Path::new(&task.span.source.name)
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        if task.action == "include_tasks" {
            let ictx = ItemCtx {
                loader: &self.loader,
                dir: dir.clone(),
                role: ctx.role.clone(),
                // A handler's include_tasks reads its file as handlers.
                handler: ctx.handler,
                depth: 1,
            };
            let path = resolve_tasks_file(target, &dir, ctx.role.as_deref(), &self.loader)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        crate::playbook::load::missing_tasks_file(&self.loader, target),
                    )
                    .at(&task.span)
                })?;
            // Read by its absolute path, so errors inside it say where it is, as ansible-core.
            let path = std::fs::canonicalize(&path).unwrap_or(path);
            self.imported_role_handlers();
            let mut items = load_tasks_file(&path, &ictx)?;
            self.loader.resolve_modules()?;
            // `notify` on the include goes to the tasks that notify nothing themselves.
            crate::playbook::load::inherit_notify(&mut items, &task.notify);
            if let Some(apply) = &task.apply {
                crate::playbook::load::inherit_notify(&mut items, &apply.notify);
            }
            return Ok(IncludedFile {
                items,
                role: None,
                handlers: self.imported_role_handlers(),
            });
        }
        let files: RoleFiles = serde_role_files(target);
        let name = target.split('\u{1f}').next().unwrap_or(target);
        self.imported_role_handlers();
        let mut loaded = load_role(
            name,
            &task.span,
            Vars::new(),
            Keywords::default(),
            &files,
            &self.loader,
            1,
        )?;
        self.loader.resolve_modules()?;
        // include_role runs its role even where it ran before (its allow_duplicates defaults to
        // true); the role's dependencies follow the usual rule.
        let allow = role_task_args(&task.args)
            .map(|(_, _, a)| a)
            .unwrap_or(true);
        loaded.ctx = Arc::new(crate::playbook::role::from_include(
            (*loaded.ctx).clone(),
            allow,
        ));
        let role_name = loaded.ctx.name.clone();
        if target.split('\u{1f}').nth(5) == Some("public") {
            let mut roles = self.play_roles.lock().unwrap_or_else(|e| e.into_inner());
            let (mut defaults, mut vars) = (Vars::new(), Vars::new());
            loaded.merge_vars_into(&mut defaults, &mut vars);
            Arc::make_mut(&mut roles.exported_defaults).extend(defaults);
            Arc::make_mut(&mut roles.exported_vars).extend(vars);
        }
        // The included role joins the play's roles, as ansible-core's IncludeRole appends it
        // to `play.roles` each time it is included.
        {
            let mut roles = self.play_roles.lock().unwrap_or_else(|e| e.into_inner());
            roles.roles.push(role_name.clone());
            let mut deps = Vec::new();
            loaded.dependency_names(&mut deps);
            for d in deps {
                if !roles.dependencies.contains(&d) {
                    roles.dependencies.push(d);
                }
            }
        }
        let mut new_handlers = Vec::new();
        let mut items = loaded.into_items(&mut new_handlers);
        crate::playbook::load::inherit_notify(&mut items, &task.notify);
        if let Some(apply) = &task.apply {
            crate::playbook::load::inherit_notify(&mut items, &apply.notify);
        }
        new_handlers.extend(self.imported_role_handlers());
        Ok(IncludedFile {
            items,
            role: Some(role_name),
            handlers: new_handlers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::testkit;

    #[test]
    fn a_too_deep_include_names_the_repeating_cycle_once_with_its_count() {
        let e = include_too_deep(&testkit::hosts(&["a", "a", "a"]), "a".into());
        assert!(e.message.contains("4 times: a"), "{}", e.message);
        let e = include_too_deep(&testkit::hosts(&["top", "a", "b", "a", "b"]), "a".into());
        assert!(
            e.message.ends_with(": top; 2 times: a, then b; a"),
            "{}",
            e.message
        );
        assert!(e.message.contains(&MAX_INCLUDE_DEPTH.to_string()));
    }

    #[test]
    fn include_role_arguments_travel_as_one_target_and_come_back() {
        let args = value::map([
            ("name", Value::from("web")),
            ("tasks_from", Value::from("setup")),
            ("handlers_from", Value::from("h")),
        ]);
        let target = role_target(&args).unwrap();
        assert_eq!(target.split('\u{1f}').next(), Some("web"));
        let files = serde_role_files(&target);
        assert_eq!(files.tasks_from.as_deref(), Some("setup"));
        assert_eq!(files.vars_from, None);
        assert_eq!(files.defaults_from, None);
        assert_eq!(files.handlers_from.as_deref(), Some("h"));
        let plain =
            serde_role_files(&role_target(&value::map([("name", Value::from("db"))])).unwrap());
        assert_eq!(plain.tasks_from, None);
    }

    #[test]
    fn each_distinct_include_runs_on_the_hosts_that_included_it() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: include
      include_tasks: inc.yml
      loop: [1, 2]
      when: inventory_hostname != 'h3'
"#;
        let inc = "- name: included\n  debug: msg={{ item }}\n";
        let ran = testkit::play_with(book, &[("inc.yml", inc)], 3, testkit::options());
        let included: Vec<&String> = ran
            .lines
            .iter()
            .filter(|l| l.starts_with("included "))
            .collect();
        assert_eq!(
            included,
            ["included inc.yml h1,h2", "included inc.yml h1,h2"]
        );
        assert_eq!(
            ran.lines.iter().filter(|l| *l == "task included").count(),
            2
        );
        assert_eq!(ran.stats("h3").skipped, 1);
    }

    #[test]
    fn a_missing_include_is_a_host_failure_a_rescue_handles() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - name: include
          include_tasks: "{{ 'missing.yml' if inventory_hostname == 'h1' else 'inc.yml' }}"
      rescue:
        - name: rescued
          debug: msg=rescued
    - name: unrescued
      include_tasks: missing.yml
      when: inventory_hostname == 'h2'
    - name: last
      debug: msg=last
"#;
        let inc = "- name: included\n  debug: msg=ok\n";
        let ran = testkit::play_with(book, &[("inc.yml", inc)], 2, testkit::options());
        assert_eq!(ran.hosts("include", "failed"), ["h1"]);
        assert_eq!(ran.hosts("rescued", "ok"), ["h1"]);
        assert_eq!(ran.hosts("included", "ok"), ["h2"]);
        assert_eq!(ran.hosts("unrescued", "failed"), ["h2"]);
        assert_eq!(ran.hosts("last", "ok"), ["h1"]);
        assert_eq!(ran.stats("h1").rescued, 1);
        assert_eq!(ran.stats("h2").failed, 1);
    }

    #[test]
    fn an_include_that_includes_itself_until_a_condition_stops_it() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - include_tasks: again.yml
"#;
        let again = r#"
- set_fact:
    depth: "{{ depth | default(0) | int + 1 }}"
- include_tasks: again.yml
  when: depth | int < 5
"#;
        let ran = testkit::play_with(book, &[("again.yml", again)], 1, testkit::options());
        assert_eq!(
            ran.lines
                .iter()
                .filter(|l| l.starts_with("included again.yml"))
                .count(),
            5
        );
        assert_eq!(ran.outcome.exit_code, 0);
    }
}
