//! Elastic Load Balancing v2 (API 2015-12-01, query protocol): application and network load
//! balancers, target groups and their targets, listeners, listener rules and tags.
//!
//! One file per resource family (`load_balancers`, `target_groups`, `targets`, `listeners`,
//! `actions`, `rules`, `attributes`, `tags`); each handler takes the parsed request (member names
//! as keys) and returns the output structure as JSON. Handlers validate everything before they
//! change anything, so a failed request leaves the region as it was.
//!
//! The records live in [`Elbv2State`], a part of the region's one state: load balancers take
//! ENIs and addresses from EC2 subnets, targets are EC2 instances, and target health follows the
//! instances' states on the simulation clock. Gateway load balancers, trust stores, mutual TLS,
//! capacity reservations and authenticate actions are refused with an error naming them.

pub mod actions;
pub mod attributes;
pub mod limits;
pub mod listeners;
pub mod load_balancers;
pub mod rules;
pub mod tags;
pub mod target_groups;
pub mod targets;

use crate::aws_err;
use crate::ec2::state::Tags;
use crate::error::{AwsError, AwsResult};
use crate::members::elbv2 as m;
use crate::region::RegionState;
use crate::service::Handler;
use cloudbox_sim::SimTime;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a new load balancer stays `provisioning` (AWS: typically 2–5 minutes).
pub const PROVISIONING: Duration = Duration::from_secs(180);

/// The two load balancer types cloudbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbType {
    /// An application load balancer (HTTP/HTTPS, layer 7).
    Application,
    /// A network load balancer (TCP/UDP/TLS, layer 4).
    Network,
}

impl LbType {
    /// The model's name: `application`, `network`.
    pub fn as_str(self) -> &'static str {
        match self {
            LbType::Application => "application",
            LbType::Network => "network",
        }
    }
    /// The ARN part: `app`, `net`.
    pub fn arn_part(self) -> &'static str {
        match self {
            LbType::Application => "app",
            LbType::Network => "net",
        }
    }
}

/// One subnet a load balancer is in, with the ENI it holds there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbZone {
    /// The subnet.
    pub subnet_id: String,
    /// Its AZ.
    pub az: String,
    /// The load balancer's ENI in the subnet (requester-managed).
    pub eni_id: String,
    /// The ENI's private address.
    pub ip: u32,
    /// The Elastic IP of an internet-facing NLB's subnet mapping.
    pub allocation_id: Option<String>,
    /// Its public address.
    pub public_ip: Option<String>,
    /// Whether the private address was asked for in a subnet mapping.
    pub fixed_ip: bool,
}

/// A load balancer.
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    /// Its ARN (`…:loadbalancer/app/<name>/<16 hex>`).
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Application or network.
    pub lb_type: LbType,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// The VPC of its subnets.
    pub vpc_id: String,
    /// Its subnets, one per AZ.
    pub zones: Vec<LbZone>,
    /// Security groups (none for an NLB created without).
    pub security_groups: Vec<String>,
    /// `ipv4` (dual-stack needs IPv6 subnets, which cloudbox does not model).
    pub ip_address_type: String,
    /// Creation time.
    pub created: SimTime,
    /// When it became `active` (None while `provisioning`).
    pub active_at: Option<SimTime>,
    /// Its DNS name.
    pub dns_name: String,
    /// Its Route 53 hosted zone.
    pub hosted_zone: &'static str,
    /// Attributes by key.
    pub attributes: BTreeMap<String, String>,
    /// Creation order.
    pub seq: u64,
}

/// A target group's health check settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// Protocol of the checks.
    pub protocol: Option<String>,
    /// `traffic-port` or a port number.
    pub port: Option<String>,
    /// Whether checks run.
    pub enabled: bool,
    /// Path of HTTP/HTTPS checks.
    pub path: Option<String>,
    /// Seconds between checks.
    pub interval: i64,
    /// Seconds before a check fails.
    pub timeout: i64,
    /// Checks to pass before healthy.
    pub healthy: i64,
    /// Checks to fail before unhealthy.
    pub unhealthy: i64,
    /// HTTP success codes.
    pub matcher: Option<String>,
}

