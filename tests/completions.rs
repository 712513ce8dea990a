//! `baton completions` and `baton man`: the bash script is sourced in a real bash and asked
//! to complete what a user types (as bash's programmable completion calls it, through
//! COMP_WORDS/COMP_CWORD); the manual pages are rendered by the system's `man -l` and must
//! name the subcommands and their flags.

mod common;

use common::{describe, run_baton};
use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-completions-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What bash completes for the words typed so far (the last one being completed), with the
/// script `baton completions bash` printed sourced first.
fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let program = format!(
        "source {script}\n\
         spec=$(complete -p baton) || exit 3\n\
         func=$(sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p' <<<\"$spec\")\n\
         COMP_WORDS=({words})\n\
         COMP_CWORD={cword}\n\
         COMP_LINE='{line}'\n\
         COMP_POINT={point}\n\
         \"$func\" baton '{cur}' '{prev}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script.display(),
        words = words.join(" "),
        cword = words.len() - 1,
        point = line.len(),
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("run bash");
    assert!(out.status.success(), "bash failed: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_flags() {
    let dir = scratch("bash");
    let out = run_baton(["completions", "bash"], &dir);
    assert!(out.status.success(), "{}", describe(&out));
    let script = dir.join("baton.bash");
    std::fs::write(&script, &out.stdout).unwrap();

    assert_eq!(bash_complete(&script, &["baton", "pl"]), ["play"]);
    // Every subcommand is offered for an empty word.
    let all = bash_complete(&script, &["baton", ""]);
    for sub in [
        "play",
        "run",
        "inventory",
        "vault",
        "template",
        "completions",
        "man",
    ] {
        assert!(all.iter().any(|w| w == sub), "{sub} missing from {all:?}");
    }
    // A subcommand's own flags, and the shells `completions` takes.
    let flags = bash_complete(&script, &["baton", "play", "--sk"]);
    assert_eq!(flags, ["--skip-tags"]);
    let shells = bash_complete(&script, &["baton", "completions", "z"]);
    assert_eq!(shells, ["zsh"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zsh_and_fish_scripts_name_the_subcommands() {
    let dir = scratch("zsh-fish");
    for (shell, marker) in [("zsh", "#compdef baton"), ("fish", "complete -c baton")] {
        let out = run_baton(["completions", shell], &dir);
        assert!(out.status.success(), "{}", describe(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: {text}");
        for sub in ["play", "inventory", "vault", "skip-tags"] {
            assert!(text.contains(sub), "{shell} script lacks {sub}");
        }
    }
    let bad = run_baton(["completions", "tcsh"], &dir);
    assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `man -l FILE` as a user would read it, as plain text.
fn man_text(page: &std::path::Path) -> String {
    let out = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .env("LANG", "C.UTF-8")
        .output()
        .expect("run man (Debian's man-db)");
    assert!(out.status.success(), "man -l failed: {}", describe(&out));
    // man's bold and underline as overstrikes, if any, come out as plain text.
    let text = String::from_utf8_lossy(&out.stdout);
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn man_pages_render_with_the_subcommands_and_flags() {
    let dir = scratch("man");
    let out = run_baton(["man"], &dir);
    assert!(out.status.success(), "{}", describe(&out));
    let page = dir.join("baton.1");
    std::fs::write(&page, &out.stdout).unwrap();
    let text = man_text(&page);
    assert!(text.contains("NAME"), "{text}");
    assert!(
        text.contains("baton - An agentless server orchestrator"),
        "{text}"
    );
    for sub in [
        "baton-play(1)",
        "baton-inventory(1)",
        "baton-vault(1)",
        "baton-man(1)",
    ] {
        assert!(text.contains(sub), "{sub} missing from the page:\n{text}");
    }

    let pages = dir.join("pages");
    let out = run_baton(["man", "--out-dir", pages.to_str().unwrap()], &dir);
    assert!(out.status.success(), "{}", describe(&out));
    let play = man_text(&pages.join("baton-play.1"));
    assert!(play.contains("baton-play - Run a playbook"), "{play}");
    for flag in [
        "--inventory",
        "--skip-tags",
        "--check",
        "--vault-password-file",
    ] {
        assert!(
            play.contains(flag),
            "{flag} missing from baton-play(1):\n{play}"
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "baton-completions.1",
            "baton-inventory.1",
            "baton-man.1",
            "baton-play.1",
            "baton-report.1",
            "baton-run.1",
            "baton-template.1",
            "baton-vault.1",
            "baton.1"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
