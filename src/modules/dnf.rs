//! `dnf` (and `yum`, which ansible-core 2.19 redirects to it, and `dnf5`): RPM packages
//! through the dnf command line and rpm, with the decisions and result of ansible-core's dnf
//! module (lib/ansible/modules/dnf.py), which drives dnf's Python API instead.
//!
//! One round trip: a script sorts the specs into install / upgrade / remove the way the
//! module's `_mark_package_install` does (rpm -q --whatprovides), runs dnf, and prints the
//! installed package set before and after; the difference is the module's `results`
//! ("Installed: name-[epoch:]version-release.arch", "Removed: ..."). In check mode dnf runs with
//! `--assumeno` and its transaction table is read instead.
//!
//! The fleet is Debian, so this module is tested by unit tests of the command construction and
//! the output parsing, not against a host.

use super::hosttmp::{self, Cleanup, Place};
use super::sysutil::{self, argv, kv, section, sections};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};
use std::collections::BTreeSet;

pub struct Dnf;

static SPEC: Spec = Spec {
    names: &["dnf", "dnf5", "yum"],
    params: &[&[
        Param::bool("allow_downgrade"),
        Param::bool("allowerasing"),
        Param::bool("autoremove"),
        Param::bool("best"),
        Param::bool("nobest"),
        Param::bool("bugfix"),
        Param::bool("cacheonly"),
        Param::str("conf_file"),
        Param::str("disable_excludes"),
        Param::bool("disable_gpg_check"),
        Param::list("disable_plugin"),
        Param::list("disablerepo"),
        Param::list("enable_plugin"),
        Param::list("enablerepo"),
        Param::list("exclude"),
        Param::bool("download_only"),
        Param::str("download_dir"),
        Param::str("installroot"),
        Param::bool("install_repoquery"),
        Param::bool("install_weak_deps"),
        Param::str("list"),
        Param::list("name").aliases(&["pkg"]),
        Param::str("releasever"),
        Param::bool("security"),
        Param::bool("skip_broken"),
        Param::str("state").choices(&["absent", "installed", "latest", "present", "removed"]),
        Param::bool("update_cache").aliases(&["expire-cache"]),
        Param::bool("update_only"),
        Param::bool("validate_certs"),
        Param::bool("sslverify"),
        Param::int("lock_timeout"),
        Param::str("use_backend")
            .choices(&["auto", "dnf", "yum", "yum4", "dnf4", "dnf5"])
            .default_str("auto"),
    ]],
    mutually_exclusive: &[&["best", "nobest"]],
    ..Spec::BASE
};

impl Module for Dnf {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run_dnf(args, ctx))
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct DnfParams {
    pub names: Vec<String>,
    pub state: Option<String>,
    pub list: Option<String>,
    pub update_cache: bool,
    pub update_only: bool,
    /// Only versioned specs older than the installed one use it; dnf's CLI downgrades them
    /// when asked with `install`, which the script does for every uninstalled spec.
    #[allow(dead_code)]
    pub allow_downgrade: bool,
    pub autoremove: bool,
    /// Global dnf options, in the order the parameters are listed in the module.
    pub options: Vec<String>,
    #[allow(dead_code)]
    pub download_only: bool,
    pub use_backend: String,
}

