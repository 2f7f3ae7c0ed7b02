//! Helpers for reading typed values out of an [`Element`] while checking that
//! every attribute and child is one we know.

use crate::error::{CibError, ErrorKind};
use crate::xml::Element;

/// Reads the attributes of one element; unknown attributes are an error on
/// [`Attrs::finish`].
pub(crate) struct Attrs<'a> {
    el: &'a Element<'a>,
    used: Vec<bool>,
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(el: &'a Element<'a>) -> Self {
        Attrs {
            el,
            used: vec![false; el.attrs.len()],
        }
    }

    /// An optional string attribute.
    pub(crate) fn opt(&mut self, name: &str) -> Option<String> {
        let i = self.el.attrs.iter().position(|(n, _)| n == name)?;
        self.used[i] = true;
        Some(self.el.attrs[i].1.to_string())
    }

    /// A required string attribute.
    pub(crate) fn req(&mut self, name: &str) -> Result<String, CibError> {
        self.opt(name).ok_or_else(|| {
            CibError::at(
                self.el.line,
                ErrorKind::Missing {
                    element: self.el.name.to_string(),
                    attribute: name.to_string(),
                },
            )
        })
    }

    /// An optional attribute parsed with `parse`, which names what it expects on error.
    pub(crate) fn opt_parse<T>(
        &mut self,
        name: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, CibError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => match parse(&v) {
                Some(t) => Ok(Some(t)),
                None => Err(self.bad(name, &v, expected)),
            },
        }
    }

    /// An error for a bad value of attribute `name`.
    pub(crate) fn bad(&self, name: &str, value: &str, expected: &str) -> CibError {
        CibError::at(
            self.el.line,
            ErrorKind::BadValue {
                element: self.el.name.to_string(),
                attribute: name.to_string(),
                value: value.to_string(),
                expected: expected.to_string(),
            },
        )
    }

    /// Fails on the first attribute nobody asked for.
    pub(crate) fn finish(self) -> Result<(), CibError> {
        match self.used.iter().position(|u| !u) {
            None => Ok(()),
            Some(i) => Err(CibError::at(
                self.el.line,
                ErrorKind::Unsupported(format!(
                    "attribute '{}' on <{}>",
                    self.el.attrs[i].0, self.el.name
                )),
            )),
        }
    }
}

/// An error for a child element that is not allowed (or not supported) here.
pub(crate) fn unsupported_child(parent: &Element<'_>, child: &Element<'_>) -> CibError {
    CibError::at(
        child.line,
        ErrorKind::Unsupported(format!("element <{}> in <{}>", child.name, parent.name)),
    )
}

/// An error for an element that may appear at most once.
pub(crate) fn duplicate_child(parent: &Element<'_>, child: &Element<'_>) -> CibError {
    CibError::at(
        child.line,
        ErrorKind::Structure(format!(
            "<{}> may contain only one <{}>",
            parent.name, child.name
        )),
    )
}

/// Parses an integer.
pub(crate) fn int<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.trim().parse().ok()
}

/// Parses an XML-schema boolean the way Pacemaker does (true/false, yes/no, on/off, 1/0).
pub(crate) fn boolean(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" | "1" => Some(true),
        "false" | "no" | "off" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Writes a boolean the way it was most likely written.
pub(crate) fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}
