//! EBS volumes for PersistentVolumeClaims: the Kubernetes 1.32 control-plane and node pieces that
//! turn a claim into an EBS volume attached to the instance of the pod's node, one module each.
//!
//! Upstream (the versions a Kubernetes 1.32 cluster on AWS runs together):
//! - kubernetes/kubernetes@v1.32.4: the PV controller (`pkg/controller/volume/persistentvolume`),
//!   the attach/detach controller (`pkg/controller/volume/attachdetach`), the kubelet's volume
//!   manager and CSI volume plugin (`pkg/kubelet/volumemanager`, `pkg/volume/csi`), CSI migration
//!   of `kubernetes.io/aws-ebs` (`staging/src/k8s.io/csi-translation-lib/plugins/aws_ebs.go`, GA
//!   since 1.25, in-tree plugin removed in 1.27) and the scheduler's volume plugins;
//! - kubernetes-csi/external-provisioner@v5.1.0 (with `--extra-create-metadata`,
//!   `--feature-gates=Topology=true`), kubernetes-csi/external-attacher@v4.7.0,
//!   kubernetes-csi/external-resizer@v1.12.0;
//! - kubernetes-sigs/aws-ebs-csi-driver@v1.37.0 (`pkg/driver/controller.go`, `node.go`,
//!   `pkg/cloud/cloud.go`, `pkg/cloud/devicemanager`), run with `--k8s-tag-cluster-id=<cluster>`.
//!
//! The modules, in the order [`reconcile_once`] runs them:
//! - [`pv_controller`]: binding claims and volumes, phases, `Released`, provisioning hand-off;
//! - [`provisioner`]: external-provisioner + the driver's CreateVolume/DeleteVolume;
//! - [`attach_detach`]: VolumeAttachments for pods' volumes, Multi-Attach, `volumesAttached`;
//! - [`attacher`]: external-attacher + the driver's ControllerPublish/Unpublish (AttachVolume);
//! - [`kubelet`]: CSINode registration, mount/format/unmount, `volumesInUse`, the pod gate;
//! - [`resizer`]: external-resizer + ModifyVolume, the kubelet's filesystem resize;
//! - [`scheduling`]: the scheduler's VolumeBinding, VolumeZone and NodeVolumeLimits filters.
//!
//! Not modelled: snapshots, clones, block-mode volumes, ephemeral (inline) volumes,
//! VolumeAttributesClass, multi-attach io1/io2, KMS keys, PV/PVC protection finalizers, the
//! in-tree plugin's own provisioning (1.32 has none: every `kubernetes.io/aws-ebs` claim goes
//! through the CSI driver).

pub mod attach_detach;
pub mod attacher;
pub mod kubelet;
pub mod provisioner;
pub mod pv_controller;
pub mod resizer;
pub mod scheduling;

use crate::{Context, Error};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, PostParams};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// The CSI driver's name.
pub const DRIVER: &str = "ebs.csi.aws.com";
/// The in-tree plugin's name, migrated to [`DRIVER`].
pub const IN_TREE: &str = "kubernetes.io/aws-ebs";
/// The zone label and topology key (the driver's from v1.30 on).
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The region label.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// The driver's own topology key (NodeGetInfo reports it beside [`ZONE_LABEL`]).
pub const DRIVER_ZONE_KEY: &str = "topology.ebs.csi.aws.com/zone";
/// Claim annotation: the provisioner that is to provision it.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// Claim annotation (beta twin of [`ANN_STORAGE_PROVISIONER`]).
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// Claim annotation the scheduler sets for WaitForFirstConsumer.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// Claim annotation: the resizer that is to expand it (the expand controller's hand-off).
pub const ANN_STORAGE_RESIZER: &str = "volume.kubernetes.io/storage-resizer";
/// Object annotation naming the CSI driver a migrated plugin's object is served by.
pub const ANN_MIGRATED_TO: &str = "pv.kubernetes.io/migrated-to";
/// PV annotation: the plugin that provisioned it.
pub const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// The external-attacher's VolumeAttachment finalizer.
pub const ATTACHER_FINALIZER: &str = "external-attacher/ebs-csi-aws-com";
/// The identity external-provisioner reports in its events (`<driver>_<pod>_<uuid>`).
pub const PROVISIONER_IDENTITY: &str =
    "ebs.csi.aws.com_ebs-csi-controller-6d9b9f8c7d-x2k4q_8f2c4b9e-1a7d-4c3e-9b0f-5d6e7f8a9b0c";

