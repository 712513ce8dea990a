//! Helpers shared by the file modules (`file`, `copy`, `template`, `lineinfile`, ...), usable by
//! any module that touches files on a host.
//!
//! This module owns:
//! - [`mode_param`]: reading a `mode:` the way Ansible validates it (octal or symbolic, with
//!   Ansible's "mode must be in octal or symbolic form" message), normalized for `chmod`;
//! - [`Attrs`]: the common `mode`/`owner`/`group` parameters and their shell form;
//! - [`SH_LIB`]: shell functions run on the host that find a path's state (Ansible's
//!   `get_state`), report its attributes (Ansible's `add_path_info`) and apply or, in check mode,
//!   only predict mode/owner/group changes; [`Report`] reads what they print;
//! - [`find_source`]: Ansible's search order for a task's `src` on the controller;
//! - [`content_diff`] and [`attr_diff`]: the `diff` structures Ansible modules return;
//! - [`Overlay`]: a variable scope with a few extra variables (the template module's
//!   `template_*` variables).
//!
//! Everything the host runs needs only a POSIX shell and GNU coreutils (`stat -c`); its
//! scratch files are in a private directory from [`super::hosttmp`].

use super::{Args, ModuleCtx, ModuleError, Param, shell_quote, text};
use crate::connection::ExecOutput;
use crate::value::{Value, Vars};
use minijinja::value::ValueKind;
use std::path::{Path, PathBuf};

mod target;
pub use target::*;

mod pyre;
pub use pyre::*;

/// The message Ansible fails with for a mode it cannot read; `details` names the value.
pub const MODE_MSG: &str = "mode must be in octal or symbolic form";

/// A validated `mode:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Permission bits (YAML `0644`, `"0644"`, `"644"`).
    Octal(u32),
    /// A symbolic mode as `chmod` takes it; clauses without users got `a` (Ansible applies
    /// `+x` to everyone regardless of the umask, GNU chmod would honour the umask).
    Symbolic(String),
}

impl Mode {
    /// The `%a` form `stat` prints (`644`, `4755`), for comparisons.
    pub fn stat_form(&self) -> Option<String> {
        match self {
            Mode::Octal(n) => Some(format!("{n:o}")),
            Mode::Symbolic(_) => None,
        }
    }

    /// The argument for `chmod`. Octal modes get five digits, so that GNU chmod clears a
    /// directory's setgid bit when asked to (as Python's `os.chmod` does).
    pub fn chmod_arg(&self) -> String {
        match self {
            Mode::Octal(n) => format!("{n:05o}"),
            Mode::Symbolic(s) => s.clone(),
        }
    }
}

/// Separates an error's message from its `details` (see [`with_details`]).
const DETAILS_SEP: char = '\u{1f}';

/// Ansible's error for a bad mode: the message, and the value in `details`.
pub fn mode_error(shown: &str) -> ModuleError {
    ModuleError::Failed(format!(
        "{MODE_MSG}{DETAILS_SEP}bad symbolic permission for mode: {shown}"
    ))
}

/// Turns errors that carry `details` (a bad mode) into the failed result Ansible returns,
/// `msg` and `details`; other results pass through. Wrap a module's result in it.
pub fn with_details(r: super::MapResult) -> super::MapResult {
    match r {
        Err(ModuleError::Failed(m)) if m.contains(DETAILS_SEP) => {
            let (msg, details) = m.split_once(DETAILS_SEP).unwrap_or((&m, ""));
            Ok(failed(msg, [("details", Value::from(details))]))
        }
        other => other,
    }
}

