//! Input written to hurt must not crash or exhaust the controller (issue 16, items 4 and 5):
//! YAML alias bombs load in little memory or are refused at the alias, an include that never
//! stops ends in a clear error with the chain of includes, a whole `hostvars` renders, and a
//! panic (a bug) still ends with a recap and the JSON end event. Every case runs the baton
//! binary on localhost with the local connection; no fleet is needed.
//!
//! Time and memory are measured on the child itself (`wait4` gives its own peak resident set
//! size), with a 4 GB address-space limit so that a regression fails the test instead of taking
//! the machine's memory.

mod common;

use common::baton_bin;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished baton run left.
struct Run {
    /// The exit status, or 128 + the signal that ended it (134 for an abort).
    code: i32,
    stdout: String,
    stderr: String,
    seconds: f64,
    /// Peak resident set size of the baton process, in megabytes.
    max_rss_mb: f64,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:.2} s, {:.0} MB\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code,
            self.seconds,
            self.max_rss_mb,
            tail(&self.stdout),
            tail(&self.stderr)
        )
    }
}

/// The end of a long output, for assertion messages.
fn tail(s: &str) -> &str {
    let cut = s.len().saturating_sub(4000);
    let cut = (cut..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
    &s[cut..]
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// Runs baton in `dir` and measures it. `env` is added to the environment.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out_path = dir.join(".stdout");
    let err_path = dir.join(".stderr");
    let mut cmd = Command::new(baton_bin());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env("BATON_NO_PROGRESS", "1")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // SAFETY: setrlimit is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 4 << 30,
                rlim_max: 4 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    // Reaped below with wait4, not Child::wait: wait4 also gives the child's own peak memory.
    #[allow(clippy::zombie_processes)]
    let pid = cmd.spawn().expect("baton starts").id() as libc::pid_t;
    let deadline = start + Duration::from_secs(120);
    let mut status = 0;
    // SAFETY: rusage is plain data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waits for our own child; status and usage are valid for writing.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if Instant::now() > deadline {
            // SAFETY: our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let seconds = start.elapsed().as_secs_f64();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Run {
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        seconds,
        // Linux gives ru_maxrss in kilobytes.
        max_rss_mb: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// The acceptance bound of issue 16 for an alias bomb: loaded or refused within 5 s and 200 MB.
fn assert_small(r: &Run) {
    assert!(r.seconds < 5.0, "took {:.2} s: {r:?}", r.seconds);
    assert!(r.max_rss_mb < 200.0, "used {:.0} MB: {r:?}", r.max_rss_mb);
}

/// Neither a crash nor a stack overflow: what an abort leaves behind.
fn assert_no_crash(r: &Run) {
    assert!(r.code < 128, "ended by a signal: {r:?}");
    assert!(!r.stderr.contains("overflowed its stack"), "{r:?}");
    assert!(!r.stderr.contains("memory allocation"), "{r:?}");
}

/// A "billion laughs": ten levels of nine aliases, 9^10 (3.5 billion) strings if copied.
/// `indent` places it inside a mapping.
fn laughs(indent: &str) -> String {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    let mut text = format!(
        "{indent}a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    );
    for w in names.windows(2) {
        let items = vec![format!("*{}", w[0]); 9].join(",");
        text.push_str(&format!("{indent}{n}: &{n} [{items}]\n", n = w[1]));
    }
    text
}

const LOCAL: &[&str] = &["-i", "localhost,", "-c", "local"];

fn play_args<'a>(playbook: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["play", playbook];
    args.extend_from_slice(LOCAL);
    args.extend_from_slice(more);
    args
}

/// The bomb's innermost string, reached through every level: the data is all there, shared.
const USE_THE_BOMB: &str =
    "    - debug:\n        msg: \"{{ j | length }} {{ j[8][8][8][8][8][8][8][8][8][8] }}\"\n";

#[test]
fn alias_bomb_in_a_vars_file_loads_in_little_memory() {
    let dir = scratch("vars-file");
    write(&dir, "bomb.yml", &laughs(""));
    write(
        &dir,
        "play.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  vars_files: [bomb.yml]\n  tasks:\n{USE_THE_BOMB}"
        ),
    );
    let check = run(&dir, &play_args("play.yml", &["--syntax-check"]), &[]);
    assert_eq!(check.code, 0, "{check:?}");
    assert_small(&check);
    let r = run(&dir, &play_args("play.yml", &[]), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_small(&r);
    assert!(r.stdout.contains("\"msg\": \"9 lol\""), "{r:?}");
    assert!(r.stdout.contains("ok=1 "), "{r:?}");
}

#[test]
fn alias_bomb_in_play_vars_loads_in_little_memory() {
    let dir = scratch("play-vars");
    write(
        &dir,
        "play.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  vars:\n{}  tasks:\n{USE_THE_BOMB}",
            laughs("    ")
        ),
    );
    let check = run(&dir, &play_args("play.yml", &["--syntax-check"]), &[]);
    assert_eq!(check.code, 0, "{check:?}");
    assert_small(&check);
    let r = run(&dir, &play_args("play.yml", &[]), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_small(&r);
    assert!(r.stdout.contains("\"msg\": \"9 lol\""), "{r:?}");
}

#[test]
fn alias_bomb_walked_as_structure_is_refused_at_the_alias() {
    let dir = scratch("structure");
    // The anchors are play variables (free); `tags:` is structure, read tag by tag.
    write(
        &dir,
        "play.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  vars:\n{}  tasks:\n    - debug: msg=hi\n      tags: *j\n",
            laughs("    ")
        ),
    );
    let r = run(&dir, &play_args("play.yml", &["--syntax-check"]), &[]);
    assert_eq!(r.code, 4, "{r:?}");
    assert_small(&r);
    assert!(r.stderr.contains("alias bomb"), "{r:?}");
    // Line 16 is `      tags: *j`; the alias starts in column 13.
    assert!(r.stderr.contains("play.yml:16:13"), "{r:?}");
    assert!(r.stderr.contains("|             ^^"), "{r:?}");
}

#[test]
fn alias_bomb_in_a_yaml_inventory_is_loaded_and_not_listed() {
    let dir = scratch("inventory");
    write(
        &dir,
        "inv.yml",
        &format!(
            "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n  vars:\n{}",
            laughs("    ")
        ),
    );
    write(
        &dir,
        "play.yml",
        &format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n{USE_THE_BOMB}"),
    );
    let list = run(&dir, &["inventory", "-i", "inv.yml", "--list"], &[]);
    assert_small(&list);
    assert_no_crash(&list);
    assert_eq!(list.code, 1, "{list:?}");
    assert!(
        list.stderr
            .contains("' of the group 'all' is made of more than 1000000 values"),
        "{list:?}"
    );
    let r = run(&dir, &["play", "play.yml", "-i", "inv.yml"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_small(&r);
    assert!(r.stdout.contains("\"msg\": \"9 lol\""), "{r:?}");
}

/// The JSON lines of a run, parsed.
fn events(r: &Run) -> Vec<serde_json::Value> {
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{r:?}")))
        .collect()
}

#[test]
fn a_whole_hostvars_renders_without_itself() {
    let dir = scratch("hostvars");
    write(
        &dir,
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    play_var: 1\n  tasks:\n    - debug: var=hostvars\n    - debug:\n        msg: \"{{ hostvars['localhost'] }}\"\n    - debug:\n        msg: \"{{ hostvars }}\"\n",
    );
    let r = run(&dir, &play_args("play.yml", &["--output", "json"]), &[]);
    assert_no_crash(&r);
    assert_eq!(r.code, 0, "{r:?}");
    let results: Vec<serde_json::Value> = events(&r)
        .into_iter()
        .filter(|e| e["event"] == "host_result")
        .map(|e| e["result"].clone())
        .collect();
    assert_eq!(results.len(), 3, "{r:?}");
    let whole = [
        &results[0]["hostvars"]["localhost"],
        &results[1]["msg"],
        &results[2]["msg"]["localhost"],
    ];
    for host in whole {
        // What ansible-core 2.19 shows of the host (HostVarsVars): its variables and the magic
        // ones, without hostvars itself, omit or the play's variables.
        assert_eq!(host["inventory_hostname"], "localhost", "{host}");
        assert_eq!(host["groups"]["all"], serde_json::json!(["localhost"]));
        assert_eq!(host["group_names"], serde_json::json!(["ungrouped"]));
        assert_eq!(host["ansible_facts"], serde_json::json!({}));
        assert_eq!(host["ansible_run_tags"], serde_json::json!(["all"]));
        assert_eq!(host["ansible_skip_tags"], serde_json::json!([]));
        assert_eq!(host["ansible_forks"], 5);
        for absent in ["hostvars", "omit", "play_var"] {
            assert!(host.get(absent).is_none(), "{absent} in {host}");
        }
    }
}

#[test]
fn hostvars_is_undefined_in_another_hosts_variables() {
    // As in Ansible: a host's variables are templated without `hostvars` when read through it.
    let dir = scratch("hostvars-inner");
    write(
        &dir,
        "hosts",
        "a ansible_connection=local peer=\"{{ hostvars['b'].x }}\"\nb ansible_connection=local x=7\n",
    );
    write(
        &dir,
        "play.yml",
        "- hosts: a\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ peer }} {{ hostvars['a'].peer | default('undefined') }}\"\n",
    );
    let r = run(&dir, &["play", "play.yml", "-i", "hosts"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("\"msg\": \"7 undefined\""), "{r:?}");
}

#[test]
fn an_include_that_includes_itself_stops_with_the_chain() {
    let dir = scratch("self-include");
    write(&dir, "self.yml", "- include_tasks: self.yml\n");
    write(
        &dir,
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - include_tasks: self.yml\n    - debug: msg=never\n",
    );
    let r = run(&dir, &play_args("play.yml", &[]), &[]);
    assert_no_crash(&r);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "includes nest more than 1000 levels deep (an include that never stops including \
             itself?): play.yml:4:7 includes self.yml; 1000 times: {}/self.yml:1:3 includes \
             self.yml",
            dir.display()
        )),
        "{r:?}"
    );
    assert!(r.stdout.contains("PLAY RECAP"), "{r:?}");
    assert!(r.stdout.contains("ok=1000 changed=0"), "{r:?}");
    assert!(r.stdout.contains("failed=1 "), "{r:?}");
    assert!(!r.stdout.contains("\"msg\": \"never\""), "{r:?}");
    // The JSON lines end with the recap.
    let r = run(&dir, &play_args("play.yml", &["--output", "json"]), &[]);
    assert_eq!(r.code, 2, "{r:?}");
    let last = events(&r).pop().unwrap();
    assert_eq!(last["event"], "recap", "{r:?}");
    assert_eq!(last["hosts"]["localhost"]["failed"], 1, "{r:?}");
}

#[test]
fn two_files_including_each_other_are_named_as_a_cycle() {
    let dir = scratch("mutual-include");
    write(&dir, "a.yml", "- include_tasks: b.yml\n");
    write(&dir, "b.yml", "- debug: msg=b\n- include_tasks: a.yml\n");
    write(
        &dir,
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - include_tasks: a.yml\n",
    );
    let r = run(&dir, &play_args("play.yml", &[]), &[]);
    assert_no_crash(&r);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "play.yml:4:7 includes a.yml; 500 times: {d}/a.yml:1:3 includes b.yml, then \
             {d}/b.yml:2:3 includes a.yml",
            d = dir.display()
        )),
        "{r:?}"
    );
}

