//! The ReplicaSet controller: pods owned by each ReplicaSet against `spec.replicas`.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4 `pkg/controller/replicaset/replica_set.go`
//! (`syncReplicaSet`, `manageReplicas`, `getPodsToDelete`), `replica_set_utils.go`
//! (`calculateStatus`), `pkg/controller/controller_utils.go` (`GetPodFromTemplate`,
//! `FilterActivePods`, `ActivePodsWithRanks.Less`), `pkg/controller/controller_ref_manager.go`
//! (`ClaimPods`: adopt orphans that match the selector, release owned pods that no longer match)
//! and `pkg/api/v1/pod/util.go` (`IsPodAvailable`).
//!
//! Pods are created with `generateName: <replicaset>-`, so the API server picks the 5-character
//! suffix from the upstream alphabet `bcdfghjklmnpqrstvwxz2456789` (seeded); events
//! `SuccessfulCreate` "Created pod: <name>" and `SuccessfulDelete` "Deleted pod: <name>" from
//! `replicaset-controller`.
//!
//! Not modelled: see [`super`]; also the ReplicaFailure condition (a failed create fails the pass).

use super::{
    controller_ref, controller_uid, create, delete, int, meta, ms, patch, record_event,
    selector_matches, Summary,
};
use crate::{Context, Error};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::sync::Arc;

const COMPONENT: &str = "replicaset-controller";

/// One pass over every ReplicaSet.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let ctx = &ctx
        .as_account(&crate::Account::controller("replicaset-controller"))
        .await?;
    let mut summary = Summary::default();
    let rss = super::list::<ReplicaSet>(ctx, "ReplicaSet").await?;
    if rss.is_empty() {
        return Ok(summary);
    }
    let mut pods = super::list::<Pod>(ctx, "Pod").await?;
    for rs in &rss {
        sync(ctx, rs, &mut pods, &mut summary).await?;
    }
    Ok(summary)
}

/// `FilterActivePods`: not Succeeded, not Failed, not being deleted.
pub(crate) fn is_active(pod: &Value) -> bool {
    let phase = pod["status"]["phase"].as_str().unwrap_or_default();
    phase != "Succeeded" && phase != "Failed" && pod["metadata"]["deletionTimestamp"].is_null()
}

