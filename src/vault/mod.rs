//! Ansible Vault: reading and writing encrypted files and values, and keeping secrets out of
//! baton's output.
//!
//! - [`format`]: the `$ANSIBLE_VAULT;1.1;AES256` / `1.2;AES256;LABEL` format (PBKDF2-HMAC-SHA256,
//!   AES-256-CTR, HMAC-SHA256), byte-compatible with ansible-vault.
//! - [`keyring`]: vault passwords from prompts, files, scripts and `--vault-id label@source`, and
//!   which one opens what.
//! - [`value`]: inline `!vault` values, decrypted lazily when templating uses them.
//! - [`mask`]: the [`Masker`], where every decrypted secret is registered, and which printers
//!   use to replace it by `********`.
//! - [`error`]: this room's own error (vault imports no other room of baton).
//!
//! Where decryption happens, as in ansible-core: every YAML file baton reads (vars files,
//! `group_vars/`/`host_vars/`, `vars_files`, `include_vars`, even playbooks and task files) is
//! decrypted by `value::read_source` when it starts with `$ANSIBLE_VAULT;` (through
//! [`decrypt_if_vaulted`]); inline `!vault` values when used (`value::vaulted`); files that
//! modules and lookups copy or render through [`read_maybe_encrypted`]. The `baton vault`
//! command lives in `cli::vault`.
//!
//! # The run's keyring
//!
//! Decryption needs the passwords deep inside loaders (`Source::read` is called from a dozen
//! places that have no run context) and in values that live in variable scopes. Threading a
//! keyring through every loader and every `Value` would touch most of the crate for one datum
//! that never changes during a run. So the CLI [`install`]s the keyring once, at startup, after
//! reading the password flags and before loading anything; everything else reads it with
//! [`keyring`]. It is set once and never mutated (a `OnceLock`), which keeps the spirit of "no
//! global mutable state": it is configuration, like the process's arguments. Code that has a
//! keyring at hand (the `baton vault` command, tests) uses [`keyring::Keyring`] directly.
//!
//! The masking registry is *not* global: it is a [`Masker`] value that the CLI makes, gives to
//! the keyring it installs (`Keyring::with_masker`) and to every printer. Whatever this keyring
//! reveals is registered with it ([`Keyring::reveal`]); a vaulted vars file's values are
//! registered through [`Keyring::masker`] as they become variables.
//!
//! Errors: a wrong password or modified data is one line naming the file (or `file:line:col` of
//! an inline value) and the vault id; nothing is written and no plaintext is shown.

pub mod error;
pub mod format;
pub mod keyring;
pub mod mask;
pub(crate) mod prompt;

pub use error::{Error, ErrorKind};
pub use keyring::Keyring;
pub use mask::Masker;

use std::path::Path;
use std::sync::{Arc, OnceLock};

static KEYRING: OnceLock<Arc<Keyring>> = OnceLock::new();

/// Makes `keyring` the run's keyring. Only the first call has an effect (it is set at startup);
/// returns whether this call installed it.
pub fn install(keyring: Keyring) -> bool {
    KEYRING.set(Arc::new(keyring)).is_ok()
}

/// The run's keyring; empty when no password was given (decrypting then says how to give one).
pub fn keyring() -> Arc<Keyring> {
    static EMPTY: OnceLock<Arc<Keyring>> = OnceLock::new();
    KEYRING
        .get()
        .cloned()
        .unwrap_or_else(|| EMPTY.get_or_init(|| Arc::new(Keyring::default())).clone())
}

/// Whether data is vault-encrypted.
pub fn is_encrypted(data: &[u8]) -> bool {
    format::is_encrypted(data)
}

/// Whether a file starts with the vault header (reads only that much of it).
pub fn file_is_encrypted(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; format::HEADER.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| is_encrypted(&head))
}

/// For `value::read_source`: the plaintext of a vault-encrypted file and `true`, or the bytes as they
/// are and `false`. The file's values are registered for masking when they become variables
/// (`value::vars_from_node`), not here, so that the lines of a vaulted playbook are not.
pub fn decrypt_if_vaulted(path: &Path, bytes: Vec<u8>) -> Result<(Vec<u8>, bool), Error> {
    if !is_encrypted(&bytes) {
        return Ok((bytes, false));
    }
    let keyring = keyring();
    let opened = keyring.decrypt(&bytes, &path.display().to_string())?;
    Ok((opened.plaintext, true))
}

/// A file's content, decrypted if it is vault-encrypted: for `copy`/`template` sources and
/// lookups, which Ansible decrypts on the controller before anything goes to the host. The
/// plaintext of an encrypted file is registered for masking (whole and line by line).
pub fn read_maybe_encrypted(path: &Path) -> Result<Vec<u8>, Error> {
    let bytes = std::fs::read(path).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Io
        };
        Error::new(kind, format!("cannot read {}: {e}", path.display()))
    })?;
    if !is_encrypted(&bytes) {
        return Ok(bytes);
    }
    let keyring = keyring();
    let opened = keyring.decrypt(&bytes, &path.display().to_string())?;
    keyring
        .masker()
        .register(&String::from_utf8_lossy(&opened.plaintext));
    Ok(opened.plaintext)
}
