//! The account records as `getent` prints them: `passwd`, `shadow` and `group` lines, and the
//! account facts a result reports from them.

use super::*;

/// A `passwd` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Passwd {
    pub(super) name: String,
    pub(super) uid: i64,
    pub(super) gid: i64,
    pub(super) gecos: String,
    pub(super) home: String,
    pub(super) shell: String,
}

impl Passwd {
    pub(super) fn parse(line: &str) -> Option<Passwd> {
        let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
        if f.len() < 7 {
            return None;
        }
        Some(Passwd {
            name: f[0].to_string(),
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            gecos: f[4].to_string(),
            home: f[5].to_string(),
            shell: f[6].to_string(),
        })
    }
}

/// A `shadow` entry's fields the module looks at; empty numbers read as -1 (glibc's getspnam).
#[derive(Debug, Clone, Default)]
pub(super) struct Shadow {
    pub(super) password: String,
    pub(super) min: i64,
    pub(super) max: i64,
    pub(super) warn: i64,
    pub(super) expire: i64,
}

impl Shadow {
    pub(super) fn parse(line: &str) -> Option<Shadow> {
        let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
        if f.len() < 8 {
            return None;
        }
        let num = |s: &str| s.parse::<i64>().unwrap_or(-1);
        Some(Shadow {
            password: f[1].to_string(),
            min: num(f[3]),
            max: num(f[4]),
            warn: num(f[5]),
            expire: num(f[7]),
        })
    }
}

/// A `group` entry.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GroupEntry {
    pub(super) name: String,
    pub(super) gid: i64,
}

pub(super) fn parse_group(line: &str) -> Option<GroupEntry> {
    let f: Vec<&str> = line.split(':').collect();
    (f.len() >= 3).then(|| GroupEntry {
        name: f[0].to_string(),
        gid: f[2].parse().unwrap_or(-1),
    })
}

pub(super) fn info_into(r: &mut Vars, pw: &Passwd) {
    r.insert("uid".into(), Value::from(pw.uid));
    r.insert("group".into(), Value::from(pw.gid));
    r.insert("comment".into(), Value::from(pw.gecos.as_str()));
    r.insert("home".into(), Value::from(pw.home.as_str()));
    r.insert("shell".into(), Value::from(pw.shell.as_str()));
}
