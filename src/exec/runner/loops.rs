//! A task's loop: its `loop:` / `with_<lookup>:` items as ansible-core computes them
//! (`TaskExecutor._get_loop_items` and the builtin lookups `with_*` most often names), each
//! item's variables and run, and the loop's result made of the items' (`_run_loop`).

use super::*;

/// What a loop's items add up to, as ansible-core's `TaskExecutor.run` sums them.
#[derive(Default)]
struct Tally {
    changed: bool,
    failed: bool,
    unreachable: bool,
    all_skipped: bool,
    /// `ignore_errors` of the failed items: ignored only if every failed item's was.
    ignored: Option<bool>,
    /// `ignore_unreachable` of the unreachable items, the same way: ansible-core takes the
    /// first unreachable item's, and a later one that does not ignore undoes it.
    unreachable_ignored: Option<bool>,
}

impl HostJob {
    /// The variables one item adds: the loop variable, `ansible_loop_var`, the index variable
    /// and `ansible_index_var` (with `index_var`), and `ansible_loop` (with `extended`).
    pub(super) fn item_layer(&self, items: &[Value], i: usize) -> Vars {
        let lc = &self.task.loop_control;
        let loop_var = self.loop_var();
        let n = items.len();
        let mut layer = Vars::new();
        layer.insert(loop_var.clone(), items[i].clone());
        layer.insert("ansible_loop_var".into(), Value::from(loop_var));
        if let Some(iv) = &lc.index_var {
            layer.insert(iv.clone(), Value::from(i));
            layer.insert("ansible_index_var".into(), Value::from(iv.as_str()));
        }
        if lc.extended {
            let mut lp = vec![
                ("index", Value::from(i + 1)),
                ("index0", Value::from(i)),
                ("first", Value::from(i == 0)),
                ("last", Value::from(i + 1 == n)),
                ("length", Value::from(n)),
                ("revindex", Value::from(n - i)),
                ("revindex0", Value::from(n - i - 1)),
            ];
            if lc.extended_allitems {
                lp.push(("allitems", Value::from(items.to_vec())));
            }
            if let Some(next) = items.get(i + 1) {
                lp.push(("nextitem", next.clone()));
            }
            if i > 0 {
                lp.push(("previtem", items[i - 1].clone()));
            }
            layer.insert("ansible_loop".into(), value::map(lp));
        }
        layer
    }

    /// `loop_control.loop_var` (templated: `loop_var: "{{ name }}"`), `item` by default.
    pub(super) fn loop_var(&self) -> String {
        match self.task.loop_control.loop_var.as_deref() {
            None => "item".to_string(),
            Some(v) if value::looks_like_template(v) => {
                template::render_value(&Value::from(v), &self.scope(None))
                    .map(|r| r.to_string())
                    .unwrap_or_else(|_| v.to_string())
            }
            Some(v) => v.to_string(),
        }
    }

