//! What a run leaves behind: the recorded run ([`RunRecord`]), built from the executor's events
//! by a [`Recorder`] (or from a `--output json` stream by [`RunRecord::from_json_lines`]), and
//! the files made from it: the HTML report ([`html::render`], `--report FILE`) and Ansible's
//! JUnit XML ([`crate::output::junit`], `--junit` or `callbacks_enabled = junit`).
//!
//! The record holds what the terminal shows, after the same masking: results come censored
//! when `no_log` is on (the executor does that before any reporter sees them), and every string
//! goes through the run's vault [`Masker`] as it is recorded. [`Sink`] is the reporter the CLI
//! puts in front of its output: it records, writes the JUnit file at each playbook's recap (as
//! ansible's callback does at `v2_playbook_on_stats`), and the HTML report when the run ends, is
//! interrupted, or stops on a fatal error (on drop, with what ran).

pub mod html;

use crate::exec::events::{Event, HostStats, Reporter, Status};
use crate::vault::Masker;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value as Json;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A whole run, as the report shows it. Times are seconds from the run's start.
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    /// The playbook files, in the order they ran.
    pub playbooks: Vec<String>,
    /// When the run started, in seconds since the Unix epoch.
    pub started_unix: f64,
    /// How long the run took (up to its last event).
    pub duration: f64,
    pub plays: Vec<PlayRecord>,
    /// The PLAY RECAP's counts, per host (the last playbook's recap over the earlier ones').
    pub recap: IndexMap<String, Counts>,
    pub warnings: Vec<String>,
    /// Diff mode (`--diff`) was on: changed results carry their diff.
    pub diff: bool,
    /// Why the run stopped before its end (interrupted, a fatal error), if it did.
    pub stopped: Option<String>,
}

/// One play: its batches (`serial`) and its tasks in the order they started.
#[derive(Debug, Clone, Default)]
pub struct PlayRecord {
    pub name: String,
    pub strategy: String,
    /// The playbook (index into [`RunRecord::playbooks`]) the play is in.
    pub playbook: usize,
    pub start: f64,
    pub end: f64,
    pub batches: Vec<BatchRecord>,
    pub tasks: Vec<TaskRecord>,
    /// max_fail_percentage, any_errors_fatal, every host failed: the play's own words.
    pub aborted: Option<String>,
    /// No host matched the play's pattern.
    pub no_hosts: bool,
}

/// One batch of a play (a play without `serial` has one).
#[derive(Debug, Clone, Default)]
pub struct BatchRecord {
    pub number: usize,
    pub total: usize,
    pub hosts: Vec<String>,
    pub start: f64,
    pub end: f64,
}

/// One task of one batch, and what each host made of it.
#[derive(Debug, Clone, Default)]
pub struct TaskRecord {
    /// The task's identity within the run (same task in every batch: same id).
    pub id: u64,
    /// The batch it ran in (index into [`PlayRecord::batches`]).
    pub batch: usize,
    /// Its name as the banner shows it (templated), and whether it is a handler.
    pub name: String,
    pub handler: bool,
    /// Its module, as written less `ansible.builtin.`.
    pub action: String,
    /// Where it is written, `FILE:LINE` with FILE absolute (Ansible's `task.get_path()`).
    pub path: Option<String>,
    /// Its arguments as written, `k=v, k=v` (Ansible's junit test case names); `None` under
    /// `no_log`.
    pub args: Option<String>,
    /// When it started.
    pub start: f64,
    pub results: Vec<HostRecord>,
    /// `include_tasks`/`include_role` brought in files: one line per inclusion.
    pub included: Vec<String>,
}

/// One host's result for a task.
#[derive(Debug, Clone)]
pub struct HostRecord {
    pub host: String,
    pub status: StatusWord,
    pub ignored: bool,
    pub delegated_to: Option<String>,
    /// When the host started on it (the task's start, or the end of the host's previous result
    /// if later) and when its result came.
    pub start: f64,
    pub end: f64,
    /// The result as shown (masked, `_ansible_*` keys left out), loop items' results inside.
    pub result: Json,
    /// The loop items' statuses and labels, in order.
    pub items: Vec<(StatusWord, String)>,
    /// The module asked for its result to be shown always (`debug`): Ansible's callbacks dump
    /// it indented.
    pub verbose_always: bool,
    /// A failure that raised (the result has an `exception`): ansible-core's one-line summary
    /// of it, `Task failed: Action failed: MSG`.
    pub error: Option<String>,
}

