//! SSH user authentication, in OpenSSH's order: the agent's keys (and certificates), then the
//! key files (explicit ones, `IdentityFile` of ~/.ssh/config, else ~/.ssh/id_*), each with its
//! OpenSSH certificate when there is one, then the password (`password`, or
//! `keyboard-interactive` answered with it).
//!
//! Key files are read once per run and kept decrypted in memory, so a passphrase is asked for
//! once (on the terminal, when baton may ask) however many hosts use the key; it may also come
//! from `--key-passphrase-file` / `ansible_ssh_private_key_passphrase`. RSA keys sign with
//! SHA-2 (`rsa-sha2-512`/`-256`, whichever the server's `server-sig-algs` prefers).
//!
//! When everything was refused the error is one line in OpenSSH's words (`Permission denied
//! (publickey,password)`) with what was tried and why a configured key could not be used.
//! Neither passwords nor passphrases ever reach a message or a log.

use super::ConnError;
use super::ssh::{Client, Shared, describe_io_error, describe_ssh_error};
use super::ssh_config::Target;
use russh::MethodKind;
use russh::client::{self, Handle, KeyboardInteractiveAuthResponse};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{self, Certificate, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tracing::debug;

/// What may be used to authenticate beyond the target's own settings.
pub struct Credentials<'a> {
    /// `ansible_password` (only for the final host, never a jump host).
    pub password: Option<&'a str>,
    /// The passphrase of encrypted keys, when given.
    pub key_passphrase: Option<&'a str>,
    /// Whether a passphrase may be asked for on the terminal.
    pub interactive: bool,
    /// Key files offered after the target's own (the inventory's key, to jump hosts).
    pub extra_keys: &'a [PathBuf],
}

/// Authenticates as `target.user`, or fails with one line saying why.
pub async fn authenticate(
    handle: &mut Handle<Client>,
    target: &Target,
    creds: &Credentials<'_>,
    shared: &Shared,
    who: &str,
) -> Result<(), ConnError> {
    let mut auth = Auth {
        handle,
        user: &target.user,
        who,
        shared,
        server_methods: None,
        tried: Vec::new(),
        offered: Vec::new(),
        notes: Vec::new(),
    };
    if target.pubkey_authentication {
        if let Some(socket) = &target.agent
            && auth.try_agent(socket, target).await?
        {
            return Ok(());
        }
        let mut files = target.identity_files.clone();
        for extra in creds.extra_keys {
            if !files.contains(extra) {
                files.push(extra.clone());
            }
        }
        for path in &files {
            let explicit = target.identities_explicit || creds.extra_keys.contains(path);
            if auth.try_key_file(path, explicit, target, creds).await? {
                return Ok(());
            }
        }
    }
    if let Some(password) = creds.password
        && target.password_authentication
    {
        if auth.allows(MethodKind::Password) {
            auth.tried.push("password");
            debug!("{who}: trying password authentication");
            let result = auth
                .handle
                .authenticate_password(target.user.clone(), password.to_string())
                .await;
            if auth.settle(result)? {
                return Ok(());
            }
        }
        // Servers that take passwords only through PAM's dialogue (PasswordAuthentication
        // no, KbdInteractiveAuthentication yes) say so when refusing the above.
        if auth
            .server_methods
            .as_ref()
            .is_some_and(|m| m.contains(&MethodKind::KeyboardInteractive))
            && auth.keyboard_interactive(password).await?
        {
            return Ok(());
        }
    }
    Err(auth.denied())
}

/// The state of one authentication attempt sequence.
struct Auth<'a> {
    handle: &'a mut Handle<Client>,
    user: &'a str,
    who: &'a str,
    shared: &'a Shared,
    /// What the server said it accepts, once it has refused something.
    server_methods: Option<Vec<MethodKind>>,
    /// Methods tried, for the final message.
    tried: Vec<&'static str>,
    /// Public keys already offered (agent keys are not offered again from their files).
    offered: Vec<PublicKey>,
    /// Why a configured key could not be used, appended to the final message.
    notes: Vec<String>,
}

