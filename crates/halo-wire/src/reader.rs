//! A bounds-checked reader and a writer for the big-endian layouts of the protocol.
//!
//! Hand-written because it is a dozen lines and must never panic: `bytes::Buf`'s
//! getters panic on short input, which is the one thing a decoder may not do.

use halo_types::{MAX_NAME_LEN, NodeName};

/// How a packet or body fails to follow the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformation {
    /// Shorter than the fixed part of the header.
    #[error("shorter than a packet header")]
    TooShort,
    /// Longer than [`crate::MAX_PACKET_LEN`].
    #[error("longer than the largest packet")]
    TooLong,
    /// Does not start with the magic bytes: not a halo packet at all.
    #[error("no halo magic")]
    BadMagic,
    /// The input ended inside this field.
    #[error("ends inside the {0}")]
    Truncated(&'static str),
    /// This field holds a value the protocol does not allow.
    #[error("bad {0}")]
    BadValue(&'static str),
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Malformation> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or(Malformation::Truncated(field))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Malformation> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Malformation> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, Malformation> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, Malformation> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, Malformation> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A length-prefixed name's raw bytes (1..=64), not yet validated.
    pub(crate) fn name_bytes(&mut self, field: &'static str) -> Result<&'a [u8], Malformation> {
        let len = usize::from(self.u8(field)?);
        if len == 0 || len > MAX_NAME_LEN {
            return Err(Malformation::BadValue(field));
        }
        self.take(len, field)
    }

    pub(crate) fn name(&mut self, field: &'static str) -> Result<NodeName, Malformation> {
        parse_name(self.name_bytes(field)?, field)
    }

    /// An optional name: length 0 means none.
    pub(crate) fn opt_name(
        &mut self,
        field: &'static str,
    ) -> Result<Option<NodeName>, Malformation> {
        let len = usize::from(self.u8(field)?);
        if len == 0 {
            return Ok(None);
        }
        if len > MAX_NAME_LEN {
            return Err(Malformation::BadValue(field));
        }
        parse_name(self.take(len, field)?, field).map(Some)
    }
}

/// A name as it must appear on the wire: valid and already lower case, so that one
/// node has exactly one spelling in signed bytes.
pub(crate) fn parse_name(bytes: &[u8], field: &'static str) -> Result<NodeName, Malformation> {
    let s = std::str::from_utf8(bytes).map_err(|_| Malformation::BadValue(field))?;
    let name = NodeName::new(s).map_err(|_| Malformation::BadValue(field))?;
    if name.as_str() != s {
        return Err(Malformation::BadValue(field));
    }
    Ok(name)
}

pub(crate) struct Writer<'a>(pub(crate) &'a mut Vec<u8>);

impl Writer<'_> {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    /// A name: validated types guarantee 1..=64 bytes.
    pub(crate) fn name(&mut self, s: &str) {
        // Names come from `NodeName`/`ClusterName`, whose length is at most 64.
        self.u8(s.len().min(MAX_NAME_LEN) as u8);
        self.bytes(&s.as_bytes()[..s.len().min(MAX_NAME_LEN)]);
    }
    pub(crate) fn opt_name(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.name(s),
            None => self.u8(0),
        }
    }
}
