//! The cloud node lifecycle: Nodes of stopped instances go NotReady and tainted, Nodes of
//! terminated (or vanished) instances are deleted, and a Node whose instance runs again and whose
//! kubelet posts Ready loses those taints.
//!
//! Upstream: kubernetes/cloud-provider@v0.32.4 `controllers/nodelifecycle` with
//! kubernetes/cloud-provider-aws@63ec440c, and kube-controller-manager's node lifecycle controller
//! of kubernetes/kubernetes@v1.32.4 for the NotReady marking
//!
//! Files modelled:
//! - `cloud-provider/controllers/nodelifecycle/node_lifecycle_controller.go`
//!   (`MonitorNodes`: a Node whose instance no longer exists is deleted; a not-Ready Node whose
//!   instance is shut down gets `node.cloudprovider.kubernetes.io/shutdown:NoSchedule`, removed
//!   once the Node is Ready again);
//! - cloud-provider-aws `pkg/providers/v1/aws.go` (`InstanceExistsByProviderID`: false for a
//!   missing or `terminated` instance; `InstanceShutdownByProviderID`: true for `stopped`;
//!   provider ids `aws:///<az>/<id>` and `aws:////<id>`);
//! - `pkg/controller/nodelifecycle/node_lifecycle_controller.go` (`tryUpdateNodeHealth`: every
//!   condition becomes `Unknown`, reason `NodeStatusUnknown`, message
//!   "Kubelet stopped posting node status."; `doNoScheduleTaintingPass` and
//!   `doNoExecuteTaintingPass`: `node.kubernetes.io/unreachable` NoSchedule and NoExecute (with
//!   `timeAdded`), both removed when Ready is True again).
//!
//! Deviation(upstream): kube-controller-manager marks a Node Unknown only after
//! `node-monitor-grace-period` without a Lease renewal or status post; here a Node is marked in
//! the first pass that sees its instance `stopping`, `stopped` or `shutting-down` (the kubelet of
//! such an instance posts nothing, so the outcome is the same, only earlier).
//!
//! Not modelled:
//! - Nodes without an `aws://` provider id are left alone (upstream looks them up by name);
//! - pod eviction after the NoExecute taint (the taint manager), zone disruption states and
//!   eviction rate limits;
//! - the cloud node controller's initialisation of Nodes (labels, addresses, provider id): the
//!   in-tree kubelet of [`crate::kubelet_node`] sets them at registration.

use crate::instances::{self, Ec2Instance};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The taint of an unreachable Node (`node.kubernetes.io/unreachable`).
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
/// The taint of a Node whose instance is shut down (`node.cloudprovider.kubernetes.io/shutdown`).
pub const SHUTDOWN_TAINT: &str = "node.cloudprovider.kubernetes.io/shutdown";
/// The reason of a condition the kubelet stopped posting.
pub const NODE_STATUS_UNKNOWN: &str = "NodeStatusUnknown";
/// Its message.
pub const NODE_STATUS_UNKNOWN_MESSAGE: &str = "Kubelet stopped posting node status.";

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Nodes marked NotReady (Unknown) or tainted in this pass.
    pub not_ready: Vec<String>,
    /// Nodes whose unreachable/shutdown taints were removed.
    pub recovered: Vec<String>,
    /// Nodes deleted because their instance is terminated or gone.
    pub deleted: Vec<String>,
    /// Every write to the API server.
    pub writes: usize,
}

/// The instance id of a provider id `aws:///<az>/<id>` or `aws:////<id>`.
pub fn instance_id(provider_id: &str) -> Option<&str> {
    let rest = provider_id.strip_prefix("aws://")?;
    let id = rest.rsplit('/').next()?;
    id.starts_with("i-").then_some(id)
}

