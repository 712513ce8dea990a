//! The mission, end to end on a dedicated fleet (issue #8): three app hosts and one Nginx load
//! balancer brought from bare Debian to serving by `playbooks/site.yml` (PM2, then systemd),
//! a second run that changes nothing, a rolling `deploy.yml` under continuous load with no failed
//! request, a broken release stopped by `max_fail_percentage`, and `rollback.yml`.
//!
//! Hosts are checked apart from baton: through `docker exec`, plain OpenSSH, and HTTP through
//! Nginx's port published on 127.0.0.1 (`fleet.sh up 4 --publish 80`). The inventory is a copy of
//! `inventories/local` (hosts.ini, group_vars) with the fleet's `fleet.ini`
//! (`tests/fleet/local-inventory.sh`).
//!
//! One run: `cargo test --release --test mission -- --nocapture` (prints the request count and
//! the p99 latency of the rollout).

mod common;

use common::{Fleet, describe, repo_root, run_baton};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PLAYBOOKS: &[&str] = &[
    "playbooks/site.yml",
    "playbooks/nginx.yml",
    "playbooks/deploy.yml",
    "playbooks/rollback.yml",
];

/// One HTTP GET through Nginx on a new connection: (status, body).
fn get(port: u16, path: &str) -> Result<(u16, String), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.set_write_timeout(Some(Duration::from_secs(5))).ok();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let chunked = head.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = if chunked {
        dechunk(body).ok_or_else(|| format!("bad chunked body in {text:?}"))?
    } else {
        body.to_string()
    };
    Ok((status, body))
}

/// A `Transfer-Encoding: chunked` body decoded (Nginx re-chunks an upstream answer that has
/// no Content-Length); None when it is cut short or malformed.
fn dechunk(mut rest: &str) -> Option<String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.push_str(after.get(..size)?);
        rest = after.get(size..)?.strip_prefix("\r\n")?;
    }
}

/// "Hello, World! version V from HOST" -> (V, HOST).
fn version_host(body: &str) -> Option<(String, String)> {
    let rest = body.trim().strip_prefix("Hello, World! version ")?;
    let (v, h) = rest.split_once(" from ")?;
    Some((v.to_string(), h.to_string()))
}

/// `n` requests through Nginx, each must answer 200: how many answers per (version, host).
fn sample(port: u16, n: usize) -> BTreeMap<(String, String), usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        let (status, body) = get(port, "/").unwrap_or_else(|e| panic!("GET / through Nginx: {e}"));
        assert_eq!(status, 200, "GET / through Nginx answered {status}: {body}");
        let vh = version_host(&body).unwrap_or_else(|| panic!("unexpected body {body:?}"));
        *seen.entry(vh).or_insert(0) += 1;
    }
    seen
}

/// The load generator: a thread sending requests through Nginx one after another (each on a
/// new connection) until stopped, recording latencies and every failure.
struct Load {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<LoadReport>,
}

#[derive(Debug, Default)]
struct LoadReport {
    latencies: Vec<Duration>,
    failures: Vec<String>,
    seen: BTreeMap<(String, String), usize>,
}

impl LoadReport {
    fn percentile(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        if l.is_empty() {
            return Duration::ZERO;
        }
        let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
        l[i]
    }
}

impl Load {
    fn start(port: u16) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut r = LoadReport::default();
            let started = Instant::now();
            // Bounded: stops by itself after 15 minutes or a million requests.
            while !flag.load(Ordering::Relaxed)
                && started.elapsed() < Duration::from_secs(900)
                && r.latencies.len() + r.failures.len() < 1_000_000
            {
                let t = Instant::now();
                match get(port, "/") {
                    Ok((200, body)) => {
                        r.latencies.push(t.elapsed());
                        match version_host(&body) {
                            Some(vh) => *r.seen.entry(vh).or_insert(0) += 1,
                            None => r.failures.push(format!("unexpected body {body:?}")),
                        }
                    }
                    Ok((status, body)) => r.failures.push(format!("status {status}: {body}")),
                    Err(e) => r.failures.push(e),
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            r
        });
        Load { stop, handle }
    }

    fn finish(self) -> LoadReport {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("load generator panicked")
    }
}

/// The inventory: inventories/local's hosts.ini and group_vars, plus fleet.ini for this fleet.
/// Returns its directory and the 127.0.0.1 port of the load balancer's port 80.
fn inventory_for(fleet: &Fleet) -> (PathBuf, u16) {
    let (dir, printed) = common::local_inventory(fleet);
    let port = printed
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("no published port 80 for the load balancer: {e}"));
    (dir, port)
}

