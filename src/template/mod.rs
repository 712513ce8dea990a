//! Jinja as Ansible has it.
//!
//! This module owns the one minijinja [`Environment`] of a run (with Ansible's filters from
//! [`filters`], tests from [`tests`], lookups and globals from [`lookups`], Python's methods on
//! strings, lists and dicts) and Ansible's rules for applying it: a string with no Jinja in it is
//! left as it is; a string that is one `{{ expression }}` yields the expression's own value (a
//! list stays a list, a number a number); anything else renders to a string; `when` is a bare
//! expression whose result must be a boolean (ansible-core 2.19); lists and mappings are
//! templated item by item. Errors become [`Error`]s that name what was undefined.
//!
//! Undefined values behave as in Ansible: using one (printing it, testing it, passing it to a
//! filter, comparing it) is an error, but `x is defined`, `x | default(...)` and lookups of
//! attributes on undefined values (`x.y.z is defined`) work. minijinja's strict mode gives the
//! first part; when an expression fails only because it looked up an attribute of an undefined
//! value, it is evaluated again in an environment where such lookups chain (yielding undefined),
//! so that the test or default after it decides.
//!
//! Templating never prints: a warning it raises (a lookup with `errors='warn'`) goes to the
//! [`Warnings`] collector its caller installed, and the caller shows it.

mod conditions;
mod crypt;
pub mod file;
pub mod filters;
mod ipaddr;
pub mod lookups;
mod names;
mod native;
mod prepare;
mod protomatter;
mod pycompat;
mod pyrandom;
pub mod pyyaml;
mod settings;
pub mod tests;
mod warnings;

pub use conditions::{eval_condition, truthy};
pub use lookups::Overlay;
pub use names::{Banner, render_name};
pub use settings::{Settings, configure, settings};
pub use warnings::{Scoped, Warnings, with_deprecations};

use crate::diagnostics::{Error, ErrorKind};
use crate::value::{Value, is_plain};
use minijinja::value::ValueKind;
use minijinja::{Environment, UndefinedBehavior};
use std::sync::OnceLock;

/// The shared, immutable environment: Ansible's filters, tests and syntax options.
pub fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| build_env(UndefinedBehavior::Strict, default_syntax()))
}

/// The same environment with chained lookups on undefined values (see the module docs).
fn chainable_env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| build_env(UndefinedBehavior::Chainable, default_syntax()))
}

/// Ansible renders with trim_blocks on and keeps the trailing newline of a template file when it
/// has one (the template module's defaults).
fn default_syntax() -> minijinja::syntax::SyntaxConfig {
    minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .expect("the default delimiters are valid")
}

fn build_env(
    undefined: UndefinedBehavior,
    syntax: minijinja::syntax::SyntaxConfig,
) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(undefined);
    env.set_debug(true);
    env.set_syntax(syntax);
    env.set_formatter(python_formatter);
    filters::register(&mut env);
    tests::register(&mut env);
    lookups::register(&mut env);
    protomatter::register(&mut env);
    env.set_unknown_method_callback(pycompat::call_method);
    env
}

thread_local! {
    /// The variable scopes being templated on this thread, innermost last: the template lookup
    /// renders its file against the scope of the expression that called it.
    static CONTEXTS: std::cell::RefCell<Vec<Value>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An entry on one of this room's thread-local stacks (the template contexts, the warning
/// collectors) until dropped, also when a panic unwinds.
struct StackGuard<T: 'static>(&'static std::thread::LocalKey<std::cell::RefCell<Vec<T>>>);

impl<T: 'static> StackGuard<T> {
    fn push(
        stack: &'static std::thread::LocalKey<std::cell::RefCell<Vec<T>>>,
        entry: T,
    ) -> StackGuard<T> {
        stack.with(|s| s.borrow_mut().push(entry));
        StackGuard(stack)
    }
}

