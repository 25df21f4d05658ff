//! Volume expansion: kube-controller-manager's expand controller handing the claim to the CSI
//! driver, external-resizer with the driver's ControllerExpandVolume (`ec2:ModifyVolume`, polled
//! until the modification is `optimizing`), then the kubelet's online filesystem resize of a
//! mounted volume.
//!
//! Upstream:
//! - kubernetes/kubernetes@v1.32.4 `pkg/controller/volume/expand/expand_controller.go`
//!   (`syncHandler`, as `expand-controller`: a claim whose request exceeds its
//!   `status.capacity` gets, for a migrated in-tree volume, the Normal `ExternalExpanding` event
//!   "CSI migration enabled for kubernetes.io/aws-ebs; waiting for external resizer to expand
//!   the pvc" and the `volume.kubernetes.io/storage-resizer: ebs.csi.aws.com` annotation through
//!   `persistentvolumeclaims/status` (`SetClaimResizer`); for a CSI volume the Warning
//!   `ExternalExpanding` "waiting for an external controller to expand this PVC", as its
//!   plugin manager has no expandable plugin for it; events from `volume_expand`);
//! - kubernetes-csi/external-resizer@v1.12.0 `pkg/controller/controller.go` and
//!   `pkg/resizer/csi_resizer.go` (a Bound claim of a class with `allowVolumeExpansion` whose
//!   request exceeds its PV's capacity; events `Resizing` "External resizer is resizing volume
//!   pvc-…", `VolumeResizeFailed` "resize volume \"pvc-…\" by resizer \"ebs.csi.aws.com\"
//!   failed: …" with an exponential retry, `FileSystemResizeRequired` "Require file system resize
//!   of volume on node"; the PV's capacity grows, the claim gets the `FileSystemResizePending`
//!   condition "Waiting for user to (re-)start a pod to finish file system resize of volume on
//!   node.");
//! - kubernetes-sigs/aws-ebs-csi-driver@v1.37.0 `pkg/cloud/cloud.go` (`ResizeOrModifyDisk`:
//!   nothing to do when the volume is already as large; `ModifyVolume{Size}`; wait for the
//!   modification to be `optimizing` or `completed`; "Could not resize volume %q: %v");
//! - kubernetes/kubernetes@v1.32.4 `pkg/volume/util/operationexecutor/operation_generator.go`
//!   (`NodeExpandVolume` on a mounted volume: the claim's `status.capacity` takes the PV's,
//!   the condition is removed, event `FileSystemResizeSuccessful` "MountVolume.NodeExpandVolume
//!   succeeded for volume \"pvc-…\" <node>").
//!
//! Not modelled: shrinking and recovery from expansion failure (`allocatedResources`,
//! `allocatedResourceStatuses`), offline expansion at the next mount of an unmounted volume
//! (done at once when a pod mounts it), type/IOPS changes (VolumeAttributesClass).

use super::pv_controller::class_of;
use super::{event, fail, kube_err, memory, round_up_gib, str_at, succeed, volume_id, Summary};
use super::{ANN_STORAGE_RESIZER, DRIVER, IN_TREE};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{json, Value};

/// The resizer's event source (`external-resizer <driver>`).
pub const COMPONENT: &str = "external-resizer ebs.csi.aws.com";
/// The expand controller's event source.
pub const EXPAND_COMPONENT: &str = "volume_expand";