/// A status, serialized as the word the JSON output uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusWord {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
}

impl StatusWord {
    pub fn word(self) -> &'static str {
        match self {
            StatusWord::Ok => "ok",
            StatusWord::Changed => "changed",
            StatusWord::Skipped => "skipped",
            StatusWord::Failed => "failed",
            StatusWord::Unreachable => "unreachable",
        }
    }

    fn parse(word: &str) -> StatusWord {
        match word {
            "changed" => StatusWord::Changed,
            "skipped" => StatusWord::Skipped,
            "failed" => StatusWord::Failed,
            "unreachable" => StatusWord::Unreachable,
            _ => StatusWord::Ok,
        }
    }
}

impl From<Status> for StatusWord {
    fn from(s: Status) -> StatusWord {
        match s {
            Status::Ok => StatusWord::Ok,
            Status::Changed => StatusWord::Changed,
            Status::Skipped => StatusWord::Skipped,
            Status::Failed => StatusWord::Failed,
            Status::Unreachable => StatusWord::Unreachable,
        }
    }
}

/// A host's recap counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Counts {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

impl From<&HostStats> for Counts {
    fn from(s: &HostStats) -> Counts {
        Counts {
            ok: s.ok,
            changed: s.changed,
            unreachable: s.unreachable,
            failed: s.failed,
            skipped: s.skipped,
            rescued: s.rescued,
            ignored: s.ignored,
        }
    }
}

impl HostRecord {
    /// The message a failed (or unreachable) result gives, as an operator reads it: `msg`, else
    /// the command's stderr or output, else its return code.
    pub fn message(&self) -> String {
        let get = |k: &str| match self.result.get(k) {
            Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Json::Null) | None => None,
            Some(Json::String(_)) => None,
            Some(other) => Some(other.to_string()),
        };
        get("msg")
            .or_else(|| get("censored"))
            .or_else(|| get("stderr"))
            .or_else(|| get("stdout"))
            .or_else(|| get("rc").map(|rc| format!("rc={rc}")))
            .unwrap_or_else(|| self.status.word().to_string())
    }

    /// The text of the result's `diff`, as `--diff` shows it (empty when there is none).
    pub fn diff_text(&self) -> String {
        let mut out = String::new();
        if let Some(d) = self.result.get("diff") {
            out.push_str(&crate::output::diff::render(d));
        }
        // A loop's items carry their own diffs.
        if let Some(Json::Array(items)) = self.result.get("results") {
            for item in items {
                if let Some(d) = item.get("diff") {
                    out.push_str(&crate::output::diff::render(d));
                }
            }
        }
        out
    }
}

/// ansible-core's brief message of a failure that raised: what failed (the action itself when
/// it runs on the controller or the executor decided, else the module) and its message.
fn error_summary(r: &crate::exec::events::TaskResult) -> Option<String> {
    r.result.get("exception")?;
    let msg = match r.result.get("msg") {
        Some(m) => crate::template::filters::py_str(m),
        None => String::new(),
    };
    if msg.starts_with("Task failed: ") {
        return Some(msg);
    }
    let by_action = r.result.contains_key(crate::exec::events::ACTION_FAILURE)
        || crate::modules::spec_of(&r.action).is_some_and(|s| !s.connection);
    let who = if by_action { "Action" } else { "Module" };
    Some(if msg.is_empty() {
        format!("Task failed: {who} failed.")
    } else {
        format!("Task failed: {who} failed: {msg}")
    })
}

