//! Request helpers shared by the modules that talk to the router with raw requests.

use axum::body::Body;
use cloudbox_kube::{app, KubeState};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A response: status, content type, `Warning` headers and the body (JSON, or the text as a
/// JSON string).
pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub warnings: Vec<String>,
    pub body: Value,
}

/// Sends a request through the router (no sockets).
pub async fn send(
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
    let warnings = resp
        .headers()
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let bytes = resp.into_body().collect().await?.to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    Ok(Resp {
        status,
        content_type,
        warnings,
        body,
    })
}

/// GET as JSON.
pub async fn get(st: &KubeState, uri: &str) -> anyhow::Result<Resp> {
    send(st, Method::GET, uri, "", "application/json", None).await
}

/// POST a JSON body.
pub async fn post(st: &KubeState, uri: &str, body: Value) -> anyhow::Result<Resp> {
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

/// PATCH with a JSON merge patch.
pub async fn merge_patch(st: &KubeState, uri: &str, body: Value) -> anyhow::Result<Resp> {
    send(
        st,
        Method::PATCH,
        uri,
        "application/merge-patch+json",
        "application/json",
        Some(body),
    )
    .await
}
