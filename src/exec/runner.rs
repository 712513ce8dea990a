//! One task on one host: conditions, loops, templating of arguments, the module call, and what
//! Ansible does with the result (`changed_when`, `failed_when`, `until`, `ignore_errors`).
//!
//! A [`HostJob`] owns everything it needs, so the executor can run one per host concurrently;
//! its [`HostOutcome`] goes back to the executor, which reports it and applies it (register,
//! set_fact, notify) in one place.

use super::Options;
use super::events::{ACTION_FAILURE, Retry, Status, TaskResult};
use super::pool::Pool;
use crate::connection::{ConnectSpec, Transport};
use crate::diagnostics::Error;
use crate::modules::{self, Become, Facts, InventoryChange, ModuleCtx, ModuleError, Outcome};
use crate::playbook::{Keywords, Task};
use crate::template;
use crate::value::{self, Value, Vars};
use crate::vars::{Layers, VarStore};
use minijinja::value::ValueKind;
use std::sync::Arc;
use std::time::Duration;

mod args;
mod connect;
mod delegate;
mod gather;
mod inventory_edit;
mod loops;
mod results;
use inventory_edit::apply_inventory;

/// What one host includes: the target (a file, or a role with its `_from` files) and the loop
/// item's variables.
pub type Inclusion = (String, Option<Vars>);

/// The variable an included file's loop item keeps its label under (ansible-core's name).
pub const ITEM_LABEL: &str = "_ansible_item_label";

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
    /// The modules run as Ansible's Python modules.
    pub python: Arc<modules::python::Python>,
}

