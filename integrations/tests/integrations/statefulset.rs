//! The StatefulSet controller driven pass by pass on a manual clock against the in-process API
//! server. No kubelet or scheduler runs here: pods stay unbound (so a delete removes them at once)
//! and the tests mark them Running and Ready by patching their status.

use anyhow::{anyhow, Result};
use cloudbox_integrations::statefulset;
use cloudbox_integrations::Context;
use cloudbox_sim::Clock;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use proptest::prelude::*;
use serde_json::{json, Value};

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

fn sts_json(name: &str, replicas: i64, policy: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "serviceName": "nginx",
            "podManagementPolicy": policy,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "www"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }],
        },
    })
}

fn name(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or_default()
}

fn ready(p: &Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

impl World {
    fn sets(&self) -> Api<StatefulSet> {
        Api::namespaced(self.ctx.kube.clone(), NS)
    }

    async fn create(&self, v: Value) -> Result<()> {
        let s: StatefulSet = serde_json::from_value(v)?;
        self.sets().create(&PostParams::default(), &s).await?;
        Ok(())
    }

    async fn patch(&self, sts: &str, body: Value) -> Result<()> {
        self.sets()
            .patch(sts, &PatchParams::default(), &Patch::Merge(&body))
            .await?;
        Ok(())
    }

    async fn set(&self, sts: &str) -> Result<Value> {
        Ok(serde_json::to_value(self.sets().get(sts).await?)?)
    }

    async fn list<K>(&self) -> Result<Vec<Value>>
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.ctx.kube.clone(), NS);
        let mut v: Vec<Value> = api
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        v.sort_by_key(|o| name(o).to_string());
        Ok(v)
    }

    async fn pod_names(&self) -> Result<Vec<String>> {
        Ok(self
            .list::<Pod>()
            .await?
            .iter()
            .map(|p| name(p).to_string())
            .collect())
    }

    async fn events(&self) -> Result<Vec<(String, String, String)>> {
        let api: Api<Event> = Api::namespaced(self.ctx.kube.clone(), NS);
        let mut evs = api.list(&ListParams::default()).await?.items;
        evs.sort_by_key(|e| e.metadata.name.clone());
        Ok(evs
            .into_iter()
            .map(|e| {
                (
                    e.reason.unwrap_or_default(),
                    e.message.unwrap_or_default(),
                    e.source.and_then(|s| s.component).unwrap_or_default(),
                )
            })
            .collect())
    }

    async fn pass(&self) -> Result<statefulset::Summary> {
        Ok(statefulset::reconcile_once(&self.ctx).await?)
    }

    /// The kubelet's part: every pod not yet Ready becomes Running and Ready.
    async fn mark_ready(&self) -> Result<usize> {
        let api: Api<Pod> = Api::namespaced(self.ctx.kube.clone(), NS);
        let t = self.clock.now().to_rfc3339_secs();
        let mut n = 0;
        for p in self.list::<Pod>().await? {
            if ready(&p) {
                continue;
            }
            let body = json!({"status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": t},
            ]}});
            api.patch_status(name(&p), &PatchParams::default(), &Patch::Merge(&body))
                .await?;
            n += 1;
        }
        Ok(n)
    }

    /// Passes, marking pods ready between them, until nothing changes.
    async fn settle(&self) -> Result<()> {
        for _ in 0..60 {
            let s = self.pass().await?;
            let marked = self.mark_ready().await?;
            if s.writes == 0 && marked == 0 {
                return Ok(());
            }
        }
        Err(anyhow!("did not settle in 60 passes"))
    }
}

