//! The kubelet's side of EBS volumes: the CSI driver's registration (CSINode with the attach
//! limit of the instance), the volume manager (a pod's claims are mounted once their volumes
//! are attached; a new volume is formatted on first mount; unmounted when the pod is gone),
//! `node.status.volumesInUse`, and the gate the pod lifecycle asks before starting a pod.
//!
//! Upstream:
//! - kubernetes/kubernetes@v1.32.4 `pkg/volume/csi/nodeinfomanager/nodeinfomanager.go`
//!   (CSINode `spec.drivers[]` {name, nodeID, topologyKeys, allocatable.count}, the node labels of
//!   the topology segments, annotation `storage.alpha.kubernetes.io/migrated-plugins`),
//!   `pkg/kubelet/volumemanager/volume_manager.go` (`WaitForAttachAndMount`, 2 min, then
//!   `FailedMount` "Unable to attach or mount volumes: unmounted volumes=[…], unattached
//!   volumes=[…], failed to process volumes=[]: context deadline exceeded"; `GetVolumesInUse`:
//!   desired and mounted volumes), `pkg/volume/csi/csi_mounter.go` (the mount path
//!   `/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount`);
//! - kubernetes-sigs/aws-ebs-csi-driver@v1.37.0 `pkg/driver/node.go` (`NodeGetInfo`: node id =
//!   instance id, segments `topology.ebs.csi.aws.com/zone`, `topology.kubernetes.io/zone`,
//!   `kubernetes.io/os`; `getVolumesLimit`: Nitro instances share 28 attachments with ENIs and
//!   the root device, others have 39; `NodeStageVolume`: `FormatAndMount`, default ext4;
//!   the NVMe device `/dev/nvme<N>n1`).
//!
//! Deviation(upstream): the seed (Kubernetes 1.12, in-tree plugin) shows the mount under
//! `kubernetes.io~aws-ebs`; Kubernetes 1.32 serves `kubernetes.io/aws-ebs` through CSI
//! migration, so the path is the CSI plugin's `kubernetes.io~csi/<pv>/mount`.
//!
//! Not modelled: the staging mount (`…/plugins/kubernetes.io/csi/ebs.csi.aws.com/<hash>/globalmount`),
//! mount options, read-only mounts, subPath, SELinux relabelling, the CSI driver's own
//! DaemonSet pod (the driver registers when the node is Ready).

use super::attach_detach::attachment_name;
use super::{event, kube_err, memory, node_instance, pod_claims, str_at, terminal, unique_name};
use super::{volume_id, Summary, DRIVER, DRIVER_ZONE_KEY, ZONE_LABEL};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::{CSIDriver, CSINode, VolumeAttachment};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How long the kubelet waits for a pod's volumes before `FailedMount` (2 min).
pub const ATTACH_AND_MOUNT_TIMEOUT_MS: u64 = 120_000;
/// The plugins 1.32 migrates to CSI (the CSINode annotation).
pub const MIGRATED_PLUGINS: &str = "kubernetes.io/aws-ebs,kubernetes.io/azure-disk,kubernetes.io/azure-file,kubernetes.io/cinder,kubernetes.io/gce-pd,kubernetes.io/vsphere-volume";

/// A volume mounted for a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The pod's uid.
    pub pod_uid: String,
    /// The node.
    pub node: String,
    /// The PV.
    pub pv: String,
    /// `vol-…`.
    pub volume_id: String,
    /// The kubelet's mount path.
    pub path: String,
    /// The block device on the node (`/dev/nvme1n1`).
    pub device: String,
    /// The filesystem.
    pub fs_type: String,
}

/// Every mount the kubelets hold, ordered by pod uid and PV.
pub fn mounts(ctx: &Context) -> Vec<Mount> {
    memory(ctx).with(|m| m.mounts.values().cloned().collect())
}

/// Whether a volume has been formatted (its filesystem type).
pub fn formatted(ctx: &Context, volume_id: &str) -> Option<String> {
    memory(ctx).with(|m| m.formatted.get(volume_id).cloned())
}

