//! The per-kind strategy: one trait holding what kube-apiserver's `pkg/registry/<group>/<kind>/
//! strategy.go` files hold (PrepareForCreate, PrepareForUpdate, Validate, defaults, status reset,
//! AllowCreateOnUpdate, AllowUnconditionalUpdate, DefaultGarbageCollectionPolicy, graceful
//! deletion), plus the store-side hooks of the kinds whose REST storage wraps the generic store
//! (Service address allocation, CustomResourceDefinition registration, namespace termination),
//! and what kube-apiserver keeps beside the strategy in each kind's REST storage: its Table
//! convertor ([`Strategy::table`]), its field labels ([`Strategy::field_labels`], the field
//! label conversion and `GetAttrs`) and its subresources ([`Strategy::subresources`]).
//! [`for_kind`] looks a kind's strategy up in [`crate::kinds::catalog`]; `ops`, `handlers`,
//! `table` and `selectors` call only the trait, never a kind name. [`Described`] is the strategy
//! of kinds whose only rules are data. The second half of this file keeps the defaults and
//! validation rules of the kinds added by issue 7.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `staging/src/k8s.io/apiserver/pkg/registry/rest/{create,
//! update,delete}.go`, `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`,
//! `pkg/registry/core/{pod,service,namespace,node,persistentvolume,persistentvolumeclaim,
//! replicationcontroller}/strategy.go`, `pkg/registry/batch/job/strategy.go`,
//! `staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresourcedefinition/strategy.go`,
//! `pkg/apis/core/v1/defaults.go` (ReplicationController, LimitRangeItem),
//! `pkg/apis/batch/v1/defaults.go`, `pkg/apis/autoscaling/v2/defaults.go`,
//! `pkg/apis/networking/v1/defaults.go`, `pkg/apis/scheduling/v1/defaults.go`,
//! `pkg/apis/admissionregistration/v1/defaults.go`, and the matching validation packages.
//!
//! Not modelled: ValidateUpdate rules beyond Validate; every other
//! validation rule of the added kinds (they are type-checked by the k8s-openapi round trip only);
//! Canonicalize, WarningsOnCreate/Update.

use crate::defaults::{set_default, template};
use crate::error::{Cause, KubeResult};
use crate::kinds::rbac::UserInfo;
use crate::ops::{Db, Sub};
use crate::registry::ResourceDef;
use crate::selectors::{FieldLabels, META_FIELDS};
use crate::table::{TableConvertor, DEFAULT_TABLE};
use serde_json::{json, Map, Value};

