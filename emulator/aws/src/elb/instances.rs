//! Classic ELB back ends: RegisterInstancesWithLoadBalancer,
//! DeregisterInstancesFromLoadBalancer, ConfigureHealthCheck, DescribeInstanceHealth.
//!
//! Registration: instances must exist (not terminated) and be in the load balancer's VPC
//! (`InvalidInstance`); registering twice is a no-op; deregistering an instance that is not
//! registered is a no-op. Health is computed from the clock: a registered instance is
//! `InService` (reason `N/A`) once it has been both running and registered for
//! `Interval × HealthyThreshold` seconds; before that it is `OutOfService` with reason `ELB`
//! ("Instance has not passed the configured HealthyThreshold number of health checks
//! consecutively."); an instance that is not running is `OutOfService` with reason `Instance`
//! ("Instance is in stopped state."). An instance asked about but not registered is `Unknown`.
//! Health checks never fail for a running instance (no traffic is modelled).

use super::{get_lb, get_lb_mut, HealthCheck, LoadBalancer, Registration};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::ec2::state::InstanceState;
use crate::error::AwsResult;
use crate::members::elb as m;
use crate::region::RegionState;
use serde_json::{json, Value};
use std::time::Duration;

/// A health check as the `HealthCheck` shape.
pub fn health_check_json(h: &HealthCheck) -> Value {
    json!({
        "Target": h.target,
        "Interval": h.interval,
        "Timeout": h.timeout,
        "UnhealthyThreshold": h.unhealthy_threshold,
        "HealthyThreshold": h.healthy_threshold,
    })
}

fn instance_ids(input: &Value) -> Vec<String> {
    input
        .obj_list(m::Instances)
        .iter()
        .filter_map(|i| i.opt_str(m::InstanceId).map(str::to_string))
        .collect()
}

fn unknown_instance(id: &str) -> crate::error::AwsError {
    aws_err!(ElbInvalidInstance, "Could not find EC2 instance {id}.")
}

fn registrations_json(lb: &LoadBalancer) -> Value {
    json!({"Instances": lb.instances.iter().map(|r| json!({"InstanceId": r.instance_id})).collect::<Vec<_>>()})
}

/// RegisterInstancesWithLoadBalancer: answers every registered instance.
pub fn register_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    let lb = get_lb(st, name)?;
    let ids = instance_ids(input);
    for id in &ids {
        let i = st
            .instances
            .get(id)
            .filter(|i| i.state != InstanceState::Terminated)
            .ok_or_else(|| unknown_instance(id))?;
        if i.vpc_id != lb.vpc_id {
            return Err(aws_err!(
                ElbInvalidInstance,
                "EC2 instance {id} is not in the same VPC as ELB."
            ));
        }
    }
    let now = st.now;
    let lb = get_lb_mut(st, name)?;
    for id in ids {
        if !lb.instances.iter().any(|r| r.instance_id == id) {
            lb.instances.push(Registration {
                instance_id: id,
                since: now,
            });
        }
    }
    Ok(registrations_json(lb))
}

/// DeregisterInstancesFromLoadBalancer: answers the instances still registered.
pub fn deregister_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    let lb = get_lb(st, name)?;
    let ids = instance_ids(input);
    for id in &ids {
        if !st.instances.contains_key(id) && !lb.instances.iter().any(|r| &r.instance_id == id) {
            return Err(unknown_instance(id));
        }
    }
    let lb = get_lb_mut(st, name)?;
    lb.instances.retain(|r| !ids.contains(&r.instance_id));
    Ok(registrations_json(lb))
}

