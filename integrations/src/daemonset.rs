//! kube-controller-manager's DaemonSet controller: one pod per eligible node, rolling updates with
//! `maxUnavailable`, and the DaemonSet's status. One deterministic pass on the simulation clock.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/controller/daemon/daemon_controller.go` (`manage`, `podsShouldBeOnNode`,
//!   `NodeShouldRunDaemonPod`, `predicates`, `getUnscheduledPodsWithoutNode`, `syncNodes`,
//!   `updateDaemonSetStatus`);
//! - `pkg/controller/daemon/update.go` (`rollingUpdate` with `maxSurge` 0,
//!   `findUpdatedPodsOnNode`, `updatedDesiredNodeCounts`);
//! - `pkg/controller/daemon/util/daemonset_util.go` (`CreatePodTemplate`: labels
//!   `controller-revision-hash` and `pod-template-generation`; `AddOrUpdateDaemonPodTolerations`;
//!   `ReplaceDaemonSetPodNodeNameNodeAffinity`: the required node affinity becomes the single
//!   term `matchFields: metadata.name In [<node>]`, which the scheduler then honours;
//!   `GetTargetNodeName`, `IsPodUpdated`);
//! - `pkg/controller/controller_utils.go` (`RealPodControl`: generateName `<ds>-`, events
//!   `SuccessfulCreate` "Created pod: <name>" and `SuccessfulDelete` "Deleted pod: <name>" on the
//!   DaemonSet).
//!
//! Not modelled:
//! - ControllerRevisions and `cleanupHistory`. The `controller-revision-hash` is
//!   [`workloads::compute_hash`] of the template and `status.collisionCount` (fnv32a over the
//!   canonical JSON, `rand.SafeEncodeString`), the same documented deviation as
//!   `pod-template-hash`: deterministic and of upstream's shape, not upstream's value;
//! - `pod-template-generation` is set only when the DaemonSet carries the
//!   `deprecated.daemonset.template.generation` annotation (the emulated API server does not add it);
//! - adoption and release of orphan pods (only pods with the DaemonSet's controller reference count);
//! - `maxSurge` > 0 (treated as 0), the `OnDelete` strategy's explicit handling (no rolling),
//!   failed-pod backoff, `burstReplicas`, expectations (a pass that created or deleted pods does not
//!   start a rolling step, as upstream's unsatisfied expectations);
//! - pods bound to a Node that no longer exists: upstream the pod GC controller force-deletes them
//!   (after 40 s quarantine); here this controller force-deletes its own such pods (grace 0, no event)
//!   while unbound ones get upstream's `SuccessfulDelete`;
//! - event aggregation (each event is a new object, `count` 1).

use crate::node_match::node_affinity_matches;
use crate::taint_eviction::{kerr, tolerates_taint};
use crate::workloads::{self, compute_hash, controller_ref, controller_uid, int, meta, ms};
use crate::{Context, Error};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The label with the template's hash.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";
/// The label with the template generation.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// The DaemonSet annotation with the template generation.
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";
/// The events' component.
pub const COMPONENT: &str = "daemonset-controller";

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Pods created (`ns/name`).
    pub created: Vec<String>,
    /// Pods deleted (`ns/name`).
    pub deleted: Vec<String>,
    /// DaemonSets whose status was written (`ns/name`).
    pub updated: Vec<String>,
    /// Every write to the API server (events included).
    pub writes: usize,
}

