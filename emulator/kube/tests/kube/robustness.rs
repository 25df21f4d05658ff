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

/// A CRD with status and scale subresources and a schema that keeps unknown fields, so any
/// shape of `spec` reaches the server's own code.
fn widget_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

/// (collection URI, object name, a valid object) of each target kind.
fn targets() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "/api/v1/namespaces/default/pods",
            "p",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]}}),
        ),
        (
            "/api/v1/namespaces/default/services",
            "s",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                "spec": {"type": "NodePort", "ports": [{"port": 80}], "selector": {"a": "b"}}}),
        ),
        (
            "/api/v1/namespaces/default/configmaps",
            "c",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}),
        ),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            "d",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
        ),
        (
            "/apis/batch/v1/namespaces/default/jobs",
            "j",
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}),
        ),
        (
            "/apis/example.com/v1/namespaces/default/widgets",
            "w",
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                "spec": {"replicas": 1, "x": {"y": 1}}, "status": {"replicas": 0}}),
        ),
    ]
}

/// Places where a wrong type does the most damage.
const POINTERS: &[&str] = &[
    "",
    "/metadata",
    "/metadata/name",
    "/metadata/labels",
    "/metadata/labels/a",
    "/metadata/annotations",
    "/metadata/ownerReferences",
    "/metadata/finalizers",
    "/metadata/resourceVersion",
    "/metadata/generateName",
    "/metadata/namespace",
    "/apiVersion",
    "/kind",
    "/spec",
    "/spec/replicas",
    "/spec/selector",
    "/spec/containers",
    "/spec/containers/0",
    "/spec/containers/0/ports",
    "/spec/ports",
    "/spec/ports/0",
    "/spec/type",
    "/spec/clusterIP",
    "/spec/template",
    "/spec/template/spec",
    "/spec/x",
    "/spec/x/y",
    "/status",
    "/status/replicas",
    "/status/conditions",
    "/data",
];

/// Sets `ptr` in `obj` to `v` where its parent is an object or array.
fn set_at(obj: &mut Value, ptr: &str, v: Value) {
    if ptr.is_empty() {
        *obj = v;
        return;
    }
    let (parent, last) = ptr.rsplit_once('/').unwrap_or(("", ptr));
    match obj.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.insert(last.to_string(), v);
        }
        Some(Value::Array(a)) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *slot = v;
            }
        }
        _ => {}
    }
}

async fn call(
    st: &KubeState,
    m: &str,
    uri: &str,
    ct: &str,
    body: &Value,
) -> Result<(http::StatusCode, Value), TestCaseError> {
    let req = Request::builder()
        .method(m)
        .uri(uri)
        .header("content-type", ct)
        .body(Body::from(body.to_string()))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let resp = app(st.clone())
        .oneshot(req)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?
        .to_bytes();
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

async fn seeded_targets() -> Result<KubeState, TestCaseError> {
    let st = KubeState::new(Clock::manual(), 5);
    call(
        &st,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "application/json",
        &widget_crd(),
    )
    .await?;
    for (coll, _, obj) in targets() {
        let (s, b) = call(&st, "POST", coll, "application/json", &obj).await?;
        prop_assert!(s.is_success(), "seeding {coll}: {s} {b}");
    }
    Ok(st)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]
    /// Wrong types at every level of metadata, spec and status, for built-in kinds and a custom
    /// resource, through create, update, status and scale updates and the three patch types: the
    /// answer is 2xx or a 4xx Status, never 5xx or a panic, and a refused request stores nothing.
    #[test]
    fn wrong_types_are_refused_without_changes(
        writes in prop::collection::vec((0usize..6, 0usize..7, prop::sample::select(POINTERS), json_value()), 1..6)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(async move {
            let st = seeded_targets().await?;
            let targets = targets();
            for (t, verb, ptr, v) in writes {
                let (coll, name, valid) = &targets[t];
                let mut body = valid.clone();
                if verb == 0 {
                    set_at(&mut body, "/metadata/name", json!(format!("{name}2")));
                }
                set_at(&mut body, ptr, v.clone());
                let item = format!("{coll}/{name}");
                let (m, uri, ct, body) = match verb {
                    0 => ("POST", coll.to_string(), "application/json", body),
                    1 => ("PUT", item.clone(), "application/json", body),
                    2 => ("PUT", format!("{item}/status"), "application/json", body),
                    3 => ("PATCH", item.clone(), "application/merge-patch+json", body),
                    4 => ("PATCH", item.clone(), "application/json-patch+json",
                          json!([{"op": "add", "path": if ptr.is_empty() { "/spec" } else { ptr }, "value": v}])),
                    5 => ("PATCH", format!("{item}/scale"), "application/merge-patch+json",
                          json!({"spec": {"replicas": v}})),
                    _ => ("PATCH", item.clone(), "application/apply-patch+yaml", body),
                };
                let uri = if m == "PATCH" && verb == 6 { format!("{uri}?fieldManager=t&force=true") } else { uri };
                let before = st.resource_version();
                let (get_s, stored_before) = call(&st, "GET", &item, "", &Value::Null).await?;
                let (status, resp) = call(&st, m, &uri, ct, &body).await?;
                prop_assert!(!status.is_server_error(), "{} {} {} -> {} {}", m, uri, body, status, resp);
                if status.is_client_error() {
                    prop_assert_eq!(&resp["kind"], "Status", "{} {} -> {}", m, uri, status);
                    prop_assert_eq!(st.resource_version(), before, "{} {} {} was refused ({}) but wrote: {}", m, uri, body, status, resp);
                    let (_, stored_after) = call(&st, "GET", &item, "", &Value::Null).await?;
                    if get_s.is_success() {
                        prop_assert_eq!(stored_after, stored_before);
                    }
                }
            }
            Ok(())
        })?;
    }
}

