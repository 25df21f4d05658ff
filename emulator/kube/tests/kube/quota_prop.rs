//! ResourceQuota usage kept by the store's namespace ledger: after any sequence of writes
//! (pods created, finished, deleted; ConfigMaps; quotas added and removed), every quota's
//! `status.used` is what counting every object from scratch gives, and a create is refused
//! exactly when it would exceed a quota.

use super::support::{get, merge_patch, post, send};
use cloudbox_kube::kinds::quota;
use cloudbox_kube::KubeState;
use http::{Method, StatusCode};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const NS: &str = "q";

#[derive(Debug, Clone)]
enum Op {
    Pod { n: u8, cpu_m: u16, mem_mi: u8 },
    Finish(u8),
    DeletePod(u8),
    ConfigMap(u8),
    DeleteConfigMap(u8),
    Quota { n: u8, pods: u8 },
    DeleteQuota(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..8, 0u16..600, 0u8..200).prop_map(|(n, cpu_m, mem_mi)| Op::Pod { n, cpu_m, mem_mi }),
        1 => (0u8..8).prop_map(Op::Finish),
        2 => (0u8..8).prop_map(Op::DeletePod),
        1 => (0u8..4).prop_map(Op::ConfigMap),
        1 => (0u8..4).prop_map(Op::DeleteConfigMap),
        1 => (0u8..2, 1u8..8).prop_map(|(n, pods)| Op::Quota { n, pods }),
        1 => (0u8..2).prop_map(Op::DeleteQuota),
    ]
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

/// Every quota's `status.used` against a count from scratch.
async fn check(st: &KubeState) -> anyhow::Result<()> {
    let pods = items(
        &get(st, &format!("/api/v1/namespaces/{NS}/pods"))
            .await?
            .body,
    );
    let cms = items(
        &get(st, &format!("/api/v1/namespaces/{NS}/configmaps"))
            .await?
            .body,
    );
    let quotas = items(
        &get(st, &format!("/api/v1/namespaces/{NS}/resourcequotas"))
            .await?
            .body,
    );
    let mut all: Vec<(&str, &Value)> = Vec::new();
    all.extend(pods.iter().map(|p| ("pods", p)));
    all.extend(cms.iter().map(|c| ("configmaps", c)));
    all.extend(quotas.iter().map(|q| ("resourcequotas", q)));
    for q in &quotas {
        let hard: Map<String, Value> = q["spec"]["hard"].as_object().cloned().unwrap_or_default();
        let want = quota::status(q, &quota::used_for(&hard, all.iter().copied()));
        anyhow::ensure!(
            q["status"]["used"] == want["used"],
            "quota {}: {} != {}",
            q["metadata"]["name"],
            q["status"]["used"],
            want["used"]
        );
    }
    Ok(())
}

async fn run(ops: Vec<Op>) -> anyhow::Result<()> {
    let st = KubeState::new(cloudbox_sim::Clock::manual(), 7);
    post(&st, "/api/v1/namespaces", json!({"metadata": {"name": NS}})).await?;
    let base = format!("/api/v1/namespaces/{NS}");
    for op in ops {
        match op {
            Op::Pod { n, cpu_m, mem_mi } => {
                let r = post(&st, &format!("{base}/pods"), json!({"metadata": {"name": format!("p{n}")},
                    "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests":
                        {"cpu": format!("{cpu_m}m"), "memory": format!("{mem_mi}Mi")}}}]}})).await?;
                // Created, already there, or refused by a quota (never anything else).
                anyhow::ensure!(
                    matches!(
                        r.status,
                        StatusCode::CREATED | StatusCode::CONFLICT | StatusCode::FORBIDDEN
                    ),
                    "{:?}",
                    r.body
                );
                if r.status == StatusCode::FORBIDDEN {
                    anyhow::ensure!(
                        r.body["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("exceeded quota")),
                        "{:?}",
                        r.body
                    );
                }
            }
            Op::Finish(n) => {
                merge_patch(
                    &st,
                    &format!("{base}/pods/p{n}/status"),
                    json!({"status": {"phase": "Succeeded"}}),
                )
                .await?;
            }
            Op::DeletePod(n) => {
                send(
                    &st,
                    Method::DELETE,
                    &format!("{base}/pods/p{n}"),
                    "",
                    "application/json",
                    None,
                )
                .await?;
            }
            Op::ConfigMap(n) => {
                post(
                    &st,
                    &format!("{base}/configmaps"),
                    json!({"metadata": {"name": format!("c{n}")}}),
                )
                .await?;
            }
            Op::DeleteConfigMap(n) => {
                send(
                    &st,
                    Method::DELETE,
                    &format!("{base}/configmaps/c{n}"),
                    "",
                    "application/json",
                    None,
                )
                .await?;
            }
            Op::Quota { n, pods } => {
                post(&st, &format!("{base}/resourcequotas"), json!({"metadata": {"name": format!("q{n}")},
                    "spec": {"hard": {"pods": pods.to_string(), "requests.cpu": "2", "requests.memory": "512Mi",
                                      "configmaps": "3", "count/configmaps": "3"}}})).await?;
            }
            Op::DeleteQuota(n) => {
                send(
                    &st,
                    Method::DELETE,
                    &format!("{base}/resourcequotas/q{n}"),
                    "",
                    "application/json",
                    None,
                )
                .await?;
            }
        }
        check(&st).await?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn quota_usage_matches_a_count_from_scratch(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(run(ops)).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
    }
}
