//! Topology files (DESIGN.md "Topologies", `docs/topologies.md`): the starting world a scenario
//! runs in, declared as data and realized **through the AWS API**, like a user's script.
//!
//! - [`Topology`] and its parts are the schema (YAML, unknown keys are errors naming the file);
//! - [`load`] finds a topology by name (`fixtures/topologies/<name>.yaml`) or by a path relative
//!   to the scenario file, parses and [validates](Topology::validate) it;
//! - [`Topology::realize`] creates everything with an [`AwsClient`] in a fixed order (VPC,
//!   subnets, internet gateway and public route table, EIP + NAT gateway and private route
//!   table, security groups, instances, launch templates, Auto Scaling groups) and returns the
//!   created ids by the topology's names ([`Realized::vars`]), which the runner exposes as
//!   pre-captured `${...}` variables.

use cloudbox_aws::AwsClient;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The `apiVersion` of topology files.
pub const API_VERSION: &str = "cloudbox.dev/v1alpha1";
/// The `kind` of topology files.
pub const KIND: &str = "Topology";
/// The folder of named topologies (`seed` is `fixtures/topologies/seed.yaml`).
pub const TOPOLOGIES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/topologies");
/// The tag key every cluster resource carries with the cluster's name as value (legacy form).
pub const LEGACY_CLUSTER_TAG: &str = "KubernetesCluster";
/// The prefix of the `kubernetes.io/cluster/<name>` tag key.
pub const CLUSTER_TAG_PREFIX: &str = "kubernetes.io/cluster/";
/// The value of the `kubernetes.io/cluster/<name>` tag on resources the topology creates.
pub const CLUSTER_TAG_VALUE: &str = "shared";

/// A whole topology file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Topology {
    /// Must be [`API_VERSION`].
    pub api_version: String,
    /// Must be [`KIND`].
    pub kind: String,
    /// The topology's name.
    pub metadata: Metadata,
    /// What exists before the first step.
    #[serde(default)]
    pub spec: Spec,
    /// The file it was read from (set by [`load`]).
    #[serde(skip)]
    pub path: PathBuf,
}

/// `metadata` of a topology.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// The topology's name.
    pub name: String,
    /// Free text for people.
    #[serde(default)]
    pub description: Option<String>,
}

/// `spec` of a topology: every part optional; an empty spec is the `empty` topology.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    /// The region everything is created in (and `aws` steps call). Absent: the scenario's
    /// `spec.region`, else `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    /// The Kubernetes cluster (its name gives the cluster tags).
    #[serde(default)]
    pub cluster: Option<Cluster>,
    /// IAM settings shared by instances and launch templates.
    #[serde(default)]
    pub iam: Option<Iam>,
    /// The VPC; required when any subnet, group or instance is declared.
    #[serde(default)]
    pub vpc: Option<Vpc>,
    /// Subnets of the VPC.
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    /// The NAT gateway private subnets route through; required when a private subnet exists.
    #[serde(default)]
    pub nat_gateway: Option<NatGateway>,
    /// Security groups of the VPC.
    #[serde(default)]
    pub security_groups: Vec<SecurityGroup>,
    /// Instances launched with RunInstances, one each.
    #[serde(default)]
    pub instances: Vec<Instance>,
    /// Launch templates.
    #[serde(default)]
    pub launch_templates: Vec<LaunchTemplate>,
    /// Auto Scaling groups.
    #[serde(default)]
    pub auto_scaling_groups: Vec<AutoScalingGroup>,
    /// Settings of later controllers, kept as data: controller name → setting → value
    /// (`aws-node: {WARM_ENI_TARGET: 1}`). Nothing is created from them.
    #[serde(default)]
    pub controllers: BTreeMap<String, BTreeMap<String, Value>>,
}

/// `spec.cluster`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cluster {
    /// The cluster's name: the value of `KubernetesCluster` and the `<name>` of
    /// `kubernetes.io/cluster/<name>`.
    pub name: String,
    /// The Kubernetes version (`v1.32.4`).
    pub kubernetes_version: String,
    /// The pod CIDR.
    pub pod_cidr: String,
    /// The service CIDR.
    pub service_cidr: String,
    /// The kubelet max-pods policy.
    #[serde(default)]
    pub max_pods: MaxPods,
    /// The pod network; absent: `vpcCni` when `spec.controllers` has `aws-node`, else `none`.
    #[serde(default)]
    pub cni: Option<Cni>,
}

/// The cluster's pod network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Cni {
    /// The Amazon VPC CNI (aws-node): pod addresses are secondary addresses of node ENIs.
    VpcCni,
    /// No CNI model: each node hands out addresses from its own pod range.
    None,
}

impl Spec {
    /// The pod network in effect (see [`Cluster::cni`]).
    pub fn cni(&self) -> Cni {
        match self.cluster.as_ref().and_then(|c| c.cni) {
            Some(c) => c,
            None if self.controllers.contains_key("aws-node") => Cni::VpcCni,
            None => Cni::None,
        }
    }
}

/// The kubelet max-pods policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MaxPods {
    /// kubeadm's kubelet default: 110 pods a node.
    #[default]
    Kubeadm,
    /// The AWS VPC CNI formula: ENIs × (IPv4 addresses per ENI − 1) + 2.
    Eni,
}