/// What one pass of every EBS component did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Claims bound (`namespace/name` → PV).
    pub bound: Vec<(String, String)>,
    /// EBS volumes created.
    pub created: Vec<String>,
    /// PVs created by the provisioner.
    pub provisioned: Vec<String>,
    /// EBS volumes deleted.
    pub deleted: Vec<String>,
    /// Volumes attached (`vol-…`, instance).
    pub attached: Vec<(String, String)>,
    /// Volumes detached.
    pub detached: Vec<String>,
    /// Volumes mounted for pods (`pod uid`, PV).
    pub mounted: Vec<(String, String)>,
    /// Volumes resized.
    pub resized: Vec<String>,
    /// Every write to the API server.
    pub writes: usize,
}

/// One pass of every EBS component, in the order a change flows through them.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let mut s = Summary::default();
    pv_controller::reconcile_once(ctx, &mut s).await?;
    provisioner::reconcile_once(ctx, &mut s).await?;
    pv_controller::reconcile_once(ctx, &mut s).await?;
    attach_detach::reconcile_once(ctx, &mut s).await?;
    attacher::reconcile_once(ctx, &mut s).await?;
    kubelet::reconcile_once(ctx, &mut s).await?;
    resizer::reconcile_once(ctx, &mut s).await?;
    Ok(s)
}

/// What the EBS components keep in their processes' memory between passes.
#[derive(Debug, Default)]
pub struct EbsMemory {
    inner: Mutex<Inner>,
}

/// The state behind [`EbsMemory`].
#[derive(Debug, Default)]
pub(crate) struct Inner {
    /// Events already recorded (`<reason>/<object uid>[/<detail>]`): the recorders' dedup.
    pub events: BTreeSet<String>,
    /// Claims being provisioned (claim uid).
    pub provisioning: BTreeMap<String, provisioner::InFlight>,
    /// Retry times of failed operations (`<op>/<key>` → (due ms, next backoff ms)).
    pub backoff: BTreeMap<String, (u64, u64)>,
    /// Volumes formatted on first mount (`vol-…` → fsType).
    pub formatted: BTreeMap<String, String>,
    /// The kubelets' mounts.
    pub mounts: BTreeMap<(String, String), kubelet::Mount>,
    /// Instance types' hypervisors (`c5.large` → `nitro`).
    pub hypervisors: BTreeMap<String, String>,
    /// PVs whose EBS volume is being modified (PV name → target GiB).
    pub resizing: BTreeMap<String, u64>,
}

impl EbsMemory {
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }
}

/// The memory of the EBS components.
pub(crate) fn memory(ctx: &Context) -> std::sync::Arc<EbsMemory> {
    ctx.memory.get::<EbsMemory>()
}

/// Whether an operation keyed `key` may run now (not in backoff).
pub(crate) fn due(ctx: &Context, key: &str) -> bool {
    let now = ctx.clock.now().as_millis();
    memory(ctx).with(|m| m.backoff.get(key).is_none_or(|(t, _)| *t <= now))
}

/// Records a failure of `key`: retry after an exponential backoff (1 s doubling to 5 min, the
/// sidecars' `--retry-interval-start` / `--retry-interval-max`).
pub(crate) fn fail(ctx: &Context, key: &str) {
    let now = ctx.clock.now().as_millis();
    memory(ctx).with(|m| {
        let next = m.backoff.get(key).map_or(1_000, |(_, b)| *b);
        m.backoff
            .insert(key.to_string(), (now + next, (next * 2).min(300_000)));
    });
}

/// Clears the backoff of `key` after a success.
pub(crate) fn succeed(ctx: &Context, key: &str) {
    memory(ctx).with(|m| m.backoff.remove(key));
}

pub(crate) use crate::json::str_at;

pub(crate) fn key_of(v: &Value) -> String {
    format!(
        "{}/{}",
        str_at(v, "/metadata/namespace"),
        str_at(v, "/metadata/name")
    )
}

pub(crate) fn kube_err(what: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Workload {
        what,
        source: Box::new(source),
    }
}

pub(crate) fn aws_err(what: String) -> impl FnOnce(cloudbox_aws::AwsError) -> Error {
    move |source| Error::Aws {
        what,
        source: Box::new(source),
    }
}

/// Bytes of a quantity (`30Gi`, `1G`, `1073741824`), rounded up.
pub fn quantity_bytes(q: &str) -> Option<u128> {
    crate::scheduler::parse_quantity_milli(q).map(|m| (m.max(0) as u128).div_ceil(1000))
}

/// GiB of a quantity, rounded up as the driver rounds (`RoundUpToGiB`).
pub fn round_up_gib(q: &str) -> Option<u64> {
    quantity_bytes(q).map(|b| b.div_ceil(1 << 30) as u64)
}

