//! `git`: a checkout of a repository at a version, following ansible-core's git module
//! (lib/ansible/modules/git.py) step by step: clone when there is no repository, otherwise
//! fetch (`--tags`, or the shallow refspecs with `depth`) and switch to the version
//! (`checkout --force` + `reset --hard` for branches, `checkout --force` for tags and SHAs),
//! refusing local modifications unless `force`. Check mode asks the remote (`ls-remote`) what
//! the version points at instead of fetching.
//!
//! The whole decision runs on the host as one shell program (one round trip); it prints the
//! module's result keys and, on failure, the failing command's output in sections.

use super::hosttmp::{self, Cleanup, Place};
use super::sysutil::{self, kv, sections};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{self, Value, Vars};

pub struct Git;

static SPEC: Spec = Spec {
    names: &["git"],
    diff: true,
    params: &[&[
        Param::str("dest"),
        Param::str("repo").required().aliases(&["name"]),
        Param::str("version").default_str("HEAD"),
        Param::str("remote").default_str("origin"),
        Param::str("refspec"),
        Param::str("reference"),
        Param::bool("force").default_bool(false),
        Param::int("depth"),
        Param::bool("clone").default_bool(true),
        Param::bool("update").default_bool(true),
        Param::bool("verify_commit").default_bool(false),
        Param::list("gpg_allowlist").aliases(&["gpg_whitelist"]),
        Param::bool("accept_hostkey").default_bool(false),
        Param::bool("accept_newhostkey").default_bool(false),
        Param::str("key_file"),
        Param::str("ssh_opts"),
        Param::str("executable"),
        Param::bool("bare").default_bool(false),
        Param::bool("recursive").default_bool(true),
        Param::bool("single_branch").default_bool(false),
        Param::bool("track_submodules").default_bool(false),
        Param::any("umask"),
        Param::str("archive"),
        Param::str("archive_prefix"),
        Param::str("separate_git_dir"),
    ]],
    ..Spec::BASE
};

impl Module for Git {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run(args, ctx))
    }
}

/// The program. Inputs are shell variables set before it (see [`run`]).
const PROGRAM: &str = r#"
export LANG=C LC_ALL=C LC_MESSAGES=C LC_CTYPE=C LANGUAGE=C
@PRIVATE_DIR@# fail MSG [RC [CMD]]: the module's fail_json with the last command's output.
fail() {
  printf 'FAIL=%s\n' "$1" | tr '\n' '\036'; echo
  [ -n "${2:-}" ] && echo "FAILRC=$2"
  [ -n "${3:-}" ] && printf 'FAILCMD=%s\n' "$3"
  [ -n "$BEFORE" ] && echo "BEFORE=$BEFORE"
  sec fout; cat "$T/o" 2>/dev/null; sec ferr; cat "$T/e" 2>/dev/null
  exit 0
}
# run CMD...: output to $T/o and $T/e, status in $R.
run() { "$@" >"$T/o" 2>"$T/e"; R=$?; }
# must CMD...: run, and fail as check_rc=True does (msg = stderr without trailing newlines).
must() { run "$@"; [ $R = 0 ] || fail "$(cat "$T/e")" $R "$*"; }
indest() { if [ -d "$DEST" ]; then (cd "$DEST" && "$@"); else "$@"; fi; }

