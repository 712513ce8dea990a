//! The file and network modules on real hosts (the shared fleet), each the way the issue asks:
//! in check mode first (every task predicts `changed`, and the host is left exactly as it was,
//! checked with docker exec), then for real with `--diff` (every task changes, the diff is
//! returned where Ansible returns one, the host holds what the task asked for), then again
//! (every task is `ok`: idempotence). Bad parameters fail before anything on the host changes.
//!
//! Each test works in its own directory on the first host (`/tmp/bmf-NAME`), so tests can run
//! in parallel and never disturb what other tests look at.

mod common;

use common::{Fleet, describe, run_baton};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// A task's status and result from baton's JSON output.
#[derive(Debug)]
struct Outcome {
    name: String,
    status: String,
    result: Json,
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-mf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("files")).unwrap();
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    dir
}

/// Runs `tasks` (YAML, indented for a play's task list) with baton on the first host.
fn play(fleet: &Fleet, dir: &Path, tasks: &str, flags: &[&str]) -> Vec<Outcome> {
    let host = &fleet.hosts()[0].name;
    let pb = format!("- hosts: fleet\n  gather_facts: false\n  tasks:\n{tasks}");
    std::fs::write(dir.join("play.yml"), pb).unwrap();
    let mut args: Vec<String> = vec![
        "play".into(),
        "-i".into(),
        fleet.inventory_path().display().to_string(),
        "-l".into(),
        host.clone(),
        "--output".into(),
        "json".into(),
        "play.yml".into(),
    ];
    args.extend(flags.iter().map(|f| f.to_string()));
    let out = run_baton(&args, dir);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut outcomes = Vec::new();
    let mut name = String::new();
    for line in text.lines() {
        let Ok(ev) = serde_json::from_str::<Json>(line) else {
            continue;
        };
        match ev["event"].as_str() {
            Some("task_start") => name = ev["name"].as_str().unwrap_or("").to_string(),
            Some("host_result") => outcomes.push(Outcome {
                name: name.clone(),
                status: ev["status"].as_str().unwrap_or("").to_string(),
                result: ev["result"].clone(),
            }),
            _ => {}
        }
    }
    assert!(
        !outcomes.is_empty(),
        "baton reported no task results: {}",
        describe(&out)
    );
    outcomes
}

