//! Auto Scaling groups: CreateAutoScalingGroup, UpdateAutoScalingGroup,
//! DeleteAutoScalingGroup, DescribeAutoScalingGroups, SetDesiredCapacity,
//! DescribeTerminationPolicyTypes.
//!
//! Rules (all `ValidationError` unless said): exactly one of LaunchTemplate,
//! LaunchConfigurationName, InstanceId or MixedInstancesPolicy at create; launch templates
//! resolved through EC2 (id or name, version `$Latest`/`$Default`/number); every subnet of
//! `VPCZoneIdentifier` must exist; at least one AZ or subnet; `MinSize <= MaxSize`;
//! `DesiredCapacity` within them; duplicate names are `AlreadyExists`; an unknown group is
//! "AutoScalingGroup name not found - …". Update follows AWS: a new MinSize above the desired
//! capacity raises it, a new MaxSize below lowers it. Delete without `ForceDelete` refuses
//! while activities are in progress (`ScalingActivityInProgress`) or instances remain
//! (`ResourceInUse`); with it the group shows `Status: Delete in progress`, terminates its
//! instances and disappears when they are gone. Changes of desired capacity are acted on by
//! the reconciler at the next tick of the clock.

use super::paging::{self, Limits};
use super::tags::{check_tags, tag_json};
use super::{get_group, Group, LaunchSource, TemplateRef};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::{AwsError, AwsResult};
use crate::members::autoscaling as m;
use crate::region::RegionState;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const SOURCE_REQUIRED: &str = "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.";

fn template_ref(st: &RegionState, spec: &Value) -> AwsResult<TemplateRef> {
    let (t, _) = crate::ec2::launch_templates::resolve(st, spec).map_err(|e| {
        aws_err!(
            ValidationError,
            "You must use a valid fully-formed launch template. {}",
            e.message
        )
    })?;
    Ok(TemplateRef {
        id: t.id.clone(),
        name: t.name.clone(),
        version: spec.opt_str(m::Version).unwrap_or("$Default").to_string(),
    })
}

/// The launch source a request names (`None` when it names none). More than one is refused.
fn requested_source(st: &RegionState, input: &Value) -> AwsResult<Option<LaunchSource>> {
    let given = [
        "LaunchConfigurationName",
        "LaunchTemplate",
        "MixedInstancesPolicy",
        "InstanceId",
    ]
    .iter()
    .filter(|k| input.get(**k).is_some())
    .count();
    if given > 1 {
        return Err(aws_err!(ValidationError, "{SOURCE_REQUIRED}"));
    }
    if let Some(name) = input.opt_str(m::LaunchConfigurationName) {
        super::launch_configurations::get(st, name)?;
        return Ok(Some(LaunchSource::Configuration(name.to_string())));
    }
    if let Some(spec) = input.obj(m::LaunchTemplate) {
        return Ok(Some(LaunchSource::Template(template_ref(st, spec)?)));
    }
    if let Some(policy) = input.obj(m::MixedInstancesPolicy) {
        let lt = policy.obj(m::LaunchTemplate);
        let Some(spec) = lt.and_then(|l| l.obj(m::LaunchTemplateSpecification)) else {
            return Err(aws_err!(
                ValidationError,
                "The MixedInstancesPolicy must contain a LaunchTemplate with a LaunchTemplateSpecification."
            ));
        };
        let tref = template_ref(st, spec)?;
        let mut types = Vec::new();
        for o in lt.map(|l| l.obj_list(m::Overrides)).unwrap_or_default() {
            if let Some(t) = o.opt_str(m::InstanceType) {
                if RegionState::instance_type(t).is_none() {
                    return Err(aws_err!(
                        ValidationError,
                        "The instance type '{t}' is not supported or is invalid."
                    ));
                }
                types.push(t.to_string());
            }
        }
        return Ok(Some(LaunchSource::Mixed(tref, types, policy.clone())));
    }
    Ok(None)
}

