//! The `ssh` transport: one SSH connection per host; plain commands go to one long-lived shell
//! on it, the others get a session channel each.
//!
//! This file and [`super::ssh_auth`] are the only ones in baton that know russh. This one owns
//! opening the connection (TCP, or a `ProxyJump` chain of authenticated jump hosts, or a
//! `ProxyCommand`; key exchange; host key verification with [`super::known_hosts`]; the
//! settings of [`super::ssh_config`]), running commands on it, and turning every russh/IO
//! failure into a one-line [`ConnError`] a user can act on. Authentication is in `ssh_auth`.
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
        let attempt = tokio::time::timeout(
            limit,
            establish(spec, &config, &target, &who, &mut progress),
        )
        .await;
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

/// How far connecting got, for the timeout message.
struct Progress {
    host: String,
    port: u16,
    /// The jump host the current hop is reached through.
    via: Option<String>,
    phase: &'static str,
}

impl Progress {
    fn new(target: &Target) -> Progress {
        Progress {
            host: target.hostname.clone(),
            port: target.port,
            via: None,
            phase: "while resolving the address",
        }
    }

    fn via(&self) -> String {
        self.via
            .as_ref()
            .map_or_else(String::new, |v| format!(" (through jump host {v})"))
    }
}

/// Byte streams an SSH session can run over: TCP, a channel of a jump host, a proxy command.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// An established connection and what keeps it alive.
struct Chain {
    handle: Handle<Client>,
    shared: Arc<Shared>,
    jumps: Vec<Handle<Client>>,
    proxy: Option<tokio::process::Child>,
}

/// Connects through the jump hosts (each one authenticated, its host key checked) or the
/// proxy command, then to the target.
async fn establish(
    spec: &ConnectSpec,
    config: &SshConfig,
    target: &Target,
    who: &str,
    progress: &mut Progress,
) -> Result<Chain, ConnError> {
    let mut hops = Vec::new();
    for jump in &target.jumps {
        hops.push(ssh_config::resolve_jump(jump, spec, config)?);
    }
    let extra_keys: Vec<PathBuf> = spec.private_key_file.iter().cloned().collect();
    let mut jumps: Vec<Handle<Client>> = Vec::new();
    let mut proxy = None;
    let mut stream: Option<Box<dyn Io>> = None;
    if hops.is_empty()
        && let Some(cmd) = &target.proxy_command
    {
        let (io, child) = spawn_proxy_command(cmd)?;
        stream = Some(io);
        proxy = Some(child);
    }
    for (i, hop) in hops.iter().enumerate() {
        let hop_who = format!("jump host {}@{}:{}", hop.user, hop.hostname, hop.port);
        progress.host = hop.hostname.clone();
        progress.port = hop.port;
        let io = match stream.take() {
            Some(io) => io,
            None => Box::new(tcp(hop, progress).await?) as Box<dyn Io>,
        };
        let creds = Credentials {
            password: None,
            key_passphrase: spec.key_passphrase.as_deref(),
            interactive: spec.interactive,
            extra_keys: &extra_keys,
        };
        let (handle, _) = session(hop, io, &creds, &hop_who, progress).await?;
        // The next hop (or the target), reached through this one.
        let (next_host, next_port) = match hops.get(i + 1) {
            Some(next) => (next.hostname.clone(), next.port),
            None => (target.hostname.clone(), target.port),
        };
        progress.via = Some(hop.hostname.clone());
        progress.host = next_host.clone();
        progress.port = next_port;
        progress.phase = "while opening the forwarded connection";
        let channel = handle
            .channel_open_direct_tcpip(next_host.clone(), u32::from(next_port), "127.0.0.1", 0)
            .await
            .map_err(|e| {
                ConnError::Unreachable(format!(
                    "{hop_who} could not forward to {next_host} port {next_port}: {}",
                    match e {
                        russh::Error::ChannelOpenFailure(r) => format!("{r:?}"),
                        other => describe_ssh_error(&other),
                    }
                ))
            })?;
        stream = Some(Box::new(channel.into_stream()));
        jumps.push(handle);
    }
    let io = match stream.take() {
        Some(io) => io,
        None => Box::new(tcp(target, progress).await?) as Box<dyn Io>,
    };
    let creds = Credentials {
        password: spec.password.as_deref(),
        key_passphrase: spec.key_passphrase.as_deref(),
        interactive: spec.interactive,
        extra_keys: &[],
    };
    let (handle, shared) = session(target, io, &creds, who, progress).await?;
    Ok(Chain {
        handle,
        shared,
        jumps,
        proxy,
    })
}

