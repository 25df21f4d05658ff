//! Whether a CRD version's `openAPIV3Schema` is structural and well-formed, as apiextensions v1
//! requires: a type at the root (`object`) and on every specified property, item and
//! additionalProperties schema; `x-kubernetes-int-or-string` without a type;
//! `x-kubernetes-preserve-unknown-fields` only `true`; `items` for arrays; no `properties` with
//! `additionalProperties`; no `uniqueItems: true`; root `metadata` restricted to `name` and
//! `generateName`; list types and their map keys; patterns that compile; defaults valid against
//! their schema; CEL rules that compile.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go
//! (ValidateCustomResourceDefinitionOpenAPISchema, validateStructuralInvariants),
//! pkg/apiserver/schema/validation.go (ValidateStructural).
//! Not modelled: the `nullable`/`default: null` interplay, `$ref`/`definitions` checks beyond
//! their being forbidden, CEL cost estimation, the `x-kubernetes-map-type` rules,
//! defaults inside `x-kubernetes-embedded-resource` metadata.

use super::errors::{self, go_quote};
use super::{cel, validate};
use crate::error::Cause;
use serde_json::Value;

const TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];

/// Checks a version's root schema; `path` is `spec.versions[i].schema.openAPIV3Schema`.
pub fn check(schema: &Value, path: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    if !schema.is_object() {
        out.push(errors::required(path, "must not be empty at the root"));
        return out;
    }
    match schema.get("type").and_then(Value::as_str) {
        None | Some("") => out.push(errors::required(
            &format!("{path}.type"),
            "must not be empty at the root",
        )),
        Some("object") => {}
        Some(t) => out.push(errors::invalid(
            &format!("{path}.type"),
            &Value::String(t.into()),
            "must be object at the root",
        )),
    }
    if let Some(meta) = schema.pointer("/properties/metadata") {
        check_metadata(meta, &format!("{path}.properties[metadata]"), &mut out);
    }
    node(schema, path, "", true, &mut out);
    out
}

fn check_metadata(meta: &Value, path: &str, out: &mut Vec<Cause>) {
    let Some(m) = meta.as_object() else { return };
    let extra = m.keys().any(|k| k != "type" && k != "properties")
        || m.get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| p.keys().any(|k| k != "name" && k != "generateName"));
    if extra {
        out.push(errors::forbidden(
            path,
            "must not specify anything other than name and generateName, but metadata is implicitly specified",
        ));
    }
}

