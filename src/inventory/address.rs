//! Host names as inventory files write them: `name:port`, `[ipv6]:port`, and ranges.
//!
//! This is Ansible's `parse_address` (split a port off a host name, IPv4 or IPv6 address, only
//! when what is left is a valid one) and `expand_hostname_range` (`www[01:50].example.com`,
//! `db-[a:f]`, `[1:9:2]`, several ranges in one name), reproduced with their quirks: a range whose
//! start is after its end expands to no host at all, `[:5]` starts at 0, zero padding comes from
//! the start, `[a:Z]` runs through `string.ascii_letters`. Host patterns (`--limit`) reuse
//! [`parse_address`] to decide whether `:` separates patterns.

use regex::Regex;
use std::sync::OnceLock;

/// A host pattern from an inventory file, expanded: the names and the port written after them.
pub struct Expanded {
    pub names: Vec<String>,
    pub port: Option<u64>,
}

const ALNUM_RANGE: &str = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";
const HEX_RANGE: &str = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]";

fn label_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(
            r"(?i)^(?:\w|{ALNUM_RANGE})(?:[\w-]|{ALNUM_RANGE})*$"
        ))
        .expect("valid label regex")
    })
}

fn ipv6_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let c = format!(r"(?:[0-9a-f]{{1,4}}|{HEX_RANGE})");
        let alts = [
            format!(r"(?:{c}:){{7}}{c}"),
            format!(r"(?:{c}:){{1,6}}:"),
            format!(r"(?:{c}:)(?::{c}){{1,6}}"),
            format!(r"(?:{c}:){{2}}(?::{c}){{1,5}}"),
            format!(r"(?:{c}:){{3}}(?::{c}){{1,4}}"),
            format!(r"(?:{c}:){{4}}(?::{c}){{1,3}}"),
            format!(r"(?:{c}:){{5}}(?::{c}){{1,2}}"),
            format!(r"(?:{c}:){{6}}(?::{c})"),
            format!(r":(?::{c}){{1,6}}"),
            format!(r"{c}?::"),
            format!(r"(?:0:){{6}}(?:{c}\.){{3}}{c}"),
            format!(r"::(?:ffff:)?(?:{c}\.){{3}}{c}"),
            format!(r"(?:0:){{5}}ffff:(?:{c}\.){{3}}{c}"),
        ];
        Regex::new(&format!("(?i)^(?:{})$", alts.join("|"))).expect("valid ipv6 regex")
    })
}

fn ipv4_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let c = r"(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\])";
        Regex::new(&format!(r"(?i)^(?:{c}\.){{3}}{c}$")).expect("valid ipv4 regex")
    })
}

/// Whether a name is an IPv4 or IPv6 address (Ansible's patterns, which allow ranges).
pub fn is_ip_address(s: &str) -> bool {
    ipv4_re().is_match(s) || ipv6_re().is_match(s)
}

fn hostport_re() -> &'static (Regex, Regex) {
    static RE: OnceLock<(Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        (
            Regex::new(r"^\[(.+)\]:([0-9]+)$").expect("valid regex"),
            Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").expect("valid regex"),
        )
    })
}

/// A host name, DNS-like but allowing underscores and ranges: labels of word characters and
/// dashes that do not end in `-` or `_`. (IPv4 addresses are host names by this rule too.)
fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|label| label_re().is_match(label) && !label.ends_with(['-', '_']))
}

/// Ansible's `parse_address`: `(host, port)`, or an error when what is left after taking the
/// port off is no host name nor address. With `allow_ranges` false, a name with a range is an
/// error too.
pub fn parse_address(address: &str, allow_ranges: bool) -> Result<(String, Option<u64>), String> {
    let mut address = address.to_string();
    let mut port = None;
    // Both forms are tried in turn, as Ansible does (`[h:1]:2` loses both ports).
    let (bracketed, hostport) = hostport_re();
    for re in [bracketed, hostport] {
        if let Some(c) = re.captures(&address) {
            let p: u64 = c[2]
                .parse()
                .map_err(|_| format!("port {} is out of range", &c[2]))?;
            port = Some(p);
            address = c[1].to_string();
        }
    }
    if !(is_hostname(&address) || ipv6_re().is_match(&address)) {
        return Err(format!("Not a valid network hostname: {address}"));
    }
    if !allow_ranges && address.contains('[') {
        return Err("Detected range in host but was asked to ignore ranges".into());
    }
    Ok((address, port))
}

/// The inventory plugins' `_expand_hostpattern`: split off a port when the rest is a valid
/// host, then expand ranges.
pub fn expand_hostpattern(pattern: &str) -> Result<Expanded, String> {
    // Without a colon there is no port to split off, and a name that is no valid host is kept
    // as written anyway: the answer is the same without the validation (which costs regexes).
    let (name, port) = if !pattern.contains(':') {
        (pattern.to_string(), None)
    } else {
        match parse_address(pattern, true) {
            Ok(hp) => hp,
            Err(_) => (pattern.to_string(), None),
        }
    };
    let names = if name.contains('[') {
        expand_hostname_range(&name)?
    } else {
        vec![name]
    };
    Ok(Expanded { names, port })
}

const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// More names than any inventory has: a range past it is refused rather than filling memory.
const MAX_NAMES: usize = 1_000_000;