/// Resolves the host's name and opens a TCP connection to the first address that answers.
async fn tcp(target: &Target, progress: &mut Progress) -> Result<TcpStream, ConnError> {
    progress.phase = "while resolving the address";
    let addrs: Vec<_> = tokio::net::lookup_host((target.hostname.as_str(), target.port))
        .await
        .map_err(|e| {
            let why = e.to_string();
            let why = why
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&why);
            ConnError::Unreachable(format!(
                "could not resolve hostname {}: {why}",
                target.hostname
            ))
        })?
        .collect();
    progress.phase = "while connecting";
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Commands are small request/response exchanges: never let Nagle hold a
                // packet back.
                if let Err(e) = stream.set_nodelay(true) {
                    debug!("set_nodelay: {e}");
                }
                return Ok(stream);
            }
            Err(e) => {
                debug!("connect to {addr}: {e}");
                last_error = Some(e);
            }
        }
    }
    let why = last_error.map_or_else(|| "no address found".to_string(), |e| describe_io_error(&e));
    Err(ConnError::Unreachable(format!(
        "connect to {} port {}: {why}",
        target.hostname, target.port
    )))
}

/// Runs `ProxyCommand` with `sh -c`; the session runs over its stdin and stdout.
fn spawn_proxy_command(cmd: &str) -> Result<(Box<dyn Io>, tokio::process::Child), ConnError> {
    debug!("starting proxy command {cmd:?}");
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ConnError::Unreachable(format!("cannot run ProxyCommand {cmd:?}: {e}")))?;
    let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
        return Err(ConnError::Unreachable(format!(
            "ProxyCommand {cmd:?}: no pipes"
        )));
    };
    Ok((Box::new(tokio::io::join(stdout, stdin)), child))
}

/// Key exchange, host key check and authentication over `io`.
async fn session(
    target: &Target,
    io: Box<dyn Io>,
    creds: &Credentials<'_>,
    who: &str,
    progress: &mut Progress,
) -> Result<(Handle<Client>, Arc<Shared>), ConnError> {
    let known_hosts = KnownHosts::load(
        &target.host_key_name,
        target.port,
        target.user_known_hosts.clone(),
        &target.global_known_hosts,
        target.policy,
        target.hash_known_hosts,
    )?;
    let config = Arc::new(client_config(&known_hosts, target));
    let shared = Arc::new(Shared::default());
    progress.phase = "during the SSH handshake";
    let handler = Client {
        shared: shared.clone(),
        known_hosts,
    };
    let mut handle = client::connect_stream(config, io, handler)
        .await
        .map_err(|e| {
            if let Some(refusal) = Shared::get(&shared.host_key_refusal) {
                return ConnError::Unreachable(refusal);
            }
            ConnError::Unreachable(format!(
                "ssh handshake with {} port {}{} failed: {}",
                target.hostname,
                target.port,
                progress.via(),
                describe_ssh_error(&e)
            ))
        })?;
    progress.phase = "during authentication";
    ssh_auth::authenticate(&mut handle, target, creds, &shared, who).await?;
    Ok((handle, shared))
}

/// Why a command's channel failed, explained by [`SshConnection::explain`].
enum JobError {
    Ssh(russh::Error),
    /// The channel ended without being closed: the connection is gone.
    Lost,
    ExecRefused,
    /// Reading the command's input on the controller failed; the command was stopped before
    /// it saw EOF, so it cannot mistake a truncated input for a whole one.
    Input(std::io::Error),
    /// Privilege escalation failed (wrong password...); the message says how.
    Escalation(ConnError),
}

