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
//! `python` comes from the host's Python when it has one (`setup_python`). What is not
//! gathered: block devices, mounts
//! and LVM (`devices`, `mounts`, `lvm`), and `ethtool` features.

use super::sysutil::{self, kv, sections};
use super::{
    Args, Facts, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, Param, Spec, text,
};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};
use indexmap::IndexMap;
use std::collections::BTreeSet;

pub struct Setup;

/// The collectors of Ansible's `min` subset that baton implements.
const MIN: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];

/// Ansible's valid `gather_subset` names (collector names and the fact ids they provide), as
/// its "Bad subset" message lists them.
const VALID: &[&str] = &[
    "all_ipv4_addresses",
    "all_ipv6_addresses",
    "apparmor",
    "architecture",
    "caps",
    "chroot",
    "cmdline",
    "date_time",
    "default_ipv4",
    "default_ipv6",
    "devices",
    "distribution",
    "distribution_major_version",
    "distribution_release",
    "distribution_version",
    "dns",
    "effective_group_ids",
    "effective_user_id",
    "env",
    "facter",
    "fibre_channel_wwn",
    "fips",
    "hardware",
    "interfaces",
    "is_chroot",
    "iscsi",
    "kernel",
    "kernel_version",
    "loadavg",
    "local",
    "lsb",
    "machine",
    "machine_id",
    "mounts",
    "network",
    "nvme",
    "ohai",
    "os_family",
    "pkg_mgr",
    "platform",
    "processor",
    "processor_cores",
    "processor_count",
    "python",
    "python_version",
    "real_user_id",
    "selinux",
    "service_mgr",
    "ssh_host_key_dsa_public",
    "ssh_host_key_ecdsa_public",
    "ssh_host_key_ed25519_public",
    "ssh_host_key_rsa_public",
    "ssh_host_pub_keys",
    "ssh_pub_keys",
    "system",
    "system_capabilities",
    "system_capabilities_enforced",
    "systemd",
    "user",
    "user_dir",
    "user_gecos",
    "user_gid",
    "user_id",
    "user_shell",
    "user_uid",
    "virtual",
    "virtualization_role",
    "virtualization_tech_guest",
    "virtualization_tech_host",
    "virtualization_type",
];

/// The collector (as this module implements them) a subset name stands for.
fn collector_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "all_ipv4_addresses" | "all_ipv6_addresses" | "default_ipv4" | "default_ipv6"
        | "interfaces" | "network" => "network",
        "architecture" | "kernel" | "kernel_version" | "machine" | "machine_id"
        | "python_version" | "system" | "platform" => "platform",
        "distribution"
        | "distribution_major_version"
        | "distribution_release"
        | "distribution_version"
        | "os_family" => "distribution",
        "effective_group_ids"
        | "effective_user_id"
        | "real_user_id"
        | "user"
        | "user_dir"
        | "user_gecos"
        | "user_gid"
        | "user_id"
        | "user_shell"
        | "user_uid" => "user",
        "is_chroot" | "chroot" => "chroot",
        "processor" | "processor_cores" | "processor_count" | "devices" | "mounts" | "hardware" => {
            "hardware"
        }
        "loadavg" => "loadavg",
        "ssh_host_key_dsa_public"
        | "ssh_host_key_ecdsa_public"
        | "ssh_host_key_ed25519_public"
        | "ssh_host_key_rsa_public"
        | "ssh_host_pub_keys"
        | "ssh_pub_keys" => "ssh_pub_keys",
        "system_capabilities" | "system_capabilities_enforced" | "caps" => "caps",
        "service_mgr" => "service_mgr",
        "systemd" => "systemd",
        "virtual"
        | "virtualization_role"
        | "virtualization_tech_guest"
        | "virtualization_tech_host"
        | "virtualization_type" => "virtual",
        "apparmor" | "cmdline" | "date_time" | "dns" | "env" | "fibre_channel_wwn" | "fips"
        | "iscsi" | "local" | "lsb" | "nvme" | "pkg_mgr" | "selinux" => {
            return MIN
                .iter()
                .chain(["fibre_channel_wwn", "iscsi", "nvme"].iter())
                .find(|m| **m == name)
                .copied();
        }
        _ => return None,
    })
}

