//! Tags of load balancers, target groups, listeners and rules: AddTags, RemoveTags,
//! DescribeTags, and the `Tags` of every Create.
//!
//! Rules as AWS has them: at most 50 tags per resource (`TooManyTags`), a key given twice in one
//! request is `DuplicateTagKeys`, keys are 1–128 characters and values at most 256, the `aws:`
//! prefix is reserved (`ValidationError`); AddTags and RemoveTags take one resource per request
//! ("Only one resource can be tagged at a time"), DescribeTags at most 20. Tags of a deleted
//! resource go with it.

use super::{get_lb, get_listener, get_rule, get_tg, validation};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::ec2::state::Tags;
use crate::error::AwsResult;
use crate::members::elbv2 as m;
use crate::region::RegionState;
use serde_json::{json, Value};

/// The most tags a resource may carry.
pub const MAX_TAGS: usize = 50;

/// Reads and checks a `Tags` list (of a Create or AddTags).
pub fn read_tags(input: &Value) -> AwsResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in input.obj_list(m::Tags) {
        let key = t.opt_str(m::Key).unwrap_or_default();
        let value = t.opt_str(m::Value).unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 {
            return Err(validation(format!(
                "1 validation error detected: Value '{key}' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128"
            )));
        }
        if value.chars().count() > 256 {
            return Err(validation(format!(
                "1 validation error detected: Value at 'tags.member.value' of tag '{key}' failed to satisfy constraint: Member must have length less than or equal to 256"
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(validation(format!(
                "Tag key '{key}' is not valid: keys starting with 'aws:' are reserved for internal use"
            )));
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(aws_err!(
                DuplicateTagKeys,
                "Tag key '{key}' is specified more than once"
            ));
        }
        out.push((key.to_string(), value.to_string()));
    }
    if out.len() > MAX_TAGS {
        return Err(too_many("resource"));
    }
    Ok(out)
}

fn too_many(what: &str) -> crate::error::AwsError {
    aws_err!(
        TooManyTags,
        "The quota for the number of tags that can be assigned to a {what} has been reached"
    )
}

/// What kind of resource an ARN names, checking it exists (the kind's own not-found code).
fn resource_kind(st: &RegionState, arn: &str) -> AwsResult<&'static str> {
    let kind = arn
        .splitn(6, ':')
        .nth(5)
        .and_then(|r| r.split('/').next())
        .unwrap_or_default();
    Ok(match kind {
        "loadbalancer" => {
            get_lb(st, arn)?;
            "load balancer"
        }
        "targetgroup" => {
            get_tg(st, arn)?;
            "target group"
        }
        "listener" => {
            get_listener(st, arn)?;
            "listener"
        }
        "listener-rule" => {
            get_rule(st, arn)?;
            "listener rule"
        }
        _ => return Err(validation(format!("'{arn}' is not a valid resource ARN"))),
    })
}

fn resource_arns(input: &Value) -> AwsResult<Vec<String>> {
    let arns = input.str_list(m::ResourceArns);
    if arns.len() > 20 {
        return Err(validation(
            "1 validation error detected: Value at 'resourceArns' failed to satisfy constraint: Member must have length less than or equal to 20",
        ));
    }
    Ok(arns)
}

/// Sets the tags of a new resource (already checked by [`read_tags`]).
pub fn set_tags(st: &mut RegionState, arn: &str, tags: Vec<(String, String)>) {
    if !tags.is_empty() {
        st.elbv2
            .tags
            .entry(arn.to_string())
            .or_default()
            .extend(tags);
    }
}

/// The tags of a resource as the `TagList` shape.
pub fn tag_list(st: &RegionState, arn: &str) -> Value {
    Value::Array(
        st.elbv2
            .tags
            .get(arn)
            .map(|t| {
                t.iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// AddTags (one resource per request, as AWS enforces despite the list in the model).
pub fn add_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arns = resource_arns(input)?;
    if arns.len() > 1 {
        return Err(validation("Only one resource can be tagged at a time"));
    }
    let tags = read_tags(input)?;
    for arn in &arns {
        let what = resource_kind(st, arn)?;
        let current: Option<&Tags> = st.elbv2.tags.get(arn);
        let new_keys = tags
            .iter()
            .filter(|(k, _)| !current.is_some_and(|c| c.contains_key(k)))
            .count();
        if current.map_or(0, |c| c.len()) + new_keys > MAX_TAGS {
            return Err(too_many(what));
        }
    }
    for arn in arns {
        set_tags(st, &arn, tags.clone());
    }
    Ok(json!({}))
}

/// RemoveTags (one resource per request; keys not present are ignored).
pub fn remove_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arns = resource_arns(input)?;
    if arns.len() > 1 {
        return Err(validation("Only one resource can be untagged at a time"));
    }
    for arn in &arns {
        resource_kind(st, arn)?;
    }
    let keys = input.str_list(m::TagKeys);
    for arn in arns {
        if let Some(t) = st.elbv2.tags.get_mut(&arn) {
            for k in &keys {
                t.remove(k);
            }
        }
    }
    Ok(json!({}))
}

/// DescribeTags.
pub fn describe_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arns = resource_arns(input)?;
    let mut out = Vec::new();
    for arn in &arns {
        resource_kind(st, arn)?;
        out.push(json!({"ResourceArn": arn, "Tags": tag_list(st, arn)}));
    }
    Ok(json!({"TagDescriptions": out}))
}
