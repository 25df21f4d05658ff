//! Model-shaped JSON input (the aws CLI's `--cli-input-json` shape: member names as keys) checked
//! against an operation's input structure, for the in-process client. The checks and codes are
//! the ones the form parser ([`super::params`]) applies to HTTP requests: an unknown member is
//! `UnknownParameter`, a missing required member `MissingParameter`, a value of the wrong type
//! `InvalidParameterValue`. Numbers and booleans written as strings (`"30"`, `"true"`) are
//! accepted and normalised, as the form parser accepts them.

use super::model::{ServiceModel, ShapeId, ShapeKind};
use crate::error::{AwsError, AwsResult, Code};
use serde_json::{Map, Value};

/// Checks `input` against structure `shape` and returns it normalised.
pub fn check(model: &ServiceModel, shape: Option<ShapeId>, input: &Value) -> AwsResult<Value> {
    match shape {
        Some(shape) => {
            let empty = Value::Object(Map::new());
            let input = if input.is_null() { &empty } else { input };
            check_value(model, shape, input, "")
        }
        None => Ok(Value::Object(Map::new())),
    }
}

fn join(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_string()
    } else {
        format!("{path}.{k}")
    }
}

fn check_value(model: &ServiceModel, shape: ShapeId, v: &Value, path: &str) -> AwsResult<Value> {
    let wrong = |what: &str| {
        AwsError::invalid(format!(
            "Invalid value for parameter {}: expected {what}",
            if path.is_empty() { "input" } else { path }
        ))
    };
    match &model.shape(shape).kind {
        ShapeKind::Structure { members, required } => {
            let Value::Object(map) = v else {
                return Err(wrong("a structure"));
            };
            let mut out = Map::new();
            for (k, child) in map {
                let Some(m) = members.iter().find(|m| &m.name == k) else {
                    return Err(AwsError::new(
                        Code::UnknownParameter,
                        format!("The parameter {} is not recognized", join(path, k)),
                    ));
                };
                if child.is_null() {
                    continue;
                }
                out.insert(
                    k.clone(),
                    check_value(model, m.shape, child, &join(path, k))?,
                );
            }
            for r in required {
                if !out.contains_key(r) {
                    return Err(AwsError::missing(&join(path, r)));
                }
            }
            Ok(Value::Object(out))
        }
        ShapeKind::List { member, .. } => {
            let Value::Array(items) = v else {
                return Err(wrong("a list"));
            };
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    check_value(model, member.shape, item, &format!("{path}.{}", i + 1))
                })
                .collect::<AwsResult<Vec<_>>>()
                .map(Value::Array)
        }
        ShapeKind::Map { value, .. } => {
            let Value::Object(map) = v else {
                return Err(wrong("a map"));
            };
            let mut out = Map::new();
            for (k, child) in map {
                out.insert(
                    k.clone(),
                    check_value(model, *value, child, &join(path, k))?,
                );
            }
            Ok(Value::Object(out))
        }
        ShapeKind::String | ShapeKind::Timestamp | ShapeKind::Blob => match v {
            Value::String(_) => Ok(v.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(wrong("a string")),
        },
        ShapeKind::Integer | ShapeKind::Long => match v {
            Value::Number(n) if n.is_i64() => Ok(v.clone()),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| wrong("an integer")),
            _ => Err(wrong("an integer")),
        },
        ShapeKind::Double => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| wrong("a number")),
            _ => Err(wrong("a number")),
        },
        ShapeKind::Boolean => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(wrong("a boolean")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::model::ec2;
    use serde_json::json;

    fn run(input: Value) -> AwsResult<Value> {
        let m = ec2();
        check(m, m.operations["AttachVolume"].input, &input)
    }

    #[test]
    fn same_codes_as_the_form_parser() {
        let ok = run(json!({"VolumeId": "vol-1", "InstanceId": "i-1", "Device": "/dev/xvdf"}));
        assert!(ok.is_ok());
        let e = run(json!({"VolumeId": "vol-1", "InstanceId": "i-1"})).expect_err("missing");
        assert_eq!(e.code, Code::MissingParameter);
        let e = run(json!({"VolumeId": "vol-1", "InstanceId": "i-1", "Device": "x", "Nope": 1}))
            .expect_err("unknown");
        assert_eq!(e.code, Code::UnknownParameter);
        let m = ec2();
        let e = check(
            m,
            m.operations["RunInstances"].input,
            &json!({"MinCount": "one", "MaxCount": 1}),
        )
        .expect_err("type");
        assert_eq!(e.code, Code::InvalidParameterValue);
        let v = check(
            m,
            m.operations["RunInstances"].input,
            &json!({"MinCount": "1", "MaxCount": 1, "EbsOptimized": "true"}),
        )
        .expect("coerced");
        assert_eq!(v["MinCount"], 1);
        assert_eq!(v["EbsOptimized"], true);
    }
}
