//! The `local` facts of `setup` (`ansible_local`): the `*.fact` files of `fact_path`
//! (`/etc/ansible/facts.d` unless the task says otherwise), read as ansible-core's local fact
//! collector reads them (module_utils/facts/system/local.py).
//!
//! Each file, in sorted order, gives one key (its name less `.fact`): an executable file (the
//! owner's execute bit) is run and its stdout is the fact, any other file's stripped content is.
//! The text is read as JSON, else as an INI file the way Python's `ConfigParser` reads it
//! (sections of options, `=`/`:`, continuation lines, `DEFAULT`, `%(name)s` interpolation,
//! options in lower case). A file that cannot be stat'ed, a script that fails and a text that
//! is neither gives, as the collector does, its error string as the fact and a warning with the
//! same words. The host needs no Python: the shell part lists every file with its bytes in hex
//! (`od`), and the parsing happens here.

use super::shell_quote;
use super::sysutil;
use crate::value::{self, Value};
use indexmap::IndexMap;

/// Where the facts live unless `fact_path` says otherwise (the setup module's default).
pub const DEFAULT_PATH: &str = "/etc/ansible/facts.d";

/// The part of the fact script that prints the `local` section: for each `*.fact` file a `P`
/// line (its path), then `E` (stat's error), or `R` (a script's exit status), `O` (its stdout,
/// or the file's content) and `X` (a script's stderr); every value in hex.
pub fn probe(fact_path: &str) -> String {
    // The module's `path` type: `~` is the remote user's home.
    let path = match fact_path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            format!("\"$HOME\"{}", shell_quote(rest))
        }
        _ => shell_quote(fact_path),
    };
    format!(
        "{section}\n_bx() {{ od -An -tx1 -v | tr -d ' \\n'; echo; }}\n\
         _fp={path}\n\
         if [ -e \"$_fp\" ] && _lt=$(mktemp -d 2>/dev/null); then\n\
         for _f in \"$_fp\"/*.fact; do\n\
         {{ [ -e \"$_f\" ] || [ -L \"$_f\" ]; }} || continue\n\
         printf 'P '; printf '%s' \"$_f\" | _bx\n\
         if ! _m=$(stat -L -c %a -- \"$_f\" 2>\"$_lt/e\"); then printf 'E '; _bx <\"$_lt/e\"; continue; fi\n\
         if [ $(( 0$_m & 64 )) -ne 0 ]; then\n\
         \"$_f\" </dev/null >\"$_lt/o\" 2>\"$_lt/e\"; printf 'R %s\\n' $?\n\
         printf 'O '; _bx <\"$_lt/o\"; printf 'X '; _bx <\"$_lt/e\"\n\
         elif [ -f \"$_f\" ] && [ -r \"$_f\" ]; then printf 'O '; _bx <\"$_f\"; fi\n\
         done\n\
         rm -rf \"$_lt\"\n\
         fi\n",
        section = sysutil::section("local"),
    )
}

