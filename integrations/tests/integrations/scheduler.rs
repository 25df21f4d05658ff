//! The scheduler pass against Nodes and Pods written straight through the API server.

use anyhow::{anyhow, Result};
use cloudbox_integrations::{scheduler, Context};
use cloudbox_sim::Clock;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const CP_TAINT: &str = "node-role.kubernetes.io/control-plane";

fn context() -> Result<(Context, Clock)> {
    super::support::context_in("cn-northwest-1", "int32bit-kubernetes")
}

/// A Ready Node with `allocatable` (cpu, memory, pods), labels and taints.
async fn node(
    ctx: &Context,
    name: &str,
    cpu: &str,
    memory: &str,
    pods: &str,
    labels: Value,
    taints: Value,
) -> Result<()> {
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
    let alloc = json!({"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "18Gi"});
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"capacity": alloc, "allocatable": alloc,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}})),
    )
    .await?;
    Ok(())
}

/// A Pod in `default` with one container requesting `requests`, plus `spec` merged in.
async fn pod(ctx: &Context, name: &str, requests: Value, spec: Value) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), "default");
    let mut s = json!({"containers": [{"name": "app", "image": "nginx",
        "resources": {"requests": requests}}]});
    if let (Some(m), Some(extra)) = (s.as_object_mut(), spec.as_object()) {
        m.extend(extra.clone());
    }
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name.split('-').next()}},
        "spec": s,
    }))?;
    api.create(&PostParams::default(), &p).await?;
    Ok(())
}

/// Pod name → node name ("" when pending).
async fn placements(ctx: &Context) -> Result<BTreeMap<String, String>> {
    let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), "default");
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|p| {
            let node = p.spec.and_then(|s| s.node_name).unwrap_or_default();
            (p.metadata.name.unwrap_or_default(), node)
        })
        .collect())
}

/// The PodScheduled condition of a Pod: (status, reason, message).
async fn scheduled(ctx: &Context, name: &str) -> Result<(String, String, String)> {
    let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), "default");
    let p = serde_json::to_value(api.get(name).await?)?;
    let c = p["status"]["conditions"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["type"] == "PodScheduled").cloned())
        .ok_or_else(|| anyhow!("{name} has no PodScheduled condition"))?;
    let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
    Ok((s("status"), s("reason"), s("message")))
}

async fn events(ctx: &Context) -> Result<Vec<Value>> {
    let api: Api<Event> = Api::namespaced(ctx.kube.clone(), "default");
    let mut out = Vec::new();
    for e in api.list(&ListParams::default()).await?.items {
        out.push(serde_json::to_value(e)?);
    }
    Ok(out)
}

fn unschedulable(msg: &str) -> (String, String, String) {
    ("False".into(), "Unschedulable".into(), msg.into())
}

