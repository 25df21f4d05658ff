//! The Deployment controller: one ReplicaSet per pod template, rolled out with RollingUpdate
//! (maxSurge / maxUnavailable) or Recreate.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//! - `pkg/controller/deployment/deployment_controller.go` (`syncDeployment`: paused → `sync`,
//!   scaling event → `sync`, else the strategy's rollout; `getReplicaSetsForDeployment` with
//!   adoption and release through `ClaimReplicaSets`);
//! - `pkg/controller/deployment/sync.go` (`getNewReplicaSet`: name `<deployment>-<hash>`, label
//!   and selector `pod-template-hash`, revision = max old revision + 1, `NewReplicaSetCreated` /
//!   `FoundNewReplicaSet`; `scale` when one ReplicaSet is active or the new one is saturated;
//!   `scaleReplicaSet` with the event "Scaled up|down replica set <name> from <old> to <new>";
//!   `cleanupDeployment` down to `revisionHistoryLimit`; `calculateStatus`; `isScalingEvent`);
//! - `pkg/controller/deployment/rolling.go` (`rolloutRolling`, `reconcileNewReplicaSet`,
//!   `reconcileOldReplicaSets`, `cleanupUnhealthyReplicas`,
//!   `scaleDownOldReplicaSetsForRollingUpdate`);
//! - `pkg/controller/deployment/recreate.go` (`rolloutRecreate`, `oldPodsRunning`);
//! - `pkg/controller/deployment/progress.go` (`syncRolloutStatus`: `NewReplicaSetAvailable`,
//!   `ReplicaSetUpdated`, `ProgressDeadlineExceeded`);
//! - `pkg/controller/deployment/util/deployment_util.go` (`SetNewReplicaSetAnnotations` with
//!   `revision`, `revision-history`, `desired-replicas`, `max-replicas`; `ResolveFenceposts`:
//!   surge rounds up, unavailable rounds down, both 0 → unavailable 1; `NewRSNewReplicas`;
//!   `SetDeploymentCondition`; `DeploymentComplete`, `DeploymentProgressing`,
//!   `DeploymentTimedOut`; `EqualIgnoreHash`).
//!
//! Not modelled: see [`super`] (hash value, collisions, proportional scaling: a scaling event
//! while several ReplicaSets are active goes through the rollout path instead).

use super::{
    compute_hash, controller_ref, controller_uid, create, delete, int, meta, ms, patch,
    record_event, selector_matches, Summary, POD_TEMPLATE_HASH_LABEL,
};
use crate::{Context, Error};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Map, Value};

const COMPONENT: &str = "deployment-controller";
/// `deployment.kubernetes.io/revision`.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// `deployment.kubernetes.io/revision-history`.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// `deployment.kubernetes.io/desired-replicas`.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// `deployment.kubernetes.io/max-replicas`.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// Annotations not copied from a Deployment to its ReplicaSets (`skipCopyAnnotation`).
const SKIP_COPY: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];
/// `MaxRevHistoryLengthInChars`.
const MAX_REV_HISTORY_CHARS: usize = 2000;

/// One pass over every Deployment.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let ctx = &ctx
        .as_account(&crate::Account::controller("deployment-controller"))
        .await?;
    let mut summary = Summary::default();
    let deployments = super::list::<Deployment>(ctx, "Deployment").await?;
    if deployments.is_empty() {
        return Ok(summary);
    }
    // ReplicaSets are few and edited in place by the pass: owned copies.
    let mut all_rss: Vec<Value> = super::list::<ReplicaSet>(ctx, "ReplicaSet")
        .await?
        .iter()
        .map(|rs| Value::clone(rs))
        .collect();
    let mut pods: Option<Vec<Value>> = None;
    for d in &deployments {
        if !d["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let mut dc = Sync {
            ctx,
            d: Value::clone(d),
            status: d["status"].clone(),
            rss: Vec::new(),
            summary: &mut summary,
        };
        dc.claim(&mut all_rss).await?;
        let recreate = d["spec"]["strategy"]["type"] == "Recreate";
        if d["spec"]["paused"] == json!(true) {
            dc.sync(true).await?;
        } else if dc.is_scaling_event() {
            dc.sync(false).await?;
        } else if recreate {
            if pods.is_none() {
                let all = super::list::<Pod>(ctx, "Pod").await?;
                pods = Some(all.iter().map(|p| Value::clone(p)).collect());
            }
            dc.rollout_recreate(pods.as_deref().unwrap_or_default())
                .await?;
        } else {
            dc.rollout_rolling().await?;
        }
    }
    Ok(summary)
}