#[test]
fn too_deep_includes_end_the_run_whatever_rescues_them() {
    // Were the depth error a failure like others, `ignore_errors` and `rescue` would let each
    // level go on to its second include: 2^1000 includes.
    let dir = scratch("rescued-include");
    write(
        &dir,
        "twice.yml",
        "- include_tasks: twice.yml\n  ignore_errors: true\n- include_tasks: twice.yml\n  ignore_errors: true\n",
    );
    write(
        &dir,
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - block:\n        - include_tasks: twice.yml\n      rescue:\n        - include_tasks: twice.yml\n    - debug: msg=after\n- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=second\n",
    );
    let r = run(&dir, &play_args("play.yml", &[]), &[]);
    assert_no_crash(&r);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout
            .contains("ERROR! includes nest more than 1000 levels deep: the run stops"),
        "{r:?}"
    );
    assert!(r.stdout.contains("ok=1000 changed=0"), "{r:?}");
    assert!(r.stdout.contains("failed=1 "), "{r:?}");
    assert!(r.stdout.contains("rescued=0 "), "{r:?}");
    assert!(!r.stdout.contains("\"msg\": \"after\""), "{r:?}");
    assert!(!r.stdout.contains("\"msg\": \"second\""), "{r:?}");
}

#[test]
fn a_deep_recursion_that_ends_runs_to_its_end() {
    // 400 levels: ansible-core stops at about 250 (Python's recursion limit); baton runs it.
    let dir = scratch("deep-include");
    write(
        &dir,
        "deep.yml",
        "- set_fact:\n    depth: \"{{ depth | int + 1 }}\"\n- include_tasks: deep.yml\n  when: depth | int < 400\n",
    );
    write(
        &dir,
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    depth: 0\n  tasks:\n    - include_tasks: deep.yml\n    - debug: var=depth\n",
    );
    let r = run(&dir, &play_args("play.yml", &[]), &[]);
    assert_no_crash(&r);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("\"depth\": 400"), "{r:?}");
    // 400 includes, 400 set_facts, the debug; the 400th include is skipped.
    assert!(r.stdout.contains("ok=801 "), "{r:?}");
    assert!(r.stdout.contains("skipped=1 "), "{r:?}");
}

