//! A secret deployed through Ansible Vault to real hosts over SSH: the acceptance test of vault
//! support. The vaulted `group_vars` file is made by ansible-core's `ansible-vault` (from PATH;
//! missing is a failure, not a skip), an inline `!vault` value by `baton vault encrypt_string`;
//! a template puts both on every host. The hosts are checked through `docker exec`; baton's
//! output, at `-vvvv` and as `--output json`, must not contain a byte sequence of either secret
//! even though the play prints them on purpose.

mod common;

use common::{Fleet, baton_bin, describe};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn ansible_vault() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("ansible-vault"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "ansible-vault is not on PATH: run the tests with `bash tests/run.sh`, which \
                 installs ansible-core into .venv-test and puts it on PATH"
            )
        })
}

fn run(cmd: &Path, args: &[&str], dir: &Path) -> Output {
    Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .env_remove("ANSIBLE_VAULT_IDENTITY_LIST")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cmd.display()))
}

#[test]
fn a_vaulted_secret_reaches_the_hosts_and_never_the_output() {
    let fleet = Fleet::shared();
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("baton-vault-fleet-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("group_vars/all")).unwrap();
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::create_dir_all(dir.join("files")).unwrap();
    std::fs::write(dir.join("vault-pass"), "fleet pässword\n").unwrap();

    // Characters that JSON, Python reprs and shells all escape differently.
    let db_secret = format!("Db-sécret \"{pid}\" o'neil \\ ✓");
    let token = format!("tok-{pid}-9f8e7d6c5b4a");
    std::fs::write(
        dir.join("group_vars/all/vault.yml"),
        format!(
            "db_password: {}\n",
            serde_json::to_string(&db_secret).unwrap()
        ),
    )
    .unwrap();
    let out = run(
        &ansible_vault(),
        &[
            "encrypt",
            "--vault-id",
            "prod@vault-pass",
            "group_vars/all/vault.yml",
        ],
        &dir,
    );
    assert!(out.status.success(), "ansible-vault: {}", describe(&out));
    // An encrypted file for `copy` and an encrypted template, both decrypted on the controller.
    let key_secret = format!("-----BEGIN KEY-----\nkey-{pid}-material\n-----END KEY-----\n");
    std::fs::write(dir.join("files/secret.key"), &key_secret).unwrap();
    std::fs::write(
        dir.join("templates/vaulted.conf.j2"),
        "from-an-encrypted-template token={{ api_token }}\n",
    )
    .unwrap();
    for f in ["files/secret.key", "templates/vaulted.conf.j2"] {
        let out = run(
            &ansible_vault(),
            &["encrypt", "--vault-id", "prod@vault-pass", f],
            &dir,
        );
        assert!(out.status.success(), "ansible-vault: {}", describe(&out));
    }
    let vaulted = std::fs::read_to_string(dir.join("group_vars/all/vault.yml")).unwrap();
    assert!(vaulted.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));

    let out = run(
        &baton_bin(),
        &[
            "vault",
            "encrypt_string",
            "--vault-id",
            "prod@vault-pass",
            "--name",
            "api_token",
            &token,
        ],
        &dir,
    );
    assert!(out.status.success(), "encrypt_string: {}", describe(&out));
    std::fs::write(dir.join("inline.yml"), &out.stdout).unwrap();

    std::fs::write(
        dir.join("templates/app.conf.j2"),
        "db_password={{ db_password }}\napi_token={{ api_token }}\n",
    )
    .unwrap();
    let dest = format!("/tmp/baton-vault-{pid}");
    std::fs::write(
        dir.join("play.yml"),
        format!(
            r#"- hosts: all
  gather_facts: false
  vars_files: [inline.yml]
  tasks:
    - name: the directory
      file: path={dest} state=directory mode=0700
    - name: the secret, through a template
      template: src=app.conf.j2 dest={dest}/app.conf mode=0600
    - name: an encrypted file, copied
      copy: src=secret.key dest={dest}/secret.key mode=0600
    - name: an encrypted template
      template: src=vaulted.conf.j2 dest={dest}/vaulted.conf mode=0600
    - name: read it back (its output is full of secrets)
      command: cat {dest}/app.conf {dest}/secret.key
      register: shown
    - debug: var=shown.stdout_lines
    - debug: msg="{{{{ db_password }}}} / {{{{ api_token }}}}"
"#
        ),
    )
    .unwrap();

    // The fleet's inventory, copied so that the vaulted group_vars/ sits next to it.
    std::fs::copy(fleet.inventory_path(), dir.join("inventory.ini")).unwrap();
    let inventory = "inventory.ini";
    for extra in [&["-vvvv"][..], &["--output", "json"][..]] {
        let mut args = vec![
            "play",
            "play.yml",
            "-i",
            inventory,
            "--vault-id",
            "prod@vault-pass",
        ];
        args.extend(extra);
        let out = run(&baton_bin(), &args, &dir);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", describe(&out));
        let mut all = out.stdout.clone();
        all.extend(&out.stderr);
        let text = String::from_utf8_lossy(&all);
        for secret in [&db_secret, &token, &format!("key-{pid}-material")] {
            assert!(
                !text.contains(secret.as_str()),
                "{extra:?}: the output shows {secret:?}:\n{text}"
            );
            // Not even in its JSON spelling.
            let json = serde_json::to_string(secret).unwrap();
            assert!(
                !text.contains(&json[1..json.len() - 1]),
                "{extra:?}: {text}"
            );
        }
        assert!(
            text.contains("********"),
            "{extra:?}: nothing masked?\n{text}"
        );
        if extra[0] == "-vvvv" {
            // -vvvv really is verbose (the results in full), so the check above means something.
            assert!(text.contains("stdout_lines"), "{text}");
        } else {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("masking broke the JSON ({e}): {line}"));
            }
        }
    }

    // Ad hoc too: `baton run` reads the same vaulted group_vars and masks what it decrypted
    // (the play's inline token is not loaded here, so it is not known, nor hidden).
    let out = run(
        &baton_bin(),
        &[
            "run",
            "all",
            "-i",
            inventory,
            "--vault-id",
            "prod@vault-pass",
            "-m",
            "command",
            "-a",
            &format!("cat {dest}/app.conf"),
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "baton run: {}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("db_password=********"), "{text}");
    assert!(!text.contains(&db_secret), "{text}");

    for host in fleet.hosts() {
        let out = fleet.exec(
            &host.name,
            &format!("cat {dest}/app.conf; stat -c %a {dest}/app.conf"),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {}", host.name, describe(&out));
        assert!(
            text.contains(&format!("db_password={db_secret}\n")),
            "{}: {text}",
            host.name
        );
        assert!(
            text.contains(&format!("api_token={token}\n")),
            "{}: {text}",
            host.name
        );
        assert!(text.ends_with("600\n"), "{}: {text}", host.name);
        let out = fleet.exec(
            &host.name,
            &format!("cat {dest}/secret.key {dest}/vaulted.conf"),
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{key_secret}from-an-encrypted-template token={token}\n"),
            "{}",
            host.name
        );
        fleet.exec(&host.name, &format!("rm -rf {dest}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
