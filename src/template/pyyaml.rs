//! YAML output the way Ansible's `to_yaml` and `to_nice_yaml` write it.
//!
//! Those filters call PyYAML's `yaml.dump` (on libyaml's emitter) with sorted keys, and their
//! output ends up in configuration files on hosts, where a changed byte means a changed file and
//! a restarted service. So this is a port of the emitter's decisions for the data Jinja has
//! (mappings, sequences, strings, numbers, booleans, null): which collections go in flow style
//! (`default_flow_style=None`: those whose children are all scalars), indentation (sequences in
//! a mapping are not indented; a mapping in a sequence starts on the `- ` line), how each string
//! is quoted (plain unless it would read back as something else or holds special characters;
//! then single quotes, then double quotes), and where long lines are folded (at a space once
//! past the width, 80 by default).

use crate::value::Value;
use minijinja::value::ValueKind;
use regex::Regex;
use std::sync::OnceLock;

/// Options of `yaml.dump` that the filters pass.
#[derive(Debug, Clone, Copy)]
pub struct DumpOptions {
    /// `None`: flow style for collections of scalars; `Some(false)`: always block style;
    /// `Some(true)`: always flow style.
    pub default_flow_style: Option<bool>,
    pub indent: usize,
    pub width: usize,
    /// Write a list or mapping met again (the same one, [`crate::value::identity`]) as an
    /// alias of the first (`&id001` ... `*id001`), as PyYAML does for a Python object dumped
    /// twice (ansible-inventory's YAML of group variables shared by hosts).
    pub aliases: bool,
    /// A string holding a line break is written as a literal block (`|`), as the dumper of
    /// ansible-core's callbacks does for results (`callback_result_format = yaml`).
    pub literal_multiline: bool,
    /// With [`DumpOptions::literal_multiline`]: such a string is first made fit for a block
    /// (trailing whitespace, tabs, special characters and spaces before line breaks dropped),
    /// the callbacks' readable but lossy `callback_format_pretty`.
    pub lossy: bool,
    /// PyYAML's `default_style`: the style every scalar asks for (`"`, `'`, `|`, `>`), which
    /// the emitter honours where it can.
    pub default_style: Option<char>,
    /// PyYAML's `canonical`: an explicit document, every node tagged, scalars double-quoted,
    /// collections in flow style one entry a line.
    pub canonical: bool,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            default_flow_style: None,
            indent: 2,
            width: 80,
            aliases: false,
            literal_multiline: false,
            lossy: false,
            default_style: None,
            canonical: false,
        }
    }
}

/// The representation graph: what `yaml.dump`'s representer makes of a value.
enum Node {
    /// A scalar with its text, and whether that text may be written plain (it reads back as the
    /// same type: false for a string like `'yes'` or `'123'`).
    Scalar {
        text: String,
        implicit: bool,
        /// The style asked for (`|` for [`DumpOptions::literal_multiline`], or
        /// [`DumpOptions::default_style`]): honoured where the emitter allows it.
        style: Option<char>,
        /// The YAML tag's suffix (`str`, `int`, ...): written in canonical form, and as `!` where
        /// a quoted style would make a non-string read back as a string.
        tag: &'static str,
    },
    Seq {
        items: Vec<Node>,
        flow: bool,
    },
    Map {
        pairs: Vec<(Node, Node)>,
        flow: bool,
    },
    /// A still-encrypted `!vault` value: Ansible's dumper writes its ciphertext as a literal
    /// block with the `!vault` tag.
    Vault(String),
    /// A list or mapping that may be met again ([`DumpOptions::aliases`]): its slot, whose
    /// anchor it gets if it is.
    Anchored(usize, Box<Node>),
    /// The list or mapping of a slot met again.
    Alias(usize),
}

/// What the representer learns about lists and mappings met more than once.
#[derive(Default)]
struct Anchors {
    /// Slot by identity.
    slots: std::collections::HashMap<usize, usize>,
    /// Anchor number by slot, in the order they were met the second time (PyYAML's order).
    numbers: std::collections::HashMap<usize, usize>,
}