fn has_condition(claim: &Value, ty: &str) -> bool {
    claim["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == ty)
}

/// One pass over the Bound claims.
pub async fn reconcile_once(ctx: &Context, summary: &mut Summary) -> Result<(), Error> {
    // The expand controller calls as its kube-system account, external-resizer as the chart's
    // controller account, the kubelet's filesystem resize (below) as the kubelet.
    let expander = &ctx
        .as_account(&crate::Account::controller("expand-controller"))
        .await?;
    let resizer = &ctx.as_addon(&crate::charts::EBS_CSI_DRIVER).await?;
    let claims = ctx
        .cache
        .list::<PersistentVolumeClaim>()
        .await
        .map_err(kube_err("list PersistentVolumeClaims".into()))?;
    for claim in claims
        .iter()
        .filter(|c| str_at(c, "/status/phase") == "Bound")
    {
        let pv_name = str_at(claim, "/spec/volumeName");
        let Some(pv) = ctx
            .cache
            .get::<PersistentVolume>("", pv_name)
            .await
            .map_err(kube_err("get PersistentVolume".into()))?
        else {
            continue;
        };
        let Some(vol) = volume_id(&pv) else { continue };
        let want = round_up_gib(str_at(claim, "/spec/resources/requests/storage")).unwrap_or(0);
        let have = round_up_gib(str_at(&pv, "/spec/capacity/storage")).unwrap_or(0);
        if want > have {
            let class = ctx
                .cache
                .get::<StorageClass>("", &class_of(claim))
                .await
                .map_err(kube_err("get StorageClass".into()))?;
            if class.is_some_and(|c| c["allowVolumeExpansion"] == true)
                && hand_off(expander, claim, &pv, want, summary).await?
            {
                expand(resizer, claim, &pv, &vol, want, summary).await?;
            }
        } else if has_condition(claim, "FileSystemResizePending") {
            node_expand(ctx, claim, &pv, summary).await?;
        }
    }
    Ok(())
}

/// The expand controller's part: its event, and for a migrated volume the resizer annotation.
/// Whether external-resizer may act on the claim (a CSI volume of the driver, or a migrated
/// one annotated for it).
async fn hand_off(
    ctx: &Context,
    claim: &Value,
    pv: &Value,
    want: u64,
    summary: &mut Summary,
) -> Result<bool, Error> {
    let in_tree = pv["spec"]["awsElasticBlockStore"].is_object();
    let status_gib = round_up_gib(str_at(claim, "/status/capacity/storage")).unwrap_or(0);
    let annotated = claim["metadata"]["annotations"][ANN_STORAGE_RESIZER] == DRIVER;
    if want > status_gib {
        let dedup = Some(format!(
            "ExternalExpanding/{}/{want}",
            str_at(claim, "/metadata/uid")
        ));
        let (ty, msg) = if in_tree {
            ("Normal", format!("CSI migration enabled for {IN_TREE}; waiting for external resizer to expand the pvc"))
        } else {
            (
                "Warning",
                "waiting for an external controller to expand this PVC".to_string(),
            )
        };
        if event(
            ctx,
            claim,
            "PersistentVolumeClaim",
            ty,
            "ExternalExpanding",
            &msg,
            EXPAND_COMPONENT,
            dedup,
        )
        .await?
        {
            summary.writes += 1;
        }
        if in_tree && !annotated {
            // `SetClaimResizer`: the annotation through the status subresource.
            let ns = str_at(claim, "/metadata/namespace");
            let name = str_at(claim, "/metadata/name");
            let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.kube.clone(), ns);
            let patch = json!({"metadata": {"annotations": {ANN_STORAGE_RESIZER: DRIVER}}});
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map_err(kube_err(format!(
                    "patch PersistentVolumeClaim {ns}/{name} status"
                )))?;
            summary.writes += 1;
            // external-resizer sees the annotation in its next pass.
            return Ok(false);
        }
    }
    Ok(!in_tree || annotated)
}

