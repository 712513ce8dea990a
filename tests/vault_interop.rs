//! Ansible Vault compatibility, with ansible-core's own `ansible-vault` and `ansible-playbook` as
//! the oracle: what one encrypts the other decrypts (files and `!vault` strings, formats 1.1
//! and 1.2, several vault ids, unicode and empty plaintexts), wrong passwords and modified data
//! are refused with one line and nothing written, the password sources work, and secrets stay
//! out of baton's output. Plays here run on the controller (`connection: local`); the real-host
//! deployment is in `vault_fleet.rs`.
//!
//! The tools come from PATH (`tests/run.sh` puts ansible-core's virtualenv there); a missing
//! tool fails the test, it is never skipped.

mod common;

use common::{baton_bin, describe};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A tool from ansible-core, found on PATH.
fn ansible_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not on PATH: these tests compare baton with ansible-core; run them \
                 with `bash tests/run.sh`, which installs ansible-core into .venv-test and puts \
                 it on PATH"
            )
        })
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-vault-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a command in `dir` with `stdin`, without a controlling terminal (`setsid`), so that
/// prompts read standard input as they do in CI.
fn run(cmd: &Path, args: &[&str], dir: &Path, stdin: &[u8], env: &[(&str, &str)]) -> Output {
    use std::io::Write;
    let mut c = Command::new("setsid");
    c.arg("-w")
        .arg(cmd)
        .args(args)
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("NO_COLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "False")
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .env_remove("ANSIBLE_VAULT_IDENTITY_LIST")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cmd.display()));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn baton(args: &[&str], dir: &Path) -> Output {
    run(&baton_bin(), args, dir, b"", &[])
}

fn ok(out: Output, what: &str) -> Output {
    assert!(out.status.success(), "{what}: {}", describe(&out));
    out
}

fn header(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Two passwords: `pw-dev` (vault id dev) and `pw-prod` (vault id prod).
fn password_files(dir: &Path) {
    std::fs::write(dir.join("pw-dev"), "correct horse\n").unwrap();
    std::fs::write(dir.join("pw-prod"), "pässwörd ✓\n").unwrap();
    std::fs::write(dir.join("pw-wrong"), "not it\n").unwrap();
}

const PLAINTEXTS: &[(&str, &str)] = &[
    ("ascii.txt", "db_password: hunter2\nsecond: line\n"),
    (
        "unicode.yml",
        "grüße: \"héllo wörld ✓ 秘密 🔐\"\ntabs:\t\"x\"\n",
    ),
    ("empty.txt", ""),
    ("no-newline.bin", "no trailing newline"),
];

#[test]
fn files_round_trip_with_ansible_vault_in_both_formats() {
    let av = ansible_tool("ansible-vault");
    let dir = scratch("files");
    password_files(&dir);
    // (password flags, the header ansible-vault and baton must both write)
    let formats: &[(&[&str], &str)] = &[
        (
            &["--vault-password-file", "pw-dev"],
            "$ANSIBLE_VAULT;1.1;AES256",
        ),
        (
            &["--vault-id", "prod@pw-prod"],
            "$ANSIBLE_VAULT;1.2;AES256;prod",
        ),
    ];
    for (flags, want_header) in formats {
        let names: Vec<&str> = PLAINTEXTS.iter().map(|(n, _)| *n).collect();
        // ansible-vault encrypts in place, baton decrypts in place.
        for (name, text) in PLAINTEXTS {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let mut args = vec!["encrypt"];
        args.extend(*flags);
        args.extend(&names);
        ok(run(&av, &args, &dir, b"", &[]), "ansible-vault encrypt");
        for name in &names {
            assert_eq!(&header(&dir.join(name)), want_header, "{name}");
        }
        let mut args = vec!["vault", "decrypt"];
        args.extend(*flags);
        args.extend(&names);
        ok(baton(&args, &dir), "baton vault decrypt");
        for (name, text) in PLAINTEXTS {
            assert_eq!(
                std::fs::read(dir.join(name)).unwrap(),
                text.as_bytes(),
                "{name} after ansible-vault encrypt and baton decrypt ({want_header})"
            );
        }
        // And the reverse.
        let mut args = vec!["vault", "encrypt"];
        args.extend(*flags);
        args.extend(&names);
        ok(baton(&args, &dir), "baton vault encrypt");
        for name in &names {
            let path = dir.join(name);
            assert_eq!(&header(&path), want_header, "{name}");
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode, 0o600,
                "ansible-vault writes vaults 0600; so does baton"
            );
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.ends_with('\n') && text.lines().skip(1).all(|l| l.len() <= 80));
        }
        let mut args = vec!["decrypt"];
        args.extend(*flags);
        args.extend(&names);
        ok(run(&av, &args, &dir, b"", &[]), "ansible-vault decrypt");
        for (name, text) in PLAINTEXTS {
            assert_eq!(
                std::fs::read(dir.join(name)).unwrap(),
                text.as_bytes(),
                "{name} after baton encrypt and ansible-vault decrypt ({want_header})"
            );
        }
    }
    // Standard input to standard output, and view.
    let out = ok(
        run(
            &baton_bin(),
            &["vault", "encrypt", "--vault-id", "dev@pw-dev"],
            &dir,
            "über\n".as_bytes(),
            &[],
        ),
        "baton vault encrypt from stdin",
    );
    std::fs::write(dir.join("piped.vault"), &out.stdout).unwrap();
    let out = ok(
        run(
            &av,
            &["view", "--vault-id", "dev@pw-dev", "piped.vault"],
            &dir,
            b"",
            &[("PAGER", "cat")],
        ),
        "ansible-vault view",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "über\n");
    let out = ok(
        baton(
            &["vault", "view", "--vault-id", "dev@pw-dev", "piped.vault"],
            &dir,
        ),
        "baton vault view",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "über\n");
}