/// `AddOrUpdateDaemonPodTolerations` on a pod spec.
pub fn add_daemon_tolerations(spec: &mut Value) {
    let mut add = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec["hostNetwork"] == json!(true) {
        add.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    if !spec["tolerations"].is_array() {
        spec["tolerations"] = json!([]);
    }
    let Some(tols) = spec["tolerations"].as_array_mut() else {
        return;
    };
    for (key, effect) in add {
        let t = json!({"key": key, "operator": "Exists", "effect": effect});
        // `AddOrUpdateTolerationInPodSpec`: `MatchToleration` compares key, operator, value and
        // effect (not tolerationSeconds); a match is replaced.
        let same = |o: &Value| {
            o["key"] == t["key"]
                && o["operator"] == t["operator"]
                && o["value"].as_str().unwrap_or("").is_empty()
                && o["effect"] == t["effect"]
        };
        match tols.iter_mut().find(|o| same(o)) {
            Some(o) => *o = t,
            None => tols.push(t),
        }
    }
}

/// The template's pod spec as the controller creates it (daemon tolerations added).
fn daemon_spec(ds: &Value) -> Value {
    let mut spec = ds["spec"]["template"]["spec"].clone();
    add_daemon_tolerations(&mut spec);
    spec
}

/// `NodeShouldRunDaemonPod`: (shouldRun, shouldContinueRunning).
pub fn node_should_run(spec: &Value, node: &Value) -> (bool, bool) {
    let want = spec["nodeName"].as_str().unwrap_or("");
    if !want.is_empty() && want != meta(node, "name") {
        return (false, false);
    }
    if !node_affinity_matches(spec, node) {
        return (false, false);
    }
    let tols: Vec<Value> = spec["tolerations"].as_array().cloned().unwrap_or_default();
    let untolerated = |effects: &[&str]| {
        node["spec"]["taints"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|taint| {
                effects.contains(&taint["effect"].as_str().unwrap_or(""))
                    && !tols.iter().any(|t| tolerates_taint(t, taint))
            })
    };
    if untolerated(&["NoSchedule", "NoExecute"]) {
        return (false, !untolerated(&["NoExecute"]));
    }
    (true, true)
}

/// `GetTargetNodeName`: `spec.nodeName`, else the `metadata.name` of the affinity's matchFields.
fn target_node(pod: &Value) -> Option<String> {
    if let Some(n) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
        return Some(n.to_string());
    }
    let terms = pod["spec"]["affinity"]["nodeAffinity"]
        ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        .as_array()?;
    terms.iter().find_map(|t| {
        t["matchFields"].as_array()?.iter().find_map(|r| {
            let vals = r["values"].as_array()?;
            (r["key"] == "metadata.name" && r["operator"] == "In" && vals.len() == 1)
                .then(|| vals[0].as_str().map(str::to_string))
                .flatten()
        })
    })
}

fn ready_since(pod: &Value) -> Option<u64> {
    pod["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready" && c["status"] == "True")
        .map(|c| ms(&c["lastTransitionTime"]))
}

/// `IsPodAvailable`.
fn available(pod: &Value, min_ready: i64, now: u64) -> bool {
    ready_since(pod).is_some_and(|t| min_ready <= 0 || t + (min_ready as u64) * 1000 <= now)
}

fn deleting(pod: &Value) -> bool {
    !pod["metadata"]["deletionTimestamp"].is_null()
}

fn template_generation(ds: &Value) -> Option<String> {
    ds["metadata"]["annotations"][TEMPLATE_GENERATION_ANNOTATION]
        .as_str()
        .map(str::to_string)
}

/// `IsPodUpdated`.
fn updated(pod: &Value, hash: &str, generation: Option<&str>) -> bool {
    let labels = &pod["metadata"]["labels"];
    labels[REVISION_HASH_LABEL] == hash
        || generation.is_some_and(|g| labels[TEMPLATE_GENERATION_LABEL] == g)
}

/// The DaemonSet's hash (`controller-revision-hash`).
pub fn revision_hash(ds: &Value) -> String {
    compute_hash(
        &ds["spec"]["template"],
        ds["status"]["collisionCount"].as_i64(),
    )
}

/// Oldest first (creation time, then name).
fn by_age(pods: &mut [Value]) {
    pods.sort_by(|a, b| {
        (ms(&a["metadata"]["creationTimestamp"]), meta(a, "name"))
            .cmp(&(ms(&b["metadata"]["creationTimestamp"]), meta(b, "name")))
    });
}