#[tokio::test]
async fn ordered_ready_creates_one_pod_at_a_time_with_its_claim_first() -> Result<()> {
    let w = world()?;
    w.create(sts_json("web", 3, "OrderedReady")).await?;
    let s = w.pass().await?;
    assert_eq!(
        s.created
            .iter()
            .filter(|c| !c.starts_with("ControllerRevision"))
            .collect::<Vec<_>>(),
        [
            "PersistentVolumeClaim default/www-web-0",
            "Pod default/web-0"
        ]
    );
    // web-0 is Pending: nothing more until it is Running and Ready.
    let s = w.pass().await?;
    assert!(s.created.is_empty(), "{s:?}");
    assert_eq!(w.pod_names().await?, ["web-0"]);
    w.mark_ready().await?;
    w.pass().await?;
    assert_eq!(w.pod_names().await?, ["web-0", "web-1"]);
    w.settle().await?;
    assert_eq!(w.pod_names().await?, ["web-0", "web-1", "web-2"]);

    let pods = w.list::<Pod>().await?;
    let p = &pods[1];
    let rev = p["metadata"]["labels"]["controller-revision-hash"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(rev.starts_with("web-"), "{rev}");
    assert_eq!(
        p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"],
        "web-1"
    );
    assert_eq!(p["metadata"]["labels"]["apps.kubernetes.io/pod-index"], "1");
    assert_eq!(p["spec"]["hostname"], "web-1");
    assert_eq!(p["spec"]["subdomain"], "nginx");
    assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
    assert_eq!(p["metadata"]["ownerReferences"][0]["controller"], true);
    let vol = p["spec"]["volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == "www"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(vol["persistentVolumeClaim"]["claimName"], "www-web-1");

    let pvcs = w.list::<PersistentVolumeClaim>().await?;
    let names: Vec<&str> = pvcs.iter().map(name).collect();
    assert_eq!(names, ["www-web-0", "www-web-1", "www-web-2"]);
    assert_eq!(pvcs[0]["metadata"]["labels"]["app"], "web");
    assert!(pvcs[0]["metadata"]["ownerReferences"].is_null());

    let revs = w.list::<ControllerRevision>().await?;
    assert_eq!(revs.len(), 1);
    assert_eq!(name(&revs[0]), rev);
    assert_eq!(revs[0]["revision"], 1);

    let set = w.set("web").await?;
    let st = &set["status"];
    assert_eq!(st["replicas"], 3);
    assert_eq!(st["readyReplicas"], 3);
    assert_eq!(st["availableReplicas"], 3);
    assert_eq!(st["currentReplicas"], 3);
    assert_eq!(st["updatedReplicas"], 3);
    assert_eq!(st["currentRevision"], rev.as_str());
    assert_eq!(st["updateRevision"], rev.as_str());
    assert_eq!(st["observedGeneration"], set["metadata"]["generation"]);

    let evs = w.events().await?;
    assert!(evs.contains(&(
        "SuccessfulCreate".into(),
        "create Claim www-web-0 Pod web-0 in StatefulSet web success".into(),
        "statefulset-controller".into()
    )));
    assert!(evs.contains(&(
        "SuccessfulCreate".into(),
        "create Pod web-2 in StatefulSet web successful".into(),
        "statefulset-controller".into()
    )));
    // Nothing changed: a pass writes nothing.
    assert_eq!(w.pass().await?.writes, 0);
    Ok(())
}

#[tokio::test]
async fn scale_down_removes_the_highest_ordinal_first_and_keeps_claims() -> Result<()> {
    let w = world()?;
    w.create(sts_json("web", 3, "OrderedReady")).await?;
    w.settle().await?;
    w.patch("web", json!({"spec": {"replicas": 1}})).await?;
    let s = w.pass().await?;
    assert_eq!(s.deleted, ["Pod default/web-2"]);
    let s = w.pass().await?;
    assert_eq!(s.deleted, ["Pod default/web-1"]);
    w.settle().await?;
    assert_eq!(w.pod_names().await?, ["web-0"]);
    // Retain: the claims stay for a later scale-up.
    assert_eq!(w.list::<PersistentVolumeClaim>().await?.len(), 3);
    let evs = w.events().await?;
    assert!(evs
        .iter()
        .any(|e| e.0 == "SuccessfulDelete"
            && e.1 == "delete Pod web-2 in StatefulSet web successful"));
    let set = w.set("web").await?;
    assert_eq!(set["status"]["replicas"], 1);
    Ok(())
}

#[tokio::test]
async fn parallel_creates_every_pod_in_one_pass() -> Result<()> {
    let w = world()?;
    w.create(sts_json("db", 3, "Parallel")).await?;
    w.pass().await?;
    assert_eq!(w.pod_names().await?, ["db-0", "db-1", "db-2"]);
    w.patch("db", json!({"spec": {"replicas": 0}})).await?;
    w.pass().await?;
    assert!(w.pod_names().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn rolling_update_respects_the_partition_then_completes() -> Result<()> {
    let w = world()?;
    w.create(sts_json("web", 3, "OrderedReady")).await?;
    w.settle().await?;
    let old = w.set("web").await?["status"]["currentRevision"].clone();
    w.patch(
        "web",
        json!({"spec": {
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
            "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}},
        }}),
    )
    .await?;
    let s = w.pass().await?;
    assert!(
        s.created
            .iter()
            .any(|c| c.starts_with("ControllerRevision")),
        "{s:?}"
    );
    assert_eq!(s.deleted, ["Pod default/web-2"]);
    w.settle().await?;
    let pods = w.list::<Pod>().await?;
    let images: Vec<&Value> = pods
        .iter()
        .map(|p| &p["spec"]["containers"][0]["image"])
        .collect();
    assert_eq!(
        images,
        [
            &json!("nginx:1.25"),
            &json!("nginx:1.26"),
            &json!("nginx:1.26")
        ]
    );
    let set = w.set("web").await?;
    assert_eq!(set["status"]["updatedReplicas"], 2);
    assert_eq!(set["status"]["currentRevision"], old);
    assert_ne!(set["status"]["updateRevision"], old);
    // Partition 0: web-0 follows and the update revision becomes current.
    w.patch(
        "web",
        json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}}),
    )
    .await?;
    w.settle().await?;
    let set = w.set("web").await?;
    assert_eq!(set["status"]["updatedReplicas"], 3);
    assert_eq!(set["status"]["currentReplicas"], 3);
    assert_eq!(
        set["status"]["currentRevision"],
        set["status"]["updateRevision"]
    );
    assert_eq!(w.list::<ControllerRevision>().await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn on_delete_waits_for_the_user_to_delete_pods() -> Result<()> {
    let w = world()?;
    let mut sts = sts_json("web", 2, "OrderedReady");
    sts["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
    w.create(sts).await?;
    w.settle().await?;
    w.patch(
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}}}),
    )
    .await?;
    w.settle().await?;
    let pods = w.list::<Pod>().await?;
    assert!(pods
        .iter()
        .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.25"));
    let api: Api<Pod> = Api::namespaced(w.ctx.kube.clone(), NS);
    api.delete("web-1", &Default::default()).await?;
    w.settle().await?;
    let pods = w.list::<Pod>().await?;
    assert_eq!(pods[1]["spec"]["containers"][0]["image"], "nginx:1.26");
    assert_eq!(pods[0]["spec"]["containers"][0]["image"], "nginx:1.25");
    Ok(())
}

/// One step of the property test: scale to a size, or let the kubelet make pods ready.
#[derive(Debug, Clone)]
enum Op {
    Scale(i64),
    Ready,
    Pass,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0i64..5).prop_map(Op::Scale),
        Just(Op::Ready),
        Just(Op::Pass),
    ]
}

