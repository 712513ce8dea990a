//! `script`: run a script from the controller on the host, with arguments.
//!
//! One command does it all: the script travels on the command's stdin into a file in a
//! private temporary directory ([`hosttmp::private_dir`]: mode 0700, owned by the user the
//! command runs as, `become` included), runs, and is removed with it. The `creates`/`removes` checks and `chdir` are folded into
//! the same command. The script gets no stdin of its own (its stdin is at end of file).

use super::command::lines;
use super::fileutil;
use super::hosttmp::{self, Cleanup, Place};
use super::{
    Args, FreeForm, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec,
    shell_quote, text,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};

pub struct Script;

static SPEC: Spec = Spec {
    names: &["script"],
    free_form: FreeForm::Command,
    params: &[&[
        Param::str("_raw_params"),
        Param::str("cmd"),
        Param::str("creates"),
        Param::str("removes"),
        Param::str("chdir"),
        Param::str("executable"),
        Param::bool("decrypt"),
    ]],
    ..Spec::BASE
};

impl Module for Script {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run(args, ctx))
    }
}

const SKIP: &str = "__baton_script_skip__";

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let raw = args.str("_raw_params")?;
    let cmd = args.str("cmd")?;
    let creates = args.str("creates")?;
    let removes = args.str("removes")?;
    let chdir = args.str("chdir")?;
    let executable = args.str("executable")?;
    let _ = args.bool("decrypt")?;
    let line = match (raw, cmd) {
        (Some(_), Some(_)) => {
            return Err(ModuleError::Failed(
                "parameters are mutually exclusive: _raw_params, cmd".into(),
            ));
        }
        (Some(l), None) | (None, Some(l)) => l,
        (None, None) => {
            return Err(ModuleError::Failed(
                "Invalid params: either cmd or free form is required".into(),
            ));
        }
    };
    let words = crate::inventory::ini::shlex_split(&line).map_err(ModuleError::Failed)?;
    let Some((name, rest)) = words.split_first() else {
        return Err(ModuleError::Failed("script: no script given".into()));
    };
    let path = fileutil::find_source(ctx, "files", name)?;
    let body = std::fs::read(&path).map_err(|e| {
        ModuleError::Failed(format!("could not read the script {}: {e}", path.display()))
    })?;

    let mut script = String::new();
    if let Some(c) = &creates {
        script.push_str(&format!(
            "if [ -e {} ]; then echo {SKIP}; exit 0; fi\n",
            shell_quote(c)
        ));
    }
    if let Some(r) = &removes {
        script.push_str(&format!(
            "if [ ! -e {} ]; then echo {SKIP}; exit 0; fi\n",
            shell_quote(r)
        ));
    }
    if ctx.check_mode {
        script.push_str("exit 0\n");
    } else {
        let run = match &executable {
            Some(e) => format!("{e} \"$t\""),
            None => "\"$t\"".to_string(),
        };
        let argv: Vec<String> = rest.iter().map(|a| shell_quote(a)).collect();
        let cd = match &chdir {
            Some(d) => format!("cd {} || exit 1; ", shell_quote(d)),
            None => String::new(),
        };
        script.push_str(&hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?);
        script.push_str(&format!(
            "t=$T/script\n\
             cat > \"$t\" && chmod 700 \"$t\" || exit 1\n\
             ({cd}{run} {args} </dev/null)\n",
            args = argv.join(" ")
        ));
    }
    let out = ctx
        .exec(&script, (!ctx.check_mode).then_some(body.as_slice()))
        .await?;
    let stdout = text(&out.stdout);
    if stdout.trim_end() == SKIP {
        let msg = match (&creates, &removes) {
            (Some(c), _) if !c.is_empty() => format!("{c} exists, matching creates option"),
            (_, Some(r)) => format!("{r} does not exist, matching removes option"),
            _ => String::new(),
        };
        return Ok(super::result([
            ("changed", Value::from(false)),
            ("msg", Value::from(msg)),
            ("skipped", Value::from(true)),
        ]));
    }
    if ctx.check_mode {
        return Ok(super::result([
            ("changed", Value::from(false)),
            (
                "msg",
                Value::from("Check mode is not supported for this task."),
            ),
            ("skipped", Value::from(true)),
        ]));
    }
    let stderr = text(&out.stderr);
    let rc = out.rc.unwrap_or(-1);
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(true));
    r.insert("rc".into(), Value::from(rc));
    r.insert("stdout_lines".into(), lines(&stdout));
    r.insert("stdout".into(), Value::from(stdout));
    r.insert("stderr_lines".into(), lines(&stderr));
    r.insert("stderr".into(), Value::from(stderr));
    if rc != 0 {
        r.insert("failed".into(), Value::from(true));
        r.insert("msg".into(), Value::from("non-zero return code"));
    }
    Ok(r)
}
