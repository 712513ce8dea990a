//! How a script and its input reach a shell on a host: on its standard input, never on a
//! command line.
//!
//! Every local user of a host can read the arguments of every process (`ps`,
//! `/proc/PID/cmdline`). So nothing a task carries (file content, a checksum of it, module
//! arguments, variables) may be in the arguments of a process baton starts. This module owns the
//! one way a script travels: the process is started with a constant command (`/bin/sh`, or sudo
//! or su starting `/bin/sh`; see [`Launch::command`]), and the script comes on its standard
//! input, in one of two forms:
//!
//! - a **program** (the usual case, and what the host's long-lived shell gets too): the shell
//!   reads its standard input as its program, which is one line: the script as a quoted word
//!   given to `eval`, its input (when small and text, see [`literal`]) a quoted literal printed
//!   into it by the `printf` builtin, else `/dev/null`. The shell parses the whole line before it
//!   runs any of it, so a stream cut short is a syntax error and runs nothing, and the script's
//!   own standard input is its input, not the rest of the program. No program is started for the
//!   framing.
//! - **framed**, for input that is large, binary or streamed: the first line is the length in
//!   bytes of the script (which ends with a trailer line, [`TRAILER`]), then the script, then the
//!   input. The shell reads the line with the `read` builtin (which stops at the newline), the
//!   script with `head -c` (which reads exactly that many bytes from a pipe), checks the trailer
//!   (a stream cut short runs nothing) and `eval`s it: the rest of the stream is the script's
//!   standard input. It costs one `head`.
//!
//! `become` is part of the launch: the command is `sudo ... -u USER /bin/sh` (or su's), and the
//! script travels through sudo on its standard input the same way. With a become password the
//! command first prints the escalation's success marker as the target user (see
//! [`super::become_`]); the transport sends the input only after it.
//!
//! Programs the script itself runs get the arguments they need (a path, a user name), as with
//! Ansible; content and checksums stay in the shell (builtins) or go through pipes and files.

use super::Stdin;
use super::become_::{self, Become, Escalation};
use crate::template::filters::shell_quote;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Input up to this size, without a NUL byte, travels as a literal inside the program text.
pub const LITERAL_LIMIT: usize = 512 * 1024;

/// The last line of a framed script: `head -c` stops early only when the stream was cut short,
/// and then this line is missing.
pub const TRAILER: &str = "#baton-frame-end";

/// The shell words that read a framed script from standard input and run it (see the module
/// doc). Fixed text: it goes on command lines.
const READ_FRAMED: &str = concat!(
    r#"IFS= read -r n && s=$(head -c "$n") && case $s in *'"#,
    "#baton-frame-end",
    r#"') eval "$s" ;; *) echo 'baton: the script arrived incomplete' >&2; exit 125 ;; esac"#
);

/// Whether `input` can travel as a literal inside a program's text (a shell word holds no NUL).
pub fn literal(input: &[u8]) -> bool {
    input.len() <= LITERAL_LIMIT && !input.contains(&0)
}

/// A program for a shell that reads its standard input as its program: runs `cmd` with `input`
/// (or `/dev/null`) as its standard input. `isolate` runs it in a subshell, so that what it
/// changes (directory, variables, traps, `exit`) stays its own: for a shell that runs more
/// commands after it. `input` must pass [`literal`].
///
/// A script given input in its text is told so by `BATON_STDIN_WHOLE=1`: the shell ran it only
/// once it had all of it, so a script checking that its input arrived whole need not.
pub fn program(cmd: &str, input: Option<&[u8]>, isolate: bool) -> Vec<u8> {
    let mut text = Vec::with_capacity(cmd.len() + input.map_or(0, <[u8]>::len) + 64);
    match input {
        Some(b) => {
            text.extend_from_slice(b"printf '%s' '");
            for &c in b {
                match c {
                    b'\'' => text.extend_from_slice(b"'\\''"),
                    c => text.push(c),
                }
            }
            text.extend_from_slice(b"' | ( BATON_STDIN_WHOLE=1; eval ");
            text.extend_from_slice(shell_quote(cmd).as_bytes());
            text.extend_from_slice(b" )");
        }
        None if isolate => {
            text.extend_from_slice(b"( eval ");
            text.extend_from_slice(shell_quote(cmd).as_bytes());
            text.extend_from_slice(b" ) </dev/null");
        }
        None => {
            text.extend_from_slice(b"eval ");
            text.extend_from_slice(shell_quote(cmd).as_bytes());
            text.extend_from_slice(b" </dev/null");
        }
    }
    text.push(b'\n');
    text
}

