//! A small XML element tree with source line numbers.
//!
//! The CIB is element-and-attribute XML: no mixed content, no namespaces that
//! matter, comments are not data. This module turns text into a tree of
//! [`Element`]s (remembering the line each element started on, so that the typed
//! reader can name it in errors) and writes a tree back as text. The typed model
//! in [`crate::model`] is written to this tree, and diffs ([`crate::diff`]) are
//! computed on it.
//!
//! Reading goes through `Pull`: start tags and element ends in document
//! order, from text (the scanner in `scan`) or from a tree. The typed reader
//! asks for whole subtrees where they are small (the configuration) and
//! takes the status section tag by tag, so a large CIB never exists as a
//! tree.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::{CibError, ErrorKind};
pub(crate) use crate::scan::TextReader;

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
        .ok_or_else(|| CibError::at(r.line(), ErrorKind::Syntax("no root element".into())))?;
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
