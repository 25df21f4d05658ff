//! external-attacher with the EBS CSI driver's ControllerPublishVolume/UnpublishVolume: a
//! VolumeAttachment of `ebs.csi.aws.com` gets its volume attached (`ec2:AttachVolume` at the
//! first free device name, polled until `attached`) and `status.attached`; a deleted one gets its
//! volume detached (`ec2:DetachVolume`, polled until gone) before its finalizer is removed.
//!
//! Upstream:
//! - kubernetes-csi/external-attacher@v4.7.0 `pkg/controller/csi_handler.go` (`syncAttach`:
//!   finalizer `external-attacher/ebs-csi-aws-com`, `status.attached`,
//!   `status.attachmentMetadata` from the publish context, `status.attachError` {message, time}
//!   on failure and a retry with exponential backoff; `syncDetach`: `status.detachError`, the
//!   finalizer removed after a successful detach);
//! - kubernetes-sigs/aws-ebs-csi-driver@v1.37.0 `pkg/driver/controller.go`
//!   (`ControllerPublishVolume`: publish context `devicePath`; "Could not attach volume %q to
//!   node %q: %v"), `pkg/cloud/cloud.go` (`AttachDisk`: DescribeInstances, the device name, then
//!   `AttachVolume`, then `DescribeVolumes` until the attachment is `attached`; `DetachDisk`:
//!   `IncorrectState`/`InvalidAttachment.NotFound`/`InvalidVolume.NotFound` count as detached) and
//!   `pkg/cloud/devicemanager/allocator.go` (the first name of `/dev/xvdaa`, `/dev/xvdab`, … not
//!   used by the instance's block device mappings).
//!
//! Not modelled: the driver's "likely bad" device names and its 90 s stuck-attaching detach,
//! attach batching, `--worker-threads`, the attacher's PV finalizer.

use super::{due, fail, kube_err, node_instance, str_at, succeed, volume_id, Summary};
use super::{ATTACHER_FINALIZER, DRIVER};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{Node, PersistentVolume};
use k8s_openapi::api::storage::v1::VolumeAttachment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The device names the driver hands out, in order (`/dev/xvdaa` … `/dev/xvdzz`).
pub fn device_names() -> impl Iterator<Item = String> {
    (b'a'..=b'z')
        .flat_map(|a| (b'a'..=b'z').map(move |b| format!("/dev/xvd{}{}", a as char, b as char)))
}

