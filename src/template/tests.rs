//! Ansible's Jinja tests (`x is defined`, `result is failed`, `version is version('2', '>=')`,
//! `path is file`, ...), registered on the environment.
//!
//! Type tests follow Python: a boolean is a number but not an integer, a string is a sequence.
//! Like the filters, every test except `defined`/`undefined` fails on an undefined value, as
//! Ansible's do. Path tests look at the controller's file system (relative to the working
//! directory), as Ansible's do.

use super::filters::{err, name_error, py_str, py_type, reject_undefined};
use crate::value::Value;
use minijinja::value::{Kwargs, Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, State};
use std::cmp::Ordering;

/// Registers a test that fails on undefined input, and names itself in errors.
fn add_strict_test<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: minijinja::functions::Function<Rv, Args>,
    Rv: minijinja::value::FunctionResult,
    Args: for<'a> minijinja::value::FunctionArgs<'a>,
{
    let inner = Value::from_function(f);
    env.add_test(
        name,
        move |state: &mut State, args: Rest<ValueOrKwargs>| -> Result<bool, Error> {
            let args = args.into_values();
            reject_undefined(&args)?;
            inner
                .call(state, &args)
                .map(|v| v.is_true())
                .map_err(|e| name_error("test", name, e))
        },
    );
}

/// Registers every test on the environment.
pub fn register(env: &mut Environment<'static>) {
    env.add_test("defined", |v: Value| !v.is_undefined());
    env.add_test("undefined", |v: Value| v.is_undefined());

    macro_rules! strict {
        ($($name:literal => $f:expr),* $(,)?) => {
            $( add_strict_test(env, $name, $f); )*
        };
    }
    strict! {
        "none" => |v: Value| v.is_none(),
        "string" => |v: Value| v.kind() == ValueKind::String,
        "number" => |v: Value| matches!(v.kind(), ValueKind::Number | ValueKind::Bool),
        "integer" => |v: Value| v.kind() == ValueKind::Number && (v.is_integer()),
        "int" => |v: Value| v.kind() == ValueKind::Number && (v.is_integer()),
        "float" => |v: Value| v.kind() == ValueKind::Number && !(v.is_integer()),
        "boolean" => |v: Value| v.kind() == ValueKind::Bool,
        "mapping" => |v: Value| v.kind() == ValueKind::Map,
        "sequence" => |v: Value| matches!(v.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::String | ValueKind::Bytes),
        "iterable" => |v: Value| matches!(v.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::String | ValueKind::Iterable | ValueKind::Bytes),
        "true" => |v: Value| v.kind() == ValueKind::Bool && v.is_true(),
        "false" => |v: Value| v.kind() == ValueKind::Bool && !v.is_true(),
        "truthy" => truthy,
        "falsy" => |v: Value, kwargs: Kwargs| truthy(v, kwargs).map(|t| !t),
        "match" => |v: Value, pat: String, kwargs: Kwargs| regex_test(v, pat, kwargs, "match"),
        "search" => |v: Value, pat: String, kwargs: Kwargs| regex_test(v, pat, kwargs, "search"),
        "regex" => regex,
        "succeeded" => |v: Value| result_flag(&v, "succeeded", "failed").map(|f| !f),
        "success" => |v: Value| result_flag(&v, "success", "failed").map(|f| !f),
        "successful" => |v: Value| result_flag(&v, "successful", "failed").map(|f| !f),
        "failed" => |v: Value| result_flag(&v, "failed", "failed"),
        "failure" => |v: Value| result_flag(&v, "failure", "failed"),
        "changed" => |v: Value| changed(&v, "changed"),
        "change" => |v: Value| changed(&v, "change"),
        "skipped" => |v: Value| result_flag(&v, "skipped", "skipped"),
        "skip" => |v: Value| result_flag(&v, "skip", "skipped"),
        "unreachable" => |v: Value| result_flag(&v, "unreachable", "unreachable"),
        "reachable" => |v: Value| result_flag(&v, "reachable", "unreachable").map(|f| !f),
        "timedout" => |v: Value| -> Result<bool, Error> {
            let t = result_flag(&v, "timedout", "timedout")?;
            Ok(t && v.get_attr("timedout").and_then(|t| t.get_attr("period")).is_ok_and(|p| p.is_true()))
        },
        "finished" => |v: Value| async_flag(&v, "finished"),
        "started" => |v: Value| async_flag(&v, "started"),
        "vault_encrypted" => |v: Value| crate::value::vaulted::is_vault_encrypted(&v),
        "vaulted_file" => vaulted_file,
        "version" => version,
        "version_compare" => version,
        "subset" => |a: Value, b: Value| -> Result<bool, Error> { let b = items(&b)?; Ok(items(&a)?.iter().all(|x| b.contains(x))) },
        "superset" => |a: Value, b: Value| -> Result<bool, Error> { let a = items(&a)?; Ok(items(&b)?.iter().all(|x| a.contains(x))) },
        "contains" => |a: Value, x: Value| contains(&a, &x),
        "any" => |a: Value| -> Result<bool, Error> { Ok(items(&a)?.iter().any(|x| x.is_true())) },
        "all" => |a: Value| -> Result<bool, Error> { Ok(items(&a)?.iter().all(|x| x.is_true())) },
        "file" => |p: Value| std::fs::metadata(py_str(&p)).is_ok_and(|m| m.is_file()),
        "directory" => |p: Value| std::fs::metadata(py_str(&p)).is_ok_and(|m| m.is_dir()),
        "link" => |p: Value| std::fs::symlink_metadata(py_str(&p)).is_ok_and(|m| m.file_type().is_symlink()),
        "exists" => |p: Value| std::fs::metadata(py_str(&p)).is_ok(),
        "abs" => |p: Value| py_str(&p).starts_with('/'),
        "mount" => |p: Value| is_mount(&py_str(&p)),
        "same_file" => |a: Value, b: Value| same_file(&py_str(&a), &py_str(&b)),
        "odd" => |v: i64| v % 2 != 0,
        "even" => |v: i64| v % 2 == 0,
        "divisibleby" => |v: i64, n: i64| n != 0 && v % n == 0,
        "lower" => |v: Value| { let s = py_str(&v); s.chars().any(|c| c.is_lowercase()) && !s.chars().any(|c| c.is_uppercase()) },
        "upper" => |v: Value| { let s = py_str(&v); s.chars().any(|c| c.is_uppercase()) && !s.chars().any(|c| c.is_lowercase()) },
        "in" => |v: Value, seq: Value| -> Result<bool, Error> { contains(&seq, &v) },
        "sameas" => |a: Value, b: Value| a.kind() == b.kind() && a == b,
        "eq" => |a: Value, b: Value| a == b,
        "equalto" => |a: Value, b: Value| a == b,
        "==" => |a: Value, b: Value| a == b,
        "ne" => |a: Value, b: Value| a != b,
        "!=" => |a: Value, b: Value| a != b,
        "lt" => |a: Value, b: Value| compare(&a, &b).map(|o| o == Ordering::Less),
        "lessthan" => |a: Value, b: Value| compare(&a, &b).map(|o| o == Ordering::Less),
        "<" => |a: Value, b: Value| compare(&a, &b).map(|o| o == Ordering::Less),
        "le" => |a: Value, b: Value| compare(&a, &b).map(|o| o != Ordering::Greater),
        "<=" => |a: Value, b: Value| compare(&a, &b).map(|o| o != Ordering::Greater),
        "gt" => |a: Value, b: Value| compare(&a, &b).map(|o| o == Ordering::Greater),
        "greaterthan" => |a: Value, b: Value| compare(&a, &b).map(|o| o == Ordering::Greater),
        ">" => |a: Value, b: Value| compare(&a, &b).map(|o| o == Ordering::Greater),
        "ge" => |a: Value, b: Value| compare(&a, &b).map(|o| o != Ordering::Less),
        ">=" => |a: Value, b: Value| compare(&a, &b).map(|o| o != Ordering::Less),
        "startingwith" => |v: Value, p: String| py_str(&v).starts_with(&p),
        "endingwith" => |v: Value, p: String| py_str(&v).ends_with(&p),
    }
    // `x is filter` / `x is test`: whether a name is registered.
    env.add_test("filter", |state: &State, name: String| {
        known(state, "filter", &name)
    });
    env.add_test("test", |state: &State, name: String| {
        known(state, "test", &name)
    });
    for name in [
        "truthy",
        "falsy",
        "match",
        "search",
        "regex",
        "succeeded",
        "success",
        "failed",
        "failure",
        "changed",
        "change",
        "skipped",
        "skip",
        "version",
        "version_compare",
        "subset",
        "superset",
        "contains",
        "file",
        "directory",
        "link",
        "exists",
        "abs",
        "mount",
        "same_file",
        "any",
        "all",
        "finished",
        "started",
        "timedout",
        "reachable",
        "unreachable",
        "vault_encrypted",
        "vaulted_file",
    ] {
        env.add_test(
            format!("ansible.builtin.{name}"),
            move |state: &mut State, args: Rest<ValueOrKwargs>| {
                state.perform_test(name, &args.into_values())
            },
        );
    }
}

