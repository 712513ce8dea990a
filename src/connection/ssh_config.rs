//! The OpenSSH client configuration (`~/.ssh/config`), and how it combines with what the
//! inventory says into the settings of one connection ([`resolve`]).
//!
//! Read as `ssh` reads it: keywords case-insensitive, `Keyword value` or `Keyword=value`,
//! quoted values, `Host` blocks with `*`/`?` patterns and `!` negation, `Match` with `all`,
//! `host`, `originalhost`, `user` and `localuser` (other criteria never match), `Include` with
//! globs (relative to `~/.ssh`). For each keyword the first value found wins, except
//! `IdentityFile` and `CertificateFile`, which accumulate. `%h %p %r %u %n %d %%` and `~` are
//! expanded where OpenSSH expands them.
//!
//! Precedence, highest first: what the inventory or command line set explicitly (user, port,
//! key, timeout), `-o` options of `ansible_ssh_common_args` / `ansible_ssh_extra_args`, the
//! config file, then OpenSSH's defaults. The keywords baton acts on: HostName, User, Port,
//! IdentityFile, IdentitiesOnly, IdentityAgent, CertificateFile, ProxyJump, ProxyCommand,
//! ConnectTimeout, UserKnownHostsFile, GlobalKnownHostsFile, StrictHostKeyChecking,
//! HashKnownHosts, HostKeyAlias, ServerAliveInterval, ServerAliveCountMax,
//! PasswordAuthentication, PubkeyAuthentication. Others are ignored.

use super::known_hosts::{Policy, wildcard_match};
use super::{ConnError, ConnectSpec};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracing::debug;

mod args;
pub use args::parse_ssh_args;

/// Keywords whose values accumulate instead of first-wins.
const MULTI: &[&str] = &["identityfile", "certificatefile"];

/// One `Host`/`Match` block (or the top of the file, which applies to every host).
#[derive(Debug, Clone)]
struct Block {
    condition: Condition,
    /// (keyword lower-cased, value), in file order.
    options: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
enum Condition {
    Always,
    Host(Vec<String>),
    Match(Vec<(String, Vec<String>)>),
}

/// A parsed configuration file, with its includes inlined.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    blocks: Vec<Block>,
}

impl SshConfig {
    /// Reads a file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<SshConfig, ConnError> {
        let mut config = SshConfig::default();
        config.read(path, 0)?;
        Ok(config)
    }

    /// Parses configuration text (for tests and `-F` of a string).
    pub fn parse(text: &str) -> SshConfig {
        let mut config = SshConfig::default();
        config.parse_into(text, Path::new("<text>"), 0);
        config
    }

    fn read(&mut self, path: &Path, depth: usize) -> Result<(), ConnError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(ConnError::Unreachable(format!(
                    "cannot read ssh config {}: {}",
                    path.display(),
                    super::ssh::describe_io_error(&e)
                )));
            }
        };
        self.parse_into(&text, path, depth);
        Ok(())
    }

    fn parse_into(&mut self, text: &str, path: &Path, depth: usize) {
        self.blocks.push(Block {
            condition: Condition::Always,
            options: Vec::new(),
        });
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keyword, rest) = split_keyword(line);
            let keyword = keyword.to_ascii_lowercase();
            let args = split_args(rest);
            match keyword.as_str() {
                "host" => self.blocks.push(Block {
                    condition: Condition::Host(args),
                    options: Vec::new(),
                }),
                "match" => {
                    let mut criteria = Vec::new();
                    let mut it = args.into_iter();
                    while let Some(c) = it.next() {
                        let c = c.to_ascii_lowercase();
                        let takes_arg = !matches!(c.as_str(), "all" | "canonical" | "final");
                        let arg = if takes_arg { it.next() } else { None };
                        criteria.push((
                            c,
                            arg.map(|a| a.split(',').map(str::to_string).collect())
                                .unwrap_or_default(),
                        ));
                    }
                    self.blocks.push(Block {
                        condition: Condition::Match(criteria),
                        options: Vec::new(),
                    });
                }
                "include" if depth < 16 => {
                    // Included files' blocks apply inside the current block's condition in
                    // OpenSSH; nearly every real config includes at top level, where that is
                    // the same as inlining them here.
                    let current = self.blocks.last().map(|b| b.condition.clone());
                    for pattern in args {
                        for file in glob(&expand_tilde(&pattern)) {
                            self.read(&file, depth + 1).ok();
                        }
                    }
                    if let Some(condition) = current {
                        self.blocks.push(Block {
                            condition,
                            options: Vec::new(),
                        });
                    }
                }
                _ => {
                    if args.is_empty() {
                        debug!("{}:{}: {keyword} without a value", path.display(), n + 1);
                        continue;
                    }
                    let value = args.join(" ");
                    if let Some(block) = self.blocks.last_mut() {
                        block.options.push((keyword, value));
                    }
                }
            }
        }
    }

    /// The options that apply to `host` (as typed: the inventory's address), in order.
    fn options_for(&self, host: &str, user: Option<&str>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for block in &self.blocks {
            let applies = match &block.condition {
                Condition::Always => true,
                Condition::Host(patterns) => pattern_list_match(patterns, host),
                Condition::Match(criteria) => criteria.iter().all(|(c, args)| match c.as_str() {
                    "all" => true,
                    "host" | "originalhost" => pattern_list_match(args, host),
                    "user" => user.is_some_and(|u| pattern_list_match(args, u)),
                    "localuser" => pattern_list_match(args, &local_user()),
                    other => {
                        debug!("ssh config: Match {other} is not supported; not matching");
                        false
                    }
                }),
            };
            if applies {
                out.extend(block.options.iter().cloned());
            }
        }
        out
    }
}

