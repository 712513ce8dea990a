//! The shadow-utils commands `user` runs: `useradd` for a new account, `usermod` for what
//! differs (or nothing), `chage` flags, and the password hash kept off the command line.

use super::*;

/// `time.gmtime(expires)` as (days since the epoch, "YYYY-MM-DD"); `None` before 1970.
pub(super) fn expires_date(expires: f64) -> Option<(i64, String)> {
    if expires < 0.0 {
        return None;
    }
    let days = (expires.floor() as i64).div_euclid(86400);
    let (y, m, d) = super::super::command::civil_from_days(days);
    Some((days, format!("{y:04}-{m:02}-{d:02}")))
}

/// `useradd`'s command line (create_user_useradd).
pub(super) fn useradd_cmd(p: &UserParams, st: &UserState) -> Result<Vec<String>, String> {
    let mut cmd = vec!["useradd".to_string()];
    if let Some(uid) = p.uid {
        cmd.push("-u".into());
        cmd.push(uid.to_string());
        if p.non_unique {
            cmd.push("-o".into());
        }
    }
    if let Some(se) = &p.seuser {
        cmd.push("-Z".into());
        cmd.push(se.clone());
    }
    if let Some(g) = &p.group {
        if st.group(g).is_none() {
            return Err(format!("Group {g} does not exist"));
        }
        cmd.push("-g".into());
        cmd.push(g.clone());
    } else if st.group(&p.name).is_some() {
        // A group of the user's name exists: -N, or useradd (USERGROUPS_ENAB) fails.
        cmd.push("-N".into());
    }
    if let Some(groups) = &p.groups {
        let set = groups_set(groups);
        if !set.is_empty() {
            for g in &set {
                if st.group(g).is_none() {
                    return Err(format!("Group {g} does not exist"));
                }
            }
            cmd.push("-G".into());
            cmd.push(set.into_iter().collect::<Vec<_>>().join(","));
        }
    }
    if let Some(c) = &p.comment {
        cmd.push("-c".into());
        cmd.push(c.clone());
    }
    if let Some(h) = &p.home {
        cmd.push("-d".into());
        cmd.push(h.clone());
    }
    if let Some(s) = &p.shell {
        cmd.push("-s".into());
        cmd.push(s.clone());
    }
    if let Some(e) = p.expires {
        cmd.push("-e".into());
        cmd.push(expires_date(e).map(|(_, d)| d).unwrap_or_default());
    }
    if let Some(i) = p.inactive {
        cmd.push("-f".into());
        cmd.push(i.to_string());
    }
    if let Some(pw) = &p.password {
        cmd.push("-p".into());
        cmd.push(if p.password_lock == Some(true) {
            format!("!{pw}")
        } else {
            pw.clone()
        });
    }
    if p.create_home {
        cmd.push("-m".into());
        if let Some(k) = &p.skeleton {
            cmd.push("-k".into());
            cmd.push(k.clone());
        }
        if let Some(u) = &p.umask {
            cmd.push("-K".into());
            cmd.push(format!("UMASK={u}"));
        }
    } else {
        cmd.push("-M".into());
    }
    if p.system {
        cmd.push("-r".into());
    }
    if let Some(u) = p.uid_min {
        cmd.push("-K".into());
        cmd.push(format!("UID_MIN={u}"));
    }
    if let Some(u) = p.uid_max {
        cmd.push("-K".into());
        cmd.push(format!("UID_MAX={u}"));
    }
    cmd.push(p.name.clone());
    Ok(cmd)
}

/// Takes `-p HASH` out of a useradd or usermod command line: the hash is set with
/// `chpasswd -e` from standard input instead.
pub(super) fn password_off_the_command_line(cmd: &[String]) -> (Vec<String>, Option<String>) {
    let mut rest = Vec::with_capacity(cmd.len());
    let mut hash = None;
    let mut words = cmd.iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "-p" => hash = words.next().cloned(),
            // Options whose value follows (a comment may well be "-p").
            "-u" | "-g" | "-G" | "-c" | "-d" | "-s" | "-e" | "-f" | "-k" | "-K" => {
                rest.push(w.clone());
                rest.extend(words.next().cloned());
            }
            _ => rest.push(w.clone()),
        }
    }
    (rest, hash)
}

/// The group names of the `groups` parameter (the module joins the list with commas and
/// splits it again, dropping empty items).
pub(super) fn groups_set(groups: &[String]) -> BTreeSet<String> {
    groups
        .join(",")
        .split(',')
        .filter(|g| !g.is_empty())
        .map(|g| g.trim().to_string())
        .collect()
}