/// AZs and subnets of a request: `VPCZoneIdentifier` (subnet order), else `AvailabilityZones`.
fn requested_placement(
    st: &RegionState,
    input: &Value,
) -> AwsResult<Option<(Vec<String>, Vec<String>)>> {
    let zones = input.str_list(m::AvailabilityZones);
    for z in &zones {
        if st.az(z).is_none() {
            return Err(aws_err!(
                ValidationError,
                "The availability zone '{z}' is not legal for this call."
            ));
        }
    }
    if let Some(ids) = input.opt_str(m::VPCZoneIdentifier) {
        let mut subnets: Vec<String> = Vec::new();
        let mut azs: Vec<String> = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let s = st
                .subnets
                .get(id)
                .ok_or_else(|| aws_err!(ValidationError, "The subnet ID '{id}' does not exist"))?;
            if !subnets.iter().any(|x| x == id) {
                subnets.push(id.to_string());
            }
            if !azs.contains(&s.az) {
                azs.push(s.az.clone());
            }
        }
        if subnets.is_empty() {
            return Err(aws_err!(
                ValidationError,
                "At least one Availability Zone or VPC Subnet is required."
            ));
        }
        if !zones.is_empty() {
            let mut a = azs.clone();
            let mut b = zones.clone();
            a.sort();
            b.sort();
            b.dedup();
            if a != b {
                return Err(aws_err!(
                    ValidationError,
                    "The availability zones of the specified subnets and the Auto Scaling group do not match"
                ));
            }
        }
        return Ok(Some((azs, subnets)));
    }
    if zones.is_empty() {
        return Ok(None);
    }
    let mut azs: Vec<String> = Vec::new();
    for z in zones {
        if !azs.contains(&z) {
            azs.push(z);
        }
    }
    Ok(Some((azs, Vec::new())))
}

fn non_negative(v: i64, member: &str) -> AwsResult<()> {
    if v < 0 {
        return Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value '{v}' at '{member}' failed to satisfy constraint: Member must have value greater than or equal to 0"
        ));
    }
    Ok(())
}

/// AWS's size rules.
pub fn check_sizes(min: i64, max: i64, desired: i64) -> AwsResult<()> {
    non_negative(min, "minSize")?;
    non_negative(max, "maxSize")?;
    non_negative(desired, "desiredCapacity")?;
    if min > max {
        return Err(aws_err!(
            ValidationError,
            "Max bound, {max}, must be greater than or equal to min bound, {min}"
        ));
    }
    if desired < min || desired > max {
        return Err(aws_err!(
            ValidationError,
            "Desired capacity:{desired} must be between the specified min size:{min} and max size:{max}"
        ));
    }
    Ok(())
}

fn int(input: &Value, k: &str) -> Option<i64> {
    input.opt_i64(k)
}

fn not_deleting(g: &Group) -> AwsResult<()> {
    if g.deleting {
        return Err(aws_err!(
            ScalingActivityInProgress,
            "AutoScalingGroup {} is pending delete.",
            g.name
        ));
    }
    Ok(())
}

/// Records a change of desired capacity for the causes of the activities it leads to.
fn note_change(st: &mut RegionState, name: &str, wording: String) {
    let now = st.now;
    if let Some(g) = st.autoscaling.groups.get_mut(name) {
        g.pending_cause = Some((now, wording));
    }
}