/// The collectors a `gather_subset` list selects (collector.py's get_collector_names).
pub fn collectors(subset: &[String]) -> Result<BTreeSet<String>, String> {
    let valid: BTreeSet<&str> = VALID.iter().copied().collect();
    let everything: BTreeSet<String> = VALID
        .iter()
        .filter_map(|n| collector_of(n))
        .map(String::from)
        .collect();
    let min: BTreeSet<String> = MIN.iter().map(|s| s.to_string()).collect();
    let (mut add, mut exclude) = (BTreeSet::new(), BTreeSet::new());
    let mut explicit: BTreeSet<String> = BTreeSet::new();
    let mut list = vec!["min".to_string()];
    list.extend(subset.iter().map(|s| s.trim().to_string()));
    for s in &list {
        match s.as_str() {
            "min" => add.extend(min.iter().cloned()),
            "all" => add.extend(everything.iter().cloned()),
            "!min" => exclude.extend(min.iter().cloned()),
            "!all" => exclude.extend(everything.difference(&min).cloned()),
            other => match other.strip_prefix('!') {
                Some(x) => exclude.extend(collector_of(x).map(String::from)),
                None => {
                    if !valid.contains(other) {
                        return Err(format!(
                            "Bad subset '{other}' given to Ansible. gather_subset options allowed: all, {}",
                            VALID.join(", ")
                        ));
                    }
                    if let Some(c) = collector_of(other) {
                        add.insert(c.to_string());
                        explicit.insert(c.to_string());
                    }
                }
            },
        }
    }
    let mut out: BTreeSet<String> = add.difference(&exclude).cloned().collect();
    out.extend(explicit);
    // Collectors' own requirements: hardware, network and virtual need the platform facts.
    if out
        .iter()
        .any(|c| matches!(c.as_str(), "hardware" | "network" | "virtual"))
    {
        out.insert("platform".into());
    }
    if out.contains("network") {
        out.insert("interfaces".into());
    }
    Ok(out)
}

