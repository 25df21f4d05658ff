//! Classic ELB tags: AddTags, RemoveTags, DescribeTags (and the tag checks CreateLoadBalancer
//! shares).
//!
//! At most 50 tags per load balancer (`TooManyTags`); a key given twice in one request is
//! `DuplicateTagKeys`; keys are 1-128 characters and may not start with `aws:`, values at most
//! 256 (`ValidationError`). AddTags overwrites existing keys; RemoveTags of an absent key
//! succeeds; DescribeTags takes 1-20 names, each of which must exist.

use super::{get_lb, get_lb_mut};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::elb as m;
use crate::region::RegionState;
use serde_json::{json, Value};

/// Tags a classic load balancer may carry.
pub const MAX_TAGS: usize = 50;

/// Reads and checks `Tags` (key, value) in request order.
pub fn parse_tags(items: &[Value]) -> AwsResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in items {
        let k = t.req_str(m::Key)?;
        let v = t.opt_str(m::Value).unwrap_or("");
        if k.is_empty() || k.chars().count() > 128 || k.starts_with("aws:") {
            return Err(aws_err!(
                ValidationError,
                "Tag key '{k}' is not valid: keys have 1 to 128 characters and may not start with 'aws:'"
            ));
        }
        if v.chars().count() > 256 {
            return Err(aws_err!(
                ValidationError,
                "Tag value of key '{k}' is longer than 256 characters"
            ));
        }
        if out.iter().any(|(x, _)| x == k) {
            return Err(aws_err!(
                ElbDuplicateTagKeys,
                "Tag key was specified more than once: {k}"
            ));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// `TooManyTags` when a load balancer would carry more than [`MAX_TAGS`].
pub fn check_count(name: &str, n: usize) -> AwsResult<()> {
    if n > MAX_TAGS {
        return Err(aws_err!(
            ElbTooManyTags,
            "Tag limit of {MAX_TAGS} exceeded for load balancer {name}"
        ));
    }
    Ok(())
}

/// AddTags.
pub fn add_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let names = input.str_list(m::LoadBalancerNames);
    let tags = parse_tags(input.obj_list(m::Tags))?;
    for n in &names {
        let lb = get_lb(st, n)?;
        let mut keys: Vec<&String> = lb.tags.keys().collect();
        keys.extend(tags.iter().map(|(k, _)| k));
        keys.sort();
        keys.dedup();
        check_count(n, keys.len())?;
    }
    for n in &names {
        let lb = get_lb_mut(st, n)?;
        lb.tags.extend(tags.iter().cloned());
    }
    Ok(json!({}))
}

/// RemoveTags.
pub fn remove_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let names = input.str_list(m::LoadBalancerNames);
    let keys: Vec<String> = input
        .obj_list(m::Tags)
        .iter()
        .filter_map(|t| t.opt_str(m::Key).map(str::to_string))
        .collect();
    for n in &names {
        get_lb(st, n)?;
    }
    for n in &names {
        let lb = get_lb_mut(st, n)?;
        for k in &keys {
            lb.tags.remove(k);
        }
    }
    Ok(json!({}))
}

/// DescribeTags.
pub fn describe_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let names = input.str_list(m::LoadBalancerNames);
    if names.is_empty() || names.len() > 20 {
        return Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value at 'loadBalancerNames' failed to satisfy constraint: Member must have length between 1 and 20"
        ));
    }
    let mut out = Vec::new();
    for n in &names {
        let lb = get_lb(st, n)?;
        out.push(json!({
            "LoadBalancerName": lb.name,
            "Tags": lb.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
        }));
    }
    Ok(json!({ "TagDescriptions": out }))
}
