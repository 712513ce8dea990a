//! `wait_for` and `wait_for_connection`.
//!
//! `wait_for` runs on the host, as Ansible's does: one command that polls until a TCP port
//! accepts (or refuses) connections, a file appears (holding a match for `search_regex`) or
//! goes away, or a port has no established connections left (`drained`). Ports are probed with
//! bash's `/dev/tcp` (bash is part of every Debian system), else `nc -z`; a `search_regex` with a
//! port is looked for in what the server sends (bash only). `wait_for_connection`
//! runs on the controller: it retries a trivial command until the host answers.

use super::fileutil::{self, Report};
use super::hosttmp::{self, Cleanup, Place};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};
use std::time::{Duration, Instant};

pub struct WaitFor;
pub struct WaitForConnection;

static WAIT_FOR: Spec = Spec {
    names: &["wait_for"],
    // Ansible's module skips itself under --check ("does not support check mode").
    check_mode: false,
    params: &[&[
        Param::str("host").default_str("127.0.0.1"),
        Param::int("port"),
        Param::str("path").aliases(&["dest"]),
        Param::str("search_regex"),
        Param::str("state").choices(STATES).default_str("started"),
        Param::int("delay").default_int(0),
        Param::int("timeout").default_int(300),
        Param::int("sleep").default_int(1),
        Param::int("connect_timeout").default_int(5),
        Param::str("msg"),
        Param::list("exclude_hosts"),
        Param::list("active_connection_states"),
    ]],
    ..Spec::BASE
};

static WAIT_FOR_CONNECTION: Spec = Spec {
    names: &["wait_for_connection"],
    params: &[&[
        Param::int("delay").default_int(0),
        Param::int("sleep").default_int(1),
        Param::int("timeout").default_int(600),
        Param::int("connect_timeout").default_int(5),
    ]],
    ..Spec::BASE
};

impl Module for WaitFor {
    fn spec(&self) -> &'static Spec {
        &WAIT_FOR
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(wait_for(args, ctx))
    }
}

impl Module for WaitForConnection {
    fn spec(&self) -> &'static Spec {
        &WAIT_FOR_CONNECTION
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(wait_for_connection(args, ctx))
    }
}

const STATES: &[&str] = &["absent", "drained", "present", "started", "stopped"];

