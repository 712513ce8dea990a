//! `copy` and `template`: put a controller file, inline content, a rendered template or a whole
//! directory on the host; `copy: remote_src=yes` copies a file that is on the host already.
//!
//! The transfer itself (checksum comparison, atomic replace, mode/owner/group, backup,
//! validate, check mode) is [`ModuleCtx::put_file`]'s; this file owns the parameters, Ansible's
//! `dest` rules (a directory or a trailing `/` means "into it"), the result keys (which differ
//! between a copy that wrote the file, one that found it equal, and one that `force: no` left
//! alone) and the `diff`, which needs the old content and so one more read when `--diff` asks.

use super::fileutil::{self, Attrs};
use super::hosttmp::{self, Cleanup, Place};
use super::transfer::{PutOptions, PutOutcome, Source};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};
use std::path::{Path, PathBuf};

pub struct Copy;
pub struct Template;

static COPY: Spec = Spec {
    names: &["copy"],
    diff: true,
    params: &[
        &[
            Param::str("src"),
            Param::any("content"),
            Param::bool("remote_src").default_bool(false),
            Param::any("directory_mode"),
        ],
        COMMON_DEST,
        fileutil::ATTRS,
        COMMON,
    ],
    ..Spec::BASE
};

static TEMPLATE: Spec = Spec {
    names: &["template"],
    diff: true,
    params: &[
        &[
            Param::str("src"),
            Param::str("newline_sequence").choices(&["\\n", "\\r", "\\r\\n"]),
            Param::bool("trim_blocks").default_bool(true),
            Param::bool("lstrip_blocks").default_bool(false),
            Param::str("variable_start_string"),
            Param::str("variable_end_string"),
            Param::str("block_start_string"),
            Param::str("block_end_string"),
            Param::str("comment_start_string"),
            Param::str("comment_end_string"),
            Param::str("output_encoding"),
            Param::str("mode_on_create"),
        ],
        COMMON_DEST,
        fileutil::ATTRS,
        COMMON,
    ],
    ..Spec::BASE
};

impl Module for Copy {
    fn spec(&self) -> &'static Spec {
        &COPY
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(async move { fileutil::with_details(copy(args, ctx).await) })
    }
}

impl Module for Template {
    fn spec(&self) -> &'static Spec {
        &TEMPLATE
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(async move { fileutil::with_details(template(args, ctx).await) })
    }
}

/// Diffs of content larger than this are not shown (Ansible's `max_diff_size`, 100 KiB).
const MAX_DIFF: usize = 104_448;

/// The parameters `copy` and `template` share.
struct Common {
    dest: String,
    attrs: Attrs,
    backup: bool,
    force: bool,
    validate: Option<String>,
}

/// `dest`, first of the parameters copy and template share.
const COMMON_DEST: &[Param] = &[Param::str("dest")];

/// The rest of the parameters copy and template share ([`Common::read`]), after the file
/// attributes.
const COMMON: &[Param] = &[
    Param::bool("backup").default_bool(false),
    Param::bool("force").default_bool(true),
    Param::str("validate"),
    Param::bool("follow"),
    Param::bool("local_follow"),
    Param::any("checksum"),
    Param::bool("decrypt"),
];

impl Common {
    /// `dest` is checked by the caller, whose message Ansible words differently.
    fn read(args: &mut Args) -> Result<Common, ModuleError> {
        let dest = args.str("dest")?.unwrap_or_default();
        let attrs = Attrs::from_args(args)?;
        let backup = args.bool("backup")?.unwrap_or(false);
        let force = args.bool("force")?.unwrap_or(true);
        let validate = args.str("validate")?;
        let _ = args.bool("follow")?;
        let _ = args.bool("local_follow")?;
        let _ = args.raw("checksum");
        let _ = args.bool("decrypt")?;
        Ok(Common {
            dest,
            attrs,
            backup,
            force,
            validate,
        })
    }

    fn put_options(&self, ctx: &ModuleCtx) -> PutOptions {
        PutOptions {
            mode: self.attrs.put_mode(),
            owner: self.attrs.owner.clone(),
            group: self.attrs.group.clone(),
            check_mode: ctx.check_mode,
            backup: self.backup,
            keep_existing: !self.force,
            validate: self.validate.clone(),
        }
    }
}

