//! Temporary paths on hosts: this module owns every one baton uses. Nothing else in baton
//! names a temporary file or directory on a host (no `/tmp/.baton-x.$$`, no `mktemp`): scripts
//! get one from [`private_dir`] and keep their scratch files inside it.
//!
//! Why one helper: a temporary path in a directory that another local user can write to is an
//! attack surface. A name the attacker can guess (`$$`, a checksum) can be taken first: a
//! symbolic link there makes root write through it (any file of the attacker's choice is
//! overwritten), a FIFO there hands the attacker what root writes (noclobber, `set -C`, does not
//! refuse an existing FIFO), a file there keeps its owner, who can change it before root uses
//! it. So every temporary path is a directory that
//! - has a name nobody can guess: 128 random bits from the controller's system randomness;
//! - is created by `mkdir`, which never follows or reuses anything already at that name (a
//!   link, a FIFO, a file, a directory: it fails), with mode 0700, so only its owner (the user
//!   the script runs as) can create, open or replace anything inside it;
//! - is checked to be exactly that before anything is put in it: a directory, not a link,
//!   owned by the user the script runs as ([`Place::Beside`] checks more, see there). Anything
//!   else makes the script stop with a clear message ([`refusal`] turns it into the task's
//!   failure) before it has written a byte.
//!
//! The script keeps its files inside (`"$T/out"`), and the directory is removed when the script
//! exits (an `EXIT` trap, which a script using this must not replace), or when it calls the
//! shell function `<VAR>_done` itself (then `trap - EXIT`).

use super::ModuleError;
use std::sync::OnceLock;

/// Where the private directory is made.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// In `${TMPDIR:-/tmp}`: scratch space for a script's own files (command output, an upload
    /// to unpack, a backup). That directory must be sticky (as /tmp is: nobody may rename or
    /// remove another user's entries in it) or owned by the user the script runs as; the script
    /// stops otherwise.
    Tmp,
    /// Inside the directory this shell word names (`"$d"`): the same filesystem as a file to be
    /// replaced there, so the new content can be renamed over it atomically. That directory
    /// may be writable by others without the sticky bit (an application's directory owned by
    /// its user), who could then rename the private directory away and put another in its
    /// place. So the script `cd`s into it (its working directory is then the directory baton
    /// made, whatever its name comes to mean) and checks that it is owned by the user the
    /// script runs as with mode 0700 (in a directory without the sticky bit: in a sticky one
    /// nobody else can replace it); from there on it uses relative names inside it only. Its
    /// `<VAR>_done` removes what is inside by those relative names and the directory only if it
    /// is empty, so a name swapped under it can never make it delete someone else's files.
    Beside(&'a str),
}

/// When the private directory is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    /// When the script exits (`trap <VAR>_done EXIT`).
    OnExit,
    /// When the script calls `<VAR>_done` (for a directory made and removed within a shell
    /// function, which must not take over the script's trap).
    Caller,
}

