//! Python's `%` formatting (the `format` filter, and the `%d` of `with_sequence`), and
//! Python's `repr()`. A separate file because `%` formatting is a small language of its own
//! (flags, width, precision, `%e`/`%g` spelled as C and Python spell them).

use super::{err, py_str, py_type};
use crate::value::{self, Value};
use minijinja::value::{Rest, ValueKind, ValueOrKwargs};
use minijinja::{Error, ErrorKind};

/// Jinja2's `format`: Python's `%` formatting of the value with the arguments.
pub(super) fn format_filter(v: Value, args: Rest<ValueOrKwargs>) -> Result<String, Error> {
    let fmt = py_str(&v);
    let args = args.into_values();
    let (positional, mapping): (Vec<Value>, Option<Value>) = match args.as_slice() {
        [only] if only.is_kwargs() || only.kind() == ValueKind::Map => {
            (Vec::new(), Some(only.clone()))
        }
        rest => (rest.to_vec(), None),
    };
    percent_format(&fmt, &positional, mapping.as_ref())
}

/// Python's `fmt % args`.
pub fn percent_format(fmt: &str, args: &[Value], mapping: Option<&Value>) -> Result<String, Error> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut next_arg = 0;
    let mut take = |i: &mut usize| -> Result<Value, Error> {
        let _ = i;
        let v = args
            .get(next_arg)
            .cloned()
            .ok_or_else(|| err("not enough arguments for format string"))?;
        next_arg += 1;
        Ok(v)
    };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut key: Option<String> = None;
        if chars.get(i) == Some(&'(') {
            let close = chars[i..]
                .iter()
                .position(|&c| c == ')')
                .ok_or_else(|| err("incomplete format key"))?;
            key = Some(chars[i + 1..i + close].iter().collect());
            i += close + 1;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.get(i) {
            if "-+ #0".contains(f) {
                flags.push(f);
                i += 1;
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = chars.get(i) {
            if d.is_ascii_digit() {
                width.push(d);
                i += 1;
            } else if d == '*' {
                width = py_str(&take(&mut i)?);
                i += 1;
            } else {
                break;
            }
        }
        let mut precision: Option<usize> = None;
        if chars.get(i) == Some(&'.') {
            i += 1;
            let mut p = String::new();
            while let Some(&d) = chars.get(i) {
                if d.is_ascii_digit() {
                    p.push(d);
                    i += 1;
                } else {
                    break;
                }
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let conv = *chars.get(i).ok_or_else(|| err("incomplete format"))?;
        i += 1;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let arg = match (&key, mapping) {
            (Some(k), Some(m)) => m.get_item(&Value::from(k.as_str()))?,
            (Some(k), None) => return Err(err(format!("format requires a mapping for %({k})"))),
            (None, _) => take(&mut i)?,
        };
        if arg.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        let left = flags.contains('-');
        let zero = flags.contains('0') && !left;
        let sign = if flags.contains('+') {
            "+"
        } else if flags.contains(' ') {
            " "
        } else {
            ""
        };
        let width: usize = width.parse().unwrap_or(0);
        let body = match conv {
            's' => {
                let s = py_str(&arg);
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'r' | 'a' => {
                let s = py_repr(&arg);
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'd' | 'i' | 'u' => {
                let n = as_int(&arg)?;
                with_sign(n.abs().to_string(), n < 0, sign)
            }
            'x' | 'X' | 'o' => {
                let n = as_int(&arg)?;
                let digits = match conv {
                    'x' => format!("{:x}", n.unsigned_abs()),
                    'X' => format!("{:X}", n.unsigned_abs()),
                    _ => format!("{:o}", n.unsigned_abs()),
                };
                let prefix = if flags.contains('#') {
                    match conv {
                        'x' => "0x",
                        'X' => "0X",
                        _ => "0o",
                    }
                } else {
                    ""
                };
                with_sign(format!("{prefix}{digits}"), n < 0, sign)
            }
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                let f = f64::try_from(arg.clone())
                    .map_err(|_| err(format!("must be real number, not {}", py_type(&arg))))?;
                let p = precision.unwrap_or(6);
                let s = match conv {
                    'f' | 'F' => format!("{:.*}", p, f.abs()),
                    'e' | 'E' => py_exp(f.abs(), p, conv == 'E'),
                    _ => py_general(f.abs(), p, conv == 'G', flags.contains('#')),
                };
                with_sign(s, f.is_sign_negative() && f != 0.0, sign)
            }
            'c' => match arg.as_str() {
                Some(s) => s.to_string(),
                None => char::from_u32(as_int(&arg)? as u32)
                    .map(String::from)
                    .ok_or_else(|| err("%c arg not in range"))?,
            },
            other => {
                return Err(err(format!(
                    "unsupported format character '{other}' (0x{:x})",
                    other as u32
                )));
            }
        };
        let len = body.chars().count();
        if len >= width {
            out.push_str(&body);
        } else if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(width - len));
        } else if zero && "dixXofFeEgGu".contains(conv) {
            // Zero padding goes after the sign.
            let (s, digits) = match body.chars().next() {
                Some(c @ ('-' | '+' | ' ')) => (c.to_string(), body[1..].to_string()),
                _ => (String::new(), body.clone()),
            };
            out.push_str(&s);
            out.push_str(&"0".repeat(width - len));
            out.push_str(&digits);
        } else {
            out.push_str(&" ".repeat(width - len));
            out.push_str(&body);
        }
    }
    if mapping.is_none() && next_arg < args.len() {
        return Err(err("not all arguments converted during string formatting"));
    }
    Ok(out)
}

fn with_sign(digits: String, negative: bool, sign: &str) -> String {
    if negative {
        format!("-{digits}")
    } else {
        format!("{sign}{digits}")
    }
}

pub(super) fn as_int(v: &Value) -> Result<i128, Error> {
    match v.kind() {
        ValueKind::Bool => Ok(i128::from(v.is_true())),
        ValueKind::Number => {
            if let Ok(i) = i128::try_from(v.clone()) {
                Ok(i)
            } else {
                Ok(f64::try_from(v.clone()).unwrap_or(0.0).trunc() as i128)
            }
        }
        _ => Err(err(format!(
            "%d format: a real number is required, not {}",
            py_type(v)
        ))),
    }
}

/// `%e` as C and Python print it: at least two exponent digits.
fn py_exp(f: f64, p: usize, upper: bool) -> String {
    let s = format!("{:.*e}", p, f);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let e = if upper { 'E' } else { 'e' };
    format!(
        "{mant}{e}{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

/// `%g`: the shorter of `%e` and `%f` with `p` significant digits, trailing zeros removed.
fn py_general(f: f64, p: usize, upper: bool, alt: bool) -> String {
    let p = p.max(1);
    if f == 0.0 {
        return if alt {
            format!("{:.*}", p - 1, 0.0)
        } else {
            "0".into()
        };
    }
    let exp = f.abs().log10().floor() as i32;
    if exp < -4 || exp >= p as i32 {
        let s = py_exp(f, p - 1, upper);
        if alt {
            s
        } else {
            let (m, e) = s.split_at(s.find(['e', 'E']).unwrap_or(s.len()));
            let m = if m.contains('.') {
                m.trim_end_matches('0').trim_end_matches('.')
            } else {
                m
            };
            format!("{m}{e}")
        }
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let s = format!("{:.*}", decimals, f);
        if alt || !s.contains('.') {
            s
        } else {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

/// Python's `repr()`.
pub fn py_repr(v: &Value) -> String {
    match v.kind() {
        ValueKind::String => value::python_repr(&serde_json::Value::String(
            v.as_str().unwrap_or("").to_string(),
        )),
        _ => py_str(v),
    }
}

#[cfg(test)]
mod tests {
    use super::super::render;

    #[test]
    fn formats_like_python() {
        assert_eq!(
            render("{{ '%s is %d years' | format('bob', 42) }}"),
            "bob is 42 years"
        );
        assert_eq!(
            render("{{ '%05.1f|%-4s|%x' | format(3.14159, 'ab', 255) }}"),
            "003.1|ab  |ff"
        );
        assert_eq!(render("{{ '%r' | format('a') }}"), "'a'");
    }
}
