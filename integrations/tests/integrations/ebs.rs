//! EBS volumes for claims, pass by pass on a manual clock: static binding, Multi-Attach, failed
//! provisioning retried, and the property that random claim/pod operations never attach a
//! volume twice or across AZs and lose no volume.

use anyhow::{anyhow, Result};
use cloudbox_aws::{AwsClient, AwsState};
use cloudbox_integrations::{ebs, kubelet_node, kubelet_pods, scheduler, Config, Context};
use cloudbox_kube::KubeState;
use cloudbox_sim::Clock;
use k8s_openapi::api::core::v1::{Event, Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::{StorageClass, VolumeAttachment};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const REGION: &str = "cn-northwest-1";
const CLUSTER: &str = "int32bit-kubernetes";

struct World {
    _kube: KubeState,
    clock: Clock,
    ctx: Context,
    /// Node names by zone.
    nodes: BTreeMap<String, Vec<String>>,
}

async fn world() -> Result<World> {
    let clock = Clock::manual();
    let aws_state = AwsState::new(clock.clone(), 7);
    let kube = KubeState::new(clock.clone(), 7);
    let aws = AwsClient::new(&aws_state, REGION)?;
    let vpc = aws.call("ec2:CreateVpc", &json!({"CidrBlock": "192.168.192.0/22"}))?["Vpc"]["VpcId"]
        .as_str()
        .ok_or_else(|| anyhow!("VpcId"))?
        .to_string();
    let owned = json!([{"ResourceType": "instance",
        "Tags": [{"Key": format!("kubernetes.io/cluster/{CLUSTER}"), "Value": "owned"}]}]);
    for (cidr, az, count) in [
        ("192.168.193.0/24", "cn-northwest-1a", 2),
        ("192.168.194.0/24", "cn-northwest-1b", 1),
    ] {
        let subnet = aws.call(
            "ec2:CreateSubnet",
            &json!({"VpcId": vpc, "CidrBlock": cidr, "AvailabilityZone": az}),
        )?["Subnet"]["SubnetId"]
            .clone();
        aws.call(
            "ec2:RunInstances",
            &json!({"ImageId": "ami-0abcdef1234567890", "InstanceType": "c5.large",
                "MinCount": count, "MaxCount": count, "SubnetId": subnet, "TagSpecifications": owned}),
        )?;
    }
    let ctx = Context::new(
        kube::Client::new(cloudbox_kube::app(kube.clone()), "default"),
        aws,
        clock.clone(),
        Config::new(CLUSTER),
    );
    let mut w = World {
        _kube: kube,
        clock,
        ctx,
        nodes: BTreeMap::new(),
    };
    w.settle(90).await?;
    for n in Api::<Node>::all(w.ctx.kube.clone())
        .list(&ListParams::default())
        .await?
        .items
    {
        let zone = n
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("topology.kubernetes.io/zone").cloned())
            .unwrap_or_default();
        w.nodes
            .entry(zone)
            .or_default()
            .push(n.metadata.name.unwrap_or_default());
    }
    Ok(w)
}

impl World {
    /// `secs` one-second passes of the controllers.
    async fn settle(&self, secs: u64) -> Result<()> {
        for _ in 0..secs {
            self.clock.advance(Duration::from_secs(1));
            kubelet_node::reconcile_once(&self.ctx).await?;
            scheduler::reconcile_once(&self.ctx).await?;
            ebs::reconcile_once(&self.ctx).await?;
            kubelet_pods::reconcile_once(&self.ctx).await?;
        }
        Ok(())
    }

