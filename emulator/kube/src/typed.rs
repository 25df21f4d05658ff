//! Typed decoding of built-in kinds through the k8s-openapi 1.32 structs: the object is
//! deserialized into its Rust type (type errors become 400 BadRequest like the real decoder's),
//! then serialized back. Fields the type does not know are dropped by that round trip and
//! reported as unknown fields (`spec.foo`, `spec.containers[0].bar`) for `fieldValidation`.

use crate::error::{KubeApiError, KubeResult};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Result of a typed round trip.
pub struct Decoded {
    /// The normalized object (unknown fields dropped).
    pub obj: Value,
    /// Paths of unknown fields, in input order.
    pub unknown: Vec<String>,
}

fn roundtrip<T: DeserializeOwned + Serialize>(
    kind: &str,
    api_version: &str,
    v: &Value,
) -> KubeResult<Decoded> {
    let typed: T = T::deserialize(v).map_err(|e| {
        KubeApiError::bad_request(format!(
            "{kind} in version \"{}\" cannot be handled as a {kind}: {e}",
            api_version.rsplit('/').next().unwrap_or(api_version)
        ))
    })?;
    let obj = serde_json::to_value(&typed).map_err(|e| KubeApiError::internal(e.to_string()))?;
    let mut unknown = Vec::new();
    diff_unknown(v, &obj, &mut Vec::new(), &mut unknown);
    Ok(Decoded { obj, unknown })
}

