//! `file`: a path's state (file, directory, link, hard, touch, absent) and its mode, owner and
//! group, as Ansible's `file` module manages them.
//!
//! One command per task: a shell script (on [`fileutil::sh_lib`]) finds the current state,
//! acts (or, in check mode, only predicts) and reports; the result keys and the `diff` are
//! built here from the report as Ansible's module builds them (`path` or `dest`, then
//! `add_path_info`'s uid, gid, owner, group, mode, state, size).

use super::fileutil::{self, Attrs, Report};
use super::hosttmp::{self, Cleanup, Place};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};

pub struct File;

const STATES: &[&str] = &["absent", "directory", "file", "hard", "link", "touch"];

static SPEC: Spec = Spec {
    names: &["file"],
    diff: true,
    params: &[
        &[
            Param::str("path").required().aliases(&["dest", "name"]),
            Param::str("state").choices(STATES),
            Param::str("src"),
            Param::bool("recurse").default_bool(false),
            Param::bool("force").default_bool(false),
            Param::bool("follow").default_bool(true),
            Param::str("access_time"),
            Param::str("modification_time"),
            Param::str("access_time_format"),
            Param::str("modification_time_format"),
        ],
        fileutil::ATTRS,
        &[Param::any("_original_basename"), Param::any("_diff_peek")],
    ],
    ..Spec::BASE
};

impl Module for File {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(async move { fileutil::with_details(run(args, ctx).await) })
    }
}

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let path = args.required_str("path")?;
    let state = args.str("state")?;
    let src = args.str("src")?;
    let recurse = args.bool("recurse")?.unwrap_or(false);
    let force = args.bool("force")?.unwrap_or(false);
    let follow = args.bool("follow")?.unwrap_or(true);
    let access_time = args.str("access_time")?;
    let modification_time = args.str("modification_time")?;
    let _ = args.str("access_time_format")?;
    let _ = args.str("modification_time_format")?;
    let attrs = Attrs::from_args(&mut args)?;
    let _ = args.raw("_original_basename");
    let _ = args.raw("_diff_peek");

    if recurse && state.as_deref().is_some_and(|s| s != "directory") {
        return Err(ModuleError::Failed(
            "recurse option requires state to be 'directory'".into(),
        ));
    }
    if src.is_some() && state.as_deref().is_some_and(|s| s != "link" && s != "hard") {
        return Err(ModuleError::Failed(
            "src option requires state to be 'link' or 'hard'".into(),
        ));
    }
    for (name, v) in [
        ("access_time", &access_time),
        ("modification_time", &modification_time),
    ] {
        if let Some(t) = v
            && t != "now"
            && t != "preserve"
        {
            return Err(ModuleError::Failed(format!(
                "{name}: only 'now' and 'preserve' are supported by baton, got {t}"
            )));
        }
    }
    let state = state.unwrap_or_else(|| {
        if recurse {
            "directory".into()
        } else if src.is_some() {
            "link".into()
        } else {
            "auto".into()
        }
    });
    if (state == "link" || state == "hard") && src.is_none() {
        return Err(ModuleError::Failed(format!(
            "src is required for creating a {}",
            if state == "link" { "link" } else { "hard link" }
        )));
    }
    // Ansible resolves a relative link source against the link's directory.
    let abs_src = src.as_deref().map(|s| {
        if s.starts_with('/') {
            s.to_string()
        } else {
            format!("{}/{s}", fileutil::dirname(&path).trim_end_matches('/'))
        }
    });
    let preserve_times = state == "touch"
        && access_time.as_deref() == Some("preserve")
        && modification_time.as_deref() == Some("preserve");

    let mut script = attrs.shell_vars(ctx.check_mode);
    script.push_str(&format!(
        "P={}; SRC={}; ABSSRC={}; STATE={}; FORCE={}; FOLLOW={}; RECURSE={}; DIFF={}; PRESERVE={}\n",
        shell_quote(&path),
        shell_quote(src.as_deref().unwrap_or("")),
        shell_quote(abs_src.as_deref().unwrap_or("")),
        shell_quote(&state),
        flag(force),
        flag(follow),
        flag(recurse),
        flag(ctx.diff),
        flag(preserve_times),
    ));
    script.push_str(&BODY.replace(
        "@PRIVATE_DIR@",
        &hosttmp::private_dir("L", Place::Beside("\"$_pd\""), Cleanup::Caller)?,
    ));
    let report = fileutil::run_script(ctx, &script).await?;
    let mut r = result(&report, &path, &state, src.as_deref());
    // Ansible returns the diff only under --diff.
    if !ctx.diff {
        r.shift_remove("diff");
    }
    Ok(r)
}

