//! Asking for a vault password (or a string to encrypt) without echoing it.
//!
//! Like Python's `getpass`, which ansible-vault uses: on the controlling terminal (`/dev/tty`)
//! with echo off when there is one, so that it works while stdin and stdout are redirected;
//! otherwise one line from standard input (how scripts and tests feed a password), with the
//! prompt on standard error. Echo is switched with `stty`, which every POSIX system has, rather
//! than by binding termios ourselves.

use super::Error;
use super::keyring::vault_error;
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

/// Prints `prompt` and reads one line, hidden when on a terminal.
pub fn read_hidden(prompt: &str) -> Result<String, Error> {
    read_line(prompt, true)
}

/// Prints `prompt` and reads one line, echoed.
pub fn read_visible(prompt: &str) -> Result<String, Error> {
    read_line(prompt, false)
}

fn read_line(prompt: &str, hidden: bool) -> Result<String, Error> {
    if let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    {
        return from_tty(tty, prompt, hidden);
    }
    eprint!("{prompt}");
    let mut line = String::new();
    let n = std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        vault_error(format!(
            "cannot read the answer to '{}': {e}",
            prompt.trim()
        ))
    })?;
    if n == 0 {
        return Err(vault_error(format!(
            "EOF (ctrl-d) on prompt '{}'",
            prompt.trim().trim_end_matches(':')
        )));
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn stty(tty: &std::fs::File, arg: &str) -> bool {
    let Ok(input) = tty.try_clone() else {
        return false;
    };
    Command::new("stty")
        .arg(arg)
        .stdin(Stdio::from(input))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn from_tty(tty: std::fs::File, prompt: &str, hidden: bool) -> Result<String, Error> {
    let quiet = hidden && stty(&tty, "-echo");
    let result = (|| {
        let mut out = &tty;
        out.write_all(prompt.as_bytes())?;
        out.flush()?;
        let mut line = String::new();
        let n = std::io::BufReader::new(&tty).read_line(&mut line)?;
        Ok::<_, std::io::Error>((n, line))
    })();
    if quiet {
        stty(&tty, "echo");
        // The newline the user typed was not echoed.
        let _ = (&tty).write_all(b"\n");
    }
    let (n, line) =
        result.map_err(|e| vault_error(format!("cannot read from the terminal: {e}")))?;
    if n == 0 {
        return Err(vault_error(format!(
            "EOF (ctrl-d) on prompt '{}'",
            prompt.trim().trim_end_matches(':')
        )));
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
