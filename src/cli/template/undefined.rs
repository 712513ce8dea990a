//! Messages for `baton template` when a template uses a variable nothing defines: which
//! variable (pointed at where the template uses it), and where the user would define it: the
//! inventory (host_vars/, group_vars/), the role's defaults, `-e`; for a fact, how to get facts
//! (`--gather`, a fact cache, `-e`). A variable that is defined but whose value uses an undefined
//! one is followed to that one ("its value in roles/R/vars/main.yml uses 'ansible_os_family'").

use super::role::TemplateRole;
use crate::diagnostics::{Error, ErrorKind, Pos, Source, Span};
use crate::value::{Value, Vars};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

/// What is known about the variables of the host the template was rendered for.
pub struct Known<'a> {
    pub host: &'a str,
    /// The host's groups (without `all`).
    pub groups: Vec<String>,
    pub role: Option<&'a TemplateRole>,
    pub extra: &'a Vars,
    /// What the inventory gives the host.
    pub inventory: Arc<Vars>,
    /// The host's facts (namespaced); empty when none are known.
    pub facts: Arc<Vars>,
    /// The scope the template was rendered with.
    pub scope: &'a Value,
}

/// How deep a chain of variables referring to variables is followed.
const MAX_DEPTH: usize = 8;

/// `err` (from rendering `source`) with the undefined variable named and where to define it,
/// pointed at where the template uses it. Other errors are returned as they are.
pub fn explain(err: Error, source: &Arc<Source>, known: &Known) -> Error {
    let Some(span) = err.span.clone() else {
        return err;
    };
    if err.kind != ErrorKind::Undefined || !err.message.ends_with("is undefined") {
        return err;
    }
    let text = source.text.as_str();
    let Some(offset) = byte_offset(text, span.start) else {
        return err;
    };
    let Some((tag_start, tag)) = enclosing_tag(text, offset) else {
        return err;
    };
    // Names the template itself sets (loop variables, `set`) are not the scope's.
    let from_scope: HashSet<String> = crate::template::env()
        .template_from_str(text)
        .map(|t| t.undeclared_variables(false))
        .unwrap_or_default();
    let undefined = |n: &str| known.scope.get_attr(n).map_or(true, |v| v.is_undefined());
    let names = identifiers(tag);
    let named = quoted_name(&err.message);
    let culprit = names
        .iter()
        .find(|(n, _)| Some(n.as_str()) == named && from_scope.contains(n) && undefined(n))
        .or_else(|| {
            names
                .iter()
                .find(|(n, _)| from_scope.contains(n) && undefined(n))
        });
    let Some((name, at)) = culprit else {
        // minijinja names the last name it looked up, which may be one the template set
        // (`hostvars[h].x` says `h`): the expression is what is undefined then.
        if named.is_some_and(|n| !from_scope.contains(n)) {
            let mut out = err.clone();
            out.message = match text[..tag_start].ends_with("{{") {
                true => format!("'{}' is undefined", tag.trim().trim_matches('-').trim()),
                false => format!("a value used in '{{%{tag}%}}' is undefined"),
            };
            return out;
        }
        return err;
    };
    let start = tag_start + at;
    let span = Span {
        source: source.clone(),
        start: pos_of(text, start),
        end: pos_of(text, start + name.len()),
    };
    let mut out = Error::new(
        ErrorKind::Template,
        format!("'{name}' is undefined: {}", reason(name, known, 0)),
    )
    .at(&span);
    out.context = err.context;
    out
}

/// Why `name` is undefined and what the user can do about it.
fn reason(name: &str, known: &Known, depth: usize) -> String {
    let Some((origin, raw)) = definition(name, known) else {
        return missing(name, known);
    };
    let inner = template_names(&raw)
        .into_iter()
        .find(|n| n != name && known.scope.get_attr(n).map_or(true, |v| v.is_undefined()));
    match inner {
        Some(n) if depth < MAX_DEPTH => format!(
            "its value in {origin} uses '{n}', which is undefined: {}",
            reason(&n, known, depth + 1)
        ),
        _ => match crate::template::render_value(&raw, known.scope) {
            Err(e) => format!("its value in {origin} cannot be templated: {}", e.message),
            Ok(_) => format!("its value in {origin} uses something undefined"),
        },
    }
}

