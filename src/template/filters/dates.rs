//! Dates: `to_datetime`, `strftime` and the `now()` global, with [`DateTime`], a naive
//! `datetime.datetime` whose printing, attributes and methods (`strftime`, `isoformat`, ...)
//! are Python's. The calendar arithmetic and the `strptime`/`strftime` directives live here
//! because templates compare their output with Python's text; baton reads no time zone data,
//! so times are UTC.

use super::scalars::parse_py_float;
use super::{err, flag, py_str};
use crate::value::Value;
use minijinja::value::{Kwargs, Object, ValueKind};
use minijinja::{Error, ErrorKind, State};
use std::sync::Arc;

/// A `datetime.datetime` (naive, as Ansible's `to_datetime` returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub microsecond: u32,
}

impl DateTime {
    fn from_timestamp(ts: f64) -> DateTime {
        let secs = ts.floor() as i64;
        let micro = ((ts - ts.floor()) * 1e6).round() as u32;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            microsecond: micro.min(999_999),
        }
    }

    fn timestamp(&self) -> f64 {
        let days = days_from_civil(self.year, self.month, self.day);
        (days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)) as f64
            + f64::from(self.microsecond) / 1e6
    }

    fn weekday(&self) -> u32 {
        // Monday = 0, as Python's weekday().
        (days_from_civil(self.year, self.month, self.day) + 3).rem_euclid(7) as u32
    }

    fn yday(&self) -> u32 {
        (days_from_civil(self.year, self.month, self.day) - days_from_civil(self.year, 1, 1) + 1)
            as u32
    }

    /// `str(dt)`.
    pub fn py_str(&self) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.microsecond != 0 {
            s.push_str(&format!(".{:06}", self.microsecond));
        }
        s
    }

    /// `dt.isoformat()`, which is how Ansible serialises a datetime to JSON.
    pub fn iso(&self) -> String {
        self.py_str().replacen(' ', "T", 1)
    }

    pub fn strftime(&self, fmt: &str) -> String {
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let mut out = String::new();
        let mut chars = fmt.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let Some(d) = chars.next() else {
                out.push('%');
                break;
            };
            let month_name = MONTHS[(self.month.clamp(1, 12) - 1) as usize];
            let day_name = DAYS[self.weekday() as usize];
            let hour12 = match self.hour % 12 {
                0 => 12,
                h => h,
            };
            match d {
                'Y' => out.push_str(&format!("{:04}", self.year)),
                'y' => out.push_str(&format!("{:02}", self.year.rem_euclid(100))),
                'm' => out.push_str(&format!("{:02}", self.month)),
                'd' => out.push_str(&format!("{:02}", self.day)),
                'e' => out.push_str(&format!("{:>2}", self.day)),
                'H' => out.push_str(&format!("{:02}", self.hour)),
                'I' => out.push_str(&format!("{hour12:02}")),
                'M' => out.push_str(&format!("{:02}", self.minute)),
                'S' => out.push_str(&format!("{:02}", self.second)),
                'f' => out.push_str(&format!("{:06}", self.microsecond)),
                'p' => out.push_str(if self.hour < 12 { "AM" } else { "PM" }),
                'j' => out.push_str(&format!("{:03}", self.yday())),
                'a' => out.push_str(&day_name[..3]),
                'A' => out.push_str(day_name),
                'b' | 'h' => out.push_str(&month_name[..3]),
                'B' => out.push_str(month_name),
                'w' => out.push_str(&((self.weekday() + 1) % 7).to_string()),
                'u' => out.push_str(&(self.weekday() + 1).to_string()),
                'Z' => out.push_str("UTC"),
                'z' => out.push_str("+0000"),
                's' => out.push_str(&(self.timestamp().floor() as i64).to_string()),
                'F' => out.push_str(&format!(
                    "{:04}-{:02}-{:02}",
                    self.year, self.month, self.day
                )),
                'T' => out.push_str(&format!(
                    "{:02}:{:02}:{:02}",
                    self.hour, self.minute, self.second
                )),
                'D' => out.push_str(&format!(
                    "{:02}/{:02}/{:02}",
                    self.month,
                    self.day,
                    self.year.rem_euclid(100)
                )),
                'c' => out.push_str(&format!(
                    "{} {} {:>2} {:02}:{:02}:{:02} {}",
                    &day_name[..3],
                    &month_name[..3],
                    self.day,
                    self.hour,
                    self.minute,
                    self.second,
                    self.year
                )),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '%' => out.push('%'),
                other => {
                    out.push('%');
                    out.push(other);
                }
            }
        }
        out
    }

    /// `datetime.strptime(text, fmt)` for the usual directives.
    fn strptime(text: &str, fmt: &str) -> Option<DateTime> {
        let mut dt = DateTime {
            year: 1900,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            microsecond: 0,
        };
        let t: Vec<char> = text.chars().collect();
        let mut i = 0usize;
        let mut pm: Option<bool> = None;
        let mut f = fmt.chars();
        let num = |i: &mut usize, max: usize| -> Option<i64> {
            let start = *i;
            while *i < t.len() && *i - start < max && t[*i].is_ascii_digit() {
                *i += 1;
            }
            if *i == start {
                return None;
            }
            t[start..*i].iter().collect::<String>().parse().ok()
        };
        while let Some(c) = f.next() {
            if c != '%' {
                if c.is_whitespace() {
                    while i < t.len() && t[i].is_whitespace() {
                        i += 1;
                    }
                    continue;
                }
                if t.get(i) != Some(&c) {
                    return None;
                }
                i += 1;
                continue;
            }
            match f.next()? {
                'Y' => dt.year = num(&mut i, 4)?,
                'y' => {
                    let y = num(&mut i, 2)?;
                    dt.year = if y < 69 { 2000 + y } else { 1900 + y };
                }
                'm' => dt.month = num(&mut i, 2)? as u32,
                'd' => dt.day = num(&mut i, 2)? as u32,
                'H' => dt.hour = num(&mut i, 2)? as u32,
                'I' => dt.hour = num(&mut i, 2)? as u32,
                'M' => dt.minute = num(&mut i, 2)? as u32,
                'S' => dt.second = num(&mut i, 2)? as u32,
                'f' => {
                    let start = i;
                    let v = num(&mut i, 6)?;
                    dt.microsecond = (v * 10i64.pow(6 - (i - start) as u32)) as u32;
                }
                'p' => {
                    let word: String = t.get(i..i + 2)?.iter().collect::<String>().to_uppercase();
                    pm = Some(word == "PM");
                    i += 2;
                }
                'b' | 'B' | 'a' | 'A' => {
                    let start = i;
                    while i < t.len() && t[i].is_alphabetic() {
                        i += 1;
                    }
                    let word: String = t[start..i].iter().collect::<String>().to_lowercase();
                    if word.len() < 3 {
                        return None;
                    }
                    const MONTHS: [&str; 12] = [
                        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                        "nov", "dec",
                    ];
                    if let Some(m) = MONTHS.iter().position(|m| word.starts_with(m)) {
                        dt.month = m as u32 + 1;
                    }
                }
                'j' => {
                    let yday = num(&mut i, 3)?;
                    let (y, m, d) = civil_from_days(days_from_civil(dt.year, 1, 1) + yday - 1);
                    dt.year = y;
                    dt.month = m;
                    dt.day = d;
                }
                '%' => {
                    if t.get(i) != Some(&'%') {
                        return None;
                    }
                    i += 1;
                }
                _ => return None,
            }
        }
        if i != t.len() {
            return None;
        }
        if let Some(pm) = pm {
            dt.hour = dt.hour % 12 + if pm { 12 } else { 0 };
        }
        let valid = (1..=12).contains(&dt.month)
            && dt.day >= 1
            && dt.day <= days_in_month(dt.year, dt.month)
            && dt.hour < 24
            && dt.minute < 60
            && dt.second < 62;
        valid.then_some(dt)
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl std::fmt::Display for DateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // JSON output (debug) shows isoformat; the formatter prints str() inside templates.
        f.write_str(&self.iso())
    }
}

