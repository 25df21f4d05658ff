//! The `scale` and `binding` subresources.
//!
//! Upstream: kubernetes v1.32 `pkg/registry/apps/deployment/storage/storage.go` (ScaleREST),
//! `pkg/registry/core/pod/storage/storage.go` (BindingREST),
//! `staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource` (scale).
//!
//! Not modelled: `autoscaling/v1` Scale of other groups' versions.

use super::*;

impl Db {
    pub(crate) fn scale_of(def: &ResourceDef, obj: &Value) -> Value {
        let (spec_path, status_path, sel_path) = def.scale.clone().unwrap_or_default();
        let ptr = |p: &str| format!("/{}", p.trim_start_matches('.').replace('.', "/"));
        let replicas = obj.pointer(&ptr(&spec_path)).cloned().unwrap_or(json!(0));
        let status = obj.pointer(&ptr(&status_path)).cloned().unwrap_or(json!(0));
        let selector = if def.builtin {
            strategy_of(def).scale_selector(obj)
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

    pub(crate) fn update_scale(
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
        if let Err(parent) = set_nested(&mut obj, &spec_path, json!(replicas)) {
            // Upstream's SetNestedField fails the same way (there as a 500).
            return Err(KubeApiError::invalid(
                &def.kind,
                &def.group,
                name,
                vec![Cause::new(
                    "FieldValueInvalid",
                    parent.clone(),
                    format!("Invalid value: {parent} is not an object: replicas cannot be set"),
                )],
            ));
        }
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
        track_request_update(&sdef, def, opts, &time, "binding", Some(&cur), &mut obj);
        self.store.put(&sdef.storage, obj);
        Ok(crate::error::success_status(None))
    }
}

/// Sets the value at a dotted path (`.spec.replicas`), creating missing or null objects on the
/// way, as `unstructured.SetNestedField`; `Err` names the first part that is not an object.
fn set_nested(obj: &mut Value, path: &str, v: Value) -> Result<(), String> {
    let segs: Vec<&str> = path
        .trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect();
    let Some((last, parents)) = segs.split_last() else {
        return Err(path.to_string());
    };
    let mut slot = obj;
    let mut at = String::new();
    for s in parents {
        if slot.is_null() {
            *slot = json!({});
        }
        let Some(m) = slot.as_object_mut() else {
            return Err(if at.is_empty() { "<root>".into() } else { at });
        };
        at = if at.is_empty() {
            (*s).to_string()
        } else {
            format!("{at}.{s}")
        };
        slot = m.entry(s.to_string()).or_insert(Value::Null);
    }
    if slot.is_null() {
        *slot = json!({});
    }
    match slot.as_object_mut() {
        Some(m) => {
            m.insert((*last).to_string(), v);
            Ok(())
        }
        None => Err(if at.is_empty() { "<root>".into() } else { at }),
    }
}
