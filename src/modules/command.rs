//! `command`, `shell` and `raw`: run a command line on the host.
//!
//! `command` runs a program with its arguments and no shell features (its words are quoted one by
//! one); `shell` runs the text with `/bin/sh`; `raw` sends the text as it is. The `creates` and
//! `removes` checks are folded into the same round trip as the command.

use super::{
    Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Output, Param, Spec,
    shell_quote, text,
};
use crate::connection::BoxFuture;
use crate::value::Value;
use std::time::SystemTime;

pub struct Command;
pub struct Shell;
pub struct Raw;

/// The options command and shell share.
const COMMON: &[Param] = &[
    Param::str("_raw_params"),
    Param::str("cmd"),
    Param::str("chdir"),
    Param::str("creates"),
    Param::str("removes"),
    Param::str("stdin"),
    Param::bool("stdin_add_newline").default_bool(true),
    Param::bool("strip_empty_ends").default_bool(true),
    Param::bool("warn"),
];

static COMMAND: Spec = Spec {
    names: &["command"],
    free_form: FreeForm::Command,
    output: Output::Text,
    params: &[
        COMMON,
        &[Param::list("argv"), Param::bool("expand_argument_vars")],
    ],
    ..Spec::BASE
};

static SHELL: Spec = Spec {
    names: &["shell"],
    free_form: FreeForm::Command,
    output: Output::Text,
    params: &[COMMON, &[Param::str("executable")]],
    ..Spec::BASE
};

static RAW: Spec = Spec {
    names: &["raw"],
    free_form: FreeForm::Command,
    output: Output::Text,
    params: &[&[
        Param::str("_raw_params").required(),
        Param::str("executable"),
    ]],
    ..Spec::BASE
};

/// What the host prints when `creates` (or `removes`) says the command must not run.
const SKIP_CREATES: &str = "__baton_not_run_creates_7f3a__";
const SKIP_REMOVES: &str = "__baton_not_run_removes_7f3a__";

impl Module for Command {
    fn spec(&self) -> &'static Spec {
        &COMMAND
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(run_command(args, ctx, false))
    }
}

impl Module for Shell {
    fn spec(&self) -> &'static Spec {
        &SHELL
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(run_command(args, ctx, true))
    }
}

impl Module for Raw {
    fn spec(&self) -> &'static Spec {
        &RAW
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let cmd = args.required_str("_raw_params")?;
            let executable = args.str("executable")?.filter(|e| !e.is_empty());
            if ctx.check_mode {
                return Ok(check_mode_skip());
            }
            // As Ansible's raw: the text goes to the login shell as it is, or with
            // `executable` to that program's `-c`.
            let out = match executable {
                Some(exe) => {
                    ctx.exec(&format!("{exe} -c {}", shell_quote(&cmd)), None)
                        .await?
                }
                None => ctx.exec_login_shell(&cmd).await?,
            };
            let rc = out.rc.unwrap_or(-1);
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            Ok(Outcome {
                changed: true,
                failed: rc != 0,
                msg: (rc != 0).then(|| Value::from("non-zero return code")),
                ..Outcome::ok()
            }
            .with("rc", Value::from(rc))
            .with("stdout_lines", lines(&stdout))
            .with("stdout", Value::from(stdout))
            .with("stderr_lines", lines(&stderr))
            .with("stderr", Value::from(stderr)))
        })
    }
}

fn check_mode_skip() -> Outcome {
    Outcome {
        skipped: true,
        msg: Some(Value::from("Command would have run if not in check mode")),
        ..Outcome::ok()
    }
}

/// What a `command` or `shell` task runs, parsed from its arguments.
pub struct Prepared {
    /// The shell line that runs the command (after `creates`, `removes` and `chdir`).
    pub line: String,
    /// What the result's `cmd` reports: the words for command, the text for shell.
    pub cmd_value: Value,
    pub chdir: Option<String>,
    pub creates: Option<String>,
    pub removes: Option<String>,
    /// The command's standard input (`stdin`, with its newline when asked).
    pub input: Option<Vec<u8>>,
    pub strip_empty_ends: bool,
}

