//! Any bytes as a playbook: the YAML loader and the playbook model must answer with a value or
//! an error that points into the text, never panic.
#![no_main]

use baton::diagnostics::Source;
use baton::playbook::load::{Loader, parse_plays};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loader = Loader::for_playbook(&std::env::temp_dir().join("fuzz.yml"));
    let source = Source::new("fuzz.yml", text);
    if let Err(e) = parse_plays(&source, &loader) {
        // Rendering the error (with its caret) must not panic either.
        let _ = e.to_string();
    }
});
