//! Inline `!vault` values: decrypted when used, not when read.
//!
//! `value::from_node` turns a `!vault |` scalar into a [`VaultedString`]. Reading a playbook or
//! inventory therefore needs no password (`--syntax-check`, `--list-hosts` and a play that
//! never touches the value work without one), and a value for a vault id nobody gave fails only
//! where it is used, with the place it was written, as in ansible-core.
//!
//! "Used" is when templating reaches the value: `template::render_value` (which variable scopes,
//! module arguments and conditionals all go through) calls [`reveal`], which decrypts it with
//! the run's keyring into a plain string. The plaintext is marked safe (never templated again:
//! ansible-core 2.19 does not trust vaulted text as a template either) and registered with the
//! keyring's masker ([`crate::vault::Keyring::reveal`]), so that reporters print `********`
//! where it shows up. Each value decrypts
//! once; the plaintext is cached in the object.
//!
//! Printed without being templated (`baton inventory --list`), a vaulted value is shown as
//! ansible-inventory shows it: `{"__ansible_vault": "<ciphertext>"}` (see [`to_json`]).

use crate::diagnostics::Error;
use crate::value::Value;
use minijinja::value::{Object, ObjectRepr};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

/// A `!vault` scalar: the ciphertext, where it was written, and its plaintext once decrypted.
pub struct VaultedString {
    ciphertext: String,
    /// `file:line:col` of the value, for errors.
    origin: String,
    /// The plaintext as one safe string value, made once: every use shares its text, which is
    /// how a revealed value is still known to be vaulted (see [`is_vaulted`]).
    plaintext: OnceLock<Value>,
}

impl std::fmt::Debug for VaultedString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the plaintext, even in debug output.
        write!(f, "VaultedString({})", self.origin)
    }
}

impl VaultedString {
    pub fn new(ciphertext: impl Into<String>, origin: impl Into<String>) -> VaultedString {
        VaultedString {
            ciphertext: ciphertext.into(),
            origin: origin.into(),
            plaintext: OnceLock::new(),
        }
    }

    pub fn ciphertext(&self) -> &str {
        &self.ciphertext
    }

    /// The plaintext, decrypting with the run's keyring the first time.
    pub fn plaintext(&self) -> Result<&str, Error> {
        Ok(self.revealed()?.as_str().unwrap_or_default())
    }

    /// The plaintext as a safe string value, always the same one (its text registered in
    /// [`REVEALED`] while this value lives).
    fn revealed(&self) -> Result<&Value, Error> {
        if let Some(p) = self.plaintext.get() {
            return Ok(p);
        }
        let text = crate::vault::keyring().reveal(
            self.ciphertext.as_bytes(),
            &format!("the vaulted value at {}", self.origin),
        )?;
        Ok(self.plaintext.get_or_init(|| {
            let v = Value::from_safe_string(text);
            revealed_set().insert(text_address(&v));
            v
        }))
    }
}

impl Drop for VaultedString {
    fn drop(&mut self) {
        if let Some(v) = self.plaintext.get() {
            revealed_set().remove(&text_address(v));
        }
    }
}

/// The addresses of the texts of revealed `!vault` values whose [`VaultedString`] lives.
/// A string value's clones share its text, so a plaintext that is only passed on (a variable,
/// `set_fact`, `register`) keeps its address and is still known to be vaulted, as ansible-core
/// keeps its `VaultedValue` tag; anything made from it (`v | upper`, `v ~ ''`) is a new text
/// and is plain. An entry leaves with its `VaultedString`, so a reused address is never
/// mistaken for one.
static REVEALED: OnceLock<Mutex<HashSet<usize>>> = OnceLock::new();

fn revealed_set() -> std::sync::MutexGuard<'static, HashSet<usize>> {
    REVEALED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Where a string value's text lives (0 for anything else, or an empty text, never listed).
fn text_address(v: &Value) -> usize {
    match v.as_str() {
        Some(s) if !s.is_empty() => s.as_ptr() as usize,
        _ => 0,
    }
}

