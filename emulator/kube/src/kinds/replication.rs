//! ReplicationController strategy: its `/scale` selector is a plain label map, and a v1 DELETE
//! without a propagation policy orphans the pods (DefaultGarbageCollectionPolicy, kept for
//! backwards compatibility upstream).
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/replicationcontroller/strategy.go`
//! (`DefaultGarbageCollectionPolicy`), `pkg/registry/core/replicationcontroller/storage/storage.go`
//! (scale), `pkg/registry/core/replicationcontroller/strategy.go` (`ControllerToSelectableFields`:
//! `status.replicas` as a number), `pkg/apis/core/v1/conversion.go` (its field label conversion).
//!
//! Not modelled: the non-convertible-fields annotation checks of ValidateUpdate.

use super::strategy::Strategy;
use crate::registry::ResourceDef;
use crate::selectors::{field_or, FieldLabels, KindFields, LabelSelector, Unsupported};
use crate::table::TableConvertor;
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

    fn table(&self) -> &'static dyn TableConvertor {
        &super::printers::REPLICATION_CONTROLLER
    }

    fn field_labels(&self) -> &'static dyn FieldLabels {
        &RC_FIELDS
    }
}

/// The ReplicationController field labels.
pub static RC_FIELDS: KindFields = KindFields {
    cluster_scoped: false,
    fields: &[field_or("status.replicas", "/status/replicas", "0")],
    unsupported: Unsupported::NotSupported,
};
