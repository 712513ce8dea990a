//! `pip`: Python packages through the host's own pip (pip needs a Python, so a host that uses
//! this module has one; baton itself never runs Python there). Decisions and results follow
//! ansible-core's pip module (lib/ansible/modules/pip.py): pip's own "Successfully installed" /
//! "Successfully uninstalled" say whether anything changed (or a `pip freeze` before and after,
//! for requirements files and VCS URLs); check mode compares `pip list --format=freeze` with
//! the requested specifiers. A missing virtualenv is created first.
//!
//! One round trip: a script creates the virtualenv, finds pip (`python3 -m pip`, or the
//! virtualenv's `pip3`/`pip`) and runs it.

use super::hosttmp::{self, Cleanup, Place};
use super::sysutil::{self, argv, kv, section, sections};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};

pub struct Pip;

static SPEC: Spec = Spec {
    names: &["pip"],
    params: &[&[
        Param::str("state")
            .choices(&["present", "absent", "latest", "forcereinstall"])
            .default_str("present"),
        Param::list("name"),
        Param::str("version"),
        Param::str("requirements"),
        Param::str("virtualenv"),
        Param::bool("virtualenv_site_packages").default_bool(false),
        Param::str("virtualenv_command").default_str("virtualenv"),
        Param::str("virtualenv_python"),
        Param::str("extra_args"),
        Param::bool("editable").default_bool(false),
        Param::str("chdir"),
        Param::str("executable"),
        Param::str("umask"),
        Param::bool("break_system_packages").default_bool(false),
    ]],
    mutually_exclusive: &[&["name", "requirements"], &["executable", "virtualenv"]],
    required_one_of: &[&["name", "requirements"]],
    ..Spec::BASE
};

impl Module for Pip {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run(args, ctx))
    }
}

/// PEP 503 name normalization.
pub(crate) fn canonicalize(name: &str) -> String {
    let re = regex::Regex::new(r"[-_.]+").unwrap();
    re.replace_all(name, "-").to_lowercase()
}

/// A requirement: a name and its version clauses (`>=1.0`, `==2.*`, ...).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Req {
    pub name: String,
    pub text: String,
    pub specs: Vec<(String, String)>,
    /// Not a plain `name[extras] specifiers` requirement (a URL, a path): never "present".
    pub plain: bool,
}

impl Req {
    pub(crate) fn parse(s: &str, version: Option<&str>) -> Req {
        let mut s = s.trim().to_string();
        if let Some(v) = version {
            let v = v.trim_start();
            let sep = if v.starts_with(|c: char| c.is_ascii_digit()) {
                "=="
            } else {
                " "
            };
            s = format!("{s}{sep}{v}");
        }
        let re = regex::Regex::new(
            r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*((?:[<>=!~]=?=?\s*[^,;\s]+\s*,?\s*)*)\s*(;.*)?$",
        )
        .unwrap();
        let Some(c) = re.captures(&s) else {
            return Req {
                name: s.clone(),
                text: s,
                specs: Vec::new(),
                plain: false,
            };
        };
        let name = c[1].to_string();
        let extras = c
            .get(2)
            .map(|m| m.as_str().replace(' ', ""))
            .unwrap_or_default();
        let spec_re = regex::Regex::new(r"(===|==|!=|<=|>=|~=|<|>)\s*([^,;\s]+)").unwrap();
        let specs: Vec<(String, String)> = spec_re
            .captures_iter(c.get(3).map(|m| m.as_str()).unwrap_or(""))
            .map(|m| (m[1].to_string(), m[2].to_string()))
            .collect();
        // packaging's str(Requirement): name, extras, specifiers sorted by their text.
        let mut sorted: Vec<String> = specs.iter().map(|(o, v)| format!("{o}{v}")).collect();
        sorted.sort();
        let text = format!("{name}{extras}{}", sorted.join(","));
        Req {
            name: canonicalize(&name),
            text,
            specs,
            plain: true,
        }
    }

    /// Whether an installed version satisfies every clause (prereleases allowed).
    pub(crate) fn satisfied_by(&self, installed: &str) -> bool {
        if !self.plain {
            return false;
        }
        self.specs.iter().all(|(op, v)| {
            use std::cmp::Ordering::*;
            let wildcard = v.ends_with(".*");
            match op.as_str() {
                "==" if wildcard => prefix_match(installed, &v[..v.len() - 2]),
                "!=" if wildcard => !prefix_match(installed, &v[..v.len() - 2]),
                "===" => installed == v,
                "==" => compare(installed, v) == Equal,
                "!=" => compare(installed, v) != Equal,
                ">=" => compare(installed, v) != Less,
                "<=" => compare(installed, v) != Greater,
                ">" => compare(installed, v) == Greater,
                "<" => compare(installed, v) == Less,
                "~=" => {
                    let parts: Vec<&str> = v.split('.').collect();
                    compare(installed, v) != Less
                        && parts.len() > 1
                        && prefix_match(installed, &parts[..parts.len() - 1].join("."))
                }
                _ => false,
            }
        })
    }
}

