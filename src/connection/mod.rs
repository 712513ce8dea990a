//! Connections to hosts: the one interface modules and the executor use to reach a target.
//!
//! This module owns the [`Connection`] trait, the description of how to reach a host
//! ([`ConnectSpec`], built from inventory variables), and the connection errors. The transports
//! live beside it: [`ssh`] (russh; the only file in baton that knows russh) and [`local`]
//! (the controller itself, for `connection: local`). Nothing above this module sees a transport
//! type: modules get an `Arc<dyn Connection>` and run shell commands through it, so a target needs
//! nothing but sshd and a POSIX shell.
//!
//! A command is described by an [`ExecRequest`]: the shell text, where its standard input comes
//! from ([`Stdin`]: nothing, bytes, or a reader streamed in window-sized chunks so a 1 GB file
//! never sits in memory), a time limit, the user to become (if any) and optionally an
//! [`Escalation`] (sudo's password dialogue, see [`become_`]) that the transport carries out
//! before the command's input flows. The shell text never appears on a command line on the
//! host: every transport sends it on the standard input of a constant command ([`launch`]).

pub mod become_;
pub mod known_hosts;
pub mod launch;
pub mod local;
pub mod ssh;
mod ssh_auth;
pub mod ssh_config;
pub mod tty;

pub use become_::{Become, Escalation};

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncRead;

/// Starts the first stderr line of a command with a time limit: its process group id.
pub(crate) const PGID_MARKER: &str = "BATON-PGID:";

/// A boxed, sendable future: what the object-safe async methods of [`Connection`] return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    /// The exit status; `None` when the remote side closed the channel without one
    /// (for instance when the command was killed by a signal).
    pub rc: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a connection could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnError {
    /// The host could not be reached or the session broke: Ansible's UNREACHABLE.
    /// The text is one line saying why (refused, timed out, name not resolved, auth failed...).
    Unreachable(String),
    /// The command ran longer than the time it was given; the connection itself is still usable.
    Timeout(Duration),
    /// Anything else that went wrong on the controller side while talking to a live host.
    Failed(String),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Unreachable(why) => write!(f, "{why}"),
            ConnError::Timeout(d) => write!(f, "command timed out after {}s", d.as_secs_f64()),
            ConnError::Failed(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for ConnError {}

/// Where a command's standard input comes from. After it, the command always reads EOF.
pub enum Stdin<'a> {
    /// Nothing: the command reads EOF at once.
    Null,
    /// Small input held in memory.
    Bytes(&'a [u8]),
    /// Input streamed from a reader (a controller file, say) in chunks as the transport can send
    /// them, so memory use does not grow with its size. `'static` because the ssh transport
    /// drives each channel from its own task.
    Reader(Box<dyn AsyncRead + Send + Unpin + 'static>),
}

impl std::fmt::Debug for Stdin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stdin::Null => f.write_str("Stdin::Null"),
            Stdin::Bytes(b) => write!(f, "Stdin::Bytes({} bytes)", b.len()),
            Stdin::Reader(_) => f.write_str("Stdin::Reader"),
        }
    }
}

/// One command to run on a host.
#[derive(Debug)]
pub struct ExecRequest<'a> {
    /// Shell text with `sh -c` semantics, run by `/bin/sh` (see `login_shell`). It may hold
    /// secrets and checksums of them: transports send it on the standard input of a constant
    /// command, never as an argument (see [`launch`]).
    pub cmd: &'a str,
    pub stdin: Stdin<'a>,
    /// Run it as this user (sudo or su start the shell that reads `cmd`).
    pub become_: Option<Become>,
    /// Bounds this one command. When it expires the command is stopped on the host (its process
    /// group is killed) and [`ConnError::Timeout`] is returned; the connection stays usable.
    pub timeout: Option<Duration>,
    /// A privilege escalation dialogue (for `become_`) to carry out before `stdin` is sent
    /// (see [`become_::Escalation`]); `None` when the command needs no password.
    pub escalation: Option<Escalation>,
    /// The text is for the login user's own shell (`raw`, as Ansible's raw sends its text
    /// through the SSH connection without `/bin/sh -c`): the ssh transport hands it to
    /// `$SHELL` (as a script file, see [`launch::login_shell_script`]). Ignored with
    /// `become_` (the text then runs in `/bin/sh` as the target user, as Ansible's raw does).
    pub login_shell: bool,
}