/// The access modes of a claim or volume.
pub(crate) fn access_modes(v: &Value) -> BTreeSet<String> {
    v["spec"]["accessModes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect()
}

/// The EBS volume id of a PV (CSI `volumeHandle` or in-tree `volumeID`, `aws://<az>/vol-…`).
pub fn volume_id(pv: &Value) -> Option<String> {
    if pv["spec"]["csi"]["driver"] == DRIVER {
        return pv["spec"]["csi"]["volumeHandle"]
            .as_str()
            .map(str::to_string);
    }
    let id = pv["spec"]["awsElasticBlockStore"]["volumeID"].as_str()?;
    let id = id.rsplit('/').next().unwrap_or(id);
    id.starts_with("vol-").then(|| id.to_string())
}

/// The unique volume name the kubelet and attach/detach controller use
/// (`kubernetes.io/csi/ebs.csi.aws.com^vol-…`).
pub fn unique_name(vol: &str) -> String {
    format!("kubernetes.io/csi/{DRIVER}^{vol}")
}

/// The instance id of a node (`spec.providerID` `aws:///<az>/i-…`).
pub(crate) fn node_instance(node: &Value) -> Option<String> {
    crate::cloud_node::instance_id(str_at(node, "/spec/providerID")).map(str::to_string)
}

/// The claims a pod mounts (`spec.volumes[].persistentVolumeClaim.claimName`).
pub fn pod_claims(pod: &Value) -> Vec<String> {
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
        .map(str::to_string)
        .collect()
}

/// Whether a pod's containers are done (`Succeeded`/`Failed`).
pub(crate) fn terminal(pod: &Value) -> bool {
    matches!(str_at(pod, "/status/phase"), "Succeeded" | "Failed")
}

/// Records a core/v1 Event about `obj` (its `kind`) once per `dedup` key (None: always), as
/// client-go's recorder does, from `component` (`source.component`, `reportingComponent`).
/// An event the account may not create (403) is dropped, as client-go's broadcaster drops it.
#[allow(clippy::too_many_arguments)] // Reason: an Event's fields, named at each call site.
pub(crate) async fn event(
    ctx: &Context,
    obj: &Value,
    kind: &str,
    ty: &str,
    reason: &str,
    message: &str,
    component: &str,
    dedup: Option<String>,
) -> Result<bool, Error> {
    if let Some(k) = &dedup {
        if memory(ctx).with(|m| m.events.contains(k)) {
            return Ok(false);
        }
    }
    let ns = match str_at(obj, "/metadata/namespace") {
        "" => "default",
        n => n,
    };
    let name = str_at(obj, "/metadata/name");
    let api_version = match kind {
        "VolumeAttachment" => "storage.k8s.io/v1",
        _ => "v1",
    };
    let now = ctx.clock.now();
    let t = now.to_rfc3339_secs();
    let api: Api<Event> = Api::namespaced(ctx.kube.clone(), ns);
    let mut nanos = u128::from(now.as_millis()) * 1_000_000;
    for _ in 0..1000 {
        let mut involved = json!({
            "apiVersion": api_version, "kind": kind, "name": name,
            "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"],
        });
        if !str_at(obj, "/metadata/namespace").is_empty() {
            involved["namespace"] = json!(ns);
        }
        let ev = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{name}.{nanos:x}"), "namespace": ns},
            "involvedObject": involved,
            "reason": reason, "message": message, "type": ty,
            "source": {"component": component},
            "firstTimestamp": t, "lastTimestamp": t, "count": 1,
            "reportingComponent": component, "reportingInstance": "",
        });
        let ev: Event = serde_json::from_value(ev).map_err(|source| Error::Build {
            what: "Event",
            source,
        })?;
        match api.create(&PostParams::default(), &ev).await {
            Ok(_) => {
                if let Some(k) = dedup {
                    memory(ctx).with(|m| m.events.insert(k));
                }
                return Ok(true);
            }
            Err(kube::Error::Api(s)) if s.code == 409 => nanos += 1,
            // The broadcaster's sink drops an event the recorder's account may not write
            // (`recordToSink` logs it); the controller's work goes on.
            Err(kube::Error::Api(s)) if s.code == 403 => return Ok(false),
            Err(source) => {
                return Err(Error::CreateEvent {
                    name: format!("{ns}/{name}"),
                    source: Box::new(source),
                })
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_to_gib() {
        assert_eq!(round_up_gib("30Gi"), Some(30));
        assert_eq!(round_up_gib("1G"), Some(1));
        assert_eq!(round_up_gib("1500Mi"), Some(2));
        assert_eq!(round_up_gib("32212254721"), Some(31));
    }

    #[test]
    fn volume_ids_of_both_sources() {
        let csi = json!({"spec": {"csi": {"driver": DRIVER, "volumeHandle": "vol-1"}}});
        assert_eq!(volume_id(&csi).as_deref(), Some("vol-1"));
        let tree =
            json!({"spec": {"awsElasticBlockStore": {"volumeID": "aws://cn-northwest-1a/vol-2"}}});
        assert_eq!(volume_id(&tree).as_deref(), Some("vol-2"));
    }
}
