//! kube-controller-manager's taint eviction controller (the former "taint manager"): a pod bound
//! to a node with a `NoExecute` taint it does not tolerate is deleted at once; one that tolerates
//! every such taint, some with `tolerationSeconds`, is deleted once the smallest of those has
//! passed. One deterministic pass on the simulation clock.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/controller/tainteviction/taint_eviction.go` (`processPodOnNode`, `getMinTolerationTime`,
//!   `emitPodDeletionEvent`: event `TaintManagerEviction` "Marking for deletion Pod <ns>/<name>"
//!   on the pod, `addConditionAndDeletePod`: condition `DisruptionTarget` reason
//!   `DeletionByTaintManager`, message "Taint manager: deleting due to NoExecute taint", then a
//!   delete with default options);
//! - `pkg/apis/core/v1/helper/helpers.go` (`GetMatchingTolerations`) and
//!   `staging/src/k8s.io/api/core/v1/toleration.go` (`ToleratesTaint`).
//!
//! The API server's DefaultTolerationSeconds admission plugin is modelled by the emulated API
//! server (`emulator/kube/src/defaults.rs`): every pod gets `node.kubernetes.io/not-ready` and
//! `unreachable` `NoExecute` tolerations of 300 s unless it has its own, so this controller does
//! not add them.
//!
//! Not modelled:
//! - the timed work queue: upstream starts a pod's countdown when it observes the taint; here the
//!   countdown starts at the taint's `timeAdded` (set by the node lifecycle controller and by
//!   `kubectl taint` for `NoExecute`), the earliest one when several taints apply, so a pass is
//!   stateless. A `NoExecute` taint without `timeAdded` starts no countdown (pods tolerating it
//!   with `tolerationSeconds` > 0 are not evicted for it); untolerated taints evict at once anyway;
//! - the rate limiting of the node lifecycle controller (it only adds taints; eviction is here);
//! - event aggregation (each event is a new object, `count` 1).

use crate::workloads::{self, meta, ms, Summary as WSummary};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The component of the events.
pub const COMPONENT: &str = "taint-eviction-controller";
/// The event reason.
pub const REASON: &str = "TaintManagerEviction";

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Pods deleted (`ns/name`).
    pub evicted: Vec<String>,
    /// Every write to the API server (events included).
    pub writes: usize,
}

pub(crate) fn kerr(what: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Workload {
        what,
        source: Box::new(source),
    }
}

/// `Toleration.ToleratesTaint` for a taint object.
pub(crate) fn tolerates_taint(t: &Value, taint: &Value) -> bool {
    let field = |k: &str| taint[k].as_str().unwrap_or("");
    crate::node_match::tolerates(t, field("key"), field("value"), field("effect"))
}

/// `GetMatchingTolerations`: for each taint the first toleration tolerating it, or `None` when
/// a taint is not tolerated.
fn matching_tolerations<'a>(
    taints: &'a [Value],
    tols: &'a [Value],
) -> Option<Vec<(&'a Value, &'a Value)>> {
    taints
        .iter()
        .map(|taint| {
            tols.iter()
                .find(|t| tolerates_taint(t, taint))
                .map(|t| (taint, t))
        })
        .collect()
}

/// When the pod is due for eviction (ms), `None` if never: upstream's `getMinTolerationTime`
/// (a `tolerationSeconds` ≤ 0 means at once, none means forever) counted from the earliest
/// `timeAdded` of the taints.
fn deadline(used: &[(&Value, &Value)]) -> Option<u64> {
    let min = used
        .iter()
        .filter_map(|(_, t)| t["tolerationSeconds"].as_i64())
        .min()?;
    if min <= 0 {
        return Some(0);
    }
    let start = used
        .iter()
        .filter(|(taint, _)| taint["timeAdded"].is_string())
        .map(|(taint, _)| ms(&taint["timeAdded"]))
        .min()?;
    Some(start + (min as u64) * 1000)
}

/// The `NoExecute` taints of every node that has some.
pub(crate) async fn no_execute_taints(
    ctx: &Context,
) -> Result<BTreeMap<String, Vec<Value>>, Error> {
    let nodes = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(kerr("list Nodes".into()))?;
    let mut out = BTreeMap::new();
    for v in &nodes {
        let ne: Vec<Value> = v["spec"]["taints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["effect"] == "NoExecute")
            .cloned()
            .collect();
        if !ne.is_empty() {
            out.insert(meta(v, "name").to_string(), ne);
        }
    }
    Ok(out)
}

/// One pass: evict every pod that is due.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    // Upstream runs the taint eviction controller with node-controller's client
    // ("taint-manager uses existing cluster role from node-controller").
    let ctx = &ctx
        .as_account(&crate::Account::controller("node-controller"))
        .await?;
    let mut s = Summary::default();
    let taints = no_execute_taints(ctx).await?;
    if taints.is_empty() {
        return Ok(s);
    }
    let now = ctx.clock.now().as_millis();
    for (node, node_taints) in &taints {
        let pods = ctx
            .cache
            .pods_on_node(node)
            .await
            .map_err(kerr("list Pods".into()))?;
        for pod in &pods {
            if !pod["metadata"]["deletionTimestamp"].is_null() {
                continue;
            }
            let tols: Vec<Value> = pod["spec"]["tolerations"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let due = match matching_tolerations(node_taints, &tols) {
                None => true,
                Some(used) => match deadline(&used) {
                    Some(d) if d <= now => true,
                    Some(d) => {
                        ctx.requeue_at(d);
                        false
                    }
                    None => false,
                },
            };
            if due {
                evict(ctx, pod, &mut s).await?;
            }
        }
    }
    Ok(s)
}

async fn evict(ctx: &Context, pod: &Value, s: &mut Summary) -> Result<(), Error> {
    let (ns, name) = (meta(pod, "namespace"), meta(pod, "name"));
    let key = format!("{ns}/{name}");
    let mut ws = WSummary::default();
    workloads::record_event(
        ctx,
        pod,
        COMPONENT,
        REASON,
        &format!("Marking for deletion Pod {key}"),
        &mut ws,
    )
    .await;
    s.writes += ws.writes;
    let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), ns);
    let t = ctx.clock.now().to_rfc3339_secs();
    let mut conds: Vec<Value> = pod["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    conds.retain(|c| c["type"] != "DisruptionTarget");
    conds.push(json!({
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "DeletionByTaintManager",
        "message": "Taint manager: deleting due to NoExecute taint",
        "lastTransitionTime": t,
    }));
    match api
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"conditions": conds}})),
        )
        .await
    {
        Ok(_) => s.writes += 1,
        Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
        Err(e) => return Err(kerr(format!("patch Pod {key}"))(e)),
    }
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(kerr(format!("delete Pod {key}"))(e)),
    }
    s.writes += 1;
    s.evicted.push(key);
    Ok(())
}