/// One pass over every Node with an AWS provider id.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let ctx = &ctx
        .as_addon(&crate::charts::CLOUD_CONTROLLER_MANAGER)
        .await?;
    let mut summary = Summary::default();
    let nodes: Api<Node> = Api::all(ctx.kube.clone());
    let list = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?;
    let mut by_node = Vec::new();
    for n in &list {
        let id = n
            .pointer("/spec/providerID")
            .and_then(serde_json::Value::as_str)
            .and_then(instance_id);
        let name = n
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str);
        if let (Some(name), Some(id)) = (name, id) {
            by_node.push((name.to_string(), id.to_string(), n));
        }
    }
    let ids: BTreeSet<String> = by_node.iter().map(|(_, id, _)| id.clone()).collect();
    let found: BTreeMap<String, Ec2Instance> = instances::instances_by_id(ctx, &ids)
        .await?
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    for (name, id, node) in by_node {
        let live: &serde_json::Value = node;
        let state = found.get(&id).map(|i| i.state.as_str());
        match state {
            None | Some("terminated") => {
                match nodes.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => continue,
                    Err(source) => {
                        return Err(Error::DeleteNode {
                            name,
                            source: Box::new(source),
                        })
                    }
                }
                summary.deleted.push(name);
                summary.writes += 1;
            }
            Some("stopping" | "stopped" | "shutting-down") => {
                let shutdown = state == Some("stopped");
                let w = mark_unreachable(ctx, &nodes, &name, live, shutdown).await?;
                if w > 0 {
                    summary.not_ready.push(name);
                    summary.writes += w;
                }
            }
            _ => {
                if ready_status(live) == Some("True") && remove_taints(&nodes, &name, live).await? {
                    summary.recovered.push(name);
                    summary.writes += 1;
                }
            }
        }
    }
    Ok(summary)
}

fn ready_status(node: &Value) -> Option<&str> {
    node["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?["status"]
        .as_str()
}

fn taints(node: &Value) -> Vec<Value> {
    node["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn has_taint(list: &[Value], key: &str, effect: &str) -> bool {
    list.iter()
        .any(|t| t["key"] == key && t["effect"] == effect)
}

async fn patch(nodes: &Api<Node>, name: &str, body: &Value, status: bool) -> Result<(), Error> {
    let pp = PatchParams::default();
    let r = if status {
        nodes.patch_status(name, &pp, &Patch::Merge(body)).await
    } else {
        nodes.patch(name, &pp, &Patch::Merge(body)).await
    };
    r.map(|_| ()).map_err(|source| Error::PatchNode {
        name: name.to_string(),
        source: Box::new(source),
    })
}

/// Every condition Unknown, then the unreachable (and, for a stopped instance, shutdown)
/// taints. Returns the number of writes.
async fn mark_unreachable(
    ctx: &Context,
    nodes: &Api<Node>,
    name: &str,
    live: &Value,
    shutdown: bool,
) -> Result<usize, Error> {
    let now = ctx.clock.now().to_rfc3339_secs();
    let mut writes = 0;
    let mut conditions = live["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut changed = false;
    for c in conditions.iter_mut().filter(|c| c["status"] != "Unknown") {
        c["status"] = json!("Unknown");
        c["reason"] = json!(NODE_STATUS_UNKNOWN);
        c["message"] = json!(NODE_STATUS_UNKNOWN_MESSAGE);
        c["lastTransitionTime"] = json!(now);
        changed = true;
    }
    if changed {
        patch(
            nodes,
            name,
            &json!({"status": {"conditions": conditions}}),
            true,
        )
        .await?;
        writes += 1;
    }
    let mut list = taints(live);
    let before = list.len();
    if !has_taint(&list, UNREACHABLE_TAINT, "NoSchedule") {
        list.push(json!({"key": UNREACHABLE_TAINT, "effect": "NoSchedule"}));
    }
    if !has_taint(&list, UNREACHABLE_TAINT, "NoExecute") {
        list.push(json!({"key": UNREACHABLE_TAINT, "effect": "NoExecute", "timeAdded": now}));
    }
    if shutdown && !has_taint(&list, SHUTDOWN_TAINT, "NoSchedule") {
        list.push(json!({"key": SHUTDOWN_TAINT, "effect": "NoSchedule"}));
    }
    if list.len() != before {
        patch(nodes, name, &json!({"spec": {"taints": list}}), false).await?;
        writes += 1;
    }
    Ok(writes)
}

/// Drops the unreachable and shutdown taints of a Ready Node. True when it wrote.
async fn remove_taints(nodes: &Api<Node>, name: &str, live: &Value) -> Result<bool, Error> {
    let list = taints(live);
    let keep: Vec<Value> = list
        .iter()
        .filter(|t| t["key"] != UNREACHABLE_TAINT && t["key"] != SHUTDOWN_TAINT)
        .cloned()
        .collect();
    if keep.len() == list.len() {
        return Ok(false);
    }
    let taints = if keep.is_empty() {
        Value::Null
    } else {
        Value::Array(keep)
    };
    patch(nodes, name, &json!({"spec": {"taints": taints}}), false).await?;
    Ok(true)
}