    async fn class(&self, name: &str, extra: Value) -> Result<()> {
        let mut sc = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name}, "provisioner": "kubernetes.io/aws-ebs",
            "parameters": {"type": "gp2"}, "reclaimPolicy": "Retain"});
        merge(&mut sc, extra);
        let sc: StorageClass = serde_json::from_value(sc)?;
        Api::<StorageClass>::all(self.ctx.kube.clone())
            .create(&PostParams::default(), &sc)
            .await?;
        Ok(())
    }

    async fn claim(&self, name: &str, class: &str, size: &str, extra: Value) -> Result<()> {
        let mut c = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                "resources": {"requests": {"storage": size}}}});
        merge(&mut c, extra);
        let c: PersistentVolumeClaim = serde_json::from_value(c)?;
        Api::<PersistentVolumeClaim>::namespaced(self.ctx.kube.clone(), "default")
            .create(&PostParams::default(), &c)
            .await?;
        Ok(())
    }

    async fn pod(&self, name: &str, claim: &str, node: &str) -> Result<()> {
        let p: Pod = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
                "containers": [{"name": "app", "image": "nginx",
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}))?;
        Api::<Pod>::namespaced(self.ctx.kube.clone(), "default")
            .create(&PostParams::default(), &p)
            .await?;
        Ok(())
    }

    /// The object `name` of kind `K` (any namespace).
    async fn get<K>(&self, _ns: Option<&str>, name: &str) -> Result<Value>
    where
        K: kube::Resource<DynamicType = ()>
            + serde::de::DeserializeOwned
            + serde::Serialize
            + Clone
            + std::fmt::Debug,
    {
        self.list::<K>()
            .await?
            .into_iter()
            .find(|o| o["metadata"]["name"] == name)
            .ok_or_else(|| anyhow!("no {name}"))
    }

    async fn list<K>(&self) -> Result<Vec<Value>>
    where
        K: kube::Resource<DynamicType = ()>
            + serde::de::DeserializeOwned
            + serde::Serialize
            + Clone
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::all(self.ctx.kube.clone());
        api.list(&ListParams::default())
            .await?
            .items
            .iter()
            .map(|o| Ok(serde_json::to_value(o)?))
            .collect()
    }

    /// The capacity of the PV bound to `claim`.
    async fn pv_capacity(&self, claim: &str) -> Result<String> {
        let c = self
            .get::<PersistentVolumeClaim>(Some("default"), claim)
            .await?;
        let pv = self
            .get::<PersistentVolume>(None, c["spec"]["volumeName"].as_str().unwrap_or_default())
            .await?;
        Ok(pv["spec"]["capacity"]["storage"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    async fn events(&self, reason: &str) -> Result<Vec<String>> {
        Ok(self
            .list::<Event>()
            .await?
            .into_iter()
            .filter(|e| e["reason"] == reason)
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect())
    }

    fn volumes(&self) -> Result<Vec<Value>> {
        let out = self.ctx.aws.call(
            "ec2:DescribeVolumes",
            &json!({"Filters": [
            {"Name": "tag-key", "Values": ["CSIVolumeName"]}]}),
        )?;
        Ok(out["Volumes"].as_array().cloned().unwrap_or_default())
    }
}

fn merge(base: &mut Value, extra: Value) {
    if let (Value::Object(b), Value::Object(e)) = (base, extra) {
        for (k, v) in e {
            match b.get_mut(&k) {
                Some(slot @ Value::Object(_)) if v.is_object() => merge(slot, v),
                _ => {
                    b.insert(k, v);
                }
            }
        }
    }
}

#[tokio::test]
async fn static_volumes_bind_by_class_size_modes_and_selector() -> Result<()> {
    let w = world().await?;
    for (name, size, tier) in [
        ("small", "5Gi", "db"),
        ("large", "20Gi", "db"),
        ("web", "15Gi", "web"),
    ] {
        let pv: PersistentVolume = serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "labels": {"tier": tier}},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                "awsElasticBlockStore": {"volumeID": format!("aws://cn-northwest-1a/vol-{name}")}}}),
        )?;
        Api::<PersistentVolume>::all(w.ctx.kube.clone())
            .create(&PostParams::default(), &pv)
            .await?;
    }
    w.claim(
        "db",
        "manual",
        "10Gi",
        json!({"spec": {"selector": {"matchLabels": {"tier": "db"}}}}),
    )
    .await?;
    w.claim(
        "pinned",
        "manual",
        "1Gi",
        json!({"spec": {"volumeName": "small"}}),
    )
    .await?;
    w.settle(2).await?;
    let db = w
        .get::<PersistentVolumeClaim>(Some("default"), "db")
        .await?;
    assert_eq!(
        db["spec"]["volumeName"], "large",
        "the smallest fitting volume of the selector"
    );
    assert_eq!(db["status"]["phase"], "Bound");
    assert_eq!(db["status"]["capacity"]["storage"], "20Gi");
    assert_eq!(
        db["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"],
        "yes"
    );
    assert_eq!(
        db["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"],
        "yes"
    );
    let large = w.get::<PersistentVolume>(None, "large").await?;
    assert_eq!(large["status"]["phase"], "Bound");
    assert_eq!(large["spec"]["claimRef"]["uid"], db["metadata"]["uid"]);
    assert_eq!(
        large["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"],
        "yes"
    );
    let pinned = w
        .get::<PersistentVolumeClaim>(Some("default"), "pinned")
        .await?;
    assert_eq!(pinned["status"]["phase"], "Bound");
    assert!(
        pinned["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"].is_null(),
        "pre-bound by the user"
    );
    assert_eq!(
        w.get::<PersistentVolume>(None, "web").await?["status"]["phase"],
        "Available"
    );
    // Deleting the claim releases its volume (Retain, the static default).
    Api::<PersistentVolumeClaim>::namespaced(w.ctx.kube.clone(), "default")
        .delete("db", &DeleteParams::default())
        .await?;
    w.settle(2).await?;
    assert_eq!(
        w.get::<PersistentVolume>(None, "large").await?["status"]["phase"],
        "Released"
    );
    Ok(())
}

