//! Targets of target groups and their health: RegisterTargets, DeregisterTargets,
//! DescribeTargetHealth.
//!
//! Registration rules (AWS's `InvalidTarget`): an instance target must exist, be in the group's
//! VPC and be running ("The following targets are not in a running state and cannot be
//! registered"); an IP target must be inside the VPC's CIDR, or — with
//! `AvailabilityZone` `all` — a private (RFC 1918 or 100.64/10) address outside it.
//!
//! Health is computed from the clock, deterministically, each time it is asked for:
//! - `unused` `Target.NotInUse` while no load balancer forwards to the group;
//! - `unused` `Target.InvalidState` while the instance is stopped (or terminated);
//! - `initial` `Elb.RegistrationInProgress` until interval × healthy-threshold seconds have
//!   passed since the latest of: registration, the group coming into use, the load balancer
//!   becoming active;
//! - then `healthy` while the instance is running and the [`super::HealthProbe`] (if one is
//!   installed) says it answers, else `unhealthy` `Target.FailedHealthChecks`;
//! - after deregistration `draining` `Target.DeregistrationInProgress` for the group's
//!   `deregistration_delay.timeout_seconds` (a timer), then gone; a group no load balancer uses
//!   lets targets go at once.
//!
//! Simplified: a failing target turns `unhealthy` at once (AWS waits unhealthy-threshold ×
//! interval), and `Target.Timeout`/`Target.ResponseCodeMismatch` are not distinguished.

use super::attributes::deregistration_delay;
use super::{get_tg, scaled, validation, Target, TargetGroup, Timer};
use crate::aws_err;
use crate::ec2::cidr::{parse_ip, Cidr};
use crate::ec2::input::Input;
use crate::ec2::state::InstanceState;
use crate::error::AwsResult;
use crate::members::elbv2 as m;
use crate::region::{RegionState, Timer as RegionTimer};
use serde_json::{json, Value};
use std::time::Duration;

/// The most targets in a group (AWS's default quota).
pub const MAX_TARGETS: usize = 1000;

/// A requested target: (id, port, availability zone).
type Wanted = (String, i64, Option<String>);

fn is_private(ip: u32) -> bool {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    ]
    .iter()
    .filter_map(|c| Cidr::parse(c))
    .any(|c| c.contains_ip(ip))
}

/// Reads and checks the `Targets` of a Register/Deregister request.
fn wanted(
    st: &RegionState,
    tg: &TargetGroup,
    input: &Value,
    registering: bool,
) -> AwsResult<Vec<Wanted>> {
    let list = input.obj_list(m::Targets);
    if list.is_empty() {
        return Err(validation("At least one target must be specified"));
    }
    let vpc = tg.vpc_id.clone().unwrap_or_default();
    let mut out = Vec::new();
    for t in list {
        let id = t.opt_str(m::Id).unwrap_or_default().to_string();
        let port = match t.opt_i64(m::Port).or(tg.port) {
            Some(p) if (1..=65535).contains(&p) => p,
            Some(p) => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{p}' at 'targets.member.port' failed to satisfy constraint: Member must have value between 1 and 65535"
                )))
            }
            None => return Err(validation("A port must be specified for the target")),
        };
        let az = t.opt_str(m::AvailabilityZone).map(str::to_string);
        if let Some(z) = &az {
            if z != "all" && st.az(z).is_none() {
                return Err(validation(format!(
                    "The Availability Zone '{z}' is not valid"
                )));
            }
        }
        match tg.target_type.as_str() {
            "instance" => {
                let Some(i) = st.instances.get(&id) else {
                    // Deregistering an instance that no longer exists is a ValidationError in
                    // AWS; registering one is InvalidTarget.
                    if !registering {
                        return Err(validation(format!(
                            "The target '{id}' is not a valid EC2 instance"
                        )));
                    }
                    return Err(aws_err!(
                        InvalidTarget,
                        "The following targets are not valid instances: '{id}'"
                    ));
                };
                if registering {
                    if i.state != InstanceState::Running {
                        return Err(aws_err!(
                            InvalidTarget,
                            "The following targets are not in a running state and cannot be registered: '{id}'"
                        ));
                    }
                    if i.vpc_id != vpc {
                        return Err(aws_err!(
                            InvalidTarget,
                            "The following targets are not in the target group VPC '{vpc}': '{id}'"
                        ));
                    }
                }
            }
            _ => {
                let ip = parse_ip(&id).ok_or_else(|| {
                    aws_err!(
                        InvalidTarget,
                        "The IP address '{id}' is not a valid IPv4 address"
                    )
                })?;
                if registering {
                    let in_vpc = st.vpcs.get(&vpc).is_some_and(|v| v.cidr.contains_ip(ip));
                    match az.as_deref() {
                        Some("all") if in_vpc => {
                            return Err(aws_err!(
                                InvalidTarget,
                                "The IP address '{id}' is inside the target group VPC '{vpc}'; 'AvailabilityZone' cannot be 'all'"
                            ))
                        }
                        Some("all") if !is_private(ip) => {
                            return Err(aws_err!(
                                InvalidTarget,
                                "The IP address '{id}' is not a private address (RFC 1918 or 100.64.0.0/10)"
                            ))
                        }
                        Some("all") => {}
                        _ if !in_vpc => {
                            return Err(aws_err!(
                                InvalidTarget,
                                "The IP address '{id}' is not within the CIDR of the target group VPC '{vpc}'; outside it, 'AvailabilityZone' must be 'all'"
                            ))
                        }
                        _ => {}
                    }
                }
            }
        }
        out.push((id, port, az));
    }
    Ok(out)
}

