//! PodDisruptionBudget: the status the disruption controller computes from the matching pods'
//! readiness, and the eviction check of `pods/eviction` (429 `Cannot evict pod as it would
//! violate the pod's disruption budget.` with a `DisruptionBudget` cause).
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/controller/disruption/disruption.go`
//! (`getExpectedPodCount`, `countHealthyPods`, `updatePdbStatus`) and
//! `pkg/registry/core/pod/storage/eviction.go`.
//!
//! Not modelled: the controller's delay (status is recomputed on every pod or budget write),
//! `disruptedPods` expiry after 2 minutes (entries leave when the pod is gone), the
//! `unhealthyPodEvictionPolicy: AlwaysAllow` variant beyond allowing not-ready pods, and
//! expected counts from custom resources' scale subresources (their pods are counted instead).

use crate::selectors::LabelSelector;
use serde_json::{json, Map, Value};

/// Whether a pod is Ready (`Ready=True` condition) and not being deleted.
pub fn pod_healthy(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_none()
        && pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.get("type").and_then(Value::as_str) == Some("Ready")
                        && c.get("status").and_then(Value::as_str) == Some("True")
                })
            })
}

/// Whether the budget selects the pod (a missing selector selects nothing, an empty one all).
pub fn selects(pdb: &Value, pod: &Value) -> bool {
    match pdb.pointer("/spec/selector") {
        None | Some(Value::Null) => false,
        Some(sel) => LabelSelector::from_object(sel).matches(pod),
    }
}

fn int_or_percent(v: &Value, total: i64, round_up: bool) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let p: i64 = s.strip_suffix('%')?.parse().ok()?;
            let x = p * total;
            Some(if round_up { (x + 99) / 100 } else { x / 100 })
        }
        _ => None,
    }
}

/// The budget's status, given its matching pods and the replicas their controllers expect
/// (`expected` when the budget is a percentage or `maxUnavailable`; `None` falls back to the
/// number of pods). `now` stamps a changed condition.
pub fn status(pdb: &Value, pods: &[&Value], expected: Option<i64>, now: &str) -> Value {
    let spec = pdb.get("spec").cloned().unwrap_or(json!({}));
    let healthy = pods.iter().filter(|p| pod_healthy(p)).count() as i64;
    let disrupted: Map<String, Value> = pdb
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    pods.iter().any(|p| {
                        p.pointer("/metadata/name").and_then(Value::as_str) == Some(k.as_str())
                            && p.pointer("/metadata/deletionTimestamp").is_none()
                    })
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let (expected, desired) = match (spec.get("minAvailable"), spec.get("maxUnavailable")) {
        (Some(Value::Number(n)), _) => (pods.len() as i64, n.as_i64().unwrap_or(0)),
        (Some(v @ Value::String(_)), _) => {
            let e = expected.unwrap_or(pods.len() as i64);
            (e, int_or_percent(v, e, true).unwrap_or(0))
        }
        (_, Some(v)) if !v.is_null() => {
            let e = expected.unwrap_or(pods.len() as i64);
            (e, (e - int_or_percent(v, e, true).unwrap_or(0)).max(0))
        }
        _ => (pods.len() as i64, 0),
    };
    let allowed = (healthy - desired - disrupted.len() as i64).max(0);
    let generation = pdb
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let (cstatus, reason) = if allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    let old = pdb
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("DisruptionAllowed"))
        });
    let since = match old {
        Some(c) if c.get("status").and_then(Value::as_str) == Some(cstatus) => {
            c.get("lastTransitionTime").cloned().unwrap_or(json!(now))
        }
        _ => json!(now),
    };
    let mut st = json!({
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [{
            "type": "DisruptionAllowed", "status": cstatus, "reason": reason, "message": "",
            "observedGeneration": generation, "lastTransitionTime": since,
        }],
    });
    if !disrupted.is_empty() {
        st["disruptedPods"] = Value::Object(disrupted);
    }
    st
}

/// The eviction decision for a pod covered by `pdb`: `Ok(Some(new_status))` when it may go
/// (the budget's status with one disruption used), `Ok(None)` when the budget does not apply
/// (not-ready pod and the budget is still met), `Err(message)` for the 429 cause.
pub fn evict(pdb: &Value, pod: &Value, now: &str) -> Result<Option<Value>, String> {
    let st = pdb.get("status").cloned().unwrap_or(json!({}));
    let get = |k: &str| st.get(k).and_then(Value::as_i64).unwrap_or(0);
    let name = pdb
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let generation = pdb
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if get("observedGeneration") < generation {
        return Err(format!(
            "The disruption budget {name} is still being processed by the server."
        ));
    }
    if !pod_healthy(pod) {
        let always = pdb
            .pointer("/spec/unhealthyPodEvictionPolicy")
            .and_then(Value::as_str)
            == Some("AlwaysAllow");
        if always || get("currentHealthy") >= get("desiredHealthy") {
            return Ok(None);
        }
    }
    if get("disruptionsAllowed") <= 0 {
        return Err(format!(
            "The disruption budget {name} needs {} healthy pods and has {} currently",
            get("desiredHealthy"),
            get("currentHealthy")
        ));
    }
    let allowed = get("disruptionsAllowed") - 1;
    let mut st = st.clone();
    st["disruptionsAllowed"] = json!(allowed);
    if let Some(pod_name) = pod.pointer("/metadata/name").and_then(Value::as_str) {
        if !st.get("disruptedPods").is_some_and(Value::is_object) {
            st["disruptedPods"] = json!({});
        }
        st["disruptedPods"][pod_name] = json!(now);
    }
    Ok(Some(st))
}
