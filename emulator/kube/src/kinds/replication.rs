//! ReplicationController strategy: its `/scale` selector is a plain label map, and a v1 DELETE
//! without a propagation policy orphans the pods (DefaultGarbageCollectionPolicy, kept for
//! backwards compatibility upstream).
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/replicationcontroller/strategy.go`
//! (`DefaultGarbageCollectionPolicy`), `pkg/registry/core/replicationcontroller/storage/storage.go`
//! (scale).
//!
//! Not modelled: the non-convertible-fields annotation checks of ValidateUpdate.

use super::strategy::Strategy;
use crate::registry::ResourceDef;
use crate::selectors::LabelSelector;
use serde_json::{json, Value};

/// The ReplicationController strategy.
pub struct ReplicationControllerStrategy;

impl Strategy for ReplicationControllerStrategy {
    fn default_gc_policy(&self, def: &ResourceDef) -> &'static str {
        if def.version == "v1" {
            "Orphan"
        } else {
            "Background"
        }
    }

    fn scale_selector(&self, obj: &Value) -> String {
        obj.pointer("/spec/selector")
            .map(|s| LabelSelector::from_object(&json!({"matchLabels": s})).to_query())
            .unwrap_or_default()
    }
}
