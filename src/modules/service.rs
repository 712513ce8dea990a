//! `systemd` / `systemd_service` and `service`: units through systemctl, deciding what to do
//! as ansible-core's systemd_service module does (lib/ansible/modules/systemd_service.py).
//!
//! The first round trip runs `daemon-reload` when asked and reads the unit (`systemctl show`,
//! `is-enabled`, an init script); a second one, only when something must change and not in
//! check mode, masks, enables and starts (in that order, stopping at the first failure).
//! `service` picks the service manager as Ansible's action plugin does and, on systemd, hands
//! over to `systemd` without the parameters only SysV init uses; elsewhere it drives the
//! `service` command.

use super::hosttmp::{self, Cleanup, Place};
use super::sysutil::{self, kv, section, sections};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};
use indexmap::IndexMap;

pub struct Systemd;
pub struct Service;

static SYSTEMD: Spec = Spec {
    names: &["systemd", "systemd_service"],
    params: &[&[
        Param::str("name").aliases(&["service", "unit"]),
        Param::str("state").choices(&["reloaded", "restarted", "started", "stopped"]),
        Param::bool("enabled"),
        Param::bool("force").default_bool(false),
        Param::bool("masked"),
        Param::bool("daemon_reload")
            .aliases(&["daemon-reload"])
            .default_bool(false),
        Param::bool("daemon_reexec")
            .aliases(&["daemon-reexec"])
            .default_bool(false),
        Param::str("scope")
            .choices(&["system", "user", "global"])
            .default_str("system"),
        Param::bool("no_block").default_bool(false),
    ]],
    ..Spec::BASE
};

static SERVICE: Spec = Spec {
    names: &["service"],
    // The service manager's module checks the arguments.
    open: true,
    params: &[&[Param::any("use")]],
    ..Spec::BASE
};

/// The `service` module proper, for hosts without systemd ([`run_sysv`]).
static SYSV: Spec = Spec {
    names: &["service"],
    params: &[&[
        Param::str("name").required(),
        Param::str("state").choices(&["started", "stopped", "reloaded", "restarted"]),
        Param::int("sleep"),
        Param::str("pattern"),
        Param::bool("enabled"),
        Param::str("runlevel"),
        Param::str("arguments").aliases(&["args"]),
    ]],
    required_one_of: &[&["state", "enabled"]],
    ..Spec::BASE
};

impl Module for Systemd {
    fn spec(&self) -> &'static Spec {
        &SYSTEMD
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run_systemd(args, ctx))
    }
}

impl Module for Service {
    fn spec(&self) -> &'static Spec {
        &SERVICE
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run_service(args, ctx))
    }
}

/// parse_systemctl_show(): `Key=value` lines; only `Exec*={ ... }` values span lines.
pub(crate) fn parse_show(text: &str) -> IndexMap<String, String> {
    let mut parsed = IndexMap::new();
    let mut multival: Vec<&str> = Vec::new();
    let mut key: Option<String> = None;
    for line in text.split('\n') {
        match &key {
            None => {
                if let Some((k, v)) = line.split_once('=') {
                    if k.starts_with("Exec")
                        && v.trim_start().starts_with('{')
                        && !v.trim_end().ends_with('}')
                    {
                        multival.push(v);
                        key = Some(k.to_string());
                        continue;
                    }
                    parsed.insert(k.to_string(), v.trim().to_string());
                }
            }
            Some(k) => {
                multival.push(line);
                if line.trim_end().ends_with('}') {
                    parsed.insert(k.clone(), multival.join("\n").trim().to_string());
                    multival.clear();
                    key = None;
                }
            }
        }
    }
    parsed
}

/// The unit as the first round trip read it.
#[derive(Debug, Default)]
struct UnitState {
    status: IndexMap<String, String>,
    show_rc: i32,
    show_out: String,
    show_err: String,
    is_enabled: String,
    is_enabled_l: String,
    is_enabled_l_rc: i32,
    list_unit_files_rc: i32,
    initd: bool,
    sysv_enabled: bool,
}

fn request_was_ignored(out: &str) -> bool {
    !out.contains('=') && (out.contains("ignoring request") || out.contains("ignoring command"))
}

