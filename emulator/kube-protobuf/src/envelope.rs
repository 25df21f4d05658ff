//! The Kubernetes protobuf envelope (apimachinery `runtime.Unknown`, unchanged through
//! Kubernetes 1.35): the magic bytes `k8s\0`, then a message {1 typeMeta {1 apiVersion, 2 kind},
//! 2 raw, 3 contentEncoding, 4 contentType} whose `raw` is the object's own message, chosen by
//! apiVersion + kind.

use crate::decode::{Decoder, Path};
use crate::error::DecodeError;
use crate::schema::Schema;
use crate::wire::{Fields, Raw};
use crate::MAGIC;
use serde_json::{Map, Value};

/// What `runtime.Unknown` holds.
#[derive(Debug, Default)]
struct Unknown<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
    content_type: String,
}

/// Decodes a whole request body.
pub(crate) fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    let schema = Schema::get().map_err(|e| DecodeError::Schema(e.to_string()))?;
    let decoder = Decoder { schema };
    decode_nested(&decoder, body, &Path::root("runtime.Unknown"), 0)
}

/// Decodes an enveloped object: the body, or one embedded in a RawExtension (`at` is where).
pub(crate) fn decode_nested(
    d: &Decoder<'_>,
    bytes: &[u8],
    at: &Path<'_>,
    depth: usize,
) -> Result<Value, DecodeError> {
    let Some(rest) = bytes.strip_prefix(&MAGIC) else {
        let found: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(DecodeError::BadMagic {
            found: if found.is_empty() {
                "an empty body".to_string()
            } else {
                found.join(" ")
            },
        });
    };
    let env = parse(rest, at)?;
    if !env.content_encoding.is_empty() {
        return Err(DecodeError::UnsupportedContentEncoding(
            env.content_encoding,
        ));
    }
    let media_type = env
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let mut obj = Map::new();
    if !env.kind.is_empty() {
        obj.insert("kind".to_string(), Value::String(env.kind.clone()));
    }
    if !env.api_version.is_empty() {
        obj.insert(
            "apiVersion".to_string(),
            Value::String(env.api_version.clone()),
        );
    }
    let fields = match media_type.as_str() {
        "" | crate::CONTENT_TYPE => {
            if env.kind.is_empty() {
                return Err(DecodeError::MissingKind {
                    api_version: env.api_version,
                });
            }
            let id = d.schema.kind(&env.api_version, &env.kind).ok_or_else(|| {
                DecodeError::UnknownKind {
                    api_version: env.api_version.clone(),
                    kind: env.kind.clone(),
                }
            })?;
            d.message(id, env.raw, &Path::root(&env.kind), depth)?
        }
        "application/json" => {
            serde_json::from_slice(env.raw).map_err(|e| DecodeError::InvalidValue {
                at: at.render(),
                reason: format!("the envelope's JSON object does not parse: {e}"),
            })?
        }
        _ => return Err(DecodeError::UnsupportedContentType(env.content_type)),
    };
    match fields {
        Value::Object(fields) => {
            for (k, v) in fields {
                obj.entry(k).or_insert(v);
            }
            Ok(Value::Object(obj))
        }
        other => Err(DecodeError::InvalidValue {
            at: at.render(),
            reason: format!("the envelope holds {other}, not an object"),
        }),
    }
}

fn parse<'a>(bytes: &'a [u8], at: &Path<'_>) -> Result<Unknown<'a>, DecodeError> {
    let mut env = Unknown::default();
    for item in Fields::new(bytes) {
        let (number, raw) = item.map_err(|e| at.malformed(e))?;
        match (number, raw) {
            (1, Raw::Len(type_meta)) => {
                for item in Fields::new(type_meta) {
                    match item.map_err(|e| at.malformed(e))? {
                        (1, Raw::Len(s)) => env.api_version = text(s),
                        (2, Raw::Len(s)) => env.kind = text(s),
                        (1 | 2, other) => return Err(wrong(at, other)),
                        _ => {}
                    }
                }
            }
            (2, Raw::Len(raw)) => env.raw = raw,
            (3, Raw::Len(s)) => env.content_encoding = text(s),
            (4, Raw::Len(s)) => env.content_type = text(s),
            (1..=4, other) => return Err(wrong(at, other)),
            _ => {}
        }
    }
    Ok(env)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn wrong(at: &Path<'_>, raw: Raw<'_>) -> DecodeError {
    at.wire_type(crate::wire::WireType::Len, raw.wire_type())
}
