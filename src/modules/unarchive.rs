//! `unarchive`: unpack a tar (plain, gzip, bzip2, xz) or zip archive into a directory on the
//! host, from the controller (sent on the command's standard input into a private directory
//! made by [`hosttmp::private_dir`], checked against its SHA-1 and unpacked by the same
//! command, so nobody else on the host can swap it first) or already on the host
//! (`remote_src`).
//!
//! Idempotence as Ansible's: the archive is compared with the destination first (`tar --diff`
//! for tar archives, `unzip -Z` listings compared by size and content for zip) and unpacked only
//! when something differs; then mode/owner/group apply to what it holds. One command does
//! compare, unpack and clean up. zip archives need `unzip` on the host, as Ansible's do.

use super::fileutil::{self, Attrs};
use super::hosttmp::{self, Cleanup, Place};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::{BoxFuture, Stdin};
use crate::value::{Value, Vars};

pub struct Unarchive;

static SPEC: Spec = Spec {
    names: &["unarchive"],
    params: &[
        &[
            Param::str("src").required(),
            Param::str("dest").required(),
            Param::bool("remote_src").default_bool(false),
            Param::str("creates"),
            Param::bool("list_files").default_bool(false),
            Param::list("extra_opts"),
            Param::list("exclude"),
            Param::list("include"),
            Param::bool("keep_newer").default_bool(false),
            Param::bool("copy"),
            Param::bool("decrypt"),
            Param::bool("validate_certs"),
            Param::any("io_buffer_size"),
        ],
        fileutil::ATTRS,
    ],
    ..Spec::BASE
};

impl Module for Unarchive {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(async move { fileutil::with_details(run(args, ctx).await) })
    }
}

