//! The network facts (`interfaces`, each interface, `default_ipv4`/`default_ipv6`,
//! `all_ipv4_addresses`, ...) from the `ip` and `/sys/class/net` sections, as ansible-core's
//! Linux network collector computes them.

use super::*;

/// An IPv4 address and prefix length to (netmask, network).
pub(super) fn ipv4_net(addr: &str, prefix: u32) -> Option<(String, String)> {
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

pub(super) fn interface_type(t: &str) -> &'static str {
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
pub(super) fn default_route(line: &str, target: &str) -> Vars {
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
pub(super) fn network_facts(secs: &IndexMap<String, String>, f: &mut Vars) {
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
