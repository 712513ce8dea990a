//! `baton play --shard K/N` and `baton report merge` on the fleet: four shard processes of one
//! playbook, run at once, merged, give the same per-host results, recap and exit status as
//! one unsharded run, and each host's work was done once, by one shard (checked by docker
//! exec); a play with `serial` is refused in shard mode, at the keyword.
//!
//! Each container carries four inventory names (each its own SSH connection), so twelve hosts
//! spread over the four shards.

mod common;

use common::{Fleet, baton_bin, describe};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - name: a directory per inventory name
      file: path={{ dir }}/{{ inventory_hostname }} state=directory
    - name: a file in it
      copy: content="{{ inventory_hostname }}\n" dest={{ dir }}/{{ inventory_hostname }}/name
    - name: one host fails
      command: "false"
      when: inventory_hostname is match('.*-n2$') and ansible_port | int == first_port | int
    - name: the rest go on
      command: echo {{ inventory_hostname }}
      changed_when: false
"#;

/// The fleet's hosts under four names each: `NAME-n0` .. `NAME-n3`, same address and port.
fn inventory(fleet: &Fleet, dir: &Path) -> (std::path::PathBuf, Vec<String>) {
    let mut lines = Vec::new();
    let mut names = Vec::new();
    for h in fleet.hosts() {
        for n in 0..4 {
            let name = format!("{}-n{n}", h.name);
            lines.push(format!(
                "{name} ansible_host=127.0.0.1 ansible_port={} ansible_user=root \
                 ansible_ssh_private_key_file={}",
                h.port,
                fleet.key_path().display()
            ));
            names.push(name);
        }
    }
    lines.push(String::new());
    lines.push("[all:vars]".into());
    lines.push(format!("first_port={}", fleet.hosts()[0].port));
    lines.push("ansible_host_key_checking=false".into());
    let path = dir.join("inventory.ini");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (path, names)
}

fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

fn play(dir: &Path, inv: &Path, run_dir: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(baton_bin());
    c.current_dir(dir)
        .args(["play", "play.yml", "-i"])
        .arg(inv)
        .args(["-e", &format!("dir={run_dir}")])
        .args(extra)
        .env("BATON_NO_PROGRESS", "1")
        .stdin(Stdio::null());
    c
}

/// Per task (in order) and host: the statuses of the host's results, from a JSON stream.
fn per_host(stream: &str) -> BTreeMap<(usize, String, String), String> {
    let mut out = BTreeMap::new();
    let mut task = (0usize, String::new());
    for line in stream.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        match v["event"].as_str().unwrap() {
            "task_start" => task = (task.0 + 1, v["name"].as_str().unwrap().to_string()),
            "host_result" => {
                let key = (task.0, task.1.clone(), v["host"].as_str().unwrap().into());
                let prev = out.insert(key.clone(), v["status"].as_str().unwrap().to_string());
                assert!(prev.is_none(), "two results for {key:?}");
            }
            _ => {}
        }
    }
    out
}

fn recap_section(stdout: &str) -> String {
    let at = stdout
        .find("PLAY RECAP")
        .unwrap_or_else(|| panic!("no recap: {stdout}"));
    stdout[at..].trim_end().to_string()
}

