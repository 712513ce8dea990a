//! Ansible's INI inventory format, as its `ini` plugin reads it.
//!
//! Hosts before the first section are in `ungrouped`; `[g]` lists hosts (`name[:port]` with
//! ranges, then `k=v` pairs split like Python's `shlex.split(comments=True)`), `[g:vars]` sets
//! group variables, `[g:children]` nests groups, which may be declared later in the file (a child
//! never declared, or `[g:vars]` for a group never declared, is an error at the end). Every value
//! is typed by [`literal::parse_value`] (Python's `ast.literal_eval`): `8080` is a number,
//! `True` a boolean, `yes` a string. On a host line the shell quotes go first, so `x="True"` is
//! the boolean True there; in `[g:vars]` the whole rest of the line is the value and the same
//! `x="True"` is the string `True`.

use super::{Inventory, address, literal};
use crate::diagnostics::{Error, Pos, Source, Span};
use indexmap::IndexMap;
use regex::Regex;
use std::sync::{Arc, OnceLock};

#[derive(Clone, Copy, PartialEq)]
enum State {
    Hosts,
    Vars,
    Children,
}

/// A group named before it was declared: by `[g:vars]`, or as a child of other groups.
struct Pending {
    span: Span,
    state: State,
    parents: Vec<String>,
}

fn section_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("valid section regex")
    })
}

fn groupname_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("valid group regex"))
}

/// Parses one INI source into the inventory.
pub fn parse(source: &Arc<Source>, inv: &mut Inventory) -> Result<(), Error> {
    // Most lines of a large inventory are hosts: room for them up front.
    inv.hosts.reserve(source.text.len() / 40);
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut group = "ungrouped".to_string();
    let mut state = State::Hosts;
    for (idx, raw) in source.text.split('\n').enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with([';', '#']) {
            continue;
        }
        let lead = raw.chars().take_while(|c| c.is_whitespace()).count();
        let here = Span {
            source: source.clone(),
            start: Pos {
                line: idx + 1,
                col: lead + 1,
            },
            end: Pos {
                line: idx + 1,
                col: lead + 1 + line.chars().count(),
            },
        };
        let fail = |m: String| Error::syntax(&here, m);
        if let Some(c) = line
            .starts_with('[')
            .then(|| section_re().captures(line))
            .flatten()
        {
            group = c[1].to_string();
            let kind = c.get(2).map_or("hosts", |m| m.as_str());
            state = match kind {
                "hosts" => State::Hosts,
                "vars" => State::Vars,
                "children" => State::Children,
                other => {
                    return Err(fail(format!(
                        "Section [{group}:{other}] has unknown type: {other}"
                    )));
                }
            };
            if !inv.groups.contains_key(&group) {
                // `[g]` or `[g:children]` declares a group; `[g:vars]` may only come before
                // the declaration, which is checked at the end.
                if state == State::Vars && !pending.contains_key(&group) {
                    pending.insert(
                        group.clone(),
                        Pending {
                            span: here.clone(),
                            state,
                            parents: Vec::new(),
                        },
                    );
                }
                inv.add_group(&group).map_err(fail)?;
            }
            if state != State::Vars
                && let Some(p) = pending.get(&group)
            {
                if p.state == State::Children {
                    add_pending_children(inv, &group, &mut pending).map_err(fail)?;
                } else {
                    pending.shift_remove(&group);
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(fail(format!(
                "Invalid section entry: '{line}'. Please make sure that there are no spaces in the \
                 section entry, and that there are no other invalid characters"
            )));
        }
        match state {
            State::Hosts => host_line(inv, line, &group).map_err(fail)?,
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(fail(format!("Expected key=value, got: {line}")));
                };
                let value = literal::parse_value(v.trim()).map_err(&fail)?;
                inv.set_variable(&group, k.trim(), value).map_err(fail)?;
            }
            State::Children => {
                let Some(c) = groupname_re().captures(line) else {
                    return Err(fail(format!("Expected group name, got: {line}")));
                };
                let child = c[1].to_string();
                if inv.groups.contains_key(&child) {
                    inv.add_child_any(&group, &child).map_err(fail)?;
                } else {
                    pending
                        .entry(child)
                        .or_insert_with(|| Pending {
                            span: here.clone(),
                            state: State::Children,
                            parents: Vec::new(),
                        })
                        .parents
                        .push(group.clone());
                }
            }
        }
    }
    if let Some((name, p)) = pending.first() {
        let message = match p.state {
            State::Vars => format!("Section [{name}:vars] not valid for undefined group '{name}'."),
            _ => format!(
                "Section [{}:children] includes undefined group '{name}'.",
                p.parents.last().map_or("", String::as_str)
            ),
        };
        return Err(Error::syntax(&p.span, message)
            .with_help(format!("declare the group with a [{name}] section")));
    }
    Ok(())
}

