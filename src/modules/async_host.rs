//! Async `command` and `shell` jobs that run on the host, detached from baton.
//!
//! ansible-core's `async_wrapper` daemonizes the module on the host, so a `poll: 0` job goes on
//! after ansible exits (a long job, a reboot). baton's modules run on the controller, so for the
//! two modules whose work is one command line this file does the same with POSIX sh alone: a
//! small runner started with `setsid` (no controlling session, every descriptor on
//! `/dev/null`) runs the command, kills its process group when the job's time limit is
//! exceeded (then, as async_wrapper, a second later writes
//! `{"msg": "Timeout exceeded", "failed": true, "child_pid": N}`), and otherwise writes the
//! command module's own result (`cmd`, `rc`, `stdout`, `stderr`, `start`, `end`, `delta`,
//! `msg`, `failed` on a non-zero rc, `invocation`) to the job file, through a temporary file in
//! the same directory and a rename. The command line, its input and its arguments reach the
//! host on standard input into a private directory beside the job file (see
//! [`super::hosttmp`]), never on a command line. Tasks with `creates`/`removes`, check mode,
//! and hosts without `setsid` keep the controller-side job of [`super::async_job`].

use super::command::{Prepared, chdir_line, prepare};
use super::hosttmp::{self, Cleanup, Place};
use super::{Args, ModuleCtx, ModuleError, Outcome, Resolved};
use crate::value::Vars;

/// The runner, run as `sh run <private dir> <job dir> <jid> <limit> <strip> <chdir>` in a new
/// session (`strip`: `strip_empty_ends`; `chdir`: 1 when the task changes directory, whose
/// failure is ansible's command module's failure, without an rc).
/// The command runs in a session (so a process group) of its own, killed whole at the limit by
/// the watcher, a subshell counting the seconds.
const RUNNER: &str = r#"P=$1 d=$2 jid=$3 limit=$4 strip=$5 chdir=$6
cd -- "$P" || exit 1
now() { date -u '+%Y-%m-%d %H:%M:%S %s %N'; }
t0=$(now)
setsid sh ./cmd <./in >./out 2>./err &
child=$!
( i=0; while [ "$i" -lt "$limit" ]; do sleep 1; i=$((i + 1)); done
  : > ./timedout; kill -s KILL -- "-$child" 2>/dev/null; sleep 1
  printf '{"msg": "Timeout exceeded", "failed": true, "child_pid": %s}' "$child" > ./tj &&
  mv -f -- ./tj "$d/$jid"; cd / && rm -rf -- "$P" ) &
watch=$!
wait "$child"; rc=$?
[ -e ./timedout ] && exit 0
kill -s KILL "$watch" 2>/dev/null
t1=$(now)
stamp() { set -- $1; printf '%s %s.%s' "$1" "$2" "$(printf %s "$4" | cut -c1-6)"; }
secs() { set -- $1; printf '%s %s' "$3" "$4"; }
delta=$(awk -v a="$(secs "$t0")" -v b="$(secs "$t1")" 'BEGIN {
  split(a, x, " "); split(b, y, " ")
  us = (y[1] - x[1]) * 1000000 + int(y[2] / 1000) - int(x[2] / 1000)
  s = int(us / 1000000)
  printf "%d:%02d:%02d.%06d", int(s / 3600), int(s % 3600 / 60), s % 60, us % 1000000 }')
esc() { awk -v strip="$strip" 'BEGIN { ORS = ""
    for (i = 1; i < 32; i++) c[sprintf("%c", i)] = sprintf("\\u%04x", i)
    c["\\"] = "\\\\"; c["\""] = "\\\""; c["\t"] = "\\t"; c["\r"] = "\\r"; c["\b"] = "\\b"; c["\f"] = "\\f" }
  function emit(l,   j, ch) { if (k++) print "\\n"
    for (j = 1; j <= length(l); j++) { ch = substr(l, j, 1); print ((ch in c) ? c[ch] : ch) } }
  { if (strip == "1" && ($0 == "" || $0 == "\r")) { pend[++np] = $0; next }
    for (i = 1; i <= np; i++) emit(pend[i]); np = 0; emit($0) }
  END { if (strip != "1" && k) print "\\n" }'; }
if [ "$rc" = 250 ] && [ "$chdir" = 1 ] && grep -q '^Unable to change directory before execution' ./err
then { printf '{"changed": false, "cmd": '; cat ./cmdv
  printf ', "rc": null, "start": null, "end": null, "delta": null, "stdout": "", "stderr": "", '
  printf '"failed": true, "msg": "Unable to change directory before execution."}'; } > ./res &&
  mv -f -- ./res "$d/$jid"; cd / && rm -rf -- "$P"; exit 0