async fn copy(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let src = args.str("src")?;
    let content = args.raw("content");
    let remote_src = args.bool("remote_src")?.unwrap_or(false);
    let directory_mode = fileutil::mode_param(&mut args, "directory_mode")?;
    let common = Common::read(&mut args)?;
    if common.dest.is_empty() {
        return Err(ModuleError::Failed("dest is required".into()));
    }

    let content = match content {
        None => None,
        // Ansible turns structured content into JSON text.
        Some(v)
            if matches!(
                v.kind(),
                minijinja::value::ValueKind::Map | minijinja::value::ValueKind::Seq
            ) =>
        {
            Some(crate::value::python_json(&crate::value::to_json(&v)))
        }
        Some(v) => Some(match v.as_str() {
            Some(s) => s.to_string(),
            None => v.to_string(),
        }),
    };
    match (&src, &content) {
        (Some(_), Some(_)) => {
            return Err(ModuleError::Failed(
                "src and content are mutually exclusive".into(),
            ));
        }
        (None, None) => {
            return Err(ModuleError::Failed("src (or content) is required".into()));
        }
        _ => {}
    }
    if let Some(content) = content {
        if common.dest.ends_with('/') {
            return Err(ModuleError::Failed(
                "can not use content with a dir as dest".into(),
            ));
        }
        let header = common.dest.clone();
        return put_one(
            ctx,
            Source::Bytes(content.into_bytes()),
            &common.dest,
            None,
            &common,
            &header,
            false,
        )
        .await;
    }
    let src = src.unwrap_or_default();
    if remote_src {
        return remote_copy(ctx, &src, &common).await;
    }
    let found = fileutil::find_source(ctx, "files", &src)?;
    if found.is_dir() {
        return copy_dir(ctx, &src, &found, &common, directory_mode.as_ref()).await;
    }
    let name = fileutil::basename(&src).to_string();
    let mut dest = common.dest.clone();
    if dest.ends_with('/') {
        dest.push_str(&name);
        // Ansible creates the directories of a `dest/` that does not exist yet.
        if !ctx.check_mode {
            let dir = fileutil::dirname(&dest).to_string();
            fileutil::run_script(
                ctx,
                &format!(
                    "mkdir -p -- {d} 2>/dev/null || die \"Destination directory {d} does not exist\"\n",
                    d = shell_quote(&dir)
                ),
            )
            .await?;
        }
    }
    let header = found.display().to_string();
    put_one(
        ctx,
        controller_file(found)?,
        &dest,
        Some(&name),
        &common,
        &header,
        false,
    )
    .await
}

