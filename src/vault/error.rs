//! The vault room's error: what went wrong reading passwords or opening vault data. It never
//! holds a plaintext or a password.
//!
//! vault sits below every other room and imports none of them (`tests/architecture.rs` keeps
//! it so), so it has this small error of its own, like [`super::format::FormatError`]. Where
//! vault meets the rest of baton, `value::vaulted` turns it into the one error type
//! (`diagnostics::Error`), kind for kind, so that callers just use `?`.

/// What kind of failure, which decides the exit status once it is a `diagnostics::Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Vault data that cannot be decrypted, a password source that fails.
    Vault,
    /// Bad use of the password flags.
    Usage,
    /// A file to decrypt does not exist.
    NotFound,
    /// Reading a file failed.
    Io,
}

/// A vault failure: its kind and a one-line message.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
