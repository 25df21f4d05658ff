//! API operations on the store: create, get, list, update (PUT), patch, delete and
//! deletecollection, with kube-apiserver's semantics: generateName, uid, creationTimestamp,
//! resourceVersion preconditions (409), generation on spec changes, status and scale
//! subresources, managedFields, fieldValidation, dryRun, finalizers and deletionTimestamp, pod
//! grace periods, ownerReference garbage collection (Background, Foreground, Orphan), namespace
//! termination, Service address allocation and CustomResourceDefinition registration.
//!
//! Simplified: garbage collection and namespace cleanup run synchronously inside the write that
//! triggers them (the result is the one upstream's controllers converge to, without the delay).

use crate::alloc::ServiceAlloc;
use crate::convert;
use crate::defaults;
use crate::error::{Cause, KubeApiError, KubeResult, Subject};
use crate::patch::{apply as ssa, json as jp, merge, strategic, PatchType};
use crate::registry::{Registry, ResourceDef};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{meta_str, owner_uids, ObjKey, Store};
use crate::typed;
use crate::validation;
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
    /// Served kinds.
    pub registry: Registry,
    ids: IdGen,
    alloc: ServiceAlloc,
    /// uid → object, for garbage collection.
    pub(crate) uids: HashMap<String, ObjKey>,
    /// Service-account tokens issued by `serviceaccounts/token`.
    pub tokens: HashMap<String, crate::kinds::reviews::IssuedToken>,
    /// Serial number of the next issued token.
    pub(crate) token_serial: u64,
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