fn represent(v: &Value, opts: &DumpOptions, anchors: &mut Anchors) -> Result<Node, String> {
    if let Some(ciphertext) = crate::value::vaulted::ciphertext(v) {
        return Ok(Node::Vault(ciphertext));
    }
    if let Some(t) = crate::value::timestamp::of(v) {
        return Ok(scalar(&t.python_str(), "timestamp", opts));
    }
    if opts.aliases
        && let Some(id) = crate::value::identity(v)
    {
        if let Some(&slot) = anchors.slots.get(&id) {
            let next = anchors.numbers.len() + 1;
            anchors.numbers.entry(slot).or_insert(next);
            return Ok(Node::Alias(slot));
        }
        let slot = anchors.slots.len();
        anchors.slots.insert(id, slot);
        let inner = represent_value(v, opts, anchors)?;
        return Ok(Node::Anchored(slot, Box::new(inner)));
    }
    represent_value(v, opts, anchors)
}

fn represent_value(v: &Value, opts: &DumpOptions, anchors: &mut Anchors) -> Result<Node, String> {
    Ok(match v.kind() {
        ValueKind::None | ValueKind::Undefined => scalar("null", "null", opts),
        ValueKind::Bool => scalar(if v.is_true() { "true" } else { "false" }, "bool", opts),
        ValueKind::Number => {
            if v.is_integer() {
                scalar(&v.to_string(), "int", opts)
            } else {
                let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                scalar(&yaml_float(f), "float", opts)
            }
        }
        ValueKind::String => {
            let s = v.as_str().unwrap_or("");
            if opts.literal_multiline && s.chars().any(is_break) {
                let text = if opts.lossy {
                    lossy_for_block(s)
                } else {
                    s.to_string()
                };
                return Ok(Node::Scalar {
                    text,
                    implicit: false,
                    style: Some('|'),
                    tag: "str",
                });
            }
            Node::Scalar {
                text: s.to_string(),
                implicit: resolves_to_str(s),
                style: opts.default_style,
                tag: "str",
            }
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Node> = v
                .try_iter()
                .map_err(|e| e.to_string())?
                .map(|i| represent(&i, opts, anchors))
                .collect::<Result<_, _>>()?;
            let flow = match opts.default_flow_style {
                Some(f) => f,
                // PyYAML: flow only for scalars that ask for no style.
                None => items.iter().all(plain_scalar),
            };
            Node::Seq { items, flow }
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = v.try_iter().map_err(|e| e.to_string())?.collect();
            // yaml.dump sorts keys (sort_keys=True).
            keys.sort_by(|a, b| match (a.as_str(), b.as_str()) {
                (Some(x), Some(y)) => x.cmp(y),
                _ => a.cmp(b),
            });
            let mut pairs = Vec::with_capacity(keys.len());
            for k in keys {
                let val = v.get_item(&k).unwrap_or_default();
                let key = represent(&k, opts, anchors)?;
                pairs.push((key, represent(&val, opts, anchors)?));
            }
            let flow = match opts.default_flow_style {
                Some(f) => f,
                None => pairs
                    .iter()
                    .all(|(k, v)| plain_scalar(k) && plain_scalar(v)),
            };
            Node::Map { pairs, flow }
        }
        other => {
            return Err(format!(
                "cannot represent an object of type {other} as YAML"
            ));
        }
    })
}

fn plain_scalar(n: &Node) -> bool {
    matches!(n, Node::Scalar { style: None, .. })
}

/// A scalar that is not a string: its text reads back as its type when written plain.
fn scalar(text: &str, tag: &'static str, opts: &DumpOptions) -> Node {
    Node::Scalar {
        text: text.to_string(),
        implicit: true,
        style: opts.default_style,
        tag,
    }
}