/// `Keyword value` or `Keyword=value` (with optional spaces around `=`).
fn split_keyword(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    (keyword, rest)
}

/// Splits arguments on whitespace, honouring double quotes.
fn split_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    args.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(cur);
    }
    args
}

/// OpenSSH's `match_pattern_list`: a negated match wins; otherwise any positive match.
fn pattern_list_match(patterns: &[String], text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let mut matched = false;
    for p in patterns.iter().flat_map(|p| p.split(',')) {
        let p = p.to_ascii_lowercase();
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard_match(neg, &text) {
                return false;
            }
        } else if wildcard_match(&p, &text) {
            matched = true;
        }
    }
    matched
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

fn local_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "root".to_string())
}

fn expand_tilde(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), home()) {
        (Some(rest), Some(h)) => h.join(rest),
        _ if p == "~" => home().unwrap_or_else(|| PathBuf::from(p)),
        _ => {
            let path = PathBuf::from(p);
            if path.is_relative() {
                // Include paths without a directory are relative to ~/.ssh.
                home().map_or(path.clone(), |h| h.join(".ssh").join(&path))
            } else {
                path
            }
        }
    }
}

/// Files matching a path whose last component may contain `*`/`?`.
fn glob(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !name.contains(['*', '?']) {
        return vec![path.to_path_buf()];
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| wildcard_match(name, n))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// One jump host of a `ProxyJump` chain, as written (`[user@]host[:port]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

fn parse_jumps(value: &str) -> Result<Vec<Jump>, String> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|hop| {
            let hop = hop.trim();
            let hop = hop.strip_prefix("ssh://").unwrap_or(hop);
            let (user, rest) = match hop.rsplit_once('@') {
                Some((u, r)) => (Some(u.to_string()), r),
                None => (None, hop),
            };
            let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
                let (h, after) = inner
                    .split_once(']')
                    .ok_or_else(|| format!("bad ProxyJump host {hop:?}"))?;
                (h.to_string(), after.strip_prefix(':'))
            } else {
                match rest.rsplit_once(':') {
                    Some((h, p)) => (h.to_string(), Some(p)),
                    None => (rest.to_string(), None),
                }
            };
            let port = port
                .map(|p| {
                    p.parse::<u16>()
                        .map_err(|_| format!("bad port in ProxyJump host {hop:?}"))
                })
                .transpose()?;
            if host.is_empty() {
                return Err(format!("bad ProxyJump host {hop:?}"));
            }
            Ok(Jump { user, host, port })
        })
        .collect()
}

/// Everything the ssh transport needs to reach one host, after combining the inventory's
/// settings with the ssh configuration.
#[derive(Debug, Clone)]
pub struct Target {
    /// The name the host was asked for by (the inventory's address), before `HostName`.
    pub alias: String,
    /// What to connect to.
    pub hostname: String,
    pub port: u16,
    pub user: String,
    /// Key files to offer, in order (explicit first); defaults are added only when none.
    pub identity_files: Vec<PathBuf>,
    /// Whether `identity_files` came from the user (else they are the ~/.ssh/id_* defaults).
    pub identities_explicit: bool,
    pub certificate_files: Vec<PathBuf>,
    /// `IdentitiesOnly yes`: offer only agent keys that match an identity file.
    pub identities_only: bool,
    /// The agent socket; `None` for no agent (`IdentityAgent none`, no `SSH_AUTH_SOCK`).
    pub agent: Option<PathBuf>,
    pub jumps: Vec<Jump>,
    pub proxy_command: Option<String>,
    pub connect_timeout: Duration,
    pub user_known_hosts: Vec<PathBuf>,
    pub global_known_hosts: Vec<PathBuf>,
    pub policy: Policy,
    pub hash_known_hosts: bool,
    /// The name under which the host key is looked up (`HostKeyAlias`, else `hostname`).
    pub host_key_name: String,
    pub keepalive_interval: Option<Duration>,
    pub keepalive_max: Option<usize>,
    pub password_authentication: bool,
    pub pubkey_authentication: bool,
}

