//! Hostile input on the controller (issue 16): a planted ansible.cfg, terminal escapes in a
//! file's text, inventories that add up to millions of hosts, ranges past minijinja's cap.
//! None needs a fleet: everything here happens before or without a connection.

mod common;

use common::{Scratch, describe, run_baton};
use std::os::unix::fs::PermissionsExt;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn an_ansible_cfg_in_a_world_writable_directory_is_ignored_with_ansibles_warning() {
    let dir = Scratch::new("hard", "cfg");
    let d = dir.path();
    // The planted file would swap the inventory (it could as well turn off host key checking).
    std::fs::write(
        d.join("ansible.cfg"),
        "[defaults]\ninventory = planted.ini\n",
    )
    .unwrap();
    std::fs::write(d.join("planted.ini"), "planted-host\n").unwrap();
    std::fs::write(
        d.join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks: []\n",
    )
    .unwrap();
    let list_as = |output: &str| {
        std::process::Command::new(common::baton_bin())
            .args(["play", "play.yml", "--list-hosts", "--output", output])
            .current_dir(d)
            .env_remove("ANSIBLE_CONFIG")
            .env("HOME", d.join("no-home"))
            .output()
            .unwrap()
    };
    let list = || list_as("human");

    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = list();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("planted-host"),
        "the planted ansible.cfg was used:\n{}",
        describe(&out)
    );
    let want = format!(
        "[WARNING]: Ansible is being run in a world writable directory ({}), ignoring it as an ansible.cfg source.",
        d.display()
    );
    // A warning like every other of a run: through the reporter, which prints it with the
    // others (on stdout, as baton's human output does) ...
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&want),
        "{}",
        describe(&out)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("world writable"),
        "printed beside the event stream:\n{}",
        describe(&out)
    );
    // ... or writes it as a warning event in JSON lines.
    let out = list_as("json");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let message = want.trim_start_matches("[WARNING]: ");
    assert!(
        events.iter().any(|e| e["event"] == "warning"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(message))),
        "{}",
        describe(&out)
    );

    // The same file in a directory only its owner writes is the user's own: it applies.
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = list();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("planted-host"),
        "{}",
        describe(&out)
    );
    assert!(!text(&out).contains("world writable"), "{}", describe(&out));
}

#[test]
fn terminal_escapes_and_bad_bytes_in_input_are_shown_escaped() {
    let dir = Scratch::new("hard", "esc");
    let d = dir.path();
    // An inventory line with an ESC sequence (clear screen, set the window title) and a bad
    // host pattern, and a playbook with invalid UTF-8 after an ESC sequence.
    std::fs::write(
        d.join("hosts"),
        b"[web]\nok1\n\x1b[2J\x1b]0;owned\x07bad[1:x host\n".as_slice(),
    )
    .unwrap();
    std::fs::write(
        d.join("play.yml"),
        b"- hosts: all\n  tasks:\n    - debug: msg=\"\x1b[31mred\xff\xfe\"\n".as_slice(),
    )
    .unwrap();
    // (An inventory no parser reads is only a warning, as in Ansible, unless told otherwise:
    // the escapes must be shown escaped either way.)
    let strict_inventory = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["inventory", "-i", "hosts", "--list"])
        .current_dir(d)
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    for (out, fails) in [
        (run_baton(["inventory", "-i", "hosts", "--list"], d), false),
        (strict_inventory, true),
        (run_baton(["play", "play.yml", "-i", "localhost,"], d), true),
    ] {
        let all = text(&out);
        assert_eq!(out.status.code() != Some(0), fails, "{}", describe(&out));
        assert!(
            !all.contains('\x1b') && !all.contains('\x07'),
            "raw control characters reached the terminal: {all:?}"
        );
        assert!(all.contains("\\x1b"), "the escape is not shown: {all:?}");
    }
}

#[test]
fn host_ranges_that_add_up_past_a_million_hosts_are_refused_with_their_place() {
    let dir = Scratch::new("hard", "ranges");
    let d = dir.path();
    // Each range alone is within the per-range cap; together they are not.
    std::fs::write(
        d.join("hosts"),
        "[a]\na[0:599999]\n[b]\nb[0:599999]\n[c]\nc[0:599999]\n",
    )
    .unwrap();
    let out = run_baton(["inventory", "-i", "hosts", "--graph"], d);
    let all = text(&out);
    assert_ne!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(all.contains("more than 1000000 hosts"), "{all}");
    assert!(all.contains("hosts:4"), "no line number: {all}");
}

#[test]
fn range_goes_past_minijinjas_hundred_thousand() {
    let dir = Scratch::new("hard", "range");
    let d = dir.path();
    std::fs::write(
        d.join("play.yml"),
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    \
         - debug:\n        msg: \"{{ range(250000) | sum }} {{ range(10, 0, -3) | list }}\"\n",
    )
    .unwrap();
    let out = run_baton(["play", "play.yml"], d);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"msg\": \"31249875000 [10, 7, 4, 1]\""),
        "{}",
        describe(&out)
    );
}
