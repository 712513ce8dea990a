//! The ssh transport beyond key-and-password basics, against real sshd in the fleet: agent
//! auth, encrypted keys, OpenSSH certificates, ProxyJump through one fleet host to another,
//! known_hosts accept / refuse / accept-new, ~/.ssh/config, sudo with and without a password,
//! and a host whose sshd dies mid-run. Effects are checked through `docker exec`.
//!
//! Tests that change hosts (authorized keys, sshd configuration, killing sshd) use a dedicated
//! fleet of this process; the others use the shared fleet read-only.

mod common;

use baton::connection::{ConnError, ConnectSpec, Connection, Transport, connect};
use baton::modules::transfer::{PutOptions, Source};
use baton::modules::{Become, ModuleCtx};
use baton::value::Value;
use common::Fleet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------- helpers

/// A private fleet for the tests that change hosts: host 1 for authorized keys, host 2 for
/// sudo, host 3 is the one whose sshd gets killed, host 4 trusts a certificate authority.
fn own_fleet() -> &'static Fleet {
    static FLEET: OnceLock<Fleet> = OnceLock::new();
    FLEET.get_or_init(|| Fleet::dedicated("baton-sshadv", 4))
}

/// Connects, retrying for a few seconds while sshd restarts.
async fn open_retrying(spec: &ConnectSpec) -> Arc<dyn Connection> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match connect(spec).await {
            Ok(conn) => return conn,
            Err(e) if Instant::now() < deadline => {
                eprintln!("retrying after: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("connect to port {} failed: {e}", spec.port),
        }
    }
}

fn on(fleet: &Fleet, name: &str, cmd: &str) -> String {
    let out = fleet.exec(name, cmd);
    common::stdout_ok(&out, &format!("docker exec {name} {cmd:?}"))
}

fn spec(port: u16, user: &str, key: Option<&Path>) -> ConnectSpec {
    let mut spec = ConnectSpec::new("adv-test");
    spec.transport = Transport::Ssh;
    spec.address = "127.0.0.1".into();
    spec.port = port;
    spec.explicit_port = true;
    spec.user = user.into();
    spec.explicit_user = true;
    spec.private_key_file = key.map(Path::to_path_buf);
    spec.host_key_checking = false;
    // Never the operator's own ~/.ssh/config, agent or keys.
    spec.ssh_config_file = Some(PathBuf::from("/dev/null"));
    spec.ssh_options = vec![("identityagent".into(), "none".into())];
    spec
}

async fn open(spec: &ConnectSpec) -> Arc<dyn Connection> {
    connect(spec)
        .await
        .unwrap_or_else(|e| panic!("connect to {}:{} failed: {e}", spec.address, spec.port))
}

fn unreachable(r: Result<Arc<dyn Connection>, ConnError>) -> String {
    match r {
        Ok(_) => panic!("connect should have failed"),
        Err(ConnError::Unreachable(why)) => {
            assert!(!why.contains('\n'), "not one line: {why}");
            why
        }
        Err(other) => panic!("expected Unreachable, got {other:?}"),
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("baton-adv-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn keygen(dir: &Path, name: &str, passphrase: &str) -> PathBuf {
    let path = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-C",
            "baton-adv",
            "-N",
            passphrase,
            "-f",
        ])
        .arg(&path)
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success(), "{}", common::describe(&out));
    path
}

