//! Service strategy: ClusterIP and NodePort allocation on create and update, release on delete,
//! and the initial `status.loadBalancer`; columns and field labels.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/service/strategy.go`
//! (PrepareForCreate, `SelectableFields`: `spec.clusterIP`, `spec.type`),
//! `pkg/apis/core/v1/conversion.go` (`AddFieldLabelConversionsForService`),
//! `pkg/registry/core/service/storage/alloc.go` (allocation in the REST storage's create and
//! update, release on delete).
//!
//! Not modelled: dual-stack (`ipFamilies`, a second ClusterIP), `healthCheckNodePort`,
//! ExternalName-to-ClusterIP type-change rules beyond allocation.

use super::strategy::Strategy;
use crate::error::{Cause, KubeApiError, KubeResult};
use crate::kinds::rbac::UserInfo;
use crate::ops::Db;
use crate::selectors::{field, FieldLabels, KindFields, Unsupported};
use crate::table::TableConvertor;
use serde_json::{json, Value};

/// The Service strategy.
pub struct ServiceStrategy;

impl Strategy for ServiceStrategy {
    fn prepare_for_create(&self, obj: &mut Value, _requester: Option<&UserInfo>) -> KubeResult<()> {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"loadBalancer": {}}));
        }
        Ok(())
    }

    fn before_store(
        &self,
        db: &mut Db,
        name: &str,
        obj: &mut Value,
        old: Option<&Value>,
        dry_run: bool,
    ) -> KubeResult<()> {
        db.allocate_service(obj, old, dry_run)
            .map_err(|c| KubeApiError::invalid("Service", "", name, c))
    }

    fn after_remove(&self, db: &mut Db, last: &Value) {
        db.release_service(last);
    }

    fn table(&self) -> &'static dyn TableConvertor {
        &super::core_printers::SERVICE
    }

    fn field_labels(&self) -> &'static dyn FieldLabels {
        &SERVICE_FIELDS
    }
}

/// The Service field labels (`kube-proxy` selects `spec.clusterIP!=None`).
pub static SERVICE_FIELDS: KindFields = KindFields {
    cluster_scoped: false,
    fields: &[
        field("spec.clusterIP", "/spec/clusterIP"),
        field("spec.type", "/spec/type"),
    ],
    unsupported: Unsupported::NotSupported,
};

impl Db {
    pub(crate) fn allocate_service(
        &mut self,
        obj: &mut Value,
        old: Option<&Value>,
        dry_run: bool,
    ) -> Result<(), Vec<Cause>> {
        let ty = obj
            .pointer("/spec/type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_string();
        let old_ip = old
            .and_then(|o| o.pointer("/spec/clusterIP"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut taken_ips = Vec::new();
        let mut taken_ports = Vec::new();
        let mut causes = Vec::new();
        // ClusterIP: immutable once set; allocated for every type but ExternalName.
        if ty != "ExternalName" {
            let want = obj
                .pointer("/spec/clusterIP")
                .and_then(Value::as_str)
                .map(str::to_string);
            match (&old_ip, want.as_deref()) {
                (Some(o), None | Some("")) => {
                    obj["spec"]["clusterIP"] = json!(o);
                }
                (Some(o), Some(w)) if o != w => causes.push(Cause::new(
                    "FieldValueInvalid",
                    "spec.clusterIPs[0]",
                    format!("Invalid value: []string{{\"{w}\"}}: may not change once set"),
                )),
                (Some(_), Some(_)) => {}
                (None, Some("None")) => {}
                (None, w) => match self.alloc.allocate_ip(w) {
                    Ok(ip) => {
                        taken_ips.push(ip.clone());
                        obj["spec"]["clusterIP"] = json!(ip);
                    }
                    Err(c) => causes.push(c),
                },
            }
            if let Some(ip) = obj.pointer("/spec/clusterIP").cloned() {
                obj["spec"]["clusterIPs"] = json!([ip]);
            }
        }
        let old_ports: Vec<u16> = old
            .and_then(|o| o.pointer("/spec/ports"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.get("nodePort").and_then(Value::as_u64))
                    .map(|p| p as u16)
                    .collect()
            })
            .unwrap_or_default();
        let wants_node_ports = ty == "NodePort"
            || (ty == "LoadBalancer"
                && obj
                    .pointer("/spec/allocateLoadBalancerNodePorts")
                    .and_then(Value::as_bool)
                    != Some(false));
        let mut keep = Vec::new();
        if let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            for (i, p) in ports.iter_mut().enumerate() {
                let want = p.get("nodePort").and_then(Value::as_u64).map(|n| n as u16);
                if !wants_node_ports {
                    if let Some(m) = p.as_object_mut() {
                        if ty == "ClusterIP" {
                            m.remove("nodePort");
                        }
                    }
                    continue;
                }
                match want {
                    Some(n) if old_ports.contains(&n) => keep.push(n),
                    w => match self
                        .alloc
                        .allocate_port(w, &format!("spec.ports[{i}].nodePort"))
                    {
                        Ok(n) => {
                            taken_ports.push(n);
                            keep.push(n);
                            p["nodePort"] = json!(n);
                        }
                        Err(c) => causes.push(c),
                    },
                }
            }
        }
        if !causes.is_empty() || dry_run {
            for ip in taken_ips {
                self.alloc.release_ip(&ip);
            }
            for p in taken_ports {
                self.alloc.release_port(p);
            }
            return if causes.is_empty() {
                Ok(())
            } else {
                Err(causes)
            };
        }
        for p in old_ports {
            if !keep.contains(&p) {
                self.alloc.release_port(p);
            }
        }
        Ok(())
    }

    pub(crate) fn release_service(&mut self, obj: &Value) {
        if let Some(ip) = obj.pointer("/spec/clusterIP").and_then(Value::as_str) {
            if ip != "None" {
                self.alloc.release_ip(ip);
            }
        }
        if let Some(ports) = obj.pointer("/spec/ports").and_then(Value::as_array) {
            for p in ports {
                if let Some(n) = p.get("nodePort").and_then(Value::as_u64) {
                    self.alloc.release_port(n as u16);
                }
            }
        }
    }
}
