//! `become`: running a command as another user, by starting it through sudo or su, and
//! answering their password prompt.
//!
//! The script never goes on sudo's command line (every local user can read it there): sudo
//! starts a constant `/bin/sh ...` that reads the script on its standard input (see
//! [`super::launch`]). Without a become password sudo runs with `-n` and fails at once when it
//! would have to ask (reported as Ansible's "Missing sudo password"). With a password, the
//! command is started as Ansible does:
//!
//! ```text
//! sudo -H -S -p '[baton sudo: KEY] password:' -u USER /bin/sh -c 'echo BATON-BECOME-KEY; exec /bin/sh'
//! ```
//!
//! and the transport carries out an [`Escalation`]: it holds the command's input back, watches
//! stderr for the prompt (only then writing the password, once) and stdout for the success
//! line, which proves the command now runs as the target user; only then does the real input
//! (the script, then its own input) flow. So the password is sent only when sudo really asks,
//! never reaches the script's stdin, and never appears in the command line, the output or the
//! logs. A second prompt means the password was wrong: the command is stopped and the task fails
//! with "Incorrect sudo password".
//!
//! `su` takes the same path: without a terminal it reads the password from stdin after
//! printing PAM's prompt (`Password: `) on stderr, so `su USER -c '/bin/sh -c "echo MARKER;
//! exec /bin/sh"'` is watched the same way (Ansible's "Incorrect su password" when refused).

use super::ConnError;
use crate::template::filters::shell_quote;
use std::sync::atomic::{AtomicU64, Ordering};

/// How to become another user for a task.
#[derive(Debug, Clone)]
pub struct Become {
    /// `sudo` or `su`.
    pub method: String,
    pub user: String,
    pub flags: Option<String>,
}

/// The password dialogue of one escalated command, carried out by the transport.
#[derive(Clone)]
pub struct Escalation {
    /// What the program prints on stderr when it asks: sudo's (`-p`) is unique per command;
    /// su's is PAM's, in the few languages listed.
    pub prompts: Vec<String>,
    /// The line the started shell prints on stdout first, once it runs as the target user.
    pub success: String,
    pub password: String,
    /// `sudo`, for messages ("Incorrect sudo password").
    pub method: String,
}

impl std::fmt::Debug for Escalation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Escalation")
            .field("prompts", &self.prompts)
            .field("success", &self.success)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// A key unique to one command of this process, so a marker cannot be mistaken for output of
/// another command (or forged by an earlier one).
fn marker_key() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}{n:x}", std::process::id(), t & 0xffff_ffff_ffff)
}

/// The password dialogue for becoming `b`'s user with `password`: the prompt to answer and the
/// marker the started shell prints once it runs as that user.
pub fn escalation(b: &Become, password: &str) -> Escalation {
    let key = marker_key();
    let success = format!("BATON-BECOME-{key}");
    let prompts = match b.method.as_str() {
        "su" => SU_PROMPTS.iter().map(|p| p.to_string()).collect(),
        _ => vec![format!("[baton sudo: {key}] password:")],
    };
    Escalation {
        prompts,
        success,
        password: password.to_string(),
        method: if b.method == "su" { "su" } else { "sudo" }.to_string(),
    }
}

/// The command that starts `shell` (fixed words such as `/bin/sh`, never a script) as `b`'s
/// user: `sudo FLAGS -u USER SHELL` or `su FLAGS USER -c SHELL`.
///
/// sudo flags are Ansible's: `become_flags` when given (default `-H -S -n`); without an
/// escalation `-n` is added if missing (sudo must never read the script as a password), with
/// one `-n` is removed and `-S -p PROMPT` added.
pub fn launcher(b: &Become, escalation: Option<&Escalation>, shell: &str) -> String {
    match b.method.as_str() {
        "su" => format!(
            "su {} {} -c {}",
            b.flags.as_deref().unwrap_or(""),
            shell_quote(&b.user),
            shell_quote(shell)
        ),
        _ => {
            let flags = b.flags.as_deref().unwrap_or("-H -S -n");
            let mut words: Vec<&str> = flags.split_whitespace().collect();
            match escalation {
                None => {
                    if !words.contains(&"-n") {
                        words.push("-n");
                    }
                    format!(
                        "sudo {} -u {} {shell}",
                        words.join(" "),
                        shell_quote(&b.user)
                    )
                }
                Some(esc) => {
                    words.retain(|w| *w != "-n");
                    if !words.contains(&"-S") {
                        words.push("-S");
                    }
                    let prompt = esc.prompts.first().map_or("", String::as_str);
                    format!(
                        "sudo {} -p {} -u {} {shell}",
                        words.join(" "),
                        shell_quote(prompt),
                        shell_quote(&b.user)
                    )
                }
            }
        }
    }
}