fn public(key: &Path) -> String {
    std::fs::read_to_string(key.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}

/// Authorizes `key` for `user` on a host of the private fleet.
fn authorize(fleet: &Fleet, host: &str, user: &str, key: &Path) {
    let home = if user == "root" {
        "/root".to_string()
    } else {
        format!("/home/{user}")
    };
    on(
        fleet,
        host,
        &format!(
            "echo '{}' >> {home}/.ssh/authorized_keys && chown {user}: {home}/.ssh/authorized_keys",
            public(key)
        ),
    );
}

fn unique(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{}-{nanos}", std::process::id())
}

fn ctx(conn: Arc<dyn Connection>) -> ModuleCtx {
    ModuleCtx {
        host: "adv".into(),
        conn: Some(conn),
        vars: Value::from(()),
        check_mode: false,
        diff: false,
        become_: None,
        environment: Vec::new(),
        timeout: None,
    }
}

/// An ssh-agent of this test, killed on drop.
struct Agent {
    socket: PathBuf,
    pid: u32,
}

impl Agent {
    fn start(dir: &Path) -> Agent {
        let socket = dir.join("agent.sock");
        let out = Command::new("ssh-agent")
            .arg("-a")
            .arg(&socket)
            .arg("-s")
            .output()
            .expect("ssh-agent runs");
        assert!(out.status.success(), "{}", common::describe(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        let pid = text
            .split("SSH_AGENT_PID=")
            .nth(1)
            .and_then(|s| s.split(';').next())
            .and_then(|s| s.parse().ok())
            .expect("agent pid");
        Agent { socket, pid }
    }

    fn add(&self, key: &Path) {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stdin(Stdio::null())
            .output()
            .expect("ssh-add runs");
        assert!(out.status.success(), "{}", common::describe(&out));
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}

// ------------------------------------------------------------------------- authentication

#[tokio::test]
async fn agent_keys_authenticate_and_only_the_agent_holds_the_key() {
    let fleet = own_fleet();
    let host = &fleet.hosts()[0];
    let dir = TempDir::new("agent");
    let key = keygen(dir.path(), "id_agent", "");
    authorize(fleet, &host.name, "root", &key);
    let agent = Agent::start(dir.path());
    agent.add(&key);
    // The key file goes away: only the agent can sign.
    std::fs::remove_file(&key).unwrap();

    let mut s = spec(host.port, "root", None);
    s.ssh_options = vec![("identityagent".into(), agent.socket.display().to_string())];
    let conn = open(&s).await;
    let marker = format!("/tmp/{}", unique("agent"));
    let out = conn
        .exec(&format!("touch {marker}"), None, None)
        .await
        .unwrap();
    assert_eq!(out.rc, Some(0));
    on(
        fleet,
        &host.name,
        &format!("test -e {marker} && rm {marker}"),
    );
    conn.close().await;

    // Without the agent the same login is refused.
    drop(agent);
    let why = unreachable(connect(&s).await);
    assert!(why.contains("Permission denied"), "{why}");
}

#[tokio::test]
async fn encrypted_keys_need_their_passphrase() {
    let fleet = own_fleet();
    let host = &fleet.hosts()[0];
    let dir = TempDir::new("encrypted");
    let key = keygen(dir.path(), "id_locked", "correct horse");
    authorize(fleet, &host.name, "root", &key);

    // No passphrase and no terminal: refused, saying why and what to do.
    let mut s = spec(host.port, "root", Some(&key));
    let why = unreachable(connect(&s).await);
    assert!(why.contains("passphrase-protected"), "{why}");
    assert!(why.contains("--key-passphrase-file"), "{why}");

    // A wrong one: refused, without echoing it.
    s.key_passphrase = Some("wrong battery".into());
    let why = unreachable(connect(&s).await);
    assert!(why.contains("passphrase given for it is wrong"), "{why}");
    assert!(!why.contains("wrong battery"), "{why}");

    s.key_passphrase = Some("correct horse".into());
    let conn = open(&s).await;
    assert_eq!(
        conn.exec("id -un", None, None).await.unwrap().stdout,
        b"root\n"
    );

    // From the command line: --key-passphrase-file, with ad-hoc mode.
    let inv = dir.path().join("inv.ini");
    std::fs::write(
        &inv,
        format!(
            "target ansible_host=127.0.0.1 ansible_port={} ansible_user=root \
             ansible_ssh_private_key_file={} ansible_host_key_checking=false\n",
            host.port,
            key.display()
        ),
    )
    .unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse\n").unwrap();
    let out = common::run_baton(
        [
            "run".as_ref(),
            "target".as_ref(),
            "-i".as_ref(),
            inv.as_os_str(),
            "-m".as_ref(),
            "command".as_ref(),
            "-a".as_ref(),
            "hostname".as_ref(),
            "--key-passphrase-file".as_ref(),
            pass.as_os_str(),
        ],
        dir.path(),
    );
    let text = common::stdout_ok(&out, "baton run with --key-passphrase-file");
    assert_eq!(text, format!("target | CHANGED | rc=0 >>\n{}\n", host.name));
}

#[tokio::test]
async fn openssh_certificates_signed_by_a_trusted_ca_authenticate() {
    let fleet = own_fleet();
    let host = &fleet.hosts()[3];
    let dir = TempDir::new("cert");
    let ca = keygen(dir.path(), "ca", "");
    // The host trusts the CA for user certificates (and nothing else about this key).
    on(
        fleet,
        &host.name,
        &format!(
            "echo '{}' > /etc/ssh/baton_user_ca.pub && \
             printf 'TrustedUserCAKeys /etc/ssh/baton_user_ca.pub\\nPasswordAuthentication no\\nKbdInteractiveAuthentication yes\\n' \
               > /etc/ssh/sshd_config.d/00-baton-test.conf && \
             systemctl reload ssh",
            public(&ca)
        ),
    );
    let key = keygen(dir.path(), "id_user", "");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-s"])
        .arg(&ca)
        .args(["-I", "baton-test", "-n", "deploy", "-V", "-5m:+1h"])
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));
    assert!(dir.path().join("id_user-cert.pub").exists());

    // KEY-cert.pub next to the key is used automatically; the key itself is not authorized.
    let s = spec(host.port, "deploy", Some(&key));
    let conn = open_retrying(&s).await;
    assert_eq!(
        conn.exec("id -un", None, None).await.unwrap().stdout,
        b"deploy\n"
    );
    conn.close().await;
    // The certificate names only `deploy`: root is refused.
    let why = unreachable(connect(&spec(host.port, "root", Some(&key))).await);
    assert!(why.contains("Permission denied"), "{why}");
    // Without the certificate the key alone is refused for deploy too.
    std::fs::remove_file(dir.path().join("id_user-cert.pub")).unwrap();
    let why = unreachable(connect(&spec(host.port, "deploy", Some(&key))).await);
    assert!(why.contains("Permission denied"), "{why}");

    // The same host takes passwords only through keyboard-interactive: baton answers its
    // password prompt with the password.
    let mut s = spec(host.port, "secure", None);
    s.password = Some("secure-pw".into());
    let conn = open_retrying(&s).await;
    assert_eq!(
        conn.exec("id -un", None, None).await.unwrap().stdout,
        b"secure\n"
    );
    s.password = Some("wrong-pw-123".into());
    let why = unreachable(connect(&s).await);
    assert!(why.contains("Permission denied"), "{why}");
    assert!(why.contains("keyboard-interactive"), "{why}");
    assert!(!why.contains("wrong-pw-123"), "{why}");
}

// ------------------------------------------------------------------ ProxyJump, ssh_config

#[tokio::test]
async fn proxyjump_through_one_fleet_host_to_another() {
    let fleet = Fleet::shared();
    let (jump, target) = (&fleet.hosts()[0], &fleet.hosts()[1]);
    let dir = TempDir::new("jump");
    let known = dir.path().join("known_hosts");
    // The target by its container name on port 22: only the jump host can resolve and
    // reach it (the docker network), the test machine cannot.
    let mut s = spec(22, "root", Some(&fleet.key_path()));
    s.address = target.name.clone();
    s.host_key_checking = true;
    s.known_hosts_file = Some(known.clone());
    s.ssh_options = vec![
        ("identityagent".into(), "none".into()),
        ("proxyjump".into(), format!("root@127.0.0.1:{}", jump.port)),
        ("stricthostkeychecking".into(), "accept-new".into()),
    ];
    let conn = open(&s).await;
    let marker = format!("/tmp/{}", unique("jumped"));
    let out = conn
        .exec(&format!("hostname; touch {marker}"), None, None)
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", target.name)
    );
    on(
        fleet,
        &target.name,
        &format!("test -e {marker} && rm {marker}"),
    );
    conn.close().await;

    // accept-new recorded both hops: the jump host as [127.0.0.1]:PORT, the target by name.
    let text = std::fs::read_to_string(&known).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("[127.0.0.1]:{} ", jump.port))),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("{} ", target.name))),
        "{text}"
    );

    // Now a strict check passes with what was recorded...
    s.ssh_options[2].1 = "yes".into();
    open(&s).await.close().await;
    // ...and a different key recorded for the target is refused, naming the line.
    let other = keygen(dir.path(), "other", "");
    let other_key = public(&other);
    let other_key = other_key.split_whitespace().nth(1).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(&format!("{} ", target.name)))
        .map(str::to_string)
        .collect();
    lines.push(format!("{} ssh-ed25519 {other_key}", target.name));
    std::fs::write(&known, lines.join("\n") + "\n").unwrap();
    let why = unreachable(connect(&s).await);
    assert!(why.contains("changed"), "{why}");
    assert!(
        why.contains(&format!("{}:{}", known.display(), lines.len())),
        "{why}"
    );
}