impl<T: 'static> Drop for StackGuard<T> {
    fn drop(&mut self) {
        self.0.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

thread_local! {
    /// Why the last undefined value a filter made is undefined (`map(attribute=...)` on an
    /// item without it), for the error it becomes when the value is used.
    static UNDEFINED_HINT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Pushes the scope of a template being rendered. An outermost render starts with no
/// undefined hint: one left by an earlier render (`x is defined` on a variable built on
/// `undef('why')`) must not name a later, unrelated undefined value.
fn enter_context(ctx: &Value) -> StackGuard<Value> {
    if CONTEXTS.with(|c| c.borrow().is_empty()) {
        UNDEFINED_HINT.with(|h| h.borrow_mut().take());
    }
    StackGuard::push(&CONTEXTS, ctx.clone())
}

/// Records why a filter's result holds an undefined value (see [`UNDEFINED_HINT`]).
pub(crate) fn note_undefined(reason: String) {
    UNDEFINED_HINT.with(|h| *h.borrow_mut() = Some(reason));
}

/// Why the last undefined value was made, left in place: a function that passes one on
/// (`lookup('env', ..., default=undef())`) may say better.
pub(crate) fn peek_undefined_hint() -> Option<String> {
    UNDEFINED_HINT.with(|h| h.borrow().clone())
}

fn take_undefined_hint() -> Option<String> {
    UNDEFINED_HINT.with(|h| h.borrow_mut().take())
}

/// The scope of the innermost template being rendered on this thread.
pub(crate) fn current_context() -> Option<Value> {
    CONTEXTS.with(|c| c.borrow().last().cloned())
}

/// Prints values the way Jinja under Python does: `True`, `None`, `['a', 1]`.
fn python_formatter(
    out: &mut minijinja::Output,
    _state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    let text = match value.kind() {
        ValueKind::String => {
            let text = value.as_str().unwrap_or("");
            native::printed(out, value, text);
            return out.write_str(text).map_err(write_err);
        }
        // Ansible 2.19 prints a bare None as nothing (inside a list it is still `None`).
        ValueKind::None => {
            native::printed(out, value, "");
            return Ok(());
        }
        ValueKind::Undefined => {
            return Err(minijinja::Error::from(minijinja::ErrorKind::UndefinedError));
        }
        _ if let Some(e) = crate::value::vaulted::undecryptable(value) => {
            return Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                e.message,
            ));
        }
        _ if value.downcast_object_ref::<filters::DateTime>().is_some() => value
            .downcast_object_ref::<filters::DateTime>()
            .map(filters::DateTime::py_str)
            .unwrap_or_default(),
        _ => filters::py_str(value),
    };
    native::printed(out, value, &text);
    out.write_str(&text).map_err(write_err)
}

fn write_err(_: std::fmt::Error) -> minijinja::Error {
    minijinja::Error::new(
        minijinja::ErrorKind::WriteFailure,
        "cannot write the output",
    )
}

/// Whether a string has any Jinja in it at all.
pub fn is_template(s: &str) -> bool {
    crate::value::looks_like_template(s)
}

/// If the whole string is a single `{{ expression }}`, the expression.
pub fn single_expression(s: &str) -> Option<&str> {
    prepare::single_expression(s)
}

/// Templates a string the way Ansible does. `ctx` is the variable scope.
pub fn render_str(s: &str, ctx: &Value) -> Result<Value, Error> {
    if !is_template(s) {
        return Ok(Value::from(s));
    }
    // A folded `>` scalar `"{{ expr }}\n"` is still one expression and keeps its type, as in
    // ansible-core (a longer template keeps its trailing newline).
    if let Some(expr) = single_expression(s) {
        let v = eval_in_source(&prepare::prepare_expression(expr, true), ctx, s)?;
        return Ok(made_by_template(expr, v));
    }
    // Jinja drops the one trailing newline, then ansible puts it back on a string result.
    if let Some(expr) = s.strip_suffix('\n').and_then(single_expression) {
        let v = eval_in_source(&prepare::prepare_expression(expr, true), ctx, s)?;
        return Ok(match v.as_str() {
            Some(text) if v.kind() == ValueKind::String => {
                Value::from_safe_string(format!("{text}\n"))
            }
            _ => v,
        });
    }
    // The output of one printed node keeps its type, as in ansible (`native`); text a template
    // made is data, never trusted as a template again.
    native::render(
        || render_template(&prepare::prepare_template(s), ctx, s),
        |t| t,
    )
    .map(|v| match v.as_str() {
        Some(text) if v.kind() == ValueKind::String && !v.is_safe() => {
            Value::from_safe_string(text.to_string())
        }
        _ => v,
    })
}

