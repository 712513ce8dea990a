//! Modules baton does not implement natively, run as the real Ansible Python modules (issue 20),
//! differentially: one playbook of 17 such modules (ansible.builtin ones, and ansible.posix and
//! community.general ones from the `ansible` package, found through an ansible.cfg
//! `collections_path` both tools read) under ansible-playbook (the oracle)
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
mod system_support;

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
    - name: sysctl (ansible.posix)
      ansible.posix.sysctl:
        name: vm.swappiness
        value: "10"
        sysctl_set: false
        reload: false
        sysctl_file: /tmp/bpy/sysctl.conf
      register: r_sysctl
    - name: ini_file (community.general)
      community.general.ini_file:
        path: /tmp/bpy/x.ini
        section: s
        option: o
        value: v
        mode: "0600"
      register: r_ini
    - name: timezone (community.general)
      community.general.timezone:
        name: Europe/Paris
      register: r_tz
    - name: pam_limits (community.general)
      community.general.pam_limits:
        domain: bpy
        limit_type: soft
        limit_item: nofile
        value: "4096"
        dest: /tmp/bpy/limits.conf
      register: r_limits
    - name: archive (community.general)
      community.general.archive:
        path: /tmp/bpy/frag/a.txt
        dest: /tmp/bpy/a.tgz
        format: gz
      register: r_archive
    - name: filesize (community.general)
      community.general.filesize:
        path: /tmp/bpy/blob
        size: 10KB
      register: r_filesize
    - name: alternatives (community.general)
      community.general.alternatives:
        name: pager
        path: /bin/more
      register: r_alt
    - name: read_csv (community.general)
      community.general.read_csv:
        path: /tmp/bpy/users.csv
        key: name
      register: r_csv
      check_mode: false
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
          'bad': r_bad.msg, 'sysctl': r_sysctl.changed, 'ini': r_ini.changed, 'tz': r_tz.changed,
          'limits': r_limits.changed, 'archive': r_archive.changed, 'filesize': r_filesize.changed,
          'alt': r_alt.changed, 'csv': r_csv.dict | default({{}}) }} | to_json }}}}"
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
         ls /etc/apt/sources.list.d/ | grep bpy || true; cat /tmp/bpy/sysctl.conf /tmp/bpy/x.ini; \
         stat -c '%a' /tmp/bpy/x.ini; cat /etc/timezone; readlink /etc/localtime; \
         cat /tmp/bpy/limits.conf; gzip -dc /tmp/bpy/a.tgz; stat -c '%s' /tmp/bpy/blob; \
         update-alternatives --query pager | grep -E '^(Status|Value):'",
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
         echo set tzdata/Areas Etc | debconf-communicate tzdata >/dev/null; \
         echo Etc/UTC > /etc/timezone; ln -sf /usr/share/zoneinfo/Etc/UTC /etc/localtime; \
         update-alternatives --auto pager; printf 'name,uid\nalice,1\nbob,2\n' > /tmp/bpy/users.csv",
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
    // Both tools read the collections path from the playbook directory's ansible.cfg.
    std::fs::write(
        dir.join("ansible.cfg"),
        format!(
            "[defaults]\ncollections_path = {}\n",
            system_support::oracle_collections().display()
        ),
    )
    .unwrap();
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

/// A module of the playbook's own `library/` that reports its working directory, umask,
/// environment and what earlier modules left in `ansible.module_utils.basic`, or pollutes all
/// of them, or dies in various ways.
const PROBE: &str = r#"#!/usr/bin/python
import os
import sys
from ansible.module_utils.basic import AnsibleModule


def main():
    m = AnsibleModule(argument_spec=dict(mode=dict(type='str', default='report')))
    mode = m.params['mode']
    import ansible.module_utils.basic as b
    seen = getattr(b, '_probe_seen', 0)
    b._probe_seen = seen + 1
    if mode == 'pollute':
        os.chdir('/')
        os.umask(0)
        os.environ['BPY_LEAK'] = '1'
    if mode == 'segv':
        import signal
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == 'raise':
        raise ValueError('boom')
    if mode == 'exit3':
        print('garbage')
        sys.stdout.flush()
        os._exit(3)
    if mode == 'sysexit':
        sys.exit('bad thing')
    u = os.umask(0o22)
    os.umask(u)
    m.exit_json(changed=False, cwd=os.getcwd(), umask=oct(u), leak=os.environ.get('BPY_LEAK'),
                env=os.environ.get('MYENV'), seen=seen, ppid=os.getppid())


