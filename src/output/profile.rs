//! The aggregate callbacks baton has built in, written as ansible.posix's write them when
//! `callbacks_enabled` names them: `profile_tasks` (a timestamp line under each task's banner
//! with the time the previous task took and the time so far, then the TASKS RECAP of the
//! slowest tasks) and `timer` (the PLAYBOOK RECAP with the run's length).
//!
//! [`Aggregate`] wraps the stdout reporter: each event goes to it first, then to the enabled
//! callbacks in `callbacks_enabled`'s order, as ansible-core's task queue manager calls the
//! stdout callback before the others.

use super::options::{Callback, ProfileOptions, SortOrder};
use crate::exec::events::{Event, Reporter};
use indexmap::IndexMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// The stdout reporter and the aggregate callbacks after it.
pub struct Aggregate<W: Write + Send> {
    inner: Box<dyn Reporter>,
    out: crate::vault::mask::Masked<W>,
    callbacks: Vec<Active>,
    verbosity: u8,
}

enum Active {
    Profile(Profile),
    Timer(Instant),
}

impl<W: Write + Send> Aggregate<W> {
    pub fn new(
        inner: Box<dyn Reporter>,
        out: W,
        masker: std::sync::Arc<crate::vault::Masker>,
        callbacks: &[Callback],
        verbosity: u8,
    ) -> Self {
        let now = Instant::now();
        Aggregate {
            inner,
            out: crate::vault::mask::Masked::new(out, masker),
            callbacks: callbacks
                .iter()
                .map(|c| match c {
                    Callback::ProfileTasks(opts) => {
                        Active::Profile(Profile::new(opts.clone(), now))
                    }
                    Callback::Timer => Active::Timer(now),
                })
                .collect(),
            verbosity,
        }
    }
}

impl<W: Write + Send> Reporter for Aggregate<W> {
    fn event(&mut self, event: &Event<'_>) {
        self.inner.event(event);
        let mut text = String::new();
        for callback in &mut self.callbacks {
            match (callback, event) {
                (
                    Active::Profile(p),
                    Event::TaskStart {
                        name, id, origin, ..
                    },
                ) => {
                    let path = (self.verbosity >= 2).then(|| task_path(origin));
                    text.push_str(&p.task_start(*id, name, path, Instant::now()));
                }
                (Active::Profile(p), Event::Recap { .. }) => {
                    text.push_str(&p.recap(Instant::now()));
                }
                (Active::Timer(start), Event::Recap { .. }) => {
                    text.push_str(&super::human::banner_line("PLAYBOOK RECAP"));
                    text.push_str(&format!(
                        "Playbook run took {}\n\r\n",
                        days_hours_minutes_seconds(start.elapsed())
                    ));
                }
                _ => {}
            }
        }
        if !text.is_empty() {
            let _ = self.out.write_all(text.as_bytes());
            let _ = self.out.flush();
        }
    }
}

/// `task.get_path()`: the absolute file and the line the task starts on.
fn task_path(origin: &crate::diagnostics::Span) -> String {
    let path = std::path::absolute(&origin.source.name)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| origin.source.name.clone());
    format!("{path}:{}", origin.start.line)
}

