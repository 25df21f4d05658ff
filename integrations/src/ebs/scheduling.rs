//! The scheduler's volume plugins for EBS claims, as a view the scheduler loads once per pass
//! and asks per pod and node: VolumeBinding (PreFilter, Filter, PreBind's selected node),
//! NodeVolumeLimits (the CSI attach limit of CSINode), in upstream's filter order.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/scheduler/framework/plugins/volumebinding/volume_binding.go` and `binder.go`
//!   (PreFilter: `persistentvolumeclaim "<name>" not found`, "pod has unbound immediate
//!   PersistentVolumeClaims" (UnschedulableAndUnresolvable); Filter: "node(s) had volume node
//!   affinity conflict" for a bound PV whose node affinity the node does not match, "node(s)
//!   didn't find available persistent volumes to bind" when a WaitForFirstConsumer claim can
//!   be provisioned on no zone of the node (`allowedTopologies`); PreBind: the claim's
//!   `volume.kubernetes.io/selected-node` annotation, the pod bound once the claim is);
//! - `pkg/scheduler/framework/plugins/nodevolumelimits/csi.go` ("node(s) exceed max volume
//!   count": the node's EBS volumes plus the pod's new ones above CSINode
//!   `allocatable.count`; migrated `kubernetes.io/aws-ebs` volumes count as the driver's).
//!
//! Not modelled: static PV matching for WaitForFirstConsumer claims (only provisioning),
//! VolumeZone (VolumeBinding already rejects the node), VolumeRestrictions (ReadWriteOncePod),
//! storage capacity tracking, the 10 min bind timeout.

use super::pv_controller::{class_of, delay_binding, selector_matches};
use super::{kube_err, pod_claims, str_at, volume_id, ANN_SELECTED_NODE, DRIVER, ZONE_LABEL};
use crate::node_match::node_requirement;
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::{CSINode, StorageClass};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// VolumeBinding's node affinity conflict.
pub const ERR_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
/// VolumeBinding's failure to find or provision a volume for the node.
pub const ERR_BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";
/// NodeVolumeLimits' message.
pub const ERR_MAX_VOLUME_COUNT: &str = "node(s) exceed max volume count";
/// VolumeBinding PreFilter's message.
pub const ERR_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";

/// The claims, volumes, classes and attach limits of one scheduling pass.
#[derive(Debug, Default)]
pub struct VolumeView {
    claims: BTreeMap<(String, String), Arc<Value>>,
    volumes: BTreeMap<String, Arc<Value>>,
    classes: BTreeMap<String, Arc<Value>>,
    limits: BTreeMap<String, i64>,
}

/// A filter's verdict on a node: `(unresolvable, reason)`.
pub type Rejection = (bool, String);

