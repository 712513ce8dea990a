//! The command line: parsing flags (compatible with ansible-playbook's) and dispatching to the
//! library. Nothing here does work of its own beyond reading options and printing errors.

use crate::connection::ConnDefaults;
use crate::diagnostics::{Error, ErrorKind, Source};
use crate::exec::{self, Options};
use crate::inventory::Inventory;
use crate::output::{human::Human, json::JsonLines};
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
    Play(Box<PlayArgs>),
    /// Show an inventory as baton reads it (like ansible-inventory).
    Inventory(crate::inventory::command::InventoryArgs),
    /// Encrypt, decrypt and edit Ansible Vault files (like ansible-vault).
    Vault(crate::vault::VaultArgs),
    /// Run one module on hosts, ad hoc (like ansible): baton run web -m shell -a uptime
    Run(Box<crate::adhoc::RunArgs>),
    /// Render a template with one host's variables to stdout:
    /// baton template nginx.conf.j2 -i inventories/production --host lb1
    Template(crate::template_command::TemplateArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub struct PlayArgs {
    /// The playbook file(s) to run, in order.
    #[arg(required = true)]
    pub playbooks: Vec<PathBuf>,
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
    /// Only run tasks with these tags (comma-separated; may be repeated).
    #[arg(short = 't', long = "tags", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip tasks with these tags (comma-separated; may be repeated).
    #[arg(long = "skip-tags", value_delimiter = ',')]
    pub skip_tags: Vec<String>,
    /// Start the playbook at the task with this name (or glob).
    #[arg(long = "start-at-task")]
    pub start_at_task: Option<String>,
    /// Confirm each task before running it.
    #[arg(long = "step")]
    pub step: bool,
    /// Only check the playbook's syntax.
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,
    /// Clear the fact cache of every host in the inventory before running.
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,
    /// List the hosts each play would run on, and stop.
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,
    /// List the tasks each play would run, and stop.
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,
    /// List the tags of the tasks, and stop.
    #[arg(long = "list-tags")]
    pub list_tags: bool,
    /// Output format.
    #[arg(long = "output", value_enum, default_value = "human")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub vault: crate::vault::VaultPasswordArgs,
    #[command(flatten)]
    pub secrets: SecretArgs,
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's own exit status: 0 for --help/--version, 2 for usage errors (as Ansible).
            return e.exit_code();
        }
    };
    // Log lines and the progress bar share stderr through one console (crate::output::log).
    let console = crate::output::log::Console::stderr();
    init_tracing(
        match &cli.command {
            Command::Play(a) => a.verbose,
            Command::Inventory(_) | Command::Vault(_) | Command::Template(_) => 0,
            Command::Run(a) => a.verbose,
        },
        console.clone(),
    );
    let result = match cli.command {
        Command::Play(args) => play(*args, console),
        Command::Inventory(args) => crate::inventory::command::run(args),
        Command::Vault(args) => crate::vault::command::run(args),
        Command::Run(args) => crate::adhoc::run(*args),
        Command::Template(args) => crate::template_command::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // An error may quote a templated value: vault secrets are masked.
            eprintln!("ERROR! {}", crate::vault::mask(&e.to_string()));
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

fn play(args: PlayArgs, console: Arc<crate::output::log::Console>) -> Result<i32, Error> {
    let config = crate::config::Config::load_for_command()?;
    // Vault passwords first: loading playbooks and inventory decrypts vaulted files.
    crate::vault::install(args.vault.keyring_for_play()?);
    let mut books = Vec::new();
    for path in &args.playbooks {
        if !path.exists() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("the playbook: {} could not be found", path.display()),
            ));
        }
        let mut loader = playbook::Loader::for_playbook(path);
        if !config.roles_path.is_empty() && std::env::var_os("ANSIBLE_ROLES_PATH").is_none() {
            loader.roles_path = config.roles_path.clone();
        }
        books.push(playbook::load_with(path, loader)?);
    }
    let sources = if args.inventory.is_empty() {
        if !config.inventory.is_empty() {
            config.inventory.clone()
        } else if std::path::Path::new("/etc/ansible/hosts").exists() {
            vec!["/etc/ansible/hosts".to_string()]
        } else {
            Vec::new()
        }
    } else {
        args.inventory.clone()
    };
    // The group_vars/ and host_vars/ beside the (first) playbook rank above the inventory's own.
    let inventory = Arc::new(Inventory::load_with_playbook_dir(
        &sources,
        books.first().map(|b| b.dir.as_path()),
    )?);
    let mut warnings = inventory.warnings.clone();
    let extra = parse_extra_vars_warning(&args.extra_vars, &mut warnings)?;
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut reporter: Box<dyn exec::events::Reporter> = match args.output {
        OutputFormat::Human => {
            Box::new(Human::new(stdout, args.verbose, color).with_diff(args.diff))
        }
        OutputFormat::Json => Box::new(JsonLines::new(std::io::stdout())),
    };
    // On a terminal, a progress bar shows the batch, the task and the hosts done.
    if matches!(args.output, OutputFormat::Human)
        && std::io::stderr().is_terminal()
        && std::env::var_os("BATON_NO_PROGRESS").is_none()
    {
        reporter = Box::new(crate::output::progress::Progress::new(
            reporter,
            console.clone(),
        ));
    }
    // What reading the inventory, the extra vars and the playbooks found worth a warning, in
    // that order (ansible-playbook's), through the reporter like every warning of a run.
    for b in &books {
        warnings.extend(b.loader.take_warnings());
    }
    for w in &warnings {
        reporter.event(&exec::events::Event::Warning(w));
    }
    let fact_cache = crate::modules::fact_cache::FactCache::from_config(&config).map(Arc::new);
    if args.flush_cache {
        flush_fact_cache(fact_cache.as_deref(), &inventory)?;
    }
    if args.syntax_check {
        for b in &books {
            println!("\nplaybook: {}", b.path.display());
        }
        return Ok(0);
    }
    if args.list_hosts || args.list_tasks || args.list_tags {
        let listing = crate::output::listing::Listing {
            inventory: &inventory,
            limit: args.limit.as_deref(),
            tags: &args.tags,
            skip_tags: &args.skip_tags,
        };
        for b in &books {
            let text = if args.list_hosts {
                listing.list_hosts(b)
            } else if args.list_tasks {
                listing.list_tasks(b)
            } else {
                listing.list_tags(b)
            };
            print!("{text}");
        }
        return Ok(0);
    }
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let opts = Options {
        forks: args.forks.or(config.forks).unwrap_or(5),
        check: args.check,
        diff: args.diff,
        limit: args.limit.clone(),
        remote_user: args.user.clone().or(config.remote_user.clone()),
        connection: args.connection.clone(),
        private_key: args.private_key.clone().or(config.private_key_file.clone()),
        become_: args.become_ || config.become_.unwrap_or(false),
        become_user: args.become_user.clone().or(config.become_user.clone()),
        connect_timeout: Duration::from_secs(args.timeout.or(config.timeout).unwrap_or(10)),
        host_key_checking: config.host_key_checking.unwrap_or(true),
        verbosity: args.verbose,
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        start_at_task: args.start_at_task.clone(),
        step: args.step,
        interrupted: interrupted.clone(),
        gathering: config
            .gathering
            .clone()
            .unwrap_or_else(|| "implicit".into()),
        fact_cache,
        strategy: config.strategy.clone().unwrap_or_else(|| "linear".into()),
        ..Options::default()
    };
    // Passwords are asked for here, once, before anything connects.
    let opts = Options {
        conn: args
            .secrets
            .conn_defaults(args.timeout.or(config.timeout).is_some())?,
        ..opts
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot start the runtime: {e}"),
            )
        })?;
    // Ctrl-C: no new task starts, running ones finish, the recap is shown, exit 99. A second
    // Ctrl-C stops at once.
    {
        let flag = interrupted.clone();
        let console = console.clone();
        runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                console.write("\n[ERROR]: User interrupted execution\n");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(99);
                }
            }
        });
    }
    let mut code = 0;
    for book in &books {
        let outcome = runtime.block_on(exec::run(
            book,
            inventory.clone(),
            extra.clone(),
            opts.clone(),
            reporter.as_mut(),
        ))?;
        code = outcome.exit_code;
        if config.retry_files_enabled.unwrap_or(false) && !outcome.retry_hosts.is_empty() {
            write_retry_file(book, &config, &outcome.retry_hosts);
        }
        if code != 0 {
            break;
        }
    }
    Ok(code)
}