fn flag(b: bool) -> u8 {
    b as u8
}

/// The host side. Reports `prev` (the state before), `changed`, `fail` (a failure Ansible
/// reports with the path and state), `prevsrc` (a link's old target), `dirs`/`files` (what an
/// absent directory held, for the diff), attribute changes, and `info`/`now` (the state after).
const BODY: &str = r#"# Puts a new link ($1: sym or hard, to $2) in place of what is at $P: made in a private
# directory beside it and renamed over it (see hosttmp), so nothing another user put at a
# temporary name is followed or moved into place.
relink() {
  _here=$PWD
  case $P in */*) _pd=${P%/*}; _pd=${_pd:-/} ;; *) _pd=. ;; esac
  case $P in /*) _aP=$P ;; *) _aP=$PWD/$P ;; esac
  _src=$2
  [ "$1" = hard ] && case $_src in /*) ;; *) _src=$PWD/$_src ;; esac
@PRIVATE_DIR@  if [ "$1" = sym ]; then ln -s -- "$_src" l; else ln -- "$_src" l; fi && mv -T -- l "$_aP"; _r=$?
  L_done; cd -- "$_here" 2>/dev/null || cd /
  return $_r
}
ftype "$P"; ST=$FT; R prev "$ST"
T=$P
if [ "$STATE" = auto ]; then
  case $ST in directory) STATE=directory ;; *) STATE=file ;; esac
fi
R state "$STATE"
if [ "$FOLLOW" = 1 ] && [ "$ST" = link ] && { [ "$STATE" = file ] || [ "$STATE" = directory ]; }; then
  T=$(readlink -f -- "$P"); ftype "$T"; ST=$FT
fi
case $STATE in
absent)
  if [ "$ST" != absent ]; then
    if [ "$ST" = directory ] && [ "$DIFF" = 1 ]; then
      find "$P" -mindepth 1 -type d | while IFS= read -r f; do R dirs "$f"; done
      find "$P" -mindepth 1 ! -type d | while IFS= read -r f; do R files "$f"; done
    fi
    [ "$CHECK" = 1 ] || rm -rf -- "$P" || die "rmtree failed: $(rm -rf -- "$P" 2>&1)"
    R changed 1
  fi ;;
file)
  case $ST in
    file|hard) attrs "$T" ;;
    *) R fail "file ($P) is $ST, cannot continue"; R failstate "$ST"; exit 0 ;;
  esac ;;
directory)
  if [ "$ST" = absent ]; then
    R changed 1
    if [ "$CHECK" != 1 ]; then
      # Create each missing component and give it the attributes, as Ansible does.
      missing=; d=$P
      while [ -n "$d" ] && [ "$d" != / ] && [ "$d" != . ] && [ ! -e "$d" ]; do
        missing="$d
$missing"
        case $d in */) d=$(dirname -- "$d") ;; */*) d=${d%/*}; d=${d:-/} ;; *) d=. ;; esac
      done
      # A loop in this shell, not `| while read`: a pipe costs the host two forks, and what
      # `attrs` learns (the stat `info` reuses) would stay in the pipe's subshell.
      _oifs=$IFS; IFS='
'; set -f
      for d in $missing; do
        IFS=$_oifs
        mkdir -- "$d" 2>/dev/null || [ -d "$d" ] || die "There was an issue creating $d as requested: $(mkdir -- "$d" 2>&1)"
        attrs "$d"
      done
      IFS=$_oifs; set +f
      [ -d "$P" ] || exit 1
    fi
  elif [ "$ST" = directory ]; then
    attrs "$T"
    if [ "$RECURSE" = 1 ]; then
      rc=$(find "$T" -mindepth 1 | { c=0; while IFS= read -r f; do
        ch=0; QUIET=1; if [ -L "$f" ]; then attrs "$f" nofollow; else attrs "$f"; fi
        [ "$ch" = 1 ] && c=1; done; echo $c; })
      [ "$rc" = 1 ] && R changed 1
    fi
  else
    die "$P already exists as a $ST"
  fi ;;
touch)
  if [ "$ST" = absent ]; then
    [ "$CHECK" = 1 ] || touch -- "$P" 2>/dev/null || die "Error, could not touch target: $(touch -- "$P" 2>&1)"
    R changed 1
  else
    [ "$PRESERVE" = 1 ] || R changed 1
    [ "$CHECK" = 1 ] || [ "$PRESERVE" = 1 ] || touch -- "$P" || die "Error while touching existing target"
  fi
  [ "$CHECK" = 1 ] && [ "$ST" = absent ] || attrs "$P" ;;
link)
  if [ ! -e "$ABSSRC" ] && [ ! -L "$ABSSRC" ] && [ "$FORCE" != 1 ]; then
    R fail "src file does not exist, use 'force=yes' if you really want to create the link: $ABSSRC"; R failsrc 1; exit 0
  fi
  case $ST in
    link)
      cur=$(readlink -- "$P")
      if [ "$cur" != "$SRC" ]; then
        R prevsrc "$cur"; R changed 1
        [ "$CHECK" = 1 ] || relink sym "$SRC" || die "Error while replacing link $P"
      fi ;;
    absent)
      R changed 1
      [ "$CHECK" = 1 ] || ln -s -- "$SRC" "$P" || die "Error while linking: $(ln -s -- "$SRC" "$P" 2>&1)" ;;
    directory)
      [ "$FORCE" = 1 ] || die "refusing to convert from directory to symlink for $P"
      [ -z "$(ls -A -- "$P")" ] || die "the directory $P is not empty, refusing to convert it"
      R changed 1
      [ "$CHECK" = 1 ] || { rmdir -- "$P" && ln -s -- "$SRC" "$P"; } || die "Error while replacing $P" ;;
    *)
      [ "$FORCE" = 1 ] || die "refusing to convert from $ST to symlink for $P"
      R changed 1
      [ "$CHECK" = 1 ] || relink sym "$SRC" || die "Error while replacing $P" ;;
  esac
  if [ -L "$P" ]; then attrs "$P" nofollow; fi ;;
hard)
  [ -e "$ABSSRC" ] || { R fail "src does not exist"; R failsrc 1; exit 0; }
  if [ "$ST" = absent ]; then
    R changed 1
    [ "$CHECK" = 1 ] || ln -- "$ABSSRC" "$P" || die "Error while linking: $(ln -- "$ABSSRC" "$P" 2>&1)"
  elif [ "$P" -ef "$ABSSRC" ] && [ ! -L "$P" ]; then :
  elif [ "$ST" = directory ]; then die "refusing to convert from directory to hard link for $P"
  else
    [ "$FORCE" = 1 ] || [ "$ST" = hard ] || [ "$ST" = link ] || die "Cannot link, $ST exists at destination"
    R changed 1
    [ "$CHECK" = 1 ] || relink hard "$ABSSRC" || die "Error while replacing $P"
  fi
  [ -e "$P" ] && attrs "$P" ;;
esac
[ "$ch" = 1 ] && R changed 1
ftype "$P"; R now "$FT"
info "$P"
"#;

fn result(report: &Report, path: &str, state: &str, src: Option<&str>) -> Vars {
    let prev = report.get("prev").unwrap_or("absent").to_string();
    let state = report.get("state").unwrap_or(state).to_string();
    if let Some(msg) = report.get("fail") {
        let mut r = fileutil::failed(msg, []);
        if report.flag("failsrc") {
            let key = if state == "link" { "path" } else { "dest" };
            r.insert(key.into(), Value::from(path));
            r.insert("src".into(), Value::from(src.unwrap_or("")));
        } else {
            r.insert("path".into(), Value::from(path));
            r.insert(
                "state".into(),
                Value::from(report.get("failstate").unwrap_or("absent")),
            );
        }
        return r;
    }
    let changed = report.flag("changed");
    let mut r = Vars::new();
    // Ansible's state functions name the path `dest` for touch and links, `path` otherwise.
    let key = if matches!(state.as_str(), "touch" | "link" | "hard") {
        "dest"
    } else {
        "path"
    };
    r.insert(key.into(), Value::from(path));
    if matches!(state.as_str(), "link" | "hard") {
        r.insert("src".into(), Value::from(src.unwrap_or("")));
    }
    r.insert("changed".into(), Value::from(changed));

    // The diff: the state change (Ansible's initial_diff) and attribute changes.
    let mut before = Vars::new();
    let mut after = Vars::new();
    before.insert("path".into(), Value::from(path));
    after.insert("path".into(), Value::from(path));
    if prev != state {
        before.insert("state".into(), Value::from(prev.as_str()));
        after.insert("state".into(), Value::from(state.as_str()));
    }
    if state == "absent" && prev == "directory" {
        let dirs: Vec<Value> = report.all("dirs").map(Value::from).collect();
        let files: Vec<Value> = report.all("files").map(Value::from).collect();
        {
            before.insert(
                "path_content".into(),
                crate::value::map([
                    ("directories", Value::from(dirs)),
                    ("files", Value::from(files)),
                ]),
            );
        }
    }
    if let Some(old) = report.get("prevsrc") {
        before.insert("src".into(), Value::from(old));
        after.insert("src".into(), Value::from(src.unwrap_or("")));
    }
    report.attr_changes(&mut before, &mut after);
    r.insert("diff".into(), fileutil::attr_diff(before, after));

    // add_path_info: what is at the path now (in check mode: what was there).
    let now = report.get("now").unwrap_or("absent");
    if report.get("info").is_some() {
        report.add_path_info(&mut r);
        r.insert("state".into(), Value::from(now));
    } else if state == "absent" {
        // add_path_info adds nothing for a missing path; only state=absent says so itself.
        r.insert("state".into(), Value::from("absent"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(pairs: &[(&str, &str)]) -> Report {
        Report {
            pairs: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_new_directory_reports_like_ansible() {
        let r = result(
            &report(&[
                ("prev", "absent"),
                ("state", "directory"),
                ("changed", "1"),
                ("now", "directory"),
                ("info", "0\t0\troot\troot\t755\t4096"),
            ]),
            "/tmp/d",
            "directory",
            None,
        );
        let keys: Vec<&str> = r.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "path", "changed", "diff", "uid", "gid", "owner", "group", "mode", "size", "state"
            ]
        );
        assert_eq!(r["mode"].as_str(), Some("0755"));
        assert_eq!(
            r["diff"]
                .get_attr("before")
                .unwrap()
                .get_attr("state")
                .unwrap()
                .as_str(),
            Some("absent")
        );
    }

    #[test]
    fn a_missing_file_fails_with_path_and_state() {
        let r = result(
            &report(&[
                ("prev", "absent"),
                ("state", "file"),
                ("fail", "file (/x) is absent, cannot continue"),
                ("failstate", "absent"),
            ]),
            "/x",
            "file",
            None,
        );
        assert_eq!(r["failed"], Value::from(true));
        assert_eq!(r["state"].as_str(), Some("absent"));
        assert_eq!(r["path"].as_str(), Some("/x"));
    }
}