/// A kind's rules, as upstream's `RESTCreateStrategy`, `RESTUpdateStrategy`,
/// `RESTDeleteStrategy`, `RESTGracefulDeleteStrategy` and `GarbageCollectionDeleteStrategy`.
/// Every method has the generic store's behaviour as its default.
pub trait Strategy: Sync {
    /// Whether a create drops the client's `status` (true for kinds with a status subresource;
    /// Node keeps it, as kubelets register with their status).
    fn reset_status_on_create(&self, def: &ResourceDef) -> bool {
        def.status
    }
    /// PrepareForCreate after decoding and defaulting: initial status and server-set fields
    /// (`requester`: the request's user, when the create came through the API).
    fn prepare_for_create(
        &self,
        _obj: &mut Value,
        _requester: Option<&UserInfo>,
    ) -> KubeResult<()> {
        Ok(())
    }
    /// Server-set fields that need the new object's uid (the Job selector).
    fn prepare_with_uid(&self, _obj: &mut Value, _uid: &str) {}
    /// PrepareForUpdate after decoding and defaulting (status and spec reset are generic).
    fn prepare_for_update(&self, _sub: Sub, _obj: &mut Value, _old: &Value) -> KubeResult<()> {
        Ok(())
    }
    /// The metadata a `status` update takes from the request. Upstream's status strategies of
    /// built-in kinds reset only the spec (`newPVC.Spec = oldPVC.Spec`), so labels,
    /// annotations, finalizers and owner references come with the request (the expand
    /// controller's `SetClaimResizer` sets its annotation through `persistentvolumeclaims/status`);
    /// custom resources' status updates keep all of the stored metadata.
    fn status_metadata(&self, def: &ResourceDef) -> &'static [&'static str] {
        if def.builtin {
            STATUS_METADATA
        } else {
            &[]
        }
    }
    /// Defaulting of a decoded object (the `SetDefaults_*` functions).
    fn default(&self, def: &ResourceDef, obj: &mut Value) {
        if def.builtin {
            crate::defaults::apply(&def.group, &def.kind, obj);
        }
    }
    /// Validate (create and update).
    fn validate(&self, def: &ResourceDef, obj: &Value) -> Vec<Cause> {
        crate::validation::validate(&def.group, &def.kind, obj)
    }
    /// AllowCreateOnUpdate: whether PUT of a missing object creates it.
    fn allow_create_on_update(&self) -> bool {
        false
    }
    /// AllowUnconditionalUpdate: whether PUT without a resourceVersion is accepted.
    fn allow_unconditional_update(&self) -> bool {
        true
    }
    /// Admission that needs the store (pods: priority and LimitRange).
    fn admit_create(
        &self,
        _db: &mut Db,
        _def: &ResourceDef,
        _ns: &str,
        _name: &str,
        _obj: &mut Value,
    ) -> KubeResult<()> {
        Ok(())
    }
    /// Store-side work before a create or update is stored (Service addresses).
    fn before_store(
        &self,
        _db: &mut Db,
        _name: &str,
        _obj: &mut Value,
        _old: Option<&Value>,
        _dry_run: bool,
    ) -> KubeResult<()> {
        Ok(())
    }
    /// Store-side work after a create or update is stored (CRD registration).
    fn after_store(&self, _db: &mut Db, _obj: &Value) {}
    /// Store-side work after the object is removed for good (address release, CRD removal).
    fn after_remove(&self, _db: &mut Db, _last: &Value) {}
    /// Refuses a delete before anything happens (the immortal namespaces).
    fn check_delete(&self, _def: &ResourceDef, _name: &str) -> KubeResult<()> {
        Ok(())
    }
    /// CheckGracefulDelete: the grace period a delete waits, `None` for an immediate delete.
    fn graceful_delete_period(&self, _obj: &Value, _grace: Option<i64>) -> Option<i64> {
        None
    }
    /// Whether objects of the kind are deleted gracefully (deleted again by the garbage
    /// collector while they terminate, which may shorten the grace period).
    fn graceful(&self) -> bool {
        false
    }
    /// Whether deleting the object terminates everything inside it (Namespace).
    fn terminates_contents(&self) -> bool {
        false
    }
    /// DefaultGarbageCollectionPolicy of a DELETE without `propagationPolicy`.
    fn default_gc_policy(&self, _def: &ResourceDef) -> &'static str {
        "Background"
    }
    /// The `/scale` selector of a built-in kind (a `LabelSelector` as a query string).
    fn scale_selector(&self, obj: &Value) -> String {
        obj.pointer("/spec/selector")
            .map(|s| crate::selectors::LabelSelector::from_object(s).to_query())
            .unwrap_or_default()
    }
    /// The kind's Table convertor (`kubectl get` columns); NAME and AGE by default.
    fn table(&self) -> &'static dyn TableConvertor {
        &DEFAULT_TABLE
    }
    /// The kind's field labels (field selectors); `metadata.name` and `metadata.namespace` by
    /// default.
    fn field_labels(&self) -> &'static dyn FieldLabels {
        &META_FIELDS
    }
    /// The kind's subresources besides `status` and `scale` (which the resource definition
    /// declares), by path segment.
    fn subresources(&self) -> &'static [(&'static str, Sub)] {
        &[]
    }
}

/// What a built-in kind's status update may change of the metadata ([`Strategy::status_metadata`]).
pub const STATUS_METADATA: &[&str] = &["labels", "annotations", "finalizers", "ownerReferences"];

/// The generic store's strategy (built-in kinds without rules of their own).
pub struct Generic;
impl Strategy for Generic {}

/// The strategy of a kind whose only rules are data: its printer, field labels, subresources,
/// and whether PUT of a missing object creates it (Events, Endpoints and Leases:
/// AllowCreateOnUpdate).
pub struct Described {
    /// Table convertor.
    pub table: &'static dyn TableConvertor,
    /// Field labels.
    pub fields: &'static dyn FieldLabels,
    /// Subresources besides `status` and `scale`.
    pub subresources: &'static [(&'static str, Sub)],
    /// AllowCreateOnUpdate.
    pub create_on_update: bool,
    /// What a status update takes of the request's metadata (Deployments keep their labels).
    pub status_metadata: &'static [&'static str],
}

impl Described {
    /// A kind with a printer and the generic rules otherwise.
    pub const fn printed(table: &'static dyn TableConvertor) -> Described {
        Described {
            table,
            fields: &META_FIELDS,
            subresources: &[],
            create_on_update: false,
            status_metadata: STATUS_METADATA,
        }
    }
}

impl Strategy for Described {
    fn allow_create_on_update(&self) -> bool {
        self.create_on_update
    }
    fn status_metadata(&self, _def: &ResourceDef) -> &'static [&'static str] {
        self.status_metadata
    }
    fn table(&self) -> &'static dyn TableConvertor {
        self.table
    }
    fn field_labels(&self) -> &'static dyn FieldLabels {
        self.fields
    }
    fn subresources(&self) -> &'static [(&'static str, Sub)] {
        self.subresources
    }
}

/// The strategy of a stored kind ([`crate::kinds::catalog`]).
pub fn for_kind(def: &ResourceDef) -> &'static dyn Strategy {
    crate::kinds::catalog::for_kind(def)
}

/// The subresource `name` of a kind: `status` and `scale` when its definition has them, else
/// what its strategy serves.
pub fn subresource(def: &ResourceDef, name: &str) -> Option<Sub> {
    match name {
        "status" if def.status => Some(Sub::Status),
        "scale" if def.scale.is_some() => Some(Sub::Scale),
        _ => for_kind(def)
            .subresources()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s),
    }
}

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
