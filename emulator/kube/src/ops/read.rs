//! Reads: get and list (label and field selectors, `limit`/`continue` paging).
//!
//! Upstream: kubernetes v1.32 `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`
//! (`Get`, `List`), `staging/src/k8s.io/apiserver/pkg/storage/cacher` (paging).
//!
//! Paging, resourceVersion semantics and the node index are in [`crate::list`]; see
//! docs/kube-api.md for the list semantics.

use super::*;

impl Db {
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
}