/// The head of a framed stream: the length line and the script with its trailer.
fn framed_head(cmd: &str) -> Vec<u8> {
    let body = format!("{cmd}\n{TRAILER}");
    format!("{}\n{body}", body.len()).into_bytes()
}

/// Text for the login user's own shell (`raw`), as a script for `/bin/sh` that hands it to
/// `$SHELL`: as a script file read from a here-document, not as `-c TEXT` (which would put it
/// on `$SHELL`'s command line). Its standard input is `/dev/null`, as it was under `-c`.
pub fn login_shell_script(text: &str) -> String {
    let mark = format!("BATON-RAW-{}", random_hex(16));
    let nl = if text.ends_with('\n') { "" } else { "\n" };
    format!("exec \"${{SHELL:-/bin/sh}}\" /dev/fd/3 </dev/null 3<<'{mark}'\n{text}{nl}{mark}\n")
}

/// `n` random bytes in hex, for markers. When the system has no randomness to give, a value
/// made of the process id, a counter and the time: a marker only has to differ from the text
/// around it. (Temporary paths on hosts do not use this: see `modules::hosttmp`.)
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    if getrandom::fill(&mut b).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        return format!(
            "{:x}{:x}{:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            t
        );
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A command's standard input as the transport sends it (owned: the ssh transport drives each
/// channel from a task of its own).
pub enum Payload {
    Bytes(Vec<u8>),
    Reader(Box<dyn AsyncRead + Send + Unpin + 'static>),
}

/// How to start one command on a host: the command a session runs, and its standard input.
pub struct Launch {
    /// What the session runs with `sh -c` (the login shell, for ssh): fixed text but for the
    /// become method, user and flags and the escalation's prompt and marker. Never the script.
    pub command: String,
    /// Its standard input: the program or the framed script, then the script's input.
    pub input: Payload,
}

/// What a request becomes on a channel of its own (or the local transport): see the module
/// doc. `announce_pgid` makes the command first print `BATON-PGID:<its process group>` on
/// stderr (commands with a time limit: the transport kills that group on timeout).
pub fn launch(
    cmd: &str,
    stdin: Stdin<'_>,
    become_: Option<&Become>,
    escalation: Option<&Escalation>,
    login_shell: bool,
    announce_pgid: bool,
) -> Launch {
    let wrapped;
    // Under become the text runs in /bin/sh as the target user, as Ansible's raw does.
    let cmd = if login_shell && become_.is_none() {
        wrapped = login_shell_script(cmd);
        wrapped.as_str()
    } else {
        cmd
    };
    let success = escalation.map(|e| format!("echo {}; ", e.success));
    let success = success.as_deref().unwrap_or("");
    let (shell, input) = match stdin {
        Stdin::Null => (
            program_shell(success),
            Payload::Bytes(program(cmd, None, false)),
        ),
        Stdin::Bytes(b) if literal(b) => (program_shell(success), {
            let input = (!b.is_empty()).then_some(b);
            Payload::Bytes(program(cmd, input, false))
        }),
        Stdin::Bytes(b) => {
            let mut all = framed_head(cmd);
            all.extend_from_slice(b);
            (framed_shell(success), Payload::Bytes(all))
        }
        Stdin::Reader(r) => {
            let head = std::io::Cursor::new(framed_head(cmd));
            (
                framed_shell(success),
                Payload::Reader(Box::new(head.chain(r))),
            )
        }
    };
    let started = match become_ {
        Some(b) => become_::launcher(b, escalation, &shell),
        None => shell,
    };
    let command = if announce_pgid {
        format!("echo {}$$ >&2; exec {started}", super::PGID_MARKER)
    } else {
        format!("exec {started}")
    };
    Launch { command, input }
}

/// What a long-lived process ([`super::Connection::spawn`]) becomes on a channel of its own
/// (or the local transport): the command the session runs and the head of its standard input,
/// the framed script; what comes after the head is the script's standard input.
pub fn process(cmd: &str, become_: Option<&Become>) -> (String, Vec<u8>) {
    let shell = framed_shell("");
    let started = match become_ {
        Some(b) => become_::launcher(b, None, &shell),
        None => shell,
    };
    (format!("exec {started}"), framed_head(cmd))
}

/// The shell that reads its standard input as its program; with an escalation, it first says
/// it runs as the target user.
fn program_shell(success: &str) -> String {
    if success.is_empty() {
        "/bin/sh".to_string()
    } else {
        format!(
            "/bin/sh -c {}",
            shell_quote(&format!("{success}exec /bin/sh"))
        )
    }
}

/// The shell that reads a framed script.
fn framed_shell(success: &str) -> String {
    format!(
        "/bin/sh -c {}",
        shell_quote(&format!("{success}{READ_FRAMED}"))
    )
}

/// What the host's long-lived shell (which reads its standard input as its program) runs for a
/// request without an escalation: the command to run in its subshell and the command's input,
/// both travelling in the shell's program text. `None` when the input cannot travel as text
/// (the request then needs a channel of its own).
pub fn on_long_lived_shell(
    cmd: &str,
    stdin: &Stdin<'_>,
    become_: Option<&Become>,
    login_shell: bool,
) -> Option<(String, Option<Vec<u8>>)> {
    let input = match stdin {
        Stdin::Null | Stdin::Bytes([]) => None,
        Stdin::Bytes(b) if literal(b) => Some(*b),
        _ => return None,
    };
    match become_ {
        None => {
            let cmd = if login_shell {
                login_shell_script(cmd)
            } else {
                cmd.to_string()
            };
            Some((cmd, input.map(<[u8]>::to_vec)))
        }
        // The script goes through sudo as a program on its standard input, itself a literal
        // in the long-lived shell's text.
        Some(b) => {
            let inner = program(cmd, input, false);
            literal(&inner).then(|| {
                (
                    format!("exec {}", become_::launcher(b, None, "/bin/sh")),
                    Some(inner),
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sudo() -> Become {
        Become {
            method: "sudo".into(),
            user: "root".into(),
            flags: None,
        }
    }

    #[test]
    fn the_command_never_carries_the_script() {
        let secret = "want=0123456789abcdef; printf '%s' 'hunter2'";
        for stdin in [
            Stdin::Null,
            Stdin::Bytes(b"small input"),
            Stdin::Bytes(b"binary\0input"),
        ] {
            for b in [None, Some(sudo())] {
                let l = launch(secret, stdin_copy(&stdin), b.as_ref(), None, false, true);
                assert!(!l.command.contains("hunter2"), "{}", l.command);
                assert!(!l.command.contains("0123456789abcdef"), "{}", l.command);
                let Payload::Bytes(input) = l.input else {
                    panic!()
                };
                assert!(String::from_utf8_lossy(&input).contains("hunter2"));
            }
        }
        let esc = become_::escalation(&sudo(), "pw");
        let l = launch(secret, Stdin::Null, Some(&sudo()), Some(&esc), false, false);
        assert!(
            l.command.starts_with("exec sudo -H -S -p "),
            "{}",
            l.command
        );
        assert!(l.command.contains(&esc.success), "{}", l.command);
        assert!(!l.command.contains("hunter2") && !l.command.contains("pw'"));
    }

    fn stdin_copy<'a>(s: &Stdin<'a>) -> Stdin<'a> {
        match s {
            Stdin::Null => Stdin::Null,
            Stdin::Bytes(b) => Stdin::Bytes(b),
            Stdin::Reader(_) => unreachable!(),
        }
    }

    #[test]
    fn programs_quote_the_script_and_its_input() {
        assert_eq!(
            String::from_utf8(program("echo 'a'", None, false)).unwrap(),
            r#"eval 'echo '"'"'a'"'"'' </dev/null
"#
        );
        assert_eq!(
            program("cat", Some(b"it's"), true),
            b"printf '%s' 'it'\\''s' | ( BATON_STDIN_WHOLE=1; eval cat )\n"
        );
        let head = String::from_utf8(framed_head("echo hi")).unwrap();
        assert_eq!(head, format!("{}\necho hi\n{TRAILER}", 8 + TRAILER.len()));
    }

    #[test]
    fn the_long_lived_shell_gets_become_as_a_program_through_sudo() {
        let (cmd, input) =
            on_long_lived_shell("id -un", &Stdin::Null, Some(&sudo()), false).unwrap();
        assert_eq!(cmd, "exec sudo -H -S -n -u root /bin/sh");
        assert_eq!(input.unwrap(), b"eval 'id -un' </dev/null\n");
        assert!(on_long_lived_shell("x", &Stdin::Bytes(b"\0"), None, false).is_none());
    }
}
