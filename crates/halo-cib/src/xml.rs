//! A small XML element tree with source line numbers.
//!
//! The CIB is element-and-attribute XML: no mixed content, no namespaces that
//! matter, comments are not data. This module turns text into a tree of
//! [`Element`]s (remembering the line each element started on, so that the typed
//! reader can name it in errors) and writes a tree back as text. The typed model
//! in [`crate::model`] is built from and written to this tree, and diffs
//! ([`crate::diff`]) are computed on it.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::XmlVersion;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::QName;

use crate::error::{CibError, ErrorKind};

/// One XML element: name, attributes in document order, child elements.
///
/// Equality ignores [`Element::line`]: two trees are equal when they have the same
/// content, wherever they came from.
///
/// Parsed elements borrow their names and attribute values from the source
/// text where they can (no allocation per attribute); built elements own them.
#[derive(Debug, Clone)]
pub struct Element<'a> {
    /// Element name, e.g. `primitive`.
    pub name: Cow<'a, str>,
    /// Attributes in document order.
    pub attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Child elements in document order.
    pub children: Vec<Element<'a>>,
    /// 1-based line of the start tag in the source text (0 for built elements).
    pub line: u32,
}

impl PartialEq for Element<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.same_content(other)
    }
}

impl Eq for Element<'_> {}

impl Element<'static> {
    /// A new element without attributes or children.
    pub fn new(name: &str) -> Self {
        Element {
            name: Cow::Owned(name.to_string()),
            attrs: Vec::new(),
            children: Vec::new(),
            line: 0,
        }
    }
}

impl<'a> Element<'a> {
    /// The same element owning all its text.
    pub fn into_owned(self) -> Element<'static> {
        Element {
            name: Cow::Owned(self.name.into_owned()),
            attrs: self
                .attrs
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
            children: self.children.into_iter().map(Element::into_owned).collect(),
            line: self.line,
        }
    }

    /// The attributes as owned pairs.
    pub fn owned_attrs(&self) -> Vec<(String, String)> {
        self.attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Replaces the attributes.
    pub fn set_attrs(&mut self, attrs: &[(String, String)]) {
        self.attrs = attrs
            .iter()
            .map(|(k, v)| (Cow::Owned(k.clone()), Cow::Owned(v.clone())))
            .collect();
    }

    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Sets attribute `name` (replacing its value, or appending it).
    pub fn set_attr(&mut self, name: &str, value: &str) {
        match self.attrs.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = Cow::Owned(value.to_string()),
            None => self
                .attrs
                .push((Cow::Owned(name.to_string()), Cow::Owned(value.to_string()))),
        }
    }

    /// Removes attribute `name` if present.
    pub fn remove_attr(&mut self, name: &str) {
        self.attrs.retain(|(n, _)| n != name);
    }

    /// Builder: adds an attribute.
    pub fn with_attr(mut self, name: &str, value: &str) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Builder: adds an attribute when `value` is `Some`.
    pub fn with_opt(mut self, name: &str, value: Option<&str>) -> Self {
        if let Some(v) = value {
            self.set_attr(name, v);
        }
        self
    }

    /// Builder: appends a child.
    pub fn with_child(mut self, child: Element<'a>) -> Self {
        self.children.push(child);
        self
    }

    /// The element's `id` attribute.
    pub fn id(&self) -> Option<&str> {
        self.attr("id")
    }

    /// Equality ignoring line numbers.
    pub fn same_content(&self, other: &Element<'_>) -> bool {
        self.name == other.name
            && self.attrs == other.attrs
            && self.children.len() == other.children.len()
            && self
                .children
                .iter()
                .zip(&other.children)
                .all(|(a, b)| a.same_content(b))
    }

    /// Writes the element as indented XML (two spaces per level), with a final newline.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write_into(&mut out, 0);
        out
    }

    fn write_into(&self, out: &mut String, depth: usize) {
        for _ in 0..depth {
            out.push_str("  ");
        }
        out.push('<');
        out.push_str(&self.name);
        for (n, v) in &self.attrs {
            let _ = write!(out, " {n}=\"");
            escape_attr(out, v);
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str("/>\n");
            return;
        }
        out.push_str(">\n");
        for c in &self.children {
            c.write_into(out, depth + 1);
        }
        for _ in 0..depth {
            out.push_str("  ");
        }
        let _ = writeln!(out, "</{}>", self.name);
    }
}

