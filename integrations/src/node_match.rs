//! Node-matching predicates shared by the scheduler, the DaemonSet controller and taint
//! eviction: node selector requirements, required node affinity, and whether a toleration
//! tolerates a taint (`k8s.io/component-helpers/scheduling/corev1`, `v1helper.ToleratesTaint`,
//! Kubernetes 1.32).

use serde_json::Value;

/// `v1helper.TolerationsTolerateTaint` for one toleration.
pub fn tolerates(t: &Value, key: &str, value: &str, effect: &str) -> bool {
    let te = t["effect"].as_str().unwrap_or("");
    if !te.is_empty() && te != effect {
        return false;
    }
    let tk = t["key"].as_str().unwrap_or("");
    let op = t["operator"].as_str().unwrap_or("Equal");
    if tk.is_empty() {
        return op == "Exists";
    }
    if tk != key {
        return false;
    }
    match op {
        "Exists" => true,
        "Equal" | "" => t["value"].as_str().unwrap_or("") == value,
        _ => false,
    }
}

/// One node selector requirement (`nodeaffinity` / `labels.Selector` of `NodeSelectorRequirement`).
pub fn node_requirement(req: &Value, value: Option<&str>) -> bool {
    let values: Vec<&str> = req["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match req["operator"].as_str().unwrap_or("") {
        "In" => value.is_some_and(|v| values.contains(&v)),
        "NotIn" => !value.is_some_and(|v| values.contains(&v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        op @ ("Gt" | "Lt") => {
            let (Some(v), [bound]) = (value, values.as_slice()) else {
                return false;
            };
            match (v.parse::<i64>(), bound.parse::<i64>()) {
                (Ok(v), Ok(b)) => {
                    if op == "Gt" {
                        v > b
                    } else {
                        v < b
                    }
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// NodeAffinity's Filter: nodeSelector, then the required node selector terms (ORed).
pub fn node_affinity_matches(spec: &Value, node: &Value) -> bool {
    let node_labels = &node["metadata"]["labels"];
    if let Some(sel) = spec["nodeSelector"].as_object() {
        for (k, v) in sel {
            if node_labels[k.as_str()].as_str() != Some(v.as_str().unwrap_or("")) {
                return false;
            }
        }
    }
    let required =
        &spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    let Some(terms) = required["nodeSelectorTerms"].as_array() else {
        return true;
    };
    let name = node["metadata"]["name"].as_str().unwrap_or("");
    terms.iter().any(|term| {
        let exprs = term["matchExpressions"].as_array();
        let fields = term["matchFields"].as_array();
        if exprs.is_none_or(|e| e.is_empty()) && fields.is_none_or(|f| f.is_empty()) {
            return false;
        }
        exprs.into_iter().flatten().all(|r| {
            let key = r["key"].as_str().unwrap_or("");
            node_requirement(r, node_labels[key].as_str())
        }) && fields.into_iter().flatten().all(|r| {
            let v = (r["key"] == "metadata.name").then_some(name);
            node_requirement(r, v)
        })
    })
}
