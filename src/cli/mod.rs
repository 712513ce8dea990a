//! The command line: every subcommand and its flags (compatible with ansible-playbook's,
//! ansible's, ansible-inventory's and ansible-vault's), one file each, with the flags they share
//! declared once here ([`RunFlags`], [`SecretArgs`]). Nothing here does the work: it reads
//! options, hands them to the library, and prints what the library could not (errors).
//!
//! `play` (play.rs) and `run` (run.rs) drive the executor; `inventory`, `vault` and `template`
//! are the inspection and file tools; `completions` and `man` describe the command line itself.

pub mod completions;
pub mod inventory;
pub mod limits;
pub mod multicall;
pub mod play;
pub mod report;
pub mod run;
pub mod template;
pub mod vault;

use crate::config::Config;
use crate::connection::ConnDefaults;
use crate::diagnostics::{Error, ErrorKind, Source};
use crate::exec::Options;
use crate::playbook;
use crate::value::{self, Value, Vars};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// An agentless server orchestrator over SSH that speaks Ansible's language.
#[derive(Parser, Debug)]
#[command(name = "baton", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a playbook (like ansible-playbook).
    Play(Box<play::PlayArgs>),
    /// Show an inventory as baton reads it (like ansible-inventory).
    Inventory(crate::cli::inventory::InventoryArgs),
    /// Encrypt, decrypt and edit Ansible Vault files (like ansible-vault).
    Vault(crate::cli::vault::VaultArgs),
    /// Run one module on hosts, ad hoc (like ansible): baton run web -m shell -a uptime
    Run(Box<crate::cli::run::RunArgs>),
    /// Render a template with one host's variables (and its role's defaults and vars) to
    /// stdout: baton template --role nginx_lb nginx.conf.j2 -i inventories/example --host lb1
    Template(Box<crate::cli::template::TemplateArgs>),
    /// Print a shell completion script: source <(baton completions bash)
    Completions(crate::cli::completions::CompletionsArgs),
    /// Print the manual page (roff): baton man | man -l -
    Man(crate::cli::completions::ManArgs),
    /// Work with recorded runs: `baton report merge shard-*.json --json run.json` joins the
    /// `--output json` streams of `baton play --shard K/N` runs into one recap and exit status.
    Report(crate::cli::report::ReportArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

/// The flags `play` and `run` share, as ansible-playbook and ansible share them: what to run
/// on, how to connect and escalate, passwords and vault secrets. Declared once, flattened into
/// both commands.
#[derive(Args, Debug)]
pub struct RunFlags {
    /// Inventory source: a file or a comma-separated host list. May be repeated.
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<String>,
    /// Limit the run to hosts matching this pattern.
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// Extra variables: key=value pairs, JSON/YAML, or @file. May be repeated.
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// How many hosts to work on at once.
    #[arg(short = 'f', long = "forks")]
    pub forks: Option<usize>,
    /// Predict changes without making them.
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Show the differences in changed files.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// Connection type to use (ssh, local).
    #[arg(short = 'c', long = "connection", env = "ANSIBLE_TRANSPORT")]
    pub connection: Option<String>,
    /// Connect as this user.
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Use this private key file.
    #[arg(long = "private-key", alias = "key-file")]
    pub private_key: Option<PathBuf>,
    /// Run operations with become (sudo).
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    /// Become this user (default root).
    #[arg(long = "become-user")]
    pub become_user: Option<String>,
    /// Connection timeout in seconds.
    #[arg(short = 'T', long = "timeout")]
    pub timeout: Option<u64>,
    /// More output (-v, -vv, -vvv, -vvvv).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub vault: crate::cli::vault::VaultPasswordArgs,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

impl RunFlags {
    /// Where hosts come from: `-i`, else ansible.cfg's `inventory`, else /etc/ansible/hosts.
    pub fn inventory_sources(&self, config: &Config) -> Vec<String> {
        if !self.inventory.is_empty() {
            self.inventory.clone()
        } else if !config.inventory.is_empty() {
            config.inventory.clone()
        } else if std::path::Path::new("/etc/ansible/hosts").exists() {
            vec!["/etc/ansible/hosts".to_string()]
        } else {
            Vec::new()
        }
    }

    /// The executor's options these flags give, over ansible.cfg's settings. Passwords are read
    /// or asked for here, once, before anything connects.
    pub fn options(&self, config: &Config) -> Result<Options, Error> {
        Ok(Options {
            forks: self.forks.or(config.forks).unwrap_or(5),
            check: self.check,
            diff: self.diff,
            limit: self.limit.clone(),
            remote_user: self.user.clone().or(config.remote_user.clone()),
            connection: self.connection.clone(),
            private_key: self.private_key.clone().or(config.private_key_file.clone()),
            become_: self.become_ || config.become_.unwrap_or(false),
            become_user: self.become_user.clone().or(config.become_user.clone()),
            connect_timeout: Duration::from_secs(self.timeout.or(config.timeout).unwrap_or(10)),
            host_key_checking: config.host_key_checking.unwrap_or(true),
            verbosity: self.verbose,
            facts_modules: config.facts_modules.clone(),
            conn: self
                .secrets
                .conn_defaults(self.timeout.or(config.timeout).is_some())?,
            ..Options::default()
        })
    }
}

/// The multi-threaded runtime a command's hosts run on, with [`WORKER_STACK_BYTES`] stacks.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot start the runtime: {e}"),
            )
        })
}