async fn expand(
    ctx: &Context,
    claim: &Value,
    pv: &Value,
    vol: &str,
    want: u64,
    summary: &mut Summary,
) -> Result<(), Error> {
    let pv_name = str_at(pv, "/metadata/name").to_string();
    let key = format!("resize/{pv_name}");
    if !super::due(ctx, &key) {
        return Ok(());
    }
    let failed = |msg: String| {
        format!("resize volume {pv_name:?} by resizer {DRIVER:?} failed: rpc error: code = Internal desc = Could not resize volume {vol:?}: {msg}")
    };
    let in_progress = memory(ctx).with(|m| m.resizing.get(&pv_name).copied());
    if in_progress != Some(want) {
        let msg = format!("External resizer is resizing volume {pv_name}");
        event(
            ctx,
            claim,
            "PersistentVolumeClaim",
            "Normal",
            "Resizing",
            &msg,
            COMPONENT,
            None,
        )
        .await?;
        summary.writes += 1;
        match ctx
            .aws
            .call("ec2:ModifyVolume", &json!({"VolumeId": vol, "Size": want}))
        {
            Ok(_) => {
                memory(ctx).with(|m| m.resizing.insert(pv_name.clone(), want));
            }
            Err(e) => {
                fail(ctx, &key);
                let msg = failed(format!("api error {}: {}", e.code.as_str(), e.message));
                event(
                    ctx,
                    claim,
                    "PersistentVolumeClaim",
                    "Warning",
                    "VolumeResizeFailed",
                    &msg,
                    COMPONENT,
                    None,
                )
                .await?;
                summary.writes += 1;
            }
        }
        return Ok(());
    }
    let state = ctx
        .aws
        .call(
            "ec2:DescribeVolumesModifications",
            &json!({"VolumeIds": [vol]}),
        )
        .map(|o| str_at(&o, "/VolumesModifications/0/ModificationState").to_string());
    match state.as_deref() {
        Ok("optimizing" | "completed") => {}
        Ok("failed") | Err(_) => {
            memory(ctx).with(|m| m.resizing.remove(&pv_name));
            fail(ctx, &key);
            let msg = failed("the volume modification failed".into());
            event(
                ctx,
                claim,
                "PersistentVolumeClaim",
                "Warning",
                "VolumeResizeFailed",
                &msg,
                COMPONENT,
                None,
            )
            .await?;
            return Ok(());
        }
        Ok(_) => return Ok(()),
    }
    memory(ctx).with(|m| m.resizing.remove(&pv_name));
    succeed(ctx, &key);
    let pvs: Api<PersistentVolume> = Api::all(ctx.kube.clone());
    pvs.patch(
        &pv_name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"capacity": {"storage": format!("{want}Gi")}}})),
    )
    .await
    .map_err(kube_err(format!("patch PersistentVolume {pv_name}")))?;
    let t = ctx.clock.now().to_rfc3339_secs();
    let cond = json!([{"type": "FileSystemResizePending", "status": "True", "lastProbeTime": null, "lastTransitionTime": t,
        "message": "Waiting for user to (re-)start a pod to finish file system resize of volume on node."}]);
    patch_claim_status(ctx, claim, json!({"conditions": cond})).await?;
    event(
        ctx,
        claim,
        "PersistentVolumeClaim",
        "Normal",
        "FileSystemResizeRequired",
        "Require file system resize of volume on node",
        COMPONENT,
        None,
    )
    .await?;
    summary.writes += 3;
    summary.resized.push(pv_name);
    Ok(())
}

async fn patch_claim_status(ctx: &Context, claim: &Value, status: Value) -> Result<(), Error> {
    let ns = str_at(claim, "/metadata/namespace");
    let name = str_at(claim, "/metadata/name");
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.kube.clone(), ns);
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .map_err(kube_err(format!(
        "patch PersistentVolumeClaim {ns}/{name} status"
    )))?;
    Ok(())
}

/// The kubelet grows the filesystem of a mounted volume (online expansion).
async fn node_expand(
    ctx: &Context,
    claim: &Value,
    pv: &Value,
    summary: &mut Summary,
) -> Result<(), Error> {
    let pv_name = str_at(pv, "/metadata/name");
    let Some(mount) = super::kubelet::mounts(ctx)
        .into_iter()
        .find(|m| m.pv == pv_name)
    else {
        return Ok(());
    };
    patch_claim_status(
        ctx,
        claim,
        json!({"capacity": pv["spec"]["capacity"], "conditions": null}),
    )
    .await?;
    summary.writes += 1;
    let pods = ctx
        .cache
        .list_namespaced::<Pod>(str_at(claim, "/metadata/namespace"))
        .await
        .map_err(|e| Error::ListPods(Box::new(e)))?;
    if let Some(pod) = pods
        .iter()
        .find(|p| str_at(p, "/metadata/uid") == mount.pod_uid)
    {
        let msg = format!(
            "MountVolume.NodeExpandVolume succeeded for volume {pv_name:?} {}",
            mount.node
        );
        event(
            ctx,
            pod,
            "Pod",
            "Normal",
            "FileSystemResizeSuccessful",
            &msg,
            "kubelet",
            None,
        )
        .await?;
        summary.writes += 1;
    }
    Ok(())
}
