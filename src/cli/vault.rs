//! `baton vault`: ansible-vault's commands, with its options and its file conventions.
//!
//! - `create FILE` and `edit FILE` open `$EDITOR` (default `vi`) on a decrypted copy kept in a
//!   private directory (mode 0700) on a tmpfs when there is one (`/dev/shm`, else
//!   `$XDG_RUNTIME_DIR`, else the temp directory), overwritten and removed afterwards, also when
//!   the editor fails. `edit` re-encrypts only when the text changed, with the secret that
//!   opened it and the vault id of its header.
//! - `encrypt`/`decrypt [FILE...]` work in place, on `--output FILE` (`-` for standard output),
//!   or from standard input to standard output when no file is given.
//! - `view FILE...` prints the plaintext (through `$PAGER` when on a terminal).
//! - `rekey FILE...` re-encrypts with `--new-vault-password-file` or `--new-vault-id`, or a new
//!   password asked for, keeping each file's permissions.
//! - `encrypt_string [STRING...]` prints `!vault |` YAML blocks, with `--name`/`-n` per string,
//!   `--stdin-name`, `--prompt`.
//!
//! Every file is decrypted (and so verified) before anything is written: a wrong password or a
//! modified file on the third of three files leaves all three as they were. Files written are
//! created with mode 0600 next to their destination and renamed into place, as ansible-vault
//! creates them 0600.
//!
//! [`VaultPasswordArgs`] are the password flags, shared with `baton play`.

use crate::diagnostics::{Error, ErrorKind};
use crate::vault::format;
use crate::vault::keyring::{Keyring, Purpose, Secret, Sources};
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

pub(crate) mod files;
use files::*;

/// Where vault passwords come from (ansible-playbook's and ansible-vault's flags).
#[derive(Args, Debug, Clone, Default)]
pub struct VaultPasswordArgs {
    /// Ask for the vault password.
    #[arg(short = 'J', long = "ask-vault-pass", alias = "ask-vault-password")]
    pub ask_vault_pass: bool,
    /// A file holding the vault password, or an executable that prints it. May be repeated;
    /// ANSIBLE_VAULT_PASSWORD_FILE adds one.
    #[arg(
        long = "vault-password-file",
        alias = "vault-pass-file",
        value_name = "FILE"
    )]
    pub vault_password_files: Vec<PathBuf>,
    /// A vault identity: LABEL@SOURCE, where SOURCE is a file, an executable or `prompt`. May be
    /// repeated; ANSIBLE_VAULT_IDENTITY_LIST adds some.
    #[arg(long = "vault-id", value_name = "LABEL@SOURCE")]
    pub vault_ids: Vec<String>,
}

impl VaultPasswordArgs {
    /// The sources these flags and the environment name.
    pub fn sources(&self) -> Sources {
        Sources {
            vault_ids: self.vault_ids.clone(),
            password_files: self.vault_password_files.clone(),
            ask: self.ask_vault_pass,
        }
        .with_environment()
    }

    /// The keyring for a run that only decrypts (`baton play`): no prompt unless asked for.
    /// A password source that failed while another worked is a warning, given to `warn`.
    pub fn keyring_for_play(&self, warn: &mut dyn FnMut(String)) -> Result<Keyring, Error> {
        Ok(self.sources().load(Purpose::Open, false, warn)?)
    }
}

