//! Lookups that read the controller: `file`, `unvault`, `template`, `pipe`/`lines`,
//! `first_found`, `fileglob`. They share Ansible's search path (`Ctx::find_file`) and its
//! error texts, which name where a file was looked for.

use super::{Ctx, LResult, LookupError, Overlay, kw_bool, normalize, str_terms};
use crate::template::filters::py_str;
use crate::value::Value;
use minijinja::value::{Kwargs, ValueKind};
use std::path::{Path, PathBuf};

pub(super) fn file(ctx: &Ctx, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    let lstrip = kw_bool(kwargs, "lstrip", false)?;
    let rstrip = kw_bool(kwargs, "rstrip", true)?;
    let mut out = Vec::new();
    for term in str_terms(terms)? {
        let path = ctx.find_file(Some("files"), &term).ok_or_else(|| {
            LookupError(format!(
                "Unable to access the file '{term}': File not found. Searched {}.",
                searched(ctx, "files", &term)
            ))
        })?;
        // A vault-encrypted file is decrypted, as Ansible's file lookup does.
        let bytes = crate::vault::read_maybe_encrypted(&path).map_err(|e| {
            LookupError(format!("Unable to access the file '{term}': {}", e.message))
        })?;
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if lstrip {
            text = text.trim_start().to_string();
        }
        if rstrip {
            text = text.trim_end().to_string();
        }
        out.push(Value::from(text));
    }
    Ok(out)
}

/// `unvault`: a file's content, decrypted on the controller when vault-encrypted (not stripped).
pub(super) fn unvault(ctx: &Ctx, terms: &[Value]) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    for term in str_terms(terms)? {
        let path = ctx.find_file(Some("files"), &term).ok_or_else(|| {
            LookupError(format!(
                "Unable to find '{term}' in expected paths. Searched {}.",
                searched(ctx, "files", &term)
            ))
        })?;
        let bytes =
            crate::vault::read_maybe_encrypted(&path).map_err(|e| LookupError(e.message))?;
        out.push(Value::from(String::from_utf8_lossy(&bytes).into_owned()));
    }
    Ok(out)
}

/// Where a relative file was looked for, for error messages.
fn searched(ctx: &Ctx, subdir: &str, needle: &str) -> String {
    let mut dirs = ctx.search_path();
    dirs.push(ctx.basedir());
    dirs.dedup();
    dirs.iter()
        .map(|d| format!("{}/{{{subdir}/,}}{needle}", d.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn template(ctx: &Ctx, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    use crate::template::file::{Overrides, Setting};
    let _convert: Option<Value> = kwargs.get("convert_data")?;
    let _native: Option<Value> = kwargs.get("jinja2_native")?;
    let template_vars: Option<Value> = kwargs.get("template_vars")?;
    let mut overrides = Overrides::default();
    for key in [
        "variable_start_string",
        "variable_end_string",
        "block_start_string",
        "block_end_string",
        "comment_start_string",
        "comment_end_string",
        "trim_blocks",
    ] {
        if let Some(v) = kwargs.get::<Option<Value>>(key)? {
            let setting = match v.kind() {
                ValueKind::Bool => Setting::Bool(v.is_true()),
                ValueKind::None => Setting::None,
                _ => Setting::Text(py_str(&v)),
            };
            overrides.set(key, setting).map_err(LookupError)?;
        }
    }
    let base = crate::template::current_context().unwrap_or_else(|| Value::from(()));
    let managed = crate::template::settings().ansible_managed();
    let mut out = Vec::new();
    for term in str_terms(terms)? {
        let path = ctx.find_file(Some("templates"), &term).ok_or_else(|| {
            LookupError(format!(
                "the template file {term} could not be found for the lookup"
            ))
        })?;
        let bytes = crate::vault::read_maybe_encrypted(&path).map_err(|e| {
            LookupError(format!(
                "cannot read the template {}: {}",
                path.display(),
                e.message
            ))
        })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        // The template's variables, then the lookup's `template_vars`, over the caller's.
        let mut extra = crate::template::file::template_vars(&term, &path, None);
        let given: Vec<(String, Value)> = match template_vars.as_ref() {
            Some(vars) if vars.kind() == ValueKind::Map => vars
                .try_iter()?
                .map(|k| (py_str(&k), vars.get_item(&k).unwrap_or_default()))
                .collect(),
            _ => Vec::new(),
        };
        extra.extend(given.iter().cloned());
        crate::template::file::add_managed(&mut extra, managed, &path, &base);
        // `template_vars` win over ansible_managed too.
        extra.extend(given);
        let context = Overlay::value(extra, base.clone());
        // Includes: the template's own directory first, then the search path.
        let first: Vec<PathBuf> = path.parent().map(Path::to_path_buf).into_iter().collect();
        let search = crate::template::file::search_path(&base, &first, &[]);
        let rendered =
            crate::template::file::render_native(&text, &context, &overrides, &search)
                .map_err(|e| LookupError(format!("{} (in {})", e.message, path.display())))?;
        out.push(rendered);
    }
    Ok(out)
}

pub(super) fn pipe(ctx: &Ctx, terms: &[Value], lines: bool) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    for term in terms {
        let cmd = py_str(term);
        let output = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&cmd)
            .current_dir(ctx.basedir())
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| LookupError(format!("cannot run /bin/sh for '{cmd}': {e}")))?;
        let code = output.status.code().unwrap_or(-1);
        if code != 0 {
            let what = if lines { "lines" } else { "pipe" };
            return Err(LookupError(format!(
                "lookup_plugin.{what}({cmd}) returned {code}"
            )));
        }
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if lines {
            out.extend(text.lines().map(Value::from));
        } else {
            out.push(Value::from(text.trim_end()));
        }
    }
    Ok(out)
}