/// The host script for the selected collectors: `key=value` lines first, then sections
/// (`more` among them, before the environment's, which ends the script).
fn script(c: &BTreeSet<String>, more: &str) -> String {
    let has = |n: &str| c.contains(n);
    let sec = |n: &str| sysutil::section(n);
    // Every program started costs the host a fork and an exec (milliseconds each, where a
    // builtin costs microseconds), so one-line files are read with `read` (`rd`, into `$_v`),
    // small text files are copied with a `read` loop (`cat_`), and `uname`'s answers come from
    // /proc/sys/kernel. Values are printed with printf (`pf`): dash's echo would interpret
    // backslashes in them.
    let mut s = String::from(
        "nl='\n'\n\
         rd() { _v=; [ -r \"$1\" ] && { IFS= read -r _v < \"$1\" || :; } 2>/dev/null; :; }\n\
         cat_() { [ -r \"$1\" ] && while IFS= read -r _l || [ -n \"$_l\" ]; do printf '%s\\n' \"$_l\"; done < \"$1\" 2>/dev/null; :; }\n\
         pf() { printf '%s=%s\\n' \"$1\" \"$2\"; }\n\
         if [ -r /proc/sys/kernel/ostype ]; then\n\
           rd /proc/sys/kernel/hostname; pf nodename \"$_v\"; rd /proc/sys/kernel/osrelease; pf kernel \"$_v\"\n\
           rd /proc/sys/kernel/version; pf kernel_version \"$_v\"; rd /proc/sys/kernel/ostype; pf system \"$_v\"\n\
         else\n\
           pf nodename \"$(uname -n)\"; pf kernel \"$(uname -r)\"; pf kernel_version \"$(uname -v)\"; pf system \"$(uname -s)\"\n\
         fi\n\
         pf fqdn \"$(hostname -f 2>/dev/null || uname -n)\"\n\
         pf machine \"$(uname -m)\"\n\
         pf longbit \"$(getconf LONG_BIT 2>/dev/null)\"\n\
         rd /proc/1/comm; pf pid1 \"$_v\"\n",
    );
    if has("platform") {
        s.push_str(
            "for f in /var/lib/dbus/machine-id /etc/machine-id; do [ -r \"$f\" ] && { rd \"$f\"; pf machine_id \"$_v\"; break; }; done\n",
        );
    }
    if has("user") {
        s.push_str(
            "ruid=; euid=; rgid=\n\
             while IFS= read -r _l; do case $_l in Uid:*) set -- ${_l#Uid:}; ruid=$1; euid=$2 ;; Gid:*) set -- ${_l#Gid:}; rgid=$1 ;; esac; done < /proc/self/status 2>/dev/null\n\
             if [ -n \"$euid\" ]; then pw=$(getent passwd \"$euid\"); u=${pw%%:*}\n\
             else u=$(id -un); pw=$(getent passwd \"$u\" || getent passwd \"$(id -u)\"); ruid=$(id -ru); euid=$(id -u); rgid=$(id -rg); fi\n\
             pf user_id \"$u\"; pf pw \"$pw\"; pf ruid \"$ruid\"; pf euid \"$euid\"; pf rgid \"$rgid\"\n",
        );
    }
    if has("distribution") || has("pkg_mgr") {
        s.push_str(
            "rd /etc/debian_version; pf debian_version \"$_v\"\n\
             [ -e /etc/redhat-release ] && { rd /etc/redhat-release; pf redhat_release \"$_v\"; }\n\
             [ -r /etc/os-release ] && while IFS= read -r _l || [ -n \"$_l\" ]; do case $_l in *=*) case ${_l%%=*} in *[!A-Z_]*) ;; *) printf 'osr_%s\\n' \"$_l\" ;; esac ;; esac; done < /etc/os-release\n",
        );
    }
    if has("pkg_mgr") {
        s.push_str(&format!("pf pkg \"$({})\"\n", super::package::PROBE));
    }
    if has("service_mgr") {
        s.push_str(
            "if [ -e /run/systemd/system/ ] || [ -e /dev/.run/systemd/ ] || [ -e /dev/.systemd/ ]; then echo sd_booted=1; fi\n\
             if command -v systemctl >/dev/null 2>&1; then _v=$(systemctl --version 2>/dev/null); pf systemd_version \"${_v%%\"$nl\"*}\"; case $_v in *\"$nl\"*) _v=${_v#*\"$nl\"} ;; *) _v= ;; esac; pf systemd_features \"${_v%%\"$nl\"*}\"; fi\n",
        );
    }
    if has("apparmor") {
        s.push_str("[ -e /sys/kernel/security/apparmor ] && echo apparmor=1\n");
    }
    if has("selinux") {
        s.push_str(
            "if [ -e /sys/fs/selinux/enforce ]; then rd /sys/fs/selinux/enforce; pf selinux_enforce \"$_v\"; fi\n",
        );
    }
    if has("fips") {
        s.push_str("rd /proc/sys/crypto/fips_enabled; pf fips \"$_v\"\n");
    }
    if has("caps") {
        s.push_str(
            "if command -v capsh >/dev/null 2>&1; then pf caps \"$(capsh --print 2>/dev/null | sed -n 's/^Current: *//p' | head -n 1)\"; fi\n",
        );
    }
    if has("chroot") || has("virtual") {
        s.push_str(
            "_v=$(stat -c %d:%i / /proc/1/root/. 2>/dev/null)\n\
             case $_v in '') ;; *\"$nl\"*) [ \"${_v%%\"$nl\"*}\" = \"${_v#*\"$nl\"}\" ] || echo chroot=1 ;; *) echo chroot=1 ;; esac\n",
        );
    }
    if has("virtual") {
        s.push_str(
            "[ -e /.dockerenv ] && echo dockerenv=1\n[ -e /run/.containerenv ] && echo containerenv=1\n\
             _c=; [ -r /proc/1/cgroup ] && while IFS= read -r _l; do case $_l in */docker*|*/lxc*|*/kubepods*) _c=1 ;; esac; done < /proc/1/cgroup\n\
             [ -n \"$_c\" ] && echo cgroup_container=1\n\
             _v=; [ -r /proc/1/environ ] && _v=$(sed -z -n '/^container=/{s///;p;q}' /proc/1/environ 2>/dev/null); pf container_env \"$_v\"\n\
             rd /sys/devices/virtual/dmi/id/product_name; pf product \"$_v\"\n\
             rd /sys/devices/virtual/dmi/id/sys_vendor; pf sysvendor \"$_v\"\n\
             [ -n \"${_fl+x}\" ] || _fl=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)\n\
             case $_fl in *' hypervisor'*) echo hypervisor=1 ;; esac\n",
        );
    }
    if has("hardware") {
        s.push_str(
            "pf nproc \"$(nproc 2>/dev/null)\"\n\
             rd /proc/uptime; pf uptime \"${_v%% *}\"\n\
             \
             for f in bios_date bios_vendor bios_version board_asset_tag board_name board_serial board_vendor board_version \
             chassis_asset_tag chassis_serial chassis_vendor chassis_version product_name product_serial product_uuid product_version sys_vendor; do \
             if [ -r /sys/devices/virtual/dmi/id/$f ]; then rd /sys/devices/virtual/dmi/id/$f; pf dmi_$f \"$_v\"; fi; done\n\
             [ -n \"${_fl+x}\" ] || _fl=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)\n\
             _v=; case $_fl in *:*) _v=${_fl#*:}; _v=${_v%%:*} ;; esac; pf cpuflags \"$_v\"\n",
        );
    }
    if has("loadavg") {
        s.push_str("rd /proc/loadavg; pf loadavg \"$_v\"\n");
    }
    if has("iscsi") {
        s.push_str(
            "_v=; [ -r /etc/iscsi/initiatorname.iscsi ] && _v=$(sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi 2>/dev/null | head -n 1); pf iscsi \"$_v\"\n",
        );
    }
    if has("nvme") {
        s.push_str(
            "_v=; [ -r /etc/nvme/hostnqn ] && _v=$(grep '^nqn\\.' /etc/nvme/hostnqn 2>/dev/null | head -n 1); pf hostnqn \"$_v\"\n",
        );
    }
    if has("fibre_channel_wwn") {
        s.push_str(
            "_w=; for _f in /sys/class/fc_host/*/port_name; do [ -r \"$_f\" ] && { rd \"$_f\"; _w=\"$_w${_v#??} \"; }; done; pf fcwwn \"${_w:-}\"\n",
        );
    }
    if has("hardware") {
        s.push_str(&format!(
            "{cpu}\ngrep -E '^(model name|Processor|vendor_id|cpu|Vendor|processor|physical id|core id|cpu cores|siblings|# processors|max thread id|ncpus active)[[:space:]]*:' /proc/cpuinfo 2>/dev/null\n\
             {mem}\ncat_ /proc/meminfo\n\
             if command -v vgs >/dev/null 2>&1 && [ \"$(id -u)\" = 0 ]; then {lvm}\n\
             o='--noheadings --nosuffix --units g --separator ,'; vgs $o 2>/dev/null | sed 's/^ */V:/'; \
             command -v lvs >/dev/null 2>&1 && lvs $o 2>/dev/null | sed 's/^ */L:/'; \
             command -v pvs >/dev/null 2>&1 && pvs $o 2>/dev/null | sed 's/^ */P:/'; fi\n",
            cpu = sec("cpuinfo"),
            mem = sec("meminfo"),
            lvm = sec("lvm"),
        ));
    }
    if has("dns") {
        s.push_str(&format!("{}\ncat_ /etc/resolv.conf\n", sec("resolv")));
    }
    if has("cmdline") {
        s.push_str(&format!("{}\ncat_ /proc/cmdline\n", sec("cmdline")));
    }
    if has("lsb") {
        s.push_str(&format!(
            "{}\nif command -v lsb_release >/dev/null 2>&1; then lsb_release -a 2>/dev/null | sed 's/^/L:/'; elif [ -r /etc/lsb-release ]; then sed 's/^/F:/' /etc/lsb-release; fi\n",
            sec("lsb")
        ));
    }
    if has("ssh_pub_keys") {
        s.push_str(&format!(
            "{}\nfor t in dsa rsa ecdsa ed25519; do for d in /etc/ssh /etc/openssh /etc; do f=$d/ssh_host_${{t}}_key.pub; if [ -r \"$f\" ]; then rd \"$f\"; printf '%s %s\\n' \"$t\" \"$_v\"; break; fi; done; done\n",
            sec("sshkeys")
        ));
    }
    if has("interfaces") {
        s.push_str(&format!(
            "ipc=; command -v ip >/dev/null 2>&1 && ipc=ip\n\
             first() {{ IFS= read -r _l && printf '%s\\n' \"$_l\"; }}\n\
             {r4}\n[ -n \"$ipc\" ] && ip -4 route get 8.8.8.8 2>/dev/null | first\n\
             {r6}\n[ -n \"$ipc\" ] && ip -6 route get 2404:6800:400a:800::1012 2>/dev/null | first\n\
             {l4}\n[ -n \"$ipc\" ] && ip -4 route show table local 2>/dev/null\n\
             {l6}\n[ -n \"$ipc\" ] && ip -6 route show table local 2>/dev/null\n\
             pre() {{ while IFS= read -r _l || [ -n \"$_l\" ]; do printf '%s%s\\n' \"$1\" \"$_l\"; done; }}\n\
             for d in $(ls -U /sys/class/net 2>/dev/null); do p=/sys/class/net/$d; [ -d \"$p\" ] || continue\n\
               printf '\\n{mark} if %s\\n' \"$d\"\n\
               [ -e $p/address ] && {{ rd $p/address; pf mac \"$_v\"; }}\n\
               [ -e $p/mtu ] && {{ rd $p/mtu; pf mtu \"$_v\"; }}\n\
               [ -e $p/operstate ] && {{ rd $p/operstate; pf oper \"$_v\"; }}\n\
               [ -e $p/device/driver/module ] && {{ _v=$(readlink -f $p/device/driver/module); pf module \"${{_v##*/}}\"; }}\n\
               [ -e $p/type ] && {{ rd $p/type; pf type \"$_v\"; }}\n\
               [ -e $p/bridge ] && {{ echo bridge=1; pf brif \"$(ls $p/brif 2>/dev/null | tr '\\n' ' ')\"; rd $p/bridge/bridge_id; pf brid \"$_v\"; rd $p/bridge/stp_state; pf stp \"$_v\"; }}\n\
               [ -e $p/device ] && {{ _v=$(readlink $p/device); pf pciid \"${{_v##*/}}\"; }}\n\
               [ -e $p/speed ] && rd $p/speed && [ -n \"$_v\" ] && pf speed \"$_v\"\n\
               [ -e $p/flags ] && {{ rd $p/flags; pf flags \"$_v\"; }}\n\
               if [ -n \"$ipc\" ]; then ip addr show primary dev \"$d\" 2>/dev/null | pre P: || ip addr show dev \"$d\" 2>/dev/null | pre P:\n\
               ip addr show secondary dev \"$d\" 2>/dev/null | pre S:; fi\n\
             done\n",
            r4 = sec("route4"),
            r6 = sec("route6"),
            l4 = sec("local4"),
            l6 = sec("local6"),
            mark = sysutil::MARK,
        ));
    }
    if has("date_time") {
        s.push_str(&format!(
            "{}\nt=$(date +%s.%N)\ndate -d \"@$t\" +'%Y|%m|%A|%w|%W|%d|%H|%M|%S|%s|%Z|%z|%N'\ndate -u -d \"@$t\" +'%Y-%m-%dT%H:%M:%S'\n\
             date -d @1704067200 +'%Z|%z'\ndate -d @1719792000 +'%Z|%z'\n",
            sec("date")
        ));
    }
    s.push_str(more);
    // Last: the environment a module would see (the login shell exec'ing /bin/sh, as with
    // Ansible's `/bin/sh -c ...`).
    if has("env") {
        s.push_str(&format!(
            "{}\nexec env _=/bin/sh /bin/sh -c 'env -0'\n",
            sec("env")
        ));
    }
    s
}

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
            let _ = args.str("fact_path")?;
            let collectors = collectors(&subset).map_err(ModuleError::Failed)?;
            // The python collector is in every subset (Ansible's `min`).
            let interpreter = ctx
                .vars
                .get_attr("ansible_python_interpreter")
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_none())
                .map(|v| v.to_string());
            let probe = super::setup_python::probe(interpreter.as_deref());
            let out = ctx.exec(&script(&collectors, &probe), None).await?;
            if out.rc != Some(0) && out.stdout.is_empty() {
                return Err(ModuleError::Failed(format!(
                    "gathering facts failed: {}",
                    text(&out.stderr).trim()
                )));
            }
            let stdout = text(&out.stdout);
            let mut facts = parse_facts(&stdout, &collectors);
            if let Some(python) = sections(&stdout)
                .get("python")
                .and_then(|s| super::setup_python::fact(s))
            {
                facts.insert("python".into(), python);
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
                    filter.iter().any(|f| super::apt::fnmatch(&name, f))
                });
            }
            Ok(Outcome {
                facts: Some(super::fact_cache::prefix_facts(&facts)),
                ..Outcome::ok()
            })
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