/// Escapes an attribute value the way libxml2 does for double-quoted values.
pub fn escape_attr(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

/// Parses XML text into its root element.
///
/// Comments, processing instructions, the XML declaration and whitespace between
/// elements are skipped; any other text content is an error, because the CIB has none.
pub fn parse(text: &str) -> Result<Element<'_>, CibError> {
    let mut r = TextReader::new(text);
    let root = r
        .child()?
        .ok_or_else(|| CibError::at(r.line, ErrorKind::Syntax("no root element".into())))?;
    let root = r.whole(root)?.into_owned();
    r.finish()?;
    Ok(root)
}

/// Elements in document order, for readers that build their own structures as
/// they go instead of from a whole tree (the status section of a large CIB is
/// most of its size: 320,000 history entries for 10,000 resources on 32 nodes).
///
/// [`TextReader`] reads them from text, [`TreeReader`] walks an [`Element`]
/// tree, so one typed reader serves both. `'t` is how long the handed-out start
/// tags live (the tree's lifetime; text readers hand out owned tags).
pub(crate) trait Pull<'t, 'a: 't> {
    /// The next child of the innermost element still open: its start tag (with
    /// attributes, children not yet read), or `None` when that element ends.
    /// At the top level the one child is the root element.
    fn child(&mut self) -> Result<Option<Cow<'t, Element<'a>>>, CibError>;

    /// The whole element whose start tag `child` has just returned, children
    /// included; its end has then been read.
    fn whole(&mut self, tag: Cow<'t, Element<'a>>) -> Result<Cow<'t, Element<'a>>, CibError>;
}

/// Reads start tags and element ends from text (see [`Pull`]).
pub(crate) struct TextReader<'a> {
    text: &'a str,
    reader: quick_xml::Reader<&'a [u8]>,
    /// 1-based line of byte `counted`.
    line: u32,
    counted: usize,
    /// Names and lines of the open elements, outermost first.
    open: Vec<(Cow<'a, str>, u32)>,
    /// The last tag handed out was self-closing: the next `child` ends it.
    empty_open: bool,
    /// The root element has been read.
    seen_root: bool,
    /// Attributes of the tag being read (reused: one exact allocation per tag).
    scratch: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// One step of the text.
enum Token<'a> {
    Start(Element<'a>),
    Empty(Element<'a>),
    End,
    Eof,
}

impl<'a> TextReader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        TextReader {
            text,
            reader: quick_xml::Reader::from_str(text),
            line: 1,
            counted: 0,
            open: Vec::new(),
            empty_open: false,
            seen_root: false,
            scratch: Vec::new(),
        }
    }

    /// Advances `line` to byte `pos` (line numbers are counted as the reader
    /// goes, instead of indexing every line start of a 200 MB text).
    fn line_at(&mut self, pos: usize) -> u32 {
        let pos = pos.min(self.text.len());
        if pos >= self.counted {
            let newlines =
                memchr::memchr_iter(b'\n', &self.text.as_bytes()[self.counted..pos]).count();
            self.line = self
                .line
                .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            self.counted = pos;
            self.line
        } else {
            let newlines = memchr::memchr_iter(b'\n', &self.text.as_bytes()[..pos]).count();
            u32::try_from(newlines + 1).unwrap_or(u32::MAX)
        }
    }

    /// The next start tag, end tag or the end of the text; skips what is not data.
    fn token(&mut self) -> Result<Token<'a>, CibError> {
        loop {
            let pos = clamp(self.reader.buffer_position(), self.text);
            let ev = match self.reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = clamp(self.reader.error_position(), self.text);
                    return Err(CibError::at(
                        self.line_at(at),
                        ErrorKind::Syntax(e.to_string()),
                    ));
                }
            };
            // The event started after any leading whitespace of the slice we consumed.
            let start = pos + leading_ws(&self.text.as_bytes()[pos..]);
            let line = self.line_at(start);
            match ev {
                Event::Start(s) => return Ok(Token::Start(self.start_element(&s, line)?)),
                Event::Empty(s) => return Ok(Token::Empty(self.start_element(&s, line)?)),
                Event::End(_) => return Ok(Token::End),
                Event::Eof => return Ok(Token::Eof),
                Event::Text(t) if t.bytes().all(|b| b.is_ascii_whitespace()) => {}
                Event::Text(t) => {
                    let raw = t.xml_content(XmlVersion::Implicit1_0);
                    if !raw.trim().is_empty() {
                        return Err(CibError::at(
                            line,
                            ErrorKind::Unsupported(format!(
                                "text content {:?}",
                                raw.trim().chars().take(40).collect::<String>()
                            )),
                        ));
                    }
                }
                Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(CibError::at(
                        line,
                        ErrorKind::Unsupported("text content".into()),
                    ));
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    /// The element of a start tag, attributes decoded, without children.
    fn start_element(&mut self, s: &BytesStart<'_>, line: u32) -> Result<Element<'a>, CibError> {
        let text = self.text;
        let bad = |e: String| CibError::at(line, ErrorKind::Syntax(e));
        self.scratch.clear();
        for (key, raw) in split_attrs(s.attributes_raw()) {
            let key = key.map_err(bad)?;
            // Values without entities or whitespace to normalize are used as
            // written (a fold without early exit, which the compiler vectorizes).
            let plain = !raw.bytes().fold(false, |f, b| f | (b < 0x20) | (b == b'&'));
            let value = if plain {
                borrow_or_copy(text, raw)
            } else {
                let a = Attribute {
                    key: QName(key),
                    value: Cow::Borrowed(raw),
                };
                Cow::Owned(
                    a.normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| bad(e.to_string()))?
                        .into_owned(),
                )
            };
            self.scratch.push((borrow_or_copy(text, key), value));
        }
        if let Some(dup) = duplicate_name(&self.scratch) {
            return Err(bad(format!("duplicate attribute '{dup}'")));
        }
        Ok(Element {
            name: borrow_or_copy(text, s.name().0),
            // Large documents hold millions of these: exactly the room needed.
            attrs: self.scratch.drain(..).collect(),
            children: Vec::new(),
            line,
        })
    }

    /// Checks that nothing but comments and whitespace follows the root element.
    pub(crate) fn finish(&mut self) -> Result<(), CibError> {
        match self.child()? {
            None => Ok(()),
            Some(el) => Err(CibError::at(
                el.line,
                ErrorKind::Syntax("more than one root element".into()),
            )),
        }
    }
}

