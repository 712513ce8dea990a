//! The conformance suite: every playbook in `tests/conformance/` is run under the real
//! `ansible-playbook` (the oracle) and under baton, and what a user sees must agree.
//!
//! For each case the harness compares, and reports every difference at once:
//! - the transcript: banners (`PLAY [..]`, `TASK [..]`, `RUNNING HANDLER [..]`), one line per host
//!   result (`ok`/`changed`/`skipping`/`fatal`/`failed`/`included`, host, item label) and the JSON
//!   body each `ok`/`changed`/`skipping` result prints (debug's values), compared as JSON with the
//!   key order and whitespace normalised. A failure's body is not compared (its message is the
//!   tool's own prose), only that it failed, and where;
//! - `FAILED - RETRYING: ...` lines (until/retries), and the lines of `--list-tasks` /
//!   `--list-tags` listings (each with `TAGS: [..]`);
//! - the PLAY RECAP counts per host;
//! - the exit status.
//!
//! Running one case (ansible-playbook must be on PATH; tests/run.sh puts .venv-test/bin there):
//!
//! ```text
//! PATH=$PWD/.venv-test/bin:$PATH cargo test --test conformance -- filters_default --exact
//! ```
//!
//! A failing case prints the two transcripts side by side where they differ, then both full
//! outputs. Set `BATON_CONFORMANCE_VERBOSE=1` to see the outputs of passing cases too.
//!
//! Writing a case:
//! - A case is a top-level `tests/conformance/NAME.yml`; NAME must be a Rust identifier and be
//!   listed in `cases!` below (a test fails if a file and the list disagree). Files a case uses
//!   (task files, roles, vars files, `files/`, `templates/`) go in subdirectories.
//! - Plays target `localhost` (or `all`) with `gather_facts: false`. The inventory is
//!   `localhost ansible_connection=local ansible_python_interpreter=PYTHON`, PYTHON being the one
//!   that runs ansible-playbook. A case that needs another inventory ships `NAME.ini` next to
//!   itself; `@PYTHON@` in it is replaced by that interpreter.
//! - Extra command-line arguments for both tools: a line `# args: -e x=1 --tags t` anywhere in
//!   the case (split on whitespace); environment variables for both: `# env: NAME=value`.
//! - A case whose hosts do not move in lockstep (`strategy: free`) says `# compare: per-host`:
//!   its results interleave differently from run to run, so the transcript is compared host by
//!   host (each result with the task banner above it), which is deterministic; the play banners
//!   are compared in order, the recap and exit status as usual.
//! - A case about the output's own form (ansible.cfg's display options, YAML results,
//!   profile_tasks) says `# compare: text`: on top of the above, the whole standard output must
//!   be the same line for line, with times and durations normalised ([`normalise_times`]: every
//!   digit of a profile_tasks or timer line becomes `N`, day and month names are replaced).
//! - Both tools run with the case directory as working directory, the environment variable
//!   `CONFORMANCE_ENV=conformance-value`, and `conformance_tmp` (extra var and environment
//!   variable) naming a scratch directory that is emptied before each of the two runs, so a case
//!   may write files there and print paths into it.
//! - No case is ever skipped: one that baton cannot pass yet fails the suite.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One `#[test]` per case file, and the list the file check compares with the directory.
macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name));
            }
        )*
        const CASES: &[&str] = &[$(stringify!($name)),*];
    };
}