impl Db {
    /// A fresh cluster: the four system namespaces and the `kubernetes` Service.
    pub fn new(seed: u64, now: SimTime, history_limit: usize) -> Db {
        let mut db = Db {
            store: Store::new(history_limit),
            registry: Registry::builtin(),
            ids: IdGen::derived(seed, "kube-uids"),
            alloc: ServiceAlloc::new("10.96.0.0/12", seed),
            uids: HashMap::new(),
            tokens: HashMap::new(),
            token_serial: 0,
        };
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

    fn storage_def(&self, def: &ResourceDef) -> Arc<ResourceDef> {
        self.registry
            .storage_def(&def.storage)
            .unwrap_or_else(|| Arc::new(def.clone()))
    }

    fn new_uid(&mut self) -> String {
        self.ids.uuid()
    }

    fn generate_suffix(&mut self) -> String {
        (0..5)
            .map(|_| GENERATE_CHARS[self.ids.below(GENERATE_CHARS.len() as u64) as usize] as char)
            .collect()
    }

    /// Reads an object in `def`'s version.
    pub fn get(&self, def: &ResourceDef, ns: &str, name: &str) -> KubeResult<Value> {
        let obj = self
            .store
            .get(&def.storage, ns, name)
            .ok_or_else(|| KubeApiError::not_found(subject(def, name)))?;
        Ok(convert::from_storage(def, &obj))
    }

    /// Lists objects (stored form) matching the selectors, paged by `limit`/`continue`, at the
    /// latest resourceVersion (see [`crate::list`] for the resourceVersion options).
    pub fn list(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        cont: Option<&str>,
    ) -> KubeResult<Listed> {
        let opts = crate::list::ListOptions {
            limit,
            cont: cont.map(str::to_string),
            ..Default::default()
        };
        crate::list::list(&self.store, def, ns, labels, fields, &opts)
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
    fn normalize(
        sdef: &ResourceDef,
        obj: Value,
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
        if sdef.builtin {
            defaults::apply(&sdef.group, &sdef.kind, &mut obj);
        }
        let causes = validation::validate(&sdef.group, &sdef.kind, &obj);
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

    fn check_namespace(&self, def: &ResourceDef, ns: &str, name: &str) -> KubeResult<()> {
        let Some(nsobj) = self.store.get("namespaces", "", ns) else {
            return Err(KubeApiError::not_found(Subject {
                group: "",
                resource: "namespaces",
                name: ns,
            }));
        };
        if nsobj.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(KubeApiError::forbidden_for(
                subject(def, name),
                &format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            ));
        }
        Ok(())
    }

    /// Creates an object from a request body in `def`'s version.
    pub fn create(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        url_ns: Option<&str>,
        mut body: Value,
        opts: &WriteOpts,
    ) -> KubeResult<Written> {
        Self::check_gvk(def, &mut body)?;
        self.create_prepared(now, def, url_ns, body, opts, false)
    }

    fn create_prepared(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        url_ns: Option<&str>,
        body: Value,
        opts: &WriteOpts,
        applied: bool,
    ) -> KubeResult<Written> {
        let p = prepare_create(self.storage_def(def), now, def, url_ns, body, opts, applied)?;
        self.commit_create(def, p, opts)
    }

    /// The storage definition of a served resource (for [`prepare_create`]).
    pub fn storage_def_of(&self, def: &ResourceDef) -> Arc<ResourceDef> {
        self.storage_def(def)
    }

    /// The part of a create that needs the store: generated name, namespace and existence
    /// checks, uid, Service addresses, CRD registration, and the write itself.
    pub fn commit_create(
        &mut self,
        def: &ResourceDef,
        p: PreparedCreate,
        opts: &WriteOpts,
    ) -> KubeResult<Written> {
        let PreparedCreate {
            sdef,
            mut obj,
            warnings,
            generate,
            now,
        } = p;
        let ns = meta_str(&obj, "namespace").unwrap_or("").to_string();
        if let Some(g) = generate {
            // RetryGenerateName (GA in 1.32): a generated name that is taken is generated again,
            // up to 8 attempts, before the create fails with AlreadyExists.
            for _ in 0..MAX_NAME_GENERATION_ATTEMPTS {
                let candidate = format!("{g}{}", self.generate_suffix());
                let taken = self.store.get(&sdef.storage, &ns, &candidate).is_some();
                meta_mut(&mut obj).insert("name".into(), json!(candidate));
                if !taken {
                    break;
                }
            }
        }
        let name = meta_str(&obj, "name").unwrap_or("").to_string();
        if def.namespaced {
            self.check_namespace(def, &ns, &name)?;
        }
        if self.store.get(&sdef.storage, &ns, &name).is_some() {
            return Err(KubeApiError::already_exists(subject(def, &name)));
        }
        let uid = self.new_uid();
        meta_mut(&mut obj).insert("uid".into(), json!(uid));
        if sdef.kind == "Job" && sdef.group == "batch" {
            crate::kinds::strategy::generate_job_selector(&mut obj, &uid);
        }
        if sdef.storage == "pods" {
            self.admit_priority(def, &name, &mut obj)?;
            self.admit_limits(def, &ns, &name, &mut obj)?;
        }
        if def.namespaced {
            self.admit_quota(def, &sdef.storage, &ns, &name, &obj)?;
        }
        if sdef.kind == "Service" && sdef.group.is_empty() {
            self.allocate_service(&mut obj, None, opts.dry_run)
                .map_err(|c| KubeApiError::invalid("Service", "", &name, c))?;
        }
        if opts.dry_run {
            return Ok(Written {
                obj: Arc::new(convert::from_storage(def, &obj)),
                warnings,
                created: true,
                change: None,
            });
        }
        if sdef.kind == "CustomResourceDefinition" {
            self.register_crd(&obj);
        }
        let stored = self.store.put(&sdef.storage, obj);
        self.uids.insert(
            uid,
            ObjKey {
                storage: sdef.storage.clone(),
                namespace: ns.clone(),
                name,
            },
        );
        let w = self.written(def, &sdef.storage, &stored, warnings, true);
        self.after_write(now, &sdef.storage, &ns);
        Ok(w)
    }

    /// The answer to a write just stored: the object in the requested version, and the stored
    /// change (whose serialized form the response reuses) when no conversion is needed.
    fn written(
        &self,
        def: &ResourceDef,
        storage: &str,
        stored: &Arc<Value>,
        warnings: Vec<String>,
        created: bool,
    ) -> Written {
        let change = if convert::needs_conversion(def) {
            None
        } else {
            self.store.last_change(storage)
        };
        Written {
            obj: convert::from_storage_arc(def, stored),
            warnings,
            created,
            change,
        }
    }

    fn crd_status(obj: &mut Value) -> KubeResult<()> {
        let defs = Registry::defs_from_crd(obj).map_err(|m| {
            let name = meta_str(obj, "name").unwrap_or("").to_string();
            KubeApiError::invalid(
                "CustomResourceDefinition",
                "apiextensions.k8s.io",
                &name,
                vec![Cause::new("FieldValueInvalid", "", m)],
            )
        })?;
        let stored: Vec<Value> = defs
            .iter()
            .filter(|d| d.preferred)
            .map(|d| json!(d.version))
            .collect();
        let names = obj.pointer("/spec/names").cloned().unwrap_or(json!({}));
        let mut accepted = names;
        if let Some(m) = accepted.as_object_mut() {
            if !m.contains_key("singular") {
                if let Some(k) = defs.first() {
                    m.insert("singular".into(), json!(k.singular));
                }
            }
            if !m.contains_key("listKind") {
                if let Some(k) = defs.first() {
                    m.insert("listKind".into(), json!(k.list_kind()));
                }
            }
        }
        obj["status"] = json!({
            "acceptedNames": accepted,
            "storedVersions": stored,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": obj.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null)},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": obj.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null)}
            ]
        });
        Ok(())
    }

    fn register_crd(&mut self, crd: &Value) {
        if let Ok(defs) = Registry::defs_from_crd(crd) {
            if let Some(first) = defs.first() {
                let (g, p) = (first.group.clone(), first.plural.clone());
                self.registry.remove_custom(&g, &p);
            }
            for d in defs {
                self.registry.insert(d);
            }
        }
    }

    fn allocate_service(
        &mut self,
        obj: &mut Value,
        old: Option<&Value>,
        dry_run: bool,
    ) -> Result<(), Vec<Cause>> {
        let ty = obj
            .pointer("/spec/type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_string();
        let old_ip = old
            .and_then(|o| o.pointer("/spec/clusterIP"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut taken_ips = Vec::new();
        let mut taken_ports = Vec::new();
        let mut causes = Vec::new();
        // ClusterIP: immutable once set; allocated for every type but ExternalName.
        if ty != "ExternalName" {
            let want = obj
                .pointer("/spec/clusterIP")
                .and_then(Value::as_str)
                .map(str::to_string);
            match (&old_ip, want.as_deref()) {
                (Some(o), None | Some("")) => {
                    obj["spec"]["clusterIP"] = json!(o);
                }
                (Some(o), Some(w)) if o != w => causes.push(Cause::new(
                    "FieldValueInvalid",
                    "spec.clusterIPs[0]",
                    format!("Invalid value: []string{{\"{w}\"}}: may not change once set"),
                )),
                (Some(_), Some(_)) => {}
                (None, Some("None")) => {}
                (None, w) => match self.alloc.allocate_ip(w) {
                    Ok(ip) => {
                        taken_ips.push(ip.clone());
                        obj["spec"]["clusterIP"] = json!(ip);
                    }
                    Err(c) => causes.push(c),
                },
            }
            if let Some(ip) = obj.pointer("/spec/clusterIP").cloned() {
                obj["spec"]["clusterIPs"] = json!([ip]);
            }
        }
        let old_ports: Vec<u16> = old
            .and_then(|o| o.pointer("/spec/ports"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.get("nodePort").and_then(Value::as_u64))
                    .map(|p| p as u16)
                    .collect()
            })
            .unwrap_or_default();
        let wants_node_ports = ty == "NodePort"
            || (ty == "LoadBalancer"
                && obj
                    .pointer("/spec/allocateLoadBalancerNodePorts")
                    .and_then(Value::as_bool)
                    != Some(false));
        let mut keep = Vec::new();
        if let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            for (i, p) in ports.iter_mut().enumerate() {
                let want = p.get("nodePort").and_then(Value::as_u64).map(|n| n as u16);
                if !wants_node_ports {
                    if let Some(m) = p.as_object_mut() {
                        if ty == "ClusterIP" {
                            m.remove("nodePort");
                        }
                    }
                    continue;
                }
                match want {
                    Some(n) if old_ports.contains(&n) => keep.push(n),
                    w => match self
                        .alloc
                        .allocate_port(w, &format!("spec.ports[{i}].nodePort"))
                    {
                        Ok(n) => {
                            taken_ports.push(n);
                            keep.push(n);
                            p["nodePort"] = json!(n);
                        }
                        Err(c) => causes.push(c),
                    },
                }
            }
        }
        if !causes.is_empty() || dry_run {
            for ip in taken_ips {
                self.alloc.release_ip(&ip);
            }
            for p in taken_ports {
                self.alloc.release_port(p);
            }
            return if causes.is_empty() {
                Ok(())
            } else {
                Err(causes)
            };
        }
        for p in old_ports {
            if !keep.contains(&p) {
                self.alloc.release_port(p);
            }
        }
        Ok(())
    }

    fn release_service(&mut self, obj: &Value) {
        if let Some(ip) = obj.pointer("/spec/clusterIP").and_then(Value::as_str) {
            if ip != "None" {
                self.alloc.release_ip(ip);
            }
        }
        if let Some(ports) = obj.pointer("/spec/ports").and_then(Value::as_array) {
            for p in ports {
                if let Some(n) = p.get("nodePort").and_then(Value::as_u64) {
                    self.alloc.release_port(n as u16);
                }
            }
        }
    }

    /// PUT: replaces an object (or its status) from a body in `def`'s version.
    #[allow(clippy::too_many_arguments)] // mirrors the request's parts
    pub fn update(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        sub: Sub,
        mut body: Value,
        opts: &WriteOpts,
    ) -> KubeResult<Written> {
        if sub == Sub::Scale {
            return self.update_scale(now, def, ns, name, |_| Ok(body), opts);
        }
        Self::check_gvk(def, &mut body)?;
        let precondition = meta_str(&body, "resourceVersion").map(str::to_string);
        self.write_existing(now, def, ns, name, sub, body, precondition, opts, false)
    }

    /// Common path of PUT and non-apply PATCH under the lock: `new` is the full object in
    /// `def`'s version.
    #[allow(clippy::too_many_arguments)] // one internal entry point for every update flavour
    fn write_existing(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        sub: Sub,
        new: Value,
        precondition: Option<String>,
        opts: &WriteOpts,
        applied: bool,
    ) -> KubeResult<Written> {
        let sdef = self.storage_def(def);
        let cur = self
            .store
            .get(&sdef.storage, ns, name)
            .ok_or_else(|| KubeApiError::not_found(subject(def, name)))?;
        let plan = plan_update(
            now,
            def,
            &sdef,
            cur,
            ns,
            name,
            sub,
            new,
            precondition,
            opts,
            applied,
        )?;
        self.commit_plan(now, def, &sdef, ns, name, plan, opts)
    }

    /// Carries out a [`Plan`] computed from the object now stored.
    #[allow(clippy::too_many_arguments)] // mirrors the request's parts
    pub fn commit_plan(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        sdef: &Arc<ResourceDef>,
        ns: &str,
        name: &str,
        plan: Plan,
        opts: &WriteOpts,
    ) -> KubeResult<Written> {
        let (cur, mut obj, warnings) = match plan {
            Plan::Noop { cur, warnings } => {
                return Ok(Written {
                    obj: convert::from_storage_arc(def, &cur),
                    warnings,
                    created: false,
                    change: None,
                })
            }
            Plan::Create(p) => {
                let mut w = self.commit_create(def, p, opts)?;
                w.created = true;
                return Ok(w);
            }
            Plan::Update { cur, obj, warnings } => (cur, obj, warnings),
        };
        let sdef = sdef.clone();
        if sdef.kind == "Service" && sdef.group.is_empty() {
            self.allocate_service(&mut obj, Some(&cur), opts.dry_run)
                .map_err(|c| KubeApiError::invalid("Service", "", name, c))?;
        }
        if opts.dry_run {
            return Ok(Written {
                obj: Arc::new(convert::from_storage(def, &obj)),
                warnings,
                created: false,
                change: None,
            });
        }
        let deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
        if deleting && finalizers(&obj).is_empty() && !finalizers(&cur).is_empty() {
            let last = self.finish_delete(now, &sdef, ns, name, "Background");
            let out = last.unwrap_or(Arc::new(obj));
            return Ok(Written {
                obj: convert::from_storage_arc(def, &out),
                warnings,
                created: false,
                change: None,
            });
        }
        if sdef.kind == "CustomResourceDefinition" {
            self.register_crd(&obj);
        }
        let stored = self.store.put(&sdef.storage, obj);
        let w = self.written(def, &sdef.storage, &stored, warnings, false);
        self.after_write(now, &sdef.storage, ns);
        Ok(w)
    }

    /// PATCH of any type under the lock. Server-side apply creates missing objects.
    #[allow(clippy::too_many_arguments)] // mirrors the request's parts
    pub fn patch(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        sub: Sub,
        ptype: PatchType,
        patch: &Value,
        opts: &WriteOpts,
    ) -> KubeResult<Written> {
        if sub == Sub::Scale {
            let kind = def.kind.clone();
            return self.update_scale(
                now,
                def,
                ns,
                name,
                |cur| apply_patch(&kind, ptype, cur, patch, false),
                opts,
            );
        }
        let sdef = self.storage_def(def);
        let existing = self.store.get(&sdef.storage, ns, name);
        let plan = plan_patch(now, def, &sdef, existing, ns, name, sub, ptype, patch, opts)?;
        self.commit_plan(now, def, &sdef, ns, name, plan, opts)
    }

    fn scale_of(def: &ResourceDef, obj: &Value) -> Value {
        let (spec_path, status_path, sel_path) = def.scale.clone().unwrap_or_default();
        let ptr = |p: &str| format!("/{}", p.trim_start_matches('.').replace('.', "/"));
        let replicas = obj.pointer(&ptr(&spec_path)).cloned().unwrap_or(json!(0));
        let status = obj.pointer(&ptr(&status_path)).cloned().unwrap_or(json!(0));
        let selector = if def.builtin && def.kind == "ReplicationController" {
            // A ReplicationController's selector is a plain label map.
            obj.pointer("/spec/selector")
                .map(|s| LabelSelector::from_object(&json!({"matchLabels": s})).to_query())
                .unwrap_or_default()
        } else if def.builtin {
            obj.pointer("/spec/selector")
                .map(|s| LabelSelector::from_object(s).to_query())
                .unwrap_or_default()
        } else {
            sel_path
                .and_then(|p| {
                    obj.pointer(&ptr(&p))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_default()
        };
        let m = obj.get("metadata").cloned().unwrap_or(json!({}));
        let mut meta = json!({});
        for k in [
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "creationTimestamp",
        ] {
            if let Some(v) = m.get(k) {
                meta[k] = v.clone();
            }
        }
        json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": meta,
            "spec": {"replicas": replicas},
            "status": {"replicas": status, "selector": selector},
        })
    }

    /// GET of `/scale`.
    pub fn get_scale(&self, def: &ResourceDef, ns: &str, name: &str) -> KubeResult<Value> {
        if def.scale.is_none() {
            return Err(KubeApiError::path_not_found());
        }
        let obj = self.get(def, ns, name)?;
        Ok(Self::scale_of(def, &obj))
    }

    fn update_scale(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        f: impl FnOnce(&Value) -> KubeResult<Value>,
        opts: &WriteOpts,
    ) -> KubeResult<Written> {
        if def.scale.is_none() {
            return Err(KubeApiError::path_not_found());
        }
        let cur = self.get(def, ns, name)?;
        let scale = Self::scale_of(def, &cur);
        let new_scale = f(&scale)?;
        let replicas = new_scale
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .ok_or_else(|| {
                KubeApiError::invalid(
                    "Scale",
                    "autoscaling",
                    name,
                    vec![Cause::new(
                        "FieldValueRequired",
                        "spec.replicas",
                        "Required value",
                    )],
                )
            })?;
        if replicas < 0 {
            return Err(KubeApiError::invalid(
                "Scale",
                "autoscaling",
                name,
                vec![Cause::new(
                    "FieldValueInvalid",
                    "spec.replicas",
                    format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                )],
            ));
        }
        let precondition = meta_str(&new_scale, "resourceVersion").map(str::to_string);
        let (spec_path, _, _) = def.scale.clone().unwrap_or_default();
        let mut obj = cur;
        let segs: Vec<&str> = spec_path.trim_start_matches('.').split('.').collect();
        let mut slot = &mut obj;
        for s in &segs {
            if slot.get(*s).is_none() {
                slot[*s] = json!({});
            }
            slot = &mut slot[*s];
        }
        *slot = json!(replicas);
        let w = self.write_existing(
            now,
            def,
            ns,
            name,
            Sub::Main,
            obj,
            precondition,
            opts,
            false,
        )?;
        Ok(Written {
            obj: Arc::new(Self::scale_of(def, &w.obj)),
            warnings: w.warnings,
            created: false,
            change: None,
        })
    }

    /// POST `pods/{name}/binding`: sets `spec.nodeName` (once) and the PodScheduled condition,
    /// as kube-apiserver's binding storage does for schedulers.
    pub fn bind(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        body: &Value,
        opts: &WriteOpts,
    ) -> KubeResult<Value> {
        let node = body
            .pointer("/target/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                KubeApiError::invalid(
                    "Binding",
                    "",
                    name,
                    vec![Cause::new(
                        "FieldValueRequired",
                        "target.name",
                        "Required value",
                    )],
                )
            })?
            .to_string();
        let cur = self.get(def, ns, name)?;
        if let Some(bound) = cur.pointer("/spec/nodeName").and_then(Value::as_str) {
            if !bound.is_empty() {
                return Err(KubeApiError::conflict(
                    subject(def, name),
                    &format!("pod {name} is already assigned to node \"{bound}\""),
                ));
            }
        }
        if cur.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(KubeApiError::conflict(
                subject(def, name),
                &format!("pod {name} is being deleted, cannot be assigned to a host"),
            ));
        }
        let mut obj = cur.clone();
        obj["spec"]["nodeName"] = json!(node);
        let cond = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
                          "lastTransitionTime": now.to_rfc3339_secs()});
        let status = obj
            .as_object_mut()
            .map(|m| m.entry("status").or_insert_with(|| json!({})));
        if let Some(Value::Object(st)) = status {
            let conds = st.entry("conditions").or_insert_with(|| json!([]));
            if let Some(a) = conds.as_array_mut() {
                a.retain(|c| c.get("type").and_then(Value::as_str) != Some("PodScheduled"));
                a.push(cond);
            }
        }
        if opts.dry_run {
            return Ok(crate::error::success_status(None));
        }
        let sdef = self.storage_def(def);
        let time = now.to_rfc3339_secs();
        let w = ssa::Writer {
            kind: &sdef.kind,
            manager: &opts.manager,
            api_version: &def.api_version(),
            time: &time,
            subresource: "binding",
        };
        ssa::track_update(&w, Some(&cur), &mut obj);
        self.store.put(&sdef.storage, obj);
        Ok(crate::error::success_status(None))
    }

    /// DELETE of one object. Returns the object (with deletionTimestamp when the deletion waits
    /// for finalizers or a grace period).
    pub fn delete(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        opts: &DeleteOpts,
    ) -> KubeResult<Value> {
        let sdef = self.storage_def(def);
        let cur = self
            .store
            .get(&sdef.storage, ns, name)
            .ok_or_else(|| KubeApiError::not_found(subject(def, name)))?;
        if sdef.kind == "Namespace" && sdef.group.is_empty() && IMMORTAL_NAMESPACES.contains(&name)
        {
            // The NamespaceLifecycle admission plugin's immortal namespaces.
            return Err(KubeApiError::forbidden_for(
                subject(def, name),
                "this namespace may not be deleted",
            ));
        }
        if let Some(u) = &opts.uid {
            if meta_str(&cur, "uid") != Some(u.as_str()) {
                return Err(KubeApiError::conflict(
                    subject(def, name),
                    &format!(
                        "Precondition failed: UID in precondition: {u}, UID in object meta: {}",
                        meta_str(&cur, "uid").unwrap_or("")
                    ),
                ));
            }
        }
        if let Some(rv) = &opts.rv {
            if meta_str(&cur, "resourceVersion") != Some(rv.as_str()) {
                return Err(KubeApiError::conflict(
                    subject(def, name),
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        meta_str(&cur, "resourceVersion").unwrap_or("")
                    ),
                ));
            }
        }
        if opts.dry_run {
            return Ok(convert::from_storage(def, &cur));
        }
        let policy = opts
            .propagation
            .clone()
            .unwrap_or_else(|| "Background".into());
        if !matches!(policy.as_str(), "Background" | "Foreground" | "Orphan") {
            return Err(KubeApiError::invalid(
                "DeleteOptions",
                "meta.k8s.io",
                "",
                vec![Cause::new(
                    "FieldValueNotSupported",
                    "propagationPolicy",
                    format!("Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""),
                )],
            ));
        }
        let out = self.delete_inner(now, &sdef, ns, name, &policy, opts.grace);
        Ok(convert::from_storage(def, &out.unwrap_or(cur)))
    }

    /// Deletion logic shared by DELETE, GC and namespace cleanup.
    fn delete_inner(
        &mut self,
        now: SimTime,
        sdef: &ResourceDef,
        ns: &str,
        name: &str,
        policy: &str,
        grace: Option<i64>,
    ) -> Option<Arc<Value>> {
        let cur = self.store.get(&sdef.storage, ns, name)?;
        let uid = meta_str(&cur, "uid").unwrap_or("").to_string();
        let already = cur.pointer("/metadata/deletionTimestamp").is_some();
        if sdef.kind == "Namespace" && sdef.group.is_empty() {
            return self.terminate_namespace(now, name);
        }
        // Pods bound to a node wait for their kubelet for the grace period.
        if sdef.kind == "Pod" && sdef.group.is_empty() {
            let bound = cur
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            let phase = cur
                .pointer("/status/phase")
                .and_then(Value::as_str)
                .unwrap_or("");
            let terminal = phase == "Succeeded" || phase == "Failed";
            let g = grace.unwrap_or_else(|| {
                cur.pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(30)
            });
            if bound && !terminal && g > 0 {
                let current_g = cur
                    .pointer("/metadata/deletionGracePeriodSeconds")
                    .and_then(Value::as_i64);
                if already && current_g.is_some_and(|c| c <= g) {
                    return Some(cur);
                }
                let mut o = (*cur).clone();
                let m = meta_mut(&mut o);
                m.insert(
                    "deletionTimestamp".into(),
                    json!(now
                        .plus(std::time::Duration::from_secs(g as u64))
                        .to_rfc3339_secs()),
                );
                m.insert("deletionGracePeriodSeconds".into(), json!(g));
                if policy == "Foreground" {
                    add_finalizer(m, "foregroundDeletion");
                }
                let stored = self.store.put(&sdef.storage, o);
                self.after_write(now, &sdef.storage, ns);
                self.delete_dependents(now, &uid, policy);
                return Some(stored);
            }
            if already && finalizers(&cur).is_empty() {
                return self.finish_delete(now, sdef, ns, name, policy);
            }
        }
        let dependents = self.store.dependents_of(&uid);
        let mut fins = finalizers(&cur);
        if policy == "Orphan" {
            for k in &dependents {
                self.remove_owner_ref(k, &uid);
            }
        }
        if policy == "Foreground"
            && !dependents.is_empty()
            && !fins.iter().any(|f| f == "foregroundDeletion")
        {
            fins.push("foregroundDeletion".into());
        }
        if !fins.is_empty() {
            let mut o = (*cur).clone();
            let m = meta_mut(&mut o);
            if !already {
                m.insert("deletionTimestamp".into(), json!(now.to_rfc3339_secs()));
                m.insert("deletionGracePeriodSeconds".into(), json!(0));
            }
            m.insert("finalizers".into(), json!(fins));
            let stored = if Some(&o) != Some(&*cur) {
                self.store.put(&sdef.storage, o)
            } else {
                cur
            };
            if policy == "Foreground" {
                self.delete_dependents(now, &uid, "Foreground");
                self.check_foreground_owner(now, &uid);
                return self.store.get(&sdef.storage, ns, name).or(Some(stored));
            }
            return Some(stored);
        }
        self.finish_delete(now, sdef, ns, name, policy)
    }

    fn remove_owner_ref(&mut self, k: &ObjKey, owner_uid: &str) {
        if let Some(o) = self.store.get(&k.storage, &k.namespace, &k.name) {
            let mut o = (*o).clone();
            if let Some(refs) = o
                .pointer_mut("/metadata/ownerReferences")
                .and_then(Value::as_array_mut)
            {
                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
                if refs.is_empty() {
                    meta_mut(&mut o).remove("ownerReferences");
                }
            }
            self.store.put(&k.storage, o);
        }
    }

    /// Removes the object for good and runs the consequences: address release, CRD
    /// unregistration, dependents' garbage collection, waiting owners and namespaces.
    fn finish_delete(
        &mut self,
        now: SimTime,
        sdef: &ResourceDef,
        ns: &str,
        name: &str,
        policy: &str,
    ) -> Option<Arc<Value>> {
        let last = self.store.remove(&sdef.storage, ns, name)?;
        let uid = meta_str(&last, "uid").unwrap_or("").to_string();
        self.uids.remove(&uid);
        if sdef.kind == "Service" && sdef.group.is_empty() {
            self.release_service(&last);
        }
        if sdef.kind == "CustomResourceDefinition" {
            if let Ok(defs) = Registry::defs_from_crd(&last) {
                if let Some(d) = defs.first() {
                    let storage = d.storage.clone();
                    let keys: Vec<(String, String)> = self
                        .store
                        .list(&storage, None)
                        .map(|o| {
                            (
                                meta_str(&o, "namespace").unwrap_or("").to_string(),
                                meta_str(&o, "name").unwrap_or("").to_string(),
                            )
                        })
                        .collect();
                    for (n, m) in keys {
                        if let Some(o) = self.store.remove(&storage, &n, &m) {
                            if let Some(u) = meta_str(&o, "uid") {
                                self.uids.remove(u);
                            }
                        }
                    }
                    let (g, p) = (d.group.clone(), d.plural.clone());
                    self.registry.remove_custom(&g, &p);
                }
            }
        }
        self.after_write(now, &sdef.storage, ns);
        if policy != "Orphan" {
            self.delete_dependents(now, &uid, "Background");
        }
        for owner in owner_uids(&last) {
            self.check_foreground_owner(now, &owner);
        }
        if !ns.is_empty() {
            self.check_namespace_done(ns);
        }
        Some(last)
    }

    /// Garbage-collects the dependents of a deleted (or foreground-deleting) owner: those whose
    /// other owners are gone too are deleted, the others lose the reference.
    fn delete_dependents(&mut self, now: SimTime, owner_uid: &str, policy: &str) {
        for k in self.store.dependents_of(owner_uid) {
            let Some(dep) = self.store.get(&k.storage, &k.namespace, &k.name) else {
                continue;
            };
            let other_live = owner_uids(&dep).iter().any(|u| {
                u != owner_uid
                    && self.uids.get(u).is_some_and(|ok| {
                        self.store
                            .get(&ok.storage, &ok.namespace, &ok.name)
                            .is_some_and(|o| o.pointer("/metadata/deletionTimestamp").is_none())
                    })
            });
            if other_live {
                if self.uids.contains_key(owner_uid) {
                    continue; // owner still exists (foreground): keep the reference
                }
                self.remove_owner_ref(&k, owner_uid);
                continue;
            }
            let Some(ddef) = self.registry.storage_def(&k.storage) else {
                continue;
            };
            if dep.pointer("/metadata/deletionTimestamp").is_some() && ddef.kind != "Pod" {
                continue;
            }
            self.delete_inner(now, &ddef, &k.namespace, &k.name, policy, None);
        }
    }

    /// Completes a foreground deletion once its owner has no dependents left.
    fn check_foreground_owner(&mut self, now: SimTime, owner_uid: &str) {
        let Some(k) = self.uids.get(owner_uid).cloned() else {
            return;
        };
        let Some(owner) = self.store.get(&k.storage, &k.namespace, &k.name) else {
            return;
        };
        let fins = finalizers(&owner);
        if !fins.iter().any(|f| f == "foregroundDeletion") {
            return;
        }
        if !self.store.dependents_of(owner_uid).is_empty() {
            return;
        }
        let rest: Vec<String> = fins
            .into_iter()
            .filter(|f| f != "foregroundDeletion")
            .collect();
        let Some(odef) = self.registry.storage_def(&k.storage) else {
            return;
        };
        if rest.is_empty() {
            self.finish_delete(now, &odef, &k.namespace, &k.name, "Background");
        } else {
            let mut o = (*owner).clone();
            meta_mut(&mut o).insert("finalizers".into(), json!(rest));
            self.store.put(&k.storage, o);
        }
    }

    fn terminate_namespace(&mut self, now: SimTime, name: &str) -> Option<Arc<Value>> {
        let cur = self.store.get("namespaces", "", name)?;
        if cur.pointer("/metadata/deletionTimestamp").is_none() {
            let mut o = (*cur).clone();
            meta_mut(&mut o).insert("deletionTimestamp".into(), json!(now.to_rfc3339_secs()));
            meta_mut(&mut o).insert("deletionGracePeriodSeconds".into(), json!(0));
            o["status"]["phase"] = json!("Terminating");
            self.store.put("namespaces", o);
        }
        for k in self.store.keys_in_namespace(name) {
            if let Some(d) = self.registry.storage_def(&k.storage) {
                self.delete_inner(now, &d, &k.namespace, &k.name, "Background", None);
            }
        }
        self.check_namespace_done(name);
        self.store.get("namespaces", "", name).or(Some(cur))
    }

    fn check_namespace_done(&mut self, ns: &str) {
        let Some(nsobj) = self.store.get("namespaces", "", ns) else {
            return;
        };
        if nsobj.pointer("/metadata/deletionTimestamp").is_none()
            || !finalizers(&nsobj).is_empty()
            || !self.store.keys_in_namespace(ns).is_empty()
        {
            return;
        }
        if let Some(last) = self.store.remove("namespaces", "", ns) {
            if let Some(u) = meta_str(&last, "uid") {
                self.uids.remove(u);
            }
        }
    }

    /// deletecollection: deletes every matching object; returns the deleted objects.
    pub fn delete_collection(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        opts: &DeleteOpts,
    ) -> KubeResult<Vec<Value>> {
        let listed = self.list(def, ns, labels, fields, None, None)?;
        let mut out = Vec::new();
        for c in listed.items {
            let n = meta_str(&c.fields, "name").unwrap_or("").to_string();
            let s = meta_str(&c.fields, "namespace").unwrap_or("").to_string();
            if let Ok(v) = self.delete(now, def, &s, &n, opts) {
                out.push(v);
            }
        }
        Ok(out)
    }
}

