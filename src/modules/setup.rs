//! `setup` (and the implicit "Gathering Facts"): the host's facts in one round trip, computed
//! as ansible-core's fact collectors compute them (lib/ansible/module_utils/facts/), without
//! Python on the host.
//!
//! A POSIX script prints what the collectors read (`uname`, `/etc/os-release`, `/proc/cpuinfo`,
//! `/proc/meminfo`, `/sys/class/net`, `ip`, `date`, `/etc/resolv.conf`, ...) in sections; this
//! module turns it into Ansible's fact names (without the `ansible_` prefix, which the variable
//! layer adds). `gather_subset` picks the collectors as Ansible does (`min` always, then `all`,
//! `hardware`, `network`, `virtual`, single collectors, `!` to exclude) and `filter` keeps only
//! the facts matching its patterns.
//!
//! `python` comes from the host's Python when it has one (`setup_python`), `local` from the
//! `*.fact` files of `fact_path` (`setup_local`), `mounts` from the mount table
//! (`setup_mounts`). What is not gathered: block devices and LVM (`devices`, `lvm`), and
//! `ethtool` features.

use super::sysutil::{self, kv, sections};
use super::{
    Args, Facts, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec, text,
};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};
use indexmap::IndexMap;
use std::collections::BTreeSet;

mod collect;
use collect::*;

mod network;
use network::*;

mod hardware;
use hardware::*;

mod system;
use system::*;

pub struct Setup;

static SPEC: Spec = Spec {
    names: &["setup", "gather_facts"],
    facts: Facts::Host,
    params: &[&[
        Param::list("gather_subset"),
        Param::int("gather_timeout"),
        Param::list("filter"),
        Param::str("fact_path"),
    ]],
    ..Spec::BASE
};

impl Module for Setup {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, mut args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        Box::pin(async move {
            let subset = args
                .list("gather_subset")?
                .map(|l| sysutil::strings(&l))
                .unwrap_or_else(|| vec!["all".into()]);
            let _ = args.int("gather_timeout")?;
            let filter = args
                .list("filter")?
                .map(|l| sysutil::strings(&l))
                .unwrap_or_default();
            let fact_path = args
                .str("fact_path")?
                .unwrap_or_else(|| super::setup_local::DEFAULT_PATH.to_string());
            let collectors = collectors(&subset).map_err(ModuleError::Failed)?;
            // The python collector is in every subset (Ansible's `min`).
            let interpreter = super::setup_python::configured(&ctx.vars);
            let mut probe = super::setup_python::probe(interpreter.as_deref());
            if collectors.contains("local") {
                probe.push_str(&super::setup_local::probe(&fact_path));
            }
            if collectors.contains("hardware") {
                probe.push_str(&super::setup_mounts::probe());
            }
            let out = ctx.exec(&script(&collectors, &probe), None).await?;
            if out.rc != Some(0) && out.stdout.is_empty() {
                return Err(ModuleError::Failed(format!(
                    "gathering facts failed: {}",
                    text(&out.stderr).trim()
                )));
            }
            let stdout = text(&out.stdout);
            let mut facts = parse_facts(&stdout, &collectors);
            let mut discovered = None;
            for (k, v) in sections(&stdout)
                .get("python")
                .map(|s| super::setup_python::facts(s))
                .unwrap_or_default()
            {
                match k.as_str() {
                    // Added by ansible-core's action, after the module's filter.
                    "discovered_interpreter_python" => discovered = Some(v),
                    // The platform collector's.
                    "python_version" if !collectors.contains("platform") => {}
                    _ => {
                        facts.insert(k, v);
                    }
                }
            }
            let secs = sections(&stdout);
            if collectors.contains("hardware") {
                facts.insert("mounts".into(), super::setup_mounts::fact(&secs));
            }
            let mut warnings = Vec::new();
            if let Some(section) = secs.get("local") {
                let (local, w) = super::setup_local::fact(section);
                warnings = w;
                match local {
                    Some(local) => facts.insert("ansible_local".into(), local),
                    None => facts.shift_remove("ansible_local"),
                };
            }
            facts.insert(
                "gather_subset".into(),
                subset.iter().map(|s| Value::from(s.as_str())).collect(),
            );
            facts.insert("module_setup".into(), Value::from(true));
            if !filter.is_empty() {
                facts.retain(|k, _| {
                    let name = if k.starts_with("ansible_") {
                        k.clone()
                    } else {
                        format!("ansible_{k}")
                    };
                    // ansible_collector._filter: an empty pattern matches all, and one
                    // without the prefix also matches with `ansible_` before it.
                    filter.iter().any(|f| {
                        f.is_empty()
                            || super::apt::fnmatch(&name, f)
                            || !f.starts_with("ansible_")
                                && !f.starts_with("facter")
                                && !f.starts_with("ohai")
                                && super::apt::fnmatch(&name, &format!("ansible_{f}"))
                    })
                });
            }
            let mut facts = super::fact_cache::prefix_facts(&facts);
            if let Some(d) = discovered {
                facts.insert("discovered_interpreter_python".into(), d);
            }
            Ok(Outcome {
                facts: Some(facts),
                ..Outcome::ok()
            }
            .with_warnings(warnings))
        })
    }
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    v.strip_prefix('\'')
        .and_then(|x| x.strip_suffix('\''))
        .unwrap_or(v)
}

