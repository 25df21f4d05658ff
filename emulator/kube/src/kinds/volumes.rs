//! PersistentVolume and PersistentVolumeClaim strategy: a new volume or claim starts `Pending`;
//! each kind's columns.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/persistentvolume/strategy.go`,
//! `pkg/registry/core/persistentvolumeclaim/strategy.go` (PrepareForCreate). Neither kind has a
//! field label conversion of its own in core/v1, so both serve `metadata.name` and
//! `metadata.namespace` only.
//!
//! Not modelled: `status.lastPhaseTransitionTime`.

use super::strategy::Strategy;
use crate::error::KubeResult;
use crate::kinds::rbac::UserInfo;
use crate::table::{Printer, TableConvertor};
use serde_json::{json, Value};

/// The PersistentVolume and PersistentVolumeClaim strategy, with the kind's printer.
pub struct VolumeStrategy(&'static Printer);

/// PersistentVolumes.
pub static PERSISTENT_VOLUMES: VolumeStrategy =
    VolumeStrategy(&super::core_printers::PERSISTENT_VOLUME);
/// PersistentVolumeClaims.
pub static PERSISTENT_VOLUME_CLAIMS: VolumeStrategy =
    VolumeStrategy(&super::core_printers::PERSISTENT_VOLUME_CLAIM);

impl Strategy for VolumeStrategy {
    fn prepare_for_create(&self, obj: &mut Value, _requester: Option<&UserInfo>) -> KubeResult<()> {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"phase": "Pending"}));
        }
        Ok(())
    }

    fn table(&self) -> &'static dyn TableConvertor {
        self.0
    }
}
