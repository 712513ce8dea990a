//! Keeping secrets out of baton's own output.
//!
//! Every plaintext that comes out of a vault is [`Masker::register`]ed the moment it is
//! decrypted: an inline `!vault` value, the string values of a vault-encrypted vars file, an
//! encrypted file read for `copy`/`template`/lookups. Everything baton prints about a run goes
//! through [`Masker::mask`], which replaces each registered secret with `********`: the
//! reporters (human, JSON lines and ad hoc, through [`Masked`]), warnings, the `-v...` tracing
//! log (`output::log::Console`) and the final error line. A secret can only be printed after it was decrypted, so registering at
//! decryption time is early enough.
//!
//! Text is matched as printed, so each secret is also registered in the spellings it takes
//! inside JSON strings, Python reprs, Rust debug output and single-quoted shell words; a secret
//! transformed by a template (`| b64encode`, `| upper`) is a new string and is not recognized,
//! as in Ansible, where only `no_log` hides what a task computes.
//!
//! Secrets shorter than [`MIN_LEN`] characters are not masked: replacing every `yes` or `80`
//! in the output would make it unreadable while hiding nothing a guess would not find.
//!
//! The registry is a value, a [`Masker`]: the CLI makes one per run and hands it to the
//! keyring (which registers what it reveals, [`super::Keyring::reveal`]) and to every printer
//! (the reporters through [`Masked`], the log console, the final error line). Nothing is
//! process-wide: two runs in one process (tests) each mask their own secrets. The set only
//! grows, is behind a lock, and nothing reads it except to mask.

use std::borrow::Cow;
use std::io::Write;
use std::sync::{Arc, RwLock};

/// What a secret becomes in output.
pub const MASK: &str = "********";

/// Shorter secrets are not masked (see the module docs).
pub const MIN_LEN: usize = 4;

/// The secrets of a run, in every spelling they take when printed. Share it as
/// `Arc<Masker>`.
#[derive(Default)]
pub struct Masker {
    /// The spellings to replace, longest first so that a longer spelling is not half-replaced
    /// by a shorter one contained in it.
    patterns: RwLock<Vec<String>>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets.
        write!(f, "Masker({} spellings)", self.read().len())
    }
}

impl Masker {
    /// An empty registry, ready to share.
    pub fn new() -> Arc<Masker> {
        Arc::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<String>> {
        self.patterns.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers a plaintext that came from a vault, so that output never shows it.
    pub fn register(&self, secret: &str) {
        let secret = secret.trim_matches(['\n', '\r']);
        if secret.chars().count() < MIN_LEN {
            return;
        }
        let spellings = spellings(secret);
        let mut all = self.patterns.write().unwrap_or_else(|e| e.into_inner());
        for s in spellings {
            if s.chars().count() >= MIN_LEN && !all.contains(&s) {
                all.push(s);
            }
        }
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// The text with every registered secret replaced by [`MASK`].
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let all = self.read();
        let mut out = Cow::Borrowed(text);
        for p in all.iter() {
            if out.contains(p.as_str()) {
                out = Cow::Owned(out.replace(p.as_str(), MASK));
            }
        }
        out
    }

    /// Whether nothing has been registered (lets printers skip work in the common case).
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

/// The ways `secret` can appear in printed text.
fn spellings(secret: &str) -> Vec<String> {
    let mut spellings = vec![secret.to_string()];
    // Inside a JSON string (serde_json keeps non-ASCII as is; ansible-inventory escapes it).
    let json = serde_json::Value::String(secret.to_string()).to_string();
    spellings.push(json[1..json.len() - 1].to_string());
    spellings.push(ascii_json(secret));
    // Python's repr, in either quote style, as loop labels and Ansible messages print it.
    for q in ['\'', '"'] {
        spellings.push(py_escape(secret, q));
    }
    // Rust's `{:?}`, which debug logs use for commands.
    let dbg = format!("{secret:?}");
    spellings.push(dbg[1..dbg.len() - 1].to_string());
    // A single-quoted shell word.
    spellings.push(secret.replace('\'', r"'\''"));
    // Multi-line secrets (keys, certificates) also line by line, as a diff would show them.
    if secret.contains('\n') {
        spellings.extend(
            secret
                .lines()
                .map(str::trim)
                .filter(|l| l.chars().count() >= MIN_LEN)
                .map(str::to_string),
        );
    }
    spellings
}

fn ascii_json(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn py_escape(s: &str, quote: char) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A writer that masks secrets in what passes through it. It holds text until `flush` (or
/// drop), so that a secret written in pieces is still seen whole: the reporters flush once per
/// event.
pub struct Masked<W: Write> {
    inner: W,
    pending: Vec<u8>,
    masker: Arc<Masker>,
}

impl<W: Write> Masked<W> {
    pub fn new(inner: W, masker: Arc<Masker>) -> Self {
        Masked {
            inner,
            pending: Vec::new(),
            masker,
        }
    }

    /// The masker this writer masks with.
    pub fn masker(&self) -> &Arc<Masker> {
        &self.masker
    }

    fn emit(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.pending);
        match std::str::from_utf8(&data) {
            Ok(text) => self.inner.write_all(self.masker.mask(text).as_bytes()),
            Err(_) => self
                .inner
                .write_all(self.masker.mask(&String::from_utf8_lossy(&data)).as_bytes()),
        }
    }
}

impl<W: Write> Write for Masked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        // A reporter that never flushes must not grow this without bound.
        if self.pending.len() > 1 << 20 && buf.contains(&b'\n') {
            self.emit()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.emit()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for Masked<W> {
    fn drop(&mut self) {
        let _ = self.emit();
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_masked_in_every_spelling() {
        let m = Masker::new();
        m.register("pä\"ss'wörd\nline-two");
        let text = r#"{"msg": "pä\"ss'wörd\nline-two"} 'pä"ss\'wörd\nline-two' pä\u00e4"#;
        let out = m.mask(text);
        assert!(!out.contains("wörd"), "{out}");
        assert!(out.contains(MASK));
        // Line by line, as a diff shows a multi-line secret.
        assert_eq!(m.mask("+line-two"), format!("+{MASK}"));
    }

    #[test]
    fn short_values_are_not_masked() {
        let m = Masker::new();
        m.register("ok");
        assert_eq!(m.mask("ok: [web1]"), "ok: [web1]");
        assert!(m.is_empty());
    }

    #[test]
    fn the_writer_masks_text_written_in_pieces() {
        let m = Masker::new();
        m.register("split-secret-42");
        let mut out = Vec::new();
        {
            let mut w = Masked::new(&mut out, m.clone());
            w.write_all(b"a split-").unwrap();
            w.write_all(b"secret-42 b\n").unwrap();
            w.flush().unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), format!("a {MASK} b\n"));
    }

    #[test]
    fn each_masker_masks_only_its_own_secrets() {
        let (a, b) = (Masker::new(), Masker::new());
        a.register("secret-of-run-a");
        assert_eq!(a.mask("x secret-of-run-a"), format!("x {MASK}"));
        assert_eq!(b.mask("x secret-of-run-a"), "x secret-of-run-a");
        assert!(!format!("{a:?}").contains("secret"));
    }
}
