//! `kubectl get` columns of the kinds added by issue 7: each kind's [`Printer`] (column
//! definitions and row function) as kube-apiserver's printers have them; a kind's strategy
//! returns its printer from [`crate::kinds::strategy::Strategy::table`].
//!
//! Upstream: kubernetes v1.32, pkg/printers/internalversion/printers.go (`AddHandlers`,
//! `printReplicationController`, `printPodTemplate`, `printJob`, `printCronJob`, ...).
//!
//! Not modelled: HPA targets of `Object`, `Pods`, `External` and `ContainerResource` metrics are
//! shown as `<unknown>/<target>` without their per-type details.

use crate::registry::ResourceDef;
use crate::table::{
    age, age_cell, arr, column as c, containers_images, human_duration, i, map_selector, name,
    or_none, s, selector_string, Printer,
};
use serde_json::{json, Value};

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

/// ReplicationControllers (`printReplicationController`).
pub static REPLICATION_CONTROLLER: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Desired", "integer", 0),
        c("Current", "integer", 0),
        c("Ready", "integer", 0),
        c("Age", "string", 0),
        c("Containers", "string", 1),
        c("Images", "string", 1),
        c("Selector", "string", 1),
    ],
    row: |_, o, now| {
        let (cn, im) = containers_images(o, "/spec/template/spec/containers");
        vec![
            name(o),
            json!(i(o, "/spec/replicas")),
            json!(i(o, "/status/replicas")),
            json!(i(o, "/status/readyReplicas")),
            age_cell(o, now),
            json!(cn),
            json!(im),
            json!(map_selector(o.pointer("/spec/selector"))),
        ]
    },
};

/// PodTemplates (`printPodTemplate`).
pub static POD_TEMPLATE: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Containers", "string", 0),
        c("Images", "string", 0),
        c("Pod Labels", "string", 0),
    ],
    row: |_, o, _| {
        let (cn, im) = containers_images(o, "/template/spec/containers");
        vec![
            name(o),
            json!(cn),
            json!(im),
            json!(map_selector(o.pointer("/template/metadata/labels"))),
        ]
    },
};

/// LimitRanges, Roles and ClusterRoles (NAME, CREATED AT).
pub static CREATED_AT: Printer = Printer {
    columns: &[c("Name", "string", 0), c("Created At", "date", 0)],
    row: |_, o, _| vec![name(o), json!(s(o, "/metadata/creationTimestamp"))],
};

/// ResourceQuotas (`printResourceQuota`).
pub static RESOURCE_QUOTA: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Request", "string", 0),
        c("Limit", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
        let (req, lim) = quota_columns(o);
        vec![name(o), json!(req), json!(lim), age_cell(o, now)]
    },
};

/// ControllerRevisions (`printControllerRevision`).
pub static CONTROLLER_REVISION: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Controller", "string", 0),
        c("Revision", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
        vec![
            name(o),
            json!(controller_of(o)),
            json!(i(o, "/revision")),
            age_cell(o, now),
        ]
    },
};

/// Jobs (`printJob`).
pub static JOB: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Status", "string", 0),
        c("Completions", "string", 0),
        c("Duration", "string", 0),
        c("Age", "string", 0),
        c("Containers", "string", 1),
        c("Images", "string", 1),
        c("Selector", "string", 1),
    ],
    row: |_, o, now| {
        let (cn, im) = containers_images(o, "/spec/template/spec/containers");
        vec![
            name(o),
            json!(job_status(o)),
            json!(job_completions(o)),
            json!(job_duration(o, now)),
            age_cell(o, now),
            json!(cn),
            json!(im),
            json!(selector_string(o.pointer("/spec/selector"))),
        ]
    },
};

