//! Deployments and ReplicaSets: kube-controller-manager's two controllers driven pass by pass on a
//! manual clock against the in-process API server. No kubelet runs here: the tests mark pods
//! Running and Ready by patching their status.

use anyhow::{anyhow, Result};
use cloudbox_integrations::workloads::{self, deployment};
use cloudbox_integrations::Context;
use cloudbox_sim::Clock;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::time::Duration;

const NS: &str = "default";
const ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";

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

fn deployment_json(name: &str, replicas: i64, image: &str, strategy: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    })
}

impl World {
    fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.ctx.kube.clone(), NS)
    }

    async fn create_deployment(&self, d: Value) -> Result<()> {
        let d: Deployment = serde_json::from_value(d)?;
        self.deployments()
            .create(&PostParams::default(), &d)
            .await?;
        Ok(())
    }

    async fn patch_deployment(&self, name: &str, body: Value) -> Result<()> {
        self.deployments()
            .patch(name, &PatchParams::default(), &Patch::Merge(&body))
            .await?;
        Ok(())
    }

    async fn set_image(&self, name: &str, image: &str) -> Result<()> {
        let d = self.deployment(name).await?;
        let mut template = d["spec"]["template"].clone();
        template["spec"]["containers"][0]["image"] = json!(image);
        self.patch_deployment(name, json!({"spec": {"template": template}}))
            .await
    }

    async fn deployment(&self, name: &str) -> Result<Value> {
        Ok(serde_json::to_value(self.deployments().get(name).await?)?)
    }

    async fn rss(&self) -> Result<Vec<Value>> {
        let api: Api<ReplicaSet> = Api::namespaced(self.ctx.kube.clone(), NS);
        let mut v: Vec<Value> = api
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        v.sort_by_key(|r| {
            r["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        });
        Ok(v)
    }

    async fn rs_named(&self, name: &str) -> Result<Value> {
        self.rss()
            .await?
            .into_iter()
            .find(|r| r["metadata"]["name"] == name)
            .ok_or_else(|| anyhow!("no ReplicaSet {name}"))
    }

    async fn pods(&self) -> Result<Vec<Value>> {
        let api: Api<Pod> = Api::namespaced(self.ctx.kube.clone(), NS);
        let mut v: Vec<Value> = api
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        v.sort_by_key(|r| {
            r["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        });
        Ok(v)
    }

    async fn events(&self) -> Result<Vec<(String, String)>> {
        let api: Api<Event> = Api::namespaced(self.ctx.kube.clone(), NS);
        let mut evs = api.list(&ListParams::default()).await?.items;
        evs.sort_by_key(|e| e.metadata.name.clone());
        Ok(evs
            .into_iter()
            .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
            .collect())
    }

    async fn pass(&self) -> Result<workloads::Summary> {
        Ok(workloads::reconcile_once(&self.ctx).await?)
    }

    /// The kubelet's part: every pod not yet Ready becomes Running and Ready now. Returns how
    /// many it changed.
    async fn mark_ready(&self) -> Result<usize> {
        let api: Api<Pod> = Api::namespaced(self.ctx.kube.clone(), NS);
        let t = self.clock.now().to_rfc3339_secs();
        let mut n = 0;
        for p in self.pods().await? {
            if ready(&p) || !p["metadata"]["deletionTimestamp"].is_null() {
                continue;
            }
            self.set_ready(&api, &p, true, &t).await?;
            n += 1;
        }
        Ok(n)
    }

    async fn set_ready(&self, api: &Api<Pod>, p: &Value, is_ready: bool, t: &str) -> Result<()> {
        let s = if is_ready { "True" } else { "False" };
        let body = json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": s, "lastTransitionTime": t},
            {"type": "ContainersReady", "status": s, "lastTransitionTime": t},
        ]}});
        let name = p["metadata"]["name"].as_str().unwrap_or_default();
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&body))
            .await?;
        Ok(())
    }

    /// Passes (marking pods ready between them) until a pass writes nothing.
    async fn settle(&self) -> Result<()> {
        for _ in 0..40 {
            let s = self.pass().await?;
            let marked = self.mark_ready().await?;
            if s.writes == 0 && marked == 0 {
                return Ok(());
            }
        }
        Err(anyhow!("did not settle in 40 passes"))
    }
}

fn ready(p: &Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn name(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or_default()
}

fn hash_of(rs: &Value) -> String {
    rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn cond<'a>(d: &'a Value, ty: &str) -> &'a Value {
    d["status"]["conditions"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["type"] == ty))
        .unwrap_or(&Value::Null)
}

