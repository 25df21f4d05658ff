//! kube-controller-manager's pod garbage collector: pods bound to a Node that no longer exists,
//! terminated pods over the threshold, terminating pods that were never scheduled, and
//! terminating pods on out-of-service Nodes are force-deleted.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4 `pkg/controller/podgc/gc_controller.go`
//! (`gc` every `gcCheckPeriod` = 20 s: `gcTerminated`, `gcTerminating`, `gcOrphaned`,
//! `gcUnscheduledTerminating`; `markFailedAndDeletePodWithCondition`; `quarantineTime` = 40 s;
//! `discoverDeletedNodes`, `checkIfNodeExists`) and `cmd/kube-controller-manager` defaults
//! (`--terminated-pod-gc-threshold` 12500).
//!
//! - Orphans: a Node name seen on a pod but missing from the Node cache is quarantined for 40 s;
//!   a later run that still cannot find it (a fresh read: the shared cache sees every committed
//!   write) treats it as deleted. Each of its pods that is not yet terminal gets, through a
//!   server-side apply of its status with field manager `PodGC`, phase `Failed` and the condition
//!   `DisruptionTarget` True, reason `DeletionByPodGC`, message "PodGC: node no longer exists";
//!   then it is deleted with `gracePeriodSeconds: 0`.
//! - Terminated pods (phase neither Pending, Running nor Unknown): beyond the threshold, the
//!   oldest (by creation time) are force-deleted.
//! - Terminating pods without a node, and terminating pods on a Node that is not Ready and carries
//!   the `node.kubernetes.io/out-of-service` taint: phase `Failed` (no condition), then
//!   force-deleted.
//!
//! The runs are due every [`PodGcConfig::period`] of simulated time from the first pass (the
//! `wait.UntilWithContext` loop); the quarantine queue is this controller's memory.
//!
//! Not modelled: the gc metrics; evicted pods sorting first among terminated ones (the
//! `byEvictionAndCreationTimestamp` order is used without the eviction key); no events (upstream
//! emits none either).

use crate::workloads::{meta, ms};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The out-of-service taint (`node.kubernetes.io/out-of-service`).
pub const OUT_OF_SERVICE_TAINT: &str = "node.kubernetes.io/out-of-service";
/// The field manager of the status apply.
pub const FIELD_MANAGER: &str = "PodGC";
/// The DisruptionTarget condition's reason for orphans.
pub const REASON_DELETION_BY_POD_GC: &str = "DeletionByPodGC";
/// Its message.
pub const MESSAGE_NODE_GONE: &str = "PodGC: node no longer exists";

/// The garbage collector's settings (kube-controller-manager's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodGcConfig {
    /// `gcCheckPeriod`: 20 s between runs.
    pub period: Duration,
    /// `quarantineTime`: 40 s before a missing Node counts as deleted.
    pub quarantine: Duration,
    /// `--terminated-pod-gc-threshold`: 12500 (0 disables the terminated-pod pass).
    pub terminated_threshold: usize,
}

