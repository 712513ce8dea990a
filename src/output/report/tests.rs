//! The recorder and the HTML renderer on synthetic runs: what the page holds, what it must not
//! (a vault secret), how batches of a serial play come together, the page's size at 500 hosts
//! × 50 tasks, and the same run rebuilt from its `--output json` stream.

use super::*;
use crate::diagnostics::{Pos, Source, Span};
use crate::exec::events::TaskResult;
use crate::value::{Value, Vars};

fn span(line: usize) -> Span {
    Span::point(
        Source::new("site.yml", "- hosts: all\n  tasks: []\n"),
        Pos { line, col: 7 },
    )
}

fn result(host: &str, status: Status, task: u64, msg: &str) -> TaskResult {
    let mut r = Vars::new();
    r.insert("msg".into(), Value::from(msg));
    r.insert("changed".into(), Value::from(status == Status::Changed));
    TaskResult {
        host: host.into(),
        status,
        result: r,
        ignored: false,
        delegated_to: None,
        item_label: None,
        verbose_always: false,
        action: "command".into(),
        task_id: task,
        retries: Vec::new(),
    }
}

/// Plays a synthetic run into `rep`: one play, `batches` batches of `hosts` hosts each, `tasks`
/// tasks; host `h{n}` fails task 2 when `n` is 1 and changes the others on odd tasks.
fn play_run(rep: &mut dyn Reporter, batches: usize, hosts: usize, tasks: usize) {
    let path = std::path::Path::new("site.yml");
    rep.event(&Event::PlaybookStart { path, plays: 1 });
    let spans: Vec<Span> = (0..tasks).map(|t| span(t + 3)).collect();
    let mut stats = IndexMap::new();
    for b in 0..batches {
        rep.event(&Event::PlayStart {
            name: "deploy",
            strategy: "linear",
            check_mode: false,
        });
        let names: Vec<String> = (0..hosts).map(|h| format!("h{}", b * hosts + h)).collect();
        rep.event(&Event::BatchStart {
            number: b + 1,
            total: batches,
            hosts: &names,
        });
        for (t, sp) in spans.iter().enumerate() {
            let name = format!("task {t}");
            rep.event(&Event::TaskStart {
                name: &name,
                handler: false,
                id: t as u64 + 1,
                origin: sp,
                action: "command",
                args: None,
                check_mode: false,
            });
            for h in &names {
                let status = match (h.as_str(), t) {
                    ("h1", 2) => Status::Failed,
                    (_, t) if t % 2 == 1 => Status::Changed,
                    _ => Status::Ok,
                };
                let msg = format!("{h} did task {t}");
                rep.event(&Event::HostResult {
                    result: &result(h, status, t as u64 + 1, &msg),
                    item: false,
                });
                stats.entry(h.clone()).or_insert_with(HostStats::default).ok += 1;
            }
        }
    }
    rep.event(&Event::Recap { stats: &stats });
}

/// A play `p` and its task `name` (id 1) start.
fn play_and_task(rep: &mut dyn Reporter, name: &str) {
    rep.event(&Event::PlayStart {
        name: "p",
        strategy: "linear",
        check_mode: false,
    });
    rep.event(&Event::TaskStart {
        name,
        handler: false,
        id: 1,
        origin: &span(3),
        action: "command",
        args: None,
        check_mode: false,
    });
}

fn recorded(batches: usize, hosts: usize, tasks: usize) -> RunRecord {
    let mut rec = Recorder::new(Masker::new(), false);
    play_run(&mut rec, batches, hosts, tasks);
    rec.record().clone()
}