fn release(v: &str) -> Vec<u64> {
    let v = v.trim_start_matches('v');
    let v = v.split_once('!').map(|(_, r)| r).unwrap_or(v);
    v.split(['.', '-', '+'])
        .map_while(|p| {
            let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() {
                None
            } else {
                digits.parse().ok()
            }
        })
        .collect()
}

/// PEP 440 comparison of the release parts (pre/post/dev suffixes order before/after by the
/// common rule: `1.0a1 < 1.0 < 1.0.post1`).
pub(crate) fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    let (ra, rb) = (release(a), release(b));
    let n = ra.len().max(rb.len());
    for i in 0..n {
        let (x, y) = (
            ra.get(i).copied().unwrap_or(0),
            rb.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x.cmp(&y);
        }
    }
    let rank = |v: &str| {
        let l = v.to_ascii_lowercase();
        if l.contains("dev") {
            0
        } else if l.contains('a') || l.contains('b') || l.contains("rc") {
            1
        } else if l.contains("post") {
            3
        } else {
            2
        }
    };
    rank(a).cmp(&rank(b))
}

fn prefix_match(installed: &str, prefix: &str) -> bool {
    let (ri, rp) = (release(installed), release(prefix));
    rp.iter()
        .enumerate()
        .all(|(i, p)| ri.get(i).copied().unwrap_or(0) == *p)
}

/// `_recover_package_name`: names split on commas, version clauses glued back to their name.
pub(crate) fn recover_names(names: &[String]) -> Vec<String> {
    let parts: Vec<&str> = names.iter().flat_map(|n| n.split(',')).collect();
    let is_name = |s: &str| {
        s.trim_start()
            .starts_with(|c: char| c.is_ascii_alphanumeric())
    };
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut in_brackets = false;
    for p in parts {
        if is_name(p) && !in_brackets {
            if !cur.is_empty() {
                out.push(cur.join(","));
            }
            cur.clear();
        }
        if p.contains('[') {
            in_brackets = true;
        }
        if in_brackets && p.contains(']') {
            in_brackets = false;
        }
        cur.push(p);
    }
    out.push(cur.join(","));
    out
}

