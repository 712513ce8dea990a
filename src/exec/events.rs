//! What the executor tells the world: [`Event`]s, sent to a [`Reporter`].
//!
//! The executor never prints. Everything a user sees (the human output, JSON lines, progress
//! bars) is a reporter in `crate::output` turning these events into text.

use crate::value::Vars;
use indexmap::IndexMap;

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
    /// A failure that `ignore_errors` let pass.
    pub ignored: bool,
    /// `delegate_to` target, when the task ran elsewhere.
    pub delegated_to: Option<String>,
    /// The loop item, for per-item results.
    pub item_label: Option<String>,
    /// Whether the module asks for its result to be shown without `-v` (as `debug` does).
    pub verbose_always: bool,
    /// The task's action (module), for output rules that depend on it (`debug`'s cleaning).
    pub action: String,
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
    PlayStart {
        name: &'a str,
    },
    /// No host matched the play's pattern.
    NoHosts,
    BatchStart {
        number: usize,
        total: usize,
        hosts: &'a [String],
    },
    TaskStart {
        name: &'a str,
        handler: bool,
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
    },
    Warning(&'a str),
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
