//! The `ssh` transport: one SSH connection per host; plain commands go to one long-lived shell
//! on it, the others get a session channel each.
//!
//! This file (with its parts in `ssh/`) and [`super::ssh_auth`] are the only ones in baton that
//! know russh. They own opening the connection (`ssh/establish.rs`: TCP, or a `ProxyJump` chain
//! of authenticated jump hosts, or a `ProxyCommand`; key exchange; host key verification with
//! [`super::known_hosts`]; the settings of [`super::ssh_config`]), running commands on it (the
//! long-lived shell in `ssh/runner.rs`, a channel each in `ssh/channel.rs`), and turning every
//! russh/IO failure into a one-line [`ConnError`] a user can act on. Authentication is in
//! `ssh_auth`.
//!
//! Why it is shaped this way:
//! - A run sends many small commands to each host, so the expensive part (TCP + key exchange +
//!   auth, several round trips and public-key operations) happens once per host and the
//!   connection is kept for the whole run. Each command is one session channel: open (one round
//!   trip), then exec + stdin + EOF pipelined without waiting for replies.
//! - Opening a channel is cheap for us but not for the host: sshd forks a session and starts
//!   the login shell for each one, which costs more than most tasks' own work. So a plain
//!   command (no time limit, no password dialogue, input small enough to travel in its text)
//!   is written to the host's long-lived `/bin/sh` ([`Runner`]), one after another; one
//!   arriving while that shell is busy, or any other, gets its own channel as below.
//! - Commands on one host may run concurrently (handlers, async tasks, fact gathering), so
//!   `exec` takes `&self` and opens its own channel. sshd allows 10 sessions per connection by
//!   default (`MaxSessions`); a semaphore makes the 11th caller wait instead of failing, and a
//!   channel's permit is only given back once the server has really freed its session.
//! - russh forwards channel data to a bounded queue per channel and its event loop blocks while
//!   a queue is full, which would stall every other channel of the connection. So each command
//!   is driven by its own task that always drains its channel, and a command that is timed out
//!   or abandoned is killed and its channel closed by that task in the background.
//! - No script is ever a command's argument on the host (any local user can read those): the
//!   long-lived shell reads commands on its standard input, and a channel runs a constant
//!   command (`exec /bin/sh`, or sudo starting one) that reads its script on its standard
//!   input, followed by the script's own input ([`launch`]).
//! - Nothing here prints: protocol notes go to `tracing::debug!`, never a password.

use super::become_::{Action, Escalation, Watcher};
use super::known_hosts::KnownHosts;
use super::launch::{self, Launch, Payload};
use super::ssh_auth::{self, Credentials};
use super::ssh_config::{self, SshConfig, Target};
use super::{BoxFuture, ConnError, ConnectSpec, Connection, ExecOutput, ExecRequest, PGID_MARKER};
use russh::client::{self, DisconnectReason, Handle, Msg};
use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PublicKeyOrCertificate};
use russh::{
    Channel, ChannelMsg, ChannelOpenFailure, ChannelReadHalf, ChannelWriteHalf, Disconnect,
    Preferred, Sig, SshId,
};
use std::borrow::Cow;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tracing::debug;

mod establish;
use establish::*;

mod channel;
use channel::*;

mod runner;
use runner::*;

mod process;