/// Ansible's `'%s=%s' % (k, v)` joined by `, ` over a task's arguments (Python's `str` of
/// each value).
fn args_text(args: &crate::value::Value) -> String {
    let Ok(keys) = args.try_iter() else {
        return String::new();
    };
    keys.map(|k| {
        let v = args.get_item(&k).unwrap_or_default();
        format!(
            "{}={}",
            crate::template::filters::py_str(&k),
            crate::template::filters::py_str(&v)
        )
    })
    .collect::<Vec<_>>()
    .join(", ")
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Builds a [`RunRecord`] from events, timing each as it arrives.
pub struct Recorder {
    run: RunRecord,
    masker: Arc<Masker>,
    clock: Clock,
    /// Loop items' statuses and labels by (task id, host), until the task's own result.
    pending: std::collections::HashMap<(u64, String), Vec<(StatusWord, String)>>,
    /// When each host's last result came.
    last_end: std::collections::HashMap<String, f64>,
    /// An event came: the clock runs.
    started: bool,
}

/// Where times come from: the wall clock for a live run, the events' own `time` for a stream.
enum Clock {
    Live(std::time::Instant),
    Fixed(f64),
}

impl Recorder {
    pub fn new(masker: Arc<Masker>, diff: bool) -> Recorder {
        Recorder {
            run: RunRecord {
                started_unix: unix_now(),
                diff,
                ..RunRecord::default()
            },
            masker,
            clock: Clock::Live(std::time::Instant::now()),
            pending: Default::default(),
            last_end: Default::default(),
            started: false,
        }
    }

    /// The run so far.
    pub fn record(&self) -> &RunRecord {
        &self.run
    }

    /// The run stopped before its end, for this reason (kept: the first reason is the cause).
    pub fn stopped(&mut self, reason: &str) {
        if self.run.stopped.is_none() {
            self.run.stopped = Some(self.mask(reason));
        }
    }

    fn now(&self) -> f64 {
        match self.clock {
            Clock::Live(t0) => t0.elapsed().as_secs_f64(),
            Clock::Fixed(t) => t,
        }
    }

    fn mask(&self, text: &str) -> String {
        self.masker.mask(text).into_owned()
    }

    fn mask_json(&self, j: &Json) -> Json {
        match j {
            Json::String(s) => Json::String(self.mask(s)),
            Json::Array(a) => Json::Array(a.iter().map(|v| self.mask_json(v)).collect()),
            Json::Object(o) => Json::Object(
                o.iter()
                    .map(|(k, v)| (self.mask(k), self.mask_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The current play, made up if events come before any `PlayStart` (a stream's tail).
    fn play(&mut self) -> &mut PlayRecord {
        if self.run.plays.is_empty() {
            let now = self.now();
            self.run.plays.push(PlayRecord {
                playbook: self.run.playbooks.len().saturating_sub(1),
                start: now,
                ..PlayRecord::default()
            });
        }
        let last = self.run.plays.len() - 1;
        &mut self.run.plays[last]
    }

    fn touch(&mut self) {
        let now = self.now();
        self.run.duration = self.run.duration.max(now);
        if let Some(play) = self.run.plays.last_mut() {
            play.end = play.end.max(now);
            if let Some(b) = play.batches.last_mut() {
                b.end = b.end.max(now);
            }
        }
    }

    fn play_start(&mut self, name: &str, strategy: &str) {
        let now = self.now();
        let name = self.mask(name);
        self.run.plays.push(PlayRecord {
            name,
            strategy: strategy.to_string(),
            playbook: self.run.playbooks.len().saturating_sub(1),
            start: now,
            end: now,
            ..PlayRecord::default()
        });
    }

    fn batch_start(&mut self, number: usize, total: usize, hosts: &[String]) {
        let now = self.now();
        // Each batch of a `serial` play starts with the play's banner again: the batches of
        // one play are one record.
        let n = self.run.plays.len();
        if number > 1
            && n >= 2
            && self.run.plays[n - 1].batches.is_empty()
            && self.run.plays[n - 1].tasks.is_empty()
            && self.run.plays[n - 2].name == self.run.plays[n - 1].name
            && self.run.plays[n - 2]
                .batches
                .last()
                .is_some_and(|b| b.number + 1 == number)
        {
            self.run.plays.pop();
        }
        self.play().batches.push(BatchRecord {
            number,
            total,
            hosts: hosts.to_vec(),
            start: now,
            end: now,
        });
    }

    fn task_start(&mut self, t: TaskRecord) {
        let free = matches!(self.play().strategy.as_str(), "free" | "host_pinned");
        let play = self.play();
        let batch = play.batches.len().saturating_sub(1);
        // Under the free strategy a task starts once per host: one record per batch.
        if free
            && play
                .tasks
                .iter()
                .any(|old| old.id == t.id && old.batch == batch)
        {
            return;
        }
        play.tasks.push(TaskRecord { batch, ..t });
    }

    fn host_result(&mut self, task_id: Option<u64>, mut rec: HostRecord, item: bool) {
        let now = self.now();
        let key = (task_id.unwrap_or(0), rec.host.clone());
        if item {
            // A loop's items wait for the task's own result, which takes them.
            let label = rec
                .result
                .get("_baton_item_label")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            self.pending
                .entry(key)
                .or_default()
                .push((rec.status, label));
            return;
        }
        rec.items = self.pending.remove(&key).unwrap_or_default();
        let previous_end = self.last_end.get(&rec.host).copied().unwrap_or(f64::MIN);
        self.last_end.insert(rec.host.clone(), now);
        let play = self.play();
        // The latest record of that task (a stream without ids: the latest task).
        let Some(at) = play
            .tasks
            .iter()
            .rposition(|t| task_id.is_none_or(|id| t.id == id))
        else {
            return;
        };
        // A host starts on a task when the task starts, or when it is done with its previous
        // one (free strategy, or a handler run after others).
        rec.start = play.tasks[at].start.max(previous_end).min(now);
        rec.end = now;
        play.tasks[at].results.push(rec);
    }
}

impl Reporter for Recorder {
    fn event(&mut self, event: &Event<'_>) {
        // The run's clock starts at its first event (what came before is not the run's).
        if let Clock::Live(t0) = &mut self.clock
            && !self.started
        {
            self.started = true;
            *t0 = std::time::Instant::now();
            self.run.started_unix = unix_now();
        }
        match event {
            Event::PlaybookStart { path, .. } => {
                let p = self.mask(&path.display().to_string());
                self.run.playbooks.push(p);
            }
            Event::PlayStart { name, strategy, .. } => self.play_start(name, strategy),
            Event::NoHosts => self.play().no_hosts = true,
            Event::BatchStart {
                number,
                total,
                hosts,
            } => self.batch_start(*number, *total, hosts),
            Event::TaskStart {
                origin,
                action,
                args,
                id,
                name,
                handler,
                ..
            } => {
                let path = std::path::absolute(&origin.source.name)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| origin.source.name.clone());
                let t = TaskRecord {
                    name: self.mask(name),
                    handler: *handler,
                    action: action.to_string(),
                    path: Some(self.mask(&format!("{path}:{}", origin.start.line))),
                    args: args.map(|a| self.mask(&args_text(a))),
                    start: self.now(),
                    id: *id,
                    ..TaskRecord::default()
                };
                self.task_start(t);
            }
            Event::HostResult { result, item } => {
                let mut shown = crate::value::to_json(&crate::value::from_vars(&result.result));
                if let Json::Object(o) = &mut shown {
                    crate::output::strip_result_internal_keys(o);
                    if *item && let Some(l) = &result.item_label {
                        o.insert("_baton_item_label".into(), Json::String(l.clone()));
                    }
                }
                let rec = HostRecord {
                    host: result.host.clone(),
                    status: result.status.into(),
                    ignored: result.ignored,
                    delegated_to: result.delegated_to.clone(),
                    start: 0.0,
                    end: 0.0,
                    result: self.mask_json(&shown),
                    items: Vec::new(),
                    verbose_always: result.verbose_always,
                    error: error_summary(result).map(|e| self.mask(&e)),
                };
                self.host_result(Some(result.task_id), rec, *item);
            }
            Event::Included {
                task,
                path,
                item,
                hosts,
            } => {
                let line = self.mask(&match item {
                    Some(i) => format!("{path} for {} (item={i})", hosts.join(", ")),
                    None => format!("{path} for {}", hosts.join(", ")),
                });
                if let Some(t) = self.play().tasks.iter_mut().rev().find(|t| t.id == *task) {
                    t.included.push(line);
                }
            }
            Event::Warning(w) => {
                let w = self.mask(w);
                self.run.warnings.push(w);
            }
            Event::PlayAborted { reason } => {
                let r = self.mask(reason);
                self.play().aborted = Some(r);
            }
            Event::Recap { stats } => {
                for (h, s) in stats.iter() {
                    self.run.recap.insert(h.clone(), s.into());
                }
            }
            Event::Verbose { .. }
            | Event::HostStart { .. }
            | Event::Prompt { .. }
            | Event::StepPrompt { .. } => {}
        }
        self.touch();
    }
}

impl RunRecord {
    /// Rebuilds a run from baton's `--output json` lines (what `baton report merge` joins):
    /// times come from each line's `time` (seconds since the epoch), when it has one.
    pub fn from_json_lines(text: &str, masker: Arc<Masker>) -> RunRecord {
        let mut rec = Recorder {
            run: RunRecord::default(),
            masker,
            clock: Clock::Fixed(0.0),
            pending: Default::default(),
            last_end: Default::default(),
            started: false,
        };
        let mut t0 = None;
        let mut next_id = 0u64;
        for line in text.lines() {
            let Ok(ev) = serde_json::from_str::<Json>(line) else {
                continue;
            };
            let s = |k: &str| ev.get(k).and_then(Json::as_str).unwrap_or_default();
            let n = |k: &str| ev.get(k).and_then(Json::as_u64).unwrap_or(0) as usize;
            let strings = |k: &str| -> Vec<String> {
                ev.get(k)
                    .and_then(Json::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|h| h.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            if let Some(t) = ev.get("time").and_then(Json::as_f64) {
                let start = *t0.get_or_insert(t);
                rec.run.started_unix = start;
                rec.clock = Clock::Fixed(t - start);
            }
            match s("event") {
                "playbook_start" => rec.run.playbooks.push(rec.mask(s("path"))),
                "play_start" => rec.play_start(s("name"), s("strategy")),
                "no_hosts" => rec.play().no_hosts = true,
                "batch_start" => rec.batch_start(n("batch"), n("batches"), &strings("hosts")),
                "task_start" => {
                    next_id += 1;
                    let t = TaskRecord {
                        name: rec.mask(s("name")),
                        handler: ev.get("handler").and_then(Json::as_bool) == Some(true),
                        action: s("action").to_string(),
                        path: ev.get("path").and_then(Json::as_str).map(|p| rec.mask(p)),
                        start: rec.now(),
                        id: ev.get("id").and_then(Json::as_u64).unwrap_or(next_id),
                        ..TaskRecord::default()
                    };
                    rec.task_start(t);
                }
                kind @ ("host_result" | "item_result") => {
                    let mut result = ev.get("result").cloned().unwrap_or(Json::Null);
                    if kind == "item_result"
                        && let (Json::Object(o), Some(l)) = (&mut result, ev.get("item"))
                    {
                        o.insert("_baton_item_label".into(), l.clone());
                    }
                    let r = HostRecord {
                        host: s("host").to_string(),
                        status: StatusWord::parse(s("status")),
                        ignored: ev.get("ignored").and_then(Json::as_bool) == Some(true),
                        delegated_to: None,
                        start: 0.0,
                        end: 0.0,
                        result: rec.mask_json(&result),
                        items: Vec::new(),
                        verbose_always: result.get("_ansible_verbose_always")
                            == Some(&Json::Bool(true)),
                        error: ev.get("error").and_then(Json::as_str).map(|e| rec.mask(e)),
                    };
                    let id = ev.get("task_id").and_then(Json::as_u64);
                    rec.host_result(id, r, kind == "item_result");
                }
                "included" => {
                    let line = rec.mask(&format!(
                        "{} for {}",
                        s("path"),
                        strings("hosts").join(", ")
                    ));
                    if let Some(t) = rec.play().tasks.last_mut() {
                        t.included.push(line);
                    }
                }
                "warning" => {
                    let w = rec.mask(s("message"));
                    rec.run.warnings.push(w);
                }
                "play_aborted" => {
                    let r = rec.mask(s("reason"));
                    rec.play().aborted = Some(r);
                }
                "recap" => {
                    if let Some(Json::Object(hosts)) = ev.get("hosts") {
                        for (h, c) in hosts {
                            if let Ok(c) = serde_json::from_value::<Counts>(c.clone()) {
                                rec.run.recap.insert(h.clone(), c);
                            }
                        }
                    }
                }
                _ => continue,
            }
            rec.touch();
        }
        rec.run
    }
}

/// Where the run's files go, and how.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// `--report FILE` (or `[baton] report`): the HTML report.
    pub html: Option<PathBuf>,
    /// JUnit XML (`--junit`, or the junit callback enabled), with its options.
    pub junit: Option<crate::output::junit::Options>,
}

/// Writes a file atomically (the CLI's writer: a temporary name beside it, then a rename).
pub type WriteFile =
    fn(&std::path::Path, &[u8], Option<u32>) -> Result<(), crate::diagnostics::Error>;

/// The reporter in front of the run's output: passes every event on, records it, and writes
/// the run's files. Cloning shares the record (the Ctrl-C handler holds one to write the report
/// before a second Ctrl-C ends the process).
#[derive(Clone)]
pub struct Sink {
    state: Arc<Mutex<SinkState>>,
}

struct SinkState {
    recorder: Recorder,
    outputs: Outputs,
    write: WriteFile,
    /// The HTML report was written at the run's end: dropping writes it no more.
    done: bool,
    /// The plays already in a JUnit file (each playbook's file has its own).
    junit_from: usize,
    /// What writing a file went wrong with, as warnings for the caller to show.
    errors: Vec<String>,
}

impl Sink {
    pub fn new(recorder: Recorder, outputs: Outputs, write: WriteFile) -> Sink {
        Sink {
            state: Arc::new(Mutex::new(SinkState {
                recorder,
                outputs,
                write,
                done: false,
                junit_from: 0,
                errors: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SinkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A reporter that records into this sink and passes events on to `inner`.
    pub fn tee(&self, inner: Box<dyn Reporter>) -> Box<dyn Reporter> {
        Box::new(Tee {
            sink: self.clone(),
            inner,
        })
    }

    /// The run stopped early (Ctrl-C, a fatal error): said so in the report.
    pub fn stopped(&self, reason: &str) {
        self.lock().recorder.stopped(reason);
    }

    /// Writes the HTML report now (the run's end, or a second Ctrl-C); what went wrong writing
    /// any file, as warnings.
    pub fn finish(&self) -> Vec<String> {
        let mut st = self.lock();
        st.write_html();
        st.done = true;
        std::mem::take(&mut st.errors)
    }
}

impl SinkState {
    fn write_html(&mut self) {
        let Some(path) = self.outputs.html.clone() else {
            return;
        };
        let html = html::render(self.recorder.record());
        // Masked once more as a whole: a secret registered after its text was recorded.
        let html = self.recorder.masker.mask(&html).into_owned();
        if let Err(e) = (self.write)(&path, html.as_bytes(), Some(0o644)) {
            self.errors.push(e.to_string());
        }
    }

    /// At a playbook's recap: its JUnit file, with the tasks recorded since the last one.
    fn write_junit(&mut self) {
        let Some(opts) = self.outputs.junit.clone() else {
            return;
        };
        let run = self.recorder.record();
        let plays = &run.plays[self.junit_from.min(run.plays.len())..];
        let name = run
            .playbooks
            .last()
            .map(|p| {
                std::path::Path::new(p)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_else(|| "playbook".into());
        let xml = crate::output::junit::render(&name, plays, &opts);
        let xml = self.recorder.masker.mask(&xml).into_owned();
        let path = opts.file_for(&name, run.started_unix + run.duration);
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            self.errors
                .push(format!("cannot create {}: {e}", dir.display()));
            return;
        }
        if let Err(e) = (self.write)(&path, xml.as_bytes(), Some(0o644)) {
            self.errors.push(e.to_string());
        }
        self.junit_from = run.plays.len();
    }
}

impl Drop for SinkState {
    fn drop(&mut self) {
        if !self.done {
            self.recorder.stopped("the run stopped on an error");
            self.write_html();
        }
    }
}

/// Records into a [`Sink`], then passes the event on.
struct Tee {
    sink: Sink,
    inner: Box<dyn Reporter>,
}

impl Reporter for Tee {
    fn event(&mut self, event: &Event<'_>) {
        {
            let mut st = self.sink.lock();
            st.recorder.event(event);
            if let Event::Recap { .. } = event {
                st.write_junit();
            }
        }
        self.inner.event(event);
    }
}

#[cfg(test)]
mod tests;
