//! The handlers room: `notify`/`listen`, and running what was notified.
//!
//! Owns the handler list of a batch (flattened in definition order, roles' handlers with their
//! role, grown by `include_role`), queuing a notification per host once however often it
//! comes ([`queue_notified`]), and the flush: handlers run in the order they are defined, once
//! per host, on the hosts still going, or on every notified host under `force_handlers`
//! ([`hosts_to_flush`]). When the flushes happen (end of each section, `meta: flush_handlers`)
//! is the play's and the meta room's.

use super::events::Event;
use super::{BatchState, Ctx, Runner};
use crate::connection::BoxFuture;
use crate::diagnostics::Error;
use crate::playbook::{Item, Task};
use crate::template;
use crate::value::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A handler, ready to run.
#[derive(Clone)]
pub(super) struct Handler {
    task: Arc<Task>,
    ctx: Ctx,
    /// The name templated with play-level variables, once it has been needed: `Some(None)`
    /// when it could not be templated (the handler is then reachable by `listen` alone).
    name: Option<Option<String>>,
    /// The block of the handler list it belongs to ([`flatten_handlers`]).
    block: usize,
}

/// Handlers in definition order (blocks in the handler list flattened, roles' with their role).
/// Each is numbered with the block it belongs to, as ansible-core groups them: a run of
/// handlers written one after the other is one block, every `block:` and every role's (or
/// included role's) handlers another.
pub(super) fn flatten_handlers(items: &[Item], ctx: &Ctx, out: &mut Vec<Handler>) {
    let mut next = out.last().map_or(0, |h| h.block + 1);
    let mut current = next;
    let mut in_run = false;
    for item in items {
        match item {
            Item::Task(_) if in_run => {}
            _ => {
                current = next;
                next += 1;
            }
        }
        in_run = matches!(item, Item::Task(_));
        flatten_into(std::slice::from_ref(item), ctx, current, out);
    }
}

fn flatten_into(items: &[Item], ctx: &Ctx, block: usize, out: &mut Vec<Handler>) {
    for item in items {
        match item {
            Item::Task(t) => out.push(Handler {
                task: t.clone(),
                ctx: Ctx {
                    handler: true,
                    ..ctx.enter(&t.kw, None)
                },
                name: None,
                block,
            }),
            Item::Block(b) => {
                flatten_into(&b.block, &ctx.enter(&b.kw, b.role.as_ref()), block, out)
            }
        }
    }
}

/// What a notification is matched against, per handler in definition order: the names it
/// answers to (none when it has no usable name), its `listen` topics and its block.
pub(super) struct Candidate<'h> {
    pub names: Vec<String>,
    pub listen: &'h [String],
    pub block: usize,
}

