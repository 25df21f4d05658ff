//! Classic ELB policies: CreateLoadBalancerPolicy, DeleteLoadBalancerPolicy,
//! DescribeLoadBalancerPolicies, SetLoadBalancerPoliciesOfListener,
//! SetLoadBalancerPoliciesForBackendServer (what cloud-provider-aws uses for the proxy protocol
//! and SSL negotiation annotations).
//!
//! Rules: the policy type must be one of AWS's (`PolicyTypeNotFound`); names are unique per load
//! balancer (`DuplicatePolicyName`); listener policies need a listener on the port
//! (`ListenerNotFound`) and existing policies (`PolicyNotFound`); a policy in use cannot be
//! deleted (`InvalidConfigurationRequest`). Without a load balancer name, Describe lists the
//! predefined `ELBSecurityPolicy-*` names (their cipher attributes are not listed).

use super::{get_lb, get_lb_mut, Policy};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::elb as m;
use crate::region::RegionState;
use serde_json::{json, Value};

/// The policy types of classic ELB.
const POLICY_TYPES: &[&str] = &[
    "ProxyProtocolPolicyType",
    "SSLNegotiationPolicyType",
    "BackendServerAuthenticationPolicyType",
    "PublicKeyPolicyType",
    "AppCookieStickinessPolicyType",
    "LBCookieStickinessPolicyType",
];

/// Predefined SSL negotiation policies.
const PREDEFINED: &[&str] = &[
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
];

fn policy_json(p: &Policy) -> Value {
    json!({
        "PolicyName": p.name,
        "PolicyTypeName": p.type_name,
        "PolicyAttributeDescriptions": p.attributes.iter().map(|(k, v)| json!({"AttributeName": k, "AttributeValue": v})).collect::<Vec<_>>(),
    })
}

fn policy_not_found(lb: &str, name: &str) -> crate::error::AwsError {
    aws_err!(
        ElbPolicyNotFound,
        "There is no policy with name {name} for load balancer {lb}"
    )
}

/// CreateLoadBalancerPolicy.
pub fn create_policy(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let lb_name = input.req_str(m::LoadBalancerName)?;
    let name = input.req_str(m::PolicyName)?;
    let type_name = input.req_str(m::PolicyTypeName)?;
    let lb = get_lb(st, lb_name)?;
    if !POLICY_TYPES.contains(&type_name) {
        return Err(aws_err!(
            ElbPolicyTypeNotFound,
            "There is no policy type with name {type_name}"
        ));
    }
    if lb.policies.iter().any(|p| p.name == name) {
        return Err(aws_err!(
            ElbDuplicatePolicyName,
            "Policy with name {name} already exists for load balancer {lb_name}"
        ));
    }
    let attributes = input
        .obj_list(m::PolicyAttributes)
        .iter()
        .map(|a| {
            (
                a.opt_str(m::AttributeName).unwrap_or("").to_string(),
                a.opt_str(m::AttributeValue).unwrap_or("").to_string(),
            )
        })
        .collect();
    get_lb_mut(st, lb_name)?.policies.push(Policy {
        name: name.to_string(),
        type_name: type_name.to_string(),
        attributes,
    });
    Ok(json!({}))
}

/// DeleteLoadBalancerPolicy.
pub fn delete_policy(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let lb_name = input.req_str(m::LoadBalancerName)?;
    let name = input.req_str(m::PolicyName)?;
    let lb = get_lb(st, lb_name)?;
    let in_use = lb
        .listeners
        .values()
        .any(|l| l.policies.iter().any(|p| p == name))
        || lb
            .backend_policies
            .values()
            .any(|ps| ps.iter().any(|p| p == name));
    if in_use {
        return Err(aws_err!(
            ElbInvalidConfigurationRequest,
            "Cannot delete policy {name}: it is in use by load balancer {lb_name}"
        ));
    }
    get_lb_mut(st, lb_name)?.policies.retain(|p| p.name != name);
    Ok(json!({}))
}

/// DescribeLoadBalancerPolicies.
pub fn describe_policies(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let names = input.str_list(m::PolicyNames);
    let Some(lb_name) = input.opt_str(m::LoadBalancerName) else {
        let mut out = Vec::new();
        for n in &names {
            if !PREDEFINED.contains(&n.as_str()) {
                return Err(aws_err!(
                    ElbPolicyNotFound,
                    "There is no predefined policy with name {n}"
                ));
            }
        }
        for p in PREDEFINED {
            if names.is_empty() || names.iter().any(|n| n == p) {
                out.push(json!({"PolicyName": p, "PolicyTypeName": "SSLNegotiationPolicyType", "PolicyAttributeDescriptions": []}));
            }
        }
        return Ok(json!({ "PolicyDescriptions": out }));
    };
    let lb = get_lb(st, lb_name)?;
    for n in &names {
        if !lb.policies.iter().any(|p| &p.name == n) {
            return Err(policy_not_found(lb_name, n));
        }
    }
    let out: Vec<Value> = lb
        .policies
        .iter()
        .filter(|p| names.is_empty() || names.contains(&p.name))
        .map(policy_json)
        .collect();
    Ok(json!({ "PolicyDescriptions": out }))
}

fn check_policies(st: &RegionState, lb_name: &str, names: &[String]) -> AwsResult<()> {
    let lb = get_lb(st, lb_name)?;
    for n in names {
        if !lb.policies.iter().any(|p| &p.name == n) {
            return Err(policy_not_found(lb_name, n));
        }
    }
    Ok(())
}

/// SetLoadBalancerPoliciesOfListener: replaces the listener's policies.
pub fn set_listener_policies(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let lb_name = input.req_str(m::LoadBalancerName)?;
    let port = input
        .opt_i64(m::LoadBalancerPort)
        .ok_or_else(|| crate::error::AwsError::missing("LoadBalancerPort"))?;
    let names = input.str_list(m::PolicyNames);
    if !get_lb(st, lb_name)?.listeners.contains_key(&port) {
        return Err(aws_err!(
            ElbListenerNotFound,
            "There is no listener on load balancer {lb_name} with LoadBalancerPort {port}"
        ));
    }
    check_policies(st, lb_name, &names)?;
    if let Some(l) = get_lb_mut(st, lb_name)?.listeners.get_mut(&port) {
        l.policies = names;
    }
    Ok(json!({}))
}

/// SetLoadBalancerPoliciesForBackendServer: replaces the policies of an instance port (an
/// empty list removes them).
pub fn set_backend_policies(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let lb_name = input.req_str(m::LoadBalancerName)?;
    let port = input
        .opt_i64(m::InstancePort)
        .ok_or_else(|| crate::error::AwsError::missing("InstancePort"))?;
    let names = input.str_list(m::PolicyNames);
    check_policies(st, lb_name, &names)?;
    let lb = get_lb_mut(st, lb_name)?;
    if names.is_empty() {
        lb.backend_policies.remove(&port);
    } else {
        lb.backend_policies.insert(port, names);
    }
    Ok(json!({}))
}