#[tokio::test]
async fn ssh_config_supplies_hostname_user_port_key_and_jump() {
    let fleet = Fleet::shared();
    let (jump, target) = (&fleet.hosts()[1], &fleet.hosts()[2]);
    let dir = TempDir::new("config");
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "Host bastion\n  HostName 127.0.0.1\n  Port {}\n  User root\n\n\
             Host app-*\n  HostName {}\n  User deploy\n  ProxyJump bastion\n\n\
             Host *\n  IdentityFile {}\n  StrictHostKeyChecking no\n  IdentityAgent none\n",
            jump.port,
            target.name,
            fleet.key_path().display()
        ),
    )
    .unwrap();
    // Only the alias comes from the inventory; no user, port or key.
    let mut s = ConnectSpec::new("app-1");
    s.ssh_config_file = Some(config.clone());
    let conn = open(&s).await;
    let file = format!("/tmp/{}", unique("cfg"));
    let out = conn
        .exec(&format!("touch {file}; hostname"), None, None)
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", target.name)
    );
    assert_eq!(
        on(
            fleet,
            &target.name,
            &format!("stat -c %U {file}; rm {file}")
        ),
        "deploy\n"
    );

    // The inventory wins over the file: an explicit user.
    s.user = "root".into();
    s.explicit_user = true;
    let conn = open(&s).await;
    assert_eq!(
        conn.exec("id -un", None, None).await.unwrap().stdout,
        b"root\n"
    );

    // And the same through the command line: ansible_ssh_common_args in the inventory.
    let inv = dir.path().join("inv.ini");
    std::fs::write(
        &inv,
        format!(
            "app ansible_host={} ansible_user=root ansible_ssh_private_key_file={} \
             ansible_host_key_checking=false \
             ansible_ssh_common_args='-o ProxyJump=root@127.0.0.1:{} -o IdentityAgent=none'\n",
            target.name,
            fleet.key_path().display(),
            jump.port
        ),
    )
    .unwrap();
    let out = common::run_baton(
        [
            "run",
            "app",
            "-i",
            inv.to_str().unwrap(),
            "-m",
            "shell",
            "-a",
            "hostname",
        ],
        dir.path(),
    );
    let text = common::stdout_ok(&out, "baton run through a ProxyJump");
    assert_eq!(text, format!("app | CHANGED | rc=0 >>\n{}\n", target.name));
}

