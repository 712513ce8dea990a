//! `setup` (and the implicit "Gathering Facts"): the host's facts in one round trip.
//!
//! A POSIX script prints `key=value` lines read from `uname`, `/etc/os-release`, `/proc` and
//! `ip`; this module turns them into Ansible's fact names (without the `ansible_` prefix, which
//! the variable layer adds). No Python is needed on the host.

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, text};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};
use std::collections::HashMap;

pub struct Setup;

const SCRIPT: &str = r#"
echo "hostname=$(hostname 2>/dev/null | cut -d. -f1)"
echo "fqdn=$(hostname -f 2>/dev/null || hostname 2>/dev/null)"
echo "nodename=$(uname -n)"
echo "kernel=$(uname -r)"
echo "kernel_version=$(uname -v)"
echo "machine=$(uname -m)"
echo "system=$(uname -s)"
echo "user_id=$(id -un)"
echo "user_uid=$(id -u)"
echo "user_gid=$(id -g)"
echo "user_dir=$HOME"
echo "user_shell=$SHELL"
echo "vcpus=$(grep -c '^processor' /proc/cpuinfo 2>/dev/null)"
echo "cores=$(grep -m1 '^cpu cores' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | tr -d ' ')"
echo "memtotal_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "memfree_kb=$(awk '/^MemFree:/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "debian_version=$(cat /etc/debian_version 2>/dev/null)"
echo "pid1=$(cat /proc/1/comm 2>/dev/null)"
for m in apt-get dnf yum zypper apk pacman; do if command -v $m >/dev/null 2>&1; then echo "pkg=$m"; break; fi; done
echo "default_if=$(ip -4 route show default 2>/dev/null | awk '{for(i=1;i<NF;i++) if($i=="dev"){print $(i+1); exit}}')"
echo "default_gw=$(ip -4 route show default 2>/dev/null | awk '{print $3; exit}')"
ip -4 -o addr show 2>/dev/null | awk '{split($4,a,"/"); print "addr=" $2 " " a[1] " " a[2]}'
echo "epoch=$(date +%s)"
echo "tz=$(date +%Z)"
sed -n 's/^\([A-Z_]*\)=\(.*\)$/osr_\1=\2/p' /etc/os-release 2>/dev/null
env | sed 's/^/env_/'
"#;

impl Module for Setup {
    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let _ = args.list("gather_subset")?;
            let _ = args.int("gather_timeout")?;
            let _ = args.str("filter")?;
            let _ = args.str("fact_path")?;
            args.finish()?;
            let out = ctx.exec(SCRIPT, None).await?;
            if out.rc != Some(0) {
                return Err(ModuleError::Failed(format!(
                    "gathering facts failed: {}",
                    text(&out.stderr).trim()
                )));
            }
            let facts = parse_facts(&text(&out.stdout));
            let mut r = Vars::new();
            r.insert("ansible_facts".into(), value::from_vars(&facts));
            r.insert("changed".into(), Value::from(false));
            Ok(r)
        })
    }
}

fn unquote(v: &str) -> &str {
    v.trim().trim_matches('"').trim_matches('\'')
}

