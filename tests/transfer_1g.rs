//! A 1 GB file put on a fleet host through `ModuleCtx::put_file` with flat memory: the peak
//! RSS that `/usr/bin/time` reports for the process doing the transfer stays under 100 MB.
//!
//! The measured process is this test binary run again on one test (`put_streams`), so that
//! nothing else shares its memory; run on its own (as by `cargo test`), that test puts a
//! small file and checks it, so it always tests something.

mod common;

use baton::connection::{ConnectSpec, Transport, connect};
use baton::modules::ModuleCtx;
use baton::modules::transfer::{PutOptions, Source, digest_file};
use baton::value::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

const SIZE_VAR: &str = "BATON_PUT_TEST_SIZE";
const DEST_VAR: &str = "BATON_PUT_TEST_DEST";
const SRC_VAR: &str = "BATON_PUT_TEST_SRC";

fn unique(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("baton-{tag}-{}-{nanos}", std::process::id())
}

/// Writes `size` pseudo-random bytes in 1 MB chunks (never holding the whole file).
fn make_file(path: &Path, size: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for b in chunk.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
}

/// Puts the file named by the environment (or a small one of its own) on the first fleet
/// host and checks it there.
#[tokio::test]
async fn put_streams() {
    let fleet = common::Fleet::shared();
    let host = &fleet.hosts()[0];
    let (src, dest, own): (PathBuf, String, bool) = match std::env::var(SRC_VAR) {
        Ok(src) => (src.into(), std::env::var(DEST_VAR).unwrap(), false),
        Err(_) => {
            let size: u64 = std::env::var(SIZE_VAR)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(3 << 20);
            let src = std::env::temp_dir().join(unique("put-src"));
            make_file(&src, size);
            (src, format!("/tmp/{}", unique("put-dest")), true)
        }
    };
    let mut spec = ConnectSpec::new("put-test");
    spec.transport = Transport::Ssh;
    spec.address = "127.0.0.1".into();
    spec.port = host.port;
    spec.user = "root".into();
    spec.private_key_file = Some(fleet.key_path());
    spec.host_key_checking = false;
    let conn = connect(&spec).await.unwrap();
    let ctx = ModuleCtx {
        host: "put-test".into(),
        conn: Some(conn),
        vars: Value::from(()),
        check_mode: false,
        diff: false,
        become_: None,
        environment: Vec::new(),
        timeout: None,
    };
    let out = ctx
        .put_file(Source::File(src.clone()), &dest, &PutOptions::default())
        .await
        .unwrap();
    assert!(out.changed);
    let local = digest_file(&src).await.unwrap();
    assert_eq!((out.size, &out.checksum), (local.size, &local.sha1));
    let remote = fleet.exec(
        &host.name,
        &format!("stat -c %s {dest}; sha1sum < {dest} | cut -c1-40; rm -f {dest}"),
    );
    assert_eq!(
        common::stdout_ok(&remote, "checking the put file"),
        format!("{}\n{}\n", local.size, local.sha1)
    );
    if own {
        std::fs::remove_file(&src).unwrap();
    }
}

#[test]
fn a_1_gb_file_is_put_in_under_100_mb_of_memory() {
    // The fleet first, so the child does not bring one up (its memory would not count, but
    // its time would).
    common::Fleet::shared();
    let src = std::env::temp_dir().join(unique("1g"));
    make_file(&src, 1 << 30);
    let dest = format!("/tmp/{}", unique("1g"));
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(&exe)
        .args(["put_streams", "--exact", "--nocapture", "--test-threads=1"])
        .env(SRC_VAR, &src)
        .env(DEST_VAR, &dest)
        .output()
        .expect("/usr/bin/time runs (apt-get install time)");
    std::fs::remove_file(&src).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}", common::describe(&out));
    let kb: u64 = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in /usr/bin/time's output:\n{stderr}"));
    eprintln!("peak RSS putting 1 GB: {} MB", kb / 1024);
    assert!(kb < 100 * 1024, "peak RSS {} MB >= 100 MB", kb / 1024);
}
