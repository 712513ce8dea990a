//! What a real run leaves behind: `baton play --report` and the junit callback on a rolling
//! deploy over the fleet (`serial`, one host failing, a `no_log` task carrying a secret).
//!
//! The HTML report is rendered in headless Chromium (Debian's `chromium`, which
//! `tests/fleet/fleet.sh deps` installs): a screenshot is taken and the DOM it built is checked
//! for every host, the failed task's message and the batch bands. The secret must be in neither
//! file. The JUnit file is parsed (a small well-formedness check below) and its counts of test
//! cases, failures and skips compared with the run's recap. What the deploy did is checked on
//! the hosts through docker exec.
//!
//! `BATON_REPORT_SCREENSHOT=PATH` keeps the screenshot there (docs/report.sh makes the README's
//! picture this way).

mod common;

use common::{Fleet, describe};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Headless Chromium with the flags a root container needs; failing when it is not installed.
fn chromium(args: &[&str], page: &Path) -> std::process::Output {
    let bin = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("headless Chromium is needed (`bash tests/fleet/fleet.sh deps` installs it)");
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", describe(&out));
    out
}

/// An element of a parsed XML document: its name and attributes.
#[derive(Debug)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A small XML reader: checks the document is well formed (one root, tags nested and closed,
/// attributes quoted, no bare `<` or unknown entity in text) and returns its elements in order.
fn parse_xml(doc: &str) -> Result<Vec<Element>, String> {
    let entities_ok = |text: &str| -> Result<(), String> {
        let mut rest = text;
        while let Some(at) = rest.find('&') {
            let end = rest[at..].find(';').ok_or("an & without ;")?;
            let ent = &rest[at + 1..at + end];
            let known = matches!(ent, "amp" | "lt" | "gt" | "quot" | "apos")
                || ent
                    .strip_prefix('#')
                    .is_some_and(|n| n.parse::<u32>().is_ok());
            if !known {
                return Err(format!("unknown entity &{ent};"));
            }
            rest = &rest[at + end..];
        }
        Ok(())
    };
    let body = doc
        .strip_prefix("<?xml")
        .and_then(|r| r.split_once("?>").map(|(_, b)| b))
        .ok_or("no XML declaration")?;
    let mut stack: Vec<String> = Vec::new();
    let mut elements = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        if stack.is_empty() && !text.trim().is_empty() {
            return Err(format!("text outside the root: {text:?}"));
        }
        entities_ok(text)?;
        let close = rest[open..].find('>').ok_or("a tag without >")? + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(top) if top == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let (tag, empty) = match tag.strip_suffix('/') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let (name, mut attr_text) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        let mut attrs = Vec::new();
        loop {
            attr_text = attr_text.trim_start();
            if attr_text.is_empty() {
                break;
            }
            let (key, after) = attr_text.split_once("=\"").ok_or("an unquoted attribute")?;
            let (value, after) = after.split_once('"').ok_or("an unclosed attribute")?;
            if value.contains('<') {
                return Err("< in an attribute".into());
            }
            entities_ok(value)?;
            attrs.push((key.trim().to_string(), unescape(value)));
            attr_text = after;
        }
        if stack.is_empty() {
            roots += 1;
        }
        elements.push(Element {
            name: name.to_string(),
            attrs,
        });
        if !empty {
            stack.push(name.to_string());
        }
    }
    if !stack.is_empty() || roots != 1 || !rest.trim().is_empty() {
        return Err(format!("unclosed {stack:?}, {roots} roots"));
    }
    Ok(elements)
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `ok=N changed=N ...` of a host's recap line, as numbers by key.
fn recap_counts(stdout: &str, host: &str) -> std::collections::HashMap<String, u32> {
    common::recap(stdout, host)
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap_or(u32::MAX)))
        .collect()
}

