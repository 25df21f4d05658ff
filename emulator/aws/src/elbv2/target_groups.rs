//! Target groups: CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup,
//! DeleteTargetGroup.
//!
//! Rules as AWS has them: names of 1–32 alphanumerics and hyphens, not starting or ending with a
//! hyphen (`ValidationError`); target types `instance` and `ip` need a protocol, a port and an
//! existing VPC; protocols HTTP/HTTPS (ALB), TCP/TLS/UDP/TCP_UDP (NLB) and GENEVE (port 6081);
//! health check settings within AWS's ranges (interval 5–300, timeout 2–120 and shorter than the
//! interval, thresholds 2–10, HTTP matcher codes) with AWS's defaults per protocol: HTTP/HTTPS
//! groups check `/` with the group's protocol every 30 s, timeout 5, healthy 5, unhealthy 2,
//! matcher 200; TCP-family groups check TCP every 30 s, timeout 10 (6 for HTTP checks), healthy
//! 5, unhealthy 2. The same name with the same settings answers the existing group, with other
//! settings `DuplicateTargetGroupName`. A group a listener or rule forwards to cannot be deleted
//! (`ResourceInUse`).
//!
//! Simplified: `lambda` and `alb` target types, QUIC and IPv6 groups are refused with an error
//! naming them.

use super::attributes::tg_defaults;
use super::tags::{read_tags, set_tags};
use super::{check_arn, get_lb, get_tg, page, page_window, validation, HealthCheck, TargetGroup};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::elbv2 as m;
use crate::region::RegionState;
use serde_json::{json, Value};

/// The most target groups in a region (AWS's default quota).
pub const MAX_TARGET_GROUPS: usize = 3000;

/// Checks a target group name against AWS's rules.
pub fn check_name(name: &str) -> AwsResult<()> {
    if name.is_empty() {
        return Err(validation("The target group name cannot be empty"));
    }
    if name.chars().count() > 32 {
        return Err(validation(format!(
            "The target group name '{name}' cannot be longer than '32' characters"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(validation(format!(
            "The target group name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(validation(format!(
            "The target group name '{name}' cannot begin or end with '-'"
        )));
    }
    Ok(())
}

/// Whether a protocol belongs to application load balancers.
pub fn is_http(p: &str) -> bool {
    matches!(p, "HTTP" | "HTTPS")
}

fn check_port(port: i64, member: &str) -> AwsResult<()> {
    if (1..=65535).contains(&port) {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{port}' at '{member}' failed to satisfy constraint: Member must have value between 1 and 65535"
        )))
    }
}

fn range(input: &Value, member: &str, wire: &str, lo: i64, hi: i64) -> AwsResult<Option<i64>> {
    match input.opt_i64(member) {
        Some(n) if !(lo..=hi).contains(&n) => Err(validation(format!(
            "1 validation error detected: Value '{n}' at '{wire}' failed to satisfy constraint: Member must have value between {lo} and {hi}"
        ))),
        v => Ok(v),
    }
}

fn check_matcher(code: &str, http_family: bool) -> AwsResult<()> {
    let (lo, hi) = if http_family { (200, 499) } else { (200, 599) };
    let ok_code = |s: &str| s.parse::<i64>().is_ok_and(|n| (lo..=hi).contains(&n));
    let ok = !code.is_empty()
        && code.split(',').all(|part| match part.split_once('-') {
            Some((a, b)) => {
                ok_code(a) && ok_code(b) && a.parse::<i64>().ok() < b.parse::<i64>().ok()
            }
            None => ok_code(part),
        });
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "Health check matcher HTTP code '{code}' must be within '{lo}-{hi}'"
        )))
    }
}

