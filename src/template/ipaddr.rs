//! A small `ipaddr` (from the ansible.utils collection, with netaddr's rules): validate an
//! address or network and ask for one part of it.
//!
//! Only the common queries are here: no query (the value if it is an IP address or network,
//! else `False`), `address`, `host`, `network`, `net`, `cidr`, `netmask`, `hostmask`,
//! `broadcast`, `prefix`, `size`, `version`, `public`, `private`, `ipv4`, `ipv6`, and an index
//! (`ipaddr(5)`: the 5th address of the network). A list is filtered item by item, dropping
//! what does not qualify, as the collection does.

use super::filters::{err, py_str};
use crate::value::Value;
use minijinja::Error;
use minijinja::value::ValueKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address with its prefix length (a bare address has the full length).
#[derive(Debug, Clone, Copy)]
struct Net {
    ip: IpAddr,
    prefix: u8,
    /// Whether the text had a `/prefix` (or netmask).
    has_prefix: bool,
}

impl Net {
    fn parse(s: &str) -> Option<Net> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: IpAddr = addr.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                Ok(_) => return None,
                // A netmask (255.255.255.0) or hostmask (0.0.0.255) after the slash.
                Err(_) => {
                    let mask: Ipv4Addr = p.parse().ok()?;
                    let m = u32::from(mask);
                    let m = if m.leading_zeros() > 0 && (m | (m >> 1)) == m {
                        !m
                    } else {
                        m
                    };
                    if m.leading_ones() + m.trailing_zeros() != 32 {
                        return None;
                    }
                    m.leading_ones() as u8
                }
            },
        };
        Some(Net {
            ip,
            prefix: prefix_len,
            has_prefix: prefix.is_some(),
        })
    }

    fn bits(&self) -> u32 {
        if self.ip.is_ipv4() { 32 } else { 128 }
    }

    fn as_u128(&self) -> u128 {
        match self.ip {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a),
        }
    }

    fn ip_from(&self, n: u128) -> IpAddr {
        match self.ip {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
        }
    }

    fn mask(&self) -> u128 {
        let bits = self.bits();
        let all = if bits == 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        let host = if self.prefix as u32 >= bits {
            0
        } else {
            (1u128 << (bits - self.prefix as u32)) - 1
        };
        all & !host
    }

    fn network(&self) -> u128 {
        self.as_u128() & self.mask()
    }

    fn size(&self) -> u128 {
        let host_bits = self.bits() - self.prefix as u32;
        if host_bits >= 128 {
            u128::MAX
        } else {
            1u128 << host_bits
        }
    }

    fn is_private(&self) -> bool {
        match self.ip {
            IpAddr::V4(a) => {
                a.is_private() || a.is_loopback() || a.is_link_local() || {
                    let o = a.octets();
                    o[0] == 100 && (64..128).contains(&o[1])
                }
            }
            IpAddr::V6(a) => {
                (a.segments()[0] & 0xfe00) == 0xfc00
                    || a.is_loopback()
                    || (a.segments()[0] & 0xffc0) == 0xfe80
            }
        }
    }
}

