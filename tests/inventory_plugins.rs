//! Inventory plugin configurations, baton against ansible-core, on the seed's own: the
//! chapter's `inventory.aws_ec2.yml` (`plugin: amazon.aws.aws_ec2`, keyed_groups on the
//! `Ansible` tag) and `create_ec2_instances_playbook.yml` (amazon.aws modules, run by baton's
//! Python fallback), in tests/inventory_plugins/seed_ec2/, against a local EC2 API: PyPI's
//! moto server on a free 127.0.0.1 port, reached through botocore's `AWS_ENDPOINT_URL` with
//! dummy credentials. The files run unchanged; only the environment points them at moto.
//!
//! Compared: the playbook's output and recap (a first run that creates, a second that changes
//! nothing), `inventory --graph`, `--list` (JSON, `--yaml`, `--toml`) of the instances created,
//! a play on the keyed group's hosts (with the plugin's host variables and a `group_vars/` file
//! next to the source), a plugin that fails (its file named, as Ansible's warnings name it),
//! and a controller without ansible-core (an error saying how to install it).
//!
//! Needs ansible-core 2.19.14 with boto3 and moto in its Python and the amazon.aws collection
//! (tests/run.sh installs them); without them this test fails, it never skips.

mod common;
mod system_support;

use common::{ansible_playbook, baton_bin, describe};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The seed's files.
fn fixture() -> PathBuf {
    common::repo_root().join("tests/inventory_plugins/seed_ec2")
}

