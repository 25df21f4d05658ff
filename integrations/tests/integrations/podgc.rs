//! The pod garbage collector on a manual clock against the in-process API server: Nodes and pods
//! are written directly (no kubelet), finalizers keep force-deleted pods visible where a test
//! needs to read what the collector wrote before deleting them.

use anyhow::Result;
use cloudbox_integrations::podgc::{self, PodGcConfig};
use cloudbox_integrations::Context;
use cloudbox_sim::Clock;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::time::Duration;

const NS: &str = "default";
const NODE: &str = "ip-10-0-0-1.ec2.internal";

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

impl World {
    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.ctx.kube.clone(), NS)
    }

    fn nodes(&self) -> Api<Node> {
        Api::all(self.ctx.kube.clone())
    }

    async fn node(&self, name: &str) -> Result<()> {
        let n: Node = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
        }))?;
        self.nodes().create(&PostParams::default(), &n).await?;
        Ok(())
    }

    async fn pod(&self, name: &str, node: Option<&str>, finalizer: bool) -> Result<()> {
        let mut p = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]},
        });
        if let Some(n) = node {
            p["spec"]["nodeName"] = json!(n);
        }
        if finalizer {
            p["metadata"]["finalizers"] = json!(["test.cloudbox.dev/keep"]);
        }
        let p: Pod = serde_json::from_value(p)?;
        self.pods().create(&PostParams::default(), &p).await?;
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Option<Value>> {
        Ok(self
            .pods()
            .get_opt(name)
            .await?
            .map(serde_json::to_value)
            .transpose()?)
    }

    async fn names(&self) -> Result<Vec<String>> {
        let mut v: Vec<String> = self
            .pods()
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect();
        v.sort();
        Ok(v)
    }

    async fn pass(&self) -> Result<podgc::Summary> {
        Ok(podgc::reconcile_once(&self.ctx).await?)
    }

    async fn advance(&self, secs: u64) -> Result<podgc::Summary> {
        self.clock.advance(Duration::from_secs(secs));
        self.pass().await
    }
}

#[tokio::test]
async fn orphans_are_failed_with_disruption_target_and_force_deleted_after_quarantine() -> Result<()>
{
    let w = world()?;
    w.node(NODE).await?;
    w.node("other").await?;
    w.pod("kept", Some(NODE), true).await?;
    w.pod("gone", Some(NODE), false).await?;
    w.pod("elsewhere", Some("other"), false).await?;
    w.pods()
        .patch_status(
            "kept",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"phase": "Running"}})),
        )
        .await?;
    assert!(w.pass().await?.ran);
    w.nodes().delete(NODE, &DeleteParams::default()).await?;
    // Within the period nothing runs; the first run after the node left quarantines it.
    assert!(!w.advance(10).await?.ran);
    let s = w.advance(10).await?;
    assert!(s.ran && s.orphaned.is_empty(), "{s:?}");
    let s = w.advance(20).await?;
    assert!(s.orphaned.is_empty(), "quarantine is 40 s: {s:?}");
    let s = w.advance(20).await?;
    assert_eq!(s.orphaned, ["default/gone", "default/kept"]);
    assert_eq!(w.names().await?, ["elsewhere", "kept"]);
    let kept = w.get("kept").await?.unwrap_or_default();
    assert!(kept["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(kept["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(kept["status"]["phase"], "Failed");
    let cond = kept["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "DisruptionTarget"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(cond["status"], "True");
    assert_eq!(cond["reason"], "DeletionByPodGC");
    assert_eq!(cond["message"], "PodGC: node no longer exists");
    Ok(())
}

#[tokio::test]
async fn a_node_back_within_quarantine_keeps_its_pods() -> Result<()> {
    let w = world()?;
    w.pod("p", Some(NODE), false).await?;
    assert!(w.pass().await?.orphaned.is_empty());
    w.advance(20).await?;
    w.node(NODE).await?;
    w.advance(20).await?;
    w.advance(20).await?;
    assert_eq!(w.names().await?, ["p"]);
    Ok(())
}

#[tokio::test]
async fn unscheduled_terminating_pods_are_failed_and_force_deleted() -> Result<()> {
    let w = world()?;
    w.pod("stuck", None, true).await?;
    w.pods().delete("stuck", &DeleteParams::default()).await?;
    let s = w.pass().await?;
    assert_eq!(s.terminating, ["default/stuck"]);
    let p = w.get("stuck").await?.unwrap_or_default();
    assert_eq!(p["status"]["phase"], "Failed");
    Ok(())
}

#[tokio::test]
async fn terminated_pods_over_the_threshold_go_oldest_first() -> Result<()> {
    let w = world()?;
    w.node(NODE).await?;
    for n in ["a", "b", "c", "d"] {
        w.pod(n, Some(NODE), false).await?;
        w.pods()
            .patch_status(
                n,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": {"phase": "Succeeded"}})),
            )
            .await?;
        w.clock.advance(Duration::from_secs(5));
    }
    let cfg = PodGcConfig {
        terminated_threshold: 2,
        ..PodGcConfig::default()
    };
    let s = podgc::reconcile_with(&w.ctx, &cfg).await?;
    assert_eq!(s.terminated, ["default/a", "default/b"]);
    assert_eq!(w.names().await?, ["c", "d"]);
    // Below the threshold: nothing more.
    w.clock.advance(Duration::from_secs(20));
    let s = podgc::reconcile_with(&w.ctx, &cfg).await?;
    assert!(s.ran && s.terminated.is_empty() && s.writes == 0, "{s:?}");
    Ok(())
}
