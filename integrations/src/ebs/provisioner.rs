//! external-provisioner with the EBS CSI driver's controller service: a claim handed to
//! `ebs.csi.aws.com` gets an EBS volume (`ec2:CreateVolume`, polled to `available`) and a PV
//! named `pvc-<claim uid>` bound to it; a released `Delete` volume is deleted
//! (`ec2:DeleteVolume`) with its PV.
//!
//! Upstream:
//! - kubernetes-csi/external-provisioner@v5.1.0 `pkg/controller/controller.go` (`Provision`:
//!   the PV name `pvc-<uid>`, `--extra-create-metadata` parameters, the PV's CSI source and
//!   `volumeAttributes` `storage.kubernetes.io/csiProvisionerIdentity`, node affinity from the
//!   volume's accessible topology, `--default-fstype=ext4` as the EBS chart sets it;
//!   `pkg/controller/topology.go`: the selected node's topology for WaitForFirstConsumer, the
//!   StorageClass's `allowedTopologies`, else every node's that runs the driver, one preferred
//!   by a hash of the claim name) and sig-storage-lib-external-provisioner v10 (events
//!   `Provisioning` "External provisioner is provisioning volume for claim \"ns/name\"",
//!   `ProvisioningSucceeded` "Successfully provisioned volume pvc-…", `ProvisioningFailed`
//!   "failed to provision volume with StorageClass \"…\": rpc error: code = … desc = …";
//!   exponential retry 1 s → 5 min);
//! - kubernetes/kubernetes@v1.32.4 `staging/src/k8s.io/csi-translation-lib/plugins/aws_ebs.go`
//!   (`TranslateInTreeStorageClassToCSI`: `fsType` → `csi.storage.k8s.io/fstype`, `zone`/`zones`
//!   → topology, `iopsPerGB` adds `allowAutoIOPSPerGBIncrease`; `TranslateCSIPVToInTree`: the PV
//!   of a migrated class has `awsElasticBlockStore.volumeID`, zone and region labels, and
//!   `pv.kubernetes.io/provisioned-by: kubernetes.io/aws-ebs`, `pv.kubernetes.io/migrated-to`);
//! - kubernetes-sigs/aws-ebs-csi-driver@v1.37.0 `pkg/driver/controller.go` (`CreateVolume`:
//!   parameter keys case-insensitive, "Invalid parameter key %s for CreateVolume", default type
//!   gp3, sizes rounded up to GiB, tags `CSIVolumeName`, `ebs.csi.aws.com/cluster=true`, the
//!   `kubernetes.io/created-for/*` tags, with `--k8s-tag-cluster-id` `kubernetes.io/cluster/<id>
//!   =owned`, `KubernetesCluster` and `Name=<id>-dynamic-<pv>`, `tagSpecification_N`;
//!   `DeleteVolume`: a missing volume is deleted) and `pkg/cloud/cloud.go` (`ClientToken` =
//!   sha256 of the PV name, DescribeVolumes until `available`).
//!
//! Not modelled: snapshots and clones as sources, `blockSize`/`inodeSize` and the other mkfs
//! options (accepted, ignored), tag templates beyond `.PVCName`/`.PVCNamespace`/`.PVName`,
//! capacity tracking, the PV's `external-provisioner.volume.kubernetes.io/finalizer`, the
//! in-flight `Aborted` error (one pass handles a claim at a time).

use super::pv_controller::{class_of, delay_binding};
use super::{due, event, fail, key_of, kube_err, memory, round_up_gib, str_at, succeed};
use super::{Summary, ANN_MIGRATED_TO, ANN_PROVISIONED_BY, ANN_SELECTED_NODE};
use super::{ANN_STORAGE_PROVISIONER, DRIVER, DRIVER_ZONE_KEY, IN_TREE, PROVISIONER_IDENTITY};
use super::{REGION_LABEL, ZONE_LABEL};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::{CSINode, StorageClass};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// A volume created and not yet `available`.
#[derive(Debug, Clone)]
pub struct InFlight {
    /// `vol-…`.
    pub volume_id: String,
}

