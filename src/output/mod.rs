//! Output: turning the executor's events into what a person or a program reads.
//!
//! [`human::Human`] writes Ansible's familiar PLAY / TASK / ok / changed / fatal lines and the
//! PLAY RECAP; [`json::JsonLines`] writes one JSON object per event for CI systems;
//! [`adhoc::Adhoc`] writes `baton run`'s `host | CHANGED | rc=0 >>` lines. Questions for the
//! operator ([`prompt`]) and log lines ([`log`]) go through here too, so that nothing tears a
//! progress bar.

pub mod adhoc;
pub mod custom_stats;
pub mod diff;
pub mod human;
pub mod json;
pub mod junit;
pub mod listing;
pub mod log;
pub mod options;
pub mod profile;
pub mod progress;
pub mod prompt;
pub mod recorded;
pub mod report;

/// A warning of a command without an event stream (`baton inventory`, `baton template`, what
/// reading the vault passwords found) and of `baton run`'s output: `[WARNING]: ...` on
/// stderr, as ansible's CLIs print it, with the run's secrets masked. A run's warnings are
/// `Event::Warning`s, which each reporter renders; this is the same text for the rest.
/// ansible-core's `strip_internal_keys`, as callbacks show a result: every key that starts
/// with `_ansible_`, at any depth, is left out (`_ansible_facts_gathered` in `ansible_facts`).
pub fn strip_internal_keys(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            o.retain(|k, _| !k.starts_with("_ansible_"));
            o.values_mut().for_each(strip_internal_keys);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_internal_keys),
        _ => {}
    }
}

/// A result as callbacks show it: none of its own `_ansible*` keys (`_ansible_no_log`,
/// `_ansible_verbose_always`, ...), and no `_ansible_` key inside its values.
pub fn strip_result_internal_keys(o: &mut serde_json::Map<String, serde_json::Value>) {
    o.retain(|k, _| !k.starts_with("_ansible"));
    o.values_mut().for_each(strip_internal_keys);
}

pub fn warn_stderr(masker: &crate::vault::Masker, text: &str) {
    // A deprecation says so itself, as on the executor's warning path.
    if text.starts_with("[DEPRECATION WARNING]") {
        eprintln!("{}", masker.mask(text));
    } else {
        eprintln!("[WARNING]: {}", masker.mask(text));
    }
}
