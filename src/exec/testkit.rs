//! Runs small playbooks through [`super::run`] on hosts with `ansible_connection=local`
//! (nothing leaves the machine) and records what the executor told its reporter, for the
//! rooms' unit tests.

use super::events::{Event, Reporter, Status};
use super::{Options, Outcome, run};
use crate::inventory::Inventory;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Events as one line each: `play NAME`, `task NAME`, `handler NAME`, `ok HOST`,
/// `changed HOST`, `failed HOST`, `ignored HOST`, `skipped HOST`, `unreachable HOST`,
/// `included FILE HOSTS`, `warning TEXT`, `aborted REASON`, `batch HOSTS`, `verbose2 TEXT` (a
/// line shown from -vv on).
#[derive(Default)]
pub(super) struct Recorder {
    pub lines: Vec<String>,
}

impl Reporter for Recorder {
    fn event(&mut self, event: &Event<'_>) {
        let line = match event {
            Event::PlaybookStart { path, plays } => {
                format!("playbook {plays} plays in {}", path.display())
            }
            Event::PlayStart { name, strategy, .. } => format!("play {name} ({strategy})"),
            Event::BatchStart { hosts, .. } => format!("batch {}", hosts.join(",")),
            Event::TaskStart { name, handler, .. } => {
                format!("{} {name}", if *handler { "handler" } else { "task" })
            }
            Event::HostResult {
                result,
                item: false,
            } => {
                let status = match result.status {
                    Status::Ok => "ok",
                    Status::Changed => "changed",
                    Status::Failed if result.ignored => "ignored",
                    Status::Failed => "failed",
                    Status::Skipped => "skipped",
                    Status::Unreachable => "unreachable",
                };
                if let Some(msg) = result.result.get("msg").and_then(|m| m.as_str()) {
                    self.lines.push(format!("{status} {}", result.host));
                    format!("msg {} {msg}", result.host)
                } else {
                    format!("{status} {}", result.host)
                }
            }
            Event::Included { path, hosts, .. } => {
                let file = path.rsplit('/').next().unwrap_or(path);
                format!("included {file} {}", hosts.join(","))
            }
            Event::Warning(text) => format!("warning {text}"),
            Event::Verbose { level, text } => format!("verbose{level} {text}"),
            Event::PlayAborted { reason } => format!("aborted {reason}"),
            _ => return,
        };
        self.lines.push(line);
    }
}

/// What a run did.
pub(super) struct Ran {
    pub outcome: Outcome,
    pub lines: Vec<String>,
}

impl Ran {
    /// The hosts with a result of `status` for the (first) task named `task`, in order.
    pub fn hosts(&self, task: &str, status: &str) -> Vec<String> {
        let start = self
            .lines
            .iter()
            .position(|l| l == &format!("task {task}") || l == &format!("handler {task}"));
        let Some(start) = start else {
            return Vec::new();
        };
        self.lines[start + 1..]
            .iter()
            .take_while(|l| !l.starts_with("task ") && !l.starts_with("handler "))
            .filter_map(|l| l.strip_prefix(&format!("{status} ")))
            .map(str::to_string)
            .collect()
    }

    /// The hosts with a result of `status` after any banner of the task named `task` (under
    /// `free` each host's result follows its own banner).
    pub fn hosts_all(&self, task: &str, status: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut inside = false;
        for l in &self.lines {
            if l.starts_with("task ") || l.starts_with("handler ") {
                inside = l == &format!("task {task}") || l == &format!("handler {task}");
            } else if inside && let Some(h) = l.strip_prefix(&format!("{status} ")) {
                out.push(h.to_string());
            }
        }
        out
    }

    /// The `msg` of `host`'s result for the (first) task named `task`; empty if none.
    pub fn msg(&self, task: &str, host: &str) -> String {
        let Some(start) = self.lines.iter().position(|l| l == &format!("task {task}")) else {
            return String::new();
        };
        self.lines[start + 1..]
            .iter()
            .take_while(|l| !l.starts_with("task ") && !l.starts_with("handler "))
            .find_map(|l| l.strip_prefix(&format!("msg {host} ")))
            .unwrap_or_default()
            .to_string()
    }

    /// Whether a task (or handler) of that name started.
    pub fn ran(&self, task: &str) -> bool {
        self.lines
            .iter()
            .any(|l| l == &format!("task {task}") || l == &format!("handler {task}"))
    }

    pub fn stats(&self, host: &str) -> &super::events::HostStats {
        &self.outcome.stats[host]
    }
}

/// Runs `playbook` (YAML text; more files beside it from `files`) on the hosts `h1`.. `hN`,
/// all local, with `opts`.
pub(super) fn play_with(
    playbook: &str,
    files: &[(&str, &str)],
    hosts: usize,
    opts: Options,
) -> Ran {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "baton-exec-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let path = dir.join("play.yml");
    std::fs::write(&path, playbook).unwrap();
    let ini: String = (1..=hosts)
        .map(|i| format!("h{i} ansible_connection=local\n"))
        .collect();
    let inventory = Arc::new(Inventory::from_ini("test", &ini).unwrap());
    let book = crate::playbook::load::load(&path).unwrap();
    let mut recorder = Recorder::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime
        .block_on(run(
            &book,
            inventory,
            Default::default(),
            opts,
            &mut recorder,
        ))
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Ran {
        outcome,
        lines: recorder.lines,
    }
}

/// [`play_with`] with no other file and the default options (facts gathered only if asked).
pub(super) fn play(playbook: &str, hosts: usize) -> Ran {
    play_with(playbook, &[], hosts, options())
}

/// The default options, with `gathering: explicit` (no fact gathering unless a play asks).
pub(super) fn options() -> Options {
    Options {
        gathering: "explicit".into(),
        ..Options::default()
    }
}

/// Host names, owned.
pub(super) fn hosts(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// A set of host names.
pub(super) fn set(names: &[&str]) -> HashSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}
