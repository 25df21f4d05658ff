//! PersistentVolume and PersistentVolumeClaim strategy: a new volume or claim starts `Pending`;
//! each kind's columns; a claim's spec is immutable but for its size once bound, it never shrinks
//! to or below its capacity, and it grows only when its class allows expansion.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/persistentvolume/strategy.go`,
//! `pkg/registry/core/persistentvolumeclaim/strategy.go` (PrepareForCreate),
//! `pkg/apis/core/validation/validation.go` (`ValidatePersistentVolumeClaimUpdate`, with
//! RecoverVolumeExpansionFailure on as in 1.32), `plugin/pkg/admission/storage/persistentvolume/
//! resize/admission.go` (PersistentVolumeClaimResize). Neither kind has a field label conversion
//! of its own in core/v1, so both serve `metadata.name` and `metadata.namespace` only.
//!
//! Not modelled: `status.lastPhaseTransitionTime`; the Go diff upstream appends to the
//! immutable-spec message.

use super::strategy::Strategy;
use crate::error::{Cause, KubeApiError, KubeResult, Subject};
use crate::kinds::rbac::UserInfo;
use crate::ops::{Db, Sub};
use crate::table::{Printer, TableConvertor};
use serde_json::{json, Value};

/// The PersistentVolume and PersistentVolumeClaim strategy, with the kind's printer.
pub struct VolumeStrategy(&'static Printer);

/// PersistentVolumes.
pub static PERSISTENT_VOLUMES: VolumeStrategy =
    VolumeStrategy(&super::core_printers::PERSISTENT_VOLUME);
/// PersistentVolumeClaims.
pub static PERSISTENT_VOLUME_CLAIMS: ClaimStrategy = ClaimStrategy(VolumeStrategy(
    &super::core_printers::PERSISTENT_VOLUME_CLAIM,
));

/// The PersistentVolumeClaim strategy: [`VolumeStrategy`] plus the claim's update rules.
pub struct ClaimStrategy(VolumeStrategy);

fn storage_request(claim: &Value) -> Option<i128> {
    claim
        .pointer("/spec/resources/requests/storage")
        .and_then(Value::as_str)
        .and_then(super::quota::parse_quantity)
        .map(|q| q.milli)
}

fn bound(claim: &Value) -> bool {
    claim.pointer("/status/phase").and_then(Value::as_str) == Some("Bound")
}

/// Storage key of StorageClasses.
const STORAGE_CLASSES: &str = "storage.k8s.io/storageclasses";

impl Strategy for ClaimStrategy {
    fn prepare_for_create(&self, obj: &mut Value, requester: Option<&UserInfo>) -> KubeResult<()> {
        self.0.prepare_for_create(obj, requester)
    }

    fn table(&self) -> &'static dyn TableConvertor {
        self.0.table()
    }

    /// `ValidatePersistentVolumeClaimUpdate`: the spec may change only in `volumeName` (once),
    /// `storageClassName` (set on a claim that had none and no volume: the retroactive default
    /// class), `volumeAttributesClassName` and, once bound, `resources.requests.storage`; the
    /// request may shrink only down to just above `status.capacity`.
    fn prepare_for_update(&self, sub: Sub, obj: &mut Value, old: &Value) -> KubeResult<()> {
        if sub != Sub::Main {
            return Ok(());
        }
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut was = old.get("spec").cloned().unwrap_or_else(|| json!({}));
        let mut now = obj.get("spec").cloned().unwrap_or_else(|| json!({}));
        let old_volume = was
            .get("volumeName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty();
        for (k, free) in [
            ("volumeName", old_volume),
            (
                "storageClassName",
                was.get("storageClassName").is_none() && old_volume,
            ),
            ("volumeAttributesClassName", true),
        ] {
            if free {
                match now.get(k) {
                    Some(v) => was[k] = v.clone(),
                    None => {
                        if let Some(m) = was.as_object_mut() {
                            m.remove(k);
                        }
                    }
                }
            }
        }
        if bound(old) {
            if let Some(s) = old.pointer("/spec/resources/requests/storage") {
                if now.pointer("/resources/requests").is_some() {
                    now["resources"]["requests"]["storage"] = s.clone();
                }
            }
        }
        let mut causes = Vec::new();
        if was != now {
            causes.push(Cause::new(
                "FieldValueForbidden",
                "spec",
                "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            ));
        }
        let (old_size, new_size) = (storage_request(old), storage_request(obj));
        let capacity = old
            .pointer("/status/capacity/storage")
            .and_then(Value::as_str)
            .and_then(super::quota::parse_quantity)
            .map_or(0, |q| q.milli);
        if let (Some(o), Some(n)) = (old_size, new_size) {
            if n < o && n <= capacity {
                causes.push(Cause::new(
                    "FieldValueForbidden",
                    "spec.resources.requests.storage",
                    "Forbidden: field can not be less than status.capacity",
                ));
            }
        }
        if causes.is_empty() {
            Ok(())
        } else {
            Err(KubeApiError::invalid(
                "PersistentVolumeClaim",
                "",
                &name,
                causes,
            ))
        }
    }

    /// PersistentVolumeClaimResize admission: a claim grows only when bound and its class has
    /// `allowVolumeExpansion: true`.
    fn before_store(
        &self,
        db: &mut Db,
        name: &str,
        obj: &mut Value,
        old: Option<&Value>,
        _dry_run: bool,
    ) -> KubeResult<()> {
        let Some(old) = old else { return Ok(()) };
        let (Some(o), Some(n)) = (storage_request(old), storage_request(obj)) else {
            return Ok(());
        };
        if n <= o {
            return Ok(());
        }
        let refuse = |why: &str| {
            Err(KubeApiError::forbidden_for(
                Subject {
                    group: "",
                    resource: "persistentvolumeclaims",
                    name,
                },
                why,
            ))
        };
        if !bound(old) {
            return refuse("Only bound persistent volume claims can be resized");
        }
        let class = old
            .pointer("/spec/storageClassName")
            .and_then(Value::as_str)
            .or_else(|| {
                old.pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
                    .and_then(Value::as_str)
            })
            .unwrap_or("");
        let allows = !class.is_empty()
            && db
                .store
                .get(STORAGE_CLASSES, "", class)
                .is_some_and(|sc| sc.get("allowVolumeExpansion") == Some(&json!(true)));
        if allows {
            Ok(())
        } else {
            refuse("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize")
        }
    }
}

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
