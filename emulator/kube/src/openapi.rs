//! OpenAPI v3: the `/openapi/v3` index and one document per group-version. The documents are
//! minimal on purpose: each resource path has a PATCH operation carrying
//! `x-kubernetes-group-version-kind` and a `fieldValidation` query parameter, which makes
//! kubectl (default `--validate=strict`) use server-side field validation. The strategic merge
//! patch content type is not advertised, so client-side apply computes its patch from compiled-in
//! types (strategic merge patch for built-ins, merge patch for custom resources), as it does
//! against clusters without schema merge keys. Component schemas are not served
//! (`kubectl explain` is not supported). `/openapi/v2` answers 404, which kubectl tolerates.

use crate::registry::{Registry, ResourceDef};
use serde_json::{json, Map, Value};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A stable hash of a document (FNV-1a), used in `serverRelativeURL` so clients can cache.
pub fn hash(v: &Value) -> String {
    let s = v.to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

/// `/openapi/v3`.
pub fn index(reg: &Registry) -> Value {
    let mut paths = Map::new();
    for (g, versions) in reg.groups() {
        for v in versions {
            if let Some(doc) = document(reg, &g, &v) {
                let p = gv_path(&g, &v);
                paths.insert(
                    p.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", hash(&doc))}),
                );
            }
        }
    }
    json!({"paths": paths})
}

fn op_id(verb: &str, d: &ResourceDef) -> String {
    let g: String = d
        .group
        .split('.')
        .next()
        .unwrap_or("")
        .chars()
        .enumerate()
        .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c })
        .collect();
    let g = if g.is_empty() { "Core".to_string() } else { g };
    let v: String = d
        .version
        .chars()
        .enumerate()
        .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c })
        .collect();
    let scope = if d.namespaced { "Namespaced" } else { "" };
    format!("{verb}{g}{v}{scope}{}", d.kind)
}

fn query_params() -> Value {
    json!([
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
    ])
}

/// The document of one group-version, or `None` if nothing is served there.
pub fn document(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let defs = reg.resources_of(group, version);
    if defs.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    for d in &defs {
        let gvk = json!({"group": d.group, "version": d.version, "kind": d.kind});
        let base = if d.namespaced {
            format!(
                "/{}/namespaces/{{namespace}}/{}",
                gv_path(group, version),
                d.plural
            )
        } else {
            format!("/{}/{}", gv_path(group, version), d.plural)
        };
        let schema = json!({"$ref": format!("#/components/schemas/{}", d.kind)});
        let body = |types: &[&str]| -> Value {
            let mut c = Map::new();
            for t in types {
                c.insert((*t).to_string(), json!({"schema": schema}));
            }
            json!({"content": c, "required": true})
        };
        let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}});
        let patch_types = [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        ];
        let mut item = json!({
            "get": {"operationId": op_id("read", d), "responses": ok, "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk},
            "put": {"operationId": op_id("replace", d), "parameters": query_params(), "requestBody": body(&["*/*"]), "responses": ok, "x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk},
            "patch": {"operationId": op_id("patch", d), "parameters": query_params(), "requestBody": body(&patch_types), "responses": ok, "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk},
            "delete": {"operationId": op_id("delete", d), "responses": ok, "x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk},
        });
        let name_param =
            json!([{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}]);
        item["parameters"] = name_param.clone();
        paths.insert(format!("{base}/{{name}}"), item);
        paths.insert(
            base.clone(),
            json!({
                "get": {"operationId": op_id("list", d), "responses": {"200": {"description": "OK"}}, "x-kubernetes-action": "list", "x-kubernetes-group-version-kind": gvk},
                "post": {"operationId": op_id("create", d), "parameters": query_params(), "requestBody": body(&["*/*"]), "responses": ok, "x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk},
            }),
        );
        for (sub, present) in [("status", d.status), ("scale", d.scale.is_some())] {
            if present {
                let sub_gvk = if sub == "scale" {
                    json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
                } else {
                    gvk.clone()
                };
                paths.insert(
                    format!("{base}/{{name}}/{sub}"),
                    json!({
                        "parameters": name_param,
                        "get": {"operationId": format!("{}{}", op_id("read", d), capitalize(sub)), "responses": ok, "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": sub_gvk},
                        "patch": {"operationId": format!("{}{}", op_id("patch", d), capitalize(sub)), "parameters": query_params(), "requestBody": body(&patch_types), "responses": ok, "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": sub_gvk},
                    }),
                );
            }
        }
    }
    let mut schemas = Map::new();
    for d in &defs {
        let mut s = d.schema.clone().unwrap_or_else(
            || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        );
        s["x-kubernetes-group-version-kind"] =
            json!([{"group": d.group, "version": d.version, "kind": d.kind}]);
        schemas.insert(d.kind.clone(), s);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::KUBE_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
