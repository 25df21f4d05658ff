//! kube-controller-manager's attach/detach controller for EBS volumes served by the CSI driver:
//! a VolumeAttachment per (volume, node) that a scheduled pod needs, the Multi-Attach error for a
//! ReadWriteOnce volume still attached elsewhere, `node.status.volumesAttached`, and the
//! VolumeAttachment's deletion once the kubelet no longer reports the volume in use.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/controller/volume/attachdetach/attach_detach_controller.go` and
//!   `populator/desired_state_of_world_populator.go` (the desired state: volumes of pods bound
//!   to a node that are not terminated);
//! - `reconciler/reconciler.go` (`attachDesiredVolumes`, `reportMultiAttachError`: "Multi-Attach
//!   error for volume \"pvc-…\" Volume is already exclusively attached to one node and can't be
//!   attached to another", or "Volume is already used by pod(s) a, b" for pods of the same
//!   namespace on the other node; detach only once the volume is gone from the node's
//!   `volumesInUse`);
//! - `statusupdater/node_status_updater.go` (`status.volumesAttached`:
//!   `kubernetes.io/csi/ebs.csi.aws.com^vol-…`, `devicePath` empty for CSI);
//! - `pkg/volume/csi/csi_attacher.go` (`Attach`: VolumeAttachment `csi-<sha256(volumeHandle +
//!   driver + node)>`, `spec.source.persistentVolumeName`; `WaitForAttach` on `status.attached`);
//! - `pkg/volume/util/operationexecutor/operation_generator.go` (`SuccessfulAttachVolume`
//!   "AttachVolume.Attach succeeded for volume \"pvc-…\" ").
//!
//! A failed attach (the VolumeAttachment's `status.attachError`) gives the pods
//! `FailedAttachVolume` "AttachVolume.Attach failed for volume \"pvc-…\" : <error>", once per
//! distinct error.
//!
//! Not modelled: `maxWaitForUnmountDuration` (6 min force detach), inline volumes, node shutdown
//! handling, the exponential backoff of the attach operation itself (the attacher retries).

use super::{event, kube_err, node_instance, pod_claims, str_at, terminal, unique_name};
use super::{volume_id, Summary, DRIVER};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::VolumeAttachment;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The event source of this controller.
pub const COMPONENT: &str = "attachdetach-controller";

/// The VolumeAttachment name the kubelet's CSI attacher gives (volume handle, driver, node).
pub fn attachment_name(volume_handle: &str, node: &str) -> String {
    let d = Sha256::digest(format!("{volume_handle}{DRIVER}{node}").as_bytes());
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("csi-{hex}")
}

/// A volume pods need on their node.
pub(crate) struct Wanted {
    /// `vol-…`.
    pub volume: String,
    /// The PV.
    pub pv: Arc<Value>,
    /// The pods.
    pub pods: Vec<Arc<Value>>,
}

/// The EBS PVs each pod needs, by (PV name, node).
pub(crate) async fn desired(ctx: &Context) -> Result<BTreeMap<(String, String), Wanted>, Error> {
    let pods = ctx
        .cache
        .list::<Pod>()
        .await
        .map_err(|e| Error::ListPods(Box::new(e)))?;
    let mut out: BTreeMap<(String, String), Wanted> = BTreeMap::new();
    for pod in pods {
        let node = str_at(&pod, "/spec/nodeName");
        if node.is_empty() || terminal(&pod) {
            continue;
        }
        let ns = str_at(&pod, "/metadata/namespace");
        for claim in pod_claims(&pod) {
            let Some(c) = ctx
                .cache
                .get::<PersistentVolumeClaim>(ns, &claim)
                .await
                .map_err(kube_err("get PersistentVolumeClaim".into()))?
            else {
                continue;
            };
            let pv_name = str_at(&c, "/spec/volumeName");
            if pv_name.is_empty() || str_at(&c, "/status/phase") != "Bound" {
                continue;
            }
            let Some(pv) = ctx
                .cache
                .get::<PersistentVolume>("", pv_name)
                .await
                .map_err(kube_err("get PersistentVolume".into()))?
            else {
                continue;
            };
            let Some(vol) = volume_id(&pv) else { continue };
            out.entry((pv_name.to_string(), node.to_string()))
                .or_insert_with(|| Wanted {
                    volume: vol,
                    pv: pv.clone(),
                    pods: Vec::new(),
                })
                .pods
                .push(pod.clone());
        }
    }
    Ok(out)
}

