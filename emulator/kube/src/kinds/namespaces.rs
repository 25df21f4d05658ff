//! Namespace strategy: the immortal namespaces, a delete that terminates the contents, the
//! `finalize` subresource, columns and field labels.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/namespace/storage/storage.go`
//! (Delete sets `deletionTimestamp` and phase `Terminating`; `FinalizeREST`),
//! `pkg/registry/core/namespace/strategy.go` (`NamespaceToSelectableFields`),
//! `pkg/apis/core/v1/conversion.go` (`status.phase`, `metadata.name`; no `metadata.namespace`),
//! `plugin/pkg/admission/namespace/lifecycle/admission.go` (immortal namespaces).
//!
//! Not modelled: the `kubernetes` spec finalizer and the namespace controller's conditions;
//! contents are deleted synchronously in the write that terminates the namespace.

use super::strategy::Strategy;
use crate::error::{KubeApiError, KubeResult, Subject};
use crate::ops::Sub;
use crate::ops::IMMORTAL_NAMESPACES;
use crate::registry::ResourceDef;
use crate::selectors::{field, FieldLabels, KindFields, Unsupported};
use crate::table::TableConvertor;

/// The Namespace field labels.
pub static NAMESPACE_FIELDS: KindFields = KindFields {
    cluster_scoped: true,
    fields: &[field("status.phase", "/status/phase")],
    unsupported: Unsupported::NotSupported,
};

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

    fn table(&self) -> &'static dyn TableConvertor {
        &super::core_printers::NAMESPACE
    }

    fn field_labels(&self) -> &'static dyn FieldLabels {
        &NAMESPACE_FIELDS
    }

    /// `finalize` writes the namespace itself (its `spec.finalizers`).
    fn subresources(&self) -> &'static [(&'static str, Sub)] {
        &[("finalize", Sub::Main)]
    }
}