/// One command on its own channel, driven by its own task (see the module doc for why).
struct Job {
    handle: Arc<Handle<Client>>,
    cmd: String,
    input: Payload,
    escalation: Option<Escalation>,
    /// Where to put the process group id the command reports (commands with a time limit).
    pgid: Option<Arc<AtomicU32>>,
    /// Held until the server has confirmed the channel's close, so that our count of open
    /// channels never exceeds the server's.
    permit: OwnedSemaphorePermit,
    cancel: oneshot::Receiver<()>,
    done: oneshot::Sender<Result<ExecOutput, JobError>>,
}

impl Job {
    async fn run(self) {
        let Job {
            handle,
            cmd,
            input,
            escalation,
            pgid,
            permit,
            mut cancel,
            done,
        } = self;
        let _permit = permit;
        let channel = match open_channel(&handle, &mut cancel).await {
            Some(Ok(channel)) => channel,
            Some(Err(e)) => {
                let _ = done.send(Err(JobError::Ssh(e)));
                return;
            }
            None => return,
        };
        let (mut rx, tx) = channel.split();
        let outcome = {
            let exchange = exchange(&mut rx, &tx, &cmd, input, escalation, pgid.as_deref());
            tokio::pin!(exchange);
            tokio::select! {
                biased;
                _ = &mut cancel => None,
                result = &mut exchange => Some(result),
            }
        };
        match outcome {
            Some(result) => {
                if matches!(result, Err(JobError::Ssh(_))) {
                    let _ = tx.close().await;
                }
                let _ = done.send(result);
            }
            None => abandon(&mut rx, &tx, &cmd).await,
        }
        // The caller has its answer; keep the permit one more round trip (see below).
        sync_with_server(&handle).await;
    }
}

/// Waits for the server to answer a ping sent after our channel close.
///
/// sshd frees a closed session only at the start of its next loop iteration, after it has
/// handled every packet of the batch that carried our close; an open arriving in that same
/// batch finds the slot still taken and is refused ("no more sessions" in the host's log). The
/// ping's answer comes from that batch, so an open sent after it lands in a later iteration,
/// once the slot is free. This keeps us exactly at `MaxSessions` without refusals.
async fn sync_with_server(handle: &Handle<Client>) {
    if tokio::time::timeout(CLOSE_GRACE, handle.send_ping())
        .await
        .is_err()
    {
        debug!("no answer to a ping within {CLOSE_GRACE:?}");
    }
}

/// Opens a session channel, retrying when the server says it has no session slot free.
///
/// The semaphore and [`sync_with_server`] keep us within sshd's default `MaxSessions`, but a
/// server configured lower, or a timed-out command sshd would not kill (root sessions) still
/// holding its slot, makes the server refuse. Such a refusal is retried with a short backoff
/// while our other channels finish. `None` when the caller gave up meanwhile.
async fn open_channel(
    handle: &Handle<Client>,
    cancel: &mut oneshot::Receiver<()>,
) -> Option<Result<Channel<Msg>, russh::Error>> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        match handle.channel_open_session().await {
            Err(russh::Error::ChannelOpenFailure(
                reason @ (ChannelOpenFailure::ConnectFailed
                | ChannelOpenFailure::AdministrativelyProhibited
                | ChannelOpenFailure::ResourceShortage),
            )) if started.elapsed() < OPEN_RETRY_FOR && !handle.is_closed() => {
                debug!("session channel refused ({reason:?}); retrying in {delay:?}");
                tokio::select! {
                    biased;
                    _ = &mut *cancel => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            other => return Some(other),
        }
    }
}