/// Turns the script's output into Ansible's facts.
pub fn parse_facts(out: &str, c: &BTreeSet<String>) -> Vars {
    let secs = sections(out);
    let head = secs.get("").map(String::as_str).unwrap_or("");
    let mut kvs: IndexMap<&str, &str> = IndexMap::new();
    for line in head.lines() {
        if let Some((k, v)) = line.split_once('=') {
            kvs.entry(k).or_insert(v);
        }
    }
    let get = |k: &str| {
        kvs.get(k)
            .map(|v| unquote(v).to_string())
            .unwrap_or_default()
    };
    let has = |n: &str| c.contains(n);
    let s = |v: &str| Value::from(v);
    let mut f = Vars::new();

    // platform
    let nodename = get("nodename");
    let machine = get("machine");
    let fqdn = get("fqdn");
    if has("platform") {
        f.insert("system".into(), s(&get("system")));
        f.insert("kernel".into(), s(&get("kernel")));
        f.insert("kernel_version".into(), s(&get("kernel_version")));
        f.insert("machine".into(), s(&machine));
        f.insert("fqdn".into(), s(&fqdn));
        f.insert(
            "hostname".into(),
            s(nodename.split('.').next().unwrap_or("")),
        );
        f.insert("nodename".into(), s(&nodename));
        f.insert(
            "domain".into(),
            s(&fqdn.split('.').skip(1).collect::<Vec<_>>().join(".")),
        );
        let bits = get("longbit");
        f.insert("userspace_bits".into(), s(&bits));
        f.insert("architecture".into(), s(&machine));
        if machine == "x86_64" {
            match bits.as_str() {
                "64" => {
                    f.insert("userspace_architecture".into(), s("x86_64"));
                }
                "32" => {
                    f.insert("userspace_architecture".into(), s("i386"));
                }
                _ => {}
            }
        }
        if !get("machine_id").is_empty() {
            f.insert("machine_id".into(), s(&get("machine_id")));
        }
    }
    if has("user") {
        let pw: Vec<String> = get("pw").split(':').map(String::from).collect();
        let num = |v: &str| Value::from(v.parse::<i64>().unwrap_or(-1));
        f.insert("user_id".into(), s(&get("user_id")));
        f.insert(
            "user_uid".into(),
            num(pw.get(2).map(String::as_str).unwrap_or("")),
        );
        f.insert(
            "user_gid".into(),
            num(pw.get(3).map(String::as_str).unwrap_or("")),
        );
        f.insert(
            "user_gecos".into(),
            s(pw.get(4).map(String::as_str).unwrap_or("")),
        );
        f.insert(
            "user_dir".into(),
            s(pw.get(5).map(String::as_str).unwrap_or("")),
        );
        f.insert(
            "user_shell".into(),
            s(pw.get(6).map(String::as_str).unwrap_or("")),
        );
        f.insert("real_user_id".into(), num(&get("ruid")));
        f.insert("effective_user_id".into(), num(&get("euid")));
        f.insert("real_group_id".into(), num(&get("rgid")));
        f.insert("effective_group_id".into(), num(&get("rgid")));
    }
    if has("distribution") {
        f.extend(distribution(&|k| get(k)));
    }
    if has("pkg_mgr") {
        f.insert("pkg_mgr".into(), s(super::package::pkg_mgr_of(&get("pkg"))));
    }
    if has("service_mgr") {
        // service_mgr.py: sd_booted canaries, then what PID 1 is.
        let mgr = if kvs.contains_key("sd_booted") || get("pid1") == "systemd" {
            "systemd".to_string()
        } else {
            match get("pid1").as_str() {
                "init" | "" => "sysvinit".to_string(),
                "openrc-init" => "openrc".to_string(),
                other => other.to_string(),
            }
        };
        if mgr == "systemd"
            && has("systemd")
            && let Some(v) = get("systemd_version")
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<i64>().ok())
        {
            f.insert(
                "systemd".into(),
                value::map([
                    ("features", s(&get("systemd_features"))),
                    ("version", Value::from(v)),
                ]),
            );
        }
        f.insert("service_mgr".into(), s(&mgr));
    }
    if has("apparmor") {
        f.insert(
            "apparmor".into(),
            value::map([(
                "status",
                s(if kvs.contains_key("apparmor") {
                    "enabled"
                } else {
                    "disabled"
                }),
            )]),
        );
    }
    if has("selinux") {
        let status = match kvs.get("selinux_enforce") {
            Some(_) => value::map([
                ("status", s("enabled")),
                (
                    "mode",
                    s(if get("selinux_enforce") == "1" {
                        "enforcing"
                    } else {
                        "permissive"
                    }),
                ),
            ]),
            None => value::map([("status", s("disabled"))]),
        };
        f.insert("selinux".into(), status);
        f.insert("selinux_python_present".into(), Value::from(true));
    }
    if has("fips") {
        f.insert("fips".into(), Value::from(get("fips") == "1"));
    }
    if has("caps") {
        // caps.py: what follows '=' on capsh's "Current:" line, split on commas.
        let (enforced, caps): (&str, Vec<Value>) = match kvs.get("caps") {
            None => ("N/A", Vec::new()),
            Some(_) => {
                let cur = get("caps");
                if cur.trim() == "=ep" {
                    ("False", Vec::new())
                } else {
                    (
                        "True",
                        cur.split('=')
                            .nth(1)
                            .unwrap_or("")
                            .split(',')
                            .map(|c| Value::from(c.trim()))
                            .collect(),
                    )
                }
            }
        };
        if enforced == "N/A" {
            f.insert("system_capabilities".into(), s("N/A"));
        } else {
            f.insert("system_capabilities".into(), Value::from(caps));
        }
        f.insert("system_capabilities_enforced".into(), s(enforced));
    }
    if has("chroot") {
        f.insert("is_chroot".into(), Value::from(kvs.contains_key("chroot")));
    }
    if has("local") {
        f.insert(
            "ansible_local".into(),
            value::map(Vec::<(&str, Value)>::new()),
        );
    }
    if has("virtual") {
        let container = get("container_env");
        let (vtype, role, guest) = if kvs.contains_key("dockerenv")
            || kvs.contains_key("cgroup_container") && !kvs.contains_key("containerenv")
        {
            ("docker", "guest", vec!["docker", "container"])
        } else if kvs.contains_key("containerenv") || container == "podman" {
            ("container", "guest", vec!["podman", "container"])
        } else if container == "lxc" {
            ("lxc", "guest", vec!["lxc", "container"])
        } else if get("product").contains("KVM") || get("sysvendor").contains("QEMU") {
            ("kvm", "guest", vec!["kvm"])
        } else if get("sysvendor").contains("VMware") {
            ("VMware", "guest", vec!["VMware"])
        } else if get("product").contains("VirtualBox") {
            ("virtualbox", "guest", vec!["virtualbox"])
        } else if get("sysvendor").contains("Amazon EC2") {
            ("kvm", "guest", vec!["kvm"])
        } else {
            ("NA", "NA", vec![])
        };
        f.insert("virtualization_type".into(), s(vtype));
        f.insert("virtualization_role".into(), s(role));
        f.insert("virtualization_tech_guest".into(), {
            let mut g = guest;
            g.sort();
            g.into_iter().map(Value::from).collect()
        });
        f.insert(
            "virtualization_tech_host".into(),
            Value::from(Vec::<Value>::new()),
        );
    }
    if has("hardware") {
        let nproc = get("nproc").parse().ok();
        cpu_facts(
            secs.get("cpuinfo").map(String::as_str).unwrap_or(""),
            &machine,
            nproc,
            &mut f,
        );
        memory_facts(
            secs.get("meminfo").map(String::as_str).unwrap_or(""),
            &mut f,
        );
        if let Ok(u) = get("uptime").parse::<f64>() {
            f.insert("uptime_seconds".into(), Value::from(u as i64));
        }
        for k in [
            "bios_date",
            "bios_vendor",
            "bios_version",
            "board_asset_tag",
            "board_name",
            "board_serial",
            "board_vendor",
            "board_version",
            "chassis_asset_tag",
            "chassis_serial",
            "chassis_vendor",
            "chassis_version",
            "product_name",
            "product_serial",
            "product_uuid",
            "product_version",
        ] {
            let v = get(&format!("dmi_{k}"));
            f.insert(k.into(), s(if v.is_empty() { "NA" } else { &v }));
        }
        let v = get("dmi_sys_vendor");
        f.insert(
            "system_vendor".into(),
            s(if v.is_empty() { "NA" } else { &v }),
        );
        f.insert("form_factor".into(), s("NA"));
    }
    if has("loadavg") {
        let la: Vec<f64> = get("loadavg")
            .split_whitespace()
            .take(3)
            .filter_map(|x| x.parse().ok())
            .collect();
        if la.len() == 3 {
            f.insert(
                "loadavg".into(),
                value::map([
                    ("1m", Value::from(la[0])),
                    ("5m", Value::from(la[1])),
                    ("15m", Value::from(la[2])),
                ]),
            );
        }
    }
    if has("iscsi") {
        f.insert("iscsi_iqn".into(), s(&get("iscsi")));
    }
    if has("nvme") {
        f.insert("hostnqn".into(), s(&get("hostnqn")));
    }
    if has("fibre_channel_wwn") {
        f.insert(
            "fibre_channel_wwn".into(),
            get("fcwwn").split_whitespace().map(Value::from).collect(),
        );
    }
    if has("hardware") {
        let flags = get("cpuflags");
        if !flags.trim().is_empty() {
            f.insert(
                "flags".into(),
                flags.split_whitespace().map(Value::from).collect(),
            );
        }
        f.insert("lvm".into(), lvm_facts(secs.get("lvm").map(String::as_str)));
    }
    if has("dns") {
        f.insert(
            "dns".into(),
            dns_facts(secs.get("resolv").map(String::as_str).unwrap_or("")),
        );
    }
    if has("cmdline") {
        cmdline_facts(
            secs.get("cmdline").map(String::as_str).unwrap_or(""),
            &mut f,
        );
    }
    if has("lsb") {
        let mut l = Vars::new();
        for line in secs.get("lsb").map(String::as_str).unwrap_or("").lines() {
            if let Some(r) = line.strip_prefix("L:")
                && let Some((k, v)) = r.split_once(':')
            {
                let v = v.trim();
                match k.trim() {
                    "Distributor ID" => l.insert("id".into(), s(v)),
                    "Release" => l.insert("release".into(), s(v)),
                    "Description" => l.insert("description".into(), s(v)),
                    "Codename" => l.insert("codename".into(), s(v)),
                    _ => None,
                };
            } else if let Some(r) = line.strip_prefix("F:")
                && let Some((k, v)) = r.split_once('=')
            {
                let v = unquote(v);
                match k {
                    "DISTRIB_ID" => l.insert("id".into(), s(v)),
                    "DISTRIB_RELEASE" => l.insert("release".into(), s(v)),
                    "DISTRIB_DESCRIPTION" => l.insert("description".into(), s(v)),
                    "DISTRIB_CODENAME" => l.insert("codename".into(), s(v)),
                    _ => None,
                };
            }
        }
        if let Some(r) = l.get("release").and_then(|r| r.as_str().map(String::from)) {
            l.insert("major_release".into(), s(r.split('.').next().unwrap_or("")));
        }
        f.insert("lsb".into(), value::from_vars(&l));
    }
    if has("ssh_pub_keys") {
        for line in secs
            .get("sshkeys")
            .map(String::as_str)
            .unwrap_or("")
            .lines()
        {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.len() >= 3 {
                f.insert(format!("ssh_host_key_{}_public", w[0]), s(w[2]));
                f.insert(format!("ssh_host_key_{}_public_keytype", w[0]), s(w[1]));
            }
        }
    }
    if has("interfaces") {
        network_facts(&secs, &mut f);
    }
    if has("date_time")
        && let Some(d) = secs.get("date")
    {
        date_time_facts(d, &mut f);
    }
    if has("env")
        && let Some(e) = secs.get("env")
    {
        let env: Vec<(String, Value)> = e
            .split('\0')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect();
        let mut env = env;
        env.sort_by(|a, b| a.0.cmp(&b.0));
        f.insert("env".into(), value::map(env));
    }
    sorted_vars(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> BTreeSet<String> {
        collectors(&["all".to_string()]).unwrap()
    }

    #[test]
    fn subsets_select_collectors_like_ansible() {
        let c = collectors(&["!all".into()]).unwrap();
        assert!(c.contains("platform") && !c.contains("hardware") && !c.contains("network"));
        let c = collectors(&["!all".into(), "network".into()]).unwrap();
        assert!(c.contains("network") && c.contains("interfaces") && !c.contains("hardware"));
        // As ansible-core 2.19 does: an exclusion alone leaves the minimal set.
        let c = collectors(&["!hardware".into()]).unwrap();
        assert!(!c.contains("hardware") && !c.contains("network") && c.contains("platform"));
        let c = collectors(&["all".into(), "!hardware".into()]).unwrap();
        assert!(!c.contains("hardware") && c.contains("network"));
        let c = collectors(&["!all".into(), "!min".into()]).unwrap();
        assert!(c.is_empty());
        assert!(collectors(&["bogus".into()]).is_err());
    }

    #[test]
    fn cpu_counts_follow_the_collector() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 2\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 1\ncpu cores\t: 2\n";
        let mut f = Vars::new();
        cpu_facts(cpuinfo, "x86_64", Some(2), &mut f);
        assert_eq!(f["processor_count"], Value::from(1));
        assert_eq!(f["processor_cores"], Value::from(2));
        assert_eq!(f["processor_threads_per_core"], Value::from(1));
        assert_eq!(f["processor_vcpus"], Value::from(2));
        assert_eq!(f["processor"].len(), Some(6));
        assert_eq!(py_round(0.5), 0);
        assert_eq!(py_round(1.5), 2);
    }

    #[test]
    fn network_defaults_carry_the_interface_details() {
        let out = format!(
            "nodename=web-1\n\n{m} route4\n8.8.8.8 via 172.19.0.1 dev eth0 src 172.19.0.19 uid 0\n\n{m} if eth0\nmac=02:42:ac:13:00:13\nmtu=1500\noper=up\ntype=1\nP:2: eth0@if5: <BROADCAST> mtu 1500\nP:    inet 172.19.0.19/16 brd 172.19.255.255 scope global eth0\n\n{m} if lo\nmtu=65536\ntype=772\nP:    inet 127.0.0.1/8 scope host lo\n",
            m = sysutil::MARK
        );
        let f = parse_facts(&out, &all());
        let d = &f["default_ipv4"];
        assert_eq!(d.get_attr("address").unwrap(), Value::from("172.19.0.19"));
        assert_eq!(d.get_attr("netmask").unwrap(), Value::from("255.255.0.0"));
        assert_eq!(d.get_attr("network").unwrap(), Value::from("172.19.0.0"));
        assert_eq!(d.get_attr("type").unwrap(), Value::from("ether"));
        assert_eq!(d.get_attr("mtu").unwrap(), Value::from(1500));
        assert_eq!(f["all_ipv4_addresses"].len(), Some(1));
        assert_eq!(f["hostname"], Value::from("web-1"));
    }
}