/// A shell snippet that makes a private directory and sets the shell variable `var` to its
/// path (see the module doc for what it guarantees); it also defines `<var>_done`, which
/// removes it. Put the snippet at the top level of the script or of a shell function, not in a
/// subshell (`( )`, `$( )`): when a check fails it ends the script with `exit 1` after printing
/// the refusal line that [`refusal`] finds. With [`Place::Beside`] the script's working
/// directory is the private directory after the snippet.
///
/// Fails only when the controller has no randomness to give.
pub fn private_dir(var: &str, place: Place<'_>, cleanup: Cleanup) -> Result<String, ModuleError> {
    debug_assert!(
        !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{var} is not a shell variable name"
    );
    let name = format!(".baton-{}", random_name()?);
    let refuse = |msg: &str| {
        format!(
            "{{ printf '\\n%s\\t%s\\n' '{}' \"{msg}\"; exit 1; }}",
            refusal_marker()
        )
    };
    let trap = match cleanup {
        Cleanup::OnExit => format!("trap {var}_done EXIT\n"),
        Cleanup::Caller => String::new(),
    };
    Ok(match place {
        Place::Tmp => format!(
            r#"{var}=${{TMPDIR:-/tmp}}
{{ [ -d "${var}" ] && {{ [ -k "${var}" ] || [ -O "${var}" ]; }}; }} || {not_sticky}
{var}=${var}/{name}
mkdir -m 700 -- "${var}" 2>/dev/null || {cannot}
{var}_done() {{ rm -rf -- "${var}"; }}
{trap}[ -d "${var}" ] && [ ! -L "${var}" ] && [ -O "${var}" ] || {replaced}
"#,
            not_sticky = refuse(&format!(
                "refusing to make temporary files in ${var}: it is not a directory with the sticky bit set"
            )),
            cannot = refuse(&format!(
                "cannot create the private temporary directory ${var} (something else already has that name, or the directory is not writable)"
            )),
            replaced = refuse(&format!(
                "the temporary directory ${var} is not the private directory baton created"
            )),
        ),
        Place::Beside(dir) => format!(
            r#"{var}={dir}/{name}
case ${var} in /*) ;; *) {var}=$PWD/${var} ;; esac
mkdir -m 700 -- "${var}" 2>/dev/null || {cannot}
{var}_done() {{ if [ . -ef "${var}" ]; then set -- ./*; {{ [ -e "$1" ] || [ -L "$1" ]; }} && rm -f -- "$@"; cd .. && rmdir -- {name} 2>/dev/null; fi; }}
{trap}cd -P -- "${var}" 2>/dev/null && [ -O . ] && {{ [ -k .. ] || [ "$(stat -c %a .)" = 700 ]; }} || {replaced}
"#,
            cannot = refuse(&format!(
                "cannot create a private temporary directory in ${{{var}%/*}} (something else already has that name, or the directory is not writable)"
            )),
            replaced = refuse(&format!(
                "the temporary directory ${var} was replaced by something baton did not create: refusing to write there"
            )),
        ),
    })
}

/// The message of a script that stopped because its private directory could not be made or
/// was not what baton made (see [`private_dir`]), from the script's standard output.
pub fn refusal(stdout: &[u8]) -> Option<String> {
    let marker = refusal_marker();
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .find_map(|l| l.strip_prefix(marker.as_str()))
        .map(|rest| rest.trim_start_matches('\t').to_string())
}

/// The line a refusing script prints starts with this: unique to this run of baton, so that
/// no output of a task (which cannot know it) is ever mistaken for a refusal.
fn refusal_marker() -> &'static String {
    static MARKER: OnceLock<String> = OnceLock::new();
    MARKER.get_or_init(|| {
        let nonce = random_name().unwrap_or_else(|_| format!("{:x}", std::process::id()));
        format!("BATON-TMP-REFUSED-{nonce}")
    })
}

/// 128 random bits in hex, from the system's randomness (never a guessable fallback: a
/// temporary name someone can predict is what this module exists to prevent).
fn random_name() -> Result<String, ModuleError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| {
        ModuleError::Failed(format!(
            "no randomness available on the controller to name a temporary directory: {e}"
        ))
    })?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unpredictable_and_never_reused() {
        let a = private_dir("T", Place::Tmp, Cleanup::OnExit).unwrap();
        let b = private_dir("T", Place::Tmp, Cleanup::OnExit).unwrap();
        assert_ne!(a, b);
        assert!(a.contains("mkdir -m 700 -- \"$T\""), "{a}");
        assert!(a.contains("trap T_done EXIT"), "{a}");
        assert!(!a.contains("$$"), "{a}");
        let c = private_dir("S", Place::Beside("\"$d\""), Cleanup::Caller).unwrap();
        assert!(c.starts_with("S=\"$d\"/.baton-"), "{c}");
        assert!(c.contains("cd -P -- \"$S\""), "{c}");
        assert!(!c.contains("trap"), "{c}");
    }

    #[test]
    fn a_refusal_is_found_only_with_this_runs_marker() {
        let line = format!("out\n\n{}\tcannot create X\n", refusal_marker());
        assert_eq!(refusal(line.as_bytes()).as_deref(), Some("cannot create X"));
        assert_eq!(refusal(b"BATON-TMP-REFUSED-0000\tforged\n"), None);
    }
}