impl Auth<'_> {
    fn allows(&self, method: MethodKind) -> bool {
        self.server_methods
            .as_ref()
            .is_none_or(|methods| methods.contains(&method))
    }

    fn was_offered(&self, key: &PublicKey) -> bool {
        self.offered.iter().any(|k| k.key_data() == key.key_data())
    }

    async fn try_agent(&mut self, socket: &Path, target: &Target) -> Result<bool, ConnError> {
        let mut agent = match AgentClient::connect_uds(socket).await {
            Ok(agent) => agent,
            Err(e) => {
                debug!(
                    "{}: ssh-agent at {} not usable: {e}",
                    self.who,
                    socket.display()
                );
                return Ok(false);
            }
        };
        let identities = match agent.request_identities().await {
            Ok(ids) => ids,
            Err(e) => {
                debug!("{}: ssh-agent did not list its keys: {e}", self.who);
                return Ok(false);
            }
        };
        debug!("{}: ssh-agent offers {} key(s)", self.who, identities.len());
        // IdentitiesOnly: only agent keys that belong to one of the identity files.
        let wanted: Option<Vec<PublicKey>> = target.identities_only.then(|| {
            target
                .identity_files
                .iter()
                .filter_map(|p| public_key_of(p))
                .collect()
        });
        for identity in identities {
            if !self.allows(MethodKind::PublicKey) {
                return Ok(false);
            }
            let key = match &identity {
                AgentIdentity::PublicKey { key, .. } => key.clone(),
                AgentIdentity::Certificate { certificate, .. } => {
                    PublicKey::new(certificate.public_key().clone(), "")
                }
            };
            if let Some(wanted) = &wanted
                && !wanted.iter().any(|w| w.key_data() == key.key_data())
            {
                continue;
            }
            let hash = self.rsa_hash(key.algorithm().is_rsa()).await;
            if !self.tried.contains(&"publickey") {
                self.tried.push("publickey");
            }
            let result = match identity {
                AgentIdentity::PublicKey { key, comment } => {
                    debug!(
                        "{}: trying agent key {} ({comment})",
                        self.who,
                        key.fingerprint(HashAlg::Sha256)
                    );
                    self.offered.push(key.clone());
                    self.handle
                        .authenticate_publickey_with(self.user.to_string(), key, hash, &mut agent)
                        .await
                }
                AgentIdentity::Certificate {
                    certificate,
                    comment,
                } => {
                    debug!("{}: trying agent certificate ({comment})", self.who);
                    self.handle
                        .authenticate_certificate_with(
                            self.user.to_string(),
                            certificate,
                            hash,
                            &mut agent,
                        )
                        .await
                }
            };
            match result {
                Ok(r) => {
                    if self.settle(Ok(r))? {
                        return Ok(true);
                    }
                }
                Err(e) => {
                    if self.handle.is_closed() {
                        return Err(self.broken(&e.to_string()));
                    }
                    debug!("{}: ssh-agent could not sign: {e}", self.who);
                }
            }
        }
        Ok(false)
    }

    async fn try_key_file(
        &mut self,
        path: &Path,
        explicit: bool,
        target: &Target,
        creds: &Credentials<'_>,
    ) -> Result<bool, ConnError> {
        if !self.allows(MethodKind::PublicKey) {
            return Ok(false);
        }
        if !path.exists() {
            if explicit {
                self.notes
                    .push(format!("key {} does not exist", path.display()));
            }
            return Ok(false);
        }
        // Skip keys the agent already offered, without decrypting them.
        if let Some(public) = public_key_of(path)
            && self.was_offered(&public)
        {
            debug!(
                "{}: {} was offered by the agent already",
                self.who,
                path.display()
            );
            return Ok(false);
        }
        let key = match load_key(path, creds).await {
            Ok(key) => key,
            Err(why) => {
                debug!("{}: cannot use key {}: {why}", self.who, path.display());
                self.notes
                    .push(format!("cannot use key {}: {why}", path.display()));
                return Ok(false);
            }
        };
        if self.was_offered(key.public_key()) {
            return Ok(false);
        }
        if !self.tried.contains(&"publickey") {
            self.tried.push("publickey");
        }
        self.offered.push(key.public_key().clone());
        // Its certificate first (`CertificateFile` or KEY-cert.pub), as OpenSSH does.
        for cert in certificates_for(path, &key, target) {
            debug!(
                "{}: trying certificate {} of {}",
                self.who,
                cert.key_id(),
                path.display()
            );
            let result = self
                .handle
                .authenticate_openssh_cert(self.user.to_string(), key.clone(), cert)
                .await;
            if self.settle(result)? {
                return Ok(true);
            }
        }
        let hash = self.rsa_hash(key.algorithm().is_rsa()).await;
        debug!(
            "{}: trying public key {} ({})",
            self.who,
            path.display(),
            key.algorithm()
        );
        let result = self
            .handle
            .authenticate_publickey(self.user.to_string(), PrivateKeyWithHashAlg::new(key, hash))
            .await;
        self.settle(result)
    }

    /// keyboard-interactive, answering password prompts with the password.
    async fn keyboard_interactive(&mut self, password: &str) -> Result<bool, ConnError> {
        self.tried.push("keyboard-interactive");
        debug!("{}: trying keyboard-interactive", self.who);
        let mut reply = self
            .handle
            .authenticate_keyboard_interactive_start(self.user.to_string(), None)
            .await;
        for _ in 0..5 {
            match reply {
                Ok(KeyboardInteractiveAuthResponse::Success) => return Ok(true),
                Ok(KeyboardInteractiveAuthResponse::Failure {
                    remaining_methods, ..
                }) => {
                    self.server_methods = Some(remaining_methods.to_vec());
                    return Ok(false);
                }
                Ok(KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. }) => {
                    let answers = prompts
                        .iter()
                        .map(|p| {
                            if p.prompt.to_ascii_lowercase().contains("password") {
                                password.to_string()
                            } else {
                                String::new()
                            }
                        })
                        .collect();
                    reply = self
                        .handle
                        .authenticate_keyboard_interactive_respond(answers)
                        .await;
                }
                Err(e) => return Err(self.broken(&describe_ssh_error(&e))),
            }
        }
        Ok(false)
    }

    /// RSA keys sign with SHA-2 (the SHA-1 `ssh-rsa` scheme is disabled in modern OpenSSH):
    /// SHA-512 or SHA-256 as the server's `server-sig-algs` says, SHA-512 if it says nothing.
    async fn rsa_hash(&self, is_rsa: bool) -> Option<HashAlg> {
        if !is_rsa {
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
                    self.who, &*remaining_methods
                );
                self.server_methods = Some(remaining_methods.to_vec());
                Ok(false)
            }
            Err(e) => Err(self.broken(&describe_ssh_error(&e))),
        }
    }

    fn broken(&self, fallback: &str) -> ConnError {
        let why = Shared::get(&self.shared.disconnect_reason).unwrap_or_else(|| fallback.into());
        ConnError::Unreachable(format!(
            "{}: connection failed during authentication: {why}",
            self.who
        ))
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
        let mut message = format!("Permission denied ({methods}) for {}", self.who);
        if self.tried.is_empty() {
            message.push_str(
                ": no key or password to try (set ansible_ssh_private_key_file or \
                 ansible_password, or load a key into ssh-agent)",
            );
        } else {
            message.push_str(&format!(" (tried: {})", self.tried.join(", ")));
        }
        for note in &self.notes {
            message.push_str("; ");
            message.push_str(note);
        }
        ConnError::Unreachable(message)
    }
}

