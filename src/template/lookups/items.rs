//! The lookups that exist to shape loop items (`with_items`, `with_dict`, `with_sequence`,
//! `with_nested`, `with_together`): they compute lists from their terms and touch nothing
//! outside them.

use super::{LResult, LookupError, str_terms};
use crate::template::filters::py_str;
use crate::value::{self, Value};
use minijinja::value::{Kwargs, ValueKind};

pub(super) fn flatten_once(terms: &[Value]) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    for t in terms {
        if t.kind() == ValueKind::Seq {
            out.extend(t.try_iter()?);
        } else {
            out.push(t.clone());
        }
    }
    Ok(out)
}

pub(super) fn dict_items(terms: &[Value]) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    for t in terms {
        if t.kind() != ValueKind::Map {
            return Err(LookupError(format!(
                "with_dict expects a dict, got {}",
                crate::template::filters::py_type(t)
            )));
        }
        for k in t.try_iter()? {
            let v = t.get_item(&k).unwrap_or_default();
            out.push(value::map([("key", k), ("value", v)]));
        }
    }
    Ok(out)
}

pub(super) fn sequence(terms: &[Value], kwargs: &Kwargs) -> LResult<Vec<Value>> {
    let mut out = Vec::new();
    let kw = |name: &str| -> LResult<Option<String>> {
        Ok(kwargs.get::<Option<Value>>(name)?.map(|v| py_str(&v)))
    };
    let (kstart, kend, kcount, kstride, kformat) = (
        kw("start")?,
        kw("end")?,
        kw("count")?,
        kw("stride")?,
        kw("format")?,
    );
    // Keyword arguments alone still make one sequence; no arguments at all make none.
    let keywords = [&kstart, &kend, &kcount, &kstride, &kformat];
    let terms: Vec<String> = match (terms.is_empty(), keywords.iter().any(|k| k.is_some())) {
        (true, true) => vec![String::new()],
        (true, false) => Vec::new(),
        _ => str_terms(terms)?,
    };
    for term in terms {
        let (mut start, mut end, mut count, mut stride, mut format) = (
            Some("1".to_string()),
            None,
            None,
            Some("1".to_string()),
            Some("%d".to_string()),
        );
        // The keyword arguments first; what a term says wins over them.
        for (slot, v) in [
            (&mut start, &kstart),
            (&mut end, &kend),
            (&mut count, &kcount),
            (&mut stride, &kstride),
            (&mut format, &kformat),
        ] {
            if v.is_some() {
                *slot = v.clone();
            }
        }
        let term = term.trim();
        if term.contains('=') || term.is_empty() {
            for part in term.split_whitespace() {
                let (k, v) = part
                    .split_once('=')
                    .ok_or_else(|| LookupError(format!("can't parse arg {part}")))?;
                let v = v.trim_matches(['"', '\'']).to_string();
                match k {
                    "start" => start = Some(v),
                    "end" => end = Some(v),
                    "count" => count = Some(v),
                    "stride" => stride = Some(v),
                    "format" => format = Some(v),
                    other => {
                        return Err(LookupError(format!(
                            "unrecognized arguments to with_sequence: ['{other}']"
                        )));
                    }
                }
            }
        } else {
            // Shortcut form: [start-]end[/stride][:format]
            let (rest, fmt) = match term.split_once(':') {
                Some((r, f)) => (r, Some(f.to_string())),
                None => (term, None),
            };
            let (rest, st) = match rest.split_once('/') {
                Some((r, s)) => (r, Some(s.to_string())),
                None => (rest, None),
            };
            match rest.split_once('-') {
                Some((a, b)) => {
                    start = Some(a.to_string());
                    end = Some(b.to_string());
                }
                None => end = Some(rest.to_string()),
            }
            if st.is_some() {
                stride = st;
            }
            if fmt.is_some() {
                format = fmt;
            }
        }
        // Each option is an integer, as ansible-core's option config checks it.
        let parse = |name: &str, s: &str| -> LResult<i64> {
            let t = s.trim();
            let v = if let Some(h) = t.strip_prefix("0x") {
                i64::from_str_radix(h, 16).ok()
            } else if let Some(o) = t.strip_prefix("0o") {
                i64::from_str_radix(o, 8).ok()
            } else {
                t.parse().ok()
            };
            v.ok_or_else(|| {
                LookupError(format!(
                    "Config '{name}' for 'sequence' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': '{s}'"
                ))
            })
        };
        let start = parse("start", start.as_deref().unwrap_or("1"))?;
        let end = end.as_deref().map(|e| parse("end", e)).transpose()?;
        let count = count.as_deref().map(|c| parse("count", c)).transpose()?;
        let stride = parse("stride", stride.as_deref().unwrap_or("1"))?;
        // ansible-core's sanity_check, in its order.
        let end = match (end, count) {
            (None, None) => {
                return Err(LookupError(
                    "must specify count or end in with_sequence".into(),
                ));
            }
            (Some(_), Some(_)) => {
                return Err(LookupError(
                    "can't specify both count and end in with_sequence".into(),
                ));
            }
            (Some(e), None) => e,
            (None, Some(0)) => continue,
            (None, Some(c)) => start + c * stride - 1,
        };
        if stride > 0 && end < start {
            return Err(LookupError(
                "to count backwards make stride negative".into(),
            ));
        }
        if stride < 0 && end > start {
            return Err(LookupError(
                "to count forward don't make stride negative".into(),
            ));
        }
        if stride == 0 {
            continue;
        }
        if let Some(f) = &format
            && f.matches('%').count() != 1
        {
            return Err(LookupError(format!("bad formatting string: {f}")));
        }
        let fmt = format.unwrap_or_else(|| "%d".into());
        let mut i = start;
        let mut n = 0usize;
        while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
            out.push(Value::from(
                crate::template::filters::percent_format(&fmt, &[Value::from(i)], None)
                    .map_err(LookupError::from)?,
            ));
            i += stride;
            n += 1;
            if n > 1_000_000 {
                return Err(LookupError("the sequence is too long".into()));
            }
        }
    }
    Ok(out)
}

