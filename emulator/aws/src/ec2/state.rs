//! The EC2 world of one account in one region: every resource, the tag index, the seeded id
//! stream, and the timers that move resources through their states on the simulation clock.
//!
//! All mutation happens under one lock per (account, region) (see `ec2::Ec2Service`), so each
//! request is atomic and requests are linearizable. Before a request runs, [`RegionState::settle`]
//! fires every timer that is due, in time order: state changes are observed exactly when the
//! clock says they happened, with no background task.

use super::catalog::{Az, InstanceType, Region};
use super::cidr::Cidr;
use cloudbox_sim::{IdGen, SimTime};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Duration;

/// Tags of one resource.
pub type Tags = BTreeMap<String, String>;

/// A VPC.
#[derive(Debug, Clone)]
pub struct Vpc {
    /// `vpc-…`.
    pub id: String,
    /// Primary IPv4 block.
    pub cidr: Cidr,
    /// The account's default VPC.
    pub is_default: bool,
    /// `enableDnsSupport`.
    pub dns_support: bool,
    /// `enableDnsHostnames`.
    pub dns_hostnames: bool,
    /// `default` or `dedicated`.
    pub tenancy: String,
    /// The DHCP options set.
    pub dhcp_options_id: String,
}

/// A subnet and its address book.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// `subnet-…`.
    pub id: String,
    /// Owning VPC.
    pub vpc_id: String,
    /// IPv4 block.
    pub cidr: Cidr,
    /// AZ name.
    pub az: String,
    /// AZ id.
    pub az_id: String,
    /// Default subnet of its AZ.
    pub default_for_az: bool,
    /// `MapPublicIpOnLaunch`.
    pub map_public_ip: bool,
    /// Addresses in use → the ENI holding each.
    pub used: BTreeMap<u32, String>,
}

impl Subnet {
    /// Addresses AWS reserves: the first four and the last.
    pub fn is_reserved(&self, ip: u32) -> bool {
        ip < self.cidr.base + 4 || ip == self.cidr.last()
    }
    /// `AvailableIpAddressCount`: size − 5 reserved − used.
    pub fn available(&self) -> u64 {
        (self.cidr.size() - 5).saturating_sub(self.used.len() as u64)
    }
}

/// An internet gateway.
#[derive(Debug, Clone)]
pub struct InternetGateway {
    /// `igw-…`.
    pub id: String,
    /// The VPC it is attached to.
    pub vpc_id: Option<String>,
}

/// An Elastic IP.
#[derive(Debug, Clone)]
pub struct Address {
    /// `eipalloc-…`.
    pub allocation_id: String,
    /// The public address.
    pub public_ip: String,
    /// `eipassoc-…` while associated.
    pub association_id: Option<String>,
    /// ENI it is associated with.
    pub eni_id: Option<String>,
}

/// A NAT gateway.
#[derive(Debug, Clone)]
pub struct NatGateway {
    /// `nat-…`.
    pub id: String,
    /// Its subnet.
    pub subnet_id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// `pending`, `available`, `deleting`, `deleted`.
    pub state: &'static str,
    /// `public` or `private`.
    pub connectivity: String,
    /// Elastic IP allocation (public NAT).
    pub allocation_id: Option<String>,
    /// The ENI it uses.
    pub eni_id: String,
    /// Created.
    pub created: SimTime,
    /// Deleted.
    pub deleted: Option<SimTime>,
}

/// A route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Destination block.
    pub destination: String,
    /// `local`, `igw-…`.
    pub gateway_id: Option<String>,
    /// `nat-…`.
    pub nat_gateway_id: Option<String>,
    /// `eni-…`.
    pub eni_id: Option<String>,
    /// `i-…`.
    pub instance_id: Option<String>,
    /// `CreateRouteTable` or `CreateRoute`.
    pub origin: &'static str,
}

/// A route-table association.
#[derive(Debug, Clone)]
pub struct RtAssociation {
    /// `rtbassoc-…`.
    pub id: String,
    /// Subnet (absent for the main association).
    pub subnet_id: Option<String>,
    /// The VPC's main association.
    pub main: bool,
}

/// A route table.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// `rtb-…`.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Routes.
    pub routes: Vec<Route>,
    /// Associations.
    pub associations: Vec<RtAssociation>,
}

