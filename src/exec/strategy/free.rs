//! The `free` strategy (and `host_pinned`, which runs by the same rules): each host of a batch
//! goes through the play on its own, in a lane, as fast as it can, as ansible-core's free
//! strategy plugin runs it.
//!
//! Owns the lanes: a [`Runner`] per host sharing the run's variables, connections, forks
//! ([`Runner::workers`]) and reporter ([`LaneReporter`], one event at a time), the state the
//! lanes share ([`LaneShared`]: `end_batch`/`end_play` on one host ends the batch for all, a
//! failed `run_once` task fails them all, the hosts gone leave `ansible_play_hosts`), and the
//! merge of each lane's counters into the run's afterwards. `max_fail_percentage`,
//! `any_errors_fatal` and `run_once` only warn here; the whole-batch stop still applies.

use super::super::events::{Event, Reporter};
use super::super::{BatchState, Runner};
use super::{PlayPlan, Strategy};
use crate::connection::BoxFuture;
use crate::diagnostics::Error;

use indexmap::IndexMap;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// A lane per host.
pub(in crate::exec) struct Free;

impl Strategy for Free {
    fn name(&self) -> &'static str {
        "free"
    }

    fn run_batch<'a>(
        &'a self,
        runner: &'a mut Runner<'_>,
        plan: &'a PlayPlan<'a>,
        state: &'a mut BatchState,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(runner.run_batch_free(plan, state))
    }
}

/// What the hosts of a batch under the `free` strategy share while each runs on its own.
#[derive(Default)]
pub(in crate::exec) struct LaneShared {
    /// `meta: end_batch` / `end_play` on one host ends the batch for all.
    pub(in crate::exec) end_batch: std::sync::atomic::AtomicBool,
    pub(in crate::exec) end_play: std::sync::atomic::AtomicBool,
    /// Hosts that failed or went unreachable: they leave `ansible_play_hosts`.
    pub(in crate::exec) removed: std::sync::Mutex<HashSet<String>>,
    /// A `run_once` task failed: every host of the batch has failed.
    pub(in crate::exec) fail_all: std::sync::atomic::AtomicBool,
    /// `throttle`: per task (by id), the slots its hosts share across the lanes.
    pub(in crate::exec) throttles:
        std::sync::Mutex<std::collections::HashMap<u64, Arc<tokio::sync::Semaphore>>>,
}

/// A reporter shared by the lanes of a `free` batch: each event goes to the run's reporter
/// whole, under a lock, so lines of different hosts never mix.
pub(super) struct LaneReporter<'a, 'm, R: Reporter + ?Sized> {
    shared: &'a std::sync::Mutex<&'m mut R>,
}

/// Polls every future to completion on the current task; the outputs in order.
pub(super) async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (slot, out) in pending.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

impl<R: Reporter + ?Sized> Reporter for LaneReporter<'_, '_, R> {
    fn event(&mut self, event: &Event<'_>) {
        let mut r = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        r.event(event);
    }
}

impl BatchState {
    /// A copy for one host's lane under the `free` strategy.
    pub(super) fn lane(&self, shared: &Arc<LaneShared>) -> BatchState {
        BatchState {
            free: true,
            shared: Some(shared.clone()),
            ..BatchState::new(
                self.batch.clone(),
                self.all_hosts.clone(),
                None,
                self.force_handlers,
                self.handlers.clone(),
            )
        }
    }
}