/// A child group declared at last: add it to the parents that named it, and (depth first, in
/// Ansible's order) those parents that were themselves waiting. An explicit stack stands in
/// for Ansible's recursion: such a chain may be long.
fn add_pending_children(
    inv: &mut Inventory,
    group: &str,
    pending: &mut IndexMap<String, Pending>,
) -> Result<(), String> {
    let parents_of = |pending: &IndexMap<String, Pending>, g: &str| {
        pending
            .get(g)
            .map(|p| p.parents.clone())
            .unwrap_or_default()
    };
    let mut stack: Vec<(String, Vec<String>, usize)> =
        vec![(group.to_string(), parents_of(pending, group), 0)];
    while let Some((group, parents, next)) = stack.last_mut() {
        let Some(parent) = parents.get(*next).cloned() else {
            pending.shift_remove(group.as_str());
            stack.pop();
            continue;
        };
        *next += 1;
        let group = group.clone();
        inv.add_child_any(&parent, &group)?;
        let waiting = pending
            .get(&parent)
            .is_some_and(|p| p.state == State::Children);
        if waiting && !stack.iter().any(|(g, _, _)| *g == parent) {
            let grand = parents_of(pending, &parent);
            stack.push((parent, grand, 0));
        }
    }
    Ok(())
}

/// `name[:port] [k=v ...]`.
fn host_line(inv: &mut Inventory, line: &str, group: &str) -> Result<(), String> {
    let tokens = shlex_split_comments(line)
        .map_err(|e| format!("Error parsing host definition '{line}': {e}"))?;
    let Some(pattern) = tokens.first() else {
        return Ok(());
    };
    let expanded = address::expand_hostpattern(pattern)?;
    if pattern.trim().ends_with(':') && expanded.port.is_none() {
        return Err(format!(
            "Invalid host pattern '{pattern}' supplied, ending in ':' is not allowed, this \
             character is reserved to provide a port."
        ));
    }
    if expanded.names.iter().any(|n| n.trim() == "---") {
        return Err(format!(
            "Invalid host pattern '{pattern}' supplied, '---' is normally a sign this is a YAML file."
        ));
    }
    let mut vars: IndexMap<String, crate::value::Value> = IndexMap::new();
    for t in &tokens[1..] {
        let Some((k, v)) = t.split_once('=') else {
            return Err(format!(
                "Expected key=value host variable assignment, got: {t}"
            ));
        };
        vars.insert(k.to_string(), literal::parse_value(v)?);
    }
    for name in &expanded.names {
        inv.add_host_in(name, Some(group), expanded.port)?;
        if let Some(h) = inv.hosts.get_mut(name.as_str()) {
            h.vars.reserve(vars.len());
        }
        for (k, v) in &vars {
            inv.set_variable(name, k, v.clone())?;
        }
    }
    Ok(())
}

/// Splits `name:port` (but not IPv6 addresses, nor names that are ranges like `h[1:3]`), as
/// Ansible's `parse_address` does; a string that is no valid host keeps its colon.
pub fn split_host_port(s: &str) -> (String, Option<u16>) {
    match address::parse_address(s, true) {
        Ok((host, port)) => (host, port.and_then(|p| u16::try_from(p).ok())),
        Err(_) => (s.to_string(), None),
    }
}

/// Expands `[a:b]` and `[a:b:step]` ranges (see [`address::expand_hostname_range`]).
pub fn expand_ranges(pattern: &str) -> Result<Vec<String>, String> {
    address::expand_hostpattern(pattern).map(|e| e.names)
}