/// What the driver was asked to create, from the class and the claim.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeRequest {
    /// EBS type.
    pub volume_type: String,
    /// GiB.
    pub size_gib: u64,
    /// Provisioned IOPS.
    pub iops: Option<i64>,
    /// gp3 throughput.
    pub throughput: Option<i64>,
    /// Encrypted.
    pub encrypted: bool,
    /// Filesystem.
    pub fs_type: String,
    /// Extra tags (`tagSpecification_N`).
    pub tags: Vec<(String, String)>,
    /// Zones the class allows (`allowedTopologies`, `zone`, `zones`).
    pub zones: Vec<String>,
}

/// `InvalidArgument` from the driver's parameter parsing.
fn invalid(msg: String) -> String {
    format!("rpc error: code = InvalidArgument desc = {msg}")
}

/// The class's parameters as the driver sees them (after CSI translation for the in-tree
/// provisioner), checked; `Err` is the gRPC error text.
pub fn parse_request(class: &Value, claim: &Value, pv_name: &str) -> Result<VolumeRequest, String> {
    let in_tree = str_at(class, "/provisioner") == IN_TREE;
    let mut params: Vec<(String, String)> = Vec::new();
    let mut zones: Vec<String> = Vec::new();
    for (k, v) in class["parameters"].as_object().into_iter().flatten() {
        let v = v.as_str().unwrap_or_default().to_string();
        match (in_tree, k.to_lowercase().as_str()) {
            (true, "fstype") => params.push(("csi.storage.k8s.io/fstype".into(), v)),
            (true, "zone") => zones = vec![v],
            (true, "zones") => zones = v.split(',').map(|z| z.trim().to_string()).collect(),
            (true, "iopspergb") => {
                params.push((k.clone(), v));
                params.push(("allowAutoIOPSPerGBIncrease".into(), "true".into()));
            }
            _ => params.push((k.clone(), v)),
        }
    }
    for term in class["allowedTopologies"].as_array().into_iter().flatten() {
        for e in term["matchLabelExpressions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if e["key"] == ZONE_LABEL || e["key"] == DRIVER_ZONE_KEY {
                zones.extend(
                    e["values"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|z| z.as_str().map(str::to_string)),
                );
            }
        }
    }
    let size_gib = round_up_gib(str_at(claim, "/spec/resources/requests/storage"))
        .unwrap_or(1)
        .max(1);
    let mut req = VolumeRequest {
        volume_type: "gp3".into(),
        size_gib,
        iops: None,
        throughput: None,
        encrypted: false,
        fs_type: "ext4".into(),
        tags: Vec::new(),
        zones,
    };
    let (mut iops_per_gb, mut auto_increase) = (None, false);
    let parse_int = |k: &str, v: &str| {
        v.parse::<i64>()
            .map_err(|_| invalid(format!("Could not parse {k} value {v:?}")))
    };
    for (k, v) in &params {
        let lower = k.to_lowercase();
        match lower.as_str() {
            "type" => req.volume_type = v.to_lowercase(),
            "csi.storage.k8s.io/fstype" | "fstype" => req.fs_type = v.to_lowercase(),
            "iops" => req.iops = Some(parse_int(k, v)?),
            "iopspergb" => iops_per_gb = Some(parse_int(k, v)?),
            "allowautoiopspergbincrease" => auto_increase = v == "true",
            "throughput" => req.throughput = Some(parse_int(k, v)?),
            "encrypted" => req.encrypted = v == "true",
            "kmskeyid" | "blockexpress" | "blocksize" | "inodesize" | "bytesperinode"
            | "numberofinodes" | "ext4bigalloc" | "ext4clustersize" => {}
            _ if lower.starts_with("tagspecification") => {
                let (tk, tv) = v.split_once('=').unwrap_or((v.as_str(), ""));
                let tv = tv
                    .replace("{{ .PVCName }}", str_at(claim, "/metadata/name"))
                    .replace("{{ .PVCNamespace }}", str_at(claim, "/metadata/namespace"))
                    .replace("{{ .PVName }}", pv_name);
                req.tags
                    .push((tk.trim().to_string(), tv.trim().to_string()));
            }
            _ if lower.starts_with("csi.storage.k8s.io/") => {}
            _ => {
                return Err(invalid(format!(
                    "Invalid parameter key {k} for CreateVolume"
                )))
            }
        }
    }
    if !matches!(
        req.volume_type.as_str(),
        "gp2" | "gp3" | "io1" | "io2" | "st1" | "sc1" | "standard"
    ) {
        return Err(invalid(format!("Invalid volume type {}", req.volume_type)));
    }
    if req.iops.is_some() && iops_per_gb.is_some() {
        return Err(invalid(
            "invalid StorageClass parameters; specify either IOPS or IOPSPerGb, not both".into(),
        ));
    }
    if let Some(per) = iops_per_gb {
        let (min, max) = match req.volume_type.as_str() {
            "io1" => (100, 64_000),
            "io2" => (100, 64_000),
            _ => (3_000, 16_000),
        };
        let mut iops = per * req.size_gib as i64;
        if iops < min && auto_increase {
            iops = min;
        }
        req.iops = Some(iops.min(max));
    }
    if !matches!(
        req.fs_type.as_str(),
        "ext2" | "ext3" | "ext4" | "xfs" | "ntfs"
    ) {
        return Err(invalid(format!("Invalid fsType {}", req.fs_type)));
    }
    Ok(req)
}

