//! `copy remote_src: true`: a file or a directory copied on the host itself, by one script
//! that reports what it changed.

use super::*;

/// `copy: remote_src=yes`: both files on the host; one command compares and copies.
pub(super) async fn remote_copy(ctx: &ModuleCtx, src: &str, common: &Common) -> MapResult {
    let mut script = common.attrs.shell_vars(ctx.check_mode);
    script.push_str(&format!(
        "S={}; D={}; FORCE={}; BACKUP={}\n",
        shell_quote(src),
        shell_quote(&common.dest),
        common.force as u8,
        common.backup as u8
    ));
    script.push_str(REMOTE_DIR_COPY);
    script.push_str(
        r#"[ -r "$S" ] || die "Source $S not readable"
case $D in */) D="$D$(basename -- "$S")" ;; esac
[ -d "$D" ] && D="$D/$(basename -- "$S")"
R dest "$D"
dd=$(dirname -- "$D")
[ -d "$dd" ] || die "Destination directory $dd does not exist"
want=$(sha1sum < "$S" | cut -c1-40); R checksum "$want"; R md5sum "$(md5sum < "$S" | cut -c1-32)"
R size "$(stat -L -c %s -- "$S")"
cur=; [ -e "$D" ] && cur=$(sha1sum < "$D" | cut -c1-40)
if [ "$cur" != "$want" ] && { [ -z "$cur" ] || [ "$FORCE" = 1 ]; }; then
  R changed 1
  if [ "$CHECK" != 1 ]; then
    # The copy is made in a private directory beside the destination and renamed over it
    # (see hosttmp: nobody who can write to $dd can read it or swap it); paths are made
    # absolute first, as the script works inside that directory until the rename.
    case $D in /*) aD=$D ;; *) aD=$PWD/$D ;; esac
    case $S in /*) aS=$S ;; *) aS=$PWD/$S ;; esac
    here=$PWD
@PRIVATE_DIR@    cp -- "$aS" f || die "copy of $S failed"
    if [ -n "$cur" ]; then chmod "$(stat -L -c %a -- "$aD")" f; chown "$(stat -L -c %u:%g -- "$aD")" f 2>/dev/null
    else chmod "$(stat -L -c %a -- "$aS")" f; fi
    if [ "$BACKUP" = 1 ] && [ -n "$cur" ]; then
      bk="$D.$$.$(date +%Y-%m-%d@%H:%M:%S~)"; case $bk in /*) abk=$bk ;; *) abk=$here/$bk ;; esac
      cp -p -- "$aD" b && mv -T -- b "$abk" && R backup "$bk"
    fi
    mv -T -- f "$aD" || die "cannot rename the new copy to $D"
    T_done; trap - EXIT
    cd -- "$here" 2>/dev/null || cd /
  fi
fi
[ -e "$D" ] && attrs "$D"
[ "$ch" = 1 ] && R changed 1
info "$D"
"#,
    );
    let script = script.replace(
        "@PRIVATE_DIR@",
        &hosttmp::private_dir("T", Place::Beside("\"$dd\""), Cleanup::OnExit)?,
    );
    let report = fileutil::run_script(ctx, &script).await?;
    if report.flag("dir") {
        return Ok(remote_dir_result(&report, src));
    }
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(report.flag("changed")));
    r.insert(
        "checksum".into(),
        Value::from(report.get("checksum").unwrap_or("")),
    );
    r.insert(
        "dest".into(),
        Value::from(report.get("dest").unwrap_or(&common.dest)),
    );
    if let Some(b) = report.get("backup") {
        r.insert("backup_file".into(), Value::from(b));
    }
    let mut info = Vars::new();
    report.add_path_info(&mut info);
    for k in ["gid", "group"] {
        if let Some(v) = info.get(k) {
            r.insert(k.into(), v.clone());
        }
    }
    r.insert(
        "md5sum".into(),
        Value::from(report.get("md5sum").unwrap_or("")),
    );
    for k in ["mode", "owner"] {
        if let Some(v) = info.get(k) {
            r.insert(k.into(), v.clone());
        }
    }
    r.insert(
        "size".into(),
        Value::from(
            report
                .get("size")
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0),
        ),
    );
    r.insert("src".into(), Value::from(src));
    r.insert("state".into(), Value::from("file"));
    if let Some(v) = info.get("uid") {
        r.insert("uid".into(), v.clone());
    }
    Ok(r)
}

/// `copy: remote_src=yes` of a directory, as Ansible's `copy_directory`: a `dest` that does not
/// exist gets the whole tree (modes and times kept); otherwise files whose content differs and
/// entries only in the source are copied, recursively, and nothing in `dest` is removed
/// (`filecmp`'s default ignores do not apply: Ansible compares bytes paths). Symbolic links in the
/// source are followed (`local_follow`). A source ending in `/` copies its contents, otherwise
/// the directory itself into `dest`. Owner and group apply to the whole tree, mode to `dest`.
pub(super) const REMOTE_DIR_COPY: &str = r#"[ -e "$S" ] || die "Source $S not found"
if [ -d "$S" ]; then
[ -r "$S" ] || die "Source $S not readable"
R dir 1
tch=0
pydirname() { case $1 in */*) _d=${1%/*}; [ -z "$_d" ] && _d=/; while [ "$_d" != / ] && [ "${_d%/}" != "$_d" ]; do _d=${_d%/}; done; printf %s "$_d" ;; esac; }
case $S in */) sb= ;; *) sb=$(basename -- "$S") ;; esac
P=$D
case $D in */)
  dd=$(pydirname "$D")
  if [ ! -e "$dd" ]; then
    if [ "$CHECK" = 1 ]; then R changed 1; R msg "dest directory $dd would be created"; R early 1; exit 0; fi
    mkdir -p -- "$dd" || die "cannot create $dd"; tch=1
  fi ;;