async fn run_systemd(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let unit = args.str("name")?;
    let state = args.str("state")?;
    let enabled = args.bool("enabled")?;
    let force = args.bool("force")?.unwrap_or(false);
    let masked = args.bool("masked")?;
    let daemon_reload = args.bool("daemon_reload")?.unwrap_or(false);
    let daemon_reexec = args.bool("daemon_reexec")?.unwrap_or(false);
    let scope = args.str("scope")?.unwrap_or_else(|| "system".into());
    let no_block = args.bool("no_block")?.unwrap_or(false);
    if state.is_none() && enabled.is_none() && masked.is_none() && !daemon_reload && !daemon_reexec
    {
        return Err(ModuleError::Failed(
            "one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec"
                .into(),
        ));
    }
    for (given, what) in [
        (state.is_some(), "state"),
        (enabled.is_some(), "enabled"),
        (masked.is_some(), "masked"),
    ] {
        if given && unit.is_none() {
            return Err(ModuleError::Failed(format!(
                "missing parameter(s) required by '{what}': name"
            )));
        }
    }
    if let Some(u) = &unit {
        for glob in ["*", "?", "["] {
            if u.contains(glob) {
                return Err(ModuleError::Failed(format!(
                    "This module does not currently support using glob patterns, found '{glob}' in service name: {u}"
                )));
            }
        }
    }
    let mut systemctl = "systemctl".to_string();
    if scope != "system" {
        systemctl.push_str(&format!(" --{scope}"));
    }
    if no_block {
        systemctl.push_str(" --no-block");
    }
    if force {
        systemctl.push_str(" --force");
    }

    // --- Round trip 1.
    let mut script = String::from(
        "command -v systemctl >/dev/null 2>&1 || { echo NOSYSTEMCTL=1; exit 0; }\n\
         [ -n \"${XDG_RUNTIME_DIR:-}\" ] || { XDG_RUNTIME_DIR=/run/user/$(id -u); export XDG_RUNTIME_DIR; }\n",
    );
    for (wanted, verb) in [
        (daemon_reload, "daemon-reload"),
        (daemon_reexec, "daemon-reexec"),
    ] {
        if wanted && !ctx.check_mode {
            script.push_str(&format!(
                "e=$({systemctl} {verb} 2>&1 >/dev/null); r=$?; if [ $r != 0 ]; then \
                 if [ \"${{SYSTEMD_OFFLINE:-}}\" = 1 ] || [ \"$(stat -c %d:%i / 2>/dev/null)\" != \"$(stat -c %d:%i /proc/1/root/. 2>/dev/null)\" ]; then :; \
                 else printf 'VERBFAIL=%s\\nVERBRC=%s\\n' {verb} $r; {sec}; printf '%s' \"$e\"; exit 0; fi; fi\n",
                sec = section("verberr"),
            ));
        }
    }
    if let Some(u) = &unit {
        let q = shell_quote(u);
        script.push_str(&format!(
            "u={q}\n\
             [ -e \"/etc/init.d/$u\" ] && echo INITD=1\n\
             for f in /etc/rc?.d/S??\"$u\"; do [ -e \"$f\" ] && echo SYSV=1 && break; done\n\
             ie=$({systemctl} is-enabled \"$u\" 2>/dev/null); echo \"IE=$ie\"\n\
             iel=$({systemctl} is-enabled \"$u\" -l 2>/dev/null); echo \"IELRC=$?\"; echo \"IEL=$(printf '%s' \"$iel\" | head -n 1)\"\n\
             {systemctl} list-unit-files \"$u\" >/dev/null 2>&1; echo \"LUFRC=$?\"\n\
             {tmp}{systemctl} show \"$u\" >\"$T/show\" 2>\"$T/err\"; echo \"SHOWRC=$?\"\n\
             {s_out}; cat \"$T/show\"; {s_err}; cat \"$T/err\"\n",
            s_out = section("show"),
            s_err = section("showerr"),
            // systemctl's output waits in a private directory (see hosttmp).
            tmp = hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?,
        ));
    }
    let out = sysutil::run(ctx, &script).await?;
    let secs = sections(&out.stdout);
    let head = kv(&secs[""]);
    if head.contains_key("NOSYSTEMCTL") {
        return Ok(sysutil::failed(
            "Failed to find required executable \"systemctl\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            vec![],
        ));
    }
    if let Some(verb) = head.get("VERBFAIL") {
        let rc = head.get("VERBRC").cloned().unwrap_or_default();
        return Ok(sysutil::failed(
            format!(
                "failure {rc} during {verb}: {}",
                secs.get("verberr").cloned().unwrap_or_default()
            ),
            vec![],
        ));
    }

    let mut r = Vars::new();
    r.insert(
        "name".into(),
        unit.as_deref().map(Value::from).unwrap_or(Value::from(())),
    );
    r.insert("changed".into(), Value::from(false));
    let Some(unit) = unit else {
        r.insert("status".into(), value::map(Vec::<(&str, Value)>::new()));
        return Ok(r);
    };
    let num = |k: &str| head.get(k).and_then(|v| v.parse().ok()).unwrap_or(1);
    let st = UnitState {
        show_rc: num("SHOWRC"),
        show_out: secs.get("show").cloned().unwrap_or_default(),
        show_err: secs.get("showerr").cloned().unwrap_or_default(),
        is_enabled: head.get("IE").cloned().unwrap_or_default(),
        is_enabled_l: head.get("IEL").cloned().unwrap_or_default(),
        is_enabled_l_rc: num("IELRC"),
        list_unit_files_rc: num("LUFRC"),
        initd: head.contains_key("INITD"),
        sysv_enabled: head.contains_key("SYSV"),
        status: IndexMap::new(),
    };
    let mut st = st;
    let mut is_systemd = false;
    if st.show_rc == 0 && !request_was_ignored(&st.show_out) && !request_was_ignored(&st.show_err) {
        if !st.show_out.is_empty() {
            st.status = parse_show(&st.show_out);
            let load = st.status.get("LoadState").map(String::as_str);
            is_systemd = load.is_some_and(|l| l != "not-found");
            let is_masked = load == Some("masked");
            if is_systemd
                && !is_masked
                && let Some(err) = st.status.get("LoadError")
            {
                return Ok(sysutil::failed(
                    format!("Error loading unit file '{unit}': {err}"),
                    vec![],
                ));
            }
        }
    } else {
        const VALID: &[&str] = &[
            "enabled",
            "enabled-runtime",
            "linked",
            "linked-runtime",
            "masked",
            "masked-runtime",
            "static",
            "indirect",
            "disabled",
            "generated",
            "transient",
        ];
        is_systemd = VALID.contains(&st.is_enabled.trim()) || st.list_unit_files_rc == 0;
    }
    let found = is_systemd || st.initd;
    let missing = || {
        Ok(sysutil::failed(
            format!("Could not find the requested service {unit}: host"),
            vec![],
        ))
    };
    // Steps to take, in the module's order: (verb, message on failure).
    let mut steps: Vec<(String, String)> = Vec::new();
    let mut changed = false;
    if let Some(want) = masked {
        let is_masked = st.is_enabled.trim() == "masked";
        if is_masked != want {
            changed = true;
            let action = if want { "mask" } else { "unmask" };
            steps.push((
                action.into(),
                format!("Failed to {action} the service ({unit}): "),
            ));
        }
    }
    if let Some(want) = enabled {
        if !found {
            return missing();
        }
        let mut now = false;
        if st.is_enabled_l_rc == 0 {
            now = !matches!(
                st.is_enabled_l.trim_end(),
                "enabled-runtime" | "indirect" | "alias"
            );
        } else if st.is_enabled_l_rc == 1
            && scope == "system"
            && st.initd
            && !st.is_enabled_l.trim().ends_with("disabled")
            && st.sysv_enabled
        {
            now = true;
        }
        r.insert("enabled".into(), Value::from(now));
        if now != want {
            changed = true;
            let action = if want { "enable" } else { "disable" };
            steps.push((
                action.into(),
                format!("Unable to {action} service {unit}: "),
            ));
            r.insert("enabled".into(), Value::from(!now));
        }
    }
    if let Some(want) = &state {
        if !found {
            return missing();
        }
        r.insert("state".into(), Value::from(want.as_str()));
        match st.status.get("ActiveState").map(String::as_str) {
            Some(active) => {
                let running = matches!(active, "active" | "activating");
                let action = match want.as_str() {
                    "started" => (!running).then_some("start"),
                    "stopped" => (running || active == "deactivating").then_some("stop"),
                    other => {
                        r.insert("state".into(), Value::from("started"));
                        Some(if !running {
                            "start"
                        } else if other == "restarted" {
                            "restart"
                        } else {
                            "reload"
                        })
                    }
                };
                if let Some(action) = action {
                    changed = true;
                    steps.push((
                        action.into(),
                        format!("Unable to {action} service {unit}: "),
                    ));
                }
            }
            None => {
                let offline = std::env::var("SYSTEMD_OFFLINE").is_ok();
                if !offline {
                    let mut f = sysutil::failed("Service is in unknown state", vec![]);
                    f.insert("status".into(), status_value(&st.status));
                    return Ok(f);
                }
            }
        }
    }
    r.insert("changed".into(), Value::from(changed));
    r.insert("status".into(), status_value(&st.status));

    if ctx.check_mode || steps.is_empty() {
        return Ok(r);
    }
    // --- Round trip 2: the steps, stopping at the first that fails.
    let mut script = String::from(
        "[ -n \"${XDG_RUNTIME_DIR:-}\" ] || { XDG_RUNTIME_DIR=/run/user/$(id -u); export XDG_RUNTIME_DIR; }\n",
    );
    script.push_str(&hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?);
    for (i, (verb, _)) in steps.iter().enumerate() {
        script.push_str(&format!(
            "{systemctl} {verb} {u} >\"$T/out\" 2>\"$T/err\"; r=$?\n\
             if [ $r != 0 ]; then echo FAILSTEP={i}; {so}; cat \"$T/out\"; {se}; cat \"$T/err\"; exit 0; fi\n",
            u = shell_quote(&unit),
            so = section("out"),
            se = section("err"),
        ));
    }
    let out = sysutil::run(ctx, &script).await?;
    let secs = sections(&out.stdout);
    if let Some(i) = kv(&secs[""])
        .get("FAILSTEP")
        .and_then(|i| i.parse::<usize>().ok())
    {
        let (verb, prefix) = &steps[i];
        let (o, e) = (
            secs.get("out").cloned().unwrap_or_default(),
            secs.get("err").cloned().unwrap_or_default(),
        );
        let msg = match verb.as_str() {
            "mask" | "unmask" => {
                if !found {
                    return missing();
                }
                format!("{prefix}{}", e.trim())
            }
            "enable" | "disable" => format!("{prefix}{o}{e}"),
            _ => format!("{prefix}{e}"),
        };
        return Ok(sysutil::failed(msg, vec![]));
    }
    Ok(r)
}

