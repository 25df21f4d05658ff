//! The `paths` of a generated OpenAPI v3 document: for each resource of a group-version, the
//! collection and item paths (and `status`/`scale` subresources) with operations carrying
//! `x-kubernetes-group-version-kind`, `x-kubernetes-action` and, on writes, the `dryRun`,
//! `fieldManager`, `fieldValidation` and `force` query parameters (kubectl reads
//! `fieldValidation` there to choose server-side field validation).
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiserver/pkg/endpoints/installer.go (routes
//! and operation ids), staging/src/k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder/
//! builder.go (CRD routes).
//! Not modelled: list/watch query parameters, `deletecollection`, `watch` paths and response
//! codes other than 200; the strategic merge patch content type is never advertised (custom
//! resources do not support it).

use crate::registry::ResourceDef;
use serde_json::{json, Map, Value};

/// `api/v1` or `apis/<group>/<version>`.
pub fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The operation id as the installer names it, e.g. `patchStableExampleComV1NamespacedCronTab`.
fn op_id(verb: &str, d: &ResourceDef) -> String {
    let group: String = d.group.split('.').map(capitalize).collect();
    let group = if group.is_empty() {
        "Core".to_string()
    } else {
        group
    };
    let scope = if d.namespaced { "Namespaced" } else { "" };
    format!("{verb}{group}{}{scope}{}", capitalize(&d.version), d.kind)
}

fn write_params() -> Value {
    json!([
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
    ])
}

/// Schema `$ref` names of a resource: its kind and its list kind.
pub struct SchemaNames {
    /// Component name of the kind.
    pub kind: String,
    /// Component name of the list kind.
    pub list: String,
}

/// Adds the paths of resource `d` (served in `group`/`version`) to `paths`.
pub fn add_resource(paths: &mut Map<String, Value>, d: &ResourceDef, names: &SchemaNames) {
    let gvp = gv_path(&d.group, &d.version);
    let gvk = json!({"group": d.group, "version": d.version, "kind": d.kind});
    let base = if d.namespaced {
        format!("/{gvp}/namespaces/{{namespace}}/{}", d.plural)
    } else {
        format!("/{gvp}/{}", d.plural)
    };
    let schema = json!({"$ref": format!("#/components/schemas/{}", names.kind)});
    let list_schema = json!({"$ref": format!("#/components/schemas/{}", names.list)});
    let body = |types: &[&str]| -> Value {
        let mut c = Map::new();
        for t in types {
            c.insert((*t).to_string(), json!({"schema": schema}));
        }
        json!({"content": c, "required": true})
    };
    let ok = |s: &Value| {
        json!({"200": {"description": "OK", "content": {
            "application/json": {"schema": s}, "application/yaml": {"schema": s}}}})
    };
    let patch_types = [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
    ];
    let op = |verb: &str, action: &str, sub: &str, gvk: &Value| {
        json!({
            "operationId": format!("{}{}", op_id(verb, d), capitalize(sub)),
            "responses": ok(&schema),
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
        })
    };
    let mut params = vec![
        json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}}),
    ];
    if d.namespaced {
        params.push(json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}}));
    }
    let mut item = json!({
        "get": op("read", "get", "", &gvk),
        "put": op("replace", "put", "", &gvk),
        "patch": op("patch", "patch", "", &gvk),
        "delete": op("delete", "delete", "", &gvk),
        "parameters": params,
    });
    item["put"]["parameters"] = write_params();
    item["put"]["requestBody"] = body(&["*/*"]);
    item["patch"]["parameters"] = write_params();
    item["patch"]["requestBody"] = body(&patch_types);
    paths.insert(format!("{base}/{{name}}"), item);

    let mut coll = json!({
        "get": op("list", "list", "", &gvk),
        "post": op("create", "post", "", &gvk),
    });
    coll["get"]["responses"] = ok(&list_schema);
    coll["post"]["parameters"] = write_params();
    coll["post"]["requestBody"] = body(&["*/*"]);
    if d.namespaced {
        coll["parameters"] = json!([{"name": "namespace", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}}]);
    }
    paths.insert(base.clone(), coll);

    for (sub, present) in [("status", d.status), ("scale", d.scale.is_some())] {
        if !present {
            continue;
        }
        let sub_gvk = if sub == "scale" {
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        } else {
            gvk.clone()
        };
        let mut item = json!({
            "get": op("read", "get", sub, &sub_gvk),
            "put": op("replace", "put", sub, &sub_gvk),
            "patch": op("patch", "patch", sub, &sub_gvk),
            "parameters": paths.get(&format!("{base}/{{name}}")).map(|p| p["parameters"].clone()).unwrap_or(Value::Null),
        });
        if sub == "scale" {
            let scale = json!({"$ref": "#/components/schemas/io.k8s.api.autoscaling.v1.Scale"});
            for verb in ["get", "put", "patch"] {
                item[verb]["responses"] = ok(&scale);
            }
        }
        item["put"]["parameters"] = write_params();
        item["put"]["requestBody"] = body(&["*/*"]);
        item["patch"]["parameters"] = write_params();
        item["patch"]["requestBody"] = body(&patch_types);
        paths.insert(format!("{base}/{{name}}/{sub}"), item);
    }
}