/// What a one-expression template gave, as data: text a template made is never trusted as a
/// template or an expression again (ansible 2.19 leaves `TrustedAsTemplate` off it), so a
/// string result is marked untrusted ([`crate::value::untrusted`]'s mark), unless the
/// expression only names a variable: then the value is the variable's own, and keeps whatever
/// trust it had (`debug: var: "{{ item }}"` over the playbook's own names works,
/// `var: "{{ 'name' }}"` does not). Lists and mappings are left as they are: their strings are
/// the variables' own, or were marked when they were made.
fn made_by_template(expr: &str, v: Value) -> Value {
    match v.as_str() {
        Some(text) if !v.is_safe() && !prepare::is_variable_path(expr) => {
            Value::from_safe_string(text.to_string())
        }
        _ => v,
    }
}

/// Evaluates a bare expression against a scope; undefined results are errors.
pub(crate) fn eval_expression(expr: &str, ctx: &Value) -> Result<Value, Error> {
    eval_in_source(expr, ctx, expr)
}

/// minijinja's evaluation of an expression, chaining lookups on undefined values where the
/// strict environment refused one (see the module docs). The caller has pushed the context.
fn evaluate(expr: &str, ctx: &Value) -> Result<Value, minijinja::Error> {
    take_undefined_hint();
    let eval = |env: &'static Environment<'static>| {
        env.compile_expression(expr)
            .and_then(|compiled| compiled.eval(ctx.clone()))
    };
    match eval(env()) {
        Err(e) if is_chain_error(&e) => eval(chainable_env()),
        other => other,
    }
}

fn eval_in_source(expr: &str, ctx: &Value, source: &str) -> Result<Value, Error> {
    let _guard = enter_context(ctx);
    let value = evaluate(expr, ctx).map_err(|e| convert_error_in(e, source, ctx))?;
    if value.is_undefined() {
        return Err(undefined_error(expr, source, ctx));
    }
    if let Some(e) = crate::value::vaulted::undecryptable(&value) {
        return Err(e.context(format!("while templating '{source}'")));
    }
    if contains_undefined(&value) {
        let reason = take_undefined_hint().unwrap_or_else(|| first_undefined_name(expr, ctx));
        return Err(Error::new(ErrorKind::Undefined, reason)
            .context(format!("while templating '{source}'")));
    }
    Ok(value)
}

/// Evaluates a bare expression as ansible-core's `ReplacingMarkerBehavior` lets an action do
/// (`ansible._protomatter.debug`): an undefined result is no error but `Ok(Err(why))`, which
/// the caller shows in its place; other errors are errors.
pub fn eval_expression_or_undefined(
    expr: &str,
    ctx: &Value,
) -> Result<Result<Value, String>, Error> {
    let _guard = enter_context(ctx);
    match evaluate(expr, ctx) {
        Ok(v) if v.is_undefined() => Ok(Err(
            take_undefined_hint().unwrap_or_else(|| describe_undefined(expr, ctx))
        )),
        Ok(v) if contains_undefined(&v) => Ok(Err(
            take_undefined_hint().unwrap_or_else(|| first_undefined_name(expr, ctx))
        )),
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.kind() == minijinja::ErrorKind::UndefinedError => Ok(Err(take_undefined_hint(
        )
        .unwrap_or_else(|| convert_error_in(e, expr, ctx).message))),
        Err(e) => Err(convert_error_in(e, expr, ctx)),
    }
}

