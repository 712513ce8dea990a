//! Ansible's filters (`ansible.builtin.*` and the Jinja2 ones Ansible users rely on), registered
//! on the environment.
//!
//! Each filter follows what ansible-core 2.19 does for the arguments real playbooks use, checked
//! against the real `ansible-playbook` (tests/conformance). Where minijinja's built-in differs
//! from Jinja2 under Python (`bool`, `int`, `join`, `string`, `round`, `indent`), the Python
//! behaviour wins. Values print as Python prints them (`True`, `None`, `['a']`).
//!
//! Every filter except the few that exist to handle undefined values (`default`, `mandatory`)
//! fails on an undefined argument, as Ansible's do: `missing | upper` is an error naming the
//! variable, never an empty string. Errors name the filter.
//!
//! This file owns what every filter shares (the strictness about undefined arguments, errors
//! that name the filter, Python's `str()` and type names) and the one table that names every
//! filter: reading [`register`] tells which filters exist and which file implements each. The
//! filters themselves live in one file per topic.

mod dates;
mod dicts;
mod encoding;
mod format;
mod json_yaml;
mod lists;
mod math;
mod paths;
mod presentation;
mod random;
mod regex;
mod scalars;
pub(crate) mod text;

pub use dates::{DateTime, datetime_value, now, strftime_at};
pub(crate) use dicts::{append_rp, merge_json};
pub use encoding::{b64decode, b64encode};
pub use format::{percent_format, py_repr};
pub(crate) use lists::zip_longest_lists;
pub use paths::{basename, dirname, normpath, shell_quote};
pub use regex::py_regex;
pub use scalars::bool_filter;
pub use text::center_text;

use crate::value::{self, Value};
use minijinja::value::{Kwargs, Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};

pub(crate) fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Registers a filter that fails on undefined positional arguments, and names itself in errors.
pub(crate) fn add_strict_filter<F, Rv, Args>(
    env: &mut Environment<'static>,
    name: &'static str,
    f: F,
) where
    F: minijinja::functions::Function<Rv, Args>,
    Rv: minijinja::value::FunctionResult,
    Args: for<'a> minijinja::value::FunctionArgs<'a>,
{
    add_filter_with(env, name, f, false);
}

/// [`add_strict_filter`]; with `pass_undefined`, an undefined input is the result as it is (the
/// filters ansible-core wraps around Jinja's `map`, `select`...: `undefined | map('upper') is
/// undefined`).
fn add_filter_with<F, Rv, Args>(
    env: &mut Environment<'static>,
    name: &'static str,
    f: F,
    pass_undefined: bool,
) where
    F: minijinja::functions::Function<Rv, Args>,
    Rv: minijinja::value::FunctionResult,
    Args: for<'a> minijinja::value::FunctionArgs<'a>,
{
    let inner = Value::from_function(f);
    env.add_filter(name, move |state: &mut State, args: Rest<ValueOrKwargs>| {
        let args = args.into_values();
        if pass_undefined && let Some(input) = args.first().filter(|a| a.is_undefined()) {
            return Ok(input.clone());
        }
        reject_undefined(&args)?;
        inner
            .call(state, &args)
            .map_err(|e| name_error("filter", name, e))
    });
}

/// Positional arguments and keyword arguments of a variadic call.
pub(crate) fn split_kwargs(args: Rest<ValueOrKwargs>) -> Result<(Vec<Value>, Kwargs), Error> {
    let mut args = args.into_values();
    let kwargs = match args.last() {
        Some(l) if l.is_kwargs() => Kwargs::try_from(args.pop().unwrap_or_default())?,
        _ => Kwargs::from_iter(std::iter::empty::<(String, Value)>()),
    };
    Ok((args, kwargs))
}

