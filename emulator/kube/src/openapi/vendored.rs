//! The upstream Kubernetes 1.32 OpenAPI v3 documents, one per built-in group-version, embedded
//! gzip-compressed (`fixtures/openapi/kubernetes-1.32/`, see its PROVENANCE.md) and decompressed
//! lazily, once per document, on first use.
//!
//! Upstream: kubernetes v1.32, `api/openapi-spec/v3/*_openapi.json` (the documents
//! kube-apiserver serves at `/openapi/v3/<group-version>`).
//! Not modelled: documents are served as published for the release, so paths of resources this
//! server does not serve (e.g. `componentstatuses`, `pods/exec`) stay in them.

use super::fingerprint;
use bytes::Bytes;
use flate2::read::GzDecoder;
use std::io::Read;
use std::sync::OnceLock;

/// One vendored document.
struct Entry {
    group: &'static str,
    version: &'static str,
    gz: &'static [u8],
}

macro_rules! vendored {
    ($g:expr, $v:expr, $file:expr) => {
        Entry {
            group: $g,
            version: $v,
            gz: include_bytes!(concat!(
                "../../../../fixtures/openapi/kubernetes-1.32/",
                $file
            )),
        }
    };
}

const DOCUMENTS: &[Entry] = &[
    vendored!("", "v1", "api__v1_openapi.json.gz"),
    vendored!(
        "admissionregistration.k8s.io",
        "v1",
        "apis__admissionregistration.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "admissionregistration.k8s.io",
        "v1alpha1",
        "apis__admissionregistration.k8s.io__v1alpha1_openapi.json.gz"
    ),
    vendored!(
        "admissionregistration.k8s.io",
        "v1beta1",
        "apis__admissionregistration.k8s.io__v1beta1_openapi.json.gz"
    ),
    vendored!(
        "apiextensions.k8s.io",
        "v1",
        "apis__apiextensions.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "apiregistration.k8s.io",
        "v1",
        "apis__apiregistration.k8s.io__v1_openapi.json.gz"
    ),
    vendored!("apps", "v1", "apis__apps__v1_openapi.json.gz"),
    vendored!(
        "authentication.k8s.io",
        "v1",
        "apis__authentication.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "authentication.k8s.io",
        "v1beta1",
        "apis__authentication.k8s.io__v1beta1_openapi.json.gz"
    ),
    vendored!(
        "authorization.k8s.io",
        "v1",
        "apis__authorization.k8s.io__v1_openapi.json.gz"
    ),
    vendored!("autoscaling", "v1", "apis__autoscaling__v1_openapi.json.gz"),
    vendored!("autoscaling", "v2", "apis__autoscaling__v2_openapi.json.gz"),
    vendored!("batch", "v1", "apis__batch__v1_openapi.json.gz"),
    vendored!(
        "certificates.k8s.io",
        "v1",
        "apis__certificates.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "certificates.k8s.io",
        "v1alpha1",
        "apis__certificates.k8s.io__v1alpha1_openapi.json.gz"
    ),
    vendored!(
        "coordination.k8s.io",
        "v1",
        "apis__coordination.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "coordination.k8s.io",
        "v1alpha2",
        "apis__coordination.k8s.io__v1alpha2_openapi.json.gz"
    ),
    vendored!(
        "discovery.k8s.io",
        "v1",
        "apis__discovery.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "events.k8s.io",
        "v1",
        "apis__events.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "apis__flowcontrol.apiserver.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "internal.apiserver.k8s.io",
        "v1alpha1",
        "apis__internal.apiserver.k8s.io__v1alpha1_openapi.json.gz"
    ),
    vendored!(
        "networking.k8s.io",
        "v1",
        "apis__networking.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "networking.k8s.io",
        "v1beta1",
        "apis__networking.k8s.io__v1beta1_openapi.json.gz"
    ),
    vendored!("node.k8s.io", "v1", "apis__node.k8s.io__v1_openapi.json.gz"),
    vendored!("policy", "v1", "apis__policy__v1_openapi.json.gz"),
    vendored!(
        "rbac.authorization.k8s.io",
        "v1",
        "apis__rbac.authorization.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "resource.k8s.io",
        "v1alpha3",
        "apis__resource.k8s.io__v1alpha3_openapi.json.gz"
    ),
    vendored!(
        "resource.k8s.io",
        "v1beta1",
        "apis__resource.k8s.io__v1beta1_openapi.json.gz"
    ),
    vendored!(
        "scheduling.k8s.io",
        "v1",
        "apis__scheduling.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "storage.k8s.io",
        "v1",
        "apis__storage.k8s.io__v1_openapi.json.gz"
    ),
    vendored!(
        "storage.k8s.io",
        "v1alpha1",
        "apis__storage.k8s.io__v1alpha1_openapi.json.gz"
    ),
    vendored!(
        "storage.k8s.io",
        "v1beta1",
        "apis__storage.k8s.io__v1beta1_openapi.json.gz"
    ),
    vendored!(
        "storagemigration.k8s.io",
        "v1alpha1",
        "apis__storagemigration.k8s.io__v1alpha1_openapi.json.gz"
    ),
];

/// A document's bytes and the hash clients cache it by.
#[derive(Debug, Clone)]
pub struct Vendored {
    /// The upstream JSON bytes.
    pub bytes: Bytes,
    /// Hash of `bytes` (see [`fingerprint`]).
    pub hash: String,
}

fn cache() -> &'static [OnceLock<Option<Vendored>>] {
    static CACHE: OnceLock<Vec<OnceLock<Option<Vendored>>>> = OnceLock::new();
    CACHE.get_or_init(|| DOCUMENTS.iter().map(|_| OnceLock::new()).collect())
}

/// The upstream document of a built-in group-version, if vendored.
pub fn document(group: &str, version: &str) -> Option<Vendored> {
    let i = DOCUMENTS
        .iter()
        .position(|e| e.group == group && e.version == version)?;
    let slot = cache().get(i)?;
    slot.get_or_init(|| {
        let mut out = Vec::new();
        let entry = DOCUMENTS.get(i)?;
        GzDecoder::new(entry.gz).read_to_end(&mut out).ok()?;
        let hash = fingerprint(&out);
        Some(Vendored {
            bytes: Bytes::from(out),
            hash,
        })
    })
    .clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_vendored_document_decompresses_to_json() {
        for e in super::DOCUMENTS {
            let doc = super::document(e.group, e.version);
            let parsed: Option<serde_json::Value> =
                doc.and_then(|d| serde_json::from_slice(&d.bytes).ok());
            assert!(
                parsed.is_some_and(|v| v["openapi"] == "3.0.0"),
                "{}/{}",
                e.group,
                e.version
            );
        }
    }
}
