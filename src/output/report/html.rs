//! The HTML report (`baton play --report FILE`): one self-contained page made from a
//! [`RunRecord`], its style and script inline, nothing fetched. It shows the plays and their
//! batches, a timeline per host (a bar per task coloured by status, batches as bands behind
//! them), the recap, every failed task with its message, and every changed task with its diff
//! when diff mode was on.
//!
//! Sized for big runs: a bar is one short element (its task's name is looked up by the script
//! from one table, not repeated per host), and results are grouped by task, so 500 hosts × 50
//! tasks stay a few megabytes that a browser lays out in about a second.

use super::{HostRecord, RunRecord, StatusWord, TaskRecord};
use std::fmt::Write as _;

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// The page for a run.
pub fn render(run: &RunRecord) -> String {
    let mut out = String::with_capacity(4096 + run.plays.len() * 1024);
    let title = match run.playbooks.as_slice() {
        [] => "baton run".to_string(),
        books => format!("baton run: {}", books.join(", ")),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(&title)
    );
    header(&mut out, run, &title);
    recap(&mut out, run);
    plays(&mut out, run);
    timeline(&mut out, run);
    failures(&mut out, run);
    changes(&mut out, run);
    if !run.warnings.is_empty() {
        out.push_str("<section id=\"warnings\"><h2>Warnings</h2><ul>");
        for w in &run.warnings {
            let _ = write!(out, "<li><pre>{}</pre></li>", esc(w));
        }
        out.push_str("</ul></section>\n");
    }
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    out
}

/// `&`, `<`, `>`, `"` and `'` as entities (markupsafe's escape): text and attribute values.
fn esc(s: &str) -> String {
    crate::template::filters::text::html_escape(s)
}

/// A duration as people read it: `0.42s`, `12.3s`, `4m05s`, `1h02m`.
fn duration(secs: f64) -> String {
    let secs = secs.max(0.0);
    if secs < 10.0 {
        format!("{secs:.2}s")
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        format!("{}m{:02}s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!(
            "{}h{:02}m",
            (secs / 3600.0) as u64,
            ((secs % 3600.0) / 60.0) as u64
        )
    }
}

/// UTC `YYYY-MM-DD HH:MM:SS` of a Unix time.
fn utc(unix: f64) -> String {
    let secs = unix.max(0.0) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Hosts in the order the run met them: batches first, then the recap's.
fn hosts(run: &RunRecord) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let batch_hosts = run
        .plays
        .iter()
        .flat_map(|p| p.batches.iter())
        .flat_map(|b| b.hosts.iter());
    let result_hosts = run
        .plays
        .iter()
        .flat_map(|p| p.tasks.iter())
        .flat_map(|t| t.results.iter().map(|r| &r.host));
    for h in batch_hosts.chain(result_hosts).chain(run.recap.keys()) {
        if seen.insert(h.as_str()) {
            out.push(h.as_str());
        }
    }
    out
}

fn failed_run(run: &RunRecord) -> bool {
    run.stopped.is_some()
        || run
            .recap
            .values()
            .any(|c| c.failed > 0 || c.unreachable > 0)
}

fn header(out: &mut String, run: &RunRecord, title: &str) {
    let (word, class) = if run.stopped.is_some() {
        ("stopped", "failed")
    } else if failed_run(run) {
        ("failed", "failed")
    } else {
        ("ok", "ok")
    };
    let _ = write!(
        out,
        "<header><h1>{}</h1><p class=\"meta\"><span class=\"badge {class}\">{word}</span> \
         started {} · took {} · {} hosts · {} plays</p>",
        esc(title),
        utc(run.started_unix),
        duration(run.duration),
        hosts(run).len(),
        run.plays.len()
    );
    if let Some(why) = &run.stopped {
        let _ = write!(
            out,
            "<p class=\"stopped\">The run stopped early: {}</p>",
            esc(why)
        );
    }
    out.push_str(
        "<nav><a href=\"#recap\">Recap</a> <a href=\"#plays\">Plays</a> \
         <a href=\"#timeline\">Timeline</a> <a href=\"#failures\">Failures</a> \
         <a href=\"#changes\">Changes</a></nav></header>\n",
    );
}