/// The public key of a key file, from `KEY.pub`, or from the key itself when it is not
/// encrypted (encrypted OpenSSH keys keep their public part in the clear too).
fn public_key_of(path: &Path) -> Option<PublicKey> {
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push(".pub");
    if let Ok(key) = keys::load_public_key(PathBuf::from(pub_path)) {
        return Some(key);
    }
    let text = std::fs::read_to_string(path).ok()?;
    PrivateKey::from_openssh(text.as_bytes())
        .ok()
        .map(|k| k.public_key().clone())
}

/// Certificates for a key: `CertificateFile`s whose key is this one, then `KEY-cert.pub`.
fn certificates_for(path: &Path, key: &PrivateKey, target: &Target) -> Vec<Certificate> {
    let mut default = path.as_os_str().to_owned();
    default.push("-cert.pub");
    let mut files = target.certificate_files.clone();
    files.push(PathBuf::from(default));
    let mut found = Vec::new();
    for file in files {
        if !file.exists() {
            continue;
        }
        match keys::load_openssh_certificate(&file) {
            Ok(cert) if cert.public_key() == key.public_key().key_data() => found.push(cert),
            Ok(_) => {}
            Err(e) => debug!("certificate {} unreadable: {e}", file.display()),
        }
    }
    found
}

/// Keys read this run, by path: decrypted once, shared by every host. Process-wide because
/// the terminal a passphrase is asked on is too; the mutex also makes concurrent connections
/// wait for one prompt instead of asking several times.
fn key_cache() -> &'static tokio::sync::Mutex<HashMap<PathBuf, Arc<PrivateKey>>> {
    static CACHE: OnceLock<tokio::sync::Mutex<HashMap<PathBuf, Arc<PrivateKey>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Reads (and if needed decrypts) a key file; the error is a short reason.
