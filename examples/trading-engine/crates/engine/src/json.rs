//! A small, allocation-free (in the steady state) JSON reader and writer for
//! the line-oriented paper-trading protocol.
//!
//! [`Json::parse`] validates one complete JSON text whose top level is an
//! object and indexes every value in it; [`Json::root`] then gives access to
//! the fields. Any JSON is accepted (nested objects and arrays included, up to
//! [`MAX_DEPTH`] levels), so unknown fields of any shape can be ignored. A
//! [`Json`] is meant to be reused for every line: once its buffers have grown
//! to the size of the largest message, parsing allocates nothing.
//!
//! [`ObjectWriter`] appends one flat JSON object to a byte buffer.

use std::error::Error;
use std::fmt;

use crate::decimal;

/// Maximum nesting depth of objects and arrays.
pub const MAX_DEPTH: usize = 32;

/// Container id of the top-level object.
const ROOT: u32 = 0;

/// A parsing error: what is wrong and at which byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset of the problem in the input.
    pub offset: usize,
    /// What was expected or found.
    pub reason: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl Error for JsonError {}

#[derive(Debug, Clone, Copy)]
enum Raw {
    Str(u32, u32),
    Num(u32, u32),
    Bool(bool),
    Null,
    Object(u32),
    Array(u32),
}

#[derive(Debug, Clone, Copy)]
struct Node {
    /// Container (object or array) the value belongs to.
    parent: u32,
    /// Key span in `text`; empty for array elements.
    key: (u32, u32),
    value: Raw,
}

/// A parsed JSON object, reusable for the next line.
#[derive(Debug, Clone, Default)]
pub struct Json {
    /// The input, followed by unescaped copies of strings with escapes.
    text: String,
    nodes: Vec<Node>,
    containers: u32,
}

/// A value inside a [`Json`].
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// A string (escapes decoded).
    Str(&'a str),
    /// A number, as written (validated JSON number syntax).
    Number(&'a str),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An object.
    Object(Obj<'a>),
    /// An array.
    Array(Arr<'a>),
}

impl<'a> Value<'a> {
    /// The string, if this is a string.
    #[must_use]
    pub const fn as_str(&self) -> Option<&'a str> {
        match *self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is a non-negative integer without fraction or
    /// exponent that fits a `u64`.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::Number(n) if n.bytes().all(|b| b.is_ascii_digit()) => n.parse().ok(),
            _ => None,
        }
    }

    /// The boolean, if this is `true` or `false`.
    #[must_use]
    pub const fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The array, if this is an array.
    #[must_use]
    pub const fn as_array(&self) -> Option<Arr<'a>> {
        match *self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The object, if this is an object.
    #[must_use]
    pub const fn as_object(&self) -> Option<Obj<'a>> {
        match *self {
            Self::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Short name of the value's JSON type, for error messages.
    #[must_use]
    pub const fn type_name(&self) -> &'static str {
        match self {
            Self::Str(_) => "string",
            Self::Number(_) => "number",
            Self::Bool(_) => "boolean",
            Self::Null => "null",
            Self::Object(_) => "object",
            Self::Array(_) => "array",
        }
    }
}

/// An object inside a [`Json`].
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    json: &'a Json,
    id: u32,
}

impl<'a> Obj<'a> {
    /// The value of the first field named `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        let json = self.json;
        json.nodes
            .iter()
            .find(|n| n.parent == self.id && json.span(n.key) == key)
            .map(|n| json.value(n.value))
    }

    /// The fields in document order.
    pub fn fields(&self) -> impl Iterator<Item = (&'a str, Value<'a>)> + 'a {
        let (json, id) = (self.json, self.id);
        json.nodes
            .iter()
            .filter(move |n| n.parent == id)
            .map(move |n| (json.span(n.key), json.value(n.value)))
    }
}

/// An array inside a [`Json`].
#[derive(Debug, Clone, Copy)]
pub struct Arr<'a> {
    json: &'a Json,
    id: u32,
}

