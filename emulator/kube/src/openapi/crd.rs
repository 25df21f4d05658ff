//! OpenAPI v3 documents of custom resource group-versions, built from each served CRD version's
//! `openAPIV3Schema` as kube-apiserver's apiextensions OpenAPI builder does: the kind's schema
//! named `<reversed group>.<version>.<Kind>` with `apiVersion`, `kind` and `metadata`
//! (`ObjectMeta` `$ref`) properties and `x-kubernetes-group-version-kind`, the `<Kind>List`
//! schema, the resource paths, and the `meta.v1` schemas they reference (taken from the vendored
//! upstream documents). Rebuilt on every request from the registry, so a created, updated or
//! deleted CRD changes the document (and its hash) at once.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiextensions-apiserver/pkg/controller/openapi/
//! builder/builder.go, staging/src/k8s.io/apiextensions-apiserver/pkg/controller/openapi/v3/.
//! Not modelled: the structural-schema pruning of unsupported keywords for v3 (the stored schema
//! is served as given), `x-kubernetes-preserve-unknown-fields` on `metadata`, list/watch/
//! deletecollection operations and their query parameters.

use super::paths::{self, SchemaNames};
use super::vendored;
use crate::registry::ResourceDef;
use serde_json::{json, Map, Value};
use std::sync::{Arc, OnceLock};

const API_VERSION_DOC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

/// The component name of a kind: the group reversed, the version, the kind
/// (`stable.example.com`, `v1`, `CronTab` → `com.example.stable.v1.CronTab`).
pub fn definition_name(group: &str, version: &str, kind: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').filter(|p| !p.is_empty()).collect();
    parts.reverse();
    parts.push(version);
    parts.push(kind);
    parts.join(".")
}

fn component_ref(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

fn kind_schema(d: &ResourceDef) -> Value {
    let mut s = match &d.schema {
        Some(Value::Object(m)) => Value::Object(m.clone()),
        _ => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
    };
    if let Some(obj) = s.as_object_mut() {
        let props = obj
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(props) = props.as_object_mut() {
            props.insert(
                "apiVersion".into(),
                json!({"type": "string", "description": API_VERSION_DOC}),
            );
            props.insert(
                "kind".into(),
                json!({"type": "string", "description": KIND_DOC}),
            );
            props.insert(
                "metadata".into(),
                json!({"allOf": [{"$ref": component_ref(OBJECT_META)}], "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}),
            );
        }
        obj.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": d.group, "kind": d.kind, "version": d.version}]),
        );
    }
    s
}

fn list_schema(d: &ResourceDef, item_name: &str) -> Value {
    json!({
        "description": format!("{} is a list of {}", d.list_kind(), d.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": API_VERSION_DOC},
            "kind": {"type": "string", "description": KIND_DOC},
            "items": {
                "type": "array",
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/api-conventions.md", d.plural),
                "items": {"$ref": component_ref(item_name)},
            },
            "metadata": {"allOf": [{"$ref": component_ref(LIST_META)}], "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"},
        },
        "x-kubernetes-group-version-kind": [{"group": d.group, "kind": d.list_kind(), "version": d.version}],
    })
}

/// Collects every `$ref` target name under `v`.
pub fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.rsplit('/').next() {
                            out.push(name.to_string());
                        }
                    }
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// The upstream schemas generated documents may reference: meta.v1, and autoscaling.v1.Scale
/// (published in the apps/v1 document, beside the workloads' `scale` subresources).
fn shared_schemas() -> &'static Map<String, Value> {
    static POOL: OnceLock<Map<String, Value>> = OnceLock::new();
    POOL.get_or_init(load_shared_schemas)
}

fn load_shared_schemas() -> Map<String, Value> {
    let mut pool = Map::new();
    for (g, v) in [("apiextensions.k8s.io", "v1"), ("apps", "v1")] {
        let doc: Option<Value> =
            vendored::document(g, v).and_then(|d| serde_json::from_slice(&d.bytes).ok());
        if let Some(Value::Object(s)) = doc.map(|mut d| d["components"]["schemas"].take()) {
            pool.extend(s);
        }
    }
    pool
}

/// Adds to `schemas` every schema of `pool` that `schemas` references, transitively.
pub fn close_over_refs(schemas: &mut Map<String, Value>, pool: &Map<String, Value>) {
    let mut todo = Vec::new();
    for s in schemas.values() {
        refs(s, &mut todo);
    }
    while let Some(name) = todo.pop() {
        if schemas.contains_key(&name) {
            continue;
        }
        if let Some(s) = pool.get(&name) {
            refs(s, &mut todo);
            schemas.insert(name, s.clone());
        }
    }
}

/// The document of a group-version from its resources (custom resources, or built-ins without a
/// vendored document such as the legacy `extensions/v1beta1`).
pub fn document(defs: &[Arc<ResourceDef>]) -> Value {
    let mut schemas = Map::new();
    let mut paths = Map::new();
    for d in defs {
        let names = SchemaNames {
            kind: definition_name(&d.group, &d.version, &d.kind),
            list: definition_name(&d.group, &d.version, &d.list_kind()),
        };
        schemas.insert(names.kind.clone(), kind_schema(d));
        schemas.insert(names.list.clone(), list_schema(d, &names.kind));
        paths::add_resource(&mut paths, d, &names);
    }
    // Paths reference shared schemas too (the Scale subresource): close over both.
    let mut all = schemas;
    all.insert("__paths".into(), Value::Object(paths.clone()));
    close_over_refs(&mut all, shared_schemas());
    all.remove("__paths");
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": paths,
        "components": {"schemas": all},
    })
}