/// What runs a module: baton's own, or the Python module ansible-core found.
pub(super) enum Implementation {
    Native(modules::Resolved),
    Python(Arc<modules::python::Found>),
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
        let items = match self.deferred_loop_items(&lp.kind, &lp.value, &scope)? {
            Ok(items) => items,
            Err(_skip) => return Ok(None),
        };
        let mut out = Vec::new();
        for i in 0..items.len() {
            let mut layer = self.item_layer(&items, i);
            let item_scope = self.scope(Some(layer.clone()));
            if self.skip_reason(&item_scope)?.is_some() {
                continue;
            }
            // What the `included:` line shows after `item=`, as ansible-core passes it on.
            let label = match &self.task.loop_control.label {
                Some(l) => template::render_value(l, &item_scope)?,
                None => items[i].clone(),
            };
            layer.insert(ITEM_LABEL.into(), label);
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
                    self.magic.extend(self.delegated_layer(d, &scope));
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

    async fn run_inner(&self, scope: &Value) -> Result<HostOutcome, Error> {
        let Some(lp) = &self.task.loop_ else {
            let ignore_errors = self.flag(self.kw(|k| &k.ignore_errors), scope)?;
            if let Some(skip) = self.skip_reason(scope)? {
                return Ok(self.skipped(skip));
            }
            let mut retried = Vec::new();
            let (status, result, facts, broken) = self.run_once(scope, &mut retried).await?;
            let ignored = match status {
                Status::Failed => ignore_errors,
                Status::Unreachable => self.unreachable_ignored(scope),
                _ => false,
            };
            // `register` keeps the result less a module's `invocation`, as ansible-core's
            // strategy stores it.
            let registered = if result.contains_key("invocation") {
                let mut r = result.clone();
                r.shift_remove("invocation");
                loops::registered_value(&r)
            } else {
                loops::registered_value(&result)
            };
            let mut result = self.result(status, result, ignored, None);
            result.retries = retried;
            return Ok(HostOutcome {
                result,
                items: Vec::new(),
                registered,
                facts,
                broken,
                delegate_facts: false,
            });
        };

        self.run_loop(&lp.kind, &lp.value, scope).await
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

    /// Runs the module once (one item, or the task), with until/retries.
    async fn run_once(
        &self,
        scope: &Value,
        retried: &mut Vec<Retry>,
    ) -> Result<(Status, Vars, Option<Vars>, Option<ConnectSpec>), Error> {
        // As ansible-core counts: the first run, then `retries` more (3 when only `until` is
        // given). `retries` without `until` retries until the task does not fail; with one
        // run in all (`retries: 0`), nothing is checked and no `attempts` is recorded.
        let retries = match &self.task.retries {
            Some(r) => Some(template::render_value(r, scope)?.as_i64().unwrap_or(3)),
            None => None,
        };
        // Seconds, a fraction allowed (`delay: 0.5`).
        let delay = match &self.task.delay {
            Some(d) => {
                let v = template::render_value(d, scope)?;
                v.as_i64()
                    .map(|i| i as f64)
                    .or_else(|| f64::try_from(v.clone()).ok())
                    .or_else(|| v.to_string().trim().parse().ok())
                    .unwrap_or(5.0)
            }
            None => 5.0,
        };
        let attempts = match retries {
            Some(r) => r.max(0) + 1,
            None if !self.task.until.is_empty() => 4,
            None => 1,
        };
        let mut last = None;
        for attempt in 1..=attempts {
            let numbered = (attempts > 1).then_some(attempt);
            let (status, mut result, facts, broken) = self.attempt(scope, numbered).await?;
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
            if attempt < attempts {
                let mut shown = result.clone();
                shown.insert("retries".into(), Value::from(attempts));
                retried.push(Retry {
                    task_name: self.retry_name(scope),
                    left: attempts - attempt,
                    result: shown,
                });
            }
            last = Some((status, result, facts, broken));
            if attempt < attempts {
                tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
            }
        }
        let (status, mut result, facts, broken) =
            last.unwrap_or((Status::Failed, Vars::new(), None, None));
        // Retries exhausted: ansible-core records the retries, not the runs (3 of 4), and
        // the result failed (with the `exception` every failed result has).
        result.insert("attempts".into(), Value::from(attempts - 1));
        result
            .entry("exception".into())
            .or_insert_with(|| Value::from(NO_TRACEBACK));
        if !self.task.failed_when.is_empty() {
            // The result says failed, but its failed_when_result decides how the task went,
            // as ansible-core's TaskResult.is_failed reads it.
            result.insert("failed".into(), Value::from(true));
            return Ok((status, result, facts, broken));
        }
        result.insert("failed".into(), Value::from(true));
        result.insert(ACTION_FAILURE.into(), Value::from(true));
        Ok((Status::Failed, result, facts, broken))
    }

    /// `async:` and `poll:` when the task runs as an async job (`async` above 0, on a module
    /// that runs on the host): the job's time limit and the seconds between polls (10 when
    /// not given, as ansible's default `poll`).
    fn async_job(&self, scope: &Value, spec: &modules::Spec) -> Result<Option<(u64, u64)>, Error> {
        let seconds = |v: &Option<Value>, name: &str| -> Result<Option<u64>, Error> {
            let Some(v) = v else { return Ok(None) };
            let v = template::render_value(v, scope)?;
            let n = v
                .as_i64()
                .or_else(|| v.to_string().trim().parse().ok())
                .ok_or_else(|| {
                    Error::syntax(
                        &self.task.span,
                        format!("the field '{name}' has an invalid value ({v}), and could not be converted to int"),
                    )
                })?;
            Ok(Some(n.max(0) as u64))
        };
        let Some(secs) = seconds(&self.task.async_, "async")?.filter(|s| *s > 0) else {
            return Ok(None);
        };
        if !spec.connection {
            return Ok(None);
        }
        Ok(Some((
            secs,
            seconds(&self.task.poll, "poll")?.unwrap_or(10),
        )))
    }

    /// The task's name in a retry line: its name templated (with the item's variables), else
    /// its action (after the role's name inside a role), as ansible-core's `task_name`.
    fn retry_name(&self, scope: &Value) -> String {
        match &self.task.name {
            Some(n) => template::render_value(&Value::from(n.as_str()), scope)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| n.clone()),
            None => match self.magic.get("role_name").and_then(|r| r.as_str()) {
                Some(role) => format!("{role} : {}", self.task.action),
                None => self.task.action.clone(),
            },
        }
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

    /// What runs the module a task names: baton's own, or (for a module baton does not
    /// implement, or one a library/ module of the same name overrides) the Python module
    /// ansible-core finds. `None`: nothing does; `Err`: ansible-core could not be asked.
    pub(super) async fn implementation(
        &self,
        name: &str,
    ) -> Result<Option<Implementation>, String> {
        Ok(match modules::resolve(name) {
            Some(_) if let Some(f) = self.python.overriding(name) => {
                Some(Implementation::Python(f))
            }
            Some(r) => Some(Implementation::Native(r)),
            // The executor's own actions are never modules (a templated name may lead there).
            None if modules::canonical(name).is_some() => None,
            None => self.python.find(name).await?.map(Implementation::Python),
        })
    }

    /// One run of the module; `attempt` is the run's number when `until`/`retries` repeat it
    /// (the result's `attempts`, which changed_when and failed_when see).
    async fn attempt(
        &self,
        scope: &Value,
        attempt: Option<i64>,
    ) -> Result<(Status, Vars, Option<Vars>, Option<ConnectSpec>), Error> {
        // A templated module name is resolved now, with this host's variables.
        let action = if crate::value::looks_like_template(&self.task.action) {
            template::render_value(&Value::from(self.task.action.as_str()), scope)?.to_string()
        } else {
            self.task.action.clone()
        };
        let unknown = || {
            Error::new(
                crate::diagnostics::ErrorKind::Syntax,
                modules::unknown_action(&action),
            )
            .at(&self.task.span)
        };
        let (found, fallback) = match self.implementation(&action).await {
            Ok(Some(Implementation::Native(r))) => (Some(r), None),
            Ok(Some(Implementation::Python(f))) => (None, Some(f)),
            Ok(None) => return Err(unknown()),
            Err(m) => return Err(Error::syntax(&self.task.span, m)),
        };
        let module_spec = match found {
            Some(r) => r.module.spec(),
            None => &modules::python::SPEC,
        };
        let args = self.templated_args(scope)?;
        let check_mode = match self.kw_in(|k| &k.check_mode, scope)? {
            Some(v) => template::truthy(&v),
            None => self.opts.check,
        };
        let diff = match self.kw_in(|k| &k.diff, scope)? {
            Some(v) => template::truthy(&v),
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
        let mut delegated_to = None;
        let conn = if module_spec.connection {
            // Per item: a loop may delegate each item to another host.
            let delegate = match self.task.loop_ {
                Some(_) => self.delegate_target(scope)?,
                None => self.delegate.clone(),
            };
            delegated_to = delegate.clone();
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
        let become_ = Self::become_for(become_, spec.as_ref());
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
        let gathering = modules::canonical(&action) == Some("gather_facts") && fallback.is_none();
        let run = match (found, &fallback) {
            (Some(_), _) if gathering => self.gather_facts(args, &ctx, scope).await,
            (Some(r), _) => match self.async_job(scope, module_spec)? {
                Some((secs, poll)) => {
                    modules::async_job::run(r, args, ctx.clone(), secs, poll).await
                }
                None => modules::invoke(r, args, &ctx).await,
            },
            (None, Some(f)) => {
                let opts = modules::python::RunOpts {
                    no_log: self.no_log(),
                    verbosity: self.opts.verbosity,
                    // A delegated task runs with the Python of the host it is delegated to.
                    delegated_interpreter: delegated_to
                        .as_deref()
                        .map(|d| self.delegate_interpreter(d)),
                };
                self.python.run(f, args, &ctx, &opts).await
            }
            (None, None) => return Err(unknown()),
        };
        let mut outcome = match run {
            Ok(o) => o,
            Err(ModuleError::Unreachable(msg)) => return Ok(unreachable(&msg, spec)),
            Err(ModuleError::Failed(msg)) => Outcome::failed(msg),
            // ansible-core's TaskTimeoutError result (`timedout` test).
            Err(ModuleError::TimedOut(d)) => Outcome::failed(ModuleError::timed_out_msg(d)).with(
                "timedout",
                value::map([
                    (
                        Value::from("frame"),
                        Value::from(
                            "Configure `DISPLAY_TRACEBACK` to see a traceback on timeout errors.",
                        ),
                    ),
                    (Value::from("period"), Value::from(d.as_secs())),
                ]),
            ),
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
        // never a template (`value::untrusted`), whatever reads it next; what a host said is
        // not trusted at all (`value::host_data`). Variables read from the user's own files
        // (include_vars) are the exception; a controller-side action's values keep the trust
        // templating gave them (`set_fact: {a: b}` sets a trusted `b`).
        let trusted = module_spec.facts == Facts::Files;
        let from_host = module_spec.connection;
        let data = |v: Vars| match (trusted, from_host) {
            (true, _) => v,
            (false, true) => value::host_data_vars(v),
            (false, false) => value::untrusted_vars(v),
        };
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
        if let Some(n) = attempt {
            result.insert("attempts".into(), Value::from(n));
        }
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
            if !module_failed {
                result.insert(ACTION_FAILURE.into(), Value::from(true));
            }
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