/// moto's server on a free port of 127.0.0.1, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Moto {
        let bin = ansible_playbook().with_file_name("moto_server");
        assert!(
            bin.is_file(),
            "{} is missing: this test's local EC2 API is PyPI's moto server, installed beside \
             ansible-core by tests/run.sh (pip install 'moto[server]==5.2.5' boto3==1.44.5)",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let moto = Moto { child, port };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto did not listen on 127.0.0.1:{port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        moto
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Forgets every resource (moto's own reset call), so each tool starts from nothing.
    fn reset(&self) {
        let out = Command::new(ansible_playbook().with_file_name("python3"))
            .args([
                "-c",
                "import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/moto-api/reset', method='POST'))",
                &self.url(),
            ])
            .output()
            .expect("run python3");
        assert!(out.status.success(), "moto reset: {}", describe(&out));
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tool of ansible-core's (`ansible-playbook`, `ansible-inventory`) or baton (`baton`), run in
/// `dir` against the EC2 API at `endpoint`.
fn run(tool: &str, args: &[&str], dir: &Path, endpoint: &str) -> Output {
    let mut cmd = if tool == "baton" {
        Command::new(baton_bin())
    } else {
        Command::new(ansible_playbook().with_file_name(tool))
    };
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env(
            "ANSIBLE_COLLECTIONS_PATH",
            system_support::oracle_collections(),
        )
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A play's output from its first `PLAY [` on (what comes before is load-time warnings, whose
/// order the two tools need not share).
fn from_play(out: &Output) -> String {
    let text = stdout(out);
    match text.find("PLAY [") {
        Some(i) => text[i..].to_string(),
        None => format!("no play in:\n{}", describe(out)),
    }
}

/// A copy of the seed's files to run one tool in (the playbook writes the key pair there).
fn workdir(name: &str) -> PathBuf {
    let dir = system_support::scratch(&format!("invplug-{name}"));
    copy_dir(&fixture(), &dir);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

const PLAYBOOK: [&str; 3] = [
    "create_ec2_instances_playbook.yml",
    "--extra-vars",
    "@sample-app-vars.yml",
];

#[test]
fn the_seeds_inventory_plugin_and_ec2_playbook_match_ansible() {
    let moto = Moto::start();
    let url = moto.url();
    let (a_dir, b_dir) = (workdir("ansible"), workdir("baton"));

    // The playbook: twice with each tool, each from an empty EC2.
    let mut outputs = Vec::new();
    for (tool, dir) in [("ansible-playbook", &a_dir), ("baton", &b_dir)] {
        moto.reset();
        let mut args = vec!["play"];
        if tool != "baton" {
            args.clear();
        }
        args.extend(PLAYBOOK);
        let first = run(tool, &args, dir, &url);
        let second = run(tool, &args, dir, &url);
        assert!(first.status.success(), "{tool}: {}", describe(&first));
        assert!(second.status.success(), "{tool}: {}", describe(&second));
        outputs.push((from_play(&first), from_play(&second)));
    }
    let (ansible, baton) = (&outputs[0], &outputs[1]);
    assert_eq!(baton.0, ansible.0, "the first run's output differs");
    assert_eq!(baton.1, ansible.1, "the second run's output differs");
    let recap = |out: &str| common::recap(out, "localhost").replace(": ", "");
    assert_eq!(
        recap(&baton.0),
        "ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        recap(&baton.1),
        "ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    // The key pair's private key, written by the module on the controller, as by ansible's.
    let mode = |d: &Path| {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(d.join("ansible-ch3.key"))
            .unwrap_or_else(|e| panic!("no key file in {}: {e}", d.display()));
        (m.permissions().mode() & 0o777, m.len() > 0)
    };
    assert_eq!(mode(&b_dir), mode(&a_dir));

    // The inventory of what baton created: the plugin's view, through both tools.
    let inv = "inventory.aws_ec2.yml";
    // (Not `--graph --vars`: it shows a datetime inside a list as Python's repr, with the
    // time zone object botocore made, `tzinfo=tzlocal()`, which the plugin's data does not
    // carry.)
    let views: [&[&str]; 4] = [
        &["--graph"],
        &["--list"],
        &["--list", "--yaml"],
        &["--list", "--toml"],
    ];
    for view in views {
        let mut args = vec!["-i", inv];
        args.extend(view);
        let a = run("ansible-inventory", &args, &a_dir, &url);
        let mut bargs = vec!["inventory"];
        bargs.extend(&args);
        let b = run("baton", &bargs, &b_dir, &url);
        assert!(a.status.success(), "{}", describe(&a));
        assert!(b.status.success(), "{}", describe(&b));
        assert_eq!(stdout(&b), stdout(&a), "baton inventory {view:?} differs");
    }
    let graph = stdout(&run(
        "baton",
        &["inventory", "-i", inv, "--graph"],
        &b_dir,
        &url,
    ));
    let instances = graph
        .lines()
        .skip_while(|l| !l.contains("@sample_app_instances:"))
        .skip(1)
        .take_while(|l| l.contains("|  |--"))
        .count();
    assert_eq!(instances, 3, "three instances in the tag's group:\n{graph}");

    // A play on the tag's group: the plugin's host variables and group_vars/ next to it.
    let play = ["-i", inv, "reach_groups.yml"];
    let a = run("ansible-playbook", &play, &a_dir, &url);
    let b = run("baton", &[&["play"][..], &play].concat(), &b_dir, &url);
    assert!(a.status.success(), "{}", describe(&a));
    assert!(b.status.success(), "{}", describe(&b));
    // The hosts of a task report as they finish, in either tool: its lines are compared as a
    // set; which host `run_once` picked (the play's first) in order.
    let lines = |o: &Output| {
        let mut l: Vec<String> = from_play(o).lines().map(str::to_string).collect();
        l.sort();
        l
    };
    assert_eq!(lines(&b), lines(&a), "{}", describe(&b));
    let once = |o: &Output| {
        let text = from_play(o);
        let at = text.find("TASK [Count").map_or(0, |i| i);
        text[at..].lines().nth(1).unwrap_or("").to_string()
    };
    assert_eq!(once(&b), once(&a));
    assert!(
        from_play(&b).contains("t2.micro sample_app_instances-0 8080"),
        "{}",
        describe(&b)
    );
    drop(moto);

    // The EC2 API gone: the plugin's failure, on the source's file, and no hosts; an error
    // when any unparsed source is one.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let a = run(
        "ansible-inventory",
        &["-i", inv, "--graph"],
        &a_dir,
        &closed,
    );
    let b = run(
        "baton",
        &["inventory", "-i", inv, "--graph"],
        &b_dir,
        &closed,
    );
    assert_eq!(stdout(&b), stdout(&a));
    let err = String::from_utf8_lossy(&b.stderr);
    for needle in [
        "Failed to parse inventory with 'auto' plugin: the inventory plugin 'amazon.aws.aws_ec2' failed on inventory.aws_ec2.yml",
        "Failed to describe instances",
        "--> inventory.aws_ec2.yml:1:9",
        "Unable to parse",
    ] {
        assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    }
    let strict = |tool: &str, args: &[&str]| {
        let mut cmd = if tool == "baton" {
            Command::new(baton_bin())
        } else {
            Command::new(ansible_playbook().with_file_name(tool))
        };
        cmd.args(args)
            .current_dir(&b_dir)
            .env("AWS_ENDPOINT_URL", &closed)
            .env(
                "ANSIBLE_COLLECTIONS_PATH",
                system_support::oracle_collections(),
            )
            .env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "true")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let a = strict("ansible-inventory", &["-i", inv, "--graph"]);
    let b = strict("baton", &["inventory", "-i", inv, "--graph"]);
    assert!(
        !a.status.success() && !b.status.success(),
        "{}",
        describe(&b)
    );
}

#[test]
fn a_controller_without_ansible_core_is_told_how_to_install_it() {
    // A `python3` that sees no site-packages, alone on PATH: no ansible-core to be found.
    let dir = system_support::scratch("invplug-noansible");
    let shim = dir.join("bin/python3");
    std::fs::create_dir_all(shim.parent().unwrap()).unwrap();
    let real = ansible_playbook().with_file_name("python3");
    std::fs::write(
        &shim,
        format!("#!/bin/sh\nexec {} -I -S \"$@\"\n", real.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::copy(
        fixture().join("inventory.aws_ec2.yml"),
        dir.join("inventory.aws_ec2.yml"),
    )
    .unwrap();
    let out = Command::new(baton_bin())
        .args(["inventory", "-i", "inventory.aws_ec2.yml", "--graph"])
        .current_dir(&dir)
        .env("PATH", shim.parent().unwrap())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "the inventory source inventory.aws_ec2.yml is a configuration of the inventory plugin 'amazon.aws.aws_ec2'",
        "No module named 'ansible'",
        "pip install ansible-core",
        "--> inventory.aws_ec2.yml:1:9",
    ] {
        assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