fn status_value(status: &IndexMap<String, String>) -> Value {
    value::map(
        status
            .iter()
            .map(|(k, v)| (k.as_str(), Value::from(v.as_str()))),
    )
}

/// The service manager: `use`, the `service_mgr` fact, or what the host shows.
const PROBE: &str = "if command -v systemctl >/dev/null 2>&1 && { [ -e /run/systemd/system/ ] || [ -e /dev/.run/systemd/ ] || [ -e /dev/.systemd/ ] || [ \"$(cat /proc/1/comm 2>/dev/null)\" = systemd ]; }; then echo systemd; \
elif command -v rc-service >/dev/null 2>&1; then echo openrc; else echo service; fi";

async fn run_service(args: Args, ctx: &ModuleCtx) -> MapResult {
    let mut values = args.into_values();
    let used = values
        .shift_remove("use")
        .map(|v| v.to_string().to_ascii_lowercase())
        .filter(|v| v != "auto");
    let manager = match used.or_else(|| sysutil::fact(ctx, "service_mgr")) {
        Some(m) => m,
        None => sysutil::run(ctx, PROBE).await?.stdout.trim().to_string(),
    };
    if manager == "systemd" {
        // The action plugin drops what only SysV init uses (with a warning).
        for unused in ["pattern", "runlevel", "sleep", "arguments", "args"] {
            values.shift_remove(unused);
        }
        return run_systemd(Args::parse("systemd", &SYSTEMD, values)?, ctx).await;
    }
    run_sysv(Args::parse("service", &SYSV, values)?, ctx).await
}