/// CronJobs (`printCronJob`).
pub static CRON_JOB: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Schedule", "string", 0),
        c("Timezone", "string", 0),
        c("Suspend", "boolean", 0),
        c("Active", "integer", 0),
        c("Last Schedule", "string", 0),
        c("Age", "string", 0),
        c("Containers", "string", 1),
        c("Images", "string", 1),
        c("Selector", "string", 1),
    ],
    row: |_, o, now| {
        let (cn, im) = containers_images(o, "/spec/jobTemplate/spec/template/spec/containers");
        let last = if o.pointer("/status/lastScheduleTime").is_some() {
            age(o, now, "/status/lastScheduleTime")
        } else {
            "<none>".into()
        };
        vec![
            name(o),
            json!(s(o, "/spec/schedule")),
            json!(or_none(s(o, "/spec/timeZone"))),
            json!(bool_ptr(o, "/spec/suspend")),
            json!(arr(o, "/status/active").len()),
            json!(last),
            age_cell(o, now),
            json!(cn),
            json!(im),
            json!(selector_string(
                o.pointer("/spec/jobTemplate/spec/selector")
            )),
        ]
    },
};

/// PodDisruptionBudgets (`printPodDisruptionBudget`).
pub static POD_DISRUPTION_BUDGET: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Min Available", "string", 0),
        c("Max Unavailable", "string", 0),
        c("Allowed Disruptions", "integer", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
        vec![
            name(o),
            json!(int_or_string(o, "/spec/minAvailable")),
            json!(int_or_string(o, "/spec/maxUnavailable")),
            json!(i(o, "/status/disruptionsAllowed")),
            age_cell(o, now),
        ]
    },
};

/// HorizontalPodAutoscalers (`printHorizontalPodAutoscaler`); served v1 objects carry
/// `targetCPUUtilizationPercentage` only.
pub static HORIZONTAL_POD_AUTOSCALER: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Reference", "string", 0),
        c("Targets", "string", 0),
        c("MinPods", "string", 0),
        c("MaxPods", "string", 0),
        c("Replicas", "string", 0),
        c("Age", "string", 0),
    ],
    row: hpa_row,
};

fn hpa_row(def: &ResourceDef, o: &Value, now: u64) -> Vec<Value> {
    let min = o
        .pointer("/spec/minReplicas")
        .and_then(Value::as_i64)
        .map(|m| m.to_string())
        .unwrap_or_else(|| "<unset>".into());
    let targets = if def.version == "v1" {
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
        name(o),
        json!(format!(
            "{}/{}",
            s(o, "/spec/scaleTargetRef/kind"),
            s(o, "/spec/scaleTargetRef/name")
        )),
        json!(targets),
        json!(min),
        json!(i(o, "/spec/maxReplicas")),
        json!(i(o, "/status/currentReplicas")),
        age_cell(o, now),
    ]
}

/// RoleBindings and ClusterRoleBindings (`printRoleBinding`, `printClusterRoleBinding`).
pub static ROLE_BINDING: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Role", "string", 0),
        c("Age", "string", 0),
        c("Users", "string", 1),
        c("Groups", "string", 1),
        c("ServiceAccounts", "string", 1),
    ],
    row: |_, o, now| {
        let (u, g, sa) = subjects(o);
        vec![
            name(o),
            json!(format!(
                "{}/{}",
                s(o, "/roleRef/kind"),
                s(o, "/roleRef/name")
            )),
            age_cell(o, now),
            json!(u),
            json!(g),
            json!(sa),
        ]
    },
};

/// PriorityClasses (`printPriorityClass`).
pub static PRIORITY_CLASS: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Value", "integer", 0),
        c("Global-Default", "boolean", 0),
        c("Age", "string", 0),
        c("PreemptionPolicy", "string", 0),
    ],
    row: |_, o, now| {
        vec![
            name(o),
            json!(i(o, "/value")),
            json!(o
                .get("globalDefault")
                .and_then(Value::as_bool)
                .unwrap_or(false)),
            age_cell(o, now),
            json!(s(o, "/preemptionPolicy")),
        ]
    },
};

/// RuntimeClasses (`printRuntimeClass`).
pub static RUNTIME_CLASS: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Handler", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| vec![name(o), json!(s(o, "/handler")), age_cell(o, now)],
};

/// NetworkPolicies (`printNetworkPolicy`).
pub static NETWORK_POLICY: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Pod-Selector", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
        vec![
            name(o),
            json!(selector_string(o.pointer("/spec/podSelector"))),
            age_cell(o, now),
        ]
    },
};

