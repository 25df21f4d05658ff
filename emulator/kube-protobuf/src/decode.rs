//! The generic message decoder: walks a message's wire fields against the schema table
//! (k8s-pb 0.9.0 / Kubernetes 1.35.0) and builds the JSON object Go's `encoding/json` would
//! write for the same Go struct.
//!
//! gogo-protobuf writes every non-pointer Go field, zero or not, and only set pointers; so the
//! JSON follows from the Go facts the table records:
//!
//! | Go field                  | on the wire         | JSON                                        |
//! |---------------------------|---------------------|---------------------------------------------|
//! | `*T` (pointer)            | present when set    | the value, zero included; absent: omitted (`null` without `omitempty`) |
//! | `T` scalar, `omitempty`   | always              | omitted when zero                           |
//! | `T` scalar                | always              | the value (absent: the zero value)          |
//! | `T` struct                | always              | the object, even empty (`omitempty` does not apply to structs; `omitzero` does) |
//! | `[]T`, `map[string]T`     | one entry per item  | array/object; none: omitted (`null` without `omitempty`) |
//! | embedded `T`, `json:",inline"` | a nested message | its fields merged into the parent            |
//!
//! Proto semantics on top: the last occurrence of a scalar wins, repeated occurrences of a
//! message merge (decoded as their concatenation), packed and unpacked repeated scalars are both
//! accepted, unknown field numbers are skipped.

use crate::error::DecodeError;
use crate::format;
use crate::schema::{Card, Field, MessageId, Schema, Ty};
use crate::special;
use crate::wire::{read_varint, Fields, Raw, WireError, WireType};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt::Write as _;

/// How deep messages may nest (Kubernetes objects reach about 15; recursive types such as
/// JSONSchemaProps are bounded by this).
pub(crate) const MAX_DEPTH: usize = 100;

/// One step of a JSON path, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'a> {
    /// The object itself, named by its kind.
    Root(&'a str),
    /// `.name`
    Field(&'a str),
    /// `[3]`
    Index(usize),
    /// `["key"]`
    Key(&'a str),
}

/// A JSON path as a chain of stack frames; only rendered when an error is reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

impl<'a> Path<'a> {
    /// The path of the object itself.
    pub(crate) fn root(kind: &'a str) -> Self {
        Path {
            parent: None,
            seg: Seg::Root(kind),
        }
    }

    /// A step below this one.
    pub(crate) fn child(&'a self, seg: Seg<'a>) -> Path<'a> {
        Path {
            parent: Some(self),
            seg,
        }
    }

    /// `Deployment.spec.template.spec.containers[0].ports[0]`.
    pub(crate) fn render(&self) -> String {
        let mut segs = vec![self.seg];
        let mut p = self.parent;
        while let Some(node) = p {
            segs.push(node.seg);
            p = node.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root(kind) => out.push_str(kind),
                Seg::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Seg::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
                Seg::Key(k) => {
                    let _ = write!(out, "[{k:?}]");
                }
            }
        }
        out
    }

    /// A [`DecodeError::Malformed`] here.
    pub(crate) fn malformed(&self, e: WireError) -> DecodeError {
        DecodeError::Malformed {
            at: self.render(),
            reason: e.to_string(),
        }
    }

    /// A [`DecodeError::InvalidValue`] here.
    pub(crate) fn invalid(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError::InvalidValue {
            at: self.render(),
            reason: reason.into(),
        }
    }

    /// A [`DecodeError::WireType`] here.
    pub(crate) fn wire_type(&self, expected: WireType, found: WireType) -> DecodeError {
        DecodeError::WireType {
            at: self.render(),
            expected: expected.name(),
            found: found.name(),
        }
    }
}

/// Decodes messages of one schema.
pub(crate) struct Decoder<'s> {
    pub(crate) schema: &'s Schema,
}

