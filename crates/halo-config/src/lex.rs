//! Lines and words, shared by the three parsers.

use std::path::Path;

use crate::error::{ConfigError, Problem};

/// One physical line: its 1-based number and its text without the line end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub no: u32,
    pub text: &'a str,
}

/// Splits `bytes` into lines. Like heartbeat, a line ends at the first CR or LF (so a
/// CR-LF file reads like an LF file). A line that is not UTF-8 becomes an error and is
/// skipped, so that the other lines are still checked.
pub(crate) fn lines<'a>(
    file: &Path,
    bytes: &'a [u8],
    errors: &mut Vec<ConfigError>,
) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    // A final line end does not start another (empty) line.
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return out;
    }
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let raw = match raw.iter().position(|&b| b == b'\r') {
            Some(cr) => &raw[..cr],
            None => raw,
        };
        match std::str::from_utf8(raw) {
            Ok(text) => out.push(Line { no, text }),
            Err(_) => errors.push(ConfigError {
                file: file.to_path_buf(),
                line: Some(no),
                directive: None,
                problem: Problem::NotUtf8,
            }),
        }
    }
    out
}

/// heartbeat's `WHITESPACE`: blank, tab, form feed, vertical tab.
pub(crate) fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0b' | '\x0c')
}

/// heartbeat's `DELIMS` for token directives: whitespace and commas.
pub(crate) fn is_delim(c: char) -> bool {
    is_blank(c) || c == ','
}

/// Words separated by blanks.
pub(crate) fn words(s: &str) -> Vec<&str> {
    s.split(is_blank).filter(|w| !w.is_empty()).collect()
}

/// Words separated by blanks or commas.
pub(crate) fn tokens(s: &str) -> Vec<&str> {
    s.split(is_delim).filter(|w| !w.is_empty()).collect()
}

/// The text before the first `#` (ha.cf and haresources: a comment may start anywhere).
pub(crate) fn strip_comment(s: &str) -> &str {
    match s.find('#') {
        Some(i) => &s[..i],
        None => s,
    }
}
