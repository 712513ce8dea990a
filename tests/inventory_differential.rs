//! Differential tests of inventories: baton against ansible-core, the oracle.
//!
//! The corpus is `tests/inventories/ok/<case>/` and `tests/inventories/bad/<case>/`. Every case
//! directory holds `ARGS` (the `-i ...` arguments, shell-quoted, run with the case directory as
//! the current directory, which is also the playbook directory `ansible-inventory` uses), and
//! optionally `PATTERNS` (one `--limit` pattern per line) and `HOST_PATTERNS` (one host pattern
//! per line). Bad cases hold `EXPECT`: text baton's error must contain (`file:line:col` and the
//! gist of the message).
//!
//! Compared: `--list` as parsed JSON and byte for byte, `--list --export` as JSON, `--graph`
//! and `--graph --vars` as text; `ansible all --list-hosts --limit P` and `ansible P
//! --list-hosts` against baton's host selection; `group_names`, `inventory_hostname_short` and
//! `groups` as Ansible's `debug` module prints them. Ansible walks each level of a group tree as a set, so where two groups of
//! one level both have children its host order varies from run to run: for such inventories
//! host lists are compared as sets, elsewhere in order.
//!
//! `ansible-inventory` and `ansible` come from PATH (tests/run.sh puts ansible-core 2.19.14
//! there) or from the repository's `.venv-test`; without them these tests fail, they never skip.

use baton::inventory::Inventory;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = repo().join("tests/inventories").join(kind);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("ARGS").is_file())
        .collect();
    out.sort();
    out
}

fn name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

/// An Ansible program from PATH, or from the repository's test venv.
fn ansible_tool(name: &str) -> PathBuf {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    let venv = repo().join(".venv-test/bin").join(name);
    from_path
        .or_else(|| venv.is_file().then_some(venv))
        .unwrap_or_else(|| {
            panic!(
                "{name} is not on PATH (nor in .venv-test/bin): these tests compare baton with \
                 ansible-core. Run tests/run.sh, which installs ansible-core 2.19.14 into \
                 .venv-test, or put its bin directory on PATH."
            )
        })
}

/// An empty ansible.cfg, so no configuration on the machine changes what Ansible does.
fn empty_config() -> &'static Path {
    static CFG: OnceLock<PathBuf> = OnceLock::new();
    CFG.get_or_init(|| {
        let p = std::env::temp_dir().join(format!("baton-inv-test-{}.cfg", std::process::id()));
        std::fs::write(&p, "").expect("write an empty ansible.cfg");
        p
    })
}

fn args(case: &Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(case.join(file)).unwrap();
    baton::inventory::ini::shlex_split(text.trim())
        .unwrap_or_else(|e| panic!("{}/{file}: {e}", case.display()))
}

fn lines(case: &Path, file: &str) -> Vec<String> {
    match std::fs::read_to_string(case.join(file)) {
        Ok(t) => t
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn run(program: &Path, args: &[String], cwd: &Path, extra_env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env("ANSIBLE_CONFIG", empty_config())
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "false")
        .env_remove("ANSIBLE_INVENTORY");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn baton(args: &[String], cwd: &Path) -> Output {
    run(Path::new(env!("CARGO_BIN_EXE_baton")), args, cwd, &[])
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn with(mut a: Vec<String>, more: &[&str]) -> Vec<String> {
    a.extend(more.iter().map(|s| s.to_string()));
    a
}

/// Runs `f` over the items on a few threads (Ansible takes half a second to start).
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = 3;
    let chunks: Vec<&[T]> = items.chunks(items.len().div_ceil(workers).max(1)).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker panicked"))
            .collect()
    })
}

