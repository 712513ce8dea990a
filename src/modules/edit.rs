//! `lineinfile`, `blockinfile` and `replace`: edit a text file on the host.
//!
//! Each reads the file in one command ([`fileutil::read_target`]: content, stat, the user it
//! runs as), computes the new text here with Ansible's algorithm (ported line by line from
//! ansible-core 2.19's modules, so `changed`, `msg` and where a line lands are the same), and
//! writes it only when it changed, through [`ModuleCtx::put_file`] (atomic, check mode,
//! backup, validate, mode/owner/group). Regular expressions are Python's as far as the `regex`
//! crate reads them; `$` also matches before a line's newline, as in Python.

use super::fileutil::{self, Attrs, Target};
use super::transfer::{PutOptions, Source};
use super::{
    Args, MapResult, Module, ModuleCtx, ModuleError, ModuleResult, Param, Spec, shell_quote,
};
use crate::connection::BoxFuture;
use crate::value::{Value, Vars};

mod replace;
use replace::*;

pub struct LineInFile;
pub struct BlockInFile;
pub struct Replace;

static LINEINFILE: Spec = Spec {
    names: &["lineinfile"],
    diff: true,
    params: &[
        COMMON_PATH,
        fileutil::ATTRS,
        COMMON,
        &[
            Param::str("state")
                .choices(&["absent", "present"])
                .default_str("present"),
            Param::str("regexp").aliases(&["regex"]),
            Param::str("search_string"),
            Param::str("line").aliases(&["value"]),
            Param::bool("backrefs").default_bool(false),
            Param::str("insertafter"),
            Param::str("insertbefore"),
            Param::bool("create").default_bool(false),
            Param::bool("firstmatch").default_bool(false),
        ],
    ],
    ..Spec::BASE
};

static BLOCKINFILE: Spec = Spec {
    names: &["blockinfile"],
    diff: true,
    params: &[
        COMMON_PATH,
        fileutil::ATTRS,
        COMMON,
        &[
            Param::str("state")
                .choices(&["absent", "present"])
                .default_str("present"),
            Param::str("marker").default_str("# {mark} ANSIBLE MANAGED BLOCK"),
            Param::str("block").aliases(&["content"]),
            Param::str("insertafter"),
            Param::str("insertbefore"),
            Param::bool("create").default_bool(false),
            Param::str("marker_begin").default_str("BEGIN"),
            Param::str("marker_end").default_str("END"),
            Param::bool("append_newline").default_bool(false),
            Param::bool("prepend_newline").default_bool(false),
        ],
    ],
    mutually_exclusive: &[&["insertbefore", "insertafter"]],
    ..Spec::BASE
};

static REPLACE: Spec = Spec {
    names: &["replace"],
    diff: true,
    params: &[
        COMMON_PATH,
        fileutil::ATTRS,
        COMMON,
        &[
            Param::str("regexp").required(),
            Param::str("replace"),
            Param::str("after"),
            Param::str("before"),
        ],
    ],
    ..Spec::BASE
};

impl Module for LineInFile {
    fn spec(&self) -> &'static Spec {
        &LINEINFILE
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(async move { fileutil::with_details(lineinfile(args, ctx).await) })
    }
}

impl Module for BlockInFile {
    fn spec(&self) -> &'static Spec {
        &BLOCKINFILE
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(async move { fileutil::with_details(blockinfile(args, ctx).await) })
    }
}

impl Module for Replace {
    fn spec(&self) -> &'static Spec {
        &REPLACE
    }

    fn run<'a>(&'a self, args: Args, ctx: &'a ModuleCtx) -> BoxFuture<'a, ModuleResult> {
        super::from_map(async move { fileutil::with_details(replace(args, ctx).await) })
    }
}

/// Parameters all three share.
struct Common {
    path: String,
    attrs: Attrs,
    backup: bool,
    validate: Option<String>,
}

/// The path the three modules edit, first of the parameters they share.
const COMMON_PATH: &[Param] = &[Param::str("path")
    .required()
    .aliases(&["dest", "destfile", "name"])];

/// The rest of the parameters they share ([`Common::read`]), after the file attributes.
const COMMON: &[Param] = &[
    Param::bool("backup").default_bool(false),
    Param::str("validate"),
    Param::str("encoding"),
    Param::bool("follow"),
];

impl Common {
    fn read(args: &mut Args) -> Result<Common, ModuleError> {
        let path = args.required_str("path")?;
        let attrs = Attrs::from_args(args)?;
        let backup = args.bool("backup")?.unwrap_or(false);
        let validate = args.str("validate")?;
        let _ = args.str("encoding")?;
        let _ = args.bool("follow")?;
        Ok(Common {
            path,
            attrs,
            backup,
            validate,
        })
    }
}

