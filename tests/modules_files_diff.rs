//! The file and network modules, differentially: one playbook under ansible-playbook (the
//! oracle) on one fresh host and under baton on another, three times each: in check mode, for
//! real with `--diff`, and again (idempotence). After every run the registered results of
//! every task, the recap and the files the play made (type, mode, owner, group, size, link
//! target and content, read with docker exec) must be equal.
//!
//! Results are compared key by key after removing what cannot be equal between two hosts or
//! two tools: timings and dates, Ansible's temporary paths (`src` of a written copy, a
//! download's temporary file), inode numbers and times of `stat`, the output of `script`
//! (Ansible runs it on a tty, so its stdout has `\r\n` and "Shared connection ... closed").
//! Known, deliberate differences are listed with the task in [`TASKS`].
//!
//! `ansible-playbook` must be on PATH (tests/run.sh puts ansible-core 2.19.14 from .venv-test
//! there); without it this test fails, it never skips.

mod common;

use common::{Fleet, describe, play_on_host, recap};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// A task: its register name, its YAML (indented as a task of the play), and the result keys
/// not to compare for it (beyond [`IGNORED`]).
struct Task {
    name: &'static str,
    yaml: &'static str,
    ignore: &'static [&'static str],
}

/// Keys never compared: timings, dates, Ansible's internals.
const IGNORED: &[&str] = &[
    "elapsed",
    "date",
    "last_modified",
    "exception",
    "invocation",
    "_ansible_no_log",
];

/// Keys of `stat` results that differ between two hosts.
const STAT_IGNORED: &[&str] = &["atime", "mtime", "ctime", "inode", "dev"];