/// Templates a string to a string: file templates and places where only text makes sense.
/// Backslashes in string literals keep Jinja's meaning here (as in Ansible's template module).
pub fn render_text(s: &str, ctx: &Value) -> Result<String, Error> {
    if !is_template(s) {
        return Ok(s.to_string());
    }
    render_template(s, ctx, s)
}

/// Renders a template file's text as the template module does; an error points at the file,
/// line and column where rendering failed (`baton template`).
pub fn render_file(
    source: &std::sync::Arc<crate::diagnostics::Source>,
    ctx: &Value,
) -> Result<String, Error> {
    let text = source.text.as_str();
    let _guard = enter_context(ctx);
    let result = match env().render_str(text, ctx.clone()) {
        Err(e) if is_chain_error(&e) => chainable_env().render_str(text, ctx.clone()),
        other => other,
    };
    result.map_err(|e| {
        let pos = error_pos(&e, text);
        let err = convert_error_in(e, "", ctx);
        match pos {
            Some(pos) => err.at(&crate::diagnostics::Span::point(source.clone(), pos)),
            None => err,
        }
    })
}

/// Where in `text` a rendering error is: the start of its range (or its line).
fn error_pos(e: &minijinja::Error, text: &str) -> Option<crate::diagnostics::Pos> {
    if let Some(r) = e.range().filter(|r| r.start <= text.len())
        && text.is_char_boundary(r.start)
    {
        let before = &text[..r.start];
        let line = before.matches('\n').count() + 1;
        let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count()
            + 1;
        return Some(crate::diagnostics::Pos { line, col });
    }
    e.line()
        .map(|line| crate::diagnostics::Pos { line, col: 1 })
}

fn render_template(s: &str, ctx: &Value, source: &str) -> Result<String, Error> {
    let _guard = enter_context(ctx);
    match env().render_str(s, ctx.clone()) {
        Err(e) if is_chain_error(&e) => chainable_env().render_str(s, ctx.clone()),
        other => other,
    }
    .map_err(|e| convert_error_in(e, source, ctx))
}

/// An attribute/item path: `a.b`, `a['b'].c`, `a[0]`.
fn path_regex() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r#"^\s*[A-Za-z_][A-Za-z0-9_]*(?:\s*(?:\.\s*[A-Za-z0-9_]+|\[\s*(?:'[^']*'|"[^"]*"|-?[0-9]+|[A-Za-z_][A-Za-z0-9_]*)\s*\]))*\s*$"#,
        )
        .expect("the path pattern is valid")
    })
}

/// Whether a strict-mode failure came from looking up an attribute of an undefined value.
fn is_chain_error(e: &minijinja::Error) -> bool {
    if e.kind() != minijinja::ErrorKind::UndefinedError {
        return false;
    }
    let text = e
        .range()
        .and_then(|r| e.template_source().and_then(|s| s.get(r)));
    match text {
        Some(t) => {
            let t = t.trim();
            // minijinja reports either the whole path or just its trailing `.x.y` part.
            // A lookup on a parenthesised expression (`(x | extract(c)).y`): its path part.
            let t = match t.rfind(')') {
                Some(i) if t.starts_with('(') => &t[i + 1..],
                _ => t,
            };
            let t = if t.starts_with('.') || t.starts_with('[') {
                format!("x{t}")
            } else {
                t.to_string()
            };
            path_regex().is_match(&t) && (t.contains('.') || t.contains('['))
        }
        None => false,
    }
}