/// What writing did.
struct Written {
    backup: Option<String>,
    attrs_changed: bool,
    /// The "file attributes" diff entry.
    attrs_diff: Value,
}

/// Writes `new` when it differs from the target's content (or applies the attributes when
/// they differ), and tells whether the attributes changed, as `check_file_attrs` does.
async fn write(
    ctx: &ModuleCtx,
    c: &Common,
    target: &Target,
    new: &str,
    content_changed: bool,
) -> Result<Written, ModuleError> {
    let (before, after) = target.attr_changes(&c.attrs);
    let attrs_changed = !before.is_empty();
    let header = Value::from(format!("{} (file attributes)", c.path));
    let mut d = Vars::new();
    if attrs_changed {
        d.insert("after".into(), crate::value::from_vars(&after));
    }
    d.insert("after_header".into(), header.clone());
    if attrs_changed {
        d.insert("before".into(), crate::value::from_vars(&before));
    }
    d.insert("before_header".into(), header);
    let attrs_diff = crate::value::from_vars(&d);
    // In check mode a file that does not exist yet would be created: nothing to compare.
    if (!content_changed && !attrs_changed) || (ctx.check_mode && !target.exists) {
        return Ok(Written {
            backup: None,
            attrs_changed,
            attrs_diff,
        });
    }
    if !target.exists && !ctx.check_mode {
        // Ansible creates missing parent directories for a created file.
        let dir = fileutil::dirname(&c.path);
        if !dir.is_empty() {
            fileutil::run_script(
                ctx,
                &format!(
                    "mkdir -p -- {} || die 'could not create the directory'\n",
                    shell_quote(dir)
                ),
            )
            .await?;
        }
    }
    let opts = PutOptions {
        mode: c.attrs.put_mode(),
        owner: c.attrs.owner.clone(),
        group: c.attrs.group.clone(),
        check_mode: ctx.check_mode,
        backup: c.backup && content_changed,
        keep_existing: false,
        validate: c.validate.clone(),
    };
    let o = ctx
        .put_file(Source::Bytes(new.as_bytes().to_vec()), &c.path, &opts)
        .await?;
    Ok(Written {
        backup: o.backup_file,
        attrs_changed,
        attrs_diff,
    })
}

/// `check_file_attrs`'s message.
fn attrs_msg(mut msg: String, changed: bool, attrs_changed: bool) -> (String, bool) {
    if attrs_changed {
        if changed {
            msg.push_str(" and ");
        }
        msg.push_str("ownership, perms or SE linux context changed");
    }
    (msg, changed || attrs_changed)
}

/// lineinfile's and blockinfile's content diff: always returned, with the texts only under
/// `--diff` (Ansible fills them only when the module runs in diff mode).
fn content_diff(ctx: &ModuleCtx, path: &str, before: &str, after: &str) -> Value {
    let header = format!("{path} (content)");
    let (b, a) = if ctx.diff { (before, after) } else { ("", "") };
    fileutil::content_diff(b, a, Some(&header), Some(&header))
}

/// Fails as Ansible does for a directory or a missing file (`rc` 256 / 257).
fn path_failure(msg: String, rc: i64) -> Vars {
    fileutil::failed(msg, [("rc", Value::from(rc))])
}

/// A line matched as Python's `re.search` matches it: `$` may match before the final `\n`.
fn search<'a>(re: &regex::Regex, line: &'a str) -> Option<regex::Captures<'a>> {
    re.captures(line)
        .or_else(|| line.strip_suffix('\n').and_then(|l| re.captures(l)))
}

