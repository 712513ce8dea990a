//! Vault passwords: where they come from and which one opens what.
//!
//! A [`Keyring`] is the ordered list of `(vault id, password)` a run knows, built the way
//! ansible-core's `setup_vault_secrets` builds it: the identities of `ANSIBLE_VAULT_IDENTITY_LIST`,
//! then each `--vault-id label@source`, then each `--vault-password-file` (and
//! `ANSIBLE_VAULT_PASSWORD_FILE`) under the default id, then `--ask-vault-pass` as a prompt for
//! the default id. A source is `prompt`, a file whose content (stripped) is the password, or an
//! executable that prints it (a `*-client` script is given `--vault-id LABEL`, as Ansible's
//! client scripts expect). A source that fails is a warning while another one works, an error
//! when none does, as in Ansible.
//!
//! Decryption tries the secret whose label matches the vault text's 1.2 label first, then the
//! others (Ansible's default, `DEFAULT_VAULT_ID_MATCH=False`). A failure is one line naming what
//! was being decrypted and the vault id, never the plaintext or a password.

use super::format::{self, Envelope, FormatError};
use super::mask::Masker;
use super::{Error, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The label of secrets given without one.
pub const DEFAULT_ID: &str = "default";

/// One password with its vault id.
pub struct Secret {
    pub label: String,
    password: Vec<u8>,
    /// Where it came from (`prompt`, a file name), for messages.
    pub source: String,
}

impl Secret {
    pub fn new(label: impl Into<String>, password: Vec<u8>, source: impl Into<String>) -> Secret {
        Secret {
            label: label.into(),
            password,
            source: source.into(),
        }
    }

    pub fn password(&self) -> &[u8] {
        &self.password
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(f, "Secret({}@{})", self.label, self.source)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.password.fill(0);
    }
}

/// Every vault password of a run, in the order they are tried, and the masker that every
/// plaintext it reveals is registered with (see [`Keyring::reveal`]).
#[derive(Debug, Default)]
pub struct Keyring {
    pub secrets: Vec<Secret>,
    masker: Arc<Masker>,
}

/// What a vault text decrypted to, and with which secret.
pub struct Opened<'a> {
    pub plaintext: Vec<u8>,
    pub secret: &'a Secret,
    /// The label in the text's header (1.2), if any.
    pub vault_id: Option<String>,
}

impl Keyring {
    pub fn new(secrets: Vec<Secret>) -> Keyring {
        Keyring {
            secrets,
            masker: Arc::default(),
        }
    }

    /// This keyring, registering what it reveals with `masker` (the one the CLI made and
    /// handed to the output as well).
    pub fn with_masker(mut self, masker: Arc<Masker>) -> Keyring {
        self.masker = masker;
        self
    }

    /// The masker this keyring registers revealed secrets with.
    pub fn masker(&self) -> &Arc<Masker> {
        &self.masker
    }

    /// Decrypts vault text that is a secret in itself (an inline `!vault` value, a file that
    /// `copy`/`template`/lookups read) and registers the plaintext for masking before anyone
    /// can print it. Files whose text is structure (a vaulted playbook or vars file) are opened
    /// with [`Keyring::decrypt`]; a vars file's values are registered as they become variables.
    pub fn reveal(&self, data: &[u8], what: &str) -> Result<String, Error> {
        let opened = self.decrypt(data, what)?;
        let text = String::from_utf8_lossy(&opened.plaintext).into_owned();
        self.masker.register(&text);
        Ok(text)
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Decrypts vault text; `what` names it in errors (a file, `file:line:col` of a `!vault`).
    pub fn decrypt(&self, data: &[u8], what: &str) -> Result<Opened<'_>, Error> {
        let env = Envelope::parse(data)
            .map_err(|e| vault_error(format!("Decryption failed for {what}: {e}")))?;
        let label = env.vault_id.clone();
        let shown_id = label.as_deref().unwrap_or(DEFAULT_ID);
        if self.secrets.is_empty() {
            return Err(vault_error(format!(
                "{what} is encrypted with ansible-vault (vault id '{shown_id}') and no vault \
                 password was given; use --ask-vault-pass, --vault-password-file or --vault-id"
            )));
        }
        // The matching label first, then the rest in order.
        let mut order: Vec<&Secret> = self
            .secrets
            .iter()
            .filter(|s| label.as_deref() == Some(s.label.as_str()))
            .collect();
        order.extend(
            self.secrets
                .iter()
                .filter(|s| label.as_deref() != Some(s.label.as_str())),
        );
        for secret in order {
            match format::decrypt(&env, secret.password()) {
                Ok(plaintext) => {
                    return Ok(Opened {
                        plaintext,
                        secret,
                        vault_id: label,
                    });
                }
                Err(FormatError::HmacMismatch) | Err(FormatError::BadPadding) => continue,
                Err(e) => return Err(vault_error(format!("Decryption failed for {what}: {e}"))),
            }
        }
        let tried: Vec<&str> = self.secrets.iter().map(|s| s.label.as_str()).collect();
        Err(vault_error(format!(
            "Decryption failed for {what} (vault id '{shown_id}'): no vault secret ({}) could \
             decrypt it; the password is wrong or the encrypted data was modified",
            tried.join(", ")
        )))
    }