impl MaxPods {
    /// The fixed number of the `kubeadm` policy.
    pub const KUBEADM: u32 = 110;
}

/// `spec.iam`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Iam {
    /// The instance profile ARN every instance and launch template gets (`IamInstanceProfile.Arn`).
    pub instance_profile_arn: String,
}

/// `spec.vpc`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Vpc {
    /// The VPC's IPv4 CIDR.
    pub cidr: String,
    /// Tags (CreateTags after CreateVpc).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Adds `kubernetes.io/cluster/<cluster>=shared` (a VPC does not get `KubernetesCluster`).
    #[serde(default)]
    pub cluster_tags: bool,
}

/// Whether a subnet routes through the internet gateway or the NAT gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubnetKind {
    /// Associated with the public route table (`0.0.0.0/0` → internet gateway).
    Public,
    /// Associated with the private route table (`0.0.0.0/0` → NAT gateway).
    Private,
}

/// One of `spec.subnets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Subnet {
    /// Its name in the topology (`${subnet.<name>}`); also its `Name` tag unless `tags` has one.
    pub name: String,
    /// `public` or `private`.
    pub kind: SubnetKind,
    /// Its availability zone (`cn-northwest-1a`).
    pub zone: String,
    /// Its CIDR, inside the VPC's.
    pub cidr: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Adds the cluster tags (`KubernetesCluster=<cluster>`, `kubernetes.io/cluster/<cluster>=shared`).
    #[serde(default)]
    pub cluster_tags: bool,
}

/// `spec.natGateway`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NatGateway {
    /// The public subnet it is created in (with a new Elastic IP).
    pub subnet: String,
}

/// One of `spec.securityGroups`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecurityGroup {
    /// Its `GroupName` and name in the topology (`${sg.<name>}`).
    pub name: String,
    /// Its `Description`.
    pub description: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Adds the cluster tags.
    #[serde(default)]
    pub cluster_tags: bool,
    /// Ingress rules (AuthorizeSecurityGroupIngress).
    #[serde(default)]
    pub ingress: Vec<Rule>,
}

/// One ingress rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rule {
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    pub protocol: String,
    /// First port (ICMP type); absent for `-1`.
    #[serde(default)]
    pub from_port: Option<i64>,
    /// Last port (ICMP code); absent for `-1`.
    #[serde(default)]
    pub to_port: Option<i64>,
    /// Source CIDR; exactly one of `cidr` and `sourceGroup`.
    #[serde(default)]
    pub cidr: Option<String>,
    /// Source security group, by its name in the topology.
    #[serde(default)]
    pub source_group: Option<String>,
}

/// What an instance is in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// The control plane (API server) node.
    ControlPlane,
    /// A worker node.
    Worker,
    /// Not a node (a bastion).
    None,
}

/// One of `spec.instances`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Instance {
    /// Its name in the topology (`${instance.<name>}`); also its `Name` tag unless `tags` has one.
    pub name: String,
    /// `controlPlane`, `worker` or `none`.
    pub role: Role,
    /// Its instance type (`c5.large`).
    #[serde(rename = "type")]
    pub instance_type: String,
    /// Its AMI.
    pub image: String,
    /// Its subnet, by name.
    pub subnet: String,
    /// Its primary private IPv4 address, inside the subnet's CIDR (absent: the next free one).
    #[serde(default)]
    pub private_ip: Option<String>,
    /// Its security groups, by name (absent: the VPC's default group).
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Tags (TagSpecifications of RunInstances).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Adds the cluster tags.
    #[serde(default)]
    pub cluster_tags: bool,
}

/// One of `spec.launchTemplates`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LaunchTemplate {
    /// Its `LaunchTemplateName` and name in the topology (`${launchTemplate.<name>}`).
    pub name: String,
    /// Instance type.
    #[serde(rename = "type")]
    pub instance_type: String,
    /// AMI.
    pub image: String,
    /// Security groups, by name.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Tags of the instances it launches (instance TagSpecifications).
    #[serde(default)]
    pub instance_tags: BTreeMap<String, String>,
    /// Adds the cluster tags to `instanceTags`.
    #[serde(default)]
    pub cluster_tags: bool,
}

/// One of `spec.autoScalingGroups`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AutoScalingGroup {
    /// Its `AutoScalingGroupName` (`${asg.<name>}` is the same string).
    pub name: String,
    /// Its launch template, by name (version `$Latest`).
    pub launch_template: String,
    /// `MinSize`.
    pub min: u32,
    /// `MaxSize`.
    pub max: u32,
    /// `DesiredCapacity`.
    pub desired: u32,
    /// Its subnets, by name (`VPCZoneIdentifier`).
    pub subnets: Vec<String>,
    /// Tags, all with `PropagateAtLaunch: true`.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Adds the cluster tags.
    #[serde(default)]
    pub cluster_tags: bool,
}

/// What [`Topology::realize`] created: the region and every id by its topology name.
#[derive(Debug, Clone, Default)]
pub struct Realized {
    /// The region everything was created in.
    pub region: String,
    /// `vpc`, `igw`, `eip`, `nat`, `routeTable.public`, `routeTable.private`,
    /// `subnet.<name>`, `sg.<name>`, `instance.<name>`, `launchTemplate.<name>`,
    /// `asg.<name>`, and `cluster` (the cluster's name) → the value.
    pub vars: BTreeMap<String, String>,
}

