//! What the host has and what apt would do: package specs (`name=version`, `name>=version`),
//! Debian version order, the dpkg/apt-cache query and its parse, each package's state and the
//! list to install, as ansible-core's apt module decides it.

use super::*;

/// `name`, `name=version` or `name>=version` (package_split).
pub(crate) fn package_split(spec: &str) -> (String, Option<String>, Option<String>) {
    if let Some(i) = spec.find(">=") {
        return (
            spec[..i].to_string(),
            Some(">=".into()),
            Some(spec[i + 2..].to_string()),
        );
    }
    if let Some(i) = spec.find('=') {
        return (
            spec[..i].to_string(),
            Some("=".into()),
            Some(spec[i + 1..].to_string()),
        );
    }
    (spec.to_string(), None, None)
}

/// What the host said about one package name.
#[derive(Debug, Clone, Default)]
pub(crate) struct PkgInfo {
    /// dpkg's db:Status-Status is `installed`.
    pub(super) installed: bool,
    pub(super) installed_version: Option<String>,
    /// apt's candidate; `None` when apt has no version to install.
    pub(super) candidate: Option<String>,
    /// The package is known to apt with versions (python-apt's `cache[name]` succeeds).
    pub(super) known: bool,
    /// All versions apt knows, best first.
    pub(super) versions: Vec<String>,
    /// Packages providing this name, when it is virtual.
    pub(super) providers: Vec<String>,
    /// dpkg still lists files of it (a removed package with its configuration).
    pub(super) has_files: bool,
}

/// Debian's version comparison (dpkg's verrevcmp), for `name>=version`.
pub(crate) fn version_compare(a: &str, b: &str) -> std::cmp::Ordering {
    pub(super) fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((up, rev)) => (epoch, up, rev),
            None => (epoch, rest, ""),
        }
    }
    pub(super) fn order(c: Option<char>) -> i32 {
        match c {
            None => 0,
            Some('~') => -1,
            Some(c) if c.is_ascii_alphabetic() => c as i32,
            Some(c) => c as i32 + 256,
        }
    }
    pub(super) fn verrevcmp(a: &str, b: &str) -> std::cmp::Ordering {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let mut first_diff = 0;
            while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit())
            {
                let ac = order(a.get(i).map(|&c| c as char).filter(|c| !c.is_ascii_digit()));
                let bc = order(b.get(j).map(|&c| c as char).filter(|c| !c.is_ascii_digit()));
                if ac != bc {
                    return ac.cmp(&bc);
                }
                i += 1;
                j += 1;
            }
            while i < a.len() && a[i] == b'0' {
                i += 1;
            }
            while j < b.len() && b[j] == b'0' {
                j += 1;
            }
            while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
                if first_diff == 0 {
                    first_diff = a[i] as i32 - b[j] as i32;
                }
                i += 1;
                j += 1;
            }
            if i < a.len() && a[i].is_ascii_digit() {
                return std::cmp::Ordering::Greater;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                return std::cmp::Ordering::Less;
            }
            if first_diff != 0 {
                return first_diff.cmp(&0);
            }
        }
        std::cmp::Ordering::Equal
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua, ub))
        .then_with(|| verrevcmp(ra, rb))
}

/// The state script of one package name: dpkg's status, apt's policy, versions, providers.
pub(super) fn status_script(names: &[String], with_versions: bool) -> String {
    let mut s = format!(
        "for p in {}; do\n\
         printf 'PKG=%s\\n' \"$p\"\n\
         dpkg-query -W -f='D=${{db:Status-Status}}|${{Version}}\\n' \"$p\" 2>/dev/null | head -n 1\n\
         for l in /var/lib/dpkg/info/\"$p\".list /var/lib/dpkg/info/\"$p\":*.list; do [ -s \"$l\" ] && echo F=1 && break; done\n\
         apt-cache policy \"$p\" 2>/dev/null | awk '/^  Candidate:/ {{print \"C=\" $2}} /^  Version table:/ {{print \"K=1\"}}'\n",
        argv(names)
    );
    if with_versions {
        s.push_str(
            "apt-cache madison \"$p\" 2>/dev/null | awk -F'|' '{gsub(/ /, \"\", $2); print \"V=\" $2}'\n",
        );
    }
    s.push_str(
        "apt-cache showpkg \"$p\" 2>/dev/null | sed -n '/^Reverse Provides:/,$p' | sed 1d | awk 'NF {print \"R=\" $1}'\n\
         done\n",
    );
    s
}

