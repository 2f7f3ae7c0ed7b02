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
use quick_xml::events::{BytesStart, Event};

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
    let mut reader = quick_xml::Reader::from_str(text);
    let lines = LineIndex::new(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| {
            CibError::at(
                lines.line(reader.error_position()),
                ErrorKind::Syntax(e.to_string()),
            )
        })?;
        // The event started after any leading whitespace of the slice we consumed.
        let line = lines.line(pos + leading_ws(&text.as_bytes()[clamp(pos, text)..]));
        match ev {
            Event::Start(s) => stack.push(start_element(text, &s, line)?),
            Event::Empty(s) => {
                let el = start_element(text, &s, line)?;
                attach(&mut stack, &mut root, el, line)?;
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| {
                    CibError::at(line, ErrorKind::Syntax("unexpected end tag".into()))
                })?;
                attach(&mut stack, &mut root, el, line)?;
            }
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
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(CibError::at(
            open.line,
            ErrorKind::Syntax(format!("element <{}> is never closed", open.name)),
        ));
    }
    root.ok_or_else(|| CibError::at(1, ErrorKind::Syntax("no root element".into())))
}

fn clamp(pos: u64, text: &str) -> usize {
    usize::try_from(pos).unwrap_or(usize::MAX).min(text.len())
}

fn leading_ws(b: &[u8]) -> u64 {
    b.iter().take_while(|c| c.is_ascii_whitespace()).count() as u64
}

fn attach<'a>(
    stack: &mut [Element<'a>],
    root: &mut Option<Element<'a>>,
    el: Element<'a>,
    line: u32,
) -> Result<(), CibError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => {
            return Err(CibError::at(
                line,
                ErrorKind::Syntax("more than one root element".into()),
            ));
        }
    }
    Ok(())
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

fn start_element<'a>(
    text: &'a str,
    s: &BytesStart<'_>,
    line: u32,
) -> Result<Element<'a>, CibError> {
    let bad = |e: String| CibError::at(line, ErrorKind::Syntax(e));
    let mut el = Element {
        name: borrow_or_copy(text, s.name().0),
        attrs: Vec::with_capacity(8),
        children: Vec::new(),
        line,
    };
    for a in s.attributes() {
        let a = a.map_err(|e| bad(e.to_string()))?;
        let key = borrow_or_copy(text, a.key.0);
        // Values without entities or whitespace to normalize are used as written.
        let plain = !a
            .value
            .bytes()
            .any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'));
        let value = if plain {
            borrow_or_copy(text, &a.value)
        } else {
            Cow::Owned(
                a.normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|e| bad(e.to_string()))?
                    .into_owned(),
            )
        };
        if el.attrs.iter().any(|(n, _)| *n == key) {
            return Err(bad(format!("duplicate attribute '{key}'")));
        }
        el.attrs.push((key, value));
    }
    // Large documents hold millions of these: no spare capacity.
    el.attrs.shrink_to_fit();
    Ok(el)
}

/// Maps byte offsets to 1-based line numbers.
struct LineIndex {
    starts: Vec<u64>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i as u64 + 1);
            }
        }
        LineIndex { starts }
    }

    fn line(&self, pos: u64) -> u32 {
        let idx = self.starts.partition_point(|&s| s <= pos);
        u32::try_from(idx.max(1)).unwrap_or(u32::MAX)
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