/// Passwords and ssh options, shared by `play` and `run`.
#[derive(Args, Debug, Clone, Default)]
pub struct SecretArgs {
    /// Ask for the connection (ssh login) password.
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,
    /// Ask for the become (sudo) password.
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,
    /// Read the connection password from this file.
    #[arg(long = "connection-password-file", alias = "conn-pass-file")]
    pub connection_password_file: Option<PathBuf>,
    /// Read the become password from this file.
    #[arg(long = "become-password-file", alias = "become-pass-file")]
    pub become_password_file: Option<PathBuf>,
    /// Read the passphrase of encrypted private keys from this file.
    #[arg(long = "key-passphrase-file")]
    pub key_passphrase_file: Option<PathBuf>,
    /// Arguments for ssh, e.g. "-o ProxyJump=bastion" (as ansible_ssh_common_args).
    #[arg(long = "ssh-common-args", allow_hyphen_values = true)]
    pub ssh_common_args: Option<String>,
    /// More arguments for ssh (as ansible_ssh_extra_args).
    #[arg(long = "ssh-extra-args", allow_hyphen_values = true)]
    pub ssh_extra_args: Option<String>,
}

impl SecretArgs {
    /// The connection defaults these flags give: passwords read from files or asked for on
    /// the terminal (once, before anything connects), ssh arguments.
    pub fn conn_defaults(&self, explicit_timeout: bool) -> Result<ConnDefaults, Error> {
        use crate::connection::{Secret, tty};
        let read_file = |path: &PathBuf, what: &str| -> Result<Secret, Error> {
            std::fs::read_to_string(path)
                .map(|t| Secret::new(t.trim_end_matches(['\n', '\r'])))
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Usage,
                        format!("cannot read the {what} file {}: {e}", path.display()),
                    )
                })
        };
        let ask = |prompt: &str| -> Result<Secret, Error> {
            tty::read_secret(prompt)
                .map(Secret::new)
                .map_err(|e| Error::new(ErrorKind::Usage, e))
        };
        let password = match (&self.connection_password_file, self.ask_pass) {
            (Some(f), _) => Some(read_file(f, "connection password")?),
            (None, true) => Some(ask("SSH password: ")?),
            (None, false) => None,
        };
        let become_password = match (&self.become_password_file, self.ask_become_pass) {
            (Some(f), _) => Some(read_file(f, "become password")?),
            (None, true) => {
                let prompt = if password.is_some() {
                    "BECOME password[defaults to SSH password]: "
                } else {
                    "BECOME password: "
                };
                let answer = ask(prompt)?;
                match (&password, answer.expose().is_empty()) {
                    (Some(p), true) => Some(p.clone()),
                    _ => Some(answer),
                }
            }
            // As the become plugins' `become_pass` option: CI pipelines pass it this way.
            // `ansible_become_password` on a host still wins over it.
            (None, false) => ["ANSIBLE_BECOME_PASS", "ANSIBLE_BECOME_PASSWORD"]
                .iter()
                .find_map(|name| std::env::var(name).ok())
                .map(Secret::new),
        };
        let key_passphrase = match &self.key_passphrase_file {
            Some(f) => Some(read_file(f, "key passphrase")?),
            None => None,
        };
        Ok(ConnDefaults {
            password,
            become_password,
            ssh_common_args: self.ssh_common_args.clone(),
            ssh_extra_args: self.ssh_extra_args.clone(),
            key_passphrase,
            interactive: std::io::stdin().is_terminal() && tty::available(),
            explicit_timeout,
        })
    }
}

/// The stack of the thread that does a command's work, the executor's included. The executor
/// recurses once per nested include (a few dozen kilobytes a level in a debug build), and the
/// main thread's 8 MB would end a legitimate deep recursion in a stack overflow, which aborts
/// the process with no recap. Only what is used is ever committed.
pub(crate) const MAIN_STACK_BYTES: usize = 512 << 20;

/// The stack of the runtime's worker threads, where each host's task runs: templating and
/// writing deeply nested values recurse there.
pub(crate) const WORKER_STACK_BYTES: usize = 32 << 20;