pub(crate) fn parse_status(text: &str) -> Vec<(String, PkgInfo)> {
    let mut out: Vec<(String, PkgInfo)> = Vec::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k == "PKG" {
            out.push((v.to_string(), PkgInfo::default()));
            continue;
        }
        let Some((_, info)) = out.last_mut() else {
            continue;
        };
        match k {
            "D" => {
                let (status, version) = v.split_once('|').unwrap_or((v, ""));
                if status == "installed" {
                    info.installed = true;
                    info.installed_version = Some(version.to_string());
                }
            }
            "F" => info.has_files = true,
            "C" if v != "(none)" => info.candidate = Some(v.to_string()),
            "K" => info.known = true,
            "V" if !info.versions.contains(&v.to_string()) => info.versions.push(v.to_string()),
            "R" if !info.providers.contains(&v.to_string()) => info.providers.push(v.to_string()),
            _ => {}
        }
    }
    // python-apt only knows a package that has versions (a purely virtual one is not "in" the
    // cache): apt-cache lists a version table for it, but no candidate and no versions.
    for (_, info) in out.iter_mut() {
        if info.candidate.is_none() && !info.installed && info.versions.is_empty() {
            info.known = false;
        }
    }
    out
}

pub(crate) fn package_status(
    name: &str,
    cmp: Option<&str>,
    version: Option<&str>,
    infos: &[(String, PkgInfo)],
    install: bool,
) -> Result<(bool, bool, Installable, bool), String> {
    let Some(info) = infos.iter().find(|(n, _)| n == name).map(|(_, i)| i) else {
        return Ok((false, false, Installable::No, false));
    };
    if !info.known {
        if !install {
            return Ok((false, false, Installable::No, false));
        }
        if !info.providers.is_empty() {
            if info.providers.len() == 1 {
                let r = package_status(&info.providers[0], cmp, version, infos, true);
                if let Ok(r) = &r
                    && r.0
                {
                    return Ok(r.clone());
                }
            }
            return Ok((false, false, Installable::Any, false));
        }
        return Err(format!("No package matching '{name}' is available"));
    }
    // package_best_match(): a version given with '=' is pinned above everything else.
    let best = match (cmp, version) {
        (Some("="), Some(v)) => info
            .versions
            .iter()
            .chain(info.installed_version.iter())
            .filter(|x| fnmatch(x, v))
            .max_by(|a, b| version_compare(a, b))
            .cloned(),
        _ => info.candidate.clone(),
    };
    let mut version_is_installed = false;
    let mut installable = Installable::No;
    if info.installed {
        let inst = info.installed_version.clone().unwrap_or_default();
        match (cmp, version) {
            (Some("="), Some(v)) => {
                version_is_installed = fnmatch(&inst, v);
                if let Some(b) = &best
                    && *b != inst
                    && fnmatch(b, v)
                {
                    installable = Installable::Version(b.clone());
                }
            }
            (Some(">="), Some(v)) => {
                version_is_installed = version_compare(&inst, v).is_ge();
                if let Some(b) = &best
                    && *b != inst
                    && version_compare(b, v).is_ge()
                {
                    installable = Installable::Version(b.clone());
                }
            }
            _ => {
                version_is_installed = true;
                if let Some(b) = &best
                    && *b != inst
                {
                    installable = Installable::Version(b.clone());
                }
            }
        }
    } else if let Some(b) = best {
        installable = Installable::Version(b);
    }
    Ok((
        info.installed,
        version_is_installed,
        installable,
        info.has_files,
    ))
}

/// The apt-get words of install(): `'name=version'` items, or an error message.
pub(crate) fn install_list(
    specs: &[String],
    infos: &[(String, PkgInfo)],
    upgrade: bool,
    only_upgrade: bool,
) -> Result<Vec<String>, (String, bool)> {
    let mut list = Vec::new();
    for spec in specs {
        let (name, cmp, version) = package_split(spec);
        // package_status fails the module at once (no cache keys in the result).
        let (installed, installed_version, installable, _) =
            package_status(&name, cmp.as_deref(), version.as_deref(), infos, true)
                .map_err(|m| (m, false))?;
        if !installed && only_upgrade {
            continue;
        }
        if !installed_version && installable == Installable::No {
            return Err((
                format!("no available installation candidate for {spec}"),
                true,
            ));
        }
        if installable != Installable::No
            && ((!installed && !only_upgrade) || upgrade || !installed_version)
        {
            match (&installable, &version) {
                (Installable::Version(v), _) => list.push(format!("'{name}={v}'")),
                (_, Some(v)) => list.push(format!("'{name}={v}'")),
                _ => list.push(format!("'{name}'")),
            }
        } else if installed_version && installable != Installable::No && cmp.as_deref() == Some("=")
        {
            list.push(format!("'{name}={}'", version.unwrap_or_default()));
        }
    }
    Ok(list)
}
