//! Ad-hoc mode: `baton run PATTERN -i INVENTORY -m MODULE -a ARGS`, as `ansible` runs it.
//!
//! Like Ansible, an ad-hoc command is a one-task play built in memory (`hosts: PATTERN`,
//! `gather_facts: false`, one task `MODULE: ARGS`) and run by the same executor as playbooks,
//! so connections, become, forks and exit codes behave exactly as in `baton play`. Only the
//! output differs: [`crate::output::adhoc::Adhoc`] prints `host | CHANGED | rc=0 >>` and
//! `host | SUCCESS => {...}` like ansible's minimal (or, with `-o`, oneline) callback.

use super::{OutputFormat, parse_extra_vars};
use crate::diagnostics::{Error, ErrorKind};
use crate::exec;
use crate::inventory::Inventory;
use crate::output::adhoc::{Adhoc, Origin};
use crate::output::json::JsonLines;
use crate::playbook;
use crate::vault::Masker;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// `baton run`: ansible's command line.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Hosts to run on: a host pattern (`all`, `web:&prod`, `db[0]`, ...).
    pub pattern: String,
    #[command(flatten)]
    pub flags: super::RunFlags,
    /// The module to run.
    #[arg(short = 'm', long = "module-name", default_value = "command")]
    pub module: String,
    /// The module's arguments: `key=value ...`, free text for command/shell/raw, or JSON.
    #[arg(short = 'a', long = "args", allow_hyphen_values = true)]
    pub args: Option<String>,
    /// How to become: sudo (default) or su.
    #[arg(long = "become-method")]
    pub become_method: Option<String>,
    /// Stop the module after this many seconds.
    #[arg(long = "task-timeout")]
    pub task_timeout: Option<u64>,
    /// One line per host.
    #[arg(short = 'o', long = "one-line")]
    pub one_line: bool,
    /// Output format.
    #[arg(long = "output", value_enum, default_value = "human")]
    pub output: OutputFormat,
    /// The directory that stands in for a playbook's (an ad-hoc command has none): its
    /// library/, collections/ and roles/ are used (default: the current directory).
    #[arg(
        long = "playbook-dir",
        env = "ANSIBLE_PLAYBOOK_DIR",
        value_name = "DIR"
    )]
    pub playbook_dir: Option<PathBuf>,
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
pub fn run(args: RunArgs, masker: &Arc<Masker>) -> Result<i32, Error> {
    // A module baton does not implement is looked for by the controller's ansible-core when
    // the generated play loads (see `load_in_memory`).
    let short: Option<&str> = crate::modules::canonical(&args.module).or_else(|| {
        crate::modules::python::could_be_module(&args.module).then_some(args.module.as_str())
    });
    // The reporter comes first: every warning, from ansible.cfg's on, goes through it.
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut reporter: Box<dyn exec::events::Reporter> = match args.output {
        OutputFormat::Human => Box::new(
            Adhoc::new(
                stdout,
                masker.clone(),
                short
                    .and_then(crate::modules::spec_of)
                    .map_or(crate::modules::Output::Json, |s| s.output),
                args.one_line,
                color,
            )
            .with_origin(origin(&args, short.unwrap_or(&args.module)))
            .with_verbosity(args.flags.verbose),
        ),
        OutputFormat::Json => Box::new(JsonLines::new(std::io::stdout(), masker.clone())),
    };
    let config = crate::config::Config::load()?;
    super::configure_templating(&config);
    for w in &config.warnings {
        reporter.event(&exec::events::Event::Warning(w));
    }
    // Vault passwords before the inventory: its vars files may be encrypted.
    let keyring = args
        .flags
        .vault
        .keyring_for_play(&mut |w| reporter.event(&exec::events::Event::Warning(&w)))?;
    crate::vault::install(keyring.with_masker(masker.clone()));
    let Some(short) = short else {
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
    let sources = args.flags.inventory_sources(&config);
    let inventory = Arc::new(Inventory::load_with_policy(
        &sources,
        None,
        &crate::inventory::sources::UnparsedPolicy::from_config(&config),
    )?);
    for w in inventory
        .warnings
        .iter()
        .cloned()
        .chain(inventory.empty_warning(&args.pattern, &config))
    {
        reporter.event(&exec::events::Event::Warning(&w));
    }
    let extra = parse_extra_vars(&args.flags.extra_vars)?;
    let book = load_in_memory(&playbook_text(&args), &config, args.playbook_dir.as_deref())?;
    let opts = args.flags.options(&config)?;
    // One connection per host stays open for the run: the open-files limit must hold them.
    super::limits::ensure_open_files(
        inventory
            .get_hosts(&args.pattern, args.flags.limit.as_deref())
            .map_or(0, |s| s.hosts.len()),
    )?;
    let runtime = super::runtime()?;
    let outcome = runtime.block_on(exec::run(&book, inventory, extra, opts, reporter.as_mut()))?;
    Ok(outcome.exit_code)
}

/// Loads the generated play through the normal playbook loader (so module arguments are read
/// exactly as in a playbook), from a private temporary file removed at once.
fn load_in_memory(
    text: &str,
    config: &crate::config::Config,
    playbook_dir: Option<&std::path::Path>,
) -> Result<playbook::Playbook, Error> {
    // A name nobody can predict, created only if nothing is there (no link is followed), and
    // readable by this user alone: the play holds the module's arguments.
    let mut rand = [0u8; 16];
    getrandom::fill(&mut rand).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("no randomness for a temporary file: {e}"),
        )
    })?;
    let name: String = rand.iter().map(|b| format!("{b:02x}")).collect();
    let path = std::env::temp_dir().join(format!("baton-adhoc-{name}.yml"));
    let fail = |e: std::io::Error| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(fail)?
    };
    if let Err(e) = std::io::Write::write_all(&mut file, text.as_bytes()) {
        // Ours: created just now.
        let _ = std::fs::remove_file(&path);
        return Err(fail(e));
    }
    drop(file);
    // Ansible's ad-hoc playbook_dir: --playbook-dir, else the current directory.
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let dir = playbook_dir.map_or_else(|| cwd.clone(), |d| cwd.join(d));
    let mut loader = playbook::Loader::for_playbook(&dir.join("adhoc.yml"));
    if !config.roles_path.is_empty() && std::env::var_os("ANSIBLE_ROLES_PATH").is_none() {
        loader.roles_path = config.roles_path.clone();
    }
    loader.python.set_library(&config.library);
    let loaded = playbook::load_with(&path, loader);
    let _ = std::fs::remove_file(&path);
    // The generated file is gone: an error about it (a module ansible-core does not know
    // either) is about the command line.
    let mut book = loaded.map_err(|mut e| {
        if e.span
            .as_ref()
            .is_some_and(|s| s.source.name == path.display().to_string())
        {
            e.span = None;
            e.context.clear();
        }
        e
    })?;
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
