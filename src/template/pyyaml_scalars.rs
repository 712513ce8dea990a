//! How the PyYAML-compatible emitter (`super`) writes one scalar: plain, single-quoted,
//! double-quoted (with escapes and folding at the width) or as a literal block, once the
//! emitter has chosen the style.

use super::{Emitter, is_break};

impl Emitter {
    /// libyaml's indentation and chomping hints of a block scalar.
    fn block_hints(&self, chars: &[char]) -> String {
        let mut hints = String::new();
        if let Some(first) = chars.first() {
            if *first == ' ' || is_break(*first) {
                hints.push_str(&self.opts.indent.to_string());
            }
            let last = chars[chars.len() - 1];
            if !is_break(last) {
                hints.push('-');
            } else if chars.len() == 1 || is_break(chars[chars.len() - 2]) {
                hints.push('+');
            }
        }
        hints
    }

    /// A folded block scalar (`>`): a line break between two non-blank lines is written as a
    /// blank line, and long lines are folded at a space past the width.
    pub(super) fn write_folded(&mut self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        let hints = self.block_hints(&chars);
        self.write_indicator(&format!(">{hints}"), true, false, false);
        self.write_line_break();
        let (mut leading_space, mut spaces, mut breaks) = (true, false, true);
        let (mut start, mut end) = (0usize, 0usize);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if breaks {
                if ch.is_none_or(|c| !is_break(c)) {
                    if !leading_space && ch.is_some_and(|c| c != ' ') && chars[start] == '\n' {
                        self.write_line_break();
                    }
                    leading_space = ch == Some(' ');
                    for _ in start..end {
                        self.write_line_break();
                    }
                    if ch.is_some() {
                        self.write_indent();
                    }
                    start = end;
                }
            } else if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.opts.width {
                        self.write_indent();
                    } else {
                        let s: String = chars[start..end].iter().collect();
                        self.write(&s);
                    }
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c)) {
                let s: String = chars[start..end].iter().collect();
                self.write(&s);
                if ch.is_none() {
                    self.write_line_break();
                }
                start = end;
            }
            if let Some(c) = ch {
                breaks = is_break(c);
                spaces = c == ' ';
            }
            end += 1;
        }
    }

    /// A literal block scalar (`|`), with libyaml's indentation and chomping hints.
    pub(super) fn write_literal(&mut self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        let hints = self.block_hints(&chars);
        self.write_indicator(&format!("|{hints}"), true, false, false);
        self.write_line_break();
        let mut breaks = true;
        let (mut start, mut end) = (0, 0);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if breaks {
                if ch.is_none_or(|c| !is_break(c)) {
                    for _ in start..end {
                        self.write_line_break();
                    }
                    if ch.is_some() {
                        self.write_indent();
                    }
                    start = end;
                }
            } else if ch.is_none_or(is_break) {
                let line: String = chars[start..end].iter().collect();
                self.write(&line);
                if ch.is_none() {
                    self.write_line_break();
                }
                start = end;
            }
            if let Some(c) = ch {
                breaks = is_break(c);
            }
            end += 1;
        }
    }

    pub(super) fn write_plain(&mut self, text: &str, split: bool) {
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let (mut start, mut end) = (0usize, 0usize);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.opts.width && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        let s: String = chars[start..end].iter().collect();
                        self.write(&s);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    if chars[start] == '\n' {
                        self.write_line_break();
                    }
                    for _ in start..end {
                        self.write_line_break();
                    }
                    self.write_indent();
                    self.whitespace = false;
                    self.indention = false;
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c)) {
                let s: String = chars[start..end].iter().collect();
                self.write(&s);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
    }

    pub(super) fn write_single_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let (mut start, mut end) = (0usize, 0usize);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > self.opts.width
                        && split
                        && start != 0
                        && end != chars.len()
                    {
                        self.write_indent();
                    } else {
                        let s: String = chars[start..end].iter().collect();
                        self.write(&s);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    if chars[start] == '\n' {
                        self.write_line_break();
                    }
                    for _ in start..end {
                        self.write_line_break();
                    }
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c) || c == '\'') && start < end {
                let s: String = chars[start..end].iter().collect();
                self.write(&s);
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
        self.write_indicator("'", false, false, false);
    }

    pub(super) fn write_double_quoted(&mut self, text: &str, split: bool) {
        // libyaml's writer (ansible's dumper is libyaml's): a space past the width becomes a
        // line break (escaped when another space follows), never the first or last character.
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let needs_escape = "\"\\\u{85}\u{2028}\u{2029}\u{FEFF}".contains(c)
                || !((' '..='~').contains(&c)
                    || ('\u{A0}'..='\u{D7FF}').contains(&c)
                    || ('\u{E000}'..='\u{FFFD}').contains(&c));
            if needs_escape {
                let esc = match c {
                    '\0' => "\\0".to_string(),
                    '\x07' => "\\a".to_string(),
                    '\x08' => "\\b".to_string(),
                    '\t' => "\\t".to_string(),
                    '\n' => "\\n".to_string(),
                    '\x0B' => "\\v".to_string(),
                    '\x0C' => "\\f".to_string(),
                    '\r' => "\\r".to_string(),
                    '\x1B' => "\\e".to_string(),
                    '"' => "\\\"".to_string(),
                    '\\' => "\\\\".to_string(),
                    '\u{85}' => "\\N".to_string(),
                    '\u{A0}' => "\\_".to_string(),
                    '\u{2028}' => "\\L".to_string(),
                    '\u{2029}' => "\\P".to_string(),
                    c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                    c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                    c => format!("\\U{:08X}", c as u32),
                };
                self.write(&esc);
                spaces = false;
            } else if c == ' ' {
                if split
                    && !spaces
                    && self.column > self.opts.width
                    && i != 0
                    && i + 1 != chars.len()
                {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.write("\\");
                    }
                } else {
                    self.write(" ");
                }
                spaces = true;
            } else {
                let mut buf = [0u8; 4];
                self.write(c.encode_utf8(&mut buf));
                spaces = false;
            }
            i += 1;
        }
        self.write_indicator("\"", false, false, false);
    }
}