/// Fails with an undefined error when any positional argument is undefined.
pub(crate) fn reject_undefined(args: &[Value]) -> Result<(), Error> {
    if args.iter().any(|a| a.is_undefined()) {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    Ok(())
}

/// Adds "the filter 'x' failed" context to an error that does not already say which one.
pub(crate) fn name_error(what: &str, name: &str, e: Error) -> Error {
    match e.kind() {
        ErrorKind::UndefinedError | ErrorKind::UnknownFilter | ErrorKind::UnknownTest => e,
        kind => {
            let detail = e.detail().unwrap_or("").to_string();
            if detail.contains(&format!("'{name}'")) {
                return e;
            }
            let text = if detail.is_empty() {
                kind.to_string()
            } else {
                detail
            };
            Error::new(kind, format!("the {what} '{name}' failed: {text}"))
        }
    }
}

/// Registers every filter on the environment.
pub fn register(env: &mut Environment<'static>) {
    // Undefined-aware: these see undefined values.
    env.add_filter("default", scalars::default_filter);
    env.add_filter("d", scalars::default_filter);
    env.add_filter("mandatory", scalars::mandatory);
    // An undefined container (or a missing key on the way) gives undefined, as ansible-core's
    // `extract` does (`'k' | extract(missing) | default('a')`); the item must be defined.
    env.add_filter(
        "extract",
        |item: Value, container: Value, morekeys: Option<Value>| {
            reject_undefined(std::slice::from_ref(&item))?;
            dicts::extract(item, container, morekeys)
        },
    );
    // `ternary` chooses before anything is used: a branch it does not choose is never looked
    // at (`false | ternary(undefined, 'x')` is 'x', as in ansible), and an undefined branch it
    // chooses stays undefined; its input must be defined.
    env.add_filter(
        "ternary",
        |v: Value, t: Value, f: Value, none: Option<Value>| {
            reject_undefined(std::slice::from_ref(&v))?;
            Ok::<_, Error>(scalars::ternary(v, t, f, none))
        },
    );
    // ansible-core's internal test collection: `finalize` makes a template result plain data
    // (tuples become lists), which baton's values already are.
    add_strict_filter(env, "ansible._protomatter.finalize", |v: Value| v);

    macro_rules! strict {
        ($($name:literal => $f:expr),* $(,)?) => {
            $( add_strict_filter(env, $name, $f); )*
        };
    }
    strict! {
        "bool" => scalars::bool_filter,
        "int" => scalars::int_filter,
        "float" => scalars::float_filter,
        "string" => |v: Value| py_str(&v),
        "lower" => |v: Value| py_str(&v).to_lowercase(),
        "urlencode" => text::urlencode,
        "replace" => |v: Value, old: Value, new: Value, count: Option<i64>| {
            let (s, old, new) = (py_str(&v), py_str(&old), py_str(&new));
            match count {
                Some(n) if n >= 0 => s.replacen(&old, &new, n as usize),
                _ => s.replace(&old, &new),
            }
        },
        "upper" => |v: Value| py_str(&v).to_uppercase(),
        // Jinja's (markupsafe's) escape. minijinja's would pass a "safe" string through, and
        // baton marks host data that way (crate::value::untrusted): that must be escaped too.
        "escape" => |v: Value| text::html_escape(&py_str(&v)),
        "e" => |v: Value| text::html_escape(&py_str(&v)),
        "join" => text::join,
        "round" => scalars::round,
        "indent" => text::indent,
        "center" => text::center,
        "truncate" => text::truncate,
        "wordcount" => |v: Value| py_str(&v).split_whitespace().count(),
        "wordwrap" => text::wordwrap,
        "format" => format::format_filter,
        "to_json" => json_yaml::to_json,
        "to_nice_json" => json_yaml::to_nice_json,
        "from_json" => json_yaml::from_json,
        "to_yaml" => json_yaml::to_yaml,
        "to_nice_yaml" => json_yaml::to_nice_yaml,
        "from_yaml" => json_yaml::from_yaml,
        "from_yaml_all" => json_yaml::from_yaml_all,
        "from_toml" => json_yaml::from_toml,
        "regex_replace" => regex::regex_replace,
        "regex_search" => regex::regex_search,
        "regex_findall" => regex::regex_findall,
        "regex_escape" => regex::regex_escape,
        "b64encode" => encoding::b64encode_filter,
        "b64decode" => encoding::b64decode_filter,
        "hash" => encoding::hash,
        "checksum" => |v: Value| encoding::digest("sha1", &v),
        "sha1" => |v: Value| encoding::digest("sha1", &v),
        "md5" => |v: Value| encoding::digest("md5", &v),
        "password_hash" => encoding::password_hash,
        "combine" => dicts::combine,
        "dict2items" => dicts::dict2items,
        "rekey_on_member" => dicts::rekey_on_member,
        "items2dict" => dicts::items2dict,
        "flatten" => lists::flatten,
        "basename" => |v: Value| paths::basename(&py_str(&v)).to_string(),
        "dirname" => |v: Value| paths::dirname(&py_str(&v)),
        "expanduser" => |v: Value| paths::expanduser(&py_str(&v)),
        "expandvars" => |v: Value| paths::expandvars(&py_str(&v)),
        "realpath" => |v: Value| paths::realpath(&py_str(&v)),
        "fileglob" => paths::fileglob,
        "relpath" => |v: Value, start: Option<Value>| paths::relpath(&py_str(&v), start.as_ref().map(py_str)),
        "path_join" => paths::path_join,
        "commonpath" => paths::commonpath,
        "splitext" => paths::splitext,
        "quote" => |v: Value| if v.is_none() { "''".to_string() } else { paths::shell_quote(&py_str(&v)) },
        "union" => lists::union,
        "intersect" => lists::intersect,
        "difference" => lists::difference,
        "symmetric_difference" => lists::symmetric_difference,
        "zip" => lists::zip,
        "zip_longest" => lists::zip_longest,
        "product" => lists::product,
        "permutations" => lists::permutations,
        "combinations" => lists::combinations,
        "random" => random::random,
        "shuffle" => random::shuffle,
        "comment" => presentation::comment,
        "type_debug" => |v: Value| py_type(&v),
        "human_readable" => presentation::human_readable,
        "human_to_bytes" => presentation::human_to_bytes,
        "to_datetime" => dates::to_datetime,
        "strftime" => dates::strftime,
        "subelements" => dicts::subelements,
        "to_uuid" => encoding::to_uuid,
        "log" => math::log,
        "pow" => math::pow,
        "root" => math::root,
        "ipaddr" => super::ipaddr::ipaddr_filter,
        "ipv4" => super::ipaddr::ipv4_filter,
        "ipv6" => super::ipaddr::ipv6_filter,
        "ansible.utils.ipaddr" => super::ipaddr::ipaddr_filter,
        "ansible.utils.ipv4" => super::ipaddr::ipv4_filter,
        "ansible.utils.ipv6" => super::ipaddr::ipv6_filter,
    }

    // minijinja's built-ins that behave as Jinja2's, made strict about undefined input too.
    macro_rules! builtin {
        ($($name:literal => $f:path),* $(,)?) => {
            $( add_strict_filter(env, $name, $f); )*
        };
    }
    builtin! {
        "title" => minijinja::filters::title,
        "capitalize" => minijinja::filters::capitalize,
        "length" => minijinja::filters::length,
        "count" => minijinja::filters::length,
        "dictsort" => minijinja::filters::dictsort,
        "items" => minijinja::filters::items,
        "reverse" => minijinja::filters::reverse,
        "trim" => minijinja::filters::trim,
        "split" => minijinja::filters::split,
        "abs" => minijinja::filters::abs,
        "attr" => minijinja::filters::attr,
        "first" => minijinja::filters::first,
        "last" => minijinja::filters::last,
        "min" => minijinja::filters::min,
        "max" => minijinja::filters::max,
        "sum" => minijinja::filters::sum,
        "sort" => minijinja::filters::sort,
        "list" => minijinja::filters::list,
        "batch" => minijinja::filters::batch,
        "slice" => minijinja::filters::slice,

        "groupby" => lists::groupby,
        "unique" => lists::unique,
    }
    // ansible-core wraps these five so that an undefined input stays undefined.
    add_filter_with(env, "select", minijinja::filters::select, true);
    add_filter_with(env, "reject", minijinja::filters::reject, true);
    add_filter_with(env, "selectattr", minijinja::filters::selectattr, true);
    add_filter_with(env, "rejectattr", minijinja::filters::rejectattr, true);
    add_filter_with(env, "map", lists::map, true);
    // Ansible's FQCN spellings of its own filters.
    for name in [
        "bool",
        "to_json",
        "to_nice_json",
        "from_json",
        "to_yaml",
        "to_nice_yaml",
        "from_yaml",
        "regex_replace",
        "regex_search",
        "regex_findall",
        "regex_escape",
        "b64encode",
        "b64decode",
        "hash",
        "checksum",
        "password_hash",
        "combine",
        "dict2items",
        "items2dict",
        "flatten",
        "ternary",
        "mandatory",
        "basename",
        "dirname",
        "quote",
        "extract",
        "unique",
        "union",
        "intersect",
        "difference",
        "symmetric_difference",
        "zip",
        "zip_longest",
        "product",
        "random",
        "shuffle",
        "comment",
        "type_debug",
        "human_readable",
        "human_to_bytes",
        "to_datetime",
        "strftime",
        "subelements",
        "split",
        "path_join",
        "commonpath",
        "realpath",
        "fileglob",
        "relpath",
        "splitext",
        "expanduser",
        "expandvars",
        "to_uuid",
        "default",
    ] {
        env.add_filter(
            format!("ansible.builtin.{name}"),
            move |state: &mut State, args: Rest<ValueOrKwargs>| {
                state.apply_filter(name, &args.into_values())
            },
        );
    }
}

/// Python's `str()` of a value, which Jinja uses wherever a filter wants text.
pub fn py_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::String => v.as_str().unwrap_or("").to_string(),
        ValueKind::None => "None".into(),
        ValueKind::Undefined => String::new(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number => py_number(v),
        _ if let Some(t) = v.downcast_object_ref::<lists::GroupTuple>() => {
            format!("({}, {})", py_repr(&t.grouper), py_repr(&t.list))
        }
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable if plain_data(v) => {
            value::python_repr(&value::to_json(v))
        }
        _ => v.to_string(),
    }
}

