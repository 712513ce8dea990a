//! Async tasks on real hosts over SSH: `async`/`poll` and `async_status` run by baton against
//! the fleet, checked on each host through `docker exec`: the job's state file under
//! `~/.ansible_async` (async_wrapper's JSON while it runs, the module's result when done), the
//! command's effect, the file gone after `poll: N` or `mode: cleanup`; a `command`/`shell` job
//! going on after baton exits; and the results of a timed-out job and of `async_status`
//! compared with ansible-playbook's.

mod common;

use common::{Fleet, Scratch, describe, json_results, play_on_host, run_baton};

#[test]
fn async_jobs_leave_their_state_on_the_host_and_async_status_reads_it() {
    let fleet = Fleet::shared();
    let host = &fleet.hosts()[0].name;
    let pid = std::process::id();
    let scratch = Scratch::new("async", "fleet");
    let dir = scratch.path();
    let mark = format!("/tmp/baton-async-{pid}");
    fleet.exec(host, &format!("rm -f {mark}.*"));
    std::fs::write(
        dir.join("play.yml"),
        format!(
            r#"- hosts: {host}
  gather_facts: false
  tasks:
    - name: polled
      command: touch {mark}.polled
      async: 30
      poll: 1
      register: polled
    - name: started
      shell: sleep 2 && echo done > {mark}.bg
      async: 30
      poll: 0
      register: bg
    - name: running
      async_status:
        jid: "{{{{ bg.ansible_job_id }}}}"
      register: running
    - name: wait
      async_status:
        jid: "{{{{ bg.ansible_job_id }}}}"
      register: waited
      until: waited is finished
      retries: 20
      delay: 1
    - name: keep the finished job's file
      shell: cp "{{{{ waited.results_file }}}}" {mark}.result
    - name: cleanup
      async_status:
        jid: "{{{{ bg.ansible_job_id }}}}"
        mode: cleanup
      register: cleaned
    - name: gone
      async_status:
        jid: "{{{{ bg.ansible_job_id }}}}"
      register: gone
      ignore_errors: true
    - assert:
        that:
          - polled is finished and polled is changed and polled.rc == 0
          - bg is started and bg is not finished and bg is changed
          - running is not finished
          - waited is finished and waited.stdout == '' and waited.rc == 0
          - waited.cmd == 'sleep 2 && echo done > {mark}.bg'
          - cleaned.erased == waited.results_file
          - gone is failed and gone.msg == 'could not find job'
    - debug:
        msg: "{{{{ polled.results_file }}}} {{{{ bg.results_file }}}}"
"#
        ),
    )
    .unwrap();
    let inventory = fleet.inventory_path();
    let out = run_baton(["play", "-i", inventory.to_str().unwrap(), "play.yml"], dir);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The polled job's file was removed once read; the background one by `mode: cleanup`.
    let files: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(".ansible_async/"))
        .find_map(|l| l.trim().strip_prefix("\"msg\": \""))
        .expect("the debug task printed the results files")
        .trim_end_matches('"')
        .split(' ')
        .collect();
    assert_eq!(files.len(), 2, "{stdout}");
    for f in &files {
        assert!(f.starts_with("/root/.ansible_async/j"), "{f}");
        let left = fleet.exec(host, &format!("test -e {f} && echo left || echo gone"));
        assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "gone", "{f}");
    }
    // What the commands did, and the finished job's state as the host kept it.
    let seen = fleet.exec(
        host,
        &format!("test -e {mark}.polled && cat {mark}.bg && cat {mark}.result"),
    );
    let seen = String::from_utf8_lossy(&seen.stdout).into_owned();
    let mut lines = seen.lines();
    assert_eq!(lines.next(), Some("done"), "{seen}");
    let result: serde_json::Value =
        serde_json::from_str(lines.next().unwrap_or("")).expect("the job file holds JSON");
    assert_eq!(result["rc"], 0, "{result}");
    assert_eq!(result["changed"], true, "{result}");
    assert!(
        result.get("started").is_none(),
        "a finished job's file is the module's result"
    );
    fleet.exec(host, &format!("rm -f {mark}.*"));
}

