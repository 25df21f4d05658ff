//! List resourceVersion semantics as kube-apiserver 1.32 answers them, through raw requests and
//! kube-rs: unset / "0" / NotOlderThan / Exact, 504 for a too-large resourceVersion, 410 for
//! compacted history and stale continue tokens, 422 for invalid ListOptions, and pods listed
//! by `spec.nodeName` from the node index.

use axum::body::Body;
use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use http::{Method, Request};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, VersionMatch};
use kube::Client;
use serde_json::{json, Value};
use tower::ServiceExt;

async fn send(
    st: &KubeState,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    let resp = app(st.clone()).oneshot(req.body(body)?).await?;
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((code, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

async fn get(st: &KubeState, uri: &str) -> anyhow::Result<(u16, Value)> {
    send(st, Method::GET, uri, None).await
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn create_cm(st: &KubeState, name: &str) -> anyhow::Result<u64> {
    let (code, o) = send(
        st,
        Method::POST,
        CMS,
        Some(json!({"metadata": {"name": name}, "data": {"v": "1"}})),
    )
    .await?;
    anyhow::ensure!(code == 201, "create {name}: {code} {o}");
    Ok(o["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .parse()?)
}

fn names(l: &Value) -> Vec<String> {
    l["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["metadata"]["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn exact_lists_rebuild_the_past_and_not_older_than_serves_the_present() -> anyhow::Result<()>
{
    let st = KubeState::new(Clock::manual(), 1);
    let rv_a = create_cm(&st, "a").await?;
    let rv_b = create_cm(&st, "b").await?;
    send(&st, Method::DELETE, &format!("{CMS}/a"), None).await?;
    create_cm(&st, "c").await?;
    let (code, l) = get(
        &st,
        &format!("{CMS}?resourceVersion={rv_a}&resourceVersionMatch=Exact"),
    )
    .await?;
    assert_eq!(code, 200);
    assert_eq!(names(&l), ["a"]);
    assert_eq!(l["metadata"]["resourceVersion"], json!(rv_a.to_string()));
    let (_, l) = get(
        &st,
        &format!("{CMS}?resourceVersion={rv_b}&resourceVersionMatch=Exact"),
    )
    .await?;
    assert_eq!(names(&l), ["a", "b"]);
    // The object as it was: its resourceVersion at that time.
    assert_eq!(
        l["items"][0]["metadata"]["resourceVersion"],
        json!(rv_a.to_string())
    );
    let current = st.resource_version();
    for q in [
        format!("resourceVersion={rv_a}&resourceVersionMatch=NotOlderThan"),
        format!("resourceVersion={rv_a}"),
        "resourceVersion=0".to_string(),
        String::new(),
    ] {
        let (code, l) = get(&st, &format!("{CMS}?{q}")).await?;
        assert_eq!(code, 200, "{q}");
        assert_eq!(names(&l), ["b", "c"], "{q}");
        assert_eq!(
            l["metadata"]["resourceVersion"],
            json!(current.to_string()),
            "{q}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn too_large_resource_versions_are_504_timeouts() -> anyhow::Result<()> {
    let st = KubeState::new(Clock::manual(), 1);
    let current = st.resource_version();
    let big = current + 100;
    for m in ["NotOlderThan", "Exact"] {
        let (code, s) = get(
            &st,
            &format!("{CMS}?resourceVersion={big}&resourceVersionMatch={m}"),
        )
        .await?;
        assert_eq!(code, 504, "{m}");
        assert_eq!(s["reason"], "Timeout");
        assert_eq!(
            s["message"],
            format!("Too large resource version: {big}, current: {current}")
        );
        assert_eq!(
            s["details"]["causes"][0]["reason"],
            "ResourceVersionTooLarge"
        );
        assert_eq!(s["details"]["retryAfterSeconds"], 1);
    }
    Ok(())
}

#[tokio::test]
async fn compacted_history_is_410_for_exact_and_continue() -> anyhow::Result<()> {
    let st = KubeState::with_options(Clock::manual(), 1, None, 3);
    let first = create_cm(&st, "a").await?;
    create_cm(&st, "b").await?;
    let (_, page) = get(&st, &format!("{CMS}?limit=1")).await?;
    let cont = page["metadata"]["continue"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(!cont.is_empty());
    for i in 0..5 {
        create_cm(&st, &format!("x{i}")).await?;
    }
    let (code, s) = get(
        &st,
        &format!("{CMS}?resourceVersion={first}&resourceVersionMatch=Exact"),
    )
    .await?;
    assert_eq!((code, s["reason"].as_str()), (410, Some("Expired")));
    assert_eq!(
        s["message"],
        "The resourceVersion for the provided list is too old."
    );
    let (code, s) = get(&st, &format!("{CMS}?limit=1&continue={cont}")).await?;
    assert_eq!((code, s["reason"].as_str()), (410, Some("Expired")));
    assert_eq!(s["message"], "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response to get the next page.");
    // A garbled token is a 400.
    let (code, s) = get(&st, &format!("{CMS}?limit=1&continue=zz!")).await?;
    assert_eq!(code, 400);
    assert!(s["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("continue key is not valid"));
    Ok(())
}

#[tokio::test]
async fn invalid_list_options_are_422_like_validate_list_options() -> anyhow::Result<()> {
    let st = KubeState::new(Clock::manual(), 1);
    let cases = [
        ("resourceVersionMatch=Exact", "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
        ("resourceVersion=0&resourceVersionMatch=Exact", "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""),
        ("resourceVersion=5&resourceVersionMatch=Newest", "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Unsupported value: \"Newest\": supported values: \"Exact\", \"NotOlderThan\", \"\""),
    ];
    for (q, msg) in cases {
        let (code, s) = get(&st, &format!("{CMS}?{q}")).await?;
        assert_eq!(code, 422, "{q}: {s}");
        assert_eq!(s["reason"], "Invalid");
        assert_eq!(s["message"], msg, "{q}");
        assert_eq!(s["details"]["causes"][0]["field"], "resourceVersionMatch");
    }
    let (_, page) = get(&st, "/api/v1/namespaces?limit=1").await?;
    let cont = page["metadata"]["continue"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let (code, s) = get(
        &st,
        &format!("/api/v1/namespaces?limit=1&continue={cont}&resourceVersion=5"),
    )
    .await?;
    assert_eq!(code, 400);
    assert_eq!(
        s["message"],
        "specifying resource version is not allowed when using continue"
    );
    Ok(())
}

#[tokio::test]
async fn pods_by_node_come_from_the_node_index_in_pages() -> anyhow::Result<()> {
    let st = KubeState::new(Clock::manual(), 1);
    for i in 0..9 {
        let mut spec = json!({"containers": [{"name": "c", "image": "nginx"}]});
        if i % 3 != 0 {
            spec["nodeName"] = json!(format!("n{}", i % 3));
        }
        let (code, _) = send(
            &st,
            Method::POST,
            "/api/v1/namespaces/default/pods",
            Some(json!({"metadata": {"name": format!("p{i}")}, "spec": spec})),
        )
        .await?;
        assert_eq!(code, 201);
    }
    let (_, l) = get(&st, "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1").await?;
    assert_eq!(names(&l), ["p1", "p4", "p7"]);
    let (_, l) = get(&st, "/api/v1/pods?fieldSelector=spec.nodeName%3D").await?;
    assert_eq!(names(&l), ["p0", "p3", "p6"]);
    let (_, p1) = get(
        &st,
        "/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn2&limit=2",
    )
    .await?;
    assert_eq!(names(&p1), ["p2", "p5"]);
    let cont = p1["metadata"]["continue"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let (_, p2) = get(&st, &format!("/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn2&limit=2&continue={cont}")).await?;
    assert_eq!(names(&p2), ["p8"]);
    assert!(p2["metadata"].get("continue").is_none());
    assert_eq!(
        p2["metadata"]["resourceVersion"],
        p1["metadata"]["resourceVersion"]
    );
    Ok(())
}

#[tokio::test]
async fn kube_rs_lists_with_version_match() -> anyhow::Result<()> {
    let st = KubeState::new(Clock::manual(), 1);
    let client = Client::new(app(st.clone()), "default");
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let one: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "one"}}))?;
    let created = cms.create(&PostParams::default(), &one).await?;
    let rv = created.metadata.resource_version.unwrap_or_default();
    let two: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "two"}}))?;
    cms.create(&PostParams::default(), &two).await?;
    let exact = cms
        .list(&ListParams::default().at(&rv).matching(VersionMatch::Exact))
        .await?;
    assert_eq!(
        exact.metadata.resource_version.as_deref(),
        Some(rv.as_str())
    );
    assert_eq!(exact.items.len(), 1);
    let newer = cms
        .list(
            &ListParams::default()
                .at(&rv)
                .matching(VersionMatch::NotOlderThan),
        )
        .await?;
    assert_eq!(newer.items.len(), 2);
    let too_large = (st.resource_version() + 10).to_string();
    let err = cms
        .list(
            &ListParams::default()
                .at(&too_large)
                .matching(VersionMatch::NotOlderThan),
        )
        .await;
    match err {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 504);
            assert_eq!(s.reason, "Timeout");
        }
        other => anyhow::bail!("expected 504, got {other:?}"),
    }
    Ok(())
}
