//! Listener and rule actions: `forward` (a `TargetGroupArn` or a weighted `ForwardConfig`),
//! `redirect` and `fixed-response`, checked against the load balancer and listener they are
//! for, and normalised to the `Action` shape AWS answers (a single-group forward shows both
//! `TargetGroupArn` and `ForwardConfig`, ALB actions carry `Order`).
//!
//! Rules: a target group must exist (`TargetGroupNotFound`), be in the load balancer's VPC
//! (`ValidationError`), be used by no other load balancer (`TargetGroupAssociationLimit`) and
//! speak a protocol that fits the listener (`IncompatibleProtocols`); an NLB only forwards, to
//! one group (`InvalidLoadBalancerAction`); a redirect must change something (no redirect loop)
//! and never go from HTTPS to HTTP; a fixed response has a 2XX/4XX/5XX code, one of AWS's content
//! types and at most 1024 characters of body. Authenticate actions are refused (cloudbox has no
//! identity provider).

use super::{action_target_groups, get_tg, validation, LbType, LoadBalancer};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::elbv2 as m;
use crate::region::RegionState;
use serde_json::{json, Value};

/// The target group protocols a listener protocol may forward to.
pub fn compatible(listener: &str, tg: &str) -> bool {
    match listener {
        "HTTP" | "HTTPS" => matches!(tg, "HTTP" | "HTTPS"),
        "TCP" => tg == "TCP",
        "TLS" => matches!(tg, "TCP" | "TLS"),
        "UDP" => tg == "UDP",
        "TCP_UDP" => tg == "TCP_UDP",
        _ => false,
    }
}

fn forward(
    st: &RegionState,
    a: &Value,
    lb: &LoadBalancer,
    listener_protocol: &str,
) -> AwsResult<Value> {
    let single = a.opt_str(m::TargetGroupArn);
    let config = a.obj(m::ForwardConfig);
    let listed = config
        .map(|c| c.obj_list(m::TargetGroups))
        .unwrap_or_default();
    if listed.len() > 5 {
        return Err(validation(
            "1 validation error detected: Value at 'forwardConfig.targetGroups' failed to satisfy constraint: Member must have length less than or equal to 5",
        ));
    }
    let mut groups: Vec<(String, i64)> = Vec::new();
    for t in listed {
        let arn = t.opt_str(m::TargetGroupArn).unwrap_or_default();
        let weight = t.opt_i64(m::Weight).unwrap_or(1);
        if !(0..=999).contains(&weight) {
            return Err(validation(format!(
                "1 validation error detected: Value '{weight}' at 'weight' failed to satisfy constraint: Member must have value between 0 and 999"
            )));
        }
        if groups.iter().any(|(g, _)| g == arn) {
            return Err(validation(format!(
                "Target group '{arn}' is specified more than once in the forward configuration"
            )));
        }
        groups.push((arn.to_string(), weight));
    }
    match (single, groups.len()) {
        (None, 0) => {
            return Err(validation(
                "A target group ARN must be specified for a forward action",
            ))
        }
        (Some(s), 0) => groups.push((s.to_string(), 1)),
        (Some(s), 1) if groups[0].0 == s => {}
        (Some(_), _) => {
            return Err(validation(
                "You cannot specify both a target group ARN and a forward configuration with other target groups",
            ))
        }
        (None, _) => {}
    }
    if lb.lb_type == LbType::Network && groups.len() > 1 {
        return Err(aws_err!(
            InvalidLoadBalancerAction,
            "Network load balancers can forward to one target group only"
        ));
    }
    for (arn, _) in &groups {
        let tg = get_tg(st, arn)?;
        if tg.vpc_id.as_deref() != Some(lb.vpc_id.as_str()) {
            return Err(validation(format!(
                "The target group '{arn}' is not in the VPC '{}' of the load balancer",
                lb.vpc_id
            )));
        }
        if tg.lb_arns.iter().any(|l| *l != lb.arn) {
            return Err(aws_err!(
                TargetGroupAssociationLimit,
                "The following target groups cannot be associated with more than one load balancer: {arn}"
            ));
        }
        let p = tg.protocol.as_deref().unwrap_or_default();
        if !compatible(listener_protocol, p) {
            return Err(aws_err!(
                IncompatibleProtocols,
                "The listener and its associated target group '{arn}' have incompatible protocols ('{listener_protocol}' and '{p}')"
            ));
        }
    }
    let stickiness = config.and_then(|c| c.obj(m::TargetGroupStickinessConfig));
    let enabled = stickiness
        .and_then(|s| s.opt_bool(m::Enabled))
        .unwrap_or(false);
    let mut sticky = json!({"Enabled": enabled});
    if let Some(d) = stickiness.and_then(|s| s.opt_i64(m::DurationSeconds)) {
        if !(1..=604800).contains(&d) {
            return Err(validation(format!(
                "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 1 and 604800"
            )));
        }
        sticky["DurationSeconds"] = json!(d);
    } else if enabled {
        return Err(validation(
            "A stickiness duration must be specified when target group stickiness is enabled",
        ));
    }
    let mut out = json!({
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": groups.iter().map(|(g, w)| json!({"TargetGroupArn": g, "Weight": w})).collect::<Vec<_>>(),
            "TargetGroupStickinessConfig": sticky,
        },
    });
    if groups.len() == 1 {
        out["TargetGroupArn"] = json!(groups[0].0);
    }
    Ok(out)
}