fn read_params(mut args: Args) -> Result<DnfParams, ModuleError> {
    let mut o = Vec::new();
    let flag = |args: &mut Args, name: &'static str| -> Result<bool, ModuleError> {
        Ok(args.bool(name)?.unwrap_or(false))
    };
    let allow_downgrade = flag(&mut args, "allow_downgrade")?;
    if flag(&mut args, "allowerasing")? {
        o.push("--allowerasing".to_string());
    }
    let autoremove = flag(&mut args, "autoremove")?;
    let best = args.bool("best")?;
    let nobest = args.bool("nobest")?;
    match (best, nobest) {
        (Some(true), _) | (_, Some(false)) => o.push("--best".into()),
        (Some(false), _) | (_, Some(true)) => o.push("--nobest".into()),
        _ => {}
    }
    if flag(&mut args, "bugfix")? {
        o.push("--bugfix".into());
    }
    if flag(&mut args, "cacheonly")? {
        o.push("--cacheonly".into());
    }
    if let Some(c) = args.str("conf_file")? {
        o.push(format!("--config={c}"));
    }
    if let Some(d) = args.str("disable_excludes")? {
        o.push(format!("--disableexcludes={d}"));
    }
    if flag(&mut args, "disable_gpg_check")? {
        o.push("--nogpgcheck".into());
    }
    for (name, opt) in [
        ("disable_plugin", "--disableplugin"),
        ("disablerepo", "--disablerepo"),
        ("enable_plugin", "--enableplugin"),
        ("enablerepo", "--enablerepo"),
        ("exclude", "--exclude"),
    ] {
        for v in sysutil::strings(&args.list(name)?.unwrap_or_default()) {
            o.push(format!("{opt}={v}"));
        }
    }
    let download_only = flag(&mut args, "download_only")?;
    if download_only {
        o.push("--downloadonly".into());
    }
    if let Some(d) = args.str("download_dir")? {
        o.push(format!("--downloaddir={d}"));
    }
    if let Some(r) = args.str("installroot")?
        && r != "/"
    {
        o.push(format!("--installroot={r}"));
    }
    let _ = args.bool("install_repoquery")?;
    if args.bool("install_weak_deps")? == Some(false) {
        o.push("--setopt=install_weak_deps=False".into());
    }
    let list = args.str("list")?;
    let names = sysutil::strings(&args.list("name")?.unwrap_or_default());
    if let Some(r) = args.str("releasever")? {
        o.push(format!("--releasever={r}"));
    }
    if flag(&mut args, "security")? {
        o.push("--security".into());
    }
    if flag(&mut args, "skip_broken")? {
        o.push("--skip-broken".into());
    }
    let state = args.str("state")?;
    let update_cache = flag(&mut args, "update_cache")?;
    let update_only = flag(&mut args, "update_only")?;
    let _ = args.bool("validate_certs")?;
    if args.bool("sslverify")? == Some(false) {
        o.push("--setopt=sslverify=False".into());
    }
    let _ = args.int("lock_timeout")?;
    let use_backend = args.str("use_backend")?.unwrap_or_else(|| "auto".into());
    if !names.is_empty() && list.is_some() {
        return Err(ModuleError::Failed(
            "parameters are mutually exclusive: name|list".into(),
        ));
    }
    if names.is_empty() && list.is_none() && !update_cache && !autoremove {
        return Err(ModuleError::Failed(
            "one of the following is required: name, list, update_cache".into(),
        ));
    }
    Ok(DnfParams {
        names,
        state,
        list,
        update_cache,
        update_only,
        allow_downgrade,
        autoremove,
        options: o,
        download_only,
        use_backend,
    })
}

/// The dnf program the module would use: dnf5 when asked for (or when it is the only one).
fn dnf_program(p: &DnfParams) -> &'static str {
    match p.use_backend.as_str() {
        "dnf5" => "dnf5",
        _ => "dnf",
    }
}

/// rpm's query format for hawkey's package string (the epoch is added only when not zero).
const RPM_QF: &str = "%{NAME}-%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}.%{ARCH}\\n";