async fn load_key(path: &Path, creds: &Credentials<'_>) -> Result<Arc<PrivateKey>, String> {
    let mut cache = key_cache().lock().await;
    if let Some(key) = cache.get(path) {
        return Ok(key.clone());
    }
    let key = match keys::load_secret_key(path, None) {
        Ok(key) => key,
        Err(keys::Error::KeyIsEncrypted) => decrypt(path, creds).await?,
        Err(keys::Error::IO(io)) => return Err(describe_io_error(&io)),
        Err(other) => return Err(other.to_string()),
    };
    let key = Arc::new(key);
    cache.insert(path.to_path_buf(), key.clone());
    Ok(key)
}

async fn decrypt(path: &Path, creds: &Credentials<'_>) -> Result<PrivateKey, String> {
    if let Some(pass) = creds.key_passphrase {
        // bcrypt key derivation takes a while on purpose: keep it off the async workers.
        let (p, pass) = (path.to_path_buf(), pass.to_string());
        return tokio::task::spawn_blocking(move || keys::load_secret_key(&p, Some(&pass)))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|_| "the passphrase given for it is wrong".to_string());
    }
    if !creds.interactive {
        return Err(
            "it is passphrase-protected: load it into ssh-agent, or give the \
                    passphrase with --key-passphrase-file or \
                    ansible_ssh_private_key_passphrase"
                .to_string(),
        );
    }
    for _ in 0..3 {
        let p = path.to_path_buf();
        let attempt = tokio::task::spawn_blocking(move || {
            let prompt = format!("Enter passphrase for key '{}': ", p.display());
            let pass = super::tty::read_secret(&prompt)?;
            Ok::<_, String>(keys::load_secret_key(&p, Some(&pass)))
        })
        .await
        .map_err(|e| e.to_string())??;
        match attempt {
            Ok(key) => return Ok(key),
            Err(_) => {
                let _ = super::tty::say("Bad passphrase, try again.");
            }
        }
    }
    Err("three wrong passphrases".to_string())
}