/// Seed §7: a tainted control plane and three c5.large-like workers (3500Mi allocatable);
/// ten pods requesting 2G each: three are bound, seven are Pending with upstream's message.
#[tokio::test]
async fn seed_insufficient_memory() -> Result<()> {
    let (ctx, clock) = context()?;
    let cp_taint = json!([{"key": CP_TAINT, "effect": "NoSchedule"}]);
    node(
        &ctx,
        "cp",
        "4",
        "7496Mi",
        "110",
        json!({CP_TAINT: ""}),
        cp_taint,
    )
    .await?;
    for w in ["worker-a", "worker-b", "worker-c"] {
        node(&ctx, w, "2", "3500Mi", "110", json!({}), json!(null)).await?;
    }
    for i in 0..10 {
        pod(
            &ctx,
            &format!("nginx-{i}"),
            json!({"memory": "2G"}),
            json!({}),
        )
        .await?;
    }
    let s = scheduler::reconcile_once(&ctx).await?;
    assert_eq!(
        s.bound,
        vec![
            ("default/nginx-0".to_string(), "worker-a".to_string()),
            ("default/nginx-1".to_string(), "worker-b".to_string()),
            ("default/nginx-2".to_string(), "worker-c".to_string()),
        ]
    );
    assert_eq!(s.unschedulable.len(), 7);
    let msg = "0/4 nodes are available: 1 node(s) had untolerated taint \
        {node-role.kubernetes.io/control-plane: }, 3 Insufficient memory. preemption: 0/4 nodes \
        are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims found \
        for incoming pod..";
    for i in 3..10 {
        assert_eq!(
            scheduled(&ctx, &format!("nginx-{i}")).await?,
            unschedulable(msg)
        );
    }
    assert_eq!(
        scheduled(&ctx, "nginx-0").await?.0,
        "True",
        "the binding sets PodScheduled=True"
    );
    let evs = events(&ctx).await?;
    let failed: Vec<&Value> = evs
        .iter()
        .filter(|e| e["reason"] == "FailedScheduling")
        .collect();
    assert_eq!(failed.len(), 7);
    for e in &failed {
        assert_eq!(e["note"], msg);
        assert_eq!(e["type"], "Warning");
        assert_eq!(e["action"], "Scheduling");
        assert_eq!(e["reportingController"], "default-scheduler");
        assert_eq!(e["regarding"]["kind"], "Pod");
    }
    let ok = evs
        .iter()
        .find(|e| e["reason"] == "Scheduled" && e["regarding"]["name"] == "nginx-1")
        .ok_or_else(|| anyhow!("no Scheduled event for nginx-1"))?;
    assert_eq!(
        ok["note"],
        "Successfully assigned default/nginx-1 to worker-b"
    );
    assert_eq!(ok["type"], "Normal");
    assert_eq!(ok["reportingController"], "default-scheduler");

    // The same events through the core v1 API (what `kubectl describe pod` reads).
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(ctx.kube.clone(), "default");
    let core_events = core.list(&ListParams::default()).await?.items;
    let warning = core_events
        .iter()
        .find(|e| e.reason.as_deref() == Some("FailedScheduling"))
        .ok_or_else(|| anyhow!("no core FailedScheduling event"))?;
    assert_eq!(warning.message.as_deref(), Some(msg));
    assert_eq!(
        warning.reporting_component.as_deref(),
        Some("default-scheduler")
    );
    assert_eq!(warning.involved_object.kind.as_deref(), Some("Pod"));

    // Nothing changed: nothing written, no second event.
    clock.advance(Duration::from_secs(10));
    let again = scheduler::reconcile_once(&ctx).await?;
    assert_eq!(again, scheduler::Summary::default());
    assert_eq!(events(&ctx).await?.len(), 10);

    // A bound pod goes away: the first pending pod takes its place; the others' message is the
    // same, so no new FailedScheduling event.
    let pods: Api<Pod> = Api::namespaced(ctx.kube.clone(), "default");
    pods.delete("nginx-1", &DeleteParams::default().grace_period(0))
        .await?;
    let s = scheduler::reconcile_once(&ctx).await?;
    assert_eq!(
        s.bound,
        vec![("default/nginx-3".to_string(), "worker-b".to_string())]
    );
    assert!(s.unschedulable.is_empty());
    Ok(())
}