const TASKS: &[Task] = &[
    Task {
        name: "dir",
        yaml: "file: {path: /tmp/bmfd, state: directory, mode: '0755'}",
        ignore: &[],
    },
    Task {
        name: "subdir",
        yaml: "file: {path: /tmp/bmfd/a/b, state: directory, mode: 'u=rwx,g=rx,o='}",
        ignore: &[],
    },
    Task {
        name: "touch",
        yaml: "file: {path: /tmp/bmfd/touched, state: touch, mode: '0640'}",
        // touch's diff holds the file's times.
        ignore: &["diff"],
    },
    Task {
        name: "copy_content",
        yaml: "copy: {content: \"hello\\n\", dest: /tmp/bmfd/c1, mode: '0644'}",
        ignore: &["src"],
    },
    Task {
        name: "copy_src",
        yaml: "copy: {src: hello.txt, dest: /tmp/bmfd/c2, owner: deploy, group: deploy, mode: '0600'}",
        ignore: &["src"],
    },
    Task {
        name: "copy_into_dir",
        yaml: "copy: {src: hello.txt, dest: /tmp/bmfd/a/}",
        ignore: &["src"],
    },
    Task {
        name: "copy_dir",
        yaml: "copy: {src: tree/, dest: /tmp/bmfd/tree}",
        ignore: &[],
    },
    Task {
        name: "copy_force_no",
        yaml: "copy: {content: \"other\\n\", dest: /tmp/bmfd/c1, force: no}",
        ignore: &["src"],
    },
    Task {
        name: "copy_remote",
        yaml: "copy: {src: /tmp/bmfd/c1, dest: /tmp/bmfd/c3, remote_src: yes, mode: '0600'}",
        ignore: &[],
    },
    Task {
        name: "copy_remote_dir",
        yaml: "copy: {src: /tmp/bmfd/tree, dest: /tmp/bmfd/rtree, remote_src: yes}",
        ignore: &[],
    },
    Task {
        name: "copy_remote_contents",
        yaml: "copy: {src: /tmp/bmfd/tree/, dest: /tmp/bmfd/rtree2/, remote_src: yes, owner: deploy, mode: '0750'}",
        ignore: &[],
    },
    Task {
        name: "copy_no_dir",
        yaml: "copy: {content: x, dest: /tmp/bmfd/nodir/x}",
        ignore: &[],
    },
    Task {
        name: "copy_no_dest",
        yaml: "copy: {content: x}",
        ignore: &[],
    },
    Task {
        name: "template",
        yaml: "template: {src: t.j2, dest: /tmp/bmfd/t1, mode: '0644'}",
        // Ansible renders into a temporary file whose path it shows as the diff's header.
        ignore: &["src", "diff"],
    },
    Task {
        name: "link",
        yaml: "file: {src: /tmp/bmfd/c1, dest: /tmp/bmfd/l1, state: link}",
        ignore: &[],
    },
    Task {
        name: "hard",
        yaml: "file: {src: /tmp/bmfd/touched, dest: /tmp/bmfd/h1, state: hard}",
        ignore: &[],
    },
    Task {
        name: "file_attrs",
        yaml: "file: {path: /tmp/bmfd/c3, owner: deploy, mode: 'g+r'}",
        ignore: &[],
    },
    Task {
        name: "file_missing",
        yaml: "file: {path: /tmp/bmfd/missing, state: file}",
        ignore: &[],
    },
    Task {
        name: "absent",
        yaml: "file: {path: /tmp/bmfd/a/b, state: absent}",
        ignore: &[],
    },
    Task {
        name: "lif_create",
        yaml: "lineinfile: {path: /tmp/bmfd/conf, line: 'a=1', create: yes, mode: '0600'}",
        ignore: &[],
    },
    Task {
        name: "lif_replace",
        yaml: "lineinfile: {path: /tmp/bmfd/conf, regexp: '^a=', line: 'a=2'}",
        ignore: &[],
    },
    Task {
        name: "lif_after",
        yaml: "lineinfile: {path: /tmp/bmfd/conf, line: 'b=1', insertafter: '^a='}",
        ignore: &[],
    },
    Task {
        name: "lif_backrefs",
        yaml: "lineinfile: {path: /tmp/bmfd/conf, regexp: '^(b)=(\\d)$', line: '\\1 = \\2', backrefs: yes}",
        ignore: &[],
    },
    Task {
        name: "lif_absent",
        yaml: "lineinfile: {path: /tmp/bmfd/conf, regexp: '^zzz', state: absent}",
        ignore: &[],
    },
    Task {
        name: "lif_missing",
        yaml: "lineinfile: {path: /tmp/bmfd/nofile, line: x}",
        ignore: &[],
    },
    Task {
        name: "bif",
        yaml: "blockinfile: {path: /tmp/bmfd/conf, block: \"x=1\\ny=2\"}",
        ignore: &[],
    },
    Task {
        name: "bif_marker",
        yaml: "blockinfile: {path: /tmp/bmfd/conf, block: top, insertbefore: BOF, marker: '// {mark} M'}",
        ignore: &[],
    },
    Task {
        name: "replace",
        yaml: "replace: {path: /tmp/bmfd/conf, regexp: '^(\\w)=(\\d)$', replace: '\\2:\\1'}",
        ignore: &[],
    },
    Task {
        name: "stat_file",
        yaml: "stat: {path: /tmp/bmfd/conf}",
        ignore: &[],
    },
    Task {
        name: "stat_link",
        yaml: "stat: {path: /tmp/bmfd/l1}",
        ignore: &[],
    },
    Task {
        name: "stat_dir",
        yaml: "stat: {path: /tmp/bmfd, get_checksum: no}",
        ignore: &[],
    },
    Task {
        name: "stat_missing",
        yaml: "stat: {path: /tmp/bmfd/none}",
        ignore: &[],
    },
    Task {
        name: "fetch",
        yaml: "fetch: {src: /tmp/bmfd/conf, dest: fetched}",
        ignore: &[],
    },
    Task {
        name: "fetch_flat",
        yaml: "fetch: {src: /tmp/bmfd/c1, dest: 'fetched/{{ inventory_hostname }}-c1', flat: yes}",
        ignore: &[],
    },
    Task {
        name: "script",
        yaml: "script: s.sh one 'two words'",
        // Ansible runs scripts on a tty: its output has \r\n and ssh's own messages.
        ignore: &["stdout", "stdout_lines", "stderr", "stderr_lines"],
    },
    Task {
        name: "unarchive",
        yaml: "unarchive: {src: a.tar.gz, dest: /tmp/bmfd/a}",
        ignore: &["src", "extract_results"],
    },
    Task {
        name: "wait_port",
        yaml: "wait_for: {port: 8765, timeout: 10}",
        ignore: &[],
    },
    Task {
        name: "wait_path",
        yaml: "wait_for: {path: /tmp/bmfd/conf, search_regex: 'BEGIN (M)', timeout: 3}",
        ignore: &[],
    },
    Task {
        name: "wait_port_banner",
        yaml: "wait_for: {port: 22, search_regex: OpenSSH, timeout: 10}",
        ignore: &[],
    },
    Task {
        name: "wait_port_no_banner",
        yaml: "wait_for: {port: 22, search_regex: 'NOT-THERE', timeout: 2}",
        ignore: &[],
    },
    Task {
        name: "wait_timeout",
        yaml: "wait_for: {port: 8799, timeout: 1}",
        ignore: &[],
    },
    Task {
        name: "get_url",
        yaml: "get_url: {url: 'http://127.0.0.1:8765/data.txt', dest: /tmp/bmfd/dl, mode: '0644'}",
        ignore: &["src"],
    },
    Task {
        name: "get_url_sum",
        yaml: "get_url: {url: 'http://127.0.0.1:8765/data.txt', dest: /tmp/bmfd/dl2, checksum: 'sha1:515cd1236417007a03c59d97407a977045eb6cd0'}",
        ignore: &["src"],
    },
    Task {
        name: "uri",
        yaml: "uri: {url: 'http://127.0.0.1:8765/data.json', return_content: yes}",
        ignore: &[],
    },
    Task {
        name: "uri_404",
        yaml: "uri: {url: 'http://127.0.0.1:8765/nope', status_code: [200, 201]}",
        // The error page's length and type come from the server's version.
        ignore: &["content_length", "content_type"],
    },
    Task {
        name: "bad_param",
        yaml: "file: {path: /tmp/bmfd/x, colour: red}",
        // Ansible lists its internal _diff_peek/_original_basename as supported too.
        ignore: &["msg"],
    },
    Task {
        name: "bad_mode",
        yaml: "file: {path: /etc/hostname, mode: '0x9'}",
        // baton refuses the mode before touching the host; Ansible fails on the host, after
        // reading the file's attributes, which it returns with the error.
        ignore: &[
            "gid", "group", "mode", "owner", "path", "size", "state", "uid",
        ],
    },
    Task {
        name: "missing_required",
        yaml: "file: {state: touch}",
        ignore: &[],
    },
];