esac
if [ -d "$D" ]; then case $D in */) D="$D$sb" ;; *) D="$D/$sb" ;; esac; fi
if [ -e "$D" ]; then
  [ "$FORCE" = 1 ] || { R msg "file already exists"; R dest "$D"; info "$D"; R early 1; exit 0; }
  [ -d "$D" ] || die "Cannot copy the directory $S onto the file $D"
else
  dd=$(pydirname "$D"); [ -d "$dd" ] || die "Destination directory $dd does not exist"
fi
R dest "$D"
T=$P; [ -n "$sb" ] && { case $T in */) T="$T$sb" ;; *) T="$T/$sb" ;; esac; }
S=${S%/}; [ -n "$S" ] || S=/
if [ ! -e "$T" ]; then
  tch=1
  if [ "$CHECK" != 1 ]; then
    mkdir -p -- "$T" && cp -RL --preserve=mode,timestamps -- "$S/." "$T/" || die "Failed to copy $S to $T"
    chmod "$(stat -L -c %a -- "$S")" "$T"
    [ -n "$OWNER" ] && { chown -R -- "$OWNER" "$T" || die "chown failed: failed to look up user $OWNER"; }
    [ -n "$GROUP" ] && { chgrp -R -- "$GROUP" "$T" || die "chgrp failed: failed to look up group $GROUP"; }
  fi
else
  _c=$( (cd "$S" && find -L . -mindepth 1) | while IFS= read -r p; do
    p=${p#./}
    s="$S/$p"; t="$T/$p"
    [ -d "$(dirname -- "$t")" ] || continue
    if [ -d "$s" ]; then
      [ -e "$t" ] || [ -L "$t" ] && continue
      echo c; [ "$CHECK" = 1 ] || cp -RL --preserve=mode,timestamps -- "$s" "$t" || printf 'f %s\n' "$t"
    elif [ -e "$t" ] || [ -L "$t" ]; then
      { [ -f "$t" ] && [ ! -L "$t" ] && [ ! -d "$s" ]; } || continue
      cmp -s -- "$s" "$t" && continue
      echo c; [ "$CHECK" = 1 ] || { cp -L -- "$s" "$t" && chmod "$(stat -L -c %a -- "$s")" "$t"; } || printf 'f %s\n' "$t"
    else
      echo c; [ "$CHECK" = 1 ] || cp -L --preserve=mode -- "$s" "$t" || printf 'f %s\n' "$t"
    fi
  done)
  case $_c in *"f "*) die "Failed to copy $S to $T: $(printf '%s\n' "$_c" | sed -n 's/^f //p' | head -n 1)" ;; esac
  [ -n "$_c" ] && tch=1
  if [ -n "$OWNER" ]; then
    _u=$(id -u -- "$OWNER" 2>/dev/null) || case $OWNER in *[!0-9]*) die "chown failed: failed to look up user $OWNER" ;; *) _u=$OWNER ;; esac
    if [ -n "$(find "$T" ! -uid "$_u" 2>/dev/null | head -n 1)" ]; then
      tch=1; [ "$CHECK" = 1 ] || chown -R -- "$_u" "$T" || die "chown failed: failed to look up user $OWNER"
    fi
  fi
  if [ -n "$GROUP" ]; then
    _g=$(getent group -- "$GROUP" 2>/dev/null | cut -d: -f3)
    [ -n "$_g" ] || case $GROUP in *[!0-9]*) die "chgrp failed: failed to look up group $GROUP" ;; *) _g=$GROUP ;; esac
    if [ -n "$(find "$T" ! -gid "$_g" 2>/dev/null | head -n 1)" ]; then
      tch=1; [ "$CHECK" = 1 ] || chgrp -R -- "$_g" "$T" || die "chgrp failed: failed to look up group $GROUP"
    fi
  fi
fi
[ "$tch" = 1 ] && R changed 1
if [ -e "$D" ]; then QUIET=1; attrs "$D"; [ "$ch" = 1 ] && R changed 1; info "$D"; fi
exit 0
fi
"#;

/// The result of [`REMOTE_DIR_COPY`], with the keys Ansible's copy module returns for a
/// directory (no checksum: `None` there).
pub(super) fn remote_dir_result(report: &fileutil::Report, src: &str) -> Vars {
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(report.flag("changed")));
    if let Some(m) = report.get("msg") {
        r.insert("msg".into(), Value::from(m));
    }
    r.insert("src".into(), Value::from(src));
    if report.flag("early") {
        if let Some(d) = report.get("dest") {
            r.insert("dest".into(), Value::from(d));
            report.add_path_info(&mut r);
            r.insert("state".into(), Value::from("directory"));
        }
        return r;
    }
    if let Some(d) = report.get("dest") {
        r.insert("dest".into(), Value::from(d));
    }
    r.insert("checksum".into(), Value::from(()));
    r.insert("md5sum".into(), Value::from(()));
    if report.get("info").is_some() {
        report.add_path_info(&mut r);
        r.insert("state".into(), Value::from("directory"));
    }
    r
}
