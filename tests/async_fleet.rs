//! Async tasks on real hosts over SSH: `async`/`poll` and `async_status` run by baton against
//! the fleet, checked on each host through `docker exec`: the job's state file under
//! `~/.ansible_async` (async_wrapper's JSON while it runs, the module's result when done), the
//! command's effect, and the file gone after `poll: N` or `mode: cleanup`.

mod common;

use common::{Fleet, describe, run_baton};

#[test]
fn async_jobs_leave_their_state_on_the_host_and_async_status_reads_it() {
    let fleet = Fleet::shared();
    let host = &fleet.hosts()[0].name;
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("baton-async-fleet-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
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
    let out = run_baton(
        ["play", "-i", inventory.to_str().unwrap(), "play.yml"],
        &dir,
    );
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
    let _ = std::fs::remove_dir_all(&dir);
}
