//! Auto Scaling (2011-01-01): launch configurations, groups and the reconciler that launches and
//! terminates their instances through the EC2 layer, on the simulation clock.
//!
//! One file per job: [`launch_configurations`], [`groups`] (create/update/delete/describe and
//! the capacity rules), [`instances`] (per-instance operations), [`tags`], [`activities`]
//! (scaling activity records and `DescribeScalingActivities`), [`reconciler`] (desired vs
//! actual, AZ balancing, termination policy, health checks, launch retries) and [`paging`].
//! Errors are AWS's: `ValidationError` for most rules, `AlreadyExists`, `ResourceInUse`,
//! `ScalingActivityInProgress`, `LimitExceeded`, `InvalidNextToken`.
//!
//! Simplified (see docs/autoscaling.md): no scaling policies, lifecycle hooks, warm pools,
//! instance refresh, standby, load balancer/target group registration (names are stored and
//! echoed), spot.

pub mod activities;
pub mod groups;
pub mod instances;
pub mod launch_configurations;
pub mod paging;
pub mod reconciler;
pub mod tags;

pub use launch_configurations::LaunchConfiguration;

use crate::region::RegionState;
use crate::service::Handler;
use cloudbox_sim::SimTime;
use serde_json::Value;
use std::collections::BTreeMap;

/// This service's resources in one account and region (a part of [`RegionState`]).
#[derive(Debug, Default)]
pub struct AutoScalingState {
    /// Groups by name.
    pub groups: BTreeMap<String, Group>,
    /// Launch configurations by name.
    pub launch_configurations: BTreeMap<String, LaunchConfiguration>,
    /// Every scaling activity, oldest first.
    pub activities: Vec<activities::Activity>,
    /// Incarnation counter: a group's timers carry the epoch of the group that scheduled them,
    /// so a group deleted and created again under the same name ignores its predecessor's.
    pub next_epoch: u64,
    /// Launch order of group members (for the termination policy).
    pub next_member_seq: u64,
}

/// Where a group's instances come from.
#[derive(Debug, Clone, PartialEq)]
pub enum LaunchSource {
    /// A launch configuration by name.
    Configuration(String),
    /// A launch template: id, name and the version as given (`$Latest`, `$Default`, `3`).
    Template(TemplateRef),
    /// A mixed instances policy: a template and the instance types of its overrides, in order.
    Mixed(TemplateRef, Vec<String>, Value),
}

/// A resolved launch template reference.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRef {
    /// `lt-…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The version as requested (default `$Default`).
    pub version: String,
}

impl TemplateRef {
    /// The `LaunchTemplateSpecification` shape.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "LaunchTemplateId": self.id,
            "LaunchTemplateName": self.name,
            "Version": self.version,
        })
    }
}

/// A group tag.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTag {
    /// The value.
    pub value: String,
    /// Whether launched instances get it.
    pub propagate: bool,
}

/// The lifecycle state of a group member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Launched, the EC2 instance is not running yet.
    Pending,
    /// Running and counted.
    InService,
    /// Being terminated by the group.
    Terminating,
}

impl Lifecycle {
    /// AWS's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Lifecycle::Pending => "Pending",
            Lifecycle::InService => "InService",
            Lifecycle::Terminating => "Terminating",
        }
    }
}

/// An instance of a group.
#[derive(Debug, Clone)]
pub struct Member {
    /// `i-…`.
    pub id: String,
    /// Its AZ.
    pub az: String,
    /// Its instance type.
    pub instance_type: String,
    /// Lifecycle state.
    pub lifecycle: Lifecycle,
    /// `Healthy` or `Unhealthy`.
    pub healthy: bool,
    /// Protected from scale-in.
    pub protected: bool,
    /// What it was launched from.
    pub source: LaunchSource,
    /// Launch order within the region (older first).
    pub seq: u64,
    /// The activity that launched or is terminating it.
    pub activity: Option<String>,
}