/// Parses a mode value as Ansible does: an integer is the permission bits themselves (YAML 1.1
/// reads `0644` as 420), a string of octal digits is octal, anything else must be symbolic
/// (`u=rw,g=r`, `a+x`, `u+x-w`, `g=u`).
pub fn parse_mode(v: &Value) -> Result<Option<Mode>, ModuleError> {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => return Ok(None),
        ValueKind::Number => {
            return match v.as_i64() {
                Some(n) if (0..=0o7777).contains(&n) => Ok(Some(Mode::Octal(n as u32))),
                _ => Err(mode_error(&v.to_string())),
            };
        }
        ValueKind::String => {}
        _ => return Err(mode_error(&v.to_string())),
    }
    let s = v.as_str().unwrap_or("").trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().all(|c| c.is_digit(8)) {
        return match u32::from_str_radix(s, 8) {
            Ok(n) if n <= 0o7777 => Ok(Some(Mode::Octal(n))),
            _ => Err(mode_error(s)),
        };
    }
    let mut clauses = Vec::new();
    for clause in s.split(',') {
        let op = clause.find(['+', '-', '=']).ok_or_else(|| mode_error(s))?;
        let (users, rest) = clause.split_at(op);
        if !users.chars().all(|c| "ugoa".contains(c)) {
            return Err(mode_error(s));
        }
        // After the users: operators, each followed by permission letters.
        let perms: Vec<&str> = rest.split(['+', '-', '=']).skip(1).collect();
        if perms
            .iter()
            .any(|p| !p.chars().all(|c| "rwxXstugo".contains(c)))
        {
            return Err(mode_error(s));
        }
        let users = if users.is_empty() { "a" } else { users };
        clauses.push(format!("{users}{rest}"));
    }
    Ok(Some(Mode::Symbolic(clauses.join(","))))
}

/// Reads the `mode` parameter (see [`parse_mode`]).
pub fn mode_param(args: &mut Args, name: &'static str) -> Result<Option<Mode>, ModuleError> {
    match args.raw(name) {
        Some(v) => parse_mode(&v),
        None => Ok(None),
    }
}

/// `'0%03o'`: how Ansible shows a mode (`0644`, `04755`), from `stat`'s `%a` form.
pub fn ansible_mode(stat_a: &str) -> String {
    let n = u32::from_str_radix(stat_a.trim(), 8).unwrap_or(0);
    format!("0{n:03o}")
}

/// The parameters of the common file attributes ([`Attrs::from_args`] reads them), and the
/// SELinux and `attributes` parameters Ansible's file modules share, accepted and ignored.
pub const ATTRS: &[Param] = &[
    Param::any("mode"),
    Param::any("attributes").aliases(&["attr"]),
    Param::str("owner"),
    Param::str("group"),
    Param::any("seuser"),
    Param::any("serole"),
    Param::any("setype"),
    Param::any("selevel"),
    Param::any("unsafe_writes"),
];

/// The common file attributes a task may ask for.
#[derive(Debug, Clone, Default)]
pub struct Attrs {
    pub mode: Option<Mode>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl Attrs {
    /// Reads `mode`, `owner`, `group` (and accepts the SELinux and `attributes` parameters
    /// Ansible's file modules share, which do not apply to these hosts).
    pub fn from_args(args: &mut Args) -> Result<Attrs, ModuleError> {
        let mode = mode_param(args, "mode")?;
        let owner = args.str("owner")?;
        let group = args.str("group")?;
        for ignored in [
            "seuser",
            "serole",
            "setype",
            "selevel",
            "unsafe_writes",
            "attributes",
        ] {
            let _ = args.raw(ignored);
        }
        Ok(Attrs { mode, owner, group })
    }

    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }

    /// Shell assignments for [`SH_LIB`]'s `attrs` function.
    pub fn shell_vars(&self, check: bool) -> String {
        let q = |s: Option<&str>| shell_quote(s.unwrap_or(""));
        format!(
            "MODE={}; MODE_A={}; OWNER={}; GROUP={}; CHECK={}\n",
            q(self.mode.as_ref().map(Mode::chmod_arg).as_deref()),
            q(self.mode.as_ref().and_then(Mode::stat_form).as_deref()),
            q(self.owner.as_deref()),
            q(self.group.as_deref()),
            if check { 1 } else { 0 }
        )
    }

    /// The mode for `transfer::PutOptions` (which takes chmod's syntax).
    pub fn put_mode(&self) -> Option<String> {
        self.mode.as_ref().map(Mode::chmod_arg)
    }
}

/// [`SH_LIB`] ready to run: with its scratch directory (for the mode `chmod` would give, see
/// `attrs`) made by [`super::hosttmp`]. Put it before a script's body.
pub fn sh_lib() -> Result<String, ModuleError> {
    Ok(SH_LIB.replace(
        "@SCRATCH@",
        &super::hosttmp::private_dir(
            "_S",
            super::hosttmp::Place::Tmp,
            super::hosttmp::Cleanup::Caller,
        )?,
    ))
}

