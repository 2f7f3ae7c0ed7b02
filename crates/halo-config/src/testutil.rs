//! Helpers shared by the parsers' unit tests.

use crate::{ConfigErrors, Parsed};

/// The parsed value, or a panic showing every error.
pub(crate) fn ok<T>(text: &str, r: Result<Parsed<T>, ConfigErrors>) -> Parsed<T> {
    match r {
        Ok(p) => p,
        Err(e) => panic!("expected {text:?} to parse, got:\n{e}"),
    }
}

/// Every error message, or a panic if it parsed.
pub(crate) fn errors<T>(text: &str, r: Result<Parsed<T>, ConfigErrors>) -> Vec<String> {
    match r {
        Ok(_) => panic!("expected {text:?} to fail"),
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
    }
}
