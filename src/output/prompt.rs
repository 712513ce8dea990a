//! Questions the executor asks the operator (`vars_prompt`, `--step`): the executor sends a
//! [`Event::Prompt`] or [`Event::StepPrompt`] and waits for the answer; the reporter asks here,
//! on stderr and stdin, so that asking happens in the output layer (where a progress bar is
//! suspended around it) and the executor never reads the terminal itself.

use crate::exec::events::Event;
use std::io::{BufRead, IsTerminal, Write};

/// Answers a prompt event; returns false for every other event.
pub fn handle(event: &Event<'_>) -> bool {
    match event {
        Event::Prompt {
            prompt,
            private,
            answer,
        } => {
            // No terminal: no answer; the executor falls back to the default (or says how to
            // pass the value with -e).
            if !std::io::stdin().is_terminal() {
                return true;
            }
            let got = if *private && crate::connection::tty::available() {
                crate::connection::tty::read_secret(prompt).ok()
            } else {
                ask_line(prompt)
            };
            *answer.lock().unwrap_or_else(|e| e.into_inner()) = got;
            true
        }
        Event::StepPrompt { name, answer } => {
            let got = ask_line(&format!(
                "Perform task: TASK: {name} (N)o/(y)es/(c)ontinue: "
            ));
            *answer.lock().unwrap_or_else(|e| e.into_inner()) = got;
            true
        }
        _ => false,
    }
}

/// Prints `prompt` on stderr and reads one line from stdin (without its newline); `None` at
/// the end of input.
fn ask_line(prompt: &str) -> Option<String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
    }
}
