//! Any bytes as YAML, read both ways baton reads YAML: as structure (the alias budget applies)
//! and as data (aliases stay shared), then made into variables, looked into for templates and
//! read as a YAML inventory. Alias bombs are the point (see fuzz/seeds/yaml): every step must
//! answer in time and memory proportional to the text, never to what the aliases stand for, and
//! never panic or overflow the stack.
#![no_main]

use baton::diagnostics::Source;
use baton::inventory::Inventory;
use baton::value::{self, Value};
use baton::yaml::{self, Aliases};
use libfuzzer_sys::fuzz_target;

/// What may be written out in full: a value made of fewer values than this.
const WRITABLE: u64 = 10_000;

fn exercise(v: &Value) {
    // The template search looks into each shared collection once.
    let _ = baton::template::needs_templating(v);
    if value::count_values(v, WRITABLE) < WRITABLE {
        let _ = value::to_json(v).to_string();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = Source::new("fuzz.yml", text);
    match yaml::load(&source, Aliases::Budgeted) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                assert!(w.contains("fuzz.yml:"), "a warning without its place: {w}");
            }
            let mut inv = Inventory::default();
            if baton::inventory::yaml::parse(&loaded.node, &mut inv).is_ok() {
                inv.finish();
                for h in inv.hosts.keys().take(4) {
                    for v in inv.host_vars(h).values() {
                        exercise(v);
                    }
                }
            }
        }
        // An error points into the text and renders (with its caret) without panicking.
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match yaml::load(&source, Aliases::Shared) {
        Ok(loaded) => match value::vars_from_node(&loaded.node) {
            Some(vars) => vars.values().for_each(exercise),
            None => exercise(&value::from_node(&loaded.node)),
        },
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