/// The files the tasks use on the controller.
fn write_files(dir: &Path) {
    let files: &[(&str, &str)] = &[
        ("files/hello.txt", "hello\n"),
        ("files/tree/a.txt", "a\n"),
        ("files/tree/sub/b.txt", "b\n"),
        (
            "files/s.sh",
            "#!/bin/sh\necho \"args: $1|$2\"\necho oops >&2\n",
        ),
        (
            "templates/t.j2",
            "host={{ inventory_hostname | length }}\n{% for i in [1, 2] %}\nline {{ i }}\n{% endfor %}\n",
        ),
    ];
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
    }
    let arch = dir.join("arch/x");
    std::fs::create_dir_all(&arch).unwrap();
    std::fs::write(arch.join("f"), "in the archive\n").unwrap();
    let st = Command::new("tar")
        .args(["-C", "arch", "-czf", "files/a.tar.gz", "x"])
        .current_dir(dir)
        .status()
        .expect("tar");
    assert!(st.success(), "tar failed");
}

fn playbook() -> String {
    let mut p =
        String::from("- hosts: fleet\n  gather_facts: false\n  ignore_errors: true\n  tasks:\n");
    for t in TASKS {
        p.push_str(&format!(
            "    - name: {}\n      {}\n      register: r_{}\n",
            t.name, t.yaml, t.name
        ));
    }
    let entries: Vec<String> = TASKS
        .iter()
        .map(|t| format!("'{0}': r_{0}", t.name))
        .collect();
    p.push_str(&format!(
        "    - name: dump\n      copy:\n        content: \"{{{{ {{{}}} | to_json }}}}\"\n        dest: /tmp/bmfd-results.json\n      check_mode: false\n      diff: false\n",
        entries.join(", ")
    ));
    p
}

/// Runs one tool on one host; gives the output.
fn run(
    tool: &str,
    dir: &Path,
    inventory: &Path,
    host: &str,
    flags: &[&str],
) -> std::process::Output {
    play_on_host(tool, dir, inventory, host, flags, &[])
}

