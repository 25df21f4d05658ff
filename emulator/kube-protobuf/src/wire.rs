//! The protobuf wire format (proto2, as Kubernetes' gogo-protobuf writes it; unchanged through
//! Kubernetes 1.35 / k8s-pb 0.9.0): varints, tags, length-delimited payloads and the skipping of
//! fields the schema does not know.
//!
//! Reading never panics: every length is checked against the remaining input, and a varint
//! longer than ten bytes or a length past the end is an error.

use std::fmt;

/// What went wrong at the wire level; the caller adds where (the JSON path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireError {
    /// The input ends inside a varint, a fixed-size value or a length-delimited payload.
    Truncated,
    /// A varint runs over ten bytes (more than 64 bits).
    VarintTooLong,
    /// Field number 0, or one above 2^29 - 1.
    BadFieldNumber(u64),
    /// Wire types 3 and 4 (proto2 groups, which Kubernetes never uses) and 6, 7 (undefined).
    UnsupportedWireType(u8),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated => f.write_str("truncated message"),
            WireError::VarintTooLong => f.write_str("varint longer than 10 bytes"),
            WireError::BadFieldNumber(n) => write!(f, "invalid field number {n}"),
            WireError::UnsupportedWireType(t) => write!(f, "unsupported wire type {t}"),
        }
    }
}

/// A wire type, as the low three bits of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    /// 0: int32, int64, bool (and packed elements of those).
    Varint,
    /// 1: double.
    Fixed64,
    /// 2: string, bytes, messages, map entries, packed repeated scalars.
    Len,
    /// 5: float, fixed32 (not used by Kubernetes; skipped).
    Fixed32,
}

impl WireType {
    /// The name used in error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            WireType::Varint => "varint",
            WireType::Fixed64 => "fixed64",
            WireType::Len => "length-delimited",
            WireType::Fixed32 => "fixed32",
        }
    }
}

/// One field occurrence: its value still undecoded (a varint or the payload bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Raw<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1, little-endian.
    Fixed64(u64),
    /// Wire type 2.
    Len(&'a [u8]),
    /// Wire type 5, little-endian.
    Fixed32(u32),
}

impl Raw<'_> {
    /// The wire type this value came with.
    pub(crate) fn wire_type(&self) -> WireType {
        match self {
            Raw::Varint(_) => WireType::Varint,
            Raw::Fixed64(_) => WireType::Fixed64,
            Raw::Len(_) => WireType::Len,
            Raw::Fixed32(_) => WireType::Fixed32,
        }
    }
}

/// Iterates over the fields of one message: `(field number, value)` in wire order.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> Fields<'a> {
    /// Starts reading the message encoded in `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Fields { buf, failed: false }
    }

    fn next_field(&mut self) -> Result<(u32, Raw<'a>), WireError> {
        let tag = read_varint(&mut self.buf)?;
        let number = tag >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(WireError::BadFieldNumber(number));
        }
        // The bounds check above makes the narrowing exact.
        let number = number as u32;
        let raw = match tag & 7 {
            0 => Raw::Varint(read_varint(&mut self.buf)?),
            1 => Raw::Fixed64(u64::from_le_bytes(take_array(&mut self.buf)?)),
            2 => {
                let len = read_varint(&mut self.buf)?;
                let len = usize::try_from(len).map_err(|_| WireError::Truncated)?;
                if len > self.buf.len() {
                    return Err(WireError::Truncated);
                }
                let (payload, rest) = self.buf.split_at(len);
                self.buf = rest;
                Raw::Len(payload)
            }
            5 => Raw::Fixed32(u32::from_le_bytes(take_array(&mut self.buf)?)),
            other => return Err(WireError::UnsupportedWireType(other as u8)),
        };
        Ok((number, raw))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Raw<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.buf.is_empty() {
            return None;
        }
        let item = self.next_field();
        self.failed = item.is_err();
        Some(item)
    }
}

/// Reads one varint from the front of `buf`.
pub(crate) fn read_varint(buf: &mut &[u8]) -> Result<u64, WireError> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let Some((&byte, rest)) = buf.split_first() else {
            return Err(WireError::Truncated);
        };
        *buf = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(WireError::VarintTooLong)
}

fn take_array<const N: usize>(buf: &mut &[u8]) -> Result<[u8; N], WireError> {
    if buf.len() < N {
        return Err(WireError::Truncated);
    }
    let (head, rest) = buf.split_at(N);
    *buf = rest;
    let mut out = [0u8; N];
    out.copy_from_slice(head);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(buf: &[u8]) -> Result<Vec<(u32, Raw<'_>)>, WireError> {
        Fields::new(buf).collect()
    }

    #[test]
    fn reads_each_wire_type() {
        let buf = [
            0x08, 0x96, 0x01, // 1: varint 150
            0x11, 1, 0, 0, 0, 0, 0, 0, 0, // 2: fixed64 1
            0x1a, 0x02, b'h', b'i', // 3: "hi"
            0x25, 2, 0, 0, 0, // 4: fixed32 2
        ];
        assert_eq!(
            fields(&buf),
            Ok(vec![
                (1, Raw::Varint(150)),
                (2, Raw::Fixed64(1)),
                (3, Raw::Len(b"hi")),
                (4, Raw::Fixed32(2)),
            ])
        );
    }

    #[test]
    fn negative_int32_is_a_ten_byte_varint() {
        let mut buf: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(read_varint(&mut buf).map(|v| v as i64), Ok(-1));
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(fields(&[0x08]), Err(WireError::Truncated));
        assert_eq!(fields(&[0x0a, 0x05, b'a']), Err(WireError::Truncated));
        assert_eq!(fields(&[0x11, 1, 2]), Err(WireError::Truncated));
        assert_eq!(fields(&[0x00, 0x00]), Err(WireError::BadFieldNumber(0)));
        assert_eq!(fields(&[0x0b]), Err(WireError::UnsupportedWireType(3)));
        assert_eq!(
            fields(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(WireError::VarintTooLong)
        );
        let huge_len = [
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert_eq!(fields(&huge_len), Err(WireError::Truncated));
    }

    #[test]
    fn stops_after_the_first_error() {
        let mut it = Fields::new(&[0x00, 0x08, 0x01]);
        assert!(matches!(it.next(), Some(Err(_))));
        assert!(it.next().is_none());
    }
}
