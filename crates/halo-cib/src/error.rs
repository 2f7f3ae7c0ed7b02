//! Errors of the CIB crate: every error names the line of the offending element.

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not well-formed XML.
    Syntax(String),
    /// An element or attribute that halo does not support (yet) or that the schema
    /// does not allow here.
    Unsupported(String),
    /// A required attribute is missing.
    Missing {
        /// Element name.
        element: String,
        /// Attribute name.
        attribute: String,
    },
    /// An attribute has a value that cannot be used.
    BadValue {
        /// Element name.
        element: String,
        /// Attribute name.
        attribute: String,
        /// The offending value.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// The document is structurally wrong (e.g. the root is not `<cib>`).
    Structure(String),
    /// A diff could not be applied.
    Patch(String),
}

/// An error with the 1-based source line it refers to (0 when there is no source).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CibError {
    /// Line of the element in error (0 if not from text).
    pub line: u32,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl CibError {
    /// An error at `line`.
    pub fn at(line: u32, kind: ErrorKind) -> Self {
        CibError { line, kind }
    }
}

impl fmt::Display for CibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        match &self.kind {
            ErrorKind::Syntax(s) => write!(f, "malformed XML: {s}"),
            ErrorKind::Unsupported(s) => write!(f, "unsupported {s}"),
            ErrorKind::Missing { element, attribute } => {
                write!(f, "<{element}> is missing required attribute '{attribute}'")
            }
            ErrorKind::BadValue {
                element,
                attribute,
                value,
                expected,
            } => write!(
                f,
                "<{element}> attribute '{attribute}' has value {value:?}; expected {expected}"
            ),
            ErrorKind::Structure(s) => f.write_str(s),
            ErrorKind::Patch(s) => write!(f, "cannot apply diff: {s}"),
        }
    }
}