#[test]
fn duplicate_keys_warn_with_their_place() {
    let dir = scratch("duplicate-keys");
    write(
        &dir,
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: twice\n      debug: msg=hi\n      when: false\n      when: true\n    - include_tasks: inc.yml\n",
    );
    write(
        &dir,
        "inc.yml",
        "- debug: msg=inc\n  when: 1 == 2\n  when: 1 == 1\n",
    );
    let r = run(&dir, &play_args("play.yml", &[]), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    // The last value is the one used, as in Ansible: both tasks run.
    assert!(r.stdout.contains("\"msg\": \"hi\""), "{r:?}");
    assert!(r.stdout.contains("\"msg\": \"inc\""), "{r:?}");
    let first = "[WARNING]: Found duplicate mapping key 'when'.\n  --> play.yml:7:7\n   |\n 7 |       when: true\n   |       ^^^^\n  = Using last defined value only.\n";
    assert!(r.stdout.contains(first), "{r:?}");
    let included = "[WARNING]: Found duplicate mapping key 'when'.\n  --> ";
    assert_eq!(r.stdout.matches(included).count(), 2, "{r:?}");
    // The included file's warning comes while it is read: before `included:`.
    let at = r.stdout.find("inc.yml:3:3").expect("warning for inc.yml");
    assert!(at < r.stdout.find("included:").unwrap(), "{r:?}");
    // The same warnings are events in the JSON lines.
    let r = run(&dir, &play_args("play.yml", &["--output", "json"]), &[]);
    let warnings: Vec<String> = events(&r)
        .into_iter()
        .filter(|e| e["event"] == "warning")
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(warnings.len(), 2, "{r:?}");
    assert!(warnings[0].contains("play.yml:7:7"), "{warnings:?}");
    assert!(warnings[1].contains("inc.yml:3:3"), "{warnings:?}");
}

const TWO_PLAYS: &str = "- name: first\n  hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: fine\n      debug: msg=one\n    - name: boom\n      debug: msg=two\n    - name: after\n      debug: msg=three\n- name: second\n  hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: later\n      debug: msg=four\n";

#[test]
fn a_panic_in_a_task_fails_the_host_and_the_run_ends_with_a_recap() {
    let dir = scratch("panic-task");
    write(&dir, "play.yml", TWO_PLAYS);
    let r = run(
        &dir,
        &play_args("play.yml", &[]),
        &[("BATON_FAULT", "task:boom")],
    );
    assert_no_crash(&r);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout
            .contains("baton hit an internal error (a bug) running this task"),
        "{r:?}"
    );
    assert!(r.stdout.contains("ok=1 "), "{r:?}");
    assert!(r.stdout.contains("failed=1 "), "{r:?}");
    assert!(!r.stdout.contains("\"three\""), "{r:?}");
    assert!(
        r.stderr
            .contains("[ERROR]: baton hit an internal error (a bug) at "),
        "{r:?}"
    );
}

