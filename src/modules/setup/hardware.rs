//! The hardware facts: processors (`/proc/cpuinfo`), memory (`/proc/meminfo`) and LVM, as
//! ansible-core's Linux hardware collector computes them.

use super::*;

/// Python's `round()`: halves go to the even neighbour.
pub(super) fn py_round(x: f64) -> i64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && (r as i64) % 2 != 0 {
        (r - x.signum()) as i64
    } else {
        r as i64
    }
}

/// get_cpu_facts() for x86/ARM/POWER (not Xen paravirt, not s390x).
pub(super) fn cpu_facts(cpuinfo: &str, arch: &str, nproc: Option<i64>, f: &mut Vars) {
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

pub(super) fn memory_facts(meminfo: &str, f: &mut Vars) {
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

/// get_lvm_facts(): `N/A` without vgs (or not root), else volume groups, volumes and PVs.
pub(super) fn lvm_facts(text: Option<&str>) -> Value {
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
