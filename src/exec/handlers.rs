//! The handlers room: `notify`/`listen`, and running what was notified.
//!
//! Owns the handler list of a batch (flattened in definition order, roles' handlers with their
//! role, grown by `include_role`), queuing a notification per host once however often it
//! comes ([`queue_notified`]), and the flush: handlers run in the order they are defined, once
//! per host, on the hosts still going, or on every notified host under `force_handlers`
//! ([`hosts_to_flush`]). When the flushes happen (end of each section, `meta: flush_handlers`)
//! is the play's and the meta room's.

use super::{BatchState, Ctx, Runner};
use crate::connection::BoxFuture;
use crate::diagnostics::Error;
use crate::playbook::{Item, Task};
use std::collections::HashMap;
use std::sync::Arc;

/// A handler, ready to run.
#[derive(Clone)]
pub(super) struct Handler {
    task: Arc<Task>,
    ctx: Ctx,
}

/// Handlers in definition order (blocks in the handler list flattened, roles' with their role).
pub(super) fn flatten_handlers(items: &[Item], ctx: &Ctx, out: &mut Vec<Handler>) {
    for item in items {
        match item {
            Item::Task(t) => out.push(Handler {
                task: t.clone(),
                ctx: ctx.enter(&t.kw, None),
            }),
            Item::Block(b) => flatten_handlers(&b.block, &ctx.enter(&b.kw, b.role.as_ref()), out),
        }
    }
}

/// The handlers a notification reaches, by index in definition order: those named `wanted`
/// and those that `listen` to it.
pub(super) fn matching_handlers<'h>(
    handlers: impl Iterator<Item = (Option<&'h str>, &'h [String])>,
    wanted: &str,
) -> Vec<usize> {
    handlers
        .enumerate()
        .filter(|(_, (name, listen))| *name == Some(wanted) || listen.iter().any(|l| l == wanted))
        .map(|(i, _)| i)
        .collect()
}

/// Queues handlers for a host: each once, however often notified, in the order first notified
/// (the flush runs them in definition order whatever this order is).
pub(super) fn queue_notified(queued: &mut Vec<usize>, matches: &[usize]) {
    for m in matches {
        if !queued.contains(m) {
            queued.push(*m);
        }
    }
}

/// The hosts of the batch (in its order) on which handler `idx` runs now: notified there, and
/// still going (or any notified host under `force_handlers`).
pub(super) fn hosts_to_flush(
    batch: &[String],
    notified: &HashMap<String, Vec<usize>>,
    idx: usize,
    active: &[String],
    force_handlers: bool,
) -> Vec<String> {
    batch
        .iter()
        .filter(|host| {
            notified.get(*host).is_some_and(|n| n.contains(&idx))
                && (active.contains(host) || force_handlers)
        })
        .cloned()
        .collect()
}

