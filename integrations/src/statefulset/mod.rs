//! kube-controller-manager's StatefulSet controller: ordinal pods `<set>-<n>` with stable
//! identities, their claims from `volumeClaimTemplates`, OrderedReady and Parallel pod
//! management, RollingUpdate (with `partition`) and OnDelete, ControllerRevisions and the status
//! `kubectl rollout status sts/<name>` reads. One deterministic pass on the simulation clock.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/controller/statefulset/stateful_set.go` (`sync`: claim the pods by controller
//!   reference, adopt orphans that match the selector and the `<set>-<n>` name);
//! - `pkg/controller/statefulset/stateful_set_control.go` (`updateStatefulSet`: the replicas and
//!   condemned split, `processReplica`, `processCondemned`, `runForAll`, the rolling update from the
//!   highest ordinal down to the partition, `computeReplicaStatus`, `truncateHistory`) — see
//!   [`history`] for the revisions and [`status`] for the status;
//! - `pkg/controller/statefulset/stateful_set_utils.go` — see [`identity`];
//! - `pkg/controller/statefulset/stateful_pod_control.go` (`CreateStatefulPod`: the claims first,
//!   then the pod; events on the StatefulSet from `statefulset-controller`: `SuccessfulCreate`
//!   "create Claim www-web-0 Pod web-0 in StatefulSet web success" and "create Pod web-0 in
//!   StatefulSet web successful", `SuccessfulDelete` "delete Pod web-2 in StatefulSet web
//!   successful", `SuccessfulUpdate` "update Pod …").
//!
//! OrderedReady: pod n+1 is created only once pods 0..n are Running, Ready and available
//! (`minReadySeconds`); scale-down deletes the highest ordinal first, one at a time, each after
//! the previous one is gone. Parallel: every missing pod is created and every condemned pod
//! deleted in one pass. A pod that Failed or Succeeded is deleted and recreated on a later pass.
//! Claims stay as created (Pending until a provisioner binds them); the pass creates a missing
//! claim of a Pending pod again.
//!
//! Not modelled:
//! - `maxUnavailable` of RollingUpdate (the `MaxUnavailableStatefulSet` alpha gate, off in 1.32):
//!   one pod at a time;
//! - the claims' owner references for `whenScaled: Delete` (the StatefulSet's reference for
//!   `whenDeleted: Delete` is set at creation) and claim deletion on scale-down;
//! - hash collisions (`status.collisionCount` is read, never incremented);
//! - the `UpdateStatefulPod` storage repair (identity labels are repaired);
//! - `FailedCreate`/`FailedDelete` warning events (a failed write fails the pass), event
//!   aggregation (`count` stays 1), expectations.

pub mod history;
pub mod identity;
pub mod status;

use crate::workloads::{self, controller_uid, int, meta, selector_matches};
use crate::{Context, Error};
use identity::{
    is_available, is_created, is_finished, is_healthy, is_member, is_pending, is_running_and_ready,
    is_terminating, new_claim, new_pod, ordinal, revision_of, start_ordinal,
};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use serde_json::{json, Value};

/// The events' `source.component`.
pub const COMPONENT: &str = "statefulset-controller";

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Objects created (`Pod ns/web-0`, `PersistentVolumeClaim ns/www-web-0`, revisions).
    pub created: Vec<String>,
    /// Objects deleted.
    pub deleted: Vec<String>,
    /// Objects patched (status, labels, owner references, revision numbers).
    pub updated: Vec<String>,
    /// Every write to the API server (events included).
    pub writes: usize,
}

/// One pass over every StatefulSet.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let ctx = &ctx
        .as_account(&crate::Account::controller("statefulset-controller"))
        .await?;
    let mut s = Summary::default();
    let sets = ctx
        .cache
        .list::<StatefulSet>()
        .await
        .map_err(kerr("list StatefulSets".into()))?;
    for set in &sets {
        let mut set = (**set).clone();
        set["apiVersion"] = json!("apps/v1");
        set["kind"] = json!("StatefulSet");
        sync(ctx, &set, &mut s).await?;
    }
    Ok(s)
}