/// The `service` module proper (ansible.legacy.service) for hosts without systemd: the
/// `service` command, its `status` telling whether the service runs.
async fn run_sysv(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let name = args.required_str("name")?;
    let state = args.str("state")?;
    let sleep = args.int("sleep")?;
    let pattern = args.str("pattern")?;
    let enabled = args.bool("enabled")?;
    let _ = args.str("runlevel")?;
    let arguments = args.str("arguments")?.unwrap_or_default();
    let n = shell_quote(&name);
    let running_check = match &pattern {
        Some(p) => format!("ps auxww | grep -v grep | grep -q -- {}", shell_quote(p)),
        None => format!("service {n} status >/dev/null 2>&1"),
    };
    let out = sysutil::run(
        ctx,
        &format!(
            "if [ ! -e /etc/init.d/{name} ] && ! command -v rc-service >/dev/null 2>&1; then echo MISSING=1; fi\n\
             if {running_check}; then echo RUNNING=1; fi\n\
             for f in /etc/rc?.d/S??{name} /etc/runlevels/*/{name}; do [ -e \"$f\" ] && echo ENABLED=1 && break; done\n",
            name = n
        ),
    )
    .await?;
    let head = kv(&out.stdout);
    if head.contains_key("MISSING") {
        return Ok(sysutil::failed(
            format!("cannot find the init script for service {name}"),
            vec![],
        ));
    }
    let running = head.contains_key("RUNNING");
    let is_enabled = head.contains_key("ENABLED");
    let mut r = Vars::new();
    r.insert("name".into(), Value::from(name.as_str()));
    let mut cmds: Vec<String> = Vec::new();
    let mut changed = false;
    if let Some(want) = enabled {
        r.insert("enabled".into(), Value::from(want));
        if want != is_enabled {
            changed = true;
            cmds.push(format!(
                "if command -v update-rc.d >/dev/null 2>&1; then update-rc.d {n} {}; elif command -v rc-update >/dev/null 2>&1; then rc-update {} {n}; else chkconfig {n} {}; fi",
                if want { "defaults" } else { "remove" },
                if want { "add" } else { "del" },
                if want { "on" } else { "off" }
            ));
        }
    }
    if let Some(want) = &state {
        r.insert("state".into(), Value::from(want.as_str()));
        let action = match want.as_str() {
            "started" => (!running).then_some("start"),
            "stopped" => running.then_some("stop"),
            "reloaded" => Some(if running { "reload" } else { "start" }),
            _ => Some("restart"),
        };
        if let Some(a) = action {
            changed = true;
            cmds.push(format!("service {n} {a} {arguments}"));
            if let Some(s) = sleep
                && a == "restart"
            {
                cmds.push(format!("sleep {s}"));
            }
        }
    }
    r.insert("changed".into(), Value::from(changed));
    if ctx.check_mode || cmds.is_empty() {
        return Ok(r);
    }
    let run = sysutil::run(ctx, &cmds.join(" && ")).await?;
    if run.rc != 0 {
        let msg = if run.stderr.trim().is_empty() {
            run.stdout.trim().to_string()
        } else {
            run.stderr.trim().to_string()
        };
        return Ok(sysutil::failed(msg, vec![]));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_output_keeps_multiline_exec_values_only() {
        let text = "Id=nginx.service\nDescription={ odd\nExecStart={ path=/usr/sbin/nginx ; argv[]=/usr/sbin/nginx\n -g daemon on; }\nActiveState=active\n";
        let s = parse_show(text);
        assert_eq!(s["Description"], "{ odd");
        assert_eq!(
            s["ExecStart"],
            "{ path=/usr/sbin/nginx ; argv[]=/usr/sbin/nginx\n -g daemon on; }"
        );
        assert_eq!(s["ActiveState"], "active");
    }
}
