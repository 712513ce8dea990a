//! File transfer (`ModuleCtx::put_file`, `read_file`) against real hosts of the fleet, over the
//! ssh transport. Every outcome is checked on the host through `docker exec`, never through
//! the transport under test.

mod common;

use baton::connection::{ConnectSpec, Connection, Transport, connect};
use baton::modules::transfer::{PutOptions, Source};
use baton::modules::{Become, ModuleCtx, ModuleError};
use baton::value::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

fn host(index: usize) -> (String, u16) {
    let hosts = common::Fleet::shared().hosts();
    let host = &hosts[index % hosts.len()];
    (host.name.clone(), host.port)
}

fn on_host(name: &str, cmd: &str) -> String {
    let out = common::Fleet::shared().exec(name, cmd);
    common::stdout_ok(&out, &format!("docker exec {name} {cmd:?}"))
}

async fn conn(port: u16, user: &str) -> Arc<dyn Connection> {
    let mut spec = ConnectSpec::new("transfer-test");
    spec.transport = Transport::Ssh;
    spec.address = "127.0.0.1".into();
    spec.port = port;
    spec.user = user.into();
    spec.private_key_file = Some(common::Fleet::shared().key_path());
    spec.host_key_checking = false;
    connect(&spec)
        .await
        .unwrap_or_else(|e| panic!("connect to {port}: {e}"))
}

fn ctx(conn: Arc<dyn Connection>) -> ModuleCtx {
    ModuleCtx {
        host: "transfer-test".into(),
        conn: Some(conn),
        vars: Value::from(()),
        check_mode: false,
        diff: false,
        become_: None,
        environment: Vec::new(),
        timeout: None,
    }
}

fn unique(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("baton-put-{tag}-{}-{nanos}", std::process::id())
}

fn sha1sum(name: &str, path: &str) -> String {
    on_host(name, &format!("sha1sum < {path} | cut -c1-40"))
        .trim()
        .to_string()
}

