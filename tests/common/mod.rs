//! The real-host test fleet, as integration tests see it (`mod common;`).
//!
//! Hosts are Debian containers with a real sshd, published on 127.0.0.1 ports by
//! `tests/fleet/fleet.sh`. This module only drives that script and reads the state it writes
//! (`.fleet/PREFIX/{hosts.tsv,inventory.ini,id_ed25519,known_hosts}`); it uses std (and serde_json to read
//! results the test playbooks leave on a host).
//!
//! Two kinds of fleet:
//! - [`Fleet::shared`]: one per test process, never modified by tests. `tests/run.sh` brings it up
//!   once for the whole suite and exports `BATON_FLEET_DIR`. Without that variable (a plain
//!   `cargo test`), the first test that asks brings up a 3-host fleet `baton-t<pid>`; statics are
//!   never dropped, so `fleet.sh up --reap-when-gone <pid>` leaves a small watcher process behind
//!   that removes the fleet once this test process has exited (also after a crash).
//! - [`Fleet::dedicated`]: a private fleet for tests that break hosts (stop/start); removed when
//!   the value is dropped (also when the test panics), with the same watcher as a backstop.
//!
//! Failing to bring a fleet up fails the test with the script's output: never a silent skip.
//!
//! Tests check what happened on a host through two independent paths: [`Fleet::exec`] (docker
//! exec, no ssh involved) and [`Fleet::ssh`] (plain OpenSSH with the fleet key).
#![allow(dead_code)] // each test binary uses a different part of this module

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// One host of a fleet: its container (and host) name and its sshd port on 127.0.0.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetHost {
    pub name: String,
    pub port: u16,
}

/// A running fleet and the files describing it.
#[derive(Debug)]
pub struct Fleet {
    prefix: String,
    dir: PathBuf,
    hosts: Vec<FleetHost>,
    /// Tear down on drop (dedicated fleets only).
    owned: bool,
}

/// Number of hosts in the shared fleet.
pub const SHARED_HOSTS: usize = 3;

/// The repository root (the package directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fleet/fleet.sh`.
pub fn fleet_script() -> PathBuf {
    repo_root().join("tests/fleet/fleet.sh")
}

/// The baton binary built by cargo for this test run.
pub fn baton_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_baton"))
}

/// Run baton with `args` in `cwd`, stdin closed, capturing stdout and stderr.
pub fn run_baton<I, S>(args: I, cwd: &Path) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(baton_bin())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", baton_bin().display()))
}

/// Exit status, stdout and stderr of a finished command, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Stdout of a command that must have succeeded (panics with `describe` otherwise).
pub fn stdout_ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed: {}", describe(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_script(args: &[&str]) -> Result<String, String> {
    let out = Command::new("bash")
        .arg(fleet_script())
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run bash {}: {e}", fleet_script().display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`tests/fleet/fleet.sh {}` failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `fleet.sh deps` and `fleet.sh image`, once per process (parallel tests must not race apt-get
/// or start dockerd twice).
fn prepare() -> Result<(), String> {
    static PREPARED: OnceLock<Result<(), String>> = OnceLock::new();
    PREPARED
        .get_or_init(|| {
            run_script(&["deps"])?;
            run_script(&["image"])?;
            Ok(())
        })
        .clone()
}

fn bring_up(prefix: &str, n: usize, owned: bool) -> Result<Fleet, String> {
    bring_up_with(prefix, n, owned, &[])
}

fn bring_up_with(prefix: &str, n: usize, owned: bool, extra: &[&str]) -> Result<Fleet, String> {
    prepare()?;
    let pid = std::process::id().to_string();
    let n = n.to_string();
    let mut args = vec!["up", &n, "--prefix", prefix, "--reap-when-gone", &pid];
    args.extend_from_slice(extra);
    if let Err(e) = run_script(&args) {
        // fleet.sh leaves a failed fleet for inspection; a test run must not leak it.
        let _ = run_script(&["down", "--prefix", prefix]);
        return Err(e);
    }
    let mut fleet = Fleet::load(&repo_root().join(".fleet").join(prefix))?;
    fleet.owned = owned;
    Ok(fleet)
}