async fn wait_for(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let host = args.str("host")?.unwrap_or_else(|| "127.0.0.1".into());
    let port = args.int("port")?;
    let path = args.str("path")?;
    let search_regex = args.str("search_regex")?;
    let state = args.str("state")?.unwrap_or_else(|| "started".into());
    let delay = args.int("delay")?.unwrap_or(0);
    let timeout = args.int("timeout")?.unwrap_or(300);
    let sleep = args.int("sleep")?.unwrap_or(1).max(1);
    let connect_timeout = args.int("connect_timeout")?.unwrap_or(5).max(1);
    let msg = args.str("msg")?;
    let _ = args.list("exclude_hosts")?;
    let _ = args.list("active_connection_states")?;

    if port.is_some() && path.is_some() {
        return Err(ModuleError::Failed(
            "port and path parameter can not both be passed to wait_for".into(),
        ));
    }
    if path.is_some() && state == "stopped" {
        return Err(ModuleError::Failed(
            "state=stopped should only be used for checking a port in the wait_for module".into(),
        ));
    }
    if path.is_some() && state == "drained" {
        return Err(ModuleError::Failed(
            "state=drained should only be used for checking a port in the wait_for module".into(),
        ));
    }
    let re = search_regex
        .as_deref()
        .map(|r| fileutil::python_regex(r, true))
        .transpose()?;
    // A plain `sleep` when neither port nor path is given.
    let cond = match (&port, &path, state.as_str()) {
        (None, None, _) => "false".to_string(),
        (Some(p), _, "started" | "present") => match &search_regex {
            Some(_) => format!("probe_re {} {p}", shell_quote(&host)),
            None => format!("probe {} {p}", shell_quote(&host)),
        },
        (Some(p), _, "stopped" | "absent") => format!("! probe {} {p}", shell_quote(&host)),
        (Some(p), _, _) => {
            format!("[ -z \"$(ss -Htn state established '( sport = :{p} )' 2>/dev/null)\" ]")
        }
        (None, Some(f), "absent" | "stopped") => format!("[ ! -e {} ]", shell_quote(f)),
        // Python's regex is closest to grep's PCRE mode; the groups are taken on the
        // controller from the file's content.
        (None, Some(f), _) => match &search_regex {
            Some(r) => format!(
                "[ -r {f} ] && {{ grep -Pq -- {r} {f} 2>/dev/null || grep -Eq -- {r} {f} 2>/dev/null; }}",
                f = shell_quote(f),
                r = shell_quote(r)
            ),
            None => format!("[ -e {} ]", shell_quote(f)),
        },
    };
    // With a port, search_regex is looked for in what the server sends on a connection, read
    // until it matches, the server closes, or the time is up (as Ansible's socket loop).
    let script = format!(
        r#"probe() {{
  if command -v bash >/dev/null 2>&1; then
    timeout {ct} bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
  else timeout {ct} nc -z "$1" "$2" 2>/dev/null; fi
}}
match_re() {{ grep -Pq -- {re} "$1" 2>/dev/null || grep -Eq -- {re} "$1" 2>/dev/null; }}
probe_re() {{
  command -v bash >/dev/null 2>&1 || die "wait_for with a port and search_regex needs bash on the host"
{scratch}  _f=$_W/r
  _left=$((end - $(date +%s))); [ "$_left" -gt 0 ] || _left=1
  timeout "$_left" bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1; exec cat <&3' _ "$1" "$2" >"$_f" 2>/dev/null &
  _p=$!
  while kill -0 "$_p" 2>/dev/null; do
    if match_re "$_f"; then kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null; _W_done; return 0; fi
    sleep 0.2
  done
  wait "$_p" 2>/dev/null
  match_re "$_f"; _r=$?; _W_done; return $_r
}}
sleep {delay}
start=$(date +%s); end=$((start + {timeout}))
while :; do
  if {cond}; then R ok "$(( $(date +%s) - start ))"; ok=1; break; fi
  now=$(date +%s)
  if [ "$now" -ge "$end" ]; then R timeout "$((now - start))"; break; fi
  sleep {sleep}
