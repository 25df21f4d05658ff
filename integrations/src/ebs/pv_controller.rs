//! kube-controller-manager's PersistentVolume controller: binds claims to volumes, keeps both
//! phases, hands dynamic provisioning to the external provisioner and releases volumes whose
//! claim is gone.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/controller/volume/persistentvolume/pv_controller.go` (`syncClaim`, `syncUnboundClaim`,
//!   `syncBoundClaim`, `syncVolume`, `bind`, `provisionClaim` for external provisioners:
//!   `setClaimProvisioner` writes `volume.kubernetes.io/storage-provisioner` and its beta twin;
//!   events `ExternalProvisioning` "Waiting for a volume to be created either by the external
//!   provisioner '…' or manually by the system administrator. If volume creation is delayed,
//!   please verify that the provisioner is running and correctly registered.",
//!   `WaitForFirstConsumer` "waiting for first consumer to be created before binding",
//!   `FailedBinding` "no persistent volumes available for this claim and no storage class is
//!   set", `ClaimLost`);
//! - `pkg/controller/volume/persistentvolume/index.go` and
//!   `staging/src/k8s.io/component-helpers/storage/volume/pv_helpers.go` (`FindMatchingVolume`:
//!   the smallest Available volume of the claim's class, volume mode, access modes, size and
//!   selector; a volume pre-bound to the claim first; annotations
//!   `pv.kubernetes.io/bind-completed`, `pv.kubernetes.io/bound-by-controller`);
//! - `pkg/controller/volume/persistentvolume/util` (`IsDelayBindingMode`) and
//!   `csi-translation-lib` (`kubernetes.io/aws-ebs` claims are provisioned by `ebs.csi.aws.com`,
//!   claim annotation `pv.kubernetes.io/migrated-to`).
//!
//! Not modelled: the 15 s resync (every pass syncs everything), `Lost` claims being re-bound,
//! recycling, the `Failed` phase of a static `Delete` volume without a deleter, events' series
//! (each distinct event once), the default StorageClass admission plugin.

use super::{access_modes, event, key_of, kube_err, quantity_bytes, str_at, Summary};
use super::{ANN_BETA_STORAGE_PROVISIONER, ANN_MIGRATED_TO, ANN_SELECTED_NODE};
use super::{ANN_STORAGE_PROVISIONER, DRIVER, IN_TREE};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The event source of this controller.
pub const COMPONENT: &str = "persistentvolume-controller";
/// Annotation of a claim whose binding is complete.
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Annotation of an object the controller bound (rather than the user).
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";

/// The provisioner that serves a StorageClass's `provisioner` (CSI migration).
pub fn served_by(provisioner: &str) -> &str {
    if provisioner == IN_TREE {
        DRIVER
    } else {
        provisioner
    }
}

/// Whether a StorageClass delays binding to the first consumer.
pub fn delay_binding(class: Option<&Value>) -> bool {
    class.is_some_and(|c| c["volumeBindingMode"] == "WaitForFirstConsumer")
}

/// A claim's class name (`spec.storageClassName`, or the beta annotation).
pub fn class_of(claim: &Value) -> String {
    match claim["spec"]["storageClassName"].as_str() {
        Some(c) => c.to_string(),
        None => str_at(
            claim,
            "/metadata/annotations/volume.beta.kubernetes.io~1storage-class",
        )
        .to_string(),
    }
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// A label selector (`matchLabels`, `matchExpressions`) against labels.
pub fn selector_matches(sel: &Value, l: &BTreeMap<String, String>) -> bool {
    if sel.is_null() {
        return true;
    }
    let labels_ok = sel["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| l.get(k).map(String::as_str) == v.as_str());
    let exprs_ok = sel["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: BTreeSet<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let have = l.get(key);
            match e["operator"].as_str() {
                Some("In") => have.is_some_and(|h| values.contains(h.as_str())),
                Some("NotIn") => have.is_none_or(|h| !values.contains(h.as_str())),
                Some("Exists") => have.is_some(),
                Some("DoesNotExist") => have.is_none(),
                _ => false,
            }
        });
    labels_ok && exprs_ok
}

/// Whether `pv` can serve `claim` (class, mode, access modes, size, selector).
pub fn volume_fits(pv: &Value, claim: &Value) -> bool {
    let pv_class = str_at(pv, "/spec/storageClassName");
    let mode = |v: &Value| match str_at(v, "/spec/volumeMode") {
        "" => "Filesystem".to_string(),
        m => m.to_string(),
    };
    let want = quantity_bytes(str_at(claim, "/spec/resources/requests/storage")).unwrap_or(0);
    let have = quantity_bytes(str_at(pv, "/spec/capacity/storage")).unwrap_or(0);
    pv_class == class_of(claim)
        && mode(pv) == mode(claim)
        && access_modes(claim).is_subset(&access_modes(pv))
        && have >= want
        && selector_matches(&claim["spec"]["selector"], &labels(pv))
}

fn claim_ref_is(pv: &Value, claim: &Value) -> bool {
    let r = &pv["spec"]["claimRef"];
    r["name"] == claim["metadata"]["name"]
        && r["namespace"] == claim["metadata"]["namespace"]
        && (str_at(r, "/uid").is_empty() || r["uid"] == claim["metadata"]["uid"])
}

fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v["metadata"]["annotations"][key].as_str()
}