/// CertificateSigningRequests (`printCertificateSigningRequest`).
pub static CERTIFICATE_SIGNING_REQUEST: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Age", "string", 0),
        c("SignerName", "string", 0),
        c("Requestor", "string", 0),
        c("RequestedDuration", "string", 0),
        c("Condition", "string", 0),
    ],
    row: |_, o, now| {
        let dur = o
            .pointer("/spec/expirationSeconds")
            .and_then(Value::as_i64)
            .map(human_duration)
            .unwrap_or_else(|| "<none>".into());
        vec![
            name(o),
            age_cell(o, now),
            json!(s(o, "/spec/signerName")),
            json!(s(o, "/spec/username")),
            json!(dur),
            json!(csr_condition(o)),
        ]
    },
};

/// Validating and mutating webhook configurations (`printValidatingWebhook`,
/// `printMutatingWebhook`).
pub static WEBHOOK_CONFIGURATION: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Webhooks", "integer", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| vec![name(o), json!(arr(o, "/webhooks").len()), age_cell(o, now)],
};

/// ValidatingAdmissionPolicies (`printValidatingAdmissionPolicy`).
pub static VALIDATING_ADMISSION_POLICY: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Validations", "integer", 0),
        c("ParamKind", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
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
            name(o),
            json!(arr(o, "/spec/validations").len()),
            json!(pk),
            age_cell(o, now),
        ]
    },
};