/// Loads a topology: `reference` is a name under [`TOPOLOGIES_DIR`] (`seed`) or, when it has a
/// `/` or ends in `.yaml`/`.yml`, a path relative to `base` (the scenario file's folder).
pub fn load(reference: &str, base: &Path) -> anyhow::Result<Topology> {
    let is_path =
        reference.contains('/') || reference.ends_with(".yaml") || reference.ends_with(".yml");
    let path = if is_path {
        base.join(reference)
    } else {
        let p = Path::new(TOPOLOGIES_DIR).join(format!("{reference}.yaml"));
        if !p.exists() {
            // A binary run away from its source tree still knows the shipped topologies.
            if let Some((_, text)) = EMBEDDED.iter().find(|(name, _)| *name == reference) {
                return parse(&p, text);
            }
            anyhow::bail!(
                "topology '{reference}' is not a name under fixtures/topologies/ (known: {}) \
                 nor a path (a path has a '/' or ends in .yaml)",
                names().join(", ")
            );
        }
        p
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("topology {}: cannot read: {e}", path.display()))?;
    parse(&path, &text)
}

/// The shipped topologies, built into the binary.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "empty",
        include_str!("../../fixtures/topologies/empty.yaml"),
    ),
    ("seed", include_str!("../../fixtures/topologies/seed.yaml")),
    (
        "seed-eni-max-pods",
        include_str!("../../fixtures/topologies/seed-eni-max-pods.yaml"),
    ),
];

/// The named topologies (file stems under [`TOPOLOGIES_DIR`]), sorted.
pub fn names() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(TOPOLOGIES_DIR)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Parses and validates a topology; `path` names the file in errors.
pub fn parse(path: &Path, text: &str) -> anyhow::Result<Topology> {
    let file = path.display();
    let mut t: Topology =
        serde_yaml_ng::from_str(text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    t.path = path.to_path_buf();
    t.validate().map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    Ok(t)
}

/// `a.b.c.d/n` → (network address, prefix length), or an error naming `what`.
fn cidr(what: &str, s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{what}: '{s}' is not an IPv4 CIDR (a.b.c.d/n)");
    let (ip, len) = s.split_once('/').ok_or_else(bad)?;
    let len: u32 = len.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(bad());
    }
    let ip = ipv4(ip).ok_or_else(bad)?;
    let mask = mask(len);
    if ip & !mask != 0 {
        return Err(format!("{what}: '{s}' has host bits set"));
    }
    Ok((ip, len))
}

