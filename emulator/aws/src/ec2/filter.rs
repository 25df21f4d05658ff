//! `Filter.N.Name`/`Filter.N.Value.M` matching and `MaxResults`/`NextToken` paging, shared by
//! every Describe operation.
//!
//! Semantics follow EC2: values of one filter are OR-ed, filters are AND-ed; `*` and `?` are
//! wildcards (`\` escapes them); `tag:<key>` matches the tag's value, `tag-key` any key,
//! `tag-value` any value. A filter name the resource does not know is an
//! `InvalidParameterValue` ("The filter 'x' is invalid") rather than being ignored.

use super::input::Input;
use crate::error::{AwsError, AwsResult, Code};
use serde_json::Value;
use std::collections::BTreeMap;

/// A parsed filter.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The filter name.
    pub name: String,
    /// Values; any may match.
    pub values: Vec<String>,
}

/// Reads `Filters` from a request.
pub fn filters(input: &Value) -> AwsResult<Vec<Filter>> {
    // Most operations name the member `Filters`; a few (DescribeNatGateways) name it `Filter`.
    let list = match input.obj_list("Filters") {
        [] => input.obj_list("Filter"),
        l => l,
    };
    list.iter()
        .map(|f| {
            let name = f.opt_str("Name").unwrap_or_default().to_string();
            if name.is_empty() {
                return Err(AwsError::missing("Filter.N.Name"));
            }
            Ok(Filter {
                name,
                values: f.str_list("Values"),
            })
        })
        .collect()
}

