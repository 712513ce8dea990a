//! YAML 1.1 timestamps as PyYAML constructs them (`datetime.date`, `datetime.datetime`), and
//! how Python writes them: `str()` and `isoformat()`. What they are as template values is
//! `crate::value::timestamp`'s business.

/// A `datetime.date`, or a `datetime.datetime` (with its UTC offset when one was written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    /// Hour, minute, second, microsecond, and the offset as `+HH:MM`; `None` for a date.
    pub time: Option<(u32, u32, u32, u32, Option<String>)>,
}

impl Timestamp {
    /// Reads YAML's timestamp text (already matched by the resolver) as PyYAML constructs it.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let text = text.trim();
        let (date, rest) = match text.find(['T', 't', ' ', '\t']) {
            Some(i) => (&text[..i], Some(text[i + 1..].trim_start())),
            None => (text, None),
        };
        let mut d = date.split('-').map(|p| p.parse::<u32>().ok());
        let (year, month, day) = (d.next()??, d.next()??, d.next()??);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
            2 => 28,
            _ => return None,
        };
        if year == 0 || day == 0 || day > days_in_month {
            return None;
        }
        let Some(rest) = rest else {
            return Some(Timestamp {
                year,
                month,
                day,
                time: None,
            });
        };
        // The time, then an optional zone: `Z`, or `+H`, `-HH:MM`, after optional blanks.
        let zone_at = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
        let (clock, zone) = (rest[..zone_at].trim_end(), &rest[zone_at..]);
        let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
        let mut t = hms.split(':').map(|p| p.parse::<u32>().ok());
        let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let micro: String = fraction.chars().chain("000000".chars()).take(6).collect();
        let micro = micro.parse::<u32>().ok()?;
        let offset = match zone {
            "" => None,
            "Z" => Some("+00:00".to_string()),
            z => {
                let sign = &z[..1];
                let (h, m) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
                let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
                Some(format!("{sign}{h:02}:{m:02}"))
            }
        };
        Some(Timestamp {
            year,
            month,
            day,
            time: Some((hour, minute, second, micro, offset)),
        })
    }

    /// Python's `isoformat(sep)`.
    fn iso(&self, sep: char) -> String {
        let mut s = format!("{:04}-{:02}-{:02}", self.year, self.month, self.day);
        if let Some((h, m, sec, micro, offset)) = &self.time {
            s.push_str(&format!("{sep}{h:02}:{m:02}:{sec:02}"));
            if *micro != 0 {
                s.push_str(&format!(".{micro:06}"));
            }
            if let Some(o) = offset {
                s.push_str(o);
            }
        }
        s
    }

    /// `str()`: what a template prints, and YAML and TOML write.
    pub fn python_str(&self) -> String {
        self.iso(' ')
    }

    /// `isoformat()`: what JSON writes.
    pub fn isoformat(&self) -> String {
        self.iso('T')
    }

    /// Python's type name.
    pub fn type_name(&self) -> &'static str {
        if self.time.is_some() {
            "datetime"
        } else {
            "date"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_datetimes_as_python_writes_them() {
        let d = Timestamp::parse("2024-01-01").unwrap();
        assert_eq!(
            (d.python_str(), d.isoformat()),
            ("2024-01-01".into(), "2024-01-01".into())
        );
        let t = Timestamp::parse("2024-01-01 12:01:01").unwrap();
        assert_eq!(t.python_str(), "2024-01-01 12:01:01");
        assert_eq!(t.isoformat(), "2024-01-01T12:01:01");
        let z = Timestamp::parse("2001-12-14t21:59:43.10-05:00").unwrap();
        assert_eq!(z.isoformat(), "2001-12-14T21:59:43.100000-05:00");
        let u = Timestamp::parse("2001-12-15T02:59:43.1Z").unwrap();
        assert_eq!(u.python_str(), "2001-12-15 02:59:43.100000+00:00");
        assert!(Timestamp::parse("2024-13-01").is_none());
        assert!(Timestamp::parse("2023-02-29").is_none());
    }
}
