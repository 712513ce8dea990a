//! What the system-module tests share (`mod system_support;` next to `mod common;`): running a
//! play with baton or with the ansible-playbook oracle, reading back every task's registered
//! result, the recap, and the host's state through docker exec; normalizing what cannot be
//! equal between two hosts or two runs.
#![allow(dead_code)] // each test binary uses a different part of this module

use crate::common::{Fleet, ansible_playbook, describe, play_on_host, repo_root};
use serde_json::Value as Json;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A task of a test play: its name (also its register name, `r_<name>`) and its YAML (the
/// module and the keywords, indented as inside a task).
pub struct Task {
    pub name: &'static str,
    pub yaml: &'static str,
}

/// One run of a play on one host.
#[derive(Debug)]
pub struct Run {
    pub output: String,
    pub code: Option<i32>,
    /// Per task, in order: name and status as shown (ok, changed, failed, skipping).
    pub statuses: Vec<(String, String)>,
    /// The registered results, by task name.
    pub results: serde_json::Map<String, Json>,
    pub recap: String,
}

/// The Python that runs `ansible-playbook` (its `#!` line).
fn oracle_python() -> PathBuf {
    let script = ansible_playbook();
    let text = std::fs::read_to_string(&script).unwrap_or_default();
    let first = text.lines().next().unwrap_or("");
    let interp = first
        .trim_start_matches("#!")
        .split_whitespace()
        .next()
        .unwrap_or("");
    if interp.starts_with('/') && !interp.ends_with("/env") {
        return PathBuf::from(interp);
    }
    script.parent().unwrap().join("python3")
}

/// A collections directory with `community.general` (npm), `ansible.posix` (authorized_key)
/// and `amazon.aws` (the aws_ec2 inventory plugin), which ansible-core alone lacks: taken from
/// the `ansible` package on PyPI (pip's ordinary download) and cached in target/, so the oracle
/// can run those modules.
pub fn oracle_collections() -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = DIR.get_or_init(|| {
        let root = repo_root().join("target/oracle-collections");
        let marker = root.join("ansible_collections/community/general/plugins/modules/npm.py");
        let posix = root.join("ansible_collections/ansible/posix/plugins/modules/authorized_key.py");
        let aws = root.join("ansible_collections/amazon/aws/plugins/inventory/aws_ec2.py");
        if marker.is_file() && posix.is_file() && aws.is_file() {
            return Ok(root);
        }
        std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
        let py = oracle_python();
        let dl = root.join("wheel");
        let out = Command::new(&py)
            .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q"])
            .arg("ansible>=12,<13")
            .arg("-d")
            .arg(&dl)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", py.display()))?;
        if !out.status.success() {
            return Err(format!("pip download ansible failed: {}", describe(&out)));
        }
        let script = "import sys, zipfile, glob\n\
            w = sorted(glob.glob(sys.argv[1] + '/ansible-*.whl'))[-1]\n\
            z = zipfile.ZipFile(w)\n\
            for n in z.namelist():\n\
            \x20   if n.startswith(('ansible_collections/community/general/', 'ansible_collections/ansible/posix/', 'ansible_collections/amazon/aws/')):\n\
            \x20       z.extract(n, sys.argv[2])\n";
        let out = Command::new(&py)
            .args(["-c", script])
            .arg(&dl)
            .arg(&root)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() || !marker.is_file() || !aws.is_file() {
            return Err(format!("extracting the collections failed: {}", describe(&out)));
        }
        let _ = std::fs::remove_dir_all(&dl);
        Ok(root)
    });
    match r {
        Ok(p) => p.clone(),
        Err(e) => panic!("the oracle's collections are not available:\n{e}"),
    }
}

/// The play: the tasks, each registered, then one task that writes every registered result
/// to `/tmp/<dump>.json` on the host (read back with docker exec).
pub fn playbook(tasks: &[Task], dump: &str, vars: &str) -> String {
    let mut p =
        format!("- hosts: fleet\n  gather_facts: false\n  ignore_errors: true\n{vars}  tasks:\n");
    for t in tasks {
        p.push_str(&format!("    - name: {}\n", t.name));
        for line in t.yaml.lines() {
            p.push_str(&format!("      {line}\n"));
        }
        p.push_str(&format!("      register: r_{}\n", t.name));
    }
    let entries: Vec<String> = tasks
        .iter()
        .map(|t| format!("'{0}': r_{0} | default(None)", t.name))
        .collect();
    p.push_str(&format!(
        "    - name: dump\n      copy:\n        content: \"{{{{ {{{}}} | to_json }}}}\"\n        dest: /tmp/{dump}.json\n      check_mode: false\n      diff: false\n",
        entries.join(", ")
    ));
    p
}

