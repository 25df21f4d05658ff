//! Typed reads from a parsed request (a JSON object keyed by model member names). The protocol
//! layer has already checked types and required members against the model; these helpers turn
//! what remains (value ranges, formats) into `InvalidParameterValue`/`MissingParameter`.

use crate::error::{AwsError, AwsResult};
use serde_json::Value;
use std::collections::BTreeMap;

/// Accessors over a request object.
pub trait Input {
    /// A string member.
    fn opt_str(&self, k: &str) -> Option<&str>;
    /// A required string member.
    fn req_str(&self, k: &str) -> AwsResult<&str> {
        self.opt_str(k).ok_or_else(|| AwsError::missing(k))
    }
    /// An integer member.
    fn opt_i64(&self, k: &str) -> Option<i64>;
    /// A boolean member.
    fn opt_bool(&self, k: &str) -> Option<bool>;
    /// A list of strings.
    fn str_list(&self, k: &str) -> Vec<String>;
    /// A list of objects.
    fn obj_list(&self, k: &str) -> &[Value];
    /// A nested object.
    fn obj(&self, k: &str) -> Option<&Value>;
}

impl Input for Value {
    fn opt_str(&self, k: &str) -> Option<&str> {
        self.get(k).and_then(Value::as_str)
    }
    fn opt_i64(&self, k: &str) -> Option<i64> {
        self.get(k).and_then(Value::as_i64)
    }
    fn opt_bool(&self, k: &str) -> Option<bool> {
        self.get(k).and_then(Value::as_bool)
    }
    fn str_list(&self, k: &str) -> Vec<String> {
        self.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
    fn obj_list(&self, k: &str) -> &[Value] {
        self.get(k)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
    fn obj(&self, k: &str) -> Option<&Value> {
        self.get(k).filter(|v| v.is_object())
    }
}

/// Tags requested for one resource type through `TagSpecifications`.
pub fn tag_specs(input: &Value, resource_type: &str) -> AwsResult<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    for spec in input.obj_list("TagSpecifications") {
        let rt = spec.opt_str("ResourceType").unwrap_or_default();
        if rt.is_empty() {
            return Err(AwsError::missing("TagSpecification.N.ResourceType"));
        }
        if rt != resource_type {
            continue;
        }
        for t in spec.obj_list("Tags") {
            let key = t.opt_str("Key").unwrap_or_default();
            validate_tag(key, t.opt_str("Value").unwrap_or_default())?;
            tags.insert(
                key.to_string(),
                t.opt_str("Value").unwrap_or_default().to_string(),
            );
        }
    }
    if tags.len() > 50 {
        return Err(AwsError::new(
            crate::error::Code::TagLimitExceeded,
            "The maximum number of Tags for a resource has been reached.",
        ));
    }
    Ok(tags)
}

/// Checks a tag's key and value against EC2's rules.
pub fn validate_tag(key: &str, value: &str) -> AwsResult<()> {
    if key.is_empty() {
        return Err(AwsError::invalid("Tag key must not be empty"));
    }
    if key.chars().count() > 128 {
        return Err(AwsError::invalid(format!(
            "Tag key exceeds the maximum length of 128 characters: {key}"
        )));
    }
    if value.chars().count() > 256 {
        return Err(AwsError::invalid(format!(
            "Tag value exceeds the maximum length of 256 characters for key {key}"
        )));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(AwsError::invalid(format!(
            "Tag keys starting with 'aws:' are reserved for internal use: {key}"
        )));
    }
    Ok(())
}

/// Resource types a `TagSpecification` may name for an operation; any other is refused as AWS
/// does ("'x' is not a valid taggable resource type for this operation.").
pub fn check_tag_spec_types(input: &Value, allowed: &[&str]) -> AwsResult<()> {
    for spec in input.obj_list("TagSpecifications") {
        let rt = spec.opt_str("ResourceType").unwrap_or_default();
        if !allowed.contains(&rt) {
            return Err(AwsError::invalid(format!(
                "'{rt}' is not a valid taggable resource type for this operation."
            )));
        }
    }
    Ok(())
}
