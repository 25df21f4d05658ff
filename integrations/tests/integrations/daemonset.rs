//! The DaemonSet controller and the NoExecute taint eviction controller, pass by pass on a manual
//! clock against Nodes and Pods written straight through the in-process API server. No kubelet
//! runs: the tests mark pods Ready by patching their status and remove terminating pods.

use anyhow::{anyhow, Result};
use cloudbox_integrations::{daemonset, scheduler, taint_eviction, Context};
use cloudbox_sim::Clock;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const NS: &str = "default";
const CP_TAINT: &str = "node-role.kubernetes.io/control-plane";

fn context() -> Result<(Context, Clock)> {
    super::support::context_in("us-east-1", "test")
}

/// A Ready Node with labels and taints.
async fn node(ctx: &Context, name: &str, labels: Value, taints: Value) -> Result<()> {
    let api: Api<Node> = Api::all(ctx.kube.clone());
    let mut l = json!({"kubernetes.io/hostname": name});
    if let (Some(m), Some(extra)) = (l.as_object_mut(), labels.as_object()) {
        m.extend(extra.clone());
    }
    let n: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": l},
        "spec": {"taints": taints},
    }))?;
    api.create(&PostParams::default(), &n).await?;
    let alloc = json!({"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "18Gi"});
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"capacity": alloc, "allocatable": alloc,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}})),
    )
    .await?;
    Ok(())
}

/// The seed's shape: a tainted control plane and three workers (`pool` a, a, b).
async fn cluster(ctx: &Context) -> Result<()> {
    node(
        ctx,
        "cp",
        json!({CP_TAINT: ""}),
        json!([{"key": CP_TAINT, "effect": "NoSchedule"}]),
    )
    .await?;
    node(ctx, "w1", json!({"pool": "a"}), json!([])).await?;
    node(ctx, "w2", json!({"pool": "a"}), json!([])).await?;
    node(ctx, "w3", json!({"pool": "b"}), json!([])).await?;
    Ok(())
}

async fn create_ds(ctx: &Context, name: &str, spec_extra: Value) -> Result<()> {
    let mut spec = json!({"containers": [{"name": "agent", "image": "agent:1"}]});
    if let (Some(m), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        m.extend(extra.clone());
    }
    let ds: DaemonSet = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }))?;
    Api::<DaemonSet>::namespaced(ctx.kube.clone(), NS)
        .create(&PostParams::default(), &ds)
        .await?;
    Ok(())
}

async fn ds(ctx: &Context, name: &str) -> Result<Value> {
    let api: Api<DaemonSet> = Api::namespaced(ctx.kube.clone(), NS);
    Ok(serde_json::to_value(api.get(name).await?)?)
}

async fn pods(ctx: &Context) -> Result<Vec<Value>> {
    let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), NS);
    let mut v: Vec<Value> = api
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    v.sort_by_key(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string());
    Ok(v)
}

/// Target node (from the affinity) → pods not being deleted, of DaemonSet `name`.
async fn placement(ctx: &Context, name: &str) -> Result<BTreeMap<String, Vec<Value>>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in pods(ctx).await? {
        if p["metadata"]["ownerReferences"][0]["name"] != name
            || !p["metadata"]["deletionTimestamp"].is_null()
        {
            continue;
        }
        let n = p["spec"]["affinity"]["nodeAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
            ["matchFields"][0]["values"][0]
            .as_str()
            .unwrap_or("")
            .to_string();
        out.entry(n).or_default().push(p);
    }
    Ok(out)
}

async fn events(ctx: &Context, reason: &str) -> Result<Vec<String>> {
    let api: Api<Event> = Api::namespaced(ctx.kube.clone(), NS);
    let mut out: Vec<String> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| e.message.unwrap_or_default())
        .collect();
    out.sort();
    Ok(out)
}

/// What a kubelet would do: bound pods become Running and Ready, terminating ones go away.
async fn kubelet(ctx: &Context) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), NS);
    let t = ctx.clock.now().to_rfc3339_secs();
    for p in pods(ctx).await? {
        let name = p["metadata"]["name"].as_str().unwrap_or("");
        if !p["metadata"]["deletionTimestamp"].is_null() {
            api.delete(name, &DeleteParams::default().grace_period(0))
                .await?;
            continue;
        }
        let bound = p["spec"]["nodeName"]
            .as_str()
            .is_some_and(|n| !n.is_empty());
        if bound && p["status"]["phase"] != "Running" {
            api.patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": {"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": t}]}})),
            )
            .await?;
        }
    }
    Ok(())
}

/// One controller round: DaemonSet, taint eviction, scheduler, then the fake kubelet.
async fn round(ctx: &Context) -> Result<()> {
    daemonset::reconcile_once(ctx).await?;
    taint_eviction::reconcile_once(ctx).await?;
    scheduler::reconcile_once(ctx).await?;
    kubelet(ctx).await
}

