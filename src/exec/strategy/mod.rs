//! The strategy room: how the hosts of a batch move through a play, as ansible-core's strategy
//! plugins decide it. [`Linear`] runs each task on every host in lockstep; [`Free`] lets each
//! host run on its own lane. Both run the same play room ([`Runner::run_batch_hosts`]) and the
//! same task room; they differ in which hosts walk it together and in what the failure policy
//! may do meanwhile.

mod free;
mod linear;

use super::{BatchState, Ctx, Runner};
use crate::connection::BoxFuture;
use crate::diagnostics::Error;
use crate::playbook::{Play, Task};
use std::sync::Arc;

pub(super) use free::{Free, LaneShared};
pub(super) use linear::Linear;

/// A way of running one batch of a play.
pub(super) trait Strategy: Sync {
    /// The name the play banner shows (`linear` or `free`).
    fn name(&self) -> &'static str;

    /// Runs the batch `state` describes: facts, the play's sections and their handlers.
    fn run_batch<'a>(
        &'a self,
        runner: &'a mut Runner<'_>,
        play: &'a Play,
        state: &'a mut BatchState,
        base: &'a Ctx,
        gather: bool,
        setup: &'a Arc<Task>,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// The strategy a play names (`ansible.builtin.` / `ansible.legacy.` prefixes allowed);
/// `host_pinned` is `free` with pinned workers, the same rules for what runs. The error is the
/// name that is not one.
pub(super) fn by_name(name: &str) -> Result<&'static dyn Strategy, String> {
    match name
        .trim_start_matches("ansible.builtin.")
        .trim_start_matches("ansible.legacy.")
    {
        "linear" => Ok(&Linear),
        "free" | "host_pinned" => Ok(&Free),
        other => Err(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_name_linear_free_or_host_pinned_with_or_without_a_collection() {
        for (name, want) in [
            ("linear", "linear"),
            ("ansible.builtin.linear", "linear"),
            ("free", "free"),
            ("ansible.legacy.free", "free"),
            ("host_pinned", "free"),
            ("ansible.builtin.host_pinned", "free"),
        ] {
            assert_eq!(by_name(name).map(|s| s.name()), Ok(want), "{name}");
        }
        assert_eq!(by_name("debug").err().as_deref(), Some("debug"));
        assert_eq!(
            by_name("community.general.mitogen").err().as_deref(),
            Some("community.general.mitogen")
        );
    }
}
