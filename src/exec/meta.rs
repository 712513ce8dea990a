//! The meta room: `meta:` tasks (`flush_handlers`, `end_host`, `end_batch`, `end_play`,
//! `clear_host_errors`, `clear_facts`, `noop`, ...).
//!
//! Owns which meta actions exist ([`MetaAction`]) and what each does to the batch: a meta task
//! runs host by host as ansible-core 2.19 runs it (the banner per host, `when` per host, a skip
//! shown but not counted) and changes the batch's state rather than calling a module.

use super::events::{self, Event};
use super::{BatchState, Ctx, Runner};
use crate::diagnostics::Error;
use crate::playbook::Task;
use crate::value::{Value, Vars};
use std::sync::Arc;

/// The meta actions ansible-core 2.19 knows. Those that change nothing here (`noop`,
/// `refresh_inventory`, `reset_connection`, `role_complete`) are accepted and do nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MetaAction {
    FlushHandlers,
    Noop,
    RefreshInventory,
    ClearFacts,
    ClearHostErrors,
    EndPlay,
    EndBatch,
    EndHost,
    /// Ends the innermost role for the host: the role's remaining tasks pass it over.
    EndRole,
    ResetConnection,
    RoleComplete,
}

impl MetaAction {
    /// The action a `meta:` task names; `None` for one that does not exist.
    pub(super) fn parse(name: &str) -> Option<MetaAction> {
        Some(match name {
            "flush_handlers" => MetaAction::FlushHandlers,
            "noop" => MetaAction::Noop,
            "refresh_inventory" => MetaAction::RefreshInventory,
            "clear_facts" => MetaAction::ClearFacts,
            "clear_host_errors" => MetaAction::ClearHostErrors,
            "end_play" => MetaAction::EndPlay,
            "end_batch" => MetaAction::EndBatch,
            "end_host" => MetaAction::EndHost,
            "end_role" => MetaAction::EndRole,
            "reset_connection" => MetaAction::ResetConnection,
            "role_complete" => MetaAction::RoleComplete,
            _ => return None,
        })
    }
}

/// What a meta task whose `when` is false says, as ansible-core words it: the result's `msg`
/// and its `skip_reason`.
fn meta_skip(meta: MetaAction, action: &str, host: &str, role: &str) -> (String, String) {
    let reason = format!("{action} conditional evaluated to False");
    let suffix = match meta {
        MetaAction::FlushHandlers => format!(", not running handlers for {host}"),
        MetaAction::ClearFacts => format!(", not clearing facts and fact cache for {host}"),
        MetaAction::ClearHostErrors => format!(", not clearing host error state for {host}"),
        MetaAction::EndBatch => ", continuing current batch".to_string(),
        MetaAction::EndPlay => ", continuing play".to_string(),
        MetaAction::EndHost => format!(", continuing execution for {host}"),
        MetaAction::EndRole => format!(", continuing role {role} for {host}"),
        _ => String::new(),
    };
    let msg = match meta {
        MetaAction::EndHost => {
            format!("end_host conditional evaluated to false, continuing execution for {host}")
        }
        _ => action.to_string(),
    };
    (msg, format!("{reason}{suffix}"))
}

