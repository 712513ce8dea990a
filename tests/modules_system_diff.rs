//! The system modules, differentially: the same plays under ansible-playbook (the oracle, with
//! ansible.posix and community.general for authorized_key and npm) on one fresh host and under
//! baton on another, at the same time. Every task's registered result (on the keys both
//! tools return), the recap, the status of every task and the resulting state of the hosts
//! (read with docker exec: accounts, packages, services, crontabs, repositories, keys, the
//! checkout, Node and Python packages) must be equal.
//!
//! The module tasks run three times, as the issue asks: in check mode (each predicts a change
//! and the host is left as it was), for real with `--diff` (each changes), and again (each is
//! `ok`), except where Ansible itself says otherwise (`EXEMPT`). Then bad parameters, and the
//! facts: baton's `ansible_facts` against Ansible's, gathered on the same host.
//!
//! Not compared (`IGNORE`): apt's and pip's command output (the oracle's host also got
//! python3-apt, which Ansible installs for itself, so apt's package lists differ) and what is
//! random or timed. `ansible-playbook` must be on PATH; this test fails without it.

mod common;
mod system_support;

use common::{Fleet, describe};
use serde_json::Value as Json;
use std::path::Path;
use system_support::{Run, Task, compare, normalize, normalize_text, playbook, run, scratch, sh};

/// Everything the module tasks need, set up by both tools the same way (and compared too).
const PREP: &[Task] = &[
    Task {
        name: "prep_packages",
        yaml: "apt:\n  name: [cron, git, gnupg, nginx-light, python3-pip, python3-venv, nodejs, npm]\n  update_cache: true",
    },
    Task {
        name: "prep_keyuser",
        yaml: "command: useradd -m keyuser\nargs: {creates: /home/keyuser}",
    },
    Task {
        name: "prep_repo",
        yaml: "shell: >-\n  rm -rf /srv/repo.git /srv/work && git init -q --bare -b main /srv/repo.git &&\n  git clone -q /srv/repo.git /srv/work 2>/dev/null && cd /srv/work &&\n  git config user.email t@example.com && git config user.name T &&\n  echo one > README && git add README && git commit -q -m one && git tag v1 &&\n  echo two >> README && git commit -q -am two &&\n  git push -q --tags origin main\nargs: {creates: /srv/repo.git}",
    },
    Task {
        name: "prep_gpg_key",
        yaml: "shell: >-\n  export GNUPGHOME=$(mktemp -d) &&\n  gpg --batch --passphrase '' --quick-gen-key 'Test Key <t@example.com>' rsa2048 sign never >/dev/null 2>&1 &&\n  gpg --armor --export t@example.com > /tmp/test.asc\nargs: {creates: /tmp/test.asc}",
    },
    Task {
        name: "prep_dirs",
        yaml: "file: {path: /etc/yum.repos.d, state: directory}",
    },
    Task {
        name: "prep_app",
        yaml: "file: {path: /srv/app, state: directory}",
    },
    Task {
        name: "prep_app2",
        yaml: "file: {path: /srv/app2, state: directory}",
    },
    Task {
        name: "prep_package_json",
        yaml: "copy:\n  dest: /srv/app2/package.json\n  content: '{\"name\": \"app2\", \"version\": \"1.0.0\", \"dependencies\": {\"is-number\": \"7.0.0\"}, \"devDependencies\": {\"is-odd\": \"3.0.1\"}}'",
    },
    Task {
        name: "prep_deb",
        yaml: "shell: cd /tmp && apt-get download -q hello 2>/dev/null && mv hello_*.deb hello.deb\nargs: {creates: /tmp/hello.deb}",
    },
];