/// A registered target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Instance id or IP address.
    pub id: String,
    /// Port traffic goes to.
    pub port: i64,
    /// `all` for an IP outside the VPC, or a zone.
    pub az: Option<String>,
    /// When it was registered.
    pub registered_at: SimTime,
    /// Set while it drains after deregistration.
    pub draining_until: Option<SimTime>,
}

/// A target group.
#[derive(Debug, Clone)]
pub struct TargetGroup {
    /// Its ARN (`…:targetgroup/<name>/<16 hex>`).
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Protocol (none for lambda).
    pub protocol: Option<String>,
    /// `HTTP1`, `HTTP2` or `GRPC` for HTTP/HTTPS groups.
    pub protocol_version: Option<String>,
    /// Port (none for lambda).
    pub port: Option<i64>,
    /// VPC (none for lambda).
    pub vpc_id: Option<String>,
    /// `instance`, `ip` or `alb`.
    pub target_type: String,
    /// `ipv4`.
    pub ip_address_type: String,
    /// Health check settings.
    pub health: HealthCheck,
    /// Attributes by key.
    pub attributes: BTreeMap<String, String>,
    /// Registered (and draining) targets.
    pub targets: Vec<Target>,
    /// Load balancers whose listeners or rules forward to it.
    pub lb_arns: Vec<String>,
    /// Since when a load balancer uses it.
    pub used_since: Option<SimTime>,
    /// Creation order.
    pub seq: u64,
}

/// A listener.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Its ARN (`…:listener/app/<name>/<lb id>/<16 hex>`).
    pub arn: String,
    /// Its load balancer.
    pub lb_arn: String,
    /// Port.
    pub port: i64,
    /// Protocol.
    pub protocol: String,
    /// Certificate ARNs (HTTPS/TLS); the first is the default.
    pub certificates: Vec<String>,
    /// SSL policy (HTTPS/TLS).
    pub ssl_policy: Option<String>,
    /// ALPN policy (TLS).
    pub alpn: Vec<String>,
    /// Default actions, normalised to the `Action` output shape.
    pub default_actions: Vec<Value>,
    /// Listener attributes by key.
    pub attributes: BTreeMap<String, String>,
    /// Creation order.
    pub seq: u64,
}

/// A listener rule (the default rule has no priority).
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its ARN (`…:listener-rule/app/<name>/<lb id>/<listener id>/<16 hex>`).
    pub arn: String,
    /// Its listener.
    pub listener_arn: String,
    /// 1..=50000, or None for the default rule.
    pub priority: Option<i64>,
    /// Conditions, normalised to the `RuleCondition` output shape.
    pub conditions: Vec<Value>,
    /// Actions, normalised to the `Action` output shape.
    pub actions: Vec<Value>,
    /// Creation order.
    pub seq: u64,
}

/// Decides whether a running target answers its health checks. The cluster side installs one
/// that asks whether the node's NodePort answers; without one every running target passes.
pub type HealthProbe = fn(&RegionState, &TargetGroup, &Target) -> bool;

/// This service's resources in one account and region (a part of [`RegionState`]).
#[derive(Debug, Default)]
pub struct Elbv2State {
    /// Load balancers by ARN.
    pub load_balancers: BTreeMap<String, LoadBalancer>,
    /// Target groups by ARN.
    pub target_groups: BTreeMap<String, TargetGroup>,
    /// Listeners by ARN.
    pub listeners: BTreeMap<String, Listener>,
    /// Rules (default rules included) by ARN.
    pub rules: BTreeMap<String, Rule>,
    /// Tags by resource ARN.
    pub tags: BTreeMap<String, Tags>,
    /// The health check hook (see [`HealthProbe`]).
    pub health_probe: Option<HealthProbe>,
    seq: u64,
}

impl Elbv2State {
    /// The next creation sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

/// A scheduled state change of this service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// A load balancer goes `provisioning` → `active`.
    LoadBalancerActive(String),
    /// A deregistered target has drained: (target group ARN, target id, port).
    TargetDrained(String, String, i64),
}