done
{info}
"#,
        ct = connect_timeout,
        re = shell_quote(search_regex.as_deref().unwrap_or("")),
        delay = delay.max(0),
        timeout = timeout.max(0),
        sleep = sleep,
        scratch = hosttmp::private_dir("_W", Place::Tmp, Cleanup::Caller)?,
        info = match (&path, state.as_str()) {
            (Some(f), "started" | "present") => format!(
                "if [ \"$ok\" = 1 ]; then info {p}; [ -f {p} ] && {{ echo BATON-CONTENT; cat -- {p}; }}; fi",
                p = shell_quote(f)
            ),
            _ => String::new(),
        },
    );
    let out = ctx
        .exec(&format!("{}{script}", fileutil::sh_lib()?), None)
        .await?;
    let marker = b"BATON-CONTENT\n";
    let (head, content) = match out.stdout.windows(marker.len()).position(|w| w == marker) {
        Some(i) => (
            out.stdout[..i].to_vec(),
            Some(super::text(&out.stdout[i + marker.len()..])),
        ),
        None => (out.stdout.clone(), None),
    };
    let report = Report::parse(&crate::connection::ExecOutput {
        stdout: head,
        stderr: out.stderr.clone(),
        rc: out.rc,
    })?;
    let elapsed: i64 = report
        .get("ok")
        .or(report.get("timeout"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
        + delay.max(0);

    if report.get("timeout").is_some() {
        if port.is_none() && path.is_none() {
            // Neither port nor path: wait_for is a sleep that succeeds.
            return Ok(super::result([
                ("changed", Value::from(false)),
                ("elapsed", Value::from(elapsed)),
            ]));
        }
        let text = match (&port, &path, state.as_str()) {
            (Some(p), _, "started" | "present") => match &search_regex {
                Some(r) => format!("Timeout when waiting for search string {r} in {host}:{p}"),
                None => format!("Timeout when waiting for {host}:{p}"),
            },
            (Some(p), _, "drained") => format!("Timeout when waiting for {host}:{p} to drain"),
            (Some(p), _, _) => format!("Timeout when waiting for {host}:{p} to stop."),
            (None, Some(f), "absent") => format!("Timeout when waiting for {f} to be absent."),
            (None, Some(f), _) => match &search_regex {
                Some(r) => format!("Timeout when waiting for search string {r} in {f}"),
                None => format!("Timeout when waiting for file {f}"),
            },
            _ => String::new(),
        };
        return Ok(fileutil::failed(
            msg.unwrap_or(text),
            [("elapsed", Value::from(elapsed))],
        ));
    }
    let mut groups = Vec::new();
    let mut groupdict = Vars::new();
    if let (Some(re), Some(content)) = (&re, &content)
        && let Some(caps) = re.captures(content)
    {
        for (i, g) in caps.iter().enumerate().skip(1) {
            groups.push(g.map_or(Value::from(()), |m| Value::from(m.as_str())));
            if let Some(name) = re.capture_names().nth(i).flatten() {
                groupdict.insert(
                    name.to_string(),
                    g.map_or(Value::from(()), |m| Value::from(m.as_str())),
                );
            }
        }
    }
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(false));
    r.insert("elapsed".into(), Value::from(elapsed));
    r.insert(
        "match_groupdict".into(),
        crate::value::from_vars(&groupdict),
    );
    r.insert("match_groups".into(), Value::from(groups));
    r.insert(
        "path".into(),
        path.as_deref().map_or(Value::from(()), Value::from),
    );
    r.insert("port".into(), port.map_or(Value::from(()), Value::from));
    r.insert(
        "search_regex".into(),
        search_regex.as_deref().map_or(Value::from(()), Value::from),
    );
    r.insert("state".into(), Value::from(state.as_str()));
    if report.get("info").is_some() {
        // Ansible adds the file's path info, whose `state` replaces the requested one.
        report.add_path_info(&mut r);
        r.insert("state".into(), Value::from("file"));
    }
    Ok(r)
}

async fn wait_for_connection(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let delay = args.int("delay")?.unwrap_or(0);
    let sleep = args.int("sleep")?.unwrap_or(1).max(1);
    let timeout = args.int("timeout")?.unwrap_or(600);
    let connect_timeout = args.int("connect_timeout")?.unwrap_or(5).max(1);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(delay.max(0) as u64)).await;
    let deadline = start + Duration::from_secs(timeout.max(0) as u64);
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_secs(connect_timeout as u64),
            ctx.exec("echo pong", None),
        )
        .await;
        let error = match attempt {
            Ok(Ok(out)) if out.rc == Some(0) => {
                return Ok(super::result([
                    ("changed", Value::from(false)),
                    ("elapsed", Value::from(start.elapsed().as_secs())),
                ]));
            }
            Ok(Ok(out)) => super::text(&out.stderr).trim().to_string(),
            Ok(Err(e)) => e.message(),
            Err(_) => format!("no answer within {connect_timeout} s"),
        };
        if Instant::now() >= deadline {
            return Ok(fileutil::failed(
                format!("timed out waiting for ping module test: {error}"),
                [("elapsed", Value::from(start.elapsed().as_secs()))],
            ));
        }
        tokio::time::sleep(Duration::from_secs(sleep as u64)).await;
    }
}