/// `usermod`'s command line, or `None` when nothing differs (modify_user_usermod).
pub(super) fn usermod_cmd(p: &UserParams, st: &UserState) -> Result<Option<Vec<String>>, String> {
    let info = st.passwd.clone().unwrap_or_default();
    // user_info(): a one-character password field ('x') is replaced by the shadow entry's.
    let password_field = st
        .shadow
        .as_ref()
        .map(|s| s.password.clone())
        .unwrap_or_default();
    let mut cmd = vec!["usermod".to_string()];
    if let Some(uid) = p.uid
        && info.uid != uid
    {
        cmd.push("-u".into());
        cmd.push(uid.to_string());
        if p.non_unique {
            cmd.push("-o".into());
        }
    }
    if let Some(g) = &p.group {
        let Some(ginfo) = st.group(g) else {
            return Err(format!("Group {g} does not exist"));
        };
        if info.gid != ginfo.gid {
            cmd.push("-g".into());
            cmd.push(ginfo.gid.to_string());
        }
    }
    if let Some(groups) = &p.groups {
        // All groups listing the user, the primary one included.
        let current: BTreeSet<String> = st.member_of.iter().map(|g| g.name.clone()).collect();
        let joined = groups.join(",");
        let mut need = false;
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        if joined.is_empty() {
            if !current.is_empty() && !p.append {
                need = true;
            }
        } else {
            for g in groups_set(groups) {
                let Some(gi) = st.group(&g) else {
                    return Err(format!("Group {g} does not exist"));
                };
                wanted.insert(gi.name.clone());
            }
            let diff: BTreeSet<&String> = current.symmetric_difference(&wanted).collect();
            if !diff.is_empty() {
                if p.append {
                    if wanted.iter().any(|g| diff.contains(g)) {
                        cmd.push("-a".into());
                        need = true;
                    }
                } else {
                    need = true;
                }
            }
        }
        if need {
            cmd.push("-G".into());
            cmd.push(wanted.into_iter().collect::<Vec<_>>().join(","));
        }
    }
    if let Some(c) = &p.comment
        && info.gecos != *c
    {
        cmd.push("-c".into());
        cmd.push(c.clone());
    }
    if let Some(h) = &p.home
        && info.home != *h
    {
        cmd.push("-d".into());
        cmd.push(h.clone());
        if p.move_home {
            cmd.push("-m".into());
        }
    }
    if let Some(s) = &p.shell
        && info.shell != *s
    {
        cmd.push("-s".into());
        cmd.push(s.clone());
    }
    if let Some(e) = p.expires {
        let current = st.shadow.as_ref().map(|s| s.expire).unwrap_or(-1);
        match expires_date(e) {
            None => {
                if current >= 0 {
                    cmd.push("-e".into());
                    cmd.push(String::new());
                }
            }
            Some((days, date)) => {
                if current < 0 || current != days {
                    cmd.push("-e".into());
                    cmd.push(date);
                }
            }
        }
    }
    if let Some(i) = p.inactive {
        cmd.push("-f".into());
        cmd.push(i.to_string());
    }
    let locked = password_field.starts_with('!');
    if p.password_lock == Some(true) && !locked {
        cmd.push("-L".into());
    } else if p.password_lock == Some(false) && locked {
        cmd.push("-U".into());
    }
    if p.update_password == "always"
        && let Some(pw) = &p.password
        && password_field.trim_start_matches('!') != pw.trim_start_matches('!')
    {
        cmd.retain(|c| c != "-U" && c != "-L");
        cmd.push("-p".into());
        cmd.push(if p.password_lock == Some(true) {
            format!("!{pw}")
        } else {
            pw.clone()
        });
    }
    if cmd.len() == 1 {
        return Ok(None);
    }
    cmd.push(p.name.clone());
    Ok(Some(cmd))
}

/// The `chage` flags that differ from the shadow entry, if any.
pub(super) fn chage_flags(p: &UserParams, shadow: Option<&Shadow>) -> Vec<String> {
    let Some(sh) = shadow else {
        return Vec::new();
    };
    let mut flags = Vec::new();
    for (want, have, flag) in [
        (p.password_expire_min, sh.min, "-m"),
        (p.password_expire_max, sh.max, "-M"),
        (p.password_expire_warn, sh.warn, "-W"),
    ] {
        if let Some(w) = want
            && w != have
        {
            flags.push(flag.to_string());
            flags.push(w.to_string());
        }
    }
    flags
}