impl VolumeView {
    /// Reads the view from the caches (nothing when no pod uses a claim).
    pub async fn load(ctx: &Context) -> Result<VolumeView, Error> {
        let claims = ctx
            .cache
            .list::<PersistentVolumeClaim>()
            .await
            .map_err(kube_err("list PersistentVolumeClaims".into()))?;
        if claims.is_empty() {
            return Ok(VolumeView::default());
        }
        let mut v = VolumeView {
            claims: claims
                .into_iter()
                .map(|c| {
                    let k = (
                        str_at(&c, "/metadata/namespace").to_string(),
                        str_at(&c, "/metadata/name").to_string(),
                    );
                    (k, c)
                })
                .collect(),
            ..VolumeView::default()
        };
        for pv in ctx
            .cache
            .list::<PersistentVolume>()
            .await
            .map_err(kube_err("list PersistentVolumes".into()))?
        {
            v.volumes
                .insert(str_at(&pv, "/metadata/name").to_string(), pv);
        }
        for c in ctx
            .cache
            .list::<StorageClass>()
            .await
            .map_err(kube_err("list StorageClasses".into()))?
        {
            v.classes
                .insert(str_at(&c, "/metadata/name").to_string(), c);
        }
        for n in ctx
            .cache
            .list::<CSINode>()
            .await
            .map_err(kube_err("list CSINodes".into()))?
        {
            let count = n["spec"]["drivers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|d| d["name"] == DRIVER)
                .and_then(|d| d["allocatable"]["count"].as_i64());
            if let Some(c) = count {
                v.limits.insert(str_at(&n, "/metadata/name").to_string(), c);
            }
        }
        Ok(v)
    }

    fn claims_of<'a>(
        &'a self,
        pod: &'a Value,
    ) -> impl Iterator<Item = (String, Option<&'a Arc<Value>>)> + 'a {
        let ns = str_at(pod, "/metadata/namespace").to_string();
        pod_claims(pod).into_iter().map(move |c| {
            let claim = self.claims.get(&(ns.clone(), c.clone()));
            (c, claim)
        })
    }

    fn bound_volume(&self, claim: &Value) -> Option<&Arc<Value>> {
        let name = str_at(claim, "/spec/volumeName");
        if name.is_empty() {
            return None;
        }
        self.volumes.get(name)
    }

    /// VolumeBinding's PreFilter: a missing claim, or an unbound claim of Immediate binding.
    pub fn pre_filter(&self, pod: &Value) -> Option<String> {
        for (name, claim) in self.claims_of(pod) {
            let Some(claim) = claim else {
                return Some(format!("persistentvolumeclaim {name:?} not found"));
            };
            if self.bound_volume(claim).is_some() {
                continue;
            }
            if !delay_binding(self.classes.get(&class_of(claim)).map(|c| &**c)) {
                return Some(ERR_UNBOUND_IMMEDIATE.to_string());
            }
        }
        None
    }

    /// The node a WaitForFirstConsumer claim of the pod was provisioned for and is still being
    /// bound on (the pod waits in PreBind), if any.
    pub fn waiting_for_binding(&self, pod: &Value) -> Option<String> {
        self.claims_of(pod).find_map(|(_, c)| {
            let c = c?;
            if self.bound_volume(c).is_some() {
                return None;
            }
            c["metadata"]["annotations"][ANN_SELECTED_NODE]
                .as_str()
                .map(str::to_string)
        })
    }

    /// The node the pod's claims were provisioned for (bound claims with a selected node).
    pub fn selected_node(&self, pod: &Value) -> Option<String> {
        self.claims_of(pod).find_map(|(_, c)| {
            c?["metadata"]["annotations"][ANN_SELECTED_NODE]
                .as_str()
                .map(str::to_string)
        })
    }

    fn ebs_volumes_of(&self, pod: &Value) -> BTreeSet<String> {
        self.claims_of(pod)
            .filter_map(|(name, c)| {
                let c = c?;
                match self.bound_volume(c) {
                    Some(pv) => volume_id(pv),
                    None => {
                        let class = self.classes.get(&class_of(c))?;
                        let p = str_at(class, "/provisioner");
                        (p == DRIVER || p == super::IN_TREE)
                            .then(|| format!("{}/{name}", str_at(pod, "/metadata/namespace")))
                    }
                }
            })
            .collect()
    }

    /// NodeVolumeLimits, then VolumeBinding's Filter, for `pod` on `node` with `pods` on it.
    pub fn filter(&self, pod: &Value, node: &Value, pods: &[Arc<Value>]) -> Option<Rejection> {
        if self.claims.is_empty() || pod_claims(pod).is_empty() {
            return None;
        }
        let name = str_at(node, "/metadata/name");
        if let Some(limit) = self.limits.get(name) {
            let mut used: BTreeSet<String> = BTreeSet::new();
            for p in pods {
                used.extend(self.ebs_volumes_of(p));
            }
            let new: BTreeSet<String> = self
                .ebs_volumes_of(pod)
                .difference(&used)
                .cloned()
                .collect();
            if !new.is_empty() && (used.len() + new.len()) as i64 > *limit {
                return Some((false, ERR_MAX_VOLUME_COUNT.to_string()));
            }
        }
        for (_, claim) in self.claims_of(pod) {
            let claim = claim?;
            match self.bound_volume(claim) {
                Some(pv) => {
                    let terms = &pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"];
                    if let Some(terms) = terms.as_array() {
                        let ok = terms.iter().any(|t| {
                            t["matchExpressions"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .all(|r| {
                                    let key = r["key"].as_str().unwrap_or("");
                                    node_requirement(r, node["metadata"]["labels"][key].as_str())
                                })
                        });
                        if !ok {
                            return Some((true, ERR_NODE_CONFLICT.to_string()));
                        }
                    }
                }
                None => {
                    let class = self.classes.get(&class_of(claim))?;
                    if !topology_allows(class, node) {
                        return Some((true, ERR_BIND_CONFLICT.to_string()));
                    }
                }
            }
        }
        None
    }

    /// The pod's unbound WaitForFirstConsumer claims (namespace, name).
    pub fn unbound_delayed(&self, pod: &Value) -> Vec<(String, String)> {
        let ns = str_at(pod, "/metadata/namespace").to_string();
        self.claims_of(pod)
            .filter_map(|(name, c)| {
                let c = c?;
                (self.bound_volume(c).is_none()
                    && delay_binding(self.classes.get(&class_of(c)).map(|c| &**c)))
                .then(|| (ns.clone(), name))
            })
            .collect()
    }
}

/// `v1helper.MatchTopologySelectorTerms` of the class's `allowedTopologies` on the node's labels.
fn topology_allows(class: &Value, node: &Value) -> bool {
    let Some(terms) = class["allowedTopologies"].as_array() else {
        return true;
    };
    if terms.is_empty() {
        return true;
    }
    let labels: BTreeMap<String, String> = node["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    terms.iter().any(|t| {
        t["matchLabelExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| {
                let key = match e["key"].as_str() {
                    Some(super::DRIVER_ZONE_KEY) => ZONE_LABEL,
                    Some(k) => k,
                    None => "",
                };
                let sel = json!({"matchExpressions": [{"key": key, "operator": "In", "values": e["values"]}]});
                selector_matches(&sel, &labels)
            })
    })
}

