//! The executor: runs a playbook against an inventory, the way ansible-playbook's linear
//! strategy does (and its free strategy: see `Runner::run_batch_free`).
//!
//! For each play it selects the hosts, cuts them into `serial` batches ([`batches`]), and for each
//! batch walks the play's sections in lockstep: every task runs on all active hosts of the batch
//! at once (bounded by `forks`), and the next task starts when all have answered. Blocks route
//! failed hosts to `rescue` and everyone to `always`; handlers run at the end of each section.
//! After every task the failure policy is applied: `any_errors_fatal`, `max_fail_percentage`
//! (strictly greater, counted per batch, unreachable hosts apart), and the stop when a whole
//! batch has failed. What happens is told to a [`events::Reporter`] as events; the executor
//! never prints (and never reads the terminal: `vars_prompt` and `--step` ask through events).
//!
//! Under `strategy: free` each host of a batch goes through the play on its own, in a lane (a
//! runner of its own sharing the run's variables, connections, forks and reporter): facts,
//! sections and its own handlers as fast as it can. ansible-core's free strategy applies no
//! max_fail_percentage or any_errors_fatal (it warns), runs run_once tasks on every host, and
//! refuses add_host; a failed run_once task and the whole-batch stop still end the batch.
//!
//! `add_host` and `group_by` are the executor's: they change the run's inventory
//! ([`crate::vars::VarStore::update_inventory`]) for every later task and play.

pub mod batches;
pub mod events;
mod pool;
mod runner;

use crate::connection::BoxFuture;
use crate::diagnostics::{Error, ErrorKind};
use crate::inventory::Inventory;
use crate::playbook::load::{ItemCtx, load_tasks_file, resolve_tasks_file};
use crate::playbook::role::{RoleFiles, load_role, role_task_args};
use crate::playbook::{Item, Keywords, Play, Playbook, RoleCtx, Task};
use crate::template;
use crate::value::{self, Value, Vars};
use crate::vars::{Layers, VarStore};
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
    /// `gathering`: implicit (facts unless a play says no), explicit (only when a play asks)
    /// or smart (skip hosts whose facts are known).
    pub gathering: String,
    /// The `jsonfile` fact cache, when configured.
    pub fact_cache: Option<Arc<crate::modules::fact_cache::FactCache>>,
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
    /// `--tags`: run only tasks with these tags (`all` by default).
    pub tags: Vec<String>,
    /// `--skip-tags`.
    pub skip_tags: Vec<String>,
    /// `--start-at-task`: tasks before the first one with this name (or glob) are passed over.
    pub start_at_task: Option<String>,
    /// `--step`: ask before every task.
    pub step: bool,
    /// Set when the user interrupts (Ctrl-C): no new task starts; running ones finish.
    pub interrupted: Arc<std::sync::atomic::AtomicBool>,
    /// Connection settings of the command line (`-k`, `-K`, `--ssh-common-args`, ...).
    pub conn: crate::connection::ConnDefaults,
    /// The strategy of plays that name none (`ANSIBLE_STRATEGY`, ansible.cfg `strategy`):
    /// `linear` or `free`.
    pub strategy: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gathering: "implicit".into(),
            fact_cache: None,
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
            tags: Vec::new(),
            skip_tags: Vec::new(),
            start_at_task: None,
            step: false,
            interrupted: Arc::default(),
            conn: Default::default(),
            strategy: "linear".into(),
        }
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    pub stats: IndexMap<String, HostStats>,
    /// ansible-playbook's exit status: 0 ok, 2 failed hosts, 4 unreachable hosts.
    pub exit_code: i32,
    /// Failed and unreachable hosts, sorted: what a retry file lists.
    pub retry_hosts: Vec<String>,
}