/// One step of a path into an object: a key or an array index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Renders a path as the decoder names fields (`spec.containers[0].bar`).
fn render(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Collects the fields of `input` the typed round trip dropped. The path is kept as steps and
/// rendered only for a field reported (this runs on every write of a built-in kind).
fn diff_unknown<'a>(
    input: &'a Value,
    typed: &Value,
    path: &mut Vec<Step<'a>>,
    out: &mut Vec<String>,
) {
    match (input, typed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(tv) => {
                        if matches!(v, Value::Object(_) | Value::Array(_)) {
                            path.push(Step::Key(k));
                            diff_unknown(v, tv, path, out);
                            path.pop();
                        }
                    }
                    None if v.is_null() => {}
                    None => {
                        // Maps with arbitrary keys (labels, data) round-trip whole, so a key
                        // missing from the typed output is an unknown struct field.
                        path.push(Step::Key(k));
                        out.push(render(path));
                        path.pop();
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if matches!(x, Value::Object(_) | Value::Array(_)) {
                    path.push(Step::Index(i));
                    diff_unknown(x, y, path, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// Round-trips a stored-form built-in object through its k8s-openapi type. Kinds without a
/// compiled-in type (custom resources) pass through unchanged.
pub fn decode(group: &str, kind: &str, v: &Value) -> KubeResult<Decoded> {
    use k8s_openapi::api::{
        admissionregistration::v1 as adm, apps::v1 as apps, autoscaling::v2 as hpa,
        batch::v1 as batch, certificates::v1 as cert, coordination::v1 as coord, core::v1 as core,
        discovery::v1 as disc, networking::v1 as net, node::v1 as node, policy::v1 as policy,
        rbac::v1 as rbac, scheduling::v1 as sched, storage::v1 as stor,
    };
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
    let av = v
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("v1")
        .to_string();
    macro_rules! rt {
        ($t:ty) => {
            roundtrip::<$t>(kind, &av, v)
        };
    }
    match (group, kind) {
        ("", "Namespace") => rt!(core::Namespace),
        ("", "Node") => rt!(core::Node),
        ("", "Pod") => rt!(core::Pod),
        ("", "Service") => rt!(core::Service),
        ("", "Endpoints") => rt!(core::Endpoints),
        ("", "ConfigMap") => rt!(core::ConfigMap),
        ("", "Secret") => rt!(core::Secret),
        ("", "ServiceAccount") => rt!(core::ServiceAccount),
        ("", "Event") => rt!(core::Event),
        ("", "PersistentVolume") => rt!(core::PersistentVolume),
        ("", "PersistentVolumeClaim") => rt!(core::PersistentVolumeClaim),
        ("apps", "Deployment") => rt!(apps::Deployment),
        ("apps", "ReplicaSet") => rt!(apps::ReplicaSet),
        ("apps", "DaemonSet") => rt!(apps::DaemonSet),
        ("apps", "StatefulSet") => rt!(apps::StatefulSet),
        ("storage.k8s.io", "StorageClass") => rt!(stor::StorageClass),
        ("storage.k8s.io", "VolumeAttachment") => rt!(stor::VolumeAttachment),
        ("storage.k8s.io", "CSINode") => rt!(stor::CSINode),
        ("storage.k8s.io", "CSIDriver") => rt!(stor::CSIDriver),
        ("networking.k8s.io", "Ingress") => rt!(net::Ingress),
        ("networking.k8s.io", "IngressClass") => rt!(net::IngressClass),
        ("discovery.k8s.io", "EndpointSlice") => rt!(disc::EndpointSlice),
        ("coordination.k8s.io", "Lease") => rt!(coord::Lease),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            // JSONSchemaProps' minimum/maximum/multipleOf are float64 upstream, which Go's JSON
            // encoder writes without a fraction when integral (`1`, not serde's `1.0`).
            rt!(ext::CustomResourceDefinition).map(|mut d| {
                integral_floats(&mut d.obj);
                d
            })
        }
        ("", "ReplicationController") => rt!(core::ReplicationController),
        ("", "PodTemplate") => rt!(core::PodTemplate),
        ("", "LimitRange") => rt!(core::LimitRange),
        ("", "ResourceQuota") => rt!(core::ResourceQuota),
        ("apps", "ControllerRevision") => rt!(apps::ControllerRevision),
        ("batch", "Job") => rt!(batch::Job),
        ("batch", "CronJob") => rt!(batch::CronJob),
        ("policy", "PodDisruptionBudget") => rt!(policy::PodDisruptionBudget),
        ("autoscaling", "HorizontalPodAutoscaler") => rt!(hpa::HorizontalPodAutoscaler),
        ("rbac.authorization.k8s.io", "Role") => rt!(rbac::Role),
        ("rbac.authorization.k8s.io", "ClusterRole") => rt!(rbac::ClusterRole),
        ("rbac.authorization.k8s.io", "RoleBinding") => rt!(rbac::RoleBinding),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => rt!(rbac::ClusterRoleBinding),
        ("scheduling.k8s.io", "PriorityClass") => rt!(sched::PriorityClass),
        ("node.k8s.io", "RuntimeClass") => rt!(node::RuntimeClass),
        ("networking.k8s.io", "NetworkPolicy") => rt!(net::NetworkPolicy),
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            rt!(cert::CertificateSigningRequest)
        }
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            rt!(adm::ValidatingWebhookConfiguration)
        }
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            rt!(adm::MutatingWebhookConfiguration)
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            rt!(adm::ValidatingAdmissionPolicy)
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            rt!(adm::ValidatingAdmissionPolicyBinding)
        }
        _ => Ok(Decoded {
            obj: v.clone(),
            unknown: Vec::new(),
        }),
    }
}

/// Writes integral floats as integers, as Go's `encoding/json` prints a float64 of 1 as `1`.
fn integral_floats(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Object(m) => m.values_mut().for_each(integral_floats),
        Value::Array(a) => a.iter_mut().for_each(integral_floats),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_reported_with_paths() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"x": "y"}},
            "spec": {"foo": 1, "containers": [{"name": "c", "image": "i", "bar": true}]}});
        let d = decode("", "Pod", &pod).ok();
        let mut unknown = d.map(|d| d.unknown).unwrap_or_default();
        unknown.sort();
        assert_eq!(
            unknown,
            vec!["spec.containers[0].bar".to_string(), "spec.foo".to_string()]
        );
    }

    #[test]
    fn crd_schema_bounds_print_as_go_does() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "ws.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "ws", "kind": "W"},
                "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                    "type": "object", "properties": {"n": {"type": "number", "minimum": 1, "maximum": 2.5}}}}}]}});
        let d = decode("apiextensions.k8s.io", "CustomResourceDefinition", &crd).ok();
        let props = d.map(|d| {
            d.obj["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["n"].clone()
        });
        assert_eq!(
            props,
            Some(json!({"type": "number", "minimum": 1, "maximum": 2.5}))
        );
    }

    #[test]
    fn type_errors_are_bad_requests() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": "x"}});
        let e = decode("", "Pod", &pod).err();
        assert_eq!(e.map(|e| e.code), Some(400));
    }
}
