//! CustomResourceDefinition strategy: the status (accepted names, stored versions, conditions)
//! set on create and kept on update, registration of the served versions when stored, and the
//! removal of the custom resources and their registration when the CRD is deleted.
//!
//! Upstream: kubernetes/kubernetes@v1.32
//! `staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresourcedefinition/strategy.go`,
//! `staging/src/k8s.io/apiextensions-apiserver/pkg/controller/establish`,
//! `staging/src/k8s.io/apiextensions-apiserver/pkg/controller/finalizer` (instances removed).
//!
//! The store indexes the JSON paths of every served version's `selectableFields` for the custom
//! resources' field selectors.
//!
//! Not modelled: the `customresourcecleanup.apiextensions.k8s.io` finalizer (instances are removed
//! in the delete itself), NamesAccepted conflicts between CRDs, `NonStructuralSchema`; custom resources stored before
//! their CRD gained a selectable field match it once written again (upstream rebuilds the watch
//! cache from storage).

use super::strategy::Strategy;
use crate::error::{Cause, KubeApiError, KubeResult};
use crate::kinds::rbac::UserInfo;
use crate::ops::{Db, Sub};
use crate::registry::Registry;
use crate::store::meta_str;
use serde_json::{json, Value};

/// The CustomResourceDefinition strategy.
pub struct CrdStrategy;

impl Strategy for CrdStrategy {
    fn prepare_for_create(&self, obj: &mut Value, _requester: Option<&UserInfo>) -> KubeResult<()> {
        Db::crd_status(obj)
    }

    fn prepare_for_update(&self, sub: Sub, obj: &mut Value, old: &Value) -> KubeResult<()> {
        if sub != Sub::Main {
            return Ok(());
        }
        Db::crd_status(obj)?;
        if let (Some(c), Some(new_st)) = (
            old.pointer("/status/conditions"),
            obj.get_mut("status").and_then(Value::as_object_mut),
        ) {
            new_st.insert("conditions".into(), c.clone());
        }
        Ok(())
    }

    fn after_store(&self, db: &mut Db, obj: &Value) {
        db.register_crd(obj);
    }

    fn after_remove(&self, db: &mut Db, last: &Value) {
        db.remove_crd(last);
    }

    fn table(&self) -> &'static dyn crate::table::TableConvertor {
        &super::core_printers::CUSTOM_RESOURCE_DEFINITION
    }
}

impl Db {
    /// The CRD's status: accepted names, stored versions and the two conditions.
    pub(crate) fn crd_status(obj: &mut Value) -> KubeResult<()> {
        let causes = crate::schema::validate_crd(obj);
        if !causes.is_empty() {
            let name = meta_str(obj, "name").unwrap_or("").to_string();
            let (kind, group) = ("CustomResourceDefinition", "apiextensions.k8s.io");
            return Err(KubeApiError::invalid(kind, group, &name, causes));
        }
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
        let status = json!({
            "acceptedNames": accepted,
            "storedVersions": stored,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": obj.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null)},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": obj.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null)}
            ]
        });
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), status);
        }
        Ok(())
    }

    /// Serves the CRD's versions (replacing earlier ones).
    pub(crate) fn register_crd(&mut self, crd: &Value) {
        if let Ok(defs) = Registry::defs_from_crd(crd) {
            if let Some(first) = defs.first() {
                let (g, p) = (first.group.clone(), first.plural.clone());
                std::sync::Arc::make_mut(&mut self.registry).remove_custom(&g, &p);
                let mut pointers: Vec<String> = Vec::new();
                for f in defs.iter().flat_map(|d| &d.selectable_fields) {
                    let ptr = crate::selectors::json_path_pointer(f);
                    if !pointers.contains(&ptr) {
                        pointers.push(ptr);
                    }
                }
                self.store.resource(&first.storage).selectable = pointers.into();
            }
            for d in defs {
                std::sync::Arc::make_mut(&mut self.registry).insert(d);
            }
            self.publish_registry();
        }
    }

    /// Removes a deleted CRD's custom resources and stops serving them.
    pub(crate) fn remove_crd(&mut self, last: &Value) {
        let Ok(defs) = Registry::defs_from_crd(last) else {
            return;
        };
        let Some(d) = defs.first() else { return };
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
        std::sync::Arc::make_mut(&mut self.registry).remove_custom(&g, &p);
        self.publish_registry();
    }
}
