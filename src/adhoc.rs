//! Ad-hoc mode: `baton run PATTERN -i INVENTORY -m MODULE -a ARGS`, as `ansible` runs it.
//!
//! Like Ansible, an ad-hoc command is a one-task play built in memory (`hosts: PATTERN`,
//! `gather_facts: false`, one task `MODULE: ARGS`) and run by the same executor as playbooks,
//! so connections, become, forks and exit codes behave exactly as in `baton play`. Only the
//! output differs: [`crate::output::adhoc::Adhoc`] prints `host | CHANGED | rc=0 >>` and
//! `host | SUCCESS => {...}` like ansible's minimal (or, with `-o`, oneline) callback.

use crate::cli::{OutputFormat, SecretArgs, parse_extra_vars};
use crate::diagnostics::{Error, ErrorKind};
use crate::exec::{self, Options};
use crate::inventory::Inventory;
use crate::output::adhoc::{Adhoc, Origin};
use crate::output::json::JsonLines;
use crate::playbook;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `baton run`: ansible's command line.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Hosts to run on: a host pattern (`all`, `web:&prod`, `db[0]`, ...).
    pub pattern: String,
    /// Inventory source: a file or a comma-separated host list. May be repeated.
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<String>,
    /// The module to run.
    #[arg(short = 'm', long = "module-name", default_value = "command")]
    pub module: String,
    /// The module's arguments: `key=value ...`, free text for command/shell/raw, or JSON.
    #[arg(short = 'a', long = "args", allow_hyphen_values = true)]
    pub args: Option<String>,
    /// Limit to hosts matching this pattern too.
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
    /// Run with become (sudo).
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    /// Become this user (default root).
    #[arg(long = "become-user")]
    pub become_user: Option<String>,
    /// How to become: sudo (default) or su.
    #[arg(long = "become-method")]
    pub become_method: Option<String>,
    /// Connection timeout in seconds.
    #[arg(short = 'T', long = "timeout")]
    pub timeout: Option<u64>,
    /// Stop the module after this many seconds.
    #[arg(long = "task-timeout")]
    pub task_timeout: Option<u64>,
    /// One line per host.
    #[arg(short = 'o', long = "one-line")]
    pub one_line: bool,
    /// More output (-v, -vv, -vvv, -vvvv).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Output format.
    #[arg(long = "output", value_enum, default_value = "human")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub secrets: SecretArgs,
    #[command(flatten)]
    pub vault: crate::vault::VaultPasswordArgs,
}

/// The one-play playbook of an ad-hoc command, as YAML (JSON flow style, so every value is
/// quoted exactly).
fn playbook_text(args: &RunArgs) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let module_args = match args.args.as_deref().map(str::trim) {
        None | Some("") => "{}".to_string(),
        // JSON arguments are a mapping already (and valid YAML).
        Some(a) if a.starts_with('{') => a.to_string(),
        Some(a) => q(a),
    };
    let mut task = format!("{}: {module_args}", q(&args.module));
    if let Some(t) = args.task_timeout.filter(|t| *t > 0) {
        task.push_str(&format!(", timeout: {t}"));
    }
    if let Some(m) = &args.become_method {
        task.push_str(&format!(", become_method: {}", q(m)));
    }
    format!(
        "[{{name: \"Ansible Ad-Hoc\", hosts: {}, gather_facts: false, tasks: [{{{task}}}]}}]\n",
        q(&args.pattern)
    )
}

/// The task as ansible-core shows it above a failure.
fn origin(args: &RunArgs, short: &str) -> Origin {
    use crate::value::{python_repr, to_json};
    let module_args = match args.args.as_deref().map(str::trim) {
        None | Some("") => serde_json::json!({}),
        Some(a) if a.starts_with('{') => {
            serde_json::from_str(a).unwrap_or_else(|_| serde_json::json!({ "_raw_params": a }))
        }
        Some(a) => serde_json::Value::Object(
            playbook::load::parse_free_form(short, a)
                .into_iter()
                .map(|(k, v)| (k, to_json(&v)))
                .collect(),
        ),
    };
    let on_host = crate::modules::spec_of(short).is_some_and(|s| s.connection);
    Origin {
        module: args.module.clone(),
        task_repr: format!(
            "{{'action': {}, 'args': {}, 'timeout': {}, 'async_val': 0, 'poll': 15}}",
            python_repr(&serde_json::Value::String(args.module.clone())),
            python_repr(&module_args),
            args.task_timeout.unwrap_or(0)
        ),
        kind: if on_host {
            "Module failed"
        } else {
            "Action failed"
        },
    }
}