impl<'a> Arr<'a> {
    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = Value<'a>> + 'a {
        let (json, id) = (self.json, self.id);
        json.nodes
            .iter()
            .filter(move |n| n.parent == id)
            .map(move |n| json.value(n.value))
    }

    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// `true` if the array has no elements.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl Json {
    /// Creates an empty parser.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `input`, which must be exactly one JSON object (surrounding
    /// whitespace allowed). Previous contents are discarded.
    ///
    /// # Errors
    ///
    /// Returns a [`JsonError`] for anything that is not valid JSON, a top
    /// level that is not an object, nesting deeper than [`MAX_DEPTH`], or an
    /// input longer than 4 GiB.
    pub fn parse(&mut self, input: &str) -> Result<(), JsonError> {
        self.text.clear();
        self.nodes.clear();
        self.containers = 1;
        if u32::try_from(input.len()).is_err() {
            return Err(JsonError {
                offset: 0,
                reason: "input too long",
            });
        }
        self.text.push_str(input);
        let mut parser = Parser {
            bytes: input.as_bytes(),
            pos: 0,
            json: self,
        };
        parser.skip_ws();
        if parser.peek() != Some(b'{') {
            return Err(parser.error("expected '{' (a JSON object)"));
        }
        parser.object(ROOT, 1)?;
        parser.skip_ws();
        if parser.pos != parser.bytes.len() {
            return Err(parser.error("unexpected data after the object"));
        }
        Ok(())
    }

    /// The top-level object of the last successful [`Json::parse`].
    #[must_use]
    pub const fn root(&self) -> Obj<'_> {
        Obj {
            json: self,
            id: ROOT,
        }
    }

    fn span(&self, (start, end): (u32, u32)) -> &str {
        &self.text[start as usize..end as usize]
    }

    fn value(&self, raw: Raw) -> Value<'_> {
        match raw {
            Raw::Str(s, e) => Value::Str(self.span((s, e))),
            Raw::Num(s, e) => Value::Number(self.span((s, e))),
            Raw::Bool(b) => Value::Bool(b),
            Raw::Null => Value::Null,
            Raw::Object(id) => Value::Object(Obj { json: self, id }),
            Raw::Array(id) => Value::Array(Arr { json: self, id }),
        }
    }
}

struct Parser<'i, 'j> {
    bytes: &'i [u8],
    pos: usize,
    json: &'j mut Json,
}

