//! Ansible's default output: banners, one line per host result, and the PLAY RECAP.
//!
//! The text matches ansible-playbook's default callback so that operators (and their scripts)
//! read it the same way: `ok: [web1]`, `changed: [web1]`, `fatal: [web1]: FAILED! => {...}`,
//! results shown with `-v` (or always, for `debug`), and the recap's column layout.

use super::custom_stats::CustomStats;
use super::options::DisplayOptions;
use crate::exec::events::{Event, Reporter, Status, TaskResult};
use crate::modules::Output;
use crate::value;
use std::io::Write;

/// Writes Ansible-style text to a writer (stdout in the CLI).
pub struct Human<W: Write + Send> {
    /// Vault secrets are masked in everything written (with the run's masker).
    out: crate::vault::mask::Masked<W>,
    verbosity: u8,
    color: bool,
    /// `--diff`: show the changes modules report.
    diff: bool,
    /// The play runs under the `free` strategy: a task's banner is shown before the first
    /// result that belongs to another task than the last banner's, as Ansible's default
    /// callback does (results of different tasks interleave).
    free: bool,
    /// The task whose banner was shown last.
    last_banner: Option<u64>,
    /// Banners of started tasks not shown yet (free strategy), by task id.
    pending: std::collections::HashMap<u64, String>,
    /// Where each task of the play is written, by task id: a failure's `Origin:`.
    origins: std::collections::HashMap<u64, crate::diagnostics::Span>,
    /// The default callback's options (ansible.cfg and environment).
    opts: DisplayOptions,
    /// The run is a check run (`--check`): what `check_mode_markers` marks.
    check: bool,
    /// What `set_stats` gathered (`show_custom_stats`).
    custom: CustomStats,
    /// Failed results go to stderr (`display_failed_stderr`), masked as stdout is.
    masker: std::sync::Arc<crate::vault::Masker>,
    /// The handlers among the tasks started (by task id): their hosts' start lines say so.
    handlers: std::collections::HashSet<u64>,
}

impl<W: Write + Send> Human<W> {
    pub fn new(
        out: W,
        masker: std::sync::Arc<crate::vault::Masker>,
        verbosity: u8,
        color: bool,
    ) -> Self {
        Human {
            out: crate::vault::mask::Masked::new(out, masker.clone()),
            verbosity,
            color,
            diff: false,
            free: false,
            last_banner: None,
            pending: std::collections::HashMap::new(),
            origins: std::collections::HashMap::new(),
            opts: DisplayOptions::default(),
            check: false,
            custom: CustomStats::default(),
            masker,
            handlers: std::collections::HashSet::new(),
        }
    }

    /// Follows the default callback's options; `check` says the run is a check run.
    pub fn with_options(mut self, opts: DisplayOptions, check: bool) -> Self {
        self.opts = opts;
        self.check = check;
        self
    }

    /// A task's banner waits for its first shown result: under the free strategy, and when
    /// ok or skipped results are not shown (a task may show nothing at all).
    fn deferred(&self) -> bool {
        self.free || !self.opts.display_skipped_hosts || !self.opts.display_ok_hosts
    }

