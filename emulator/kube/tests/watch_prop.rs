//! Property: whatever sequence of writes happens, every watcher sees each change once, in
//! resourceVersion order, and replaying its events yields exactly the final list (also for a
//! label-selected watcher, where objects leaving the selection arrive as DELETED).

use axum::body::Body;
use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use http::{Method, Request};
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tower::ServiceExt;

#[derive(Debug, Clone)]
enum Op {
    Create(u8, bool),
    Update(u8, u8),
    Relabel(u8, bool),
    Delete(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, any::<bool>()).prop_map(|(n, l)| Op::Create(n, l)),
        (0u8..6, any::<u8>()).prop_map(|(n, v)| Op::Update(n, v)),
        (0u8..6, any::<bool>()).prop_map(|(n, l)| Op::Relabel(n, l)),
        (0u8..6).prop_map(Op::Delete),
    ]
}

async fn call(
    st: &KubeState,
    method: Method,
    uri: &str,
    ct: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut req = Request::builder().method(method).uri(uri);
    if !ct.is_empty() {
        req = req.header("content-type", ct);
    }
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    let resp = app(st.clone()).oneshot(req.body(body)?).await?;
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn apply(st: &KubeState, op: &Op) -> anyhow::Result<()> {
    let base = "/api/v1/namespaces/default/configmaps";
    let label = |l: bool| if l { "1" } else { "0" };
    match op {
        Op::Create(n, l) => {
            call(st, Method::POST, base, "application/json", Some(json!({"metadata": {"name": format!("c{n}"), "labels": {"sel": label(*l)}}, "data": {"v": "0"}}))).await?;
        }
        Op::Update(n, v) => {
            call(
                st,
                Method::PATCH,
                &format!("{base}/c{n}"),
                "application/merge-patch+json",
                Some(json!({"data": {"v": v.to_string()}})),
            )
            .await?;
        }
        Op::Relabel(n, l) => {
            call(
                st,
                Method::PATCH,
                &format!("{base}/c{n}"),
                "application/strategic-merge-patch+json",
                Some(json!({"metadata": {"labels": {"sel": label(*l)}}})),
            )
            .await?;
        }
        Op::Delete(n) => {
            call(st, Method::DELETE, &format!("{base}/c{n}"), "", None).await?;
        }
    }
    Ok(())
}

/// Replays a watch body; returns name → resourceVersion, and whether RVs were strictly increasing.
/// Events at or below `from` are the synthetic initial state (sent in key order, like upstream).
async fn replay(body: Body, from: u64) -> anyhow::Result<(BTreeMap<String, String>, bool)> {
    let bytes = body.collect().await?.to_bytes();
    let mut state = BTreeMap::new();
    let mut last = 0u64;
    let mut ordered = true;
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let ev: Value = serde_json::from_slice(line)?;
        let name = ev["object"]["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let rv_s = ev["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let rv: u64 = rv_s.parse().unwrap_or(0);
        match ev["type"].as_str() {
            Some("ADDED") | Some("MODIFIED") => {
                state.insert(name, rv_s);
            }
            Some("DELETED") => {
                state.remove(&name);
            }
            _ => continue,
        }
        if rv > from {
            ordered &= rv > last;
            last = rv;
        }
    }
    Ok((state, ordered))
}

async fn final_list(st: &KubeState, selector: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let list = call(
        st,
        Method::GET,
        &format!("/api/v1/namespaces/default/configmaps?labelSelector={selector}"),
        "",
        None,
    )
    .await?;
    Ok(list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| {
                    (
                        o["metadata"]["name"].as_str().unwrap_or("").to_string(),
                        o["metadata"]["resourceVersion"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

async fn run(ops: Vec<Op>, split: usize) -> anyhow::Result<()> {
    let st = KubeState::new(Clock::manual(), 9);
    let (before, after) = ops.split_at(split.min(ops.len()));
    for o in before {
        apply(&st, o).await?;
    }
    // Watchers: from "now" (initial ADDED events), from the current RV, and label-selected.
    let rv = st.resource_version();
    let uris = [
        "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=5".to_string(),
        format!("/api/v1/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=5"),
        "/api/v1/namespaces/default/configmaps?watch=true&labelSelector=sel%3D1&timeoutSeconds=5&allowWatchBookmarks=true".to_string(),
    ];
    let mut bodies = Vec::new();
    for u in &uris {
        bodies.push(
            app(st.clone())
                .oneshot(Request::get(u.as_str()).body(Body::empty())?)
                .await?
                .into_body(),
        );
    }
    let mut expected_from_rv = final_list(&st, "").await?;
    for o in after {
        apply(&st, o).await?;
    }
    let all = final_list(&st, "").await?;
    let selected = final_list(&st, "sel%3D1").await?;
    let mut results = Vec::new();
    for b in bodies {
        results.push(replay(b, rv).await?);
    }
    anyhow::ensure!(results.iter().all(|r| r.1), "events out of order");
    anyhow::ensure!(
        results[0].0 == all,
        "watch from now: {:?} != {:?}",
        results[0].0,
        all
    );
    // the RV-started watcher saw only later changes: apply them onto the earlier state
    for (k, v) in &results[1].0 {
        expected_from_rv.insert(k.clone(), v.clone());
    }
    expected_from_rv.retain(|k, _| all.contains_key(k) || results[1].0.contains_key(k));
    anyhow::ensure!(
        results[1].0.iter().all(|(k, v)| all.get(k) == Some(v)),
        "watch from rv diverged"
    );
    anyhow::ensure!(
        expected_from_rv == all,
        "watch from rv: {expected_from_rv:?} != {all:?}"
    );
    anyhow::ensure!(
        results[2].0 == selected,
        "selected watch: {:?} != {:?}",
        results[2].0,
        selected
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_watcher_sees_every_write_once_in_order(ops in proptest::collection::vec(op(), 1..40), split in 0usize..10) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(run(ops, split)).map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
}
