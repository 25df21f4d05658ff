//! The registry of per-kind strategies: one entry per built-in kind with rules of its own
//! (group, kind, strategy), the strategy of custom resources, and the data-only strategies
//! ([`Described`]) of kinds that have no file of their own. Adding a kind is its file under
//! `kinds/` (or a [`Described`] here) plus its entry in [`KINDS`]. The store's selectable
//! projection of a resource is its metadata ([`METADATA_POINTERS`]) and the field pointers of
//! the kinds stored under its key ([`selectable_pointers_for`]), as upstream's `GetAttrs` is the
//! kind's.
//!
//! Upstream: kubernetes v1.32, pkg/registry/<group>/<kind>/storage/storage.go (`NewREST`: each
//! kind's store with its strategy, `TableConvertor` and `PredicateFunc`), pkg/apis/core/v1/
//! conversion.go (Secret, Event field labels), pkg/apis/certificates/v1/conversion.go,
//! pkg/apis/events/v1/conversion.go.
//!
//! Not modelled: kinds served without a printer of their own (EndpointSlice, VolumeAttachment,
//! CSINode, the review kinds) print NAME and AGE where upstream prints their own columns or
//! NAME and CREATED AT.

use super::strategy::{Described, Generic, Strategy};
use super::{
    certificates, core_printers as cp, crd, events, jobs, namespaces, nodes, pods, printers as p,
    replication, services, volumes,
};
use crate::ops::Sub;
use crate::registry::{Registry, ResourceDef};
use crate::selectors::{field, CustomResourceFields, FieldLabels, KindFields, Unsupported};
use crate::table::{CustomColumns, TableConvertor};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Field labels of Secrets (`AddFieldLabelConversionsForSecret`, `SelectableFields`: `type`).
pub static SECRET_FIELDS: KindFields = KindFields {
    cluster_scoped: false,
    fields: &[field("type", "/type")],
    unsupported: Unsupported::NotSupported,
};

/// Field labels of CertificateSigningRequests (`spec.signerName`; cluster-scoped).
pub static CSR_FIELDS: KindFields = KindFields {
    cluster_scoped: true,
    fields: &[field("spec.signerName", "/spec/signerName")],
    unsupported: Unsupported::NotSupported,
};

static CONFIG_MAP: Described = Described::printed(&cp::CONFIG_MAP);
static SECRET: Described = Described {
    fields: &SECRET_FIELDS,
    ..Described::printed(&cp::SECRET)
};
static SERVICE_ACCOUNT: Described = Described {
    subresources: &[("token", Sub::Token)],
    ..Described::printed(&cp::SERVICE_ACCOUNT)
};
static ENDPOINTS: Described = Described {
    create_on_update: true,
    ..Described::printed(&cp::ENDPOINTS)
};
static LEASE: Described = Described {
    create_on_update: true,
    ..Described::printed(&cp::LEASE)
};
static CSR: certificates::CertificateSigningRequests =
    certificates::CertificateSigningRequests(Described {
        fields: &CSR_FIELDS,
        subresources: &[("approval", Sub::Approval)],
        ..Described::printed(&p::CERTIFICATE_SIGNING_REQUEST)
    });
