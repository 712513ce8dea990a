//! `baton template` against what a play really writes: the nginx_lb role configures the load
//! balancer of a dedicated 4-host fleet (`playbooks/nginx.yml`, inventory `inventories/local`
//! with the fleet's `fleet.ini`), and the role's template rendered by `baton template` for the
//! same host and inventory must be the file on the host byte for byte, read through docker exec:
//! once with the facts the play left in a jsonfile fact cache, once with facts gathered by
//! `--gather` (and the role named with `--role`).

mod common;

use common::{Fleet, describe, repo_root};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// baton with `args` in the repository, the fact cache `cache` (if any) configured through the
/// environment, nothing else of the caller's Ansible settings.
fn baton(args: &[&str], cache: Option<&Path>) -> Output {
    let mut cmd = Command::new(common::baton_bin());
    cmd.args(args)
        .current_dir(repo_root())
        .env_remove("ANSIBLE_CONFIG")
        .env_remove("ANSIBLE_ROLES_PATH")
        .env_remove("ANSIBLE_CACHE_PLUGIN")
        .env_remove("ANSIBLE_CACHE_PLUGIN_CONNECTION")
        .env("BATON_NO_PROGRESS", "1")
        .stdin(Stdio::null());
    if let Some(dir) = cache {
        cmd.env("ANSIBLE_CACHE_PLUGIN", "jsonfile")
            .env("ANSIBLE_CACHE_PLUGIN_CONNECTION", dir);
    }
    cmd.output().expect("run baton")
}

#[test]
fn template_renders_the_nginx_conf_the_role_writes_on_the_load_balancer() {
    let fleet = Fleet::dedicated("baton-tplf", 4);
    let (inv, _) = common::local_inventory(&fleet);
    let inv = inv.to_str().unwrap();
    let cache = fleet.dir().join("facts");
    let lb = fleet.hosts()[3].name.clone();

    let out = baton(&["play", "playbooks/nginx.yml", "-i", inv], Some(&cache));
    assert!(out.status.success(), "baton play: {}", describe(&out));
    let on_host = fleet.exec(&lb, "cat /etc/nginx/nginx.conf");
    assert!(on_host.status.success(), "{}", describe(&on_host));
    let written = String::from_utf8(on_host.stdout).expect("nginx.conf is UTF-8");
    // The upstream lists the app hosts by the addresses their facts gave (not ansible_host,
    // which is 127.0.0.1 for every fleet host), and the user Debian's package creates.
    assert_eq!(written.matches("# backend app").count(), 3, "{written}");
    assert!(!written.contains("server 127.0.0.1:"), "{written}");
    assert!(written.contains("\nuser www-data;\n"), "{written}");

    // The facts the play cached.
    let out = baton(
        &[
            "template",
            "roles/nginx_lb/templates/nginx.conf.j2",
            "-i",
            inv,
            "--host",
            "lb1",
        ],
        Some(&cache),
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), written);

    // Facts gathered now, of every host (the upstream needs the app hosts' addresses).
    let out = baton(
        &[
            "template",
            "--role",
            "nginx_lb",
            "nginx.conf.j2",
            "-i",
            inv,
            "--host",
            "lb1",
            "--gather=all",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), written);

    // Without facts, the message says which fact is missing and how to get it.
    let out = baton(
        &[
            "template",
            "--role",
            "nginx_lb",
            "nginx.conf.j2",
            "-i",
            inv,
            "--host",
            "lb1",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("uses 'ansible_os_family', which is undefined: it is a fact of lb1"),
        "{err}"
    );
}
