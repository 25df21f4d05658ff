//! Garbage collection of dependents by ownerReference.

use super::*;

impl Db {
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
}
