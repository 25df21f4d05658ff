//! Operations on single instances of a group: TerminateInstanceInAutoScalingGroup,
//! SetInstanceProtection, DescribeAutoScalingInstances, DetachInstances, AttachInstances.
//!
//! Rules (`ValidationError`): an instance no group manages ("Instance Id not found - No
//! managed instance found for instance ID: i-…"); an instance not in the named group;
//! decrementing below the minimum size; attaching beyond the maximum size, an instance not
//! pending/running, in another group or outside the group's AZs. Each terminate, detach and
//! attach is a scaling activity. Simplified: detach and attach complete at once (AWS takes
//! seconds); attach checks only AZ membership, not the subnet list.

use super::activities::{self, at, Status};
use super::groups::{propagated_tags, source_members};
use super::paging::{self, Limits};
use super::{get_group, Group, Lifecycle, Member};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::ec2::state::InstanceState;
use crate::error::AwsResult;
use crate::members::autoscaling as m;
use crate::region::RegionState;
use serde_json::{json, Value};

fn managing_group<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a Group> {
    st.autoscaling
        .groups
        .values()
        .find(|g| g.members.contains_key(id))
        .ok_or_else(|| {
            aws_err!(
                ValidationError,
                "Instance Id not found - No managed instance found for instance ID: {id}"
            )
        })
}

fn not_member(id: &str, group: &str) -> crate::error::AwsError {
    aws_err!(
        ValidationError,
        "The instance {id} is not part of Auto Scaling group {group}."
    )
}

/// TerminateInstanceInAutoScalingGroup.
pub fn terminate_instance_in_auto_scaling_group(
    st: &mut RegionState,
    input: &Value,
) -> AwsResult<Value> {
    let id = input.req_str(m::InstanceId)?;
    let decrement = input
        .opt_bool(m::ShouldDecrementDesiredCapacity)
        .unwrap_or(false);
    let g = managing_group(st, id)?;
    let name = g.name.clone();
    let member = &g.members[id];
    if member.lifecycle == Lifecycle::Terminating {
        let existing = member.activity.clone().unwrap_or_default();
        return Ok(json!({"Activity": activities::by_id(st, &existing)}));
    }
    if decrement && g.desired <= g.min {
        return Err(aws_err!(
            ValidationError,
            "Currently, desiredSize equals minSize ({}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.",
            g.min
        ));
    }
    let actual = g.actual();
    let now = at(st.now);
    let cause = if decrement {
        format!(
            "{now} instance {id} was taken out of service in response to a user request, shrinking the capacity from {actual} to {}.",
            actual - 1
        )
    } else {
        format!("{now} instance {id} was taken out of service in response to a user request.")
    };
    if decrement {
        if let Some(g) = st.autoscaling.groups.get_mut(&name) {
            g.desired -= 1;
        }
    }
    let activity = super::reconciler::terminate_member(st, &name, id, cause);
    super::reconciler::kick(st, &name);
    Ok(json!({"Activity": activities::by_id(st, &activity)}))
}

/// SetInstanceProtection.
pub fn set_instance_protection(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::AutoScalingGroupName)?;
    let protect = input.opt_bool(m::ProtectedFromScaleIn).unwrap_or(false);
    let ids = input.str_list(m::InstanceIds);
    let g = get_group(st, name)?;
    for id in &ids {
        if !g.members.contains_key(id) {
            return Err(not_member(id, name));
        }
    }
    if let Some(g) = st.autoscaling.groups.get_mut(name) {
        for id in &ids {
            if let Some(m) = g.members.get_mut(id) {
                m.protected = protect;
            }
        }
    }
    Ok(json!({}))
}

/// DescribeAutoScalingInstances (unknown ids are left out).
pub fn describe_auto_scaling_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let pg = paging::check(
        input,
        Limits {
            max: 50,
            default: 50,
        },
    )?;
    let ids = input.str_list(m::InstanceIds);
    let mut list: Vec<(&Group, &Member)> = st
        .autoscaling
        .groups
        .values()
        .flat_map(|g| g.members.values().map(move |m| (g, m)))
        .filter(|(_, m)| ids.is_empty() || ids.contains(&m.id))
        .collect();
    list.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    let out: Vec<Value> = list
        .into_iter()
        .map(|(g, m)| {
            let mut v = json!({
                "InstanceId": m.id,
                "InstanceType": m.instance_type,
                "AutoScalingGroupName": g.name,
                "AvailabilityZone": m.az,
                "LifecycleState": m.lifecycle.name(),
                "HealthStatus": if m.healthy { "HEALTHY" } else { "UNHEALTHY" },
                "ProtectedFromScaleIn": m.protected,
            });
            source_members(&mut v, &m.source);
            v
        })
        .collect();
    let (page, next) = paging::page(out, pg);
    Ok(paging::output("AutoScalingInstances", page, next))
}

