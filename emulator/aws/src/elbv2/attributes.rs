//! Load balancer, target group and listener attributes: Describe/ModifyLoadBalancerAttributes,
//! Describe/ModifyTargetGroupAttributes and Describe/ModifyListenerAttributes, with AWS's
//! default sets per load balancer type, per target group protocol family (application, network,
//! GENEVE) and per listener protocol (ALB response headers, HTTPS mTLS/TLS header names, NLB TCP
//! idle timeout), as the API shows them in 2025.
//!
//! A key the resource's type does not have is `ValidationError` ("… attribute key 'x' is not
//! recognized"); booleans must be `true`/`false`, numbers within AWS's ranges, enumerations one
//! of AWS's values. Modify applies all or nothing and answers the full set. Simplified: access
//! logs are accepted with any bucket name (no S3 permission check).

use super::{get_lb, get_tg, validation, LbType};
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::elbv2 as m;
use crate::region::RegionState;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The attributes a new load balancer has.
pub fn lb_defaults(t: LbType, scheme: &str) -> BTreeMap<String, String> {
    match t {
        LbType::Application => map(&[
            ("access_logs.s3.enabled", "false"),
            ("access_logs.s3.bucket", ""),
            ("access_logs.s3.prefix", ""),
            ("connection_logs.s3.enabled", "false"),
            ("connection_logs.s3.bucket", ""),
            ("connection_logs.s3.prefix", ""),
            ("health_check_logs.s3.enabled", "false"),
            ("health_check_logs.s3.bucket", ""),
            ("health_check_logs.s3.prefix", ""),
            ("client_keep_alive.seconds", "3600"),
            ("deletion_protection.enabled", "false"),
            ("idle_timeout.timeout_seconds", "60"),
            ("load_balancing.cross_zone.enabled", "true"),
            ("routing.http.desync_mitigation_mode", "defensive"),
            ("routing.http.drop_invalid_header_fields.enabled", "false"),
            ("routing.http.preserve_host_header.enabled", "false"),
            (
                "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
                "false",
            ),
            ("routing.http.xff_client_port.enabled", "false"),
            ("routing.http.xff_header_processing.mode", "append"),
            ("routing.http2.enabled", "true"),
            ("waf.fail_open.enabled", "false"),
            ("zonal_shift.config.enabled", "false"),
        ]),
        LbType::Network => map(&[
            ("access_logs.s3.enabled", "false"),
            ("access_logs.s3.bucket", ""),
            ("access_logs.s3.prefix", ""),
            ("deletion_protection.enabled", "false"),
            ("dns_record.client_routing_policy", "any_availability_zone"),
            (
                "ipv6.deny_all_igw_traffic",
                if scheme == "internal" {
                    "true"
                } else {
                    "false"
                },
            ),
            ("load_balancing.cross_zone.enabled", "false"),
            ("zonal_shift.config.enabled", "false"),
        ]),
    }
}

/// The attributes a new target group has, by protocol family and target type.
pub fn tg_defaults(protocol: Option<&str>, target_type: &str) -> BTreeMap<String, String> {
    let health = [
        (
            "target_group_health.dns_failover.minimum_healthy_targets.count",
            "1",
        ),
        (
            "target_group_health.dns_failover.minimum_healthy_targets.percentage",
            "off",
        ),
        (
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
            "1",
        ),
        (
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
            "off",
        ),
    ];
    let mut m = match protocol {
        Some("HTTP" | "HTTPS") | None => map(&[
            ("deregistration_delay.timeout_seconds", "300"),
            ("load_balancing.algorithm.type", "round_robin"),
            ("load_balancing.algorithm.anomaly_mitigation", "off"),
            (
                "load_balancing.cross_zone.enabled",
                "use_load_balancer_configuration",
            ),
            ("slow_start.duration_seconds", "0"),
            ("stickiness.enabled", "false"),
            ("stickiness.type", "lb_cookie"),
            ("stickiness.lb_cookie.duration_seconds", "86400"),
            ("stickiness.app_cookie.cookie_name", ""),
            ("stickiness.app_cookie.duration_seconds", "86400"),
        ]),
        Some("GENEVE") => {
            return map(&[
                ("deregistration_delay.timeout_seconds", "300"),
                ("stickiness.enabled", "false"),
                ("stickiness.type", "five_tuple"),
                ("target_failover.on_deregistration", "no_rebalance"),
                ("target_failover.on_unhealthy", "no_rebalance"),
            ])
        }
        Some(p) => {
            let preserve = target_type == "instance" || matches!(p, "UDP" | "TCP_UDP");
            map(&[
                ("deregistration_delay.timeout_seconds", "300"),
                (
                    "deregistration_delay.connection_termination.enabled",
                    "false",
                ),
                (
                    "load_balancing.cross_zone.enabled",
                    "use_load_balancer_configuration",
                ),
                (
                    "preserve_client_ip.enabled",
                    if preserve { "true" } else { "false" },
                ),
                ("proxy_protocol_v2.enabled", "false"),
                ("stickiness.enabled", "false"),
                ("stickiness.type", "source_ip"),
                (
                    "target_health_state.unhealthy.connection_termination.enabled",
                    "true",
                ),
                (
                    "target_health_state.unhealthy.draining_interval_seconds",
                    "0",
                ),
            ])
        }
    };
    m.extend(map(&health));
    m
}

