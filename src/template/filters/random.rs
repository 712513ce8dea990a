//! `random` and `shuffle`. With a `seed` they must pick what Python's `random.Random(seed)`
//! picks (playbooks rely on a seeded choice being stable across tools), so they go through
//! [`super::super::pyrandom`]; without one, through the operating system's randomness.

use super::super::crypt;
use super::super::pyrandom::{PyRandom, Seed};
use super::format::as_int;
use super::lists::items_of;
use super::{arg, err, py_str};
use crate::value::Value;
use minijinja::Error;
use minijinja::value::{Kwargs, ValueKind};

fn seed_of(v: &Value) -> Result<PyRandom, Error> {
    Ok(match v.kind() {
        ValueKind::String => PyRandom::new(Seed::Str(v.as_str().unwrap_or(""))),
        ValueKind::Bool => PyRandom::new(Seed::Int(i128::from(v.is_true()))),
        ValueKind::Number if v.is_integer() => {
            PyRandom::new(Seed::Int(i128::try_from(v.clone()).unwrap_or(0)))
        }
        _ => PyRandom::new(Seed::Str(&py_str(v))),
    })
}

/// Ansible's `random(end, start=None, step=None, seed=None)`.
pub(super) fn random(
    end: Value,
    start: Option<Value>,
    step: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let start = arg(start, &kwargs, "start")?;
    let step = arg(step, &kwargs, "step")?;
    let seed: Option<Value> = kwargs.get("seed")?;
    kwargs.assert_all_used()?;
    let mut rng = match seed.filter(|s| !s.is_none()) {
        Some(s) => Some(seed_of(&s)?),
        None => None,
    };
    let below = |rng: &mut Option<PyRandom>, n: u128| -> Result<u128, Error> {
        match rng {
            Some(r) => Ok(r.randbelow(n)),
            None => crypt::os_random_below(n.min(usize::MAX as u128) as usize)
                .map(|i| i as u128)
                .map_err(err),
        }
    };
    if end.kind() == ValueKind::Number && (end.is_integer()) {
        let end = i128::try_from(end.clone()).unwrap_or(0);
        let start = start
            .filter(|s| s.is_true())
            .map(|s| as_int(&s))
            .transpose()?
            .unwrap_or(0);
        let step = step
            .filter(|s| s.is_true())
            .map(|s| as_int(&s))
            .transpose()?
            .unwrap_or(1);
        let value = match &mut rng {
            Some(r) => r.randrange(start, end, step),
            None => {
                let width = end - start;
                let n = match step {
                    0 => 0,
                    s if s > 0 => (width + s - 1).div_euclid(s),
                    s => (width + s + 1).div_euclid(s),
                };
                if n <= 0 {
                    None
                } else {
                    Some(start + step * below(&mut rng, n as u128)? as i128)
                }
            }
        };
        return value.map(Value::from).ok_or_else(|| {
            err(format!(
                "empty range for randrange() ({start}, {end}, {step})"
            ))
        });
    }
    if matches!(
        end.kind(),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::String | ValueKind::Map
    ) {
        if start.is_some_and(|s| s.is_true()) || step.is_some_and(|s| s.is_true()) {
            return Err(err("start and step can only be used with integer values"));
        }
        let items = items_of(&end)?;
        if items.is_empty() {
            return Err(err("Cannot choose from an empty sequence"));
        }
        let i = below(&mut rng, items.len() as u128)? as usize;
        return Ok(items[i].clone());
    }
    Err(err("random can only be used on sequences and integers"))
}

pub(super) fn shuffle(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let seed: Option<Value> = kwargs.get("seed")?;
    kwargs.assert_all_used()?;
    // ansible's `randomize_list` gives back what it cannot make a list of (`22 | shuffle`).
    let Ok(mut items) = items_of(&v) else {
        return Ok(v);
    };
    match seed.filter(|s| s.is_true()) {
        Some(s) => seed_of(&s)?.shuffle(&mut items),
        None => {
            for i in (1..items.len()).rev() {
                let j = crypt::os_random_below(i + 1).map_err(err)?;
                items.swap(i, j);
            }
        }
    }
    Ok(Value::from(items))
}

#[cfg(test)]
mod tests {
    use super::super::render;

    #[test]
    fn seeded_random_and_shuffle_are_pythons() {
        assert_eq!(
            render("{{ 100 | random(seed='web1') }} {{ 60 | random(seed=42) }}"),
            "41 40"
        );
        assert_eq!(
            render("{{ 100 | random(start=10, step=10, seed='s') }}"),
            "80"
        );
        assert_eq!(
            render("{{ ['a','b','c','d','e','f','g','h'] | random(seed='pick') }}"),
            "g"
        );
        assert_eq!(render("{{ 'abc' | shuffle(seed='s') | join }}"), "acb");
    }
}
