//! Issue 7 §4 through the REST protocol: custom resources validated against their CRD's
//! structural schema with kube-apiserver's messages, CRDs validated themselves, CEL
//! `x-kubernetes-validations` (including a transition rule), ratcheting on update, and a
//! property test that no schema or object makes the server answer 5xx.

use axum::body::Body;
use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Resp {
    status: StatusCode,
    body: Value,
}

async fn send(
    st: &KubeState,
    method: Method,
    uri: &str,
    ct: &str,
    body: Value,
) -> anyhow::Result<Resp> {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("accept", "application/json")
        .header("content-type", ct)
        .body(Body::from(serde_json::to_vec(&body)?))?;
    let resp = app(st.clone()).oneshot(req).await?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await?.to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    Ok(Resp { status, body })
}

async fn post(st: &KubeState, uri: &str, body: Value) -> anyhow::Result<Resp> {
    send(st, Method::POST, uri, "application/json", body).await
}

async fn put(st: &KubeState, uri: &str, body: Value) -> anyhow::Result<Resp> {
    send(st, Method::PUT, uri, "application/json", body).await
}

async fn merge(st: &KubeState, uri: &str, body: Value) -> anyhow::Result<Resp> {
    send(st, Method::PATCH, uri, "application/merge-patch+json", body).await
}

fn state() -> KubeState {
    KubeState::new(Clock::manual(), 7)
}

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

fn crd(schema: Value) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": schema}}]}})
}

fn widget_schema() -> Value {
    json!({"type": "object", "properties": {
        "spec": {"type": "object", "required": ["replicas"],
            "x-kubernetes-validations": [
                {"rule": "self.minSize <= self.maxSize", "message": "minSize must not exceed maxSize"},
                {"rule": "self.maxSize >= oldSelf.maxSize", "message": "maxSize may not shrink", "fieldPath": ".maxSize"}],
            "properties": {
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
                "ratio": {"type": "number", "exclusiveMaximum": true, "maximum": 1, "multipleOf": 0.25},
                "mode": {"type": "string", "enum": ["fast", "safe"]},
                "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
                "when": {"type": "string", "format": "date-time"},
                "id": {"type": "string", "format": "uuid"},
                "note": {"type": "string", "nullable": true},
                "port": {"x-kubernetes-int-or-string": true},
                "minSize": {"type": "integer", "default": 0},
                "maxSize": {"type": "integer", "default": 100},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "x-kubernetes-list-type": "set"},
                "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}},
                "labels": {"type": "object", "maxProperties": 2, "additionalProperties": {"type": "string"}},
                "choice": {"type": "string", "anyOf": [{"pattern": "^a"}, {"pattern": "^b"}]},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
                "positive": {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 0"}]}}},
        "status": {"type": "object", "properties": {"phase": {"type": "string", "enum": ["Ready", "Pending"]}}}}})
}

fn widget(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})
}

async fn with_widgets() -> anyhow::Result<KubeState> {
    let st = state();
    let r = post(&st, CRDS, crd(widget_schema())).await?;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    Ok(st)
}

/// The single cause of a 422 and the Status message.
async fn rejected(st: &KubeState, spec: Value) -> anyhow::Result<(String, Value)> {
    let r = post(st, WIDGETS, widget("w", spec)).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["reason"], "Invalid");
    assert_eq!(r.body["details"]["kind"], "Widget");
    assert_eq!(r.body["details"]["group"], "example.com");
    Ok((
        r.body["message"].as_str().unwrap_or("").to_string(),
        r.body["details"]["causes"].clone(),
    ))
}

const NOT_CHECKED: &str = "Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

/// One cause (plus, after a blocking error, upstream's notice that CEL rules were skipped).
async fn one(
    st: &KubeState,
    spec: Value,
    field: &str,
    reason: &str,
    message: &str,
) -> anyhow::Result<()> {
    let (msg, causes) = rejected(st, spec).await?;
    let blocking = matches!(
        reason,
        "FieldValueNotSupported"
            | "FieldValueRequired"
            | "FieldValueTooLong"
            | "FieldValueTooMany"
            | "FieldValueTypeInvalid"
    );
    assert_eq!(
        causes.as_array().map(Vec::len),
        Some(if blocking { 2 } else { 1 }),
        "{msg}"
    );
    assert_eq!(causes[0]["field"], field, "{msg}");
    assert_eq!(causes[0]["reason"], reason, "{msg}");
    assert_eq!(causes[0]["message"], message, "{msg}");
    if blocking {
        assert_eq!(causes[1]["field"], "<nil>", "{msg}");
        assert_eq!(causes[1]["message"], NOT_CHECKED, "{msg}");
        assert_eq!(
            msg,
            format!(
                "Widget.example.com \"w\" is invalid: [{field}: {message}, <nil>: {NOT_CHECKED}]"
            )
        );
    } else {
        assert_eq!(
            msg,
            format!("Widget.example.com \"w\" is invalid: {field}: {message}")
        );
    }
    Ok(())
}