/// Expands the first `[begin:end(:step)]` of a name, then the rest, recursively.
pub fn expand_hostname_range(line: &str) -> Result<Vec<String>, String> {
    let mut all = Vec::new();
    expand_into(line, &mut all)?;
    Ok(all)
}

fn expand_into(line: &str, all: &mut Vec<String>) -> Result<(), String> {
    // Ansible replaces the first '[' and the first ']' with '|' and splits on '|'.
    let replaced = line.replacen('[', "|", 1).replacen(']', "|", 1);
    let parts: Vec<&str> = replaced.split('|').collect();
    let [head, nrange, tail] = parts[..] else {
        return Err(format!(
            "invalid range in host name '{line}': expected one '[' and one ']' around it"
        ));
    };
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".into());
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step = bounds.get(2).copied().unwrap_or("1");
    if end.is_empty() {
        return Err("host range must specify end value".into());
    }
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err("host range must specify equal-length begin and end formats".into());
        }
        beg.len()
    } else {
        0
    };
    let bad_int = |s: &str| format!("invalid literal for int() with base 10: '{s}'");
    let seq: Vec<String> = match (ASCII_LETTERS.find(beg), ASCII_LETTERS.find(end)) {
        // `str.index` is a substring search, so `[ab:c]` is a letter range too.
        (Some(b), Some(e)) if python_int(step).is_some_and(|s| s != 0) => {
            if b > e {
                return Err("host range must have begin <= end".into());
            }
            let step = python_int(step).unwrap_or(1);
            let letters: Vec<char> = ASCII_LETTERS[b..=e].chars().collect();
            if step > 0 {
                letters
                    .iter()
                    .step_by(step as usize)
                    .map(|c| c.to_string())
                    .collect()
            } else {
                Vec::new()
            }
        }
        _ => {
            let b = python_int(beg).ok_or_else(|| bad_int(beg))?;
            let e = python_int(end).ok_or_else(|| bad_int(end))?;
            let s = python_int(step).ok_or_else(|| bad_int(step))?;
            if s == 0 {
                return Err("range() arg 3 must not be zero".into());
            }
            // In 128 bits: no bound or step written in 64 can overflow it.
            let (b, stop, s) = (b as i128, e as i128 + 1, s as i128);
            let count = if s > 0 {
                (stop - b).max(0) / s + i128::from((stop - b).max(0) % s != 0)
            } else {
                (b - stop).max(0) / -s + i128::from((b - stop).max(0) % -s != 0)
            };
            if count > MAX_NAMES as i128 {
                return Err(too_many(line));
            }
            (0..count).map(|k| zfill(b + k * s, width)).collect()
        }
    };
    for item in seq {
        let name = format!("{head}{item}{tail}");
        if name.contains('[') {
            expand_into(&name, all)?;
        } else {
            all.push(name);
        }
        if all.len() > MAX_NAMES {
            return Err(too_many(line));
        }
    }
    Ok(())
}

fn too_many(line: &str) -> String {
    format!("the host range '{line}' expands to more than {MAX_NAMES} names")
}

/// Python's `int(text)` for the plain cases: surrounding whitespace, a sign, digits with single
/// underscores between them.
fn python_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        return None;
    }
    let v: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -v } else { v })
}

/// `str(i).zfill(width)`: zeros after the sign.
fn zfill(i: i128, width: usize) -> String {
    let digits = i.unsigned_abs().to_string();
    let sign = if i < 0 { "-" } else { "" };
    let pad = width.saturating_sub(digits.len() + sign.len());
    format!("{sign}{}{digits}", "0".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &str) -> Vec<String> {
        expand_hostpattern(p).unwrap().names
    }

    #[test]
    fn ranges_like_ansible() {
        assert_eq!(names("www[01:03].x"), vec!["www01.x", "www02.x", "www03.x"]);
        assert_eq!(names("h[1:5:2]"), vec!["h1", "h3", "h5"]);
        assert_eq!(names("db-[a:c]"), vec!["db-a", "db-b", "db-c"]);
        assert_eq!(names("n[1:2]-[a:b]"), vec!["n1-a", "n1-b", "n2-a", "n2-b"]);
        assert_eq!(names("h[:2]"), vec!["h0", "h1", "h2"]);
        assert!(names("h[3:1]").is_empty());
        assert_eq!(names("x[y:B]").len(), 4);
        assert!(expand_hostpattern("h[1:x").is_err());
        assert!(expand_hostpattern("h[01:100]").is_err());
        assert!(expand_hostpattern("h[1:]").is_err());
        assert!(expand_hostpattern("h[1:3:0]").is_err());
    }

    #[test]
    fn ports_split_only_off_valid_hosts() {
        let e = expand_hostpattern("web1:2222").unwrap();
        assert_eq!((e.names, e.port), (vec!["web1".to_string()], Some(2222)));
        let e = expand_hostpattern("[::1]:22").unwrap();
        assert_eq!((e.names, e.port), (vec!["::1".to_string()], Some(22)));
        let e = expand_hostpattern("fe80::1").unwrap();
        assert_eq!((e.names, e.port), (vec!["fe80::1".to_string()], None));
        let e = expand_hostpattern("web[1:2]:22").unwrap();
        assert_eq!(e.names, vec!["web1", "web2"]);
        assert_eq!(e.port, Some(22));
        assert!(parse_address("web[1:2]", false).is_err());
        assert!(parse_address("bad_:22", true).is_err());
    }
}
