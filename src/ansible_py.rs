//! The controller's ansible-core, reached through the controller's Python: which Python that
//! is ([`controller_python`]), running a small program of baton's with it ([`run_blocking`]),
//! and what went wrong when it could not answer ([`HelperError`]). The Python fallback for
//! modules (`crate::modules::python`) and inventory plugin sources (`crate::inventory`) both
//! stand on this; it stands on nothing of baton's, so neither room has to import the other.

use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// The controller's Python: the `python3` beside `ansible-playbook` on PATH (the one its
/// shebang names, when it names one), else the first `python3` on PATH.
pub fn controller_python() -> PathBuf {
    let path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for dir in &path {
        let ap = dir.join("ansible-playbook");
        if !ap.is_file() {
            continue;
        }
        if let Some(py) = shebang_python(&ap) {
            return py;
        }
        let beside = dir.join("python3");
        if beside.is_file() {
            return beside;
        }
    }
    path.iter()
        .map(|d| d.join("python3"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"))
}

/// The interpreter an `ansible-playbook` script's `#!` line names, when it is an absolute path
/// to an existing file (`#!/usr/bin/env python3` names none).
pub(crate) fn shebang_python(script: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let text = String::from_utf8_lossy(&head[..n]);
    let first = text.lines().next()?.strip_prefix("#!")?.trim();
    let prog = first.split_whitespace().next()?;
    let p = PathBuf::from(prog);
    (p.is_absolute() && p.is_file() && !prog.ends_with("/env")).then_some(p)
}

/// Why the helper gave no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum HelperError {
    /// The controller's Python has no ansible-core (or no Python at all).
    NoAnsible { python: String, detail: String },
    /// Anything else: the helper's own message.
    Failed(String),
}

impl HelperError {
    /// The message a user sees, with what to do next.
    pub fn message(&self, module: &str) -> String {
        match self {
            HelperError::NoAnsible { .. } => format!(
                "the module '{module}' is not built into baton, which runs such modules with the controller's ansible-core: {}",
                self.hint()
            ),
            HelperError::Failed(m) => format!("while preparing the module '{module}': {m}"),
        }
    }

    /// What is missing and how to install it.
    pub fn hint(&self) -> String {
        match self {
            HelperError::NoAnsible { python, detail } => format!(
                "{python} cannot import it ({detail}). Install it with `pip install ansible-core` (or `pip install ansible` for the collections too), or put an installation's `ansible-playbook` first on PATH."
            ),
            HelperError::Failed(m) => m.clone(),
        }
    }
}

/// Runs another controller-side `program` (the Python fallback's helper, an inventory plugin): the
/// request on its standard input, one JSON answer on its standard output, and its
/// `{"error": "no-ansible"}` or `{"error": ..., "detail": ...}` read as a [`HelperError`].
pub fn run_blocking(python: &Path, program: &str, request: &Json) -> Result<Json, HelperError> {
    use std::io::Write;
    let mut child = program_command(python, program)
        .spawn()
        .map_err(|e| not_started(python, &e))?;
    let body = serde_json::to_vec(request).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&body);
    }
    let out = child.wait_with_output().map_err(|e| failed(&e))?;
    parse_answer(python, &out.stdout, &out.stderr)
}

/// The command that runs `program` with the controller's Python, its three streams piped (the
/// async helper call builds its tokio command from it).
pub(crate) fn program_command(python: &Path, program: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(python);
    cmd.arg("-c")
        .arg(program)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// The controller's Python could not be started at all.
pub(crate) fn not_started(python: &Path, e: &std::io::Error) -> HelperError {
    HelperError::NoAnsible {
        python: python.display().to_string(),
        detail: format!("it cannot be started: {e}"),
    }
}

/// Waiting for the controller's Python failed.
pub(crate) fn failed(e: &std::io::Error) -> HelperError {
    HelperError::Failed(format!("the controller's Python failed: {e}"))
}

pub(crate) fn parse_answer(
    python: &Path,
    stdout: &[u8],
    stderr: &[u8],
) -> Result<Json, HelperError> {
    let doc: Json = serde_json::from_slice(stdout).map_err(|_| {
        let err = String::from_utf8_lossy(stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        HelperError::Failed(format!(
            "the controller's Python ({}) gave no answer: {}",
            python.display(),
            last.trim()
        ))
    })?;
    match doc.get("error").and_then(Json::as_str) {
        None => Ok(doc),
        Some("no-ansible") => Err(HelperError::NoAnsible {
            python: doc["python"].as_str().unwrap_or("").to_string(),
            detail: doc["detail"].as_str().unwrap_or("").to_string(),
        }),
        Some(_) => Err(HelperError::Failed(
            doc["detail"].as_str().unwrap_or("").to_string(),
        )),
    }
}
