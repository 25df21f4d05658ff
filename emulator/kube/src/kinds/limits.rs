//! LimitRange admission of pods (the LimitRanger plugin): containers missing a request or limit
//! get their namespace's `defaultRequest` / `default`, recorded in the
//! `kubernetes.io/limit-ranger` annotation, then `min` and `max` are enforced with upstream's
//! 403 messages (`maximum cpu usage per Container is 1, but limit is 2`).
//!
//! Upstream: kubernetes/kubernetes@v1.32 `plugin/pkg/admission/limitranger/admission.go`
//! (`defaultContainerResourceRequirements`, `mergeContainerResources`,
//! `mergePodResourceRequirements`, `minConstraint`, `maxConstraint`).
//!
//! Not modelled: `Pod` and `PersistentVolumeClaim` items, `maxLimitRequestRatio`, init
//! containers (their defaults are applied, their limits are not checked).

use super::quota::parse_quantity;
use serde_json::{json, Map, Value};

fn items<'a>(ranges: &'a [&'a Value]) -> impl Iterator<Item = &'a Value> + 'a {
    ranges
        .iter()
        .filter_map(|r| r.pointer("/spec/limits").and_then(Value::as_array))
        .flatten()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("Container"))
}

fn merged(ranges: &[&Value], key: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for i in items(ranges) {
        for (k, v) in i.get(key).and_then(Value::as_object).into_iter().flatten() {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    out
}

/// Applies the namespace's LimitRanges to a pod: defaults first, then constraints.
/// `Err(reason)` is the text after `is forbidden: `.
pub fn admit(ranges: &[&Value], pod: &mut Value) -> Result<(), String> {
    if ranges.is_empty() {
        return Ok(());
    }
    let default_limits = merged(ranges, "default");
    let default_requests = merged(ranges, "defaultRequest");
    let mut notes = Vec::new();
    for list in ["initContainers", "containers"] {
        let Some(cs) = pod
            .pointer_mut(&format!("/spec/{list}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for c in cs.iter_mut() {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let Some(cm) = c.as_object_mut() else {
                continue;
            };
            let res = cm.entry("resources").or_insert_with(|| json!({}));
            if !res.is_object() {
                *res = json!({});
            }
            // Core Pod defaulting (which runs before admission upstream): a limit without a
            // request is also the request.
            if let Some(lims) = res.get("limits").and_then(Value::as_object).cloned() {
                if !res.get("requests").is_some_and(Value::is_object) {
                    res["requests"] = json!({});
                }
                for (k, v) in lims {
                    if res.pointer(&format!("/requests/{k}")).is_none() {
                        res["requests"][k.as_str()] = v;
                    }
                }
                if res["requests"].as_object().is_some_and(|m| m.is_empty()) {
                    if let Some(m) = res.as_object_mut() {
                        m.remove("requests");
                    }
                }
            }
            let mut set_req = Vec::new();
            let mut set_lim = Vec::new();
            for (section, defaults, set) in [
                ("limits", &default_limits, &mut set_lim),
                ("requests", &default_requests, &mut set_req),
            ] {
                for (k, v) in defaults {
                    let has = res.pointer(&format!("/{section}/{k}")).is_some();
                    if has {
                        continue;
                    }
                    if !res.get(section).is_some_and(Value::is_object) {
                        res[section] = json!({});
                    }
                    res[section][k] = v.clone();
                    set.push(k.clone());
                }
            }
            set_req.sort();
            set_lim.sort();
            if !set_req.is_empty() {
                notes.push(format!(
                    "{} request for container {name}",
                    set_req.join(", ")
                ));
            }
            if !set_lim.is_empty() {
                notes.push(format!("{} limit for container {name}", set_lim.join(", ")));
            }
        }
    }
    if !notes.is_empty() {
        if let Some(meta) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
            let ann = meta.entry("annotations").or_insert_with(|| json!({}));
            if !ann.is_object() {
                *ann = json!({});
            }
            ann["kubernetes.io/limit-ranger"] =
                json!(format!("LimitRanger plugin set: {}", notes.join("; ")));
        }
    }
    let cs = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut errors = Vec::new();
    for i in items(ranges) {
        for c in &cs {
            let get = |section: &str, k: &str| {
                c.pointer(&format!("/resources/{section}/{k}"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        c.pointer(&format!("/resources/{section}/{k}"))
                            .filter(|v| v.is_number())
                            .map(Value::to_string)
                    })
            };
            for (k, min) in i
                .get("min")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let min_s = min.as_str().map(str::to_string).unwrap_or(min.to_string());
                let (Some(m), req) = (parse_quantity(&min_s), get("requests", k)) else {
                    continue;
                };
                match req.as_deref().and_then(parse_quantity) {
                    None => errors.push(format!(
                        "minimum {k} usage per Container is {min_s}.  No request is specified"
                    )),
                    Some(q) if q.milli < m.milli => errors.push(format!(
                        "minimum {k} usage per Container is {min_s}, but request is {}",
                        req.unwrap_or_default()
                    )),
                    _ => {}
                }
            }
            for (k, max) in i
                .get("max")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let max_s = max.as_str().map(str::to_string).unwrap_or(max.to_string());
                let (Some(m), lim) = (parse_quantity(&max_s), get("limits", k)) else {
                    continue;
                };
                match lim.as_deref().and_then(parse_quantity) {
                    None => errors.push(format!(
                        "maximum {k} usage per Container is {max_s}.  No limit is specified"
                    )),
                    Some(q) if q.milli > m.milli => errors.push(format!(
                        "maximum {k} usage per Container is {max_s}, but limit is {}",
                        lim.unwrap_or_default()
                    )),
                    _ => {}
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(if errors.len() == 1 {
            errors.remove(0)
        } else {
            format!("[{}]", errors.join(", "))
        })
    }
}
