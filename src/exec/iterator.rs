//! The host iterator room: how each host moves through a list of tasks and blocks, as
//! ansible-core's PlayIterator routes it.
//!
//! Owns the walk of a list ([`Runner::run_items`]: tags, `--start-at-task`, `--step`, tasks
//! to the task or include room, blocks entered with their keywords and role; a role already
//! run on a host passed over there) and block / rescue / always ([`Runner::run_block`]): the
//! hosts that failed in `block` go to `rescue` (counted rescued), every host that entered and
//! is neither unreachable nor ended goes to `always`, and a host leaves the block alive only
//! if it came through all three. The routing itself is pure ([`block_failed`],
//! [`always_hosts`]).

use super::{BatchState, Ctx, Runner, tags_select};
use crate::connection::BoxFuture;
use crate::diagnostics::Error;
use crate::playbook::Item;
use std::collections::HashSet;

/// The hosts that entered a block and did not come out of its `block` section: failed there
/// (unreachable hosts and hosts that ended with `meta: end_host` aside). They go to `rescue`.
pub(super) fn block_failed(
    entering: &[String],
    after_block: &[String],
    unreachable: &HashSet<String>,
    ended: &HashSet<String>,
) -> Vec<String> {
    entering
        .iter()
        .filter(|h| !after_block.contains(h) && !unreachable.contains(*h) && !ended.contains(*h))
        .cloned()
        .collect()
}

/// The hosts that run a block's `always` section: every host that entered the block and either
/// is still going or failed in `block` (even if `rescue` failed it again), in the order they
/// entered; never an unreachable host or one that ended.
pub(super) fn always_hosts(
    entering: &[String],
    survivors: &[String],
    failed_in_block: &[String],
    unreachable: &HashSet<String>,
    ended: &HashSet<String>,
) -> Vec<String> {
    entering
        .iter()
        .filter(|h| {
            !unreachable.contains(*h)
                && !ended.contains(*h)
                && (survivors.contains(h) || failed_in_block.contains(h))
        })
        .cloned()
        .collect()
}

/// The active hosts that ended the role these items belong to (`meta: end_role`).
fn roles_ended_here(state: &BatchState, ctx: &Ctx, active: &[String]) -> Vec<String> {
    let Some(role) = &ctx.role else {
        return Vec::new();
    };
    if state.roles_ended.is_empty() {
        return Vec::new();
    }
    active
        .iter()
        .filter(|h| state.roles_ended.get(*h) == Some(&role.identity))
        .cloned()
        .collect()
}

