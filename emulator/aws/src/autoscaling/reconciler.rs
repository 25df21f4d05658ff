//! The group reconciler: compares desired and actual capacity and launches or terminates
//! instances through the EC2 layer, on the simulation clock (timers in the region's queue; no
//! background task).
//!
//! - **When**: a request that changes a group schedules a pass at the current instant (the
//!   next request sees its launches, `Pending`); a pass after each launch batch at the
//!   instance boot time moves members `Pending` → `InService` once EC2 says `running`; a pass
//!   after terminations at the EC2 shutdown time removes `Terminating` members once EC2 says
//!   `terminated`. An EC2 health check runs every 30 s while the group has instances: an
//!   instance stopped or terminated outside Auto Scaling is marked `Unhealthy`, taken out of
//!   service (an activity) and replaced.
//! - **Scale-out**: one instance at a time into the AZ with the fewest active instances (ties:
//!   the order of `VPCZoneIdentifier`, or of `AvailabilityZones`), in that AZ's subnet with the
//!   fewest group instances (default subnet of the AZ for AZ-only groups). If EC2 refuses, the
//!   attempt is a `Failed` activity and the next AZ is tried; when every AZ fails, launching
//!   stops and is retried after 10 s, doubling per failed pass up to 5 min (a request that
//!   changes the group retries at once). Mixed instances policies try their override types in
//!   order and use the first that launches. A pass launches at most 100 instances; the next
//!   batch follows a second later.
//! - **Scale-in**: from the AZ with the most active instances (ties: first in AZ order); in it
//!   the default termination policy: instances of an older launch configuration/template
//!   first, then (simplified from "closest to the next billing hour") the oldest instance.
//!   Protected instances are never chosen.
//! - **Rebalancing**: when capacity is met but two AZs differ by more than one (or instances
//!   remain in an AZ the group no longer uses), one instance is terminated there and one
//!   launched in the emptiest AZ, if that AZ's subnet has a free address.

use super::activities::{self, at, Activity, Status};
use super::{LaunchSource, Lifecycle, Member, Timer};
use crate::ec2::input::Input;
use crate::ec2::state::InstanceState;
use crate::error::AwsError;
use crate::region::{RegionState, Timer as RegionTimer};
use serde_json::{json, Value};
use std::time::Duration;

/// How often the EC2 health check looks at a group's instances.
pub const HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(30);
/// The first retry delay after a failed launch pass.
pub const RETRY_BASE: Duration = Duration::from_secs(10);
/// The longest retry delay.
pub const RETRY_MAX: Duration = Duration::from_secs(300);
/// The most instances one pass launches; a larger difference continues a second later.
pub const MAX_LAUNCHES_PER_PASS: usize = 100;

fn timer(t: Timer) -> RegionTimer {
    RegionTimer::AutoScaling(t)
}

fn epoch_of(st: &RegionState, name: &str) -> Option<u64> {
    st.autoscaling.groups.get(name).map(|g| g.epoch)
}

/// Schedules a pass now on behalf of a request (a user change retries failed launches at once).
pub fn kick(st: &mut RegionState, name: &str) {
    let Some(g) = st.autoscaling.groups.get_mut(name) else {
        return;
    };
    g.retry_at = None;
    let epoch = g.epoch;
    st.schedule(
        Duration::ZERO,
        timer(Timer::Reconcile(name.to_string(), epoch)),
    );
}

fn later(st: &mut RegionState, name: &str, d: Duration) {
    if let Some(e) = epoch_of(st, name) {
        st.schedule(d, timer(Timer::Reconcile(name.to_string(), e)));
    }
}

/// A `Reconcile` timer.
pub fn on_reconcile(st: &mut RegionState, name: &str, epoch: u64) {
    if epoch_of(st, name) == Some(epoch) {
        reconcile(st, name);
    }
}

/// A `Retry` timer.
pub fn on_retry(st: &mut RegionState, name: &str, epoch: u64) {
    if epoch_of(st, name) == Some(epoch) {
        reconcile(st, name);
    }
}

/// A `HealthCheck` timer.
pub fn on_health_check(st: &mut RegionState, name: &str, epoch: u64) {
    if epoch_of(st, name) != Some(epoch) {
        return;
    }
    if let Some(g) = st.autoscaling.groups.get_mut(name) {
        g.health_check_scheduled = false;
    }
    health_check(st, name);
    reconcile(st, name);
}

