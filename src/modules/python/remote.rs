//! A Python module on a host: the interpreter (`ansible_python_interpreter`, else discovery
//! as ansible-core's `auto` does it), the host's private directory of payloads (made once per
//! host and user by [`hosttmp`](super::super::hosttmp): 0700, a name nobody can predict,
//! removed at the end of the run), each payload sent there once, and the run itself.
//!
//! A new-style module runs as `PYTHON -c BOOTSTRAP ZIP FQN PROFILE`: the bootstrap puts the
//! zip first on `sys.path` and calls ansible's own AnsiballZ loader (`_loader.run_module`),
//! which is what ansible's wrapper script does after unpacking its base64 copy of the same zip.
//! The arguments go on the standard input, never on the command line (they may hold secrets).
//! Old-style, WANT_JSON and binary modules get their arguments in a file in the private
//! directory, as ansible-core gives them one.

use super::interp::{Interps, Request};
use super::result::{self, Mode, Settings};
use super::{Found, Payload, RunOpts, lock};
use crate::connection::{Connection, Stdin};
use crate::modules::hosttmp::{self, Cleanup, Place};
use crate::modules::{Become, ModuleCtx, ModuleError, ModuleResult, Outcome, shell_quote, text};
use crate::value::{Value, Vars};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// The program `python -c` runs: ansible's AnsiballZ loader on a zip kept on the host.
const BOOTSTRAP: &str = "import os, sys
try:
    os.getcwd()
except OSError:
    try:
        os.chdir(os.path.expanduser('~'))
    except OSError:
        os.chdir('/')
z, fqn, profile = sys.argv[1:4]
del sys.argv[1:]
sys.path = [z] + [p for p in sys.path if p not in ('', '.')]
params = sys.stdin.buffer.read()
from ansible.module_utils._internal._ansiballz import _loader
_loader.run_module(json_params=params, profile=profile, module_fqn=fqn, modlib_path=z, extensions={})
";

/// A host as one user sees it: its connection and `become`, which make the slot's key.
struct Slot {
    conn: Arc<dyn Connection>,
    become_: Option<Become>,
    /// Made on first use; an attempt that failed (an unreachable host) is tried again.
    setup: OnceCell<HostDir>,
    sent: Mutex<HashMap<String, Sent>>,
    /// The persistent interpreters that run new-style modules here.
    interps: Interps,
}

/// Whether a payload reached the host (once per slot, concurrent first uses waiting for it).
type Sent = Arc<OnceCell<()>>;

/// The private directory and what discovery found, on one host for one user.
#[derive(Debug, Clone)]
struct HostDir {
    dir: String,
    /// The interpreters discovery found, in the order looked for.
    found: Vec<String>,
}

/// Every host's slots in a run.
#[derive(Default)]
pub struct Hosts {
    slots: Mutex<HashMap<(usize, String), Arc<Slot>>>,
}

impl Hosts {
    fn slot(&self, ctx: &ModuleCtx) -> Result<Arc<Slot>, ModuleError> {
        let Some(conn) = &ctx.conn else {
            return Err(ModuleError::Failed("this module needs a connection".into()));
        };
        let user = ctx
            .become_
            .as_ref()
            .map(|b| format!("{}:{}", b.method, b.user))
            .unwrap_or_default();
        let key = (Arc::as_ptr(conn) as *const () as usize, user);
        Ok(lock(&self.slots)
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Slot {
                    conn: conn.clone(),
                    become_: ctx.become_.clone(),
                    setup: OnceCell::new(),
                    sent: Mutex::default(),
                    interps: Interps::default(),
                })
            })
            .clone())
    }

    /// Removes the private directories made in this run.
    pub async fn cleanup(&self) {
        let slots: Vec<Arc<Slot>> = lock(&self.slots).drain().map(|(_, s)| s).collect();
        for slot in slots {
            slot.interps.close();
            let Some(d) = slot.setup.get() else {
                continue;
            };
            let ctx = ModuleCtx {
                host: String::new(),
                conn: Some(slot.conn.clone()),
                vars: Value::UNDEFINED,
                check_mode: false,
                diff: false,
                become_: slot.become_.clone(),
                environment: Vec::new(),
                timeout: Some(std::time::Duration::from_secs(30)),
            };
            let _ = ctx
                .exec(&format!("rm -rf -- {}", shell_quote(&d.dir)), None)
                .await;
        }
    }
}