    /// ` [CHECK MODE]` after a banner in a check run, with `check_mode_markers`.
    fn check_marker(&self) -> &'static str {
        self.marker_if(self.check)
    }

    /// ` [CHECK MODE]` after a play's or task's banner when it runs in check mode.
    fn marker_if(&self, check_mode: bool) -> &'static str {
        if check_mode && self.opts.check_mode_markers {
            " [CHECK MODE]"
        } else {
            ""
        }
    }

    /// A failed or unreachable result's text: on stderr with `display_failed_stderr`.
    fn failure_line(&mut self, text: &str) {
        if self.opts.display_failed_stderr {
            let _ = self.out.flush();
            eprintln!("{}", self.masker.mask(text));
        } else {
            let _ = writeln!(self.out, "{text}");
        }
    }

    /// `task path: FILE:LINE` above a failed result (`show_task_path_on_failure`, below
    /// `-vv`).
    fn task_path_on_failure(&mut self, task: u64) {
        if !self.opts.show_task_path_on_failure || self.verbosity >= 2 {
            return;
        }
        if let Some(origin) = self.origins.get(&task) {
            let path = std::path::absolute(&origin.source.name)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| origin.source.name.clone());
            let text = self.paint(&format!("task path: {path}:{}", origin.start.line), "34");
            let _ = writeln!(self.out, "{text}");
        }
    }

    /// ansible-core 2.19's error block above a failed result: what failed, where the task is
    /// written, and the lines up to it with a caret under its column.
    fn failure_block(&self, r: &TaskResult) -> Option<String> {
        // Only a result with its `exception`, and never for a no_log task: ansible-core
        // 2.19 prints the message and the task's source lines even then, which can show what
        // no_log is there to hide; baton keeps the censored result alone.
        if !r.result.contains_key("exception") || r.result.contains_key("censored") {
            return None;
        }
        let origin = self.origins.get(&r.task_id)?;
        let msg = match r.result.get("msg") {
            Some(m) => m
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| m.to_string()),
            None => "Unknown error".to_string(),
        };
        // Controller-side actions (fail, assert, set_fact...) fail as actions; the rest as
        // modules, as ansible-core words it.
        let kind = match crate::modules::spec_of(&r.action) {
            _ if r.result.contains_key(crate::exec::events::ACTION_FAILURE) => "Action",
            Some(spec) if !spec.connection => "Action",
            _ => "Module",
        };
        // ansible-core's `concat_message`: no message leaves the sentence whole.
        let what = match msg.as_str() {
            "" => format!("{kind} failed."),
            m => format!("{kind} failed: {m}"),
        };
        let path = std::path::absolute(&origin.source.name)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| origin.source.name.clone());
        let (line, col) = (origin.start.line, origin.start.col);
        let mut text = format!(
            "{}\nOrigin: {path}:{line}:{col}\n",
            self.paint(&error_header(&what, &msg), "31")
        );
        let first = line.saturating_sub(2).max(1);
        let width = line.to_string().len();
        let mut lines = String::new();
        for n in first..=line {
            let Some(t) = origin.source.line_text(n) else {
                return Some(text);
            };
            // An empty line gets no space after its number.
            let sep = if t.is_empty() { "" } else { " " };
            lines.push_str(&format!("{n:>width$}{sep}{t}\n"));
        }
        text.push('\n');
        text.push_str(&lines);
        text.push_str(&format!(
            "{}^ column {col}\n",
            " ".repeat(width + 1 + col.saturating_sub(1))
        ));
        Some(text)
    }

    /// Under the free strategy: the banner of `task`, unless it was the last one shown.
    fn banner_for(&mut self, task: u64) {
        if !self.deferred() || self.last_banner == Some(task) {
            return;
        }
        if let Some(text) = self.pending.get(&task).cloned() {
            self.banner(&text);
        }
        self.last_banner = Some(task);
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn banner(&mut self, msg: &str) {
        let _ = write!(self.out, "{}", banner_line(msg));
    }

    /// Shows file differences (`--diff`), as ansible-playbook does, before the result line.
    pub fn with_diff(mut self, diff: bool) -> Self {
        self.diff = diff;
        self
    }

    fn host_result(&mut self, r: &TaskResult, item: bool) {
        if matches!(r.status, Status::Ok | Status::Changed) && !item {
            self.custom.record(r);
        }
        let hidden = match r.status {
            Status::Ok => !self.opts.display_ok_hosts,
            Status::Skipped => !self.opts.display_skipped_hosts,
            _ => false,
        };
        if hidden {
            return;
        }
        // Under free, every shown result first makes sure its task's banner is above it. (A
        // loop's ok/changed summary is not shown, so it does not print a banner.)
        if !(!item && is_loop_summary(r) && matches!(r.status, Status::Ok | Status::Changed)) {
            self.banner_for(r.task_id);
        }
        let changed = r.result.get("changed").is_some_and(|c| c.is_true());
        if self.diff
            && changed
            && !is_loop_summary(r)
            && let Some(d) = r.result.get("diff")
        {
            let text = super::diff::render(&value::to_json(d));
            if !text.is_empty() {
                // Ansible's display() ends what it prints with a newline (apt's and git's
                // `prepared` diffs have none).
                let nl = if text.ends_with('\n') { "" } else { "\n" };
                let _ = write!(self.out, "{text}{nl}");
            }
        }
        let host = match &r.delegated_to {
            Some(d) => format!("[{} -> {d}]", r.host),
            None => format!("[{}]", r.host),
        };
        let item_part = match (&r.item_label, item) {
            (Some(l), true) => format!(" => (item={l})"),
            _ => String::new(),
        };
        // A loop's summary is shown only when everything was skipped (or there was nothing
        // to loop over): its items speak for themselves, and a failed loop adds no more than
        // `...ignoring` (the default callback's `_process_items` drops the results).
        if !item && is_loop_summary(r) {
            match r.status {
                Status::Ok | Status::Changed => return,
                Status::Failed => {
                    if r.ignored {
                        let _ = writeln!(self.out, "{}", self.paint("...ignoring", "36"));
                    }
                    return;
                }
                _ => {}
            }
        }
        for retry in &r.retries {
            let mut line = format!(
                "FAILED - RETRYING: {host}: {} ({} retries left).",
                retry.task_name, retry.left
            );
            // From -vvv (ansible's `_run_is_verbose(result, verbosity=2)`), indented as
            // `_dump_results` does from there on.
            if self.verbosity > 2 || r.verbose_always {
                let shown = visible(&retry.result, r);
                let dump = self.opts.dump(&shown, Some(4), true, self.verbosity);
                line.push_str(&format!("Result was: {dump}"));
            }
            let _ = writeln!(self.out, "{}", self.paint(&line, "34"));
        }
        // The default callback shows a result's warnings as warnings, before the result, and
        // leaves them out of what it prints of the result.
        if let Some(ws) = r.result.get("warnings")
            && let Ok(it) = ws.try_iter()
        {
            for w in it {
                let text = format!("[WARNING]: {}", crate::template::filters::py_str(&w));
                let _ = writeln!(self.out, "{}", self.paint(&text, "35"));
            }
        }
        let mut shown = visible_result(r);
        // The default callback's `_dump_results`: a module's `invocation` and `diff` are left
        // out below -vvv (the diff has its own display), deprecations always (they were shown
        // as such).
        if let serde_json::Value::Object(o) = &mut shown {
            if self.verbosity < 3 {
                o.remove("invocation");
                o.remove("diff");
            }
            o.remove("deprecations");
        }
        // ansible-core's `_dump_results` indents what a module asks to show always (debug),
        // everything from -vvv on, and what the result format asks to.
        let (opts, verbosity) = (self.opts.clone(), self.verbosity);
        let dump = |shown: &serde_json::Value| opts.dump(shown, None, r.verbose_always, verbosity);
        let line = match r.status {
            Status::Ok | Status::Changed => {
                let (word, code) = if r.status == Status::Ok {
                    ("ok", "32")
                } else {
                    ("changed", "33")
                };
                let mut line = format!("{word}: {host}{item_part}");
                if r.verbose_always || self.verbosity > 0 {
                    line.push_str(&format!(" => {}", dump(&shown)));
                }
                self.paint(&line, code)
            }
            Status::Skipped => {
                let mut line = format!("skipping: {host}{item_part}");
                if item {
                    // ansible-playbook leaves a space after a skipped item; scripts may match it.
                    line.push(' ');
                }
                if self.verbosity > 0 {
                    // A loop's items were shown one by one: its own result leaves them out.
                    let mut shown = shown.clone();
                    if !item
                        && let serde_json::Value::Object(o) = &mut shown
                        && o.get("results").is_some_and(|v| {
                            v.as_array()
                                .is_some_and(|a| a.iter().all(|x| x.is_object()))
                        })
                    {
                        o.remove("results");
                    }
                    let body = self.opts.dump(&shown, None, false, self.verbosity);
                    line.push_str(&format!(" => {body}"));
                }
                self.paint(&line, "36")
            }
            // ansible-core reports an unreachable loop item through its item-failed callback.
            Status::Failed | Status::Unreachable if r.status == Status::Failed || item => {
                if let Some(block) = self.failure_block(r) {
                    self.failure_line(&block);
                }
                let line = if item {
                    let label = r.item_label.as_deref().unwrap_or("");
                    format!("failed: {host} (item={label}) => {}", dump(&shown))
                } else {
                    self.task_path_on_failure(r.task_id);
                    format!("fatal: {host}: FAILED! => {}", dump(&shown))
                };
                let text = self.paint(&line, "31");
                self.failure_line(&text);
                if !r.ignored || item {
                    return;
                }
                self.paint("...ignoring", "36")
            }
            Status::Unreachable | Status::Failed => {
                let line = format!("fatal: {host}: UNREACHABLE! => {}", dump(&shown));
                let text = self.paint(&line, "31");
                self.failure_line(&text);
                if !r.ignored {
                    return;
                }
                self.paint("...ignoring", "36")
            }
        };
        let _ = writeln!(self.out, "{line}");
    }
}

