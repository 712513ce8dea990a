//! `baton completions SHELL` and `baton man`: shell completion scripts and manual pages,
//! generated from the command definitions themselves (clap's), so they never drift from the
//! flags baton takes. This file owns only those two commands; what they describe is the rest
//! of `crate::cli`.

use super::vault::files::write_stdout;
use crate::diagnostics::{Error, ErrorKind};
use clap::{Args, CommandFactory};
use std::path::PathBuf;

/// `baton completions`: a completion script on stdout.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `baton man`: the manual page.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write baton.1 and a page per subcommand (baton-play.1, ...) into this directory
    /// instead of printing baton.1 on stdout.
    #[arg(long = "out-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// The command tree the pages and scripts describe, with the binary's name.
fn command() -> clap::Command {
    super::Cli::command().name("baton").bin_name("baton")
}

pub(super) fn completions(args: CompletionsArgs) -> Result<i32, Error> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "baton", &mut out);
    write_stdout(&out)?;
    Ok(0)
}

pub(super) fn man(args: ManArgs) -> Result<i32, Error> {
    let mut cmd = command();
    cmd.build();
    match args.out_dir {
        None => {
            let mut out = Vec::new();
            render(&cmd, "baton", &mut out)?;
            write_stdout(&out)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot create {}: {e}", dir.display()),
                )
            })?;
            write_page(&dir, "baton", &cmd)?;
            // A subcommand's page is titled and named as `man baton-play` finds it.
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let name = format!("baton-{}", sub.get_name());
                write_page(&dir, &name, sub)?;
            }
        }
    }
    Ok(0)
}

fn render(cmd: &clap::Command, title: &str, out: &mut Vec<u8>) -> Result<(), Error> {
    clap_mangen::Man::new(cmd.clone())
        .title(title.to_uppercase())
        .source(concat!("baton ", env!("CARGO_PKG_VERSION")))
        .render(out)
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot render the manual: {e}"),
            )
        })
}

/// One page, `DIR/NAME.1`, written atomically (a new file beside it, renamed into place).
fn write_page(dir: &std::path::Path, name: &str, cmd: &clap::Command) -> Result<(), Error> {
    let mut text = Vec::new();
    render(cmd, name, &mut text)?;
    super::vault::files::write_file(&dir.join(format!("{name}.1")), &text, Some(0o644))
}
