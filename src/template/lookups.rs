//! Lookups: `lookup(name, terms...)`, `query(...)`/`q(...)` and the `with_<name>` loops built on
//! them, plus the other globals Ansible adds to Jinja (`now()`, Python's `dict()`).
//!
//! Lookups run on the controller, as Ansible's do. Relative paths are searched the way Ansible
//! searches them: in each directory of the task's search path (`ansible_search_path` when the
//! executor sets it, else the role's `role_path` and the playbook's directory, read from the
//! `playbook_dir` variable), first under the lookup's subdirectory (`files/`, `templates/`),
//! then directly. A lookup's result is munged as Ansible's `lookup()` munges it (one item
//! unwrapped, several strings joined with commas) unless `wantlist=True` or `query` is used.
//! Errors name the lookup and say what went wrong; `errors='warn'|'ignore'` turn them into
//! `None` (or `[]` with wantlist). The password lookup never puts the secret in a message.

use super::crypt;
use super::filters::{err, py_str};
use super::pyrandom::{PyRandom, Seed};
use crate::value::{self, Value};
use minijinja::value::{Kwargs, Object, Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Registers `lookup`, `query`, `q` and the other global functions.
pub fn register(env: &mut Environment<'static>) {
    env.add_function(
        "lookup",
        |state: &State, name: String, args: Rest<ValueOrKwargs>| {
            call(state, &name, &args.into_values(), false)
        },
    );
    env.add_function(
        "query",
        |state: &State, name: String, args: Rest<ValueOrKwargs>| {
            call(state, &name, &args.into_values(), true)
        },
    );
    env.add_function(
        "q",
        |state: &State, name: String, args: Rest<ValueOrKwargs>| {
            call(state, &name, &args.into_values(), true)
        },
    );
    env.add_function("now", |kwargs: Kwargs| -> Result<Value, Error> {
        let utc = kwargs.get::<Option<bool>>("utc")?.unwrap_or(false);
        let fmt: Option<String> = kwargs.get("fmt")?;
        kwargs.assert_all_used()?;
        Ok(super::filters::now(utc, fmt))
    });
    env.add_function("dict", dict);
    env.add_function("range", py_range);
    env.add_function("undef", |hint: Option<String>| -> Result<Value, Error> {
        let _ = hint;
        Ok(Value::UNDEFINED)
    });
}

/// The most items a `range()` may have: ten million (a quarter of a gigabyte once a loop or
/// `| list` holds them all). Jinja has no cap, but past memory Python fails too; baton says so
/// first. minijinja's own `range` stops at 100,000, well below loops users write.
const MAX_RANGE: i128 = 10_000_000;

/// Python's `range(stop)` / `range(start, stop[, step])`, lazily iterated.
fn py_range(a: i64, b: Option<i64>, step: Option<i64>) -> Result<Value, Error> {
    let (start, stop) = match b {
        Some(b) => (a, b),
        None => (0, a),
    };
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "range() arg 3 must not be zero",
        ));
    }
    let (start, stop, step) = (start as i128, stop as i128, step as i128);
    let len = if step > 0 && start < stop {
        (stop - start + step - 1) / step
    } else if step < 0 && start > stop {
        (start - stop - step - 1) / -step
    } else {
        0
    };
    if len > MAX_RANGE {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("range() of {len} items is more than baton holds ({MAX_RANGE})"),
        ));
    }
    Ok(Value::make_iterable(move || {
        (0..len).map(move |i| Value::from((start + i * step) as i64))
    }))
}

/// Python's `dict(iterable_or_mapping, **kwargs)`.
fn dict(args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    for a in args.iter() {
        if a.is_kwargs() || a.kind() == ValueKind::Map {
            for k in a.try_iter()? {
                pairs.push((k.clone(), a.get_item(&k)?));
            }
        } else {
            for item in a.try_iter()? {
                let kv: Vec<Value> = item.try_iter()?.collect();
                if kv.len() != 2 {
                    return Err(err(format!(
                        "dictionary update sequence element has length {}; 2 is required",
                        kv.len()
                    )));
                }
                pairs.push((kv[0].clone(), kv[1].clone()));
            }
        }
    }
    // Later keys win, but keep the first position, as a Python dict does.
    let mut map: indexmap::IndexMap<Value, Value> = indexmap::IndexMap::new();
    for (k, v) in pairs {
        map.insert(k, v);
    }
    Ok(Value::from_object(map))
}

