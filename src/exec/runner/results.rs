//! A host's result as the executor reports it: the event's `TaskResult`, and `no_log`'s
//! censored copy.

use super::*;

impl HostJob {
    /// `ignore_unreachable`, templated with `scope` (a loop item's, for that item): whether an
    /// unreachable result lets the host go on (counted ok and ignored, not dark), as
    /// ansible-core's strategy does. An error in the template counts as not ignored.
    pub(super) fn unreachable_ignored(&self, scope: &Value) -> bool {
        self.flag(self.kw(|k| &k.ignore_unreachable), scope)
            .unwrap_or(false)
    }

    pub(super) fn result(
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
            task_id: crate::exec::events::task_id(&self.task),
            retries: Vec::new(),
        }
    }

    /// Whether the task's results are hidden; a `no_log` that fails to template hides them.
    pub(super) fn no_log(&self) -> bool {
        match self.kw(|k| &k.no_log) {
            None => false,
            Some(v) if v.kind() == ValueKind::Bool => v.is_true(),
            Some(v) => self.flag(Some(v), &self.scope(None)).unwrap_or(true),
        }
    }
}

/// Ansible's censored result (`censor_result` in ansible-core's task_result.py): only the keys
/// that say how the task went, and a loop's per-item results censored alike.
pub(super) fn censor(result: &Vars) -> Vars {
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