/// Whether a filter or test of this name exists (compiling a use of it is the only public way).
fn known(state: &State, what: &str, name: &str) -> bool {
    let probe = match what {
        "filter" => format!("{{{{ none | {name} }}}}"),
        _ => format!("{{{{ none is {name} }}}}"),
    };
    match state.env().render_str(&probe, ()) {
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            minijinja::ErrorKind::UnknownFilter | minijinja::ErrorKind::UnknownTest
        ),
    }
}

fn items(v: &Value) -> Result<Vec<Value>, Error> {
    Ok(match v.kind() {
        ValueKind::String => v
            .as_str()
            .unwrap_or("")
            .chars()
            .map(|c| Value::from(c.to_string()))
            .collect(),
        _ => v.try_iter()?.collect(),
    })
}

/// Python's `in`: a substring of a string, a key of a mapping, an item of a list.
fn contains(seq: &Value, v: &Value) -> Result<bool, Error> {
    match (seq.as_str(), v.as_str()) {
        (Some(s), Some(x)) => Ok(s.contains(x)),
        _ if seq.kind() == ValueKind::Map => Ok(seq.get_item(v).is_ok_and(|x| !x.is_undefined())),
        _ => Ok(items(seq)?.contains(v)),
    }
}

fn compare(a: &Value, b: &Value) -> Result<Ordering, Error> {
    let comparable = matches!(
        (a.kind(), b.kind()),
        (
            ValueKind::Number | ValueKind::Bool,
            ValueKind::Number | ValueKind::Bool
        ) | (ValueKind::String, ValueKind::String)
            | (ValueKind::Seq, ValueKind::Seq)
    );
    if !comparable {
        return Err(err(format!(
            "'<' not supported between instances of '{}' and '{}'",
            py_type(a),
            py_type(b)
        )));
    }
    Ok(a.cmp(b))
}

