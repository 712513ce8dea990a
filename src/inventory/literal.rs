//! Python's `ast.literal_eval`, the way Ansible's INI inventory applies it to every `key=value`.
//!
//! Ansible types INI values by handing the text to `ast.literal_eval` and keeping the text when
//! that raises `ValueError` or `SyntaxError`. So `8080` is an int, `True` a boolean, `[1, 2]` and
//! `1,2` lists, `'a b'` a string without its quotes, while `yes`, `0644`, `10.0.0.1` and `true`
//! stay text. This module owns that: a tokenizer for the part of Python's lexical grammar a
//! literal can use (numbers with underscores and prefixes, string literals with prefixes,
//! escapes and implicit concatenation, comments), a parser for the literal subset of
//! expressions, and the conversion Ansible then applies (tuples and sets become lists, complex
//! numbers and `...` become text, bytes are decoded).

use crate::value::Value;
use regex::Regex;
use std::sync::OnceLock;

mod tokens;
use tokens::*;

/// Types an INI value as Ansible does. `Err` carries the message of the one failure Ansible
/// does not swallow: a dict key or set member that Python cannot hash (`{[1]: 2}`).
pub fn parse_value(text: &str) -> Result<Value, String> {
    if let Some(v) = fast_path(text) {
        return Ok(v);
    }
    match literal_eval(text) {
        Parsed::Literal(py) => {
            check_hashable(&py)?;
            Ok(to_value(py))
        }
        Parsed::NotLiteral => Ok(Value::from(text)),
    }
}

/// The common cases without the tokenizer: a bare word (a Python name, so text unless it is
/// `True`, `False` or `None`) and plain decimal digits.
fn fast_path(text: &str) -> Option<Value> {
    let b = text.as_bytes();
    let first = *b.first()?;
    if (first.is_ascii_alphabetic() || first == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        return Some(match text {
            "True" => Value::from(true),
            "False" => Value::from(false),
            "None" => Value::from(()),
            _ => Value::from(text),
        });
    }
    // Digits and two or more dots (an IPv4 address, a version): two numbers in a row or a
    // stray dot, a syntax error in Python, so text.
    if b.iter().all(|c| c.is_ascii_digit() || *c == b'.')
        && b.iter().filter(|c| **c == b'.').count() >= 2
        && b.iter().any(u8::is_ascii_digit)
    {
        return Some(Value::from(text));
    }
    if b.iter().all(u8::is_ascii_digit) {
        if first != b'0' {
            return text.parse::<i64>().ok().map(Value::from);
        }
        // `0`, `00`: zero; `0644`: a syntax error in Python 3, so text.
        return Some(if b.iter().all(|c| *c == b'0') {
            Value::from(0)
        } else {
            Value::from(text)
        });
    }
    None
}

