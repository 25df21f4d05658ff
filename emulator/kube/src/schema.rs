//! Structural-schema handling of custom resources, as kube-apiserver does for CRDs with an
//! `openAPIV3Schema`: unknown fields are pruned (reported for `fieldValidation`) unless
//! `x-kubernetes-preserve-unknown-fields: true`, and `default` values fill missing properties.
//! `apiVersion`, `kind` and `metadata` at the root are always kept. Type checks and value
//! validations (`enum`, `pattern`, `minimum`, CEL rules) are not modelled.

use serde_json::{Map, Value};

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

/// Fills `default` values of missing properties (recursively into present objects and arrays).
pub fn apply_defaults(schema: &Value, obj: &mut Value) {
    let Some(m) = obj.as_object_mut() else {
        if let (Some(items), Value::Array(a)) = (schema.get("items"), obj) {
            for e in a {
                apply_defaults(items, e);
            }
        }
        return;
    };
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, s) in props {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if !m.contains_key(k) {
                if let Some(d) = s.get("default") {
                    m.insert(k.clone(), d.clone());
                }
            }
            if let Some(v) = m.get_mut(k) {
                apply_defaults(s, v);
            }
        }
    } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        let vals: &mut Map<String, Value> = m;
        for v in vals.values_mut() {
            apply_defaults(ap, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prunes_and_defaults() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "targetType": {"type": "string", "default": "instance"},
                "serviceRef": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"x-kubernetes-int-or-string": true}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "status": {"type": "object"}}});
        let mut o = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a"},
            "spec": {"serviceRef": {"name": "s", "port": 80, "bogus": 1}, "free": {"any": 1}, "labels": {"a": "b"}, "extra": true},
            "status": {"x": 1}, "top": 1});
        let mut unknown = prune(&schema, &mut o);
        unknown.sort();
        assert_eq!(
            unknown,
            vec!["spec.extra", "spec.serviceRef.bogus", "status.x", "top"]
        );
        apply_defaults(&schema, &mut o);
        assert_eq!(o["spec"]["targetType"], "instance");
        assert_eq!(o["spec"]["free"]["any"], 1);
        assert_eq!(o["spec"]["labels"]["a"], "b");
    }
}