cases! {
    python_modules,
    python_modules_verbose,
    result_conditions,
    delegation_vars,
    clear_host_errors_unreachable,
    parent_role_names,
    ignore_unreachable,
    filters_default,
    filters_bool_int_float_string,
    filters_json_yaml,
    filters_regex,
    filters_b64_hash,
    filters_password_hash,
    filters_combine,
    filters_dict_items,
    filters_lists,
    filters_sets,
    filters_zip_product,
    filters_random_shuffle,
    filters_paths,
    filters_ternary_mandatory,
    filters_map_select,
    filters_extract,
    filters_comment_type,
    filters_tuples_yaml_styles,
    gather_facts_modules,
    filters_human,
    filters_subelements,
    filters_strings,
    tests_types,
    tests_regex,
    tests_results,
    tests_sets_paths,
    tests_version,
    lookups_file_env,
    lookups_template_pipe,
    lookups_first_found_fileglob,
    lookups_vars_items,
    lookups_password,
    lookups_errors,
    type_preservation,
    string_formatting,
    when_bare_expressions,
    undefined_handling,
    omit_parameters,
    loops_with_filters,
    python_methods,
    // The playbook language (roles, includes, blocks, precedence, loops, handlers, tags...).
    roles_precedence,
    roles_dedup_and_duplicates,
    include_import_role,
    import_include_tasks,
    blocks_rescue_always,
    blocks_unrescued_failure,
    precedence_chain,
    inventory_vars,
    multi_host_flow,
    loops_control,
    conditions_results,
    handlers_listen_flush,
    tags_selection,
    meta_end,
    import_playbook,
    vars_prompt_default,
    delegate_run_once,
    environment_and_become_free,
    set_fact_and_assert,
    yaml_semantics,
    check_mode,
    lazy_variables,
    start_at_task,
    order_sorted,
    forks_one_order,
    handlers_force_flag,
    handlers_notify_resolution,
    handlers_include_and_import,
    meta_skip_reasons,
    until_retries,
    until_retry_lines,
    loop_conditions_item,
    loop_item_results,
    loops_ordering_and_pause,
    list_tasks_and_tags,
    facts_python,
    roles_collection_handlers,
    handlers_rescue_flush,
    // The free strategy.
    free_strategy,
    free_serial,
    free_from_config,
    free_form_multiline,
    implicit_localhost,
    // The executor's inventory actions.
    add_host_group_by,
    // Templates (issue 19).
    template_header_overrides,
    template_include_import,
    template_vars_managed,
    conditionals_strict,
    conditionals_broken_allowed,
    task_names_templated,
    omit_keywords_and_arg_splat,
    // Includes, roles, variables and tags (issue 19).
    include_role_kv_forms,
    precedence_include_params,
    keywords_templated,
    role_names_magic,
    tags_templated,
    set_fact_cacheable,
    set_fact_reserved_prefix,
    module_defaults_gather,
    roles_dedup_after_skip,
    include_keywords_scope,
    // Data tagging: trust and origin (issue 19).
    trust_templated_values,
    protomatter_origin_debug,
    template_native_result,
    roles_private_vars,
    roles_public_vars,
    roles_end_role,
    invocation_verbose,
    // Facts and lookups' search path (issue 20).
    facts_local,
    first_found_search,
    // The terminal output's options and aggregate callbacks (issue 21).
    output_yaml_results,
    output_yaml_not_pretty,
    output_hide_ok_skipped,
    output_check_markers,
    output_check_keywords,
    output_custom_stats,
    output_profile_tasks,
    output_profile_summary,
    output_per_host_start,
    filters_fileglob,
    vault_set_fact,
    task_timeout,
    filters_extract_b64,
}

/// How long one tool may take on one case before the harness calls it hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases_dir() -> PathBuf {
    repo_root().join("tests/conformance")
}

/// `ansible-playbook` on PATH and the Python interpreter it runs under.
struct Oracle {
    playbook: PathBuf,
    python: PathBuf,
}

fn oracle() -> &'static Oracle {
    static ORACLE: OnceLock<Oracle> = OnceLock::new();
    ORACLE.get_or_init(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let playbook = std::env::split_paths(&path)
            .map(|d| d.join("ansible-playbook"))
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "ansible-playbook is not on PATH: the conformance suite compares baton with \
                     it. Run tests/run.sh, or put a venv with ansible-core on PATH \
                     (PATH=$PWD/.venv-test/bin:$PATH)"
                )
            });
        let python = python_of(&playbook).unwrap_or_else(|e| panic!("{e}"));
        Oracle { playbook, python }
    })
}