/// CreateAutoScalingGroup.
pub fn create_auto_scaling_group(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::AutoScalingGroupName)?;
    super::check_name(name, "autoScalingGroupName")?;
    if st.autoscaling.groups.contains_key(name) {
        return Err(aws_err!(
            AsgAlreadyExists,
            "AutoScalingGroup by this name already exists - A group with the name {name} already exists"
        ));
    }
    let source = requested_source(st, input)?;
    let mut placement = requested_placement(st, input)?;
    let from_instance = match input.opt_str(m::InstanceId) {
        Some(iid) => {
            let i = crate::ec2::instances::get_instance(st, iid).map_err(|_| {
                aws_err!(
                    ValidationError,
                    "Instance Id not found - No managed instance found for instance ID: {iid}"
                )
            })?;
            if placement.is_none() {
                placement = Some((vec![i.az.clone()], vec![i.subnet_id.clone()]));
            }
            if st.autoscaling.launch_configurations.contains_key(name) {
                return Err(aws_err!(
                    AsgAlreadyExists,
                    "Launch Configuration by this name already exists - A launch configuration already exists with the name {name}"
                ));
            }
            Some(iid.to_string())
        }
        None => None,
    };
    if source.is_none() && from_instance.is_none() {
        return Err(aws_err!(ValidationError, "{SOURCE_REQUIRED}"));
    }
    let Some((azs, subnets)) = placement else {
        return Err(aws_err!(
            ValidationError,
            "At least one Availability Zone or VPC Subnet is required."
        ));
    };
    let min = int(input, "MinSize").ok_or_else(|| AwsError::missing("MinSize"))?;
    let max = int(input, "MaxSize").ok_or_else(|| AwsError::missing("MaxSize"))?;
    let desired = int(input, "DesiredCapacity").unwrap_or(min);
    check_sizes(min, max, desired)?;
    let tags = check_tags(name, input.obj_list(m::Tags), &BTreeMap::new())?;
    // Everything is valid: create.
    let source = match (source, from_instance) {
        (Some(s), _) => s,
        (None, Some(iid)) => {
            super::launch_configurations::create_launch_configuration(
                st,
                &json!({"LaunchConfigurationName": name, "InstanceId": iid}),
            )?;
            LaunchSource::Configuration(name.to_string())
        }
        (None, None) => return Err(aws_err!(ValidationError, "{SOURCE_REQUIRED}")),
    };
    st.autoscaling.next_epoch += 1;
    let epoch = st.autoscaling.next_epoch;
    let uuid = st.ids.uuid();
    let arn = st.arn(
        "autoscaling",
        &format!("autoScalingGroup:{uuid}:autoScalingGroupName/{name}"),
    );
    let group = Group {
        name: name.to_string(),
        arn,
        epoch,
        created: st.now,
        source,
        min,
        max,
        desired,
        default_cooldown: int(input, "DefaultCooldown").unwrap_or(300),
        health_check_type: input
            .opt_str(m::HealthCheckType)
            .unwrap_or("EC2")
            .to_string(),
        health_check_grace_period: int(input, "HealthCheckGracePeriod").unwrap_or(0),
        azs,
        subnets,
        load_balancers: input.str_list(m::LoadBalancerNames),
        target_groups: input.str_list(m::TargetGroupARNs),
        termination_policies: match input.str_list(m::TerminationPolicies) {
            p if p.is_empty() => vec!["Default".to_string()],
            p => p,
        },
        new_instances_protected: input
            .opt_bool(m::NewInstancesProtectedFromScaleIn)
            .unwrap_or(false),
        capacity_rebalance: input.opt_bool(m::CapacityRebalance).unwrap_or(false),
        members: BTreeMap::new(),
        tags,
        deleting: false,
        pending_cause: None,
        launch_failures: 0,
        retry_at: None,
        health_check_scheduled: false,
    };
    st.autoscaling.groups.insert(name.to_string(), group);
    if desired > 0 {
        note_change(
            st,
            name,
            format!("a user request created an AutoScalingGroup changing the desired capacity from 0 to {desired}"),
        );
    }
    super::reconciler::kick(st, name);
    Ok(json!({}))
}