/// Whether a plain list or mapping holds an undefined value somewhere.
pub(crate) fn contains_undefined(v: &Value) -> bool {
    match v.kind() {
        ValueKind::Undefined => true,
        ValueKind::Seq | ValueKind::Map if !is_plain(v) => false,
        ValueKind::Seq => v
            .try_iter()
            .map(|mut it| it.any(|i| contains_undefined(&i)))
            .unwrap_or(false),
        ValueKind::Map => v
            .try_iter()
            .map(|mut it| it.any(|k| contains_undefined(&v.get_item(&k).unwrap_or_default())))
            .unwrap_or(false),
        _ => false,
    }
}

/// Segments of a path expression: the root name, then keys.
fn path_segments(expr: &str) -> Option<(String, Vec<Value>)> {
    if !path_regex().is_match(expr) {
        return None;
    }
    static SEG: OnceLock<regex::Regex> = OnceLock::new();
    let seg = SEG.get_or_init(|| {
        regex::Regex::new(
            r#"\.\s*([A-Za-z0-9_]+)|\[\s*(?:'([^']*)'|"([^"]*)"|(-?[0-9]+)|([A-Za-z_][A-Za-z0-9_]*))\s*\]"#,
        )
        .expect("the segment pattern is valid")
    });
    let expr = expr.trim();
    let root_end = expr
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(expr.len());
    let root = expr[..root_end].to_string();
    let mut keys = Vec::new();
    for c in seg.captures_iter(&expr[root_end..]) {
        if let Some(m) = c.get(1).or(c.get(2)).or(c.get(3)) {
            keys.push(Value::from(m.as_str()));
        } else if let Some(m) = c.get(4) {
            keys.push(Value::from(m.as_str().parse::<i64>().unwrap_or(0)));
        } else {
            // `a[b]`: the key is a variable; not worth resolving for a message.
            return None;
        }
    }
    Some((root, keys))
}

/// Ansible's wording for an undefined expression: "'x' is undefined", or "object of type
/// 'dict' has no attribute 'y'" for the first missing step of a path.
fn describe_undefined(expr: &str, ctx: &Value) -> String {
    let Some((root, keys)) = path_segments(expr) else {
        return first_undefined_name(expr, ctx);
    };
    let mut cur = ctx.get_attr(&root).unwrap_or_default();
    if cur.is_undefined() {
        return format!("'{root}' is undefined");
    }
    for k in keys {
        let next = cur.get_item(&k).unwrap_or_default();
        if next.is_undefined() {
            return match k.as_str() {
                Some(name) => format!(
                    "object of type '{}' has no attribute '{name}'",
                    filters::py_type(&cur)
                ),
                None => format!("{} object has no element {}", filters::py_type(&cur), k),
            };
        }
        cur = next;
    }
    format!("'{}' is undefined", expr.trim())
}

/// The first variable of an expression that the scope does not define, in Ansible's words.
fn first_undefined_name(expr: &str, ctx: &Value) -> String {
    match first_undefined(expr, ctx) {
        Some(n) => format!("'{n}' is undefined"),
        None => format!("'{}' is undefined", expr.trim()),
    }
}

/// The first variable of an expression that the scope does not define.
fn first_undefined(expr: &str, ctx: &Value) -> Option<String> {
    if let Ok(compiled) = env().compile_expression(expr) {
        let mut names: Vec<String> = compiled.undeclared_variables(false).into_iter().collect();
        names.sort_by_key(|n| expr.find(n.as_str()).unwrap_or(usize::MAX));
        for n in names {
            let defined = ctx.get_attr(&n).is_ok_and(|v| !v.is_undefined())
                || env().globals().any(|(g, _)| g == n);
            if !defined
                && !matches!(
                    n.as_str(),
                    "lookup"
                        | "query"
                        | "q"
                        | "now"
                        | "dict"
                        | "range"
                        | "undef"
                        | "namespace"
                        | "loop"
                        | "true"
                        | "false"
                        | "none"
                        | "True"
                        | "False"
                        | "None"
                )
            {
                return Some(n);
            }
        }
    }
    None
}

