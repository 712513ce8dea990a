//! The task room: one task fanned out over the active hosts of a batch, and what comes back.
//!
//! Owns [`Runner::run_task`] (the banner, `run_once`, `throttle`, the host jobs run under the
//! forks, `run_once` results registered on every host, failures counted and handed to the
//! failure policy), [`Runner::apply_outcome`] (events, stats, `register`, facts, `notify`),
//! the host job of the include and meta machinery ([`Runner::job`]) and the magic variables a
//! job sees. What one task does on one host (loops, `until`, delegation, conditions, the
//! module call) is `runner.rs`'s.
//!
//! `run_task`, `apply_outcome`, `set_fact_var` and `job` moved here unchanged from `mod.rs`:
//! keep their bodies as they are while the typed module results land (issue 17, item 1).

use super::events::{self, Event, Status};
use super::runner::{self, HostJob};
use super::unwind;
use super::{BatchState, Ctx, Runner};
use crate::diagnostics::{Error, ErrorKind};
use crate::playbook::Task;
use crate::playbook::role::role_task_args;
use crate::template;
use crate::value::{self, Value, Vars};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Runs one host's task; a panic while it runs (a bug in baton) fails the task on that host
/// with the panic's message, as ansible-core fails a task whose module raised, and the run
/// goes on.
pub(super) async fn run_job(job: HostJob) -> runner::HostOutcome {
    let fallback = job.clone();
    let run = async move {
        unwind::fault("task", job.task.name.as_deref().unwrap_or(""));
        job.run().await
    };
    match unwind::CatchUnwind::new(run).await {
        Ok(outcome) => outcome,
        Err(panic) => fallback.failure(Error::new(
            ErrorKind::Internal,
            format!("baton hit an internal error (a bug) running this task: {panic}"),
        )),
    }
}

