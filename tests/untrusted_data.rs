//! Data from managed hosts is data, never a template (issue 16, defect 1).
//!
//! A host controls what its commands print, its facts (a login environment planted in
//! /etc/environment) and what its web servers answer. If baton templated any of that again when a
//! later task used it, a host could run commands on the controller with
//! `{{ lookup('pipe', ...) }}`. ansible-core 2.19 shows such values literally; so must baton.
//! Each case plants template text on a fleet host by docker exec, runs a playbook that uses it
//! in every way a playbook does (debug var and msg, set_fact, conditions, loops), then checks that
//! no marker file appeared on the controller and that the text was shown as it is.

mod common;

use common::{Fleet, describe, run_baton};
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-untrusted-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The template text a hostile host serves: it would create `marker` on the controller if it
/// were ever rendered. No spaces, so it survives /etc/environment's parser unquoted.
fn payload(marker: &Path) -> String {
    format!("{{{{lookup('pipe','id>{}')}}}}", marker.display())
}

/// Removes /etc/environment's planted line and the web server even when the test fails.
struct HostCleanup<'a> {
    fleet: &'a Fleet,
    host: String,
    tag: String,
}

impl Drop for HostCleanup<'_> {
    fn drop(&mut self) {
        let tag = &self.tag;
        self.fleet.exec(
            &self.host,
            &format!(
                "sed -i '/^BATON_EVIL_{tag}=/d' /etc/environment; rm -rf /tmp/{tag}; \
                 pkill -f '[h]ttp.server 18765 .*{tag}'"
            ),
        );
    }
}

#[test]
fn template_text_from_a_host_is_shown_literally_and_never_runs_on_the_controller() {
    let fleet = Fleet::shared();
    let host = fleet.hosts()[0].name.clone();
    let tag = format!("untrusted{}", std::process::id());
    let dir = scratch("host");
    let markers: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("pwned-{i}"))).collect();
    for m in &markers {
        let _ = std::fs::remove_file(m);
    }
    let _cleanup = HostCleanup {
        fleet,
        host: host.clone(),
        tag: tag.clone(),
    };
    // What the host will say: command output, a login environment variable, an HTTP body, and
    // harmless braces as `docker --format` prints them.
    let json_body = format!("{{\"a\": \"{}\"}}", payload(&markers[2]));
    let setup = format!(
        "mkdir -p /tmp/{tag}/www && printf '%s\\n' \"$1\" > /tmp/{tag}/evil.txt && \
         printf '%s' \"$2\" > /tmp/{tag}/www/evil.json && \
         printf '%s\\n' '{{{{.State.Status}}}}' > /tmp/{tag}/docker.txt && \
         printf 'BATON_EVIL_{tag}=%s\\n' \"$3\" >> /etc/environment && \
         (nohup python3 -m http.server 18765 --bind 127.0.0.1 --directory /tmp/{tag}/www \
            >/dev/null 2>&1 &) && \
         for i in 1 2 3 4 5 6 7 8 9 10; do curl -fs http://127.0.0.1:18765/evil.json >/dev/null && break; sleep 0.3; done"
    );
    let out = std::process::Command::new("docker")
        .args(["exec", &host, "sh", "-c", &setup, "sh"])
        .arg(payload(&markers[0]))
        .arg(&json_body)
        .arg(payload(&markers[1]))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "setting up the host: {}",
        describe(&out)
    );

    std::fs::write(
        dir.join("play.yml"),
        format!(
            r#"- hosts: {host}
  gather_facts: true
  tasks:
    - command: cat /tmp/{tag}/evil.txt
      register: r
    - debug: var=r.stdout
    - debug:
        msg: "{{{{ r.stdout }}}}"
    - set_fact:
        x: "{{{{ r.stdout }}}}"
        y: "pre {{{{ r.stdout | trim }}}}"
    - debug: var=x
    - debug:
        msg: "{{{{ y }}}}"
    - debug:
        msg: "item {{{{ item }}}}"
      loop: "{{{{ r.stdout_lines | map('trim') | list }}}}"
    - debug:
        msg: condition held
      when: r.stdout is search('lookup') and x == r.stdout
    - command: cat /tmp/{tag}/docker.txt
      register: d
    - debug:
        msg: "status format {{{{ d.stdout }}}}"
    - debug:
        msg: "env {{{{ ansible_env.BATON_EVIL_{tag} }}}}"
    - uri:
        url: http://127.0.0.1:18765/evil.json
        return_content: true
      register: u
    - debug:
        msg: "body {{{{ u.json.a }}}}"
    - set_fact:
        z: "{{{{ u.content }}}}"
    - debug: var=z
"#
        ),
    )
    .unwrap();
    let out = run_baton(
        [
            "play",
            "play.yml",
            "-i",
            fleet.inventory_path().to_str().unwrap(),
        ],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    for m in &markers {
        assert!(
            !m.exists(),
            "host data was templated on the controller ({} exists):\n{}",
            m.display(),
            describe(&out)
        );
    }
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let shown = |p: &Path| payload(p).replace('"', "\\\"");
    let want = [
        format!("\"r.stdout\": \"{}\"", shown(&markers[0])),
        format!("\"msg\": \"{}\"", shown(&markers[0])),
        format!("\"x\": \"{}\"", shown(&markers[0])),
        format!("\"msg\": \"pre {}\"", shown(&markers[0])),
        format!("\"msg\": \"item {}\"", shown(&markers[0])),
        "\"msg\": \"condition held\"".to_string(),
        "\"msg\": \"status format {{.State.Status}}\"".to_string(),
        format!("\"msg\": \"env {}\"", shown(&markers[1])),
        format!("\"msg\": \"body {}\"", shown(&markers[2])),
    ];
    for w in &want {
        assert!(stdout.contains(w.as_str()), "missing {w} in:\n{stdout}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