/// Templates every string inside a value; `!unsafe` strings (marked safe) are left alone.
pub fn render_value(v: &Value, ctx: &Value) -> Result<Value, Error> {
    // An inline `!vault` value is decrypted here, where it is first used (crate::vault::value).
    if let Some(plain) = crate::value::vaulted::reveal(v) {
        return plain;
    }
    match v.kind() {
        ValueKind::String if !v.is_safe() => render_str(v.as_str().unwrap_or(""), ctx),
        ValueKind::Seq | ValueKind::Map if !is_plain(v) => Ok(v.clone()),
        ValueKind::Seq => {
            if !needs_templating(v) {
                return Ok(v.clone());
            }
            let items: Result<Vec<Value>, Error> = v
                .try_iter()
                .map_err(|e| convert_error(e, ""))?
                .map(|item| render_value(&item, ctx))
                .collect();
            Ok(Value::from(items?))
        }
        ValueKind::Map => {
            if !needs_templating(v) {
                return Ok(v.clone());
            }
            let mut pairs = Vec::new();
            for k in v.try_iter().map_err(|e| convert_error(e, ""))? {
                let item = v.get_item(&k).unwrap_or_default();
                let key = match k.as_str() {
                    Some(s) if !k.is_safe() && is_template(s) => render_str(s, ctx)?,
                    _ => k,
                };
                pairs.push((key, render_value(&item, ctx)?));
            }
            Ok(crate::value::map(pairs))
        }
        _ => Ok(v.clone()),
    }
}

/// Whether any string inside a value has Jinja in it.
pub fn needs_templating(v: &Value) -> bool {
    needs_templating_once(v, &mut std::collections::HashSet::new())
}

/// [`needs_templating`], looking into each list or mapping once however often it appears
/// (`seen` holds their addresses): YAML aliases share them (`crate::yaml`), and asking about
/// a "billion laughs" must cost its size in memory, not its size expanded. A collection met
/// again is answered "no": had it held a template, the search would have stopped there.
fn needs_templating_once(v: &Value, seen: &mut std::collections::HashSet<usize>) -> bool {
    if crate::value::vaulted::is_vaulted(v) {
        return true;
    }
    let address = v
        .downcast_object_ref::<Vec<Value>>()
        .map(|s| s as *const Vec<Value> as usize)
        .or_else(|| {
            v.downcast_object_ref::<indexmap::IndexMap<Value, Value>>()
                .map(|m| m as *const indexmap::IndexMap<Value, Value> as usize)
        });
    match v.kind() {
        ValueKind::String => !v.is_safe() && v.as_str().is_some_and(is_template),
        ValueKind::Seq | ValueKind::Map if address.is_none() => false,
        _ if address.is_some_and(|a| !seen.insert(a)) => false,
        ValueKind::Seq => v
            .try_iter()
            .map(|mut it| it.any(|i| needs_templating_once(&i, seen)))
            .unwrap_or(false),
        ValueKind::Map => v
            .try_iter()
            .map(|mut it| {
                it.any(|k| {
                    needs_templating_once(&k, seen)
                        || needs_templating_once(&v.get_item(&k).unwrap_or_default(), seen)
                })
            })
            .unwrap_or(false),
        _ => false,
    }
}

fn undefined_error(expr: &str, source: &str, ctx: &Value) -> Error {
    // A hint says why better than the expression can (`undef('why')`, the env lookup's).
    let why = take_undefined_hint().unwrap_or_else(|| describe_undefined(expr, ctx));
    Error::new(ErrorKind::Undefined, why).context(format!("while templating '{source}'"))
}

/// Turns a minijinja error into baton's, naming the undefined expression where there is one.
pub fn convert_error(e: minijinja::Error, source: &str) -> Error {
    convert_error_in(e, source, &Value::from(()))
}

/// Whether `span` (what minijinja's error points at) starts with a name `source` uses as a test
/// (`is [not] NAME`) or a filter (`| NAME`), not as a variable.
fn names_test_or_filter(span: &str, source: &str) -> bool {
    let name: String = span
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    if name.is_empty() {
        return false;
    }
    let pattern = format!(r"(\bis\s+(not\s+)?|\|\s*){}\b", regex::escape(&name));
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(source))
}

