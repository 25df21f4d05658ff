//! Delete and deletecollection: preconditions, grace periods, finalizers, namespace termination.

use super::*;

impl Db {
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
    pub(crate) fn delete_inner(
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

    /// Removes the object for good and runs the consequences: address release, CRD
    /// unregistration, dependents' garbage collection, waiting owners and namespaces.
    pub(crate) fn finish_delete(
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
                                meta_str(o, "namespace").unwrap_or("").to_string(),
                                meta_str(o, "name").unwrap_or("").to_string(),
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

    pub(crate) fn terminate_namespace(&mut self, now: SimTime, name: &str) -> Option<Arc<Value>> {
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

    pub(crate) fn check_namespace_done(&mut self, ns: &str) {
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
            let n = meta_str(&c.obj, "name").unwrap_or("").to_string();
            let s = meta_str(&c.obj, "namespace").unwrap_or("").to_string();
            if let Ok(v) = self.delete(now, def, &s, &n, opts) {
                out.push(v);
            }
        }
        Ok(out)
    }
}
