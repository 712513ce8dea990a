//! YAML read the way Ansible reads it, into a tree where every node knows where it came from.
//!
//! Ansible loads YAML with PyYAML, which implements YAML 1.1: unquoted `yes`/`no`/`on`/`off` are
//! booleans, `0644` is octal, `1_000` is an integer, `1e3` is a string (PyYAML's float needs a dot
//! and a signed exponent), merge keys (`<<`) work, and the tags `!vault` and `!unsafe` are Ansible's.
//! This module owns that resolution. Parsing is done by `saphyr-parser` (events with positions);
//! this module builds [`Node`]s with [`Span`]s from those events, so that everything downstream can
//! point at the exact line and column a value came from.
//!
//! Aliases stay shared, as PyYAML keeps them: a sequence or mapping is reference-counted, and an
//! alias is one more reference to its anchor's node, not a copy. A "billion laughs" vars file
//! (ten levels of nine aliases each) is a few hundred nodes in memory, as it is for
//! ansible-playbook, and stays so as variables (`crate::value::from_node` keeps the sharing).
//! Code that walks a tree node by node (the playbook model, inventories) would still visit every
//! repetition, so documents read as structure ([`Aliases::Budgeted`]) are refused once their
//! aliases stand for more than [`ALIAS_BUDGET`] nodes, at the alias that crossed the line. What
//! becomes variables is not walked that way: vars files are read with [`Aliases::Shared`], and
//! in a structure document the aliases inside a `vars:` section do not count, so a vars file or
//! a play's `vars:` that nothing uses loads whatever its aliases stand for, as in Ansible.
//!
//! A key written twice in one mapping keeps its last value with a warning, as Ansible warns
//! ("Found duplicate mapping key"); the warnings come back with the document ([`Loaded`]) so the
//! caller sends them down the one warning path of the run.

use crate::diagnostics::{Error, ErrorKind, Pos, Source, Span};
use regex::Regex;
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// How many nodes the aliases of a document read as structure may stand for, in all: far more
/// than any real playbook or inventory repeats, far less than what exhausts memory.
pub const ALIAS_BUDGET: u64 = 1_000_000;

/// How deep collections may nest. Everything downstream (conversion to values, templating,
/// output, even dropping a tree) recurses once per level; PyYAML stops at Python's recursion
/// limit, around the same depth.
pub const MAX_NESTING: usize = 1000;

/// One YAML value with the place it was written.
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

/// The resolved YAML 1.1 value of a node.
#[derive(Debug, Clone)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Shared by every alias of the sequence (see the module documentation).
    Seq(Arc<Vec<Node>>),
    /// Keys in the order written; a key written twice keeps its first place and its last value,
    /// like a Python dict. Shared by every alias of the mapping.
    Map(Arc<Vec<(Node, Node)>>),
    /// `!vault |` ciphertext, decrypted lazily when used.
    Vault(String),
    /// `!unsafe` text, never templated.
    Unsafe(String),
    /// A plain YAML 1.1 timestamp (`2024-01-01`, `2024-01-01 12:01:01`): PyYAML makes it a
    /// `date` or `datetime`, not text. The text as written.
    Timestamp(String),
}

/// How a document's aliases are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aliases {
    /// Structure that code walks node by node (playbooks, task files, role metadata,
    /// inventories): aliases may stand for at most [`ALIAS_BUDGET`] nodes in all, not counting
    /// those inside a `vars:` section (variables keep the sharing).
    Budgeted,
    /// Data that becomes variables (vars files, `group_vars`, `include_vars`): aliases stay
    /// shared whatever they stand for, as in Ansible, which loads such a file if nothing uses it.
    Shared,
}

/// A document and what reading it found worth a warning.
#[derive(Debug)]
pub struct Loaded {
    pub node: Node,
    /// Rendered warnings (message, location, quoted line), for the run's warning path.
    pub warnings: Vec<String>,
}