fn convert_error_in(e: minijinja::Error, source: &str, ctx: &Value) -> Error {
    use minijinja::ErrorKind as K;
    let what = e
        .range()
        .and_then(|r| e.template_source().and_then(|s| s.get(r)))
        .map(str::to_string);
    let message = match (e.kind(), &what) {
        (K::InvalidOperation, _) if e.detail().and_then(python_zero_division).is_some() => e
            .detail()
            .and_then(python_zero_division)
            .unwrap_or_default()
            .to_string(),
        (K::UndefinedError, _)
            if e.detail()
                .is_some_and(|d| d.starts_with('`') && d.ends_with("` is undefined")) =>
        {
            let d = e.detail().unwrap_or("");
            describe_undefined(&d[1..d.len() - "` is undefined".len()], ctx)
        }
        (_, Some(_)) if e.detail() == Some(filters::MANDATORY_UNNAMED) => {
            match first_undefined(strip_braces(source), ctx) {
                Some(n) => format!("Mandatory variable '{n}' not defined."),
                None => "Mandatory variable not defined.".to_string(),
            }
        }
        (K::UndefinedError, _) if e.detail().is_some_and(|d| !d.contains("undefined value")) => {
            e.detail().unwrap_or("").to_string()
        }
        // The span minijinja blames may be a test or filter that got the undefined value
        // (`x is match('a')`, `x | upper`): the undefined name is a variable of the template.
        (K::UndefinedError, Some(expr)) if names_test_or_filter(strip_braces(expr), source) => {
            first_undefined_name(strip_braces(source), ctx)
        }
        (K::UndefinedError, Some(expr)) => describe_undefined(strip_braces(expr), ctx),
        (K::UndefinedError, None) => first_undefined_name(strip_braces(source), ctx),
        (K::UnknownFilter, _) => {
            format!("template error: {}", e.detail().unwrap_or("unknown filter"))
        }
        (K::UnknownTest, _) => format!("template error: {}", e.detail().unwrap_or("unknown test")),
        (K::UnknownFunction, _) => format!(
            "template error: {}",
            e.detail().unwrap_or("unknown function")
        ),
        (K::SyntaxError, _) => format!(
            "template syntax error: {}",
            e.detail().unwrap_or("invalid syntax")
        ),
        _ => match (e.detail(), &what) {
            (Some(d), Some(w)) => format!("{} in '{w}': {d}", kind_text(e.kind())),
            (Some(d), None) => format!("{}: {d}", kind_text(e.kind())),
            (None, _) => e.kind().to_string(),
        },
    };
    let kind = match e.kind() {
        K::UndefinedError => ErrorKind::Undefined,
        _ => ErrorKind::Template,
    };
    let mut err = Error::new(kind, message);
    if !source.is_empty() {
        err = err.context(format!("while templating '{source}'"));
    }
    err
}

/// Python's ZeroDivisionError text for minijinja's "unable to calculate A OP 0".
fn python_zero_division(detail: &str) -> Option<&'static str> {
    let calc = detail.strip_prefix("unable to calculate ")?;
    let mut words = calc.rsplitn(3, ' ');
    let (b, op, a) = (words.next()?, words.next()?, words.next()?);
    if b.parse::<f64>().ok()? != 0.0 {
        return None;
    }
    let float = a.contains('.') || b.contains('.');
    Some(match (op, float) {
        ("/", _) => "division by zero",
        ("//", false) => "integer division or modulo by zero",
        ("//", true) => "float floor division by zero",
        ("%", false) => "integer modulo by zero",
        ("%", true) => "float modulo",
        _ => return None,
    })
}

/// `{{ x }}` -> `x`, for messages about an emitted expression.
fn strip_braces(s: &str) -> &str {
    let t = s.trim();
    single_expression(t).unwrap_or(t)
}