fn names(m: &BTreeMap<String, Vec<Value>>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

#[tokio::test]
async fn one_pod_per_eligible_node_with_affinity_tolerations_and_status() -> Result<()> {
    let (ctx, _clock) = context()?;
    cluster(&ctx).await?;
    create_ds(&ctx, "agent", json!({})).await?;
    let s = daemonset::reconcile_once(&ctx).await?;
    assert_eq!(s.created.len(), 3, "{s:?}");
    let placed = placement(&ctx, "agent").await?;
    assert_eq!(
        names(&placed),
        ["w1", "w2", "w3"],
        "the control plane's taint is not tolerated"
    );
    let d = ds(&ctx, "agent").await?;
    let hash = daemonset::revision_hash(&d);
    for (n, ps) in &placed {
        assert_eq!(ps.len(), 1);
        let p = &ps[0];
        assert!(p["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .starts_with("agent-"));
        assert_eq!(
            p["metadata"]["labels"]["controller-revision-hash"],
            json!(hash)
        );
        assert_eq!(p["metadata"]["labels"]["app"], "agent");
        let owner = &p["metadata"]["ownerReferences"][0];
        assert_eq!(owner["kind"], "DaemonSet");
        assert_eq!(owner["controller"], true);
        assert_eq!(owner["uid"], d["metadata"]["uid"]);
        assert_eq!(
            p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
            json!({"nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": [n]}]}]})
        );
        let tols = p["spec"]["tolerations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (key, effect) in [
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ] {
            let t = json!({"key": key, "operator": "Exists", "effect": effect});
            assert!(tols.contains(&t), "{key} missing from {tols:?}");
        }
        assert!(!tols
            .iter()
            .any(|t| t["key"] == "node.kubernetes.io/network-unavailable"));
    }
    assert_eq!(events(&ctx, "SuccessfulCreate").await?.len(), 3);
    // status before the pods run
    let st = ds(&ctx, "agent").await?["status"].clone();
    assert_eq!(st["desiredNumberScheduled"], 3);
    assert_eq!(st["currentNumberScheduled"], 3);
    assert_eq!(st["numberReady"], 0);
    // the scheduler binds each pod to its node; the fake kubelet makes them Ready
    scheduler::reconcile_once(&ctx).await?;
    kubelet(&ctx).await?;
    for p in pods(&ctx).await? {
        let n = p["spec"]["nodeName"].as_str().unwrap_or("");
        let want = &p["spec"]["affinity"]["nodeAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
            ["matchFields"][0]["values"][0];
        assert_eq!(json!(n), *want);
    }
    daemonset::reconcile_once(&ctx).await?;
    let d = ds(&ctx, "agent").await?;
    let st = &d["status"];
    assert_eq!(st["desiredNumberScheduled"], 3);
    assert_eq!(st["currentNumberScheduled"], 3);
    assert_eq!(st["numberMisscheduled"], 0);
    assert_eq!(st["numberReady"], 3);
    assert_eq!(st["numberAvailable"], 3);
    assert_eq!(st["updatedNumberScheduled"], 3);
    assert_eq!(st["observedGeneration"], d["metadata"]["generation"]);
    // nothing changed: nothing written
    let s = daemonset::reconcile_once(&ctx).await?;
    assert_eq!(s, daemonset::Summary::default());
    let t = taint_eviction::reconcile_once(&ctx).await?;
    assert_eq!(t, taint_eviction::Summary::default());
    Ok(())
}

#[tokio::test]
async fn node_selector_and_control_plane_toleration() -> Result<()> {
    let (ctx, _clock) = context()?;
    cluster(&ctx).await?;
    create_ds(
        &ctx,
        "everywhere",
        json!({"hostNetwork": true,
               "tolerations": [{"key": CP_TAINT, "operator": "Exists", "effect": "NoSchedule"}]}),
    )
    .await?;
    create_ds(&ctx, "pool-a", json!({"nodeSelector": {"pool": "a"}})).await?;
    daemonset::reconcile_once(&ctx).await?;
    let all = placement(&ctx, "everywhere").await?;
    assert_eq!(names(&all), ["cp", "w1", "w2", "w3"]);
    let p = &all["cp"][0];
    assert!(p["spec"]["tolerations"].as_array().is_some_and(|t| t
        .iter()
        .any(|t| t["key"] == "node.kubernetes.io/network-unavailable")));
    let a = placement(&ctx, "pool-a").await?;
    assert_eq!(names(&a), ["w1", "w2"]);
    assert_eq!(a["w1"][0]["spec"]["nodeSelector"], json!({"pool": "a"}));
    for _ in 0..3 {
        round(&ctx).await?;
    }
    let st = ds(&ctx, "everywhere").await?["status"].clone();
    assert_eq!(
        (
            st["desiredNumberScheduled"].clone(),
            st["numberReady"].clone()
        ),
        (json!(4), json!(4))
    );
    let st = ds(&ctx, "pool-a").await?["status"].clone();
    assert_eq!(
        (
            st["desiredNumberScheduled"].clone(),
            st["numberReady"].clone()
        ),
        (json!(2), json!(2))
    );
    Ok(())
}