fn rolling() -> Value {
    json!({"type": "RollingUpdate"})
}

#[tokio::test]
async fn deployment_creates_replicaset_pods_and_status() -> Result<()> {
    let w = world()?;
    w.create_deployment(deployment_json("web", 3, "nginx:1.27", rolling()))
        .await?;
    let s = w.pass().await?;
    let rss = w.rss().await?;
    assert_eq!(rss.len(), 1);
    let rs = &rss[0];
    let hash = hash_of(rs);
    assert!(!hash.is_empty() && hash.chars().all(|c| ALPHABET.contains(c)));
    assert_eq!(name(rs), format!("web-{hash}"));
    assert_eq!(rs["spec"]["replicas"], 3);
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash
    );
    assert_eq!(rs["spec"]["template"]["metadata"]["labels"]["app"], "web");
    let ann = &rs["metadata"]["annotations"];
    assert_eq!(ann[deployment::REVISION], "1");
    assert_eq!(ann[deployment::DESIRED_REPLICAS], "3");
    // 3 + ceil(25% of 3) = 4
    assert_eq!(ann[deployment::MAX_REPLICAS], "4");
    let owner = &rs["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "Deployment");
    assert_eq!(owner["name"], "web");
    assert_eq!(owner["controller"], true);
    assert_eq!(owner["blockOwnerDeletion"], true);
    assert_eq!(s.created.len(), 4, "{s:?}");

    let pods = w.pods().await?;
    assert_eq!(pods.len(), 3);
    for p in &pods {
        let n = name(p);
        let suffix = n
            .strip_prefix(&format!("web-{hash}-"))
            .ok_or_else(|| anyhow!("pod name {n}"))?;
        assert_eq!(suffix.len(), 5);
        assert!(suffix.chars().all(|c| ALPHABET.contains(c)), "{n}");
        assert_eq!(p["metadata"]["labels"]["app"], "web");
        assert_eq!(p["metadata"]["labels"]["pod-template-hash"], hash);
        let o = &p["metadata"]["ownerReferences"][0];
        assert_eq!(o["kind"], "ReplicaSet");
        assert_eq!(o["name"], name(rs));
        assert_eq!(o["controller"], true);
        assert_eq!(o["blockOwnerDeletion"], true);
    }
    let events = w.events().await?;
    let scaled = format!("Scaled up replica set web-{hash} from 0 to 3");
    assert!(
        events.contains(&("ScalingReplicaSet".into(), scaled)),
        "{events:?}"
    );
    for p in &pods {
        let created = format!("Created pod: {}", name(p));
        assert!(events.contains(&("SuccessfulCreate".into(), created)));
    }
    let d = w.deployment("web").await?;
    assert_eq!(d["metadata"]["annotations"][deployment::REVISION], "1");
    assert_eq!(cond(&d, "Progressing")["reason"], "NewReplicaSetCreated");
    assert_eq!(
        cond(&d, "Progressing")["message"],
        format!("Created new replica set \"web-{hash}\"")
    );

    w.settle().await?;
    let d = w.deployment("web").await?;
    let st = &d["status"];
    assert_eq!(st["observedGeneration"], 1);
    assert_eq!(st["replicas"], 3);
    assert_eq!(st["updatedReplicas"], 3);
    assert_eq!(st["readyReplicas"], 3);
    assert_eq!(st["availableReplicas"], 3);
    assert!(st["unavailableReplicas"].is_null());
    let av = cond(&d, "Available");
    assert_eq!(av["status"], "True");
    assert_eq!(av["reason"], "MinimumReplicasAvailable");
    assert_eq!(av["message"], "Deployment has minimum availability.");
    let pr = cond(&d, "Progressing");
    assert_eq!(pr["status"], "True");
    assert_eq!(pr["reason"], "NewReplicaSetAvailable");
    assert_eq!(
        pr["message"],
        format!("ReplicaSet \"web-{hash}\" has successfully progressed.")
    );
    let rs = w.rs_named(&format!("web-{hash}")).await?;
    assert_eq!(rs["status"]["replicas"], 3);
    assert_eq!(rs["status"]["readyReplicas"], 3);
    assert_eq!(rs["status"]["availableReplicas"], 3);
    assert_eq!(rs["status"]["fullyLabeledReplicas"], 3);
    assert_eq!(rs["status"]["observedGeneration"], 1);

    // Nothing changed: a pass writes nothing.
    let s = w.pass().await?;
    assert_eq!(s, workloads::Summary::default());
    Ok(())
}

