//! A StatefulSet member's identity: ordinal names, the identity labels, the claims made from
//! `volumeClaimTemplates`, and the pod built from a revision's template.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4 `pkg/controller/statefulset/stateful_set_utils.go`
//! (`getParentNameAndOrdinal`, `getPodName`, `getPersistentVolumeClaimName`, `identityMatches`,
//! `storageMatches`, `getPersistentVolumeClaims`, `updateStorage`, `initIdentity`,
//! `updateIdentity`, `newStatefulSetPod`, `newVersionedStatefulSetPod`, the pod predicates) and
//! `isClaimOwnerUpToDate`'s table of owner references per retention policy.

use crate::workloads::{controller_ref, int, meta, ms};
use serde_json::{json, Map, Value};

/// `statefulset.kubernetes.io/pod-name`.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// `apps.kubernetes.io/pod-index` (the `PodIndexLabel` feature, on by default since 1.28).
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// `controller-revision-hash`: the name of the pod's ControllerRevision.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// `getParentNameAndOrdinal`: `web-3` → (`web`, 3); -1 without a numeric suffix.
pub fn parent_and_ordinal(pod_name: &str) -> (&str, i64) {
    let Some((parent, n)) = pod_name.rsplit_once('-') else {
        return ("", -1);
    };
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return ("", -1);
    }
    match n.parse::<i32>() {
        Ok(i) => (parent, i64::from(i)),
        Err(_) => (parent, -1),
    }
}

/// The pod's ordinal (-1 when it has none).
pub fn ordinal(pod: &Value) -> i64 {
    parent_and_ordinal(meta(pod, "name")).1
}

/// `getPodName`: `<set>-<ordinal>`.
pub fn pod_name(set: &Value, ordinal: i64) -> String {
    format!("{}-{ordinal}", meta(set, "name"))
}

/// `getPersistentVolumeClaimName`: `<template>-<set>-<ordinal>`.
pub fn claim_name(set: &Value, template: &str, ordinal: i64) -> String {
    format!("{template}-{}-{ordinal}", meta(set, "name"))
}

/// `getStartOrdinal`: `spec.ordinals.start`, 0 by default.
pub fn start_ordinal(set: &Value) -> i64 {
    int(&set["spec"]["ordinals"]["start"])
}

/// `isMemberOf`: the pod's name is `<set>-<n>`.
pub fn is_member(set: &Value, pod: &Value) -> bool {
    let (parent, ord) = parent_and_ordinal(meta(pod, "name"));
    ord >= 0 && parent == meta(set, "name")
}

/// `identityMatches`.
pub fn identity_matches(set: &Value, pod: &Value) -> bool {
    let ord = ordinal(pod);
    ord >= 0
        && is_member(set, pod)
        && meta(pod, "name") == pod_name(set, ord)
        && meta(pod, "namespace") == meta(set, "namespace")
        && pod["metadata"]["labels"][POD_NAME_LABEL] == meta(pod, "name")
}

fn templates(set: &Value) -> impl Iterator<Item = &Value> {
    set["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
}

/// `storageMatches`: every claim template is a volume of the pod naming its claim.
pub fn storage_matches(set: &Value, pod: &Value) -> bool {
    let ord = ordinal(pod);
    if ord < 0 {
        return false;
    }
    let volumes = pod["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    templates(set).all(|t| {
        let tname = meta(t, "name");
        volumes.iter().any(|v| {
            v["name"] == tname
                && v["persistentVolumeClaim"]["claimName"] == claim_name(set, tname, ord)
        })
    })
}

/// The claim template names with the claims they give for `ordinal`.
pub fn claim_names(set: &Value, ordinal: i64) -> Vec<(String, String)> {
    templates(set)
        .map(|t| {
            let tname = meta(t, "name").to_string();
            let cname = claim_name(set, &tname, ordinal);
            (tname, cname)
        })
        .collect()
}

/// `getPersistentVolumeClaims` for one template: the claim as created, its labels the template's
/// plus the selector's `matchLabels`, owner references per the retention policy (a pod in range
/// never owns its claims; `whenDeleted: Delete` makes the StatefulSet the claim's controller).
pub fn new_claim(set: &Value, template: &Value, ordinal: i64) -> Value {
    let ns = meta(set, "namespace");
    let mut labels = template["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Some(ml) = set["spec"]["selector"]["matchLabels"].as_object() {
        for (k, v) in ml {
            labels.insert(k.clone(), v.clone());
        }
    }
    let mut m = Map::new();
    m.insert(
        "name".into(),
        json!(claim_name(set, meta(template, "name"), ordinal)),
    );
    m.insert("namespace".into(), json!(ns));
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if let Some(a) = template["metadata"].get("annotations") {
        m.insert("annotations".into(), a.clone());
    }
    if set["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete" {
        m.insert(
            "ownerReferences".into(),
            json!([controller_ref(set, "apps/v1", "StatefulSet")]),
        );
    }
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": m,
        "spec": template["spec"],
    })
}