/// The module tasks, run in check mode, for real and again.
const TASKS: &[Task] = &[
    Task {
        name: "group",
        yaml: "group: {name: deployers, gid: 1500}",
    },
    Task {
        name: "user",
        yaml: "user: {name: appuser, shell: /bin/bash, groups: deployers, append: true, comment: App User}",
    },
    Task {
        name: "system_user",
        yaml: "user: {name: svcuser, system: true, create_home: false}",
    },
    Task {
        name: "authorized_key",
        yaml: "authorized_key:\n  user: keyuser\n  key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBatonTestKeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx test@baton",
    },
    Task {
        name: "apt",
        yaml: "apt: {name: [tree, jq], state: present}",
    },
    Task {
        name: "package",
        yaml: "package: {name: sl, state: present}",
    },
    Task {
        name: "apt_repository",
        yaml: "apt_repository: {repo: deb http://deb.debian.org/debian bookworm-backports main, update_cache: false}",
    },
    Task {
        name: "apt_key",
        yaml: "apt_key: {file: /tmp/test.asc}",
    },
    Task {
        name: "yum_repository",
        yaml: "yum_repository:\n  name: nodesource\n  description: Node.js Packages\n  baseurl: https://rpm.nodesource.com/pub_20.x/nodistro/nodejs/$basearch\n  gpgcheck: true\n  gpgkey: https://rpm.nodesource.com/gpgkey/ns-operations-public.key",
    },
    Task {
        name: "cron",
        yaml: "cron: {name: backup, minute: '30', hour: '2', job: /usr/local/bin/backup}",
    },
    Task {
        name: "cron_env",
        yaml: "cron: {name: PATH, env: true, job: '/usr/bin:/bin'}",
    },
    Task {
        name: "cron_file",
        yaml: "cron: {name: app, special_time: reboot, job: /opt/app/start, cron_file: app, user: root}",
    },
    Task {
        name: "git",
        yaml: "git: {repo: /srv/repo.git, dest: /srv/checkout, version: main}",
    },
    Task {
        name: "pip",
        yaml: "pip: {name: six, virtualenv: /srv/venv, virtualenv_command: python3 -m venv}",
    },
    Task {
        name: "npm",
        yaml: "npm: {name: pm2, global: true}",
    },
    Task {
        name: "npm_latest",
        yaml: "npm: {name: is-number, version: latest, global: true}",
    },
    Task {
        name: "systemd",
        yaml: "systemd: {name: nginx, state: stopped, enabled: false}",
    },
    Task {
        name: "service",
        yaml: "service: {name: cron, state: stopped, enabled: false}",
    },
    Task {
        name: "daemon_reload",
        yaml: "systemd_service: {daemon_reload: true}",
    },
    Task {
        name: "pause",
        yaml: "pause: {seconds: 1}",
    },
];

/// The second round: removals and changes of what the first round made, and the parameters
/// the first round does not use (apt latest/absent/deb/cache_valid_time, masked, restarted,
/// npm path/version/production, git version and force, free-form arguments with escapes).
/// `PREP2` dirties the checkout first, so that `force` has something to discard.
const PREP2: &[Task] = &[Task {
    name: "prep_dirty_checkout",
    yaml: "shell: echo local >> /srv/checkout/README",
}];

const TASKS2: &[Task] = &[
    Task {
        name: "apt_latest",
        yaml: "apt: {name: figlet, state: latest}",
    },
    Task {
        name: "apt_absent",
        yaml: "apt: {name: jq, state: absent, purge: true}",
    },
    Task {
        name: "apt_cache_valid",
        yaml: "apt: {update_cache: true, cache_valid_time: 86400}",
    },
    Task {
        name: "apt_deb",
        yaml: "apt: {deb: /tmp/hello.deb}",
    },
    Task {
        name: "apt_repository_absent",
        yaml: "apt_repository: {repo: deb http://deb.debian.org/debian bookworm-backports main, state: absent, update_cache: false}",
    },
    Task {
        name: "systemd_masked",
        yaml: "systemd: {name: nginx, masked: true}",
    },
    Task {
        name: "service_started",
        yaml: "service: {name: cron, state: started, enabled: true}",
    },
    Task {
        name: "systemd_restarted",
        yaml: "systemd: {name: cron, state: restarted, daemon_reload: true}",
    },
    Task {
        name: "npm_path_version",
        yaml: "npm: {name: is-odd, version: '3.0.1', path: /srv/app}",
    },
    Task {
        name: "npm_production",
        yaml: "npm: {path: /srv/app2, production: true}",
    },
    Task {
        name: "git_force",
        yaml: "git: {repo: /srv/repo.git, dest: /srv/checkout, version: v1, force: true}",
    },
    Task {
        name: "user_absent",
        yaml: "user: {name: svcuser, state: absent}",
    },
    Task {
        name: "group_absent",
        yaml: "group: {name: deployers, state: absent}",
    },
    Task {
        name: "authorized_key_absent",
        yaml: "authorized_key:\n  user: keyuser\n  state: absent\n  key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBatonTestKeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx test@baton",
    },
    Task {
        name: "cron_absent",
        yaml: "cron: {name: backup, state: absent}",
    },
    Task {
        name: "pip_absent",
        yaml: "pip: {name: six, state: absent, virtualenv: /srv/venv}",
    },
    Task {
        name: "kv_escapes",
        yaml: "lineinfile: path=/tmp/kv.txt line=\"a\\tb\\nc\" create=yes",
    },
];