/// What a write will do, computed from a snapshot of the stored object (see
/// [`write_optimistic`]).
#[derive(Debug)]
pub enum Plan {
    /// Nothing changes; answer with the current object.
    Noop {
        /// The current object.
        cur: Arc<Value>,
        /// `Warning` headers.
        warnings: Vec<String>,
    },
    /// Replace `cur` with `obj`.
    Update {
        /// The object the plan was computed from.
        cur: Arc<Value>,
        /// The new object (stored form, resourceVersion still the old one).
        obj: Value,
        /// `Warning` headers.
        warnings: Vec<String>,
    },
    /// Create the object (server-side apply of a missing object).
    Create(PreparedCreate),
}

/// Computes an update of `cur` to `new` (in `def`'s version): preconditions, subresource
/// rules, decoding, defaulting, validation, generation and managedFields. Needs no lock.
#[allow(clippy::too_many_arguments)] // one internal entry point for every update flavour
pub fn plan_update(
    now: SimTime,
    def: &ResourceDef,
    sdef: &Arc<ResourceDef>,
    cur: Arc<Value>,
    ns: &str,
    name: &str,
    sub: Sub,
    new: Value,
    precondition: Option<String>,
    opts: &WriteOpts,
    applied: bool,
) -> KubeResult<Plan> {
    if let Some(bn) = meta_str(&new, "name") {
        if bn != name {
            return Err(KubeApiError::bad_request(format!(
                "the name of the object ({bn}) does not match the name on the URL ({name})"
            )));
        }
    }
    if let Some(bns) = meta_str(&new, "namespace") {
        if def.namespaced && !bns.is_empty() && bns != ns {
            return Err(KubeApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
        }
    }
    let cur_rv = meta_str(&cur, "resourceVersion").unwrap_or("").to_string();
    if let Some(p) = precondition.filter(|p| !p.is_empty()) {
        if p != cur_rv {
            return Err(KubeApiError::conflict(
                    subject(def, name),
                    "the object has been modified; please apply your changes to the latest version and try again",
                ));
        }
    }
    let new = convert::to_storage(def, new);
    let mut obj = match sub {
        Sub::Approval => {
            // certificatesigningrequests/approval changes the conditions only.
            let mut o = (*cur).clone();
            let conds = new
                .pointer("/status/conditions")
                .cloned()
                .unwrap_or(json!([]));
            if !o.get("status").is_some_and(Value::is_object) {
                o["status"] = json!({});
            }
            o["status"]["conditions"] = conds;
            o
        }
        Sub::EphemeralContainers => {
            // pods/ephemeralcontainers changes spec.ephemeralContainers only.
            let mut o = (*cur).clone();
            match new.pointer("/spec/ephemeralContainers") {
                Some(e) => o["spec"]["ephemeralContainers"] = e.clone(),
                None => {
                    if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
                        spec.remove("ephemeralContainers");
                    }
                }
            }
            o
        }
        Sub::Status => {
            let mut o = (*cur).clone();
            match new.get("status") {
                Some(s) => o["status"] = s.clone(),
                None => {
                    if let Some(m) = o.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            if applied {
                if let Some(mf) = new.pointer("/metadata/managedFields") {
                    meta_mut(&mut o).insert("managedFields".into(), mf.clone());
                }
            }
            o
        }
        _ => {
            let mut o = new;
            if let Some(m) = o.as_object_mut() {
                if sdef.status {
                    match cur.get("status") {
                        Some(s) => {
                            m.insert("status".into(), s.clone());
                        }
                        None => {
                            m.remove("status");
                        }
                    }
                }
            }
            let meta = meta_mut(&mut o);
            for k in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "namespace",
                "name",
            ] {
                match cur.get("metadata").and_then(|m| m.get(k)) {
                    Some(v) => {
                        meta.insert(k.into(), v.clone());
                    }
                    None => {
                        meta.remove(k);
                    }
                }
            }
            if !applied && !meta.contains_key("managedFields") {
                if let Some(mf) = cur.pointer("/metadata/managedFields") {
                    meta.insert("managedFields".into(), mf.clone());
                }
            }
            o
        }
    };
    meta_mut(&mut obj).insert("resourceVersion".into(), json!(cur_rv));
    let mut warnings = Vec::new();
    let mut obj = Db::normalize(sdef, obj, opts, &mut warnings)?;
    if sdef.generation && spec_differs(&obj, &cur) {
        let g = cur
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        meta_mut(&mut obj).insert("generation".into(), json!(g + 1));
    }
    if sdef.kind == "CustomResourceDefinition" && sub == Sub::Main {
        let keep_status = cur.get("status").cloned();
        Db::crd_status(&mut obj)?;
        if let (Some(old), Some(new_st)) = (keep_status, obj.get_mut("status")) {
            if let Some(c) = old.get("conditions") {
                new_st["conditions"] = c.clone();
            }
        }
    }
    if !applied {
        let time = now.to_rfc3339_secs();
        let w = ssa::Writer {
            kind: &sdef.kind,
            manager: &opts.manager,
            api_version: &def.api_version(),
            time: &time,
            subresource: sub.name(),
        };
        ssa::track_update(&w, Some(&cur), &mut obj);
    }
    if same_ignoring_rv(&obj, &cur) {
        return Ok(Plan::Noop { cur, warnings });
    }
    Ok(Plan::Update { cur, obj, warnings })
}

/// Plans a PATCH (not of `/scale`) from a snapshot of the stored object. Needs no lock.
#[allow(clippy::too_many_arguments)] // mirrors the request's parts
pub fn plan_patch(
    now: SimTime,
    def: &ResourceDef,
    sdef: &Arc<ResourceDef>,
    existing: Option<Arc<Value>>,
    ns: &str,
    name: &str,
    sub: Sub,
    ptype: PatchType,
    patch: &Value,
    opts: &WriteOpts,
) -> KubeResult<Plan> {
    if ptype == PatchType::Apply {
        if opts.manager.is_empty() {
            return Err(KubeApiError::bad_request(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
        let mut applied = patch.clone();
        Db::check_gvk(def, &mut applied)?;
        if let Some(n) = meta_str(&applied, "name") {
            if n != name {
                return Err(KubeApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
        } else {
            meta_mut(&mut applied).insert("name".into(), json!(name));
        }
        let time = now.to_rfc3339_secs();
        let w = ssa::Writer {
            kind: &sdef.kind,
            manager: &opts.manager,
            api_version: &def.api_version(),
            time: &time,
            subresource: sub.name(),
        };
        let base = match &existing {
            Some(cur) => convert::from_storage(def, cur),
            None if sub != Sub::Main => return Err(KubeApiError::not_found(subject(def, name))),
            None => json!({}),
        };
        let merged = ssa::apply(&w, &base, &applied, opts.force)
            .map_err(|c| KubeApiError::apply_conflict(subject(def, name), &c))?;
        return match existing {
            None => Ok(Plan::Create(prepare_create(
                sdef.clone(),
                now,
                def,
                Some(ns),
                merged,
                opts,
                true,
            )?)),
            Some(cur) => {
                let precondition = meta_str(patch, "resourceVersion").map(str::to_string);
                plan_update(
                    now,
                    def,
                    sdef,
                    cur,
                    ns,
                    name,
                    sub,
                    merged,
                    precondition,
                    opts,
                    true,
                )
            }
        };
    }
    let Some(cur) = existing else {
        return Err(KubeApiError::not_found(subject(def, name)));
    };
    if ptype == PatchType::Strategic && !def.builtin {
        return Err(KubeApiError::unsupported_media_type(
            "application/strategic-merge-patch+json",
        ));
    }
    let served = convert::from_storage(def, &cur);
    let precondition = patch
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut new = apply_patch(&def.kind, ptype, &served, patch, def.builtin)?;
    Db::check_gvk(def, &mut new)?;
    plan_update(
        now,
        def,
        sdef,
        cur,
        ns,
        name,
        sub,
        new,
        precondition,
        opts,
        false,
    )
}

/// Runs a write with optimistic concurrency: the plan is computed from a snapshot without the
/// lock, and committed under the write lock only if the object is still the one it was planned
/// from (else planned again; after three stale attempts, planned under the lock). Errors from a
/// stale snapshot are retried too, so answers are those of a fully locked write.
#[allow(clippy::too_many_arguments)] // mirrors the request's parts
pub fn write_optimistic(
    lock: &parking_lot::RwLock<Db>,
    now: SimTime,
    def: &ResourceDef,
    ns: &str,
    name: &str,
    opts: &WriteOpts,
    plan: impl Fn(&Arc<ResourceDef>, Option<Arc<Value>>) -> KubeResult<Plan>,
) -> KubeResult<Written> {
    let same = |a: &Option<Arc<Value>>, b: &Option<Arc<Value>>| match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    };
    for _ in 0..3 {
        let (sdef, snapshot) = {
            let db = lock.read();
            let sdef = db.storage_def(def);
            let cur = db.store.get(&sdef.storage, ns, name);
            (sdef, cur)
        };
        let planned = plan(&sdef, snapshot.clone());
        let mut db = lock.write();
        let now_cur = db.store.get(&sdef.storage, ns, name);
        if !same(&snapshot, &now_cur) {
            continue;
        }
        return db.commit_plan(now, def, &sdef, ns, name, planned?, opts);
    }
    let mut db = lock.write();
    let sdef = db.storage_def(def);
    let cur = db.store.get(&sdef.storage, ns, name);
    let planned = plan(&sdef, cur)?;
    db.commit_plan(now, def, &sdef, ns, name, planned, opts)
}

/// A create with its store-independent work done (see [`prepare_create`]).
#[derive(Debug)]
pub struct PreparedCreate {
    sdef: Arc<ResourceDef>,
    obj: Value,
    warnings: Vec<String>,
    /// `generateName` prefix when the name is still to be generated.
    generate: Option<String>,
    /// When the create was prepared.
    now: SimTime,
}

/// The store-independent part of a create, run without the lock: namespace and metadata
/// normalization, typed decoding, defaulting, validation, initial status and managedFields.
#[allow(clippy::too_many_arguments)] // mirrors the request's parts
pub fn prepare_create(
    sdef: Arc<ResourceDef>,
    now: SimTime,
    def: &ResourceDef,
    url_ns: Option<&str>,
    body: Value,
    opts: &WriteOpts,
    applied: bool,
) -> KubeResult<PreparedCreate> {
    let mut obj = convert::to_storage(def, body);
    let mut warnings = Vec::new();
    {
        let meta = meta_mut(&mut obj);
        if def.namespaced {
            let ns = url_ns.unwrap_or("default");
            match meta.get("namespace").and_then(Value::as_str) {
                Some(bns) if !bns.is_empty() && bns != ns => {
                    return Err(KubeApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ))
                }
                _ => {}
            }
            meta.insert("namespace".into(), json!(ns));
        } else {
            meta.remove("namespace");
        }
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
        ] {
            meta.remove(k);
        }
        if !applied {
            meta.remove("managedFields");
        }
    }
    let mut generate = None;
    let has_name = meta_str(&obj, "name").is_some_and(|n| !n.is_empty());
    if !has_name {
        if let Some(g) = meta_str(&obj, "generateName").map(str::to_string) {
            if !g.is_empty() {
                // Validated with a placeholder of the same shape; the suffix is drawn at commit.
                meta_mut(&mut obj).insert("name".into(), json!(format!("{g}xxxxx")));
                generate = Some(g);
            }
        }
    }
    // Status is not settable on create for kinds with a status subresource.
    if sdef.status && sdef.kind != "Node" {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    let mut obj = Db::normalize(&sdef, obj, opts, &mut warnings)?;
    match (sdef.group.as_str(), sdef.kind.as_str()) {
        ("", "Pod") => {
            let st = defaults::pod_initial_status(&obj);
            obj["status"] = st;
        }
        ("", "PersistentVolumeClaim") | ("", "PersistentVolume") => {
            obj["status"] = json!({"phase": "Pending"});
        }
        ("", "Service") => {
            obj["status"] = json!({"loadBalancer": {}});
        }
        _ => {}
    }
    {
        let meta = meta_mut(&mut obj);
        meta.insert("creationTimestamp".into(), json!(now.to_rfc3339_secs()));
        if sdef.generation {
            meta.insert("generation".into(), json!(1));
        }
    }
    if sdef.kind == "CustomResourceDefinition" {
        Db::crd_status(&mut obj)?;
    }
    if !applied {
        let time = now.to_rfc3339_secs();
        let w = ssa::Writer {
            kind: &sdef.kind,
            manager: &opts.manager,
            api_version: &def.api_version(),
            time: &time,
            subresource: "",
        };
        ssa::track_update(&w, None, &mut obj);
    }
    Ok(PreparedCreate {
        sdef,
        obj,
        warnings,
        generate,
        now,
    })
}

fn add_finalizer(m: &mut Map<String, Value>, f: &str) {
    let e = m.entry("finalizers").or_insert_with(|| json!([]));
    if let Some(a) = e.as_array_mut() {
        if !a.iter().any(|x| x == f) {
            a.push(json!(f));
        }
    }
}

/// Applies a non-apply patch to an object.
pub fn apply_patch(
    kind: &str,
    ptype: PatchType,
    cur: &Value,
    patch: &Value,
    builtin: bool,
) -> KubeResult<Value> {
    let mut out = cur.clone();
    match ptype {
        PatchType::Merge => merge::merge_patch(&mut out, patch),
        PatchType::Json => jp::json_patch(&mut out, patch)?,
        PatchType::Strategic if builtin => strategic::strategic_patch(kind, &mut out, patch),
        PatchType::Strategic => {
            return Err(KubeApiError::unsupported_media_type(
                "application/strategic-merge-patch+json",
            ))
        }
        PatchType::Apply => merge::merge_patch(&mut out, patch),
    }
    if !out.is_object() {
        return Err(KubeApiError::bad_request(
            "the patched object is not a JSON object",
        ));
    }
    Ok(out)
}
