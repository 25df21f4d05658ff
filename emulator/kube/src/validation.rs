//! Semantic validation of built-in kinds, answered as 422 Invalid with field causes in
//! kube-apiserver's wording: object names (DNS-1123 subdomain or label), label keys and values,
//! Pod containers and images, workload selectors matching their template, Service ports,
//! Ingress path types. This is a subset of upstream `pkg/apis/*/validation`; the rules chosen are
//! the ones manifests most often break.

use crate::error::Cause;
use serde_json::Value;

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/// Whether `s` is a DNS-1123 label (≤ 63, `[a-z0-9]([-a-z0-9]*[a-z0-9])?`).
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Whether `s` is a DNS-1123 subdomain (≤ 253, dot-separated parts of label characters). As
/// upstream's regex, a part may be longer than a label's 63 (`csi-<sha256 hex>`, 68, is valid).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

fn invalid(field: &str, value: &str, why: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        field,
        format!("Invalid value: \"{value}\": {why}"),
    )
}

fn required(field: &str, why: &str) -> Cause {
    let msg = if why.is_empty() {
        "Required value".to_string()
    } else {
        format!("Required value: {why}")
    };
    Cause::new("FieldValueRequired", field, msg)
}

/// Which name rule a kind's `metadata.name` follows.
fn name_is_label(group: &str, kind: &str) -> bool {
    matches!((group, kind), ("", "Namespace") | ("", "Service"))
}

fn valid_label_value(v: &str) -> bool {
    v.len() <= 63
        && (v.is_empty()
            || (v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric())))
}

fn valid_label_key(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    prefix.is_none_or(is_dns1123_subdomain) && !name.is_empty() && valid_label_value(name)
}