#[tokio::test]
async fn rolling_update_respects_surge_and_unavailable_then_undo() -> Result<()> {
    let w = world()?;
    w.create_deployment(deployment_json("web", 4, "nginx:1.26", rolling()))
        .await?;
    w.settle().await?;
    let v1 = hash_of(&w.rss().await?[0]);
    w.set_image("web", "nginx:1.27").await?;
    // 25% of 4: maxSurge 1 (up), maxUnavailable 1 (down).
    let mut passes = 0;
    loop {
        let s = w.pass().await?;
        passes += 1;
        let pods = w.pods().await?;
        let ready_n = pods.iter().filter(|p| ready(p)).count();
        assert!(pods.len() <= 5, "pass {passes}: {} pods", pods.len());
        assert!(ready_n >= 3, "pass {passes}: {ready_n} ready");
        let total: i64 = w
            .rss()
            .await?
            .iter()
            .map(|r| r["spec"]["replicas"].as_i64().unwrap_or(0))
            .sum();
        assert!(total <= 5, "pass {passes}: {total} desired");
        let marked = w.mark_ready().await?;
        if s.writes == 0 && marked == 0 {
            break;
        }
        assert!(passes < 40, "no convergence");
    }
    let rss = w.rss().await?;
    assert_eq!(rss.len(), 2);
    let new = rss
        .iter()
        .find(|r| hash_of(r) != v1)
        .ok_or_else(|| anyhow!("new rs"))?;
    let v2 = hash_of(new);
    let old = w.rs_named(&format!("web-{v1}")).await?;
    assert_eq!(new["spec"]["replicas"], 4);
    assert_eq!(old["spec"]["replicas"], 0);
    assert_eq!(new["metadata"]["annotations"][deployment::REVISION], "2");
    assert_eq!(old["metadata"]["annotations"][deployment::REVISION], "1");
    let pods = w.pods().await?;
    assert_eq!(pods.len(), 4);
    assert!(pods
        .iter()
        .all(|p| p["metadata"]["labels"]["pod-template-hash"] == v2));
    let d = w.deployment("web").await?;
    assert_eq!(d["metadata"]["annotations"][deployment::REVISION], "2");
    assert_eq!(d["status"]["updatedReplicas"], 4);
    assert_eq!(d["status"]["observedGeneration"], 2);
    assert_eq!(
        cond(&d, "Progressing")["message"],
        format!("ReplicaSet \"web-{v2}\" has successfully progressed.")
    );
    let events = w.events().await?;
    let down = format!("Scaled down replica set web-{v1} from 4 to 3");
    assert!(
        events.contains(&("ScalingReplicaSet".into(), down)),
        "{events:?}"
    );

    // kubectl rollout undo: the template of revision 1 (without its hash label) patched back.
    let mut template = old["spec"]["template"].clone();
    if let Some(l) = template["metadata"]["labels"].as_object_mut() {
        l.remove("pod-template-hash");
    }
    w.patch_deployment("web", json!({"spec": {"template": template}}))
        .await?;
    w.settle().await?;
    let rss = w.rss().await?;
    assert_eq!(rss.len(), 2, "the old ReplicaSet is reused");
    let back = w.rs_named(&format!("web-{v1}")).await?;
    assert_eq!(back["spec"]["replicas"], 4);
    assert_eq!(back["metadata"]["annotations"][deployment::REVISION], "3");
    assert_eq!(
        back["metadata"]["annotations"][deployment::REVISION_HISTORY],
        "1"
    );
    assert_eq!(
        w.rs_named(&format!("web-{v2}")).await?["spec"]["replicas"],
        0
    );
    let d = w.deployment("web").await?;
    assert_eq!(d["metadata"]["annotations"][deployment::REVISION], "3");
    assert_eq!(d["status"]["availableReplicas"], 4);
    Ok(())
}