/// Tasks whose status Ansible itself does not make "changed, changed, ok": (name, check,
/// first run, second run).
const EXEMPT: &[(&str, &str, &str, &str)] = &[
    ("daemon_reload", "ok", "ok", "ok"),
    ("pause", "ok", "ok", "ok"),
    // version=latest is never "installed" for the npm module: it installs on every run.
    ("npm_latest", "changed", "changed", "changed"),
    // The cache was updated by the preparation, within cache_valid_time.
    ("apt_cache_valid", "ok", "ok", "ok"),
    ("systemd_restarted", "changed", "changed", "changed"),
    // A line with a newline in it never equals one line of the file: appended every time.
    ("kv_escapes", "changed", "changed", "changed"),
    // With production, the devDependency stays missing from `npm ls`: installs every time.
    ("npm_production", "changed", "changed", "changed"),
];

/// Result keys not compared, per module.
const IGNORE: &[(&str, &[&str])] = &[
    (
        "prep_dnf_packages",
        &[
            "stdout",
            "stdout_lines",
            "stderr",
            "stderr_lines",
            "diff",
            "cache_update_time",
        ],
    ),
    (
        "prep_packages",
        &[
            "stdout",
            "stdout_lines",
            "stderr",
            "stderr_lines",
            "diff",
            "cache_update_time",
        ],
    ),
    (
        "apt",
        &[
            "stdout",
            "stdout_lines",
            "stderr",
            "stderr_lines",
            "diff",
            "cache_update_time",
        ],
    ),
    (
        "package",
        &[
            "stdout",
            "stdout_lines",
            "stderr",
            "stderr_lines",
            "diff",
            "cache_update_time",
        ],
    ),
    ("pip", &["stdout", "stdout_lines", "stderr", "stderr_lines"]),
    // The key ids of the generated key differ between hosts (a new key on each).
    (
        "apt_key",
        &["id", "short_id", "fp", "key_id", "before", "after"],
    ),
    ("systemd", &["status"]),
    ("service", &["status"]),
    ("pause", &["stdout", "start", "stop", "delta"]),
    ("prep_repo", &["stdout", "stdout_lines"]),
    // Ansible's temporary copy of the content on the host.
    ("prep_package_json", &["src"]),
    (
        "apt_latest",
        &[
            "stdout",
            "stdout_lines",
            "stderr",
            "stderr_lines",
            "diff",
            "cache_update_time",
        ],
    ),
    (
        "apt_absent",
        &[
            "stdout",
            "stdout_lines",
            "stderr",
            "stderr_lines",
            "diff",
            "cache_update_time",
        ],
    ),
    ("apt_cache_valid", &["cache_update_time"]),
    (
        "apt_deb",
        &["stdout", "stdout_lines", "stderr", "stderr_lines", "diff"],
    ),
    (
        "pip_absent",
        &["stdout", "stdout_lines", "stderr", "stderr_lines"],
    ),
    ("systemd_masked", &["status"]),
    ("service_started", &["status"]),
    ("systemd_restarted", &["status"]),
    ("prep_gpg_key", &["cmd", "stdout", "stdout_lines"]),
];

/// The state the tasks leave, read on a host with docker exec.
const STATE: &str = "getent passwd appuser svcuser keyuser; getent group deployers; id appuser 2>&1; \
    cat /home/keyuser/.ssh/authorized_keys 2>&1; stat -c '%a %U %n' /home/keyuser/.ssh /home/keyuser/.ssh/authorized_keys 2>&1; \
    dpkg-query -W -f '${Package} ${db:Status-Status}\\n' tree jq sl 2>&1; \
    ls /etc/apt/sources.list.d; cat /etc/apt/sources.list.d/*.list 2>&1; \
    cat /etc/yum.repos.d/*.repo 2>&1; \
    crontab -l 2>&1; cat /etc/cron.d/app 2>&1; \
    git -C /srv/checkout rev-parse --abbrev-ref HEAD 2>&1; git -C /srv/checkout log -1 --format=%s 2>&1; \
    /srv/venv/bin/pip list --format=freeze 2>/dev/null | grep -i '^six=='; \
    npm ls -g --depth=0 --parseable 2>/dev/null | xargs -rn1 basename | sort; \
    systemctl is-enabled nginx cron 2>&1; systemctl is-active nginx cron 2>&1; \
    apt-key list 2>/dev/null | grep -c 'Test Key'; \
    dpkg-query -W -f '${Package} ${db:Status-Status}\\n' figlet hello 2>&1; \
    git -C /srv/checkout tag --points-at HEAD 2>&1; cat /srv/checkout/README 2>&1; \
    ls /srv/app/node_modules /srv/app2/node_modules 2>&1; cat /tmp/kv.txt 2>&1; \
    rpm -qa --qf '%{NAME}-%{VERSION}\\n' 2>/dev/null | sort";