/// An inventory of the controller only, for plays that check values with `assert` (an action
/// that runs on the controller, so neither tool needs anything on a host).
fn local_inventory(dir: &Path) {
    std::fs::write(
        dir.join("inventory.ini"),
        "localhost ansible_connection=local\n",
    )
    .unwrap();
}

#[test]
fn vault_strings_from_either_tool_decrypt_in_both_tools_playbooks() {
    let av = ansible_tool("ansible-vault");
    let ap = ansible_tool("ansible-playbook");
    let dir = scratch("strings");
    password_files(&dir);
    local_inventory(&dir);
    std::fs::write(dir.join("pw-default"), "plain default\n").unwrap();
    let keys = [
        "--vault-id",
        "dev@pw-dev",
        "--vault-id",
        "prod@pw-prod",
        "--vault-password-file",
        "pw-default",
    ];
    // (variable, value, encrypt with)
    let values: &[(&str, &str, &str)] = &[
        ("from_dev", "hunter2 ü", "dev"),
        ("from_prod", "квартира ✓ \"quoted\" 'single'", "prod"),
        ("from_default", "  spaces around  ", "default"),
        ("multi_line", "line one\nline two\n", "prod"),
    ];
    let mut vars = String::new();
    for (tool, prefix) in [("baton", "b_"), ("ansible", "a_")] {
        for (name, value, id) in values {
            let name = format!("{prefix}{name}");
            let mut args: Vec<&str> = Vec::new();
            if tool == "baton" {
                args.extend(["vault", "encrypt_string"]);
            } else {
                args.push("encrypt_string");
            }
            args.extend(keys);
            args.extend(["--encrypt-vault-id", id, "--name", &name, "--", value]);
            let cmd = if tool == "baton" {
                baton_bin()
            } else {
                av.clone()
            };
            let out = ok(run(&cmd, &args, &dir, b"", &[]), "encrypt_string");
            let text = String::from_utf8(out.stdout).unwrap();
            let want = if *id == "default" {
                "$ANSIBLE_VAULT;1.1;AES256".to_string()
            } else {
                format!("$ANSIBLE_VAULT;1.2;AES256;{id}")
            };
            assert!(text.starts_with(&format!("{name}: !vault |\n          {want}\n")));
            vars.push_str(&text);
        }
    }
    // A string read from standard input, with --stdin-name.
    let out = ok(
        run(
            &baton_bin(),
            &[
                "vault",
                "encrypt_string",
                "--vault-id",
                "dev@pw-dev",
                "--stdin-name",
                "b_stdin",
            ],
            &dir,
            "from stdin ✓".as_bytes(),
            &[],
        ),
        "encrypt_string from stdin",
    );
    vars.push_str(&String::from_utf8(out.stdout).unwrap());
    std::fs::write(dir.join("vars.yml"), &vars).unwrap();
    let mut checks = String::new();
    for prefix in ["b_", "a_"] {
        for (name, value, _) in values {
            let json = serde_json::to_string(value).unwrap();
            checks.push_str(&format!("          - {prefix}{name} == {json}\n"));
        }
    }
    checks.push_str("          - b_stdin == \"from stdin ✓\"\n");
    std::fs::write(
        dir.join("play.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  vars_files: [vars.yml]\n  tasks:\n    - assert:\n        that:\n{checks}"
        ),
    )
    .unwrap();
    let mut args = vec!["-i", "inventory.ini", "play.yml"];
    args.extend(keys);
    let out = run(&ap, &args, &dir, b"", &[]);
    assert!(out.status.success(), "ansible-playbook: {}", describe(&out));
    let mut args = vec!["play", "-i", "inventory.ini", "play.yml"];
    args.extend(keys);
    let out = baton(&args, &dir);
    assert!(out.status.success(), "baton play: {}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok=1"));
}