/// Where `name` is defined for the host, highest precedence first, and its raw value.
fn definition(name: &str, known: &Known) -> Option<(String, Value)> {
    if let Some(v) = known.extra.get(name) {
        return Some(("-e".to_string(), v.clone()));
    }
    let role = known.role;
    for f in role.iter().flat_map(|r| r.vars_files.iter()) {
        if let Some(v) = f.vars.get(name) {
            return Some((f.shown.clone(), v.clone()));
        }
    }
    if let Some(v) = known.inventory.get(name) {
        return Some(("the inventory".to_string(), v.clone()));
    }
    for f in role.iter().flat_map(|r| r.defaults_files.iter()) {
        if let Some(v) = f.vars.get(name) {
            return Some((f.shown.clone(), v.clone()));
        }
    }
    None
}

/// What to do about a variable nothing defines.
fn missing(name: &str, known: &Known) -> String {
    let host = known.host;
    if is_fact(name) {
        let state = if known.facts.is_empty() {
            format!("no facts of {host} are known")
        } else {
            format!("the known facts of {host} do not have it")
        };
        return format!(
            "it is a fact of {host} and {state}: gather them with --gather, let an earlier run \
             fill a fact cache (fact_caching = jsonfile in ansible.cfg), or pass -e {name}=..."
        );
    }
    let mut places = vec![format!("host_vars/{host}.yml")];
    places.extend(
        known
            .groups
            .iter()
            .take(3)
            .map(|g| format!("group_vars/{g}.yml")),
    );
    places.push("group_vars/all.yml".into());
    let inventory = format!("the inventory ({})", places.join(", "));
    match known.role {
        Some(r) => format!(
            "define it in {inventory}, in {}, or pass -e {name}=...",
            r.own_defaults
        ),
        None => format!("define it in {inventory} or pass -e {name}=..."),
    }
}

/// Whether a variable name is one the setup module gathers (not a connection setting or a
/// magic variable that happens to start with `ansible_`).
fn is_fact(name: &str) -> bool {
    const NOT_FACTS: &[&str] = &[
        "ansible_host",
        "ansible_port",
        "ansible_user",
        "ansible_connection",
        "ansible_password",
        "ansible_ssh",
        "ansible_become",
        "ansible_python_interpreter",
        "ansible_private_key_file",
        "ansible_shell",
        "ansible_managed",
        "ansible_check_mode",
        "ansible_diff_mode",
        "ansible_play_",
        "ansible_run_tags",
        "ansible_skip_tags",
        "ansible_version",
        "ansible_inventory_sources",
        "ansible_limit",
        "ansible_forks",
        "ansible_verbosity",
        "ansible_search_path",
        "ansible_role_",
        "ansible_parent_role",
        "ansible_dependent_role",
        "ansible_loop",
        "ansible_index_var",
        "ansible_failed_",
        "ansible_config_file",
        "ansible_collection_name",
        "ansible_timeout",
        "ansible_pipelining",
        "ansible_remote_tmp",
        "ansible_playbook_python",
    ];
    name == "ansible_facts"
        || (name.starts_with("ansible_") && !NOT_FACTS.iter().any(|p| name.starts_with(p)))
}

