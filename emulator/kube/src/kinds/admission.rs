//! Where the added kinds' rules meet the store: the bootstrap policy written at start, quota
//! admission on create, and the follow-up work of a write that upstream's controllers do a
//! moment later (ResourceQuota usage, PodDisruptionBudget status, ClusterRole aggregation) —
//! here synchronously, so the state is the one those controllers converge to.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/rbac/rest/storage_rbac.go` (bootstrap
//! hook), `pkg/registry/scheduling/rest/storage_scheduling.go` (system priority classes),
//! `pkg/controller/resourcequota`, `pkg/controller/disruption`,
//! `pkg/controller/clusterroleaggregation`, `pkg/registry/core/pod/storage/eviction.go`,
//! `plugin/pkg/admission/priority/admission.go`.

use super::{disruption, quota, rbac};
use crate::error::{KubeApiError, KubeResult, Subject};
use crate::ops::{Db, DeleteOpts, WriteOpts};
use crate::registry::ResourceDef;
use cloudbox_sim::SimTime;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

const CLUSTER_ROLES: &str = "rbac.authorization.k8s.io/clusterroles";
const PDBS: &str = "policy/poddisruptionbudgets";
const PRIORITY_CLASSES: &str = "scheduling.k8s.io/priorityclasses";

fn with_status(obj: &Value, status: Value) -> Value {
    let mut o = obj.clone();
    o["status"] = status;
    o
}

impl Db {
    /// Writes the bootstrap policy: default ClusterRoles and ClusterRoleBindings, the `kube-`
    /// namespaces' Roles and RoleBindings, and the system PriorityClasses.
    pub(crate) fn bootstrap(&mut self, now: SimTime, opts: &WriteOpts) {
        let groups = [
            (
                "rbac.authorization.k8s.io",
                "v1",
                "clusterroles",
                rbac::bootstrap_cluster_roles(),
            ),
            (
                "rbac.authorization.k8s.io",
                "v1",
                "clusterrolebindings",
                rbac::bootstrap_cluster_role_bindings(),
            ),
            (
                "rbac.authorization.k8s.io",
                "v1",
                "roles",
                rbac::bootstrap_roles(),
            ),
            (
                "rbac.authorization.k8s.io",
                "v1",
                "rolebindings",
                rbac::bootstrap_role_bindings(),
            ),
            (
                "scheduling.k8s.io",
                "v1",
                "priorityclasses",
                rbac::bootstrap_priority_classes(),
            ),
        ];
        // The aggregated roles are computed once, after every role is written.
        self.bootstrapping = true;
        for (g, v, plural, objs) in groups {
            let Some(def) = self.registry.get(g, v, plural) else {
                continue;
            };
            for o in objs {
                let ns = o["metadata"]["namespace"].as_str().map(str::to_string);
                let _ = self.create(now, &def, ns.as_deref(), o, opts);
            }
        }
        self.bootstrapping = false;
        self.aggregate_cluster_roles();
    }

    /// LimitRange admission of a new pod: defaults its containers' resources and enforces
    /// `min`/`max` (403).
    pub(crate) fn admit_limits(
        &self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        pod: &mut Value,
    ) -> KubeResult<()> {
        let ranges: Vec<Arc<Value>> = self.store.list("limitranges", Some(ns)).collect();
        let refs: Vec<&Value> = ranges.iter().map(|r| &**r).collect();
        super::limits::admit(&refs, pod).map_err(|why| {
            KubeApiError::forbidden_for(
                Subject {
                    group: &def.group,
                    resource: &def.plural,
                    name,
                },
                &why,
            )
        })
    }

