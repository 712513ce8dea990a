//! The `ssh` transport: one SSH connection per host, one session channel per command.
//!
//! This is the only file in baton that knows russh. It owns opening the connection (TCP, key
//! exchange, host key verification against known_hosts, authentication), running commands on
//! it, and turning every russh/IO failure into a one-line [`ConnError`] a user can act on.
//!
//! Why it is shaped this way:
//! - A run sends many small commands to each host, so the expensive part (TCP + key exchange +
//!   auth, several round trips and public-key operations) happens once per host and the
//!   connection is kept for the whole run. Each command is one session channel: open (one round
//!   trip), then exec + stdin + EOF pipelined without waiting for replies.
//! - Commands on one host may run concurrently (handlers, async tasks, fact gathering), so
//!   `exec` takes `&self` and opens its own channel. sshd allows 10 sessions per connection by
//!   default (`MaxSessions`); a semaphore makes the 11th caller wait instead of failing, and a
//!   channel's permit is only given back once the server has really freed its session.
//! - russh forwards channel data to a bounded queue per channel and its event loop blocks while
//!   a queue is full, which would stall every other channel of the connection. So each command
//!   is driven by its own task that always drains its channel, and a command that is timed out
//!   or abandoned is killed and its channel closed by that task in the background.
//! - Nothing here prints: protocol notes go to `tracing::debug!`, never a password.

use super::become_::{Action, Escalation, Watcher};
use super::{BoxFuture, ConnError, ConnectSpec, Connection, ExecOutput, ExecRequest, Stdin};
use russh::client::{self, DisconnectReason, Handle, Msg};
use russh::keys::{
    self, Algorithm, EcdsaCurve, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey,
    PublicKeyOrCertificate,
};
use russh::{
    Channel, ChannelMsg, ChannelOpenFailure, ChannelReadHalf, ChannelWriteHalf, Disconnect,
    MethodKind, Preferred, Sig, SshId,
};
use std::borrow::Cow;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
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
/// Starts the first stderr line of a command with a time limit: its process group id.
const PGID_MARKER: &str = "BATON-PGID:";

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

/// The keys tried when no key file is given, in OpenSSH's order.
const DEFAULT_KEYS: &[&str] = &["id_ed25519", "id_ecdsa", "id_rsa"];

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
}

/// What the russh event loop learns that the rest of this file needs to explain a failure.
#[derive(Default)]
struct Shared {
    /// Why the host key was refused (set by `check_server_key`).
    host_key_refusal: Mutex<Option<String>>,
    /// Why the connection ended (set by `disconnected`).
    disconnect_reason: Mutex<Option<String>>,
}

impl Shared {
    fn set(slot: &Mutex<Option<String>>, why: String) {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
    }