/// PreBind: annotates the pod's unbound WaitForFirstConsumer claims with the chosen node.
pub async fn select_node(
    ctx: &Context,
    claims: &[(String, String)],
    node: &str,
) -> Result<usize, Error> {
    for (ns, name) in claims {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.kube.clone(), ns);
        let patch = json!({"metadata": {"annotations": {ANN_SELECTED_NODE: node}}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(kube_err(format!("patch PersistentVolumeClaim {ns}/{name}")))?;
    }
    Ok(claims.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(limit: i64) -> VolumeView {
        let mut v = VolumeView::default();
        for (claim, pv, vol) in [("a", "pvc-a", "vol-a"), ("b", "pvc-b", "vol-b")] {
            v.claims.insert(
                ("default".into(), claim.into()),
                Arc::new(json!({"spec": {"volumeName": pv, "storageClassName": "standard"}})),
            );
            v.volumes.insert(
                pv.into(),
                Arc::new(json!({"metadata": {"name": pv}, "spec": {
                    "csi": {"driver": DRIVER, "volumeHandle": vol},
                    "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                        {"key": ZONE_LABEL, "operator": "In", "values": ["cn-northwest-1a"]}]}]}}}})),
            );
        }
        v.limits.insert("n1".into(), limit);
        v
    }

    fn pod(claim: &str) -> Value {
        json!({"metadata": {"namespace": "default"},
            "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}})
    }

    fn node(zone: &str) -> Value {
        json!({"metadata": {"name": "n1", "labels": {ZONE_LABEL: zone}}})
    }

    #[test]
    fn the_attach_limit_counts_the_nodes_volumes() {
        let on_node = vec![Arc::new(pod("a"))];
        let v = view(1);
        assert_eq!(
            v.filter(&pod("b"), &node("cn-northwest-1a"), &on_node),
            Some((false, ERR_MAX_VOLUME_COUNT.to_string()))
        );
        // The same volume again is not a new attachment.
        assert_eq!(
            v.filter(&pod("a"), &node("cn-northwest-1a"), &on_node),
            None
        );
        assert_eq!(
            view(2).filter(&pod("b"), &node("cn-northwest-1a"), &on_node),
            None
        );
    }

    #[test]
    fn a_node_outside_the_volume_zone_conflicts() {
        assert_eq!(
            view(5).filter(&pod("a"), &node("cn-northwest-1b"), &[]),
            Some((true, ERR_NODE_CONFLICT.to_string()))
        );
        assert_eq!(
            view(5).pre_filter(&pod("missing")).as_deref(),
            Some("persistentvolumeclaim \"missing\" not found")
        );
    }
}
