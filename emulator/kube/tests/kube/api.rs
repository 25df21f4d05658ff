//! The REST protocol as kubectl and client-go see it, through `app().oneshot()`: discovery
//! content types, Tables, legacy Ingress conversion, CRDs and custom resources, strict field
//! validation, dryRun, watch resumption and in-stream 410, sendInitialEvents, error Status bodies.

use axum::body::Body;
use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::time::Duration;
use tower::ServiceExt;

use super::support::{get, merge_patch, post, send};

fn state() -> KubeState {
    KubeState::new(Clock::manual(), 3)
}

/// Reads watch lines until `n` lines arrived or the stream ends (bounded by a timeout).
async fn watch_lines(st: &KubeState, uri: &str, n: usize) -> anyhow::Result<Vec<Value>> {
    watch_lines_within(st, uri, n, 10).await
}

/// Like [`watch_lines`] with a timeout in seconds (tokio time, so paused tests can go past it).
async fn watch_lines_within(
    st: &KubeState,
    uri: &str,
    n: usize,
    secs: u64,
) -> anyhow::Result<Vec<Value>> {
    let resp = app(st.clone())
        .oneshot(Request::get(uri).body(Body::empty())?)
        .await?;
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(secs), async {
        while out.len() < n {
            let Some(frame) = body.frame().await else {
                break;
            };
            if let Ok(data) = frame?.into_data() {
                buf.extend_from_slice(&data);
            }
            while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                out.push(serde_json::from_slice(&line)?);
            }
        }
        anyhow::Ok(())
    })
    .await??;
    Ok(out)
}

#[tokio::test]
async fn version_health_and_discovery() -> anyhow::Result<()> {
    let st = state();
    let v = get(&st, "/version").await?;
    assert_eq!(v.body["gitVersion"], "v1.32.4");
    assert_eq!(get(&st, "/healthz").await?.status, StatusCode::OK);
    let agg =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let r = send(&st, Method::GET, "/apis", "", agg, None).await?;
    assert_eq!(
        r.content_type,
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    assert_eq!(r.body["kind"], "APIGroupDiscoveryList");
    let legacy = get(&st, "/api").await?;
    assert_eq!(legacy.body["kind"], "APIVersions");
    let list = get(&st, "/apis/apps/v1").await?;
    let names: Vec<&str> = list.body["resources"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"deployments/scale") && names.contains(&"deployments/status"));
    let idx = get(&st, "/openapi/v3").await?;
    let url = idx.body["paths"]["api/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let doc = get(&st, &url).await?;
    let patch = &doc.body["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Pod");
    assert!(patch["parameters"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p["name"] == "fieldValidation")));
    // The upstream document: built-ins accept strategic merge patches.
    assert!(patch["requestBody"]["content"]
        .get("application/strategic-merge-patch+json")
        .is_some());
    Ok(())
}

#[tokio::test]
async fn errors_are_status_objects() -> anyhow::Result<()> {
    let st = state();
    let r = get(&st, "/api/v1/namespaces/default/pods/nope").await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        (
            r.body["kind"].as_str(),
            r.body["reason"].as_str(),
            r.body["code"].as_u64()
        ),
        (Some("Status"), Some("NotFound"), Some(404))
    );
    assert_eq!(r.body["message"], "pods \"nope\" not found");
    let r = send(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        "application/json",
        None,
    )
    .await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = send(
        &st,
        Method::PATCH,
        "/api/v1/namespaces/default/configmaps/x",
        "text/plain",
        "application/json",
        Some(json!({})),
    )
    .await?;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = send(
        &st,
        Method::PUT,
        "/api/v1/namespaces/default/pods",
        "application/json",
        "application/json",
        Some(json!({})),
    )
    .await?;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = get(&st, "/api/v1/pods?labelSelector=a%20in%20b").await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = get(&st, "/api/v1/pods?fieldSelector=spec.bogus%3Dx").await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // garbage bodies never panic
    for body in [
        json!(1),
        json!([]),
        json!({"metadata": 5}),
        json!({"metadata": {"name": 5}}),
        json!({"spec": {"containers": [1]}}),
    ] {
        let r = post(&st, "/api/v1/namespaces/default/pods", body).await?;
        assert!(r.status.is_client_error(), "{:?}", r.body);
    }
    Ok(())
}

