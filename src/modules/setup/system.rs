//! The system facts that are not hardware or network: distribution (`/etc/os-release` and
//! the distribution files), DNS (`/etc/resolv.conf`), the kernel command line and `date_time`.

use super::*;

pub(super) fn dns_facts(resolv: &str) -> Value {
    let mut d = Vars::new();
    for line in resolv.lines() {
        if line.starts_with('#') || line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        let list = |xs: &[&str]| -> Value { xs.iter().map(|x| Value::from(*x)).collect() };
        match t[0] {
            "nameserver" => {
                let mut cur: Vec<Value> = d
                    .get("nameservers")
                    .and_then(|v| v.try_iter().ok().map(|i| i.collect()))
                    .unwrap_or_default();
                cur.extend(t[1..].iter().map(|x| Value::from(*x)));
                d.insert("nameservers".into(), Value::from(cur));
            }
            "domain" if t.len() > 1 => {
                d.insert("domain".into(), Value::from(t[1]));
            }
            "search" => {
                d.insert("search".into(), list(&t[1..]));
            }
            "sortlist" => {
                d.insert("sortlist".into(), list(&t[1..]));
            }
            "options" => {
                let opts: Vec<(&str, Value)> = t[1..]
                    .iter()
                    .map(|o| match o.split_once(':') {
                        Some((k, v)) if !v.is_empty() => (k, Value::from(v)),
                        Some((k, _)) => (k, Value::from(true)),
                        None => (*o, Value::from(true)),
                    })
                    .collect();
                d.insert("options".into(), value::map(opts));
            }
            _ => {}
        }
    }
    value::from_vars(&d)
}

/// `/proc/cmdline` as the cmdline (last value wins) and proc_cmdline (repeats become lists)
/// facts.
pub(super) fn cmdline_facts(line: &str, f: &mut Vars) {
    let words = crate::inventory::ini::shlex_split(line.trim()).unwrap_or_default();
    let mut cmdline: Vec<(String, Value)> = Vec::new();
    let mut proc: Vec<(String, Value)> = Vec::new();
    for w in words {
        let (k, v) = match w.split_once('=') {
            Some((k, v)) => (k.to_string(), Value::from(v)),
            None => (w.clone(), Value::from(true)),
        };
        match cmdline.iter_mut().find(|(n, _)| *n == k) {
            Some(e) => e.1 = v.clone(),
            None => cmdline.push((k.clone(), v.clone())),
        }
        match proc.iter_mut().find(|(n, _)| *n == k) {
            Some(e) => {
                let mut list: Vec<Value> = if e.1.kind() == minijinja::value::ValueKind::Seq {
                    e.1.try_iter().map(|i| i.collect()).unwrap_or_default()
                } else {
                    vec![e.1.clone()]
                };
                list.push(v);
                e.1 = Value::from(list);
            }
            None => proc.push((k, v)),
        }
    }
    let sorted = |mut v: Vec<(String, Value)>| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        value::map(v)
    };
    f.insert("cmdline".into(), sorted(cmdline));
    f.insert("proc_cmdline".into(), sorted(proc));
}

pub(super) fn sorted_vars(v: Vars) -> Vars {
    let mut pairs: Vec<(String, Value)> = v.into_iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.into_iter().collect()
}

