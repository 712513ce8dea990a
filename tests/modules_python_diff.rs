//! Modules baton does not implement natively, run as the real Ansible Python modules (issue 20),
//! differentially: one playbook of ansible.builtin modules under ansible-playbook (the oracle)
//! on one fresh host and under baton on another. Compared: the recap of a check-mode run, of a
//! real run and of a second real run (which must change nothing), the state the real run left
//! on each host (read by docker exec), and what the modules returned (facts included).
//! Then a host without Python: a fallback module fails with a clear message, and a native
//! module still runs.
//!
//! `ansible-playbook` must be on PATH (tests/run.sh puts ansible-core 2.19.14 from .venv-test
//! there): baton finds and packages the modules with the same ansible-core. Without it this
//! test fails, it never skips.

mod common;

use common::{Fleet, describe, play_on_host, recap};
use serde_json::Value as Json;
use std::path::Path;

const KEY: &str =
    "example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

fn playbook() -> String {
    format!(
        r#"- hosts: fleet
  gather_facts: false
  tasks:
    - name: fragments (native)
      shell: cd /tmp/bpy/frag && for f in a.txt b.txt c.log; do echo $f > $f; done
      args:
        creates: /tmp/bpy/frag/c.log
      check_mode: false
    - name: tempfile
      tempfile:
        state: directory
        suffix: .bpy
      register: r_tempfile
      changed_when: false
    - name: find
      find:
        paths: /tmp/bpy/frag
        patterns: "*.txt"
      register: r_find
    - name: assemble
      assemble:
        src: /tmp/bpy/frag
        dest: /tmp/bpy/assembled
        mode: "0640"
      register: r_assemble
    - name: known_hosts
      known_hosts:
        path: /tmp/bpy/known_hosts
        name: example.org
        key: "{KEY}"
      register: r_known_hosts
    - name: debconf
      debconf:
        name: tzdata
        question: tzdata/Areas
        value: Europe
        vtype: select
      register: r_debconf
    - name: dpkg_selections
      dpkg_selections:
        name: sudo
        selection: hold
      register: r_dpkg
    - name: service_facts
      service_facts:
      register: r_services
    - name: package_facts
      package_facts:
        manager: auto
      register: r_packages
      ignore_errors: true
    - name: mount_facts
      mount_facts:
      register: r_mounts
    - name: deb822_repository
      deb822_repository:
        name: bpy
        uris: http://deb.example.org/debian
        suites: bookworm
        components: main
        enabled: false
      register: r_deb822
      ignore_errors: true
    - name: find with an unknown option (the module's own check)
      find:
        paths: /tmp/bpy
        nope: 1
      register: r_bad
      ignore_errors: true
    - name: dump
      copy:
        content: "{{{{ {{'find': r_find.files | map(attribute='path') | sort, 'matched': r_find.matched,
          'tempfile': (r_tempfile.path | default('skipped')) is match('/tmp/ansible\\..*\\.bpy'), 'assemble': r_assemble.changed,
          'known_hosts': r_known_hosts.changed, 'debconf': r_debconf.changed, 'dpkg': r_dpkg.changed,
          'ssh': ansible_facts.services['ssh.service'].state | default('none'),
          'services_var': services is defined,
          'packages': (packages | default({{}})).sudo | default([]) | map(attribute='name') | list,
          'mounts': ansible_facts.mount_points is defined, 'deb822': r_deb822.failed | default(false),
          'bad': r_bad.msg }} | to_json }}}}"
        dest: /tmp/bpy-results.json
      check_mode: false
      changed_when: false
"#
    )
}

