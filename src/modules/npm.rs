//! `npm` (community.general.npm): Node.js packages, global or in a project directory, deciding
//! as that module does: `npm list --json --long` says what is installed (and `npm outdated` for
//! `state=latest`); install, update or uninstall only when that says so.
//!
//! Faithful down to the module's quirks: with `version: latest` the wanted `name@latest` is never
//! among the listed `name@x.y.z`, so the module installs (and reports a change) on every run,
//! and any line of `npm outdated` output (its header too) means "outdated".
//! The listing is one round trip; a change costs a second.

use super::sysutil::{self, argv};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::Value;

pub struct Npm;

static SPEC: Spec = Spec {
    names: &["npm", "community.general.npm"],
    params: &[&[
        Param::str("name"),
        Param::str("path"),
        Param::str("version"),
        Param::bool("production").default_bool(false),
        Param::str("executable"),
        Param::str("registry"),
        Param::str("state")
            .choices(&["present", "absent", "latest"])
            .default_str("present"),
        Param::bool("ignore_scripts").default_bool(false),
        Param::bool("unsafe_perm").default_bool(false),
        Param::bool("ci").default_bool(false),
        Param::bool("no_optional").default_bool(false),
        Param::bool("no_bin_links").default_bool(false),
        Param::bool("force").default_bool(false),
        Param::bool("global").default_bool(false),
    ]],
    ..Spec::BASE
};

impl Module for Npm {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run_npm(args, ctx))
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct NpmParams {
    pub name: Option<String>,
    pub path: Option<String>,
    pub version: Option<String>,
    pub production: bool,
    pub executable: Option<String>,
    pub registry: Option<String>,
    pub state: String,
    pub ignore_scripts: bool,
    pub unsafe_perm: bool,
    pub ci: bool,
    pub no_optional: bool,
    pub no_bin_links: bool,
    pub force: bool,
    pub global: bool,
}

impl NpmParams {
    fn name_version(&self) -> Option<String> {
        let name = self.name.clone()?;
        match &self.version {
            Some(v) if self.state != "absent" => Some(format!("{name}@{v}")),
            _ => Some(name),
        }
    }

    /// The command line of `_exec` (CmdRunner's argument order).
    pub(crate) fn command(&self, verb: &[&str], with_name: bool) -> Vec<String> {
        let mut cmd: Vec<String> = match &self.executable {
            Some(e) => e.split(' ').map(String::from).collect(),
            None => vec!["/usr/bin/npm".into()],
        };
        cmd.extend(verb.iter().map(|s| s.to_string()));
        if self.global {
            cmd.push("--global".into());
        }
        if self.production
            && verb
                .iter()
                .any(|v| matches!(*v, "install" | "update" | "ci"))
        {
            cmd.push("--production".into());
        }
        if self.ignore_scripts {
            cmd.push("--ignore-scripts".into());
        }
        if self.unsafe_perm {
            cmd.push("--unsafe-perm".into());
        }
        if with_name && let Some(nv) = self.name_version() {
            cmd.push(nv);
        }
        if let Some(r) = &self.registry {
            cmd.push("--registry".into());
            cmd.push(r.clone());
        }
        if self.no_optional {
            cmd.push("--no-optional".into());
        }
        if self.no_bin_links {
            cmd.push("--no-bin-links".into());
        }
        if self.force {
            cmd.push("--force".into());
        }
        cmd
    }
}

/// `list()`: (installed, missing) from `npm list --json --long`.
pub(crate) fn list(p: &NpmParams, json: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let data: serde_json::Value = if json.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(json)
            .map_err(|e| format!("Failed to parse NPM output with error {e}"))?
    };
    let mut installed = Vec::new();
    let mut missing = Vec::new();
    let name = p.name.clone().unwrap_or_default();
    match data.get("dependencies").and_then(|d| d.as_object()) {
        Some(deps) => {
            for (dep, props) in deps {
                let flag = |k: &str| {
                    props
                        .get(k)
                        .is_some_and(|v| v.as_bool().unwrap_or(!v.is_null()))
                };
                if flag("missing") || flag("invalid") {
                    missing.push(dep.clone());
                } else {
                    installed.push(dep.clone());
                    if let Some(v) = props.get("version").filter(|v| !v.is_null()) {
                        let v = v
                            .as_str()
                            .map(String::from)
                            .unwrap_or_else(|| v.to_string());
                        if !v.is_empty() {
                            installed.push(format!("{dep}@{v}"));
                        }
                    }
                }
            }
            if let Some(nv) = p.name_version()
                && !installed.contains(&nv)
            {
                missing.push(name);
            }
        }
        None => missing.push(name),
    }
    Ok((installed, missing))
}

fn read_params(mut args: Args) -> Result<NpmParams, ModuleError> {
    let p = NpmParams {
        name: args.str("name")?,
        path: args.str("path")?,
        version: args.str("version")?,
        production: args.bool("production")?.unwrap_or(false),
        executable: args.str("executable")?,
        registry: args.str("registry")?,
        state: args.str("state")?.unwrap_or_else(|| "present".into()),
        ignore_scripts: args.bool("ignore_scripts")?.unwrap_or(false),
        unsafe_perm: args.bool("unsafe_perm")?.unwrap_or(false),
        ci: args.bool("ci")?.unwrap_or(false),
        no_optional: args.bool("no_optional")?.unwrap_or(false),
        no_bin_links: args.bool("no_bin_links")?.unwrap_or(false),
        force: args.bool("force")?.unwrap_or(false),
        global: args.bool("global")?.unwrap_or(false),
    };
    if p.state == "absent" && p.name.is_none() {
        return Err(ModuleError::Failed(
            "state is absent but all of the following are missing: name".into(),
        ));
    }
    if p.path.is_none() && !p.global {
        return Err(ModuleError::Failed(
            "path must be specified when not using global".into(),
        ));
    }
    Ok(p)
}

