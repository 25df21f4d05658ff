//! The four patch types of the Kubernetes API: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902), strategic merge patch (merge keys of the built-in types) and server-side apply
//! (field ownership per manager in `managedFields`).

pub mod apply;
pub mod json;
pub mod merge;
pub mod strategic;

/// Patch type, from the request's Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json`.
    Json,
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (or `+cbor`, unsupported).
    Apply,
}

impl PatchType {
    /// Parses a Content-Type.
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" => Some(PatchType::Apply),
            _ => None,
        }
    }
}
