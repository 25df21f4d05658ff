//! Node strategy: a create keeps its status (kubelets register with their status).
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/node/strategy.go` (PrepareForCreate
//! keeps `status`, as the node's own registration sets it).
//!
//! Not modelled: node-restriction admission.

use super::strategy::Strategy;
use crate::registry::ResourceDef;

/// The Node strategy.
pub struct NodeStrategy;

impl Strategy for NodeStrategy {
    fn reset_status_on_create(&self, _def: &ResourceDef) -> bool {
        false
    }
}
