//! known_hosts files: reading, matching and recording host keys, in OpenSSH's format and with
//! its policies (`StrictHostKeyChecking` yes / accept-new / no).
//!
//! What is understood: plain and hashed (`|1|salt|hash`) host names, `[host]:port` off port
//! 22, comma-separated patterns with `*`, `?` and `!` negation, `@revoked` keys (always
//! refused), comments and blank lines. `@cert-authority` lines are skipped: baton does not
//! ask for host certificates. Several files are read (`UserKnownHostsFile` may list more than
//! one, plus `GlobalKnownHostsFile`); new keys go to the first user file, as OpenSSH does.
//!
//! Every refusal is one line that names the file and line to look at, and what to do.

use super::ConnError;
use russh::keys::{self, HashAlg, PublicKey};
use sha1::{Digest, Sha1};
use std::io::Write;
use std::path::{Path, PathBuf};
use tracing::{debug, warn};

/// OpenSSH's `StrictHostKeyChecking`, and Ansible's `host_key_checking` (false is `No`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Only recorded keys are accepted (also OpenSSH's `ask`: baton never asks).
    #[default]
    Yes,
    /// Unknown hosts are accepted and recorded; a changed key is still refused.
    AcceptNew,
    /// Any key is accepted and nothing is recorded (Ansible's `host_key_checking = False`).
    No,
}

impl Policy {
    /// Reads an OpenSSH value (`yes`, `ask`, `accept-new`, `no`, `off`).
    pub fn parse(value: &str) -> Option<Policy> {
        match value.to_ascii_lowercase().as_str() {
            "yes" | "ask" | "true" => Some(Policy::Yes),
            "accept-new" => Some(Policy::AcceptNew),
            "no" | "off" | "false" => Some(Policy::No),
            _ => None,
        }
    }
}

/// What kind of line recorded a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Plain,
    Revoked,
}

/// One recorded key that applies to the host.
#[derive(Debug, Clone)]
struct Entry {
    file: PathBuf,
    line: usize,
    marker: Marker,
    key: PublicKey,
}

/// The recorded keys of one host, and what to do with a key it presents.
#[derive(Debug)]
pub struct KnownHosts {
    /// The host as known_hosts spells it: `host`, or `[host]:port` off port 22.
    label: String,
    /// The user files: new keys are written to the first.
    user_files: Vec<PathBuf>,
    entries: Vec<Entry>,
    policy: Policy,
    /// Write new entries hashed (`HashKnownHosts yes`).
    hash: bool,
    /// For the "how to add it" hint.
    address: String,
    port: u16,
}