/// Everything under the test's directory on the host: type, mode, owner, size, content hash.
fn snapshot(fleet: &Fleet, root: &str) -> String {
    let host = &fleet.hosts()[0].name;
    let out = fleet.exec(
        host,
        &format!(
            "cd {root} 2>/dev/null || {{ echo ABSENT; exit 0; }}; \
             find . -printf '%p %y %m %u %g %s %l\\n' | sort; find . -type f -exec md5sum {{}} + | sort -k2"
        ),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn host_sh(fleet: &Fleet, cmd: &str) -> String {
    let out = fleet.exec(&fleet.hosts()[0].name, cmd);
    assert!(out.status.success(), "{cmd}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn statuses(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| format!("{}={}", o.name, o.status))
        .collect()
}

/// The cycle: check mode changes nothing and predicts `changed` for every task; the
/// real run (with `--diff`) changes every task; a second run changes none. Returns the real
/// run's outcomes for the caller's own checks.
fn cycle(fleet: &Fleet, dir: &Path, root: &str, setup: &str, tasks: &str) -> Vec<Outcome> {
    host_sh(fleet, &format!("rm -rf {root}; {setup}"));
    let before = snapshot(fleet, root);
    let check = play(fleet, dir, tasks, &["--check"]);
    assert_eq!(
        snapshot(fleet, root),
        before,
        "check mode changed the host: {check:#?}"
    );
    let want: Vec<String> = check
        .iter()
        .map(|o| format!("{}=changed", o.name))
        .collect();
    assert_eq!(statuses(&check), want, "check mode: {check:#?}");
    let first = play(fleet, dir, tasks, &["--diff"]);
    assert_eq!(statuses(&first), want, "first run: {first:#?}");
    let second = play(fleet, dir, tasks, &[]);
    let ok: Vec<String> = second.iter().map(|o| format!("{}=ok", o.name)).collect();
    assert_eq!(statuses(&second), ok, "second run: {second:#?}");
    first
}

fn result<'a>(outcomes: &'a [Outcome], name: &str) -> &'a Json {
    &outcomes
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no task {name} in {outcomes:#?}"))
        .result
}

#[test]
fn file_states_modes_and_links() {
    let fleet = Fleet::shared();
    let dir = scratch("file");
    let root = "/tmp/bmf-file";
    let first = cycle(
        fleet,
        &dir,
        root,
        &format!(
            "mkdir -p {root}/old {root}/r/x && echo x > {root}/f && echo y > {root}/r/x/y && \
             chmod 644 {root}/f {root}/r/x/y && chmod 755 {root}/r {root}/r/x"
        ),
        &format!(
            "    - name: dir
      file: {{path: {root}/d/e, state: directory, mode: '0750'}}
    - name: mode
      file: {{path: {root}/f, mode: 'u=rw,g=,o='}}
    - name: owner
      file: {{path: {root}/f, owner: deploy, group: deploy}}
    - name: link
      file: {{src: f, dest: {root}/l, state: link}}
    - name: hard
      file: {{src: {root}/f, dest: {root}/h, state: hard}}
    - name: absent
      file: {{path: {root}/old, state: absent}}
    - name: recurse
      file: {{path: {root}/r, recurse: yes, mode: 'u=rwX,g=,o='}}
"
        ),
    );
    let d = result(&first, "dir");
    assert_eq!(d["mode"], "0750");
    assert_eq!(d["state"], "directory");
    assert_eq!(d["diff"]["before"]["state"], "absent");
    assert_eq!(result(&first, "mode")["diff"]["after"]["mode"], "0600");
    assert_eq!(result(&first, "link")["src"], "f");
    let st = host_sh(
        fleet,
        &format!(
            "stat -c '%a %U %G' {root}/f; readlink {root}/l; stat -c %a {root}/d {root}/d/e {root}/r {root}/r/x {root}/r/x/y; \
             [ -e {root}/old ] || echo gone"
        ),
    );
    assert_eq!(st, "600 deploy deploy\nf\n750\n750\n700\n700\n600\ngone\n");
}

#[test]
fn copy_and_template_put_files() {
    let fleet = Fleet::shared();
    let dir = scratch("copy");
    std::fs::write(dir.join("files/src.txt"), "from a file\n").unwrap();
    std::fs::create_dir_all(dir.join("files/tree/sub")).unwrap();
    std::fs::write(dir.join("files/tree/sub/x"), "x\n").unwrap();
    std::fs::write(
        dir.join("templates/t.j2"),
        "name={{ name }}\n{% if true %}\nkept\n{% endif %}\n",
    )
    .unwrap();
    let root = "/tmp/bmf-copy";
    let first = cycle(
        fleet,
        &dir,
        root,
        &format!("mkdir -p {root}"),
        &format!(
            "    - name: content
      copy: {{content: \"inline\\n\", dest: {root}/c, mode: '0640', owner: deploy}}
    - name: src
      copy: {{src: src.txt, dest: {root}/s}}
    - name: tree
      copy: {{src: tree, dest: {root}/}}
    - name: template
      template: {{src: t.j2, dest: {root}/t}}
      vars: {{name: baton}}
"
        ),
    );
    let c = result(&first, "content");
    assert_eq!(c["checksum"], "56993467da397ca887b9dac0ab9f0a23faace3e0");
    assert_eq!(c["mode"], "0640");
    assert_eq!(c["owner"], "deploy");
    assert_eq!(c["diff"][0]["after"], "inline\n");
    assert_eq!(c["diff"][0]["before"], "");
    assert_eq!(
        result(&first, "template")["diff"][0]["after"],
        "name=baton\nkept\n"
    );
    let st = host_sh(
        fleet,
        &format!("stat -c '%a %U' {root}/c; cat {root}/s {root}/tree/sub/x {root}/t"),
    );
    assert_eq!(st, "640 deploy\nfrom a file\nx\nname=baton\nkept\n");
}

#[test]
fn lineinfile_blockinfile_replace_edit_text() {
    let fleet = Fleet::shared();
    let dir = scratch("edit");
    let root = "/tmp/bmf-edit";
    let first = cycle(
        fleet,
        &dir,
        root,
        &format!("mkdir -p {root} && printf 'a=1\\nb=2\\n' > {root}/conf"),
        &format!(
            "    - name: line
      lineinfile: {{path: {root}/conf, regexp: '^a=', line: 'a=9'}}
    - name: block
      blockinfile: {{path: {root}/conf, block: \"x\\ny\"}}
    - name: replace
      replace: {{path: {root}/conf, regexp: '^b=(\\d)$', replace: 'b is \\1'}}
    - name: create
      lineinfile: {{path: {root}/new, line: hello, create: yes}}
"
        ),
    );
    assert_eq!(result(&first, "line")["msg"], "line replaced");
    assert_eq!(result(&first, "line")["diff"][0]["before"], "a=1\nb=2\n");
    assert_eq!(result(&first, "block")["msg"], "Block inserted");
    assert_eq!(result(&first, "replace")["msg"], "1 replacements made");
    let conf = host_sh(fleet, &format!("cat {root}/conf {root}/new"));
    assert_eq!(
        conf,
        "a=9\nb is 2\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\nhello\n"
    );
}

#[test]
fn script_unarchive_and_fetch() {
    let fleet = Fleet::shared();
    let dir = scratch("misc");
    std::fs::write(dir.join("files/s.sh"), "#!/bin/sh\necho \"$1\" > \"$2\"\n").unwrap();
    std::fs::create_dir_all(dir.join("arch/top")).unwrap();
    std::fs::write(dir.join("arch/top/inside"), "packed\n").unwrap();
    let st = std::process::Command::new("tar")
        .args(["-C", "arch", "-czf", "files/a.tgz", "top"])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let root = "/tmp/bmf-misc";
    let host = fleet.hosts()[0].name.clone();
    // script always runs; its creates= makes the second run skip it, as in Ansible.
    let tasks = format!(
        "    - name: unarchive
      unarchive: {{src: a.tgz, dest: {root}}}
"
    );
    let first = cycle(
        fleet,
        &dir,
        root,
        &format!("mkdir -p {root} && echo seed > {root}/seed"),
        &tasks,
    );
    assert_eq!(result(&first, "unarchive")["handler"], "TgzArchive");
    // fetch skips in check mode, as Ansible's does.
    let fetch = format!("    - name: fetch\n      fetch: {{src: {root}/seed, dest: got}}\n");
    assert_eq!(play(fleet, &dir, &fetch, &["--check"])[0].status, "skipped");
    assert!(!dir.join("got").exists(), "check mode fetched");
    assert_eq!(play(fleet, &dir, &fetch, &[])[0].status, "changed");
    assert_eq!(play(fleet, &dir, &fetch, &[])[0].status, "ok");
    let fetched = dir.join("got").join(&host).join("tmp/bmf-misc/seed");
    assert_eq!(std::fs::read_to_string(&fetched).unwrap(), "seed\n");
    assert_eq!(
        host_sh(fleet, &format!("cat {root}/top/inside")),
        "packed\n"
    );
    let script = format!(
        "    - name: script
      script: s.sh 'hello world' {root}/out
      args: {{creates: {root}/out}}
"
    );
    let check = play(fleet, &dir, &script, &["--check"]);
    assert_eq!(check[0].status, "skipped", "{check:#?}");
    let run = play(fleet, &dir, &script, &[]);
    assert_eq!(run[0].status, "changed", "{run:#?}");
    assert_eq!(run[0].result["rc"], 0);
    assert_eq!(host_sh(fleet, &format!("cat {root}/out")), "hello world\n");
    let again = play(fleet, &dir, &script, &[]);
    assert_eq!(again[0].status, "skipped", "{again:#?}");
}

#[test]
fn get_url_uri_and_wait_for() {
    let fleet = Fleet::shared();
    let dir = scratch("net");
    let root = "/tmp/bmf-net";
    let port = 18000 + (std::process::id() % 1000);
    host_sh(
        fleet,
        &format!(
            "rm -rf {root} {root}-www; mkdir -p {root} {root}-www && printf 'payload\\n' > {root}-www/p.txt && \
             printf '{{\"ok\": true}}' > {root}-www/j.json && \
             (cd {root}-www && setsid python3 -m http.server {port} >/dev/null 2>&1 < /dev/null &) && \
             bash -c 'for i in $(seq 20); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && exit 0; sleep 0.5; done; exit 1'"
        ),
    );
    let get = format!(
        "    - name: get
      get_url: {{url: 'http://127.0.0.1:{port}/p.txt', dest: {root}/p, mode: '0600'}}
"
    );
    let check = play(fleet, &dir, &get, &["--check"]);
    assert_eq!(check[0].status, "changed", "{check:#?}");
    assert!(host_sh(fleet, &format!("ls -A {root}")).is_empty());
    let first = play(fleet, &dir, &get, &[]);
    assert_eq!(first[0].status, "changed", "{first:#?}");
    assert_eq!(first[0].result["status_code"], 200);
    let second = play(fleet, &dir, &get, &[]);
    assert_eq!(second[0].status, "ok", "{second:#?}");
    assert_eq!(
        host_sh(fleet, &format!("stat -c %a {root}/p; cat {root}/p")),
        "600\npayload\n"
    );
    let other = format!(
        "    - name: uri
      uri: {{url: 'http://127.0.0.1:{port}/j.json'}}
    - name: missing
      uri: {{url: 'http://127.0.0.1:{port}/nope'}}
      ignore_errors: true
    - name: wait
      wait_for: {{port: {port}, timeout: 5}}
    - name: wait file
      wait_for: {{path: {root}/p, search_regex: 'pay(load)'}}
"
    );
    let out = play(fleet, &dir, &other, &[]);
    assert_eq!(result(&out, "uri")["json"]["ok"], true);
    assert_eq!(result(&out, "uri")["status"], 200);
    assert_eq!(
        result(&out, "missing")["msg"],
        "Status code was 404 and not [200]: HTTP Error 404: File not found"
    );
    assert_eq!(result(&out, "wait")["port"], port);
    assert_eq!(result(&out, "wait file")["match_groups"][0], "load");
    host_sh(
        fleet,
        &format!("pkill -f '[h]ttp.server {port}' || true; rm -rf {root}-www"),
    );
}

#[test]
fn bad_parameters_fail_before_touching_the_host() {
    let fleet = Fleet::shared();
    let dir = scratch("bad");
    let root = "/tmp/bmf-bad";
    host_sh(fleet, &format!("rm -rf {root}; mkdir -p {root}"));
    let before = snapshot(fleet, root);
    let cases: &[(&str, &str)] = &[
        (
            "file: {path: /tmp/bmf-bad/x, state: touch, colour: red}",
            "Unsupported parameters for (file) module: colour.",
        ),
        ("file: {state: touch}", "missing required arguments: path"),
        (
            "file: {path: /tmp/bmf-bad/x, state: touch, recurse: maybe}",
            "argument 'recurse' is of type str and we were unable to convert to bool",
        ),
        (
            "file: {path: /tmp/bmf-bad/x, state: touch, mode: '0x9'}",
            "mode must be in octal or symbolic form",
        ),
        (
            "copy: {content: x, dest: /tmp/bmf-bad/x, mode: 'rw-r--r--'}",
            "mode must be in octal or symbolic form",
        ),
        ("copy: {content: x}", "dest is required"),
        (
            "lineinfile: {path: /tmp/bmf-bad/x, line: x, state: maybe}",
            "value of state must be one of: absent, present, got: maybe",
        ),
        (
            "get_url: {url: 'http://127.0.0.1:1/x', dest: /tmp/bmf-bad/x, checksum: 'nocolon'}",
            "The checksum parameter has to be in format <algorithm>:<checksum>",
        ),
    ];
    for (task, want) in cases {
        let out = play(
            fleet,
            &dir,
            &format!("    - name: bad\n      {task}\n      ignore_errors: true\n"),
            &[],
        );
        assert_eq!(out[0].status, "failed", "{task}: {out:#?}");
        let msg = out[0].result["msg"].as_str().unwrap_or("");
        assert!(msg.starts_with(want), "{task}: got {msg:?}, want {want:?}");
        assert_eq!(snapshot(fleet, root), before, "{task} touched the host");
    }
    let r = play(
        fleet,
        &dir,
        "    - name: bad\n      file: {path: /tmp/bmf-bad/x, state: touch, mode: '0x9'}\n      ignore_errors: true\n",
        &[],
    );
    assert_eq!(
        r[0].result["details"],
        "bad symbolic permission for mode: 0x9"
    );
}
