//! Field errors in apimachinery's wording (`field.Error.ErrorBody`): the cause types and the way a
//! Go `interface{}` decoded from JSON prints (`%v` for numbers and booleans, `%q` for strings,
//! `%#v` for maps and slices).
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go.

use crate::error::Cause;
use serde_json::Value;

/// `Invalid value: <v>: <detail>` (FieldValueInvalid).
pub fn invalid(field: &str, value: &Value, detail: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        field,
        with_detail(format!("Invalid value: {}", go_value(value)), detail),
    )
}

/// `Invalid value: <v>: <detail>` for a schema type mismatch (FieldValueTypeInvalid).
pub fn type_invalid(field: &str, value: &Value, detail: &str) -> Cause {
    Cause::new(
        "FieldValueTypeInvalid",
        field,
        with_detail(format!("Invalid value: {}", go_value(value)), detail),
    )
}

/// `Required value[: detail]` (FieldValueRequired).
pub fn required(field: &str, detail: &str) -> Cause {
    Cause::new(
        "FieldValueRequired",
        field,
        with_detail("Required value".into(), detail),
    )
}

/// `Forbidden: <detail>` (FieldValueForbidden).
pub fn forbidden(field: &str, detail: &str) -> Cause {
    Cause::new(
        "FieldValueForbidden",
        field,
        with_detail("Forbidden".into(), detail),
    )
}

/// `Duplicate value: <v>` (FieldValueDuplicate).
pub fn duplicate(field: &str, value: &Value) -> Cause {
    Cause::new(
        "FieldValueDuplicate",
        field,
        format!("Duplicate value: {}", go_value(value)),
    )
}

/// `Unsupported value: <v>: supported values: "a", "b"` (FieldValueNotSupported).
pub fn not_supported(field: &str, value: &Value, supported: &[String]) -> Cause {
    let detail = if supported.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
        format!("supported values: {}", quoted.join(", "))
    };
    Cause::new(
        "FieldValueNotSupported",
        field,
        with_detail(format!("Unsupported value: {}", go_value(value)), &detail),
    )
}

/// `Too long: may not be longer than <n>` (FieldValueTooLong; the value is not printed).
pub fn too_long(field: &str, max: i64) -> Cause {
    Cause::new(
        "FieldValueTooLong",
        field,
        format!("Too long: may not be longer than {max}"),
    )
}

/// `Too many: <n>: must have at most <max> items` (FieldValueTooMany).
pub fn too_many(field: &str, actual: usize, max: i64) -> Cause {
    Cause::new(
        "FieldValueTooMany",
        field,
        format!("Too many: {actual}: must have at most {max} items"),
    )
}

fn with_detail(mut s: String, detail: &str) -> String {
    if !detail.is_empty() {
        s.push_str(": ");
        s.push_str(detail);
    }
    s
}

/// Go's `%q` of a string (close enough: JSON escaping, which agrees for printable text).
pub fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// A float as Go's `%v` prints a `float64`.
pub fn go_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i128)
    } else if f.is_finite() && f.abs() >= 1e21 {
        let s = format!("{f:e}");
        // Rust prints `1e21`, Go `1e+21`.
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e:0>2}"),
            _ => s,
        }
    } else {
        format!("{f}")
    }
}

/// A number as Go's `%v` prints the `int64` or `float64` JSON decoding gives.
pub fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        go_float(n.as_f64().unwrap_or(0.0))
    }
}

/// A value as `field.Error` prints its bad value.
pub fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "\"null\"".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => go_quote(s),
        Value::Array(_) | Value::Object(_) => go_sharp(v),
    }
}

/// Go's `%#v` of a decoded JSON value.
fn go_sharp(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => go_quote(s),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(go_sharp).collect();
            format!("[]interface {{}}{{{}}}", parts.join(", "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", go_quote(k), go_sharp(&m[k.as_str()])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_print_as_go_does() {
        assert_eq!(go_value(&json!("a")), "\"a\"");
        assert_eq!(go_value(&json!(3)), "3");
        assert_eq!(go_value(&json!(1.5)), "1.5");
        assert_eq!(go_value(&json!(2.0)), "2");
        assert_eq!(go_value(&json!(true)), "true");
        assert_eq!(
            go_value(&json!({"b": 1, "a": "x"})),
            "map[string]interface {}{\"a\":\"x\", \"b\":1}"
        );
        assert_eq!(go_value(&json!(["a", 1])), "[]interface {}{\"a\", 1}");
    }
}
