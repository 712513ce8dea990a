//! The filters and tests of `ansible._protomatter`, the collection ansible-core 2.19 ships for
//! its own tests of data tagging: `origin` (where a value came from) and `tagged_with` (whether
//! a value carries a tag). baton answers them from its value model: a string is trusted as a
//! template unless it is marked as data ([`crate::value::untrusted`]), an origin is known for
//! the values [`crate::value::origin`] records, a vaulted value is one that `!vault` made.

use crate::value::Value;
use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind};

/// The collection's name, before each plugin's.
const COLLECTION: &str = "ansible._protomatter";

/// Registers the collection's filters and tests under their full names.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter(format!("{COLLECTION}.origin"), origin);
    env.add_test(format!("{COLLECTION}.tagged_with"), tagged_with);
}

/// The value's origin as ansible-core writes it, or None.
fn origin(v: Value) -> Value {
    crate::value::origin::of(&v).map_or(Value::from(()), Value::from)
}

/// Whether the value carries the tag named (ansible-core's tag class names).
fn tagged_with(v: Value, tag: String) -> Result<bool, Error> {
    Ok(match tag.as_str() {
        // Only strings are ever trusted as templates.
        "TrustedAsTemplate" => v.kind() == ValueKind::String && !v.is_safe(),
        "Origin" => crate::value::origin::of(&v).is_some(),
        "VaultedValue" => crate::value::vaulted::is_vault_encrypted(&v),
        // Tags baton's values never carry.
        "SourceWasEncrypted" | "Deprecated" | "_JinjaConstTemplate" => false,
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("Unknown tag name '{other}'."),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::template::render_str;
    use crate::value::{Value, map};

    #[test]
    fn trust_is_what_the_playbook_wrote_and_what_variables_pass_on() {
        let ctx = map([
            ("plain", Value::from("bar")),
            ("data", crate::value::untrusted(Value::from("{{ x }}"))),
            ("x", Value::from(1)),
        ]);
        let t = |e: &str| {
            render_str(
                &format!("{{{{ {e} is ansible._protomatter.tagged_with('TrustedAsTemplate') }}}}"),
                &ctx,
            )
            .unwrap()
            .is_true()
        };
        assert!(t("plain"));
        assert!(!t("data"));
        assert!(!t("x"), "only strings");
        // A string a template made is not the playbook's.
        let made = render_str("{{ 'b' ~ 'ar' }}", &ctx).unwrap();
        assert!(made.is_safe());
        let err = render_str("{{ 1 is ansible._protomatter.tagged_with('Nope') }}", &ctx);
        assert!(
            err.unwrap_err()
                .message
                .contains("Unknown tag name 'Nope'.")
        );
    }
}
