//! The Job and TTL-after-finished controllers on a manual clock against the in-process API
//! server. No kubelet runs here: the tests finish pods by patching their phase.

use anyhow::Result;
use cloudbox_integrations::job;
use cloudbox_integrations::Context;
use cloudbox_sim::Clock;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::time::Duration;

const NS: &str = "default";

struct World {
    clock: Clock,
    ctx: Context,
}

fn world() -> Result<World> {
    let w = super::support::world()?;
    Ok(World {
        clock: w.clock,
        ctx: w.ctx,
    })
}

fn job_json(name: &str, completions: i64, parallelism: i64, extra: Value) -> Value {
    let mut j = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "completions": completions,
            "parallelism": parallelism,
            "backoffLimit": 6,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34"}]},
            },
        },
    });
    if let (Some(spec), Some(extra)) = (j["spec"].as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    j
}

impl World {
    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.ctx.kube.clone(), NS)
    }

    fn pod_api(&self) -> Api<Pod> {
        Api::namespaced(self.ctx.kube.clone(), NS)
    }

    async fn create(&self, v: Value) -> Result<()> {
        let j: Job = serde_json::from_value(v)?;
        self.jobs().create(&PostParams::default(), &j).await?;
        Ok(())
    }

    async fn job(&self, name: &str) -> Result<Option<Value>> {
        Ok(self
            .jobs()
            .get_opt(name)
            .await?
            .map(serde_json::to_value)
            .transpose()?)
    }

    async fn pods(&self) -> Result<Vec<Value>> {
        let mut v: Vec<Value> = self
            .pod_api()
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        v.sort_by_key(|p| {
            p["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        });
        Ok(v)
    }

    async fn active_pods(&self) -> Result<Vec<Value>> {
        Ok(self
            .pods()
            .await?
            .into_iter()
            .filter(|p| {
                p["status"]["phase"] == "Pending" && p["metadata"]["deletionTimestamp"].is_null()
            })
            .collect())
    }

    /// The kubelet's part: `n` pending pods end in `phase`.
    async fn finish(&self, n: usize, phase: &str) -> Result<()> {
        let t = self.clock.now().to_rfc3339_secs();
        for p in self.active_pods().await?.into_iter().take(n) {
            let name = p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let body = json!({"status": {"phase": phase, "containerStatuses": [{
                "name": "pi", "image": "perl:5.34", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": if phase == "Succeeded" { 0 } else { 1 }, "finishedAt": t}},
            }]}});
            self.pod_api()
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
                .await?;
        }
        Ok(())
    }

    async fn pass(&self) -> Result<job::Summary> {
        Ok(job::reconcile_once(&self.ctx).await?)
    }

    async fn settle(&self) -> Result<()> {
        for _ in 0..10 {
            if self.pass().await?.writes == 0 {
                return Ok(());
            }
        }
        anyhow::bail!("did not settle")
    }

    async fn events(&self) -> Result<Vec<(String, String, String)>> {
        let api: Api<Event> = Api::namespaced(self.ctx.kube.clone(), NS);
        Ok(api
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .map(|e| {
                (
                    e.type_.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                    e.message.unwrap_or_default(),
                )
            })
            .collect())
    }
}

fn cond<'a>(job: &'a Value, ty: &str) -> Option<&'a Value> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == ty)
}