impl<W: Write + Send> Human<W> {
    /// The default callback's CUSTOM STATS: each host's (sorted), then the run's as `RUN`,
    /// each on one line (the dump's line breaks dropped).
    fn custom_stats(&mut self) {
        if self.custom.is_empty() {
            return;
        }
        self.banner("CUSTOM STATS:");
        let one_line = |opts: &DisplayOptions, v: &serde_json::Value, verbosity| {
            opts.dump(v, Some(1), false, verbosity).replace('\n', "")
        };
        for (host, stats) in self.custom.hosts() {
            let text = one_line(&self.opts, &stats, self.verbosity);
            let _ = writeln!(self.out, "\t{host}: {text}");
        }
        if let Some(run) = self.custom.run() {
            let text = one_line(&self.opts, &run, self.verbosity);
            let _ = writeln!(self.out, "\n\tRUN: {text}");
        }
        let _ = writeln!(self.out);
    }
}

/// A banner as ansible's display writes it, with the empty line above it: 79 columns when not
/// on a terminal, at least three stars.
pub(crate) fn banner_line(msg: &str) -> String {
    let stars = 79usize.saturating_sub(msg.chars().count()).max(3);
    format!("\n{msg} {}\n", "*".repeat(stars))
}

/// The first line of a failed task's error: a message ansible-core already worded as the whole
/// line (a Python module's uncaught exception: `Task failed: Module failed: ...`) is that line.
fn error_header(what: &str, msg: &str) -> String {
    if msg.starts_with("Task failed: ") {
        format!("[ERROR]: {msg}")
    } else {
        format!("[ERROR]: Task failed: {what}")
    }
}