impl Parser<'_, '_> {
    fn error(&self, reason: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    fn new_container(&mut self) -> u32 {
        let id = self.json.containers;
        self.json.containers += 1;
        id
    }

    /// Parses an object at `self.pos` (which is `{`) into container `id`.
    fn object(&mut self, id: u32, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':', "expected ':' after the key")?;
            self.skip_ws();
            let value = self.value(depth)?;
            self.json.nodes.push(Node {
                parent: id,
                key,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    /// Parses an array at `self.pos` (which is `[`) into container `id`.
    fn array(&mut self, id: u32, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let value = self.value(depth)?;
            let end = self.json.text.len() as u32;
            self.json.nodes.push(Node {
                parent: id,
                key: (end, end),
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Raw, JsonError> {
        match self.peek() {
            Some(b'"') => self.string().map(|(s, e)| Raw::Str(s, e)),
            Some(b'{') => {
                let id = self.new_container();
                self.object(id, depth + 1)?;
                Ok(Raw::Object(id))
            }
            Some(b'[') => {
                let id = self.new_container();
                self.array(id, depth + 1)?;
                Ok(Raw::Array(id))
            }
            Some(b't') => self.literal(b"true", Raw::Bool(true)),
            Some(b'f') => self.literal(b"false", Raw::Bool(false)),
            Some(b'n') => self.literal(b"null", Raw::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            None => Err(self.error("unexpected end of input")),
            Some(_) => Err(self.error("expected a value")),
        }
    }

    fn literal(&mut self, word: &[u8], raw: Raw) -> Result<Raw, JsonError> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(raw)
        } else {
            Err(self.error("invalid literal"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Raw, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.error("leading zero in a number"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("expected a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        Ok(Raw::Num(start as u32, self.pos as u32))
    }

    /// Parses a string at `self.pos` (which is `"`); returns its span in
    /// `json.text` (the input itself, or an unescaped copy appended to it).
    fn string(&mut self) -> Result<(u32, u32), JsonError> {
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok((start as u32, (self.pos - 1) as u32));
                }
                Some(b'\\') => return self.escaped_string(start),
                Some(0..=0x1f) => return Err(self.error("control character in a string")),
                Some(_) => self.pos += 1,
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// Continues a string containing escapes: decodes it into `json.text`.
    fn escaped_string(&mut self, start: usize) -> Result<(u32, u32), JsonError> {
        let out_start = self.json.text.len();
        let mut run_start = start;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.push_run(run_start);
                    self.pos += 1;
                    let out_end = self.json.text.len();
                    if u32::try_from(out_end).is_err() {
                        return Err(self.error("input too long"));
                    }
                    return Ok((out_start as u32, out_end as u32));
                }
                Some(b'\\') => {
                    self.push_run(run_start);
                    self.pos += 1;
                    let decoded = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    self.pos += 1;
                    self.json.text.push(decoded);
                    run_start = self.pos;
                }
                Some(0..=0x1f) => return Err(self.error("control character in a string")),
                Some(_) => self.pos += 1,
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// Appends the unescaped input bytes `run_start..pos` to `json.text`.
    fn push_run(&mut self, run_start: usize) {
        // Runs start and end next to ASCII bytes ('"', '\\' or an escape), so
        // they are on char boundaries of the (valid UTF-8) input.
        let run = &self.bytes[run_start..self.pos];
        if let Ok(run) = std::str::from_utf8(run) {
            self.json.text.push_str(run);
        }
    }

    /// Decodes `uXXXX` (and a following low surrogate); leaves `pos` on the
    /// last hex digit.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if self.bytes.get(self.pos + 1..self.pos + 3) != Some(b"\\u") {
                return Err(self.error("unpaired surrogate in \\u escape"));
            }
            self.pos += 2;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error("invalid low surrogate in \\u escape"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..0xE000).contains(&high) {
            return Err(self.error("unpaired surrogate in \\u escape"));
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
    }

    /// Reads four hex digits after `pos` (which is on `u`); leaves `pos` on
    /// the last one.
    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            self.pos += 1;
            let digit = match self.peek() {
                Some(b) => (b as char).to_digit(16),
                None => None,
            };
            code = code * 16 + digit.ok_or_else(|| self.error("expected 4 hex digits"))?;
        }
        Ok(code)
    }
}

/// Writes one flat JSON object, field by field, followed by a newline.
#[derive(Debug)]
pub struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Starts an object at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        write_string(self.out, key);
        self.out.push(b':');
    }

    /// Adds a string field.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_string(self.out, value);
        self
    }

    /// Adds an integer field.
    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        decimal::write_u64(self.out, value);
        self
    }

    /// Adds a boolean field.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// Adds a decimal-string field holding `mantissa * 10^-scale` written
    /// with exactly `scale` decimals, e.g. `"61837.00"`.
    pub fn decimal(&mut self, key: &str, mantissa: i128, scale: u32) -> &mut Self {
        self.key(key);
        self.out.push(b'"');
        decimal::write_scaled(self.out, mantissa, scale);
        self.out.push(b'"');
        self
    }

    /// Closes the object and ends the line.
    pub fn finish(&mut self) {
        self.out.extend_from_slice(b"}\n");
    }
}

/// Appends `value` as a JSON string literal (quotes, escapes) to `out`.
pub fn write_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut run_start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run_start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        run_start = i + 1;
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str) -> Json {
        let mut json = Json::new();
        json.parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        json
    }

    #[test]
    fn reads_a_flat_message() {
        let json = parsed(
            r#"{"type":"quote","seq":18,"ts":"1723161254116723068","symbol":"BTCUSDT","bid":"61837.63","bid_qty":"3.78826","ask":"61837.64","ask_qty":"1.6052"}"#,
        );
        let root = json.root();
        assert_eq!(root.get("type").and_then(|v| v.as_str()), Some("quote"));
        assert_eq!(root.get("seq").and_then(|v| v.as_u64()), Some(18));
        assert_eq!(root.get("bid").and_then(|v| v.as_str()), Some("61837.63"));
        assert_eq!(root.get("ask_qty").and_then(|v| v.as_str()), Some("1.6052"));
        assert!(root.get("missing").is_none());
        assert_eq!(root.fields().count(), 8);
    }

    #[test]
    fn reads_hello_with_an_array_of_objects_and_other_values() {
        let json = parsed(
            r#" { "type" : "hello", "protocol":1, "symbols":[{"symbol":"BTCUSDT","tick":"0.01","lot":"0.00001"},
                {"symbol":"ETHUSDT","tick":"0.01","lot":"0.0001","extra":{"a":[1,2,{}]}}],
               "max_position":"1000","flag":true,"off":false,"nothing":null,"x":-1.5e-3,"empty":[],"o":{} } "#,
        );
        let root = json.root();
        assert_eq!(root.get("protocol").and_then(|v| v.as_u64()), Some(1));
        let symbols = root.get("symbols").and_then(|v| v.as_array()).unwrap();
        assert_eq!(symbols.len(), 2);
        let names: Vec<_> = symbols
            .iter()
            .map(|s| {
                let s = s.as_object().unwrap();
                (
                    s.get("symbol").unwrap().as_str().unwrap(),
                    s.get("lot").unwrap().as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(names, [("BTCUSDT", "0.00001"), ("ETHUSDT", "0.0001")]);
        assert_eq!(root.get("flag").and_then(|v| v.as_bool()), Some(true));
        assert_eq!(root.get("off").and_then(|v| v.as_bool()), Some(false));
        assert!(matches!(root.get("nothing"), Some(Value::Null)));
        assert!(matches!(root.get("x"), Some(Value::Number("-1.5e-3"))));
        assert_eq!(root.get("x").and_then(|v| v.as_u64()), None);
        assert!(root.get("empty").unwrap().as_array().unwrap().is_empty());
        assert_eq!(
            root.get("o").unwrap().as_object().unwrap().fields().count(),
            0
        );
        // Nested keys do not leak into the root.
        assert!(root.get("symbol").is_none());
        assert!(root.get("a").is_none());
    }

    #[test]
    fn decodes_escapes() {
        let json = parsed(
            r#"{"a":"q\"b\\s\/n\nr\rt\tb\bf\f","u":"\u00e9\u20AC","pair":"\ud83d\ude00!","k\u0065y":"plain","raw":"héllo €"}"#,
        );
        let root = json.root();
        assert_eq!(
            root.get("a").unwrap().as_str(),
            Some("q\"b\\s/n\nr\rt\tb\u{8}f\u{c}")
        );
        assert_eq!(root.get("u").unwrap().as_str(), Some("é€"));
        assert_eq!(root.get("pair").unwrap().as_str(), Some("😀!"));
        assert_eq!(root.get("key").unwrap().as_str(), Some("plain"));
        assert_eq!(root.get("raw").unwrap().as_str(), Some("héllo €"));
    }

    #[test]
    fn rejects_malformed_input() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        let cases: &[&str] = &[
            "",
            "   ",
            r#"{"type":"new","#,
            r#"{"type":"new""#,
            "[]",
            r#""str""#,
            "42",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            r#"{'a':1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":-}"#,
            r#"{"a":+1}"#,
            r#"{"a":tru}"#,
            r#"{"a":nul}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":"\u12G4"}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\ud800\u0041"}"#,
            r#"{"a":"\udc00"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":"open}"#,
            r#"{"a":1} x"#,
            r#"{"a":1}{"b":2}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":[1 2]}"#,
            r#"{"a":{"b":1}"#,
            r#"{"a":1]"#,
            deep.as_str(),
        ];
        let mut json = Json::new();
        for case in cases {
            assert!(json.parse(case).is_err(), "accepted {case:?}");
        }
        let err = json.parse(r#"{"type":"new","#).unwrap_err();
        assert_eq!(err.offset, 14);
        // The parser is usable again after an error.
        json.parse(r#"{"type":"end","seq":3}"#).unwrap();
        assert_eq!(json.root().get("seq").unwrap().as_u64(), Some(3));
    }

    #[test]
    fn integers_only_for_as_u64() {
        let json = parsed(r#"{"a":-1,"b":1.0,"c":1e3,"d":18446744073709551616,"e":"5","f":0}"#);
        let root = json.root();
        for key in ["a", "b", "c", "d", "e"] {
            assert_eq!(root.get(key).unwrap().as_u64(), None, "{key}");
        }
        assert_eq!(root.get("f").unwrap().as_u64(), Some(0));
    }

    #[test]
    fn writer_output_reads_back() {
        let mut out = Vec::new();
        ObjectWriter::new(&mut out)
            .str("type", "new")
            .u64("seq", 18)
            .str("symbol", "we\"ird\\\n\u{1}é")
            .decimal("price", 6_183_700, 2)
            .bool("ok", true)
            .finish();
        let line = String::from_utf8(out).unwrap();
        assert!(line.starts_with(
            r#"{"type":"new","seq":18,"symbol":"we\"ird\\\n\u0001é","price":"61837.00","ok":true}"#
        ));
        assert!(line.ends_with("}\n"));
        let json = parsed(line.trim_end());
        let root = json.root();
        assert_eq!(
            root.get("symbol").unwrap().as_str(),
            Some("we\"ird\\\n\u{1}é")
        );
        assert_eq!(root.get("price").unwrap().as_str(), Some("61837.00"));
        let mut empty = Vec::new();
        ObjectWriter::new(&mut empty).finish();
        assert_eq!(empty, b"{}\n");
    }
}