impl Node {
    /// A short word for the node's type, for messages ("a string", "a list"...).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a float",
            NodeKind::Str(_) | NodeKind::Unsafe(_) => "a string",
            NodeKind::Vault(_) => "a vaulted string",
            NodeKind::Timestamp(_) => "a timestamp",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) | NodeKind::Unsafe(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// The text of a scalar as Python's `str()` would give it, for keys and free-form values.
    pub fn scalar_text(&self) -> Option<String> {
        Some(match &self.kind {
            NodeKind::Null => "None".to_string(),
            NodeKind::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => crate::text::python_float(*f),
            NodeKind::Str(s) | NodeKind::Unsafe(s) | NodeKind::Vault(s) => s.clone(),
            NodeKind::Timestamp(s) => crate::text::timestamp::Timestamp::parse(s)
                .map_or_else(|| s.clone(), |t| t.python_str()),
            NodeKind::Seq(_) | NodeKind::Map(_) => return None,
        })
    }

    /// Looks a key up in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// An error pointing at this node.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::syntax(&self.span, message)
    }
}

/// Parses the first YAML document of a source, read as structure ([`Aliases::Budgeted`]);
/// warnings are dropped. An empty source is a null node.
pub fn parse(source: &Arc<Source>) -> Result<Node, Error> {
    load(source, Aliases::Budgeted).map(|l| l.node)
}

/// Parses the only YAML document of a source, with the warnings reading it gave.
pub fn load(source: &Arc<Source>, aliases: Aliases) -> Result<Loaded, Error> {
    let (mut docs, warnings) = build(source, aliases)?;
    if docs.len() > 1 {
        return Err(docs
            .swap_remove(1)
            .error("expected a single document in the stream, but found another document"));
    }
    let node = docs.pop().unwrap_or_else(|| Node {
        kind: NodeKind::Null,
        span: Span::point(source.clone(), Pos { line: 1, col: 1 }),
    });
    Ok(Loaded { node, warnings })
}

/// Parses every document of a source, read as structure; warnings are dropped.
pub fn parse_all(source: &Arc<Source>) -> Result<Vec<Node>, Error> {
    build(source, Aliases::Budgeted).map(|(docs, _)| docs)
}

/// How many lines of one document may be shifted right for saphyr (see [`build`]) before its
/// refusal stands: far more than any hand-written file needs, few enough that the re-reads stay
/// cheap.
const MAX_SHIFTED_LINES: usize = 256;

/// Builds the documents of a source.
///
/// saphyr follows the YAML spec's indentation rule inside flow collections (their lines must be
/// indented past the enclosing block), PyYAML has no such rule: a
/// `key: {` whose entries or closing `}` sit in column 0 loads under Ansible. So where saphyr
/// refuses such a line, the line is shifted right (leading spaces change no value there: flow
/// line folding drops them) and the source read again; positions are mapped back to the text as
/// written, so spans and later errors still point at the user's line and column.
fn build(source: &Arc<Source>, aliases: Aliases) -> Result<(Vec<Node>, Vec<String>), Error> {
    let mut shifts = Shifts::default();
    loop {
        match build_shifted(source, aliases, &shifts) {
            Ok(built) => return Ok(built),
            Err(refused) => match *refused {
                (_, Some((line, cols)))
                    if shifts.lines.len() < MAX_SHIFTED_LINES
                        && !shifts.lines.contains_key(&line) =>
                {
                    shifts.lines.insert(line, cols);
                }
                (error, _) => return Err(error),
            },
        }
    }
}

/// Lines (1-based) shifted right by a number of columns for saphyr.
#[derive(Default)]
struct Shifts {
    lines: std::collections::BTreeMap<usize, usize>,
}

impl Shifts {
    /// The source's text with the shifted lines' spaces in.
    fn apply<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if self.lines.is_empty() {
            return text.into();
        }
        let mut out = String::with_capacity(text.len() + self.lines.values().sum::<usize>());
        for (i, line) in text.split_inclusive('\n').enumerate() {
            if let Some(&cols) = self.lines.get(&(i + 1)) {
                out.extend(std::iter::repeat_n(' ', cols));
            }
            out.push_str(line);
        }
        out.into()
    }

    /// A saphyr position as a position in the text as written (columns from 1).
    fn pos(&self, m: &saphyr_parser::Marker) -> Pos {
        let shift = self.lines.get(&m.line()).copied().unwrap_or(0);
        Pos {
            line: m.line(),
            col: m.col().saturating_sub(shift) + 1,
        }
    }
}

/// Why a read stopped: the error, and for a refusal PyYAML would not make, the line to shift
/// right and by how much.
type Refused = (Error, Option<(usize, usize)>);

