//! Host patterns, as `hosts:` and `--limit` take them, evaluated as Ansible's
//! `InventoryManager.get_hosts` does.
//!
//! A pattern is split on `,` (or, when it has no comma and is not itself one host address, on
//! `:` outside brackets). Plain terms are applied first, in order, then `&term` (intersection),
//! then `!term` (exclusion); with only `&`/`!` terms the start is `all`. A term is an exact host
//! name, else it matches group names and host names as a shell wildcard (`web*`, `db[12]`) or,
//! with `~`, as a regular expression matched at the start; a group contributes all hosts below
//! it. A subscript `group[0]`, `group[-1]`, `group[1:3]` (inclusive), `group[2:]` picks from a
//! term's hosts. `--limit` takes the same syntax plus `@file` (one pattern per line, e.g. a retry
//! file), and keeps the hosts of the pattern that it also selects. Names of the controller
//! (`localhost`) select the implicit localhost when the inventory does not define one.

use super::{Inventory, LOCALHOST, address};
use crate::diagnostics::{Error, ErrorKind};
use crate::text::fnmatch::Pattern;
use regex::Regex;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Python's `fnmatch.translate`, for callers that want a `Regex`; [`crate::text::fnmatch`]
/// matches without one.
pub use crate::text::fnmatch::translate as fnmatch_translate;

/// The hosts a pattern selects, and the terms that matched nothing (Ansible warns about each:
/// "Could not match supplied host pattern, ignoring: TERM").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub hosts: Vec<String>,
    pub unmatched: Vec<String>,
    /// Other warnings (the removed `[x-y]` subscript syntax).
    pub warnings: Vec<String>,
}

impl Inventory {
    /// The hosts `pattern` selects, restricted by `limit` (`--limit`) when given, in Ansible's
    /// order. Errors: a subscript past the end, a regex that does not compile, a limit file that
    /// cannot be read.
    pub fn get_hosts(&self, pattern: &str, limit: Option<&str>) -> Result<Selection, Error> {
        self.get_hosts_list(&split_host_pattern(pattern), limit)
    }

    /// [`Inventory::get_hosts`] for a pattern that is already a list (`hosts: [web, db]`).
    pub fn get_hosts_list(
        &self,
        patterns: &[String],
        limit: Option<&str>,
    ) -> Result<Selection, Error> {
        let mut sel = Selection::default();
        let patterns: Vec<String> = patterns
            .iter()
            .flat_map(|p| split_host_pattern(p))
            .collect();
        let mut hosts = self.evaluate(&patterns, &mut sel)?;
        if let Some(limit) = limit {
            let subset = subset_patterns(limit)?;
            let allowed: HashSet<String> = self.evaluate(&subset, &mut sel)?.into_iter().collect();
            hosts.retain(|h| allowed.contains(h));
        }
        let mut seen = HashSet::new();
        hosts.retain(|h| seen.insert(h.clone()));
        sel.hosts = hosts;
        Ok(sel)
    }

    /// The hosts a pattern selects, in Ansible's order, and the terms that matched nothing. A
    /// pattern Ansible would reject (a subscript past the end, a bad regex) selects nothing.
    pub fn select(&self, pattern: &str) -> (Vec<String>, Vec<String>) {
        match self.get_hosts(pattern, None) {
            Ok(sel) => (sel.hosts, sel.unmatched),
            Err(_) => (Vec::new(), vec![pattern.to_string()]),
        }
    }

    fn evaluate(&self, patterns: &[String], sel: &mut Selection) -> Result<Vec<String>, Error> {
        let mut hosts: Vec<String> = Vec::new();
        for p in order_patterns(patterns) {
            if self.hosts.contains_key(p.as_str()) {
                hosts.push(p);
                continue;
            }
            let that = self.match_one(&p, sel)?;
            if p.starts_with('!') {
                let that: HashSet<&String> = that.iter().collect();
                hosts.retain(|h| !that.contains(h));
            } else if p.starts_with('&') {
                let that: HashSet<&String> = that.iter().collect();
                hosts.retain(|h| that.contains(h));
            } else {
                let existing: HashSet<String> = hosts.iter().cloned().collect();
                hosts.extend(that.into_iter().filter(|h| !existing.contains(h)));
            }
        }
        Ok(hosts)
    }