#[tokio::test]
async fn a_second_node_gets_the_multi_attach_error() -> Result<()> {
    let w = world().await?;
    // allowedTopologies puts the volume in cn-northwest-1a, where two nodes run.
    let zone_a = json!({"allowedTopologies": [{"matchLabelExpressions": [
        {"key": "topology.kubernetes.io/zone", "values": ["cn-northwest-1a"]}]}]});
    w.class("standard", zone_a).await?;
    w.claim("data", "standard", "8Gi", json!({})).await?;
    w.settle(10).await?;
    let pv = w
        .get::<PersistentVolumeClaim>(Some("default"), "data")
        .await?["spec"]["volumeName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let vol = w.volumes()?;
    assert_eq!(vol[0]["AvailabilityZone"], "cn-northwest-1a");
    let nodes = w.nodes.get("cn-northwest-1a").cloned().unwrap_or_default();
    assert_eq!(nodes.len(), 2);
    w.pod("one", "data", &nodes[0]).await?;
    w.settle(15).await?;
    w.pod("two", "data", &nodes[1]).await?;
    w.settle(15).await?;
    let errors = w.events("FailedAttachVolume").await?;
    assert_eq!(
        errors,
        vec![format!(
            "Multi-Attach error for volume {pv:?} Volume is already used by pod(s) one"
        )]
    );
    let one = w.get::<Pod>(Some("default"), "one").await?;
    assert_eq!(one["status"]["phase"], "Running");
    let two = w.get::<Pod>(Some("default"), "two").await?;
    assert_eq!(two["status"]["phase"], "Pending");
    assert_eq!(
        two["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "ContainerCreating"
    );
    assert_eq!(two["status"]["podIP"], Value::Null);
    // Two minutes later the kubelet says why.
    w.settle(120).await?;
    let mounts = w.events("FailedMount").await?;
    assert_eq!(mounts, vec!["Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data], failed to process volumes=[]: context deadline exceeded".to_string()]);
    // The mount of the first pod: the CSI path, formatted ext4, an NVMe device.
    let m = ebs::kubelet::mounts(&w.ctx);
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].path,
        format!(
            "/var/lib/kubelet/pods/{}/volumes/kubernetes.io~csi/{pv}/mount",
            one["metadata"]["uid"].as_str().unwrap_or_default()
        )
    );
    assert_eq!(m[0].device, "/dev/nvme1n1");
    assert_eq!(
        ebs::kubelet::formatted(&w.ctx, &m[0].volume_id).as_deref(),
        Some("ext4")
    );
    // The first pod goes: the volume detaches and follows the second.
    Api::<Pod>::namespaced(w.ctx.kube.clone(), "default")
        .delete("one", &DeleteParams::default())
        .await?;
    w.settle(30).await?;
    assert_eq!(
        w.get::<Pod>(Some("default"), "two").await?["status"]["phase"],
        "Running"
    );
    // Nothing changed: a pass writes nothing.
    w.clock.advance(Duration::from_secs(1));
    let s = ebs::reconcile_once(&w.ctx).await?;
    assert_eq!(s.writes, 0, "{s:?}");
    Ok(())
}

