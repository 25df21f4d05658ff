//! Pruning of unknown fields, as kube-apiserver's structural pruning: a field the schema does
//! not specify is dropped (and reported for `fieldValidation`) unless the node has
//! `x-kubernetes-preserve-unknown-fields: true`; `apiVersion`, `kind` and `metadata` at the root
//! are always kept.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning/algorithm.go.
//! Not modelled: pruning inside `x-kubernetes-embedded-resource` metadata, `allOf`/`anyOf`
//! branches contributing properties (structural schemas forbid that anyway).

use serde_json::Value;

/// Prunes unknown fields of `obj` per `schema`, returning their paths (`spec.foo`).
pub fn prune(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut unknown = Vec::new();
    if let Some(m) = obj.as_object_mut() {
        let props = schema.get("properties").and_then(Value::as_object);
        let preserve = preserves(schema);
        let keys: Vec<String> = m.keys().cloned().collect();
        for k in keys {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            match props.and_then(|p| p.get(&k)) {
                Some(s) => {
                    if let Some(v) = m.get_mut(&k) {
                        walk(s, v, &k, &mut unknown);
                    }
                }
                None if preserve => {}
                None => {
                    m.remove(&k);
                    unknown.push(k);
                }
            }
        }
    }
    unknown
}

fn preserves(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

fn walk(schema: &Value, v: &mut Value, path: &str, unknown: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                let preserve = preserves(schema);
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    let p = format!("{path}.{k}");
                    match props.get(&k) {
                        Some(s) => {
                            if let Some(cv) = m.get_mut(&k) {
                                walk(s, cv, &p, unknown);
                            }
                        }
                        None if preserve => {}
                        None => {
                            m.remove(&k);
                            unknown.push(p);
                        }
                    }
                }
            } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, cv) in m.iter_mut() {
                    walk(ap, cv, &format!("{path}.{k}"), unknown);
                }
            } else if !preserves(schema)
                && schema.get("type").and_then(Value::as_str) == Some("object")
                && schema.get("additionalProperties").is_none()
                && schema.get("x-kubernetes-int-or-string").is_none()
                && schema.get("x-kubernetes-embedded-resource").is_none()
            {
                // An object with neither properties nor additionalProperties keeps nothing.
                for k in m.keys().cloned().collect::<Vec<_>>() {
                    unknown.push(format!("{path}.{k}"));
                }
                m.clear();
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                for (i, e) in a.iter_mut().enumerate() {
                    walk(items, e, &format!("{path}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}