#[tokio::test]
async fn completions_with_parallelism_run_to_complete() -> Result<()> {
    let w = world()?;
    w.create(job_json("pi", 3, 2, json!({}))).await?;
    let s = w.pass().await?;
    assert_eq!(s.created.len(), 2);
    let pods = w.pods().await?;
    let p = &pods[0];
    let uid = w.job("pi").await?.unwrap_or_default()["metadata"]["uid"].clone();
    assert!(p["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .starts_with("pi-"));
    assert_eq!(
        p["metadata"]["labels"]["batch.kubernetes.io/job-name"],
        "pi"
    );
    assert_eq!(
        p["metadata"]["labels"]["batch.kubernetes.io/controller-uid"],
        uid
    );
    assert_eq!(p["metadata"]["labels"]["job-name"], "pi");
    assert_eq!(
        p["metadata"]["finalizers"],
        json!(["batch.kubernetes.io/job-tracking"])
    );
    assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "Job");
    let j = w.job("pi").await?.unwrap_or_default();
    assert_eq!(j["status"]["active"], 2);
    assert!(j["status"]["startTime"].is_string());
    assert_eq!(w.pass().await?.writes, 0, "a second pass writes nothing");

    w.finish(1, "Succeeded").await?;
    let s = w.pass().await?;
    assert_eq!(s.created.len(), 1, "{s:?}");
    let j = w.job("pi").await?.unwrap_or_default();
    assert_eq!(j["status"]["succeeded"], 1);
    assert_eq!(j["status"]["uncountedTerminatedPods"], json!({}));
    let done: Vec<Value> = w
        .pods()
        .await?
        .into_iter()
        .filter(|p| p["status"]["phase"] == "Succeeded")
        .collect();
    assert!(
        done[0]["metadata"]["finalizers"].is_null()
            || done[0]["metadata"]["finalizers"] == json!([])
    );

    w.finish(2, "Succeeded").await?;
    w.settle().await?;
    let j = w.job("pi").await?.unwrap_or_default();
    assert_eq!(j["status"]["succeeded"], 3);
    assert!(j["status"]["active"].is_null());
    let met = cond(&j, "SuccessCriteriaMet").cloned().unwrap_or_default();
    assert_eq!(met["status"], "True");
    assert_eq!(met["reason"], "CompletionsReached");
    assert_eq!(met["message"], "Reached expected number of succeeded pods");
    let complete = cond(&j, "Complete").cloned().unwrap_or_default();
    assert_eq!(complete["status"], "True");
    assert!(j["status"]["completionTime"].is_string());
    assert_eq!(w.pods().await?.len(), 3);
    let evs = w.events().await?;
    assert!(evs.contains(&("Normal".into(), "Completed".into(), "Job completed".into())));
    assert_eq!(evs.iter().filter(|e| e.1 == "SuccessfulCreate").count(), 3);
    Ok(())
}

#[tokio::test]
async fn failures_back_off_then_exceed_the_limit() -> Result<()> {
    let w = world()?;
    w.create(job_json("flaky", 1, 1, json!({"backoffLimit": 1})))
        .await?;
    w.pass().await?;
    w.finish(1, "Failed").await?;
    let s = w.pass().await?;
    assert!(s.created.is_empty(), "the 10 s backoff: {s:?}");
    assert_eq!(
        w.job("flaky").await?.unwrap_or_default()["status"]["failed"],
        1
    );
    w.clock.advance(Duration::from_secs(10));
    let s = w.pass().await?;
    assert_eq!(s.created.len(), 1);
    w.finish(1, "Failed").await?;
    w.settle().await?;
    let j = w.job("flaky").await?.unwrap_or_default();
    assert_eq!(j["status"]["failed"], 2);
    let target = cond(&j, "FailureTarget").cloned().unwrap_or_default();
    assert_eq!(target["reason"], "BackoffLimitExceeded");
    let failed = cond(&j, "Failed").cloned().unwrap_or_default();
    assert_eq!(failed["status"], "True");
    assert_eq!(
        failed["message"],
        "Job has reached the specified backoff limit"
    );
    assert!(j["status"]["completionTime"].is_null());
    let evs = w.events().await?;
    assert!(evs.contains(&(
        "Warning".into(),
        "BackoffLimitExceeded".into(),
        "Job has reached the specified backoff limit".into()
    )));
    Ok(())
}

#[tokio::test]
async fn finished_jobs_expire_after_their_ttl() -> Result<()> {
    let w = world()?;
    w.create(job_json(
        "once",
        1,
        1,
        json!({"ttlSecondsAfterFinished": 30}),
    ))
    .await?;
    w.pass().await?;
    w.finish(1, "Succeeded").await?;
    w.settle().await?;
    assert!(cond(&w.job("once").await?.unwrap_or_default(), "Complete").is_some());
    w.clock.advance(Duration::from_secs(29));
    assert!(w.pass().await?.expired.is_empty());
    w.clock.advance(Duration::from_secs(1));
    assert_eq!(w.pass().await?.expired, ["default/once"]);
    let gone = match w.job("once").await? {
        None => true,
        Some(j) => j["metadata"]["deletionTimestamp"].is_string(),
    };
    assert!(gone);
    Ok(())
}

#[tokio::test]
async fn lowering_parallelism_deletes_the_surplus() -> Result<()> {
    let w = world()?;
    w.create(job_json("wide", 10, 4, json!({}))).await?;
    w.pass().await?;
    assert_eq!(w.active_pods().await?.len(), 4);
    w.jobs()
        .patch(
            "wide",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"parallelism": 1}})),
        )
        .await?;
    let s = w.pass().await?;
    assert_eq!(s.deleted.len(), 3);
    w.settle().await?;
    let j = w.job("wide").await?.unwrap_or_default();
    assert_eq!(j["status"]["active"], 1);
    // Deleted before they succeeded: counted as failed once their finalizer is gone.
    assert_eq!(j["status"]["failed"], 3);
    Ok(())
}
