//! kube-controller-manager's Job controller (batch/v1, NonIndexed completion) and its
//! TTL-after-finished controller ([`ttl`]). One deterministic pass on the simulation clock.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/controller/job/job_controller.go` (`syncJob`, `manageJob`: `wantActive` from
//!   `parallelism` and the completions left, `getNewFinishedPods`, `isPodFailed`,
//!   `trackJobStatusAndRemoveFinalizers`, `flushUncountedAndRemoveFinalizers`,
//!   `cleanUncountedPodsWithoutFinalizers`, `enactJobFinished`, `recordJobFinished`,
//!   `newSuccessCondition` / `newFailureCondition` with `delayTerminalCondition()` true in 1.32:
//!   the interim `SuccessCriteriaMet` / `FailureTarget` condition first, the terminal `Complete` /
//!   `Failed` once no pod is left terminating or uncounted);
//! - `pkg/controller/job/backoff_utils.go` (a failed pod delays the next create by 10 s, doubled per
//!   failure since the last success, at most 6 min);
//! - `pkg/controller/controller_utils.go` (`RealPodControl`: generateName `<job>-`, events
//!   `SuccessfulCreate` "Created pod: <name>", `SuccessfulDelete` "Deleted pod: <name>", component
//!   `job-controller`).
//!
//! Pods carry the finalizer `batch.kubernetes.io/job-tracking`; a finished pod's uid goes to
//! `status.uncountedTerminatedPods`, its finalizer is removed, then it is counted in
//! `status.succeeded` / `status.failed`. Events on the Job: `Completed` "Job completed";
//! Warning `BackoffLimitExceeded` "Job has reached the specified backoff limit" and
//! `DeadlineExceeded` "Job was active longer than specified deadline".
//!
//! Containers exit only when the pod template says how long they run
//! (`cloudbox.dev/run-for`, see [`crate::container_exit`]).
//!
//! Deviation(emulator): kube-apiserver's Job strategy generates `spec.selector`
//! (`batch.kubernetes.io/controller-uid`) and adds the labels `batch.kubernetes.io/controller-uid`,
//! `batch.kubernetes.io/job-name`, `controller-uid` and `job-name` to the template; the emulated API
//! server does not yet, so this controller adds those labels to each pod it creates and finds its
//! pods by controller reference.
//!
//! Not modelled: Indexed completion, `suspend`, `podFailurePolicy`, `successPolicy`,
//! `backoffLimitPerIndex`, `podReplacementPolicy: Failed`, `managedBy`, adoption of orphan pods,
//! restart counting under `OnFailure`, expectations, event aggregation.

pub mod ttl;

use crate::workloads::{self, controller_uid, int, meta, ms};
use crate::{Context, Error};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Map, Value};

/// The pods' tracking finalizer.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// The events' `source.component`.
pub const COMPONENT: &str = "job-controller";
/// The first delay after a failed pod.
pub const BACKOFF_BASE_MS: u64 = 10_000;
/// The longest delay.
pub const BACKOFF_MAX_MS: u64 = 360_000;
/// `MaxPodCreateDeletePerSync`.
pub const MAX_PER_SYNC: i64 = 500;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Pods created (`ns/name`).
    pub created: Vec<String>,
    /// Pods deleted (`ns/name`).
    pub deleted: Vec<String>,
    /// Jobs that finished in this pass, as `ns/name Complete|Failed`.
    pub finished: Vec<String>,
    /// Jobs deleted by the TTL-after-finished controller.
    pub expired: Vec<String>,
    /// Every write to the API server (events included).
    pub writes: usize,
}

/// One pass of the Job controller, then of the TTL-after-finished controller.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let ctx = &ctx
        .as_account(&crate::Account::controller("job-controller"))
        .await?;
    let mut s = Summary::default();
    let jobs = ctx
        .cache
        .list::<Job>()
        .await
        .map_err(kerr("list Jobs".into()))?;
    for job in &jobs {
        let mut job = (**job).clone();
        job["apiVersion"] = json!("batch/v1");
        job["kind"] = json!("Job");
        if finished_condition(&job).is_none() {
            sync(ctx, &job, &mut s).await?;
        }
    }
    ttl::reconcile(ctx, &jobs, &mut s).await?;
    Ok(s)
}

fn kerr(what: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Workload {
        what,
        source: Box::new(source),
    }
}

fn conditions(job: &Value) -> impl Iterator<Item = &Value> {
    job["status"]["conditions"].as_array().into_iter().flatten()
}

fn has_condition(job: &Value, ty: &str) -> Option<Value> {
    conditions(job)
        .find(|c| c["type"] == ty && c["status"] == "True")
        .cloned()
}