/// Replaces the host's name and drops what cannot be compared.
fn normalize(v: &Json, host: &str, ignore: &[&str]) -> Json {
    match v {
        Json::String(s) => Json::String(s.replace(host, "HOST")),
        Json::Array(a) => Json::Array(a.iter().map(|x| normalize(x, host, &[])).collect()),
        Json::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                if IGNORED.contains(&k.as_str()) || ignore.contains(&k.as_str()) {
                    continue;
                }
                if k == "failed" && x == &Json::Bool(false) {
                    continue;
                }
                if k == "stat" {
                    out.insert(k.clone(), normalize(x, host, STAT_IGNORED));
                    continue;
                }
                if (k == "backup_file" || k == "backup")
                    && x.as_str().is_some_and(|s| !s.is_empty())
                {
                    out.insert(k.clone(), Json::String("<backup>".into()));
                    continue;
                }
                out.insert(k.clone(), normalize(x, host, &[]));
            }
            Json::Object(out)
        }
        other => other.clone(),
    }
}

/// What the play left on the host.
fn files(fleet: &Fleet, host: &str) -> String {
    let out = fleet.exec(
        host,
        "cd /tmp/bmfd 2>/dev/null || exit 0; find . -printf '%p %y %m %u %g %s %l\\n' | sort; \
         find . -type f -exec md5sum {} + | sort -k2",
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn results(fleet: &Fleet, host: &str) -> BTreeMap<String, Json> {
    common::json_results(fleet, host, "/tmp/bmfd-results.json")
}

#[test]
fn file_and_network_modules_match_ansible_playbook() {
    let fleet = Fleet::dedicated("baton-mfd", 2);
    let hosts: Vec<String> = fleet.hosts().iter().map(|h| h.name.clone()).collect();
    let (ha, hb) = (hosts[0].clone(), hosts[1].clone());
    let dir = std::env::temp_dir().join(format!("baton-mfd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    write_files(&dir);
    std::fs::write(dir.join("play.yml"), playbook()).unwrap();
    // A web server on each host for get_url, uri and wait_for (python3 is there for Ansible).
    for h in &hosts {
        let out = fleet.exec(
            h,
            "mkdir -p /tmp/bmfd-www && printf 'downloaded\\n' > /tmp/bmfd-www/data.txt && \
             printf '{\"a\": [1, 2], \"b\": \"x\"}' > /tmp/bmfd-www/data.json && \
             (cd /tmp/bmfd-www && setsid python3 -m http.server 8765 >/dev/null 2>&1 < /dev/null &) && \
             bash -c 'for i in $(seq 20); do (exec 3<>/dev/tcp/127.0.0.1/8765) 2>/dev/null && exit 0; sleep 0.5; done; exit 1'",
        );
        assert!(
            out.status.success(),
            "web server on {h}: {}",
            describe(&out)
        );
    }
    let inventory = fleet.inventory_path();
    let mut failures = Vec::new();
    for (run_name, flags) in [
        ("check", &["--check"][..]),
        ("first", &["--diff"][..]),
        ("second", &[][..]),
    ] {
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| run("ansible", &dir, &inventory, &ha, flags));
            let b = s.spawn(|| run("baton", &dir, &inventory, &hb, flags));
            (a.join().unwrap(), b.join().unwrap())
        });
        let (sa, sb) = (
            String::from_utf8_lossy(&a.stdout).into_owned(),
            String::from_utf8_lossy(&b.stdout).into_owned(),
        );
        println!("== {run_name}: ansible-playbook\n{sa}\n== {run_name}: baton\n{sb}");
        if recap(&sa, &ha) != recap(&sb, &hb) {
            failures.push(format!(
                "{run_name}: recap differs: ansible {} / baton {}",
                recap(&sa, &ha),
                recap(&sb, &hb)
            ));
        }
        let (ra, rb) = (results(&fleet, &ha), results(&fleet, &hb));
        for t in TASKS {
            let x = normalize(&ra[t.name], &ha, t.ignore);
            let y = normalize(&rb[t.name], &hb, t.ignore);
            if x != y {
                failures.push(format!(
                    "{run_name}: task {} differs:\n  ansible: {x}\n  baton:   {y}",
                    t.name
                ));
            }
        }
        let (fa, fb) = (files(&fleet, &ha), files(&fleet, &hb));
        if fa != fb {
            failures.push(format!(
                "{run_name}: files differ:\n--- ansible\n{fa}--- baton\n{fb}"
            ));
        }
        // What fetch brought to the controller.
        for (h, tool) in [(&ha, "ansible"), (&hb, "baton")] {
            let got = std::fs::read_to_string(dir.join("fetched").join(h).join("tmp/bmfd/conf"));
            if run_name != "check" && got.is_err() {
                failures.push(format!("{run_name}: {tool} did not fetch conf"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} difference(s) from ansible-playbook:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