fi
if [ "$rc" -ne 0 ]; then tail=', "failed": true, "msg": "non-zero return code"'; else tail=', "msg": ""'; fi
{ cat ./pre
  printf ', "rc": %d, "start": "%s", "end": "%s", "delta": "%s"%s, "stdout": "' \
    "$rc" "$(stamp "$t0")" "$(stamp "$t1")" "$delta" "$tail"
  esc <./out; printf '", "stderr": "'; esc <./err; printf '"}'; } > ./res &&
mv -f -- ./res "$d/$jid"
cd / && rm -rf -- "$P"
"#;

/// Starts a `command` or `shell` job detached on the host after writing its started state to
/// `~/.ansible_async/<jid>`; the job file's path. `None` when this task keeps the
/// controller-side job (not command or shell, `creates`/`removes`, check mode, no `setsid`).
pub async fn start(
    found: &Resolved,
    args: &Vars,
    ctx: &ModuleCtx,
    jid: &str,
    async_secs: u64,
    started: &serde_json::Value,
) -> Result<Option<String>, ModuleError> {
    let shell = match found.name {
        "command" => false,
        "shell" => true,
        _ => return Ok(None),
    };
    if ctx.check_mode {
        return Ok(None);
    }
    let parsed = Args::parse(found.name, found.module.spec(), args.clone())?;
    let invocation = parsed.invocation();
    let Prepared {
        line,
        cmd_value,
        chdir,
        creates,
        removes,
        input,
        strip_empty_ends,
    } = prepare(parsed, shell)?;
    if creates.is_some() || removes.is_some() {
        return Ok(None);
    }
    let mut cmd = chdir.as_deref().map(chdir_line).unwrap_or_default();
    cmd.push_str(&line);
    cmd.push('\n');
    // The result's fields known before the command runs, as a JSON object left open.
    let known = Outcome {
        changed: true,
        ..Outcome::ok()
    }
    .with("cmd", cmd_value.clone())
    .with_invocation(invocation)
    .into_result();
    let known = crate::value::to_json(&crate::value::from_vars(&known)).to_string();
    let known = known.strip_suffix('}').unwrap_or(&known);
    let cmdv = crate::value::to_json(&cmd_value).to_string();
    let input = input.unwrap_or_default();
    let started = started.to_string();
    let mut body = Vec::new();
    for part in [
        cmd.as_bytes(),
        &input,
        known.as_bytes(),
        cmdv.as_bytes(),
        started.as_bytes(),
    ] {
        body.extend_from_slice(part);
    }
    let script = format!(
        "umask 077; command -v setsid >/dev/null 2>&1 || {{ cat >/dev/null; exit 4; }}\n\
         d=\"$HOME/.ansible_async\"; mkdir -p -- \"$d\" || exit 1\n\
         {private}\
         cat > run <<'BATON_RUNNER_EOF' || {{ P_done; exit 1; }}\n{RUNNER}BATON_RUNNER_EOF\n\
         head -c {n_cmd} > cmd && head -c {n_in} > in && head -c {n_known} > pre && head -c {n_cmdv} > cmdv && cat > started \
         && mv -f -- started \"$d/{jid}\" || {{ P_done; exit 1; }}\n\
         setsid sh \"$P/run\" \"$P\" \"$d\" {jid} {async_secs} {strip} {chdir} </dev/null >/dev/null 2>&1 &\n\
         printf '%s' \"$d/{jid}\"\n",
        private = hosttmp::private_dir("P", Place::Beside("\"$d\""), Cleanup::Caller)?,
        n_cmd = cmd.len(),
        n_in = input.len(),
        n_known = known.len(),
        n_cmdv = cmdv.len(),
        strip = u8::from(strip_empty_ends),
        chdir = u8::from(chdir.is_some()),
    );
    let out = ctx.exec(&script, Some(&body)).await?;
    if let Some(m) = hosttmp::refusal(&out.stdout) {
        return Err(ModuleError::Failed(m));
    }
    match out.rc {
        Some(0) => Ok(Some(super::text(&out.stdout))),
        Some(4) => Ok(None),
        _ => Err(ModuleError::Failed(format!(
            "could not start the async job on the host: {}",
            super::text(&out.stderr).trim()
        ))),
    }
}