/// Runs a `with_<name>` loop's lookup: `terms` is the loop's list (or single value) and
/// `action` the task's module name (first_found looks in `templates/`, `vars/` or `files/`
/// depending on it, as Ansible does). Returns the list of items.
pub fn loop_items(
    name: &str,
    terms: &Value,
    action: &str,
    ctx: &Value,
) -> Result<Value, crate::diagnostics::Error> {
    let overlay = Value::from_object(Overlay {
        extra: [
            ("__baton_lookup".to_string(), Value::from(name)),
            ("__baton_terms".to_string(), terms.clone()),
            ("__baton_action".to_string(), Value::from(action)),
        ]
        .into_iter()
        .collect(),
        base: ctx.clone(),
    });
    let expr = "query(__baton_lookup, __baton_with=__baton_action, __baton_terms=__baton_terms)";
    super::eval_expression(expr, &overlay)
        .map_err(|e| e.context(format!("in the with_{name} loop")))
}

/// A context with a few extra variables on top of another one.
#[derive(Debug)]
pub(crate) struct Overlay {
    pub extra: indexmap::IndexMap<String, Value>,
    pub base: Value,
}

impl Object for Overlay {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(v) = key.as_str().and_then(|k| self.extra.get(k)) {
            return Some(v.clone());
        }
        let v = self.base.get_item(key).ok()?;
        (!v.is_undefined()).then_some(v)
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        let mut keys: Vec<Value> = self.extra.keys().map(|k| Value::from(k.as_str())).collect();
        if let Ok(it) = self.base.try_iter() {
            keys.extend(it);
        }
        minijinja::value::Enumerator::Values(keys)
    }
}

/// What a lookup plugin sees: the template state (for variables) and how it was invoked.
struct Ctx<'a, 'b, 'c> {
    state: &'a State<'b, 'c>,
    /// For `with_first_found`: the task's action.
    with_action: Option<String>,
}

impl Ctx<'_, '_, '_> {
    fn var(&self, name: &str) -> Option<Value> {
        self.state.lookup(name).filter(|v| !v.is_undefined())
    }

    /// The playbook's directory (relative paths in lookups start there).
    fn basedir(&self) -> PathBuf {
        match self
            .var("playbook_dir")
            .and_then(|v| v.as_str().map(PathBuf::from))
        {
            Some(p) => p,
            None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }

    /// The directories a relative path is looked up in.
    fn search_path(&self) -> Vec<PathBuf> {
        if let Some(paths) = self.var("ansible_search_path")
            && paths.kind() == ValueKind::Seq
            && let Ok(it) = paths.try_iter()
        {
            return it.map(|p| PathBuf::from(py_str(&p))).collect();
        }
        let mut out = Vec::new();
        if let Some(r) = self.var("role_path") {
            out.push(PathBuf::from(py_str(&r)));
        }
        out.push(self.basedir());
        out
    }

    /// Ansible's `find_file_in_search_path`: `dir/subdir/needle`, then `dir/needle`, for each
    /// directory of the search path and finally the playbook's directory.
    fn find_file(&self, subdir: Option<&str>, needle: &str) -> Option<PathBuf> {
        if needle.starts_with('/') || needle.starts_with('~') {
            let p = PathBuf::from(expand_home(needle));
            return p.exists().then(|| normalize(&p));
        }
        let first = needle.split('/').next().unwrap_or("");
        let mut candidates = Vec::new();
        let mut dirs = self.search_path();
        dirs.push(self.basedir());
        for dir in dirs {
            if let Some(sub) = subdir
                && first != sub
            {
                candidates.push(dir.join(sub).join(needle));
            }
            candidates.push(dir.join(needle));
        }
        candidates
            .into_iter()
            .find(|c| c.exists())
            .map(|c| normalize(&c))
    }
}

fn expand_home(p: &str) -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/".into());
    if p == "~" {
        home
    } else if let Some(rest) = p.strip_prefix("~/") {
        format!("{}/{rest}", home.trim_end_matches('/'))
    } else {
        p.to_string()
    }
}

fn normalize(p: &Path) -> PathBuf {
    PathBuf::from(super::filters::normpath(&p.display().to_string()))
}

/// The lookup failed; `msg` says why, without the lookup's name (added by the caller).
struct LookupError(String);

impl From<Error> for LookupError {
    fn from(e: Error) -> Self {
        LookupError(
            e.detail()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
        )
    }
}

impl From<String> for LookupError {
    fn from(s: String) -> Self {
        LookupError(s)
    }
}