/// `truthy(convert_bool=False)`: Python truthiness, optionally after Ansible's `boolean()`.
fn truthy(v: Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert = kwargs
        .get::<Option<Value>>("convert_bool")?
        .is_some_and(|c| c.is_true());
    kwargs.assert_all_used()?;
    if convert {
        let word = match v.kind() {
            ValueKind::String => Some(v.as_str().unwrap_or("").to_lowercase()),
            ValueKind::Number | ValueKind::Bool => Some(py_str(&v).to_lowercase()),
            _ => None,
        };
        match word.as_deref() {
            Some("y" | "yes" | "on" | "1" | "true" | "t" | "1.0") => return Ok(true),
            Some("n" | "no" | "off" | "0" | "false" | "f" | "0.0") => return Ok(false),
            _ => {}
        }
    }
    Ok(v.is_true())
}

fn regex_test(v: Value, pat: String, kwargs: Kwargs, match_type: &str) -> Result<bool, Error> {
    let ic = kwargs
        .get::<Option<Value>>("ignorecase")?
        .is_some_and(|x| x.is_true());
    let ml = kwargs
        .get::<Option<Value>>("multiline")?
        .is_some_and(|x| x.is_true());
    kwargs.assert_all_used()?;
    let text = py_str(&v);
    let anchored = match match_type {
        "match" => format!("^(?:{pat})"),
        "fullmatch" => format!("^(?:{pat})$"),
        _ => pat.clone(),
    };
    // `^` must mean the start of the text for match/fullmatch even with multiline: use \A/\z.
    let anchored = if ml && match_type != "search" {
        match match_type {
            "match" => format!("\\A(?:{pat})"),
            _ => format!("\\A(?:{pat})\\z"),
        }
    } else {
        anchored
    };
    Ok(super::filters::py_regex(&anchored, ic, ml)?.is_match(&text))
}

