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

mod remote;
use remote::*;

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

async fn template(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let src = args.str("src")?.unwrap_or_default();
    let mut overrides = crate::template::file::Overrides::default();
    for key in [
        "newline_sequence",
        "variable_start_string",
        "variable_end_string",
        "block_start_string",
        "block_end_string",
        "comment_start_string",
        "comment_end_string",
    ] {
        if let Some(v) = args.str(key)? {
            overrides
                .set(key, crate::template::file::Setting::Text(v))
                .map_err(ModuleError::Failed)?;
        }
    }
    for key in ["trim_blocks", "lstrip_blocks"] {
        if let Some(v) = args.bool(key)? {
            overrides
                .set(key, crate::template::file::Setting::Bool(v))
                .map_err(ModuleError::Failed)?;
        }
    }
    let output_encoding = args.str("output_encoding")?.unwrap_or_default();
    let _ = args.str("mode_on_create")?;
    let path = if src.is_empty() {
        None
    } else {
        Some(fileutil::find_source(ctx, "templates", &src)?)
    };
    // `mode: preserve` is the template's own mode (ansible's action resolves it).
    if let Some(p) = &path
        && args.peek("mode").and_then(|m| m.as_str()) == Some("preserve")
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        args.replace("mode", Value::from(format!("0{mode:03o}")));
    }
    let common = Common::read(&mut args)?;
    let Some(path) = path.filter(|_| !common.dest.is_empty()) else {
        return Err(ModuleError::Failed("src and dest are required".into()));
    };
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
    // Includes: the task's search path, the playbook's directory, then the template's own.
    let mut last = Vec::new();
    if let Some(pb) = ctx
        .vars
        .get_attr("playbook_dir")
        .ok()
        .and_then(|v| v.as_str().map(PathBuf::from))
    {
        last.push(pb);
    }
    last.extend(path.parent().map(Path::to_path_buf));
    let search = crate::template::file::search_path(&ctx.vars, &[], &last);
    let rendered = crate::template::file::render(&source, &scope, &overrides, &search)
        .map_err(|e| ModuleError::Failed(e.one_line()))?;
    let name = fileutil::basename(&src).to_string();
    let mut dest = common.dest.clone();
    if dest.ends_with('/') {
        dest.push_str(&name);
    }
    let header = path.display().to_string();
    put_one(
        ctx,
        Source::Bytes(
            crate::text::encoding::encode(&rendered, &output_encoding)
                .map_err(ModuleError::Failed)?,
        ),
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
    let mut extra = crate::template::file::template_vars(src, path, Some(dest));
    let managed = crate::template::settings().ansible_managed();
    crate::template::file::add_managed(&mut extra, managed, path, &ctx.vars);
    crate::template::Overlay::value(extra, ctx.vars.clone())
}