impl<'a> ExecRequest<'a> {
    /// A request for `cmd` with no input, no time limit and no escalation.
    pub fn new(cmd: &'a str) -> Self {
        ExecRequest {
            cmd,
            stdin: Stdin::Null,
            become_: None,
            timeout: None,
            escalation: None,
            login_shell: false,
        }
    }
}

/// An open connection to one host. One per host is kept for the whole run and shared by all
/// of its tasks; implementations must allow several commands at once (channels).
pub trait Connection: Send + Sync {
    /// Runs one command and collects its output (see [`ExecRequest`]).
    fn run<'a>(&'a self, req: ExecRequest<'a>) -> BoxFuture<'a, Result<ExecOutput, ConnError>>;

    /// Runs `cmd` with the remote user's POSIX shell (`sh -c` semantics), feeding it `stdin`
    /// (then EOF) when given, and collects its output. `timeout` bounds this one command.
    fn exec<'a>(
        &'a self,
        cmd: &'a str,
        stdin: Option<&'a [u8]>,
        timeout: Option<Duration>,
    ) -> BoxFuture<'a, Result<ExecOutput, ConnError>> {
        self.run(ExecRequest {
            cmd,
            stdin: stdin.map_or(Stdin::Null, Stdin::Bytes),
            timeout,
            ..ExecRequest::new(cmd)
        })
    }

    /// The become password for this host (`ansible_become_password`, `-K`), if one was given.
    /// Kept by the connection because it belongs to the host, like the login password; only
    /// [`ModuleCtx::exec`](crate::modules::ModuleCtx::exec) reads it, to answer sudo.
    fn become_password(&self) -> Option<&str> {
        None
    }

    /// Starts `req.cmd` as a long-lived process on the host (as `req.become_`, when set) and
    /// hands back its standard input and output ([`Process`]). The script travels as for
    /// [`Connection::run`] (framed on the standard input, see [`launch::process`]); after it,
    /// whatever the caller sends is the script's standard input. `req.stdin`, `req.timeout` and
    /// `req.login_shell` are not used; a request with an escalation (a become password) is
    /// refused. Transports that cannot keep a process refuse every request: callers then run
    /// their commands one by one.
    fn spawn<'a>(&'a self, req: ExecRequest<'a>) -> BoxFuture<'a, Result<Process, ConnError>> {
        let _ = req;
        Box::pin(async {
            Err(ConnError::Failed(
                "this connection cannot keep a process running".into(),
            ))
        })
    }

    /// Closes the connection politely. Further calls fail with `Unreachable`.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// A long-lived process on a host, started by [`Connection::spawn`]: what is sent on `input`
/// goes to its standard input (dropping `input` closes it), and its standard output comes back
/// on `output` in chunks as it arrives (`None` once it has ended). Its standard error is not
/// kept: a process that has something to say says it on its output.
pub struct Process {
    pub input: tokio::sync::mpsc::Sender<Vec<u8>>,
    pub output: tokio::sync::mpsc::Receiver<Vec<u8>>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Process")
    }
}

/// A refusal of [`Connection::spawn`] for a request it cannot start as a long-lived process.
pub(crate) fn spawn_refused(req: &ExecRequest<'_>) -> Option<ConnError> {
    req.escalation.as_ref().map(|_| {
        ConnError::Failed(
            "a process that needs a become password is not kept running: its commands run one by one"
                .into(),
        )
    })
}

/// Which transport a host uses (`ansible_connection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    #[default]
    Ssh,
    Local,
}