#[tokio::test]
async fn taints_and_tolerations() -> Result<()> {
    let (ctx, _clock) = context()?;
    let taints = json!([
        {"key": "soft", "value": "x", "effect": "PreferNoSchedule"},
        {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
    ]);
    node(&ctx, "gpu-1", "4", "8Gi", "110", json!({}), taints).await?;
    pod(&ctx, "a-plain", json!({"cpu": "100m"}), json!({})).await?;
    pod(
        &ctx,
        "b-wrong-value",
        json!({"cpu": "100m"}),
        json!({"tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "cpu", "effect": "NoSchedule"}]}),
    )
    .await?;
    pod(
        &ctx,
        "c-equal",
        json!({"cpu": "100m"}),
        json!({"tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]}),
    )
    .await?;
    pod(
        &ctx,
        "d-exists-all",
        json!({"cpu": "100m"}),
        json!({"tolerations": [
        {"operator": "Exists"}]}),
    )
    .await?;
    pod(
        &ctx,
        "e-key-exists",
        json!({"cpu": "100m"}),
        json!({"tolerations": [
        {"key": "dedicated", "operator": "Exists"}]}),
    )
    .await?;
    scheduler::reconcile_once(&ctx).await?;
    let p = placements(&ctx).await?;
    assert_eq!(p["a-plain"], "");
    assert_eq!(p["b-wrong-value"], "");
    assert_eq!(p["c-equal"], "gpu-1");
    assert_eq!(p["d-exists-all"], "gpu-1");
    assert_eq!(p["e-key-exists"], "gpu-1");
    let msg = "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}. \
        preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..";
    assert_eq!(scheduled(&ctx, "a-plain").await?, unschedulable(msg));
    assert_eq!(scheduled(&ctx, "b-wrong-value").await?, unschedulable(msg));
    Ok(())
}

#[tokio::test]
async fn node_selector_and_affinity() -> Result<()> {
    let (ctx, _clock) = context()?;
    let zone = "topology.kubernetes.io/zone";
    node(
        &ctx,
        "n-a",
        "2",
        "4Gi",
        "110",
        json!({zone: "a", "gen": "5"}),
        json!(null),
    )
    .await?;
    node(
        &ctx,
        "n-b",
        "2",
        "4Gi",
        "110",
        json!({zone: "b", "gen": "6"}),
        json!(null),
    )
    .await?;
    pod(
        &ctx,
        "sel-b",
        json!({}),
        json!({"nodeSelector": {zone: "b"}}),
    )
    .await?;
    pod(
        &ctx,
        "sel-c",
        json!({}),
        json!({"nodeSelector": {zone: "c"}}),
    )
    .await?;
    let affinity = |expr: Value| {
        json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchExpressions": [expr]}]}}}})
    };
    pod(
        &ctx,
        "gt-5",
        json!({}),
        affinity(json!({"key": "gen", "operator": "Gt", "values": ["5"]})),
    )
    .await?;
    pod(
        &ctx,
        "notin-b",
        json!({}),
        affinity(json!({"key": zone, "operator": "NotIn", "values": ["b"]})),
    )
    .await?;
    pod(
        &ctx,
        "no-such-label",
        json!({}),
        affinity(json!({"key": "gpu", "operator": "Exists"})),
    )
    .await?;
    scheduler::reconcile_once(&ctx).await?;
    let p = placements(&ctx).await?;
    assert_eq!(p["sel-b"], "n-b");
    assert_eq!(p["sel-c"], "");
    assert_eq!(p["gt-5"], "n-b");
    assert_eq!(p["notin-b"], "n-a");
    assert_eq!(p["no-such-label"], "");
    let msg = "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. \
        preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..";
    assert_eq!(scheduled(&ctx, "sel-c").await?, unschedulable(msg));
    assert_eq!(scheduled(&ctx, "no-such-label").await?, unschedulable(msg));
    Ok(())
}

#[tokio::test]
async fn pod_count_limit() -> Result<()> {
    let (ctx, _clock) = context()?;
    node(&ctx, "small", "2", "4Gi", "2", json!({}), json!(null)).await?;
    for i in 0..3 {
        pod(&ctx, &format!("p-{i}"), json!({}), json!({})).await?;
    }
    let s = scheduler::reconcile_once(&ctx).await?;
    assert_eq!(s.bound.len(), 2);
    let msg = "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: \
        1 No preemption victims found for incoming pod..";
    assert_eq!(scheduled(&ctx, "p-2").await?, unschedulable(msg));
    Ok(())
}

#[tokio::test]
async fn unschedulable_and_not_ready_nodes() -> Result<()> {
    let (ctx, _clock) = context()?;
    node(&ctx, "cordoned", "2", "4Gi", "110", json!({}), json!(null)).await?;
    let nodes: Api<Node> = Api::all(ctx.kube.clone());
    nodes
        .patch(
            "cordoned",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"unschedulable": true}})),
        )
        .await?;
    let not_ready = json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]);
    node(&ctx, "booting", "2", "4Gi", "110", json!({}), not_ready).await?;
    pod(&ctx, "web-0", json!({"cpu": "500m"}), json!({})).await?;
    scheduler::reconcile_once(&ctx).await?;
    let msg = "0/2 nodes are available: 1 node(s) had untolerated taint \
        {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable. preemption: 0/2 nodes are \
        available: 2 Preemption is not helpful for scheduling..";
    assert_eq!(scheduled(&ctx, "web-0").await?, unschedulable(msg));
    // Uncordoned: the next pass binds it.
    nodes
        .patch(
            "cordoned",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"unschedulable": null}})),
        )
        .await?;
    let s = scheduler::reconcile_once(&ctx).await?;
    assert_eq!(
        s.bound,
        vec![("default/web-0".to_string(), "cordoned".to_string())]
    );
    Ok(())
}