/// Whether every claim `pod` mounts is mounted on its node (true for a pod without claims).
pub async fn volumes_ready(ctx: &Context, pod: &Value) -> Result<bool, Error> {
    let claims = pod_claims(pod);
    if claims.is_empty() {
        return Ok(true);
    }
    let uid = str_at(pod, "/metadata/uid").to_string();
    let ns = str_at(pod, "/metadata/namespace");
    let mut pvs = Vec::new();
    for c in claims {
        let Some(claim) = ctx
            .cache
            .get::<PersistentVolumeClaim>(ns, &c)
            .await
            .map_err(kube_err("get PersistentVolumeClaim".into()))?
        else {
            return Ok(false);
        };
        pvs.push(str_at(&claim, "/spec/volumeName").to_string());
    }
    Ok(memory(ctx).with(|m| {
        pvs.iter()
            .all(|pv| !pv.is_empty() && m.mounts.contains_key(&(uid.clone(), pv.clone())))
    }))
}

/// The driver's attach limit for an instance (`getVolumesLimit`).
pub fn attach_limit(nitro: bool, block_devices: usize, enis: usize) -> i64 {
    if nitro {
        (28 - block_devices as i64 - enis as i64).max(1)
    } else {
        (39 - block_devices as i64).max(1)
    }
}

/// One pass: register the driver on new nodes, mount and unmount, report volumes in use.
pub async fn reconcile_once(ctx: &Context, summary: &mut Summary) -> Result<(), Error> {
    let nodes: Vec<Arc<Value>> = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?
        .into_iter()
        .filter(|n| node_instance(n).is_some() && ready(n))
        .collect();
    let registered: BTreeSet<String> = ctx
        .cache
        .list::<CSINode>()
        .await
        .map_err(kube_err("list CSINodes".into()))?
        .iter()
        .filter(|c| {
            c["spec"]["drivers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d["name"] == DRIVER)
        })
        .map(|c| str_at(c, "/metadata/name").to_string())
        .collect();
    let mut driver_ensured = false;
    for n in &nodes {
        if !registered.contains(str_at(n, "/metadata/name")) {
            if !driver_ensured {
                ensure_csi_driver(ctx, summary).await?;
                driver_ensured = true;
            }
            register(ctx, n, summary).await?;
        }
    }
    let node_names: BTreeSet<&str> = nodes.iter().map(|n| str_at(n, "/metadata/name")).collect();
    let pods = ctx
        .cache
        .list::<Pod>()
        .await
        .map_err(|e| Error::ListPods(Box::new(e)))?;
    let mut in_use: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut live_pods: BTreeSet<String> = BTreeSet::new();
    for pod in &pods {
        let node = str_at(pod, "/spec/nodeName");
        if !node_names.contains(node) || terminal(pod) || pod_claims(pod).is_empty() {
            continue;
        }
        live_pods.insert(str_at(pod, "/metadata/uid").to_string());
        mount_pod(ctx, pod, node, &mut in_use, summary).await?;
    }
    // Unmount the volumes of pods that are gone.
    memory(ctx).with(|m| {
        m.mounts.retain(|(uid, _), _| live_pods.contains(uid));
        for mount in m.mounts.values() {
            in_use
                .entry(mount.node.clone())
                .or_default()
                .insert(unique_name(&mount.volume_id));
        }
    });
    let api: Api<Node> = Api::all(ctx.kube.clone());
    for n in &nodes {
        let name = str_at(n, "/metadata/name");
        let want: Vec<Value> = in_use
            .get(name)
            .into_iter()
            .flatten()
            .map(|u| json!(u))
            .collect();
        let live = n["status"]["volumesInUse"]
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
            &Patch::Merge(json!({"status": {"volumesInUse": value}})),
        )
        .await
        .map_err(|source| Error::PatchNode {
            name: name.to_string(),
            source: Box::new(source),
        })?;
        summary.writes += 1;
    }
    Ok(())
}