fn ready_condition(pod: &Value) -> Option<&Value> {
    pod["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
}

/// `IsPodReady`.
pub(crate) fn is_ready(pod: &Value) -> bool {
    ready_condition(pod).is_some_and(|c| c["status"] == "True")
}

/// `IsPodAvailable`: ready, and ready for longer than `minReadySeconds` at `now_ms`.
pub(crate) fn is_available(pod: &Value, min_ready_seconds: i64, now_ms: u64) -> bool {
    let Some(c) = ready_condition(pod).filter(|c| c["status"] == "True") else {
        return false;
    };
    if min_ready_seconds <= 0 {
        return true;
    }
    let t = ms(&c["lastTransitionTime"]);
    t != 0 && t + (min_ready_seconds as u64) * 1000 < now_ms
}

async fn sync(
    ctx: &Context,
    rs: &Value,
    pods: &mut [Arc<Value>],
    summary: &mut Summary,
) -> Result<(), Error> {
    let ns = meta(rs, "namespace");
    let uid = meta(rs, "uid");
    let selector = &rs["spec"]["selector"];
    let deleting = !rs["metadata"]["deletionTimestamp"].is_null();
    // ClaimPods: release owned pods that no longer match, adopt matching orphans.
    let mut claimed = Vec::new();
    for pod in pods.iter_mut().filter(|p| meta(p, "namespace") == ns) {
        let labels = &pod["metadata"]["labels"];
        let matches = selector_matches(selector, labels);
        match controller_uid(pod) {
            Some(u) if u == uid => {
                if matches {
                    claimed.push(pod.clone());
                } else {
                    let refs: Vec<Value> = owner_refs(pod)
                        .into_iter()
                        .filter(|r| r["uid"] != uid)
                        .collect();
                    *pod = Arc::new(set_refs(ctx, pod, refs).await?);
                    summary
                        .updated
                        .push(format!("Pod {ns}/{}", meta(pod, "name")));
                    summary.writes += 1;
                }
            }
            None if matches && !deleting && pod["metadata"]["deletionTimestamp"].is_null() => {
                let mut refs = owner_refs(pod);
                refs.push(controller_ref(rs, "apps/v1", "ReplicaSet"));
                *pod = Arc::new(set_refs(ctx, pod, refs).await?);
                summary
                    .updated
                    .push(format!("Pod {ns}/{}", meta(pod, "name")));
                summary.writes += 1;
                claimed.push(pod.clone());
            }
            _ => {}
        }
    }
    let filtered: Vec<Arc<Value>> = claimed.into_iter().filter(|p| is_active(p)).collect();
    if !deleting {
        manage(ctx, rs, &filtered, summary).await?;
    }
    // calculateStatus over the pods listed before manageReplicas, as upstream.
    let now = ctx.clock.now().as_millis();
    let min_ready = int(&rs["spec"]["minReadySeconds"]);
    let template_labels = &rs["spec"]["template"]["metadata"]["labels"];
    let fully = filtered
        .iter()
        .filter(|p| {
            template_labels
                .as_object()
                .into_iter()
                .flatten()
                .all(|(k, v)| p["metadata"]["labels"].get(k) == Some(v))
        })
        .count();
    let ready = filtered.iter().filter(|p| is_ready(p)).count();
    let available = filtered
        .iter()
        .filter(|p| is_available(p, min_ready, now))
        .count();
    let omit_zero = |n: usize| if n == 0 { Value::Null } else { json!(n) };
    let want = json!({
        "replicas": filtered.len(),
        "fullyLabeledReplicas": omit_zero(fully),
        "readyReplicas": omit_zero(ready),
        "availableReplicas": omit_zero(available),
        "observedGeneration": rs["metadata"]["generation"],
    });
    if !crate::instances::contains(&rs["status"], &want) {
        super::update::<ReplicaSet>(ctx, rs, &json!({"status": want}), true, "ReplicaSet").await?;
        summary
            .updated
            .push(format!("ReplicaSet {ns}/{}", meta(rs, "name")));
        summary.writes += 1;
    }
    Ok(())
}

fn owner_refs(pod: &Value) -> Vec<Value> {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn set_refs(ctx: &Context, pod: &Value, refs: Vec<Value>) -> Result<Value, Error> {
    let body = json!({"metadata": {"ownerReferences": refs}});
    patch::<Pod>(ctx, pod, &body, false, "Pod").await
}

/// `manageReplicas`: create the missing pods, delete the surplus.
async fn manage(
    ctx: &Context,
    rs: &Value,
    filtered: &[Arc<Value>],
    summary: &mut Summary,
) -> Result<(), Error> {
    let ns = meta(rs, "namespace");
    let name = meta(rs, "name");
    let replicas = int(&rs["spec"]["replicas"]);
    let diff = filtered.len() as i64 - replicas;
    if diff < 0 {
        let template = &rs["spec"]["template"];
        for _ in 0..(-diff) {
            let mut m = Map::new();
            m.insert("generateName".into(), json!(format!("{name}-")));
            m.insert("namespace".into(), json!(ns));
            for k in ["labels", "annotations", "finalizers"] {
                if let Some(v) = template["metadata"].get(k) {
                    m.insert(k.into(), v.clone());
                }
            }
            m.insert(
                "ownerReferences".into(),
                json!([controller_ref(rs, "apps/v1", "ReplicaSet")]),
            );
            let pod = json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": m,
                "spec": template["spec"],
            });
            let created = create::<Pod>(ctx, ns, pod, "Pod").await?;
            let pod_name = meta(&created, "name").to_string();
            summary.created.push(format!("Pod {ns}/{pod_name}"));
            summary.writes += 1;
            let msg = format!("Created pod: {pod_name}");
            record_event(ctx, rs, COMPONENT, "SuccessfulCreate", &msg, summary).await;
        }
    } else if diff > 0 {
        let mut per_node: std::collections::HashMap<&str, usize> = Default::default();
        for p in filtered {
            if let Some(n) = p["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
                *per_node.entry(n).or_default() += 1;
            }
        }
        let mut ranked: Vec<&Value> = filtered.iter().map(|p| &**p).collect();
        ranked.sort_by(|a, b| rank(a, b, &per_node));
        for pod in ranked.into_iter().take(diff as usize) {
            delete::<Pod>(ctx, pod, "Pod").await?;
            let pod_name = meta(pod, "name");
            summary.deleted.push(format!("Pod {ns}/{pod_name}"));
            summary.writes += 1;
            let msg = format!("Deleted pod: {pod_name}");
            record_event(ctx, rs, COMPONENT, "SuccessfulDelete", &msg, summary).await;
        }
    }
    Ok(())
}

fn phase_rank(pod: &Value) -> u8 {
    match pod["status"]["phase"].as_str().unwrap_or_default() {
        "Pending" | "" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    }
}

fn deletion_cost(pod: &Value) -> i64 {
    pod["metadata"]["annotations"]["controller.kubernetes.io/pod-deletion-cost"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn restarts(pod: &Value) -> i64 {
    pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| int(&c["restartCount"]))
        .max()
        .unwrap_or(0)
}

/// `ActivePodsWithRanks.Less` (1.32, without the logarithmic buckets): the pod to delete first
/// sorts first. The rank is the number of this ReplicaSet's pods on the same node.
fn rank(a: &Value, b: &Value, per_node: &std::collections::HashMap<&str, usize>) -> Ordering {
    let node = |p: &Value| {
        p["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let on_node = |p: &Value| {
        let n = node(p);
        per_node.get(n.as_str()).copied().unwrap_or(0)
    };
    let ready_since = |p: &Value| ready_condition(p).map(|c| ms(&c["lastTransitionTime"]));
    // 1. unassigned < assigned
    (!node(a).is_empty())
        .cmp(&!node(b).is_empty())
        // 2. Pending < Unknown < Running
        .then(phase_rank(a).cmp(&phase_rank(b)))
        // 3. not ready < ready
        .then(is_ready(a).cmp(&is_ready(b)))
        // 4. lower pod-deletion-cost first
        .then(deletion_cost(a).cmp(&deletion_cost(b)))
        // 5. doubled up (more pods on the same node) first
        .then(on_node(b).cmp(&on_node(a)))
        // 6. ready for less time first
        .then_with(|| {
            if is_ready(a) && is_ready(b) {
                ready_since(b).cmp(&ready_since(a))
            } else {
                Ordering::Equal
            }
        })
        // 7. more restarts first
        .then(restarts(b).cmp(&restarts(a)))
        // 8. newer first
        .then(ms(&b["metadata"]["creationTimestamp"]).cmp(&ms(&a["metadata"]["creationTimestamp"])))
        .then(meta(a, "name").cmp(meta(b, "name")))
}