fn shared(pv: &Value) -> bool {
    pv["spec"]["accessModes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| m == "ReadWriteMany" || m == "ReadOnlyMany")
}

/// One pass: create the missing VolumeAttachments, delete the unneeded ones, publish the
/// attached volumes in node status.
pub async fn reconcile_once(ctx: &Context, summary: &mut Summary) -> Result<(), Error> {
    let ctx = &ctx
        .as_account(&crate::Account::controller("attachdetach-controller"))
        .await?;
    let wanted = desired(ctx).await?;
    let nodes: BTreeMap<String, Arc<Value>> = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?
        .into_iter()
        .filter(|n| node_instance(n).is_some())
        .map(|n| (str_at(&n, "/metadata/name").to_string(), n))
        .collect();
    let vas: Vec<Arc<Value>> = ctx
        .cache
        .list::<VolumeAttachment>()
        .await
        .map_err(kube_err("list VolumeAttachments".into()))?
        .into_iter()
        .filter(|v| v["spec"]["attacher"] == DRIVER)
        .collect();
    let existing: BTreeMap<(String, String), &Arc<Value>> = vas
        .iter()
        .map(|v| {
            (
                (
                    str_at(v, "/spec/source/persistentVolumeName").to_string(),
                    str_at(v, "/spec/nodeName").to_string(),
                ),
                v,
            )
        })
        .collect();
    let api: Api<VolumeAttachment> = Api::all(ctx.kube.clone());
    for ((pv_name, node), w) in &wanted {
        if !nodes.contains_key(node) {
            continue;
        }
        if let Some(va) = existing.get(&(pv_name.clone(), node.clone())) {
            if va["status"]["attached"] == true {
                for pod in &w.pods {
                    let msg = format!("AttachVolume.Attach succeeded for volume {pv_name:?} ");
                    let dedup = format!(
                        "SuccessfulAttachVolume/{}/{pv_name}",
                        str_at(pod, "/metadata/uid")
                    );
                    if event(
                        ctx,
                        pod,
                        "Pod",
                        "Normal",
                        "SuccessfulAttachVolume",
                        &msg,
                        COMPONENT,
                        Some(dedup),
                    )
                    .await?
                    {
                        summary.writes += 1;
                    }
                }
            } else if let Some(err) = va["status"]["attachError"]["message"].as_str() {
                // The CSI attacher's WaitForAttach returns the attacher's error.
                let msg = format!("AttachVolume.Attach failed for volume {pv_name:?} : {err}");
                for pod in &w.pods {
                    let dedup =
                        format!("FailedAttachVolume/{}/{msg}", str_at(pod, "/metadata/uid"));
                    if event(
                        ctx,
                        pod,
                        "Pod",
                        "Warning",
                        "FailedAttachVolume",
                        &msg,
                        COMPONENT,
                        Some(dedup),
                    )
                    .await?
                    {
                        summary.writes += 1;
                    }
                }
            }
            continue;
        }
        let elsewhere: Vec<&String> = existing
            .keys()
            .filter(|(p, n)| p == pv_name && n != node)
            .map(|(_, n)| n)
            .collect();
        if !elsewhere.is_empty() && !shared(&w.pv) {
            multi_attach_error(ctx, pv_name, w, &wanted, &elsewhere, summary).await?;
            continue;
        }
        let name = attachment_name(&w.volume, node);
        let va: VolumeAttachment = serde_json::from_value(json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttachment",
            "metadata": {"name": name},
            "spec": {"attacher": DRIVER, "nodeName": node, "source": {"persistentVolumeName": pv_name}},
        }))
        .map_err(|source| Error::Build { what: "VolumeAttachment", source })?;
        match api.create(&PostParams::default(), &va).await {
            Ok(_) => summary.writes += 1,
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(kube_err(format!("create VolumeAttachment {name}"))(e)),
        }
    }
    // Detach what no pod needs once the kubelet has unmounted it.
    for ((pv_name, node), va) in &existing {
        if wanted.contains_key(&(pv_name.clone(), node.clone()))
            || !va["metadata"]["deletionTimestamp"].is_null()
        {
            continue;
        }
        let vol = ctx
            .cache
            .get::<PersistentVolume>("", pv_name)
            .await
            .map_err(kube_err("get PersistentVolume".into()))?
            .and_then(|pv| volume_id(&pv));
        let in_use = match (nodes.get(node), &vol) {
            (Some(n), Some(vol)) => n["status"]["volumesInUse"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|u| u.as_str() == Some(unique_name(vol).as_str())),
            _ => false,
        };
        if in_use {
            continue;
        }
        let name = str_at(va, "/metadata/name");
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => summary.writes += 1,
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(kube_err(format!("delete VolumeAttachment {name}"))(e)),
        }
    }
    node_status(ctx, &nodes, &vas, summary).await
}

