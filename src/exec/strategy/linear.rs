//! The `linear` strategy (ansible-core's default): every task runs on all active hosts of the
//! batch at once (bounded by forks), and the next task starts when all have answered. The
//! failure policy ([`super::super::failures`]) is judged after each task.

use super::super::{BatchState, Runner};
use super::{PlayPlan, Strategy};
use crate::connection::BoxFuture;
use crate::diagnostics::Error;

/// Lockstep per task.
pub(in crate::exec) struct Linear;

impl Strategy for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn run_batch<'a>(
        &'a self,
        runner: &'a mut Runner<'_>,
        plan: &'a PlayPlan<'a>,
        state: &'a mut BatchState,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let active = runner.hosts_going(state);
            runner.run_batch_hosts(plan, state, active).await
        })
    }
}