/// Puts one file and builds `copy`'s result. `name` is the source's file name, used when
/// `dest` turns out to be a directory.
async fn put_one(
    ctx: &ModuleCtx,
    source: Source,
    dest: &str,
    name: Option<&str>,
    common: &Common,
    after_header: &str,
    template: bool,
) -> MapResult {
    let opts = common.put_options(ctx);
    let mut dest = dest.to_string();
    let before = if ctx.diff {
        read_for_diff(ctx, &dest).await
    } else {
        None
    };
    let outcome = match ctx.put_file(source.clone(), &dest, &opts).await {
        Err(ModuleError::Failed(m)) if m == format!("Destination {dest} is a directory") => {
            let Some(name) = name else {
                return Err(ModuleError::Failed(
                    "can not use content with a dir as dest".into(),
                ));
            };
            dest = format!("{}/{name}", dest.trim_end_matches('/'));
            ctx.put_file(source.clone(), &dest, &opts).await
        }
        other => other,
    };
    // The diff entry for content that is (or would be) written.
    let diffs = |changed: bool| -> Vec<Value> {
        if !(ctx.diff && changed) {
            return Vec::new();
        }
        // Ansible shows no diff for content over its diff limit (max_diff_size, 104448 bytes):
        // read a file only when it is that small, so a large copy stays in flat memory.
        let after = match &source {
            Source::Bytes(b) => Some(b.clone()),
            Source::File(p) => std::fs::metadata(p)
                .ok()
                .filter(|m| m.len() <= 104_448)
                .and_then(|_| std::fs::read(p).ok()),
        };
        after
            .map(|after| {
                let before_text = before.as_ref().and_then(|b| b.as_deref());
                diff_entry(before_text, &after, &dest, after_header, before.is_some())
            })
            .into_iter()
            .collect()
    };
    let outcome = match outcome {
        Ok(o) => o,
        // Ansible's copy action decides check mode for a missing destination itself: it
        // would be created, whatever the state of its directory.
        Err(ModuleError::Failed(m))
            if ctx.check_mode && m.starts_with("Destination directory ") =>
        {
            return Ok(check_mode_new(diffs(true), template));
        }
        Err(ModuleError::Failed(m)) => {
            let mut r = put_failure(&m, &source);
            r.insert("diff".into(), Value::from(diffs(true)));
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    if ctx.check_mode && outcome.mode.is_none() && !outcome.kept {
        return Ok(check_mode_new(diffs(true), template));
    }
    let mut r = copy_result(&outcome, &source, dest.as_str());
    if outcome.kept {
        return Ok(r);
    }
    r.insert("diff".into(), Value::from(diffs(outcome.content_changed)));
    Ok(r)
}

/// What Ansible's copy and template actions report in check mode for a file that does not
/// exist yet: only `changed` and the diff (template leaves out an empty one).
fn check_mode_new(diffs: Vec<Value>, template: bool) -> Vars {
    let mut r = Vars::new();
    if !(template && diffs.is_empty()) {
        r.insert("diff".into(), Value::from(diffs));
    }
    r.insert("changed".into(), Value::from(true));
    r
}

/// The old content for a diff: `None` when `dest` does not exist; `Some(None)` when it cannot
/// be shown (binary, too large, a directory).
async fn read_for_diff(ctx: &ModuleCtx, dest: &str) -> Option<Option<Vec<u8>>> {
    match ctx.read_file(dest, MAX_DIFF as u64 + 1).await {
        Ok(Some(f)) if !f.truncated => Some(Some(f.content)),
        Ok(Some(_)) => Some(None),
        Ok(None) => None,
        Err(_) => None,
    }
}

fn is_text(b: &[u8]) -> bool {
    b.len() <= MAX_DIFF && !b.contains(&0)
}

/// One `diff` entry as Ansible's copy action makes it.
fn diff_entry(
    before: Option<&[u8]>,
    after: &[u8],
    dest: &str,
    after_header: &str,
    existed: bool,
) -> Value {
    let mut m = Vars::new();
    match before {
        Some(b) if is_text(b) => {
            m.insert("before".into(), Value::from(super::text(b)));
        }
        Some(_) => {
            m.insert("dst_binary".into(), Value::from(1));
        }
        None if existed => {
            m.insert("dst_larger".into(), Value::from(MAX_DIFF));
        }
        None => {
            m.insert("before".into(), Value::from(""));
        }
    }
    if existed {
        m.insert("before_header".into(), Value::from(dest));
    }
    if is_text(after) {
        m.insert("after".into(), Value::from(super::text(after)));
    } else if after.len() > MAX_DIFF {
        m.insert("src_larger".into(), Value::from(MAX_DIFF));
    } else {
        m.insert("src_binary".into(), Value::from(1));
    }
    m.insert("after_header".into(), Value::from(after_header));
    crate::value::from_vars(&m)
}

/// Ansible's copy result: a written file reports `md5sum` and `src`, a file found equal
/// reports the `file` module's `path` instead, one that `force: no` kept only `dest`/`src`.
fn copy_result(o: &PutOutcome, source: &Source, dest: &str) -> Vars {
    let src_text = match source {
        Source::File(p) => p.display().to_string(),
        Source::Bytes(_) => String::new(),
    };
    let mut r = Vars::new();
    if o.kept {
        r.insert("changed".into(), Value::from(false));
        r.insert("dest".into(), Value::from(dest));
        r.insert("src".into(), Value::from(src_text));
        return r;
    }
    r.insert("changed".into(), Value::from(o.changed));
    r.insert("checksum".into(), Value::from(o.checksum.clone()));
    r.insert("dest".into(), Value::from(dest));
    if let Some(b) = &o.backup_file {
        r.insert("backup_file".into(), Value::from(b.clone()));
    }
    if let Some(g) = o.gid {
        r.insert("gid".into(), Value::from(g));
    }
    if let Some(g) = &o.group {
        r.insert("group".into(), Value::from(g.clone()));
    }
    // The transfer computed the md5 while streaming: no second read of the source.
    if o.content_changed && !o.md5sum.is_empty() {
        r.insert("md5sum".into(), Value::from(o.md5sum.clone()));
    }
    if let Some(m) = &o.mode {
        r.insert("mode".into(), Value::from(fileutil::ansible_mode(m)));
    }
    if let Some(u) = &o.owner {
        r.insert("owner".into(), Value::from(u.clone()));
    }
    if !o.content_changed {
        r.insert("path".into(), Value::from(dest));
    }
    r.insert("size".into(), Value::from(o.size));
    if o.content_changed {
        r.insert("src".into(), Value::from(src_text));
    }
    r.insert("state".into(), Value::from("file"));
    if let Some(u) = o.uid {
        r.insert("uid".into(), Value::from(u));
    }
    r
}

/// A failure of the transfer, shaped as Ansible's (`checksum` with it; a refused `validate`
/// as "failed to validate" with the validator's output).
fn put_failure(msg: &str, source: &Source) -> Vars {
    let checksum = match source {
        Source::Bytes(b) => super::transfer::sha1_hex(b),
        Source::File(p) => std::fs::read(p)
            .map(|b| super::transfer::sha1_hex(&b))
            .unwrap_or_default(),
    };
    if let Some(out) = msg.strip_prefix("failed to validate") {
        let out = out.trim_start_matches(':').trim().to_string();
        return fileutil::failed(
            "failed to validate",
            [
                ("checksum", Value::from(checksum)),
                ("stdout_lines", super::command::lines(&out)),
                ("stdout", Value::from(out)),
                ("stderr", Value::from("")),
                ("stderr_lines", Value::from(Vec::<Value>::new())),
            ],
        );
    }
    fileutil::failed(msg, [("checksum", Value::from(checksum))])
}

/// A controller file to send: decrypted in memory when it is vault-encrypted (Ansible's copy
/// decrypts on the controller; the host gets the plaintext), else streamed from disk.
fn controller_file(path: PathBuf) -> Result<Source, ModuleError> {
    if crate::vault::file_is_encrypted(&path) {
        let plain = crate::vault::read_maybe_encrypted(&path)
            .map_err(|e| ModuleError::Failed(e.message))?;
        return Ok(Source::Bytes(plain));
    }
    Ok(Source::File(path))
}

/// `copy: src=DIR`: the directory (or with a trailing `/`, its content) recursively.
async fn copy_dir(
    ctx: &ModuleCtx,
    src: &str,
    found: &Path,
    common: &Common,
    directory_mode: Option<&fileutil::Mode>,
) -> MapResult {
    let mut base = common.dest.trim_end_matches('/').to_string();
    if !src.ends_with('/') {
        base = format!("{base}/{}", fileutil::basename(src.trim_end_matches('/')));
    }
    let mut dirs = vec![String::new()];
    let mut files = Vec::new();
    walk(found, "", &mut dirs, &mut files)
        .map_err(|e| ModuleError::Failed(format!("could not read {}: {e}", found.display())))?;
    // One command makes every directory (or, in check mode, finds which are missing).
    let mut script = format!(
        "DM={}; CHECK={}\n",
        shell_quote(
            directory_mode
                .map(fileutil::Mode::chmod_arg)
                .as_deref()
                .unwrap_or("")
        ),
        ctx.check_mode as u8
    );
    for d in &dirs {
        let path = if d.is_empty() {
            base.clone()
        } else {
            format!("{base}/{d}")
        };
        script.push_str(&format!(
            "d={}; if [ ! -d \"$d\" ]; then R changed 1; if [ \"$CHECK\" != 1 ]; then mkdir -p -- \"$d\" || die \"could not create $d\"; [ -z \"$DM\" ] || chmod \"$DM\" \"$d\"; fi; fi\n",
            shell_quote(&path)
        ));
    }
    let report = fileutil::run_script(ctx, &script).await?;
    let mut changed = report.flag("changed");
    let opts = common.put_options(ctx);
    // In check mode, a missing directory already means a change (its files cannot be compared).
    let files = if ctx.check_mode && changed {
        Vec::new()
    } else {
        files
    };
    for f in &files {
        let dest = format!("{base}/{f}");
        let o = ctx
            .put_file(controller_file(found.join(f))?, &dest, &opts)
            .await?;
        changed |= o.changed;
    }
    let mut dest = common.dest.clone();
    if !dest.ends_with('/') {
        dest.push('/');
    }
    let mut src_shown = found.display().to_string();
    if src.ends_with('/') && !src_shown.ends_with('/') {
        src_shown.push('/');
    }
    Ok(super::result([
        ("changed", Value::from(changed)),
        ("dest", Value::from(dest)),
        ("src", Value::from(src_shown)),
    ]))
}

fn walk(
    root: &Path,
    rel: &str,
    dirs: &mut Vec<String>,
    files: &mut Vec<String>,
) -> std::io::Result<()> {
    let dir: PathBuf = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if e.path().is_dir() {
            dirs.push(r.clone());
            walk(root, &r, dirs, files)?;
        } else {
            files.push(r);
        }
    }
    Ok(())
}

/// `copy: remote_src=yes`: both files on the host; one command compares and copies.
async fn remote_copy(ctx: &ModuleCtx, src: &str, common: &Common) -> MapResult {
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
const REMOTE_DIR_COPY: &str = r#"[ -e "$S" ] || die "Source $S not found"
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
fn remote_dir_result(report: &fileutil::Report, src: &str) -> Vars {
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

async fn template(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let src = args.str("src")?.unwrap_or_default();
    let newline_sequence = args.str("newline_sequence")?;
    let trim_blocks = args.bool("trim_blocks")?.unwrap_or(true);
    let lstrip_blocks = args.bool("lstrip_blocks")?.unwrap_or(false);
    let mut delimiters = Vec::new();
    for (key, default) in [
        ("variable_start_string", "{{"),
        ("variable_end_string", "}}"),
        ("block_start_string", "{%"),
        ("block_end_string", "%}"),
        ("comment_start_string", "{#"),
        ("comment_end_string", "#}"),
    ] {
        let v = args.str(key)?;
        delimiters.push((v.is_some(), v.unwrap_or_else(|| default.to_string())));
    }
    let _ = args.str("output_encoding")?;
    let _ = args.str("mode_on_create")?;
    let common = Common::read(&mut args)?;
    if src.is_empty() || common.dest.is_empty() {
        return Err(ModuleError::Failed("src and dest are required".into()));
    }

    let path = fileutil::find_source(ctx, "templates", &src)?;
    // A vault-encrypted template is decrypted on the controller, as Ansible does.
    let source = crate::vault::read_maybe_encrypted(&path)
        .map_err(|e| ModuleError::Failed(format!("could not read the template: {}", e.message)))
        .and_then(|b| {
            String::from_utf8(b).map_err(|e| {
                ModuleError::Failed(format!(
                    "could not read the template {}: {e}",
                    path.display()
                ))
            })
        })?;
    let scope = template_scope(ctx, &path, &src, &common.dest);
    let custom = !trim_blocks || lstrip_blocks || delimiters.iter().any(|(set, _)| *set);
    let rendered = if custom {
        let d: Vec<String> = delimiters.into_iter().map(|(_, v)| v).collect();
        let cfg = minijinja::syntax::SyntaxConfig::builder()
            .variable_delimiters(d[0].clone(), d[1].clone())
            .block_delimiters(d[2].clone(), d[3].clone())
            .comment_delimiters(d[4].clone(), d[5].clone())
            .trim_blocks(trim_blocks)
            .lstrip_blocks(lstrip_blocks)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| ModuleError::Failed(format!("invalid template delimiters: {e}")))?;
        crate::template::render_with_syntax(&source, &scope, cfg)
    } else {
        crate::template::render_text(&source, &scope)
    }
    .map_err(|e| ModuleError::Failed(e.one_line()))?;
    let rendered = match newline_sequence.as_deref() {
        Some("\\r\\n") => rendered.replace("\r\n", "\n").replace('\n', "\r\n"),
        Some("\\r") => rendered.replace("\r\n", "\n").replace('\n', "\r"),
        _ => rendered,
    };
    let name = fileutil::basename(&src).to_string();
    let mut dest = common.dest.clone();
    if dest.ends_with('/') {
        dest.push_str(&name);
    }
    let header = path.display().to_string();
    put_one(
        ctx,
        Source::Bytes(rendered.into_bytes()),
        &dest,
        Some(&name),
        &common,
        &header,
        true,
    )
    .await
}

/// The task's variables plus the template module's own (`template_path`, `template_host`,
/// `ansible_managed`, ...).
fn template_scope(ctx: &ModuleCtx, path: &Path, src: &str, dest: &str) -> Value {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let uid = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let now = crate::modules::command::timestamp(std::time::SystemTime::now());
    let mut extra = indexmap::IndexMap::new();
    extra.insert("template_host".to_string(), Value::from(host));
    extra.insert(
        "template_path".to_string(),
        Value::from(path.display().to_string()),
    );
    extra.insert(
        "template_fullpath".to_string(),
        Value::from(path.display().to_string()),
    );
    extra.insert("template_destpath".to_string(), Value::from(dest));
    extra.insert("template_uid".to_string(), Value::from(uid));
    extra.insert("template_run_date".to_string(), Value::from(now));
    extra.insert("template_src".to_string(), Value::from(src));
    if ctx
        .vars
        .get_attr("ansible_managed")
        .map_or(true, |v| v.is_undefined())
    {
        extra.insert(
            "ansible_managed".to_string(),
            Value::from("Ansible managed"),
        );
    }
    crate::template::Overlay::value(extra, ctx.vars.clone())
}