/// Python's `round()`: halves go to the even neighbour.
fn py_round(x: f64) -> i64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && (r as i64) % 2 != 0 {
        (r - x.signum()) as i64
    } else {
        r as i64
    }
}

/// get_cpu_facts() for x86/ARM/POWER (not Xen paravirt, not s390x).
fn cpu_facts(cpuinfo: &str, arch: &str, nproc: Option<i64>, f: &mut Vars) {
    let mut processor: Vec<Value> = Vec::new();
    let (mut vendor, mut model, mut procs, mut i) = (0, 0, 0, 0i64);
    let mut sockets: IndexMap<String, i64> = IndexMap::new();
    let mut cores: IndexMap<String, i64> = IndexMap::new();
    let (mut physid, mut coreid) = ("0".to_string(), "0".to_string());
    for line in cpuinfo.lines() {
        let (key, val) = match line.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line.trim(), ""),
        };
        match key {
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                processor.push(Value::from(val));
                match key {
                    "vendor_id" => vendor += 1,
                    "model name" => model += 1,
                    "processor" => procs += 1,
                    _ => {}
                }
                i += 1;
            }
            "physical id" => {
                physid = val.to_string();
                sockets.entry(physid.clone()).or_insert(1);
            }
            "core id" => {
                coreid = val.to_string();
                // The module checks `sockets` here (sic).
                if !sockets.contains_key(&coreid) {
                    cores.insert(coreid.clone(), 1);
                }
            }
            "cpu cores" => {
                sockets.insert(physid.clone(), val.parse().unwrap_or(0));
            }
            "siblings" => {
                cores.insert(coreid.clone(), val.parse().unwrap_or(0));
            }
            "ncpus active" => i = val.parse().unwrap_or(i),
            _ => {}
        }
    }
    if vendor > 0 && vendor == model {
        i = vendor;
    }
    if arch.starts_with("armv") || arch.starts_with("aarch") || arch.starts_with("ppc") {
        i = procs;
    }
    let count = if sockets.is_empty() {
        i
    } else {
        sockets.len() as i64
    };
    let cores_per = match sockets.values().next() {
        Some(v) if *v != 0 => *v,
        _ => 1,
    };
    let threads = match cores.values().next() {
        Some(v) => py_round(*v as f64 / cores_per as f64),
        None => py_round(1.0 / cores_per as f64),
    };
    f.insert("processor".into(), Value::from(processor));
    f.insert("processor_count".into(), Value::from(count));
    f.insert("processor_cores".into(), Value::from(cores_per));
    f.insert("processor_threads_per_core".into(), Value::from(threads));
    f.insert(
        "processor_vcpus".into(),
        Value::from(threads * count * cores_per),
    );
    f.insert(
        "processor_nproc".into(),
        Value::from(nproc.unwrap_or(procs)),
    );
}

