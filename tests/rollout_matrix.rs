//! The rollout rules, differentially: the same playbooks under ansible-playbook (the oracle)
//! and baton, on the same real hosts. For every case the tasks each batch ran on which hosts,
//! the recap, the exit status, and what each host recorded (read back with docker exec) must be
//! equal.
//!
//! `ansible-playbook` must be on PATH (tests/run.sh puts ansible-core from .venv-test there).
//! One case: `cargo test --test rollout_matrix -- --nocapture` and read the case name it prints.

mod common;

use common::{Fleet, describe, run_baton};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Case {
    name: &'static str,
    serial: Option<&'static str>,
    max_fail: Option<&'static str>,
    any_errors_fatal: bool,
    /// Indexes of the hosts whose middle task fails.
    fail: &'static [usize],
    ignore_errors: bool,
    /// Wrap the failing task in a block with a rescue.
    rescue: bool,
    /// A host stopped (so unreachable) for this case.
    down: Option<usize>,
}

const CASES: &[Case] = &[
    Case {
        name: "serial1_mfp30_second_fails",
        serial: Some("1"),
        max_fail: Some("30"),
        any_errors_fatal: false,
        fail: &[1],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial2_mfp25_first_fails",
        serial: Some("2"),
        max_fail: Some("25"),
        any_errors_fatal: false,
        fail: &[0],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial30pct_mfp0_fourth_fails",
        serial: Some("'30%'"),
        max_fail: Some("0"),
        any_errors_fatal: false,
        fail: &[3],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial50pct_mfp50_two_fail",
        serial: Some("'50%'"),
        max_fail: Some("50"),
        any_errors_fatal: false,
        fail: &[0, 1],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial_list_mfp30",
        serial: Some("[1, '50%']"),
        max_fail: Some("30"),
        any_errors_fatal: false,
        fail: &[2],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial2_any_errors_fatal",
        serial: Some("2"),
        max_fail: None,
        any_errors_fatal: true,
        fail: &[1],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "no_serial_mfp25_two_fail",
        serial: None,
        max_fail: Some("25"),
        any_errors_fatal: false,
        fail: &[0, 1],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "no_serial_mfp25_one_fails",
        serial: None,
        max_fail: Some("25"),
        any_errors_fatal: false,
        fail: &[4],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial1_first_fails_no_mfp",
        serial: Some("1"),
        max_fail: None,
        any_errors_fatal: false,
        fail: &[0],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial3_mfp30_first_fails",
        serial: Some("3"),
        max_fail: Some("30"),
        any_errors_fatal: false,
        fail: &[0],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial2_mfp0_ignored",
        serial: Some("2"),
        max_fail: Some("0"),
        any_errors_fatal: false,
        fail: &[0, 3],
        ignore_errors: true,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial2_mfp0_rescued",
        serial: Some("2"),
        max_fail: Some("0"),
        any_errors_fatal: false,
        fail: &[1],
        ignore_errors: false,
        rescue: true,
        down: None,
    },
    Case {
        name: "no_serial_no_policy_two_fail",
        serial: None,
        max_fail: None,
        any_errors_fatal: false,
        fail: &[1, 3],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial_zero_means_all",
        serial: Some("0"),
        max_fail: Some("10"),
        any_errors_fatal: false,
        fail: &[2],
        ignore_errors: false,
        rescue: false,
        down: None,
    },
    Case {
        name: "serial2_mfp0_unreachable_first",
        serial: Some("2"),
        max_fail: Some("0"),
        any_errors_fatal: false,
        fail: &[],
        ignore_errors: false,
        rescue: false,
        down: Some(0),
    },
    Case {
        name: "serial2_fatal_unreachable",
        serial: Some("2"),
        max_fail: None,
        any_errors_fatal: true,
        fail: &[],
        ignore_errors: false,
        rescue: false,
        down: Some(1),
    },
    Case {
        name: "no_serial_mfp20_unreachable_and_fail",
        serial: None,
        max_fail: Some("20"),
        any_errors_fatal: false,
        fail: &[3],
        ignore_errors: false,
        rescue: false,
        down: Some(2),
    },
];