/// Runs the command on an open channel: exec, stdin then EOF, and everything the server sends
/// until it closes the channel. Exit status may come before the last output, so we wait for
/// the close.
///
/// Without an escalation, exec, stdin and EOF go out back to back. With one, the input is held
/// back until the [`Watcher`] says the command runs as the target user, and the password is
/// written only when the prompt shows up.
async fn exchange(
    rx: &mut ChannelReadHalf,
    tx: &ChannelWriteHalf<Msg>,
    cmd: &str,
    input: Payload,
    escalation: Option<Escalation>,
    pgid: Option<&AtomicU32>,
) -> Result<ExecOutput, JobError> {
    // want_reply so a refusal is reported, but nothing waits for the reply.
    tx.exec(true, cmd).await.map_err(JobError::Ssh)?;
    let mut watcher = escalation.map(Watcher::new);
    let mut input = Some(input);
    // Read while writing: a command that echoes its input (cat) fills our window while we are
    // still sending. If the command ends without reading all of its input, the loop ends on
    // the close and the writer (waiting for window space that will never come) is dropped.
    let mut writer: Option<Writer<'_>> = None;
    if watcher.is_none() {
        writer = input.take().map(|i| Box::pin(send_input(tx, i)) as _);
    }
    let mut output = ExecOutput::default();
    // The first stderr line of a command with a time limit is its process group id.
    let mut head: Option<Vec<u8>> = pgid.map(|_| Vec::new());
    let mut refused = false;
    loop {
        let msg = tokio::select! {
            biased;
            msg = rx.wait() => msg,
            sent = async {
                match writer.as_mut() {
                    Some(w) => w.as_mut().await,
                    None => std::future::pending().await,
                }
            } => {
                writer = None;
                match sent {
                    Ok(()) => {}
                    Err(WriteError::Read(e)) => {
                        abandon(rx, tx, cmd).await;
                        return Err(JobError::Input(e));
                    }
                    Err(WriteError::Ssh(e)) => debug!("stdin not fully delivered: {e}"),
                }
                continue;
            }
        };
        let action = match msg {
            Some(ChannelMsg::Data { data }) => match watcher.as_mut() {
                Some(w) => w.stdout(&data, &mut output.stdout),
                None => {
                    output.stdout.extend_from_slice(&data);
                    Action::Nothing
                }
            },
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                let data: Cow<[u8]> = match (&mut head, pgid) {
                    (Some(buf), Some(slot)) => {
                        buf.extend_from_slice(&data);
                        let Some(nl) = buf.iter().position(|b| *b == b'\n') else {
                            continue;
                        };
                        let line = String::from_utf8_lossy(&buf[..nl]).into_owned();
                        let rest = buf[nl + 1..].to_vec();
                        head = None;
                        match line.strip_prefix(PGID_MARKER).and_then(|p| p.parse().ok()) {
                            Some(id) => {
                                slot.store(id, Ordering::SeqCst);
                                Cow::Owned(rest)
                            }
                            None => {
                                let mut all = line.into_bytes();
                                all.push(b'\n');
                                all.extend_from_slice(&rest);
                                Cow::Owned(all)
                            }
                        }
                    }
                    _ => Cow::Borrowed(&data[..]),
                };
                match watcher.as_mut() {
                    Some(w) => w.stderr(&data, &mut output.stderr),
                    None => {
                        output.stderr.extend_from_slice(&data);
                        Action::Nothing
                    }
                }
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                output.rc = Some(i32::try_from(exit_status).unwrap_or(-1));
                Action::Nothing
            }
            Some(ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                error_message,
                ..
            }) => {
                debug!(
                    "command killed by signal {signal_name:?} (core dumped: {core_dumped}) \
                     {error_message}"
                );
                Action::Nothing
            }
            Some(ChannelMsg::Failure) => {
                refused = true;
                let _ = tx.close().await;
                Action::Nothing
            }
            Some(ChannelMsg::Close) => break,
            // The reply to exec, EOF and window changes need nothing from us.
            Some(ChannelMsg::Success | ChannelMsg::Eof | ChannelMsg::WindowAdjusted { .. }) => {
                Action::Nothing
            }
            Some(other) => {
                debug!("channel message ignored: {other:?}");
                Action::Nothing
            }
            None => return Err(JobError::Lost),
        };
        match action {
            Action::Nothing => {}
            Action::SendPassword => {
                if let Some(w) = &watcher {
                    debug!("answering the privilege escalation prompt");
                    tx.data_bytes(w.password_line())
                        .await
                        .map_err(JobError::Ssh)?;
                }
            }
            Action::Ready => {
                writer = input.take().map(|i| Box::pin(send_input(tx, i)) as _);
            }
            Action::Fail(why) => {
                drop(writer);
                abandon(rx, tx, cmd).await;
                return Err(JobError::Escalation(ConnError::Failed(why)));
            }
        }
    }
    if let Some(buf) = head {
        output.stderr.splice(0..0, buf);
    }
    if refused {
        return Err(JobError::ExecRefused);
    }
    if let Some(w) = watcher {
        w.finish(&mut output.stdout, &mut output.stderr)
            .map_err(JobError::Escalation)?;
    }
    Ok(output)
}