fn memory_facts(meminfo: &str, f: &mut Vars) {
    let mut m: IndexMap<String, i64> = IndexMap::new();
    for line in meminfo.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let n: i64 = v
            .split_whitespace()
            .next()
            .and_then(|x| x.parse().ok())
            .unwrap_or(0)
            / 1024;
        if matches!(k, "MemTotal" | "SwapTotal" | "MemFree" | "SwapFree") {
            f.insert(format!("{}_mb", k.to_lowercase()), Value::from(n));
        }
        if matches!(
            k,
            "MemTotal" | "SwapTotal" | "MemFree" | "SwapFree" | "Buffers" | "Cached" | "SwapCached"
        ) {
            m.insert(k.to_lowercase(), n);
        }
    }
    let g = |k: &str| m.get(k).copied();
    let v = |x: Option<i64>| x.map(Value::from).unwrap_or(Value::from(()));
    let nocache_free = match (g("cached"), g("memfree"), g("buffers")) {
        (Some(c), Some(f), Some(b)) => Some(c + f + b),
        _ => None,
    };
    f.insert(
        "memory_mb".into(),
        value::map([
            (
                "real",
                value::map([
                    ("total", v(g("memtotal"))),
                    (
                        "used",
                        v(g("memtotal").zip(g("memfree")).map(|(t, f)| t - f)),
                    ),
                    ("free", v(g("memfree"))),
                ]),
            ),
            (
                "nocache",
                value::map([
                    ("free", v(nocache_free)),
                    (
                        "used",
                        v(g("memtotal").zip(nocache_free).map(|(t, f)| t - f)),
                    ),
                ]),
            ),
            (
                "swap",
                value::map([
                    ("total", v(g("swaptotal"))),
                    ("free", v(g("swapfree"))),
                    (
                        "used",
                        v(g("swaptotal").zip(g("swapfree")).map(|(t, f)| t - f)),
                    ),
                    ("cached", v(g("swapcached"))),
                ]),
            ),
        ]),
    );
}