#[tokio::test]
async fn each_keyword_accepts_and_rejects_with_upstream_messages() -> anyhow::Result<()> {
    let st = with_widgets().await?;
    let ok = post(&st, WIDGETS, widget("ok", json!({"replicas": 3, "ratio": 0.5, "mode": "fast", "name": "abc",
        "when": "2024-01-02T03:04:05Z", "id": "123e4567-e89b-12d3-a456-426614174000", "note": null, "port": "http",
        "tags": ["a", "b"], "ports": [{"name": "a", "port": 1}, {"name": "b", "port": 1}], "labels": {"x": "y"},
        "choice": "bee", "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}, "positive": 2}))).await?;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    assert_eq!(ok.body["spec"]["maxSize"], 100, "defaults applied");

    one(
        &st,
        json!({"replicas": "3"}),
        "spec.replicas",
        "FieldValueTypeInvalid",
        "Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1.5}),
        "spec.replicas",
        "FieldValueTypeInvalid",
        "Invalid value: \"number\": spec.replicas in body must be of type integer: \"number\"",
    )
    .await?;
    one(
        &st,
        json!({}),
        "spec.replicas",
        "FieldValueRequired",
        "Required value",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 0}),
        "spec.replicas",
        "FieldValueInvalid",
        "Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 11}),
        "spec.replicas",
        "FieldValueInvalid",
        "Invalid value: 11: spec.replicas in body should be less than or equal to 10",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "ratio": 1}),
        "spec.ratio",
        "FieldValueInvalid",
        "Invalid value: 1: spec.ratio in body should be less than 1",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "ratio": 0.3}),
        "spec.ratio",
        "FieldValueInvalid",
        "Invalid value: 0.3: spec.ratio in body should be a multiple of 0.25",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "mode": "slow"}),
        "spec.mode",
        "FieldValueNotSupported",
        "Unsupported value: \"slow\": supported values: \"fast\", \"safe\"",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "name": "a"}),
        "spec.name",
        "FieldValueInvalid",
        "Invalid value: \"a\": spec.name in body should be at least 2 chars long",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "name": "abcdef"}),
        "spec.name",
        "FieldValueTooLong",
        "Too long: may not be longer than 5",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "name": "AB"}),
        "spec.name",
        "FieldValueInvalid",
        "Invalid value: \"AB\": spec.name in body should match '^[a-z]+$'",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "when": "yesterday"}),
        "spec.when",
        "FieldValueTypeInvalid",
        "Invalid value: \"yesterday\": spec.when in body must be of type date-time: \"yesterday\"",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "id": "x"}),
        "spec.id",
        "FieldValueTypeInvalid",
        "Invalid value: \"x\": spec.id in body must be of type uuid: \"x\"",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "mode": null}),
        "spec.mode",
        "FieldValueTypeInvalid",
        "Invalid value: \"null\": spec.mode in body must be of type string: \"null\"",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "port": true}),
        "spec.port",
        "FieldValueTypeInvalid",
        "Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\"",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "tags": []}),
        "spec.tags",
        "FieldValueInvalid",
        "Invalid value: 0: spec.tags in body should have at least 1 items",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "tags": ["a", "b", "c", "d"]}),
        "spec.tags",
        "FieldValueTooMany",
        "Too many: 4: must have at most 3 items",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "tags": ["a", "a"]}),
        "spec.tags[1]",
        "FieldValueDuplicate",
        "Duplicate value: \"a\"",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "ports": [{"name": "a"}, {"name": "a", "port": 2}]}),
        "spec.ports[1]",
        "FieldValueDuplicate",
        "Duplicate value: map[string]interface {}{\"name\":\"a\"}",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "labels": {"a": "1", "b": "2", "c": "3"}}),
        "spec.labels",
        "FieldValueTooMany",
        "Too many: 3: must have at most 2 items",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "labels": {"a": 1}}),
        "spec.labels.a",
        "FieldValueTypeInvalid",
        "Invalid value: \"integer\": spec.labels.a in body must be of type string: \"integer\"",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "template": {"kind": "Pod", "apiVersion": ""}}),
        "spec.template.apiVersion",
        "FieldValueRequired",
        "Required value: must not be empty",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "positive": 0}),
        "spec.positive",
        "FieldValueInvalid",
        "Invalid value: \"integer\": failed rule: self > 0",
    )
    .await?;
    one(
        &st,
        json!({"replicas": 1, "minSize": 5, "maxSize": 2}),
        "spec",
        "FieldValueInvalid",
        "Invalid value: \"object\": minSize must not exceed maxSize",
    )
    .await?;

    let (msg, causes) = rejected(&st, json!({"replicas": 1, "choice": "c"})).await?;
    assert_eq!(causes[0]["field"], "<nil>", "{msg}");
    assert_eq!(
        causes[0]["message"],
        "Invalid value: \"\": \"spec.choice\" must validate at least one schema (anyOf)"
    );
    assert_eq!(
        causes[1]["message"],
        "Invalid value: \"c\": spec.choice in body should match '^a'"
    );

    // Several causes: the summary lists them in brackets, as upstream's aggregate.
    let (msg, causes) = rejected(&st, json!({"replicas": "x", "mode": "slow"})).await?;
    assert_eq!(causes.as_array().map(Vec::len), Some(3));
    assert_eq!(msg, format!("Widget.example.com \"w\" is invalid: [spec.mode: Unsupported value: \"slow\": supported values: \"fast\", \"safe\", spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\", <nil>: {NOT_CHECKED}]"));
    Ok(())
}