/// Turns the script's lines into Ansible's facts.
pub fn parse_facts(out: &str) -> Vars {
    let mut kv: HashMap<&str, &str> = HashMap::new();
    let mut env = Vec::new();
    let mut addrs: Vec<(String, String, String)> = Vec::new();
    for line in out.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if let Some(name) = k.strip_prefix("env_") {
            env.push((name.to_string(), Value::from(v)));
        } else if k == "addr" {
            let parts: Vec<&str> = v.split_whitespace().collect();
            if parts.len() == 3 {
                addrs.push((parts[0].into(), parts[1].into(), parts[2].into()));
            }
        } else {
            kv.entry(k).or_insert(v);
        }
    }
    let get = |k: &str| kv.get(k).map(|v| unquote(v)).unwrap_or("");
    let mut f = Vars::new();
    let s = |v: &str| Value::from(v);
    f.insert("hostname".into(), s(get("hostname")));
    f.insert("fqdn".into(), s(get("fqdn")));
    f.insert("nodename".into(), s(get("nodename")));
    f.insert("kernel".into(), s(get("kernel")));
    f.insert("kernel_version".into(), s(get("kernel_version")));
    f.insert("architecture".into(), s(get("machine")));
    f.insert("machine".into(), s(get("machine")));
    f.insert("system".into(), s(get("system")));
    f.insert("user_id".into(), s(get("user_id")));
    f.insert(
        "user_uid".into(),
        Value::from(get("user_uid").parse::<i64>().unwrap_or(-1)),
    );
    f.insert(
        "user_gid".into(),
        Value::from(get("user_gid").parse::<i64>().unwrap_or(-1)),
    );
    f.insert("user_dir".into(), s(get("user_dir")));
    f.insert("user_shell".into(), s(get("user_shell")));
    let vcpus = get("vcpus").parse::<i64>().unwrap_or(1);
    f.insert("processor_vcpus".into(), Value::from(vcpus));
    f.insert("processor_count".into(), Value::from(vcpus));
    f.insert(
        "processor_cores".into(),
        Value::from(get("cores").parse::<i64>().unwrap_or(1)),
    );
    f.insert(
        "memtotal_mb".into(),
        Value::from(get("memtotal_kb").parse::<i64>().unwrap_or(0) / 1024),
    );
    f.insert(
        "memfree_mb".into(),
        Value::from(get("memfree_kb").parse::<i64>().unwrap_or(0) / 1024),
    );
    let id = get("osr_ID");
    let (distribution, family) = match id {
        "debian" => ("Debian", "Debian"),
        "ubuntu" => ("Ubuntu", "Debian"),
        "linuxmint" => ("Linux Mint", "Debian"),
        "centos" => ("CentOS", "RedHat"),
        "rhel" => ("RedHat", "RedHat"),
        "fedora" => ("Fedora", "RedHat"),
        "rocky" => ("Rocky", "RedHat"),
        "almalinux" => ("AlmaLinux", "RedHat"),
        "ol" => ("OracleLinux", "RedHat"),
        "amzn" => ("Amazon", "RedHat"),
        "alpine" => ("Alpine", "Alpine"),
        "arch" => ("Archlinux", "Archlinux"),
        "opensuse-leap" | "opensuse-tumbleweed" | "sles" => ("openSUSE Leap", "Suse"),
        _ => ("", ""),
    };
    let distribution = if distribution.is_empty() {
        get("osr_NAME")
    } else {
        distribution
    };
    let family = if family.is_empty() {
        distribution
    } else {
        family
    };
    let version = if id == "debian" && !get("debian_version").is_empty() {
        get("debian_version")
    } else {
        get("osr_VERSION_ID")
    };
    f.insert("distribution".into(), s(distribution));
    f.insert("os_family".into(), s(family));
    f.insert("distribution_version".into(), s(version));
    f.insert(
        "distribution_major_version".into(),
        s(version.split('.').next().unwrap_or("")),
    );
    f.insert(
        "distribution_release".into(),
        s(get("osr_VERSION_CODENAME")),
    );
    let pkg = match get("pkg") {
        "apt-get" => "apt",
        "" => "unknown",
        other => other,
    };
    f.insert("pkg_mgr".into(), s(pkg));
    let service_mgr = if get("pid1") == "systemd" {
        "systemd"
    } else {
        "service"
    };
    f.insert("service_mgr".into(), s(service_mgr));
    let default_if = get("default_if");
    let all: Vec<Value> = addrs
        .iter()
        .filter(|(_, a, _)| !a.starts_with("127."))
        .map(|(_, a, _)| Value::from(a.as_str()))
        .collect();
    f.insert("all_ipv4_addresses".into(), Value::from(all));
    let default = addrs.iter().find(|(i, _, _)| i == default_if);
    f.insert(
        "default_ipv4".into(),
        match default {
            Some((iface, addr, prefix)) => value::map([
                ("address", s(addr)),
                ("interface", s(iface)),
                ("alias", s(iface)),
                ("gateway", s(get("default_gw"))),
                ("prefix", s(prefix)),
            ]),
            None => value::map(Vec::<(&str, Value)>::new()),
        },
    );
    f.insert("env".into(), value::map(env));
    let epoch = get("epoch").parse::<i64>().unwrap_or(0);
    let (y, m, d) = super::command::civil_from_days(epoch.div_euclid(86400));
    let secs = epoch.rem_euclid(86400);
    f.insert(
        "date_time".into(),
        value::map([
            ("year", s(&format!("{y:04}"))),
            ("month", s(&format!("{m:02}"))),
            ("day", s(&format!("{d:02}"))),
            ("hour", s(&format!("{:02}", secs / 3600))),
            ("minute", s(&format!("{:02}", secs % 3600 / 60))),
            ("second", s(&format!("{:02}", secs % 60))),
            ("epoch", s(&epoch.to_string())),
            ("date", s(&format!("{y:04}-{m:02}-{d:02}"))),
            (
                "time",
                s(&format!(
                    "{:02}:{:02}:{:02}",
                    secs / 3600,
                    secs % 3600 / 60,
                    secs % 60
                )),
            ),
            (
                "iso8601",
                s(&format!(
                    "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                    secs / 3600,
                    secs % 3600 / 60,
                    secs % 60
                )),
            ),
            ("tz", s(get("tz"))),
        ]),
    );
    f
}