/// One security-group rule: one protocol/port range and one source or destination.
#[derive(Debug, Clone, PartialEq)]
pub struct SgRule {
    /// `sgr-…`.
    pub id: String,
    /// `tcp`, `udp`, `icmp`, `-1`, or a number.
    pub protocol: String,
    /// From port (-1 for all).
    pub from: Option<i64>,
    /// To port.
    pub to: Option<i64>,
    /// IPv4 block.
    pub cidr: Option<String>,
    /// IPv6 block.
    pub cidr_v6: Option<String>,
    /// Referenced group.
    pub group_id: Option<String>,
    /// Prefix list.
    pub prefix_list_id: Option<String>,
    /// Description.
    pub description: Option<String>,
}

impl SgRule {
    /// Equality of what the rule allows (ignoring id and description).
    pub fn same_permission(&self, o: &SgRule) -> bool {
        self.protocol == o.protocol
            && self.from == o.from
            && self.to == o.to
            && self.cidr == o.cidr
            && self.cidr_v6 == o.cidr_v6
            && self.group_id == o.group_id
            && self.prefix_list_id == o.prefix_list_id
    }
}

/// A security group.
#[derive(Debug, Clone)]
pub struct SecurityGroup {
    /// `sg-…`.
    pub id: String,
    /// Name, unique in the VPC.
    pub name: String,
    /// Description.
    pub description: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Inbound rules.
    pub ingress: Vec<SgRule>,
    /// Outbound rules.
    pub egress: Vec<SgRule>,
}

/// Instance states with their codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    /// 0
    Pending,
    /// 16
    Running,
    /// 32
    ShuttingDown,
    /// 48
    Terminated,
    /// 64
    Stopping,
    /// 80
    Stopped,
}

impl InstanceState {
    /// AWS's name.
    pub fn name(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
        }
    }
    /// AWS's code.
    pub fn code(self) -> i64 {
        match self {
            InstanceState::Pending => 0,
            InstanceState::Running => 16,
            InstanceState::ShuttingDown => 32,
            InstanceState::Terminated => 48,
            InstanceState::Stopping => 64,
            InstanceState::Stopped => 80,
        }
    }
}

/// An instance.
#[derive(Debug, Clone)]
pub struct Instance {
    /// `i-…`.
    pub id: String,
    /// AMI.
    pub image_id: String,
    /// Instance type name.
    pub instance_type: String,
    /// AZ.
    pub az: String,
    /// Subnet of the primary ENI.
    pub subnet_id: String,
    /// VPC.
    pub vpc_id: String,
    /// State.
    pub state: InstanceState,
    /// Why it last changed state.
    pub state_reason: String,
    /// Launch time.
    pub launch_time: SimTime,
    /// Key pair.
    pub key_name: Option<String>,
    /// Base64 user data.
    pub user_data: Option<String>,
    /// Instance profile ARN.
    pub iam_profile_arn: Option<String>,
    /// Reservation.
    pub reservation_id: String,
    /// Index within its launch.
    pub launch_index: i64,
    /// Device index → ENI id.
    pub enis: BTreeMap<i64, String>,
    /// Device name → volume id (attaching or attached).
    pub devices: BTreeMap<String, String>,
    /// Source/destination check.
    pub source_dest_check: bool,
    /// API termination protection.
    pub disable_api_termination: bool,
    /// EBS optimised.
    pub ebs_optimized: bool,
    /// Public address (from the subnet's auto-assign setting).
    pub public_ip: Option<String>,
    /// Launch template used, `(id, version)`.
    pub launch_template: Option<(String, String)>,
    /// Client token for idempotency.
    pub client_token: Option<String>,
    /// Architecture of the type.
    pub architecture: String,
    /// Launch order (DescribeInstances lists instances in it).
    pub seq: u64,
    /// When it last entered `running`.
    pub running_since: Option<SimTime>,
}

/// An ENI attachment.
#[derive(Debug, Clone)]
pub struct EniAttachment {
    /// `eni-attach-…`.
    pub id: String,
    /// The instance.
    pub instance_id: String,
    /// Device index.
    pub device_index: i64,
    /// `attached`.
    pub status: &'static str,
    /// When.
    pub time: SimTime,
    /// Deleted with the instance.
    pub delete_on_termination: bool,
}

/// A network interface.
#[derive(Debug, Clone)]
pub struct Eni {
    /// `eni-…`.
    pub id: String,
    /// Subnet.
    pub subnet_id: String,
    /// VPC.
    pub vpc_id: String,
    /// AZ.
    pub az: String,
    /// Description.
    pub description: String,
    /// MAC address.
    pub mac: String,
    /// Private IPv4 addresses; the first is the primary.
    pub ips: Vec<u32>,
    /// Security groups.
    pub groups: Vec<String>,
    /// Attachment.
    pub attachment: Option<EniAttachment>,
    /// `interface`, `nat_gateway`, …
    pub interface_type: String,
    /// Managed by AWS (NAT gateway ENIs).
    pub requester_managed: bool,
    /// Source/destination check.
    pub source_dest_check: bool,
    /// Public address association.
    pub public_ip: Option<String>,
}