/// The result as shown: internal keys dropped.
fn visible_result(r: &TaskResult) -> serde_json::Value {
    visible(&r.result, r)
}

/// A result of the task `r` is the result of, as shown.
fn visible(result: &crate::value::Vars, r: &TaskResult) -> serde_json::Value {
    let mut j = value::to_json(&value::from_vars(result));
    if let serde_json::Value::Object(o) = &mut j {
        super::strip_result_internal_keys(o);
        o.remove("warnings");
        // The status is the line's own word: ansible-core's TaskResult leaves `failed` and
        // `skipped` out of what callbacks show.
        o.remove("failed");
        o.remove("skipped");
        if matches!(r.status, Status::Failed | Status::Unreachable) {
            // The default callback shows the exception as the error block above, not here.
            o.remove("exception");
        }
        // The default callback's `_clean_results`: debug shows only what it was asked to.
        if crate::modules::spec_of(&r.action).is_some_and(|s| s.output == Output::Debug) {
            if o.contains_key("msg") {
                o.retain(|k, _| {
                    matches!(
                        k.as_str(),
                        "msg" | "exception" | "warnings" | "deprecations"
                    ) || k.starts_with('_')
                });
            } else {
                for k in [
                    "changed",
                    "failed",
                    "skipped",
                    "invocation",
                    "skip_reason",
                    "ansible_loop_var",
                    "ansible_index_var",
                    "ansible_loop",
                ] {
                    o.remove(k);
                }
            }
        }
    }
    j
}

