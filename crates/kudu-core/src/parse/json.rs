//! A small JSON reader for Kudu's replies: the value tree the parsers walk.
//!
//! Kudu Doctor ships as wasm, and every byte of it is downloaded while the user's deployment
//! is blocked. A general JSON library brings a serde data model, float parsing and printing,
//! and an ordered map per object, none of which reading Kudu's replies needs (issue 6). This
//! reader keeps numbers as their source text (the parsers only ever want whole numbers or the
//! text itself), objects as their fields in document order, and refuses nesting deeper than
//! [`MAX_DEPTH`] so a hostile body cannot exhaust the stack.
//!
//! Strings, keys and numbers borrow the body's text (a string with escapes is the one that
//! needs its own copy), so reading a record allocates little more than the fields it keeps.
//!
//! A list reply can be read one item at a time ([`parse_document`]): the whole text is first
//! checked without building anything, then each item becomes a tree of its own. A big site's
//! deployment list (5,200 records) is then never a tree as a whole, which was several times the
//! size of its text and set the extension's peak memory (issue 6).

use std::borrow::Cow;
use std::fmt;

/// How deep arrays and objects may nest; deeper bodies are refused, not recursed into.
pub(crate) const MAX_DEPTH: usize = 128;

/// A JSON value, borrowing from the text it was read from.
#[derive(Clone, PartialEq, Debug)]
pub(crate) enum Value<'t> {
    Null,
    Bool(bool),
    Number(Number<'t>),
    String(Cow<'t, str>),
    Array(Vec<Value<'t>>),
    Object(Map<'t>),
}

/// A JSON number, kept as the text it was written as (already checked to be a valid number).
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct Number<'t>(&'t str);

/// An object's fields in document order. A name that occurs twice keeps its last value for
/// [`Map::get`], as `JSON.parse` does.
#[derive(Clone, PartialEq, Debug, Default)]
pub(crate) struct Map<'t>(Vec<(Cow<'t, str>, Value<'t>)>);

/// Why a body is not JSON, with where (1-based line and column, counted in characters).
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct JsonError {
    problem: &'static str,
    line: usize,
    column: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.problem, self.line, self.column
        )
    }
}

impl<'t> Value<'t> {
    /// The text of a string value.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// The fields of an object value.
    pub(crate) fn as_object(&self) -> Option<&Map<'t>> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }
}

/// Scalars print as JSON (`null`, `true`, the number's text, the string without quotes);
/// arrays and objects print as `[…]` and `{…}`, as warnings only ever name them.
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(true) => f.write_str("true"),
            Value::Bool(false) => f.write_str("false"),
            Value::Number(number) => f.write_str(number.0),
            Value::String(text) => f.write_str(text),
            Value::Array(_) => f.write_str("[…]"),
            Value::Object(_) => f.write_str("{…}"),
        }
    }
}

impl Number<'_> {
    /// The value when it is a whole number that fits an `i64`: `5`, `-1`, and also `5.0`,
    /// `5.10e1` or `1e3`, written with a fraction or an exponent. `5.5` and `1e300` are `None`.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        if let Ok(whole) = self.0.parse::<i64>() {
            return Some(whole);
        }
        let (negative, unsigned) = match self.0.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, self.0),
        };
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i64>().ok()?),
            None => (unsigned, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        // The decimal point moves `exponent` places; whatever lands right of it must be zeros.
        let point = i64::try_from(whole.len()).ok()?.checked_add(exponent)?;
        let digits = whole.bytes().chain(fraction.bytes());
        let mut value: i64 = 0;
        for (index, digit) in (0_i64..).zip(digits) {
            let digit = i64::from(digit - b'0');
            if index < point {
                value = value.checked_mul(10)?.checked_add(digit)?;
            } else if digit != 0 {
                return None;
            }
        }
        let digit_count = i64::try_from(whole.len() + fraction.len()).ok()?;
        if point > digit_count && value != 0 {
            let zeros = u32::try_from(point - digit_count).ok()?;
            value = value.checked_mul(10_i64.checked_pow(zeros)?)?;
        }
        if negative {
            value.checked_neg()
        } else {
            Some(value)
        }
    }
}

