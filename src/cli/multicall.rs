//! baton as a multi-call binary: invoked through a link named `ansible-playbook`, `ansible`,
//! `ansible-inventory` or `ansible-vault` (the basename of argv[0]), it is `baton play`,
//! `baton run`, `baton inventory` or `baton vault` with the same arguments, so scripts,
//! Makefiles and tools that shell out to Ansible's commands run baton unchanged.
//!
//! This file owns only the translation of such a command line into baton's own; the flags are
//! the subcommands' (which take ansible's spelling of them). `--version` under one of these
//! names answers in ansible's shape (`ansible-playbook [core X.Y.Z]`), which tools parse to
//! check what they talk to, and says that it is baton.

use std::ffi::{OsStr, OsString};
use std::path::Path;

/// The ansible-core release whose command lines and behaviour baton follows (the oracle the
/// tests compare with); what `ansible --version` reports under a multi-call name.
pub const ANSIBLE_CORE_COMPAT: &str = "2.19.14";

/// Ansible's command names baton answers to, and the subcommand each one is.
pub const NAMES: &[(&str, &str)] = &[
    ("ansible-playbook", "play"),
    ("ansible", "run"),
    ("ansible-inventory", "inventory"),
    ("ansible-vault", "vault"),
];

/// What a command line asks for once the name it was invoked by is taken into account.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    /// Parse these arguments as baton's own (argv[0] first).
    Baton(Vec<OsString>),
    /// `--version` under one of [`NAMES`] (the name given): print [`version_text`].
    Version(String),
}

/// The subcommand `program` (argv[0]) stands for, when its basename is one of [`NAMES`].
pub fn subcommand_for(program: &OsStr) -> Option<(&'static str, &'static str)> {
    let base = Path::new(program).file_name()?.to_str()?;
    NAMES.iter().copied().find(|(name, _)| *name == base)
}

/// Translates argv: under one of Ansible's names, `NAME ARGS...` becomes
/// `baton SUBCOMMAND ARGS...`; any other argv is baton's own and is left as it is.
pub fn argv(mut argv: Vec<OsString>) -> Invocation {
    let Some((name, sub)) = argv.first().and_then(|p| subcommand_for(p)) else {
        return Invocation::Baton(argv);
    };
    // Ansible's tools answer `--version` wherever it stands; `ansible-vault --version` too.
    if argv.iter().skip(1).any(|a| a == "--version") {
        return Invocation::Version(name.to_string());
    }
    argv[0] = OsString::from("baton");
    argv.insert(1, OsString::from(sub));
    Invocation::Baton(argv)
}

/// `--version` under an Ansible name: the first line in ansible's shape, then baton's own.
pub fn version_text(name: &str) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    format!(
        "{name} [core {ANSIBLE_CORE_COMPAT}]\n  baton version = {}\n  executable location = {exe}\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn ansible_names_become_subcommands() {
        assert_eq!(
            argv(os(&[
                "/usr/local/bin/ansible-playbook",
                "-i",
                "inv",
                "x.yml",
                "-v"
            ])),
            Invocation::Baton(os(&["baton", "play", "-i", "inv", "x.yml", "-v"]))
        );
        assert_eq!(
            argv(os(&["ansible", "all", "-m", "ping"])),
            Invocation::Baton(os(&["baton", "run", "all", "-m", "ping"]))
        );
        assert_eq!(
            argv(os(&["./ansible-inventory", "--list"])),
            Invocation::Baton(os(&["baton", "inventory", "--list"]))
        );
        assert_eq!(
            argv(os(&["ansible-vault", "view", "f"])),
            Invocation::Baton(os(&["baton", "vault", "view", "f"]))
        );
    }

    #[test]
    fn other_names_are_baton() {
        for a in [
            os(&["baton", "play", "x.yml"]),
            os(&["/opt/ansible-playbook-wrapper", "x.yml"]),
            os(&["ansible-config", "dump"]),
            os(&[]),
        ] {
            assert_eq!(argv(a.clone()), Invocation::Baton(a));
        }
    }

    #[test]
    fn version_in_ansibles_shape() {
        assert_eq!(
            argv(os(&["ansible-playbook", "--version"])),
            Invocation::Version("ansible-playbook".into())
        );
        let text = version_text("ansible");
        assert!(
            text.starts_with(&format!("ansible [core {ANSIBLE_CORE_COMPAT}]\n")),
            "{text}"
        );
        assert!(text.contains("baton version = "), "{text}");
    }
}