async fn list_nodes(ctx: &Context) -> Result<Vec<Value>, Error> {
    let mut nodes: Vec<Value> = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(kerr("list Nodes".into()))?
        .iter()
        .map(|n| Value::clone(n))
        .collect();
    nodes.sort_by(|a, b| meta(a, "name").cmp(meta(b, "name")));
    Ok(nodes)
}

/// The DaemonSet's pods by target node (terminal pods being deleted are left out).
fn node_to_pods(ds: &Value, pods: &[std::sync::Arc<Value>]) -> BTreeMap<String, Vec<Value>> {
    let uid = meta(ds, "uid");
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in pods {
        if meta(p, "namespace") != meta(ds, "namespace") || controller_uid(p) != Some(uid) {
            continue;
        }
        let terminal = matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"));
        if terminal && deleting(p) {
            continue;
        }
        if let Some(n) = target_node(p) {
            out.entry(n).or_default().push(Value::clone(p));
        }
    }
    for v in out.values_mut() {
        by_age(v);
    }
    out
}

/// One pass over every DaemonSet.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let ctx = &ctx
        .as_account(&crate::Account::controller("daemon-set-controller"))
        .await?;
    let mut s = Summary::default();
    let dss = workloads::list::<DaemonSet>(ctx, "DaemonSet").await?;
    if dss.is_empty() {
        return Ok(s);
    }
    let nodes = list_nodes(ctx).await?;
    for ds in &dss {
        if deleting(ds) {
            continue;
        }
        sync(ctx, ds, &nodes, &mut s).await?;
    }
    Ok(s)
}