fn ready(n: &Value) -> bool {
    n["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The `CSIDriver` object the driver's Helm chart installs (`templates/csidriver.yaml`:
/// attachRequired, no pod info on mount, `fsGroupPolicy: File`), created before the first node
/// registers; an existing one is left as it is.
async fn ensure_csi_driver(ctx: &Context, summary: &mut Summary) -> Result<(), Error> {
    let api: Api<CSIDriver> = Api::all(ctx.kube.clone());
    let obj: CSIDriver = serde_json::from_value(json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
        "metadata": {"name": DRIVER, "labels": {"app.kubernetes.io/name": "aws-ebs-csi-driver"}},
        "spec": {"attachRequired": true, "podInfoOnMount": false, "fsGroupPolicy": "File"},
    }))
    .map_err(|source| Error::Build {
        what: "CSIDriver",
        source,
    })?;
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => {
            summary.writes += 1;
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(kube_err(format!("create CSIDriver {DRIVER}"))(e)),
    }
}

/// The driver registers with the kubelet: CSINode entry and topology labels.
async fn register(ctx: &Context, node: &Value, summary: &mut Summary) -> Result<(), Error> {
    let name = str_at(node, "/metadata/name");
    let Some(instance_id) = node_instance(node) else {
        return Ok(());
    };
    let out = ctx
        .aws
        .call(
            "ec2:DescribeInstances",
            &json!({"InstanceIds": [instance_id]}),
        )
        .map_err(super::aws_err(format!(
            "ec2:DescribeInstances {instance_id}"
        )))?;
    let inst = &out["Reservations"][0]["Instances"][0];
    let ty = str_at(inst, "/InstanceType").to_string();
    let devices = inst["BlockDeviceMappings"].as_array().map_or(1, Vec::len);
    let enis = inst["NetworkInterfaces"].as_array().map_or(1, Vec::len);
    let nitro = hypervisor(ctx, &ty)? == "nitro";
    let count = attach_limit(nitro, devices, enis);
    let zone = str_at(node, "/metadata/labels/topology.kubernetes.io~1zone");
    let csinode = json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "CSINode",
        "metadata": {
            "name": name,
            "annotations": {"storage.alpha.kubernetes.io/migrated-plugins": MIGRATED_PLUGINS},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}],
        },
        "spec": {"drivers": [{
            "name": DRIVER, "nodeID": instance_id,
            "topologyKeys": ["kubernetes.io/os", DRIVER_ZONE_KEY, ZONE_LABEL],
            "allocatable": {"count": count},
        }]},
    });
    let api: Api<CSINode> = Api::all(ctx.kube.clone());
    let obj: CSINode = serde_json::from_value(csinode.clone()).map_err(|source| Error::Build {
        what: "CSINode",
        source,
    })?;
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {
            api.patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": csinode["spec"]})),
            )
            .await
            .map_err(kube_err(format!("patch CSINode {name}")))?;
        }
        Err(e) => return Err(kube_err(format!("create CSINode {name}"))(e)),
    }
    summary.writes += 1;
    if !zone.is_empty() && str_at(node, "/metadata/labels/topology.ebs.csi.aws.com~1zone") != zone {
        let nodes: Api<Node> = Api::all(ctx.kube.clone());
        nodes
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {DRIVER_ZONE_KEY: zone}}})),
            )
            .await
            .map_err(|source| Error::PatchNode {
                name: name.to_string(),
                source: Box::new(source),
            })?;
        summary.writes += 1;
    }
    Ok(())
}

