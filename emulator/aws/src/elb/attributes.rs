//! Classic ELB attributes: DescribeLoadBalancerAttributes, ModifyLoadBalancerAttributes.
//!
//! Defaults are AWS's for a load balancer created through the API: cross-zone off, access log
//! off (interval 60), connection draining off (timeout 300), idle timeout 60,
//! `elb.http.desyncmitigationmode` = `defensive`. Ranges: idle timeout 1-3600, draining timeout
//! 1-3600, access-log interval 5 or 60, a bucket when the access log is enabled
//! (`ValidationError`); an unknown additional attribute is `LoadBalancerAttributeNotFound`.
//! The bucket itself is not checked.

use super::{get_lb, get_lb_mut, Attributes};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::elb as m;
use crate::region::RegionState;
use serde_json::{json, Value};

const DESYNC: &str = "elb.http.desyncmitigationmode";

/// Attributes as the `LoadBalancerAttributes` shape.
pub fn attributes_json(a: &Attributes) -> Value {
    let mut log = json!({"Enabled": a.access_log});
    if a.access_log {
        log["EmitInterval"] = json!(a.access_log_interval);
        if let Some(b) = &a.access_log_bucket {
            log["S3BucketName"] = json!(b);
        }
        if let Some(p) = &a.access_log_prefix {
            log["S3BucketPrefix"] = json!(p);
        }
    }
    json!({
        "CrossZoneLoadBalancing": {"Enabled": a.cross_zone},
        "AccessLog": log,
        "ConnectionDraining": {"Enabled": a.draining, "Timeout": a.draining_timeout},
        "ConnectionSettings": {"IdleTimeout": a.idle_timeout},
        "AdditionalAttributes": a.additional.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
    })
}

/// DescribeLoadBalancerAttributes.
pub fn describe_attributes(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let lb = get_lb(st, input.req_str(m::LoadBalancerName)?)?;
    Ok(json!({ "LoadBalancerAttributes": attributes_json(&lb.attributes) }))
}

fn range(what: &str, v: i64, lo: i64, hi: i64) -> AwsResult<i64> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(aws_err!(
            ValidationError,
            "{what} must be between {lo} and {hi}, not {v}"
        ))
    }
}

/// The attributes after applying a request's changes to `a` (checked).
fn apply(mut a: Attributes, req: &Value) -> AwsResult<Attributes> {
    if let Some(c) = req.obj(m::CrossZoneLoadBalancing) {
        a.cross_zone = c.opt_bool(m::Enabled).unwrap_or(a.cross_zone);
    }
    if let Some(l) = req.obj(m::AccessLog) {
        a.access_log = l.opt_bool(m::Enabled).unwrap_or(a.access_log);
        if let Some(i) = l.opt_i64(m::EmitInterval) {
            if i != 5 && i != 60 {
                return Err(aws_err!(
                    ValidationError,
                    "The access log EmitInterval must be 5 or 60 minutes, not {i}"
                ));
            }
            a.access_log_interval = i;
        }
        if let Some(b) = l.opt_str(m::S3BucketName) {
            a.access_log_bucket = Some(b.to_string());
        }
        if let Some(p) = l.opt_str(m::S3BucketPrefix) {
            a.access_log_prefix = Some(p.to_string());
        }
        if a.access_log && a.access_log_bucket.as_deref().is_none_or(str::is_empty) {
            return Err(aws_err!(
                ValidationError,
                "S3BucketName is required when the access log is enabled"
            ));
        }
    }
    if let Some(d) = req.obj(m::ConnectionDraining) {
        a.draining = d.opt_bool(m::Enabled).unwrap_or(a.draining);
        if let Some(t) = d.opt_i64(m::Timeout) {
            a.draining_timeout = range("ConnectionDraining Timeout", t, 1, 3600)?;
        }
    }
    if let Some(c) = req.obj(m::ConnectionSettings) {
        if let Some(t) = c.opt_i64(m::IdleTimeout) {
            a.idle_timeout = range("ConnectionSettings IdleTimeout", t, 1, 3600)?;
        }
    }
    for kv in req.obj_list(m::AdditionalAttributes) {
        let (k, v) = (
            kv.opt_str(m::Key).unwrap_or(""),
            kv.opt_str(m::Value).unwrap_or(""),
        );
        if k != DESYNC {
            return Err(aws_err!(
                ElbLoadBalancerAttributeNotFound,
                "The specified load balancer attribute does not exist: {k}"
            ));
        }
        if !["monitor", "defensive", "strictest"].contains(&v) {
            return Err(aws_err!(
                ValidationError,
                "Value '{v}' of {DESYNC} is not valid: use monitor, defensive or strictest"
            ));
        }
        a.additional.insert(k.to_string(), v.to_string());
    }
    Ok(a)
}

/// ModifyLoadBalancerAttributes: answers every attribute after the change.
pub fn modify_attributes(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    let lb = get_lb(st, name)?;
    let req = input
        .obj(m::LoadBalancerAttributes)
        .ok_or_else(|| crate::error::AwsError::missing("LoadBalancerAttributes"))?;
    let next = apply(lb.attributes.clone(), req)?;
    let lb = get_lb_mut(st, name)?;
    lb.attributes = next;
    Ok(json!({"LoadBalancerName": name, "LoadBalancerAttributes": attributes_json(&lb.attributes)}))
}
