//! `slurp` and `getent`, differentially: one playbook under ansible-playbook (the oracle) on
//! one fresh host and under baton on another, for real and in check mode (both modules read
//! and change nothing, so both runs must report the same). The registered result of every
//! task, the facts getent set (under `ansible_facts` and as variables of their own name) and
//! the recap must be equal.
//!
//! Not compared: a list or mapping given for a text parameter (ansible-core turns it into its
//! Python text, baton's argument check refuses it, as for every module) and a bad boolean
//! (ansible-core's message ends with the valid spellings in a random order).
//!
//! These two modules were added the way DESIGN.md's "A module declares itself" says: one file
//! each (src/modules/slurp.rs, src/modules/getent.rs) and one line in the registry.
//!
//! `ansible-playbook` must be on PATH (tests/run.sh puts ansible-core 2.19.14 from .venv-test
//! there); without it this test fails, it never skips.

mod common;

use common::{Fleet, describe, play_on_host, recap};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::Path;

/// A task: its register name and its YAML (indented as a task of the play).
struct Task {
    name: &'static str,
    yaml: &'static str,
}

/// Keys never compared: Ansible's internals, and the Python traceback of a failed slurp.
const IGNORED: &[&str] = &["invocation", "exception", "_ansible_no_log"];

const TASKS: &[Task] = &[
    Task {
        name: "slurp_text",
        yaml: "slurp: src=/tmp/bmid/text.txt",
    },
    Task {
        name: "slurp_binary_by_alias",
        yaml: "ansible.builtin.slurp: {path: /tmp/bmid/bin.dat}",
    },
    Task {
        name: "slurp_empty",
        yaml: "slurp: {src: /tmp/bmid/empty}",
    },
    Task {
        name: "slurp_link",
        yaml: "slurp: {src: /tmp/bmid/link}",
    },
    Task {
        name: "slurp_missing",
        yaml: "slurp: {src: /tmp/bmid/nope}",
    },
    Task {
        name: "slurp_dir",
        yaml: "slurp: {src: /tmp/bmid}",
    },
    Task {
        name: "slurp_unreadable",
        yaml: "slurp: {src: /tmp/bmid/secret}\n      become: true\n      become_user: deploy",
    },
    Task {
        name: "slurp_as_deploy",
        yaml: "slurp: {src: /tmp/bmid/text.txt}\n      become: true\n      become_user: deploy",
    },
    Task {
        name: "slurp_tilde",
        yaml: "slurp: {src: ~/.bmid-home}",
    },
    Task {
        name: "slurp_tilde_user",
        yaml: "slurp: {src: ~deploy/.bmid-deploy}",
    },
    Task {
        name: "slurp_env",
        yaml: "slurp: {src: \"$HOME/.bmid-home\"}",
    },
    Task {
        name: "slurp_env_braces_unset",
        yaml: "slurp: {src: \"/tmp/bmid/${BMID_UNSET}x\"}",
    },
    Task {
        name: "slurp_no_src",
        yaml: "slurp: {}",
    },
    Task {
        name: "slurp_unknown_param",
        yaml: "slurp: {src: /tmp/bmid/text.txt, colour: red}",
    },
    Task {
        name: "getent_passwd_root",
        yaml: "getent: {database: passwd, key: root}",
    },
    Task {
        name: "getent_group",
        yaml: "ansible.builtin.getent: \"database=group split=:\"",
    },
    Task {
        name: "getent_hosts_localhost",
        yaml: "getent: {database: hosts, key: localhost}",
    },
    Task {
        name: "getent_missing_key_ok",
        yaml: "getent: {database: passwd, key: nosuchuser, fail_key: false}",
    },
    Task {
        name: "getent_missing_key",
        yaml: "getent: {database: group, key: nosuchgroup}",
    },
    Task {
        name: "getent_unknown_db",
        yaml: "getent: {database: nosuchdb}",
    },
    Task {
        name: "getent_split_other",
        yaml: "getent: {database: passwd, key: deploy, split: 'x'}",
    },
    Task {
        name: "getent_no_database",
        yaml: "getent: {key: root}",
    },
];

/// What the play shows of the facts getent set, once the tasks ran.
const FACTS: &str = "'facts': {'passwd_var': getent_passwd | default('undefined'), \
     'passwd_fact': ansible_facts.getent_passwd | default('undefined'), \
     'group_root': ansible_facts.getent_group.root | default('undefined'), \
     'hosts': getent_hosts | default('undefined')}";

fn playbook() -> String {
    let mut p =
        String::from("- hosts: fleet\n  gather_facts: false\n  ignore_errors: true\n  tasks:\n");
    for t in TASKS {
        p.push_str(&format!(
            "    - name: {}\n      {}\n      register: r_{}\n",
            t.name, t.yaml, t.name
        ));
    }
    let mut entries: Vec<String> = TASKS
        .iter()
        .map(|t| format!("'{0}': r_{0}", t.name))
        .collect();
    entries.push(FACTS.to_string());
    p.push_str(&format!(
        "    - name: dump\n      copy:\n        content: \"{{{{ {{{}}} | to_json }}}}\"\n        dest: /tmp/bmid-results.json\n      check_mode: false\n",
        entries.join(", ")
    ));
    p
}

