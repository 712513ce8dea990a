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

/// What every batch of a play runs: the play, the context of its items, and its facts.
pub(super) struct PlayPlan<'a> {
    pub play: &'a Play,
    pub base: Ctx,
    /// Gather facts first.
    pub gather: bool,
    /// The implicit fact gathering: one task for the whole play (one banner under free).
    pub setup: Arc<Task>,
}

/// A way of running one batch of a play.
pub(super) trait Strategy: Sync {
    /// The name the play banner shows (`linear` or `free`).
    fn name(&self) -> &'static str;

    /// Runs the batch `state` describes: facts, the play's sections and their handlers.
    fn run_batch<'a>(
        &'a self,
        runner: &'a mut Runner<'_>,
        plan: &'a PlayPlan<'a>,
        state: &'a mut BatchState,
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

    use crate::exec::testkit;

    const TWO_TASKS: &str = r#"
- hosts: all
  gather_facts: false
  STRATEGY
  any_errors_fatal: true
  tasks:
    - name: one
      fail: msg=no
      when: inventory_hostname == 'h1'
    - name: two
      debug: msg=two
"#;

    #[test]
    fn linear_runs_each_task_on_every_host_before_the_next_and_applies_the_policy() {
        let ran = testkit::play(&TWO_TASKS.replace("STRATEGY", "strategy: linear"), 3);
        let play = ran.lines.iter().find(|l| l.starts_with("play "));
        assert!(
            play.is_some_and(|l| l.ends_with("(linear)")),
            "{:?}",
            ran.lines
        );
        let two = ran.lines.iter().position(|l| l == "task two");
        // any_errors_fatal: h1's failure stops the others before task two.
        assert_eq!(two, None, "{:?}", ran.lines);
        let results = ran
            .lines
            .iter()
            .filter(|l| l.ends_with(" h2") || l.ends_with(" h3"))
            .count();
        assert_eq!(results, 2);
    }

    #[test]
    fn free_lets_each_host_go_on_its_own_and_only_warns_of_the_policy() {
        let ran = testkit::play(&TWO_TASKS.replace("STRATEGY", "strategy: free"), 3);
        let play = ran.lines.iter().find(|l| l.starts_with("play "));
        assert!(
            play.is_some_and(|l| l.ends_with("(free)")),
            "{:?}",
            ran.lines
        );
        assert!(
            ran.lines
                .iter()
                .any(|l| l.starts_with("warning Using any_errors_fatal with the free strategy"))
        );
        let mut two = ran.hosts_all("two", "ok");
        two.sort();
        assert_eq!(two, ["h2", "h3"]);
        assert_eq!(ran.outcome.exit_code, 2);
    }

    #[test]
    fn free_ends_the_batch_for_every_lane_on_end_play() {
        let book = r#"
- hosts: all
  gather_facts: false
  strategy: free
  serial: 2
  tasks:
    - meta: end_play
      when: inventory_hostname == 'h1'
    - name: after
      debug: msg=after
"#;
        let ran = testkit::play(book, 3);
        assert_eq!(
            ran.lines.iter().filter(|l| l.starts_with("batch ")).count(),
            1
        );
        assert_eq!(ran.outcome.exit_code, 0);
    }
}