/// An Auto Scaling group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Name (unique in the region).
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Incarnation (see [`AutoScalingState::next_epoch`]).
    pub epoch: u64,
    /// Creation time.
    pub created: SimTime,
    /// Launch source.
    pub source: LaunchSource,
    /// Minimum size.
    pub min: i64,
    /// Maximum size.
    pub max: i64,
    /// Desired capacity.
    pub desired: i64,
    /// Default cooldown (seconds, stored and echoed).
    pub default_cooldown: i64,
    /// `EC2` or `ELB`.
    pub health_check_type: String,
    /// Grace period (seconds, stored and echoed).
    pub health_check_grace_period: i64,
    /// AZs, in the order of the subnets (or as given).
    pub azs: Vec<String>,
    /// Subnets, in `VPCZoneIdentifier` order (empty: default subnets of `azs`).
    pub subnets: Vec<String>,
    /// Classic load balancer names (stored and echoed).
    pub load_balancers: Vec<String>,
    /// Target group ARNs (stored and echoed).
    pub target_groups: Vec<String>,
    /// Termination policies (stored and echoed; the default policy is applied).
    pub termination_policies: Vec<String>,
    /// New instances protected from scale-in.
    pub new_instances_protected: bool,
    /// Capacity rebalance flag (stored and echoed).
    pub capacity_rebalance: bool,
    /// Members by instance id.
    pub members: BTreeMap<String, Member>,
    /// Tags by key.
    pub tags: BTreeMap<String, GroupTag>,
    /// `Delete in progress` after a forced delete.
    pub deleting: bool,
    /// The last change of desired capacity not yet acted on: (time, wording for the cause).
    pub pending_cause: Option<(SimTime, String)>,
    /// Consecutive failed launch passes (drives the retry backoff).
    pub launch_failures: u32,
    /// Launches wait until then after a failure (the retry timer fires then).
    pub retry_at: Option<SimTime>,
    /// A health check timer is scheduled.
    pub health_check_scheduled: bool,
}

impl Group {
    /// Members that count toward capacity (not terminating).
    pub fn active(&self) -> impl Iterator<Item = &Member> {
        self.members
            .values()
            .filter(|m| m.lifecycle != Lifecycle::Terminating)
    }
    /// How many members count toward capacity.
    pub fn actual(&self) -> i64 {
        self.active().count() as i64
    }
}

/// A scheduled state change of this service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Compare desired and actual capacity of a group (name, epoch) and act.
    Reconcile(String, u64),
    /// Retry failed launches of a group (name, epoch).
    Retry(String, u64),
    /// EC2 health check of a group's members (name, epoch).
    HealthCheck(String, u64),
}

/// Fires one of this service's timers.
pub fn fire(st: &mut RegionState, t: Timer) {
    match t {
        Timer::Reconcile(name, epoch) => reconciler::on_reconcile(st, &name, epoch),
        Timer::Retry(name, epoch) => reconciler::on_retry(st, &name, epoch),
        Timer::HealthCheck(name, epoch) => reconciler::on_health_check(st, &name, epoch),
    }
}

/// The handler of an operation, by its model name.
pub fn operation(name: &str) -> Option<Handler> {
    Some(match name {
        "CreateLaunchConfiguration" => launch_configurations::create_launch_configuration,
        "DescribeLaunchConfigurations" => launch_configurations::describe_launch_configurations,
        "DeleteLaunchConfiguration" => launch_configurations::delete_launch_configuration,
        "CreateAutoScalingGroup" => groups::create_auto_scaling_group,
        "UpdateAutoScalingGroup" => groups::update_auto_scaling_group,
        "DeleteAutoScalingGroup" => groups::delete_auto_scaling_group,
        "DescribeAutoScalingGroups" => groups::describe_auto_scaling_groups,
        "SetDesiredCapacity" => groups::set_desired_capacity,
        "TerminateInstanceInAutoScalingGroup" => {
            instances::terminate_instance_in_auto_scaling_group
        }
        "SetInstanceProtection" => instances::set_instance_protection,
        "DescribeAutoScalingInstances" => instances::describe_auto_scaling_instances,
        "DetachInstances" => instances::detach_instances,
        "AttachInstances" => instances::attach_instances,
        "CreateOrUpdateTags" => tags::create_or_update_tags,
        "DeleteTags" => tags::delete_tags,
        "DescribeTags" => tags::describe_tags,
        "DescribeScalingActivities" => activities::describe_scaling_activities,
        "DescribeTerminationPolicyTypes" => groups::describe_termination_policy_types,
        _ => return None,
    })
}

/// Names of the implemented operations (for docs and tests).
pub fn implemented_operations() -> Vec<&'static str> {
    use crate::service::Service;
    crate::service::AutoScaling.implemented_operations()
}

/// `ValidationError` "AutoScalingGroup name not found - AutoScalingGroup x not found".
pub fn group_not_found(name: &str) -> crate::error::AwsError {
    crate::aws_err!(
        ValidationError,
        "AutoScalingGroup name not found - AutoScalingGroup {name} not found"
    )
}

/// The group or `ValidationError`.
pub fn get_group<'a>(st: &'a RegionState, name: &str) -> crate::error::AwsResult<&'a Group> {
    st.autoscaling
        .groups
        .get(name)
        .ok_or_else(|| group_not_found(name))
}

/// AWS's length constraint on a name member (`autoScalingGroupName`, 1–255 characters).
pub fn check_name(name: &str, member: &str) -> crate::error::AwsResult<()> {
    let n = name.chars().count();
    if n == 0 {
        return Err(crate::aws_err!(
            ValidationError,
            "1 validation error detected: Value '' at '{member}' failed to satisfy constraint: Member must have length greater than or equal to 1"
        ));
    }
    if n > 255 {
        return Err(crate::aws_err!(
            ValidationError,
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to 255"
        ));
    }
    Ok(())
}
