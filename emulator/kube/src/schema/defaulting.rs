//! Defaulting from a structural schema: `default` values fill missing properties, recursively
//! into present objects and array items.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting/algorithm.go.
//! Not modelled: pruning of defaults, `nullable: false` nulls replaced by defaults.

use serde_json::{Map, Value};

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
    use crate::schema::prune;
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