/// One pass: volumes' phases, then every claim.
pub async fn reconcile_once(ctx: &Context, summary: &mut Summary) -> Result<(), Error> {
    let ctx = &ctx
        .as_account(&crate::Account::controller("persistent-volume-binder"))
        .await?;
    let claims = ctx
        .cache
        .list::<PersistentVolumeClaim>()
        .await
        .map_err(kube_err("list PersistentVolumeClaims".into()))?;
    let volumes = ctx
        .cache
        .list::<PersistentVolume>()
        .await
        .map_err(kube_err("list PersistentVolumes".into()))?;
    let classes: BTreeMap<String, Arc<Value>> = ctx
        .cache
        .list::<StorageClass>()
        .await
        .map_err(kube_err("list StorageClasses".into()))?
        .into_iter()
        .map(|c| (str_at(&c, "/metadata/name").to_string(), c))
        .collect();
    let by_key: BTreeMap<String, &Arc<Value>> = claims.iter().map(|c| (key_of(c), c)).collect();
    for pv in &volumes {
        sync_volume(ctx, pv, &by_key, summary).await?;
    }
    let mut taken: BTreeSet<String> = volumes
        .iter()
        .filter(|v| !v["spec"]["claimRef"].is_null())
        .map(|v| str_at(v, "/metadata/name").to_string())
        .collect();
    for claim in &claims {
        if !claim["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let class = classes.get(&class_of(claim)).map(|c| &**c);
        sync_claim(ctx, claim, &volumes, class, &mut taken, summary).await?;
    }
    Ok(())
}

async fn set_volume_phase(
    ctx: &Context,
    pv: &Value,
    phase: &str,
    summary: &mut Summary,
) -> Result<(), Error> {
    if str_at(pv, "/status/phase") == phase {
        return Ok(());
    }
    let api: Api<PersistentVolume> = Api::all(ctx.kube.clone());
    let t = ctx.clock.now().to_rfc3339_secs();
    // `UpdateStatus`, as the PV controller writes (its role grants no patch).
    crate::update::update(
        &api,
        pv,
        &json!({"status": {"phase": phase, "lastPhaseTransitionTime": t}}),
        true,
        "PersistentVolume",
    )
    .await?;
    summary.writes += 1;
    Ok(())
}

async fn sync_volume(
    ctx: &Context,
    pv: &Value,
    claims: &BTreeMap<String, &Arc<Value>>,
    summary: &mut Summary,
) -> Result<(), Error> {
    if !pv["metadata"]["deletionTimestamp"].is_null() {
        return Ok(());
    }
    let r = &pv["spec"]["claimRef"];
    if r.is_null() {
        return set_volume_phase(ctx, pv, "Available", summary).await;
    }
    let uid = str_at(r, "/uid");
    if uid.is_empty() {
        // Pre-bound to a claim that has not been matched yet.
        return set_volume_phase(ctx, pv, "Available", summary).await;
    }
    let key = format!("{}/{}", str_at(r, "/namespace"), str_at(r, "/name"));
    match claims.get(&key) {
        Some(c) if str_at(c, "/metadata/uid") == uid => {
            if str_at(c, "/spec/volumeName") == str_at(pv, "/metadata/name") {
                set_volume_phase(ctx, pv, "Bound", summary).await?;
            }
            Ok(())
        }
        // The claim is gone (or replaced by another of the same name): Released. The
        // reclaim policy is then the deleter's (external-provisioner) or the admin's.
        _ => set_volume_phase(ctx, pv, "Released", summary).await,
    }
}

async fn sync_claim(
    ctx: &Context,
    claim: &Value,
    volumes: &[Arc<Value>],
    class: Option<&Value>,
    taken: &mut BTreeSet<String>,
    summary: &mut Summary,
) -> Result<(), Error> {
    let volume_name = str_at(claim, "/spec/volumeName");
    let uid = str_at(claim, "/metadata/uid");
    if !volume_name.is_empty() {
        let Some(pv) = volumes
            .iter()
            .find(|v| str_at(v, "/metadata/name") == volume_name)
        else {
            if str_at(claim, "/status/phase") == "Bound" {
                set_claim_phase(ctx, claim, "Lost").await?;
                event(
                    ctx,
                    claim,
                    "PersistentVolumeClaim",
                    "Warning",
                    "ClaimLost",
                    "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
                    COMPONENT,
                    Some(format!("ClaimLost/{uid}")),
                )
                .await?;
                summary.writes += 2;
            }
            return Ok(());
        };
        let r = &pv["spec"]["claimRef"];
        if r.is_null() || claim_ref_is(pv, claim) {
            return bind(ctx, pv, claim, false, summary).await;
        }
        return Ok(());
    }
    // Volumes bound (or pre-bound) to this claim first: a provisioned PV names its claim.
    if let Some(pv) = volumes.iter().find(|v| {
        !v["spec"]["claimRef"].is_null()
            && claim_ref_is(v, claim)
            && v["metadata"]["deletionTimestamp"].is_null()
            && str_at(v, "/status/phase") != "Released"
    }) {
        return bind(ctx, pv, claim, true, summary).await;
    }
    let delay = delay_binding(class);
    if delay && annotation(claim, ANN_SELECTED_NODE).is_none() {
        event(
            ctx,
            claim,
            "PersistentVolumeClaim",
            "Normal",
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
            COMPONENT,
            Some(format!("WaitForFirstConsumer/{uid}")),
        )
        .await?;
        return Ok(());
    }
    if !delay {
        let best = volumes
            .iter()
            .filter(|v| {
                v["spec"]["claimRef"].is_null()
                    && !taken.contains(str_at(v, "/metadata/name"))
                    && v["metadata"]["deletionTimestamp"].is_null()
                    && volume_fits(v, claim)
            })
            .min_by_key(|v| quantity_bytes(str_at(v, "/spec/capacity/storage")).unwrap_or(0));
        if let Some(pv) = best {
            taken.insert(str_at(pv, "/metadata/name").to_string());
            return bind(ctx, pv, claim, true, summary).await;
        }
    }
    let provisioner = class.map(|c| str_at(c, "/provisioner")).unwrap_or_default();
    if provisioner.is_empty() || provisioner == "kubernetes.io/no-provisioner" {
        if class.is_none() && class_of(claim).is_empty() {
            event(
                ctx,
                claim,
                "PersistentVolumeClaim",
                "Normal",
                "FailedBinding",
                "no persistent volumes available for this claim and no storage class is set",
                COMPONENT,
                Some(format!("FailedBinding/{uid}")),
            )
            .await?;
        }
        return Ok(());
    }
    let name = served_by(provisioner);
    if annotation(claim, ANN_STORAGE_PROVISIONER) != Some(name) {
        let mut ann = json!({ANN_STORAGE_PROVISIONER: name, ANN_BETA_STORAGE_PROVISIONER: name});
        if provisioner == IN_TREE {
            ann[ANN_MIGRATED_TO] = json!(DRIVER);
        }
        patch_claim(ctx, claim, json!({"metadata": {"annotations": ann}})).await?;
        summary.writes += 1;
    }
    let msg = format!("Waiting for a volume to be created either by the external provisioner '{name}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.");
    if event(
        ctx,
        claim,
        "PersistentVolumeClaim",
        "Normal",
        "ExternalProvisioning",
        &msg,
        COMPONENT,
        Some(format!("ExternalProvisioning/{uid}")),
    )
    .await?
    {
        summary.writes += 1;
    }
    Ok(())
}

/// `Update` of the claim with `patch` merged in; the stored claim.
async fn patch_claim(ctx: &Context, claim: &Value, patch: Value) -> Result<Value, Error> {
    let ns = str_at(claim, "/metadata/namespace");
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.kube.clone(), ns);
    crate::update::update(&api, claim, &patch, false, "PersistentVolumeClaim").await
}