/// An instance type's hypervisor (`ec2:DescribeInstanceTypes`, remembered).
fn hypervisor(ctx: &Context, ty: &str) -> Result<String, Error> {
    if let Some(h) = memory(ctx).with(|m| m.hypervisors.get(ty).cloned()) {
        return Ok(h);
    }
    let out = ctx
        .aws
        .call("ec2:DescribeInstanceTypes", &json!({"InstanceTypes": [ty]}))
        .map_err(|e| Error::DescribeInstanceTypes(Box::new(e)))?;
    let h = str_at(&out, "/InstanceTypes/0/Hypervisor").to_string();
    memory(ctx).with(|m| m.hypervisors.insert(ty.to_string(), h.clone()));
    Ok(h)
}

/// Mounts a pod's attached volumes; writes ContainerCreating while some are missing.
async fn mount_pod(
    ctx: &Context,
    pod: &Value,
    node: &str,
    in_use: &mut BTreeMap<String, BTreeSet<String>>,
    summary: &mut Summary,
) -> Result<(), Error> {
    let uid = str_at(pod, "/metadata/uid").to_string();
    let ns = str_at(pod, "/metadata/namespace");
    let mut missing: Vec<String> = Vec::new();
    let mut unattached: Vec<String> = Vec::new();
    for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        let Some(claim_name) = v["persistentVolumeClaim"]["claimName"].as_str() else {
            continue;
        };
        let vol_name = str_at(v, "/name").to_string();
        let claim = ctx
            .cache
            .get::<PersistentVolumeClaim>(ns, claim_name)
            .await
            .map_err(kube_err("get PersistentVolumeClaim".into()))?;
        let pv_name = claim
            .as_deref()
            .map(|c| str_at(c, "/spec/volumeName").to_string())
            .unwrap_or_default();
        let pv = if pv_name.is_empty() {
            None
        } else {
            ctx.cache
                .get::<PersistentVolume>("", &pv_name)
                .await
                .map_err(kube_err("get PersistentVolume".into()))?
        };
        let Some((pv, vol)) = pv.and_then(|pv| volume_id(&pv).map(|id| (pv, id))) else {
            missing.push(vol_name.clone());
            unattached.push(vol_name);
            continue;
        };
        in_use
            .entry(node.to_string())
            .or_default()
            .insert(unique_name(&vol));
        if memory(ctx).with(|m| m.mounts.contains_key(&(uid.clone(), pv_name.clone()))) {
            continue;
        }
        let va = ctx
            .cache
            .get::<VolumeAttachment>("", &attachment_name(&vol, node))
            .await
            .map_err(kube_err("get VolumeAttachment".into()))?;
        let Some(va) = va.filter(|va| va["status"]["attached"] == true) else {
            missing.push(vol_name.clone());
            unattached.push(vol_name);
            continue;
        };
        let fs = match pv["spec"]["csi"]["fsType"]
            .as_str()
            .or(pv["spec"]["awsElasticBlockStore"]["fsType"].as_str())
        {
            Some(f) if !f.is_empty() => f.to_string(),
            _ => "ext4".to_string(),
        };
        let device = nvme_device(
            ctx,
            &vol,
            str_at(&va, "/status/attachmentMetadata/devicePath"),
        );
        let mount = Mount {
            pod_uid: uid.clone(),
            node: node.to_string(),
            pv: pv_name.clone(),
            volume_id: vol.clone(),
            path: format!("/var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~csi/{pv_name}/mount"),
            device,
            fs_type: fs.clone(),
        };
        memory(ctx).with(|m| {
            m.formatted.entry(vol.clone()).or_insert(fs);
            m.mounts.insert((uid.clone(), pv_name.clone()), mount);
        });
        summary.mounted.push((uid.clone(), pv_name));
    }
    if missing.is_empty() {
        return Ok(());
    }
    waiting_status(ctx, pod, node, summary).await?;
    let started = pod["status"]["startTime"]
        .as_str()
        .and_then(cloudbox_sim::time_fmt::parse_iso8601)
        .unwrap_or(ctx.clock.now().as_millis());
    if ctx.clock.now().as_millis() >= started + ATTACH_AND_MOUNT_TIMEOUT_MS {
        let msg = format!(
            "Unable to attach or mount volumes: unmounted volumes=[{}], unattached volumes=[{}], failed to process volumes=[]: context deadline exceeded",
            missing.join(" "),
            unattached.join(" ")
        );
        let dedup = format!("FailedMount/{uid}/{msg}");
        if event(
            ctx,
            pod,
            "Pod",
            "Warning",
            "FailedMount",
            &msg,
            "kubelet",
            Some(dedup),
        )
        .await?
        {
            summary.writes += 1;
        }
    }
    Ok(())
}

