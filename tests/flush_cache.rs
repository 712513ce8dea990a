//! `--flush-cache`: the jsonfile fact cache is cleared for every host of the inventory (whatever
//! `--limit` says) before the run, as ansible-playbook does. The cache is written by
//! ansible-playbook itself (`set_fact` with `cacheable`), so both tools read the same files,
//! and both tools' flushes are compared on the same setup.

mod common;

use common::describe;
use std::path::{Path, PathBuf};
use std::process::Command;

const CFG: &str = "[defaults]\nfact_caching = jsonfile\nfact_caching_connection = ./cache\n\
                   fact_caching_timeout = 0\ngathering = explicit\nretry_files_enabled = false\n";

const SEED: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - set_fact:\n        \
                    marker: \"cached-{{ inventory_hostname }}\"\n        cacheable: true\n";

const SHOW: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        \
                    msg: \"marker={{ ansible_facts.marker | default('none') }}\"\n";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-flush-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python3");
    let python = std::fs::canonicalize(&python).unwrap_or(python);
    let hosts: String = ["a", "b"]
        .iter()
        .map(|h| {
            format!(
                "{h} ansible_connection=local ansible_python_interpreter={}\n",
                python.display()
            )
        })
        .collect();
    std::fs::write(dir.join("hosts"), hosts).unwrap();
    std::fs::write(dir.join("ansible.cfg"), CFG).unwrap();
    std::fs::write(dir.join("seed.yml"), SEED).unwrap();
    std::fs::write(dir.join("show.yml"), SHOW).unwrap();
    dir
}

fn ansible(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("ansible-playbook")
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_HOME", dir.join(".ansible"))
        .output()
        .expect(
            "ansible-playbook must be on PATH (tests/run.sh installs ansible-core into .venv-test)",
        )
}

fn baton(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["play"];
    all.extend_from_slice(args);
    Command::new(common::baton_bin())
        .args(&all)
        .current_dir(dir)
        .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The `marker=` messages a run printed, sorted (hosts answer in any order).
fn markers(out: &std::process::Output) -> Vec<String> {
    let mut m: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"msg\": \""))
        .map(|l| l.trim_end_matches('"').to_string())
        .collect();
    m.sort();
    m
}

fn cached_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("cache"))
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn flush_cache_forgets_every_inventory_host_like_ansible_playbook() {
    let dir = scratch("both");
    // The cache, written by the oracle.
    let seed = ansible(&dir, &["-i", "hosts", "seed.yml"]);
    assert!(seed.status.success(), "{}", describe(&seed));
    let seeded = cached_files(&dir);
    assert_eq!(
        seeded.len(),
        2,
        "ansible-playbook wrote no cache: {seeded:?}"
    );

    // Without the flag both tools see the cached facts.
    let b = baton(&dir, &["-i", "hosts", "show.yml"]);
    assert!(b.status.success(), "{}", describe(&b));
    assert_eq!(
        markers(&b),
        ["marker=cached-a", "marker=cached-b"],
        "{}",
        describe(&b)
    );
    let a = ansible(&dir, &["-i", "hosts", "show.yml"]);
    assert_eq!(markers(&a), markers(&b), "{}", describe(&a));
    assert_eq!(cached_files(&dir), seeded);

    // baton --flush-cache --limit a: both hosts' entries are gone, a sees none.
    let b = baton(
        &dir,
        &["-i", "hosts", "--flush-cache", "--limit", "a", "show.yml"],
    );
    assert!(b.status.success(), "{}", describe(&b));
    assert_eq!(markers(&b), ["marker=none"], "{}", describe(&b));
    assert!(cached_files(&dir).is_empty(), "{:?}", cached_files(&dir));

    // ansible-playbook does the same on the same cache.
    let seed = ansible(&dir, &["-i", "hosts", "seed.yml"]);
    assert!(seed.status.success(), "{}", describe(&seed));
    assert_eq!(cached_files(&dir), seeded);
    let a = ansible(
        &dir,
        &["-i", "hosts", "--flush-cache", "--limit", "a", "show.yml"],
    );
    assert_eq!(markers(&a), markers(&b), "{}", describe(&a));
    assert!(cached_files(&dir).is_empty(), "{:?}", cached_files(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}