/// How long the long-lived shell may take to answer its first command.
const RUNNER_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether commands may go to a long-lived shell: yes, unless `BATON_SSH_RUNNER=0` (each
/// command then gets a channel of its own, as before; for comparisons and debugging).
fn runner_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("BATON_SSH_RUNNER").map_or(true, |v| v != "0"))
}

/// The host's long-lived shell, or why there is none.
#[derive(Default)]
struct RunnerSlot {
    runner: Option<Runner>,
    /// It could not be started, or never answered: this connection uses channels only.
    unusable: bool,
}

/// One `/bin/sh` on a channel of its own, started at the host's first plain command and kept
/// for the rest of the run, that runs plain commands one after another: a command costs a write
/// and the output, where a channel of its own costs a session on the host (sshd forks a
/// process and starts the login shell for it) and round trips to open and close it. Each
/// command runs in a subshell (`( eval '...' )`), so what it changes (directory, variables,
/// traps, `exit`) stays its own and a syntax error in it cannot break the frame; its standard
/// input is `/dev/null` or its input, which travels as a quoted literal in the text (see
/// [`launch::program`]; a command with `become` is `sudo ... /bin/sh` with its script as such a
/// program, itself the literal input). After it
/// the shell prints a random marker with the exit status on stdout and the marker on stderr:
/// the output is what came before them. A command with a time limit, a password dialogue, or
/// large or binary input gets a channel of its own (its process group can be killed, its input
/// streamed), as does one arriving while the shell is busy.
struct Runner {
    reqs: mpsc::Sender<RunnerReq>,
    mark: String,
    /// It has not answered yet. Its first command is written right behind a probe (an empty
    /// frame) in the same write: when the probe's frame does not come back (the shell could
    /// not start, or does not frame commands this way), the command behind it cannot have run
    /// either, and goes to a channel.
    fresh: bool,
}

struct RunnerReq {
    script: Vec<u8>,
    /// The script starts with the probe: its frame must come back within
    /// [`RUNNER_PROBE_TIMEOUT`].
    probe: bool,
    reply: oneshot::Sender<Result<ExecOutput, RunnerFailure>>,
}

/// Why a command on the long-lived shell has no output.
enum RunnerFailure {
    /// The shell had ended before the command was written to it: the command did not run.
    NotSent,
    /// The command was written; what became of it is unknown.
    Job(JobError),
}

/// Why the long-lived shell could not be started.
enum StartFailure {
    /// No session slot was free (the host's other commands hold them all): try again later.
    Busy,
    /// The host has no shell that works this way: use channels for the rest of the run.
    Broken,
}

impl Runner {
    /// The text the shell reads for one command; `input` is not empty and holds no NUL byte.
    fn script(&self, cmd: &str, input: Option<&[u8]>) -> Vec<u8> {
        // Input travels in the command's text, as a quoted literal; the shell runs the line
        // only once it has all of it (see `launch::program`).
        let mut text = Vec::new();
        if self.fresh {
            text.extend_from_slice(self.frame_end("0").as_bytes());
        }
        text.extend_from_slice(&launch::program(cmd, input, true));
        text.extend_from_slice(self.frame_end("\"$?\"").as_bytes());
        text
    }