repo_path() {
  if [ "$BARE" = 1 ]; then RP=$DEST; return; fi
  RP=$DEST/.git
  if [ -f "$RP" ]; then
    g=$(sed -n 's/^gitdir: //p' "$RP" | head -n 1)
    [ -n "$g" ] || fail "Current repo does not have a valid reference to a separate Git dir or it refers to the invalid path"
    case $g in /*) RP=$g ;; *) RP=$DEST/$g ;; esac
  fi
}
is_remote_branch() { run indest $G ls-remote "$1" -h "refs/heads/$VERSION"; [ $R = 0 ] || fail "$(cat "$T/e")" $R "$G ls-remote $1 -h refs/heads/$VERSION"; grep -qF -- "$VERSION" "$T/o"; }
is_remote_tag() { run indest $G ls-remote "$1" -t "refs/tags/$VERSION"; [ $R = 0 ] || fail "$(cat "$T/e")" $R "$G ls-remote $1 -t refs/tags/$VERSION"; grep -qF -- "$VERSION" "$T/o"; }
branches() { (cd "$DEST" && $G branch --no-color -a) | sed 's/^[ \t]*//; s/[ \t]*$//' | grep -v '^$'; }
is_local_branch() { branches | grep -qxF -e "$1" -e "* $1"; }
is_not_a_branch() { branches | grep '^\* ' | grep -q -e 'no branch' -e 'detached from' -e 'detached at'; }
head_branch() {
  repo_path; hf=$RP/HEAD
  if is_not_a_branch; then hf=$RP/refs/remotes/$REMOTE/HEAD; fi
  HB=
  [ -e "$hf" ] || return 0
  l=$(head -n 1 "$hf" | sed "s#refs/remotes/$REMOTE##")
  r=${l##* }
  case $r in */*/*) r=${r#*/}; r=${r#*/} ;; */*) r=${r#*/} ;; esac
  HB=$r
}
remote_head() {
  cloning=0; cwd=$DEST
  if [ "$1" = "$REPO_PARAM" ] || [ "$1" = "$REPO" ]; then cloning=1; cwd=; fi
  tag=0
  if [ "$VERSION" = HEAD ]; then
    if [ $cloning = 1 ]; then set -- "$1" -h HEAD
    else head_branch; set -- "$1" -h "refs/heads/$HB"; fi
  elif is_remote_branch "$1"; then set -- "$1" -h "refs/heads/$VERSION"
  elif is_remote_tag "$1"; then tag=1; set -- "$1" -t "refs/tags/$VERSION*"
  else RH=$VERSION; return; fi
  if [ -n "$cwd" ] && [ -d "$cwd" ]; then run sh -c 'cd "$0" && exec "$@"' "$cwd" $G ls-remote "$@"
  else run $G ls-remote "$@"; fi
  [ $R = 0 ] || fail "$(cat "$T/e")" $R "$G ls-remote $*"
  [ -s "$T/o" ] || fail "Could not determine remote revision for $VERSION" $R
  line=$(head -n 1 "$T/o")
  if [ $tag = 1 ]; then
    while IFS= read -r t; do
      case $t in *"$VERSION^{}") line=$t; break ;; *"$VERSION") line=$t ;; esac
    done < "$T/o"
  fi
  RH=${line%%[ 	]*}
}
remote_url() { RU=$( (cd "$DEST" && $G ls-remote --get-url "$REMOTE") 2>/dev/null) || RU=; }
same_url() { [ "$1" = "$2" ] || [ "$(realpath -m -- "$1")" = "$(realpath -m -- "$2")" ]; }
set_remote_url() {
  remote_url; RUC=0
  if [ -n "$RU" ] && same_url "$RU" "$REPO"; then return; fi
  run sh -c 'cd "$0" && exec "$@"' "$DEST" $G remote set-url "$REMOTE" "$REPO"
  [ $R = 0 ] || fail "Failed to set a new url $REPO for $REMOTE: $(cat "$T/o") $(cat "$T/e")"
  [ -n "$RU" ] && RUC=1
  return 0
}
version_of() { (cd "$DEST" && $G rev-parse "${1:-HEAD}" 2>/dev/null); }
do_fetch() {
  set_remote_url
  set --
  refspecs=
  if [ -n "$DEPTH" ]; then
    head_branch
    if [ -n "$REFSPEC" ]; then refspecs=$REFSPEC
    elif [ "$VERSION" = HEAD ]; then refspecs=$HB
    elif is_remote_branch "$REPO"; then
      [ "$HB" != "$VERSION" ] && refspecs="+refs/heads/$VERSION:refs/heads/$VERSION"
      refspecs="$refspecs +refs/heads/$VERSION:refs/remotes/$REMOTE/$VERSION"
    elif is_remote_tag "$REPO"; then refspecs="+refs/tags/$VERSION:refs/tags/$VERSION"
    fi
    [ -n "$refspecs" ] && set -- --depth "$DEPTH"
  fi
  if [ -z "$DEPTH" ] || [ -z "$refspecs" ]; then
    if [ "$BARE" = 1 ]; then refspecs='+refs/heads/*:refs/heads/* +refs/tags/*:refs/tags/*'
    else set -- "$@" --tags; fi
    [ -n "$REFSPEC" ] && refspecs="$refspecs $REFSPEC"
  fi
  [ "$FORCE" = 1 ] && set -- "$@" --force
  run sh -c 'cd "$0" && exec "$@"' "$DEST" $G fetch "$@" "$REMOTE" $refspecs
  [ $R = 0 ] || fail "Failed to download remote objects and refs: $(cat "$T/o") $(cat "$T/e")"
}
do_clone() {
  mkdir -p "$(dirname "$DEST")" 2>/dev/null
  set --
  if [ "$BARE" = 1 ]; then set -- --bare; else set -- --origin "$REMOTE"; fi
  bt=0; if is_remote_branch "$REPO" || is_remote_tag "$REPO"; then bt=1; fi
  if [ -n "$DEPTH" ]; then
    if [ "$VERSION" = HEAD ] || [ -n "$REFSPEC" ]; then set -- "$@" --depth "$DEPTH"
    elif [ $bt = 1 ]; then set -- "$@" --depth "$DEPTH" --branch "$VERSION"
    else echo "WARN=Ignoring depth argument. Shallow clones are only available for HEAD, branches, tags or in combination with refspec."; fi
  fi
  [ -n "$REFERENCE" ] && set -- "$@" --reference "$REFERENCE"
  if [ "$SINGLE" = 1 ]; then set -- "$@" --single-branch; [ $bt = 1 ] && set -- "$@" --branch "$VERSION"; fi
  [ -n "$SEPARATE" ] && set -- "$@" "--separate-git-dir=$SEPARATE"
  (cd "$(dirname "$DEST")" 2>/dev/null; $G clone "$@" "$REPO" "$DEST") >"$T/o" 2>"$T/e"; R=$?
  [ $R = 0 ] || fail "$(cat "$T/e")" $R "$G clone $* $REPO $DEST"
  if [ "$BARE" = 1 ] && [ "$REMOTE" != origin ]; then must sh -c 'cd "$0" && exec "$@"' "$DEST" $G remote add "$REMOTE" "$REPO"; fi
  if [ -n "$REFSPEC" ]; then
    if [ -n "$DEPTH" ]; then must sh -c 'cd "$0" && exec "$@"' "$DEST" $G fetch --depth "$DEPTH" "$REMOTE" "$REFSPEC"
    else must sh -c 'cd "$0" && exec "$@"' "$DEST" $G fetch "$REMOTE" "$REFSPEC"; fi
  fi
}
in_dest() { run sh -c 'cd "$0" && exec "$@"' "$DEST" "$@"; }
switch_version() {
  if [ "$VERSION" = HEAD ]; then
    head_branch; b=$HB
    in_dest $G checkout --force "$b"
    [ $R = 0 ] || fail "Failed to checkout branch $b" $R
    in_dest $G reset --hard "$REMOTE/$b" --
    [ $R = 0 ] || fail "Failed to checkout branch $b" $R "$G reset --hard $REMOTE/$b --"
  else
    if is_remote_branch "$REMOTE"; then
      if [ -n "$DEPTH" ] && ! is_local_branch "$VERSION"; then
        in_dest $G fetch --depth="$DEPTH" "$REMOTE" "+refs/heads/$VERSION:refs/remotes/$REMOTE/$VERSION"
        [ $R = 0 ] || fail "Failed to fetch branch from remote: $VERSION" $R
      fi
      if ! is_local_branch "$VERSION"; then
        in_dest $G checkout --track -b "$VERSION" "$REMOTE/$VERSION"; c="$G checkout --track -b $VERSION $REMOTE/$VERSION"
      else
        in_dest $G checkout --force "$VERSION"
        [ $R = 0 ] || fail "Failed to checkout branch $VERSION" $R
        in_dest $G reset --hard "$REMOTE/$VERSION"; c="$G reset --hard $REMOTE/$VERSION"
      fi
    else
      in_dest $G checkout --force "$VERSION"; c="$G checkout --force $VERSION"
    fi
    [ $R = 0 ] || fail "Failed to checkout $VERSION" $R "$c"
  fi
}
submodules() {
  SUB=0
  [ -f "$DEST/.gitmodules" ] || return 0
  for p in $(sed -n 's/^[ \t]*path[ \t]*=[ \t]*//p' "$DEST/.gitmodules"); do
    [ -e "$DEST/$p/.git" ] || { SUB=1; break; }
  done
  if [ $SUB = 0 ]; then
    in_dest $G submodule foreach $G fetch
    [ $R = 0 ] || fail "Failed to fetch submodules: $(cat "$T/o")$(cat "$T/e")"
    if [ "$TRACK" = 1 ]; then
      b=$(cd "$DEST" && $G submodule foreach -q 'git rev-parse HEAD' 2>/dev/null)
      a=$(cd "$DEST" && $G submodule foreach -q "git rev-parse $REMOTE/master" 2>/dev/null)
      [ "$a" = "$b" ] || SUB=1
    else
      in_dest $G submodule status
      grep -q '^[^ ]' "$T/o" && SUB=1
    fi
  fi
}
submodule_update() {
  [ -f "$DEST/.gitmodules" ] || return 0
  in_dest $G submodule sync
  [ $R = 0 ] || fail "$(cat "$T/e")" $R "$G submodule sync"
  set -- --init --recursive
  [ "$TRACK" = 1 ] && set -- "$@" --remote
  [ "$FORCE" = 1 ] && set -- "$@" --force
  in_dest $G submodule update "$@"
  [ $R = 0 ] || fail "Failed to init/update submodules: $(cat "$T/o")$(cat "$T/e")"
}
show_diff() {
  [ "$DIFF" = 1 ] || return 0
  if [ -z "$BEFORE" ]; then DIFFTEXT=">> Newly checked out $AFTER"; echo "DIFF=1"; sec diff; printf '%s' "$DIFFTEXT"; return; fi
  [ "$BEFORE" != "$AFTER" ] || return 0
  in_dest $G fetch --tags "$REMOTE" >/dev/null 2>&1
  (cd "$DEST" && $G diff "$BEFORE" "$AFTER") >"$T/d" 2>"$T/de"; r=$?
  echo DIFF=1; sec diff
  if [ $r = 0 ] && [ -s "$T/d" ]; then cat "$T/d"
  elif [ $r = 0 ]; then printf '>> No visual differences between %s and %s' "$BEFORE" "$AFTER"
  elif [ -s "$T/de" ]; then printf '>> Failed to get proper diff between %s and %s:\n>> %s' "$BEFORE" "$AFTER" "$(cat "$T/de")"
  else printf '>> Failed to get proper diff between %s and %s' "$BEFORE" "$AFTER"; fi
}