fn is_vcs(name: &str) -> bool {
    regex::Regex::new(r"(svn|git|hg|bzr)\+")
        .unwrap()
        .is_match(name)
}

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let name = args.list("name")?.map(|l| sysutil::strings(&l));
    let version = args.str("version")?;
    let requirements = args.str("requirements")?;
    let virtualenv = args.str("virtualenv")?;
    let site_packages = args.bool("virtualenv_site_packages")?.unwrap_or(false);
    let venv_command = args
        .str("virtualenv_command")?
        .unwrap_or_else(|| "virtualenv".into());
    let venv_python = args.str("virtualenv_python")?;
    let extra_args = args.str("extra_args")?;
    let editable = args.bool("editable")?.unwrap_or(false);
    let chdir = args.str("chdir")?;
    let executable = args.str("executable")?;
    let umask = args.str("umask")?;
    let break_system = args.bool("break_system_packages")?.unwrap_or(false);
    if let Some(u) = &umask
        && u32::from_str_radix(u, 8).is_err()
    {
        return Ok(sysutil::failed(
            "umask must be an octal integer",
            vec![(
                "details",
                Value::from(format!("invalid literal for int() with base 8: '{u}'")),
            )],
        ));
    }
    if state == "latest" && version.is_some() {
        return Ok(sysutil::failed(
            "version is incompatible with state=latest",
            vec![],
        ));
    }
    let env = match (&virtualenv, &chdir) {
        (Some(e), Some(c)) if !e.starts_with('/') => {
            Some(format!("{}/{e}", c.trim_end_matches('/')))
        }
        (e, _) => e.clone(),
    };
    let chdir = chdir.unwrap_or_else(|| "/tmp".into());
    let mut packages: Vec<Req> = Vec::new();
    let mut has_vcs = false;
    if let Some(names) = &name {
        has_vcs = names.iter().any(|n| is_vcs(n));
        packages = recover_names(names)
            .iter()
            .map(|n| Req::parse(n, None))
            .collect();
        if let Some(v) = &version {
            if packages.len() > 1 {
                return Ok(sysutil::failed(
                    "'version' argument is ambiguous when installing multiple package distributions. Please specify version restrictions next to each package in 'name' argument.",
                    vec![],
                ));
            }
            if !packages[0].specs.is_empty() {
                return Ok(sysutil::failed(
                    "The 'version' argument conflicts with any version specifier provided along with a package name. Please keep the version specifier, but remove the 'version' argument.",
                    vec![],
                ));
            }
            packages[0] = Req::parse(&packages[0].text.clone(), Some(v));
        }
    }
    let mut extra = extra_args.clone();
    if editable {
        let mut list: Vec<String> = extra
            .as_deref()
            .map(|e| e.split(' ').map(String::from).collect())
            .unwrap_or_default();
        if !list.iter().any(|a| a == "-e") {
            list.push("-e".into());
            extra = Some(list.join(" "));
        }
    }
    let verb: &[&str] = match state.as_str() {
        "present" => &["install"],
        "absent" => &["uninstall", "-y"],
        "latest" => &["install", "-U"],
        _ => &["install", "-U", "--force-reinstall"],
    };
    let mut tail: Vec<String> = verb.iter().map(|s| s.to_string()).collect();
    if let Some(e) = &extra {
        tail.extend(crate::inventory::ini::shlex_split(e).map_err(ModuleError::Failed)?);
    }
    if name.is_some() {
        tail.extend(packages.iter().map(|p| {
            if p.plain {
                p.text.clone()
            } else {
                p.name.clone()
            }
        }));
    } else if let Some(r) = &requirements {
        tail.push("-r".into());
        tail.push(r.clone());
    }

    // --- The script: virtualenv, pip, and the command (or the listing, in check mode).
    let q = |s: &str| shell_quote(s);
    // Scratch files (the commands' output, listings to compare) live in a private directory.
    let mut s = hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?;
    if let Some(u) = &umask {
        s.push_str(&format!("umask {}\n", q(u)));
    }
    if break_system {
        s.push_str("PIP_BREAK_SYSTEM_PACKAGES=1; export PIP_BREAK_SYSTEM_PACKAGES\n");
    }
    s.push_str(&format!(
        "C={}; mkdir -p \"$C\" 2>/dev/null; cd \"$C\" 2>/dev/null || cd /\n",
        q(&chdir)
    ));
    let check_simple = ctx.check_mode
        && !(extra.is_some() || requirements.is_some() || state == "latest" || name.is_none());
    if let Some(e) = &env {
        let mut vc =
            crate::inventory::ini::shlex_split(&venv_command).map_err(ModuleError::Failed)?;
        let is_venv = venv_command.contains("pyvenv") || venv_command.contains("-m venv");
        if venv_python.is_some() && is_venv {
            return Ok(sysutil::failed(
                "virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command",
                vec![],
            ));
        }
        let first = vc.remove(0);
        let mut venv_args: Vec<String> = vc;
        if site_packages {
            venv_args.push("--system-site-packages".into());
        }
        if !is_venv {
            venv_args.push(format!(
                "-p{}",
                venv_python.clone().unwrap_or_else(|| "python3".into())
            ));
        }
        venv_args.push(e.clone());
        s.push_str(&format!(
            "E={e}\nif [ ! -e \"$E/bin/activate\" ]; then\n\
               if [ {check} = 1 ]; then echo VENVCHECK=1; exit 0; fi\n\
               V={first}; case $V in */*) ;; *) V=$(command -v \"$V\") || {{ echo \"NOVENV={first}\"; exit 0; }} ;; esac\n\
               \"$V\" {args} >\"$T/venv\" 2>\"$T/venve\"; r=$?\n\
               echo VENVCREATED=1; echo \"VENVRC=$r\"; printf 'VENVCMD=%s\\n' \"$V {args_text}\"\n\
               {so}; cat \"$T/venv\"; {se}; cat \"$T/venve\"\n\
               [ $r = 0 ] || exit 0\n\
               {sh}\n\
             fi\n\
             P=; for b in pip3 pip; do if [ -x \"$E/bin/$b\" ]; then P=\"$E/bin/$b\"; break; fi; done\n\
             [ -n \"$P\" ] || {{ echo NOPIPVENV=1; exit 0; }}\n\
             PATH=\"$E/bin:$PATH\"; export PATH\n",
            e = q(e),
            check = ctx.check_mode as u8,
            first = q(&first),
            args = argv(&venv_args),
            args_text = venv_args.join(" "),
            so = section("venvout"),
            se = section("venverr"),
            sh = section("head2"),
        ));
    } else {
        match &executable {
            Some(x) if x.starts_with('/') => s.push_str(&format!("P={}\n", q(x))),
            Some(x) => s.push_str(&format!(
                "P=$(command -v {x}) || {{ echo \"NOPIP={x}\"; exit 0; }}\n",
                x = q(x)
            )),
            None => s.push_str(
                "PY=$(command -v python3 || command -v python) && PY=$(readlink -f \"$PY\") && \"$PY\" -m pip --version >/dev/null 2>&1 && P=\"$PY -m pip\" || \
                 P=$(command -v pip3) || { echo NOPIP=pip3; exit 0; }\n",
            ),
        }
    }
    s.push_str("printf 'PIP=%s\\n' \"$P\"\n");
    let list = "$P list --format=freeze";
    if ctx.check_mode {
        if check_simple {
            s.push_str(&format!(
                "LANG=C.UTF-8 LC_ALL=C.UTF-8 LC_MESSAGES=C.UTF-8 {list} >\"$T/pl\" 2>\"$T/ple\" || $P freeze >\"$T/pl\" 2>\"$T/ple\"; r=$?\n\
                 echo \"LISTRC=$r\"; {so}; cat \"$T/pl\"; {se}; cat \"$T/ple\"\n",
                so = section("listout"),
                se = section("listerr"),
            ));
        }
    } else {
        let freeze = requirements.is_some() || has_vcs;
        if freeze {
            s.push_str(&format!(
                "{list} >\"$T/fb\" 2>/dev/null || $P freeze >\"$T/fb\" 2>/dev/null\n"
            ));
        }
        s.push_str(&format!(
            "$P {} >\"$T/po\" 2>\"$T/pe\"; r=$?\necho \"RC=$r\"\n",
            argv(&tail)
        ));
        if freeze {
            s.push_str(&format!(
                "{list} >\"$T/fa\" 2>/dev/null || $P freeze >\"$T/fa\" 2>/dev/null\n\
                 cmp -s \"$T/fb\" \"$T/fa\" || echo FREEZECHANGED=1\n"
            ));
        }
        s.push_str(&format!(
            "{}; cat \"$T/po\"; {}; cat \"$T/pe\"\n",
            section("out"),
            section("err")
        ));
    }
    let out = sysutil::run(ctx, &s).await?;
    let secs = sections(&out.stdout);
    let mut head = kv(&secs[""]);
    if let Some(h2) = secs.get("head2") {
        head.extend(kv(h2));
    }
    if head.contains_key("VENVCHECK") {
        return Ok(super::result([("changed", Value::from(true))]));
    }
    let venv_out = secs.get("venvout").cloned().unwrap_or_default();
    let venv_err = secs.get("venverr").cloned().unwrap_or_default();
    if let Some(x) = head.get("NOVENV") {
        return Ok(sysutil::failed(
            format!(
                "Failed to find required executable \"{x}\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            ),
            vec![],
        ));
    }
    if head.get("VENVRC").is_some_and(|r| r != "0") {
        let cmd = head.get("VENVCMD").cloned().unwrap_or_default();
        return Ok(fail(cmd_value(&cmd), &venv_out, &venv_err));
    }
    if let Some(x) = head.get("NOPIP") {
        return Ok(sysutil::failed(
            format!("Unable to find any of {x} to use.  pip needs to be installed."),
            vec![],
        ));
    }
    if head.contains_key("NOPIPVENV") {
        return Ok(sysutil::failed(
            format!(
                "Unable to find pip in the virtualenv, {}, under any of these names: pip3, pip. Make sure pip is present in the virtualenv.",
                env.clone().unwrap_or_default()
            ),
            vec![],
        ));
    }
    let pip = head.get("PIP").cloned().unwrap_or_default();
    let pip_words: Vec<String> = pip.split(' ').map(String::from).collect();

    if ctx.check_mode {
        if !check_simple {
            return Ok(super::result([("changed", Value::from(true))]));
        }
        let listing = secs.get("listout").cloned().unwrap_or_default();
        let lerr = secs.get("listerr").cloned().unwrap_or_default();
        let stdout = format!("{venv_out}{listing}");
        let stderr = format!("{venv_err}{lerr}");
        let installed: Vec<(String, String)> = stdout
            .split('\n')
            .filter(|l| {
                !l.is_empty()
                    && !l.starts_with("You are using")
                    && !l.starts_with("You should consider")
            })
            .filter_map(|l| {
                let (n, v) = l.split_once("==")?;
                Some((canonicalize(n), v.to_string()))
            })
            .collect();
        let mut changed = false;
        for p in &packages {
            let present = installed
                .iter()
                .any(|(n, v)| *n == p.name && p.satisfied_by(v));
            if (state == "present" && !present) || (state == "absent" && present) {
                changed = true;
                break;
            }
        }
        return Ok(sysutil::result(vec![
            ("changed", Value::from(changed)),
            ("cmd", Value::from(format!("{pip} list --format=freeze"))),
            ("stdout", Value::from(stdout)),
            ("stderr", Value::from(stderr)),
        ]));
    }
    let rc: i32 = head.get("RC").and_then(|r| r.parse().ok()).unwrap_or(1);
    let pip_out = secs.get("out").cloned().unwrap_or_default();
    let pip_err = secs.get("err").cloned().unwrap_or_default();
    let stdout = format!("{venv_out}{pip_out}");
    let stderr = format!("{venv_err}{pip_err}");
    let mut cmd: Vec<String> = pip_words.clone();
    cmd.extend(tail.iter().cloned());
    let cmd_v: Value = cmd.iter().map(|s| Value::from(s.as_str())).collect();
    if rc == 1
        && state == "absent"
        && (pip_out.contains("not installed") || pip_err.contains("not installed"))
    {
        // uninstalling what is not there
    } else if rc != 0 {
        return Ok(fail(cmd_v, &stdout, &stderr));
    }
    let mut changed = if state == "absent" {
        pip_out.contains("Successfully uninstalled")
    } else if requirements.is_some() || has_vcs {
        head.contains_key("FREEZECHANGED")
    } else {
        pip_out.contains("Successfully installed")
    };
    changed |= head.contains_key("VENVCREATED");
    let opt = |v: &Option<String>| v.as_deref().map(Value::from).unwrap_or(Value::from(()));
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(changed));
    r.insert("cmd".into(), cmd_v);
    r.insert(
        "name".into(),
        name.as_ref()
            .map(|n| n.iter().map(|s| Value::from(s.as_str())).collect())
            .unwrap_or(Value::from(())),
    );
    r.insert("version".into(), opt(&version));
    r.insert("state".into(), Value::from(state.as_str()));
    r.insert("requirements".into(), opt(&requirements));
    r.insert("virtualenv".into(), opt(&env));
    r.insert("stdout".into(), Value::from(stdout));
    r.insert("stderr".into(), Value::from(stderr));
    sysutil::add_lines(&mut r);
    Ok(r)
}

