//! Ansible's INI inventory format.
//!
//! Hosts before the first section are ungrouped; `[g]` lists hosts with inline `k=v` variables,
//! `[g:vars]` sets group variables, `[g:children]` nests groups. Host names may carry a port
//! (`web1:2222`) and ranges (`www[01:50:2].example.com`, `db-[a:f]`). Values are typed as
//! Ansible's `ast.literal_eval` types them: `8080` is a number, `True` a boolean, `yes` a string.

use super::Inventory;
use crate::diagnostics::{Error, Pos, Source, Span};
use crate::value::Value;
use std::sync::Arc;

enum Section {
    Hosts(String),
    Vars(String),
    Children(String),
}

/// Parses one INI source into the inventory.
pub fn parse(source: &Arc<Source>, inv: &mut Inventory) -> Result<(), Error> {
    let mut section = Section::Hosts("ungrouped".to_string());
    for (idx, raw) in source.text.split('\n').enumerate() {
        let line_no = idx + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        let lead = raw.chars().take_while(|c| c.is_whitespace()).count();
        let span = |col: usize, len: usize| Span {
            source: source.clone(),
            start: Pos {
                line: line_no,
                col: lead + col + 1,
            },
            end: Pos {
                line: line_no,
                col: lead + col + 1 + len.max(1),
            },
        };
        if line.starts_with('[') {
            let Some(body) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
                return Err(Error::syntax(
                    &span(0, line.len()),
                    format!("invalid section entry: '{line}'; a section is '[name]'"),
                ));
            };
            let (name, kind) = match body.split_once(':') {
                Some((n, k)) => (n.trim(), Some(k.trim())),
                None => (body.trim(), None),
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(Error::syntax(
                    &span(0, line.len()),
                    format!("invalid group name '{name}' in section {line}"),
                ));
            }
            section = match kind {
                None | Some("hosts") => Section::Hosts(name.to_string()),
                Some("vars") => Section::Vars(name.to_string()),
                Some("children") => Section::Children(name.to_string()),
                Some(other) => {
                    return Err(Error::syntax(
                        &span(0, line.len()),
                        format!("section [{body}] has unknown type: {other}"),
                    ));
                }
            };
            if let Section::Hosts(g) | Section::Children(g) = &section {
                inv.add_group(g);
            }
            continue;
        }
        match &section {
            Section::Hosts(group) => {
                let tokens =
                    shlex_split(line).map_err(|m| Error::syntax(&span(0, line.len()), m))?;
                let Some(pattern) = tokens.first() else {
                    continue;
                };
                let mut vars = Vec::new();
                for t in &tokens[1..] {
                    let Some((k, v)) = t.split_once('=') else {
                        let col = line.find(t.as_str()).unwrap_or(0);
                        return Err(Error::syntax(
                            &span(col, t.len()),
                            format!("expected key=value host variable assignment, got: {t}"),
                        ));
                    };
                    vars.push((k.to_string(), literal_eval(v)));
                }
                let (name_pattern, port) = split_host_port(pattern);
                let names = expand_ranges(&name_pattern)
                    .map_err(|m| Error::syntax(&span(0, pattern.len()), m))?;
                for name in names {
                    inv.add_host(&name, group);
                    if let Some(port) = port {
                        inv.set_host_var(&name, "ansible_port", Value::from(port));
                    }
                    for (k, v) in &vars {
                        inv.set_host_var(&name, k, v.clone());
                    }
                }
            }
            Section::Vars(group) => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(Error::syntax(
                        &span(0, line.len()),
                        format!("expected key=value, got: {line}"),
                    ));
                };
                inv.set_group_var(group, k.trim(), literal_eval(v.trim()));
            }
            Section::Children(group) => {
                let child = line.split_whitespace().next().unwrap_or(line);
                inv.add_child(group, child)
                    .map_err(|e| e.at(&span(0, child.len())))?;
            }
        }
    }
    Ok(())
}

