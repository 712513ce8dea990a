//! Template files, as the template module and the template lookup render them.
//!
//! This module owns what the two share with ansible-core 2.19 (`TemplateOverrides` in
//! `_internal/_templating/_jinja_bits.py`, `_template_vars.py`):
//! - the syntax overrides: delimiters, `trim_blocks`, `lstrip_blocks`, `newline_sequence`,
//!   `keep_trailing_newline`, line statement and comment prefixes, given as task arguments or
//!   lookup options, and overridden again by a first line `#jinja2: key: value, ...` (values are
//!   Python literals) which is removed from the text;
//! - the search path for `{% include %}`, `{% import %}` and `{% extends %}`: names are relative
//!   to the directories given (Jinja's `FileSystemLoader`), never to the including file, and may
//!   not climb out with `..`; included templates use the same syntax but no header of their own;
//! - trailing newlines: Jinja drops the last one unless `keep_trailing_newline`; ansible then
//!   adds back as many as the top-level text ended with (in the caller's `newline_sequence`,
//!   not the header's), so an included file does not bring its newline into the middle of a
//!   line;
//! - the variables a template sees on top of the task's: `template_host`, `template_path` (as
//!   written in the task), `template_fullpath`, `template_destpath`, `template_uid` (the file's
//!   owner), `template_mtime`, `template_run_date`, and `ansible_managed` unless the user set it
//!   (the `[defaults] ansible_managed` setting, `{file}`/`{host}`/`{uid}` and `strftime` codes
//!   resolved with the file's modification time).

use super::{build_env, convert_error_in, enter_context, is_chain_error};
use crate::diagnostics::{Error, ErrorKind};
use crate::value::Value;
use minijinja::UndefinedBehavior;
use minijinja::syntax::SyntaxConfig;
use std::path::{Path, PathBuf};

/// The header that overrides a template's syntax from its first line.
const HEADER: &str = "#jinja2:";

/// Jinja's environment options a template may change (ansible's `TemplateOverrides`).
#[derive(Debug, Clone, PartialEq)]
pub struct Overrides {
    pub block_start_string: String,
    pub block_end_string: String,
    pub variable_start_string: String,
    pub variable_end_string: String,
    pub comment_start_string: String,
    pub comment_end_string: String,
    pub line_statement_prefix: Option<String>,
    pub line_comment_prefix: Option<String>,
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    pub newline_sequence: String,
    pub keep_trailing_newline: bool,
}

impl Default for Overrides {
    fn default() -> Overrides {
        Overrides {
            block_start_string: "{%".into(),
            block_end_string: "%}".into(),
            variable_start_string: "{{".into(),
            variable_end_string: "}}".into(),
            comment_start_string: "{#".into(),
            comment_end_string: "#}".into(),
            line_statement_prefix: None,
            line_comment_prefix: None,
            // Ansible's environment turns trim_blocks on; Jinja's own default is off.
            trim_blocks: true,
            lstrip_blocks: false,
            newline_sequence: "\n".into(),
            keep_trailing_newline: false,
        }
    }
}

/// A value for one override: what a task argument, a lookup option or a header gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    Text(String),
    Bool(bool),
    None,
}

impl Overrides {
    /// Whether `key` names an override.
    pub fn is_key(key: &str) -> bool {
        matches!(
            key,
            "block_start_string"
                | "block_end_string"
                | "variable_start_string"
                | "variable_end_string"
                | "comment_start_string"
                | "comment_end_string"
                | "line_statement_prefix"
                | "line_comment_prefix"
                | "trim_blocks"
                | "lstrip_blocks"
                | "newline_sequence"
                | "keep_trailing_newline"
        )
    }