fn finish(what: &str, failures: Vec<String>) {
    if !failures.is_empty() {
        panic!(
            "{} case(s) differ from ansible-core ({what}):\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

/// `ansible-inventory ARGS EXTRA` and `baton inventory ARGS EXTRA`, outputs compared by `same`.
fn compare_inventory_cli(extra: &[&str], same: fn(&str, &str) -> Result<(), String>) {
    let ai = ansible_tool("ansible-inventory");
    let all = cases("ok");
    assert!(
        all.len() >= 20,
        "the corpus should hold at least 20 inventories"
    );
    let failures: Vec<String> = par_map(&all, |case| {
        let a = with(args(case, "ARGS"), extra);
        let want = run(&ai, &a, case, &[]);
        let got = baton(
            &with(
                vec!["inventory".into()],
                &a.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
            case,
        );
        let (ws, wo) = (text(&want.stderr), text(&want.stdout));
        if !want.status.success()
            || ws.contains("Unable to parse")
            || ws.contains("Failed to parse")
        {
            return Some(format!(
                "{}: ansible-inventory {} did not read it cleanly (fix the case):\n{ws}",
                name(case),
                a.join(" ")
            ));
        }
        if !got.status.success() {
            return Some(format!(
                "{}: baton failed:\n{}",
                name(case),
                text(&got.stderr)
            ));
        }
        same(&wo, &text(&got.stdout))
            .err()
            .map(|d| format!("{} ({}):\n{d}", name(case), a.join(" ")))
    })
    .into_iter()
    .flatten()
    .collect();
    finish(&extra.join(" "), failures);
}

fn same_json(want: &str, got: &str) -> Result<(), String> {
    let w: serde_json::Value =
        serde_json::from_str(want).map_err(|e| format!("ansible's output is not JSON: {e}"))?;
    let g: serde_json::Value =
        serde_json::from_str(got).map_err(|e| format!("baton's output is not JSON: {e}\n{got}"))?;
    if w == g {
        return Ok(());
    }
    let mut diffs = Vec::new();
    json_diff(&w, &g, String::new(), &mut diffs);
    Err(diffs.join("\n"))
}

fn json_diff(w: &serde_json::Value, g: &serde_json::Value, path: String, out: &mut Vec<String>) {
    match (w, g) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}/{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => json_diff(x, y, p, out),
                    (Some(x), None) => out.push(format!("  {p}: only ansible has {x}")),
                    (None, Some(y)) => out.push(format!("  {p}: only baton has {y}")),
                    (None, None) => {}
                }
            }
        }
        _ if w != g => out.push(format!("  {path}: ansible {w}, baton {g}")),
        _ => {}
    }
}

fn same_text(want: &str, got: &str) -> Result<(), String> {
    if want == got {
        return Ok(());
    }
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let first = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    Err(format!(
        "  first difference at line {}:\n  ansible: {:?}\n  baton:   {:?}\n--- ansible ---\n{want}\n--- baton ---\n{got}",
        first + 1,
        w.get(first),
        g.get(first)
    ))
}

/// The same JSON, and the same bytes too (`json.dumps(indent=4, sort_keys=True)`).
fn same_json_and_bytes(want: &str, got: &str) -> Result<(), String> {
    same_json(want, got)?;
    same_text(want, got).map_err(|d| format!("  equal as JSON, but the text differs:\n{d}"))
}

#[test]
fn list_matches_ansible_inventory() {
    compare_inventory_cli(&["--list"], same_json_and_bytes);
}

#[test]
fn export_matches_ansible_inventory() {
    compare_inventory_cli(&["--list", "--export"], same_json);
}

#[test]
fn yaml_list_matches_ansible_inventory() {
    compare_inventory_cli(&["--list", "--yaml"], same_text);
    compare_inventory_cli(&["--list", "--yaml", "--export"], same_text);
}