/// The interpreter named by a script's `#!` line (`#!/usr/bin/env python3` is resolved on PATH).
fn python_of(script: &Path) -> Result<PathBuf, String> {
    let text =
        std::fs::read(script).map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let first =
        String::from_utf8_lossy(text.split(|b| *b == b'\n').next().unwrap_or(b"")).into_owned();
    let shebang = first
        .strip_prefix("#!")
        .ok_or_else(|| format!("{} has no #! line", script.display()))?;
    let mut words = shebang.split_whitespace();
    let interp = words.next().unwrap_or("");
    let interp = if interp.ends_with("/env") {
        words.next().unwrap_or("python3")
    } else {
        interp
    };
    if interp.starts_with('/') {
        return Ok(PathBuf::from(interp));
    }
    let out = Command::new(interp)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .map_err(|e| format!("cannot run {interp}: {e}"))?;
    Ok(PathBuf::from(
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    ))
}

/// Runs a command with a time limit, capturing its output.
fn run_with_timeout(mut cmd: Command, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    // Read both pipes on threads so a chatty child cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > RUN_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {RUN_TIMEOUT:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    };
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// The extra arguments a case asks for with `# args: ...`.
fn case_args(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("# args:"))
        .flat_map(|a| a.split_whitespace().map(str::to_string))
        .collect()
}

/// The environment variables a case asks for with `# env: NAME=value`.
fn case_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("# env:"))
        .filter_map(|a| {
            let (k, v) = a.trim().split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Which tool a run is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tool {
    Ansible,
    Baton,
}

fn run_tool(
    tool: Tool,
    name: &str,
    inventory: &Path,
    scratch: &Path,
    args: &[String],
    env: &[(String, String)],
) -> Output {
    // Each run starts from an empty scratch directory at the same path, so printed paths agree.
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).expect("create the scratch directory");
    let playbook = format!("{name}.yml");
    let mut cmd = match tool {
        Tool::Ansible => {
            let o = oracle();
            let mut c = Command::new(&o.playbook);
            // An empty config file: no user or system ansible.cfg changes the oracle's behaviour.
            let cfg = scratch.with_extension("ansible.cfg");
            std::fs::write(&cfg, "").expect("write ansible.cfg");
            c.env("ANSIBLE_CONFIG", &cfg)
                .env("ANSIBLE_STDOUT_CALLBACK", "default")
                .env("ANSIBLE_NOCOLOR", "1")
                .env("ANSIBLE_FORCE_COLOR", "0")
                .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
                .env("ANSIBLE_HOME", scratch.with_extension("ansible-home"))
                .env("ANSIBLE_LOCAL_TEMP", scratch.with_extension("ansible-tmp"))
                .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
                .arg(&playbook);
            c
        }
        Tool::Baton => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_baton"));
            c.env("NO_COLOR", "1").arg("play").arg(&playbook);
            c
        }
    };
    cmd.current_dir(cases_dir())
        .env("CONFORMANCE_ENV", "conformance-value")
        .env("conformance_tmp", scratch)
        .arg("-i")
        .arg(inventory)
        .arg("-e")
        .arg(format!("conformance_tmp={}", scratch.display()))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)));
    run_with_timeout(cmd, &format!("{tool:?} on {name}"))
}

/// One line of the normalised transcript.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// `TASK [name]`, `ok: [host] => (item=x)`, `fatal: [host]: FAILED!`, ...
    head: String,
    /// The JSON a successful result printed, if any.
    body: Option<serde_json::Value>,
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.body {
            Some(b) => write!(f, "{} => {}", self.head, canonical(b)),
            None => write!(f, "{}", self.head),
        }
    }
}

/// What one run showed: the transcript, the recap per host, and the exit status.
#[derive(Debug)]
struct Parsed {
    transcript: Vec<Entry>,
    recap: BTreeMap<String, String>,
    status: Option<i32>,
}