#[tokio::test]
async fn scale_down_deletes_not_ready_pods_first() -> Result<()> {
    let w = world()?;
    w.create_deployment(deployment_json("api", 4, "api:1", rolling()))
        .await?;
    w.settle().await?;
    let pods = w.pods().await?;
    let api: Api<Pod> = Api::namespaced(w.ctx.kube.clone(), NS);
    let t = w.clock.now().to_rfc3339_secs();
    w.set_ready(&api, &pods[2], false, &t).await?;
    let sick = name(&pods[2]).to_string();
    w.patch_deployment("api", json!({"spec": {"replicas": 3}}))
        .await?;
    let s = w.pass().await?;
    assert_eq!(s.deleted, vec![format!("Pod {NS}/{sick}")]);
    let rs = &w.rss().await?[0];
    assert_eq!(rs["spec"]["replicas"], 3);
    assert_eq!(
        rs["metadata"]["annotations"][deployment::DESIRED_REPLICAS],
        "3"
    );
    let events = w.events().await?;
    let msg = format!("Scaled down replica set {} from 4 to 3", name(rs));
    assert!(events.contains(&("ScalingReplicaSet".into(), msg)));
    assert!(events.contains(&("SuccessfulDelete".into(), format!("Deleted pod: {sick}"))));
    w.settle().await?;
    let d = w.deployment("api").await?;
    assert_eq!(d["status"]["replicas"], 3);
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(w.pods().await?.len(), 3);
    Ok(())
}

#[tokio::test]
async fn recreate_stops_old_pods_before_new_ones() -> Result<()> {
    let w = world()?;
    let strategy = json!({"type": "Recreate"});
    w.create_deployment(deployment_json("db", 2, "db:1", strategy))
        .await?;
    w.settle().await?;
    let v1 = hash_of(&w.rss().await?[0]);
    w.set_image("db", "db:2").await?;
    let mut saw_none = false;
    for _ in 0..40 {
        let s = w.pass().await?;
        let pods = w.pods().await?;
        let hashes: std::collections::BTreeSet<String> = pods.iter().map(hash_of).collect();
        assert!(hashes.len() <= 1, "old and new pods together: {hashes:?}");
        saw_none |= pods.is_empty();
        let marked = w.mark_ready().await?;
        if s.writes == 0 && marked == 0 {
            break;
        }
    }
    assert!(saw_none);
    let rss = w.rss().await?;
    assert_eq!(rss.len(), 2);
    let new = rss
        .iter()
        .find(|r| hash_of(r) != v1)
        .ok_or_else(|| anyhow!("new"))?;
    assert_eq!(new["spec"]["replicas"], 2);
    assert_eq!(
        w.rs_named(&format!("db-{v1}")).await?["spec"]["replicas"],
        0
    );
    assert_eq!(w.deployment("db").await?["status"]["availableReplicas"], 2);
    Ok(())
}

#[tokio::test]
async fn revision_history_limit_deletes_old_replicasets() -> Result<()> {
    let w = world()?;
    let mut d = deployment_json("app", 2, "app:1", rolling());
    d["spec"]["revisionHistoryLimit"] = json!(1);
    w.create_deployment(d).await?;
    w.settle().await?;
    for v in 2..=4 {
        w.set_image("app", &format!("app:{v}")).await?;
        w.settle().await?;
    }
    let rss = w.rss().await?;
    assert_eq!(
        rss.len(),
        2,
        "{:?}",
        rss.iter().map(name).collect::<Vec<_>>()
    );
    let mut revs: Vec<String> = rss
        .iter()
        .map(|r| {
            r["metadata"]["annotations"][deployment::REVISION]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    revs.sort();
    assert_eq!(revs, vec!["3", "4"]);
    Ok(())
}

#[tokio::test]
async fn replicaset_adopts_orphans_and_honours_min_ready_seconds() -> Result<()> {
    let w = world()?;
    let pods: Api<Pod> = Api::namespaced(w.ctx.kube.clone(), NS);
    let orphan: Pod = serde_json::from_value(json!({
        "metadata": {"name": "orphan", "labels": {"app": "cache"}},
        "spec": {"containers": [{"name": "c", "image": "redis"}]},
    }))?;
    pods.create(&PostParams::default(), &orphan).await?;
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "cache", "namespace": NS},
        "spec": {
            "replicas": 2,
            "minReadySeconds": 10,
            "selector": {"matchLabels": {"app": "cache"}},
            "template": {
                "metadata": {"labels": {"app": "cache", "tier": "db"}},
                "spec": {"containers": [{"name": "c", "image": "redis"}]},
            },
        },
    }))?;
    let rss: Api<ReplicaSet> = Api::namespaced(w.ctx.kube.clone(), NS);
    rss.create(&PostParams::default(), &rs).await?;
    let s = w.pass().await?;
    assert_eq!(s.created.len(), 1, "{s:?}");
    let all = w.pods().await?;
    assert_eq!(all.len(), 2);
    let orphan = all
        .iter()
        .find(|p| name(p) == "orphan")
        .ok_or_else(|| anyhow!("orphan"))?;
    assert_eq!(orphan["metadata"]["ownerReferences"][0]["name"], "cache");
    assert_eq!(orphan["metadata"]["ownerReferences"][0]["controller"], true);
    w.mark_ready().await?;
    w.pass().await?;
    let st = w.rs_named("cache").await?["status"].clone();
    assert_eq!(st["replicas"], 2);
    assert_eq!(st["readyReplicas"], 2);
    // The orphan lacks the template's `tier` label.
    assert_eq!(st["fullyLabeledReplicas"], 1);
    assert!(st["availableReplicas"].is_null(), "{st}");
    w.clock.advance(Duration::from_secs(11));
    w.pass().await?;
    assert_eq!(w.rs_named("cache").await?["status"]["availableReplicas"], 2);
    assert_eq!(w.pass().await?.writes, 0);
    Ok(())
}