/// Rollout cases as literal playbooks, for rules that span batches and plays: `{trace}` is the
/// file each host records into, `{h0}`..`{h4}` the fleet's host names.
const LITERAL_CASES: &[(&str, &str)] = &[
    (
        "mfp_counts_failures_of_earlier_batches",
        r#"- hosts: fleet
  gather_facts: false
  serial: 2
  max_fail_percentage: 50
  tasks:
    - name: before
      shell: echo before >> {trace}
    - name: maybe fail
      command: /bin/false
      when: inventory_hostname in ['{h0}', '{h2}']
    - name: after
      shell: echo after >> {trace}
"#,
    ),
    (
        "failed_hosts_stay_in_later_plays_batches",
        r#"- hosts: fleet
  gather_facts: false
  tasks:
    - name: fail one
      command: /bin/false
      when: inventory_hostname == '{h1}'
- hosts: fleet
  gather_facts: false
  serial: 2
  tasks:
    - name: second play
      shell: echo second >> {trace}
"#,
    ),
    (
        "mfp_counts_failures_of_earlier_plays",
        r#"- hosts: fleet
  gather_facts: false
  tasks:
    - name: fail one
      command: /bin/false
      when: inventory_hostname == '{h4}'
- hosts: fleet
  gather_facts: false
  serial: 2
  max_fail_percentage: 40
  tasks:
    - name: second play
      shell: echo second >> {trace}
    - name: more
      shell: echo more >> {trace}
"#,
    ),
    (
        "run_once_failure_is_fatal",
        r#"- hosts: fleet
  gather_facts: false
  serial: 3
  tasks:
    - name: before
      shell: echo before >> {trace}
    - name: once
      command: /bin/false
      run_once: true
    - name: after
      shell: echo after >> {trace}
"#,
    ),
    (
        "block_any_errors_fatal",
        r#"- hosts: fleet
  gather_facts: false
  tasks:
    - block:
        - name: fail one
          command: /bin/false
          when: inventory_hostname == '{h3}'
      any_errors_fatal: true
    - name: after
      shell: echo after >> {trace}
"#,
    ),
];

/// Handler cases: literal playbooks; `{trace}` is the file each host records into.
const HANDLER_CASES: &[(&str, &str)] = &[
    (
        "notify_across_batches",
        r#"- hosts: fleet
  gather_facts: false
  serial: 2
  tasks:
    - name: change
      shell: echo change >> {trace}
      notify: [h1, h2]
    - name: no change
      command: "true"
      changed_when: false
      notify: h3
  handlers:
    - name: h2
      shell: echo h2 >> {trace}
    - name: h1
      shell: echo h1 >> {trace}
    - name: h3
      shell: echo h3 >> {trace}
"#,
    ),
    (
        "flush_and_listen",
        r#"- hosts: fleet
  gather_facts: false
  tasks:
    - name: one
      shell: echo one >> {trace}
      notify: topic
    - meta: flush_handlers
    - name: two
      shell: echo two >> {trace}
      notify: topic
  handlers:
    - name: by listen
      shell: echo listened >> {trace}
      listen: topic
    - name: also
      shell: echo also >> {trace}
      listen: topic
"#,
    ),
    (
        "failed_host_skips_handlers",
        r#"- hosts: fleet
  gather_facts: false
  tasks:
    - name: change
      shell: echo change >> {trace}
      notify: h
    - name: fail one
      command: /bin/false
      when: inventory_hostname == groups['fleet'][1]
  handlers:
    - name: h
      shell: echo handler >> {trace}
"#,
    ),
    (
        "force_handlers",
        r#"- hosts: fleet
  gather_facts: false
  force_handlers: true
  tasks:
    - name: change
      shell: echo change >> {trace}
      notify: h
    - name: fail one
      command: /bin/false
      when: inventory_hostname == groups['fleet'][1]
  handlers:
    - name: h
      shell: echo handler >> {trace}
"#,
    ),
    (
        "handler_notifies_handler",
        r#"- hosts: fleet
  gather_facts: false
  tasks:
    - name: change
      shell: echo change >> {trace}
      notify: first
  handlers:
    - name: second
      shell: echo second >> {trace}
    - name: first
      shell: echo first >> {trace}
      notify: second
    - name: third
      shell: echo third >> {trace}
"#,
    ),
    (
        "pre_post_sections",
        r#"- hosts: fleet
  gather_facts: false
  serial: 3
  pre_tasks:
    - name: pre
      shell: echo pre >> {trace}
      notify: h
  tasks:
    - name: main
      shell: echo main >> {trace}
      notify: h
  post_tasks:
    - name: post
      shell: echo post >> {trace}
      notify: h
  handlers:
    - name: h
      shell: echo handler >> {trace}
"#,
    ),
];