fn ordinals(pods: &[Value]) -> Vec<i64> {
    pods.iter()
        .filter_map(|p| name(p).rsplit_once('-').and_then(|(_, n)| n.parse().ok()))
        .collect()
}

/// OrderedReady invariants after every pass: the pods are ordinals 0..k without a gap, and every
/// pod but the highest is Running and Ready when a new one appears.
async fn check_ordered(ops: Vec<Op>) -> Result<()> {
    let w = world()?;
    w.create(sts_json("web", 2, "OrderedReady")).await?;
    for op in ops {
        match op {
            Op::Scale(n) => w.patch("web", json!({"spec": {"replicas": n}})).await?,
            Op::Ready => {
                w.mark_ready().await?;
            }
            Op::Pass => {
                let before = w.list::<Pod>().await?;
                let s = w.pass().await?;
                let after = w.list::<Pod>().await?;
                let mut ords = ordinals(&after);
                ords.sort_unstable();
                let want: Vec<i64> = (0..ords.len() as i64).collect();
                prop_assert_eq_ok(&ords, &want)?;
                let created = s.created.iter().filter(|c| c.starts_with("Pod ")).count();
                if created > 0 && (created != 1 || !before.iter().all(ready)) {
                    return Err(anyhow!("created {created} with unready pods: {s:?}"));
                }
                if s.deleted.len() > 1 {
                    return Err(anyhow!("deleted more than one pod: {s:?}"));
                }
            }
        }
    }
    Ok(())
}

fn prop_assert_eq_ok(a: &[i64], b: &[i64]) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(anyhow!("ordinals {a:?}, want {b:?}"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn ordered_ready_never_leaves_a_gap(ops in proptest::collection::vec(op(), 1..24)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let r = rt.block_on(check_ordered(ops));
        prop_assert!(r.is_ok(), "{:?}", r.err());
    }
}
