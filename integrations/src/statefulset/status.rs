//! A StatefulSet's status: replica counts by readiness and revision, the two revisions, and the
//! completion of a rolling update.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4 `pkg/controller/statefulset/stateful_set_control.go`
//! (`computeReplicaStatus`, `updateStatus`, `updateStatefulSetStatus`) and
//! `stateful_set_utils.go` (`completeRollingUpdate`, `inconsistentStatus`).
//!
//! `kubectl rollout status sts/<name>` (kubectl 1.32 `StatefulSetStatusViewer`) reads
//! `observedGeneration`, `readyReplicas`, `updatedReplicas` against the partition, and
//! `currentRevision` = `updateRevision` once the rollout is complete.

use super::history::Revisions;
use super::identity::{
    is_available, is_created, is_running_and_ready, is_terminating, revision_of,
};
use super::Summary;
use crate::workloads::{int, meta};
use crate::{Context, Error};
use k8s_openapi::api::apps::v1::StatefulSet;
use serde_json::{json, Value};

/// The status fields the controller owns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Pods created (terminating ones included).
    pub replicas: i64,
    /// Running and Ready.
    pub ready: i64,
    /// Ready for `minReadySeconds`.
    pub available: i64,
    /// Not terminating, at the current revision.
    pub current: i64,
    /// Not terminating, at the update revision.
    pub updated: i64,
}

/// `computeReplicaStatus` over the set's pods.
pub fn count(pods: &[Value], min_ready: i64, revs: &Revisions, now: u64) -> Counts {
    let mut c = Counts::default();
    for p in pods {
        if is_created(p) {
            c.replicas += 1;
        }
        if is_running_and_ready(p) {
            c.ready += 1;
            if is_available(p, min_ready, now) {
                c.available += 1;
            }
        }
        if is_created(p) && !is_terminating(p) {
            if revision_of(p) == revs.current_name() {
                c.current += 1;
            }
            if revision_of(p) == revs.update_name() {
                c.updated += 1;
            }
        }
    }
    c
}

/// The status to write: the counts, then `completeRollingUpdate` (a RollingUpdate whose every
/// replica is updated and ready makes the update revision current).
pub fn desired(set: &Value, c: &Counts, revs: &Revisions) -> Value {
    let want = int(&set["spec"]["replicas"]);
    let mut current = c.current;
    let mut current_rev = revs.current_name().to_string();
    if set["spec"]["updateStrategy"]["type"] == "RollingUpdate"
        && c.updated == want
        && c.ready == want
        && c.replicas == want
    {
        current = c.updated;
        current_rev = revs.update_name().to_string();
    }
    // Go's omitempty: zero counts are left out (a merge patch's null removes them).
    let omit = |n: i64| if n == 0 { Value::Null } else { json!(n) };
    json!({
        "observedGeneration": set["metadata"]["generation"],
        "replicas": c.replicas,
        "readyReplicas": omit(c.ready),
        "currentReplicas": omit(current),
        "updatedReplicas": omit(c.updated),
        "currentRevision": current_rev,
        "updateRevision": revs.update_name(),
        "collisionCount": int(&set["status"]["collisionCount"]),
        "availableReplicas": c.available,
    })
}

/// Writes the status when it differs (`inconsistentStatus`).
pub async fn update(
    ctx: &Context,
    set: &Value,
    pods: &[Value],
    revs: &Revisions,
    now: u64,
    s: &mut Summary,
) -> Result<(), Error> {
    let c = count(pods, int(&set["spec"]["minReadySeconds"]), revs, now);
    let want = desired(set, &c, revs);
    let have = &set["status"];
    let same = want.as_object().is_some_and(|w| {
        w.iter().all(|(k, v)| match v {
            Value::Null => have[k].is_null() || have[k] == 0,
            Value::Number(_) => int(&have[k]) == int(v) && !have[k].is_null(),
            _ => &have[k] == v,
        })
    });
    if same {
        return Ok(());
    }
    crate::workloads::update::<StatefulSet>(
        ctx,
        set,
        &json!({ "status": want }),
        true,
        "StatefulSet",
    )
    .await?;
    s.updated.push(format!(
        "StatefulSet {}/{}",
        meta(set, "namespace"),
        meta(set, "name")
    ));
    s.writes += 1;
    Ok(())
}
