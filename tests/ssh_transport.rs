//! The SSH transport against real sshd: the fleet's containers (tests/fleet), reached on
//! 127.0.0.1 ports. Every test that changes something on a host checks it through an independent
//! path (`docker exec`), never through the transport under test.

mod common;

use baton::connection::{ConnError, ConnectSpec, Connection, ExecRequest, Transport, connect};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ------------------------------------------------------------------------------ fleet access

/// (container name, sshd port) of a shared-fleet host; tests spread over the hosts by index.
fn host(index: usize) -> (String, u16) {
    let hosts = common::Fleet::shared().hosts();
    let host = &hosts[index % hosts.len()];
    (host.name.clone(), host.port)
}

fn fleet_key() -> PathBuf {
    common::Fleet::shared().key_path()
}

/// The fleet's known_hosts file (`[127.0.0.1]:PORT type key` lines).
fn fleet_known_hosts() -> PathBuf {
    common::Fleet::shared().known_hosts_path()
}

/// Runs `cmd` on the host through `docker exec` (not through baton); returns its stdout.
fn on_host(name: &str, cmd: &str) -> String {
    let out = common::Fleet::shared().exec(name, cmd);
    common::stdout_ok(&out, &format!("docker exec {name} {cmd:?}"))
}

// ---------------------------------------------------------------------------------- helpers

fn spec(port: u16) -> ConnectSpec {
    let mut spec = ConnectSpec::new("test-host");
    spec.transport = Transport::Ssh;
    spec.address = "127.0.0.1".to_string();
    spec.port = port;
    spec.user = "root".to_string();
    spec.private_key_file = Some(fleet_key());
    spec.host_key_checking = false;
    spec.connect_timeout = Duration::from_secs(10);
    spec
}

async fn open(spec: &ConnectSpec) -> Arc<dyn Connection> {
    match connect(spec).await {
        Ok(conn) => conn,
        Err(e) => panic!("connect to port {} failed: {e}", spec.port),
    }
}

async fn connect_err(spec: &ConnectSpec) -> ConnError {
    match connect(spec).await {
        Ok(_) => panic!(
            "connect to {}:{} should have failed",
            spec.address, spec.port
        ),
        Err(e) => e,
    }
}

fn unreachable_text(e: ConnError) -> String {
    match e {
        ConnError::Unreachable(why) => {
            assert!(!why.contains('\n'), "error is not one line: {why:?}");
            why
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "baton-ssh-test-{tag}-{}-{nanos}",
            std::process::id()
        ));
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

/// Generates an unencrypted key pair with ssh-keygen; returns the private key path.
fn keygen(dir: &Path, kind: &str) -> PathBuf {
    let path = dir.join(format!("id_{kind}"));
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-N", "", "-C", "baton-test", "-t", kind, "-f"])
        .arg(&path);
    if kind == "rsa" {
        cmd.args(["-b", "3072"]);
    }
    let status = cmd.status().expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen -t {kind} failed");
    path
}

/// A unique remote path, so concurrent tests never share files.
fn remote_tmp(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("/tmp/baton-ssh-{tag}-{}-{nanos}", std::process::id())
}

/// Printable, non-repeating bytes (so a lost, duplicated or reordered chunk shows).
fn payload(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|i| {
            if i % 64 == 63 {
                return b'\n';
            }
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            b'a' + (state >> 24) as u8 % 26
        })
        .collect()
}

// ------------------------------------------------------------------------------------ tests

