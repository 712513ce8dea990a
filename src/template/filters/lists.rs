//! List filters of Ansible's and Python's `itertools`: `flatten`, the set operations (`union`,
//! `intersect`, ...), `zip`, `zip_longest`, `product`, `permutations`, `combinations`. Results
//! keep Python's order wherever Python's order is defined.

use super::format::as_int;
use super::{arg, err, split_kwargs};
use crate::value::Value;
use minijinja::Error;
use minijinja::value::{Kwargs, Rest, ValueKind, ValueOrKwargs};

/// Jinja's `groupby`: minijinja's groups, each as Python's `(grouper, list)` named tuple, which
/// prints as a tuple and answers to `.grouper` and `.list`.
pub(super) fn groupby(v: Value, attribute: Option<&str>, kwargs: Kwargs) -> Result<Value, Error> {
    let groups = minijinja::filters::groupby(v, attribute, kwargs)?;
    Ok(groups
        .try_iter()?
        .map(|g| {
            let part = |i: usize| g.get_item(&Value::from(i)).unwrap_or_default();
            Value::from_object(GroupTuple {
                grouper: part(0),
                list: part(1),
            })
        })
        .collect())
}

/// One group of [`groupby`].
#[derive(Debug)]
pub struct GroupTuple {
    pub grouper: Value,
    pub list: Value,
}

impl minijinja::value::Object for GroupTuple {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Seq
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        match (key.as_str(), key.as_usize()) {
            (Some("grouper"), _) | (_, Some(0)) => Some(self.grouper.clone()),
            (Some("list"), _) | (_, Some(1)) => Some(self.list.clone()),
            _ => None,
        }
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Seq(2)
    }
}

