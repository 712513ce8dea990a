//! Issue 22 on the controller alone (connection `local`): `forks` is honoured exactly (never
//! more hosts at once, and that many when there is work for them) under `linear` and `free`;
//! the open-files soft limit is raised to the hard limit at start-up, and a run that needs
//! more descriptors than the hard limit allows stops before it starts, saying how many.

mod common;

use common::{Scratch, baton_bin, describe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn local_hosts(dir: &Path, n: usize) -> PathBuf {
    let inv = dir.join("hosts.ini");
    let mut text = String::from("[many]\n");
    for i in 0..n {
        text.push_str(&format!("h{i:04} ansible_connection=local\n"));
    }
    std::fs::write(&inv, text).unwrap();
    inv
}

/// Each host, while its task runs, holds a file in `running/` and notes how many it sees.
/// Returns the largest number seen.
fn most_at_once(strategy: &str, forks: usize) -> usize {
    let s = Scratch::new("scale", &format!("forks-{strategy}-{forks}"));
    let inv = local_hosts(s.path(), 12);
    let d = s.path().display();
    std::fs::create_dir_all(s.path().join("running")).unwrap();
    std::fs::write(
        s.path().join("play.yml"),
        format!(
            "- hosts: many\n  gather_facts: false\n  strategy: {strategy}\n  tasks:\n\
             \x20   - shell: touch {d}/running/{{{{ inventory_hostname }}}}; \
             ls {d}/running | wc -l >> {d}/seen; sleep 0.3; rm {d}/running/{{{{ inventory_hostname }}}}\n\
             \x20   - shell: touch {d}/running/{{{{ inventory_hostname }}}}; \
             ls {d}/running | wc -l >> {d}/seen; sleep 0.2; rm {d}/running/{{{{ inventory_hostname }}}}\n"
        ),
    )
    .unwrap();
    let out = Command::new(baton_bin())
        .current_dir(s.path())
        .args(["play", "play.yml", "-i"])
        .arg(&inv)
        .args(["-f", &forks.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let seen = std::fs::read_to_string(s.path().join("seen")).unwrap();
    let counts: Vec<usize> = seen.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(counts.len(), 24, "every host ran both tasks: {seen}");
    counts.into_iter().max().unwrap()
}

#[test]
fn forks_is_honoured_exactly_under_linear() {
    assert_eq!(most_at_once("linear", 3), 3);
    assert_eq!(most_at_once("linear", 1), 1);
}

#[test]
fn forks_is_honoured_exactly_under_free() {
    assert_eq!(most_at_once("free", 4), 4);
}

fn hard_limit() -> u64 {
    let out = Command::new("bash")
        .args(["-c", "ulimit -Hn"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn the_open_files_soft_limit_is_raised_to_the_hard_limit() {
    let hard = hard_limit();
    assert!(
        hard > 256,
        "this test needs a hard limit above 256, not {hard}"
    );
    let s = Scratch::new("scale", "nofile-raise");
    std::fs::write(
        s.path().join("play.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
         \x20   - command: sh -c 'ulimit -Sn'\n      register: r\n\
         \x20   - debug: msg=soft={{ r.stdout }}\n",
    )
    .unwrap();
    // The soft limit of the process's children is the soft limit baton ran with.
    let out = Command::new("bash")
        .current_dir(s.path())
        .args(["-c", "ulimit -Sn 256 && exec \"$0\" play play.yml"])
        .arg(baton_bin())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("\"msg\": \"soft={hard}\"")),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_run_that_needs_more_files_than_the_hard_limit_stops_before_it_starts() {
    let s = Scratch::new("scale", "nofile-short");
    let inv = local_hosts(s.path(), 300);
    std::fs::write(
        s.path().join("play.yml"),
        format!(
            "- hosts: many\n  gather_facts: false\n  tasks:\n    - command: touch {}/ran\n",
            s.path().display()
        ),
    )
    .unwrap();
    let out = Command::new("bash")
        .current_dir(s.path())
        .args(["-c", "ulimit -n 200 && exec \"$0\" play play.yml -i \"$1\""])
        .arg(baton_bin())
        .arg(&inv)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(
        stderr.contains("this run needs about 364 open files"),
        "{stderr}"
    );
    assert!(stderr.contains("the open-files limit is 200"), "{stderr}");
    assert!(stderr.contains("ulimit -Hn 364"), "{stderr}");
    assert!(!s.path().join("ran").exists(), "a task ran");
    // --limit to fewer hosts fits.
    let out = Command::new("bash")
        .current_dir(s.path())
        .args([
            "-c",
            "ulimit -n 200 && exec \"$0\" play play.yml -i \"$1\" -l '~h00[0-4]'",
        ])
        .arg(baton_bin())
        .arg(&inv)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(s.path().join("ran").exists(), "{}", describe(&out));
}
