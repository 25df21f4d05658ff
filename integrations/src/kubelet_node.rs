//! The kubelet's node registration, node status and Lease heartbeats, for every running EC2
//! instance that carries the cluster tag.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4 (the kubelet), with the labels, addresses and provider
//! id of kubernetes/cloud-provider-aws@63ec440c
//!
//! Files modelled:
//! - `pkg/kubelet/kubelet_node_status.go` (`registerWithAPIServer`, `initialNode`: hostname, os
//!   and arch labels, instance-type/zone/region labels with their beta twins, `spec.providerID`,
//!   `--register-with-taints`; `updateDefaultLabels` on an existing Node; `nodeStatusReportFrequency`
//!   of 5 min between unchanged status posts);
//! - `pkg/kubelet/nodestatus/setters.go` (`NodeAddress`, `MachineInfo`: capacity and allocatable,
//!   `VersionInfo`, `DaemonEndpoints`, `MemoryPressureCondition`, `DiskPressureCondition`,
//!   `PIDPressureCondition`, `ReadyCondition` with their reasons and messages);
//! - `pkg/kubelet/cm/node_container_manager_linux.go` (allocatable = capacity − reserved − hard
//!   eviction thresholds; kubeadm sets no reservations and keeps the default
//!   `evictionHard: memory.available<100Mi, nodefs.available<10%`);
//! - `pkg/kubelet/nodelease` + `component-helpers/apimachinery/lease` (Lease in `kube-node-lease`
//!   named after the node, `holderIdentity` = node, `leaseDurationSeconds: 40`, renewed every
//!   10 s = 0.25 × 40 s, owned by the Node);
//! - cloud-provider-aws `pkg/providers/v1/aws.go` (`aws:///<az>/<instance-id>`, the node
//!   addresses, `topology.k8s.aws/zone-id`);
//! - kubeadm `nodeRegistration` (control plane: label `node-role.kubernetes.io/control-plane: ""`
//!   and taint `node-role.kubernetes.io/control-plane:NoSchedule`).
//!
//! Registration waits for [`crate::Config::boot_delay`] (60 s by default) after the instance's
//! LaunchTime on the simulation clock and for the instance to be `running`; an instance that is
//! not running posts nothing (its Node goes NotReady through [`crate::cloud_node`]).
//!
//! Deviation(upstream): the seed's kubeadm clusters ran the in-tree `--cloud-provider=aws`, where
//! the kubelet itself set the provider id, the instance-type/zone/region labels and the addresses
//! at registration. Since Kubernetes 1.27 a v1.32 kubelet runs `--cloud-provider=external`,
//! registers with the taint `node.cloudprovider.kubernetes.io/uninitialized` and cloud-provider-aws's
//! cloud node controller fills those in moments later. This module writes the end state at
//! registration (the in-tree behaviour), so there is no uninitialized window.
//!
//! Not modelled:
//! - cAdvisor's real numbers: memory capacity is the type's `SizeInMiB` (a real kubelet reports
//!   MemTotal, a little less), ephemeral-storage is [`crate::Config::ephemeral_storage_gib`];
//! - only the primary private IP is an `InternalIP` (cloud-provider-aws lists every private IP of
//!   every ENI, which with the VPC CNI includes pod addresses);
//! - images, volumesInUse/volumesAttached, node config, runtime handlers, `nodefs`/`imagefs`
//!   pressure from real usage (the pressure conditions are always False);
//! - kube-proxy itself: `kubeProxyVersion` is the kubelet's version.

use crate::instances::{self, contains, Ec2Instance, TypeInfo};
use crate::{Context, Error, MaxPods};
use cloudbox_sim::{IdGen, SimTime};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The kubelet's `nodeStatusReportFrequency`: an unchanged status is posted again after this long.
pub const NODE_STATUS_REPORT_FREQUENCY_MS: u64 = 5 * 60 * 1000;
/// The node Lease's `leaseDurationSeconds`.
pub const LEASE_DURATION_SECONDS: i32 = 40;
/// The Lease renew interval, 0.25 × the lease duration (`nodelease.NewController`).
pub const LEASE_RENEW_INTERVAL_MS: u64 = 10_000;
/// The kubelet's port (`daemonEndpoints.kubeletEndpoint.Port`).
pub const KUBELET_PORT: u16 = 10250;
/// The namespace of node Leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
/// The control-plane role label and taint key (kubeadm).
pub const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";
/// The legacy master role tag on an instance (`kubernetes.io/role=master`).
pub const LEGACY_ROLE_TAG: &str = "kubernetes.io/role";

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Nodes created (registered) in this pass.
    pub registered: Vec<String>,
    /// Existing Nodes whose labels or status were written.
    pub updated: Vec<String>,
    /// Leases created or renewed.
    pub leases: usize,
    /// Running cluster instances still inside their boot delay.
    pub booting: usize,
    /// Every write to the API server.
    pub writes: usize,
}

