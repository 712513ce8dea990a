//! `apt`: Debian packages through apt-get, dpkg-query and apt-cache, deciding what to install,
//! upgrade or remove as ansible-core's apt module does (lib/ansible/modules/apt.py), without
//! python3-apt on the host.
//!
//! The first round trip refreshes the cache when asked (`update_cache`, `cache_valid_time`),
//! reads every package's state (dpkg status, apt's candidate, the available versions when a
//! version was given) and marks installed packages manual as the module does; when nothing must
//! change that is the only one. Otherwise a second runs the same apt-get command line Ansible
//! would (its text is part of failure messages), `--simulate` in check mode.

use super::hosttmp::{self, Cleanup, Place};
use super::sysutil::{self, Run, argv, kv, section, sections};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};

mod packages;
use packages::*;

mod deb;
use deb::*;

pub struct Apt;

static SPEC: Spec = Spec {
    names: &["apt"],
    diff: true,
    params: &[&[
        Param::str("state")
            .choices(&["absent", "build-dep", "fixed", "latest", "present"])
            .default_str("present"),
        Param::list("package").aliases(&["pkg", "name"]),
        Param::str("deb"),
        Param::str("upgrade").choices(&["dist", "full", "no", "safe", "yes"]),
        Param::bool("update_cache").aliases(&["update-cache"]),
        Param::bool("autoremove").default_bool(false),
        Param::int("update_cache_retries").default_int(5),
        Param::int("update_cache_retry_max_delay").default_int(12),
        Param::int("cache_valid_time").default_int(0),
        Param::bool("purge").default_bool(false),
        Param::str("default_release").aliases(&["default-release"]),
        Param::bool("install_recommends").aliases(&["install-recommends"]),
        Param::bool("force").default_bool(false),
        Param::str("dpkg_options").default_str("force-confdef,force-confold"),
        Param::bool("autoclean").default_bool(false),
        Param::bool("fail_on_autoremove").default_bool(false),
        Param::int("policy_rc_d"),
        Param::bool("only_upgrade").default_bool(false),
        Param::bool("clean").default_bool(false),
        Param::bool("allow_unauthenticated")
            .aliases(&["allow-unauthenticated"])
            .default_bool(false),
        Param::bool("allow_downgrade")
            .aliases(&["allow-downgrade", "allow_downgrades", "allow-downgrades"])
            .default_bool(false),
        Param::bool("allow_change_held_packages").default_bool(false),
        Param::int("lock_timeout").default_int(60),
        Param::bool("force_apt_get"),
        Param::bool("auto_install_module_deps"),
    ]],
    mutually_exclusive: &[&["deb", "package", "upgrade"]],
    ..Spec::BASE
};

impl Module for Apt {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run_apt(args, ctx))
    }
}

const APT_GET: &str = "/usr/bin/apt-get";
const APT_GET_ZERO: &str = "\n0 upgraded, 0 newly installed, 0 to remove";
/// What apt's output must say for autoremove/autoclean to count as a change.
const AUTOREMOVE_CHANGED: &str = "The following packages will be REMOVED";
const AUTOCLEAN_CHANGED: &str = "Del ";

/// The environment the module runs apt under (APT_ENV_VARS with the C.UTF-8 locale).
const APT_ENV: &str = "DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=critical LANG=C.UTF-8 \
LC_ALL=C.UTF-8 LC_MESSAGES=C.UTF-8 LC_CTYPE=C.UTF-8 LANGUAGE=C.UTF-8; \
export DEBIAN_FRONTEND DEBIAN_PRIORITY LANG LC_ALL LC_MESSAGES LC_CTYPE LANGUAGE";

#[derive(Debug, Clone, Default)]
pub(crate) struct AptParams {
    state: String,
    update_cache: Option<bool>,
    update_cache_retries: i64,
    update_cache_retry_max_delay: i64,
    cache_valid_time: i64,
    purge: bool,
    packages: Option<Vec<String>>,
    deb: Option<String>,
    default_release: Option<String>,
    install_recommends: Option<bool>,
    force: bool,
    upgrade: Option<String>,
    dpkg_options: String,
    autoremove: bool,
    autoclean: bool,
    fail_on_autoremove: bool,
    policy_rc_d: Option<i64>,
    only_upgrade: bool,
    clean: bool,
    allow_unauthenticated: bool,
    allow_downgrade: bool,
    allow_change_held_packages: bool,
    lock_timeout: i64,
}