type LResult<T> = Result<T, LookupError>;

/// `lookup()` / `query()`.
fn call(state: &State, name: &str, args: &[Value], query: bool) -> Result<Value, Error> {
    let (mut terms, kwargs): (Vec<Value>, Option<Kwargs>) = match args.last() {
        Some(last) if last.is_kwargs() => (
            args[..args.len() - 1].to_vec(),
            Some(Kwargs::try_from(last.clone())?),
        ),
        _ => (args.to_vec(), None),
    };
    let kwargs = kwargs.unwrap_or_else(|| Kwargs::from_iter(std::iter::empty::<(String, Value)>()));
    let wantlist = query
        || kwargs
            .get::<Option<Value>>("wantlist")?
            .is_some_and(|w| w.is_true());
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    let with_action: Option<String> = kwargs.get("__baton_with")?;
    if let Some(t) = kwargs.get::<Option<Value>>("__baton_terms")? {
        terms = match t.kind() {
            ValueKind::Seq => t.try_iter()?.collect(),
            _ => vec![t],
        };
    }
    // An undefined term makes the lookup's result undefined (an error once it is used).
    if terms.iter().any(|t| t.is_undefined()) {
        return Ok(Value::UNDEFINED);
    }
    let name = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    let ctx = Ctx { state, with_action };
    let result = run_plugin(&ctx, name, &terms, &kwargs).and_then(|r| {
        kwargs
            .assert_all_used()
            .map_err(|e| LookupError(e.detail().unwrap_or("unknown option").to_string()))?;
        Ok(r)
    });
    let items = match result {
        Ok(items) => items,
        Err(LookupError(msg)) if msg == "__not_found__" => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("The lookup plugin '{name}' was not found."),
            ));
        }
        Err(LookupError(msg)) => match errors.as_str() {
            "warn" => {
                eprintln!(
                    "[WARNING]: An error occurred while running the lookup plugin '{name}': {msg}"
                );
                return Ok(if wantlist {
                    Value::from(Vec::<Value>::new())
                } else {
                    Value::from(())
                });
            }
            "ignore" => {
                return Ok(if wantlist {
                    Value::from(Vec::<Value>::new())
                } else {
                    Value::from(())
                });
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("The lookup plugin '{name}' failed: {msg}"),
                ));
            }
        },
    };
    // A lookup's results are data (a file's text, a command's output): never templated again.
    let items: Vec<Value> = items.into_iter().map(value::untrusted).collect();
    if wantlist {
        return Ok(Value::from(items));
    }
    Ok(match items.len() {
        0 => Value::from(items),
        1 => items.into_iter().next().unwrap_or_default(),
        _ if items.iter().all(|i| i.kind() == ValueKind::String) => value::untrusted(Value::from(
            items
                .iter()
                .map(|i| i.as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
                .join(","),
        )),
        _ => Value::from(items),
    })
}

fn run_plugin(ctx: &Ctx, name: &str, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    match name {
        "file" => file(ctx, terms, kwargs),
        "unvault" => unvault(ctx, terms),
        "env" => env_lookup(terms, kwargs),
        "template" => template(ctx, terms, kwargs),
        "pipe" => pipe(ctx, terms, false),
        "lines" => pipe(ctx, terms, true),
        "first_found" => first_found(ctx, terms, kwargs),
        "fileglob" => fileglob(ctx, terms),
        "vars" => vars(ctx, terms, kwargs),
        "items" => Ok(flatten_once(terms)?),
        "list" => Ok(terms.to_vec()),
        "indexed_items" => Ok(flatten_once(terms)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| Value::from(vec![Value::from(i), v]))
            .collect()),
        "dict" => dict_items(terms),
        "sequence" => sequence(terms, kwargs),
        "nested" | "cartesian" => nested(terms),
        "together" => together(terms),
        "random_choice" => {
            if terms.is_empty() {
                return Ok(Vec::new());
            }
            let i = crypt::os_random_below(terms.len())?;
            Ok(vec![terms[i].clone()])
        }
        "password" => password(ctx, terms, kwargs),
        _ => Err(LookupError("__not_found__".into())),
    }
}

fn str_terms(terms: &[Value]) -> LResult<Vec<String>> {
    terms
        .iter()
        .map(|t| match t.kind() {
            ValueKind::String | ValueKind::Number | ValueKind::Bool => Ok(py_str(t)),
            other => Err(LookupError(format!(
                "the term must be a string, got {other}: {}",
                py_str(t)
            ))),
        })
        .collect()
}