    /// Priority admission of a new pod: `spec.priority` and `preemptionPolicy` from its
    /// PriorityClass (or the global default class), 403 `no PriorityClass with name x was found`.
    pub(crate) fn admit_priority(
        &self,
        def: &ResourceDef,
        name: &str,
        pod: &mut Value,
    ) -> KubeResult<()> {
        let wanted = pod
            .pointer("/spec/priorityClassName")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let class = match &wanted {
            Some(n) => {
                let c = self.store.get_parsed(PRIORITY_CLASSES, "", n);
                if c.is_none() {
                    return Err(KubeApiError::forbidden_for(
                        Subject {
                            group: &def.group,
                            resource: &def.plural,
                            name,
                        },
                        &format!("no PriorityClass with name {n} was found"),
                    ));
                }
                c
            }
            None => self
                .store
                .list_parsed(PRIORITY_CLASSES, None)
                .find(|c| c.get("globalDefault").and_then(Value::as_bool) == Some(true))
                .cloned(),
        };
        let Some(class) = class else {
            return Ok(());
        };
        if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
            if wanted.is_none() {
                if let Some(n) = class.pointer("/metadata/name") {
                    spec.insert("priorityClassName".into(), n.clone());
                }
            }
            spec.insert(
                "priority".into(),
                class.get("value").cloned().unwrap_or(json!(0)),
            );
            spec.insert(
                "preemptionPolicy".into(),
                class
                    .get("preemptionPolicy")
                    .cloned()
                    .unwrap_or(json!("PreemptLowerPriority")),
            );
        }
        Ok(())
    }

    /// Refuses a create that would exceed a ResourceQuota of its namespace (403
    /// `exceeded quota: …`).
    pub(crate) fn admit_quota(
        &self,
        def: &ResourceDef,
        storage: &str,
        ns: &str,
        name: &str,
        obj: &Value,
    ) -> KubeResult<()> {
        let quotas: Vec<Arc<Value>> = self.store.list("resourcequotas", Some(ns)).collect();
        if quotas.is_empty() {
            return Ok(());
        }
        let objects = match self.store.ledger(ns) {
            Some(_) => Vec::new(),
            None => self.namespace_objects(ns),
        };
        for q in &quotas {
            let Some(hard) = q.pointer("/spec/hard").and_then(Value::as_object) else {
                continue;
            };
            let used = match self.store.ledger(ns) {
                Some(l) => quota::used_from_ledger(hard, l.totals()),
                None => quota::used_for(hard, objects.iter().map(|(s, o)| (s.as_str(), &**o))),
            };
            quota::admit(q, &used, storage, obj).map_err(|why| {
                KubeApiError::forbidden_for(
                    Subject {
                        group: &def.group,
                        resource: &def.plural,
                        name,
                    },
                    &why,
                )
            })?;
        }
        Ok(())
    }

    fn namespace_objects(&self, ns: &str) -> Vec<(String, Arc<Value>)> {
        self.store
            .keys_in_namespace(ns)
            .into_iter()
            .filter_map(|k| {
                let o = self.store.get(&k.storage, &k.namespace, &k.name)?;
                Some((k.storage, o))
            })
            .collect()
    }

    /// The follow-up of a stored write to `storage` in `ns`.
    pub(crate) fn after_write(&mut self, now: SimTime, storage: &str, ns: &str) {
        if storage == CLUSTER_ROLES && !self.bootstrapping {
            self.aggregate_cluster_roles();
        }
        if ns.is_empty() {
            return;
        }
        self.refresh_quotas(ns);
        if storage == "pods" || storage == PDBS {
            self.refresh_budgets(now, ns);
        }
    }

    fn refresh_quotas(&mut self, ns: &str) {
        let quotas: Vec<Arc<Value>> = self.store.list("resourcequotas", Some(ns)).collect();
        if quotas.is_empty() {
            self.store.untrack_namespace(ns);
            return;
        }
        // The namespace's usage is kept from its first quota on (counted once here).
        self.store.track_namespace(ns);
        for q in quotas {
            let hard = q
                .pointer("/spec/hard")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let used = match self.store.ledger(ns) {
                Some(l) => quota::used_from_ledger(&hard, l.totals()),
                None => {
                    let objects = self.namespace_objects(ns);
                    quota::used_for(&hard, objects.iter().map(|(s, o)| (s.as_str(), &**o)))
                }
            };
            let st = quota::status(&q, &used);
            if q.get("status") != Some(&st) {
                self.store.put("resourcequotas", with_status(&q, st));
            }
        }
    }

    fn expected_pods(&self, pods: &[&Value]) -> Option<i64> {
        let mut seen = BTreeSet::new();
        let mut total = 0;
        for p in pods {
            let owner = p
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .and_then(|rs| {
                    rs.iter()
                        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
                })?;
            let uid = owner.get("uid").and_then(Value::as_str)?;
            if !seen.insert(uid.to_string()) {
                continue;
            }
            let k = self.uids.get(uid)?;
            let o = self.store.get(&k.storage, &k.namespace, &k.name)?;
            total += o.pointer("/spec/replicas").and_then(Value::as_i64)?;
        }
        Some(total)
    }

    fn refresh_budgets(&mut self, now: SimTime, ns: &str) {
        let pdbs: Vec<Arc<Value>> = self.store.list(PDBS, Some(ns)).collect();
        if pdbs.is_empty() {
            return;
        }
        // Pods are selected on their indexed projection (labels, phase) and only the budget's
        // own pods are parsed: a write in a namespace of many pods costs what the budgets cover.
        let stamp = now.to_rfc3339_secs();
        for pdb in pdbs {
            let selected: Vec<Arc<Value>> = self
                .store
                .list_changes("pods", Some(ns))
                .filter(|c| disruption::selects(&pdb, &c.fields))
                .filter(|c| {
                    !matches!(
                        c.fields.pointer("/status/phase").and_then(Value::as_str),
                        Some("Succeeded" | "Failed")
                    )
                })
                .map(|c| c.obj())
                .collect();
            let matching: Vec<&Value> = selected.iter().map(|p| &**p).collect();
            let expected = self.expected_pods(&matching);
            let st = disruption::status(&pdb, &matching, expected, &stamp);
            if pdb.get("status") != Some(&st) {
                self.store.put(PDBS, with_status(&pdb, st));
            }
        }
    }

    fn aggregate_cluster_roles(&mut self) {
        for _ in 0..4 {
            // The parsed trees the authorizer caches (every ClusterRole write at bootstrap
            // comes here: re-parsing them all each time cost ~50 ms per API server start).
            let roles: Vec<Arc<Value>> = self
                .store
                .list_parsed(CLUSTER_ROLES, None)
                .cloned()
                .collect();
            let refs: Vec<&Value> = roles.iter().map(|r| &**r).collect();
            let mut changed = false;
            for r in &roles {
                let Some(rules) = rbac::aggregate(r, &refs) else {
                    continue;
                };
                if r.get("rules") != Some(&json!(rules)) {
                    let mut o = (**r).clone();
                    o["rules"] = json!(rules);
                    self.store.put(CLUSTER_ROLES, o);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// POST `pods/{name}/eviction`: checks the pod's PodDisruptionBudget (429 when the eviction
    /// would break it), records the disruption, then deletes the pod gracefully.
    pub fn evict(
        &mut self,
        now: SimTime,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        opts: &DeleteOpts,
    ) -> KubeResult<()> {
        let pod = self.get(def, ns, name)?;
        let phase = pod
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("");
        let ignore = pod.pointer("/metadata/deletionTimestamp").is_some()
            || matches!(phase, "Succeeded" | "Failed" | "Pending");
        if !ignore {
            let pdbs: Vec<Arc<Value>> = self
                .store
                .list(PDBS, Some(ns))
                .filter(|p| disruption::selects(p, &pod))
                .collect();
            if pdbs.len() > 1 {
                return Err(KubeApiError::internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ));
            }
            if let Some(pdb) = pdbs.first() {
                match disruption::evict(pdb, &pod, &now.to_rfc3339_secs()) {
                    Err(cause) => {
                        return Err(KubeApiError::too_many_requests(
                            "Cannot evict pod as it would violate the pod's disruption budget.",
                            json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]}),
                        ))
                    }
                    Ok(Some(st)) if !opts.dry_run => {
                        self.store.put(PDBS, with_status(pdb, st));
                    }
                    Ok(_) => {}
                }
            }
        }
        self.delete(now, def, ns, name, opts)?;
        Ok(())
    }
}