/// ansible-core's `_munge_data_for_lossy_yaml`: what keeps a multi-line string from being a
/// literal block is taken out of it (readability over accuracy).
fn lossy_for_block(s: &str) -> String {
    let trimmed = s.trim_end();
    // Python's expandtabs(8): a tab pads to the next multiple of 8 columns of its line.
    let mut out = String::with_capacity(trimmed.len());
    let mut column = 0;
    for c in trimmed.chars() {
        match c {
            '\t' => {
                let pad = 8 - column % 8;
                out.push_str(&" ".repeat(pad));
                column += pad;
            }
            '\n' | '\r' => {
                out.push(c);
                column = 0;
            }
            _ => {
                out.push(c);
                column += 1;
            }
        }
    }
    // Only what the emitter prints as it is stays (its "special characters" go).
    let printable: String = out
        .chars()
        .filter(|&c| {
            let ch = c as u32;
            (ch == 10
                || (32..=126).contains(&ch)
                || ch == 133
                || (160..=55295).contains(&ch)
                || (57344..=65533).contains(&ch)
                || (65536..1114111).contains(&ch))
                && ch != 65279
        })
        .collect();
    // Spaces before a line break.
    static SPACE_BREAK: OnceLock<Regex> = OnceLock::new();
    SPACE_BREAK
        .get_or_init(|| Regex::new("[ ]+([\n\u{85}\u{2028}\u{2029}])").expect("a valid pattern"))
        .replace_all(&printable, "$1")
        .into_owned()
}

/// `repr(float).lower()`, with `.0` added before an exponent as PyYAML's representer does.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let r = crate::value::python_float(f).to_lowercase();
    if !r.contains('.') && r.contains('e') {
        r.replacen('e', ".0e", 1)
    } else {
        r
    }
}

/// Whether a plain scalar with this text reads back as a string under YAML 1.1 (PyYAML's
/// implicit resolvers); if not, the string must be quoted.
fn resolves_to_str(s: &str) -> bool {
    static RESOLVERS: OnceLock<Vec<Regex>> = OnceLock::new();
    let resolvers = RESOLVERS.get_or_init(|| {
        [
            r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            r"^(?:<<)$",
            r"^(?:~|null|Null|NULL|)$",
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
            r"^(?:=)$",
        ]
        .iter()
        .map(|r| Regex::new(r).expect("the YAML resolver patterns are valid"))
        .collect()
    });
    !resolvers.iter().any(|r| r.is_match(s))
}

/// What the emitter learns about a scalar's text before choosing a style.
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
    allow_block: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    matches!(
        c,
        None | Some('\0' | ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
    )
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
            allow_block: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut block_ind, mut flow_ind) = (false, false);
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    if s.starts_with("---") || s.starts_with("...") {
        block_ind = true;
        flow_ind = true;
    }
    let mut preceded_by_ws = true;
    let mut prev_space = false;
    let mut prev_break = false;
    for (i, &ch) in chars.iter().enumerate() {
        let followed_by_ws = is_blank_or_end(chars.get(i + 1).copied());
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                flow_ind = true;
                block_ind = true;
            }
            if ch == '?' || ch == ':' {
                flow_ind = true;
                if followed_by_ws {
                    block_ind = true;
                }
            }
            if ch == '-' && followed_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        } else {
            if ",?[]{}".contains(ch) {
                flow_ind = true;
            }
            if ch == ':' {
                flow_ind = true;
                if followed_by_ws {
                    block_ind = true;
                }
            }
            if ch == '#' && preceded_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            let printable_unicode = (ch == '\u{85}'
                || ('\u{A0}'..='\u{D7FF}').contains(&ch)
                || ('\u{E000}'..='\u{FFFD}').contains(&ch)
                || ('\u{10000}'..'\u{10FFFF}').contains(&ch))
                && ch != '\u{FEFF}';
            // allow_unicode=True: printable non-ASCII is fine; anything else needs escapes.
            if !printable_unicode {
                special = true;
            }
        }
        if ch == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == chars.len() - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(ch) {
            if i == 0 {
                leading_break = true;
            }
            if i == chars.len() - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = "\0 \t\r\n\u{85}\u{2028}\u{2029}".contains(ch);
    }
    let mut a = Analysis {
        empty: false,
        multiline: line_breaks,
        allow_flow_plain: true,
        allow_block_plain: true,
        allow_single_quoted: true,
        allow_block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
    }
    if trailing_space {
        a.allow_block = false;
    }
    if break_space {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
        a.allow_single_quoted = false;
    }
    if space_break || special {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
        a.allow_single_quoted = false;
        a.allow_block = false;
    }
    if line_breaks {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
    }
    if flow_ind {
        a.allow_flow_plain = false;
    }
    if block_ind {
        a.allow_block_plain = false;
    }
    a
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
    Folded,
}