/// A volume attachment.
#[derive(Debug, Clone)]
pub struct VolumeAttachment {
    /// The instance.
    pub instance_id: String,
    /// Device name.
    pub device: String,
    /// `attaching`, `attached`, `detaching`.
    pub state: &'static str,
    /// When.
    pub time: SimTime,
    /// Deleted with the instance.
    pub delete_on_termination: bool,
}

/// A volume modification.
#[derive(Debug, Clone)]
pub struct VolumeModification {
    /// `modifying`, `optimizing`, `completed`.
    pub state: &'static str,
    /// Target size.
    pub target_size: i64,
    /// Target type.
    pub target_type: String,
    /// Target IOPS.
    pub target_iops: Option<i64>,
    /// Target throughput.
    pub target_throughput: Option<i64>,
    /// Original size.
    pub original_size: i64,
    /// Original type.
    pub original_type: String,
    /// Original IOPS.
    pub original_iops: Option<i64>,
    /// Original throughput.
    pub original_throughput: Option<i64>,
    /// Started.
    pub start: SimTime,
    /// Ended.
    pub end: Option<SimTime>,
}

/// An EBS volume.
#[derive(Debug, Clone)]
pub struct Volume {
    /// `vol-…`.
    pub id: String,
    /// GiB.
    pub size: i64,
    /// `gp2`, `gp3`, `io1`, `io2`, `st1`, `sc1`, `standard`.
    pub volume_type: String,
    /// Provisioned or baseline IOPS.
    pub iops: Option<i64>,
    /// gp3 throughput MiB/s.
    pub throughput: Option<i64>,
    /// AZ.
    pub az: String,
    /// `creating`, `available`, `in-use`, `deleting`.
    pub state: &'static str,
    /// Created.
    pub create_time: SimTime,
    /// Encrypted.
    pub encrypted: bool,
    /// KMS key.
    pub kms_key_id: Option<String>,
    /// Snapshot it came from.
    pub snapshot_id: Option<String>,
    /// Attachment (EBS multi-attach is not modelled).
    pub attachment: Option<VolumeAttachment>,
    /// Latest modification.
    pub modification: Option<VolumeModification>,
    /// Start times of past modifications (AWS allows four per rolling 24 hours).
    pub modification_starts: Vec<SimTime>,
    /// Client token for idempotency.
    pub client_token: Option<String>,
}

/// A launch template version.
#[derive(Debug, Clone)]
pub struct LaunchTemplateVersion {
    /// Version number.
    pub number: i64,
    /// Description.
    pub description: Option<String>,
    /// `LaunchTemplateData`, keyed by member names.
    pub data: Value,
    /// Created.
    pub created: SimTime,
}

/// A launch template.
#[derive(Debug, Clone)]
pub struct LaunchTemplate {
    /// `lt-…`.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Default version.
    pub default_version: i64,
    /// Versions.
    pub versions: BTreeMap<i64, LaunchTemplateVersion>,
    /// Created.
    pub created: SimTime,
}

/// A scheduled state change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// pending → running.
    InstanceRunning(String),
    /// stopping → stopped.
    InstanceStopped(String),
    /// shutting-down → terminated.
    InstanceTerminated(String),
    /// A terminated instance disappears from Describe output.
    InstanceForgotten(String),
    /// creating → available.
    VolumeAvailable(String),
    /// attaching → attached.
    VolumeAttached(String),
    /// detaching → available.
    VolumeDetached(String),
    /// deleting → gone.
    VolumeDeleted(String),
    /// modifying → optimizing.
    ModificationOptimizing(String),
    /// optimizing → completed.
    ModificationCompleted(String),
    /// NAT pending → available.
    NatAvailable(String),
    /// NAT deleting → deleted.
    NatDeleted(String),
}

