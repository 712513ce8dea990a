//! The executor: runs a playbook against an inventory, the way ansible-playbook's linear
//! strategy does (and its free strategy).
//!
//! For each play it selects the hosts, cuts them into `serial` batches, and for each batch walks
//! the play's sections: under `linear` every task runs on all active hosts of the batch at once
//! (bounded by `forks`) and the next task starts when all have answered; under `free` each host
//! goes through the play on its own lane. Blocks route failed hosts to `rescue` and everyone to
//! `always`; handlers run at the end of each section. After every task the failure policy is
//! applied. What happens is told to a [`events::Reporter`] as events; the executor never prints
//! (and never reads the terminal: `vars_prompt` and `--step` ask through events).
//!
//! The rooms, each a file that says what it owns:
//! - this file: the run ([`run`]: globals, the recap, the exit status), the [`Runner`] every
//!   room works on, a batch's state ([`BatchState`]), where an item runs ([`Ctx`]), tags;
//! - `play`: a play's hosts, vars_files, vars_prompt, the batches loop, fact gathering and
//!   the sections of one batch;
//! - `keywords`: play keywords templated once per play, inherited task keywords read;
//! - `strategy`: the [`strategy::Strategy`] trait, `linear` (lockstep) and `free` (lanes);
//! - `iterator`: a list of tasks and blocks walked per host, block / rescue / always;
//! - `task`: one task fanned out over the hosts and its results applied (`runner.rs`: one
//!   task on one host: loops, until, delegation, conditions, the module call);
//! - `includes`: include_tasks / include_role at run time, the include-depth limit;
//! - `handlers`: notify / listen, the flush, force_handlers;
//! - `failures`: serial batches' failure accounting (max_fail_percentage, any_errors_fatal,
//!   the whole-batch stop) and the exit status, as pure functions;
//! - `meta`: meta actions;
//! - `batches` (batch sizes), `events`, `pool` (connections), `unwind` (panics caught),
//!   `shard` (`--shard K/N`: the hosts a sharded run keeps).
//!
//! `add_host` and `group_by` are the executor's: they change the run's inventory
//! ([`crate::vars::VarStore::update_inventory`]) for every later task and play.

pub mod batches;
pub mod events;
mod failures;
mod handlers;
mod includes;
mod iterator;
mod keywords;
mod meta;
mod play;
mod pool;
mod questions;
mod runner;
pub mod shard;
mod strategy;
mod task;
#[cfg(test)]
mod testkit;
pub mod unwind;

use crate::diagnostics::Error;
use crate::inventory::Inventory;
use crate::playbook::{Keywords, Playbook, RoleCtx};
use crate::template;
use crate::value::{Value, Vars};
use crate::vars::{Layers, VarStore};
use events::{Event, HostStats, Reporter};
use handlers::Handler;
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
    /// FACTS_MODULES: the modules the gather_facts action runs when a host's
    /// `ansible_facts_modules` does not say (`smart` when empty).
    pub facts_modules: Vec<String>,
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
    /// `--force-handlers` / `force_handlers` in configuration: the default of plays that do
    /// not say (a play's `force_handlers` wins).
    pub force_handlers: bool,
    /// `error_on_missing_handler`: a notify that reaches no handler fails the host (true, the
    /// default) or warns.
    pub error_on_missing_handler: bool,
    /// How to read the inventory's sources again, for `meta: refresh_inventory` (without it,
    /// the inventory stays as it is).
    pub reload_inventory: Option<InventoryReload>,
    /// `ANSIBLE_DEBUG`: show the executor's debug lines that scripts look for (the implicit
    /// handler flush's "META: triggered running handlers for HOST").
    pub debug: bool,
    /// `--shard K/N`: only the hosts of this shard run ([`shard`]).
    pub shard: Option<shard::Shard>,
}

/// Reads the run's inventory sources afresh (`meta: refresh_inventory`).
#[derive(Clone)]
pub struct InventoryReload(pub Arc<dyn Fn() -> Result<Inventory, Error> + Send + Sync>);

impl std::fmt::Debug for InventoryReload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InventoryReload")
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gathering: "implicit".into(),
            facts_modules: Vec::new(),
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
            force_handlers: false,
            error_on_missing_handler: true,
            reload_inventory: None,
            debug: false,
            shard: None,
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