/// Moves members along with their EC2 instances: `Pending` → `InService` when running,
/// `Terminating` → gone when terminated.
fn sync(st: &mut RegionState, name: &str) {
    let Some(g) = st.autoscaling.groups.get(name) else {
        return;
    };
    let mut in_service = Vec::new();
    let mut gone = Vec::new();
    for m in g.members.values() {
        let state = st.instances.get(&m.id).map(|i| i.state);
        match (m.lifecycle, state) {
            (Lifecycle::Pending, Some(InstanceState::Running)) => in_service.push(m.id.clone()),
            (Lifecycle::Terminating, None | Some(InstanceState::Terminated)) => {
                gone.push(m.id.clone())
            }
            _ => {}
        }
    }
    let mut finished = Vec::new();
    if let Some(g) = st.autoscaling.groups.get_mut(name) {
        for id in in_service {
            if let Some(m) = g.members.get_mut(&id) {
                m.lifecycle = Lifecycle::InService;
                finished.extend(m.activity.take());
            }
        }
        for id in gone {
            if let Some(m) = g.members.remove(&id) {
                finished.extend(m.activity);
            }
        }
    }
    for a in finished {
        activities::finish(st, &a);
    }
}

/// The EC2 health check: members whose instance is stopped, stopping, shutting down,
/// terminated or gone are taken out of service.
fn health_check(st: &mut RegionState, name: &str) {
    let Some(g) = st.autoscaling.groups.get(name) else {
        return;
    };
    let sick: Vec<String> = g
        .active()
        .filter(|m| {
            !matches!(
                st.instances.get(&m.id).map(|i| i.state),
                Some(InstanceState::Pending | InstanceState::Running)
            )
        })
        .map(|m| m.id.clone())
        .collect();
    for id in sick {
        if let Some(m) = st
            .autoscaling
            .groups
            .get_mut(name)
            .and_then(|g| g.members.get_mut(&id))
        {
            m.healthy = false;
        }
        let cause = format!(
            "{} an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.",
            at(st.now)
        );
        terminate_member(st, name, &id, cause);
    }
}

fn ensure_health_check(st: &mut RegionState, name: &str) {
    let Some(g) = st.autoscaling.groups.get_mut(name) else {
        return;
    };
    if g.health_check_scheduled || g.members.is_empty() {
        return;
    }
    g.health_check_scheduled = true;
    let epoch = g.epoch;
    st.schedule(
        HEALTH_CHECK_INTERVAL,
        timer(Timer::HealthCheck(name.to_string(), epoch)),
    );
}

/// One pass: sync, then launch or terminate toward the desired capacity.
pub fn reconcile(st: &mut RegionState, name: &str) {
    sync(st, name);
    let Some(g) = st.autoscaling.groups.get(name) else {
        return;
    };
    if g.deleting && g.members.is_empty() {
        st.autoscaling.groups.remove(name);
        return;
    }
    let (actual, desired) = (g.actual(), g.desired);
    let may_launch = g.retry_at.is_none_or(|t| t <= st.now);
    if actual < desired {
        if may_launch {
            let missing = (desired - actual) as usize;
            let batch = missing.min(MAX_LAUNCHES_PER_PASS);
            if launch(st, name, batch, actual, desired, None) && batch < missing {
                later(st, name, Duration::from_secs(1));
            }
        }
    } else if actual > desired {
        scale_in(st, name, (actual - desired) as usize, actual, desired);
    } else {
        if let Some(g) = st.autoscaling.groups.get_mut(name) {
            g.pending_cause = None;
        }
        if may_launch {
            rebalance(st, name);
        }
    }
    ensure_health_check(st, name);
}

fn cause_prefix(st: &RegionState, name: &str) -> String {
    st.autoscaling
        .groups
        .get(name)
        .and_then(|g| g.pending_cause.as_ref())
        .map(|(t, w)| format!("{} {w}.  ", at(*t)))
        .unwrap_or_default()
}