/// A `poll: 0` shell job goes on on the host after baton has exited, as ansible's
/// async_wrapper does, and leaves the command's result in its job file.
#[test]
fn a_shell_job_outlives_baton() {
    let fleet = Fleet::shared();
    let host = &fleet.hosts()[0].name;
    let pid = std::process::id();
    let scratch = Scratch::new("async", "detached");
    let dir = scratch.path();
    let mark = format!("/tmp/baton-async-detached-{pid}");
    fleet.exec(host, &format!("rm -f {mark}"));
    std::fs::write(
        dir.join("play.yml"),
        format!(
            r#"- hosts: {host}
  gather_facts: false
  tasks:
    - shell: sleep 3; touch {mark}; printf 'a"b\\c\t\n\n'
      async: 60
      poll: 0
      register: bg
    - debug:
        msg: "JOB {{{{ bg.results_file }}}}"
"#
        ),
    )
    .unwrap();
    let inventory = fleet.inventory_path();
    let began = std::time::Instant::now();
    let out = run_baton(["play", "-i", inventory.to_str().unwrap(), "play.yml"], dir);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        began.elapsed() < std::time::Duration::from_secs(3),
        "baton waited for the job"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let file = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"msg\": \"JOB "))
        .expect("the debug task printed the job file")
        .trim_end_matches('"')
        .to_string();
    assert!(file.starts_with("/root/.ansible_async/j"), "{file}");
    let running = fleet.exec(host, &format!("test -e {mark} || cat {file}"));
    let running: serde_json::Value = serde_json::from_slice(&running.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", describe(&running)));
    assert_eq!(running["finished"], false, "{running}");
    std::thread::sleep(std::time::Duration::from_secs(5));
    let done = fleet.exec(host, &format!("test -e {mark} && cat {file}"));
    assert!(
        done.status.success(),
        "the job did not finish: {}",
        describe(&done)
    );
    let result: serde_json::Value =
        serde_json::from_slice(&done.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&done)));
    assert_eq!(result["rc"], 0, "{result}");
    assert_eq!(result["changed"], true, "{result}");
    assert_eq!(result["stdout"], "a\"b\\c\t", "{result}");
    assert!(result.get("started").is_none(), "{result}");
    fleet.exec(host, &format!("rm -f {mark} {file}"));
}

/// A job killed at its time limit (polled once, after async_wrapper's verdict: with `poll: 1`
/// ansible-playbook itself races its wrapper and reports either "Timeout exceeded" or "did not
/// complete within the requested time"), a job whose `chdir` fails, a `command` job fed on stdin, and
/// a detached job read by `async_status` while it runs and
/// once it is done: the registered results under baton and under ansible-playbook, the same
/// but for job ids, paths, pids, times and retry counts.
#[test]
fn timeouts_and_async_status_match_ansible() {
    let fleet = Fleet::shared();
    let host = &fleet.hosts()[0].name;
    let pid = std::process::id();
    let scratch = Scratch::new("async", "diff");
    let dir = scratch.path();
    let results = format!("/tmp/baton-async-diff-{pid}");
    std::fs::write(
        dir.join("play.yml"),
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - shell: sleep 10
      async: 2
      poll: 5
      register: timed
      ignore_errors: true
    - command: pwd
      args:
        chdir: /nonexistent-{pid}
      async: 10
      poll: 1
      register: no_dir
      ignore_errors: true
    - command:
        argv: [cat]
        stdin: "x 'y' $(id)"
      async: 10
      poll: 1
      register: piped
    - shell: sleep 3; echo hi; echo oops >&2; exit 3
      async: 20
      poll: 0
      register: bg
    - async_status:
        jid: "{{{{ bg.ansible_job_id }}}}"
      register: running
    - async_status:
        jid: "{{{{ bg.ansible_job_id }}}}"
      register: done
      until: done is finished
      retries: 20
      delay: 1
      ignore_errors: true
    - async_status:
        jid: "{{{{ bg.ansible_job_id }}}}"
        mode: cleanup
    - copy:
        content: "{{{{ {{'timed': timed, 'no_dir': no_dir, 'piped': piped, 'bg': bg, 'running': running, 'done': done}} | to_json }}}}"
        dest: "{results}.{{{{ tool }}}}"
"#
        ),
    )
    .unwrap();
    let inventory = fleet.inventory_path();
    let mut got = Vec::new();
    for tool in ["ansible", "baton"] {
        let var = format!("tool={tool}");
        let out = play_on_host(tool, dir, &inventory, host, &["-e", &var], &[]);
        assert!(out.status.success(), "{tool}: {}", describe(&out));
        let mut r = json_results(fleet, host, &format!("{results}.{tool}"));
        for v in r.values_mut() {
            let m = v.as_object_mut().unwrap();
            for k in [
                "ansible_job_id",
                "results_file",
                "child_pid",
                "start",
                "end",
                "delta",
                "attempts",
            ] {
                if let Some(x) = m.get_mut(k) {
                    *x = serde_json::Value::from("<varies>");
                }
            }
        }
        got.push(r);
    }
    assert_eq!(got[0], got[1], "ansible (left) and baton (right) differ");
    assert_eq!(got[1]["timed"]["msg"], "Timeout exceeded", "{:?}", got[1]);
    assert_eq!(got[1]["done"]["rc"], 3, "{:?}", got[1]);
    assert_eq!(got[1]["piped"]["stdout"], "x 'y' $(id)", "{:?}", got[1]);
    // The killed job left no process behind.
    let left = fleet.exec(host, "ps -eo args | grep -c '^sleep 10$' || true");
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "0");
    fleet.exec(host, &format!("rm -f {results}.*"));
}
