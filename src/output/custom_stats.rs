//! Custom statistics (`set_stats`), gathered from the results as ansible-core's
//! `AggregateStats` gathers them: per host or for the whole run (`_run`), set or added to
//! (`aggregate`: numbers summed, strings and lists joined, mappings merged, a value of another
//! type left alone). The default callback shows them after the recap (`show_custom_stats`).

use crate::exec::events::TaskResult;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The run's custom statistics so far.
#[derive(Debug, Default)]
pub struct CustomStats {
    /// By host, and `_run` for the run's own.
    by_host: BTreeMap<String, Map<String, Value>>,
}

/// The key of the run's own statistics.
const RUN: &str = "_run";

impl CustomStats {
    /// Takes in what a successful result's `ansible_stats` says.
    pub fn record(&mut self, r: &TaskResult) {
        let Some(stats) = r.result.get("ansible_stats") else {
            return;
        };
        let stats = crate::value::to_json(stats);
        let Some(data) = stats.get("data").and_then(Value::as_object) else {
            return;
        };
        if data.is_empty() {
            return;
        }
        let per_host = stats.get("per_host").is_none_or(truthy);
        let aggregate = stats.get("aggregate").is_some_and(truthy);
        let key = if per_host { r.host.as_str() } else { RUN };
        let slot = self.by_host.entry(key.to_string()).or_default();
        for (name, value) in data {
            match slot.get_mut(name) {
                Some(old) if aggregate => add(old, value),
                _ => {
                    slot.insert(name.clone(), value.clone());
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_host.is_empty()
    }

    /// Each host's statistics, sorted by host (the run's left out).
    pub fn hosts(&self) -> Vec<(String, Value)> {
        self.by_host
            .iter()
            .filter(|(h, _)| *h != RUN)
            .map(|(h, m)| (h.clone(), Value::Object(m.clone())))
            .collect()
    }

    /// The run's own statistics.
    pub fn run(&self) -> Option<Value> {
        self.by_host.get(RUN).map(|m| Value::Object(m.clone()))
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Null => false,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// ansible-core's `update_custom_stats`: Python's `+=` for values of the same type, a
/// recursive merge for mappings; a value of another type changes nothing.
fn add(old: &mut Value, new: &Value) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => merge(a, b),
        (Value::Array(a), Value::Array(b)) => a.extend(b.iter().cloned()),
        (Value::String(a), Value::String(b)) => a.push_str(b),
        (Value::Number(a), Value::Number(b)) => {
            // An int and a float are not the same type: nothing changes.
            let sum = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => Some(Value::from(x.saturating_add(y))),
                (None, None) => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(x, y)| serde_json::Number::from_f64(x + y))
                    .map(Value::Number),
                _ => None,
            };
            if let Some(Value::Number(n)) = sum {
                *a = n;
            }
        }
        _ => {}
    }
}

/// `merge_hash`: nested mappings merged key by key, anything else replaced.
fn merge(a: &mut Map<String, Value>, b: &Map<String, Value>) {
    for (k, v) in b {
        match (a.get_mut(k), v) {
            (Some(Value::Object(x)), Value::Object(y)) => merge(x, y),
            _ => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::events::Status;

    fn result(host: &str, stats: serde_json::Value) -> TaskResult {
        let mut vars = crate::value::Vars::new();
        vars.insert("ansible_stats".into(), crate::value::from_json(&stats));
        TaskResult {
            host: host.into(),
            status: Status::Ok,
            result: vars,
            ignored: false,
            delegated_to: None,
            item_label: None,
            verbose_always: false,
            action: "set_stats".into(),
            task_id: 0,
            retries: Vec::new(),
        }
    }

    #[test]
    fn aggregates_per_host_and_for_the_run() {
        let mut c = CustomStats::default();
        let run = serde_json::json!({"data": {"n": 1, "l": [1], "d": {"x": {"y": 1}}, "s": "a"}, "per_host": false, "aggregate": true});
        c.record(&result("h1", run.clone()));
        c.record(&result("h2", run));
        c.record(&result(
            "h1",
            serde_json::json!({"data": {"n": "text", "d": {"x": {"z": 2}}}, "per_host": false, "aggregate": true}),
        ));
        c.record(&result(
            "h2",
            serde_json::json!({"data": {"n": 5}, "per_host": true, "aggregate": false}),
        ));
        c.record(&result(
            "h2",
            serde_json::json!({"data": {"n": 7}, "per_host": true, "aggregate": false}),
        ));
        assert_eq!(
            c.run().unwrap(),
            serde_json::json!({"n": 2, "l": [1, 1], "d": {"x": {"y": 1, "z": 2}}, "s": "aa"})
        );
        assert_eq!(c.hosts(), [("h2".to_string(), serde_json::json!({"n": 7}))]);
    }
}