fn regex(v: Value, pat: String, kwargs: Kwargs) -> Result<bool, Error> {
    let match_type = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| "search".into());
    if !matches!(match_type.as_str(), "search" | "match" | "fullmatch") {
        return Err(err(format!("invalid match_type '{match_type}'")));
    }
    regex_test(v, pat, kwargs, &match_type)
}

/// A key of a task result, for the result tests; non-results are an error, as in Ansible.
fn result_flag(v: &Value, test: &str, key: &str) -> Result<bool, Error> {
    if v.kind() != ValueKind::Map {
        return Err(err(format!("The '{test}' test expects a dictionary")));
    }
    Ok(v.get_attr(key).map(|f| f.is_true()).unwrap_or(false))
}

/// `finished`/`started`: the async result's flag; a result without one (not async) counts as
/// true, with ansible's warning.
fn async_flag(v: &Value, key: &str) -> Result<bool, Error> {
    if v.kind() != ValueKind::Map {
        return Err(err(format!("The '{key}' test expects a dictionary")));
    }
    let flag = v.get_attr(key).unwrap_or_default();
    if flag.is_undefined() {
        super::warnings::warn(format!(
            "The '{key}' test expects an async task, but a non-async task was tested"
        ));
        return Ok(true);
    }
    Ok(flag.is_true())
}

/// `changed`: the flag, or any changed item of a loop result without one.
fn changed(v: &Value, test: &str) -> Result<bool, Error> {
    if v.kind() != ValueKind::Map {
        return Err(err(format!("The '{test}' test expects a dictionary")));
    }
    let flag = v.get_attr("changed").unwrap_or_default();
    if !flag.is_undefined() {
        return Ok(flag.is_true());
    }
    let results = v.get_attr("results").unwrap_or_default();
    if results.kind() == ValueKind::Seq {
        for r in results.try_iter()? {
            if r.get_attr("changed").is_ok_and(|c| c.is_true()) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn is_mount(p: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let path = std::path::Path::new(p);
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return false;
    }
    let parent = path.join("..");
    match std::fs::metadata(&parent) {
        Ok(pm) => pm.dev() != meta.dev() || pm.ino() == meta.ino(),
        Err(_) => false,
    }
}

fn same_file(a: &str, b: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Versions

/// One component of a `LooseVersion`.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Num(u128),
    Text(String),
}

/// distutils' `LooseVersion`: numbers, runs of lowercase letters, and whatever is between.
fn loose(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let chars: Vec<char> = v.chars().collect();
    let mut i = 0;
    let mut other = String::new();
    let flush = |other: &mut String, parts: &mut Vec<Part>| {
        if !other.is_empty() {
            parts.push(Part::Text(std::mem::take(other)));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            flush(&mut other, &mut parts);
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            parts.push(match s.parse() {
                Ok(n) => Part::Num(n),
                Err(_) => Part::Text(s),
            });
        } else if c.is_ascii_lowercase() {
            flush(&mut other, &mut parts);
            let start = i;
            while i < chars.len() && chars[i].is_ascii_lowercase() {
                i += 1;
            }
            parts.push(Part::Text(chars[start..i].iter().collect()));
        } else if c == '.' {
            flush(&mut other, &mut parts);
            i += 1;
        } else {
            other.push(c);
            i += 1;
        }
    }
    flush(&mut other, &mut parts);
    parts
}

fn cmp_loose(a: &[Part], b: &[Part]) -> Result<Ordering, String> {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (Part::Num(m), Part::Num(n)) => m.cmp(n),
            (Part::Text(s), Part::Text(t)) => s.cmp(t),
            (Part::Num(_), Part::Text(_)) => {
                return Err("'<' not supported between instances of 'int' and 'str'".into());
            }
            (Part::Text(_), Part::Num(_)) => {
                return Err("'<' not supported between instances of 'str' and 'int'".into());
            }
        };
        if o != Ordering::Equal {
            return Ok(o);
        }
    }
    Ok(a.len().cmp(&b.len()))
}

