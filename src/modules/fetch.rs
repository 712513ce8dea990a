//! `fetch`: copy a file from the host to the controller, into
//! `DEST/INVENTORY_HOSTNAME/SRC` (or `DEST` itself with `flat: yes`), as Ansible's fetch
//! action does. One command reads the file ([`ModuleCtx::read_file`], which runs with
//! `become`); the controller writes it only when its SHA-1 differs.

use super::fileutil;
use super::transfer::sha1_hex;
use super::{Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};
use std::path::PathBuf;

pub struct Fetch;

static SPEC: Spec = Spec {
    names: &["fetch"],
    params: &[&[
        Param::str("src").required(),
        Param::str("dest").required(),
        Param::bool("flat").default_bool(false),
        Param::bool("fail_on_missing").default_bool(true),
        Param::bool("validate_checksum").default_bool(true),
    ]],
    ..Spec::BASE
};

impl Module for Fetch {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run(args, ctx))
    }
}

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let src = args.required_str("src")?;
    let dest = args.required_str("dest")?;
    let flat = args.bool("flat")?.unwrap_or(false);
    let fail_on_missing = args.bool("fail_on_missing")?.unwrap_or(true);
    let validate_checksum = args.bool("validate_checksum")?.unwrap_or(true);
    let _ = validate_checksum; // the bytes are hashed as received; nothing to compare twice
    if ctx.check_mode {
        return Ok(super::result([
            ("skipped", Value::from(true)),
            (
                "msg",
                Value::from("check mode not (yet) supported for this module"),
            ),
            ("changed", Value::from(false)),
        ]));
    }

    // Relative destinations are relative to the playbook's directory, as Ansible's path_dwim.
    let base = if dest.starts_with('/') {
        PathBuf::new()
    } else {
        fileutil::scope_var(ctx, "playbook_dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::current_dir().unwrap_or_default())
    };
    let target = if flat {
        if dest.ends_with('/') {
            base.join(&dest).join(fileutil::basename(&src))
        } else {
            base.join(&dest)
        }
    } else {
        let host = fileutil::scope_var(ctx, "inventory_hostname").unwrap_or(ctx.host.clone());
        base.join(&dest)
            .join(host)
            .join(src.trim_start_matches('/'))
    };
    let target_text = crate::template::filters::normpath(&target.display().to_string());

    let file = match ctx.read_file(&src, u64::MAX >> 2).await {
        Ok(f) => f,
        Err(ModuleError::Failed(m)) if m.ends_with("is a directory") => {
            return Ok(fileutil::failed(
                "remote file is a directory, fetch cannot work on directories",
                [("file", Value::from(src.as_str()))],
            ));
        }
        Err(e) => return Err(e),
    };
    let Some(file) = file else {
        let msg = "the remote file does not exist, not transferring, ignored";
        if fail_on_missing {
            return Ok(fileutil::failed(msg, []));
        }
        return Ok(super::result([
            ("changed", Value::from(false)),
            ("msg", Value::from(msg)),
            ("file", Value::from(src.as_str())),
        ]));
    };
    let checksum = sha1_hex(&file.content);
    let md5 = format!("{:x}", md5::compute(&file.content));
    let local = std::fs::read(&target_text).ok().map(|b| sha1_hex(&b));
    let mut r = Vars::new();
    if local.as_deref() == Some(checksum.as_str()) {
        r.insert("changed".into(), Value::from(false));
        r.insert("checksum".into(), Value::from(checksum));
        r.insert("dest".into(), Value::from(target_text));
        r.insert("file".into(), Value::from(src));
        r.insert("md5sum".into(), Value::from(md5));
        return Ok(r);
    }
    if !ctx.check_mode {
        let path = PathBuf::from(&target_text);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                ModuleError::Failed(format!("could not create {}: {e}", dir.display()))
            })?;
        }
        write_beside(&path, &file.content)
            .map_err(|e| ModuleError::Failed(format!("could not write {target_text}: {e}")))?;
    }
    r.insert("changed".into(), Value::from(true));
    r.insert("checksum".into(), Value::from(checksum.clone()));
    r.insert("dest".into(), Value::from(target_text));
    r.insert("md5sum".into(), Value::from(md5));
    r.insert("remote_checksum".into(), Value::from(checksum));
    r.insert("remote_md5sum".into(), Value::from(()));
    Ok(r)
}

/// Writes `content` to `path` on the controller: into a new file beside it (same directory,
/// so the rename is atomic and a reader never sees half a file), then renamed over it. The new
/// file has a name nobody can guess and is created exclusively (`create_new`: an existing
/// file, FIFO or symbolic link of that name makes it fail, never followed), so another user
/// who can write to that directory can neither read the content nor make it land elsewhere.
fn write_beside(path: &std::path::Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map_or_else(|| "fetched".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(
        ".{name}.baton-{}.tmp",
        crate::connection::launch::random_hex(16)
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    // Created by us from here on: removed again if anything fails.
    let written = file
        .write_all(content)
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