fn kw_bool(kwargs: &Kwargs, name: &str, default: bool) -> LResult<bool> {
    Ok(kwargs
        .get::<Option<Value>>(name)?
        .map(|v| {
            super::filters::bool_filter(v.clone()) || (v.kind() == ValueKind::Bool && v.is_true())
        })
        .unwrap_or(default))
}

fn file(ctx: &Ctx, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
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
fn unvault(ctx: &Ctx, terms: &[Value]) -> LResult<Vec<Value>> {
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

fn env_lookup(terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    let default = kwargs
        .get::<Option<Value>>("default")?
        .unwrap_or_else(|| Value::from(""));
    Ok(str_terms(terms)?
        .into_iter()
        .map(|t| match std::env::var(&t) {
            Ok(v) => Value::from(v),
            Err(_) => default.clone(),
        })
        .collect())
}

fn template(ctx: &Ctx, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    let _convert: Option<Value> = kwargs.get("convert_data")?;
    let _native: Option<Value> = kwargs.get("jinja2_native")?;
    let template_vars: Option<Value> = kwargs.get("template_vars")?;
    let mut syntax = minijinja::syntax::SyntaxConfig::builder();
    let mut custom = false;
    let (mut vs, mut ve, mut bs, mut be, mut cs, mut ce) = (
        "{{".to_string(),
        "}}".to_string(),
        "{%".to_string(),
        "%}".to_string(),
        "{#".to_string(),
        "#}".to_string(),
    );
    for (key, slot) in [
        ("variable_start_string", &mut vs),
        ("variable_end_string", &mut ve),
        ("block_start_string", &mut bs),
        ("block_end_string", &mut be),
        ("comment_start_string", &mut cs),
        ("comment_end_string", &mut ce),
    ] {
        if let Some(v) = kwargs.get::<Option<String>>(key)? {
            *slot = v;
            custom = true;
        }
    }
    let base = super::current_context().unwrap_or_else(|| Value::from(()));
    let context = match template_vars.filter(|v| v.kind() == ValueKind::Map) {
        Some(vars) => {
            let extra = vars
                .try_iter()?
                .map(|k| (py_str(&k), vars.get_item(&k).unwrap_or_default()))
                .collect();
            Value::from_object(Overlay { extra, base })
        }
        None => base,
    };
    let mut out = Vec::new();
    for term in str_terms(terms)? {
        let path = ctx.find_file(Some("templates"), &term).ok_or_else(|| {
            LookupError(format!(
                "the template file {term} could not be found for the lookup"
            ))
        })?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            LookupError(format!("cannot read the template {}: {e}", path.display()))
        })?;
        let rendered = if custom {
            let cfg = syntax
                .block_delimiters(bs.clone(), be.clone())
                .variable_delimiters(vs.clone(), ve.clone())
                .comment_delimiters(cs.clone(), ce.clone())
                .trim_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .map_err(|e| LookupError(format!("invalid delimiters: {e}")))?;
            syntax = minijinja::syntax::SyntaxConfig::builder();
            super::render_with_syntax(&text, &context, cfg)
        } else {
            super::render_text(&text, &context)
        }
        .map_err(|e| LookupError(format!("{} (in {})", e.message, path.display())))?;
        out.push(Value::from(rendered));
    }
    Ok(out)
}

fn pipe(ctx: &Ctx, terms: &[Value], lines: bool) -> LResult<Vec<Value>> {
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

fn first_found(ctx: &Ctx, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
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
                    super::filters::py_type(term)
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

/// Python's fnmatch for one path component (`*`, `?`, `[...]`), dot files only by a dot.
fn fnmatch(pat: &[char], name: &[char]) -> bool {
    match (pat.first(), name.first()) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some('*'), _) => (0..=name.len()).any(|i| fnmatch(&pat[1..], &name[i..])),
        (Some(_), None) => false,
        (Some('?'), Some(_)) => fnmatch(&pat[1..], &name[1..]),
        (Some('['), Some(&c)) => match pat.iter().skip(1).position(|&x| x == ']') {
            Some(close) if close > 0 || pat.get(2) == Some(&']') => {
                let close = close + 1;
                let set = &pat[1..close];
                let (negate, set) = match set.first() {
                    Some('!') => (true, &set[1..]),
                    _ => (false, set),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= c && c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == c;
                        i += 1;
                    }
                }
                hit != negate && fnmatch(&pat[close + 1..], &name[1..])
            }
            _ => c == '[' && fnmatch(&pat[1..], &name[1..]),
        },
        (Some(p), Some(c)) => p == c && fnmatch(&pat[1..], &name[1..]),
    }
}

