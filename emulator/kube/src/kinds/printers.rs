//! `kubectl get` columns of the added kinds: the column definitions and cells of
//! kube-apiserver's printers (`pkg/printers/internalversion/printers.go`, kubernetes v1.32).
//!
//! Not modelled: HPA targets of `Object`, `Pods`, `External` and `ContainerResource` metrics are
//! shown as `<unknown>/<target>` without their per-type details.

use crate::registry::ResourceDef;
use crate::table::{
    age, arr, col, containers_images, human_duration, i, map_selector, or_none, s, selector_string,
};
use serde_json::{json, Value};

/// Column definitions of an added kind (`None` for every other kind).
pub fn columns(def: &ResourceDef) -> Option<Vec<Value>> {
    let c = col;
    let name = || c("Name", "string", 0);
    let agec = || c("Age", "string", 0);
    let wl = || {
        vec![
            c("Containers", "string", 1),
            c("Images", "string", 1),
            c("Selector", "string", 1),
        ]
    };
    let v = match (def.group.as_str(), def.kind.as_str()) {
        ("", "ReplicationController") => {
            let mut v = vec![
                name(),
                c("Desired", "integer", 0),
                c("Current", "integer", 0),
                c("Ready", "integer", 0),
                agec(),
            ];
            v.extend(wl());
            v
        }
        ("", "PodTemplate") => vec![
            name(),
            c("Containers", "string", 0),
            c("Images", "string", 0),
            c("Pod Labels", "string", 0),
        ],
        ("", "LimitRange")
        | ("rbac.authorization.k8s.io", "Role")
        | ("rbac.authorization.k8s.io", "ClusterRole") => {
            vec![name(), c("Created At", "date", 0)]
        }
        ("", "ResourceQuota") => vec![
            name(),
            c("Request", "string", 0),
            c("Limit", "string", 0),
            agec(),
        ],
        ("apps", "ControllerRevision") => vec![
            name(),
            c("Controller", "string", 0),
            c("Revision", "string", 0),
            agec(),
        ],
        ("batch", "Job") => {
            let mut v = vec![
                name(),
                c("Status", "string", 0),
                c("Completions", "string", 0),
                c("Duration", "string", 0),
                agec(),
            ];
            v.extend(wl());
            v
        }
        ("batch", "CronJob") => {
            let mut v = vec![
                name(),
                c("Schedule", "string", 0),
                c("Timezone", "string", 0),
                c("Suspend", "boolean", 0),
                c("Active", "integer", 0),
                c("Last Schedule", "string", 0),
                agec(),
            ];
            v.extend(wl());
            v
        }
        ("policy", "PodDisruptionBudget") => vec![
            name(),
            c("Min Available", "string", 0),
            c("Max Unavailable", "string", 0),
            c("Allowed Disruptions", "integer", 0),
            agec(),
        ],
        ("autoscaling", "HorizontalPodAutoscaler") => vec![
            name(),
            c("Reference", "string", 0),
            c("Targets", "string", 0),
            c("MinPods", "string", 0),
            c("MaxPods", "string", 0),
            c("Replicas", "string", 0),
            agec(),
        ],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            name(),
            c("Role", "string", 0),
            agec(),
            c("Users", "string", 1),
            c("Groups", "string", 1),
            c("ServiceAccounts", "string", 1),
        ],
        ("scheduling.k8s.io", "PriorityClass") => vec![
            name(),
            c("Value", "integer", 0),
            c("Global-Default", "boolean", 0),
            agec(),
            c("PreemptionPolicy", "string", 0),
        ],
        ("node.k8s.io", "RuntimeClass") => vec![name(), c("Handler", "string", 0), agec()],
        ("networking.k8s.io", "NetworkPolicy") => {
            vec![name(), c("Pod-Selector", "string", 0), agec()]
        }
        ("certificates.k8s.io", "CertificateSigningRequest") => vec![
            name(),
            agec(),
            c("SignerName", "string", 0),
            c("Requestor", "string", 0),
            c("RequestedDuration", "string", 0),
            c("Condition", "string", 0),
        ],
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration")
        | ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            vec![name(), c("Webhooks", "integer", 0), agec()]
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => vec![
            name(),
            c("Validations", "integer", 0),
            c("ParamKind", "string", 0),
            agec(),
        ],
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => vec![
            name(),
            c("PolicyName", "string", 0),
            c("ParamRef", "string", 0),
            agec(),
        ],
        _ => return None,
    };
    Some(v)
}