/// A custom resource whose `spec` (or `status`) is not an object, then every write path on it:
/// the scale subresource used to index into the string and panic.
#[tokio::test]
async fn custom_resource_with_scalar_spec_is_never_a_panic() -> anyhow::Result<()> {
    let st = seeded_targets().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let item = "/apis/example.com/v1/namespaces/default/widgets/w";
    let err = |e: TestCaseError| anyhow::anyhow!("{e}");
    // a TokenRequest whose spec is not an object is a 400, not an indexing panic
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}});
    call(
        &st,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts",
        "application/json",
        &sa,
    )
    .await
    .map_err(err)?;
    let (s, b) = call(
        &st,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts/sa/token",
        "application/json",
        &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": "x"}),
    )
    .await
    .map_err(err)?;
    assert_eq!(s, http::StatusCode::BAD_REQUEST, "{b}");
    for spec in [
        json!("x"),
        json!(7),
        json!([1, 2]),
        json!(null),
        json!(true),
    ] {
        let body = json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w"}, "spec": spec, "status": "s"});
        let (s, b) = call(&st, "PUT", item, "application/json", &body)
            .await
            .map_err(err)?;
        assert!(s.is_success() || s.is_client_error(), "PUT {spec}: {s} {b}");
        let (s, b) = call(
            &st,
            "PUT",
            &format!("{item}/status"),
            "application/json",
            &body,
        )
        .await
        .map_err(err)?;
        assert!(
            s.is_success() || s.is_client_error(),
            "PUT status {spec}: {s} {b}"
        );
        for (m, uri, ct, body) in [
            (
                "PATCH",
                format!("{item}/scale"),
                "application/merge-patch+json",
                json!({"spec": {"replicas": 3}}),
            ),
            (
                "PUT",
                format!("{item}/scale"),
                "application/json",
                json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "w"}, "spec": {"replicas": 2}}),
            ),
            ("GET", format!("{item}/scale"), "", Value::Null),
            (
                "PATCH",
                item.to_string(),
                "application/merge-patch+json",
                json!({"spec": {"replicas": 1}}),
            ),
            (
                "PATCH",
                item.to_string(),
                "application/json-patch+json",
                json!([{"op": "add", "path": "/spec/replicas", "value": 1}]),
            ),
        ] {
            let (s, b) = call(&st, m, &uri, ct, &body).await.map_err(err)?;
            assert!(!s.is_server_error(), "{m} {uri} after spec {spec}: {s} {b}");
            if s.is_client_error() {
                assert_eq!(b["kind"], "Status", "{m} {uri}: {b}");
            }
        }
    }
    Ok(())
}