async fn sync(ctx: &Context, ds: &Value, nodes: &[Value], s: &mut Summary) -> Result<(), Error> {
    let hash = revision_hash(ds);
    let generation = template_generation(ds);
    let spec = daemon_spec(ds);
    let pods = workloads::list::<Pod>(ctx, "Pod").await?;
    let by_node = node_to_pods(ds, &pods);
    let now = ctx.clock.now().as_millis();

    // manage
    let mut to_create: Vec<String> = Vec::new();
    let mut to_delete: Vec<Value> = Vec::new();
    let mut to_force_delete: Vec<Value> = Vec::new();
    for node in nodes {
        let name = meta(node, "name");
        let (should_run, should_continue) = node_should_run(&spec, node);
        let daemon_pods = by_node.get(name).cloned().unwrap_or_default();
        if should_continue {
            let mut running = Vec::new();
            for p in daemon_pods {
                if deleting(&p) {
                    continue;
                }
                if p["status"]["phase"] == "Failed" {
                    to_delete.push(p);
                    continue;
                }
                running.push(p);
            }
            if should_run && running.is_empty() {
                to_create.push(name.to_string());
            }
            // More than one: keep the oldest.
            if running.len() > 1 {
                to_delete.extend(running.into_iter().skip(1));
            }
        } else {
            to_delete.extend(daemon_pods.into_iter().filter(|p| !deleting(p)));
        }
    }
    for (n, pods) in &by_node {
        if nodes.iter().any(|x| meta(x, "name") == n) {
            continue;
        }
        for p in pods.iter().filter(|p| !deleting(p)) {
            if p["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
                to_delete.push(p.clone());
            } else {
                to_force_delete.push(p.clone());
            }
        }
    }
    let wrote = !(to_create.is_empty() && to_delete.is_empty() && to_force_delete.is_empty());
    sync_nodes(
        ctx,
        ds,
        &spec,
        &hash,
        generation.as_deref(),
        &to_create,
        &to_delete,
        s,
    )
    .await?;
    for p in &to_force_delete {
        let (ns, name) = (meta(p, "namespace"), meta(p, "name"));
        let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), ns);
        match api
            .delete(name, &DeleteParams::default().grace_period(0))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(kerr(format!("delete Pod {ns}/{name}"))(e)),
        }
        s.writes += 1;
        s.deleted.push(format!("{ns}/{name}"));
    }

    // rollingUpdate (maxSurge 0), once the manage step has nothing to do.
    if !wrote && ds["spec"]["updateStrategy"]["type"] == "RollingUpdate" {
        let old = rolling_update(
            ds,
            &spec,
            nodes,
            &by_node,
            &hash,
            generation.as_deref(),
            now,
        );
        sync_nodes(ctx, ds, &spec, &hash, generation.as_deref(), &[], &old, s).await?;
    }

    // status, from the pods as they are now
    let pods = workloads::list::<Pod>(ctx, "Pod").await?;
    let by_node = node_to_pods(ds, &pods);
    update_status(
        ctx,
        ds,
        &spec,
        nodes,
        &by_node,
        &hash,
        generation.as_deref(),
        now,
        s,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
fn rolling_update(
    ds: &Value,
    spec: &Value,
    nodes: &[Value],
    by_node: &BTreeMap<String, Vec<Value>>,
    hash: &str,
    generation: Option<&str>,
    now: u64,
) -> Vec<Value> {
    let min_ready = int(&ds["spec"]["minReadySeconds"]);
    let mut node_pods = by_node.clone();
    let mut desired = 0i64;
    for node in nodes {
        if node_should_run(spec, node).0 {
            desired += 1;
            node_pods.entry(meta(node, "name").to_string()).or_default();
        }
    }
    let max_unavailable = {
        let mu = &ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"];
        let v = match mu.as_str() {
            Some(p) => {
                let pct = p.trim_end_matches('%').parse::<i64>().unwrap_or(0);
                (pct * desired + 99) / 100
            }
            None => mu.as_i64().unwrap_or(1),
        };
        if v == 0 {
            1
        } else {
            v
        }
    };
    let mut unavailable = 0i64;
    let mut allowed: Vec<Value> = Vec::new();
    let mut candidates: Vec<Value> = Vec::new();
    for pods in node_pods.values() {
        let (mut new, mut old) = (Vec::new(), Vec::new());
        for p in pods.iter().filter(|p| !deleting(p)) {
            if updated(p, hash, generation) {
                new.push(p);
            } else {
                old.push(p);
            }
        }
        if new.len() > 1 || old.len() > 1 {
            unavailable += 1;
            continue;
        }
        match (new.first(), old.first()) {
            (None, None) | (Some(_), Some(_)) => unavailable += 1,
            (Some(n), None) => {
                if !available(n, min_ready, now) {
                    unavailable += 1;
                }
            }
            (None, Some(o)) => {
                if !available(o, min_ready, now) {
                    allowed.push((*o).clone());
                } else if unavailable < max_unavailable {
                    candidates.push((*o).clone());
                }
            }
        }
    }
    let remaining = (max_unavailable - unavailable).clamp(0, candidates.len() as i64) as usize;
    allowed.extend(candidates.into_iter().take(remaining));
    allowed
}

/// `syncNodes`: create a pod per node, delete the given pods; events on the DaemonSet.
#[allow(clippy::too_many_arguments)]
async fn sync_nodes(
    ctx: &Context,
    ds: &Value,
    spec: &Value,
    hash: &str,
    generation: Option<&str>,
    create: &[String],
    delete: &[Value],
    s: &mut Summary,
) -> Result<(), Error> {
    let ns = meta(ds, "namespace");
    let template = &ds["spec"]["template"];
    for node in create {
        let mut labels = template["metadata"]["labels"].clone();
        if !labels.is_object() {
            labels = json!({});
        }
        if let Some(g) = generation {
            labels[TEMPLATE_GENERATION_LABEL] = json!(g);
        }
        labels[REVISION_HASH_LABEL] = json!(hash);
        let mut pod_spec = spec.clone();
        // `ReplaceDaemonSetPodNodeNameNodeAffinity`
        let term = json!({"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [node]}
        ]});
        if !pod_spec["affinity"].is_object() {
            pod_spec["affinity"] = json!({});
        }
        if !pod_spec["affinity"]["nodeAffinity"].is_object() {
            pod_spec["affinity"]["nodeAffinity"] = json!({});
        }
        pod_spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] =
            json!({"nodeSelectorTerms": [term]});
        let mut metadata = json!({
            "generateName": format!("{}-", meta(ds, "name")),
            "namespace": ns,
            "labels": labels,
            "ownerReferences": [controller_ref(ds, "apps/v1", "DaemonSet")],
        });
        for f in ["annotations", "finalizers"] {
            if !template["metadata"][f].is_null() {
                metadata[f] = template["metadata"][f].clone();
            }
        }
        let pod =
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec});
        let created = workloads::create::<Pod>(ctx, ns, pod, "Pod").await?;
        s.writes += 1;
        let name = meta(&created, "name").to_string();
        s.created.push(format!("{ns}/{name}"));
        event(
            ctx,
            ds,
            "SuccessfulCreate",
            &format!("Created pod: {name}"),
            s,
        )
        .await;
    }
    for p in delete {
        workloads::delete::<Pod>(ctx, p, "Pod").await?;
        s.writes += 1;
        let name = meta(p, "name");
        s.deleted.push(format!("{ns}/{name}"));
        event(
            ctx,
            ds,
            "SuccessfulDelete",
            &format!("Deleted pod: {name}"),
            s,
        )
        .await;
    }
    Ok(())
}