/// `(State, ReasonCode, Description)` of a registered instance now.
fn health(
    st: &RegionState,
    lb: &LoadBalancer,
    r: &Registration,
) -> (&'static str, &'static str, String) {
    let Some(i) = st.instances.get(&r.instance_id) else {
        return (
            "OutOfService",
            "Instance",
            "Instance is in terminated state.".into(),
        );
    };
    if i.state != InstanceState::Running {
        return (
            "OutOfService",
            "Instance",
            format!("Instance is in {} state.", i.state.name()),
        );
    }
    let base = i.running_since.unwrap_or(i.launch_time).max(r.since);
    let h = &lb.health_check;
    let secs = (h.interval * h.healthy_threshold) as f64;
    let ready = base.plus(Duration::from_secs_f64(secs / st.time_scale.max(1e-9)));
    if st.now >= ready {
        ("InService", "N/A", "N/A".into())
    } else {
        (
            "OutOfService",
            "ELB",
            "Instance has not passed the configured HealthyThreshold number of health checks consecutively.".into(),
        )
    }
}

/// DescribeInstanceHealth: every registered instance, or the ones asked about.
pub fn describe_instance_health(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    let lb = get_lb(st, name)?;
    let asked = instance_ids(input);
    let mut out = Vec::new();
    if asked.is_empty() {
        for r in &lb.instances {
            let (s, code, desc) = health(st, lb, r);
            out.push(json!({"InstanceId": r.instance_id, "State": s, "ReasonCode": code, "Description": desc}));
        }
    } else {
        for id in &asked {
            match lb.instances.iter().find(|r| &r.instance_id == id) {
                Some(r) => {
                    let (s, code, desc) = health(st, lb, r);
                    out.push(json!({"InstanceId": id, "State": s, "ReasonCode": code, "Description": desc}));
                }
                None if st.instances.contains_key(id) => out.push(json!({
                    "InstanceId": id,
                    "State": "Unknown",
                    "ReasonCode": "N/A",
                    "Description": "Instance is not currently registered with the LoadBalancer.",
                })),
                None => return Err(unknown_instance(id)),
            }
        }
    }
    Ok(json!({ "InstanceStates": out }))
}

fn range(member: &str, v: i64, lo: i64, hi: i64) -> AwsResult<()> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value '{v}' at 'healthCheck.{member}' failed to satisfy constraint: Member must have value between {lo} and {hi}"
        ))
    }
}

/// Checks a health check target: `TCP:port`, `SSL:port`, `HTTP:port/path`, `HTTPS:port/path`.
pub fn check_target(target: &str) -> AwsResult<()> {
    let bad = || {
        aws_err!(
            ValidationError,
            "Invalid HealthCheck Target: '{target}'. It must be TCP:port, SSL:port, HTTP:port/path or HTTPS:port/path."
        )
    };
    let (proto, rest) = target.split_once(':').ok_or_else(bad)?;
    let (port, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let port_ok = !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
    let shape_ok = match proto {
        "TCP" | "SSL" => path.is_none(),
        "HTTP" | "HTTPS" => path.is_some_and(|p| p.len() <= 1024),
        _ => false,
    };
    if port_ok && shape_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// ConfigureHealthCheck.
pub fn configure_health_check(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    get_lb(st, name)?;
    let h = input
        .obj(m::HealthCheck)
        .ok_or_else(|| crate::error::AwsError::missing("HealthCheck"))?;
    let target = h.req_str(m::Target)?;
    let get = |k: &str| {
        h.opt_i64(k)
            .ok_or_else(|| crate::error::AwsError::missing(k))
    };
    let hc = HealthCheck {
        target: target.to_string(),
        interval: get("Interval")?,
        timeout: get("Timeout")?,
        unhealthy_threshold: get("UnhealthyThreshold")?,
        healthy_threshold: get("HealthyThreshold")?,
    };
    range("interval", hc.interval, 5, 300)?;
    range("timeout", hc.timeout, 2, 60)?;
    range("unhealthyThreshold", hc.unhealthy_threshold, 2, 10)?;
    range("healthyThreshold", hc.healthy_threshold, 2, 10)?;
    check_target(target)?;
    if hc.timeout >= hc.interval {
        return Err(aws_err!(
            ValidationError,
            "HealthCheck Timeout must be less than Interval"
        ));
    }
    let lb = get_lb_mut(st, name)?;
    lb.health_check = hc;
    Ok(json!({ "HealthCheck": health_check_json(&lb.health_check) }))
}