/// The driver's volume tags.
pub fn volume_tags(
    cluster: &str,
    claim: &Value,
    pv_name: &str,
    extra: &[(String, String)],
) -> Value {
    let mut tags = vec![
        ("CSIVolumeName".to_string(), pv_name.to_string()),
        ("ebs.csi.aws.com/cluster".into(), "true".into()),
        (
            "kubernetes.io/created-for/pvc/name".into(),
            str_at(claim, "/metadata/name").to_string(),
        ),
        (
            "kubernetes.io/created-for/pvc/namespace".into(),
            str_at(claim, "/metadata/namespace").to_string(),
        ),
        (
            "kubernetes.io/created-for/pv/name".into(),
            pv_name.to_string(),
        ),
        (format!("kubernetes.io/cluster/{cluster}"), "owned".into()),
        ("KubernetesCluster".into(), cluster.to_string()),
        ("Name".into(), format!("{cluster}-dynamic-{pv_name}")),
    ];
    tags.extend(extra.iter().cloned());
    Value::Array(
        tags.into_iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

/// FNV-1a (32 bit), as external-provisioner hashes a claim name to pick a zone.
fn fnv32(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// One pass: provision waiting claims, then delete released `Delete` volumes.
pub async fn reconcile_once(ctx: &Context, summary: &mut Summary) -> Result<(), Error> {
    let ctx = &ctx.as_addon(&crate::charts::EBS_CSI_DRIVER).await?;
    let claims = ctx
        .cache
        .list::<PersistentVolumeClaim>()
        .await
        .map_err(kube_err("list PersistentVolumeClaims".into()))?;
    let volumes = ctx
        .cache
        .list::<PersistentVolume>()
        .await
        .map_err(kube_err("list PersistentVolumes".into()))?;
    let provisioned: BTreeSet<String> = volumes
        .iter()
        .map(|v| str_at(v, "/metadata/name").to_string())
        .collect();
    for claim in &claims {
        let waiting = str_at(claim, "/spec/volumeName").is_empty()
            && claim["metadata"]["deletionTimestamp"].is_null()
            && claim["metadata"]["annotations"][ANN_STORAGE_PROVISIONER] == DRIVER
            && str_at(claim, "/status/phase") != "Bound";
        let pv_name = format!("pvc-{}", str_at(claim, "/metadata/uid"));
        if waiting && !provisioned.contains(&pv_name) {
            provision(ctx, claim, &pv_name, summary).await?;
        }
    }
    for pv in &volumes {
        let by = str_at(
            pv,
            &format!(
                "/metadata/annotations/{}",
                ANN_PROVISIONED_BY.replace('/', "~1")
            ),
        );
        if str_at(pv, "/status/phase") == "Released"
            && str_at(pv, "/spec/persistentVolumeReclaimPolicy") == "Delete"
            && (by == DRIVER || by == IN_TREE)
            && pv["metadata"]["deletionTimestamp"].is_null()
        {
            delete(ctx, pv, summary).await?;
        }
    }
    Ok(())
}

async fn failed(
    ctx: &Context,
    claim: &Value,
    class: &str,
    err: &str,
    key: &str,
) -> Result<(), Error> {
    fail(ctx, key);
    let msg = format!("failed to provision volume with StorageClass {class:?}: {err}");
    event(
        ctx,
        claim,
        "PersistentVolumeClaim",
        "Warning",
        "ProvisioningFailed",
        &msg,
        PROVISIONER_IDENTITY,
        None,
    )
    .await?;
    Ok(())
}

/// The zone the volume goes to: the selected node's, else one of the allowed or the nodes'.
async fn pick_zone(
    ctx: &Context,
    claim: &Value,
    req: &VolumeRequest,
) -> Result<Option<String>, Error> {
    let nodes = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?;
    let selected = str_at(
        claim,
        &format!(
            "/metadata/annotations/{}",
            ANN_SELECTED_NODE.replace('/', "~1")
        ),
    );
    if !selected.is_empty() {
        let zone = nodes
            .iter()
            .find(|n| str_at(n, "/metadata/name") == selected)
            .map(|n| str_at(n, "/metadata/labels/topology.kubernetes.io~1zone").to_string());
        return Ok(zone.filter(|z| !z.is_empty()));
    }
    let mut zones: BTreeSet<String> = req.zones.iter().cloned().collect();
    if zones.is_empty() {
        let csinodes = ctx
            .cache
            .list::<CSINode>()
            .await
            .map_err(kube_err("list CSINodes".into()))?;
        let with_driver: BTreeSet<&str> = csinodes
            .iter()
            .filter(|c| {
                c["spec"]["drivers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|d| d["name"] == DRIVER)
            })
            .map(|c| str_at(c, "/metadata/name"))
            .collect();
        zones = nodes
            .iter()
            .filter(|n| with_driver.contains(str_at(n, "/metadata/name")))
            .map(|n| str_at(n, "/metadata/labels/topology.kubernetes.io~1zone").to_string())
            .filter(|z| !z.is_empty())
            .collect();
    }
    let zones: Vec<String> = zones.into_iter().collect();
    if zones.is_empty() {
        return Ok(None);
    }
    let i = fnv32(str_at(claim, "/metadata/name")) as usize % zones.len();
    Ok(Some(zones[i].clone()))
}

async fn provision(
    ctx: &Context,
    claim: &Value,
    pv_name: &str,
    summary: &mut Summary,
) -> Result<(), Error> {
    let uid = str_at(claim, "/metadata/uid").to_string();
    let key = format!("provision/{uid}");
    if !due(ctx, &key) {
        return Ok(());
    }
    let class_name = class_of(claim);
    let Some(class) = ctx
        .cache
        .get::<StorageClass>("", &class_name)
        .await
        .map_err(kube_err("get StorageClass".into()))?
    else {
        let err = format!("storageclass.storage.k8s.io {class_name:?} not found");
        return failed(ctx, claim, &class_name, &err, &key).await;
    };
    if delay_binding(Some(&class))
        && claim["metadata"]["annotations"][ANN_SELECTED_NODE]
            .as_str()
            .is_none()
    {
        return Ok(());
    }
    let in_flight = memory(ctx).with(|m| m.provisioning.get(&uid).cloned());
    let req = match parse_request(&class, claim, pv_name) {
        Ok(r) => r,
        Err(e) => return failed(ctx, claim, &class_name, &e, &key).await,
    };
    let Some(f) = in_flight else {
        let msg = format!(
            "External provisioner is provisioning volume for claim {:?}",
            key_of(claim)
        );
        event(
            ctx,
            claim,
            "PersistentVolumeClaim",
            "Normal",
            "Provisioning",
            &msg,
            PROVISIONER_IDENTITY,
            None,
        )
        .await?;
        summary.writes += 1;
        let Some(zone) = pick_zone(ctx, claim, &req).await? else {
            let err = "rpc error: code = InvalidArgument desc = no topology key found on CSINode of any node";
            return failed(ctx, claim, &class_name, err, &key).await;
        };
        let token = hex(&Sha256::digest(pv_name.as_bytes()));
        let mut input = json!({
            "AvailabilityZone": zone,
            "Size": req.size_gib,
            "VolumeType": req.volume_type,
            "Encrypted": req.encrypted,
            "ClientToken": token,
            "TagSpecifications": [{"ResourceType": "volume",
                "Tags": volume_tags(&ctx.config.cluster, claim, pv_name, &req.tags)}],
        });
        if let Some(i) = req
            .iops
            .filter(|_| matches!(req.volume_type.as_str(), "io1" | "io2" | "gp3"))
        {
            input["Iops"] = json!(i);
        }
        if let Some(t) = req.throughput.filter(|_| req.volume_type == "gp3") {
            input["Throughput"] = json!(t);
        }
        match ctx.aws.call("ec2:CreateVolume", &input) {
            Ok(out) => {
                let id = str_at(&out, "/VolumeId").to_string();
                summary.created.push(id.clone());
                memory(ctx).with(|m| {
                    m.provisioning
                        .insert(uid.clone(), InFlight { volume_id: id })
                });
            }
            Err(e) => {
                let err = format!(
                    "rpc error: code = Internal desc = Could not create volume {pv_name:?}: api error {}: {}",
                    e.code.as_str(), e.message
                );
                return failed(ctx, claim, &class_name, &err, &key).await;
            }
        }
        return Ok(());
    };
    let out = ctx
        .aws
        .call("ec2:DescribeVolumes", &json!({"VolumeIds": [f.volume_id]}));
    let vol = match out {
        Ok(o) => o["Volumes"][0].clone(),
        Err(e) => {
            memory(ctx).with(|m| m.provisioning.remove(&uid));
            let err = format!(
                "rpc error: code = Internal desc = Could not create volume {pv_name:?}: {}",
                e.message
            );
            return failed(ctx, claim, &class_name, &err, &key).await;
        }
    };
    match str_at(&vol, "/State") {
        "creating" => return Ok(()),
        "available" => {}
        s => {
            memory(ctx).with(|m| m.provisioning.remove(&uid));
            let err = format!("rpc error: code = Internal desc = Could not create volume {pv_name:?}: volume in state {s}");
            return failed(ctx, claim, &class_name, &err, &key).await;
        }
    }
    let pv = persistent_volume(ctx, &class, claim, pv_name, &vol, &req);
    let pv: PersistentVolume = serde_json::from_value(pv).map_err(|source| Error::Build {
        what: "PersistentVolume",
        source,
    })?;
    let api: Api<PersistentVolume> = Api::all(ctx.kube.clone());
    match api.create(&PostParams::default(), &pv).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(kube_err(format!("create PersistentVolume {pv_name}"))(e)),
    }
    memory(ctx).with(|m| m.provisioning.remove(&uid));
    succeed(ctx, &key);
    summary.provisioned.push(pv_name.to_string());
    summary.writes += 2;
    let msg = format!("Successfully provisioned volume {pv_name}");
    event(
        ctx,
        claim,
        "PersistentVolumeClaim",
        "Normal",
        "ProvisioningSucceeded",
        &msg,
        PROVISIONER_IDENTITY,
        None,
    )
    .await?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The PV external-provisioner writes (translated back to in-tree for a migrated class).
fn persistent_volume(
    ctx: &Context,
    class: &Value,
    claim: &Value,
    pv_name: &str,
    vol: &Value,
    req: &VolumeRequest,
) -> Value {
    let zone = str_at(vol, "/AvailabilityZone");
    let vol_id = str_at(vol, "/VolumeId");
    let in_tree = str_at(class, "/provisioner") == IN_TREE;
    let mut annotations = json!({ANN_PROVISIONED_BY: str_at(class, "/provisioner")});
    let mut labels = json!({});
    let affinity = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": ZONE_LABEL, "operator": "In", "values": [zone]}]}]}});
    let mut spec = json!({
        "accessModes": claim["spec"]["accessModes"],
        "capacity": {"storage": format!("{}Gi", req.size_gib)},
        "claimRef": {
            "kind": "PersistentVolumeClaim", "apiVersion": "v1",
            "namespace": claim["metadata"]["namespace"], "name": claim["metadata"]["name"],
            "uid": claim["metadata"]["uid"], "resourceVersion": claim["metadata"]["resourceVersion"],
        },
        "persistentVolumeReclaimPolicy": class.get("reclaimPolicy").cloned().unwrap_or(json!("Delete")),
        "storageClassName": class["metadata"]["name"],
        "volumeMode": claim["spec"]["volumeMode"].as_str().unwrap_or("Filesystem"),
        "nodeAffinity": affinity,
    });
    if let Some(m) = class.get("mountOptions") {
        spec["mountOptions"] = m.clone();
    }
    if in_tree {
        annotations[ANN_MIGRATED_TO] = json!(DRIVER);
        let region = ctx.aws.region().to_string();
        labels = json!({ZONE_LABEL: zone, REGION_LABEL: region});
        spec["awsElasticBlockStore"] = json!({"volumeID": vol_id, "fsType": req.fs_type});
    } else {
        let identity = format!("{}-{}-{DRIVER}", ctx.clock.now().as_millis(), 8081);
        spec["csi"] = json!({
            "driver": DRIVER, "volumeHandle": vol_id, "fsType": req.fs_type,
            "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": identity},
        });
    }
    json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv_name, "annotations": annotations, "labels": labels},
        "spec": spec,
    })
}