impl Fleet {
    /// The fleet shared by all tests of this process (see the module doc). Tests must not stop
    /// its hosts or change what other tests look at; use [`Fleet::dedicated`] for that.
    pub fn shared() -> &'static Fleet {
        static SHARED: OnceLock<Result<Fleet, String>> = OnceLock::new();
        let fleet = SHARED.get_or_init(|| match std::env::var_os("BATON_FLEET_DIR") {
            Some(dir) => Fleet::load(&repo_root().join(dir)),
            None => bring_up(
                &format!("baton-t{}", std::process::id()),
                SHARED_HOSTS,
                false,
            ),
        });
        match fleet {
            Ok(f) => f,
            Err(e) => panic!("the shared test fleet is not available:\n{e}"),
        }
    }

    /// A private fleet of `n` hosts (systemd as PID 1), named `<prefix>-<pid>-1..n`, removed
    /// when dropped. `BATON_FLEET_PREFIX=P` puts `P-` in front of the name (to keep the
    /// containers of one person or job recognisable on a shared machine).
    pub fn dedicated(prefix: &str, n: usize) -> Fleet {
        let prefix = match std::env::var("BATON_FLEET_PREFIX") {
            Ok(p) if !p.is_empty() => format!("{p}-{prefix}-{}", std::process::id()),
            _ => format!("{prefix}-{}", std::process::id()),
        };
        bring_up(&prefix, n, true)
            .unwrap_or_else(|e| panic!("cannot bring up the dedicated fleet {prefix}:\n{e}"))
    }

    /// [`Fleet::dedicated`] with more options for `fleet.sh up` (e.g. `["--publish", "80"]`).
    pub fn dedicated_with(prefix: &str, n: usize, extra: &[&str]) -> Fleet {
        let prefix = format!("{prefix}-{}", std::process::id());
        bring_up_with(&prefix, n, true, extra)
            .unwrap_or_else(|e| panic!("cannot bring up the dedicated fleet {prefix}:\n{e}"))
    }

    /// Read a fleet from its state directory (`.fleet/PREFIX`).
    pub fn load(dir: &Path) -> Result<Fleet, String> {
        let tsv = dir.join("hosts.tsv");
        let text = std::fs::read_to_string(&tsv).map_err(|e| {
            format!(
                "cannot read {}: {e} (is the fleet up? tests/fleet/fleet.sh up 3 --prefix NAME)",
                tsv.display()
            )
        })?;
        let mut hosts = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (name, port) = line
                .split_once('\t')
                .ok_or_else(|| format!("{}: bad line {line:?}", tsv.display()))?;
            let port = port
                .trim()
                .parse()
                .map_err(|e| format!("{}: bad port in {line:?}: {e}", tsv.display()))?;
            hosts.push(FleetHost {
                name: name.to_string(),
                port,
            });
        }
        if hosts.is_empty() {
            return Err(format!("{} lists no hosts", tsv.display()));
        }
        for f in ["inventory.ini", "id_ed25519", "known_hosts"] {
            if !dir.join(f).is_file() {
                return Err(format!("{} is missing", dir.join(f).display()));
            }
        }
        let prefix = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("bad fleet directory {}", dir.display()))?
            .to_string();
        Ok(Fleet {
            prefix,
            dir: dir.to_path_buf(),
            hosts,
            owned: false,
        })
    }

    /// The fleet's name prefix (also the value of the containers' `baton.fleet` label).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The state directory, `.fleet/PREFIX`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// An Ansible INI inventory of all hosts (group `fleet`, user root, the fleet key).
    pub fn inventory_path(&self) -> PathBuf {
        self.dir.join("inventory.ini")
    }

    /// `[127.0.0.1]:PORT keytype key` lines for every host key of every host.
    pub fn known_hosts_path(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// The private key accepted for root, deploy and secure on every host.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }

    pub fn hosts(&self) -> &[FleetHost] {
        &self.hosts
    }

    /// The host called `name`; panics when the fleet has none.
    pub fn host(&self, name: &str) -> &FleetHost {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("fleet {} has no host {name}", self.prefix))
    }

    /// Run `cmd` with `sh -c` inside the container, as root, without ssh.
    pub fn exec(&self, host: &str, cmd: &str) -> Output {
        Command::new("docker")
            .args(["exec", host, "sh", "-c", cmd])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run docker exec: {e}"))
    }

    /// Run `cmd` on the host as root with plain OpenSSH and the fleet key.
    pub fn ssh(&self, host: &str, cmd: &str) -> Output {
        self.ssh_as("root", host, cmd)
    }

    /// Run `cmd` on the host as `user` (root, deploy or secure) with plain OpenSSH.
    pub fn ssh_as(&self, user: &str, host: &str, cmd: &str) -> Output {
        let port = self.host(host).port.to_string();
        Command::new("ssh")
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=10",
                "-i",
            ])
            .arg(self.key_path())
            .args(["-p", &port, &format!("{user}@127.0.0.1"), "--", cmd])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run ssh: {e}"))
    }

    /// Stop the host's container (sshd goes away; the port stays reserved for it).
    pub fn stop_host(&self, name: &str) {
        self.host(name);
        if let Err(e) = run_script(&["stop-host", name]) {
            panic!("{e}");
        }
    }

    /// Start a stopped host again and wait until ssh answers on its old port.
    pub fn start_host(&self, name: &str) {
        self.host(name);
        if let Err(e) = run_script(&["start-host", name]) {
            panic!("{e}");
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if self.owned
            && let Err(e) = run_script(&["down", "--prefix", &self.prefix])
        {
            eprintln!("warning: tearing down fleet {}: {e}", self.prefix);
        }
    }
}