/// A parsed `StrictVersion`: the numbers and the pre-release tag.
type StrictParts = ((u64, u64, u64), Option<(char, u64)>);

/// distutils' `StrictVersion`: `N.N[.N][(a|b)N]`.
fn strict(v: &str) -> Result<StrictParts, String> {
    let re = regex::Regex::new(r"^(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$").expect("valid pattern");
    let c = re
        .captures(v)
        .ok_or_else(|| format!("invalid version number '{v}'"))?;
    let n = |i: usize| {
        c.get(i)
            .and_then(|m| m.as_str().parse().ok())
            .unwrap_or(0u64)
    };
    let pre = c
        .get(5)
        .map(|m| (m.as_str().chars().next().unwrap_or('a'), n(6)));
    Ok(((n(1), n(2), n(4)), pre))
}

fn cmp_strict(a: &str, b: &str) -> Result<Ordering, String> {
    let (va, pa) = strict(a)?;
    let (vb, pb) = strict(b)?;
    Ok(va.cmp(&vb).then(match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    }))
}

/// Semantic versioning 2.0.0 precedence (build metadata ignored).
fn cmp_semver(a: &str, b: &str) -> Result<Ordering, String> {
    fn parse(v: &str) -> Result<(Vec<u64>, Vec<String>), String> {
        let re = regex::Regex::new(
            r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$",
        )
        .expect("valid pattern");
        let c = re
            .captures(v)
            .ok_or_else(|| format!("invalid semantic version '{v}'"))?;
        let core = (1..=3).map(|i| c[i].parse().unwrap_or(0)).collect();
        let pre = c
            .get(4)
            .map(|m| m.as_str().split('.').map(String::from).collect())
            .unwrap_or_default();
        Ok((core, pre))
    }
    let (ca, pa) = parse(a)?;
    let (cb, pb) = parse(b)?;
    let o = ca.cmp(&cb);
    if o != Ordering::Equal {
        return Ok(o);
    }
    Ok(match (pa.is_empty(), pb.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            for (x, y) in pa.iter().zip(&pb) {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return Ok(o);
                }
            }
            pa.len().cmp(&pb.len())
        }
    })
}

/// A PEP 440 version as `packaging` orders it: epoch, release (trailing zeros aside), then a
/// pre-release before the release and a post-release after it, a dev release before either.
/// Epoch, release, pre-release, post-release, dev release.
type Pep440Key = (u64, Vec<u64>, (i8, u64), (i8, u64), (i8, u64));