fn mask(len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

fn ipv4(s: &str) -> Option<u32> {
    s.parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

fn inside((net, len): (u32, u32), (outer, olen): (u32, u32)) -> bool {
    len >= olen && net & mask(olen) == outer
}

fn unique<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for n in names {
        if n.is_empty() {
            return Err(format!("a {what} needs a non-empty name"));
        }
        if !seen.insert(n) {
            return Err(format!("two {what}s are named '{n}'"));
        }
    }
    Ok(())
}

impl Topology {
    /// The checks AWS would not make before half the world exists: the envelope, unique names,
    /// every reference by name, CIDRs nesting, addresses inside their subnets, zones of the
    /// region, cluster tags only with a cluster.
    pub fn validate(&self) -> Result<(), String> {
        if self.api_version != API_VERSION {
            return Err(format!(
                "apiVersion is '{}', expected '{API_VERSION}'",
                self.api_version
            ));
        }
        if self.kind != KIND {
            return Err(format!("kind is '{}', expected '{KIND}'", self.kind));
        }
        let s = &self.spec;
        if let Some(c) = &s.cluster {
            if c.name.is_empty() {
                return Err("spec.cluster.name is empty".into());
            }
            cidr("spec.cluster.podCidr", &c.pod_cidr)?;
            cidr("spec.cluster.serviceCidr", &c.service_cidr)?;
            if !c.kubernetes_version.starts_with('v') {
                return Err(format!(
                    "spec.cluster.kubernetesVersion '{}' must look like v1.32.4",
                    c.kubernetes_version
                ));
            }
        }
        let wants_cluster_tags = s.vpc.as_ref().is_some_and(|v| v.cluster_tags)
            || s.subnets.iter().any(|x| x.cluster_tags)
            || s.security_groups.iter().any(|x| x.cluster_tags)
            || s.instances.iter().any(|x| x.cluster_tags)
            || s.launch_templates.iter().any(|x| x.cluster_tags)
            || s.auto_scaling_groups.iter().any(|x| x.cluster_tags);
        if wants_cluster_tags && s.cluster.is_none() {
            return Err("clusterTags: true needs spec.cluster (its name gives the tags)".into());
        }
        let vpc = match &s.vpc {
            Some(v) => Some(cidr("spec.vpc.cidr", &v.cidr)?),
            None => None,
        };
        if vpc.is_none() && (!s.subnets.is_empty() || !s.security_groups.is_empty()) {
            return Err("subnets and security groups need spec.vpc".into());
        }
        unique("subnet", s.subnets.iter().map(|x| x.name.as_str()))?;
        unique(
            "security group",
            s.security_groups.iter().map(|x| x.name.as_str()),
        )?;
        unique("instance", s.instances.iter().map(|x| x.name.as_str()))?;
        unique(
            "launch template",
            s.launch_templates.iter().map(|x| x.name.as_str()),
        )?;
        unique(
            "Auto Scaling group",
            s.auto_scaling_groups.iter().map(|x| x.name.as_str()),
        )?;
        let mut subnets = BTreeMap::new();
        for sn in &s.subnets {
            let what = format!("subnet '{}'", sn.name);
            let c = cidr(&format!("{what} cidr"), &sn.cidr)?;
            if let Some(v) = vpc {
                if !inside(c, v) {
                    return Err(format!(
                        "{what}: {} is not inside the VPC's {}",
                        sn.cidr,
                        s.vpc.as_ref().map_or("", |v| v.cidr.as_str())
                    ));
                }
            }
            if let Some(r) = &s.region {
                let ok = sn.zone.strip_prefix(r.as_str()).is_some_and(|rest| {
                    rest.len() == 1 && rest.chars().all(|ch| ch.is_ascii_lowercase())
                });
                if !ok {
                    return Err(format!(
                        "{what}: zone '{}' is not a zone of {r} ({r}a, {r}b, …)",
                        sn.zone
                    ));
                }
            }
            for (other, oc) in subnets.values() {
                if inside(c, *oc) || inside(*oc, c) {
                    return Err(format!("{what}: {} overlaps subnet '{other}'", sn.cidr));
                }
            }
            subnets.insert(sn.name.as_str(), (sn.name.as_str(), c));
        }
        let subnet = |what: &str, name: &str| -> Result<&Subnet, String> {
            s.subnets.iter().find(|x| x.name == name).ok_or_else(|| {
                format!(
                    "{what}: no subnet named '{name}' (subnets: {})",
                    s.subnets
                        .iter()
                        .map(|x| x.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        };
        let group = |what: &str, name: &str| -> Result<(), String> {
            if s.security_groups.iter().any(|g| g.name == name) {
                Ok(())
            } else {
                Err(format!("{what}: no security group named '{name}'"))
            }
        };
        match &s.nat_gateway {
            Some(n) => {
                if subnet("spec.natGateway", &n.subnet)?.kind != SubnetKind::Public {
                    return Err(format!(
                        "spec.natGateway: subnet '{}' is not public",
                        n.subnet
                    ));
                }
            }
            None => {
                if let Some(p) = s.subnets.iter().find(|x| x.kind == SubnetKind::Private) {
                    return Err(format!(
                        "subnet '{}' is private: spec.natGateway is required",
                        p.name
                    ));
                }
            }
        }
        for g in &s.security_groups {
            for r in &g.ingress {
                let what = format!("security group '{}' ingress", g.name);
                match (&r.cidr, &r.source_group) {
                    (Some(c), None) => {
                        cidr(&what, c)?;
                    }
                    (None, Some(src)) => group(&what, src)?,
                    _ => return Err(format!("{what}: exactly one of cidr and sourceGroup")),
                }
            }
        }
        let mut ips = BTreeSet::new();
        for i in &s.instances {
            let what = format!("instance '{}'", i.name);
            let sn = subnet(&what, &i.subnet)?;
            if let Some(ip) = &i.private_ip {
                let addr =
                    ipv4(ip).ok_or_else(|| format!("{what}: '{ip}' is not an IPv4 address"))?;
                let (net, len) = cidr("", &sn.cidr)?;
                // AWS reserves the first four addresses and the last one of every subnet.
                let last = net | !mask(len);
                if addr & mask(len) != net || addr < net + 4 || addr == last {
                    return Err(format!(
                        "{what}: {ip} is not a usable address of subnet '{}' ({})",
                        sn.name, sn.cidr
                    ));
                }
                if !ips.insert(addr) {
                    return Err(format!("{what}: {ip} is used twice"));
                }
            }
            for g in &i.security_groups {
                group(&what, g)?;
            }
        }
        for lt in &s.launch_templates {
            for g in &lt.security_groups {
                group(&format!("launch template '{}'", lt.name), g)?;
            }
        }
        for a in &s.auto_scaling_groups {
            let what = format!("Auto Scaling group '{}'", a.name);
            if !s
                .launch_templates
                .iter()
                .any(|l| l.name == a.launch_template)
            {
                return Err(format!(
                    "{what}: no launch template named '{}'",
                    a.launch_template
                ));
            }
            if a.subnets.is_empty() {
                return Err(format!("{what}: needs at least one subnet"));
            }
            for sn in &a.subnets {
                subnet(&what, sn)?;
            }
            if !(a.min <= a.desired && a.desired <= a.max) {
                return Err(format!(
                    "{what}: needs min ≤ desired ≤ max, got {} ≤ {} ≤ {}",
                    a.min, a.desired, a.max
                ));
            }
        }
        Ok(())
    }

    /// The cluster tags (`KubernetesCluster=<name>`, `kubernetes.io/cluster/<name>=shared`),
    /// empty without a cluster.
    pub fn cluster_tags(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(c) = &self.spec.cluster {
            out.insert(LEGACY_CLUSTER_TAG.to_string(), c.name.clone());
            out.insert(
                format!("{CLUSTER_TAG_PREFIX}{}", c.name),
                CLUSTER_TAG_VALUE.to_string(),
            );
        }
        out
    }

    fn tags(
        &self,
        own: &BTreeMap<String, String>,
        cluster: bool,
        name: Option<&str>,
    ) -> BTreeMap<String, String> {
        let mut out = if cluster {
            self.cluster_tags()
        } else {
            BTreeMap::new()
        };
        if let Some(n) = name {
            out.insert("Name".to_string(), n.to_string());
        }
        out.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }

    /// Creates everything through `aws` (whose region must be the topology's, if it names one),
    /// in a fixed order, and returns the ids by name. The first failing call stops it, with an
    /// error naming the file, the call and the resource.
    pub fn realize(&self, aws: &AwsClient) -> anyhow::Result<Realized> {
        let s = &self.spec;
        let file = self.path.display();
        let call = |what: &str, op: &str, input: Value| -> anyhow::Result<Value> {
            aws.call(op, &input).map_err(|e| {
                anyhow::anyhow!(
                    "topology {file}: {op} for {what}: {}: {}",
                    e.code.as_str(),
                    e.message
                )
            })
        };
        let id = |out: &Value, ptr: &str, op: &str| -> anyhow::Result<String> {
            out.pointer(ptr)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("topology {file}: {op} gave no {ptr}: {out}"))
        };
        let tag_list = |tags: &BTreeMap<String, String>| -> Value {
            tags.iter()
                .map(|(k, v)| json!({"Key": k, "Value": v}))
                .collect()
        };
        let create_tags = |what: &str, id: &str, tags: &BTreeMap<String, String>| {
            if tags.is_empty() {
                return Ok(Value::Null);
            }
            call(
                what,
                "ec2:CreateTags",
                json!({"Resources": [id], "Tags": tag_list(tags)}),
            )
        };
        let mut r = Realized {
            region: aws.region().to_string(),
            vars: BTreeMap::new(),
        };
        if let Some(c) = &s.cluster {
            r.vars.insert("cluster".into(), c.name.clone());
        }
        let Some(vpc) = &s.vpc else {
            return Ok(r);
        };
        let out = call("the VPC", "ec2:CreateVpc", json!({"CidrBlock": vpc.cidr}))?;
        let vpc_id = id(&out, "/Vpc/VpcId", "CreateVpc")?;
        let mut vpc_tags = vpc.tags.clone();
        if vpc.cluster_tags {
            if let Some(c) = &s.cluster {
                vpc_tags
                    .entry(format!("{CLUSTER_TAG_PREFIX}{}", c.name))
                    .or_insert_with(|| CLUSTER_TAG_VALUE.to_string());
            }
        }
        create_tags("the VPC", &vpc_id, &vpc_tags)?;
        r.vars.insert("vpc".into(), vpc_id.clone());
        let mut subnet_ids = BTreeMap::new();
        for sn in &s.subnets {
            let what = format!("subnet '{}'", sn.name);
            let out = call(
                &what,
                "ec2:CreateSubnet",
                json!({"VpcId": vpc_id, "CidrBlock": sn.cidr, "AvailabilityZone": sn.zone}),
            )?;
            let sid = id(&out, "/Subnet/SubnetId", "CreateSubnet")?;
            create_tags(
                &what,
                &sid,
                &self.tags(&sn.tags, sn.cluster_tags, Some(&sn.name)),
            )?;
            r.vars.insert(format!("subnet.{}", sn.name), sid.clone());
            subnet_ids.insert(sn.name.clone(), sid);
        }
        let of_kind = |k: SubnetKind| -> Vec<&String> {
            s.subnets
                .iter()
                .filter(|x| x.kind == k)
                .map(|x| &subnet_ids[&x.name])
                .collect()
        };
        let public = of_kind(SubnetKind::Public);
        if !public.is_empty() {
            let out = call(
                "the internet gateway",
                "ec2:CreateInternetGateway",
                json!({}),
            )?;
            let igw = id(
                &out,
                "/InternetGateway/InternetGatewayId",
                "CreateInternetGateway",
            )?;
            call(
                "the internet gateway",
                "ec2:AttachInternetGateway",
                json!({"InternetGatewayId": igw, "VpcId": vpc_id}),
            )?;
            r.vars.insert("igw".into(), igw.clone());
            let rt = self.route_table(
                &call,
                &id,
                &vpc_id,
                "public",
                json!({"GatewayId": igw}),
                &public,
            )?;
            r.vars.insert("routeTable.public".into(), rt);
        }
        if let Some(n) = &s.nat_gateway {
            let out = call(
                "the NAT gateway's Elastic IP",
                "ec2:AllocateAddress",
                json!({"Domain": "vpc"}),
            )?;
            let eip = id(&out, "/AllocationId", "AllocateAddress")?;
            r.vars.insert("eip".into(), eip.clone());
            let out = call(
                "the NAT gateway",
                "ec2:CreateNatGateway",
                json!({"SubnetId": subnet_ids[&n.subnet], "AllocationId": eip}),
            )?;
            let nat = id(&out, "/NatGateway/NatGatewayId", "CreateNatGateway")?;
            r.vars.insert("nat".into(), nat.clone());
            let private = of_kind(SubnetKind::Private);
            let rt = self.route_table(
                &call,
                &id,
                &vpc_id,
                "private",
                json!({"NatGatewayId": nat}),
                &private,
            )?;
            r.vars.insert("routeTable.private".into(), rt);
        }
        let mut groups = BTreeMap::new();
        for g in &s.security_groups {
            let what = format!("security group '{}'", g.name);
            let out = call(
                &what,
                "ec2:CreateSecurityGroup",
                json!({"GroupName": g.name, "Description": g.description, "VpcId": vpc_id}),
            )?;
            let gid = id(&out, "/GroupId", "CreateSecurityGroup")?;
            create_tags(&what, &gid, &self.tags(&g.tags, g.cluster_tags, None))?;
            r.vars.insert(format!("sg.{}", g.name), gid.clone());
            groups.insert(g.name.clone(), gid);
        }
        for g in &s.security_groups {
            let what = format!("security group '{}'", g.name);
            for rule in &g.ingress {
                let mut perm = json!({"IpProtocol": rule.protocol});
                if let Some(p) = rule.from_port {
                    perm["FromPort"] = json!(p);
                }
                if let Some(p) = rule.to_port {
                    perm["ToPort"] = json!(p);
                }
                if let Some(c) = &rule.cidr {
                    perm["IpRanges"] = json!([{"CidrIp": c}]);
                }
                if let Some(src) = &rule.source_group {
                    perm["UserIdGroupPairs"] = json!([{"GroupId": groups[src]}]);
                }
                call(
                    &what,
                    "ec2:AuthorizeSecurityGroupIngress",
                    json!({"GroupId": groups[&g.name], "IpPermissions": [perm]}),
                )?;
            }
        }
        let group_ids =
            |names: &[String]| -> Vec<String> { names.iter().map(|n| groups[n].clone()).collect() };
        let profile = s
            .iam
            .as_ref()
            .map(|i| json!({"Arn": i.instance_profile_arn}));
        for i in &s.instances {
            let what = format!("instance '{}'", i.name);
            let mut input = json!({
                "ImageId": i.image,
                "InstanceType": i.instance_type,
                "MinCount": 1,
                "MaxCount": 1,
                "SubnetId": subnet_ids[&i.subnet],
                "TagSpecifications": [{
                    "ResourceType": "instance",
                    "Tags": tag_list(&self.tags(&i.tags, i.cluster_tags, Some(&i.name))),
                }],
            });
            if let Some(ip) = &i.private_ip {
                input["PrivateIpAddress"] = json!(ip);
            }
            if !i.security_groups.is_empty() {
                input["SecurityGroupIds"] = json!(group_ids(&i.security_groups));
            }
            if let Some(p) = &profile {
                input["IamInstanceProfile"] = p.clone();
            }
            let out = call(&what, "ec2:RunInstances", input)?;
            let iid = id(&out, "/Instances/0/InstanceId", "RunInstances")?;
            r.vars.insert(format!("instance.{}", i.name), iid);
        }
        for lt in &s.launch_templates {
            let what = format!("launch template '{}'", lt.name);
            let mut data = json!({"ImageId": lt.image, "InstanceType": lt.instance_type});
            if !lt.security_groups.is_empty() {
                data["SecurityGroupIds"] = json!(group_ids(&lt.security_groups));
            }
            if let Some(p) = &profile {
                data["IamInstanceProfile"] = p.clone();
            }
            let tags = self.tags(&lt.instance_tags, lt.cluster_tags, None);
            if !tags.is_empty() {
                data["TagSpecifications"] =
                    json!([{"ResourceType": "instance", "Tags": tag_list(&tags)}]);
            }
            let out = call(
                &what,
                "ec2:CreateLaunchTemplate",
                json!({"LaunchTemplateName": lt.name, "LaunchTemplateData": data}),
            )?;
            let ltid = id(
                &out,
                "/LaunchTemplate/LaunchTemplateId",
                "CreateLaunchTemplate",
            )?;
            r.vars.insert(format!("launchTemplate.{}", lt.name), ltid);
        }
        for a in &s.auto_scaling_groups {
            let what = format!("Auto Scaling group '{}'", a.name);
            let zones: Vec<&str> = a.subnets.iter().map(|n| subnet_ids[n].as_str()).collect();
            let tags: Vec<Value> = self
                .tags(&a.tags, a.cluster_tags, None)
                .iter()
                .map(|(k, v)| json!({"Key": k, "Value": v, "PropagateAtLaunch": true}))
                .collect();
            call(
                &what,
                "autoscaling:CreateAutoScalingGroup",
                json!({
                    "AutoScalingGroupName": a.name,
                    "LaunchTemplate": {
                        "LaunchTemplateId": r.vars[&format!("launchTemplate.{}", a.launch_template)],
                        "Version": "$Latest",
                    },
                    "MinSize": a.min,
                    "MaxSize": a.max,
                    "DesiredCapacity": a.desired,
                    "VPCZoneIdentifier": zones.join(","),
                    "Tags": tags,
                }),
            )?;
            r.vars.insert(format!("asg.{}", a.name), a.name.clone());
        }
        Ok(r)
    }

    /// CreateRouteTable, CreateRoute `0.0.0.0/0` → `target`, AssociateRouteTable for each subnet.
    fn route_table(
        &self,
        call: &dyn Fn(&str, &str, Value) -> anyhow::Result<Value>,
        id: &dyn Fn(&Value, &str, &str) -> anyhow::Result<String>,
        vpc_id: &str,
        kind: &str,
        target: Value,
        subnets: &[&String],
    ) -> anyhow::Result<String> {
        let what = format!("the {kind} route table");
        let out = call(&what, "ec2:CreateRouteTable", json!({"VpcId": vpc_id}))?;
        let rt = id(&out, "/RouteTable/RouteTableId", "CreateRouteTable")?;
        let mut route = json!({"RouteTableId": rt, "DestinationCidrBlock": "0.0.0.0/0"});
        if let (Value::Object(r), Value::Object(t)) = (&mut route, target) {
            r.extend(t);
        }
        call(&what, "ec2:CreateRoute", route)?;
        for sn in subnets {
            call(
                &what,
                "ec2:AssociateRouteTable",
                json!({"RouteTableId": rt, "SubnetId": sn}),
            )?;
        }
        Ok(rt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudbox_aws::AwsState;
    use cloudbox_sim::Clock;

    const HEAD: &str = "apiVersion: cloudbox.dev/v1alpha1\nkind: Topology\nmetadata: {name: t}\n";

    fn err(text: &str) -> String {
        match parse(Path::new("dir/t.yaml"), &format!("{HEAD}{text}")) {
            Ok(_) => panic!("should fail: {text}"),
            Err(e) => format!("{e:#}"),
        }
    }

    fn seed_text() -> String {
        match std::fs::read_to_string(Path::new(TOPOLOGIES_DIR).join("seed.yaml")) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn named_topologies_parse() {
        assert_eq!(names(), ["empty", "seed", "seed-eni-max-pods"]);
        let seed = load("seed", Path::new("/nowhere")).unwrap_or_else(|e| panic!("{e:#}"));
        let s = &seed.spec;
        assert_eq!(s.region.as_deref(), Some("cn-northwest-1"));
        let c = s.cluster.as_ref().unwrap_or_else(|| panic!("cluster"));
        assert_eq!(
            (c.name.as_str(), c.kubernetes_version.as_str(), c.max_pods),
            ("int32bit-kubernetes", "v1.32.4", MaxPods::Kubeadm)
        );
        assert_eq!(c.pod_cidr, s.vpc.as_ref().map_or("", |v| v.cidr.as_str()));
        assert_eq!(s.controllers["aws-node"]["WARM_ENI_TARGET"], json!(1));
        let empty = load("empty", Path::new("/nowhere")).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(empty.spec.vpc.is_none() && empty.spec.region.is_none());
        let e = load("nope", Path::new("/nowhere"))
            .err()
            .map(|e| format!("{e:#}"));
        assert!(e.is_some_and(|e| e.contains("known: empty, seed")));
        let e = load("../x.yaml", Path::new("/nowhere"))
            .err()
            .map(|e| format!("{e:#}"));
        assert!(e.is_some_and(|e| e.contains("/nowhere/../x.yaml: cannot read")));
    }

    #[test]
    fn the_pod_network_defaults_to_the_vpc_cni_with_an_aws_node_entry() {
        let t = |text: &str| match parse(Path::new("t.yaml"), &format!("{HEAD}{text}")) {
            Ok(t) => t.spec.cni(),
            Err(e) => panic!("{e:#}"),
        };
        let cluster = "cluster: {name: c, kubernetesVersion: v1.32.4, podCidr: 10.0.0.0/16, serviceCidr: 10.96.0.0/12";
        assert_eq!(t(&format!("spec: {{{cluster}}}}}\n")), Cni::None);
        assert_eq!(
            t(&format!(
                "spec: {{{cluster}}}, controllers: {{aws-node: {{}}}}}}\n"
            )),
            Cni::VpcCni
        );
        assert_eq!(
            t(&format!(
                "spec: {{{cluster}, cni: none}}, controllers: {{aws-node: {{}}}}}}\n"
            )),
            Cni::None
        );
        assert_eq!(
            t(&format!("spec: {{{cluster}, cni: vpcCni}}}}\n")),
            Cni::VpcCni
        );
        let seed = load("seed", Path::new("/nowhere")).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(seed.spec.cni(), Cni::VpcCni);
    }

    #[test]
    fn unknown_keys_and_bad_envelopes_are_errors_naming_the_file() {
        let e = err("spec: {regoin: us-east-1}\n");
        assert!(e.starts_with("dir/t.yaml: ") && e.contains("regoin"), "{e}");
        let e = err("spec: {vpc: {cidr: 10.0.0.0/16, tag: {}}}\n");
        assert!(e.contains("unknown field `tag`"), "{e}");
        let e = err("spec: {cluster: {name: c, kubernetesVersion: v1.32.4, podCidr: 10.0.0.0/16, serviceCidr: 10.96.0.0/12, maxPods: many}}\n");
        assert!(e.contains("many"), "{e}");
        let text = seed_text().replace("kind: Topology", "kind: Scenario");
        let e = parse(Path::new("seed.yaml"), &text)
            .err()
            .map(|e| format!("{e:#}"));
        assert!(e.is_some_and(|e| e.contains("expected 'Topology'")));
    }

    #[test]
    fn validation_names_the_resource() {
        let seed = seed_text();
        let cases = [
            ("privateIp: 192.168.193.172", "privateIp: 192.168.194.172", "not a usable address of subnet 'private-a'"),
            ("privateIp: 192.168.193.10", "privateIp: 192.168.193.172", "192.168.193.172 is used twice"),
            ("cidr: 192.168.194.0/24", "cidr: 192.168.196.0/24", "not inside the VPC's 192.168.192.0/22"),
            ("cidr: 192.168.192.128/25", "cidr: 192.168.192.0/24", "overlaps subnet 'public-a'"),
            ("zone: cn-northwest-1b, cidr: 192.168.194", "zone: us-east-1b, cidr: 192.168.194", "not a zone of cn-northwest-1"),
            ("natGateway: {subnet: public-a}", "natGateway: {subnet: private-a}", "is not public"),
            ("natGateway: {subnet: public-a}", "", "spec.natGateway is required"),
            ("subnets: [private-a, private-b]", "subnets: [private-a, private-c]", "no subnet named 'private-c'"),
            ("launchTemplate: k8s-workers", "launchTemplate: workers", "no launch template named 'workers'"),
            ("min: 0", "min: 5", "min ≤ desired ≤ max"),
            ("securityGroups: [int32bit-kubernetes-nodes]\n    clusterTags: true\n    tags: {Name: int32bit-kubernetes-control-plane, kubernetes.io/role: master}", "securityGroups: [nodes]", "no security group named 'nodes'"),
            ("serviceCidr: 10.96.0.0/12", "serviceCidr: 10.96.0.1/12", "host bits set"),
        ];
        for (from, to, want) in cases {
            assert!(seed.contains(from), "{from}");
            let text = seed.replacen(from, to, 1);
            let e = parse(Path::new("seed.yaml"), &text)
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_else(|| panic!("{to} should fail"));
            assert!(
                e.starts_with("seed.yaml: ") && e.contains(want),
                "{to}: {e}"
            );
        }
        let e = err(
            "spec: {subnets: [{name: a, kind: public, zone: us-east-1a, cidr: 10.0.0.0/24}]}\n",
        );
        assert!(e.contains("need spec.vpc"), "{e}");
        let e = err("spec: {vpc: {cidr: 10.0.0.0/16, clusterTags: true}}\n");
        assert!(e.contains("needs spec.cluster"), "{e}");
    }

    #[test]
    fn realize_creates_everything_and_names_the_ids() {
        let seed = load("seed", Path::new("/")).unwrap_or_else(|e| panic!("{e:#}"));
        let state = AwsState::new(Clock::manual(), 3);
        let aws = AwsClient::new(&state, "cn-northwest-1").unwrap_or_else(|e| panic!("{e:?}"));
        let r = seed.realize(&aws).unwrap_or_else(|e| panic!("{e:#}"));
        let keys: Vec<&str> = r.vars.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "asg.k8s-workers",
                "cluster",
                "eip",
                "igw",
                "instance.control-plane",
                "instance.worker-a",
                "instance.worker-b",
                "launchTemplate.k8s-workers",
                "nat",
                "routeTable.private",
                "routeTable.public",
                "sg.bastion-baseline",
                "sg.int32bit-kubernetes-nodes",
                "subnet.private-a",
                "subnet.private-b",
                "subnet.public-a",
                "subnet.public-b",
                "vpc",
            ]
        );
        assert!(r.vars["vpc"].starts_with("vpc-") && r.vars["instance.worker-a"].starts_with("i-"));
        let out = aws
            .call(
                "ec2:DescribeInstances",
                &json!({"InstanceIds": [r.vars["instance.worker-b"]]}),
            )
            .unwrap_or_else(|e| panic!("{e:?}"));
        let i = &out["Reservations"][0]["Instances"][0];
        assert_eq!(i["PrivateIpAddress"], "192.168.194.10");
        assert_eq!(
            i["IamInstanceProfile"]["Arn"],
            "arn:aws-cn:iam::123456789012:instance-profile/int32bit-kubernetes-node"
        );
        // Same seed, same ids.
        let again = AwsState::new(Clock::manual(), 3);
        let aws2 = AwsClient::new(&again, "cn-northwest-1").unwrap_or_else(|e| panic!("{e:?}"));
        let r2 = seed.realize(&aws2).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.vars, r2.vars);
        // A second realization in the same account fails at the first conflict, naming it.
        let e = seed.realize(&aws).err().map(|e| format!("{e:#}"));
        assert!(
            e.as_ref()
                .is_some_and(|e| e.contains("seed.yaml: ec2:") && e.contains(" for ")),
            "{e:?}"
        );
        let empty = load("empty", Path::new("/")).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(empty.realize(&aws).is_ok_and(|r| r.vars.is_empty()));
    }
}
