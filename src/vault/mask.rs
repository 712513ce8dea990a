//! Keeping secrets out of baton's own output.
//!
//! Every plaintext that comes out of a vault is [`register`]ed here the moment it is decrypted:
//! an inline `!vault` value, the string values of a vault-encrypted vars file, an encrypted file
//! read for `copy`/`template`/lookups. Everything baton prints about a run goes through
//! [`mask`], which replaces each registered secret with `********`: the reporters (human and
//! JSON lines, through [`Masked`]), the `-v...` tracing log (through [`MaskedStderr`]) and the
//! final error line. A secret can only be printed after it was decrypted, so registering at
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
//! This is process-wide state, deliberately: a secret can be decrypted anywhere (a loader, a
//! template, a module) and must be hidden by every printer, including the tracing subscriber,
//! which cannot be handed a run context. The set only grows, is append-only, and is behind a
//! lock; nothing reads it except to mask.

use std::borrow::Cow;
use std::io::Write;
use std::sync::RwLock;

/// What a secret becomes in output.
pub const MASK: &str = "********";

/// Shorter secrets are not masked (see the module docs).
pub const MIN_LEN: usize = 4;

/// The spellings to replace, longest first so that a longer spelling is not half-replaced by a
/// shorter one contained in it.
static PATTERNS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers a plaintext that came from a vault, so that output never shows it.
pub fn register(secret: &str) {
    let secret = secret.trim_matches(['\n', '\r']);
    if secret.chars().count() < MIN_LEN {
        return;
    }
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
    let mut all = PATTERNS.write().unwrap_or_else(|e| e.into_inner());
    for s in spellings {
        if s.chars().count() >= MIN_LEN && !all.contains(&s) {
            all.push(s);
        }
    }
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// The text with every registered secret replaced by [`MASK`].
pub fn mask(text: &str) -> Cow<'_, str> {
    let all = PATTERNS.read().unwrap_or_else(|e| e.into_inner());
    let mut out = Cow::Borrowed(text);
    for p in all.iter() {
        if out.contains(p.as_str()) {
            out = Cow::Owned(out.replace(p.as_str(), MASK));
        }
    }
    out
}

/// Whether anything has been registered (lets printers skip work in the common case).
pub fn any() -> bool {
    !PATTERNS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty()
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
}

impl<W: Write> Masked<W> {
    pub fn new(inner: W) -> Self {
        Masked {
            inner,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.pending);
        match std::str::from_utf8(&data) {
            Ok(text) => self.inner.write_all(mask(text).as_bytes()),
            Err(_) => self
                .inner
                .write_all(mask(&String::from_utf8_lossy(&data)).as_bytes()),
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

/// Standard error with secrets masked, for the tracing subscriber (`-vvv` and up): each log
/// event is formatted whole and written through one of these.
#[derive(Clone, Copy, Default)]
pub struct MaskedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MaskedStderr {
    type Writer = Masked<std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        Masked::new(std::io::stderr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_masked_in_every_spelling() {
        register("pä\"ss'wörd\nline-two");
        let text = r#"{"msg": "pä\"ss'wörd\nline-two"} 'pä"ss\'wörd\nline-two' pä\u00e4"#;
        let out = mask(text);
        assert!(!out.contains("wörd"), "{out}");
        assert!(out.contains(MASK));
        // Line by line, as a diff shows a multi-line secret.
        assert_eq!(mask("+line-two"), format!("+{MASK}"));
    }

    #[test]
    fn short_values_are_not_masked() {
        register("ok");
        assert_eq!(mask("ok: [web1]"), "ok: [web1]");
    }

    #[test]
    fn the_writer_masks_text_written_in_pieces() {
        register("split-secret-42");
        let mut out = Vec::new();
        {
            let mut w = Masked::new(&mut out);
            w.write_all(b"a split-").unwrap();
            w.write_all(b"secret-42 b\n").unwrap();
            w.flush().unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), format!("a {MASK} b\n"));
    }
}
