//! `baton report`: what is done with recorded runs (`baton play --output json` streams).
//! `baton report merge FILE...` joins the streams of a run's shards (`--shard K/N`) into one:
//! it prints the PLAY RECAP as one unsharded run would, writes the merged stream (`--json`),
//! and exits with the run's one exit status; `--report` writes the merged run's HTML report
//! ([`crate::output::report`]). The model it builds,
//! [`crate::output::recorded::RunRecord`], is what a renderer of recorded runs takes.

use crate::diagnostics::{Error, ErrorKind};
use crate::exec::events::{Event, Reporter};
use crate::output::human::Human;
use crate::output::recorded::RunRecord;
use clap::{Args, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub action: ReportAction,
}

#[derive(Subcommand, Debug)]
pub enum ReportAction {
    /// Merge the `--output json` streams of a run's shards: one recap, one exit status.
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The shards' `baton play --shard K/N --output json` streams.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write the merged stream (JSON lines, as `--output json` writes them) to this file.
    #[arg(long = "json", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the merged run's HTML report (as `baton play --report` does) to this file.
    #[arg(long = "report", value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// The shards of `K/N` names that were not given: an error, since their hosts would be
/// missing from the recap and the exit status.
fn missing_shards(given: &[String]) -> Result<(), Error> {
    let parsed: Vec<crate::exec::shard::Shard> = given
        .iter()
        .filter_map(|k| crate::exec::shard::Shard::parse(k).ok())
        .collect();
    let Some(n) = parsed.first().map(|s| s.count) else {
        return Ok(());
    };
    if let Some(odd) = parsed.iter().find(|s| s.count != n) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "the streams are shards of different splits ({}/{} and */{n})",
                odd.index, odd.count
            ),
        ));
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| !parsed.iter().any(|s| s.index == *k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Usage,
        format!(
            "shard{} {} of the run {} not given: the recap would leave out {} hosts",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            if missing.len() > 1 { "are" } else { "is" },
            if missing.len() > 1 { "their" } else { "its" },
        ),
    ))
}

pub fn run(args: ReportArgs, masker: &std::sync::Arc<crate::vault::Masker>) -> Result<i32, Error> {
    let ReportAction::Merge(args) = args.action;
    let mut shards = Vec::new();
    for f in &args.files {
        shards.push((f.display().to_string(), RunRecord::read(f)?));
    }
    let merged = RunRecord::merge(shards)?;
    if let Some(out) = &args.json {
        super::vault::files::write_file(out, merged.to_json_lines().as_bytes(), Some(0o644))?;
    }
    if let Some(out) = &args.report {
        // The report is made from the merged stream, as from one run's.
        let lines = merged.to_json_lines();
        let record = crate::output::report::RunRecord::from_json_lines(&lines, masker.clone());
        let html = crate::output::report::html::render(&record);
        super::vault::files::write_file(out, html.as_bytes(), Some(0o644))?;
    }
    missing_shards(&merged.shards)?;
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut human = Human::new(stdout, masker.clone(), 0, color);
    for w in &merged.warnings {
        human.event(&Event::Warning(w));
    }
    for book in merged.playbooks.iter().filter(|b| b.has_recap) {
        for reason in &book.aborted {
            human.event(&Event::PlayAborted { reason });
        }
        human.event(&Event::Recap { stats: &book.recap });
    }
    Ok(merged.exit_code)
}
