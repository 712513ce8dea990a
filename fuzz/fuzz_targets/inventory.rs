//! Any bytes as an INI inventory: parsed, variables layered, patterns selected; never a panic.
#![no_main]

use baton::inventory::Inventory;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Inventory::from_ini("fuzz.ini", text) {
        Ok(inv) => {
            for h in inv.hosts.keys().take(8) {
                let _ = inv.host_vars(h);
            }
            let _ = inv.get_hosts("all:!web:&db[0:2]", None);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