/// `baton vault ...`
#[derive(Args, Debug)]
pub struct VaultArgs {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Subcommand, Debug)]
pub enum Action {
    /// Create a new encrypted file in $EDITOR.
    Create {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        encrypt: EncryptId,
        /// Open the editor even when standard output is not a terminal.
        #[arg(long = "skip-tty-check")]
        skip_tty_check: bool,
        file: PathBuf,
    },
    /// Encrypt files (in place, or to --output; standard input when none is given).
    Encrypt {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        encrypt: EncryptId,
        #[command(flatten)]
        output: Output,
        files: Vec<PathBuf>,
    },
    /// Decrypt files (in place, or to --output; standard input when none is given).
    Decrypt {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        output: Output,
        files: Vec<PathBuf>,
    },
    /// Show the plaintext of encrypted files.
    View {
        #[command(flatten)]
        common: Common,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Edit an encrypted file in $EDITOR.
    Edit {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        encrypt: EncryptId,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Re-encrypt files with a new password.
    Rekey {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        encrypt: EncryptId,
        /// The new password's file (or executable).
        #[arg(long = "new-vault-password-file", conflicts_with = "new_vault_id")]
        new_vault_password_file: Option<PathBuf>,
        /// The new vault identity, LABEL@SOURCE.
        #[arg(long = "new-vault-id")]
        new_vault_id: Option<String>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Encrypt strings into `!vault |` YAML values.
    #[command(name = "encrypt_string", alias = "encrypt-string")]
    EncryptString {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        encrypt: EncryptId,
        #[command(flatten)]
        output: Output,
        /// Ask for the string to encrypt.
        #[arg(short = 'p', long = "prompt")]
        prompt: bool,
        /// Show the string while typing it at the prompt.
        #[arg(long = "show-input")]
        show_input: bool,
        /// The variable name of each string, in order. May be repeated.
        #[arg(short = 'n', long = "name")]
        names: Vec<String>,
        /// The variable name for the string read from standard input.
        #[arg(long = "stdin-name")]
        stdin_name: Option<String>,
        /// The strings to encrypt (`-` reads standard input).
        strings: Vec<String>,
    },
}

/// Options every vault command takes.
#[derive(Args, Debug)]
pub struct Common {
    #[command(flatten)]
    pub passwords: VaultPasswordArgs,
    /// More output (accepted for compatibility).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Args, Debug)]
pub struct EncryptId {
    /// The vault id to encrypt with (required when several are given).
    #[arg(long = "encrypt-vault-id", env = "ANSIBLE_VAULT_ENCRYPT_IDENTITY")]
    pub encrypt_vault_id: Option<String>,
}

#[derive(Args, Debug)]
pub struct Output {
    /// Write the result to this file instead (`-` for standard output).
    #[arg(long = "output")]
    pub output: Option<PathBuf>,
}

/// `baton vault` shows plaintext by design (view, decrypt): it registers no secret, so its
/// warnings go out through an empty masker.
fn warn(w: String) {
    crate::output::warn_stderr(&crate::vault::Masker::default(), &w);
}

/// A vault failure as the one error type.
fn vault_error(message: impl Into<String>) -> Error {
    crate::vault::keyring::vault_error(message).into()
}

fn open_keyring(common: &Common, purpose: Purpose) -> Result<Keyring, Error> {
    let ring = common.passwords.sources().load(purpose, true, &mut warn)?;
    if ring.is_empty() {
        return Err(usage("A vault password is required to use Ansible's Vault"));
    }
    Ok(ring)
}

fn usage(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message)
}

/// Runs `baton vault ...`; the exit status.
pub fn run(args: VaultArgs) -> Result<i32, Error> {
    match args.action {
        Action::Create {
            common,
            encrypt,
            skip_tty_check,
            file,
        } => {
            if file.is_file() {
                return Err(vault_error(format!(
                    "{} exists, please use 'edit' instead",
                    file.display()
                )));
            }
            if !skip_tty_check && !std::io::stdout().is_terminal() {
                return Err(usage("not a tty, editor cannot be opened"));
            }
            let ring = open_keyring(&common, Purpose::Create)?;
            let secret = ring.encrypt_secret(encrypt.encrypt_vault_id.as_deref())?;
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
                && !dir.exists()
            {
                warn(format!("{} does not exist, creating...", dir.display()));
                std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
            }
            let text = edit_in_private(&file, b"")?;
            let cipher = format::encrypt(&text, secret.password(), Some(&secret.label));
            write_file(&file, &cipher, None)?;
            Ok(0)
        }
        Action::Encrypt {
            common,
            encrypt,
            output,
            files,
        } => {
            let ring = open_keyring(&common, Purpose::Create)?;
            let secret = ring.encrypt_secret(encrypt.encrypt_vault_id.as_deref())?;
            let jobs = inputs(&files, output.output.as_deref())?;
            let mut results = Vec::new();
            for (input, dest) in jobs {
                let data = read_input(&input)?;
                if format::is_encrypted(&data) {
                    return Err(vault_error(format!(
                        "input is already encrypted: {}",
                        shown(&input)
                    )));
                }
                results.push((
                    dest,
                    format::encrypt(&data, secret.password(), Some(&secret.label)),
                ));
            }
            write_all(results, None)?;
            if std::io::stdout().is_terminal() {
                eprintln!("Encryption successful");
            }
            Ok(0)
        }
        Action::Decrypt {
            common,
            output,
            files,
        } => {
            let ring = open_keyring(&common, Purpose::Open)?;
            let jobs = inputs(&files, output.output.as_deref())?;
            let mut results = Vec::new();
            for (input, dest) in jobs {
                let data = read_input(&input)?;
                let opened = ring.decrypt(&data, &shown(&input))?;
                results.push((dest, opened.plaintext));
            }
            write_all(results, None)?;
            if std::io::stdout().is_terminal() {
                eprintln!("Decryption successful");
            }
            Ok(0)
        }
        Action::View { common, files } => {
            let ring = open_keyring(&common, Purpose::Open)?;
            let mut all = Vec::new();
            for f in &files {
                let data = read_input(f)?;
                all.extend(ring.decrypt(&data, &shown(f))?.plaintext);
            }
            page(&all)?;
            Ok(0)
        }
        Action::Edit {
            common,
            encrypt: _,
            files,
        } => {
            let ring = open_keyring(&common, Purpose::Open)?;
            for f in &files {
                let real = std::fs::canonicalize(f).map_err(|e| io_error(f, e))?;
                let data = read_input(&real)?;
                let opened = ring.decrypt(&data, &shown(f))?;
                let label = opened.vault_id.clone();
                let edited = edit_in_private(&real, &opened.plaintext)?;
                if edited != opened.plaintext {
                    let cipher =
                        format::encrypt(&edited, opened.secret.password(), label.as_deref());
                    let mode = file_mode(&real);
                    write_file(&real, &cipher, mode)?;
                }
            }
            Ok(0)
        }
        Action::Rekey {
            common,
            encrypt,
            new_vault_password_file,
            new_vault_id,
            files,
        } => {
            let ring = open_keyring(&common, Purpose::Open)?;
            let new_sources = Sources {
                vault_ids: new_vault_id.into_iter().collect(),
                password_files: new_vault_password_file.into_iter().collect(),
                ask: false,
            };
            let new_ring = new_sources.load(Purpose::Create, true, &mut warn)?;
            let new_secret: &Secret =
                match new_ring.encrypt_secret(encrypt.encrypt_vault_id.as_deref()) {
                    Ok(s) => s,
                    Err(_) if new_ring.secrets.len() == 1 => &new_ring.secrets[0],
                    Err(e) => return Err(e.into()),
                };
            let mut results = Vec::new();
            for f in &files {
                let real = std::fs::canonicalize(f).map_err(|e| io_error(f, e))?;
                let data = read_input(&real)?;
                let opened = ring.decrypt(&data, &shown(f))?;
                let cipher = format::encrypt(
                    &opened.plaintext,
                    new_secret.password(),
                    Some(&new_secret.label),
                );
                results.push((real, cipher));
            }
            for (path, cipher) in results {
                let mode = file_mode(&path);
                write_file(&path, &cipher, mode)?;
            }
            eprintln!("Rekey successful");
            Ok(0)
        }
        Action::EncryptString {
            common,
            encrypt,
            output,
            prompt,
            show_input,
            names,
            stdin_name,
            strings,
        } => encrypt_string(
            &common,
            encrypt.encrypt_vault_id.as_deref(),
            output.output.as_deref(),
            EncryptStringInput {
                prompt,
                show_input,
                names,
                stdin_name,
                strings,
            },
        ),
    }
}

struct EncryptStringInput {
    prompt: bool,
    show_input: bool,
    names: Vec<String>,
    stdin_name: Option<String>,
    strings: Vec<String>,
}

fn encrypt_string(
    common: &Common,
    encrypt_id: Option<&str>,
    output: Option<&Path>,
    input: EncryptStringInput,
) -> Result<i32, Error> {
    let read_stdin = input.strings.iter().any(|s| s == "-")
        || input.stdin_name.is_some()
        || (input.strings.is_empty() && !input.prompt);
    if input.prompt && read_stdin {
        return Err(usage(
            "The --prompt option is not supported if also reading input from stdin",
        ));
    }
    let ring = open_keyring(common, Purpose::Create)?;
    let secret = ring.encrypt_secret(encrypt_id)?;
    // (plaintext, where it came from, variable name)
    let mut items: Vec<(Vec<u8>, &str, Option<String>)> = Vec::new();
    if input.prompt {
        let name = crate::vault::prompt::read_visible("Variable name (enter for no name): ")?;
        let msg = if input.show_input {
            "String to encrypt: "
        } else {
            "String to encrypt (hidden): "
        };
        let text = if input.show_input {
            crate::vault::prompt::read_visible(msg)?
        } else {
            crate::vault::prompt::read_hidden(msg)?
        };
        if text.is_empty() {
            return Err(usage(
                "The plaintext provided from the prompt was empty, not encrypting",
            ));
        }
        items.push((
            text.into_bytes(),
            "the interactive prompt",
            (!name.is_empty()).then_some(name),
        ));
    }
    if read_stdin {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read standard input: {e}")))?;
        if data.is_empty() {
            return Err(usage("stdin was empty, not encrypting"));
        }
        items.push((data, "stdin", input.stdin_name.clone()));
    }
    let args: Vec<&String> = input.strings.iter().filter(|s| *s != "-").collect();
    if !input.names.is_empty() && args.len() > input.names.len() {
        eprintln!("The number of --name options do not match the number of args.");
        eprintln!(
            "The last named variable will be \"{}\". The rest will not have names.",
            input.names[input.names.len() - 1]
        );
    }
    for (i, text) in args.iter().enumerate() {
        if text.is_empty() {
            return Err(usage(
                "The plaintext provided from the command line args was empty, not encrypting",
            ));
        }
        items.push((
            text.as_bytes().to_vec(),
            "the command line args",
            input.names.get(i).cloned(),
        ));
    }
    let several = items.len() > 1;
    let mut blocks = Vec::new();
    for (i, (plain, from, name)) in items.iter().enumerate() {
        let cipher = format::encrypt(plain, secret.password(), Some(&secret.label));
        if several {
            match name {
                Some(n) => eprintln!(
                    "# The encrypted version of variable (\"{n}\", the string #{} from {from}).",
                    i + 1
                ),
                None => eprintln!(
                    "# The encrypted version of the string #{} from {from}.)",
                    i + 1
                ),
            }
        }
        blocks.push(yaml_block(&cipher, name.as_deref()));
    }
    blocks.push(String::new());
    let text = blocks.join("\n");
    match output {
        Some(p) if p != Path::new("-") => write_file(p, text.as_bytes(), None)?,
        _ => write_stdout(text.as_bytes())?,
    }
    if std::io::stdout().is_terminal() {
        eprintln!("Encryption successful");
    }
    Ok(0)
}

/// `name: !vault |` and the vault text indented by ten, as ansible-vault prints it.
pub fn yaml_block(cipher: &[u8], name: Option<&str>) -> String {
    let mut lines = vec![match name {
        Some(n) => format!("{n}: !vault |"),
        None => "!vault |".to_string(),
    }];
    for l in String::from_utf8_lossy(cipher).lines() {
        lines.push(format!("{}{l}", " ".repeat(10)));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_blocks_look_like_ansible_vaults() {
        let block = yaml_block(b"$ANSIBLE_VAULT;1.1;AES256\n6162\n", Some("pw"));
        assert_eq!(
            block,
            "pw: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          6162"
        );
    }

    #[test]
    fn the_private_directory_is_gone_afterwards() {
        let p = PrivateDir::new(Path::new("x.yml")).unwrap();
        std::fs::write(&p.file, "secret").unwrap();
        let dir = p.dir.clone();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        drop(p);
        assert!(!dir.exists());
    }
}
