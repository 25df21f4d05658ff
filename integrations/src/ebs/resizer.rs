//! Volume expansion: external-resizer with the driver's ControllerExpandVolume
//! (`ec2:ModifyVolume`, polled until the modification is `optimizing`), then the kubelet's
//! online filesystem resize of a mounted volume.
//!
//! Upstream:
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
use super::DRIVER;
use super::{event, fail, kube_err, memory, round_up_gib, str_at, succeed, volume_id, Summary};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{json, Value};

/// The resizer's event source (`external-resizer <driver>`).
pub const COMPONENT: &str = "external-resizer ebs.csi.aws.com";

fn has_condition(claim: &Value, ty: &str) -> bool {
    claim["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == ty)
}

/// One pass over the Bound claims.
pub async fn reconcile_once(ctx: &Context, summary: &mut Summary) -> Result<(), Error> {
    // external-resizer calls as the chart's controller account; the kubelet's filesystem
    // resize (below) as the kubelet.
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
            if class.is_some_and(|c| c["allowVolumeExpansion"] == true) {
                expand(resizer, claim, &pv, &vol, want, summary).await?;
            }
        } else if has_condition(claim, "FileSystemResizePending") {
            node_expand(ctx, claim, &pv, summary).await?;
        }
    }
    Ok(())
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
