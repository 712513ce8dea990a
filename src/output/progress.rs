//! A progress bar for interactive runs: which batch of the rollout is running, which task,
//! and how many hosts of the batch have answered, drawn with indicatif on stderr.
//!
//! It wraps another reporter and suspends the bar while that reporter prints (and asks, for
//! `vars_prompt` and `--step`), so the usual TASK/ok/changed lines scroll above it undisturbed;
//! log lines get the same treatment through the [`super::log::Console`] the bar is attached
//! to. The CLI uses it only when stderr is a terminal; in CI and pipes the output is exactly
//! ansible-playbook's.
//!
//! Under the `free` strategy hosts are at different tasks, so "hosts done with this task" means
//! nothing: the bar then counts the batch's results and names the task started last.

use crate::exec::events::{Event, Reporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// A reporter that draws a progress bar and passes every event on.
pub struct Progress {
    inner: Box<dyn Reporter>,
    bar: ProgressBar,
    batch: String,
    console: std::sync::Arc<super::log::Console>,
    /// The play runs under the free strategy.
    free: bool,
}

fn bar_style(free: bool) -> ProgressStyle {
    let template = if free {
        "{spinner} {msg} · {pos} results"
    } else {
        "{spinner} {msg} [{bar:24}] {pos}/{len} hosts"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Progress {
    pub fn new(inner: Box<dyn Reporter>, console: std::sync::Arc<super::log::Console>) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(bar_style(false));
        bar.enable_steady_tick(Duration::from_millis(120));
        console.attach(&bar);
        Progress {
            inner,
            bar,
            batch: String::new(),
            console,
            free: false,
        }
    }
}

impl Reporter for Progress {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::PlayStart { strategy, .. } => {
                let free = matches!(*strategy, "free" | "host_pinned");
                if free != self.free {
                    self.free = free;
                    self.bar.set_style(bar_style(free));
                }
            }
            Event::BatchStart {
                number,
                total,
                hosts,
            } => {
                self.batch = format!("batch {number}/{total}");
                self.bar.set_length(hosts.len() as u64);
                self.bar.set_position(0);
            }
            Event::TaskStart { name, .. } => {
                if !self.free {
                    self.bar.set_position(0);
                }
                self.bar.set_message(format!("{} · {name}", self.batch));
            }
            Event::HostResult { item: false, .. } => self.bar.inc(1),
            _ => {}
        }
        let inner = &mut self.inner;
        self.bar.suspend(|| inner.event(event));
        if matches!(event, Event::Recap { .. }) {
            self.console.detach();
            self.bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.console.detach();
        self.bar.finish_and_clear();
    }
}