    /// The secret to encrypt with: the one labelled `encrypt_id`, or the only one.
    pub fn encrypt_secret(&self, encrypt_id: Option<&str>) -> Result<&Secret, Error> {
        match encrypt_id {
            Some(id) => self.secrets.iter().find(|s| s.label == id).ok_or_else(|| {
                usage(format!(
                    "Did not find a match for --encrypt-vault-id={id} in the known vault-ids [{}]",
                    self.labels()
                ))
            }),
            None => match self.secrets.as_slice() {
                [] => Err(usage("A vault password is required to use Ansible's Vault")),
                [one] => Ok(one),
                _ => Err(usage(format!(
                    "The vault-ids {} are available to encrypt. Specify the vault-id to encrypt \
                     with --encrypt-vault-id",
                    self.labels()
                ))),
            },
        }
    }

    fn labels(&self) -> String {
        self.secrets
            .iter()
            .map(|s| s.label.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A vault failure: exit status 1, as ansible-core gives for vault errors.
pub fn vault_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Vault, message)
}

fn usage(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message)
}

/// Where the passwords of a run come from, as the command line and environment say.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `label@source` or `source` slugs, in order.
    pub vault_ids: Vec<String>,
    pub password_files: Vec<PathBuf>,
    pub ask: bool,
}

/// How prompts read: the play asks "Vault password: ", creating a vault asks twice for a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Open,
    Create,
}

impl Sources {
    /// Adds the environment's defaults: `ANSIBLE_VAULT_IDENTITY_LIST` first and
    /// `ANSIBLE_VAULT_PASSWORD_FILE` last, where Ansible puts its configured defaults.
    pub fn with_environment(mut self) -> Sources {
        if let Ok(list) = std::env::var("ANSIBLE_VAULT_IDENTITY_LIST") {
            let mut ids: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            ids.append(&mut self.vault_ids);
            self.vault_ids = ids;
        }
        if let Some(f) = std::env::var_os("ANSIBLE_VAULT_PASSWORD_FILE").filter(|f| !f.is_empty()) {
            let f = PathBuf::from(f);
            if !self.password_files.contains(&f) {
                self.password_files.push(f);
            }
        }
        self
    }

    /// The `(label, source)` pairs in the order they are loaded; `auto_prompt` adds a prompt
    /// when nothing else is given (ansible-vault does, ansible-playbook does not).
    pub fn slugs(&self, auto_prompt: bool) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .vault_ids
            .iter()
            .map(|slug| match slug.split_once('@') {
                Some((label, source)) => (label.to_string(), source.to_string()),
                None => (DEFAULT_ID.to_string(), slug.clone()),
            })
            .collect();
        for f in &self.password_files {
            out.push((DEFAULT_ID.to_string(), f.display().to_string()));
        }
        if self.ask || (out.is_empty() && auto_prompt) {
            out.push((DEFAULT_ID.to_string(), "prompt_ask_vault_pass".to_string()));
        }
        out
    }

    /// Reads every password. Warnings (a source that failed while others worked) go to `warn`.
    pub fn load(
        &self,
        purpose: Purpose,
        auto_prompt: bool,
        warn: &mut dyn FnMut(String),
    ) -> Result<Keyring, Error> {
        let mut secrets = Vec::new();
        let mut last_error = None;
        for (label, source) in self.slugs(auto_prompt) {
            if label.contains(';') {
                return Err(usage(format!(
                    "'{label}' is not a valid vault id. The character ';' is not allowed in vault ids"
                )));
            }
            if source == "prompt" || source == "prompt_ask_vault_pass" {
                // A failed prompt is fatal, as in Ansible: the user is right there.
                let password = prompt_for(&label, &source, purpose)?;
                secrets.push(Secret::new(label, password, "prompt"));
                continue;
            }
            match read_password_file(Path::new(&source), &label) {
                Ok(password) => secrets.push(Secret::new(label, password, source)),
                Err(e) => {
                    warn(format!(
                        "Error getting vault password file ({label}): {}",
                        e.message
                    ));
                    last_error = Some(e);
                }
            }
        }
        if secrets.is_empty()
            && let Some(e) = last_error
        {
            return Err(e);
        }
        Ok(Keyring::new(secrets))
    }
}

