//! EC2's resources as records. The region that holds them, its timers and its id stream are
//! [`crate::region`].
//!
//! All mutation happens under one lock per (account, region) (see `crate::regions::Regions`), so each
//! request is atomic and requests are linearizable. Before a request runs, [`RegionState::settle`]
//! fires every timer that is due, in time order: state changes are observed exactly when the
//! clock says they happened, with no background task.

use super::cidr::Cidr;
use cloudbox_sim::SimTime;
use serde_json::Value;
use std::collections::BTreeMap;

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
    /// Metadata option `HttpTokens`: `optional` (IMDSv1 allowed) or `required` (IMDSv2 only).
    pub http_tokens: String,
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

pub use crate::region::{Delays, RegionState, Timer};