#[tokio::test]
async fn removed_node_and_ineligible_node_lose_their_pods() -> Result<()> {
    let (ctx, _clock) = context()?;
    cluster(&ctx).await?;
    create_ds(&ctx, "pool-a", json!({"nodeSelector": {"pool": "a"}})).await?;
    for _ in 0..3 {
        round(&ctx).await?;
    }
    assert_eq!(names(&placement(&ctx, "pool-a").await?), ["w1", "w2"]);
    // w2 is deleted: its bound pod goes (pod GC's job upstream)
    Api::<Node>::all(ctx.kube.clone())
        .delete("w2", &DeleteParams::default())
        .await?;
    let s = daemonset::reconcile_once(&ctx).await?;
    assert_eq!(s.deleted.len(), 1, "{s:?}");
    assert_eq!(names(&placement(&ctx, "pool-a").await?), ["w1"]);
    // w1 leaves pool a: its pod is deleted with an event
    Api::<Node>::all(ctx.kube.clone())
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"labels": {"pool": "b"}}})),
        )
        .await?;
    let s = daemonset::reconcile_once(&ctx).await?;
    assert_eq!(s.deleted.len(), 1, "{s:?}");
    let msgs = events(&ctx, "SuccessfulDelete").await?;
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].starts_with("Deleted pod: pool-a-"), "{msgs:?}");
    for _ in 0..2 {
        round(&ctx).await?;
    }
    assert!(placement(&ctx, "pool-a").await?.is_empty());
    let st = ds(&ctx, "pool-a").await?["status"].clone();
    assert_eq!(st["desiredNumberScheduled"], 0);
    assert_eq!(st["currentNumberScheduled"], 0);
    assert_eq!(st["numberMisscheduled"], 0);
    Ok(())
}

#[tokio::test]
async fn template_change_rolls_one_node_at_a_time() -> Result<()> {
    let (ctx, _clock) = context()?;
    cluster(&ctx).await?;
    create_ds(&ctx, "agent", json!({})).await?;
    for _ in 0..3 {
        round(&ctx).await?;
    }
    let old = daemonset::revision_hash(&ds(&ctx, "agent").await?);
    let api: Api<DaemonSet> = Api::namespaced(ctx.kube.clone(), NS);
    api.patch(
        "agent",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"template": {"spec": {"containers": [
            {"name": "agent", "image": "agent:2"}]}}}})),
    )
    .await?;
    let new = daemonset::revision_hash(&ds(&ctx, "agent").await?);
    assert_ne!(old, new);
    let mut rounds = 0;
    loop {
        let s = daemonset::reconcile_once(&ctx).await?;
        assert!(s.deleted.len() <= 1, "maxUnavailable 1: {s:?}");
        // never more than one node without an available pod
        let placed = placement(&ctx, "agent").await?;
        let ready = placed
            .values()
            .filter(|ps| ps.iter().any(|p| p["status"]["phase"] == "Running"))
            .count();
        assert!(ready >= 2, "{placed:?}");
        scheduler::reconcile_once(&ctx).await?;
        kubelet(&ctx).await?;
        let hashes: Vec<Value> = placement(&ctx, "agent")
            .await?
            .values()
            .flatten()
            .map(|p| p["metadata"]["labels"]["controller-revision-hash"].clone())
            .collect();
        if hashes.len() == 3 && hashes.iter().all(|h| *h == json!(new)) {
            break;
        }
        rounds += 1;
        assert!(rounds < 20, "rollout did not finish: {hashes:?}");
    }
    daemonset::reconcile_once(&ctx).await?;
    let d = ds(&ctx, "agent").await?;
    let st = &d["status"];
    assert_eq!(st["updatedNumberScheduled"], 3);
    assert_eq!(st["numberAvailable"], 3);
    assert_eq!(st["observedGeneration"], d["metadata"]["generation"]);
    assert_eq!(events(&ctx, "SuccessfulDelete").await?.len(), 3);
    assert_eq!(events(&ctx, "SuccessfulCreate").await?.len(), 6);
    assert_eq!(
        daemonset::reconcile_once(&ctx).await?,
        daemonset::Summary::default()
    );
    Ok(())
}