/// `IsJobFinished`: the Complete or Failed condition, True.
pub fn finished_condition(job: &Value) -> Option<Value> {
    has_condition(job, "Complete").or_else(|| has_condition(job, "Failed"))
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or_default()
}

fn deleting(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

fn terminal(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

fn has_finalizer(pod: &Value) -> bool {
    pod["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == TRACKING_FINALIZER))
}

/// `isPodFailed` with the default `podReplacementPolicy` (`TerminatingOrFailed`): Failed, or
/// deleted before it succeeded.
fn is_failed(pod: &Value) -> bool {
    phase(pod) == "Failed" || (deleting(pod) && phase(pod) != "Succeeded")
}

fn uid(obj: &Value) -> &str {
    meta(obj, "uid")
}

fn uid_list(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn condition(ty: &str, reason: &str, message: &str, t: &str) -> Value {
    json!({"type": ty, "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
        "reason": reason, "message": message})
}

/// When the pod finished (its containers' latest `finishedAt`, else its deletion), ms.
fn finished_at(pod: &Value) -> u64 {
    pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| ms(&c["state"]["terminated"]["finishedAt"]))
        .max()
        .filter(|t| *t > 0)
        .unwrap_or_else(|| ms(&pod["metadata"]["deletionTimestamp"]))
}

/// The pod-failure backoff: when the next pod may be created (ms).
fn backoff_until(pods: &[Value]) -> u64 {
    let last_success = pods
        .iter()
        .filter(|p| phase(p) == "Succeeded")
        .map(finished_at)
        .max()
        .unwrap_or(0);
    let failures: Vec<u64> = pods
        .iter()
        .filter(|p| is_failed(p))
        .map(finished_at)
        .filter(|t| *t >= last_success)
        .collect();
    let Some(last) = failures.iter().max() else {
        return 0;
    };
    let n = failures.len().min(16) as u32;
    let delay = BACKOFF_BASE_MS
        .saturating_mul(1u64 << (n - 1))
        .min(BACKOFF_MAX_MS);
    last + delay
}

async fn event(ctx: &Context, job: &Value, ty: &str, reason: &str, message: &str, s: &mut Summary) {
    let mut ws = workloads::Summary::default();
    if ty == "Normal" {
        workloads::record_event(ctx, job, COMPONENT, reason, message, &mut ws).await;
    } else {
        record_warning(ctx, job, reason, message, &mut ws).await;
    }
    s.writes += ws.writes;
}

/// A Warning event on the Job, named and shaped as client-go's recorder makes them (best effort).
async fn record_warning(
    ctx: &Context,
    job: &Value,
    reason: &str,
    message: &str,
    ws: &mut workloads::Summary,
) {
    use k8s_openapi::api::core::v1::Event;
    use kube::api::{Api, PostParams};
    let (ns, name) = (meta(job, "namespace"), meta(job, "name"));
    let now = ctx.clock.now();
    let t = now.to_rfc3339_secs();
    let ev = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{name}.{:x}", ctx.event_nanos(now.as_millis())), "namespace": ns},
        "involvedObject": {"apiVersion": "batch/v1", "kind": "Job", "namespace": ns, "name": name,
            "uid": job["metadata"]["uid"], "resourceVersion": job["metadata"]["resourceVersion"]},
        "reason": reason,
        "message": message,
        "source": {"component": COMPONENT},
        "firstTimestamp": t,
        "lastTimestamp": t,
        "count": 1,
        "type": "Warning",
        "reportingComponent": COMPONENT,
        "reportingInstance": "",
    });
    let Ok(ev) = serde_json::from_value::<Event>(ev) else {
        return;
    };
    let api: Api<Event> = Api::namespaced(ctx.kube.clone(), ns);
    if api.create(&PostParams::default(), &ev).await.is_ok() {
        ws.writes += 1;
    }
}

/// What `syncJob` works out before writing.
struct Sync {
    pods: Vec<Value>,
    active: Vec<Value>,
    terminating: i64,
    ready: i64,
}

async fn sync(ctx: &Context, job: &Value, s: &mut Summary) -> Result<(), Error> {
    let ns = meta(job, "namespace");
    let now = ctx.clock.now().as_millis();
    let t = ctx.clock.now().to_rfc3339_secs();
    let all = ctx
        .cache
        .list_namespaced::<Pod>(ns)
        .await
        .map_err(kerr(format!("list Pods {ns}")))?;
    let pods: Vec<Value> = all
        .iter()
        .filter(|p| controller_uid(p) == Some(uid(job)))
        .map(|p| (**p).clone())
        .collect();
    let active: Vec<Value> = pods
        .iter()
        .filter(|p| !terminal(p) && !deleting(p))
        .cloned()
        .collect();
    let mut st = Sync {
        terminating: pods.iter().filter(|p| deleting(p) && !terminal(p)).count() as i64,
        ready: active
            .iter()
            .filter(|p| workloads::replicaset::is_ready(p))
            .count() as i64,
        active,
        pods,
    };
    let status = &job["status"];
    let uncounted_ok = uid_list(&status["uncountedTerminatedPods"]["succeeded"]);
    let uncounted_failed = uid_list(&status["uncountedTerminatedPods"]["failed"]);
    let new_succeeded = st
        .pods
        .iter()
        .filter(|p| {
            has_finalizer(p) && phase(p) == "Succeeded" && !uncounted_ok.iter().any(|u| u == uid(p))
        })
        .count() as i64;
    let new_failed = st
        .pods
        .iter()
        .filter(|p| {
            has_finalizer(p) && is_failed(p) && !uncounted_failed.iter().any(|u| u == uid(p))
        })
        .count() as i64;
    let succeeded = int(&status["succeeded"]) + new_succeeded + uncounted_ok.len() as i64;
    let failed = int(&status["failed"]) + new_failed + uncounted_failed.len() as i64;
    let start_time = status["startTime"]
        .as_str()
        .map_or_else(|| json!(t), |x| json!(x));
    let backoff_limit = job["spec"]["backoffLimit"].as_i64().unwrap_or(6);

    // The finishing condition, if the Job has reached one.
    let mut finishing = has_condition(job, "SuccessCriteriaMet");
    if finishing.is_none() {
        finishing = has_condition(job, "FailureTarget");
    }
    if finishing.is_none() {
        if failed > backoff_limit {
            let msg = "Job has reached the specified backoff limit";
            finishing = Some(condition("FailureTarget", "BackoffLimitExceeded", msg, &t));
        } else if let Some(d) = job["spec"]["activeDeadlineSeconds"].as_i64() {
            let deadline = ms(&start_time) + (d.max(0) as u64) * 1000;
            if deadline > now {
                ctx.requeue_at(deadline);
            }
            if deadline <= now {
                let msg = "Job was active longer than specified deadline";
                finishing = Some(condition("FailureTarget", "DeadlineExceeded", msg, &t));
            }
        }
    }
    if finishing.is_some() {
        for pod in std::mem::take(&mut st.active) {
            delete_pod(ctx, job, &pod, s).await?;
            st.terminating += 1;
            if workloads::replicaset::is_ready(&pod) {
                st.ready -= 1;
            }
        }
    } else {
        if !deleting(job) {
            manage(ctx, job, &mut st, succeeded, now, s).await?;
        }
        let active = st.active.len() as i64;
        let complete = match job["spec"]["completions"].as_i64() {
            None => succeeded > 0 && active == 0,
            Some(c) => succeeded >= c && active == 0,
        };
        if complete {
            let msg = "Reached expected number of succeeded pods";
            finishing = Some(condition(
                "SuccessCriteriaMet",
                "CompletionsReached",
                msg,
                &t,
            ));
        }
    }
    track(ctx, job, &st, finishing, start_time, &t, s).await
}

/// `manageJob` for NonIndexed Jobs: delete the surplus, create the missing (after the backoff).
async fn manage(
    ctx: &Context,
    job: &Value,
    st: &mut Sync,
    succeeded: i64,
    now: u64,
    s: &mut Summary,
) -> Result<(), Error> {
    let parallelism = job["spec"]["parallelism"].as_i64().unwrap_or(1).max(0);
    let active = st.active.len() as i64;
    let want = match job["spec"]["completions"].as_i64() {
        None if succeeded > 0 => active,
        None => parallelism,
        Some(c) => (c - succeeded).clamp(0, parallelism),
    };
    if active > want {
        // activePodsForRemoval: not ready before ready, then the newest.
        let mut victims = st.active.clone();
        victims.sort_by(|a, b| {
            workloads::replicaset::is_ready(a)
                .cmp(&workloads::replicaset::is_ready(b))
                .then(
                    ms(&b["metadata"]["creationTimestamp"])
                        .cmp(&ms(&a["metadata"]["creationTimestamp"])),
                )
                .then(meta(a, "name").cmp(meta(b, "name")))
        });
        let n = ((active - want) as usize).min(MAX_PER_SYNC as usize);
        for pod in victims.into_iter().take(n) {
            delete_pod(ctx, job, &pod, s).await?;
            st.active.retain(|p| uid(p) != uid(&pod));
            st.terminating += 1;
        }
        return Ok(());
    }
    let diff = (want - active).min(MAX_PER_SYNC);
    if diff <= 0 {
        return Ok(());
    }
    let until = backoff_until(&st.pods);
    if until > now {
        ctx.requeue_at(until);
        return Ok(());
    }
    for _ in 0..diff {
        let pod = create_pod(ctx, job, s).await?;
        st.active.push(pod);
    }
    Ok(())
}

fn new_pod(job: &Value) -> Value {
    let name = meta(job, "name");
    let template = &job["spec"]["template"];
    let mut labels = template["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (k, v) in [
        ("batch.kubernetes.io/controller-uid", uid(job)),
        ("batch.kubernetes.io/job-name", name),
        ("controller-uid", uid(job)),
        ("job-name", name),
    ] {
        labels.entry(k.to_string()).or_insert_with(|| json!(v));
    }
    let mut finalizers = vec![json!(TRACKING_FINALIZER)];
    finalizers.extend(
        template["metadata"]["finalizers"]
            .as_array()
            .into_iter()
            .flatten()
            .cloned(),
    );
    let mut m = Map::new();
    m.insert("generateName".into(), json!(format!("{name}-")));
    m.insert("namespace".into(), json!(meta(job, "namespace")));
    m.insert("labels".into(), Value::Object(labels));
    if let Some(a) = template["metadata"].get("annotations") {
        m.insert("annotations".into(), a.clone());
    }
    m.insert("finalizers".into(), json!(finalizers));
    m.insert(
        "ownerReferences".into(),
        json!([workloads::controller_ref(job, "batch/v1", "Job")]),
    );
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": template["spec"]})
}

async fn create_pod(ctx: &Context, job: &Value, s: &mut Summary) -> Result<Value, Error> {
    let ns = meta(job, "namespace");
    let pod = workloads::create::<Pod>(ctx, ns, new_pod(job), "Pod").await?;
    let name = meta(&pod, "name").to_string();
    s.created.push(format!("{ns}/{name}"));
    s.writes += 1;
    event(
        ctx,
        job,
        "Normal",
        "SuccessfulCreate",
        &format!("Created pod: {name}"),
        s,
    )
    .await;
    Ok(pod)
}

async fn delete_pod(ctx: &Context, job: &Value, pod: &Value, s: &mut Summary) -> Result<(), Error> {
    workloads::delete::<Pod>(ctx, pod, "Pod").await?;
    let name = meta(pod, "name");
    s.deleted.push(format!("{}/{name}", meta(pod, "namespace")));
    s.writes += 1;
    event(
        ctx,
        job,
        "Normal",
        "SuccessfulDelete",
        &format!("Deleted pod: {name}"),
        s,
    )
    .await;
    Ok(())
}

/// `trackJobStatusAndRemoveFinalizers`: uncounted pods and the interim condition first, then the
/// finalizers, then the counters and the terminal condition.
async fn track(
    ctx: &Context,
    job: &Value,
    st: &Sync,
    finishing: Option<Value>,
    start_time: Value,
    t: &str,
    s: &mut Summary,
) -> Result<(), Error> {
    let status = &job["status"];
    let mut ok = uid_list(&status["uncountedTerminatedPods"]["succeeded"]);
    let mut bad = uid_list(&status["uncountedTerminatedPods"]["failed"]);
    let mut succeeded = int(&status["succeeded"]);
    let mut failed = int(&status["failed"]);
    let mut conds: Vec<Value> = conditions(job).cloned().collect();
    let failing = finishing
        .as_ref()
        .is_some_and(|c| c["type"] == "FailureTarget");
    let mut remove = Vec::new();
    for pod in st.pods.iter().filter(|p| has_finalizer(p)) {
        let failed_pod = is_failed(pod);
        if !(deleting(job) || finishing.is_some() || phase(pod) == "Succeeded" || failed_pod) {
            continue;
        }
        remove.push(pod.clone());
        let id = uid(pod).to_string();
        if phase(pod) == "Succeeded" && !bad.contains(&id) {
            if !ok.contains(&id) {
                ok.push(id);
            }
        } else if (failed_pod || failing) && !bad.contains(&id) {
            bad.push(id);
        }
    }
    // The interim condition, once.
    let terminal = finishing.as_ref().map(|c| {
        if !conds.iter().any(|x| x["type"] == c["type"]) {
            conds.push(c.clone());
        }
        let ty = if c["type"] == "FailureTarget" {
            "Failed"
        } else {
            "Complete"
        };
        condition(
            ty,
            c["reason"].as_str().unwrap_or_default(),
            c["message"].as_str().unwrap_or_default(),
            t,
        )
    });
    let mut want = json!({
        "startTime": start_time,
        "active": if st.active.is_empty() { Value::Null } else { json!(st.active.len()) },
        "ready": st.ready,
        "terminating": st.terminating,
        "succeeded": if succeeded == 0 { Value::Null } else { json!(succeeded) },
        "failed": if failed == 0 { Value::Null } else { json!(failed) },
        "uncountedTerminatedPods": uncounted(&ok, &bad),
        "conditions": if conds.is_empty() { Value::Null } else { json!(conds) },
    });
    let mut current = status.clone();
    if !same(&current, &want) {
        current = write_status(ctx, job, &want, s).await?;
    }
    // Remove the finalizers; a removed (or vanished) pod is counted.
    for pod in &remove {
        let left: Vec<Value> = pod["metadata"]["finalizers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| *f != TRACKING_FINALIZER)
            .cloned()
            .collect();
        let body = json!({"metadata": {"finalizers": left}});
        match workloads::patch::<Pod>(ctx, pod, &body, false, "Pod").await {
            Ok(_) => s.writes += 1,
            Err(Error::Workload { source, .. }) if matches!(&*source, kube::Error::Api(e) if e.code == 404) =>
                {}
            Err(e) => return Err(e),
        }
        let id = uid(pod).to_string();
        if let Some(i) = ok.iter().position(|u| *u == id) {
            ok.remove(i);
            succeeded += 1;
        } else if let Some(i) = bad.iter().position(|u| *u == id) {
            bad.remove(i);
            failed += 1;
        }
    }
    want["succeeded"] = if succeeded == 0 {
        Value::Null
    } else {
        json!(succeeded)
    };
    want["failed"] = if failed == 0 {
        Value::Null
    } else {
        json!(failed)
    };
    want["uncountedTerminatedPods"] = uncounted(&ok, &bad);
    // enactJobFinished: only with nothing uncounted and nothing terminating.
    let mut finished = None;
    if let Some(cond) = terminal {
        if ok.is_empty() && bad.is_empty() && st.terminating == 0 {
            conds.push(cond.clone());
            want["conditions"] = json!(conds);
            if cond["type"] == "Complete" {
                want["completionTime"] = json!(t);
            }
            finished = Some(cond);
        }
    }
    if !same(&current, &want) {
        write_status(ctx, job, &want, s).await?;
    }
    if let Some(cond) = finished {
        let (ns, name) = (meta(job, "namespace"), meta(job, "name"));
        if cond["type"] == "Complete" {
            s.finished.push(format!("{ns}/{name} Complete"));
            event(ctx, job, "Normal", "Completed", "Job completed", s).await;
        } else {
            s.finished.push(format!("{ns}/{name} Failed"));
            let reason = cond["reason"].as_str().unwrap_or_default();
            let message = cond["message"].as_str().unwrap_or_default();
            event(ctx, job, "Warning", reason, message, s).await;
        }
    }
    Ok(())
}

fn uncounted(ok: &[String], bad: &[String]) -> Value {
    let mut u = Map::new();
    if !ok.is_empty() {
        u.insert("succeeded".into(), json!(ok));
    }
    if !bad.is_empty() {
        u.insert("failed".into(), json!(bad));
    }
    Value::Object(u)
}

/// Whether the live status already has every field of `want` (null: absent or zero).
fn same(have: &Value, want: &Value) -> bool {
    want.as_object().is_some_and(|w| {
        w.iter().all(|(k, v)| match v {
            Value::Null => have[k].is_null() || have[k] == 0,
            Value::Object(o) if o.is_empty() => have[k].as_object().is_some_and(|h| {
                h.values()
                    .all(|x| x.as_array().is_none_or(|a| a.is_empty()))
            }),
            _ => &have[k] == v,
        })
    })
}

async fn write_status(
    ctx: &Context,
    job: &Value,
    want: &Value,
    s: &mut Summary,
) -> Result<Value, Error> {
    // A merge patch cannot empty a map by sending `{}`: name the emptied lists.
    let mut body = want.clone();
    if let Some(u) = body["uncountedTerminatedPods"].as_object_mut() {
        for k in ["succeeded", "failed"] {
            u.entry(k.to_string()).or_insert(Value::Null);
        }
    }
    let out = workloads::update::<Job>(ctx, job, &json!({ "status": body }), true, "Job").await?;
    s.writes += 1;
    Ok(out["status"].clone())
}