/// The script that decides, runs and reports (see the module doc).
pub(crate) fn script(p: &DnfParams, check: bool) -> Result<String, ModuleError> {
    let state = p.state.clone().unwrap_or_else(|| "installed".into());
    let dnf = dnf_program(p);
    let opts = argv(&p.options);
    let mut s = format!(
        "command -v {dnf} >/dev/null 2>&1 || {{ echo NODNF=1; exit 0; }}\n\
         snap() {{ rpm -qa --qf {qf} 2>/dev/null | sort; }}\n\
         inst=; upg=; rem=\n",
        qf = shell_quote(RPM_QF),
    );
    if p.update_cache {
        s.push_str(&format!(
            "{dnf} -q {opts} makecache --refresh >/dev/null 2>&1\n"
        ));
    }
    let specs = argv(&p.names);
    let glob = |v: &str| format!("case \"$s\" in *[*?[]*) {v};; esac");
    if p.names == ["*"] && state == "latest" {
        s.push_str("upg='*'\n");
    } else {
        match state.as_str() {
            "absent" | "removed" => s.push_str(&format!(
                "for s in {specs}; do if rpm -q --whatprovides \"$s\" >/dev/null 2>&1 || rpm -q \"$s\" >/dev/null 2>&1; then rem=\"$rem $s\"; fi; done\n"
            )),
            "latest" => s.push_str(&format!(
                "for s in {specs}; do {g}; if rpm -q --whatprovides \"$s\" >/dev/null 2>&1; then upg=\"$upg $s\"; else {ins}; fi; done\n",
                g = glob("upg=\"$upg $s\"; inst=\"$inst $s\"; continue"),
                ins = if p.update_only { ":" } else { "inst=\"$inst $s\"" },
            )),
            _ => s.push_str(&format!(
                "for s in {specs}; do {g}; rpm -q --whatprovides \"$s\" >/dev/null 2>&1 || {ins}; done\n",
                g = glob("inst=\"$inst $s\"; continue"),
                ins = if p.update_only { "true" } else { "inst=\"$inst $s\"" },
            )),
        }
    }
    if p.autoremove {
        s.push_str("ar=1\n");
    }
    s.push_str("echo \"INST=$inst\"; echo \"UPG=$upg\"; echo \"REM=$rem\"\n");
    let tail = if check { "--assumeno" } else { "-y" };
    let run = |verb: &str, var: &str| {
        format!(
            "if [ -n \"${var}\" ]; then {dnf} {tail} {opts} {verb} ${var} >>\"$T/out\" 2>>\"$T/err\" || {{ [ {check} = 1 ] || echo \"FAILED={verb}\"; }}; fi\n",
            check = if check { 1 } else { 0 },
        )
    };
    // dnf's output is collected in a private directory (see hosttmp).
    s.push_str(&hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?);
    s.push_str(&format!(
        "{}\nsnap\n: >\"$T/out\"; : >\"$T/err\"\n",
        section("before")
    ));
    s.push_str(&run("install", "inst"));
    s.push_str(&run("upgrade", "upg"));
    s.push_str(&run("remove", "rem"));
    if p.autoremove {
        s.push_str(&format!(
            "{dnf} {tail} {opts} autoremove >>\"$T/out\" 2>>\"$T/err\"\n"
        ));
    }
    s.push_str(&format!(
        "{}\nsnap\n{}\ncat \"$T/out\"\n{}\ncat \"$T/err\"\n",
        section("after"),
        section("out"),
        section("err"),
    ));
    Ok(s)
}

/// Whether two name-[epoch:]version-release.arch spellings are versions of one package: the
/// same name and arch (a version or release has no '-', a name may).
fn same_package(a: &str, b: &str) -> bool {
    let split = |p: &str| -> Option<(String, String)> {
        let (rest, arch) = p.rsplit_once('.')?;
        let mut parts = rest.rsplitn(3, '-');
        let (_rel, _ver, name) = (parts.next()?, parts.next()?, parts.next()?);
        Some((name.to_string(), arch.to_string()))
    };
    matches!((split(a), split(b)), (Some(x), Some(y)) if x == y)
}

/// hawkey's spelling of a package: an explicit zero epoch is left out.
fn nevra(line: &str) -> String {
    line.replacen("-0:", "-", 1)
}

/// The packages of dnf's transaction table (check mode): (action, "name-version.arch").
pub(crate) fn parse_transaction(out: &str) -> Vec<(&'static str, String)> {
    let mut items = Vec::new();
    let mut action: Option<&'static str> = None;
    let mut pending: Option<String> = None;
    for line in out.lines() {
        let t = line.trim_end();
        if !t.starts_with(' ') {
            pending = None;
            let head = t.trim_end_matches(':').to_ascii_lowercase();
            action = if head.starts_with("upgrading") || head.starts_with("downgrading") {
                Some("Upgraded")
            } else if head.starts_with("installing") || head.starts_with("reinstalling") {
                Some("Installed")
            } else if head.starts_with("removing") {
                Some("Removed")
            } else {
                None
            };
            continue;
        }
        let Some(act) = action else { continue };
        let mut words: Vec<String> = t.split_whitespace().map(String::from).collect();
        if let Some(p) = pending.take() {
            words.insert(0, p);
        }
        match words.len() {
            1 => pending = Some(words.remove(0)),
            n if n >= 4 => {
                // name arch version repo size...
                items.push((act, format!("{}-{}.{}", words[0], words[2], words[1])));
            }
            _ => {}
        }
    }
    items
}

