//! The controller's open-files limit. Every host of a run keeps one SSH connection (one socket)
//! open until the run ends, so 1,000 hosts need more than the usual soft limit of 1,024: at
//! start-up the soft limit is raised to the hard limit, and a run that needs more descriptors
//! than even the hard limit allows stops before anything connects, saying how many it needs.

use crate::diagnostics::{Error, ErrorKind};

/// Descriptors a run uses besides its hosts' connections: stdio, the runtime, files read,
/// local processes' pipes.
pub const SPARE_DESCRIPTORS: u64 = 64;

/// The soft and hard open-files limits, as they are.
fn nofile() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given and nothing else.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (rc == 0).then_some((lim.rlim_cur, lim.rlim_max))
}

/// Raises the soft open-files limit to the hard limit; returns the soft limit now in force
/// (`None` when it cannot be read).
pub fn raise_open_files() -> Option<u64> {
    let (soft, hard) = nofile()?;
    if soft >= hard {
        return Some(soft);
    }
    let lim = libc::rlimit {
        rlim_cur: hard,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct it is given; raising the soft limit up to the hard
    // one needs no privilege.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    Some(if rc == 0 { hard } else { soft })
}

/// Fails when `hosts` connections (plus [`SPARE_DESCRIPTORS`]) do not fit in the open-files
/// limit, after raising it.
pub fn ensure_open_files(hosts: usize) -> Result<(), Error> {
    let Some(limit) = raise_open_files() else {
        return Ok(());
    };
    check(hosts as u64 + SPARE_DESCRIPTORS, limit)
}

fn check(needed: u64, limit: u64) -> Result<(), Error> {
    if needed <= limit {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Options,
        format!(
            "this run needs about {needed} open files (one connection per host, plus \
             {SPARE_DESCRIPTORS}) but the open-files limit is {limit}, and baton cannot \
             raise it further (it is the hard limit)"
        ),
    )
    .with_help(format!(
        "raise the hard limit (`ulimit -Hn {needed}` as root, `LimitNOFILE=` in a systemd \
         unit, nofile in /etc/security/limits.conf), or run fewer hosts at once (--limit, \
         --shard K/N)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let (_, hard) = nofile().unwrap();
        assert_eq!(raise_open_files(), Some(hard));
        assert_eq!(nofile().unwrap().0, hard);
    }

    #[test]
    fn too_few_descriptors_say_how_many_are_needed() {
        assert!(check(100, 100).is_ok());
        let e = check(1064, 1024).unwrap_err();
        assert!(e.message.contains("needs about 1064 open files"), "{e}");
        assert!(e.message.contains("limit is 1024"), "{e}");
        assert!(e.help.unwrap().contains("ulimit -Hn 1064"));
    }
}