/// Active instances per AZ, in the group's AZ order.
fn az_counts(st: &RegionState, name: &str) -> Vec<(String, usize)> {
    let Some(g) = st.autoscaling.groups.get(name) else {
        return Vec::new();
    };
    g.azs
        .iter()
        .map(|az| (az.clone(), g.active().filter(|m| &m.az == az).count()))
        .collect()
}

/// The subnet of an AZ a launch goes to.
fn subnet_for(st: &RegionState, name: &str, az: &str) -> Option<String> {
    let g = st.autoscaling.groups.get(name)?;
    if g.subnets.is_empty() {
        return st
            .subnets
            .values()
            .find(|s| s.default_for_az && s.az == az)
            .map(|s| s.id.clone());
    }
    let in_az = g
        .subnets
        .iter()
        .filter(|s| st.subnets.get(*s).is_some_and(|x| x.az == az));
    let mut best: Option<(usize, &String)> = None;
    for s in in_az {
        let used = g
            .active()
            .filter(|m| st.instances.get(&m.id).is_some_and(|i| &i.subnet_id == s))
            .count();
        if best.is_none_or(|(u, _)| used < u) {
            best = Some((used, s));
        }
    }
    best.map(|(_, s)| s.clone())
}

/// The RunInstances request for one instance of the group in a subnet.
fn run_input(
    st: &RegionState,
    source: &LaunchSource,
    subnet: &str,
    az: &str,
    instance_type: Option<&str>,
) -> Result<Value, AwsError> {
    let mut run = match source {
        LaunchSource::Configuration(n) => {
            super::launch_configurations::run_spec(super::launch_configurations::get(st, n)?)
        }
        LaunchSource::Template(t) | LaunchSource::Mixed(t, _, _) => {
            let spec = json!({"LaunchTemplateId": t.id, "Version": t.version});
            let (tpl, version) = crate::ec2::launch_templates::resolve(st, &spec)?;
            let mut run = json!({"LaunchTemplate": {
                "LaunchTemplateId": tpl.id,
                "Version": version.number.to_string(),
            }});
            let nis = version.data.obj_list("NetworkInterfaces");
            if !nis.is_empty() {
                let mut nis = nis.to_vec();
                let primary = nis
                    .iter()
                    .position(|n| n.opt_i64("DeviceIndex").unwrap_or(0) == 0)
                    .unwrap_or(0);
                if let Some(n) = nis.get_mut(primary) {
                    n["SubnetId"] = json!(subnet);
                }
                run["NetworkInterfaces"] = json!(nis);
            }
            if let Some(p) = version.data.obj("Placement") {
                let mut p = p.clone();
                p["AvailabilityZone"] = json!(az);
                run["Placement"] = p;
            }
            run
        }
    };
    if run.get("NetworkInterfaces").is_none() {
        run["SubnetId"] = json!(subnet);
    }
    if let Some(t) = instance_type {
        run["InstanceType"] = json!(t);
    }
    run["MinCount"] = json!(1);
    run["MaxCount"] = json!(1);
    Ok(run)
}

fn launch_failed(st: &mut RegionState, name: &str, err: &AwsError, subnet: &str, az: &str) {
    let reason = err.message.trim_end_matches('.');
    let mut msg = format!("{reason}. Launching EC2 instance failed.");
    if msg.chars().count() > 255 {
        msg = msg.chars().take(254).collect::<String>() + "…";
    }
    let cause = format!(
        "{}{} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {} to {}.",
        cause_prefix(st, name),
        at(st.now),
        st.autoscaling.groups.get(name).map_or(0, |g| g.actual()),
        st.autoscaling.groups.get(name).map_or(0, |g| g.desired),
    );
    let mut a: Activity = activities::new(
        st,
        format!("Launching a new EC2 instance.  Status Reason: {reason}. Launching EC2 instance failed."),
        cause,
        Status::Failed,
    );
    a.status_message = Some(msg);
    a.details = json!({"Subnet ID": subnet, "Availability Zone": az}).to_string();
    activities::record(st, name, a);
}

