//! OpenAPI, as kube-apiserver publishes it for kubectl (`explain`, client-side apply's patch
//! metadata, the `fieldValidation` check) and other clients:
//! - `/openapi/v3`: the index of group-version documents, each with a `serverRelativeURL` whose
//!   `hash` changes exactly when the document does;
//! - `/openapi/v3/<api/v1 | apis/group/version>`: the upstream Kubernetes 1.32 document of a
//!   built-in group-version ([`vendored`]), or one built from the CRDs' schemas ([`crd`]);
//!   only group-versions this server serves have a document;
//! - `/openapi/v2`: the Swagger 2.0 document converted from those same documents ([`v2`]), as
//!   JSON or as gnostic's protobuf `openapi.v2.Document` ([`proto`]) when the `Accept` header asks.
//!
//! Responses carry an `ETag` (the hash) and answer `If-None-Match` with 304; a v3 request with a
//! stale `hash` is redirected (301) to the current URL, as the upstream handler does.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/kube-openapi/pkg/handler/handler.go,
//! staging/src/k8s.io/kube-openapi/pkg/handler3/handler.go, api/openapi-spec/v3.
//! Not modelled: the v3 protobuf encoding (`application/com.github.proto-openapi.spec.v3...`),
//! gzip content encoding, the `Expires`/`Last-Modified` headers; hashes are 64-bit FNV-1a of the
//! document bytes, not SHA-512.

pub mod crd;
pub mod paths;
pub mod proto;
pub mod v2;
pub mod vendored;

use crate::registry::Registry;
use bytes::Bytes;

/// One served OpenAPI document: its bytes and the hash clients cache it by.
#[derive(Debug, Clone)]
pub struct Document {
    /// The serialized document.
    pub bytes: Bytes,
    /// Stable hash of `bytes` (used in `serverRelativeURL` and as the ETag).
    pub hash: String,
}

/// A stable hash of document bytes (FNV-1a, 64 bits, upper-case hex).
pub fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

/// The v3 document of a served group-version, or `None` if nothing is served there.
pub fn v3_document(reg: &Registry, group: &str, version: &str) -> Option<Document> {
    let defs = reg.resources_of(group, version);
    if defs.is_empty() {
        return None;
    }
    if defs.iter().any(|d| d.builtin) {
        if let Some(v) = vendored::document(group, version) {
            return Some(Document {
                bytes: v.bytes,
                hash: v.hash,
            });
        }
    }
    let bytes = serde_json::to_vec(&crd::document(&defs)).ok()?;
    let hash = fingerprint(&bytes);
    Some(Document {
        bytes: Bytes::from(bytes),
        hash,
    })
}

/// The v3 document at a path under `/openapi/v3/` (`api/v1`, `apis/apps/v1`).
pub fn v3_document_at(reg: &Registry, path: &str) -> Option<Document> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", v] => v3_document(reg, "", v),
        ["apis", g, v] => v3_document(reg, g, v),
        _ => None,
    }
}

/// Every served group-version's document in discovery order, keyed by its path (`api/v1`).
pub fn served_documents(reg: &Registry) -> Vec<(String, Document)> {
    let mut out = Vec::new();
    for (g, versions) in reg.groups() {
        for v in versions {
            if let Some(doc) = v3_document(reg, &g, &v) {
                out.push((paths::gv_path(&g, &v), doc));
            }
        }
    }
    out
}

/// `/openapi/v3`: the index of served documents.
pub fn index(docs: &[(String, Document)]) -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for (p, doc) in docs {
        paths.insert(
            p.clone(),
            serde_json::json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", doc.hash)}),
        );
    }
    serde_json::json!({ "paths": paths })
}
