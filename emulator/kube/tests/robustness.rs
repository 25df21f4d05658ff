//! Property: no request, however malformed, makes the server panic or answer 5xx; every error
//! is a `Status` object.

use axum::body::Body;
use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use http::Request;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9_./:$ -]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("metadata".to_string()),
                    Just("name".to_string()),
                    Just("spec".to_string()),
                    Just("status".to_string()),
                    Just("containers".to_string()),
                    Just("apiVersion".to_string()),
                    Just("kind".to_string()),
                    Just("$patch".to_string()),
                    Just("op".to_string()),
                    Just("path".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/api/v1/namespaces/default/pods".to_string()),
        Just("/api/v1/namespaces/default/pods/p".to_string()),
        Just("/api/v1/namespaces/default/pods/p/status".to_string()),
        Just("/api/v1/namespaces/default/pods/p/binding".to_string()),
        Just("/api/v1/namespaces/default/services/s".to_string()),
        Just("/api/v1/namespaces/default/configmaps".to_string()),
        Just("/api/v1/namespaces/default/configmaps/c".to_string()),
        Just("/apis/apps/v1/namespaces/default/deployments/d/scale".to_string()),
        Just("/apis/apps/v1/namespaces/default/deployments".to_string()),
        Just("/apis/extensions/v1beta1/namespaces/default/ingresses".to_string()),
        Just("/apis/apiextensions.k8s.io/v1/customresourcedefinitions".to_string()),
        Just("/api/v1/namespaces".to_string()),
        Just("/api/v1/namespaces/x".to_string()),
        "/[a-z0-9/%.]{0,40}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("?fieldValidation=Strict".to_string()),
        Just("?dryRun=All".to_string()),
        Just("?fieldManager=m&force=true".to_string()),
        Just("?labelSelector=a%20in%20(b".to_string()),
        Just("?fieldSelector=spec.nodeName%3Dx&limit=1&continue=zz".to_string()),
        Just("?gracePeriodSeconds=abc&propagationPolicy=Nope".to_string()),
        "\\?[a-zA-Z=&%0-9]{0,20}",
    ]
}

fn content_type() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("application/json"),
        Just("application/merge-patch+json"),
        Just("application/json-patch+json"),
        Just("application/strategic-merge-patch+json"),
        Just("application/apply-patch+yaml"),
        Just("application/vnd.kubernetes.protobuf"),
        Just("text/plain"),
    ]
}

fn method() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("GET"),
        Just("POST"),
        Just("PUT"),
        Just("PATCH"),
        Just("DELETE")
    ]
}

async fn seeded() -> anyhow::Result<KubeState> {
    let st = KubeState::new(Clock::manual(), 5);
    for (uri, body) in [
        (
            "/api/v1/namespaces/default/pods",
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
        ),
        (
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata": {"name": "c"}, "data": {"a": "b"}}),
        ),
        (
            "/api/v1/namespaces/default/services",
            json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}),
        ),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
        ),
    ] {
        let req = Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))?;
        app(st.clone()).oneshot(req).await?;
    }
    Ok(st)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn malformed_requests_get_status_errors(
        reqs in prop::collection::vec((method(), path(), query(), content_type(), prop::option::of(json_value()), any::<bool>()), 1..8)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(async move {
            let st = seeded().await.map_err(|e| TestCaseError::fail(e.to_string()))?;
            for (m, p, q, ct, body, raw) in reqs {
                let bytes = match (&body, raw) {
                    (Some(b), false) => b.to_string().into_bytes(),
                    (Some(b), true) => b.to_string().into_bytes().into_iter().rev().collect(),
                    (None, _) => Vec::new(),
                };
                let uri = format!("{p}{q}");
                let Ok(req) = Request::builder().method(m).uri(uri.as_str()).header("content-type", ct).body(Body::from(bytes)) else {
                    continue;
                };
                let resp = app(st.clone()).oneshot(req).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                let status = resp.status();
                prop_assert!(!status.is_server_error(), "{m} {uri} -> {status}");
                if status.is_client_error() {
                    let body = resp.into_body().collect().await.map_err(|e| TestCaseError::fail(e.to_string()))?.to_bytes();
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    prop_assert_eq!(&v["kind"], "Status", "{} {} -> {}", m, uri, status);
                }
            }
            Ok(())
        })?;
    }
}
