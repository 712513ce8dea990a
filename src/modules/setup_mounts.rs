//! The `mounts` facts of `setup`'s hardware collector (`ansible_mounts`), as ansible-core's
//! Linux hardware collector reports them (module_utils/facts/hardware/linux.py,
//! get_mount_facts): one entry per mount point of `/etc/mtab` (else `/proc/mounts`) whose
//! device is a path or a network share, with its options (`,bind` added for a bind mount
//! `findmnt` shows), sizes from statvfs (here `stat -f`) and the UUID `lsblk` gives (else
//! `N/A`). The host needs no Python: the shell part prints the tables, the parsing happens here.

use super::sysutil;
use crate::value::{self, Value};
use indexmap::IndexMap;

/// The part of the fact script that prints the `mounts`, `mountstat`, `lsblk` and `findmnt`
/// sections. Each mount's `stat -f` line follows its mtab line in `mountstat`, as `S <mtab
/// line>` then the numbers (none when the mount point cannot be stat'ed).
pub fn probe() -> String {
    format!(
        "{mounts}\n_mt=/etc/mtab; [ -e \"$_mt\" ] || _mt=/proc/mounts\n\
         cat \"$_mt\" 2>/dev/null\n\
         {stat}\n\
         while read -r _d _m _r; do\n\
         case $_d in /*|\\\\*|*:/*) ;; *) continue;; esac\n\
         _p=$(printf '%s' \"$_m\" | sed 's/\\\\\\([0-7][0-7][0-7]\\)/\\\\0\\1/g')\n\
         printf 'S %s\\n' \"$_m\"\n\
         stat -f -c '%S %s %b %a %c %d' -- \"$(printf '%b' \"$_p\")\" 2>/dev/null\n\
         done <\"$_mt\"\n\
         {lsblk}\n\
         lsblk --list --noheadings --paths --output NAME,UUID --exclude 2 2>/dev/null\n\
         {findmnt}\n\
         findmnt --list --noheadings --notruncate 2>/dev/null\n",
        mounts = sysutil::section("mounts"),
        stat = sysutil::section("mountstat"),
        lsblk = sysutil::section("lsblk"),
        findmnt = sysutil::section("findmnt"),
    )
}