fn read_params(mut args: Args) -> Result<AptParams, ModuleError> {
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let packages = args.list("package")?.map(|l| sysutil::strings(&l));
    let deb = args.str("deb")?;
    let upgrade_given = args.str("upgrade")?;
    let update_cache = args.bool("update_cache")?;
    let autoremove = args.bool("autoremove")?.unwrap_or(false);
    let p = AptParams {
        state,
        update_cache,
        update_cache_retries: args.int("update_cache_retries")?.unwrap_or(5),
        update_cache_retry_max_delay: args.int("update_cache_retry_max_delay")?.unwrap_or(12),
        cache_valid_time: args.int("cache_valid_time")?.unwrap_or(0),
        purge: args.bool("purge")?.unwrap_or(false),
        packages: packages.clone(),
        deb: deb.clone(),
        default_release: args.str("default_release")?,
        install_recommends: args.bool("install_recommends")?,
        force: args.bool("force")?.unwrap_or(false),
        upgrade: upgrade_given.clone().filter(|u| u != "no"),
        dpkg_options: args
            .str("dpkg_options")?
            .unwrap_or_else(|| "force-confdef,force-confold".into()),
        autoremove,
        autoclean: args.bool("autoclean")?.unwrap_or(false),
        fail_on_autoremove: args.bool("fail_on_autoremove")?.unwrap_or(false),
        policy_rc_d: args.int("policy_rc_d")?,
        only_upgrade: args.bool("only_upgrade")?.unwrap_or(false),
        clean: args.bool("clean")?.unwrap_or(false),
        allow_unauthenticated: args.bool("allow_unauthenticated")?.unwrap_or(false),
        allow_downgrade: args.bool("allow_downgrade")?.unwrap_or(false),
        allow_change_held_packages: args.bool("allow_change_held_packages")?.unwrap_or(false),
        lock_timeout: args.int("lock_timeout")?.unwrap_or(60),
    };
    let _ = args.bool("force_apt_get")?;
    let _ = args.bool("auto_install_module_deps")?;
    // The module's required_one_of (autoremove, deb, package, update_cache, upgrade) never
    // fails: autoremove has a default, so it always counts as given. `apt: state=present`
    // alone installs nothing and is ok.
    Ok(p)
}