/// Ansible's handler name and tar's compression flag, by the archive's name.
fn handler(name: &str) -> (&'static str, &'static str) {
    let n = name.to_lowercase();
    if n.ends_with(".zip") {
        ("ZipArchive", "")
    } else if n.ends_with(".tar.gz") || n.ends_with(".tgz") {
        ("TgzArchive", "-z")
    } else if n.ends_with(".tar.bz2") || n.ends_with(".tbz2") {
        ("TarBzipArchive", "-j")
    } else if n.ends_with(".tar.xz") || n.ends_with(".txz") {
        ("TarXzArchive", "-J")
    } else if n.ends_with(".tar.zst") {
        ("TarZstdArchive", "--zstd")
    } else {
        ("TarArchive", "")
    }
}

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let src = args.required_str("src")?;
    let dest = args.required_str("dest")?;
    let remote_src = args.bool("remote_src")?.unwrap_or(false);
    let creates = args.str("creates")?;
    let list_files = args.bool("list_files")?.unwrap_or(false);
    let extra_opts = args.list("extra_opts")?.unwrap_or_default();
    let exclude = args.list("exclude")?.unwrap_or_default();
    let include = args.list("include")?.unwrap_or_default();
    let keep_newer = args.bool("keep_newer")?.unwrap_or(false);
    let _ = args.bool("copy")?;
    let _ = args.bool("decrypt")?;
    let _ = args.bool("validate_certs")?;
    let _ = args.raw("io_buffer_size");
    let attrs = Attrs::from_args(&mut args)?;

    let (handler, zflag) = handler(&src);
    // The archive on the host: where it is already, or (from the controller) sent on the
    // command's standard input into a private directory and unpacked from there by the same
    // command, so nobody else on the host can swap it before it is unpacked.
    let upload = if remote_src {
        None
    } else {
        let local = fileutil::find_source(ctx, "files", &src)?;
        let (sum, _) = super::transfer::sha1_file(&local)
            .await
            .map_err(|e| ModuleError::Failed(format!("could not read {}: {e}", local.display())))?;
        Some((local, sum))
    };
    let uploaded = upload.is_some();
    let words = |v: &[Value], prefix: &str| -> String {
        v.iter()
            .map(|w| {
                shell_quote(&format!(
                    "{prefix}{}",
                    w.as_str().map_or(w.to_string(), String::from)
                ))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut tar_opts = words(&extra_opts, "");
    if !exclude.is_empty() {
        tar_opts.push(' ');
        tar_opts.push_str(&words(&exclude, "--exclude="));
    }
    if keep_newer {
        tar_opts.push_str(" --keep-newer-files");
    }
    let members = words(&include, "");
    let mut script = attrs.shell_vars(ctx.check_mode);
    script.push_str(&format!(
        "A={}; D={}; CREATES={}; UPLOADED={}; LIST={}; H={}\n",
        shell_quote(if uploaded { "" } else { &src }),
        shell_quote(&dest),
        shell_quote(creates.as_deref().unwrap_or("")),
        uploaded as u8,
        list_files as u8,
        handler,
    ));
    if let Some((local, sum)) = &upload {
        // A transfer cut short is never unpacked: the archive is checked against the SHA-1
        // computed on the controller (it travels in the script, not on a command line).
        script.push_str(&hosttmp::private_dir("T", Place::Tmp, Cleanup::OnExit)?);
        let name = local
            .file_name()
            .map_or("archive".into(), |n| n.to_string_lossy().into_owned());
        script.push_str(&format!(
            r#"A=$T/{name}; R upload "$A"
cat > "$A" || die "could not receive the archive"
if [ "${{BATON_STDIN_WHOLE:-}}" != 1 ]; then
  _s=$(sha1sum < "$A"); _s=${{_s%% *}}
  [ "$_s" = {sum} ] || die "checksum mismatch after transfer of the archive: expected {sum}, got $_s"
fi
"#,
            name = shell_quote(&name),
            sum = shell_quote(sum),
        ));
    }
    script.push_str(
        r#"[ -e "$A" ] || die "Source '$A' does not exist"
[ -r "$A" ] || die "Source '$A' not readable"
[ -d "$D" ] || die "dest '$D' must be an existing dir"
if [ -n "$CREATES" ] && [ -e "$CREATES" ]; then R skipped 1; exit 0; fi
"#,
    );
    if handler == "ZipArchive" {
        script.push_str(&format!(
            r#"command -v unzip >/dev/null 2>&1 || die "Failed to find handler for \"$A\". Make sure the required command to extract the file is installed.
Unable to find required 'unzip' or 'unzip -Z' binary in the path."
differs=0
if [ "$LIST" = 1 ]; then unzip -Z1 "$A" | while IFS= read -r f; do R file "$f"; done; fi
unzip -Z1 "$A" {members} | while IFS= read -r f; do
  case $f in */) [ -d "$D/$f" ] || echo x ;; *) [ -f "$D/$f" ] && unzip -p "$A" "$f" | cmp -s - "$D/$f" || echo x ;; esac
done | grep -q x && differs=1
if [ "$differs" = 1 ]; then
  R changed 1
  if [ "$CHECK" != 1 ]; then
    out=$(unzip -o "$A" {members} -d "$D" {tar_opts} 2>&1) || die "failed to unpack $A to $D: $out"
    R cmd "unzip -o $A -d $D"
  fi
fi
"#
        ));
    } else {
        script.push_str(&format!(
            r#"if [ "$LIST" = 1 ]; then tar -t {zflag} -f "$A" {members} | while IFS= read -r f; do R file "$f"; done; fi
# tar --diff reports members that are missing or differ in content, mode, owner or time.
if tar -d {zflag} -f "$A" -C "$D" {tar_opts} {members} >/dev/null 2>&1; then :; else
  R changed 1
  if [ "$CHECK" != 1 ]; then
    out=$(tar --extract -C "$D" {zflag} -f "$A" {tar_opts} {members} 2>&1) || die "failed to unpack $A to $D: $out"
    R cmd "tar --extract -C $D {zflag} -f $A"
    R out "$out"
  fi
fi
"#
        ));
    }
    script.push_str(
        r#"if [ -n "$MODE$OWNER$GROUP" ]; then
  if [ "$H" = ZipArchive ]; then lister="unzip -Z1"; else lister="tar -t $ZF -f"; fi
  $lister "$A" 2>/dev/null | while IFS= read -r f; do
    p="$D/${f%/}"; [ -e "$p" ] || [ -L "$p" ] || continue
    ch=0; QUIET=1; if [ -L "$p" ]; then attrs "$p" nofollow; else attrs "$p"; fi
    [ "$ch" = 1 ] && echo x
  done | grep -q x && R changed 1
fi
info "$D"
"#,
    );
    let script = script.replace("$ZF", zflag);
    let report = match &upload {
        None => fileutil::run_script(ctx, &script).await?,
        Some((local, _)) => {
            let file = tokio::fs::File::open(local).await.map_err(|e| {
                ModuleError::Failed(format!("could not read {}: {e}", local.display()))
            })?;
            let script = format!("{}{script}", fileutil::sh_lib()?);
            let out = ctx
                .exec_input(&script, Stdin::Reader(Box::new(file)))
                .await?;
            fileutil::Report::parse(&out)?
        }
    };
    if report.flag("skipped") {
        return Ok(super::result([
            ("changed", Value::from(false)),
            ("dest", Value::from(dest.as_str())),
            ("src", Value::from(src.as_str())),
            (
                "msg",
                Value::from(format!(
                    "skipped, since {} exists",
                    creates.as_deref().unwrap_or("")
                )),
            ),
            ("skipped", Value::from(true)),
        ]));
    }
    let changed = report.flag("changed");
    let mut r = Vars::new();
    r.insert("changed".into(), Value::from(changed));
    r.insert("dest".into(), Value::from(dest.as_str()));
    if let Some(cmd) = report.get("cmd") {
        let cmd: Vec<Value> = cmd.split(' ').map(Value::from).collect();
        r.insert(
            "extract_results".into(),
            crate::value::map([
                ("cmd", Value::from(cmd)),
                ("err", Value::from("")),
                ("out", Value::from(report.get("out").unwrap_or(""))),
                ("rc", Value::from(0)),
            ]),
        );
    }
    if list_files {
        let files: Vec<Value> = report.all("file").map(Value::from).collect();
        r.insert("files".into(), Value::from(files));
    }
    r.insert("handler".into(), Value::from(handler));
    let shown = match report.get("upload") {
        Some(path) if uploaded => path.to_string(),
        _ => src.clone(),
    };
    r.insert("src".into(), Value::from(shown));
    report.add_path_info(&mut r);
    if report.get("info").is_some() {
        r.insert("state".into(), Value::from("directory"));
    }
    Ok(r)
}