/// One `*.fact` file as the probe saw it.
#[derive(Default)]
struct Seen {
    path: Vec<u8>,
    stat_error: Option<String>,
    rc: Option<i64>,
    out: Vec<u8>,
    err: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim().as_bytes();
    s.chunks(2)
        .filter_map(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
        .collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The `local` fact from the section's text and the collector's warnings; `None` for the fact
/// when the collector itself failed (ansible-core then reports no `ansible_local` at all).
pub fn fact(section: &str) -> (Option<Value>, Vec<String>) {
    let mut seen: Vec<Seen> = Vec::new();
    for line in section.lines() {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        if tag == "P" {
            seen.push(Seen {
                path: unhex(rest),
                ..Seen::default()
            });
            continue;
        }
        let Some(cur) = seen.last_mut() else { continue };
        match tag {
            "E" => cur.stat_error = Some(text(&unhex(rest)).trim().to_string()),
            "R" => cur.rc = rest.trim().parse().ok(),
            "O" => cur.out = unhex(rest),
            "X" => cur.err = unhex(rest),
            _ => {}
        }
    }
    // Python's sorted() over the paths: by code point, which UTF-8 bytes keep.
    seen.sort_by(|a, b| a.path.cmp(&b.path));
    let mut warnings = Vec::new();
    let mut local: IndexMap<String, Value> = IndexMap::new();
    for f in &seen {
        let path = text(&f.path);
        let name = path.rsplit('/').next().unwrap_or("").replace(".fact", "");
        let mut fail = |msg: String, local: &mut IndexMap<String, Value>| {
            local.insert(name.clone(), Value::from(msg.as_str()));
            warnings.push(msg);
        };
        if let Some(e) = &f.stat_error {
            fail(
                format!("Could not stat fact ({path}): {}", os_error(e, &path)),
                &mut local,
            );
            continue;
        }
        let out = match f.rc {
            Some(rc) if rc != 0 => {
                fail(
                    format!(
                        "Failure executing fact script ({path}), rc: {rc}, err: {}",
                        text(&f.err)
                    ),
                    &mut local,
                );
                continue;
            }
            Some(_) => text(&f.out),
            // get_file_content: stripped, and '' when empty or unreadable.
            None => text(&f.out).trim().to_string(),
        };
        let fact = match serde_json::from_str::<serde_json::Value>(&out) {
            Ok(json) => value::from_json(&json),
            Err(_) => match ini_fact(&out, &path, &mut warnings) {
                Ok(v) => v,
                Err(Crash) => return (None, warnings),
            },
        };
        local.insert(name, fact);
    }
    (Some(value::map(local)), warnings)
}

/// Python's text of an `OSError` from stat: `[Errno N] message: 'path'`, from the message
/// `stat` printed (`stat: cannot statx 'p': No such file or directory`).
fn os_error(stat_msg: &str, path: &str) -> String {
    let msg = stat_msg.rsplit(": ").next().unwrap_or(stat_msg).trim();
    let errno = match msg {
        "Permission denied" => 13,
        "Too many levels of symbolic links" => 40,
        "Not a directory" => 20,
        "File name too long" => 36,
        _ => 2,
    };
    let msg = if errno == 2 {
        "No such file or directory"
    } else {
        msg
    };
    format!(
        "[Errno {errno}] {msg}: {}",
        value::python_repr(&serde_json::Value::String(path.to_string()))
    )
}

/// The collector raised out of its INI branch (a later option after an interpolation error).
struct Crash;

/// The INI branch of the collector: sections of options, or its error string.
fn ini_fact(out: &str, path: &str, warnings: &mut Vec<String>) -> Result<Value, Crash> {
    let Some(ini) = Ini::parse(out) else {
        let msg = format!("error loading facts as JSON or ini - please check content: {path}");
        warnings.push(msg.clone());
        return Ok(Value::from(msg));
    };
    // The collector's loop as written: after an interpolation error `fact` is the error
    // string, and what follows either replaces it or fails on it.
    enum Fact {
        Map(IndexMap<String, IndexMap<String, Value>>),
        Error(String),
    }
    let mut fact = Fact::Map(IndexMap::new());
    for (sect, _) in &ini.sections {
        match &mut fact {
            Fact::Map(m) => {
                m.entry(sect.clone()).or_default();
            }
            // `sect not in fact` on a string is a substring test; then `fact[sect] = {}` fails.
            Fact::Error(e) if e.contains(sect.as_str()) => {}
            Fact::Error(_) => return Err(Crash),
        }
        for opt in ini.options(sect) {
            match ini.get(sect, &opt) {
                Err(ex) => {
                    let msg =
                        format!("error loading facts as ini - please check content: {path} ({ex})");
                    warnings.push(msg.clone());
                    fact = Fact::Error(msg);
                }
                Ok(val) => match &mut fact {
                    Fact::Map(m) => {
                        m.entry(sect.clone())
                            .or_default()
                            .insert(opt, Value::from(val));
                    }
                    Fact::Error(_) => return Err(Crash),
                },
            }
        }
    }
    Ok(match fact {
        Fact::Map(m) => value::map(m.into_iter().map(|(k, v)| (k, value::map(v)))),
        Fact::Error(e) => Value::from(e),
    })
}

/// What Python's `ConfigParser()` (strict, `=`/`:`, `#`/`;` comment lines, empty lines kept in
/// values, BasicInterpolation) reads from a text.
struct Ini {
    defaults: IndexMap<String, String>,
    sections: IndexMap<String, IndexMap<String, String>>,
}

const DEFAULT_SECTION: &str = "DEFAULT";
const MAX_INTERPOLATION_DEPTH: usize = 10;

impl Ini {
    /// `None` for any of ConfigParser's reading errors (no section header, a line that is no
    /// option, a duplicate section or option).
    fn parse(text: &str) -> Option<Ini> {
        // Every section by name, DEFAULT too (it is never a duplicate).
        let mut all: IndexMap<String, IndexMap<String, Vec<String>>> = IndexMap::new();
        all.insert(DEFAULT_SECTION.to_string(), IndexMap::new());
        let mut cur: Option<String> = None;
        let mut opt: Option<String> = None;
        let mut indent_level = 0usize;
        let mut added: std::collections::HashSet<(String, Option<String>)> = Default::default();
        let mut bad = false;
        for line in text.split_inclusive('\n') {
            let stripped = line.trim();
            let comment = stripped.starts_with('#') || stripped.starts_with(';');
            let value = if comment { "" } else { stripped };
            let continued = match (&cur, &opt) {
                (Some(s), Some(o)) => all.get_mut(s).and_then(|m| m.get_mut(o)),
                _ => None,
            };
            if value.is_empty() {
                // An empty line (not a comment) goes into the value it may continue.
                if let Some(v) = continued.filter(|_| !comment) {
                    v.push(String::new());
                }
                continue;
            }
            let indent = line.find(|c: char| !c.is_whitespace()).unwrap_or(0);
            if let Some(v) = continued.filter(|_| indent > indent_level) {
                v.push(value.to_string());
                continue;
            }
            indent_level = indent;
            if let Some(header) = section_header(value) {
                if header != DEFAULT_SECTION && !added.insert((header.to_string(), None)) {
                    return None;
                }
                all.entry(header.to_string()).or_default();
                cur = Some(header.to_string());
                opt = None;
                continue;
            }
            let s = cur.clone()?;
            // OPTCRE: the option is everything up to the first `=` or `:`.
            let Some(at) = value.find(['=', ':']) else {
                bad = true;
                continue;
            };
            let name = value[..at].trim_end().to_lowercase();
            bad |= name.is_empty();
            if !added.insert((s.clone(), Some(name.clone()))) {
                return None;
            }
            all.get_mut(&s)?
                .insert(name.clone(), vec![value[at + 1..].trim().to_string()]);
            opt = Some(name);
        }
        if bad {
            return None;
        }
        let mut all: IndexMap<String, IndexMap<String, String>> = all
            .into_iter()
            .map(|(k, m)| {
                let m = m
                    .into_iter()
                    .map(|(o, v)| (o, v.join("\n").trim_end().to_string()))
                    .collect();
                (k, m)
            })
            .collect();
        let defaults = all.shift_remove(DEFAULT_SECTION).unwrap_or_default();
        Some(Ini {
            defaults,
            sections: all,
        })
    }

    /// `options(section)`: the section's own, then the defaults it does not have.
    fn options(&self, sect: &str) -> Vec<String> {
        let own = &self.sections[sect];
        let mut out: Vec<String> = own.keys().cloned().collect();
        out.extend(
            self.defaults
                .keys()
                .filter(|k| !own.contains_key(*k))
                .cloned(),
        );
        out
    }

    fn lookup(&self, sect: &str, opt: &str) -> Option<&String> {
        self.sections[sect]
            .get(opt)
            .or_else(|| self.defaults.get(opt))
    }

    /// `get(section, option)` with BasicInterpolation; the error is the exception's text.
    fn get(&self, sect: &str, opt: &str) -> Result<String, String> {
        let raw = self.lookup(sect, opt).cloned().unwrap_or_default();
        let mut out = String::new();
        self.interpolate(sect, opt, &raw, &raw, 1, &mut out)?;
        Ok(out)
    }

    fn interpolate(
        &self,
        sect: &str,
        opt: &str,
        raw: &str,
        mut rest: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<(), String> {
        let repr = |s: &str| value::python_repr(&serde_json::Value::String(s.to_string()));
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(format!(
                "Recursion limit exceeded in value substitution: option {} in section {} \
                 contains an interpolation key which cannot be substituted in \
                 {MAX_INTERPOLATION_DEPTH} steps. Raw value: {}",
                repr(opt),
                repr(sect),
                repr(raw)
            ));
        }
        while !rest.is_empty() {
            let Some(p) = rest.find('%') else {
                out.push_str(rest);
                return Ok(());
            };
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            match rest[1..].chars().next() {
                Some('%') => {
                    out.push('%');
                    rest = &rest[2..];
                }
                Some('(') => {
                    // %\(([^)]+)\)s
                    let key = rest[2..]
                        .find(')')
                        .filter(|&e| e > 0 && rest[2 + e + 1..].starts_with('s'))
                        .map(|e| &rest[2..2 + e]);
                    let Some(key) = key else {
                        return Err(format!(
                            "bad interpolation variable reference {}",
                            repr(rest)
                        ));
                    };
                    rest = &rest[2 + key.len() + 2..];
                    let var = key.to_lowercase();
                    let Some(v) = self.lookup(sect, &var) else {
                        return Err(format!(
                            "Bad value substitution: option {} in section {} contains an \
                             interpolation key {} which is not a valid option name. Raw \
                             value: {}",
                            repr(opt),
                            repr(sect),
                            repr(&var),
                            repr(raw)
                        ));
                    };
                    if v.contains('%') {
                        self.interpolate(sect, opt, raw, v, depth + 1, out)?;
                    } else {
                        out.push_str(v);
                    }
                }
                _ => {
                    return Err(format!(
                        "'%' must be followed by '%' or '(', found: {}",
                        repr(rest)
                    ));
                }
            }
        }
        Ok(())
    }
}

/// SECTCRE (`\[(?P<header>.+)\]` matched at the start): the text up to the last `]`.
fn section_header(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    (end > 0).then(|| &inner[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn reads_json_ini_scripts_and_errors_as_the_collector_does() {
        let mut s = String::new();
        let mut file = |path: &str, lines: &[(&str, &[u8])]| {
            s.push_str(&format!("P {}\n", hex(path.as_bytes())));
            for (tag, v) in lines {
                if *tag == "R" {
                    s.push_str(&format!("R {}\n", std::str::from_utf8(v).unwrap()));
                } else {
                    s.push_str(&format!("{tag} {}\n", hex(v)));
                }
            }
        };
        file("/f/b.fact", &[("O", b"[general]\nBar = loaded\n  more\n")]);
        file(
            "/f/a.fact",
            &[("R", b"0"), ("O", b"{\"x\": [1]}\n"), ("X", b"")],
        );
        file("/f/c.fact", &[("R", b"3"), ("O", b""), ("X", b"oops\n")]);
        file(
            "/f/d.fact",
            &[(
                "E",
                b"stat: cannot statx '/f/d.fact': No such file or directory",
            )],
        );
        file("/f/e.fact", &[("O", b"no header")]);
        file("/f/f.fact", &[("O", b"[s]\nv = a % b\n")]);
        let (fact, warnings) = fact(&s);
        let fact = fact.unwrap();
        let keys: Vec<String> = fact.try_iter().unwrap().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f"]);
        let get = |k: &str| fact.get_attr(k).unwrap();
        assert_eq!(get("a").get_attr("x").unwrap().len(), Some(1));
        let general = get("b").get_attr("general").unwrap();
        assert_eq!(
            general.get_attr("bar").unwrap().as_str(),
            Some("loaded\nmore")
        );
        assert_eq!(
            get("c").as_str(),
            Some("Failure executing fact script (/f/c.fact), rc: 3, err: oops\n")
        );
        assert_eq!(
            get("d").as_str(),
            Some(
                "Could not stat fact (/f/d.fact): [Errno 2] No such file or directory: '/f/d.fact'"
            )
        );
        assert_eq!(
            get("e").as_str(),
            Some("error loading facts as JSON or ini - please check content: /f/e.fact")
        );
        assert_eq!(
            get("f").as_str(),
            Some(
                "error loading facts as ini - please check content: /f/f.fact ('%' must be \
                 followed by '%' or '(', found: '% b')"
            )
        );
        assert_eq!(warnings.len(), 4);
    }

    #[test]
    fn ini_defaults_interpolation_and_duplicates() {
        let ini = Ini::parse(
            "; c\n[DEFAULT]\nhome = /h\n[a]\npath = %(home)s/x\npct = 100%%\n# c\nk: v = w\n",
        )
        .unwrap();
        assert_eq!(ini.options("a"), ["path", "pct", "k", "home"]);
        assert_eq!(ini.get("a", "path").unwrap(), "/h/x");
        assert_eq!(ini.get("a", "pct").unwrap(), "100%");
        assert_eq!(ini.get("a", "k").unwrap(), "v = w");
        assert!(Ini::parse("[a]\nx=1\nx=2\n").is_none());
        assert!(Ini::parse("[a]\n[a]\n").is_none());
        assert!(Ini::parse("[a]\njunk\n").is_none());
        let ini = Ini::parse("[a]\nx = %(y)s\n").unwrap();
        assert!(
            ini.get("a", "x")
                .unwrap_err()
                .starts_with("Bad value substitution")
        );
        // An error, then a good option: the collector itself fails.
        let mut w = Vec::new();
        assert!(ini_fact("[s]\nv = %\nw = ok\n", "/p", &mut w).is_err());
    }

    #[test]
    fn the_probe_lists_a_directory_of_facts() {
        let dir = std::env::temp_dir().join(format!("baton-local-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("p.fact"), "[g]\nbar=loaded\n").unwrap();
        let script = dir.join("s.fact");
        std::fs::write(&script, "#!/bin/sh\necho '{\"ran\": true}'\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("/nonexistent-baton", dir.join("dead.fact")).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(probe(&dir.display().to_string()))
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let body = sysutil::sections(&text).get("local").cloned().unwrap();
        let (fact, warnings) = fact(&body);
        let fact = fact.unwrap();
        let g = fact.get_attr("p").unwrap().get_attr("g").unwrap();
        assert_eq!(g.get_attr("bar").unwrap().as_str(), Some("loaded"));
        assert!(
            fact.get_attr("s")
                .unwrap()
                .get_attr("ran")
                .unwrap()
                .is_true()
        );
        let dead = fact.get_attr("dead").unwrap();
        assert!(
            dead.as_str().unwrap().starts_with("Could not stat fact ("),
            "{dead}"
        );
        assert_eq!(warnings.len(), 1);
    }
}
