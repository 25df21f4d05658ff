//! ipamd, one per node: rebuilds its datastore from EC2 when it has none, keeps the warm pool on
//! the clock (every 5 s), and returns the addresses of pods that are gone (the CNI DEL of their
//! sandbox) to cool down.
//!
//! Upstream: aws/amazon-vpc-cni-k8s@v1.19.6 `pkg/ipamd/ipamd.go`, `pkg/awsutils/awsutils.go`.
//!
//! The pool check (`updateIPPoolIfRequired`):
//! - too low (never once the node's total reaches its `capacity.pods`): with
//!   `WARM_IP_TARGET`/`MINIMUM_IP_TARGET`, when `short = max(warm − available, min − total) > 0`;
//!   otherwise when `available < (IPv4 per ENI − 1) × WARM_ENI_TARGET`. It first fills an
//!   existing ENI (`ec2:AssignPrivateIpAddresses`, all its free slots or `short`; on failure one
//!   address; `PrivateIpAddressLimitExceeded` re-reads the ENI), and only when no address was
//!   added and the instance has room, creates an ENI in the node's subnet with the primary
//!   ENI's security groups, the tags `node.k8s.amazonaws.com/instance_id`,
//!   `node.k8s.amazonaws.com/createdAt`, `cluster.k8s.amazonaws.com/name`, `eks:eni:owner`,
//!   description `aws-K8S-<instance-id>` and its addresses at once, attaches it at the first
//!   free device index (deleting it if the attach fails, e.g. `AttachmentLimitExceeded`) and
//!   sets `DeleteOnTermination`. `InsufficientFreeAddressesInSubnet` stops new addresses for
//!   120 s.
//! - too high (only with the IP targets): at most every 30 s, `over` free, non-cooling addresses
//!   are unassigned.
//! - then, when `available ≥ (WARM_ENI_TARGET + 1) × (IPv4 per ENI − 1)` (always with the IP
//!   targets), one deletable ENI (secondary, a minute old, no pods, nothing cooling, not needed
//!   by the targets) is detached and deleted.
//!
//! Deviation(upstream): the detach and the delete happen in one pass (upstream sleeps 2 s
//! between them; the emulator detaches at once). AWS failures of the pool are kept in
//! [`Summary::failures`] and retried at the next check, as upstream logs them.

use super::datastore::{Address, DataStore, Eni, PodRef};
use super::Settings;
use crate::{Context, Error};
use cloudbox_aws::AwsError;
use cloudbox_sim::time_fmt::rfc3339_secs;
use k8s_openapi::api::core::v1::Node;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Nodes whose datastore was built (from `ec2:DescribeNetworkInterfaces`).
    pub initialized: Vec<String>,
    /// ENIs created and attached.
    pub enis_created: Vec<String>,
    /// ENIs detached and deleted.
    pub enis_deleted: Vec<String>,
    /// Secondary addresses assigned to ENIs.
    pub ips_assigned: usize,
    /// Secondary addresses unassigned from ENIs.
    pub ips_unassigned: usize,
    /// Pod addresses released (pod gone), as `namespace/name`.
    pub released: Vec<String>,
    /// AWS failures of the pool (logged upstream, retried at the next check).
    pub failures: Vec<String>,
}

/// ipamd's state on one node.
#[derive(Debug, Clone)]
pub struct NodeIpam {
    /// The node's instance.
    pub instance_id: String,
    /// Its type (`c5.large`).
    pub instance_type: String,
    /// The primary ENI's subnet, where new ENIs are created.
    pub subnet_id: String,
    /// That subnet's CIDR.
    pub subnet_cidr: String,
    /// The VPC's CIDR.
    pub vpc_cidr: String,
    /// The primary ENI's security groups, sorted.
    pub groups: Vec<String>,
    /// ENIs the instance type allows.
    pub max_enis: usize,
    /// Secondary addresses an ENI can hold (IPv4 per ENI − 1).
    pub max_ips_per_eni: usize,
    /// The datastore.
    pub ds: DataStore,
    next_pool_ms: u64,
    last_decrease_ms: Option<u64>,
    last_insufficient_ms: Option<u64>,
}

/// Every node's ipamd (in `ctx.memory`).
#[derive(Debug, Default)]
pub struct Ipamd {
    nodes: Mutex<BTreeMap<String, NodeIpam>>,
}