/// JSON with sorted keys and no whitespace, so equal data compares equal as text.
fn canonical(v: &serde_json::Value) -> String {
    fn sort(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                serde_json::Value::Object(
                    keys.into_iter().map(|k| (k.clone(), sort(&o[k]))).collect(),
                )
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

const RESULT_WORDS: &[&str] = &[
    "ok", "changed", "skipping", "fatal", "failed", "included", "ERROR", "rescued",
];

fn is_result_line(line: &str) -> bool {
    RESULT_WORDS
        .iter()
        .any(|w| line.strip_prefix(w).is_some_and(|r| r.starts_with(": [")))
}

fn banner(line: &str) -> Option<String> {
    let trimmed = line.trim_end_matches('*').trim_end();
    if trimmed.len() == line.len() || !trimmed.ends_with(']') && trimmed != "PLAY RECAP" {
        return None;
    }
    ["PLAY [", "TASK [", "RUNNING HANDLER ["]
        .iter()
        .any(|p| trimmed.starts_with(p))
        .then(|| trimmed.to_string())
}

/// Reads ansible-playbook's default output (which baton reproduces) into a [`Parsed`].
fn parse(out: &Output) -> Parsed {
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut transcript = Vec::new();
    let mut recap = BTreeMap::new();
    let mut in_recap = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.starts_with("PLAY RECAP") {
            in_recap = true;
            continue;
        }
        if in_recap {
            if let Some((host, counts)) = line.split_once(" : ") {
                recap.insert(
                    host.trim().to_string(),
                    counts.split_whitespace().collect::<Vec<_>>().join(" "),
                );
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            in_recap = false;
        }
        if let Some(b) = banner(line) {
            transcript.push(Entry {
                head: b,
                body: None,
            });
            continue;
        }
        if line.trim_end() == "...ignoring" {
            transcript.push(Entry {
                head: "...ignoring".into(),
                body: None,
            });
            continue;
        }
        // Retry lines of until/retries, and the listings of --list-tasks / --list-tags.
        if line.starts_with("FAILED - RETRYING: ") || line.contains("TAGS: [") {
            transcript.push(Entry {
                head: line.trim().to_string(),
                body: None,
            });
            continue;
        }
        if !is_result_line(line) {
            continue;
        }
        let failed = line.starts_with("fatal") || line.starts_with("failed");
        // The body starts at a ` => {` whose rest (with the following lines, for the indented
        // form) is JSON; an item label before it may itself contain ` => `.
        let mut head = line.trim_end().to_string();
        let mut body = None;
        if line.ends_with(" => {") {
            let mut json = String::from("{\n");
            while i < lines.len() {
                json.push_str(lines[i]);
                json.push('\n');
                i += 1;
                if lines[i - 1] == "}" {
                    break;
                }
            }
            head = line.strip_suffix(" => {").unwrap_or(line).to_string();
            body = Some(serde_json::from_str(&json).unwrap_or_else(|e| {
                serde_json::Value::String(format!("<unparsable JSON ({e})>: {json}"))
            }));
        } else {
            for (pos, _) in line.match_indices(" => {") {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line[pos + 4..]) {
                    head = line[..pos].to_string();
                    body = Some(v);
                    break;
                }
            }
        }
        transcript.push(Entry {
            head,
            body: if failed { None } else { body },
        });
    }
    Parsed {
        transcript,
        recap,
        status: out.status.code(),
    }
}

/// The host a result line is about (`ok: [h1]`, `fatal: [h1 -> h2]`).
fn host_of(e: &Entry) -> Option<String> {
    let start = e.head.find(": [")? + 3;
    let end = e.head[start..].find(']')? + start;
    let host = &e.head[start..end];
    Some(host.split(" -> ").next().unwrap_or(host).to_string())
}

/// For `# compare: per-host`: the play banners in order, then each host's results in the order
/// that host produced them, each with the play and task banner it was printed under.
fn per_host(transcript: Vec<Entry>) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut hosts: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    let (mut play, mut task) = (0, String::new());
    let mut last_host: Option<String> = None;
    for e in transcript {
        if e.head.starts_with("PLAY [") {
            play += 1;
            out.push(e);
            continue;
        }
        if e.head.starts_with("TASK [") || e.head.starts_with("RUNNING HANDLER [") {
            task = e.head.clone();
            continue;
        }
        if e.head == "...ignoring" {
            if let Some(last) = last_host
                .as_ref()
                .and_then(|h| hosts.get_mut(h))
                .and_then(|v| v.last_mut())
            {
                last.head.push_str(" ...ignoring");
            }
            continue;
        }
        if let Some(rest) = e.head.strip_prefix("included: ") {
            // `included: FILE for h1, h2`: which hosts share a line depends on timing.
            if let Some((file, list)) = rest.rsplit_once(" for ") {
                for h in list.split(", ") {
                    hosts.entry(h.to_string()).or_default().push(Entry {
                        head: format!("play {play} {task} / included: {file}"),
                        body: None,
                    });
                }
            }
            continue;
        }
        if let Some(h) = host_of(&e) {
            hosts.entry(h.clone()).or_default().push(Entry {
                head: format!("play {play} {task} / {}", e.head),
                body: e.body,
            });
            last_host = Some(h);
        }
    }
    for (h, entries) in hosts {
        out.push(Entry {
            head: format!("host {h}:"),
            body: None,
        });
        out.extend(entries);
    }
    out
}

