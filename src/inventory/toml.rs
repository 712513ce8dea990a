//! TOML inventories (`*.toml`), as Ansible's `toml` plugin reads them, and TOML values as data.
//!
//! The document is a table of group names, each a table of `vars` (a table), `children` (an
//! array of group names) and `hosts` (a table of host patterns to their variables):
//!
//! ```toml
//! [web.hosts."www[01:02]"]
//! http_port = 8080
//! [all.vars]
//! ntp = "time.example.com"
//! ```
//!
//! Keys keep the order written (Python's `tomllib` keeps it too), which decides the order of
//! groups and hosts. What Ansible only warns about (a group that is not a table, an unknown key)
//! is a warning; what fails there fails here, at the TOML parser's line and column for syntax.

use super::{Inventory, address};
use crate::diagnostics::{Error, ErrorKind, Pos, Source, Span};
use crate::value::Value;
use std::sync::Arc;

/// Parses a TOML document into a table, with the TOML parser's error at its line and column.
pub fn load(source: &Arc<Source>) -> Result<::toml::Table, Error> {
    source.text.parse::<::toml::Table>().map_err(|e| {
        let mut err = Error::new(
            ErrorKind::Syntax,
            format!(
                "TOML file '{}' is invalid: {}",
                source.name,
                e.message().trim_end()
            ),
        );
        if let Some(range) = e.span() {
            err = err.at(&Span::point(
                source.clone(),
                pos_at(&source.text, range.start),
            ));
        }
        err
    })
}

/// The line and column (1-based, in characters) of a byte offset.
fn pos_at(text: &str, offset: usize) -> Pos {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Pos { line, col }
}

/// A TOML value as a variable: tables keep their order, date-times are their TOML text.
pub fn to_value(v: &::toml::Value) -> Value {
    match v {
        ::toml::Value::String(s) => Value::from(s.as_str()),
        ::toml::Value::Integer(i) => Value::from(*i),
        ::toml::Value::Float(f) => Value::from(*f),
        ::toml::Value::Boolean(b) => Value::from(*b),
        ::toml::Value::Datetime(d) => Value::from(d.to_string()),
        ::toml::Value::Array(items) => Value::from(items.iter().map(to_value).collect::<Vec<_>>()),
        ::toml::Value::Table(t) => table_value(t),
    }
}

/// A TOML table as a mapping value.
pub fn table_value(t: &::toml::Table) -> Value {
    crate::value::map(t.iter().map(|(k, v)| (k.as_str(), to_value(v))))
}

/// Python's name of a TOML value's type, as `type(data)` prints it in Ansible's messages.
fn type_name(v: &::toml::Value) -> &'static str {
    match v {
        ::toml::Value::String(_) => "<class 'str'>",
        ::toml::Value::Integer(_) => "<class 'int'>",
        ::toml::Value::Float(_) => "<class 'float'>",
        ::toml::Value::Boolean(_) => "<class 'bool'>",
        ::toml::Value::Datetime(_) => "<class 'datetime.datetime'>",
        ::toml::Value::Array(_) => "<class 'list'>",
        ::toml::Value::Table(_) => "<class 'dict'>",
    }
}

/// Reads a TOML inventory into `inv`.
pub fn parse(source: &Arc<Source>, inv: &mut Inventory) -> Result<(), Error> {
    let data = load(source)?;
    let fail = |msg: String| Error::new(ErrorKind::Syntax, format!("{}: {msg}", source.name));
    if data.is_empty() {
        return Err(fail("Parsed empty TOML file".into()));
    }
    if data.get("plugin").is_some_and(truthy) {
        return Err(fail(
            "Plugin configuration TOML file, not TOML inventory".into(),
        ));
    }
    for (name, group) in &data {
        parse_group(inv, name, Some(group)).map_err(fail)?;
    }
    Ok(())
}

/// Python's truth of a TOML value (no TOML value is None).
fn truthy(v: &::toml::Value) -> bool {
    match v {
        ::toml::Value::String(s) => !s.is_empty(),
        ::toml::Value::Integer(i) => *i != 0,
        ::toml::Value::Float(f) => *f != 0.0,
        ::toml::Value::Boolean(b) => *b,
        ::toml::Value::Datetime(_) => true,
        ::toml::Value::Array(a) => !a.is_empty(),
        ::toml::Value::Table(t) => !t.is_empty(),
    }
}

