//! `baton play`: ansible-playbook. Loads the playbooks and the inventory, answers the listing
//! and syntax-check flags, and otherwise runs each playbook through the executor with the
//! human or JSON reporter, writing a retry file where ansible.cfg asks for one.

use super::{OutputFormat, RunFlags, parse_extra_vars_warning};
use crate::diagnostics::{Error, ErrorKind};
use crate::exec::{self, Options};
use crate::inventory::Inventory;
use crate::output::{human::Human, json::JsonLines};
use crate::playbook;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// `baton play`: ansible-playbook's command line.
#[derive(Args, Debug)]
pub struct PlayArgs {
    /// The playbook file(s) to run, in order.
    #[arg(required = true)]
    pub playbooks: Vec<PathBuf>,
    #[command(flatten)]
    pub flags: RunFlags,
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
    /// Run handlers even on hosts that failed.
    #[arg(long = "force-handlers")]
    pub force_handlers: bool,
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
    /// Write a self-contained HTML report of the run (timeline, recap, failures, diffs) to
    /// FILE, at the end of the run or when it stops early (also `[baton] report` in
    /// ansible.cfg, or BATON_REPORT).
    #[arg(long = "report", value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write JUnit XML as Ansible's junit callback does: into the directory PATH
    /// (PLAYBOOK-TIME.xml), or to PATH itself when it ends in `.xml` (also
    /// `callbacks_enabled = junit` with JUNIT_OUTPUT_DIR).
    #[arg(long = "junit", value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Run only shard K of N of the hosts (a stable hash of each host's inventory name);
    /// `baton report merge` joins the N shards' `--output json` streams.
    #[arg(long = "shard", value_name = "K/N")]
    pub shard: Option<String>,
}

pub(super) fn play(
    args: PlayArgs,
    console: Arc<crate::output::log::Console>,
) -> Result<i32, Error> {
    let masker = console.masker().clone();
    let config = crate::config::Config::load()?;
    let shard = args
        .shard
        .as_deref()
        .map(exec::shard::Shard::parse)
        .transpose()?;
    // The reporter comes first: every warning, from ansible.cfg's on, goes through it.
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let display = crate::output::options::DisplayOptions::from_config(&config);
    let mut reporter: Box<dyn exec::events::Reporter> = match args.output {
        OutputFormat::Human => Box::new(
            Human::new(stdout, masker.clone(), args.flags.verbose, color)
                .with_diff(args.flags.diff)
                .with_options(display.clone(), args.flags.check),
        ),
        OutputFormat::Json => Box::new(JsonLines::new(std::io::stdout(), masker.clone())),
    };
    // profile_tasks and timer, when `callbacks_enabled` names them, after the stdout reporter.
    if !display.callbacks.is_empty() {
        reporter = Box::new(crate::output::profile::Aggregate::new(
            reporter,
            std::io::stdout(),
            masker.clone(),
            &display.callbacks,
            args.flags.verbose,
        ));
    }
    super::configure_templating(&config);
    // ansible-playbook -v says which configuration it read first.
    let config_line = match &config.file {
        Some(f) => format!(
            "Using {} as config file",
            std::path::absolute(f)
                .unwrap_or_else(|_| f.clone())
                .display()
        ),
        None => "No config file found; using defaults".to_string(),
    };
    reporter.event(&exec::events::Event::Verbose {
        level: 1,
        text: &config_line,
    });
    for w in &config.warnings {
        reporter.event(&exec::events::Event::Warning(w));
    }
    // Vault passwords next: loading playbooks and inventory decrypts vaulted files.
    let keyring = args
        .flags
        .vault
        .keyring_for_play(&mut |w| reporter.event(&exec::events::Event::Warning(&w)))?;
    crate::vault::install(keyring.with_masker(masker));
    // Static imports are templated with the extra vars while the playbooks load.
    let mut extra_warnings = Vec::new();
    let extra = parse_extra_vars_warning(&args.flags.extra_vars, &mut extra_warnings)?;
    let extra_for_loading = Arc::new(extra.clone());
    let mut books = Vec::new();
    for path in &args.playbooks {
        if !path.exists() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("the playbook: {} could not be found", path.display()),
            ));
        }
        let mut loader = playbook::Loader::for_playbook(path);
        loader.extra_vars = extra_for_loading.clone();
        if !config.roles_path.is_empty() && std::env::var_os("ANSIBLE_ROLES_PATH").is_none() {
            loader.roles_path = config.roles_path.clone();
        }
        loader.python.set_library(&config.library);
        books.push(playbook::load_with(path, loader)?);
    }
    if shard.is_some() {
        exec::shard::refuse_fleet_wide(&books)?;
    }
    let sources = args.flags.inventory_sources(&config);
    // The group_vars/ and host_vars/ beside the (first) playbook rank above the inventory's own.
    let policy = crate::inventory::sources::UnparsedPolicy::from_config(&config);
    let inventory = Arc::new(Inventory::load_with_policy(
        &sources,
        books.first().map(|b| b.dir.as_path()),
        &policy,
    )?);
    let mut warnings = inventory.warnings.clone();
    warnings.extend(inventory.empty_warning("all", &config));
    warnings.extend(extra_warnings);
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
            limit: args.flags.limit.as_deref(),
            tags: &args.tags,
            skip_tags: &args.skip_tags,
            extra: &extra,
        };
        for b in &books {
            print!(
                "{}",
                listing.list(b, args.list_hosts, args.list_tasks, args.list_tags)
            );
        }
        return Ok(0);
    }
    // The report and the JUnit file record what the run's output shows, as it shows it.
    let sink = report_sink(&args, &config, console.masker());
    if let Some(s) = &sink {
        reporter = s.tee(reporter);
    }
    // One connection per host stays open for the run: the open-files limit must hold them.
    let hosts = inventory
        .get_hosts("all", args.flags.limit.as_deref())
        .map(|s| s.hosts)
        .unwrap_or_default();
    super::limits::ensure_open_files(
        hosts
            .iter()
            .filter(|h| shard.is_none_or(|s| s.contains(h)))
            .count(),
    )?;
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Passwords are asked for here, once, before anything connects.
    let opts = Options {
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
        force_handlers: args.force_handlers || config.force_handlers.unwrap_or(false),
        reload_inventory: Some(exec::InventoryReload({
            let sources = sources.clone();
            let dir = books.first().map(|b| b.dir.clone());
            Arc::new(move || Inventory::load_with_policy(&sources, dir.as_deref(), &policy))
        })),
        error_on_missing_handler: config.error_on_missing_handler.unwrap_or(true),
        debug: config.debug.unwrap_or(false),
        shard,
        ..args.flags.options(&config)?
    };
    let runtime = super::runtime()?;
    // Ctrl-C: no new task starts, running ones finish, the recap is shown, exit 99. A second
    // Ctrl-C stops at once.
    {
        let flag = interrupted.clone();
        let console = console.clone();
        let sink = sink.clone();
        runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                console.write("\n[ERROR]: User interrupted execution\n");
                if let Some(s) = &sink {
                    s.stopped("User interrupted execution");
                }
                if tokio::signal::ctrl_c().await.is_ok() {
                    // The report of what ran, before the process ends.
                    if let Some(s) = &sink {
                        s.finish();
                    }
                    std::process::exit(99);
                }
            }
        });
    }
    let mut code = 0;
    for book in &books {
        let outcome = match runtime.block_on(exec::run(
            book,
            inventory.clone(),
            extra.clone(),
            opts.clone(),
            reporter.as_mut(),
        )) {
            Ok(o) => o,
            Err(e) => {
                // A fatal error: the report says so, with what ran.
                if let Some(s) = &sink {
                    s.stopped(&e.to_string());
                    finish_report(s, reporter.as_mut());
                }
                return Err(e);
            }
        };
        code = outcome.exit_code;
        if config.retry_files_enabled.unwrap_or(false) && !outcome.retry_hosts.is_empty() {
            write_retry_file(book, &config, &outcome.retry_hosts, reporter.as_mut());
        }
        if code != 0 {
            break;
        }
    }
    if let Some(s) = &sink {
        finish_report(s, reporter.as_mut());
    }
    // A shard's JSON stream ends with its exit status, for `baton report merge`.
    if let (Some(shard), OutputFormat::Json) = (shard, args.output) {
        drop(reporter);
        println!(
            "{}",
            serde_json::json!({"event": "shard_end", "shard": format!("{}/{}", shard.index, shard.count), "exit_code": code})
        );
    }
    Ok(code)
}