/// The free strategy on real hosts: (name, playbook, host to stop). Hosts run on their own, so
/// results interleave differently from run to run: these are compared host by host.
const FREE_CASES: &[(&str, &str, Option<usize>)] = &[
    (
        "free_serial2_failure_handlers",
        r#"- name: free rollout
  hosts: fleet
  gather_facts: false
  strategy: free
  serial: 2
  max_fail_percentage: 0
  tasks:
    - name: uneven
      shell: sleep {{ 1 if inventory_hostname == '{h0}' else 0 }}; echo uneven >> {trace}
      notify: restart
    - name: maybe fail
      command: /bin/false
      when: inventory_hostname == '{h1}'
    - name: after
      shell: echo after >> {trace}
  handlers:
    - name: restart
      shell: echo handler >> {trace}

- name: second play
  hosts: fleet
  gather_facts: false
  tasks:
    - name: later
      shell: echo later >> {trace}
"#,
        None,
    ),
    (
        "free_one_host_unreachable",
        r#"- name: free with a host down
  hosts: fleet
  gather_facts: false
  strategy: free
  serial: 2
  tasks:
    - name: first
      shell: echo first >> {trace}
    - name: second
      shell: echo second >> {trace}
"#,
        Some(2),
    ),
    (
        "free_whole_batch_unreachable",
        r#"- name: free, serial 1, first host down
  hosts: fleet
  gather_facts: false
  strategy: free
  serial: 1
  tasks:
    - name: first
      shell: echo first >> {trace}

- name: not reached
  hosts: fleet
  gather_facts: false
  tasks:
    - name: later
      shell: echo later >> {trace}
"#,
        Some(0),
    ),
    (
        "free_any_errors_fatal_run_once_force_handlers",
        r#"- name: free ignores any_errors_fatal
  hosts: fleet
  gather_facts: false
  strategy: free
  any_errors_fatal: true
  force_handlers: true
  tasks:
    - name: notify
      shell: echo notify >> {trace}
      notify: h
    - name: fail one
      command: /bin/false
      when: inventory_hostname == '{h1}'
    - name: once on every host
      shell: echo once >> {trace}
      run_once: true
    - name: slow one
      shell: sleep {{ 1 if inventory_hostname == '{h2}' else 0 }}; echo slow >> {trace}
  handlers:
    - name: h
      shell: echo handler >> {trace}
"#,
        None,
    ),
];

fn playbook(case: &Case, hosts: &[String], tool: &str) -> String {
    let trace = format!("/tmp/rollout-{}-{tool}", case.name);
    let failing: Vec<String> = case
        .fail
        .iter()
        .map(|i| format!("'{}'", hosts[*i]))
        .collect();
    let mut play = "- name: rollout\n  hosts: fleet\n  gather_facts: false\n".to_string();
    if let Some(s) = case.serial {
        play.push_str(&format!("  serial: {s}\n"));
    }
    if let Some(m) = case.max_fail {
        play.push_str(&format!("  max_fail_percentage: {m}\n"));
    }
    if case.any_errors_fatal {
        play.push_str("  any_errors_fatal: true\n");
    }
    play.push_str(&format!(
        "  tasks:\n    - name: before\n      shell: echo before >> {trace}\n"
    ));
    let fail_task = format!(
        "name: maybe fail\n  command: /bin/false\n  when: inventory_hostname in [{}]\n{}",
        failing.join(", "),
        if case.ignore_errors {
            "  ignore_errors: true\n"
        } else {
            ""
        }
    );
    if case.rescue {
        play.push_str("    - block:\n");
        for line in fail_task.lines() {
            let line = line.trim_start();
            let lead = if line.starts_with("name:") {
                "        - "
            } else {
                "          "
            };
            play.push_str(&format!("{lead}{line}\n"));
        }
        play.push_str(&format!(
            "      rescue:\n        - name: rescue\n          shell: echo rescued >> {trace}\n"
        ));
    } else {
        for (i, line) in fail_task.lines().enumerate() {
            let line = line.trim_start();
            let lead = if i == 0 { "    - " } else { "      " };
            play.push_str(&format!("{lead}{line}\n"));
        }
    }
    play.push_str(&format!(
        "    - name: after\n      shell: echo after >> {trace}\n\n- name: second play\n  hosts: fleet\n  gather_facts: false\n  tasks:\n    - name: later\n      shell: echo later >> {trace}\n"
    ));
    play
}

/// What a run showed: per task banner, the hosts with their status, in order; the recap.
#[derive(Debug, PartialEq)]
struct Shown {
    tasks: Vec<(String, BTreeMap<String, String>)>,
    recap: BTreeMap<String, String>,
}