/// Shell functions for the host. Scripts set `MODE MODE_A OWNER GROUP CHECK` (see
/// [`Attrs::shell_vars`]) and then call:
/// - `R KEY VALUE`: report a value (one line `BATON<TAB>KEY<TAB>VALUE`, read by [`Report`]);
/// - `die MSG`: report an error and stop (exit 1);
/// - `ftype PATH`: Ansible's `get_state` (absent, link, directory, hard, file), left in `FT`
///   (a variable, not output: a command substitution would cost the host a fork);
/// - `info PATH`: reports `info` = `uid gid owner group mode size` (lstat, as `add_path_info`)
///   when the path exists;
/// - `attrs PATH [nofollow]`: applies owner, group and mode (in check mode only compares),
///   sets `ch=1` when something differs and reports `owner`/`group`/`mode` as `before<TAB>after`
///   unless `QUIET=1`.
///
/// Never sent as it is: [`sh_lib`] fills in its scratch directory (`@SCRATCH@`).
const SH_LIB: &str = r#"R() { printf 'BATON\t%s\t%s\n' "$1" "$2"; }
die() { R error "$*"; exit 1; }
ftype() {
  if [ -L "$1" ]; then FT=link
  elif [ -d "$1" ]; then FT=directory
  elif [ -e "$1" ]; then
    # One stat for the type and the link count: a directory made by another process since
    # the test above is a directory, not a file with two links.
    case $(stat -L -c '%F %h' -- "$1" 2>/dev/null) in
      directory*) FT=directory ;;
      '') FT=absent ;;
      *\ 1) FT=file ;;
      *) FT=hard ;;
    esac
  else FT=absent; fi
}
info() {
  [ -e "$1" ] || return 0
  if [ "$_ic" = "$1" ]; then R info "$_is"; return 0; fi
  R info "$(stat -c '%u	%g	%U	%G	%a	%s' -- "$1")"
}
# `attrs` reads a path's owner, group and mode with one stat (programs are what costs on the
# host, not shell code) and leaves it in _is for `info` (_ic: the path it describes) when it
# changed nothing there and the path is no symlink (info does not follow links).
_is=; _ic=
_st() {
  _is=$(stat $1 -c '%u	%g	%U	%G	%a	%s' -- "$_p"); _ic=
  _cu=${_is%%	*}; _r=${_is#*	}; _cg=${_r%%	*}; _r=${_r#*	}; _r=${_r#*	}; _r=${_r#*	}
  _cm=${_r%%	*}
}
ch=0; QUIET=0
attrs() {
  _p=$1; _h=; _L=-L; _ch0=$ch; ch=0
  if [ "$2" = nofollow ]; then _h=-h; _L=; fi
  [ -n "$OWNER$GROUP$MODE" ] && _st $_L
  if [ -n "$OWNER" ]; then
    _u=$(id -u -- "$OWNER" 2>/dev/null) || case $OWNER in
      *[!0-9]*) die "chown failed: failed to look up user $OWNER" ;;
      *) _u=$OWNER ;;
    esac
    if [ "$_u" != "$_cu" ]; then
      ch=1; [ "$QUIET" = 1 ] || R owner "$_cu	$_u"
      [ "$CHECK" = 1 ] || { chown $_h -- "$_u" "$_p" && _st $_L; } || die "chown failed: failed to look up user $OWNER"
    fi
  fi
  if [ -n "$GROUP" ]; then
    _g=$(getent group -- "$GROUP" 2>/dev/null | cut -d: -f3)
    if [ -z "$_g" ]; then case $GROUP in
      *[!0-9]*) die "chgrp failed: failed to look up group $GROUP" ;;
      *) _g=$GROUP ;;
    esac; fi
    if [ "$_g" != "$_cg" ]; then
      ch=1; [ "$QUIET" = 1 ] || R group "$_cg	$_g"
      [ "$CHECK" = 1 ] || { chgrp $_h -- "$_g" "$_p" && _st $_L; } || die "chgrp failed: failed to look up group $GROUP"
    fi
  fi
  if [ -n "$MODE" ] && { [ -z "$_h" ] || [ ! -L "$_p" ]; }; then
    [ -n "$_L" ] || _st -L
    if [ -n "$MODE_A" ]; then _nm=$MODE_A
    else
      # What chmod makes of the current mode, tried on a scratch file (or directory: X).