fn int_or_string(o: &Value, ptr: &str) -> String {
    match o.pointer(ptr) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "N/A".into(),
    }
}

fn bool_ptr(o: &Value, ptr: &str) -> String {
    match o.pointer(ptr).and_then(Value::as_bool) {
        Some(true) => "True".into(),
        Some(false) => "False".into(),
        None => "<unset>".into(),
    }
}

fn ms(o: &Value, ptr: &str) -> Option<u64> {
    o.pointer(ptr)
        .and_then(Value::as_str)
        .and_then(cloudbox_sim::time_fmt::parse_iso8601)
}

fn has_condition(o: &Value, ty: &str) -> bool {
    arr(o, "/status/conditions")
        .iter()
        .any(|c| s(c, "/type") == ty && s(c, "/status") == "True")
}

fn job_status(o: &Value) -> &'static str {
    if has_condition(o, "Complete") {
        "Complete"
    } else if has_condition(o, "Failed") {
        "Failed"
    } else if o.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else if has_condition(o, "Suspended") {
        "Suspended"
    } else if has_condition(o, "FailureTarget") {
        "FailureTarget"
    } else if has_condition(o, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    }
}

fn job_completions(o: &Value) -> String {
    let succeeded = i(o, "/status/succeeded");
    match o.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let p = i(o, "/spec/parallelism");
            if p > 1 {
                format!("{succeeded}/1 of {p}")
            } else {
                format!("{succeeded}/1")
            }
        }
    }
}

fn job_duration(o: &Value, now: u64) -> String {
    match (ms(o, "/status/startTime"), ms(o, "/status/completionTime")) {
        (None, _) => String::new(),
        (Some(st), None) => human_duration((now as i64 - st as i64) / 1000),
        (Some(st), Some(done)) => human_duration((done as i64 - st as i64) / 1000),
    }
}

fn subjects(o: &Value) -> (String, String, String) {
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for sub in arr(o, "/subjects") {
        match s(sub, "/kind").as_str() {
            "User" => users.push(s(sub, "/name")),
            "Group" => groups.push(s(sub, "/name")),
            "ServiceAccount" => sas.push(format!("{}/{}", s(sub, "/namespace"), s(sub, "/name"))),
            _ => {}
        }
    }
    (users.join(", "), groups.join(", "), sas.join(", "))
}

fn quota_columns(o: &Value) -> (String, String) {
    let mut keys: Vec<&String> = o
        .pointer("/spec/hard")
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    keys.sort();
    let (mut req, mut lim) = (Vec::new(), Vec::new());
    for k in keys {
        let get = |which: &str| match o
            .pointer(&format!("/status/{which}"))
            .and_then(|m| m.get(k))
        {
            Some(Value::String(s)) => s.clone(),
            Some(v) if !v.is_null() => v.to_string(),
            _ => "0".into(),
        };
        let cell = format!("{k}: {}/{}", get("used"), get("hard"));
        if k.split('.').next() == Some("limits") && k.contains('.') {
            lim.push(cell);
        } else {
            req.push(cell);
        }
    }
    (req.join(", "), lim.join(", "))
}

fn controller_of(o: &Value) -> String {
    arr(o, "/metadata/ownerReferences")
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| {
            let av = s(r, "/apiVersion");
            let group = av.split_once('/').map(|(g, _)| g).unwrap_or("");
            let kind = s(r, "/kind").to_lowercase();
            let gk = if group.is_empty() {
                kind
            } else {
                format!("{kind}.{group}")
            };
            format!("{gk}/{}", s(r, "/name"))
        })
        .unwrap_or_else(|| "<none>".into())
}