fn parse(stdout: &str) -> Shown {
    let mut tasks: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    let mut recap = BTreeMap::new();
    let mut in_recap = false;
    for line in stdout.lines() {
        if line.starts_with("PLAY RECAP") {
            in_recap = true;
            continue;
        }
        if in_recap {
            if let Some((host, counts)) = line.split_once(" : ") {
                recap.insert(
                    host.trim().to_string(),
                    counts.split_whitespace().collect::<Vec<_>>().join(" "),
                );
            }
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("TASK [")
            .or_else(|| line.strip_prefix("PLAY ["))
            .or_else(|| line.strip_prefix("RUNNING HANDLER ["))
        {
            let name = rest.split(']').next().unwrap_or("").to_string();
            tasks.push((name, BTreeMap::new()));
            continue;
        }
        for status in ["ok", "changed", "skipping", "fatal", "failed"] {
            if let Some(rest) = line.strip_prefix(&format!("{status}: [")) {
                let host = rest.split(']').next().unwrap_or("").to_string();
                let kind = if line.contains("UNREACHABLE!") {
                    "unreachable"
                } else {
                    status
                };
                if let Some(last) = tasks.last_mut() {
                    last.1.insert(host, kind.to_string());
                }
            }
        }
    }
    Shown { tasks, recap }
}

/// For the free strategy: each host's results in its own order, each under the play and task
/// banner it was printed below (a banner is printed again whenever the task changes).
fn parse_per_host(stdout: &str) -> Shown {
    let mut hosts: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut recap = BTreeMap::new();
    let mut in_recap = false;
    let (mut play, mut banner) = (0, String::new());
    for line in stdout.lines() {
        if line.starts_with("PLAY RECAP") {
            in_recap = true;
            continue;
        }
        if in_recap {
            if let Some((host, counts)) = line.split_once(" : ") {
                recap.insert(
                    host.trim().to_string(),
                    counts.split_whitespace().collect::<Vec<_>>().join(" "),
                );
            }
            continue;
        }
        if line.starts_with("PLAY [") {
            play += 1;
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("TASK [")
            .or_else(|| line.strip_prefix("RUNNING HANDLER ["))
        {
            banner = rest.split(']').next().unwrap_or("").to_string();
            continue;
        }
        for status in ["ok", "changed", "skipping", "fatal", "failed"] {
            if let Some(rest) = line.strip_prefix(&format!("{status}: [")) {
                let host = rest.split(']').next().unwrap_or("").to_string();
                let kind = if line.contains("UNREACHABLE!") {
                    "unreachable"
                } else {
                    status
                };
                let seen = hosts.entry(host).or_default();
                let key = format!("{:03} play {play} {banner}", seen.len());
                seen.insert(key, kind.to_string());
            }
        }
    }
    Shown {
        tasks: hosts.into_iter().collect(),
        recap,
    }
}

fn ansible(dir: &Path, inventory: &Path) -> std::process::Output {
    Command::new("ansible-playbook")
        .args([
            "-i",
            inventory.to_str().unwrap(),
            "play-ansible.yml",
            "-f",
            "10",
        ])
        .current_dir(dir)
        .env("ANSIBLE_STDOUT_CALLBACK", "default")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
        .stdin(Stdio::null())
        .output()
        .expect(
            "ansible-playbook must be on PATH (tests/run.sh installs ansible-core into .venv-test)",
        )
}

fn traces(fleet: &Fleet, hosts: &[String], name: &str, tool: &str) -> BTreeMap<String, String> {
    hosts
        .iter()
        .map(|h| {
            let out = fleet.exec(
                h,
                &format!("cat /tmp/rollout-{name}-{tool} 2>/dev/null; true"),
            );
            (h.clone(), String::from_utf8_lossy(&out.stdout).to_string())
        })
        .collect()
}

/// Runs one playbook (given per tool) under both tools and describes any difference.
fn compare(
    fleet: &Fleet,
    dir: &Path,
    name: &str,
    play_for: &dyn Fn(&str) -> String,
) -> Option<String> {
    compare_with(fleet, dir, name, play_for, parse)
}

/// [`compare`] with the output read by `parse`.
fn compare_with(
    fleet: &Fleet,
    dir: &Path,
    name: &str,
    play_for: &dyn Fn(&str) -> String,
    parse: fn(&str) -> Shown,
) -> Option<String> {
    let hosts: Vec<String> = fleet.hosts().iter().map(|h| h.name.clone()).collect();
    std::fs::write(dir.join("play-ansible.yml"), play_for("ansible")).unwrap();
    std::fs::write(dir.join("play-baton.yml"), play_for("baton")).unwrap();
    let a = ansible(dir, &fleet.inventory_path());
    let b = run_baton(
        [
            "play",
            "play-baton.yml",
            "-i",
            fleet.inventory_path().to_str().unwrap(),
            "-f",
            "10",
            "-T",
            "5",
        ],
        dir,
    );
    let (sa, sb) = (
        parse(&String::from_utf8_lossy(&a.stdout)),
        parse(&String::from_utf8_lossy(&b.stdout)),
    );
    let (ta, tb) = (
        traces(fleet, &hosts, name, "ansible"),
        traces(fleet, &hosts, name, "baton"),
    );
    println!(
        "case {name}: ansible exit {:?}, baton exit {:?}",
        a.status.code(),
        b.status.code()
    );
    // The oracle must have really run to its recap.
    assert!(
        String::from_utf8_lossy(&a.stdout).contains("PLAY RECAP"),
        "ansible did not run case {name}: {}",
        describe(&a)
    );
    if a.status.code() != b.status.code() || sa != sb || ta != tb {
        return Some(format!(
            "case {name}:\n exit ansible {:?} baton {:?}\n ansible shown {:?}\n baton   shown {:?}\n ansible traces {:?}\n baton   traces {:?}\n--- baton output ---\n{}",
            a.status.code(),
            b.status.code(),
            sa,
            sb,
            ta,
            tb,
            describe(&b)
        ));
    }
    None
}

/// A directory of the test's own: the tests run in parallel and must not share playbooks.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-rollout-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn rollouts_match_ansible_playbook() {
    let fleet = Fleet::dedicated("baton-roll", 5);
    let hosts: Vec<String> = fleet.hosts().iter().map(|h| h.name.clone()).collect();
    let dir = scratch("matrix");
    let mut mismatches = Vec::new();
    for case in CASES {
        if let Some(i) = case.down {
            fleet.stop_host(&hosts[i]);
        }
        let play_for = |tool: &str| playbook(case, &hosts, tool);
        if let Some(m) = compare(&fleet, &dir, case.name, &play_for) {
            mismatches.push(m);
        }
        if let Some(i) = case.down {
            fleet.start_host(&hosts[i]);
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        CASES.len(),
        mismatches.join("\n\n")
    );
}

#[test]
fn multi_batch_and_multi_play_rules_match_ansible_playbook() {
    let fleet = Fleet::dedicated("baton-lit", 5);
    let hosts: Vec<String> = fleet.hosts().iter().map(|h| h.name.clone()).collect();
    let dir = scratch("literal");
    let mut mismatches = Vec::new();
    for (name, text) in LITERAL_CASES {
        let play_for = |tool: &str| {
            let mut t = text.replace("{trace}", &format!("/tmp/rollout-{name}-{tool}"));
            for (i, h) in hosts.iter().enumerate() {
                t = t.replace(&format!("{{h{i}}}"), h);
            }
            t
        };
        if let Some(m) = compare(&fleet, &dir, name, &play_for) {
            mismatches.push(m);
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        LITERAL_CASES.len(),
        mismatches.join("\n\n")
    );
}

#[test]
fn handlers_match_ansible_playbook() {
    let fleet = Fleet::dedicated("baton-hand", 4);
    let dir = scratch("handlers");
    let mut mismatches = Vec::new();
    for (name, text) in HANDLER_CASES {
        let play_for = |tool: &str| text.replace("{trace}", &format!("/tmp/rollout-{name}-{tool}"));
        if let Some(m) = compare(&fleet, &dir, name, &play_for) {
            mismatches.push(m);
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        HANDLER_CASES.len(),
        mismatches.join("\n\n")
    );
}

#[test]
fn free_strategy_matches_ansible_playbook() {
    let fleet = Fleet::dedicated("baton-exe-free", 4);
    let hosts: Vec<String> = fleet.hosts().iter().map(|h| h.name.clone()).collect();
    let dir = scratch("free");
    let mut mismatches = Vec::new();
    for (name, text, down) in FREE_CASES {
        if let Some(i) = down {
            fleet.stop_host(&hosts[*i]);
        }
        let play_for = |tool: &str| {
            let mut t = text.replace("{trace}", &format!("/tmp/rollout-{name}-{tool}"));
            for (i, h) in hosts.iter().enumerate() {
                t = t.replace(&format!("{{h{i}}}"), h);
            }
            t
        };
        if let Some(m) = compare_with(&fleet, &dir, name, &play_for, parse_per_host) {
            mismatches.push(m);
        }
        if let Some(i) = down {
            fleet.start_host(&hosts[*i]);
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        FREE_CASES.len(),
        mismatches.join("\n\n")
    );
}
