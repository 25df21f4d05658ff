//! The resource registry: every kind the server serves, with its plural, singular, short names,
//! verbs, scope and subresources, as kube-apiserver's discovery reports them. Built-in kinds are a
//! static table; CustomResourceDefinitions add entries at run time.
//!
//! A resource may be *served* under several group-versions but *stored* once: the legacy Ingress
//! versions (`extensions/v1beta1`, `networking.k8s.io/v1beta1`) store as `networking.k8s.io/v1`
//! ingresses and `events.k8s.io/v1` events store as core `v1` events (see [`crate::convert`]).

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Verbs of an ordinary read-write resource.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One served resource (one group/version/plural).
#[derive(Debug, Clone)]
pub struct ResourceDef {
    /// API group, "" for core.
    pub group: String,
    /// Served version.
    pub version: String,
    /// Kind (`Pod`).
    pub kind: String,
    /// Plural resource name (`pods`).
    pub plural: String,
    /// Singular name (`pod`).
    pub singular: String,
    /// Short names (`po`).
    pub short_names: Vec<String>,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Verbs.
    pub verbs: Vec<String>,
    /// Has a `/status` subresource.
    pub status: bool,
    /// Has a `/scale` subresource: `(specReplicasPath, statusReplicasPath, labelSelectorPath)`.
    pub scale: Option<(String, String, Option<String>)>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Storage key: group/plural of the stored form (shared by aliases).
    pub storage: String,
    /// Whether the kind is a compiled-in type (strategic merge patch allowed, typed validation).
    pub builtin: bool,
    /// Whether `metadata.generation` tracks spec changes.
    pub generation: bool,
    /// Whether this is the preferred (storage) version of its group.
    pub preferred: bool,
    /// For custom resources: the openAPIV3Schema of this version (used for pruning-free validation).
    pub schema: Option<Value>,
    /// For custom resources: additionalPrinterColumns of this version.
    pub printer_columns: Vec<Value>,
    /// For custom resources: the `jsonPath`s of this version's `selectableFields`.
    pub selectable_fields: Vec<String>,
}

impl ResourceDef {
    /// `group/version`, or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// `<Kind>List`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
    /// Whether the verb is allowed.
    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

struct B {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
    namespaced: bool,
    status: bool,
    scale: bool,
    all: bool,
    ext: bool,
    generation: bool,
    storage: Option<&'static str>,
    preferred: bool,
    verbs: &'static [&'static str],
}

/// Verbs of the virtual, create-only review resources (SelfSubjectAccessReview, TokenReview...).
pub const CREATE_ONLY: &[&str] = &["create"];

const fn b(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
    namespaced: bool,
) -> B {
    B {
        group,
        version,
        kind,
        plural,
        short,
        namespaced,
        status: false,
        scale: false,
        all: false,
        ext: false,
        generation: false,
        storage: None,
        preferred: true,
        verbs: ALL_VERBS,
    }
}

impl B {
    const fn status(mut self) -> B {
        self.status = true;
        self
    }
    const fn scale(mut self) -> B {
        self.scale = true;
        self
    }
    const fn all(mut self) -> B {
        self.all = true;
        self
    }
    /// In the `api-extensions` category (CRDs, admission configuration).
    const fn ext(mut self) -> B {
        self.ext = true;
        self
    }
    const fn generation(mut self) -> B {
        self.generation = true;
        self
    }
    const fn verbs(mut self, verbs: &'static [&'static str]) -> B {
        self.verbs = verbs;
        self
    }
    const fn alias(mut self, storage: &'static str) -> B {
        self.storage = Some(storage);
        self.preferred = false;
        self
    }
}

