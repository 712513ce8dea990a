//! `ansible_ssh_args`/`ansible_ssh_common_args`/`ansible_ssh_extra_args`: the `-o Key=Value`
//! (and `-J`, `-i`, ...) options OpenSSH would take from them, split as a shell splits words.

use super::*;

/// Reads ssh command-line arguments (`ansible_ssh_common_args`, `ansible_ssh_extra_args`):
/// `-o Key=Value` / `-oKey=Value` / `-o "Key Value"`, `-J`, `-i`, `-p`, `-l`, `-F`, into
/// (keyword lower-cased, value) pairs; `-F` becomes `("-f", file)`. Other flags are ignored.
pub fn parse_ssh_args(args: &str) -> Vec<(String, String)> {
    let words = shell_words(args);
    let mut out = Vec::new();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let (flag, inline) = if w.len() > 2 && w.starts_with('-') && !w.starts_with("--") {
            (w[..2].to_string(), Some(w[2..].to_string()))
        } else {
            (w.clone(), None)
        };
        let mut value = || inline.clone().or_else(|| it.next());
        match flag.as_str() {
            "-o" => {
                if let Some(v) = value() {
                    let (k, rest) = split_keyword(&v);
                    out.push((k.to_ascii_lowercase(), rest.trim_matches('"').to_string()));
                }
            }
            "-J" => {
                if let Some(v) = value() {
                    out.push(("proxyjump".into(), v));
                }
            }
            "-i" => {
                if let Some(v) = value() {
                    out.push(("identityfile".into(), v));
                }
            }
            "-p" => {
                if let Some(v) = value() {
                    out.push(("port".into(), v));
                }
            }
            "-l" => {
                if let Some(v) = value() {
                    out.push(("user".into(), v));
                }
            }
            "-F" => {
                if let Some(v) = value() {
                    out.push(("-f".into(), v));
                }
            }
            _ => {}
        }
    }
    out
}

/// Splits like a POSIX shell (single and double quotes, backslashes), without expansions.
pub(super) fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut any = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                any = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                any = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                any = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                any = true;
                cur.push(c);
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}