/// The health check of a group of `protocol`, from a request over `base` (None: AWS's defaults).
pub fn health_check(
    protocol: &str,
    input: &Value,
    base: Option<&HealthCheck>,
) -> AwsResult<HealthCheck> {
    let http_family = is_http(protocol);
    let geneve = protocol == "GENEVE";
    let hc_protocol = match input.opt_str(m::HealthCheckProtocol) {
        Some(p) => p.to_string(),
        None => match base.and_then(|b| b.protocol.clone()) {
            Some(p) => p,
            None if http_family => protocol.to_string(),
            None => "TCP".to_string(),
        },
    };
    let allowed: &[&str] = if http_family {
        &["HTTP", "HTTPS"]
    } else {
        &["HTTP", "HTTPS", "TCP"]
    };
    if !allowed.contains(&hc_protocol.as_str()) {
        return Err(validation(format!(
            "Health check protocol '{hc_protocol}' is not supported for target groups with the '{protocol}' protocol"
        )));
    }
    let hc_http = is_http(&hc_protocol);
    let port = match input.opt_str(m::HealthCheckPort) {
        Some("traffic-port") => "traffic-port".to_string(),
        Some(p) => {
            let n = p.parse::<i64>().map_err(|_| {
                validation(format!(
                    "Health check port '{p}' must be 'traffic-port' or a port number"
                ))
            })?;
            check_port(n, "healthCheckPort")?;
            n.to_string()
        }
        None => base.and_then(|b| b.port.clone()).unwrap_or_else(|| {
            if geneve {
                "80".into()
            } else {
                "traffic-port".into()
            }
        }),
    };
    let path = match input.opt_str(m::HealthCheckPath) {
        Some(_) if !hc_http => {
            return Err(aws_err!(
                InvalidConfigurationRequest,
                "Health check paths are not supported for {hc_protocol} health checks"
            ))
        }
        Some(p) if !p.starts_with('/') || p.chars().count() > 1024 => {
            return Err(validation(format!(
                "Health check path '{p}' must begin with '/' and be at most 1024 characters"
            )))
        }
        Some(p) => Some(p.to_string()),
        None if hc_http => Some(
            base.and_then(|b| b.path.clone())
                .unwrap_or_else(|| "/".to_string()),
        ),
        None => None,
    };
    let interval = range(
        input,
        "HealthCheckIntervalSeconds",
        "healthCheckIntervalSeconds",
        5,
        300,
    )?
    .or(base.map(|b| b.interval))
    .unwrap_or(if geneve { 10 } else { 30 });
    let default_timeout = if http_family || geneve {
        5
    } else if hc_protocol == "HTTP" {
        6
    } else {
        10
    };
    let timeout = range(
        input,
        "HealthCheckTimeoutSeconds",
        "healthCheckTimeoutSeconds",
        2,
        120,
    )?
    .or(base
        .filter(|b| b.protocol.as_deref() == Some(hc_protocol.as_str()))
        .map(|b| b.timeout))
    .unwrap_or(default_timeout);
    if timeout >= interval {
        return Err(validation(format!(
            "Health check timeout '{timeout}' must be smaller than the interval '{interval}'"
        )));
    }
    let healthy = range(
        input,
        "HealthyThresholdCount",
        "healthyThresholdCount",
        2,
        10,
    )?
    .or(base.map(|b| b.healthy))
    .unwrap_or(if geneve { 3 } else { 5 });
    let unhealthy = range(
        input,
        "UnhealthyThresholdCount",
        "unhealthyThresholdCount",
        2,
        10,
    )?
    .or(base.map(|b| b.unhealthy))
    .unwrap_or(if geneve { 3 } else { 2 });
    let matcher = match input.obj(m::Matcher) {
        Some(_) if !hc_http => {
            return Err(aws_err!(
                InvalidConfigurationRequest,
                "Health check matchers are not supported for {hc_protocol} health checks"
            ));
        }
        Some(m) => {
            if m.opt_str(m::GrpcCode).is_some() {
                return Err(validation("gRPC matchers are not supported by cloudbox"));
            }
            let code = m.opt_str(m::HttpCode).unwrap_or_default();
            check_matcher(code, http_family)?;
            Some(code.to_string())
        }
        None if hc_http => Some(base.and_then(|b| b.matcher.clone()).unwrap_or_else(|| {
            if http_family {
                "200".into()
            } else {
                "200-399".into()
            }
        })),
        None => None,
    };
    if input.opt_bool(m::HealthCheckEnabled) == Some(false) {
        return Err(validation(
            "Health checks cannot be disabled for target groups with target type 'instance' or 'ip'",
        ));
    }
    Ok(HealthCheck {
        protocol: Some(hc_protocol),
        port: Some(port),
        enabled: true,
        path,
        interval,
        timeout,
        healthy,
        unhealthy,
        matcher,
    })
}

/// A target group as the `TargetGroup` shape.
pub fn tg_json(tg: &TargetGroup) -> Value {
    let h = &tg.health;
    let mut v = json!({
        "TargetGroupArn": tg.arn,
        "TargetGroupName": tg.name,
        "HealthCheckEnabled": h.enabled,
        "HealthCheckIntervalSeconds": h.interval,
        "HealthCheckTimeoutSeconds": h.timeout,
        "HealthyThresholdCount": h.healthy,
        "UnhealthyThresholdCount": h.unhealthy,
        "LoadBalancerArns": tg.lb_arns,
        "TargetType": tg.target_type,
        "IpAddressType": tg.ip_address_type,
    });
    let opt = [
        ("Protocol", tg.protocol.clone().map(Value::from)),
        ("Port", tg.port.map(Value::from)),
        ("VpcId", tg.vpc_id.clone().map(Value::from)),
        ("HealthCheckProtocol", h.protocol.clone().map(Value::from)),
        ("HealthCheckPort", h.port.clone().map(Value::from)),
        ("HealthCheckPath", h.path.clone().map(Value::from)),
        ("Matcher", h.matcher.clone().map(|m| json!({"HttpCode": m}))),
        (
            "ProtocolVersion",
            tg.protocol_version.clone().map(Value::from),
        ),
    ];
    for (k, val) in opt {
        if let Some(val) = val {
            v[k] = val;
        }
    }
    v
}

