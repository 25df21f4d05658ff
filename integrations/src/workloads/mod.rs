//! kube-controller-manager's Deployment and ReplicaSet controllers, one deterministic pass each.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/controller/deployment/{deployment_controller.go, sync.go, rolling.go, recreate.go,
//!   progress.go}` and `pkg/controller/deployment/util/deployment_util.go` (see [`deployment`]);
//! - `pkg/controller/replicaset/replica_set.go`, `replica_set_utils.go` (see [`replicaset`]);
//! - `pkg/controller/controller_utils.go` (`ComputeHash`, `ActivePodsWithRanks`,
//!   `FilterActivePods`, `GetPodFromTemplate`), `pkg/controller/controller_ref_manager.go`
//!   (adoption and release), `pkg/api/v1/pod/util.go` (`IsPodAvailable`, `IsPodReady`);
//! - `staging/src/k8s.io/client-go/tools/record/event.go` (event names `<object>.<hex nanos>`).
//!
//! [`reconcile_once`] runs the Deployment pass, then the ReplicaSet pass. Upstream both are
//! informer-driven and converge within milliseconds; here a driver calls the pair on every
//! virtual-time step and a few passes converge (a pass with nothing changed writes nothing).
//!
//! Not modelled:
//! - informer caches and expectations: each pass lists from the API server;
//! - the exact `pod-template-hash`: upstream hashes the Go struct with spew's `%#v` printer
//!   (`hashutil.DeepHashObject`), which has no Rust equivalent. Here fnv32a runs over the
//!   template's canonical JSON (keys sorted) followed by the little-endian collision count, and
//!   the decimal sum is rendered with `rand.SafeEncodeString` as upstream: same alphabet, same
//!   shape (`web-7c5ddbdf54`), deterministic, but not the value a real cluster would print;
//! - hash collisions (`status.collisionCount` is kept but never incremented);
//! - proportional scaling of several active ReplicaSets during a rollout (the single-active
//!   ReplicaSet scale path is modelled; with several, the rolling-update logic converges);
//! - the `ReplicaFailure` conditions, `burstReplicas` / slow-start batches (every create
//!   succeeds), the logarithmic buckets of `LogarithmicScaleDown` and pod-deletion ranking by
//!   related pods on other nodes' ReplicaSets;
//! - event aggregation and de-duplication (`count` stays 1; each event is a new object);
//! - `deprecated.deployment.rollback.to` (kubectl since 1.9 patches the template instead).

pub mod deployment;
pub mod replicaset;

use crate::{Context, Error};
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::serde::{de::DeserializeOwned, Serialize};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::sync::Arc;

/// The `pod-template-hash` label on ReplicaSets and their pods.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";
/// `rand.SafeEncodeString`'s alphabet (also generateName's).
pub const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Objects created (`ReplicaSet ns/name`, `Pod ns/name`).
    pub created: Vec<String>,
    /// Objects deleted.
    pub deleted: Vec<String>,
    /// ReplicaSets scaled, as `ns/name from→to`.
    pub scaled: Vec<String>,
    /// Objects whose status, annotations or owner references were written.
    pub updated: Vec<String>,
    /// Every write to the API server (events included).
    pub writes: usize,
}

impl Summary {
    fn merge(&mut self, o: Summary) {
        self.created.extend(o.created);
        self.deleted.extend(o.deleted);
        self.scaled.extend(o.scaled);
        self.updated.extend(o.updated);
        self.writes += o.writes;
    }
}

/// One pass of both controllers: Deployments, then ReplicaSets.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let mut s = deployment::reconcile_once(ctx).await?;
    s.merge(replicaset::reconcile_once(ctx).await?);
    Ok(s)
}

/// `ComputeHash` (see the module docs for the deviation): fnv32a of the canonical JSON of the
/// template and the collision count, rendered with `rand.SafeEncodeString`.
pub fn compute_hash(template: &Value, collision_count: Option<i64>) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    let mut text = String::new();
    canonical(template, &mut text);
    feed(text.as_bytes());
    if let Some(c) = collision_count {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&(c as u32).to_le_bytes());
        feed(&b);
    }
    safe_encode(&h.to_string())
}

/// JSON with object keys sorted at every level: the same template hashes the same whether it
/// came from a typed client (Go and k8s-openapi order fields one way) or as sent by a user.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// `rand.SafeEncodeString`.
pub fn safe_encode(s: &str) -> String {
    s.chars()
        .map(|c| SAFE_ALPHABET[(c as usize) % SAFE_ALPHABET.len()] as char)
        .collect()
}

/// Whether `labels` match a `metav1.LabelSelector` (matchLabels and matchExpressions). An empty
/// or missing selector matches nothing, as `metav1.LabelSelectorAsSelector` in the controllers.
pub(crate) fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let ml = selector["matchLabels"].as_object();
    let me = selector["matchExpressions"].as_array();
    if ml.is_none_or(|m| m.is_empty()) && me.is_none_or(|m| m.is_empty()) {
        return false;
    }
    let ok_labels = ml
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let ok_exprs = me.into_iter().flatten().all(|e| {
        let key = e["key"].as_str().unwrap_or_default();
        let have = labels.get(key).and_then(Value::as_str);
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match e["operator"].as_str().unwrap_or_default() {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    });
    ok_labels && ok_exprs
}