case $G in /*) ;; *) G=$(command -v "$G") || { echo "NOGIT=1"; exit 0; } ;; esac
[ -n "$UMASK" ] && umask "$UMASK"
BEFORE=; AFTER=; CHANGED=0; RUC=; LOCAL=0; SUB=0
if [ -n "$DEST" ]; then repo_path; CONFIG=$RP/config; fi
if { [ -n "$DEST" ] && [ ! -e "$CONFIG" ]; } || { [ -z "$DEST" ] && [ "$CLONE" = 0 ]; }; then
  if [ "$CHECK" = 1 ] || [ "$CLONE" = 0 ]; then
    remote_head "$REPO"
    echo CHANGED=1; echo "AFTER=$RH"; AFTER=$RH
    show_diff
    exit 0
  fi
  do_clone
elif [ "$UPDATE" = 0 ]; then
  BEFORE=$(version_of); echo "BEFORE=$BEFORE"; echo "AFTER=$BEFORE"; echo CHANGED=0
  exit 0
else
  if [ "$BARE" != 1 ] && (cd "$DEST" && $G status --porcelain) | grep -qv '^??'; then LOCAL=1; fi
  BEFORE=$(version_of)
  if [ $LOCAL = 1 ]; then
    [ "$FORCE" = 1 ] || { : >"$T/o"; : >"$T/e"; fail "Local modifications exist in the destination: $DEST (force=no)."; }
    if [ "$CHECK" != 1 ]; then
      must sh -c 'cd "$0" && exec "$@"' "$DEST" $G reset --hard HEAD
      CHANGED=1; printf 'MSG=%s\n' "Local modifications exist in the destination: $DEST"
    fi
  fi
  if [ "$CHECK" = 1 ]; then
    remote_url; RUC=0
    if [ -n "$RU" ] && ! same_url "$RU" "$REPO"; then RUC=1; fi
    remote_head "$REMOTE"
    echo "BEFORE=$BEFORE"; echo "AFTER=$RH"; echo "RUC=$RUC"; AFTER=$RH
    if [ "$BEFORE" != "$RH" ] || [ $RUC = 1 ]; then echo CHANGED=1; else echo CHANGED=0; fi
    show_diff
    exit 0
  fi
  do_fetch
fi
[ "$BARE" = 1 ] || switch_version
if [ "$RECURSIVE" = 1 ] && [ "$BARE" != 1 ]; then
  submodules
  if [ $SUB = 1 ]; then echo SUBCHANGED=1; submodule_update; fi
fi
AFTER=$(version_of)
echo "BEFORE=$BEFORE"; echo "AFTER=$AFTER"; [ -n "$RUC" ] && echo "RUC=$RUC"
if [ "$BEFORE" != "$AFTER" ] || [ $LOCAL = 1 ] || [ $SUB = 1 ] || [ "$RUC" = 1 ]; then echo CHANGED=1; show_diff; else echo CHANGED=$CHANGED; fi
"#;

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let dest = args.str("dest")?;
    let repo = args.required_str("repo")?;
    let version = args.str("version")?.unwrap_or_else(|| "HEAD".into());
    let remote = args.str("remote")?.unwrap_or_else(|| "origin".into());
    let refspec = args.str("refspec")?;
    let reference = args.str("reference")?;
    let force = args.bool("force")?.unwrap_or(false);
    let depth = args.int("depth")?;
    let clone = args.bool("clone")?.unwrap_or(true);
    let update = args.bool("update")?.unwrap_or(true);
    let verify_commit = args.bool("verify_commit")?.unwrap_or(false);
    let _ = args.list("gpg_allowlist")?;
    let accept_hostkey = args.bool("accept_hostkey")?.unwrap_or(false);
    let accept_newhostkey = args.bool("accept_newhostkey")?.unwrap_or(false);
    let key_file = args.str("key_file")?;
    let ssh_opts = args.str("ssh_opts")?;
    let executable = args.str("executable")?;
    let bare = args.bool("bare")?.unwrap_or(false);
    let recursive = args.bool("recursive")?.unwrap_or(true);
    let single_branch = args.bool("single_branch")?.unwrap_or(false);
    let track_submodules = args.bool("track_submodules")?.unwrap_or(false);
    let umask = args.raw("umask");
    let archive = args.str("archive")?;
    let archive_prefix = args.str("archive_prefix")?;
    let separate_git_dir = args.str("separate_git_dir")?;
    if separate_git_dir.is_some() && bare {
        return Err(ModuleError::Failed(
            "parameters are mutually exclusive: separate_git_dir|bare".into(),
        ));
    }
    if accept_hostkey && accept_newhostkey {
        return Err(ModuleError::Failed(
            "parameters are mutually exclusive: accept_hostkey|accept_newhostkey".into(),
        ));
    }
    if archive_prefix.is_some() && archive.is_none() {
        return Err(ModuleError::Failed(
            "missing parameter(s) required by 'archive_prefix': archive".into(),
        ));
    }
    if archive.is_some() || verify_commit {
        return Err(ModuleError::Failed(
            "baton's git module does not support archive or verify_commit yet".into(),
        ));
    }
    let umask = match umask {
        None => String::new(),
        Some(u) if u.kind() != minijinja::value::ValueKind::String => {
            return Ok(sysutil::failed(
                "umask must be defined as a quoted octal integer",
                vec![],
            ));
        }
        Some(u) => {
            let s = u.as_str().unwrap_or("").to_string();
            if u32::from_str_radix(&s, 8).is_err() {
                return Ok(sysutil::failed(
                    "umask must be an octal integer",
                    vec![(
                        "details",
                        Value::from(format!("invalid literal for int() with base 8: '{s}'")),
                    )],
                ));
            }
            s
        }
    };
    if dest.is_none() && clone {
        return Ok(sysutil::failed(
            "the destination directory must be specified unless clone=no",
            vec![],
        ));
    }
    // ssh options as set_git_ssh_env builds them (git >= 2.3: GIT_SSH_COMMAND).
    let mut opts = ssh_opts.clone().unwrap_or_default();
    if accept_hostkey && !opts.contains("-o StrictHostKeyChecking=no") {
        opts = if ssh_opts.is_some() {
            format!("{opts} -o StrictHostKeyChecking=no")
        } else {
            "-o StrictHostKeyChecking=no".into()
        };
    }
    if accept_newhostkey && !opts.contains("StrictHostKeyChecking") {
        opts = format!("{opts} -o StrictHostKeyChecking=accept-new");
    }
    let mut env_opts = format!(" {opts}");
    if !env_opts.contains("BatchMode=yes") {
        env_opts.push_str(" -o BatchMode=yes");
    }
    if let Some(k) = &key_file {
        let key_opt = format!("-i {k}");
        if !env_opts.contains(&key_opt) {
            env_opts.push_str(&format!("  {key_opt}"));
        }
        if !env_opts.contains("IdentitiesOnly=yes") {
            env_opts.push_str(" -o IdentitiesOnly=yes");
        }
    }
    let repo_param = repo.clone();
    let repo = if repo.starts_with('/') {
        format!("file://{repo}")
    } else {
        repo
    };
    let dest_abs = dest.clone().map(|d| {
        if d.starts_with('/') || d.starts_with('~') {
            d
        } else {
            format!("$PWD/{d}")
        }
    });
    let q = |s: &str| shell_quote(s);
    let mut script = format!(
        "G={g}; REPO={repo}; REPO_PARAM={rp}; VERSION={version}; REMOTE={remote}; REFSPEC={refspec}; \
         REFERENCE={reference}; FORCE={force}; DEPTH={depth}; CLONE={clone}; UPDATE={update}; BARE={bare}; \
         RECURSIVE={recursive}; SINGLE={single}; TRACK={track}; UMASK={umask}; SEPARATE={sep}; \
         CHECK={check}; DIFF={diff}\n\
         GIT_SSH_COMMAND=\"${{GIT_SSH:-${{GIT_SSH_COMMAND:-ssh}}}}\"{ssh}; export GIT_SSH_COMMAND\n",
        g = executable.as_deref().map(q).unwrap_or_else(|| "git".into()),
        repo = q(&repo),
        rp = q(&repo_param),
        version = q(&version),
        remote = q(&remote),
        refspec = q(refspec.as_deref().unwrap_or("")),
        reference = q(reference.as_deref().unwrap_or("")),
        force = force as u8,
        depth = depth.map(|d| d.to_string()).unwrap_or_default(),
        clone = clone as u8,
        update = update as u8,
        bare = bare as u8,
        recursive = recursive as u8,
        single = single_branch as u8,
        track = track_submodules as u8,
        umask = q(&umask),
        sep = q(separate_git_dir.as_deref().unwrap_or("")),
        check = ctx.check_mode as u8,
        diff = ctx.diff as u8,
        ssh = q(&env_opts),
    );
    // dest: relative paths are the module's os.path.abspath (from the login directory).
    match &dest_abs {
        Some(d) if d.starts_with("$PWD/") => {
            script.push_str(&format!("DEST=\"$PWD\"/{}\n", q(&d[5..])))
        }
        Some(d) if d.starts_with('~') => {
            script.push_str(&format!("DEST=\"$HOME\"{}\n", q(&d[1..])))
        }
        Some(d) => script.push_str(&format!("DEST={}\n", q(d.trim_end_matches('/')))),
        None => script.push_str("DEST=\n"),
    }
    script.push_str(&format!(
        "sec() {{ printf '\\n%s %s\\n' {} \"$1\"; }}\n",
        sysutil::MARK
    ));
    // Its scratch files live in a private directory (see hosttmp).
    script.push_str(&PROGRAM.replace(
        "@PRIVATE_DIR@",
        &hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?,
    ));
    let out = sysutil::run(ctx, &script).await?;
    let secs = sections(&out.stdout);
    let head = kv(&secs[""]);
    if head.contains_key("NOGIT") {
        return Ok(sysutil::failed(
            "Failed to find required executable \"git\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            vec![],
        ));
    }
    let before = head
        .get("BEFORE")
        .filter(|b| !b.is_empty())
        .map(|b| Value::from(b.as_str()))
        .unwrap_or(Value::from(()));
    if let Some(msg) = head.get("FAIL") {
        let msg = msg
            .replace('\u{1e}', "\n")
            .trim_end_matches('\n')
            .to_string();
        let mut extra = Vec::new();
        if let Some(c) = head.get("FAILCMD") {
            extra.push(("cmd", Value::from(c.as_str())));
        }
        if let Some(rc) = head.get("FAILRC").and_then(|r| r.parse::<i64>().ok()) {
            extra.push(("rc", Value::from(rc)));
            extra.push((
                "stdout",
                Value::from(secs.get("fout").cloned().unwrap_or_default()),
            ));
            extra.push((
                "stderr",
                Value::from(secs.get("ferr").cloned().unwrap_or_default()),
            ));
        }
        if msg.starts_with("Local modifications exist") {
            extra.push(("before", before));
        }
        return Ok(sysutil::failed(msg, extra));
    }
    if out.rc != 0 && !head.contains_key("CHANGED") {
        return Err(ModuleError::Failed(format!(
            "git failed: {}",
            out.stderr.trim()
        )));
    }
    let mut r = Vars::new();
    r.insert(
        "changed".into(),
        Value::from(head.get("CHANGED").map(String::as_str) == Some("1")),
    );
    r.insert("before".into(), before);
    r.insert(
        "after".into(),
        Value::from(head.get("AFTER").cloned().unwrap_or_default()),
    );
    if let Some(ruc) = head.get("RUC") {
        r.insert("remote_url_changed".into(), Value::from(ruc == "1"));
    }
    if let Some(m) = head.get("MSG") {
        r.insert("msg".into(), Value::from(m.as_str()));
    }
    if head.contains_key("SUBCHANGED") {
        r.insert("submodules_changed".into(), Value::from(true));
    }
    if let Some(w) = head.get("WARN") {
        r.insert(
            "warnings".into(),
            Value::from(vec![Value::from(w.as_str())]),
        );
    }
    if head.contains_key("DIFF") {
        r.insert(
            "diff".into(),
            value::map([(
                "prepared",
                Value::from(secs.get("diff").cloned().unwrap_or_default()),
            )]),
        );
    }
    Ok(r)
}