/// The emitter's state: where the cursor is and what indentation applies.
struct Emitter {
    out: String,
    opts: DumpOptions,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    flow_level: usize,
    column: usize,
    whitespace: bool,
    indention: bool,
    mapping_context: bool,
    simple_key_context: bool,
    /// Anchor number by slot, for the lists and mappings met more than once.
    anchors: std::collections::HashMap<usize, usize>,
}

impl Emitter {
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        match self.indent {
            None => self.indent = Some(if flow { self.opts.indent } else { 0 }),
            Some(i) if !indentless => self.indent = Some(i + self.opts.indent),
            Some(_) => {}
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(None);
    }

    fn write(&mut self, s: &str) {
        self.column += s.chars().count();
        self.out.push_str(s);
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, whitespace: bool, indention: bool) {
        if self.whitespace || !need_ws {
            self.write(ind);
        } else {
            self.write(&format!(" {ind}"));
        }
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break();
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = " ".repeat(indent - self.column);
            self.write(&pad);
        }
    }

    fn write_line_break(&mut self) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push('\n');
    }

    fn node(&mut self, n: &Node, root: bool, mapping: bool, simple_key: bool) {
        let _ = root;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match n {
            Node::Scalar {
                text,
                implicit,
                style,
                tag,
            } => {
                self.increase_indent(true, false);
                self.scalar(text, *implicit, *style, tag);
                self.pop_indent();
            }
            Node::Anchored(slot, inner) => {
                if let Some(n) = self.anchors.get(slot) {
                    self.write_indicator(&format!("&id{n:03}"), true, false, false);
                }
                self.node(inner, root, mapping, simple_key);
            }
            Node::Alias(slot) => {
                let n = self.anchors.get(slot).copied().unwrap_or(0);
                self.write_indicator(&format!("*id{n:03}"), true, false, false);
            }
            Node::Vault(text) => {
                self.increase_indent(true, false);
                self.write_indicator("!vault", true, false, false);
                self.write_literal(text);
                self.pop_indent();
            }
            Node::Seq { items, flow } => {
                if self.opts.canonical {
                    self.write_indicator("!!seq", true, false, false);
                }
                if self.flow_level > 0 || *flow || items.is_empty() || self.opts.canonical {
                    self.flow_sequence(items);
                } else {
                    let indentless = self.mapping_context && !self.indention;
                    self.increase_indent(false, indentless);
                    for item in items {
                        self.write_indent();
                        self.write_indicator("-", true, false, true);
                        self.node(item, false, false, false);
                    }
                    self.pop_indent();
                }
            }
            Node::Map { pairs, flow } => {
                if self.opts.canonical {
                    self.write_indicator("!!map", true, false, false);
                }
                if self.flow_level > 0 || *flow || pairs.is_empty() || self.opts.canonical {
                    self.flow_mapping(pairs);
                } else {
                    self.increase_indent(false, false);
                    for (k, v) in pairs {
                        self.write_indent();
                        if is_simple_key(k) {
                            self.node(k, false, true, true);
                            self.write_indicator(":", false, false, false);
                            self.node(v, false, true, false);
                        } else {
                            self.write_indicator("?", true, false, true);
                            self.node(k, false, true, false);
                            self.write_indent();
                            self.write_indicator(":", true, false, true);
                            self.node(v, false, true, false);
                        }
                    }
                    self.pop_indent();
                }
            }
        }
    }

    fn flow_sequence(&mut self, items: &[Node]) {
        self.write_indicator("[", true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.opts.canonical || self.column > self.opts.width {
                self.write_indent();
            }
            self.node(item, false, false, false);
        }
        self.pop_indent();
        self.flow_level -= 1;
        if self.opts.canonical && !items.is_empty() {
            self.write_indicator(",", false, false, false);
            self.write_indent();
        }
        self.write_indicator("]", false, false, false);
    }

    fn flow_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.write_indicator("{", true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.opts.canonical || self.column > self.opts.width {
                self.write_indent();
            }
            if !self.opts.canonical && is_simple_key(k) {
                self.node(k, false, true, true);
                self.write_indicator(":", false, false, false);
                self.node(v, false, true, false);
            } else {
                self.write_indicator("?", true, false, false);
                self.node(k, false, true, false);
                if self.opts.canonical || self.column > self.opts.width {
                    self.write_indent();
                }
                self.write_indicator(":", true, false, false);
                self.node(v, false, true, false);
            }
        }
        self.pop_indent();
        self.flow_level -= 1;
        if self.opts.canonical && !pairs.is_empty() {
            self.write_indicator(",", false, false, false);
            self.write_indent();
        }
        self.write_indicator("}", false, false, false);
    }

    /// libyaml's `yaml_emitter_select_scalar_style`: the style asked for (plain when none)
    /// where the scalar and its place allow it, else the next that does.
    fn choose_style(&self, a: &Analysis, implicit: bool, asked: Option<char>) -> Style {
        let flow = self.flow_level > 0;
        let mut style = match asked {
            Some('"') => Style::Double,
            Some('\'') => Style::Single,
            Some('|') => Style::Literal,
            Some('>') => Style::Folded,
            _ => Style::Plain,
        };
        if self.opts.canonical || (self.simple_key_context && a.multiline) {
            style = Style::Double;
        }
        if style == Style::Plain
            && ((flow && !a.allow_flow_plain)
                || (!flow && !a.allow_block_plain)
                || (a.empty && (flow || self.simple_key_context))
                || !implicit)
        {
            style = Style::Single;
        }
        if style == Style::Single && !a.allow_single_quoted {
            style = Style::Double;
        }
        if matches!(style, Style::Literal | Style::Folded)
            && (!a.allow_block || flow || self.simple_key_context)
        {
            style = Style::Double;
        }
        style
    }

    fn scalar(&mut self, text: &str, implicit: bool, asked: Option<char>, tag: &str) {
        let a = analyze(text);
        let split = !self.simple_key_context;
        let style = self.choose_style(&a, implicit, asked);
        if self.opts.canonical {
            self.write_indicator(&format!("!!{tag}"), true, false, false);
        } else if tag != "str" && style != Style::Plain {
            // A quoted non-string would read back as a string: libyaml's non-specific tag.
            self.write_indicator("!", true, false, false);
        }
        match style {
            Style::Plain => self.write_plain(text, split),
            Style::Single => self.write_single_quoted(text, split),
            Style::Double => self.write_double_quoted(text, split),
            Style::Literal => self.write_literal(text),
            Style::Folded => self.write_folded(text),
        }
    }
}