#[tokio::test]
async fn a_pod_forced_into_another_zone_gets_the_attach_error() -> Result<()> {
    let w = world().await?;
    let zone_a = json!({"allowedTopologies": [{"matchLabelExpressions": [
        {"key": "topology.kubernetes.io/zone", "values": ["cn-northwest-1a"]}]}]});
    w.class("standard", zone_a).await?;
    w.claim("data", "standard", "8Gi", json!({})).await?;
    w.settle(10).await?;
    let node_b = w.nodes["cn-northwest-1b"][0].clone();
    w.pod("far", "data", &node_b).await?;
    w.settle(10).await?;
    let errors = w.events("FailedAttachVolume").await?;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("AttachVolume.Attach failed for volume \"pvc-")
            && errors[0].contains("rpc error: code = Internal desc = Could not attach volume")
            && errors[0].contains("InvalidVolume.ZoneMismatch"),
        "{}",
        errors[0]
    );
    let far = w.get::<Pod>(Some("default"), "far").await?;
    assert_eq!(far["status"]["phase"], "Pending");
    assert!(w.volumes()?[0]["Attachments"]
        .as_array()
        .is_some_and(Vec::is_empty));
    Ok(())
}

#[tokio::test]
async fn expansion_failures_are_retried_and_never_lose_the_claim() -> Result<()> {
    let w = world().await?;
    w.class("standard", json!({"allowVolumeExpansion": true}))
        .await?;
    w.claim("data", "standard", "10Gi", json!({})).await?;
    w.settle(10).await?;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(w.ctx.kube.clone(), "default");
    let resize = |gib: u64| {
        let claims = claims.clone();
        async move {
            let patch =
                json!({"spec": {"resources": {"requests": {"storage": format!("{gib}Gi")}}}});
            claims
                .patch(
                    "data",
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(patch),
                )
                .await
        }
    };
    resize(11).await?;
    w.settle(15).await?;
    assert_eq!(w.pv_capacity("data").await?, "11Gi");
    // A second modification while the first is optimizing: refused, retried, done.
    resize(12).await?;
    w.settle(5).await?;
    let failed = w.events("VolumeResizeFailed").await?;
    assert!(
        !failed.is_empty() && failed[0].contains("IncorrectModificationState"),
        "{failed:?}"
    );
    w.settle(150).await?;
    assert_eq!(w.pv_capacity("data").await?, "12Gi");
    for gib in [13, 14] {
        resize(gib).await?;
        w.settle(150).await?;
        assert_eq!(w.pv_capacity("data").await?, format!("{gib}Gi"));
    }
    // The fifth modification within 24 hours is refused, and keeps being retried.
    resize(15).await?;
    w.settle(150).await?;
    let failed = w.events("VolumeResizeFailed").await?;
    assert!(
        failed
            .iter()
            .any(|m| m.contains("VolumeModificationRateExceeded")),
        "{failed:?}"
    );
    assert_eq!(w.pv_capacity("data").await?, "14Gi");
    let c = w
        .get::<PersistentVolumeClaim>(Some("default"), "data")
        .await?;
    assert_eq!(c["status"]["phase"], "Bound");
    assert_eq!(w.volumes()?[0]["Size"], 14);
    // The expand controller handed the migrated in-tree claim to the CSI driver: its event
    // (once per requested size) and the resizer annotation, set through the status.
    assert_eq!(
        c["metadata"]["annotations"]["volume.kubernetes.io/storage-resizer"],
        "ebs.csi.aws.com"
    );
    let handed = w.events("ExternalExpanding").await?;
    assert_eq!(handed.len(), 5, "{handed:?}");
    assert!(handed.iter().all(|m| m
        == "CSI migration enabled for kubernetes.io/aws-ebs; waiting for external resizer to expand the pvc"));
    Ok(())
}

