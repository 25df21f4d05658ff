//! PersistentVolume and PersistentVolumeClaim strategy: a new volume or claim starts `Pending`.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/persistentvolume/strategy.go`,
//! `pkg/registry/core/persistentvolumeclaim/strategy.go` (PrepareForCreate).
//!
//! Not modelled: `status.lastPhaseTransitionTime`.

use super::strategy::Strategy;
use crate::error::KubeResult;
use serde_json::{json, Value};

/// The PersistentVolume and PersistentVolumeClaim strategy.
pub struct VolumeStrategy;

impl Strategy for VolumeStrategy {
    fn prepare_for_create(&self, obj: &mut Value) -> KubeResult<()> {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"phase": "Pending"}));
        }
        Ok(())
    }
}