/// Channels open at once on one connection: OpenSSH's `MaxSessions` default.
const MAX_SESSIONS: usize = 10;
/// Probe a silent server this often, and give up after `KEEPALIVE_MAX` unanswered probes, so a
/// host that vanished is reported unreachable instead of hanging the run.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEPALIVE_MAX: usize = 3;
/// Our receive window per channel. Larger than russh's 2 MB default so a command printing
/// megabytes streams without stalling on window adjustments.
const WINDOW_SIZE: u32 = 8 * 1024 * 1024;
/// The largest data packet we accept, OpenSSH's own choice for session channels.
const MAX_PACKET_SIZE: u32 = 32 * 1024;
/// How long to keep retrying a session channel the server refused for lack of a free slot.
const OPEN_RETRY_FOR: Duration = Duration::from_secs(10);
/// How long an abandoned command's channel may take to confirm its close before we stop waiting.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Key exchange: curve25519 first (fast, and what OpenSSH offers first among the classic ones),
/// the post-quantum hybrid next, finite-field DH for old servers. The extension names ask for
/// `server-sig-algs` (needed to pick an RSA signature hash) and strict key exchange (Terrapin).
const KEX_ORDER: &[russh::kex::Name] = &[
    russh::kex::CURVE25519,
    russh::kex::CURVE25519_PRE_RFC_8731,
    russh::kex::MLKEM768X25519_SHA256,
    russh::kex::DH_GEX_SHA256,
    russh::kex::DH_G16_SHA512,
    russh::kex::DH_G14_SHA256,
    russh::kex::EXTENSION_SUPPORT_AS_CLIENT,
    russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
];

/// Ciphers: AES-GCM first because it comes from ring (hardware AES where the CPU has it) and
/// needs no separate MAC; the rest for servers that restrict their list.
const CIPHER_ORDER: &[russh::cipher::Name] = &[
    russh::cipher::AES_128_GCM,
    russh::cipher::AES_256_GCM,
    russh::cipher::CHACHA20_POLY1305,
    russh::cipher::AES_256_CTR,
    russh::cipher::AES_128_CTR,
];

/// Host key algorithms, ed25519 first. Reordered per host so that a type already recorded in
/// known_hosts is asked for first (as OpenSSH does); otherwise a server that has both an
/// ed25519 and an RSA key, known to us by its RSA key, would look unknown.
const HOST_KEY_ORDER: &[Algorithm] = &[
    Algorithm::Ed25519,
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP256,
    },
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP384,
    },
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP521,
    },
    Algorithm::Rsa {
        hash: Some(HashAlg::Sha512),
    },
    Algorithm::Rsa {
        hash: Some(HashAlg::Sha256),
    },
];

/// An open SSH connection to one host. Cheap to share: `exec` takes `&self`.
pub struct SshConnection {
    handle: Arc<Handle<Client>>,
    /// Bounds the channels open at once (see [`MAX_SESSIONS`]).
    sessions: Arc<Semaphore>,
    closed: AtomicBool,
    shared: Arc<Shared>,
    /// `user@address:port`, for messages.
    target: String,
    /// `ansible_become_password`, handed out to `become` (see [`Connection::become_password`]).
    become_password: Option<String>,
    /// The jump hosts' connections this one runs through (closed after it).
    jumps: Vec<Handle<Client>>,
    /// The `ProxyCommand` process this one runs over (killed when dropped).
    _proxy: Option<tokio::process::Child>,
    /// The host's long-lived shell for plain commands (see [`Runner`]); locked while it runs one.
    runner: tokio::sync::Mutex<RunnerSlot>,
}

/// What the russh event loop learns that the rest of this file needs to explain a failure.
#[derive(Default)]
pub(crate) struct Shared {
    /// Why the host key was refused (set by `check_server_key`).
    pub(crate) host_key_refusal: Mutex<Option<String>>,
    /// Why the connection ended (set by `disconnected`).
    pub(crate) disconnect_reason: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn set(slot: &Mutex<Option<String>>, why: String) {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
    }

    pub(crate) fn get(slot: &Mutex<Option<String>>) -> Option<String> {
        slot.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The russh event handler: verifies the host key and records why the connection ended.
pub(crate) struct Client {
    shared: Arc<Shared>,
    known_hosts: KnownHosts,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            // We never advertise certificate algorithms, so a server should not send one.
            PublicKeyOrCertificate::Certificate(_) => {
                Shared::set(
                    &self.shared.host_key_refusal,
                    "the server presented a host certificate, which baton cannot verify yet"
                        .to_string(),
                );
                return Ok(false);
            }
        };
        match self.known_hosts.check(key) {
            Ok(()) => Ok(true),
            Err(why) => {
                Shared::set(&self.shared.host_key_refusal, why);
                Ok(false)
            }
        }
    }