/// `dpkg_options` as apt-get options (expand_dpkg_options).
fn expand_dpkg_options(opts: &str) -> String {
    opts.split(',')
        .map(|o| format!("-o \"Dpkg::Options::=--{o}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Python's `fnmatch.fnmatch` (case-sensitive on POSIX): `*`, `?`, `[...]`.
pub(crate) fn fnmatch(text: &str, pattern: &str) -> bool {
    crate::text::fnmatch::fnmatch(text, pattern)
}

/// package_status(): (installed, installed_version matches, version_installable).
/// `Installable::Any` is Python's `True` (a virtual package apt will resolve).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Installable {
    No,
    Any,
    Version(String),
}

/// parse_diff(): apt-get's output between "Reading state information..." and the summary.
fn parse_diff(out: &str) -> Value {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "Resolving dependencies...")
        .or_else(|| {
            lines
                .iter()
                .position(|l| *l == "Reading state information...")
        })
        .map(|i| i as i64)
        .unwrap_or(-1);
    let re = regex::Regex::new(r"^[0-9]+ (packages )?upgraded").unwrap();
    let end = lines
        .iter()
        .position(|l| re.is_match(l))
        .unwrap_or(lines.len());
    let (s, e) = ((start + 1) as usize, (end + 1).min(lines.len()));
    let text = if s < e {
        lines[s..e].join("\n")
    } else {
        String::new()
    };
    value::map([("prepared", Value::from(text))])
}

/// The shell that surrounds an apt command: policy-rc.d while it runs, when asked (an existing
/// one waits in a private directory meanwhile).
fn with_policy_rc_d(p: &AptParams, cmd: &str) -> Result<String, ModuleError> {
    Ok(match p.policy_rc_d {
        None => cmd.to_string(),
        Some(code) => format!(
            "PB=; if [ -e /usr/sbin/policy-rc.d ]; then\n{keep}mv /usr/sbin/policy-rc.d \"$PB\"/; fi\n\
             printf '#!/bin/sh\\nexit %d\\n' {code} > /usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d; \
             {cmd}; arc=$?; rm -f /usr/sbin/policy-rc.d; \
             if [ -n \"$PB\" ]; then mv \"$PB\"/policy-rc.d /usr/sbin/policy-rc.d; PB_done; fi; (exit $arc)",
            keep = hosttmp::private_dir("PB", Place::Tmp, Cleanup::Caller)?,
        ),
    })
}

/// Runs an apt command line; its output is the command's, the exit status follows a marker.
async fn run_apt_cmd(
    ctx: &ModuleCtx,
    p: &AptParams,
    cmd: &str,
    after: &str,
) -> Result<(Run, String), ModuleError> {
    let script = format!(
        "{APT_ENV}\n{}; rc=$?\n{}\necho RC=$rc\n{after}",
        with_policy_rc_d(p, cmd)?,
        section("rc")
    );
    let out = sysutil::run(ctx, &script).await?;
    let secs = sections(&out.stdout);
    let tail = secs.get("rc").cloned().unwrap_or_default();
    let rc = kv(&tail)
        .get("RC")
        .and_then(|r| r.parse().ok())
        .unwrap_or(out.rc);
    Ok((
        Run {
            rc,
            stdout: secs[""].clone(),
            stderr: out.stderr,
        },
        tail,
    ))
}

fn res(pairs: Vec<(&str, Value)>) -> Vars {
    sysutil::result(pairs)
}

async fn run_apt(args: Args, ctx: &ModuleCtx) -> MapResult {
    let p = read_params(args)?;
    let dpkg_options = format!(
        "{} -o DPkg::Lock::Timeout={}",
        expand_dpkg_options(&p.dpkg_options),
        p.lock_timeout
    );
    let check = ctx.check_mode;

    // `clean` first, on its own round trip (rare).
    let mut clean_out: Option<Run> = None;
    if p.clean {
        let (run, _) = run_apt_cmd(ctx, &p, "apt-get clean", "").await?;
        if run.rc != 0 {
            return Ok(sysutil::failed(
                "apt-get clean failed",
                vec![
                    ("stdout", Value::from(run.stdout)),
                    ("rc", Value::from(run.rc)),
                ],
            ));
        }
        if !run.stderr.is_empty() {
            return Ok(sysutil::failed(
                format!("apt-get clean failed: {}", run.stderr),
                vec![
                    ("stdout", Value::from(run.stdout)),
                    ("rc", Value::from(run.rc)),
                ],
            ));
        }
        if p.packages.is_none() && p.upgrade.is_none() && p.deb.is_none() {
            let mut r = res(vec![
                ("changed", Value::from(true)),
                ("msg", Value::from(run.stdout.as_str())),
                ("stdout", Value::from(run.stdout.as_str())),
                ("stderr", Value::from(run.stderr.as_str())),
            ]);
            r.insert(
                "diff".into(),
                if ctx.diff {
                    parse_diff(&run.stdout)
                } else {
                    value::map(Vec::<(&str, Value)>::new())
                },
            );
            return Ok(r);
        }
        clean_out = Some(run);
    }
    let _ = clean_out;

    let unfiltered = p.packages.clone().unwrap_or_default();
    let specs: Vec<String> = unfiltered
        .iter()
        .filter(|s| *s != "*")
        .map(|s| s.trim().to_string())
        .collect();
    let all_installed = unfiltered.iter().any(|s| s == "*");
    for s in &specs {
        if s.matches('=').count() > 1 {
            return Ok(sysutil::failed(
                format!("invalid package spec: {s}"),
                vec![],
            ));
        }
    }
    let wildcard = specs
        .iter()
        .any(|s| package_split(s).0.contains(['*', '?', '[', ']', '!']));
    let names: Vec<String> = specs.iter().map(|s| package_split(s).0).collect();
    let with_versions = specs.iter().any(|s| s.contains('='));

    // --- Round trip 1: the cache, then what every package is.
    let want_update = p.update_cache == Some(true) || p.cache_valid_time != 0;
    let mut script = format!(
        "{APT_ENV}\n\
         command -v apt-get >/dev/null 2>&1 || {{ echo NOAPT=1; exit 0; }}\n\
         mt() {{ if [ -e /var/lib/apt/periodic/update-success-stamp ]; then stat -c %Y /var/lib/apt/periodic/update-success-stamp; elif [ -e /var/lib/apt/lists ]; then stat -c %Y /var/lib/apt/lists; else echo 0; fi; }}\n\
         t0=$(mt); echo T0=$t0\n"
    );
    if want_update {
        script.push_str(&format!(
            "if [ $((t0 + {valid})) -lt $(date +%s) ]; then echo UPD=1\n",
            valid = p.cache_valid_time
        ));
        if !check {
            // Retries with exponential backoff, as the module's loop.
            script.push_str(&format!(
                "{tmp}  i=0; ok=0; while [ $i -lt {retries} ]; do\n\
                     if apt-get update -q >\"$T/update\" 2>&1; then ok=1; break; fi\n\
                     d=$((1 << i)); [ $d -gt {maxd} ] && d={maxd}; i=$((i + 1)); [ $i -lt {retries} ] && sleep $d\n\
                   done\n\
                   if [ $ok = 0 ]; then echo UPDFAIL=1; {sec}; cat \"$T/update\"; exit 0; fi\n",
                retries = p.update_cache_retries.max(1),
                maxd = p.update_cache_retry_max_delay,
                sec = section("updfail"),
                tmp = hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?,
            ));
        }
        script.push_str("fi\n");
    }
    script.push_str("echo T1=$(mt)\n");
    if wildcard {
        script.push_str(&format!(
            "{}\napt-cache pkgnames 2>/dev/null | sort\n",
            section("names")
        ));
    }
    script.push_str(&section("status"));
    script.push('\n');
    if !wildcard && !names.is_empty() {
        script.push_str(&status_script(&names, with_versions));
        if !check && p.state != "absent" && p.state != "build-dep" {
            // mark_installed_manually(): the packages asked for become manually installed.
            script.push_str(&format!(
                "{}\nfor p in {}; do if dpkg-query -W -f='${{db:Status-Status}}' \"$p\" 2>/dev/null | grep -qx installed; then echo \"$p\"; fi; done | xargs -r apt-mark manual >/dev/null 2>&1\n",
                section("mark"),
                argv(&names)
            ));
        }
    }
    let out = sysutil::run(ctx, &script).await?;
    let secs = sections(&out.stdout);
    let head = kv(&secs[""]);
    if head.contains_key("NOAPT") {
        return Ok(sysutil::failed(
            "Failed to find required executable \"apt-get\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            vec![],
        ));
    }
    if head.contains_key("UPDFAIL") {
        let why = secs.get("updfail").cloned().unwrap_or_default();
        return Ok(sysutil::failed(
            format!(
                "Failed to update apt cache after {} retries: {}",
                p.update_cache_retries,
                if why.trim().is_empty() {
                    "unknown reason"
                } else {
                    why.trim()
                }
            ),
            vec![],
        ));
    }
    let t0: i64 = head.get("T0").and_then(|t| t.parse().ok()).unwrap_or(0);
    let t1: i64 = head.get("T1").and_then(|t| t.parse().ok()).unwrap_or(t0);
    let updated_cache = head.contains_key("UPD") && (check || t0 != t1);
    let cache_time = if head.contains_key("UPD") { t1 } else { t0 };
    let cache_keys = |r: &mut Vars| {
        r.insert("cache_updated".into(), Value::from(updated_cache));
        r.insert("cache_update_time".into(), Value::from(cache_time));
    };
    if want_update && specs.is_empty() && !all_installed && p.upgrade.is_none() && p.deb.is_none() {
        let mut r = res(vec![("changed", Value::from(updated_cache))]);
        cache_keys(&mut r);
        return Ok(r);
    }

    // Wildcards: expand against apt's package names, then read those packages' state.
    let (specs, infos) = if wildcard {
        let all: Vec<&str> = secs
            .get("names")
            .map(|s| s.lines().collect())
            .unwrap_or_default();
        let mut expanded = Vec::new();
        for spec in &specs {
            let (name, _, _) = package_split(spec);
            if name.contains(['*', '?', '[', ']', '!']) {
                let matches: Vec<&str> = all
                    .iter()
                    .copied()
                    .filter(|n| (name.contains(':') || !n.contains(':')) && fnmatch(n, &name))
                    .collect();
                if matches.is_empty() {
                    return Ok(sysutil::failed(
                        format!("No package(s) matching '{name}' available"),
                        vec![],
                    ));
                }
                expanded.extend(matches.into_iter().map(String::from));
            } else {
                expanded.push(spec.clone());
            }
        }
        let names: Vec<String> = expanded.iter().map(|s| package_split(s).0).collect();
        let out = sysutil::run(
            ctx,
            &format!("{APT_ENV}\n{}", status_script(&names, with_versions)),
        )
        .await?;
        (expanded, parse_status(&out.stdout))
    } else {
        (
            specs,
            parse_status(secs.get("status").map(String::as_str).unwrap_or("")),
        )
    };

    let diff_of = |out: &str| {
        if ctx.diff {
            parse_diff(out)
        } else {
            value::map(Vec::<(&str, Value)>::new())
        }
    };
    let simulate = if check { "--simulate" } else { "" };

    // --- upgrade=... (or state=latest name='*')
    let upgrade_mode = match (&p.upgrade, all_installed && p.state == "latest") {
        (Some(u), _) => Some(u.clone()),
        (None, true) => {
            if !specs.is_empty() {
                return Ok(sysutil::failed(
                    "unable to install additional packages when upgrading all installed packages",
                    vec![],
                ));
            }
            Some("yes".to_string())
        }
        _ => None,
    };
    if let Some(mode) = upgrade_mode {
        // aptitude is rarely installed; like the module without it, apt-get does the work.
        let autoremove = if p.autoremove { "--auto-remove" } else { "" };
        let command = if mode == "dist" || mode == "full" {
            format!("dist-upgrade {autoremove}")
        } else {
            format!("upgrade --with-new-pkgs {autoremove}")
        };
        let mut cmd = format!(
            "{APT_GET} -y {dpkg_options} {} {} {} {} {simulate} {command}",
            if p.force { "--force-yes" } else { "" },
            if p.fail_on_autoremove {
                "--no-remove"
            } else {
                ""
            },
            if p.allow_unauthenticated {
                "--allow-unauthenticated"
            } else {
                ""
            },
            if p.allow_downgrade {
                "--allow-downgrades"
            } else {
                ""
            },
        );
        if let Some(rel) = &p.default_release {
            cmd.push_str(&format!(" -t '{rel}'"));
        }
        let (run, _) = run_apt_cmd(ctx, &p, &cmd, "").await?;
        if run.rc != 0 {
            return Ok(sysutil::failed(
                format!("'{APT_GET} {command}' failed: {}", run.stderr),
                vec![
                    ("stdout", Value::from(run.stdout.as_str())),
                    ("rc", Value::from(run.rc)),
                ],
            ));
        }
        let changed = !run.stdout.contains(APT_GET_ZERO);
        let mut r = res(vec![
            ("changed", Value::from(changed)),
            ("msg", Value::from(run.stdout.as_str())),
            ("stdout", Value::from(run.stdout.as_str())),
            ("stderr", Value::from(run.stderr.as_str())),
        ]);
        if changed {
            r.insert("diff".into(), diff_of(&run.stdout));
        }
        return Ok(r);
    }

    // --- deb=...
    if let Some(deb) = &p.deb {
        if p.state != "present" {
            return Ok(sysutil::failed("deb only supports state=present", vec![]));
        }
        return install_deb(ctx, &p, deb, &dpkg_options, simulate).await;
    }

    if specs.is_empty() && (p.autoclean || p.autoremove) {
        let op = if p.autoclean {
            "autoclean"
        } else {
            "autoremove"
        };
        let cmd = format!(
            "{APT_GET} -y {dpkg_options} {} {} {op} {simulate}",
            if p.purge { "--purge" } else { "" },
            if p.force { "--force-yes" } else { "" },
        );
        let (run, _) = run_apt_cmd(ctx, &p, &cmd, "").await?;
        if run.rc != 0 {
            return Ok(sysutil::failed(
                format!("'apt-get {op}' failed: {}", run.stderr),
                vec![
                    ("stdout", Value::from(run.stdout.as_str())),
                    ("stderr", Value::from(run.stderr.as_str())),
                    ("rc", Value::from(run.rc)),
                ],
            ));
        }
        let marker = if op == "autoclean" {
            AUTOCLEAN_CHANGED
        } else {
            AUTOREMOVE_CHANGED
        };
        let mut r = res(vec![
            ("changed", Value::from(run.stdout.contains(marker))),
            ("stdout", Value::from(run.stdout.as_str())),
            ("stderr", Value::from(run.stderr.as_str())),
        ]);
        r.insert("diff".into(), diff_of(&run.stdout));
        return Ok(r);
    }

    if p.state == "absent" {
        let mut list = Vec::new();
        for spec in &specs {
            let (name, cmp, version) = package_split(spec);
            let (_, installed_version, _, has_files) =
                match package_status(&name, cmp.as_deref(), version.as_deref(), &infos, false) {
                    Ok(s) => s,
                    Err(m) => return Ok(sysutil::failed(m, vec![])),
                };
            if installed_version || (has_files && p.purge) {
                list.push(format!("'{spec}'"));
            }
        }
        if list.is_empty() {
            return Ok(res(vec![("changed", Value::from(false))]));
        }
        let packages = list.join(" ");
        let cmd = format!(
            "{APT_GET} -q -y {dpkg_options} {} {} {} {simulate} {} remove {packages}",
            if p.purge { "--purge" } else { "" },
            if p.force { "--force-yes" } else { "" },
            if p.autoremove { "--auto-remove" } else { "" },
            if p.allow_change_held_packages {
                "--allow-change-held-packages"
            } else {
                ""
            },
        );
        let (run, _) = run_apt_cmd(ctx, &p, &cmd, "").await?;
        if run.rc != 0 {
            return Ok(sysutil::failed(
                format!("'apt-get remove {packages}' failed: {}", run.stderr),
                vec![
                    ("stdout", Value::from(run.stdout.as_str())),
                    ("stderr", Value::from(run.stderr.as_str())),
                    ("rc", Value::from(run.rc)),
                ],
            ));
        }
        let mut r = res(vec![
            ("changed", Value::from(true)),
            ("stdout", Value::from(run.stdout.as_str())),
            ("stderr", Value::from(run.stderr.as_str())),
        ]);
        r.insert("diff".into(), diff_of(&run.stdout));
        return Ok(r);
    }

    // present / latest / build-dep / fixed
    let build_dep = p.state == "build-dep";
    let list = if build_dep {
        specs.iter().map(|s| format!("'{s}'")).collect()
    } else {
        match install_list(&specs, &infos, p.state == "latest", p.only_upgrade) {
            Ok(l) => l,
            Err((m, with_cache_keys)) => {
                let mut r = sysutil::failed(m, vec![]);
                if with_cache_keys {
                    cache_keys(&mut r);
                }
                return Ok(r);
            }
        }
    };
    if list.is_empty() {
        let mut r = res(vec![("changed", Value::from(false))]);
        cache_keys(&mut r);
        return Ok(r);
    }
    let packages = list.join(" ");
    let mut cmd = if build_dep {
        format!(
            "{APT_GET} -y {dpkg_options} {} {} {} {} {simulate} build-dep {packages}",
            if p.only_upgrade { "--only-upgrade" } else { "" },
            if p.state == "fixed" {
                "--fix-broken"
            } else {
                ""
            },
            if p.force { "--force-yes" } else { "" },
            if p.fail_on_autoremove {
                "--no-remove"
            } else {
                ""
            },
        )
    } else {
        format!(
            "{APT_GET} -y {dpkg_options} {} {} {} {} {} {simulate} install {packages}",
            if p.only_upgrade { "--only-upgrade" } else { "" },
            if p.state == "fixed" {
                "--fix-broken"
            } else {
                ""
            },
            if p.force { "--force-yes" } else { "" },
            if p.autoremove { "--auto-remove" } else { "" },
            if p.fail_on_autoremove {
                "--no-remove"
            } else {
                ""
            },
        )
    };
    if let Some(rel) = &p.default_release {
        cmd.push_str(&format!(" -t '{rel}'"));
    }
    match p.install_recommends {
        Some(false) => cmd.push_str(" -o APT::Install-Recommends=no"),
        Some(true) => cmd.push_str(" -o APT::Install-Recommends=yes"),
        None => {}
    }
    if p.allow_unauthenticated {
        cmd.push_str(" --allow-unauthenticated");
    }
    if p.allow_downgrade {
        cmd.push_str(" --allow-downgrades");
    }
    if p.allow_change_held_packages {
        cmd.push_str(" --allow-change-held-packages");
    }
    let (run, _) = run_apt_cmd(ctx, &p, &cmd, "").await?;
    if run.rc != 0 {
        let mut r = sysutil::failed(
            format!("'{cmd}' failed: {}", run.stderr),
            vec![
                ("stdout", Value::from(run.stdout.as_str())),
                ("stderr", Value::from(run.stderr.as_str())),
                ("rc", Value::from(run.rc)),
            ],
        );
        cache_keys(&mut r);
        return Ok(r);
    }
    let changed = if build_dep {
        !run.stdout.contains(APT_GET_ZERO)
    } else {
        true
    };
    let mut r = res(vec![
        ("changed", Value::from(changed)),
        ("stdout", Value::from(run.stdout.as_str())),
        ("stderr", Value::from(run.stderr.as_str())),
    ]);
    r.insert("diff".into(), diff_of(&run.stdout));
    cache_keys(&mut r);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn versions_compare_like_dpkg() {
        assert_eq!(version_compare("1.0", "1.0"), Ordering::Equal);
        assert_eq!(version_compare("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(version_compare("1:0.9", "2.0"), Ordering::Greater);
        assert_eq!(
            version_compare("7.88.1-10+deb12u5", "7.88.1-10+deb12u15"),
            Ordering::Less
        );
        assert_eq!(version_compare("1.10", "1.9"), Ordering::Greater);
        assert_eq!(version_compare("1.0a", "1.0"), Ordering::Greater);
    }

    #[test]
    fn fnmatch_is_pythons() {
        assert!(fnmatch("7.88.1-10", "7.88*"));
        assert!(fnmatch("python3-apt", "python3-ap?"));
        assert!(!fnmatch("python3", "python3-*"));
        assert!(fnmatch("a1", "a[0-9]"));
        assert!(!fnmatch("a1", "a[!0-9]"));
    }

    #[test]
    fn install_decisions_follow_the_module() {
        let status = "PKG=curl\nD=installed|7.88.1-10+deb12u5\nC=7.88.1-10+deb12u15\nK=1\n\
                      PKG=nginx\nC=1.22.1-9\nK=1\n\
                      PKG=mail-transport-agent\nK=1\nR=postfix\nR=exim4-daemon-light\n\
                      PKG=nosuch\n";
        let infos = parse_status(status);
        let specs = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            install_list(&specs(&["curl", "nginx"]), &infos, false, false).unwrap(),
            ["'nginx=1.22.1-9'"]
        );
        assert_eq!(
            install_list(&specs(&["curl"]), &infos, true, false).unwrap(),
            ["'curl=7.88.1-10+deb12u15'"]
        );
        assert_eq!(
            install_list(&specs(&["mail-transport-agent"]), &infos, false, false).unwrap(),
            ["'mail-transport-agent'"]
        );
        assert_eq!(
            install_list(&specs(&["nosuch"]), &infos, false, false)
                .unwrap_err()
                .0,
            "No package matching 'nosuch' is available"
        );
        assert_eq!(
            install_list(&specs(&["curl>=7.0"]), &infos, false, false).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            install_list(&specs(&["nginx"]), &infos, false, true).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn diff_is_the_part_between_the_markers() {
        let out = "Reading package lists...\nBuilding dependency tree...\nReading state information...\nThe following NEW packages will be installed:\n  tree\n0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.\nSetting up tree\n";
        let d = parse_diff(out);
        assert_eq!(
            d.get_attr("prepared").unwrap().as_str().unwrap(),
            "The following NEW packages will be installed:\n  tree\n0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded."
        );
    }
}