#[tokio::test]
async fn failed_provisioning_is_retried_with_backoff() -> Result<()> {
    let w = world().await?;
    // io1 without iops: CreateVolume is refused.
    w.class("fast", json!({"parameters": {"type": "io1"}}))
        .await?;
    w.class("odd", json!({"parameters": {"colour": "blue"}}))
        .await?;
    w.claim("fast", "fast", "10Gi", json!({})).await?;
    w.claim("odd", "odd", "10Gi", json!({})).await?;
    w.settle(8).await?;
    let failed = w.events("ProvisioningFailed").await?;
    let odd: Vec<&String> = failed.iter().filter(|m| m.contains("\"odd\"")).collect();
    let fast: Vec<&String> = failed.iter().filter(|m| m.contains("\"fast\"")).collect();
    // Attempts at +0, +1, +3, +7 s.
    assert_eq!(odd.len(), 4, "{failed:?}");
    assert_eq!(fast.len(), 4, "{failed:?}");
    assert_eq!(odd[0], "failed to provision volume with StorageClass \"odd\": rpc error: code = InvalidArgument desc = Invalid parameter key colour for CreateVolume");
    assert!(fast[0].starts_with("failed to provision volume with StorageClass \"fast\": rpc error: code = Internal desc = Could not create volume \"pvc-"), "{}", fast[0]);
    assert!(w.volumes()?.is_empty());
    for c in ["fast", "odd"] {
        assert_eq!(
            w.get::<PersistentVolumeClaim>(Some("default"), c).await?["status"]["phase"],
            "Pending"
        );
    }
    Ok(())
}

/// One random operation on claims and pods.
#[derive(Debug, Clone)]
enum Op {
    Claim(usize),
    Pod(usize, usize, usize),
    DeletePod(usize),
    DeleteClaim(usize),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize).prop_map(Op::Claim),
        (0..4usize, 0..3usize, 0..3usize).prop_map(|(p, c, n)| Op::Pod(p, c, n)),
        (0..4usize).prop_map(Op::DeletePod),
        (0..3usize).prop_map(Op::DeleteClaim),
        (1..20u64).prop_map(Op::Wait),
    ]
}

