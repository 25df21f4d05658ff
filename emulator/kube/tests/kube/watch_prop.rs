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

// ---------------------------------------------------------------------------------------------
// Indexed watch routing: pods moving between nodes, with random watchers (node, name and
// namespace pins, label selectors, resume resourceVersions), each compared with a reference
// filter over the log of writes.

/// A pod's selectable state in the reference model.
#[derive(Debug, Clone, PartialEq)]
struct PodState {
    ns: String,
    name: String,
    node: String,
    sel: bool,
}

/// One committed write: (rv, type, state after, state before).
type LogEntry = (u64, &'static str, PodState, Option<PodState>);

#[derive(Debug, Clone)]
enum PodOp {
    Create(u8, u8, u8, bool),
    Move(u8, u8, u8),
    Relabel(u8, u8, bool),
    Delete(u8, u8),
}

const NAMESPACES: [&str; 2] = ["default", "kube-public"];
const NODES: [&str; 3] = ["", "n0", "n1"];

fn pod_op() -> impl Strategy<Value = PodOp> {
    prop_oneof![
        (0u8..2, 0u8..4, 0u8..3, any::<bool>()).prop_map(|(s, n, d, l)| PodOp::Create(s, n, d, l)),
        (0u8..2, 0u8..4, 0u8..3).prop_map(|(s, n, d)| PodOp::Move(s, n, d)),
        (0u8..2, 0u8..4, any::<bool>()).prop_map(|(s, n, l)| PodOp::Relabel(s, n, l)),
        (0u8..2, 0u8..4).prop_map(|(s, n)| PodOp::Delete(s, n)),
    ]
}

/// A watcher: namespace, field selector, label selector (`None`, `sel=1`, `sel!=1`), when it
/// starts (after that many ops) and the op count whose RV it resumes from (≤ start).
#[derive(Debug, Clone)]
struct Watcher {
    ns: Option<u8>,
    field: u8,
    label: u8,
    start: usize,
    resume: usize,
}

fn watcher() -> impl Strategy<Value = Watcher> {
    (
        proptest::option::of(0u8..2),
        0u8..7,
        0u8..3,
        0usize..30,
        0usize..30,
    )
        .prop_map(|(ns, field, label, a, b)| Watcher {
            ns,
            field,
            label,
            start: a.max(b),
            resume: a.min(b),
        })
}

impl Watcher {
    fn field_selector(&self) -> Option<String> {
        match self.field {
            0 => None,
            1 => Some("spec.nodeName=n0".into()),
            2 => Some("spec.nodeName=n1".into()),
            3 => Some("spec.nodeName=".into()),
            4 => Some("metadata.name=p1".into()),
            5 => Some("spec.nodeName!=n0".into()),
            _ => Some("spec.nodeName=n1,metadata.name=p2".into()),
        }
    }

    fn matches(&self, p: &PodState) -> bool {
        let ns_ok = self.ns.is_none_or(|n| NAMESPACES[n as usize] == p.ns);
        let field_ok = match self.field {
            0 => true,
            1 => p.node == "n0",
            2 => p.node == "n1",
            3 => p.node.is_empty(),
            4 => p.name == "p1",
            5 => p.node != "n0",
            _ => p.node == "n1" && p.name == "p2",
        };
        let label_ok = match self.label {
            0 => true,
            1 => p.sel,
            _ => !p.sel,
        };
        ns_ok && field_ok && label_ok
    }

    fn uri(&self, rv: u64) -> String {
        let base = match self.ns {
            Some(n) => format!("/api/v1/namespaces/{}/pods", NAMESPACES[n as usize]),
            None => "/api/v1/pods".into(),
        };
        let mut u = format!("{base}?watch=true&resourceVersion={rv}&timeoutSeconds=30");
        if let Some(f) = self.field_selector() {
            u.push_str(&format!(
                "&fieldSelector={}",
                f.replace('=', "%3D").replace(',', "%2C")
            ));
        }
        match self.label {
            1 => u.push_str("&labelSelector=sel%3D1"),
            2 => u.push_str("&labelSelector=sel!%3D1"),
            _ => {}
        }
        u
    }

    /// The events this watcher must see: the reference filter over the write log.
    fn expected(&self, log: &[LogEntry], from: u64) -> Vec<(String, String, u64)> {
        let mut out = Vec::new();
        for (rv, ty, now, prev) in log.iter().filter(|e| e.0 > from) {
            let now_in = self.matches(now);
            let was_in = prev.as_ref().is_some_and(|p| self.matches(p));
            let ev = match (*ty, was_in, now_in) {
                ("ADDED", _, true) => "ADDED",
                ("DELETED", _, true) => "DELETED",
                ("MODIFIED", true, true) => "MODIFIED",
                ("MODIFIED", false, true) => "ADDED",
                ("MODIFIED", true, false) => "DELETED",
                _ => continue,
            };
            out.push((ev.to_string(), format!("{}/{}", now.ns, now.name), *rv));
        }
        out
    }
}

async fn send_json(
    st: &KubeState,
    method: Method,
    uri: &str,
    ct: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = Request::builder().method(method).uri(uri);
    if !ct.is_empty() {
        req = req.header("content-type", ct);
    }
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    let resp = app(st.clone()).oneshot(req.body(body)?).await?;
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((code, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

fn pod_state(o: &Value) -> PodState {
    PodState {
        ns: o["metadata"]["namespace"].as_str().unwrap_or("").into(),
        name: o["metadata"]["name"].as_str().unwrap_or("").into(),
        node: o["spec"]["nodeName"].as_str().unwrap_or("").into(),
        sel: o["metadata"]["labels"]["sel"].as_str() == Some("1"),
    }
}

fn rv_of(o: &Value) -> u64 {
    o["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Applies a pod op; appends the committed change (if any) to the log.
async fn apply_pod(
    st: &KubeState,
    op: &PodOp,
    live: &mut BTreeMap<String, PodState>,
    log: &mut Vec<LogEntry>,
) -> anyhow::Result<()> {
    let label = |l: bool| if l { "1" } else { "0" };
    let path = |s: u8, n: u8| format!("/api/v1/namespaces/{}/pods/p{n}", NAMESPACES[s as usize]);
    let (code, obj, ty) = match op {
        PodOp::Create(s, n, d, l) => {
            let mut spec = json!({"containers": [{"name": "c", "image": "nginx"}]});
            if !NODES[*d as usize].is_empty() {
                spec["nodeName"] = json!(NODES[*d as usize]);
            }
            let body = json!({"metadata": {"name": format!("p{n}"), "labels": {"sel": label(*l)}}, "spec": spec});
            let uri = format!("/api/v1/namespaces/{}/pods", NAMESPACES[*s as usize]);
            let (c, o) = send_json(st, Method::POST, &uri, "application/json", Some(body)).await?;
            (c, o, "ADDED")
        }
        PodOp::Move(s, n, d) => {
            let node = if NODES[*d as usize].is_empty() {
                Value::Null
            } else {
                json!(NODES[*d as usize])
            };
            let (c, o) = send_json(
                st,
                Method::PATCH,
                &path(*s, *n),
                "application/merge-patch+json",
                Some(json!({"spec": {"nodeName": node}})),
            )
            .await?;
            (c, o, "MODIFIED")
        }
        PodOp::Relabel(s, n, l) => {
            let (c, o) = send_json(
                st,
                Method::PATCH,
                &path(*s, *n),
                "application/merge-patch+json",
                Some(json!({"metadata": {"labels": {"sel": label(*l)}}})),
            )
            .await?;
            (c, o, "MODIFIED")
        }
        PodOp::Delete(s, n) => {
            let (c, o) = send_json(
                st,
                Method::DELETE,
                &format!("{}?gracePeriodSeconds=0", path(*s, *n)),
                "",
                None,
            )
            .await?;
            (c, o, "DELETED")
        }
    };
    if !(200..300).contains(&code) {
        return Ok(());
    }
    let now = pod_state(&obj);
    let key = format!("{}/{}", now.ns, now.name);
    let prev = live.get(&key).cloned();
    if ty == "MODIFIED" && prev.as_ref() == Some(&now) {
        // A no-op patch commits nothing.
        return Ok(());
    }
    log.push((
        rv_of(&obj),
        ty,
        now.clone(),
        prev.filter(|_| ty == "MODIFIED"),
    ));
    if ty == "DELETED" {
        live.remove(&key);
    } else {
        live.insert(key, now);
    }
    Ok(())
}

/// The events of a watch body: (type, ns/name, rv), bookmarks left out.
async fn events(body: Body) -> anyhow::Result<Vec<(String, String, u64)>> {
    let bytes = body.collect().await?.to_bytes();
    let mut out = Vec::new();
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let ev: Value = serde_json::from_slice(line)?;
        let ty = ev["type"].as_str().unwrap_or("").to_string();
        if ty == "BOOKMARK" {
            continue;
        }
        let o = &ev["object"];
        let p = pod_state(o);
        out.push((ty, format!("{}/{}", p.ns, p.name), rv_of(o)));
    }
    Ok(out)
}

async fn run_routing(ops: Vec<PodOp>, watchers: Vec<Watcher>) -> anyhow::Result<()> {
    let st = KubeState::new(Clock::manual(), 5);
    let mut live = BTreeMap::new();
    let mut log = Vec::new();
    let mut rvs = vec![st.resource_version()];
    let mut bodies: Vec<(usize, u64, Body)> = Vec::new();
    let everything = Watcher {
        ns: None,
        field: 0,
        label: 0,
        start: 0,
        resume: 0,
    };
    for step in 0..=ops.len() {
        for (i, w) in watchers.iter().enumerate() {
            if w.start.min(ops.len()) == step {
                let from = rvs[w.resume.min(step)];
                let resp = app(st.clone())
                    .oneshot(Request::get(w.uri(from)).body(Body::empty())?)
                    .await?;
                bodies.push((i, from, resp.into_body()));
            }
        }
        if step == 0 {
            let resp = app(st.clone())
                .oneshot(Request::get(everything.uri(rvs[0])).body(Body::empty())?)
                .await?;
            bodies.push((usize::MAX, rvs[0], resp.into_body()));
        }
        if let Some(op) = ops.get(step) {
            apply_pod(&st, op, &mut live, &mut log).await?;
            rvs.push(st.resource_version());
        }
    }
    for (i, from, body) in bodies {
        let w = watchers.get(i).unwrap_or(&everything);
        let got = events(body).await?;
        let want = w.expected(&log, from);
        anyhow::ensure!(
            got == want,
            "watcher {w:?} from {from}: got {got:?}, want {want:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn indexed_watchers_get_exactly_their_events_in_order(
        ops in proptest::collection::vec(pod_op(), 1..30),
        watchers in proptest::collection::vec(watcher(), 1..8),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(run_routing(ops, watchers)).map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
}

// ---------------------------------------------------------------------------------------------
// Paging: pages concatenate to the full list at the first page's resourceVersion, even with
// writes between pages.

async fn paged(ops_between: Vec<PodOp>, initial: u8, limit: usize) -> anyhow::Result<()> {
    let st = KubeState::new(Clock::manual(), 6);
    for i in 0..initial {
        let body = json!({"metadata": {"name": format!("p{i}"), "labels": {"sel": "1"}},
                          "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        let ns = NAMESPACES[(i % 2) as usize];
        send_json(
            &st,
            Method::POST,
            &format!("/api/v1/namespaces/{ns}/pods"),
            "application/json",
            Some(body),
        )
        .await?;
    }
    let names = |l: &Value| -> Vec<(String, String, String)> {
        l["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| {
                        (
                            o["metadata"]["namespace"]
                                .as_str()
                                .unwrap_or("")
                                .to_string(),
                            o["metadata"]["name"].as_str().unwrap_or("").to_string(),
                            o["metadata"]["resourceVersion"]
                                .as_str()
                                .unwrap_or("")
                                .to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, full) = send_json(&st, Method::GET, "/api/v1/pods", "", None).await?;
    let want = names(&full);
    let rv0 = full["metadata"]["resourceVersion"].clone();
    let mut got = Vec::new();
    let mut uri = format!("/api/v1/pods?limit={limit}");
    let mut live = BTreeMap::new();
    let mut log = Vec::new();
    let mut ops = ops_between.into_iter();
    loop {
        let (code, page) = send_json(&st, Method::GET, &uri, "", None).await?;
        anyhow::ensure!(code == 200, "page {uri}: {code} {page}");
        anyhow::ensure!(
            page["metadata"]["resourceVersion"] == rv0,
            "page RV {} != {rv0}",
            page["metadata"]["resourceVersion"]
        );
        let items = names(&page);
        anyhow::ensure!(items.len() <= limit, "page longer than limit");
        got.extend(items);
        let Some(c) = page["metadata"]["continue"].as_str() else {
            break;
        };
        uri = format!("/api/v1/pods?limit={limit}&continue={c}");
        if let Some(op) = ops.next() {
            apply_pod(&st, &op, &mut live, &mut log).await?;
        }
    }
    anyhow::ensure!(got == want, "pages {got:?} != list {want:?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn pages_concatenate_to_the_list_at_the_first_pages_rv(
        ops in proptest::collection::vec(pod_op(), 0..12),
        initial in 0u8..12,
        limit in 1usize..5,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(paged(ops, initial, limit)).map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
}