/// The new group a CreateTargetGroup asks for (checked), without ARN and sequence.
fn requested(st: &RegionState, input: &Value, name: &str) -> AwsResult<TargetGroup> {
    let target_type = input.opt_str(m::TargetType).unwrap_or("instance");
    match target_type {
        "instance" | "ip" => {}
        "lambda" | "alb" => {
            return Err(validation(format!(
                "Target groups of target type '{target_type}' are not supported by cloudbox"
            )))
        }
        other => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'targetType' failed to satisfy constraint: Member must satisfy enum value set: [instance, ip, lambda, alb]"
            )))
        }
    }
    let protocol = input.opt_str(m::Protocol).ok_or_else(|| {
        validation(format!(
            "A protocol must be specified for target groups with target type '{target_type}'"
        ))
    })?;
    match protocol {
        "HTTP" | "HTTPS" | "TCP" | "TLS" | "UDP" | "TCP_UDP" | "GENEVE" => {}
        "QUIC" | "TCP_QUIC" => {
            return Err(validation(format!(
                "Protocol '{protocol}' is not supported by cloudbox"
            )))
        }
        other => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE, QUIC, TCP_QUIC]"
            )))
        }
    }
    let port = input.opt_i64(m::Port).ok_or_else(|| {
        validation(format!(
            "A port must be specified for target groups with target type '{target_type}'"
        ))
    })?;
    check_port(port, "port")?;
    if protocol == "GENEVE" && port != 6081 {
        return Err(validation(
            "Target groups with the GENEVE protocol must use port 6081",
        ));
    }
    let vpc_id = input.opt_str(m::VpcId).ok_or_else(|| {
        validation(format!(
            "A VPC ID must be specified for target groups with target type '{target_type}'"
        ))
    })?;
    if !st.vpcs.contains_key(vpc_id) {
        return Err(validation(format!("The VPC ID '{vpc_id}' is not found")));
    }
    let protocol_version = match input.opt_str(m::ProtocolVersion) {
        Some(_) if !is_http(protocol) => {
            return Err(validation(
                "A protocol version can be specified only for HTTP and HTTPS target groups",
            ))
        }
        Some(v) => match v.to_ascii_uppercase().as_str() {
            "HTTP1" | "HTTP2" => Some(v.to_ascii_uppercase()),
            "GRPC" => {
                return Err(validation(
                    "gRPC target groups are not supported by cloudbox",
                ))
            }
            _ => {
                return Err(validation(format!(
                    "Protocol version '{v}' is not valid; it must be one of [HTTP1, HTTP2, GRPC]"
                )))
            }
        },
        None if is_http(protocol) => Some("HTTP1".into()),
        None => None,
    };
    match input.opt_str(m::IpAddressType).unwrap_or("ipv4") {
        "ipv4" => {}
        "ipv6" => return Err(validation("IPv6 target groups are not supported by cloudbox")),
        other => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'ipAddressType' failed to satisfy constraint: Member must satisfy enum value set: [ipv4, ipv6]"
            )))
        }
    }
    if input.get(m::TargetControlPort).is_some() {
        return Err(validation("TargetControlPort is not supported by cloudbox"));
    }
    let health = health_check(protocol, input, None)?;
    Ok(TargetGroup {
        arn: String::new(),
        name: name.to_string(),
        protocol: Some(protocol.to_string()),
        protocol_version,
        port: Some(port),
        vpc_id: Some(vpc_id.to_string()),
        target_type: target_type.to_string(),
        ip_address_type: "ipv4".into(),
        health,
        attributes: tg_defaults(Some(protocol), target_type),
        targets: Vec::new(),
        lb_arns: Vec::new(),
        used_since: None,
        seq: 0,
    })
}