/// RegisterTargets (a target already registered stays as it is; a draining one starts over).
pub fn register_targets(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::TargetGroupArn)?;
    let tg = get_tg(st, arn)?;
    let list = wanted(st, tg, input, true)?;
    let fresh = list
        .iter()
        .filter(|(id, port, _)| !tg.targets.iter().any(|t| &t.id == id && t.port == *port))
        .count();
    if tg.targets.len() + fresh > MAX_TARGETS {
        return Err(aws_err!(
            TooManyTargets,
            "You've reached the limit on the number of targets per target group"
        ));
    }
    let now = st.now;
    let Some(tg) = st.elbv2.target_groups.get_mut(arn) else {
        return Ok(json!({}));
    };
    for (id, port, az) in list {
        match tg.targets.iter_mut().find(|t| t.id == id && t.port == port) {
            Some(t) if t.draining_until.is_some() => {
                t.draining_until = None;
                t.registered_at = now;
                t.az = az;
            }
            Some(_) => {}
            None => tg.targets.push(Target {
                id,
                port,
                az,
                registered_at: now,
                draining_until: None,
            }),
        }
    }
    Ok(json!({}))
}

/// DeregisterTargets: drains for the deregistration delay while a load balancer uses the group.
pub fn deregister_targets(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::TargetGroupArn)?;
    let tg = get_tg(st, arn)?;
    let list = wanted(st, tg, input, false)?;
    let delay = deregistration_delay(&tg.attributes);
    let drains = !tg.lb_arns.is_empty() && delay > 0;
    let until = st.now.plus(scaled(st, Duration::from_secs(delay)));
    let mut timers = Vec::new();
    if let Some(tg) = st.elbv2.target_groups.get_mut(arn) {
        for (id, port, _) in list {
            if drains {
                if let Some(t) = tg
                    .targets
                    .iter_mut()
                    .find(|t| t.id == id && t.port == port && t.draining_until.is_none())
                {
                    t.draining_until = Some(until);
                    timers.push(Timer::TargetDrained(arn.to_string(), id, port));
                }
            } else {
                tg.targets.retain(|t| !(t.id == id && t.port == port));
            }
        }
    }
    for t in timers {
        st.schedule(Duration::from_secs(delay), RegionTimer::Elbv2(t));
    }
    Ok(json!({}))
}

/// An instance was terminated: AWS deregisters it from every target group by itself (draining
/// for the deregistration delay where a load balancer uses the group). For the EC2 side to call
/// from its termination step; until it does, terminated targets show `unused`
/// `Target.InvalidState`.
pub fn on_instance_terminated(st: &mut RegionState, instance_id: &str) {
    let now = st.now;
    let mut timers = Vec::new();
    for tg in st.elbv2.target_groups.values_mut() {
        if tg.target_type != "instance" {
            continue;
        }
        let delay = deregistration_delay(&tg.attributes);
        let drains = !tg.lb_arns.is_empty() && delay > 0;
        if !drains {
            tg.targets.retain(|t| t.id != instance_id);
            continue;
        }
        for t in tg.targets.iter_mut() {
            if t.id == instance_id && t.draining_until.is_none() {
                timers.push((
                    delay,
                    Timer::TargetDrained(tg.arn.clone(), t.id.clone(), t.port),
                ));
                t.draining_until = Some(now);
            }
        }
    }
    for (delay, timer) in timers {
        let until = st.now.plus(scaled(st, Duration::from_secs(delay)));
        if let Timer::TargetDrained(tg, id, port) = &timer {
            if let Some(t) = st.elbv2.target_groups.get_mut(tg).and_then(|g| {
                g.targets
                    .iter_mut()
                    .find(|t| &t.id == id && t.port == *port)
            }) {
                t.draining_until = Some(until);
            }
        }
        st.schedule(Duration::from_secs(delay), RegionTimer::Elbv2(timer));
    }
}

