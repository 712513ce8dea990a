//! JUnit XML compared with ansible-core's junit callback on the same playbook (local
//! connection, two hosts, `serial: 1`): the same test cases, names, classnames, statuses,
//! messages and dumped results, in the same layout. Only what differs between any two runs
//! is normalised: each `time` attribute and the command's `start`/`end`/`delta`.
//! `--junit FILE` writes the same document to the file given.

mod common;

use common::describe;
use std::path::{Path, PathBuf};
use std::process::Command;

const PLAY: &str = r#"- name: checks
  hosts: all
  gather_facts: false
  serial: 1
  tasks:
    - name: say
      debug:
        msg: "hello {{ inventory_hostname }}"
    - name: run a command
      command: echo hi
    - name: hidden
      command: echo hidden
      no_log: true
    - name: conditional
      debug: msg=x
      when: inventory_hostname == 'nobody'
    - name: tolerated
      command: /bin/false
      ignore_errors: true
    - name: escape <config> & "quote"
      command: echo '<a> & "b"'
    - name: fails on b
      fail:
        msg: "no good on {{ inventory_hostname }}"
      when: inventory_hostname == 'b'
"#;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-junit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Both hosts on the local connection, ansible-core's modules run by the oracle's Python.
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python3");
    let python = std::fs::canonicalize(&venv).unwrap_or(venv);
    let line = |h: &str| {
        format!(
            "{h} ansible_connection=local ansible_python_interpreter={}\n",
            python.display()
        )
    };
    std::fs::write(dir.join("hosts"), line("a") + &line("b")).unwrap();
    std::fs::write(dir.join("play.yml"), PLAY).unwrap();
    dir
}

/// The one XML file in `dir`, with times and the command's clock fields normalised.
fn junit_in(dir: &Path) -> String {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    let stamp = name
        .strip_prefix("play-")
        .and_then(|n| n.strip_suffix(".xml"))
        .unwrap_or_else(|| panic!("not PLAYBOOK-TIME.xml: {name}"));
    assert!(stamp.parse::<f64>().is_ok(), "{name}");
    normalise(&std::fs::read_to_string(&files[0]).unwrap())
}

fn normalise(xml: &str) -> String {
    let time = regex::Regex::new(r#"time="[0-9.]+""#).unwrap();
    let clock = regex::Regex::new(r"&quot;(delta|end|start)&quot;: &quot;[^&]*&quot;").unwrap();
    let xml = time.replace_all(xml, "time=\"T\"");
    clock.replace_all(&xml, "$1").into_owned()
}

#[test]
fn junit_files_match_ansible_cores_junit_callback() {
    let dir = scratch();
    let ansible = Command::new(common::ansible_playbook())
        .args(["-i", "hosts", "play.yml"])
        .current_dir(&dir)
        .env("ANSIBLE_CALLBACKS_ENABLED", "junit")
        .env("JUNIT_OUTPUT_DIR", dir.join("ansible"))
        .env("ANSIBLE_HOME", dir.join(".ansible"))
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap();
    assert_eq!(ansible.status.code(), Some(2), "{}", describe(&ansible));
    let baton = Command::new(common::baton_bin())
        .args(["play", "-i", "hosts", "play.yml"])
        .current_dir(&dir)
        .env("ANSIBLE_CALLBACKS_ENABLED", "ansible.builtin.junit")
        .env("JUNIT_OUTPUT_DIR", dir.join("baton"))
        .output()
        .unwrap();
    assert_eq!(baton.status.code(), Some(2), "{}", describe(&baton));
    let expected = junit_in(&dir.join("ansible"));
    assert_eq!(junit_in(&dir.join("baton")), expected);
    // The case counts, so that a change in both tools cannot pass unnoticed.
    assert!(
        expected.contains("errors=\"1\" failures=\"0\" name=\"play\" skipped=\"3\" tests=\"14\""),
        "{expected}"
    );

    // The flag: a file of that name, the same document.
    let flag = Command::new(common::baton_bin())
        .args(["play", "-i", "hosts", "play.yml", "--junit", "ci/junit.xml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(flag.status.code(), Some(2), "{}", describe(&flag));
    let file = std::fs::read_to_string(dir.join("ci/junit.xml")).unwrap();
    assert_eq!(normalise(&file), expected);
    let _ = std::fs::remove_dir_all(&dir);
}
