//! Decodes Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into the
//! JSON object the same client would have sent as JSON, so an API server that speaks JSON can
//! accept them. kubectl 1.32's typed subcommands (`create namespace|configmap|secret|deployment|
//! service|job|cronjob|role|...`, `create token`) send their bodies this way.
//!
//! The schema is Kubernetes 1.35.0, as in k8s-pb 0.9.0: message names, field numbers and types
//! from k8s-pb's prost code; JSON names, pointers, `omitempty` and embedded structs from the Go
//! API types' struct tags. It is a generated data table (`schema/k8s-pb-0.9.0.json`, see
//! README.md) walked by one generic wire-format decoder:
//!
//! ```text
//! body ─ envelope (k8s\0 + runtime.Unknown) ─ apiVersion+kind → message ─ decode (table walk) ─ JSON
//!                                                                        └ special (Time, Quantity, IntOrString, ...)
//! ```
//!
//! The result is what Go's `encoding/json` writes for the decoded Go object: `kind` and
//! `apiVersion` first, fields in Go order, zero-valued `omitempty` fields left out (gogo-protobuf
//! writes them all), set pointers kept even when zero (`replicas: 0`, `automountServiceAccountToken: false`),
//! `bytes` as base64, times as RFC 3339. Decoding never panics; every failure is a [`DecodeError`]
//! whose message names the offending place.
//!
//! ```
//! // Namespace "foo": envelope {typeMeta {"v1", "Namespace"}, raw {metadata {name "foo"}}}.
//! let body = b"k8s\0\x0a\x0f\x0a\x02v1\x12\x09Namespace\x12\x07\x0a\x05\x0a\x03foo";
//! let obj = cloudbox_kube_protobuf::decode(body)?;
//! // `spec` and `status` are Go value structs: encoding/json always writes them.
//! assert_eq!(obj, serde_json::json!({
//!     "kind": "Namespace", "apiVersion": "v1",
//!     "metadata": {"name": "foo"}, "spec": {}, "status": {}
//! }));
//! # Ok::<(), cloudbox_kube_protobuf::DecodeError>(())
//! ```

mod decode;
mod envelope;
mod error;
mod format;
mod schema;
mod special;
mod wire;

pub use error::DecodeError;
use serde_json::Value;

/// The media type of Kubernetes protobuf (`Content-Type: application/vnd.kubernetes.protobuf`).
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with: `k8s\0`.
pub const MAGIC: [u8; 4] = *b"k8s\0";

/// The Kubernetes API version the schema describes.
pub const KUBERNETES_VERSION: &str = "1.35.0";

/// The k8s-pb crate version the schema was generated from (its protos are Kubernetes 1.35.0).
pub const K8S_PB_VERSION: &str = "0.9.0";

/// Decodes a Kubernetes protobuf body into its JSON object (with `kind` and `apiVersion`).
///
/// # Errors
///
/// [`DecodeError`] when the body is not `k8s\0` + a `runtime.Unknown`, names a kind the schema
/// does not have, or is malformed (truncated, wrong wire types, values JSON cannot hold).
pub fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    envelope::decode(body)
}

/// Whether a `Content-Type` header value is Kubernetes protobuf (parameters ignored; the
/// watch-stream variant `;stream=watch` is a response format and not matched).
pub fn is_protobuf(content_type: &str) -> bool {
    let mut parts = content_type.split(';').map(str::trim);
    parts
        .next()
        .is_some_and(|m| m.eq_ignore_ascii_case(CONTENT_TYPE))
        && !parts.any(|p| p.eq_ignore_ascii_case("stream=watch"))
}

/// The protobuf message an `apiVersion` + `kind` is decoded as (`k8s.io.api.apps.v1.Deployment`).
pub fn message_name(api_version: &str, kind: &str) -> Option<&'static str> {
    let schema = schema::Schema::get().ok()?;
    schema
        .kind(api_version, kind)
        .map(|id| schema.message_name(id))
}

/// The `(apiVersion, kind)` pairs [`decode`] knows, sorted; `*` stands for any apiVersion (the
/// meta/v1 kinds every group version accepts: DeleteOptions, Status, ...).
pub fn kinds() -> Vec<(&'static str, &'static str)> {
    schema::Schema::get()
        .map(schema::Schema::kind_names)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_media_type() {
        assert!(is_protobuf("application/vnd.kubernetes.protobuf"));
        assert!(is_protobuf(
            "Application/VND.Kubernetes.Protobuf; charset=utf-8"
        ));
        assert!(!is_protobuf(
            "application/vnd.kubernetes.protobuf;stream=watch"
        ));
        assert!(!is_protobuf("application/json"));
        assert!(!is_protobuf("application/vnd.kubernetes.protobuf+json"));
    }

    #[test]
    fn names_messages() {
        assert_eq!(
            message_name("apps/v1", "Deployment"),
            Some("k8s.io.api.apps.v1.Deployment")
        );
        assert_eq!(
            message_name("batch/v1", "DeleteOptions"),
            Some("k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions")
        );
        assert_eq!(message_name("apps/v1", "Foo"), None);
    }

    #[test]
    fn lists_kinds() {
        let kinds = kinds();
        assert!(kinds.contains(&("v1", "ConfigMap")));
        assert!(kinds.contains(&("*", "DeleteOptions")));
    }
}