/// Makes the private directory and looks for interpreters, in one command.
async fn setup(ctx: &ModuleCtx, settings: &Settings) -> Result<HostDir, ModuleError> {
    let mkdir = hosttmp::private_dir("T", Place::Tmp, Cleanup::Caller)?;
    let looks: Vec<String> = settings
        .interpreter_fallback
        .iter()
        .map(|p| format!("command -v {}", shell_quote(p)))
        .collect();
    let script = format!(
        "{mkdir}printf 'BATON-PYDIR=%s\\n' \"$T\"\necho FOUND; {}; echo ENDFOUND\n",
        looks.join("; ")
    );
    let out = ctx.exec(&script, None).await?;
    let stdout = text(&out.stdout);
    let dir = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BATON-PYDIR="))
        .ok_or_else(|| {
            ModuleError::Failed(format!(
                "cannot make a private temporary directory on the host: {}",
                text(&out.stderr).trim()
            ))
        })?
        .to_string();
    let found = stdout
        .split("FOUND\n")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .take_while(|l| *l != "ENDFOUND")
                .filter(|l| l.starts_with('/'))
                .map(|l| l.trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    Ok(HostDir { dir, found })
}

/// Sends a payload into the private directory (once per slot), written under a temporary
/// name and renamed, so a transfer cut short never leaves a file that looks whole.
async fn send(
    slot: &Slot,
    ctx: &ModuleCtx,
    dir: &str,
    payload: &Payload,
) -> Result<String, ModuleError> {
    let name = format!("{}.{}", payload.sha1, extension(&payload.style));
    let cell = lock(&slot.sent).entry(name.clone()).or_default().clone();
    let path = format!("{dir}/{name}");
    cell.get_or_try_init(|| async {
        let script = format!(
            "D={d}; [ -d \"$D\" ] && [ ! -L \"$D\" ] && [ -O \"$D\" ] || {{ echo \"the directory $D is not the private directory baton made\" >&2; exit 1; }}\n\
             umask 077; cat > \"$D/{name}.part\" && chmod 700 \"$D/{name}.part\" && mv -f -- \"$D/{name}.part\" \"$D/{name}\"\n",
            d = shell_quote(dir),
        );
        let out = ctx
            .exec_input(&script, Stdin::Bytes(&payload.data))
            .await?;
        if out.rc == Some(0) {
            Ok(())
        } else {
            Err(ModuleError::Failed(format!(
                "cannot send the module to the host: {}",
                text(&out.stderr).trim()
            )))
        }
    })
    .await?;
    Ok(path)
}

fn extension(style: &str) -> &'static str {
    match style {
        "new" => "zip",
        "binary" => "bin",
        _ => "module",
    }
}

/// The interpreter a task's variables name (`ansible_python_interpreter`, templated), unless
/// it asks for discovery (`auto`, `auto_silent`, ...).
fn configured_interpreter(ctx: &ModuleCtx, var: &str) -> Option<String> {
    let v = ctx.vars.get_attr(var).ok()?;
    if v.is_undefined() || v.is_none() {
        return None;
    }
    let mut s = v.to_string();
    if s.contains("{{") {
        s = crate::template::render_str(&s, &ctx.vars).ok()?.to_string();
    }
    let s = s.trim().to_string();
    (!s.is_empty() && !s.starts_with("auto")).then_some(s)
}

/// A `discovered_interpreter_python` the host already has as a fact.
fn known_discovery(ctx: &ModuleCtx) -> Option<String> {
    let facts = ctx.vars.get_attr("ansible_facts").ok()?;
    let v = facts.get_attr("discovered_interpreter_python").ok()?;
    (!v.is_undefined() && !v.is_none()).then(|| v.to_string())
}