/// Parses a `command` (`shell: false`) or `shell` task's arguments.
pub fn prepare(mut args: Args, shell: bool) -> Result<Prepared, ModuleError> {
    let raw = args.str("_raw_params")?;
    let cmd_arg = args.str("cmd")?;
    let argv = if shell { None } else { args.list("argv")? };
    let chdir = args.str("chdir")?;
    let creates = args.str("creates")?;
    let removes = args.str("removes")?;
    let stdin = args.str("stdin")?;
    let stdin_add_newline = args.bool("stdin_add_newline")?.unwrap_or(true);
    let strip_empty_ends = args.bool("strip_empty_ends")?.unwrap_or(true);
    let executable = if shell { args.str("executable")? } else { None };
    let _ = args.bool("warn")?;
    if !shell {
        let _ = args.bool("expand_argument_vars")?;
    }

    // What runs, and what `cmd` reports: a list of words for command, the text for shell.
    let (line, cmd_value) = match (raw.or(cmd_arg), argv) {
        (Some(_), Some(_)) => {
            return Err(ModuleError::Failed(
                "parameters are mutually exclusive: cmd|_raw_params, argv".into(),
            ));
        }
        (Some(text), None) if shell => {
            let sh = executable.as_deref().unwrap_or("/bin/sh");
            (
                format!("exec {} -c {}", shell_quote(sh), shell_quote(&text)),
                Value::from(text),
            )
        }
        (Some(text), None) => {
            let words = crate::inventory::ini::shlex_split(&text).map_err(ModuleError::Failed)?;
            if words.is_empty() {
                return Err(ModuleError::Failed("no command given".into()));
            }
            (
                quote_words(&words),
                words.into_iter().map(Value::from).collect(),
            )
        }
        (None, Some(words)) => {
            let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            if words.is_empty() {
                return Err(ModuleError::Failed("no command given".into()));
            }
            (
                quote_words(&words),
                words.into_iter().map(Value::from).collect(),
            )
        }
        (None, None) => {
            return Err(ModuleError::Failed(format!(
                "no command given{}",
                if shell {
                    ""
                } else {
                    " (use cmd, argv or free-form text)"
                }
            )));
        }
    };

    let input = stdin.map(|mut s| {
        if stdin_add_newline {
            s.push('\n');
        }
        s.into_bytes()
    });
    Ok(Prepared {
        line,
        cmd_value,
        chdir,
        creates,
        removes,
        input,
        strip_empty_ends,
    })
}

/// The shell line that changes to `chdir` (failing with rc 250 and Python's message).
pub fn chdir_line(dir: &str) -> String {
    format!(
        "cd {} 2>/dev/null || {{ echo \"Unable to change directory before execution: [Errno 2] No such file or directory: '{}'\" >&2; exit 250; }}; ",
        shell_quote(dir),
        dir.replace('\'', "")
    )
}