/// DetachInstances.
pub fn detach_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::AutoScalingGroupName)?;
    let decrement = input
        .opt_bool(m::ShouldDecrementDesiredCapacity)
        .unwrap_or(false);
    let ids = input.str_list(m::InstanceIds);
    let g = get_group(st, name)?;
    for id in &ids {
        if !g.active().any(|m| &m.id == id) {
            return Err(not_member(id, name));
        }
    }
    let n = ids.len() as i64;
    if decrement && g.desired - n < g.min {
        return Err(aws_err!(
            ValidationError,
            "The number of instances to detach ({n}) would bring the group's desired capacity below its minimum size ({}).",
            g.min
        ));
    }
    let (mut actual, desired) = (g.actual(), g.desired);
    let mut out = Vec::new();
    for id in &ids {
        let now = at(st.now);
        let cause = if decrement {
            format!("{now} instance {id} was detached in response to a user request, shrinking the capacity from {actual} to {}.", actual - 1)
        } else {
            format!("{now} instance {id} was detached in response to a user request.")
        };
        actual -= 1;
        let a = activities::new(
            st,
            format!("Detaching EC2 instance: {id}"),
            cause,
            Status::Successful,
        );
        let aid = activities::record(st, name, a);
        out.push(activities::by_id(st, &aid));
        if let Some(g) = st.autoscaling.groups.get_mut(name) {
            if let Some(m) = g.members.remove(id) {
                if let Some(launch) = m.activity {
                    activities::finish(st, &launch);
                }
            }
        }
        if let Some(t) = st.tags.get_mut(id) {
            t.remove("aws:autoscaling:groupName");
        }
    }
    if decrement {
        if let Some(g) = st.autoscaling.groups.get_mut(name) {
            g.desired = desired - n;
        }
    }
    super::reconciler::kick(st, name);
    Ok(json!({"Activities": out}))
}

/// AttachInstances.
pub fn attach_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::AutoScalingGroupName)?;
    let ids = input.str_list(m::InstanceIds);
    let g = get_group(st, name)?;
    let mut seen: Vec<&String> = Vec::new();
    for id in &ids {
        let i = crate::ec2::instances::get_instance(st, id).map_err(|_| {
            aws_err!(
                ValidationError,
                "Instance Id not found - No managed instance found for instance ID: {id}"
            )
        })?;
        if !matches!(i.state, InstanceState::Pending | InstanceState::Running) {
            return Err(aws_err!(
                ValidationError,
                "Instance {id} is not in correct state. Only instances in the running or pending state can be attached."
            ));
        }
        if let Some(other) = st
            .autoscaling
            .groups
            .values()
            .find(|o| o.members.contains_key(id))
        {
            return Err(aws_err!(
                ValidationError,
                "The instance {id} is already part of the Auto Scaling group {}.",
                other.name
            ));
        }
        if !g.azs.contains(&i.az) {
            return Err(aws_err!(
                ValidationError,
                "Instance {id} is in Availability Zone {} which is not an Availability Zone of the Auto Scaling group {name}.",
                i.az
            ));
        }
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    let n = seen.len() as i64;
    if g.desired + n > g.max {
        return Err(aws_err!(
            ValidationError,
            "Attaching {n} instance(s) to {name} would exceed the group's max size of {}.",
            g.max
        ));
    }
    let new_desired = g.desired + n;
    let tags = {
        let mut t = propagated_tags(g);
        t.insert("aws:autoscaling:groupName".to_string(), name.to_string());
        t
    };
    let (protected, source) = (g.new_instances_protected, g.source.clone());
    let ids: Vec<String> = seen.into_iter().cloned().collect();
    for id in &ids {
        let cause = format!(
            "{} an instance was added in response to user request. Keeping the capacity at the new {new_desired}.",
            at(st.now)
        );
        let a = activities::new(
            st,
            format!("Attaching an existing EC2 instance: {id}"),
            cause,
            Status::Successful,
        );
        activities::record(st, name, a);
        st.add_tags(id, tags.clone());
        let (az, ty, running) = st
            .instances
            .get(id)
            .map(|i| {
                (
                    i.az.clone(),
                    i.instance_type.clone(),
                    i.state == InstanceState::Running,
                )
            })
            .unwrap_or_default();
        st.autoscaling.next_member_seq += 1;
        let seq = st.autoscaling.next_member_seq;
        if let Some(g) = st.autoscaling.groups.get_mut(name) {
            g.members.insert(
                id.clone(),
                Member {
                    id: id.clone(),
                    az,
                    instance_type: ty,
                    lifecycle: if running {
                        Lifecycle::InService
                    } else {
                        Lifecycle::Pending
                    },
                    healthy: true,
                    protected,
                    source: source.clone(),
                    seq,
                    activity: None,
                },
            );
        }
    }
    if let Some(g) = st.autoscaling.groups.get_mut(name) {
        g.desired = new_desired;
    }
    super::reconciler::kick(st, name);
    Ok(json!({}))
}
