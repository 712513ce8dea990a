//! `--shard K/N`: which hosts a sharded run keeps, and which plays it refuses.
//!
//! A host belongs to shard `K` of `N` when `fnv1a64(name) % N == K - 1`, where `name` is the
//! host's inventory name (`inventory_hostname`) as UTF-8 bytes and `fnv1a64` is the 64-bit
//! FNV-1a hash (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`). The hash depends on
//! the name alone: not on the inventory's order, the other hosts, the process (Rust's
//! randomized hasher is not used) or the machine, so a host stays in its shard across runs and
//! runners, and the N shards of one inventory are disjoint and cover every host.
//!
//! A play with `serial` or `max_fail_percentage` cuts its hosts into batches or stops on a
//! share of failures: both need one view of the whole fleet, so a sharded run refuses it
//! ([`refuse_fleet_wide`]) before anything connects.

use crate::diagnostics::{Error, ErrorKind};
use crate::playbook::Playbook;

/// One shard of N: `index` counts from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// The 64-bit FNV-1a hash of some bytes.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Shard {
    /// Reads `K/N` (1 <= K <= N).
    pub fn parse(text: &str) -> Result<Shard, Error> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::Usage,
                format!("--shard {text:?}: {why}; write K/N with 1 <= K <= N, e.g. --shard 2/4"),
            )
        };
        let (k, n) = text.split_once('/').ok_or_else(|| bad("no '/'"))?;
        let index: u64 = k.trim().parse().map_err(|_| bad("K is not a number"))?;
        let count: u64 = n.trim().parse().map_err(|_| bad("N is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(bad("K is out of range"));
        }
        Ok(Shard { index, count })
    }

    /// Whether the host of this inventory name is in the shard.
    pub fn contains(&self, host: &str) -> bool {
        fnv1a64(host.as_bytes()) % self.count == self.index - 1
    }
}

/// The first play of the playbooks that a sharded run cannot run: `serial` or
/// `max_fail_percentage` set, as an error at that keyword.
pub fn refuse_fleet_wide(books: &[Playbook]) -> Result<(), Error> {
    for play in books.iter().flat_map(|b| b.plays.iter()) {
        for (keyword, set) in [
            ("serial", play.serial.is_some()),
            ("max_fail_percentage", play.max_fail_percentage.is_some()),
        ] {
            if !set {
                continue;
            }
            let span = play.spans.get(keyword).unwrap_or(&play.span);
            return Err(Error::syntax(
                span,
                format!(
                    "`{keyword}` cannot be used with --shard: its batches and failure share \
                     need one view of the whole fleet, and each shard sees only its own hosts"
                ),
            )
            .with_help(
                "run this playbook without --shard, or move the play that sets it into a \
                 playbook of its own",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_vectors() {
        // From the FNV reference test suite (draft-eastlake-fnv).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn shards_are_disjoint_cover_every_host_and_are_balanced() {
        let hosts: Vec<String> = (0..1000)
            .map(|i| format!("web{i:04}.example.com"))
            .collect();
        let shards: Vec<Shard> = (1..=4)
            .map(|k| Shard::parse(&format!("{k}/4")).unwrap())
            .collect();
        let mut sizes = [0usize; 4];
        for h in &hosts {
            let owners: Vec<usize> = (0..4).filter(|&i| shards[i].contains(h)).collect();
            assert_eq!(owners.len(), 1, "{h} is in shards {owners:?}");
            sizes[owners[0]] += 1;
        }
        for s in sizes {
            assert!((200..=300).contains(&s), "unbalanced: {sizes:?}");
        }
    }

    #[test]
    fn bad_shards_are_usage_errors() {
        for bad in ["", "1", "0/4", "5/4", "a/4", "1/0", "1/b"] {
            let e = Shard::parse(bad).unwrap_err();
            assert!(matches!(e.kind, ErrorKind::Usage), "{bad}: {e}");
            assert!(e.message.contains("K/N"), "{bad}: {e}");
        }
        assert_eq!(
            Shard::parse(" 2 / 3 ").unwrap(),
            Shard { index: 2, count: 3 }
        );
    }
}