/// The handlers a notification reaches, by index in definition order, as ansible-core looks
/// them up: blocks from the last to the first, handlers in a block in order; by name (its plain
/// name, or `role : name` for a role's) the first handler found, then every handler that
/// `listen`s to it, one per handler name.
pub(super) fn matching_handlers(handlers: &[Candidate<'_>], wanted: &str) -> Vec<usize> {
    let mut order: Vec<usize> = (0..handlers.len()).collect();
    order.sort_by_key(|i| (std::cmp::Reverse(handlers[*i].block), *i));
    let mut found = Vec::new();
    if let Some(i) = order
        .iter()
        .find(|i| handlers[**i].names.iter().any(|n| n == wanted))
    {
        found.push(*i);
    }
    let mut seen: Vec<&str> = Vec::new();
    for i in order {
        let h = &handlers[i];
        if !h.listen.iter().any(|l| l == wanted) {
            continue;
        }
        if let Some(name) = h.names.first() {
            if seen.contains(&name.as_str()) {
                continue;
            }
            seen.push(name);
        }
        if !found.contains(&i) {
            found.push(i);
        }
    }
    found.sort_unstable();
    found
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

/// The notifications of a task: each entry of `notify`, templated for the host when it is a
/// template; one that renders to a list gives each of its items.
fn notifications(
    entries: &[String],
    render: impl Fn(&str) -> Result<Value, Error>,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for entry in entries {
        if !template::is_template(entry) {
            out.push(entry.clone());
            continue;
        }
        let v = render(entry)?;
        match v.try_iter() {
            Ok(items) if v.kind() == minijinja::value::ValueKind::Seq => {
                out.extend(items.map(|i| i.to_string()))
            }
            _ => out.push(v.to_string()),
        }
    }
    Ok(out)
}

/// A role's name without its collection (`ns.col.web` is `web`; other names as they are).
fn short_role_name(name: &str) -> &str {
    match name.split('.').collect::<Vec<_>>()[..] {
        [_, _, short] if !name.contains('/') => short,
        _ => name,
    }
}

/// The action a `meta` task names.
fn meta_action(task: &Task) -> String {
    task.args
        .get_attr("_raw_params")
        .ok()
        .filter(|v| !v.is_undefined())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

impl Runner<'_> {
    /// Runs the notified handlers, in the order they are defined, once per host.
    pub(super) fn flush_handlers<'a>(
        &'a mut self,
        state: &'a mut BatchState,
        active: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        self.flush_handlers_in(state, active, false)
    }

    /// [`Runner::flush_handlers`] from a `meta: flush_handlers` inside a block with a
    /// `rescue` (`rescuable`): a handler that fails there is the rescue's to handle, and the
    /// rescue sees it as `ansible_failed_task`, as ansible-core routes it.
    pub(super) fn flush_handlers_in<'a>(
        &'a mut self,
        state: &'a mut BatchState,
        active: Vec<String>,
        rescuable: bool,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let mut active = active;
            let mut idx = 0;
            // The list can grow while running (include_role adds handlers).
            while idx < state.handlers.len() {
                // What was notified so far (handlers notify too) reaches its handlers now.
                self.match_notifications(state);
                let mut h = state.handlers[idx].clone();
                h.ctx.rescuable |= rescuable;
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
                    let survivors = match h.task.action.as_str() {
                        // An included tasks file runs as handlers, on the notified hosts.
                        "include_tasks" => {
                            self.run_include(state, &h.task, &h.ctx, hosts.clone())
                                .await?
                        }
                        "meta" if meta_action(&h.task) == "flush_handlers" => {
                            return Err(Error::syntax(
                                &h.task.span,
                                "flush_handlers cannot be used as a handler",
                            ));
                        }
                        _ => {
                            self.run_task(state, &h.task, &h.ctx, hosts.clone(), true)
                                .await?
                        }
                    };
                    active.retain(|a| !hosts.contains(a) || survivors.contains(a));
                }
                idx += 1;
            }
            Ok(active)
        })
    }

    /// `ANSIBLE_DEBUG`: what ansible-core's debug output says of an implicit flush, for the
    /// hosts that have handlers waiting.
    pub(super) fn debug_implicit_flush(&mut self, state: &BatchState, active: &[String]) {
        for host in active {
            let waiting = state.notifications.get(host).is_some_and(|n| !n.is_empty())
                || state.notified.get(host).is_some_and(|n| !n.is_empty());
            if waiting {
                self.reporter.event(&Event::Verbose {
                    level: 0,
                    text: &format!("META: triggered running handlers for {host}"),
                });
            }
        }
    }

    /// The names each handler answers to, templating (once) those not yet templated. A name
    /// that cannot be templated leaves the handler to its `listen` topics, with a warning
    /// when it has none.
    fn handler_candidates(
        &mut self,
        state: &mut BatchState,
    ) -> Vec<(Vec<String>, Vec<String>, usize)> {
        let pending: Vec<usize> = (0..state.handlers.len())
            .filter(|i| state.handlers[*i].name.is_none())
            .collect();
        if !pending.is_empty() {
            let list = Arc::make_mut(&mut state.handlers);
            for i in pending {
                let h = &list[i];
                let name = match &h.task.name {
                    None => None,
                    Some(n) if !template::is_template(n) => Some(n.clone()),
                    Some(n) => match self
                        .template_play_level(&Value::from(n.as_str()), &h.ctx.layers.mid)
                    {
                        Ok(v) => Some(v.to_string()),
                        Err(e) => {
                            if h.task.listen.is_empty() {
                                let text = format!(
                                    "Handler '{n}' is unusable because it has no listen topics and the name could not be templated (host-specific variables are not supported in handler names). The error: {}",
                                    e.message
                                );
                                self.warn_once(&text);
                            }
                            None
                        }
                    },
                };
                list[i].name = Some(name);
            }
        }
        state
            .handlers
            .iter()
            .map(|h| {
                // A role's handler also answers to `role : name`, and its topics to
                // `role : topic`, by the role's full name and by its short one.
                let prefixes: Vec<String> = match &h.ctx.role {
                    Some(r) => {
                        let mut p = vec![r.name.clone()];
                        let short = short_role_name(&r.name);
                        if short != r.name {
                            p.push(short.to_string());
                        }
                        p
                    }
                    None => Vec::new(),
                };
                let mut names = Vec::new();
                if let Some(Some(n)) = &h.name {
                    names.push(n.clone());
                    names.extend(prefixes.iter().map(|p| format!("{p} : {n}")));
                }
                let mut listen = h.task.listen.clone();
                for t in &h.task.listen {
                    listen.extend(prefixes.iter().map(|p| format!("{p} : {t}")));
                }
                (names, listen, h.block)
            })
            .collect()
    }

    /// Matches the notifications waiting, per host, to the handlers they reach now, and queues
    /// those.
    fn match_notifications(&mut self, state: &mut BatchState) {
        if state.notifications.values().all(Vec::is_empty) {
            return;
        }
        let table = self.handler_candidates(state);
        let candidates: Vec<Candidate<'_>> = table
            .iter()
            .map(|(names, listen, block)| Candidate {
                names: names.clone(),
                listen,
                block: *block,
            })
            .collect();
        let waiting = std::mem::take(&mut state.notifications);
        for (host, names) in waiting {
            let queued = state.notified.entry(host).or_default();
            for name in names {
                queue_notified(queued, &matching_handlers(&candidates, &name));
            }
        }
    }

    /// Queues the handlers a changed task notifies on `host`, by name or by `listen` topic.
    /// `notify` entries that are templates are rendered in `scope` (the host's variables).
    pub(super) fn notify(
        &mut self,
        state: &mut BatchState,
        task: &Task,
        host: &str,
        render: impl Fn(&str) -> Result<Value, Error>,
    ) -> Result<(), Error> {
        let wanted_all = notifications(&task.notify, render)?;
        let table = self.handler_candidates(state);
        let candidates: Vec<Candidate<'_>> = table
            .iter()
            .map(|(names, listen, block)| Candidate {
                names: names.clone(),
                listen,
                block: *block,
            })
            .collect();
        for wanted in &wanted_all {
            let matches = matching_handlers(&candidates, wanted);
            if matches.is_empty() {
                let msg = format!(
                    "The requested handler '{wanted}' was not found in either the main handlers list nor in the listening handlers list"
                );
                if self.opts.error_on_missing_handler {
                    return Err(Error::syntax(&task.span, msg));
                }
                self.warn_once(&msg);
                continue;
            }
            // Matched again when handlers are flushed (see match_notifications).
            let waiting = state.notifications.entry(host.to_string()).or_default();
            if !waiting.contains(wanted) {
                waiting.push(wanted.clone());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::testkit::{self, hosts};

    fn cand<'a>(names: &[&str], listen: &'a [String], block: usize) -> Candidate<'a> {
        Candidate {
            names: names.iter().map(|n| n.to_string()).collect(),
            listen,
            block,
        }
    }

    #[test]
    fn a_notification_reaches_one_handler_of_its_name_and_its_listeners_as_ansible_searches() {
        let restart = ["restart web".to_string()];
        let none: Vec<String> = Vec::new();
        let list = [
            cand(&["reload nginx"], &none, 0),
            cand(&["restart nginx"], &restart, 0),
            cand(&[], &restart, 0),
            cand(&["restart web"], &none, 0),
            cand(&["reload nginx"], &none, 0),
            cand(&["reload nginx"], &none, 1),
            cand(&["restart nginx", "web : restart nginx"], &restart, 2),
        ];
        // Listeners: one per handler name, the one in the last block.
        assert_eq!(matching_handlers(&list, "restart web"), vec![2, 3, 6]);
        // By name: the last block first, and in a block its first handler of that name.
        assert_eq!(matching_handlers(&list, "reload nginx"), vec![5]);
        let first_block = &list[..5];
        assert_eq!(matching_handlers(first_block, "reload nginx"), vec![0]);
        assert_eq!(matching_handlers(&list, "web : restart nginx"), vec![6]);
        assert!(matching_handlers(&list, "nothing").is_empty());
    }

    #[test]
    fn a_collection_role_has_a_short_name_too() {
        assert_eq!(short_role_name("ns.col.web"), "web");
        assert_eq!(short_role_name("web"), "web");
        assert_eq!(short_role_name("lang/roles/app"), "lang/roles/app");
        assert_eq!(short_role_name("a.b"), "a.b");
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

    #[test]
    fn ansible_debug_says_which_hosts_run_handlers_at_the_implicit_flush() {
        let opts = crate::exec::Options {
            debug: true,
            ..testkit::options()
        };
        let ran = testkit::play_with(&HANDLERS.replace("FORCE", ""), &[], 2, opts);
        let lines: Vec<&String> = ran
            .lines
            .iter()
            .filter(|l| l.starts_with("verbose0 META: triggered running handlers"))
            .collect();
        assert_eq!(
            lines,
            [
                "verbose0 META: triggered running handlers for h1",
                "verbose0 META: triggered running handlers for h2"
            ],
            "{:?}",
            ran.lines
        );
        let quiet = testkit::play(&HANDLERS.replace("FORCE", ""), 2);
        assert!(!quiet.lines.iter().any(|l| l.contains("triggered running")));
    }
}