impl Runner<'_> {
    /// A batch under the `free` strategy, as ansible-core's free strategy runs it: each host
    /// goes through the play (facts, sections, its own handlers) as fast as it can, without
    /// waiting for the others; forks bound how many tasks run at once. Each host runs in a
    /// lane of its own (a runner with its own counters, merged afterwards) and the lanes share
    /// the reporter, the forks and the end of the batch. `max_fail_percentage`,
    /// `any_errors_fatal` and `run_once` only warn; the whole-batch stop still applies.
    pub(super) async fn run_batch_free(
        &mut self,
        plan: &PlayPlan<'_>,
        state: &mut BatchState,
    ) -> Result<(), Error> {
        if state.max_fail_percentage.is_some() {
            self.warn_once(
                "Using max_fail_percentage with the free strategy is not supported, as tasks are executed independently on each host",
            );
        }
        let active = self.hosts_going(state);
        if active.is_empty() {
            return Ok(());
        }
        let shared = Arc::new(LaneShared::default());
        let workers = Arc::new(Semaphore::new(self.opts.forks.max(1)));
        let mut states: Vec<BatchState> = active.iter().map(|_| state.lane(&shared)).collect();
        let reporter = std::sync::Mutex::new(&mut *self.reporter);
        let mut lane_reporters: Vec<LaneReporter<'_, '_, _>> = active
            .iter()
            .map(|_| LaneReporter { shared: &reporter })
            .collect();
        let mut lanes: Vec<Runner<'_>> = lane_reporters
            .iter_mut()
            .map(|r| Runner {
                opts: self.opts.clone(),
                store: self.store.clone(),
                pool: self.pool.clone(),
                reporter: r,
                stats: IndexMap::new(),
                failed: self.failed.clone(),
                unreachable: self.unreachable.clone(),
                removed: self.removed.clone(),
                stopped: false,
                loader: self.loader.clone(),
                role_ran: self.role_ran.clone(),
                started: self.started,
                unreachable_at: self.unreachable_at.clone(),
                resume_after: None,
                step_off: self.step_off,
                play_dir: self.play_dir.clone(),
                play_roles: self.play_roles.clone(),
                warned: self.warned.clone(),
                template_warnings: self.template_warnings.clone(),
                workers: Some(workers.clone()),
            })
            .collect();
        let runs: Vec<_> = lanes
            .iter_mut()
            .zip(states.iter_mut())
            .zip(active.iter())
            .map(|((lane, st), host)| lane.run_batch_hosts(plan, st, vec![host.clone()]))
            .collect();
        let results = join_all(runs).await;
        for lane in &lanes {
            for (host, s) in &lane.stats {
                let t = self.stats.entry(host.clone()).or_default();
                t.ok += s.ok;
                t.changed += s.changed;
                t.unreachable += s.unreachable;
                t.failed += s.failed;
                t.skipped += s.skipped;
                t.rescued += s.rescued;
                t.ignored += s.ignored;
            }
            self.failed.extend(lane.failed.iter().cloned());
            self.unreachable.extend(lane.unreachable.iter().cloned());
            self.removed.extend(lane.removed.iter().cloned());
            for (role, hosts) in &lane.role_ran {
                self.role_ran
                    .entry(role.clone())
                    .or_default()
                    .extend(hosts.iter().cloned());
            }
            self.started |= lane.started;
            self.step_off |= lane.step_off;
        }
        drop(lanes);
        drop(lane_reporters);
        for st in &states {
            state.batch_failed.extend(st.batch_failed.iter().cloned());
            state.ended.extend(st.ended.iter().cloned());
        }
        state.end_play = shared.end_play.load(std::sync::atomic::Ordering::SeqCst);
        state.end_batch = shared.end_batch.load(std::sync::atomic::Ordering::SeqCst);
        if shared.fail_all.load(std::sync::atomic::Ordering::SeqCst) {
            for h in &active {
                if !self.unreachable.contains(h) {
                    self.failed.insert(h.clone());
                    state.batch_failed.insert(h.clone());
                }
            }
        }
        for r in results {
            r?;
        }
        // Every host of the batch unreachable: ansible-core's free strategy finds no host left.
        if active.iter().all(|h| self.unreachable.contains(h)) {
            self.reporter.event(&Event::PlayAborted {
                reason: "NO MORE HOSTS LEFT",
            });
        }
        Ok(())
    }
}
