//! The real-host harness works: hosts answer over ssh under their own names, docker exec and ssh
//! see the same machine, users are set up as documented, and a dedicated fleet survives a stop
//! and start on the same port. baton itself is not exercised here.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::{Fleet, SHARED_HOSTS, stdout_ok};

fn token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

#[test]
fn shared_fleet_has_three_hosts_and_an_inventory() {
    let fleet = Fleet::shared();
    assert_eq!(fleet.hosts().len(), SHARED_HOSTS);
    let names: HashSet<_> = fleet.hosts().iter().map(|h| &h.name).collect();
    let ports: HashSet<_> = fleet.hosts().iter().map(|h| h.port).collect();
    assert_eq!(names.len(), SHARED_HOSTS, "host names must be distinct");
    assert_eq!(ports.len(), SHARED_HOSTS, "ports must be distinct");

    let inventory = std::fs::read_to_string(fleet.inventory_path()).unwrap();
    assert!(inventory.starts_with("[fleet]\n"), "{inventory}");
    for h in fleet.hosts() {
        let line = format!(
            "{} ansible_host=127.0.0.1 ansible_port={} ansible_user=root ansible_ssh_private_key_file={}",
            h.name,
            h.port,
            fleet.key_path().display()
        );
        assert!(
            inventory.contains(&line),
            "missing {line:?} in:\n{inventory}"
        );
    }
    assert!(fleet.key_path().is_absolute());
}

#[test]
fn ssh_reaches_each_host_under_its_own_name() {
    let fleet = Fleet::shared();
    for h in fleet.hosts() {
        let out = fleet.ssh(&h.name, "hostname");
        assert_eq!(stdout_ok(&out, "ssh hostname").trim(), h.name);
    }
}

#[test]
fn exec_and_ssh_see_the_same_files() {
    let fleet = Fleet::shared();
    let host = &fleet.hosts()[0].name;
    let t = token();
    let path = format!("/tmp/fleet-smoke-{t}");

    stdout_ok(
        &fleet.exec(host, &format!("echo exec-{t} > {path}")),
        "exec write",
    );
    let seen = stdout_ok(&fleet.ssh(host, &format!("cat {path}")), "ssh read");
    assert_eq!(seen.trim(), format!("exec-{t}"));

    stdout_ok(
        &fleet.ssh(host, &format!("echo ssh-{t} > {path}")),
        "ssh write",
    );
    let seen = stdout_ok(&fleet.exec(host, &format!("cat {path}")), "exec read");
    assert_eq!(seen.trim(), format!("ssh-{t}"));

    // Another host must not see it: the paths really reach different machines.
    let other = &fleet.hosts()[1].name;
    let out = fleet.exec(other, &format!("test -e {path}"));
    assert!(!out.status.success(), "{path} unexpectedly on {other}");

    stdout_ok(&fleet.exec(host, &format!("rm -f {path}")), "cleanup");
}

#[test]
fn hosts_have_their_own_host_keys_in_known_hosts() {
    let fleet = Fleet::shared();
    let known = std::fs::read_to_string(fleet.known_hosts_path()).unwrap();
    let mut keys = HashSet::new();
    for h in fleet.hosts() {
        let prefix = format!("[127.0.0.1]:{} ssh-ed25519 ", h.port);
        let key = known
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no ed25519 key for {} in:\n{known}", h.name));
        let on_host = stdout_ok(
            &fleet.exec(&h.name, "cat /etc/ssh/ssh_host_ed25519_key.pub"),
            "read host key",
        );
        assert!(on_host.contains(key), "{}: known_hosts key differs", h.name);
        keys.insert(key.to_string());
    }
    assert_eq!(keys.len(), fleet.hosts().len(), "host keys must differ");
}

#[test]
fn users_deploy_and_secure_are_set_up() {
    let fleet = Fleet::shared();
    let host = &fleet.hosts()[0].name;
    let out = fleet.ssh_as("deploy", host, "whoami && sudo -n whoami");
    assert_eq!(stdout_ok(&out, "deploy sudo"), "deploy\nroot\n");

    let out = fleet.ssh_as("secure", host, "sudo -n true");
    assert!(
        !out.status.success(),
        "secure must need a password for sudo"
    );
    let out = fleet.ssh_as("secure", host, "echo secure-pw | sudo -S -p '' whoami");
    assert_eq!(stdout_ok(&out, "secure sudo with password"), "root\n");
}

#[test]
fn dedicated_host_stops_and_starts_on_the_same_port() {
    let fleet = Fleet::dedicated("baton-smoke", 1);
    let prefix = fleet.prefix().to_string();
    let host = fleet.hosts()[0].clone();
    assert_eq!(host.name, format!("{prefix}-1"));
    stdout_ok(&fleet.ssh(&host.name, "true"), "ssh before stop");
    let marker = format!("/root/persist-{}", token());
    stdout_ok(&fleet.exec(&host.name, &format!("touch {marker}")), "mark");

    fleet.stop_host(&host.name);
    let out = fleet.ssh(&host.name, "true");
    assert!(
        !out.status.success(),
        "ssh to a stopped host succeeded: {}",
        common::describe(&out)
    );

    fleet.start_host(&host.name);
    let out = fleet.ssh(&host.name, &format!("hostname && test -e {marker}"));
    assert_eq!(stdout_ok(&out, "ssh after start").trim(), host.name);
    let port = Command::new("docker")
        .args(["port", &host.name, "22/tcp"])
        .output()
        .unwrap();
    assert_eq!(
        stdout_ok(&port, "docker port").trim(),
        format!("127.0.0.1:{}", host.port)
    );

    drop(fleet);
    let left = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=baton.fleet={prefix}"),
        ])
        .output()
        .unwrap();
    assert_eq!(stdout_ok(&left, "docker ps").trim(), "", "containers left");
}