@SCRATCH@      if [ -d "$_p" ]; then mkdir -- "$_S/m"; else : > "$_S/m"; fi
      chmod "$_cm" "$_S/m"; chmod "$MODE" "$_S/m" || { _S_done; die "chmod $MODE failed"; }
      _nm=$(stat -c %a "$_S/m"); _S_done
    fi
    if [ "$_nm" != "$_cm" ]; then
      ch=1; [ "$QUIET" = 1 ] || R mode "$_cm	$_nm"
      [ "$CHECK" = 1 ] || chmod "0$(printf %04o "0$_nm")" "$_p" || die "chmod failed"
    fi
  fi
  [ "$ch" = 0 ] && [ -n "$_is" ] && [ ! -L "$_p" ] && _ic=$_p
  [ "$_ch0" = 1 ] && ch=1
  return 0
}
"#;

/// What a script built on [`SH_LIB`] reported.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub pairs: Vec<(String, String)>,
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Report {
    /// Reads the report lines of a command's output; an `error` line, or no report at all from
    /// a command that failed, is an error.
    pub fn parse(out: &ExecOutput) -> Result<Report, ModuleError> {
        let stdout = text(&out.stdout);
        let stderr = text(&out.stderr);
        let mut pairs = Vec::new();
        for line in stdout.lines() {
            if let Some(rest) = line.strip_prefix("BATON\t") {
                let (k, v) = rest.split_once('\t').unwrap_or((rest, ""));
                pairs.push((k.to_string(), v.to_string()));
            }
        }
        let rc = out.rc.unwrap_or(-1);
        let report = Report {
            pairs,
            rc,
            stdout,
            stderr,
        };
        if let Some(e) = report.get("error") {
            return Err(ModuleError::Failed(e.to_string()));
        }
        if report.pairs.is_empty() && rc != 0 {
            return Err(ModuleError::Failed(format!(
                "the command on the host failed (rc={rc}): {}",
                report.stderr.trim()
            )));
        }
        Ok(report)
    }

    /// The first value reported under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value reported under `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` was reported as `1`.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("1")
    }

    /// Adds `add_path_info`'s keys (uid, gid, owner, group, mode, size; `state` is the
    /// caller's) from the `info` line to `r`.
    pub fn add_path_info(&self, r: &mut Vars) {
        let Some(info) = self.get("info") else { return };
        let f: Vec<&str> = info.split('\t').collect();
        if f.len() < 6 {
            return;
        }
        let num = |s: &str| Value::from(s.parse::<i64>().unwrap_or(0));
        let name = |s: &str, id: &str| {
            if s == "UNKNOWN" {
                Value::from(id)
            } else {
                Value::from(s)
            }
        };
        r.insert("uid".into(), num(f[0]));
        r.insert("gid".into(), num(f[1]));
        r.insert("owner".into(), name(f[2], f[0]));
        r.insert("group".into(), name(f[3], f[1]));
        r.insert("mode".into(), Value::from(ansible_mode(f[4])));
        r.insert("size".into(), num(f[5]));
    }

    /// The attribute changes `attrs` reported, into a diff's before/after mappings (mode as
    /// `0644`, owner and group as numbers, as Ansible's `set_*_if_different` record them).
    pub fn attr_changes(&self, before: &mut Vars, after: &mut Vars) {
        for key in ["owner", "group", "mode"] {
            if let Some(v) = self.get(key) {
                let (b, a) = v.split_once('\t').unwrap_or((v, v));
                let conv = |s: &str| {
                    if key == "mode" {
                        Value::from(ansible_mode(s))
                    } else {
                        Value::from(s.parse::<i64>().unwrap_or(0))
                    }
                };
                before.insert(key.into(), conv(b));
                after.insert(key.into(), conv(a));
            }
        }
    }
}

/// Runs a script built on [`SH_LIB`] (the library is prepended) and reads its report.
pub async fn run_script(ctx: &ModuleCtx, body: &str) -> Result<Report, ModuleError> {
    let script = format!("{}{body}", sh_lib()?);
    let out = ctx.exec(&script, None).await?;
    Report::parse(&out)
}

/// A `diff` entry of file content, as Ansible's modules return it: `before`/`after` texts and
/// their headers (a missing header is left out, as Ansible does for a file that did not exist).
pub fn content_diff(
    before: &str,
    after: &str,
    before_header: Option<&str>,
    after_header: Option<&str>,
) -> Value {
    let mut m = Vars::new();
    m.insert("before".into(), Value::from(before));
    m.insert("after".into(), Value::from(after));
    if let Some(h) = before_header {
        m.insert("before_header".into(), Value::from(h));
    }
    if let Some(h) = after_header {
        m.insert("after_header".into(), Value::from(h));
    }
    crate::value::from_vars(&m)
}