/// Regular files in `dir` whose names match `pattern`, sorted.
fn glob_dir(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let pat: Vec<char> = pattern.chars().collect();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (!name.starts_with('.') || pattern.starts_with('.'))
                && fnmatch(&pat, &name.chars().collect::<Vec<_>>())
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn fileglob(ctx: &Ctx, terms: &[Value]) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    for term in str_terms(terms)? {
        let base = super::filters::basename(&term).to_string();
        let dirs: Vec<PathBuf> = if base != term {
            let dir = super::filters::dirname(&term);
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

fn vars(ctx: &Ctx, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    let default: Option<Value> = kwargs.get("default")?;
    let mut out = Vec::new();
    for term in terms {
        let Some(name) = term.as_str() else {
            return Err(LookupError(format!(
                "Invalid setting identifier, \"{}\" is not a string, it is a {}",
                py_str(term),
                super::filters::py_type(term)
            )));
        };
        match ctx.state.lookup(name) {
            Some(v) if !v.is_undefined() => {
                // A variable whose template fails is an error value: surface it.
                v.clone().try_iter().ok();
                out.push(v);
            }
            _ => match &default {
                Some(d) => out.push(d.clone()),
                None => {
                    return Err(LookupError(format!(
                        "No variable named '{name}' was found."
                    )));
                }
            },
        }
    }
    Ok(out)
}

fn flatten_once(terms: &[Value]) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    for t in terms {
        if t.kind() == ValueKind::Seq {
            out.extend(t.try_iter()?);
        } else {
            out.push(t.clone());
        }
    }
    Ok(out)
}

fn dict_items(terms: &[Value]) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    for t in terms {
        if t.kind() != ValueKind::Map {
            return Err(LookupError(format!(
                "with_dict expects a dict, got {}",
                super::filters::py_type(t)
            )));
        }
        for k in t.try_iter()? {
            let v = t.get_item(&k).unwrap_or_default();
            out.push(value::map([("key", k), ("value", v)]));
        }
    }
    Ok(out)
}

fn sequence(terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    let kw = |name: &str| -> LResult<Option<String>> {
        Ok(kwargs.get::<Option<Value>>(name)?.map(|v| py_str(&v)))
    };
    let (kstart, kend, kcount, kstride, kformat) = (
        kw("start")?,
        kw("end")?,
        kw("count")?,
        kw("stride")?,
        kw("format")?,
    );
    let terms: Vec<String> = if terms.is_empty() {
        vec![String::new()]
    } else {
        str_terms(terms)?
    };
    for term in terms {
        let (mut start, mut end, mut count, mut stride, mut format) = (
            Some("1".to_string()),
            None,
            None,
            Some("1".to_string()),
            Some("%d".to_string()),
        );
        let term = term.trim();
        if term.contains('=') || term.is_empty() {
            for part in term.split_whitespace() {
                let (k, v) = part
                    .split_once('=')
                    .ok_or_else(|| LookupError(format!("can't parse arg {part}")))?;
                let v = v.trim_matches(['"', '\'']).to_string();
                match k {
                    "start" => start = Some(v),
                    "end" => end = Some(v),
                    "count" => count = Some(v),
                    "stride" => stride = Some(v),
                    "format" => format = Some(v),
                    other => {
                        return Err(LookupError(format!(
                            "unrecognized arguments to with_sequence: ['{other}']"
                        )));
                    }
                }
            }
        } else {
            // Shortcut form: [start-]end[/stride][:format]
            let (rest, fmt) = match term.split_once(':') {
                Some((r, f)) => (r, Some(f.to_string())),
                None => (term, None),
            };
            let (rest, st) = match rest.split_once('/') {
                Some((r, s)) => (r, Some(s.to_string())),
                None => (rest, None),
            };
            match rest.split_once('-') {
                Some((a, b)) => {
                    start = Some(a.to_string());
                    end = Some(b.to_string());
                }
                None => end = Some(rest.to_string()),
            }
            if st.is_some() {
                stride = st;
            }
            if fmt.is_some() {
                format = fmt;
            }
        }
        for (slot, v) in [
            (&mut start, &kstart),
            (&mut end, &kend),
            (&mut count, &kcount),
            (&mut stride, &kstride),
            (&mut format, &kformat),
        ] {
            if v.is_some() {
                *slot = v.clone();
            }
        }
        let parse = |s: &str| -> LResult<i64> {
            let t = s.trim();
            let v = if let Some(h) = t.strip_prefix("0x") {
                i64::from_str_radix(h, 16).ok()
            } else if let Some(o) = t.strip_prefix("0o") {
                i64::from_str_radix(o, 8).ok()
            } else {
                t.parse().ok()
            };
            v.ok_or_else(|| LookupError(format!("can't parse integer '{s}'")))
        };
        let start = parse(start.as_deref().unwrap_or("1"))?;
        let stride = parse(stride.as_deref().unwrap_or("1"))?;
        let end = match (&end, &count) {
            (Some(_), Some(_)) => {
                return Err(LookupError(
                    "can't specify both count and end in with_sequence".into(),
                ));
            }
            (Some(e), None) => parse(e)?,
            (None, Some(c)) => {
                let c = parse(c)?;
                if c == 0 {
                    continue;
                }
                start + (c - 1) * stride
            }
            (None, None) => {
                return Err(LookupError(
                    "must specify count or end in with_sequence".into(),
                ));
            }
        };
        if stride == 0 {
            return Err(LookupError("stride must not be zero".into()));
        }
        if (stride > 0 && end < start) || (stride < 0 && end > start) {
            return Err(LookupError(
                "to count backwards make stride negative".into(),
            ));
        }
        let fmt = format.unwrap_or_else(|| "%d".into());
        let mut i = start;
        let mut n = 0usize;
        while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
            out.push(Value::from(
                super::filters::percent_format(&fmt, &[Value::from(i)], None)
                    .map_err(LookupError::from)?,
            ));
            i += stride;
            n += 1;
            if n > 1_000_000 {
                return Err(LookupError("the sequence is too long".into()));
            }
        }
    }
    Ok(out)
}