    fn get(slot: &Mutex<Option<String>>) -> Option<String> {
        slot.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The russh event handler: verifies the host key and records why the connection ended.
struct Client {
    shared: Arc<Shared>,
    /// `None` when host key checking is off.
    known_hosts: Option<KnownHosts>,
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
        let Some(known) = &self.known_hosts else {
            debug!(
                "host key checking is off; accepting {} {}",
                key.algorithm(),
                key.fingerprint(HashAlg::Sha256)
            );
            return Ok(true);
        };
        match known.verify(key) {
            Ok(line) => {
                debug!(
                    "host key {} matches {}:{line}",
                    key.fingerprint(HashAlg::Sha256),
                    known.file.display()
                );
                Ok(true)
            }
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

/// The known_hosts entries for one host, loaded before connecting.
struct KnownHosts {
    /// The host as known_hosts spells it: `host`, or `[host]:port` off port 22.
    label: String,
    file: PathBuf,
    /// (line number in `file`, recorded key)
    entries: Vec<(usize, PublicKey)>,
    /// For the "how to add it" hint.
    address: String,
    port: u16,
}

impl KnownHosts {
    /// Loads the entries for the spec's host, or `None` when host key checking is off.
    fn load(spec: &ConnectSpec) -> Result<Option<KnownHosts>, ConnError> {
        if !spec.host_key_checking {
            return Ok(None);
        }
        let file = spec
            .known_hosts_file
            .clone()
            .or_else(|| home_dir().map(|h| h.join(".ssh").join("known_hosts")))
            .unwrap_or_else(|| PathBuf::from("~/.ssh/known_hosts"));
        let entries = known_host_entries(&file, &spec.address, spec.port)?;
        debug!(
            "{} entries for {}:{} in {}",
            entries.len(),
            spec.address,
            spec.port,
            file.display()
        );
        Ok(Some(KnownHosts {
            label: known_hosts_label(&spec.address, spec.port),
            file,
            entries,
            address: spec.address.clone(),
            port: spec.port,
        }))
    }

    /// Accepts `key` if recorded (returning its line); otherwise says why not, in one line.
    fn verify(&self, key: &PublicKey) -> Result<usize, String> {
        if let Some((line, _)) = self
            .entries
            .iter()
            .find(|(_, known)| known.key_data() == key.key_data())
        {
            return Ok(*line);
        }
        let offered = format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256));
        let file = self.file.display();
        if let Some((line, _)) = self
            .entries
            .iter()
            .find(|(_, known)| known.algorithm() == key.algorithm())
        {
            return Err(format!(
                "host key for {} changed (it now offers {offered}); offending key in {file}:{line}; \
                 possible man-in-the-middle attack: if the change is expected, remove that line \
                 (ssh-keygen -R '{}' -f {file})",
                self.label, self.label
            ));
        }
        let port = if self.port == 22 {
            String::new()
        } else {
            format!("-p {} ", self.port)
        };
        Err(format!(
            "host key for {} is not known ({offered}): add it to {file} \
             (ssh-keyscan {port}{} >> {file}) or set host_key_checking=false",
            self.label, self.address
        ))
    }

    /// The host key algorithms to ask for, those already recorded for this host first.
    fn preferred_algorithms(&self) -> Vec<Algorithm> {
        let recorded = |alg: &Algorithm| {
            self.entries.iter().any(|(_, k)| {
                &k.algorithm() == alg
                    || (matches!(alg, Algorithm::Rsa { .. }) && k.algorithm().is_rsa())
            })
        };
        let (mut first, rest): (Vec<_>, Vec<_>) =
            HOST_KEY_ORDER.iter().cloned().partition(|a| recorded(a));
        first.extend(rest);
        first
    }
}

/// How known_hosts names a host: the bare name on port 22, else `[name]:port`.
fn known_hosts_label(address: &str, port: u16) -> String {
    if port == 22 {
        address.to_string()
    } else {
        format!("[{address}]:{port}")
    }
}

/// The entries of `file` that name `host`/`port` (plain or hashed `|1|` patterns), with their
/// real line numbers. A missing file has no entries.
fn known_host_entries(
    file: &Path,
    host: &str,
    port: u16,
) -> Result<Vec<(usize, PublicKey)>, ConnError> {
    let found = keys::known_hosts::known_host_keys_path(host, port, file).map_err(|e| {
        ConnError::Unreachable(format!(
            "cannot read known_hosts file {}: {e}",
            file.display()
        ))
    })?;
    if found.is_empty() {
        return Ok(found);
    }
    // russh numbers only the lines that are not comments; map its numbers back to the file's
    // lines so that "offending key in FILE:LINE" points at the right place.
    let text = std::fs::read(file).unwrap_or_default();
    let real: Vec<usize> = text
        .split_inclusive(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| line.first() != Some(&b'#'))
        .map(|(i, _)| i + 1)
        .collect();
    Ok(found
        .into_iter()
        .map(|(n, key)| {
            (
                n.checked_sub(1)
                    .and_then(|i| real.get(i))
                    .copied()
                    .unwrap_or(n),
                key,
            )
        })
        .collect())
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

fn client_config(known_hosts: Option<&KnownHosts>) -> client::Config {
    let host_keys = match known_hosts {
        Some(known) => known.preferred_algorithms(),
        None => HOST_KEY_ORDER.to_vec(),
    };
    client::Config {
        client_id: SshId::Standard(Cow::Borrowed(concat!(
            "SSH-2.0-baton_",
            env!("CARGO_PKG_VERSION")
        ))),
        window_size: WINDOW_SIZE,
        maximum_packet_size: MAX_PACKET_SIZE,
        keepalive_interval: Some(KEEPALIVE_INTERVAL),
        keepalive_max: KEEPALIVE_MAX,
        inactivity_timeout: None,
        nodelay: true,
        preferred: Preferred {
            kex: Cow::Borrowed(KEX_ORDER),
            key: Cow::Owned(host_keys),
            cipher: Cow::Borrowed(CIPHER_ORDER),
            // Compression costs CPU on both ends for output that is mostly tiny.
            compression: Cow::Borrowed(&[russh::compression::NONE]),
            ..Preferred::DEFAULT
        },
        ..Default::default()
    }
}

impl SshConnection {
    /// Opens the connection and authenticates, all within `spec.connect_timeout`.
    pub async fn connect(spec: &ConnectSpec) -> Result<SshConnection, ConnError> {
        let target = format!("{}@{}:{}", spec.user, spec.address, spec.port);
        let known_hosts = KnownHosts::load(spec)?;
        let config = Arc::new(client_config(known_hosts.as_ref()));
        let shared = Arc::new(Shared::default());
        let started = Instant::now();
        let mut phase = "while resolving the address";
        let attempt = tokio::time::timeout(
            spec.connect_timeout,
            establish(spec, config, &shared, known_hosts, &target, &mut phase),
        )
        .await;
        let handle = match attempt {
            Ok(handle) => handle?,
            Err(_) => {
                return Err(ConnError::Unreachable(format!(
                    "connect to {} port {}: timed out after {}s {phase}",
                    spec.address,
                    spec.port,
                    spec.connect_timeout.as_secs_f64()
                )));
            }
        };
        debug!("connected to {target} in {:?}", started.elapsed());
        Ok(SshConnection {
            handle: Arc::new(handle),
            sessions: Arc::new(Semaphore::new(MAX_SESSIONS)),
            closed: AtomicBool::new(false),
            shared,
            target,
            become_password: spec.become_password.clone(),
        })
    }

    async fn run(&self, req: ExecRequest<'_>) -> Result<ExecOutput, ConnError> {
        self.ensure_open()?;
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
            timeout,
            escalation,
        } = req;
        // A command with a time limit first says which process group it leads (sshd makes each
        // session's shell a session and group leader), so that on timeout we can kill the whole
        // group through another channel: sshd refuses `signal` requests in root sessions.
        let pgid = Arc::new(AtomicU32::new(0));
        let cmd = match timeout {
            Some(_) => format!("echo {PGID_MARKER}$$ >&2\n{cmd}"),
            None => cmd.to_owned(),
        };
        let (done_tx, done_rx) = oneshot::channel();
        // Dropping `cancel_tx` (timeout, or the caller giving up on this future) tells the task
        // to kill the command and close its channel.
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        let job = Job {
            handle: self.handle.clone(),
            cmd,
            input: match stdin {
                Stdin::Null => Input::Null,
                Stdin::Bytes(b) => Input::Bytes(b.to_vec()),
                Stdin::Reader(r) => Input::Reader(r),
            },
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

    /// Kills the process group of a timed-out command through a second channel: TERM first
    /// (sudo relays it to a command it runs as another user), KILL for whatever is left.
    async fn kill_group(&self, pgid: u32) {
        if pgid <= 1 {
            debug!("timed-out command on {} never said its pgid", self.target);
            return;
        }
        let cmd = format!(
            "kill -TERM -- -{pgid} 2>/dev/null; sleep 0.2 2>/dev/null; \
             kill -KILL -- -{pgid} 2>/dev/null; true"
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
            debug!("disconnecting from {}", self.target);
            if let Err(e) = self
                .handle
                .disconnect(Disconnect::ByApplication, "", "en")
                .await
            {
                debug!("disconnect from {}: {e}", self.target);
            }
        })
    }
}

/// TCP connect, handshake and authentication; `phase` says how far it got, for the timeout
/// message.
async fn establish(
    spec: &ConnectSpec,
    config: Arc<client::Config>,
    shared: &Arc<Shared>,
    known_hosts: Option<KnownHosts>,
    target: &str,
    phase: &mut &'static str,
) -> Result<Handle<Client>, ConnError> {
    let addrs: Vec<_> = tokio::net::lookup_host((spec.address.as_str(), spec.port))
        .await
        .map_err(|e| {
            let why = e.to_string();
            let why = why
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&why);
            ConnError::Unreachable(format!(
                "could not resolve hostname {}: {why}",
                spec.address
            ))
        })?
        .collect();
    *phase = "while connecting";
    let mut stream = None;
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => {
                debug!("connect to {addr}: {e}");
                last_error = Some(e);
            }
        }
    }
    let Some(stream) = stream else {
        let why =
            last_error.map_or_else(|| "no address found".to_string(), |e| describe_io_error(&e));
        return Err(ConnError::Unreachable(format!(
            "connect to {} port {}: {why}",
            spec.address, spec.port
        )));
    };
    // Commands are small request/response exchanges: never let Nagle hold a packet back.
    if let Err(e) = stream.set_nodelay(true) {
        debug!("set_nodelay: {e}");
    }