/// The shell prefix of every npm command: CmdRunner's C locale, and `cwd=path` (created when
/// missing, as the module does).
fn prefix(p: &NpmParams) -> String {
    let mut s = String::from("LANGUAGE=C LC_ALL=C; export LANGUAGE LC_ALL\n");
    if let Some(path) = &p.path {
        let q = shell_quote(path);
        s.push_str(&format!(
            "[ -e {q} ] || mkdir -p {q}\n[ -d {q} ] || {{ echo NOTDIR=1; exit 0; }}\ncd {q} || exit 1\n"
        ));
    }
    s
}

async fn run_npm(args: Args, ctx: &ModuleCtx) -> MapResult {
    let p = read_params(args)?;
    let notdir = || {
        Ok(sysutil::failed(
            format!(
                "path {} is not a directory",
                p.path.clone().unwrap_or_default()
            ),
            vec![],
        ))
    };
    // Runs one npm command (not in check mode unless it only reads).
    let exec = |verb: &'static [&'static str], with_name: bool| {
        let cmd = p.command(verb, with_name);
        let script = format!("{}{} </dev/null", prefix(&p), argv(&cmd));
        async move {
            let run = sysutil::run(ctx, &script).await?;
            Ok::<_, ModuleError>((cmd, run))
        }
    };
    let changed = if p.ci {
        if !ctx.check_mode {
            let (cmd, run) = exec(&["ci"], true).await?;
            if let Some(f) = failure(&cmd, &run) {
                return Ok(f);
            }
        }
        true
    } else {
        // One round trip reads the list (and what is outdated, for latest).
        let mut script = prefix(&p);
        script.push_str(&format!(
            "{} 2>/dev/null\n",
            argv(&p.command(&["list", "--json", "--long"], false))
        ));
        if p.state == "latest" {
            script.push_str(&format!(
                "{}\n{} 2>/dev/null\n",
                sysutil::section("outdated"),
                argv(&p.command(&["outdated"], true))
            ));
        }
        let out = sysutil::run(ctx, &script).await?;
        if out.stdout.starts_with("NOTDIR=1") {
            return notdir();
        }
        let secs = sysutil::sections(&out.stdout);
        let (installed, missing) = match list(&p, &secs[""]) {
            Ok(l) => l,
            Err(m) => return Ok(sysutil::failed(m, vec![])),
        };
        let outdated = secs
            .get("outdated")
            .is_some_and(|o| o.lines().any(|l| !l.is_empty()));
        let mut verbs: Vec<&'static [&'static str]> = Vec::new();
        match p.state.as_str() {
            "present" => {
                if !missing.is_empty() {
                    verbs.push(&["install"]);
                }
            }
            "latest" => {
                if !missing.is_empty() {
                    verbs.push(&["install"]);
                }
                if outdated {
                    verbs.push(&["update"]);
                }
            }
            _ => {
                if p.name.as_ref().is_some_and(|n| installed.contains(n)) {
                    verbs.push(&["uninstall"]);
                }
            }
        }
        if !ctx.check_mode {
            for verb in &verbs {
                let (cmd, run) = exec(verb, true).await?;
                if let Some(f) = failure(&cmd, &run) {
                    return Ok(f);
                }
            }
        }
        !verbs.is_empty()
    };
    Ok(super::result([("changed", Value::from(changed))]))
}

/// `check_rc=True`: a failing npm fails the module with its stderr.
fn failure(cmd: &[String], run: &sysutil::Run) -> Option<crate::value::Vars> {
    if run.rc == 0 {
        return None;
    }
    Some(sysutil::failed(
        run.stderr.trim_end(),
        vec![
            ("cmd", Value::from(argv(cmd))),
            ("rc", Value::from(run.rc)),
            ("stdout", Value::from(run.stdout.as_str())),
            ("stderr", Value::from(run.stderr.as_str())),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm2(version: Option<&str>) -> NpmParams {
        NpmParams {
            name: Some("pm2".into()),
            version: version.map(String::from),
            state: "present".into(),
            global: true,
            ..NpmParams::default()
        }
    }

    #[test]
    fn commands_follow_the_runner_order() {
        let mut p = pm2(Some("latest"));
        p.production = true;
        p.registry = Some("https://r.example".into());
        assert_eq!(
            p.command(&["install"], true),
            [
                "/usr/bin/npm",
                "install",
                "--global",
                "--production",
                "pm2@latest",
                "--registry",
                "https://r.example"
            ]
        );
        assert_eq!(
            p.command(&["list", "--json", "--long"], false),
            [
                "/usr/bin/npm",
                "list",
                "--json",
                "--long",
                "--global",
                "--registry",
                "https://r.example"
            ]
        );
    }

    #[test]
    fn listing_decides_what_is_missing() {
        let json =
            r#"{"dependencies": {"pm2": {"version": "5.4.3"}, "corepack": {"version": "0.28.0"}}}"#;
        let (installed, missing) = list(&pm2(None), json).unwrap();
        assert!(installed.contains(&"pm2@5.4.3".to_string()));
        assert!(missing.is_empty());
        // version=latest is never "installed": the module installs every time.
        assert_eq!(list(&pm2(Some("latest")), json).unwrap().1, ["pm2"]);
        assert_eq!(
            list(&pm2(Some("5.4.3")), json).unwrap().1,
            Vec::<String>::new()
        );
        assert_eq!(list(&pm2(None), "{}").unwrap().1, ["pm2"]);
        let bad = r#"{"dependencies": {"pm2": {"missing": true}}}"#;
        assert_eq!(list(&pm2(None), bad).unwrap().1, ["pm2", "pm2"]);
    }
}
