//! Update (PUT) and patch, implemented once: `plan_put` and `plan_patch` (read, apply the patch)
//! both end in `plan_update`, computed from a snapshot outside the lock; `write_optimistic`
//! commits a plan only if the object is still that snapshot, else plans again (upstream's
//! GuaranteedUpdate with its resourceVersion precondition and retry on conflict).
//!
//! Upstream: kubernetes v1.32 `staging/src/k8s.io/apiserver/pkg/registry/rest/update.go`
//! (`BeforeUpdate`, AllowCreateOnUpdate, AllowUnconditionalUpdate),
//! `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go` (`Update`),
//! `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go`.
//!
//! Not modelled: `WarningsOnUpdate`; ValidateUpdate rules beyond Validate.

use super::*;
use crate::store::Change;

impl Db {
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
    pub(crate) fn write_existing(
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
        let strategy = strategy_of(&sdef);
        strategy.before_store(self, name, &mut obj, Some(&cur), opts.dry_run)?;
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
        let stored = self.store.put(&sdef.storage, obj);
        strategy.after_store(self, &stored);
        let w = self.written(def, &sdef.storage, &stored, warnings, false);
        self.after_write(now, &sdef.storage, ns);
        if !owner_uids(&stored).is_empty() {
            self.queue_gc(ObjKey {
                storage: sdef.storage.clone(),
                namespace: ns.to_string(),
                name: name.to_string(),
            });
            self.collect_garbage(now);
        }
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
            let keys = strategy_of(sdef).status_metadata(sdef);
            if !keys.is_empty() {
                let from = new.get("metadata");
                let meta = meta_mut(&mut o);
                for k in keys {
                    match from.and_then(|m| m.get(*k)) {
                        Some(v) => {
                            meta.insert((*k).into(), v.clone());
                        }
                        None => {
                            meta.remove(*k);
                        }
                    }
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
    let mut obj = Db::normalize(sdef, obj, Some(cur.as_ref()), opts, &mut warnings)?;
    if sdef.generation && spec_differs(&obj, &cur) {
        let g = cur
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        meta_mut(&mut obj).insert("generation".into(), json!(g + 1));
    }
    strategy_of(sdef).prepare_for_update(sub, &mut obj, &cur)?;
    if !applied {
        let time = now.to_rfc3339_secs();
        track_request_update(sdef, def, opts, &time, sub.name(), Some(&cur), &mut obj);
    }
    if same_ignoring_rv(&obj, &cur) {
        return Ok(Plan::Noop { cur, warnings });
    }
    Ok(Plan::Update { cur, obj, warnings })
}

/// Plans a PUT from a snapshot of the stored object (`None` when missing). Needs no lock.
/// The kind's strategy decides whether a missing object is created (AllowCreateOnUpdate) and
/// whether a body without `resourceVersion` is accepted (AllowUnconditionalUpdate).
#[allow(clippy::too_many_arguments)] // mirrors the request's parts
pub fn plan_put(
    now: SimTime,
    def: &ResourceDef,
    sdef: &Arc<ResourceDef>,
    existing: Option<Arc<Value>>,
    ns: &str,
    name: &str,
    sub: Sub,
    body: Value,
    opts: &WriteOpts,
) -> KubeResult<Plan> {
    let strategy = strategy_of(sdef);
    let precondition = meta_str(&body, "resourceVersion")
        .filter(|rv| !rv.is_empty())
        .map(str::to_string);
    let Some(cur) = existing else {
        if sub != Sub::Main || !strategy.allow_create_on_update() {
            return Err(KubeApiError::not_found(subject(def, name)));
        }
        let mut body = body;
        match meta_str(&body, "name") {
            Some(n) if n != name => {
                return Err(KubeApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )))
            }
            Some(_) => {}
            None => {
                meta_mut(&mut body).insert("name".into(), json!(name));
            }
        }
        return Ok(Plan::Create(prepare_create(
            sdef.clone(),
            now,
            def,
            Some(ns),
            body,
            opts,
            false,
        )?));
    };
    if precondition.is_none() && !strategy.allow_unconditional_update() {
        return Err(KubeApiError::invalid(
            &def.kind,
            &def.group,
            name,
            vec![Cause::new(
                "FieldValueRequired",
                "metadata.resourceVersion",
                "Required value: must be specified for an update",
            )],
        ));
    }
    plan_update(
        now,
        def,
        sdef,
        cur,
        ns,
        name,
        sub,
        body,
        precondition,
        opts,
        false,
    )
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
    // The snapshot is the stored change itself (objects are parsed from its bytes on demand, so
    // two reads of an unchanged object are different trees; the change's identity is what
    // tells "unchanged since planned").
    let same = |a: &Option<Arc<Change>>, b: Option<&Arc<Change>>| match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    };
    for _ in 0..3 {
        let (sdef, snapshot) = {
            let db = lock.read();
            let sdef = db.storage_def(def);
            let cur = db.store.get_change(&sdef.storage, ns, name).cloned();
            (sdef, cur)
        };
        let planned = plan(&sdef, snapshot.as_ref().map(|c| c.obj()));
        let mut db = lock.write();
        if !same(&snapshot, db.store.get_change(&sdef.storage, ns, name)) {
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