async fn event(ctx: &Context, ds: &Value, reason: &str, message: &str, s: &mut Summary) {
    let mut ws = workloads::Summary::default();
    workloads::record_event(ctx, ds, COMPONENT, reason, message, &mut ws).await;
    s.writes += ws.writes;
}

#[allow(clippy::too_many_arguments)]
async fn update_status(
    ctx: &Context,
    ds: &Value,
    spec: &Value,
    nodes: &[Value],
    by_node: &BTreeMap<String, Vec<Value>>,
    hash: &str,
    generation: Option<&str>,
    now: u64,
    s: &mut Summary,
) -> Result<(), Error> {
    let min_ready = int(&ds["spec"]["minReadySeconds"]);
    let (mut desired, mut current, mut mis, mut ready, mut avail, mut upd) = (0, 0, 0, 0, 0, 0);
    for node in nodes {
        let (should_run, _) = node_should_run(spec, node);
        let pods = by_node.get(meta(node, "name")).filter(|p| !p.is_empty());
        if should_run {
            desired += 1;
            let Some(pods) = pods else { continue };
            current += 1;
            let pod = &pods[0];
            if ready_since(pod).is_some() {
                ready += 1;
                if available(pod, min_ready, now) {
                    avail += 1;
                }
            }
            if updated(pod, hash, generation) {
                upd += 1;
            }
        } else if pods.is_some() {
            mis += 1;
        }
    }
    let want = json!({
        "currentNumberScheduled": current,
        "numberMisscheduled": mis,
        "desiredNumberScheduled": desired,
        "numberReady": ready,
        "observedGeneration": int(&ds["metadata"]["generation"]),
        "updatedNumberScheduled": upd,
        "numberAvailable": avail,
        "numberUnavailable": desired - avail,
    });
    let have = &ds["status"];
    let same = want
        .as_object()
        .is_some_and(|w| w.iter().all(|(k, v)| int(&have[k]) == int(v)));
    if same {
        return Ok(());
    }
    workloads::update::<DaemonSet>(ctx, ds, &json!({ "status": want }), true, "DaemonSet").await?;
    s.writes += 1;
    s.updated
        .push(format!("{}/{}", meta(ds, "namespace"), meta(ds, "name")));
    Ok(())
}