/// A Python value that a literal can denote.
#[derive(Debug, Clone, PartialEq)]
enum Py {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    Ellipsis,
    List(Vec<Py>),
    Tuple(Vec<Py>),
    Set(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

enum Parsed {
    Literal(Py),
    /// A syntax error or a node `literal_eval` refuses: the text stays text.
    NotLiteral,
}

fn literal_eval(text: &str) -> Parsed {
    // `literal_eval` strips leading spaces and tabs (only those) before parsing.
    let text = text.trim_start_matches([' ', '\t']);
    let Some(tokens) = tokenize(text) else {
        return Parsed::NotLiteral;
    };
    let mut p = Parser {
        toks: tokens,
        i: 0,
        depth: 0,
    };
    let Some(expr) = p.expressions() else {
        return Parsed::NotLiteral;
    };
    if p.i != p.toks.len() {
        return Parsed::NotLiteral;
    }
    match eval(expr) {
        Some(v) => Parsed::Literal(v),
        None => Parsed::NotLiteral,
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

// ---------------------------------------------------------------------------------------------
// Expressions: the literal subset of Python's grammar, plus enough of the rest (unary and binary
// `+`/`-`) to evaluate the forms `literal_eval` accepts (`-5`, `1+2j`).

#[derive(Debug)]
enum Expr {
    Const(Py),
    Tuple(Vec<Expr>),
    List(Vec<Expr>),
    Set(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    EmptySet,
    Neg(Box<Expr>),
    Pos(Box<Expr>),
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
}

struct Parser {
    toks: Vec<Tok>,
    i: usize,
    /// Brackets open; Python's parser gives up at 200 ("too many nested parentheses").
    depth: usize,
}

const MAX_NESTING: usize = 200;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn at_close(&self) -> bool {
        matches!(self.peek(), None | Some(Tok::Op(")" | "]" | "}")))
    }

    /// `a, b, c` (a tuple when there is a comma) or a single expression.
    fn expressions(&mut self) -> Option<Expr> {
        let first = self.sum()?;
        if !self.eat(",") {
            return Some(first);
        }
        let mut items = vec![first];
        while !self.at_close() {
            items.push(self.sum()?);
            if !self.eat(",") {
                break;
            }
        }
        Some(Expr::Tuple(items))
    }

    fn sum(&mut self) -> Option<Expr> {
        let mut left = self.unary()?;
        loop {
            if self.eat("+") {
                left = Expr::Add(Box::new(left), Box::new(self.unary()?));
            } else if self.eat("-") {
                left = Expr::Sub(Box::new(left), Box::new(self.unary()?));
            } else {
                return Some(left);
            }
        }
    }

    fn unary(&mut self) -> Option<Expr> {
        self.depth += 1;
        let e = if self.depth > MAX_NESTING {
            None
        } else if self.eat("-") {
            self.unary().map(|e| Expr::Neg(Box::new(e)))
        } else if self.eat("+") {
            self.unary().map(|e| Expr::Pos(Box::new(e)))
        } else {
            self.atom()
        };
        self.depth -= 1;
        e
    }

    fn atom(&mut self) -> Option<Expr> {
        let tok = self.peek()?.clone();
        self.i += 1;
        match tok {
            Tok::Num(n) => Some(Expr::Const(n)),
            Tok::Str {
                bytes,
                fstring,
                mut text,
            } => {
                let mut any_f = fstring;
                while let Some(Tok::Str {
                    bytes: b2,
                    fstring: f2,
                    text: t2,
                }) = self.peek().cloned()
                {
                    if b2 != bytes {
                        return None;
                    }
                    any_f |= f2;
                    text.extend(t2);
                    self.i += 1;
                }
                if any_f {
                    return None;
                }
                Some(Expr::Const(if bytes {
                    Py::Bytes(text)
                } else {
                    Py::Str(String::from_utf8_lossy(&text).into_owned())
                }))
            }
            Tok::Name(n) => match n.as_str() {
                "True" => Some(Expr::Const(Py::Bool(true))),
                "False" => Some(Expr::Const(Py::Bool(false))),
                "None" => Some(Expr::Const(Py::None)),
                "set" if self.eat("(") => self.eat(")").then_some(Expr::EmptySet),
                _ => None,
            },
            Tok::Op("...") => Some(Expr::Const(Py::Ellipsis)),
            Tok::Op("(") => {
                if self.eat(")") {
                    return Some(Expr::Tuple(Vec::new()));
                }
                let inner = self.expressions()?;
                self.eat(")").then_some(inner)
            }
            Tok::Op("[") => {
                let items = self.items("]")?;
                Some(Expr::List(items))
            }
            Tok::Op("{") => self.brace(),
            _ => None,
        }
    }

    /// Comma-separated items up to `close` (trailing comma allowed).
    fn items(&mut self, close: &str) -> Option<Vec<Expr>> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.sum()?);
            if !self.eat(",") {
                return self.eat(close).then_some(items);
            }
        }
    }

    fn brace(&mut self) -> Option<Expr> {
        if self.eat("}") {
            return Some(Expr::Dict(Vec::new()));
        }
        let first = self.sum()?;
        if self.eat(":") {
            let mut pairs = vec![(first, self.sum()?)];
            loop {
                if !self.eat(",") {
                    return self.eat("}").then_some(Expr::Dict(pairs));
                }
                if self.eat("}") {
                    return Some(Expr::Dict(pairs));
                }
                let k = self.sum()?;
                if !self.eat(":") {
                    return None;
                }
                pairs.push((k, self.sum()?));
            }
        }
        let mut items = vec![first];
        if self.eat(",") {
            items.extend(self.items("}")?);
        } else if !self.eat("}") {
            return None;
        }
        Some(Expr::Set(items))
    }
}

/// `literal_eval`'s `_convert`: `None` for the nodes it calls malformed.
fn eval(e: Expr) -> Option<Py> {
    Some(match e {
        Expr::Const(c) => c,
        Expr::Tuple(items) => Py::Tuple(items.into_iter().map(eval).collect::<Option<_>>()?),
        Expr::List(items) => Py::List(items.into_iter().map(eval).collect::<Option<_>>()?),
        Expr::Set(items) => Py::Set(dedup(items.into_iter().map(eval).collect::<Option<_>>()?)),
        Expr::EmptySet => Py::Set(Vec::new()),
        Expr::Dict(pairs) => {
            let mut out: Vec<(Py, Py)> = Vec::new();
            for (k, v) in pairs {
                let (k, v) = (eval(k)?, eval(v)?);
                match out.iter_mut().find(|(ek, _)| py_eq(ek, &k)) {
                    Some(slot) => slot.1 = v,
                    None => out.push((k, v)),
                }
            }
            Py::Dict(out)
        }
        Expr::Neg(_) | Expr::Pos(_) => signed_num(e)?,
        Expr::Add(l, r) => complex_sum(*l, *r, false)?,
        Expr::Sub(l, r) => complex_sum(*l, *r, true)?,
    })
}

/// `literal_eval` allows `+` and `-` only to write a complex number: a signed real on the left,
/// an imaginary constant on the right.
fn complex_sum(l: Expr, r: Expr, sub: bool) -> Option<Py> {
    let left = match signed_num(l)? {
        Py::Int(i) => i as f64,
        Py::Float(f) => f,
        _ => return None,
    };
    let Py::Complex(rre, rim) = num(r)? else {
        return None;
    };
    Some(if sub {
        Py::Complex(left - rre, -rim)
    } else {
        Py::Complex(left + rre, rim)
    })
}

/// A number with an optional sign, as `_convert_signed_num` takes it.
fn signed_num(e: Expr) -> Option<Py> {
    match e {
        Expr::Neg(inner) => Some(match num(*inner)? {
            Py::Int(i) => Py::Int(i.checked_neg()?),
            Py::Float(f) => Py::Float(-f),
            Py::Complex(re, im) => Py::Complex(-re, -im),
            _ => return None,
        }),
        Expr::Pos(inner) => num(*inner),
        other => num(other),
    }
}

/// A bare int, float or complex constant (`bool` is not one).
fn num(e: Expr) -> Option<Py> {
    match e {
        Expr::Const(c @ (Py::Int(_) | Py::Float(_) | Py::Complex(..))) => Some(c),
        _ => None,
    }
}

fn dedup(items: Vec<Py>) -> Vec<Py> {
    let mut out: Vec<Py> = Vec::new();
    for i in items {
        if !out.iter().any(|o| py_eq(o, &i)) {
            out.push(i);
        }
    }
    out
}

/// Python's `==` for the values that can be dict keys: `1 == 1.0 == True`.
fn py_eq(a: &Py, b: &Py) -> bool {
    let n = |p: &Py| match p {
        Py::Bool(b) => Some(*b as i128 as f64),
        Py::Int(i) => Some(*i as f64),
        Py::Float(f) => Some(*f),
        _ => None,
    };
    match (n(a), n(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn check_hashable(p: &Py) -> Result<(), String> {
    let unhashable = |k: &Py| match k {
        Py::List(_) => Some("list"),
        Py::Dict(_) => Some("dict"),
        Py::Set(_) => Some("set"),
        _ => None,
    };
    match p {
        Py::List(items) | Py::Tuple(items) => items.iter().try_for_each(check_hashable),
        Py::Set(items) => {
            for i in items {
                if let Some(t) = unhashable(i) {
                    return Err(format!("unhashable type: '{t}'"));
                }
            }
            Ok(())
        }
        Py::Dict(pairs) => {
            for (k, v) in pairs {
                if let Some(t) = unhashable(k) {
                    return Err(format!("unhashable type: '{t}'"));
                }
                check_hashable(v)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Ansible's `_parse_recursive_coerce_types_and_tag`: sequences become lists, `...` and
/// complex numbers become their text, bytes are decoded.
fn to_value(p: Py) -> Value {
    match p {
        Py::None => Value::from(()),
        Py::Bool(b) => Value::from(b),
        Py::Int(i) => match i64::try_from(i) {
            Ok(i) => Value::from(i),
            Err(_) => Value::from(i),
        },
        Py::Float(f) => Value::from(f),
        Py::Complex(re, im) => Value::from(complex_repr(re, im)),
        Py::Str(s) => Value::from(s),
        // Decoded bytes lose Ansible's template trust: they are `!unsafe` text.
        Py::Bytes(b) => Value::from_safe_string(String::from_utf8_lossy(&b).into_owned()),
        Py::Ellipsis => Value::from("..."),
        Py::List(items) | Py::Tuple(items) | Py::Set(items) => {
            items.into_iter().map(to_value).collect()
        }
        Py::Dict(pairs) => crate::value::map(pairs.into_iter().map(|(k, v)| (key(k), to_value(v)))),
    }
}

/// Dict keys keep their type (an int key stays an int), as Ansible leaves them.
fn key(p: Py) -> Value {
    match p {
        Py::Tuple(_) | Py::List(_) | Py::Set(_) | Py::Dict(_) => Value::from(py_repr(&p)),
        other => to_value(other),
    }
}

fn py_repr(p: &Py) -> String {
    match p {
        Py::None => "None".into(),
        Py::Bool(b) => if *b { "True" } else { "False" }.into(),
        Py::Int(i) => i.to_string(),
        Py::Float(f) => crate::value::python_float(*f),
        Py::Complex(re, im) => complex_repr(*re, *im),
        Py::Str(s) => format!("'{s}'"),
        Py::Bytes(b) => format!("b'{}'", String::from_utf8_lossy(b)),
        Py::Ellipsis => "Ellipsis".into(),
        Py::List(items) => format!("[{}]", join(items)),
        Py::Tuple(items) if items.len() == 1 => format!("({},)", py_repr(&items[0])),
        Py::Tuple(items) => format!("({})", join(items)),
        Py::Set(items) => format!("{{{}}}", join(items)),
        Py::Dict(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn join(items: &[Py]) -> String {
    items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
}

/// Python's `str(complex)`: `1j`, `(1+2j)`, `(-0-1j)`.
fn complex_repr(re: f64, im: f64) -> String {
    let f = |x: f64| {
        let s = crate::value::python_float(x);
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    };
    if re == 0.0 && re.is_sign_positive() {
        format!("{}j", f(im))
    } else {
        let sign = if im < 0.0 || (im == 0.0 && im.is_sign_negative()) {
            "-"
        } else {
            "+"
        };
        format!("({}{}{}j)", f(re), sign, f(im.abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> String {
        let v = parse_value(text).unwrap();
        if v.is_number() && !v.is_integer() {
            return format!("{:?}", f64::try_from(v).unwrap());
        }
        crate::value::to_json(&v).to_string()
    }

    #[test]
    fn numbers_like_python() {
        assert_eq!(show("8080"), "8080");
        assert_eq!(show("1_000"), "1000");
        assert_eq!(show("00"), "0");
        assert_eq!(show("0644"), "\"0644\"");
        assert_eq!(show("09"), "\"09\"");
        assert_eq!(show("0x1F"), "31");
        assert_eq!(show("0o17"), "15");
        assert_eq!(show("1e3"), "1000.0");
        assert_eq!(show(".5"), "0.5");
        assert_eq!(show("1."), "1.0");
        assert_eq!(show("-5"), "-5");
        assert_eq!(show("- 5"), "-5");
        assert_eq!(show("-(5)"), "-5");
        assert_eq!(show("--5"), "\"--5\"");
        assert_eq!(show("1__0"), "\"1__0\"");
        assert_eq!(show("12abc"), "\"12abc\"");
        assert_eq!(show("10.0.0.1"), "\"10.0.0.1\"");
        assert_eq!(show("1j"), "\"1j\"");
        assert_eq!(show("1+2j"), "\"(1+2j)\"");
        assert_eq!(show("1 + 2"), "\"1 + 2\"");
        assert_eq!(show("5 # c"), "5");
    }

    #[test]
    fn constants_strings_and_containers() {
        assert_eq!(show("True"), "true");
        assert_eq!(show("true"), "\"true\"");
        assert_eq!(show("yes"), "\"yes\"");
        assert_eq!(show("None"), "null");
        assert_eq!(show("..."), "\"...\"");
        assert_eq!(show("'a b'"), "\"a b\"");
        assert_eq!(show("'a' \"b\""), "\"ab\"");
        assert_eq!(show("b'x'"), "\"x\"");
        assert_eq!(show("r'\\d'"), "\"\\\\d\"");
        assert_eq!(show("'\\d'"), "\"\\\\d\"");
        assert_eq!(show("'\\x41\\u00e9'"), "\"Aé\"");
        assert_eq!(show("f'x'"), "\"f'x'\"");
        assert_eq!(show("1,2"), "[1,2]");
        assert_eq!(show("a,b"), "\"a,b\"");
        assert_eq!(show("()"), "[]");
        assert_eq!(show("(1)"), "1");
        assert_eq!(show("[1,]"), "[1]");
        assert_eq!(show("[,]"), "\"[,]\"");
        assert_eq!(show("set()"), "[]");
        assert_eq!(show("{1: 2, 'a': [None]}"), "{\"1\":2,\"a\":[null]}");
        assert_eq!(show("{'a': 1, 'a': 2}"), "{\"a\":2}");
        assert!(parse_value("{[1]: 2}").is_err());
        assert_eq!(show(""), "\"\"");
    }
}