/// Whether a value is data (not an object that prints itself, like a date).
fn plain_data(v: &Value) -> bool {
    v.downcast_object_ref::<DateTime>().is_none()
}

/// Python's `str()` of a number.
pub fn py_number(v: &Value) -> String {
    if v.is_integer() {
        return v.to_string();
    }
    match f64::try_from(v.clone()) {
        Ok(f) => value::python_float(f),
        Err(_) => v.to_string(),
    }
}

/// Python's type names, as Ansible shows them.
/// What `mandatory` without a message fails with; the template's error path names the
/// undefined variable (ansible: "Mandatory variable 'x' not defined.").
pub(crate) const MANDATORY_UNNAMED: &str = "Mandatory variable not defined.";

pub fn py_type(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::None | ValueKind::Undefined => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number => {
            if v.is_integer() {
                "int"
            } else {
                "float"
            }
        }
        ValueKind::String => "str",
        ValueKind::Seq if v.is_tuple() => "tuple",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        ValueKind::Bytes => "bytes",
        _ if v.downcast_object_ref::<DateTime>().is_some() => "datetime",
        _ if let Some(t) = crate::value::timestamp::of(v) => t.type_name(),
        _ if crate::value::vaulted::is_vaulted(v) => {
            if crate::value::vaulted::undecryptable(v).is_some() {
                "VaultExceptionMarker"
            } else {
                "EncryptedString"
            }
        }
        _ => "object",
    }
}

