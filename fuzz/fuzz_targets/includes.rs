//! A playbook and the task files it includes, run: the input is up to four files separated by
//! NUL bytes (`play.yml`, then `a.yml`, `b.yml`, `c.yml`), written to a private directory and run
//! by the executor on localhost with the local connection. Includes that include themselves,
//! each other, twice, under `rescue` or `ignore_errors`, or nest deep before they end (see
//! fuzz/seeds/includes) must end with a result or an error and the recap, never a panic or a
//! stack overflow.
//!
//! The run is real, so only harmless tasks may run: every file must read as a playbook or a
//! tasks file whose actions are on [`HARMLESS`], and the text must hold nothing of
//! [`REFUSED_TEXT`]: no fact gathering, no lookup (`pipe` runs a command), no `/` (an include or
//! a file outside the directory), nothing that waits (`until`, `pause`), and no template that
//! makes a large value in one step (`'x' * 10**9`, `center(1000000000)`). A recursion that
//! doubles a value at each level (`s: "{{ s }}{{ s }}"`) grows exponentially in Ansible too:
//! a watchdog interrupts such a run as a user would (Ctrl-C: no new task starts, the recap
//! follows) once it has used [`MAX_GROWTH`] more memory or [`MAX_TIME`].
#![no_main]

use baton::exec::{self, Options, events::NullReporter};
use baton::inventory::Inventory;
use baton::playbook::load::{ItemCtx, Loader, load_tasks_file};
use baton::playbook::{Item, Play};
use baton::value::Vars;
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const FILES: [&str; 4] = ["play.yml", "a.yml", "b.yml", "c.yml"];

/// Actions that touch nothing outside the run.
const HARMLESS: &[&str] = &[
    "debug",
    "set_fact",
    "assert",
    "fail",
    "meta",
    "include_tasks",
    "import_tasks",
    "include_vars",
];

/// Text that could reach outside the run, make it wait, or build a huge value in one step.
const REFUSED_TEXT: &[&str] = &[
    "/", "lookup", "query", "q(", "until", "retries", "delay", "pause", "wait", "async", "poll",
    "gather", "prompt", "delegate", "role", "*", "%", "range", "format", "center", "just",
    "indent", "sequence", "lipsum", "random", "wordwrap",
];

/// More memory than this, or more time, and the watchdog interrupts the run.
const MAX_GROWTH: u64 = 256 << 20;
const MAX_TIME: Duration = Duration::from_secs(5);

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("baton-fuzz-includes-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("a scratch directory");
        d
    })
}

fn harmless_items(items: &[Item]) -> bool {
    items.iter().all(|item| match item {
        Item::Task(t) => HARMLESS.contains(&t.action.as_str()),
        Item::Block(b) => {
            b.role.is_none()
                && harmless_items(&b.block)
                && harmless_items(&b.rescue)
                && harmless_items(&b.always)
        }
    })
}

fn harmless_play(p: &Play) -> bool {
    p.roles.is_empty()
        && p.vars_files.is_empty()
        && p.gather_facts.is_none()
        && [&p.pre_tasks, &p.tasks, &p.post_tasks, &p.handlers]
            .iter()
            .all(|s| harmless_items(s))
}

/// Large numbers make large values (`center(100000000)`).
fn has_long_number(text: &str) -> bool {
    text.as_bytes()
        .split(|b| !b.is_ascii_digit())
        .any(|run| run.len() > 5)
}

/// The resident memory of this process, in bytes.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn run_files(dir: &Path, texts: &[&str]) {
    for (name, text) in FILES.iter().zip(texts) {
        std::fs::write(dir.join(name), text).expect("writes");
    }
    for name in FILES.iter().skip(texts.len()) {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let play_path = dir.join("play.yml");
    let book = match baton::playbook::load(&play_path) {
        Ok(b) => b,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    if !book.plays.iter().all(harmless_play) {
        return;
    }
    // Every other file as the tasks file an include would read.
    let loader = Loader::for_playbook(&play_path);
    for name in FILES.iter().take(texts.len()).skip(1) {
        let ctx = ItemCtx {
            loader: &loader,
            dir: dir.to_path_buf(),
            role: None,
            handler: false,
            depth: 0,
        };
        if let Ok(items) = load_tasks_file(&dir.join(name), &ctx)
            && !harmless_items(&items)
        {
            return;
        }
    }
    let Ok(inventory) = Inventory::load(&["localhost,".to_string()]) else {
        return;
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let opts = Options {
        gathering: "explicit".into(),
        forks: 1,
        connection: Some("local".into()),
        interrupted: interrupted.clone(),
        ..Options::default()
    };
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        // The watchdog: Ctrl-C for a run that grows or lasts too long.
        s.spawn(|| {
            let start = Instant::now();
            let base = rss();
            while !done.load(Ordering::SeqCst) {
                if start.elapsed() > MAX_TIME || rss().saturating_sub(base) > MAX_GROWTH {
                    interrupted.store(true, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        // The executor recurses once per include level: as baton's command line does, it runs
        // on a thread with a large stack.
        let runner = std::thread::Builder::new()
            .stack_size(512 << 20)
            .spawn_scoped(s, || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                let mut reporter = NullReporter;
                let outcome = runtime.block_on(exec::run(
                    &book,
                    Arc::new(inventory),
                    Vars::new(),
                    opts,
                    &mut reporter,
                ));
                if let Err(e) = outcome {
                    let _ = e.to_string();
                }
            })
            .expect("a thread");
        let joined = runner.join();
        done.store(true, Ordering::SeqCst);
        if let Err(panic) = joined {
            std::panic::resume_unwind(panic);
        }
    });
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if REFUSED_TEXT.iter().any(|r| text.contains(r)) || has_long_number(text) {
        return;
    }
    let texts: Vec<&str> = text.split('\0').take(FILES.len()).collect();
    run_files(dir(), &texts);
});