/// A `diff` of structured state (the `file` module's): `before` and `after` mappings.
pub fn attr_diff(before: Vars, after: Vars) -> Value {
    crate::value::map([
        ("before", crate::value::from_vars(&before)),
        ("after", crate::value::from_vars(&after)),
    ])
}

/// A failed result with extra keys (for failures that Ansible reports with more than `msg`).
pub fn failed<const N: usize>(msg: impl Into<String>, extra: [(&str, Value); N]) -> Vars {
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(false));
    r.insert("failed".into(), Value::from(true));
    r.insert("msg".into(), Value::from(msg.into()));
    for (k, v) in extra {
        r.insert(k.to_string(), v);
    }
    r
}

/// A variable of the task's scope as text.
pub fn scope_var(ctx: &ModuleCtx, name: &str) -> Option<String> {
    ctx.vars
        .get_attr(name)
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_none())
        .map(|v| v.to_string())
}

/// Finds a task's `src` on the controller in Ansible's order: an absolute path as it is; in a
/// role `ROLE/SUBDIR/src` then `ROLE/src`; then `PLAYBOOK_DIR/SUBDIR/src`, `PLAYBOOK_DIR/src`.
/// `subdir` is `files` (copy, script, unarchive) or `templates` (template). The error lists
/// the places searched, as Ansible's does.
pub fn find_source(ctx: &ModuleCtx, subdir: &str, src: &str) -> Result<PathBuf, ModuleError> {
    let expanded = expand_home(src);
    let p = Path::new(&expanded);
    let mut candidates = Vec::new();
    if p.is_absolute() {
        candidates.push(p.to_path_buf());
    } else {
        let mut dirs = Vec::new();
        if let Some(r) = scope_var(ctx, "role_path") {
            dirs.push(PathBuf::from(r));
        }
        let pb = scope_var(ctx, "playbook_dir")
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."));
        dirs.push(pb);
        for d in dirs {
            candidates.push(d.join(subdir).join(p));
            candidates.push(d.join(p));
        }
    }
    if let Some(found) = candidates.iter().find(|c| c.exists()) {
        return Ok(found.clone());
    }
    let searched: Vec<String> = candidates
        .iter()
        .map(|c| format!("\t{}", c.display()))
        .collect();
    Err(ModuleError::Failed(format!(
        "Could not find or access '{src}'\nSearched in:\n{} on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
        searched.join("\n")
    )))
}

fn expand_home(p: &str) -> String {
    match (p.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => p.to_string(),
    }
}

/// Reads a text file from the host for a content-editing module: `None` when it does not
/// exist. Fails for a directory.
pub async fn read_remote(ctx: &ModuleCtx, path: &str) -> Result<Option<String>, ModuleError> {
    Ok(ctx
        .read_file(path, u64::MAX >> 2)
        .await?
        .map(|f| text(&f.content)))
}

/// `os.path.basename`.
pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `os.path.dirname`.
pub fn dirname(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => "",
    }
}

