//! The controller roles of kube-apiserver's RBAC bootstrap policy: one ClusterRole
//! `system:controller:<name>` per kube-controller-manager controller, bound to the
//! ServiceAccount `kube-system/<name>` that the controller-manager runs each controller as
//! (`--use-service-account-credentials`), so `kubectl auth can-i --as
//! system:serviceaccount:kube-system:deployment-controller …` answers as on a real cluster.
//!
//! Upstream: kubernetes v1.32, plugin/pkg/auth/authorizer/rbac/bootstrappolicy/
//! controller_policy.go (`buildControllerRoles`, `eventsRule`).
//!
//! cloudbox's in-process controllers run under these accounts (`integrations/src/identity.rs`);
//! the taint eviction controller uses `node-controller`'s, as upstream.
//!
//! Not modelled: the roles behind feature gates that are off by default in 1.32 (resource
//! claims, service CIDRs, cluster trust bundles, storage version GC/migration, SELinux).

use serde_json::{json, Value};

/// (verbs, apiGroups, resources) of one PolicyRule.
type Rule = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

const READ: &[&str] = &["get", "list", "watch"];
const LW: &[&str] = &["list", "watch"];
const UPDATE: &[&str] = &["update"];
const PU: &[&str] = &["patch", "update"];
const CORE: &[&str] = &[""];
const APPS: &[&str] = &["extensions", "apps"];
const BATCH: &[&str] = &["batch"];
const STORAGE: &[&str] = &["storage.k8s.io"];
const ANY: &[&str] = &["*"];

/// `eventsRule()`: create, update and patch Events in both event groups.
const EVENTS: Rule = (
    &["create", "update", "patch"],
    &["", "events.k8s.io"],
    &["events"],
);