/// `newStatefulSetPod` + `setPodRevision`: the pod of `ordinal` from `template` (a revision's
/// pod template), with its identity (name, `hostname`, `subdomain`, the identity labels), its
/// claims as volumes and the revision label.
pub fn new_pod(set: &Value, template: &Value, ordinal: i64, revision: &str) -> Value {
    let name = pod_name(set, ordinal);
    let mut labels = template["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    labels.insert(POD_NAME_LABEL.into(), json!(name));
    labels.insert(POD_INDEX_LABEL.into(), json!(ordinal.to_string()));
    labels.insert(REVISION_LABEL.into(), json!(revision));
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("namespace".into(), json!(meta(set, "namespace")));
    m.insert("labels".into(), Value::Object(labels));
    for k in ["annotations", "finalizers"] {
        if let Some(v) = template["metadata"].get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    m.insert(
        "ownerReferences".into(),
        json!([controller_ref(set, "apps/v1", "StatefulSet")]),
    );
    let mut spec = template["spec"].clone();
    let claims = claim_names(set, ordinal);
    // updateStorage: the claims' volumes, then the template's other volumes.
    let mut volumes: Vec<Value> = claims
        .iter()
        .map(|(t, c)| json!({"name": t, "persistentVolumeClaim": {"claimName": c}}))
        .collect();
    for v in spec["volumes"].as_array().into_iter().flatten() {
        if !claims.iter().any(|(t, _)| v["name"] == t.as_str()) {
            volumes.push(v.clone());
        }
    }
    if let Some(s) = spec.as_object_mut() {
        if !volumes.is_empty() {
            s.insert("volumes".into(), json!(volumes));
        }
        s.insert("hostname".into(), json!(name));
        if let Some(svc) = set["spec"]["serviceName"]
            .as_str()
            .filter(|s| !s.is_empty())
        {
            s.insert("subdomain".into(), json!(svc));
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec})
}

/// `getPodRevision`.
pub fn revision_of(pod: &Value) -> &str {
    pod["metadata"]["labels"][REVISION_LABEL]
        .as_str()
        .unwrap_or_default()
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or_default()
}

/// `isCreated`: the API server has it (a phase is set).
pub fn is_created(pod: &Value) -> bool {
    !phase(pod).is_empty()
}

/// `isPending`.
pub fn is_pending(pod: &Value) -> bool {
    phase(pod) == "Pending"
}

/// `isFailed` or `isSucceeded`.
pub fn is_finished(pod: &Value) -> bool {
    matches!(phase(pod), "Failed" | "Succeeded")
}

/// `isTerminating`.
pub fn is_terminating(pod: &Value) -> bool {
    !pod["metadata"]["deletionTimestamp"].is_null()
}

/// `isRunningAndReady`.
pub fn is_running_and_ready(pod: &Value) -> bool {
    phase(pod) == "Running" && crate::workloads::replicaset::is_ready(pod)
}

/// `isRunningAndAvailable` (`IsPodAvailable` with `minReadySeconds`).
pub fn is_available(pod: &Value, min_ready_seconds: i64, now_ms: u64) -> bool {
    crate::workloads::replicaset::is_available(pod, min_ready_seconds, now_ms)
}

/// `isHealthy`: running, ready and not terminating.
pub fn is_healthy(pod: &Value) -> bool {
    is_running_and_ready(pod) && !is_terminating(pod)
}

/// Creation time in ms (for ordering revisions).
pub fn created_ms(obj: &Value) -> u64 {
    ms(&obj["metadata"]["creationTimestamp"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_parse_like_the_upstream_regex() {
        assert_eq!(parent_and_ordinal("web-0"), ("web", 0));
        assert_eq!(parent_and_ordinal("my-db-12"), ("my-db", 12));
        assert_eq!(parent_and_ordinal("web"), ("", -1));
        assert_eq!(parent_and_ordinal("web-x1"), ("", -1));
        assert_eq!(parent_and_ordinal("web-99999999999"), ("web", -1));
    }

    #[test]
    fn pods_carry_identity_and_claims() {
        let set = json!({"metadata": {"name": "web", "namespace": "default", "uid": "u"},
            "spec": {"serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
                "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}});
        let template = json!({"metadata": {"labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}});
        let pod = new_pod(&set, &template, 2, "web-abc");
        assert_eq!(pod["metadata"]["name"], "web-2");
        assert_eq!(pod["metadata"]["labels"][POD_INDEX_LABEL], "2");
        assert_eq!(pod["spec"]["hostname"], "web-2");
        assert_eq!(pod["spec"]["subdomain"], "nginx");
        assert_eq!(
            pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "www-web-2"
        );
        assert!(identity_matches(&set, &pod) && storage_matches(&set, &pod));
        let claim = new_claim(&set, &set["spec"]["volumeClaimTemplates"][0], 2);
        assert_eq!(claim["metadata"]["name"], "www-web-2");
        assert_eq!(claim["metadata"]["labels"]["app"], "nginx");
        assert!(claim["metadata"]["ownerReferences"].is_null());
    }
}
