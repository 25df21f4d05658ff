//! Pod strategy: initial status, priority and LimitRange admission, graceful deletion, the
//! `kubectl get` columns, the field labels and the pod subresources.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/pod/strategy.go` (PrepareForCreate,
//! CheckGracefulDelete, `ToSelectableFields`), `pkg/apis/core/v1/conversion.go` (the Pod field
//! label conversion, `spec.host` → `spec.nodeName`), `pkg/registry/core/pod/storage/storage.go`
//! (binding, eviction, log, exec, attach, portforward, ephemeralcontainers),
//! `plugin/pkg/admission/priority`, `plugin/pkg/admission/limitranger`.
//!
//! Not modelled: PrepareForUpdate's dropping of disabled fields, pod-level resize rules;
//! `pods/proxy` and `pods/resize`. `status.podIPs` is accepted by the conversion but, as in
//! upstream's `ToSelectableFields`, never set, so it only matches the empty value.

use super::strategy::Strategy;
use crate::error::KubeResult;
use crate::kinds::rbac::UserInfo;
use crate::ops::Db;
use crate::ops::Sub;
use crate::registry::ResourceDef;
use crate::selectors::{alias, field, field_or, unset_field, FieldLabels, KindFields, Unsupported};
use crate::table::TableConvertor;
use serde_json::Value;

/// The Pod field labels.
pub static POD_FIELDS: KindFields = KindFields {
    cluster_scoped: false,
    fields: &[
        field("spec.nodeName", "/spec/nodeName"),
        alias("spec.host", "spec.nodeName"),
        field("spec.restartPolicy", "/spec/restartPolicy"),
        field("spec.schedulerName", "/spec/schedulerName"),
        field("spec.serviceAccountName", "/spec/serviceAccountName"),
        field_or("spec.hostNetwork", "/spec/hostNetwork", "false"),
        field("status.phase", "/status/phase"),
        field("status.podIP", "/status/podIP"),
        unset_field("status.podIPs"),
        field("status.nominatedNodeName", "/status/nominatedNodeName"),
    ],
    unsupported: Unsupported::NotSupported,
};

/// The pod subresources besides `status`.
pub const POD_SUBRESOURCES: &[(&str, Sub)] = &[
    ("binding", Sub::Binding),
    ("eviction", Sub::Eviction),
    ("log", Sub::Log),
    ("exec", Sub::Stream("exec")),
    ("attach", Sub::Stream("attach")),
    ("portforward", Sub::Stream("portforward")),
    ("ephemeralcontainers", Sub::EphemeralContainers),
];

/// The Pod strategy.
pub struct PodStrategy;

impl Strategy for PodStrategy {
    /// `podStatusStrategy.PrepareForUpdate` keeps the stored owner references ("old kubelets
    /// corrupt them").
    fn status_metadata(&self, _def: &ResourceDef) -> &'static [&'static str] {
        &["labels", "annotations", "finalizers"]
    }

    fn prepare_for_create(&self, obj: &mut Value, _requester: Option<&UserInfo>) -> KubeResult<()> {
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

    fn table(&self) -> &'static dyn TableConvertor {
        &super::core_printers::POD
    }

    fn field_labels(&self) -> &'static dyn FieldLabels {
        &POD_FIELDS
    }

    fn subresources(&self) -> &'static [(&'static str, Sub)] {
        POD_SUBRESOURCES
    }
}