/// `deploymentStatusStrategy.PrepareForUpdate` also resets the labels.
static DEPLOYMENT: Described = Described {
    status_metadata: &["annotations", "finalizers", "ownerReferences"],
    ..Described::printed(&cp::DEPLOYMENT)
};
static REPLICA_SET: Described = Described::printed(&cp::REPLICA_SET);
static DAEMON_SET: Described = Described::printed(&cp::DAEMON_SET);
static STATEFUL_SET: Described = Described::printed(&cp::STATEFUL_SET);
static CONTROLLER_REVISION: Described = Described::printed(&p::CONTROLLER_REVISION);
static CSI_DRIVER: Described = Described::printed(&cp::CSI_DRIVER);
static STORAGE_CLASS: Described = Described::printed(&cp::STORAGE_CLASS);
static INGRESS: Described = Described::printed(&cp::INGRESS);
static INGRESS_CLASS: Described = Described::printed(&cp::INGRESS_CLASS);
static NETWORK_POLICY: Described = Described::printed(&p::NETWORK_POLICY);
static POD_TEMPLATE: Described = Described::printed(&p::POD_TEMPLATE);
static CREATED_AT: Described = Described::printed(&p::CREATED_AT);
static RESOURCE_QUOTA: Described = Described::printed(&p::RESOURCE_QUOTA);
static CRON_JOB: Described = Described::printed(&p::CRON_JOB);
static POD_DISRUPTION_BUDGET: Described = Described::printed(&p::POD_DISRUPTION_BUDGET);
static HPA: Described = Described::printed(&p::HORIZONTAL_POD_AUTOSCALER);
static ROLE_BINDING: Described = Described::printed(&p::ROLE_BINDING);
static PRIORITY_CLASS: Described = Described::printed(&p::PRIORITY_CLASS);
static RUNTIME_CLASS: Described = Described::printed(&p::RUNTIME_CLASS);
static WEBHOOK_CONFIGURATION: Described = Described::printed(&p::WEBHOOK_CONFIGURATION);
static VALIDATING_ADMISSION_POLICY: Described = Described::printed(&p::VALIDATING_ADMISSION_POLICY);
static VALIDATING_ADMISSION_POLICY_BINDING: Described =
    Described::printed(&p::VALIDATING_ADMISSION_POLICY_BINDING);

const CORE: &str = "";
const RBAC: &str = "rbac.authorization.k8s.io";
const ADMISSION: &str = "admissionregistration.k8s.io";

/// The built-in kinds with rules of their own: (group, kind, strategy). Every other built-in
/// kind gets [`Generic`].
pub static KINDS: &[(&str, &str, &dyn Strategy)] = &[
    (CORE, "Pod", &pods::PodStrategy),
    (CORE, "Service", &services::ServiceStrategy),
    (CORE, "Namespace", &namespaces::NamespaceStrategy),
    (CORE, "Node", &nodes::NodeStrategy),
    (CORE, "PersistentVolume", &volumes::PERSISTENT_VOLUMES),
    (
        CORE,
        "PersistentVolumeClaim",
        &volumes::PERSISTENT_VOLUME_CLAIMS,
    ),
    (
        CORE,
        "ReplicationController",
        &replication::ReplicationControllerStrategy,
    ),
    (CORE, "Endpoints", &ENDPOINTS),
    (CORE, "Event", &events::CORE_EVENTS),
    (CORE, "ConfigMap", &CONFIG_MAP),
    (CORE, "Secret", &SECRET),
    (CORE, "ServiceAccount", &SERVICE_ACCOUNT),
    (CORE, "PodTemplate", &POD_TEMPLATE),
    (CORE, "LimitRange", &CREATED_AT),
    (CORE, "ResourceQuota", &RESOURCE_QUOTA),
    ("events.k8s.io", "Event", &events::EVENTS),
    ("coordination.k8s.io", "Lease", &LEASE),
    ("apps", "Deployment", &DEPLOYMENT),
    ("apps", "ReplicaSet", &REPLICA_SET),
    ("apps", "DaemonSet", &DAEMON_SET),
    ("apps", "StatefulSet", &STATEFUL_SET),
    ("apps", "ControllerRevision", &CONTROLLER_REVISION),
    ("batch", "Job", &jobs::JobStrategy),
    ("batch", "CronJob", &CRON_JOB),
    ("policy", "PodDisruptionBudget", &POD_DISRUPTION_BUDGET),
    ("autoscaling", "HorizontalPodAutoscaler", &HPA),
    ("storage.k8s.io", "CSIDriver", &CSI_DRIVER),
    ("storage.k8s.io", "StorageClass", &STORAGE_CLASS),
    ("networking.k8s.io", "Ingress", &INGRESS),
    ("networking.k8s.io", "IngressClass", &INGRESS_CLASS),
    ("networking.k8s.io", "NetworkPolicy", &NETWORK_POLICY),
    (RBAC, "Role", &CREATED_AT),
    (RBAC, "ClusterRole", &CREATED_AT),
    (RBAC, "RoleBinding", &ROLE_BINDING),
    (RBAC, "ClusterRoleBinding", &ROLE_BINDING),
    ("scheduling.k8s.io", "PriorityClass", &PRIORITY_CLASS),
    ("node.k8s.io", "RuntimeClass", &RUNTIME_CLASS),
    ("certificates.k8s.io", "CertificateSigningRequest", &CSR),
    (
        ADMISSION,
        "ValidatingWebhookConfiguration",
        &WEBHOOK_CONFIGURATION,
    ),
    (
        ADMISSION,
        "MutatingWebhookConfiguration",
        &WEBHOOK_CONFIGURATION,
    ),
    (
        ADMISSION,
        "ValidatingAdmissionPolicy",
        &VALIDATING_ADMISSION_POLICY,
    ),
    (
        ADMISSION,
        "ValidatingAdmissionPolicyBinding",
        &VALIDATING_ADMISSION_POLICY_BINDING,
    ),
    (
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        &crd::CrdStrategy,
    ),
];