fn ignored(name: &str) -> &'static [&'static str] {
    IGNORE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, i)| *i)
        .unwrap_or(&[])
}

/// Runs the play in `dir` under both tools at once and describes every difference.
fn both(
    fleet: &Fleet,
    dir: &Path,
    hosts: (&str, &str),
    dump: &str,
    flags: &[&str],
) -> (Run, Run, Vec<String>) {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run("ansible", fleet, dir, hosts.0, dump, flags));
        let b = s.spawn(|| run("baton", fleet, dir, hosts.1, dump, flags));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut diffs = Vec::new();
    if a.recap != b.recap {
        diffs.push(format!("recap: ansible {} / baton {}", a.recap, b.recap));
    }
    if a.statuses != b.statuses {
        diffs.push(format!(
            "statuses:\n  ansible {:?}\n  baton   {:?}",
            a.statuses, b.statuses
        ));
    }
    for (name, ra) in &a.results {
        let Some(rb) = b.results.get(name) else {
            diffs.push(format!("{name}: baton registered nothing"));
            continue;
        };
        let na = normalize(ra, hosts.0, ignored(name));
        let nb = normalize(rb, hosts.1, ignored(name));
        let mut d = Vec::new();
        compare(&na, &nb, name, &mut d);
        diffs.extend(d);
    }
    (a, b, diffs)
}

fn state(fleet: &Fleet, host: &str) -> String {
    normalize_text(&sh(fleet, host, STATE), host)
}

fn expect_statuses(tasks: &[Task], run: &Run, phase: usize, label: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for t in tasks {
        let want = match EXEMPT.iter().find(|(n, ..)| *n == t.name) {
            Some((_, c, f, s)) => [*c, *f, *s][phase],
            None => ["changed", "changed", "ok"][phase],
        };
        let got = run
            .statuses
            .iter()
            .find(|(n, _)| n == t.name)
            .map(|(_, s)| s.as_str())
            .unwrap_or("missing");
        if got != want {
            bad.push(format!(
                "{label}: task {} is {got}, expected {want}",
                t.name
            ));
        }
    }
    bad
}

/// Runs `tasks` in check mode (which must leave both hosts as they were), for real with
/// `--diff`, and again, under both tools; collects every difference.
fn three_runs(
    fleet: &Fleet,
    dir: &Path,
    hosts: (&str, &str),
    tasks: &[Task],
    dump: &str,
    problems: &mut Vec<String>,
) {
    let (h1, h2) = hosts;
    std::fs::write(dir.join("play.yml"), playbook(tasks, dump, "")).unwrap();
    let before = (state(fleet, h1), state(fleet, h2));
    let phases: [(&str, &[&str]); 3] = [
        ("check", &["--check"]),
        ("first", &["--diff"]),
        ("again", &[]),
    ];
    for (i, (label, flags)) in phases.iter().enumerate() {
        let label = format!("{dump} {label}");
        let started = std::time::Instant::now();
        let (a, b, d) = both(fleet, dir, hosts, dump, flags);
        eprintln!("{label}: both tools done in {:.0?}", started.elapsed());
        problems.extend(d.into_iter().map(|x| format!("{label}: {x}")));
        problems.extend(expect_statuses(tasks, &a, i, &format!("{label} (ansible)")));
        problems.extend(expect_statuses(tasks, &b, i, &format!("{label} (baton)")));
        if i == 0 {
            let after = (state(fleet, h1), state(fleet, h2));
            if after.1 != before.1 {
                problems.push(format!(
                    "baton's check mode changed the host:\n--- before\n{}\n--- after\n{}",
                    before.1, after.1
                ));
            }
            if after.0 != before.0 {
                problems.push(format!(
                    "the oracle's check mode changed its host (test setup problem):\n{}\n{}",
                    before.0, after.0
                ));
            }
        }
        if !problems.is_empty() && i == 1 {
            eprintln!("baton's output of the first run:\n{}", b.output);
        }
    }
}