/// UpdateAutoScalingGroup.
pub fn update_auto_scaling_group(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::AutoScalingGroupName)?;
    let g = get_group(st, name)?;
    not_deleting(g)?;
    let source = requested_source(st, input)?;
    let placement = requested_placement(st, input)?;
    let new_min = int(input, "MinSize");
    let new_max = int(input, "MaxSize");
    let min = new_min.unwrap_or(g.min);
    let max = new_max.unwrap_or(g.max);
    let desired = match int(input, "DesiredCapacity") {
        Some(d) => d,
        None => {
            let mut d = g.desired;
            if new_min.is_some() && d < min {
                d = min;
            }
            if new_max.is_some() && d > max {
                d = max;
            }
            d
        }
    };
    check_sizes(min, max, desired)?;
    let before = g.desired;
    let Some(g) = st.autoscaling.groups.get_mut(name) else {
        return Err(super::group_not_found(name));
    };
    if let Some(s) = source {
        g.source = s;
    }
    if let Some((azs, subnets)) = placement {
        g.azs = azs;
        g.subnets = subnets;
    }
    g.min = min;
    g.max = max;
    g.desired = desired;
    if let Some(v) = int(input, "DefaultCooldown") {
        g.default_cooldown = v;
    }
    if let Some(v) = input.opt_str(m::HealthCheckType) {
        g.health_check_type = v.to_string();
    }
    if let Some(v) = int(input, "HealthCheckGracePeriod") {
        g.health_check_grace_period = v;
    }
    let policies = input.str_list(m::TerminationPolicies);
    if !policies.is_empty() {
        g.termination_policies = policies;
    }
    if let Some(v) = input.opt_bool(m::NewInstancesProtectedFromScaleIn) {
        g.new_instances_protected = v;
    }
    if let Some(v) = input.opt_bool(m::CapacityRebalance) {
        g.capacity_rebalance = v;
    }
    if desired != before {
        note_change(
            st,
            name,
            format!("a user request update of AutoScalingGroup constraints to min: {min}, max: {max}, desired: {desired} changing the desired capacity from {before} to {desired}"),
        );
    }
    super::reconciler::kick(st, name);
    Ok(json!({}))
}

/// DeleteAutoScalingGroup.
pub fn delete_auto_scaling_group(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::AutoScalingGroupName)?;
    let g = get_group(st, name)?;
    let force = input.opt_bool(m::ForceDelete).unwrap_or(false);
    if !force {
        if super::activities::in_progress(st, name, g.epoch) {
            return Err(aws_err!(
                ScalingActivityInProgress,
                "You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group."
            ));
        }
        if !g.members.is_empty() {
            return Err(aws_err!(
                AsgResourceInUse,
                "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group."
            ));
        }
    }
    if g.members.is_empty() {
        st.autoscaling.groups.remove(name);
        return Ok(json!({}));
    }
    if let Some(g) = st.autoscaling.groups.get_mut(name) {
        if !g.deleting {
            g.deleting = true;
            g.pending_cause = None;
            g.min = 0;
            g.max = 0;
            g.desired = 0;
            for m in g.members.values_mut() {
                m.protected = false;
            }
        }
    }
    super::reconciler::kick(st, name);
    Ok(json!({}))
}

/// SetDesiredCapacity.
pub fn set_desired_capacity(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::AutoScalingGroupName)?;
    let desired =
        int(input, "DesiredCapacity").ok_or_else(|| AwsError::missing("DesiredCapacity"))?;
    let g = get_group(st, name)?;
    not_deleting(g)?;
    if desired > g.max {
        return Err(aws_err!(
            ValidationError,
            "New SetDesiredCapacity value {desired} is above max value {} for the AutoScalingGroup.",
            g.max
        ));
    }
    if desired < g.min {
        return Err(aws_err!(
            ValidationError,
            "New SetDesiredCapacity value {desired} is below min value {} for the AutoScalingGroup.",
            g.min
        ));
    }
    let before = g.desired;
    if let Some(g) = st.autoscaling.groups.get_mut(name) {
        g.desired = desired;
    }
    if desired != before {
        note_change(
            st,
            name,
            format!("a user request explicitly set group desired capacity changing the desired capacity from {before} to {desired}"),
        );
    }
    super::reconciler::kick(st, name);
    Ok(json!({}))
}

/// A member as the `Instance` shape.
pub fn member_json(m: &super::Member) -> Value {
    let mut v = json!({
        "InstanceId": m.id,
        "InstanceType": m.instance_type,
        "AvailabilityZone": m.az,
        "LifecycleState": m.lifecycle.name(),
        "HealthStatus": if m.healthy { "Healthy" } else { "Unhealthy" },
        "ProtectedFromScaleIn": m.protected,
    });
    source_members(&mut v, &m.source);
    v
}

/// `LaunchConfigurationName` / `LaunchTemplate` members of a source.
pub fn source_members(v: &mut Value, s: &LaunchSource) {
    match s {
        LaunchSource::Configuration(n) => v["LaunchConfigurationName"] = json!(n),
        LaunchSource::Template(t) | LaunchSource::Mixed(t, _, _) => {
            v["LaunchTemplate"] = t.to_json()
        }
    }
}