#[tokio::test]
async fn known_hosts_accept_new_records_then_refuses_a_changed_key() {
    let fleet = Fleet::shared();
    let host = &fleet.hosts()[0];
    let dir = TempDir::new("accept-new");
    let known = dir.path().join("sub").join("known_hosts");
    let mut s = spec(host.port, "root", Some(&fleet.key_path()));
    s.host_key_checking = true;
    s.ssh_options
        .push(("userknownhostsfile".into(), known.display().to_string()));

    // yes (the default): an unknown host is refused and nothing is written.
    let why = unreachable(connect(&s).await);
    assert!(why.contains("is not known"), "{why}");
    assert!(!known.exists());

    // accept-new: accepted and recorded, the key the fleet's own known_hosts has for it.
    s.ssh_options
        .push(("stricthostkeychecking".into(), "accept-new".into()));
    open(&s).await.close().await;
    let recorded = std::fs::read_to_string(&known).unwrap();
    let line = recorded.lines().next().unwrap().to_string();
    let label = format!("[127.0.0.1]:{}", host.port);
    assert!(line.starts_with(&format!("{label} ")), "{recorded}");
    let fleet_known = std::fs::read_to_string(fleet.known_hosts_path()).unwrap();
    assert!(
        fleet_known.lines().any(|l| l == line),
        "{line} not in\n{fleet_known}"
    );

    // Tampered: refused even with accept-new, naming file and line; never connects.
    let other = keygen(dir.path(), "other", "");
    let other_key = public(&other);
    let kind = line.split_whitespace().nth(1).unwrap();
    assert_eq!(kind, "ssh-ed25519");
    std::fs::write(
        &known,
        format!(
            "# comment\n{label} ssh-ed25519 {}\n",
            other_key.split_whitespace().nth(1).unwrap()
        ),
    )
    .unwrap();
    let why = unreachable(connect(&s).await);
    assert!(why.contains("changed"), "{why}");
    assert!(why.contains(&format!("{}:2", known.display())), "{why}");
}