fn cmd_value(cmd: &str) -> Value {
    cmd.split(' ').map(Value::from).collect()
}

/// `_fail`: the message is the output, labelled.
fn fail(cmd: Value, out: &str, err: &str) -> Vars {
    let mut msg = String::new();
    if !out.is_empty() {
        msg.push_str(&format!("stdout: {out}"));
    }
    if !err.is_empty() {
        msg.push_str(&format!("\n:stderr: {err}"));
    }
    sysutil::failed(msg, vec![("cmd", cmd)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_and_versions() {
        let r = Req::parse("Django >= 1.11, <2.0", None);
        assert_eq!(r.name, "django");
        assert_eq!(r.text, "Django<2.0,>=1.11");
        assert!(r.satisfied_by("1.11.29"));
        assert!(!r.satisfied_by("2.0"));
        let r = Req::parse("requests", Some("2.31.0"));
        assert_eq!(r.text, "requests==2.31.0");
        assert!(r.satisfied_by("2.31.0"));
        assert!(!r.satisfied_by("2.31.1"));
        assert!(Req::parse("six", None).satisfied_by("1.16.0"));
        assert!(Req::parse("a==1.*", None).satisfied_by("1.4"));
        assert!(Req::parse("a~=1.4", None).satisfied_by("1.9"));
        assert!(!Req::parse("a~=1.4", None).satisfied_by("2.0"));
        assert!(!Req::parse("git+https://x/y.git", None).plain);
        assert_eq!(canonicalize("Zope.Interface_x"), "zope-interface-x");
    }

    #[test]
    fn names_are_recovered_like_the_module() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            recover_names(&n(&[
                "django>1.11.1",
                "<1.11.3",
                "ipaddress",
                "simpleproject>1.1.0",
                "<2.0.0"
            ])),
            [
                "django>1.11.1,<1.11.3",
                "ipaddress",
                "simpleproject>1.1.0,<2.0.0"
            ]
        );
        assert_eq!(recover_names(&n(&["a,b"])), ["a", "b"]);
    }
}