/// Python's `str.splitlines(keepends=True)` for `\n` and `\r\n` endings (what the content
/// modules split files into).
pub fn split_keep_ends(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if b == b'\n' {
            out.push(&s[start..=i]);
            start = i + 1;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_read_as_ansible_reads_them() {
        assert_eq!(
            parse_mode(&Value::from(420)).unwrap(),
            Some(Mode::Octal(0o644))
        );
        assert_eq!(
            parse_mode(&Value::from("0755")).unwrap(),
            Some(Mode::Octal(0o755))
        );
        assert_eq!(
            parse_mode(&Value::from("644")).unwrap(),
            Some(Mode::Octal(0o644))
        );
        assert_eq!(
            parse_mode(&Value::from("u=rw,g=r")).unwrap(),
            Some(Mode::Symbolic("u=rw,g=r".into()))
        );
        assert_eq!(
            parse_mode(&Value::from("+x")).unwrap(),
            Some(Mode::Symbolic("a+x".into()))
        );
        assert_eq!(
            parse_mode(&Value::from("u+x-w")).unwrap(),
            Some(Mode::Symbolic("u+x-w".into()))
        );
        let r = with_details(Err(parse_mode(&Value::from("0x9")).unwrap_err())).unwrap();
        assert_eq!(r["msg"].as_str(), Some(MODE_MSG));
        assert_eq!(
            r["details"].as_str(),
            Some("bad symbolic permission for mode: 0x9")
        );
        assert!(parse_mode(&Value::from("rw-r--r--")).is_err());
        assert!(parse_mode(&Value::from("0648")).is_err());
    }

    #[test]
    fn modes_print_as_ansible_prints_them() {
        assert_eq!(ansible_mode("644"), "0644");
        assert_eq!(ansible_mode("4755"), "04755");
        assert_eq!(ansible_mode("0"), "0000");
        assert_eq!(Mode::Octal(0o644).chmod_arg(), "00644");
        assert_eq!(Mode::Octal(0o2755).stat_form().unwrap(), "2755");
    }

    #[test]
    fn paths_split_like_python() {
        assert_eq!(basename("/a/b/c.txt"), "c.txt");
        assert_eq!(dirname("/a/b/c.txt"), "/a/b");
        assert_eq!(dirname("/c"), "/");
        assert_eq!(dirname("c"), "");
        assert_eq!(split_keep_ends("a\nb\r\nc"), vec!["a\n", "b\r\n", "c"]);
    }
}

/// A mode after applying `mode` to `cur` (permission bits), as Ansible computes it: octal
/// replaces, symbolic clauses apply in order (`X` counts a directory or any execute bit; `=`
/// clears the user class's bits, setuid/setgid/sticky included, before setting).
pub fn apply_mode(cur: u32, is_dir: bool, mode: &Mode) -> u32 {
    let s = match mode {
        Mode::Octal(n) => return *n,
        Mode::Symbolic(s) => s,
    };
    let mut m = cur & 0o7777;
    for clause in s.split(',') {
        let op_at = clause.find(['+', '-', '=']).unwrap_or(clause.len());
        let users = &clause[..op_at];
        let users: Vec<char> = if users.is_empty() || users.contains('a') {
            vec!['u', 'g', 'o']
        } else {
            users.chars().collect()
        };
        let mut rest = &clause[op_at..];
        while let Some(op) = rest.chars().next() {
            let end = rest[1..]
                .find(['+', '-', '='])
                .map_or(rest.len(), |i| i + 1);
            let perms = &rest[1..end];
            rest = &rest[end..];
            for &u in &users {
                let shift = match u {
                    'u' => 6,
                    'g' => 3,
                    _ => 0,
                };
                let mut bits = 0u32;
                for p in perms.chars() {
                    match p {
                        'r' => bits |= 0o4 << shift,
                        'w' => bits |= 0o2 << shift,
                        'x' => bits |= 0o1 << shift,
                        'X' if is_dir || m & 0o111 != 0 => bits |= 0o1 << shift,
                        's' if u == 'u' => bits |= 0o4000,
                        's' if u == 'g' => bits |= 0o2000,
                        't' if u == 'o' => bits |= 0o1000,
                        'u' | 'g' | 'o' => {
                            let from = match p {
                                'u' => 6,
                                'g' => 3,
                                _ => 0,
                            };
                            bits |= ((m >> from) & 0o7) << shift;
                        }
                        _ => {}
                    }
                }
                let class = match u {
                    'u' => 0o4700,
                    'g' => 0o2070,
                    _ => 0o1007,
                };
                m = match op {
                    '+' => m | bits,
                    '-' => m & !bits,
                    _ => (m & !class) | bits,
                };
            }
        }
    }
    m
}

#[cfg(test)]
mod mode_tests {
    use super::*;

    #[test]
    fn symbolic_modes_apply_as_in_ansible() {
        let sym = |s: &str| Mode::Symbolic(s.into());
        assert_eq!(apply_mode(0o644, false, &sym("u=rw,g=r")), 0o644);
        assert_eq!(apply_mode(0o644, false, &sym("a+x")), 0o755);
        assert_eq!(apply_mode(0o755, false, &sym("u+rwX,g-rwx,o-rwx")), 0o700);
        assert_eq!(apply_mode(0o644, false, &sym("u+rwX,g-rwx,o-rwx")), 0o600);
        assert_eq!(apply_mode(0o644, true, &sym("a+X")), 0o755);
        assert_eq!(apply_mode(0o640, false, &sym("o=g")), 0o644);
        assert_eq!(apply_mode(0o4755, false, &sym("u=rwx")), 0o755);
        assert_eq!(apply_mode(0o644, false, &Mode::Octal(0o600)), 0o600);
    }

    #[test]
    fn python_replacement_templates_convert() {
        assert_eq!(
            python_template(r"a=\1 \g<2> \g<name> $x"),
            "a=${1} ${2} ${name} $$x"
        );
    }
}