fn kind_text(kind: minijinja::ErrorKind) -> String {
    kind.to_string()
}

#[cfg(test)]
mod rendering_tests {
    use super::*;
    use crate::value::map;

    fn ctx() -> Value {
        map([
            ("n", Value::from(3)),
            (
                "items",
                Value::from(vec![Value::from("a"), Value::from("b")]),
            ),
            ("name", Value::from("web")),
        ])
    }

    #[test]
    fn a_single_expression_with_a_trailing_newline_keeps_its_type() {
        let ctx = crate::value::map([("xs", Value::from(vec![Value::from(1)]))]);
        let v = render_str("{{ xs + [2] }}\n", &ctx).unwrap();
        assert!(
            matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable),
            "{v:?}"
        );
        assert_eq!(v.len(), Some(2), "{v:?}");
        assert_eq!(
            render_str("a {{ 1 }}\n", &ctx).unwrap().as_str(),
            Some("a 1\n")
        );
    }

    #[test]
    fn single_expressions_keep_their_type() {
        assert_eq!(render_str("{{ n + 1 }}", &ctx()).unwrap().as_i64(), Some(4));
        assert_eq!(render_str("{{ items }}", &ctx()).unwrap().len(), Some(2));
        assert_eq!(
            render_str("host-{{ name }}", &ctx()).unwrap().as_str(),
            Some("host-web")
        );
        assert_eq!(render_str("plain", &ctx()).unwrap().as_str(), Some("plain"));
    }

    #[test]
    fn undefined_names_are_named() {
        let err = render_str("{{ missing }}", &ctx()).unwrap_err();
        assert!(err.message.contains("'missing' is undefined"), "{err}");
        // The variable, not the test or filter that got its undefined value.
        for t in ["{{ missing is match('a') }}", "{{ missing | upper }}"] {
            let err = render_str(t, &ctx()).unwrap_err();
            assert!(
                err.message.starts_with("'missing' is undefined"),
                "{t}: {err}"
            );
        }
        let err = render_str("x {{ name.nope.deeper }} y", &ctx()).unwrap_err();
        assert!(err.message.contains("undefined"), "{err}");
    }

    #[test]
    fn data_marked_untrusted_is_never_rendered_and_escape_still_escapes() {
        let evil = crate::value::untrusted(Value::from("{{ n }} <b>"));
        assert_eq!(
            render_value(&evil, &ctx()).unwrap().as_str(),
            Some("{{ n }} <b>")
        );
        let ctx = map([("d", evil)]);
        assert_eq!(
            render_str("{{ d | e }}", &ctx).unwrap().as_str(),
            Some("{{ n }} &lt;b&gt;")
        );
    }

    #[test]
    fn range_is_python_range_without_minijinja_cap() {
        let c = ctx();
        assert_eq!(
            render_text("{{ range(3) | list }}", &c).unwrap(),
            "[0, 1, 2]"
        );
        assert_eq!(
            render_text("{{ range(5, 0, -2) | list }}", &c).unwrap(),
            "[5, 3, 1]"
        );
        assert_eq!(
            render_text("{{ range(1, 10, 4) | list }}", &c).unwrap(),
            "[1, 5, 9]"
        );
        assert_eq!(
            render_text("{{ range(200000) | length }}", &c).unwrap(),
            "200000"
        );
        assert!(render_str("{{ range(1, 2, 0) }}", &c).is_err());
        let err = render_str("{{ range(10 ** 12) | length }}", &c).unwrap_err();
        assert!(err.message.contains("more than"), "{err}");
    }

    #[test]
    fn conditions_are_bare_expressions() {
        assert!(eval_condition(&Value::from("n > 2"), &ctx()).unwrap());
        assert!(!eval_condition(&Value::from("'no' | bool"), &ctx()).unwrap());
        assert!(eval_condition(&Value::from("missing is not defined"), &ctx()).unwrap());
    }
}
