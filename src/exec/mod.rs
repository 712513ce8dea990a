//! The executor: runs a playbook against an inventory, the way ansible-playbook's linear
//! strategy does.
//!
//! For each play it selects the hosts, cuts them into `serial` batches ([`batches`]), and for each
//! batch walks the play's sections in lockstep: every task runs on all active hosts of the batch
//! at once (bounded by `forks`), and the next task starts when all have answered. Blocks route
//! failed hosts to `rescue` and everyone to `always`; handlers run at the end of each section.
//! After every task the failure policy is applied: `any_errors_fatal`, `max_fail_percentage`
//! (strictly greater, counted per batch, unreachable hosts apart), and the stop when a whole
//! batch has failed. What happens is told to a [`events::Reporter`] as events; the executor
//! never prints.

pub mod batches;
pub mod events;
mod pool;
mod runner;

use crate::connection::BoxFuture;
use crate::diagnostics::{Error, ErrorKind};
use crate::inventory::Inventory;
use crate::playbook::{Item, Keywords, Play, Playbook, Task};
use crate::template;
use crate::value::{self, Value, Vars};
use crate::vars::VarStore;
use events::{Event, HostStats, Reporter, Status};
use indexmap::IndexMap;
use pool::Pool;
use runner::HostJob;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How a run is to be done: the command line's options.
#[derive(Debug, Clone)]
pub struct Options {
    pub forks: usize,
    pub check: bool,
    pub diff: bool,
    pub limit: Option<String>,
    pub remote_user: Option<String>,
    /// `-c`: the transport when neither inventory nor the play names one.
    pub connection: Option<String>,
    pub private_key: Option<PathBuf>,
    pub become_: bool,
    pub become_user: Option<String>,
    pub connect_timeout: Duration,
    pub host_key_checking: bool,
    pub verbosity: u8,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            forks: 5,
            check: false,
            diff: false,
            limit: None,
            remote_user: None,
            connection: None,
            private_key: None,
            become_: false,
            become_user: None,
            connect_timeout: Duration::from_secs(10),
            host_key_checking: true,
            verbosity: 0,
        }
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    pub stats: IndexMap<String, HostStats>,
    /// ansible-playbook's exit status: 0 ok, 2 failed hosts, 4 unreachable hosts.
    pub exit_code: i32,
}

/// Runs a playbook.
pub async fn run(
    playbook: &Playbook,
    inventory: Arc<Inventory>,
    extra_vars: Vars,
    opts: Options,
    reporter: &mut dyn Reporter,
) -> Result<Outcome, Error> {
    let store = VarStore::new(inventory, extra_vars);
    store.set_global(
        "playbook_dir",
        Value::from(playbook.dir.display().to_string()),
    );
    store.set_global("ansible_check_mode", Value::from(opts.check));
    store.set_global("ansible_diff_mode", Value::from(opts.diff));
    store.set_global("ansible_verbosity", Value::from(opts.verbosity));
    let mut runner = Runner {
        opts: Arc::new(opts),
        store,
        pool: Arc::new(Pool::default()),
        reporter,
        stats: IndexMap::new(),
        failed: HashSet::new(),
        unreachable: HashSet::new(),
        stopped: false,
    };
    let result = runner.run_playbook(playbook).await;
    runner.pool.close_all().await;
    result?;
    runner.reporter.event(&Event::Recap {
        stats: &runner.stats,
    });
    let exit_code = if runner.stats.values().any(|s| s.unreachable > 0) {
        4
    } else if runner.stopped || runner.stats.values().any(|s| s.failed > 0) {
        2
    } else {
        0
    };
    Ok(Outcome {
        stats: runner.stats,
        exit_code,
    })
}

struct Runner<'r> {
    opts: Arc<Options>,
    store: Arc<VarStore>,
    pool: Arc<Pool>,
    reporter: &'r mut dyn Reporter,
    stats: IndexMap<String, HostStats>,
    /// Hosts that failed in this run; later plays leave them out.
    failed: HashSet<String>,
    unreachable: HashSet<String>,
    /// A failure policy stopped the run: no later batch or play runs.
    stopped: bool,
}

