//! `--step`: the question is asked by the output layer (on stderr) and answered on stdin;
//! "y" runs the task, "n" (or nothing) skips it, "c" runs it and stops asking.

mod common;

use common::describe;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn step_asks_before_each_task_until_continue() {
    let dir = std::env::temp_dir().join(format!("baton-step-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hosts"), "h1 ansible_connection=local\n").unwrap();
    let tasks: String = (1..=4)
        .map(|i| format!("    - name: t{i}\n      debug:\n        msg: ran t{i}\n"))
        .collect();
    std::fs::write(
        dir.join("play.yml"),
        format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}"),
    )
    .unwrap();
    let mut child = Command::new(common::baton_bin())
        .args(["play", "play.yml", "-i", "hosts", "--step"])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"y\nn\nc\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (task, ran) in [("t1", true), ("t2", false), ("t3", true), ("t4", true)] {
        assert_eq!(
            stdout.contains(&format!("\"msg\": \"ran {task}\"")),
            ran,
            "{task}: {}",
            describe(&out)
        );
    }
    let asked: Vec<&str> = stderr.matches("Perform task: TASK: ").collect::<Vec<_>>();
    assert_eq!(asked.len(), 3, "{}", describe(&out));
    assert!(
        stderr.contains("Perform task: TASK: t3 (N)o/(y)es/(c)ontinue: "),
        "{}",
        describe(&out)
    );
    assert!(!stderr.contains("TASK: t4"), "{}", describe(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