    async fn disconnected(
        &mut self,
        reason: DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        let why = match &reason {
            DisconnectReason::ReceivedDisconnect(info) if info.message.is_empty() => {
                format!("the server disconnected ({:?})", info.reason_code)
            }
            DisconnectReason::ReceivedDisconnect(info) => {
                format!("the server disconnected: {}", info.message)
            }
            DisconnectReason::Error(e) => describe_ssh_error(e),
        };
        debug!("connection ended: {why}");
        Shared::set(&self.shared.disconnect_reason, why);
        match reason {
            DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            DisconnectReason::Error(e) => Err(e),
        }
    }
}

/// The host key algorithms to ask for: those already recorded for this host first, as
/// OpenSSH does (otherwise a host known by its RSA key would present ed25519 and look
/// unknown).
fn host_key_order(known: &KnownHosts) -> Vec<Algorithm> {
    let recorded = known.recorded_algorithms();
    let is_recorded = |alg: &Algorithm| {
        recorded.iter().any(|k| {
            k == alg || (matches!(alg, Algorithm::Rsa { .. }) && matches!(k, Algorithm::Rsa { .. }))
        })
    };
    let (mut first, rest): (Vec<_>, Vec<_>) =
        HOST_KEY_ORDER.iter().cloned().partition(|a| is_recorded(a));
    first.extend(rest);
    first
}

fn client_config(known: &KnownHosts, target: &Target) -> client::Config {
    client::Config {
        client_id: SshId::Standard(Cow::Borrowed(concat!(
            "SSH-2.0-baton_",
            env!("CARGO_PKG_VERSION")
        ))),
        window_size: WINDOW_SIZE,
        maximum_packet_size: MAX_PACKET_SIZE,
        keepalive_interval: Some(target.keepalive_interval.unwrap_or(KEEPALIVE_INTERVAL)),
        keepalive_max: target.keepalive_max.unwrap_or(KEEPALIVE_MAX),
        inactivity_timeout: None,
        nodelay: true,
        preferred: Preferred {
            kex: Cow::Borrowed(KEX_ORDER),
            key: Cow::Owned(host_key_order(known)),
            cipher: Cow::Borrowed(CIPHER_ORDER),
            // Compression costs CPU on both ends for output that is mostly tiny.
            compression: Cow::Borrowed(&[russh::compression::NONE]),
            ..Preferred::DEFAULT
        },
        ..Default::default()
    }
}

/// SSH handshakes in progress at once, over the whole run. A thousand hosts connecting at the
/// same moment all share the controller's and the hosts' CPUs, so that none finishes within
/// its connect timeout; in turns of this many, each finishes in its own time. The connect
/// timeout counts from a handshake's start, not from its wait for a turn.
const CONCURRENT_HANDSHAKES: usize = 32;

static HANDSHAKES: Semaphore = Semaphore::const_new(CONCURRENT_HANDSHAKES);

impl SshConnection {
    /// Opens the connection (through its jump hosts or proxy command, if any) and
    /// authenticates, all within the connect timeout. ~/.ssh/config is read here (see
    /// [`ssh_config::resolve`]).
    pub async fn connect(spec: &ConnectSpec) -> Result<SshConnection, ConnError> {
        let config = ssh_config::load_for(spec)?;
        let target = ssh_config::resolve(spec, &config)?;
        let who = format!("{}@{}:{}", target.user, target.hostname, target.port);
        let started = Instant::now();
        let mut progress = Progress::new(&target);
        let limit = target.connect_timeout;
        let turn = HANDSHAKES.acquire().await;
        let attempt = tokio::time::timeout(
            limit,
            establish(spec, &config, &target, &who, &mut progress),
        )
        .await;
        drop(turn);
        let chain = match attempt {
            Ok(chain) => chain?,
            Err(_) => {
                return Err(ConnError::Unreachable(format!(
                    "connect to {} port {}{}: timed out after {}s {}",
                    progress.host,
                    progress.port,
                    progress.via(),
                    limit.as_secs_f64(),
                    progress.phase
                )));
            }
        };
        debug!("connected to {who} in {:?}", started.elapsed());
        Ok(SshConnection {
            handle: Arc::new(chain.handle),
            sessions: Arc::new(Semaphore::new(MAX_SESSIONS)),
            closed: AtomicBool::new(false),
            shared: chain.shared,
            target: who,
            become_password: spec.become_password.clone(),
            jumps: chain.jumps,
            _proxy: chain.proxy,
            runner: tokio::sync::Mutex::new(RunnerSlot::default()),
        })
    }