/// One read of a source (see [`Refused`]).
fn build_shifted(
    source: &Arc<Source>,
    aliases: Aliases,
    shifts: &Shifts,
) -> Result<(Vec<Node>, Vec<String>), Box<Refused>> {
    let mut builder = Builder {
        anchors: HashMap::new(),
        stack: Vec::new(),
        docs: Vec::new(),
        aliases,
        expanded: 0,
        warnings: Vec::new(),
    };
    let text = shifts.apply(&source.text);
    for item in Parser::new_from_str(&text) {
        let (event, span) = item.map_err(|e| {
            let m = e.marker();
            let error = Error::syntax(
                &Span::point(source.clone(), shifts.pos(m)),
                format!("YAML syntax error: {}", e.info()),
            );
            Box::new((error, builder.shift_for(e.info(), m.line(), source, shifts)))
        })?;
        let span = Span {
            source: source.clone(),
            start: shifts.pos(&span.start),
            end: shifts.pos(&span.end),
        };
        builder
            .event(event, span)
            .map_err(|e| Box::new((e, None)))?;
    }
    Ok((builder.docs, builder.warnings))
}

/// A collection being built from events. `weight` counts the nodes it stands for with its
/// aliases expanded (itself included), for the alias budget.
enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
        weight: u64,
    },
    Map {
        entries: Vec<(Node, Node)>,
        /// Mappings pulled in with `<<`, applied when the mapping ends.
        merges: Vec<Node>,
        pending_key: Option<Node>,
        span: Span,
        anchor: usize,
        weight: u64,
    },
}