fn dns_facts(resolv: &str) -> Value {
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
fn cmdline_facts(line: &str, f: &mut Vars) {
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

/// An IPv4 address and prefix length to (netmask, network).
fn ipv4_net(addr: &str, prefix: u32) -> Option<(String, String)> {
    let a: std::net::Ipv4Addr = addr.parse().ok()?;
    let mask: u32 = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix.min(32))
    };
    let net = u32::from(a) & mask;
    Some((
        std::net::Ipv4Addr::from(mask).to_string(),
        std::net::Ipv4Addr::from(net).to_string(),
    ))
}

fn interface_type(t: &str) -> &'static str {
    match t {
        "1" => "ether",
        "32" => "infiniband",
        "512" => "ppp",
        "772" => "loopback",
        "65534" => "tunnel",
        _ => "unknown",
    }
}

/// get_default_interfaces(): what `ip route get` says.
fn default_route(line: &str, target: &str) -> Vars {
    let mut d = Vars::new();
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first() == Some(&target) {
        for i in 0..words.len().saturating_sub(1) {
            match words[i] {
                "dev" => {
                    d.insert("interface".into(), Value::from(words[i + 1]));
                }
                "src" => {
                    d.insert("address".into(), Value::from(words[i + 1]));
                }
                "via" if words[i + 1] != target => {
                    d.insert("gateway".into(), Value::from(words[i + 1]));
                }
                _ => {}
            }
        }
    }
    d
}

