//! Delete and deletecollection: preconditions, the kind's delete refusal, grace periods
//! (CheckGracefulDelete), finalizers and the garbage-collection finalizers
//! (`deletionFinalizersForGarbageCollection`), namespace termination.
//!
//! Upstream: kubernetes v1.32 `staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go`
//! (`BeforeDelete`), `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`
//! (`Delete`, `DeleteCollection`, `updateForGracefulDeletionAndFinalizers`).
//!
//! Not modelled: deletecollection's parallel workers; `orphanDependents` together with
//! `propagationPolicy` is not refused.

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
        let strategy = strategy_of(&sdef);
        strategy.check_delete(def, name)?;
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
            .unwrap_or_else(|| strategy.default_gc_policy(def).into());
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
        let strategy = strategy_of(sdef);
        if strategy.terminates_contents() {
            return self.terminate_namespace(now, name);
        }
        // Graceful kinds (pods bound to a node) wait for the grace period.
        if strategy.graceful() {
            if let Some(g) = strategy.graceful_delete_period(&cur, grace) {
                let has_dependents = !self.store.dependents_of(&uid).is_empty();
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
                if policy == "Foreground" && has_dependents {
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
        if policy == "Orphan" && !fins.iter().any(|f| f == "orphan") {
            fins.push("orphan".into());
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
            if policy == "Orphan" {
                self.orphan_dependents(now, sdef, ns, name, &uid);
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
        strategy_of(sdef).after_remove(self, &last);
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
            let n = meta_str(&c.fields, "name").unwrap_or("").to_string();
            let s = meta_str(&c.fields, "namespace").unwrap_or("").to_string();
            if let Ok(v) = self.delete(now, def, &s, &n, opts) {
                out.push(v);
            }
        }
        Ok(out)
    }
}
