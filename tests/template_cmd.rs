//! `baton template SRC -i INV --host HOST`: a template rendered with one host's variables to
//! stdout. The nginx-style upstream built from `groups[...]` and `hostvars[...]` is compared
//! with what ansible-core's own template module writes for the same host and inventory.

mod common;

use common::{describe, run_baton};
use std::path::{Path, PathBuf};
use std::process::Command;

const HOSTS: &str = "[app]
app1 ansible_host=10.0.0.11 app_port=3000
app2 ansible_host=10.0.0.12 app_port=3001 weight=3
app3 ansible_host=10.0.0.13 backup=true

[lb]
lb1 ansible_connection=local ansible_python_interpreter=@PYTHON@

[app:vars]
app_port=3000
";

const GROUP_VARS_ALL: &str = "upstream_name: \"{{ app_name }}_backend\"
app_name: hello
lb_method: least_conn
";

const UPSTREAM: &str = "# {{ ansible_managed }}
upstream {{ upstream_name }} {
    {{ lb_method }};
{% for h in groups['app'] %}
    server {{ hostvars[h]['ansible_host'] }}:{{ hostvars[h]['app_port'] }}\
{% if hostvars[h]['weight'] is defined %} weight={{ hostvars[h]['weight'] }}{% endif %}\
{% if hostvars[h]['backup'] | default(false) | bool %} backup{% endif %} max_fails=3 fail_timeout=10s;
{% endfor %}
    keepalive 16;
}
# for {{ inventory_hostname }} in {{ group_names | join(',') }}, {{ groups['all'] | length }} hosts
";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-tpl-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("group_vars")).unwrap();
    let python = common::repo_root().join(".venv-test/bin/python3");
    let python = std::fs::canonicalize(&python).unwrap_or(python);
    std::fs::write(
        dir.join("hosts.ini"),
        HOSTS.replace("@PYTHON@", &python.display().to_string()),
    )
    .unwrap();
    std::fs::write(dir.join("group_vars/all.yml"), GROUP_VARS_ALL).unwrap();
    std::fs::write(dir.join("upstream.conf.j2"), UPSTREAM).unwrap();
    std::fs::write(dir.join("ansible.cfg"), "").unwrap();
    dir
}

fn template(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["template"];
    all.extend_from_slice(args);
    run_baton(all, dir)
}

#[test]
fn nginx_upstream_from_groups_and_hostvars_equals_ansibles_template_module() {
    let dir = scratch("upstream");
    let out = template(
        &dir,
        &["upstream.conf.j2", "-i", "hosts.ini", "--host", "lb1"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let ours = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        ours.contains("    server 10.0.0.12:3001 weight=3 max_fails=3 fail_timeout=10s;\n"),
        "{ours}"
    );
    assert!(ours.contains("upstream hello_backend {\n"), "{ours}");

    // The oracle: ansible-core's template module on the same host, writing a file.
    let dest = dir.join("ansible-out.conf");
    let ansible = Command::new("ansible")
        .args(["lb1", "-i", "hosts.ini", "-m", "template", "-a"])
        .arg(format!("src=upstream.conf.j2 dest={}", dest.display()))
        .current_dir(&dir)
        .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
        .env("ANSIBLE_HOME", dir.join(".ansible"))
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible must be on PATH (tests/run.sh installs ansible-core into .venv-test)");
    assert!(ansible.status.success(), "{}", describe(&ansible));
    let theirs = std::fs::read_to_string(&dest).unwrap();
    assert_eq!(ours, theirs);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn extra_vars_win_and_another_host_sees_its_own_groups() {
    let dir = scratch("extra");
    let out = template(
        &dir,
        &[
            "upstream.conf.j2",
            "-i",
            "hosts.ini",
            "--host",
            "app2",
            "-e",
            "lb_method=ip_hash",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("    ip_hash;\n"), "{text}");
    assert!(text.contains("# for app2 in app, 4 hosts\n"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_name_the_template_line_and_column() {
    let dir = scratch("errors");
    std::fs::write(dir.join("undef.j2"), "line one\nport {{ nosuch.attr }}\n").unwrap();
    let out = template(&dir, &["undef.j2", "-i", "hosts.ini", "--host", "lb1"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'nosuch' is undefined"), "{err}");
    assert!(err.contains("undef.j2:2:9"), "{err}");
    assert!(out.stdout.is_empty(), "{}", describe(&out));

    std::fs::write(dir.join("syntax.j2"), "a\n  b {% if %}\n").unwrap();
    let out = template(&dir, &["syntax.j2", "-i", "hosts.ini", "--host", "lb1"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("syntax.j2:2:"), "{err}");
    assert!(err.contains(" 2 |   b {% if %}"), "{err}");

    let out = template(&dir, &["undef.j2", "-i", "hosts.ini", "--host", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the host 'nope' is not in the inventory"),
        "{err}"
    );

    let out = template(&dir, &["missing.j2", "-i", "hosts.ini", "--host", "lb1"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing.j2"),
        "{}",
        describe(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