/// A handler, ready to run.
struct Handler {
    task: Arc<Task>,
    chain: Vec<Keywords>,
    layers: Vec<Arc<Vars>>,
}

/// The state of one batch of one play.
struct BatchState {
    batch: Vec<String>,
    all_hosts: Vec<String>,
    /// Hosts counted against max_fail_percentage in this batch.
    failed_count: usize,
    max_fail_percentage: Option<f64>,
    /// Why the batch (and the run) stops, once a policy trips.
    abort: Option<String>,
    /// Handlers notified, per host, by index in the play's handler list.
    notified: HashMap<String, Vec<usize>>,
    /// Hosts that finished the play early (`meta: end_host`).
    ended: HashSet<String>,
    end_batch: bool,
    force_handlers: bool,
    handlers: Arc<Vec<Handler>>,
}

impl<'r> Runner<'r> {
    async fn run_playbook(&mut self, playbook: &Playbook) -> Result<(), Error> {
        for play in &playbook.plays {
            if self.stopped {
                break;
            }
            self.run_play(play).await?;
        }
        Ok(())
    }

    /// A value templated with only play-level variables (no host): play keywords, task names.
    fn template_play_level(&self, v: &Value, play_vars: &Arc<Vars>) -> Result<Value, Error> {
        let host_free = Arc::new(Vars::new());
        let scope = value::map(
            self.store
                .extra
                .iter()
                .chain(play_vars.iter())
                .chain(
                    self.store
                        .globals
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .clone()
                        .iter(),
                )
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect::<Vec<_>>(),
        );
        let _ = host_free;
        template::render_value(v, &scope)
    }

    async fn run_play(&mut self, play: &Play) -> Result<(), Error> {
        let play_vars = play.kw.vars.clone();
        let pattern = self
            .template_play_level(&play.hosts, &play_vars)
            .map_err(|e| e.at(&play.span))?
            .to_string();
        self.reporter.event(&Event::PlayStart { name: &play.name });
        let (mut hosts, _unmatched) = self.store.inventory.select(&pattern);
        if let Some(limit) = &self.opts.limit {
            let (allowed, _) = self.store.inventory.select(limit);
            hosts.retain(|h| allowed.contains(h));
        }
        hosts.retain(|h| !self.failed.contains(h) && !self.unreachable.contains(h));
        if hosts.is_empty() {
            self.reporter.event(&Event::NoHosts);
            return Ok(());
        }
        let serial = match &play.serial {
            Some(s) => Some(self.template_play_level(s, &play_vars)?),
            None => None,
        };
        let sizes = batches::batch_sizes(serial.as_ref(), hosts.len())
            .map_err(|m| Error::syntax(play.spans.get("serial").unwrap_or(&play.span), m))?;
        let max_fail_percentage = match &play.max_fail_percentage {
            Some(v) => {
                let v = self.template_play_level(v, &play_vars)?;
                let text = v.to_string();
                Some(
                    text.trim_end_matches('%')
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| {
                            Error::syntax(
                                play.spans.get("max_fail_percentage").unwrap_or(&play.span),
                                format!("max_fail_percentage must be a number, got '{text}'"),
                            )
                        })?,
                )
            }
            None => None,
        };
        let force_handlers = match &play.force_handlers {
            Some(v) => template::truthy(&self.template_play_level(v, &play_vars)?),
            None => false,
        };
        let gather = match &play.gather_facts {
            Some(v) => template::truthy(&self.template_play_level(v, &play_vars)?),
            None => true,
        };
        let mut handlers = Vec::new();
        flatten_handlers(
            &play.handlers,
            std::slice::from_ref(&play.kw),
            std::slice::from_ref(&play_vars),
            &mut handlers,
        );
        let handlers = Arc::new(handlers);

