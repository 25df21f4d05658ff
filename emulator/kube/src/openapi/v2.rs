//! `/openapi/v2`: the Swagger 2.0 document of everything served, converted from the v3
//! documents (the same upstream schemas and CRD schemas): `definitions` are the union of the
//! documents' component schemas with `$ref`s rewritten to `#/definitions/...` and single-`$ref`
//! `allOf` wrappers unwrapped; each operation's `requestBody` becomes a `body` parameter and its
//! media types `consumes`/`produces`. Built once per set of document hashes and cached, outside
//! the state lock.
//!
//! Upstream: kubernetes v1.32, api/openapi-spec/swagger.json (the shape),
//! staging/src/k8s.io/kube-openapi/pkg/handler/handler.go (JSON and protobuf serving),
//! staging/src/k8s.io/apiextensions-apiserver/pkg/controller/openapi/v2/conversion.go (keywords
//! Swagger 2.0 lacks are dropped: `nullable`, `oneOf`, `anyOf`, `not`).
//! Not modelled: shared `parameters` definitions (parameters are inlined), `x-kubernetes-*`
//! keys upstream adds only to v2 such as `x-kubernetes-unions`.

use super::{fingerprint, proto, Document};
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The v2 document in both encodings.
#[derive(Debug)]
pub struct SwaggerV2 {
    /// JSON bytes.
    pub json: Bytes,
    /// gnostic `openapi.v2.Document` protobuf bytes.
    pub protobuf: Bytes,
    /// Hash of the JSON bytes (the ETag of both encodings).
    pub hash: String,
}

const V3_REF: &str = "#/components/schemas/";
const V2_REF: &str = "#/definitions/";

/// A v3 schema as a Swagger 2.0 schema.
pub fn schema(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    let single_ref = match m.get("allOf") {
        Some(Value::Array(all)) if all.len() == 1 => all
            .first()
            .and_then(|s| s.get("$ref"))
            .and_then(Value::as_str),
        _ => None,
    };
    if let Some(r) = single_ref {
        out.insert("$ref".into(), Value::String(r.replace(V3_REF, V2_REF)));
    }
    for (k, x) in m {
        match k.as_str() {
            "allOf" if single_ref.is_some() => {}
            "default" if single_ref.is_some() => {}
            "nullable" | "oneOf" | "anyOf" | "not" => {}
            "$ref" => {
                let r = x.as_str().unwrap_or_default().replace(V3_REF, V2_REF);
                out.insert(k.clone(), Value::String(r));
            }
            "properties" | "patternProperties" => {
                let props: Map<String, Value> = x
                    .as_object()
                    .map(|p| p.iter().map(|(n, s)| (n.clone(), schema(s))).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" if x.is_object() => {
                out.insert(k.clone(), schema(x));
            }
            "allOf" => {
                let all = x
                    .as_array()
                    .map(|a| a.iter().map(schema).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(all));
            }
            _ => {
                out.insert(k.clone(), x.clone());
            }
        }
    }
    Value::Object(out)
}

fn parameter(p: &Value) -> Value {
    let mut out = Map::new();
    for k in ["name", "in", "description", "required"] {
        if let Some(x) = p.get(k) {
            out.insert(k.into(), x.clone());
        }
    }
    if let Some(Value::Object(s)) = p.get("schema") {
        for (k, x) in s {
            out.insert(k.clone(), x.clone());
        }
    }
    Value::Object(out)
}

fn media_types(content: Option<&Value>) -> Vec<String> {
    content
        .and_then(Value::as_object)
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default()
}

fn operation(op: &Value) -> Value {
    let Value::Object(m) = op else {
        return op.clone();
    };
    let mut out = Map::new();
    let mut params: Vec<Value> = m
        .get("parameters")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(parameter).collect())
        .unwrap_or_default();
    let mut produces: Vec<String> = Vec::new();
    for (k, x) in m {
        match k.as_str() {
            "parameters" => {}
            "requestBody" => {
                let content = x.get("content");
                let consumes = media_types(content);
                let body_schema = content
                    .and_then(Value::as_object)
                    .and_then(|c| c.values().next())
                    .and_then(|t| t.get("schema"))
                    .map(schema)
                    .unwrap_or_else(|| json!({"type": "object"}));
                params.insert(
                    0,
                    json!({"name": "body", "in": "body", "required": x.get("required").cloned().unwrap_or(Value::Bool(false)), "schema": body_schema}),
                );
                out.insert("consumes".into(), json!(consumes));
            }
            "responses" => {
                let mut rs = Map::new();
                for (code, r) in x.as_object().into_iter().flatten() {
                    let content = r.get("content");
                    for t in media_types(content) {
                        if !produces.contains(&t) {
                            produces.push(t);
                        }
                    }
                    let mut resp = json!({"description": r.get("description").cloned().unwrap_or_else(|| json!(""))});
                    if let Some(s) = content
                        .and_then(Value::as_object)
                        .and_then(|c| c.values().next())
                        .and_then(|t| t.get("schema"))
                    {
                        resp["schema"] = schema(s);
                    }
                    rs.insert(code.clone(), resp);
                }
                out.insert(k.clone(), Value::Object(rs));
            }
            _ => {
                out.insert(k.clone(), x.clone());
            }
        }
    }
    if !params.is_empty() {
        out.insert("parameters".into(), Value::Array(params));
    }
    if !produces.is_empty() {
        out.insert("produces".into(), json!(produces));
    }
    out.entry("schemes").or_insert_with(|| json!(["https"]));
    Value::Object(out)
}

