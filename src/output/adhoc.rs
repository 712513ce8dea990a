//! Ad-hoc output (`baton run`), as ansible's `minimal` callback writes it, or its `oneline`
//! callback with `-o`:
//!
//! ```text
//! web1 | CHANGED | rc=0 >>
//!  10:01:02 up 3 days, ...
//! web2 | SUCCESS => {
//!     "changed": false,
//!     "ping": "pong"
//! }
//! web3 | UNREACHABLE! => {
//!     "changed": false,
//!     "msg": "connect to web3 port 22: Connection refused",
//!     "unreachable": true
//! }
//! ```
//!
//! command, shell and raw print their output after `rc=N >>`; every other module its result
//! as indented JSON with sorted keys. Warnings go to stderr.

use crate::exec::events::{Event, Reporter, Status, TaskResult};
use crate::modules::Output;
use crate::value;
use std::io::Write;

/// Writes ad-hoc results.
pub struct Adhoc<W: Write + Send> {
    /// Vault secrets are masked in everything written (with the run's masker), warnings on
    /// stderr too.
    out: crate::vault::mask::Masked<W>,
    /// Whether the module's output is shown as text (its spec's [`Output::Text`]).
    text_module: bool,
    one_line: bool,
    color: bool,
    /// The task as ansible-core 2.19 shows it after a failure (`Origin: <adhoc 'M' task>`
    /// and the task's repr); `None` to print no such block.
    origin: Option<Origin>,
    /// `-v` count: a module's `invocation` is shown from -vvv on, as `_dump_results` does.
    verbosity: u8,
}

/// What ansible-core 2.19's minimal callback prints about the task above a failure.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The module as given on the command line.
    pub module: String,
    /// Python's repr of the task (`{'action': 'shell', 'args': {...}, 'timeout': 0, ...}`).
    pub task_repr: String,
    /// "Module failed" for modules, "Action failed" for controller-side actions.
    pub kind: &'static str,
}

impl<W: Write + Send> Adhoc<W> {
    /// `output` is how the module's spec says its result is shown.
    pub fn new(
        out: W,
        masker: std::sync::Arc<crate::vault::Masker>,
        output: Output,
        one_line: bool,
        color: bool,
    ) -> Self {
        Adhoc {
            out: crate::vault::mask::Masked::new(out, masker),
            text_module: output == Output::Text,
            one_line,
            color,
            origin: None,
            verbosity: 0,
        }
    }

    /// The run's `-v` count (the result's `invocation` is shown from 3 on).
    pub fn with_verbosity(mut self, verbosity: u8) -> Self {
        self.verbosity = verbosity;
        self
    }

