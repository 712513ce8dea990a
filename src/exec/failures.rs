//! The failure accounting room: what a failed or unreachable host does to its batch, its play
//! and the run, as ansible-core's linear strategy and PlaybookExecutor decide it.
//!
//! - `any_errors_fatal` (play, block or task keyword; `run_once` implies it, `ignore_errors`
//!   suppresses it): a failed OR unreachable host marks every host left in the batch failed.
//! - `max_fail_percentage`: after each task, the hosts failed in this batch (counted afresh per
//!   batch; unreachable hosts and rescued failures apart) over the batch size, STRICTLY greater
//!   than the percentage, marks the rest failed and stops later batches and plays.
//! - The whole-batch stop: when the hosts newly failed or unreachable in a batch are the whole
//!   batch, no later batch or play runs, whatever the percentage.
//! - The exit status of the run.
//!
//! The rules are pure functions ([`after_task`], [`batch_all_failed`], [`exit_code`]) tested
//! here; [`Runner::apply_failure_policy`] applies their verdict to the run's state. Under the
//! `free` strategy no per-task policy applies (ansible-core's free strategy warns instead).

use super::events::Event;
use super::keywords::inherited_flag;
use super::{BatchState, Ctx, Runner};
use std::collections::HashSet;

/// What a task left behind in a batch, for the policy to judge.
#[derive(Debug, Clone, Copy)]
pub(super) struct TaskFailures<'a> {
    /// `any_errors_fatal` in force for this task (already with `run_once` and `ignore_errors`).
    pub any_errors_fatal: bool,
    pub max_fail_percentage: Option<f64>,
    pub batch_size: usize,
    /// Hosts whose result failed (ignored failures aside).
    pub failed_now: &'a [String],
    pub unreachable_now: &'a [String],
    /// The batch less its unreachable hosts, taken before the task ran (ansible's `hosts_left`).
    pub hosts_left: &'a [String],
    /// The task ran on at least one host (max_fail_percentage is checked only then).
    pub had_results: bool,
    /// max_fail_percentage tripped earlier in this batch.
    pub broke_play_before: bool,
}

/// What the policy decided after a task.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Verdict {
    /// Hosts to mark failed (in the run and in the batch) on top of those that failed.
    pub mark_failed: Vec<String>,
    /// max_fail_percentage tripped: "NO MORE HOSTS LEFT", no later batch or play runs.
    pub max_fail_tripped: bool,
    /// The batch is over: the play broke and every host left has failed.
    pub batch_over: bool,
}

/// The policy after one task: `batch_failed` is the batch's failed hosts so far (with this
/// task's counted failures).
pub(super) fn after_task(t: &TaskFailures<'_>, batch_failed: &HashSet<String>) -> Verdict {
    let mut v = Verdict::default();
    let rest: Vec<String> = t
        .hosts_left
        .iter()
        .filter(|h| !t.failed_now.contains(h))
        .cloned()
        .collect();
    let mut failed: HashSet<&String> = batch_failed.iter().collect();
    if t.any_errors_fatal && (!t.failed_now.is_empty() || !t.unreachable_now.is_empty()) {
        failed.extend(rest.iter());
        v.mark_failed = rest.clone();
    }
    if let Some(pct) = t.max_fail_percentage.filter(|_| t.had_results)
        && max_fail_exceeded(failed.len(), t.batch_size, pct)
    {
        for h in &rest {
            failed.insert(h);
            if !v.mark_failed.contains(h) {
                v.mark_failed.push(h.clone());
            }
        }
        v.max_fail_tripped = true;
    }
    v.batch_over =
        (t.broke_play_before || v.max_fail_tripped) && failed.len() >= t.hosts_left.len();
    v
}

/// `max_fail_percentage`: the failed share of the batch is strictly greater than `pct`%.
pub(super) fn max_fail_exceeded(failed: usize, batch_size: usize, pct: f64) -> bool {
    failed as f64 / batch_size.max(1) as f64 > pct / 100.0
}

/// ansible-playbook's stop after a batch: the hosts newly failed or unreachable in it (a host
/// in both counted twice, as Ansible counts them) are exactly the batch's size.
pub(super) fn batch_all_failed(newly_failed_or_unreachable: usize, batch_size: usize) -> bool {
    newly_failed_or_unreachable == batch_size
}

/// ansible-playbook's exit status: 99 interrupted, 4 a host is unreachable (even when others
/// failed), 2 a host is failed or a policy stopped the run, else 0. Like ansible-core, it is
/// the hosts' state at the end that counts, not the recap: `meta: clear_host_errors` forgives.
pub(super) fn exit_code(
    interrupted: bool,
    stopped: bool,
    any_unreachable: bool,
    any_failed: bool,
) -> i32 {
    if interrupted {
        99
    } else if any_unreachable {
        4
    } else if stopped || any_failed {
        2
    } else {
        0
    }
}

