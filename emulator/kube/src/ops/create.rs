//! Create: the store-independent preparation (run without the lock: decoding, defaults,
//! Validate, PrepareForCreate) and the commit under the lock (generated name, namespace checks,
//! uid, admission that needs the store, quota, the write, the garbage collector's check).
//!
//! Upstream: kubernetes v1.32 `staging/src/k8s.io/apiserver/pkg/registry/rest/create.go`
//! (`BeforeCreate`), `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`
//! (`Create`, RetryGenerateName).
//!
//! Not modelled: `WarningsOnCreate`, `Canonicalize`.

use super::*;

impl Db {
    pub(crate) fn check_namespace(
        &self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
    ) -> KubeResult<()> {
        let Some(nsobj) = self.store.get_change("namespaces", "", ns) else {
            return Err(KubeApiError::not_found(Subject {
                group: "",
                resource: "namespaces",
                name: ns,
            }));
        };
        if nsobj.gc.deleting {
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

    pub(crate) fn create_prepared(
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
                let taken = self
                    .store
                    .get_change(&sdef.storage, &ns, &candidate)
                    .is_some();
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
        if self.store.get_change(&sdef.storage, &ns, &name).is_some() {
            return Err(KubeApiError::already_exists(subject(def, &name)));
        }
        let uid = self.new_uid();
        meta_mut(&mut obj).insert("uid".into(), json!(uid));
        let strategy = strategy_of(&sdef);
        strategy.prepare_with_uid(&mut obj, &uid);
        strategy.admit_create(self, def, &ns, &name, &mut obj)?;
        if def.namespaced {
            self.admit_quota(def, &sdef.storage, &ns, &name, &obj)?;
        }
        strategy.before_store(self, &name, &mut obj, None, opts.dry_run)?;
        if opts.dry_run {
            return Ok(Written {
                obj: Arc::new(convert::from_storage(def, &obj)),
                warnings,
                created: true,
                change: None,
            });
        }
        let stored = self.store.put(&sdef.storage, obj);
        strategy.after_store(self, &stored);
        let key = ObjKey {
            storage: sdef.storage.clone(),
            namespace: ns.clone(),
            name,
        };
        self.uids.insert(uid, key.clone());
        let w = self.written(def, &sdef.storage, &stored, warnings, true);
        self.after_write(now, &sdef.storage, &ns);
        if !owner_uids(&stored).is_empty() {
            self.queue_gc(key);
            self.collect_garbage(now);
        }
        Ok(w)
    }
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
    let strategy = strategy_of(&sdef);
    if strategy.reset_status_on_create(&sdef) {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    let mut obj = Db::normalize(&sdef, obj, None, opts, &mut warnings)?;
    let time = now.to_rfc3339_secs();
    {
        let meta = meta_mut(&mut obj);
        meta.insert("creationTimestamp".into(), json!(time));
        if sdef.generation {
            meta.insert("generation".into(), json!(1));
        }
    }
    strategy.prepare_for_create(&mut obj, opts.requester.as_ref())?;
    if !applied {
        track_request_update(&sdef, def, opts, &time, "", None, &mut obj);
    }
    Ok(PreparedCreate {
        sdef,
        obj,
        warnings,
        generate,
        now,
    })
}
