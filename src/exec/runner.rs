//! One task on one host: conditions, loops, templating of arguments, the module call, and what
//! Ansible does with the result (`changed_when`, `failed_when`, `until`, `ignore_errors`).
//!
//! A [`HostJob`] owns everything it needs, so the executor can run one per host concurrently;
//! its [`HostOutcome`] goes back to the executor, which reports it and applies it (register,
//! set_fact, notify) in one place.

use super::Options;
use super::events::{Status, TaskResult};
use super::pool::Pool;
use crate::connection::{ConnectSpec, Transport};
use crate::diagnostics::Error;
use crate::modules::{self, Become, Facts, InventoryChange, ModuleCtx, ModuleError, Outcome};
use crate::playbook::{Keywords, Task};
use crate::template;
use crate::value::{self, Value, Vars};
use crate::vars::{Layers, OMIT, VarStore};
use minijinja::value::ValueKind;
use std::sync::Arc;
use std::time::Duration;

/// What one host includes: the target (a file, or a role with its `_from` files) and the loop
/// item's variables.
pub type Inclusion = (String, Option<Vars>);

/// The variable a loop item's scope keeps its templated `delegate_to` under.
const ITEM_DELEGATE: &str = "_baton_item_delegate_to";

/// What ansible-core 2.19 puts in a failed result's `exception` when it has no traceback.
const NO_TRACEBACK: &str = "(traceback unavailable)";

/// Everything one host needs to run one task.
#[derive(Clone)]
pub struct HostJob {
    pub host: String,
    pub task: Arc<Task>,
    /// Keywords from the play down to the task (the task's last); the nearest one set wins.
    pub chain: Arc<Vec<Keywords>>,
    /// Variable layers of play, roles, blocks and task.
    pub layers: Arc<Layers>,
    pub magic: Vars,
    pub store: Arc<VarStore>,
    pub pool: Arc<Pool>,
    pub opts: Arc<Options>,
    /// `delegate_to`, once templated: the host the task runs on for this host.
    pub delegate: Option<String>,
}

/// What happened, for the executor to report and apply.
pub struct HostOutcome {
    pub result: TaskResult,
    /// Per-item results of a loop, in order.
    pub items: Vec<TaskResult>,
    /// The value `register` stores.
    pub registered: Value,
    /// `set_fact`'s facts.
    pub facts: Option<Vars>,
    /// The connection broke: forget it.
    pub broken: Option<ConnectSpec>,
    /// `delegate_facts` held for this host: facts go to the host the task was delegated to.
    pub delegate_facts: bool,
}