impl Runner<'_> {
    /// After a task, ansible-core's linear strategy, step by step: `any_errors_fatal` (which
    /// `run_once` implies) marks every host left failed when a host failed or went
    /// unreachable; `max_fail_percentage` compares the batch's failed hosts with the batch size
    /// (strictly greater), marks the rest failed and stops later plays; the batch then ends
    /// when every host left has failed.
    /// A host fails for good in this play: a failure no `rescue` catches. It leaves the play's
    /// hosts (`ansible_play_hosts`), counts for `max_fail_percentage`, and later plays leave it
    /// out.
    pub(super) fn fail_host(&mut self, state: &mut BatchState, host: &str) {
        self.failed.insert(host.to_string());
        state.batch_failed.insert(host.to_string());
        self.removed.insert(host.to_string());
    }

    /// After a task, ansible-core's linear strategy, step by step: `any_errors_fatal` (which
    /// `run_once` implies) marks every host left failed when a host failed or went
    /// unreachable; `max_fail_percentage` compares the batch's failed hosts with the batch size
    /// (strictly greater), marks the rest failed and stops later plays; the batch then ends
    /// when every host left has failed.
    ///
    /// Returns the hosts the policy marked failed: they leave the task's active hosts. Like
    /// ansible-core's `mark_host_failed`, a mark inside a block with `rescue` sends the host to
    /// that rescue (not counted as rescued: it had no failed result) and it may go on from
    /// there; elsewhere the host has failed for good.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_failure_policy(
        &mut self,
        state: &mut BatchState,
        ctx: &Ctx,
        run_once: bool,
        failed_now: &[String],
        unreachable_now: &[String],
        hosts_left: &[String],
        had_results: bool,
    ) -> Vec<String> {
        if state.free {
            // ansible-core's free strategy applies no failure policy while a batch runs.
            return Vec::new();
        }
        let any_errors_fatal = (inherited_flag(&ctx.chain, |k| &k.any_errors_fatal) || run_once)
            && !inherited_flag(&ctx.chain, |k| &k.ignore_errors);
        let verdict = after_task(
            &TaskFailures {
                any_errors_fatal,
                max_fail_percentage: state.max_fail_percentage,
                batch_size: state.batch.len(),
                failed_now,
                unreachable_now,
                hosts_left,
                had_results,
                broke_play_before: state.break_play,
            },
            &state.batch_failed,
        );
        for h in &verdict.mark_failed {
            if ctx.rescuable {
                state.batch_failed.insert(h.clone());
                self.removed.insert(h.clone());
                state.policy_marked.insert(h.clone());
            } else {
                self.fail_host(state, h);
            }
        }
        if verdict.max_fail_tripped {
            self.reporter.event(&Event::PlayAborted {
                reason: "NO MORE HOSTS LEFT",
            });
            state.break_play = true;
        }
        if verdict.batch_over {
            state.over = true;
        }
        verdict.mark_failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::testkit::{self, hosts, set};

    /// A task on a batch with nothing unreachable before it.
    fn task<'a>(
        batch: &'a [String],
        failed_now: &'a [String],
        unreachable_now: &'a [String],
    ) -> TaskFailures<'a> {
        TaskFailures {
            any_errors_fatal: false,
            max_fail_percentage: None,
            batch_size: batch.len(),
            failed_now,
            unreachable_now,
            hosts_left: batch,
            had_results: true,
            broke_play_before: false,
        }
    }

    #[test]
    fn max_fail_percentage_is_strictly_greater() {
        // 4 hosts at 25%: one failure is tolerated, the second aborts.
        assert!(!max_fail_exceeded(1, 4, 25.0));
        assert!(max_fail_exceeded(2, 4, 25.0));
        // 3 hosts at 30% with serial 1: a batch of one host, 1 failure is 100%.
        assert!(max_fail_exceeded(1, 1, 30.0));
        // 0% aborts on any failure, never on none.
        assert!(max_fail_exceeded(1, 10, 0.0));
        assert!(!max_fail_exceeded(0, 10, 0.0));
        // 100% never trips.
        assert!(!max_fail_exceeded(4, 4, 100.0));
    }

    #[test]
    fn the_second_failure_of_four_hosts_at_25_percent_fails_the_rest_and_breaks_the_play() {
        let batch = hosts(&["a", "b", "c", "d"]);
        let first = hosts(&["a"]);
        let mut t = task(&batch, &first, &[]);
        t.max_fail_percentage = Some(25.0);
        assert_eq!(after_task(&t, &set(&["a"])), Verdict::default());

        let second = hosts(&["b"]);
        let mut t = task(&batch, &second, &[]);
        t.max_fail_percentage = Some(25.0);
        let v = after_task(&t, &set(&["a", "b"]));
        assert!(v.max_fail_tripped);
        assert_eq!(v.mark_failed, hosts(&["a", "c", "d"]));
        assert!(v.batch_over);
    }

    #[test]
    fn unreachable_hosts_do_not_count_toward_max_fail_percentage() {
        let batch = hosts(&["a", "b", "c", "d"]);
        // Two hosts went unreachable; none failed: the batch's failed set is empty.
        let left = hosts(&["c", "d"]);
        let gone = hosts(&["a", "b"]);
        let mut t = task(&batch, &[], &gone);
        t.hosts_left = &left;
        t.max_fail_percentage = Some(25.0);
        assert_eq!(after_task(&t, &HashSet::new()), Verdict::default());
    }

    #[test]
    fn rescued_failures_are_not_counted_so_the_policy_sees_none() {
        // A failure a block's rescue handles is not in the batch's failed set nor in
        // failed_now (the task room leaves it out).
        let batch = hosts(&["a", "b"]);
        let mut t = task(&batch, &[], &[]);
        t.max_fail_percentage = Some(0.0);
        assert!(!after_task(&t, &HashSet::new()).max_fail_tripped);
    }

    #[test]
    fn max_fail_percentage_is_not_checked_when_the_task_ran_nowhere() {
        let batch = hosts(&["a", "b"]);
        let mut t = task(&batch, &[], &[]);
        t.max_fail_percentage = Some(0.0);
        t.had_results = false;
        assert!(!after_task(&t, &set(&["a"])).max_fail_tripped);
        t.had_results = true;
        assert!(after_task(&t, &set(&["a"])).max_fail_tripped);
    }

    #[test]
    fn any_errors_fatal_fails_every_host_left_on_a_failure_or_an_unreachable_host() {
        let batch = hosts(&["a", "b", "c"]);
        let failed = hosts(&["b"]);
        let mut t = task(&batch, &failed, &[]);
        t.any_errors_fatal = true;
        let v = after_task(&t, &set(&["b"]));
        assert_eq!(v.mark_failed, hosts(&["a", "c"]));
        assert!(!v.max_fail_tripped);
        // The batch is over only once the play broke (max_fail_percentage) before or now.
        assert!(!v.batch_over);
        t.broke_play_before = true;
        assert!(after_task(&t, &set(&["b"])).batch_over);

        let left = hosts(&["a", "c"]);
        let gone = hosts(&["b"]);
        let mut t = task(&batch, &[], &gone);
        t.hosts_left = &left;
        t.any_errors_fatal = true;
        assert_eq!(
            after_task(&t, &HashSet::new()).mark_failed,
            hosts(&["a", "c"])
        );

        // No failure: nothing happens.
        let mut t = task(&batch, &[], &[]);
        t.any_errors_fatal = true;
        assert_eq!(after_task(&t, &HashSet::new()), Verdict::default());
    }

    #[test]
    fn the_failure_count_is_the_batchs_own() {
        // serial 2 at 50%: a batch whose first host failed earlier is at 50%, not over it.
        let batch = hosts(&["c", "d"]);
        let failed = hosts(&["c"]);
        let mut t = task(&batch, &failed, &[]);
        t.max_fail_percentage = Some(50.0);
        assert!(!after_task(&t, &set(&["c"])).max_fail_tripped);
    }

    #[test]
    fn a_batch_that_wholly_failed_stops_the_play() {
        assert!(batch_all_failed(3, 3));
        assert!(!batch_all_failed(2, 3));
        // A host both failed and unreachable counts twice, as Ansible counts it.
        assert!(!batch_all_failed(4, 3));
    }

    #[test]
    fn the_exit_status_puts_interrupted_then_unreachable_then_failed() {
        assert_eq!(exit_code(false, false, false, false), 0);
        assert_eq!(exit_code(false, true, false, false), 2);
        assert_eq!(exit_code(false, false, false, true), 2);
        assert_eq!(exit_code(false, false, true, true), 4);
        assert_eq!(exit_code(true, false, true, true), 99);
    }

    fn failing(keywords: &str, failing: &str) -> String {
        format!(
            r#"
- hosts: all
  gather_facts: false
  {keywords}
  tasks:
    - name: may fail
      fail: msg=no
      when: inventory_hostname in {failing}
    - name: next
      debug: msg=next
- hosts: all
  gather_facts: false
  tasks:
    - name: later play
      debug: msg=later
"#
        )
    }

    #[test]
    fn at_25_percent_of_four_hosts_one_failure_is_tolerated() {
        let ran = testkit::play(&failing("max_fail_percentage: 25", "['h1']"), 4);
        assert_eq!(ran.hosts("next", "ok").len(), 3);
        assert!(ran.ran("later play"));
        assert_eq!(ran.outcome.exit_code, 2);
    }

    #[test]
    fn at_25_percent_of_four_hosts_the_second_failure_stops_the_run() {
        let ran = testkit::play(&failing("max_fail_percentage: 25", "['h1', 'h2']"), 4);
        assert!(
            ran.lines
                .contains(&"aborted NO MORE HOSTS LEFT".to_string())
        );
        assert!(!ran.ran("next"));
        assert!(!ran.ran("later play"));
        assert_eq!(ran.outcome.exit_code, 2);
        assert_eq!(ran.outcome.retry_hosts, ["h1", "h2", "h3", "h4"]);
    }

    #[test]
    fn with_serial_1_at_30_percent_the_first_failed_batch_is_the_last() {
        let ran = testkit::play(
            &failing("serial: 1\n  max_fail_percentage: 30", "['h1']"),
            3,
        );
        let batches: Vec<&String> = ran
            .lines
            .iter()
            .filter(|l| l.starts_with("batch "))
            .collect();
        assert_eq!(batches, ["batch h1"]);
        assert!(!ran.ran("later play"));
    }

    #[test]
    fn with_serial_the_failure_count_restarts_each_batch() {
        // serial 2 at 50%: one failure per batch of two is tolerated, batch after batch.
        let ran = testkit::play(
            &failing("serial: 2\n  max_fail_percentage: 50", "['h1', 'h3']"),
            4,
        );
        let batches: Vec<&String> = ran
            .lines
            .iter()
            .filter(|l| l.starts_with("batch "))
            .collect();
        // Both batches of the first play ran; in the second, the failed hosts keep their
        // places in the batch but run nothing.
        assert_eq!(batches, ["batch h1,h2", "batch h3,h4", "batch h1,h2,h3,h4"]);
        let mut later = ran.hosts("later play", "ok");
        later.sort();
        assert_eq!(later, ["h2", "h4"]);
        assert_eq!(ran.hosts_all("next", "ok"), ["h2", "h4"]);
        assert!(ran.ran("later play"));
    }

    #[test]
    fn any_errors_fatal_stops_every_host_at_the_first_failure() {
        let ran = testkit::play(&failing("any_errors_fatal: true", "['h2']"), 3);
        assert!(!ran.ran("next"));
        assert!(!ran.ran("later play"));
        assert_eq!(ran.outcome.exit_code, 2);
    }

    #[test]
    fn a_batch_that_wholly_failed_ends_the_run_whatever_the_policy() {
        let ran = testkit::play(&failing("", "['h1', 'h2']"), 2);
        assert!(!ran.ran("next"));
        assert!(!ran.ran("later play"));
        assert_eq!(ran.outcome.exit_code, 2);
    }

    #[test]
    fn any_errors_fatal_sends_the_other_hosts_to_the_rescue_without_counting_them_rescued() {
        let book = r#"
- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - block:
        - name: boom
          fail: msg=boom
          when: inventory_hostname == 'h1'
        - name: never
          debug: msg=never
      rescue:
        - name: rescue
          debug: msg=rescued
    - name: recovered
      debug: msg=recovered
"#;
        let ran = testkit::play(book, 2);
        assert!(!ran.ran("never"));
        let mut rescued = ran.hosts("rescue", "ok");
        rescued.sort();
        assert_eq!(rescued, ["h1", "h2"]);
        let mut recovered = ran.hosts("recovered", "ok");
        recovered.sort();
        assert_eq!(recovered, ["h1", "h2"]);
        assert_eq!(ran.stats("h1").rescued, 1);
        assert_eq!(ran.stats("h2").rescued, 0);
        assert_eq!(ran.outcome.exit_code, 0);
    }

    #[test]
    fn a_failing_include_under_any_errors_fatal_stops_the_other_hosts_first() {
        let book = r#"
- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - name: include
      include_tasks: does-not-exist.yml
      when: inventory_hostname == 'h2'
    - name: never
      debug: msg=never
"#;
        let ran = testkit::play(book, 2);
        assert!(!ran.ran("never"));
        assert_eq!(ran.outcome.exit_code, 2);
    }
}