    async fn run(&self, req: ExecRequest<'_>) -> Result<ExecOutput, ConnError> {
        self.ensure_open()?;
        // A plain command (no time limit, no password dialogue, little or no input) goes to the
        // host's long-lived shell when it is free; anything else, or a command arriving while it
        // is busy, gets a channel of its own.
        if req.timeout.is_none()
            && req.escalation.is_none()
            && runner_enabled()
            && let Ok(mut slot) = self.runner.try_lock()
            // Input travels in the command's text, so it must be small and hold no NUL byte
            // (a shell string cannot); any other input goes on a channel.
            && let Some((cmd, input)) = launch::on_long_lived_shell(
                req.cmd,
                &req.stdin,
                req.become_.as_ref(),
                req.login_shell,
            )
            && let Some(result) = self
                .run_on_runner(&mut slot, &cmd, input.as_deref())
                .await
        {
            return result;
        }
        let permit = self
            .sessions
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| self.closed_error())?;
        self.ensure_open()?;
        let ExecRequest {
            cmd,
            stdin,
            become_,
            timeout,
            escalation,
            login_shell,
        } = req;
        // A command with a time limit first says which process group it leads (sshd makes each
        // session's shell a session and group leader), so that on timeout we can kill the whole
        // group through another channel: sshd refuses `signal` requests in root sessions.
        let pgid = Arc::new(AtomicU32::new(0));
        // The session runs a constant command; the script travels on its standard input.
        let Launch { command, input } = launch::launch(
            cmd,
            stdin,
            become_.as_ref(),
            escalation.as_ref(),
            login_shell,
            timeout.is_some(),
        );
        let (done_tx, done_rx) = oneshot::channel();
        // Dropping `cancel_tx` (timeout, or the caller giving up on this future) tells the task
        // to kill the command and close its channel.
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        let job = Job {
            handle: self.handle.clone(),
            cmd: command,
            input,
            escalation,
            pgid: timeout.map(|_| pgid.clone()),
            permit,
            cancel: cancel_rx,
            done: done_tx,
        };
        tokio::spawn(job.run());
        let outcome = match timeout {
            None => done_rx.await,
            Some(limit) => match tokio::time::timeout(limit, done_rx).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    debug!("command on {} timed out after {limit:?}", self.target);
                    drop(cancel_tx);
                    self.kill_group(pgid.load(Ordering::SeqCst)).await;
                    return Err(ConnError::Timeout(limit));
                }
            },
        };
        drop(cancel_tx);
        match outcome {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(failure)) => Err(self.explain(failure)),
            Err(_) => Err(ConnError::Failed(format!(
                "{}: the task running the command ended without an answer",
                self.target
            ))),
        }
    }

    /// Runs `cmd` on the host's long-lived shell, starting it first if need be. `None` when
    /// there is no such shell (it could not be started, the host's shell does not frame
    /// commands as expected, or no session slot is free): the caller uses a channel.
    async fn run_on_runner(
        &self,
        slot: &mut RunnerSlot,
        cmd: &str,
        input: Option<&[u8]>,
    ) -> Option<Result<ExecOutput, ConnError>> {
        if slot.unusable {
            return None;
        }
        if slot.runner.is_none() {
            match self.start_runner().await {
                Ok(r) => slot.runner = Some(r),
                // Every session slot is taken by commands of the host's other tasks: this one
                // gets a channel when one is free, and a later command tries again.
                Err(StartFailure::Busy) => return None,
                Err(StartFailure::Broken) => {
                    slot.unusable = true;
                    return None;
                }
            }
        }
        let runner = slot.runner.as_mut()?;
        let script = runner.script(cmd, input);
        let probe = runner.fresh;
        match runner.call(script, probe).await {
            Ok(out) => {
                runner.fresh = false;
                Some(Ok(out))
            }
            // The shell had ended while it was idle (something on the host killed it, or the
            // channel was closed), or a new one never answered its probe: the command did not
            // run, so it runs on a channel. A shell that never answered is not tried again.
            Err(RunnerFailure::NotSent) => {
                if probe {
                    debug!("no long-lived shell on {}: it did not answer", self.target);
                    slot.unusable = true;
                } else {
                    debug!("the long-lived shell on {} had ended", self.target);
                }
                slot.runner = None;
                None
            }
            Err(RunnerFailure::Job(failure)) => {
                // The shell is gone (the connection broke, or something killed it): the next
                // command starts a new one.
                slot.runner = None;
                Some(Err(match failure {
                    JobError::Lost if !self.handle.is_closed() => ConnError::Failed(format!(
                        "{}: the shell running the command on the host exited",
                        self.target
                    )),
                    other => self.explain(other),
                }))
            }
        }
    }

    /// Opens the channel of the long-lived shell. Whether it works is learnt with its first
    /// command, which carries a probe (see [`Runner::fresh`]): no round trip of its own.
    async fn start_runner(&self) -> Result<Runner, StartFailure> {
        let permit = self
            .sessions
            .clone()
            .try_acquire_owned()
            .map_err(|_| StartFailure::Busy)?;
        let (_never, mut cancel) = oneshot::channel::<()>();
        let channel = match open_channel(&self.handle, &mut cancel).await {
            Some(Ok(c)) => c,
            other => {
                debug!(
                    "no long-lived shell on {}: {:?}",
                    self.target,
                    other.map(|r| r.err())
                );
                return Err(StartFailure::Broken);
            }
        };
        let (rx, tx) = channel.split();
        // `/bin/sh`, as Ansible runs every module's command (`/bin/sh -c`): on Debian that is
        // dash, which reads its input in blocks where bash reads a pipe a byte at a time, and
        // starts its subshells faster; on the deep benchmark this halves the time the hosts
        // spend per task. Text for the login shell itself (`raw`) is handed to `$SHELL -c`.
        if let Err(e) = tx.exec(true, "exec /bin/sh").await {
            debug!("no long-lived shell on {}: {e}", self.target);
            return Err(StartFailure::Broken);
        }
        let mut mark = [0u8; 16];
        getrandom::fill(&mut mark).map_err(|_| StartFailure::Broken)?;
        let mark: String = mark.iter().map(|b| format!("{b:02x}")).collect();
        let mark = format!("BATON-END-{mark}");
        let (reqs_tx, reqs_rx) = mpsc::channel(1);
        tokio::spawn(drive_runner(
            rx,
            tx,
            mark.clone().into_bytes(),
            reqs_rx,
            permit,
        ));
        debug!("long-lived shell on {}", self.target);
        Ok(Runner {
            reqs: reqs_tx,
            mark,
            fresh: true,
        })
    }

    /// Kills the process group of a timed-out command through a second channel: TERM first
    /// (sudo relays it to a command it runs as another user), KILL for whatever is left.
    async fn kill_group(&self, pgid: u32) {
        if pgid <= 1 {
            debug!("timed-out command on {} never said its pgid", self.target);
            return;
        }
        // `kill -SIG -PGID`, not `kill -SIG -- -PGID`: dash's kill takes no `--`.
        let cmd = format!(
            "kill -TERM -{pgid} 2>/dev/null; sleep 0.2 2>/dev/null; \
             kill -KILL -{pgid} 2>/dev/null; true"
        );
        let killed =
            tokio::time::timeout(CLOSE_GRACE, Box::pin(self.run(ExecRequest::new(&cmd)))).await;
        debug!(
            "killing process group {pgid} on {}: {:?}",
            self.target,
            killed.map(|r| r.map(|o| o.rc))
        );
    }

    fn ensure_open(&self) -> Result<(), ConnError> {
        if self.closed.load(Ordering::SeqCst) {
            Err(self.closed_error())
        } else if self.handle.is_closed() {
            Err(self.lost())
        } else {
            Ok(())
        }
    }

    fn closed_error(&self) -> ConnError {
        ConnError::Unreachable(format!("connection to {} was closed", self.target))
    }

    fn lost(&self) -> ConnError {
        let why = Shared::get(&self.shared.disconnect_reason)
            .unwrap_or_else(|| "the connection was closed".to_string());
        ConnError::Unreachable(format!("lost connection to {}: {why}", self.target))
    }

    fn explain(&self, failure: JobError) -> ConnError {
        if self.closed.load(Ordering::SeqCst) {
            return self.closed_error();
        }
        match failure {
            JobError::Lost => self.lost(),
            JobError::Ssh(_) if self.handle.is_closed() => self.lost(),
            JobError::Ssh(russh::Error::ChannelOpenFailure(reason)) => ConnError::Failed(format!(
                "{}: the server refused to open a session channel ({reason:?}) for {}s; \
                 is its MaxSessions below {MAX_SESSIONS}?",
                self.target,
                OPEN_RETRY_FOR.as_secs()
            )),
            JobError::Ssh(e) => {
                ConnError::Failed(format!("{}: {}", self.target, describe_ssh_error(&e)))
            }
            JobError::ExecRefused => ConnError::Failed(format!(
                "{}: the server refused to run the command",
                self.target
            )),
            JobError::Input(e) => ConnError::Failed(format!(
                "{}: reading the command's input failed: {}",
                self.target,
                describe_io_error(&e)
            )),
            JobError::Escalation(e) => e,
        }
    }
}