/// The health of a registered target now: (state, reason, description).
pub fn target_health(
    st: &RegionState,
    tg: &TargetGroup,
    t: &Target,
) -> (&'static str, Option<&'static str>, Option<&'static str>) {
    if t.draining_until.is_some() {
        return (
            "draining",
            Some("Target.DeregistrationInProgress"),
            Some("Target deregistration is in progress"),
        );
    }
    if tg.lb_arns.is_empty() {
        return (
            "unused",
            Some("Target.NotInUse"),
            Some("Target group is not configured to receive traffic from the load balancer"),
        );
    }
    let instance = if tg.target_type == "instance" {
        match st.instances.get(&t.id) {
            Some(i) => Some(i.state),
            None => Some(InstanceState::Terminated),
        }
    } else {
        None
    };
    match instance {
        Some(InstanceState::Stopped) => {
            return (
                "unused",
                Some("Target.InvalidState"),
                Some("Target is in the stopped state"),
            )
        }
        Some(InstanceState::Terminated) => {
            return (
                "unused",
                Some("Target.InvalidState"),
                Some("Target is in the terminated state"),
            )
        }
        _ => {}
    }
    let lb_active = tg
        .lb_arns
        .iter()
        .filter_map(|a| st.elbv2.load_balancers.get(a))
        .filter_map(|l| l.active_at)
        .min();
    let Some(active_at) = lb_active else {
        return (
            "initial",
            Some("Elb.RegistrationInProgress"),
            Some("Target registration is in progress"),
        );
    };
    let start = t
        .registered_at
        .max(active_at)
        .max(tg.used_since.unwrap_or(t.registered_at));
    let warmup = Duration::from_secs((tg.health.interval * tg.health.healthy).max(0) as u64);
    if st.now < start.plus(scaled(st, warmup)) {
        return (
            "initial",
            Some("Elb.RegistrationInProgress"),
            Some("Target registration is in progress"),
        );
    }
    let running = instance.is_none_or(|s| s == InstanceState::Running);
    let answers = running && st.elbv2.health_probe.is_none_or(|probe| probe(st, tg, t));
    if answers {
        ("healthy", None, None)
    } else {
        (
            "unhealthy",
            Some("Target.FailedHealthChecks"),
            Some("Health checks failed"),
        )
    }
}

fn description(tg: &TargetGroup, t: &Target, health: (&str, Option<&str>, Option<&str>)) -> Value {
    let mut target = json!({"Id": t.id, "Port": t.port});
    if let Some(az) = &t.az {
        target["AvailabilityZone"] = json!(az);
    }
    let hc_port = match tg.health.port.as_deref() {
        Some("traffic-port") | None => t.port.to_string(),
        Some(p) => p.to_string(),
    };
    let mut th = json!({"State": health.0});
    if let Some(r) = health.1 {
        th["Reason"] = json!(r);
    }
    if let Some(d) = health.2 {
        th["Description"] = json!(d);
    }
    json!({"Target": target, "HealthCheckPort": hc_port, "TargetHealth": th})
}