struct Builder {
    /// Anchored nodes with their expanded weight.
    anchors: HashMap<usize, (Node, u64)>,
    stack: Vec<Frame>,
    docs: Vec<Node>,
    aliases: Aliases,
    /// Nodes the aliases of the current document stand for, so far.
    expanded: u64,
    warnings: Vec<String>,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Error> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| t.to_string());
                let is_merge = style == ScalarStyle::Plain && text == "<<" && tag.is_none();
                let kind = resolve_scalar(&text, style, tag.as_deref())
                    .map_err(|m| Error::syntax(&span, m))?;
                let node = Node { kind, span };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.push(node, 1, is_merge)
            }
            Event::Alias(id) => {
                let (node, weight) = self.anchors.get(&id).cloned().ok_or_else(|| {
                    Error::syntax(&span, "found an alias to an anchor that is not defined")
                })?;
                if self.aliases == Aliases::Budgeted && !self.in_vars() {
                    self.expanded = self.expanded.saturating_add(weight);
                }
                if self.expanded > ALIAS_BUDGET {
                    return Err(Error::syntax(
                        &span,
                        format!(
                            "the aliases of this document stand for more than {ALIAS_BUDGET} \
                             nodes (an alias bomb?); this alias crossed the limit"
                        ),
                    )
                    .with_help(
                        "large repeated data belongs in a vars file, where aliases stay shared",
                    ));
                }
                // The anchor's node itself (its collection shared), placed where the alias is.
                let node = Node { span, ..node };
                self.push(node, weight, false)
            }
            Event::SequenceStart(anchor, _tag) => {
                self.nest(&span)?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    span,
                    anchor,
                    weight: 1,
                });
                Ok(())
            }
            Event::MappingStart(anchor, _tag) => {
                self.nest(&span)?;
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    merges: Vec::new(),
                    pending_key: None,
                    span,
                    anchor,
                    weight: 1,
                });
                Ok(())
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    items,
                    span,
                    anchor,
                    weight,
                }) => self.finish(
                    Node {
                        kind: NodeKind::Seq(Arc::new(items)),
                        span,
                    },
                    anchor,
                    weight,
                ),
                _ => Err(self.internal(&span)),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    entries,
                    merges,
                    span,
                    anchor,
                    weight,
                    ..
                }) => {
                    let entries = apply_merges(entries, merges)?;
                    self.finish(
                        Node {
                            kind: NodeKind::Map(Arc::new(entries)),
                            span,
                        },
                        anchor,
                        weight,
                    )
                }
                _ => Err(self.internal(&span)),
            },
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => Ok(()),
        }
    }

    /// For saphyr's refusal of a line's indentation: the line and the columns to shift it by, when
    /// PyYAML would have read it (inside a flow collection). The
    /// shift puts the line past every open collection's start, so past the indentation saphyr
    /// wants (the enclosing block's, plus one).
    fn shift_for(
        &self,
        info: &str,
        line: usize,
        source: &Source,
        shifts: &Shifts,
    ) -> Option<(usize, usize)> {
        if !info.starts_with("invalid indentation") || info == "invalid indentation for anchor" {
            return None;
        }
        let starts = self.stack.iter().map(|f| match f {
            Frame::Seq { span, .. } | Frame::Map { span, .. } => &span.start,
        });
        let mut in_flow = false;
        let mut past = 0;
        for start in starts {
            let text = source.text.lines().nth(start.line - 1).unwrap_or("");
            let col = start.col - 1;
            in_flow |= matches!(text.chars().nth(col), Some('{' | '['));
            past = past.max(col + shifts.lines.get(&start.line).copied().unwrap_or(0) + 1);
        }
        in_flow.then_some((line, past))
    }

    fn internal(&self, span: &Span) -> Error {
        Error::new(ErrorKind::Internal, "unbalanced YAML events").at(span)
    }

    /// Whether the node being built is inside a `vars:` section (the value of a `vars` key).
    fn in_vars(&self) -> bool {
        self.stack.iter().any(
            |f| matches!(f, Frame::Map { pending_key: Some(k), .. } if k.as_str() == Some("vars")),
        )
    }

    /// Refuses one more level of nesting past [`MAX_NESTING`].
    fn nest(&self, span: &Span) -> Result<(), Error> {
        if self.stack.len() >= MAX_NESTING {
            return Err(Error::syntax(
                span,
                format!("lists and mappings nest more than {MAX_NESTING} levels deep here"),
            ));
        }
        Ok(())
    }

    fn finish(&mut self, node: Node, anchor: usize, weight: u64) -> Result<(), Error> {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), weight));
        }
        self.push(node, weight, false)
    }

    /// Adds a finished node (standing for `weight` nodes) to the collection being built, or
    /// ends a document.
    fn push(&mut self, node: Node, weight: u64, is_merge_key: bool) -> Result<(), Error> {
        match self.stack.last_mut() {
            None => {
                self.docs.push(node);
                self.anchors.clear();
                self.expanded = 0;
                Ok(())
            }
            Some(Frame::Seq {
                items, weight: w, ..
            }) => {
                *w = w.saturating_add(weight);
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                merges,
                pending_key,
                weight: w,
                ..
            }) => {
                *w = w.saturating_add(weight);
                match pending_key.take() {
                    None => {
                        if matches!(node.kind, NodeKind::Seq(_) | NodeKind::Map(_)) {
                            return Err(node.error(
                                "a mapping key must be a plain value, not a list or a mapping",
                            ));
                        }
                        let mut key = node;
                        if is_merge_key {
                            // Marked so the value that follows goes to the merges.
                            key.kind = NodeKind::Unsafe("<<".to_string());
                        }
                        *pending_key = Some(key);
                    }
                    Some(key) => {
                        if matches!(&key.kind, NodeKind::Unsafe(s) if s == "<<") {
                            merges.push(node);
                        } else if insert_entry(entries, key.clone(), node) {
                            self.warnings.push(duplicate_key_warning(&key));
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

/// Ansible's warning for a key written twice in one mapping (2.19's wording), pointing at the
/// second one.
fn duplicate_key_warning(key: &Node) -> String {
    let name = key.scalar_text().unwrap_or_default();
    Error::syntax(&key.span, format!("Found duplicate mapping key '{name}'."))
        .context("Using last defined value only.")
        .to_string()
}

/// Inserts a key, replacing the value of an equal key in place (Python dict semantics); true
/// when it replaced one.
fn insert_entry(entries: &mut Vec<(Node, Node)>, key: Node, value: Node) -> bool {
    let id = key_identity(&key);
    if let Some(slot) = entries.iter_mut().find(|(k, _)| key_identity(k) == id) {
        slot.1 = value;
        true
    } else {
        entries.push((key, value));
        false
    }
}

fn key_identity(node: &Node) -> String {
    match &node.kind {
        NodeKind::Str(s) | NodeKind::Unsafe(s) | NodeKind::Vault(s) => format!("s{s}"),
        other => format!("{other:?}"),
    }
}

/// PyYAML's merge: keys written in the mapping win over merged ones; of the merged mappings the
/// earlier one wins. Merged keys come first in the result, as PyYAML orders them.
fn apply_merges(entries: Vec<(Node, Node)>, merges: Vec<Node>) -> Result<Vec<(Node, Node)>, Error> {
    if merges.is_empty() {
        return Ok(entries);
    }
    let mut merged: Vec<(Node, Node)> = Vec::new();
    let mut sources = Vec::new();
    for m in merges {
        match &m.kind {
            NodeKind::Map(_) => sources.push(m),
            NodeKind::Seq(items) => {
                for item in items.iter() {
                    if !matches!(item.kind, NodeKind::Map(_)) {
                        return Err(
                            item.error("expected a mapping for merging, but found something else")
                        );
                    }
                    sources.push(item.clone());
                }
            }
            _ => {
                return Err(m.error(
                    "expected a mapping or list of mappings for merging, but found something else",
                ));
            }
        }
    }
    for src in sources {
        if let NodeKind::Map(pairs) = &src.kind {
            for (k, v) in pairs.iter() {
                let id = key_identity(k);
                if !merged.iter().any(|(mk, _)| key_identity(mk) == id) {
                    merged.push((k.clone(), v.clone()));
                }
            }
        }
    }
    for (k, v) in entries {
        insert_entry(&mut merged, k, v);
    }
    Ok(merged)
}

fn int_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
        )
        .expect("valid regex")
    })
}

fn float_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        )
        .expect("valid regex")
    })
}