fn nested(terms: &[Value]) -> LResult<Vec<Value>> {
    let lists: Vec<Vec<Value>> = terms
        .iter()
        .map(|t| -> LResult<Vec<Value>> {
            Ok(match t.kind() {
                ValueKind::Seq => t.try_iter()?.collect(),
                _ => vec![t.clone()],
            })
        })
        .collect::<LResult<_>>()?;
    if lists.is_empty() {
        return Err(LookupError(
            "with_nested requires at least one element in the nested list".into(),
        ));
    }
    let mut result: Vec<Vec<Value>> = vec![Vec::new()];
    for l in &lists {
        result = result
            .into_iter()
            .flat_map(|r| {
                l.iter().map(move |x| {
                    let mut r = r.clone();
                    r.push(x.clone());
                    r
                })
            })
            .collect();
    }
    Ok(result.into_iter().map(Value::from).collect())
}

fn together(terms: &[Value]) -> LResult<Vec<Value>> {
    let lists: Vec<Vec<Value>> = terms
        .iter()
        .map(|t| -> LResult<Vec<Value>> { Ok(t.try_iter()?.collect()) })
        .collect::<LResult<_>>()?;
    if lists.is_empty() {
        return Err(LookupError(
            "with_together requires at least one element in each list".into(),
        ));
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..n)
        .map(|i| {
            Value::from(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        })
        .map(|v| {
            // Missing entries are None, not undefined.
            Value::from(
                v.try_iter()
                    .map(|it| {
                        it.map(|x| if x.is_undefined() { Value::from(()) } else { x })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// password

/// Serialises password lookups in this process: two hosts asking for the same new password
/// file at once must get the same password, not race to write two.
static PASSWORD_LOCK: Mutex<()> = Mutex::new(());

/// Python's `string` module constants, which `chars=` may name.
fn char_set(name: &str) -> Option<&'static str> {
    Some(match name {
        "ascii_letters" => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "ascii_lowercase" => "abcdefghijklmnopqrstuvwxyz",
        "ascii_uppercase" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "digits" => "0123456789",
        "hexdigits" => "0123456789abcdefABCDEF",
        "octdigits" => "01234567",
        "punctuation" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "printable" => {
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \t\n\r\x0b\x0c"
        }
        "whitespace" => " \t\n\r\x0b\x0c",
        _ => return None,
    })
}

/// Splits `k=v k2='v 2'` the way Ansible's parse_kv does for the simple cases.
fn parse_kv(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut token = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match quote {
                Some(q) if c == q => {
                    quote = None;
                    chars.next();
                }
                Some(_) => {
                    token.push(c);
                    chars.next();
                }
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    chars.next();
                }
                None if c.is_whitespace() => break,
                None => {
                    token.push(c);
                    chars.next();
                }
            }
        }
        match token.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), v.to_string())),
            None => out.push(("_raw_params".to_string(), token)),
        }
    }
    out
}