impl<'t, 'a: 't> Pull<'t, 'a> for TextReader<'a> {
    fn child(&mut self) -> Result<Option<Cow<'t, Element<'a>>>, CibError> {
        if self.empty_open {
            self.empty_open = false;
            return Ok(None);
        }
        match self.token()? {
            Token::Start(el) | Token::Empty(el) if self.open.is_empty() && self.seen_root => {
                Err(CibError::at(
                    el.line,
                    ErrorKind::Syntax("more than one root element".into()),
                ))
            }
            Token::Start(el) => {
                self.seen_root = true;
                self.open.push((el.name.clone(), el.line));
                Ok(Some(Cow::Owned(el)))
            }
            Token::Empty(el) => {
                self.seen_root = true;
                self.empty_open = true;
                Ok(Some(Cow::Owned(el)))
            }
            Token::End => match self.open.pop() {
                Some(_) => Ok(None),
                None => Err(CibError::at(
                    self.line,
                    ErrorKind::Syntax("unexpected end tag".into()),
                )),
            },
            Token::Eof => match self.open.last() {
                Some((name, line)) => Err(CibError::at(
                    *line,
                    ErrorKind::Syntax(format!("element <{name}> is never closed")),
                )),
                None => Ok(None),
            },
        }
    }

    fn whole(&mut self, tag: Cow<'t, Element<'a>>) -> Result<Cow<'t, Element<'a>>, CibError> {
        if self.empty_open {
            self.empty_open = false;
            return Ok(tag);
        }
        let mut stack = vec![tag.into_owned()];
        loop {
            match self.child()? {
                Some(c) => stack.push(c.into_owned()),
                None => {
                    let done = stack.pop().ok_or_else(|| {
                        CibError::at(self.line, ErrorKind::Syntax("unexpected end tag".into()))
                    })?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(Cow::Owned(done)),
                    }
                }
            }
        }
    }
}

/// Walks an [`Element`] tree (see [`Pull`]).
pub(crate) struct TreeReader<'t, 'a> {
    /// The children still to visit of each open element, outermost first.
    open: Vec<std::slice::Iter<'t, Element<'a>>>,
}

impl<'t, 'a> TreeReader<'t, 'a> {
    pub(crate) fn new(root: &'t Element<'a>) -> Self {
        TreeReader {
            open: vec![std::slice::from_ref(root).iter()],
        }
    }
}

