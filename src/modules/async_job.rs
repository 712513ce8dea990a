//! Async tasks (`async:` / `poll:`) for baton's own modules, and `async_status`, the module that
//! reads their jobs.
//!
//! ansible-core starts an async task through its `async_wrapper`, which forks the module away
//! from the connection and keeps the job's state in one JSON file on the host,
//! `~/.ansible_async/<jid>`: `{"started": true, "finished": false, "ansible_job_id": jid}` while
//! it runs, the module's own result once it is done. `async_status` reads that file: a result
//! without `started` is a finished job. With `poll: 0` the task returns at once (the job id,
//! `started`, `finished: false`, the results file); with `poll: N` the controller reads the
//! file every N seconds until the job is done (the file is then removed) or `async:` seconds
//! have passed (the task fails).
//!
//! baton's modules are Rust code driving the host's shell, not a program the host runs, so a
//! job here is the module running on the controller's runtime in the background, over its
//! connection, with its state in the same file on the host, in the same JSON, written
//! atomically (a private directory beside it, then a rename). Nothing on the host needs
//! Python. `command` and `shell` jobs run detached on the host instead, as ansible's do (see
//! [`super::async_host`]); for the other modules what differs from ansible is that a job still
//! running when baton exits stops with it.

use super::hosttmp::{self, Cleanup, Place};
use super::{
    Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Resolved, Spec,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};
use std::time::{Duration, Instant};

/// The shell's name for the directory of job files (created 0700 when missing).
const ASYNC_DIR: &str = "\"$HOME/.ansible_async\"";

/// Runs a module as an async task: `async_secs` the job's time limit, `poll` the seconds
/// between reads of its state (0: start it and return).
pub async fn run(
    found: Resolved,
    args: Vars,
    ctx: ModuleCtx,
    async_secs: u64,
    poll: u64,
) -> ModuleResult {
    let jid = job_id()?;
    let start = serde_json::json!({"started": true, "finished": false, "ansible_job_id": jid});
    let limit = Duration::from_secs(async_secs);
    let on_host = super::async_host::start(&found, &args, &ctx, &jid, async_secs, &start).await?;
    let detached = on_host.is_some();
    let results_file = match on_host {
        Some(file) => file,
        None => spawn_job(found, args, ctx.clone(), &jid, async_secs, &start).await?,
    };
    if poll == 0 {
        return Ok(Outcome {
            changed: true,
            rest: job_fields(&jid, false, &results_file),
            ..Outcome::ok()
        });
    }
    let began = Instant::now();
    let mut last_look = false;
    loop {
        tokio::time::sleep(Duration::from_secs(poll)).await;
        let state = read_job(&ctx, &jid).await?;
        if let JobState::Done(result) = state {
            remove_job(&ctx, &jid).await?;
            return Ok(Outcome::from(finished(result, &jid, &results_file)));
        }
        if began.elapsed() >= limit && detached && !last_look {
            // The job on the host writes its own verdict a second after killing a job over its
            // limit (as async_wrapper): wait for it once, as ansible's slower polls see it.
            last_look = true;
            let verdict = limit + Duration::from_millis(1500);
            tokio::time::sleep(verdict.saturating_sub(began.elapsed())).await;
            if let JobState::Done(result) = read_job(&ctx, &jid).await? {
                remove_job(&ctx, &jid).await?;
                return Ok(Outcome::from(finished(result, &jid, &results_file)));
            }
        }
        if began.elapsed() >= limit {
            let mut async_result = job_fields(&jid, false, &results_file);
            async_result.insert("changed".into(), Value::from(false));
            return Ok(Outcome::failed(format!(
                "async task did not complete within the requested time - {async_secs}s"
            ))
            .with("async_result", crate::value::from_vars(&async_result)));
        }
    }
}

