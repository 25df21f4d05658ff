//! Garbage collection by ownerReference, as kube-controller-manager's garbage collector does it,
//! run deterministically inside the API server: no background loop and no clock. Work is queued
//! by committed writes and drained before the write answers, so a client sees the state the
//! upstream collector converges to.
//!
//! - **Background** (the default): when an owner is removed, each dependent whose other owners
//!   are gone too is deleted; the others lose the reference ([`Db::delete_dependents`]).
//! - **Foreground**: the owner gets the `foregroundDeletion` finalizer and a deletionTimestamp,
//!   its dependents are deleted (in foreground too), and the owner is removed once no dependent
//!   with `blockOwnerDeletion: true` remains ([`Db::check_foreground_owner`]).
//! - **Orphan** (`propagationPolicy: Orphan` or the legacy `orphanDependents: true`, and the
//!   default of v1 ReplicationControllers): the owner gets the `orphan` finalizer, the
//!   dependents lose their reference to it, then the finalizer is removed
//!   ([`Db::orphan_dependents`]).
//! - **Dangling references** (`attemptToDeleteItem`): a written object whose ownerReferences
//!   name no live owner — a uid that is not stored, or whose stored object of that name has
//!   another uid, or that lives in another namespace — is deleted (background); when it also
//!   has a live owner, only the dangling references are removed ([`Db::attempt_to_delete`]).
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/controller/garbagecollector/garbagecollector.go`
//! (`attemptToDeleteItem`, `classifyReferences`, `isDangling`, `processDeletingDependentsItem`,
//! `orphanDependents`), `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`
//! (`deletionFinalizersForGarbageCollection`).
//!
//! Not modelled: the `OwnerRefInvalidNamespace` Event (a cluster-scoped dependent naming a
//! namespaced owner kind is left alone, as upstream, but no Event is written); owner kinds the
//! server does not serve (left alone, where upstream retries the REST mapping); the
//! `foregroundDeletion` finalizer on an owner that has no dependents (removed at once upstream,
//! never added here); the collector's informer delay.

use super::*;
use crate::store::OwnerRef;

/// What an ownerReference of a dependent points at (`classifyReferences`).
enum OwnerState {
    /// The owner exists and is not being deleted in foreground.
    Solid,
    /// The owner exists and waits for its dependents (`foregroundDeletion`).
    Waiting,
    /// No such owner: absent, another uid, or another namespace.
    Dangling,
    /// The reference cannot be resolved (unserved kind, cluster-scoped dependent with a
    /// namespaced owner).
    Unresolvable,
}

impl Db {
    /// Queues a written object for the dangling-reference check.
    pub(crate) fn queue_gc(&mut self, key: ObjKey) {
        self.gc_queue.push_back(key);
    }

    /// Drains the garbage-collection queue (called at the end of each committed write).
    pub(crate) fn collect_garbage(&mut self, now: SimTime) {
        while let Some(k) = self.gc_queue.pop_front() {
            self.attempt_to_delete(now, &k);
        }
    }

    fn classify(&self, dep_ns: &str, r: &OwnerRef) -> OwnerState {
        if dep_ns.is_empty() {
            let (group, version) = r
                .api_version
                .split_once('/')
                .unwrap_or(("", &r.api_version));
            match self.registry.by_kind(group, version, &r.kind) {
                None => return OwnerState::Unresolvable,
                Some(d) if d.namespaced => return OwnerState::Unresolvable,
                Some(_) => {}
            }
        }
        let Some(k) = self.uids.get(&r.uid) else {
            return OwnerState::Dangling;
        };
        if k.name != r.name || !(k.namespace.is_empty() || k.namespace == dep_ns) {
            return OwnerState::Dangling;
        }
        let Some(owner) = self.store.get_change(&k.storage, &k.namespace, &k.name) else {
            return OwnerState::Dangling;
        };
        if owner.gc.deleting && owner.gc.foreground {
            OwnerState::Waiting
        } else {
            OwnerState::Solid
        }
    }

    /// `attemptToDeleteItem` for a written object: deletes it when none of its owners exists,
    /// or drops its dangling references when another owner is alive. Reads the store's index
    /// only (no object is parsed unless a reference dangles).
    pub(crate) fn attempt_to_delete(&mut self, now: SimTime, k: &ObjKey) {
        let Some(dep) = self.store.get_change(&k.storage, &k.namespace, &k.name) else {
            return;
        };
        if dep.gc.deleting || dep.gc.refs.is_empty() {
            return;
        }
        let (mut solid, mut other, mut dangling) = (0, 0, Vec::new());
        for r in &dep.gc.refs {
            match self.classify(&k.namespace, r) {
                OwnerState::Solid => solid += 1,
                OwnerState::Waiting | OwnerState::Unresolvable => other += 1,
                OwnerState::Dangling => dangling.push(r.uid.clone()),
            }
        }
        if dangling.is_empty() {
            return;
        }
        if solid > 0 {
            for uid in &dangling {
                self.remove_owner_ref(k, uid);
            }
            return;
        }
        if other > 0 {
            return;
        }
        if let Some(ddef) = self.registry.storage_def(&k.storage) {
            self.delete_inner(now, &ddef, &k.namespace, &k.name, "Background", None);
        }
    }

    /// The `orphan` finalizer's work: the dependents of the deleting owner lose their reference
    /// to it, then the finalizer goes (and the owner with it when no finalizer is left).
    pub(crate) fn orphan_dependents(
        &mut self,
        now: SimTime,
        sdef: &ResourceDef,
        ns: &str,
        name: &str,
        owner_uid: &str,
    ) {
        for k in self.store.dependents_of(owner_uid) {
            self.remove_owner_ref(&k, owner_uid);
        }
        let Some(owner) = self.store.get(&sdef.storage, ns, name) else {
            return;
        };
        let fins = finalizers(&owner);
        if !fins.iter().any(|f| f == "orphan") {
            return;
        }
        let rest: Vec<String> = fins.into_iter().filter(|f| f != "orphan").collect();
        if rest.is_empty() {
            self.finish_delete(now, sdef, ns, name, "Orphan");
        } else {
            let mut o = (*owner).clone();
            meta_mut(&mut o).insert("finalizers".into(), json!(rest));
            self.store.put(&sdef.storage, o);
        }
    }

    pub(crate) fn remove_owner_ref(&mut self, k: &ObjKey, owner_uid: &str) {
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

    /// Garbage-collects the dependents of a deleted (or foreground-deleting) owner: those whose
    /// other owners are gone too are deleted, the others lose the reference.
    pub(crate) fn delete_dependents(&mut self, now: SimTime, owner_uid: &str, policy: &str) {
        for k in self.store.dependents_of(owner_uid) {
            let Some(dep) = self.store.get_change(&k.storage, &k.namespace, &k.name) else {
                continue;
            };
            let dep_deleting = dep.gc.deleting;
            let other_live = dep.gc.owner_uids().any(|u| {
                u != owner_uid
                    && self.uids.get(u).is_some_and(|ok| {
                        self.store
                            .get_change(&ok.storage, &ok.namespace, &ok.name)
                            .is_some_and(|o| !o.gc.deleting)
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
            if dep_deleting && !strategy_of(&ddef).graceful() {
                continue;
            }
            self.delete_inner(now, &ddef, &k.namespace, &k.name, policy, None);
        }
    }

    /// Completes a foreground deletion once no dependent with `blockOwnerDeletion` is left.
    pub(crate) fn check_foreground_owner(&mut self, now: SimTime, owner_uid: &str) {
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
        let blocked = self.store.dependents_of(owner_uid).iter().any(|d| {
            self.store
                .get_change(&d.storage, &d.namespace, &d.name)
                .is_some_and(|o| {
                    o.gc.refs
                        .iter()
                        .any(|r| r.uid == owner_uid && r.block_owner_deletion)
                })
        });
        if blocked {
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
}
