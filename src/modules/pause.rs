//! `pause`: wait on the controller for a time, or for the operator to press enter, as
//! ansible-core's pause action does (lib/ansible/plugins/action/pause.py). The prompt is a
//! question to the operator ([`super::ask`]): the executor has the output layer ask it, once
//! per task, and every host of the task gets the same answer. When nobody can answer (no
//! terminal) it returns at once with Ansible's warning and empty `user_input`; a duration is
//! always waited out.
//!
//! Ansible runs pause once for the whole batch (BYPASS_HOST_LOOP); here each host runs it,
//! concurrently, so the wall time is the same.

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, python_type};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};
use minijinja::value::ValueKind;
use std::time::{Duration, Instant, SystemTime};

pub struct Pause;

/// Python's `int()` of a parameter (floats truncate, text must be an integer).
fn int_callable(args: &mut Args, name: &'static str) -> Result<Option<i64>, ModuleError> {
    let Some(v) = args.raw(name) else {
        return Ok(None);
    };
    if let Some(i) = v.as_i64() {
        return Ok(Some(i));
    }
    if v.kind() == ValueKind::Number
        && let Ok(f) = v.to_string().parse::<f64>()
    {
        return Ok(Some(f.trunc() as i64));
    }
    match v.as_str().and_then(|s| s.trim().parse::<i64>().ok()) {
        Some(i) => Ok(Some(i)),
        None => Err(ModuleError::Failed(format!(
            "argument '{name}' is of type {} and we were unable to convert to int: invalid literal for int() with base 10: '{v}'",
            python_type(&v)
        ))),
    }
}

/// Python's `round(x, 2)` printed as Python prints a float.
fn round2(x: f64) -> String {
    crate::value::python_float((x * 100.0).round() / 100.0)
}

static SPEC: Spec = Spec {
    names: &["pause"],
    connection: false,
    params: &[&[
        Param::bool("echo").default_bool(true),
        Param::any("minutes"),
        Param::any("seconds"),
        Param::str("prompt"),
    ]],
    mutually_exclusive: &[&["minutes", "seconds"]],
    ..Spec::BASE
};

impl Module for Pause {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, _ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(async move {
            let echo = args.bool("echo")?.unwrap_or(true);
            let minutes = int_callable(&mut args, "minutes")?;
            let seconds_arg = int_callable(&mut args, "seconds")?;
            let prompt = args.str("prompt")?.filter(|p| !p.is_empty());
            let (seconds, unit) = match (minutes, seconds_arg) {
                (Some(m), _) => (Some(m * 60), "minutes"),
                (None, Some(s)) => (Some(s), "seconds"),
                _ => (None, "minutes"),
            };
            let start = Instant::now();
            let start_text = super::command::timestamp(SystemTime::now());
            let mut warnings: Vec<Value> = Vec::new();
            let mut user_input = String::new();
            match seconds {
                Some(s) => {
                    tokio::time::sleep(Duration::from_secs(s.max(1) as u64)).await;
                }
                None => {
                    // The header is the task's name, as its banner shows it.
                    let task = super::ask::task_name().unwrap_or_else(|| "pause".into());
                    let text = format!(
                        "[{task}]\n{}{}:",
                        prompt
                            .as_deref()
                            .unwrap_or("Press enter to continue, Ctrl+C to interrupt"),
                        if echo { "" } else { " (output is hidden)" }
                    );
                    match super::ask::ask(text, !echo).await {
                        Some(line) => user_input = line,
                        None => warnings.push(Value::from(
                            "Not waiting for response to prompt as stdin is not interactive",
                        )),
                    }
                }
            }
            let elapsed = start.elapsed().as_secs_f64();
            let shown = if unit == "minutes" {
                round2(elapsed / 60.0)
            } else {
                round2(elapsed)
            };
            let mut r = Vars::new();
            r.insert("changed".into(), Value::from(false));
            r.insert("rc".into(), Value::from(0));
            r.insert("stderr".into(), Value::from(""));
            r.insert(
                "stdout".into(),
                Value::from(format!("Paused for {shown} {unit}")),
            );
            r.insert("start".into(), Value::from(start_text));
            r.insert(
                "stop".into(),
                Value::from(super::command::timestamp(SystemTime::now())),
            );
            r.insert("delta".into(), Value::from(elapsed as i64));
            r.insert("echo".into(), Value::from(echo));
            r.insert("user_input".into(), Value::from(user_input));
            if !warnings.is_empty() {
                r.insert("warnings".into(), Value::from(warnings));
            }
            Ok(r)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_python() {
        assert_eq!(round2(1.0042), "1.0");
        assert_eq!(round2(0.0166), "0.02");
        assert_eq!(round2(2.5), "2.5");
    }
}
