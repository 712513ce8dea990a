//! A recorded run: the `--output json` stream of `baton play` read back into a model (playbooks,
//! plays, tasks, each host's results, the recap, the exit status), and shards of one run merged
//! into one. `baton report merge` reads, merges and writes it; a renderer of recorded runs (an
//! HTML report) can take a [`RunRecord`] as it is.
//!
//! Merging aligns the shards' playbooks and plays by position (every shard runs the same
//! playbooks), and tasks by their name and handler flag and how many tasks of that name came
//! before in the play: a task that ran in one shard only (an include that some hosts reached)
//! is kept where it came in that shard. Each host must come from one shard only.

use crate::diagnostics::{Error, ErrorKind, Pos, Source, Span};
use crate::exec::events::HostStats;
use indexmap::IndexMap;
use serde_json::{Value as Json, json};
use std::path::Path;

/// A whole run (or the merge of a run's shards).
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    pub playbooks: Vec<PlaybookRecord>,
    /// Warnings, each once, in the order first seen.
    pub warnings: Vec<String>,
    /// ansible-playbook's exit status of the run.
    pub exit_code: i32,
    /// The shards merged (`K/N`), when the streams said.
    pub shards: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PlaybookRecord {
    pub path: String,
    pub plays: Vec<PlayRecord>,
    /// Why a play was stopped (`play_aborted`), when one was.
    pub aborted: Vec<String>,
    /// PLAY RECAP: per host, in the order seen.
    pub recap: IndexMap<String, HostStats>,
    pub has_recap: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PlayRecord {
    pub name: String,
    pub strategy: String,
    pub tasks: Vec<TaskRecord>,
    /// No host matched the play (in every stream merged).
    pub no_hosts: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TaskRecord {
    pub name: String,
    pub handler: bool,
    pub results: Vec<HostResult>,
    /// `included` events: which hosts included which file.
    pub included: Vec<Json>,
}

/// One host's result of a task (or of one loop item, `item` set).
#[derive(Debug, Clone)]
pub struct HostResult {
    pub host: String,
    /// ok, changed, skipped, failed or unreachable.
    pub status: String,
    pub ignored: bool,
    pub item: bool,
    pub item_label: Json,
    pub result: Json,
}

fn stats_of(v: &Json) -> HostStats {
    let n = |k: &str| v.get(k).and_then(Json::as_u64).unwrap_or(0) as u32;
    HostStats {
        ok: n("ok"),
        changed: n("changed"),
        unreachable: n("unreachable"),
        failed: n("failed"),
        skipped: n("skipped"),
        rescued: n("rescued"),
        ignored: n("ignored"),
    }
}

fn stats_json(s: &HostStats) -> Json {
    json!({"ok": s.ok, "changed": s.changed, "unreachable": s.unreachable, "failed": s.failed,
           "skipped": s.skipped, "rescued": s.rescued, "ignored": s.ignored})
}

impl RunRecord {
    /// Reads a `--output json` stream; a line that is not a JSON object is an error at it.
    pub fn read(path: &Path) -> Result<RunRecord, Error> {
        let source = Source::read(path)?;
        Self::parse(&source)
    }

    pub fn parse(source: &std::sync::Arc<Source>) -> Result<RunRecord, Error> {
        let mut run = RunRecord::default();
        let mut exit: Option<i32> = None;
        for (n, line) in source.text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |col: usize| Span::point(source.clone(), Pos { line: n + 1, col });
            let ev: Json = serde_json::from_str(line).map_err(|e| {
                Error::syntax(
                    &at(e.column().max(1)),
                    format!("not a JSON event of `baton play --output json`: {e}"),
                )
            })?;
            let Some(kind) = ev.get("event").and_then(Json::as_str) else {
                return Err(Error::syntax(&at(1), "a JSON line without an \"event\""));
            };
            let s = |k: &str| ev.get(k).and_then(Json::as_str).unwrap_or("").to_string();
            match kind {
                "playbook_start" => run.playbooks.push(PlaybookRecord {
                    path: s("path"),
                    ..Default::default()
                }),
                "play_start" => run.playbook().plays.push(PlayRecord {
                    name: s("name"),
                    strategy: s("strategy"),
                    ..Default::default()
                }),
                "no_hosts" => run.play().no_hosts = true,
                "task_start" => run.play().tasks.push(TaskRecord {
                    name: s("name"),
                    handler: ev.get("handler").and_then(Json::as_bool).unwrap_or(false),
                    ..Default::default()
                }),
                "host_result" | "item_result" => run.task().results.push(HostResult {
                    host: s("host"),
                    status: s("status"),
                    ignored: ev.get("ignored").and_then(Json::as_bool).unwrap_or(false),
                    item: kind == "item_result",
                    item_label: ev.get("item").cloned().unwrap_or(Json::Null),
                    result: ev.get("result").cloned().unwrap_or(Json::Null),
                }),
                "included" => run.task().included.push(ev.clone()),
                "warning" => run.warn(s("message")),
                "play_aborted" => run.playbook().aborted.push(s("reason")),
                "recap" => {
                    let book = run.playbook();
                    book.has_recap = true;
                    if let Some(hosts) = ev.get("hosts").and_then(Json::as_object) {
                        for (h, v) in hosts {
                            book.recap.insert(h.clone(), stats_of(v));
                        }
                    }
                }
                "shard_end" | "run_end" => {
                    exit = ev.get("exit_code").and_then(Json::as_i64).map(|c| c as i32);
                    if let Some(k) = ev.get("shard").and_then(Json::as_str) {
                        run.shards.push(k.to_string());
                    }
                    // A merged stream names every shard it joined.
                    let joined = ev.get("shards").and_then(Json::as_array);
                    run.shards.extend(
                        joined
                            .into_iter()
                            .flatten()
                            .filter_map(|k| k.as_str().map(String::from)),
                    );
                }
                // What asked the operator, and -v output, are not part of the record.
                _ => {}
            }
        }
        if !run.playbooks.iter().any(|b| b.has_recap) {
            return Err(Error::new(
                ErrorKind::Syntax,
                format!(
                    "{}: no recap: this is not the `--output json` stream of a run that finished",
                    source.name
                ),
            ));
        }
        run.exit_code = exit.unwrap_or_else(|| run.exit_from_recap());
        Ok(run)
    }

    /// The exit status the recaps imply, for a stream that does not say it: 4 when a host is
    /// unreachable, 2 when one failed or a play was stopped, else 0.
    fn exit_from_recap(&self) -> i32 {
        let stats = self.playbooks.iter().flat_map(|b| b.recap.values());
        let (mut unreachable, mut failed) = (false, false);
        for s in stats {
            unreachable |= s.unreachable > 0;
            failed |= s.failed > 0;
        }
        if unreachable {
            4
        } else if failed || self.playbooks.iter().any(|b| !b.aborted.is_empty()) {
            2
        } else {
            0
        }
    }

    fn warn(&mut self, w: String) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    // The current playbook, play and task of a stream being read: made up when a stream
    // starts in the middle (an event before its parent), so that nothing is lost.
    fn playbook(&mut self) -> &mut PlaybookRecord {
        if self.playbooks.is_empty() {
            self.playbooks.push(PlaybookRecord::default());
        }
        self.playbooks.last_mut().expect("pushed above")
    }

    fn play(&mut self) -> &mut PlayRecord {
        let book = self.playbook();
        if book.plays.is_empty() {
            book.plays.push(PlayRecord::default());
        }
        book.plays.last_mut().expect("pushed above")
    }

    fn task(&mut self) -> &mut TaskRecord {
        let play = self.play();
        if play.tasks.is_empty() {
            play.tasks.push(TaskRecord::default());
        }
        play.tasks.last_mut().expect("pushed above")
    }

    /// The shards of one run, merged: results joined task by task, recaps joined, one exit
    /// status (what one unsharded run gives: 99 if any was interrupted, else 4 if a host was
    /// unreachable, else 2 if one failed, else the largest other status).
    pub fn merge(shards: Vec<(String, RunRecord)>) -> Result<RunRecord, Error> {
        let mut merged = RunRecord::default();
        // Which shard each host of each playbook came from.
        let mut owner: std::collections::HashMap<(usize, String), String> = Default::default();
        let mut codes = Vec::new();
        for (name, shard) in shards {
            for k in &shard.shards {
                if merged.shards.contains(k) {
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!("shard {k} is given twice (again in {name})"),
                    ));
                }
                merged.shards.push(k.clone());
            }
            codes.push(shard.exit_code);
            for w in shard.warnings {
                merged.warn(w);
            }
            for (i, book) in shard.playbooks.into_iter().enumerate() {
                for host in book.recap.keys() {
                    if let Some(first) = owner.insert((i, host.clone()), name.clone()) {
                        return Err(Error::new(
                            ErrorKind::Usage,
                            format!(
                                "host {host} is in the recaps of both {first} and {name}: \
                                 these are not shards of one run"
                            ),
                        ));
                    }
                }
                if merged.playbooks.len() <= i {
                    merged.playbooks.push(PlaybookRecord {
                        path: book.path.clone(),
                        ..Default::default()
                    });
                }
                merged.playbooks[i].absorb(book);
            }
        }
        merged.exit_code = combined_exit(&codes);
        Ok(merged)
    }

    /// The record as a `--output json` stream (what `baton play --output json` writes, in
    /// task order, ending with a `run_end` event that carries the exit status).
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        let mut push = |v: Json| {
            out.push_str(&v.to_string());
            out.push('\n');
        };
        for w in &self.warnings {
            push(json!({"event": "warning", "message": w}));
        }
        for book in &self.playbooks {
            push(json!({"event": "playbook_start", "path": book.path, "plays": book.plays.len()}));
            for play in &book.plays {
                push(json!({"event": "play_start", "name": play.name, "strategy": play.strategy}));
                if play.no_hosts {
                    push(json!({"event": "no_hosts"}));
                }
                for task in &play.tasks {
                    push(
                        json!({"event": "task_start", "name": task.name, "handler": task.handler}),
                    );
                    for inc in &task.included {
                        push(inc.clone());
                    }
                    for r in &task.results {
                        push(json!({
                            "event": if r.item { "item_result" } else { "host_result" },
                            "host": r.host, "status": r.status, "ignored": r.ignored,
                            "item": r.item_label, "result": r.result,
                        }));
                    }
                }
            }
            for reason in &book.aborted {
                push(json!({"event": "play_aborted", "reason": reason}));
            }
            if book.has_recap {
                let hosts: serde_json::Map<String, Json> = book
                    .recap
                    .iter()
                    .map(|(h, s)| (h.clone(), stats_json(s)))
                    .collect();
                push(json!({"event": "recap", "hosts": hosts}));
            }
        }
        push(json!({"event": "run_end", "exit_code": self.exit_code, "shards": self.shards}));
        out
    }
}