fn recap(out: &mut String, run: &RunRecord) {
    out.push_str(
        "<section id=\"recap\"><h2>Recap</h2><table class=\"recap\"><thead><tr><th>host</th>\
         <th>ok</th><th>changed</th><th>unreachable</th><th>failed</th><th>skipped</th>\
         <th>rescued</th><th>ignored</th></tr></thead><tbody>",
    );
    // As PLAY RECAP lists them: sorted by name.
    let mut sorted: Vec<_> = run.recap.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (host, c) in sorted {
        let class = match (c.failed + c.unreachable, c.changed) {
            (0, 0) => "ok",
            (0, _) => "changed",
            _ => "failed",
        };
        let cell = |n: u32, k: &str| {
            if n > 0 {
                format!("<td class=\"{k}\">{n}</td>")
            } else {
                "<td>0</td>".to_string()
            }
        };
        let _ = write!(
            out,
            "<tr class=\"{class}\"><th class=\"host\">{}</th>{}{}{}{}{}{}{}</tr>",
            esc(host),
            cell(c.ok, "ok"),
            cell(c.changed, "changed"),
            cell(c.unreachable, "unreachable"),
            cell(c.failed, "failed"),
            cell(c.skipped, "skipped"),
            cell(c.rescued, "rescued"),
            cell(c.ignored, "ignored"),
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn plays(out: &mut String, run: &RunRecord) {
    out.push_str("<section id=\"plays\"><h2>Plays and batches</h2>");
    for (i, play) in run.plays.iter().enumerate() {
        let book = run
            .playbooks
            .get(play.playbook)
            .map(|b| format!(" <span class=\"dim\">{}</span>", esc(b)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<div class=\"play\" id=\"play-{i}\"><h3>PLAY [{}]{book}</h3><p class=\"dim\">\
             strategy {} · {} tasks · {} batches · took {}</p>",
            esc(&play.name),
            esc(&play.strategy),
            play.tasks.len(),
            play.batches.len(),
            duration(play.end - play.start)
        );
        if play.no_hosts {
            out.push_str("<p class=\"dim\">skipping: no hosts matched</p>");
        }
        if let Some(why) = &play.aborted {
            let _ = write!(out, "<p class=\"stopped\">{}</p>", esc(why));
        }
        if !play.batches.is_empty() {
            out.push_str("<ol class=\"batches\">");
            for (b, batch) in play.batches.iter().enumerate() {
                let tasks: Vec<&TaskRecord> = play.tasks.iter().filter(|t| t.batch == b).collect();
                let bad = tasks
                    .iter()
                    .flat_map(|t| t.results.iter())
                    .filter(|r| {
                        !r.ignored
                            && matches!(r.status, StatusWord::Failed | StatusWord::Unreachable)
                    })
                    .count();
                let _ = write!(
                    out,
                    "<li class=\"batch{}\" data-batch=\"{}/{}\"><b>batch {}/{}</b> · {} hosts · \
                     {} tasks · took {}{}<div class=\"hostlist\">{}</div></li>",
                    if bad > 0 { " failed" } else { "" },
                    batch.number,
                    batch.total,
                    batch.number,
                    batch.total,
                    batch.hosts.len(),
                    tasks.len(),
                    duration(batch.end - batch.start),
                    if bad > 0 {
                        format!(" · <span class=\"failed\">{bad} failed</span>")
                    } else {
                        String::new()
                    },
                    esc(&batch.hosts.join(", "))
                );
            }
            out.push_str("</ol>");
        }
        out.push_str("</div>");
    }
    out.push_str("</section>\n");
}

/// A status's class on a bar (one letter: 25,000 bars add up).
fn class(r: &HostRecord) -> &'static str {
    match r.status {
        StatusWord::Ok => "o",
        StatusWord::Changed => "c",
        StatusWord::Skipped => "s",
        StatusWord::Failed if r.ignored => "i",
        StatusWord::Failed => "f",
        StatusWord::Unreachable => "u",
    }
}

fn timeline(out: &mut String, run: &RunRecord) {
    let total = run.duration.max(1e-6);
    let pct = |t: f64| (t / total * 100.0).clamp(0.0, 100.0);
    // The script's table of tasks, by index: [name, play, batch label, start].
    let mut table = Vec::new();
    let mut rows: std::collections::HashMap<&str, String> = Default::default();
    for play in &run.plays {
        for t in &play.tasks {
            let k = table.len();
            let batch = play
                .batches
                .get(t.batch)
                .map(|b| format!("{}/{}", b.number, b.total))
                .unwrap_or_default();
            let word = if t.handler { "HANDLER" } else { "TASK" };
            table.push(serde_json::json!([
                format!("{word} [{}]", t.name),
                play.name,
                batch
            ]));
            for r in &t.results {
                let row = rows.entry(r.host.as_str()).or_default();
                let _ = write!(
                    row,
                    "<i class=\"{}\" style=\"left:{:.3}%;width:{:.3}%\" data-k=\"{k}\"></i>",
                    class(r),
                    pct(r.start),
                    (pct(r.end) - pct(r.start)).max(0.0)
                );
            }
        }
    }
    let _ = write!(
        out,
        "<section id=\"timeline\"><h2>Timeline</h2><p class=\"legend\">\
         <span class=\"key o\"></span>ok <span class=\"key c\"></span>changed \
         <span class=\"key f\"></span>failed <span class=\"key i\"></span>failed, ignored \
         <span class=\"key s\"></span>skipped <span class=\"key u\"></span>unreachable \
         <span class=\"key bandkey\"></span>batch · <input id=\"filter\" type=\"search\" \
         placeholder=\"filter hosts\" aria-label=\"filter hosts\"></p>\
         <div class=\"lanes\" data-total=\"{total}\"><div class=\"axis\"><span class=\"h\"></span><div class=\"ticks\">"
    );
    for i in 0..=4 {
        let _ = write!(
            out,
            "<span style=\"left:{}%\">{}</span>",
            i * 25,
            duration(total * f64::from(i) / 4.0)
        );
    }
    out.push_str("</div></div><div class=\"bands\">");
    for play in &run.plays {
        for (b, batch) in play.batches.iter().enumerate() {
            let _ = write!(
                out,
                "<div class=\"band b{}\" style=\"left:{:.3}%;width:{:.3}%\" data-batch=\"{}/{}\" \
                 title=\"{} · batch {}/{}\"><span>{} {}/{}</span></div>",
                b % 2,
                pct(batch.start),
                (pct(batch.end) - pct(batch.start)).max(0.0),
                batch.number,
                batch.total,
                esc(&play.name),
                batch.number,
                batch.total,
                esc(&play.name),
                batch.number,
                batch.total
            );
        }
    }
    out.push_str("</div>");
    for host in hosts(run) {
        let bars = rows.remove(host).unwrap_or_default();
        let _ = write!(
            out,
            "<div class=\"row\" data-host=\"{0}\"><span class=\"h\">{0}</span><div class=\"bars\">{bars}</div></div>",
            esc(host)
        );
    }
    // `</` cannot end the script early: JSON escapes it.
    let tasks = serde_json::Value::Array(table)
        .to_string()
        .replace("</", "<\\/");
    let _ = writeln!(
        out,
        "</div><div id=\"tip\" role=\"tooltip\"></div><script>const TASKS={tasks};</script></section>"
    );
}

/// Results of one status, grouped by task (a task's batches together), in run order.
fn grouped(
    run: &RunRecord,
    keep: impl Fn(&HostRecord) -> bool,
) -> Vec<(&str, &TaskRecord, Vec<&HostRecord>)> {
    let mut out: Vec<(&str, &TaskRecord, Vec<&HostRecord>)> = Vec::new();
    for play in &run.plays {
        let from = out.len();
        for t in &play.tasks {
            let hits = t.results.iter().filter(|r| keep(r));
            match out[from..].iter_mut().find(|(_, seen, _)| seen.id == t.id) {
                Some((_, _, all)) => all.extend(hits),
                None => out.push((play.name.as_str(), t, hits.collect())),
            }
        }
    }
    out.retain(|(_, _, hits)| !hits.is_empty());
    out
}

fn task_title(play: &str, t: &TaskRecord) -> String {
    let word = if t.handler { "HANDLER" } else { "TASK" };
    let at = t
        .path
        .as_deref()
        .map(|p| format!(" <span class=\"dim\">{}</span>", esc(p)))
        .unwrap_or_default();
    format!(
        "{word} [{}] <span class=\"dim\">in {}</span>{at}",
        esc(&t.name),
        esc(play)
    )
}

fn failures(out: &mut String, run: &RunRecord) {
    out.push_str("<section id=\"failures\"><h2>Failures</h2>");
    let groups = grouped(run, |r| {
        matches!(r.status, StatusWord::Failed | StatusWord::Unreachable)
    });
    if groups.is_empty() {
        out.push_str("<p class=\"dim\">No task failed.</p>");
    }
    for (play, t, hits) in groups {
        let _ = write!(
            out,
            "<details class=\"task failed\" open><summary>{} — {} host{}</summary><ul>",
            task_title(play, t),
            hits.len(),
            if hits.len() == 1 { "" } else { "s" }
        );
        for r in hits {
            let word = match (r.status, r.ignored) {
                (StatusWord::Unreachable, _) => "unreachable",
                (_, true) => "failed (ignored)",
                _ => "failed",
            };
            let items: Vec<&str> = r
                .items
                .iter()
                .filter(|(s, _)| matches!(s, StatusWord::Failed | StatusWord::Unreachable))
                .map(|(_, l)| l.as_str())
                .collect();
            let items = if items.is_empty() {
                String::new()
            } else {
                format!(
                    " <span class=\"dim\">items: {}</span>",
                    esc(&items.join(", "))
                )
            };
            let _ = write!(
                out,
                "<li class=\"result\" data-host=\"{0}\"><b class=\"host\">{0}</b> <span class=\"word {1}\">{2}</span>{items}<pre class=\"msg\">{3}</pre></li>",
                esc(&r.host),
                class(r),
                word,
                esc(&r.message())
            );
        }
        out.push_str("</ul></details>");
    }
    out.push_str("</section>\n");
}

fn changes(out: &mut String, run: &RunRecord) {
    out.push_str("<section id=\"changes\"><h2>Changes</h2>");
    let groups = grouped(run, |r| r.status == StatusWord::Changed);
    if groups.is_empty() {
        out.push_str("<p class=\"dim\">Nothing changed.</p>");
    } else if !run.diff {
        out.push_str(
            "<p class=\"dim\">Diff mode was off (<code>--diff</code> shows what changed).</p>",
        );
    }
    for (play, t, hits) in groups {
        let _ = write!(
            out,
            "<details class=\"task changed\"><summary>{} — {} host{}</summary>",
            task_title(play, t),
            hits.len(),
            if hits.len() == 1 { "" } else { "s" }
        );
        let (with, without): (Vec<_>, Vec<_>) = hits
            .into_iter()
            .map(|r| {
                (
                    r,
                    if run.diff {
                        r.diff_text()
                    } else {
                        String::new()
                    },
                )
            })
            .partition(|(_, d)| !d.is_empty());
        if !without.is_empty() {
            let names: Vec<&str> = without.iter().map(|(r, _)| r.host.as_str()).collect();
            let _ = write!(out, "<p class=\"hostlist\">{}</p>", esc(&names.join(", ")));
        }
        for (r, d) in with {
            let _ = write!(
                out,
                "<div class=\"result\" data-host=\"{0}\"><b class=\"host\">{0}</b><pre class=\"diff\">",
                esc(&r.host)
            );
            for line in d.lines() {
                let cls = if line.starts_with("+++") || line.starts_with("---") {
                    "hd"
                } else if line.starts_with('+') {
                    "add"
                } else if line.starts_with('-') {
                    "del"
                } else if line.starts_with("@@") {
                    "hunk"
                } else {
                    "ctx"
                };
                let _ = writeln!(out, "<span class=\"{cls}\">{}</span>", esc(line));
            }
            out.push_str("</pre></div>");
        }
        out.push_str("</details>");
    }
    out.push_str("</section>\n");
}