pub(super) fn nested(terms: &[Value]) -> LResult<Vec<Value>> {
    let lists: Vec<Vec<Value>> = terms
        .iter()
        .map(|t| -> LResult<Vec<Value>> {
            Ok(match t.kind() {
                ValueKind::Seq => t.try_iter()?.collect(),
                _ => vec![t.clone()],
            })
        })
        .collect::<LResult<_>>()?;
    if lists.is_empty() {
        return Err(LookupError(
            "with_nested requires at least one element in the nested list".into(),
        ));
    }
    let mut result: Vec<Vec<Value>> = vec![Vec::new()];
    for l in &lists {
        result = result
            .into_iter()
            .flat_map(|r| {
                l.iter().map(move |x| {
                    let mut r = r.clone();
                    r.push(x.clone());
                    r
                })
            })
            .collect();
    }
    Ok(result.into_iter().map(Value::from).collect())
}

pub(super) fn together(terms: &[Value]) -> LResult<Vec<Value>> {
    // Missing entries are None, not undefined; so are undefined ones.
    let lists: Vec<Vec<Value>> = terms
        .iter()
        .map(|t| -> LResult<Vec<Value>> {
            Ok(t.try_iter()?
                .map(|x| if x.is_undefined() { Value::from(()) } else { x })
                .collect())
        })
        .collect::<LResult<_>>()?;
    if lists.is_empty() {
        return Err(LookupError(
            "with_together requires at least one element in each list".into(),
        ));
    }
    // Each entry a list, as the lookup's `_flatten` makes it (itertools gives tuples).
    Ok(
        crate::template::filters::zip_longest_lists(&lists, &Value::from(()))
            .into_iter()
            .map(|t| {
                Value::from(
                    t.try_iter()
                        .map(Iterator::collect::<Vec<_>>)
                        .unwrap_or_default(),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use crate::value::Value;

    #[test]
    fn sequences() {
        let ctx = Value::from(());
        let r = |t: &str| crate::template::render_text(t, &ctx).unwrap();
        assert_eq!(
            r("{{ query('sequence', 'start=1 end=3 format=web%02d') }}"),
            "['web01', 'web02', 'web03']"
        );
        assert_eq!(r("{{ query('sequence', '4-8/2') }}"), "['4', '6', '8']");
    }
}