/// Ansible's `flatten(levels=None, skip_nulls=True)`; null-ish items are `None`, 'None', 'null'.
pub(super) fn flatten(v: Value, levels: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = arg(levels, &kwargs, "levels")?;
    let levels = match levels {
        Some(l) if l.is_none() => None,
        Some(l) => Some(as_int(&l)? as i64),
        None => None,
    };
    let skip_nulls = kwargs
        .get::<Option<Value>>("skip_nulls")?
        .map(|v| v.is_true())
        .unwrap_or(true);
    kwargs.assert_all_used()?;
    fn walk(
        v: &Value,
        levels: Option<i64>,
        skip_nulls: bool,
        out: &mut Vec<Value>,
    ) -> Result<(), Error> {
        for item in v.try_iter()? {
            let nullish = item.is_none() || matches!(item.as_str(), Some("None" | "null"));
            if skip_nulls && nullish {
                continue;
            }
            if matches!(item.kind(), ValueKind::Seq | ValueKind::Iterable) {
                match levels {
                    None => walk(&item, None, skip_nulls, out)?,
                    Some(l) if l >= 1 => walk(&item, Some(l - 1), skip_nulls, out)?,
                    Some(_) => out.push(item),
                }
            } else {
                out.push(item);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(&v, levels, skip_nulls, &mut out)?;
    Ok(Value::from(out))
}

pub(super) fn items_of(v: &Value) -> Result<Vec<Value>, Error> {
    match v.kind() {
        ValueKind::String => Ok(v
            .as_str()
            .unwrap_or("")
            .chars()
            .map(|c| Value::from(c.to_string()))
            .collect()),
        // Python's wording: `'bool' object is not iterable`.
        _ => Ok(v
            .try_iter()
            .map_err(|_| err(format!("'{}' object is not iterable", super::py_type(v))))?
            .collect()),
    }
}

fn dedup(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

// Python computes these on sets, whose order for strings changes from run to run; baton keeps the
// order of first appearance, which is one of the orders Python may give.
/// Ansible's `unique`: Jinja's (case-insensitive unless `case_sensitive`, by `attribute`), which
/// hashes what it compares; lists and mappings cannot be hashed, and Ansible's fallback (plain
/// equality) cannot honour `case_sensitive=False` or `attribute`, so those fail.
pub(super) fn unique(state: &minijinja::State, v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let case_sensitive: Option<Value> = kwargs.get("case_sensitive")?;
    let attribute: Option<Value> = kwargs.get("attribute")?;
    let items = items_of(&v)?;
    let unhashable = items.iter().any(|i| {
        let key =
            match &attribute {
                Some(a) => super::py_str(a).split('.').fold(i.clone(), |v, part| {
                    match part.parse::<i64>() {
                        Ok(n) => v.get_item(&Value::from(n)).unwrap_or_default(),
                        Err(_) => v.get_attr(part).unwrap_or_default(),
                    }
                }),
                None => i.clone(),
            };
        matches!(key.kind(), ValueKind::Seq | ValueKind::Map)
    });
    if unhashable && (case_sensitive.as_ref().is_some_and(|c| !c.is_true()) || attribute.is_some())
    {
        return Err(err(
            "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied.",
        ));
    }
    if unhashable {
        return Ok(Value::from(dedup(items)));
    }
    minijinja::filters::unique(state, Value::from(items), kwargs)
}

/// Jinja's `map`; an item without the `attribute` asked for (and no `default`) maps to an
/// undefined value whose reason is kept for the error it becomes when used.
pub(super) fn map(
    state: &mut minijinja::State,
    value: Value,
    args: Rest<ValueOrKwargs>,
) -> Result<Vec<Value>, Error> {
    let attribute = args
        .iter()
        .filter(|a| a.is_kwargs())
        .find_map(|a| Kwargs::try_from((**a).clone()).ok())
        .filter(|k| !k.has("default"))
        .and_then(|k| k.peek::<Value>("attribute").ok());
    let items: Vec<Value> = match &attribute {
        Some(_) => value.try_iter().map(|it| it.collect()).unwrap_or_default(),
        None => Vec::new(),
    };
    let out = minijinja::filters::map(state, value, args)?;
    if let Some(attr) = attribute
        && let Some(i) = out.iter().position(Value::is_undefined)
    {
        let owner = items.get(i).map_or("NoneType", super::py_type);
        crate::template::note_undefined(format!(
            "object of type '{owner}' has no attribute '{}'",
            super::py_str(&attr)
        ));
    }
    Ok(out)
}

pub(super) fn union(a: Value, b: Value) -> Result<Value, Error> {
    let mut items = items_of(&a)?;
    items.extend(items_of(&b)?);
    Ok(Value::from(dedup(items)))
}

pub(super) fn intersect(a: Value, b: Value) -> Result<Value, Error> {
    let other = items_of(&b)?;
    Ok(Value::from(dedup(
        items_of(&a)?
            .into_iter()
            .filter(|x| other.contains(x))
            .collect(),
    )))
}

pub(super) fn difference(a: Value, b: Value) -> Result<Value, Error> {
    let other = items_of(&b)?;
    Ok(Value::from(dedup(
        items_of(&a)?
            .into_iter()
            .filter(|x| !other.contains(x))
            .collect(),
    )))
}

pub(super) fn symmetric_difference(a: Value, b: Value) -> Result<Value, Error> {
    let (x, y) = (items_of(&a)?, items_of(&b)?);
    let mut out: Vec<Value> = x.iter().filter(|i| !y.contains(i)).cloned().collect();
    out.extend(y.iter().filter(|i| !x.contains(i)).cloned());
    Ok(Value::from(dedup(out)))
}

pub(super) fn zip(first: Value, others: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (others, kwargs) = split_kwargs(others)?;
    kwargs.assert_all_used()?;
    let mut lists = vec![items_of(&first)?];
    for o in others.iter() {
        lists.push(items_of(o)?);
    }
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok((0..n)
        .map(|i| tuple(lists.iter().map(|l| l[i].clone()).collect()))
        .collect())
}

pub(super) fn zip_longest(first: Value, others: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (others, kw) = split_kwargs(others)?;
    let fill = kw
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    kw.assert_all_used()?;
    let mut lists = vec![items_of(&first)?];
    for o in others.iter() {
        lists.push(items_of(o)?);
    }
    Ok(Value::from(zip_longest_lists(&lists, &fill)))
}

/// Python's `itertools.zip_longest(*lists, fillvalue=fill)`.
pub(crate) fn zip_longest_lists(lists: &[Vec<Value>], fill: &Value) -> Vec<Value> {
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            tuple(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                    .collect(),
            )
        })
        .collect()
}

/// A Python tuple: a sequence that is not equal to a list of the same items, as the
/// itertools filters' results are not.
pub(crate) fn tuple(items: Vec<Value>) -> Value {
    Value::from(minijinja::value::Tuple::new(items))
}

pub(super) fn product(first: Value, others: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (others, kw) = split_kwargs(others)?;
    let repeat = kw.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kw.assert_all_used()?;
    let mut pools = vec![items_of(&first)?];
    for o in others.iter() {
        pools.push(items_of(o)?);
    }
    let pools: Vec<Vec<Value>> = (0..repeat).flat_map(|_| pools.clone()).collect();
    let mut result: Vec<Vec<Value>> = vec![Vec::new()];
    for pool in &pools {
        let mut next = Vec::new();
        for r in &result {
            for item in pool {
                let mut t = r.clone();
                t.push(item.clone());
                next.push(t);
            }
        }
        result = next;
        if result.len() > 1_000_000 {
            return Err(err("product: the result is too large"));
        }
    }
    Ok(result.into_iter().map(tuple).collect())
}

pub(super) fn permutations(v: Value, r: Option<usize>) -> Result<Value, Error> {
    let pool = items_of(&v)?;
    let n = pool.len();
    let r = r.unwrap_or(n);
    if r > n {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    // itertools.permutations' order.
    let mut out = Vec::new();
    let mut indices: Vec<usize> = (0..n).collect();
    let mut cycles: Vec<usize> = (n - r + 1..=n).rev().collect();
    out.push(tuple(
        indices[..r].iter().map(|&i| pool[i].clone()).collect(),
    ));
    'outer: loop {
        for i in (0..r).rev() {
            cycles[i] -= 1;
            if cycles[i] == 0 {
                let moved = indices.remove(i);
                indices.push(moved);
                cycles[i] = n - i;
            } else {
                let j = cycles[i];
                indices.swap(i, n - j);
                out.push(tuple(
                    indices[..r].iter().map(|&i| pool[i].clone()).collect(),
                ));
                if out.len() > 1_000_000 {
                    return Err(err("permutations: the result is too large"));
                }
                continue 'outer;
            }
        }
        break;
    }
    Ok(Value::from(out))
}

pub(super) fn combinations(v: Value, r: usize) -> Result<Value, Error> {
    let pool = items_of(&v)?;
    let n = pool.len();
    if r > n {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let mut out = Vec::new();
    let mut idx: Vec<usize> = (0..r).collect();
    loop {
        out.push(tuple(idx.iter().map(|&i| pool[i].clone()).collect()));
        if out.len() > 1_000_000 {
            return Err(err("combinations: the result is too large"));
        }
        let Some(i) = (0..r).rev().find(|&i| idx[i] != i + n - r) else {
            break;
        };
        idx[i] += 1;
        for j in i + 1..r {
            idx[j] = idx[j - 1] + 1;
        }
    }
    Ok(Value::from(out))
}
