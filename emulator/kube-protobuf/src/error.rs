//! Why a Kubernetes protobuf body (k8s-pb 0.9.0 / Kubernetes 1.35.0 schema) could not be
//! decoded. Each message names the place in the object (`spec.template.spec.containers[0]`)
//! so a client sees what it sent wrong; the API server answers all of them with 400 BadRequest.

/// A body that is not a decodable Kubernetes protobuf object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body does not start with the 4 magic bytes `k8s\0`.
    #[error("not a Kubernetes protobuf body: expected the magic bytes 6b 38 73 00 (\"k8s\\0\"), found {found}")]
    BadMagic {
        /// The first bytes of the body, in hex.
        found: String,
    },
    /// The `runtime.Unknown` envelope names no kind.
    #[error(
        "the protobuf envelope names no kind (typeMeta.kind is empty; apiVersion {api_version:?})"
    )]
    MissingKind {
        /// The apiVersion it did name.
        api_version: String,
    },
    /// No message for this apiVersion and kind in the schema.
    #[error(
        "unknown kind `{api_version} {kind}`: not in the protobuf schema (k8s-pb {}, Kubernetes {})",
        crate::K8S_PB_VERSION,
        crate::KUBERNETES_VERSION
    )]
    UnknownKind {
        /// The envelope's apiVersion.
        api_version: String,
        /// The envelope's kind.
        kind: String,
    },
    /// `runtime.Unknown.contentEncoding` is set (Kubernetes never compresses the inner object).
    #[error("unsupported content encoding {0:?} in the protobuf envelope")]
    UnsupportedContentEncoding(String),
    /// `runtime.Unknown.contentType` is neither protobuf nor JSON.
    #[error("unsupported content type {0:?} in the protobuf envelope")]
    UnsupportedContentType(String),
    /// The protobuf encoding itself is broken (truncated, bad varint, bad tag).
    #[error("malformed protobuf at {at}: {reason}")]
    Malformed {
        /// Where: `raw` (the envelope) or a JSON path in the object.
        at: String,
        /// What: `truncated message`, `varint longer than 10 bytes`, ...
        reason: String,
    },
    /// A known field arrived with a wire type its type cannot have.
    #[error("malformed protobuf at {at}: expected wire type {expected}, found {found}")]
    WireType {
        /// JSON path of the field.
        at: String,
        /// Wire type of the field's type.
        expected: &'static str,
        /// Wire type on the wire.
        found: &'static str,
    },
    /// A value Go's `encoding/json` would refuse to write (NaN, an IntOrString of type 2, an
    /// empty quantity, a RawExtension that is not JSON).
    #[error("invalid value at {at}: {reason}")]
    InvalidValue {
        /// JSON path of the value.
        at: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Messages nested deeper than the decoder follows.
    #[error("the object nests deeper than {limit} levels at {at}")]
    TooDeep {
        /// JSON path where the limit was hit.
        at: String,
        /// The limit.
        limit: usize,
    },
    /// The embedded schema table is corrupt (a build defect, not a client error).
    #[error("internal error: the protobuf schema table does not load: {0}")]
    Schema(String),
}