impl<W: Write + Send> Reporter for Human<W> {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::PlaybookStart { path, plays } => {
                if self.verbosity >= 2 {
                    let base = path
                        .file_name()
                        .map(|b| b.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    self.banner(&format!("PLAYBOOK: {base}"));
                    let _ = writeln!(self.out, "{plays} plays in {}", path.display());
                }
                if !self.check_marker().is_empty() {
                    self.banner("DRY RUN");
                }
            }
            Event::PlayStart {
                name,
                strategy,
                check_mode,
            } => {
                self.free = matches!(*strategy, "free" | "host_pinned");
                self.last_banner = None;
                self.pending.clear();
                self.origins.clear();
                self.banner(&format!("PLAY [{name}]{}", self.marker_if(*check_mode)))
            }
            Event::NoHosts => {
                let _ = writeln!(
                    self.out,
                    "{}",
                    self.paint("skipping: no hosts matched", "36")
                );
            }
            Event::BatchStart { .. } => {}
            Event::TaskStart {
                name,
                handler,
                id,
                origin,
                check_mode,
                ..
            } => {
                self.origins.insert(*id, (*origin).clone());
                if *handler {
                    self.handlers.insert(*id);
                }
                let word = if *handler { "RUNNING HANDLER" } else { "TASK" };
                let text = format!("{word} [{name}]{}", self.marker_if(*check_mode));
                if self.deferred() {
                    self.pending.insert(*id, text);
                } else {
                    self.banner(&text);
                    self.last_banner = Some(*id);
                }
            }
            Event::HostStart { host, name, task } => {
                if self.opts.show_per_host_start {
                    // A handler calls itself one (its `str()`), as its banner does.
                    let kind = if self.handlers.contains(task) {
                        "HANDLER"
                    } else {
                        "TASK"
                    };
                    let text = self.paint(&format!(" [started {kind}: {name} on {host}]"), "32");
                    let _ = writeln!(self.out, "{text}");
                }
            }
            Event::HostResult { result, item } => self.host_result(result, *item),
            Event::Included {
                path,
                hosts,
                item,
                task,
            } => {
                self.banner_for(*task);
                let item = item
                    .as_ref()
                    .map(|i| format!(" => (item={i})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    self.out,
                    "{}",
                    self.paint(
                        &format!("included: {path} for {}{item}", hosts.join(", ")),
                        "36"
                    )
                );
            }
            Event::Prompt { .. } | Event::StepPrompt { .. } => {
                super::prompt::handle(event);
            }
            Event::Warning(w) => {
                // A deprecation says so itself (templating's broken conditionals).
                let text = if w.starts_with("[DEPRECATION WARNING]") {
                    w.to_string()
                } else {
                    format!("[WARNING]: {w}")
                };
                let _ = writeln!(self.out, "{}", self.paint(&text, "35"));
            }
            Event::Verbose { level, text } => {
                if self.verbosity >= *level {
                    let _ = writeln!(self.out, "{text}");
                }
            }
            Event::PlayAborted { reason } => {
                let _ = writeln!(self.out, "\n{}", self.paint(reason, "31"));
            }
            Event::Recap { stats } => {
                self.banner("PLAY RECAP");
                // ansible-playbook lists hosts sorted by name.
                let mut sorted: Vec<_> = stats.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                for (host, s) in sorted {
                    let col = |name: &str, n: u32, code: &str, this: &Self| {
                        let text = format!("{name}={n:<4}");
                        if n > 0 { this.paint(&text, code) } else { text }
                    };
                    let code = if s.failed > 0 || s.unreachable > 0 {
                        "31"
                    } else if s.changed > 0 {
                        "33"
                    } else {
                        "32"
                    };
                    let host_col = format!("{host:<26}");
                    let line = format!(
                        "{} : {} {} {} {} {} {} {}",
                        self.paint(&host_col, code),
                        col("ok", s.ok, "32", self),
                        col("changed", s.changed, "33", self),
                        col("unreachable", s.unreachable, "31", self),
                        col("failed", s.failed, "31", self),
                        col("skipped", s.skipped, "36", self),
                        col("rescued", s.rescued, "35", self),
                        col("ignored", s.ignored, "35", self),
                    );
                    let _ = writeln!(self.out, "{line}");
                }
                let _ = writeln!(self.out);
                if self.opts.show_custom_stats {
                    self.custom_stats();
                }
                if !self.check_marker().is_empty() {
                    self.banner("DRY RUN");
                }
            }
        }
        let _ = self.out.flush();
    }
}

/// Whether a result is a loop's summary (its items were shown one by one): `results` holding
/// the items' results (a loop over nothing is skipped, not ok). Modules have `results` of their own too (`dnf`'s list of lines), which
/// Ansible shows as any result, since it asks whether the task has a loop.
fn is_loop_summary(r: &TaskResult) -> bool {
    r.result.get("results").is_some_and(|v| {
        v.try_iter().is_ok_and(|items| {
            let kinds: Vec<_> = items.map(|i| i.kind()).collect();
            !kinds.is_empty() && kinds.iter().all(|k| *k == minijinja::value::ValueKind::Map)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::events::HostStats;
    use indexmap::IndexMap;

    #[test]
    fn recap_lines_match_ansible_layout() {
        let mut out = Vec::new();
        {
            let mut h = Human::new(&mut out, crate::vault::Masker::new(), 0, false);
            let mut stats = IndexMap::new();
            stats.insert(
                "web1".to_string(),
                HostStats {
                    ok: 2,
                    changed: 1,
                    ..HostStats::default()
                },
            );
            h.event(&Event::Recap { stats: &stats });
        }
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("\nPLAY RECAP *****"), "{text:?}");
        assert_eq!(text.lines().nth(1).unwrap().len(), 80);
        assert!(text.contains("web1                       : ok=2    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   \n"), "{text:?}");
    }
}
