//! Classic Elastic Load Balancing (API 2012-06-01), as the cloud-provider-aws service controller
//! drives it for a `type: LoadBalancer` Service without the NLB annotation.
//!
//! A classic load balancer lives in one VPC: it takes one ENI (one address) in each of its
//! subnets, at most one subnet per AZ, has listeners, registered instances, a health check,
//! attributes, policies and tags. Its DNS name is `<name>-<digits>.<region>.elb.amazonaws.com`
//! (`internal-` prefixed for internal ones, `.com.cn` in China). Instance health is a function of
//! the simulation clock: a registered instance is `InService` once it has been running and
//! registered for `Interval × HealthyThreshold`.
//!
//! Files: [`load_balancers`] (create, describe, delete, subnets, security groups),
//! [`listeners`], [`instances`] (registration, health check, instance health), [`attributes`],
//! [`policies`], [`tags`].
//!
//! Simplified: no EC2-Classic (every load balancer is in a VPC; `AvailabilityZones` picks the
//! default subnets of the default VPC), no traffic, no certificates (any `SSLCertificateId` is
//! accepted), no access-log bucket checks, no account quota.

pub mod attributes;
pub mod instances;
pub mod listeners;
pub mod load_balancers;
pub mod policies;
pub mod tags;

use crate::aws_err;
use crate::error::AwsResult;
use crate::region::RegionState;
use crate::service::Handler;
use cloudbox_sim::SimTime;
use std::collections::BTreeMap;

/// This service's resources in one account and region (a part of [`RegionState`]).
#[derive(Debug, Default)]
pub struct ElbState {
    /// Load balancers by name.
    pub lbs: BTreeMap<String, LoadBalancer>,
}

/// One listener: a front-end port and protocol forwarded to an instance port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// `HTTP`, `HTTPS`, `TCP`, `SSL` (upper case).
    pub protocol: String,
    /// Front-end port.
    pub port: i64,
    /// Back-end protocol.
    pub instance_protocol: String,
    /// Back-end port.
    pub instance_port: i64,
    /// Certificate of an HTTPS/SSL listener.
    pub certificate: Option<String>,
    /// Policies of the listener.
    pub policies: Vec<String>,
}

/// The health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// `TCP:80`, `HTTP:80/healthz`.
    pub target: String,
    /// Seconds between checks.
    pub interval: i64,
    /// Seconds a check may take.
    pub timeout: i64,
    /// Failures before `OutOfService`.
    pub unhealthy_threshold: i64,
    /// Successes before `InService`.
    pub healthy_threshold: i64,
}

/// Load balancer attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// Cross-zone load balancing.
    pub cross_zone: bool,
    /// Access log enabled.
    pub access_log: bool,
    /// Access log bucket.
    pub access_log_bucket: Option<String>,
    /// Access log interval (5 or 60 minutes).
    pub access_log_interval: i64,
    /// Access log prefix.
    pub access_log_prefix: Option<String>,
    /// Connection draining enabled.
    pub draining: bool,
    /// Connection draining timeout, seconds.
    pub draining_timeout: i64,
    /// Idle timeout, seconds.
    pub idle_timeout: i64,
    /// `AdditionalAttributes` (`elb.http.desyncmitigationmode`).
    pub additional: BTreeMap<String, String>,
}

impl Default for Attributes {
    /// AWS's defaults for a load balancer created through the API.
    fn default() -> Attributes {
        Attributes {
            cross_zone: false,
            access_log: false,
            access_log_bucket: None,
            access_log_interval: 60,
            access_log_prefix: None,
            draining: false,
            draining_timeout: 300,
            idle_timeout: 60,
            additional: [(
                "elb.http.desyncmitigationmode".to_string(),
                "defensive".to_string(),
            )]
            .into(),
        }
    }
}