/// The NVMe device a volume shows as on a Nitro instance: `nvme<N>n1`, N its position among the
/// instance's block devices (the root volume is `nvme0n1`).
fn nvme_device(ctx: &Context, vol: &str, device_path: &str) -> String {
    let out = ctx
        .aws
        .call("ec2:DescribeVolumes", &json!({"VolumeIds": [vol]}));
    let instance = out.ok().and_then(|o| {
        o["Volumes"][0]["Attachments"][0]["InstanceId"]
            .as_str()
            .map(str::to_string)
    });
    let Some(instance) = instance else {
        return device_path.to_string();
    };
    let Ok(out) = ctx
        .aws
        .call("ec2:DescribeInstances", &json!({"InstanceIds": [instance]}))
    else {
        return device_path.to_string();
    };
    let maps = out["Reservations"][0]["Instances"][0]["BlockDeviceMappings"].clone();
    maps.as_array()
        .into_iter()
        .flatten()
        .position(|m| m["Ebs"]["VolumeId"] == vol)
        .map_or_else(|| device_path.to_string(), |i| format!("/dev/nvme{i}n1"))
}

/// The status the kubelet shows while a pod waits for its volumes: Pending, containers waiting
/// in `ContainerCreating`, no pod IP yet (written once).
async fn waiting_status(
    ctx: &Context,
    pod: &Value,
    node: &str,
    summary: &mut Summary,
) -> Result<(), Error> {
    if !pod["status"]["containerStatuses"].is_null()
        || !pod["metadata"]["deletionTimestamp"].is_null()
    {
        return Ok(());
    }
    let n = ctx
        .cache
        .get::<Node>("", node)
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?;
    let host_ip = n
        .as_deref()
        .and_then(|n| n["status"]["addresses"].as_array().cloned())
        .into_iter()
        .flatten()
        .find(|a| a["type"] == "InternalIP")
        .and_then(|a| a["address"].as_str().map(str::to_string))
        .unwrap_or_default();
    let t = ctx.clock.now().to_rfc3339_secs();
    let names: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let statuses: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| json!({
            "name": c["name"], "image": c["image"], "imageID": "", "ready": false, "started": false,
            "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {},
        }))
        .collect();
    let msg = format!("containers with unready status: [{}]", names.join(" "));
    let scheduled = pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "PodScheduled")
        .cloned()
        .unwrap_or_else(|| json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": t}));
    let cond = |ty: &str, ok: bool| {
        let mut c = json!({"type": ty, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": t});
        if ty == "Ready" || ty == "ContainersReady" {
            c["reason"] = json!("ContainersNotReady");
            c["message"] = json!(msg);
        }
        c
    };
    let status = json!({
        "phase": "Pending",
        "conditions": [cond("PodReadyToStartContainers", false), cond("Initialized", true),
            cond("Ready", false), cond("ContainersReady", false), scheduled],
        "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "startTime": t,
        "containerStatuses": statuses,
    });
    let ns = str_at(pod, "/metadata/namespace");
    let name = str_at(pod, "/metadata/name");
    let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), ns);
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .map_err(|source| Error::PatchPod {
        name: format!("{ns}/{name}"),
        source: Box::new(source),
    })?;
    summary.writes += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nitro_shares_attachments() {
        assert_eq!(attach_limit(true, 1, 1), 26);
        assert_eq!(attach_limit(true, 1, 3), 24);
        assert_eq!(attach_limit(false, 1, 3), 38);
    }
}