fn hpa_targets(o: &Value) -> String {
    let specs = arr(o, "/spec/metrics");
    if specs.is_empty() {
        return "<none>".into();
    }
    let statuses = arr(o, "/status/currentMetrics");
    let mut list = Vec::new();
    for (idx, m) in specs.iter().enumerate() {
        let st = statuses.get(idx);
        let cell = match s(m, "/type").as_str() {
            "Resource" | "ContainerResource" => {
                let base = if s(m, "/type") == "Resource" {
                    "/resource"
                } else {
                    "/containerResource"
                };
                let rname = s(m, &format!("{base}/name"));
                if let Some(av) = m.pointer(&format!("{base}/target/averageValue")) {
                    let cur = st
                        .and_then(|x| x.pointer(&format!("{base}/current/averageValue")))
                        .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                        .unwrap_or_else(|| "<unknown>".into());
                    let t = av.as_str().map(str::to_string).unwrap_or(av.to_string());
                    format!("{rname}: {cur}/{t}")
                } else {
                    let cur = st
                        .and_then(|x| x.pointer(&format!("{base}/current/averageUtilization")))
                        .and_then(Value::as_i64)
                        .map(|u| format!("{u}%"))
                        .unwrap_or_else(|| "<unknown>".into());
                    let t = m
                        .pointer(&format!("{base}/target/averageUtilization"))
                        .and_then(Value::as_i64)
                        .map(|u| format!("{u}%"))
                        .unwrap_or_else(|| "<auto>".into());
                    format!("{rname}: {cur}/{t}")
                }
            }
            _ => "<unknown>/<unknown>".into(),
        };
        list.push(cell);
    }
    let max = 2;
    if list.len() > max {
        let more = list.len() - max;
        list.truncate(max);
        return format!("{} + {more} more...", list.join(", "));
    }
    list.join(", ")
}

fn csr_condition(o: &Value) -> String {
    let has = |t: &str| {
        arr(o, "/status/conditions")
            .iter()
            .any(|c| s(c, "/type") == t)
    };
    let mut st = if has("Denied") {
        "Denied".to_string()
    } else if has("Approved") {
        "Approved".to_string()
    } else {
        "Pending".to_string()
    };
    if has("Failed") {
        st.push_str(",Failed");
    }
    if !s(o, "/status/certificate").is_empty() {
        st.push_str(",Issued");
    }
    st
}

