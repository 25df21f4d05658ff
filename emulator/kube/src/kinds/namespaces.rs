//! Namespace strategy: the immortal namespaces, and a delete that terminates the contents.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/namespace/storage/storage.go`
//! (Delete sets `deletionTimestamp` and phase `Terminating`),
//! `plugin/pkg/admission/namespace/lifecycle/admission.go` (immortal namespaces).
//!
//! Not modelled: the `kubernetes` spec finalizer and the namespace controller's conditions;
//! contents are deleted synchronously in the write that terminates the namespace.

use super::strategy::Strategy;
use crate::error::{KubeApiError, KubeResult, Subject};
use crate::ops::IMMORTAL_NAMESPACES;
use crate::registry::ResourceDef;

/// The Namespace strategy.
pub struct NamespaceStrategy;

impl Strategy for NamespaceStrategy {
    fn check_delete(&self, def: &ResourceDef, name: &str) -> KubeResult<()> {
        if IMMORTAL_NAMESPACES.contains(&name) {
            return Err(KubeApiError::forbidden_for(
                Subject {
                    group: &def.group,
                    resource: &def.plural,
                    name,
                },
                "this namespace may not be deleted",
            ));
        }
        Ok(())
    }

    fn terminates_contents(&self) -> bool {
        true
    }
}
