//! Filters that dress values for people: `comment` (decorated comment blocks in many styles)
//! and `human_readable`/`human_to_bytes` (sizes with Ansible's units and rounding).

use super::scalars::py_round;
use super::{arg, err, flag, py_str};
use crate::value::Value;
use minijinja::Error;
use minijinja::value::{Kwargs, ValueKind};
use regex::Regex;

/// Ansible's `comment(style='plain', **kw)`: the style's parameters, then the keywords, over
/// the defaults (prefix and postfix: the decoration with its trailing blanks cut).
pub(super) fn comment(v: Value, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let style = arg(style, &kwargs, "style")?.unwrap_or_else(|| "plain".into());
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            return Err(err(format!(
                "Invalid style '{other}'. Available styles: plain, erlang, c, cblock, xml"
            )));
        }
    };
    let kw = |name: &str| -> Result<Option<Value>, Error> { kwargs.get::<Option<Value>>(name) };
    let text_kw =
        |name: &str| -> Result<Option<String>, Error> { Ok(kw(name)?.map(|v| py_str(&v))) };
    let count_kw = |name: &str| -> Result<usize, Error> {
        match kw(name)? {
            None => Ok(1),
            Some(c) => {
                let text = py_str(&c);
                let n: i64 = match c.as_i64() {
                    Some(n) => n,
                    None => text.trim().parse().map_err(|_| {
                        err(format!("invalid literal for int() with base 10: '{text}'"))
                    })?,
                };
                Ok(usize::try_from(n).unwrap_or(0))
            }
        }
    };
    let decoration = text_kw("decoration")?.unwrap_or_else(|| decoration.to_string());
    let newline = text_kw("newline")?.unwrap_or_else(|| "\n".into());
    let beginning = text_kw("beginning")?.unwrap_or_else(|| beginning.to_string());
    let prefix = text_kw("prefix")?.unwrap_or_else(|| decoration.trim_end().to_string());
    let postfix = text_kw("postfix")?.unwrap_or_else(|| decoration.trim_end().to_string());
    let prefix_count = count_kw("prefix_count")?;
    let postfix_count = count_kw("postfix_count")?;
    let end = text_kw("end")?.unwrap_or_else(|| end.to_string());
    kwargs.assert_all_used()?;
    let text = py_str(&v);
    let mut s = String::new();
    if !beginning.is_empty() {
        s.push_str(&beginning);
        s.push_str(&newline);
    }
    if !prefix.is_empty() {
        if prefix != newline {
            s.push_str(&format!("{prefix}{newline}").repeat(prefix_count));
        } else {
            s.push_str(&newline.repeat(prefix_count));
        }
    }
    let body = format!(
        "{decoration}{}",
        py_replace(&text, &newline, &format!("{newline}{decoration}"))
    );
    s.push_str(&py_replace(
        &body,
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    ));
    for _ in 0..postfix_count {
        s.push_str(&newline);
        s.push_str(&postfix);
    }
    if !end.is_empty() {
        s.push_str(&newline);
        s.push_str(&end);
    }
    Ok(s)
}

/// Python's `str.replace`: an empty pattern goes between every character and at both ends.
fn py_replace(text: &str, from: &str, to: &str) -> String {
    if !from.is_empty() {
        return text.replace(from, to);
    }
    let mut out = String::from(to);
    for c in text.chars() {
        out.push(c);
        out.push_str(to);
    }
    out
}

const SIZE_RANGES: [(char, u128); 9] = [
    ('Y', 1 << 80),
    ('Z', 1 << 70),
    ('E', 1 << 60),
    ('P', 1 << 50),
    ('T', 1 << 40),
    ('G', 1 << 30),
    ('M', 1 << 20),
    ('K', 1 << 10),
    ('B', 1),
];

