//! API operations on the store, split by job as kube-apiserver's generic registry is:
//! [`read`] (get, list), [`create`] (prepared outside the write lock, committed under it),
//! [`update`] (PUT and every PATCH end in one planned update, committed optimistically),
//! [`delete`] (preconditions, grace periods, finalizers, namespace termination),
//! [`subresources`] (scale, binding) and [`gc`] (ownerReference garbage collection). What differs
//! by kind is asked of the kind's [`crate::kinds::strategy::Strategy`]; no module here names a
//! kind.
//!
//! Upstream: kubernetes v1.32 `staging/src/k8s.io/apiserver/pkg/registry/rest/{create,update,
//! delete}.go`, `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`
//! (`Create`, `Update` with `GuaranteedUpdate`, `Delete`, `BeforeDelete`, finalizers).
//!
//! Not modelled: etcd transactions (one write lock instead), `Canonicalize`, storage
//! decorators, deletecollection's parallel workers. Simplified: garbage collection and namespace
//! cleanup run synchronously inside the write that triggers them (the result is the one
//! upstream's controllers converge to, without the delay).

use crate::alloc::ServiceAlloc;
use crate::convert;
use crate::error::{Cause, KubeApiError, KubeResult, Subject};
use crate::kinds::strategy::Strategy;
use crate::patch::{apply as ssa, json as jp, merge, strategic, PatchType};
use crate::registry::{Registry, ResourceDef};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{meta_str, owner_uids, ObjKey, Store};
use crate::typed;
use cloudbox_sim::{IdGen, SimTime};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// kube-apiserver's attempts at a free generated name (`maxNameGenerationCreateAttempts`).
const MAX_NAME_GENERATION_ATTEMPTS: usize = 8;

/// `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Reject unknown fields (400).
    Strict,
    /// Drop unknown fields with a `Warning` header.
    #[default]
    Warn,
    /// Drop unknown fields silently.
    Ignore,
}

/// Options common to writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldManager` (or derived from the User-Agent).
    pub manager: String,
    /// `fieldValidation`.
    pub validation: FieldValidation,
    /// `force` (server-side apply).
    pub force: bool,
    /// Who creates (set on POST only): the CSR strategy records the requester.
    pub requester: Option<crate::kinds::rbac::UserInfo>,
}

/// DeleteOptions.
#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    /// `Foreground`, `Background` or `Orphan`.
    pub propagation: Option<String>,
    /// `gracePeriodSeconds`.
    pub grace: Option<i64>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub rv: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

/// Subresource addressed by a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    /// The object itself.
    Main,
    /// `/status`.
    Status,
    /// `/scale`.
    Scale,
    /// `pods/{name}/binding` (POST a Binding: schedule the pod).
    Binding,
    /// `pods/{name}/eviction` (POST an Eviction: delete the pod gracefully).
    Eviction,
    /// `serviceaccounts/{name}/token` (POST a TokenRequest).
    Token,
    /// `pods/{name}/log` (GET: the simulated log).
    Log,
    /// `pods/{name}/exec`, `attach`, `portforward`: not simulated.
    Stream(&'static str),
    /// `certificatesigningrequests/{name}/approval`.
    Approval,
    /// `pods/{name}/ephemeralcontainers`.
    EphemeralContainers,
}

