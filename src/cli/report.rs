//! `baton report`: what is done with recorded runs (`baton play --output json` streams).
//! `baton report merge FILE...` joins the streams of a run's shards (`--shard K/N`) into one:
//! it prints the PLAY RECAP as one unsharded run would, writes the merged stream (`--json`),
//! and exits with the run's one exit status. The model it builds,
//! [`crate::output::recorded::RunRecord`], is what a renderer of recorded runs takes.

use crate::diagnostics::Error;
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
    let counts: Vec<u64> = merged
        .shards
        .iter()
        .filter_map(|k| k.split_once('/').and_then(|(_, n)| n.parse().ok()))
        .collect();
    if let Some(&n) = counts.first() {
        if merged.shards.len() as u64 != n || counts.iter().any(|&c| c != n) {
            crate::output::warn_stderr(
                masker,
                &format!(
                    "merged shards {} of a run in {n}: the recap leaves out the hosts of the \
                     shards not given",
                    merged.shards.join(", ")
                ),
            );
        }
    }
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