impl fmt::Display for Number<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<'t> Map<'t> {
    /// The value of the field named exactly `name` (the last one if it repeats).
    pub(crate) fn get(&self, name: &str) -> Option<&Value<'t>> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// How many fields there are (a repeated name counts each time).
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The fields in document order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Value<'t>)> {
        self.0.iter().map(|(key, value)| (key.as_ref(), value))
    }
}

/// Parses one JSON document; surrounding whitespace is allowed, anything else after it is not.
pub(crate) fn parse(text: &str) -> Result<Value<'_>, JsonError> {
    let mut reader = Reader::new(text, true);
    let value = reader.value(0)?;
    reader.end()?;
    Ok(value)
}

/// A document whose top-level array, if it is one, is read lazily.
pub(crate) enum Document<'t> {
    /// A top-level array, already checked to be well-formed: its items one at a time.
    List(Items<'t>),
    /// Anything else, parsed whole.
    Value(Value<'t>),
}

/// Parses one JSON document like [`parse`], with the same errors at the same places, but a
/// top-level array is only checked here and its items are parsed as [`Items`] hands them out.
pub(crate) fn parse_document(text: &str) -> Result<Document<'_>, JsonError> {
    let mut checker = Reader::new(text, false);
    checker.skip_whitespace();
    if checker.peek() != Some(b'[') {
        return parse(text).map(Document::Value);
    }
    let len = checker.top_level_items()?;
    let mut items = Reader::new(text, true);
    items.skip_whitespace();
    items.at += 1;
    Ok(Document::List(Items {
        reader: items,
        remaining: len,
    }))
}

/// The items of a checked top-level array, each parsed when it is asked for.
pub(crate) struct Items<'a> {
    reader: Reader<'a>,
    remaining: usize,
}