main()
"#;

const PROBE_PLAY: &str = r#"- hosts: fleet
  gather_facts: false
  tasks:
    - probe: {}
      register: a
    - probe: {mode: pollute}
      register: p
    - probe: {}
      register: b
    - probe: {mode: segv}
      register: c
      ignore_errors: true
    - probe: {mode: raise}
      register: d
      ignore_errors: true
    - probe: {mode: exit3}
      register: e
      ignore_errors: true
    - probe: {mode: sysexit}
      register: f
      ignore_errors: true
    - probe: {}
      environment: {MYENV: x}
      register: g
    - probe: {}
      register: h
    - copy:
        content: "{{ {'one_interpreter': a.ppid == h.ppid, 'ok': [a, p, b, g, h] | map(attribute='cwd') | list + [a, p, b, g, h] | map(attribute='umask') | list
          + [a, p, b, g, h] | map(attribute='leak') | list + [a, p, b, g, h] | map(attribute='env') | list
          + [a, p, b, g, h] | map(attribute='seen') | list,
          'failed': [c, d, e, f] | map(attribute='rc', default='none') | list + [c, d, e, f] | map(attribute='msg') | list
          + [(c.module_stdout ~ c.module_stderr) is search('Segmentation fault'), e.module_stdout | trim]} | to_json }}"
        dest: /tmp/bpy-probe.json
"#;

/// One module exiting, crashing or changing its process's state leaves the next ones as a
/// fresh interpreter would (baton runs them all in one persistent interpreter per host): the
/// same results and failures as ansible-playbook, which starts one Python per task (a module
/// killed by a signal: rc 128+N and the shell's `Segmentation fault`, in module_stdout under
/// ansible's pty, in module_stderr under baton, as baton's per-task runs have it).
#[test]
fn a_module_crashing_or_polluting_its_process_leaves_the_next_ones_alone() {
    let fleet = Fleet::shared();
    let host = fleet.hosts()[2].name.clone();
    let dir = std::env::temp_dir().join(format!("baton-py-probe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("library")).unwrap();
    std::fs::write(dir.join("library/probe.py"), PROBE).unwrap();
    std::fs::write(dir.join("play.yml"), PROBE_PLAY).unwrap();
    let inventory = fleet.inventory_path();
    let mut seen = Vec::new();
    for tool in ["ansible", "baton"] {
        let _ = fleet.exec(&host, "rm -f /tmp/bpy-probe.json");
        let out = play_on_host(tool, &dir, &inventory, &host, &[], &[]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        println!("== {tool}\n{}", describe(&out));
        let dump = fleet.exec(&host, "cat /tmp/bpy-probe.json");
        let dump: Json = serde_json::from_slice(&dump.stdout).unwrap_or(Json::Null);
        seen.push((recap(&text, &host), dump));
    }
    let _ = std::fs::remove_dir_all(&dir);
    // Under baton every module ran in one interpreter (the parent of each module's process),
    // under ansible-playbook each in its own.
    let mut one = Vec::new();
    for (_, dump) in seen.iter_mut() {
        one.push(
            dump.as_object_mut()
                .and_then(|d| d.remove("one_interpreter")),
        );
    }
    assert_eq!(
        one,
        [Some(Json::from(false)), Some(Json::from(true))],
        "one interpreter: ansible / baton"
    );
    let (a, b) = (&seen[0], &seen[1]);
    assert_eq!(a.0, b.0, "recap: ansible / baton");
    assert!(
        b.0.contains("ok=10") && b.0.contains("ignored=4"),
        "{}",
        b.0
    );
    assert_eq!(a.1, b.1, "results: ansible / baton");
    // What the oracle showed is what the probe meant to show: only the polluting module saw
    // its own pollution, and no module saw an earlier one's state.
    let ok = b.1["ok"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        ok.get(10..),
        Some(
            &serde_json::json!([
                null, "1", null, null, null, null, null, null, "x", null, 0, 0, 0, 0, 0
            ])
            .as_array()
            .unwrap()[..]
        ),
        "{ok:?}"
    );
    assert_eq!(b.1["failed"][0], Json::from(139));
    assert_eq!(b.1["failed"][2], Json::from(3));
}
