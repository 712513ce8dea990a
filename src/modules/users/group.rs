//! `group`: groupadd/groupmod/groupdel, as ansible-core's group module decides on Linux.

use super::*;

pub(super) async fn run_group(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let name = args.required_str("name")?;
    let force = args.bool("force")?.unwrap_or(false);
    let gid = args.int("gid")?;
    let system = args.bool("system")?.unwrap_or(false);
    let local = args.bool("local")?.unwrap_or(false);
    let non_unique = args.bool("non_unique")?.unwrap_or(false);
    let gid_min = args.int("gid_min")?;
    let gid_max = args.int("gid_max")?;
    if non_unique && gid.is_none() {
        return Err(ModuleError::Failed(
            "non_unique is True but all of the following are missing: gid".into(),
        ));
    }
    if force && local {
        return Err(ModuleError::Failed(
            "force is not a valid option for local, force=True and local=True are mutually exclusive".into(),
        ));
    }
    if local {
        return Err(ModuleError::Failed(
            "'local: true' needs libuser's lgroupadd/lgroupmod, which baton's group module does not drive yet".into(),
        ));
    }
    let lookup = format!("getent group {} | sed 's/^/G=/'", shell_quote(&name));
    let q = sysutil::run(ctx, &lookup).await?;
    let current = kv(&q.stdout).get("G").and_then(|l| parse_group(l));

    let mut cmd: Option<Vec<String>> = None;
    if state == "absent" {
        if current.is_some() {
            if ctx.check_mode {
                return Ok(super::super::result([("changed", Value::from(true))]));
            }
            let mut c = vec!["groupdel".to_string()];
            if force {
                c.push("-f".into());
            }
            c.push(name.clone());
            cmd = Some(c);
        }
    } else if current.is_none() {
        if ctx.check_mode {
            return Ok(super::super::result([("changed", Value::from(true))]));
        }
        let mut c = vec!["groupadd".to_string()];
        if let Some(g) = gid {
            c.push("-g".into());
            c.push(g.to_string());
            if non_unique {
                c.push("-o".into());
            }
        }
        if system {
            c.push("-r".into());
        }
        if let Some(g) = gid_min {
            c.push("-K".into());
            c.push(format!("GID_MIN={g}"));
        }
        if let Some(g) = gid_max {
            c.push("-K".into());
            c.push(format!("GID_MAX={g}"));
        }
        c.push(name.clone());
        cmd = Some(c);
    } else if let (Some(g), Some(cur)) = (gid, &current)
        && cur.gid != g
    {
        let mut c = vec!["groupmod".to_string(), "-g".into(), g.to_string()];
        if non_unique {
            c.push("-o".into());
        }
        c.push(name.clone());
        cmd = Some(c);
    }

    let mut r = Vars::new();
    r.insert("name".into(), Value::from(name.as_str()));
    r.insert("state".into(), Value::from(state.as_str()));
    let mut after = current.clone();
    match &cmd {
        Some(_) if ctx.check_mode => {
            r.insert("changed".into(), Value::from(true));
        }
        Some(c) => {
            let script = format!(
                "{}; rc=$?\n{}\necho RC=$rc\n{}",
                argv(c),
                section("after"),
                lookup
            );
            let out = sysutil::run(ctx, &script).await?;
            let secs = sections(&out.stdout);
            let after_kv = kv(secs.get("after").map(String::as_str).unwrap_or(""));
            let rc: i32 = after_kv
                .get("RC")
                .and_then(|r| r.parse().ok())
                .unwrap_or(out.rc);
            let run = Run {
                rc,
                stdout: secs[""].clone(),
                stderr: out.stderr,
            };
            if rc != 0 {
                return Ok(sysutil::failed(
                    run.stderr,
                    vec![("name", Value::from(name.as_str()))],
                ));
            }
            r.insert("changed".into(), Value::from(true));
            std_into(&mut r, &run);
            after = after_kv.get("G").and_then(|l| parse_group(l));
        }
        None => {
            r.insert("changed".into(), Value::from(false));
        }
    }
    if let Some(g) = after {
        r.insert("system".into(), Value::from(system));
        r.insert("gid".into(), Value::from(g.gid));
    }
    Ok(r)
}