/// The stderr lines of a failed command.
fn error_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_wrong_password_is_one_clear_line_and_nothing_is_written() {
    let av = ansible_tool("ansible-vault");
    let dir = scratch("wrong");
    password_files(&dir);
    local_inventory(&dir);
    std::fs::write(dir.join("one.yml"), "a: the first secret\n").unwrap();
    std::fs::write(dir.join("two.yml"), "b: the second secret\n").unwrap();
    ok(
        run(
            &av,
            &["encrypt", "--vault-id", "prod@pw-prod", "one.yml"],
            &dir,
            b"",
            &[],
        ),
        "encrypt one",
    );
    ok(
        run(
            &av,
            &["encrypt", "--vault-id", "dev@pw-dev", "two.yml"],
            &dir,
            b"",
            &[],
        ),
        "encrypt two",
    );
    let before = (
        std::fs::read(dir.join("one.yml")).unwrap(),
        std::fs::read(dir.join("two.yml")).unwrap(),
    );
    // The first file opens, the second does not: neither is written.
    for action in ["decrypt", "view"] {
        let out = baton(
            &[
                "vault",
                action,
                "--vault-id",
                "prod@pw-prod",
                "--vault-id",
                "dev@pw-wrong",
                "one.yml",
                "two.yml",
            ],
            &dir,
        );
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(out.stdout.is_empty(), "partial output: {}", describe(&out));
        let lines = error_lines(&out);
        assert_eq!(lines.len(), 1, "one line: {}", describe(&out));
        assert!(lines[0].contains("two.yml"), "{}", lines[0]);
        assert!(lines[0].contains("'dev'"), "{}", lines[0]);
        assert!(!lines[0].contains("the second secret"), "{}", lines[0]);
    }
    assert_eq!(std::fs::read(dir.join("one.yml")).unwrap(), before.0);
    assert_eq!(std::fs::read(dir.join("two.yml")).unwrap(), before.1);

    // A play whose group_vars cannot be opened stops before any task.
    std::fs::create_dir_all(dir.join("group_vars")).unwrap();
    std::fs::copy(dir.join("one.yml"), dir.join("group_vars/all.yml")).unwrap();
    std::fs::write(
        dir.join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: touch marker\n",
    )
    .unwrap();
    for keys in [
        &["--vault-id", "prod@pw-wrong"][..],
        &["--vault-password-file", "pw-dev"][..],
        &[][..],
    ] {
        let mut args = vec!["play", "-i", "inventory.ini", "play.yml"];
        args.extend(keys);
        let out = baton(&args, &dir);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let lines = error_lines(&out);
        assert_eq!(lines.len(), 1, "{keys:?}: {}", describe(&out));
        assert!(lines[0].contains("group_vars/all.yml"), "{}", lines[0]);
        assert!(lines[0].contains("'prod'"), "{}", lines[0]);
        assert!(!String::from_utf8_lossy(&out.stdout).contains("TASK"));
        assert!(!dir.join("marker").exists());
    }
}

