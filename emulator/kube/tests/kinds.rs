//! The kinds, subresources and upstream details of issue 7 (§2, §3, §4) through the REST
//! protocol: immortal namespaces, Status `details`, the added kinds with their tables and
//! discovery, ResourceQuota and PodDisruptionBudget semantics, RBAC reviews and the answers for
//! what is not simulated.

use axum::body::Body;
use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Resp {
    status: StatusCode,
    content_type: String,
    body: Value,
}

async fn send(
    st: &KubeState,
    method: Method,
    uri: &str,
    ct: &str,
    accept: &str,
    body: Option<Value>,
) -> anyhow::Result<Resp> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("accept", accept);
    if !ct.is_empty() {
        req = req.header("content-type", ct);
    }
    let body = match body {
        Some(b) => Body::from(serde_json::to_vec(&b)?),
        None => Body::empty(),
    };
    let resp = app(st.clone()).oneshot(req.body(body)?).await?;
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = resp.into_body().collect().await?.to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    Ok(Resp {
        status,
        content_type,
        body,
    })
}

async fn get(st: &KubeState, uri: &str) -> anyhow::Result<Resp> {
    send(st, Method::GET, uri, "", "application/json", None).await
}

async fn post(st: &KubeState, uri: &str, body: Value) -> anyhow::Result<Resp> {
    send(
        st,
        Method::POST,
        uri,
        "application/json",
        "application/json",
        Some(body),
    )
    .await
}

async fn delete(st: &KubeState, uri: &str) -> anyhow::Result<Resp> {
    send(st, Method::DELETE, uri, "", "application/json", None).await
}

async fn table(st: &KubeState, uri: &str) -> anyhow::Result<Resp> {
    send(
        st,
        Method::GET,
        uri,
        "",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        None,
    )
    .await
}

fn state() -> KubeState {
    KubeState::new(Clock::manual(), 7)
}

fn column_names(t: &Value) -> Vec<String> {
    t["columnDefinitions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

mod details {
    use super::*;

    #[tokio::test]
    async fn immortal_namespaces_cannot_be_deleted() -> anyhow::Result<()> {
        let st = state();
        for ns in ["default", "kube-system", "kube-public"] {
            let r = delete(&st, &format!("/api/v1/namespaces/{ns}")).await?;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{ns}");
            assert_eq!(
                r.body["message"],
                format!("namespaces \"{ns}\" is forbidden: this namespace may not be deleted")
            );
            assert_eq!(r.body["reason"], "Forbidden");
            assert_eq!(
                r.body["details"],
                json!({"name": ns, "group": "", "kind": "namespaces"})
            );
            assert_eq!(
                get(&st, &format!("/api/v1/namespaces/{ns}")).await?.status,
                StatusCode::OK
            );
        }
        // an ordinary namespace still goes
        post(
            &st,
            "/api/v1/namespaces",
            json!({"metadata": {"name": "tmp"}}),
        )
        .await?;
        assert_eq!(
            delete(&st, "/api/v1/namespaces/tmp").await?.status,
            StatusCode::OK
        );
        Ok(())
    }

    #[tokio::test]
    async fn every_error_carries_details() -> anyhow::Result<()> {
        let st = state();
        // unknown resource and unknown subresource: empty details, as the not-found handler
        for uri in [
            "/api/v1/namespaces/default/widgets",
            "/api/v1/namespaces/default/pods/p/bogus",
            "/apis/nope.example.com/v1/things",
        ] {
            let r = get(&st, uri).await?;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
            assert_eq!(r.body["details"], json!({}), "{uri}");
            assert_eq!(r.content_type, "application/json");
        }
        let r = get(&st, "/apis/apps/v1/namespaces/default/deployments/web").await?;
        assert_eq!(
            r.body["details"],
            json!({"name": "web", "group": "apps", "kind": "deployments"})
        );
        // creating in a terminating namespace: Forbidden with details
        post(
            &st,
            "/api/v1/namespaces",
            json!({"metadata": {"name": "t", "finalizers": ["x/y"]}}),
        )
        .await?;
        delete(&st, "/api/v1/namespaces/t").await?;
        let r = post(
            &st,
            "/api/v1/namespaces/t/configmaps",
            json!({"metadata": {"name": "c"}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            r.body["details"],
            json!({"name": "c", "group": "", "kind": "configmaps"})
        );
        Ok(())
    }
}