#[tokio::test]
async fn updates_patches_and_status_are_validated_with_ratcheting() -> anyhow::Result<()> {
    let st = with_widgets().await?;
    let uri = format!("{WIDGETS}/w");
    let r = post(
        &st,
        WIDGETS,
        widget("w", json!({"replicas": 2, "maxSize": 10})),
    )
    .await?;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = merge(&st, &uri, json!({"spec": {"replicas": 20}})).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Transition rule: maxSize may not shrink (reported at its fieldPath).
    let r = merge(&st, &uri, json!({"spec": {"maxSize": 5}})).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["details"]["causes"][0]["field"], "spec.maxSize");
    assert_eq!(
        r.body["details"]["causes"][0]["message"],
        "Invalid value: \"object\": maxSize may not shrink"
    );
    let r = merge(&st, &uri, json!({"spec": {"maxSize": 50}})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // /status is validated too.
    let r = merge(
        &st,
        &format!("{uri}/status"),
        json!({"status": {"phase": "Gone"}}),
    )
    .await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["details"]["causes"][0]["field"], "status.phase");
    let r = merge(
        &st,
        &format!("{uri}/status"),
        json!({"status": {"phase": "Ready"}}),
    )
    .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Tighten the schema: the stored object now breaks it; unchanged fields ratchet.
    let cur = send(
        &st,
        Method::GET,
        &format!("{CRDS}/widgets.example.com"),
        "application/json",
        json!(null),
    )
    .await?;
    let mut tighter = cur.body.clone();
    tighter["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"]["replicas"]["maximum"] = json!(1);
    let r = put(&st, &format!("{CRDS}/widgets.example.com"), tighter).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = merge(&st, &uri, json!({"spec": {"mode": "safe"}})).await?;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "unchanged invalid replicas ratchets: {}",
        r.body
    );
    let r = merge(&st, &uri, json!({"spec": {"replicas": 3}})).await?;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a changed invalid field is reported: {}",
        r.body
    );
    assert_eq!(
        r.body["details"]["causes"][0]["message"],
        "Invalid value: 3: spec.replicas in body should be less than or equal to 1"
    );
    Ok(())
}