const BUILTIN: &[B] = &[
    b("", "v1", "Namespace", "namespaces", &["ns"], false).status(),
    b("", "v1", "Node", "nodes", &["no"], false).status(),
    b("", "v1", "Pod", "pods", &["po"], true).status().all(),
    b("", "v1", "Service", "services", &["svc"], true)
        .status()
        .all(),
    b("", "v1", "Endpoints", "endpoints", &["ep"], true),
    b("", "v1", "ConfigMap", "configmaps", &["cm"], true),
    b("", "v1", "Secret", "secrets", &[], true),
    b("", "v1", "ServiceAccount", "serviceaccounts", &["sa"], true),
    b("", "v1", "Event", "events", &["ev"], true),
    b(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        &["pv"],
        false,
    )
    .status(),
    b(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        &["pvc"],
        true,
    )
    .status(),
    b("apps", "v1", "Deployment", "deployments", &["deploy"], true)
        .status()
        .scale()
        .all()
        .generation(),
    b("apps", "v1", "ReplicaSet", "replicasets", &["rs"], true)
        .status()
        .scale()
        .all()
        .generation(),
    b("apps", "v1", "DaemonSet", "daemonsets", &["ds"], true)
        .status()
        .all()
        .generation(),
    b("apps", "v1", "StatefulSet", "statefulsets", &["sts"], true)
        .status()
        .scale()
        .all()
        .generation(),
    b(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        &["sc"],
        false,
    ),
    b(
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        "volumeattachments",
        &[],
        false,
    )
    .status(),
    b("storage.k8s.io", "v1", "CSINode", "csinodes", &[], false),
    b(
        "storage.k8s.io",
        "v1",
        "CSIDriver",
        "csidrivers",
        &[],
        false,
    ),
    b(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        &["ing"],
        true,
    )
    .status()
    .generation(),
    b(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        &[],
        false,
    )
    .generation(),
    b(
        "networking.k8s.io",
        "v1beta1",
        "Ingress",
        "ingresses",
        &[],
        true,
    )
    .status()
    .generation()
    .alias("networking.k8s.io/ingresses"),
    b("extensions", "v1beta1", "Ingress", "ingresses", &[], true)
        .status()
        .generation()
        .alias("networking.k8s.io/ingresses"),
    b(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        &[],
        true,
    ),
    b("coordination.k8s.io", "v1", "Lease", "leases", &[], true),
    b("events.k8s.io", "v1", "Event", "events", &["ev"], true).alias("events"),
    b(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        &["crd", "crds"],
        false,
    )
    .status()
    .ext()
    .generation(),
    // Issue 7 §2: the kinds controllers and Helm charts create first.
    b(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        &["rc"],
        true,
    )
    .status()
    .scale()
    .all()
    .generation(),
    b("", "v1", "PodTemplate", "podtemplates", &[], true),
    b("", "v1", "LimitRange", "limitranges", &["limits"], true),
    b(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        &["quota"],
        true,
    )
    .status(),
    b(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        &[],
        true,
    ),
    b("batch", "v1", "Job", "jobs", &[], true)
        .status()
        .all()
        .generation(),
    b("batch", "v1", "CronJob", "cronjobs", &["cj"], true)
        .status()
        .all()
        .generation(),
    b(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        &["pdb"],
        true,
    )
    .status()
    .generation(),
    b(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        &["hpa"],
        true,
    )
    .status()
    .all(),
    b(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        &["hpa"],
        true,
    )
    .status()
    .all()
    .alias("autoscaling/horizontalpodautoscalers"),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        &[],
        true,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        &[],
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        &[],
        true,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        &[],
        false,
    ),
    b(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        &["pc"],
        false,
    ),
    b(
        "node.k8s.io",
        "v1",
        "RuntimeClass",
        "runtimeclasses",
        &[],
        false,
    ),
    b(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        &["netpol"],
        true,
    )
    .generation(),
    b(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        &["csr"],
        false,
    )
    .status(),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        &[],
        false,
    )
    .ext()
    .generation(),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        &[],
        false,
    )
    .ext()
    .generation(),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        &[],
        false,
    )
    .status()
    .ext()
    .generation(),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        &[],
        false,
    )
    .ext()
    .generation(),
    // Virtual, create-only review resources (answered, never stored).
    b(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        &[],
        false,
    )
    .verbs(CREATE_ONLY),
    b(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        &[],
        false,
    )
    .verbs(CREATE_ONLY),
    b(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        &[],
        false,
    )
    .verbs(CREATE_ONLY),
    b(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        &[],
        true,
    )
    .verbs(CREATE_ONLY),
    b(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        &[],
        false,
    )
    .verbs(CREATE_ONLY),
    b(
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        "tokenreviews",
        &[],
        false,
    )
    .verbs(CREATE_ONLY),
];

/// Storage key of a group/plural: `plural` for core, `group/plural` otherwise.
pub fn storage_key(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{group}/{plural}")
    }
}

/// All served resources, indexed by (group, version, plural).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_gvr: BTreeMap<(String, String, String), Arc<ResourceDef>>,
}

impl Registry {
    /// The built-in kinds.
    pub fn builtin() -> Registry {
        let mut r = Registry::default();
        for d in BUILTIN {
            let scale = if d.scale {
                Some((
                    ".spec.replicas".to_string(),
                    ".status.replicas".to_string(),
                    Some(".status.selector".to_string()),
                ))
            } else {
                None
            };
            r.insert(ResourceDef {
                group: d.group.to_string(),
                version: d.version.to_string(),
                kind: d.kind.to_string(),
                plural: d.plural.to_string(),
                singular: d.kind.to_lowercase(),
                short_names: d.short.iter().map(|s| s.to_string()).collect(),
                namespaced: d.namespaced,
                verbs: d.verbs.iter().map(|s| s.to_string()).collect(),
                status: d.status,
                scale,
                categories: if d.all {
                    vec!["all".to_string()]
                } else if d.ext {
                    vec!["api-extensions".to_string()]
                } else {
                    vec![]
                },
                storage: d
                    .storage
                    .map(str::to_string)
                    .unwrap_or_else(|| storage_key(d.group, d.plural)),
                builtin: true,
                generation: d.generation,
                preferred: d.preferred,
                schema: None,
                printer_columns: Vec::new(),
                selectable_fields: Vec::new(),
            });
        }
        r
    }

    /// Adds or replaces a resource.
    pub fn insert(&mut self, def: ResourceDef) {
        self.by_gvr.insert(
            (def.group.clone(), def.version.clone(), def.plural.clone()),
            Arc::new(def),
        );
    }