/// The controller's Python: the one beside `ansible-playbook` on PATH, else the first `python3`
/// on PATH (the one the Python fallback asks ansible-core with).
fn controller_python() -> String {
    crate::modules::python::controller_python()
        .display()
        .to_string()
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
    // The Python that runs ansible-playbook, in ansible-core; baton's is the controller's
    // python3, for the inventories that set `ansible_python_interpreter` from it.
    store.set_global("ansible_playbook_python", Value::from(controller_python()));
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
        removed: HashSet::new(),
        stopped: false,
        loader: playbook.loader.clone(),
        role_ran: HashMap::new(),
        play_roles: Arc::default(),
        started: opts_start_missing,
        unreachable_at: HashMap::new(),
        resume_after: None,
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
    // The hosts' private directories of Python module payloads go before the connections.
    playbook.loader.python.cleanup().await;
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
        !runner.unreachable.is_empty(),
        !runner.failed.is_empty(),
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
    /// The running play's removed hosts (ansible-core's `play._removed_hosts`): failed (a
    /// failure no `rescue` catches, or marked by a policy), unreachable or ended. What
    /// `ansible_play_hosts` and `ansible_play_batch` leave out; `clear_host_errors` does not
    /// bring a host back into them, as in ansible-core.
    removed: HashSet<String>,
    /// A failure policy stopped the run: no later batch or play runs.
    stopped: bool,
    loader: Arc<crate::playbook::Loader>,
    /// Per role (by identity), the hosts where one of its tasks ran in this play: a role runs
    /// once per host unless it allows duplicates, as Ansible decides it while running.
    role_ran: HashMap<String, HashSet<String>>,
    /// `--start-at-task` found its task (or was not given).
    started: bool,
    /// Per host, the task (its [`events::task_id`]) at which it went unreachable: where a host
    /// that `meta: clear_host_errors` brings back takes up the play again.
    unreachable_at: HashMap<String, u64>,
    /// Taking up the play again for revived hosts: every task up to and including this one is
    /// passed over.
    resume_after: Option<u64>,
    /// `--step` answered "continue": stop asking.
    step_off: bool,
    /// The running play's own directory, its `playbook_dir`.
    play_dir: Option<PathBuf>,
    /// The running play's name and roles, for the magic variables (shared with the lanes of
    /// the `free` strategy: `include_role` adds to them).
    play_roles: Arc<std::sync::Mutex<PlayRoles>>,
    /// Warnings already shown: Ansible shows each warning text once per run.
    warned: Arc<std::sync::Mutex<HashSet<String>>>,
    /// What templating warned about (on this task or the host jobs it spawned), not shown yet.
    template_warnings: template::Warnings,
    /// Under the `free` strategy, the forks shared by every host's lane.
    workers: Option<Arc<Semaphore>>,
}

/// The running play as its magic variables tell it: ansible-core's `play.roles` (the roles
/// the play names, `import_role`s, then each `include_role` as it is included) and the names
/// of their dependencies.
#[derive(Debug, Default, Clone)]
struct PlayRoles {
    play_name: String,
    roles: Vec<String>,
    dependencies: Vec<String>,
    /// Defaults and vars of the roles `include_role` brought in with `public: true`: every
    /// later task of the play sees them.
    exported_defaults: Arc<Vars>,
    exported_vars: Arc<Vars>,
}

impl PlayRoles {
    /// `role_names` and family, and `ansible_play_name`.
    fn magic(&self, magic: &mut Vars) {
        let list =
            |names: &[String]| -> Value { names.iter().map(|n| Value::from(n.as_str())).collect() };
        // ansible-core builds this one from a set: each name once (its order is Python's set
        // order, which no one can rely on).
        let mut all: Vec<String> = Vec::new();
        for n in self.roles.iter().chain(&self.dependencies) {
            if !all.contains(n) {
                all.push(n.clone());
            }
        }
        magic.insert("ansible_role_names".into(), list(&all));
        magic.insert("ansible_play_role_names".into(), list(&self.roles));
        magic.insert("role_names".into(), list(&self.roles));
        magic.insert(
            "ansible_dependent_role_names".into(),
            list(&self.dependencies),
        );
        magic.insert(
            "ansible_play_name".into(),
            Value::from(self.play_name.as_str()),
        );
    }
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
    /// Running a handler (and what a handler's include_tasks brought in): banners say
    /// `RUNNING HANDLER`.
    handler: bool,
}

impl Ctx {
    /// The keywords as a host's job reads them.
    fn job_chain(&self) -> Arc<Vec<Keywords>> {
        Arc::new(self.chain.iter().map(|k| (**k).clone()).collect())
    }

    /// What an `include_role`/`import_role` inside role `parent` passes to the role it brings
    /// in (ansible-core's IncludeRole.get_include_params): the parent's role params, and the
    /// chain of roles that included it, innermost first, as `ansible_parent_role_names` and
    /// `ansible_parent_role_paths`.
    fn parent_role_params(&self, parent: &RoleCtx) -> Vars {
        let inherited = |key: &str| -> Vec<Value> {
            self.layers
                .high
                .iter()
                .rev()
                .find_map(|l| l.get(key))
                .and_then(|v| v.try_iter().ok())
                .map(|it| it.collect())
                .unwrap_or_default()
        };
        let mut names = vec![Value::from(parent.name.as_str())];
        names.extend(inherited("ansible_parent_role_names"));
        let mut paths = vec![Value::from(parent.path.display().to_string())];
        paths.extend(inherited("ansible_parent_role_paths"));
        let mut layer = (*parent.params).clone();
        layer.insert("ansible_parent_role_names".into(), Value::from(names));
        layer.insert("ansible_parent_role_paths".into(), Value::from(paths));
        layer
    }

