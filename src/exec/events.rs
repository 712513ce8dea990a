//! What the executor tells the world: [`Event`]s, sent to a [`Reporter`].
//!
//! The executor never prints. Everything a user sees (the human output, JSON lines, progress
//! bars) is a reporter in `crate::output` turning these events into text.

use crate::value::Vars;
use indexmap::IndexMap;

/// A result key marking a failure the executor decided (failed_when, until), not the module:
/// ansible-core words it "Action failed" whatever the module. Internal: neither shown nor
/// registered (`_ansible_*` keys never are).
pub const ACTION_FAILURE: &str = "_ansible_baton_action_failure";

/// How one task ended on one host (or for one loop item).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
}

/// The result of a task on a host, as reported.
#[derive(Debug, Clone)]
pub struct TaskResult {
    pub host: String,
    pub status: Status,
    /// The module's result (`rc`, `stdout`, `msg`...), without the `no_log`-hidden parts.
    pub result: Vars,
    /// A failure that `ignore_errors` let pass, or an unreachable result that
    /// `ignore_unreachable` let the host go on from.
    pub ignored: bool,
    /// `delegate_to` target, when the task ran elsewhere.
    pub delegated_to: Option<String>,
    /// The loop item, for per-item results.
    pub item_label: Option<String>,
    /// Whether the module asks for its result to be shown without `-v` (as `debug` does).
    pub verbose_always: bool,
    /// The task's action (module), for output rules that depend on it (`debug`'s cleaning).
    pub action: String,
    /// Which task this is a result of (see [`task_id`]): under the `free` strategy results of
    /// different tasks interleave, and the output shows a task's banner again when the task
    /// changes, as Ansible's default callback does.
    pub task_id: u64,
    /// The runs `until`/`retries` repeated before this result, in order.
    pub retries: Vec<Retry>,
}

/// A run that `until`/`retries` will repeat (ansible's `v2_runner_retry`).
#[derive(Debug, Clone)]
pub struct Retry {
    /// The task's name as ansible-core's retry line shows it (templated, or the action).
    pub task_name: String,
    /// How many runs are left.
    pub left: i64,
    /// The run's result (shown from `-vv`).
    pub result: Vars,
}

/// A task's identity for the output: the same task object (in every batch and on every host)
/// has the same id, as a task's `_uuid` in Ansible.
pub fn task_id(task: &crate::playbook::Task) -> u64 {
    std::ptr::from_ref(task) as usize as u64
}

/// A task's arguments for [`Event::TaskStart`]: `None` when a `no_log` on the task or around
/// it is anything but a literal false (it may hide them; templated, it is not known yet).
/// Whether a task runs in check mode as ansible's callbacks see it (`task.check_mode`): its own
/// or the nearest enclosing `check_mode:` (a template counts as set, as a non-empty string is
/// true in Python), else the run's `--check`.
pub fn check_mode_of<K: std::ops::Deref<Target = crate::playbook::Keywords>>(
    task: &crate::playbook::Task,
    chain: &[K],
    cli: bool,
) -> bool {
    std::iter::once(&task.kw)
        .chain(chain.iter().rev().map(|k| &**k))
        .find_map(|k| k.check_mode.as_ref())
        .map_or(cli, |v| v.is_true())
}

pub fn shown_args<'a, K: std::ops::Deref<Target = crate::playbook::Keywords>>(
    task: &'a crate::playbook::Task,
    chain: &[K],
) -> Option<&'a crate::value::Value> {
    let no_log = std::iter::once(&task.kw)
        .chain(chain.iter().rev().map(|k| &**k))
        .find_map(|k| k.no_log.as_ref());
    match no_log {
        None => Some(&task.args),
        Some(v) if v.kind() == minijinja::value::ValueKind::Bool && !v.is_true() => {
            Some(&task.args)
        }
        Some(_) => None,
    }
}

/// Counts per host, as PLAY RECAP shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// Everything that happens during a run, in order.
#[derive(Debug)]
pub enum Event<'a> {
    /// A playbook file starts: its path as given, and how many plays it holds (ansible-playbook
    /// shows both at `-vv`).
    PlaybookStart {
        path: &'a std::path::Path,
        plays: usize,
    },
    PlayStart {
        name: &'a str,
        /// The play's strategy (`linear` or `free`): under `free`, a task's banner is shown
        /// when a host's result for it is, not when it starts.
        strategy: &'a str,
        /// The play's `check_mode:` keyword, else `--check` (the banner's ` [CHECK MODE]`).
        check_mode: bool,
    },
    /// No host matched the play's pattern.
    NoHosts,
    BatchStart {
        number: usize,
        total: usize,
        hosts: &'a [String],
    },
    /// A task starts (under the `free` strategy: starts on one host).
    TaskStart {
        name: &'a str,
        handler: bool,
        /// The task's [`task_id`].
        id: u64,
        /// Where the task is written: a failed result's `Origin:`.
        origin: &'a crate::diagnostics::Span,
        /// The task's action (module), as written less its `ansible.builtin.` prefix.
        action: &'a str,
        /// The task's arguments as written (untemplated), or `None` when `no_log` may hide
        /// them (the JUnit report names a test case with them, as Ansible's junit callback).
        args: Option<&'a crate::value::Value>,
        /// The task runs in check mode ([`check_mode_of`]): the default callback's
        /// `check_mode_markers` mark its banner.
        check_mode: bool,
    },
    /// A host starts the current task (ansible's `v2_runner_on_start`): its slot among the
    /// forks is taken.
    HostStart {
        host: &'a str,
        /// The task's name, as its banner shows it.
        name: &'a str,
        /// The task's [`task_id`].
        task: u64,
    },
    /// One host's result for the current task; per item first, then the whole.
    HostResult {
        result: &'a TaskResult,
        /// True for a loop item's result, false for the task's result.
        item: bool,
    },
    /// `include_tasks`/`include_role` brought in a file for these hosts.
    Included {
        path: &'a str,
        hosts: &'a [String],
        item: Option<String>,
        /// The include task's [`task_id`].
        task: u64,
    },
    Warning(&'a str),
    /// A line ansible-playbook shows from verbosity `level` on (`-vv`: "META: ending play").
    Verbose {
        level: u8,
        text: &'a str,
    },
    /// `vars_prompt` wants an answer: the output layer asks on the terminal (stopping any
    /// progress display) and writes the answer into `answer`; `None` when it cannot ask.
    Prompt {
        prompt: &'a str,
        /// Echo off while typing (`private: true`).
        private: bool,
        answer: &'a std::sync::Mutex<Option<String>>,
    },
    /// `--step`: the output layer asks "Perform task: TASK: NAME (N)o/(y)es/(c)ontinue:" and
    /// writes the answer (the line typed) into `answer`.
    StepPrompt {
        name: &'a str,
        answer: &'a std::sync::Mutex<Option<String>>,
    },
    /// The play stopped early (max_fail_percentage, any_errors_fatal, every host failed).
    PlayAborted {
        reason: &'a str,
    },
    Recap {
        stats: &'a IndexMap<String, HostStats>,
    },
}

/// Receives events. Implemented by the output module.
pub trait Reporter: Send {
    fn event(&mut self, event: &Event<'_>);
}

/// A reporter that remembers nothing; for callers that only want the outcome.
pub struct NullReporter;

impl Reporter for NullReporter {
    fn event(&mut self, _event: &Event<'_>) {}
}