/// Splits `name:port` (but not IPv6 addresses, nor names that are ranges like `h[1:3]`).
pub fn split_host_port(s: &str) -> (String, Option<u16>) {
    if let Some((host, port)) = s.rsplit_once(':')
        && !host.contains(':')
        && !port.contains(']')
        && let Ok(p) = port.parse::<u16>()
    {
        return (host.to_string(), Some(p));
    }
    (s.to_string(), None)
}

/// Expands `[a:b]` and `[a:b:step]` ranges (numeric with their zero padding, or alphabetic),
/// several per name.
pub fn expand_ranges(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|c| c + open)
        .ok_or_else(|| format!("invalid range in host name '{pattern}': no closing ']'"))?;
    let (head, body, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let parts: Vec<&str> = body.split(':').collect();
    let bad = || format!("invalid range '[{body}]' in host name '{pattern}'");
    if parts.len() < 2 || parts.len() > 3 {
        return Err(bad());
    }
    let step: usize = match parts.get(2) {
        Some(s) => s.parse().map_err(|_| bad())?,
        None => 1,
    };
    if step == 0 {
        return Err(bad());
    }
    let (beg, end) = (parts[0], parts[1]);
    let mut items = Vec::new();
    if let (Ok(b), Ok(e)) = (
        if beg.is_empty() {
            Ok(0)
        } else {
            beg.parse::<u64>()
        },
        end.parse::<u64>(),
    ) {
        if b > e {
            return Err(format!(
                "invalid range '[{body}]' in host name '{pattern}': start is after end"
            ));
        }
        let width = if beg.len() > 1 && beg.starts_with('0') {
            beg.len()
        } else {
            0
        };
        let mut i = b;
        while i <= e {
            items.push(format!("{i:0width$}"));
            i += step as u64;
        }
    } else if beg.len() == 1 && end.len() == 1 {
        let (b, e) = (beg.as_bytes()[0], end.as_bytes()[0]);
        if !b.is_ascii_alphabetic() || !e.is_ascii_alphabetic() || b > e {
            return Err(bad());
        }
        items.extend((b..=e).step_by(step).map(|c| (c as char).to_string()));
    } else {
        return Err(bad());
    }
    // Ansible orders by the first range, then by the next.
    let tails = expand_ranges(tail)?;
    let mut out = Vec::with_capacity(items.len() * tails.len());
    for item in &items {
        for tail in &tails {
            out.push(format!("{head}{item}{tail}"));
        }
    }
    Ok(out)
}

/// Python's `shlex.split(line, comments=True)`: POSIX quoting, `#` starts a comment.
pub fn shlex_split(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' if !in_token => break,
            c if c.is_whitespace() => {
                if in_token {
                    tokens.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            '\'' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("no closing quotation in: {line}")),
                    }
                }
            }
            '"' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err(format!("no closing quotation in: {line}")),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("no closing quotation in: {line}")),
                    }
                }
            }
            '\\' => {
                in_token = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c => {
                in_token = true;
                cur.push(c);
            }
        }
    }
    if in_token {
        tokens.push(cur);
    }
    Ok(tokens)
}

/// A subset of Python's `ast.literal_eval` that covers what inventories hold: numbers, booleans,
/// None, quoted strings, lists, tuples and dicts of those. Anything else stays the text it was.
pub fn literal_eval(text: &str) -> Value {
    let mut p = Literal {
        s: text.trim().as_bytes(),
        i: 0,
    };
    match p.value() {
        Some(v) if p.i == p.s.len() => v,
        _ => Value::from(text),
    }
}

struct Literal<'a> {
    s: &'a [u8],
    i: usize,
}