/// A policy of a load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// `ProxyProtocolPolicyType`, `SSLNegotiationPolicyType`, ….
    pub type_name: String,
    /// Attributes, in the order given.
    pub attributes: Vec<(String, String)>,
}

/// A registered instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// `i-…`.
    pub instance_id: String,
    /// When it was registered.
    pub since: SimTime,
}

/// A classic load balancer.
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    /// Its name (unique in the account and region).
    pub name: String,
    /// Its DNS name.
    pub dns_name: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Subnets, in the order attached.
    pub subnets: Vec<String>,
    /// Subnet → the ENI the load balancer holds in it.
    pub enis: BTreeMap<String, String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// Listeners by front-end port.
    pub listeners: BTreeMap<i64, Listener>,
    /// Registered instances, in registration order.
    pub instances: Vec<Registration>,
    /// The health check.
    pub health_check: HealthCheck,
    /// Attributes.
    pub attributes: Attributes,
    /// Policies.
    pub policies: Vec<Policy>,
    /// Back-end instance port → policy names.
    pub backend_policies: BTreeMap<i64, Vec<String>>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Created.
    pub created: SimTime,
}

/// A scheduled state change of this service. Classic ELB has none: instance health is computed
/// from the clock when asked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {}

/// Fires one of this service's timers.
pub fn fire(_st: &mut RegionState, t: Timer) {
    match t {}
}

/// `LoadBalancerNotFound` for a name.
pub fn not_found(name: &str) -> crate::error::AwsError {
    aws_err!(
        ElbLoadBalancerNotFound,
        "There is no ACTIVE Load Balancer named '{name}'"
    )
}

/// A load balancer by name, or `LoadBalancerNotFound`.
pub fn get_lb<'a>(st: &'a RegionState, name: &str) -> AwsResult<&'a LoadBalancer> {
    st.elb.lbs.get(name).ok_or_else(|| not_found(name))
}

/// A load balancer by name for changing, or `LoadBalancerNotFound`.
pub fn get_lb_mut<'a>(st: &'a mut RegionState, name: &str) -> AwsResult<&'a mut LoadBalancer> {
    st.elb.lbs.get_mut(name).ok_or_else(|| not_found(name))
}

/// The handler of an operation, by its model name.
pub fn operation(name: &str) -> Option<Handler> {
    Some(match name {
        "CreateLoadBalancer" => load_balancers::create_load_balancer,
        "DescribeLoadBalancers" => load_balancers::describe_load_balancers,
        "DeleteLoadBalancer" => load_balancers::delete_load_balancer,
        "ApplySecurityGroupsToLoadBalancer" => load_balancers::apply_security_groups,
        "AttachLoadBalancerToSubnets" => load_balancers::attach_to_subnets,
        "DetachLoadBalancerFromSubnets" => load_balancers::detach_from_subnets,
        "CreateLoadBalancerListeners" => listeners::create_listeners,
        "DeleteLoadBalancerListeners" => listeners::delete_listeners,
        "RegisterInstancesWithLoadBalancer" => instances::register_instances,
        "DeregisterInstancesFromLoadBalancer" => instances::deregister_instances,
        "DescribeInstanceHealth" => instances::describe_instance_health,
        "ConfigureHealthCheck" => instances::configure_health_check,
        "DescribeLoadBalancerAttributes" => attributes::describe_attributes,
        "ModifyLoadBalancerAttributes" => attributes::modify_attributes,
        "CreateLoadBalancerPolicy" => policies::create_policy,
        "DeleteLoadBalancerPolicy" => policies::delete_policy,
        "DescribeLoadBalancerPolicies" => policies::describe_policies,
        "SetLoadBalancerPoliciesOfListener" => policies::set_listener_policies,
        "SetLoadBalancerPoliciesForBackendServer" => policies::set_backend_policies,
        "AddTags" => tags::add_tags,
        "RemoveTags" => tags::remove_tags,
        "DescribeTags" => tags::describe_tags,
        _ => return None,
    })
}