/// Runs the command line and returns the process exit status. The work runs on a thread with
/// a large stack ([`MAIN_STACK_BYTES`]); a panic that escapes it (a bug) is reported as an
/// error, exit status 4, never an abort.
pub fn main() -> i32 {
    install_panic_hook();
    let work = std::thread::Builder::new()
        .name("baton".into())
        .stack_size(MAIN_STACK_BYTES)
        .spawn(run);
    match work {
        Ok(handle) => match handle.join() {
            Ok(code) => code,
            Err(panic) => {
                eprintln!(
                    "ERROR! baton stopped on an internal error (a bug): {}",
                    crate::exec::unwind::panic_message(panic.as_ref())
                );
                4
            }
        },
        // No thread to be had: the work is done here, with the main thread's stack.
        Err(_) => run(),
    }
}

/// Panics are bugs: say so in one line, where it happened, without the standard hook's advice
/// about backtraces (which the standard hook still gives when `RUST_BACKTRACE` asks for one).
fn install_panic_hook() {
    let standard = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            standard(info);
            return;
        }
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "[ERROR]: baton hit an internal error (a bug){place}: {}",
            crate::exec::unwind::panic_message(info.payload())
        );
    }));
}

fn run() -> i32 {
    crate::exec::unwind::fault("cli", "load");
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let argv = match multicall::argv(argv) {
        multicall::Invocation::Baton(argv) => argv,
        multicall::Invocation::Version(name) => {
            print!("{}", multicall::version_text(&name));
            return 0;
        }
    };
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's own exit status: 0 for --help/--version, 2 for usage errors (as Ansible).
            return e.exit_code();
        }
    };
    // The run's secrets: the keyring registers what it decrypts, every printer masks it.
    let masker = crate::vault::Masker::new();
    // Log lines and the progress bar share stderr through one console (crate::output::log).
    let console = crate::output::log::Console::stderr(masker.clone());
    init_tracing(
        match &cli.command {
            Command::Play(a) => a.flags.verbose,
            Command::Inventory(_)
            | Command::Vault(_)
            | Command::Template(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Report(_) => 0,
            Command::Run(a) => a.flags.verbose,
        },
        console.clone(),
    );
    let result = match cli.command {
        Command::Play(args) => play::play(*args, console),
        Command::Inventory(args) => crate::cli::inventory::run(args, &masker),
        Command::Vault(args) => crate::cli::vault::run(args),
        Command::Run(args) => crate::cli::run::run(*args, &masker),
        Command::Template(args) => crate::cli::template::run(*args, &masker),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        Command::Report(args) => crate::cli::report::run(args, &masker),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // An error may quote a templated value: vault secrets are masked.
            // ansible-core 2.19's error prefix.
            eprintln!("[ERROR]: {}", masker.mask(&e.to_string()));
            e.exit_code()
        }
    }
}

fn init_tracing(verbosity: u8, console: Arc<crate::output::log::Console>) {
    let level = match verbosity {
        0..=2 => "warn",
        3 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BATON_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("baton={level},russh=warn"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::output::log::LogSink(console))
        .with_target(false)
        .try_init();
}

/// `-e` values: `@file`, a JSON/YAML mapping, or `key=value` pairs; later ones win.
pub fn parse_extra_vars(items: &[String]) -> Result<Vars, Error> {
    parse_extra_vars_warning(items, &mut Vec::new())
}

/// [`parse_extra_vars`], adding what reading the files and mappings found worth a warning
/// (duplicate keys) to `warnings`.
pub fn parse_extra_vars_warning(
    items: &[String],
    warnings: &mut Vec<String>,
) -> Result<Vars, Error> {
    let mut vars = Vars::new();
    for item in items {
        let item = item.trim();
        if let Some(file) = item.strip_prefix('@') {
            let v = crate::value::load_vars_file(std::path::Path::new(file), warnings)
                .map_err(|e| e.context(format!("while reading extra vars from {file}")))?;
            vars.extend(v);
        } else if item.starts_with('{') || item.starts_with('[') {
            let loaded = crate::yaml::load(
                &Source::new("<extra vars>", item),
                crate::yaml::Aliases::Shared,
            )?;
            warnings.extend(loaded.warnings);
            let node = loaded.node;
            let v = value::vars_from_node(&node).ok_or_else(|| {
                Error::new(
                    ErrorKind::Usage,
                    format!("extra vars must be a mapping, got: {item}"),
                )
            })?;
            vars.extend(v);
        } else {
            for (k, v) in playbook::load::parse_free_form("", item) {
                if k == "_raw_params" {
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!("invalid extra vars '{item}': expected key=value, @file or JSON"),
                    ));
                }
                vars.insert(k, v);
            }
        }
    }
    let _ = Value::from(());
    Ok(vars)
}

/// Fixes what templating takes from the configuration (`ALLOW_BROKEN_CONDITIONALS`,
/// `ansible_managed`) for this process, before anything is templated.
pub(crate) fn configure_templating(config: &crate::config::Config) {
    crate::template::configure(crate::template::Settings {
        allow_broken_conditionals: config.allow_broken_conditionals.unwrap_or(false),
        managed_str: config.ansible_managed.clone(),
        private_role_vars: config.private_role_vars,
    });
}