    /// Sets one override; the message says what was wrong with the value.
    pub fn set(&mut self, key: &str, value: Setting) -> Result<(), String> {
        let text = |v: Setting| match v {
            Setting::Text(s) => Ok(s),
            other => Err(format!("'{key}' must be a string, not {other:?}")),
        };
        let flag = |v: Setting| match v {
            Setting::Bool(b) => Ok(b),
            Setting::Text(s) => Ok(crate::template::filters::bool_filter(Value::from(s))),
            Setting::None => Err(format!("'{key}' must be a boolean, not None")),
        };
        let optional = |v: Setting| match v {
            Setting::None => Ok(None),
            other => text(other).map(Some),
        };
        match key {
            "block_start_string" => self.block_start_string = text(value)?,
            "block_end_string" => self.block_end_string = text(value)?,
            "variable_start_string" => self.variable_start_string = text(value)?,
            "variable_end_string" => self.variable_end_string = text(value)?,
            "comment_start_string" => self.comment_start_string = text(value)?,
            "comment_end_string" => self.comment_end_string = text(value)?,
            "line_statement_prefix" => self.line_statement_prefix = optional(value)?,
            "line_comment_prefix" => self.line_comment_prefix = optional(value)?,
            "trim_blocks" => self.trim_blocks = flag(value)?,
            "lstrip_blocks" => self.lstrip_blocks = flag(value)?,
            "keep_trailing_newline" => self.keep_trailing_newline = flag(value)?,
            "newline_sequence" => {
                let seq = text(value)?;
                // A task argument may spell the sequence with escapes (`\r\n`).
                self.newline_sequence = match seq.as_str() {
                    "\\n" => "\n".into(),
                    "\\r" => "\r".into(),
                    "\\r\\n" => "\r\n".into(),
                    _ => seq,
                };
                if !matches!(self.newline_sequence.as_str(), "\n" | "\r" | "\r\n") {
                    return Err("newline_sequence needs to be one of: \n, \r or \r\n".into());
                }
            }
            _ => return Err(format!("Invalid {HEADER:?} override key {key:?}.")),
        }
        Ok(())
    }

    /// The text without its `#jinja2:` first line, and these overrides with the line's on top.
    pub fn with_header<'t>(&self, text: &'t str) -> Result<(&'t str, Overrides), Error> {
        let Some(rest) = text.strip_prefix(HEADER) else {
            return Ok((text, self.clone()));
        };
        let syntax_error = |cause: String| {
            Error::new(
                ErrorKind::Template,
                format!("Syntax error in template: {cause}"),
            )
        };
        let Some(eol) = rest.find('\n') else {
            return Err(syntax_error(format!(
                "Missing newline after '{HEADER}' override."
            )));
        };
        let mut out = self.clone();
        for pair in rest[..eol].split(',') {
            if pair.trim().is_empty() {
                return Err(syntax_error(format!(
                    "Empty '{HEADER}' override pair not allowed."
                )));
            }
            let Some((key, value)) = pair.split_once(':') else {
                return Err(syntax_error(format!(
                    "Missing key-value separator `:` in '{HEADER}' override pair '{pair}'."
                )));
            };
            let key = key.trim();
            if !Overrides::is_key(key) {
                return Err(syntax_error(format!(
                    "Invalid '{HEADER}' override key '{key}'."
                )));
            }
            let value = python_literal(value.trim()).ok_or_else(|| {
                syntax_error(format!("malformed value in '{HEADER}' override: {value}"))
            })?;
            out.set(key, value).map_err(syntax_error)?;
        }
        Ok((&rest[eol + 1..], out))
    }

    fn syntax(&self) -> Result<SyntaxConfig, Error> {
        if self.block_start_string == self.variable_start_string
            || self.variable_start_string == self.comment_start_string
            || self.comment_start_string == self.block_start_string
        {
            return Err(Error::new(
                ErrorKind::Template,
                "Block, variable and comment start strings must be different.",
            ));
        }
        let mut b = SyntaxConfig::builder();
        b.block_delimiters(
            self.block_start_string.clone(),
            self.block_end_string.clone(),
        )
        .variable_delimiters(
            self.variable_start_string.clone(),
            self.variable_end_string.clone(),
        )
        .comment_delimiters(
            self.comment_start_string.clone(),
            self.comment_end_string.clone(),
        )
        .trim_blocks(self.trim_blocks)
        .lstrip_blocks(self.lstrip_blocks)
        .keep_trailing_newline(self.keep_trailing_newline);
        if let Some(p) = &self.line_statement_prefix {
            b.line_statement_prefix(p.clone());
        }
        if let Some(p) = &self.line_comment_prefix {
            b.line_comment_prefix(p.clone());
        }
        b.build().map_err(|e| {
            Error::new(
                ErrorKind::Template,
                format!("invalid template syntax settings: {e}"),
            )
        })
    }
}

