//! `baton template SRC -i INV --host HOST`: a template rendered with one host's variables to
//! stdout. The nginx-style upstream built from `groups[...]` and `hostvars[...]` is compared
//! with what ansible-core's own template module writes for the same host and inventory; a
//! role's template (its defaults, vars and dependencies) with what ansible-playbook writes
//! running the role. Also: `--role`, roles paths, facts from the cache, and the messages that
//! name an undefined variable and where to define it.

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

/// Runs `baton template ARGS` in `dir` with `env` set (and nothing from the caller's
/// ANSIBLE_* settings that these tests set themselves).
fn template_env(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> std::process::Output {
    Command::new(common::baton_bin())
        .arg("template")
        .args(args)
        .current_dir(dir)
        .env_remove("ANSIBLE_ROLES_PATH")
        .env_remove("ANSIBLE_CACHE_PLUGIN")
        .env_remove("ANSIBLE_CACHE_PLUGIN_CONNECTION")
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run baton")
}

/// A role `web` that depends on a role `base`, each with defaults; `web` has vars, a template
/// that shows where each value came from, and a task writing it (for ansible-playbook).
fn roles(dir: &Path) {
    let files: &[(&str, &str)] = &[
        (
            "roles/base/defaults/main.yml",
            "base_port: 8000\nshared: from-base-defaults\nbase_only: base\n",
        ),
        ("roles/web/meta/main.yml", "dependencies:\n  - base\n"),
        (
            "roles/web/defaults/main.yml",
            "web_user: nobody\nweb_port: \"{{ base_port + 1 }}\"\nshared: from-web-defaults\n\
             from_inventory: role-defaults\nfrom_extra: role-defaults\nweb_mode: lax\n\
             greeting: \"hello {{ who }}\"\n",
        ),
        (
            "roles/web/vars/main.yml",
            "web_mode: strict\nvars_beat_inventory: role-vars\n",
        ),
        (
            "roles/web/tasks/main.yml",
            "- template:\n    src: site.conf.j2\n    dest: \"{{ out }}\"\n",
        ),
        (
            "roles/web/templates/site.conf.j2",
            "# {{ role_name }}\nuser={{ web_user }} port={{ web_port }} shared={{ shared }} base={{ base_only }}\n\
             inv={{ from_inventory }} vars={{ vars_beat_inventory }} extra={{ from_extra }} mode={{ web_mode }}\n",
        ),
        (
            "roles/web/templates/missing.j2",
            "# {{ role_name }}\nlisten {{ web_port }} {{ web_listen_address }};\n",
        ),
        ("roles/web/templates/greeting.j2", "{{ greeting }}\n"),
        (
            "group_vars/lb.yml",
            "from_inventory: inventory\nvars_beat_inventory: inventory\n",
        ),
        (
            "site.yml",
            "- hosts: lb1\n  gather_facts: false\n  roles:\n    - web\n",
        ),
    ];
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

#[test]
fn a_role_template_sees_the_role_defaults_and_vars_as_ansible_playbook_does() {
    let dir = scratch("role");
    roles(&dir);
    let extra = ["-e", "from_extra=extra", "-e", "web_mode=cli"];
    let mut args = vec![
        "roles/web/templates/site.conf.j2",
        "-i",
        "hosts.ini",
        "--host",
        "lb1",
    ];
    args.extend(extra);
    let out = template(&dir, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let ours = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        ours,
        "# web\nuser=nobody port=8001 shared=from-web-defaults base=base\n\
         inv=inventory vars=role-vars extra=extra mode=cli\n"
    );

    // The oracle: ansible-playbook runs the role, whose template task writes the file.
    let dest = dir.join("ansible-site.conf");
    let ansible = Command::new("ansible-playbook")
        .args(["site.yml", "-i", "hosts.ini"])
        .args(extra)
        .arg("-e")
        .arg(format!("out={}", dest.display()))
        .current_dir(&dir)
        .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
        .env("ANSIBLE_HOME", dir.join(".ansible"))
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible-playbook must be on PATH (tests/run.sh installs ansible-core)");
    assert!(ansible.status.success(), "{}", describe(&ansible));
    assert_eq!(ours, std::fs::read_to_string(&dest).unwrap());

    // --role NAME finds the same role in roles/ beside the current directory.
    let mut by_name = vec!["--role", "web", "site.conf.j2", "-i", "hosts.ini"];
    by_name.extend(["--host", "lb1"]);
    by_name.extend(extra);
    let out = template(&dir, &by_name);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), ours);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn role_is_found_through_roles_path_and_ansible_roles_path() {
    let dir = scratch("rolespath");
    let elsewhere = dir.join("elsewhere");
    roles(&elsewhere);
    let args = [
        "--role",
        "web",
        "site.conf.j2",
        "-i",
        "hosts.ini",
        "--host",
        "lb1",
    ];
    // Not beside the current directory: an error saying where it looked.
    let out = template_env(&dir, &args, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the role 'web' was not found in roles:"),
        "{err}"
    );
    assert!(err.contains("ANSIBLE_ROLES_PATH"), "{err}");

    let roles_dir = elsewhere.join("roles");
    let out = template_env(&dir, &args, &[("ANSIBLE_ROLES_PATH", &roles_dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.starts_with("# web\nuser=nobody port=8001 "), "{text}");
    // The role's defaults lose to the inventory beside the inventory file, as ever.
    assert!(text.contains("inv=role-defaults"), "{text}");

    std::fs::write(
        dir.join("ansible.cfg"),
        "[defaults]\nroles_path = elsewhere/roles\n",
    )
    .unwrap();
    let out = template_env(&dir, &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);

    let mut missing = args;
    missing[2] = "nope.j2";
    let out = template_env(&dir, &missing, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the template 'nope.j2' is not in the role"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_variable_is_named_with_where_to_define_it() {
    let dir = scratch("missing");
    roles(&dir);
    let out = template(
        &dir,
        &[
            "--role",
            "web",
            "missing.j2",
            "-i",
            "hosts.ini",
            "--host",
            "lb1",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "'web_listen_address' is undefined: define it in the inventory \
             (host_vars/lb1.yml, group_vars/lb.yml, group_vars/all.yml), in \
             roles/web/defaults/main.yml, or pass -e web_listen_address=..."
        ),
        "{err}"
    );
    assert!(
        err.contains("--> roles/web/templates/missing.j2:2:26\n"),
        "{err}"
    );
    let caret = format!("   | {}{}", " ".repeat(25), "^".repeat(18));
    assert!(
        err.contains(&format!(
            " 2 | listen {{{{ web_port }}}} {{{{ web_listen_address }}}};\n{caret}"
        )),
        "{err}"
    );

    // A defined variable whose value uses an undefined one: followed to that one.
    let out = template(
        &dir,
        &[
            "--role",
            "web",
            "greeting.j2",
            "-i",
            "hosts.ini",
            "--host",
            "lb1",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "'greeting' is undefined: its value in roles/web/defaults/main.yml uses 'who', \
             which is undefined: define it in the inventory"
        ),
        "{err}"
    );
    assert!(err.contains("greeting.j2:1:4"), "{err}");

    // A filter after an undefined variable: the variable is named, not the filter.
    std::fs::write(dir.join("filtered.j2"), "a\n {{ nope | upper }}\n").unwrap();
    let out = template(&dir, &["filtered.j2", "-i", "hosts.ini", "--host", "app1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "'nope' is undefined: define it in the inventory (host_vars/app1.yml, \
             group_vars/app.yml, group_vars/all.yml) or pass -e nope=..."
        ),
        "{err}"
    );
    assert!(err.contains("filtered.j2:2:5"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A jsonfile fact cache entry as ansible-core 2.19 writes it.
fn cache_facts(dir: &Path, host: &str, facts: serde_json::Value) {
    std::fs::create_dir_all(dir).unwrap();
    let outer = serde_json::json!({ "__payload__": facts.to_string() });
    std::fs::write(dir.join(format!("s1_{host}")), outer.to_string()).unwrap();
}

#[test]
fn nginx_lb_template_needs_the_lb_os_family_and_reads_facts_from_the_cache() {
    let dir = scratch("nginx");
    let roles_path = common::repo_root().join("roles");
    let args = [
        "--role",
        "nginx_lb",
        "nginx.conf.j2",
        "-i",
        "hosts.ini",
        "--host",
        "lb1",
    ];
    let out = template_env(&dir, &args, &[("ANSIBLE_ROLES_PATH", &roles_path)]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "'nginx_lb_user' is undefined: its value in {}/nginx_lb/vars/main.yml uses \
             'ansible_os_family', which is undefined: it is a fact of lb1 and no facts of lb1 \
             are known: gather them with --gather",
            roles_path.display()
        )),
        "{err}"
    );
    assert!(err.contains("nginx.conf.j2:3:9"), "{err}");

    let cache = dir.join("facts");
    cache_facts(
        &cache,
        "lb1",
        serde_json::json!({"ansible_os_family": "Debian", "ansible_default_ipv4": {"address": "10.0.0.2"}}),
    );
    cache_facts(
        &cache,
        "app2",
        serde_json::json!({"ansible_default_ipv4": {"address": "192.168.7.12"}}),
    );
    let env = [
        ("ANSIBLE_ROLES_PATH", roles_path.as_path()),
        ("ANSIBLE_CACHE_PLUGIN", Path::new("jsonfile")),
        ("ANSIBLE_CACHE_PLUGIN_CONNECTION", cache.as_path()),
    ];
    let out = template_env(&dir, &args, &env);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\nuser www-data;\n"), "{text}");
    // A backend's address is its default IPv4 address when its facts are known, else
    // ansible_host; its port is app_port.
    assert!(
        text.contains(
            "        server 10.0.0.11:3000 weight=1 max_fails=3 fail_timeout=10s;  # backend app1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("        server 192.168.7.12:3001 weight=1 "),
        "{text}"
    );
    // The inventory beats the role's defaults; -e beats the role's vars.
    let mut with_extra = args.to_vec();
    with_extra.extend(["-e", "nginx_lb_user=nginx", "-e", "nginx_lb_max_fails=7"]);
    let out = template_env(&dir, &with_extra, &env);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\nuser nginx;\n"), "{text}");
    assert!(text.contains(" max_fails=7 "), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gather_asks_the_host_for_its_facts_first() {
    let dir = scratch("gather");
    std::fs::write(
        dir.join("facts.j2"),
        "{{ ansible_os_family }}|{{ ansible_facts.os_family }}|{{ ansible_hostname }}\n",
    )
    .unwrap();
    // lb1 is reached with the local connection: its facts are this machine's.
    let out = template(
        &dir,
        &["facts.j2", "-i", "hosts.ini", "--host", "lb1", "--gather"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let parts: Vec<&str> = text.trim_end().split('|').collect();
    assert_eq!(parts.len(), 3, "{text}");
    assert!(!parts[0].is_empty() && parts[0] == parts[1], "{text}");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let hostname = hostname.trim().split('.').next().unwrap().to_string();
    assert_eq!(parts[2], hostname, "{text}");

    // A host that does not answer: the error names it, nothing is rendered.
    std::fs::write(
        dir.join("down.ini"),
        "[lb]\nlb1 ansible_host=127.0.0.1 ansible_port=1 ansible_user=nobody\n",
    )
    .unwrap();
    let out = template(
        &dir,
        &[
            "facts.j2", "-i", "down.ini", "--host", "lb1", "--gather", "-T", "3",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--gather: cannot gather the facts of lb1: "),
        "{err}"
    );
    let out = template(
        &dir,
        &[
            "facts.j2",
            "-i",
            "hosts.ini",
            "--host",
            "lb1",
            "--gather=nomatch",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