async fn run_command(args: Args, ctx: &ModuleCtx, shell: bool) -> ModuleResult {
    let Prepared {
        line,
        cmd_value,
        chdir,
        creates,
        removes,
        input,
        strip_empty_ends,
    } = prepare(args, shell)?;
    let mut script = String::new();
    if let Some(c) = &creates {
        script.push_str(&format!(
            "for f in {}; do if test -e \"$f\"; then printf {SKIP_CREATES}; exit 0; fi; done; ",
            glob_word(c)
        ));
    }
    if let Some(r) = &removes {
        script.push_str(&format!(
            "__found=; for f in {}; do test -e \"$f\" && __found=1; done; if test -z \"$__found\"; then printf {SKIP_REMOVES}; exit 0; fi; ",
            glob_word(r)
        ));
    }
    if let Some(dir) = &chdir {
        script.push_str(&chdir_line(dir));
    }
    if ctx.check_mode {
        // Only the creates/removes checks run: they tell whether the command would run.
        script.push_str("exit 0");
    } else {
        script.push_str(&line);
    }
    let start = SystemTime::now();
    let out = ctx.exec(&script, input.as_deref()).await?;
    let end = SystemTime::now();
    let stdout = text(&out.stdout);
    let skipped = if stdout == SKIP_CREATES {
        Some(format!(
            "Did not run command since '{}' exists",
            creates.as_deref().unwrap_or("")
        ))
    } else if stdout == SKIP_REMOVES {
        Some(format!(
            "Did not run command since '{}' does not exist",
            removes.as_deref().unwrap_or("")
        ))
    } else {
        None
    };
    if let Some(msg) = skipped {
        return Ok(Outcome {
            msg: Some(Value::from(msg.clone())),
            ..Outcome::ok()
        }
        .with("cmd", cmd_value)
        .with("rc", Value::from(0))
        .with("stdout", Value::from(msg.clone()))
        .with("stdout_lines", Value::from(vec![Value::from(msg)]))
        .with("stderr", Value::from(""))
        .with("stderr_lines", Value::from(Vec::<Value>::new())));
    }
    if ctx.check_mode {
        return Ok(check_mode_skip());
    }
    let stderr = text(&out.stderr);
    let rc = out.rc.unwrap_or(-1);
    if rc == 250 && chdir.is_some() && stderr.starts_with("Unable to change directory") {
        return Err(ModuleError::Failed(stderr.trim_end().to_string()));
    }
    let (stdout, stderr) = if strip_empty_ends {
        (
            stdout.trim_end_matches(['\r', '\n']).to_string(),
            stderr.trim_end_matches(['\r', '\n']).to_string(),
        )
    } else {
        (stdout, stderr)
    };
    Ok(Outcome {
        changed: true,
        failed: rc != 0,
        msg: Some(Value::from(if rc != 0 {
            "non-zero return code"
        } else {
            ""
        })),
        ..Outcome::ok()
    }
    .with("cmd", cmd_value)
    .with("start", Value::from(timestamp(start)))
    .with("end", Value::from(timestamp(end)))
    .with(
        "delta",
        Value::from(delta(end.duration_since(start).unwrap_or_default())),
    )
    .with("rc", Value::from(rc))
    .with("stdout_lines", lines(&stdout))
    .with("stdout", Value::from(stdout))
    .with("stderr_lines", lines(&stderr))
    .with("stderr", Value::from(stderr)))
}

fn quote_words(words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| shell_quote(w)).collect();
    format!("exec {}", quoted.join(" "))
}

/// A path for `creates`/`removes`: globs expand (as Ansible's `glob.glob`), the rest is quoted.
fn glob_word(path: &str) -> String {
    if path.contains(['*', '?', '[']) {
        path.split('/')
            .map(|part| {
                if part.is_empty() || part.contains(['*', '?', '[']) {
                    part.to_string()
                } else {
                    shell_quote(part)
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    } else {
        shell_quote(path)
    }
}

/// Python's `splitlines()`.
pub fn lines(s: &str) -> Value {
    s.lines().map(Value::from).collect()
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, the form Ansible's command module reports.
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// `H:MM:SS.ffffff`, Python's `str(timedelta)`.
pub fn delta(d: std::time::Duration) -> String {
    let s = d.as_secs();
    format!(
        "{}:{:02}:{:02}.{:06}",
        s / 3600,
        s % 3600 / 60,
        s % 60,
        d.subsec_micros()
    )
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_deltas_format_like_python() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_414), (2025, 11, 22));
        assert_eq!(
            delta(std::time::Duration::from_micros(3_723_000_042)),
            "1:02:03.000042"
        );
    }

    #[test]
    fn command_words_are_quoted_one_by_one() {
        assert_eq!(
            quote_words(&["echo".into(), "a b".into(), ">".into()]),
            "exec echo 'a b' '>'"
        );
        assert_eq!(glob_word("/tmp/x y/*.log"), "/tmp/'x y'/*.log");
    }
}