    /// The context inside a block (or a role's block).
    fn enter(&self, kw: &Keywords, role: Option<&Arc<RoleCtx>>) -> Ctx {
        let mut c = self.clone();
        if let Some(r) = role {
            if r.included
                && let Some(parent) = &self.role
            {
                c.layers
                    .high
                    .push(Arc::new(self.parent_role_params(parent)));
            }
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
    /// Hosts a failure policy marked failed inside a block with `rescue`: they go to the rescue
    /// without counting as rescued (they had no failed result of their own).
    policy_marked: HashSet<String>,
    /// Hosts whose failed state `meta: clear_host_errors` cleared: a block whose `always` they
    /// are running lets them go on.
    cleared: HashSet<String>,
    /// Unreachable hosts of the batch that `meta: clear_host_errors` brought back: as in
    /// ansible-core, each takes up the play after the task where it went unreachable, once
    /// the other hosts have reached the end of the play's tasks (its lockstep cursor wraps).
    revived: Vec<String>,
    max_fail_percentage: Option<f64>,
    /// The batch ended early: every host left has failed after a policy tripped.
    over: bool,
    /// max_fail_percentage tripped: no later play runs (Ansible's RUN_FAILED_BREAK_PLAY).
    break_play: bool,
    /// Handlers notified, per host, by index in the handler list.
    notified: HashMap<String, Vec<usize>>,
    /// Notifications not yet matched to handlers, per host, by name: matched when handlers
    /// are flushed, so that the handler defined last by then (a role included again) answers.
    notifications: HashMap<String, Vec<String>>,
    /// Hosts that finished the play early (`meta: end_host`).
    ended: HashSet<String>,
    /// Hosts that ended a role (`meta: end_role`), with the role's identity: the role's
    /// remaining tasks pass them over, until the role's block is done.
    roles_ended: HashMap<String, String>,
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
    /// Under `free`: this lane's own failed `run_once` task failed every host of the play.
    /// The other lanes stop; this one goes on through its block's `rescue` / `always`.
    failed_all_here: bool,
}

impl BatchState {
    /// A batch's state before it runs (under the `linear` strategy).
    fn new(
        batch: Vec<String>,
        all_hosts: Vec<String>,
        max_fail_percentage: Option<f64>,
        force_handlers: bool,
        handlers: Arc<Vec<Handler>>,
    ) -> BatchState {
        BatchState {
            batch,
            all_hosts,
            batch_failed: HashSet::new(),
            policy_marked: HashSet::new(),
            cleared: HashSet::new(),
            revived: Vec::new(),
            max_fail_percentage,
            over: false,
            break_play: false,
            notified: HashMap::new(),
            notifications: HashMap::new(),
            ended: HashSet::new(),
            roles_ended: HashMap::new(),
            end_batch: false,
            end_play: false,
            force_handlers,
            handlers,
            free: false,
            shared: None,
            failed_all_here: false,
        }
    }

    /// The batch (or this host's part of it) is over: a policy tripped or a meta task ended it.
    fn stopping(&self) -> bool {
        self.over
            || self.end_batch
            || self.shared.as_ref().is_some_and(|s| {
                s.end_batch.load(std::sync::atomic::Ordering::SeqCst)
                    || (s.fail_all.load(std::sync::atomic::Ordering::SeqCst)
                        && !self.failed_all_here)
            })
    }
}

/// Ansible's tag selection: `always` runs unless skipped by name, `never` only when asked for,
/// `tagged`/`untagged`/`all` as the special selectors.
/// Tags as a task has them: each one written as a template (`tags: "{{ the_tags }}"`) is
/// templated with `scope` (made only if needed), a list giving each of its items, as
/// ansible-core's `evaluate_tags`. A template that fails stays as written.
pub fn expand_tags(tags: &[String], scope: impl FnOnce() -> Value) -> Vec<String> {
    if !tags.iter().any(|t| template::is_template(t)) {
        return tags.to_vec();
    }
    let scope = scope();
    let mut out = Vec::new();
    for t in tags {
        if !template::is_template(t) {
            out.push(t.clone());
            continue;
        }
        match template::render_value(&Value::from(t.as_str()), &scope) {
            Ok(v) => crate::playbook::load::push_tags(&v, &mut out),
            Err(_) => out.push(t.clone()),
        }
    }
    out
}

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
    /// The hosts of the batch that have not failed or gone unreachable (in this play or before).
    fn hosts_going(&self, state: &BatchState) -> Vec<String> {
        state
            .batch
            .iter()
            .filter(|h| !self.failed.contains(*h) && !self.unreachable.contains(*h))
            .cloned()
            .collect()
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

    fn interrupted(&self) -> bool {
        self.opts
            .interrupted
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether Ansible's implicit meta tasks (tagged `always`) run under the tag selection.
    fn implicit_meta(&self) -> bool {
        tags_select(
            &["always".to_string()],
            &self.opts.tags,
            &self.opts.skip_tags,
        )
    }
}