impl HostJob {
    fn kw<'a>(&'a self, get: impl Fn(&'a Keywords) -> &'a Option<Value>) -> Option<&'a Value> {
        self.chain.iter().rev().find_map(|k| get(k).as_ref())
    }

    pub(super) fn scope(&self, extra: Option<Vars>) -> Value {
        match extra {
            Some(e) => {
                let layers = self.layers.with_mid(&Arc::new(e));
                self.store.scope(&self.host, &layers, self.magic.clone())
            }
            None => self
                .store
                .scope(&self.host, &self.layers, self.magic.clone()),
        }
    }

    /// A failed outcome for an error raised by baton (not by the module).
    pub fn failure(&self, e: Error) -> HostOutcome {
        let e = e.at(&self.task.span);
        let mut r = Vars::new();
        r.insert("failed".into(), Value::from(true));
        r.insert("msg".into(), Value::from(task_error_text(&e)));
        r.insert("changed".into(), Value::from(false));
        r.insert("exception".into(), Value::from(NO_TRACEBACK));
        let registered = value::from_vars(&r);
        let ignored = self
            .keyword(|k| &k.ignore_errors)
            .ok()
            .flatten()
            .is_some_and(|v| template::truthy(&v));
        HostOutcome {
            result: self.result(Status::Failed, r, ignored, None),
            items: Vec::new(),
            registered,
            facts: None,
            broken: None,
            delegate_facts: false,
        }
    }

    /// Whether the task's conditions hold for this host (for the executor's own actions).
    pub fn when_holds(&self) -> Result<bool, Error> {
        Ok(self.skip_reason(&self.scope(None))?.is_none())
    }

    /// A skipped outcome (a `when` that did not hold).
    pub fn skipped_outcome(&self) -> HostOutcome {
        let mut r = Vars::new();
        r.insert("changed".into(), Value::from(false));
        r.insert(
            "skip_reason".into(),
            Value::from("Conditional result was False"),
        );
        r.insert("skipped".into(), Value::from(true));
        self.skipped(r)
    }

    /// For `include_tasks`/`include_role`: `None` when skipped, else what to include, once per
    /// loop item, with the item's variables.
    pub fn include_decisions(&self) -> Result<Option<Vec<Inclusion>>, Error> {
        let scope = self.scope(None);
        let target = |scope: &Value| -> Result<String, Error> {
            let args = template::render_value(&self.task.args, scope)?;
            if self.task.action == "include_role" {
                super::role_target(&args).map_err(|m| Error::syntax(&self.task.span, m))
            } else {
                crate::playbook::load::include_target(&args).ok_or_else(|| {
                    Error::syntax(
                        &self.task.span,
                        "include_tasks needs the name of a tasks file",
                    )
                })
            }
        };
        let Some(lp) = &self.task.loop_ else {
            if self.skip_reason(&scope)?.is_some() {
                return Ok(None);
            }
            return Ok(Some(vec![(target(&scope)?, None)]));
        };
        let loop_var = self
            .task
            .loop_control
            .loop_var
            .clone()
            .unwrap_or_else(|| "item".to_string());
        let mut out = Vec::new();
        for (i, item) in self
            .loop_items(&lp.kind, &lp.value, &scope)?
            .into_iter()
            .enumerate()
        {
            let mut layer = Vars::new();
            layer.insert(loop_var.clone(), item);
            if let Some(iv) = &self.task.loop_control.index_var {
                layer.insert(iv.clone(), Value::from(i));
            }
            let item_scope = self.scope(Some(layer.clone()));
            if self.skip_reason(&item_scope)?.is_some() {
                continue;
            }
            out.push((target(&item_scope)?, Some(layer)));
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }

    fn flag(&self, v: Option<&Value>, scope: &Value) -> Result<bool, Error> {
        match v {
            None => Ok(false),
            Some(v) => Ok(template::truthy(&template::render_value(v, scope)?)),
        }
    }

    /// Runs the task on the host.
    pub async fn run(mut self) -> HostOutcome {
        let mut scope = self.scope(None);
        match self.delegate_target(&scope) {
            Ok(d) => {
                if let Some(d) = d.as_ref().filter(|_| self.task.loop_.is_none()) {
                    let dv = self.delegated_vars(d, &scope);
                    // The task's connection variables are the delegated host's.
                    let address = dv
                        .get_item(&Value::from(d.as_str()))
                        .and_then(|v| v.get_attr("ansible_host"))
                        .map(|v| v.to_string())
                        .unwrap_or_else(|_| d.clone());
                    self.magic.insert("ansible_delegated_vars".into(), dv);
                    self.magic
                        .insert("ansible_host".into(), Value::from(address));
                    scope = self.scope(None);
                }
                self.delegate = d;
            }
            // `delegate_to: "{{ item }}"`: templated again for each item (run_once).
            Err(_) if self.task.loop_.is_some() => {}
            Err(e) => return self.failure(e),
        }
        match self.run_inner(&scope).await {
            Ok(mut outcome) => {
                outcome.delegate_facts = self.delegate_facts().unwrap_or(false);
                outcome
            }
            Err(e) => {
                let e = e.at(&self.task.span);
                let mut r = Vars::new();
                r.insert("failed".into(), Value::from(true));
                r.insert("msg".into(), Value::from(task_error_text(&e)));
                r.insert("exception".into(), Value::from(NO_TRACEBACK));
                r.insert("changed".into(), Value::from(false));
                let ignored = self
                    .flag(self.kw(|k| &k.ignore_errors), &scope)
                    .unwrap_or(false);
                let registered = value::from_vars(&r);
                HostOutcome {
                    result: self.result(Status::Failed, r, ignored, None),
                    items: Vec::new(),
                    registered,
                    facts: None,
                    broken: None,
                    delegate_facts: false,
                }
            }
        }
    }

    /// `ansible_delegated_vars`: the delegated host's variables under its name, with
    /// `inventory_hostname` still this host's, as ansible-core gives them.
    fn delegated_vars(&self, delegate: &str, scope: &Value) -> Value {
        let theirs = scope
            .get_attr("hostvars")
            .and_then(|h| h.get_item(&Value::from(delegate)))
            .unwrap_or_default();
        let mut mine = indexmap::IndexMap::new();
        mine.insert(
            "inventory_hostname".to_string(),
            Value::from(self.host.as_str()),
        );
        mine.insert(
            "ansible_host".to_string(),
            Value::from(self.delegated_address(delegate, &theirs)),
        );
        value::map([(delegate, template::Overlay::value(mine, theirs))])
    }

    /// The address a delegated host is reached at: its `ansible_host`, else its name.
    fn delegated_address(&self, delegate: &str, theirs: &Value) -> String {
        theirs
            .get_attr("ansible_host")
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_none())
            .map(|v| v.to_string())
            .unwrap_or_else(|| delegate.to_string())
    }

    /// `delegate_to`, templated with this host's variables; `None` when the task runs here.
    fn delegate_target(&self, scope: &Value) -> Result<Option<String>, Error> {
        let Some(d) = self.kw(|k| &k.delegate_to) else {
            return Ok(None);
        };
        // A loop item's target is templated once (it may be random) and kept in its scope.
        if let Ok(chosen) = scope.get_attr(ITEM_DELEGATE)
            && let Some(name) = chosen.as_str()
        {
            return Ok((name != self.host).then(|| name.to_string()));
        }
        let name = template::render_value(d, scope)?.to_string();
        Ok((!name.is_empty() && name != self.host).then_some(name))
    }

    /// How ansible-playbook names a delegated host in its output: `name(address)` when the
    /// inventory gives it an address other than its name.
    fn delegate_label(&self, delegate: &str) -> String {
        let vars = self.store.inventory_vars(delegate);
        match vars.get("ansible_host").map(|v| v.to_string()) {
            Some(addr) if addr != delegate => format!("{delegate}({addr})"),
            _ => delegate.to_string(),
        }
    }

    /// How to reach the delegated host: its own inventory variables (or, for a localhost that
    /// the inventory does not name, Ansible's implicit localhost on the local connection).
    fn delegate_spec(&self, delegate: &str) -> Result<ConnectSpec, Error> {
        let known = self.store.inventory().hosts.contains_key(delegate);
        if !known && matches!(delegate, "localhost" | "127.0.0.1" | "::1") {
            let mut spec = ConnectSpec::new(delegate);
            spec.transport = Transport::Local;
            return Ok(spec);
        }
        let mut magic = Vars::new();
        magic.insert("inventory_hostname".into(), Value::from(delegate));
        let scope = self.store.scope(delegate, &self.layers, magic);
        let mut spec = self.connect_spec(&scope)?;
        spec.name = delegate.to_string();
        let has_address = scope
            .get_attr("ansible_host")
            .is_ok_and(|v| !v.is_undefined() && !v.is_none());
        if !has_address {
            spec.address = delegate.to_string();
        }
        Ok(spec)
    }

    fn result(
        &self,
        status: Status,
        result: Vars,
        ignored: bool,
        item: Option<String>,
    ) -> TaskResult {
        let verbose_always = result
            .get("_ansible_verbose_always")
            .is_some_and(|v| v.is_true());
        // no_log: reporters get Ansible's censored result; `register` keeps the real one.
        let (result, item) = match self.no_log() {
            true => (
                censor(&result),
                item.map(|_| "(censored due to no_log)".to_string()),
            ),
            false => (result, item),
        };
        TaskResult {
            host: self.host.clone(),
            status,
            result,
            ignored,
            delegated_to: self.delegate.as_ref().map(|d| self.delegate_label(d)),
            item_label: item,
            verbose_always,
            action: self.task.action.clone(),
            task_id: super::events::task_id(&self.task),
        }
    }

    /// Whether the task's results are hidden; a `no_log` that fails to template hides them.
    fn no_log(&self) -> bool {
        match self.kw(|k| &k.no_log) {
            None => false,
            Some(v) if v.kind() == ValueKind::Bool => v.is_true(),
            Some(v) => self.flag(Some(v), &self.scope(None)).unwrap_or(true),
        }
    }

    async fn run_inner(&self, scope: &Value) -> Result<HostOutcome, Error> {
        let ignore_errors = self.flag(self.kw(|k| &k.ignore_errors), scope)?;
        let Some(lp) = &self.task.loop_ else {
            if let Some(skip) = self.skip_reason(scope)? {
                return Ok(self.skipped(skip));
            }
            let (status, result, facts, broken) = self.run_once(scope).await?;
            let ignored = ignore_errors && status == Status::Failed;
            let registered = value::from_vars(&result);
            return Ok(HostOutcome {
                result: self.result(status, result, ignored, None),
                items: Vec::new(),
                registered,
                facts,
                broken,
                delegate_facts: false,
            });
        };

        let items = self.loop_items(&lp.kind, &lp.value, scope)?;
        let lc = &self.task.loop_control;
        let loop_var = lc.loop_var.clone().unwrap_or_else(|| "item".to_string());
        let mut results = Vec::new();
        let mut item_results = Vec::new();
        let mut facts_all: Option<Vars> = None;
        let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
        let mut broken = None;
        let mut unreachable = false;
        let n = items.len();
        for (i, item) in items.into_iter().enumerate() {
            let mut layer = Vars::new();
            layer.insert(loop_var.clone(), item.clone());
            layer.insert("ansible_loop_var".into(), Value::from(loop_var.as_str()));
            if let Some(iv) = &lc.index_var {
                layer.insert(iv.clone(), Value::from(i));
                layer.insert("ansible_index_var".into(), Value::from(iv.as_str()));
            }
            if lc.extended {
                layer.insert(
                    "ansible_loop".into(),
                    value::map([
                        ("index", Value::from(i + 1)),
                        ("index0", Value::from(i)),
                        ("revindex", Value::from(n - i)),
                        ("revindex0", Value::from(n - i - 1)),
                        ("first", Value::from(i == 0)),
                        ("last", Value::from(i + 1 == n)),
                        ("length", Value::from(n)),
                    ]),
                );
            }
            let mut item_scope = self.scope(Some(layer.clone()));
            let mut item_delegate = None;
            if self.kw(|k| &k.delegate_to).is_some()
                && let Ok(Some(d)) = self.delegate_target(&item_scope)
            {
                item_delegate = Some(self.delegate_label(&d));
                let dv = self.delegated_vars(&d, &item_scope);
                let address = dv
                    .get_item(&Value::from(d.as_str()))
                    .and_then(|v| v.get_attr("ansible_host"))
                    .map(|v| v.to_string())
                    .unwrap_or_else(|_| d.clone());
                layer.insert("ansible_delegated_vars".into(), dv);
                layer.insert("ansible_host".into(), Value::from(address));
                layer.insert(ITEM_DELEGATE.into(), Value::from(d.as_str()));
                item_scope = self.scope(Some(layer.clone()));
            }
            let label = match &lc.label {
                Some(l) => template::render_value(l, &item_scope)?,
                None => item.clone(),
            };
            let label_text = label_text(&label);
            let (status, mut result, facts, br) = match self.skip_reason(&item_scope)? {
                Some(skip) => (Status::Skipped, skip, None, None),
                None => match self.run_once(&item_scope).await {
                    Ok(r) => r,
                    Err(e) => {
                        let mut r = Vars::new();
                        r.insert("failed".into(), Value::from(true));
                        r.insert("msg".into(), Value::from(task_error_text(&e)));
                        (Status::Failed, r, None, None)
                    }
                },
            };
            if br.is_some() {
                broken = br;
            }
            match status {
                Status::Changed => any_changed = true,
                Status::Failed => any_failed = true,
                Status::Unreachable => unreachable = true,
                _ => {}
            }
            if status != Status::Skipped {
                all_skipped = false;
            }
            // delegate_facts with `delegate_to: "{{ item }}"`: each item's facts belong to the
            // host that item was delegated to.
            let item_owner = match (&facts, self.task.loop_.is_some()) {
                (Some(_), true) if self.delegate_facts().unwrap_or(false) => {
                    self.delegate_target(&item_scope).ok().flatten()
                }
                _ => None,
            };
            if let (Some(f), Some(owner)) = (&facts, &item_owner) {
                match modules::spec_of(&self.task.action).map(|s| s.facts) {
                    Some(Facts::Variables) | Some(Facts::Files) => {
                        for (k, v) in f {
                            self.store.set_host_var(owner, k, v.clone());
                        }
                    }
                    _ => {
                        self.store.merge_facts(owner, f.clone());
                    }
                }
            } else if let Some(f) = facts {
                // Each item sees the facts the items before it set (a loop can accumulate).
                if modules::spec_of(&self.task.action).is_some_and(|s| s.facts == Facts::Variables)
                {
                    for (k, v) in &f {
                        self.store.set_host_var(&self.host, k, v.clone());
                    }
                }
                facts_all.get_or_insert_with(Vars::new).extend(f);
            }
            result.insert(loop_var.clone(), item.clone());
            result.insert("ansible_loop_var".into(), Value::from(loop_var.as_str()));
            if let Some(iv) = &lc.index_var {
                result.insert(iv.clone(), Value::from(i));
                result.insert("ansible_index_var".into(), Value::from(iv.as_str()));
            }
            results.push(value::from_vars(&result));
            let mut item_result = self.result(
                status,
                result,
                ignore_errors && status == Status::Failed,
                Some(label_text),
            );
            if item_delegate.is_some() {
                item_result.delegated_to = item_delegate;
            }
            item_results.push(item_result);
            if unreachable {
                break;
            }
            if let Some(p) = &lc.pause
                && let Some(secs) = p.as_i64().or_else(|| p.to_string().parse().ok())
            {
                tokio::time::sleep(Duration::from_secs(secs.max(0) as u64)).await;
            }
        }
        let mut agg = Vars::new();
        agg.insert("changed".into(), Value::from(any_changed));
        agg.insert(
            "msg".into(),
            Value::from(if any_failed {
                "One or more items failed"
            } else {
                "All items completed"
            }),
        );
        agg.insert("results".into(), Value::from(results));
        let status = if unreachable {
            Status::Unreachable
        } else if any_failed {
            agg.insert("failed".into(), Value::from(true));
            Status::Failed
        } else if all_skipped && !item_results.is_empty() {
            agg.insert("skipped".into(), Value::from(true));
            Status::Skipped
        } else if item_results.is_empty() {
            agg.insert("skipped".into(), Value::from(true));
            agg.insert("skipped_reason".into(), Value::from("No items in the list"));
            Status::Skipped
        } else if any_changed {
            Status::Changed
        } else {
            Status::Ok
        };
        if status != Status::Failed {
            agg.shift_remove("msg");
            if status == Status::Ok || status == Status::Changed {
                agg.insert("msg".into(), Value::from("All items completed"));
            }
        }
        let registered = value::from_vars(&agg);
        Ok(HostOutcome {
            result: self.result(status, agg, ignore_errors && status == Status::Failed, None),
            items: item_results,
            registered,
            facts: facts_all,
            broken,
            delegate_facts: false,
        })
    }

    fn skipped(&self, result: Vars) -> HostOutcome {
        let registered = value::from_vars(&result);
        HostOutcome {
            result: self.result(Status::Skipped, result, false, None),
            items: Vec::new(),
            registered,
            facts: None,
            broken: None,
            delegate_facts: false,
        }
    }

    /// `None` when every `when` holds; else the skip result.
    fn skip_reason(&self, scope: &Value) -> Result<Option<Vars>, Error> {
        for kw in self.chain.iter() {
            for cond in &kw.when {
                if !template::eval_condition(cond, scope).map_err(|e| {
                    e.context(format!("while evaluating the conditional '{}'", cond))
                })? {
                    let mut r = Vars::new();
                    r.insert("changed".into(), Value::from(false));
                    r.insert("false_condition".into(), cond.clone());
                    r.insert(
                        "skip_reason".into(),
                        Value::from("Conditional result was False"),
                    );
                    r.insert("skipped".into(), Value::from(true));
                    return Ok(Some(r));
                }
            }
        }
        Ok(None)
    }

    fn loop_items(&self, kind: &str, raw: &Value, scope: &Value) -> Result<Vec<Value>, Error> {
        // The items are templating's results (and a lookup's data): each is data from here on,
        // and `{{ item }}` never renders what an item holds.
        self.loop_items_raw(kind, raw, scope)
            .map(|items| items.into_iter().map(value::untrusted).collect())
    }

    fn loop_items_raw(&self, kind: &str, raw: &Value, scope: &Value) -> Result<Vec<Value>, Error> {
        let v = template::render_value(raw, scope)?;
        let invalid = |v: &Value| {
            Error::new(
                crate::diagnostics::ErrorKind::Template,
                format!(
                    "Invalid data passed to 'loop', it requires a list, got this instead: {v}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup."
                ),
            )
            .at(&self.task.span)
        };
        match kind {
            "loop" | "list" => match v.kind() {
                // Iterable: a lazily computed sequence (a slice `l[:n]`, `a + b`).
                ValueKind::Seq | ValueKind::Iterable => {
                    Ok(v.try_iter().map(|i| i.collect()).unwrap_or_default())
                }
                _ => Err(invalid(&v)),
            },
            "items" => {
                let top: Vec<Value> = match v.kind() {
                    ValueKind::Seq => v.try_iter().map(|i| i.collect()).unwrap_or_default(),
                    ValueKind::None | ValueKind::Undefined => Vec::new(),
                    _ => vec![v],
                };
                let mut out = Vec::new();
                for i in top {
                    if i.kind() == ValueKind::Seq {
                        out.extend(
                            i.try_iter()
                                .map(|it| it.collect::<Vec<_>>())
                                .unwrap_or_default(),
                        );
                    } else {
                        out.push(i);
                    }
                }
                Ok(out)
            }
            "dict" => {
                if v.kind() != ValueKind::Map {
                    return Err(Error::new(
                        crate::diagnostics::ErrorKind::Template,
                        format!("with_dict expects a dict, got {v}"),
                    )
                    .at(&self.task.span));
                }
                Ok(v.try_iter()
                    .map(|keys| {
                        keys.map(|k| {
                            let val = v.get_item(&k).unwrap_or_default();
                            value::map([("key", k), ("value", val)])
                        })
                        .collect()
                    })
                    .unwrap_or_default())
            }
            "indexed_items" => Ok(v
                .try_iter()
                .map(|it| {
                    it.enumerate()
                        .map(|(i, x)| Value::from(vec![Value::from(i), x]))
                        .collect()
                })
                .unwrap_or_default()),
            // Every other `with_<lookup>` is the lookup's list of results.
            other => {
                let v = crate::template::lookups::loop_items(other, &v, &self.task.action, scope)
                    .map_err(|e| e.at(&self.task.span))?;
                Ok(v.try_iter().map(|i| i.collect()).unwrap_or_default())
            }
        }
    }

    /// Runs the module once (one item, or the task), with until/retries.
    async fn run_once(
        &self,
        scope: &Value,
    ) -> Result<(Status, Vars, Option<Vars>, Option<ConnectSpec>), Error> {
        // As ansible-core counts: the first run, then `retries` more (3 when only `until` is
        // given). `retries` without `until` retries until the task does not fail; with one
        // run in all (`retries: 0`), nothing is checked and no `attempts` is recorded.
        let retries = match &self.task.retries {
            Some(r) => Some(template::render_value(r, scope)?.as_i64().unwrap_or(3)),
            None => None,
        };
        let delay = match &self.task.delay {
            Some(d) => template::render_value(d, scope)?.as_i64().unwrap_or(5),
            None => 5,
        };
        let attempts = match retries {
            Some(r) => r.max(0) + 1,
            None if !self.task.until.is_empty() => 4,
            None => 1,
        };
        let mut last = None;
        for attempt in 1..=attempts {
            let (status, mut result, facts, broken) = self.attempt(scope).await?;
            if attempts == 1 || matches!(status, Status::Unreachable) {
                return Ok((status, result, facts, broken));
            }
            result.insert("attempts".into(), Value::from(attempt));
            let done = if self.task.until.is_empty() {
                status != Status::Failed
            } else {
                let check_scope = self.with_registered(&result, scope);
                let mut done = true;
                for cond in &self.task.until {
                    if !template::eval_condition(cond, &check_scope)? {
                        done = false;
                    }
                }
                done
            };
            if done {
                // The result stands as it is: a failed run that `until` accepts still failed.
                return Ok((status, result, facts, broken));
            }
            last = Some((result, facts, broken));
            if attempt < attempts {
                tokio::time::sleep(Duration::from_secs(delay.max(0) as u64)).await;
            }
        }
        let (mut result, facts, broken) = last.unwrap_or_default();
        // Retries exhausted: ansible-core records the retries, not the runs (3 of 4).
        result.insert("attempts".into(), Value::from(attempts - 1));
        result.insert("failed".into(), Value::from(true));
        result
            .entry("msg".into())
            .or_insert_with(|| Value::from("Retries exceeded"));
        Ok((Status::Failed, result, facts, broken))
    }

    /// `scope` (the item's, in a loop) with the task's own result visible under its
    /// `register` name: what `changed_when`, `failed_when` and `until` see.
    fn with_registered(&self, result: &Vars, scope: &Value) -> Value {
        match &self.task.register {
            Some(name) => {
                let mut extra = indexmap::IndexMap::new();
                extra.insert(name.clone(), value::from_vars(result));
                crate::template::Overlay::value(extra, scope.clone())
            }
            None => scope.clone(),
        }
    }

    async fn attempt(
        &self,
        scope: &Value,
    ) -> Result<(Status, Vars, Option<Vars>, Option<ConnectSpec>), Error> {
        // A templated module name is resolved now, with this host's variables.
        let action = if crate::value::looks_like_template(&self.task.action) {
            template::render_value(&Value::from(self.task.action.as_str()), scope)?.to_string()
        } else {
            self.task.action.clone()
        };
        let found = modules::resolve(&action).ok_or_else(|| {
            Error::new(
                crate::diagnostics::ErrorKind::Syntax,
                modules::unknown_action(&action),
            )
            .at(&self.task.span)
        })?;
        let module_spec = found.module.spec();
        let args = self.templated_args(scope)?;
        let check_mode = match self.kw(|k| &k.check_mode) {
            Some(v) => template::truthy(&template::render_value(v, scope)?),
            None => self.opts.check,
        };
        let diff = match self.kw(|k| &k.diff) {
            Some(v) => template::truthy(&template::render_value(v, scope)?),
            None => self.opts.diff,
        };
        let become_ = self.become_(scope)?;
        let environment = self.environment(scope)?;
        let timeout = match self.kw(|k| &k.timeout) {
            Some(t) => template::render_value(t, scope)?
                .as_i64()
                .filter(|t| *t > 0)
                .map(|t| Duration::from_secs(t as u64)),
            None => None,
        };
        let mut spec = None;
        let conn = if module_spec.connection {
            // Per item: a loop may delegate each item to another host.
            let delegate = match self.task.loop_ {
                Some(_) => self.delegate_target(scope)?,
                None => self.delegate.clone(),
            };
            let s = match &delegate {
                Some(d) => self.delegate_spec(d)?,
                None => self.connect_spec(scope)?,
            };
            match self.pool.get(&s).await {
                Ok(c) => {
                    spec = Some(s);
                    Some(c)
                }
                Err(e) => return Ok(unreachable(&e.to_string(), Some(s))),
            }
        } else {
            None
        };
        let ctx = ModuleCtx {
            host: self.host.clone(),
            conn,
            vars: scope.clone(),
            check_mode,
            diff,
            become_,
            environment,
            timeout,
        };
        let mut outcome = match modules::invoke(found, args, &ctx).await {
            Ok(o) => o,
            Err(ModuleError::Unreachable(msg)) => return Ok(unreachable(&msg, spec)),
            Err(ModuleError::Failed(msg)) => Outcome::failed(msg),
        };
        // add_host, group_by: the executor applies the change the module asks for, and the
        // task changed when the inventory did.
        if !outcome.inventory.is_empty() {
            match apply_inventory(&self.store, &outcome.inventory) {
                Ok(changed) => outcome.changed = changed,
                Err(m) => outcome = Outcome::failed(m),
            }
        }
        // What a module returns is data from the host (or the controller's side of a module):
        // never a template (`value::untrusted`), whatever reads it next. Variables read from
        // the user's own files (include_vars) are the exception.
        let trusted = module_spec.facts == Facts::Files;
        let data = |v: Vars| if trusted { v } else { value::untrusted_vars(v) };
        // Marked once, before the result is built around them: the result's `ansible_facts`
        // then holds the marked values, and marking the result copies none of them again.
        outcome.facts = outcome.facts.take().map(data);
        let facts = outcome.facts.clone();
        let (mut changed, mut failed, skipped) = (outcome.changed, outcome.failed, outcome.skipped);
        let mut result = data(outcome.into_result());
        // changed_when / failed_when see the result under the register name. A condition that
        // cannot be evaluated fails the task, and the module's output stays in the result
        // with the error under `changed_when_result` / `failed_when_result`, as in ansible-core.
        let module_failed = failed;
        if !self.task.changed_when.is_empty() || !self.task.failed_when.is_empty() {
            let check_scope = self.with_registered(&result, scope);
            let all_hold = |conds: &[Value]| -> Result<bool, Error> {
                let mut all = true;
                for c in conds {
                    all &= template::eval_condition(c, &check_scope)?;
                }
                Ok(all)
            };
            let broken = |e: Error| {
                let msg = e.message.split(", while templating").next().unwrap_or("");
                let msg = msg
                    .strip_prefix("Error while evaluating conditional: ")
                    .unwrap_or(msg);
                Value::from(format!("Error while evaluating conditional: {msg}"))
            };
            if !self.task.changed_when.is_empty() {
                match all_hold(&self.task.changed_when) {
                    Ok(c) => {
                        changed = c;
                        result.insert("changed".into(), Value::from(changed));
                    }
                    Err(e) => {
                        result.insert("changed_when_result".into(), broken(e));
                        failed = true;
                    }
                }
            }
            if !self.task.failed_when.is_empty() && !result.contains_key("changed_when_result") {
                match all_hold(&self.task.failed_when) {
                    Ok(f) => {
                        failed = f;
                        result.insert("failed_when_result".into(), Value::from(failed));
                    }
                    Err(e) => {
                        result.insert("failed_when_result".into(), broken(e));
                        failed = true;
                    }
                }
            }
            if failed {
                result.insert("failed".into(), Value::from(true));
            } else {
                result.shift_remove("failed");
            }
        }
        // ansible-core 2.19 gives a failed result an `exception` (its traceback, which baton's
        // modules do not have); a failure failed_when suppressed keeps it under another name.
        if failed {
            result
                .entry("exception".into())
                .or_insert_with(|| Value::from(NO_TRACEBACK));
        } else if module_failed {
            result.shift_remove("exception");
            result.insert(
                "failed_when_suppressed_exception".into(),
                Value::from(NO_TRACEBACK),
            );
        }
        let status = if failed {
            Status::Failed
        } else if skipped {
            Status::Skipped
        } else if changed {
            Status::Changed
        } else {
            Status::Ok
        };
        Ok((status, result, facts, None))
    }

    /// The task's arguments templated for this host, `omit`ted ones left out.
    fn templated_args(&self, scope: &Value) -> Result<Vars, Error> {
        let args_value = template::render_value(&self.task.args, scope)?;
        let mut args = Vars::new();
        if let Ok(keys) = args_value.try_iter() {
            for k in keys {
                let v = args_value.get_item(&k).unwrap_or_default();
                if v.as_str() == Some(OMIT) {
                    continue;
                }
                args.insert(k.to_string(), v);
            }
        }
        Ok(args)
    }

    fn become_(&self, scope: &Value) -> Result<Option<Become>, Error> {
        let enabled = match self.kw(|k| &k.become_) {
            Some(v) => template::truthy(&template::render_value(v, scope)?),
            None => match scope.get_attr("ansible_become") {
                Ok(v) if !v.is_undefined() => template::truthy(&v),
                _ => self.opts.become_,
            },
        };
        if !enabled {
            return Ok(None);
        }
        let text = |v: Option<&Value>, var: &str, default: &str| -> Result<String, Error> {
            if let Some(v) = v {
                return Ok(template::render_value(v, scope)?.to_string());
            }
            match scope.get_attr(var) {
                Ok(v) if !v.is_undefined() && !v.is_none() => Ok(v.to_string()),
                _ => Ok(default.to_string()),
            }
        };
        let default_user = self
            .opts
            .become_user
            .clone()
            .unwrap_or_else(|| "root".into());
        Ok(Some(Become {
            method: text(
                self.kw(|k| &k.become_method),
                "ansible_become_method",
                "sudo",
            )?,
            user: text(
                self.kw(|k| &k.become_user),
                "ansible_become_user",
                &default_user,
            )?,
            flags: match self.kw(|k| &k.become_flags) {
                Some(f) => Some(template::render_value(f, scope)?.to_string()),
                None => None,
            },
        }))
    }

    /// `environment:` from play, blocks and task; the nearest wins per variable.
    fn environment(&self, scope: &Value) -> Result<Vec<(String, String)>, Error> {
        let mut env: Vec<(String, String)> = Vec::new();
        for kw in self.chain.iter() {
            let Some(e) = &kw.environment else { continue };
            let e = template::render_value(e, scope)?;
            let maps: Vec<Value> = if e.kind() == ValueKind::Seq {
                e.try_iter().map(|i| i.collect()).unwrap_or_default()
            } else {
                vec![e]
            };
            for m in maps {
                if let Ok(keys) = m.try_iter() {
                    for k in keys {
                        let v = m.get_item(&k).unwrap_or_default();
                        let (k, v) = (k.to_string(), env_text(&v));
                        env.retain(|(name, _)| *name != k);
                        env.push((k, v));
                    }
                }
            }
        }
        Ok(env)
    }

    /// How to reach the host: inventory connection variables, then keywords, then options.
    fn connect_spec(&self, scope: &Value) -> Result<ConnectSpec, Error> {
        let var = |name: &str| -> Option<Value> {
            scope
                .get_attr(name)
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_none())
        };
        let text = |name: &str| var(name).map(|v| v.to_string());
        let mut spec = ConnectSpec::new(&self.host);
        let connection = match text("ansible_connection") {
            Some(c) => c,
            None => match self.kw(|k| &k.connection) {
                Some(c) => template::render_value(c, scope)?.to_string(),
                None => self.opts.connection.clone().unwrap_or_else(|| "ssh".into()),
            },
        };
        spec.transport = match connection.as_str() {
            "local" => Transport::Local,
            "ssh" | "smart" | "paramiko" | "ansible.builtin.ssh" => Transport::Ssh,
            other => {
                return Err(Error::new(
                    crate::diagnostics::ErrorKind::Syntax,
                    format!("the connection plugin '{other}' was not found"),
                ));
            }
        };
        if let Some(h) = text("ansible_host").or_else(|| text("ansible_ssh_host")) {
            spec.address = h;
        }
        if let Some(p) = var("ansible_port").or_else(|| var("ansible_ssh_port")) {
            spec.explicit_port = true;
            spec.port = p
                .as_i64()
                .or_else(|| p.to_string().parse().ok())
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| {
                    Error::new(
                        crate::diagnostics::ErrorKind::Syntax,
                        format!("ansible_port '{p}' of {} is not a port number", self.host),
                    )
                })?;
        }
        let user = match text("ansible_user").or_else(|| text("ansible_ssh_user")) {
            Some(u) => Some(u),
            None => match self.kw(|k| &k.remote_user) {
                Some(u) => Some(template::render_value(u, scope)?.to_string()),
                None => self.opts.remote_user.clone(),
            },
        };
        // Unset, ~/.ssh/config's User applies (else the local user), as with ssh.
        spec.explicit_user = user.is_some();
        spec.user = user.unwrap_or(spec.user);
        spec.private_key_file = text("ansible_ssh_private_key_file")
            .or_else(|| text("ansible_private_key_file"))
            .map(|p| expand_home(&p).into())
            .or_else(|| self.opts.private_key.clone());
        let timeout = text("ansible_ssh_timeout")
            .or_else(|| text("ansible_timeout"))
            .and_then(|t| t.parse().ok())
            .map(Duration::from_secs);
        spec.explicit_timeout = timeout.is_some();
        spec.connect_timeout = timeout.unwrap_or(self.opts.connect_timeout);
        spec.host_key_checking = match var("ansible_host_key_checking")
            .or_else(|| var("ansible_ssh_host_key_checking"))
        {
            Some(v) => template::truthy(&v),
            None => self.opts.host_key_checking,
        };
        // Passwords, ssh_common_args / ssh_extra_args (-o options, ProxyJump...).
        crate::connection::apply_vars(&mut spec, &text, &self.opts.conn);
        Ok(spec)
    }
}