pub(super) fn human_readable(
    size: Value,
    isbits: Option<bool>,
    unit: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let isbits = match isbits {
        Some(b) => b,
        None => flag(&kwargs, "isbits")?,
    };
    let unit = arg(unit, &kwargs, "unit")?;
    kwargs.assert_all_used()?;
    // Python compares and divides the size: a string (even "1024") is a TypeError.
    let size = match size.kind() {
        ValueKind::Number => f64::try_from(size.clone()).unwrap_or(0.0),
        ValueKind::Bool => f64::from(u8::from(size.is_true())),
        _ => return Err(err("human_readable() failed on bad input")),
    };
    let base = if isbits { "bits" } else { "Bytes" };
    let mut chosen = ('B', 1u128);
    for (suffix, limit) in SIZE_RANGES {
        chosen = (suffix, limit);
        let hit = match &unit {
            None => size >= limit as f64,
            Some(u) => u.to_uppercase().starts_with(suffix),
        };
        if hit {
            break;
        }
    }
    let (suffix, limit) = chosen;
    let suffix = if limit != 1 {
        format!("{suffix}{}", &base[..1])
    } else {
        base.to_string()
    };
    Ok(format!("{:.2} {suffix}", size / limit as f64))
}

pub(super) fn human_to_bytes(
    size: Value,
    default_unit: Option<String>,
    isbits: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default_unit = arg(default_unit, &kwargs, "default_unit")?;
    let isbits = match isbits {
        Some(b) => b,
        None => flag(&kwargs, "isbits")?,
    };
    kwargs.assert_all_used()?;
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").expect("the size pattern is valid")
    });
    let text = py_str(&size);
    let caps = re.captures(&text).ok_or_else(|| {
        err(format!(
            "human_to_bytes() can't interpret following string: {text}"
        ))
    })?;
    let num: f64 = caps[1]
        .parse()
        .map_err(|_| err("human_to_bytes() can't interpret the input"))?;
    let unit = caps.get(2).map(|m| m.as_str().to_string()).or(default_unit);
    let Some(unit) = unit else {
        return Ok(Value::from(py_round(num, 0) as i128));
    };
    let key = unit.chars().next().unwrap_or('B').to_ascii_uppercase();
    let limit = SIZE_RANGES
        .iter()
        .find(|(s, _)| *s == key)
        .map(|(_, l)| *l)
        .ok_or_else(|| {
            err(format!(
                "human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
            ))
        })?;
    if unit.chars().count() > 1 {
        let names = [
            ('B', "byte", "bit"),
            ('K', "kilobyte", "kilobit"),
            ('M', "megabyte", "megabit"),
            ('G', "gigabyte", "gigabit"),
            ('T', "terabyte", "terabit"),
            ('P', "petabyte", "petabit"),
            ('E', "exabyte", "exabit"),
            ('Z', "zetabyte", "zetabit"),
            ('Y', "yottabyte", "yottabit"),
        ];
        let (_, byte_name, bit_name) = names
            .iter()
            .find(|(k, _, _)| *k == key)
            .copied()
            .unwrap_or(('B', "byte", "bit"));
        let (long, short) = if isbits {
            (
                bit_name.to_string(),
                if key == 'B' {
                    "b".to_string()
                } else {
                    format!("{key}b")
                },
            )
        } else {
            (
                byte_name.to_string(),
                if key == 'B' {
                    "B".to_string()
                } else {
                    format!("{key}B")
                },
            )
        };
        if unit.to_lowercase() != long && unit != short {
            return Err(err(format!(
                "human_to_bytes() failed to convert {text}. Value is not a valid string (expect {short})"
            )));
        }
    }
    Ok(Value::from(py_round(num * limit as f64, 0) as i128))
}

#[cfg(test)]
mod tests {
    use super::super::render;

    #[test]
    fn human_sizes() {
        assert_eq!(
            render("{{ 1536 | human_readable }} {{ 1048576 | human_readable(unit='K') }}"),
            "1.50 KB 1024.00 KB"
        );
        assert_eq!(
            render("{{ '1.5M' | human_to_bytes }} {{ '1Mb' | human_to_bytes(isbits=true) }}"),
            "1572864 1048576"
        );
    }
}
