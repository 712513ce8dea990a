//! `apt_repository`: one-line APT sources (`deb ...` / `deb-src ...`) in /etc/apt/sources.list
//! and /etc/apt/sources.list.d/*.list, edited as ansible-core's module edits them
//! (lib/ansible/modules/apt_repository.py, SourcesList): a source already present anywhere is
//! (re-)enabled, a new one goes to a file named after its URL (or `filename`), `state=absent`
//! removes the enabled lines; files are rewritten in the module's normalized form and the cache
//! is updated after a change. No python3-apt is needed.
//!
//! One round trip reads every sources file; a second writes the changed files and runs
//! `apt-get update`. `ppa:` sources need Launchpad's API and are refused.

use super::hosttmp::{self, Cleanup, Place};
use super::sysutil::{self, kv, section, sections};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};
use indexmap::IndexMap;

pub struct AptRepository;

static SPEC: Spec = Spec {
    names: &["apt_repository"],
    diff: true,
    params: &[&[
        Param::str("repo").required(),
        Param::str("state")
            .choices(&["absent", "present"])
            .default_str("present"),
        Param::any("mode"),
        Param::bool("update_cache")
            .aliases(&["update-cache"])
            .default_bool(true),
        Param::int("update_cache_retries").default_int(5),
        Param::int("update_cache_retry_max_delay").default_int(12),
        Param::str("filename"),
        Param::bool("install_python_apt"),
        Param::bool("validate_certs"),
        Param::str("codename"),
    ]],
    ..Spec::BASE
};

impl Module for AptRepository {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run(args, ctx))
    }
}

const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

/// A parsed line: (valid, enabled, source, comment).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub valid: bool,
    pub enabled: bool,
    pub source: String,
    pub comment: String,
}

/// `_parse()`.
pub(crate) fn parse_line(line: &str) -> Line {
    let mut line = line.trim().to_string();
    let mut enabled = true;
    if let Some(rest) = line.strip_prefix('#') {
        enabled = false;
        line = rest.to_string();
    }
    let mut comment = String::new();
    if let Some(i) = line.find('#')
        && i > 0
    {
        comment = line[i + 1..].trim().to_string();
        line.truncate(i);
    }
    let mut source = line.trim().to_string();
    let mut valid = false;
    if !source.is_empty() {
        let chunks: Vec<&str> = source.split_whitespace().collect();
        if matches!(chunks[0], "deb" | "deb-src") {
            valid = true;
            source = chunks.join(" ");
        }
    }
    Line {
        valid,
        enabled,
        source,
        comment,
    }
}

fn render(l: &Line) -> String {
    let mut s = String::new();
    if !l.enabled {
        s.push_str("# ");
    }
    s.push_str(&l.source);
    if !l.comment.is_empty() {
        s.push_str(" # ");
        s.push_str(&l.comment);
    }
    s.push('\n');
    s
}

/// The sources files, as SourcesList holds them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Sources {
    pub files: IndexMap<String, Vec<Line>>,
}

impl Sources {
    /// `dump()`: file -> normalized content, for files with lines.
    pub(crate) fn dump(&self) -> IndexMap<String, String> {
        self.files
            .iter()
            .filter(|(_, lines)| !lines.is_empty())
            .map(|(f, lines)| (f.clone(), lines.iter().map(render).collect()))
            .collect()
    }