#[test]
fn the_batches_of_a_serial_play_are_one_play_with_its_bands() {
    let run = recorded(3, 2, 4);
    assert_eq!(run.plays.len(), 1, "{:?}", run.plays);
    let play = &run.plays[0];
    assert_eq!(play.batches.len(), 3);
    assert_eq!(play.tasks.len(), 12);
    assert_eq!(play.batches[2].hosts, vec!["h4", "h5"]);
    assert!(play.tasks.iter().all(|t| t.results.len() == 2));
    let html = html::render(&run);
    for b in 1..=3 {
        assert!(html.contains(&format!("data-batch=\"{b}/3\"")), "batch {b}");
    }
    assert_eq!(html.matches("class=\"band ").count(), 3);
    for h in 0..6 {
        assert!(html.contains(&format!("<div class=\"row\" data-host=\"h{h}\">")));
    }
    // The failure, with its message, under its task.
    assert!(html.contains("TASK [task 2]"));
    assert!(html.contains("<pre class=\"msg\">h1 did task 2</pre>"));
    // A bar per result: 6 hosts × 4 tasks.
    assert_eq!(html.matches("<i class=\"").count(), 24);
    assert_eq!(html.matches("<i class=\"f\"").count(), 1);
}

#[test]
fn a_vault_secret_never_reaches_the_page_and_text_is_escaped() {
    let masker = Masker::new();
    masker.register("hunter2-secret");
    let mut rec = Recorder::new(masker.clone(), true);
    let path = std::path::Path::new("<b>.yml");
    rec.event(&Event::PlaybookStart { path, plays: 1 });
    rec.event(&Event::PlayStart {
        name: "p <script>",
        strategy: "linear",
        check_mode: false,
    });
    let sp = span(3);
    rec.event(&Event::TaskStart {
        name: "uses hunter2-secret",
        handler: false,
        id: 7,
        origin: &sp,
        action: "command",
        args: None,
        check_mode: false,
    });
    rec.event(&Event::HostResult {
        result: &result("web1", Status::Failed, 7, "bad: hunter2-secret </pre>"),
        item: false,
    });
    let html = html::render(rec.record());
    assert!(!html.contains("hunter2-secret"), "{html}");
    assert!(html.contains(crate::vault::mask::MASK));
    assert!(html.contains("PLAY [p &lt;script&gt;]"));
    assert!(html.contains("bad: ******** &lt;/pre&gt;"));
    assert!(!html.contains("<b>.yml"));
}

#[test]
fn a_diff_is_shown_under_its_changed_task_in_diff_mode() {
    let mut rec = Recorder::new(Masker::new(), true);
    play_and_task(&mut rec, "write config");
    let mut r = result("web1", Status::Changed, 1, "");
    r.result.insert(
        "diff".into(),
        crate::value::from_json(&serde_json::json!({
            "before": "port=80\n", "after": "port=8080\n",
            "before_header": "/etc/app.conf", "after_header": "/etc/app.conf"})),
    );
    rec.event(&Event::HostResult {
        result: &r,
        item: false,
    });
    let html = html::render(rec.record());
    assert!(
        html.contains("<span class=\"del\">-port=80</span>"),
        "{html}"
    );
    assert!(html.contains("<span class=\"add\">+port=8080</span>"));
}

#[test]
fn five_hundred_hosts_by_fifty_tasks_stay_small() {
    let run = recorded(5, 100, 50);
    assert_eq!(
        run.plays[0]
            .tasks
            .iter()
            .map(|t| t.results.len())
            .sum::<usize>(),
        25_000
    );
    let html = html::render(&run);
    // docs/report.sh measures how long a browser takes with this page.
    if let Some(path) = std::env::var_os("BATON_REPORT_SAMPLE") {
        std::fs::write(path, &html).unwrap();
    }
    // Every result's bar is there, and the page stays under 3 MB.
    assert_eq!(html.matches("<i class=\"").count(), 25_000);
    assert!(html.len() < 3_000_000, "{} bytes", html.len());
    assert!(html.contains("data-host=\"h499\""));
    // Changes are grouped per task over its batches: one entry per changed task.
    assert_eq!(html.matches("<details class=\"task changed\">").count(), 25);
}

