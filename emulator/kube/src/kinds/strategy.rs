//! Per-kind defaults and validation of the added kinds, as upstream's `SetDefaults_*` functions
//! and `pkg/apis/<group>/validation` (the rules manifests most often break), plus the Job
//! selector generated on create (`pkg/registry/batch/job/strategy.go`, `generateSelector`).
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/apis/core/v1/defaults.go` (ReplicationController,
//! LimitRangeItem), `pkg/apis/batch/v1/defaults.go`, `pkg/apis/autoscaling/v2/defaults.go`,
//! `pkg/apis/networking/v1/defaults.go`, `pkg/apis/scheduling/v1/defaults.go`,
//! `pkg/apis/admissionregistration/v1/defaults.go`, and the matching validation packages.
//!
//! Not modelled: every other validation rule of these kinds (they are type-checked by the
//! k8s-openapi round trip only).

use crate::defaults::{set_default, template};
use crate::error::Cause;
use serde_json::{json, Map, Value};

fn spec_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let m = obj.as_object_mut()?;
    let e = m.entry("spec").or_insert_with(|| json!({}));
    if e.is_null() {
        *e = json!({});
    }
    e.as_object_mut()
}

/// Applies the upstream defaults of an added kind (stored form, after the typed round trip).
pub fn default(group: &str, kind: &str, obj: &mut Value) {
    match (group, kind) {
        ("", "ReplicationController") => replication_controller(obj),
        ("", "PodTemplate") => {
            if let Some(m) = obj.as_object_mut() {
                template(m);
            }
        }
        ("", "LimitRange") => limit_range(obj),
        ("batch", "Job") => {
            if let Some(spec) = spec_mut(obj) {
                job_spec(spec);
            }
        }
        ("batch", "CronJob") => {
            if let Some(spec) = spec_mut(obj) {
                set_default(spec, "concurrencyPolicy", json!("Allow"));
                set_default(spec, "suspend", json!(false));
                set_default(spec, "successfulJobsHistoryLimit", json!(3));
                set_default(spec, "failedJobsHistoryLimit", json!(1));
                if let Some(js) = spec
                    .get_mut("jobTemplate")
                    .and_then(|t| t.get_mut("spec"))
                    .and_then(Value::as_object_mut)
                {
                    template(js);
                }
            }
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            if let Some(spec) = spec_mut(obj) {
                hpa_spec(spec);
            }
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            if let Some(spec) = spec_mut(obj) {
                network_policy(spec);
            }
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            if let Some(m) = obj.as_object_mut() {
                set_default(m, "preemptionPolicy", json!("PreemptLowerPriority"));
            }
        }
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => webhooks(obj, false),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => webhooks(obj, true),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            if let Some(spec) = spec_mut(obj) {
                set_default(spec, "failurePolicy", json!("Fail"));
                if let Some(mc) = spec
                    .get_mut("matchConstraints")
                    .and_then(Value::as_object_mut)
                {
                    match_resources(mc);
                }
            }
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            if let Some(mr) = obj
                .pointer_mut("/spec/matchResources")
                .and_then(Value::as_object_mut)
            {
                match_resources(mr);
            }
        }
        _ => {}
    }
}

/// `SetDefaults_ReplicationController`: selector and labels from the template, one replica.
fn replication_controller(obj: &mut Value) {
    let tlabels = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        .cloned();
    if let Some(spec) = spec_mut(obj) {
        set_default(spec, "replicas", json!(1));
        if let Some(l) = &tlabels {
            if spec
                .get("selector")
                .and_then(Value::as_object)
                .is_none_or(|m| m.is_empty())
            {
                spec.insert("selector".into(), l.clone());
            }
        }
        template(spec);
    }
    if let Some(l) = tlabels {
        let has_labels = obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty());
        if !has_labels {
            if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                m.insert("labels".into(), l);
            }
        }
    }
}

/// `SetDefaults_LimitRangeItem`: `default` from `max`, `defaultRequest` from `default`, for
/// Container items.
fn limit_range(obj: &mut Value) {
    let Some(items) = obj
        .pointer_mut("/spec/limits")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        if item.get("type").and_then(Value::as_str) != Some("Container") {
            continue;
        }
        let max = item.get("max").and_then(Value::as_object).cloned();
        let default = item
            .entry("default")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|d| {
                for (k, v) in max.iter().flatten() {
                    d.entry(k.clone()).or_insert_with(|| v.clone());
                }
                d.clone()
            })
            .unwrap_or_default();
        if let Some(dr) = item
            .entry("defaultRequest")
            .or_insert_with(|| json!({}))
            .as_object_mut()
        {
            for (k, v) in &default {
                dr.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        for k in ["default", "defaultRequest"] {
            if item
                .get(k)
                .and_then(Value::as_object)
                .is_some_and(|m| m.is_empty())
            {
                item.remove(k);
            }
        }
    }
}

/// `SetDefaults_Job` on a JobSpec.
pub(crate) fn job_spec(spec: &mut Map<String, Value>) {
    let unset = |spec: &Map<String, Value>, k: &str| spec.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    if unset(spec, "backoffLimitPerIndex") {
        set_default(spec, "backoffLimit", json!(6));
    }
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let policy = if unset(spec, "podFailurePolicy") {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    set_default(spec, "podReplacementPolicy", json!(policy));
    template(spec);
}

/// The selector and template labels a Job gets on create unless `manualSelector` is true
/// (`generateSelector`): `batch.kubernetes.io/controller-uid` selects, `job-name` and the legacy
/// unprefixed labels are added to the template.
pub fn generate_job_selector(obj: &mut Value, uid: &str) {
    if obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(spec) = spec_mut(obj) else { return };
    let labels = spec
        .entry("template")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .and_then(|t| {
            let m = t.entry("metadata").or_insert_with(|| json!({}));
            m.as_object_mut()
        })
        .and_then(|m| {
            let l = m.entry("labels").or_insert_with(|| json!({}));
            if l.is_null() {
                *l = json!({});
            }
            l.as_object_mut()
        });
    if let Some(l) = labels {
        l.insert("batch.kubernetes.io/controller-uid".into(), json!(uid));
        l.insert("batch.kubernetes.io/job-name".into(), json!(name));
        l.insert("controller-uid".into(), json!(uid));
        l.insert("job-name".into(), json!(name));
    }
    if spec.get("selector").is_none_or(Value::is_null) {
        spec.insert(
            "selector".into(),
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
        );
    }
}

/// `autoscaling/v2` `SetDefaults_HorizontalPodAutoscaler`: one minimum replica, 80% CPU when no
/// metric is given, scaling rules filled in when `behavior` is given.
fn hpa_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "minReplicas", json!(1));
    if spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(|m| m.is_empty())
    {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    if let Some(b) = spec.get_mut("behavior").and_then(Value::as_object_mut) {
        let up = b.entry("scaleUp").or_insert_with(|| json!({}));
        if let Some(up) = up.as_object_mut() {
            set_default(up, "stabilizationWindowSeconds", json!(0));
            set_default(up, "selectPolicy", json!("Max"));
            set_default(
                up,
                "policies",
                json!([{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]),
            );
        }
        let down = b.entry("scaleDown").or_insert_with(|| json!({}));
        if let Some(down) = down.as_object_mut() {
            set_default(down, "stabilizationWindowSeconds", json!(300));
            set_default(down, "selectPolicy", json!("Max"));
            set_default(
                down,
                "policies",
                json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
            );
        }
    }
}

/// `SetDefaults_NetworkPolicySpec` and port protocols.
fn network_policy(spec: &mut Map<String, Value>) {
    set_default(spec, "podSelector", json!({}));
    if spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_none_or(|a| a.is_empty())
    {
        let mut types = vec![json!("Ingress")];
        if spec.get("egress").and_then(Value::as_array).is_some() {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), json!(types));
    }
    for dir in ["ingress", "egress"] {
        for rule in spec
            .get_mut(dir)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            for p in rule
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object_mut)
            {
                set_default(p, "protocol", json!("TCP"));
            }
        }
    }
}

fn match_resources(m: &mut Map<String, Value>) {
    set_default(m, "matchPolicy", json!("Equivalent"));
    set_default(m, "namespaceSelector", json!({}));
    set_default(m, "objectSelector", json!({}));
}

/// `SetDefaults_ValidatingWebhook` / `SetDefaults_MutatingWebhook` and their rules' scope.
fn webhooks(obj: &mut Value, mutating: bool) {
    let Some(hooks) = obj.get_mut("webhooks").and_then(Value::as_array_mut) else {
        return;
    };
    for h in hooks.iter_mut().filter_map(Value::as_object_mut) {
        set_default(h, "failurePolicy", json!("Fail"));
        match_resources(h);
        set_default(h, "timeoutSeconds", json!(10));
        if mutating {
            set_default(h, "reinvocationPolicy", json!("Never"));
        }
        for r in h
            .get_mut("rules")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            set_default(r, "scope", json!("*"));
        }
        if let Some(svc) = h
            .get_mut("clientConfig")
            .and_then(|c| c.get_mut("service"))
            .and_then(Value::as_object_mut)
        {
            set_default(svc, "port", json!(443));
        }
    }
}

fn required(field: &str, why: &str) -> Cause {
    let msg = if why.is_empty() {
        "Required value".to_string()
    } else {
        format!("Required value: {why}")
    };
    Cause::new("FieldValueRequired", field, msg)
}

/// The validation rules of the added kinds that manifests most often break.
pub fn validate(group: &str, kind: &str, obj: &Value, out: &mut Vec<Cause>) {
    match (group, kind) {
        ("batch", "Job") => {
            job_restart_policy(obj, "spec.template.spec", "/spec/template/spec", out)
        }
        ("batch", "CronJob") => {
            if obj
                .pointer("/spec/schedule")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                out.push(required("spec.schedule", ""));
            }
            job_restart_policy(
                obj,
                "spec.jobTemplate.spec.template.spec",
                "/spec/jobTemplate/spec/template/spec",
                out,
            );
        }
        ("policy", "PodDisruptionBudget")
            if obj.pointer("/spec/minAvailable").is_some()
                && obj.pointer("/spec/maxUnavailable").is_some() =>
        {
            out.push(Cause::new(
                "FieldValueInvalid",
                "spec",
                "Invalid value: policy.PodDisruptionBudgetSpec{...}: minAvailable and maxUnavailable cannot be both set",
            ));
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            for f in ["kind", "name"] {
                if obj
                    .pointer(&format!("/roleRef/{f}"))
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    out.push(required(&format!("roleRef.{f}"), ""));
                }
            }
            let rk = obj.pointer("/roleRef/kind").and_then(Value::as_str);
            if kind == "ClusterRoleBinding" && rk.is_some_and(|k| k != "ClusterRole") {
                out.push(Cause::new(
                    "FieldValueNotSupported",
                    "roleRef.kind",
                    format!(
                        "Unsupported value: \"{}\": supported values: \"ClusterRole\"",
                        rk.unwrap_or("")
                    ),
                ));
            }
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let value = obj.get("value").and_then(Value::as_i64).unwrap_or(0);
            if !crate::kinds::rbac::is_system_priority_class(name) {
                if name.starts_with("system-") {
                    out.push(Cause::new(
                        "FieldValueForbidden",
                        "metadata.name",
                        "Forbidden: priority class names with 'system-' prefix are reserved for system use only",
                    ));
                } else if value > 1_000_000_000 {
                    out.push(Cause::new(
                        "FieldValueForbidden",
                        "value",
                        "Forbidden: maximum allowed value of a user defined priority is 1000000000",
                    ));
                }
            }
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            let min = obj
                .pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let max = obj
                .pointer("/spec/maxReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if max < min {
                out.push(Cause::new(
                    "FieldValueInvalid",
                    "spec.maxReplicas",
                    format!("Invalid value: {max}: must be greater than or equal to `minReplicas`"),
                ));
            }
        }
        _ => {}
    }
}

fn job_restart_policy(obj: &Value, field: &str, ptr: &str, out: &mut Vec<Cause>) {
    let rp = obj
        .pointer(&format!("{ptr}/restartPolicy"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if rp != "OnFailure" && rp != "Never" {
        out.push(Cause::new(
            "FieldValueNotSupported",
            format!("{field}.restartPolicy"),
            format!("Unsupported value: \"{rp}\": supported values: \"OnFailure\", \"Never\""),
        ));
    }
}