fn split_on(v: &Value, seps: &[char]) -> LResult<Vec<String>> {
    Ok(match v.kind() {
        ValueKind::String => v
            .as_str()
            .unwrap_or("")
            .split(|c| seps.contains(&c))
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        ValueKind::Seq => {
            let mut out = Vec::new();
            for item in v.try_iter()? {
                out.extend(split_on(&item, seps)?);
            }
            out
        }
        ValueKind::None | ValueKind::Undefined => Vec::new(),
        _ => vec![py_str(v)],
    })
}

pub(super) fn first_found(ctx: &Ctx, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    let kw_files = kwargs.get::<Option<Value>>("files")?;
    let kw_paths = kwargs.get::<Option<Value>>("paths")?;
    let mut skip = kw_bool(kwargs, "skip", false)?;
    let subdir = ctx.with_action.as_deref().map(|action| {
        // Ansible picks the subdirectory from the task's action name.
        if action.contains("template") {
            "templates"
        } else if action.contains("var") {
            "vars"
        } else {
            "files"
        }
    });
    let global_paths = match &kw_paths {
        Some(p) => split_on(p, &[',', ':', ';'])?,
        None => Vec::new(),
    };
    let mut search: Vec<String> = Vec::new();
    fn process(
        term: &Value,
        paths: &[String],
        skip: &mut bool,
        out: &mut Vec<String>,
    ) -> LResult<()> {
        let (files, paths) = match term.kind() {
            ValueKind::Map => {
                let files = split_on(&term.get_attr("files").unwrap_or_default(), &[',', ';'])?;
                let p = term.get_attr("paths").unwrap_or_default();
                let paths = if p.is_undefined() {
                    paths.to_vec()
                } else {
                    split_on(&p, &[',', ':', ';'])?
                };
                if let Ok(s) = term.get_attr("skip")
                    && !s.is_undefined()
                {
                    *skip = s.is_true();
                }
                (files, paths)
            }
            ValueKind::String => (split_on(term, &[',', ';'])?, paths.to_vec()),
            ValueKind::Seq => {
                for t in term.try_iter()? {
                    process(&t, paths, skip, out)?;
                }
                return Ok(());
            }
            _ => {
                return Err(LookupError(format!(
                    "Invalid term supplied. A string, dict or list is required, not '{}'.",
                    crate::template::filters::py_type(term)
                )));
            }
        };
        if paths.is_empty() {
            out.extend(files);
        } else {
            for p in &paths {
                for f in &files {
                    out.push(format!("{}/{f}", p.trim_end_matches('/')));
                }
            }
        }
        Ok(())
    }
    let terms: Vec<Value> = if terms.is_empty() {
        kw_files.into_iter().collect()
    } else {
        terms.to_vec()
    };
    for t in &terms {
        process(t, &global_paths, &mut skip, &mut search)?;
    }
    for f in &search {
        if let Some(p) = ctx.find_file(subdir, f) {
            return Ok(vec![Value::from(p.display().to_string())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(LookupError(
        "No file was found when using first_found.".into(),
    ))
}

/// Regular files in `dir` whose names match `pattern`, sorted.
fn glob_dir(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let pat = crate::text::fnmatch::Pattern::new(pattern);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (!name.starts_with('.') || pattern.starts_with('.')) && pat.is_match(&name)
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

pub(super) fn fileglob(ctx: &Ctx, terms: &[Value]) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    for term in str_terms(terms)? {
        let base = crate::template::filters::basename(&term).to_string();
        let dirs: Vec<PathBuf> = if base != term {
            let dir = crate::template::filters::dirname(&term);
            ctx.find_file(Some("files"), &dir).into_iter().collect()
        } else {
            ctx.search_path()
                .into_iter()
                .flat_map(|p| [p.join("files"), p])
                .collect()
        };
        for d in dirs {
            let found = glob_dir(&d, &base);
            if !found.is_empty() {
                out.extend(
                    found
                        .into_iter()
                        .map(|p| Value::from(normalize(&p).display().to_string())),
                );
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx_with, scratch};

    #[test]
    fn file_lookup_searches_files_then_the_playbook_dir() {
        let d = scratch("file");
        std::fs::write(d.join("files/a.txt"), "in files\n").unwrap();
        std::fs::write(d.join("b.txt"), "top\n").unwrap();
        let ctx = ctx_with(&d);
        let r = |t: &str| crate::template::render_str(t, &ctx);
        assert_eq!(
            r("{{ lookup('file', 'a.txt') }}").unwrap().as_str(),
            Some("in files")
        );
        assert_eq!(
            r("{{ lookup('file', 'b.txt') }}").unwrap().as_str(),
            Some("top")
        );
        assert_eq!(
            r("{{ lookup('file', 'a.txt', 'b.txt') }}")
                .unwrap()
                .as_str(),
            Some("in files,top")
        );
        assert_eq!(
            r("{{ query('file', 'a.txt') | length }}").unwrap().as_i64(),
            Some(1)
        );
        let e = r("{{ lookup('file', 'nope.txt') }}").unwrap_err();
        assert!(
            e.message.contains("lookup plugin 'file'") && e.message.contains("nope.txt"),
            "{e}"
        );
        assert!(
            r("{{ lookup('file', 'nope.txt', errors='ignore') }}")
                .unwrap()
                .is_none()
        );
        let e = r("{{ lookup('no_such', 'x') }}").unwrap_err();
        assert!(e.message.contains("'no_such' was not found"), "{e}");
    }

    #[test]
    fn fileglob_skips_dot_files_unless_asked() {
        let d = scratch("glob");
        for f in ["files/a.txt", "files/b.log", "files/.h.txt"] {
            std::fs::write(d.join(f), "x").unwrap();
        }
        let ctx = ctx_with(&d);
        let r = |t: &str| crate::template::render_text(t, &ctx).unwrap();
        let base = d.join("files").display().to_string();
        assert_eq!(
            r("{{ query('fileglob', '*.txt') }}"),
            format!("['{base}/a.txt']")
        );
        assert_eq!(
            r("{{ query('fileglob', '.*.txt') }}"),
            format!("['{base}/.h.txt']")
        );
        assert_eq!(
            r("{{ query('fileglob', '[!a]*') }}"),
            format!("['{base}/b.log']")
        );
    }
}