/// CreateTargetGroup.
pub fn create_target_group(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::Name)?;
    check_name(name)?;
    let mut tg = requested(st, input, name)?;
    let tags = read_tags(input)?;
    if let Some(existing) = st.elbv2.target_groups.values().find(|t| t.name == name) {
        let same = existing.protocol == tg.protocol
            && existing.port == tg.port
            && existing.vpc_id == tg.vpc_id
            && existing.target_type == tg.target_type
            && existing.protocol_version == tg.protocol_version
            && existing.health == tg.health;
        if same {
            return Ok(json!({"TargetGroups": [tg_json(existing)]}));
        }
        return Err(aws_err!(
            DuplicateTargetGroupName,
            "A target group with the same name '{name}' exists, but with different settings"
        ));
    }
    if st.elbv2.target_groups.len() >= MAX_TARGET_GROUPS {
        return Err(aws_err!(
            TooManyTargetGroups,
            "The quota for the number of target groups has been reached"
        ));
    }
    let id = st.ids.hex(16);
    tg.arn = st.arn("elasticloadbalancing", &format!("targetgroup/{name}/{id}"));
    tg.seq = st.elbv2.next_seq();
    let arn = tg.arn.clone();
    let out = tg_json(&tg);
    st.elbv2.target_groups.insert(arn.clone(), tg);
    set_tags(st, &arn, tags);
    Ok(json!({"TargetGroups": [out]}))
}

/// DescribeTargetGroups: by load balancer, ARNs, names, or all, in creation order, paged.
pub fn describe_target_groups(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let lb = input.opt_str(m::LoadBalancerArn);
    let arns = input.str_list(m::TargetGroupArns);
    let names = input.str_list(m::Names);
    let given =
        usize::from(lb.is_some()) + usize::from(!arns.is_empty()) + usize::from(!names.is_empty());
    if given > 1 {
        return Err(validation(
            "Only one of load balancer ARN, target group ARNs or names can be specified",
        ));
    }
    let (offset, size) = page_window(input)?;
    let mut all: Vec<&TargetGroup> = st.elbv2.target_groups.values().collect();
    all.sort_by_key(|t| t.seq);
    let picked: Vec<&TargetGroup> = if let Some(lb) = lb {
        get_lb(st, lb)?;
        all.into_iter()
            .filter(|t| t.lb_arns.iter().any(|a| a == lb))
            .collect()
    } else if !arns.is_empty() {
        for a in &arns {
            check_arn(a, "targetgroup", "target group")?;
        }
        if arns.iter().any(|a| !st.elbv2.target_groups.contains_key(a)) {
            return Err(aws_err!(
                TargetGroupNotFound,
                "One or more target groups not found"
            ));
        }
        all.into_iter().filter(|t| arns.contains(&t.arn)).collect()
    } else if !names.is_empty() {
        let missing: Vec<&str> = names
            .iter()
            .filter(|n| !all.iter().any(|t| &t.name == *n))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(aws_err!(
                TargetGroupNotFound,
                "Target groups '[{}]' not found",
                missing.join(", ")
            ));
        }
        all.into_iter()
            .filter(|t| names.contains(&t.name))
            .collect()
    } else {
        all
    };
    let items = picked.into_iter().map(tg_json).collect();
    let (items, next) = page(items, offset, size)?;
    let mut out = json!({"TargetGroups": items});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

/// ModifyTargetGroup: health check settings.
pub fn modify_target_group(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::TargetGroupArn)?;
    let tg = get_tg(st, arn)?;
    let protocol = tg.protocol.clone().unwrap_or_default();
    let health = health_check(&protocol, input, Some(&tg.health))?;
    let Some(tg) = st.elbv2.target_groups.get_mut(arn) else {
        return Err(aws_err!(
            TargetGroupNotFound,
            "Target groups '{arn}' not found"
        ));
    };
    tg.health = health;
    Ok(json!({"TargetGroups": [tg_json(tg)]}))
}

/// Whether a listener or rule forwards to a target group.
pub fn in_use(st: &RegionState, arn: &str) -> bool {
    st.elbv2
        .rules
        .values()
        .flat_map(|r| r.actions.iter())
        .chain(
            st.elbv2
                .listeners
                .values()
                .flat_map(|l| l.default_actions.iter()),
        )
        .any(|a| super::action_target_groups(a).iter().any(|t| t == arn))
}

/// DeleteTargetGroup: succeeds for a group that does not exist; refused while in use.
pub fn delete_target_group(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::TargetGroupArn)?;
    check_arn(arn, "targetgroup", "target group")?;
    if !st.elbv2.target_groups.contains_key(arn) {
        return Ok(json!({}));
    }
    if in_use(st, arn) {
        return Err(aws_err!(
            ResourceInUse,
            "Target group '{arn}' is currently in use by a listener or a rule"
        ));
    }
    st.elbv2.target_groups.remove(arn);
    st.elbv2.tags.remove(arn);
    Ok(json!({}))
}
