//! Form-encoded request parameters (`Filter.1.Value.1=…`) as a tree, and the shape-driven parse of
//! that tree into a JSON value keyed by model member names (`{"Filters":[{"Name":…,"Values":[…]}]}`).
//!
//! The EC2 and Query protocols differ only in how a member's wire name is found and how list
//! elements are numbered; [`WireNames`] captures that difference.

use super::model::{Member, ServiceModel, ShapeId, ShapeKind};
use crate::error::{AwsError, AwsResult, Code};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One node of the dotted-key tree.
#[derive(Debug, Default)]
pub struct ParamNode {
    /// The value at exactly this key, if one was sent.
    pub value: Option<String>,
    /// Children by the next key segment.
    pub children: BTreeMap<String, ParamNode>,
}

impl ParamNode {
    /// Builds the tree from decoded `(key, value)` pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> ParamNode {
        let mut root = ParamNode::default();
        for (k, v) in pairs {
            let mut node = &mut root;
            for seg in k.split('.') {
                node = node.children.entry(seg.to_string()).or_default();
            }
            node.value = Some(v.to_string());
        }
        root
    }
}

/// How a protocol names members and list elements on the wire.
#[derive(Debug, Clone, Copy)]
pub enum WireNames {
    /// EC2: `queryName`, else capitalised `locationName`, else the member name; lists `Name.N`.
    Ec2,
    /// Query: `locationName`, else the member name; lists `Name.member.N` unless flattened.
    Query,
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

impl WireNames {
    /// The wire name of a structure member.
    pub fn member_name(self, m: &Member) -> String {
        match self {
            WireNames::Ec2 => {
                if let Some(q) = &m.query_name {
                    q.clone()
                } else if let Some(l) = &m.location_name {
                    capitalize(l)
                } else {
                    m.name.clone()
                }
            }
            WireNames::Query => m.location_name.clone().unwrap_or_else(|| m.name.clone()),
        }
    }
}

/// Parses the tree into a JSON object following the input structure `shape`.
pub fn parse_input(
    model: &ServiceModel,
    names: WireNames,
    shape: ShapeId,
    root: &ParamNode,
    skip: &[&str],
) -> AwsResult<Value> {
    parse_structure(model, names, shape, root, "", skip).map(Value::Object)
}

fn parse_structure(
    model: &ServiceModel,
    names: WireNames,
    shape: ShapeId,
    node: &ParamNode,
    path: &str,
    skip: &[&str],
) -> AwsResult<Map<String, Value>> {
    let ShapeKind::Structure { members, required } = &model.shape(shape).kind else {
        return Err(AwsError::invalid(format!("{path} is not a structure")));
    };
    let mut out = Map::new();
    let mut used = 0usize;
    for m in members {
        let wire = names.member_name(m);
        if let Some(child) = node.children.get(&wire) {
            used += 1;
            let p = if path.is_empty() {
                wire.clone()
            } else {
                format!("{path}.{wire}")
            };
            let v = parse_value(model, names, m.shape, m.flattened, child, &p)?;
            out.insert(m.name.clone(), v);
        }
    }
    if used != node.children.len() {
        for key in node.children.keys() {
            if skip.contains(&key.as_str()) {
                continue;
            }
            let known = members.iter().any(|m| &names.member_name(m) == key);
            if !known {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                return Err(AwsError::new(
                    Code::UnknownParameter,
                    format!("The parameter {p} is not recognized"),
                ));
            }
        }
    }
    for r in required {
        if !out.contains_key(r) {
            let wire = members
                .iter()
                .find(|m| &m.name == r)
                .map(|m| names.member_name(m))
                .unwrap_or_else(|| r.clone());
            let p = if path.is_empty() {
                wire
            } else {
                format!("{path}.{wire}")
            };
            return Err(AwsError::missing(&p));
        }
    }
    Ok(out)
}

fn scalar<'a>(node: &'a ParamNode, path: &str) -> AwsResult<&'a str> {
    node.value
        .as_deref()
        .ok_or_else(|| AwsError::invalid(format!("Invalid value for parameter {path}")))
}