impl<'t> Iterator for Items<'t> {
    /// Always `Ok` for a text [`parse_document`] checked; an error is still an error, not a
    /// panic, should the two readers ever disagree.
    type Item = Result<Value<'t>, JsonError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let item = self.reader.value(1).and_then(|value| {
            self.reader.after_item(b']')?;
            Ok(value)
        });
        if item.is_err() {
            self.remaining = 0;
        }
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Items<'_> {}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// `false` only checks the text: nothing is allocated and every value read is `Null`.
    build: bool,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, build: bool) -> Self {
        Reader {
            text,
            bytes: text.as_bytes(),
            at: 0,
            build,
        }
    }

    /// Only whitespace may follow the document.
    fn end(&mut self) -> Result<(), JsonError> {
        self.skip_whitespace();
        if self.at < self.bytes.len() {
            return Err(self.error("trailing characters"));
        }
        Ok(())
    }

    /// At a top-level `[`: checks the whole document as [`Reader::value`] and [`Reader::end`]
    /// would, and counts the array's items.
    fn top_level_items(&mut self) -> Result<usize, JsonError> {
        self.at += 1;
        let mut count = 0;
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
        } else {
            loop {
                self.value(1)?;
                count += 1;
                if self.after_item(b']')? {
                    break;
                }
            }
        }
        self.end()?;
        Ok(count)
    }
    fn error(&self, problem: &'static str) -> JsonError {
        // `at` only ever stops on ASCII bytes or the end, so it is a char boundary.
        let before = self.text.get(..self.at).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = before[line_start..].chars().count() + 1;
        JsonError {
            problem,
            line,
            column,
        }
    }

    // Called for nearly every byte; the wasm is built for size, which would otherwise keep
    // it a call.
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Moves past the bytes from here on that `keep` accepts.
    #[inline(always)]
    fn skip_while(&mut self, keep: impl Fn(u8) -> bool) {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        self.at += rest.iter().position(|&b| !keep(b)).unwrap_or(rest.len());
    }

    fn skip_whitespace(&mut self) {
        self.skip_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    }

    fn expect_word(&mut self, word: &str, value: Value<'a>) -> Result<Value<'a>, JsonError> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("expected value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            None => Err(self.error("EOF while parsing a value")),
            Some(b'n') => self.expect_word("null", Value::Null),
            Some(b't') => self.expect_word("true", Value::Bool(true)),
            Some(b'f') => self.expect_word("false", Value::Bool(false)),
            Some(b'"') => self.string().map(|text| {
                if self.build {
                    Value::String(text)
                } else {
                    Value::Null
                }
            }),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(open @ (b'[' | b'{')) => {
                if depth >= MAX_DEPTH {
                    return Err(self.error("nested too deeply"));
                }
                self.at += 1;
                if open == b'[' {
                    self.array(depth + 1)
                } else {
                    self.object(depth + 1)
                }
            }
            Some(_) => Err(self.error("expected value")),
        }
    }

    /// After `[`: the items up to and including `]`.
    fn array(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            let item = self.value(depth)?;
            if self.build {
                items.push(item);
            }
            if self.after_item(b']')? {
                return Ok(Value::Array(items));
            }
        }
    }

    /// After `{`: the fields up to and including `}`.
    fn object(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        let mut fields = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(Map(fields)));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("key must be a string"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:`"));
            }
            self.at += 1;
            let value = self.value(depth)?;
            if self.build {
                fields.push((key, value));
            }
            if self.after_item(b'}')? {
                return Ok(Value::Object(Map(fields)));
            }
        }
    }

    /// After an item: `true` at the closing bracket (consumed), `false` after a comma.
    fn after_item(&mut self, close: u8) -> Result<bool, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(false)
            }
            Some(found) if found == close => {
                self.at += 1;
                Ok(true)
            }
            None => Err(self.error("EOF while parsing a list or object")),
            Some(_) => Err(self.error("expected `,` or a closing bracket")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        self.skip_while(|b| b.is_ascii_digit());
        self.at - start
    }

    fn number(&mut self) -> Result<Value<'a>, JsonError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let whole_start = self.at;
        let whole = self.digits();
        if whole == 0 || (whole > 1 && self.bytes[whole_start] == b'0') {
            return Err(self.error("invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if !self.build {
            return Ok(Value::Null);
        }
        Ok(Value::Number(Number(&self.text[start..self.at])))
    }

    /// At `"`: the unescaped text up to and including the closing quote.
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        const PLAIN: fn(u8) -> bool = |b| b != b'"' && b != b'\\' && b >= 0x20;
        self.at += 1;
        let run_start = self.at;
        self.skip_while(PLAIN);
        // Quotes, backslashes and control bytes are ASCII, so these slices are whole UTF-8.
        if self.peek() == Some(b'"') {
            self.at += 1;
            return Ok(Cow::Borrowed(&self.text[run_start..self.at - 1]));
        }
        // Escapes: the text differs from the source, so it is built.
        let mut text = String::new();
        if self.build {
            text.push_str(&self.text[run_start..self.at]);
        }
        loop {
            match self.peek() {
                None => return Err(self.error("EOF while parsing a string")),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(Cow::Owned(text));
                }
                Some(b'\\') => {
                    self.at += 1;
                    let unescaped = self.escape()?;
                    let run_start = self.at;
                    self.skip_while(PLAIN);
                    if self.build {
                        text.push(unescaped);
                        text.push_str(&self.text[run_start..self.at]);
                    }
                }
                Some(_) => return Err(self.error("control character in a string")),
            }
        }
    }

    /// After `\`: one escape, as the character it stands for.
    fn escape(&mut self) -> Result<char, JsonError> {
        let Some(kind) = self.peek() else {
            return Err(self.error("EOF while parsing a string"));
        };
        self.at += 1;
        let unescaped = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                // A surrogate pair is two escapes; a lone half becomes U+FFFD rather than
                // costing the whole reply.
                let code = if (0xD800..0xDC00).contains(&unit)
                    && self.bytes[self.at..].starts_with(b"\\u")
                {
                    let resume = self.at;
                    self.at += 2;
                    let low = self.hex4()?;
                    if (0xDC00..0xE000).contains(&low) {
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        self.at = resume;
                        unit
                    }
                } else {
                    unit
                };
                char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            _ => return Err(self.error("invalid escape")),
        };
        Ok(unescaped)
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .filter(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        let code = u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid \\u escape"))?;
        self.at += 4;
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Option<i64> {
        match parse(text).unwrap() {
            Value::Number(n) => n.as_i64(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scalars_arrays_and_objects() {
        let value =
            parse(r#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d"}, "e": {}} "#).unwrap();
        let Value::Object(map) = &value else {
            panic!("{value:?}")
        };
        let Some(Value::Array(items)) = map.get("a") else {
            panic!("{map:?}")
        };
        assert_eq!(items.len(), 5);
        assert_eq!(items[1].to_string(), "-2.5e3");
        assert_eq!(items[2], Value::Bool(true));
        assert_eq!(items[4], Value::Null);
        assert_eq!(
            map.get("b")
                .and_then(Value::as_object)
                .and_then(|b| b.get("c"))
                .and_then(Value::as_str),
            Some("d")
        );
        assert_eq!(map.get("e"), Some(&Value::Object(Map::default())));
        let keys: Vec<&str> = map.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b", "e"]);
    }

    #[test]
    fn escapes_unescape() {
        let value = parse(r#""q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800x é""#).unwrap();
        assert_eq!(
            value.as_str(),
            Some("q\" b\\ s/ \u{8}\u{c}\n\r\t é 😀 \u{fffd}x é")
        );
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let value = parse(r#"{"k": 1, "k": 2}"#).unwrap();
        let number = value.as_object().and_then(|m| m.get("k")).cloned();
        assert_eq!(number.map(|n| n.to_string()), Some("2".to_string()));
    }

    #[test]
    fn whole_numbers_in_any_notation() {
        assert_eq!(number("5"), Some(5));
        assert_eq!(number("-1"), Some(-1));
        assert_eq!(number("5.0"), Some(5));
        assert_eq!(number("5.10e1"), Some(51));
        assert_eq!(number("1e3"), Some(1000));
        assert_eq!(number("-12E+1"), Some(-120));
        assert_eq!(number("1500e-2"), Some(15));
        assert_eq!(number("0.0"), Some(0));
        assert_eq!(number("0e999999999999"), Some(0));
        assert_eq!(number("5.5"), None);
        assert_eq!(number("15e-1"), None);
        assert_eq!(number("1e300"), None);
        assert_eq!(number("9223372036854775807"), Some(i64::MAX));
        assert_eq!(number("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(number("9223372036854775808"), None);
    }

    #[test]
    fn malformed_bodies_are_errors_with_a_place() {
        for bad in [
            "",
            "{",
            "[1,]",
            "[1 2]",
            "{\"a\" 1}",
            "{a: 1}",
            "01",
            "1.",
            "-",
            "1e",
            "tru",
            "\"open",
            "\"\\x\"",
            "\"\\u12\"",
            "[1] x",
            "\"tab\there\"",
            "{\"a\":1,}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let error = parse("{\n  \"a\": ?\n}").unwrap_err();
        assert_eq!(error.to_string(), "expected value at line 2 column 8");
    }

    /// `parse_document` as one value, for comparing with `parse`.
    fn document(text: &str) -> Result<Value<'_>, JsonError> {
        match parse_document(text)? {
            Document::Value(value) => Ok(value),
            Document::List(items) => {
                assert_eq!(items.len(), items.size_hint().0);
                items.collect::<Result<Vec<_>, _>>().map(Value::Array)
            }
        }
    }

    #[test]
    fn a_list_read_lazily_is_the_list_read_whole() {
        for text in [
            "[]",
            " [ ] ",
            "[1, \"two\", {\"a\": [3, {\"b\": null}]}, [], true]",
            "[{\"id\": \"x\\u00e9\\n\", \"n\": -1.5e3}]\n",
            "{\"value\": [1, 2]}",
            "\"text\"",
            "42",
        ] {
            assert_eq!(document(text), parse(text), "{text:?}");
        }
        let Ok(Document::List(items)) = parse_document("[1, [2, 3], {}]") else {
            panic!("a list");
        };
        assert_eq!(items.len(), 3);
    }

    #[test]
    fn a_list_read_lazily_fails_where_the_whole_read_fails() {
        for bad in [
            "[",
            "[1,]",
            "[1 2]",
            "[1] x",
            "[1, {\"a\" 1}]",
            "[\"open",
            "[\"\\x\"]",
            "[1, 2, 3",
            "[{\"id\": \"a\"}, {\"id\": \"b\"",
            "[\"tab\there\"]",
            "[01]",
        ] {
            let whole = parse(bad).unwrap_err();
            assert_eq!(document(bad).unwrap_err(), whole, "{bad:?}");
        }
        let deep = format!("[{}", "[".repeat(100_000));
        assert_eq!(document(&deep).unwrap_err().problem, "nested too deeply");
        let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(document(&fine), parse(&fine));
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed() {
        let deep = "[".repeat(100_000);
        assert_eq!(
            parse(&deep).unwrap_err().problem,
            "nested too deeply",
            "a hostile body must not exhaust the stack"
        );
        let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn scalars_print_as_json_text() {
        assert_eq!(parse("null").unwrap().to_string(), "null");
        assert_eq!(parse("true").unwrap().to_string(), "true");
        assert_eq!(parse("[1]").unwrap().to_string(), "[…]");
    }
}

/// The hand-written reader decides which folders a plan deletes, so it is held to serde_json
/// on random and mutated JSON: whatever serde_json accepts is read to the same value, and
/// whatever it rejects is rejected here too, with two documented differences.
///
/// The differences, both where serde_json refuses what JSON's grammar allows:
/// - a lone UTF-16 surrogate escape (`"\ud800"`) is read here as U+FFFD, as the browser's
///   `JSON.parse` keeps such strings (Kudu's .NET JSON can write them); such a name names no
///   listed folder, so it is never deleted by a guess;
/// - a number beyond f64's range (`1e400`) is kept as its text here; the parsers read only
///   whole numbers, so such a field is reported as unusable, never misread.
#[cfg(test)]
mod serde_json_differential {
    use proptest::prelude::*;

    use super::{MAX_DEPTH, Value, parse};

    /// `ours` as serde_json's value, numbers read as f64 (serde_json's own reading of a
    /// number it cannot keep as an integer), for comparison.
    fn same(ours: &Value<'_>, theirs: &serde_json::Value) -> bool {
        match (ours, theirs) {
            (Value::Null, serde_json::Value::Null) => true,
            (Value::Bool(a), serde_json::Value::Bool(b)) => a == b,
            (Value::Number(n), serde_json::Value::Number(m)) => {
                let text = n.to_string();
                match (m.as_i64(), m.as_u64()) {
                    (Some(i), _) => text.parse::<i64>().ok() == Some(i) || close(&text, m),
                    (_, Some(u)) => text.parse::<u64>().ok() == Some(u) || close(&text, m),
                    _ => close(&text, m),
                }
            }
            (Value::String(a), serde_json::Value::String(b)) => a == b,
            (Value::Array(a), serde_json::Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
            }
            (Value::Object(a), serde_json::Value::Object(b)) => {
                b.iter()
                    .all(|(key, value)| a.get(key).is_some_and(|ours| same(ours, value)))
                    && a.iter().all(|(key, _)| b.contains_key(key))
            }
            _ => false,
        }
    }

    /// serde_json's default float reading may differ from the correctly rounded one in the
    /// last bits; the text is the same number. (The parsers here read only whole numbers.)
    /// Counted in units in the last place, not relative to the value: a subnormal has fewer
    /// bits, so one ulp there is far more than `EPSILON` of it (serde_json reads
    /// `-1.86714891101555e-309` one ulp away from the correctly rounded value).
    fn close(text: &str, theirs: &serde_json::Number) -> bool {
        let (Some(ours), Some(theirs)) = (text.parse::<f64>().ok(), theirs.as_f64()) else {
            return false;
        };
        ours == theirs
            || (ours.is_sign_negative() == theirs.is_sign_negative()
                && ours.to_bits().abs_diff(theirs.to_bits()) <= 4)
    }

    #[test]
    fn a_subnormal_read_one_ulp_apart_is_the_same_number() {
        let theirs: serde_json::Value = serde_json::from_str("-1.86714891101555e-309").unwrap();
        let serde_json::Value::Number(n) = theirs else {
            panic!("a number")
        };
        assert!(close("-1.86714891101555e-309", &n));
        assert!(!close("-1.86714891101555e-308", &n));
    }

    fn lone_surrogate(text: &str) -> bool {
        let lower = text.to_ascii_lowercase();
        lower.contains("\\ud8")
            || lower.contains("\\ud9")
            || lower.contains("\\uda")
            || lower.contains("\\udb")
            || lower.contains("\\udc")
            || lower.contains("\\udd")
            || lower.contains("\\ude")
            || lower.contains("\\udf")
    }

    fn check(text: &str) -> Result<(), TestCaseError> {
        let theirs = serde_json::from_str::<serde_json::Value>(text);
        let ours = parse(text);
        match (&ours, &theirs) {
            (Ok(ours), Ok(theirs)) => {
                prop_assert!(same(ours, theirs), "{text:?}: {ours:?} vs {theirs:?}")
            }
            (Err(_), Err(_)) => {}
            (Ok(_), Err(error)) => prop_assert!(
                lone_surrogate(text)
                    || error.to_string().contains("recursion limit")
                    || error.to_string().contains("number out of range"),
                "{text:?}: read here, refused by serde_json ({error})"
            ),
            (Err(error), Ok(_)) => prop_assert!(
                depth(text) > MAX_DEPTH,
                "{text:?}: refused here ({error}), read by serde_json"
            ),
        }
        Ok(())
    }

    /// The deepest nesting of brackets outside strings (a rough count, enough for the tests).
    fn depth(text: &str) -> usize {
        let (mut depth, mut deepest) = (0usize, 0usize);
        for c in text.chars() {
            match c {
                '[' | '{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        deepest
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<u64>().prop_map(|n| serde_json::json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::json!(f)),
            "\\PC{0,12}".prop_map(serde_json::Value::String),
            prop::sample::select(vec![
                "Performing continuous deployment",
                "temp-ab12cd34",
                "D:\\home\\site\\locks\\deployments.lock",
                "é😀\u{2028}\"\\/\t",
            ])
            .prop_map(|s| serde_json::Value::String(s.into())),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-z_]{0,8}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Texts serde_json never writes: hand-picked edges of the grammar.
    const EDGES: &[&str] = &[
        "1e400",
        "-1e400",
        "123456789012345678901234567890",
        "-0",
        "0.0e-0",
        "1E+2",
        "01",
        "1.",
        ".5",
        "+1",
        "\"\\ud83d\\ude00\"",
        "\"\\uD83D\\uDE00\"",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"\\u00\"",
        "\"\\/\"",
        "\"\u{7f}\"",
        "\"\u{1f}\"",
        "{\"a\":1,\"a\":2}",
        "[1,]",
        "{\"a\":1,}",
        "[] []",
        " \t\n\r[]\n",
        "\u{feff}[]",
        "nul",
        "true false",
        "{\"\":null}",
    ];

    #[test]
    fn the_grammars_edges_read_as_serde_json_reads_them() {
        for text in EDGES {
            check(text).unwrap();
        }
        for levels in [1, 64, 127, 128, 129, 200] {
            check(&format!("{}1{}", "[".repeat(levels), "]".repeat(levels))).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

        #[test]
        fn valid_json_reads_as_serde_json_reads_it(value in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            check(&text)?;
        }

        #[test]
        fn mutated_json_is_refused_where_serde_json_refuses_it(
            value in json_value(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![
                "", "\"", "\\", ",", ":", "[", "]", "{", "}", "1", "-", "e", ".", " ", "\\u", "\\ud800", "null",
            ])), 1..4),
        ) {
            let mut text = serde_json::to_string(&value).unwrap();
            for (at, insert) in edits {
                let chars: Vec<char> = text.chars().collect();
                let i = at.index(chars.len() + 1);
                let (head, tail): (String, String) = (chars[..i].iter().collect(), chars[i..].iter().collect());
                // Replace one character (or insert at the end).
                let tail: String = tail.chars().skip(1).collect();
                text = format!("{head}{insert}{tail}");
            }
            check(&text)?;
        }
    }
}