/// The invariants: no volume attached to two instances or across AZs, every bound claim's PV
/// and every PV's EBS volume exist (Retain: nothing is deleted).
async fn check(w: &World, pvs_seen: &mut BTreeSet<String>) -> Result<()> {
    let vols = w.volumes()?;
    let ids: BTreeSet<String> = vols
        .iter()
        .filter_map(|v| v["VolumeId"].as_str().map(str::to_string))
        .collect();
    for v in &vols {
        let atts = v["Attachments"].as_array().cloned().unwrap_or_default();
        assert!(atts.len() <= 1, "{v}");
        for a in atts {
            let inst = w.ctx.aws.call(
                "ec2:DescribeInstances",
                &json!({"InstanceIds": [a["InstanceId"]]}),
            )?;
            assert_eq!(
                inst["Reservations"][0]["Instances"][0]["Placement"]["AvailabilityZone"],
                v["AvailabilityZone"]
            );
        }
    }
    let mut attached: BTreeMap<String, String> = BTreeMap::new();
    for va in w.list::<VolumeAttachment>().await? {
        if va["status"]["attached"] == true && va["metadata"]["deletionTimestamp"].is_null() {
            let pv = va["spec"]["source"]["persistentVolumeName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let node = va["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if let Some(prev) = attached.insert(pv.clone(), node.clone()) {
                assert_eq!(prev, node, "{pv} attached to two nodes");
            }
        }
    }
    for pv in w.list::<PersistentVolume>().await? {
        pvs_seen.insert(
            pv["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        let vol = ebs::volume_id(&pv).unwrap_or_default();
        assert!(
            ids.contains(&vol),
            "PV {} lost its volume {vol}",
            pv["metadata"]["name"]
        );
    }
    let names: BTreeSet<String> = w
        .list::<PersistentVolume>()
        .await?
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(&names, pvs_seen, "a PV disappeared (Retain)");
    for c in w.list::<PersistentVolumeClaim>().await? {
        if c["status"]["phase"] == "Bound" {
            assert!(names.contains(c["spec"]["volumeName"].as_str().unwrap_or_default()));
        }
    }
    Ok(())
}

async fn run_ops(ops: Vec<Op>) -> Result<()> {
    let w = world().await?;
    w.class("standard", json!({})).await?;
    let nodes: Vec<String> = w.nodes.values().flatten().cloned().collect();
    let pods: Api<Pod> = Api::namespaced(w.ctx.kube.clone(), "default");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(w.ctx.kube.clone(), "default");
    let mut seen = BTreeSet::new();
    for op in ops {
        match op {
            Op::Claim(c) => {
                let _ = w
                    .claim(&format!("c{c}"), "standard", "4Gi", json!({}))
                    .await;
            }
            Op::Pod(p, c, n) => {
                let _ = w
                    .pod(&format!("p{p}"), &format!("c{c}"), &nodes[n % nodes.len()])
                    .await;
            }
            Op::DeletePod(p) => {
                let _ = pods
                    .delete(&format!("p{p}"), &DeleteParams::default())
                    .await;
            }
            Op::DeleteClaim(c) => {
                let _ = claims
                    .delete(&format!("c{c}"), &DeleteParams::default())
                    .await;
            }
            Op::Wait(s) => w.settle(s).await?,
        }
        w.settle(2).await?;
        check(&w, &mut seen).await?;
    }
    w.settle(30).await?;
    check(&w, &mut seen).await
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: None,
        // A fixed seed: the same 12 sequences on every run (40 random cases passed when written).
        rng_seed: proptest::test_runner::RngSeed::Fixed(7),
        ..ProptestConfig::default()
    })]
    #[test]
    fn random_claims_and_pods_keep_volumes_safe(ops in prop::collection::vec(op(), 1..14)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let r = rt.block_on(run_ops(ops));
        prop_assert!(r.is_ok(), "{r:?}");
    }
}

#[tokio::test]
async fn the_provisioner_is_authorized_by_the_charts_role() -> Result<()> {
    // external-provisioner calls as the chart's `ebs-csi-controller-sa`: without the chart's
    // provisioner binding the volume is created in EC2 but its PV is refused and, without the
    // other sidecars' bindings too, its events are dropped; the bindings restored, the same
    // volume is bound.
    let w = world().await?;
    let admin = w.ctx.kube.clone();
    let mut saved = Vec::new();
    for b in [
        "ebs-csi-provisioner-binding",
        // The resizer's and snapshotter's roles grant the same account events.
        "ebs-csi-resizer-binding",
        "ebs-csi-snapshotter-binding",
    ] {
        saved.push(super::support::delete_binding(&admin, b).await?);
    }
    w.class("standard", json!({})).await?;
    w.claim("data", "standard", "8Gi", json!({})).await?;
    let mut refused = None;
    for _ in 0..30 {
        if let Err(e) = w.settle(1).await {
            refused = Some(format!("{e:#}"));
            break;
        }
    }
    let text = refused.ok_or_else(|| anyhow!("provisioned without the binding"))?;
    assert!(
        text.contains(
            "is forbidden: User \"system:serviceaccount:kube-system:ebs-csi-controller-sa\" \
             cannot create resource \"persistentvolumes\" in API group \"\" at the cluster scope"
        ),
        "{text}"
    );
    assert!(w.list::<PersistentVolume>().await?.is_empty());
    assert_eq!(w.volumes()?.len(), 1);
    // Its events were dropped, as client-go's broadcaster drops a refused event.
    assert!(w.events("Provisioning").await?.is_empty());

    for b in &saved {
        super::support::restore_binding(&admin, b).await?;
    }
    w.settle(5).await?;
    let claim = w
        .get::<PersistentVolumeClaim>(Some("default"), "data")
        .await?;
    assert_eq!(claim["status"]["phase"], "Bound", "{claim}");
    assert_eq!(
        w.volumes()?.len(),
        1,
        "the volume created before is the one bound"
    );
    Ok(())
}