/// The first device name not used on an instance (its `BlockDeviceMappings`).
pub fn free_device(instance: &Value) -> Option<String> {
    let used: BTreeSet<&str> = instance["BlockDeviceMappings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["DeviceName"].as_str())
        .collect();
    device_names().find(|d| !used.contains(d.as_str()))
}

/// One pass over every VolumeAttachment of the driver.
pub async fn reconcile_once(ctx: &Context, summary: &mut Summary) -> Result<(), Error> {
    let ctx = &ctx.as_addon(&crate::charts::EBS_CSI_DRIVER).await?;
    let vas = ctx
        .cache
        .list::<VolumeAttachment>()
        .await
        .map_err(kube_err("list VolumeAttachments".into()))?;
    for va in vas.iter().filter(|v| v["spec"]["attacher"] == DRIVER) {
        let pv = ctx
            .cache
            .get::<PersistentVolume>("", str_at(va, "/spec/source/persistentVolumeName"))
            .await
            .map_err(kube_err("get PersistentVolume".into()))?;
        let vol = pv.as_deref().and_then(volume_id);
        let node = ctx
            .cache
            .get::<Node>("", str_at(va, "/spec/nodeName"))
            .await
            .map_err(|e| Error::ListNodes(Box::new(e)))?;
        let instance = node.as_deref().and_then(node_instance);
        if !va["metadata"]["deletionTimestamp"].is_null() {
            detach(ctx, va, vol.as_deref(), instance.as_deref(), summary).await?;
        } else if va["status"]["attached"] != true {
            if let (Some(vol), Some(instance)) = (vol, instance) {
                attach(ctx, va, &vol, &instance, summary).await?;
            }
        }
    }
    Ok(())
}

fn finalizers(va: &Value) -> Vec<String> {
    va["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect()
}

async fn set_finalizers(ctx: &Context, va: &Value, list: Vec<String>) -> Result<(), Error> {
    let name = str_at(va, "/metadata/name");
    let api: Api<VolumeAttachment> = Api::all(ctx.kube.clone());
    let patch = json!({"metadata": {"finalizers": list, "resourceVersion": va["metadata"]["resourceVersion"]}});
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(kube_err(format!("patch VolumeAttachment {name}"))(e)),
    }
}

async fn set_status(ctx: &Context, va: &Value, status: Value) -> Result<(), Error> {
    let name = str_at(va, "/metadata/name");
    let api: Api<VolumeAttachment> = Api::all(ctx.kube.clone());
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .map_err(kube_err(format!("patch VolumeAttachment {name} status")))?;
    Ok(())
}

/// The volume's attachment, if any (`(instance, device, state)`), or None when it is gone.
fn attachment(
    ctx: &Context,
    vol: &str,
) -> Result<Option<(String, String, String)>, cloudbox_aws::AwsError> {
    let out = ctx
        .aws
        .call("ec2:DescribeVolumes", &json!({"VolumeIds": [vol]}))?;
    let a = &out["Volumes"][0]["Attachments"][0];
    if a.is_null() {
        return Ok(None);
    }
    Ok(Some((
        str_at(a, "/InstanceId").to_string(),
        str_at(a, "/Device").to_string(),
        str_at(a, "/State").to_string(),
    )))
}

async fn attach_failed(ctx: &Context, va: &Value, key: &str, msg: String) -> Result<(), Error> {
    fail(ctx, key);
    let t = ctx.clock.now().to_rfc3339_secs();
    set_status(
        ctx,
        va,
        json!({"attached": false, "attachError": {"message": msg, "time": t}}),
    )
    .await
}

async fn attach(
    ctx: &Context,
    va: &Value,
    vol: &str,
    instance: &str,
    summary: &mut Summary,
) -> Result<(), Error> {
    let name = str_at(va, "/metadata/name");
    let key = format!("attach/{name}");
    if !due(ctx, &key) {
        return Ok(());
    }
    let mut fins = finalizers(va);
    if !fins.iter().any(|f| f == ATTACHER_FINALIZER) {
        fins.push(ATTACHER_FINALIZER.to_string());
        set_finalizers(ctx, va, fins).await?;
        summary.writes += 1;
    }
    let node = str_at(va, "/spec/nodeName");
    let err = |m: String| {
        format!("rpc error: code = Internal desc = Could not attach volume {vol:?} to node {instance:?}: {m}")
    };
    match attachment(ctx, vol) {
        Ok(Some((i, device, state))) if i == instance => {
            if state == "attached" {
                succeed(ctx, &key);
                set_status(ctx, va, json!({"attached": true, "attachmentMetadata": {"devicePath": device}, "attachError": null})).await?;
                summary.writes += 1;
                summary
                    .attached
                    .push((vol.to_string(), instance.to_string()));
            }
            return Ok(());
        }
        Ok(Some((other, _, _))) => {
            let m = err(format!(
                "volume {vol} is already attached to instance {other} (node {node})"
            ));
            return attach_failed(ctx, va, &key, m).await;
        }
        Ok(None) => {}
        Err(e) if e.code.as_str() == "InvalidVolume.NotFound" => {
            let m = format!("rpc error: code = NotFound desc = Volume {vol:?} not found");
            return attach_failed(ctx, va, &key, m).await;
        }
        Err(e) => return attach_failed(ctx, va, &key, err(e.message)).await,
    }
    let inst = match ctx
        .aws
        .call("ec2:DescribeInstances", &json!({"InstanceIds": [instance]}))
    {
        Ok(o) => o["Reservations"][0]["Instances"][0].clone(),
        Err(e) => return attach_failed(ctx, va, &key, err(e.message)).await,
    };
    let Some(device) = free_device(&inst) else {
        return attach_failed(ctx, va, &key, err("there are no device names left".into())).await;
    };
    let input = json!({"VolumeId": vol, "InstanceId": instance, "Device": device});
    match ctx.aws.call("ec2:AttachVolume", &input) {
        Ok(_) => Ok(()),
        Err(e) if e.code.as_str() == "AttachmentLimitExceeded" => {
            let m = format!("rpc error: code = ResourceExhausted desc = Could not attach volume {vol:?} to node {instance:?}: {}", e.message);
            attach_failed(ctx, va, &key, m).await
        }
        Err(e) => {
            attach_failed(
                ctx,
                va,
                &key,
                err(format!("api error {}: {}", e.code.as_str(), e.message)),
            )
            .await
        }
    }
}

async fn detach(
    ctx: &Context,
    va: &Value,
    vol: Option<&str>,
    instance: Option<&str>,
    summary: &mut Summary,
) -> Result<(), Error> {
    let fins = finalizers(va);
    if !fins.iter().any(|f| f == ATTACHER_FINALIZER) {
        return Ok(());
    }
    let name = str_at(va, "/metadata/name");
    let key = format!("detach/{name}");
    if !due(ctx, &key) {
        return Ok(());
    }
    if let (Some(vol), Some(instance)) = (vol, instance) {
        match attachment(ctx, vol) {
            Ok(Some((i, _, state))) if i == instance => {
                if state != "detaching" {
                    match ctx.aws.call(
                        "ec2:DetachVolume",
                        &json!({"VolumeId": vol, "InstanceId": instance}),
                    ) {
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.code.as_str(),
                                "IncorrectState"
                                    | "InvalidAttachment.NotFound"
                                    | "InvalidVolume.NotFound"
                            ) => {}
                        Err(e) => {
                            fail(ctx, &key);
                            let t = ctx.clock.now().to_rfc3339_secs();
                            let m = format!("rpc error: code = Internal desc = Could not detach volume {vol:?} from node {instance:?}: {}", e.message);
                            set_status(ctx, va, json!({"detachError": {"message": m, "time": t}}))
                                .await?;
                            return Ok(());
                        }
                    }
                }
                return Ok(());
            }
            Ok(_) => {}
            Err(e) if e.code.as_str() == "InvalidVolume.NotFound" => {}
            Err(_) => {
                fail(ctx, &key);
                return Ok(());
            }
        }
        summary.detached.push(vol.to_string());
    }
    succeed(ctx, &key);
    let rest: Vec<String> = fins
        .into_iter()
        .filter(|f| f != ATTACHER_FINALIZER)
        .collect();
    set_finalizers(ctx, va, rest).await?;
    summary.writes += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_free_device() {
        let inst = json!({"BlockDeviceMappings": [{"DeviceName": "/dev/xvda"}, {"DeviceName": "/dev/xvdaa"}]});
        assert_eq!(free_device(&inst).as_deref(), Some("/dev/xvdab"));
        assert_eq!(device_names().count(), 676);
    }
}