impl Sub {
    /// The subresource's path segment ("" for the object itself).
    pub fn name(self) -> &'static str {
        match self {
            Sub::Main => "",
            Sub::Status => "status",
            Sub::Scale => "scale",
            Sub::Binding => "binding",
            Sub::Eviction => "eviction",
            Sub::Token => "token",
            Sub::Log => "log",
            Sub::Stream(s) => s,
            Sub::Approval => "approval",
            Sub::EphemeralContainers => "ephemeralcontainers",
        }
    }

    /// What discovery says of the subresource: the group, version and kind it takes or answers
    /// (None: the resource's own kind), and its verbs — as kube-apiserver's REST storage of it
    /// declares (`New()`, `NamedCreater`/`Getter`/`Updater`/`Patcher`).
    pub fn discovery(
        self,
    ) -> (
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static [&'static str],
    ) {
        const GPU: &[&str] = &["get", "patch", "update"];
        match self {
            Sub::Main | Sub::Status | Sub::Approval | Sub::EphemeralContainers => {
                ("", "", None, GPU)
            }
            Sub::Scale => ("autoscaling", "v1", Some("Scale"), GPU),
            Sub::Binding => ("", "v1", Some("Binding"), &["create"]),
            Sub::Eviction => ("policy", "v1", Some("Eviction"), &["create"]),
            Sub::Token => (
                "authentication.k8s.io",
                "v1",
                Some("TokenRequest"),
                &["create"],
            ),
            Sub::Log => ("", "", None, &["get"]),
            Sub::Stream("exec") => ("", "v1", Some("PodExecOptions"), &["create", "get"]),
            Sub::Stream("attach") => ("", "v1", Some("PodAttachOptions"), &["create", "get"]),
            Sub::Stream(_) => ("", "v1", Some("PodPortForwardOptions"), &["create", "get"]),
        }
    }
}

/// The result of a write.
#[derive(Debug)]
pub struct Written {
    /// The object in the requested version.
    pub obj: Arc<Value>,
    /// The stored change, when the response can reuse its serialized object.
    pub change: Option<Arc<crate::store::Change>>,
    /// `Warning` headers.
    pub warnings: Vec<String>,
    /// Whether the write created the object (201).
    pub created: bool,
}

/// A list answer.
pub struct Listed {
    /// Matching objects (stored form), as the changes that stored them (cached JSON).
    pub items: Vec<Arc<crate::store::Change>>,
    /// List resourceVersion.
    pub rv: u64,
    /// Continue token.
    pub cont: Option<String>,
    /// Items left after this page.
    pub remaining: Option<usize>,
}

/// Everything behind the API server's lock.
#[derive(Debug)]
pub struct Db {
    /// Objects and history.
    pub store: Store,
    /// Served kinds; shared with the request handlers' snapshot ([`Db::publish_registry`]) and
    /// copied on write (a CRD change).
    pub registry: Arc<Registry>,
    ids: IdGen,
    pub(crate) alloc: ServiceAlloc,
    /// uid → object, for garbage collection.
    pub(crate) uids: HashMap<String, ObjKey>,
    /// Written objects waiting for the garbage collector's dangling-reference check.
    gc_queue: std::collections::VecDeque<ObjKey>,
    /// Service-account tokens issued by `serviceaccounts/token`.
    pub tokens: HashMap<String, crate::kinds::reviews::IssuedToken>,
    /// Serial number of the next issued token.
    pub(crate) token_serial: u64,
    /// The registry as request handlers read it without this lock: republished (inside the
    /// write that changed it) whenever a CRD changes what is served.
    published: Arc<parking_lot::RwLock<Arc<Registry>>>,
    /// Writing the bootstrap policy: ClusterRole aggregation waits for its end.
    pub(crate) bootstrapping: bool,
}

/// Namespaces the NamespaceLifecycle admission plugin refuses to delete.
pub const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

const GENERATE_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn subject<'a>(def: &'a ResourceDef, name: &'a str) -> Subject<'a> {
    Subject {
        group: &def.group,
        resource: &def.plural,
        name,
    }
}

/// The strategy holding a kind's rules.
fn strategy_of(def: &ResourceDef) -> &'static dyn Strategy {
    crate::kinds::strategy::for_kind(def)
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("metadata".into(), json!({}));
        }
    }
    match obj.get_mut("metadata").and_then(Value::as_object_mut) {
        Some(m) => m,
        None => unreachable_meta(),
    }
}