    /// `_suggest_filename()`.
    pub(crate) fn suggest_filename(line: &str, filename: Option<&str>) -> String {
        let line = regex::Regex::new(r"\[[^\]]+\]")
            .unwrap()
            .replace_all(line, "");
        let line = regex::Regex::new(r"\w+://").unwrap().replace_all(&line, "");
        let parts: Vec<&str> = line
            .split_whitespace()
            .filter(|p| !matches!(*p, "deb" | "deb-src"))
            .collect();
        let first = parts.first().copied().unwrap_or("");
        let first = first.split_once('@').map(|(_, r)| r).unwrap_or(first);
        let name = match filename {
            Some(f) => f.to_string(),
            None => regex::Regex::new(r"[^a-zA-Z0-9]")
                .unwrap()
                .replace_all(first, " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("_"),
        };
        format!("{name}.list")
    }

    pub(crate) fn add(&mut self, source: &str, file: &str) -> Option<String> {
        let mut found = false;
        for lines in self.files.values_mut() {
            for l in lines.iter_mut() {
                if l.valid && l.source == source {
                    l.enabled = true;
                    found = true;
                }
            }
        }
        if found {
            return None;
        }
        let file = if file.contains('/') {
            file.to_string()
        } else {
            format!("{SOURCES_DIR}/{file}")
        };
        self.files.entry(file.clone()).or_default().push(Line {
            valid: true,
            enabled: true,
            source: source.to_string(),
            comment: String::new(),
        });
        Some(file)
    }

    pub(crate) fn remove(&mut self, source: &str) {
        for lines in self.files.values_mut() {
            lines.retain(|l| !(l.valid && l.enabled && l.source == source));
        }
    }
}

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let repo = args.required_str("repo")?;
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let mode = super::transfer::mode_arg(args.raw("mode").as_ref())?;
    let update_cache = args.bool("update_cache")?.unwrap_or(true);
    let retries = args.int("update_cache_retries")?.unwrap_or(5);
    let max_delay = args.int("update_cache_retry_max_delay")?.unwrap_or(12);
    let filename = args.str("filename")?;
    let _ = args.bool("install_python_apt")?;
    let _ = args.bool("validate_certs")?;
    let _ = args.str("codename")?;
    if repo.is_empty() {
        return Ok(sysutil::failed(
            "Please set argument 'repo' to a non-empty value",
            vec![],
        ));
    }
    if repo.starts_with("ppa:") {
        return Err(ModuleError::Failed(
            "ppa: repositories need Launchpad's API, which baton's apt_repository does not support yet; give the deb line"
                .into(),
        ));
    }
    // --- Round trip 1: every sources file.
    let out = sysutil::run(
        ctx,
        &format!(
            "for f in {SOURCES_LIST} {SOURCES_DIR}/*.list; do [ -f \"$f\" ] || continue; {} \"$f\"; cat \"$f\"; done",
            "printf '\\n%s %s\\n' ".to_string() + sysutil::MARK
        ),
    )
    .await?;
    let mut sources = Sources::default();
    for (file, content) in sections(&out.stdout).into_iter().skip(1) {
        sources
            .files
            .insert(file, content.lines().map(parse_line).collect());
    }
    let before = sources.dump();
    let parsed = parse_line(&repo);
    if !parsed.valid || !parsed.enabled {
        let line = repo.trim().trim_start_matches('#');
        let line = match line.find('#') {
            Some(i) if i > 0 => &line[..i],
            _ => line,
        };
        return Ok(sysutil::failed(
            format!("Invalid repository string: {line}"),
            vec![],
        ));
    }
    let mut new_file = None;
    if state == "present" {
        let file = Sources::suggest_filename(&parsed.source, filename.as_deref());
        new_file = sources.add(&parsed.source, &file);
    } else {
        sources.remove(&parsed.source);
    }
    let after = sources.dump();
    let changed = before != after;
    let mut added: Vec<String> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    let mut diff: Vec<Value> = Vec::new();
    if changed {
        added = after
            .keys()
            .filter(|k| !before.contains_key(*k))
            .cloned()
            .collect();
        removed = before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .cloned()
            .collect();
        if ctx.diff {
            for f in added.iter().chain(removed.iter()) {
                diff.push(value::map([
                    (
                        "before",
                        Value::from(before.get(f).cloned().unwrap_or_default()),
                    ),
                    (
                        "after",
                        Value::from(after.get(f).cloned().unwrap_or_default()),
                    ),
                    (
                        "before_header",
                        Value::from(if before.contains_key(f) {
                            f.as_str()
                        } else {
                            "/dev/null"
                        }),
                    ),
                    (
                        "after_header",
                        Value::from(if after.contains_key(f) {
                            f.as_str()
                        } else {
                            "/dev/null"
                        }),
                    ),
                ]));
            }
        }
    }
    if changed && !ctx.check_mode {
        // --- Round trip 2: the changed files (atomically), then the cache.
        let mut s = String::new();
        for (f, lines) in &sources.files {
            let q = shell_quote(f);
            match after.get(f) {
                Some(content) if before.get(f) != Some(content) => {
                    // Written in a private directory beside the file (see hosttmp), then
                    // renamed over it.
                    s.push_str(&format!(
                        "d=$(dirname {q}); mkdir -p \"$d\"; dst=$(readlink -f {q}); dd=${{dst%/*}}; here=$PWD\n\
                         {private}\
                         if printf '%s' {c} > f && \
                         {{ if [ -e \"$dst\" ]; then chmod --reference=\"$dst\" f; chown --reference=\"$dst\" f; else chmod {m} f; fi; }} && \
                         mv -T -- f \"$dst\"; then W_done; cd -- \"$here\" 2>/dev/null || cd /; else W_done; echo WRITEFAIL={f}; exit 0; fi\n",
                        private = hosttmp::private_dir("W", Place::Beside("\"${dd:-/}\""), Cleanup::Caller)?,
                        c = shell_quote(content),
                        m = match (&mode, new_file.as_deref() == Some(f.as_str())) {
                            (Some(m), true) => shell_quote(m),
                            _ => "0644".into(),
                        },
                        f = f
                    ));
                }
                None if lines.is_empty() => s.push_str(&format!("rm -f {q}\n")),
                _ => {}
            }
        }
        if update_cache {
            s.push_str(&format!(
                "{tmp}i=0; ok=0; while [ $i -lt {r} ]; do if apt-get update -q >\"$T/update\" 2>&1; then ok=1; break; fi; \
                 d=$((1 << i)); [ $d -gt {md} ] && d={md}; i=$((i + 1)); [ $i -lt {r} ] && sleep $d; done\n\
                 if [ $ok = 0 ]; then echo UPDFAIL=1; {sec}; cat \"$T/update\"; fi\n",
                tmp = hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?,
                r = retries.max(1),
                md = max_delay,
                sec = section("updfail"),
            ));
        }
        let out = sysutil::run(ctx, &s).await?;
        let secs = sections(&out.stdout);
        let head = kv(&secs[""]);
        if let Some(f) = head.get("WRITEFAIL") {
            return Ok(sysutil::failed(
                format!("Failed to write to file {f}."),
                vec![],
            ));
        }
        if head.contains_key("UPDFAIL") {
            // revert_sources_list(): put the files back as they were.
            let mut s = String::new();
            for f in &added {
                s.push_str(&format!("rm -f {}\n", shell_quote(f)));
            }
            for (f, content) in &before {
                if after.get(f) != Some(content) {
                    s.push_str(&format!(
                        "printf '%s' {} > {}\n",
                        shell_quote(content),
                        shell_quote(f)
                    ));
                }
            }
            sysutil::run(ctx, &s).await?;
            let why = secs.get("updfail").cloned().unwrap_or_default();
            return Ok(sysutil::failed(
                format!(
                    "Failed to update apt cache after {retries} retries: {}",
                    if why.trim().is_empty() {
                        "unknown reason"
                    } else {
                        why.trim()
                    }
                ),
                vec![],
            ));
        }
    }
    let list = |v: &[String]| -> Value { v.iter().map(|s| Value::from(s.as_str())).collect() };
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(changed));
    r.insert("repo".into(), Value::from(repo.as_str()));
    r.insert("sources_added".into(), list(&added));
    r.insert("sources_removed".into(), list(&removed));
    r.insert("state".into(), Value::from(state.as_str()));
    r.insert("diff".into(), Value::from(diff));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_file_names() {
        let l = parse_line("  deb   [arch=amd64]  http://x/debian  bookworm main  # mine\n");
        assert_eq!(l.source, "deb [arch=amd64] http://x/debian bookworm main");
        assert_eq!(l.comment, "mine");
        assert!(l.valid && l.enabled);
        assert!(!parse_line("# deb http://x/ y main").enabled);
        assert_eq!(
            Sources::suggest_filename(
                "deb [signed-by=/k.gpg] https://user:pw@deb.nodesource.com/node_20.x nodistro main",
                None
            ),
            "deb_nodesource_com_node_20_x.list"
        );
        assert_eq!(
            Sources::suggest_filename("deb http://x/ y main", Some("custom")),
            "custom.list"
        );
    }

    #[test]
    fn add_enables_or_appends_and_remove_drops_enabled_lines() {
        let mut s = Sources::default();
        s.files.insert(
            "/etc/apt/sources.list".into(),
            vec![parse_line("# deb http://a/ b main")],
        );
        assert_eq!(s.add("deb http://a/ b main", "a.list"), None);
        assert!(s.files["/etc/apt/sources.list"][0].enabled);
        assert_eq!(
            s.add("deb http://c/ d main", "c.list").as_deref(),
            Some("/etc/apt/sources.list.d/c.list")
        );
        s.remove("deb http://c/ d main");
        assert_eq!(s.dump().len(), 1);
    }
}
