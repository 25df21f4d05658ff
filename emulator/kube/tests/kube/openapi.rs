//! OpenAPI as kubectl reads it, through `app().oneshot()`: the `/openapi/v3` index, the vendored
//! upstream documents (schemas present, every `$ref` resolving within its document), ETag/304
//! and stale-hash redirects, CRD documents following the CRD's lifecycle, and `/openapi/v2` as
//! JSON and as gnostic protobuf (decoded by a small wire-format reader here).

use axum::body::Body;
use bytes::Bytes;
use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tower::ServiceExt;

struct Resp {
    status: StatusCode,
    headers: http::HeaderMap,
    bytes: Bytes,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

async fn send(
    st: &KubeState,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> anyhow::Result<Resp> {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(serde_json::to_vec(&b)?)
        }
        None => Body::empty(),
    };
    let resp = app(st.clone()).oneshot(req.body(body)?).await?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok(Resp {
        status,
        headers,
        bytes,
    })
}

async fn get(st: &KubeState, uri: &str) -> anyhow::Result<Resp> {
    send(
        st,
        Method::GET,
        uri,
        &[("accept", "application/json")],
        None,
    )
    .await
}

fn state() -> KubeState {
    KubeState::new(Clock::manual(), 3)
}

/// Every `$ref` under `v`.
fn refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// Asserts every `$ref` of a v3 document names one of its component schemas.
fn assert_refs_resolve(doc: &Value, prefix: &str, table: &Value) {
    let mut all = BTreeSet::new();
    refs(doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix(prefix).unwrap_or_else(|| panic!("{r}"));
        assert!(table.get(name).is_some(), "unresolved {r}");
    }
}

async fn index_url(st: &KubeState, gv: &str) -> anyhow::Result<Option<String>> {
    let idx = get(st, "/openapi/v3").await?.json();
    Ok(idx["paths"][gv]["serverRelativeURL"]
        .as_str()
        .map(str::to_string))
}

#[tokio::test]
async fn v3_serves_the_upstream_documents_of_served_group_versions() -> anyhow::Result<()> {
    let st = state();
    let idx = get(&st, "/openapi/v3").await?.json();
    for gv in [
        "api/v1",
        "apis/apps/v1",
        "apis/batch/v1",
        "apis/rbac.authorization.k8s.io/v1",
    ] {
        assert!(
            idx["paths"].get(gv).is_some(),
            "{gv} missing from the index"
        );
    }
    // Group-versions this server does not serve are left out.
    assert!(idx["paths"].get("apis/resource.k8s.io/v1beta1").is_none());
    let url = index_url(&st, "api/v1").await?.unwrap_or_default();
    assert!(url.starts_with("/openapi/v3/api/v1?hash="), "{url}");
    let r = get(&st, &url).await?;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("cache-control"), "public, immutable");
    let doc = r.json();
    let pod = &doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"];
    assert_eq!(pod["x-kubernetes-group-version-kind"][0]["kind"], "Pod");
    let containers =
        &doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    assert_refs_resolve(&doc, "#/components/schemas/", &doc["components"]["schemas"]);
    // The hash is stable: the same URL twice.
    assert_eq!(index_url(&st, "api/v1").await?.unwrap_or_default(), url);

    // ETag and If-None-Match.
    let etag = r.header("etag");
    assert_eq!(
        etag,
        format!("\"{}\"", url.rsplit('=').next().unwrap_or(""))
    );
    let again = send(&st, Method::GET, &url, &[("if-none-match", &etag)], None).await?;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.bytes.is_empty());
    // A stale hash is redirected to the current document.
    let stale = get(&st, "/openapi/v3/api/v1?hash=0123").await?;
    assert_eq!(stale.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(stale.header("location"), url);
    assert_eq!(
        get(&st, "/openapi/v3/apis/nope.example.com/v1")
            .await?
            .status,
        StatusCode::NOT_FOUND
    );
    Ok(())
}

fn crd(extra_field: Option<&str>) -> Value {
    let mut spec_props = json!({
        "cronSpec": {"type": "string", "description": "cronSpec is the schedule."},
        "replicas": {"type": "integer", "minimum": 1},
    });
    if let Some(f) = extra_field {
        spec_props[f] = json!({"type": "boolean", "description": "added later"});
    }
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {"group": "stable.example.com", "scope": "Namespaced",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                "schema": {"openAPIV3Schema": {"type": "object", "description": "CronTab runs a command on a schedule.",
                    "properties": {"spec": {"type": "object", "properties": spec_props}}}}}]}})
}

