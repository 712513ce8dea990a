//! Facts that real content reads, gathered on the same fleet host by ansible-core and by baton
//! and compared: `ansible_local` from /etc/ansible/facts.d (files written into the container
//! with docker exec: INI, JSON, an executable, a failing script, bad INI, a dangling link) and
//! from a play's `fact_path`, the interpreter facts (`ansible_python`), and `ansible_mounts`.

mod common;
mod system_support;

use common::{Fleet, describe};
use serde_json::Value as Json;
use system_support::{scratch, sh};

/// The facts one tool gathered, as the play wrote them on the host.
fn gathered(tool: &str, fleet: &Fleet, dir: &std::path::Path, host: &str) -> Json {
    let _ = sh(fleet, host, "rm -f /tmp/bfacts.json");
    // `auto` in the inventory's place: both tools discover the interpreter (the shared
    // helper gives ansible-playbook ANSIBLE_PYTHON_INTERPRETER, baton nothing).
    let r = common::play_on_host(
        tool,
        dir,
        &fleet.inventory_path(),
        host,
        &["-e", "ansible_python_interpreter=auto"],
        &[],
    );
    assert!(r.status.success(), "{tool} failed: {}", describe(&r));
    let text = sh(fleet, host, "cat /tmp/bfacts.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{tool}: facts not JSON ({e}): {text}"))
}

/// Each mount's fixed attributes (not what changes while the host runs: free space).
fn mounts(facts: &Json) -> Vec<String> {
    let mut out: Vec<String> = facts["mounts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    let f = |k: &str| m.get(k).cloned().unwrap_or(Json::Null).to_string();
                    [
                        "mount",
                        "device",
                        "fstype",
                        "options",
                        "dump",
                        "passno",
                        "block_size",
                    ]
                    .iter()
                    .chain(["block_total", "size_total", "inode_total", "uuid"].iter())
                    .map(|k| format!("{k}={}", f(k)))
                    .collect::<Vec<_>>()
                    .join(" ")
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn local_python_and_mount_facts_match_ansible() {
    let fleet = Fleet::dedicated("baton-facts", 1);
    let host = fleet.hosts()[0].name.clone();
    let setup = r#"set -e
mkdir -p /etc/ansible/facts.d /tmp/custom_facts.d
cd /etc/ansible/facts.d
printf '[general]\nBar = loaded\nlist = one\n   two\n[DEFAULT]\nroot = /srv\n[paths]\nhome = %%(root)s/h\n' > prefs.fact
printf '{"answer": 42, "list": [1, "two", null]}\n' > data.fact
printf '#!/bin/sh\necho "{\\"ran\\": true}"\n' > script.fact
printf '#!/bin/sh\necho broken >&2\nexit 2\n' > failing.fact
chmod 755 script.fact failing.fact
printf '[bad]\nv = 50%% off\n' > badini.fact
printf 'no header\n' > noheader.fact
ln -sf /nonexistent/baton dead.fact
printf '{"fact_dir": "custom"}' > /tmp/custom_facts.d/where.fact
"#;
    let out = fleet.exec(&host, setup);
    assert!(
        out.status.success(),
        "writing the facts.d files failed: {out:?}"
    );
    let dir = scratch("facts-local");
    std::fs::write(
        dir.join("play.yml"),
        "- hosts: fleet\n  gather_facts: true\n  tasks:\n    - copy: {content: \"{{ ansible_facts | to_json }}\", dest: /tmp/bfacts.json}\n",
    )
    .unwrap();
    let a = gathered("ansible", &fleet, &dir, &host);
    let b = gathered("baton", &fleet, &dir, &host);
    let mut problems = Vec::new();
    if a["ansible_local"] != b["ansible_local"] {
        problems.push(format!(
            "local: ansible {} / baton {}",
            a["ansible_local"], b["ansible_local"]
        ));
    }
    if a["ansible_local"]["prefs"]["paths"]["home"] != "/srv/h" {
        problems.push(format!(
            "ansible read prefs.fact as {}",
            a["ansible_local"]["prefs"]
        ));
    }
    for k in [
        "version",
        "version_info",
        "type",
        "has_sslcontext",
        "executable",
    ] {
        if a["python"][k] != b["python"][k] || a["python"][k].is_null() {
            problems.push(format!(
                "python.{k}: ansible {} / baton {}",
                a["python"][k], b["python"][k]
            ));
        }
    }
    for k in ["python_version", "discovered_interpreter_python"] {
        if a.get(k) != b.get(k) || a.get(k).is_none() {
            problems.push(format!(
                "{k}: ansible {:?} / baton {:?}",
                a.get(k),
                b.get(k)
            ));
        }
    }
    let (ma, mb) = (mounts(&a), mounts(&b));
    if ma != mb || ma.is_empty() {
        problems.push(format!("mounts:\nansible {ma:#?}\nbaton {mb:#?}"));
    }

    // A play's fact_path (and gather_subset) reach the implicit gathering.
    std::fs::write(
        dir.join("play.yml"),
        "- hosts: fleet\n  gather_facts: true\n  fact_path: /tmp/custom_facts.d\n  gather_subset: ['!all']\n  tasks:\n    - copy: {content: \"{{ ansible_facts | to_json }}\", dest: /tmp/bfacts.json}\n",
    )
    .unwrap();
    let a = gathered("ansible", &fleet, &dir, &host);
    let b = gathered("baton", &fleet, &dir, &host);
    if a["ansible_local"] != b["ansible_local"]
        || a["ansible_local"]["where"]["fact_dir"] != "custom"
    {
        problems.push(format!(
            "fact_path: ansible {} / baton {}",
            a["ansible_local"], b["ansible_local"]
        ));
    }
    if a.get("mounts").is_some() || b.get("mounts").is_some() {
        problems.push("gather_subset ['!all'] gathered mounts".into());
    }
    assert!(
        problems.is_empty(),
        "facts differ:\n{}",
        problems.join("\n")
    );
}