/// Glob match with `*` and `?`, `\` escaping.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?', '\\']) {
        return pattern == text;
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some(pi);
                    mark = ti;
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == t[ti] => {
                    pi += 2;
                    ti += 1;
                    continue;
                }
                c if c != '\\' && c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some(s) => {
                pi = s + 1;
                mark += 1;
                ti = mark;
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// What a resource offers to filters.
pub trait Filterable {
    /// The values of a named filter field, or `None` if the resource has no such filter.
    fn field(&self, name: &str) -> Option<Vec<String>>;
    /// The resource's tags.
    fn tags(&self) -> Option<&BTreeMap<String, String>> {
        None
    }
}

fn any_match(filter: &Filter, values: &[String]) -> bool {
    filter
        .values
        .iter()
        .any(|pat| values.iter().any(|v| wildcard(pat, v)))
}

/// Whether a resource passes all filters; unknown filter names are an error.
pub fn matches(item: &dyn Filterable, filters: &[Filter]) -> AwsResult<bool> {
    for f in filters {
        let ok = if let Some(key) = f.name.strip_prefix("tag:") {
            item.tags()
                .and_then(|t| t.get(key))
                .is_some_and(|v| any_match(f, std::slice::from_ref(v)))
        } else if f.name == "tag-key" {
            let keys: Vec<String> = item
                .tags()
                .map(|t| t.keys().cloned().collect())
                .unwrap_or_default();
            any_match(f, &keys)
        } else if f.name == "tag-value" {
            let vals: Vec<String> = item
                .tags()
                .map(|t| t.values().cloned().collect())
                .unwrap_or_default();
            any_match(f, &vals)
        } else {
            match item.field(&f.name) {
                Some(vals) => any_match(f, &vals),
                None => {
                    return Err(AwsError::new(
                        Code::InvalidParameterValue,
                        format!("The filter '{}' is invalid", f.name),
                    ))
                }
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Paging limits of an operation.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Smallest accepted `MaxResults`.
    pub min: i64,
    /// Largest accepted `MaxResults`.
    pub max: i64,
    /// Page size when `MaxResults` is not given (`None`: everything).
    pub default: Option<i64>,
}

/// Cuts a page out of `items` (already filtered and in a stable order) by the request's
/// `MaxResults` and `NextToken`. The token is opaque to clients: the hex of the offset.
pub fn page<T>(
    items: Vec<T>,
    input: &Value,
    limits: PageLimits,
) -> AwsResult<(Vec<T>, Option<String>)> {
    let max = match input.opt_i64("MaxResults") {
        Some(m) if m < limits.min || m > limits.max => {
            return Err(AwsError::invalid(format!(
                "Value ( {m} ) for parameter maxResults is invalid. Expecting a value between {} and {}.",
                limits.min, limits.max
            )))
        }
        Some(m) => Some(m as usize),
        None => limits.default.map(|d| d as usize),
    };
    let start = match input.opt_str("NextToken") {
        Some(tok) if !tok.is_empty() => tok
            .strip_prefix("cb1")
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .filter(|s| *s <= items.len())
            .ok_or_else(|| {
                AwsError::new(
                    Code::InvalidPaginationToken,
                    format!("Invalid pagination token: {tok}"),
                )
            })?,
        _ => 0,
    };
    let Some(max) = max else {
        return Ok((items.into_iter().skip(start).collect(), None));
    };
    let end = (start + max).min(items.len());
    let next = (end < items.len()).then(|| format!("cb1{end:x}"));
    Ok((items.into_iter().skip(start).take(max).collect(), next))
}

/// Tags as the `TagList` shape (`[{Key, Value}]`).
pub fn tag_list(tags: Option<&BTreeMap<String, String>>) -> Value {
    Value::Array(
        tags.map(|t| {
            t.iter()
                .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
                .collect()
        })
        .unwrap_or_default(),
    )
}

/// A Describe output `{key: items, "NextToken": next}`, built by moving the items (the `json!`
/// macro would deep-copy them through `to_value`).
pub fn page_output(key: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut map = serde_json::Map::with_capacity(2);
    map.insert(key.to_string(), Value::Array(items));
    if let Some(n) = next {
        map.insert("NextToken".to_string(), Value::String(n));
    }
    Value::Object(map)
}

/// The common body of a Describe operation: the `items` (already narrowed to the requested ids)
/// that pass the request's filters, rendered and paged as `{key: [...], "NextToken": …}`.
pub fn describe<'a, T: 'a, V: Filterable>(
    input: &Value,
    key: &str,
    limits: PageLimits,
    items: impl Iterator<Item = &'a T>,
    view: impl Fn(&'a T) -> V,
    render: impl Fn(&'a T) -> Value,
) -> AwsResult<Value> {
    let filters = filters(input)?;
    let mut out = Vec::new();
    for item in items {
        if matches(&view(item), &filters)? {
            out.push(render(item));
        }
    }
    let (page, next) = page(out, input, limits)?;
    Ok(page_output(key, page, next))
}

/// Whether `id` is requested: every id when the list is empty.
pub fn wanted(ids: &[String], id: &str) -> bool {
    ids.is_empty() || ids.iter().any(|i| i == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("sha*", "shared"));
        assert!(wildcard("*", ""));
        assert!(wildcard("c5.*", "c5.large"));
        assert!(!wildcard("c5.*", "c5a.large"));
        assert!(wildcard("?5.large", "c5.large"));
        assert!(wildcard("a\\*b", "a*b"));
        assert!(!wildcard("a\\*b", "axb"));
        assert!(wildcard(
            "kubernetes.io/cluster/*",
            "kubernetes.io/cluster/demo"
        ));
    }

    #[test]
    fn paging() {
        let lim = PageLimits {
            min: 5,
            max: 1000,
            default: None,
        };
        let items: Vec<u32> = (0..12).collect();
        let input = serde_json::json!({"MaxResults": 5});
        let (p1, t1) = page(items.clone(), &input, lim).expect("page");
        assert_eq!(p1, vec![0, 1, 2, 3, 4]);
        let input = serde_json::json!({"MaxResults": 5, "NextToken": t1.expect("more")});
        let (p2, _) = page(items.clone(), &input, lim).expect("page");
        assert_eq!(p2[0], 5);
        let bad = serde_json::json!({"MaxResults": 4});
        assert!(page(items.clone(), &bad, lim).is_err());
        let bad = serde_json::json!({"NextToken": "zzz"});
        assert!(page(items, &bad, lim).is_err());
    }
}
