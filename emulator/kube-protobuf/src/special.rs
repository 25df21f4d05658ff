//! Kubernetes types whose Go `MarshalJSON` differs from their protobuf message (apimachinery
//! and apiextensions of Kubernetes 1.35.0):
//!
//! * `metav1.Time` {1 seconds, 2 nanos} → `"2026-01-01T00:00:00Z"`; Go drops the nanoseconds
//!   when it reads the message, and an empty message or 0001-01-01 (the zero time) is `null`.
//! * `metav1.MicroTime` → RFC 3339 with 6 fractional digits (nanoseconds truncated), `null` when zero.
//! * `metav1.Duration` {1 duration ns} → Go's `time.Duration` string (`1h0m0s`).
//! * `resource.Quantity` {1 string} → the string (Go canonicalizes before writing it); absent → `"0"`.
//! * `intstr.IntOrString` {1 type, 2 intVal, 3 strVal} → a number (type 0) or string (type 1).
//! * `runtime.RawExtension`, `metav1.FieldsV1`, apiextensions `JSON` {1 raw} → the embedded JSON
//!   (or a nested `k8s\0` protobuf object); no bytes → `null`.
//! * apiextensions `JSONSchemaPropsOrBool` / `OrArray` / `OrStringArray` → schema or bool / array.
//! * Go slice types wrapped as {repeated items = 1} (`ExtraValue`, `Verbs`) → the array, `null` when empty.

use crate::decode::{expect_len, scalar, Decoder, Path};
use crate::error::DecodeError;
use crate::format::{self, GO_ZERO_TIME_UNIX};
use crate::schema::{MessageId, Special, Ty};
use crate::wire::Raw;
use serde_json::Value;

/// The JSON of special message `id`, from its field occurrences (indexed like its `fields`).
pub(crate) fn decode(
    d: &Decoder<'_>,
    id: MessageId,
    special: Special,
    occ: &[Vec<Raw<'_>>],
    empty: bool,
    path: &Path<'_>,
    depth: usize,
) -> Result<Value, DecodeError> {
    let msg = &d.schema.messages[id];
    // Occurrences of field `number` (none if the table lacks it).
    let get = |number: u32| -> &[Raw<'_>] {
        msg.field_index(number)
            .map(|i| occ[i].as_slice())
            .unwrap_or_default()
    };
    let int = |number: u32, ty: Ty| -> Result<i64, DecodeError> {
        match get(number).last() {
            None => Ok(0),
            Some(raw) => Ok(scalar(ty, raw, path)?.as_i64().unwrap_or_default()),
        }
    };
    let message_of = |number: u32| match msg.field(number).map(|f| f.ty) {
        Some(Ty::Message(m)) => Some(m),
        _ => None,
    };
    match special {
        Special::Time => {
            let seconds = int(1, Ty::Int64)?;
            int(2, Ty::Int32)?; // checked, then dropped like Go does
            Ok(if empty || seconds == GO_ZERO_TIME_UNIX {
                Value::Null
            } else {
                Value::String(format::rfc3339(seconds, None))
            })
        }
        Special::MicroTime => {
            let nanos = int(2, Ty::Int32)?;
            let nanos = nanos - nanos % 1000;
            let seconds = int(1, Ty::Int64)?.saturating_add(nanos.div_euclid(1_000_000_000));
            let micros = (nanos.rem_euclid(1_000_000_000) / 1000) as u32;
            Ok(if empty || (seconds == GO_ZERO_TIME_UNIX && micros == 0) {
                Value::Null
            } else {
                Value::String(format::rfc3339(seconds, Some(micros)))
            })
        }
        Special::Duration => Ok(Value::String(format::go_duration(int(1, Ty::Int64)?))),
        Special::Quantity => match get(1).last() {
            None => Ok(Value::String("0".to_string())),
            Some(raw) => {
                let s = String::from_utf8_lossy(expect_len(raw, path)?).into_owned();
                if s.is_empty() {
                    return Err(path.invalid("an empty quantity"));
                }
                Ok(Value::String(s))
            }
        },
        Special::IntOrString => match int(1, Ty::Int64)? {
            0 => Ok(Value::from(int(2, Ty::Int32)?)),
            1 => match get(3).last() {
                None => Ok(Value::String(String::new())),
                Some(raw) => scalar(Ty::String, raw, path),
            },
            t => Err(path.invalid(format!("IntOrString of type {t} (0 is int, 1 is string)"))),
        },
        Special::RawJson => match get(1).last() {
            None => Ok(Value::Null),
            Some(raw) => raw_json(d, expect_len(raw, path)?, path, depth),
        },
        Special::SchemaOrBool => match message_of(2) {
            Some(schema) if !get(2).is_empty() => {
                let bytes = d.concat(get(2), path)?;
                d.message(schema, &bytes, path, depth + 1)
            }
            _ => match get(1).last() {
                None => Ok(Value::Bool(false)),
                Some(raw) => scalar(Ty::Bool, raw, path),
            },
        },
        Special::SchemaOrArray | Special::SchemaOrStringArray => {
            let element = msg.field(2).map(|f| f.ty).unwrap_or(Ty::String);
            let items = d.repeated(element, get(2), path, depth)?;
            if !items.is_empty() {
                return Ok(Value::Array(items));
            }
            match message_of(1) {
                Some(schema) if !get(1).is_empty() => {
                    let bytes = d.concat(get(1), path)?;
                    d.message(schema, &bytes, path, depth + 1)
                }
                _ => Ok(Value::Null),
            }
        }
        Special::Array => {
            let element = msg.field(1).map(|f| f.ty).unwrap_or(Ty::String);
            let items = d.repeated(element, get(1), path, depth)?;
            Ok(if items.is_empty() {
                Value::Null
            } else {
                Value::Array(items)
            })
        }
    }
}

/// Embedded bytes of a RawExtension: JSON, or a nested Kubernetes protobuf object.
fn raw_json(
    d: &Decoder<'_>,
    bytes: &[u8],
    path: &Path<'_>,
    depth: usize,
) -> Result<Value, DecodeError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    if bytes.starts_with(&crate::MAGIC) {
        return crate::envelope::decode_nested(d, bytes, path, depth + 1);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        path.invalid(format!(
            "embedded object is neither JSON nor Kubernetes protobuf ({e})"
        ))
    })
}