async fn bound_pod(ctx: &Context, name: &str, node: &str, tolerations: Value) -> Result<()> {
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": NS},
        "spec": {"nodeName": node, "tolerations": tolerations,
                 "containers": [{"name": "app", "image": "nginx"}]},
    }))?;
    Api::<Pod>::namespaced(ctx.kube.clone(), NS)
        .create(&PostParams::default(), &p)
        .await?;
    Ok(())
}

async fn taint(ctx: &Context, node: &str, key: &str) -> Result<()> {
    let t = ctx.clock.now().to_rfc3339_secs();
    Api::<Node>::all(ctx.kube.clone())
        .patch(
            node,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"taints": [
                {"key": key, "value": "x", "effect": "NoExecute", "timeAdded": t}]}})),
        )
        .await?;
    Ok(())
}

async fn terminating(ctx: &Context) -> Result<Vec<String>> {
    Ok(pods(ctx)
        .await?
        .into_iter()
        .filter(|p| !p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect())
}

#[tokio::test]
async fn no_execute_taint_evicts_at_once_or_after_toleration_seconds() -> Result<()> {
    let (ctx, clock) = context()?;
    cluster(&ctx).await?;
    bound_pod(&ctx, "untolerated", "w1", json!([])).await?;
    bound_pod(
        &ctx,
        "for-60s",
        "w1",
        json!([{"key": "dedicated", "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": 60}]),
    )
    .await?;
    bound_pod(
        &ctx,
        "forever",
        "w1",
        json!([{"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoExecute"}]),
    )
    .await?;
    bound_pod(&ctx, "defaulted", "w2", json!([])).await?;
    assert_eq!(
        taint_eviction::reconcile_once(&ctx).await?,
        taint_eviction::Summary::default()
    );
    clock.advance(Duration::from_secs(10));
    taint(&ctx, "w1", "dedicated").await?;
    taint(&ctx, "w2", "node.kubernetes.io/unreachable").await?;
    let s = taint_eviction::reconcile_once(&ctx).await?;
    assert_eq!(s.evicted, ["default/untolerated"]);
    assert_eq!(terminating(&ctx).await?, ["untolerated"]);
    assert_eq!(
        events(&ctx, "TaintManagerEviction").await?,
        ["Marking for deletion Pod default/untolerated"]
    );
    let p = pods(&ctx).await?;
    let u = p
        .iter()
        .find(|p| p["metadata"]["name"] == "untolerated")
        .ok_or_else(|| anyhow!("gone"))?;
    assert!(u["status"]["conditions"].as_array().is_some_and(|c| c
        .iter()
        .any(|c| c["type"] == "DisruptionTarget" && c["reason"] == "DeletionByTaintManager")));
    // second pass: nothing more
    assert_eq!(
        taint_eviction::reconcile_once(&ctx).await?,
        taint_eviction::Summary::default()
    );
    clock.advance(Duration::from_secs(59));
    assert!(taint_eviction::reconcile_once(&ctx)
        .await?
        .evicted
        .is_empty());
    clock.advance(Duration::from_secs(1));
    let s = taint_eviction::reconcile_once(&ctx).await?;
    assert_eq!(s.evicted, ["default/for-60s"]);
    // the API server's DefaultTolerationSeconds: 300 s for unreachable
    clock.advance(Duration::from_secs(239));
    assert!(taint_eviction::reconcile_once(&ctx)
        .await?
        .evicted
        .is_empty());
    clock.advance(Duration::from_secs(1));
    let s = taint_eviction::reconcile_once(&ctx).await?;
    assert_eq!(s.evicted, ["default/defaulted"]);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        taint_eviction::reconcile_once(&ctx).await?,
        taint_eviction::Summary::default()
    );
    assert_eq!(
        terminating(&ctx).await?,
        ["defaulted", "for-60s", "untolerated"]
    );
    Ok(())
}

#[tokio::test]
async fn daemon_pods_stay_on_not_ready_nodes_but_leave_untolerated_no_execute() -> Result<()> {
    let (ctx, clock) = context()?;
    cluster(&ctx).await?;
    create_ds(&ctx, "agent", json!({})).await?;
    for _ in 0..3 {
        round(&ctx).await?;
    }
    taint(&ctx, "w1", "node.kubernetes.io/unreachable").await?;
    taint(&ctx, "w2", "dedicated").await?;
    clock.advance(Duration::from_secs(3600));
    for _ in 0..3 {
        round(&ctx).await?;
    }
    // the daemon's own unreachable toleration has no tolerationSeconds: it stays on w1;
    // w2's untolerated taint removes its pod
    assert_eq!(names(&placement(&ctx, "agent").await?), ["w1", "w3"]);
    let st = ds(&ctx, "agent").await?["status"].clone();
    assert_eq!(st["desiredNumberScheduled"], 2);
    assert_eq!(st["numberMisscheduled"], 0);
    assert_eq!(st["numberReady"], 2);
    Ok(())
}
