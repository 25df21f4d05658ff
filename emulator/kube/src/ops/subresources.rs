//! The `scale` and `binding` subresources.

use super::*;

impl Db {
    pub(crate) fn scale_of(def: &ResourceDef, obj: &Value) -> Value {
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
}