#[tokio::test]
async fn tables_for_kubectl_get() -> anyhow::Result<()> {
    let st = state();
    let r = post(
        &st,
        "/api/v1/namespaces/default/services",
        json!({"metadata": {"name": "web"},
        "spec": {"type": "NodePort", "ports": [{"port": 8080, "nodePort": 31234}]}}),
    )
    .await?;
    assert_eq!(r.status, StatusCode::CREATED);
    let t = send(
        &st,
        Method::GET,
        "/api/v1/namespaces/default/services",
        "",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        None,
    )
    .await?;
    assert_eq!(t.body["kind"], "Table");
    let cols: Vec<&str> = t.body["columnDefinitions"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        cols,
        vec![
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector"
        ]
    );
    let row = t.body["rows"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["cells"][0] == "web"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(row["cells"][4], "8080:31234/TCP");
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    Ok(())
}

#[tokio::test]
async fn table_watch_for_kubectl_get_w() -> anyhow::Result<()> {
    let st = state();
    post(
        &st,
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "a"}, "data": {"x": "1"}}),
    )
    .await?;
    let resp = app(st.clone())
        .oneshot(
            Request::get("/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1")
                .header(
                    "accept",
                    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
                )
                .body(Body::empty())?,
        )
        .await?;
    let mut body = resp.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(10), body.frame()).await?;
    let data = frame
        .and_then(|f| f.ok())
        .and_then(|f| f.into_data().ok())
        .unwrap_or_default();
    let ev: Value = serde_json::from_slice(data.split(|b| *b == b'\n').next().unwrap_or(&[]))?;
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["kind"], "Table");
    assert_eq!(ev["object"]["rows"][0]["cells"], json!(["a", 1, "0s"]));
    Ok(())
}

#[tokio::test]
async fn legacy_ingress_is_converted() -> anyhow::Result<()> {
    let st = state();
    let seed = json!({"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "alb"},
        "spec": {"rules": [{"host": "test.int32bit.me", "http": {"paths": [{"path": "/v1", "backend": {"serviceName": "svc", "servicePort": 8080}}]}}]}});
    let r = post(
        &st,
        "/apis/extensions/v1beta1/namespaces/default/ingresses",
        seed,
    )
    .await?;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        r.body["spec"]["rules"][0]["http"]["paths"][0]["backend"]["serviceName"],
        "svc"
    );
    let v1 = get(
        &st,
        "/apis/networking.k8s.io/v1/namespaces/default/ingresses/alb",
    )
    .await?;
    let p = &v1.body["spec"]["rules"][0]["http"]["paths"][0];
    assert_eq!(
        p["backend"]["service"],
        json!({"name": "svc", "port": {"number": 8080}})
    );
    assert_eq!(p["pathType"], "ImplementationSpecific");
    assert_eq!(v1.body["apiVersion"], "networking.k8s.io/v1");
    let b1 = get(
        &st,
        "/apis/networking.k8s.io/v1beta1/namespaces/default/ingresses",
    )
    .await?;
    assert_eq!(
        b1.body["items"][0]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["servicePort"],
        8080
    );
    Ok(())
}