/// Fires one of this service's timers.
pub fn fire(st: &mut RegionState, t: Timer) {
    match t {
        Timer::LoadBalancerActive(arn) => {
            let now = st.now;
            if let Some(lb) = st.elbv2.load_balancers.get_mut(&arn) {
                if lb.active_at.is_none() {
                    lb.active_at = Some(now);
                }
            }
        }
        Timer::TargetDrained(tg, id, port) => {
            let now = st.now;
            if let Some(g) = st.elbv2.target_groups.get_mut(&tg) {
                g.targets.retain(|t| {
                    !(t.id == id && t.port == port && t.draining_until.is_some_and(|u| u <= now))
                });
            }
        }
    }
}

/// The handler of an operation, by its model name.
pub fn operation(name: &str) -> Option<Handler> {
    Some(match name {
        "CreateLoadBalancer" => load_balancers::create_load_balancer,
        "DescribeLoadBalancers" => load_balancers::describe_load_balancers,
        "DeleteLoadBalancer" => load_balancers::delete_load_balancer,
        "SetSubnets" => load_balancers::set_subnets,
        "SetSecurityGroups" => load_balancers::set_security_groups,
        "SetIpAddressType" => load_balancers::set_ip_address_type,
        "DescribeLoadBalancerAttributes" => attributes::describe_load_balancer_attributes,
        "ModifyLoadBalancerAttributes" => attributes::modify_load_balancer_attributes,
        "CreateTargetGroup" => target_groups::create_target_group,
        "DescribeTargetGroups" => target_groups::describe_target_groups,
        "ModifyTargetGroup" => target_groups::modify_target_group,
        "DeleteTargetGroup" => target_groups::delete_target_group,
        "DescribeTargetGroupAttributes" => attributes::describe_target_group_attributes,
        "ModifyTargetGroupAttributes" => attributes::modify_target_group_attributes,
        "RegisterTargets" => targets::register_targets,
        "DeregisterTargets" => targets::deregister_targets,
        "DescribeTargetHealth" => targets::describe_target_health,
        "CreateListener" => listeners::create_listener,
        "DescribeListeners" => listeners::describe_listeners,
        "ModifyListener" => listeners::modify_listener,
        "DeleteListener" => listeners::delete_listener,
        "DescribeListenerCertificates" => listeners::describe_listener_certificates,
        "AddListenerCertificates" => listeners::add_listener_certificates,
        "RemoveListenerCertificates" => listeners::remove_listener_certificates,
        "DescribeListenerAttributes" => attributes::describe_listener_attributes,
        "ModifyListenerAttributes" => attributes::modify_listener_attributes,
        "CreateRule" => rules::create_rule,
        "DescribeRules" => rules::describe_rules,
        "ModifyRule" => rules::modify_rule,
        "DeleteRule" => rules::delete_rule,
        "SetRulePriorities" => rules::set_rule_priorities,
        "DescribeAccountLimits" => limits::describe_account_limits,
        "AddTags" => tags::add_tags,
        "RemoveTags" => tags::remove_tags,
        "DescribeTags" => tags::describe_tags,
        _ => return None,
    })
}

/// Names of the implemented operations (for docs and tests).
pub fn implemented_operations() -> Vec<&'static str> {
    use crate::service::Service;
    crate::service::Elbv2.implemented_operations()
}

/// `ValidationError` with a message.
pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new(crate::error::Code::ValidationError, message)
}

/// A duration of the AWS world on this region's clock (as [`RegionState::schedule`] scales it).
pub fn scaled(st: &RegionState, d: Duration) -> Duration {
    if st.time_scale == 1.0 || st.time_scale <= 0.0 {
        d
    } else {
        Duration::from_secs_f64(d.as_secs_f64() / st.time_scale)
    }
}

/// Checks an ARN names a resource of `kind` (`loadbalancer`, `targetgroup`, `listener`,
/// `listener-rule`) of this service: `ValidationError` "'x' is not a valid … ARN" otherwise.
pub fn check_arn(arn: &str, kind: &str, what: &str) -> AwsResult<()> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "elasticloadbalancing"
        && parts[5]
            .split_once('/')
            .is_some_and(|(k, rest)| k == kind && !rest.is_empty());
    if ok {
        Ok(())
    } else {
        if arn.starts_with("arn:") {
            Err(validation(format!("'{arn}' is not a valid {what} ARN")))
        } else {
            Err(validation(format!("'{arn}' must be in ARN format")))
        }
    }
}

