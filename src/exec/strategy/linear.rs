//! The `linear` strategy (ansible-core's default): every task runs on all active hosts of the
//! batch at once (bounded by forks), and the next task starts when all have answered. The
//! failure policy ([`super::super::failures`]) is judged after each task.

use super::super::{BatchState, Ctx, Runner};
use super::Strategy;
use crate::connection::BoxFuture;
use crate::diagnostics::Error;
use crate::playbook::{Play, Task};
use std::sync::Arc;

/// Lockstep per task.
pub(in crate::exec) struct Linear;

impl Strategy for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn run_batch<'a>(
        &'a self,
        runner: &'a mut Runner<'_>,
        play: &'a Play,
        state: &'a mut BatchState,
        base: &'a Ctx,
        gather: bool,
        setup: &'a Arc<Task>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(runner.run_batch(play, state, base, gather, setup))
    }
}

impl Runner<'_> {
    pub(super) async fn run_batch(
        &mut self,
        play: &Play,
        state: &mut BatchState,
        base: &Ctx,
        gather: bool,
        setup: &Arc<Task>,
    ) -> Result<(), Error> {
        let active: Vec<String> = state
            .batch
            .iter()
            .filter(|h| !self.failed.contains(*h) && !self.unreachable.contains(*h))
            .cloned()
            .collect();
        self.run_batch_hosts(play, state, base, gather, setup, active)
            .await
    }
}
