//! `env`, `vars` and `config`: values by name, from the controller's environment, the
//! variables of the task, and the settings baton knows.

use super::{Ctx, LResult, LookupError, str_terms};
use crate::template::filters::py_str;
use crate::value::Value;
use minijinja::value::Kwargs;

pub(super) fn env_lookup(terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    // An undefined default (`undef()`, a missing variable) is kept as it is, not taken as
    // "no default".
    let default = match kwargs.has("default") {
        true => kwargs.get::<Value>("default")?,
        false => Value::from(""),
    };
    Ok(str_terms(terms)?
        .into_iter()
        .map(|t| match std::env::var(&t) {
            Ok(v) => origin(Value::from(v), &t),
            // `default=undef()` becomes "not set" (a hint of its own stays).
            Err(_) if default.is_undefined() => {
                if crate::template::peek_undefined_hint().as_deref()
                    == Some(super::globals::UNDEF_DEFAULT)
                {
                    crate::template::note_undefined(format!(
                        "The environment variable '{t}' is not set."
                    ));
                }
                Value::UNDEFINED
            }
            // The default is tagged too: ansible-core tags whatever `os.environ.get` gave.
            Err(_) => origin(default.clone(), &t),
        })
        .collect())
}

/// A value the env lookup gives for the variable `name`, with its origin recorded.
fn origin(v: Value, name: &str) -> Value {
    crate::value::origin::tagged(v, format!("<environment variable '{name}'>"))
}

pub(super) fn vars(ctx: &Ctx, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    let default: Option<Value> = kwargs.get("default")?;
    let mut out = Vec::new();
    for term in terms {
        let Some(name) = term.as_str() else {
            return Err(LookupError(format!(
                "Invalid setting identifier, \"{}\" is not a string, it is a {}",
                py_str(term),
                crate::template::filters::py_type(term)
            )));
        };
        match ctx.state.lookup(name) {
            Some(v) if !v.is_undefined() => {
                // A variable whose template fails is an error value: surface it.
                v.clone().try_iter().ok();
                out.push(v);
            }
            _ => match &default {
                Some(d) => out.push(d.clone()),
                None => {
                    return Err(LookupError(format!(
                        "No variable named '{name}' was found."
                    )));
                }
            },
        }
    }
    Ok(out)
}

/// `config`: settings by their ansible-core names (only those baton knows; any other is an
/// error rather than a made-up value).
pub(super) fn config(terms: &[Value]) -> LResult<Vec<Value>> {
    str_terms(terms)?
        .into_iter()
        .map(|t| {
            let settings = crate::template::settings();
            match t.as_str() {
                "ALLOW_BROKEN_CONDITIONALS" => {
                    Some(Value::from(settings.allow_broken_conditionals))
                }
                "DEFAULT_MANAGED_STR" => Some(Value::from(settings.ansible_managed())),
                "DEFAULT_PRIVATE_ROLE_VARS" => {
                    Some(Value::from(settings.private_role_vars.unwrap_or(false)))
                }
                _ => None,
            }
            .ok_or_else(|| LookupError(format!("Unable to find setting {t}")))
        })
        .collect()
}