fn password(ctx: &Ctx, terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    let kw_str = |name: &str| -> LResult<Option<String>> {
        Ok(kwargs.get::<Option<Value>>(name)?.map(|v| py_str(&v)))
    };
    let (k_length, k_chars, k_encrypt, k_seed, k_ident) = (
        kw_str("length")?,
        kw_str("chars")?,
        kw_str("encrypt")?,
        kw_str("seed")?,
        kw_str("ident")?,
    );
    for term in str_terms(terms)? {
        let (relpath, params) = match term.split_once(' ') {
            Some((p, rest)) => (p.to_string(), parse_kv(rest)),
            None => (term.clone(), Vec::new()),
        };
        let mut length = k_length.clone();
        let mut chars = k_chars.clone();
        let mut encrypt = k_encrypt.clone();
        let mut seed = k_seed.clone();
        let mut ident = k_ident.clone();
        for (k, v) in params {
            match k.as_str() {
                "length" => length = Some(v),
                "chars" => chars = Some(v),
                "encrypt" => encrypt = Some(v),
                "seed" => seed = Some(v),
                "ident" => ident = Some(v),
                "_raw_params" => {
                    return Err(LookupError(
                        "Unrecognized value after key=value parameters given to password lookup"
                            .into(),
                    ));
                }
                other => {
                    return Err(LookupError(format!(
                        "Unrecognized parameter(s) given to password lookup: {other}"
                    )));
                }
            }
        }
        let length: usize = match length {
            Some(l) => l
                .trim()
                .parse()
                .map_err(|_| LookupError(format!("the length must be an integer, not '{l}'")))?,
            None => 20,
        };
        let chars: String = {
            let specs: Vec<String> = match chars {
                Some(c) => {
                    let mut specs = Vec::new();
                    if c.contains(",,") {
                        specs.push(",".to_string());
                    }
                    specs.extend(
                        c.replace(",,", ",")
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(String::from),
                    );
                    specs
                }
                None => vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
            };
            specs
                .iter()
                .map(|s| char_set(s).map(str::to_string).unwrap_or_else(|| s.clone()))
                .collect::<String>()
                .replace(['"', '\''], "")
        };
        if chars.is_empty() {
            return Err(LookupError(
                "the password lookup needs at least one character to choose from".into(),
            ));
        }
        let path = if relpath.starts_with('/') {
            PathBuf::from(&relpath)
        } else if relpath.starts_with('~') {
            PathBuf::from(expand_home(&relpath))
        } else {
            ctx.basedir().join(&relpath)
        };
        let devnull = path == Path::new("/dev/null");
        let scheme = match encrypt.as_deref() {
            None | Some("") => None,
            Some(e) => Some(crypt::Scheme::from_name(e).ok_or_else(|| {
                LookupError(format!("unsupported encrypt algorithm '{e}' (baton supports md5_crypt, sha256_crypt, sha512_crypt)"))
            })?),
        };

        let _guard = PASSWORD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let content = if devnull {
            None
        } else {
            match std::fs::read(&path) {
                Ok(bytes) => Some(String::from_utf8_lossy(&bytes).trim_end().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(LookupError(format!(
                        "cannot read the password file {}: {e}",
                        path.display()
                    )));
                }
            }
        };
        let mut changed = false;
        let (plaintext, mut salt, stored_ident) = match content {
            Some(c) => {
                let (p, s, i) = parse_content(&c);
                (p, s, i)
            }
            None => {
                changed = true;
                (
                    random_password(length, &chars, seed.as_deref())?,
                    None,
                    None,
                )
            }
        };
        if scheme.is_some() && salt.is_none() {
            changed = true;
            salt = Some(crypt::random_salt(
                scheme.map(|s| s.salt_size()).unwrap_or(8),
            )?);
        }
        if let (Some(stored), Some(wanted)) = (&stored_ident, &ident)
            && stored != wanted
        {
            return Err(LookupError(format!(
                "The ident parameter provided ({wanted}) does not match the stored one ({stored})."
            )));
        }
        let ident = stored_ident.or(ident);
        if changed && !devnull {
            let mut text = plaintext.clone();
            if let Some(s) = &salt {
                text.push_str(&format!(" salt={s}"));
                if let Some(i) = &ident {
                    text.push_str(&format!(" ident={i}"));
                }
            }
            text.push('\n');
            write_secret(&path, &text)?;
        }
        drop(_guard);
        match scheme {
            Some(s) => out.push(Value::from(
                crypt::crypt(
                    s,
                    plaintext.as_bytes(),
                    salt.as_deref().unwrap_or(""),
                    s.ansible_rounds(),
                )
                .map_err(LookupError)?,
            )),
            None => out.push(Value::from(plaintext)),
        }
    }
    Ok(out)
}