/// The variables the strings inside a value use, in the order they appear.
fn template_names(v: &Value) -> Vec<String> {
    let mut texts = Vec::new();
    strings(v, &mut texts, 0);
    let mut out: Vec<String> = Vec::new();
    for t in texts.iter().filter(|t| crate::template::is_template(t)) {
        let Ok(compiled) = crate::template::env().template_from_str(t) else {
            continue;
        };
        let declared = compiled.undeclared_variables(false);
        for (n, _) in identifiers_of_template(t) {
            if declared.contains(&n) && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

fn strings(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 20 || out.len() > 1000 {
        return;
    }
    if let Some(s) = v.as_str() {
        out.push(s.to_string());
    } else if let Ok(items) = v.try_iter() {
        for k in items {
            let item = if v.kind() == minijinja::value::ValueKind::Map {
                v.get_item(&k).unwrap_or_default()
            } else {
                k
            };
            strings(&item, out, depth + 1);
        }
    }
}

/// The name in a message like `'x' is undefined`.
fn quoted_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix('\'')?;
    let end = rest.find('\'')?;
    Some(&rest[..end])
}

/// The byte offset of a position (1-based line, 1-based column in characters).
fn byte_offset(text: &str, pos: Pos) -> Option<usize> {
    let line_start = if pos.line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(pos.line - 2)?.0 + 1
    };
    let line = &text[line_start..];
    let col = line
        .char_indices()
        .nth(pos.col.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i);
    Some(line_start + col)
}

/// The position of a byte offset.
fn pos_of(text: &str, offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    Pos { line, col }
}

/// The `{{ ... }}` or `{% ... %}` around `offset`: where its inside starts, and the inside.
fn enclosing_tag(text: &str, offset: usize) -> Option<(usize, &str)> {
    let upto = (offset + 2).min(text.len());
    let upto = (0..=upto).rev().find(|i| text.is_char_boundary(*i))?;
    let open = text[..upto]
        .rfind("{{")
        .into_iter()
        .chain(text[..upto].rfind("{%"))
        .max()?;
    let close = if text[open..].starts_with("{{") {
        "}}"
    } else {
        "%}"
    };
    let inner_start = open + 2;
    let inner_end = inner_start + text[inner_start..].find(close)?;
    (offset <= inner_end + 2).then(|| (inner_start, &text[inner_start..inner_end]))
}

/// The names of all tags of a template text, with their offsets in it.
fn identifiers_of_template(text: &str) -> Vec<(String, usize)> {
    static TAG: OnceLock<regex::Regex> = OnceLock::new();
    let tag = TAG.get_or_init(|| {
        regex::Regex::new(r"(?s)\{\{(.*?)\}\}|\{%(.*?)%\}").expect("the tag pattern is valid")
    });
    tag.captures_iter(text)
        .filter_map(|c| c.get(1).or(c.get(2)))
        .flat_map(|m| {
            identifiers(m.as_str())
                .into_iter()
                .map(move |(n, at)| (n, m.start() + at))
        })
        .collect()
}

/// The names in an expression that may be variables, with their offsets: not inside string
/// literals, not attribute names (`.x`), filters (`| x`), tests (`is x`), calls (`x(`) or
/// keyword arguments (`x=`).
fn identifiers(expr: &str) -> Vec<(String, usize)> {
    static IDENT: OnceLock<regex::Regex> = OnceLock::new();
    let ident = IDENT.get_or_init(|| {
        regex::Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").expect("the name pattern is valid")
    });
    let masked = mask_strings(expr);
    let mut out = Vec::new();
    let mut last_word = "";
    let mut word_before_last = "";
    for m in ident.find_iter(&masked) {
        let before = masked[..m.start()].trim_end();
        let after = masked[m.end()..].trim_start();
        let word = m.as_str();
        let is_test = last_word == "is" || (last_word == "not" && word_before_last == "is");
        let prev_char_ok = !before.ends_with(['.', '|']);
        let attached = masked[..m.start()].ends_with(|c: char| c.is_ascii_alphanumeric());
        let call_or_kwarg =
            after.starts_with('(') || (after.starts_with('=') && !after.starts_with("=="));
        if prev_char_ok && !attached && !is_test && !call_or_kwarg && !KEYWORDS.contains(&word) {
            out.push((word.to_string(), m.start()));
        }
        word_before_last = last_word;
        last_word = word;
    }
    out
}

/// Words of Jinja's syntax that are never variables.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "elif",
    "endif",
    "for",
    "endfor",
    "set",
    "endset",
    "recursive",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "with",
    "without",
    "context",
    "import",
    "from",
    "as",
    "include",
    "block",
    "endblock",
    "macro",
    "endmacro",
    "filter",
    "endfilter",
    "raw",
    "endraw",
    "call",
    "endcall",
    "extends",
    "ignore",
    "missing",
];

/// `expr` with the inside of its string literals blanked (same length, so offsets hold).
fn mask_strings(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    out.push(c);
                    continue;
                }
                out.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_may_be_variables() {
        let names: Vec<String> = identifiers(
            " (hv[fact] | default({})).address | default(hv.ansible_host | default(host)) ",
        )
        .into_iter()
        .map(|(n, _)| n)
        .collect();
        assert_eq!(names, ["hv", "fact", "hv", "host"]);
        let names: Vec<String> =
            identifiers(" x is defined and 'y z' in lookup('env', q) and f(k=v) ")
                .into_iter()
                .map(|(n, _)| n)
                .collect();
        assert_eq!(names, ["x", "q", "v"]);
    }

    #[test]
    fn the_tag_around_an_offset() {
        let t = "a {{ x }} b {% if y %}c{% endif %}";
        assert_eq!(enclosing_tag(t, 5), Some((4, " x ")));
        assert_eq!(enclosing_tag(t, 18).map(|(_, s)| s), Some(" if y "));
        assert_eq!(pos_of("ab\ncd", 4), Pos { line: 2, col: 2 });
        assert_eq!(byte_offset("ab\ncd", Pos { line: 2, col: 2 }), Some(4));
    }

    #[test]
    fn facts_and_connection_variables() {
        assert!(is_fact("ansible_os_family"));
        assert!(is_fact("ansible_default_ipv4"));
        assert!(is_fact("ansible_facts"));
        assert!(!is_fact("ansible_host"));
        assert!(!is_fact("ansible_ssh_common_args"));
        assert!(!is_fact("app_port"));
    }
}