#[test]
fn system_modules_match_ansible_playbook() {
    let fleet = Fleet::dedicated("baton-mod-sysd", 2);
    let (h1, h2) = (fleet.hosts()[0].name.clone(), fleet.hosts()[1].name.clone());
    let hosts = (h1.as_str(), h2.as_str());
    let dir = scratch("diff");
    let mut problems: Vec<String> = Vec::new();

    // Prep: the same tasks under both tools.
    std::fs::write(dir.join("play.yml"), playbook(PREP, "bsys-prep", "")).unwrap();
    let started = std::time::Instant::now();
    let (a, b, d) = both(&fleet, &dir, hosts, "bsys-prep", &[]);
    eprintln!("prep: both tools done in {:.0?}", started.elapsed());
    assert!(
        a.statuses.iter().all(|(_, s)| s != "failed"),
        "the oracle's preparation failed:\n{}",
        a.output
    );
    problems.extend(d.into_iter().map(|x| format!("prep: {x}")));
    assert!(
        b.statuses.iter().all(|(_, s)| s != "failed"),
        "baton's preparation failed:\n{}",
        b.output
    );

    // The modules: check mode, --diff, again; then the second round the same way.
    three_runs(&fleet, &dir, hosts, TASKS, "bsys-mod", &mut problems);
    std::fs::write(dir.join("play.yml"), playbook(PREP2, "bsys-prep2", "")).unwrap();
    let (_, _, d) = both(&fleet, &dir, hosts, "bsys-prep2", &[]);
    problems.extend(d.into_iter().map(|x| format!("prep2: {x}")));
    three_runs(&fleet, &dir, hosts, TASKS2, "bsys-mod2", &mut problems);
    let (sa, sb) = (state(&fleet, &h1), state(&fleet, &h2));
    if sa != sb {
        problems.push(format!(
            "resulting state differs:\n--- ansible\n{sa}\n--- baton\n{sb}"
        ));
    }
    assert!(
        sb.contains("appuser:x:"),
        "the state read back is incomplete:\n{sb}"
    );

    // Bad parameters: the same failures, before anything is touched.
    const BAD: &[Task] = &[
        Task {
            name: "unknown",
            yaml: "user: {name: x, colour: red}",
        },
        Task {
            name: "missing",
            yaml: "apt: {state: present}",
        },
        Task {
            name: "wrong_int",
            yaml: "group: {name: x, gid: abc}",
        },
        Task {
            name: "wrong_choice",
            yaml: "service: {name: cron, state: maybe}",
        },
        Task {
            name: "wrong_list",
            yaml: "apt:\n  name: {a: 1}",
        },
        Task {
            name: "systemd_required",
            yaml: "systemd: {state: started}",
        },
        Task {
            name: "cron_special",
            yaml: "cron: {name: x, job: y, special_time: reboot, hour: '1'}",
        },
        Task {
            name: "git_no_dest",
            yaml: "git: {repo: /srv/repo.git}",
        },
    ];
    std::fs::write(dir.join("play.yml"), playbook(BAD, "bsys-bad", "")).unwrap();
    let snap = state(&fleet, &h2);
    let (_, _, d) = both(&fleet, &dir, hosts, "bsys-bad", &[]);
    problems.extend(d.into_iter().map(|x| format!("bad parameters: {x}")));
    if state(&fleet, &h2) != snap {
        problems.push("a task with bad parameters changed the host".into());
    }

    assert!(
        problems.is_empty(),
        "baton differs from ansible-playbook ({} problems):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// dnf on Debian hosts: Debian packages dnf, its Python bindings (which Ansible's module
/// imports), rpm and createrepo_c, so both tools can drive dnf against a local repository of
/// test packages built on the host (`local`: version 2.0 of each, `old`: version 1.0). The
/// module runs as on a RHEL host, but for `use_backend`, which Ansible's action plugin would
/// otherwise take from `ansible_pkg_mgr` (apt here).
const DNF_PREP: &[Task] = &[
    Task {
        name: "prep_dnf_packages",
        yaml: "apt: {name: [dnf, python3-dnf, rpm, createrepo-c], update_cache: true}",
    },
    Task {
        name: "prep_rpm_repos",
        yaml: r#"shell: |
  set -e
  mkdir -p /root/rpmbuild/SPECS /srv/rpmrepo /srv/rpmrepo-old /etc/yum.repos.d
  for v in 1.0 2.0; do for n in batonhello batonextra batongone batonyum; do
  printf 'Name: %s\nVersion: %s\nRelease: 1\nSummary: test\nLicense: MIT\nBuildArch: noarch\n%%description\ntest\n%%install\nmkdir -p %%{buildroot}/usr/share/%s\necho %s > %%{buildroot}/usr/share/%s/version\n%%files\n/usr/share/%s/version\n' $n $v $n $v $n $n > /root/rpmbuild/SPECS/$n.spec
  rpmbuild -bb --quiet /root/rpmbuild/SPECS/$n.spec >/dev/null 2>&1
  done; done
  cp /root/rpmbuild/RPMS/noarch/*-1.0-1.noarch.rpm /srv/rpmrepo-old/
  cp /root/rpmbuild/RPMS/noarch/*-2.0-1.noarch.rpm /srv/rpmrepo/
  createrepo_c -q /srv/rpmrepo; createrepo_c -q /srv/rpmrepo-old
  printf '[local]\nname=local\nbaseurl=file:///srv/rpmrepo\ngpgcheck=0\n[old]\nname=old\nbaseurl=file:///srv/rpmrepo-old\ngpgcheck=0\n' > /etc/yum.repos.d/local.repo
  rpm -i --nodeps /srv/rpmrepo-old/batonextra-1.0-1.noarch.rpm /srv/rpmrepo/batongone-2.0-1.noarch.rpm /srv/rpmrepo/batonyum-2.0-1.noarch.rpm
args: {creates: /etc/yum.repos.d/local.repo}"#,
    },
];

const DNF_TASKS: &[Task] = &[
    Task {
        name: "dnf_present",
        yaml: "dnf: {name: batonhello, state: present, use_backend: dnf4}",
    },
    Task {
        name: "dnf_latest",
        yaml: "dnf: {name: batonextra, state: latest, use_backend: dnf4}",
    },
    Task {
        name: "dnf_absent",
        yaml: "dnf: {name: [batongone, batonnothere], state: absent, use_backend: dnf4}",
    },
    Task {
        name: "yum_absent",
        yaml: "yum: {name: batonyum, state: absent, use_backend: dnf4}",
    },
];

#[test]
fn dnf_matches_ansible_playbook_on_a_local_rpm_repository() {
    let fleet = Fleet::dedicated("baton-mod-dnf", 2);
    let (h1, h2) = (fleet.hosts()[0].name.clone(), fleet.hosts()[1].name.clone());
    let hosts = (h1.as_str(), h2.as_str());
    let dir = scratch("dnf");
    let mut problems: Vec<String> = Vec::new();
    std::fs::write(dir.join("play.yml"), playbook(DNF_PREP, "bsys-dnfprep", "")).unwrap();
    let (a, b, d) = both(&fleet, &dir, hosts, "bsys-dnfprep", &[]);
    for r in [&a, &b] {
        assert!(
            r.statuses.iter().all(|(_, s)| s != "failed"),
            "the preparation failed:\n{}",
            r.output
        );
    }
    problems.extend(d.into_iter().map(|x| format!("prep: {x}")));
    three_runs(&fleet, &dir, hosts, DNF_TASKS, "bsys-dnf", &mut problems);
    let (sa, sb) = (state(&fleet, &h1), state(&fleet, &h2));
    if sa != sb {
        problems.push(format!(
            "resulting state differs:\n--- ansible\n{sa}\n--- baton\n{sb}"
        ));
    }
    assert!(
        sb.contains("batonextra-2.0")
            && sb.contains("batonhello-2.0")
            && !sb.contains("batongone")
            && !sb.contains("batonyum"),
        "the rpm database read back is not what the tasks make:\n{sb}"
    );
    assert!(
        problems.is_empty(),
        "baton differs from ansible-playbook ({} problems):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Facts whose values must equal Ansible's (gathered on the same host).
const EXACT: &[&str] = &[
    "hostname",
    "fqdn",
    "nodename",
    "domain",
    "default_ipv4",
    "default_ipv6",
    "all_ipv4_addresses",
    "all_ipv6_addresses",
    "os_family",
    "distribution",
    "distribution_version",
    "distribution_major_version",
    "distribution_minor_version",
    "distribution_release",
    "pkg_mgr",
    "service_mgr",
    "architecture",
    "machine",
    "system",
    "kernel",
    "kernel_version",
    "processor",
    "processor_vcpus",
    "processor_cores",
    "processor_count",
    "processor_threads_per_core",
    "processor_nproc",
    "memtotal_mb",
    "swaptotal_mb",
    "user_id",
    "user_uid",
    "user_gid",
    "user_dir",
    "user_shell",
    "user_gecos",
    "machine_id",
    "dns",
    "lsb",
    "selinux",
    "apparmor",
    "fips",
    "virtualization_type",
    "virtualization_role",
    "ssh_host_key_ed25519_public",
    "cmdline",
    "systemd",
    "_ansible_facts_gathered",
    "eth0",
    "lo",
];

/// Facts baton does not gather (see src/modules/setup.rs).
const NOT_GATHERED: &[&str] = &[
    "python",
    "python_version",
    "discovered_interpreter_python",
    "devices",
    "device_links",
    "mounts",
];

/// The facts the issue lists, gathered on the same host by both tools.
#[test]
fn facts_match_ansible_on_the_same_host() {
    let fleet = Fleet::dedicated("baton-mod-facts", 1);
    let host = fleet.hosts()[0].name.clone();
    let dir = scratch("facts");
    std::fs::write(
        dir.join("play.yml"),
        "- hosts: fleet\n  gather_facts: true\n  tasks:\n    - copy: {content: \"{{ ansible_facts | to_json }}\", dest: /tmp/bsys-facts.json}\n",
    )
    .unwrap();
    let read = |tool: &str| -> serde_json::Map<String, Json> {
        let r = system_support::run_raw(tool, &fleet, &dir, &host);
        assert!(r.status.success(), "{tool} failed: {}", describe(&r));
        let text = sh(&fleet, &host, "cat /tmp/bsys-facts.json");
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{tool}: facts not JSON ({e}): {text}"))
    };
    let a = read("ansible");
    let b = read("baton");
    let mut problems = Vec::new();
    for k in EXACT {
        if a.get(*k) != b.get(*k) {
            problems.push(format!(
                "{k}: ansible {} / baton {}",
                a.get(*k).unwrap_or(&Json::Null),
                b.get(*k).unwrap_or(&Json::Null)
            ));
        }
    }
    // Sets in Ansible (their order changes from run to run).
    for k in ["interfaces", "virtualization_tech_guest"] {
        let set = |m: &serde_json::Map<String, Json>| {
            let mut v: Vec<String> = m
                .get(k)
                .and_then(|x| x.as_array())
                .map(|a| a.iter().map(|x| x.to_string()).collect())
                .unwrap_or_default();
            v.sort();
            v
        };
        if set(&a) != set(&b) {
            problems.push(format!("{k}: ansible {:?} / baton {:?}", set(&a), set(&b)));
        }
    }
    // The environment, but for what belongs to one SSH session (its port, and the terminal
    // Ansible asks for and baton does not).
    let env = |m: &serde_json::Map<String, Json>| -> Json {
        let mut e = m.get("env").cloned().unwrap_or(Json::Null);
        if let Some(o) = e.as_object_mut() {
            for k in ["SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "TERM"] {
                o.remove(k);
            }
        }
        e
    };
    if env(&a) != env(&b) {
        problems.push(format!("env: ansible {} / baton {}", env(&a), env(&b)));
    }
    // date_time: the same keys, zone and day (the second may differ between two runs).
    let (da, db) = (&a["date_time"], &b["date_time"]);
    let keys = |d: &Json| -> Vec<String> {
        let mut k: Vec<String> = d
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };
    if keys(da) != keys(db) {
        problems.push(format!("date_time keys: {:?} / {:?}", keys(da), keys(db)));
    }
    for k in ["tz", "tz_dst", "tz_offset", "date", "weekday", "year"] {
        if da.get(k) != db.get(k) {
            problems.push(format!("date_time.{k}: {:?} / {:?}", da.get(k), db.get(k)));
        }
    }
    let epoch = |d: &Json| {
        d["epoch"]
            .as_str()
            .and_then(|e| e.parse::<i64>().ok())
            .unwrap_or(0)
    };
    if (epoch(da) - epoch(db)).abs() > 600 {
        problems.push(format!("date_time.epoch: {} / {}", epoch(da), epoch(db)));
    }
    // Every fact Ansible has, baton has, but for the ones it does not gather.
    for k in a.keys() {
        if !b.contains_key(k) && !NOT_GATHERED.contains(&k.as_str()) {
            problems.push(format!("{k}: only ansible has it"));
        }
    }
    subsets_and_cache(&fleet, &host, &mut problems);
    assert!(
        problems.is_empty(),
        "facts differ from Ansible's on {host}:\n{}",
        problems.join("\n")
    );
}

/// `gather_subset` and the jsonfile fact cache with smart gathering, under both tools on the
/// same host: the same facts gathered for each subset, the same cache file, and the second
/// run of a smart-gathering play served from the cache by both.
fn subsets_and_cache(fleet: &Fleet, host: &str, problems: &mut Vec<String>) {
    let dir = scratch("subsets");
    let keys_of = |m: &serde_json::Map<String, Json>| -> Vec<String> {
        m.keys()
            .filter(|k| !NOT_GATHERED.contains(&k.trim_start_matches("ansible_")))
            .cloned()
            .collect()
    };
    for subset in [
        "['!all']",
        "['!all', 'network']",
        "['!all', '!min', 'distribution']",
        "['hardware', '!network']",
        "['!all', 'virtual']",
    ] {
        std::fs::write(
            dir.join("play.yml"),
            format!(
                "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - setup: {{gather_subset: {subset}}}\n    - copy: {{content: \"{{{{ ansible_facts | to_json }}}}\", dest: /tmp/bsys-subset.json}}\n"
            ),
        )
        .unwrap();
        let read = |tool: &str| -> serde_json::Map<String, Json> {
            let r = system_support::run_raw(tool, fleet, &dir, host);
            assert!(
                r.status.success(),
                "{tool} ({subset}) failed: {}",
                describe(&r)
            );
            serde_json::from_str(&sh(fleet, host, "cat /tmp/bsys-subset.json")).unwrap()
        };
        let (a, b) = (read("ansible"), read("baton"));
        let (mut ka, mut kb) = (keys_of(&a), keys_of(&b));
        ka.sort();
        kb.sort();
        if subset != "['!all', '!min', 'distribution']" && !ka.contains(&"hostname".to_string()) {
            problems.push(format!("gather_subset {subset}: ansible gathered {ka:?}"));
        }
        if ka != kb {
            problems.push(format!(
                "gather_subset {subset}: ansible gathers {:?}, baton {:?}",
                ka.iter().filter(|k| !kb.contains(k)).collect::<Vec<_>>(),
                kb.iter().filter(|k| !ka.contains(k)).collect::<Vec<_>>()
            ));
        }
        for k in EXACT.iter().filter(|k| a.contains_key(**k)) {
            if a.get(*k) != b.get(*k) {
                problems.push(format!("gather_subset {subset}: {k} differs"));
            }
        }
    }

    // The cache: each tool in its own directory with its own ansible.cfg.
    let cfg = "[defaults]\ngathering = smart\nfact_caching = jsonfile\nfact_caching_connection = ./cache\nfact_caching_timeout = 0\nretry_files_enabled = false\n";
    let play = "- hosts: fleet\n  tasks:\n    - debug: {msg: \"{{ ansible_distribution }}\"}\n";
    let mut caches = Vec::new();
    for tool in ["ansible", "baton"] {
        let d = scratch(&format!("cache-{tool}"));
        std::fs::write(d.join("ansible.cfg"), cfg).unwrap();
        std::fs::write(d.join("play.yml"), play).unwrap();
        let first = system_support::run_raw(tool, fleet, &d, host);
        let second = system_support::run_raw(tool, fleet, &d, host);
        let gathered = |o: &std::process::Output| {
            String::from_utf8_lossy(&o.stdout).contains("TASK [Gathering Facts]")
        };
        if !first.status.success() || !gathered(&first) {
            problems.push(format!(
                "fact cache: {tool}'s first run did not gather: {}",
                describe(&first)
            ));
        }
        if !second.status.success() || gathered(&second) {
            problems.push(format!(
                "fact cache: {tool}'s second run gathered again (or failed): {}",
                describe(&second)
            ));
        }
        // ansible-core 2.19's layout: `s1_<host>` holding {"__payload__": "<JSON text>"}.
        let file = d.join("cache").join(format!("s1_{host}"));
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let cache: serde_json::Map<String, Json> = serde_json::from_str::<Json>(&text)
            .ok()
            .and_then(|w| w.get("__payload__")?.as_str().map(str::to_string))
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_else(|| {
                panic!(
                    "{tool} wrote no cache in Ansible's layout at {}: {text:.200}",
                    file.display()
                )
            });
        caches.push(cache);
    }
    let (mut ka, mut kb) = (keys_of(&caches[0]), keys_of(&caches[1]));
    ka.sort();
    kb.sort();
    if ka != kb {
        problems.push(format!(
            "fact cache: only in ansible's {:?}, only in baton's {:?}",
            ka.iter().filter(|k| !kb.contains(k)).collect::<Vec<_>>(),
            kb.iter().filter(|k| !ka.contains(k)).collect::<Vec<_>>()
        ));
    }
    for k in EXACT {
        let k = format!("ansible_{k}");
        let k = if k == "ansible__ansible_facts_gathered" {
            "_ansible_facts_gathered".to_string()
        } else {
            k
        };
        if caches[0].get(&k) != caches[1].get(&k) {
            problems.push(format!(
                "fact cache: {k}: ansible {:?} / baton {:?}",
                caches[0].get(&k),
                caches[1].get(&k)
            ));
        }
    }
}
