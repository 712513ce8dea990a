//! `serial`: how a play's hosts are cut into rolling batches, exactly as Ansible does it.
//!
//! Each item of `serial` (an int, "N%", or a list of those) is a batch size computed against the
//! total number of hosts of the play; items are used in order and the last one repeats. A
//! percentage is floored but at least 1; a size of 0 or less (or none) means all remaining hosts.

use crate::value::Value;
use minijinja::value::ValueKind;

/// Batch sizes for `total` hosts.
pub fn batch_sizes(serial: Option<&Value>, total: usize) -> Result<Vec<usize>, String> {
    if total == 0 {
        return Ok(Vec::new());
    }
    let items: Vec<Value> = match serial {
        None => return Ok(vec![total]),
        Some(v) if v.kind() == ValueKind::Seq => {
            v.try_iter().map(|i| i.collect()).unwrap_or_default()
        }
        Some(v) if v.is_none() => return Ok(vec![total]),
        Some(v) => vec![v.clone()],
    };
    if items.is_empty() {
        return Ok(vec![total]);
    }
    let sizes: Vec<usize> = items
        .iter()
        .map(|i| size_of(i, total))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    let mut left = total;
    let mut idx = 0;
    while left > 0 {
        let want = sizes[idx.min(sizes.len() - 1)];
        let take = if want == 0 { left } else { want.min(left) };
        out.push(take);
        left -= take;
        idx += 1;
    }
    Ok(out)
}

/// One `serial` item as a size; 0 means "everything left".
fn size_of(item: &Value, total: usize) -> Result<usize, String> {
    if let Some(i) = item.as_i64() {
        return Ok(if i <= 0 { 0 } else { i as usize });
    }
    let text = item.to_string();
    let t = text.trim();
    if let Some(pct) = t.strip_suffix('%') {
        let p: f64 = pct
            .trim()
            .parse()
            .map_err(|_| format!("serial: '{t}' is not a number or a percentage"))?;
        if p <= 0.0 {
            return Ok(0);
        }
        let n = (p / 100.0 * total as f64).floor() as usize;
        return Ok(n.max(1));
    }
    match t.parse::<i64>() {
        Ok(i) if i <= 0 => Ok(0),
        Ok(i) => Ok(i as usize),
        Err(_) => Err(format!("serial: '{t}' is not a number or a percentage")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(serial: Value, total: usize) -> Vec<usize> {
        batch_sizes(Some(&serial), total).unwrap()
    }

    #[test]
    fn ansible_examples() {
        assert_eq!(sizes(Value::from("30%"), 10), vec![3, 3, 3, 1]);
        assert_eq!(
            sizes(
                Value::from(vec![Value::from(1), Value::from(5), Value::from("20%")]),
                20
            ),
            vec![1, 5, 4, 4, 4, 2]
        );
        assert_eq!(sizes(Value::from(1), 3), vec![1, 1, 1]);
        assert_eq!(sizes(Value::from("1%"), 3), vec![1, 1, 1]);
        assert_eq!(sizes(Value::from(0), 3), vec![3]);
        assert_eq!(sizes(Value::from("50%"), 3), vec![1, 1, 1]);
        assert_eq!(batch_sizes(None, 4).unwrap(), vec![4]);
        assert!(batch_sizes(Some(&Value::from("lots")), 4).is_err());
    }
}