    /// Prints the `[ERROR]: Task failed` block above failures (not with `-o`, as Ansible).
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }

    fn error_block(&self, r: &TaskResult) -> Option<String> {
        let origin = self.origin.as_ref().filter(|_| !self.one_line)?;
        let msg = r
            .result
            .get("msg")
            .filter(|v| !v.is_none() && !v.is_undefined())
            .map(|v| v.to_string())
            .unwrap_or_default();
        let what = match r.status {
            Status::Failed => format!("{}: {msg}", origin.kind),
            Status::Unreachable => msg,
            _ => return None,
        };
        Some(format!(
            "[ERROR]: Task failed: {what}\nOrigin: <adhoc '{}' task>\n\n{}\n",
            origin.module, origin.task_repr
        ))
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn line(&self, r: &TaskResult) -> String {
        let host = &r.host;
        let get = |k: &str| {
            r.result
                .get(k)
                .filter(|v| !v.is_undefined() && !v.is_none())
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        let rc = r
            .result
            .get("rc")
            .filter(|v| !v.is_none())
            .map_or_else(|| "-1".to_string(), |v| v.to_string());
        let json = |indent: bool| {
            let mut j = value::to_json(&value::from_vars(&r.result));
            if let serde_json::Value::Object(o) = &mut j {
                super::strip_result_internal_keys(o);
                // Shown as warnings before the result (see `event`).
                o.remove("warnings");
                if self.verbosity < 3 {
                    o.remove("invocation");
                }
                if r.status == Status::Failed {
                    o.remove("failed");
                    o.remove("exception");
                }
                if r.status == Status::Ok && r.verbose_always {
                    o.remove("changed");
                }
            }
            let text = value::ansible_json(&value::sort_keys(&j));
            if indent {
                text
            } else {
                // Python's json.dumps(indent=0) with the newlines taken out, as the oneline
                // callback prints it: `{"a": 1,"b": {"c": 2}}`.
                text.lines().map(str::trim_start).collect()
            }
        };
        match r.status {
            Status::Skipped => self.paint(&format!("{host} | SKIPPED"), "36"),
            Status::Unreachable => {
                let text = if self.one_line {
                    format!("{host} | UNREACHABLE!: {}", get("msg"))
                } else {
                    format!("{host} | UNREACHABLE! => {}", json(true))
                };
                self.paint(&text, "31")
            }
            status => {
                let (state, code) = match status {
                    Status::Failed => ("FAILED", "31"),
                    Status::Changed => ("CHANGED", "33"),
                    _ => ("SUCCESS", "32"),
                };
                let text = match (self.text_module, self.one_line) {
                    (true, false) => format!(
                        "{host} | {state} | rc={rc} >>\n{}{}{}",
                        get("stdout"),
                        get("stderr"),
                        get("msg")
                    ),
                    (true, true) => {
                        let mut t = format!(
                            "{host} | {state} | rc={rc} | (stdout) {}",
                            get("stdout").replace('\n', "\\n")
                        );
                        let err = get("stderr");
                        if !err.is_empty() {
                            t.push_str(&format!(" (stderr) {}", err.replace('\n', "\\n")));
                        }
                        // ansible-core 2.19's oneline callback follows a failed command's
                        // line with the whole result.
                        if status == Status::Failed {
                            t.push_str(&format!("\n{host} | FAILED! => {}", json(false)));
                        }
                        t
                    }
                    (false, one) => {
                        let sep = if status == Status::Failed {
                            "FAILED! =>"
                        } else {
                            &format!("{state} =>")
                        };
                        format!("{host} | {sep} {}", json(!one))
                    }
                };
                self.paint(&text, code)
            }
        }
    }
}

impl<W: Write + Send> Reporter for Adhoc<W> {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            // Loop items are not shown on their own: the task's result carries them.
            Event::HostResult {
                result,
                item: false,
            } => {
                // A result's warnings are warnings, as the default callback shows them.
                if let Some(ws) = result.result.get("warnings")
                    && let Ok(it) = ws.try_iter()
                {
                    for w in it {
                        super::warn_stderr(
                            self.out.masker(),
                            &crate::template::filters::py_str(&w),
                        );
                    }
                }
                if let Some(block) = self.error_block(result) {
                    let block = self.paint(&block, "31");
                    let _ = writeln!(self.out, "{block}");
                }
                let line = self.line(result);
                let _ = writeln!(self.out, "{line}");
                let _ = self.out.flush();
            }
            Event::NoHosts => {
                super::warn_stderr(self.out.masker(), "No hosts matched, nothing to do");
            }
            Event::Warning(w) => super::warn_stderr(self.out.masker(), w),
            // A module's question (pause): asked on the terminal, as a play asks it.
            Event::Prompt { .. } => {
                super::prompt::handle(event);
            }
            Event::PlayAborted { reason } => {
                eprintln!("[ERROR]: {}", self.out.masker().mask(reason));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Value, Vars};

    fn result(status: Status, pairs: &[(&str, Value)]) -> TaskResult {
        let mut vars = Vars::new();
        for (k, v) in pairs {
            vars.insert(k.to_string(), v.clone());
        }
        TaskResult {
            host: "web1".into(),
            status,
            result: vars,
            ignored: false,
            delegated_to: None,
            item_label: None,
            verbose_always: false,
            action: String::new(),
            task_id: 0,
            retries: Vec::new(),
        }
    }

    fn render(module: &str, one_line: bool, r: &TaskResult) -> String {
        let mut buf = Vec::new();
        {
            let output = crate::modules::spec_of(module).map_or(Output::Json, |s| s.output);
            let mut a = Adhoc::new(
                &mut buf,
                crate::vault::Masker::new(),
                output,
                one_line,
                false,
            );
            a.event(&Event::HostResult {
                result: r,
                item: false,
            });
        }
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn commands_print_their_output() {
        let r = result(
            Status::Changed,
            &[
                ("changed", Value::from(true)),
                ("rc", Value::from(0)),
                ("stdout", Value::from("up 3 days")),
                ("stderr", Value::from("")),
            ],
        );
        assert_eq!(
            render("shell", false, &r),
            "web1 | CHANGED | rc=0 >>\nup 3 days\n"
        );
        assert_eq!(
            render("shell", true, &r),
            "web1 | CHANGED | rc=0 | (stdout) up 3 days\n"
        );
        let failed = result(
            Status::Failed,
            &[
                ("rc", Value::from(1)),
                ("stdout", Value::from("")),
                ("msg", Value::from("non-zero return code")),
            ],
        );
        assert_eq!(
            render("command", false, &failed),
            "web1 | FAILED | rc=1 >>\nnon-zero return code\n"
        );
    }

    #[test]
    fn other_modules_print_sorted_json() {
        let r = result(
            Status::Ok,
            &[
                ("ping", Value::from("pong")),
                ("changed", Value::from(false)),
            ],
        );
        assert_eq!(
            render("ping", false, &r),
            "web1 | SUCCESS => {\n    \"changed\": false,\n    \"ping\": \"pong\"\n}\n"
        );
        let u = result(
            Status::Unreachable,
            &[
                ("unreachable", Value::from(true)),
                ("changed", Value::from(false)),
                ("msg", Value::from("refused")),
            ],
        );
        assert!(render("ping", false, &u).starts_with("web1 | UNREACHABLE! => {\n"));
        assert_eq!(render("ping", true, &u), "web1 | UNREACHABLE!: refused\n");
        let nested = result(
            Status::Ok,
            &[
                ("ping", Value::from("pong")),
                ("changed", Value::from(false)),
            ],
        );
        assert_eq!(
            render("ping", true, &nested),
            "web1 | SUCCESS => {\"changed\": false,\"ping\": \"pong\"}\n"
        );
    }
}