/// ValidatingAdmissionPolicyBindings (`printValidatingAdmissionPolicyBinding`).
pub static VALIDATING_ADMISSION_POLICY_BINDING: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("PolicyName", "string", 0),
        c("ParamRef", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
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
            name(o),
            json!(s(o, "/spec/policyName")),
            json!(pr),
            age_cell(o, now),
        ]
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::TableConvertor;

    fn def(kind: &str) -> ResourceDef {
        crate::registry::Registry::builtin()
            .all()
            .find(|d| d.kind == kind)
            .map(|d| (**d).clone())
            .unwrap_or_else(|| panic!("no kind {kind}"))
    }

    fn check(p: &Printer, kind: &str, obj: Value) -> Vec<Value> {
        let d = def(kind);
        let cells = p.cells(&d, &obj, 0);
        assert_eq!(cells.len(), p.columns(&d).len(), "{kind}");
        cells
    }

    #[test]
    fn workload_rows() {
        let rc =
            json!({"spec": {"replicas": 2, "selector": {"app": "w"}}, "status": {"replicas": 1}});
        let cells = check(&REPLICATION_CONTROLLER, "ReplicationController", rc);
        assert_eq!(
            (cells[1].clone(), cells[2].clone(), cells[7].clone()),
            (json!(2), json!(1), json!("app=w"))
        );
        let pt = json!({"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}});
        assert_eq!(
            check(&POD_TEMPLATE, "PodTemplate", pt)[1..4],
            [json!("c"), json!("i"), json!("a=b")]
        );
        let cr = json!({"revision": 3, "metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "controller": true}]}});
        assert_eq!(
            check(&CONTROLLER_REVISION, "ControllerRevision", cr)[1..3],
            [json!("daemonset.apps/ds"), json!(3)]
        );
    }

    #[test]
    fn batch_rows() {
        let job = json!({"spec": {"completions": 3}, "status": {"succeeded": 1}});
        assert_eq!(
            check(&JOB, "Job", job)[1..3],
            [json!("Running"), json!("1/3")]
        );
        let done = json!({"spec": {"parallelism": 2}, "status": {"succeeded": 2, "conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(
            check(&JOB, "Job", done)[1..3],
            [json!("Complete"), json!("2/1 of 2")]
        );
        let cj = json!({"spec": {"schedule": "*/5 * * * *", "suspend": false}});
        assert_eq!(
            check(&CRON_JOB, "CronJob", cj)[1..6],
            [
                json!("*/5 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(0),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn policy_and_rbac_rows() {
        let pdb = json!({"spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(
            check(&POD_DISRUPTION_BUDGET, "PodDisruptionBudget", pdb)[1..4],
            [json!("50%"), json!("N/A"), json!(1)]
        );
        let rb = json!({"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "namespace": "d", "name": "s"}]});
        let cells = check(&ROLE_BINDING, "RoleBinding", rb);
        assert_eq!(
            (cells[1].clone(), cells[3].clone(), cells[5].clone()),
            (json!("ClusterRole/view"), json!("u"), json!("d/s"))
        );
        assert_eq!(
            check(
                &CREATED_AT,
                "ClusterRole",
                json!({"metadata": {"creationTimestamp": "t"}})
            )[1],
            json!("t")
        );
        let q = json!({"spec": {"hard": {"pods": "10", "limits.cpu": "2"}}, "status": {"used": {"pods": "1"}, "hard": {"pods": "10", "limits.cpu": "2"}}});
        assert_eq!(
            check(&RESOURCE_QUOTA, "ResourceQuota", q)[1..3],
            [json!("pods: 1/10"), json!("limits.cpu: 0/2")]
        );
    }

    #[test]
    fn hpa_rows_by_version() {
        let reg = crate::registry::Registry::builtin();
        let v1 = reg
            .get("autoscaling", "v1", "horizontalpodautoscalers")
            .map(|d| (*d).clone());
        let v2 = reg
            .get("autoscaling", "v2", "horizontalpodautoscalers")
            .map(|d| (*d).clone());
        let (Some(v1), Some(v2)) = (v1, v2) else {
            panic!("hpa versions")
        };
        let o1 = json!({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "w"}, "targetCPUUtilizationPercentage": 70, "maxReplicas": 5}});
        let cells = HORIZONTAL_POD_AUTOSCALER.cells(&v1, &o1, 0);
        assert_eq!(
            cells[1..5],
            [
                json!("Deployment/w"),
                json!("cpu: <unknown>/70%"),
                json!("<unset>"),
                json!(5)
            ]
        );
        let o2 = json!({"spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 80}}}]}});
        assert_eq!(
            HORIZONTAL_POD_AUTOSCALER.cells(&v2, &o2, 0)[2],
            json!("cpu: <unknown>/80%")
        );
    }

    #[test]
    fn cluster_rows() {
        let pc = json!({"value": 1000, "globalDefault": true, "preemptionPolicy": "Never"});
        assert_eq!(
            check(&PRIORITY_CLASS, "PriorityClass", pc)[1..3],
            [json!(1000), json!(true)]
        );
        assert_eq!(
            check(&RUNTIME_CLASS, "RuntimeClass", json!({"handler": "runc"}))[1],
            json!("runc")
        );
        let np = json!({"spec": {"podSelector": {"matchLabels": {"a": "b"}}}});
        assert_eq!(check(&NETWORK_POLICY, "NetworkPolicy", np)[1], json!("a=b"));
        let csr = json!({"spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "u", "expirationSeconds": 3600},
            "status": {"conditions": [{"type": "Approved"}], "certificate": "x"}});
        let cells = check(
            &CERTIFICATE_SIGNING_REQUEST,
            "CertificateSigningRequest",
            csr,
        );
        assert_eq!(
            cells[2..6],
            [
                json!("kubernetes.io/kube-apiserver-client"),
                json!("u"),
                json!("60m"),
                json!("Approved,Issued")
            ]
        );
        let wh = json!({"webhooks": [{}, {}]});
        assert_eq!(
            check(&WEBHOOK_CONFIGURATION, "ValidatingWebhookConfiguration", wh)[1],
            json!(2)
        );
        let vap = json!({"spec": {"validations": [{}], "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}}});
        assert_eq!(
            check(
                &VALIDATING_ADMISSION_POLICY,
                "ValidatingAdmissionPolicy",
                vap
            )[1..3],
            [json!(1), json!("v1/ConfigMap")]
        );
        let vapb = json!({"spec": {"policyName": "p", "paramRef": {"namespace": "d"}}});
        assert_eq!(
            check(
                &VALIDATING_ADMISSION_POLICY_BINDING,
                "ValidatingAdmissionPolicyBinding",
                vapb
            )[1..3],
            [json!("p"), json!("d/*")]
        );
    }
}