/// `--flush-cache`, as ansible-playbook does it before anything else: the cached facts of every
/// host of the inventory (whatever `--limit` says) and of `localhost` are forgotten.
fn flush_fact_cache(
    cache: Option<&crate::modules::fact_cache::FactCache>,
    inventory: &Inventory,
) -> Result<(), Error> {
    let Some(cache) = cache else {
        // Only the memory cache, which starts empty every run.
        return Ok(());
    };
    for host in inventory
        .hosts
        .keys()
        .map(String::as_str)
        .chain(std::iter::once("localhost"))
    {
        cache.remove(host).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot clear the cached facts of {host}: {e}"),
            )
        })?;
    }
    Ok(())
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
            let v = playbook::load::load_vars_file(std::path::Path::new(file), warnings)
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

/// A retry file as ansible-playbook writes it: `PLAYBOOK.retry` beside the playbook (or in
/// `retry_files_save_path`), one failed or unreachable host per line, for `--limit @FILE`.
fn write_retry_file(book: &playbook::Playbook, config: &crate::config::Config, hosts: &[String]) {
    let stem = book
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "playbook".to_string());
    let dir = config
        .retry_files_save_path
        .clone()
        .unwrap_or_else(|| book.dir.clone());
    let file = dir.join(format!("{stem}.retry"));
    let text: String = hosts.iter().map(|h| format!("{h}\n")).collect();
    match std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&file, text)) {
        Ok(()) => eprintln!("\tto retry, use: --limit @{}", file.display()),
        Err(e) => eprintln!(
            "[WARNING]: Could not create retry file '{}'. {e}",
            file.display()
        ),
    }
}