/// Runs a module as a job on the controller's runtime, its state in the job file on the host;
/// the file's path.
async fn spawn_job(
    found: Resolved,
    args: Vars,
    ctx: ModuleCtx,
    jid: &str,
    async_secs: u64,
    start: &serde_json::Value,
) -> Result<String, ModuleError> {
    let results_file = write_job(&ctx, jid, start).await?;
    let job = jid.to_string();
    let limit = Duration::from_secs(async_secs);
    tokio::spawn(async move {
        let result = match tokio::time::timeout(limit, super::invoke(found, args, &ctx)).await {
            Ok(Ok(outcome)) => outcome.into_result(),
            Ok(Err(e)) => failure(&e.message()),
            Err(_) => failure(&format!(
                "Job reached maximum time limit of {async_secs} seconds."
            )),
        };
        let json = crate::value::to_json(&crate::value::from_vars(&result));
        let _ = write_job(&ctx, &job, &json).await;
    });
    Ok(results_file)
}

fn failure(msg: &str) -> Vars {
    let mut r = Vars::new();
    r.insert("failed".into(), Value::from(true));
    r.insert("msg".into(), Value::from(msg));
    r
}

/// `ansible_job_id`, `finished`, `results_file`, `started`: what every job result carries.
fn job_fields(jid: &str, finished: bool, results_file: &str) -> Vars {
    let mut r = Vars::new();
    r.insert("ansible_job_id".into(), Value::from(jid));
    r.insert("finished".into(), Value::from(finished));
    r.insert("results_file".into(), Value::from(results_file));
    r.insert("started".into(), Value::from(true));
    r
}

/// A job id as ansible's: `j`, twelve random digits, a dot, the controller's process id.
fn job_id() -> Result<String, ModuleError> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b)
        .map_err(|e| ModuleError::Failed(format!("no randomness to name an async job: {e}")))?;
    let n = u64::from_le_bytes(b) % 1_000_000_000_000;
    Ok(format!("j{n:012}.{}", std::process::id()))
}