#[tokio::test]
async fn crds_serve_custom_resources() -> anyhow::Result<()> {
    let st = state();
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "targetgroupbindings.elbv2.k8s.aws"},
        "spec": {"group": "elbv2.k8s.aws", "scope": "Namespaced",
            "names": {"plural": "targetgroupbindings", "singular": "targetgroupbinding", "kind": "TargetGroupBinding", "shortNames": ["tgb"]},
            "versions": [{"name": "v1beta1", "served": true, "storage": true, "subresources": {"status": {}},
                "additionalPrinterColumns": [{"name": "Service-Name", "type": "string", "jsonPath": ".spec.serviceRef.name"}],
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
    let r = post(
        &st,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        crd,
    )
    .await?;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["status"]["conditions"][1]["type"], "Established");
    let cr = json!({"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding", "metadata": {"name": "tgb1"},
        "spec": {"serviceRef": {"name": "web", "port": 80}, "targetGroupARN": "arn:aws:elasticloadbalancing:x"}, "status": {"x": 1}});
    let r = post(
        &st,
        "/apis/elbv2.k8s.aws/v1beta1/namespaces/default/targetgroupbindings",
        cr,
    )
    .await?;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(r.body.get("status").is_none(), "status is a subresource");
    assert_eq!(r.body["metadata"]["generation"], 1);
    let t = send(
        &st,
        Method::GET,
        "/apis/elbv2.k8s.aws/v1beta1/namespaces/default/targetgroupbindings",
        "",
        "application/json;as=Table;v=v1;g=meta.k8s.io",
        None,
    )
    .await?;
    assert_eq!(t.body["rows"][0]["cells"][1], "web");
    let agg = send(
        &st,
        Method::GET,
        "/apis",
        "",
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        None,
    )
    .await?;
    assert!(agg.body["items"]
        .as_array()
        .is_some_and(|a| a.iter().any(|g| g["metadata"]["name"] == "elbv2.k8s.aws")));
    let r = send(
        &st,
        Method::PATCH,
        "/apis/elbv2.k8s.aws/v1beta1/namespaces/default/targetgroupbindings/tgb1",
        "application/strategic-merge-patch+json",
        "application/json",
        Some(json!({})),
    )
    .await?;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let del = send(
        &st,
        Method::DELETE,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/targetgroupbindings.elbv2.k8s.aws",
        "",
        "application/json",
        None,
    )
    .await?;
    assert_eq!(del.status, StatusCode::OK);
    assert_eq!(
        get(
            &st,
            "/apis/elbv2.k8s.aws/v1beta1/namespaces/default/targetgroupbindings"
        )
        .await?
        .status,
        StatusCode::NOT_FOUND
    );
    Ok(())
}

#[tokio::test]
async fn field_validation_and_dry_run() -> anyhow::Result<()> {
    let st = state();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "spec": {"foo": 1}});
    let r = post(
        &st,
        "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
        cm.clone(),
    )
    .await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("strict decoding error: unknown field \"spec\"")),
        "{:?}",
        r.body
    );
    let r = post(
        &st,
        "/api/v1/namespaces/default/configmaps?fieldValidation=Warn&dryRun=All",
        cm.clone(),
    )
    .await?;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.warnings,
        vec!["299 - \"unknown field \\\"spec\\\"\"".to_string()]
    );
    assert_eq!(
        get(&st, "/api/v1/namespaces/default/configmaps/c")
            .await?
            .status,
        StatusCode::NOT_FOUND
    );
    let r = post(
        &st,
        "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore",
        cm,
    )
    .await?;
    assert!(r.warnings.is_empty() && r.body.get("spec").is_none());
    Ok(())
}

#[tokio::test]
async fn watch_resume_expiry_and_initial_events() -> anyhow::Result<()> {
    let st = KubeState::with_options(Clock::manual(), 1, None, 5);
    let start = st.resource_version();
    for i in 0..10 {
        post(
            &st,
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata": {"name": format!("c{i}")}}),
        )
        .await?;
    }
    // too old: in-stream ERROR 410 Expired
    let lines = watch_lines(
        &st,
        &format!("/api/v1/configmaps?watch=true&resourceVersion={start}"),
        1,
    )
    .await?;
    assert_eq!(lines[0]["type"], "ERROR");
    assert_eq!(
        (
            lines[0]["object"]["code"].as_u64(),
            lines[0]["object"]["reason"].as_str()
        ),
        (Some(410), Some("Expired"))
    );
    // recent: resumes exactly after the RV
    let rv = st.resource_version() - 2;
    let lines = watch_lines(
        &st,
        &format!("/api/v1/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1"),
        2,
    )
    .await?;
    let names: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["object"]["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, vec!["c8", "c9"]);
    // sendInitialEvents needs resourceVersionMatch=NotOlderThan
    let r = get(&st, "/api/v1/configmaps?watch=true&sendInitialEvents=true").await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let lines = watch_lines(&st, "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", 11).await?;
    assert_eq!(lines.iter().filter(|l| l["type"] == "ADDED").count(), 10);
    assert_eq!(lines[10]["type"], "BOOKMARK");
    assert_eq!(
        lines[10]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn watch_timeout_and_bookmarks_use_tokio_time() -> anyhow::Result<()> {
    let st = state();
    let lines = watch_lines_within(&st, "/api/v1/configmaps?watch=true&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=150", 10, 1000).await?;
    // two bookmarks (60 s, 120 s), then the stream ends at 150 s
    assert_eq!(lines.len(), 2);
    assert!(
        lines
            .iter()
            .all(|l| l["type"] == "BOOKMARK"
                && l["object"]["metadata"]["resourceVersion"].is_string())
    );
    Ok(())
}

#[tokio::test]
async fn label_selected_watch_turns_leaving_objects_into_deletes() -> anyhow::Result<()> {
    let st = state();
    post(
        &st,
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "x", "labels": {"a": "1"}}}),
    )
    .await?;
    let rv = st.resource_version();
    send(
        &st,
        Method::PATCH,
        "/api/v1/namespaces/default/configmaps/x",
        "application/merge-patch+json",
        "application/json",
        Some(json!({"metadata": {"labels": {"a": "2"}}})),
    )
    .await?;
    send(
        &st,
        Method::PATCH,
        "/api/v1/namespaces/default/configmaps/x",
        "application/merge-patch+json",
        "application/json",
        Some(json!({"metadata": {"labels": {"a": "1"}}})),
    )
    .await?;
    let lines = watch_lines(
        &st,
        &format!("/api/v1/configmaps?watch=1&labelSelector=a%3D1&resourceVersion={rv}"),
        2,
    )
    .await?;
    let types: Vec<&str> = lines.iter().filter_map(|l| l["type"].as_str()).collect();
    assert_eq!(types, vec!["DELETED", "ADDED"]);
    Ok(())
}