/// The network collector: interfaces, defaults, address lists, locally reachable IPs.
fn network_facts(secs: &IndexMap<String, String>, f: &mut Vars) {
    let get = |n: &str| secs.get(n).map(String::as_str).unwrap_or("");
    let mut def4 = default_route(get("route4").lines().next().unwrap_or(""), "8.8.8.8");
    let mut def6 = default_route(
        get("route6").lines().next().unwrap_or(""),
        "2404:6800:400a:800::1012",
    );
    let mut interfaces: IndexMap<String, Vars> = IndexMap::new();
    let (mut all4, mut all6): (Vec<Value>, Vec<Value>) = (Vec::new(), Vec::new());
    for (name, body) in secs.iter() {
        let Some(device) = name.strip_prefix("if ") else {
            continue;
        };
        let kvs = kv(body);
        let mut it = Vars::new();
        it.insert("device".into(), Value::from(device));
        let mac = kvs.get("mac").cloned().unwrap_or_default();
        if !mac.is_empty() && mac != "00:00:00:00:00:00" {
            it.insert("macaddress".into(), Value::from(mac.as_str()));
        }
        let mtu: Option<i64> = kvs.get("mtu").and_then(|m| m.parse().ok());
        if let Some(m) = mtu {
            it.insert("mtu".into(), Value::from(m));
        }
        if let Some(o) = kvs.get("oper") {
            it.insert("active".into(), Value::from(o != "down"));
        }
        if let Some(m) = kvs.get("module") {
            it.insert("module".into(), Value::from(m.as_str()));
        }
        if let Some(t) = kvs.get("type") {
            it.insert("type".into(), Value::from(interface_type(t)));
        }
        if kvs.contains_key("bridge") {
            it.insert("type".into(), Value::from("bridge"));
            it.insert(
                "interfaces".into(),
                kvs.get("brif")
                    .map(|b| b.split_whitespace().map(Value::from).collect())
                    .unwrap_or(Value::from(Vec::<Value>::new())),
            );
            it.insert(
                "id".into(),
                Value::from(kvs.get("brid").cloned().unwrap_or_default()),
            );
            it.insert(
                "stp".into(),
                Value::from(kvs.get("stp").map(String::as_str) == Some("1")),
            );
        }
        if let Some(p) = kvs.get("pciid") {
            it.insert("pciid".into(), Value::from(p.as_str()));
        }
        if let Some(s) = kvs.get("speed").and_then(|s| s.parse::<i64>().ok()) {
            it.insert("speed".into(), Value::from(s));
        }
        if let Some(fl) = kvs.get("flags") {
            let n = i64::from_str_radix(fl.trim_start_matches("0x"), 16).unwrap_or(0);
            it.insert("promisc".into(), Value::from(n & 0x100 > 0));
        }
        let itype = it
            .get("type")
            .and_then(|t| t.as_str().map(String::from))
            .unwrap_or_else(|| "unknown".into());
        let mut ipv6: Vec<Value> = Vec::new();
        let mut secondaries: Vec<Value> = Vec::new();
        for line in body.lines() {
            let (secondary, rest) = match (line.strip_prefix("P:"), line.strip_prefix("S:")) {
                (Some(r), _) => (false, r),
                (_, Some(r)) => (true, r),
                _ => continue,
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            if words.is_empty() {
                continue;
            }
            if words[0] == "inet" {
                let (address, plen) = match words[1].split_once('/') {
                    Some((a, p)) => (a.to_string(), p.to_string()),
                    None => (words[1].to_string(), "32".to_string()),
                };
                let broadcast = if words[1].contains('/') && words.len() > 3 && words[2] == "brd" {
                    words[3].to_string()
                } else {
                    String::new()
                };
                let (netmask, network) =
                    ipv4_net(&address, plen.parse().unwrap_or(32)).unwrap_or_default();
                let entry = value::map([
                    ("address", Value::from(address.as_str())),
                    ("broadcast", Value::from(broadcast.as_str())),
                    ("netmask", Value::from(netmask.as_str())),
                    ("network", Value::from(network.as_str())),
                    ("prefix", Value::from(plen.as_str())),
                ]);
                if !secondary && !it.contains_key("ipv4") {
                    it.insert("ipv4".into(), entry);
                } else {
                    secondaries.push(entry);
                }
                if def4.get("address").and_then(|a| a.as_str()) == Some(address.as_str()) {
                    def4.insert("broadcast".into(), Value::from(broadcast.as_str()));
                    def4.insert("netmask".into(), Value::from(netmask.as_str()));
                    def4.insert("network".into(), Value::from(network.as_str()));
                    def4.insert("prefix".into(), Value::from(plen.as_str()));
                    def4.insert("macaddress".into(), Value::from(mac.as_str()));
                    def4.insert(
                        "mtu".into(),
                        mtu.map(Value::from).unwrap_or(Value::from(())),
                    );
                    def4.insert("type".into(), Value::from(itype.as_str()));
                    def4.insert(
                        "alias".into(),
                        Value::from(*words.last().unwrap_or(&device)),
                    );
                }
                if !address.starts_with("127.") {
                    all4.push(Value::from(address.as_str()));
                }
            } else if words[0] == "inet6" {
                let (address, prefix, scope) = if words.get(2) == Some(&"peer") {
                    (
                        words[1].to_string(),
                        words
                            .get(3)
                            .and_then(|p| p.split_once('/'))
                            .map(|(_, p)| p.to_string())
                            .unwrap_or_default(),
                        words.get(5).copied().unwrap_or(""),
                    )
                } else {
                    let (a, p) = words[1].split_once('/').unwrap_or((words[1], ""));
                    (
                        a.to_string(),
                        p.to_string(),
                        words.get(3).copied().unwrap_or(""),
                    )
                };
                ipv6.push(value::map([
                    ("address", Value::from(address.as_str())),
                    ("prefix", Value::from(prefix.as_str())),
                    ("scope", Value::from(scope)),
                ]));
                if def6.get("address").and_then(|a| a.as_str()) == Some(address.as_str()) {
                    def6.insert("prefix".into(), Value::from(prefix.as_str()));
                    def6.insert("scope".into(), Value::from(scope));
                    def6.insert("macaddress".into(), Value::from(mac.as_str()));
                    def6.insert(
                        "mtu".into(),
                        mtu.map(Value::from).unwrap_or(Value::from(())),
                    );
                    def6.insert("type".into(), Value::from(itype.as_str()));
                }
                if address != "::1" {
                    all6.push(Value::from(address.as_str()));
                }
            }
        }
        if !ipv6.is_empty() {
            it.insert("ipv6".into(), Value::from(ipv6));
        }
        if !secondaries.is_empty() {
            it.insert("ipv4_secondaries".into(), Value::from(secondaries));
        }
        interfaces.insert(device.replace(':', "_"), it);
    }
    // `interfaces` is a set of names in the module, sorted when serialized.
    let mut names: Vec<&String> = interfaces.keys().collect();
    names.sort();
    for (name, it) in &interfaces {
        f.insert(name.clone(), value::from_vars(it));
    }
    f.insert(
        "interfaces".into(),
        names.into_iter().map(|n| Value::from(n.as_str())).collect(),
    );
    f.insert("default_ipv4".into(), value::from_vars(&sorted_vars(def4)));
    f.insert("default_ipv6".into(), value::from_vars(&sorted_vars(def6)));
    f.insert("all_ipv4_addresses".into(), Value::from(all4));
    f.insert("all_ipv6_addresses".into(), Value::from(all6));
    let local = |text: &str| -> Vec<Value> {
        let mut seen: Vec<String> = Vec::new();
        for line in text.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.first() == Some(&"local")
                && let Some(a) = w.get(1)
                && !seen.iter().any(|s| s == a)
            {
                seen.push(a.to_string());
            }
        }
        seen.into_iter().map(Value::from).collect()
    };
    f.insert(
        "locally_reachable_ips".into(),
        value::map([
            ("ipv4", Value::from(local(get("local4")))),
            ("ipv6", Value::from(local(get("local6")))),
        ]),
    );
}