#[tokio::test]
async fn small_content_is_written_once_then_left_alone() {
    let (name, port) = host(0);
    let ctx = ctx(conn(port, "root").await);
    let dir = format!("/tmp/{}", unique("small"));
    on_host(&name, &format!("mkdir -p {dir}"));
    let dest = format!("{dir}/app.conf");
    let opts = PutOptions {
        mode: Some("0640".into()),
        ..Default::default()
    };

    let first = ctx
        .put_file(Source::Bytes(b"listen 8080\n".to_vec()), &dest, &opts)
        .await
        .unwrap();
    assert!(first.changed && first.content_changed, "{first:?}");
    // sha1 of "listen 8080\n", as sha1sum and Ansible's `checksum` report it.
    assert_eq!(first.checksum, sha1sum(&name, &dest));
    assert_eq!(first.size, 12);
    assert_eq!(first.mode.as_deref(), Some("0640"));
    assert_eq!(first.owner.as_deref(), Some("root"));
    assert_eq!(
        on_host(&name, &format!("stat -c '%a %U' {dest}; cat {dest}")),
        "640 root\nlisten 8080\n"
    );
    // No temporary file left behind.
    assert_eq!(on_host(&name, &format!("ls -A {dir}")), "app.conf\n");

    // Same content and mode: nothing to do, and the file is not rewritten (same inode).
    let inode = on_host(&name, &format!("stat -c %i {dest}"));
    let again = ctx
        .put_file(Source::Bytes(b"listen 8080\n".to_vec()), &dest, &opts)
        .await
        .unwrap();
    assert!(!again.changed, "{again:?}");
    assert_eq!(on_host(&name, &format!("stat -c %i {dest}")), inode);

    // Only the mode differs: changed, content untouched (same inode), mode applied.
    let mode_only = ctx
        .put_file(
            Source::Bytes(b"listen 8080\n".to_vec()),
            &dest,
            &PutOptions {
                mode: Some("u=rw,go=r".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(mode_only.changed && !mode_only.content_changed);
    assert_eq!(on_host(&name, &format!("stat -c %a {dest}")), "644\n");
    assert_eq!(on_host(&name, &format!("stat -c %i {dest}")), inode);

    // New content replaces the file by rename (new inode) and keeps its mode and owner.
    on_host(&name, &format!("chown deploy:deploy {dest}"));
    let replaced = ctx
        .put_file(
            Source::Bytes(b"listen 9090\n".to_vec()),
            &dest,
            &PutOptions::default(),
        )
        .await
        .unwrap();
    assert!(replaced.content_changed);
    assert_ne!(on_host(&name, &format!("stat -c %i {dest}")), inode);
    assert_eq!(
        on_host(&name, &format!("stat -c '%a %U %G' {dest}; cat {dest}")),
        "644 deploy deploy\nlisten 9090\n"
    );
    on_host(&name, &format!("rm -rf {dir}"));
}

#[tokio::test]
async fn check_mode_reports_without_touching_the_host() {
    let (name, port) = host(1);
    let ctx = ctx(conn(port, "root").await);
    let dest = format!("/tmp/{}", unique("check"));
    let check = PutOptions {
        check_mode: true,
        ..Default::default()
    };
    let would = ctx
        .put_file(Source::Bytes(b"x\n".to_vec()), &dest, &check)
        .await
        .unwrap();
    assert!(would.changed, "{would:?}");
    assert_eq!(
        on_host(
            &name,
            &format!("test -e {dest} && echo exists || echo absent")
        ),
        "absent\n"
    );
    on_host(&name, &format!("printf 'x\\n' > {dest}; chmod 600 {dest}"));
    let same = ctx
        .put_file(Source::Bytes(b"x\n".to_vec()), &dest, &check)
        .await
        .unwrap();
    assert!(!same.changed, "{same:?}");
    let mode = ctx
        .put_file(
            Source::Bytes(b"x\n".to_vec()),
            &dest,
            &PutOptions {
                mode: Some("0644".into()),
                ..check.clone()
            },
        )
        .await
        .unwrap();
    assert!(mode.changed && !mode.content_changed, "{mode:?}");
    assert_eq!(on_host(&name, &format!("stat -c %a {dest}")), "600\n");
    on_host(&name, &format!("rm -f {dest}"));
}

#[tokio::test]
async fn a_large_controller_file_is_streamed_and_verified() {
    let (name, port) = host(2);
    let ctx = ctx(conn(port, "root").await);
    // 24 MB: far above the inline limit, so it takes the compare-then-stream path.
    let local = std::env::temp_dir().join(unique("large"));
    {
        let mut data = Vec::with_capacity(24 << 20);
        let mut state: u32 = 7;
        while data.len() < 24 << 20 {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            data.extend_from_slice(&state.to_le_bytes());
        }
        std::fs::write(&local, &data).unwrap();
    }
    let dest = format!("/tmp/{}", unique("large"));
    let out = ctx
        .put_file(Source::File(local.clone()), &dest, &PutOptions::default())
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(out.size, 24 << 20);
    assert_eq!(sha1sum(&name, &dest), out.checksum);
    let again = ctx
        .put_file(Source::File(local.clone()), &dest, &PutOptions::default())
        .await
        .unwrap();
    assert!(!again.changed);

    // read_file gives back the head of it and the true size.
    let head = ctx.read_file(&dest, 100).await.unwrap().unwrap();
    assert_eq!(head.size, 24 << 20);
    assert!(head.truncated);
    assert_eq!(head.content, std::fs::read(&local).unwrap()[..100]);
    assert!(
        ctx.read_file("/nonexistent/x", 100)
            .await
            .unwrap()
            .is_none()
    );
    std::fs::remove_file(&local).unwrap();
    on_host(&name, &format!("rm -f {dest}"));
}

#[tokio::test]
async fn put_as_another_user_through_become_belongs_to_that_user() {
    let (name, port) = host(0);
    let mut ctx = ctx(conn(port, "root").await);
    ctx.become_ = Some(Become {
        method: "sudo".into(),
        user: "deploy".into(),
        flags: None,
    });
    let dest = format!("/home/deploy/{}", unique("become"));
    let out = ctx
        .put_file(
            Source::Bytes(b"owned\n".to_vec()),
            &dest,
            &PutOptions::default(),
        )
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(out.owner.as_deref(), Some("deploy"));
    assert_eq!(
        on_host(&name, &format!("stat -c '%U %G %a' {dest}")),
        "deploy deploy 644\n"
    );
    // deploy may not write to /root: the failure says so, nothing is created.
    let err = ctx
        .put_file(
            Source::Bytes(b"no\n".to_vec()),
            "/root/baton-denied",
            &PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ModuleError::Failed(m) if m.contains("/root")),
        "{err:?}"
    );
    assert_eq!(
        on_host(&name, "ls -A /root | grep -c baton_tmp || true"),
        "0\n"
    );
    on_host(&name, &format!("rm -f {dest}"));
}

#[tokio::test]
async fn validate_backup_owner_and_missing_directory() {
    let (name, port) = host(1);
    let ctx = ctx(conn(port, "root").await);
    let dest = format!("/tmp/{}", unique("validate"));
    on_host(&name, &format!("printf 'old\\n' > {dest}"));

    // A validator that refuses: the destination keeps its old content.
    let refused = ctx
        .put_file(
            Source::Bytes(b"bad\n".to_vec()),
            &dest,
            &PutOptions {
                validate: Some("grep -q good %s".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ModuleError::Failed(m) if m.contains("failed to validate")),
        "{refused:?}"
    );
    assert_eq!(on_host(&name, &format!("cat {dest}")), "old\n");

    // Accepted, with a backup of the old content and an owner and group.
    let out = ctx
        .put_file(
            Source::Bytes(b"good\n".to_vec()),
            &dest,
            &PutOptions {
                validate: Some("grep -q good %s".into()),
                backup: true,
                owner: Some("deploy".into()),
                group: Some("secure".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let backup = out.backup_file.clone().expect("a backup file");
    assert!(backup.starts_with(&format!("{dest}.")) && backup.ends_with('~'));
    assert_eq!(on_host(&name, &format!("cat {backup}")), "old\n");
    assert_eq!(
        on_host(&name, &format!("stat -c '%U %G' {dest}; cat {dest}")),
        "deploy secure\ngood\n"
    );
    let vars = out.to_vars();
    assert_eq!(vars["owner"].as_str(), Some("deploy"));
    assert_eq!(vars["checksum"].as_str(), Some(out.checksum.as_str()));

    let missing = ctx
        .put_file(
            Source::Bytes(b"x".to_vec()),
            "/nonexistent-dir/x",
            &PutOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, ModuleError::Failed(m) if m.contains("Destination directory /nonexistent-dir does not exist")),
        "{missing:?}"
    );
    let no_user = ctx
        .put_file(
            Source::Bytes(b"x".to_vec()),
            &dest,
            &PutOptions {
                owner: Some("nobody-here".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&no_user, ModuleError::Failed(m) if m.contains("nobody-here")),
        "{no_user:?}"
    );
    on_host(&name, &format!("rm -f {dest} {backup}"));
}

#[tokio::test]
async fn local_connection_puts_files_too() {
    let ctx = ctx(Arc::new(baton::connection::local::LocalConnection::new()));
    let dir = std::env::temp_dir().join(unique("local"));
    std::fs::create_dir_all(&dir).unwrap();
    let dest = dir.join("f");
    let dest_s = dest.to_str().unwrap();
    let src: PathBuf = dir.join("src");
    std::fs::write(&src, vec![b'z'; 600 * 1024]).unwrap();
    let out = ctx
        .put_file(Source::File(src.clone()), dest_s, &PutOptions::default())
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(&src).unwrap());
    let again = ctx
        .put_file(Source::File(src), dest_s, &PutOptions::default())
        .await
        .unwrap();
    assert!(!again.changed);
    std::fs::remove_dir_all(&dir).unwrap();
}
