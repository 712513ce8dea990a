//! `replace`: every match of a regular expression in a file replaced, as ansible-core's
//! replace module does (Python's `re` semantics, `after`/`before` bounds).

use super::*;

pub(super) async fn replace(mut args: Args, ctx: &ModuleCtx) -> MapResult {
    let c = Common::read(&mut args)?;
    let regexp = args.required_str("regexp")?;
    let replacement = args.str("replace")?.unwrap_or_default();
    let after = args.str("after")?;
    let before = args.str("before")?;
    let mre = fileutil::python_regex(&regexp, true)?;
    let target = fileutil::read_target(ctx, &c.path, &c.attrs).await?;
    let path = c.path.clone();
    if target.is_dir {
        return Ok(path_failure(format!("Path {path} is a directory !"), 256));
    }
    if !target.exists {
        return Ok(path_failure(format!("Path {path} does not exist !"), 257));
    }
    let contents = target.content.clone();
    let pattern = match (&after, &before) {
        (Some(a), Some(b)) => format!("{a}(?P<subsection>.*?){b}"),
        (Some(a), None) => format!("{a}(?P<subsection>.*)"),
        (None, Some(b)) => format!("(?P<subsection>.*){b}"),
        (None, None) => String::new(),
    };
    let (start, end) = if pattern.is_empty() {
        (0, contents.len())
    } else {
        let section_re = fileutil::python_regex(&format!("(?s){pattern}"), false)?;
        match section_re
            .captures(&contents)
            .and_then(|c| c.name("subsection"))
        {
            Some(m) => (m.start(), m.end()),
            None => {
                return Ok(super::super::result([
                    ("changed", Value::from(false)),
                    ("rc", Value::from(0)),
                    (
                        "msg",
                        Value::from(format!(
                            "Pattern for before/after params did not match the given file: {pattern}"
                        )),
                    ),
                ]));
            }
        }
    };
    let section = &contents[start..end];
    let count = mre.find_iter(section).count();
    let template = fileutil::python_template(&replacement);
    let replaced = mre.replace_all(section, template.as_str()).into_owned();
    let changed = count > 0 && replaced != section;
    let new = format!("{}{replaced}{}", &contents[..start], &contents[end..]);
    let mut r = Vars::new();
    r.insert("rc".into(), Value::from(0));
    let msg = if changed {
        if ctx.diff {
            r.insert(
                "diff".into(),
                fileutil::content_diff(&contents, &new, Some(&path), Some(&path)),
            );
        }
        format!("{count} replacements made")
    } else {
        String::new()
    };
    let w = write(ctx, &c, &target, &new, changed).await?;
    if let Some(b) = w.backup {
        r.insert("backup_file".into(), Value::from(b));
    }
    let (msg, changed) = attrs_msg(msg, changed, w.attrs_changed);
    r.insert("msg".into(), Value::from(msg));
    r.insert("changed".into(), Value::from(changed));
    Ok(r)
}
