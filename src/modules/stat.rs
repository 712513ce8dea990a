//! `stat`: what is at a path on the host, with the keys of Ansible's `stat` module (`exists`,
//! `isdir`, `isreg`, `mode`, `size`, `checksum`, `pw_name`, ...), from one command using
//! GNU `stat -c`, `sha1sum` (or the asked algorithm), `lsattr` and `file` when present.

use super::fileutil::{self, Report};
use super::{Args, MapResult, Module, ModuleCtx, ModuleResult, Param, Spec, shell_quote};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};

pub struct Stat;

static SPEC: Spec = Spec {
    names: &["stat"],
    params: &[&[
        Param::str("path").required().aliases(&["dest", "name"]),
        Param::bool("follow").default_bool(false),
        Param::bool("get_checksum").default_bool(true),
        Param::str("checksum_algorithm")
            .aliases(&["checksum", "checksum_algo"])
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
            .default_str("sha1"),
        Param::bool("get_mime").default_bool(true),
        Param::bool("get_attributes").default_bool(true),
        Param::bool("get_md5"),
    ]],
    ..Spec::BASE
};

impl Module for Stat {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(run(args, ctx))
    }
}

/// Checksum algorithms Ansible accepts, and the coreutils program for each.
const ALGORITHMS: &[(&str, &str)] = &[
    ("md5", "md5sum"),
    ("sha1", "sha1sum"),
    ("sha224", "sha224sum"),
    ("sha256", "sha256sum"),
    ("sha384", "sha384sum"),
    ("sha512", "sha512sum"),
];

async fn run(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let path = args.required_str("path")?;
    let follow = args.bool("follow")?.unwrap_or(false);
    let get_checksum = args.bool("get_checksum")?.unwrap_or(true);
    let algo = args
        .str("checksum_algorithm")?
        .unwrap_or_else(|| "sha1".into());
    let get_mime = args.bool("get_mime")?.unwrap_or(true);
    let get_attributes = args.bool("get_attributes")?.unwrap_or(true);
    let _ = args.bool("get_md5")?;
    let prog = ALGORITHMS
        .iter()
        .find(|(n, _)| *n == algo)
        .map(|(_, p)| *p)
        .unwrap_or("sha1sum");

    let script = format!(
        "P={}; L={}; SUM={}; MIME={}; ATTR={}\n{BODY}",
        shell_quote(&path),
        if follow { "-L" } else { "" },
        if get_checksum { prog } else { "" },
        get_mime as u8,
        get_attributes as u8,
    );
    let report = fileutil::run_script(ctx, &script).await?;
    Ok(result(&report, &path))
}

/// Reports `st` (the stat fields), `access` (r w x), `sum`, `lnk_source`/`lnk_target`,
/// `pw`/`gr` (names), `mime`/`charset`, `attr` (lsattr's line).
const BODY: &str = r#"if [ -n "$L" ]; then [ -e "$P" ] || { R exists 0; exit 0; }
else [ -e "$P" ] || [ -L "$P" ] || { R exists 0; exit 0; }; fi
R st "$(stat $L -c '%f	%u	%g	%s	%i	%d	%h	%.9X	%.9Y	%.9Z	%o	%b	%t	%T' -- "$P")"
a=; [ -r "$P" ] && a=r; [ -w "$P" ] && a="${a}w"; [ -x "$P" ] && a="${a}x"; R access "$a"
pw=$(stat $L -c %U -- "$P"); [ "$pw" = UNKNOWN ] || R pw "$pw"
gr=$(stat $L -c %G -- "$P"); [ "$gr" = UNKNOWN ] || R gr "$gr"
if [ -L "$P" ] && [ -z "$L" ]; then
  R lnk_target "$(readlink -- "$P")"
  R lnk_source "$(readlink -f -- "$P")"
fi
if [ -n "$SUM" ] && [ -f "$P" ] && [ -r "$P" ] && { [ -n "$L" ] || [ ! -L "$P" ]; }; then R sum "$($SUM < "$P" | cut -d' ' -f1)"; fi
if [ "$MIME" = 1 ]; then
  if command -v file >/dev/null 2>&1; then
    R mime "$(file -b -L --mime-type -- "$P" 2>/dev/null)"; R charset "$(file -b -L --mime-encoding -- "$P" 2>/dev/null)"
  else R mime unknown; R charset unknown; fi
fi
if [ "$ATTR" = 1 ] && command -v lsattr >/dev/null 2>&1; then
  o=$(lsattr -vd -- "$P" 2>/dev/null) && R attr "$o"
fi
"#;