impl Connection for SshConnection {
    fn run<'a>(&'a self, req: ExecRequest<'a>) -> BoxFuture<'a, Result<ExecOutput, ConnError>> {
        Box::pin(SshConnection::run(self, req))
    }

    fn spawn<'a>(
        &'a self,
        req: ExecRequest<'a>,
    ) -> BoxFuture<'a, Result<super::Process, ConnError>> {
        Box::pin(self.spawn_process(req))
    }

    fn become_password(&self) -> Option<&str> {
        self.become_password.as_deref()
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.closed.swap(true, Ordering::SeqCst) {
                return;
            }
            // Wakes callers waiting for a channel; they fail with "was closed".
            self.sessions.close();
            if let Ok(mut slot) = self.runner.try_lock() {
                slot.runner = None;
            }
            debug!("disconnecting from {}", self.target);
            if let Err(e) = self
                .handle
                .disconnect(Disconnect::ByApplication, "", "en")
                .await
            {
                debug!("disconnect from {}: {e}", self.target);
            }
            for jump in self.jumps.iter().rev() {
                let _ = jump.disconnect(Disconnect::ByApplication, "", "en").await;
            }
        })
    }
}

/// The future sending a command's input.
type Writer<'a> = Pin<Box<dyn Future<Output = Result<(), WriteError>> + Send + 'a>>;

/// An IO error as one line, without Rust's " (os error N)" suffix: "Connection refused".
pub(crate) fn describe_io_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        return "connection closed by the remote side".to_string();
    }
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

pub(crate) fn describe_ssh_error(e: &russh::Error) -> String {
    match e {
        russh::Error::IO(io) => describe_io_error(io),
        russh::Error::HUP | russh::Error::Disconnect => {
            "connection closed by the remote side".to_string()
        }
        russh::Error::KeepaliveTimeout => format!(
            "no answer to {KEEPALIVE_MAX} keepalives sent {}s apart",
            KEEPALIVE_INTERVAL.as_secs()
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_lose_the_os_error_suffix() {
        let e = std::io::Error::from_raw_os_error(111);
        assert_eq!(describe_io_error(&e), "Connection refused");
    }
}