impl Runner<'_> {
    /// Runs the notified handlers, in the order they are defined, once per host.
    pub(super) fn flush_handlers<'a>(
        &'a mut self,
        state: &'a mut BatchState,
        active: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let mut active = active;
            let mut idx = 0;
            // The list can grow while running (include_role adds handlers).
            while idx < state.handlers.len() {
                let h = state.handlers[idx].clone();
                let hosts = hosts_to_flush(
                    &state.batch,
                    &state.notified,
                    idx,
                    &active,
                    state.force_handlers,
                );
                if !hosts.is_empty() {
                    for host in &hosts {
                        if let Some(n) = state.notified.get_mut(host) {
                            n.retain(|i| *i != idx);
                        }
                    }
                    let survivors = self
                        .run_task(state, &h.task, &h.ctx, hosts.clone(), true)
                        .await?;
                    active.retain(|a| !hosts.contains(a) || survivors.contains(a));
                }
                idx += 1;
            }
            Ok(active)
        })
    }

    /// Queues the handlers a changed task notifies, by name or by `listen` topic.
    pub(super) fn notify(
        &mut self,
        state: &mut BatchState,
        task: &Task,
        host: &str,
    ) -> Result<(), Error> {
        for wanted in &task.notify {
            let matches = matching_handlers(
                state
                    .handlers
                    .iter()
                    .map(|h| (h.task.name.as_deref(), &h.task.listen[..])),
                wanted,
            );
            if matches.is_empty() {
                return Err(Error::syntax(
                    &task.span,
                    format!(
                        "The requested handler '{wanted}' was not found in either the main handlers list nor in the listening handlers list"
                    ),
                ));
            }
            queue_notified(
                state.notified.entry(host.to_string()).or_default(),
                &matches,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::testkit::{self, hosts};

    #[test]
    fn a_notification_reaches_handlers_by_name_and_by_listen_topic_in_definition_order() {
        let restart = ["restart web".to_string()];
        let none: Vec<String> = Vec::new();
        let list = [
            (Some("reload nginx"), &none[..]),
            (Some("restart nginx"), &restart[..]),
            (None, &restart[..]),
            (Some("restart web"), &none[..]),
        ];
        assert_eq!(
            matching_handlers(list.iter().copied(), "restart web"),
            vec![1, 2, 3]
        );
        assert_eq!(
            matching_handlers(list.iter().copied(), "reload nginx"),
            vec![0]
        );
        assert!(matching_handlers(list.iter().copied(), "nothing").is_empty());
    }

    #[test]
    fn a_handler_is_queued_once_however_often_notified() {
        let mut queued = Vec::new();
        queue_notified(&mut queued, &[2]);
        queue_notified(&mut queued, &[0, 2]);
        queue_notified(&mut queued, &[2]);
        assert_eq!(queued, vec![2, 0]);
    }

    #[test]
    fn a_flush_runs_on_notified_hosts_still_going_unless_handlers_are_forced() {
        let batch = hosts(&["a", "b", "c"]);
        let notified: HashMap<String, Vec<usize>> = [
            ("a".to_string(), vec![0]),
            ("b".to_string(), vec![0, 1]),
            ("c".to_string(), vec![1]),
        ]
        .into_iter()
        .collect();
        // b failed: it is no longer active.
        let active = hosts(&["c", "a"]);
        assert_eq!(
            hosts_to_flush(&batch, &notified, 0, &active, false),
            hosts(&["a"])
        );
        assert_eq!(
            hosts_to_flush(&batch, &notified, 0, &active, true),
            hosts(&["a", "b"])
        );
        // In the batch's order, not the active list's.
        assert_eq!(
            hosts_to_flush(&batch, &notified, 1, &hosts(&["c", "b"]), false),
            hosts(&["b", "c"])
        );
        assert!(hosts_to_flush(&batch, &notified, 2, &batch, true).is_empty());
    }

    const HANDLERS: &str = r#"
- hosts: all
  gather_facts: false
  FORCE
  handlers:
    - name: second
      debug: msg=2
    - name: first
      debug: msg=1
      listen: topic
  tasks:
    - name: change a
      debug: msg=a
      changed_when: true
      notify: [first, topic]
    - name: change b
      debug: msg=b
      changed_when: true
      notify: second
      when: inventory_hostname == 'h1'
    - name: break h2
      fail: msg=broken
      when: inventory_hostname == 'h2' and break_h2 | default(false)
"#;

    #[test]
    fn handlers_run_once_per_host_in_the_order_they_are_defined() {
        let ran = testkit::play(&HANDLERS.replace("FORCE", ""), 2);
        let second = ran.lines.iter().position(|l| l == "handler second");
        let first = ran.lines.iter().position(|l| l == "handler first");
        assert!(
            second.is_some() && first.is_some() && second < first,
            "{:?}",
            ran.lines
        );
        assert_eq!(
            ran.lines.iter().filter(|l| *l == "handler first").count(),
            1
        );
        assert_eq!(ran.hosts("second", "ok"), ["h1"]);
        let mut first_hosts = ran.hosts("first", "ok");
        first_hosts.sort();
        assert_eq!(first_hosts, ["h1", "h2"]);
    }

    #[test]
    fn a_failed_host_runs_its_handlers_only_under_force_handlers() {
        let book = HANDLERS.replace("break_h2 | default(false)", "true");
        let ran = testkit::play(&book.replace("FORCE", ""), 2);
        assert_eq!(ran.hosts("first", "ok"), ["h1"]);
        let ran = testkit::play(&book.replace("FORCE", "force_handlers: true"), 2);
        let mut hosts = ran.hosts("first", "ok");
        hosts.sort();
        assert_eq!(hosts, ["h1", "h2"]);
    }
}