    *phase = "during the SSH handshake";
    let handler = Client {
        shared: shared.clone(),
        known_hosts,
    };
    let mut handle = client::connect_stream(config, stream, handler)
        .await
        .map_err(|e| {
            if let Some(refusal) = Shared::get(&shared.host_key_refusal) {
                return ConnError::Unreachable(refusal);
            }
            ConnError::Unreachable(format!(
                "ssh handshake with {} port {} failed: {}",
                spec.address,
                spec.port,
                describe_ssh_error(&e)
            ))
        })?;

    *phase = "during authentication";
    authenticate(&mut handle, spec, target, shared).await?;
    Ok(handle)
}

/// Tries, in order: the key file, the password, then the default keys (only when no key file
/// was given). Fails with one line in OpenSSH's words, listing what the server would accept.
async fn authenticate(
    handle: &mut Handle<Client>,
    spec: &ConnectSpec,
    target: &str,
    shared: &Shared,
) -> Result<(), ConnError> {
    let mut auth = Auth {
        handle,
        user: &spec.user,
        target,
        shared,
        server_methods: None,
        tried: false,
        notes: Vec::new(),
    };
    if let Some(path) = &spec.private_key_file
        && auth.try_key_file(path).await?
    {
        return Ok(());
    }
    if let Some(password) = &spec.password
        && auth.allows(MethodKind::Password)
    {
        auth.tried = true;
        debug!("{target}: trying password authentication");
        let result = auth
            .handle
            .authenticate_password(spec.user.clone(), password.clone())
            .await;
        if auth.settle(result)? {
            return Ok(());
        }
    }
    if spec.private_key_file.is_none()
        && let Some(ssh_dir) = home_dir().map(|h| h.join(".ssh"))
    {
        for name in DEFAULT_KEYS {
            let path = ssh_dir.join(name);
            if path.exists() && auth.try_key_file(&path).await? {
                return Ok(());
            }
        }
    }
    Err(auth.denied())
}