/// PAM's password prompt, as su prints it in a few languages (`LANG` of the login).
const SU_PROMPTS: &[&str] = &[
    "Password:",
    "password:",
    "Passwort:",
    "Mot de passe :",
    "Contraseña:",
    "Senha:",
    "Пароль:",
    "密码：",
];

/// What the transport must do after feeding output to a [`Watcher`].
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    Nothing,
    /// Write the password (with a newline) to the command's stdin.
    SendPassword,
    /// The command runs as the target user: start sending its real input.
    Ready,
    /// Stop the command and fail with this message.
    Fail(String),
}

/// Follows the output of an escalated command until it runs as the target user: finds the
/// prompt in stderr and the success line in stdout, and removes both from what the caller
/// sees. Transport-independent; the transports feed it and act on its [`Action`]s.
pub struct Watcher {
    esc: Escalation,
    sent: bool,
    ready: bool,
    /// stdout before the success line was seen.
    stdout: Vec<u8>,
    /// stderr not yet searched completely for the prompt.
    stderr: Vec<u8>,
}

impl Watcher {
    pub fn new(esc: Escalation) -> Watcher {
        Watcher {
            esc,
            sent: false,
            ready: false,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// The password line to write, for [`Action::SendPassword`].
    pub fn password_line(&self) -> Vec<u8> {
        let mut line = self.esc.password.as_bytes().to_vec();
        line.push(b'\n');
        line
    }

    /// Feeds stdout data; what the caller should keep is appended to `out`.
    pub fn stdout(&mut self, data: &[u8], out: &mut Vec<u8>) -> Action {
        if self.ready {
            out.extend_from_slice(data);
            return Action::Nothing;
        }
        self.stdout.extend_from_slice(data);
        let line = format!("{}\n", self.esc.success);
        match find(&self.stdout, line.as_bytes()) {
            Some(at) => {
                out.extend_from_slice(&self.stdout[..at]);
                out.extend_from_slice(&self.stdout[at + line.len()..]);
                self.stdout = Vec::new();
                self.ready = true;
                // Whatever sudo said on stderr before (a lecture) belongs to the output.
                Action::Ready
            }
            None => Action::Nothing,
        }
    }

    /// Feeds stderr data; what the caller should keep is appended to `out` (prompts removed).
    pub fn stderr(&mut self, data: &[u8], out: &mut Vec<u8>) -> Action {
        if self.ready {
            out.extend_from_slice(data);
            return Action::Nothing;
        }
        self.stderr.extend_from_slice(data);
        let mut action = Action::Nothing;
        while let Some((at, len)) = self
            .esc
            .prompts
            .iter()
            .filter_map(|p| find(&self.stderr, p.as_bytes()).map(|at| (at, p.len())))
            .min()
        {
            out.extend_from_slice(&self.stderr[..at]);
            self.stderr.drain(..at + len);
            if self.sent {
                action = Action::Fail(format!("Incorrect {} password", self.esc.method));
                break;
            }
            self.sent = true;
            action = Action::SendPassword;
        }
        // Keep only a tail that may be the start of a prompt split across packets.
        let longest = self.esc.prompts.iter().map(String::len).max().unwrap_or(0);
        let keep = self.stderr.len().min(longest.saturating_sub(1));
        let flush = self.stderr.len() - keep;
        out.extend_from_slice(&self.stderr[..flush]);
        self.stderr.drain(..flush);
        action
    }

    /// The command ended: returns the leftovers, or why escalation failed if it never got
    /// to run the command.
    pub fn finish(mut self, stdout: &mut Vec<u8>, stderr: &mut Vec<u8>) -> Result<(), ConnError> {
        stdout.append(&mut self.stdout);
        stderr.append(&mut self.stderr);
        if self.ready {
            return Ok(());
        }
        let text = String::from_utf8_lossy(stderr);
        if self.sent
            && (text.contains("incorrect password")
                || text.contains("Sorry, try again")
                || text.contains("Authentication failure"))
        {
            return Err(ConnError::Failed(format!(
                "Incorrect {} password",
                self.esc.method
            )));
        }
        Err(ConnError::Failed(format!(
            "privilege escalation ({}) failed: {}",
            self.esc.method,
            text.trim()
        )))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// True when a sudo run with `-n` failed because it needed a password.
pub fn sudo_needs_password(stderr: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stderr);
    text.contains("sudo: a password is required") || text.contains("sudo: a terminal is required")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sudo(user: &str) -> Become {
        Become {
            method: "sudo".into(),
            user: user.into(),
            flags: None,
        }
    }

    #[test]
    fn sudo_starts_a_fixed_shell_with_the_flags() {
        assert_eq!(
            launcher(&sudo("app"), None, "/bin/sh"),
            "sudo -H -S -n -u app /bin/sh"
        );
        let custom = Become {
            flags: Some("-H".into()),
            ..sudo("app")
        };
        assert_eq!(
            launcher(&custom, None, "/bin/sh"),
            "sudo -H -n -u app /bin/sh"
        );
    }

    #[test]
    fn with_a_password_sudo_prompts_with_a_marker_and_the_password_is_not_in_the_command() {
        let esc = escalation(&sudo("root"), "s3cret");
        let cmd = launcher(&sudo("root"), Some(&esc), "/bin/sh");
        assert!(!cmd.contains("s3cret"), "{cmd}");
        assert!(!cmd.contains(" -n "), "{cmd}");
        assert!(cmd.contains(&esc.prompts[0]), "{cmd}");
        assert!(!format!("{esc:?}").contains("s3cret"));
    }

    #[test]
    fn watcher_answers_the_prompt_once_and_strips_markers() {
        let esc = escalation(&sudo("root"), "pw");
        let mut w = Watcher::new(esc.clone());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        // The prompt split across two packets.
        let p = esc.prompts[0].as_bytes();
        assert_eq!(w.stderr(&p[..5], &mut err), Action::Nothing);
        assert_eq!(w.stderr(&p[5..], &mut err), Action::SendPassword);
        assert_eq!(w.password_line(), b"pw\n");
        let line = format!("{}\nhello\n", esc.success);
        assert_eq!(w.stdout(line.as_bytes(), &mut out), Action::Ready);
        assert_eq!(w.stderr(b"warn\n", &mut err), Action::Nothing);
        w.finish(&mut out, &mut err).unwrap();
        assert_eq!(out, b"hello\n");
        assert_eq!(err, b"warn\n");
    }

    #[test]
    fn su_with_a_password_watches_pams_prompt() {
        let su = Become {
            method: "su".into(),
            user: "app".into(),
            flags: None,
        };
        let esc = escalation(&su, "pw");
        let cmd = launcher(&su, Some(&esc), "/bin/sh");
        assert_eq!(cmd, "su  app -c /bin/sh");
        let mut w = Watcher::new(esc.clone());
        let mut err = Vec::new();
        assert_eq!(w.stderr(b"Password: ", &mut err), Action::SendPassword);
        let mut out = Vec::new();
        let done = w.finish(&mut out, &mut b"su: Authentication failure\n".to_vec());
        assert_eq!(done, Err(ConnError::Failed("Incorrect su password".into())));
    }

    #[test]
    fn a_second_prompt_means_a_wrong_password() {
        let esc = escalation(&sudo("root"), "pw");
        let mut w = Watcher::new(esc.clone());
        let mut err = Vec::new();
        assert_eq!(
            w.stderr(esc.prompts[0].as_bytes(), &mut err),
            Action::SendPassword
        );
        let again = format!("\nSorry, try again.\n{}", esc.prompts[0]);
        assert_eq!(
            w.stderr(again.as_bytes(), &mut err),
            Action::Fail("Incorrect sudo password".into())
        );
        assert!(!String::from_utf8_lossy(&err).contains("baton sudo"));
    }
}
