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
mod failures;
mod handlers;
mod includes;
mod meta;
mod pool;
mod runner;
mod strategy;
mod task;
pub mod unwind;

use crate::connection::BoxFuture;
use crate::diagnostics::Error;
use crate::inventory::Inventory;
use crate::playbook::{Item, Keywords, Play, Playbook, RoleCtx, Task};
use crate::template;
use crate::value::{self, Value, Vars};
use crate::vars::{Layers, VarStore};
use events::{Event, HostStats, Reporter};
use handlers::{Handler, flatten_handlers};
pub use includes::MAX_INCLUDE_DEPTH;
pub(crate) use includes::role_target;
use indexmap::IndexMap;
use pool::Pool;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use strategy::LaneShared;
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
    // The run's settings Ansible's magic variables give (they show in a whole `hostvars`).
    store.set_global("ansible_forks", Value::from(opts.forks));
    let run_tags: Vec<Value> = if opts.tags.is_empty() {
        vec![Value::from("all")]
    } else {
        opts.tags.iter().map(|t| Value::from(t.as_str())).collect()
    };
    store.set_global("ansible_run_tags", Value::from(run_tags));
    store.set_global(
        "ansible_skip_tags",
        Value::from(
            opts.skip_tags
                .iter()
                .map(|t| Value::from(t.as_str()))
                .collect::<Vec<_>>(),
        ),
    );
    // File sources by their absolute path, host lists (`web1,web2`) as written.
    let sources: Vec<Value> = store
        .inventory()
        .sources
        .iter()
        .map(|s| match std::fs::canonicalize(s) {
            Ok(p) if !s.contains(',') => Value::from(p.display().to_string()),
            _ => Value::from(s.as_str()),
        })
        .collect();
    store.set_global("ansible_inventory_sources", Value::from(sources));
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
    // A panic in the executor (a bug) stops the run, but what was done is still told: the
    // play ends as aborted with the panic's message, and the recap follows (exit status 2, as
    // for a run a failure policy stopped).
    let template_warnings = runner.template_warnings.clone();
    let result = template_warnings
        .scope(unwind::CatchUnwind::new(runner.run_playbook(playbook)))
        .await;
    runner.show_template_warnings();
    runner.pool.close_all().await;
    let result = result.unwrap_or_else(|panic| {
        runner.reporter.event(&Event::PlayAborted {
            reason: &format!("ERROR! baton stopped the run on an internal error (a bug): {panic}"),
        });
        runner.stopped = true;
        Ok(())
    });
    result?;
    runner.reporter.event(&Event::Recap {
        stats: &runner.stats,
    });
    let exit_code = failures::exit_code(
        runner
            .opts
            .interrupted
            .load(std::sync::atomic::Ordering::SeqCst),
        runner.stopped,
        &runner.stats,
    );
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

/// Where an item runs: the keywords from the play down to it, the variable layers, the role.
#[derive(Clone)]
struct Ctx {
    /// Each entry shared: every nested block and include level holds a context, and copies of
    /// the keywords themselves would cost the square of the nesting depth.
    chain: Vec<Arc<Keywords>>,
    layers: Layers,
    role: Option<Arc<RoleCtx>>,
    /// Inside a block with `rescue`: a failure here is rescued, not counted.
    rescuable: bool,
    /// Tags inherited from the play, roles, blocks and imports.
    tags: Vec<String>,
    /// The dynamic includes this item runs under, outermost first: each one's place and the
    /// file or role it brought in ([`MAX_INCLUDE_DEPTH`]).
    includes: Arc<Vec<String>>,
}

impl Ctx {
    /// The keywords as a host's job reads them.
    fn job_chain(&self) -> Arc<Vec<Keywords>> {
        Arc::new(self.chain.iter().map(|k| (**k).clone()).collect())
    }

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
        c.chain.push(Arc::new(kw.clone()));
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
        self.show_load_warnings();
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
            let mut warnings = Vec::new();
            let vars = crate::playbook::load::load_vars_file(&path, &mut warnings)?;
            self.loader.warn(warnings);
            out.push(Arc::new(vars));
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
        unwind::fault("play", &play.name);
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
        let vars_files = self.load_vars_files(play);
        self.show_load_warnings();
        mid.extend(vars_files?);
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
        let strategy = strategy::by_name(&strategy).map_err(|other| {
            Error::syntax(
                play.spans.get("strategy").unwrap_or(&play.span),
                format!("Invalid play strategy specified: {other}; baton runs linear and free"),
            )
        })?;
        // The implicit fact gathering is one task for the whole play (one banner under free).
        let setup = Arc::new(setup_task(play));
        let base = Ctx {
            chain: vec![Arc::new(play.kw.clone())],
            layers,
            role: None,
            rescuable: false,
            tags: play.kw.tags.clone(),
            includes: Arc::default(),
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
                strategy: strategy.name(),
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
            strategy
                .run_batch(self, play, &mut state, &base, gather, &setup)
                .await?;
            break_play |= state.break_play;
            if state.end_play {
                break;
            }
            let newly = (self.failed.len() + self.unreachable.len())
                .saturating_sub(prev_failed + prev_unreachable);
            if failures::batch_all_failed(newly, batch.len()) {
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

    /// Shows what reading files found worth a warning (duplicate keys), kept by the loader
    /// since the last time: after the playbook was read, after vars files and includes.
    fn show_load_warnings(&mut self) {
        for w in self.loader.take_warnings() {
            self.warn_once(&w);
        }
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

    /// Whether Ansible's implicit meta tasks (tagged `always`) run under the tag selection.
    fn implicit_meta(&self) -> bool {
        tags_select(
            &["always".to_string()],
            &self.opts.tags,
            &self.opts.skip_tags,
        )
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
