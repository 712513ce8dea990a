//! The one error type of baton, and how it is shown to a user.
//!
//! Everything a user wrote (playbooks, inventories, vars files, templates) is read into nodes that
//! carry a [`Span`]; an [`Error`] about such input points at it with `file:line:col`, the line
//! itself and a caret, like rustc. Errors about the outside world (a host, a file that is missing)
//! carry a chain of context lines instead, so a user never sees a bare "No such file".

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A file (or other named text) that user input was read from, kept whole so errors can quote it.
#[derive(Debug)]
pub struct Source {
    /// The name shown in messages: the path as the user gave it.
    pub name: String,
    pub text: String,
    /// Decrypted from an ansible-vault file: messages never quote its lines, and its values are
    /// secrets that output masks (see `crate::vault`).
    pub vaulted: bool,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<Source> {
        Arc::new(Source {
            name: name.into(),
            text: text.into(),
            vaulted: false,
        })
    }

    /// Reads a file into a source; the error names the file and what went wrong. The bytes
    /// are taken as they are: reading a file that may be vault-encrypted is the vault's
    /// (`crate::value::read_source`), which decrypts and then calls [`Source::from_bytes`].
    pub fn read(path: &Path) -> Result<Arc<Source>, Error> {
        Source::from_bytes(path, read_file(path)?, false)
    }

    /// A source from a file's bytes (`vaulted`: the plaintext of a vault-encrypted file); bytes
    /// that are not UTF-8 are an error pointing at the first bad one.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>, vaulted: bool) -> Result<Arc<Source>, Error> {
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Arc::new(Source {
                name: path.display().to_string(),
                text,
                vaulted,
            })),
            Err(e) => {
                // Point at the first byte that is not UTF-8, quoting the text before it.
                let good = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let before = String::from_utf8_lossy(&e.as_bytes()[..good]);
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                let source = Arc::new(Source {
                    name: path.display().to_string(),
                    text,
                    vaulted,
                });
                Err(Error::syntax(
                    &Span::point(source, Pos { line, col }),
                    "the file is not valid UTF-8",
                ))
            }
        }
    }

    /// The text of line `line` (1-based), without its line ending.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        if self.vaulted {
            return None;
        }
        self.text
            .split('\n')
            .nth(line.checked_sub(1)?)
            .map(|l| l.trim_end_matches('\r'))
    }
}

/// A file's bytes; the error says which file could not be found or read.
pub fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::new(
                ErrorKind::NotFound,
                format!("the file {} could not be found", path.display()),
            )
        } else {
            Error::new(
                ErrorKind::Io,
                format!("cannot read {}: {e}", path.display()),
            )
        }
    })
}

/// A position in a source: 1-based line and 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A range of a source that a value or an error is about.
#[derive(Clone)]
pub struct Span {
    pub source: Arc<Source>,
    pub start: Pos,
    pub end: Pos,
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.location())
    }
}

impl Span {
    /// `file:line:col`, as shown to users.
    pub fn location(&self) -> String {
        format!(
            "{}:{}:{}",
            self.source.name, self.start.line, self.start.col
        )
    }

    /// A span covering one point.
    pub fn point(source: Arc<Source>, pos: Pos) -> Span {
        Span {
            source,
            start: pos,
            end: pos,
        }
    }
}

/// What sort of failure an [`Error`] is; decides the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// User input that does not parse or does not make sense (YAML, playbook structure, inventory).
    Syntax,
    /// A file the user named does not exist.
    NotFound,
    /// A Jinja expression or template that fails to render.
    Template,
    /// A template that uses something undefined (ansible-core's UndefinedMarker): a variable,
    /// an attribute, or `undef(hint)`. `is defined` is false and `default` applies to what is
    /// built on it.
    Undefined,
    /// Bad command-line usage.
    Usage,
    /// Options that parse but do not make sense together or name nothing (Ansible's
    /// `AnsibleOptionsError`, exit status 5), as ansible-inventory reports them.
    Options,
    /// Reading or writing on the controller failed.
    Io,
    /// Something that should not happen; a bug in baton.
    Internal,
    /// Vault data that cannot be decrypted (no or a wrong password, modified data).
    Vault,
    /// Something the playbook asks for that cannot be done while running (ansible-playbook's
    /// plain `AnsibleError`, exit status 1), like add_host under the free strategy.
    Unsupported,
}