#[tokio::test]
async fn key_auth_exec_collects_stdout_stderr_and_exit_status() {
    let (_, port) = host(0);
    let conn = open(&spec(port)).await;
    let out = conn
        .exec("echo hi; echo err >&2; exit 3", None, None)
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert_eq!(out.rc, Some(3));

    // The shell is the user's login shell, so `sh -c` semantics apply: quoting, pipes, $?.
    let out = conn
        .exec(
            "printf '%s|' \"a b\" c | tr '|' '\\n'; false || echo $?",
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a b\nc\n1\n");
    assert_eq!(out.rc, Some(0));

    conn.close().await;
    let after = conn.exec("true", None, None).await.unwrap_err();
    assert!(unreachable_text(after).contains("closed"));
}

#[tokio::test]
async fn stdin_is_delivered_and_large_streams_round_trip() {
    let (name, port) = host(1);
    let conn = open(&spec(port)).await;

    let path = remote_tmp("stdin");
    let out = conn
        .exec(&format!("cat > {path}"), Some(b"payload"), None)
        .await
        .unwrap();
    assert_eq!(out.rc, Some(0));
    assert_eq!(
        on_host(&name, &format!("cat {path}; rm -f {path}")),
        "payload"
    );

    // 5 MB through stdin and back through stdout on one channel (reading while writing).
    let big = payload(5 << 20);
    let out = conn
        .exec("cat", Some(&big), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(out.rc, Some(0));
    assert_eq!(out.stdout.len(), big.len());
    assert!(out.stdout == big, "5 MB echoed through cat differ");

    // ... and into a file, checked on the host.
    let path = remote_tmp("big");
    let out = conn
        .exec(
            &format!("cat > {path}"),
            Some(&big),
            Some(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(out.rc, Some(0));
    let written = on_host(&name, &format!("cat {path}; rm -f {path}"));
    assert!(written.as_bytes() == big, "5 MB file on the host differs");

    // A command that never reads its stdin must not hang the exec.
    let out = conn
        .exec("echo ignored", Some(&big), Some(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(out.stdout, b"ignored\n");

    // Without stdin, a command reading it gets EOF at once.
    let out = conn
        .exec("wc -c", None, Some(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_concurrent_execs_share_one_connection() {
    let (name, port) = host(0);
    let conn = open(&spec(port)).await;
    // Each command marks itself running in DIR while it sleeps and records how many were
    // running at once: at least 2 shows the channels ran concurrently, at most 10 shows the
    // semaphore kept us within sshd's MaxSessions.
    let dir = remote_tmp("concurrent");
    on_host(&name, &format!("mkdir -p {dir}/running {dir}/seen"));
    let since = on_host(&name, "date +%s").trim().to_string();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let conn = conn.clone();
        let dir = dir.clone();
        tasks.spawn(async move {
            let cmd = format!(
                "touch {dir}/running/{i}; sleep 0.4; ls {dir}/running | wc -l > {dir}/seen/{i}; \
                 rm {dir}/running/{i}; echo {i}"
            );
            let out = conn
                .exec(&cmd, None, Some(Duration::from_secs(60)))
                .await
                .unwrap_or_else(|e| panic!("exec {i} failed: {e}"));
            (i, out)
        });
    }
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        let (i, out) = joined.unwrap();
        assert_eq!(out.rc, Some(0), "exec {i}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{i}\n"));
        done += 1;
    }
    assert_eq!(done, 30);
    let seen = on_host(&name, &format!("cat {dir}/seen/*; rm -rf {dir}"));
    let counts: Vec<usize> = seen
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(counts.len(), 30, "{seen}");
    let max = *counts.iter().max().unwrap();
    assert!(max >= 2, "commands never overlapped: {counts:?}");
    assert!(max <= 10, "more than 10 commands ran at once: {counts:?}");
    // Nor did we ever ask for an 11th session: sshd logs each refusal.
    let refused = on_host(
        &name,
        &format!(
            "journalctl -u ssh --since @{since} --no-pager 2>/dev/null | grep -c 'no more sessions' || true"
        ),
    );
    assert_eq!(refused.trim(), "0", "sshd refused session channels");
}

#[tokio::test]
async fn wrong_key_is_permission_denied() {
    let (_, port) = host(1);
    let dir = TempDir::new("wrongkey");
    let mut spec = spec(port);
    spec.private_key_file = Some(keygen(dir.path(), "ed25519"));
    let why = unreachable_text(connect_err(&spec).await);
    assert!(why.contains("Permission denied"), "{why}");
    assert!(why.contains(&format!("root@127.0.0.1:{port}")), "{why}");
}

#[tokio::test]
async fn ecdsa_and_rsa_keys_authenticate() {
    // RSA must sign with SHA-2: bookworm's sshd refuses SHA-1 `ssh-rsa` signatures. The keys go
    // into root's authorized_keys2 (sshd reads it too) through docker exec, so the shared
    // fleet's authorized_keys stays as other tests expect it.
    let (name, port) = host(2);
    let dir = TempDir::new("keytypes");
    let extra = "/root/.ssh/authorized_keys2";
    for kind in ["ecdsa", "rsa"] {
        let key = keygen(dir.path(), kind);
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        let mut spec = spec(port);
        spec.private_key_file = Some(key);
        let why = unreachable_text(connect_err(&spec).await);
        assert!(
            why.contains("Permission denied"),
            "{kind} before install: {why}"
        );
        on_host(&name, &format!("echo '{}' >> {extra}", public.trim()));
        let conn = connect(&spec).await;
        on_host(
            &name,
            &format!(
                "grep -vF '{}' {extra} > {extra}.tmp || true; mv {extra}.tmp {extra}",
                public.trim()
            ),
        );
        let conn = conn.unwrap_or_else(|e| panic!("{kind} key: {e}"));
        let out = conn.exec("echo $USER", None, None).await.unwrap();
        assert_eq!(out.stdout, b"root\n", "{kind}");
        conn.close().await;
    }
}

#[tokio::test]
async fn password_auth_works_and_never_leaks_the_password() {
    // The fleet's `secure` user has the password `secure-pw`.
    let (_, port) = host(1);
    let mut spec = spec(port);
    spec.user = "secure".to_string();
    spec.private_key_file = None;
    spec.password = Some("wrong-secret-pw".to_string());
    let why = unreachable_text(connect_err(&spec).await);
    assert!(why.contains("Permission denied"), "{why}");
    assert!(
        !why.contains("wrong-secret-pw"),
        "password in message: {why}"
    );

    spec.password = Some("secure-pw".to_string());
    let conn = open(&spec).await;
    let out = conn.exec("id -un", None, None).await.unwrap();
    assert_eq!(out.stdout, b"secure\n");
}

#[tokio::test]
async fn closed_port_is_connection_refused() {
    // A port nobody listens on: bind one, then free it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let why = unreachable_text(connect_err(&spec(port)).await);
    assert_eq!(
        why,
        format!("connect to 127.0.0.1 port {port}: Connection refused")
    );
}

#[tokio::test]
async fn unresolvable_name_fails_quickly() {
    let mut spec = spec(22);
    spec.address = "no-such-host.invalid".to_string();
    let started = Instant::now();
    let why = unreachable_text(connect_err(&spec).await);
    assert!(why.contains("no-such-host.invalid"), "{why}");
    assert!(why.contains("resolve"), "{why}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn silent_server_times_out_within_connect_timeout() {
    // Accepts TCP connections but never speaks SSH.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut spec = spec(port);
    spec.connect_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let why = unreachable_text(connect_err(&spec).await);
    assert_eq!(
        why,
        format!("connect to 127.0.0.1 port {port}: timed out after 1s during the SSH handshake")
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    server.abort();
}

#[tokio::test]
async fn host_key_checking_uses_known_hosts() {
    let (_, port) = host(0);
    let dir = TempDir::new("known-hosts");
    let file = dir.path().join("known_hosts");
    let mut spec = spec(port);
    spec.host_key_checking = true;
    spec.known_hosts_file = Some(file.clone());

    // Unknown host: refused, saying how to proceed.
    std::fs::write(&file, "").unwrap();
    let why = unreachable_text(connect_err(&spec).await);
    assert!(why.contains("not known"), "{why}");
    assert!(why.contains("host_key_checking=false"), "{why}");
    assert!(why.contains(&format!("[127.0.0.1]:{port}")), "{why}");

    // The fleet's own known_hosts: accepted.
    let fleet_lines = std::fs::read_to_string(fleet_known_hosts()).unwrap();
    std::fs::write(&file, &fleet_lines).unwrap();
    let conn = open(&spec).await;
    assert_eq!(
        conn.exec("echo ok", None, None).await.unwrap().stdout,
        b"ok\n"
    );
    conn.close().await;

    // Hashed entries (`ssh-keygen -H`): accepted.
    let status = Command::new("ssh-keygen")
        .args(["-q", "-H", "-f"])
        .arg(&file)
        .output()
        .expect("ssh-keygen -H runs");
    assert!(status.status.success());
    let hashed = std::fs::read_to_string(&file).unwrap();
    assert!(hashed.starts_with("|1|"), "{hashed}");
    let conn = open(&spec).await;
    conn.close().await;

    // A different ed25519 key recorded for this host (line 3): refused as changed, naming the
    // file and line, even though its other key types are still listed correctly.
    let other = keygen(dir.path(), "ed25519");
    let other_public = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let other_key = other_public.split_whitespace().nth(1).unwrap();
    let label = format!("[127.0.0.1]:{port}");
    let mut lines = vec![
        "# known hosts for the test".to_string(),
        String::new(),
        format!("{label} ssh-ed25519 {other_key}"),
    ];
    lines.extend(
        fleet_lines
            .lines()
            .filter(|l| l.starts_with(&format!("{label} ")) && !l.contains("ssh-ed25519"))
            .map(str::to_string),
    );
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let why = unreachable_text(connect_err(&spec).await);
    assert!(why.contains("changed"), "{why}");
    assert!(
        why.contains(&format!("{}:3", file.display())),
        "no file:line in {why}"
    );
}

#[tokio::test]
async fn timeout_returns_and_keeps_the_connection_usable() {
    let (name, port) = host(1);
    let conn = open(&spec(port)).await;
    // An unusual duration identifies the process on the host.
    let started = Instant::now();
    let err = conn
        .exec("sleep 41.37", None, Some(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert_eq!(err, ConnError::Timeout(Duration::from_secs(1)));
    assert!(started.elapsed() < Duration::from_secs(3));

    let out = conn.exec("echo still here", None, None).await.unwrap();
    assert_eq!(out.stdout, b"still here\n");
    // sshd refuses to signal a root session (no privilege separation after a root login), so
    // the transport kills the command's process group through a second channel: the command
    // (and its children) are gone by the time the timeout is reported.
    let left = on_host(&name, "pgrep -f 'sleep 41[.]37' || true");
    assert_eq!(left.trim(), "", "timed-out root command still running");

    // A command that ignores TERM and runs a child: both are gone too.
    let err = conn
        .exec(
            "trap '' TERM; sleep 44.21 & sleep 44.22; wait",
            None,
            Some(Duration::from_millis(500)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnError::Timeout(_)));
    let left = on_host(&name, "pgrep -f 'sleep 44[.]2' || true");
    assert_eq!(
        left.trim(),
        "",
        "children of a timed-out command still running"
    );
    // The stderr of a command with a time limit carries no bookkeeping of ours.
    let out = conn
        .exec(
            "echo out; echo err >&2",
            None,
            Some(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    assert_eq!(
        (&out.stdout[..], &out.stderr[..]),
        (&b"out\n"[..], &b"err\n"[..])
    );
}

#[tokio::test]
async fn timeout_kills_the_command_of_a_non_root_user() {
    // For other users sshd delivers our `signal` request: the timed-out command is killed.
    let (name, port) = host(0);
    let mut spec = spec(port);
    spec.user = "deploy".to_string();
    let conn = open(&spec).await;
    let err = conn
        .exec("sleep 43.19", None, Some(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert_eq!(err, ConnError::Timeout(Duration::from_secs(1)));
    let out = conn.exec("id -un", None, None).await.unwrap();
    assert_eq!(out.stdout, b"deploy\n");
    let mut left = String::new();
    for _ in 0..30 {
        left = on_host(&name, "pgrep -f 'sleep 43[.]19' || true");
        if left.trim().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        left.trim(),
        "",
        "timed-out command still running on the host"
    );
}

#[tokio::test]
async fn session_killed_mid_command_is_unreachable() {
    let (name, port) = host(0);
    let conn = open(&spec(port)).await;
    let running = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.exec("sleep 42.73", None, None).await })
    };
    // Kill the per-connection sshd (`sshd: root@notty`, an ancestor of the command: its
    // parent, or the parent of the shell that runs it) from inside the container; the
    // listener and other connections stay up.
    let mut killed = String::new();
    for _ in 0..50 {
        killed = on_host(
            &name,
            "for p in $(pgrep -f 'sleep 42[.]73'); do s=$p; for i in 1 2 3 4; do \
             s=$(ps -o ppid= -p $s | tr -d ' '); [ -n \"$s\" ] || break; \
             case \"$(ps -o args= -p $s)\" in *@notty*) kill -9 $s && echo killed $s; break;; esac; \
             done; done",
        );
        if killed.contains("killed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        killed.contains("killed"),
        "did not find the session: {killed:?}"
    );
    let err = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("exec returns once the session is gone")
        .unwrap()
        .unwrap_err();
    let why = unreachable_text(err);
    assert!(why.contains("lost connection"), "{why}");
    let again = unreachable_text(conn.exec("true", None, None).await.unwrap_err());
    assert!(again.contains("lost connection"), "{again}");
    on_host(&name, "pkill -f 'sleep 42[.]73' || true");
}

/// Plain commands go to one long-lived shell on the host (one process for all of them, `$$`
/// the same), each in a subshell of its own; the output is framed exactly (binary, no final
/// newline, more than a channel window), the exit status and stderr are the command's, input
/// arrives intact, and neither a syntax error, an `exit`, nor a process left running in the
/// background breaks the commands after it. A command sent while the shell is busy gets a
/// channel of its own and runs at the same time.
#[tokio::test]
async fn plain_commands_share_one_long_lived_shell() {
    let (name, port) = host(2);
    let conn = open(&spec(port)).await;
    // Every plain command, the first one included, runs in the same shell: /bin/sh, whatever
    // the login shell (root's is bash on the fleet).
    let mut pids = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let out = conn.exec("echo $$", None, None).await.unwrap();
        pids.insert(String::from_utf8(out.stdout).unwrap());
    }
    assert_eq!(
        pids.len(),
        1,
        "commands ran in {} shells: {pids:?}",
        pids.len()
    );
    let shell_pid = pids.into_iter().next().unwrap().trim().to_string();
    let args = on_host(&name, &format!("ps -o args= -p {shell_pid}"));
    assert_eq!(args.trim(), "/bin/sh", "the shell {shell_pid} on the host");
    // Text for the login shell itself (raw) is run by it.
    let out = conn
        .run(ExecRequest {
            login_shell: true,
            ..ExecRequest::new("echo \"${BASH_VERSION:+bash}\" $$")
        })
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("bash "), "{said}");
    assert_ne!(said.trim_start_matches("bash ").trim(), shell_pid);

    // What one command changes stays its own.
    let out = conn
        .exec("cd /tmp; export BATON_X=1; umask 077; exit 7", None, None)
        .await
        .unwrap();
    assert_eq!(out.rc, Some(7));
    let out = conn
        .exec("pwd; echo ${BATON_X:-unset}; umask", None, None)
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/root\nunset\n0022\n");

    // Exact framing: stdout and stderr apart, no newline added, binary bytes kept.
    let out = conn
        .exec("printf 'a\\000b'; printf 'err' >&2; exit 3", None, None)
        .await
        .unwrap();
    assert_eq!(
        (out.rc, &out.stdout[..], &out.stderr[..]),
        (Some(3), &b"a\0b"[..], &b"err"[..])
    );
    let out = conn
        .exec("head -c 9000000 /dev/zero | tr '\\000' x", None, None)
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 9_000_000);
    assert!(out.stdout.iter().all(|b| *b == b'x'));

    // Input (with a NUL and no final newline) reaches the command, which writes it on the host.
    let path = remote_tmp("runner-in");
    let input = b"line one\n\0tail";
    let out = conn
        .exec(&format!("cat > {path}; echo done"), Some(input), None)
        .await
        .unwrap();
    assert_eq!(out.stdout, b"done\n");
    let on = Command::new("docker")
        .args(["exec", &name, "cat", &path])
        .output()
        .unwrap();
    assert_eq!(on.stdout, input, "the input as written on the host");

    // A syntax error fails that command only.
    let out = conn.exec("if then", None, None).await.unwrap();
    assert_eq!(out.rc, Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!out.stderr.is_empty());
    // A process left running in the background, holding the shell's output, does not hold
    // the command up, and what it prints later does not end up in other commands' output
    // (it prints nothing: its output goes to a file, as a daemon's would).
    let started = Instant::now();
    let out = conn
        .exec("sleep 37.31 >/dev/null 2>&1 & echo started", None, None)
        .await
        .unwrap();
    assert_eq!(out.stdout, b"started\n");
    assert!(started.elapsed() < Duration::from_secs(5));
    let out = conn.exec("echo $$", None, None).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), shell_pid);
    on_host(&name, "pkill -f 'sleep 37[.]31' || true");

    // While the shell runs one command, another runs beside it on a channel of its own.
    let busy = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.exec("sleep 3; echo $$", None, None).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let beside = conn.exec("echo $$", None, None).await.unwrap();
    assert!(!busy.is_finished(), "it waited for the busy shell");
    let busy = busy.await.unwrap().unwrap();
    assert_eq!(String::from_utf8_lossy(&busy.stdout).trim(), shell_pid);
    assert_ne!(String::from_utf8_lossy(&beside.stdout).trim(), shell_pid);

    // The shell killed on the host while idle: the next command, which never reached it, runs
    // anyway (on a channel), and the one after it gets a new shell.
    on_host(&name, &format!("kill -9 {shell_pid}"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let path = remote_tmp("runner-after-kill");
    let out = conn
        .exec(&format!("echo once >> {path}; cat {path}"), None, None)
        .await
        .unwrap();
    assert_eq!(out.stdout, b"once\n", "ran exactly once");
    let a = conn.exec("echo $$", None, None).await.unwrap();
    let b = conn.exec("echo $$", None, None).await.unwrap();
    assert_eq!(a.stdout, b.stdout, "a new long-lived shell");
    assert_ne!(String::from_utf8_lossy(&a.stdout).trim(), shell_pid);
}