/// Launches one instance, trying AZs from the emptiest (or only `only_az`). Whether it launched.
fn launch_one(st: &mut RegionState, name: &str, cause: &str, only_az: Option<&str>) -> bool {
    let mut order: Vec<(usize, usize, String)> = az_counts(st, name)
        .into_iter()
        .enumerate()
        .map(|(i, (az, n))| (n, i, az))
        .collect();
    order.sort();
    let Some(g) = st.autoscaling.groups.get(name) else {
        return false;
    };
    let source = g.source.clone();
    let types: Vec<Option<String>> = match &source {
        LaunchSource::Mixed(_, types, _) if !types.is_empty() => {
            types.iter().cloned().map(Some).collect()
        }
        _ => vec![None],
    };
    for (_, _, az) in order {
        if only_az.is_some_and(|o| o != az) {
            continue;
        }
        let Some(subnet) = subnet_for(st, name, &az) else {
            let err = crate::aws_err!(
                InvalidParameterValue,
                "No default subnet for availability zone: '{az}'"
            );
            launch_failed(st, name, &err, "", &az);
            continue;
        };
        let mut last_err = None;
        for ty in &types {
            let result = run_input(st, &source, &subnet, &az, ty.as_deref())
                .and_then(|input| crate::ec2::instances::run_instances(st, &input));
            match result {
                Ok(out) => {
                    let id = out["Instances"][0]["InstanceId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    if id.is_empty() {
                        continue;
                    }
                    admit(st, name, &id, &subnet, cause);
                    return true;
                }
                Err(e) => last_err = Some(e),
            }
        }
        if let Some(e) = last_err {
            launch_failed(st, name, &e, &subnet, &az);
        }
    }
    false
}

/// Makes a freshly launched instance a `Pending` member: tags, activity.
fn admit(st: &mut RegionState, name: &str, id: &str, subnet: &str, cause: &str) {
    let Some(g) = st.autoscaling.groups.get(name) else {
        return;
    };
    let mut tags = super::groups::propagated_tags(g);
    tags.insert("aws:autoscaling:groupName".to_string(), name.to_string());
    let (protected, source) = (g.new_instances_protected, g.source.clone());
    st.add_tags(id, tags);
    let (az, ty) = st
        .instances
        .get(id)
        .map(|i| (i.az.clone(), i.instance_type.clone()))
        .unwrap_or_default();
    let mut a = activities::new(
        st,
        format!("Launching a new EC2 instance: {id}"),
        cause.to_string(),
        Status::InProgress,
    );
    a.details = json!({"Subnet ID": subnet, "Availability Zone": az}).to_string();
    let activity = activities::record(st, name, a);
    st.autoscaling.next_member_seq += 1;
    let seq = st.autoscaling.next_member_seq;
    if let Some(g) = st.autoscaling.groups.get_mut(name) {
        g.members.insert(
            id.to_string(),
            Member {
                id: id.to_string(),
                az,
                instance_type: ty,
                lifecycle: Lifecycle::Pending,
                healthy: true,
                protected,
                source,
                seq,
                activity: Some(activity),
            },
        );
    }
}

/// Launches `n` instances (capacity `from` → `to`), scheduling a retry if EC2 refuses.
fn launch(
    st: &mut RegionState,
    name: &str,
    n: usize,
    from: i64,
    to: i64,
    only_az: Option<&str>,
) -> bool {
    let cause = match only_az {
        Some(_) => format!(
            "{} an instance was launched to aid in balancing the group's zones.",
            at(st.now)
        ),
        None => format!(
            "{}{} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {from} to {to}.",
            cause_prefix(st, name),
            at(st.now)
        ),
    };
    let mut launched = 0;
    for _ in 0..n {
        if !launch_one(st, name, &cause, only_az) {
            break;
        }
        launched += 1;
    }
    if launched > 0 {
        let d = st.delays.instance_boot;
        later(st, name, d);
    }
    let now = st.now;
    let Some(g) = st.autoscaling.groups.get_mut(name) else {
        return false;
    };
    if launched == n {
        g.launch_failures = 0;
        g.retry_at = None;
        g.pending_cause = None;
        return true;
    }
    g.launch_failures = g.launch_failures.saturating_add(1);
    let factor = 1u32 << (g.launch_failures - 1).min(10);
    let delay = RETRY_BASE.saturating_mul(factor).min(RETRY_MAX);
    g.retry_at = Some(now.plus(delay));
    let epoch = g.epoch;
    st.schedule(delay, timer(Timer::Retry(name.to_string(), epoch)));
    false
}