/// Applies one query to one value; `None` means "does not qualify" (False).
fn query_one(
    v: &Value,
    query: Option<&Value>,
    version: Option<u8>,
) -> Result<Option<Value>, Error> {
    let text = match v.kind() {
        ValueKind::String => v.as_str().unwrap_or("").to_string(),
        ValueKind::Number => match v.as_i64() {
            // netaddr reads an integer as an IPv4 address when it fits.
            Some(i) if (0..=u32::MAX as i64).contains(&i) => Ipv4Addr::from(i as u32).to_string(),
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    let Some(net) = Net::parse(&text) else {
        return Ok(None);
    };
    let ver = if net.ip.is_ipv4() { 4 } else { 6 };
    if version.is_some_and(|want| want != ver) {
        return Ok(None);
    }
    let ip = |n: u128| net.ip_from(n).to_string();
    let cidr = |n: u128| format!("{}/{}", ip(n), net.prefix);
    let Some(q) = query.filter(|q| !q.is_none() && q.as_str() != Some("")) else {
        return Ok(Some(Value::from(text.trim())));
    };
    if let Some(i) = q
        .as_i64()
        .or_else(|| q.as_str().and_then(|s| s.parse::<i64>().ok()))
    {
        let size = net.size() as i128;
        let idx = if i < 0 { size + i as i128 } else { i as i128 };
        if idx < 0 || idx >= size {
            return Ok(None);
        }
        return Ok(Some(Value::from(cidr(net.network() + idx as u128))));
    }
    let q = py_str(q);
    let is_net = net.has_prefix && net.size() > 1;
    Ok(match q.as_str() {
        "address" | "ip" => {
            // A network's own address (192.168.0.0/24) is not a host address.
            if is_net && net.as_u128() == net.network() && ver == 4 && net.prefix < 31 {
                None
            } else {
                Some(Value::from(net.ip.to_string()))
            }
        }
        "host" => {
            if is_net && net.as_u128() == net.network() && ver == 4 && net.prefix < 31 {
                None
            } else {
                Some(Value::from(format!("{}/{}", net.ip, net.prefix)))
            }
        }
        "network" => Some(Value::from(ip(net.network()))),
        "net" => {
            (is_net && net.as_u128() == net.network()).then(|| Value::from(cidr(net.network())))
        }
        "cidr" | "subnet" => Some(Value::from(cidr(net.network()))),
        "netmask" => Some(Value::from(ip(net.mask()))),
        "hostmask" => {
            let all = if net.bits() == 128 {
                u128::MAX
            } else {
                (1u128 << net.bits()) - 1
            };
            Some(Value::from(ip(all & !net.mask())))
        }
        "broadcast" => {
            if ver == 4 && net.prefix < 31 {
                Some(Value::from(ip(net.network() + net.size() - 1)))
            } else {
                None
            }
        }
        "prefix" => Some(Value::from(net.prefix)),
        "size" => Some(Value::from(net.size())),
        "version" => Some(Value::from(ver)),
        "public" => (!net.is_private()).then(|| Value::from(text.trim())),
        "private" => net.is_private().then(|| Value::from(text.trim())),
        "ipv4" => (ver == 4).then(|| Value::from(text.trim())),
        "ipv6" => (ver == 6).then(|| Value::from(text.trim())),
        "bool" => Some(Value::from(true)),
        "int" => Some(Value::from(format!("{}/{}", net.as_u128(), net.prefix))),
        "wrap" | "wrapped" => Some(Value::from(match net.ip {
            IpAddr::V6(_) => format!("[{}]", text.trim()),
            IpAddr::V4(_) => text.trim().to_string(),
        })),
        "first_usable" => {
            if net.size() > 2 {
                Some(Value::from(ip(net.network() + 1)))
            } else {
                None
            }
        }
        "last_usable" => {
            if net.size() > 2 {
                Some(Value::from(ip(net.network() + net.size() - 2)))
            } else {
                None
            }
        }
        other => {
            return Err(err(format!(
                "Unknown ipaddr query '{other}' (baton implements a common subset)"
            )));
        }
    })
}

fn ipaddr_impl(v: Value, query: Option<Value>, version: Option<u8>) -> Result<Value, Error> {
    if matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) {
        let mut out = Vec::new();
        for item in v.try_iter()? {
            if let Some(r) = query_one(&item, query.as_ref(), version)? {
                out.push(r);
            }
        }
        return Ok(Value::from(out));
    }
    Ok(query_one(&v, query.as_ref(), version)?.unwrap_or(Value::from(false)))
}

pub fn ipaddr_filter(v: Value, query: Option<Value>) -> Result<Value, Error> {
    ipaddr_impl(v, query, None)
}

pub fn ipv4_filter(v: Value, query: Option<Value>) -> Result<Value, Error> {
    ipaddr_impl(v, query, Some(4))
}

pub fn ipv6_filter(v: Value, query: Option<Value>) -> Result<Value, Error> {
    ipaddr_impl(v, query, Some(6))
}

#[cfg(test)]
mod tests {
    fn render(s: &str) -> String {
        crate::template::render_text(s, &crate::value::Value::from(())).unwrap()
    }

    #[test]
    fn queries() {
        assert_eq!(
            render("{{ '192.168.1.10/24' | ipaddr('address') }}"),
            "192.168.1.10"
        );
        assert_eq!(
            render("{{ '192.168.1.10/24' | ipaddr('network') }}"),
            "192.168.1.0"
        );
        assert_eq!(
            render("{{ '192.168.1.10/24' | ipaddr('netmask') }}"),
            "255.255.255.0"
        );
        assert_eq!(
            render("{{ '192.168.1.10/24' | ipaddr('broadcast') }}"),
            "192.168.1.255"
        );
        assert_eq!(render("{{ '192.168.1.10/24' | ipaddr('prefix') }}"), "24");
        assert_eq!(
            render("{{ '192.168.1.0/24' | ipaddr('net') }}"),
            "192.168.1.0/24"
        );
        assert_eq!(
            render("{{ '192.168.1.0/24' | ipaddr(5) }}"),
            "192.168.1.5/24"
        );
        assert_eq!(render("{{ 'not an ip' | ipaddr }}"), "False");
        assert_eq!(
            render("{{ ['10.0.0.1', 'x', 'fe80::1'] | ipv4 }}"),
            "['10.0.0.1']"
        );
        assert_eq!(
            render("{{ '8.8.8.8' | ipaddr('public') }} {{ '10.1.2.3' | ipaddr('private') }}"),
            "8.8.8.8 10.1.2.3"
        );
        assert_eq!(
            render("{{ '10.0.0.1/255.255.0.0' | ipaddr('prefix') }}"),
            "16"
        );
    }
}