/// Replaces the host's name and drops what cannot be compared.
fn normalize(v: &Json, host: &str) -> Json {
    match v {
        Json::String(s) => Json::String(s.replace(host, "HOST")),
        Json::Array(a) => Json::Array(a.iter().map(|x| normalize(x, host)).collect()),
        Json::Object(m) => Json::Object(
            m.iter()
                // `failed: false` is what Ansible adds to a registered result that did not fail.
                .filter(|(k, x)| {
                    let not_failed = *k == "failed" && **x == Json::Bool(false);
                    !IGNORED.contains(&k.as_str()) && !not_failed
                })
                .map(|(k, x)| (k.clone(), normalize(x, host)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn results(fleet: &Fleet, host: &str) -> BTreeMap<String, Json> {
    common::json_results(fleet, host, "/tmp/bmid-results.json")
}

fn run(
    tool: &str,
    dir: &Path,
    inventory: &Path,
    host: &str,
    flags: &[&str],
) -> std::process::Output {
    play_on_host(tool, dir, inventory, host, flags, &[])
}

#[test]
fn slurp_and_getent_match_ansible_playbook() {
    let fleet = Fleet::dedicated("baton-mid", 2);
    let hosts: Vec<String> = fleet.hosts().iter().map(|h| h.name.clone()).collect();
    let (ha, hb) = (hosts[0].clone(), hosts[1].clone());
    let dir = std::env::temp_dir().join(format!("baton-mid-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("play.yml"), playbook()).unwrap();
    // The same files on both hosts: text, bytes that are not UTF-8 (and a NUL), an empty
    // file, a link, a file only root reads, files in root's and deploy's homes.
    for h in &hosts {
        let out = fleet.exec(
            h,
            "mkdir -p /tmp/bmid && cd /tmp/bmid && printf 'hello\\nworld\\n' > text.txt && \
             printf '\\000\\377\\376abc\\n\\r' > bin.dat && : > empty && ln -sf text.txt link && \
             printf 'secret\\n' > secret && chmod 0600 secret && chmod 0644 text.txt && \
             printf 'home\\n' > /root/.bmid-home && \
             printf 'deploy home\\n' > /home/deploy/.bmid-deploy && \
             install -d -o deploy -g deploy -m 0700 /home/deploy/.ansible /home/deploy/.ansible/tmp",
        );
        assert!(out.status.success(), "files on {h}: {}", describe(&out));
    }
    let inventory = fleet.inventory_path();
    let mut failures = Vec::new();
    for (run_name, flags) in [("real", &[][..]), ("check", &["--check"][..])] {
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| run("ansible", &dir, &inventory, &ha, flags));
            let b = s.spawn(|| run("baton", &dir, &inventory, &hb, flags));
            (a.join().unwrap(), b.join().unwrap())
        });
        let (sa, sb) = (
            String::from_utf8_lossy(&a.stdout).into_owned(),
            String::from_utf8_lossy(&b.stdout).into_owned(),
        );
        println!(
            "== {run_name}: ansible-playbook\n{}\n== {run_name}: baton\n{}",
            describe(&a),
            describe(&b)
        );
        if recap(&sa, &ha) != recap(&sb, &hb) {
            failures.push(format!(
                "{run_name}: recap differs: ansible {} / baton {}",
                recap(&sa, &ha),
                recap(&sb, &hb)
            ));
        }
        let (ra, rb) = (results(&fleet, &ha), results(&fleet, &hb));
        let names = TASKS.iter().map(|t| t.name).chain(["facts"]);
        for name in names {
            let x = normalize(&ra[name], &ha);
            let y = normalize(&rb[name], &hb);
            if x != y {
                failures.push(format!(
                    "{run_name}: {name} differs:\n  ansible: {x}\n  baton:   {y}"
                ));
            }
        }
        // The run must have done what the tasks say: content read, facts set.
        let text = rb["slurp_text"]["content"].as_str().unwrap_or("");
        if text != "aGVsbG8Kd29ybGQK" {
            failures.push(format!("{run_name}: baton read {text:?} for text.txt"));
        }
        let root = &rb["getent_passwd_root"]["ansible_facts"]["getent_passwd"]["root"];
        if root[0] != Json::String("x".into()) {
            failures.push(format!("{run_name}: getent read no root entry: {root}"));
        }
        if rb["facts"]["passwd_var"] == Json::String("undefined".into()) {
            failures.push(format!(
                "{run_name}: getent_passwd is not set: {}",
                rb["facts"]
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} difference(s) from ansible-playbook:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