/// One pass: register the Nodes of booted running cluster instances, post their status when it
/// changed (or every 5 min), and renew their Leases every 10 s.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let now = ctx.clock.now();
    let mut summary = Summary::default();
    let all = instances::cluster_instances(ctx).await?;
    let mut booted = Vec::new();
    for i in all.iter().filter(|i| i.state == "running") {
        let boot_ms = ctx.config.boot_delay.as_millis() as u64;
        if i.private_dns.is_empty() || i.launch_ms.saturating_add(boot_ms) > now.as_millis() {
            if !i.private_dns.is_empty() {
                ctx.requeue_at(i.launch_ms.saturating_add(boot_ms));
            }
            summary.booting += 1;
        } else {
            booted.push(i);
        }
    }
    if booted.is_empty() {
        return Ok(summary);
    }
    let names: BTreeSet<String> = booted.iter().map(|i| i.instance_type.clone()).collect();
    let types = instances::instance_types(ctx, &names).await?;
    let nodes: Api<Node> = Api::all(ctx.kube.clone());
    let existing: BTreeMap<String, Arc<Value>> = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?
        .into_iter()
        .map(|n| (str_at(&n, "/metadata/name").to_string(), n))
        .collect();
    let leases: Api<Lease> = Api::namespaced(ctx.kube.clone(), NODE_LEASE_NAMESPACE);
    let existing_leases: BTreeMap<String, Arc<Value>> = ctx
        .cache
        .list_namespaced::<Lease>(NODE_LEASE_NAMESPACE)
        .await
        .map_err(|source| Error::Lease {
            name: "*".into(),
            source: Box::new(source),
        })?
        .into_iter()
        .map(|l| (str_at(&l, "/metadata/name").to_string(), l))
        .collect();
    for inst in booted {
        let Some(ty) = types.get(&inst.instance_type) else {
            continue;
        };
        let name = inst.private_dns.clone();
        let node = match existing.get(&name) {
            Some(n) => Value::clone(n),
            None => {
                let created = nodes
                    .create(&PostParams::default(), &initial_node(ctx, inst, ty, now)?)
                    .await
                    .map_err(|source| Error::CreateNode {
                        name: name.clone(),
                        source: Box::new(source),
                    })?;
                summary.registered.push(name.clone());
                summary.writes += 1;
                to_json(&created)?
            }
        };
        let mut changed = false;
        // updateDefaultLabels: the kubelet keeps its own labels in line on every start.
        let labels = json!({"metadata": {"labels": default_labels(ctx, inst)}});
        if !contains(&node, &labels) {
            patch(&nodes, &name, &labels, false).await?;
            changed = true;
        }
        if let Some(last) = last_heartbeat(&node["status"]) {
            ctx.requeue_at(last + NODE_STATUS_REPORT_FREQUENCY_MS);
        }
        if let Some(status) = status_update(ctx, inst, ty, &node["status"], now) {
            patch(&nodes, &name, &json!({"status": status}), true).await?;
            changed = true;
        }
        if changed {
            summary.writes += 1;
            if !summary.registered.contains(&name) {
                summary.updated.push(name.clone());
            }
        }
        let uid = node["metadata"]["uid"].as_str().unwrap_or_default();
        ctx.requeue_at(now.as_millis() + LEASE_RENEW_INTERVAL_MS);
        if renew_lease(&leases, existing_leases.get(&name), &name, uid, now).await? {
            summary.leases += 1;
            summary.writes += 1;
        }
    }
    Ok(summary)
}