/// Runs a playbook.
pub async fn run(
    playbook: &Playbook,
    inventory: Arc<Inventory>,
    extra_vars: Vars,
    opts: Options,
    reporter: &mut dyn Reporter,
) -> Result<Outcome, Error> {
    // Facts cached by an earlier run (ansible-playbook's too) are known from the start.
    let cached: Vec<(String, Vars)> = match &opts.fact_cache {
        Some(cache) => inventory
            .hosts
            .keys()
            .filter_map(|h| cache.load(h).map(|f| (h.clone(), f)))
            .collect(),
        None => Vec::new(),
    };
    let store = VarStore::new(inventory, extra_vars);
    for (host, facts) in cached {
        store.set_facts(&host, facts);
    }
    store.set_global(
        "playbook_dir",
        Value::from(playbook.dir.display().to_string()),
    );
    store.set_global("ansible_check_mode", Value::from(opts.check));
    store.set_global("ansible_diff_mode", Value::from(opts.diff));
    store.set_global("ansible_verbosity", Value::from(opts.verbosity));
    let opts_start_missing = opts.start_at_task.is_none();
    let mut runner = Runner {
        opts: Arc::new(opts),
        store,
        pool: Arc::new(Pool::default()),
        reporter,
        stats: IndexMap::new(),
        failed: HashSet::new(),
        unreachable: HashSet::new(),
        stopped: false,
        loader: playbook.loader.clone(),
        role_ran: HashMap::new(),
        started: opts_start_missing,
        step_off: false,
        play_dir: None,
        warned: Arc::default(),
        template_warnings: template::Warnings::new(),
        workers: None,
    };
    let template_warnings = runner.template_warnings.clone();
    let result = template_warnings.scope(runner.run_playbook(playbook)).await;
    runner.show_template_warnings();
    runner.pool.close_all().await;
    result?;
    runner.reporter.event(&Event::Recap {
        stats: &runner.stats,
    });
    let exit_code = if runner
        .opts
        .interrupted
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        99
    } else if runner.stats.values().any(|s| s.unreachable > 0) {
        4
    } else if runner.stopped || runner.stats.values().any(|s| s.failed > 0) {
        2
    } else {
        0
    };
    let mut retry_hosts: Vec<String> = runner
        .failed
        .iter()
        .chain(runner.unreachable.iter())
        .cloned()
        .collect();
    retry_hosts.sort();
    retry_hosts.dedup();
    Ok(Outcome {
        stats: runner.stats,
        exit_code,
        retry_hosts,
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
    loader: Arc<crate::playbook::Loader>,
    /// Per role (by identity), the hosts where one of its tasks ran in this play: a role runs
    /// once per host unless it allows duplicates, as Ansible decides it while running.
    role_ran: HashMap<String, HashSet<String>>,
    /// `--start-at-task` found its task (or was not given).
    started: bool,
    /// `--step` answered "continue": stop asking.
    step_off: bool,
    /// The running play's own directory, its `playbook_dir`.
    play_dir: Option<PathBuf>,
    /// Warnings already shown: Ansible shows each warning text once per run.
    warned: Arc<std::sync::Mutex<HashSet<String>>>,
    /// What templating warned about (on this task or the host jobs it spawned), not shown yet.
    template_warnings: template::Warnings,
    /// Under the `free` strategy, the forks shared by every host's lane.
    workers: Option<Arc<Semaphore>>,
}

/// What an include brought in.
struct IncludedFile {
    items: Vec<Item>,
    /// The role's name, for an included role.
    role: Option<String>,
    /// An included role's handlers.
    handlers: Vec<Item>,
}

/// A handler, ready to run.
#[derive(Clone)]
struct Handler {
    task: Arc<Task>,
    ctx: Ctx,
}

/// Where an item runs: the keywords from the play down to it, the variable layers, the role.
#[derive(Clone)]
struct Ctx {
    chain: Vec<Keywords>,
    layers: Layers,
    role: Option<Arc<RoleCtx>>,
    /// Inside a block with `rescue`: a failure here is rescued, not counted.
    rescuable: bool,
    /// Tags inherited from the play, roles, blocks and imports.
    tags: Vec<String>,
}

impl Ctx {
    /// The context inside a block (or a role's block).
    fn enter(&self, kw: &Keywords, role: Option<&Arc<RoleCtx>>) -> Ctx {
        let mut c = self.clone();
        if let Some(r) = role {
            c.layers.low.push(r.defaults.clone());
            c.layers.mid.push(r.vars.clone());
            if !r.params.is_empty() {
                c.layers.high.push(r.params.clone());
            }
            c.role = Some(r.clone());
        }
        c.chain.push(kw.clone());
        c.layers = c.layers.with_mid(&kw.vars);
        c.tags.extend(kw.tags.iter().cloned());
        c
    }
}

/// The state of one batch of one play.
struct BatchState {
    batch: Vec<String>,
    all_hosts: Vec<String>,
    /// Hosts failed in this batch (Ansible's per-batch `_failed_hosts`): what
    /// max_fail_percentage counts.
    batch_failed: HashSet<String>,
    max_fail_percentage: Option<f64>,
    /// The batch ended early: every host left has failed after a policy tripped.
    over: bool,
    /// max_fail_percentage tripped: no later play runs (Ansible's RUN_FAILED_BREAK_PLAY).
    break_play: bool,
    /// Handlers notified, per host, by index in the handler list.
    notified: HashMap<String, Vec<usize>>,
    /// Hosts that finished the play early (`meta: end_host`).
    ended: HashSet<String>,
    end_batch: bool,
    /// `meta: end_play`: no later batch of the play runs.
    end_play: bool,
    force_handlers: bool,
    handlers: Arc<Vec<Handler>>,
    /// The `free` strategy: this state is one host's lane; no failure policy but the
    /// whole-batch stop, and `run_once` runs on every host (as ansible-core's free strategy).
    free: bool,
    /// What the lanes of a `free` batch share.
    shared: Option<Arc<LaneShared>>,
}

/// What the hosts of a batch under the `free` strategy share while each runs on its own.
#[derive(Default)]
struct LaneShared {
    /// `meta: end_batch` / `end_play` on one host ends the batch for all.
    end_batch: std::sync::atomic::AtomicBool,
    end_play: std::sync::atomic::AtomicBool,
    /// Hosts that failed or went unreachable: they leave `ansible_play_hosts`.
    removed: std::sync::Mutex<HashSet<String>>,
    /// A `run_once` task failed: every host of the batch has failed.
    fail_all: std::sync::atomic::AtomicBool,
}

impl BatchState {
    /// The batch (or this host's part of it) is over: a policy tripped or a meta task ended it.
    fn stopping(&self) -> bool {
        self.over
            || self.end_batch
            || self.shared.as_ref().is_some_and(|s| {
                s.end_batch.load(std::sync::atomic::Ordering::SeqCst)
                    || s.fail_all.load(std::sync::atomic::Ordering::SeqCst)
            })
    }

    /// A copy for one host's lane under the `free` strategy.
    fn lane(&self, shared: &Arc<LaneShared>) -> BatchState {
        BatchState {
            batch: self.batch.clone(),
            all_hosts: self.all_hosts.clone(),
            batch_failed: HashSet::new(),
            max_fail_percentage: None,
            over: false,
            break_play: false,
            notified: HashMap::new(),
            ended: HashSet::new(),
            end_batch: false,
            end_play: false,
            force_handlers: self.force_handlers,
            handlers: self.handlers.clone(),
            free: true,
            shared: Some(shared.clone()),
        }
    }
}

/// A reporter shared by the lanes of a `free` batch: each event goes to the run's reporter
/// whole, under a lock, so lines of different hosts never mix.
struct LaneReporter<'a, 'm, R: Reporter + ?Sized> {
    shared: &'a std::sync::Mutex<&'m mut R>,
}

impl<R: Reporter + ?Sized> Reporter for LaneReporter<'_, '_, R> {
    fn event(&mut self, event: &Event<'_>) {
        let mut r = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        r.event(event);
    }
}

/// Polls every future to completion on the current task; the outputs in order.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (slot, out) in pending.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Ansible's tag selection: `always` runs unless skipped by name, `never` only when asked for,
/// `tagged`/`untagged`/`all` as the special selectors.
pub fn tags_select(tags: &[String], only: &[String], skip: &[String]) -> bool {
    let has = |t: &str| tags.iter().any(|x| x == t);
    let only_all = only.is_empty() || only.iter().any(|t| t == "all");
    let mut run = has("always")
        || (only_all && !has("never"))
        || (only.iter().any(|t| t == "tagged") && !tags.is_empty() && !has("never"))
        || (only.iter().any(|t| t == "untagged") && tags.is_empty())
        || tags.iter().any(|t| only.contains(t));
    if run && !skip.is_empty() {
        let skipped_by_name = tags.iter().any(|t| skip.contains(t));
        if skipped_by_name
            || (skip.iter().any(|t| t == "all")
                && (skip.iter().any(|t| t == "always") || !has("always")))
            || (skip.iter().any(|t| t == "tagged") && !tags.is_empty())
            || (skip.iter().any(|t| t == "untagged") && tags.is_empty())
        {
            run = false;
        }
    }
    run
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
    fn template_play_level(&self, v: &Value, play_vars: &[Arc<Vars>]) -> Result<Value, Error> {
        let globals = self
            .store
            .globals
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut pairs: Vec<(String, Value)> = Vec::new();
        for layer in play_vars
            .iter()
            .map(|l| l.as_ref())
            .chain([self.store.extra.as_ref(), globals.as_ref()])
        {
            pairs.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let scope = value::map(pairs.into_iter().map(|(k, v)| (Value::from(k), v)));
        template::render_value(v, &scope)
    }

    /// `vars_files`: each entry a file (or a list of candidates, the first that exists).
    fn load_vars_files(&self, play: &Play) -> Result<Vec<Arc<Vars>>, Error> {
        let mut out = Vec::new();
        let base = [play.kw.vars.clone()];
        for entry in &play.vars_files {
            let entry = self
                .template_play_level(entry, &base)
                .map_err(|e| e.at(play.spans.get("vars_files").unwrap_or(&play.span)))?;
            let candidates: Vec<String> = if entry.kind() == minijinja::value::ValueKind::Seq {
                entry
                    .try_iter()
                    .map(|i| i.map(|v| v.to_string()).collect())
                    .unwrap_or_default()
            } else {
                vec![entry.to_string()]
            };
            let found = candidates
                .iter()
                .map(|c| {
                    let p = PathBuf::from(c);
                    if p.is_absolute() {
                        p
                    } else {
                        self.loader.playbook_dir.join(p)
                    }
                })
                .find(|p| p.is_file());
            let Some(path) = found else {
                return Err(Error::syntax(
                    play.spans.get("vars_files").unwrap_or(&play.span),
                    format!("vars file {} was not found", candidates.join(", ")),
                ));
            };
            out.push(Arc::new(crate::playbook::load::load_vars_file(&path)?));
        }
        Ok(out)
    }

    /// `vars_prompt`: asked through the reporter (which asks on a terminal); without an
    /// answer, the default, or the `-e` value.
    fn prompt_vars(&mut self, play: &Play) -> Result<Vars, Error> {
        let mut out = Vars::new();
        for p in &play.vars_prompt {
            if self.store.extra.contains_key(&p.name) {
                continue;
            }
            let default = p
                .default
                .as_ref()
                .map(|d| format!(" [{d}]"))
                .unwrap_or_default();
            let answer = std::sync::Mutex::new(None);
            self.reporter.event(&Event::Prompt {
                prompt: &format!("{}{default}: ", p.prompt),
                private: p.private,
                answer: &answer,
            });
            let answer = answer.into_inner().unwrap_or_else(|e| e.into_inner());
            match (answer, &p.default) {
                (Some(a), Some(d)) if a.is_empty() => {
                    out.insert(p.name.clone(), d.clone());
                }
                (Some(a), _) => {
                    out.insert(p.name.clone(), Value::from(a));
                }
                (None, Some(d)) => {
                    out.insert(p.name.clone(), d.clone());
                }
                (None, None) => {
                    return Err(Error::syntax(
                        &p.span,
                        format!(
                            "vars_prompt: '{}' has no default and there is no terminal to ask on; pass it with -e {}=VALUE",
                            p.name, p.name
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }

    async fn run_play(&mut self, play: &Play) -> Result<(), Error> {
        self.role_ran.clear();
        self.play_dir = Some(play.dir.clone());
        let play_vars = play.kw.vars.clone();
        let pattern = self
            .template_play_level(&play.hosts, std::slice::from_ref(&play_vars))
            .map_err(|e| e.at(&play.span))?
            .to_string();
        let selection = self
            .store
            .inventory()
            .get_hosts(&pattern, self.opts.limit.as_deref())
            .map_err(|e| e.at(play.spans.get("hosts").unwrap_or(&play.span)))?;
        for term in &selection.unmatched {
            self.reporter.event(&Event::Warning(&format!(
                "Could not match supplied host pattern, ignoring: {term}"
            )));
        }
        let mut hosts = selection.hosts;
        // `ansible_play_hosts_all` keeps inventory order whatever `order:` says.
        let inventory_order = hosts.clone();
        if let Some(order) = &play.order {
            let order = self
                .template_play_level(order, std::slice::from_ref(&play_vars))?
                .to_string();
            match order.as_str() {
                "inventory" => {}
                "reverse_inventory" => hosts.reverse(),
                "sorted" => hosts.sort(),
                "reverse_sorted" => {
                    hosts.sort();
                    hosts.reverse();
                }
                "shuffle" => shuffle(&mut hosts),
                other => {
                    return Err(Error::syntax(
                        play.spans.get("order").unwrap_or(&play.span),
                        format!(
                            "'{other}' is not a valid order; use inventory, reverse_inventory, sorted, reverse_sorted or shuffle"
                        ),
                    ));
                }
            }
        }
        // Hosts that failed earlier keep their places in this play's batches but run nothing
        // (Ansible marks them failed in each batch's iterator).
        if hosts.is_empty() {
            self.reporter.event(&Event::PlayStart {
                name: &play.name,
                strategy: "linear",
            });
            self.reporter.event(&Event::NoHosts);
            return Ok(());
        }
        // The variable layers of the play: role defaults below inventory; play vars, prompts,
        // vars_files and role vars above it.
        let mut mid = vec![play_vars.clone()];
        let prompted = self.prompt_vars(play)?;
        if !prompted.is_empty() {
            mid.push(Arc::new(prompted));
        }
        mid.extend(self.load_vars_files(play)?);
        if !play.role_vars.is_empty() {
            mid.push(play.role_vars.clone());
        }
        let layers = Layers {
            low: vec![play.role_defaults.clone()],
            mid,
            high: Vec::new(),
        };
        let play_level = |this: &Self, v: &Value| this.template_play_level(v, &layers.mid);
        let serial = match &play.serial {
            Some(s) => Some(play_level(self, s)?),
            None => None,
        };
        let sizes = batches::batch_sizes(serial.as_ref(), hosts.len())
            .map_err(|m| Error::syntax(play.spans.get("serial").unwrap_or(&play.span), m))?;
        let max_fail_percentage = match &play.max_fail_percentage {
            Some(v) => {
                let text = play_level(self, v)?.to_string();
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
            Some(v) => template::truthy(&play_level(self, v)?),
            None => false,
        };
        let gather = match &play.gather_facts {
            Some(v) => template::truthy(&play_level(self, v)?),
            None => self.opts.gathering != "explicit",
        };
        let strategy = match &play.strategy {
            Some(v) => play_level(self, v)?.to_string(),
            None => self.opts.strategy.clone(),
        };
        let free = match strategy
            .trim_start_matches("ansible.builtin.")
            .trim_start_matches("ansible.legacy.")
        {
            "linear" => false,
            // host_pinned is free with pinned workers: the same rules for what runs.
            "free" | "host_pinned" => true,
            other => {
                return Err(Error::syntax(
                    play.spans.get("strategy").unwrap_or(&play.span),
                    format!("Invalid play strategy specified: {other}; baton runs linear and free"),
                ));
            }
        };
        // The implicit fact gathering is one task for the whole play (one banner under free).
        let setup = Arc::new(setup_task(play));
        let base = Ctx {
            chain: vec![play.kw.clone()],
            layers,
            role: None,
            rescuable: false,
            tags: play.kw.tags.clone(),
        };
        let mut handlers = Vec::new();
        flatten_handlers(&play.handlers, &base, &mut handlers);
        let handlers = Arc::new(handlers);

        let total = sizes.len();
        let mut offset = 0;
        // ansible-playbook's PlaybookExecutor: after each batch, if the hosts newly failed or
        // unreachable (counted as Ansible counts them, a host in both sets twice) are exactly
        // the batch, no later batch or play runs.
        let (mut prev_failed, mut prev_unreachable) = (self.failed.len(), self.unreachable.len());
        let mut break_play = false;
        for (i, size) in sizes.into_iter().enumerate() {
            let batch: Vec<String> = hosts[offset..offset + size].to_vec();
            offset += size;
            // ansible-playbook shows the play's banner again for every batch.
            self.reporter.event(&Event::PlayStart {
                name: &play.name,
                strategy: if free { "free" } else { "linear" },
            });
            self.reporter.event(&Event::BatchStart {
                number: i + 1,
                total,
                hosts: &batch,
            });
            let mut state = BatchState {
                batch: batch.clone(),
                all_hosts: inventory_order.clone(),
                batch_failed: HashSet::new(),
                max_fail_percentage,
                over: false,
                break_play: false,
                notified: HashMap::new(),
                ended: HashSet::new(),
                end_batch: false,
                end_play: false,
                force_handlers,
                handlers: handlers.clone(),
                free: false,
                shared: None,
            };
            if free {
                self.run_batch_free(play, &mut state, &base, gather, &setup)
                    .await?;
            } else {
                self.run_batch(play, &mut state, &base, gather, &setup)
                    .await?;
            }
            break_play |= state.break_play;
            if state.end_play {
                break;
            }
            let newly = (self.failed.len() + self.unreachable.len())
                .saturating_sub(prev_failed + prev_unreachable);
            if newly == batch.len() {
                break_play = true;
                break;
            }
            (prev_failed, prev_unreachable) = (self.failed.len(), self.unreachable.len());
        }
        if break_play {
            self.stopped = true;
        }
        Ok(())
    }

    async fn run_batch(
        &mut self,
        play: &Play,
        state: &mut BatchState,
        base: &Ctx,
        gather: bool,
        setup: &Arc<Task>,
    ) -> Result<(), Error> {
        let active: Vec<String> = state
            .batch
            .iter()
            .filter(|h| !self.failed.contains(*h) && !self.unreachable.contains(*h))
            .cloned()
            .collect();
        self.run_batch_hosts(play, state, base, gather, setup, active)
            .await
    }

    /// A batch under the `free` strategy, as ansible-core's free strategy runs it: each host
    /// goes through the play (facts, sections, its own handlers) as fast as it can, without
    /// waiting for the others; forks bound how many tasks run at once. Each host runs in a
    /// lane of its own (a runner with its own counters, merged afterwards) and the lanes share
    /// the reporter, the forks and the end of the batch. `max_fail_percentage`,
    /// `any_errors_fatal` and `run_once` only warn; the whole-batch stop still applies.
    async fn run_batch_free(
        &mut self,
        play: &Play,
        state: &mut BatchState,
        base: &Ctx,
        gather: bool,
        setup: &Arc<Task>,
    ) -> Result<(), Error> {
        if state.max_fail_percentage.is_some() {
            self.warn_once(
                "Using max_fail_percentage with the free strategy is not supported, as tasks are executed independently on each host",
            );
        }
        let active: Vec<String> = state
            .batch
            .iter()
            .filter(|h| !self.failed.contains(*h) && !self.unreachable.contains(*h))
            .cloned()
            .collect();
        if active.is_empty() {
            return Ok(());
        }
        let shared = Arc::new(LaneShared::default());
        let workers = Arc::new(Semaphore::new(self.opts.forks.max(1)));
        let mut states: Vec<BatchState> = active.iter().map(|_| state.lane(&shared)).collect();
        let reporter = std::sync::Mutex::new(&mut *self.reporter);
        let mut lane_reporters: Vec<LaneReporter<'_, '_, _>> = active
            .iter()
            .map(|_| LaneReporter { shared: &reporter })
            .collect();
        let mut lanes: Vec<Runner<'_>> = lane_reporters
            .iter_mut()
            .map(|r| Runner {
                opts: self.opts.clone(),
                store: self.store.clone(),
                pool: self.pool.clone(),
                reporter: r,
                stats: IndexMap::new(),
                failed: self.failed.clone(),
                unreachable: self.unreachable.clone(),
                stopped: false,
                loader: self.loader.clone(),
                role_ran: self.role_ran.clone(),
                started: self.started,
                step_off: self.step_off,
                play_dir: self.play_dir.clone(),
                warned: self.warned.clone(),
                template_warnings: self.template_warnings.clone(),
                workers: Some(workers.clone()),
            })
            .collect();
        let runs: Vec<_> = lanes
            .iter_mut()
            .zip(states.iter_mut())
            .zip(active.iter())
            .map(|((lane, st), host)| {
                lane.run_batch_hosts(play, st, base, gather, setup, vec![host.clone()])
            })
            .collect();
        let results = join_all(runs).await;
        for lane in &lanes {
            for (host, s) in &lane.stats {
                let t = self.stats.entry(host.clone()).or_default();
                t.ok += s.ok;
                t.changed += s.changed;
                t.unreachable += s.unreachable;
                t.failed += s.failed;
                t.skipped += s.skipped;
                t.rescued += s.rescued;
                t.ignored += s.ignored;
            }
            self.failed.extend(lane.failed.iter().cloned());
            self.unreachable.extend(lane.unreachable.iter().cloned());
            for (role, hosts) in &lane.role_ran {
                self.role_ran
                    .entry(role.clone())
                    .or_default()
                    .extend(hosts.iter().cloned());
            }
            self.started |= lane.started;
            self.step_off |= lane.step_off;
        }
        drop(lanes);
        drop(lane_reporters);
        for st in &states {
            state.batch_failed.extend(st.batch_failed.iter().cloned());
            state.ended.extend(st.ended.iter().cloned());
        }
        state.end_play = shared.end_play.load(std::sync::atomic::Ordering::SeqCst);
        state.end_batch = shared.end_batch.load(std::sync::atomic::Ordering::SeqCst);
        if shared.fail_all.load(std::sync::atomic::Ordering::SeqCst) {
            for h in &active {
                if !self.unreachable.contains(h) {
                    self.failed.insert(h.clone());
                    state.batch_failed.insert(h.clone());
                }
            }
        }
        for r in results {
            r?;
        }
        // Every host of the batch unreachable: ansible-core's free strategy finds no host left.
        if active.iter().all(|h| self.unreachable.contains(h)) {
            self.reporter.event(&Event::PlayAborted {
                reason: "NO MORE HOSTS LEFT",
            });
        }
        Ok(())
    }

    /// Shows a warning unless the same text was shown before in this run (Ansible's display
    /// deduplicates warnings).
    fn warn_once(&mut self, text: &str) {
        let first = self
            .warned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(text.to_string());
        if first {
            self.reporter.event(&Event::Warning(text));
        }
    }

    /// One batch's play on the given hosts: facts, the sections with their handlers.
    async fn run_batch_hosts(
        &mut self,
        play: &Play,
        state: &mut BatchState,
        base: &Ctx,
        gather: bool,
        setup: &Arc<Task>,
        active: Vec<String>,
    ) -> Result<(), Error> {
        let mut active = active;
        if active.is_empty() {
            return Ok(());
        }
        if gather
            && tags_select(
                &["always".to_string()],
                &self.opts.tags,
                &self.opts.skip_tags,
            )
        {
            // gathering=smart: hosts whose facts are known (this run, or the cache) skip it.
            let smart = self.opts.gathering == "smart";
            let need: Vec<String> = active
                .iter()
                .filter(|h| {
                    !smart
                        || !crate::modules::fact_cache::FactCache::gathered(&self.store.facts_of(h))
                })
                .cloned()
                .collect();
            if !need.is_empty() {
                let done = self
                    .run_task(state, setup, base, need.clone(), false)
                    .await?;
                active.retain(|h| !need.contains(h) || done.contains(h));
            }
        }
        let sections: [(&[Item], &[Item]); 3] = [
            (&play.pre_tasks, &[]),
            (&play.roles, &play.tasks),
            (&play.post_tasks, &[]),
        ];
        for (first, second) in sections {
            if state.stopping() {
                break;
            }
            active = self.run_items(state, first, base.clone(), active).await?;
            if !state.stopping() {
                active = self.run_items(state, second, base.clone(), active).await?;
            }
            // The section's implicit `meta: flush_handlers` is tagged `always`, like Ansible's.
            if self.implicit_meta() {
                active = self.flush_handlers(state, active).await?;
            }
        }
        if state.break_play && state.force_handlers {
            let _ = self.flush_handlers(state, active).await?;
        }
        Ok(())
    }

    fn interrupted(&self) -> bool {
        self.opts
            .interrupted
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `--start-at-task`: the task's name, or `role : name`, equals the wanted name or matches
    /// it as a glob.
    fn is_start_task(&self, task: &Task, ctx: &Ctx) -> bool {
        let Some(want) = &self.opts.start_at_task else {
            return true;
        };
        let Some(name) = &task.name else {
            return false;
        };
        let full = match &ctx.role {
            Some(r) => format!("{} : {name}", r.name),
            None => name.clone(),
        };
        let glob = regex::Regex::new(&crate::inventory::pattern::fnmatch_translate(want)).ok();
        [name, &full]
            .iter()
            .any(|n| *n == want || glob.as_ref().is_some_and(|g| g.is_match(n)))
    }

    /// `--step`: "Perform task: NAME (N)o/(y)es/(c)ontinue:", as ansible-playbook asks; the
    /// reporter asks, the answer comes back here. No answer (end of input) is "no".
    fn ask_step(&mut self, task: &Task) -> Result<bool, Error> {
        let answer = std::sync::Mutex::new(None);
        self.reporter.event(&Event::StepPrompt {
            name: &task.display_name(),
            answer: &answer,
        });
        let line = answer
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_default();
        Ok(match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => true,
            "c" | "continue" => {
                self.step_off = true;
                true
            }
            _ => false,
        })
    }

    /// The name in a task's banner, as ansible-playbook shows it: the name templated with
    /// play-level variables (or the action), `role : ` before it inside a role, and
    /// `include_role : NAME` for an unnamed include_role.
    fn banner_name(&self, task: &Task, ctx: &Ctx, handler: bool) -> String {
        let name = match (&task.name, task.action.as_str()) {
            (Some(n), _) => self
                .template_play_level(&Value::from(n.as_str()), &ctx.layers.mid)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| n.clone()),
            (None, "include_role") => match role_task_args(&task.args) {
                Ok((role, _, _)) => format!("include_role : {role}"),
                Err(_) => "include_role".to_string(),
            },
            (None, action) => action.to_string(),
        };
        match &ctx.role {
            Some(r) if !handler || task.name.is_some() => format!("{} : {name}", r.name),
            _ => name,
        }
    }

    /// Whether Ansible's implicit meta tasks (tagged `always`) run under the tag selection.
    fn implicit_meta(&self) -> bool {
        tags_select(
            &["always".to_string()],
            &self.opts.tags,
            &self.opts.skip_tags,
        )
    }

    /// Runs the notified handlers, in the order they are defined, once per host.
    fn flush_handlers<'a>(
        &'a mut self,
        state: &'a mut BatchState,
        active: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let mut active = active;
            let mut idx = 0;
            // The list can grow while running (include_role adds handlers).
            while idx < state.handlers.len() {
                let h = state.handlers[idx].clone();
                let hosts: Vec<String> = state
                    .batch
                    .iter()
                    .filter(|host| {
                        state.notified.get(*host).is_some_and(|n| n.contains(&idx))
                            && (active.contains(host) || state.force_handlers)
                    })
                    .cloned()
                    .collect();
                if !hosts.is_empty() {
                    for host in &hosts {
                        if let Some(n) = state.notified.get_mut(host) {
                            n.retain(|i| *i != idx);
                        }
                    }
                    let survivors = self
                        .run_task(state, &h.task, &h.ctx, hosts.clone(), true)
                        .await?;
                    active.retain(|a| !hosts.contains(a) || survivors.contains(a));
                }
                idx += 1;
            }
            Ok(active)
        })
    }

    /// Runs a list of tasks and blocks on the active hosts; returns the hosts still going.
    fn run_items<'a>(
        &'a mut self,
        state: &'a mut BatchState,
        items: &'a [Item],
        ctx: Ctx,
        active: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let mut active = active;
            for item in items {
                if state.stopping() || active.is_empty() {
                    break;
                }
                if self.interrupted() {
                    break;
                }
                match item {
                    Item::Task(task) => {
                        let mut tags = ctx.tags.clone();
                        tags.extend(task.kw.tags.iter().cloned());
                        if !tags_select(&tags, &self.opts.tags, &self.opts.skip_tags) {
                            continue;
                        }
                        if !self.started {
                            if !self.is_start_task(task, &ctx) {
                                continue;
                            }
                            self.started = true;
                        }
                        if self.opts.step && !self.step_off && !self.ask_step(task)? {
                            continue;
                        }
                        let tctx = ctx.enter(&task.kw, None);
                        active = match task.action.as_str() {
                            "include_tasks" | "include_role" => {
                                self.run_include(state, task, &tctx, active).await?
                            }
                            _ => self.run_task(state, task, &tctx, active, false).await?,
                        };
                    }
                    Item::Block(block) => {
                        let bctx = ctx.enter(&block.kw, block.role.as_ref());
                        // A role that already ran on a host is passed over there.
                        let done: Vec<String> = match &block.role {
                            Some(r) if !r.allow_duplicates => active
                                .iter()
                                .filter(|h| {
                                    self.role_ran
                                        .get(&r.identity)
                                        .is_some_and(|s| s.contains(*h))
                                })
                                .cloned()
                                .collect(),
                            _ => Vec::new(),
                        };
                        let run: Vec<String> = active
                            .iter()
                            .filter(|h| !done.contains(h))
                            .cloned()
                            .collect();
                        let after = self.run_block(state, block, bctx, run).await?;
                        active.retain(|h| done.contains(h) || after.contains(h));
                    }
                }
            }
            Ok(active)
        })
    }

    /// block / rescue / always.
    async fn run_block(
        &mut self,
        state: &mut BatchState,
        block: &crate::playbook::Block,
        ctx: Ctx,
        active: Vec<String>,
    ) -> Result<Vec<String>, Error> {
        let entering = active.clone();
        let has_rescue = !block.rescue.is_empty();
        let inner = Ctx {
            rescuable: ctx.rescuable || has_rescue,
            ..ctx.clone()
        };
        let after_block = self
            .run_items(state, &block.block, inner, entering.clone())
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
        if has_rescue && !failed.is_empty() && !state.over {
            for h in &failed {
                self.stats.entry(h.clone()).or_default().rescued += 1;
            }
            let rescued = self
                .run_items(state, &block.rescue, ctx.clone(), failed.clone())
                .await?;
            survivors.extend(rescued);
        }
        if !block.always.is_empty() && !state.over {
            let always_hosts: Vec<String> = entering
                .iter()
                .filter(|h| {
                    !self.unreachable.contains(*h)
                        && !state.ended.contains(*h)
                        && (survivors.contains(h) || failed.contains(h))
                })
                .cloned()
                .collect();
            let after_always = self
                .run_items(state, &block.always, ctx.clone(), always_hosts)
                .await?;
            survivors.retain(|h| after_always.contains(h));
        }
        Ok(entering
            .into_iter()
            .filter(|h| survivors.contains(h))
            .collect())
    }

    /// `include_tasks` / `include_role`: decided per host (conditions, loop items, the file),
    /// then each distinct file runs on the hosts that included it, in lockstep.
    async fn run_include(
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
        let name = self.banner_name(task, ctx, false);
        self.reporter.event(&Event::TaskStart {
            name: &name,
            handler: false,
            id: events::task_id(task),
        });
        // Per host: the included target and the loop item's variables, or a skip/failure.
        let mut groups: Vec<(String, Option<Vars>, Vec<String>)> = Vec::new();
        let mut failed_now: Vec<String> = Vec::new();
        for host in &hosts {
            let job = self.job(state, task, ctx, host, &hosts);
            let decisions = job.include_decisions();
            match decisions {
                Err(e) => {
                    let outcome = job.failure(e);
                    self.apply_outcome(state, task, &outcome)?;
                    failed_now.push(host.clone());
                    if !ctx.rescuable {
                        self.failed.insert(host.clone());
                        self.stats.entry(host.clone()).or_default().failed += 1;
                        state.batch_failed.insert(host.clone());
                    }
                }
                Ok(None) => {
                    let outcome = job.skipped_outcome();
                    self.apply_outcome(state, task, &outcome)?;
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
            match self.load_included(task, ctx, &target) {
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
                            .and_then(|v| v.get("item"))
                            .map(runner::label_text),
                        task: events::task_id(task),
                    });
                    for h in &group_hosts {
                        self.stats.entry(h.clone()).or_default().ok += 1;
                    }
                    ready.push((items, role, role_handlers, item_vars, group_hosts));
                }
                Err(e) => {
                    for h in &group_hosts {
                        let job = self.job(state, task, ctx, h, &hosts);
                        let outcome = job.failure(e.clone());
                        self.apply_outcome(state, task, &outcome)?;
                        survivors.retain(|s| s != h);
                        failed_now.push(h.clone());
                        if !ctx.rescuable {
                            self.failed.insert(h.clone());
                            self.stats.entry(h.clone()).or_default().failed += 1;
                            state.batch_failed.insert(h.clone());
                        }
                    }
                }
            }
        }
        for (items, _role, role_handlers, item_vars, group_hosts) in ready {
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
            if let Some(v) = item_vars {
                ictx.layers.mid.push(Arc::new(v));
            }
            // An included file does not inherit the include's tags (Ansible's `apply` aside).
            ictx.tags = ictx
                .tags
                .iter()
                .filter(|t| !task.kw.tags.contains(t))
                .cloned()
                .collect();
            let after = self
                .run_items(state, &items, ictx, group_hosts.clone())
                .await?;
            survivors.retain(|h| !group_hosts.contains(h) || after.contains(h));
        }
        let hosts_left: Vec<String> = state
            .batch
            .iter()
            .filter(|h| !self.unreachable.contains(*h))
            .cloned()
            .collect();
        self.apply_failure_policy(state, ctx, false, &failed_now, &[], &hosts_left, true);
        if let Some(shared) = &state.shared {
            let mut removed = shared.removed.lock().unwrap_or_else(|e| e.into_inner());
            removed.extend(
                failed_now
                    .iter()
                    .filter(|h| self.failed.contains(*h))
                    .cloned(),
            );
        }
        Ok(active
            .into_iter()
            .filter(|h| survivors.contains(h) || state.ended.contains(h))
            .collect())
    }

    /// The items of an included tasks file, or of an included role (its blocks carry it) with
    /// the role's name and its handlers.
    fn load_included(
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
                handler: false,
                depth: 1,
            };
            let path = resolve_tasks_file(target, &dir, ctx.role.as_deref(), &self.loader)
                .ok_or_else(|| {
                    Error::syntax(&task.span, format!("could not find or access '{target}'"))
                })?;
            return Ok(IncludedFile {
                items: load_tasks_file(&path, &ictx)?,
                role: None,
                handlers: Vec::new(),
            });
        }
        let files: RoleFiles = serde_role_files(target);
        let name = target.split('\u{1f}').next().unwrap_or(target);
        let mut loaded = load_role(
            name,
            &task.span,
            Vars::new(),
            Keywords::default(),
            &files,
            &self.loader,
            1,
        )?;
        // include_role runs its role even where it ran before (its allow_duplicates defaults to
        // true); the role's dependencies follow the usual rule.
        let allow = role_task_args(&task.args)
            .map(|(_, _, a)| a)
            .unwrap_or(true);
        loaded.ctx = Arc::new(RoleCtx {
            allow_duplicates: allow || loaded.ctx.allow_duplicates,
            ..(*loaded.ctx).clone()
        });
        let role_name = loaded.ctx.name.clone();
        let mut new_handlers = Vec::new();
        let items = loaded.into_items(&mut new_handlers);
        Ok(IncludedFile {
            items,
            role: Some(role_name),
            handlers: new_handlers,
        })
    }

    /// A job for one host, for the include machinery.
    fn job(
        &self,
        state: &BatchState,
        task: &Arc<Task>,
        ctx: &Ctx,
        host: &str,
        hosts: &[String],
    ) -> HostJob {
        HostJob {
            host: host.to_string(),
            task: task.clone(),
            chain: Arc::new(ctx.chain.clone()),
            layers: Arc::new(ctx.layers.clone()),
            magic: self.magic(state, ctx, hosts),
            store: self.store.clone(),
            pool: self.pool.clone(),
            opts: self.opts.clone(),
            delegate: None,
        }
    }

    fn magic(&self, state: &BatchState, ctx: &Ctx, hosts: &[String]) -> Vars {
        let play_hosts: Value = match &state.shared {
            // Under free, a lane runs one host; the play's hosts are the batch's still going.
            Some(shared) => {
                let removed = shared.removed.lock().unwrap_or_else(|e| e.into_inner());
                state
                    .batch
                    .iter()
                    .filter(|h| !removed.contains(*h) && !self.failed.contains(*h))
                    .map(|h| Value::from(h.as_str()))
                    .collect()
            }
            None => hosts.iter().map(|h| Value::from(h.as_str())).collect(),
        };
        let mut magic = Vars::new();
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
        if let Some(r) = &ctx.role {
            // Where lookups (file, template, first_found) look first: the role, then the play.
            let mut search = vec![Value::from(r.path.display().to_string())];
            if let Some(dir) = &self.play_dir {
                search.push(Value::from(dir.display().to_string()));
            }
            magic.insert("ansible_search_path".into(), Value::from(search));
            magic.insert("role_name".into(), Value::from(r.name.as_str()));
            magic.insert(
                "role_path".into(),
                Value::from(r.path.display().to_string()),
            );
        }
        magic
    }

    /// Runs one task on the active hosts and applies the results and the failure policy.
    async fn run_task(
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
        let name = self.banner_name(task, ctx, handler);
        self.reporter.event(&Event::TaskStart {
            name: &name,
            handler,
            id: events::task_id(task),
        });

        let mut run_once = ctx
            .chain
            .iter()
            .rev()
            .find_map(|k| k.run_once.as_ref())
            .is_some_and(template::truthy);
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
        let targets: Vec<String> = if run_once {
            hosts.iter().take(1).cloned().collect()
        } else {
            hosts.clone()
        };

        // Ansible marks a role complete with an implicit `meta: role_complete` task tagged
        // `always`; `--skip-tags always` skips it, and the role may then run again.
        if let Some(r) = ctx.role.as_ref().filter(|_| self.implicit_meta()) {
            self.role_ran
                .entry(r.identity.clone())
                .or_default()
                .extend(hosts.iter().cloned());
        }
        let chain = Arc::new(ctx.chain.clone());
        let layers = Arc::new(ctx.layers.clone());
        // `throttle` caps how many hosts run this task at once, below forks.
        let throttle = ctx
            .chain
            .iter()
            .rev()
            .find_map(|k| k.throttle.as_ref())
            .and_then(|t| t.as_i64().or_else(|| t.to_string().parse().ok()))
            .filter(|t| *t > 0)
            .map(|t| t as usize);
        let width = throttle.map_or(self.opts.forks, |t| t.min(self.opts.forks));
        let semaphore = Arc::new(Semaphore::new(width.max(1)));
        let mut set = tokio::task::JoinSet::new();
        let magic = self.magic(state, ctx, &hosts);
        // group_by changes the inventory host by host: one at a time, in the batch's order, so
        // groups list their hosts as Ansible's (which takes the results in turn) do.
        let one_by_one = inventory == Some(crate::modules::Inventory::PerHost);
        let mut in_order: std::collections::VecDeque<HostJob> = Default::default();
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
            };
            if one_by_one {
                in_order.push_back(job);
                continue;
            }
            let permit = semaphore.clone();
            let worker = self.workers.clone();
            set.spawn(self.template_warnings.scope(async move {
                let _permit = permit.acquire_owned().await;
                // Under free, the forks are shared by every host's lane.
                let _worker = match worker {
                    Some(w) => w.acquire_owned().await.ok(),
                    None => None,
                };
                job.run().await
            }));
        }

        let mut survivors: Vec<String> = Vec::new();
        // Hosts whose result failed (ignored failures aside), and hosts that went unreachable.
        let mut failed_now: Vec<String> = Vec::new();
        let mut unreachable_now: Vec<String> = Vec::new();
        let mut run_once_result: Option<runner::HostOutcome> = None;
        loop {
            let outcome = match in_order.pop_front() {
                Some(job) => job.run().await,
                None => match set.join_next().await {
                    Some(joined) => joined.map_err(|e| {
                        Error::new(
                            ErrorKind::Internal,
                            format!("a task panicked or was cancelled: {e}"),
                        )
                    })?,
                    None => break,
                },
            };
            self.apply_outcome(state, task, &outcome)?;
            let host = outcome.result.host.clone();
            match outcome.result.status {
                Status::Failed if !outcome.result.ignored => failed_now.push(host),
                Status::Unreachable => unreachable_now.push(host),
                _ => survivors.push(host),
            }
            if run_once {
                run_once_result = Some(outcome);
            }
        }
        // run_once: the one result is registered for every host of the batch; only the host
        // that ran it is counted (a failure stops the others through any_errors_fatal). A task
        // that bypasses the host loop (add_host) registers on its one host alone, as Ansible.
        if let Some(outcome) = run_once_result {
            for host in hosts.iter().skip(1) {
                if bypass {
                    survivors.push(host.clone());
                    continue;
                }
                if let Some(name) = &task.register {
                    self.store
                        .set_host_var(host, name, outcome.registered.clone());
                }
                // delegate_facts gave the facts to the delegated host alone.
                let delegated_facts = task
                    .kw
                    .delegate_facts
                    .as_ref()
                    .is_some_and(template::truthy)
                    && outcome.result.delegated_to.is_some();
                if let Some(facts) = outcome.facts.as_ref().filter(|_| !delegated_facts) {
                    for (k, v) in facts {
                        self.set_fact_var(task, host, k, v);
                    }
                }
                survivors.push(host.clone());
            }
        }
        if !ctx.rescuable {
            // A failure inside a block with `rescue` is the rescue's to handle, not counted.
            for host in &failed_now {
                self.failed.insert(host.clone());
                state.batch_failed.insert(host.clone());
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
        self.apply_failure_policy(
            state,
            ctx,
            run_once,
            &failed_now,
            &unreachable_now,
            &hosts_left,
            !targets.is_empty(),
        );
        let keep: Vec<String> = active
            .into_iter()
            .filter(|h| {
                (survivors.contains(h) || state.ended.contains(h))
                    && !self.failed.contains(h)
                    && !self.unreachable.contains(h)
            })
            .collect();
        Ok(keep)
    }

    /// After a task, ansible-core's linear strategy, step by step: `any_errors_fatal` (which
    /// `run_once` implies) marks every host left failed when a host failed or went
    /// unreachable; `max_fail_percentage` compares the batch's failed hosts with the batch size
    /// (strictly greater), marks the rest failed and stops later plays; the batch then ends
    /// when every host left has failed.
    #[allow(clippy::too_many_arguments)]
    fn apply_failure_policy(
        &mut self,
        state: &mut BatchState,
        ctx: &Ctx,
        run_once: bool,
        failed_now: &[String],
        unreachable_now: &[String],
        hosts_left: &[String],
        had_results: bool,
    ) {
        if state.free {
            // ansible-core's free strategy applies no failure policy while a batch runs.
            return;
        }
        let flag = |get: fn(&Keywords) -> &Option<Value>| {
            ctx.chain
                .iter()
                .rev()
                .find_map(|k| get(k).as_ref())
                .is_some_and(template::truthy)
        };
        let any_errors_fatal =
            (flag(|k| &k.any_errors_fatal) || run_once) && !flag(|k| &k.ignore_errors);
        if any_errors_fatal && (!failed_now.is_empty() || !unreachable_now.is_empty()) {
            for h in hosts_left {
                if !failed_now.contains(h) {
                    self.failed.insert(h.clone());
                    state.batch_failed.insert(h.clone());
                }
            }
        }
        if let Some(pct) = state.max_fail_percentage.filter(|_| had_results) {
            let size = state.batch.len().max(1) as f64;
            if state.batch_failed.len() as f64 / size > pct / 100.0 {
                for h in hosts_left {
                    if !failed_now.contains(h) {
                        self.failed.insert(h.clone());
                        state.batch_failed.insert(h.clone());
                    }
                }
                self.reporter.event(&Event::PlayAborted {
                    reason: "NO MORE HOSTS LEFT",
                });
                state.break_play = true;
            }
        }
        if state.break_play && state.batch_failed.len() >= hosts_left.len() {
            state.over = true;
        }
    }

    /// Shows what templating warned about since the last time, before the result it belongs to.
    fn show_template_warnings(&mut self) {
        for w in self.template_warnings.take() {
            self.warn_once(&w);
        }
    }

    fn apply_outcome(
        &mut self,
        state: &mut BatchState,
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
            Status::Unreachable => {
                stats.unreachable += 1;
                self.unreachable.insert(host.clone());
            }
        }
        if let Some(spec) = &outcome.broken {
            self.pool.invalidate(spec);
        }
        if let Some(name) = &task.register {
            // Ansible's registered results say `failed: false` when the task did not fail.
            let registered = match outcome.result.status {
                Status::Ok | Status::Changed => with_failed_false(&outcome.registered),
                _ => outcome.registered.clone(),
            };
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
                Some(d)
                    if task
                        .kw
                        .delegate_facts
                        .as_ref()
                        .is_some_and(template::truthy) =>
                {
                    d
                }
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
                // The module's `ansible_*` names become ansible_facts' names; later gathering
                // adds to what is known (and goes to the fact cache).
                let mut facts = crate::modules::fact_cache::namespace_facts(facts);
                if task.action == "gather_facts" {
                    facts.insert("_ansible_facts_gathered".into(), Value::from(true));
                }
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
            }
        }
        if outcome.result.status == Status::Changed && !task.notify.is_empty() {
            self.notify(state, task, host)?;
        }
        Ok(())
    }

    /// Keeps a variable a task set on a host (`set_fact`, `include_vars`). What `include_vars`
    /// read is the user's own text, templated when used; everything else is data.
    fn set_fact_var(&self, task: &Task, host: &str, key: &str, value: &Value) {
        if crate::modules::spec_of(&task.action)
            .is_some_and(|s| s.facts == crate::modules::Facts::Files)
        {
            self.store.set_host_var_from_file(host, key, value.clone());
        } else {
            self.store.set_host_var(host, key, value.clone());
        }
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

    /// `meta` tasks, as ansible-core 2.19 runs them: each host takes the task in turn (so its
    /// banner shows once per host), its `when` decides for that host (a skip is shown, not
    /// counted), and `end_play` stops at the first host that reaches it.
    async fn run_meta(
        &mut self,
        state: &mut BatchState,
        task: &Arc<Task>,
        ctx: &Ctx,
        hosts: Vec<String>,
    ) -> Result<Vec<String>, Error> {
        let action = task
            .args
            .get_attr("_raw_params")
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if !matches!(
            action.as_str(),
            "flush_handlers"
                | "noop"
                | "refresh_inventory"
                | "clear_facts"
                | "clear_host_errors"
                | "end_play"
                | "end_batch"
                | "end_host"
                | "reset_connection"
                | "role_complete"
        ) {
            return Err(Error::syntax(
                &task.span,
                format!("invalid meta action requested: {action}"),
            ));
        }
        let name = self.banner_name(task, ctx, false);
        let mut flush_for = Vec::new();
        let mut active = hosts.clone();
        for host in &hosts {
            self.reporter.event(&Event::TaskStart {
                name: &name,
                handler: false,
                id: events::task_id(task),
            });
            let job = self.job(state, task, ctx, host, &hosts);
            if !job.when_holds()? {
                let outcome = job.skipped_outcome();
                self.reporter.event(&Event::HostResult {
                    result: &outcome.result,
                    item: false,
                });
                continue;
            }
            match action.as_str() {
                "flush_handlers" => flush_for.push(host.clone()),
                "end_host" => {
                    state.ended.insert(host.clone());
                    active.retain(|h| h != host);
                }
                "end_batch" | "end_play" => {
                    state.end_batch = true;
                    state.end_play |= action == "end_play";
                    if let Some(shared) = &state.shared {
                        shared
                            .end_batch
                            .store(true, std::sync::atomic::Ordering::SeqCst);
                        if action == "end_play" {
                            shared
                                .end_play
                                .store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                    return Ok(Vec::new());
                }
                "clear_host_errors" => {
                    self.failed.remove(host);
                }
                "clear_facts" => self.store.set_facts(host, Vars::new()),
                _ => {}
            }
        }
        if action == "clear_host_errors" {
            // Hosts that failed earlier in the batch take part again.
            for h in &state.batch {
                if !self.unreachable.contains(h) && !active.contains(h) && !state.ended.contains(h)
                {
                    active.push(h.clone());
                }
            }
            active = state
                .batch
                .iter()
                .filter(|h| active.contains(h))
                .cloned()
                .collect();
        }
        if !flush_for.is_empty() {
            let flushed = self.flush_handlers(state, flush_for.clone()).await?;
            active.retain(|h| !flush_for.contains(h) || flushed.contains(h));
        }
        Ok(active)
    }
}

/// Handlers in definition order (blocks in the handler list flattened, roles' with their role).
fn flatten_handlers(items: &[Item], ctx: &Ctx, out: &mut Vec<Handler>) {
    for item in items {
        match item {
            Item::Task(t) => out.push(Handler {
                task: t.clone(),
                ctx: ctx.enter(&t.kw, None),
            }),
            Item::Block(b) => flatten_handlers(&b.block, &ctx.enter(&b.kw, b.role.as_ref()), out),
        }
    }
}

/// `include_role`'s target travels as one string: the name, then the `_from` files.
fn serde_role_files(target: &str) -> RoleFiles {
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
    Ok([
        name,
        files.tasks_from.unwrap_or_default(),
        files.vars_from.unwrap_or_default(),
        files.defaults_from.unwrap_or_default(),
        files.handlers_from.unwrap_or_default(),
    ]
    .join("\u{1f}"))
}

/// The implicit "Gathering Facts" task.
fn setup_task(play: &Play) -> Task {
    Task {
        name: Some("Gathering Facts".to_string()),
        // Ansible's gather_facts action (which marks the facts `_ansible_facts_gathered`).
        action: "gather_facts".to_string(),
        args: match &play.gather_subset {
            Some(s) => value::map([("gather_subset", s.clone())]),
            None => value::map(Vec::<(&str, Value)>::new()),
        },
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

/// `order: shuffle`: a random order from the clock and the process, no crate needed.
fn shuffle(hosts: &mut [String]) {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        ^ u64::from(std::process::id());
    for i in (1..hosts.len()).rev() {
        // xorshift64
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        hosts.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// A registered result with `failed: false` added when it has no `failed` key.
fn with_failed_false(v: &Value) -> Value {
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