#[test]
fn a_run_rebuilt_from_its_json_stream_has_the_same_plays_tasks_and_recap() {
    let live = recorded(2, 3, 4);
    let mut buf = Vec::new();
    {
        let mut json = crate::output::json::JsonLines::new(&mut buf, Masker::new());
        play_run(&mut json, 2, 3, 4);
    }
    let text = String::from_utf8(buf).unwrap();
    let rebuilt = RunRecord::from_json_lines(&text, Masker::new());
    assert_eq!(rebuilt.playbooks, live.playbooks);
    assert_eq!(rebuilt.recap, live.recap);
    assert_eq!(rebuilt.plays.len(), 1);
    let (a, b) = (&rebuilt.plays[0], &live.plays[0]);
    assert_eq!(a.batches.len(), b.batches.len());
    assert_eq!(a.tasks.len(), b.tasks.len());
    for (x, y) in a.tasks.iter().zip(&b.tasks) {
        assert_eq!((x.id, &x.name, x.batch), (y.id, &y.name, y.batch));
        let hosts = |t: &TaskRecord| {
            t.results
                .iter()
                .map(|r| (r.host.clone(), r.status))
                .collect::<Vec<_>>()
        };
        assert_eq!(hosts(x), hosts(y));
    }
    assert!(rebuilt.started_unix > 0.0);
    let html = html::render(&rebuilt);
    assert!(html.contains("h1 did task 2"));
}

#[test]
fn loop_items_are_kept_with_their_task_result() {
    let mut rec = Recorder::new(Masker::new(), false);
    play_and_task(&mut rec, "loop");
    for (label, status) in [("a", Status::Ok), ("b", Status::Failed)] {
        let mut r = result("web1", status, 1, "");
        r.item_label = Some(label.into());
        rec.event(&Event::HostResult {
            result: &r,
            item: true,
        });
    }
    rec.event(&Event::HostResult {
        result: &result("web1", Status::Failed, 1, "One or more items failed"),
        item: false,
    });
    let run = rec.record();
    let results = &run.plays[0].tasks[0].results;
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].items,
        vec![
            (StatusWord::Ok, "a".to_string()),
            (StatusWord::Failed, "b".to_string())
        ]
    );
    let html = html::render(run);
    assert!(html.contains("items: b"), "{html}");
}

/// The test's writer: a plain write (the CLI's is atomic).
fn write_plain(
    path: &std::path::Path,
    data: &[u8],
    _mode: Option<u32>,
) -> Result<(), crate::diagnostics::Error> {
    std::fs::write(path, data).map_err(|e| {
        crate::diagnostics::Error::new(crate::diagnostics::ErrorKind::Io, e.to_string())
    })
}

#[test]
fn the_sink_writes_junit_at_the_recap_and_the_report_at_the_end_or_when_dropped() {
    let dir = std::env::temp_dir().join(format!("baton-sink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let outputs = Outputs {
        html: Some(dir.join("run.html")),
        junit: Some(crate::output::junit::Options::from_lookup(
            Some(dir.join("junit.xml")),
            |_| None,
        )),
    };
    let sink = Sink::new(Recorder::new(Masker::new(), false), outputs, write_plain);
    let mut tee = sink.tee(Box::new(crate::exec::events::NullReporter));
    play_run(tee.as_mut(), 1, 2, 3);
    // The recap wrote the JUnit file; the report waits for the end.
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(xml.contains("tests=\"6\""), "{xml}");
    assert!(!dir.join("run.html").exists());
    assert!(sink.finish().is_empty());
    let html = std::fs::read_to_string(dir.join("run.html")).unwrap();
    assert!(html.contains("data-host=\"h1\"") && !html.contains("stopped early"));

    // A run that stops on an error: the report is written when the sink goes, saying so.
    std::fs::remove_file(dir.join("run.html")).unwrap();
    let outputs = Outputs {
        html: Some(dir.join("run.html")),
        junit: None,
    };
    let sink = Sink::new(Recorder::new(Masker::new(), false), outputs, write_plain);
    let mut tee = sink.tee(Box::new(crate::exec::events::NullReporter));
    tee.event(&Event::PlayStart {
        name: "half",
        strategy: "linear",
        check_mode: false,
    });
    drop(tee);
    drop(sink);
    let html = std::fs::read_to_string(dir.join("run.html")).unwrap();
    assert!(html.contains("The run stopped early: the run stopped on an error"));
    assert!(html.contains("PLAY [half]"));
    let _ = std::fs::remove_dir_all(&dir);
}