// ---------------------------------------------------------------------------------- become

/// An inventory for the fleet's `secure` user (its sudo asks for its password).
fn secure_inventory(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let inv = dir.join("inv.ini");
    std::fs::write(
        &inv,
        format!(
            "sec ansible_host=127.0.0.1 ansible_port={port} ansible_user=secure \
             ansible_ssh_private_key_file={} ansible_host_key_checking=false {extra}\n",
            own_fleet().key_path().display()
        ),
    )
    .unwrap();
    inv
}

fn baton_run(dir: &Path, inv: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["run", "sec", "-i", inv.to_str().unwrap()];
    all.extend_from_slice(args);
    common::run_baton(all, dir)
}

#[test]
fn sudo_with_a_password_answers_the_prompt_and_never_shows_the_password() {
    let fleet = own_fleet();
    let host = &fleet.hosts()[1];
    let dir = TempDir::new("sudo-pw");
    let pw = dir.path().join("become-pw");
    std::fs::write(&pw, "secure-pw\n").unwrap();
    let inv = secure_inventory(dir.path(), host.port, "");
    let pw_arg = pw.to_str().unwrap();

    // To root, and to another user; -vvvv logs everything but the password.
    for (user, expect) in [(None, "root"), (Some("deploy"), "deploy")] {
        let mut args = vec![
            "-m",
            "shell",
            "-a",
            "id -un; cat; echo end",
            "-b",
            "--become-password-file",
            pw_arg,
            "-vvvv",
        ];
        if let Some(u) = user {
            args.extend_from_slice(&["--become-user", u]);
        }
        let out = baton_run(dir.path(), &inv, &args);
        let text = common::stdout_ok(&out, "sudo with a password");
        // `cat` got no input at all: the password went to sudo, not to the command.
        assert_eq!(text, format!("sec | CHANGED | rc=0 >>\n{expect}\nend\n"));
        let all = format!("{}{}", text, String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains("secure-pw"), "password leaked:\n{all}");
        assert!(
            all.contains("answering the privilege escalation prompt")
                || all.contains("BATON-BECOME"),
            "no sign of the sudo dialogue in the -vvvv log:\n{all}"
        );
    }

    // Through an inventory variable, and the file it creates belongs to root.
    let marker = format!("/root/{}", unique("sudo"));
    let dir2 = TempDir::new("sudo-pw-var");
    let inv2 = secure_inventory(dir2.path(), host.port, "ansible_become_password=secure-pw");
    let out = baton_run(
        dir.path(),
        &inv2,
        &["-m", "command", "-a", &format!("touch {marker}"), "-b"],
    );
    common::stdout_ok(&out, "become password from the inventory");
    assert_eq!(
        on(
            fleet,
            &host.name,
            &format!("stat -c %U {marker}; rm {marker}")
        ),
        "root\n"
    );

    // Wrong password: Ansible's message, exit 2, and no password in the output.
    let bad = dir.path().join("bad-pw");
    std::fs::write(&bad, "not-it-pw\n").unwrap();
    let out = baton_run(
        dir.path(),
        &inv,
        &[
            "-m",
            "command",
            "-a",
            "id -un",
            "-b",
            "--become-password-file",
            bad.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{}", common::describe(&out));
    assert!(text.contains("Incorrect sudo password"), "{text}");
    assert!(!text.contains("not-it-pw"), "{text}");

    // None given: fails at once instead of hanging.
    let started = Instant::now();
    let out = baton_run(dir.path(), &inv, &["-m", "command", "-a", "id -un", "-b"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Missing sudo password"),
        "{}",
        common::describe(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    // From the environment, as CI pipelines pass it (the become plugins' `become_pass`
    // option): ANSIBLE_BECOME_PASS, and ANSIBLE_BECOME_PASSWORD too. Neither is echoed.
    for var in ["ANSIBLE_BECOME_PASS", "ANSIBLE_BECOME_PASSWORD"] {
        let marker = format!("/root/{}", unique("sudo-env"));
        let out = std::process::Command::new(common::baton_bin())
            .args([
                "run",
                "sec",
                "-i",
                inv.to_str().unwrap(),
                "-b",
                "-m",
                "command",
            ])
            .args(["-a", &format!("touch {marker}")])
            .env(var, "secure-pw")
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = common::stdout_ok(&out, var);
        assert!(!text.contains("secure-pw"), "{text}");
        assert_eq!(
            on(
                fleet,
                &host.name,
                &format!("stat -c %U {marker}; rm {marker}")
            ),
            "root\n",
            "{var}"
        );
    }
}

#[tokio::test]
async fn put_file_as_another_user_through_sudo_with_a_password() {
    let fleet = own_fleet();
    let host = &fleet.hosts()[1];
    let mut s = spec(host.port, "secure", Some(&fleet.key_path()));
    s.become_password = Some("secure-pw".into());
    let conn = open(&s).await;
    let mut c = ctx(conn);
    c.become_ = Some(Become {
        method: "sudo".into(),
        user: "deploy".into(),
        flags: None,
    });
    // Bigger than the inline limit: streamed, after sudo's dialogue.
    let dir = TempDir::new("put-sudo");
    let src = dir.path().join("payload");
    let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &data).unwrap();
    let dest = format!("/home/deploy/{}", unique("put"));
    let out = c
        .put_file(Source::File(src.clone()), &dest, &PutOptions::default())
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(
        on(
            fleet,
            &host.name,
            &format!("stat -c '%U %s' {dest}; sha1sum < {dest} | cut -c1-40")
        ),
        format!("deploy {}\n{}\n", data.len(), out.checksum)
    );
    let again = c
        .put_file(Source::File(src), &dest, &PutOptions::default())
        .await
        .unwrap();
    assert!(!again.changed);
    on(fleet, &host.name, &format!("rm -f {dest}"));
}

#[tokio::test]
async fn su_with_a_password_runs_as_the_target_user_and_passes_input_through() {
    let fleet = own_fleet();
    let host = &fleet.hosts()[1];
    // deploy logs in; su needs secure's own password.
    let mut s = spec(host.port, "deploy", Some(&fleet.key_path()));
    s.become_password = Some("secure-pw".into());
    let mut c = ctx(open(&s).await);
    c.become_ = Some(Become {
        method: "su".into(),
        user: "secure".into(),
        flags: None,
    });
    let out = c
        .exec("id -un; cat", Some(b"input for cat\n"))
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "secure\ninput for cat\n"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Password"));
    let dest = format!("/home/secure/{}", unique("su"));
    c.put_file(
        Source::Bytes(b"via su\n".to_vec()),
        &dest,
        &PutOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        on(
            fleet,
            &host.name,
            &format!("stat -c %U {dest}; cat {dest}; rm {dest}")
        ),
        "secure\nvia su\n"
    );

    let mut s = spec(host.port, "deploy", Some(&fleet.key_path()));
    s.become_password = Some("not-secure-pw".into());
    let mut c = ctx(open(&s).await);
    c.become_ = Some(Become {
        method: "su".into(),
        user: "secure".into(),
        flags: None,
    });
    match c.exec("id -un", None).await {
        Err(baton::modules::ModuleError::Failed(m)) => assert_eq!(m, "Incorrect su password"),
        other => panic!("expected Incorrect su password, got {other:?}"),
    }
}

#[test]
fn sudo_without_a_password_for_a_nopasswd_user() {
    let fleet = own_fleet();
    let host = &fleet.hosts()[1];
    let dir = TempDir::new("nopasswd");
    let inv = dir.path().join("inv.ini");
    std::fs::write(
        &inv,
        format!(
            "sec ansible_host=127.0.0.1 ansible_port={} ansible_user=deploy \
             ansible_ssh_private_key_file={} ansible_host_key_checking=false\n",
            host.port,
            fleet.key_path().display()
        ),
    )
    .unwrap();
    let out = baton_run(
        dir.path(),
        &inv,
        &[
            "-m",
            "command",
            "-a",
            "id -un",
            "-b",
            "--become-user",
            "secure",
        ],
    );
    assert_eq!(
        common::stdout_ok(&out, "sudo as deploy"),
        "sec | CHANGED | rc=0 >>\nsecure\n"
    );
}

// ------------------------------------------------------------- asking on the terminal

/// Runs baton on a pseudo-terminal (python3's pty module), typing `answer` after each time
/// `prompt` appears. Returns what the terminal showed and the exit status.
fn on_terminal(args: &[&str], prompt: &str, answer: &str, cwd: &Path) -> (String, i32) {
    const DRIVER: &str = r#"
import os, pty, sys
prompt, answer, argv = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
seen, pending = b"", b""
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    seen += data
    pending += data
    while prompt in pending:
        pending = pending.split(prompt, 1)[1]
        os.write(fd, answer + b"\n")
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let baton = common::baton_bin();
    let out = Command::new("python3")
        .arg("-c")
        .arg(DRIVER)
        .arg(prompt)
        .arg(answer)
        .arg(&baton)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("python3 runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn ask_become_pass_prompts_once_without_echo() {
    let fleet = own_fleet();
    let host = &fleet.hosts()[1];
    let dir = TempDir::new("ask-k");
    let inv = secure_inventory(dir.path(), host.port, "");
    let (shown, code) = on_terminal(
        &[
            "run",
            "sec",
            "-i",
            inv.to_str().unwrap(),
            "-m",
            "command",
            "-a",
            "id -un",
            "-b",
            "-K",
        ],
        "BECOME password: ",
        "secure-pw",
        dir.path(),
    );
    assert_eq!(code, 0, "{shown}");
    assert_eq!(shown.matches("BECOME password: ").count(), 1, "{shown}");
    assert!(shown.contains("sec | CHANGED | rc=0 >>\r\nroot"), "{shown}");
    // The terminal did not echo what was typed.
    assert!(!shown.contains("secure-pw"), "password echoed:\n{shown}");
}

#[test]
fn an_encrypted_key_is_asked_for_once_for_all_hosts() {
    let fleet = own_fleet();
    let dir = TempDir::new("ask-passphrase");
    let key = keygen(dir.path(), "id_shared_locked", "open sesame");
    let mut inv = String::from("[hosts]\n");
    for (i, host) in fleet.hosts()[..2].iter().enumerate() {
        authorize(fleet, &host.name, "root", &key);
        inv.push_str(&format!("h{i} ansible_port={}\n", host.port));
    }
    inv.push_str(&format!(
        "[hosts:vars]\nansible_host=127.0.0.1\nansible_user=root\n\
         ansible_ssh_private_key_file={}\nansible_host_key_checking=false\n\
         ansible_ssh_common_args='-o IdentityAgent=none'\n",
        key.display()
    ));
    let inv_path = dir.path().join("inv.ini");
    std::fs::write(&inv_path, inv).unwrap();
    let prompt = format!("Enter passphrase for key '{}': ", key.display());
    let (shown, code) = on_terminal(
        &[
            "run",
            "hosts",
            "-i",
            inv_path.to_str().unwrap(),
            "-m",
            "ping",
            "-o",
        ],
        &prompt,
        "open sesame",
        dir.path(),
    );
    assert_eq!(code, 0, "{shown}");
    assert_eq!(shown.matches(&prompt).count(), 1, "{shown}");
    assert_eq!(shown.matches("| SUCCESS =>").count(), 2, "{shown}");
    assert!(!shown.contains("open sesame"), "{shown}");
}

// ------------------------------------------------------------------------ failure handling

#[test]
fn a_host_whose_sshd_dies_mid_run_is_unreachable_and_the_others_go_on() {
    let fleet = own_fleet();
    let (victim, healthy) = (&fleet.hosts()[2], &fleet.hosts()[0]);
    let dir = TempDir::new("dies");
    let marker = format!("/tmp/{}", unique("step2"));
    let inv = dir.path().join("inv.ini");
    std::fs::write(
        &inv,
        format!(
            "[all:vars]\nansible_host=127.0.0.1\nansible_user=root\n\
             ansible_ssh_private_key_file={}\nansible_host_key_checking=false\n\
             [hosts]\nvictim ansible_port={}\nhealthy ansible_port={}\n",
            fleet.key_path().display(),
            victim.port,
            healthy.port
        ),
    )
    .unwrap();
    let book = dir.path().join("play.yml");
    std::fs::write(
        &book,
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - command: \"true\"\n\
             \x20   - shell: \"touch {marker}; sleep 6\"\n\
             \x20   - command: echo after\n"
        ),
    )
    .unwrap();
    let child = Command::new(common::baton_bin())
        .args(["play", book.to_str().unwrap(), "-i", inv.to_str().unwrap()])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the second task runs on the victim, kill every sshd there (listener and sessions).
    let deadline = Instant::now() + Duration::from_secs(60);
    while fleet
        .exec(&victim.name, &format!("test -e {marker}"))
        .status
        .code()
        != Some(0)
    {
        assert!(
            Instant::now() < deadline,
            "task 2 never started on the victim"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    on(fleet, &victim.name, "pkill -9 -x sshd; true");
    let out = child.wait_with_output().unwrap();
    // sshd comes back for later tests.
    on(fleet, &victim.name, "systemctl restart ssh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{}", common::describe(&out));
    let fatal = text
        .lines()
        .find(|l| l.starts_with("fatal: [victim]: UNREACHABLE!"))
        .unwrap_or_else(|| panic!("no UNREACHABLE line:\n{text}"));
    assert!(
        fatal.contains("lost connection") || fatal.contains("connection"),
        "{fatal}"
    );
    // The healthy host finished the play; the victim was not tried again.
    let after = text.split("TASK [command]").last().unwrap();
    assert!(after.contains("changed: [healthy]"), "{text}");
    assert!(!after.contains("[victim]"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("victim") && l.contains("unreachable=1")),
        "{text}"
    );
}

#[test]
fn connection_failures_are_one_clear_line_in_the_output() {
    let dir = TempDir::new("lines");
    let free_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fleet = Fleet::shared();
    let wrong = keygen(dir.path(), "wrong", "");
    let inv = dir.path().join("inv.ini");
    std::fs::write(
        &inv,
        format!(
            "refused ansible_host=127.0.0.1 ansible_port={free_port}\n\
             nodns ansible_host=no-such-host.invalid\n\
             badkey ansible_host=127.0.0.1 ansible_port={} ansible_ssh_private_key_file={}\n\
             [all:vars]\nansible_user=root\nansible_host_key_checking=false\n\
             ansible_ssh_common_args='-o IdentityAgent=none'\n",
            fleet.hosts()[0].port,
            wrong.display()
        ),
    )
    .unwrap();
    let out = common::run_baton(
        [
            "run",
            "all",
            "-i",
            inv.to_str().unwrap(),
            "-m",
            "ping",
            "-o",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", common::describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |host: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{host} | UNREACHABLE!: ")))
            .unwrap_or_else(|| panic!("no line for {host}:\n{text}"))
            .to_string()
    };
    assert_eq!(
        line("refused"),
        format!(
            "refused | UNREACHABLE!: connect to 127.0.0.1 port {free_port}: Connection refused"
        )
    );
    assert!(
        line("nodns").contains("could not resolve hostname no-such-host.invalid"),
        "{text}"
    );
    assert!(
        line("badkey").contains("Permission denied (publickey"),
        "{text}"
    );
}