impl<'s> Decoder<'s> {
    /// The JSON of message `id` encoded in `bytes` (empty: the Go zero value).
    pub(crate) fn message(
        &self,
        id: MessageId,
        bytes: &[u8],
        path: &Path<'_>,
        depth: usize,
    ) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep {
                at: path.render(),
                limit: MAX_DEPTH,
            });
        }
        let msg = &self.schema.messages[id];
        let occurrences = self.collect(id, bytes, path)?;
        if let Some(sp) = msg.special {
            return special::decode(self, id, sp, &occurrences, bytes.is_empty(), path, depth);
        }
        let mut obj = Map::new();
        for (f, occ) in msg.fields.iter().zip(&occurrences) {
            if f.hidden {
                continue;
            }
            if f.inline {
                let Ty::Message(inner) = f.ty else { continue };
                if occ.is_empty() && f.ptr {
                    continue;
                }
                let bytes = self.concat(occ, path)?;
                if let Value::Object(fields) = self.message(inner, &bytes, path, depth + 1)? {
                    obj.extend(fields);
                }
                continue;
            }
            let fpath = path.child(Seg::Field(&f.json));
            if let Some(v) = self.field(f, occ, &fpath, depth)? {
                obj.insert(f.json.to_string(), v);
            }
        }
        Ok(Value::Object(obj))
    }

    /// The occurrences of each field of message `id`, indexed like its `fields`.
    pub(crate) fn collect<'b>(
        &self,
        id: MessageId,
        bytes: &'b [u8],
        path: &Path<'_>,
    ) -> Result<Vec<Vec<Raw<'b>>>, DecodeError> {
        let msg = &self.schema.messages[id];
        let mut out = vec![Vec::new(); msg.fields.len()];
        for item in Fields::new(bytes) {
            let (number, raw) = item.map_err(|e| path.malformed(e))?;
            if let Some(i) = msg.field_index(number) {
                out[i].push(raw);
            }
        }
        Ok(out)
    }

    /// The JSON of one field, or `None` when Go would leave it out.
    fn field(
        &self,
        f: &Field,
        occ: &[Raw<'_>],
        path: &Path<'_>,
        depth: usize,
    ) -> Result<Option<Value>, DecodeError> {
        match f.card {
            Card::Repeated => {
                let items = self.repeated(f.ty, occ, path, depth)?;
                Ok(if items.is_empty() {
                    absent_nilable(f)
                } else {
                    Some(Value::Array(items))
                })
            }
            Card::Map => {
                if occ.is_empty() {
                    return Ok(absent_nilable(f));
                }
                let mut map = Map::new();
                for raw in occ {
                    let Raw::Len(entry) = raw else {
                        return Err(path.wire_type(WireType::Len, raw.wire_type()));
                    };
                    let (key, value) = self.map_entry(f.ty, entry, path, depth)?;
                    map.insert(key, value);
                }
                Ok(Some(Value::Object(map)))
            }
            Card::Single => match f.ty {
                Ty::Message(id) => self.single_message(f, id, occ, path, depth),
                Ty::Bytes => match occ.last() {
                    None => Ok(absent_nilable(f)),
                    Some(raw) => {
                        let b = expect_len(raw, path)?;
                        Ok((!(b.is_empty() && f.omitempty))
                            .then(|| Value::String(format::base64(b))))
                    }
                },
                ty => match occ.last() {
                    None if f.ptr || f.omitempty => Ok(absent_nilable(f)),
                    None => Ok(Some(zero(ty))),
                    Some(raw) => {
                        let v = scalar(ty, raw, path)?;
                        Ok((f.ptr || !f.omitempty || !is_zero(&v)).then_some(v))
                    }
                },
            },
        }
    }

    fn single_message(
        &self,
        f: &Field,
        id: MessageId,
        occ: &[Raw<'_>],
        path: &Path<'_>,
        depth: usize,
    ) -> Result<Option<Value>, DecodeError> {
        // A Go slice type (`Verbs`) is nil-able like any slice, whatever the field's type says.
        let slice = self.schema.messages[id].special == Some(crate::schema::Special::Array);
        if occ.is_empty() && (f.ptr || slice) {
            return Ok(absent_nilable(f));
        }
        let bytes = self.concat(occ, path)?;
        let v = self.message(id, &bytes, path, depth + 1)?;
        if slice && f.omitempty && v.is_null() {
            return Ok(None);
        }
        if f.omitzero && (occ.is_empty() || v == self.message(id, &[], path, depth + 1)?) {
            return Ok(None);
        }
        Ok(Some(v))
    }

    /// The payloads of a message field's occurrences, concatenated (proto merge semantics).
    pub(crate) fn concat<'b>(
        &self,
        occ: &[Raw<'b>],
        path: &Path<'_>,
    ) -> Result<Cow<'b, [u8]>, DecodeError> {
        match occ {
            [] => Ok(Cow::Borrowed(&[])),
            [one] => Ok(Cow::Borrowed(expect_len(one, path)?)),
            many => {
                let mut out = Vec::new();
                for raw in many {
                    out.extend_from_slice(expect_len(raw, path)?);
                }
                Ok(Cow::Owned(out))
            }
        }
    }

    /// The elements of a repeated field, packed or not.
    pub(crate) fn repeated(
        &self,
        ty: Ty,
        occ: &[Raw<'_>],
        path: &Path<'_>,
        depth: usize,
    ) -> Result<Vec<Value>, DecodeError> {
        let mut items = Vec::with_capacity(occ.len());
        for raw in occ {
            match (ty, raw) {
                (Ty::Message(id), Raw::Len(b)) => {
                    let ipath = path.child(Seg::Index(items.len()));
                    items.push(self.message(id, b, &ipath, depth + 1)?);
                }
                (Ty::Int32 | Ty::Int64 | Ty::Bool, Raw::Len(mut packed)) => {
                    while !packed.is_empty() {
                        let v = read_varint(&mut packed).map_err(|e| path.malformed(e))?;
                        items.push(scalar(ty, &Raw::Varint(v), path)?);
                    }
                }
                (Ty::Double, Raw::Len(packed)) => {
                    if packed.len() % 8 != 0 {
                        return Err(path.malformed(WireError::Truncated));
                    }
                    for chunk in packed.chunks_exact(8) {
                        let mut le = [0u8; 8];
                        le.copy_from_slice(chunk);
                        items.push(scalar(ty, &Raw::Fixed64(u64::from_le_bytes(le)), path)?);
                    }
                }
                (Ty::Bytes, _) => {
                    items.push(Value::String(format::base64(expect_len(raw, path)?)));
                }
                _ => items.push(scalar(ty, raw, path)?),
            }
        }
        Ok(items)
    }

    /// One `map<string, T>` entry: {1 key, 2 value}; a missing part is its zero value.
    fn map_entry(
        &self,
        ty: Ty,
        entry: &[u8],
        path: &Path<'_>,
        depth: usize,
    ) -> Result<(String, Value), DecodeError> {
        let mut key: &[u8] = &[];
        let mut value: Vec<Raw<'_>> = Vec::new();
        for item in Fields::new(entry) {
            match item.map_err(|e| path.malformed(e))? {
                (1, raw) => key = expect_len(&raw, path)?,
                (2, raw) => value.push(raw),
                _ => {}
            }
        }
        let key = String::from_utf8_lossy(key).into_owned();
        let vpath = path.child(Seg::Key(&key));
        let value = match (ty, value.last()) {
            (Ty::Message(id), _) => {
                let bytes = self.concat(&value, &vpath)?;
                self.message(id, &bytes, &vpath, depth + 1)?
            }
            (Ty::Bytes, Some(raw)) => Value::String(format::base64(expect_len(raw, &vpath)?)),
            (Ty::Bytes, None) => Value::String(String::new()),
            (ty, Some(raw)) => scalar(ty, raw, &vpath)?,
            (ty, None) => zero(ty),
        };
        Ok((key, value))
    }
}

/// A nil pointer, slice or map: left out with `omitempty`, `null` without.
fn absent_nilable(f: &Field) -> Option<Value> {
    (!f.omitempty).then_some(Value::Null)
}

/// The payload of a length-delimited occurrence.
pub(crate) fn expect_len<'b>(raw: &Raw<'b>, path: &Path<'_>) -> Result<&'b [u8], DecodeError> {
    match raw {
        Raw::Len(b) => Ok(b),
        other => Err(path.wire_type(WireType::Len, other.wire_type())),
    }
}

/// A scalar occurrence as JSON.
pub(crate) fn scalar(ty: Ty, raw: &Raw<'_>, path: &Path<'_>) -> Result<Value, DecodeError> {
    Ok(match (ty, raw) {
        (Ty::String, Raw::Len(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        // Truncation to 32 bits is what protobuf does with an int32 varint.
        (Ty::Int32, Raw::Varint(v)) => Value::from(*v as i32),
        (Ty::Int64, Raw::Varint(v)) => Value::from(*v as i64),
        (Ty::Bool, Raw::Varint(v)) => Value::Bool(*v != 0),
        (Ty::Double, Raw::Fixed64(bits)) => {
            format::go_float(f64::from_bits(*bits)).ok_or_else(|| {
                path.invalid("a double that is NaN or infinite (not representable in JSON)")
            })?
        }
        (Ty::Bytes, Raw::Len(b)) => Value::String(format::base64(b)),
        (ty, raw) => return Err(path.wire_type(wire_type_of(ty), raw.wire_type())),
    })
}

fn wire_type_of(ty: Ty) -> WireType {
    match ty {
        Ty::Int32 | Ty::Int64 | Ty::Bool => WireType::Varint,
        Ty::Double => WireType::Fixed64,
        Ty::String | Ty::Bytes | Ty::Message(_) => WireType::Len,
    }
}

/// Go's zero value of a scalar type.
fn zero(ty: Ty) -> Value {
    match ty {
        Ty::String | Ty::Bytes => Value::String(String::new()),
        Ty::Int32 | Ty::Int64 | Ty::Double => Value::from(0),
        Ty::Bool => Value::Bool(false),
        Ty::Message(_) => Value::Null,
    }
}

/// Whether `omitempty` drops this scalar: `""`, `0`, `false`.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Null => true,
        Value::Array(_) | Value::Object(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_json_paths() {
        let root = Path::root("Deployment");
        let spec = root.child(Seg::Field("spec"));
        let containers = spec.child(Seg::Field("containers"));
        let first = containers.child(Seg::Index(0));
        let limits = first.child(Seg::Field("limits"));
        let cpu = limits.child(Seg::Key("cpu"));
        assert_eq!(root.render(), "Deployment");
        assert_eq!(
            cpu.render(),
            "Deployment.spec.containers[0].limits[\"cpu\"]"
        );
    }

    #[test]
    fn omitempty_zeros() {
        assert!(is_zero(&Value::from("")));
        assert!(is_zero(&Value::from(0)));
        assert!(is_zero(&Value::from(-0.0)));
        assert!(is_zero(&Value::Bool(false)));
        assert!(!is_zero(&Value::from("x")));
        assert!(!is_zero(&Value::from(1)));
    }
}