/// Everything needed to open a connection to one host, resolved from inventory variables
/// (`ansible_host`, `ansible_port`, `ansible_user`, ...) and command-line options.
///
/// For ssh, `~/.ssh/config` is consulted when the connection is opened
/// ([`ssh_config::resolve`]): it supplies what the inventory did not set (`HostName`, `User`
/// and `Port` when not explicit, `IdentityFile`, `ProxyJump`, ...), as `ssh` would when
/// Ansible runs it with only the options it knows.
#[derive(Clone)]
pub struct ConnectSpec {
    /// The inventory name, for messages.
    pub name: String,
    pub transport: Transport,
    /// Address to connect to (`ansible_host`, else the inventory name). Also the name matched
    /// against `Host` patterns of ~/.ssh/config, whose `HostName` may replace it.
    pub address: String,
    pub port: u16,
    /// Whether `port` was set by the inventory or command line (else ~/.ssh/config may).
    pub explicit_port: bool,
    pub user: String,
    /// Whether `user` was set by the inventory, play or command line (else ~/.ssh/config may).
    pub explicit_user: bool,
    pub private_key_file: Option<PathBuf>,
    /// The passphrase of encrypted private keys, when given (`--key-passphrase-file`,
    /// `ansible_ssh_private_key_passphrase`); never logged.
    pub key_passphrase: Option<String>,
    /// Whether baton may ask on the terminal (passphrase of an encrypted key).
    pub interactive: bool,
    /// `ansible_password`; never logged.
    pub password: Option<String>,
    /// `ansible_become_password` / `-K`; never logged. Handed to the connection so that
    /// `become` can answer sudo's prompt.
    pub become_password: Option<String>,
    pub connect_timeout: Duration,
    /// Whether `connect_timeout` was set (`--timeout`, `ansible_ssh_timeout`); else
    /// `ConnectTimeout` of ~/.ssh/config may.
    pub explicit_timeout: bool,
    /// `ansible_host_key_checking` / `host_key_checking`: when false, any host key is accepted.
    pub host_key_checking: bool,
    /// The known_hosts file checked when `host_key_checking` is on; `None` means what
    /// ~/.ssh/config says (`UserKnownHostsFile`), by default `~/.ssh/known_hosts`. Settable so
    /// a run (or a test) need not touch `$HOME`.
    pub known_hosts_file: Option<PathBuf>,
    /// `-o Key=Value` options (and `-J`, `-i`, `-p`, `-l`, `-F`) from `ansible_ssh_common_args`
    /// / `ansible_ssh_extra_args`, keys lower-cased; they win over ~/.ssh/config, as on ssh's
    /// command line.
    pub ssh_options: Vec<(String, String)>,
    /// The ssh client configuration file; `None` means `~/.ssh/config` (when it exists).
    pub ssh_config_file: Option<PathBuf>,
}

impl std::fmt::Debug for ConnectSpec {
    /// Secrets show as `<set>`: specs end up in `-vvvv` logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |s: &Option<String>| if s.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("ConnectSpec")
            .field("name", &self.name)
            .field("transport", &self.transport)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("private_key_file", &self.private_key_file)
            .field("key_passphrase", &secret(&self.key_passphrase))
            .field("password", &secret(&self.password))
            .field("become_password", &secret(&self.become_password))
            .field("connect_timeout", &self.connect_timeout)
            .field("host_key_checking", &self.host_key_checking)
            .field("known_hosts_file", &self.known_hosts_file)
            .field("ssh_options", &self.ssh_options)
            .field("ssh_config_file", &self.ssh_config_file)
            .finish()
    }
}