fn sorted_vars(v: Vars) -> Vars {
    let mut pairs: Vec<(String, Value)> = v.into_iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.into_iter().collect()
}

/// The distribution facts: (name, family, version, release, file path, file variety).
fn distribution(get: &dyn Fn(&str) -> String) -> Vars {
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

/// get_lvm_facts(): `N/A` without vgs (or not root), else volume groups, volumes and PVs.
fn lvm_facts(text: Option<&str>) -> Value {
    let Some(text) = text else {
        return Value::from("N/A");
    };
    let (mut vgs, mut lvs, mut pvs) = (Vars::new(), Vars::new(), Vars::new());
    for line in text.lines() {
        let (kind, rest) = line.split_at(line.len().min(2));
        let items: Vec<&str> = rest.trim().split(',').collect();
        let s = |i: usize| Value::from(items.get(i).copied().unwrap_or(""));
        let back = |i: usize| {
            Value::from(
                items
                    .len()
                    .checked_sub(i)
                    .and_then(|j| items.get(j))
                    .copied()
                    .unwrap_or(""),
            )
        };
        match kind {
            "V:" => {
                vgs.insert(
                    items[0].to_string(),
                    value::map([
                        ("size_g", back(2)),
                        ("free_g", back(1)),
                        ("num_lvs", s(2)),
                        ("num_pvs", s(1)),
                    ]),
                );
            }
            "L:" => {
                lvs.insert(
                    items[0].to_string(),
                    value::map([("size_g", s(3)), ("vg", s(1))]),
                );
            }
            "P:" => {
                pvs.insert(
                    items[0].to_string(),
                    value::map([("size_g", s(4)), ("free_g", s(5)), ("vg", s(1))]),
                );
            }
            _ => {}
        }
    }
    value::map([
        ("lvs", value::from_vars(&lvs)),
        ("vgs", value::from_vars(&vgs)),
        ("pvs", value::from_vars(&pvs)),
    ])
}

/// The date_time collector from one instant read on the host.
fn date_time_facts(text: &str, f: &mut Vars) {
    let lines: Vec<&str> = text.lines().collect();
    let p: Vec<&str> = lines
        .first()
        .map(|l| l.split('|').collect())
        .unwrap_or_default();
    if p.len() < 13 {
        return;
    }
    let utc = lines.get(1).copied().unwrap_or("");
    let micro = &p[12][..p[12].len().min(6)];
    let zone = |l: Option<&&str>| -> (String, i64) {
        let (z, o) = l.and_then(|l| l.split_once('|')).unwrap_or(("", "+0000"));
        (z.to_string(), o.parse().unwrap_or(0))
    };
    // time.tzname[1]: the daylight-saving name, the standard one when the zone has none.
    let (jan, feb_off) = zone(lines.get(2));
    let (jul, jul_off) = zone(lines.get(3));
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