/// Runs `baton run`; returns the exit status (ansible's: 0, 2 failed, 4 unreachable).
pub fn run(args: RunArgs) -> Result<i32, Error> {
    let config = crate::config::Config::load_for_command()?;
    // Vault passwords before the inventory: its vars files may be encrypted.
    crate::vault::install(args.vault.keyring_for_play()?);
    let Some(short) = crate::modules::canonical(&args.module) else {
        return Err(Error::new(
            ErrorKind::Syntax,
            crate::modules::unknown_action(&args.module),
        ));
    };
    // Ansible's MODULE_REQUIRE_ARGS: the command-line modules.
    if crate::modules::free_form(short) == crate::modules::FreeForm::Command
        && args.args.as_deref().is_none_or(|a| a.trim().is_empty())
    {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("No argument passed to {short} module"),
        ));
    }
    let sources = if !args.inventory.is_empty() {
        args.inventory.clone()
    } else if !config.inventory.is_empty() {
        config.inventory.clone()
    } else if std::path::Path::new("/etc/ansible/hosts").exists() {
        vec!["/etc/ansible/hosts".to_string()]
    } else {
        Vec::new()
    };
    let inventory = Arc::new(Inventory::load(&sources)?);
    let extra = parse_extra_vars(&args.extra_vars)?;
    let book = load_in_memory(&playbook_text(&args), &config)?;
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
        conn: args
            .secrets
            .conn_defaults(args.timeout.or(config.timeout).is_some())?,
        ..Options::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot start the runtime: {e}"),
            )
        })?;
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut reporter: Box<dyn exec::events::Reporter> = match args.output {
        OutputFormat::Human => Box::new(
            Adhoc::new(
                stdout,
                crate::modules::spec_of(short).map_or(crate::modules::Output::Json, |s| s.output),
                args.one_line,
                color,
            )
            .with_origin(origin(&args, short)),
        ),
        OutputFormat::Json => Box::new(JsonLines::new(std::io::stdout())),
    };
    let outcome = runtime.block_on(exec::run(&book, inventory, extra, opts, reporter.as_mut()))?;
    Ok(outcome.exit_code)
}

/// Loads the generated play through the normal playbook loader (so module arguments are read
/// exactly as in a playbook), from a private temporary file removed at once.
fn load_in_memory(text: &str, config: &crate::config::Config) -> Result<playbook::Playbook, Error> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!("baton-adhoc-{}-{nanos}.yml", std::process::id()));
    std::fs::write(&path, text).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    // Ansible's ad-hoc playbook_dir is the current directory.
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut loader = playbook::Loader::for_playbook(&cwd.join("adhoc.yml"));
    if !config.roles_path.is_empty() && std::env::var_os("ANSIBLE_ROLES_PATH").is_none() {
        loader.roles_path = config.roles_path.clone();
    }
    let loaded = playbook::load_with(&path, loader);
    let _ = std::fs::remove_file(&path);
    let mut book = loaded?;
    book.path = cwd.join("<ad-hoc>");
    Ok(book)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(argv: &[&str]) -> RunArgs {
        Wrap::parse_from(std::iter::once("baton").chain(argv.iter().copied())).run
    }

    #[test]
    fn failures_show_the_task_as_ansible_does() {
        let a = parse(&["all", "-m", "shell", "-a", "printf 'a\\nb\\n'; exit 3"]);
        assert_eq!(
            origin(&a, "shell").task_repr,
            "{'action': 'shell', 'args': {'_raw_params': \"printf 'a\\\\nb\\\\n'; exit 3\"}, \
             'timeout': 0, 'async_val': 0, 'poll': 15}"
        );
        let a = parse(&["all", "-m", "fail", "-a", "msg=boom"]);
        let o = origin(&a, "fail");
        assert_eq!(o.kind, "Action failed");
        assert!(
            o.task_repr.contains("'args': {'msg': 'boom'}"),
            "{}",
            o.task_repr
        );
    }

    #[test]
    fn the_play_quotes_pattern_and_arguments() {
        let a = parse(&[
            "web:&prod",
            "-m",
            "shell",
            "-a",
            "echo \"hi\" 'there'",
            "--task-timeout",
            "5",
        ]);
        assert_eq!(
            playbook_text(&a),
            "[{name: \"Ansible Ad-Hoc\", hosts: \"web:&prod\", gather_facts: false, \
             tasks: [{\"shell\": \"echo \\\"hi\\\" 'there'\", timeout: 5}]}]\n"
        );
        let a = parse(&["all", "-m", "ping"]);
        assert!(playbook_text(&a).contains("\"ping\": {}"));
        let a = parse(&["all", "-m", "debug", "-a", "{\"msg\": 1}"]);
        assert!(playbook_text(&a).contains("\"debug\": {\"msg\": 1}"));
    }
}