fn group_json(st: &RegionState, g: &Group, include_instances: bool) -> Value {
    let mut v = json!({
        "AutoScalingGroupName": g.name,
        "AutoScalingGroupARN": g.arn,
        "MinSize": g.min,
        "MaxSize": g.max,
        "DesiredCapacity": g.desired,
        "DefaultCooldown": g.default_cooldown,
        "AvailabilityZones": g.azs,
        "LoadBalancerNames": g.load_balancers,
        "TargetGroupARNs": g.target_groups,
        "HealthCheckType": g.health_check_type,
        "HealthCheckGracePeriod": g.health_check_grace_period,
        "CreatedTime": g.created.to_iso8601_millis(),
        "SuspendedProcesses": [],
        "EnabledMetrics": [],
        "Tags": g.tags.iter().map(|(k, t)| tag_json(&g.name, k, t)).collect::<Vec<_>>(),
        "TerminationPolicies": g.termination_policies,
        "NewInstancesProtectedFromScaleIn": g.new_instances_protected,
        "ServiceLinkedRoleARN": format!(
            "arn:{}:iam::{}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
            st.region.partition, st.account
        ),
        "CapacityRebalance": g.capacity_rebalance,
        "TrafficSources": [],
    });
    if include_instances {
        v["Instances"] = json!(g.members.values().map(member_json).collect::<Vec<_>>());
    }
    match &g.source {
        LaunchSource::Mixed(_, _, policy) => v["MixedInstancesPolicy"] = policy.clone(),
        s => source_members(&mut v, s),
    }
    if !g.subnets.is_empty() {
        v["VPCZoneIdentifier"] = json!(g.subnets.join(","));
    }
    if g.deleting {
        v["Status"] = json!("Delete in progress");
    }
    v
}

fn tag_filter_known(n: &str) -> bool {
    n == "tag-key" || n == "tag-value" || n.starts_with("tag:")
}

fn matches(g: &Group, f: &paging::Filter) -> bool {
    match f.name.as_str() {
        "tag-key" => g.tags.keys().any(|k| f.values.contains(k)),
        "tag-value" => g.tags.values().any(|t| f.values.contains(&t.value)),
        n => n
            .strip_prefix("tag:")
            .and_then(|k| g.tags.get(k))
            .is_some_and(|t| f.values.contains(&t.value)),
    }
}

/// DescribeAutoScalingGroups (by names, `tag-key`/`tag-value`/`tag:<key>` filters, paging;
/// unknown names are left out, as AWS does).
pub fn describe_auto_scaling_groups(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let pg = paging::check(
        input,
        Limits {
            max: 100,
            default: 50,
        },
    )?;
    let filters = paging::filters(input, &tag_filter_known, "tag-key tag-value tag:<key>")?;
    let names = input.str_list(m::AutoScalingGroupNames);
    let include_instances = input.opt_bool(m::IncludeInstances).unwrap_or(true);
    let out: Vec<Value> = st
        .autoscaling
        .groups
        .values()
        .filter(|g| names.is_empty() || names.contains(&g.name))
        .filter(|g| filters.iter().all(|f| matches(g, f)))
        .map(|g| group_json(st, g, include_instances))
        .collect();
    let (page, next) = paging::page(out, pg);
    Ok(paging::output("AutoScalingGroups", page, next))
}

/// DescribeTerminationPolicyTypes.
pub fn describe_termination_policy_types(
    _st: &mut RegionState,
    _input: &Value,
) -> AwsResult<Value> {
    Ok(json!({"TerminationPolicyTypes": [
        "AllocationStrategy", "ClosestToNextInstanceHour", "Default", "NewestInstance",
        "OldestInstance", "OldestLaunchConfiguration", "OldestLaunchTemplate"
    ]}))
}

/// Whether a member counts as launched from the group's current source.
pub fn current_source(g: &Group, m: &super::Member) -> bool {
    m.source == g.source
}

/// Tag map of a group (for the reconciler's propagation).
pub fn propagated_tags(g: &Group) -> BTreeMap<String, String> {
    g.tags
        .iter()
        .filter(|(_, t)| t.propagate)
        .map(|(k, t)| (k.clone(), t.value.clone()))
        .collect()
}