/// The error type of baton.
#[derive(Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub span: Option<Span>,
    /// Outer context, innermost first: "while loading the role 'web'", ...
    pub context: Vec<String>,
    /// What the user can do about it.
    pub help: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            span: None,
            context: Vec::new(),
            help: None,
        }
    }

    /// A syntax error at a span.
    pub fn syntax(span: &Span, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Syntax, message).at(span)
    }

    pub fn at(mut self, span: &Span) -> Error {
        if self.span.is_none() {
            self.span = Some(span.clone());
        }
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Error {
        self.help = Some(help.into());
        self
    }

    pub fn context(mut self, ctx: impl Into<String>) -> Error {
        self.context.push(ctx.into());
        self
    }

    /// The exit status `ansible-playbook` uses for this kind of error.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::NotFound | ErrorKind::Vault | ErrorKind::Unsupported => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Options => 5,
            ErrorKind::Syntax | ErrorKind::Template | ErrorKind::Undefined => 4,
            ErrorKind::Io | ErrorKind::Internal => 250,
        }
    }

    /// The message with its location on one line, for places that show one line per error
    /// (task results, JSON events).
    pub fn one_line(&self) -> String {
        match &self.span {
            Some(span) => format!("{}: {}", span.location(), self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How a character of user input is shown on the operator's terminal: control characters (an
/// ESC starting a terminal sequence, a carriage return that hides text), C1 controls and bidi
/// overrides as escapes, everything else as it is. `keep` are controls shown as they are.
fn shown(c: char, keep: &[char]) -> String {
    let bidi =
        matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if keep.contains(&c) || !(c.is_control() || bidi) {
        return c.to_string();
    }
    match c {
        '\r' => "\\r".to_string(),
        '\n' => "\\n".to_string(),
        '\t' => "\\t".to_string(),
        c if (c as u32) < 0x100 => format!("\\x{:02x}", c as u32),
        c => format!("\\u{{{:x}}}", c as u32),
    }
}

/// `text` with every character a terminal would act on escaped ([`shown`]).
pub fn printable(text: &str, keep: &[char]) -> String {
    text.chars().map(|c| shown(c, keep)).collect::<String>()
}

/// The full, rustc-like rendering: message, location, quoted line with a caret, context, help.
/// Text that came from user input (a quoted line, a name in a message) is shown with its control
/// characters escaped ([`printable`]), so a hostile file cannot drive the operator's terminal.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", printable(&self.message, &['\n', '\t']))?;
        if let Some(span) = &self.span {
            write!(f, "\n  --> {}", printable(&span.location(), &[]))?;
            if let Some(text) = span.source.line_text(span.start.line) {
                let num = span.start.line.to_string();
                let pad = " ".repeat(num.len());
                let col = span.start.col.max(1);
                // The caret runs to the end of the span on the same line, at least one character.
                let width = if span.end.line == span.start.line && span.end.col > col {
                    span.end.col - col
                } else {
                    1
                };
                // Tabs before the caret are kept so that it lines up under the text; an escaped
                // character takes as many columns as its escape.
                let lead: String = text
                    .chars()
                    .take(col - 1)
                    .map(|c| match c {
                        '\t' => "\t".to_string(),
                        c => " ".repeat(shown(c, &['\t']).chars().count()),
                    })
                    .collect();
                let text = printable(text, &['\t']);
                write!(
                    f,
                    "\n {pad} |\n {num} | {text}\n {pad} | {lead}{}",
                    "^".repeat(width)
                )?;
            }
        }
        for ctx in &self.context {
            write!(f, "\n  = {}", printable(ctx, &['\n', '\t']))?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {}", printable(help, &['\n', '\t']))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_caret() {
        let src = Source::new("play.yml", "- hosts: all\n  tasx:\n    - debug: msg=hi\n");
        let span = Span {
            source: src,
            start: Pos { line: 2, col: 3 },
            end: Pos { line: 2, col: 7 },
        };
        let err = Error::syntax(&span, "'tasx' is not a valid attribute for a Play");
        assert_eq!(
            err.to_string(),
            "'tasx' is not a valid attribute for a Play\n  --> play.yml:2:3\n   |\n 2 |   tasx:\n   |   ^^^^"
        );
        assert_eq!(err.exit_code(), 4);
    }

    #[test]
    fn control_characters_in_input_are_escaped_and_the_caret_still_lines_up() {
        let src = Source::new("inv\x1b[2J", "[web]\n\x1b]0;pwned\x07h1 x=\u{202e}y\r\n");
        let span = Span {
            source: src,
            start: Pos { line: 2, col: 14 },
            end: Pos { line: 2, col: 15 },
        };
        let err = Error::syntax(&span, "bad name '\x1b[31mred'\nsecond line");
        let text = err.to_string();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(
            !text.contains('\u{202e}') && !text.contains('\r'),
            "{text:?}"
        );
        assert!(text.starts_with("bad name '\\x1b[31mred'\nsecond line\n  --> inv\\x1b[2J:2:14"));
        // The caret stands under column 14 ('x'), however wide the escapes before it are.
        let lines: Vec<&str> = text.lines().collect();
        let quoted = lines.iter().find(|l| l.starts_with(" 2 | ")).unwrap();
        assert_eq!(*quoted, " 2 | \\x1b]0;pwned\\x07h1 x=\\u{202e}y");
        let caret = lines.last().unwrap();
        assert_eq!(caret.find('^'), quoted.find(" x=").map(|i| i + 1));
    }
}