        let total = sizes.len();
        let mut offset = 0;
        for (i, size) in sizes.into_iter().enumerate() {
            if self.stopped {
                break;
            }
            let batch: Vec<String> = hosts[offset..offset + size].to_vec();
            offset += size;
            for h in &batch {
                self.stats.entry(h.clone()).or_default();
            }
            self.reporter.event(&Event::BatchStart {
                number: i + 1,
                total,
                hosts: &batch,
            });
            let mut state = BatchState {
                batch: batch.clone(),
                all_hosts: hosts.clone(),
                failed_count: 0,
                max_fail_percentage,
                abort: None,
                notified: HashMap::new(),
                ended: HashSet::new(),
                end_batch: false,
                force_handlers,
                handlers: handlers.clone(),
            };
            self.run_batch(play, &mut state, gather).await?;
            if let Some(reason) = &state.abort {
                self.reporter.event(&Event::PlayAborted { reason });
                self.stopped = true;
            }
        }
        Ok(())
    }

    async fn run_batch(
        &mut self,
        play: &Play,
        state: &mut BatchState,
        gather: bool,
    ) -> Result<(), Error> {
        let chain = vec![play.kw.clone()];
        let layers = vec![play.kw.vars.clone()];
        let mut active = state.batch.clone();
        if gather {
            let setup = Arc::new(setup_task(play));
            active = self
                .run_task(state, &setup, &chain, &layers, active, false, false)
                .await?;
        }
        for section in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
            if state.abort.is_some() || state.end_batch {
                break;
            }
            active = self
                .run_items(state, section, chain.clone(), layers.clone(), active, false)
                .await?;
            active = self.flush_handlers(state, active).await?;
        }
        if state.abort.is_some() && state.force_handlers {
            let _ = self.flush_handlers(state, active).await?;
        }
        Ok(())
    }

    /// Runs the notified handlers, in the order they are defined, once per host.
    fn flush_handlers<'a>(
        &'a mut self,
        state: &'a mut BatchState,
        active: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let mut active = active;
            let handlers = state.handlers.clone();
            for (idx, h) in handlers.iter().enumerate() {
                let hosts: Vec<String> = state
                    .batch
                    .iter()
                    .filter(|host| {
                        state.notified.get(*host).is_some_and(|n| n.contains(&idx))
                            && (active.contains(host) || state.force_handlers)
                    })
                    .cloned()
                    .collect();
                if hosts.is_empty() {
                    continue;
                }
                for host in &hosts {
                    if let Some(n) = state.notified.get_mut(host) {
                        n.retain(|i| *i != idx);
                    }
                }
                let survivors = self
                    .run_task(
                        state,
                        &h.task,
                        &h.chain,
                        &h.layers,
                        hosts.clone(),
                        false,
                        true,
                    )
                    .await?;
                active.retain(|a| !hosts.contains(a) || survivors.contains(a));
            }
            Ok(active)
        })
    }

    /// Runs a list of tasks and blocks on the active hosts; returns the hosts still going.
    fn run_items<'a>(
        &'a mut self,
        state: &'a mut BatchState,
        items: &'a [Item],
        chain: Vec<Keywords>,
        layers: Vec<Arc<Vars>>,
        active: Vec<String>,
        rescuable: bool,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let mut active = active;
            for item in items {
                if state.abort.is_some() || state.end_batch || active.is_empty() {
                    break;
                }
                match item {
                    Item::Task(task) => {
                        let mut chain = chain.clone();
                        chain.push(task.kw.clone());
                        let mut layers = layers.clone();
                        layers.push(task.kw.vars.clone());
                        active = self
                            .run_task(state, task, &chain, &layers, active, rescuable, false)
                            .await?;
                    }
                    Item::Block(block) => {
                        let mut chain = chain.clone();
                        chain.push(block.kw.clone());
                        let mut layers = layers.clone();
                        layers.push(block.kw.vars.clone());
                        let entering = active.clone();
                        let has_rescue = !block.rescue.is_empty();
                        let after_block = self
                            .run_items(
                                state,
                                &block.block,
                                chain.clone(),
                                layers.clone(),
                                entering.clone(),
                                rescuable || has_rescue,
                            )
                            .await?;
                        let failed: Vec<String> = entering
                            .iter()
                            .filter(|h| {
                                !after_block.contains(h)
                                    && !self.unreachable.contains(*h)
                                    && !state.ended.contains(*h)
                            })
                            .cloned()
                            .collect();
                        let mut survivors = after_block;
                        if has_rescue && !failed.is_empty() && state.abort.is_none() {
                            for h in &failed {
                                self.stats.entry(h.clone()).or_default().rescued += 1;
                            }
                            let rescued = self
                                .run_items(
                                    state,
                                    &block.rescue,
                                    chain.clone(),
                                    layers.clone(),
                                    failed.clone(),
                                    rescuable,
                                )
                                .await?;
                            survivors.extend(rescued);
                        } else if !failed.is_empty() && !rescuable {
                            // Failures inside were already counted as they happened.
                        }
                        if !block.always.is_empty() && state.abort.is_none() {
                            let mut always_hosts: Vec<String> = entering
                                .iter()
                                .filter(|h| {
                                    !self.unreachable.contains(*h) && !state.ended.contains(*h)
                                })
                                .cloned()
                                .collect();
                            always_hosts.retain(|h| survivors.contains(h) || failed.contains(h));
                            let after_always = self
                                .run_items(
                                    state,
                                    &block.always,
                                    chain.clone(),
                                    layers.clone(),
                                    always_hosts,
                                    rescuable,
                                )
                                .await?;
                            survivors.retain(|h| after_always.contains(h));
                        }
                        // Keep inventory order.
                        active = entering
                            .into_iter()
                            .filter(|h| survivors.contains(h))
                            .collect();
                    }
                }
            }
            Ok(active)
        })
    }

    /// Runs one task on the active hosts and applies the results and the failure policy.
    #[allow(clippy::too_many_arguments)]
    async fn run_task(
        &mut self,
        state: &mut BatchState,
        task: &Arc<Task>,
        chain: &[Keywords],
        layers: &[Arc<Vars>],
        active: Vec<String>,
        rescuable: bool,
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
        let play_vars = layers.first().cloned().unwrap_or_default();
        let name = match &task.name {
            Some(n) => self
                .template_play_level(&Value::from(n.as_str()), &play_vars)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| n.clone()),
            None => task.action.clone(),
        };
        self.reporter.event(&Event::TaskStart {
            name: &name,
            handler,
        });
        if task.action == "meta" {
            return self.run_meta(state, task, hosts).await;
        }

        let run_once = chain
            .iter()
            .rev()
            .find_map(|k| k.run_once.as_ref())
            .is_some_and(template::truthy);
        let targets: Vec<String> = if run_once {
            hosts.iter().take(1).cloned().collect()
        } else {
            hosts.clone()
        };
        let any_errors_fatal = chain
            .iter()
            .rev()
            .find_map(|k| k.any_errors_fatal.as_ref())
            .is_some_and(template::truthy);

        let chain = Arc::new(chain.to_vec());
        let layers = Arc::new(layers.to_vec());
        let semaphore = Arc::new(Semaphore::new(self.opts.forks.max(1)));
        let mut set = tokio::task::JoinSet::new();
        let play_hosts: Value = hosts.iter().map(|h| Value::from(h.as_str())).collect();
        let batch_value: Value = state
            .batch
            .iter()
            .map(|h| Value::from(h.as_str()))
            .collect();
        let all_value: Value = state
            .all_hosts
            .iter()
            .map(|h| Value::from(h.as_str()))
            .collect();
        for host in &targets {
            let mut magic = Vars::new();
            magic.insert("play_hosts".into(), play_hosts.clone());
            magic.insert("ansible_play_hosts".into(), play_hosts.clone());
            magic.insert("ansible_play_batch".into(), batch_value.clone());
            magic.insert("ansible_play_hosts_all".into(), all_value.clone());
            let job = HostJob {
                host: host.clone(),
                task: task.clone(),
                chain: chain.clone(),
                layers: layers.clone(),
                magic,
                store: self.store.clone(),
                pool: self.pool.clone(),
                opts: self.opts.clone(),
            };
            let permit = semaphore.clone();
            set.spawn(async move {
                let _permit = permit.acquire_owned().await;
                job.run().await
            });
        }

        let mut survivors: Vec<String> = Vec::new();
        let mut failed_now: Vec<String> = Vec::new();
        let mut run_once_result: Option<(runner::HostOutcome, Status)> = None;
        while let Some(joined) = set.join_next().await {
            let outcome = joined.map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!("a task panicked or was cancelled: {e}"),
                )
            })?;
            let status = outcome.result.status;
            self.apply_outcome(state, task, &outcome, handler)?;
            match status {
                Status::Failed if !outcome.result.ignored => {
                    failed_now.push(outcome.result.host.clone())
                }
                Status::Unreachable => failed_now.push(outcome.result.host.clone()),
                _ => survivors.push(outcome.result.host.clone()),
            }
            if run_once {
                run_once_result = Some((outcome, status));
            }
        }
        // run_once: the one result stands for every host of the batch (register included).
        if let Some((outcome, status)) = run_once_result {
            for host in hosts.iter().skip(1) {
                if let Some(name) = &task.register {
                    self.store
                        .set_host_var(host, name, outcome.registered.clone());
                }
                if let Some(facts) = &outcome.facts {
                    for (k, v) in facts {
                        self.store.set_host_var(host, k, v.clone());
                    }
                }
                if matches!(status, Status::Failed) && !outcome.result.ignored {
                    failed_now.push(host.clone());
                } else {
                    survivors.push(host.clone());
                }
            }
        }
        for host in &failed_now {
            if self.unreachable.contains(host) {
                continue;
            }
            if rescuable {
                // A rescue section will take the host; it is not counted as failed.
                continue;
            }
            self.failed.insert(host.clone());
            self.stats.entry(host.clone()).or_default().failed += 1;
            state.failed_count += 1;
        }
        // Failure policy, in Ansible's order.
        let failed_hard: Vec<&String> = failed_now
            .iter()
            .filter(|h| !rescuable || self.unreachable.contains(*h))
            .collect();
        if any_errors_fatal && !failed_hard.is_empty() {
            state.abort = Some("any_errors_fatal: a host failed, the play is stopped".into());
            self.fail_rest_of_batch(state);
        } else if let Some(pct) = state.max_fail_percentage {
            let size = state.batch.len().max(1) as f64;
            if (state.failed_count as f64) / size * 100.0 > pct {
                state.abort = Some(format!(
                    "max_fail_percentage {pct}% exceeded: {} of {} hosts in the batch failed",
                    state.failed_count,
                    state.batch.len()
                ));
                self.fail_rest_of_batch(state);
            }
        }
        if state.abort.is_none()
            && !rescuable
            && state
                .batch
                .iter()
                .all(|h| self.failed.contains(h) || self.unreachable.contains(h))
        {
            state.abort = Some("NO MORE HOSTS LEFT".into());
        }
        let keep: Vec<String> = active
            .into_iter()
            .filter(|h| survivors.contains(h) || state.ended.contains(h))
            .collect();
        Ok(keep)
    }

    /// The remaining hosts of the batch are marked failed (they run nothing more).
    fn fail_rest_of_batch(&mut self, state: &BatchState) {
        for h in &state.batch {
            if !self.unreachable.contains(h) {
                self.failed.insert(h.clone());
            }
        }
    }

    fn apply_outcome(
        &mut self,
        state: &mut BatchState,
        task: &Task,
        outcome: &runner::HostOutcome,
        _handler: bool,
    ) -> Result<(), Error> {
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
            Status::Unreachable => {
                stats.unreachable += 1;
                self.unreachable.insert(host.clone());
            }
        }
        if let Some(spec) = &outcome.broken {
            self.pool.invalidate(spec);
        }
        if let Some(name) = &task.register {
            self.store
                .set_host_var(host, name, outcome.registered.clone());
        }
        if let Some(facts) = &outcome.facts {
            if task.action == "setup" {
                self.store.set_facts(host, facts.clone());
            } else {
                for (k, v) in facts {
                    self.store.set_host_var(host, k, v.clone());
                }
            }
        }
        if outcome.result.status == Status::Changed && !task.notify.is_empty() {
            self.notify(state, task, host)?;
        }
        Ok(())
    }

    /// Queues the handlers a changed task notifies, by name or by `listen` topic.
    fn notify(&mut self, state: &mut BatchState, task: &Task, host: &str) -> Result<(), Error> {
        for wanted in &task.notify {
            let matches: Vec<usize> = state
                .handlers
                .iter()
                .enumerate()
                .filter(|(_, h)| {
                    h.task.name.as_deref() == Some(wanted.as_str())
                        || h.task.listen.iter().any(|l| l == wanted)
                })
                .map(|(i, _)| i)
                .collect();
            if matches.is_empty() {
                return Err(Error::syntax(
                    &task.span,
                    format!(
                        "The requested handler '{wanted}' was not found in either the main handlers list nor in the listening handlers list"
                    ),
                ));
            }
            let queued = state.notified.entry(host.to_string()).or_default();
            for m in matches {
                if !queued.contains(&m) {
                    queued.push(m);
                }
            }
        }
        Ok(())
    }

    async fn run_meta(
        &mut self,
        state: &mut BatchState,
        task: &Task,
        hosts: Vec<String>,
    ) -> Result<Vec<String>, Error> {
        let action = task
            .args
            .get_attr("_raw_params")
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        match action.as_str() {
            "flush_handlers" => self.flush_handlers(state, hosts).await,
            "noop" | "refresh_inventory" | "clear_facts" | "clear_host_errors" => Ok(hosts),
            "end_play" => {
                state.end_batch = true;
                for h in &state.batch {
                    state.ended.insert(h.clone());
                }
                Ok(Vec::new())
            }
            "end_batch" => {
                state.end_batch = true;
                Ok(Vec::new())
            }
            "end_host" => {
                for h in &hosts {
                    state.ended.insert(h.clone());
                }
                Ok(Vec::new())
            }
            other => Err(Error::syntax(
                &task.span,
                format!("invalid meta action requested: {other}"),
            )),
        }
    }
}