/// Validates metadata and the kind-specific rules. Custom resources get metadata checks only.
pub fn validate(group: &str, kind: &str, obj: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let meta = obj.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.is_empty() {
        out.push(required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else if name_is_label(group, kind) {
        if !is_dns1123_label(name) {
            out.push(invalid("metadata.name", name, DNS1123_LABEL_MSG));
        }
    } else if kind == "Event"
        || kind == "Lease"
        || group.ends_with(".k8s.io") && kind == "CSINode"
        || group == "rbac.authorization.k8s.io"
    {
        // Events, leases, CSINodes and RBAC objects (`system:discovery`) allow any
        // path-segment name.
        if name.contains('/') || name == "." || name == ".." {
            out.push(invalid("metadata.name", name, "may not contain '/'"));
        }
    } else if !is_dns1123_subdomain(name) {
        out.push(invalid("metadata.name", name, DNS1123_SUBDOMAIN_MSG));
    }
    if let Some(labels) = meta
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
    {
        for (k, v) in labels {
            if !valid_label_key(k) {
                out.push(invalid("metadata.labels", k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
            }
            let v = v.as_str().unwrap_or("");
            if !valid_label_value(v) {
                out.push(invalid("metadata.labels", v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
            }
        }
    }
    match (group, kind) {
        ("", "Pod") => {
            if let Some(spec) = obj.get("spec") {
                pod_spec(spec, "spec", &mut out);
            }
        }
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet") => {
            workload(obj, &mut out);
        }
        ("", "Service") => service(obj, &mut out),
        ("networking.k8s.io", "Ingress") => ingress(obj, &mut out),
        ("", "PersistentVolumeClaim") => {
            let modes = obj
                .get("spec")
                .and_then(|s| s.get("accessModes"))
                .and_then(Value::as_array);
            if modes.is_none_or(|m| m.is_empty()) {
                out.push(required("spec.accessModes", ""));
            }
            let storage = obj.pointer("/spec/resources/requests/storage");
            if storage.is_none() && obj.pointer("/spec/volumeName").is_none() {
                out.push(required("spec.resources[storage]", ""));
            }
        }
        _ => crate::kinds::strategy::validate(group, kind, obj, &mut out),
    }
    out
}

fn pod_spec(spec: &Value, path: &str, out: &mut Vec<Cause>) {
    let containers = spec.get("containers").and_then(Value::as_array);
    match containers {
        None => out.push(required(&format!("{path}.containers"), "")),
        Some(cs) if cs.is_empty() => out.push(required(&format!("{path}.containers"), "")),
        Some(cs) => {
            let mut seen = std::collections::BTreeSet::new();
            for (i, c) in cs.iter().enumerate() {
                let p = format!("{path}.containers[{i}]");
                let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                if name.is_empty() {
                    out.push(required(&format!("{p}.name"), ""));
                } else if !is_dns1123_label(name) {
                    out.push(invalid(&format!("{p}.name"), name, DNS1123_LABEL_MSG));
                } else if !seen.insert(name.to_string()) {
                    out.push(Cause::new(
                        "FieldValueDuplicate",
                        format!("{p}.name"),
                        format!("Duplicate value: \"{name}\""),
                    ));
                }
                if c.get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .trim()
                    .is_empty()
                {
                    out.push(required(&format!("{p}.image"), ""));
                }
                if let Some(ports) = c.get("ports").and_then(Value::as_array) {
                    for (j, port) in ports.iter().enumerate() {
                        let n = port
                            .get("containerPort")
                            .and_then(Value::as_i64)
                            .unwrap_or(0);
                        if !(1..=65535).contains(&n) {
                            out.push(invalid(
                                &format!("{p}.ports[{j}].containerPort"),
                                &n.to_string(),
                                "must be between 1 and 65535, inclusive",
                            ));
                        }
                    }
                }
            }
        }
    }
    if let Some(vols) = spec.get("volumes").and_then(Value::as_array) {
        for (i, v) in vols.iter().enumerate() {
            let name = v.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() {
                out.push(required(&format!("{path}.volumes[{i}].name"), ""));
            }
        }
    }
}

fn workload(obj: &Value, out: &mut Vec<Cause>) {
    let Some(spec) = obj.get("spec") else {
        out.push(required("spec", ""));
        return;
    };
    let selector = spec.get("selector");
    let empty_sel = selector.is_none_or(|s| {
        s.get("matchLabels")
            .and_then(Value::as_object)
            .is_none_or(|m| m.is_empty())
            && s.get("matchExpressions")
                .and_then(Value::as_array)
                .is_none_or(|m| m.is_empty())
    });
    if empty_sel {
        out.push(required("spec.selector", ""));
    } else if let Some(sel) = selector {
        let sel = crate::selectors::LabelSelector::from_object(sel);
        let tmpl = spec.get("template").cloned().unwrap_or(Value::Null);
        if !sel.matches(&tmpl) {
            let labels = tmpl
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or(Value::Null);
            out.push(Cause::new(
                "FieldValueInvalid",
                "spec.template.metadata.labels",
                format!("Invalid value: {labels}: `selector` does not match template `labels`"),
            ));
        }
    }
    if let Some(r) = spec.get("replicas").and_then(Value::as_i64) {
        if r < 0 {
            out.push(invalid(
                "spec.replicas",
                &r.to_string(),
                "must be greater than or equal to 0",
            ));
        }
    }
    match spec.get("template").and_then(|t| t.get("spec")) {
        Some(ps) => pod_spec(ps, "spec.template.spec", out),
        None => out.push(required("spec.template.spec.containers", "")),
    }
}

fn service(obj: &Value, out: &mut Vec<Cause>) {
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    if !matches!(
        ty,
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName"
    ) {
        out.push(Cause::new(
            "FieldValueNotSupported",
            "spec.type",
            format!("Unsupported value: \"{ty}\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""),
        ));
    }
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    let ports = spec.get("ports").and_then(Value::as_array);
    if ty != "ExternalName" && !headless && ports.is_none_or(|p| p.is_empty()) {
        out.push(required("spec.ports", ""));
    }
    if let Some(ports) = ports {
        let mut names = std::collections::BTreeSet::new();
        for (i, p) in ports.iter().enumerate() {
            let n = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            if !(1..=65535).contains(&n) {
                out.push(invalid(
                    &format!("spec.ports[{i}].port"),
                    &n.to_string(),
                    "must be between 1 and 65535, inclusive",
                ));
            }
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            if ports.len() > 1 && name.is_empty() {
                out.push(required(&format!("spec.ports[{i}].name"), ""));
            } else if !names.insert(name.to_string()) {
                out.push(Cause::new(
                    "FieldValueDuplicate",
                    format!("spec.ports[{i}].name"),
                    format!("Duplicate value: \"{name}\""),
                ));
            }
            if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
                if np != 0 && ty == "ClusterIP" {
                    out.push(Cause::new(
                        "FieldValueForbidden",
                        format!("spec.ports[{i}].nodePort"),
                        "Forbidden: may not be used when `type` is 'ClusterIP'",
                    ));
                }
            }
        }
    }
}

fn ingress(obj: &Value, out: &mut Vec<Cause>) {
    let rules = obj.pointer("/spec/rules").and_then(Value::as_array);
    for (i, r) in rules.into_iter().flatten().enumerate() {
        let paths = r.pointer("/http/paths").and_then(Value::as_array);
        for (j, p) in paths.into_iter().flatten().enumerate() {
            let f = format!("spec.rules[{i}].http.paths[{j}]");
            match p.get("pathType").and_then(Value::as_str) {
                None => out.push(required(&format!("{f}.pathType"), "pathType must be specified")),
                Some("Exact" | "Prefix" | "ImplementationSpecific") => {}
                Some(other) => out.push(Cause::new(
                    "FieldValueNotSupported",
                    format!("{f}.pathType"),
                    format!("Unsupported value: \"{other}\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\""),
                )),
            }
            if p.pointer("/backend/service").is_none() && p.pointer("/backend/resource").is_none() {
                out.push(required(&format!("{f}.backend"), "must specify a backend"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_containers() {
        let bad = json!({"metadata": {"name": "Bad_Name"}, "spec": {"containers": []}});
        let causes = validate("", "Pod", &bad);
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].field, "metadata.name");
        assert_eq!(causes[1].field, "spec.containers");
        assert!(is_dns1123_subdomain("a.b-c"));
        assert!(!is_dns1123_label("a.b"));
    }
}
