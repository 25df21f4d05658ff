//! `autoscaling/v1` ⇄ `autoscaling/v2` HorizontalPodAutoscaler conversion: both versions share
//! one v2 store, as kube-apiserver stores them (`pkg/apis/autoscaling/v1/conversion.go`).
//! v1's `targetCPUUtilizationPercentage` is a v2 `Resource` metric on `cpu` with a
//! `Utilization` target, `currentCPUUtilizationPercentage` its current value.
//!
//! Not modelled: the `autoscaling.alpha.kubernetes.io/metrics` and `.../conditions` annotations
//! upstream uses to carry v2-only fields through v1 round trips: an update through v1 keeps only
//! the CPU target.

use serde_json::{json, Value};

fn cpu_utilization(metrics: Option<&Value>, current: bool) -> Option<Value> {
    metrics?.as_array()?.iter().find_map(|m| {
        let r = m.get("resource")?;
        if m.get("type")?.as_str()? != "Resource" || r.get("name")?.as_str()? != "cpu" {
            return None;
        }
        let key = if current { "current" } else { "target" };
        r.get(key)?.get("averageUtilization").cloned()
    })
}

/// A v1 object (served form) to the v2 stored form.
pub fn v1_to_v2(mut obj: Value) -> Value {
    let Some(m) = obj.as_object_mut() else {
        return obj;
    };
    m.insert("apiVersion".into(), json!("autoscaling/v2"));
    if let Some(spec) = m.get_mut("spec").and_then(Value::as_object_mut) {
        let target = spec.remove("targetCPUUtilizationPercentage");
        if let Some(t) = target.filter(|t| !t.is_null()) {
            spec.insert(
                "metrics".into(),
                json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": t}}}]),
            );
        }
    }
    if let Some(st) = m.get_mut("status").and_then(Value::as_object_mut) {
        if let Some(c) = st.remove("currentCPUUtilizationPercentage") {
            st.insert(
                "currentMetrics".into(),
                json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": c}}}]),
            );
        }
    }
    obj
}

/// The v2 stored form to a v1 object.
pub fn v2_to_v1(obj: &Value) -> Value {
    let mut out = obj.clone();
    let Some(m) = out.as_object_mut() else {
        return out;
    };
    m.insert("apiVersion".into(), json!("autoscaling/v1"));
    m.insert("kind".into(), json!("HorizontalPodAutoscaler"));
    if let Some(spec) = m.get_mut("spec").and_then(Value::as_object_mut) {
        let target = cpu_utilization(spec.get("metrics"), false);
        spec.remove("metrics");
        spec.remove("behavior");
        if let Some(t) = target {
            spec.insert("targetCPUUtilizationPercentage".into(), t);
        }
    }
    if let Some(st) = m.get_mut("status").and_then(Value::as_object_mut) {
        let cur = cpu_utilization(st.get("currentMetrics"), true);
        st.remove("currentMetrics");
        st.remove("conditions");
        if let Some(c) = cur {
            st.insert("currentCPUUtilizationPercentage".into(), c);
        }
        if !st.contains_key("currentReplicas") {
            st.insert("currentReplicas".into(), json!(0));
        }
    }
    out
}