impl Literal<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.ws();
        let c = *self.s.get(self.i)?;
        let v = match c {
            b'\'' | b'"' => self.string(c),
            b'[' => self.seq(b']'),
            b'(' => self.seq(b')'),
            b'{' => self.dict(),
            _ => self.atom(),
        };
        self.ws();
        v
    }

    fn string(&mut self, q: u8) -> Option<Value> {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                c if c == q => return Some(Value::from(String::from_utf8(out).ok()?)),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        other => other,
                    });
                }
                c => out.push(c),
            }
        }
        None
    }

    fn seq(&mut self, close: u8) -> Option<Value> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.s.get(self.i) == Some(&close) {
                self.i += 1;
                return Some(items.into_iter().collect());
            }
            items.push(self.value()?);
            match self.s.get(self.i)? {
                b',' => self.i += 1,
                c if *c == close => {}
                _ => return None,
            }
        }
    }

    fn dict(&mut self) -> Option<Value> {
        self.i += 1;
        let mut pairs = Vec::new();
        loop {
            self.ws();
            if self.s.get(self.i) == Some(&b'}') {
                self.i += 1;
                return Some(crate::value::map(pairs));
            }
            let k = self.value()?;
            if self.s.get(self.i)? != &b':' {
                return None;
            }
            self.i += 1;
            let v = self.value()?;
            pairs.push((k, v));
            match self.s.get(self.i)? {
                b',' => self.i += 1,
                b'}' => {}
                _ => return None,
            }
        }
    }

    fn atom(&mut self) -> Option<Value> {
        let start = self.i;
        while self.i < self.s.len() && !b",]})}: \t".contains(&self.s[self.i]) {
            self.i += 1;
        }
        let word = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        match word {
            "True" => Some(Value::from(true)),
            "False" => Some(Value::from(false)),
            "None" => Some(Value::from(())),
            _ => python_number(word),
        }
    }
}

fn python_number(word: &str) -> Option<Value> {
    let w = word.replace('_', "");
    let (neg, body) = match w.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, w.trim_start_matches('+').to_string()),
    };
    let int = if let Some(h) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        i64::from_str_radix(b, 2).ok()
    } else if body.bytes().all(|c| c.is_ascii_digit())
        && !body.is_empty()
        && (body == "0" || !body.starts_with('0'))
    {
        body.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Some(Value::from(if neg { -i } else { i }));
    }
    if body.bytes().any(|c| c.is_ascii_digit())
        && body.contains(['.', 'e', 'E'])
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        let f: f64 = body.parse().ok()?;
        return Some(Value::from(if neg { -f } else { f }));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_with_padding_steps_and_letters() {
        assert_eq!(
            expand_ranges("www[01:03].x").unwrap(),
            vec!["www01.x", "www02.x", "www03.x"]
        );
        assert_eq!(expand_ranges("h[1:5:2]").unwrap(), vec!["h1", "h3", "h5"]);
        assert_eq!(
            expand_ranges("db-[a:c]").unwrap(),
            vec!["db-a", "db-b", "db-c"]
        );
        assert_eq!(expand_ranges("n[1:2]-[a:b]").unwrap().len(), 4);
        assert!(expand_ranges("h[3:1]").is_err());
        assert!(expand_ranges("h[1:x").is_err());
    }

    #[test]
    fn values_are_typed_like_literal_eval() {
        assert_eq!(literal_eval("8080").as_i64(), Some(8080));
        assert!(literal_eval("True").is_true());
        assert_eq!(literal_eval("yes").as_str(), Some("yes"));
        assert_eq!(literal_eval("'a b'").as_str(), Some("a b"));
        assert_eq!(literal_eval("[1, 'x']").len(), Some(2));
        assert_eq!(literal_eval("0644").as_str(), Some("0644"));
    }

    #[test]
    fn host_lines_and_errors_carry_location() {
        let mut inv = Inventory::default();
        let src = Source::new("inv.ini", "[web]\nweb1:2222 http_port=8080 note='a b'\n");
        parse(&src, &mut inv).unwrap();
        let h = &inv.hosts["web1"];
        assert_eq!(h.vars["ansible_port"].as_i64(), Some(2222));
        assert_eq!(h.vars["note"].as_str(), Some("a b"));
        let bad = Source::new("inv.ini", "[web]\nweb1 oops\n");
        let err = parse(&bad, &mut Inventory::default()).unwrap_err();
        assert!(err.to_string().contains("inv.ini:2:6"), "{err}");
    }
}