fn strip_eol(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

async fn lineinfile(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let c = Common::read(&mut args)?;
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let regexp = args.str("regexp")?;
    let search_string = args.str("search_string")?;
    let line = args.str("line")?;
    let backrefs = args.bool("backrefs")?.unwrap_or(false);
    let insertafter = args.str("insertafter")?;
    let insertbefore = args.str("insertbefore")?;
    let create = args.bool("create")?.unwrap_or(false);
    let firstmatch = args.bool("firstmatch")?.unwrap_or(false);
    for (a, b, both) in [
        (
            "insertbefore",
            "insertafter",
            insertbefore.is_some() && insertafter.is_some(),
        ),
        (
            "regexp",
            "search_string",
            regexp.is_some() && search_string.is_some(),
        ),
        (
            "backrefs",
            "search_string",
            backrefs && search_string.is_some(),
        ),
    ] {
        if both {
            return Err(ModuleError::Failed(format!(
                "parameters are mutually exclusive: {a}|{b}"
            )));
        }
    }
    if state == "present" {
        if backrefs && regexp.is_none() {
            return Err(ModuleError::Failed(
                "regexp is required with backrefs=true".into(),
            ));
        }
        if line.is_none() {
            return Err(ModuleError::Failed(
                "line is required with state=present".into(),
            ));
        }
    } else if regexp.is_none() && search_string.is_none() && line.is_none() {
        return Err(ModuleError::Failed(
            "one of line, search_string, or regexp is required with state=absent".into(),
        ));
    }
    let re = regexp
        .as_deref()
        .map(|r| fileutil::python_regex(r, false))
        .transpose()?;
    let ins_re = match (&insertafter, &insertbefore) {
        (Some(a), _) if a != "BOF" && a != "EOF" => Some(fileutil::python_regex(a, false)?),
        (None, Some(b)) if b != "BOF" => Some(fileutil::python_regex(b, false)?),
        _ => None,
    };

    let target = fileutil::read_target(ctx, &c.path, &c.attrs).await?;
    if target.is_dir {
        return Ok(path_failure(
            format!("Path {} is a directory !", c.path),
            256,
        ));
    }
    let line = line.unwrap_or_default();
    let path = c.path.clone();

    if state == "absent" {
        if !target.exists {
            return Ok(super::result([
                ("changed", Value::from(false)),
                ("msg", Value::from("file not present")),
            ]));
        }
        let before = target.content.clone();
        let mut found = 0;
        let kept: Vec<&str> = fileutil::split_keep_ends(&before)
            .into_iter()
            .filter(|l| {
                let m = if let Some(re) = &re {
                    search(re, l).is_some()
                } else if let Some(s) = &search_string {
                    l.contains(s.as_str())
                } else {
                    strip_eol(l) == line
                };
                if m {
                    found += 1;
                }
                !m
            })
            .collect();
        let after = kept.concat();
        let changed = found > 0;
        let w = write(ctx, &c, &target, &after, changed).await?;
        let msg = if changed {
            format!("{found} line(s) removed")
        } else {
            String::new()
        };
        let (msg, changed) = attrs_msg(msg, changed, w.attrs_changed);
        let mut r = super::result([
            ("changed", Value::from(changed)),
            ("found", Value::from(found)),
            ("msg", Value::from(msg)),
            ("backup", Value::from(w.backup.unwrap_or_default())),
        ]);
        r.insert(
            "diff".into(),
            Value::from(vec![
                content_diff(ctx, &path, &before, &after),
                w.attrs_diff.clone(),
            ]),
        );
        return Ok(r);
    }

    if !target.exists && !create {
        return Ok(path_failure(
            format!("Destination {} does not exist !", c.path),
            257,
        ));
    }
    let before = target.content.clone();
    let mut lines: Vec<String> = fileutil::split_keep_ends(&before)
        .into_iter()
        .map(String::from)
        .collect();
    let (msg, changed) = present(
        &mut lines,
        re.as_ref(),
        search_string.as_deref(),
        &line,
        insertafter.as_deref(),
        insertbefore.as_deref(),
        ins_re.as_ref(),
        backrefs,
        firstmatch,
    );
    let after = lines.concat();
    let w = write(ctx, &c, &target, &after, changed).await?;
    let diff = content_diff(ctx, &path, &before, &after);
    if ctx.check_mode && !target.exists {
        let mut r = super::result([
            ("changed", Value::from(changed)),
            ("msg", Value::from(msg)),
            ("backup", Value::from("")),
        ]);
        r.insert("diff".into(), diff);
        return Ok(r);
    }
    let (msg, changed) = attrs_msg(msg, changed, w.attrs_changed);
    let mut r = super::result([
        ("changed", Value::from(changed)),
        ("msg", Value::from(msg)),
        ("backup", Value::from(w.backup.unwrap_or_default())),
    ]);
    r.insert("diff".into(), Value::from(vec![diff, w.attrs_diff.clone()]));
    Ok(r)
}

/// ansible-core's `present()`: edits `lines` and gives (msg, changed).
#[allow(clippy::too_many_arguments)]
fn present(
    lines: &mut Vec<String>,
    re: Option<&regex::Regex>,
    search_string: Option<&str>,
    line: &str,
    insertafter: Option<&str>,
    insertbefore: Option<&str>,
    ins_re: Option<&regex::Regex>,
    backrefs: bool,
    firstmatch: bool,
) -> (String, bool) {
    let mut index: [i64; 2] = [-1, -1];
    let mut matched: Option<String> = None;
    let mut exact_line_match = false;
    if let Some(re) = re {
        for (i, l) in lines.iter().enumerate() {
            if let Some(caps) = search(re, l) {
                index[0] = i as i64;
                let mut expanded = String::new();
                if backrefs {
                    caps.expand(&fileutil::python_template(line), &mut expanded);
                } else {
                    expanded = line.to_string();
                }
                matched = Some(expanded);
                if firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(s) = search_string {
        for (i, l) in lines.iter().enumerate() {
            if l.contains(s) {
                index[0] = i as i64;
                matched = Some(line.to_string());
                if firstmatch {
                    break;
                }
            }
        }
    }
    if matched.is_none() {
        for (i, l) in lines.iter().enumerate() {
            if line == strip_eol(l) {
                index[0] = i as i64;
                exact_line_match = true;
            } else if let Some(ins) = ins_re
                && search(ins, l).is_some()
            {
                if insertafter.is_some() {
                    index[1] = i as i64 + 1;
                    if firstmatch {
                        break;
                    }
                }
                if insertbefore.is_some() {
                    index[1] = i as i64;
                    if firstmatch {
                        break;
                    }
                }
            }
        }
    }
    let nl = "\n";
    let with_nl = |s: &str| format!("{s}{nl}");
    let ends_nl = |s: &str| s.ends_with('\n') || s.ends_with('\r');
    let added = || ("line added".to_string(), true);
    let none = || (String::new(), false);
    if index[0] != -1 {
        let mut new_line = match (&matched, backrefs) {
            (Some(m), true) => m.clone(),
            _ => line.to_string(),
        };
        if !new_line.ends_with(nl) {
            new_line.push_str(nl);
        }
        if re.is_none() && search_string.is_none() && matched.is_none() && !exact_line_match {
            // Unreachable in practice (index[0] is only set by a match), kept as Ansible has it.
            return none();
        }
        let i = index[0] as usize;
        if lines[i] != new_line {
            lines[i] = new_line;
            return ("line replaced".into(), true);
        }
        return none();
    }
    if backrefs {
        return none();
    }
    if insertbefore == Some("BOF") || insertafter == Some("BOF") {
        lines.insert(0, with_nl(line));
        return added();
    }
    if insertafter == Some("EOF") || index[1] == -1 {
        if let Some(last) = lines.last()
            && !ends_nl(last)
        {
            lines.push(nl.to_string());
        }
        lines.push(with_nl(line));
        return added();
    }
    let i = index[1] as usize;
    if insertafter.is_some() {
        if lines.len() == i {
            if strip_eol(&lines[i - 1]) != line {
                lines.push(with_nl(line));
                return added();
            }
            return none();
        }
        if strip_eol(&lines[i]) != line {
            lines.insert(i, with_nl(line));
            return added();
        }
        return none();
    }
    lines.insert(i, with_nl(line));
    added()
}

async fn blockinfile(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let c = Common::read(&mut args)?;
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let marker = args
        .str("marker")?
        .unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".into());
    let block = args.str("block")?.unwrap_or_default();
    let insertafter = args.str("insertafter")?;
    let insertbefore = args.str("insertbefore")?;
    let create = args.bool("create")?.unwrap_or(false);
    let marker_begin = args.str("marker_begin")?.unwrap_or_else(|| "BEGIN".into());
    let marker_end = args.str("marker_end")?.unwrap_or_else(|| "END".into());
    let append_newline = args.bool("append_newline")?.unwrap_or(false);
    let prepend_newline = args.bool("prepend_newline")?.unwrap_or(false);
    let (insertafter, insertbefore) = match (insertafter, insertbefore) {
        (None, None) => (Some("EOF".to_string()), None),
        other => other,
    };
    let insertre = match (&insertafter, &insertbefore) {
        (Some(a), _) if a != "EOF" => Some(fileutil::python_regex(a, false)?),
        (_, Some(b)) if b != "BOF" => Some(fileutil::python_regex(b, false)?),
        _ => None,
    };

    let target = fileutil::read_target(ctx, &c.path, &c.attrs).await?;
    let path = c.path.clone();
    if target.is_dir {
        return Ok(path_failure(format!("Path {path} is a directory !"), 256));
    }
    if !target.exists && !create {
        return Ok(path_failure(format!("Path {path} does not exist !"), 257));
    }
    let present = state == "present";
    if !present && !target.exists {
        return Ok(super::result([
            ("changed", Value::from(false)),
            ("msg", Value::from("File not present")),
        ]));
    }
    let original = target.exists.then(|| target.content.clone());
    let mut lines: Vec<String> = fileutil::split_keep_ends(&target.content)
        .into_iter()
        .map(String::from)
        .collect();
    let marker0 = format!("{}\n", marker.replace("{mark}", &marker_begin));
    let marker1 = format!("{}\n", marker.replace("{mark}", &marker_end));
    let blocklines: Vec<String> = if present && !block.is_empty() {
        let mut b = block.clone();
        if !b.ends_with('\n') {
            b.push('\n');
        }
        let mut v = vec![marker0.clone()];
        v.extend(fileutil::split_keep_ends(&b).into_iter().map(String::from));
        v.push(marker1.clone());
        v
    } else {
        Vec::new()
    };
    let (mut n0, mut n1) = (None, None);
    for (i, l) in lines.iter().enumerate() {
        if *l == marker0 {
            n0 = Some(i);
        }
        if *l == marker1 {
            n1 = Some(i);
        }
    }
    let mut n0 = match (n0, n1) {
        (Some(a), Some(b)) if a < b => {
            lines.drain(a..=b);
            a
        }
        (Some(a), Some(b)) => {
            lines.drain(b..=a);
            b
        }
        _ => {
            if let Some(re) = &insertre {
                let mut at = None;
                for (i, l) in lines.iter().enumerate() {
                    if search(re, l).is_some() {
                        at = Some(i);
                    }
                }
                match at {
                    None => lines.len(),
                    Some(i) if insertafter.is_some() => i + 1,
                    Some(i) => i,
                }
            } else if insertbefore.is_some() {
                0
            } else {
                lines.len()
            }
        }
    };
    if n0 > 0 && !lines[n0 - 1].ends_with('\n') {
        lines[n0 - 1].push('\n');
    }
    if prepend_newline && present && n0 != 0 && lines[n0 - 1] != "\n" {
        lines.insert(n0, "\n".into());
        n0 += 1;
    }
    let nblock = blocklines.len();
    lines.splice(n0..n0, blocklines);
    if append_newline && present {
        let after = n0 + nblock;
        if after < lines.len() && lines[after] != "\n" {
            lines.insert(after, "\n".into());
        }
    }
    let result = lines.concat();
    let (msg, changed) = if original.as_deref() == Some(result.as_str()) {
        ("", false)
    } else if original.is_none() {
        ("File created", true)
    } else if nblock == 0 {
        ("Block removed", true)
    } else {
        ("Block inserted", true)
    };
    let w = write(ctx, &c, &target, &result, changed).await?;
    let diff = content_diff(ctx, &path, original.as_deref().unwrap_or(""), &result);
    if ctx.check_mode && !target.exists {
        let mut r = super::result([("changed", Value::from(changed)), ("msg", Value::from(msg))]);
        r.insert("diff".into(), diff);
        return Ok(r);
    }
    let (msg, changed) = attrs_msg(msg.to_string(), changed, w.attrs_changed);
    let mut r = super::result([("changed", Value::from(changed)), ("msg", Value::from(msg))]);
    r.insert("diff".into(), Value::from(vec![diff, w.attrs_diff.clone()]));
    if let Some(b) = w.backup {
        r.insert("backup_file".into(), Value::from(b));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(content: &str, line: &str, re: Option<&str>, after: Option<&str>) -> (String, String) {
        let mut lines: Vec<String> = fileutil::split_keep_ends(content)
            .into_iter()
            .map(String::from)
            .collect();
        let re = re.map(|r| fileutil::python_regex(r, false).unwrap());
        let ins = after
            .filter(|a| *a != "EOF" && *a != "BOF")
            .map(|a| fileutil::python_regex(a, false).unwrap());
        let (msg, _) = present(
            &mut lines,
            re.as_ref(),
            None,
            line,
            after,
            None,
            ins.as_ref(),
            false,
            false,
        );
        (lines.concat(), msg)
    }

    #[test]
    fn lines_land_where_ansible_puts_them() {
        assert_eq!(
            run("a=1\nb=2\n", "a=9", Some("^a="), None),
            ("a=9\nb=2\n".into(), "line replaced".into())
        );
        assert_eq!(
            run("a=9\nb=2\n", "a=9", Some("^a="), None),
            ("a=9\nb=2\n".into(), String::new())
        );
        assert_eq!(
            run("a=1\nb=2", "c=3", None, None),
            ("a=1\nb=2\nc=3\n".into(), "line added".into())
        );
        assert_eq!(
            run("a=1\nb=2\n", "x", None, Some("^a")),
            ("a=1\nx\nb=2\n".into(), "line added".into())
        );
        assert_eq!(
            run("a=1\n", "a=1", Some("^a=1$"), None),
            ("a=1\n".into(), String::new())
        );
    }
}
