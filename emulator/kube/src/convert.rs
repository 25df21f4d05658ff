//! Version conversion between a served version and the stored form.
//!
//! - `extensions/v1beta1` and `networking.k8s.io/v1beta1` Ingress (`serviceName`/`servicePort`,
//!   `spec.backend`) ⇄ `networking.k8s.io/v1` (`service.name`/`service.port.number|name`,
//!   `spec.defaultBackend`, `pathType` defaulted to `ImplementationSpecific`).
//! - `events.k8s.io/v1` Event (`regarding`, `note`, `deprecated*`) ⇄ core `v1` Event
//!   (`involvedObject`, `message`, `firstTimestamp`, ...), which is how they share one store.

use crate::registry::ResourceDef;
use serde_json::{json, Map, Value};

/// Converts an object of `def`'s version into its stored form.
pub fn to_storage(def: &ResourceDef, mut obj: Value) -> Value {
    match (def.group.as_str(), def.version.as_str(), def.kind.as_str()) {
        ("extensions", "v1beta1", "Ingress") | ("networking.k8s.io", "v1beta1", "Ingress") => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                if let Some(b) = spec.remove("backend") {
                    spec.insert("defaultBackend".into(), backend_to_v1(b));
                }
                for_each_path(spec, |p| {
                    if let Some(b) = p.remove("backend") {
                        p.insert("backend".into(), backend_to_v1(b));
                    }
                    if !p.contains_key("pathType") {
                        p.insert("pathType".into(), json!("ImplementationSpecific"));
                    }
                });
            }
            set_gvk(&mut obj, "networking.k8s.io/v1", "Ingress");
            obj
        }
        ("events.k8s.io", "v1", "Event") => {
            let mut out = Map::new();
            if let Some(m) = obj.as_object_mut() {
                for (k, v) in std::mem::take(m) {
                    let nk = match k.as_str() {
                        "regarding" => "involvedObject",
                        "note" => "message",
                        "deprecatedSource" => "source",
                        "deprecatedFirstTimestamp" => "firstTimestamp",
                        "deprecatedLastTimestamp" => "lastTimestamp",
                        "deprecatedCount" => "count",
                        "reportingController" => "reportingComponent",
                        "apiVersion" | "kind" => continue,
                        other => other,
                    };
                    out.insert(nk.to_string(), v);
                }
            }
            if !out.contains_key("involvedObject") {
                out.insert("involvedObject".into(), json!({}));
            }
            let mut obj = Value::Object(out);
            set_gvk(&mut obj, "v1", "Event");
            obj
        }
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => crate::kinds::hpa::v1_to_v2(obj),
        _ => obj,
    }
}

/// Converts a stored object into `def`'s version.
pub fn from_storage(def: &ResourceDef, obj: &Value) -> Value {
    match (def.group.as_str(), def.version.as_str(), def.kind.as_str()) {
        ("extensions", "v1beta1", "Ingress") | ("networking.k8s.io", "v1beta1", "Ingress") => {
            let mut obj = obj.clone();
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                if let Some(b) = spec.remove("defaultBackend") {
                    spec.insert("backend".into(), backend_from_v1(b));
                }
                for_each_path(spec, |p| {
                    if let Some(b) = p.remove("backend") {
                        p.insert("backend".into(), backend_from_v1(b));
                    }
                });
            }
            set_gvk(&mut obj, &def.api_version(), "Ingress");
            obj
        }
        ("events.k8s.io", "v1", "Event") => {
            let mut out = Map::new();
            if let Some(m) = obj.as_object() {
                for (k, v) in m {
                    let nk = match k.as_str() {
                        "involvedObject" => "regarding",
                        "message" => "note",
                        "source" => "deprecatedSource",
                        "firstTimestamp" => "deprecatedFirstTimestamp",
                        "lastTimestamp" => "deprecatedLastTimestamp",
                        "count" => "deprecatedCount",
                        "reportingComponent" => "reportingController",
                        other => other,
                    };
                    out.insert(nk.to_string(), v.clone());
                }
            }
            let mut obj = Value::Object(out);
            set_gvk(&mut obj, "events.k8s.io/v1", "Event");
            obj
        }
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => crate::kinds::hpa::v2_to_v1(obj),
        _ => {
            let mut obj = obj.clone();
            if !def.preferred {
                set_gvk(&mut obj, &def.api_version(), &def.kind);
            }
            obj
        }
    }
}

/// Like [`from_storage`], sharing the stored object when no conversion is needed.
pub fn from_storage_arc(def: &ResourceDef, obj: &std::sync::Arc<Value>) -> std::sync::Arc<Value> {
    if needs_conversion(def) {
        std::sync::Arc::new(from_storage(def, obj))
    } else {
        obj.clone()
    }
}

/// Whether reading `def` needs a conversion of the stored object.
pub fn needs_conversion(def: &ResourceDef) -> bool {
    !def.preferred
}

fn set_gvk(obj: &mut Value, api_version: &str, kind: &str) {
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(api_version));
        m.insert("kind".into(), json!(kind));
    }
}

fn for_each_path(spec: &mut Map<String, Value>, mut f: impl FnMut(&mut Map<String, Value>)) {
    if let Some(rules) = spec.get_mut("rules").and_then(Value::as_array_mut) {
        for r in rules {
            if let Some(paths) = r
                .get_mut("http")
                .and_then(|h| h.get_mut("paths"))
                .and_then(Value::as_array_mut)
            {
                for p in paths.iter_mut().filter_map(Value::as_object_mut) {
                    f(p);
                }
            }
        }
    }
}

fn backend_to_v1(b: Value) -> Value {
    let Value::Object(mut m) = b else { return b };
    let name = m.remove("serviceName");
    let port = m.remove("servicePort");
    if let Some(name) = name {
        let port = match port {
            Some(Value::Number(n)) => json!({"number": n}),
            Some(Value::String(s)) => match s.parse::<i64>() {
                Ok(n) => json!({"number": n}),
                Err(_) => json!({"name": s}),
            },
            _ => json!({}),
        };
        m.insert("service".into(), json!({"name": name, "port": port}));
    }
    Value::Object(m)
}

fn backend_from_v1(b: Value) -> Value {
    let Value::Object(mut m) = b else { return b };
    if let Some(Value::Object(svc)) = m.remove("service") {
        if let Some(n) = svc.get("name") {
            m.insert("serviceName".into(), n.clone());
        }
        if let Some(p) = svc.get("port") {
            if let Some(n) = p.get("number") {
                m.insert("servicePort".into(), n.clone());
            } else if let Some(n) = p.get("name") {
                m.insert("servicePort".into(), n.clone());
            }
        }
    }
    Value::Object(m)
}