#[test]
fn a_panic_in_the_executor_still_ends_with_the_recap_event() {
    let dir = scratch("panic-play");
    write(&dir, "play.yml", TWO_PLAYS);
    let r = run(
        &dir,
        &play_args("play.yml", &["--output", "json"]),
        &[("BATON_FAULT", "play:second")],
    );
    assert_no_crash(&r);
    assert_eq!(r.code, 2, "{r:?}");
    let events = events(&r);
    let n = events.len();
    assert!(n >= 2, "{r:?}");
    assert_eq!(events[n - 2]["event"], "play_aborted", "{r:?}");
    assert!(
        events[n - 2]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("fault injected at play:second"),
        "{r:?}"
    );
    assert_eq!(events[n - 1]["event"], "recap", "{r:?}");
    assert_eq!(events[n - 1]["hosts"]["localhost"]["ok"], 3, "{r:?}");
}

#[test]
fn a_panic_before_the_run_is_an_error_not_an_abort() {
    let dir = scratch("panic-cli");
    write(&dir, "play.yml", TWO_PLAYS);
    let r = run(
        &dir,
        &play_args("play.yml", &[]),
        &[("BATON_FAULT", "cli:load")],
    );
    assert_no_crash(&r);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr
            .contains("ERROR! baton stopped on an internal error (a bug): fault injected"),
        "{r:?}"
    );
}