/// DescribeTargetHealth: every target of the group, or the ones asked for (an unregistered
/// one is `unused` `Target.NotRegistered`).
pub fn describe_target_health(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::TargetGroupArn)?;
    let tg = get_tg(st, arn)?;
    let mut out = Vec::new();
    if input.obj_list(m::Targets).is_empty() {
        for t in &tg.targets {
            out.push(description(tg, t, target_health(st, tg, t)));
        }
    } else {
        for t in input.obj_list(m::Targets) {
            let id = t.opt_str(m::Id).unwrap_or_default();
            if tg.target_type == "instance" && !st.instances.contains_key(id) {
                return Err(aws_err!(
                    InvalidTarget,
                    "The following targets are not valid instances: '{id}'"
                ));
            }
            let port = t.opt_i64(m::Port);
            let found: Vec<&Target> = tg
                .targets
                .iter()
                .filter(|r| r.id == id && port.is_none_or(|p| p == r.port))
                .collect();
            if found.is_empty() {
                let ghost = Target {
                    id: id.to_string(),
                    port: port.or(tg.port).unwrap_or_default(),
                    az: t.opt_str(m::AvailabilityZone).map(str::to_string),
                    registered_at: st.now,
                    draining_until: None,
                };
                out.push(description(
                    tg,
                    &ghost,
                    (
                        "unused",
                        Some("Target.NotRegistered"),
                        Some("Target is not registered to the target group"),
                    ),
                ));
            }
            for r in found {
                out.push(description(tg, r, target_health(st, tg, r)));
            }
        }
    }
    Ok(json!({"TargetHealthDescriptions": out}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec2::catalog;
    use cloudbox_sim::{IdGen, SimTime};

    /// The cluster side's hook: here, port 8081 never answers.
    fn probe(_: &RegionState, _: &TargetGroup, t: &Target) -> bool {
        t.port != 8081
    }

    fn call(
        st: &mut RegionState,
        h: crate::service::Handler,
        input: serde_json::Value,
    ) -> serde_json::Value {
        match h(st, &input) {
            Ok(v) => v,
            Err(e) => panic!("{e} for {input}"),
        }
    }

    #[test]
    fn the_health_probe_decides_for_running_targets() {
        let region = catalog::region("us-east-1").expect("region");
        let mut st = RegionState::new(
            region,
            "123456789012",
            IdGen::new(7),
            SimTime(cloudbox_sim::clock::MANUAL_EPOCH_MS),
            1.0,
        );
        crate::ec2::vpcs::create_default_vpc(&mut st);
        let vpc = st.vpcs.keys().next().cloned().expect("vpc");
        let subnets: Vec<String> = st.subnets.keys().take(2).cloned().collect();
        call(
            &mut st,
            crate::ec2::instances::run_instances,
            json!({"ImageId": "ami-0abcdef1234567890", "InstanceType": "t3.micro",
                   "MinCount": 1, "MaxCount": 1, "SubnetId": subnets[0]}),
        );
        let instance = st.instances.keys().next().cloned().expect("instance");
        let later = st.now.plus(Duration::from_secs(60));
        st.settle(later);
        let lb = call(
            &mut st,
            super::super::load_balancers::create_load_balancer,
            json!({"Name": "p", "Subnets": subnets}),
        )["LoadBalancers"][0]["LoadBalancerArn"]
            .as_str()
            .map(str::to_string)
            .expect("lb");
        let tg = call(
            &mut st,
            super::super::target_groups::create_target_group,
            json!({"Name": "p", "Protocol": "HTTP", "Port": 80, "VpcId": vpc}),
        )["TargetGroups"][0]["TargetGroupArn"]
            .as_str()
            .map(str::to_string)
            .expect("tg");
        call(
            &mut st,
            super::super::listeners::create_listener,
            json!({"LoadBalancerArn": lb, "Protocol": "HTTP", "Port": 80,
                   "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg}]}),
        );
        call(
            &mut st,
            register_targets,
            json!({"TargetGroupArn": tg, "Targets": [{"Id": instance, "Port": 8080}, {"Id": instance, "Port": 8081}]}),
        );
        let later = st.now.plus(Duration::from_secs(180 + 150));
        st.settle(later);
        st.now = later;
        let states = |st: &mut RegionState| -> Vec<String> {
            call(st, describe_target_health, json!({"TargetGroupArn": tg}))
                ["TargetHealthDescriptions"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|d| {
                            d["TargetHealth"]["State"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string()
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(states(&mut st), ["healthy", "healthy"]);
        st.elbv2.health_probe = Some(probe);
        assert_eq!(states(&mut st), ["healthy", "unhealthy"]);
        // Termination deregisters the instance: draining for 300 s, then gone.
        on_instance_terminated(&mut st, &instance);
        assert_eq!(states(&mut st), ["draining", "draining"]);
        let later = st.now.plus(Duration::from_secs(300));
        st.settle(later);
        assert!(states(&mut st).is_empty());
    }
}
