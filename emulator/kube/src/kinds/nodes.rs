//! Node strategy: a create keeps its status (kubelets register with their status); columns and
//! field labels.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/node/strategy.go` (PrepareForCreate
//! keeps `status`, as the node's own registration sets it; `NodeToSelectableFields`),
//! `pkg/apis/core/v1/conversion.go` (the Node field label conversion: `metadata.name` and
//! `spec.unschedulable`, no `metadata.namespace`).
//!
//! Not modelled: node-restriction admission.

use super::strategy::Strategy;
use crate::registry::ResourceDef;
use crate::selectors::{field_or, FieldLabels, KindFields, Unsupported};
use crate::table::TableConvertor;

/// The Node field labels (`spec.unschedulable` is `false` when unset).
pub static NODE_FIELDS: KindFields = KindFields {
    cluster_scoped: true,
    fields: &[field_or(
        "spec.unschedulable",
        "/spec/unschedulable",
        "false",
    )],
    unsupported: Unsupported::NotSupported,
};

/// The Node strategy.
pub struct NodeStrategy;

impl Strategy for NodeStrategy {
    fn reset_status_on_create(&self, _def: &ResourceDef) -> bool {
        false
    }

    fn table(&self) -> &'static dyn TableConvertor {
        &super::core_printers::NODE
    }

    fn field_labels(&self) -> &'static dyn FieldLabels {
        &NODE_FIELDS
    }
}