impl Object for VaultedString {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.plaintext().is_ok_and(|p| !p.is_empty())
    }

    /// Stringifying an unrevealed value (a path that bypassed templating) gives the plaintext,
    /// as Python's `str()` of Ansible's `EncryptedString` does; it is registered for masking.
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.plaintext() {
            Ok(p) => f.write_str(p),
            Err(_) => Err(std::fmt::Error),
        }
    }
}

/// The vault room's error as the one error type, kind for kind (vault imports no other room,
/// so the conversion lives here, where vault meets the rest).
impl From<crate::vault::Error> for Error {
    fn from(e: crate::vault::Error) -> Error {
        use crate::diagnostics::ErrorKind;
        let kind = match e.kind {
            crate::vault::ErrorKind::Vault => ErrorKind::Vault,
            crate::vault::ErrorKind::Usage => ErrorKind::Usage,
            crate::vault::ErrorKind::NotFound => ErrorKind::NotFound,
            crate::vault::ErrorKind::Io => ErrorKind::Io,
        };
        Error::new(kind, e.message)
    }
}

/// A value for a `!vault` scalar written at `origin`.
pub fn vaulted(ciphertext: &str, origin: &str) -> Value {
    Value::from_object(VaultedString::new(ciphertext, origin))
}

/// Whether a value is a not-yet-decrypted `!vault` scalar.
pub fn is_vaulted(v: &Value) -> bool {
    v.downcast_object_ref::<VaultedString>().is_some()
}

/// Whether a value is a `!vault` scalar, not yet decrypted or its plaintext passed on as it
/// is (ansible's `vault_encrypted` test, its `VaultedValue` tag).
pub fn is_vault_encrypted(v: &Value) -> bool {
    is_vaulted(v)
        || (v.is_safe() && {
            let at = text_address(v);
            at != 0 && revealed_set().contains(&at)
        })
}

/// The plaintext of a `!vault` value as a (safe, never-templated) string; `None` when `v` is
/// something else.
pub fn reveal(v: &Value) -> Option<Result<Value, Error>> {
    let vs = v.downcast_object_ref::<VaultedString>()?;
    Some(vs.revealed().cloned())
}

/// The ciphertext of a still-encrypted `!vault` value.
pub fn ciphertext(v: &Value) -> Option<String> {
    v.downcast_object_ref::<VaultedString>()
        .map(|vs| vs.ciphertext().to_string())
}

/// Why a `!vault` value cannot be decrypted (no or a wrong password), if it cannot: such a
/// value reached from a template stays as it is, Ansible's `VaultExceptionMarker`, and fails
/// only where it is used (printed, compared as text); `type_debug` names it.
pub fn undecryptable(v: &Value) -> Option<Error> {
    v.downcast_object_ref::<VaultedString>()?.plaintext().err()
}

/// JSON for a value that is still encrypted, as ansible-inventory prints it.
pub fn to_json(v: &Value) -> Option<serde_json::Value> {
    let vs = v.downcast_object_ref::<VaultedString>()?;
    Some(serde_json::json!({ "__ansible_vault": vs.ciphertext() }))
}

#[cfg(test)]
mod tests {
    use crate::diagnostics::{Error, ErrorKind};

    #[test]
    fn a_vault_error_becomes_the_one_error_type_kind_for_kind() {
        let e: Error = crate::vault::Error::new(crate::vault::ErrorKind::Vault, "no key").into();
        assert_eq!(
            (e.kind, e.message.as_str(), e.exit_code()),
            (ErrorKind::Vault, "no key", 1)
        );
        let e: Error = crate::vault::Error::new(crate::vault::ErrorKind::Usage, "flags").into();
        assert_eq!(e.kind, ErrorKind::Usage);
        let e: Error = crate::vault::Error::new(crate::vault::ErrorKind::NotFound, "gone").into();
        assert_eq!(e.kind, ErrorKind::NotFound);
    }
}
