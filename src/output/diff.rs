//! `--diff` output: the `diff` a module returns, shown as ansible-playbook's default callback
//! shows it (Python's `difflib.unified_diff`, three lines of context, `before:`/`after:`
//! headers, "\ No newline at end of file" markers), from a small Myers line diff.

use crate::value;
use serde_json::Value as Json;

/// The text to print for a result's `diff` (one mapping or a list of them); empty when there is
/// nothing to show.
pub fn render(diff: &Json) -> String {
    let items: Vec<&Json> = match diff {
        Json::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = String::new();
    for d in items {
        let Json::Object(o) = d else { continue };
        if let (Some(before), Some(after)) = (o.get("before"), o.get("after")) {
            let text = |v: &Json| match v {
                Json::Null => String::new(),
                Json::String(s) => s.clone(),
                other => format!("{}\n", value::ansible_json(&value::sort_keys(other))),
            };
            let header = |key: &str, word: &str| match o.get(key) {
                Some(Json::String(h)) => format!("{word}: {h}"),
                Some(Json::Null) | None => word.to_string(),
                Some(other) => format!("{word}: {other}"),
            };
            let lines = unified(
                &text(before),
                &text(after),
                &header("before_header", "before"),
                &header("after_header", "after"),
                3,
            );
            if !lines.is_empty() {
                out.push_str(&lines.concat());
                out.push('\n');
            }
        }
        if let Some(Json::String(p)) = o.get("prepared") {
            out.push_str(p);
        }
    }
    out
}

/// Lines with their endings kept, as Python's `splitlines(True)`, with Ansible's marker after a
/// last line that has no newline.
fn lines_of(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if let Some(last) = lines.last_mut()
        && !last.ends_with('\n')
    {
        last.push_str("\n\\ No newline at end of file\n");
    }
    lines
}

/// An edit script between two line lists: for each step, `(kind, a_index, b_index)` where kind
/// is ' ' (both), '-' (only in a) or '+' (only in b). Myers' O(ND) algorithm.
fn edits(a: &[String], b: &[String]) -> Vec<(char, usize, usize)> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (n + m) as usize;
    let offset = max as isize + 1;
    let mut v = vec![0isize; 2 * max + 3];
    let mut trace: Vec<Vec<isize>> = Vec::new();
    'outer: for d in 0..=max as isize {
        trace.push(v.clone());
        let mut k = -d;
        while k <= d {
            let idx = (k + offset) as usize;
            let mut x = if k == -d || (k != d && v[idx - 1] < v[idx + 1]) {
                v[idx + 1]
            } else {
                v[idx - 1] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[idx] = x;
            if x >= n && y >= m {
                break 'outer;
            }
            k += 2;
        }
    }
    // Walk back through the saved frontiers.
    let mut script = Vec::new();
    let (mut x, mut y) = (n, m);
    for (d, v) in trace.iter().enumerate().rev() {
        let d = d as isize;
        let k = x - y;
        let idx = (k + offset) as usize;
        let prev_k = if k == -d || (k != d && v[idx - 1] < v[idx + 1]) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = v[(prev_k + offset) as usize];
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            x -= 1;
            y -= 1;
            script.push((' ', x as usize, y as usize));
        }
        if d > 0 {
            if x == prev_x {
                y -= 1;
                script.push(('+', x as usize, y as usize));
            } else {
                x -= 1;
                script.push(('-', x as usize, y as usize));
            }
        }
        (x, y) = (prev_x, prev_y);
    }
    script.reverse();
    script
}

/// difflib's range format: `start,length`, `start` alone for one line, `start-1,0` for none.
fn range(start: usize, len: usize) -> String {
    match len {
        1 => format!("{}", start + 1),
        0 => format!("{},0", start),
        _ => format!("{},{}", start + 1, len),
    }
}

/// `difflib.unified_diff` with empty file dates.
pub fn unified(before: &str, after: &str, from: &str, to: &str, context: usize) -> Vec<String> {
    let (a, b) = (lines_of(before), lines_of(after));
    let script = edits(&a, &b);
    let changes: Vec<usize> = script
        .iter()
        .enumerate()
        .filter(|(_, (k, _, _))| *k != ' ')
        .map(|(i, _)| i)
        .collect();
    if changes.is_empty() {
        return Vec::new();
    }
    // Group changes whose context overlaps, as difflib's get_grouped_opcodes does.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for &c in &changes {
        let lo = c.saturating_sub(context);
        let hi = (c + context + 1).min(script.len());
        match groups.last_mut() {
            Some(g) if lo <= g.1 => g.1 = hi.max(g.1),
            _ => groups.push((lo, hi)),
        }
    }
    let mut out = vec![format!("--- {from}\n"), format!("+++ {to}\n")];
    for (lo, hi) in groups {
        let part = &script[lo..hi];
        let a_start = part
            .iter()
            .find(|s| s.0 != '+')
            .map(|s| s.1)
            .unwrap_or(part[0].1);
        let b_start = part
            .iter()
            .find(|s| s.0 != '-')
            .map(|s| s.2)
            .unwrap_or(part[0].2);
        let a_len = part.iter().filter(|s| s.0 != '+').count();
        let b_len = part.iter().filter(|s| s.0 != '-').count();
        out.push(format!(
            "@@ -{} +{} @@\n",
            range(a_start, a_len),
            range(b_start, b_len)
        ));
        for &(kind, ai, bi) in part {
            let line = if kind == '+' { &b[bi] } else { &a[ai] };
            out.push(format!("{kind}{line}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_difflib() {
        // Expected output taken from Python:
        // python3 -c "import difflib,sys; sys.stdout.writelines(difflib.unified_diff(
        //   ['a\n','b\n','c\n','d\n','e\n','f\n','g\n','h\n'], ['a\n','B\n','c\n','d\n','e\n','f\n','g\n','h\n','i\n'],
        //   fromfile='before: /f', tofile='after: /f', n=3))"
        let before = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let after = "a\nB\nc\nd\ne\nf\ng\nh\ni\n";
        let got = unified(before, after, "before: /f", "after: /f", 3).concat();
        assert_eq!(
            got,
            "--- before: /f\n+++ after: /f\n@@ -1,8 +1,9 @@\n a\n-b\n+B\n c\n d\n e\n f\n g\n h\n+i\n"
        );
    }

    #[test]
    fn new_file_and_missing_newline() {
        let got = unified("", "x\ny", "before", "after: /n", 3).concat();
        assert_eq!(
            got,
            "--- before\n+++ after: /n\n@@ -0,0 +1,2 @@\n+x\n+y\n\\ No newline at end of file\n"
        );
        assert!(unified("same\n", "same\n", "a", "b", 3).is_empty());
    }
}

#[cfg(test)]
mod split_tests {
    #[test]
    fn far_apart_changes_make_separate_hunks_like_difflib() {
        let a: String = (1..=20).map(|i| format!("l{i}\n")).collect();
        let mut b: Vec<String> = (1..=20).map(|i| format!("l{i}\n")).collect();
        b[1] = "X\n".into();
        b[14] = "Y\n".into();
        b.remove(17);
        let got = super::unified(&a, &b.concat(), "before", "after", 3).concat();
        assert_eq!(got, include_str!("diff_split_expected.txt"));
    }
}