impl KnownHosts {
    /// Loads the entries for `host` (the name, or `HostKeyAlias`) and `port` from `user_files`
    /// then `global_files`. Missing files have no entries.
    pub fn load(
        host: &str,
        port: u16,
        user_files: Vec<PathBuf>,
        global_files: &[PathBuf],
        policy: Policy,
        hash: bool,
    ) -> Result<KnownHosts, ConnError> {
        let label = label(host, port);
        let mut entries = Vec::new();
        if policy != Policy::No {
            for file in user_files.iter().chain(global_files) {
                entries.extend(read_entries(file, &label)?);
            }
        }
        debug!(
            "{} known_hosts entries for {label} ({policy:?})",
            entries.len()
        );
        Ok(KnownHosts {
            label,
            user_files,
            entries,
            policy,
            hash,
            address: host.to_string(),
            port,
        })
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Accepts or refuses the key the server presented, recording it when the policy says so.
    /// The error is one line naming the file (and line) to look at.
    pub fn check(&self, key: &PublicKey) -> Result<(), String> {
        let offered = format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256));
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.marker == Marker::Revoked && e.key.key_data() == key.key_data())
        {
            return Err(format!(
                "host key for {} ({offered}) is marked as revoked in {}:{}",
                self.label,
                e.file.display(),
                e.line
            ));
        }
        if self.policy == Policy::No {
            debug!("host key checking is off; accepting {offered}");
            return Ok(());
        }
        let plain = || self.entries.iter().filter(|e| e.marker == Marker::Plain);
        if let Some(e) = plain().find(|e| e.key.key_data() == key.key_data()) {
            debug!("host key {offered} matches {}:{}", e.file.display(), e.line);
            return Ok(());
        }
        if let Some(e) = plain().find(|e| e.key.algorithm() == key.algorithm()) {
            let file = e.file.display();
            return Err(format!(
                "host key for {} changed (it now offers {offered}); offending key in {file}:{}; \
                 possible man-in-the-middle attack: if the change is expected, remove that line \
                 (ssh-keygen -R '{}' -f {file})",
                self.label, e.line, self.label
            ));
        }
        let file = self
            .user_files
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("~/.ssh/known_hosts"));
        if self.policy == Policy::AcceptNew {
            return match self.record(&file, key) {
                Ok(()) => {
                    warn!(
                        "Permanently added '{}' ({}) to the list of known hosts ({}).",
                        self.label,
                        key.algorithm(),
                        file.display()
                    );
                    Ok(())
                }
                Err(e) => Err(format!(
                    "host key for {} is not known ({offered}) and could not be recorded in {}: {e}",
                    self.label,
                    file.display()
                )),
            };
        }
        let port = if self.port == 22 {
            String::new()
        } else {
            format!("-p {} ", self.port)
        };
        let file = file.display();
        Err(format!(
            "host key for {} is not known ({offered}): add it to {file} \
             (ssh-keyscan {port}{} >> {file}), or use StrictHostKeyChecking=accept-new \
             or host_key_checking=false",
            self.label, self.address
        ))
    }

    /// Appends the key to `file` (creating it 0600, and its directory 0700).
    fn record(&self, file: &Path, key: &PublicKey) -> std::io::Result<()> {
        let text = key
            .to_openssh()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        // to_openssh gives "type base64 [comment]": drop the comment.
        let mut parts = text.split_whitespace();
        let (kind, data) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let name = if self.hash {
            hash_name(&self.label)?
        } else {
            self.label.clone()
        };
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::create_dir_all(dir)?;
            set_mode(dir, 0o700);
        }
        let existed = file.exists();
        // A file that does not end with a newline must get one before our line.
        let needs_newline = existed
            && std::fs::read(file)
                .map(|t| !t.is_empty() && !t.ends_with(b"\n"))
                .unwrap_or(false);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)?;
        if !existed {
            set_mode(file, 0o600);
        }
        let nl = if needs_newline { "\n" } else { "" };
        f.write_all(format!("{nl}{name} {kind} {data}\n").as_bytes())
    }

    /// The host key algorithms recorded for this host (to ask the server for those first, as
    /// OpenSSH does: otherwise a host known by its RSA key would present ed25519 and look
    /// unknown).
    pub fn recorded_algorithms(&self) -> Vec<keys::Algorithm> {
        self.entries
            .iter()
            .filter(|e| e.marker == Marker::Plain)
            .map(|e| e.key.algorithm())
            .collect()
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// How known_hosts names a host: the bare name on port 22, else `[name]:port`.
pub fn label(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The entries of `file` that apply to `label`, with their line numbers.
fn read_entries(file: &Path, label: &str) -> Result<Vec<Entry>, ConnError> {
    let text = match std::fs::read(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ConnError::Unreachable(format!(
                "cannot read known_hosts file {}: {}",
                file.display(),
                super::ssh::describe_io_error(&e)
            )));
        }
    };
    let text = String::from_utf8_lossy(&text);
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next().unwrap_or("");
        let marker = match first {
            "@revoked" => {
                first = fields.next().unwrap_or("");
                Marker::Revoked
            }
            "@cert-authority" => continue,
            m if m.starts_with('@') => continue,
            _ => Marker::Plain,
        };
        let (Some(_kind), Some(data)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !hosts_match(first, label) {
            continue;
        }
        match keys::parse_public_key_base64(data) {
            Ok(key) => found.push(Entry {
                file: file.to_path_buf(),
                line: i + 1,
                marker,
                key,
            }),
            Err(e) => debug!("{}:{}: unreadable key: {e}", file.display(), i + 1),
        }
    }
    Ok(found)
}

/// Whether the host field of a line (`a,b,!c`, `|1|...`, wildcards) names `label`.
fn hosts_match(field: &str, label: &str) -> bool {
    if let Some(hashed) = field.strip_prefix("|1|") {
        return hashed_match(hashed, label);
    }
    let mut matched = false;
    for pattern in field.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if wildcard_match(&negated.to_ascii_lowercase(), &label.to_ascii_lowercase()) {
                return false;
            }
        } else if wildcard_match(&pattern.to_ascii_lowercase(), &label.to_ascii_lowercase()) {
            matched = true;
        }
    }
    matched
}

/// `*` and `?` globbing, as OpenSSH's `match_pattern` (no `[...]` classes: `[host]:port` is
/// literal text).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    use crate::text::fnmatch::{Pattern, Syntax};
    Pattern::with_syntax(pattern, Syntax::OpenSsh).is_match(text)
}

/// `salt|hash` (base64 both) against HMAC-SHA1(salt, label).
fn hashed_match(hashed: &str, label: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    match (base64_decode(salt), base64_decode(hash)) {
        (Some(salt), Some(hash)) => hmac_sha1(&salt, label.as_bytes()) == hash.as_slice(),
        _ => false,
    }
}

/// `|1|salt|hash` for a new entry, with a random salt.
fn hash_name(label: &str) -> std::io::Result<String> {
    let mut salt = [0u8; 20];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut salt)?;
    let hash = hmac_sha1(&salt, label.as_bytes());
    Ok(format!(
        "|1|{}|{}",
        base64_encode(&salt),
        base64_encode(&hash)
    ))
}

fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha1::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha1::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner);
    let mut out = [0u8; 20];
    out.copy_from_slice(&outer.finalize());
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = B64.iter().position(|b| *b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(B64[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAICBsX8MXE/x4dKVkqshuifE59RCCagqxqYXSyQE6nwWf";
    const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAID644VczHMgSRaRfhtncfPFbyTK9fGL33eh9L1zFTdJl";

    fn key(b64: &str) -> PublicKey {
        keys::parse_public_key_base64(b64).unwrap()
    }

    struct Tmp(PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tmp(tag: &str) -> Tmp {
        let dir = std::env::temp_dir().join(format!(
            "baton-kh-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Tmp(dir)
    }

    fn load(file: &Path, host: &str, port: u16, policy: Policy) -> KnownHosts {
        KnownHosts::load(host, port, vec![file.to_path_buf()], &[], policy, false).unwrap()
    }

    #[test]
    fn line_numbers_count_comments_and_ports_use_brackets() {
        let dir = tmp("lines");
        let file = dir.0.join("kh");
        std::fs::write(
            &file,
            format!(
                "# comment\n\nother ssh-ed25519 {KEY_B}\n# another\n[10.0.0.1]:2222 ssh-ed25519 {KEY_A}\n10.0.0.1 ssh-ed25519 {KEY_B}\n"
            ),
        )
        .unwrap();
        let k = load(&file, "10.0.0.1", 2222, Policy::Yes);
        assert_eq!(k.entries.len(), 1);
        assert_eq!(k.entries[0].line, 5);
        assert!(k.check(&key(KEY_A)).is_ok());
        let changed = k.check(&key(KEY_B)).unwrap_err();
        assert!(changed.contains("changed"), "{changed}");
        assert!(
            changed.contains(&format!("{}:5", file.display())),
            "{changed}"
        );
        let k = load(&file, "10.0.0.1", 22, Policy::Yes);
        assert_eq!(k.entries[0].line, 6);
    }

    #[test]
    fn hashed_entries_and_patterns_match() {
        let dir = tmp("hashed");
        let file = dir.0.join("kh");
        // `ssh-keygen -H` of a "[127.0.0.1]:2222" entry.
        std::fs::write(
            &file,
            format!(
                "|1|z1LuE10IlkGBtRL4CmWm0SppVUA=|Z+YrM/bN5V0a9Ybm+pfhAUS1Hto= ssh-ed25519 {KEY_A}\n\
                 *.example.com,!bad.example.com ssh-ed25519 {KEY_B}\n\
                 @revoked * ssh-ed25519 {KEY_B}\n"
            ),
        )
        .unwrap();
        let k = load(&file, "127.0.0.1", 2222, Policy::Yes);
        assert_eq!(k.entries.len(), 2, "{:?}", k.entries);
        assert!(k.check(&key(KEY_A)).is_ok());
        let revoked = k.check(&key(KEY_B)).unwrap_err();
        assert!(revoked.contains("revoked"), "{revoked}");
        assert!(hosts_match(
            "*.example.com,!bad.example.com",
            "web.example.com"
        ));
        assert!(!hosts_match(
            "*.example.com,!bad.example.com",
            "bad.example.com"
        ));
        assert!(!hosts_match("*.example.com", "example.com"));
        assert!(hosts_match("web?", "web1"));
    }

    #[test]
    fn unknown_hosts_are_refused_or_recorded_by_policy() {
        let dir = tmp("policy");
        let file = dir.0.join("sub").join("known_hosts");
        let k = load(&file, "h", 2222, Policy::Yes);
        let unknown = k.check(&key(KEY_A)).unwrap_err();
        assert!(unknown.contains("is not known"), "{unknown}");
        assert!(unknown.contains("ssh-keyscan -p 2222 h"), "{unknown}");
        assert!(!file.exists());

        let k = load(&file, "h", 2222, Policy::AcceptNew);
        k.check(&key(KEY_A)).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text, format!("[h]:2222 ssh-ed25519 {KEY_A}\n"));
        // Now known; a different key of the same type is a change, even for accept-new.
        let k = load(&file, "h", 2222, Policy::AcceptNew);
        assert!(k.check(&key(KEY_A)).is_ok());
        assert!(k.check(&key(KEY_B)).unwrap_err().contains("changed"));
        // No: anything goes, nothing written.
        let k = load(&file, "h", 2222, Policy::No);
        assert!(k.check(&key(KEY_B)).is_ok());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    }

    #[test]
    fn hashed_new_entries_match_themselves() {
        let dir = tmp("hash-new");
        let file = dir.0.join("kh");
        let k =
            KnownHosts::load("h", 22, vec![file.clone()], &[], Policy::AcceptNew, true).unwrap();
        k.check(&key(KEY_A)).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("|1|"), "{text}");
        let k = load(&file, "h", 22, Policy::Yes);
        assert!(k.check(&key(KEY_A)).is_ok());
    }

    #[test]
    fn base64_round_trips() {
        for data in [&b""[..], b"a", b"ab", b"abc", b"abcd"] {
            assert_eq!(base64_decode(&base64_encode(data)).unwrap(), data);
        }
    }
}