/// AWS-like durations of state changes (divided by the clock's time scale).
#[derive(Debug, Clone, Copy)]
pub struct Delays {
    /// Instance pending → running.
    pub instance_boot: Duration,
    /// Instance stopping → stopped.
    pub instance_stop: Duration,
    /// Instance shutting-down → terminated.
    pub instance_terminate: Duration,
    /// How long a terminated instance stays visible.
    pub terminated_visible: Duration,
    /// Volume creating → available.
    pub volume_create: Duration,
    /// Volume attaching → attached.
    pub volume_attach: Duration,
    /// Volume detaching → available.
    pub volume_detach: Duration,
    /// Volume deleting → gone.
    pub volume_delete: Duration,
    /// Modification modifying → optimizing.
    pub modify_optimizing: Duration,
    /// Modification optimizing → completed.
    pub modify_completed: Duration,
    /// The rolling window in which at most four modifications of a volume may start
    /// (AWS since January 2026; before, a fixed 6-hour cooldown).
    pub modify_window: Duration,
    /// NAT gateway pending → available.
    pub nat_create: Duration,
    /// NAT gateway deleting → deleted.
    pub nat_delete: Duration,
}

impl Default for Delays {
    fn default() -> Delays {
        let s = Duration::from_secs;
        Delays {
            instance_boot: s(20),
            instance_stop: s(30),
            instance_terminate: s(30),
            terminated_visible: s(3600),
            volume_create: s(5),
            volume_attach: s(3),
            volume_detach: s(5),
            volume_delete: s(2),
            modify_optimizing: s(10),
            modify_completed: s(60),
            modify_window: s(24 * 3600),
            nat_create: s(60),
            nat_delete: s(30),
        }
    }
}

/// Everything EC2 holds for one account in one region.
#[derive(Debug)]
pub struct RegionState {
    /// The region.
    pub region: &'static Region,
    /// The account id.
    pub account: String,
    /// Seeded ids and choices.
    pub ids: IdGen,
    /// Current simulation time (set by `settle`).
    pub now: SimTime,
    /// Clock time scale, for timers.
    pub time_scale: f64,
    /// State-change durations.
    pub delays: Delays,
    /// VPCs.
    pub vpcs: BTreeMap<String, Vpc>,
    /// Subnets.
    pub subnets: BTreeMap<String, Subnet>,
    /// Internet gateways.
    pub igws: BTreeMap<String, InternetGateway>,
    /// Elastic IPs.
    pub addresses: BTreeMap<String, Address>,
    /// NAT gateways.
    pub nat_gateways: BTreeMap<String, NatGateway>,
    /// Route tables.
    pub route_tables: BTreeMap<String, RouteTable>,
    /// Security groups.
    pub security_groups: BTreeMap<String, SecurityGroup>,
    /// Instances.
    pub instances: BTreeMap<String, Instance>,
    /// ENIs.
    pub enis: BTreeMap<String, Eni>,
    /// Volumes.
    pub volumes: BTreeMap<String, Volume>,
    /// Launch templates.
    pub launch_templates: BTreeMap<String, LaunchTemplate>,
    /// Tags by resource id.
    pub tags: HashMap<String, Tags>,
    /// Public addresses in use.
    pub public_ips: BTreeMap<String, String>,
    /// Launch counter for instance ordering.
    pub launch_seq: u64,
    /// Bumped by every change (mutating request or timer); rendered read-only outputs are
    /// reused only while it stays the same.
    pub generation: u64,
    /// Rendered outputs of read-only requests: (operation, input) → (generation, body).
    pub read_cache: HashMap<(String, String), (u64, std::sync::Arc<str>)>,
    timers: BinaryHeap<Reverse<(SimTime, u64, Timer)>>,
    timer_seq: u64,
}

impl RegionState {
    /// An empty region (no default VPC; see `ec2::defaults`).
    pub fn new(
        region: &'static Region,
        account: &str,
        ids: IdGen,
        now: SimTime,
        time_scale: f64,
    ) -> RegionState {
        RegionState {
            region,
            account: account.to_string(),
            ids,
            now,
            time_scale,
            delays: Delays::default(),
            vpcs: BTreeMap::new(),
            subnets: BTreeMap::new(),
            igws: BTreeMap::new(),
            addresses: BTreeMap::new(),
            nat_gateways: BTreeMap::new(),
            route_tables: BTreeMap::new(),
            security_groups: BTreeMap::new(),
            instances: BTreeMap::new(),
            enis: BTreeMap::new(),
            volumes: BTreeMap::new(),
            launch_templates: BTreeMap::new(),
            tags: HashMap::new(),
            public_ips: BTreeMap::new(),
            launch_seq: 0,
            generation: 0,
            read_cache: HashMap::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
        }
    }

