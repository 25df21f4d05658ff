//! Group tags: CreateOrUpdateTags, DeleteTags, DescribeTags, and the `Tags` of
//! CreateAutoScalingGroup.
//!
//! A tag belongs to a group (`ResourceType` `auto-scaling-group`, `ResourceId` the group's
//! name) and may propagate at launch: the reconciler copies propagating tags onto every
//! instance it launches (with `aws:autoscaling:groupName`). Rules: keys 1–128 characters, not
//! starting with `aws:`, values up to 256 (`ValidationError`); at most 50 tags per group
//! (`LimitExceeded`); an unknown group is a `ValidationError`. DescribeTags filters:
//! `auto-scaling-group`, `key`, `value`, `propagate-at-launch` (exact values, OR within a
//! filter, AND across filters). Changing a tag does not retag running instances (as AWS).

use super::paging::{self, Limits};
use super::{group_not_found, GroupTag};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::autoscaling as m;
use crate::region::RegionState;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The most tags a group may have.
pub const MAX_TAGS: usize = 50;

/// A tag as the `TagDescription` shape.
pub fn tag_json(group: &str, key: &str, t: &GroupTag) -> Value {
    json!({
        "ResourceId": group,
        "ResourceType": "auto-scaling-group",
        "Key": key,
        "Value": t.value,
        "PropagateAtLaunch": t.propagate,
    })
}

fn check_one(t: &Value) -> AwsResult<(String, GroupTag)> {
    let key = t.opt_str(m::Key).unwrap_or_default();
    if key.is_empty() || key.chars().count() > 128 {
        return Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value '{key}' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128"
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(aws_err!(
            ValidationError,
            "Tag keys starting with 'aws:' are reserved for internal use: {key}"
        ));
    }
    let value = t.opt_str(m::Value).unwrap_or_default();
    if value.chars().count() > 256 {
        return Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"
        ));
    }
    if let Some(rt) = t.opt_str(m::ResourceType) {
        if rt != "auto-scaling-group" {
            return Err(aws_err!(
                ValidationError,
                "Invalid resource type: {rt}. Only 'auto-scaling-group' is supported."
            ));
        }
    }
    Ok((
        key.to_string(),
        GroupTag {
            value: value.to_string(),
            propagate: t.opt_bool(m::PropagateAtLaunch).unwrap_or(false),
        },
    ))
}

/// Checks tags for group `name` and returns `existing` with them merged in.
pub fn check_tags(
    name: &str,
    tags: &[Value],
    existing: &BTreeMap<String, GroupTag>,
) -> AwsResult<BTreeMap<String, GroupTag>> {
    let mut merged = existing.clone();
    for t in tags {
        if let Some(rid) = t.opt_str(m::ResourceId) {
            if rid != name {
                return Err(group_not_found(rid));
            }
        }
        let (k, v) = check_one(t)?;
        merged.insert(k, v);
    }
    if merged.len() > MAX_TAGS {
        return Err(aws_err!(
            AsgLimitExceeded,
            "The quota for tags per Auto Scaling group ({MAX_TAGS}) has been exceeded."
        ));
    }
    Ok(merged)
}

/// The tags of a request grouped by `ResourceId`, each group checked to exist.
fn by_group<'a>(st: &RegionState, input: &'a Value) -> AwsResult<BTreeMap<String, Vec<&'a Value>>> {
    let mut out: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for t in input.obj_list(m::Tags) {
        let rid = t.opt_str(m::ResourceId).unwrap_or_default();
        if !st.autoscaling.groups.contains_key(rid) {
            return Err(group_not_found(rid));
        }
        out.entry(rid.to_string()).or_default().push(t);
    }
    Ok(out)
}

/// CreateOrUpdateTags.
pub fn create_or_update_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let mut updates = Vec::new();
    for (name, tags) in by_group(st, input)? {
        let existing = &st.autoscaling.groups[&name].tags;
        let list: Vec<Value> = tags.into_iter().cloned().collect();
        updates.push((name.clone(), check_tags(&name, &list, existing)?));
    }
    for (name, tags) in updates {
        if let Some(g) = st.autoscaling.groups.get_mut(&name) {
            g.tags = tags;
        }
    }
    Ok(json!({}))
}

/// DeleteTags (by key; absent keys are ignored).
pub fn delete_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let groups = by_group(st, input)?;
    for tags in groups.values() {
        for t in tags {
            check_one(t)?;
        }
    }
    for (name, tags) in groups {
        if let Some(g) = st.autoscaling.groups.get_mut(&name) {
            for t in tags {
                g.tags.remove(t.opt_str(m::Key).unwrap_or_default());
            }
        }
    }
    Ok(json!({}))
}

/// DescribeTags.
pub fn describe_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let pg = paging::check(
        input,
        Limits {
            max: 100,
            default: 50,
        },
    )?;
    let known = |n: &str| {
        matches!(
            n,
            "auto-scaling-group" | "key" | "value" | "propagate-at-launch"
        )
    };
    let filters = paging::filters(
        input,
        &known,
        "auto-scaling-group key value propagate-at-launch",
    )?;
    let mut out = Vec::new();
    for g in st.autoscaling.groups.values() {
        for (k, t) in &g.tags {
            let ok = filters.iter().all(|f| {
                let field = match f.name.as_str() {
                    "auto-scaling-group" => g.name.clone(),
                    "key" => k.clone(),
                    "value" => t.value.clone(),
                    _ => t.propagate.to_string(),
                };
                f.values.contains(&field)
            });
            if ok {
                out.push(tag_json(&g.name, k, t));
            }
        }
    }
    let (page, next) = paging::page(out, pg);
    Ok(paging::output("Tags", page, next))
}