fn path_item(item: &Value) -> Value {
    let mut out = Map::new();
    for (k, x) in item.as_object().into_iter().flatten() {
        match k.as_str() {
            "get" | "put" | "post" | "delete" | "patch" | "head" | "options" => {
                out.insert(k.clone(), operation(x));
            }
            "parameters" => {
                let ps = x
                    .as_array()
                    .map(|a| a.iter().map(parameter).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(ps));
            }
            k if k.starts_with("x-") => {
                out.insert(k.to_string(), x.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// Converts v3 documents into one Swagger 2.0 document.
pub fn convert(docs: &[Value]) -> Value {
    let mut definitions = Map::new();
    let mut paths = Map::new();
    for doc in docs {
        if let Some(Value::Object(s)) = doc.get("components").and_then(|c| c.get("schemas")) {
            for (name, s) in s {
                definitions.entry(name.clone()).or_insert_with(|| schema(s));
            }
        }
        if let Some(Value::Object(p)) = doc.get("paths") {
            for (name, item) in p {
                paths.entry(name.clone()).or_insert_with(|| path_item(item));
            }
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::KUBE_VERSION},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": {"description": "Bearer Token authentication", "in": "header", "name": "authorization", "type": "apiKey"}},
        "security": [{"BearerToken": []}],
    })
}

/// The v2 document of these served v3 documents; cached by their hashes.
pub fn document(docs: &[(String, Document)]) -> Arc<SwaggerV2> {
    static CACHE: Mutex<Option<(String, Arc<SwaggerV2>)>> = Mutex::new(None);
    let key: String = docs
        .iter()
        .map(|(p, d)| format!("{p}={};", d.hash))
        .collect();
    if let Some((k, v)) = CACHE.lock().as_ref() {
        if *k == key {
            return v.clone();
        }
    }
    let parsed: Vec<Value> = docs
        .iter()
        .filter_map(|(_, d)| serde_json::from_slice(&d.bytes).ok())
        .collect();
    let v2 = convert(&parsed);
    let json = serde_json::to_vec(&v2).unwrap_or_default();
    let built = Arc::new(SwaggerV2 {
        hash: fingerprint(&json),
        json: Bytes::from(json),
        protobuf: Bytes::from(proto::document(&v2)),
    });
    *CACHE.lock() = Some((key, built.clone()));
    built
}