#[test]
fn a_rolling_deploy_leaves_a_report_chromium_renders_and_junit_that_matches_the_recap() {
    let fleet = Fleet::shared();
    let hosts: Vec<String> = fleet.hosts().iter().map(|h| h.name.clone()).collect();
    assert!(hosts.len() >= 3, "the acceptance needs 3 hosts: {hosts:?}");
    // serial 2 over 3 hosts: two batches; the failing host is in the first, which goes on
    // (not every host of it failed), so the rollout reaches the second batch.
    let bad = &hosts[1];
    let tag = format!("report-{}", std::process::id());
    let secret = format!("S3cret-{tag}-value");
    let dir = scratch("report");
    std::fs::write(
        dir.join("deploy.yml"),
        format!(
            r#"- name: rolling deploy
  hosts: all
  gather_facts: false
  serial: 2
  vars:
    release: "42"
    api_token: "{secret}"
  tasks:
    - name: ship release
      copy:
        content: "release {{{{ release }}}}\n"
        dest: /tmp/{tag}-release
    - name: store api token
      shell: echo "{{{{ api_token }}}}" > /tmp/{tag}-token && echo "{{{{ api_token }}}}"
      no_log: true
    - name: health check
      fail:
        msg: "health check failed on {{{{ inventory_hostname }}}}"
      when: inventory_hostname == '{bad}'
    - name: legacy cleanup
      file:
        path: /tmp/{tag}-legacy
        state: absent
      when: release == "1"
    - name: mark done
      command: touch /tmp/{tag}-done
"#
        ),
    )
    .unwrap();
    let junit_dir = dir.join("junit");
    let out = Command::new(common::baton_bin())
        .args([
            "play",
            "deploy.yml",
            "-i",
            fleet.inventory_path().to_str().unwrap(),
            "--report",
            "run.html",
        ])
        .current_dir(&dir)
        .env("ANSIBLE_CALLBACKS_ENABLED", "community.general.junit")
        .env("JUNIT_OUTPUT_DIR", &junit_dir)
        .env("BATON_NO_PROGRESS", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));

    // What the deploy did, seen on the hosts themselves.
    for h in &hosts {
        let release = fleet.exec(h, &format!("cat /tmp/{tag}-release"));
        assert_eq!(
            String::from_utf8_lossy(&release.stdout),
            "release 42\n",
            "{h}"
        );
        let done = fleet.exec(h, &format!("test -e /tmp/{tag}-done"));
        assert_eq!(done.status.success(), h != bad, "{h}: mark done");
    }

    // The report: written whole, without the secret, rendered by Chromium.
    let page = dir.join("run.html");
    let html = std::fs::read_to_string(&page).expect("the report was written");
    assert!(
        !html.contains(&secret),
        "the no_log secret is in the report"
    );
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let shot = std::env::var_os("BATON_REPORT_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("run.png"));
    let shot_arg = format!("--screenshot={}", shot.display());
    chromium(&[&shot_arg, "--window-size=1280,1000"], &page);
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    let dom = String::from_utf8(chromium(&["--dump-dom"], &page).stdout).unwrap();
    for h in &hosts {
        assert!(
            dom.contains(&format!("<div class=\"row\" data-host=\"{h}\">")),
            "no timeline row for {h}"
        );
        assert!(dom.contains(&format!("<th class=\"host\">{h}</th>")), "{h}");
    }
    assert!(dom.contains(&format!("health check failed on {bad}")));
    assert!(dom.contains("TASK [health check]"));
    for band in ["1/2", "2/2"] {
        assert!(
            dom.contains(&format!(
                "data-batch=\"{band}\" title=\"rolling deploy · batch {band}\""
            )),
            "no band for batch {band}"
        );
    }
    assert_eq!(
        dom.matches("<div class=\"band ").count(),
        2,
        "two batch bands"
    );
    // The script ran: its task table is there for the bars' tooltips.
    assert!(dom.contains("const TASKS=[[\"TASK [ship release]\""));

    // JUnit: one file for the playbook, well formed, with the recap's counts.
    let files: Vec<PathBuf> = std::fs::read_dir(&junit_dir)
        .expect("the junit directory was made")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("deploy-") && name.ends_with(".xml"),
        "{name}"
    );
    let xml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        !xml.contains(&secret),
        "the no_log secret is in the JUnit file"
    );
    let elements = parse_xml(&xml).unwrap_or_else(|e| panic!("bad XML ({e}):\n{xml}"));
    let count = |n: &str| elements.iter().filter(|e| e.name == n).count() as u32;
    let (mut results, mut failed, mut skipped) = (0, 0, 0);
    for h in &hosts {
        let c = recap_counts(&stdout, h);
        results += c["ok"] + c["failed"] + c["skipped"];
        failed += c["failed"];
        skipped += c["skipped"];
    }
    assert_eq!(failed, 1, "{stdout}");
    assert_eq!(skipped, 4, "{stdout}");
    assert_eq!(count("testcase"), results, "{xml}");
    assert_eq!(count("failure") + count("error"), failed, "{xml}");
    assert_eq!(count("skipped"), skipped, "{xml}");
    let suite = elements.iter().find(|e| e.name == "testsuite").unwrap();
    assert_eq!(suite.attr("name"), Some("deploy"));
    assert_eq!(suite.attr("tests"), Some(results.to_string().as_str()));
    assert_eq!(suite.attr("skipped"), Some("4"));
    let failing = elements
        .iter()
        .filter(|e| e.name == "testcase")
        .find(|e| {
            e.attr("name")
                .is_some_and(|n| n.starts_with(&format!("[{bad}] rolling deploy: health check")))
        })
        .expect("a test case for the failed health check");
    assert!(
        failing
            .attr("classname")
            .is_some_and(|c| c.ends_with("deploy.yml:16")),
        "{failing:?}"
    );
    // The no_log task's test cases leave its arguments out of their names.
    assert!(xml.contains("rolling deploy: store api token\""), "{xml}");
    let _ = std::fs::remove_dir_all(&dir);
}