async fn crd_causes(
    st: &KubeState,
    body: Value,
) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let r = post(st, CRDS, body).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["details"]["kind"], "CustomResourceDefinition");
    let causes = r.body["details"]["causes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["field"].as_str().unwrap_or("").to_string(),
                        c["message"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((r.body["message"].as_str().unwrap_or("").to_string(), causes))
}

#[tokio::test]
async fn crds_are_validated_themselves() -> anyhow::Result<()> {
    let st = state();
    let root = "spec.versions[0].schema.openAPIV3Schema";
    let (msg, c) = crd_causes(
        &st,
        crd(json!({"properties": {"spec": {"type": "object"}}})),
    )
    .await?;
    assert_eq!(
        c,
        vec![(
            format!("{root}.type"),
            "Required value: must not be empty at the root".into()
        )]
    );
    assert_eq!(msg, format!("CustomResourceDefinition.apiextensions.k8s.io \"widgets.example.com\" is invalid: {root}.type: Required value: must not be empty at the root"));

    let (_, c) = crd_causes(&st, crd(json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}))).await?;
    assert_eq!(
        c,
        vec![(
            format!("{root}.properties[spec].type"),
            "Required value: must not be empty for specified object fields".into()
        )]
    );

    let (_, c) = crd_causes(
        &st,
        crd(
            json!({"type": "object", "properties": {"spec": {"type": "object",
        "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}}}}),
        ),
    )
    .await?;
    assert_eq!(
        c,
        vec![(
            format!("{root}.properties[spec].additionalProperties"),
            "Forbidden: additionalProperties and properties are mutual exclusive".into()
        )]
    );

    let (_, c) = crd_causes(
        &st,
        crd(
            json!({"type": "object", "properties": {"metadata": {"type": "object",
        "properties": {"labels": {"type": "object"}}}}}),
        ),
    )
    .await?;
    assert_eq!(c, vec![(format!("{root}.properties[metadata]"), "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified".into())]);

    let (_, c) = crd_causes(
        &st,
        crd(json!({"type": "object", "properties": {"n": {"type": "integer", "default": "x"}}})),
    )
    .await?;
    assert_eq!(
        c,
        vec![(
            format!("{root}.properties[n].default"),
            "Invalid value: \"x\": n in body must be of type integer: \"string\"".into()
        )]
    );

    let (_, c) = crd_causes(&st, crd(json!({"type": "object", "properties": {"l": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}}))).await?;
    assert_eq!(c, vec![(format!("{root}.properties[l].uniqueItems"), "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic".into())]);

    let (_, c) = crd_causes(
        &st,
        crd(json!({"type": "object", "x-kubernetes-validations": [{"rule": "self.x >"}]})),
    )
    .await?;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0, format!("{root}.x-kubernetes-validations[0].rule"));
    assert!(
        c[0].1
            .starts_with("Invalid value: apiextensions.ValidationRule{Rule:\"self.x >\""),
        "{}",
        c[0].1
    );
    assert!(c[0].1.contains(": compilation failed: "), "{}", c[0].1);

    // Names, group, scope, versions.
    let mut bad = crd(json!({"type": "object"}));
    bad["metadata"]["name"] = json!("gadgets.example.com");
    bad["spec"]["scope"] = json!("Global");
    bad["spec"]["names"]["kind"] = json!("widget_kind");
    bad["spec"]["versions"][0]["storage"] = json!(false);
    let (_, c) = crd_causes(&st, bad).await?;
    let fields: Vec<&str> = c.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "metadata.name",
            "spec.scope",
            "spec.names.kind",
            "spec.versions"
        ]
    );
    assert_eq!(
        c[0].1,
        "Invalid value: \"gadgets.example.com\": must be spec.names.plural+\".\"+spec.group"
    );
    assert_eq!(
        c[1].1,
        "Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\""
    );
    assert!(c[3]
        .1
        .ends_with("must have exactly one version marked as storage version"));

    let mut nogroup = crd(json!({"type": "object"}));
    nogroup["spec"]["group"] = json!("example");
    nogroup["metadata"]["name"] = json!("widgets.example");
    let (_, c) = crd_causes(&st, nogroup).await?;
    assert_eq!(
        c,
        vec![(
            "spec.group".to_string(),
            "Invalid value: \"example\": should be a domain with at least one dot".to_string()
        )]
    );

    let mut noschema = crd(json!({}));
    noschema["spec"]["versions"][0]
        .as_object_mut()
        .map(|v| v.remove("schema"));
    let (_, c) = crd_causes(&st, noschema).await?;
    assert_eq!(
        c,
        vec![(
            "spec.versions[0].schema.openAPIV3Schema".to_string(),
            "Required value: schemas are required".to_string()
        )]
    );

    // A valid CRD is still accepted and established.
    let r = post(&st, CRDS, crd(widget_schema())).await?;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"]["conditions"][0]["type"], "NamesAccepted");
    assert_eq!(r.body["status"]["conditions"][1]["type"], "Established");
    Ok(())
}