/// A parameter given by position or by name, as Python allows: minijinja hands keyword
/// arguments over separately, so a filter asks for the name when the position was empty.
fn arg<'k, T>(given: Option<T>, kwargs: &'k Kwargs, name: &'k str) -> Result<Option<T>, Error>
where
    Option<T>: minijinja::value::ArgType<'k, Output = Option<T>>,
{
    match given {
        Some(v) => Ok(Some(v)),
        None => kwargs.get(name),
    }
}

fn flag(kwargs: &Kwargs, name: &str) -> Result<bool, Error> {
    Ok(kwargs
        .get::<Option<Value>>(name)?
        .map(|v| v.is_true())
        .unwrap_or(false))
}

#[cfg(test)]
/// Renders a template with no variables, for the filters' tests.
pub(super) fn render(s: &str) -> String {
    crate::template::render_text(s, &Value::from(())).unwrap()
}

#[cfg(test)]
mod tests {
    use super::render;
    use crate::value::Value;

    #[test]
    fn ternary_leaves_the_branch_it_does_not_choose_alone() {
        assert_eq!(render("{{ false | ternary(nope, 'seven') }}"), "seven");
        assert_eq!(render("{{ true | ternary('six', nope.x) }}"), "six");
        let ctx = Value::from(());
        assert!(crate::template::render_str("{{ true | ternary(nope, 1) }}", &ctx).is_err());
        assert!(crate::template::render_str("{{ nope | ternary(1, 2) }}", &ctx).is_err());
    }

    #[test]
    fn regex_escape_takes_its_type_by_keyword_and_shuffle_keeps_a_scalar() {
        assert_eq!(
            render("{{ ']]^' | regex_escape(re_type='posix_basic') }}"),
            "\\]\\]\\^"
        );
        assert_eq!(render("{{ 'a.b' | regex_escape('posix_basic') }}"), "a\\.b");
        assert_eq!(render("{{ 22 | shuffle }}"), "22");
    }

    #[test]
    fn undefined_input_is_an_error_except_for_default() {
        let ctx = Value::from(());
        assert!(crate::template::render_str("{{ nope | upper }}", &ctx).is_err());
        assert!(crate::template::render_str("{{ nope | to_json }}", &ctx).is_err());
        assert_eq!(render("{{ nope | default('d') }}"), "d");
        assert_eq!(render("{{ nope.attr | default('chain') }}"), "chain");
    }
}