#[tokio::test]
async fn insufficient_cpu_beyond_allocatable_is_not_helped_by_preemption() -> Result<()> {
    let (ctx, _clock) = context()?;
    node(&ctx, "n1", "2", "4Gi", "110", json!({}), json!(null)).await?;
    pod(
        &ctx,
        "big-0",
        json!({"cpu": "3", "memory": "1Gi"}),
        json!({}),
    )
    .await?;
    scheduler::reconcile_once(&ctx).await?;
    let msg = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: \
        1 Preemption is not helpful for scheduling..";
    assert_eq!(scheduled(&ctx, "big-0").await?, unschedulable(msg));
    Ok(())
}

#[tokio::test]
async fn pod_anti_affinity_by_hostname() -> Result<()> {
    let (ctx, _clock) = context()?;
    node(&ctx, "h1", "2", "4Gi", "110", json!({}), json!(null)).await?;
    node(&ctx, "h2", "2", "4Gi", "110", json!({}), json!(null)).await?;
    let anti = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}});
    for i in 0..3 {
        pod(
            &ctx,
            &format!("web-{i}"),
            json!({"cpu": "100m"}),
            anti.clone(),
        )
        .await?;
    }
    scheduler::reconcile_once(&ctx).await?;
    let p = placements(&ctx).await?;
    assert_eq!(p["web-0"], "h1");
    assert_eq!(p["web-1"], "h2");
    assert_eq!(p["web-2"], "");
    let msg = "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. \
        preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..";
    assert_eq!(scheduled(&ctx, "web-2").await?, unschedulable(msg));
    Ok(())
}

async fn spread_world() -> Result<BTreeMap<String, String>> {
    let (ctx, _clock) = context()?;
    node(&ctx, "w-1", "2", "4Gi", "110", json!({}), json!(null)).await?;
    node(&ctx, "w-2", "4", "8Gi", "110", json!({}), json!(null)).await?;
    node(&ctx, "w-3", "2", "4Gi", "110", json!({}), json!(null)).await?;
    for i in 0..9 {
        pod(
            &ctx,
            &format!("job-{i}"),
            json!({"cpu": "300m", "memory": "512Mi"}),
            json!({}),
        )
        .await?;
    }
    scheduler::reconcile_once(&ctx).await?;
    placements(&ctx).await
}

#[tokio::test]
async fn placement_is_deterministic() -> Result<()> {
    let first = spread_world().await?;
    assert!(first.values().all(|n| !n.is_empty()));
    // LeastAllocated sends the first pod to the biggest node, and spreads by free share.
    assert_eq!(first["job-0"], "w-2");
    for _ in 0..2 {
        assert_eq!(spread_world().await?, first);
    }
    Ok(())
}