async fn set_claim_phase(ctx: &Context, claim: &Value, phase: &str) -> Result<(), Error> {
    let ns = str_at(claim, "/metadata/namespace");
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.kube.clone(), ns);
    crate::update::update(
        &api,
        claim,
        &json!({"status": {"phase": phase}}),
        true,
        "PersistentVolumeClaim",
    )
    .await?;
    Ok(())
}

/// Binds both sides (`bind`: the volume first, then the claim), writing only what differs.
async fn bind(
    ctx: &Context,
    pv: &Value,
    claim: &Value,
    by_controller: bool,
    summary: &mut Summary,
) -> Result<(), Error> {
    let pv_name = str_at(pv, "/metadata/name");
    let pvs: Api<PersistentVolume> = Api::all(ctx.kube.clone());
    let mut stored_pv = pv.clone();
    let mut stored_claim = claim.clone();
    let r = &pv["spec"]["claimRef"];
    if r.is_null() || str_at(r, "/uid").is_empty() {
        let mut patch = json!({"spec": {"claimRef": {
            "kind": "PersistentVolumeClaim", "apiVersion": "v1",
            "namespace": claim["metadata"]["namespace"], "name": claim["metadata"]["name"],
            "uid": claim["metadata"]["uid"], "resourceVersion": claim["metadata"]["resourceVersion"],
        }}});
        if r.is_null() {
            patch["metadata"] = json!({"annotations": {ANN_BOUND_BY_CONTROLLER: "yes"}});
        }
        stored_pv = crate::update::update(&pvs, pv, &patch, false, "PersistentVolume").await?;
        summary.writes += 1;
    }
    set_volume_phase(ctx, &stored_pv, "Bound", summary).await?;
    let bound_spec = str_at(claim, "/spec/volumeName") == pv_name
        && annotation(claim, ANN_BIND_COMPLETED) == Some("yes");
    if !bound_spec {
        let mut ann = json!({ANN_BIND_COMPLETED: "yes"});
        if by_controller {
            ann[ANN_BOUND_BY_CONTROLLER] = json!("yes");
        }
        stored_claim = patch_claim(
            ctx,
            claim,
            json!({"metadata": {"annotations": ann}, "spec": {"volumeName": pv_name}}),
        )
        .await?;
        summary.writes += 1;
    }
    if str_at(claim, "/status/phase") != "Bound" {
        let ns = str_at(claim, "/metadata/namespace");
        let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.kube.clone(), ns);
        let status = json!({"status": {
            "phase": "Bound",
            "accessModes": pv["spec"]["accessModes"],
            "capacity": pv["spec"]["capacity"],
        }});
        crate::update::update(&api, &stored_claim, &status, true, "PersistentVolumeClaim").await?;
        summary.writes += 1;
        summary.bound.push((key_of(claim), pv_name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_fitting_rules() {
        let claim = json!({"spec": {"storageClassName": "", "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "10Gi"}},
            "selector": {"matchLabels": {"tier": "db"}}}});
        let pv = |size: &str, tier: &str| {
            json!({"metadata": {"labels": {"tier": tier}}, "spec": {"storageClassName": "",
                "accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "capacity": {"storage": size}}})
        };
        assert!(volume_fits(&pv("10Gi", "db"), &claim));
        assert!(!volume_fits(&pv("5Gi", "db"), &claim));
        assert!(!volume_fits(&pv("20Gi", "web"), &claim));
    }

    #[test]
    fn in_tree_is_served_by_the_driver() {
        assert_eq!(served_by(IN_TREE), DRIVER);
        assert_eq!(served_by("example.com/nfs"), "example.com/nfs");
    }
}