/// The JSON mapping a differential test's playbook left on `host` at `path` (each task's
/// registered result under its name), read through docker exec.
pub fn json_results(
    fleet: &Fleet,
    host: &str,
    path: &str,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let out = fleet.exec(host, &format!("cat {path}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("results of {host} are not JSON ({e}): {text}"));
    v.as_object()
        .expect("a mapping of results")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The counts of `host`'s line in the PLAY RECAP of `out` (`ok=3 changed=1 ...`), or a
/// text saying there is none (so two of them compare unequal and the message shows the output).
pub fn recap(out: &str, host: &str) -> String {
    out.lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .find(|l| l.starts_with(host))
        .map(|l| {
            l[host.len()..]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| format!("no recap line for {host} in:\n{out}"))
}

/// `ansible-playbook` on PATH; failing (never skipping) when it is not there.
pub fn ansible_playbook() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("ansible-playbook"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "ansible-playbook is not on PATH: this test compares baton with ansible-core. \
                 Run tests/run.sh, which installs ansible-core 2.19.14 into .venv-test and puts \
                 it on PATH."
            )
        })
}

/// Runs `play.yml` of `dir` on `host` of `inventory` (`-l host`, then `flags`) with
/// ansible-playbook (`tool == "ansible"`: no colour, no host key checking, no retry files,
/// the fleet's Python, and `ansible_env` added) or with baton; gives the output.
pub fn play_on_host(
    tool: &str,
    dir: &Path,
    inventory: &Path,
    host: &str,
    flags: &[&str],
    ansible_env: &[(&str, &OsStr)],
) -> Output {
    let mut args: Vec<String> = vec![
        "-i".into(),
        inventory.display().to_string(),
        "-l".into(),
        host.into(),
        "play.yml".into(),
    ];
    args.extend(flags.iter().map(|f| f.to_string()));
    if tool == "ansible" {
        Command::new(ansible_playbook())
            .args(&args)
            .current_dir(dir)
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_HOST_KEY_CHECKING", "False")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
            .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
            .envs(ansible_env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run ansible-playbook")
    } else {
        let mut a = vec!["play".to_string()];
        a.extend(args);
        run_baton(a, dir)
    }
}

/// inventories/local's hosts.ini and group_vars, plus fleet.ini for `fleet` (app1..app3 and lb1
/// on the fleet's four hosts, written by tests/fleet/local-inventory.sh), in the fleet's state
/// directory. Gives the directory and what the script printed (the load balancer's published
/// port 80).
#[allow(dead_code)]
pub fn local_inventory(fleet: &Fleet) -> (PathBuf, String) {
    let dir = fleet.dir().join("inventory-local");
    let src = repo_root().join("inventories/local");
    std::fs::create_dir_all(dir.join("group_vars")).unwrap();
    std::fs::copy(src.join("hosts.ini"), dir.join("hosts.ini")).unwrap();
    for e in std::fs::read_dir(src.join("group_vars")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("group_vars").join(e.file_name())).unwrap();
    }
    let out = Command::new("bash")
        .arg(repo_root().join("tests/fleet/local-inventory.sh"))
        .arg(fleet.prefix())
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "local-inventory.sh: {}",
        describe(&out)
    );
    (dir, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A private scratch directory under the system temp dir, `baton-<tag>-<pid>-<name>`, emptied
/// when made and removed when dropped (also when the test panics).
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(tag: &str, name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("baton-{tag}-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