/// Reads the configuration file the spec names (or ~/.ssh/config).
pub fn load_for(spec: &ConnectSpec) -> Result<SshConfig, ConnError> {
    let file = spec
        .ssh_options
        .iter()
        .find(|(k, _)| k == "-f")
        .map(|(_, v)| expand_tilde(v))
        .or_else(|| spec.ssh_config_file.clone())
        .or_else(|| home().map(|h| h.join(".ssh").join("config")));
    match file {
        Some(f) => SshConfig::load(&f),
        None => Ok(SshConfig::default()),
    }
}

/// Combines a spec with the ssh configuration into the [`Target`] to connect to.
pub fn resolve(spec: &ConnectSpec, config: &SshConfig) -> Result<Target, ConnError> {
    let alias = spec.address.clone();
    let explicit_user = spec.explicit_user.then(|| spec.user.clone());
    // -o options first: they win over the file, as on ssh's command line.
    let mut options: Vec<(String, String)> = spec
        .ssh_options
        .iter()
        .filter(|(k, _)| k != "-f")
        .cloned()
        .collect();
    let pre_user = explicit_user.clone().or_else(|| {
        options
            .iter()
            .find(|(k, _)| k == "user")
            .map(|(_, v)| v.clone())
    });
    options.extend(config.options_for(&alias, pre_user.as_deref()));
    let get = |key: &str| {
        options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let all = |key: &str| {
        debug_assert!(MULTI.contains(&key));
        options
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    let bad = |what: &str, v: &str| {
        ConnError::Unreachable(format!("bad ssh option for {}: {what} {v:?}", spec.name))
    };
    let yes = |key: &str, default: bool| match get(key).map(|v| v.to_ascii_lowercase()) {
        Some(v) if v == "yes" || v == "true" => true,
        Some(v) if v == "no" || v == "false" => false,
        _ => default,
    };

    let port = if spec.explicit_port {
        spec.port
    } else {
        match get("port") {
            Some(p) => p.parse().map_err(|_| bad("Port", p))?,
            None => spec.port,
        }
    };
    let user = match explicit_user {
        Some(u) => u,
        None => get("user").map_or_else(|| spec.user.clone(), str::to_string),
    };
    let hostname = get("hostname").map_or_else(|| alias.clone(), |h| h.replace("%h", &alias));
    let tokens = |s: &str| expand_tokens(s, &hostname, port, &user, &alias);

    let mut identity_files: Vec<PathBuf> = Vec::new();
    if let Some(k) = &spec.private_key_file {
        identity_files.push(k.clone());
    }
    for f in all("identityfile") {
        if !f.eq_ignore_ascii_case("none") {
            let p = expand_tilde(&tokens(f));
            if !identity_files.contains(&p) {
                identity_files.push(p);
            }
        }
    }
    let identities_explicit = !identity_files.is_empty();
    if !identities_explicit && let Some(ssh) = home().map(|h| h.join(".ssh")) {
        for name in ["id_rsa", "id_ecdsa", "id_ed25519"] {
            identity_files.push(ssh.join(name));
        }
    }
    let certificate_files = all("certificatefile")
        .into_iter()
        .map(|f| expand_tilde(&tokens(f)))
        .collect();
    let agent = match get("identityagent") {
        Some(v) if v.eq_ignore_ascii_case("none") => None,
        Some("SSH_AUTH_SOCK") => std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from),
        Some(v) if v.starts_with('$') => std::env::var_os(&v[1..]).map(PathBuf::from),
        Some(v) => Some(expand_tilde(&tokens(v))),
        None => std::env::var_os("SSH_AUTH_SOCK")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
    };
    let jumps = match get("proxyjump") {
        Some(v) => {
            parse_jumps(v).map_err(|e| ConnError::Unreachable(format!("{}: {e}", spec.name)))?
        }
        None => Vec::new(),
    };
    let proxy_command = get("proxycommand")
        .filter(|v| !v.eq_ignore_ascii_case("none"))
        .map(tokens);
    let connect_timeout = if spec.explicit_timeout {
        spec.connect_timeout
    } else {
        match get("connecttimeout") {
            Some(t) => Duration::from_secs(t.parse().map_err(|_| bad("ConnectTimeout", t))?),
            None => spec.connect_timeout,
        }
    };
    let files = |key: &str, default: &[&str]| -> Vec<PathBuf> {
        match get(key) {
            Some(v) if v.eq_ignore_ascii_case("none") => Vec::new(),
            Some(v) => split_args(v)
                .iter()
                .map(|f| expand_tilde(&tokens(f)))
                .collect(),
            None => default.iter().map(|f| expand_tilde(f)).collect(),
        }
    };
    let user_known_hosts = match &spec.known_hosts_file {
        Some(f) => vec![f.clone()],
        None => files(
            "userknownhostsfile",
            &["~/.ssh/known_hosts", "~/.ssh/known_hosts2"],
        ),
    };
    let global_known_hosts = files(
        "globalknownhostsfile",
        &["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"],
    );
    let policy = if !spec.host_key_checking {
        Policy::No
    } else {
        match get("stricthostkeychecking") {
            Some(v) => Policy::parse(v).ok_or_else(|| bad("StrictHostKeyChecking", v))?,
            None => Policy::Yes,
        }
    };
    let host_key_name = get("hostkeyalias").map_or_else(|| hostname.clone(), str::to_string);
    let keepalive_interval = get("serveraliveinterval")
        .map(|v| v.parse::<u64>().map_err(|_| bad("ServerAliveInterval", v)))
        .transpose()?
        .map(|s| (s > 0).then(|| Duration::from_secs(s)));
    let keepalive_max = get("serveralivecountmax")
        .map(|v| v.parse().map_err(|_| bad("ServerAliveCountMax", v)))
        .transpose()?;
    Ok(Target {
        alias,
        port,
        user,
        identity_files,
        identities_explicit,
        certificate_files,
        identities_only: yes("identitiesonly", false),
        agent,
        jumps,
        proxy_command,
        connect_timeout,
        user_known_hosts,
        global_known_hosts,
        policy,
        hash_known_hosts: yes("hashknownhosts", false),
        host_key_name,
        keepalive_interval: keepalive_interval.flatten(),
        keepalive_max,
        password_authentication: yes("passwordauthentication", true),
        pubkey_authentication: yes("pubkeyauthentication", true),
        hostname,
    })
}

/// The settings of a jump host: its own config block, with the jump's `user@` and `:port`
/// winning; no inventory settings apply to it.
pub fn resolve_jump(
    jump: &Jump,
    spec: &ConnectSpec,
    config: &SshConfig,
) -> Result<Target, ConnError> {
    let mut hop = ConnectSpec::new(&jump.host);
    hop.address = jump.host.clone();
    if let Some(u) = &jump.user {
        hop.user = u.clone();
        hop.explicit_user = true;
    }
    if let Some(p) = jump.port {
        hop.port = p;
        hop.explicit_port = true;
    }
    hop.connect_timeout = spec.connect_timeout;
    hop.explicit_timeout = spec.explicit_timeout;
    hop.host_key_checking = spec.host_key_checking;
    hop.known_hosts_file = spec.known_hosts_file.clone();
    // Host key policy options of the command line apply to every hop, as with `ssh -J`.
    hop.ssh_options = spec
        .ssh_options
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "stricthostkeychecking" | "userknownhostsfile" | "globalknownhostsfile"
            )
        })
        .cloned()
        .collect();
    let mut target = resolve(&hop, config)?;
    // A jump host's own ProxyJump would recurse; OpenSSH chains through -J instead.
    target.jumps.clear();
    target.proxy_command = None;
    Ok(target)
}