impl Default for PodGcConfig {
    fn default() -> PodGcConfig {
        PodGcConfig {
            period: Duration::from_secs(20),
            quarantine: Duration::from_secs(40),
            terminated_threshold: 12_500,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Whether a run was due in this pass.
    pub ran: bool,
    /// Orphaned pods force-deleted (`ns/name`).
    pub orphaned: Vec<String>,
    /// Terminated pods over the threshold force-deleted.
    pub terminated: Vec<String>,
    /// Terminating pods (unscheduled, or on an out-of-service Node) force-deleted.
    pub terminating: Vec<String>,
    /// Every write to the API server.
    pub writes: usize,
}

/// The controller's memory: when it last ran and its quarantine queue.
#[derive(Debug, Default)]
pub struct PodGcMemory {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last_run: Option<u64>,
    /// Node name → when its quarantine ends (ms).
    quarantine: BTreeMap<String, u64>,
}

/// One pass with the default settings.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    reconcile_with(ctx, &PodGcConfig::default()).await
}

fn kerr(what: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Pod {
        name: what,
        source: Box::new(source),
    }
}

/// One pass: a gc run if one is due.
pub async fn reconcile_with(ctx: &Context, cfg: &PodGcConfig) -> Result<Summary, Error> {
    let ctx = &ctx
        .as_account(&crate::Account::controller("pod-garbage-collector"))
        .await?;
    let now = ctx.clock.now().as_millis();
    let memory = ctx.memory.get::<PodGcMemory>();
    {
        let mut st = memory
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = st.last_run {
            let next = t + cfg.period.as_millis() as u64;
            if now < next {
                ctx.requeue_at(next);
                return Ok(Summary::default());
            }
        }
        st.last_run = Some(now);
        ctx.requeue_at(now + cfg.period.as_millis() as u64);
    }
    let mut s = Summary {
        ran: true,
        ..Summary::default()
    };
    let pods = ctx.cache.list::<Pod>().await.map_err(kerr("*".into()))?;
    let nodes = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?;
    if cfg.terminated_threshold > 0 {
        gc_terminated(ctx, &pods, cfg.terminated_threshold, &mut s).await?;
    }
    gc_terminating(ctx, &pods, &nodes, &mut s).await?;
    gc_orphaned(ctx, &pods, &nodes, &memory, cfg, now, &mut s).await?;
    gc_unscheduled_terminating(ctx, &pods, &mut s).await?;
    Ok(s)
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or_default()
}

fn key(pod: &Value) -> String {
    format!("{}/{}", meta(pod, "namespace"), meta(pod, "name"))
}

fn terminating(pod: &Value) -> bool {
    !pod["metadata"]["deletionTimestamp"].is_null()
}

/// `isPodTerminated`.
fn terminated(pod: &Value) -> bool {
    !matches!(phase(pod), "Pending" | "Running" | "Unknown")
}

async fn gc_terminated(
    ctx: &Context,
    pods: &[Arc<Value>],
    threshold: usize,
    s: &mut Summary,
) -> Result<(), Error> {
    let mut done: Vec<&Arc<Value>> = pods.iter().filter(|p| terminated(p)).collect();
    if done.len() <= threshold {
        return Ok(());
    }
    done.sort_by(|a, b| {
        (ms(&a["metadata"]["creationTimestamp"]), key(a))
            .cmp(&(ms(&b["metadata"]["creationTimestamp"]), key(b)))
    });
    let n = done.len() - threshold;
    for pod in done.into_iter().take(n) {
        if mark_failed_and_delete(ctx, pod, None, s).await? {
            s.terminated.push(key(pod));
        }
    }
    Ok(())
}

fn node_ready(node: &Value) -> bool {
    node["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn out_of_service(node: &Value) -> bool {
    node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["key"] == OUT_OF_SERVICE_TAINT)
}

async fn gc_terminating(
    ctx: &Context,
    pods: &[Arc<Value>],
    nodes: &[Arc<Value>],
    s: &mut Summary,
) -> Result<(), Error> {
    let out: BTreeSet<&str> = nodes
        .iter()
        .filter(|n| !node_ready(n) && out_of_service(n))
        .map(|n| meta(n, "name"))
        .collect();
    if out.is_empty() {
        return Ok(());
    }
    for pod in pods {
        let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
        if terminating(pod)
            && out.contains(node)
            && mark_failed_and_delete(ctx, pod, None, s).await?
        {
            s.terminating.push(key(pod));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)] // the pass's inputs, each used once
async fn gc_orphaned(
    ctx: &Context,
    pods: &[Arc<Value>],
    nodes: &[Arc<Value>],
    memory: &PodGcMemory,
    cfg: &PodGcConfig,
    now: u64,
    s: &mut Summary,
) -> Result<(), Error> {
    let existing: BTreeSet<&str> = nodes.iter().map(|n| meta(n, "name")).collect();
    let deleted: BTreeSet<String> = {
        let mut st = memory
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for pod in pods {
            let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
            if !node.is_empty() && !existing.contains(node) {
                st.quarantine
                    .entry(node.to_string())
                    .or_insert(now + cfg.quarantine.as_millis() as u64);
            }
        }
        // discoverDeletedNodes: every node whose quarantine is over leaves the queue.
        let due: Vec<String> = st
            .quarantine
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for n in &due {
            st.quarantine.remove(n);
        }
        due.into_iter()
            .filter(|n| !existing.contains(n.as_str()))
            .collect()
    };
    if deleted.is_empty() {
        return Ok(());
    }
    let t = ctx.clock.now().to_rfc3339_secs();
    let condition = json!({
        "type": "DisruptionTarget",
        "status": "True",
        "reason": REASON_DELETION_BY_POD_GC,
        "message": MESSAGE_NODE_GONE,
        "lastTransitionTime": t,
    });
    for pod in pods {
        let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
        if deleted.contains(node) && mark_failed_and_delete(ctx, pod, Some(&condition), s).await? {
            s.orphaned.push(key(pod));
        }
    }
    Ok(())
}

async fn gc_unscheduled_terminating(
    ctx: &Context,
    pods: &[Arc<Value>],
    s: &mut Summary,
) -> Result<(), Error> {
    for pod in pods {
        let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
        if terminating(pod) && node.is_empty() && mark_failed_and_delete(ctx, pod, None, s).await? {
            s.terminating.push(key(pod));
        }
    }
    Ok(())
}

/// `markFailedAndDeletePodWithCondition`: a pod not yet terminal is moved to `Failed` (with the
/// condition, if any) by a forced server-side apply of its status, then deleted with grace 0.
/// False when the pod was already gone.
async fn mark_failed_and_delete(
    ctx: &Context,
    pod: &Value,
    condition: Option<&Value>,
    s: &mut Summary,
) -> Result<bool, Error> {
    let (ns, name) = (meta(pod, "namespace"), meta(pod, "name"));
    let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), ns);
    if !matches!(phase(pod), "Succeeded" | "Failed") {
        let mut status = json!({"phase": "Failed"});
        if let Some(c) = condition {
            status["conditions"] = json!([c]);
        }
        let body = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns}, "status": status});
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        match api.patch_status(name, &pp, &Patch::Apply(&body)).await {
            Ok(_) => s.writes += 1,
            Err(kube::Error::Api(e)) if e.code == 404 => return Ok(false),
            Err(e) => return Err(kerr(format!("{ns}/{name}"))(e)),
        }
    }
    match api
        .delete(name, &DeleteParams::default().grace_period(0))
        .await
    {
        Ok(_) => {
            s.writes += 1;
            Ok(true)
        }
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
        Err(e) => Err(kerr(format!("{ns}/{name}"))(e)),
    }
}