#[tokio::test]
async fn crd_documents_follow_the_crd() -> anyhow::Result<()> {
    let st = state();
    const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    assert!(index_url(&st, "apis/stable.example.com/v1")
        .await?
        .is_none());
    let r = send(&st, Method::POST, CRDS, &[], Some(crd(None))).await?;
    assert_eq!(r.status, StatusCode::CREATED);

    let url = index_url(&st, "apis/stable.example.com/v1")
        .await?
        .unwrap_or_default();
    let doc = get(&st, &url).await?.json();
    let schemas = &doc["components"]["schemas"];
    let kind = &schemas["com.example.stable.v1.CronTab"];
    assert_eq!(
        kind["x-kubernetes-group-version-kind"],
        json!([{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}])
    );
    assert_eq!(kind["description"], "CronTab runs a command on a schedule.");
    assert_eq!(
        kind["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert_eq!(
        kind["properties"]["spec"]["properties"]["replicas"]["minimum"].as_f64(),
        Some(1.0)
    );
    assert_eq!(
        schemas["com.example.stable.v1.CronTabList"]["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/com.example.stable.v1.CronTab"
    );
    assert!(schemas.get("io.k8s.api.autoscaling.v1.Scale").is_some());
    assert_refs_resolve(&doc, "#/components/schemas/", schemas);
    let item = &doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"];
    assert_eq!(
        item["patch"]["x-kubernetes-group-version-kind"]["kind"],
        "CronTab"
    );
    assert_eq!(
        item["patch"]["operationId"],
        "patchStableExampleComV1NamespacedCronTab"
    );
    assert!(item["patch"]["parameters"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p["name"] == "fieldValidation")));
    assert!(item["patch"]["requestBody"]["content"]
        .get("application/strategic-merge-patch+json")
        .is_none());

    // An update of the CRD changes the document and its hash.
    let cur = get(&st, &format!("{CRDS}/crontabs.stable.example.com"))
        .await?
        .json();
    let mut next = crd(Some("suspend"));
    next["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"].clone();
    let r = send(
        &st,
        Method::PUT,
        &format!("{CRDS}/crontabs.stable.example.com"),
        &[],
        Some(next),
    )
    .await?;
    assert_eq!(r.status, StatusCode::OK);
    let url2 = index_url(&st, "apis/stable.example.com/v1")
        .await?
        .unwrap_or_default();
    assert_ne!(url, url2);
    let doc = get(&st, &url2).await?.json();
    assert_eq!(
        doc["components"]["schemas"]["com.example.stable.v1.CronTab"]["properties"]["spec"]
            ["properties"]["suspend"]["type"],
        "boolean"
    );
    let v2 = get(&st, "/openapi/v2").await?.json();
    assert!(v2["definitions"]
        .get("com.example.stable.v1.CronTab")
        .is_some());

    // Deleted: gone from the index, its document 404.
    let r = send(
        &st,
        Method::DELETE,
        &format!("{CRDS}/crontabs.stable.example.com"),
        &[],
        None,
    )
    .await?;
    assert_eq!(r.status, StatusCode::OK);
    assert!(index_url(&st, "apis/stable.example.com/v1")
        .await?
        .is_none());
    assert_eq!(
        get(&st, "/openapi/v3/apis/stable.example.com/v1")
            .await?
            .status,
        StatusCode::NOT_FOUND
    );
    let v2 = get(&st, "/openapi/v2").await?.json();
    assert!(v2["definitions"]
        .get("com.example.stable.v1.CronTab")
        .is_none());
    Ok(())
}

#[tokio::test]
async fn v2_json_is_swagger_with_definitions() -> anyhow::Result<()> {
    let st = state();
    let r = get(&st, "/openapi/v2").await?;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json");
    let doc = r.json();
    assert_eq!(doc["swagger"], "2.0");
    let defs = &doc["definitions"];
    let pod = &defs["io.k8s.api.core.v1.Pod"];
    assert_eq!(pod["x-kubernetes-group-version-kind"][0]["kind"], "Pod");
    // Single-$ref allOf wrappers are unwrapped; the description stays.
    assert_eq!(
        pod["properties"]["spec"]["$ref"],
        "#/definitions/io.k8s.api.core.v1.PodSpec"
    );
    assert!(pod["properties"]["spec"]["description"].is_string());
    assert_refs_resolve(&doc, "#/definitions/", defs);
    let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Pod");
    assert!(patch["consumes"].as_array().is_some_and(|c| c
        .iter()
        .any(|t| t == "application/strategic-merge-patch+json")));
    assert!(patch["parameters"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p["in"] == "body")
            && p.iter()
                .any(|p| p["name"] == "fieldValidation" && p["type"] == "string")));
    let etag = r.header("etag");
    let again = send(
        &st,
        Method::GET,
        "/openapi/v2",
        &[("if-none-match", &etag)],
        None,
    )
    .await?;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    Ok(())
}

/// A protobuf field: number and payload (varint value or length-delimited bytes).
#[derive(Debug)]
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed64,
}

fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*i)?;
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Decodes one message's fields; `None` if malformed.
fn fields(b: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i)?;
        let f = match key & 7 {
            0 => Field::Varint(varint(b, &mut i)?),
            1 => {
                i += 8;
                Field::Fixed64
            }
            2 => {
                let len = usize::try_from(varint(b, &mut i)?).ok()?;
                let s = b.get(i..i + len)?;
                i += len;
                Field::Bytes(s)
            }
            _ => return None,
        };
        out.push((key >> 3, f));
    }
    Some(out)
}

fn bytes_of<'a>(fs: &[(u64, Field<'a>)], n: u64) -> Vec<&'a [u8]> {
    fs.iter()
        .filter_map(|(k, f)| match f {
            Field::Bytes(b) if *k == n => Some(*b),
            _ => None,
        })
        .collect()
}

fn string_of(fs: &[(u64, Field<'_>)], n: u64) -> String {
    bytes_of(fs, n)
        .first()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn v2_protobuf_is_a_gnostic_document() -> anyhow::Result<()> {
    let st = state();
    let accept = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
    let r = send(&st, Method::GET, "/openapi/v2", &[("accept", accept)], None).await?;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type"),
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    );
    let doc = fields(&r.bytes).ok_or_else(|| anyhow::anyhow!("malformed Document"))?;
    assert_eq!(string_of(&doc, 1), "2.0"); // swagger
    let info = fields(bytes_of(&doc, 2)[0]).unwrap_or_default();
    assert_eq!(string_of(&info, 1), "Kubernetes");
    // definitions (9) → NamedSchema (1) → name (1), Schema (2).
    let defs = fields(bytes_of(&doc, 9)[0]).unwrap_or_default();
    let pod = bytes_of(&defs, 1)
        .into_iter()
        .filter_map(fields)
        .find(|n| string_of(n, 1) == "io.k8s.api.core.v1.Pod")
        .ok_or_else(|| anyhow::anyhow!("no Pod definition"))?;
    let schema = fields(bytes_of(&pod, 2)[0]).unwrap_or_default();
    assert!(string_of(&schema, 4).starts_with("Pod is a collection of containers"));
    // type (22) → TypeItem value (1).
    assert_eq!(
        string_of(&fields(bytes_of(&schema, 22)[0]).unwrap_or_default(), 1),
        "object"
    );
    // vendor_extension (31) → NamedAny{name, Any{yaml (2)}}.
    let ext = bytes_of(&schema, 31)
        .into_iter()
        .filter_map(fields)
        .find(|n| string_of(n, 1) == "x-kubernetes-group-version-kind")
        .ok_or_else(|| anyhow::anyhow!("no gvk extension"))?;
    let yaml = string_of(&fields(bytes_of(&ext, 2)[0]).unwrap_or_default(), 2);
    let gvk: Value = serde_json::from_str(&yaml)?;
    assert_eq!(gvk, json!([{"group": "", "kind": "Pod", "version": "v1"}]));
    // properties (25) → NamedSchema spec → Schema with _ref (1).
    let props = fields(bytes_of(&schema, 25)[0]).unwrap_or_default();
    let spec = bytes_of(&props, 1)
        .into_iter()
        .filter_map(fields)
        .find(|n| string_of(n, 1) == "spec")
        .ok_or_else(|| anyhow::anyhow!("no spec property"))?;
    let spec_schema = fields(bytes_of(&spec, 2)[0]).unwrap_or_default();
    assert_eq!(
        string_of(&spec_schema, 1),
        "#/definitions/io.k8s.api.core.v1.PodSpec"
    );
    // paths (8) → NamedPathItem (2) with a patch (8) operation whose id is upstream's.
    let paths = fields(bytes_of(&doc, 8)[0]).unwrap_or_default();
    let pod_path = bytes_of(&paths, 2)
        .into_iter()
        .filter_map(fields)
        .find(|n| string_of(n, 1) == "/api/v1/namespaces/{namespace}/pods/{name}")
        .ok_or_else(|| anyhow::anyhow!("no pod path"))?;
    let item = fields(bytes_of(&pod_path, 2)[0]).unwrap_or_default();
    let patch = fields(bytes_of(&item, 8)[0]).unwrap_or_default();
    assert_eq!(string_of(&patch, 5), "patchCoreV1NamespacedPod");
    let consumes: Vec<String> = bytes_of(&patch, 7)
        .into_iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(consumes.contains(&"application/strategic-merge-patch+json".to_string()));
    // deprecated (11) is a varint, absent (false) on this operation.
    assert!(!patch
        .iter()
        .any(|(n, f)| *n == 11 && matches!(f, Field::Varint(v) if *v != 0)));
    assert!(!matches!(doc.first(), Some((_, Field::Fixed64))));
    Ok(())
}