    /// One term, without its `&`/`!`, with its subscript applied.
    fn match_one(&self, pattern: &str, sel: &mut Selection) -> Result<Vec<String>, Error> {
        let term = pattern.strip_prefix(['&', '!']).unwrap_or(pattern);
        let (expr, subscript) = split_subscript(term, sel);
        let hosts = self.enumerate_matches(expr, sel)?;
        apply_subscript(hosts, subscript).ok_or_else(|| {
            Error::new(
                ErrorKind::Usage,
                format!("No hosts matched the subscripted pattern '{term}'"),
            )
        })
    }

    fn enumerate_matches(&self, pattern: &str, sel: &mut Selection) -> Result<Vec<String>, Error> {
        let matcher = Matcher::new(pattern)?;
        let mut results = Vec::new();
        // An exact name is looked up, not compared with every group and host.
        let groups: Vec<&String> = match &matcher {
            Matcher::Exact(s) => self
                .groups
                .get_key_value(s)
                .map(|(k, _)| k)
                .into_iter()
                .collect(),
            Matcher::Regex(_) | Matcher::Glob(_) => {
                self.groups.keys().filter(|g| matcher.is_match(g)).collect()
            }
        };
        for g in &groups {
            results.extend(self.group_hosts(g));
        }
        if groups.is_empty() || pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']) {
            match &matcher {
                Matcher::Exact(s) => {
                    results.extend(self.hosts.get_key_value(s).map(|(k, _)| k.clone()))
                }
                Matcher::Regex(_) | Matcher::Glob(_) => {
                    results.extend(self.hosts.keys().filter(|h| matcher.is_match(h)).cloned())
                }
            }
        }
        if results.is_empty() && LOCALHOST.contains(&pattern) {
            results.push(pattern.to_string());
        }
        if results.is_empty() && groups.is_empty() && pattern != "all" {
            sel.unmatched.push(pattern.to_string());
        }
        Ok(results)
    }
}

/// A term as a matcher: an exact name, a shell wildcard, or (`~`) a regex matched at the start.
enum Matcher {
    Exact(String),
    Regex(Regex),
    Glob(Pattern),
}

impl Matcher {
    fn new(pattern: &str) -> Result<Matcher, Error> {
        let invalid = || {
            Error::new(
                ErrorKind::Usage,
                format!("Invalid host list pattern: {pattern}"),
            )
        };
        if let Some(re) = pattern.strip_prefix('~') {
            return Regex::new(&format!("^(?:{re})"))
                .map(Matcher::Regex)
                .map_err(|e| invalid().context(e.to_string()));
        }
        if !pattern.contains(['*', '?', '[']) {
            return Ok(Matcher::Exact(pattern.to_string()));
        }
        Ok(Matcher::Glob(Pattern::new(pattern)))
    }

    fn is_match(&self, name: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == name,
            Matcher::Regex(re) => re.is_match(name),
            Matcher::Glob(p) => p.is_match(name),
        }
    }
}

/// Ansible's `split_host_pattern`.
pub fn split_host_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if address::parse_address(pattern, true).is_ok() {
        vec![pattern.to_string()]
    } else {
        static RE: OnceLock<Regex> = OnceLock::new();
        RE.get_or_init(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("valid regex"))
            .find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Plain terms first, then `&`, then `!`; `all` when there is no plain term.
fn order_patterns(patterns: &[String]) -> Vec<String> {
    let mut regular = Vec::new();
    let mut and = Vec::new();
    let mut not = Vec::new();
    for p in patterns.iter().filter(|p| !p.is_empty()) {
        if p.starts_with('!') {
            not.push(p.clone());
        } else if p.starts_with('&') {
            and.push(p.clone());
        } else {
            regular.push(p.clone());
        }
    }
    if regular.is_empty() {
        regular.push("all".to_string());
    }
    regular.into_iter().chain(and).chain(not).collect()
}

/// `--limit`: its terms, with `@file` replaced by the file's lines.
fn subset_patterns(limit: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for x in split_host_pattern(limit) {
        if let Some(file) = x.strip_prefix('@') {
            let path = std::path::Path::new(file);
            if !path.exists() {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("Unable to find limit file {file}"),
                ));
            }
            if !path.is_file() {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("Limit starting with \"@\" must be a file, not a directory: {file}"),
                ));
            }
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::new(ErrorKind::Io, format!("cannot read limit file {file}: {e}"))
            })?;
            out.extend(text.split('\n').map(|l| l.trim().to_string()));
        } else {
            out.push(x);
        }
    }
    Ok(out)
}