/// Applies the inventory changes a module asked for (add_host, group_by), as ansible-core's
/// strategy does (`_add_host`, `_add_group`): hosts and groups are created as needed; whether
/// the inventory changed.
fn apply_inventory(store: &VarStore, changes: &[InventoryChange]) -> Result<bool, String> {
    let result = store.update_inventory(|inv| edit_inventory(inv, changes));
    if result.is_ok() {
        // Kept, to be made again if `meta: refresh_inventory` reads the sources afresh.
        let kept = changes.to_vec();
        store.keep_inventory_edit(Arc::new(move |inv| {
            let _ = edit_inventory(inv, &kept);
        }));
    }
    result
}

fn edit_inventory(
    inv: &mut crate::inventory::Inventory,
    changes: &[InventoryChange],
) -> Result<bool, String> {
    let mut changed = false;
    for change in changes {
        match change {
            InventoryChange::AddHost { name, groups, vars } => {
                if !inv.hosts.contains_key(name) {
                    inv.add_host_in(name, Some("all"), None)?;
                    changed = true;
                }
                for (k, v) in vars {
                    if inv.hosts[name].vars.get(k) != Some(v) {
                        // Templated arguments: data, not text the user wrote.
                        inv.set_host_var(name, k, value::untrusted(v.clone()));
                        changed = true;
                    }
                }
                for g in groups {
                    if !inv.groups.contains_key(g) {
                        inv.add_group(g)?;
                        changed = true;
                    }
                    if !inv.hosts[name].groups.contains(g) {
                        inv.add_host_in(name, Some(g), None)?;
                        changed = true;
                    }
                }
            }
            InventoryChange::AddGroup {
                host,
                group,
                parents,
            } => {
                inv.add_group(group)?;
                for p in parents {
                    if !inv.groups.contains_key(p) {
                        inv.add_group(p)?;
                        changed = true;
                    }
                }
                for p in parents {
                    if !inv.groups[p].children.contains(group) {
                        inv.add_child(p, group).map_err(|e| e.to_string())?;
                        changed = true;
                    }
                }
                if inv.hosts.contains_key(host) && !inv.hosts[host].groups.contains(group) {
                    inv.add_host_in(host, Some(group), None)?;
                    changed = true;
                }
            }
        }
    }
    // group_vars/ and host_vars/ files of the new groups and hosts apply from now on.
    inv.load_vars_of_new_names().map_err(|e| e.to_string())?;
    Ok(changed)
}