fn pep440_key(s: &str) -> Result<Pep440Key, String> {
    let re = regex::Regex::new(
        r"(?i)^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|alpha|b|beta|c|rc|pre|preview)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?\s*$",
    )
    .expect("the PEP 440 pattern is valid");
    let c = re
        .captures(s)
        .ok_or_else(|| format!("Invalid version: '{s}'"))?;
    let num = |i: usize| -> u64 { c.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0) };
    let mut release: Vec<u64> = c[2].split('.').map(|p| p.parse().unwrap_or(0)).collect();
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let has = |i: usize| c.get(i).is_some();
    let pre = match c.get(3).map(|m| m.as_str().to_ascii_lowercase()) {
        Some(l) => {
            let rank = match l.as_str() {
                "a" | "alpha" => 0,
                "b" | "beta" => 1,
                _ => 2,
            };
            (rank, num(4))
        }
        // A dev release of a final version sorts before its pre-releases.
        None if has(7) && !has(5) && !has(6) => (-1, 0),
        None => (3, 0),
    };
    let post = if has(5) || has(6) {
        (0, num(5).max(num(6)))
    } else {
        (-1, 0)
    };
    let dev = if has(7) { (0, num(7)) } else { (1, 0) };
    Ok((num(1), release, pre, post, dev))
}

fn cmp_pep440(a: &str, b: &str) -> Result<Ordering, String> {
    let (ka, kb) = (pep440_key(a)?, pep440_key(b)?);
    let release = {
        let n = ka.1.len().max(kb.1.len());
        let pad = |r: &[u64]| {
            (0..n)
                .map(|i| r.get(i).copied().unwrap_or(0))
                .collect::<Vec<_>>()
        };
        pad(&ka.1).cmp(&pad(&kb.1))
    };
    Ok(ka
        .0
        .cmp(&kb.0)
        .then(release)
        .then(ka.2.cmp(&kb.2))
        .then(ka.3.cmp(&kb.3))
        .then(ka.4.cmp(&kb.4)))
}

/// `vaulted_file`: whether the file at a path (from the working directory) is a vault.
fn vaulted_file(path: Value) -> Result<bool, Error> {
    use std::io::Read;
    let path = py_str(&path);
    let mut head = [0u8; 14];
    let mut f = std::fs::File::open(&path)
        .map_err(|_| err(format!("Cannot test if the file {path:?} is a vault.")))?;
    let n = f.read(&mut head).unwrap_or(0);
    Ok(&head[..n] == b"$ANSIBLE_VAULT")
}