    /// The line that ends a command's frame: the marker and `status` on stdout, the marker on
    /// stderr.
    fn frame_end(&self, status: &str) -> String {
        format!(
            "printf '%s %d\\n' '{m}' {status}; printf '%s' '{m}' >&2\n",
            m = self.mark
        )
    }

    async fn call(&self, script: Vec<u8>, probe: bool) -> Result<ExecOutput, RunnerFailure> {
        let (reply, answer) = oneshot::channel();
        self.reqs
            .send(RunnerReq {
                script,
                probe,
                reply,
            })
            .await
            .map_err(|_| RunnerFailure::NotSent)?;
        answer
            .await
            .map_err(|_| RunnerFailure::Job(JobError::Lost))?
    }
}

/// The task that owns the long-lived shell's channel: writes each command, collects its output
/// up to the markers, and between commands keeps reading (and dropping) whatever the channel
/// brings, so a full queue never stalls the connection. Ends, closing the channel, when the
/// [`Runner`] is dropped or the shell exits.
async fn drive_runner(
    rx: ChannelReadHalf,
    tx: ChannelWriteHalf<Msg>,
    mark: Vec<u8>,
    mut reqs: mpsc::Receiver<RunnerReq>,
    _permit: OwnedSemaphorePermit,
) {
    let mut frames = Frames {
        rx,
        mark,
        out: Vec::new(),
        err: Vec::new(),
    };
    loop {
        // The channel first: a shell that has ended is noticed before a command is written to
        // it.
        let req = tokio::select! {
            biased;
            msg = frames.rx.wait() => match msg {
                Some(ChannelMsg::Data { .. } | ChannelMsg::ExtendedData { .. }
                    | ChannelMsg::Success | ChannelMsg::WindowAdjusted { .. }) => continue,
                other => {
                    debug!("the long-lived shell ended: {other:?}");
                    // A command queued meanwhile was never written: its caller may run it
                    // elsewhere.
                    reqs.close();
                    while let Ok(r) = reqs.try_recv() {
                        let _ = r.reply.send(Err(RunnerFailure::NotSent));
                    }
                    let _ = tx.close().await;
                    return;
                }
            },
            req = reqs.recv() => match req {
                Some(r) => r,
                None => {
                    let _ = tx.eof().await;
                    let _ = tx.close().await;
                    return;
                }
            },
        };
        if let Err(e) = tx.data_bytes(req.script).await {
            let failure = if req.probe {
                RunnerFailure::NotSent
            } else {
                RunnerFailure::Job(JobError::Ssh(e))
            };
            let _ = req.reply.send(Err(failure));
            return;
        }
        if req.probe {
            match tokio::time::timeout(RUNNER_PROBE_TIMEOUT, frames.next()).await {
                Ok(Ok(_)) => {}
                other => {
                    debug!(
                        "the long-lived shell did not answer its probe: {:?}",
                        other.map(|r| r.err())
                    );
                    let _ = req.reply.send(Err(RunnerFailure::NotSent));
                    let _ = tx.close().await;
                    return;
                }
            }
        }
        match frames.next().await {
            Ok(out) => {
                let _ = req.reply.send(Ok(out));
            }
            Err(other) => {
                debug!("the long-lived shell ended during a command: {other:?}");
                let _ = req.reply.send(Err(RunnerFailure::Job(JobError::Lost)));
                let _ = tx.close().await;
                return;
            }
        }
        // Whatever came after the frame (a background process of the command writing on) is
        // not the next command's output.
        frames.out.clear();
        frames.err.clear();
    }
}

/// The long-lived shell's output, cut into frames: a command's stdout runs up to the line
/// `MARK STATUS`, its stderr up to `MARK`. What follows a frame in the same read stays for the
/// next one (the probe's frame and the first command's output can come in one packet).
struct Frames {
    rx: ChannelReadHalf,
    mark: Vec<u8>,
    out: Vec<u8>,
    err: Vec<u8>,
}