#[tokio::test]
async fn pods_on_nodes_wait_for_their_grace_period() -> anyhow::Result<()> {
    let st = state();
    post(&st, "/api/v1/namespaces/default/pods", json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]}})).await?;
    let r = send(
        &st,
        Method::DELETE,
        "/api/v1/namespaces/default/pods/p",
        "",
        "application/json",
        None,
    )
    .await?;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let p = get(&st, "/api/v1/namespaces/default/pods/p").await?;
    assert_eq!(p.body["metadata"]["deletionGracePeriodSeconds"], 30);
    let r = send(
        &st,
        Method::DELETE,
        "/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0",
        "",
        "application/json",
        None,
    )
    .await?;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        get(&st, "/api/v1/namespaces/default/pods/p").await?.status,
        StatusCode::NOT_FOUND
    );
    // list paging
    for i in 0..5 {
        post(
            &st,
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata": {"name": format!("m{i}")}}),
        )
        .await?;
    }
    let page = get(&st, "/api/v1/namespaces/default/configmaps?limit=2").await?;
    assert_eq!(page.body["items"].as_array().map(Vec::len), Some(2));
    let cont = page.body["metadata"]["continue"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let rest = get(
        &st,
        &format!("/api/v1/namespaces/default/configmaps?limit=10&continue={cont}"),
    )
    .await?;
    assert_eq!(rest.body["items"].as_array().map(Vec::len), Some(3));
    assert!(rest.body["metadata"].get("continue").is_none());
    Ok(())
}

#[tokio::test]
async fn custom_resources_are_pruned_and_defaulted_by_their_schema() -> anyhow::Result<()> {
    let st = state();
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": {"type": "object", "properties": {
                    "size": {"type": "integer", "default": 3}, "color": {"type": "string"}}}}}}}]}});
    assert_eq!(
        post(
            &st,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            crd
        )
        .await?
        .status,
        StatusCode::CREATED
    );
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"color": "red", "shape": "round"}});
    let r = post(
        &st,
        "/apis/example.com/v1/widgets?fieldValidation=Strict",
        w.clone(),
    )
    .await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown field \"spec.shape\"")),
        "{:?}",
        r.body
    );
    let r = post(&st, "/apis/example.com/v1/widgets", w).await?;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["spec"], json!({"color": "red", "size": 3}));
    assert_eq!(r.warnings.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_are_never_lost() -> anyhow::Result<()> {
    let st = state();
    post(
        &st,
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "hot"}}),
    )
    .await?;
    let start = st.resource_version();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let st = st.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let r = send(
                    &st,
                    Method::PATCH,
                    "/api/v1/namespaces/default/configmaps/hot",
                    "application/merge-patch+json",
                    "application/json",
                    Some(json!({"data": {format!("k{t}-{i}"): "v"}})),
                )
                .await?;
                anyhow::ensure!(r.status == StatusCode::OK, "{:?}", r.body);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let cm = get(&st, "/api/v1/namespaces/default/configmaps/hot").await?;
    assert_eq!(cm.body["data"].as_object().map(|m| m.len()), Some(400));
    assert_eq!(st.resource_version() - start, 400);
    Ok(())
}

