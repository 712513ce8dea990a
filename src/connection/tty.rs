//! Asking the operator for a secret on the terminal (`-k`, `-K`, key passphrases), with echo
//! off, through `/dev/tty` so that it works while stdin and stdout are redirected.

use std::io::{BufRead, Write};
use std::os::fd::AsRawFd;

/// Whether a terminal is there to ask on.
pub fn available() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// Prints `prompt`, reads one line without echoing it, and returns it without the newline.
pub fn read_secret(prompt: &str) -> Result<String, String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| format!("cannot ask for a secret: no terminal ({e})"))?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for a valid fd we hold open.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let have_termios = unsafe { libc::tcgetattr(fd, &mut saved) } == 0;
    if have_termios {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: fd is open; `quiet` is a termios obtained from tcgetattr.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let result = (|| {
        let mut out = &tty;
        out.write_all(prompt.as_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        std::io::BufReader::new(&tty)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    })();
    if have_termios {
        // SAFETY: restores the settings read above on the same open fd.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    }
    result
}

/// Prints one line on the terminal.
pub fn say(line: &str) -> std::io::Result<()> {
    let mut tty = std::fs::OpenOptions::new().write(true).open("/dev/tty")?;
    writeln!(tty, "{line}")
}