fn parse_value(
    model: &ServiceModel,
    names: WireNames,
    shape: ShapeId,
    flattened: bool,
    node: &ParamNode,
    path: &str,
) -> AwsResult<Value> {
    let s = model.shape(shape);
    match &s.kind {
        ShapeKind::Structure { .. } => {
            parse_structure(model, names, shape, node, path, &[]).map(Value::Object)
        }
        ShapeKind::List {
            member,
            flattened: list_flat,
        } => {
            let items = match names {
                WireNames::Query if !(flattened || *list_flat) => node.children.get("member"),
                _ => Some(node),
            };
            let mut indexed: Vec<(u32, &ParamNode)> = Vec::new();
            if let Some(items) = items {
                for (k, child) in &items.children {
                    let i: u32 = k.parse().map_err(|_| {
                        AwsError::new(
                            Code::UnknownParameter,
                            format!("The parameter {path}.{k} is not recognized"),
                        )
                    })?;
                    if i == 0 {
                        return Err(AwsError::invalid(format!(
                            "Invalid list index for parameter {path}: 0"
                        )));
                    }
                    indexed.push((i, child));
                }
            }
            indexed.sort_by_key(|(i, _)| *i);
            let mut out = Vec::with_capacity(indexed.len());
            for (i, child) in indexed {
                out.push(parse_value(
                    model,
                    names,
                    member.shape,
                    false,
                    child,
                    &format!("{path}.{i}"),
                )?);
            }
            Ok(Value::Array(out))
        }
        ShapeKind::Map { key, value } => {
            let entries = node.children.get("entry").unwrap_or(node);
            let mut out = Map::new();
            for (i, e) in &entries.children {
                let p = format!("{path}.{i}");
                let k = e
                    .children
                    .get("key")
                    .map(|n| scalar(n, &p))
                    .transpose()?
                    .unwrap_or_default();
                let v = match e.children.get("value") {
                    Some(n) => parse_value(model, names, *value, false, n, &p)?,
                    None => Value::Null,
                };
                let _ = key;
                out.insert(k.to_string(), v);
            }
            Ok(Value::Object(out))
        }
        ShapeKind::String | ShapeKind::Timestamp | ShapeKind::Blob => {
            Ok(Value::String(scalar(node, path)?.to_string()))
        }
        ShapeKind::Integer | ShapeKind::Long => {
            let raw = scalar(node, path)?;
            raw.trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| AwsError::invalid(format!("Invalid value '{raw}' for {path}")))
        }
        ShapeKind::Double => {
            let raw = scalar(node, path)?;
            raw.trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| AwsError::invalid(format!("Invalid value '{raw}' for {path}")))
        }
        ShapeKind::Boolean => {
            let raw = scalar(node, path)?;
            match raw.to_ascii_lowercase().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(AwsError::invalid(format!(
                    "Invalid value '{raw}' for {path}: must be true or false"
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::model::ec2;

    fn parse(op: &str, q: &str) -> AwsResult<Value> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        let root = ParamNode::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let m = ec2();
        let shape = m.operations[op].input.expect("input");
        parse_input(m, WireNames::Ec2, shape, &root, &["Action", "Version"])
    }

    #[test]
    fn filters_and_lists_parse_by_shape() {
        let v = parse(
            "DescribeInstances",
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3Arole&Filter.1.Value.1=a&Filter.1.Value.2=b&InstanceId.2=i-2&InstanceId.1=i-1&MaxResults=5&DryRun=false",
        )
        .expect("parses");
        assert_eq!(v["Filters"][0]["Name"], "tag:role");
        assert_eq!(v["Filters"][0]["Values"][1], "b");
        assert_eq!(v["InstanceIds"][0], "i-1");
        assert_eq!(v["MaxResults"], 5);
        assert_eq!(v["DryRun"], false);
    }

    #[test]
    fn errors_are_protocol_errors() {
        let e = parse("RunInstances", "ImageId=ami-1&MaxCount=1").expect_err("MinCount missing");
        assert_eq!(e.code, Code::MissingParameter);
        assert!(e.message.contains("MinCount"));
        let e = parse("RunInstances", "MinCount=x&MaxCount=1").expect_err("bad int");
        assert_eq!(e.code, Code::InvalidParameterValue);
        let e = parse("DescribeVpcs", "Bogus=1").expect_err("unknown");
        assert_eq!(e.code, Code::UnknownParameter);
        let e = parse("DescribeVpcs", "DryRun=maybe").expect_err("bad bool");
        assert_eq!(e.code, Code::InvalidParameterValue);
    }
}