fn redirect(a: &Value, listener_protocol: &str) -> AwsResult<Value> {
    let c = a.obj(m::RedirectConfig).ok_or_else(|| {
        validation("A redirect configuration must be specified for a redirect action")
    })?;
    let code = c.opt_str(m::StatusCode).unwrap_or_default();
    if !matches!(code, "HTTP_301" | "HTTP_302") {
        return Err(validation(format!(
            "1 validation error detected: Value '{code}' at 'redirectConfig.statusCode' failed to satisfy constraint: Member must satisfy enum value set: [HTTP_301, HTTP_302]"
        )));
    }
    let protocol = c.opt_str(m::Protocol).unwrap_or("#{protocol}");
    if !matches!(protocol, "HTTP" | "HTTPS" | "#{protocol}") {
        return Err(validation(format!(
            "Redirect protocol '{protocol}' must be one of 'HTTP', 'HTTPS' or '#{{protocol}}'"
        )));
    }
    if listener_protocol == "HTTPS" && protocol == "HTTP" {
        return Err(validation("You cannot redirect HTTPS to HTTP"));
    }
    let port = c.opt_str(m::Port).unwrap_or("#{port}");
    if port != "#{port}" && !port.parse::<i64>().is_ok_and(|p| (1..=65535).contains(&p)) {
        return Err(validation(format!(
            "Redirect port '{port}' must be '#{{port}}' or a number between 1 and 65535"
        )));
    }
    let host = c.opt_str(m::Host).unwrap_or("#{host}");
    let path = c.opt_str(m::Path).unwrap_or("/#{path}");
    if !path.starts_with('/') {
        return Err(validation(format!(
            "Redirect path '{path}' must begin with '/'"
        )));
    }
    let query = c.opt_str(m::Query).unwrap_or("#{query}");
    if protocol == "#{protocol}" && port == "#{port}" && host == "#{host}" && path == "/#{path}" {
        return Err(validation(
            "The redirect configuration is not valid: you must modify at least one of the following components to avoid a redirect loop: protocol, port, hostname or path.",
        ));
    }
    Ok(json!({
        "Type": "redirect",
        "RedirectConfig": {
            "Protocol": protocol, "Port": port, "Host": host, "Path": path, "Query": query,
            "StatusCode": code,
        },
    }))
}