impl PlaybookRecord {
    fn absorb(&mut self, other: PlaybookRecord) {
        for (i, play) in other.plays.into_iter().enumerate() {
            if self.plays.len() <= i {
                self.plays.push(PlayRecord {
                    name: play.name.clone(),
                    strategy: play.strategy.clone(),
                    tasks: Vec::new(),
                    no_hosts: true,
                });
            }
            self.plays[i].absorb(play);
        }
        for reason in other.aborted {
            if !self.aborted.contains(&reason) {
                self.aborted.push(reason);
            }
        }
        self.has_recap |= other.has_recap;
        self.recap.extend(other.recap);
    }
}

impl PlayRecord {
    fn absorb(&mut self, other: PlayRecord) {
        self.no_hosts &= other.no_hosts;
        // Tasks by (name, handler, how many of that name came before).
        let key = |tasks: &[TaskRecord], i: usize| {
            let t = &tasks[i];
            let seen = tasks[..i]
                .iter()
                .filter(|u| u.name == t.name && u.handler == t.handler)
                .count();
            (t.name.clone(), t.handler, seen)
        };
        let mut cursor = 0;
        for i in 0..other.tasks.len() {
            let k = key(&other.tasks, i);
            let found = (0..self.tasks.len()).find(|&j| key(&self.tasks, j) == k);
            let task = other.tasks[i].clone();
            match found {
                Some(j) => {
                    self.tasks[j].results.extend(task.results);
                    self.tasks[j].included.extend(task.included);
                    cursor = j + 1;
                }
                None => {
                    self.tasks.insert(cursor, task);
                    cursor += 1;
                }
            }
        }
    }
}