fn kerr(what: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Workload {
        what,
        source: Box::new(source),
    }
}

async fn event(ctx: &Context, set: &Value, reason: &str, message: &str, s: &mut Summary) {
    let mut ws = workloads::Summary::default();
    workloads::record_event(ctx, set, COMPONENT, reason, message, &mut ws).await;
    s.writes += ws.writes;
}

/// `ClaimPods`: the set's pods, orphans that match its selector and name adopted, owned pods
/// that no longer match released.
async fn claim_pods(ctx: &Context, set: &Value, s: &mut Summary) -> Result<Vec<Value>, Error> {
    let ns = meta(set, "namespace");
    let uid = meta(set, "uid");
    let pods = ctx
        .cache
        .list_namespaced::<Pod>(ns)
        .await
        .map_err(kerr(format!("list Pods {ns}")))?;
    let selector = &set["spec"]["selector"];
    let deleting = !set["metadata"]["deletionTimestamp"].is_null();
    let mut out = Vec::new();
    for pod in pods {
        let matches =
            selector_matches(selector, &pod["metadata"]["labels"]) && is_member(set, &pod);
        match controller_uid(&pod) {
            Some(u) if u == uid => {
                if matches {
                    out.push((*pod).clone());
                } else {
                    let refs: Vec<Value> =
                        refs(&pod).into_iter().filter(|r| r["uid"] != uid).collect();
                    set_refs(ctx, &pod, refs, s).await?;
                }
            }
            None if matches && !deleting && !is_terminating(&pod) => {
                let mut r = refs(&pod);
                r.push(workloads::controller_ref(set, "apps/v1", "StatefulSet"));
                out.push(set_refs(ctx, &pod, r, s).await?);
            }
            _ => {}
        }
    }
    Ok(out)
}

