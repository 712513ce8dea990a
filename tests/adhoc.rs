//! Ad-hoc mode (`baton run`) against `ansible` (the oracle) on the same fleet host: what a user
//! reads on stdout, and the exit status, must agree.
//!
//! Not compared, on purpose: `raw` (Ansible's output carries OpenSSH's "Shared connection to
//! ... closed." from its pseudo-terminal) and unreachable hosts (the reason is worded by the
//! transport: OpenSSH's words there, baton's here).
//!
//! `ansible` must be on PATH (tests/run.sh puts .venv-test/bin there):
//! `PATH=$PWD/.venv-test/bin:$PATH cargo test --test adhoc`

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn ansible() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("ansible"))
                .find(|p| p.is_file())
        })
        .expect(
            "ansible is not on PATH: this test compares baton with it. Run tests/run.sh, or \
             PATH=$PWD/.venv-test/bin:$PATH",
        )
}

/// An inventory of one shared-fleet host, with the Python interpreter named so that Ansible
/// adds no `discovered_interpreter_python` fact (baton has no interpreter to discover).
fn inventory(dir: &Path) -> PathBuf {
    let fleet = common::Fleet::shared();
    let host = &fleet.hosts()[0];
    let inv = dir.join("inv.ini");
    std::fs::write(
        &inv,
        format!(
            "target ansible_host=127.0.0.1 ansible_port={} ansible_user=root \
             ansible_ssh_private_key_file={} ansible_host_key_checking=false \
             ansible_python_interpreter=/usr/bin/python3 \
             ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n",
            host.port,
            fleet.key_path().display()
        ),
    )
    .unwrap();
    inv
}

fn run(program: &Path, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "False")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

#[test]
fn baton_run_prints_what_ansible_prints() {
    let dir = std::env::temp_dir().join(format!("baton-adhoc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let inv = inventory(&dir);
    let inv = inv.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["-m", "shell", "-a", "echo out; echo err >&2"],
        &["-m", "shell", "-a", "printf 'a\\nb\\n'; exit 3"],
        &["-m", "command", "-a", "echo one line"],
        &["-m", "command", "-a", "echo one line", "-o"],
        &["-m", "ping"],
        &["-m", "ping", "-o"],
        &["-m", "fail", "-a", "msg=boom"],
        &["-m", "debug", "-a", "msg=hello"],
    ];
    let mut differences = Vec::new();
    for case in cases {
        let mut args = vec!["target", "-i", inv];
        args.extend_from_slice(case);
        let oracle = run(&ansible(), &args, &dir);
        let mut baton_args = vec!["run"];
        baton_args.extend_from_slice(&args);
        let ours = run(&common::baton_bin(), &baton_args, &dir);
        let (a, b) = (
            String::from_utf8_lossy(&oracle.stdout),
            String::from_utf8_lossy(&ours.stdout),
        );
        if a != b || oracle.status.code() != ours.status.code() {
            differences.push(format!(
                "baton run {}:\n--- ansible ({:?}) ---\n{a}--- baton ({:?}) ---\n{b}--- baton stderr ---\n{}",
                case.join(" "),
                oracle.status.code(),
                ours.status.code(),
                String::from_utf8_lossy(&ours.stderr)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