/// One exit status for the shards' statuses, as one run over all their hosts would end.
pub fn combined_exit(codes: &[i32]) -> i32 {
    for special in [99, 4, 2] {
        if codes.contains(&special) {
            return special;
        }
    }
    codes.iter().copied().max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str, lines: &[&str]) -> (String, RunRecord) {
        let src = Source::new(name, lines.join("\n"));
        (name.to_string(), RunRecord::parse(&src).unwrap())
    }

    fn recap(hosts: &[(&str, u32, u32)]) -> String {
        let m: serde_json::Map<String, Json> = hosts
            .iter()
            .map(|(h, ok, failed)| {
                (
                    h.to_string(),
                    json!({"ok": ok, "failed": failed, "unreachable": 0}),
                )
            })
            .collect();
        json!({"event": "recap", "hosts": m}).to_string()
    }

    #[test]
    fn shards_merge_task_by_task_with_one_exit_status() {
        let r1 = recap(&[("a", 2, 0)]);
        let s1 = stream(
            "s1",
            &[
                r#"{"event":"playbook_start","path":"p.yml","plays":1}"#,
                r#"{"event":"play_start","name":"all","strategy":"linear"}"#,
                r#"{"event":"task_start","name":"t1","handler":false}"#,
                r#"{"event":"host_result","host":"a","status":"ok","result":{}}"#,
                r#"{"event":"task_start","name":"only here","handler":false}"#,
                r#"{"event":"host_result","host":"a","status":"changed","result":{}}"#,
                &r1,
                r#"{"event":"shard_end","shard":"1/2","exit_code":0}"#,
            ],
        );
        let r2 = recap(&[("b", 0, 1)]);
        let s2 = stream(
            "s2",
            &[
                r#"{"event":"playbook_start","path":"p.yml","plays":1}"#,
                r#"{"event":"play_start","name":"all","strategy":"linear"}"#,
                r#"{"event":"task_start","name":"t1","handler":false}"#,
                r#"{"event":"host_result","host":"b","status":"failed","result":{}}"#,
                &r2,
                r#"{"event":"shard_end","shard":"2/2","exit_code":2}"#,
            ],
        );
        let m = RunRecord::merge(vec![s1, s2]).unwrap();
        assert_eq!(m.exit_code, 2);
        let tasks = &m.playbooks[0].plays[0].tasks;
        assert_eq!(
            tasks.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["t1", "only here"]
        );
        assert_eq!(tasks[0].results.len(), 2);
        assert_eq!(m.playbooks[0].recap.len(), 2);
        // Written and read back: the same record.
        let again = RunRecord::parse(&Source::new("m", m.to_json_lines())).unwrap();
        assert_eq!(again.exit_code, 2);
        assert_eq!(again.playbooks[0].plays[0].tasks[0].results.len(), 2);
        assert_eq!(again.shards, ["1/2", "2/2"]);
    }

    #[test]
    fn a_host_in_two_streams_is_refused() {
        let r = recap(&[("a", 1, 0)]);
        let e = RunRecord::merge(vec![stream("x", &[&r]), stream("y", &[&r])]).unwrap_err();
        assert!(
            e.message
                .contains("host a is in the recaps of both x and y"),
            "{e}"
        );
    }

    #[test]
    fn without_an_exit_event_the_recap_decides() {
        let (_, r) = stream("x", &[&recap(&[("a", 1, 1)])]);
        assert_eq!(r.exit_code, 2);
        assert_eq!(combined_exit(&[0, 2, 4]), 4);
        assert_eq!(combined_exit(&[0, 99, 4]), 99);
        assert_eq!(combined_exit(&[0, 0]), 0);
        assert_eq!(combined_exit(&[0, 250]), 250);
    }

    #[test]
    fn a_stream_without_a_recap_is_an_error() {
        let src = Source::new("x.json", r#"{"event":"warning","message":"w"}"#);
        let e = RunRecord::parse(&src).unwrap_err();
        assert!(e.message.contains("x.json: no recap"), "{e}");
    }
}