#[allow(clippy::panic)] // meta_mut inserts the object first; this cannot happen
fn unreachable_meta() -> &'static mut Map<String, Value> {
    panic!("metadata is an object")
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn same_ignoring_rv(a: &Value, b: &Value) -> bool {
    let (Some(am), Some(bm)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    if am.len() != bm.len() {
        return false;
    }
    am.iter().all(|(k, av)| {
        let Some(bv) = bm.get(k) else { return false };
        if k != "metadata" {
            return av == bv;
        }
        let (Some(x), Some(y)) = (av.as_object(), bv.as_object()) else {
            return av == bv;
        };
        let xs = x.iter().filter(|(k, _)| *k != "resourceVersion");
        let count = |m: &Map<String, Value>| m.keys().filter(|k| *k != "resourceVersion").count();
        count(x) == count(y) && xs.into_iter().all(|(k, v)| y.get(k) == Some(v))
    })
}

fn spec_differs(a: &Value, b: &Value) -> bool {
    let (Some(am), Some(bm)) = (a.as_object(), b.as_object()) else {
        return a != b;
    };
    let skip = |k: &String| k == "metadata" || k == "status";
    let ak: Vec<_> = am.iter().filter(|(k, _)| !skip(k)).collect();
    let bk = bm.keys().filter(|k| !skip(k)).count();
    ak.len() != bk || ak.iter().any(|(k, v)| bm.get(*k) != Some(*v))
}

pub mod create;
pub mod delete;
pub mod gc;
pub mod read;
pub mod subresources;
pub mod update;

pub use create::{prepare_create, PreparedCreate};
pub use update::{apply_patch, plan_patch, plan_put, plan_update, write_optimistic, Plan};

impl Db {
    /// A fresh cluster: the four system namespaces and the `kubernetes` Service.
    pub fn new(seed: u64, now: SimTime, history_limit: usize) -> Db {
        let mut db = Db {
            store: Store::new(history_limit),
            registry: Arc::new(Registry::builtin()),
            ids: IdGen::derived(seed, "kube-uids"),
            alloc: ServiceAlloc::new("10.96.0.0/12", seed),
            uids: HashMap::new(),
            gc_queue: Default::default(),
            tokens: HashMap::new(),
            token_serial: 0,
            published: Arc::default(),
            bootstrapping: false,
        };
        db.publish_registry();
        db.store.set_usage_fn(crate::kinds::quota::ledger_usage);
        let opts = WriteOpts {
            manager: "kube-apiserver".into(),
            ..Default::default()
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            if let Some(def) = db.registry.get("", "v1", "namespaces") {
                let _ = db.create(now, &def, None, json!({"metadata": {"name": ns}}), &opts);
            }
        }
        if let Some(def) = db.registry.get("", "v1", "services") {
            let ip = db.alloc.first_ip();
            let _ = db.create(
                now,
                &def,
                Some("default"),
                json!({"metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                       "spec": {"clusterIP": ip, "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}),
                &opts,
            );
        }
        db.bootstrap(now, &opts);
        db
    }

    pub(crate) fn storage_def(&self, def: &ResourceDef) -> Arc<ResourceDef> {
        self.registry
            .storage_def(&def.storage)
            .unwrap_or_else(|| Arc::new(def.clone()))
    }

    /// The shared cell the served registry is published to ([`Db::publish_registry`]).
    pub(crate) fn published_registry(&self) -> Arc<parking_lot::RwLock<Arc<Registry>>> {
        self.published.clone()
    }

    /// Publishes the registry after a change, for readers outside the lock.
    pub(crate) fn publish_registry(&self) {
        *self.published.write() = self.registry.clone();
    }

    pub(crate) fn new_uid(&mut self) -> String {
        self.ids.uuid()
    }

    pub(crate) fn generate_suffix(&mut self) -> String {
        (0..5)
            .map(|_| GENERATE_CHARS[self.ids.below(GENERATE_CHARS.len() as u64) as usize] as char)
            .collect()
    }

    /// Checks (and fills in) `apiVersion` and `kind` of a body against the addressed resource.
    pub fn check_gvk(def: &ResourceDef, body: &mut Value) -> KubeResult<()> {
        let m = body.as_object_mut().ok_or_else(|| {
            KubeApiError::bad_request("the body of the request must be a JSON object")
        })?;
        let want = def.api_version();
        match m.get("apiVersion").and_then(Value::as_str) {
            Some(av) if av != want => {
                return Err(KubeApiError::bad_request(format!(
                    "the API version in the data ({av}) does not match the expected API version ({want})"
                )))
            }
            _ => {}
        }
        match m.get("kind").and_then(Value::as_str) {
            Some(k) if k != def.kind => {
                return Err(KubeApiError::bad_request(format!(
                    "the kind in the data ({k}) does not match the expected kind ({})",
                    def.kind
                )))
            }
            _ => {}
        }
        m.insert("apiVersion".into(), json!(want));
        m.insert("kind".into(), json!(def.kind));
        Ok(())
    }

    /// Typed decoding, defaulting and validation of a stored-form object.
    pub(crate) fn normalize(
        sdef: &ResourceDef,
        obj: Value,
        old: Option<&Value>,
        opts: &WriteOpts,
        warnings: &mut Vec<String>,
    ) -> KubeResult<Value> {
        let name = meta_str(&obj, "name").unwrap_or("").to_string();
        let (mut obj, unknown) = if sdef.builtin {
            let d = typed::decode(&sdef.group, &sdef.kind, &obj)?;
            (d.obj, d.unknown)
        } else if let Some(schema) = &sdef.schema {
            let mut obj = obj;
            let unknown = crate::schema::prune(schema, &mut obj);
            crate::schema::apply_defaults(schema, &mut obj);
            (obj, unknown)
        } else {
            (obj, Vec::new())
        };
        if !unknown.is_empty() {
            match opts.validation {
                FieldValidation::Strict => {
                    let list: Vec<String> = unknown
                        .iter()
                        .map(|f| format!("unknown field \"{f}\""))
                        .collect();
                    return Err(KubeApiError::bad_request(format!(
                        "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                        sdef.kind,
                        sdef.version,
                        sdef.kind,
                        list.join(", ")
                    )));
                }
                FieldValidation::Warn => {
                    warnings.extend(unknown.iter().map(|f| format!("unknown field \"{f}\"")))
                }
                FieldValidation::Ignore => {}
            }
        }
        let strategy = strategy_of(sdef);
        strategy.default(sdef, &mut obj);
        let mut causes = strategy.validate(sdef, &obj);
        if let (false, Some(schema)) = (sdef.builtin, &sdef.schema) {
            causes.extend(crate::schema::validate(schema, &obj, old));
        }
        if !causes.is_empty() {
            return Err(KubeApiError::invalid(
                &sdef.kind,
                &sdef.group,
                &name,
                causes,
            ));
        }
        Ok(obj)
    }

    /// The storage definition of a served resource (for [`prepare_create`]).
    pub fn storage_def_of(&self, def: &ResourceDef) -> Arc<ResourceDef> {
        self.storage_def(def)
    }

    /// The answer to a write just stored: the object in the requested version, and the stored
    /// change (whose serialized form the response reuses) when no conversion is needed.
    pub(crate) fn written(
        &self,
        def: &ResourceDef,
        storage: &str,
        stored: &Arc<Value>,
        warnings: Vec<String>,
        created: bool,
    ) -> Written {
        let rv = meta_str(stored, "resourceVersion").and_then(|r| r.parse::<u64>().ok());
        let change = if convert::needs_conversion(def) {
            None
        } else {
            // The change that stored exactly this object (hooks may have written since).
            self.store
                .last_change(storage)
                .filter(|c| Some(c.rv) == rv && c.kind != crate::store::EventType::Deleted)
        };
        Written {
            obj: convert::from_storage_arc(def, stored),
            warnings,
            created,
            change,
        }
    }
}

/// Records the request's field manager as an `Update` of `obj` through `subresource` ("" for
/// the main resource) at `time`: the managedFields entry every non-apply write gets (`old` is
/// the stored object, `None` on create).
pub(crate) fn track_request_update(
    sdef: &ResourceDef,
    def: &ResourceDef,
    opts: &WriteOpts,
    time: &str,
    subresource: &str,
    old: Option<&Value>,
    obj: &mut Value,
) {
    let w = ssa::Writer {
        kind: &sdef.kind,
        manager: &opts.manager,
        api_version: &def.api_version(),
        time,
        subresource,
    };
    ssa::track_update(&w, old, obj);
}

pub(crate) fn add_finalizer(m: &mut Map<String, Value>, f: &str) {
    let e = m.entry("finalizers").or_insert_with(|| json!([]));
    if let Some(a) = e.as_array_mut() {
        if !a.iter().any(|x| x == f) {
            a.push(json!(f));
        }
    }
}