/// Cells of one row of an added kind (served form).
pub fn cells(def: &ResourceDef, o: &Value, now: u64) -> Vec<Value> {
    let name = s(o, "/metadata/name");
    let ag = age(o, now, "/metadata/creationTimestamp");
    let created = s(o, "/metadata/creationTimestamp");
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "ReplicationController") => {
            let (cn, im) = containers_images(o, "/spec/template/spec/containers");
            vec![
                json!(name),
                json!(i(o, "/spec/replicas")),
                json!(i(o, "/status/replicas")),
                json!(i(o, "/status/readyReplicas")),
                json!(ag),
                json!(cn),
                json!(im),
                json!(map_selector(o.pointer("/spec/selector"))),
            ]
        }
        ("", "PodTemplate") => {
            let (cn, im) = containers_images(o, "/template/spec/containers");
            vec![
                json!(name),
                json!(cn),
                json!(im),
                json!(map_selector(o.pointer("/template/metadata/labels"))),
            ]
        }
        ("", "LimitRange")
        | ("rbac.authorization.k8s.io", "Role")
        | ("rbac.authorization.k8s.io", "ClusterRole") => vec![json!(name), json!(created)],
        ("", "ResourceQuota") => {
            let (req, lim) = quota_columns(o);
            vec![json!(name), json!(req), json!(lim), json!(ag)]
        }
        ("apps", "ControllerRevision") => vec![
            json!(name),
            json!(controller_of(o)),
            json!(i(o, "/revision")),
            json!(ag),
        ],
        ("batch", "Job") => {
            let (cn, im) = containers_images(o, "/spec/template/spec/containers");
            vec![
                json!(name),
                json!(job_status(o)),
                json!(job_completions(o)),
                json!(job_duration(o, now)),
                json!(ag),
                json!(cn),
                json!(im),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        ("batch", "CronJob") => {
            let (cn, im) = containers_images(o, "/spec/jobTemplate/spec/template/spec/containers");
            let last = if o.pointer("/status/lastScheduleTime").is_some() {
                age(o, now, "/status/lastScheduleTime")
            } else {
                "<none>".into()
            };
            vec![
                json!(name),
                json!(s(o, "/spec/schedule")),
                json!(or_none(s(o, "/spec/timeZone"))),
                json!(bool_ptr(o, "/spec/suspend")),
                json!(arr(o, "/status/active").len()),
                json!(last),
                json!(ag),
                json!(cn),
                json!(im),
                json!(selector_string(
                    o.pointer("/spec/jobTemplate/spec/selector")
                )),
            ]
        }
        ("policy", "PodDisruptionBudget") => vec![
            json!(name),
            json!(int_or_string(o, "/spec/minAvailable")),
            json!(int_or_string(o, "/spec/maxUnavailable")),
            json!(i(o, "/status/disruptionsAllowed")),
            json!(ag),
        ],
        ("autoscaling", "HorizontalPodAutoscaler") => {
            let min = o
                .pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .map(|m| m.to_string())
                .unwrap_or_else(|| "<unset>".into());
            let targets = if def.version == "v1" {
                // Served v1 objects carry targetCPUUtilizationPercentage only.
                let t = o
                    .pointer("/spec/targetCPUUtilizationPercentage")
                    .and_then(Value::as_i64)
                    .map(|u| format!("{u}%"))
                    .unwrap_or_else(|| "<auto>".into());
                let c = o
                    .pointer("/status/currentCPUUtilizationPercentage")
                    .and_then(Value::as_i64)
                    .map(|u| format!("{u}%"))
                    .unwrap_or_else(|| "<unknown>".into());
                format!("cpu: {c}/{t}")
            } else {
                hpa_targets(o)
            };
            vec![
                json!(name),
                json!(format!(
                    "{}/{}",
                    s(o, "/spec/scaleTargetRef/kind"),
                    s(o, "/spec/scaleTargetRef/name")
                )),
                json!(targets),
                json!(min),
                json!(i(o, "/spec/maxReplicas")),
                json!(i(o, "/status/currentReplicas")),
                json!(ag),
            ]
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            let (u, g, sa) = subjects(o);
            vec![
                json!(name),
                json!(format!(
                    "{}/{}",
                    s(o, "/roleRef/kind"),
                    s(o, "/roleRef/name")
                )),
                json!(ag),
                json!(u),
                json!(g),
                json!(sa),
            ]
        }
        ("scheduling.k8s.io", "PriorityClass") => vec![
            json!(name),
            json!(i(o, "/value")),
            json!(o
                .get("globalDefault")
                .and_then(Value::as_bool)
                .unwrap_or(false)),
            json!(ag),
            json!(s(o, "/preemptionPolicy")),
        ],
        ("node.k8s.io", "RuntimeClass") => vec![json!(name), json!(s(o, "/handler")), json!(ag)],
        ("networking.k8s.io", "NetworkPolicy") => vec![
            json!(name),
            json!(selector_string(o.pointer("/spec/podSelector"))),
            json!(ag),
        ],
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            let dur = o
                .pointer("/spec/expirationSeconds")
                .and_then(Value::as_i64)
                .map(human_duration)
                .unwrap_or_else(|| "<none>".into());
            vec![
                json!(name),
                json!(ag),
                json!(s(o, "/spec/signerName")),
                json!(s(o, "/spec/username")),
                json!(dur),
                json!(csr_condition(o)),
            ]
        }
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration")
        | ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            vec![json!(name), json!(arr(o, "/webhooks").len()), json!(ag)]
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            let pk = if o.pointer("/spec/paramKind").is_some() {
                format!(
                    "{}/{}",
                    s(o, "/spec/paramKind/apiVersion"),
                    s(o, "/spec/paramKind/kind")
                )
            } else {
                "<unset>".into()
            };
            vec![
                json!(name),
                json!(arr(o, "/spec/validations").len()),
                json!(pk),
                json!(ag),
            ]
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            let pr = if o.pointer("/spec/paramRef").is_some() {
                let n = s(o, "/spec/paramRef/name");
                let n = if n.is_empty() { "*".to_string() } else { n };
                let ns = s(o, "/spec/paramRef/namespace");
                if ns.is_empty() {
                    n
                } else {
                    format!("{ns}/{n}")
                }
            } else {
                "<unset>".into()
            };
            vec![
                json!(name),
                json!(s(o, "/spec/policyName")),
                json!(pr),
                json!(ag),
            ]
        }
        _ => vec![json!(name), json!(ag)],
    }
}