    /// Removes every version of a custom resource group/plural.
    pub fn remove_custom(&mut self, group: &str, plural: &str) {
        self.by_gvr
            .retain(|(g, _, p), d| !(g == group && p == plural && !d.builtin));
    }

    /// The resource served at group/version/plural.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        self.by_gvr
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// The resource of a kind in a group/version.
    pub fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<ResourceDef>> {
        self.by_gvr
            .values()
            .find(|d| d.group == group && d.version == version && d.kind == kind)
            .cloned()
    }

    /// The preferred (storage) definition of a storage key.
    pub fn storage_def(&self, storage: &str) -> Option<Arc<ResourceDef>> {
        self.by_gvr
            .values()
            .find(|d| d.storage == storage && d.preferred)
            .cloned()
    }

    /// Every resource, sorted by group, version, plural.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceDef>> {
        self.by_gvr.values()
    }

    /// Served groups in discovery order (core first, then built-in groups, then custom), each with
    /// its versions (preferred first).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let order = [
            "",
            "apps",
            "events.k8s.io",
            "storage.k8s.io",
            "networking.k8s.io",
            "extensions",
            "discovery.k8s.io",
            "coordination.k8s.io",
            "apiextensions.k8s.io",
            "batch",
            "autoscaling",
            "policy",
            "rbac.authorization.k8s.io",
            "authentication.k8s.io",
            "authorization.k8s.io",
            "certificates.k8s.io",
            "scheduling.k8s.io",
            "node.k8s.io",
            "admissionregistration.k8s.io",
        ];
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        let mut push = |g: &str, v: &str, preferred: bool| {
            if let Some(e) = groups.iter_mut().find(|(n, _)| n == g) {
                if !e.1.iter().any(|x| x == v) {
                    if preferred {
                        e.1.insert(0, v.to_string());
                    } else {
                        e.1.push(v.to_string());
                    }
                }
            } else {
                groups.push((g.to_string(), vec![v.to_string()]));
            }
        };
        for g in order {
            for d in self.by_gvr.values().filter(|d| d.group == g) {
                push(&d.group, &d.version, d.preferred);
            }
        }
        for d in self
            .by_gvr
            .values()
            .filter(|d| !order.contains(&d.group.as_str()))
        {
            push(&d.group, &d.version, d.preferred);
        }
        groups
    }

    /// Resources of one group/version.
    pub fn resources_of(&self, group: &str, version: &str) -> Vec<Arc<ResourceDef>> {
        self.by_gvr
            .values()
            .filter(|d| d.group == group && d.version == version)
            .cloned()
            .collect()
    }

    /// Builds the definitions a CustomResourceDefinition serves. Returns an error message when the
    /// CRD is malformed.
    pub fn defs_from_crd(crd: &Value) -> Result<Vec<ResourceDef>, String> {
        let spec = crd.get("spec").ok_or("spec: Required value")?;
        let group = spec
            .get("group")
            .and_then(Value::as_str)
            .ok_or("spec.group: Required value")?;
        let names = spec.get("names").ok_or("spec.names: Required value")?;
        let plural = names
            .get("plural")
            .and_then(Value::as_str)
            .ok_or("spec.names.plural: Required value")?;
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("spec.names.kind: Required value")?;
        let singular = names
            .get("singular")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| kind.to_lowercase());
        let strs = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let short_names = strs(names.get("shortNames"));
        let categories = strs(names.get("categories"));
        let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
        let versions = spec
            .get("versions")
            .and_then(Value::as_array)
            .ok_or("spec.versions: Required value")?;
        let mut out = Vec::new();
        for v in versions {
            if v.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let name = v
                .get("name")
                .and_then(Value::as_str)
                .ok_or("spec.versions[].name: Required value")?;
            let storage = v.get("storage").and_then(Value::as_bool).unwrap_or(false);
            let sub = v.get("subresources");
            let status = sub.and_then(|s| s.get("status")).is_some();
            let scale = sub.and_then(|s| s.get("scale")).map(|s| {
                let get =
                    |k: &str, d: &str| s.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
                (
                    get("specReplicasPath", ".spec.replicas"),
                    get("statusReplicasPath", ".status.replicas"),
                    s.get("labelSelectorPath")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                )
            });
            out.push(ResourceDef {
                group: group.to_string(),
                version: name.to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                singular: singular.clone(),
                short_names: short_names.clone(),
                namespaced,
                verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
                status,
                scale,
                categories: categories.clone(),
                storage: storage_key(group, plural),
                builtin: false,
                generation: true,
                preferred: storage,
                schema: v
                    .get("schema")
                    .and_then(|s| s.get("openAPIV3Schema"))
                    .cloned(),
                printer_columns: v
                    .get("additionalPrinterColumns")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                selectable_fields: v
                    .get("selectableFields")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|f| f.get("jsonPath")?.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        if out.is_empty() {
            return Err("spec.versions: Invalid value: must have exactly one version marked as storage version".into());
        }
        if !out.iter().any(|d| d.preferred) {
            if let Some(first) = out.first_mut() {
                first.preferred = true;
            }
        }
        Ok(out)
    }
}