/// `cr_path` is where the node sits in a custom resource (for default values' messages).
fn node(s: &Value, path: &str, cr_path: &str, root: bool, out: &mut Vec<Cause>) {
    let Some(m) = s.as_object() else {
        out.push(errors::invalid(path, s, "must be a schema object"));
        return;
    };
    let int_or_string = m.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    let preserve = m.get("x-kubernetes-preserve-unknown-fields");
    let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
    if let Some(t) = m.get("type") {
        match t.as_str() {
            Some(t) if t.is_empty() || TYPES.contains(&t) => {}
            _ => out.push(errors::not_supported(
                &format!("{path}.type"),
                t,
                &TYPES.map(String::from),
            )),
        }
    }
    if int_or_string && !ty.is_empty() {
        out.push(errors::invalid(
            &format!("{path}.type"),
            &Value::String(ty.into()),
            "must be empty if x-kubernetes-int-or-string is true",
        ));
    }
    if let Some(p) = preserve {
        if p != &Value::Bool(true) {
            out.push(errors::invalid(
                &format!("{path}.x-kubernetes-preserve-unknown-fields"),
                p,
                "must be true or undefined",
            ));
        }
    }
    for k in [
        "$ref",
        "definitions",
        "patternProperties",
        "dependencies",
        "additionalItems",
    ] {
        if m.contains_key(k) {
            out.push(errors::forbidden(
                &format!("{path}.{k}"),
                &format!("{k} is not supported"),
            ));
        }
    }
    if m.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
        out.push(errors::forbidden(
            &format!("{path}.uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if let Some(p) = m.get("pattern").and_then(Value::as_str) {
        if validate::compiled(p).is_none() {
            out.push(errors::invalid(
                &format!("{path}.pattern"),
                &Value::String(p.into()),
                &format!(
                    "must be a valid regular expression, but isn't: error parsing regexp: {}",
                    go_quote(p)
                ),
            ));
        }
    }
    if let Some(mo) = m.get("multipleOf").and_then(Value::as_f64) {
        if mo <= 0.0 {
            out.push(errors::invalid(
                &format!("{path}.multipleOf"),
                &m["multipleOf"],
                "must be greater than zero",
            ));
        }
    }
    let has_props = m
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    if let Some(ap) = m.get("additionalProperties") {
        if has_props && ap != &Value::Bool(true) {
            out.push(errors::forbidden(
                &format!("{path}.additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
    }
    if ty == "array" && !m.contains_key("items") {
        out.push(errors::required(
            &format!("{path}.items"),
            "must be specified",
        ));
    }
    match m.get("x-kubernetes-list-type").and_then(Value::as_str) {
        None => {
            if m.contains_key("x-kubernetes-list-map-keys") {
                out.push(errors::forbidden(
                    &format!("{path}.x-kubernetes-list-map-keys"),
                    "must not be set if x-kubernetes-list-type is not map",
                ));
            }
        }
        Some(lt) => {
            if ty != "array" {
                out.push(errors::invalid(
                    &format!("{path}.type"),
                    &Value::String(ty.into()),
                    "must be array if x-kubernetes-list-type is specified",
                ));
            }
            match lt {
                "atomic" | "set" => {}
                "map" => {
                    let keys = m
                        .get("x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .filter(|k| !k.is_empty());
                    if keys.is_none() {
                        out.push(errors::required(
                            &format!("{path}.x-kubernetes-list-map-keys"),
                            "must not be empty if x-kubernetes-list-type is map",
                        ));
                    }
                }
                other => out.push(errors::not_supported(
                    &format!("{path}.x-kubernetes-list-type"),
                    &Value::String(other.into()),
                    &["atomic", "set", "map"].map(String::from),
                )),
            }
        }
    }
    if let Some(rules) = m.get("x-kubernetes-validations").and_then(Value::as_array) {
        for (i, field, msg) in cel::compile_errors(rules) {
            let p = format!("{path}.x-kubernetes-validations[{i}].{field}");
            if msg.is_empty() {
                out.push(errors::required(&p, ""));
            } else {
                out.push(Cause::new(
                    "FieldValueInvalid",
                    p,
                    format!("Invalid value: {}: {msg}", cel::go_rule(&rules[i])),
                ));
            }
        }
    }
    // Children: a specified field needs a type.
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        let mut keys: Vec<&String> = props.keys().collect();
        keys.sort();
        for k in keys {
            if root && matches!(k.as_str(), "metadata" | "apiVersion" | "kind") {
                continue;
            }
            let p = format!("{path}.properties[{k}]");
            let c = &props[k.as_str()];
            needs_type(c, &p, "must not be empty for specified object fields", out);
            let cr = if cr_path.is_empty() {
                k.clone()
            } else {
                format!("{cr_path}.{k}")
            };
            node(c, &p, &cr, false, out);
        }
    }
    if let Some(items) = m.get("items") {
        let p = format!("{path}.items");
        if items.is_array() {
            out.push(errors::forbidden(
                &p,
                "items must be a schema object and not an array",
            ));
        } else {
            needs_type(
                items,
                &p,
                "must not be empty for specified array items",
                out,
            );
            node(items, &p, &format!("{cr_path}[0]"), false, out);
        }
    }
    if let Some(ap) = m.get("additionalProperties").filter(|a| a.is_object()) {
        let p = format!("{path}.additionalProperties");
        needs_type(ap, &p, "must not be empty for specified object fields", out);
        node(ap, &p, &format!("{cr_path}.key"), false, out);
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        if let Some(subs) = m.get(k).and_then(Value::as_array) {
            for (i, sub) in subs.iter().enumerate() {
                value_only(sub, &format!("{path}.{k}[{i}]"), out);
            }
        }
    }
    if let Some(not) = m.get("not") {
        value_only(not, &format!("{path}.not"), out);
    }
    if let Some(d) = m.get("default") {
        if root {
            out.push(errors::forbidden(
                &format!("{path}.default"),
                "must not be set at the root",
            ));
        } else {
            for c in validate::validate_node(s, d, cr_path) {
                out.push(errors::invalid(
                    &format!("{path}.default"),
                    d,
                    &strip_body(&c),
                ));
            }
        }
    }
}

/// A cause's message without its `Invalid value: …:` prefix, for nesting under `default`.
fn strip_body(c: &Cause) -> String {
    if c.message.starts_with("Required value") {
        return format!("{}: Required value", c.field);
    }
    let body = c
        .message
        .split_once(": ")
        .map(|(_, r)| r)
        .unwrap_or(&c.message);
    match body.split_once(": ") {
        Some((_, rest)) if c.message.starts_with("Invalid value") => rest.to_string(),
        _ => format!("{}: {}", c.field, c.message),
    }
}

fn needs_type(s: &Value, path: &str, why: &str, out: &mut Vec<Cause>) {
    let Some(m) = s.as_object() else { return };
    let typed = m
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    let int_or_string = m.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    let preserve = m
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    if !typed && !int_or_string && !preserve {
        out.push(errors::required(&format!("{path}.type"), why));
    }
}

/// In a value validation (allOf/anyOf/oneOf/not) structural fields must not appear.
fn value_only(s: &Value, path: &str, out: &mut Vec<Cause>) {
    let Some(m) = s.as_object() else { return };
    for k in [
        "additionalProperties",
        "default",
        "nullable",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string",
    ] {
        if m.contains_key(k) {
            out.push(errors::forbidden(
                &format!("{path}.{k}"),
                "must be empty to be structural",
            ));
        }
    }
}