#[test]
fn four_shards_merged_equal_one_unsharded_run() {
    let fleet = Fleet::shared();
    let scratch = tempdir("shards");
    std::fs::write(scratch.join("play.yml"), PLAYBOOK).unwrap();
    let (inv, names) = inventory(fleet, &scratch);
    let t = token();
    let sharded_dir = format!("/tmp/baton-shards-{t}-sharded");
    let whole_dir = format!("/tmp/baton-shards-{t}-whole");

    // The four shards as four processes at once.
    let children: Vec<_> = (1..=4)
        .map(|k| {
            let out = std::fs::File::create(scratch.join(format!("shard{k}.json"))).unwrap();
            play(
                &scratch,
                &inv,
                &sharded_dir,
                &["--shard", &format!("{k}/4"), "--output", "json"],
            )
            .stdout(out)
            .spawn()
            .unwrap()
        })
        .collect();
    let mut codes = Vec::new();
    for mut c in children {
        codes.push(c.wait().unwrap().code());
    }
    // The failing host is in one shard: that shard alone ends with 2.
    assert_eq!(
        codes.iter().filter(|c| **c == Some(2)).count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == Some(0)).count(),
        3,
        "{codes:?}"
    );

    // Every host ran in exactly one shard, and the shards are not all empty.
    let mut seen = BTreeMap::new();
    for k in 1..=4 {
        let text = std::fs::read_to_string(scratch.join(format!("shard{k}.json"))).unwrap();
        let hosts: std::collections::BTreeSet<String> =
            per_host(&text).into_keys().map(|(_, _, h)| h).collect();
        assert!(hosts.len() < names.len(), "shard {k} ran every host");
        for h in hosts {
            assert!(seen.insert(h.clone(), k).is_none(), "{h} in two shards");
        }
    }
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        {
            let mut n = names.clone();
            n.sort();
            n
        },
        "every host in one shard"
    );

    let files: Vec<String> = (1..=4).map(|k| format!("shard{k}.json")).collect();
    let merged = Command::new(baton_bin())
        .current_dir(&scratch)
        .args([
            "report",
            "merge",
            "--json",
            "merged.json",
            "--report",
            "merged.html",
        ])
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(merged.status.code(), Some(2), "{}", describe(&merged));
    // The merged run's HTML report has every host, and the failed task with its message.
    let html = std::fs::read_to_string(scratch.join("merged.html")).unwrap();
    for n in &names {
        assert!(
            html.contains(n.as_str()),
            "{n} missing from the merged report"
        );
    }
    assert!(html.contains("one host fails"));
    assert!(html.contains("non-zero return code"));

    // One unsharded run, as JSON and as the terminal shows it.
    let whole_json = play(&scratch, &inv, &whole_dir, &["--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        whole_json.status.code(),
        Some(2),
        "{}",
        describe(&whole_json)
    );
    let clean = fleet.exec(&fleet.hosts()[0].name, &format!("rm -rf {whole_dir}"));
    assert!(clean.status.success());
    for h in &fleet.hosts()[1..] {
        fleet.exec(&h.name, &format!("rm -rf {whole_dir}"));
    }
    let whole_human = play(&scratch, &inv, &whole_dir, &[]).output().unwrap();
    assert_eq!(
        whole_human.status.code(),
        Some(2),
        "{}",
        describe(&whole_human)
    );

    let merged_stream = std::fs::read_to_string(scratch.join("merged.json")).unwrap();
    let whole_stream = String::from_utf8_lossy(&whole_json.stdout).into_owned();
    let merged_results = per_host(&merged_stream);
    assert_eq!(merged_results, per_host(&whole_stream));
    // Four tasks on every host, less the last on the one that failed.
    assert_eq!(merged_results.len(), 4 * names.len() - 1);
    assert_eq!(
        recap_section(&String::from_utf8_lossy(&merged.stdout)),
        recap_section(&String::from_utf8_lossy(&whole_human.stdout)),
    );
    let last: serde_json::Value =
        serde_json::from_str(merged_stream.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "run_end");
    assert_eq!(last["exit_code"], 2);

    // On the hosts: every inventory name's file, written once, by the sharded run.
    for h in fleet.hosts() {
        let out = fleet.exec(&h.name, &format!("cat {sharded_dir}/*/name"));
        let listed = String::from_utf8_lossy(&out.stdout);
        let mut files: Vec<&str> = listed.split_whitespace().collect();
        files.sort();
        let want: Vec<String> = (0..4).map(|n| format!("{}-n{n}", h.name)).collect();
        assert_eq!(files, want, "{}", describe(&out));
        fleet.exec(&h.name, &format!("rm -rf {sharded_dir} {whole_dir}"));
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn a_serial_play_is_refused_in_shard_mode() {
    let fleet = Fleet::shared();
    let scratch = tempdir("shards-serial");
    std::fs::write(
        scratch.join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks: []\n\
         - hosts: all\n  serial: 2\n  gather_facts: false\n  tasks:\n    - command: touch /tmp/never\n",
    )
    .unwrap();
    let (inv, _) = inventory(fleet, &scratch);
    let out = play(&scratch, &inv, "/tmp/unused", &["--shard", "1/2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(
        stderr.contains("`serial` cannot be used with --shard"),
        "{stderr}"
    );
    assert!(stderr.contains("play.yml:5:11"), "{stderr}");
    assert!(stderr.contains("   |           ^"), "{stderr}");
    // Refused before anything connected: no play ran, not even the first.
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("PLAY"),
        "{}",
        describe(&out)
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

fn tempdir(what: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("baton-{what}-{}", token()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