/// Resolves a scalar the way PyYAML's implicit resolvers (YAML 1.1) and Ansible's tags do.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Result<NodeKind, String> {
    if let Some(tag) = tag {
        return match tag {
            "!vault" | "!vault-encrypted" => Ok(NodeKind::Vault(text.to_string())),
            "!unsafe" => Ok(NodeKind::Unsafe(text.to_string())),
            "tag:yaml.org,2002:!str" | "!!str" => Ok(NodeKind::Str(text.to_string())),
            "tag:yaml.org,2002:!int" | "!!int" => parse_int(text)
                .map(NodeKind::Int)
                .ok_or_else(|| format!("'{text}' is not an integer")),
            "tag:yaml.org,2002:!float" | "!!float" => parse_float(text)
                .or_else(|| parse_int(text).map(|i| i as f64))
                .map(NodeKind::Float)
                .ok_or_else(|| format!("'{text}' is not a float")),
            "tag:yaml.org,2002:!bool" | "!!bool" => parse_bool(text)
                .map(NodeKind::Bool)
                .ok_or_else(|| format!("'{text}' is not a boolean")),
            "tag:yaml.org,2002:!null" | "!!null" => Ok(NodeKind::Null),
            other => Err(format!(
                "could not determine a constructor for the tag '{other}'"
            )),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(NodeKind::Str(text.to_string()));
    }
    if let Some(b) = parse_bool(text) {
        return Ok(NodeKind::Bool(b));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(NodeKind::Null);
    }
    if float_re().is_match(text)
        && let Some(f) = parse_float(text)
    {
        return Ok(NodeKind::Float(f));
    }
    if int_re().is_match(text) {
        if let Some(i) = parse_int(text) {
            return Ok(NodeKind::Int(i));
        }
        // Larger than 64 bits: Python keeps it exact; the nearest float is what we can offer.
        if let Ok(f) = text.replace('_', "").parse::<f64>() {
            return Ok(NodeKind::Float(f));
        }
    }
    if timestamp_re().is_match(text) {
        return Ok(NodeKind::Timestamp(text.to_string()));
    }
    Ok(NodeKind::Str(text.to_string()))
}

/// PyYAML's implicit resolver for `tag:yaml.org,2002:timestamp`.
fn timestamp_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$")
            .expect("valid regex")
    })
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// PyYAML's int constructor: underscores dropped, 0b binary, 0x hex, leading 0 octal, `a:b`
/// base 60.
fn parse_int(text: &str) -> Option<i64> {
    let clean = text.replace('_', "");
    let (neg, digits) = match clean.as_bytes().first()? {
        b'-' => (true, &clean[1..]),
        b'+' => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let value = if digits == "0" {
        0
    } else if let Some(b) = digits.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if let Some(h) = digits.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(octal) = digits.strip_prefix('0') {
        i64::from_str_radix(octal, 8).ok()?
    } else if digits.contains(':') {
        let mut v: i64 = 0;
        for part in digits.split(':') {
            v = v.checked_mul(60)?.checked_add(part.parse::<i64>().ok()?)?;
        }
        v
    } else {
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -value } else { value })
}