/// Whether a job id names a file in the job directory and nothing else.
fn valid_jid(jid: &str) -> bool {
    !jid.is_empty()
        && !jid.starts_with('.')
        && jid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Writes a job's state file atomically; the file's path on the host.
async fn write_job(
    ctx: &ModuleCtx,
    jid: &str,
    json: &serde_json::Value,
) -> Result<String, ModuleError> {
    let script = format!(
        "umask 077; d={ASYNC_DIR}; mkdir -p -- \"$d\" || exit 1\n\
         {private}\
         cat > job && mv -f -- job \"$d/{jid}\" || exit 1\n\
         J_done; trap - EXIT; printf '%s' \"$d/{jid}\"\n",
        private = hosttmp::private_dir("J", Place::Beside("\"$d\""), Cleanup::OnExit)?,
    );
    let body = json.to_string();
    let out = ctx.exec(&script, Some(body.as_bytes())).await?;
    if let Some(m) = hosttmp::refusal(&out.stdout) {
        return Err(ModuleError::Failed(m));
    }
    if out.rc != Some(0) {
        return Err(ModuleError::Failed(format!(
            "could not write the async job file: {}",
            super::text(&out.stderr).trim()
        )));
    }
    Ok(super::text(&out.stdout))
}

/// A job's state as its file tells it.
enum JobState {
    /// No such job file.
    Missing,
    /// Started, not finished (or the file is being written).
    Running,
    /// The module's result.
    Done(Vars),
    /// The file holds what is not a job's state.
    Unreadable(String),
}

async fn read_job(ctx: &ModuleCtx, jid: &str) -> Result<JobState, ModuleError> {
    let out = ctx
        .exec(
            &format!("f={ASYNC_DIR}/{jid}; [ -f \"$f\" ] || exit 3; cat -- \"$f\""),
            None,
        )
        .await?;
    if out.rc == Some(3) {
        return Ok(JobState::Missing);
    }
    let text = super::text(&out.stdout);
    if text.trim().is_empty() {
        return Ok(JobState::Running);
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(JobState::Unreadable(text));
    };
    let serde_json::Value::Object(object) = json else {
        return Ok(JobState::Unreadable(text));
    };
    let mut map: Vars = object
        .iter()
        .map(|(k, v)| (k.clone(), crate::value::from_json(v)))
        .collect();
    // A job run on the host leaves its output's lines to the reader, as ansible's controller
    // adds them to a module's result.
    for k in ["stdout", "stderr"] {
        let lines_key = format!("{k}_lines");
        if !map.contains_key(&lines_key)
            && let Some(s) = map.get(k).and_then(Value::as_str)
        {
            let lines = super::command::lines(s);
            map.insert(lines_key, lines);
        }
    }
    // As async_status reads it: a result without `started` is a finished job.
    if map.contains_key("started") && !map.get("finished").is_some_and(Value::is_true) {
        return Ok(JobState::Running);
    }
    Ok(JobState::Done(map))
}

async fn remove_job(ctx: &ModuleCtx, jid: &str) -> Result<(), ModuleError> {
    ctx.exec(&format!("rm -f -- {ASYNC_DIR}/{jid}"), None)
        .await?;
    Ok(())
}

/// The shell's expansion of a job's file name, for results (`results_file`, `erased`).
async fn job_path(ctx: &ModuleCtx, jid: &str) -> Result<String, ModuleError> {
    let out = ctx
        .exec(&format!("printf '%s' {ASYNC_DIR}/{jid}"), None)
        .await?;
    Ok(super::text(&out.stdout))
}

/// `async_status`: a job's state (`mode: status`), or its file removed (`mode: cleanup`).
pub struct AsyncStatus;

static SPEC: Spec = Spec {
    names: &["async_status"],
    free_form: FreeForm::No,
    params: &[&[
        Param::str("jid").required(),
        Param::str("mode")
            .default_str("status")
            .choices(&["cleanup", "status"]),
    ]],
    ..Spec::BASE
};

/// A finished job's result as async_status gives it: the job's fields, and empty `stdout` and
/// `stderr` when the module gave none.
fn finished(mut result: Vars, jid: &str, results_file: &str) -> Vars {
    result.extend(job_fields(jid, true, results_file));
    for k in ["stderr", "stdout"] {
        if !result.contains_key(k) {
            result.insert(k.into(), Value::from(""));
            result.insert(format!("{k}_lines"), Value::from(Vec::<Value>::new()));
        }
    }
    result
}

/// What async_status's action adds to every result: empty `stdout` and `stderr`.
fn with_empty_output(mut r: Vars) -> Vars {
    for k in ["stderr", "stdout"] {
        r.insert(k.into(), Value::from(""));
        r.insert(format!("{k}_lines"), Value::from(Vec::<Value>::new()));
    }
    r
}

impl Module for AsyncStatus {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let jid = args.required_str("jid")?;
            let mode = args.str("mode")?.unwrap_or_else(|| "status".into());
            let not_found = || {
                let mut r = Outcome::failed("could not find job");
                r.rest
                    .insert("ansible_job_id".into(), Value::from(jid.as_str()));
                r.rest.insert("started".into(), Value::from(true));
                r.rest.insert("finished".into(), Value::from(true));
                Ok(r)
            };
            if !valid_jid(&jid) {
                return not_found();
            }
            let state = read_job(ctx, &jid).await?;
            if matches!(state, JobState::Missing) {
                return not_found();
            }
            let path = job_path(ctx, &jid).await?;
            if mode == "cleanup" {
                remove_job(ctx, &jid).await?;
                let mut r = Vars::new();
                r.insert("ansible_job_id".into(), Value::from(jid.as_str()));
                r.insert("erased".into(), Value::from(path));
                r.insert("finished".into(), Value::from(false));
                r.insert("started".into(), Value::from(false));
                return Ok(Outcome {
                    rest: with_empty_output(r),
                    ..Outcome::ok()
                });
            }
            Ok(match state {
                JobState::Running | JobState::Missing => Outcome {
                    rest: with_empty_output(job_fields(&jid, false, &path)),
                    ..Outcome::ok()
                },
                JobState::Done(result) => Outcome::from(finished(result, &jid, &path)),
                JobState::Unreadable(text) => {
                    let mut r = Outcome::failed(format!("Could not parse job output: {text}"));
                    r.rest = job_fields(&jid, true, &path);
                    r
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_look_like_ansibles_and_name_only_a_file() {
        let a = job_id().unwrap();
        let b = job_id().unwrap();
        assert_ne!(a, b);
        assert!(
            a.starts_with('j') && a[1..13].chars().all(|c| c.is_ascii_digit()),
            "{a}"
        );
        assert!(valid_jid(&a));
        for bad in ["", "../x", ".hidden", "a b", "x;rm", "a/b"] {
            assert!(!valid_jid(bad), "{bad}");
        }
    }
}