#[tokio::test]
async fn status_updates_carry_metadata_as_upstreams_status_strategies() -> anyhow::Result<()> {
    // Built-in status strategies reset only the spec: a claim's annotation set through
    // `persistentvolumeclaims/status` (the expand controller's `SetClaimResizer`) is kept; a
    // pod's status update keeps the stored owner references; a Deployment's keeps its labels.
    let st = state();
    let ns = "/api/v1/namespaces/default";
    post(
        &st,
        &format!("{ns}/persistentvolumeclaims"),
        json!({"metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    )
    .await?;
    let r = merge_patch(
        &st,
        &format!("{ns}/persistentvolumeclaims/data/status"),
        json!({
        "metadata": {"annotations": {"volume.kubernetes.io/storage-resizer": "ebs.csi.aws.com"}},
        "spec": {"resources": {"requests": {"storage": "9Gi"}}},
        "status": {"phase": "Pending"}}),
    )
    .await?;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["metadata"]["annotations"]["volume.kubernetes.io/storage-resizer"],
        "ebs.csi.aws.com"
    );
    assert_eq!(
        r.body["spec"]["resources"]["requests"]["storage"], "1Gi",
        "the spec is reset"
    );

    post(
        &st,
        &format!("{ns}/pods"),
        json!({"metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
    )
    .await?;
    let r = merge_patch(
        &st,
        &format!("{ns}/pods/p/status"),
        json!({"metadata": {"labels": {"a": "b"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u"}]}}),
    )
    .await?;
    assert_eq!(r.body["metadata"]["labels"]["a"], "b");
    assert!(
        r.body["metadata"]["ownerReferences"].is_null(),
        "{:?}",
        r.body["metadata"]
    );

    post(&st, "/apis/apps/v1/namespaces/default/deployments", json!({"metadata": {"name": "d", "labels": {"app": "d"}},
        "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})).await?;
    let r = merge_patch(
        &st,
        "/apis/apps/v1/namespaces/default/deployments/d/status",
        json!({"metadata": {"labels": {"app": "x"}, "annotations": {"k": "v"}}}),
    )
    .await?;
    assert_eq!(r.body["metadata"]["labels"]["app"], "d");
    assert_eq!(r.body["metadata"]["annotations"]["k"], "v");
    Ok(())
}

#[tokio::test]
async fn claims_grow_only_when_bound_and_their_class_allows_it() -> anyhow::Result<()> {
    // ValidatePersistentVolumeClaimUpdate and the PersistentVolumeClaimResize admission plugin.
    let st = state();
    let ns = "/api/v1/namespaces/default";
    for (name, expand) in [("fixed", false), ("elastic", true)] {
        post(
            &st,
            "/apis/storage.k8s.io/v1/storageclasses",
            json!({"metadata": {"name": name},
            "provisioner": "ebs.csi.aws.com", "allowVolumeExpansion": expand}),
        )
        .await?;
        post(
            &st,
            &format!("{ns}/persistentvolumeclaims"),
            json!({"metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": name,
                     "resources": {"requests": {"storage": "10Gi"}}}}),
        )
        .await?;
    }
    let grow = |name: &str, size: &str| {
        let (st, uri) = (st.clone(), format!("{ns}/persistentvolumeclaims/{name}"));
        let body = json!({"spec": {"resources": {"requests": {"storage": size}}}});
        async move { merge_patch(&st, &uri, body).await }
    };
    // Pending: the size is part of the immutable spec (validation answers before the resize
    // admission plugin).
    let r = grow("elastic", "20Gi").await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    // Other spec fields never change.
    let r = merge_patch(
        &st,
        &format!("{ns}/persistentvolumeclaims/elastic"),
        json!({"spec": {"accessModes": ["ReadWriteMany"]}}),
    )
    .await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["message"].as_str().is_some_and(|m| m.contains(
        "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims")), "{:?}", r.body);
    for name in ["fixed", "elastic"] {
        merge_patch(
            &st,
            &format!("{ns}/persistentvolumeclaims/{name}/status"),
            json!({"status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}}),
        )
        .await?;
    }
    let r = grow("fixed", "20Gi").await?;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["message"], "persistentvolumeclaims \"fixed\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize");
    let r = grow("elastic", "20Gi").await?;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["spec"]["resources"]["requests"]["storage"], "20Gi");
    // Back down (recovering from a failed expansion) only to above the capacity.
    assert_eq!(grow("elastic", "15Gi").await?.status, StatusCode::OK);
    let r = grow("elastic", "10Gi").await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["message"].as_str().is_some_and(|m| {
            m.contains(
        "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity")
        }),
        "{:?}",
        r.body
    );
    Ok(())
}