/// `%h %p %r %u %n %d %%`.
fn expand_tokens(s: &str, host: &str, port: u16, user: &str, alias: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(host),
            Some('p') => out.push_str(&port.to_string()),
            Some('r') => out.push_str(user),
            Some('u') => out.push_str(&local_user()),
            Some('n') => out.push_str(alias),
            Some('d') => out.push_str(&home().unwrap_or_default().display().to_string()),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
# top-level applies to all
ServerAliveInterval 30

Host web-* !web-bad
    HostName %h.internal
    User deploy
    Port 2222
    IdentityFile ~/.ssh/web_key
    ProxyJump admin@bastion:2200,[10.0.0.9]:22

Host bastion
    HostName 127.0.0.1
    IdentityFile /keys/bastion

Host *
    User fallback
    IdentityFile /keys/default
    StrictHostKeyChecking accept-new
    ConnectTimeout=7
    UserKnownHostsFile "/kh/one" /kh/two
"#;

    fn spec(address: &str) -> ConnectSpec {
        let mut s = ConnectSpec::new(address);
        s.user = "me".into();
        s
    }

    #[test]
    fn host_blocks_fill_what_the_inventory_did_not_set() {
        let config = SshConfig::parse(CONFIG);
        let t = resolve(&spec("web-1"), &config).unwrap();
        assert_eq!(t.hostname, "web-1.internal");
        assert_eq!(t.user, "deploy");
        assert_eq!(t.port, 2222);
        assert!(t.identity_files[0].ends_with(".ssh/web_key"), "{t:?}");
        assert_eq!(t.identity_files[1], PathBuf::from("/keys/default"));
        assert_eq!(
            t.jumps,
            vec![
                Jump {
                    user: Some("admin".into()),
                    host: "bastion".into(),
                    port: Some(2200)
                },
                Jump {
                    user: None,
                    host: "10.0.0.9".into(),
                    port: Some(22)
                }
            ]
        );
        assert_eq!(t.policy, Policy::AcceptNew);
        assert_eq!(t.connect_timeout, Duration::from_secs(7));
        assert_eq!(
            t.user_known_hosts,
            vec![PathBuf::from("/kh/one"), PathBuf::from("/kh/two")]
        );
        assert_eq!(t.keepalive_interval, Some(Duration::from_secs(30)));

        // Negated pattern: web-bad gets only the catch-all block.
        let t = resolve(&spec("web-bad"), &config).unwrap();
        assert_eq!(
            (t.hostname.as_str(), t.user.as_str()),
            ("web-bad", "fallback")
        );
        assert!(t.jumps.is_empty());
    }

    #[test]
    fn inventory_settings_and_ssh_args_win_over_the_file() {
        let config = SshConfig::parse(CONFIG);
        let mut s = spec("web-1");
        s.user = "ops".into();
        s.explicit_user = true;
        s.port = 22;
        s.explicit_port = true;
        s.private_key_file = Some("/inv/key".into());
        s.ssh_options =
            parse_ssh_args("-o StrictHostKeyChecking=no -o 'ProxyJump none' -oConnectTimeout=3");
        let t = resolve(&s, &config).unwrap();
        assert_eq!((t.user.as_str(), t.port), ("ops", 22));
        assert_eq!(t.identity_files[0], PathBuf::from("/inv/key"));
        assert_eq!(t.policy, Policy::No);
        assert!(t.jumps.is_empty());
        assert_eq!(t.connect_timeout, Duration::from_secs(3));
        // host_key_checking=false beats everything.
        s.ssh_options.clear();
        s.host_key_checking = false;
        assert_eq!(resolve(&s, &config).unwrap().policy, Policy::No);
    }

    #[test]
    fn jump_hosts_get_their_own_block() {
        let config = SshConfig::parse(CONFIG);
        let t = resolve(&spec("web-1"), &config).unwrap();
        let j = resolve_jump(&t.jumps[0], &spec("web-1"), &config).unwrap();
        assert_eq!(
            (j.hostname.as_str(), j.port, j.user.as_str()),
            ("127.0.0.1", 2200, "admin")
        );
        assert_eq!(j.identity_files[0], PathBuf::from("/keys/bastion"));
        assert!(j.jumps.is_empty());
    }

    #[test]
    fn ssh_args_are_read_like_a_shell_would() {
        assert_eq!(
            parse_ssh_args(
                r#"-o ProxyCommand="ssh -W %h:%p -q bastion" -J jump:2222 -i "/k/a b" -p2200 -lroot -F /cfg -C -v"#
            ),
            vec![
                (
                    "proxycommand".to_string(),
                    "ssh -W %h:%p -q bastion".to_string()
                ),
                ("proxyjump".to_string(), "jump:2222".to_string()),
                ("identityfile".to_string(), "/k/a b".to_string()),
                ("port".to_string(), "2200".to_string()),
                ("user".to_string(), "root".to_string()),
                ("-f".to_string(), "/cfg".to_string()),
            ]
        );
    }

    #[test]
    fn match_blocks_and_tokens() {
        let config = SshConfig::parse(
            "Match host db* user admin\n  Port 5022\nMatch all\n  HostName %h.example\n  ProxyCommand nc %h %p\n",
        );
        let mut s = spec("db1");
        s.user = "admin".into();
        s.explicit_user = true;
        let t = resolve(&s, &config).unwrap();
        assert_eq!(t.port, 5022);
        assert_eq!(t.proxy_command.as_deref(), Some("nc db1.example 5022"));
        s.user = "other".into();
        assert_eq!(resolve(&s, &config).unwrap().port, 22);
    }
}
