//! Host patterns, as `hosts:` and `--limit` take them: `all`, `*`, host and group names, `a:b`,
//! `a,b`, `a:&b` (and), `a:!b` (not), wildcards, `~regex`, and subscripts `group[0]`,
//! `group[1:3]`.

use super::Inventory;
use regex::Regex;

impl Inventory {
    /// The hosts a pattern selects, in inventory order. The second list holds the terms that
    /// matched nothing (Ansible warns about them and goes on).
    pub fn select(&self, pattern: &str) -> (Vec<String>, Vec<String>) {
        let mut plain = Vec::new();
        let mut and = Vec::new();
        let mut not = Vec::new();
        for term in split_pattern(pattern) {
            if let Some(t) = term.strip_prefix('!') {
                not.push(t.to_string());
            } else if let Some(t) = term.strip_prefix('&') {
                and.push(t.to_string());
            } else {
                plain.push(term);
            }
        }
        let mut unmatched = Vec::new();
        let mut chosen: Vec<String> = Vec::new();
        for t in &plain {
            let hosts = self.match_term(t);
            if hosts.is_empty() {
                unmatched.push(t.clone());
            }
            for h in hosts {
                if !chosen.contains(&h) {
                    chosen.push(h);
                }
            }
        }
        for t in &and {
            let hosts = self.match_term(t);
            chosen.retain(|h| hosts.contains(h));
        }
        for t in &not {
            let hosts = self.match_term(t);
            chosen.retain(|h| !hosts.contains(h));
        }
        // Inventory order, as Ansible's default `order: inventory` gives.
        let order: Vec<String> = self
            .hosts
            .keys()
            .filter(|h| chosen.contains(h))
            .cloned()
            .collect();
        (order, unmatched)
    }

    /// The hosts one term matches, before intersections and exclusions.
    fn match_term(&self, term: &str) -> Vec<String> {
        let (base, subscript) = split_subscript(term);
        let hosts = if base == "all" || base == "*" {
            self.hosts.keys().cloned().collect()
        } else if self.groups.contains_key(base) {
            self.group_hosts(base)
        } else if self.hosts.contains_key(base) {
            vec![base.to_string()]
        } else if let Some(re) = term_regex(base) {
            let mut out: Vec<String> = Vec::new();
            for g in self.groups.keys().filter(|g| re.is_match(g)) {
                for h in self.group_hosts(g) {
                    if !out.contains(&h) {
                        out.push(h);
                    }
                }
            }
            for h in self.hosts.keys().filter(|h| re.is_match(h)) {
                if !out.contains(h) {
                    out.push(h.clone());
                }
            }
            out
        } else {
            Vec::new()
        };
        match subscript {
            None => hosts,
            Some((start, end)) => apply_subscript(hosts, start, end),
        }
    }
}

/// Splits on `,` when the pattern has one, else on `:` outside `[...]` (so `g[1:3]` survives).
fn split_pattern(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    let sep_comma = pattern.contains(',');
    let mut depth = 0;
    let mut cur = String::new();
    for c in pattern.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        let is_sep = if sep_comma {
            c == ','
        } else {
            c == ':' && depth == 0
        };
        if is_sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// `group[1:3]` -> ("group", Some((1, Some(3)))); `group[-1]` -> ("group", Some((-1, None))).
fn split_subscript(term: &str) -> (&str, Option<(i64, Option<i64>)>) {
    if term.starts_with('~') {
        return (term, None);
    }
    if let Some(open) = term.rfind('[')
        && let Some(inner) = term[open + 1..].strip_suffix(']')
    {
        let parse = |s: &str| s.trim().parse::<i64>().ok();
        if let Some((a, b)) = inner.split_once(':') {
            if let (Some(a), Some(b)) = (
                if a.is_empty() { Some(0) } else { parse(a) },
                if b.is_empty() { Some(-1) } else { parse(b) },
            ) {
                return (&term[..open], Some((a, Some(b))));
            }
        } else if let Some(i) = parse(inner) {
            return (&term[..open], Some((i, None)));
        }
    }
    (term, None)
}

/// Ansible's subscripts: `[i]` one host (negative from the end); `[a:b]` inclusive of `b`.
fn apply_subscript(hosts: Vec<String>, start: i64, end: Option<i64>) -> Vec<String> {
    let n = hosts.len() as i64;
    let norm = |i: i64| if i < 0 { n + i } else { i };
    match end {
        None => {
            let i = norm(start);
            if (0..n).contains(&i) {
                vec![hosts[i as usize].clone()]
            } else {
                Vec::new()
            }
        }
        Some(end) => {
            let (a, b) = (norm(start).max(0), norm(end).min(n - 1));
            if a > b {
                return Vec::new();
            }
            hosts[a as usize..=b as usize].to_vec()
        }
    }
}

/// A regex for `~regex` terms and shell-style wildcards; `None` for a plain name.
fn term_regex(term: &str) -> Option<Regex> {
    if let Some(re) = term.strip_prefix('~') {
        return Regex::new(&format!("^(?:{re})")).ok();
    }
    if !term.contains(['*', '?', '[']) {
        return None;
    }
    let mut re = String::from("^");
    for c in term.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' | ']' => re.push(c),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).ok()
}

#[cfg(test)]
mod tests {
    use super::super::ini;
    use super::*;
    use crate::diagnostics::Source;

    fn inv() -> Inventory {
        let mut inv = Inventory::default();
        let text = "[web]\nw[1:4]\n[db]\nd1\nd2\nw1\n[lb]\nl1\n";
        ini::parse(&Source::new("i", text), &mut inv).unwrap();
        inv.finish();
        inv
    }

    #[test]
    fn unions_intersections_exclusions() {
        let i = inv();
        assert_eq!(i.select("web:!db").0, vec!["w2", "w3", "w4"]);
        assert_eq!(i.select("web:&db").0, vec!["w1"]);
        assert_eq!(i.select("lb,d1").0, vec!["d1", "l1"]);
        assert_eq!(i.select("all").0.len(), 7);
    }

    #[test]
    fn wildcards_regex_and_subscripts() {
        let i = inv();
        assert_eq!(i.select("w*").0, vec!["w1", "w2", "w3", "w4"]);
        assert_eq!(
            i.select("~d[0-9]").0,
            vec!["w1", "d1", "d2"]
                .into_iter()
                .filter(|h| h.starts_with('d'))
                .collect::<Vec<_>>()
        );
        assert_eq!(i.select("web[0]").0, vec!["w1"]);
        assert_eq!(i.select("web[1:2]").0, vec!["w2", "w3"]);
        assert_eq!(i.select("web[-1]").0, vec!["w4"]);
        let (hosts, missing) = i.select("nope");
        assert!(hosts.is_empty());
        assert_eq!(missing, vec!["nope"]);
    }
}