fn parse_group(
    inv: &mut Inventory,
    name: &str,
    data: Option<&::toml::Value>,
) -> Result<(), String> {
    let table = match data {
        None => None,
        Some(::toml::Value::Table(t)) => Some(t),
        Some(_) => {
            inv.warnings.push(format!(
                "Skipping '{name}' as this is not a valid group definition"
            ));
            return Ok(());
        }
    };
    inv.add_group(name)?;
    let Some(table) = table else {
        return Ok(());
    };
    for (key, value) in table {
        match (key.as_str(), value) {
            ("vars", ::toml::Value::Table(vars)) => {
                for (k, v) in vars {
                    inv.set_variable(name, k, to_value(v))?;
                }
            }
            ("vars", other) => {
                return Err(format!(
                    "Invalid \"vars\" entry for \"{name}\" group, requires a dict, found \"{}\" instead.",
                    type_name(other)
                ));
            }
            ("children", ::toml::Value::Array(children)) => {
                for child in children {
                    let ::toml::Value::String(child_name) = child else {
                        return Err(format!(
                            "Unable to add group {child:?}: Invalid group name supplied, expected a string but got {}",
                            type_name(child)
                        ));
                    };
                    parse_group(inv, child_name, None)?;
                    inv.add_child_any(name, child_name)?;
                }
            }
            ("children", other) => {
                return Err(format!(
                    "Invalid \"children\" entry for \"{name}\" group, requires a list, found \"{}\" instead.",
                    type_name(other)
                ));
            }
            ("hosts", ::toml::Value::Table(hosts)) => {
                for (pattern, vars) in hosts {
                    parse_host(inv, name, pattern, vars)?;
                }
            }
            ("hosts", other) => {
                return Err(format!(
                    "Invalid \"hosts\" entry for \"{name}\" group, requires a dict, found \"{}\" instead.",
                    type_name(other)
                ));
            }
            _ => inv.warnings.push(format!(
                "Skipping unexpected key \"{key}\" in group \"{name}\", only \"vars\", \"children\" and \"hosts\" are valid"
            )),
        }
    }
    Ok(())
}

fn parse_host(
    inv: &mut Inventory,
    group: &str,
    pattern: &str,
    vars: &::toml::Value,
) -> Result<(), String> {
    let expanded = address::expand_hostpattern(pattern)?;
    let ::toml::Value::Table(vars) = vars else {
        return Err(format!(
            "Invalid data for host '{pattern}': expected a table, got {}",
            type_name(vars)
        ));
    };
    for host in &expanded.names {
        inv.add_host_in(host, Some(group), expanded.port)?;
        for (k, v) in vars {
            inv.set_variable(host, k, to_value(v))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_inv(text: &str) -> Result<Inventory, Error> {
        let mut inv = Inventory::default();
        parse(&Source::new("inv.toml", text), &mut inv)?;
        inv.finish();
        Ok(inv)
    }

    #[test]
    fn groups_hosts_children_and_vars() {
        let inv = load_inv(
            "[web]\nchildren = [\"east\"]\n[web.vars]\nx = 1\n[web.hosts.\"w[1:2]:2222\"]\na = \"b\"\n[east.hosts.e1]\n",
        )
        .unwrap();
        assert_eq!(inv.group_hosts("web"), vec!["w1", "w2", "e1"]);
        assert_eq!(inv.hosts["w2"].vars["ansible_port"].as_i64(), Some(2222));
        assert_eq!(inv.groups["web"].vars["x"].as_i64(), Some(1));
    }

    #[test]
    fn syntax_errors_point_at_the_line() {
        let err = load_inv("[web]\nx = = 1\n").unwrap_err();
        assert!(err.to_string().contains("inv.toml:2:"), "{err}");
        let err = load_inv("[web]\nhosts = 1\n").unwrap_err();
        assert!(err.message.contains("requires a dict"), "{err}");
        assert!(load_inv("").is_err());
    }
}
