//! baton as a multi-call binary: the built binary, linked into a scratch directory under the
//! names `ansible-playbook`, `ansible`, `ansible-inventory` and `ansible-vault`, answers as
//! `baton play`, `baton run`, `baton inventory` and `baton vault` with ansible's argv shape,
//! found through PATH as scripts find ansible's commands.

mod common;

use common::{baton_bin, describe};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch directory with `bin/` holding the four links to the baton binary, and an
/// inventory of one local host.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-multicall-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    for link in [
        "ansible-playbook",
        "ansible",
        "ansible-inventory",
        "ansible-vault",
    ] {
        std::os::unix::fs::symlink(baton_bin(), dir.join("bin").join(link)).unwrap();
    }
    std::fs::write(
        dir.join("hosts"),
        "[testgroup]\ntesthost ansible_connection=local\n",
    )
    .unwrap();
    dir
}

/// Runs `name args...` in `dir` with only `dir/bin` and the system's directories on PATH, so
/// the name resolves to the link (never to an ansible-core that may be installed).
fn run(dir: &Path, name: &str, args: &[&str]) -> Output {
    Command::new(name)
        .args(args)
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", dir.join("bin").display()),
        )
        .env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name} from {}: {e}", dir.display()))
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ansible_playbook_runs_a_play_with_ansible_playbooks_flags() {
    let dir = scratch("play");
    std::fs::write(
        dir.join("site.yml"),
        "- hosts: testhost\n  gather_facts: no\n  tasks:\n    - debug:\n        msg: \"{{ greeting }} from {{ inventory_hostname }}\"\n",
    )
    .unwrap();
    let out = run(
        &dir,
        "ansible-playbook",
        &["-i", "hosts", "site.yml", "-e", "greeting=hello", "-v"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = text(&out);
    assert!(stdout.contains("TASK [debug]"), "{stdout}");
    assert!(
        stdout.contains("\"msg\": \"hello from testhost\""),
        "{stdout}"
    );
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
    // A failing play keeps ansible-playbook's exit status.
    std::fs::write(
        dir.join("fail.yml"),
        "- hosts: testhost\n  gather_facts: no\n  tasks:\n    - fail: msg=boom\n",
    )
    .unwrap();
    let out = run(&dir, "ansible-playbook", &["fail.yml", "-i", "hosts"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn ansible_runs_a_module_ad_hoc() {
    let dir = scratch("adhoc");
    let out = run(&dir, "ansible", &["testhost", "-i", "hosts", "-m", "ping"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = text(&out);
    assert!(stdout.contains("testhost | SUCCESS"), "{stdout}");
    assert!(stdout.contains("\"ping\": \"pong\""), "{stdout}");
    // The pattern after the flags, and the default module (command).
    let out = run(
        &dir,
        "ansible",
        &["-i", "hosts", "-a", "echo multicall", "all"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out).contains("multicall"), "{}", describe(&out));
}

#[test]
fn ansible_inventory_lists_the_inventory() {
    let dir = scratch("inventory");
    // -v as ansible-inventory takes it (runme.sh scripts pass it).
    let out = run(&dir, "ansible-inventory", &["-v", "-i", "hosts", "--list"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // At -v, ansible-inventory first says which config file it uses (on stdout, as ansible's).
    let body: String = text(&out)
        .lines()
        .filter(|l| !l.starts_with("No config file found") && !l.starts_with("Using "))
        .collect::<Vec<_>>()
        .join("\n");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| {
        panic!(
            "ansible-inventory --list is not JSON ({e}): {}",
            describe(&out)
        )
    });
    assert_eq!(
        list["testgroup"]["hosts"],
        serde_json::json!(["testhost"]),
        "{list}"
    );
    let out = run(&dir, "ansible-inventory", &["-i", "hosts", "--graph"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out).contains("@testgroup:"), "{}", describe(&out));
}

#[test]
fn ansible_vault_encrypts_and_views() {
    let dir = scratch("vault");
    std::fs::write(dir.join("pass"), "s3cret\n").unwrap();
    std::fs::write(dir.join("secret.yml"), "token: abc123\n").unwrap();
    let out = run(
        &dir,
        "ansible-vault",
        &["encrypt", "secret.yml", "--vault-password-file", "pass"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let sealed = std::fs::read_to_string(dir.join("secret.yml")).unwrap();
    assert!(sealed.starts_with("$ANSIBLE_VAULT;1.1;AES256"), "{sealed}");
    let out = run(
        &dir,
        "ansible-vault",
        &["view", "--vault-password-file", "pass", "secret.yml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(text(&out), "token: abc123\n");
}

#[test]
fn version_answers_in_ansibles_shape() {
    let dir = scratch("version");
    for name in [
        "ansible-playbook",
        "ansible",
        "ansible-inventory",
        "ansible-vault",
    ] {
        let out = run(&dir, name, &["--version"]);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let first = text(&out).lines().next().unwrap_or_default().to_string();
        assert_eq!(
            first,
            format!("{name} [core 2.19.14]"),
            "{}",
            describe(&out)
        );
        assert!(text(&out).contains("baton version"), "{}", describe(&out));
    }
    // Under its own name baton is baton.
    let out = Command::new(baton_bin()).arg("--version").output().unwrap();
    assert!(text(&out).starts_with("baton "), "{}", describe(&out));
}