fn parse_float(text: &str) -> Option<f64> {
    let clean = text.replace('_', "").to_lowercase();
    let (neg, body) = match clean.as_bytes().first()? {
        b'-' => (true, &clean[1..]),
        b'+' => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let value = if body == ".inf" {
        f64::INFINITY
    } else if body == ".nan" {
        f64::NAN
    } else if body.contains(':') {
        let mut v = 0.0;
        for part in body.split(':') {
            v = v * 60.0 + part.parse::<f64>().ok()?;
        }
        v
    } else {
        body.parse::<f64>().ok()?
    };
    Some(if neg { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Node {
        parse(&Source::new("t.yml", text)).expect("parses")
    }

    fn scalar(text: &str) -> NodeKind {
        load(&format!("v: {text}\n")).get("v").unwrap().kind.clone()
    }

    #[test]
    fn yaml_1_1_scalars_resolve_like_pyyaml() {
        assert!(matches!(scalar("yes"), NodeKind::Bool(true)));
        assert!(matches!(scalar("Off"), NodeKind::Bool(false)));
        assert!(matches!(scalar("'yes'"), NodeKind::Str(s) if s == "yes"));
        assert!(matches!(scalar("y"), NodeKind::Str(s) if s == "y"));
        assert!(matches!(scalar("0644"), NodeKind::Int(420)));
        assert!(matches!(scalar("1_000"), NodeKind::Int(1000)));
        assert!(matches!(scalar("0x1F"), NodeKind::Int(31)));
        assert!(matches!(scalar("1:30"), NodeKind::Int(90)));
        assert!(matches!(scalar("08"), NodeKind::Str(s) if s == "08"));
        assert!(matches!(scalar("1e3"), NodeKind::Str(s) if s == "1e3"));
        assert!(matches!(scalar("1.5e+3"), NodeKind::Float(f) if f == 1500.0));
        assert!(matches!(scalar("3."), NodeKind::Float(f) if f == 3.0));
        assert!(matches!(scalar("~"), NodeKind::Null));
        assert!(matches!(scalar(""), NodeKind::Null));
        assert!(matches!(scalar("!!str 12"), NodeKind::Str(s) if s == "12"));
        assert!(matches!(scalar("!unsafe '{{ x }}'"), NodeKind::Unsafe(s) if s == "{{ x }}"));
    }

    #[test]
    fn merge_keys_and_aliases() {
        let n = load("base: &b {a: 1, b: 2}\nthis:\n  <<: *b\n  b: 3\n  c: 4\n");
        let this = n.get("this").unwrap();
        let keys: Vec<_> = this
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v.scalar_text().unwrap()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "3".into()),
                ("c".into(), "4".into())
            ]
        );
    }

    #[test]
    fn duplicate_keys_keep_first_place_last_value() {
        let n = load("a: 1\nb: 2\na: 3\n");
        let m = n.as_map().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].1.scalar_text().unwrap(), "3");
    }

    #[test]
    fn duplicate_keys_warn_at_the_second_key() {
        let text = "- name: t\n  debug: msg=hi\n  when: false\n  when: true\n";
        let l = super::load(&Source::new("p.yml", text), Aliases::Budgeted).unwrap();
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        let w = &l.warnings[0];
        assert!(w.starts_with("Found duplicate mapping key 'when'."), "{w}");
        assert!(w.contains("p.yml:4:3"), "{w}");
        assert!(w.contains("   |   ^^^^"), "{w}");
        assert!(w.ends_with("Using last defined value only."), "{w}");
        // Merged keys written over are not duplicates.
        let merged = "b: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n";
        let l = super::load(&Source::new("m.yml", merged), Aliases::Budgeted).unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    }

    /// Ten levels of nine aliases: 9^10 leaves if copied.
    fn laughs(indent: &str) -> String {
        let mut text = format!("{indent}l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let p = format!("*l{}", i - 1);
            let items = [p.as_str(); 9].join(", ");
            text.push_str(&format!("{indent}l{i}: &l{i} [{items}]\n"));
        }
        text
    }

    #[test]
    fn aliases_stay_shared_in_data() {
        let l = super::load(&Source::new("v.yml", laughs("")), Aliases::Shared).unwrap();
        let top = l.node.get("l9").unwrap().as_seq().unwrap();
        assert_eq!(top.len(), 9);
        // Every alias is the anchor's own sequence, not a copy.
        let (NodeKind::Seq(a), NodeKind::Seq(b)) = (&top[0].kind, &top[8].kind) else {
            panic!("not sequences");
        };
        assert!(Arc::ptr_eq(a, b));
        // An alias node is placed where the alias is written.
        assert_eq!((top[1].span.start.line, top[1].span.start.col), (10, 15));
    }

    #[test]
    fn structure_refuses_an_alias_bomb_at_the_alias() {
        let err = super::load(&Source::new("p.yml", laughs("")), Aliases::Budgeted).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{err}");
        let span = err.span.as_ref().unwrap();
        // Lines 2 to 6 stand for 672,588 nodes; the first alias of line 7
        // (`l6: &l6 [*l5, ...]`, 597,871 more) crosses the budget.
        assert_eq!((span.start.line, span.start.col), (7, 10), "{err}");
        assert_eq!(err.exit_code(), 4);
        // Inside `vars:` the aliases are data and do not count.
        let play = format!("- hosts: all\n  vars:\n{}  tasks: []\n", laughs("    "));
        assert!(super::load(&Source::new("p.yml", &play), Aliases::Budgeted).is_ok());
    }

    #[test]
    fn nesting_is_bounded() {
        // Block style: the parser allows only 255 levels of flow style (`[[[...]]]`) itself.
        let nested = |levels: usize| format!("{}x\n", "- ".repeat(levels));
        let err = parse(&Source::new("d.yml", nested(MAX_NESTING + 1))).unwrap_err();
        assert!(err.message.contains("nest more than"), "{err}");
        assert!(parse(&Source::new("d.yml", nested(MAX_NESTING))).is_ok());
    }

    #[test]
    fn spans_point_at_values() {
        let n = load("- hosts: all\n  tasks:\n    - name: x\n");
        let play = &n.as_seq().unwrap()[0];
        let tasks = play.get("tasks").unwrap();
        let name = tasks.as_seq().unwrap()[0].get("name").unwrap();
        assert_eq!((name.span.start.line, name.span.start.col), (3, 13));
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let err = parse(&Source::new("bad.yml", "a: [1, 2\nb: 3\n")).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("bad.yml:"), "{shown}");
        assert!(shown.contains('^'), "{shown}");
    }

    #[test]
    fn flow_content_left_of_its_block_loads_as_pyyaml_loads_it() {
        // filter_core's vars/main.yml: a top-level `key: {` closed in column 0.
        let n = load("a: {\n\"b\": 1,\n  c: [\n2, 3\n]\n}\nd: [\n1,\n2\n]");
        let a = n.get("a").unwrap();
        assert!(matches!(&a.get("b").unwrap().kind, NodeKind::Int(1)));
        let c = a.get("c").unwrap().as_seq().unwrap();
        assert_eq!(c.len(), 2);
        // Positions are the text's as written, not the shifted copy saphyr read.
        assert_eq!((c[0].span.start.line, c[0].span.start.col), (4, 1));
        assert_eq!(n.get("d").unwrap().as_seq().unwrap().len(), 2);
        let nested = load("a:\n  b: {\nc: 1}\n  d: 2\n");
        let b = nested.get("a").unwrap().get("b").unwrap();
        assert!(matches!(&b.get("c").unwrap().kind, NodeKind::Int(1)));
        let key = b.as_map().unwrap()[0].0.span.start;
        assert_eq!((key.line, key.col), (3, 1));
        // Block indentation errors are still errors, at the line and column written.
        let err = parse(&Source::new("bad.yml", "a: {b: 1}\nc:\n  d: 1\n e: 2\n")).unwrap_err();
        assert!(err.to_string().contains("bad.yml:4:"), "{err}");
        let err = parse(&Source::new("bad.yml", "a: {\nb: 1\nc: [}\n")).unwrap_err();
        assert!(err.to_string().contains("bad.yml:3:"), "{err}");
    }

    #[test]
    fn unknown_tags_are_refused() {
        let err = parse(&Source::new("t.yml", "a: !python/object x\n")).unwrap_err();
        assert!(err.message.contains("could not determine a constructor"));
    }
}
