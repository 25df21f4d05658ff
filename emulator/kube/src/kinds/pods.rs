//! Pod strategy: initial status, priority and LimitRange admission, graceful deletion.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/pod/strategy.go` (PrepareForCreate,
//! CheckGracefulDelete), `plugin/pkg/admission/priority`, `plugin/pkg/admission/limitranger`.
//!
//! Not modelled: PrepareForUpdate's dropping of disabled fields, pod-level resize rules.

use super::strategy::Strategy;
use crate::error::KubeResult;
use crate::ops::Db;
use crate::registry::ResourceDef;
use serde_json::Value;

/// The Pod strategy.
pub struct PodStrategy;

impl Strategy for PodStrategy {
    fn prepare_for_create(&self, obj: &mut Value) -> KubeResult<()> {
        let st = crate::defaults::pod_initial_status(obj);
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), st);
        }
        Ok(())
    }

    fn admit_create(
        &self,
        db: &mut Db,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        obj: &mut Value,
    ) -> KubeResult<()> {
        db.admit_priority(def, name, obj)?;
        db.admit_limits(def, ns, name, obj)
    }

    /// A pod bound to a node and not yet terminal waits for its kubelet for the grace period
    /// (the request's, else `spec.terminationGracePeriodSeconds`, else 30 s).
    fn graceful_delete_period(&self, obj: &Value, grace: Option<i64>) -> Option<i64> {
        let bound = obj
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let phase = obj
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("");
        let terminal = phase == "Succeeded" || phase == "Failed";
        let g = grace.unwrap_or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(30)
        });
        (bound && !terminal && g > 0).then_some(g)
    }

    fn graceful(&self) -> bool {
        true
    }
}
