//! `--output json`: one JSON object per event, one per line, for CI systems and scripts.

use crate::exec::events::{Event, Reporter, Status};
use crate::value;
use serde_json::json;
use std::io::Write;

pub struct JsonLines<W: Write + Send> {
    /// Vault secrets are masked in everything written (with the run's masker).
    out: crate::vault::mask::Masked<W>,
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(out: W, masker: std::sync::Arc<crate::vault::Masker>) -> Self {
        JsonLines {
            out: crate::vault::mask::Masked::new(out, masker),
        }
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Changed => "changed",
        Status::Skipped => "skipped",
        Status::Failed => "failed",
        Status::Unreachable => "unreachable",
    }
}

impl<W: Write + Send> Reporter for JsonLines<W> {
    fn event(&mut self, event: &Event<'_>) {
        let line = match event {
            Event::PlaybookStart { path, plays } => {
                json!({"event": "playbook_start", "path": path.display().to_string(), "plays": plays})
            }
            Event::PlayStart { name, strategy, .. } => {
                json!({"event": "play_start", "name": name, "strategy": strategy})
            }
            Event::NoHosts => json!({"event": "no_hosts"}),
            Event::BatchStart {
                number,
                total,
                hosts,
            } => {
                json!({"event": "batch_start", "batch": number, "batches": total, "hosts": hosts})
            }
            Event::TaskStart {
                name,
                handler,
                id,
                action,
                origin,
                ..
            } => {
                // `id` and `path` let a stream be rebuilt into a run (`report::RunRecord`).
                let file = std::path::absolute(&origin.source.name)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| origin.source.name.clone());
                let path = format!("{file}:{}", origin.start.line);
                json!({"event": "task_start", "name": name, "handler": handler, "id": id,
                       "action": action, "path": path})
            }
            Event::HostStart { host, name, .. } => {
                json!({"event": "host_start", "host": host, "task": name})
            }
            Event::HostResult { result, item } => json!({
                "event": if *item { "item_result" } else { "host_result" },
                "host": result.host,
                "status": status_word(result.status),
                "ignored": result.ignored,
                "item": result.item_label,
                "task_id": result.task_id,
                "result": value::to_json(&value::from_vars(&result.result)),
            }),
            Event::Included {
                path, hosts, item, ..
            } => {
                json!({"event": "included", "path": path, "hosts": hosts, "item": item})
            }
            Event::Prompt { prompt, .. } => {
                super::prompt::handle(event);
                json!({"event": "prompt", "prompt": prompt})
            }
            Event::StepPrompt { name, .. } => {
                super::prompt::handle(event);
                json!({"event": "step_prompt", "task": name})
            }
            Event::Warning(w) => json!({"event": "warning", "message": w}),
            Event::Verbose { level, text } => {
                json!({"event": "verbose", "level": level, "message": text})
            }
            Event::PlayAborted { reason } => json!({"event": "play_aborted", "reason": reason}),
            Event::Recap { stats } => {
                let hosts: serde_json::Map<String, serde_json::Value> = stats
                    .iter()
                    .map(|(h, s)| {
                        (
                            h.clone(),
                            json!({"ok": s.ok, "changed": s.changed, "unreachable": s.unreachable,
                                   "failed": s.failed, "skipped": s.skipped, "rescued": s.rescued,
                                   "ignored": s.ignored}),
                        )
                    })
                    .collect();
                json!({"event": "recap", "hosts": hosts})
            }
        };
        // When it happened (seconds since the epoch): a run's timeline, from its stream.
        let mut line = line;
        if let serde_json::Value::Object(o) = &mut line {
            o.insert("time".into(), json!(super::report::unix_now()));
        }
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}