async fn run_dnf(args: Args, ctx: &ModuleCtx) -> MapResult {
    let p = read_params(args)?;
    if p.update_cache && p.names.is_empty() && p.list.is_none() {
        let dnf = dnf_program(&p);
        let out = sysutil::run(
            ctx,
            &format!("{dnf} -q {} makecache --refresh", argv(&p.options)),
        )
        .await?;
        if out.rc != 0 {
            return Ok(sysutil::failed(
                format!("Failed to synchronize repodata: {}", out.stderr.trim()),
                vec![
                    ("rc", Value::from(1)),
                    ("results", Value::from(Vec::<Value>::new())),
                ],
            ));
        }
        return Ok(sysutil::result(vec![
            ("msg", Value::from("Cache updated")),
            ("changed", Value::from(false)),
            ("results", Value::from(Vec::<Value>::new())),
            ("rc", Value::from(0)),
        ]));
    }
    if let Some(list) = &p.list {
        return list_items(ctx, &p, list).await;
    }
    let out = sysutil::run(ctx, &script(&p, ctx.check_mode)?).await?;
    Ok(interpret(&p, &out.stdout, ctx.check_mode))
}

/// Turns the script's output into the module's result.
pub(crate) fn interpret(p: &DnfParams, stdout: &str, check: bool) -> Vars {
    let secs = sections(stdout);
    let head = kv(&secs[""]);
    if head.contains_key("NODNF") {
        return sysutil::failed(
            format!(
                "Failed to find required executable \"{}\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                dnf_program(p)
            ),
            vec![],
        );
    }
    let set = |name: &str| -> BTreeSet<String> {
        secs.get(name)
            .map(|s| s.lines().filter(|l| !l.is_empty()).map(nevra).collect())
            .unwrap_or_default()
    };
    let (before, after) = (set("before"), set("after"));
    let out = secs.get("out").cloned().unwrap_or_default();
    let err = secs.get("err").cloned().unwrap_or_default();
    let failed_steps: Vec<String> = secs
        .get("before")
        .map(|_| {
            secs.values()
                .flat_map(|s| s.lines())
                .filter_map(|l| l.strip_prefix("FAILED=").map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut results: Vec<String> = Vec::new();
    if check {
        // As dnf's transaction sets: everything installed (an upgrade's new package too), then
        // everything removed (an upgrade's old package too).
        let mut removed = Vec::new();
        for (act, pkg) in parse_transaction(&out) {
            match act {
                "Removed" => removed.push(pkg),
                "Upgraded" => {
                    removed.extend(before.iter().filter(|b| same_package(b, &pkg)).cloned());
                    results.push(format!("Installed: {pkg}"));
                }
                _ => results.push(format!("{act}: {pkg}")),
            }
        }
        results.extend(removed.into_iter().map(|p| format!("Removed: {p}")));
    } else {
        for pkg in after.difference(&before) {
            results.push(format!("Installed: {pkg}"));
        }
        for pkg in before.difference(&after) {
            results.push(format!("Removed: {pkg}"));
        }
    }
    if !failed_steps.is_empty() {
        // "No match for argument: X" is dnf's way of saying the module's "No package X available."
        let missing: Vec<String> = err
            .lines()
            .chain(out.lines())
            .filter_map(|l| l.strip_prefix("No match for argument: "))
            .map(|s| s.trim().to_string())
            .collect();
        let msg = if missing.is_empty() {
            "Failed to install some of the specified packages".to_string()
        } else {
            missing
                .iter()
                .map(|m| format!("No package {m} available."))
                .collect::<String>()
        };
        let failures: Vec<Value> = if missing.is_empty() {
            vec![Value::from(err.trim())]
        } else {
            missing
                .iter()
                .map(|m| Value::from(format!("{m} No match for argument: {m}")))
                .collect()
        };
        let mut r = sysutil::failed(msg, vec![]);
        r.insert("failures".into(), Value::from(failures));
        r.insert("results".into(), Value::from(Vec::<Value>::new()));
        r.insert("rc".into(), Value::from(1));
        return r;
    }
    let changed = !results.is_empty();
    // base.remove() of a spec nothing installed provides: a MarkingError, listed first.
    let state = p.state.as_deref().unwrap_or("installed");
    if state == "absent" || state == "removed" {
        let rem: Vec<&str> = head
            .get("REM")
            .map(|r| r.split_whitespace().collect())
            .unwrap_or_default();
        let nomatch: Vec<String> = p
            .names
            .iter()
            .filter(|n| !rem.contains(&n.as_str()))
            .map(|n| format!("No match for argument: {n}"))
            .collect();
        results.splice(0..0, nomatch);
    }
    let msg = if !changed {
        "Nothing to do"
    } else if check {
        "Check mode: No changes made, but would have if not in check mode"
    } else {
        ""
    };
    let mut r = Vars::new();
    r.insert("msg".into(), Value::from(msg));
    r.insert("changed".into(), Value::from(changed));
    r.insert(
        "results".into(),
        results.into_iter().map(Value::from).collect(),
    );
    r.insert("rc".into(), Value::from(0));
    r
}

/// `list=installed|updates|available|repos|<spec>`: package dictionaries as the module lists
/// them (name, epoch, version, release, arch, repo, yumstate, nevra).
async fn list_items(ctx: &ModuleCtx, p: &DnfParams, list: &str) -> MapResult {
    let dnf = dnf_program(p);
    let opts = argv(&p.options);
    let cmd = match list {
        "installed" => "rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t@System\\tinstalled\\n'".to_string(),
        "repos" => format!("{dnf} -q {opts} repolist --enabled"),
        "updates" | "upgrades" => format!(
            "{dnf} -q {opts} repoquery --upgrades --qf '%{{name}}\\t%{{epoch}}\\t%{{version}}\\t%{{release}}\\t%{{arch}}\\t%{{repoid}}\\tavailable\\n'"
        ),
        "available" => format!(
            "{dnf} -q {opts} repoquery --available --qf '%{{name}}\\t%{{epoch}}\\t%{{version}}\\t%{{release}}\\t%{{arch}}\\t%{{repoid}}\\tavailable\\n'"
        ),
        spec => format!(
            "{dnf} -q {opts} repoquery {} --qf '%{{name}}\\t%{{epoch}}\\t%{{version}}\\t%{{release}}\\t%{{arch}}\\t%{{repoid}}\\tavailable\\n'; \
             rpm -q {} --qf '%{{NAME}}\\t%{{EPOCHNUM}}\\t%{{VERSION}}\\t%{{RELEASE}}\\t%{{ARCH}}\\t@System\\tinstalled\\n' 2>/dev/null",
            shell_quote(spec),
            shell_quote(spec)
        ),
    };
    let out = sysutil::run(ctx, &cmd).await?;
    let results: Vec<Value> = if list == "repos" {
        out.stdout
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .map(|id| {
                crate::value::map([
                    ("repoid", Value::from(id)),
                    ("state", Value::from("enabled")),
                ])
            })
            .collect()
    } else {
        parse_list(&out.stdout)
    };
    Ok(sysutil::result(vec![
        ("msg", Value::from("")),
        ("changed", Value::from(false)),
        ("results", Value::from(results)),
        ("rc", Value::from(0)),
    ]))
}

pub(crate) fn parse_list(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() < 7 {
                return None;
            }
            let nevra = format!("{}-{}:{}-{}.{}", f[0], f[1], f[2], f[3], f[4]);
            Some(crate::value::map([
                ("name", Value::from(f[0])),
                ("epoch", Value::from(f[1])),
                ("version", Value::from(f[2])),
                ("release", Value::from(f[3])),
                ("arch", Value::from(f[4])),
                ("repo", Value::from(f[5])),
                ("yumstate", Value::from(f[6])),
                ("nevra", Value::from(nevra)),
            ]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(names: &[&str], state: &str) -> DnfParams {
        DnfParams {
            names: names.iter().map(|s| s.to_string()).collect(),
            state: Some(state.into()),
            use_backend: "auto".into(),
            ..DnfParams::default()
        }
    }

    #[test]
    fn the_script_sorts_specs_as_the_module_does() {
        let s = script(&params(&["nginx", "python3-*"], "present"), false).unwrap();
        assert!(s.contains("for s in nginx 'python3-*'; do case \"$s\" in *[*?[]*) inst=\"$inst $s\"; continue;; esac; rpm -q --whatprovides \"$s\""));
        assert!(s.contains("dnf -y  install $inst"));
        let s = script(&params(&["nginx"], "latest"), true).unwrap();
        assert!(s.contains("upg=\"$upg $s\"; else inst=\"$inst $s\"; fi"));
        assert!(s.contains("dnf --assumeno  upgrade $upg"));
        let s = script(&params(&["*"], "latest"), false).unwrap();
        assert!(s.contains("upg='*'"));
        let mut p = params(&["nginx"], "absent");
        p.options = vec!["--enablerepo=epel".into()];
        assert!(
            script(&p, false)
                .unwrap()
                .contains("dnf -y --enablerepo=epel remove $rem")
        );
    }

    #[test]
    fn results_are_the_installed_set_difference() {
        let p = params(&["nginx"], "present");
        let out = format!(
            "INST= nginx\nUPG=\nREM=\n\n{m} before\nbash-5.1.8-6.el9.x86_64\n\n{m} after\nbash-5.1.8-6.el9.x86_64\nnginx-1:1.20.1-14.el9.x86_64\nnginx-core-1:1.20.1-14.el9.x86_64\nzlib-0:1.2.11-40.el9.x86_64\n\n{m} out\n\n{m} err\n",
            m = sysutil::MARK
        );
        let r = interpret(&p, &out, false);
        assert_eq!(r["changed"], Value::from(true));
        assert_eq!(r["msg"], Value::from(""));
        let results: Vec<String> = r["results"]
            .try_iter()
            .unwrap()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            results,
            [
                "Installed: nginx-1:1.20.1-14.el9.x86_64",
                "Installed: nginx-core-1:1.20.1-14.el9.x86_64",
                "Installed: zlib-1.2.11-40.el9.x86_64"
            ]
        );
        let same = format!(
            "INST=\n\n{m} before\na-1-1.noarch\n\n{m} after\na-1-1.noarch\n\n{m} out\n\n{m} err\n",
            m = sysutil::MARK
        );
        let r = interpret(&p, &same, false);
        assert_eq!(r["changed"], Value::from(false));
        assert_eq!(r["msg"], Value::from("Nothing to do"));
    }

    #[test]
    fn a_missing_package_fails_like_the_module() {
        let p = params(&["nosuch"], "present");
        let out = format!(
            "INST= nosuch\n\n{m} before\n\n{m} after\nFAILED=install\n\n{m} out\n\n{m} err\nNo match for argument: nosuch\nError: Unable to find a match: nosuch\n",
            m = sysutil::MARK
        );
        let r = interpret(&p, &out, false);
        assert_eq!(r["failed"], Value::from(true));
        assert_eq!(r["msg"], Value::from("No package nosuch available."));
        assert_eq!(r["rc"], Value::from(1));
    }

    #[test]
    fn transaction_tables_are_read_in_check_mode() {
        let table = "Dependencies resolved.\n================================================================================\n Package                     Arch     Version                 Repository   Size\n================================================================================\nInstalling:\n nginx                       x86_64   1:1.20.1-14.el9_2.1     appstream    36 k\nInstalling dependencies:\n a-very-long-package-name-that-wraps\n                             noarch   2.0-1.el9               baseos       10 k\nRemoving:\n old                         x86_64   1.0-1                   @System      1 M\n\nTransaction Summary\n================================================================================\nInstall  2 Packages\n";
        assert_eq!(
            parse_transaction(table),
            [
                ("Installed", "nginx-1:1.20.1-14.el9_2.1.x86_64".to_string()),
                (
                    "Installed",
                    "a-very-long-package-name-that-wraps-2.0-1.el9.noarch".to_string()
                ),
                ("Removed", "old-1.0-1.x86_64".to_string()),
            ]
        );
    }

    #[test]
    fn an_upgrade_in_check_mode_installs_the_new_and_removes_the_old() {
        let p = params(&["batonextra"], "latest");
        let out = format!(
            "UPG= batonextra\n\n{m} before\nbatonextra-1.0-1.noarch\nbatonextra-tools-1.0-1.noarch\n\n{m} after\n\n{m} out\nUpgrading:\n batonextra   noarch   2.0-1   local   5 k\n\n{m} err\n",
            m = sysutil::MARK
        );
        let r = interpret(&p, &out, true);
        assert_eq!(
            r["results"],
            Value::from(vec![
                Value::from("Installed: batonextra-2.0-1.noarch"),
                Value::from("Removed: batonextra-1.0-1.noarch"),
            ])
        );
        assert_eq!(r["changed"], Value::from(true));
    }
}