impl Runner<'_> {
    /// `meta` tasks, as ansible-core 2.19 runs them: each host takes the task in turn (so its
    /// banner shows once per host), its `when` decides for that host (a skip is shown, not
    /// counted), and `end_play` stops at the first host that reaches it.
    pub(super) async fn run_meta(
        &mut self,
        state: &mut BatchState,
        task: &Arc<Task>,
        ctx: &Ctx,
        hosts: Vec<String>,
    ) -> Result<Vec<String>, Error> {
        let action = task
            .args
            .get_attr("_raw_params")
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let Some(meta) = MetaAction::parse(&action) else {
            return Err(Error::syntax(
                &task.span,
                format!("invalid meta action requested: {action}"),
            ));
        };
        let name = self.banner_name(state, task, ctx, None);
        let role_name = ctx
            .role
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default();
        let mut flush_for = Vec::new();
        let mut refreshed = false;
        let mut active = hosts.clone();
        // ansible-core's linear strategy runs a meta task that acts on the play (all but
        // `noop`, `reset_connection`, `end_host`, `role_complete`, `flush_handlers`) once, for
        // the first host: its `when` decides for everyone.
        let once = !state.free
            && !matches!(
                meta,
                MetaAction::Noop
                    | MetaAction::ResetConnection
                    | MetaAction::EndHost
                    | MetaAction::EndRole
                    | MetaAction::RoleComplete
                    | MetaAction::FlushHandlers
            );
        let runs_on: Vec<String> = if once {
            hosts.iter().take(1).cloned().collect()
        } else {
            hosts.clone()
        };
        // These run whatever their `when` says (ansible-core warns that it is ignored).
        let unconditional = matches!(
            meta,
            MetaAction::Noop | MetaAction::RefreshInventory | MetaAction::ResetConnection
        );
        let has_when = ctx.chain.iter().any(|k| !k.when.is_empty());
        if unconditional && has_when {
            self.warn_once(&format!("{action} task does not support when conditional"));
        }
        for host in &runs_on {
            self.reporter.event(&Event::TaskStart {
                name: &name,
                handler: ctx.handler,
                id: events::task_id(task),
                origin: &task.span,
                action: &task.action,
                args: events::shown_args(task, &ctx.chain),
                check_mode: events::check_mode_of(task, &ctx.chain, self.opts.check),
            });
            let job = self.job(state, task, ctx, host);
            if !unconditional && !job.when_holds()? {
                let mut outcome = job.skipped_outcome();
                let (msg, reason) = meta_skip(meta, &action, host, &role_name);
                let mut r = Vars::new();
                r.insert("msg".into(), Value::from(msg));
                r.insert("skip_reason".into(), Value::from(reason.as_str()));
                outcome.result.result = r;
                self.reporter.event(&Event::Verbose {
                    level: 2,
                    text: &format!("META: {reason}"),
                });
                self.reporter.event(&Event::HostResult {
                    result: &outcome.result,
                    item: false,
                });
                continue;
            }
            let msg = match meta {
                MetaAction::Noop => "noop".to_string(),
                MetaAction::FlushHandlers => format!("triggered running handlers for {host}"),
                MetaAction::RefreshInventory => "inventory successfully refreshed".to_string(),
                MetaAction::ClearFacts => "facts cleared".to_string(),
                MetaAction::ClearHostErrors => "cleared host errors".to_string(),
                MetaAction::EndBatch => "ending batch".to_string(),
                MetaAction::EndPlay => "ending play".to_string(),
                MetaAction::EndHost => format!("ending play for {host}"),
                MetaAction::EndRole => format!("ending role {role_name} for {host}"),
                MetaAction::ResetConnection => "reset connection".to_string(),
                MetaAction::RoleComplete => format!("role_complete for {host}"),
            };
            self.reporter.event(&Event::Verbose {
                level: 2,
                text: &format!("META: {msg}"),
            });
            match meta {
                MetaAction::FlushHandlers => flush_for.push(host.clone()),
                MetaAction::EndRole => {
                    if let Some(role) = &ctx.role {
                        state
                            .roles_ended
                            .insert(host.clone(), role.identity.clone());
                    }
                }
                MetaAction::EndHost => {
                    state.ended.insert(host.clone());
                    self.removed.insert(host.clone());
                    active.retain(|h| h != host);
                }
                MetaAction::EndBatch | MetaAction::EndPlay => {
                    state.end_batch = true;
                    state.end_play |= meta == MetaAction::EndPlay;
                    if let Some(shared) = &state.shared {
                        shared
                            .end_batch
                            .store(true, std::sync::atomic::Ordering::SeqCst);
                        if meta == MetaAction::EndPlay {
                            shared
                                .end_play
                                .store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                    return Ok(Vec::new());
                }
                MetaAction::ClearHostErrors => {
                    // Every host of the play: failed and unreachable hosts are forgotten (later
                    // plays take them again), and a host failed inside a block that is now
                    // running its `always` leaves the block alive. A host that failed outside
                    // any block has finished this play and stays finished.
                    for h in state.all_hosts.clone() {
                        self.failed.remove(&h);
                        if self.unreachable.remove(&h)
                            && state.batch.contains(&h)
                            && !state.ended.contains(&h)
                            && !state.revived.contains(&h)
                        {
                            state.revived.push(h.clone());
                        }
                        state.batch_failed.remove(&h);
                        state.cleared.insert(h);
                    }
                    if let Some(shared) = &state.shared {
                        shared
                            .fail_all
                            .store(false, std::sync::atomic::Ordering::SeqCst);
                        shared
                            .removed
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .clear();
                    }
                    state.failed_all_here = false;
                }
                MetaAction::ClearFacts if once => {
                    for h in &state.all_hosts {
                        self.store.set_facts(h, Vars::new());
                    }
                }
                MetaAction::ClearFacts => self.store.set_facts(host, Vars::new()),
                // Read once for the task, as ansible-core runs it once for all hosts.
                MetaAction::RefreshInventory if !refreshed => {
                    refreshed = true;
                    if let Some(reload) = &self.opts.reload_inventory {
                        let fresh = (reload.0)().map_err(|e| e.at(&task.span))?;
                        for w in &fresh.warnings {
                            self.warn_once(w);
                        }
                        self.store.replace_inventory(fresh);
                    }
                }
                _ => {}
            }
        }
        if !flush_for.is_empty() {
            let flushed = self
                .flush_handlers_in(state, flush_for.clone(), ctx.rescuable)
                .await?;
            active.retain(|h| !flush_for.contains(h) || flushed.contains(h));
        }
        Ok(active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meta_actions_of_ansible_core_parse_and_others_do_not() {
        for name in [
            "flush_handlers",
            "noop",
            "refresh_inventory",
            "clear_facts",
            "clear_host_errors",
            "end_play",
            "end_batch",
            "end_host",
            "reset_connection",
            "role_complete",
            "end_role",
        ] {
            assert!(MetaAction::parse(name).is_some(), "{name}");
        }
        assert_eq!(MetaAction::parse("end_play"), Some(MetaAction::EndPlay));
        for name in ["", "end_roles", "flush", "END_PLAY", "ansible.builtin.noop"] {
            assert_eq!(MetaAction::parse(name), None, "{name}");
        }
    }

    use crate::exec::testkit;

    #[test]
    fn end_host_ends_the_play_for_that_host_alone() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - meta: end_host
      when: inventory_hostname == 'h1'
    - name: after
      debug: msg=after
"#;
        let ran = testkit::play(book, 2);
        assert_eq!(ran.hosts("after", "ok"), ["h2"]);
        assert_eq!(ran.outcome.exit_code, 0);
    }

    #[test]
    fn end_play_ends_later_batches_too_and_clear_host_errors_forgives_for_later_plays() {
        let book = r#"
- hosts: all
  gather_facts: false
  serial: 1
  tasks:
    - meta: end_play
    - name: never
      debug: msg=never
- hosts: all
  gather_facts: false
  tasks:
    - name: fail h1
      fail: msg=no
      when: inventory_hostname == 'h1'
      ignore_errors: "{{ false }}"
    - meta: clear_host_errors
    - name: still out
      debug: msg=back
- hosts: all
  gather_facts: false
  tasks:
    - name: back
      debug: msg=back
"#;
        let ran = testkit::play(book, 2);
        assert!(!ran.ran("never"));
        let batches = ran.lines.iter().filter(|l| l.starts_with("batch ")).count();
        assert_eq!(
            batches, 3,
            "one batch of the first play, one of each later one: {:?}",
            ran.lines
        );
        // As in ansible-core: a host that failed outside any block has finished its play; the
        // cleared error lets it take part in later plays.
        assert_eq!(ran.hosts("still out", "ok"), ["h2"]);
        let mut back = ran.hosts("back", "ok");
        back.sort();
        assert_eq!(back, ["h1", "h2"]);
    }

    #[test]
    fn clear_host_errors_runs_once_for_the_first_host_and_revives_hosts_in_always() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - name: boom
          fail: msg=boom
          when: inventory_hostname != 'h1'
      always:
        - name: first always
          debug: msg=a
        - meta: clear_host_errors
          when: inventory_hostname == WHO
        - name: second always
          debug: msg=b
    - name: after
      debug: msg=after
"#;
        // h1 is the first host to run the meta task, and its condition decides for everyone.
        let ran = testkit::play(&book.replace("WHO", "'h2'"), 3);
        let mut second = ran.hosts("second always", "ok");
        second.sort();
        assert_eq!(
            second,
            ["h1", "h2", "h3"],
            "always runs through for failed hosts"
        );
        assert_eq!(ran.hosts("after", "ok"), ["h1"]);
        let ran = testkit::play(&book.replace("WHO", "'h1'"), 3);
        let mut after = ran.hosts("after", "ok");
        after.sort();
        assert_eq!(after, ["h1", "h2", "h3"]);
    }

    #[test]
    fn meta_tasks_say_what_they_did_or_why_not_at_vv() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: end one
      meta: end_host
      when: inventory_hostname == 'h2'
    - name: nothing
      meta: noop
      when: false
"#;
        let ran = testkit::play(book, 2);
        // ansible-playbook's count of plays comes first.
        assert!(
            ran.lines
                .first()
                .is_some_and(|l| l.starts_with("playbook 1 plays in ") && l.ends_with("play.yml")),
            "{:?}",
            ran.lines
        );
        for line in [
            "verbose2 META: end_host conditional evaluated to False, continuing execution for h1",
            "verbose2 META: ending play for h2",
            "verbose2 META: noop",
            "warning noop task does not support when conditional",
        ] {
            assert!(
                ran.lines.iter().any(|l| l == line),
                "{line}: {:?}",
                ran.lines
            );
        }
    }

    #[test]
    fn refresh_inventory_reads_the_sources_again_and_keeps_what_the_run_added() {
        let book = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: add
      add_host:
        name: added
        groups: extra
        ansible_connection: local
    - name: refresh
      meta: refresh_inventory
- hosts: all
  gather_facts: false
  tasks:
    - name: after
      debug:
        msg: "{{ groups['extra'] }}"
"#;
        let opts = crate::exec::Options {
            reload_inventory: Some(crate::exec::InventoryReload(std::sync::Arc::new(|| {
                crate::inventory::Inventory::from_ini(
                    "fresh",
                    "h2 ansible_connection=local\nh9 ansible_connection=local\n",
                )
            }))),
            ..testkit::options()
        };
        let ran = testkit::play_with(book, &[], 2, opts);
        let mut after = ran.hosts("after", "ok");
        after.sort();
        assert_eq!(after, ["added", "h2", "h9"], "{:?}", ran.lines);
    }
}
