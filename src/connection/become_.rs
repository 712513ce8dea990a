//! `become`: running a command as another user, by wrapping it for sudo or su.
//!
//! The wrapping is plain text around a shell command, so it works over any transport. Passwords
//! (`become_password`) are not supported by this first version: sudo runs with `-n` and fails
//! clearly when it would have to ask.

use crate::template::filters::shell_quote;

/// How to become another user for a task.
#[derive(Debug, Clone)]
pub struct Become {
    /// `sudo` or `su`.
    pub method: String,
    pub user: String,
    pub flags: Option<String>,
}

/// Wraps a shell command so it runs as the become user.
pub fn become_command(b: &Become, script: &str) -> String {
    let quoted = shell_quote(script);
    match b.method.as_str() {
        "su" => format!(
            "su {} {} -c {}",
            b.flags.as_deref().unwrap_or(""),
            shell_quote(&b.user),
            shell_quote(&format!("/bin/sh -c {quoted}"))
        ),
        _ => format!(
            "sudo {} -n -u {} /bin/sh -c {quoted}",
            b.flags.as_deref().unwrap_or("-H -S"),
            shell_quote(&b.user)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_wraps_the_whole_script() {
        let b = Become {
            method: "sudo".into(),
            user: "app".into(),
            flags: None,
        };
        assert_eq!(
            become_command(&b, "echo 'hi'"),
            r#"sudo -H -S -n -u app /bin/sh -c 'echo '"'"'hi'"'"''"#
        );
    }
}