fn prompt_for(label: &str, source: &str, purpose: Purpose) -> Result<Vec<u8>, Error> {
    let prompts: Vec<String> = match (purpose, source) {
        (Purpose::Open, "prompt_ask_vault_pass") => vec!["Vault password: ".into()],
        (Purpose::Open, _) => vec![format!("Vault password ({label}): ")],
        (Purpose::Create, "prompt_ask_vault_pass") => vec![
            "New Vault password: ".into(),
            "Confirm New Vault password: ".into(),
        ],
        (Purpose::Create, _) => vec![
            format!("New vault password ({label}): "),
            format!("Confirm new vault password ({label}): "),
        ],
    };
    let mut answers = Vec::new();
    for p in prompts {
        let answer = super::prompt::read_hidden(&p)?;
        if answer.is_empty() {
            return Err(vault_error("Invalid vault password was provided"));
        }
        answers.push(answer.trim().as_bytes().to_vec());
    }
    if answers.windows(2).any(|w| w[0] != w[1]) {
        return Err(vault_error("Passwords do not match"));
    }
    Ok(answers.swap_remove(0))
}

/// A password file's content, or what an executable one prints (Ansible strips both).
pub fn read_password_file(path: &Path, label: &str) -> Result<Vec<u8>, Error> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|_| vault_error(format!("The vault password file {shown} was not found")))?;
    if meta.is_dir() {
        return Err(vault_error(format!(
            "The vault password file provided '{shown}' can not be a directory"
        )));
    }
    use std::os::unix::fs::PermissionsExt;
    let password = if meta.permissions().mode() & 0o111 != 0 {
        // Absolute, as Ansible runs it: a bare name must not be looked up on PATH.
        let mut cmd = std::process::Command::new(std::path::absolute(path).unwrap_or(path.into()));
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let client = stem.ends_with("-client");
        if client {
            cmd.args(["--vault-id", label]);
        }
        // stderr is left to the terminal so that a script may ask its own questions.
        let out = cmd
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| {
                vault_error(format!(
                    "Problem running vault password script {shown} ({e}). If this is not a \
                     script, remove the executable bit from the file."
                ))
            })?;
        if client && out.status.code() == Some(2) {
            return Err(vault_error(format!(
                "Vault password client script {shown} did not find a secret for vault-id={label}"
            )));
        }
        if !out.status.success() {
            return Err(vault_error(format!(
                "Vault password script {shown} returned non-zero ({})",
                out.status.code().unwrap_or(-1)
            )));
        }
        trim_newlines(out.stdout)
    } else {
        let data = std::fs::read(path).map_err(|e| {
            vault_error(format!("Could not read vault password file '{shown}': {e}"))
        })?;
        trim_newlines(trim_ascii_whitespace(data))
    };
    if password.is_empty() {
        return Err(vault_error(format!(
            "Invalid vault password was provided from file ({shown})"
        )));
    }
    Ok(password)
}

fn trim_ascii_whitespace(data: Vec<u8>) -> Vec<u8> {
    data.trim_ascii().to_vec()
}

fn trim_newlines(data: Vec<u8>) -> Vec<u8> {
    let start = data
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(data.len());
    let end = data
        .iter()
        .rposition(|b| !matches!(b, b'\r' | b'\n'))
        .map_or(start, |i| i + 1);
    data[start..end].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_labelled_secret_is_tried_first_and_others_still_work() {
        let text = format::encrypt(b"data", b"two", Some("prod"));
        let ring = Keyring::new(vec![
            Secret::new("dev", b"one".to_vec(), "t"),
            Secret::new("prod", b"two".to_vec(), "t"),
        ]);
        let opened = ring.decrypt(&text, "x.yml").unwrap();
        assert_eq!(opened.plaintext, b"data");
        assert_eq!(opened.secret.label, "prod");
        // A 1.1 text (no label) is opened by whichever secret fits.
        let text = format::encrypt(b"data", b"two", None);
        assert_eq!(ring.decrypt(&text, "x").unwrap().secret.label, "prod");
    }

    #[test]
    fn a_wrong_password_is_one_line_naming_the_file_and_id() {
        let text = format::encrypt(b"the plaintext", b"right", Some("prod"));
        let ring = Keyring::new(vec![Secret::new("prod", b"wrong".to_vec(), "t")]);
        let e = ring.decrypt(&text, "group_vars/all.yml").err().unwrap();
        let shown = e.to_string();
        assert!(!shown.contains('\n'), "{shown}");
        assert!(shown.contains("group_vars/all.yml"), "{shown}");
        assert!(shown.contains("'prod'"), "{shown}");
        assert!(!shown.contains("plaintext"), "{shown}");
        assert_eq!(e.kind, crate::vault::ErrorKind::Vault);
    }

    #[test]
    fn password_files_are_stripped_and_scripts_run() {
        let dir = std::env::temp_dir().join(format!("baton-keyring-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("pw");
        std::fs::write(&f, "  s3cret \n").unwrap();
        assert_eq!(read_password_file(&f, "default").unwrap(), b"s3cret");
        let s = dir.join("pw-client.sh");
        std::fs::write(&s, "#!/bin/sh\necho \"for-$2\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(read_password_file(&s, "prod").unwrap(), b"for-prod");
        std::fs::write(&f, "\n").unwrap();
        assert!(read_password_file(&f, "default").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
