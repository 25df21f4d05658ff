//! `MaxRecords`/`NextToken` paging of the Auto Scaling Describe operations, and the
//! `Filters` they take.
//!
//! AWS's bounds: `MaxRecords` 1–100 (DescribeAutoScalingInstances 1–50), default 50
//! (DescribeScalingActivities 100). A `MaxRecords` out of range is a `ValidationError` in
//! AWS's constraint wording; a token not issued by us is `InvalidNextToken`. Tokens are opaque:
//! an offset into the (stable) ordering of the listing.

use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::autoscaling as m;
use serde_json::Value;

/// Page size bounds of one operation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted `MaxRecords`.
    pub max: i64,
    /// Page size without `MaxRecords`.
    pub default: i64,
}

/// Checks `MaxRecords` and `NextToken` before anything is listed.
pub fn check(input: &Value, limits: Limits) -> AwsResult<(usize, usize)> {
    let size = match input.opt_i64(m::MaxRecords) {
        Some(m) if m < 1 => {
            return Err(aws_err!(
                ValidationError,
                "1 validation error detected: Value '{m}' at 'maxRecords' failed to satisfy constraint: Member must have value greater than or equal to 1"
            ))
        }
        Some(m) if m > limits.max => {
            return Err(aws_err!(
                ValidationError,
                "1 validation error detected: Value '{m}' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to {}",
                limits.max
            ))
        }
        Some(m) => m as usize,
        None => limits.default as usize,
    };
    let start = match input.opt_str(m::NextToken) {
        Some(tok) if !tok.is_empty() => tok
            .strip_prefix("cbasg1")
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| aws_err!(InvalidNextToken, "The token '{tok}' is invalid."))?,
        _ => 0,
    };
    Ok((start, size))
}

/// Cuts the page; the token of the next page if there is one.
pub fn page<T>(items: Vec<T>, (start, size): (usize, usize)) -> (Vec<T>, Option<String>) {
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| format!("cbasg1{end:x}"));
    (items.into_iter().skip(start).take(size).collect(), next)
}

/// Builds `{key: items, NextToken}`.
pub fn output(key: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(key.to_string(), Value::Array(items));
    if let Some(n) = next {
        map.insert("NextToken".to_string(), Value::String(n));
    }
    Value::Object(map)
}

/// One `Filters` entry.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Its name.
    pub name: String,
    /// Values; any may match (exactly).
    pub values: Vec<String>,
}

/// Reads `Filters`, checking each name with `known`; an unknown name is a `ValidationError`
/// listing the allowed ones.
pub fn filters(
    input: &Value,
    known: &dyn Fn(&str) -> bool,
    allowed: &str,
) -> AwsResult<Vec<Filter>> {
    let mut out = Vec::new();
    for f in input.obj_list(m::Filters) {
        let name = f.opt_str(m::Name).unwrap_or_default();
        if !known(name) {
            return Err(aws_err!(
                ValidationError,
                "Filter type {name} is not correct. Allowed Filter types are: {allowed}"
            ));
        }
        out.push(Filter {
            name: name.to_string(),
            values: f.str_list(m::Values),
        });
    }
    Ok(out)
}
