//! `pause` with a prompt (local tier): the question goes through the event stream and the
//! output layer asks it on the terminal, once for the task, and every host gets the answer.
//! Without a terminal it does not wait: Ansible's warning and an empty `user_input`.

mod common;

use common::describe;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PLAY: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: ask\n      pause:\n        prompt: Your name\n      register: r\n    - debug:\n        msg: \"got [{{ r.user_input }}] {{ r.warnings | default([]) | length }}\"\n";

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-pause-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("hosts"),
        "h1 ansible_connection=local\nh2 ansible_connection=local\n",
    )
    .unwrap();
    std::fs::write(dir.join("play.yml"), PLAY).unwrap();
    dir
}

fn baton(dir: &std::path::Path) -> Command {
    let mut c = Command::new(common::baton_bin());
    c.args(["play", "play.yml", "-i", "hosts"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("BATON_NO_PROGRESS", "1");
    c
}

/// A pseudo-terminal: (master, slave).
fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

#[test]
fn the_prompt_is_asked_once_on_the_terminal_and_every_host_gets_the_answer() {
    let dir = scratch("tty");
    let (master, slave) = openpty();
    // stdin and stderr on the terminal (the question is asked there); stdout captured.
    let mut child = baton(&dir)
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(slave);
    let mut stdout = child.stdout.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    // What the terminal shows, read as it comes.
    let screen = Arc::new(Mutex::new(String::new()));
    let mut reader = std::fs::File::from(master.try_clone().unwrap());
    let seen = screen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let started = Instant::now();
    while !screen.lock().unwrap().contains("Your name:") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no prompt on the terminal: {:?}",
            screen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut writer = std::fs::File::from(master);
    writer.write_all(b"Ada Lovelace\n").unwrap();
    let status = child.wait().unwrap();
    let stdout = out_reader.join().unwrap();
    let screen = screen.lock().unwrap().clone();
    let shown = format!("status {status}\n--- stdout ---\n{stdout}\n--- terminal ---\n{screen}");
    assert_eq!(status.code(), Some(0), "{shown}");
    assert_eq!(screen.matches("Your name:").count(), 1, "{shown}");
    assert!(screen.contains("[ask]\r\nYour name:"), "{shown}");
    assert_eq!(
        stdout.matches("\"msg\": \"got [Ada Lovelace] 0\"").count(),
        2,
        "{shown}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_terminal_the_prompt_does_not_wait_and_warns() {
    let dir = scratch("pipe");
    let mut child = baton(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // An answer on a pipe is not read: stdin is not interactive.
    child.stdin.take().unwrap().write_all(b"ignored\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("\"msg\": \"got [] 1\"").count(),
        2,
        "{}",
        describe(&out)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Your name"),
        "{}",
        describe(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