/// A subscript: `[i]` or `[a:b]` (`b` None when written `[a:]`, -1 then in Ansible).
type Subscript = Option<(i64, Option<i64>)>;

/// `group[1:3]` -> ("group", (1, Some(3))); `group[-1]` -> ("group", (-1, None)).
fn split_subscript<'a>(term: &'a str, sel: &mut Selection) -> (&'a str, Subscript) {
    if term.starts_with('~') {
        return (term, None);
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("valid regex")
    });
    let Some(c) = re.captures(term) else {
        return (term, None);
    };
    let base = c.get(1).map_or(term, |m| m.as_str());
    if let Some(idx) = c.get(2) {
        return match idx.as_str().parse() {
            Ok(i) => (base, Some((i, None))),
            Err(_) => (term, None),
        };
    }
    if &c[4] == "-" {
        sel.warnings
            .push("Use [x:y] inclusive subscripts instead of [x-y] which has been removed".into());
    }
    let start: i64 = c[3].parse().unwrap_or(i64::MAX);
    let end: i64 = if c[5].is_empty() {
        -1
    } else {
        c[5].parse().unwrap_or(i64::MAX)
    };
    (base, Some((start, Some(end))))
}

/// Ansible's `_apply_subscript`, quirks included (`[x:0]` is `[x]`); `None` for an index past
/// the end.
fn apply_subscript(hosts: Vec<String>, subscript: Subscript) -> Option<Vec<String>> {
    let Some((start, end)) = subscript else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let n = hosts.len() as i64;
    match end {
        Some(e) if e != 0 => {
            let e = if e == -1 { n - 1 } else { e };
            let (a, b) = (start.clamp(0, n), e.saturating_add(1).clamp(0, n));
            Some(if a < b {
                hosts[a as usize..b as usize].to_vec()
            } else {
                Vec::new()
            })
        }
        _ => {
            let i = if start < 0 { n + start } else { start };
            (0..n).contains(&i).then(|| vec![hosts[i as usize].clone()])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Inventory {
        Inventory::from_ini("i", "[web]\nw[1:4]\n[db]\nd1\nd2\nw1\n[lb]\nl1\n").unwrap()
    }

    fn sel(i: &Inventory, p: &str) -> Vec<String> {
        i.get_hosts(p, None).unwrap().hosts
    }

    #[test]
    fn unions_intersections_exclusions_in_pattern_order() {
        let i = inv();
        assert_eq!(sel(&i, "web:!db"), vec!["w2", "w3", "w4"]);
        assert_eq!(sel(&i, "web:&db"), vec!["w1"]);
        assert_eq!(sel(&i, "lb,d1"), vec!["l1", "d1"]);
        assert_eq!(sel(&i, "!lb").len(), 6);
        assert_eq!(sel(&i, "all").len(), 7);
    }

    #[test]
    fn wildcards_regex_and_subscripts() {
        let i = inv();
        assert_eq!(sel(&i, "w*"), vec!["w1", "w2", "w3", "w4"]);
        assert_eq!(sel(&i, "~d[0-9]"), vec!["d1", "d2"]);
        assert_eq!(sel(&i, "web[0]"), vec!["w1"]);
        assert_eq!(sel(&i, "web[1:2]"), vec!["w2", "w3"]);
        assert_eq!(sel(&i, "web[2:]"), vec!["w3", "w4"]);
        assert_eq!(sel(&i, "web[1:0]"), vec!["w2"]);
        assert_eq!(sel(&i, "web[-1]"), vec!["w4"]);
        assert!(i.get_hosts("web[9]", None).is_err());
        let s = i.get_hosts("nope", None).unwrap();
        assert!(s.hosts.is_empty());
        assert_eq!(s.unmatched, vec!["nope"]);
        assert_eq!(
            i.get_hosts("all", Some("db:!w1")).unwrap().hosts,
            vec!["d1", "d2"]
        );
    }

    #[test]
    fn fnmatch_classes() {
        let i = inv();
        assert_eq!(sel(&i, "w[13]*"), vec!["w1", "w3"]);
        // Ending in `[digits]`, it is a subscript of `w`, which matches nothing.
        assert!(sel(&i, "w[13]").is_empty());
        assert_eq!(sel(&i, "w[!13]"), vec!["w2", "w4"]);
        assert_eq!(sel(&i, "[dl]?"), vec!["d1", "d2", "w1", "l1"]);
    }
}
