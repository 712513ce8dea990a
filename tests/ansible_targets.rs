//! ansible-core's own integration targets as a conformance tier (oracle): the executor targets
//! listed in `tests/ansible_targets/listed.txt` run through `tests/ansible_targets/harness.py`
//! (as `ansible-test integration` runs them, once under ansible-core, once under baton
//! answering to `ansible-playbook` & co.), and a target that passes under ansible-core must pass
//! under baton, unless `tests/ansible_targets/known_failures.txt` names it with a reason. A
//! target in that list that passes now fails the test too, so the list only shrinks.
//!
//! Needs ansible-core 2.19.14 on PATH (tests/run.sh puts .venv-test/bin there) and, the first
//! time, network access to PyPI for the sdist (cached under ~/.cache/baton). Full logs of each
//! run are left in target/ansible-targets/logs/. `BATON_TARGETS_JOBS` and
//! `BATON_TARGETS_TIMEOUT` (seconds per target and tool) tune the run.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    common::repo_root().join("tests/ansible_targets")
}

/// The names of a list file: the first word of each line, `#` comments and blank lines left out.
fn names(path: &Path) -> Vec<String> {
    list(path).into_keys().collect()
}

/// A list file as name -> the rest of its line.
fn list(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (name.to_string(), reason.trim().to_string())
        })
        .collect()
}

/// The Python of the ansible-core on PATH (its virtualenv's, which has pip and ansible).
fn oracle_python() -> PathBuf {
    let playbook = common::ansible_playbook();
    let python = playbook.with_file_name("python");
    assert!(
        python.exists(),
        "no python next to {}: the harness runs with the Python of ansible-core's virtualenv \
         (tests/run.sh creates .venv-test)",
        playbook.display()
    );
    python
}

#[test]
fn known_failures_name_listed_targets_with_a_reason() {
    let listed = names(&dir().join("listed.txt"));
    assert!(!listed.is_empty(), "listed.txt names no target");
    for (name, reason) in list(&dir().join("known_failures.txt")) {
        assert!(
            listed.contains(&name),
            "known_failures.txt names {name}, which is not in listed.txt"
        );
        assert!(
            !reason.is_empty(),
            "known_failures.txt: {name} needs a reason"
        );
    }
}

#[test]
fn listed_targets_pass_under_baton_as_under_ansible_core() {
    let results_path = common::repo_root().join("target/ansible-targets/ci-results.json");
    let _ = std::fs::remove_file(&results_path);
    let status = Command::new(oracle_python())
        .arg(dir().join("harness.py"))
        .arg("--baton")
        .arg(common::baton_bin())
        .arg("--results")
        .arg(&results_path)
        .current_dir(common::repo_root())
        .status()
        .expect("cannot run tests/ansible_targets/harness.py");
    assert!(status.success(), "the harness itself failed: {status}");
    let text = std::fs::read_to_string(&results_path)
        .unwrap_or_else(|e| panic!("no results at {}: {e}", results_path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("results are JSON");
    let listed = names(&dir().join("listed.txt"));
    let known = list(&dir().join("known_failures.txt"));
    let status_of = |r: &serde_json::Value, tool: &str| {
        r[tool]["status"].as_str().unwrap_or("not run").to_string()
    };
    let mut problems = Vec::new();
    let mut table = String::new();
    let results = json["results"].as_array().expect("results list");
    for r in results {
        let name = r["target"].as_str().unwrap_or_default().to_string();
        let (a, b) = (status_of(r, "ansible"), status_of(r, "baton"));
        // Why ansible-core failed (the target is not applicable), else where baton diverged.
        let note = r["ansible_reason"]
            .as_str()
            .or(r["divergence"].as_str())
            .unwrap_or("");
        table.push_str(&format!(
            "{name:20} ansible-core {a:8} baton {b:8} {note}\n"
        ));
        let log = r["baton"]["log"].as_str().unwrap_or("");
        match (a == "pass", b == "pass", known.contains_key(&name)) {
            (true, false, false) => problems.push(format!(
                "{name} passes under ansible-core but fails under baton: {note}\n    log: {log}"
            )),
            (true, true, true) => problems.push(format!(
                "{name} passes under baton now: remove it from tests/ansible_targets/known_failures.txt"
            )),
            _ => {}
        }
    }
    for name in &listed {
        if !results.iter().any(|r| r["target"] == name.as_str()) {
            problems.push(format!("{name}: no result from the harness"));
        }
    }
    eprintln!("ansible-core's integration targets:\n{table}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