async fn spread_pods(ctx: &Context, n: usize) -> Result<()> {
    let spread = json!({"topologySpreadConstraints": [{"maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "spread"}}}]});
    for i in 0..n {
        pod(
            ctx,
            &format!("spread-{i}"),
            json!({"cpu": "100m"}),
            spread.clone(),
        )
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn topology_spread_do_not_schedule() -> Result<()> {
    let zone = "topology.kubernetes.io/zone";
    let (ctx, _clock) = context()?;
    node(
        &ctx,
        "a-1",
        "8",
        "16Gi",
        "110",
        json!({zone: "a"}),
        json!(null),
    )
    .await?;
    node(
        &ctx,
        "b-1",
        "2",
        "4Gi",
        "110",
        json!({zone: "b"}),
        json!(null),
    )
    .await?;
    node(&ctx, "x-1", "8", "16Gi", "110", json!({}), json!(null)).await?;
    spread_pods(&ctx, 4).await?;
    scheduler::reconcile_once(&ctx).await?;
    let p = placements(&ctx).await?;
    let got: Vec<&str> = (0..4).map(|i| p[&format!("spread-{i}")].as_str()).collect();
    assert_eq!(got, ["a-1", "b-1", "a-1", "b-1"]);

    // Zone b cordoned: the second pod would skew zone a by 2.
    let (ctx, _clock) = context()?;
    node(
        &ctx,
        "a-1",
        "8",
        "16Gi",
        "110",
        json!({zone: "a"}),
        json!(null),
    )
    .await?;
    node(
        &ctx,
        "b-1",
        "2",
        "4Gi",
        "110",
        json!({zone: "b"}),
        json!(null),
    )
    .await?;
    node(&ctx, "x-1", "8", "16Gi", "110", json!({}), json!(null)).await?;
    let nodes: Api<Node> = Api::all(ctx.kube.clone());
    nodes
        .patch(
            "b-1",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"unschedulable": true}})),
        )
        .await?;
    spread_pods(&ctx, 2).await?;
    scheduler::reconcile_once(&ctx).await?;
    let p = placements(&ctx).await?;
    assert_eq!(p["spread-0"], "a-1");
    assert_eq!(p["spread-1"], "");
    let msg = "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, \
        1 node(s) didn't match pod topology spread constraints (missing required label), 1 node(s) \
        were unschedulable. preemption: 0/3 nodes are available: 1 No preemption victims found \
        for incoming pod, 2 Preemption is not helpful for scheduling..";
    assert_eq!(scheduled(&ctx, "spread-1").await?, unschedulable(msg));
    Ok(())
}

#[test]
fn quantities() {
    let q = scheduler::parse_quantity_milli;
    assert_eq!(q("100m"), Some(100));
    assert_eq!(q("2"), Some(2000));
    assert_eq!(q("0.5"), Some(500));
    assert_eq!(q("2G"), Some(2_000_000_000_000));
    assert_eq!(q("4Gi"), Some(4 * 1024 * 1024 * 1024 * 1000));
    assert_eq!(q("3996Ki"), Some(3996 * 1024 * 1000));
    assert_eq!(q("1e3"), Some(1_000_000));
    assert_eq!(q("1.5Mi"), Some(1_572_864_000));
    assert_eq!(q("x"), None);
}

#[tokio::test]
async fn no_nodes_and_preemption_policy_never() -> Result<()> {
    let (ctx, _clock) = context()?;
    pod(&ctx, "early-0", json!({}), json!({})).await?;
    scheduler::reconcile_once(&ctx).await?;
    let none = "no nodes available to schedule pods";
    assert_eq!(scheduled(&ctx, "early-0").await?, unschedulable(none));
    node(&ctx, "tiny", "1", "1Gi", "110", json!({}), json!(null)).await?;
    pod(
        &ctx,
        "never-0",
        json!({"memory": "512Mi"}),
        json!({"preemptionPolicy": "Never"}),
    )
    .await?;
    pod(
        &ctx,
        "never-1",
        json!({"memory": "768Mi"}),
        json!({"preemptionPolicy": "Never"}),
    )
    .await?;
    let s = scheduler::reconcile_once(&ctx).await?;
    assert_eq!(
        s.bound,
        vec![
            ("default/early-0".to_string(), "tiny".to_string()),
            ("default/never-0".to_string(), "tiny".to_string()),
        ]
    );
    let msg = "0/1 nodes are available: 1 Insufficient memory. preemption: not eligible due to \
        preemptionPolicy=Never..";
    assert_eq!(scheduled(&ctx, "never-1").await?, unschedulable(msg));
    Ok(())
}

#[test]
fn feasible_nodes_to_find_follows_the_adaptive_percentage() {
    // Below 100 nodes every node is searched; above, 50 − nodes/125 percent, at least 5 % and at
    // least 100 nodes (kube-scheduler's numFeasibleNodesToFind).
    assert_eq!(scheduler::feasible_nodes_to_find(3), 3);
    assert_eq!(scheduler::feasible_nodes_to_find(99), 99);
    assert_eq!(scheduler::feasible_nodes_to_find(100), 100);
    assert_eq!(scheduler::feasible_nodes_to_find(150), 100);
    assert_eq!(scheduler::feasible_nodes_to_find(1000), 420);
    assert_eq!(scheduler::feasible_nodes_to_find(5000), 500);
    assert_eq!(scheduler::feasible_nodes_to_find(10000), 500);
}