/// The attributes a new listener of `protocol` has.
pub fn listener_defaults(protocol: &str) -> BTreeMap<String, String> {
    let response = [
        "access_control_allow_credentials",
        "access_control_allow_headers",
        "access_control_allow_methods",
        "access_control_allow_origin",
        "access_control_expose_headers",
        "access_control_max_age",
        "content_security_policy",
        "strict_transport_security",
        "x_content_type_options",
        "x_frame_options",
    ];
    let mut m = BTreeMap::new();
    match protocol {
        "HTTP" | "HTTPS" => {
            for h in response {
                m.insert(
                    format!("routing.http.response.{h}.header_value"),
                    String::new(),
                );
            }
            m.insert("routing.http.response.server.enabled".into(), "true".into());
            if protocol == "HTTPS" {
                for (k, v) in [
                    (
                        "x_amzn_mtls_clientcert_serial_number",
                        "X-Amzn-Mtls-Clientcert-Serial-Number",
                    ),
                    (
                        "x_amzn_mtls_clientcert_issuer",
                        "X-Amzn-Mtls-Clientcert-Issuer",
                    ),
                    (
                        "x_amzn_mtls_clientcert_subject",
                        "X-Amzn-Mtls-Clientcert-Subject",
                    ),
                    (
                        "x_amzn_mtls_clientcert_validity",
                        "X-Amzn-Mtls-Clientcert-Validity",
                    ),
                    ("x_amzn_mtls_clientcert_leaf", "X-Amzn-Mtls-Clientcert-Leaf"),
                    ("x_amzn_mtls_clientcert", "X-Amzn-Mtls-Clientcert"),
                    ("x_amzn_tls_version", "X-Amzn-Tls-Version"),
                    ("x_amzn_tls_cipher_suite", "X-Amzn-Tls-Cipher-Suite"),
                ] {
                    m.insert(
                        format!("routing.http.request.{k}.header_name"),
                        v.to_string(),
                    );
                }
            }
        }
        "TCP" => {
            m.insert("tcp.idle_timeout.seconds".into(), "350".into());
        }
        _ => {}
    }
    m
}

fn bad_value(key: &str, value: &str) -> crate::error::AwsError {
    validation(format!(
        "'{value}' is not a valid value for the attribute '{key}'"
    ))
}

fn int_in(key: &str, value: &str, lo: i64, hi: i64) -> AwsResult<()> {
    match value.parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(()),
        _ => Err(validation(format!(
            "The value of '{key}' must be between '{lo}' and '{hi}'; '{value}' is not valid"
        ))),
    }
}

/// Checks one attribute's value (the key is known to exist).
fn check_value(key: &str, value: &str, current: &BTreeMap<String, String>) -> AwsResult<()> {
    let one_of = |allowed: &[&str]| {
        if allowed.contains(&value) {
            Ok(())
        } else {
            Err(bad_value(key, value))
        }
    };
    match key {
        k if k.ends_with(".enabled") && k != "load_balancing.cross_zone.enabled" => {
            one_of(&["true", "false"])
        }
        "load_balancing.cross_zone.enabled" => {
            if current.get(key).map(String::as_str) == Some("use_load_balancer_configuration") {
                one_of(&["true", "false", "use_load_balancer_configuration"])
            } else {
                one_of(&["true", "false"])
            }
        }
        "ipv6.deny_all_igw_traffic" => one_of(&["true", "false"]),
        "idle_timeout.timeout_seconds" => int_in(key, value, 1, 4000),
        "tcp.idle_timeout.seconds" => int_in(key, value, 60, 6000),
        "client_keep_alive.seconds" => int_in(key, value, 60, 604800),
        "deregistration_delay.timeout_seconds" => int_in(key, value, 0, 3600),
        "slow_start.duration_seconds" => {
            if value == "0" {
                Ok(())
            } else {
                int_in(key, value, 30, 900)
            }
        }
        "stickiness.lb_cookie.duration_seconds" | "stickiness.app_cookie.duration_seconds" => {
            int_in(key, value, 1, 604800)
        }
        "target_health_state.unhealthy.draining_interval_seconds" => int_in(key, value, 0, 360000),
        "routing.http.desync_mitigation_mode" => one_of(&["monitor", "defensive", "strictest"]),
        "routing.http.xff_header_processing.mode" => one_of(&["append", "preserve", "remove"]),
        "dns_record.client_routing_policy" => one_of(&[
            "availability_zone_affinity",
            "partial_availability_zone_affinity",
            "any_availability_zone",
        ]),
        "load_balancing.algorithm.type" => one_of(&[
            "round_robin",
            "least_outstanding_requests",
            "weighted_random",
        ]),
        "load_balancing.algorithm.anomaly_mitigation" => one_of(&["on", "off"]),
        "stickiness.type" => match current.get(key).map(String::as_str) {
            Some("lb_cookie" | "app_cookie") => one_of(&["lb_cookie", "app_cookie"]),
            Some("source_ip") => one_of(&["source_ip"]),
            _ => one_of(&["source_ip_dest_ip", "source_ip_dest_ip_proto", "five_tuple"]),
        },
        _ => Ok(()),
    }
}