/// Ansible's censored result (`censor_result` in ansible-core's task_result.py): only the keys
/// that say how the task went, and a loop's per-item results censored alike.
fn censor(result: &Vars) -> Vars {
    const PRESERVE: &[&str] = &[
        "attempts",
        "changed",
        "retries",
        "exception",
        "warnings",
        "deprecations",
    ];
    let mut out = Vars::new();
    for key in PRESERVE {
        if let Some(v) = result.get(*key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    out.insert(
        "censored".into(),
        Value::from(
            "the output has been hidden due to the fact that 'no_log: true' was specified for this result",
        ),
    );
    if let Some(items) = result.get("results").and_then(|r| r.try_iter().ok()) {
        let censored: Vec<Value> = items
            .map(|item| {
                let vars: Vars = item
                    .try_iter()
                    .map(|keys| {
                        keys.map(|k| (k.to_string(), item.get_item(&k).unwrap_or_default()))
                            .collect()
                    })
                    .unwrap_or_default();
                value::from_vars(&censor(&vars))
            })
            .collect();
        out.insert("results".into(), Value::from(censored));
    }
    out
}

fn unreachable(
    msg: &str,
    spec: Option<ConnectSpec>,
) -> (Status, Vars, Option<Vars>, Option<ConnectSpec>) {
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(false));
    r.insert("msg".into(), Value::from(msg));
    r.insert("unreachable".into(), Value::from(true));
    (Status::Unreachable, r, None, spec)
}

/// Environment values as the shell gets them: Python's `str()` of the value.
fn env_text(v: &Value) -> String {
    match v.kind() {
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.to_string(),
        ValueKind::None => "None".to_string(),
        _ => v.to_string(),
    }
}

fn expand_home(p: &str) -> String {
    match (p.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => p.to_string(),
    }
}

/// The text of a loop item label, as Ansible shows it after `(item=`.
pub fn label_text(v: &Value) -> String {
    match v.kind() {
        ValueKind::String => v.as_str().unwrap_or("").to_string(),
        _ => crate::value::python_repr(&crate::value::to_json(v)),
    }
}

/// The message a failed task shows for an error baton raised (not the module).
fn task_error_text(e: &Error) -> String {
    let mut text = e.message.clone();
    for c in &e.context {
        text.push_str(", ");
        text.push_str(c);
    }
    if let Some(span) = &e.span {
        text.push_str(&format!(". The error appears to be in {}", span.location()));
    }
    text
}