impl Runner<'_> {
    /// Runs a list of tasks and blocks on the active hosts; returns the hosts still going.
    pub(super) fn run_items<'a>(
        &'a mut self,
        state: &'a mut BatchState,
        items: &'a [Item],
        ctx: Ctx,
        active: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let mut active = active;
            for item in items {
                if state.stopping() || active.is_empty() {
                    break;
                }
                if self.interrupted() {
                    break;
                }
                // Hosts that ended this role (`meta: end_role`) pass over its other items,
                // still going.
                let role_ended = roles_ended_here(state, &ctx, &active);
                if !role_ended.is_empty() {
                    let going: Vec<String> = active
                        .iter()
                        .filter(|h| !role_ended.contains(h))
                        .cloned()
                        .collect();
                    let after = if going.is_empty() {
                        Vec::new()
                    } else {
                        self.run_items(state, std::slice::from_ref(item), ctx.clone(), going)
                            .await?
                    };
                    active.retain(|h| role_ended.contains(h) || after.contains(h));
                    continue;
                }
                match item {
                    Item::Task(task) => {
                        let mut tags = ctx.tags.clone();
                        tags.extend(task.kw.tags.iter().cloned());
                        let tags = super::expand_tags(&tags, || {
                            self.store.play_scope(&ctx.layers.with_mid(&task.kw.vars))
                        });
                        if !tags_select(&tags, &self.opts.tags, &self.opts.skip_tags) {
                            continue;
                        }
                        if !self.started {
                            if !self.is_start_task(task, &ctx) {
                                continue;
                            }
                            self.started = true;
                        }
                        if let Some(marker) = self.resume_after {
                            if super::events::task_id(task) == marker {
                                self.resume_after = None;
                            }
                            continue;
                        }
                        if self.opts.step && !self.step_off && !self.ask_step(task)? {
                            continue;
                        }
                        let tctx = ctx.enter(&task.kw, None);
                        active = match task.action.as_str() {
                            "include_tasks" | "include_role" => {
                                self.run_include(state, task, &tctx, active).await?
                            }
                            _ => {
                                let handler = tctx.handler;
                                self.run_task(state, task, &tctx, active, handler).await?
                            }
                        };
                    }
                    Item::Block(block) => {
                        let bctx = ctx.enter(&block.kw, block.role.as_ref());
                        // A role that already ran on a host is passed over there.
                        let done: Vec<String> = match &block.role {
                            Some(r) if !r.allow_duplicates => active
                                .iter()
                                .filter(|h| {
                                    self.role_ran
                                        .get(&r.identity)
                                        .is_some_and(|s| s.contains(*h))
                                })
                                .cloned()
                                .collect(),
                            _ => Vec::new(),
                        };
                        let run: Vec<String> = active
                            .iter()
                            .filter(|h| !done.contains(h))
                            .cloned()
                            .collect();
                        let after = self.run_block(state, block, bctx, run.clone()).await?;
                        // The role is over for the hosts that ended it.
                        if let Some(r) = &block.role {
                            state
                                .roles_ended
                                .retain(|h, id| *id != r.identity || !run.contains(h));
                        }
                        active.retain(|h| done.contains(h) || after.contains(h));
                    }
                }
            }
            Ok(active)
        })
    }

    /// block / rescue / always.
    pub(super) async fn run_block(
        &mut self,
        state: &mut BatchState,
        block: &crate::playbook::Block,
        ctx: Ctx,
        active: Vec<String>,
    ) -> Result<Vec<String>, Error> {
        let entering = active.clone();
        let has_rescue = !block.rescue.is_empty();
        let inner = Ctx {
            rescuable: ctx.rescuable || has_rescue,
            ..ctx.clone()
        };
        let after_block = self
            .run_items(state, &block.block, inner, entering.clone())
            .await?;
        let failed = block_failed(&entering, &after_block, &self.unreachable, &state.ended);
        let mut survivors = after_block;
        if has_rescue && !failed.is_empty() && !state.over {
            for h in &failed {
                if !state.policy_marked.remove(h) {
                    self.stats.entry(h.clone()).or_default().rescued += 1;
                }
            }
            let rescued = self
                .run_items(state, &block.rescue, ctx.clone(), failed.clone())
                .await?;
            survivors.extend(rescued);
        }
        if !block.always.is_empty() && !state.over {
            let always_hosts = always_hosts(
                &entering,
                &survivors,
                &failed,
                &self.unreachable,
                &state.ended,
            );
            // `meta: clear_host_errors` while `always` runs: the hosts it cleared leave the
            // block alive. What was cleared before stays known to the blocks around this one.
            let cleared_before = std::mem::take(&mut state.cleared);
            let after_always = self
                .run_items(state, &block.always, ctx.clone(), always_hosts)
                .await?;
            survivors.retain(|h| after_always.contains(h));
            for h in &after_always {
                if state.cleared.contains(h) && !survivors.contains(h) {
                    survivors.push(h.clone());
                }
            }
            state.cleared.extend(cleared_before);
        }
        Ok(entering
            .into_iter()
            .filter(|h| survivors.contains(h))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::testkit::{self, hosts, set};

    #[test]
    fn hosts_that_failed_in_block_go_to_rescue_but_not_unreachable_or_ended_ones() {
        let entering = hosts(&["a", "b", "c", "d"]);
        // a came through; b failed; c went unreachable; d ended (meta: end_host).
        let failed = block_failed(&entering, &hosts(&["a"]), &set(&["c"]), &set(&["d"]));
        assert_eq!(failed, hosts(&["b"]));
        assert!(block_failed(&entering, &entering, &set(&[]), &set(&[])).is_empty());
    }

    #[test]
    fn always_runs_for_survivors_and_for_hosts_that_failed_in_block_or_rescue() {
        let entering = hosts(&["a", "b", "c", "d", "e"]);
        // b failed in block and rescue failed it again: not a survivor, still in always.
        // c unreachable, d ended, e failed outside (never entered always's lists).
        let always = always_hosts(
            &entering,
            &hosts(&["a"]),
            &hosts(&["b", "c"]),
            &set(&["c"]),
            &set(&["d"]),
        );
        assert_eq!(always, hosts(&["a", "b"]));
        // The order is the order the hosts entered, whatever the survivors' order.
        let always = always_hosts(&entering, &hosts(&["e", "a"]), &[], &set(&[]), &set(&[]));
        assert_eq!(always, hosts(&["a", "e"]));
    }

    const BLOCK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - name: boom
          fail: msg=boom
          when: inventory_hostname == 'h2'
        - name: after boom
          debug: msg=after
      rescue:
        - name: rescue
          fail: msg=again
          when: inventory_hostname == 'h3' and rescue_fails | default(false)
      always:
        - name: always
          debug: msg=always
    - name: end
      debug: msg=end
"#;

    #[test]
    fn a_host_that_fails_in_block_is_rescued_and_everyone_runs_always() {
        let ran = testkit::play(BLOCK, 3);
        assert_eq!(ran.hosts("boom", "failed"), ["h2"]);
        assert_eq!(ran.hosts("after boom", "ok"), ["h1", "h3"]);
        assert_eq!(ran.hosts("rescue", "skipped"), ["h2"]);
        let mut always = ran.hosts("always", "ok");
        always.sort();
        assert_eq!(always, ["h1", "h2", "h3"]);
        assert_eq!(ran.hosts("end", "ok").len(), 3);
        assert_eq!(ran.stats("h2").rescued, 1);
        assert_eq!(ran.stats("h2").failed, 0);
        assert_eq!(ran.outcome.exit_code, 0);
    }

    #[test]
    fn a_host_whose_rescue_fails_still_runs_always_and_then_stops() {
        let book = BLOCK
            .replace(
                "when: inventory_hostname == 'h2'",
                "when: inventory_hostname != 'h1'",
            )
            .replace("rescue_fails | default(false)", "true");
        let ran = testkit::play(&book, 3);
        assert_eq!(ran.hosts("rescue", "failed"), ["h3"]);
        let mut always = ran.hosts("always", "ok");
        always.sort();
        assert_eq!(always, ["h1", "h2", "h3"]);
        let mut end = ran.hosts("end", "ok");
        end.sort();
        assert_eq!(end, ["h1", "h2"]);
        assert_eq!(ran.stats("h3").failed, 1);
        assert_eq!(ran.outcome.exit_code, 2);
    }

    #[test]
    fn tags_select_the_tasks_a_host_walks() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: tagged
      debug: msg=a
      tags: [web]
    - name: untagged
      debug: msg=b
    - name: never
      debug: msg=c
      tags: [never]
"#;
        let opts = super::super::Options {
            tags: vec!["web".into()],
            ..testkit::options()
        };
        let ran = testkit::play_with(book, &[], 1, opts);
        assert!(ran.ran("tagged"));
        assert!(!ran.ran("untagged"));
        assert!(!ran.ran("never"));
    }

    #[test]
    fn a_host_that_failed_in_rescue_runs_every_task_of_always() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - name: boom
          fail: msg=boom
      rescue:
        - name: rescue fails
          fail: msg=again
      always:
        - name: always 1
          debug: msg=1
        - name: always 2
          debug: msg=2
        - name: always 3
          debug: msg=3
    - name: after
      debug: msg=after
"#;
        let ran = testkit::play(book, 2);
        for t in ["always 1", "always 2", "always 3"] {
            let mut hosts = ran.hosts(t, "ok");
            hosts.sort();
            assert_eq!(hosts, ["h1", "h2"], "{t}");
        }
        assert!(!ran.ran("after"));
    }

    #[test]
    fn the_play_hosts_leave_out_failed_hosts_but_not_those_being_rescued() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - name: boom
          fail: msg=boom
          when: inventory_hostname == 'h1'
      rescue:
        - name: in rescue
          debug: msg="{{ ansible_play_hosts | join(',') }}"
    - name: fail h2
      fail: msg=no
      when: inventory_hostname == 'h2'
    - name: later
      debug: msg="{{ ansible_play_hosts | join(',') }}/{{ ansible_play_batch | join(',') }}"
"#;
        let ran = testkit::play(book, 3);
        assert_eq!(ran.msg("in rescue", "h1"), "h1,h2,h3");
        assert_eq!(ran.msg("later", "h3"), "h1,h3/h1,h3");
    }
}