impl ConnectSpec {
    /// A spec with Ansible's defaults for a host reached by its own name.
    pub fn new(name: &str) -> Self {
        ConnectSpec {
            name: name.to_string(),
            transport: Transport::Ssh,
            address: name.to_string(),
            port: 22,
            explicit_port: false,
            user: std::env::var("USER").unwrap_or_else(|_| "root".to_string()),
            explicit_user: false,
            private_key_file: None,
            key_passphrase: None,
            interactive: false,
            password: None,
            become_password: None,
            connect_timeout: Duration::from_secs(10),
            explicit_timeout: false,
            host_key_checking: true,
            known_hosts_file: None,
            ssh_options: Vec::new(),
            ssh_config_file: None,
        }
    }
}

/// A password or passphrase: shows as `<hidden>` in any `Debug` output (options end up in
/// `-vvvv` logs).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hidden>")
    }
}

/// Connection settings given on the command line (`-k`, `-K`, `--ssh-common-args`, ...),
/// which inventory variables override host by host.
#[derive(Debug, Clone, Default)]
pub struct ConnDefaults {
    /// `-k` / `--ask-pass`: the login password.
    pub password: Option<Secret>,
    /// `-K` / `--ask-become-pass`: the become password.
    pub become_password: Option<Secret>,
    /// `--ssh-common-args`.
    pub ssh_common_args: Option<String>,
    /// `--ssh-extra-args`.
    pub ssh_extra_args: Option<String>,
    /// `--key-passphrase-file`: the passphrase of encrypted private keys.
    pub key_passphrase: Option<Secret>,
    /// Whether baton may ask on the terminal (a key's passphrase).
    pub interactive: bool,
    /// Whether the connect timeout was given (`--timeout`, ansible.cfg) rather than defaulted,
    /// so that `ConnectTimeout` of ~/.ssh/config does not override it.
    pub explicit_timeout: bool,
}

/// Fills the secrets and ssh options of `spec` from a host's variables (`var` gives a
/// variable's text when it is set), falling back to the command line's `defaults`:
/// `ansible_password` (`ansible_ssh_pass`), `ansible_become_password` (`ansible_become_pass`,
/// `ansible_sudo_pass`), `ansible_ssh_private_key_passphrase`, `ansible_ssh_common_args` and
/// `ansible_ssh_extra_args` (their `-o` options, `-J`, `-i`, `-p`, `-l`, `-F`).
pub fn apply_vars(
    spec: &mut ConnectSpec,
    var: &dyn Fn(&str) -> Option<String>,
    defaults: &ConnDefaults,
) {
    let first = |names: &[&str]| names.iter().find_map(|n| var(n));
    spec.password = first(&[
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_ssh_password",
    ])
    .or_else(|| defaults.password.as_ref().map(|s| s.expose().to_string()));
    spec.become_password = first(&[
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_pass",
        "ansible_sudo_password",
    ])
    .or_else(|| {
        defaults
            .become_password
            .as_ref()
            .map(|s| s.expose().to_string())
    });
    spec.key_passphrase = first(&[
        "ansible_ssh_private_key_passphrase",
        "ansible_private_key_passphrase",
    ])
    .or_else(|| {
        defaults
            .key_passphrase
            .as_ref()
            .map(|s| s.expose().to_string())
    });
    spec.interactive = defaults.interactive;
    if !spec.explicit_timeout {
        spec.explicit_timeout = defaults.explicit_timeout;
    }
    let common = var("ansible_ssh_common_args").or_else(|| defaults.ssh_common_args.clone());
    let extra = var("ansible_ssh_extra_args").or_else(|| defaults.ssh_extra_args.clone());
    spec.ssh_options = [common, extra]
        .into_iter()
        .flatten()
        .flat_map(|args| ssh_config::parse_ssh_args(&args))
        .collect();
}

/// Opens a connection as the spec says.
pub async fn connect(spec: &ConnectSpec) -> Result<Arc<dyn Connection>, ConnError> {
    match spec.transport {
        Transport::Local => Ok(Arc::new(local::LocalConnection::with_become_password(
            spec.become_password.clone(),
        ))),
        Transport::Ssh => Ok(Arc::new(ssh::SshConnection::connect(spec).await?)),
    }
}