/// `\NNN` octal escapes of /proc/mounts, decoded.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let n = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.extend(char::from_u32(n).unwrap_or('?').to_string().bytes());
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `mounts` fact from the probe's sections.
pub fn fact(secs: &IndexMap<String, String>) -> Value {
    let get = |k: &str| secs.get(k).map(String::as_str).unwrap_or("");
    // statvfs numbers by the mount point as mtab writes it.
    let mut sizes: IndexMap<&str, Vec<i64>> = IndexMap::new();
    let mut cur: Option<&str> = None;
    for line in get("mountstat").lines() {
        if let Some(m) = line.strip_prefix("S ") {
            cur = Some(m);
        } else if let Some(m) = cur.take() {
            let n: Vec<i64> = line
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if n.len() == 6 {
                sizes.insert(m, n);
            }
        }
    }
    let uuids: IndexMap<&str, &str> = get("lsblk")
        .lines()
        .filter_map(|l| l.trim().rsplit_once(char::is_whitespace))
        .map(|(d, u)| (d.trim(), u.trim()))
        .collect();
    // A bind mount shows its source with a `[/dir]` in findmnt's SOURCE column.
    let binds: Vec<&str> = get("findmnt")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 2 && f[1].ends_with(']')).then_some(f[0])
        })
        .collect();
    let mut mounts: IndexMap<String, Value> = IndexMap::new();
    for line in get("mounts").lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 {
            continue;
        }
        let raw_mount = fields[1];
        let f: Vec<String> = fields.iter().map(|x| unescape(x)).collect();
        let (device, mount, fstype) = (&f[0], &f[1], &f[2]);
        let mut options = f[3].clone();
        if !device.starts_with(['/', '\\']) && !device.contains(":/") || fstype == "none" {
            continue;
        }
        let (Ok(dump), Ok(passno)) = (f[4].parse::<i64>(), f[5].parse::<i64>()) else {
            continue;
        };
        if binds.contains(&mount.as_str()) && !options.contains("bind") {
            options.push_str(",bind");
        }
        let mut info: Vec<(&str, Value)> = vec![
            ("mount", Value::from(mount.as_str())),
            ("device", Value::from(device.as_str())),
            ("fstype", Value::from(fstype.as_str())),
            ("options", Value::from(options)),
            ("dump", Value::from(dump)),
            ("passno", Value::from(passno)),
        ];
        if let Some(n) = sizes.get(raw_mount) {
            let (frsize, bsize, blocks, bavail, files, favail) =
                (n[0], n[1], n[2], n[3], n[4], n[5]);
            info.extend([
                ("size_total", Value::from(frsize * blocks)),
                ("size_available", Value::from(frsize * bavail)),
                ("block_size", Value::from(bsize)),
                ("block_total", Value::from(blocks)),
                ("block_available", Value::from(bavail)),
                ("block_used", Value::from(blocks - bavail)),
                ("inode_total", Value::from(files)),
                ("inode_available", Value::from(favail)),
                ("inode_used", Value::from(files - favail)),
            ]);
        }
        let uuid = uuids.get(device.as_str()).copied().unwrap_or("N/A");
        info.push(("uuid", Value::from(uuid)));
        mounts.insert(mount.clone(), value::map(info));
    }
    Value::from(mounts.into_values().collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_as_the_linux_collector_reports_them() {
        let m = sysutil::MARK;
        let out = format!(
            "\n{m} mounts\n/dev/sda1 / ext4 rw,relatime 0 1\nproc /proc proc rw 0 0\n\
             /dev/sdb1 /mnt/my\\040disk xfs ro 0 2\nnfs:/x /n nfs rw 0 0\n\
             \n{m} mountstat\nS /\n4096 4096 100 40 1000 900\nS /mnt/my\\040disk\n\
             \n{m} lsblk\n/dev/sda1 1234-abcd\n/dev/sdb1\n\
             \n{m} findmnt\n/n nfs:/x[/sub] nfs rw\n"
        );
        let v = fact(&sysutil::sections(&out));
        assert_eq!(v.len(), Some(3));
        let root = v.get_item(&Value::from(0)).unwrap();
        assert_eq!(root.get_attr("size_total").unwrap(), Value::from(409600));
        assert_eq!(root.get_attr("block_used").unwrap(), Value::from(60));
        assert_eq!(root.get_attr("uuid").unwrap().as_str(), Some("1234-abcd"));
        assert_eq!(root.get_attr("passno").unwrap(), Value::from(1));
        let disk = v.get_item(&Value::from(1)).unwrap();
        assert_eq!(
            disk.get_attr("mount").unwrap().as_str(),
            Some("/mnt/my disk")
        );
        assert!(disk.get_attr("size_total").unwrap().is_undefined());
        assert_eq!(disk.get_attr("uuid").unwrap().as_str(), Some("N/A"));
        let nfs = v.get_item(&Value::from(2)).unwrap();
        assert_eq!(nfs.get_attr("options").unwrap().as_str(), Some("rw,bind"));
    }

    #[test]
    fn the_probe_reads_this_host() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(probe())
            .output()
            .unwrap();
        let v = fact(&sysutil::sections(&String::from_utf8_lossy(&out.stdout)));
        // Whatever this host mounts: every entry has its mount point and, when stat could
        // read it, consistent sizes.
        for m in v.try_iter().unwrap() {
            assert!(
                m.get_attr("mount")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .starts_with('/')
            );
            if let Ok(t) = m.get_attr("block_total")
                && !t.is_undefined()
            {
                let used = m.get_attr("block_used").unwrap().as_i64().unwrap();
                assert!(used <= t.as_i64().unwrap());
            }
        }
    }
}