async fn multi_attach_error(
    ctx: &Context,
    pv_name: &str,
    w: &Wanted,
    wanted: &BTreeMap<(String, String), Wanted>,
    elsewhere: &[&String],
    summary: &mut Summary,
) -> Result<(), Error> {
    let others: Vec<&Arc<Value>> = elsewhere
        .iter()
        .filter_map(|n| wanted.get(&(pv_name.to_string(), (*n).clone())))
        .flat_map(|o| o.pods.iter())
        .collect();
    for pod in &w.pods {
        let ns = str_at(pod, "/metadata/namespace");
        let local: Vec<&str> = others
            .iter()
            .filter(|o| str_at(o, "/metadata/namespace") == ns)
            .map(|o| str_at(o, "/metadata/name"))
            .collect();
        let foreign = others.len() - local.len();
        let detail = if others.is_empty() {
            "Volume is already exclusively attached to one node and can't be attached to another"
                .to_string()
        } else if local.is_empty() {
            format!("Volume is already used by {foreign} pod(s) in different namespaces")
        } else if foreign > 0 {
            format!(
                "Volume is already used by pod(s) {} and {foreign} pod(s) in different namespaces",
                local.join(", ")
            )
        } else {
            format!("Volume is already used by pod(s) {}", local.join(", "))
        };
        let msg = format!("Multi-Attach error for volume {pv_name:?} {detail}");
        let dedup = format!(
            "MultiAttach/{}/{pv_name}/{msg}",
            str_at(pod, "/metadata/uid")
        );
        if event(
            ctx,
            pod,
            "Pod",
            "Warning",
            "FailedAttachVolume",
            &msg,
            COMPONENT,
            Some(dedup),
        )
        .await?
        {
            summary.writes += 1;
        }
    }
    Ok(())
}

/// `status.volumesAttached` of every node: the attached, not detaching VolumeAttachments.
async fn node_status(
    ctx: &Context,
    nodes: &BTreeMap<String, Arc<Value>>,
    vas: &[Arc<Value>],
    summary: &mut Summary,
) -> Result<(), Error> {
    let mut attached: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for va in vas {
        if va["status"]["attached"] != true || !va["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let pv = str_at(va, "/spec/source/persistentVolumeName");
        let Some(vol) = ctx
            .cache
            .get::<PersistentVolume>("", pv)
            .await
            .map_err(kube_err("get PersistentVolume".into()))?
            .and_then(|pv| volume_id(&pv))
        else {
            continue;
        };
        attached
            .entry(str_at(va, "/spec/nodeName"))
            .or_default()
            .insert(unique_name(&vol));
    }
    let api: Api<Node> = Api::all(ctx.kube.clone());
    for (name, node) in nodes {
        let want: Vec<Value> = attached
            .get(name.as_str())
            .into_iter()
            .flatten()
            .map(|u| json!({"name": u, "devicePath": ""}))
            .collect();
        let live = node["status"]["volumesAttached"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if live == want {
            continue;
        }
        let value = if want.is_empty() {
            Value::Null
        } else {
            Value::Array(want)
        };
        api.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"volumesAttached": value}})),
        )
        .await
        .map_err(|source| Error::PatchNode {
            name: name.clone(),
            source: Box::new(source),
        })?;
        summary.writes += 1;
    }
    Ok(())
}