/// The `PageSize`/`Marker` window of a Describe: (offset, size).
pub fn page_window(input: &Value) -> AwsResult<(usize, usize)> {
    use crate::ec2::input::Input;
    let size = match input.opt_i64(m::PageSize) {
        None => 400,
        Some(n) if !(1..=400).contains(&n) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{n}' at 'pageSize' failed to satisfy constraint: Member must have value {} 400",
                if n < 1 { "greater than or equal to 1, less than or equal to" } else { "less than or equal to" }
            )))
        }
        Some(n) => n as usize,
    };
    let offset = match input.opt_str(m::Marker) {
        None => 0,
        Some(m) => m
            .strip_prefix("cbx-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| validation("The specified marker is not valid"))?,
    };
    Ok((offset, size))
}

/// One page of items and the `NextMarker` that follows it; a marker past the end is not one
/// cloudbox issued (`ValidationError`).
pub fn page(
    items: Vec<Value>,
    offset: usize,
    size: usize,
) -> AwsResult<(Vec<Value>, Option<String>)> {
    let total = items.len();
    if offset > total {
        return Err(validation("The specified marker is not valid"));
    }
    let end = offset.saturating_add(size);
    let page: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let next = (end < total).then(|| format!("cbx-{end}"));
    Ok((page, next))
}

/// The target groups an action forwards to.
pub fn action_target_groups(action: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(a) = action.get(m::TargetGroupArn).and_then(Value::as_str) {
        out.push(a.to_string());
    }
    if let Some(list) = action
        .get(m::ForwardConfig)
        .and_then(|f| f.get(m::TargetGroups))
        .and_then(Value::as_array)
    {
        for t in list {
            if let Some(a) = t.get(m::TargetGroupArn).and_then(Value::as_str) {
                if !out.iter().any(|o| o == a) {
                    out.push(a.to_string());
                }
            }
        }
    }
    out
}

/// Recomputes which load balancers use each target group (after any change of listeners,
/// rules or load balancers); a group newly in use starts its health checks now.
pub fn refresh_usage(st: &mut RegionState) {
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let e = &st.elbv2;
    for r in e.rules.values() {
        let Some(l) = e.listeners.get(&r.listener_arn) else {
            continue;
        };
        for a in &r.actions {
            for tg in action_target_groups(a) {
                let v = users.entry(tg).or_default();
                if !v.contains(&l.lb_arn) {
                    v.push(l.lb_arn.clone());
                }
            }
        }
    }
    let now = st.now;
    for tg in st.elbv2.target_groups.values_mut() {
        let lbs = users.remove(&tg.arn).unwrap_or_default();
        if lbs.is_empty() {
            tg.used_since = None;
        } else if tg.used_since.is_none() {
            tg.used_since = Some(now);
        }
        tg.lb_arns = lbs;
    }
}

/// The load balancer or `LoadBalancerNotFound`.
pub fn get_lb<'a>(st: &'a RegionState, arn: &str) -> AwsResult<&'a LoadBalancer> {
    check_arn(arn, "loadbalancer", "load balancer")?;
    st.elbv2
        .load_balancers
        .get(arn)
        .ok_or_else(|| aws_err!(LoadBalancerNotFound, "Load balancer '{arn}' not found"))
}

/// The target group or `TargetGroupNotFound`.
pub fn get_tg<'a>(st: &'a RegionState, arn: &str) -> AwsResult<&'a TargetGroup> {
    check_arn(arn, "targetgroup", "target group")?;
    st.elbv2
        .target_groups
        .get(arn)
        .ok_or_else(|| aws_err!(TargetGroupNotFound, "Target groups '{arn}' not found"))
}

/// The listener or `ListenerNotFound`.
pub fn get_listener<'a>(st: &'a RegionState, arn: &str) -> AwsResult<&'a Listener> {
    check_arn(arn, "listener", "listener")?;
    st.elbv2
        .listeners
        .get(arn)
        .ok_or_else(|| aws_err!(ListenerNotFound, "Listener '{arn}' not found"))
}

/// The rule or `RuleNotFound`.
pub fn get_rule<'a>(st: &'a RegionState, arn: &str) -> AwsResult<&'a Rule> {
    check_arn(arn, "listener-rule", "listener rule")?;
    st.elbv2
        .rules
        .get(arn)
        .ok_or_else(|| aws_err!(RuleNotFound, "One or more rules not found"))
}