/// Python's `ast.literal_eval` for what a header holds: strings, booleans, None, numbers.
fn python_literal(s: &str) -> Option<Setting> {
    match s {
        "True" => return Some(Setting::Bool(true)),
        "False" => return Some(Setting::Bool(false)),
        "None" => return Some(Setting::None),
        _ => {}
    }
    if s.parse::<f64>().is_ok() {
        return Some(Setting::Text(s.to_string()));
    }
    let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = s.strip_prefix(q)?.strip_suffix(q)?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == q {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            c @ ('\\' | '\'' | '"') => out.push(c),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(Setting::Text(out))
}

/// Renders a template file's text: its header applied over `base`, `{% include %}` and
/// friends found in `search`, and ansible's trailing newlines.
pub fn render(
    text: &str,
    ctx: &Value,
    base: &Overrides,
    search: &[PathBuf],
) -> Result<String, Error> {
    let (body, overrides) = base.with_header(text)?;
    let syntax = overrides.syntax()?;
    // Python's `%` formatting and unary `+`, where the delimiters are Jinja's own.
    let body = if overrides.variable_start_string == "{{"
        && overrides.block_start_string == "{%"
        && overrides.comment_start_string == "{#"
    {
        super::prepare::prepare_file_template(body)
    } else {
        std::borrow::Cow::Borrowed(body)
    };
    let _guard = enter_context(ctx);
    let run = |undefined: UndefinedBehavior| {
        let mut env = build_env(undefined, syntax.clone());
        let dirs = search.to_vec();
        env.set_loader(move |name| load(&dirs, name));
        env.render_str(&body, ctx.clone())
    };
    let mut out = match run(UndefinedBehavior::Strict) {
        Err(e) if is_chain_error(&e) => run(UndefinedBehavior::Chainable),
        other => other,
    }
    .map_err(|e| convert_error_in(e, "", ctx))?;
    if overrides.newline_sequence != "\n" {
        out = out.replace('\n', &overrides.newline_sequence);
    }
    let wanted = trailing_newlines(text);
    let have = trailing_newlines(&out);
    if wanted > have {
        // In the caller's sequence: ansible pads with its own options, not the header's.
        out.push_str(&base.newline_sequence.repeat(wanted - have));
    }
    Ok(out)
}

/// [`render`], keeping the type of a template whose output is one printed value (its one trailing
/// newline aside), as ansible's engine does for the template lookup: `{{ [1, 2] }}` gives a list
/// (see `super::native`).
pub fn render_native(
    text: &str,
    ctx: &Value,
    base: &Overrides,
    search: &[PathBuf],
) -> Result<Value, Error> {
    let (body, overrides) = base.with_header(text)?;
    let default_delimiters = overrides.variable_start_string == "{{"
        && overrides.variable_end_string == "}}"
        && overrides.block_start_string == "{%"
        && overrides.comment_start_string == "{#";
    let one = body.strip_suffix('\n').unwrap_or(body);
    if default_delimiters && let Some(expr) = super::prepare::single_expression(one) {
        let prepared = super::prepare::prepare_expression(expr, false);
        let value = super::eval_in_source(&prepared, ctx, one)?;
        if value.kind() != minijinja::value::ValueKind::String {
            return Ok(value);
        }
    }
    if !super::is_template(body) {
        return render(text, ctx, base, search).map(Value::from);
    }
    // Jinja drops the one trailing newline the file rendering keeps.
    super::native::render(
        || render(text, ctx, base, search),
        |t| t.strip_suffix('\n').unwrap_or(t),
    )
}

/// How many `\n` a text ends with.
fn trailing_newlines(s: &str) -> usize {
    s.len() - s.trim_end_matches('\n').len()
}

/// Jinja's `FileSystemLoader`: `name` split on `/`, no `..`, tried in each directory in turn.
fn load(dirs: &[PathBuf], name: &str) -> Result<Option<String>, minijinja::Error> {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Ok(None);
    }
    for dir in dirs {
        let path = parts.iter().fold(dir.clone(), |p, part| p.join(part));
        if path.is_file() {
            let bytes = crate::vault::read_maybe_encrypted(&path).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.message)
            })?;
            return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    Ok(None)
}

/// Ansible's include search path from a task's `ansible_search_path` (or, without one, the
/// role's and the playbook's directories): each directory's `templates/`, then the directory.
pub fn search_path(vars: &Value, first: &[PathBuf], last: &[PathBuf]) -> Vec<PathBuf> {
    let var = |name: &str| {
        vars.get_attr(name)
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_none())
    };
    let mut dirs: Vec<PathBuf> = match var("ansible_search_path") {
        Some(v) if v.kind() == minijinja::value::ValueKind::Seq => v
            .try_iter()
            .map(|it| {
                it.map(|p| PathBuf::from(crate::template::filters::py_str(&p)))
                    .collect()
            })
            .unwrap_or_default(),
        _ => ["role_path", "playbook_dir"]
            .iter()
            .filter_map(|n| var(n).and_then(|v| v.as_str().map(PathBuf::from)))
            .collect(),
    };
    dirs.extend(last.iter().cloned());
    let mut out: Vec<PathBuf> = first.to_vec();
    for d in dirs {
        out.push(d.join("templates"));
        out.push(d);
    }
    out
}