/// Runs `play.yml` of `dir` with one tool on one host; gives its output.
pub fn run_raw(tool: &str, fleet: &Fleet, dir: &Path, host: &str) -> Output {
    run_tool(tool, fleet, dir, host, &[])
}

fn run_tool(tool: &str, fleet: &Fleet, dir: &Path, host: &str, flags: &[&str]) -> Output {
    let collections = oracle_collections();
    play_on_host(
        tool,
        dir,
        &fleet.inventory_path(),
        host,
        flags,
        &[
            ("ANSIBLE_COLLECTIONS_PATH", collections.as_os_str()),
            ("ANSIBLE_FORCE_COLOR", OsStr::new("0")),
        ],
    )
}

/// Runs `play.yml` of `dir` with one tool on one host and reads everything back.
pub fn run(tool: &str, fleet: &Fleet, dir: &Path, host: &str, dump: &str, flags: &[&str]) -> Run {
    let _ = fleet.exec(host, &format!("rm -f /tmp/{dump}.json"));
    let out = run_tool(tool, fleet, dir, host, flags);
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dumped = fleet.exec(host, &format!("cat /tmp/{dump}.json"));
    let results: serde_json::Map<String, Json> = serde_json::from_slice(&dumped.stdout)
        .unwrap_or_else(|e| panic!("{tool}: no results dumped ({e}); its output:\n{output}"));
    Run {
        statuses: statuses(&output, host),
        recap: recap(&output, host),
        code: out.status.code(),
        output,
        results,
    }
}

/// Task banners and the host's status under each, as ansible-playbook prints them.
pub fn statuses(out: &str, host: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut task = String::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("TASK [") {
            task = rest.split(']').next().unwrap_or("").to_string();
            continue;
        }
        for st in ["ok", "changed", "failed", "fatal", "skipping"] {
            if line.starts_with(&format!("{st}: [{host}]")) {
                let st = if st == "fatal" { "failed" } else { st };
                v.push((task.clone(), st.to_string()));
            }
        }
    }
    v.retain(|(t, _)| t != "dump");
    v
}

/// The recap counts of the host.
pub fn recap(out: &str, host: &str) -> String {
    out.lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .find(|l| l.starts_with(host))
        .map(|l| {
            l[host.len()..]
                .trim_start_matches([' ', ':'])
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "no recap".into())
}

/// Text as it can be compared between hosts and runs: the host name, SHA-1s, download speeds
/// and times, npm's log file names, timestamps.
pub fn normalize_text(s: &str, host: &str) -> String {
    let mut s = s.replace(host, "HOST");
    for (re, to) in [
        (r"\b[0-9a-f]{40}\b", "SHA"),
        (r"\([0-9.]+ [kMG]?B/s\)", "(SPEED)"),
        (r"Fetched ([0-9.]+ [kMG]?B) in [0-9.]+s", "Fetched $1 in T"),
        (r"\d{4}-\d\d-\d\dT\d\d_\d\d_\d\d_\d+Z", "TIME"),
        (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", "TIME"),
        (r"SHA256:[A-Za-z0-9+/]{43}", "SHA256:FP"),
    ] {
        s = regex::Regex::new(re)
            .unwrap()
            .replace_all(&s, to)
            .into_owned();
    }
    s
}

/// A registered result as it can be compared: `ignore`d keys (and Ansible's internals)
/// dropped, text normalized.
pub fn normalize(v: &Json, host: &str, ignore: &[&str]) -> Json {
    const INTERNAL: &[&str] = &[
        "invocation",
        "exception",
        "_ansible_no_log",
        "warnings",
        "deprecations",
        "ansible_facts",
        "start",
        "end",
        "delta",
    ];
    match v {
        Json::String(s) => Json::String(normalize_text(s, host)),
        Json::Array(a) => Json::Array(a.iter().map(|x| normalize(x, host, ignore)).collect()),
        Json::Object(m) => Json::Object(
            m.iter()
                .filter(|(k, _)| !INTERNAL.contains(&k.as_str()) && !ignore.contains(&k.as_str()))
                .map(|(k, x)| (k.clone(), normalize(x, host, ignore)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The differences between two results on the keys both have (and the keys only one has).
pub fn compare(a: &Json, b: &Json, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => compare(va, vb, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: only ansible has it ({va})")),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(format!("{path}.{k}: only baton has it ({})", y[k]));
            }
        }
        _ if a != b => out.push(format!("{path}: ansible {a} / baton {b}")),
        _ => {}
    }
}

/// Runs a shell command in the container (docker exec), stdout as text.
pub fn sh(fleet: &Fleet, host: &str, cmd: &str) -> String {
    let out = fleet.exec(host, cmd);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh scratch directory on the controller.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-sys-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
