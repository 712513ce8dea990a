//! What a user sees when the input is wrong: a clear message pointing at file, line and column
//! with a caret, ansible-playbook's exit status, and never a panic.

mod common;

use common::{baton_bin, describe, run_baton};
use std::path::{Path, PathBuf};

/// [`run_baton`] with settings in the environment.
fn run_baton_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(baton_bin())
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run baton: {e}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hosts"), "h1 ansible_connection=local\n").unwrap();
    dir
}

fn play(dir: &Path, text: &str) -> std::process::Output {
    std::fs::write(dir.join("play.yml"), text).unwrap();
    run_baton(["play", "play.yml", "-i", "hosts"], dir)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_indentation_points_at_the_line_with_a_caret() {
    let dir = scratch("indent");
    let out = play(
        &dir,
        "- hosts: all\n  tasks:\n    - name: x\n      debug:\n        msg: hi\n     bad: indent\n",
    );
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("play.yml:6:6"), "{err}");
    assert!(err.contains(" 6 |      bad: indent\n"), "{err}");
    assert!(err.contains("|      ^"), "{err}");
}

#[test]
fn unknown_play_keyword_is_named_with_its_place() {
    let dir = scratch("keyword");
    let out = play(
        &dir,
        "- hosts: all\n  gather_facts: false\n  taks:\n    - debug: msg=hi\n",
    );
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("'taks' is not a valid attribute for a Play"),
        "{err}"
    );
    assert!(err.contains("play.yml:3:3"), "{err}");
    assert!(err.contains("^^^^"), "{err}");
}

#[test]
fn unknown_module_names_the_task_and_the_module() {
    let dir = scratch("module");
    let out = play(
        &dir,
        "- hosts: all\n  tasks:\n    - name: Install the thing\n      instal_pkg: name=x\n",
    );
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("couldn't resolve module/action 'instal_pkg'"),
        "{err}"
    );
    assert!(err.contains("Install the thing"), "{err}");
    assert!(err.contains("play.yml:4:7"), "{err}");
}

#[test]
fn missing_playbook_and_bad_option_use_ansibles_exit_codes() {
    let dir = scratch("exit");
    let out = run_baton(["play", "nope.yml", "-i", "hosts"], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stderr(&out).contains("the playbook: nope.yml could not be found"));
    let out = run_baton(["play", "--no-such-option", "x.yml"], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn bad_inventory_line_points_at_it() {
    let dir = scratch("inv");
    std::fs::write(dir.join("bad.ini"), "[web]\nweb[1:x].example.com\n").unwrap();
    std::fs::write(dir.join("play.yml"), "- hosts: all\n  tasks: []\n").unwrap();
    // As Ansible: a source no parser reads is a warning (with baton's location in it), and the
    // run goes on with what was read.
    let out = run_baton(["play", "play.yml", "-i", "bad.ini"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // (A run's warnings go through its reporter, on standard output.)
    let err = String::from_utf8_lossy(&out.stdout).into_owned() + &stderr(&out);
    assert!(
        err.contains("[WARNING]: Failed to parse inventory with 'ini' plugin"),
        "{err}"
    );
    assert!(err.contains("bad.ini:2:1"), "{err}");
    assert!(err.contains("Unable to parse "), "{err}");
    assert!(
        err.contains("No inventory was parsed, only implicit localhost is available"),
        "{err}"
    );
    // Told that an unparsed inventory is a failure, it is one: exit status 1, at the line.
    for setting in [
        "ANSIBLE_INVENTORY_UNPARSED_FAILED",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED",
    ] {
        let out = run_baton_env(
            &["play", "play.yml", "-i", "bad.ini"],
            &dir,
            &[(setting, "true")],
        );
        assert_eq!(out.status.code(), Some(1), "{setting}: {}", describe(&out));
        let err = stderr(&out);
        assert!(err.contains("bad.ini:2:1"), "{err}");
        // Ansible's own wording for the part of the range that is not a number.
        assert!(err.contains("'x'"), "{err}");
        assert!(err.contains(" 2 | web[1:x].example.com"), "{err}");
    }
}

#[test]
fn undefined_variable_fails_the_task_with_its_name_and_place() {
    let dir = scratch("undef");
    let out = play(
        &dir,
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: use it\n      debug:\n        msg: \"{{ hostvars['h1'].missing }}\"\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hostvars['h1'].missing"), "{text}");
    assert!(text.contains("play.yml:4:7"), "{text}");
}

/// Truncations and byte flips of a valid playbook: every one gets an answer, none a panic.
#[test]
fn mangled_playbooks_never_panic() {
    let dir = scratch("mangle");
    let good = "- name: p\n  hosts: all\n  gather_facts: false\n  vars:\n    a: [1, {b: c}]\n  tasks:\n    - name: t\n      debug: msg=\"{{ a }}\"\n      when: a | length > 1\n      loop: \"{{ a }}\"\n    - block:\n        - command: echo hi\n      rescue:\n        - debug: var=a\n";
    let bytes = good.as_bytes();
    let mut cases: Vec<Vec<u8>> = (0..bytes.len())
        .step_by(7)
        .map(|n| bytes[..n].to_vec())
        .collect();
    for (i, flip) in [b'"', b'{', b':', b'-', b' ', b'[', b'\t', 0xff]
        .iter()
        .enumerate()
    {
        for pos in (i * 5..bytes.len()).step_by(23) {
            let mut v = bytes.to_vec();
            v[pos] = *flip;
            cases.push(v);
        }
    }
    for case in &cases {
        std::fs::write(dir.join("play.yml"), case).unwrap();
        let out = run_baton(["play", "--syntax-check", "play.yml", "-i", "hosts"], &dir);
        let err = stderr(&out);
        assert!(
            matches!(out.status.code(), Some(0 | 1 | 4)),
            "input {:?}\n{}",
            String::from_utf8_lossy(case),
            describe(&out)
        );
        assert!(
            !err.contains("panicked"),
            "input {:?}\n{err}",
            String::from_utf8_lossy(case)
        );
    }
}

#[test]
fn add_host_under_the_free_strategy_is_refused_with_its_place() {
    // ansible-core 2.19 refuses it the same way, with exit status 1.
    let dir = scratch("add-host-free");
    let out = play(
        &dir,
        "- hosts: all\n  gather_facts: false\n  strategy: free\n  tasks:\n    - debug: msg=before\n    - add_host: name=x\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("The 'add_host' module bypasses the host loop, which is currently not supported in the free strategy"),
        "{err}"
    );
    assert!(err.contains("play.yml:6:7"), "{err}");
}

#[test]
fn an_unknown_strategy_is_named_with_its_place() {
    let dir = scratch("bad-strategy");
    let out = play(
        &dir,
        "- hosts: all\n  gather_facts: false\n  strategy: lineal\n  tasks:\n    - debug: msg=x\n",
    );
    assert_ne!(out.status.code(), Some(0), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Invalid play strategy specified: lineal"),
        "{err}"
    );
    assert!(err.contains("play.yml:3:"), "{err}");
}