/// Handlers in definition order (blocks in the handler list flattened).
fn flatten_handlers(
    items: &[Item],
    chain: &[Keywords],
    layers: &[Arc<Vars>],
    out: &mut Vec<Handler>,
) {
    for item in items {
        match item {
            Item::Task(t) => {
                let mut c = chain.to_vec();
                c.push(t.kw.clone());
                let mut l = layers.to_vec();
                l.push(t.kw.vars.clone());
                out.push(Handler {
                    task: t.clone(),
                    chain: c,
                    layers: l,
                });
            }
            Item::Block(b) => {
                let mut c = chain.to_vec();
                c.push(b.kw.clone());
                let mut l = layers.to_vec();
                l.push(b.kw.vars.clone());
                flatten_handlers(&b.block, &c, &l, out);
            }
        }
    }
}

/// The implicit "Gathering Facts" task.
fn setup_task(play: &Play) -> Task {
    Task {
        name: Some("Gathering Facts".to_string()),
        action: "setup".to_string(),
        args: value::map(Vec::<(&str, Value)>::new()),
        span: play.span.clone(),
        kw: Keywords::default(),
        register: None,
        notify: Vec::new(),
        listen: Vec::new(),
        changed_when: Vec::new(),
        failed_when: Vec::new(),
        loop_: None,
        loop_control: Default::default(),
        until: Vec::new(),
        retries: None,
        delay: None,
    }
}
