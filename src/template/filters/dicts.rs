//! Filters that build or take apart mappings: `combine` (Ansible's merge_hash, with its
//! `recursive` and `list_merge` rules), `dict2items`/`items2dict`, `extract`, `subelements`,
//! `rekey_on_member`.

use super::format::py_repr;
use super::json_yaml::json_of;
use super::{err, flag, py_str, py_type, split_kwargs};
use crate::value::{self, Value};
use minijinja::Error;
use minijinja::value::{Kwargs, Rest, ValueKind, ValueOrKwargs};

pub(super) fn combine(base: Value, others: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (others, kwargs) = split_kwargs(others)?;
    let recursive = flag(&kwargs, "recursive")?;
    let list_merge: String = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or("replace".into());
    if kwargs
        .args()
        .any(|k| !matches!(k, "recursive" | "list_merge"))
    {
        return Err(err(
            "'recursive' and 'list_merge' are the only valid keyword arguments",
        ));
    }
    if !matches!(
        list_merge.as_str(),
        "replace" | "keep" | "append" | "prepend" | "append_rp" | "prepend_rp"
    ) {
        return Err(err(format!(
            "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp', not '{list_merge}'"
        )));
    }
    // Ansible flattens the terms one level, leaving out nulls (`None`, 'None', 'null'), as its
    // `flatten` does: `[d1, d2] | combine` works, `None | combine` is `{}`.
    let is_null = |v: &Value| v.is_none() || matches!(v.as_str(), Some("None" | "null"));
    let mut dicts = Vec::new();
    for term in std::iter::once(&base).chain(others.iter()) {
        if term.kind() == ValueKind::Seq {
            dicts.extend(term.try_iter()?.filter(|v| !is_null(v)));
        } else if !is_null(term) {
            dicts.push(term.clone());
        }
    }
    let Some(first) = dicts.first() else {
        return Ok(value::map(Vec::<(Value, Value)>::new()));
    };
    // An undefined value inside a term stays undefined in ansible's result, which fails when
    // the template's value is resolved: the merged JSON would turn it into null instead.
    if dicts.iter().any(crate::template::contains_undefined) {
        return Err(Error::new(
            minijinja::ErrorKind::UndefinedError,
            "combine was given an undefined value",
        ));
    }
    for d in &dicts {
        if d.kind() != ValueKind::Map {
            return Err(err(format!(
                "failed to combine variables, expected dicts but got a '{}'",
                py_type(d)
            )));
        }
    }
    let mut acc = json_of(first);
    for d in &dicts[1..] {
        merge_json(&mut acc, json_of(d), recursive, &list_merge);
    }
    Ok(value::from_json(&acc))
}

/// ansible's `merge_hash(a, b, recursive, list_merge)` on JSON: `b`'s keys win, mappings merge
/// deeply when `recursive`, lists as `list_merge` says.
pub(crate) fn merge_json(
    a: &mut serde_json::Value,
    b: serde_json::Value,
    recursive: bool,
    list_merge: &str,
) {
    let (serde_json::Value::Object(x), serde_json::Value::Object(y)) = (&mut *a, b) else {
        return;
    };
    for (k, v) in y {
        match x.get_mut(&k) {
            Some(existing) if recursive && existing.is_object() && v.is_object() => {
                merge_json(existing, v, recursive, list_merge)
            }
            Some(serde_json::Value::Array(existing)) if v.is_array() && list_merge != "replace" => {
                let serde_json::Value::Array(new) = v else {
                    continue;
                };
                match list_merge {
                    "keep" => {}
                    "append" => existing.extend(new),
                    "prepend" => {
                        let old = std::mem::take(existing);
                        *existing = new;
                        existing.extend(old);
                    }
                    "append_rp" => append_rp(existing, new),
                    "prepend_rp" => {
                        let old: Vec<_> = std::mem::take(existing)
                            .into_iter()
                            .filter(|e| !new.contains(e))
                            .collect();
                        *existing = new;
                        existing.extend(old);
                    }
                    _ => *existing = new,
                }
            }
            _ => {
                x.insert(k, v);
            }
        }
    }
}

/// merge_hash's `append_rp` for two lists: `existing`'s items that `new` does not have, then
/// `new`'s.
pub(crate) fn append_rp(existing: &mut Vec<serde_json::Value>, new: Vec<serde_json::Value>) {
    existing.retain(|e| !new.contains(e));
    existing.extend(new);
}

/// The `key_name` and `value_name` of dict2items and items2dict (every keyword used).
fn key_value_names(kwargs: &Kwargs) -> Result<(String, String), Error> {
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or("key".into());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or("value".into());
    kwargs.assert_all_used()?;
    Ok((key_name, value_name))
}

pub(super) fn dict2items(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (key_name, value_name) = key_value_names(&kwargs)?;
    if v.kind() != ValueKind::Map {
        return Err(err(format!(
            "dict2items requires a dictionary, got <class '{}'> instead.",
            py_type(&v)
        )));
    }
    let items: Vec<Value> = v
        .try_iter()?
        .map(|k| {
            let val = v.get_item(&k).unwrap_or_default();
            value::map([(key_name.as_str(), k), (value_name.as_str(), val)])
        })
        .collect();
    Ok(Value::from(items))
}

pub(super) fn items2dict(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (key_name, value_name) = key_value_names(&kwargs)?;
    if !matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return Err(err(format!(
            "items2dict requires a list, got <class '{}'> instead.",
            py_type(&v)
        )));
    }
    let mut pairs = Vec::new();
    for item in v.try_iter()? {
        if item.kind() != ValueKind::Map {
            return Err(err(format!(
                "items2dict requires a list of dictionaries, got {} instead",
                py_type(&item)
            )));
        }
        let k = item.get_item(&Value::from(key_name.as_str()))?;
        let val = item.get_item(&Value::from(value_name.as_str()))?;
        if k.is_undefined() || val.is_undefined() {
            return Err(err(format!(
                "items2dict requires each dictionary in the list to contain the keys '{key_name}' and '{value_name}', got {}",
                py_str(&item)
            )));
        }
        pairs.push((k, val));
    }
    Ok(value::map(pairs))
}

