//! Opening a connection: TCP (or a `ProxyCommand`, or a `ProxyJump` chain of authenticated
//! jump hosts), the SSH session on it, and how far it got when it times out.

use super::*;

/// How far connecting got, for the timeout message.
pub(super) struct Progress {
    pub(super) host: String,
    pub(super) port: u16,
    /// The jump host the current hop is reached through.
    pub(super) via: Option<String>,
    pub(super) phase: &'static str,
}

impl Progress {
    pub(super) fn new(target: &Target) -> Progress {
        Progress {
            host: target.hostname.clone(),
            port: target.port,
            via: None,
            phase: "while resolving the address",
        }
    }

    pub(super) fn via(&self) -> String {
        self.via
            .as_ref()
            .map_or_else(String::new, |v| format!(" (through jump host {v})"))
    }
}

/// Byte streams an SSH session can run over: TCP, a channel of a jump host, a proxy command.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// An established connection and what keeps it alive.
pub(super) struct Chain {
    pub(super) handle: Handle<Client>,
    pub(super) shared: Arc<Shared>,
    pub(super) jumps: Vec<Handle<Client>>,
    pub(super) proxy: Option<tokio::process::Child>,
}

/// Connects through the jump hosts (each one authenticated, its host key checked) or the
/// proxy command, then to the target.
pub(super) async fn establish(
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
pub(super) async fn tcp(target: &Target, progress: &mut Progress) -> Result<TcpStream, ConnError> {
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
pub(super) fn spawn_proxy_command(
    cmd: &str,
) -> Result<(Box<dyn Io>, tokio::process::Child), ConnError> {
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
pub(super) async fn session(
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