fn replicas(rs: &Value) -> i64 {
    int(&rs["spec"]["replicas"])
}

fn available(rs: &Value) -> i64 {
    int(&rs["status"]["availableReplicas"])
}

/// The revision annotation (0 when missing or malformed).
pub fn revision(obj: &Value) -> i64 {
    obj["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn created(rs: &Value) -> (u64, String) {
    (
        ms(&rs["metadata"]["creationTimestamp"]),
        meta(rs, "name").to_string(),
    )
}

/// `GetScaledValueFromIntOrPercent`.
fn scaled_value(v: &Value, total: i64, round_up: bool) -> i64 {
    if let Some(i) = v.as_i64() {
        return i;
    }
    let Some(p) = v
        .as_str()
        .and_then(|s| s.strip_suffix('%'))
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return 0;
    };
    if round_up {
        (p * total + 99) / 100
    } else {
        p * total / 100
    }
}

/// `ResolveFenceposts`: (maxSurge, maxUnavailable) for a RollingUpdate Deployment.
pub fn fenceposts(d: &Value) -> (i64, i64) {
    let ru = &d["spec"]["strategy"]["rollingUpdate"];
    let desired = replicas(d);
    let surge = scaled_value(&ru["maxSurge"], desired, true);
    let unavailable = scaled_value(&ru["maxUnavailable"], desired, false);
    if surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge, unavailable)
}

fn is_rolling(d: &Value) -> bool {
    d["spec"]["strategy"]["type"] != "Recreate"
}

/// `MaxSurge`.
fn max_surge(d: &Value) -> i64 {
    if !is_rolling(d) {
        return 0;
    }
    fenceposts(d).0
}

/// `MaxUnavailable`.
fn max_unavailable(d: &Value) -> i64 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

/// `EqualIgnoreHash`: the templates without the `pod-template-hash` label (an empty label map
/// equals a missing one).
fn equal_ignore_hash(a: &Value, b: &Value) -> bool {
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(m) = t["metadata"].as_object_mut() {
            if let Some(l) = m.get_mut("labels").and_then(Value::as_object_mut) {
                l.remove(POD_TEMPLATE_HASH_LABEL);
                if l.is_empty() {
                    m.remove("labels");
                }
            }
        }
        t
    };
    strip(a) == strip(b)
}

fn has_progress_deadline(d: &Value) -> bool {
    d["spec"]["progressDeadlineSeconds"]
        .as_i64()
        .is_some_and(|s| s != i64::from(i32::MAX))
}

fn get_cond<'a>(status: &'a Value, ty: &str) -> Option<&'a Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == ty)
}

fn remove_cond(status: &mut Value, ty: &str) {
    if let Some(a) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        a.retain(|c| c["type"] != ty);
    }
}

/// `SetDeploymentCondition`.
fn set_cond(status: &mut Value, mut cond: Value) {
    let ty = cond["type"].as_str().unwrap_or_default().to_string();
    if let Some(cur) = get_cond(status, &ty) {
        if cur["status"] == cond["status"] && cur["reason"] == cond["reason"] {
            return;
        }
        if cur["status"] == cond["status"] {
            cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
    }
    remove_cond(status, &ty);
    if !status.is_object() {
        *status = json!({});
    }
    match status["conditions"].as_array_mut() {
        Some(a) => a.push(cond),
        None => status["conditions"] = json!([cond]),
    }
}

struct Sync<'a> {
    ctx: &'a Context,
    d: Value,
    /// The Deployment's status as the controller currently holds it (written once at the end).
    status: Value,
    /// The ReplicaSets the Deployment controls, kept current after every write.
    rss: Vec<Value>,
    summary: &'a mut Summary,
}