pub(super) fn extract(
    item: Value,
    container: Value,
    morekeys: Option<Value>,
) -> Result<Value, Error> {
    let mut keys = vec![item];
    match morekeys {
        None => {}
        Some(m) if m.kind() == ValueKind::Seq => keys.extend(m.try_iter()?),
        Some(m) => keys.push(m),
    }
    let mut value = container;
    for k in keys {
        if value.is_undefined() {
            return Ok(value);
        }
        value = value.get_item(&k).unwrap_or_default();
    }
    Ok(value)
}

pub(super) fn subelements(obj: Value, subelements: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let skip_missing = flag(&kwargs, "skip_missing")?;
    kwargs.assert_all_used()?;
    let elements: Vec<Value> = match obj.kind() {
        ValueKind::Map => obj
            .try_iter()?
            .map(|k| obj.get_item(&k).unwrap_or_default())
            .collect(),
        ValueKind::Seq => obj.try_iter()?.collect(),
        _ => return Err(err("obj must be a list of dicts or a nested dict")),
    };
    let path: Vec<Value> = match subelements.kind() {
        ValueKind::Seq => subelements.try_iter()?.collect(),
        ValueKind::String => subelements
            .as_str()
            .unwrap_or("")
            .split('.')
            .map(Value::from)
            .collect(),
        _ => return Err(err("subelements must be a list or a string")),
    };
    let mut out = Vec::new();
    for element in elements {
        let mut values = element.clone();
        let mut missing = false;
        for key in &path {
            if values.kind() != ValueKind::Map {
                return Err(err(format!(
                    "the key {} should point to a dictionary, got '{}'",
                    py_str(key),
                    py_str(&values)
                )));
            }
            let next = values.get_item(key).unwrap_or_default();
            if next.is_undefined() {
                if skip_missing {
                    missing = true;
                    break;
                }
                return Err(err(format!(
                    "could not find {} key in iterated item {}",
                    py_repr(key),
                    py_str(&values)
                )));
            }
            values = next;
        }
        if missing {
            continue;
        }
        if values.kind() != ValueKind::Seq {
            return Err(err(format!(
                "the key {} should point to a list, got {}",
                py_repr(path.last().unwrap_or(&Value::from(""))),
                py_repr(&values)
            )));
        }
        for v in values.try_iter()? {
            out.push(super::lists::tuple(vec![element.clone(), v]));
        }
    }
    Ok(Value::from(out))
}

/// `rekey_on_member`: a mapping of the items (of a list, or the values of a mapping) by the
/// value of their member `key`; a repeated value is an error unless `duplicates='overwrite'`.
pub(super) fn rekey_on_member(
    data: Value,
    key: Value,
    duplicates: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let duplicates = match duplicates {
        Some(d) => d,
        None => kwargs
            .get::<Option<String>>("duplicates")?
            .unwrap_or_else(|| "error".to_string()),
    };
    kwargs.assert_all_used()?;
    if duplicates != "error" && duplicates != "overwrite" {
        return Err(err(format!(
            "duplicates parameter to rekey_on_member has unknown value '{duplicates}'"
        )));
    }
    let items: Vec<Value> = match data.kind() {
        ValueKind::Map => data
            .try_iter()?
            .map(|k| data.get_item(&k).unwrap_or_default())
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => data.try_iter()?.collect(),
        _ => return Err(err("Type is not a valid list, set, or dict")),
    };
    let mut out: Vec<(Value, Value)> = Vec::new();
    for item in items {
        if item.kind() != ValueKind::Map {
            return Err(err("List item is not a valid dict"));
        }
        let elem = item.get_item(&key).unwrap_or_default();
        if elem.is_undefined() {
            return Err(err(format!("Key {} was not found.", py_repr(&key))));
        }
        match out.iter_mut().find(|(k, _)| *k == elem) {
            Some(_) if duplicates == "error" => {
                return Err(err(format!(
                    "Key {} is not unique, cannot convert to dict.",
                    py_repr(&elem)
                )));
            }
            Some(slot) => slot.1 = item,
            None => out.push((elem, item)),
        }
    }
    Ok(value::map(out))
}

#[cfg(test)]
mod tests {
    use super::super::render;

    #[test]
    fn combine_refuses_an_undefined_value_inside_a_term() {
        let ctx = crate::value::Value::from(());
        let e =
            crate::template::render_str("{{ {'a': 1} | combine({'b': nope}) }}", &ctx).unwrap_err();
        assert!(e.to_string().contains("'nope' is undefined"), "{e}");
    }

    #[test]
    fn combine_and_items() {
        assert_eq!(
            render(
                "{{ {'a': {'x': 1}, 'b': 2} | combine({'a': {'y': 3}}, recursive=true) | to_json }}"
            ),
            r#"{"a": {"x": 1, "y": 3}, "b": 2}"#
        );
        assert_eq!(
            render(
                "{{ {'c': [1, 2]} | combine({'c': [2, 3]}, list_merge='append_rp') | to_json }}"
            ),
            r#"{"c": [1, 2, 3]}"#
        );
        assert_eq!(
            render("{{ {'k': 'v'} | dict2items | items2dict | to_json }}"),
            r#"{"k": "v"}"#
        );
        assert_eq!(
            render("{{ [1, [2, [3]], none, 'None'] | flatten }}"),
            "[1, 2, 3]"
        );
    }
}