/// Flips one hex digit to another (the text stays well-formed hex; the data changes).
fn flip(data: &mut [u8], i: usize) {
    data[i] = if data[i] == b'a' { b'b' } else { b'a' };
}

#[test]
fn a_flipped_byte_is_refused_before_anything_is_written() {
    let av = ansible_tool("ansible-vault");
    let dir = scratch("tamper");
    password_files(&dir);
    local_inventory(&dir);
    std::fs::write(dir.join("secret.yml"), "token: abcdef-123456\n").unwrap();
    ok(
        run(
            &av,
            &["encrypt", "--vault-password-file", "pw-dev", "secret.yml"],
            &dir,
            b"",
            &[],
        ),
        "encrypt",
    );
    let good = std::fs::read(dir.join("secret.yml")).unwrap();
    let header_len = good.iter().position(|b| *b == b'\n').unwrap() + 1;
    // Positions in the salt, the HMAC and the ciphertext (the body is hex of
    // "salt\nhmac\nciphertext", so these offsets fall in each part).
    let body: Vec<usize> = (header_len..good.len())
        .filter(|i| good[*i] != b'\n')
        .collect();
    for &i in &[body[3], body[130], body[body.len() - 3]] {
        let mut bad = good.clone();
        flip(&mut bad, i);
        std::fs::write(dir.join("secret.yml"), &bad).unwrap();
        let out = baton(
            &[
                "vault",
                "decrypt",
                "--vault-password-file",
                "pw-dev",
                "secret.yml",
            ],
            &dir,
        );
        assert_eq!(out.status.code(), Some(1), "byte {i}: {}", describe(&out));
        assert_eq!(error_lines(&out).len(), 1, "{}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("secret.yml"),
            "{}",
            describe(&out)
        );
        assert_eq!(
            std::fs::read(dir.join("secret.yml")).unwrap(),
            bad,
            "refused but the file changed"
        );
        // ansible-vault refuses it too: the two agree on what is intact.
        let out = run(
            &av,
            &["view", "--vault-password-file", "pw-dev", "secret.yml"],
            &dir,
            b"",
            &[],
        );
        assert!(
            !out.status.success(),
            "ansible-vault accepted byte {i} flipped"
        );
    }

    // In a play: a modified vars file stops the play before any task; a modified inline value
    // fails the task that uses it before its module runs.
    let mut bad = good.clone();
    flip(&mut bad, body[body.len() / 2]);
    std::fs::create_dir_all(dir.join("group_vars")).unwrap();
    std::fs::write(dir.join("group_vars/all.yml"), &bad).unwrap();
    std::fs::write(
        dir.join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: touch marker\n",
    )
    .unwrap();
    let out = baton(
        &[
            "play",
            "-i",
            "inventory.ini",
            "play.yml",
            "--vault-password-file",
            "pw-dev",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(!dir.join("marker").exists());
    std::fs::remove_file(dir.join("group_vars/all.yml")).unwrap();

    let out = ok(
        baton(
            &[
                "vault",
                "encrypt_string",
                "--vault-password-file",
                "pw-dev",
                "--name",
                "target",
                "written",
            ],
            &dir,
        ),
        "encrypt_string",
    );
    let mut inline = out.stdout.clone();
    // A digit in the middle of the second line of the vault text.
    let header_end = inline.iter().position(|b| *b == b'\n').unwrap() + 1;
    let second = header_end
        + inline[header_end..]
            .iter()
            .position(|b| *b == b'\n')
            .unwrap()
        + 1;
    flip(&mut inline, second + 10 + 40);
    std::fs::write(dir.join("vars.yml"), &inline).unwrap();
    std::fs::write(
        dir.join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  vars_files: [vars.yml]\n  tasks:\n    - command: touch {{ target }}\n",
    )
    .unwrap();
    let out = baton(
        &[
            "play",
            "-i",
            "inventory.ini",
            "play.yml",
            "--vault-password-file",
            "pw-dev",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Decryption failed"), "{stdout}");
    assert!(stdout.contains("vars.yml:1:"), "{stdout}");
    assert!(!dir.join("written").exists());
}

/// An `$EDITOR` that logs the file it was given and appends a line to it.
fn fake_editor(dir: &Path, line: &str) -> PathBuf {
    let path = dir.join("editor.sh");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho \"$1\" >> {log}\nls -ld \"$(dirname \"$1\")\" >> {log}\nprintf '%s\\n' '{line}' >> \"$1\"\n",
            log = dir.join("editor.log").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn create_edit_and_rekey_interoperate() {
    let av = ansible_tool("ansible-vault");
    let dir = scratch("edit");
    password_files(&dir);
    let editor = fake_editor(&dir, "added: ✓");
    let editor = editor.to_str().unwrap();

    // create: the editor's text, encrypted for the chosen id.
    let out = run(
        &baton_bin(),
        &[
            "vault",
            "create",
            "--skip-tty-check",
            "--vault-id",
            "prod@pw-prod",
            "sub/new.yml",
        ],
        &dir,
        b"",
        &[("EDITOR", editor)],
    );
    ok(out, "baton vault create");
    assert_eq!(
        header(&dir.join("sub/new.yml")),
        "$ANSIBLE_VAULT;1.2;AES256;prod"
    );
    let out = ok(
        run(
            &av,
            &["view", "--vault-id", "prod@pw-prod", "sub/new.yml"],
            &dir,
            b"",
            &[("PAGER", "cat")],
        ),
        "ansible-vault view",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "added: ✓\n");
    // Without a terminal, create refuses unless told.
    let out = run(
        &baton_bin(),
        &["vault", "create", "--vault-id", "prod@pw-prod", "other.yml"],
        &dir,
        b"",
        &[("EDITOR", editor)],
    );
    assert!(!out.status.success() && !dir.join("other.yml").exists());

    // edit a file ansible-vault made: the label stays, the editor ran on a private copy that
    // is gone afterwards.
    std::fs::write(dir.join("app.yml"), "first: 1\n").unwrap();
    ok(
        run(
            &av,
            &["encrypt", "--vault-id", "dev@pw-dev", "app.yml"],
            &dir,
            b"",
            &[],
        ),
        "encrypt",
    );
    let _ = std::fs::remove_file(dir.join("editor.log"));
    ok(
        run(
            &baton_bin(),
            &[
                "vault",
                "edit",
                "--vault-id",
                "dev@pw-dev",
                "--vault-id",
                "prod@pw-prod",
                "app.yml",
            ],
            &dir,
            b"",
            &[("EDITOR", editor)],
        ),
        "baton vault edit",
    );
    assert_eq!(
        header(&dir.join("app.yml")),
        "$ANSIBLE_VAULT;1.2;AES256;dev"
    );
    let out = ok(
        run(
            &av,
            &["view", "--vault-id", "dev@pw-dev", "app.yml"],
            &dir,
            b"",
            &[("PAGER", "cat")],
        ),
        "ansible-vault view",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first: 1\nadded: ✓\n");
    let log = std::fs::read_to_string(dir.join("editor.log")).unwrap();
    let edited = PathBuf::from(log.lines().next().unwrap());
    assert!(
        !edited.exists(),
        "the decrypted copy {edited:?} was left behind"
    );
    assert!(!edited.parent().unwrap().exists());
    assert!(
        log.lines().nth(1).unwrap().starts_with("drwx------"),
        "{log}"
    );
    if Path::new("/dev/shm").is_dir() {
        assert!(
            edited.starts_with("/dev/shm"),
            "{edited:?} is not on the tmpfs"
        );
    }

    // An editor that changes nothing leaves the file byte for byte.
    let before = std::fs::read(dir.join("app.yml")).unwrap();
    ok(
        run(
            &baton_bin(),
            &["vault", "edit", "--vault-id", "dev@pw-dev", "app.yml"],
            &dir,
            b"",
            &[("EDITOR", "true")],
        ),
        "edit without change",
    );
    assert_eq!(std::fs::read(dir.join("app.yml")).unwrap(), before);

    // rekey: a new password and id; the permissions stay.
    std::fs::set_permissions(dir.join("app.yml"), std::fs::Permissions::from_mode(0o640)).unwrap();
    ok(
        baton(
            &[
                "vault",
                "rekey",
                "--vault-id",
                "dev@pw-dev",
                "--new-vault-id",
                "prod@pw-prod",
                "app.yml",
            ],
            &dir,
        ),
        "baton vault rekey",
    );
    assert_eq!(
        header(&dir.join("app.yml")),
        "$ANSIBLE_VAULT;1.2;AES256;prod"
    );
    let mode = std::fs::metadata(dir.join("app.yml"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    let out = ok(
        run(
            &av,
            &["view", "--vault-id", "prod@pw-prod", "app.yml"],
            &dir,
            b"",
            &[("PAGER", "cat")],
        ),
        "ansible-vault view after rekey",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first: 1\nadded: ✓\n");
    // The old password no longer opens it.
    let out = baton(
        &["vault", "view", "--vault-id", "dev@pw-dev", "app.yml"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn passwords_come_from_prompts_scripts_and_the_environment() {
    let av = ansible_tool("ansible-vault");
    let dir = scratch("sources");
    password_files(&dir);
    std::fs::write(dir.join("data.yml"), "x: 1\n").unwrap();
    ok(
        run(
            &av,
            &["encrypt", "--vault-password-file", "pw-dev", "data.yml"],
            &dir,
            b"",
            &[],
        ),
        "encrypt",
    );
    let view = |args: &[&str], stdin: &[u8], env: &[(&str, &str)]| {
        let mut all = vec!["vault", "view"];
        all.extend(args);
        all.push("data.yml");
        run(&baton_bin(), &all, &dir, stdin, env)
    };
    let check = |out: Output, what: &str| {
        let out = ok(out, what);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "x: 1\n", "{what}");
    };
    check(
        view(&["--ask-vault-pass"], b"correct horse\n", &[]),
        "--ask-vault-pass",
    );
    check(view(&["-J"], b"correct horse\n", &[]), "-J");
    check(
        view(&[], b"correct horse\n", &[]),
        "ansible-vault prompts when given nothing",
    );
    check(
        view(&["--vault-id", "dev@prompt"], b"correct horse\n", &[]),
        "--vault-id dev@prompt",
    );
    let pw_dev = dir.join("pw-dev");
    check(
        view(
            &[],
            b"",
            &[("ANSIBLE_VAULT_PASSWORD_FILE", pw_dev.to_str().unwrap())],
        ),
        "ANSIBLE_VAULT_PASSWORD_FILE",
    );
    check(
        view(
            &[],
            b"",
            &[("ANSIBLE_VAULT_IDENTITY_LIST", "wrong@pw-wrong,dev@pw-dev")],
        ),
        "ANSIBLE_VAULT_IDENTITY_LIST",
    );
    // An executable prints the password; a *-client script is asked for its vault id.
    let script = dir.join("get-pass.sh");
    std::fs::write(&script, "#!/bin/sh\necho 'correct horse'\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    check(
        view(&["--vault-password-file", "get-pass.sh"], b"", &[]),
        "script",
    );
    let client = dir.join("pass-client.sh");
    std::fs::write(
        &client,
        "#!/bin/sh\n[ \"$1\" = --vault-id ] && [ \"$2\" = dev ] && echo 'correct horse' && exit 0\nexit 2\n",
    )
    .unwrap();
    std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
    check(
        view(&["--vault-id", "dev@pass-client.sh"], b"", &[]),
        "client script",
    );
    // A missing password file next to a good one is a warning; alone it is the error.
    check(
        view(
            &["--vault-id", "a@missing-file", "--vault-id", "dev@pw-dev"],
            b"",
            &[],
        ),
        "one good source of two",
    );
    let out = view(&["--vault-password-file", "missing-file"], b"", &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing-file"));
}

/// A play that prints vaulted values every way it can, with the secrets it must never show.
fn leaky_play(dir: &Path) -> Vec<String> {
    password_files(dir);
    local_inventory(dir);
    let inline = "inline-sécret-\"quoted\"-4711";
    let whole = "whole-file-secret-0815";
    let out = ok(
        baton(
            &[
                "vault",
                "encrypt_string",
                "--vault-id",
                "dev@pw-dev",
                "--name",
                "inline_secret",
                "--",
                inline,
            ],
            dir,
        ),
        "encrypt_string",
    );
    std::fs::write(dir.join("vars.yml"), &out.stdout).unwrap();
    std::fs::create_dir_all(dir.join("group_vars")).unwrap();
    std::fs::write(
        dir.join("group_vars/all.yml"),
        format!("whole_secret: {whole}\nport: 80\n"),
    )
    .unwrap();
    ok(
        baton(
            &[
                "vault",
                "encrypt",
                "--vault-id",
                "prod@pw-prod",
                "group_vars/all.yml",
            ],
            dir,
        ),
        "encrypt group_vars",
    );
    std::fs::write(
        dir.join("extra.yml"),
        "included_secret: include-vars-secret-77\n",
    )
    .unwrap();
    ok(
        baton(
            &["vault", "encrypt", "--vault-id", "dev@pw-dev", "extra.yml"],
            dir,
        ),
        "encrypt extra.yml",
    );
    std::fs::write(dir.join("secret.txt"), "file-lookup-secret-99\n").unwrap();
    ok(
        baton(
            &[
                "vault",
                "encrypt",
                "--vault-id",
                "prod@pw-prod",
                "secret.txt",
            ],
            dir,
        ),
        "encrypt secret.txt",
    );
    std::fs::write(
        dir.join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  vars_files: [vars.yml]
  tasks:
    - include_vars: extra.yml
    - debug: msg="{{ inline_secret }} and {{ whole_secret }} and {{ included_secret }}"
    - debug: var=inline_secret
    - command: echo "{{ whole_secret }}"
      register: echoed
    - debug: var=echoed
    - debug: msg="{{ lookup('unvault', 'secret.txt') }} {{ lookup('file', 'secret.txt') }}"
    - name: no_log hides results, loop labels and failures
      command: echo {{ item }}
      loop: ["no-log-item-1234", "no-log-item-5678"]
      no_log: true
      register: hidden
    - assert:
        that:
          - hidden.results[0].stdout == 'no-log-item-1234'
          - echoed.stdout == whole_secret
          - inline_secret is search('4711')
          - included_secret == 'include-vars-secret-77'
    - fail: msg="no-log-failure-message-31337"
      no_log: true
      ignore_errors: true
"#,
    )
    .unwrap();
    vec![
        inline.to_string(),
        serde_json::to_string(inline).unwrap(),
        whole.to_string(),
        "file-lookup-secret-99".to_string(),
        "include-vars-secret".to_string(),
        "no-log-item".to_string(),
        "no-log-failure-message".to_string(),
    ]
}

#[test]
fn secrets_never_reach_the_output_and_no_log_censors() {
    let dir = scratch("leak");
    let secrets = leaky_play(&dir);
    let keys = ["--vault-id", "dev@pw-dev", "--vault-id", "prod@pw-prod"];
    for extra in [&["-vvvv"][..], &["--output", "json"][..], &[][..]] {
        let mut args = vec!["play", "-i", "inventory.ini", "play.yml"];
        args.extend(keys);
        args.extend(extra);
        let out = baton(&args, &dir);
        assert!(out.status.success(), "{extra:?}: {}", describe(&out));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for s in &secrets {
            assert!(!all.contains(s.as_str()), "{extra:?} shows {s:?}:\n{all}");
        }
        assert!(all.contains("********"), "{all}");
        assert!(
            all.contains("the output has been hidden due to the fact that 'no_log: true' was specified for this result"),
            "{all}"
        );
        if extra.is_empty() || extra[0] == "-vvvv" {
            assert!(all.contains("(item=(censored due to no_log))"), "{all}");
        }
        if extra.first() == Some(&"--output") {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("masking broke the JSON ({e}): {line}"));
            }
        }
    }
}