fn is_simple_key(n: &Node) -> bool {
    match n {
        Node::Scalar { text, .. } => {
            let a = analyze(text);
            text.chars().count() < 128 && !a.empty && !a.multiline
        }
        Node::Seq { items, .. } => items.is_empty(),
        Node::Map { pairs, .. } => pairs.is_empty(),
        Node::Vault(_) => false,
        Node::Anchored(_, inner) => is_simple_key(inner),
        Node::Alias(_) => true,
    }
}

/// `yaml.dump(value)` with Ansible's dumper settings.
pub fn dump(v: &Value, opts: DumpOptions) -> Result<String, String> {
    let mut opts = opts;
    // PyYAML ignores an indent outside 2..=9 and a width not above twice the indent.
    if !(2..10).contains(&opts.indent) {
        opts.indent = 2;
    }
    if opts.width <= opts.indent * 2 {
        opts.width = 80;
    }
    let mut anchors = Anchors::default();
    let node = represent(v, &opts, &mut anchors)?;
    let mut e = Emitter {
        out: String::new(),
        opts,
        indent: None,
        indents: Vec::new(),
        flow_level: 0,
        column: 0,
        whitespace: true,
        indention: true,
        mapping_context: false,
        simple_key_context: false,
        anchors: anchors.numbers,
    };
    // An empty plain root scalar needs an explicit document start; libyaml writes `''` for it
    // instead, which is what the representer's quoting gives here.
    if e.opts.canonical {
        e.write_indicator("---", true, false, false);
        e.write_indent();
    }
    e.node(&node, true, false, false);
    e.write_indent();
    if !e.out.ends_with('\n') {
        e.out.push('\n');
    }
    Ok(e.out)
}

#[path = "pyyaml_scalars.rs"]
mod scalars;

#[cfg(test)]
#[path = "pyyaml_tests.rs"]
mod tests;
