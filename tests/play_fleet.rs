//! `baton play` against real hosts over SSH: the walking skeleton's acceptance.
//!
//! Every test checks what happened on the hosts through docker exec (not through baton), and
//! what baton reported (recap and exit status) against what ansible-playbook would report.

mod common;

use common::{Fleet, describe, run_baton};
use std::path::PathBuf;

/// A scratch directory for one test's playbook.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The recap line of a host, as `(ok, changed, unreachable, failed, skipped)`.
fn recap(stdout: &str, host: &str) -> (u32, u32, u32, u32, u32) {
    let line = stdout
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .find(|l| l.split_whitespace().next() == Some(host))
        .unwrap_or_else(|| panic!("no recap line for {host} in:\n{stdout}"));
    let get = |key: &str| -> u32 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {key}= in {line}"))
    };
    (
        get("ok"),
        get("changed"),
        get("unreachable"),
        get("failed"),
        get("skipped"),
    )
}

fn file_on(fleet: &Fleet, host: &str, path: &str) -> Option<String> {
    let out = fleet.exec(host, &format!("cat {path}"));
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn a_failing_host_stops_alone_and_the_others_finish() {
    let fleet = Fleet::shared();
    let hosts: Vec<String> = fleet.hosts().iter().map(|h| h.name.clone()).collect();
    let bad = &hosts[1];
    let tag = format!("fail-{}", std::process::id());
    let dir = scratch("fail");
    std::fs::write(
        dir.join("play.yml"),
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - name: first mark
      shell: echo "first {{{{ inventory_hostname }}}}" > /tmp/{tag}-1
    - name: fails on one host only
      command: /bin/false
      when: inventory_hostname == '{bad}'
    - name: second mark
      shell: echo "second {{{{ inventory_hostname }}}}" > /tmp/{tag}-2
"#
        ),
    )
    .unwrap();
    let out = run_baton(
        [
            "play",
            "play.yml",
            "-i",
            fleet.inventory_path().to_str().unwrap(),
        ],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stdout.contains(&format!("fatal: [{bad}]: FAILED! =>")),
        "{}",
        describe(&out)
    );
    for host in &hosts {
        if host == bad {
            assert_eq!(recap(&stdout, host), (1, 1, 0, 1, 0), "{stdout}");
            assert_eq!(
                file_on(fleet, host, &format!("/tmp/{tag}-1")).as_deref(),
                Some(format!("first {host}").as_str())
            );
            assert_eq!(
                file_on(fleet, host, &format!("/tmp/{tag}-2")),
                None,
                "{host} went on after failing"
            );
        } else {
            assert_eq!(recap(&stdout, host), (2, 2, 0, 0, 1), "{stdout}");
            assert_eq!(
                file_on(fleet, host, &format!("/tmp/{tag}-2")).as_deref(),
                Some(format!("second {host}").as_str())
            );
        }
    }
}

#[test]
fn a_stopped_host_is_unreachable_and_the_others_finish() {
    let fleet = Fleet::dedicated("baton-unreach", 3);
    let hosts: Vec<String> = fleet.hosts().iter().map(|h| h.name.clone()).collect();
    let down = &hosts[2];
    fleet.stop_host(down);
    let dir = scratch("unreach");
    std::fs::write(
        dir.join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: mark
      shell: hostname > /tmp/unreach-mark
    - name: second
      command: cat /tmp/unreach-mark
"#,
    )
    .unwrap();
    let out = run_baton(
        [
            "play",
            "play.yml",
            "-i",
            fleet.inventory_path().to_str().unwrap(),
            "-T",
            "5",
        ],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("fatal: [{down}]: UNREACHABLE! =>")))
        .unwrap_or_else(|| panic!("no UNREACHABLE line: {}", describe(&out)));
    assert!(line.contains("\"unreachable\": true"), "{line}");
    assert_eq!(recap(&stdout, down), (0, 0, 1, 0, 0), "{stdout}");
    for host in hosts.iter().filter(|h| *h != down) {
        assert_eq!(recap(&stdout, host), (2, 2, 0, 0, 0), "{stdout}");
        assert_eq!(
            file_on(&fleet, host, "/tmp/unreach-mark").as_deref(),
            Some(host.as_str())
        );
    }
    // The stopped host comes back; nothing was written on it while it was down.
    fleet.start_host(down);
    assert_eq!(file_on(&fleet, down, "/tmp/unreach-mark"), None);
}

#[test]
fn one_connection_serves_every_task_of_a_host() {
    let fleet = Fleet::shared();
    let host = &fleet.hosts()[0].name;
    let dir = scratch("conns");
    let tag = format!("conn-{}", std::process::id());
    let mut play = String::from("- hosts: all\n  gather_facts: false\n  tasks:\n");
    // Each task records the per-connection sshd process (`sshd: root@notty`) it descends from:
    // its parent when the task has a channel of its own, its grandparent when it runs on the
    // connection's long-lived shell. (`@$n`: the script's own command line must not match.)
    for i in 0..5 {
        play.push_str(&format!(
            "    - name: t{i}\n      shell: |\n        p=$$; n=notty\n        while [ \"$p\" -gt 1 ]; do\n          case \"$(tr '\\0' ' ' < /proc/$p/cmdline)\" in *@$n*) echo \"$p\" >> /tmp/{tag}; break ;; esac\n          p=$(awk '/^PPid/ {{ print $2 }}' /proc/$p/status)\n        done\n"
        ));
    }
    std::fs::write(dir.join("play.yml"), play).unwrap();
    let out = run_baton(
        [
            "play",
            "play.yml",
            "-i",
            fleet.inventory_path().to_str().unwrap(),
            "-l",
            host,
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // Five tasks, one connection: one sshd connection process above all of them.
    let lines = file_on(fleet, host, &format!("/tmp/{tag}")).unwrap();
    let parents: std::collections::HashSet<&str> = lines.lines().map(str::trim).collect();
    assert_eq!(lines.lines().count(), 5, "{lines}");
    assert_eq!(
        parents.len(),
        1,
        "tasks came through more than one connection:\n{lines}"
    );
}

#[test]
fn ctrl_c_lets_running_tasks_finish_starts_nothing_new_and_exits_99() {
    let fleet = Fleet::shared();
    let host = &fleet.hosts()[0].name;
    let tag = format!("intr-{}", std::process::id());
    let dir = scratch("interrupt");
    std::fs::write(
        dir.join("play.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: slow\n      shell: sleep 3 && echo done > /tmp/{tag}-1\n    - name: never\n      shell: echo second > /tmp/{tag}-2\n"
        ),
    )
    .unwrap();
    let child = std::process::Command::new(common::baton_bin())
        .args([
            "play",
            "play.yml",
            "-i",
            fleet.inventory_path().to_str().unwrap(),
            "-l",
            host,
        ])
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("User interrupted execution"));
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
    assert!(!stdout.contains("TASK [never]"), "{stdout}");
    // The running task finished on the host; the next one never started.
    assert_eq!(
        file_on(fleet, host, &format!("/tmp/{tag}-1")).as_deref(),
        Some("done")
    );
    assert_eq!(file_on(fleet, host, &format!("/tmp/{tag}-2")), None);
}