impl Sync<'_> {
    fn name(&self) -> String {
        meta(&self.d, "name").to_string()
    }

    fn new_cond(&self, ty: &str, status: &str, reason: &str, message: String) -> Value {
        let t = self.ctx.clock.now().to_rfc3339_secs();
        json!({
            "type": ty,
            "status": status,
            "lastUpdateTime": t,
            "lastTransitionTime": t,
            "reason": reason,
            "message": message,
        })
    }

    /// `ClaimReplicaSets`: keep owned ReplicaSets that match, release those that do not, adopt
    /// matching orphans.
    async fn claim(&mut self, all: &mut [Value]) -> Result<(), Error> {
        let ns = meta(&self.d, "namespace").to_string();
        let uid = meta(&self.d, "uid").to_string();
        let selector = self.d["spec"]["selector"].clone();
        for rs in all.iter_mut().filter(|r| meta(r, "namespace") == ns) {
            let matches = selector_matches(&selector, &rs["metadata"]["labels"]);
            let refs = rs["metadata"]["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            match controller_uid(rs) {
                Some(u) if u == uid => {
                    if matches {
                        self.rss.push(rs.clone());
                    } else {
                        let refs: Vec<Value> =
                            refs.into_iter().filter(|r| r["uid"] != uid).collect();
                        let body = json!({"metadata": {"ownerReferences": refs}});
                        *rs = patch::<ReplicaSet>(self.ctx, rs, &body, false, "ReplicaSet").await?;
                        self.note_update(rs);
                    }
                }
                None if matches && rs["metadata"]["deletionTimestamp"].is_null() => {
                    let mut refs = refs;
                    refs.push(controller_ref(&self.d, "apps/v1", "Deployment"));
                    let body = json!({"metadata": {"ownerReferences": refs}});
                    *rs = patch::<ReplicaSet>(self.ctx, rs, &body, false, "ReplicaSet").await?;
                    self.note_update(rs);
                    self.rss.push(rs.clone());
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn note_update(&mut self, obj: &Value) {
        self.summary.updated.push(format!(
            "{} {}/{}",
            obj["kind"].as_str().unwrap_or_default(),
            meta(obj, "namespace"),
            meta(obj, "name")
        ));
        self.summary.writes += 1;
    }

    /// `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the Deployment's.
    fn find_new(&self) -> Option<usize> {
        let mut idx: Vec<usize> = (0..self.rss.len()).collect();
        idx.sort_by_key(|i| created(&self.rss[*i]));
        idx.into_iter().find(|i| {
            equal_ignore_hash(
                &self.rss[*i]["spec"]["template"],
                &self.d["spec"]["template"],
            )
        })
    }

    fn olds(&self, new: Option<usize>) -> Vec<usize> {
        (0..self.rss.len()).filter(|i| Some(*i) != new).collect()
    }

    fn sum<F: Fn(&Value) -> i64>(&self, idx: &[usize], f: F) -> i64 {
        idx.iter().map(|i| f(&self.rss[*i])).sum()
    }

    /// `isScalingEvent`.
    fn is_scaling_event(&self) -> bool {
        let want = replicas(&self.d).to_string();
        self.rss.iter().filter(|r| replicas(r) > 0).any(|r| {
            r["metadata"]["annotations"][DESIRED_REPLICAS]
                .as_str()
                .is_some_and(|v| v != want)
        })
    }

    /// `SetReplicasAnnotations` on a JSON annotations map; true when it changed.
    fn replicas_annotations(&self, ann: &mut Map<String, Value>) -> bool {
        let desired = replicas(&self.d).to_string();
        let max = (replicas(&self.d) + max_surge(&self.d)).to_string();
        let mut changed = false;
        for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
            if ann.get(k).and_then(Value::as_str) != Some(v.as_str()) {
                ann.insert(k.into(), json!(v));
                changed = true;
            }
        }
        changed
    }

    /// `SetNewReplicaSetAnnotations`; true when the annotations changed.
    fn new_rs_annotations(
        &self,
        ann: &mut Map<String, Value>,
        new_revision: i64,
        exists: bool,
    ) -> bool {
        let mut changed = false;
        for (k, v) in self.d["metadata"]["annotations"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if SKIP_COPY.contains(&k.as_str()) || ann.get(k) == Some(v) {
                continue;
            }
            ann.insert(k.clone(), v.clone());
            changed = true;
        }
        let old = ann
            .get(REVISION)
            .and_then(Value::as_str)
            .map(str::to_string);
        let old_int = old
            .as_deref()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
        if old_int < new_revision {
            ann.insert(REVISION.into(), json!(new_revision.to_string()));
            changed = true;
            if let Some(old) = old {
                let hist = ann
                    .get(REVISION_HISTORY)
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let mut h = if hist.is_empty() {
                    old
                } else {
                    format!("{hist},{old}")
                };
                while h.len() > MAX_REV_HISTORY_CHARS {
                    match h.find(',') {
                        Some(i) => h = h[i + 1..].to_string(),
                        None => break,
                    }
                }
                ann.insert(REVISION_HISTORY.into(), json!(h));
            }
        }
        if !exists && self.replicas_annotations(ann) {
            changed = true;
        }
        changed
    }

    /// `SetDeploymentRevision` written to the Deployment's annotations.
    async fn set_deployment_revision(&mut self, rev: &str) -> Result<(), Error> {
        if self.d["metadata"]["annotations"][REVISION].as_str() == Some(rev) {
            return Ok(());
        }
        let body = json!({"metadata": {"annotations": {REVISION: rev}}});
        self.d = super::update::<Deployment>(self.ctx, &self.d, &body, false, "Deployment").await?;
        let d = self.d.clone();
        self.note_update(&d);
        Ok(())
    }

    /// `getAllReplicaSetsAndSyncRevision` / `getNewReplicaSet`.
    async fn new_rs(&mut self, create_if_missing: bool) -> Result<Option<usize>, Error> {
        let existing = self.find_new();
        let olds = self.olds(existing);
        let max_old = olds
            .iter()
            .map(|i| revision(&self.rss[*i]))
            .max()
            .unwrap_or(0);
        let new_revision = max_old + 1;
        if let Some(i) = existing {
            let rs = self.rss[i].clone();
            let mut ann = rs["metadata"]["annotations"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let ann_changed = self.new_rs_annotations(&mut ann, new_revision, true);
            let mrs = &self.d["spec"]["minReadySeconds"];
            let mrs_changed = int(&rs["spec"]["minReadySeconds"]) != int(mrs);
            if ann_changed || mrs_changed {
                let mut body = json!({"metadata": {"annotations": ann}});
                if mrs_changed {
                    body["spec"] = json!({"minReadySeconds": mrs});
                }
                self.rss[i] =
                    patch::<ReplicaSet>(self.ctx, &rs, &body, false, "ReplicaSet").await?;
                let rs = self.rss[i].clone();
                self.note_update(&rs);
            }
            let rev = self.rss[i]["metadata"]["annotations"][REVISION]
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.set_deployment_revision(&rev).await?;
            if has_progress_deadline(&self.d) && get_cond(&self.status, "Progressing").is_none() {
                let msg = format!("Found new replica set {:?}", meta(&self.rss[i], "name"));
                let c = self.new_cond("Progressing", "True", "FoundNewReplicaSet", msg);
                set_cond(&mut self.status, c);
            }
            return Ok(Some(i));
        }
        if !create_if_missing {
            return Ok(None);
        }
        let ns = meta(&self.d, "namespace").to_string();
        let mut template = self.d["spec"]["template"].clone();
        let hash = compute_hash(&template, self.d["status"]["collisionCount"].as_i64());
        template["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] = json!(hash);
        let mut selector = self.d["spec"]["selector"].clone();
        selector["matchLabels"][POD_TEMPLATE_HASH_LABEL] = json!(hash);
        let name = format!("{}-{hash}", self.name());
        // NewRSNewReplicas with the new ReplicaSet at 0.
        let count = self.new_rs_new_replicas(&olds, 0);
        let mut ann = Map::new();
        self.new_rs_annotations(&mut ann, new_revision, false);
        let mut spec = json!({
            "replicas": count,
            "selector": selector,
            "template": template,
        });
        if let Some(m) = self.d["spec"]["minReadySeconds"].as_i64() {
            spec["minReadySeconds"] = json!(m);
        }
        let rs = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": template["metadata"]["labels"],
                "annotations": ann,
                "ownerReferences": [controller_ref(&self.d, "apps/v1", "Deployment")],
            },
            "spec": spec,
        });
        let created = create::<ReplicaSet>(self.ctx, &ns, rs, "ReplicaSet").await?;
        self.summary.created.push(format!("ReplicaSet {ns}/{name}"));
        self.summary.writes += 1;
        if count > 0 {
            let msg = format!("Scaled up replica set {name} from 0 to {count}");
            let d = self.d.clone();
            record_event(
                self.ctx,
                &d,
                COMPONENT,
                "ScalingReplicaSet",
                &msg,
                self.summary,
            )
            .await;
        }
        self.set_deployment_revision(&new_revision.to_string())
            .await?;
        if has_progress_deadline(&self.d) {
            let msg = format!("Created new replica set {name:?}");
            let c = self.new_cond("Progressing", "True", "NewReplicaSetCreated", msg);
            set_cond(&mut self.status, c);
        }
        self.rss.push(created);
        Ok(Some(self.rss.len() - 1))
    }

    /// `NewRSNewReplicas` for a new ReplicaSet of `new_replicas` beside `olds`.
    fn new_rs_new_replicas(&self, olds: &[usize], new_replicas: i64) -> i64 {
        let desired = replicas(&self.d);
        if !is_rolling(&self.d) {
            return desired;
        }
        let current = self.sum(olds, replicas) + new_replicas;
        let max_total = desired + max_surge(&self.d);
        if current >= max_total {
            return new_replicas;
        }
        new_replicas + (max_total - current).min(desired - new_replicas)
    }

    /// `scaleReplicaSetAndRecordEvent` / `scaleReplicaSet`; true when the size changed.
    async fn scale(&mut self, i: usize, new_scale: i64) -> Result<bool, Error> {
        let rs = self.rss[i].clone();
        let old = replicas(&rs);
        if old == new_scale {
            return Ok(false);
        }
        let mut ann = rs["metadata"]["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        self.replicas_annotations(&mut ann);
        let body = json!({"metadata": {"annotations": ann}, "spec": {"replicas": new_scale}});
        self.rss[i] = patch::<ReplicaSet>(self.ctx, &rs, &body, false, "ReplicaSet").await?;
        let (ns, name) = (meta(&rs, "namespace"), meta(&rs, "name"));
        self.summary
            .scaled
            .push(format!("{ns}/{name} {old}→{new_scale}"));
        self.summary.writes += 1;
        let op = if new_scale > old { "up" } else { "down" };
        let msg = format!("Scaled {op} replica set {name} from {old} to {new_scale}");
        let d = self.d.clone();
        record_event(
            self.ctx,
            &d,
            COMPONENT,
            "ScalingReplicaSet",
            &msg,
            self.summary,
        )
        .await;
        Ok(true)
    }

    /// `sync`: the scale path (a scaling event or a paused Deployment).
    async fn sync(&mut self, paused: bool) -> Result<(), Error> {
        let new = self.new_rs(false).await?;
        let olds = self.olds(new);
        // FindActiveOrLatest.
        let mut by_newest = olds.clone();
        by_newest.sort_by_key(|i| std::cmp::Reverse(created(&self.rss[*i])));
        let mut all = by_newest.clone();
        all.extend(new);
        let active: Vec<usize> = all
            .iter()
            .copied()
            .filter(|i| replicas(&self.rss[*i]) > 0)
            .collect();
        let active_or_latest = match active.len() {
            0 => new.or(by_newest.first().copied()),
            1 => Some(active[0]),
            _ => None,
        };
        let desired = replicas(&self.d);
        if let Some(i) = active_or_latest {
            self.scale(i, desired).await?;
        } else if let Some(n) = new.filter(|n| {
            let rs = &self.rss[*n];
            rs["metadata"]["annotations"][DESIRED_REPLICAS].as_str() == Some(&desired.to_string())
                && replicas(rs) == desired
                && available(rs) == desired
        }) {
            let _ = n;
            let active_olds: Vec<usize> = olds
                .iter()
                .copied()
                .filter(|i| replicas(&self.rss[*i]) > 0)
                .collect();
            for i in active_olds {
                self.scale(i, 0).await?;
            }
        } else {
            // Proportional scaling is not modelled: the rollout path converges instead (a
            // paused Deployment only gets its status).
            return if is_rolling(&self.d) && !paused {
                self.rollout_rolling().await
            } else {
                let status = self.calculate_status(new);
                self.write_status(status).await
            };
        }
        if paused {
            self.cleanup(&olds).await?;
        }
        let status = self.calculate_status(new);
        self.write_status(status).await
    }

    /// `rolloutRolling`.
    async fn rollout_rolling(&mut self) -> Result<(), Error> {
        let new = self.new_rs(true).await?.unwrap_or_default();
        let olds = self.olds(Some(new));
        // reconcileNewReplicaSet
        let desired = replicas(&self.d);
        let new_replicas = replicas(&self.rss[new]);
        let scaled_up = if new_replicas == desired {
            false
        } else if new_replicas > desired {
            self.scale(new, desired).await?
        } else {
            let count = self.new_rs_new_replicas(&olds, new_replicas);
            self.scale(new, count).await?
        };
        if scaled_up {
            return self.sync_rollout_status(Some(new)).await;
        }
        if self.reconcile_old(&olds, new).await? {
            return self.sync_rollout_status(Some(new)).await;
        }
        if complete(&self.d, &self.d["status"]) {
            self.cleanup(&olds).await?;
        }
        self.sync_rollout_status(Some(new)).await
    }

    /// `reconcileOldReplicaSets`; true when an old ReplicaSet was scaled down.
    async fn reconcile_old(&mut self, olds: &[usize], new: usize) -> Result<bool, Error> {
        if self.sum(olds, replicas) == 0 {
            return Ok(false);
        }
        let mut all = olds.to_vec();
        all.push(new);
        let all_pods = self.sum(&all, replicas);
        let min_available = replicas(&self.d) - max_unavailable(&self.d);
        let new_unavailable = replicas(&self.rss[new]) - available(&self.rss[new]);
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        let mut sorted = olds.to_vec();
        sorted.sort_by_key(|i| created(&self.rss[*i]));
        // cleanupUnhealthyReplicas
        let mut cleaned = 0;
        for &i in &sorted {
            if cleaned >= max_scaled_down {
                break;
            }
            let (r, a) = (replicas(&self.rss[i]), available(&self.rss[i]));
            if r == 0 || r == a {
                continue;
            }
            let n = (max_scaled_down - cleaned).min(r - a);
            self.scale(i, r - n).await?;
            cleaned += n;
        }
        // scaleDownOldReplicaSetsForRollingUpdate
        let available_pods = self.sum(&all, available);
        let mut scaled = 0;
        if available_pods > min_available {
            let total = available_pods - min_available;
            for &i in &sorted {
                if scaled >= total {
                    break;
                }
                let r = replicas(&self.rss[i]);
                if r == 0 {
                    continue;
                }
                let n = r.min(total - scaled);
                self.scale(i, r - n).await?;
                scaled += n;
            }
        }
        Ok(cleaned + scaled > 0)
    }

    /// `rolloutRecreate`.
    async fn rollout_recreate(&mut self, pods: &[Value]) -> Result<(), Error> {
        let new = self.new_rs(false).await?;
        let olds = self.olds(new);
        let mut scaled_down = false;
        for &i in &olds {
            if replicas(&self.rss[i]) > 0 && self.scale(i, 0).await? {
                scaled_down = true;
            }
        }
        if scaled_down {
            return self.sync_rollout_status(new).await;
        }
        // oldPodsRunning
        let old_status: i64 = self.sum(&olds, |r| int(&r["status"]["replicas"]));
        let new_uid = new.map(|n| meta(&self.rss[n], "uid").to_string());
        let old_uids: Vec<&str> = olds.iter().map(|i| meta(&self.rss[*i], "uid")).collect();
        let running = old_status > 0
            || pods.iter().any(|p| {
                let owner = controller_uid(p);
                owner.is_some_and(|u| old_uids.contains(&u) && Some(u) != new_uid.as_deref())
                    && !matches!(p["status"]["phase"].as_str(), Some("Failed" | "Succeeded"))
            });
        if running {
            return self.sync_rollout_status(new).await;
        }
        let new = match new {
            Some(n) => n,
            None => self.new_rs(true).await?.unwrap_or_default(),
        };
        let olds = self.olds(Some(new));
        if self.scale(new, replicas(&self.d)).await? {
            return self.sync_rollout_status(Some(new)).await;
        }
        if complete(&self.d, &self.d["status"]) {
            self.cleanup(&olds).await?;
        }
        self.sync_rollout_status(Some(new)).await
    }

    /// `cleanupDeployment`: delete the oldest zero-replica ReplicaSets beyond
    /// `revisionHistoryLimit`.
    async fn cleanup(&mut self, olds: &[usize]) -> Result<(), Error> {
        let Some(limit) = self.d["spec"]["revisionHistoryLimit"].as_i64() else {
            return Ok(());
        };
        let mut cleanable: Vec<usize> = olds
            .iter()
            .copied()
            .filter(|i| self.rss[*i]["metadata"]["deletionTimestamp"].is_null())
            .collect();
        let diff = cleanable.len() as i64 - limit;
        if diff <= 0 {
            return Ok(());
        }
        cleanable.sort_by_key(|i| (revision(&self.rss[*i]), created(&self.rss[*i])));
        for &i in cleanable.iter().take(diff as usize) {
            let rs = &self.rss[i];
            if int(&rs["status"]["replicas"]) != 0
                || replicas(rs) != 0
                || int(&rs["metadata"]["generation"]) > int(&rs["status"]["observedGeneration"])
            {
                continue;
            }
            let rs = rs.clone();
            delete::<ReplicaSet>(self.ctx, &rs, "ReplicaSet").await?;
            self.summary.deleted.push(format!(
                "ReplicaSet {}/{}",
                meta(&rs, "namespace"),
                meta(&rs, "name")
            ));
            self.summary.writes += 1;
        }
        Ok(())
    }

    /// `calculateStatus`.
    fn calculate_status(&self, new: Option<usize>) -> Value {
        let all: Vec<usize> = (0..self.rss.len()).collect();
        let available_n = self.sum(&all, available);
        let total = self.sum(&all, replicas);
        let omit_zero = |n: i64| if n == 0 { Value::Null } else { json!(n) };
        let mut status = json!({
            "observedGeneration": self.d["metadata"]["generation"],
            "replicas": omit_zero(self.sum(&all, |r| int(&r["status"]["replicas"]))),
            "updatedReplicas": omit_zero(new.map(|n| int(&self.rss[n]["status"]["replicas"])).unwrap_or(0)),
            "readyReplicas": omit_zero(self.sum(&all, |r| int(&r["status"]["readyReplicas"]))),
            "availableReplicas": omit_zero(available_n),
            "unavailableReplicas": omit_zero((total - available_n).max(0)),
            "collisionCount": self.status["collisionCount"],
            "conditions": self.status["conditions"].as_array().cloned().unwrap_or_default(),
        });
        let c = if available_n >= replicas(&self.d) - max_unavailable(&self.d) {
            self.new_cond(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
            )
        } else {
            self.new_cond(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
            )
        };
        set_cond(&mut status, c);
        status
    }

    /// `syncRolloutStatus`.
    async fn sync_rollout_status(&mut self, new: Option<usize>) -> Result<(), Error> {
        let mut status = self.calculate_status(new);
        let deadline = has_progress_deadline(&self.d);
        if !deadline {
            remove_cond(&mut status, "Progressing");
        }
        let current = get_cond(&self.status, "Progressing").cloned();
        let is_complete = int(&status["replicas"]) == int(&status["updatedReplicas"])
            && current
                .as_ref()
                .is_some_and(|c| c["reason"] == "NewReplicaSetAvailable");
        let new_name = new.map(|n| meta(&self.rss[n], "name").to_string());
        let what = |verb: &str| match &new_name {
            Some(n) => format!("ReplicaSet {n:?} {verb}"),
            None => format!("Deployment {:?} {verb}", self.name()),
        };
        if deadline && !is_complete {
            if complete(&self.d, &status) {
                let c = self.new_cond(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    what("has successfully progressed."),
                );
                set_cond(&mut status, c);
            } else if progressing(&self.status, &status) {
                let mut c = self.new_cond(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    what("is progressing."),
                );
                if let Some(cur) = &current {
                    if cur["status"] == "True" {
                        c["lastTransitionTime"] = cur["lastTransitionTime"].clone();
                    }
                    remove_cond(&mut status, "Progressing");
                }
                set_cond(&mut status, c);
            } else if self.timed_out(&status) {
                let c = self.new_cond(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    what("has timed out progressing."),
                );
                set_cond(&mut status, c);
            }
        }
        self.write_status(status).await
    }

    /// `DeploymentTimedOut`.
    fn timed_out(&self, status: &Value) -> bool {
        let Some(c) = get_cond(status, "Progressing") else {
            return false;
        };
        match c["reason"].as_str() {
            Some("NewReplicaSetAvailable") => false,
            Some("ProgressDeadlineExceeded") => true,
            _ => {
                let from = ms(&c["lastUpdateTime"]);
                let secs = int(&self.d["spec"]["progressDeadlineSeconds"]).max(0) as u64;
                from + secs * 1000 < self.ctx.clock.now().as_millis()
            }
        }
    }

    /// Writes the status when it differs from the live one.
    async fn write_status(&mut self, status: Value) -> Result<(), Error> {
        let live = &self.d["status"];
        let same = status
            .as_object()
            .into_iter()
            .flatten()
            .all(|(k, v)| live.get(k).unwrap_or(&Value::Null) == v);
        if same {
            return Ok(());
        }
        self.d = super::update::<Deployment>(
            self.ctx,
            &self.d,
            &json!({"status": status}),
            true,
            "Deployment",
        )
        .await?;
        let d = self.d.clone();
        self.note_update(&d);
        Ok(())
    }
}

/// `DeploymentComplete`.
fn complete(d: &Value, status: &Value) -> bool {
    let want = replicas(d);
    int(&status["updatedReplicas"]) == want
        && int(&status["replicas"]) == want
        && int(&status["availableReplicas"]) == want
        && int(&status["observedGeneration"]) >= int(&d["metadata"]["generation"])
}

/// `DeploymentProgressing`.
fn progressing(old: &Value, new: &Value) -> bool {
    let old_olds = int(&old["replicas"]) - int(&old["updatedReplicas"]);
    let new_olds = int(&new["replicas"]) - int(&new["updatedReplicas"]);
    int(&new["updatedReplicas"]) > int(&old["updatedReplicas"])
        || new_olds < old_olds
        || int(&new["readyReplicas"]) > int(&old["readyReplicas"])
        || int(&new["availableReplicas"]) > int(&old["availableReplicas"])
}
