//! The TTL-after-finished controller: a finished Job with `ttlSecondsAfterFinished` is deleted
//! (with its pods, `propagationPolicy: Foreground`) that many seconds after it finished.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//! `pkg/controller/ttlafterfinished/ttlafterfinished_controller.go` (`processJob`,
//! `needsCleanup`, `timeLeft`: the finish time is the `Complete` or `Failed` condition's
//! `lastTransitionTime`; the delete carries a uid precondition) — no events, as upstream.
//!
//! Not modelled: the recheck of a fresh copy before deleting (the shared cache is already fresh).

use super::{finished_condition, Summary};
use crate::workloads::{meta, ms};
use crate::{Context, Error};
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};
use serde_json::Value;
use std::sync::Arc;

/// Deletes every finished Job whose TTL has passed.
pub async fn reconcile(ctx: &Context, jobs: &[Arc<Value>], s: &mut Summary) -> Result<(), Error> {
    let now = ctx.clock.now().as_millis();
    for job in jobs {
        let Some(ttl) = job["spec"]["ttlSecondsAfterFinished"].as_i64() else {
            continue;
        };
        if !job["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let Some(cond) = finished_condition(job) else {
            continue;
        };
        let finished = ms(&cond["lastTransitionTime"]);
        if finished == 0 {
            continue;
        }
        let expires = finished + (ttl.max(0) as u64) * 1000;
        if expires > now {
            ctx.requeue_at(expires);
            continue;
        }
        let (ns, name) = (meta(job, "namespace"), meta(job, "name"));
        // The TTL-after-finished controller's own account, asked for only when it deletes.
        let as_ttl = ctx
            .as_account(&crate::Account::controller("ttl-after-finished-controller"))
            .await?;
        let api: Api<Job> = Api::namespaced(as_ttl.kube.clone(), ns);
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Foreground),
            preconditions: Some(Preconditions {
                uid: Some(meta(job, "uid").to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(name, &dp).await {
            Ok(_) => {
                s.expired.push(format!("{ns}/{name}"));
                s.writes += 1;
            }
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
            Err(e) => {
                return Err(Error::Workload {
                    what: format!("delete Job {ns}/{name}"),
                    source: Box::new(e),
                })
            }
        }
    }
    Ok(())
}
