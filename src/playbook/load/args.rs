//! Free-form argument text as Ansible splits it (`parse_kv`, `split_args`, `unquote`): `k=v`
//! pairs, quoting, Jinja blocks kept whole, escapes decoded, `_raw_params` for the rest.

use super::*;

/// Ansible's `parse_kv`: `k=v` pairs become arguments; for command-like modules only their own
/// options do, and the rest stays the command line in `_raw_params`. As in Ansible, each word's
/// backslash escapes (`\n`, `\t`, `\"`, `\x41`, `\u00e9`...) are decoded before it is split at
/// its first `=` not escaped by a backslash; words kept in the command line are kept as written.
pub fn parse_free_form(action: &str, text: &str) -> Vec<(String, Value)> {
    let raw_module = crate::modules::free_form(action) != crate::modules::FreeForm::No;
    let mut args = Vec::new();
    let mut raw = Vec::new();
    for token in split_args(text) {
        let x = decode_escapes(&token);
        if !x.contains('=') {
            raw.push(token);
            continue;
        }
        // The first '=' after the first character that no backslash precedes.
        let chars: Vec<(usize, char)> = x.char_indices().collect();
        let pos = chars
            .iter()
            .enumerate()
            .skip(1)
            .find(|(i, (_, c))| *c == '=' && chars[i - 1].1 != '\\')
            .map(|(_, (b, _))| *b);
        let Some(pos) = pos else {
            raw.push(x.replace("\\=", "="));
            continue;
        };
        let (k, v) = (&x[..pos], &x[pos + 1..]);
        // An '=' inside a template (`{{ a if x == 1 else b }}`) makes no key: the word stays
        // the raw parameter (ansible-core would reject the odd key it made). A whole template
        // before the '=' is a key, templated when the task runs (`set_fact: "{{ item }}=x"`).
        if (raw_module && !RAW_PARAM_OPTIONS.contains(&k)) || inside_template(k) {
            raw.push(token);
        } else {
            args.push((k.trim().to_string(), Value::from(unquote(v.trim()))));
        }
    }
    if !raw.is_empty() {
        args.insert(0, ("_raw_params".to_string(), Value::from(join_args(&raw))));
    }
    args
}

/// Whether text ends inside a `{{ ... }}` or `{% ... %}` block it opened.
fn inside_template(text: &str) -> bool {
    text.matches("{{").count() > text.matches("}}").count()
        || text.matches("{%").count() > text.matches("%}").count()
}

/// Ansible's `_decode_escapes`: Python's unicode-escape decoding of `\\`, `\'`, `\"`, `\a`,
/// `\b`, `\f`, `\n`, `\r`, `\t`, `\v`, `\xHH`, `\uHHHH` and `\UHHHHHHHH`; anything else stays
/// as written. (`\N{name}` is left as written: baton has no table of Unicode names.)
pub fn decode_escapes(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' || i + 1 >= chars.len() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let simple = match chars[i + 1] {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        let digits = match chars[i + 1] {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        let hex: String = chars[i + 2..].iter().take(digits).collect();
        let decoded =
            (digits > 0 && hex.len() == digits && hex.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32))
                .flatten();
        match decoded {
            Some(c) => {
                out.push(c);
                i += 2 + digits;
            }
            None => {
                out.push('\\');
                i += 1;
            }
        }
    }
    out
}

/// Ansible's `split_args`: splits on spaces outside quotes and Jinja blocks, keeping quotes.
/// Lines are split apart first, and a word that ends a line keeps its newline (unless a lone
/// `\\` continues the line), so [`join_args`] gives the command line back as written: a
/// multi-line `shell: |` script keeps its lines, and runs of spaces are kept too.
pub fn split_args(text: &str) -> Vec<String> {
    let mut params: Vec<String> = Vec::new();
    let mut quote: Option<char> = None;
    let (mut print, mut block, mut comment) = (0usize, 0usize, 0usize);
    let lines: Vec<&str> = text.split('\n').collect();
    for (li, line) in lines.iter().enumerate() {
        let mut continuation = false;
        for (idx, token) in line.split(' ').enumerate() {
            if token.is_empty() && idx != 0 {
                match params.last_mut() {
                    Some(p) => p.push(' '),
                    None => params.push(" ".into()),
                }
                continue;
            }
            if token == "\\" && quote.is_none() {
                continuation = true;
                continue;
            }
            let was_quoted = quote.is_some();
            quote = quote_state(token, quote);
            let quoted = quote.is_some();
            let in_jinja = print > 0 || block > 0 || comment > 0;
            let mut appended = false;
            if quoted && !was_quoted && !in_jinja {
                params.push(token.to_string());
                appended = true;
            } else if in_jinja || quoted || was_quoted {
                match params.last_mut() {
                    Some(p) => {
                        if idx > 0 {
                            p.push(' ');
                        }
                        p.push_str(token);
                    }
                    None => params.push(token.to_string()),
                }
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print, "{{", "}}"),
                (&mut block, "{%", "%}"),
                (&mut comment, "{#", "#}"),
            ] {
                let before = *depth;
                *depth = jinja_depth(token, before, open, close);
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            let in_jinja = print > 0 || block > 0 || comment > 0;
            if !in_jinja && quote.is_none() && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if lines.len() > 1 && li != lines.len() - 1 && !continuation {
            match params.last_mut() {
                Some(p) => p.push('\n'),
                None => params.push("\n".into()),
            }
        }
    }
    params
}

/// Ansible's `join_args`: the words of [`split_args`] put back together, a space between two
/// words unless the first ends its line.
pub fn join_args<S: AsRef<str>>(words: &[S]) -> String {
    let mut out = String::new();
    for w in words {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(w.as_ref());
    }
    out
}

/// The quote a word leaves open, given the one open before it (`_get_quote_state`).
pub(super) fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

/// The nesting depth of one kind of Jinja block after a word (`_count_jinja2_blocks`).
pub(super) fn jinja_depth(token: &str, depth: usize, open: &str, close: &str) -> usize {
    let (o, c) = (token.matches(open).count(), token.matches(close).count());
    if o == c {
        return depth;
    }
    (depth as isize + o as isize - c as isize).max(0) as usize
}

/// Ansible's `unquote`: matching quotes around a value are dropped, unless the closing one is
/// escaped.
pub(super) fn unquote(v: &str) -> String {
    let c: Vec<char> = v.chars().collect();
    let n = c.len();
    if n > 1 && c[0] == c[n - 1] && (c[0] == '"' || c[0] == '\'') && c[n - 2] != '\\' {
        return c[1..n - 1].iter().collect();
    }
    v.to_string()
}