fn to_json(n: &Node) -> Result<Value, Error> {
    serde_json::to_value(n).map_err(|source| Error::Build {
        what: "Node JSON",
        source,
    })
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

/// Whether the instance is the control plane: tagged `node-role.kubernetes.io/control-plane`
/// (any value) or `kubernetes.io/role=master`.
pub(crate) fn is_control_plane(i: &Ec2Instance) -> bool {
    i.tags.contains_key(CONTROL_PLANE_LABEL)
        || i.tags.get(LEGACY_ROLE_TAG).is_some_and(|v| v == "master")
}

/// The labels the kubelet sets (and keeps) on its Node.
fn default_labels(ctx: &Context, i: &Ec2Instance) -> Map<String, Value> {
    let region = ctx.aws.region();
    let mut l = Map::new();
    let mut put = |k: &str, v: &str| {
        l.insert(k.to_string(), json!(v));
    };
    put("beta.kubernetes.io/arch", i.kube_arch());
    put("beta.kubernetes.io/instance-type", &i.instance_type);
    put("beta.kubernetes.io/os", "linux");
    put("failure-domain.beta.kubernetes.io/region", region);
    put("failure-domain.beta.kubernetes.io/zone", &i.az);
    put("kubernetes.io/arch", i.kube_arch());
    put("kubernetes.io/hostname", &i.private_dns);
    put("kubernetes.io/os", "linux");
    put("node.kubernetes.io/instance-type", &i.instance_type);
    if let Some(id) = &i.az_id {
        put("topology.k8s.aws/zone-id", id);
    }
    put("topology.kubernetes.io/region", region);
    put("topology.kubernetes.io/zone", &i.az);
    l
}

/// The Node the kubelet registers (`initialNode` plus the first status).
fn initial_node(
    ctx: &Context,
    i: &Ec2Instance,
    ty: &TypeInfo,
    now: SimTime,
) -> Result<Node, Error> {
    let mut labels = default_labels(ctx, i);
    let mut taints = Vec::new();
    if is_control_plane(i) {
        labels.insert(CONTROL_PLANE_LABEL.to_string(), json!(""));
        taints.push(json!({"key": CONTROL_PLANE_LABEL, "effect": "NoSchedule"}));
    }
    let mut spec = json!({"providerID": i.provider_id()});
    if !taints.is_empty() {
        spec["taints"] = Value::Array(taints);
    }
    let v = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": i.private_dns,
            "labels": labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
        "status": desired_status(ctx, i, ty, &Value::Null, now, true),
    });
    serde_json::from_value(v).map_err(|source| Error::Build {
        what: "Node",
        source,
    })
}

/// The oldest `lastHeartbeatTime` of the node's conditions (ms).
fn last_heartbeat(status: &Value) -> Option<u64> {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["lastHeartbeatTime"].as_str())
        .filter_map(cloudbox_sim::time_fmt::parse_iso8601)
        .min()
}

use crate::json::str_at;

/// The status to post, or `None` when the live one already says it and is not yet due.
fn status_update(
    ctx: &Context,
    i: &Ec2Instance,
    ty: &TypeInfo,
    live: &Value,
    now: SimTime,
) -> Option<Value> {
    let quiet = desired_status(ctx, i, ty, live, now, false);
    let due = last_heartbeat(live)
        .is_some_and(|t| now.as_millis().saturating_sub(t) >= NODE_STATUS_REPORT_FREQUENCY_MS);
    if contains(live, &quiet) && !due {
        return None;
    }
    Some(desired_status(ctx, i, ty, live, now, true))
}

