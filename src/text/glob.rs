//! Python's `glob.glob` on the controller's file system: a path whose components may hold
//! [`fnmatch`](super::fnmatch) wildcards. Used by the `fileglob` filter.
//!
//! As in Python: a component without `*`, `?` or `[` is taken literally; a wildcard component
//! lists its directory and skips names starting with `.` unless the component does too; `.`
//! and `..` are never listed; a pattern without wildcards yields itself when it exists; results
//! keep the pattern's own spelling (relative stays relative). Python returns directory order;
//! here each directory's matches are sorted, so results are stable.

use super::fnmatch::Pattern;
use std::path::Path;

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Paths matching `pattern`, files and directories alike (as Python's `glob.glob`).
pub fn glob(pattern: &str) -> Vec<String> {
    if pattern.is_empty() {
        return Vec::new();
    }
    if !has_magic(pattern) {
        let exists = std::fs::symlink_metadata(pattern).is_ok();
        return if exists {
            vec![pattern.to_string()]
        } else {
            Vec::new()
        };
    }
    // The leading `/`s (kept as written) then the components.
    let rest = pattern.trim_start_matches('/');
    let root = &pattern[..pattern.len() - rest.len()];
    let comps: Vec<&str> = rest.split('/').collect();
    let mut found = vec![root.to_string()];
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let mut next = Vec::new();
        for base in &found {
            if comp.is_empty() {
                // A doubled or trailing `/`: kept as written, valid only on a directory.
                if Path::new(&dir_of(base)).is_dir() {
                    next.push(format!("{base}/"));
                }
                continue;
            }
            if !has_magic(comp) {
                let p = join(base, comp);
                let ok = if last {
                    std::fs::symlink_metadata(&p).is_ok()
                } else {
                    Path::new(&p).is_dir()
                };
                if ok {
                    next.push(p);
                }
                continue;
            }
            next.extend(list(base, comp).into_iter().map(|name| join(base, &name)));
        }
        found = next;
    }
    found
}

/// The directory a partial result names (`""` is the current directory).
fn dir_of(base: &str) -> String {
    if base.is_empty() {
        ".".into()
    } else {
        base.to_string()
    }
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

/// The names in `base` matching the wildcard component `comp`, sorted.
fn list(base: &str, comp: &str) -> Vec<String> {
    let pat = Pattern::new(comp);
    let Ok(entries) = std::fs::read_dir(dir_of(base)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| (!n.starts_with('.') || comp.starts_with('.')) && pat.is_match(n))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn matches_components_and_skips_hidden_names() {
        let d = std::env::temp_dir().join(format!("baton-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("a1/sub")).unwrap();
        std::fs::create_dir_all(d.join("b2")).unwrap();
        for f in ["a1/x.txt", "a1/.h.txt", "b2/y.txt", "b2/z.log"] {
            std::fs::write(d.join(f), "").unwrap();
        }
        let base = d.display().to_string();
        let g = |p: &str| glob(&format!("{base}/{p}"));
        let strip = |v: Vec<String>| -> Vec<String> {
            v.into_iter()
                .map(|s| s[base.len() + 1..].to_string())
                .collect()
        };
        assert_eq!(strip(g("*/*.txt")), ["a1/x.txt", "b2/y.txt"]);
        assert_eq!(strip(g("a1/.*")), ["a1/.h.txt"]);
        assert_eq!(strip(g("a1/*")), ["a1/sub", "a1/x.txt"]);
        assert_eq!(strip(g("[ab]?/z.log")), ["b2/z.log"]);
        assert_eq!(strip(g("a1/x.txt")), ["a1/x.txt"]);
        assert!(g("nope/*").is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