/// The strategy of custom resources: the generic rules, `additionalPrinterColumns`, and the
/// CRD's `selectableFields`.
pub struct CustomResource;

static CUSTOM_RESOURCE_FIELDS: CustomResourceFields = CustomResourceFields;

impl Strategy for CustomResource {
    fn table(&self) -> &'static dyn TableConvertor {
        &CustomColumns
    }
    fn field_labels(&self) -> &'static dyn FieldLabels {
        &CUSTOM_RESOURCE_FIELDS
    }
}

/// The strategy of a stored kind.
pub fn for_kind(def: &ResourceDef) -> &'static dyn Strategy {
    if !def.builtin {
        return &CustomResource;
    }
    KINDS
        .iter()
        .find(|(g, k, _)| *k == def.kind && *g == def.group)
        .map_or(&Generic, |(_, _, s)| *s)
}

/// The JSON pointers every object's selectable projection has: metadata name, namespace and
/// labels.
pub const METADATA_POINTERS: &[&str] =
    &["/metadata/name", "/metadata/namespace", "/metadata/labels"];

/// The JSON pointers of the field labels of the built-in kinds stored under a storage key
/// (both Event groups share one); empty for other keys (custom resources add their CRD's).
pub fn selectable_pointers_for(storage: &str) -> Arc<[String]> {
    static BY_STORAGE: OnceLock<HashMap<String, Arc<[String]>>> = OnceLock::new();
    let map = BY_STORAGE.get_or_init(|| {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for def in Registry::builtin().all() {
            let v = m.entry(def.storage.clone()).or_default();
            for p in for_kind(def).field_labels().pointers() {
                if !v.iter().any(|x| x == p) {
                    v.push(p.to_string());
                }
            }
        }
        m.into_iter().map(|(k, v)| (k, Arc::from(v))).collect()
    });
    map.get(storage)
        .cloned()
        .unwrap_or_else(|| Arc::from(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_a_served_kind_once() {
        let reg = crate::registry::Registry::builtin();
        for (i, (g, k, _)) in KINDS.iter().enumerate() {
            assert!(
                reg.all().any(|d| d.group == *g && d.kind == *k),
                "{g}/{k} is not served"
            );
            assert!(
                !KINDS[..i].iter().any(|(g2, k2, _)| g2 == g && k2 == k),
                "{g}/{k} twice"
            );
        }
    }

    #[test]
    fn projection_is_the_kinds_field_labels() {
        let has =
            |storage: &str, want: &str| selectable_pointers_for(storage).iter().any(|p| p == want);
        assert!(has("pods", "/spec/nodeName") && has("pods", "/status/phase"));
        assert!(!has("pods", "/type") && !has("configmaps", "/type"));
        assert!(has("secrets", "/type") && has("events", "/source/component"));
        assert!(has(
            "certificates.k8s.io/certificatesigningrequests",
            "/spec/signerName"
        ));
        assert!(selectable_pointers_for("example.com/widgets").is_empty());
    }
}