/// A random schema node (depth-limited) built only of structural constructs.
fn schema_node(depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        (
            proptest::option::of(0i64..5),
            proptest::option::of(5i64..20)
        )
            .prop_map(|(min, max)| {
                let mut s = json!({"type": "integer"});
                if let Some(m) = min {
                    s["minimum"] = json!(m);
                }
                if let Some(m) = max {
                    s["maximum"] = json!(m);
                }
                s
            }),
        Just(json!({"type": "number", "multipleOf": 0.5})),
        Just(json!({"type": "boolean"})),
        Just(json!({"type": "string", "maxLength": 8, "pattern": "^[a-z]*$"})),
        Just(json!({"type": "string", "enum": ["a", "b"]})),
        Just(json!({"type": "string", "format": "date-time"})),
        Just(json!({"x-kubernetes-int-or-string": true})),
        Just(
            json!({"type": "string", "nullable": true, "x-kubernetes-validations": [{"rule": "size(self) < 5"}]})
        ),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        2 => leaf,
        1 => proptest::collection::btree_map("[a-d]", schema_node(depth - 1), 0..4).prop_map(|props| {
            let required: Vec<&String> = props.keys().take(1).collect();
            json!({"type": "object", "properties": props, "required": required})
        }),
        1 => schema_node(depth - 1).prop_map(|items| json!({"type": "array", "items": items, "maxItems": 4})),
        1 => schema_node(depth - 1).prop_map(|v| json!({"type": "object", "additionalProperties": v})),
    ]
    .boxed()
}

/// An arbitrary JSON value.
fn any_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z0-9:T-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A value valid for `schema` (the generator only uses constructs whose valid values are easy).
fn valid_for(s: &Value) -> Value {
    if s["x-kubernetes-int-or-string"] == json!(true) {
        return json!(7);
    }
    match s["type"].as_str().unwrap_or("") {
        "integer" => json!(s["minimum"].as_i64().unwrap_or(5).max(5)),
        "number" => json!(1.5),
        "boolean" => json!(true),
        "string" if s.get("enum").is_some() => json!("a"),
        "string" if s["format"] == "date-time" => json!("2024-01-02T03:04:05Z"),
        "string" => json!("abc"),
        "array" => json!([valid_for(&s["items"])]),
        "object" => match s.get("properties").and_then(Value::as_object) {
            Some(p) => Value::Object(p.iter().map(|(k, v)| (k.clone(), valid_for(v))).collect()),
            None => match s.get("additionalProperties") {
                Some(ap) => json!({"k": valid_for(ap)}),
                None => json!({}),
            },
        },
        _ => Value::Null,
    }
}

async fn random_case(spec_schema: Value, random: Value) -> Result<(), TestCaseError> {
    let st = state();
    let schema = json!({"type": "object", "properties": {"spec": spec_schema}});
    let r = post(&st, CRDS, crd(schema))
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let valid = valid_for(&spec_schema);
    let r = post(&st, WIDGETS, widget("valid", json!(valid)))
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        r.status,
        StatusCode::CREATED,
        "valid {} for {}: {}",
        valid,
        spec_schema,
        r.body
    );
    let r = post(&st, WIDGETS, widget("random", random.clone()))
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        r.status == StatusCode::CREATED || r.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{} for {}: {} {}",
        random,
        spec_schema,
        r.status,
        r.body
    );
    let r = put(&st, &format!("{WIDGETS}/valid"), {
        let mut w = widget("valid", random);
        w["metadata"]["resourceVersion"] = json!(null);
        w
    })
    .await
    .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(r.status.as_u16() < 500, "{} {}", r.status, r.body);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Random structural schemas and random objects: never a 5xx or a panic, and an object built
    /// to satisfy the schema is accepted.
    #[test]
    fn random_schemas_and_objects_never_fail_the_server(schema in schema_node(3), random in any_value()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(random_case(schema, random))?;
    }

    /// Random (often non-structural) CRD schemas are accepted or refused with a 4xx, never 5xx.
    #[test]
    fn random_crd_schemas_never_fail_the_server(schema in any_value()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(async {
            let st = state();
            let r = post(&st, CRDS, crd(schema.clone())).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
            // 400 when the schema does not decode as JSONSchemaProps, 422 when it is not valid.
            prop_assert!(r.status == StatusCode::CREATED || r.status.is_client_error(), "{} {}", r.status, r.body);
            if r.status == StatusCode::CREATED {
                let r = post(&st, WIDGETS, widget("w", json!({"a": 1}))).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(r.status.as_u16() < 500, "{} {}", r.status, r.body);
            }
            Ok(())
        })?;
    }
}