/// `--list --toml`: the same text, or, where TOML cannot hold a value (a null, a vaulted
/// value), the same exit status and the same message about it.
#[test]
fn toml_list_matches_ansible_inventory() {
    let ai = ansible_tool("ansible-inventory");
    let failures: Vec<String> = par_map(&cases("ok"), |case| {
        let a = with(args(case, "ARGS"), &["--list", "--toml"]);
        let want = run(&ai, &a, case, &[]);
        let got = baton(
            &with(
                vec!["inventory".into()],
                &a.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
            case,
        );
        let (ws, gs) = (text(&want.stderr), text(&got.stderr));
        if want.status.code() != got.status.code() {
            return Some(format!(
                "{}: exit status {:?} under ansible-inventory, {:?} under baton\n{ws}\n{gs}",
                name(case),
                want.status.code(),
                got.status.code()
            ));
        }
        if !want.status.success() {
            let why = ws
                .lines()
                .find(|l| l.contains("is not TOML serializable"))
                .and_then(|l| l.split("bug: ").nth(1))
                .unwrap_or("");
            return (why.is_empty() || !gs.contains(why)).then(|| {
                format!(
                    "{}: not the same failure:\n{ws}\n--- baton ---\n{gs}",
                    name(case)
                )
            });
        }
        same_text(&text(&want.stdout), &text(&got.stdout))
            .err()
            .map(|d| format!("{}:\n{d}", name(case)))
    })
    .into_iter()
    .flatten()
    .collect();
    finish("--list --toml", failures);
}

/// At -v both say which configuration file they use, on its own first line, then the JSON.
fn config_line_then_same_json(want: &str, got: &str) -> Result<(), String> {
    let (w1, wrest) = want.split_once('\n').unwrap_or((want, ""));
    let (g1, grest) = got.split_once('\n').unwrap_or((got, ""));
    if w1 != g1 {
        return Err(format!("  first line: ansible {w1:?}, baton {g1:?}"));
    }
    same_json(wrest, grest)
}

#[test]
fn list_at_verbosity_one_matches_ansible_inventory() {
    compare_inventory_cli(&["-v", "--list"], config_line_then_same_json);
}

#[test]
fn graph_matches_ansible_inventory() {
    compare_inventory_cli(&["--graph"], same_text);
}

#[test]
fn graph_with_vars_matches_ansible_inventory() {
    compare_inventory_cli(&["--graph", "--vars"], same_text);
}

/// The hosts `ansible ... --list-hosts` printed, or the error that stopped it.
fn ansible_hosts(out: &Output) -> Result<Vec<String>, String> {
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let mut lines = stdout.lines();
    if lines.any(|l| l.trim_start().starts_with("hosts (")) {
        return Ok(lines
            .take_while(|l| l.starts_with("    "))
            .map(|l| l.trim().to_string())
            .collect());
    }
    if stderr.contains("leaves us with no hosts") || stderr.contains("No hosts matched\n") {
        return Ok(Vec::new());
    }
    Err(stderr)
}

/// Whether Ansible's host order is the same on every run: no level of any group's tree has two
/// groups that bring new children (Ansible iterates a level as a set).
fn order_is_deterministic(inv: &Inventory) -> bool {
    inv.groups.keys().all(|g| {
        let mut level: Vec<&str> = vec![g.as_str()];
        level.extend(inv.groups[g].children.iter().map(String::as_str));
        let mut seen: HashSet<&str> = level.iter().copied().collect();
        while !level.is_empty() {
            let bringing: Vec<&str> = level
                .iter()
                .copied()
                .filter(|l| {
                    inv.groups[*l]
                        .children
                        .iter()
                        .any(|c| !seen.contains(c.as_str()))
                })
                .collect();
            if bringing.len() > 1 {
                return false;
            }
            let next: Vec<&str> = bringing
                .iter()
                .flat_map(|l| inv.groups[*l].children.iter().map(String::as_str))
                .filter(|c| !seen.contains(c))
                .collect();
            seen.extend(next.iter().copied());
            level = next;
        }
        true
    })
}

/// The case's inventory, loaded by baton's library with paths made absolute (the test process
/// cannot change directory: tests run on threads).
fn load_case(case: &Path) -> Inventory {
    let a = args(case, "ARGS");
    let mut sources = Vec::new();
    let mut it = a.iter();
    while let Some(x) = it.next() {
        if x == "-i" {
            let s = it.next().expect("-i takes a value");
            let p = case.join(s);
            sources.push(if p.exists() {
                p.display().to_string()
            } else {
                s.clone()
            });
        }
    }
    // The corpus has one vault password; the keyring is the process's, installed once.
    if let Some(i) = a.iter().position(|x| x == "--vault-password-file") {
        let file = case.join(&a[i + 1]);
        let vault = baton::cli::vault::VaultPasswordArgs {
            vault_password_files: vec![file],
            ..Default::default()
        };
        baton::vault::install(
            vault
                .keyring_for_play(&mut |w| panic!("{w}"))
                .expect("the corpus vault password"),
        );
    }
    Inventory::load(&sources).unwrap_or_else(|e| panic!("{}: {e}", name(case)))
}

/// A pattern with `@file` terms made absolute.
fn absolute_limit(case: &Path, pattern: &str) -> String {
    pattern
        .split(':')
        .map(|t| match t.strip_prefix('@') {
            Some(f) => format!("@{}", case.join(f).display()),
            None => t.to_string(),
        })
        .collect::<Vec<_>>()
        .join(":")
}

fn compare_patterns(file: &str, as_limit: bool) {
    let ansible = ansible_tool("ansible");
    let mut jobs = Vec::new();
    for case in cases("ok") {
        for p in lines(&case, file) {
            jobs.push((case.clone(), p));
        }
    }
    assert!(!jobs.is_empty(), "no {file} in the corpus");
    let failures: Vec<String> = par_map(&jobs, |(case, p)| {
        let base = args(case, "ARGS");
        let a = if as_limit {
            let mut a = vec!["all".to_string()];
            a.extend(base);
            a.extend(["--list-hosts".into(), "--limit".into(), p.clone()]);
            a
        } else {
            let mut a = vec![p.clone()];
            a.extend(base);
            a.push("--list-hosts".into());
            a
        };
        let want = ansible_hosts(&run(&ansible, &a, case, &[]));
        let inv = load_case(case);
        let got = if as_limit {
            inv.get_hosts("all", Some(&absolute_limit(case, p)))
        } else {
            inv.get_hosts(p, None)
        }
        .map(|s| s.hosts)
        .map_err(|e| e.to_string());
        let ordered = order_is_deterministic(&inv);
        let equal = match (&want, &got) {
            (Ok(w), Ok(g)) if ordered => w == g,
            (Ok(w), Ok(g)) => {
                let (mut w, mut g) = (w.clone(), g.clone());
                w.sort();
                g.sort();
                w == g
            }
            (Err(_), Err(_)) => true,
            _ => false,
        };
        (!equal).then(|| {
            format!(
                "{} {}{p:?} ({}):\n  ansible: {want:?}\n  baton:   {got:?}",
                name(case),
                if as_limit { "--limit " } else { "" },
                if ordered { "in order" } else { "as sets" }
            )
        })
    })
    .into_iter()
    .flatten()
    .collect();
    finish(file, failures);
}

#[test]
fn limit_patterns_match_ansible() {
    compare_patterns("PATTERNS", true);
}

#[test]
fn host_patterns_match_ansible() {
    compare_patterns("HOST_PATTERNS", false);
}

/// What `ansible all -m debug -a 'msg=...'` printed per host: `HOST | SUCCESS => {json}`.
fn debug_messages(stdout: &str) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut out = std::collections::BTreeMap::new();
    let mut lines = stdout.lines();
    while let Some(l) = lines.next() {
        let Some(host) = l.strip_suffix(" | SUCCESS => {") else {
            continue;
        };
        let mut body = String::from("{");
        for b in lines.by_ref() {
            body.push_str(b);
            if b == "}" {
                break;
            }
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
            out.insert(host.to_string(), v["msg"].clone());
        }
    }
    out
}

