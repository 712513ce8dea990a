//! The tokens of a Python literal as `ast.literal_eval` reads them: numbers (with Python's
//! underscores, bases, imaginary parts), strings and bytes with their prefixes and escapes,
//! names and punctuation.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Num(Py),
    /// One string literal; adjacent ones are joined by the parser.
    Str {
        bytes: bool,
        fstring: bool,
        text: Vec<u8>,
    },
    Name(String),
    Op(&'static str),
    /// Any other operator or delimiter: valid Python perhaps, never part of a literal.
    Other,
}

pub(super) fn number_re() -> &'static [(Regex, NumKind); 6] {
    static RE: OnceLock<[(Regex, NumKind); 6]> = OnceLock::new();
    RE.get_or_init(|| {
        const DP: &str = r"[0-9](?:_?[0-9])*";
        let point = format!(r"(?:(?:{DP})?\.{DP}|{DP}\.)");
        let exp = format!(r"[eE][+-]?{DP}");
        let re = |s: String| Regex::new(&format!("^(?:{s})")).expect("valid number regex");
        [
            (
                re(format!(r"(?:{point}(?:{exp})?|{DP}{exp})[jJ]?")),
                NumKind::Float,
            ),
            (re(format!(r"{DP}[jJ]")), NumKind::Float),
            (re(r"0[xX](?:_?[0-9a-fA-F])+".into()), NumKind::Radix(16)),
            (re(r"0[oO](?:_?[0-7])+".into()), NumKind::Radix(8)),
            (re(r"0[bB](?:_?[01])+".into()), NumKind::Radix(2)),
            (
                re(r"[1-9](?:_?[0-9])*|0(?:_?0)*".into()),
                NumKind::Radix(10),
            ),
        ]
    })
}

#[derive(Clone, Copy)]
pub(super) enum NumKind {
    Float,
    Radix(u32),
}

pub(super) fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

pub(super) fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

pub(super) fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let mut toks = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let c = rest.chars().next()?;
        if matches!(c, ' ' | '\t' | '\x0c') {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
            let (tok, len) = number(rest)?;
            // A number running straight into a name or digit is "invalid decimal literal".
            if rest[len..].starts_with(is_ident_char) {
                return None;
            }
            toks.push(tok);
            i += len;
            continue;
        }
        if is_ident_start(c) {
            let len = rest
                .char_indices()
                .find(|&(_, c)| !is_ident_char(c))
                .map_or(rest.len(), |(j, _)| j);
            let word = &rest[..len];
            if rest[len..].starts_with(['\'', '"']) {
                let lower = word.to_ascii_lowercase();
                if matches!(
                    lower.as_str(),
                    "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf"
                ) {
                    let (tok, slen) = string(&rest[len..], &lower)?;
                    toks.push(tok);
                    i += len + slen;
                    continue;
                }
                return None;
            }
            toks.push(Tok::Name(word.to_string()));
            i += len;
            continue;
        }
        if c == '\'' || c == '"' {
            let (tok, len) = string(rest, "")?;
            toks.push(tok);
            i += len;
            continue;
        }
        if rest.starts_with("...") {
            toks.push(Tok::Op("..."));
            i += 3;
            continue;
        }
        let op = match c {
            '(' => "(",
            ')' => ")",
            '[' => "[",
            ']' => "]",
            '{' => "{",
            '}' => "}",
            ',' => ",",
            ':' => ":",
            '+' => "+",
            '-' => "-",
            _ => {
                if c.is_ascii_punctuation() {
                    toks.push(Tok::Other);
                    i += 1;
                    continue;
                }
                return None;
            }
        };
        toks.push(Tok::Op(op));
        i += 1;
    }
    Some(toks)
}

pub(super) fn number(s: &str) -> Option<(Tok, usize)> {
    for (re, kind) in number_re() {
        let Some(m) = re.find(s) else { continue };
        let text = m.as_str().replace('_', "");
        let tok = match kind {
            NumKind::Float => {
                if let Some(imag) = text.strip_suffix(['j', 'J']) {
                    Py::Complex(0.0, imag.parse().ok()?)
                } else {
                    Py::Float(text.parse().ok()?)
                }
            }
            // Beyond 128 bits Python stays exact; here such a number stays text.
            NumKind::Radix(10) => Py::Int(text.parse().ok()?),
            NumKind::Radix(r) => Py::Int(i128::from_str_radix(&text[2..], *r).ok()?),
        };
        return Some((Tok::Num(tok), m.end()));
    }
    // Digits matching none of the forms: `0644` (leading zeros) and the like.
    None
}

/// A string literal starting at a quote, with its (lowercased) prefix already consumed.
pub(super) fn string(s: &str, prefix: &str) -> Option<(Tok, usize)> {
    let raw = prefix.contains('r');
    let bytes = prefix.contains('b');
    let fstring = prefix.contains('f');
    let q = s.chars().next()?;
    let triple: String = std::iter::repeat_n(q, 3).collect();
    let (delim, start) = if s.starts_with(&triple) {
        (triple.as_str(), 3)
    } else {
        (&s[..1], 1)
    };
    let body = &s[start..];
    // Find the closing delimiter, skipping backslash-escaped characters (also in raw strings).
    let mut end = None;
    let mut it = body.char_indices();
    while let Some((j, c)) = it.next() {
        if c == '\\' {
            it.next();
            continue;
        }
        if c == '\n' && delim.len() == 1 {
            return None;
        }
        if body[j..].starts_with(delim) {
            end = Some(j);
            break;
        }
    }
    let end = end?;
    let content = &body[..end];
    let text = if raw {
        if bytes && !content.is_ascii() {
            return None;
        }
        content.as_bytes().to_vec()
    } else {
        unescape(content, bytes)?
    };
    Some((
        Tok::Str {
            bytes,
            fstring,
            text,
        },
        start + end + delim.len(),
    ))
}

/// Python's escape sequences. Unknown escapes keep their backslash; `\N{...}` is refused (it
/// would need Unicode's name table), which leaves the value as text.
pub(super) fn unescape(s: &str, bytes: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let push_char = |out: &mut Vec<u8>, c: char| {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            if bytes && !c.is_ascii() {
                return None;
            }
            push_char(&mut out, c);
            continue;
        }
        let e = chars.next()?;
        match e {
            '\n' => {}
            '\\' => out.push(b'\\'),
            '\'' => out.push(b'\''),
            '"' => out.push(b'"'),
            'a' => out.push(7),
            'b' => out.push(8),
            'f' => out.push(12),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            'v' => out.push(11),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                if bytes {
                    out.push((v & 0xff) as u8);
                } else {
                    push_char(&mut out, char::from_u32(v)?);
                }
            }
            'x' => {
                let h: String = [chars.next()?, chars.next()?].iter().collect();
                let v = u32::from_str_radix(&h, 16).ok()?;
                if bytes {
                    out.push(v as u8);
                } else {
                    push_char(&mut out, char::from_u32(v)?);
                }
            }
            'u' | 'U' if !bytes => {
                let n = if e == 'u' { 4 } else { 8 };
                let h: String = (0..n).map(|_| chars.next()).collect::<Option<String>>()?;
                if !h.chars().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                let v = u32::from_str_radix(&h, 16).ok()?;
                // Lone surrogates are valid in Python text but not in ours.
                push_char(&mut out, char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            'N' if !bytes => return None,
            other => {
                out.push(b'\\');
                if bytes && !other.is_ascii() {
                    return None;
                }
                push_char(&mut out, other);
            }
        }
    }
    Some(out)
}