/// Both tools print a task's results as hosts finish, in no fixed order: within each banner's
/// section, order the lines by host (stable, so one host's item lines keep their order).
fn hosts_in_order(transcript: Vec<Entry>) -> Vec<Entry> {
    let host_of = |e: &Entry| -> Option<String> {
        let start = e.head.find(": [")? + 3;
        let end = e.head[start..].find(']')? + start;
        Some(e.head[start..end].to_string())
    };
    let mut out = Vec::with_capacity(transcript.len());
    let mut section: Vec<Entry> = Vec::new();
    for e in transcript {
        // `...ignoring` belongs to the failed line before it: keep them together.
        if e.head == "...ignoring"
            && let Some(last) = section.last_mut()
        {
            last.head.push_str(" ...ignoring");
            continue;
        }
        if host_of(&e).is_none() {
            section.sort_by_key(|x| host_of(x).unwrap_or_default());
            out.append(&mut section);
            out.push(e);
        } else {
            section.push(e);
        }
    }
    section.sort_by_key(|x| host_of(x).unwrap_or_default());
    out.append(&mut section);
    out
}

/// The differences between the oracle's run and baton's, one paragraph each.
fn compare(ansible: &Parsed, baton: &Parsed) -> Vec<String> {
    let mut problems = Vec::new();
    if ansible.status != baton.status {
        problems.push(format!(
            "exit status: ansible-playbook {:?}, baton {:?}",
            ansible.status, baton.status
        ));
    }
    if ansible.recap != baton.recap {
        let mut s = String::from("PLAY RECAP differs:\n");
        for (label, recap) in [("ansible", &ansible.recap), ("baton  ", &baton.recap)] {
            if recap.is_empty() {
                let _ = writeln!(s, "  {label}: (no recap)");
            }
            for (host, counts) in recap {
                let _ = writeln!(s, "  {label}: {host} : {counts}");
            }
        }
        problems.push(s);
    }
    let (a, b) = (&ansible.transcript, &baton.transcript);
    if a != b {
        problems.push(paired_diff("transcript", a, b));
    }
    problems
}

/// Where two sequences differ: a little context, then every line from the first difference
/// on, paired (`-` the oracle's, `+` baton's).
fn paired_diff<T: PartialEq + std::fmt::Display>(what: &str, a: &[T], b: &[T]) -> String {
    let mut s = format!("{what} differs (- ansible-playbook, + baton):\n");
    let first = a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count();
    for e in &a[first.saturating_sub(2)..first] {
        let _ = writeln!(s, "    {e}");
    }
    for k in first..a.len().max(b.len()) {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) if x == y => {
                let _ = writeln!(s, "    {x}");
            }
            (x, y) => {
                if let Some(x) = x {
                    let _ = writeln!(s, "  - {x}");
                }
                if let Some(y) = y {
                    let _ = writeln!(s, "  + {y}");
                }
            }
        }
    }
    s
}

/// A profile_tasks or timer line with what changes from run to run made constant: digits
/// become `N`, day and month names `Day` and `Month`, a line's closing stars `***`; other lines
/// are left as they are. The structure (which line, which fields, their widths) stays.
fn normalise_times(line: &str) -> String {
    // `%A %d %B %Y  %H:%M:%S %z (...)`: a weekday, a day, a month, a year.
    let words: Vec<&str> = line.splitn(5, ' ').collect();
    let digits = |w: &str, n: usize| w.len() == n && w.bytes().all(|b| b.is_ascii_digit());
    let timestamp =
        words.len() == 5 && words[0].ends_with("day") && digits(words[1], 2) && digits(words[3], 4);
    let summary = line.ends_with('s')
        && line.rsplit_once(' ').is_some_and(|(head, t)| {
            head.ends_with('-') && t[..t.len() - 1].parse::<f64>().is_ok()
        });
    let took = line.starts_with("Playbook run took ");
    if !(timestamp || summary || took) {
        return line.to_string();
    }
    let mut out: String = line
        .chars()
        .map(|c| if c.is_ascii_digit() { 'N' } else { c })
        .collect();
    if timestamp {
        let rest = out.splitn(5, ' ').nth(4).unwrap_or("");
        let trimmed = rest.trim_end_matches([' ', '*']);
        out = format!("Day NN Month NNNN {trimmed} *** ");
    }
    out
}