/// `group_names`, `inventory_hostname_short` and `groups` as Ansible's own `debug` shows them,
/// against baton's inventory.
#[test]
fn magic_variables_match_ansible() {
    let ansible = ansible_tool("ansible");
    let all = cases("ok");
    let failures: Vec<String> = par_map(&all, |case| {
        let mut a = vec!["all".to_string()];
        a.extend(args(case, "ARGS"));
        a.extend(
            [
                "-f",
                "20",
                "-m",
                "debug",
                "-a",
                "msg={{ [group_names, inventory_hostname_short, groups] }}",
            ]
            .map(String::from),
        );
        let out = run(&ansible, &a, case, &[]);
        let want = debug_messages(&text(&out.stdout));
        let inv = load_case(case);
        let ordered = order_is_deterministic(&inv);
        let mut problems = Vec::new();
        if want.len() != inv.hosts.len() {
            problems.push(format!(
                "ansible reported {} hosts, baton has {}\n{}",
                want.len(),
                inv.hosts.len(),
                text(&out.stderr)
            ));
        }
        for (host, msg) in &want {
            let names = serde_json::json!(inv.group_names(host));
            if msg[0] != names {
                problems.push(format!(
                    "{host}: group_names ansible {} baton {names}",
                    msg[0]
                ));
            }
            let short = Inventory::hostname_short(host);
            if msg[1] != short {
                problems.push(format!(
                    "{host}: inventory_hostname_short ansible {} baton {short}",
                    msg[1]
                ));
            }
            for (g, hosts) in msg[2].as_object().into_iter().flatten() {
                let mut w: Vec<String> = serde_json::from_value(hosts.clone()).unwrap_or_default();
                let mut b = inv.group_hosts(g);
                if !ordered {
                    w.sort();
                    b.sort();
                }
                if w != b {
                    problems.push(format!("groups['{g}']: ansible {w:?} baton {b:?}"));
                }
            }
            if msg[2].as_object().map(|o| o.len()) != Some(inv.groups.len()) {
                problems.push(format!("groups: ansible has {} groups", msg[2]));
            }
            break_after_first_groups(&mut problems);
        }
        (!problems.is_empty()).then(|| format!("{}:\n  {}", name(case), problems.join("\n  ")))
    })
    .into_iter()
    .flatten()
    .collect();
    finish("magic variables", failures);
}