impl Object for DateTime {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "year" => Value::from(self.year),
            "month" => Value::from(self.month),
            "day" => Value::from(self.day),
            "hour" => Value::from(self.hour),
            "minute" => Value::from(self.minute),
            "second" => Value::from(self.second),
            "microsecond" => Value::from(self.microsecond),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State,
        name: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match name {
            "strftime" => {
                let fmt = args.first().map(py_str).unwrap_or_default();
                Ok(Value::from(self.strftime(&fmt)))
            }
            "isoformat" => Ok(Value::from(self.iso())),
            "timestamp" => Ok(Value::from(self.timestamp())),
            "weekday" => Ok(Value::from(self.weekday())),
            "isoweekday" => Ok(Value::from(self.weekday() + 1)),
            "date" => Ok(Value::from(format!(
                "{:04}-{:02}-{:02}",
                self.year, self.month, self.day
            ))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result
    where
        Self: Sized + 'static,
    {
        std::fmt::Display::fmt(&**self, f)
    }
}

pub(super) fn to_datetime(v: Value, format: Option<String>) -> Result<Value, Error> {
    let fmt = format.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".into());
    let text = py_str(&v);
    DateTime::strptime(&text, &fmt)
        .map(Value::from_object)
        .ok_or_else(|| err(format!("time data '{text}' does not match format '{fmt}'")))
}

/// `strftime(format, second=None, utc=False)`. Times are UTC (baton reads no time zone data).
pub(super) fn strftime(fmt: Value, second: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let _utc = flag(&kwargs, "utc")?;
    kwargs.assert_all_used()?;
    let ts = match second.filter(|s| !s.is_none()) {
        Some(s) => match s.kind() {
            ValueKind::Number => f64::try_from(s.clone()).unwrap_or(0.0),
            _ => parse_py_float(&py_str(&s))
                .ok_or_else(|| err(format!("Invalid value for epoch value ({})", py_str(&s))))?,
        },
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
    };
    Ok(DateTime::from_timestamp(ts).strftime(&py_str(&fmt)))
}

/// A moment as a naive `datetime` value (`template_mtime`, `template_run_date`).
pub fn datetime_value(t: std::time::SystemTime) -> Value {
    Value::from_object(DateTime::from_timestamp(seconds(t)))
}

/// `time.strftime(fmt, moment)`.
pub fn strftime_at(fmt: &str, t: std::time::SystemTime) -> String {
    DateTime::from_timestamp(seconds(t)).strftime(fmt)
}

fn seconds(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The current time, for the `now()` global.
pub fn now(utc: bool, fmt: Option<String>) -> Value {
    let _ = utc;
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let dt = DateTime::from_timestamp(ts);
    match fmt {
        Some(f) => Value::from(dt.strftime(&f)),
        None => Value::from_object(dt),
    }
}

#[cfg(test)]
mod tests {
    use super::super::render;

    #[test]
    fn dates_are_pythons() {
        assert_eq!(
            render("{{ '%a %b %d %j %y %I %p' | strftime(1700000000) }}"),
            "Tue Nov 14 318 23 10 PM"
        );
        assert_eq!(
            render("{{ ('05/03/2024' | to_datetime('%d/%m/%Y')).month }}"),
            "3"
        );
        assert_eq!(
            render("{{ '2024-03-05 14:30:00' | to_datetime }}"),
            "2024-03-05 14:30:00"
        );
    }
}