/// The variables ansible adds for a template file (`generate_ansible_template_vars`), but
/// `ansible_managed` (see [`add_managed`]).
pub fn template_vars(
    path: &str,
    fullpath: &Path,
    dest: Option<&str>,
) -> indexmap::IndexMap<String, Value> {
    let meta = std::fs::metadata(fullpath).ok();
    let mtime = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .unwrap_or_else(std::time::SystemTime::now);
    let uid = meta.as_ref().map_or(0, std::os::unix::fs::MetadataExt::uid);
    let owner = user_name(uid).map_or_else(|| Value::from(uid), Value::from);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let mut vars = indexmap::IndexMap::new();
    vars.insert("template_host".to_string(), Value::from(host));
    vars.insert("template_path".to_string(), Value::from(path));
    vars.insert(
        "template_mtime".to_string(),
        crate::template::filters::datetime_value(mtime),
    );
    vars.insert("template_uid".to_string(), owner);
    vars.insert(
        "template_run_date".to_string(),
        crate::template::filters::datetime_value(std::time::SystemTime::now()),
    );
    vars.insert(
        "template_destpath".to_string(),
        dest.map_or(Value::from(()), Value::from),
    );
    vars.insert(
        "template_fullpath".to_string(),
        Value::from(fullpath.display().to_string()),
    );
    vars
}

/// Adds `ansible_managed` to a template's variables unless `base` (the user's) defines it: the
/// `managed` setting with `{file}`, `{host}` and `{uid}` as expressions (a file name is never a
/// template), its time codes at the file's modification time, then templated with the
/// template's variables over `base`, as ansible templates it when the template uses it.
pub fn add_managed(
    vars: &mut indexmap::IndexMap<String, Value>,
    managed: &str,
    fullpath: &Path,
    base: &Value,
) {
    if base
        .get_attr("ansible_managed")
        .is_ok_and(|v| !v.is_undefined())
    {
        return;
    }
    let mtime = std::fs::metadata(fullpath)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| std::time::SystemTime::now());
    let text = py_format(
        managed,
        &[
            ("file", "{{ template_path }}"),
            ("host", "{{ template_host }}"),
            ("uid", "{{ template_uid }}"),
        ],
    );
    let stamped = crate::template::filters::strftime_at(&text, mtime);
    let scope = crate::template::Overlay::value(vars.clone(), base.clone());
    let value = crate::template::render_str(&stamped, &scope).unwrap_or(Value::from(stamped));
    vars.insert("ansible_managed".to_string(), value);
}

/// Python's `str.format` with named fields: `{{` and `}}` are braces, `{name}` a field; a
/// text it cannot format (an unknown field) is kept as it is, where Python would fail.
fn py_format(text: &str, fields: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if let Some(end) = tail.strip_prefix('{').and_then(|t| t.find('}'))
            && let Some((_, value)) = fields.iter().find(|(n, _)| *n == &tail[1..=end])
        {
            out.push_str(value);
            rest = &tail[end + 2..];
        } else {
            return text.to_string();
        }
    }
    out.push_str(rest);
    out
}

/// The name of the user with this uid, from /etc/passwd.
pub(crate) fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let id = f.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_overrides_the_syntax_and_is_removed() {
        let (body, o) = Overrides::default()
            .with_header("#jinja2:variable_start_string:'<<' , variable_end_string:'>>'\nx\n")
            .unwrap();
        assert_eq!(body, "x\n");
        assert_eq!(o.variable_start_string, "<<");
        assert_eq!(o.variable_end_string, ">>");
        let (_, o) = Overrides::default()
            .with_header("#jinja2: trim_blocks: False, newline_sequence: '\\r\\n'\n")
            .unwrap();
        assert!(!o.trim_blocks);
        assert_eq!(o.newline_sequence, "\r\n");
        let err = Overrides::default()
            .with_header("#jinja2: lstrip_blocks=True\nfoo\n")
            .unwrap_err();
        assert!(err.message.contains("Missing key-value separator"), "{err}");
    }

    #[test]
    fn trailing_newlines_are_those_of_the_top_level_text() {
        let ctx = crate::value::map([("x", Value::from(true))]);
        let base = Overrides::default();
        assert_eq!(
            render("{% if x %}a{% endif %}\n", &ctx, &base, &[]).unwrap(),
            "a\n"
        );
        assert_eq!(render("a\n\n", &ctx, &base, &[]).unwrap(), "a\n\n");
        let crlf = "#jinja2: newline_sequence:'\\r\\n'\na\nb\n\n";
        assert_eq!(render(crlf, &ctx, &base, &[]).unwrap(), "a\r\nb\r\n\n");
    }
}