impl Frames {
    /// The next frame, or the message that ended the channel before it was complete.
    async fn next(&mut self) -> Result<ExecOutput, Option<ChannelMsg>> {
        let mut frame = ExecOutput::default();
        let (mut out_done, mut err_done) = (false, false);
        // Where the marker search resumes: the marker cannot start before this.
        let (mut out_scan, mut err_scan) = (0, 0);
        loop {
            if !out_done
                && let Some(at) = find(&self.out[out_scan..], &self.mark).map(|i| i + out_scan)
                && let Some(nl) = self.out[at..].iter().position(|b| *b == b'\n')
            {
                let nl = at + nl;
                let status = String::from_utf8_lossy(&self.out[at + self.mark.len()..nl])
                    .trim()
                    .to_string();
                frame.rc = status.parse().ok();
                let rest = self.out.split_off(nl + 1);
                frame.stdout = std::mem::replace(&mut self.out, rest);
                frame.stdout.truncate(at);
                out_done = true;
            } else if !out_done {
                out_scan = self.out.len().saturating_sub(self.mark.len() + 24);
            }
            if !err_done
                && let Some(at) = find(&self.err[err_scan..], &self.mark).map(|i| i + err_scan)
            {
                let rest = self.err.split_off(at + self.mark.len());
                frame.stderr = std::mem::replace(&mut self.err, rest);
                frame.stderr.truncate(at);
                err_done = true;
            } else if !err_done {
                err_scan = self.err.len().saturating_sub(self.mark.len());
            }
            if out_done && err_done {
                return Ok(frame);
            }
            match self.rx.wait().await {
                Some(ChannelMsg::Data { data }) => self.out.extend_from_slice(&data),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    self.err.extend_from_slice(&data)
                }
                Some(
                    ChannelMsg::ExtendedData { .. }
                    | ChannelMsg::Success
                    | ChannelMsg::WindowAdjusted { .. },
                ) => {}
                other => return Err(other),
            }
        }
    }
}

/// The first position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The future sending a command's input.
type Writer<'a> = Pin<Box<dyn Future<Output = Result<(), WriteError>> + Send + 'a>>;

/// Why the input could not be sent.
enum WriteError {
    Ssh(russh::Error),
    Read(std::io::Error),
}

/// Sends the command's input, then EOF. A reader is sent in packet-sized chunks, each only
/// once the channel's window has room, so memory stays flat however large the input is.
async fn send_input(tx: &ChannelWriteHalf<Msg>, input: Payload) -> Result<(), WriteError> {
    match input {
        Payload::Bytes(data) => {
            if !data.is_empty() {
                tx.data_bytes(data).await.map_err(WriteError::Ssh)?;
            }
        }
        Payload::Reader(mut reader) => loop {
            let mut chunk = vec![0u8; MAX_PACKET_SIZE as usize];
            let n = reader.read(&mut chunk).await.map_err(WriteError::Read)?;
            if n == 0 {
                break;
            }
            chunk.truncate(n);
            tx.data_bytes(chunk).await.map_err(WriteError::Ssh)?;
        },
    }
    tx.eof().await.map_err(WriteError::Ssh)
}

/// Stops a command nobody waits for any more: sshd kills the command's process group on a
/// `signal` request (OpenSSH 7.9+), and until it exits the session keeps its slot in
/// `MaxSessions` even after we close the channel. Then waits (bounded) for the close to be
/// confirmed before the caller's permit is released.
async fn abandon(rx: &mut ChannelReadHalf, tx: &ChannelWriteHalf<Msg>, cmd: &str) {
    debug!("abandoning command {cmd:?}: killing it and closing its channel");
    let _ = tx.signal(Sig::KILL).await;
    let _ = tx.eof().await;
    let _ = tx.close().await;
    let drained = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(msg) = rx.wait().await {
            if matches!(msg, ChannelMsg::Close) {
                break;
            }
        }
    })
    .await;
    if drained.is_err() {
        debug!("channel close not confirmed within {CLOSE_GRACE:?}");
    }
}

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