/// The report and JUnit writer the flags and ansible.cfg ask for, if any.
fn report_sink(
    args: &PlayArgs,
    config: &crate::config::Config,
    masker: &Arc<crate::vault::Masker>,
) -> Option<crate::output::report::Sink> {
    use crate::output::{junit, report};
    let junit_on = args.junit.is_some()
        || config
            .callbacks_enabled
            .iter()
            .any(|c| junit::is_junit_callback(c));
    let outputs = report::Outputs {
        html: args.report.clone().or_else(|| config.report.clone()),
        junit: junit_on.then(|| junit::Options::from_env(args.junit.clone())),
    };
    if outputs.html.is_none() && outputs.junit.is_none() {
        return None;
    }
    let recorder = report::Recorder::new(masker.clone(), args.flags.diff);
    Some(report::Sink::new(
        recorder,
        outputs,
        super::vault::files::write_file,
    ))
}

/// Writes the HTML report; what writing the run's files went wrong with, as warnings.
fn finish_report(sink: &crate::output::report::Sink, reporter: &mut dyn exec::events::Reporter) {
    for w in sink.finish() {
        reporter.event(&exec::events::Event::Warning(&w));
    }
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

/// A retry file as ansible-playbook writes it: `PLAYBOOK.retry` beside the playbook (or in
/// `retry_files_save_path`), one failed or unreachable host per line, for `--limit @FILE`.
fn write_retry_file(
    book: &playbook::Playbook,
    config: &crate::config::Config,
    hosts: &[String],
    reporter: &mut dyn exec::events::Reporter,
) {
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
        Err(e) => reporter.event(&exec::events::Event::Warning(&format!(
            "Could not create retry file '{}'. {e}",
            file.display()
        ))),
    }
}