fn result(report: &Report, path: &str) -> Vars {
    let mut st = Vars::new();
    let Some(line) = report.get("st") else {
        st.insert("exists".into(), Value::from(false));
        return super::result([
            ("changed", Value::from(false)),
            ("stat", crate::value::from_vars(&st)),
        ]);
    };
    let f: Vec<&str> = line.split('\t').collect();
    let int = |i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let hex = |i: usize| {
        f.get(i)
            .and_then(|s| i64::from_str_radix(s, 16).ok())
            .unwrap_or(0)
    };
    let float = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    let raw = hex(0);
    let fmt = raw & 0o170000;
    let mode = raw & 0o7777;
    let bit = |b: i64| Value::from(mode & b != 0);
    let access = report.get("access").unwrap_or("");

    st.insert("exists".into(), Value::from(true));
    st.insert("path".into(), Value::from(path));
    st.insert("mode".into(), Value::from(format!("{mode:04o}")));
    st.insert("isdir".into(), Value::from(fmt == 0o040000));
    st.insert("ischr".into(), Value::from(fmt == 0o020000));
    st.insert("isblk".into(), Value::from(fmt == 0o060000));
    st.insert("isreg".into(), Value::from(fmt == 0o100000));
    st.insert("isfifo".into(), Value::from(fmt == 0o010000));
    st.insert("islnk".into(), Value::from(fmt == 0o120000));
    st.insert("issock".into(), Value::from(fmt == 0o140000));
    st.insert("uid".into(), Value::from(int(1)));
    st.insert("gid".into(), Value::from(int(2)));
    st.insert("size".into(), Value::from(int(3)));
    st.insert("inode".into(), Value::from(int(4)));
    st.insert("dev".into(), Value::from(int(5)));
    st.insert("nlink".into(), Value::from(int(6)));
    st.insert("atime".into(), Value::from(float(7)));
    st.insert("mtime".into(), Value::from(float(8)));
    st.insert("ctime".into(), Value::from(float(9)));
    st.insert("wusr".into(), bit(0o200));
    st.insert("rusr".into(), bit(0o400));
    st.insert("xusr".into(), bit(0o100));
    st.insert("wgrp".into(), bit(0o020));
    st.insert("rgrp".into(), bit(0o040));
    st.insert("xgrp".into(), bit(0o010));
    st.insert("woth".into(), bit(0o002));
    st.insert("roth".into(), bit(0o004));
    st.insert("xoth".into(), bit(0o001));
    st.insert("isuid".into(), bit(0o4000));
    st.insert("isgid".into(), bit(0o2000));
    st.insert("blocks".into(), Value::from(int(11)));
    st.insert("block_size".into(), Value::from(int(10)));
    // st_rdev as Python reports it: major << 8 | minor for the small numbers seen in practice.
    st.insert(
        "device_type".into(),
        Value::from((hex(12) << 8) | (hex(13) & 0xff) | ((hex(13) & !0xff) << 12)),
    );
    st.insert("readable".into(), Value::from(access.contains('r')));
    st.insert("writeable".into(), Value::from(access.contains('w')));
    st.insert("executable".into(), Value::from(access.contains('x')));
    if let Some(pw) = report.get("pw") {
        st.insert("pw_name".into(), Value::from(pw));
    }
    if let Some(gr) = report.get("gr") {
        st.insert("gr_name".into(), Value::from(gr));
    }
    if let Some(t) = report.get("lnk_target") {
        st.insert("lnk_target".into(), Value::from(t));
    }
    if let Some(s) = report.get("lnk_source") {
        st.insert("lnk_source".into(), Value::from(s));
    }
    if let Some(sum) = report.get("sum") {
        st.insert("checksum".into(), Value::from(sum));
    }
    if let Some(m) = report.get("mime") {
        st.insert("mimetype".into(), Value::from(m));
        st.insert(
            "charset".into(),
            Value::from(report.get("charset").unwrap_or("unknown")),
        );
    }
    // `lsattr -vd` prints "VERSION FLAGS PATH"; where it cannot (overlayfs), Ansible reports
    // no version and no flags.
    let (version, flags) = match report.get("attr") {
        Some(line) => {
            let mut w = line.split_whitespace();
            (
                w.next().map(str::to_string),
                w.next().unwrap_or("").replace('-', ""),
            )
        }
        None => (None, String::new()),
    };
    st.insert(
        "version".into(),
        version.map_or(Value::from(()), Value::from),
    );
    st.insert("attr_flags".into(), Value::from(flags.clone()));
    st.insert(
        "attributes".into(),
        Value::from(
            flags
                .chars()
                .map(|c| Value::from(attribute_name(c)))
                .collect::<Vec<_>>(),
        ),
    );
    super::result([
        ("changed", Value::from(false)),
        ("stat", crate::value::from_vars(&st)),
    ])
}

/// Ansible's names for `lsattr` flags.
fn attribute_name(c: char) -> &'static str {
    match c {
        'A' => "noatime",
        'a' => "append",
        'c' => "compressed",
        'C' => "nocow",
        'd' => "nodump",
        'D' => "dirsync",
        'e' => "extents",
        'E' => "encrypted",
        'h' => "blocksize",
        'i' => "immutable",
        'I' => "indexed",
        'j' => "journalled",
        'N' => "inline",
        's' => "zero",
        'S' => "synchronous",
        't' => "notail",
        'T' => "blockroot",
        'u' => "undelete",
        'X' => "compressedraw",
        'Z' => "compresseddirty",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_reads_like_ansible() {
        let report = Report {
            pairs: vec![
                (
                    "st".into(),
                    "81a4\t0\t0\t9\t12\t195\t1\t1795320275.046651000\t1795320272.554650800\t1795320275.046651000\t4096\t8\t0\t0".into(),
                ),
                ("access".into(), "rw".into()),
                ("pw".into(), "root".into()),
                ("gr".into(), "root".into()),
                ("sum".into(), "abc".into()),
                ("mime".into(), "unknown".into()),
            ],
            ..Default::default()
        };
        let r = result(&report, "/tmp/t");
        let st = &r["stat"];
        assert_eq!(st.get_attr("mode").unwrap().as_str(), Some("0644"));
        assert!(st.get_attr("isreg").unwrap().is_true());
        assert!(!st.get_attr("executable").unwrap().is_true());
        assert_eq!(
            st.get_attr("mtime").unwrap().to_string(),
            "1795320272.5546508"
        );
        assert!(st.get_attr("version").unwrap().is_none());
    }
}
