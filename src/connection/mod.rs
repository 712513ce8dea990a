//! Connections to hosts: the one interface modules and the executor use to reach a target.
//!
//! This module owns the [`Connection`] trait, the description of how to reach a host
//! ([`ConnectSpec`], built from inventory variables), and the connection errors. The transports
//! live beside it: [`ssh`] (russh; the only file in baton that knows russh) and [`local`]
//! (the controller itself, for `connection: local`). Nothing above this module sees a transport
//! type: modules get an `Arc<dyn Connection>` and run shell commands through it, so a target needs
//! nothing but sshd and a POSIX shell.

pub mod become_;
pub mod local;
pub mod ssh;

pub use become_::become_command;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

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

/// An open connection to one host. One per host is kept for the whole run and shared by all
/// of its tasks; implementations must allow several `exec` calls at once (channels).
pub trait Connection: Send + Sync {
    /// Runs `cmd` with the remote user's POSIX shell (`sh -c` semantics), feeding it `stdin`
    /// (then EOF) when given, and collects its output. `timeout` bounds this one command.
    fn exec<'a>(
        &'a self,
        cmd: &'a str,
        stdin: Option<&'a [u8]>,
        timeout: Option<Duration>,
    ) -> BoxFuture<'a, Result<ExecOutput, ConnError>>;

    /// Closes the connection politely. Further calls fail with `Unreachable`.
    fn close(&self) -> BoxFuture<'_, ()>;
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
#[derive(Debug, Clone)]
pub struct ConnectSpec {
    /// The inventory name, for messages.
    pub name: String,
    pub transport: Transport,
    /// Address to connect to (`ansible_host`, else the inventory name).
    pub address: String,
    pub port: u16,
    pub user: String,
    pub private_key_file: Option<PathBuf>,
    /// `ansible_password`; never logged.
    pub password: Option<String>,
    pub connect_timeout: Duration,
    /// `ansible_host_key_checking` / `host_key_checking`: when false, any host key is accepted.
    pub host_key_checking: bool,
    /// The known_hosts file checked when `host_key_checking` is on; `None` means
    /// `~/.ssh/known_hosts`. Settable so a run (or a test) need not touch `$HOME`.
    pub known_hosts_file: Option<PathBuf>,
}

impl ConnectSpec {
    /// A spec with Ansible's defaults for a host reached by its own name.
    pub fn new(name: &str) -> Self {
        ConnectSpec {
            name: name.to_string(),
            transport: Transport::Ssh,
            address: name.to_string(),
            port: 22,
            user: std::env::var("USER").unwrap_or_else(|_| "root".to_string()),
            private_key_file: None,
            password: None,
            connect_timeout: Duration::from_secs(10),
            host_key_checking: true,
            known_hosts_file: None,
        }
    }
}

/// Opens a connection as the spec says.
pub async fn connect(spec: &ConnectSpec) -> Result<Arc<dyn Connection>, ConnError> {
    match spec.transport {
        Transport::Local => Ok(Arc::new(local::LocalConnection::new())),
        Transport::Ssh => Ok(Arc::new(ssh::SshConnection::connect(spec).await?)),
    }
}