/// timer's `0 days, 0 hours, 0 minutes, 2 seconds` (whole seconds).
fn days_hours_minutes_seconds(d: Duration) -> String {
    let s = d.as_secs();
    format!(
        "{} days, {} hours, {} minutes, {} seconds",
        s / 86_400,
        (s % 86_400) / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// One task's time, as profile_tasks keeps it.
struct TaskTime {
    name: String,
    started: Instant,
    elapsed: Duration,
    path: Option<String>,
}

/// profile_tasks' state: when the run and the last timestamp line were, and every task's
/// time (a task met again, in another batch or as a handler run again, adds to its own).
struct Profile {
    opts: ProfileOptions,
    t0: Instant,
    tn: Instant,
    tasks: IndexMap<u64, TaskTime>,
    current: Option<u64>,
}

/// Terminal columns as ansible's display counts them when not on a terminal.
const COLUMNS: usize = 79;

impl Profile {
    fn new(opts: ProfileOptions, now: Instant) -> Profile {
        Profile {
            opts,
            t0: now,
            tn: now,
            tasks: IndexMap::new(),
            current: None,
        }
    }

    /// The line with the time now, the time since the last line and since the start.
    fn tasktime(&mut self, now: Instant) -> String {
        let line = format!(
            "{} ({}){}{}",
            local_time_now(),
            seconds_to_str(now - self.tn),
            " ".repeat(7),
            seconds_to_str(now - self.t0)
        );
        self.tn = now;
        filled(&line, '*')
    }

    /// The current task's time runs up to now.
    fn stop_current(&mut self, now: Instant) {
        if let Some(t) = self.current.and_then(|id| self.tasks.get_mut(&id)) {
            t.elapsed += now.saturating_duration_since(t.started);
        }
    }

    fn task_start(&mut self, id: u64, name: &str, path: Option<String>, now: Instant) -> String {
        let mut text = String::new();
        if !self.opts.summary_only {
            text = self.tasktime(now) + "\n";
        }
        self.stop_current(now);
        self.current = Some(id);
        let entry = self.tasks.entry(id).or_insert_with(|| TaskTime {
            name: name.to_string(),
            started: now,
            elapsed: Duration::ZERO,
            path: None,
        });
        entry.started = now;
        if path.is_some() {
            entry.path = path;
        }
        text
    }

    fn recap(&mut self, now: Instant) -> String {
        let mut text = super::human::banner_line("TASKS RECAP");
        text.push_str(&self.tasktime(now));
        text.push('\n');
        text.push_str(&filled("", '='));
        text.push('\n');
        self.stop_current(now);
        self.current = None;
        let mut tasks: Vec<&TaskTime> = self.tasks.values().collect();
        match self.opts.sort_order {
            SortOrder::None => {}
            // Python's sort is stable, reversed or not.
            SortOrder::Ascending => tasks.sort_by_key(|t| t.elapsed),
            SortOrder::Descending => tasks.sort_by_key(|t| std::cmp::Reverse(t.elapsed)),
        }
        if let Some(limit) = self.opts.output_limit {
            tasks.truncate(limit);
        }
        for t in tasks {
            let name = format!("{} ", t.name);
            let secs = format!(" {:.2}s", t.elapsed.as_secs_f64());
            text.push_str(&format!(
                "{}{}\n",
                pad_right(&name, COLUMNS - 9, '-'),
                pad_left(&secs, 9, '-')
            ));
            if let Some(path) = &t.path {
                text.push_str(&pad_right(&format!("{path} "), COLUMNS, '-'));
                text.push('\n');
            }
        }
        text
    }
}

fn pad_right(s: &str, width: usize, fill: char) -> String {
    let n = s.chars().count();
    format!("{s}{}", fill.to_string().repeat(width.saturating_sub(n)))
}

fn pad_left(s: &str, width: usize, fill: char) -> String {
    let n = s.chars().count();
    format!("{}{s}", fill.to_string().repeat(width.saturating_sub(n)))
}

/// profile_tasks' `filled`: the text, a space, stars (or `fill`) to column 79 (at least 3),
/// and a space.
fn filled(msg: &str, fill: char) -> String {
    let (msg, width) = if msg.is_empty() {
        (String::new(), 79)
    } else {
        let m = format!("{msg} ");
        let w = 79usize.saturating_sub(m.chars().count());
        (m, w)
    };
    format!("{msg}{} ", fill.to_string().repeat(width.max(3)))
}

/// `H:MM:SS.mmm`, milliseconds cut, not rounded (profile_tasks' `secondsToStr`).
fn seconds_to_str(d: Duration) -> String {
    let ms = d.as_millis();
    format!(
        "{}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000
    )
}

/// `time.strftime('%A %d %B %Y  %H:%M:%S %z')` in the local time zone.
fn local_time_now() -> String {
    // SAFETY: localtime_r and strftime write only into the buffers given, which outlive the
    // calls; the format is a NUL-terminated constant.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return String::new();
        }
        let mut buf = [0u8; 128];
        let n = libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%A %d %B %Y  %H:%M:%S %z".as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_lines_as_ansible_posix_writes_them() {
        assert_eq!(
            seconds_to_str(Duration::from_millis(3_723_456)),
            "1:02:03.456"
        );
        assert_eq!(seconds_to_str(Duration::from_micros(58_999)), "0:00:00.058");
        let line = filled(
            "Monday 07 December 2026  22:48:41 +0000 (0:00:00.058)       0:00:00.105",
            '*',
        );
        assert_eq!(
            line,
            "Monday 07 December 2026  22:48:41 +0000 (0:00:00.058)       0:00:00.105 ******* "
        );
        assert_eq!(filled("", '='), format!("{} ", "=".repeat(79)));
        assert_eq!(
            days_hours_minutes_seconds(Duration::from_secs(90_061)),
            "1 days, 1 hours, 1 minutes, 1 seconds"
        );
        let t0 = Instant::now();
        let mut p = Profile::new(
            ProfileOptions {
                output_limit: Some(2),
                sort_order: SortOrder::Descending,
                summary_only: true,
            },
            t0,
        );
        assert_eq!(p.task_start(1, "one", None, t0), "");
        p.task_start(
            2,
            "two",
            Some("/p.yml:7".into()),
            t0 + Duration::from_millis(10),
        );
        p.task_start(3, "three", None, t0 + Duration::from_millis(1790));
        let recap = p.recap(t0 + Duration::from_millis(1820));
        let lines: Vec<&str> = recap.lines().collect();
        assert_eq!(
            lines[1],
            "TASKS RECAP ********************************************************************"
        );
        assert!(
            lines[2].contains("(0:00:01.820)       0:00:01.820 *") && lines[2].ends_with("* "),
            "{recap}"
        );
        assert_eq!(
            &lines[4..],
            [
                "two --------------------------------------------------------------------- 1.78s",
                "/p.yml:7 ----------------------------------------------------------------------",
                "three ------------------------------------------------------------------- 0.03s",
            ]
        );
    }
}