/// The controller ownerReference's uid, if any.
pub(crate) fn controller_uid(obj: &Value) -> Option<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == json!(true))?["uid"]
        .as_str()
}

/// An ownerReference to `owner` with `controller` and `blockOwnerDeletion` set.
pub(crate) fn controller_ref(owner: &Value, api_version: &str, kind: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

pub(crate) fn meta<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or_default()
}

pub(crate) fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// Milliseconds of an RFC 3339 timestamp (0 when missing).
pub(crate) fn ms(v: &Value) -> u64 {
    v.as_str()
        .and_then(cloudbox_sim::time_fmt::parse_iso8601)
        .unwrap_or(0)
}

fn err(what: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Workload {
        what,
        source: Box::new(source),
    }
}

fn build<K: DeserializeOwned>(v: Value, what: &'static str) -> Result<K, Error> {
    serde_json::from_value(v).map_err(|source| Error::Build { what, source })
}

fn to_value<K: Serialize>(k: &K, what: &'static str) -> Result<Value, Error> {
    serde_json::to_value(k).map_err(|source| Error::Build { what, source })
}

/// Every object of a kind, as JSON, sorted by namespace and name.
pub(crate) async fn list<K>(ctx: &Context, what: &'static str) -> Result<Vec<Arc<Value>>, Error>
where
    K: crate::cache::Cached,
{
    ctx.cache
        .list::<K>()
        .await
        .map_err(err(format!("list {what}")))
}

/// Creates an object from JSON in its namespace; returns the stored object.
pub(crate) async fn create<K>(
    ctx: &Context,
    ns: &str,
    obj: Value,
    what: &'static str,
) -> Result<Value, Error>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), ns);
    let k: K = build(obj, what)?;
    let out = api
        .create(&PostParams::default(), &k)
        .await
        .map_err(err(format!("create {what} {ns}")))?;
    to_value(&out, what)
}

/// A JSON merge patch of the object (or of its status subresource); returns the stored object.
pub(crate) async fn patch<K>(
    ctx: &Context,
    obj: &Value,
    body: &Value,
    status: bool,
    what: &'static str,
) -> Result<Value, Error>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let (ns, name) = (meta(obj, "namespace"), meta(obj, "name"));
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), ns);
    let pp = PatchParams::default();
    let r = if status {
        api.patch_status(name, &pp, &Patch::Merge(body)).await
    } else {
        api.patch(name, &pp, &Patch::Merge(body)).await
    };
    let out = r.map_err(err(format!("patch {what} {ns}/{name}")))?;
    to_value(&out, what)
}

/// An `Update` (PUT) of the object (or of its status subresource) with `body` merged in,
/// retried on conflict ([`crate::update`]): the write upstream controllers make where their
/// role grants `update` and not `patch`; returns the stored object.
pub(crate) async fn update<K>(
    ctx: &Context,
    obj: &Value,
    body: &Value,
    status: bool,
    what: &'static str,
) -> Result<Value, Error>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), meta(obj, "namespace"));
    crate::update::update(&api, obj, body, status, what).await
}

/// Deletes an object (background propagation, as the controllers' `DeleteOptions{}`).
pub(crate) async fn delete<K>(ctx: &Context, obj: &Value, what: &'static str) -> Result<(), Error>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let (ns, name) = (meta(obj, "namespace"), meta(obj, "name"));
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), ns);
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(err(format!("delete {what} {ns}/{name}"))(e)),
    }
}

/// Records a Normal event on `involved` as client-go's recorder does (`<name>.<hex nanos>`,
/// `source.component`). Best effort, as upstream: a failed event does not fail the pass.
pub(crate) async fn record_event(
    ctx: &Context,
    involved: &Value,
    component: &str,
    reason: &str,
    message: &str,
    summary: &mut Summary,
) {
    let ns = meta(involved, "namespace");
    let name = meta(involved, "name");
    let now = ctx.clock.now();
    let t = now.to_rfc3339_secs();
    let api: Api<Event> = Api::namespaced(ctx.kube.clone(), ns);
    for _ in 0..64 {
        let nanos = ctx.event_nanos(now.as_millis());
        let ev = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": format!("{name}.{nanos:x}"), "namespace": ns},
            "involvedObject": {
                "apiVersion": involved["apiVersion"],
                "kind": involved["kind"],
                "namespace": ns,
                "name": name,
                "uid": involved["metadata"]["uid"],
                "resourceVersion": involved["metadata"]["resourceVersion"],
            },
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": t,
            "lastTimestamp": t,
            "count": 1,
            "type": "Normal",
            "reportingComponent": component,
            "reportingInstance": "",
        });
        let Ok(ev) = serde_json::from_value::<Event>(ev) else {
            return;
        };
        match api.create(&PostParams::default(), &ev).await {
            Ok(_) => {
                summary.writes += 1;
                return;
            }
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(_) => return,
        }
    }
}