fn fixed_response(a: &Value) -> AwsResult<Value> {
    let c = a.obj(m::FixedResponseConfig).ok_or_else(|| {
        validation("A fixed response configuration must be specified for a fixed-response action")
    })?;
    let code = c.opt_str(m::StatusCode).unwrap_or_default();
    let b = code.as_bytes();
    if !(b.len() == 3
        && matches!(b[0], b'2' | b'4' | b'5')
        && b[1..].iter().all(u8::is_ascii_digit))
    {
        return Err(validation(format!(
            "1 validation error detected: Value '{code}' at 'fixedResponseConfig.statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$"
        )));
    }
    let mut out = json!({"StatusCode": code});
    if let Some(t) = c.opt_str(m::ContentType) {
        const TYPES: [&str; 5] = [
            "text/plain",
            "text/css",
            "text/html",
            "application/javascript",
            "application/json",
        ];
        if !TYPES.contains(&t) {
            return Err(validation(format!(
                "Content type '{t}' is not valid; it must be one of [{}]",
                TYPES.join(", ")
            )));
        }
        out["ContentType"] = json!(t);
    }
    if let Some(m) = c.opt_str(m::MessageBody) {
        if m.chars().count() > 1024 {
            return Err(validation(
                "1 validation error detected: Value at 'fixedResponseConfig.messageBody' failed to satisfy constraint: Member must have length less than or equal to 1024",
            ));
        }
        out["MessageBody"] = json!(m);
    }
    Ok(json!({"Type": "fixed-response", "FixedResponseConfig": out}))
}

/// Reads and checks the actions of a listener or rule of `lb` whose listener speaks
/// `listener_protocol`; answers them in AWS's output shape.
pub fn read_actions(
    st: &RegionState,
    list: &[Value],
    lb: &LoadBalancer,
    listener_protocol: &str,
) -> AwsResult<Vec<Value>> {
    if list.is_empty() {
        return Err(validation("At least one action must be specified"));
    }
    if list.len() > 1 {
        return Err(validation(
            "A listener or rule can have only one forward, redirect or fixed-response action (authenticate actions are not supported by cloudbox)",
        ));
    }
    let mut out = Vec::new();
    for (i, a) in list.iter().enumerate() {
        let t = a.opt_str(m::Type).unwrap_or_default();
        let alb = lb.lb_type == LbType::Application;
        let mut v = match t {
            "forward" => forward(st, a, lb, listener_protocol)?,
            "redirect" | "fixed-response" | "authenticate-oidc" | "authenticate-cognito"
            | "jwt-validation"
                if !alb =>
            {
                return Err(aws_err!(
                    InvalidLoadBalancerAction,
                    "The action type '{t}' is not valid with a network load balancer"
                ))
            }
            "redirect" => redirect(a, listener_protocol)?,
            "fixed-response" => fixed_response(a)?,
            "authenticate-oidc" | "authenticate-cognito" | "jwt-validation" => {
                return Err(validation(format!(
                    "Actions of type '{t}' are not supported by cloudbox"
                )))
            }
            other => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{other}' at 'actions.{}.member.type' failed to satisfy constraint: Member must satisfy enum value set: [forward, authenticate-oidc, authenticate-cognito, redirect, fixed-response, jwt-validation]",
                    i + 1
                )))
            }
        };
        if alb {
            let order = a.opt_i64(m::Order).unwrap_or(i as i64 + 1);
            if !(1..=50000).contains(&order) {
                return Err(validation(format!(
                    "1 validation error detected: Value '{order}' at 'actions.{}.member.order' failed to satisfy constraint: Member must have value between 1 and 50000",
                    i + 1
                )));
            }
            v["Order"] = json!(order);
        }
        out.push(v);
    }
    Ok(out)
}

/// The target groups a list of actions forwards to.
pub fn target_groups_of(actions: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in actions {
        for t in action_target_groups(a) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}