/// The controller roles, by controller name (without the `system:controller:` prefix).
const ROLES: &[(&str, &[Rule])] = &[
    (
        "attachdetach-controller",
        &[
            (LW, CORE, &["persistentvolumes", "persistentvolumeclaims"]),
            (READ, CORE, &["nodes"]),
            (PU, CORE, &["nodes/status"]),
            (LW, CORE, &["pods"]),
            EVENTS,
            (
                &["get", "create", "delete", "list", "watch"],
                STORAGE,
                &["volumeattachments"],
            ),
            (&["get", "watch", "list"], STORAGE, &["csidrivers"]),
            (&["get", "watch", "list"], STORAGE, &["csinodes"]),
        ],
    ),
    (
        "clusterrole-aggregation-controller",
        &[(
            &["escalate", "get", "list", "watch", "update", "patch"],
            &["rbac.authorization.k8s.io"],
            &["clusterroles"],
        )],
    ),
    (
        "cronjob-controller",
        &[
            (&["get", "list", "watch", "update"], BATCH, &["cronjobs"]),
            (
                &[
                    "get", "list", "watch", "create", "update", "delete", "patch",
                ],
                BATCH,
                &["jobs"],
            ),
            (UPDATE, BATCH, &["cronjobs/status"]),
            (UPDATE, BATCH, &["cronjobs/finalizers"]),
            (&["list", "watch", "delete"], CORE, &["pods"]),
            EVENTS,
        ],
    ),
    (
        "daemon-set-controller",
        &[
            (READ, APPS, &["daemonsets"]),
            (UPDATE, APPS, &["daemonsets/status"]),
            (UPDATE, APPS, &["daemonsets/finalizers"]),
            (LW, CORE, &["nodes"]),
            (
                &["list", "watch", "create", "delete", "patch"],
                CORE,
                &["pods"],
            ),
            (&["create"], CORE, &["pods/binding"]),
            (
                &[
                    "get", "list", "watch", "create", "delete", "update", "patch",
                ],
                &["apps"],
                &["controllerrevisions"],
            ),
            EVENTS,
        ],
    ),
    (
        "deployment-controller",
        &[
            (&["get", "list", "watch", "update"], APPS, &["deployments"]),
            (UPDATE, APPS, &["deployments/status"]),
            (UPDATE, APPS, &["deployments/finalizers"]),
            (
                &[
                    "get", "list", "watch", "create", "update", "patch", "delete",
                ],
                &["apps", "extensions"],
                &["replicasets"],
            ),
            (&["get", "list", "watch", "update"], CORE, &["pods"]),
            EVENTS,
        ],
    ),
    (
        "disruption-controller",
        &[
            (READ, APPS, &["deployments"]),
            (READ, &["apps", "extensions"], &["replicasets"]),
            (READ, CORE, &["replicationcontrollers"]),
            (READ, &["policy"], &["poddisruptionbudgets"]),
            (READ, &["apps"], &["statefulsets"]),
            (UPDATE, &["policy"], &["poddisruptionbudgets/status"]),
            (PU, CORE, &["pods/status"]),
            (&["get"], ANY, &["*/scale"]),
            EVENTS,
        ],
    ),
    (
        "endpoint-controller",
        &[
            (READ, CORE, &["services", "pods"]),
            (
                &["get", "list", "watch", "create", "update", "delete"],
                CORE,
                &["endpoints"],
            ),
            (&["create"], CORE, &["endpoints/restricted"]),
            EVENTS,
        ],
    ),
    (
        "endpointslice-controller",
        &[
            (READ, CORE, &["services", "pods", "nodes"]),
            (UPDATE, CORE, &["services/finalizers"]),
            (
                &["get", "list", "watch", "create", "update", "delete"],
                &["discovery.k8s.io"],
                &["endpointslices"],
            ),
            EVENTS,
        ],
    ),
    (
        "endpointslicemirroring-controller",
        &[
            (READ, CORE, &["services", "endpoints"]),
            (UPDATE, CORE, &["services/finalizers"]),
            (UPDATE, CORE, &["endpoints/finalizers"]),
            (
                &["get", "list", "watch", "create", "update", "delete"],
                &["discovery.k8s.io"],
                &["endpointslices"],
            ),
            EVENTS,
        ],
    ),
    (
        "expand-controller",
        &[
            (
                &["get", "list", "watch", "update", "patch"],
                CORE,
                &["persistentvolumes"],
            ),
            (PU, CORE, &["persistentvolumeclaims/status"]),
            (READ, CORE, &["persistentvolumeclaims"]),
            EVENTS,
            (&["get"], CORE, &["services"]),
        ],
    ),
    (
        "ephemeral-volume-controller",
        &[
            (READ, CORE, &["pods"]),
            (UPDATE, CORE, &["pods/finalizers"]),
            (
                &["get", "list", "watch", "create"],
                CORE,
                &["persistentvolumeclaims"],
            ),
            EVENTS,
        ],
    ),
    (
        "generic-garbage-collector",
        &[
            (
                &["get", "list", "watch", "patch", "update", "delete"],
                ANY,
                &["*"],
            ),
            EVENTS,
        ],
    ),
    (
        "horizontal-pod-autoscaler",
        &[
            (READ, &["autoscaling"], &["horizontalpodautoscalers"]),
            (
                UPDATE,
                &["autoscaling"],
                &["horizontalpodautoscalers/status"],
            ),
            (&["get", "update"], ANY, &["*/scale"]),
            (LW, CORE, &["pods"]),
            (LW, &["metrics.k8s.io"], &["pods"]),
            (READ, &["custom.metrics.k8s.io"], &["*"]),
            (READ, &["external.metrics.k8s.io"], &["*"]),
            EVENTS,
        ],
    ),
    (
        "job-controller",
        &[
            (
                &["get", "list", "watch", "update", "patch"],
                BATCH,
                &["jobs"],
            ),
            (UPDATE, BATCH, &["jobs/status"]),
            (UPDATE, BATCH, &["jobs/finalizers"]),
            (
                &["list", "watch", "create", "delete", "patch"],
                CORE,
                &["pods"],
            ),
            EVENTS,
        ],
    ),
    (
        "namespace-controller",
        &[
            (&["get", "list", "watch", "delete"], CORE, &["namespaces"]),
            (UPDATE, CORE, &["namespaces/finalize", "namespaces/status"]),
            (
                &["get", "list", "watch", "delete", "deletecollection"],
                ANY,
                &["*"],
            ),
        ],
    ),
    (
        "node-controller",
        &[
            (
                &["get", "list", "watch", "update", "delete", "patch"],
                CORE,
                &["nodes"],
            ),
            (PU, CORE, &["nodes/status"]),
            (PU, CORE, &["pods/status"]),
            (&["list", "watch", "get", "delete"], CORE, &["pods"]),
            EVENTS,
        ],
    ),
    (
        "persistent-volume-binder",
        &[
            (
                &["get", "list", "watch", "update", "create", "delete"],
                CORE,
                &["persistentvolumes"],
            ),
            (UPDATE, CORE, &["persistentvolumes/status"]),
            (
                &["get", "list", "watch", "update"],
                CORE,
                &["persistentvolumeclaims"],
            ),
            (UPDATE, CORE, &["persistentvolumeclaims/status"]),
            (
                &["list", "watch", "get", "create", "delete"],
                CORE,
                &["pods"],
            ),
            (READ, STORAGE, &["storageclasses"]),
            (LW, CORE, &["nodes"]),
            EVENTS,
            (&["watch"], CORE, &["events"]),
            (&["get"], CORE, &["services"]),
        ],
    ),
    (
        "pod-garbage-collector",
        &[
            (&["list", "watch", "delete"], CORE, &["pods"]),
            (READ, CORE, &["nodes"]),
            (&["patch"], CORE, &["pods/status"]),
        ],
    ),
    (
        "replicaset-controller",
        &[
            (
                &["get", "list", "watch", "update"],
                &["apps", "extensions"],
                &["replicasets"],
            ),
            (UPDATE, &["apps", "extensions"], &["replicasets/status"]),
            (UPDATE, &["apps", "extensions"], &["replicasets/finalizers"]),
            (
                &["list", "watch", "patch", "create", "delete"],
                CORE,
                &["pods"],
            ),
            EVENTS,
        ],
    ),
    (
        "replication-controller",
        &[
            (
                &["get", "list", "watch", "update"],
                CORE,
                &["replicationcontrollers"],
            ),
            (UPDATE, CORE, &["replicationcontrollers/status"]),
            (UPDATE, CORE, &["replicationcontrollers/finalizers"]),
            (
                &["list", "watch", "patch", "create", "delete"],
                CORE,
                &["pods"],
            ),
            EVENTS,
        ],
    ),
    (
        "resourcequota-controller",
        &[
            (LW, ANY, &["*"]),
            (UPDATE, CORE, &["resourcequotas/status"]),
            EVENTS,
        ],
    ),
    (
        "route-controller",
        &[
            (LW, CORE, &["nodes"]),
            (&["patch"], CORE, &["nodes/status"]),
            EVENTS,
        ],
    ),
    (
        "service-account-controller",
        &[(&["create"], CORE, &["serviceaccounts"]), EVENTS],
    ),
    (
        "service-controller",
        &[
            (READ, CORE, &["services"]),
            (PU, CORE, &["services/status"]),
            (LW, CORE, &["nodes"]),
            EVENTS,
        ],
    ),
    (
        "statefulset-controller",
        &[
            (LW, CORE, &["pods"]),
            (READ, &["apps"], &["statefulsets"]),
            (UPDATE, &["apps"], &["statefulsets/status"]),
            (UPDATE, &["apps"], &["statefulsets/finalizers"]),
            (
                &["get", "create", "delete", "update", "patch"],
                CORE,
                &["pods"],
            ),
            (
                &[
                    "get", "create", "delete", "update", "patch", "list", "watch",
                ],
                &["apps"],
                &["controllerrevisions"],
            ),
            (
                &["get", "create", "list", "watch"],
                CORE,
                &["persistentvolumeclaims"],
            ),
            (&["update", "delete"], CORE, &["persistentvolumeclaims"]),
            (UPDATE, CORE, &["pods/finalizers"]),
            EVENTS,
        ],
    ),
    (
        "ttl-controller",
        &[
            (&["update", "patch", "list", "watch"], CORE, &["nodes"]),
            EVENTS,
        ],
    ),
    (
        "certificate-controller",
        &[
            (
                &["get", "list", "watch", "delete"],
                &["certificates.k8s.io"],
                &["certificatesigningrequests"],
            ),
            (
                UPDATE,
                &["certificates.k8s.io"],
                &[
                    "certificatesigningrequests/status",
                    "certificatesigningrequests/approval",
                ],
            ),
            (
                &["create"],
                &["authorization.k8s.io"],
                &["subjectaccessreviews"],
            ),
            EVENTS,
        ],
    ),
    (
        "pvc-protection-controller",
        &[
            (
                &["get", "list", "watch", "update"],
                CORE,
                &["persistentvolumeclaims"],
            ),
            (&["list", "watch", "get"], CORE, &["pods"]),
            EVENTS,
        ],
    ),
    (
        "pv-protection-controller",
        &[
            (
                &["get", "list", "watch", "update"],
                CORE,
                &["persistentvolumes"],
            ),
            EVENTS,
        ],
    ),
    (
        "ttl-after-finished-controller",
        &[
            (&["get", "list", "watch", "delete"], BATCH, &["jobs"]),
            EVENTS,
        ],
    ),
    (
        "root-ca-cert-publisher",
        &[(&["create", "update"], CORE, &["configmaps"]), EVENTS],
    ),
    (
        "validatingadmissionpolicy-status-controller",
        &[
            (
                READ,
                &["admissionregistration.k8s.io"],
                &["validatingadmissionpolicies"],
            ),
            (
                &["get", "patch", "update"],
                &["admissionregistration.k8s.io"],
                &["validatingadmissionpolicies/status"],
            ),
            EVENTS,
        ],
    ),
];

fn meta(name: &str) -> Value {
    json!({"name": name,
           "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
           "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}})
}

/// The `system:controller:*` ClusterRoles.
pub fn cluster_roles() -> Vec<Value> {
    ROLES
        .iter()
        .map(|(name, rules)| {
            let rules: Vec<Value> = rules
                .iter()
                .map(|(verbs, groups, resources)| {
                    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
                })
                .collect();
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": meta(&format!("system:controller:{name}")), "rules": rules})
        })
        .collect()
}

/// Their ClusterRoleBindings to `kube-system/<controller>` ServiceAccounts.
pub fn cluster_role_bindings() -> Vec<Value> {
    ROLES
        .iter()
        .map(|(name, _)| {
            let role = format!("system:controller:{name}");
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": meta(&role),
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                   "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "kube-system"}]})
        })
        .collect()
}