fn play(inv: &Path, args: &[&str]) -> (Output, Duration) {
    let t = Instant::now();
    let mut all = vec!["play".to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.push("-i".into());
    all.push(inv.display().to_string());
    let out = run_baton(&all, &repo_root());
    eprintln!(
        "baton play {} -> {} in {:.1} s",
        args.join(" "),
        out.status,
        t.elapsed().as_secs_f64()
    );
    (out, t.elapsed())
}

fn play_ok(inv: &Path, args: &[&str]) -> String {
    let (out, _) = play(inv, args);
    assert!(
        out.status.success(),
        "baton play {args:?}: {}",
        describe(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The PLAY RECAP's counters per host.
fn recap(stdout: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    let Some((_, tail)) = stdout.rsplit_once("PLAY RECAP") else {
        return out;
    };
    for line in tail.lines().skip(1) {
        let Some((host, counts)) = line.split_once(" : ") else {
            continue;
        };
        let counts = counts
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
            .collect();
        out.insert(host.trim().to_string(), counts);
    }
    out
}

fn sh(fleet: &Fleet, host: &str, cmd: &str) -> String {
    let out = fleet.exec(host, cmd);
    assert!(out.status.success(), "{host}: {cmd}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The app's /health on the host itself (docker exec, no baton): (version, pid).
fn health(fleet: &Fleet, host: &str) -> Option<(String, u64)> {
    let out = fleet.exec(host, "curl -fsS --max-time 3 http://127.0.0.1:3000/health");
    if !out.status.success() {
        return None;
    }
    let body = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |k: &str| -> Option<String> {
        let (_, rest) = body.split_once(&format!("\"{k}\":"))?;
        Some(
            rest.split([',', '}'])
                .next()?
                .trim()
                .trim_matches('"')
                .to_string(),
        )
    };
    Some((field("version")?, field("pid")?.parse().ok()?))
}

/// Kill the process answering on port 3000 with SIGKILL; the supervisor must bring the app
/// back (a new pid answering) within 30 s.
fn kill_and_expect_restart(fleet: &Fleet, host: &str) {
    let (_, pid) = health(fleet, host).unwrap_or_else(|| panic!("{host}: app not answering"));
    sh(fleet, host, &format!("kill -9 {pid}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        if let Some((_, new)) = health(fleet, host)
            && new != pid
        {
            eprintln!("{host}: killed pid {pid}; pid {new} answers now");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{host}: the app was not restarted within 30 s after kill -9 {pid}"
        );
    }
}

/// Every app host answers through Nginx with `version` (within 15 s: a reload that puts a host
/// back takes effect when Nginx's new workers run).
fn expect_all_hosts(port: u16, hosts: &[String], version: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = sample(port, 30);
        let missing: Vec<&String> = hosts
            .iter()
            .filter(|h| !seen.contains_key(&(version.to_string(), (*h).clone())))
            .collect();
        let others = seen.keys().any(|(v, _)| v != version);
        if missing.is_empty() && !others {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "through Nginx, expected every host on {version}; missing {missing:?}, seen {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn mission_site_deploy_broken_rollback() {
    let t0 = Instant::now();
    let fleet = Fleet::dedicated_with("baton-mis", 4, &["--publish", "80"]);
    let (inv, lb_port) = inventory_for(&fleet);
    let apps: Vec<String> = fleet.hosts()[..3].iter().map(|h| h.name.clone()).collect();
    let lb = fleet.hosts()[3].name.clone();

    // 1. Bare Debian to serving, under PM2 first.
    let out = play_ok(&inv, &["playbooks/site.yml", "-e", "app_supervisor=pm2"]);
    assert!(recap(&out).values().all(|c| c["failed"] == 0));
    expect_all_hosts(lb_port, &apps, "1.0.0");
    for h in &apps {
        let status = fleet.ssh(h, "systemctl is-active pm2-app.service");
        assert!(status.status.success(), "{h}: {}", describe(&status));
        let owner = sh(
            &fleet,
            h,
            "ps -o user= -p $(curl -fsS http://127.0.0.1:3000/health | sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/')",
        );
        assert_eq!(
            owner, "app",
            "{h}: the app must run as the unprivileged user"
        );
    }
    kill_and_expect_restart(&fleet, &apps[0]);
    expect_all_hosts(lb_port, &apps, "1.0.0");

    // ... then the same hosts under systemd (the PM2 service is taken away).
    play_ok(
        &inv,
        &["playbooks/site.yml", "-e", "app_supervisor=systemd"],
    );
    expect_all_hosts(lb_port, &apps, "1.0.0");
    for h in &apps {
        let active = fleet.ssh(h, "systemctl is-active sample-app.service");
        assert!(active.status.success(), "{h}: {}", describe(&active));
        let pm2 = fleet.ssh(h, "systemctl is-active pm2-app.service");
        assert!(!pm2.status.success(), "{h}: PM2 still runs the app");
    }
    kill_and_expect_restart(&fleet, &apps[1]);
    expect_all_hosts(lb_port, &apps, "1.0.0");
    // Nginx validated and reloaded, never restarted: the master's pid is the one it started with.
    let conf = sh(&fleet, &lb, "cat /etc/nginx/nginx.conf");
    assert_eq!(conf.matches("# backend app").count(), 3, "{conf}");

    // 2. The second run changes nothing.
    let nginx_pid = sh(&fleet, &lb, "cat /run/nginx.pid");
    let out = play_ok(&inv, &["playbooks/site.yml"]);
    let counts = recap(&out);
    assert_eq!(counts.len(), 4, "{out}");
    for (host, c) in &counts {
        assert_eq!(c["changed"], 0, "{host} changed on the second run:\n{out}");
    }

    // 3. A rolling deploy, one host at a time, under continuous load: no request fails.
    let load = Load::start(lb_port);
    std::thread::sleep(Duration::from_secs(2));
    let (out, took) = play(
        &inv,
        &[
            "playbooks/deploy.yml",
            "-e",
            "app_version=2.0.0",
            "-e",
            "deploy_serial=1",
        ],
    );
    std::thread::sleep(Duration::from_secs(2));
    let report = load.finish();
    assert!(out.status.success(), "deploy.yml: {}", describe(&out));
    let n = report.latencies.len() + report.failures.len();
    eprintln!(
        "rolling deploy of 2.0.0 in {:.1} s under load: {n} requests through Nginx, {} failed, \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; answers: {:?}",
        took.as_secs_f64(),
        report.failures.len(),
        report.percentile(0.50).as_secs_f64() * 1e3,
        report.percentile(0.99).as_secs_f64() * 1e3,
        report.percentile(1.0).as_secs_f64() * 1e3,
        report.seen
    );
    assert!(n > 100, "the load generator sent only {n} requests");
    assert!(
        report.failures.is_empty(),
        "{} of {n} requests failed during the rollout: {:?}",
        report.failures.len(),
        &report.failures[..report.failures.len().min(10)]
    );
    for h in &apps {
        assert_eq!(health(&fleet, h).map(|(v, _)| v).as_deref(), Some("2.0.0"));
        assert_eq!(
            sh(&fleet, h, "readlink /srv/sample-app/current"),
            "/srv/sample-app/releases/2.0.0"
        );
    }
    expect_all_hosts(lb_port, &apps, "2.0.0");
    assert_eq!(
        sh(&fleet, &lb, "cat /run/nginx.pid"),
        nginx_pid,
        "Nginx was restarted, not reloaded"
    );

    // 4. A broken release (exits at start) on the second host, max_fail_percentage 30: the
    // rollout stops after that batch with exit status 2.
    let (out, _) = play(
        &inv,
        &[
            "playbooks/deploy.yml",
            "-e",
            "app_version=3.0.0",
            "-e",
            "deploy_max_fail_percentage=30",
            "-e",
            r#"{"app_broken": "{{ inventory_hostname == 'app2' }}"}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let counts = recap(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(counts["app2"]["failed"], 1, "{}", describe(&out));
    assert_eq!(health(&fleet, &apps[0]).unwrap().0, "3.0.0");
    assert_eq!(health(&fleet, &apps[1]), None, "the broken release answers");
    assert_eq!(
        health(&fleet, &apps[2]).map(|(v, _)| v).as_deref(),
        Some("2.0.0"),
        "the third host must keep the old version"
    );
    assert_eq!(
        sh(&fleet, &apps[2], "readlink /srv/sample-app/current"),
        "/srv/sample-app/releases/2.0.0"
    );
    // Nginx answers from the healthy hosts only.
    let seen = sample(lb_port, 30);
    assert!(
        seen.keys()
            .all(|(v, h)| (h == &apps[0] && v == "3.0.0") || (h == &apps[2] && v == "2.0.0")),
        "{seen:?}"
    );

    // rollback.yml: every host back on the release it ran before the rollout.
    play_ok(&inv, &["playbooks/rollback.yml"]);
    for h in &apps {
        assert_eq!(health(&fleet, h).map(|(v, _)| v).as_deref(), Some("2.0.0"));
    }
    expect_all_hosts(lb_port, &apps, "2.0.0");
    let conf = sh(&fleet, &lb, "cat /etc/nginx/nginx.conf");
    assert!(!conf.contains(" down;"), "a host is still drained:\n{conf}");

    eprintln!("mission test done in {:.0} s", t0.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&inv);
}

/// The playbooks are valid Ansible: ansible-playbook --syntax-check (the oracle in .venv-test,
/// or on PATH) accepts each of them with inventories/local.
#[test]
fn mission_playbooks_pass_ansible_syntax_check() {
    let venv = repo_root().join(".venv-test/bin/ansible-playbook");
    let bin = if venv.is_file() {
        venv
    } else {
        PathBuf::from("ansible-playbook")
    };
    for pb in PLAYBOOKS {
        let out = Command::new(&bin)
            .args(["--syntax-check", pb, "-i", "inventories/local/hosts.ini"])
            .current_dir(repo_root())
            .env("ANSIBLE_ROLES_PATH", repo_root().join("roles"))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} (tests/run.sh installs it in .venv-test): {e}",
                    bin.display()
                )
            });
        assert!(
            out.status.success(),
            "ansible-playbook --syntax-check {pb}: {}",
            describe(&out)
        );
        let out = run_baton(
            [
                "play",
                "--syntax-check",
                pb,
                "-i",
                "inventories/local/hosts.ini",
            ],
            &repo_root(),
        );
        assert!(
            out.status.success(),
            "baton play --syntax-check {pb}: {}",
            describe(&out)
        );
    }
}