/// Terminates a member through EC2 (Auto Scaling is not stopped by EC2 termination
/// protection); records the activity and returns its id.
pub fn terminate_member(st: &mut RegionState, name: &str, id: &str, cause: String) -> String {
    let a = activities::new(
        st,
        format!("Terminating EC2 instance: {id}"),
        cause,
        Status::InProgress,
    );
    let activity = activities::record(st, name, a);
    if let Some(m) = st
        .autoscaling
        .groups
        .get_mut(name)
        .and_then(|g| g.members.get_mut(id))
    {
        m.lifecycle = Lifecycle::Terminating;
        m.activity = Some(activity.clone());
    }
    let state = st.instances.get_mut(id).map(|i| {
        i.disable_api_termination = false;
        i.state
    });
    if !matches!(
        state,
        None | Some(InstanceState::ShuttingDown | InstanceState::Terminated)
    ) {
        let _ = crate::ec2::instances::terminate_instances(st, &json!({"InstanceIds": [id]}));
    }
    let d = st.delays.instance_terminate;
    later(st, name, d);
    activity
}

/// The member scale-in removes: from the fullest AZ, older launch source first, then oldest.
fn victim(st: &RegionState, name: &str) -> Option<String> {
    let g = st.autoscaling.groups.get(name)?;
    let mut zones: Vec<(usize, usize, String)> = az_counts(st, name)
        .into_iter()
        .enumerate()
        .map(|(i, (az, n))| (usize::MAX - n, i, az))
        .collect();
    zones.sort();
    // Members in AZs the group no longer uses go first.
    let stray = g
        .active()
        .filter(|m| !m.protected && !g.azs.contains(&m.az))
        .min_by_key(|m| (m.source == g.source, m.seq));
    if let Some(m) = stray {
        return Some(m.id.clone());
    }
    for (_, _, az) in zones {
        let pick = g
            .active()
            .filter(|m| !m.protected && m.az == az)
            .min_by_key(|m| (m.source == g.source, m.seq));
        if let Some(m) = pick {
            return Some(m.id.clone());
        }
    }
    None
}

fn scale_in(st: &mut RegionState, name: &str, n: usize, from: i64, to: i64) {
    let prefix = cause_prefix(st, name);
    let mut done = 0;
    for _ in 0..n {
        let Some(id) = victim(st, name) else {
            break;
        };
        let now = at(st.now);
        let cause = format!(
            "{prefix}{now} an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from {from} to {to}.  {now} instance {id} was selected for termination."
        );
        terminate_member(st, name, &id, cause);
        done += 1;
    }
    if done == n {
        if let Some(g) = st.autoscaling.groups.get_mut(name) {
            g.pending_cause = None;
        }
    }
}

/// AZ rebalancing once capacity is met.
fn rebalance(st: &mut RegionState, name: &str) {
    let counts = az_counts(st, name);
    let (Some(most), Some(least)) = (
        counts.iter().max_by_key(|(_, n)| *n),
        counts.iter().min_by_key(|(_, n)| *n),
    ) else {
        return;
    };
    let stray = st
        .autoscaling
        .groups
        .get(name)
        .is_some_and(|g| g.active().any(|m| !m.protected && !g.azs.contains(&m.az)));
    if !stray && most.1 <= least.1 + 1 {
        return;
    }
    let target = least.0.clone();
    let has_room = subnet_for(st, name, &target)
        .and_then(|s| st.subnets.get(&s))
        .is_some_and(|s| s.available() > 0);
    if !has_room {
        return;
    }
    let Some(id) = victim(st, name) else {
        return;
    };
    if st
        .autoscaling
        .groups
        .get(name)
        .and_then(|g| g.members.get(&id))
        .is_none_or(|m| m.az == target)
    {
        return;
    }
    let now = at(st.now);
    terminate_member(
        st,
        name,
        &id,
        format!("{now} an instance was taken out of service in response to an Availability Zone rebalancing operation.  {now} instance {id} was selected for termination."),
    );
    let (from, to) = st
        .autoscaling
        .groups
        .get(name)
        .map_or((0, 0), |g| (g.actual(), g.desired));
    launch(st, name, 1, from, to, Some(&target));
}