/// What a run left on a host, read by docker exec.
fn state(fleet: &Fleet, host: &str) -> String {
    let out = fleet.exec(
        host,
        "cat /tmp/bpy/assembled; stat -c '%a' /tmp/bpy/assembled; cat /tmp/bpy/known_hosts; \
         echo get tzdata/Areas | debconf-communicate tzdata; dpkg --get-selections sudo; \
         ls /etc/apt/sources.list.d/ | grep bpy || true",
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn results(fleet: &Fleet, host: &str) -> Json {
    let out = fleet.exec(host, "cat /tmp/bpy-results.json");
    serde_json::from_slice(&out.stdout).unwrap_or(Json::Null)
}

fn prepare(fleet: &Fleet, host: &str) {
    let out = fleet.exec(
        host,
        "rm -rf /tmp/bpy /tmp/bpy-results.json /etc/apt/sources.list.d/bpy.sources; \
         mkdir -p /tmp/bpy/frag; dpkg --set-selections <<EOF\nsudo install\nEOF\n\
         echo set tzdata/Areas Etc | debconf-communicate tzdata >/dev/null",
    );
    assert!(out.status.success(), "prepare {host}: {}", describe(&out));
}

#[test]
fn builtin_python_modules_match_ansible_playbook() {
    let fleet = Fleet::shared();
    let hosts: Vec<String> = fleet.hosts().iter().map(|h| h.name.clone()).collect();
    let (ha, hb) = (hosts[0].clone(), hosts[1].clone());
    let dir = std::env::temp_dir().join(format!("baton-py-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("play.yml"), playbook()).unwrap();
    prepare(fleet, &ha);
    prepare(fleet, &hb);
    let inventory = fleet.inventory_path();
    let mut failures = Vec::new();
    for (run_name, flags) in [
        ("check", &["--check"][..]),
        ("real", &[][..]),
        ("again", &[][..]),
    ] {
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| play_on_host("ansible", &dir, &inventory, &ha, flags, &[]));
            let b = s.spawn(|| play_on_host("baton", &dir, &inventory, &hb, flags, &[]));
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
        let (ra, rb) = (recap(&sa, &ha), recap(&sb, &hb));
        if ra != rb {
            failures.push(format!(
                "{run_name}: recap differs: ansible {ra} / baton {rb}"
            ));
        }
        if run_name == "again" && !rb.contains("changed=0") {
            failures.push(format!("again: baton changed something: {rb}"));
        }
        let (xa, xb) = (results(fleet, &ha), results(fleet, &hb));
        if xa != xb || (xb.is_null() && run_name != "check") {
            failures.push(format!(
                "{run_name}: results differ:\n  ansible: {xa}\n  baton:   {xb}"
            ));
        }
        let (ta, tb) = (state(fleet, &ha), state(fleet, &hb));
        if ta != tb {
            failures.push(format!(
                "{run_name}: host state differs:\n  ansible: {ta}\n  baton:   {tb}"
            ));
        }
        if run_name == "real" && !tb.contains("a.txt\nb.txt\nc.log\n") {
            failures.push(format!("real: assemble left {tb:?}"));
        }
    }
    // baton removed its private directory of payloads at the end of the run.
    let left = fleet.exec(&hb, "ls -d /tmp/.baton-* 2>/dev/null | wc -l");
    if String::from_utf8_lossy(&left.stdout).trim() != "0" {
        failures.push(format!(
            "baton left temporary directories: {}",
            describe(&left)
        ));
    }
    no_python(fleet, &hb, &dir, &inventory, &mut failures);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} difference(s) from ansible-playbook:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A host without Python: the inventory naming an interpreter that is not there, then no
/// Python at all (hidden for the test and put back).
fn no_python(fleet: &Fleet, host: &str, dir: &Path, inventory: &Path, failures: &mut Vec<String>) {
    std::fs::write(
        dir.join("play.yml"),
        "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - command: echo native\n    - find: {paths: /tmp}\n",
    )
    .unwrap();
    let out = play_on_host(
        "baton",
        dir,
        inventory,
        host,
        &["-e", "ansible_python_interpreter=/nonexistent"],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !text.contains("The module interpreter '/nonexistent' was not found")
        || !recap(&text, host).contains("ok=1")
    {
        failures.push(format!(
            "an interpreter that is not there: {}",
            describe(&out)
        ));
    }
    let hide = fleet.exec(
        host,
        "for p in /usr/bin/python3 /usr/bin/python3.11; do mv $p $p.bpy-hidden; done",
    );
    assert!(hide.status.success(), "hide python: {}", describe(&hide));
    let out = play_on_host("baton", dir, inventory, host, &[], &[]);
    let restore = fleet.exec(
        host,
        "for p in /usr/bin/python3 /usr/bin/python3.11; do mv $p.bpy-hidden $p; done",
    );
    assert!(
        restore.status.success(),
        "restore python: {}",
        describe(&restore)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !text.contains("needs Python on the host")
        || !text.contains("native modules need no Python")
        || !recap(&text, host).contains("ok=1")
        || !recap(&text, host).contains("failed=1")
    {
        failures.push(format!("a host without Python: {}", describe(&out)));
    }
}