fn refs(pod: &Value) -> Vec<Value> {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn set_refs(
    ctx: &Context,
    pod: &Value,
    refs: Vec<Value>,
    s: &mut Summary,
) -> Result<Value, Error> {
    let body = json!({"metadata": {"ownerReferences": refs}});
    let out = workloads::patch::<Pod>(ctx, pod, &body, false, "Pod").await?;
    s.updated.push(format!(
        "Pod {}/{}",
        meta(pod, "namespace"),
        meta(pod, "name")
    ));
    s.writes += 1;
    Ok(out)
}

/// `createPersistentVolumeClaims`: the pod's missing claims.
async fn create_claims(
    ctx: &Context,
    set: &Value,
    pod_name: &str,
    ord: i64,
    s: &mut Summary,
) -> Result<(), Error> {
    let ns = meta(set, "namespace");
    let templates = set["spec"]["volumeClaimTemplates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for t in &templates {
        let claim = new_claim(set, t, ord);
        let name = meta(&claim, "name").to_string();
        let have = ctx
            .cache
            .get::<PersistentVolumeClaim>(ns, &name)
            .await
            .map_err(kerr(format!("get PersistentVolumeClaim {ns}/{name}")))?;
        if have.is_some() {
            continue;
        }
        match workloads::create::<PersistentVolumeClaim>(ctx, ns, claim, "PersistentVolumeClaim")
            .await
        {
            Ok(_) => {}
            // Created since the cache was read: nothing to do.
            Err(Error::Workload { source, .. }) if matches!(&*source, kube::Error::Api(e) if e.code == 409) => {
                continue
            }
            Err(e) => return Err(e),
        }
        s.created.push(format!("PersistentVolumeClaim {ns}/{name}"));
        s.writes += 1;
        let msg = format!(
            "create Claim {name} Pod {pod_name} in StatefulSet {} success",
            meta(set, "name")
        );
        event(ctx, set, "SuccessfulCreate", &msg, s).await;
    }
    Ok(())
}

/// `CreateStatefulPod`: the claims, then the pod.
async fn create_pod(ctx: &Context, set: &Value, pod: &Value, s: &mut Summary) -> Result<(), Error> {
    let ns = meta(set, "namespace");
    let name = meta(pod, "name");
    create_claims(ctx, set, name, ordinal(pod), s).await?;
    match workloads::create::<Pod>(ctx, ns, pod.clone(), "Pod").await {
        Ok(_) => {}
        // The pod exists already (the cache had not seen it yet): nothing to do.
        Err(Error::Workload { source, .. }) if matches!(&*source, kube::Error::Api(e) if e.code == 409) => {
            return Ok(())
        }
        Err(e) => return Err(e),
    }
    s.created.push(format!("Pod {ns}/{name}"));
    s.writes += 1;
    let msg = format!(
        "create Pod {name} in StatefulSet {} successful",
        meta(set, "name")
    );
    event(ctx, set, "SuccessfulCreate", &msg, s).await;
    Ok(())
}

/// `DeleteStatefulPod`.
async fn delete_pod(ctx: &Context, set: &Value, pod: &Value, s: &mut Summary) -> Result<(), Error> {
    workloads::delete::<Pod>(ctx, pod, "Pod").await?;
    let name = meta(pod, "name");
    s.deleted
        .push(format!("Pod {}/{name}", meta(pod, "namespace")));
    s.writes += 1;
    let msg = format!(
        "delete Pod {name} in StatefulSet {} successful",
        meta(set, "name")
    );
    event(ctx, set, "SuccessfulDelete", &msg, s).await;
    Ok(())
}

/// `UpdateStatefulPod` for the identity labels.
async fn update_identity(
    ctx: &Context,
    set: &Value,
    pod: &Value,
    s: &mut Summary,
) -> Result<(), Error> {
    let name = meta(pod, "name");
    let body = json!({"metadata": {"labels": {
        identity::POD_NAME_LABEL: name,
        identity::POD_INDEX_LABEL: ordinal(pod).to_string(),
    }}});
    workloads::patch::<Pod>(ctx, pod, &body, false, "Pod").await?;
    s.updated
        .push(format!("Pod {}/{name}", meta(pod, "namespace")));
    s.writes += 1;
    let msg = format!(
        "update Pod {name} in StatefulSet {} successful",
        meta(set, "name")
    );
    event(ctx, set, "SuccessfulUpdate", &msg, s).await;
    Ok(())
}

/// The pods of one sync, split as `updateStatefulSet` splits them.
struct Members {
    /// One slot per ordinal in `[start, start + replicas)`; a pod not yet created is built
    /// from its revision and has no phase.
    replicas: Vec<Value>,
    /// Pods with an ordinal outside the range, highest ordinal first.
    condemned: Vec<Value>,
}

fn split(set: &Value, pods: &[Value], revs: &history::Revisions) -> Members {
    let start = start_ordinal(set);
    let count = int(&set["spec"]["replicas"]).max(0);
    let mut slots: Vec<Option<Value>> = vec![None; count as usize];
    let mut condemned = Vec::new();
    for p in pods {
        let ord = ordinal(p);
        if ord >= start && ord < start + count {
            slots[(ord - start) as usize] = Some(p.clone());
        } else if ord >= 0 {
            condemned.push(p.clone());
        }
    }
    condemned.sort_by_key(|p| std::cmp::Reverse(ordinal(p)));
    let current_template = history::template_of(&revs.current);
    let update_template = history::template_of(&revs.update);
    let strategy = &set["spec"]["updateStrategy"];
    let replicas = slots
        .into_iter()
        .enumerate()
        .map(|(i, slot)| {
            slot.unwrap_or_else(|| {
                let ord = start + i as i64;
                // newVersionedStatefulSetPod (with Go's `a && b || c` precedence).
                let rolling = strategy["type"] == "RollingUpdate";
                let ru = &strategy["rollingUpdate"];
                let below = (rolling
                    && ru.is_null()
                    && ord < start + int(&set["status"]["currentReplicas"]))
                    || (!ru.is_null() && ord < start + int(&ru["partition"]));
                if below {
                    new_pod(set, &current_template, ord, revs.current_name())
                } else {
                    new_pod(set, &update_template, ord, revs.update_name())
                }
            })
        })
        .collect();
    Members {
        replicas,
        condemned,
    }
}

async fn sync(ctx: &Context, set: &Value, s: &mut Summary) -> Result<(), Error> {
    let ns = meta(set, "namespace");
    let now = ctx.clock.now().as_millis();
    let pods = claim_pods(ctx, set, s).await?;
    let all_revisions = ctx
        .cache
        .list_namespaced::<ControllerRevision>(ns)
        .await
        .map_err(kerr(format!("list ControllerRevisions {ns}")))?;
    let history = history::owned(set, &all_revisions);
    let revs = history::revisions(ctx, set, &history, s).await?;
    let members = split(set, &pods, &revs);
    if set["metadata"]["deletionTimestamp"].is_null() {
        manage(ctx, set, &members, &revs, now, s).await?;
    }
    status::update(ctx, set, &pods, &revs, now, s).await?;
    history::truncate(ctx, set, &history, &pods, &revs, s).await
}

/// `updateStatefulSet` after the revisions: replicas, condemned pods, then the rolling update.
async fn manage(
    ctx: &Context,
    set: &Value,
    m: &Members,
    revs: &history::Revisions,
    now: u64,
    s: &mut Summary,
) -> Result<(), Error> {
    let monotonic = set["spec"]["podManagementPolicy"] != "Parallel";
    let min_ready = int(&set["spec"]["minReadySeconds"]);
    let first_unhealthy = m
        .replicas
        .iter()
        .chain(m.condemned.iter())
        .find(|p| !is_healthy(p))
        .map(|p| meta(p, "name").to_string());
    // processReplica for each ordinal, lowest first.
    for pod in &m.replicas {
        if is_finished(pod) {
            if !is_terminating(pod) {
                delete_pod(ctx, set, pod, s).await?;
            }
            // The replacement comes on a later pass, once this one is gone.
            if monotonic {
                return Ok(());
            }
            continue;
        }
        if !is_created(pod) {
            create_pod(ctx, set, pod, s).await?;
            if monotonic {
                return Ok(());
            }
            continue;
        }
        if is_pending(pod) {
            create_claims(ctx, set, meta(pod, "name"), ordinal(pod), s).await?;
        }
        if monotonic
            && (is_terminating(pod)
                || !is_running_and_ready(pod)
                || !is_available(pod, min_ready, now))
        {
            return Ok(());
        }
        if !identity::identity_matches(set, pod) {
            update_identity(ctx, set, pod, s).await?;
        }
    }
    // processCondemned, highest ordinal first.
    for pod in &m.condemned {
        if is_terminating(pod) {
            if monotonic {
                return Ok(());
            }
            continue;
        }
        let first = first_unhealthy.as_deref() == Some(meta(pod, "name"));
        if monotonic && !first && (!is_running_and_ready(pod) || !is_available(pod, min_ready, now))
        {
            return Ok(());
        }
        delete_pod(ctx, set, pod, s).await?;
        if monotonic {
            return Ok(());
        }
    }
    let strategy = &set["spec"]["updateStrategy"];
    if strategy["type"] == "OnDelete" {
        return Ok(());
    }
    // RollingUpdate: delete the highest ordinal not at the update revision, down to the
    // partition, one at a time, each once the ones above it are healthy again.
    let partition = int(&strategy["rollingUpdate"]["partition"]).max(0) as usize;
    for pod in m.replicas.iter().skip(partition).rev() {
        if is_created(pod) && revision_of(pod) != revs.update_name() && !is_terminating(pod) {
            return delete_pod(ctx, set, pod, s).await;
        }
        if !is_healthy(pod) {
            return Ok(());
        }
    }
    Ok(())
}