async fn delete(ctx: &Context, pv: &Value, summary: &mut Summary) -> Result<(), Error> {
    let name = str_at(pv, "/metadata/name");
    let key = format!("delete/{name}");
    if !due(ctx, &key) {
        return Ok(());
    }
    if let Some(vol) = super::volume_id(pv) {
        match ctx.aws.call("ec2:DeleteVolume", &json!({"VolumeId": vol})) {
            Ok(_) => summary.deleted.push(vol),
            Err(e) if e.code.as_str() == "InvalidVolume.NotFound" => {}
            Err(e) => {
                fail(ctx, &key);
                let msg = format!(
                    "rpc error: code = Internal desc = Could not delete volume ID {vol:?}: {}",
                    e.message
                );
                event(
                    ctx,
                    pv,
                    "PersistentVolume",
                    "Warning",
                    "VolumeFailedDelete",
                    &msg,
                    PROVISIONER_IDENTITY,
                    None,
                )
                .await?;
                return Ok(());
            }
        }
    }
    succeed(ctx, &key);
    let api: Api<PersistentVolume> = Api::all(ctx.kube.clone());
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => return Err(kube_err(format!("delete PersistentVolume {name}"))(e)),
    }
    summary.writes += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_tree_parameters_translate() {
        let class = json!({"provisioner": IN_TREE, "parameters": {"type": "gp2", "fsType": "xfs"}});
        let claim = json!({"metadata": {"name": "c", "namespace": "default"},
            "spec": {"resources": {"requests": {"storage": "30Gi"}}}});
        let r = parse_request(&class, &claim, "pvc-1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.volume_type.as_str(), r.size_gib, r.fs_type.as_str()),
            ("gp2", 30, "xfs")
        );
    }

    #[test]
    fn unknown_keys_are_invalid() {
        let class = json!({"provisioner": DRIVER, "parameters": {"colour": "blue"}});
        let claim = json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}});
        let e = parse_request(&class, &claim, "pvc-1")
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("Invalid parameter key colour for CreateVolume"),
            "{e}"
        );
    }

    #[test]
    fn csi_defaults_to_gp3_ext4() {
        let class = json!({"provisioner": DRIVER});
        let claim = json!({"spec": {"resources": {"requests": {"storage": "1500Mi"}}}});
        let r = parse_request(&class, &claim, "pvc-1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.volume_type.as_str(), r.size_gib, r.fs_type.as_str()),
            ("gp3", 2, "ext4")
        );
    }
}