/// The node status from the instance and its type. `beat` stamps every condition's
/// `lastHeartbeatTime` with now; otherwise the live heartbeats are kept so that an unchanged
/// status compares equal.
fn desired_status(
    ctx: &Context,
    i: &Ec2Instance,
    ty: &TypeInfo,
    live: &Value,
    now: SimTime,
    beat: bool,
) -> Value {
    let c = &ctx.config;
    let pods = match c.max_pods {
        MaxPods::Kubeadm => 110,
        MaxPods::Eni => ty.max_enis * ty.ipv4_per_eni.saturating_sub(1) + 2,
    };
    let mem_ki = ty.memory_mib * 1024;
    let disk_bytes = c.ephemeral_storage_gib << 30;
    let capacity = json!({
        "cpu": ty.vcpus.to_string(),
        "ephemeral-storage": format!("{}Ki", disk_bytes >> 10),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": format!("{mem_ki}Ki"),
        "pods": pods.to_string(),
    });
    // evictionHard memory.available<100Mi and nodefs.available<10%; no kube/system reserved.
    let allocatable = json!({
        "cpu": ty.vcpus.to_string(),
        "ephemeral-storage": (disk_bytes - disk_bytes / 10).to_string(),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": format!("{}Ki", mem_ki.saturating_sub(100 * 1024)),
        "pods": pods.to_string(),
    });
    let mut addresses = Vec::new();
    if let Some(ip) = &i.private_ip {
        addresses.push(json!({"type": "InternalIP", "address": ip}));
    }
    if let Some(ip) = &i.public_ip {
        addresses.push(json!({"type": "ExternalIP", "address": ip}));
    }
    addresses.push(json!({"type": "InternalDNS", "address": i.private_dns}));
    addresses.push(json!({"type": "Hostname", "address": i.private_dns}));
    if !i.public_dns.is_empty() {
        addresses.push(json!({"type": "ExternalDNS", "address": i.public_dns}));
    }
    let arch_suffix = if i.architecture == "arm64" {
        "aarch64"
    } else {
        "x86_64"
    };
    let seeded = |what: &str| IdGen::derived(c.seed, &format!("{what}/{}", i.id));
    let system_uuid = seeded("system-uuid").uuid();
    let boot_id = IdGen::derived(c.seed, &format!("boot-id/{}/{}", i.id, i.launch_ms)).uuid();
    json!({
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": conditions(&live["conditions"], now, beat),
        "addresses": addresses,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": seeded("machine-id").hex(32),
            "systemUUID": format!("ec2{}", system_uuid.get(3..).unwrap_or_default()),
            "bootID": boot_id,
            "kernelVersion": format!("{}.{arch_suffix}", c.kernel_version),
            "osImage": c.os_image,
            "containerRuntimeVersion": c.container_runtime_version,
            "kubeletVersion": c.kubernetes_version,
            "kubeProxyVersion": c.kubernetes_version,
            "operatingSystem": "linux",
            "architecture": i.kube_arch(),
        },
    })
}

/// The four node conditions of a healthy kubelet, in the kubelet's order. A condition keeps its
/// `lastTransitionTime` while its status stays; `lastHeartbeatTime` is now when `beat`.
fn conditions(live: &Value, now: SimTime, beat: bool) -> Value {
    const HEALTHY: [(&str, &str, &str, &str); 4] = [
        (
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        (
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        (
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        (
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ];
    let t = now.to_rfc3339_secs();
    let list = HEALTHY
        .iter()
        .map(|(ty, status, reason, message)| {
            let old = live
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == *ty);
            let same = old.is_some_and(|o| o["status"] == *status);
            let transition = match old {
                Some(o) if same => o["lastTransitionTime"].clone(),
                _ => json!(t),
            };
            let heartbeat = match old {
                Some(o) if !beat => o["lastHeartbeatTime"].clone(),
                _ => json!(t),
            };
            json!({
                "type": ty,
                "status": status,
                "lastHeartbeatTime": heartbeat,
                "lastTransitionTime": transition,
                "reason": reason,
                "message": message,
            })
        })
        .collect();
    Value::Array(list)
}

/// Creates the node's Lease or renews it when 10 s have passed. True when it wrote.
async fn renew_lease(
    leases: &Api<Lease>,
    live: Option<&Arc<Value>>,
    name: &str,
    node_uid: &str,
    now: SimTime,
) -> Result<bool, Error> {
    let renew = micro_time(now);
    let err = |source| Error::Lease {
        name: name.to_string(),
        source: Box::new(source),
    };
    match live {
        Some(l) => {
            let last = l
                .pointer("/spec/renewTime")
                .and_then(Value::as_str)
                .and_then(cloudbox_sim::time_fmt::parse_iso8601);
            if last.is_some_and(|t| now.as_millis().saturating_sub(t) < LEASE_RENEW_INTERVAL_MS) {
                return Ok(false);
            }
            let body = json!({"spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": renew}});
            leases
                .patch(name, &PatchParams::default(), &Patch::Merge(&body))
                .await
                .map_err(err)?;
        }
        None => {
            let lease: Lease = serde_json::from_value(json!({
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": name,
                    "namespace": NODE_LEASE_NAMESPACE,
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": node_uid}],
                },
                "spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": renew},
            }))
            .map_err(|source| Error::Build {
                what: "Lease",
                source,
            })?;
            leases
                .create(&PostParams::default(), &lease)
                .await
                .map_err(err)?;
        }
    }
    Ok(true)
}

/// A `metav1.MicroTime` (`2026-01-01T00:01:00.000000Z`).
fn micro_time(t: SimTime) -> String {
    let ms = t.to_iso8601_millis();
    format!("{}000Z", ms.trim_end_matches('Z'))
}