/// Hosts finish a task in no fixed order: each run of consecutive results (a result line with
/// the body lines under it and its `...ignoring`) is put in host order, each result's lines
/// kept together and in order.
fn results_by_host(lines: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len());
    let mut run: Vec<Vec<String>> = Vec::new();
    let flush = |run: &mut Vec<Vec<String>>, out: &mut Vec<String>| {
        run.sort_by_key(|entry| {
            let e = Entry {
                head: entry[0].clone(),
                body: None,
            };
            host_of(&e).unwrap_or_default()
        });
        out.extend(run.drain(..).flatten());
    };
    for line in lines {
        let continues = line.starts_with(' ') || line.starts_with('}') || line == "...ignoring";
        if is_result_line(&line) {
            run.push(vec![line]);
        } else if continues && let Some(last) = run.last_mut() {
            last.push(line);
        } else {
            flush(&mut run, &mut out);
            out.push(line);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `included: FILE for h2, h1`: the hosts in name order (they are listed as they finished).
fn sorted_included_hosts(line: &str) -> String {
    match line
        .strip_prefix("included: ")
        .and_then(|rest| rest.rsplit_once(" for "))
    {
        Some((file, hosts)) => {
            let mut hosts: Vec<&str> = hosts.split(", ").collect();
            hosts.sort();
            format!("included: {file} for {}", hosts.join(", "))
        }
        None => line.to_string(),
    }
}

/// `# compare: text`: the two standard outputs, normalised, line for line (each task's results
/// in host order).
fn compare_text(ansible: &Output, baton: &Output) -> Vec<String> {
    let lines = |o: &Output| -> Vec<String> {
        results_by_host(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| sorted_included_hosts(&normalise_times(l)))
                .collect(),
        )
    };
    let (a, b) = (lines(ansible), lines(baton));
    if a == b {
        return Vec::new();
    }
    // Quoted, so that trailing spaces and tabs show.
    let quote = |v: &[String]| v.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>();
    vec![paired_diff("standard output", &quote(&a), &quote(&b))]
}

fn show(label: &str, out: &Output) -> String {
    format!(
        "===== {label}: {} =====\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run_case(name: &str) {
    let file = cases_dir().join(format!("{name}.yml"));
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read the case {}: {e}", file.display()));
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("conformance")
        .join(name);
    std::fs::create_dir_all(&work).expect("create the case's work directory");
    let python = &oracle().python;
    let inventory = work.join("inventory.ini");
    let custom = cases_dir().join(format!("{name}.ini"));
    let inventory_text = match std::fs::read_to_string(&custom) {
        Ok(t) => t.replace("@PYTHON@", &python.display().to_string()),
        Err(_) => format!(
            "localhost ansible_connection=local ansible_python_interpreter={}\n",
            python.display()
        ),
    };
    std::fs::write(&inventory, inventory_text).expect("write the inventory");
    let args = case_args(&text);
    let env = case_env(&text);
    let scratch = work.join("tmp");

    let ansible_out = run_tool(Tool::Ansible, name, &inventory, &scratch, &args, &env);
    let baton_out = run_tool(Tool::Baton, name, &inventory, &scratch, &args, &env);
    let order: fn(Vec<Entry>) -> Vec<Entry> =
        if text.lines().any(|l| l.trim() == "# compare: per-host") {
            per_host
        } else {
            hosts_in_order
        };
    let (mut ansible, mut baton) = (parse(&ansible_out), parse(&baton_out));
    ansible.transcript = order(std::mem::take(&mut ansible.transcript));
    baton.transcript = order(std::mem::take(&mut baton.transcript));
    let mut problems = compare(&ansible, &baton);
    if text.lines().any(|l| l.trim() == "# compare: text") {
        problems.extend(compare_text(&ansible_out, &baton_out));
    }

    if std::env::var_os("BATON_CONFORMANCE_VERBOSE").is_some() || !problems.is_empty() {
        eprintln!(
            "{}\n{}",
            show("ansible-playbook", &ansible_out),
            show("baton", &baton_out)
        );
    }
    // An oracle that printed nothing is a broken setup, not agreement (a listing has no
    // recap, but lines of its own).
    assert!(
        !ansible.recap.is_empty() || !ansible.transcript.is_empty() || ansible.status != Some(0),
        "ansible-playbook printed no PLAY RECAP for {name}; see its output above"
    );
    assert!(
        problems.is_empty(),
        "baton differs from ansible-playbook on tests/conformance/{name}.yml:\n\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_case_file_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("read tests/conformance")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".yml")?.to_string();
            e.path().is_file().then_some(stem)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    let missing: Vec<_> = on_disk.iter().filter(|c| !listed.contains(c)).collect();
    let stale: Vec<_> = listed.iter().filter(|c| !on_disk.contains(c)).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "tests/conformance.rs `cases!` and tests/conformance/*.yml disagree: not listed {missing:?}, \
         listed without a file {stale:?}"
    );
}

#[cfg(test)]
mod parser {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn times_are_normalised_not_removed() {
        assert_eq!(
            normalise_times(
                "Monday 07 December 2026  22:48:41 +0000 (0:00:00.058)       0:00:00.105 ******* "
            ),
            "Day NN Month NNNN  NN:NN:NN +NNNN (N:NN:NN.NNN)       N:NN:NN.NNN *** "
        );
        assert_eq!(
            normalise_times("two -------------------------------- 1.78s"),
            "two -------------------------------- N.NNs"
        );
        assert_eq!(
            normalise_times("Playbook run took 0 days, 0 hours, 0 minutes, 1 seconds"),
            "Playbook run took N days, N hours, N minutes, N seconds"
        );
        // Other lines stay as they are, digits and all.
        assert_eq!(
            normalise_times("ok: [h1] => {\"n\": 12}"),
            "ok: [h1] => {\"n\": 12}"
        );
        assert_ne!(
            normalise_times("one ----- 0.06s"),
            normalise_times("one ------ 0.06s")
        );
    }

    #[test]
    fn text_results_in_host_order() {
        let lines = |t: &str| t.lines().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            results_by_host(lines(
                "TASK [t] ***\nok: [h2] => {\n    \"x\": 2\n}\nfatal: [h1]: FAILED! => {}\n...ignoring\n\nTASK [u] ***\nok: [h3]\nok: [h1]\n"
            )),
            lines(
                "TASK [t] ***\nfatal: [h1]: FAILED! => {}\n...ignoring\nok: [h2] => {\n    \"x\": 2\n}\n\nTASK [u] ***\nok: [h1]\nok: [h3]\n"
            )
        );
    }

    fn out(text: &str, code: i32) -> Output {
        Output {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: text.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn reads_banners_results_bodies_and_recap() {
        let p = parse(&out(
            "\nPLAY [localhost] ***\n\nTASK [debug] ****\nok: [localhost] => {\n    \"msg\": [\n        1\n    ]\n}\n\
             ok: [localhost] => (item=a => {b}) => {\n    \"x\": \"}\"\n}\n\
             fatal: [localhost]: FAILED! => {\"changed\": false, \"msg\": \"boom\"}\n...ignoring\n\
             skipping: [localhost]\n\nPLAY RECAP ***\nlocalhost                  : ok=1    changed=0   \n",
            2,
        ));
        let lines: Vec<String> = hosts_in_order(p.transcript)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "PLAY [localhost]",
                "TASK [debug]",
                "ok: [localhost] => {\"msg\":[1]}",
                "ok: [localhost] => (item=a => {b}) => {\"x\":\"}\"}",
                "fatal: [localhost]: FAILED! ...ignoring",
                "skipping: [localhost]",
            ]
        );
        assert_eq!(p.recap["localhost"], "ok=1 changed=0");
        assert_eq!(p.status, Some(2));
    }
}