/// Python's `shlex.split(line)`: POSIX quoting, `#` an ordinary character. This is how
/// Ansible splits a `command` module's free-form arguments.
pub fn shlex_split(line: &str) -> Result<Vec<String>, String> {
    shlex(line, false)
}

/// Python's `shlex.split(line, comments=True)`, as the INI plugin splits host lines: `#` starts
/// a comment even in the middle of a word.
pub fn shlex_split_comments(line: &str) -> Result<Vec<String>, String> {
    shlex(line, true)
}

fn shlex(line: &str, comments: bool) -> Result<Vec<String>, String> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    // Most lines have nothing to unquote: split them without building tokens char by char.
    if !line.contains(['\'', '"', '\\', '#']) {
        return Ok(line
            .split(is_space)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect());
    }
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if is_space(c) => {
                if in_token {
                    tokens.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            '#' if comments => break,
            '\'' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        // Inside double quotes a backslash escapes only `"` and `\`.
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("No closing quotation".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '\\' => {
                in_token = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("No escaped character".into()),
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

/// Types a value as Ansible's INI plugin does (Python's `ast.literal_eval`, the text otherwise).
pub fn literal_eval(text: &str) -> crate::value::Value {
    literal::parse_value(text).unwrap_or_else(|_| crate::value::Value::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Inventory, Error> {
        Inventory::from_ini("inv.ini", text)
    }

    #[test]
    fn host_lines_and_errors_carry_location() {
        let inv = load("[web]\nweb1:2222 http_port=8080 note='a b' flag=\"True\"\n").unwrap();
        let h = &inv.hosts["web1"];
        assert_eq!(h.vars["ansible_port"].as_i64(), Some(2222));
        assert_eq!(h.vars["http_port"].as_i64(), Some(8080));
        assert_eq!(h.vars["note"].as_str(), Some("a b"));
        assert!(h.vars["flag"].is_true());
        let err = load("[web]\nweb1 oops\n").unwrap_err();
        assert!(err.to_string().contains("inv.ini:2:1"), "{err}");
        let err = load("[web]\n  h[1:x]\n").unwrap_err();
        assert!(err.to_string().contains("inv.ini:2:3"), "{err}");
    }

    #[test]
    fn children_may_come_before_their_declaration() {
        let inv = load("[top:children]\nmid\n[mid:children]\nleaf\n[leaf]\nh1\n").unwrap();
        assert_eq!(inv.group_hosts("top"), vec!["h1"]);
        let err = load("[top:children]\nnope\n").unwrap_err();
        assert!(err.message.contains("undefined group 'nope'"), "{err}");
        assert!(err.to_string().contains("inv.ini:2:1"), "{err}");
        let err = load("[x:vars]\na=1\n").unwrap_err();
        assert!(err.message.contains("[x:vars] not valid"), "{err}");
    }

    #[test]
    fn a_port_comes_from_the_first_line_naming_the_host() {
        let inv = load("[a]\nh1\n[b]\nh1:33\nh2:22\n[c]\nh2:44\n").unwrap();
        assert!(!inv.hosts["h1"].vars.contains_key("ansible_port"));
        assert_eq!(inv.hosts["h2"].vars["ansible_port"].as_i64(), Some(22));
    }

    #[test]
    fn shlex_matches_python() {
        assert_eq!(shlex_split_comments("a#b c").unwrap(), vec!["a"]);
        assert_eq!(shlex_split_comments("x=\"a b\"c").unwrap(), vec!["x=a bc"]);
        assert_eq!(
            shlex_split_comments("x=\"a\\$b\"").unwrap(),
            vec!["x=a\\$b"]
        );
        assert_eq!(shlex_split_comments("x=a\\ b").unwrap(), vec!["x=a b"]);
        assert_eq!(shlex_split_comments("''").unwrap(), vec![""]);
        assert!(shlex_split_comments("'x").is_err());
        assert_eq!(
            shlex_split("echo a#b # c").unwrap(),
            vec!["echo", "a#b", "#", "c"]
        );
    }
}