/// A registered result with `failed: false` added when it has no `failed` key.
pub(super) fn with_failed_false(v: &Value) -> Value {
    if v.get_attr("failed").is_ok_and(|f| !f.is_undefined()) {
        return v.clone();
    }
    let mut pairs: Vec<(Value, Value)> = v
        .try_iter()
        .map(|keys| {
            keys.map(|k| (k.clone(), v.get_item(&k).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    pairs.push((Value::from("failed"), Value::from(false)));
    value::map(pairs)
}

/// A result without one of its keys (a map; anything else as it is).
/// ansible-core's `ansible_search_path` for a task (Base.get_search_path, then the play's
/// directory): its role's directory, the directory of the file the task is written in, and the
/// playbook's directory, each once. Lookups, `template` and `include_tasks` search these.
fn search_path(
    role: Option<&crate::playbook::RoleCtx>,
    task: &Task,
    play_dir: Option<&std::path::Path>,
) -> Value {
    let mut dirs: Vec<String> = Vec::new();
    let mut add = |d: &std::path::Path| {
        let d = crate::template::filters::normpath(&d.display().to_string());
        if !d.is_empty() && !dirs.contains(&d) {
            dirs.push(d);
        }
    };
    if let Some(r) = role {
        add(&r.path);
    }
    let file = std::path::Path::new(&task.span.source.name);
    if (file.is_absolute() || file.exists())
        && let Ok(file) = std::path::absolute(file)
        && let Some(dir) = file.parent()
    {
        add(dir);
    }
    if let Some(d) = play_dir {
        add(d);
    }
    dirs.into_iter().map(Value::from).collect()
}

fn without_key(v: &Value, key: &str) -> Value {
    if v.get_attr(key).is_ok_and(|x| x.is_undefined()) {
        return v.clone();
    }
    match v.try_iter() {
        Ok(keys) => value::map(
            keys.filter(|k| k.as_str() != Some(key))
                .map(|k| (k.clone(), v.get_item(&k).unwrap_or_default()))
                .collect::<Vec<_>>(),
        ),
        Err(_) => v.clone(),
    }
}

impl Runner<'_> {
    /// The name in a task's banner, as ansible-playbook shows it: the name templated with the
    /// variables of `first`, the first host the task runs on (ansible-core 2.19 post-validates
    /// the name with that host's variables, failures shown as `<< error N - ... >>` with a
    /// warning, see `template::render_name`), or with play-level variables when no host is
    /// given (meta tasks); or the action; `role : ` before it inside a role, and
    /// `include_role : NAME` for an unnamed include_role.
    pub(super) fn banner_name(
        &mut self,
        state: &BatchState,
        task: &Arc<Task>,
        ctx: &Ctx,
        first: Option<&str>,
    ) -> String {
        let templated = match (&task.name, first) {
            (Some(n), Some(host)) => {
                let scope = self.job(state, task, ctx, host).scope(None);
                let banner = template::render_name(n, &scope);
                if let Some(w) = &banner.warning {
                    self.reporter.event(&Event::Warning(w));
                }
                // A name that templates to `omit` is no name (the banner shows the action).
                banner.name.filter(|n| n != crate::vars::OMIT)
            }
            (Some(n), None) => Some(
                self.template_play_level(&Value::from(n.as_str()), &ctx.layers.mid)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|_| n.clone()),
            ),
            (None, _) => None,
        };
        let name = match (templated, task.action.as_str()) {
            (Some(n), _) => n,
            // IncludeRole.get_name: `include_role : NAME`, with no role before it.
            (None, "include_role") => {
                return match role_task_args(&task.args) {
                    Ok((role, _, _)) => format!("include_role : {role}"),
                    Err(_) => "include_role".to_string(),
                };
            }
            (None, action) => action.to_string(),
        };
        // ansible-core's Task.get_name: a task of a role (a handler too, named or not) is
        // prefixed with the role's name.
        match &ctx.role {
            Some(r) => format!("{} : {name}", r.name),
            _ => name,
        }
    }

    /// A job for one host, for the include machinery.
    pub(super) fn job(
        &self,
        state: &BatchState,
        task: &Arc<Task>,
        ctx: &Ctx,
        host: &str,
    ) -> HostJob {
        self.job_with(task, ctx, host, self.magic(state, ctx, task))
    }

    /// A host's job with the task's magic variables built once for all its hosts (they are
    /// the same for every host of the task: building them per host is quadratic).
    pub(super) fn job_with(&self, task: &Arc<Task>, ctx: &Ctx, host: &str, magic: Vars) -> HostJob {
        HostJob {
            host: host.to_string(),
            task: task.clone(),
            chain: ctx.job_chain(),
            layers: Arc::new(self.with_exported_roles(&ctx.layers)),
            magic,
            store: self.store.clone(),
            pool: self.pool.clone(),
            opts: self.opts.clone(),
            delegate: None,
            python: self.loader.python.clone(),
        }
    }

    /// The layers with the defaults and vars of the roles included `public` so far.
    fn with_exported_roles(&self, layers: &crate::vars::Layers) -> crate::vars::Layers {
        let roles = self.play_roles.lock().unwrap_or_else(|e| e.into_inner());
        if roles.exported_defaults.is_empty() && roles.exported_vars.is_empty() {
            return layers.clone();
        }
        let mut out = layers.clone();
        out.low.insert(0, roles.exported_defaults.clone());
        // Just above the play's own vars: where ansible-core puts exported role vars.
        let at = 1.min(out.mid.len());
        out.mid.insert(at, roles.exported_vars.clone());
        if let Some((i, _)) = &mut out.per_host
            && *i >= at
        {
            *i += 1;
        }
        out
    }

    pub(super) fn magic(&self, state: &BatchState, ctx: &Ctx, task: &Task) -> Vars {
        // ansible-core: the play's hosts and the batch, less the play's removed hosts (failed,
        // unreachable, ended).
        let going = |list: &[String], also: &dyn Fn(&String) -> bool| -> Value {
            list.iter()
                .filter(|h| !self.removed.contains(*h) && !also(h))
                .map(|h| Value::from(h.as_str()))
                .collect()
        };
        let mut magic = Vars::new();
        match &state.shared {
            // Under free a lane runs one host: its play's hosts are the batch's still going by
            // what the lanes removed so far; the batch is the batch (the lanes race, and
            // ansible-core's free strategy queues a host's next task before it hears of the
            // others' failures).
            Some(shared) => {
                let lanes_removed = shared
                    .removed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let play_hosts = going(&state.batch, &|h| {
                    lanes_removed.contains(h) || self.failed.contains(h)
                });
                magic.insert("play_hosts".into(), play_hosts.clone());
                magic.insert("ansible_play_hosts".into(), play_hosts);
                magic.insert(
                    "ansible_play_batch".into(),
                    state
                        .batch
                        .iter()
                        .map(|h| Value::from(h.as_str()))
                        .collect(),
                );
            }
            None => {
                magic.insert("play_hosts".into(), going(&state.batch, &|_| false));
                magic.insert(
                    "ansible_play_hosts".into(),
                    going(&state.all_hosts, &|_| false),
                );
                magic.insert("ansible_play_batch".into(), going(&state.batch, &|_| false));
            }
        }
        magic.insert(
            "ansible_play_hosts_all".into(),
            state
                .all_hosts
                .iter()
                .map(|h| Value::from(h.as_str()))
                .collect(),
        );
        if let Some(dir) = &self.play_dir {
            magic.insert(
                "playbook_dir".into(),
                Value::from(dir.display().to_string()),
            );
        }
        self.play_roles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .magic(&mut magic);
        magic.insert(
            "ansible_search_path".into(),
            search_path(ctx.role.as_deref(), task, self.play_dir.as_deref()),
        );
        if let Some(r) = &ctx.role {
            magic.insert("role_name".into(), Value::from(r.name.as_str()));
            magic.insert(
                "role_path".into(),
                Value::from(r.path.display().to_string()),
            );
        }
        magic
    }

    /// Runs one task on the active hosts and applies the results and the failure policy.
    pub(super) async fn run_task(
        &mut self,
        state: &mut BatchState,
        task: &Arc<Task>,
        ctx: &Ctx,
        active: Vec<String>,
        handler: bool,
    ) -> Result<Vec<String>, Error> {
        let hosts: Vec<String> = active
            .iter()
            .filter(|h| !state.ended.contains(*h))
            .cloned()
            .collect();
        if hosts.is_empty() {
            return Ok(active);
        }
        if task.action == "meta" {
            return self.run_meta(state, task, ctx, hosts).await;
        }
        let name = self.banner_name(state, task, ctx, hosts.first().map(String::as_str));
        self.reporter.event(&Event::TaskStart {
            name: &name,
            handler,
            id: events::task_id(task),
            origin: &task.span,
            action: &task.action,
            args: events::shown_args(task, &ctx.chain),
            check_mode: events::check_mode_of(task, &ctx.chain, self.opts.check),
        });

        let fan = self.fan_out(state, task, ctx, &hosts)?;
        let mut run_once = fan.run_once;
        // add_host bypasses the host loop: it runs once for the batch, like run_once.
        let inventory = crate::modules::spec_of(&task.action).map(|s| s.inventory);
        let bypass = inventory == Some(crate::modules::Inventory::Once);
        if bypass && state.free {
            let mut e = Error::syntax(
                &task.span,
                format!(
                    "The '{}' module bypasses the host loop, which is currently not supported in the free strategy and would instead execute for every host in the inventory list.",
                    task.action
                ),
            );
            e.kind = ErrorKind::Unsupported;
            return Err(e);
        }
        run_once |= bypass;
        let run_once_kw = run_once;
        if state.free {
            if run_once {
                self.warn_once(
                    "Using run_once with the free strategy is not currently supported. This task will still be executed for every host in the inventory list.",
                );
                run_once = false;
            }
            let fatal = ctx
                .chain
                .iter()
                .rev()
                .find_map(|k| k.any_errors_fatal.as_ref())
                .is_some_and(template::truthy);
            if fatal {
                self.warn_once(
                    "Using any_errors_fatal with the free strategy is not supported, as tasks are executed independently on each host",
                );
            }
        }
        // Ansible's `hosts_left`: the batch less the unreachable, taken before the task runs.
        let hosts_left: Vec<String> = state
            .batch
            .iter()
            .filter(|h| !self.unreachable.contains(*h))
            .cloned()
            .collect();
        let targets: Vec<String> = if bypass {
            hosts.iter().take(1).cloned().collect()
        } else if state.free {
            hosts.clone()
        } else {
            fan.targets
        };

        let chain = ctx.job_chain();
        let layers = Arc::new(self.with_exported_roles(&ctx.layers));
        // `throttle` caps how many hosts run this task at once, below forks.
        let throttle = fan.throttle;
        let width = throttle.map_or(self.opts.forks, |t| t.min(self.opts.forks));
        // Under free, a throttled task's slots are shared by every host's lane.
        let semaphore = match (&state.shared, throttle) {
            (Some(shared), Some(_)) => shared
                .throttles
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(events::task_id(task))
                .or_insert_with(|| Arc::new(Semaphore::new(width.max(1))))
                .clone(),
            _ => Arc::new(Semaphore::new(width.max(1))),
        };
        let mut set = tokio::task::JoinSet::new();
        let magic = self.magic(state, ctx, task);
        // group_by changes the inventory host by host: one at a time, in the batch's order, so
        // groups list their hosts as Ansible's (which takes the results in turn) do.
        let one_by_one = inventory == Some(crate::modules::Inventory::PerHost);
        let mut in_order: std::collections::VecDeque<HostJob> = Default::default();
        // What modules ask the operator (pause) comes back here to be asked (questions.rs).
        let (asker, mut questions) = crate::modules::ask::Asker::channel(&name);
        for host in &targets {
            let job = HostJob {
                host: host.clone(),
                task: task.clone(),
                chain: chain.clone(),
                layers: layers.clone(),
                magic: magic.clone(),
                store: self.store.clone(),
                pool: self.pool.clone(),
                opts: self.opts.clone(),
                delegate: None,
                python: self.loader.python.clone(),
            };
            if one_by_one {
                in_order.push_back(job);
                continue;
            }
            // The permit is taken here, in the batch's order, before the host's job starts:
            // at most `forks` hosts run at once, and they start in order (one after the other
            // with forks 1), as Ansible's workers take hosts in turn.
            let permit = semaphore.clone().acquire_owned().await.ok();
            self.reporter.event(&Event::HostStart {
                host,
                name: &name,
                task: events::task_id(task),
            });
            let worker = self.workers.clone();
            set.spawn(
                self.template_warnings
                    .scope(asker.clone().scope(async move {
                        let _permit = permit;
                        // Under free, the forks are shared by every host's lane.
                        let _worker = match worker {
                            Some(w) => w.acquire_owned().await.ok(),
                            None => None,
                        };
                        run_job(job).await
                    })),
            );
        }
        drop(asker);
        let mut answered = super::questions::Answered::default();

        let mut survivors: Vec<String> = Vec::new();
        // Hosts whose result failed (ignored failures aside), and hosts that went unreachable.
        let mut failed_now: Vec<String> = Vec::new();
        let mut unreachable_now: Vec<String> = Vec::new();
        let mut run_once_result: Option<runner::HostOutcome> = None;
        loop {
            let outcome = match in_order.pop_front() {
                Some(job) => {
                    self.reporter.event(&Event::HostStart {
                        host: &job.host,
                        name: &name,
                        task: events::task_id(task),
                    });
                    run_job(job).await
                }
                None => match tokio::select! {
                    Some(q) = questions.recv() => {
                        self.answer(q, &mut answered);
                        continue;
                    }
                    joined = set.join_next() => joined,
                } {
                    Some(joined) => joined.map_err(|e| {
                        Error::new(
                            ErrorKind::Internal,
                            format!("a task panicked or was cancelled: {e}"),
                        )
                    })?,
                    None => break,
                },
            };
            self.apply_outcome(task, &outcome)?;
            let host = outcome.result.host.clone();
            // A role has run on a host once one of its tasks ran there (skipped and
            // unreachable do not count: ansible-core's `_had_task_run`); Ansible marks it
            // complete with an implicit `meta: role_complete` task tagged `always`, so
            // `--skip-tags always` lets the role run again.
            if let Some(r) = ctx.role.as_ref().filter(|_| self.implicit_meta())
                && !matches!(outcome.result.status, Status::Skipped | Status::Unreachable)
            {
                self.role_ran
                    .entry(r.identity.clone())
                    .or_default()
                    .insert(host.clone());
            }
            if outcome.result.status == Status::Changed && !task.notify.is_empty() {
                let scope = self.store.scope(&host, &layers, magic.clone());
                self.notify(state, task, &host, |t| template::render_str(t, &scope))?;
            }
            match outcome.result.status {
                Status::Failed if !outcome.result.ignored => {
                    if ctx.rescuable {
                        self.note_rescued_failure(&host, task, outcome.registered.clone());
                    }
                    failed_now.push(host)
                }
                Status::Unreachable if !outcome.result.ignored => unreachable_now.push(host),
                _ => survivors.push(host),
            }
            if run_once && targets.last() == Some(&outcome.result.host) {
                run_once_result = Some(outcome);
            }
        }
        // run_once: the one result is registered for every host of the batch; only the host
        // that ran it is counted (a failure stops the others through any_errors_fatal). A task
        // that bypasses the host loop (add_host) registers on its one host alone, as Ansible.
        // Hosts of the batch that are not running this list (an include brought it in for
        // the first host alone) get the result too, as ansible-core gives it to the batch.
        if let Some(outcome) = run_once_result {
            let others = hosts_left
                .iter()
                .filter(|h| !bypass && !hosts.contains(h) && !targets.contains(h));
            for host in hosts.iter().filter(|h| !targets.contains(h)).chain(others) {
                let running = hosts.contains(host);
                if bypass {
                    survivors.push(host.clone());
                    continue;
                }
                if let Some(name) = &task.register {
                    self.store
                        .set_host_var(host, name, outcome.registered.clone());
                }
                // delegate_facts gave the facts to the delegated host alone.
                let delegated_facts =
                    outcome.delegate_facts && outcome.result.delegated_to.is_some();
                if let Some(facts) = outcome.facts.as_ref().filter(|_| !delegated_facts) {
                    for (k, v) in facts {
                        self.set_fact_var(task, host, k, v);
                    }
                }
                if running {
                    survivors.push(host.clone());
                }
            }
        }
        if !ctx.rescuable {
            // A failure inside a block with `rescue` is the rescue's to handle, not counted.
            for host in &failed_now {
                self.fail_host(state, host);
                self.stats.entry(host.clone()).or_default().failed += 1;
            }
        }
        if let Some(shared) = &state.shared {
            // A failed run_once task fails every host of the play, under free too (ansible-core
            // marks them all failed in the iterator).
            if run_once_kw && !ctx.rescuable && failed_now.iter().any(|h| self.failed.contains(h)) {
                shared
                    .fail_all
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                state.failed_all_here = true;
            }
            let mut removed = shared.removed.lock().unwrap_or_else(|e| e.into_inner());
            removed.extend(
                failed_now
                    .iter()
                    .filter(|h| self.failed.contains(*h))
                    .chain(unreachable_now.iter())
                    .cloned(),
            );
        }
        let marked = self.apply_failure_policy(
            state,
            ctx,
            run_once,
            &failed_now,
            &unreachable_now,
            &hosts_left,
            !targets.is_empty(),
        );
        // The hosts that go on: not those this task failed or a policy marked. A host that
        // failed earlier and runs an `always` section goes on through all of it.
        let keep: Vec<String> = active
            .into_iter()
            .filter(|h| {
                (survivors.contains(h) || state.ended.contains(h))
                    && !marked.contains(h)
                    && !self.unreachable.contains(h)
            })
            .collect();
        Ok(keep)
    }

    /// A failure a `rescue` will handle: the rescue and always sections see the task and its
    /// result as `ansible_failed_task` and `ansible_failed_result`, as ansible-core sets them.
    pub(super) fn note_rescued_failure(&self, host: &str, task: &Task, result: Value) {
        let mut t = Vars::new();
        t.insert(
            "name".into(),
            Value::from(task.name.clone().unwrap_or_default()),
        );
        t.insert("action".into(), Value::from(task.action.as_str()));
        t.insert("args".into(), task.args.clone());
        self.store
            .set_host_var(host, "ansible_failed_task", value::from_vars(&t));
        self.store
            .set_host_var(host, "ansible_failed_result", result);
    }

    /// Shows what templating warned about since the last time, before the result it belongs to.
    pub(super) fn show_template_warnings(&mut self) {
        for w in self.template_warnings.take() {
            self.warn_once(&w);
        }
    }

    pub(super) fn apply_outcome(
        &mut self,
        task: &Task,
        outcome: &runner::HostOutcome,
    ) -> Result<(), Error> {
        self.show_template_warnings();
        let host = &outcome.result.host;
        for item in &outcome.items {
            self.reporter.event(&Event::HostResult {
                result: item,
                item: true,
            });
        }
        self.reporter.event(&Event::HostResult {
            result: &outcome.result,
            item: false,
        });
        let stats = self.stats.entry(host.clone()).or_default();
        match outcome.result.status {
            Status::Ok => stats.ok += 1,
            Status::Changed => {
                stats.ok += 1;
                stats.changed += 1;
            }
            Status::Skipped => stats.skipped += 1,
            Status::Failed if outcome.result.ignored => {
                stats.ok += 1;
                stats.ignored += 1;
                if outcome
                    .result
                    .result
                    .get("changed")
                    .is_some_and(|c| c.is_true())
                {
                    stats.changed += 1;
                }
            }
            Status::Failed => {}
            Status::Unreachable if outcome.result.ignored => {
                stats.ok += 1;
                stats.ignored += 1;
            }
            Status::Unreachable => {
                stats.unreachable += 1;
                self.unreachable_at
                    .insert(host.clone(), super::events::task_id(task));
                self.unreachable.insert(host.clone());
                self.removed.insert(host.clone());
            }
        }
        if let Some(spec) = &outcome.broken {
            self.pool.invalidate(spec);
        }
        let cacheable = outcome
            .result
            .result
            .get(crate::modules::set_fact::CACHEABLE)
            .is_some_and(|v| v.is_true());
        if let Some(name) = &task.register {
            // Ansible's registered results say `failed: false` when the task did not fail
            // (a loop's own result does not: its items' do).
            let registered = match outcome.result.status {
                Status::Ok | Status::Changed if task.loop_.is_none() => {
                    with_failed_false(&outcome.registered)
                }
                _ => outcome.registered.clone(),
            };
            let registered = without_key(&registered, crate::modules::set_fact::CACHEABLE);
            self.store.set_host_var(host, name, registered);
        }
        if let Some(facts) = &outcome.facts {
            // delegate_facts: the facts belong to the host the task was delegated to.
            let delegate = outcome
                .result
                .delegated_to
                .as_deref()
                .map(|d| d.split('(').next().unwrap_or(d));
            let owner = match delegate {
                Some(d) if outcome.delegate_facts => d,
                _ => host.as_str(),
            };
            let kind = crate::modules::spec_of(&task.action).map(|s| s.facts);
            if kind == Some(crate::modules::Facts::Host) {
                // Facts named without `ansible_` (getent's `getent_passwd`, setup's
                // `module_setup`) are also variables of that name, as Ansible injects them.
                for (k, v) in facts.iter().filter(|(k, _)| !k.starts_with("ansible_")) {
                    if !k.starts_with('_') {
                        self.store.set_host_var(owner, k, v.clone());
                    }
                }
                for k in facts
                    .keys()
                    .filter(|k| crate::modules::fact_cache::restricted_fact(k))
                {
                    let w = format!("Removed restricted key from module data: {k}");
                    self.reporter.event(&Event::Warning(&w));
                }
                // The module's `ansible_*` names become ansible_facts' names; later gathering
                // adds to what is known (and goes to the fact cache).
                // (gather_facts' own facts carry `_ansible_facts_gathered`, as the action's do.)
                let facts = crate::modules::fact_cache::namespace_facts(facts);
                let merged = self.store.merge_facts(owner, facts);
                if let Some(cache) = &self.opts.fact_cache
                    && let Err(e) = cache.store(owner, &merged)
                {
                    tracing::warn!("cannot write the fact cache for {owner}: {e}");
                }
            } else {
                for (k, v) in facts {
                    self.set_fact_var(task, owner, k, v);
                }
                // `set_fact: cacheable: true`: the variables are host facts too, kept in the
                // fact cache when there is one (ansible-core's set_host_facts).
                if cacheable {
                    let merged = self.store.merge_facts(owner, facts.clone());
                    if let Some(cache) = &self.opts.fact_cache
                        && let Err(e) = cache.store(owner, &merged)
                    {
                        tracing::warn!("cannot write the fact cache for {owner}: {e}");
                    }
                }
            }
        }
        Ok(())
    }

    /// Keeps a variable a task set on a host (`set_fact`, `include_vars`). What `include_vars`
    /// read is the user's own text, templated when used; everything else is data.
    pub(super) fn set_fact_var(&self, task: &Task, host: &str, key: &str, value: &Value) {
        if crate::modules::spec_of(&task.action)
            .is_some_and(|s| s.facts == crate::modules::Facts::Files)
        {
            self.store.set_host_var_from_file(host, key, value.clone());
        } else {
            self.store.set_host_var(host, key, value.clone());
        }
    }
}

#[cfg(test)]
mod tests {

    use crate::exec::testkit;

    #[test]
    fn run_once_runs_on_one_host_and_registers_its_result_on_every_host() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: once
      debug: msg=hello
      run_once: true
      register: r
    - name: check
      fail: msg="{{ r }}"
      when: r.msg != 'hello'
"#;
        let ran = testkit::play(book, 3);
        assert_eq!(ran.hosts("once", "ok"), ["h1"]);
        assert_eq!(ran.hosts("check", "skipped").len(), 3);
        assert_eq!(ran.stats("h2").ok, 0);
    }

    #[test]
    fn results_are_counted_and_facts_set_per_host() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: fact
      set_fact:
        mine: "{{ inventory_hostname }}"
    - name: changed
      debug: msg=x
      changed_when: mine == 'h1'
    - name: ignored
      fail: msg=no
      when: mine == 'h2'
      ignore_errors: true
"#;
        let ran = testkit::play(book, 2);
        assert_eq!(ran.hosts("changed", "changed"), ["h1"]);
        assert_eq!(ran.hosts("ignored", "ignored"), ["h2"]);
        let (h1, h2) = (ran.stats("h1"), ran.stats("h2"));
        assert_eq!((h1.ok, h1.changed, h1.skipped, h1.ignored), (2, 1, 1, 0));
        assert_eq!((h2.ok, h2.changed, h2.skipped, h2.ignored), (3, 0, 0, 1));
        assert_eq!(ran.outcome.exit_code, 0);
    }
}
