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
//! ansible-core 2.19 does not trust vaulted text as a template either) and registered with
//! [`crate::vault::mask`], so that reporters print `********` where it shows up. Each value decrypts
//! once; the plaintext is cached in the object.
//!
//! Printed without being templated (`baton inventory --list`), a vaulted value is shown as
//! ansible-inventory shows it: `{"__ansible_vault": "<ciphertext>"}` (see [`to_json`]).

use crate::diagnostics::Error;
use crate::value::Value;
use minijinja::value::{Object, ObjectRepr};
use std::sync::{Arc, OnceLock};

/// A `!vault` scalar: the ciphertext, where it was written, and its plaintext once decrypted.
pub struct VaultedString {
    ciphertext: String,
    /// `file:line:col` of the value, for errors.
    origin: String,
    plaintext: OnceLock<String>,
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
        if let Some(p) = self.plaintext.get() {
            return Ok(p);
        }
        let keyring = crate::vault::keyring();
        let opened = keyring.decrypt(
            self.ciphertext.as_bytes(),
            &format!("the vaulted value at {}", self.origin),
        )?;
        let text = String::from_utf8_lossy(&opened.plaintext).into_owned();
        crate::vault::mask::register(&text);
        Ok(self.plaintext.get_or_init(|| text))
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

/// A value for a `!vault` scalar written at `origin`.
pub fn vaulted(ciphertext: &str, origin: &str) -> Value {
    Value::from_object(VaultedString::new(ciphertext, origin))
}

/// Whether a value is a not-yet-decrypted `!vault` scalar.
pub fn is_vaulted(v: &Value) -> bool {
    v.downcast_object_ref::<VaultedString>().is_some()
}

/// The plaintext of a `!vault` value as a (safe, never-templated) string; `None` when `v` is
/// something else.
pub fn reveal(v: &Value) -> Option<Result<Value, Error>> {
    let vs = v.downcast_object_ref::<VaultedString>()?;
    Some(
        vs.plaintext()
            .map(|p| Value::from_safe_string(p.to_string())),
    )
}

/// JSON for a value that is still encrypted, as ansible-inventory prints it.
pub fn to_json(v: &Value) -> Option<serde_json::Value> {
    let vs = v.downcast_object_ref::<VaultedString>()?;
    Some(serde_json::json!({ "__ansible_vault": vs.ciphertext() }))
}
