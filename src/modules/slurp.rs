//! `slurp` (ansible.builtin.slurp): a file of the host, returned base64-encoded in `content`,
//! with the path read in `source`.
//!
//! One command reads it: the path is expanded as Ansible's `type='path'` does (environment
//! variables, then `~`), on the host, since both are the host's; the command says what is
//! wrong (missing, a directory, unreadable) or sends the bytes, which are encoded here.

use super::{
    Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::Value;

pub struct Slurp;

static SPEC: Spec = Spec {
    names: &["slurp"],
    params: &[&[Param::str("src").required().aliases(&["path"])]],
    ..Spec::BASE
};

impl Module for Slurp {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let src = args.required_str("src")?;
            let out = ctx.exec(&script(&src), None).await?;
            let answer = parse(&out.stdout);
            let (source, status, content) = match answer {
                Some(a) if out.rc == Some(0) => a,
                // The host read part of it and failed (or answered nothing we know).
                Some((source, ..)) => return Ok(failed(&source, "")),
                None => {
                    return Err(ModuleError::Failed(format!(
                        "slurp: the host gave no answer: {}",
                        super::text(&out.stderr).trim()
                    )));
                }
            };
            if status != "ok" {
                return Ok(failed(&source, &status));
            }
            Ok(Outcome::ok()
                .with(
                    "content",
                    Value::from(crate::template::filters::b64encode(content)),
                )
                .with("source", Value::from(source))
                .with("encoding", Value::from("base64")))
        })
    }
}

/// The module's messages, by what the host found.
fn failed(source: &str, status: &str) -> Outcome {
    Outcome::failed(match status {
        "missing" => format!("File not found: {source}"),
        "unreadable" => format!("File is not readable: {source}"),
        "isdir" => format!("Source is a directory and must be a file: {source}"),
        // ansible-core's own text: its placeholder is not filled in.
        _ => "Unable to slurp file: {source}".to_string(),
    })
}

/// The command: `p` is the expanded path, printed first (ended by NUL), then the verdict on
/// a line, then (when `ok`) the file's bytes.
fn script(src: &str) -> String {
    let mut s = String::from("p=\n");
    for piece in expandvars_pieces(src) {
        match piece {
            Piece::Text(t) => s.push_str(&format!("p=\"$p\"{}\n", shell_quote(&t))),
            Piece::Var { name, written } => s.push_str(&format!(
                "if [ -n \"${{{name}+x}}\" ]; then p=\"$p${{{name}}}\"; else p=\"$p\"{}; fi\n",
                shell_quote(&written)
            )),
        }
    }
    // os.path.expanduser: `~` is $HOME (else the user's home; its trailing slashes dropped),
    // `~user` that user's home; an unknown user leaves the path as it is.
    s.push_str(
        r#"case $p in
"~"|"~/"*) h=${HOME-$(getent passwd "$(id -u)" | cut -d: -f6)}; h=${h%/}
  p=$h${p#"~"}; [ -n "$p" ] || p=/ ;;
"~"*) u=${p%%/*}; u=${u#"~"}; h=$(getent passwd "$u" 2>/dev/null | cut -d: -f6); h=${h%/}
  [ -n "$h" ] && p=$h${p#"~$u"} ;;
esac
printf '%s\0' "$p"
if [ -d "$p" ]; then echo isdir
elif [ ! -e "$p" ]; then echo missing
elif [ ! -r "$p" ]; then echo unreadable
else echo ok; exec cat -- "$p"
fi
"#,
    );
    s
}

/// The answer: (path, verdict, content).
fn parse(out: &[u8]) -> Option<(String, String, &[u8])> {
    let nul = out.iter().position(|b| *b == 0)?;
    let rest = &out[nul + 1..];
    let nl = rest.iter().position(|b| *b == b'\n')?;
    Some((
        super::text(&out[..nul]),
        super::text(&rest[..nl]),
        &rest[nl + 1..],
    ))
}

/// A piece of a path for Python's `os.path.expandvars`.
#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    /// `$name` or `${name}`: the variable's value when set, else the text as written.
    Var {
        name: String,
        written: String,
    },
}

/// Splits a path as `os.path.expandvars` reads it: `$name` and `${name}` (`name` ASCII word
/// characters). A name the shell cannot look up (one starting with a digit, or braces holding
/// other characters) stays as written.
fn expandvars_pieces(path: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let b = path.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let (name, end) = if b.get(i + 1) == Some(&b'{') {
                match path[i + 2..].find('}') {
                    Some(close) => (&path[i + 2..i + 2 + close], i + 3 + close),
                    None => ("", i + 1),
                }
            } else {
                let len = b[i + 1..].iter().take_while(|c| word(**c)).count();
                (&path[i + 1..i + 1 + len], i + 1 + len)
            };
            let lookup =
                !name.is_empty() && name.bytes().all(word) && !name.as_bytes()[0].is_ascii_digit();
            if lookup {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Var {
                    name: name.to_string(),
                    written: path[i..end].to_string(),
                });
                i = end;
                continue;
            }
            text.push_str(&path[i..end.max(i + 1)]);
            i = end.max(i + 1);
            continue;
        }
        let ch = path[i..].chars().next().unwrap_or_default();
        text.push(ch);
        i += ch.len_utf8();
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_found_as_expandvars_finds_them() {
        let var = |name: &str, written: &str| Piece::Var {
            name: name.into(),
            written: written.into(),
        };
        assert_eq!(
            expandvars_pieces("$HOME/a/${X_1}b/$"),
            vec![
                var("HOME", "$HOME"),
                Piece::Text("/a/".into()),
                var("X_1", "${X_1}"),
                Piece::Text("b/$".into()),
            ]
        );
        assert_eq!(
            expandvars_pieces("/p/${a-b}/$1x/é"),
            vec![Piece::Text("/p/${a-b}/$1x/é".into())]
        );
    }

    #[test]
    fn the_answer_is_path_verdict_and_bytes() {
        let out = b"/etc/x\0ok\nab\0\ncd";
        let (p, v, c) = parse(out).unwrap();
        assert_eq!(
            (p.as_str(), v.as_str(), c),
            ("/etc/x", "ok", &b"ab\0\ncd"[..])
        );
        assert_eq!(
            failed("/x", "isdir").msg.unwrap().as_str(),
            Some("Source is a directory and must be a file: /x")
        );
    }

    #[test]
    fn the_script_quotes_what_it_is_given() {
        let s = script("/tmp/a'b/$HOME");
        assert!(s.contains("p=\"$p\"'/tmp/a'\"'\"'b/'\n"), "{s}");
        assert!(s.contains("if [ -n \"${HOME+x}\" ]"), "{s}");
    }
}