/// Password, salt and ident from a password file's line (`pw salt=... ident=...`).
fn parse_content(content: &str) -> (String, Option<String>, Option<String>) {
    match content.rfind(" salt=") {
        None => (content.to_string(), None, None),
        Some(i) => {
            let password = content[..i].to_string();
            let rem = &content[i + " salt=".len()..];
            match rem.rfind(" ident=") {
                Some(j) => (
                    password,
                    Some(rem[..j].to_string()),
                    Some(rem[j + " ident=".len()..].to_string()),
                ),
                None => (password, (!rem.is_empty()).then(|| rem.to_string()), None),
            }
        }
    }
}

fn random_password(length: usize, chars: &str, seed: Option<&str>) -> LResult<String> {
    let pool: Vec<char> = chars.chars().collect();
    match seed {
        Some(s) => {
            // Python's Random(seed): the seed is the string from the term or keyword.
            let mut rng = match s.parse::<i128>() {
                Ok(i) => PyRandom::new(Seed::Int(i)),
                Err(_) => PyRandom::new(Seed::Str(s)),
            };
            Ok((0..length)
                .map(|_| pool[rng.randbelow(pool.len() as u128) as usize])
                .collect())
        }
        None => (0..length)
            .map(|_| crypt::os_random_below(pool.len()).map(|i| pool[i]))
            .collect::<Result<String, String>>()
            .map_err(LookupError),
    }
}

/// Writes a password file readable by its owner only, creating its directory (mode 0700).
fn write_secret(path: &Path, text: &str) -> LResult<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                LookupError(format!(
                    "cannot create the directory {}: {e}",
                    dir.display()
                ))
            })?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            LookupError(format!(
                "cannot write the password file {}: {e}",
                path.display()
            ))
        })?;
    let _ = f.set_permissions(std::fs::Permissions::from_mode(0o600));
    f.write_all(text.as_bytes()).map_err(|e| {
        LookupError(format!(
            "cannot write the password file {}: {e}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_with(dir: &Path) -> Value {
        value::map([("playbook_dir", Value::from(dir.display().to_string()))])
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("baton-lookups-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("files")).unwrap();
        d
    }

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
    fn password_lookup_stores_and_rereads() {
        let d = scratch("pw");
        let ctx = ctx_with(&d);
        let r = |t: &str| crate::template::render_str(t, &ctx).unwrap();
        let first = r("{{ lookup('password', 'creds/x length=12 chars=digits') }}");
        let first = first.as_str().unwrap().to_string();
        assert_eq!(first.len(), 12);
        assert!(first.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(
            r("{{ lookup('password', 'creds/x') }}").as_str(),
            Some(first.as_str())
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("creds/x"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Seeded passwords are Python's Random(seed).choice, as Ansible's.
        assert_eq!(
            r("{{ lookup('password', '/dev/null seed=fixed length=16') }}").as_str(),
            Some("nw6AuiBDIPxvJhDA")
        );
    }

    #[test]
    fn sequences_and_globs() {
        let ctx = Value::from(());
        let r = |t: &str| crate::template::render_text(t, &ctx).unwrap();
        assert_eq!(
            r("{{ query('sequence', 'start=1 end=3 format=web%02d') }}"),
            "['web01', 'web02', 'web03']"
        );
        assert_eq!(r("{{ query('sequence', '4-8/2') }}"), "['4', '6', '8']");
        assert!(fnmatch(
            &"*.txt".chars().collect::<Vec<_>>(),
            &"a.txt".chars().collect::<Vec<_>>()
        ));
        assert!(!fnmatch(
            &"[!a]*".chars().collect::<Vec<_>>(),
            &"abc".chars().collect::<Vec<_>>()
        ));
    }
}