/// `version(other, operator='eq', strict=None, version_type=None)`.
fn version(
    v: Value,
    other: Value,
    operator: Option<String>,
    strict: Option<Value>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let operator = match operator {
        Some(o) => o,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let strict_flag: Option<Value> = match strict {
        Some(s) => Some(s),
        None => kwargs.get("strict")?,
    };
    let version_type: Option<String> = kwargs.get("version_type")?;
    kwargs.assert_all_used()?;
    if strict_flag.as_ref().is_some_and(|s| !s.is_none()) && version_type.is_some() {
        return Err(err("Cannot specify both 'strict' and 'version_type'"));
    }
    let (a, b) = (py_str(&v), py_str(&other));
    if a.is_empty() {
        return Err(err("Input version value cannot be empty"));
    }
    if b.is_empty() {
        return Err(err("Version parameter to compare against cannot be empty"));
    }
    let op = match operator.as_str() {
        "==" | "=" | "eq" => "eq",
        "<" | "lt" => "lt",
        "<=" | "le" => "le",
        ">" | "gt" => "gt",
        ">=" | "ge" => "ge",
        "!=" | "<>" | "ne" => "ne",
        other => {
            return Err(err(format!(
                "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            )));
        }
    };
    let kind = if strict_flag.is_some_and(|s| s.is_true()) {
        "strict".to_string()
    } else {
        version_type.unwrap_or_else(|| "loose".into())
    };
    let ordering = match kind.as_str() {
        "loose" => cmp_loose(&loose(&a), &loose(&b)),
        "strict" => cmp_strict(&a, &b),
        "semver" | "semantic" => cmp_semver(&a, &b),
        "pep440" => cmp_pep440(&a, &b),
        other => {
            return Err(err(format!(
                "Invalid version type ({other}). Must be one of loose, strict, semver, semantic, pep440"
            )));
        }
    }
    .map_err(|e| err(format!("Version comparison failed: {e}")))?;
    Ok(match op {
        "eq" => ordering == Ordering::Equal,
        "ne" => ordering != Ordering::Equal,
        "lt" => ordering == Ordering::Less,
        "le" => ordering != Ordering::Greater,
        "gt" => ordering == Ordering::Greater,
        _ => ordering != Ordering::Less,
    })
}

#[cfg(test)]
mod unit {
    fn render(s: &str) -> String {
        crate::template::render_text(s, &crate::value::Value::from(())).unwrap()
    }

    #[test]
    fn versions_compare_like_ansible() {
        // PEP 440 (packaging's order) and the old positional `strict`.
        assert_eq!(
            render(
                "{{ '2.14.0rc1' is version('2.14.0', 'lt', version_type='pep440') }} \
                 {{ '1.0.dev1' is version('1.0a1', 'lt', version_type='pep440') }} \
                 {{ '1.0.post1' is version('1.0', 'gt', version_type='pep440') }} \
                 {{ '1.0' is version('1.0.0', '==', version_type='pep440') }} \
                 {{ '1.0' is version_compare('1.0', '==', true) }}"
            ),
            "True True True True True"
        );
        assert_eq!(
            render(
                "{{ '1.2.3' is version('1.2.10', '<') }} {{ '1.10' is version('1.9', '>') }} {{ '2.0' is version('2.0.0', '==') }}"
            ),
            "True True False"
        );
        assert_eq!(
            render("{{ '1.0a' is version('1.0', 'gt') }} {{ '1.0rc1' is version('1.0', 'gt') }}"),
            "True True"
        );
        assert_eq!(
            render("{{ '1.2.3' is version('1.2', '>', strict=true) }}"),
            "True"
        );
        assert_eq!(
            render(
                "{{ '1.0.0-alpha.1' is version('1.0.0-alpha.beta', '<', version_type='semver') }}"
            ),
            "True"
        );
        assert!(
            crate::template::render_text(
                "{{ '1' is version('2', 'bad') }}",
                &crate::value::Value::from(())
            )
            .is_err()
        );
    }

    #[test]
    fn python_type_tests() {
        assert_eq!(
            render(
                "{{ true is number }} {{ true is integer }} {{ 'a' is sequence }} {{ {} is iterable }}"
            ),
            "True False True True"
        );
        assert_eq!(
            render(
                "{{ 'yes' is truthy(convert_bool=true) }} {{ 'no' is truthy(convert_bool=true) }} {{ 'no' is truthy }}"
            ),
            "True False True"
        );
    }

    #[test]
    fn regex_tests_anchor_like_python() {
        assert_eq!(
            render(
                "{{ 'abc' is match('b') }} {{ 'abc' is search('b') }} {{ 'abc' is regex('a', match_type='fullmatch') }}"
            ),
            "False True False"
        );
        assert_eq!(
            render(
                "{{ 'a\nb' is search('^b', multiline=true) }} {{ 'ABC' is match('abc', ignorecase=true) }}"
            ),
            "True True"
        );
    }

    #[test]
    fn result_tests() {
        assert_eq!(
            render(
                "{{ {'changed': true} is changed }} {{ {'results': [{'changed': true}]} is changed }} {{ {'failed': true} is succeeded }} {{ {} is skipped }}"
            ),
            "True True False False"
        );
        assert!(
            crate::template::render_text("{{ 'x' is failed }}", &crate::value::Value::from(()))
                .is_err()
        );
    }
}