impl Ipamd {
    /// The nodes' states (a short lock; AWS calls are synchronous, kube reads are done before).
    pub fn lock(&self) -> MutexGuard<'_, BTreeMap<String, NodeIpam>> {
        self.nodes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A node of this model: name, instance id, `capacity.pods`.
struct NodeRef {
    name: String,
    instance_id: String,
    max_pods: Option<usize>,
}

use crate::json::str_at;

/// `aws:///<az>/<instance-id>` → the instance id.
pub fn instance_of(provider_id: &str) -> Option<&str> {
    let rest = provider_id.strip_prefix("aws:///")?;
    let id = rest.rsplit('/').next()?;
    id.starts_with("i-").then_some(id)
}

/// Whether a pod holds a VPC address (not host network, not finished).
pub(crate) fn holds_address(pod: &Value) -> bool {
    let phase = str_at(pod, "/status/phase");
    pod["spec"]["hostNetwork"] != true && phase != "Succeeded" && phase != "Failed"
}

fn aws_err(call: &str, subject: &str, e: AwsError) -> Error {
    Error::Aws {
        what: format!("{call} {subject}"),
        source: Box::new(e),
    }
}

/// One pass of every node's ipamd (nothing without [`crate::Config::vpc_cni`]).
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let Some(settings) = ctx.config.vpc_cni.clone() else {
        return Ok(summary);
    };
    let now = ctx.clock.now().as_millis();
    let nodes: Vec<NodeRef> = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?
        .iter()
        .filter_map(|n| {
            let id = instance_of(str_at(n, "/spec/providerID"))?;
            Some(NodeRef {
                name: str_at(n, "/metadata/name").to_string(),
                instance_id: id.to_string(),
                max_pods: str_at(n, "/status/capacity/pods").parse().ok(),
            })
        })
        .collect();
    let pods_by_node = ctx
        .cache
        .pods_by_node()
        .await
        .map_err(|e| Error::ListPods(Box::new(e)))?;
    // Pods that hold (or held, for adoption) an address, per node: uid → (pod, podIP).
    let mut live: BTreeMap<String, BTreeMap<String, (PodRef, String)>> = BTreeMap::new();
    for (node, pods) in &pods_by_node {
        let entry = live.entry(node.clone()).or_default();
        for p in pods.iter().filter(|p| holds_address(p)) {
            let pod = PodRef {
                uid: str_at(p, "/metadata/uid").to_string(),
                namespace: str_at(p, "/metadata/namespace").to_string(),
                name: str_at(p, "/metadata/name").to_string(),
            };
            entry.insert(
                pod.uid.clone(),
                (pod, str_at(p, "/status/podIP").to_string()),
            );
        }
    }
    let ipamd = ctx.memory.get::<Ipamd>();
    // `nodeInit` reads its own Node first (`k8sapi.GetNode`: the labels that pick an ENIConfig)
    // as the chart's `aws-node` account; a refusal fails the node's ipamd start.
    let starting: Vec<String> = {
        let states = ipamd.lock();
        nodes
            .iter()
            .filter(|n| !states.contains_key(&n.name))
            .map(|n| n.name.clone())
            .collect()
    };
    if !starting.is_empty() {
        let aws_node = ctx.as_addon(&crate::charts::VPC_CNI).await?;
        let api: kube::Api<Node> = kube::Api::all(aws_node.kube.clone());
        for name in starting {
            match api.get(&name).await {
                // Gone since the cache saw it: the next pass no longer lists it.
                Ok(_) | Err(kube::Error::Api(kube::core::ErrorResponse { code: 404, .. })) => {}
                Err(source) => {
                    return Err(Error::GetNode {
                        name,
                        source: Box::new(source),
                    })
                }
            }
        }
    }
    let mut states = ipamd.lock();
    let names: BTreeSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    states.retain(|name, _| names.contains(name.as_str()));
    let empty = BTreeMap::new();
    for node in &nodes {
        let pods = live.get(&node.name).unwrap_or(&empty);
        if !states.contains_key(&node.name) {
            let Some(mut st) = node_init(ctx, &settings, &node.instance_id, now)? else {
                continue;
            };
            for (pod, ip) in pods.values() {
                if let Ok(ip) = ip.parse::<Ipv4Addr>() {
                    st.ds.adopt(pod, ip);
                }
            }
            states.insert(node.name.clone(), st);
            summary.initialized.push(node.name.clone());
        }
        let Some(st) = states.get_mut(&node.name) else {
            continue;
        };
        // CNI DEL: the sandboxes of pods that are gone.
        for (_, _, pod) in st.ds.assignments() {
            if !pods.contains_key(&pod.uid) {
                st.ds.unassign(&pod.uid, now);
                summary
                    .released
                    .push(format!("{}/{}", pod.namespace, pod.name));
            }
        }
        if now >= st.next_pool_ms {
            st.next_pool_ms = now + settings.pool_interval.as_millis() as u64;
            let max_pods = node
                .max_pods
                .unwrap_or(st.max_enis * st.max_ips_per_eni + 2);
            let mut pool = Pool {
                ctx,
                settings: &settings,
                st,
                now,
                max_pods,
                summary: &mut summary,
            };
            pool.update();
        }
    }
    Ok(summary)
}

