//! Issue 21 on the controller alone (connection `local`): the HTML report is written when the
//! run is stopped early, with what ran. Ctrl-C (SIGINT, as the terminal sends it) lets the
//! running task finish, exits 99 as ansible-playbook does, and leaves a report that says the run was
//! interrupted, has the tasks that ran and none that did not, and no temporary file beside it.

mod common;

use common::{Scratch, baton_bin, describe};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn ctrl_c_leaves_a_report_of_what_ran() {
    let s = Scratch::new("report", "ctrl-c");
    let dir = s.path();
    std::fs::write(
        dir.join("hosts.ini"),
        "[here]\nlocalhost ansible_connection=local\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("play.yml"),
        "- name: interrupted play\n  hosts: here\n  gather_facts: false\n  tasks:\n\
         \x20   - name: before the interruption\n      command: echo ran-before\n\
         \x20   - name: the task running when Ctrl-C comes\n      command: sleep 2\n\
         \x20   - name: a task that never starts\n      command: echo never\n",
    )
    .unwrap();
    let report = dir.join("out/run.html");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let mut child = Command::new(baton_bin())
        .args(["play", "play.yml", "-i", "hosts.ini", "--report"])
        .arg(&report)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    // SIGINT once the sleeping task has started.
    while stdout.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        let started = line.contains("TASK [the task running when Ctrl-C comes]");
        line.clear();
        if started {
            let kill = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(kill.success());
            break;
        }
    }
    let rest = child.wait_with_output().unwrap();
    seen.push_str(&String::from_utf8_lossy(&rest.stdout));
    let all = format!("{seen}{}", describe(&rest));
    assert_eq!(rest.status.code(), Some(99), "{all}");
    assert!(!seen.contains("TASK [a task that never starts]"), "{all}");

    let html = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("no report: {e}\n{all}"));
    assert!(html.contains("User interrupted execution"), "{html}");
    assert!(html.contains("before the interruption"));
    assert!(html.contains("the task running when Ctrl-C comes"));
    assert!(!html.contains("a task that never starts"));
    // Written atomically: nothing but the report is left in its directory.
    let left: Vec<_> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("run.html")]);
}