#[tokio::test]
async fn paused_deployment_scales_but_does_not_roll_out() -> Result<()> {
    let w = world()?;
    w.create_deployment(deployment_json("p", 2, "p:1", rolling()))
        .await?;
    w.settle().await?;
    w.patch_deployment("p", json!({"spec": {"paused": true}}))
        .await?;
    w.set_image("p", "p:2").await?;
    w.settle().await?;
    assert_eq!(w.rss().await?.len(), 1, "no new ReplicaSet while paused");
    w.patch_deployment("p", json!({"spec": {"replicas": 3}}))
        .await?;
    w.settle().await?;
    let rss = w.rss().await?;
    assert_eq!(rss.len(), 1);
    assert_eq!(rss[0]["spec"]["replicas"], 3);
    assert_eq!(w.pods().await?.len(), 3);
    w.patch_deployment("p", json!({"spec": {"paused": false}}))
        .await?;
    w.settle().await?;
    let rss = w.rss().await?;
    assert_eq!(rss.len(), 2);
    let d = w.deployment("p").await?;
    assert_eq!(d["status"]["updatedReplicas"], 3);
    assert_eq!(d["metadata"]["annotations"][deployment::REVISION], "2");
    Ok(())
}

#[tokio::test]
async fn progress_deadline_exceeded_without_ready_pods() -> Result<()> {
    let w = world()?;
    let mut d = deployment_json("slow", 2, "slow:1", rolling());
    d["spec"]["progressDeadlineSeconds"] = json!(60);
    w.create_deployment(d).await?;
    for _ in 0..3 {
        w.pass().await?;
    }
    let d = w.deployment("slow").await?;
    let av = cond(&d, "Available");
    assert_eq!(av["status"], "False");
    assert_eq!(av["reason"], "MinimumReplicasUnavailable");
    assert_eq!(
        av["message"],
        "Deployment does not have minimum availability."
    );
    assert_eq!(d["status"]["unavailableReplicas"], 2);
    w.clock.advance(Duration::from_secs(61));
    w.pass().await?;
    let d = w.deployment("slow").await?;
    let pr = cond(&d, "Progressing");
    assert_eq!(pr["status"], "False");
    assert_eq!(pr["reason"], "ProgressDeadlineExceeded");
    let rs = &w.rss().await?[0];
    assert_eq!(
        pr["message"],
        format!("ReplicaSet \"{}\" has timed out progressing.", name(rs))
    );
    assert_eq!(w.pass().await?.writes, 0);
    Ok(())
}

#[tokio::test]
async fn every_namespace_gets_its_default_service_account() -> Result<()> {
    use cloudbox_integrations::serviceaccounts;
    use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
    let w = world()?;
    let namespaces: Api<Namespace> = Api::all(w.ctx.kube.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team-a"}}))?,
        )
        .await?;
    let s = serviceaccounts::reconcile_once(&w.ctx).await?;
    assert!(s.created.contains(&"default/default".to_string()), "{s:?}");
    assert!(s.created.contains(&"team-a/default".to_string()), "{s:?}");
    assert!(
        s.created.contains(&"kube-system/default".to_string()),
        "{s:?}"
    );
    let again = serviceaccounts::reconcile_once(&w.ctx).await?;
    assert!(again.created.is_empty(), "a settled pass writes nothing");
    let team: Api<ServiceAccount> = Api::namespaced(w.ctx.kube.clone(), "team-a");
    team.delete("default", &Default::default()).await?;
    let s = serviceaccounts::reconcile_once(&w.ctx).await?;
    assert_eq!(s.created, ["team-a/default"], "recreated after a delete");
    assert!(team.get_opt("default").await?.is_some());
    Ok(())
}