/// Runs a module on the host of `ctx`.
pub async fn run(
    hosts: &Hosts,
    found: &Found,
    payload: &Payload,
    settings: &Settings,
    args: Vars,
    ctx: &ModuleCtx,
    opts: &RunOpts,
) -> ModuleResult {
    let slot = hosts.slot(ctx)?;
    let host_dir = slot
        .setup
        .get_or_try_init(|| setup(ctx, settings))
        .await?
        .clone();
    // The interpreter: the inventory's, else what this host's discovery found.
    let named = match &opts.delegated_interpreter {
        Some(theirs) => theirs.clone().filter(|p| !p.starts_with("auto")),
        None => configured_interpreter(ctx, "ansible_python_interpreter"),
    };
    let configured = named.or_else(|| {
        let p = settings.interpreter_python.trim();
        (!p.is_empty() && !p.starts_with("auto") && !p.contains("{{")).then(|| p.to_string())
    });
    let (python, discovered) = match configured {
        Some(p) => (p, None),
        None => match known_discovery(ctx).filter(|_| opts.delegated_interpreter.is_none()) {
            Some(p) => (p, None),
            None => match host_dir.found.first() {
                // The fact goes to the host the task runs for, not to one it is delegated to.
                Some(p) if opts.delegated_interpreter.is_some() => (p.clone(), None),
                Some(p) => (p.clone(), Some(p.clone())),
                None => return Err(ModuleError::Failed(no_python(found, ctx, settings))),
            },
        },
    };
    let mode = Mode {
        check: ctx.check_mode,
        diff: ctx.diff,
        no_log: opts.no_log,
        verbosity: opts.verbosity,
    };
    let path = send(&slot, ctx, &host_dir.dir, payload).await?;
    let args_doc = result::module_args(&found.name, &args, mode, settings);
    let out = match payload.style.as_str() {
        "new" => {
            let input = serde_json::to_vec(&args_doc).unwrap_or_default();
            let request = Request {
                zip: &path,
                fqn: &payload.fqn,
                profile: &payload.profile,
                args: &input,
            };
            if let Some(out) = slot.interps.run(ctx, &python, &request).await {
                out?
            } else {
                let cmd = format!(
                    "{} -c {} {} {} {}",
                    command_words(&python),
                    shell_quote(BOOTSTRAP),
                    shell_quote(&path),
                    shell_quote(&payload.fqn),
                    shell_quote(&payload.profile)
                );
                ctx.exec_input(&cmd, Stdin::Bytes(&input)).await?
            }
        }
        "want_json" | "binary" | "old" => {
            let interpreter = match payload.style.as_str() {
                "binary" => None,
                _ => Some(old_interpreter(payload, &python, ctx)),
            };
            let input = match payload.style.as_str() {
                "old" => old_style_args(&args_doc["ANSIBLE_MODULE_ARGS"]),
                _ => serde_json::to_vec(&args_doc["ANSIBLE_MODULE_ARGS"]).unwrap_or_default(),
            };
            let cmd = format!(
                "D={d}; A=\"$D/args.$$\"; umask 077; cat > \"$A\" || exit 1\n{run} \"$A\"; rc=$?; rm -f -- \"$A\"; exit $rc\n",
                d = shell_quote(&host_dir.dir),
                run = match interpreter {
                    Some(i) => format!("{} {}", command_words(&i), shell_quote(&path)),
                    None => shell_quote(&path),
                },
            );
            ctx.exec_input(&cmd, Stdin::Bytes(&input)).await?
        }
        other => {
            return Err(ModuleError::Failed(format!(
                "the module '{}' ({}) is a '{other}' module, which baton does not run yet",
                found.name, found.path
            )));
        }
    };
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    if out.rc == Some(127) && !stdout.trim_start().starts_with('{') && stderr.contains(&python) {
        return Err(ModuleError::Failed(format!(
            "The module interpreter '{python}' was not found. The module '{}' is not built into baton: it runs as Ansible's Python module, which needs Python on the host (baton's native modules need none). Set ansible_python_interpreter to a Python the host has, or install one there.",
            found.name
        )));
    }
    let mut r = result::read_result(&stdout, &stderr, out.rc);
    let mut facts = result::take_facts(&mut r);
    if let Some(p) = discovered {
        facts
            .get_or_insert_with(Vars::new)
            .insert("discovered_interpreter_python".into(), Value::from(p));
    }
    let mut outcome = Outcome::from(r);
    outcome.facts = facts;
    Ok(outcome)
}

/// An interpreter setting as the words of a command (`/usr/bin/env python3` is two).
pub(super) fn command_words(interpreter: &str) -> String {
    interpreter
        .split_whitespace()
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The interpreter of a module that is not new-style, as ansible-core's `_get_shebang` picks
/// it: a Python one is the host's Python; another (`#!/bin/sh`) is `ansible_sh_interpreter`
/// when set, else itself.
fn old_interpreter(payload: &Payload, python: &str, ctx: &ModuleCtx) -> String {
    let Some(shebang) = &payload.interpreter else {
        return "/bin/sh".into();
    };
    let base = shebang.rsplit('/').next().unwrap_or(shebang);
    if base == "python" {
        return python.to_string();
    }
    configured_interpreter(ctx, &format!("ansible_{base}_interpreter"))
        .unwrap_or_else(|| shebang.clone())
}

/// Old-style arguments: `key=value ` words, each value quoted for a shell, as ansible-core
/// writes them.
fn old_style_args(args: &serde_json::Value) -> Vec<u8> {
    let mut out = String::new();
    if let Some(o) = args.as_object() {
        for (k, v) in o {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => crate::value::python_repr(other),
            };
            out.push_str(&format!("{k}={} ", python_shlex_quote(&text)));
        }
    }
    out.into_bytes()
}

/// Python's `shlex.quote`: the word as is when it is only safe characters, else in single
/// quotes.
fn python_shlex_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// The message for a host with no Python at all.
fn no_python(found: &Found, ctx: &ModuleCtx, settings: &Settings) -> String {
    format!(
        "The module '{}' is not built into baton: it runs as Ansible's Python module, which needs Python on the host, and {} has none (looked for {}). baton's native modules need no Python; install Python on the host, or set ansible_python_interpreter.",
        found.name,
        ctx.host,
        settings.interpreter_fallback.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_style_arguments_are_quoted_as_python_quotes_them() {
        let args = serde_json::json!({"a": "x y", "b": 1, "c": true, "d": "it's", "e": ""});
        assert_eq!(
            String::from_utf8(old_style_args(&args)).unwrap(),
            "a='x y' b=1 c=True d='it'\"'\"'s' e='' "
        );
        assert_eq!(
            command_words("/usr/bin/env python3"),
            "/usr/bin/env python3"
        );
    }

    #[test]
    fn the_bootstrap_runs_ansibles_loader_with_the_zip_first() {
        assert!(BOOTSTRAP.contains("_loader.run_module("));
        assert!(BOOTSTRAP.contains("sys.stdin.buffer.read()"));
        assert!(
            !BOOTSTRAP.contains('"'),
            "shell_quote keeps it one word either way"
        );
    }
}