/// Applies `Attributes` to a copy of `current`, checking every key and value.
fn apply(
    current: &BTreeMap<String, String>,
    input: &Value,
    what: &str,
) -> AwsResult<BTreeMap<String, String>> {
    let list = input.obj_list(m::Attributes);
    if list.is_empty() {
        return Err(validation("Attributes must contain at least one attribute"));
    }
    let mut next = current.clone();
    for a in list {
        let key = a.opt_str(m::Key).unwrap_or_default();
        let value = a.opt_str(m::Value).unwrap_or_default();
        if !current.contains_key(key) {
            return Err(validation(format!(
                "{what} attribute key '{key}' is not recognized"
            )));
        }
        check_value(key, value, current)?;
        next.insert(key.to_string(), value.to_string());
    }
    for log in ["access_logs", "connection_logs", "health_check_logs"] {
        if next.get(&format!("{log}.s3.enabled")).map(String::as_str) == Some("true")
            && next
                .get(&format!("{log}.s3.bucket"))
                .is_none_or(|b| b.is_empty())
        {
            return Err(validation(format!(
                "The value of '{log}.s3.bucket' cannot be empty when '{log}.s3.enabled' is true"
            )));
        }
    }
    Ok(next)
}

fn attrs_json(m: &BTreeMap<String, String>) -> Value {
    Value::Array(
        m.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

/// DescribeLoadBalancerAttributes.
pub fn describe_load_balancer_attributes(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let lb = get_lb(st, input.req_str(m::LoadBalancerArn)?)?;
    Ok(json!({"Attributes": attrs_json(&lb.attributes)}))
}

/// ModifyLoadBalancerAttributes.
pub fn modify_load_balancer_attributes(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::LoadBalancerArn)?;
    let next = apply(&get_lb(st, arn)?.attributes, input, "Load balancer")?;
    let out = attrs_json(&next);
    if let Some(lb) = st.elbv2.load_balancers.get_mut(arn) {
        lb.attributes = next;
    }
    Ok(json!({"Attributes": out}))
}

/// DescribeTargetGroupAttributes.
pub fn describe_target_group_attributes(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let tg = get_tg(st, input.req_str(m::TargetGroupArn)?)?;
    Ok(json!({"Attributes": attrs_json(&tg.attributes)}))
}

/// ModifyTargetGroupAttributes.
pub fn modify_target_group_attributes(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::TargetGroupArn)?;
    let next = apply(&get_tg(st, arn)?.attributes, input, "Target group")?;
    let out = attrs_json(&next);
    if let Some(tg) = st.elbv2.target_groups.get_mut(arn) {
        tg.attributes = next;
    }
    Ok(json!({"Attributes": out}))
}

/// DescribeListenerAttributes.
pub fn describe_listener_attributes(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let l = super::get_listener(st, input.req_str(m::ListenerArn)?)?;
    Ok(json!({"Attributes": attrs_json(&l.attributes)}))
}

/// ModifyListenerAttributes.
pub fn modify_listener_attributes(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::ListenerArn)?;
    let next = apply(&super::get_listener(st, arn)?.attributes, input, "Listener")?;
    let out = attrs_json(&next);
    if let Some(l) = st.elbv2.listeners.get_mut(arn) {
        l.attributes = next;
    }
    Ok(json!({"Attributes": out}))
}

/// The deregistration delay of a target group.
pub fn deregistration_delay(attrs: &BTreeMap<String, String>) -> u64 {
    attrs
        .get("deregistration_delay.timeout_seconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}