/// The state of one authentication attempt sequence.
struct Auth<'a> {
    handle: &'a mut Handle<Client>,
    user: &'a str,
    target: &'a str,
    shared: &'a Shared,
    /// What the server said it accepts, once it has refused something.
    server_methods: Option<Vec<MethodKind>>,
    tried: bool,
    /// Why a configured key could not be used, appended to the final message.
    notes: Vec<String>,
}

impl Auth<'_> {
    fn allows(&self, method: MethodKind) -> bool {
        self.server_methods
            .as_ref()
            .is_none_or(|methods| methods.contains(&method))
    }

    async fn try_key_file(&mut self, path: &Path) -> Result<bool, ConnError> {
        if !self.allows(MethodKind::PublicKey) {
            return Ok(false);
        }
        let key = match keys::load_secret_key(path, None) {
            Ok(key) => key,
            Err(e) => {
                let why = match e {
                    keys::Error::KeyIsEncrypted => "it is passphrase-protected, which baton \
                                                    does not support yet"
                        .to_string(),
                    keys::Error::IO(io) => describe_io_error(&io),
                    other => other.to_string(),
                };
                debug!("{}: cannot use key {}: {why}", self.target, path.display());
                self.notes
                    .push(format!("cannot use key {}: {why}", path.display()));
                return Ok(false);
            }
        };
        self.tried = true;
        let hash = self.rsa_hash(&key).await;
        debug!(
            "{}: trying public key {} ({})",
            self.target,
            path.display(),
            key.algorithm()
        );
        let result = self
            .handle
            .authenticate_publickey(
                self.user.to_string(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await;
        self.settle(result)
    }

    /// RSA keys sign with SHA-2 (the SHA-1 `ssh-rsa` scheme is disabled in modern OpenSSH):
    /// SHA-512 or SHA-256 as the server's `server-sig-algs` says, SHA-512 if it says nothing.
    async fn rsa_hash(&self, key: &PrivateKey) -> Option<HashAlg> {
        if !key.algorithm().is_rsa() {
            return None;
        }
        match self.handle.best_supported_rsa_hash().await {
            Ok(Some(Some(hash))) => Some(hash),
            other => {
                debug!("server-sig-algs gave {other:?}; signing with rsa-sha2-512");
                Some(HashAlg::Sha512)
            }
        }
    }

    /// Records the server's answer; `Ok(true)` when authenticated.
    fn settle(
        &mut self,
        result: Result<client::AuthResult, russh::Error>,
    ) -> Result<bool, ConnError> {
        match result {
            Ok(client::AuthResult::Success) => Ok(true),
            Ok(client::AuthResult::Failure {
                remaining_methods,
                partial_success,
            }) => {
                debug!(
                    "{}: refused (partial success: {partial_success}); server accepts {:?}",
                    self.target, &*remaining_methods
                );
                self.server_methods = Some(remaining_methods.to_vec());
                Ok(false)
            }
            Err(e) => {
                let why = Shared::get(&self.shared.disconnect_reason)
                    .unwrap_or_else(|| describe_ssh_error(&e));
                Err(ConnError::Unreachable(format!(
                    "{}: connection failed during authentication: {why}",
                    self.target
                )))
            }
        }
    }

    fn denied(self) -> ConnError {
        let methods = match &self.server_methods {
            Some(methods) if !methods.is_empty() => methods
                .iter()
                .map(<&str>::from)
                .collect::<Vec<_>>()
                .join(","),
            _ => "publickey".to_string(),
        };
        let mut message = format!("Permission denied ({methods}) for {}", self.target);
        if !self.tried {
            message.push_str(
                ": no key or password to try (set ansible_ssh_private_key_file or \
                 ansible_password)",
            );
        }
        for note in &self.notes {
            message.push_str("; ");
            message.push_str(note);
        }
        ConnError::Unreachable(message)
    }
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

/// A command's standard input, owned by its task.
enum Input {
    Null,
    Bytes(Vec<u8>),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

/// One command on its own channel, driven by its own task (see the module doc for why).
struct Job {
    handle: Arc<Handle<Client>>,
    cmd: String,
    input: Input,
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
    input: Input,
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

/// The future sending a command's input.
type Writer<'a> = Pin<Box<dyn Future<Output = Result<(), WriteError>> + Send + 'a>>;

/// Why the input could not be sent.
enum WriteError {
    Ssh(russh::Error),
    Read(std::io::Error),
}

/// Sends the command's input, then EOF. A reader is sent in packet-sized chunks, each only
/// once the channel's window has room, so memory stays flat however large the input is.
async fn send_input(tx: &ChannelWriteHalf<Msg>, input: Input) -> Result<(), WriteError> {
    match input {
        Input::Null => {}
        Input::Bytes(data) => {
            if !data.is_empty() {
                tx.data_bytes(data).await.map_err(WriteError::Ssh)?;
            }
        }
        Input::Reader(mut reader) => loop {
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
fn describe_io_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        return "connection closed by the remote side".to_string();
    }
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn describe_ssh_error(e: &russh::Error) -> String {
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

    const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAICBsX8MXE/x4dKVkqshuifE59RCCagqxqYXSyQE6nwWf";
    const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAID644VczHMgSRaRfhtncfPFbyTK9fGL33eh9L1zFTdJl";

    fn key(b64: &str) -> PublicKey {
        keys::parse_public_key_base64(b64).unwrap()
    }

    fn write(text: &str) -> (PathBuf, impl Drop) {
        struct Rm(PathBuf);
        impl Drop for Rm {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
        let path = std::env::temp_dir().join(format!(
            "baton-known-hosts-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, text).unwrap();
        (path.clone(), Rm(path))
    }

    #[test]
    fn line_numbers_count_comments_and_ports_use_brackets() {
        let text = format!(
            "# comment\n\nother ssh-ed25519 {KEY_B}\n# another\n[10.0.0.1]:2222 ssh-ed25519 {KEY_A}\n10.0.0.1 ssh-ed25519 {KEY_B}\n"
        );
        let (path, _rm) = write(&text);
        let found = known_host_entries(&path, "10.0.0.1", 2222).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 5);
        assert_eq!(found[0].1.key_data(), key(KEY_A).key_data());
        let found = known_host_entries(&path, "10.0.0.1", 22).unwrap();
        assert_eq!(found[0].0, 6);
    }

    #[test]
    fn hashed_entries_match() {
        // `ssh-keygen -H` of a "[127.0.0.1]:2222" entry.
        let text = format!(
            "|1|z1LuE10IlkGBtRL4CmWm0SppVUA=|Z+YrM/bN5V0a9Ybm+pfhAUS1Hto= ssh-ed25519 {KEY_A}\n"
        );
        let (path, _rm) = write(&text);
        let found = known_host_entries(&path, "127.0.0.1", 2222).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 1);
        assert!(
            known_host_entries(&path, "127.0.0.1", 2223)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn verify_says_unknown_changed_or_ok() {
        let known = KnownHosts {
            label: "[h]:2222".into(),
            file: PathBuf::from("/k/known_hosts"),
            entries: vec![(7, key(KEY_A))],
            address: "h".into(),
            port: 2222,
        };
        assert_eq!(known.verify(&key(KEY_A)), Ok(7));
        let changed = known.verify(&key(KEY_B)).unwrap_err();
        assert!(changed.contains("changed"), "{changed}");
        assert!(changed.contains("/k/known_hosts:7"), "{changed}");
        let empty = KnownHosts {
            entries: vec![],
            ..known
        };
        let unknown = empty.verify(&key(KEY_A)).unwrap_err();
        assert!(unknown.contains("is not known"), "{unknown}");
        assert!(unknown.contains("ssh-keyscan -p 2222 h"), "{unknown}");
    }

    #[test]
    fn io_errors_lose_the_os_error_suffix() {
        let e = std::io::Error::from_raw_os_error(111);
        assert_eq!(describe_io_error(&e), "Connection refused");
    }
}