/// One host's view of `groups` is every host's: report its differences once.
fn break_after_first_groups(problems: &mut Vec<String>) {
    let mut seen = HashSet::new();
    problems.retain(|p| seen.insert(p.clone()));
}

#[test]
fn bad_inventories_fail_with_location() {
    let ai = ansible_tool("ansible-inventory");
    let bad = cases("bad");
    assert!(
        bad.len() >= 10,
        "the bad corpus should hold at least 10 inventories"
    );
    // Ansible only warns about a source no parser reads unless told to fail; told so, it must
    // reject the same inventory, and so must baton, with the location of the mistake.
    const STRICT: &[(&str, &str)] = &[
        ("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true"),
        ("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "true"),
    ];
    let failures: Vec<String> = par_map(&bad, |case| {
        let a = with(args(case, "ARGS"), &["--list"]);
        let baton_args = with(
            vec!["inventory".into()],
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let mut problems = Vec::new();
        let mut stderrs = String::new();
        for (env, what) in [(STRICT, "strict"), (&[][..], "default")] {
            let got = run(
                Path::new(env!("CARGO_BIN_EXE_baton")),
                &baton_args,
                case,
                env,
            );
            let want = run(&ai, &a, case, env);
            let stderr = text(&got.stderr);
            if env == STRICT {
                if want.status.success() {
                    problems.push("ansible-inventory accepts it (fix the case)".to_string());
                }
                if got.status.success() {
                    problems.push("baton accepted it, told to fail".to_string());
                }
            } else if got.status.success() != want.status.success() {
                // By default a source that does not parse is only a warning, for both.
                problems.push(format!(
                    "{what}: baton's exit status {} but ansible-inventory's {}",
                    got.status, want.status
                ));
            }
            if got.status.code() == Some(101) || stderr.contains("panicked") {
                problems.push(format!("{what}: baton panicked"));
            }
            // The error, or the warning, says where the mistake is.
            for e in lines(case, "EXPECT") {
                if !stderr.contains(&e) {
                    problems.push(format!("{what}: the message does not contain {e:?}"));
                }
            }
            stderrs.push_str(&format!("--- baton's stderr ({what}) ---\n{stderr}\n"));
        }
        (!problems.is_empty())
            .then(|| format!("{}: {}\n{stderrs}", name(case), problems.join("; ")))
    })
    .into_iter()
    .flatten()
    .collect();
    finish("bad inventories", failures);
}