/// The distribution facts: (name, family, version, release, file path, file variety).
pub(super) fn distribution(get: &dyn Fn(&str) -> String) -> Vars {
    let id = get("osr_ID");
    let (name, family) = match id.as_str() {
        "debian" => ("Debian", "Debian"),
        "ubuntu" => ("Ubuntu", "Debian"),
        "linuxmint" => ("Linux Mint", "Debian"),
        "raspbian" => ("Debian", "Debian"),
        "kali" => ("Kali", "Debian"),
        "centos" => ("CentOS", "RedHat"),
        "rhel" => ("RedHat", "RedHat"),
        "fedora" => ("Fedora", "RedHat"),
        "rocky" => ("Rocky", "RedHat"),
        "almalinux" => ("AlmaLinux", "RedHat"),
        "ol" => ("OracleLinux", "RedHat"),
        "amzn" => ("Amazon", "RedHat"),
        "alpine" => ("Alpine", "Alpine"),
        "arch" => ("Archlinux", "Archlinux"),
        "opensuse-leap" => ("openSUSE Leap", "Suse"),
        "opensuse-tumbleweed" => ("openSUSE Tumbleweed", "Suse"),
        "sles" => ("SLES", "Suse"),
        _ => ("", ""),
    };
    let name = if name.is_empty() {
        get("osr_NAME")
    } else {
        name.to_string()
    };
    let family = if family.is_empty() {
        name.clone()
    } else {
        family.to_string()
    };
    let version = if id == "debian" && !get("debian_version").is_empty() {
        get("debian_version")
    } else {
        get("osr_VERSION_ID")
    };
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("").to_string();
    let minor = parts.next().unwrap_or("").to_string();
    let release = {
        let c = get("osr_VERSION_CODENAME");
        if c.is_empty() {
            get("osr_UBUNTU_CODENAME")
        } else {
            c
        }
    };
    let (path, variety) = match family.as_str() {
        "RedHat" if !get("redhat_release").is_empty() => ("/etc/redhat-release", "RedHat"),
        "Debian" => ("/etc/os-release", "Debian"),
        "Suse" => ("/etc/os-release", "SUSE"),
        "Alpine" => ("/etc/alpine-release", "Alpine"),
        "Archlinux" => ("/etc/arch-release", "Archlinux"),
        _ => ("/etc/os-release", "NA"),
    };
    let s = |v: &str| Value::from(v);
    let mut f = Vars::new();
    f.insert("distribution".into(), s(&name));
    f.insert("os_family".into(), s(&family));
    f.insert("distribution_version".into(), s(&version));
    f.insert("distribution_major_version".into(), s(&major));
    if !minor.is_empty() {
        f.insert("distribution_minor_version".into(), s(&minor));
    }
    f.insert("distribution_release".into(), s(&release));
    f.insert("distribution_file_path".into(), s(path));
    f.insert("distribution_file_variety".into(), s(variety));
    f.insert("distribution_file_parsed".into(), Value::from(true));
    f
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC of a Unix time (the proleptic Gregorian calendar).
fn utc_iso(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The date_time collector from one instant read on the host: three lines in one format, the
/// instant's, then 1 January and 1 July 2024's (for the zone's standard and summer names).
pub(super) fn date_time_facts(text: &str, f: &mut Vars) {
    let lines: Vec<&str> = text.lines().collect();
    let p: Vec<&str> = lines
        .first()
        .map(|l| l.split('|').collect())
        .unwrap_or_default();
    if p.len() < 13 {
        return;
    }
    let utc = p[9].parse::<i64>().map(utc_iso).unwrap_or_default();
    let micro = &p[12][..p[12].len().min(6)];
    // The zone's name and offset on 1 January and 1 July 2024 (the same format, fields 10, 11).
    let zone = |l: Option<&&str>| -> (String, i64) {
        let f: Vec<&str> = l.map(|l| l.split('|').collect()).unwrap_or_default();
        match (f.get(10), f.get(11)) {
            (Some(z), Some(o)) => (z.to_string(), o.parse().unwrap_or(0)),
            _ => (String::new(), 0),
        }
    };
    // time.tzname[1]: the daylight-saving name, the standard one when the zone has none.
    let (jan, feb_off) = zone(lines.get(1));
    let (jul, jul_off) = zone(lines.get(2));
    let tz_dst = if jul_off > feb_off { jul } else { jan };
    let s = |v: &str| Value::from(v);
    f.insert(
        "date_time".into(),
        value::map([
            ("year", s(p[0])),
            ("month", s(p[1])),
            ("weekday", s(p[2])),
            ("weekday_number", s(p[3])),
            ("weeknumber", s(p[4])),
            ("day", s(p[5])),
            ("hour", s(p[6])),
            ("minute", s(p[7])),
            ("second", s(p[8])),
            ("epoch", s(p[9])),
            ("epoch_int", s(p[9])),
            ("date", s(&format!("{}-{}-{}", p[0], p[1], p[5]))),
            ("time", s(&format!("{}:{}:{}", p[6], p[7], p[8]))),
            ("iso8601_micro", s(&format!("{utc}.{micro}Z"))),
            ("iso8601", s(&format!("{utc}Z"))),
            (
                "iso8601_basic",
                s(&format!(
                    "{}{}{}T{}{}{}{micro}",
                    p[0], p[1], p[5], p[6], p[7], p[8]
                )),
            ),
            (
                "iso8601_basic_short",
                s(&format!(
                    "{}{}{}T{}{}{}",
                    p[0], p[1], p[5], p[6], p[7], p[8]
                )),
            ),
            ("tz", s(p[10])),
            ("tz_dst", s(&tz_dst)),
            ("tz_offset", s(p[11])),
        ]),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_iso_matches_gnu_date() {
        // date -u -d @N +%Y-%m-%dT%H:%M:%S
        assert_eq!(utc_iso(0), "1970-01-01T00:00:00");
        assert_eq!(utc_iso(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(utc_iso(1_704_067_199), "2023-12-31T23:59:59");
        assert_eq!(utc_iso(1_796_684_204), "2026-12-07T22:56:44");
        assert_eq!(utc_iso(-1), "1969-12-31T23:59:59");
    }

    #[test]
    fn date_time_reads_three_lines_of_one_format() {
        let mut f = Vars::new();
        date_time_facts(
            "2026|12|Monday|1|49|07|23|53|43|1796684023|CET|+0100|652057131\n\
             2024|01|Monday|1|01|01|01|00|00|1704067200|CET|+0100|000000000\n\
             2024|07|Monday|1|27|01|02|00|00|1719792000|CEST|+0200|000000000\n",
            &mut f,
        );
        let d = f.get("date_time").unwrap();
        let get = |k: &str| d.get_attr(k).unwrap().to_string();
        assert_eq!(get("iso8601"), "2026-12-07T22:53:43Z");
        assert_eq!(get("iso8601_micro"), "2026-12-07T22:53:43.652057Z");
        assert_eq!(get("tz"), "CET");
        assert_eq!(get("tz_dst"), "CEST");
        assert_eq!(get("tz_offset"), "+0100");
    }
}