    /// An AZ of this region.
    pub fn az(&self, name: &str) -> Option<&'static Az> {
        self.region.az(name)
    }

    /// An ARN in this region's partition.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.region.partition, self.region.name, self.account
        )
    }

    /// A new resource id.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.ids.aws_id(prefix)
    }

    /// Schedules a timer `d` (real-world duration, scaled by the clock) from now.
    pub fn schedule(&mut self, d: Duration, t: Timer) {
        let scaled = if self.time_scale == 1.0 {
            d
        } else {
            Duration::from_secs_f64(d.as_secs_f64() / self.time_scale)
        };
        self.timer_seq += 1;
        self.timers
            .push(Reverse((self.now.plus(scaled), self.timer_seq, t)));
    }

    /// The earliest pending timer, if any.
    pub fn next_timer(&self) -> Option<SimTime> {
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Moves to `now`, firing due timers in order. Each timer sees `self.now` at its own due time.
    pub fn settle(&mut self, now: SimTime) {
        while let Some(Reverse((due, _, _))) = self.timers.peek() {
            if *due > now {
                break;
            }
            let Some(Reverse((due, _, timer))) = self.timers.pop() else {
                break;
            };
            if due > self.now {
                self.now = due;
            }
            self.generation += 1;
            self.fire(timer);
        }
        if now > self.now {
            self.now = now;
        }
    }

    fn fire(&mut self, t: Timer) {
        match t {
            Timer::InstanceRunning(id) => super::instances::on_running(self, &id),
            Timer::InstanceStopped(id) => super::instances::on_stopped(self, &id),
            Timer::InstanceTerminated(id) => super::instances::on_terminated(self, &id),
            Timer::InstanceForgotten(id) => {
                if self
                    .instances
                    .get(&id)
                    .is_some_and(|i| i.state == InstanceState::Terminated)
                {
                    self.instances.remove(&id);
                    self.tags.remove(&id);
                }
            }
            Timer::VolumeAvailable(id) => {
                if let Some(v) = self.volumes.get_mut(&id) {
                    if v.state == "creating" {
                        v.state = "available";
                    }
                }
            }
            Timer::VolumeAttached(id) => {
                if let Some(a) = self
                    .volumes
                    .get_mut(&id)
                    .and_then(|v| v.attachment.as_mut())
                {
                    if a.state == "attaching" {
                        a.state = "attached";
                    }
                }
            }
            Timer::VolumeDetached(id) => super::volumes::on_detached(self, &id),
            Timer::VolumeDeleted(id) => {
                if self.volumes.get(&id).is_some_and(|v| v.state == "deleting") {
                    self.volumes.remove(&id);
                    self.tags.remove(&id);
                }
            }
            Timer::ModificationOptimizing(id) => super::volumes::on_optimizing(self, &id),
            Timer::ModificationCompleted(id) => {
                let now = self.now;
                if let Some(m) = self
                    .volumes
                    .get_mut(&id)
                    .and_then(|v| v.modification.as_mut())
                {
                    if m.state == "optimizing" {
                        m.state = "completed";
                        m.end = Some(now);
                    }
                }
            }
            Timer::NatAvailable(id) => {
                if let Some(n) = self.nat_gateways.get_mut(&id) {
                    if n.state == "pending" {
                        n.state = "available";
                    }
                }
            }
            Timer::NatDeleted(id) => super::gateways::on_nat_deleted(self, &id),
        }
    }

    /// The instance type record of an instance type name (validated at launch).
    pub fn instance_type(name: &str) -> Option<&'static InstanceType> {
        super::catalog::instance_types().get(name)
    }

    /// Whether a resource id names an existing resource.
    pub fn exists(&self, id: &str) -> bool {
        self.vpcs.contains_key(id)
            || self.subnets.contains_key(id)
            || self.igws.contains_key(id)
            || self.addresses.contains_key(id)
            || self.nat_gateways.contains_key(id)
            || self.route_tables.contains_key(id)
            || self.security_groups.contains_key(id)
            || self.instances.contains_key(id)
            || self.enis.contains_key(id)
            || self.volumes.contains_key(id)
            || self.launch_templates.contains_key(id)
            || self.dhcp_option_ids().any(|d| d == id)
    }

    fn dhcp_option_ids(&self) -> impl Iterator<Item = &str> {
        self.vpcs.values().map(|v| v.dhcp_options_id.as_str())
    }

    /// Sets tags on a resource (merging).
    pub fn add_tags(&mut self, id: &str, tags: Tags) {
        if !tags.is_empty() {
            self.tags.entry(id.to_string()).or_default().extend(tags);
        }
    }
}