impl<'t, 'a: 't> Pull<'t, 'a> for TreeReader<'t, 'a> {
    fn child(&mut self) -> Result<Option<Cow<'t, Element<'a>>>, CibError> {
        let Some(siblings) = self.open.last_mut() else {
            return Ok(None);
        };
        match siblings.next() {
            Some(el) => {
                self.open.push(el.children.iter());
                Ok(Some(Cow::Borrowed(el)))
            }
            None => {
                self.open.pop();
                Ok(None)
            }
        }
    }

    fn whole(&mut self, tag: Cow<'t, Element<'a>>) -> Result<Cow<'t, Element<'a>>, CibError> {
        self.open.pop();
        Ok(tag)
    }
}

fn clamp(pos: u64, text: &str) -> usize {
    usize::try_from(pos).unwrap_or(usize::MAX).min(text.len())
}

fn leading_ws(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_whitespace()).count()
}

/// `part` as a slice of `text` with `text`'s lifetime when it lies inside it
/// (quick-xml hands out slices of the input it reads from).
fn within<'a>(text: &'a str, part: &str) -> Option<&'a str> {
    let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    text.get(start..end)
}

/// `part` borrowed from `text` when possible, otherwise copied.
fn borrow_or_copy<'a>(text: &'a str, part: &str) -> Cow<'a, str> {
    match within(text, part) {
        Some(p) => Cow::Borrowed(p),
        None => Cow::Owned(part.to_string()),
    }
}

/// The attributes of a start tag (`raw`: the text after its name) as
/// `(name, raw value)` pairs, or an error for the first malformed one.
///
/// quick-xml's attribute iterator walks every byte and allocates for its
/// duplicate check; this one jumps from quote to quote, which is a third of
/// the reading time of a large CIB (hundreds of thousands of history entries
/// with 18 attributes each).
fn split_attrs(raw: &str) -> impl Iterator<Item = (Result<&str, String>, &str)> {
    let b = raw.as_bytes();
    let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    let mut i = 0;
    let mut failed = false;
    std::iter::from_fn(move || {
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        if failed || i == b.len() {
            return None;
        }
        let start = i;
        let mut odd = false;
        while i < b.len() && !ws(b[i]) && b[i] != b'=' {
            odd |= matches!(b[i], b'"' | b'\'' | b'<' | b'>');
            i += 1;
        }
        let name = &raw[start..i];
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        let mut fail = |e: String| {
            failed = true;
            Some((Err(e), ""))
        };
        if name.is_empty() || odd {
            return fail(format!("bad attribute name {name:?}"));
        }
        if b.get(i) != Some(&b'=') {
            return fail(format!("attribute '{name}' has no value"));
        }
        i += 1;
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        let quote = match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return fail(format!("the value of attribute '{name}' is not quoted")),
        };
        i += 1;
        let Some(len) = memchr::memchr(quote, &b[i..]) else {
            return fail(format!("the value of attribute '{name}' is not closed"));
        };
        let value = &raw[i..i + len];
        i += len + 1;
        Some((Ok(name), value))
    })
}

/// The first attribute name that appears twice, if any.
fn duplicate_name<'e>(attrs: &'e [(Cow<'_, str>, Cow<'_, str>)]) -> Option<&'e str> {
    if attrs.len() <= 32 {
        (1..attrs.len())
            .find(|&i| attrs[..i].iter().any(|(k, _)| *k == attrs[i].0))
            .map(|i| attrs[i].0.as_ref())
    } else {
        // Quadratic checks of long lists invite denial of service.
        let mut names: Vec<&str> = attrs.iter().map(|(k, _)| k.as_ref()).collect();
        names.sort_unstable();
        names.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_lines_and_skips_comments() {
        let text =
            "<?xml version=\"1.0\"?>\n<a x=\"1\">\n  <!-- c -->\n  <b y=\"&lt;2&gt;\"/>\n</a>\n";
        let a = parse(text).expect("parse");
        assert_eq!(a.name, "a");
        assert_eq!(a.line, 2);
        assert_eq!(a.children[0].attr("y"), Some("<2>"));
        assert_eq!(a.children[0].line, 4);
    }

    #[test]
    fn text_content_is_rejected_with_line() {
        let err = parse("<a>\n<b>hello</b></a>").expect_err("text");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn writes_and_reads_back() {
        let el = Element::new("a")
            .with_attr("v", "x\"<&>\ty")
            .with_child(Element::new("b"));
        let text = el.to_xml();
        let back = parse(&text).expect("parse");
        assert!(el.same_content(&back));
    }

    #[test]
    fn unclosed_and_duplicate_attributes_are_errors() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a x=\"1\" x=\"2\"/>").is_err());
    }
}