    /// Runs the task once per item, as ansible-core's `_run_loop`: an item's failure does not
    /// stop the loop, `loop_control.pause` waits between items, `break_when` ends it, and
    /// each item sees the registered result of the item before it.
    pub(super) async fn run_loop(
        &self,
        kind: &str,
        raw: &Value,
        scope: &Value,
    ) -> Result<HostOutcome, Error> {
        let items = match self.deferred_loop_items(kind, raw, scope)? {
            Ok(items) => items,
            Err(skip) => return Ok(self.skipped(skip)),
        };
        let lc = &self.task.loop_control;
        let pause = match &lc.pause {
            Some(p) => seconds(&template::render_value(p, scope)?),
            None => 0.0,
        };
        let mut results = Vec::new();
        let mut item_results = Vec::new();
        let mut facts_all: Option<Vars> = None;
        let mut tally = Tally {
            all_skipped: true,
            ..Tally::default()
        };
        let mut broken = None;
        let mut previous: Option<Value> = None;
        for i in 0..items.len() {
            if i > 0 && pause > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(pause)).await;
            }
            let item_vars = self.item_layer(&items, i);
            let mut layer = item_vars.clone();
            // ansible-core keeps each item's result in the task's variables under the
            // `register` name: the next item's conditions see it.
            let mut item_scope = self.with_result(self.scope(Some(layer.clone())), &previous);
            let mut item_delegate = None;
            if self.kw(|k| &k.delegate_to).is_some()
                && let Ok(Some(d)) = self.delegate_target(&item_scope)
            {
                item_delegate = Some(self.delegate_label(&d));
                layer.extend(self.delegated_layer(&d, &item_scope));
                layer.insert(ITEM_DELEGATE.into(), Value::from(d.as_str()));
                item_scope = self.with_result(self.scope(Some(layer.clone())), &previous);
            }
            let skip = self.skip_reason(&item_scope);
            let mut retried = Vec::new();
            let (status, mut result, facts, br) = match skip {
                Ok(Some(skip)) => (Status::Skipped, skip, None, None),
                Ok(None) => match self.run_once(&item_scope, &mut retried).await {
                    Ok(r) => r,
                    Err(e) => (Status::Failed, error_result(&e), None, None),
                },
                Err(e) => (Status::Failed, error_result(&e), None, None),
            };
            if br.is_some() {
                broken = br;
            }
            if matches!(status, Status::Ok | Status::Changed) {
                // As ansible-core's `_execute` sets it on every result it did not skip.
                result.entry("failed".into()).or_insert(Value::from(false));
            }
            if let Some(f) = facts {
                self.keep_item_facts(f, &item_scope, &mut facts_all);
            }
            // `ignore_errors` is the item's own: it may use the item.
            let ignore = self
                .flag(self.kw(|k| &k.ignore_errors), &item_scope)
                .unwrap_or(false);
            match status {
                Status::Changed => tally.changed = true,
                Status::Failed => {
                    tally.failed = true;
                    tally.ignored = Some(tally.ignored.unwrap_or(true) && ignore);
                }
                Status::Unreachable => {
                    tally.unreachable = true;
                    let this = self.unreachable_ignored(&item_scope);
                    tally.unreachable_ignored =
                        Some(tally.unreachable_ignored.unwrap_or(this) && this);
                }
                _ => {}
            }
            if status == Status::Changed || result.get("changed").is_some_and(|c| c.is_true()) {
                tally.changed = true;
            }
            if status != Status::Skipped {
                tally.all_skipped = false;
            }
            // The result names its item as the item's variables do.
            result.extend(item_vars);
            let registered = registered_value(&result);
            // The label is templated last, with this item's registered result in sight.
            let label_scope = self.with_result(item_scope.clone(), &Some(registered));
            let (status, label) = match &lc.label {
                Some(l) => match template::render_value(l, &label_scope) {
                    Ok(v) => (status, label_text(&v)),
                    Err(e) => {
                        result.insert("failed".into(), Value::from(true));
                        result.insert(
                            "msg".into(),
                            Value::from(format!(
                                "Failed to template loop_control.label: {}",
                                e.message
                            )),
                        );
                        tally.failed = true;
                        tally.ignored = Some(tally.ignored.unwrap_or(true) && ignore);
                        (Status::Failed, label_text(&items[i]))
                    }
                },
                None => (status, label_text(&items[i])),
            };
            let registered = registered_value(&result);
            results.push(registered.clone());
            previous = Some(registered);
            let item_ignored = match status {
                Status::Failed => ignore,
                // An unreachable item goes on to the next one, as in ansible-core.
                Status::Unreachable => self.unreachable_ignored(&item_scope),
                _ => false,
            };
            let mut item_result = self.result(status, result, item_ignored, Some(label));
            item_result.retries = retried;
            if item_delegate.is_some() {
                item_result.delegated_to = item_delegate;
            }
            item_results.push(item_result);
            if !lc.break_when.is_empty() {
                let check_scope = self.with_result(item_scope.clone(), &previous);
                let mut stop = true;
                for cond in &lc.break_when {
                    stop &= template::eval_condition(cond, &check_scope)?;
                }
                if stop {
                    break;
                }
            }
        }
        Ok(self.loop_outcome(results, item_results, tally, facts_all, broken))
    }

    /// `scope` with an item's registered result under the task's `register` name, above
    /// every other variable (as ansible-core sets it in the task's variables).
    fn with_result(&self, scope: Value, result: &Option<Value>) -> Value {
        match (&self.task.register, result) {
            (Some(name), Some(r)) => {
                let mut extra = indexmap::IndexMap::new();
                extra.insert(name.clone(), r.clone());
                crate::template::Overlay::value(extra, scope)
            }
            _ => scope,
        }
    }

    /// The loop's own result from its items', as ansible-core's `TaskExecutor.run` builds it.
    fn loop_outcome(
        &self,
        results: Vec<Value>,
        item_results: Vec<TaskResult>,
        tally: Tally,
        facts: Option<Vars>,
        broken: Option<ConnectSpec>,
    ) -> HostOutcome {
        let mut agg = Vars::new();
        let empty = item_results.is_empty();
        agg.insert("changed".into(), Value::from(tally.changed));
        if tally.failed {
            agg.insert("failed".into(), Value::from(true));
            agg.insert("msg".into(), Value::from("One or more items failed"));
        } else if empty {
            agg.insert("skipped_reason".into(), Value::from("No items in the list"));
        } else if tally.all_skipped {
            agg.insert("msg".into(), Value::from("All items skipped"));
        } else {
            agg.insert("msg".into(), Value::from("All items completed"));
        }
        agg.insert("results".into(), Value::from(results));
        agg.insert("skipped".into(), Value::from(tally.all_skipped));
        let status = if tally.unreachable {
            agg.insert("unreachable".into(), Value::from(true));
            Status::Unreachable
        } else if tally.failed {
            Status::Failed
        } else if tally.all_skipped {
            Status::Skipped
        } else if tally.changed {
            Status::Changed
        } else {
            Status::Ok
        };
        let registered = registered_value(&agg);
        HostOutcome {
            result: self.result(
                status,
                agg,
                match status {
                    Status::Unreachable => tally.unreachable_ignored.unwrap_or(false),
                    _ => tally.ignored.unwrap_or(false),
                },
                None,
            ),
            items: item_results,
            registered,
            facts,
            broken,
            delegate_facts: false,
        }
    }

    /// An item's facts: set_fact's variables are visible to the items after it (a loop can
    /// accumulate); with `delegate_facts` and `delegate_to: "{{ item }}"`, they belong to the
    /// host the item was delegated to.
    fn keep_item_facts(&self, f: Vars, item_scope: &Value, facts_all: &mut Option<Vars>) {
        let owner = match self.delegate_facts().unwrap_or(false) {
            true => self.delegate_target(item_scope).ok().flatten(),
            false => None,
        };
        let kind = modules::spec_of(&self.task.action).map(|s| s.facts);
        if let Some(owner) = owner {
            match kind {
                Some(Facts::Variables) | Some(Facts::Files) => {
                    for (k, v) in &f {
                        self.store.set_host_var(&owner, k, v.clone());
                    }
                }
                _ => {
                    self.store.merge_facts(&owner, f);
                }
            }
            return;
        }
        if kind == Some(Facts::Variables) {
            for (k, v) in &f {
                self.store.set_host_var(&self.host, k, v.clone());
            }
        }
        facts_all.get_or_insert_with(Vars::new).extend(f);
    }
    pub(super) fn loop_items(
        &self,
        kind: &str,
        raw: &Value,
        scope: &Value,
    ) -> Result<Vec<Value>, Error> {
        // The items are templating's results (and a lookup's data): each is data from here on,
        // and `{{ item }}` never renders what an item holds.
        self.loop_items_raw(kind, raw, scope)
            .map(|items| items.into_iter().map(value::untrusted).collect())
    }

    /// The loop's items, or the task's skip result: as ansible-core does, an undefined
    /// variable in the loop waits until the task's `when` (evaluated without an item) has
    /// had a chance to skip the task (`with_items: ["{{ missing }}"]` with `when: false`).
    pub(super) fn deferred_loop_items(
        &self,
        kind: &str,
        raw: &Value,
        scope: &Value,
    ) -> Result<Result<Vec<Value>, Vars>, Error> {
        match self.loop_items(kind, raw, scope) {
            Ok(items) => Ok(Ok(items)),
            Err(e) if is_undefined_error(&e) => match self.skip_reason(scope) {
                Ok(Some(skip)) => Ok(Err(skip)),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    pub(super) fn loop_items_raw(
        &self,
        kind: &str,
        raw: &Value,
        scope: &Value,
    ) -> Result<Vec<Value>, Error> {
        let v = template::render_value(raw, scope)?;
        let fail = |msg: String| {
            Error::new(crate::diagnostics::ErrorKind::Template, msg).at(&self.task.span)
        };
        if kind == "loop" {
            // Iterable: a lazily computed sequence (a slice `l[:n]`, `a + b`).
            return match v.kind() {
                ValueKind::Seq | ValueKind::Iterable => Ok(seq(&v)),
                _ => Err(fail(format!(
                    "The `loop` value must resolve to a 'list', not '{}'.",
                    template::filters::py_type(&v)
                ))),
            };
        }
        // `with_<lookup>`: the lookup's terms are a list; anything else is its only term.
        let terms = match v.kind() {
            ValueKind::Seq | ValueKind::Iterable => seq(&v),
            _ => vec![v.clone()],
        };
        match kind {
            "list" => Ok(terms),
            "items" => Ok(flatten(terms)),
            "indexed_items" => Ok(flatten(terms)
                .into_iter()
                .enumerate()
                .map(|(i, x)| Value::from(vec![Value::from(i), x]))
                .collect()),
            "dict" => {
                let mut out = Vec::new();
                for term in terms {
                    if term.kind() != ValueKind::Map {
                        return Err(fail(format!(
                            "The lookup plugin 'dict' failed: the 'dict' lookup plugin expects a dictionary, got '{}' of type {}",
                            label_text(&term),
                            template::filters::py_type(&term)
                        )));
                    }
                    for k in seq(&term) {
                        let val = term.get_item(&k).unwrap_or_default();
                        out.push(value::map([("key", k), ("value", val)]));
                    }
                }
                Ok(out)
            }
            // Every other `with_<lookup>` is the lookup's list of results.
            other => {
                let v = crate::template::lookups::loop_items(other, &v, &self.task.action, scope)
                    .map_err(|e| e.at(&self.task.span))?;
                Ok(seq(&v))
            }
        }
    }
}

/// The values a sequence (or a mapping's keys) iterates over.
fn seq(v: &Value) -> Vec<Value> {
    v.try_iter().map(|i| i.collect()).unwrap_or_default()
}

/// The `items` lookup's flattening: one level of lists.
fn flatten(terms: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        match t.kind() {
            ValueKind::Seq => out.extend(seq(&t)),
            _ => out.push(t),
        }
    }
    out
}

/// Whether an error is a template's undefined variable: ansible-core defers such an error
/// in a task's loop until its `when` has had a chance to skip the task.
fn is_undefined_error(e: &Error) -> bool {
    e.kind == crate::diagnostics::ErrorKind::Undefined
}

/// A result as `register` keeps it: without ansible's internal `_ansible_*` keys.
pub(super) fn registered_value(result: &Vars) -> Value {
    let kept: Vars = result
        .iter()
        .filter(|(k, _)| !k.starts_with("_ansible_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    value::from_vars(&kept)
}

/// The failed result of an item whose run raised an error (a `when` or an argument that
/// does not template).
fn error_result(e: &Error) -> Vars {
    let mut r = Vars::new();
    r.insert("failed".into(), Value::from(true));
    r.insert("msg".into(), Value::from(task_error_text(e)));
    r.insert("exception".into(), Value::from(NO_TRACEBACK));
    r.insert("changed".into(), Value::from(false));
    r
}

/// Seconds from a number or a numeric string (`pause: 0.6`); anything else is none.
fn seconds(v: &Value) -> f64 {
    let secs = v
        .as_i64()
        .map(|i| i as f64)
        .or_else(|| f64::try_from(v.clone()).ok())
        .or_else(|| v.to_string().trim().parse().ok())
        .unwrap_or(0.0);
    if secs.is_finite() { secs.max(0.0) } else { 0.0 }
}