/// `nodeInit`: the instance's attached ENIs and addresses, its type's limits, its subnet and
/// VPC CIDRs. None when the instance has no attached ENI (not running).
fn node_init(
    ctx: &Context,
    settings: &Settings,
    instance_id: &str,
    now: u64,
) -> Result<Option<NodeIpam>, Error> {
    let enis = describe_enis(ctx, instance_id)?;
    let Some(primary) = enis.iter().find(|e| e["Attachment"]["DeviceIndex"] == 0) else {
        return Ok(None);
    };
    let subnet_id = str_at(primary, "/SubnetId").to_string();
    let vpc_id = str_at(primary, "/VpcId").to_string();
    let mut groups: Vec<String> = primary["Groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| str_at(g, "/GroupId").to_string())
        .collect();
    groups.sort();
    let inst = ctx
        .aws
        .call(
            "ec2:DescribeInstances",
            &json!({"InstanceIds": [instance_id]}),
        )
        .map_err(|e| aws_err("ec2:DescribeInstances", instance_id, e))?;
    let instance_type =
        str_at(&inst["Reservations"][0]["Instances"][0], "/InstanceType").to_string();
    let types = ctx
        .aws
        .call(
            "ec2:DescribeInstanceTypes",
            &json!({"InstanceTypes": [instance_type]}),
        )
        .map_err(|e| aws_err("ec2:DescribeInstanceTypes", &instance_type, e))?;
    let net = &types["InstanceTypes"][0]["NetworkInfo"];
    let max_enis = net["MaximumNetworkInterfaces"].as_u64().unwrap_or(1) as usize;
    let ipv4 = net["Ipv4AddressesPerInterface"].as_u64().unwrap_or(1) as usize;
    let subnets = ctx
        .aws
        .call("ec2:DescribeSubnets", &json!({"SubnetIds": [subnet_id]}))
        .map_err(|e| aws_err("ec2:DescribeSubnets", &subnet_id, e))?;
    let vpcs = ctx
        .aws
        .call("ec2:DescribeVpcs", &json!({"VpcIds": [vpc_id]}))
        .map_err(|e| aws_err("ec2:DescribeVpcs", &vpc_id, e))?;
    let mut ds = DataStore::new(settings.ip_cooldown.as_millis() as u64);
    for e in &enis {
        if let Some(eni) = eni_from_ec2(e, now) {
            ds.add_eni(eni);
        }
    }
    Ok(Some(NodeIpam {
        instance_id: instance_id.to_string(),
        instance_type,
        subnet_id,
        subnet_cidr: str_at(&subnets["Subnets"][0], "/CidrBlock").to_string(),
        vpc_cidr: str_at(&vpcs["Vpcs"][0], "/CidrBlock").to_string(),
        groups,
        max_enis,
        max_ips_per_eni: ipv4.saturating_sub(1),
        ds,
        next_pool_ms: now,
        last_decrease_ms: None,
        last_insufficient_ms: None,
    }))
}

/// The ENIs attached to the instance (`DescribeNetworkInterfaces`,
/// `attachment.instance-id`).
fn describe_enis(ctx: &Context, instance_id: &str) -> Result<Vec<Value>, Error> {
    let out = ctx
        .aws
        .call(
            "ec2:DescribeNetworkInterfaces",
            &json!({"Filters": [{"Name": "attachment.instance-id", "Values": [instance_id]}]}),
        )
        .map_err(|e| aws_err("ec2:DescribeNetworkInterfaces", instance_id, e))?;
    Ok(out["NetworkInterfaces"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// A datastore ENI from an EC2 `NetworkInterface` (its secondary addresses free).
fn eni_from_ec2(e: &Value, now: u64) -> Option<Eni> {
    let primary_ip: Ipv4Addr = str_at(e, "/PrivateIpAddress").parse().ok()?;
    let addresses = secondary_ips(e)
        .into_iter()
        .map(|ip| (ip, Address::default()))
        .collect();
    Some(Eni {
        id: str_at(e, "/NetworkInterfaceId").to_string(),
        device: e["Attachment"]["DeviceIndex"].as_i64()?,
        attachment_id: str_at(e, "/Attachment/AttachmentId").to_string(),
        primary_ip,
        mac: str_at(e, "/MacAddress").to_string(),
        created_ms: now,
        addresses,
    })
}

fn secondary_ips(e: &Value) -> Vec<Ipv4Addr> {
    e["PrivateIpAddresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["Primary"] != true)
        .filter_map(|a| str_at(a, "/PrivateIpAddress").parse().ok())
        .collect()
}

/// One pool check of one node.
struct Pool<'a> {
    ctx: &'a Context,
    settings: &'a Settings,
    st: &'a mut NodeIpam,
    now: u64,
    max_pods: usize,
    summary: &'a mut Summary,
}

/// How filling existing ENIs went.
enum Filled {
    Increased,
    Nothing,
    /// `InsufficientFreeAddressesInSubnet`: stop.
    SubnetFull,
}

impl Pool<'_> {
    fn call(&mut self, op: &str, input: &Value) -> Result<Value, AwsError> {
        self.ctx.aws.call(op, input)
    }

    fn fail(&mut self, op: &str, e: &AwsError) {
        self.summary.failures.push(format!(
            "{} {op}: {}: {}",
            self.st.instance_id,
            e.code.as_str(),
            e.message
        ));
    }

    /// `datastoreTargetState`: (short, over) with the IP targets, else None.
    fn targets(&self) -> Option<(usize, usize)> {
        if !self.settings.warm_ip_targets_defined() {
            return None;
        }
        let s = self.st.ds.stats(self.now);
        let (warm, min) = (
            self.settings.warm_ip_target as i64,
            self.settings.minimum_ip_target as i64,
        );
        let (avail, total) = (s.available() as i64, s.total as i64);
        let short = (warm - avail).max(0).max(min - total);
        let over = (avail - warm).max(0).min(total - min).max(0);
        Some((short as usize, over as usize))
    }

    /// `updateIPPoolIfRequired`.
    fn update(&mut self) {
        if self.too_low() {
            self.increase();
        } else if let Some((_, over)) = self.targets().filter(|(_, o)| *o > 0) {
            self.decrease(over);
        }
        if self.should_remove_extra_enis() {
            self.try_free_eni();
        }
    }

    /// `isDatastorePoolTooLow`.
    fn too_low(&self) -> bool {
        let s = self.st.ds.stats(self.now);
        if s.total >= self.max_pods {
            return false;
        }
        if let Some((short, _)) = self.targets() {
            return short > 0;
        }
        let warm = self.settings.warm_eni_target;
        s.available() < self.st.max_ips_per_eni * warm || (warm == 0 && s.available() == 0)
    }

    /// `shouldRemoveExtraENIs`.
    fn should_remove_extra_enis(&self) -> bool {
        self.settings.warm_ip_targets_defined()
            || self.st.ds.stats(self.now).available()
                >= (self.settings.warm_eni_target + 1) * self.st.max_ips_per_eni
    }

    /// `increaseDatastorePool`.
    fn increase(&mut self) {
        let cooldown = self.settings.insufficient_cidr_cooldown.as_millis() as u64;
        if self
            .st
            .last_insufficient_ms
            .is_some_and(|t| self.now <= t + cooldown)
        {
            return;
        }
        match self.try_assign_ips() {
            Filled::Increased | Filled::SubnetFull => {}
            Filled::Nothing => {
                if self.st.ds.enis.len() < self.st.max_enis {
                    self.try_allocate_eni();
                }
            }
        }
    }

    /// `tryAssignIPs`: fills the first ENI with free slots.
    fn try_assign_ips(&mut self) -> Filled {
        let targets = self.targets();
        if targets.is_some_and(|(short, _)| short == 0) {
            return Filled::Nothing;
        }
        let max = self.st.max_ips_per_eni;
        let to_allocate = targets.map_or(max, |(short, _)| short);
        let Some((id, have)) = self.st.ds.allocatable(max).into_iter().next() else {
            return Filled::Nothing;
        };
        let n = (max - have).min(to_allocate);
        let op = "ec2:AssignPrivateIpAddresses";
        let assign =
            |n: usize| json!({"NetworkInterfaceId": id, "SecondaryPrivateIpAddressCount": n});
        let mut result = self.call(op, &assign(n));
        let retry = matches!(&result, Err(e) if e.code.as_str() != "PrivateIpAddressLimitExceeded");
        if retry {
            if let Err(e) = &result {
                self.fail(op, e);
            }
            // Try to get just one more address.
            result = self.call(op, &assign(1));
        }
        match result {
            Ok(out) => {
                let ips: Vec<Ipv4Addr> = out["AssignedPrivateIpAddresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| str_at(a, "/PrivateIpAddress").parse().ok())
                    .collect();
                self.summary.ips_assigned += ips.len();
                self.st.ds.add_addresses(&id, ips);
                Filled::Increased
            }
            Err(e) if e.code.as_str() == "PrivateIpAddressLimitExceeded" => {
                // The datastore is out of sync: read what the ENI has.
                let eni = self.call(
                    "ec2:DescribeNetworkInterfaces",
                    &json!({"NetworkInterfaceIds": [id]}),
                );
                match eni {
                    Ok(out) => {
                        let ips = secondary_ips(&out["NetworkInterfaces"][0]);
                        self.st.ds.add_addresses(&id, ips);
                    }
                    Err(e) => self.fail("ec2:DescribeNetworkInterfaces", &e),
                }
                Filled::Increased
            }
            Err(e) => {
                self.fail(op, &e);
                if e.code.as_str() == "InsufficientFreeAddressesInSubnet" {
                    self.st.last_insufficient_ms = Some(self.now);
                    return Filled::SubnetFull;
                }
                Filled::Nothing
            }
        }
    }

    /// `tryAllocateENI` / `AllocENI`: create, attach at the first free device index, set
    /// DeleteOnTermination.
    fn try_allocate_eni(&mut self) {
        let max = self.st.max_ips_per_eni;
        let n = self.targets().map_or(max, |(short, _)| short.min(max));
        if n == 0 {
            return;
        }
        let instance_id = self.st.instance_id.clone();
        let mut tags = vec![
            json!({"Key": "node.k8s.amazonaws.com/createdAt", "Value": rfc3339_secs(self.now)}),
            json!({"Key": "node.k8s.amazonaws.com/instance_id", "Value": instance_id}),
        ];
        if !self.ctx.config.cluster.is_empty() {
            tags.push(
                json!({"Key": "cluster.k8s.amazonaws.com/name", "Value": self.ctx.config.cluster}),
            );
            tags.push(json!({"Key": "eks:eni:owner", "Value": "amazon-vpc-cni"}));
        }
        let create = json!({
            "Description": format!("aws-K8S-{instance_id}"),
            "Groups": self.st.groups,
            "SubnetId": self.st.subnet_id,
            "TagSpecifications": [{"ResourceType": "network-interface", "Tags": tags}],
            "SecondaryPrivateIpAddressCount": n,
        });
        let out = match self.call("ec2:CreateNetworkInterface", &create) {
            Ok(out) => out,
            Err(e) => {
                self.fail("ec2:CreateNetworkInterface", &e);
                if e.code.as_str() == "InsufficientFreeAddressesInSubnet" {
                    self.st.last_insufficient_ms = Some(self.now);
                }
                return;
            }
        };
        let eni = &out["NetworkInterface"];
        let eni_id = str_at(eni, "/NetworkInterfaceId").to_string();
        // `awsGetFreeDeviceNumber`: the first index no attached ENI uses, as EC2 lists them
        // (ENIs attached by others count); with none free the attach is tried past the limit
        // and EC2 refuses it (`AttachmentLimitExceeded`).
        let mut used: BTreeSet<i64> = self.st.ds.enis.keys().copied().collect();
        match self.call(
            "ec2:DescribeInstances",
            &json!({"InstanceIds": [instance_id]}),
        ) {
            Ok(out) => used.extend(
                out["Reservations"][0]["Instances"][0]["NetworkInterfaces"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n["Attachment"]["DeviceIndex"].as_i64()),
            ),
            Err(e) => self.fail("ec2:DescribeInstances", &e),
        }
        let device = (0..self.st.max_enis.max(1) as i64)
            .find(|d| !used.contains(d))
            .unwrap_or(self.st.max_enis as i64);
        let attach = json!({
            "DeviceIndex": device,
            "InstanceId": instance_id,
            "NetworkInterfaceId": eni_id,
            "NetworkCardIndex": 0,
        });
        let attachment_id = match self.call("ec2:AttachNetworkInterface", &attach) {
            Ok(a) => str_at(&a, "/AttachmentId").to_string(),
            Err(e) => {
                self.fail("ec2:AttachNetworkInterface", &e);
                if let Err(e) = self.call(
                    "ec2:DeleteNetworkInterface",
                    &json!({"NetworkInterfaceId": eni_id}),
                ) {
                    self.fail("ec2:DeleteNetworkInterface", &e);
                }
                return;
            }
        };
        let modify = json!({
            "NetworkInterfaceId": eni_id,
            "Attachment": {"AttachmentId": attachment_id, "DeleteOnTermination": true},
        });
        if let Err(e) = self.call("ec2:ModifyNetworkInterfaceAttribute", &modify) {
            self.fail("ec2:ModifyNetworkInterfaceAttribute", &e);
        }
        let Ok(primary_ip) = str_at(eni, "/PrivateIpAddress").parse::<Ipv4Addr>() else {
            return;
        };
        let ips = secondary_ips(eni);
        self.summary.ips_assigned += ips.len();
        self.st.ds.add_eni(Eni {
            id: eni_id.clone(),
            device,
            attachment_id,
            primary_ip,
            mac: str_at(eni, "/MacAddress").to_string(),
            created_ms: self.now,
            addresses: ips.into_iter().map(|ip| (ip, Address::default())).collect(),
        });
        self.summary.enis_created.push(eni_id);
    }

    /// `decreaseDatastorePool` / `tryUnassignCidrsFromAll`, at most once per interval.
    fn decrease(&mut self, mut over: usize) {
        let interval = self.settings.decrease_interval.as_millis() as u64;
        if self
            .st
            .last_decrease_ms
            .is_some_and(|t| self.now <= t + interval)
        {
            return;
        }
        self.st.last_decrease_ms = Some(self.now);
        let ids: Vec<String> = self.st.ds.enis.values().map(|e| e.id.clone()).collect();
        for id in ids {
            let mut free = self.st.ds.freeable(&id, self.now);
            free.truncate(over);
            if free.is_empty() {
                continue;
            }
            for ip in &free {
                self.st.ds.remove_address(&id, *ip);
            }
            let addrs: Vec<String> = free.iter().map(Ipv4Addr::to_string).collect();
            let input = json!({"NetworkInterfaceId": id, "PrivateIpAddresses": addrs});
            match self.call("ec2:UnassignPrivateIpAddresses", &input) {
                Ok(_) => self.summary.ips_unassigned += free.len(),
                Err(e) => self.fail("ec2:UnassignPrivateIpAddresses", &e),
            }
            over -= free.len();
            if over == 0 {
                break;
            }
        }
    }

    /// `tryFreeENI` / `FreeENI`: detach and delete one deletable ENI.
    fn try_free_eni(&mut self) {
        let (warm, min) = (
            self.settings.warm_ip_target,
            self.settings.minimum_ip_target,
        );
        let Some(id) = self
            .st
            .ds
            .deletable(self.now, warm, min)
            .map(|e| e.id.clone())
        else {
            return;
        };
        let Some(eni) = self.st.ds.remove_eni(&id) else {
            return;
        };
        let detach = json!({"AttachmentId": eni.attachment_id});
        if let Err(e) = self.call("ec2:DetachNetworkInterface", &detach) {
            self.fail("ec2:DetachNetworkInterface", &e);
            self.st.ds.add_eni(eni);
            return;
        }
        match self.call(
            "ec2:DeleteNetworkInterface",
            &json!({"NetworkInterfaceId": id}),
        ) {
            Ok(_) => {}
            Err(e) if e.code.as_str() == "InvalidNetworkInterfaceID.NotFound" => {}
            Err(e) => self.fail("ec2:DeleteNetworkInterface", &e),
        }
        self.summary.enis_deleted.push(id);
    }
}
