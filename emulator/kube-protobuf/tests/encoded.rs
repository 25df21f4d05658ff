//! Bodies built field by field with a tiny protobuf encoder (field numbers from the Kubernetes
//! 1.35 `generated.proto` files), for what kubectl's create subcommands never send: timestamps,
//! micro-times, durations, raw extensions, CRD schemas, packed repeated fields, repeated and
//! merged occurrences, unknown fields, and every kind of malformed input.

use cloudbox_kube_protobuf::{decode, DecodeError};
use serde_json::{json, Value};

/// A protobuf message under construction.
#[derive(Default, Clone)]
struct Msg(Vec<u8>);

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Msg {
    fn new() -> Self {
        Msg::default()
    }
    fn tag(mut self, field: u32, wire: u8) -> Self {
        varint(&mut self.0, (u64::from(field) << 3) | u64::from(wire));
        self
    }
    fn int(self, field: u32, v: i64) -> Self {
        let mut m = self.tag(field, 0);
        varint(&mut m.0, v as u64);
        m
    }
    fn boolean(self, field: u32, v: bool) -> Self {
        self.int(field, i64::from(v))
    }
    fn bytes(self, field: u32, b: &[u8]) -> Self {
        let mut m = self.tag(field, 2);
        varint(&mut m.0, b.len() as u64);
        m.0.extend_from_slice(b);
        m
    }
    fn str(self, field: u32, s: &str) -> Self {
        self.bytes(field, s.as_bytes())
    }
    fn msg(self, field: u32, m: Msg) -> Self {
        self.bytes(field, &m.0)
    }
    fn double(self, field: u32, v: f64) -> Self {
        let mut m = self.tag(field, 1);
        m.0.extend_from_slice(&v.to_le_bytes());
        m
    }
    fn fixed32(self, field: u32, v: u32) -> Self {
        let mut m = self.tag(field, 5);
        m.0.extend_from_slice(&v.to_le_bytes());
        m
    }
    fn packed(self, field: u32, values: &[i64]) -> Self {
        let mut payload = Vec::new();
        for v in values {
            varint(&mut payload, *v as u64);
        }
        self.bytes(field, &payload)
    }
    /// A `map<string, string>` entry.
    fn entry(self, field: u32, key: &str, value: &str) -> Self {
        self.msg(field, Msg::new().str(1, key).str(2, value))
    }
    /// A `map<string, Message>` entry.
    fn entry_msg(self, field: u32, key: &str, value: Msg) -> Self {
        self.msg(field, Msg::new().str(1, key).msg(2, value))
    }
}

/// `k8s\0` + runtime.Unknown {typeMeta {apiVersion, kind}, raw}.
fn body(api_version: &str, kind: &str, raw: Msg) -> Vec<u8> {
    let unknown = Msg::new()
        .msg(1, Msg::new().str(1, api_version).str(2, kind))
        .msg(2, raw);
    let mut out = b"k8s\0".to_vec();
    out.extend_from_slice(&unknown.0);
    out
}

fn ok(api_version: &str, kind: &str, raw: Msg) -> Value {
    decode(&body(api_version, kind, raw)).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

fn err(api_version: &str, kind: &str, raw: Msg) -> DecodeError {
    match decode(&body(api_version, kind, raw)) {
        Ok(v) => panic!("{kind}: expected an error, got {v}"),
        Err(e) => e,
    }
}

fn meta(name: &str) -> Msg {
    Msg::new().str(1, name)
}

/// metav1.Time / MicroTime {1 seconds, 2 nanos}.
fn time(seconds: i64, nanos: i64) -> Msg {
    Msg::new().int(1, seconds).int(2, nanos)
}

const JAN_1_2026: i64 = 1_767_225_600;

#[test]
fn time_fields_are_rfc3339_seconds_or_null() {
    let status = Msg::new().msg(
        6,
        Msg::new()
            .str(1, "Available")
            .str(2, "True")
            .msg(7, time(JAN_1_2026 + 90, 999_999_999)),
    );
    let d = ok(
        "apps/v1",
        "Deployment",
        Msg::new()
            .msg(
                1,
                meta("web")
                    .msg(8, time(JAN_1_2026, 0))
                    .msg(9, time(JAN_1_2026 + 3600, 0))
                    .int(10, 30),
            )
            .msg(3, status),
    );
    assert_eq!(d["metadata"]["creationTimestamp"], "2026-01-01T00:00:00Z");
    assert_eq!(d["metadata"]["deletionTimestamp"], "2026-01-01T01:00:00Z");
    assert_eq!(d["metadata"]["deletionGracePeriodSeconds"], 30);
    let cond = &d["status"]["conditions"][0];
    // Go reads seconds only; an unset metav1.Time value field is written as null.
    assert_eq!(cond["lastTransitionTime"], "2026-01-01T00:01:30Z");
    assert_eq!(cond["lastUpdateTime"], Value::Null);

    // The zero time (0001-01-01) in an omitzero field disappears, like an absent one.
    let ns = ok(
        "v1",
        "Namespace",
        Msg::new().msg(1, meta("a").msg(8, time(-62_135_596_800, 0))),
    );
    assert_eq!(ns["metadata"], json!({"name": "a"}));
    let ns = ok(
        "v1",
        "Namespace",
        Msg::new().msg(1, meta("a").msg(8, Msg::new())),
    );
    assert_eq!(ns["metadata"], json!({"name": "a"}));
}

#[test]
fn micro_times_have_six_digits() {
    let lease = ok(
        "coordination.k8s.io/v1",
        "Lease",
        Msg::new().msg(1, meta("leader")).msg(
            2,
            Msg::new()
                .str(1, "node-1")
                .int(2, 15)
                .msg(3, Msg::new())
                .msg(4, time(JAN_1_2026, 123_456_789))
                .int(5, 0),
        ),
    );
    assert_eq!(
        lease["spec"],
        json!({
            "holderIdentity": "node-1",
            "leaseDurationSeconds": 15,
            "acquireTime": null,
            "renewTime": "2026-01-01T00:00:00.123456Z",
            "leaseTransitions": 0
        })
    );
    let event = ok(
        "events.k8s.io/v1",
        "Event",
        Msg::new()
            .msg(1, meta("e"))
            .msg(2, time(JAN_1_2026, 5_000))
            .str(7, "Started"),
    );
    assert_eq!(event["eventTime"], "2026-01-01T00:00:00.000005Z");
    assert_eq!(event["reason"], "Started");
}

#[test]
fn durations_and_quantity_maps() {
    let m = ok(
        "metrics.k8s.io/v1beta1",
        "NodeMetrics",
        Msg::new()
            .msg(1, meta("node-1"))
            .msg(2, time(JAN_1_2026, 0))
            .msg(3, Msg::new().int(1, 30_000_000_000))
            .entry_msg(4, "cpu", Msg::new().str(1, "250m"))
            .entry_msg(4, "memory", Msg::new().str(1, "1Gi"))
            .entry_msg(4, "zero", Msg::new()),
    );
    assert_eq!(
        m,
        json!({
            "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": "node-1"},
            "timestamp": "2026-01-01T00:00:00Z",
            "window": "30s",
            "usage": {"cpu": "250m", "memory": "1Gi", "zero": "0"}
        })
    );
    let e = err(
        "metrics.k8s.io/v1beta1",
        "NodeMetrics",
        Msg::new().entry_msg(4, "cpu", Msg::new().str(1, "")),
    );
    assert_eq!(
        e.to_string(),
        "invalid value at NodeMetrics.usage[\"cpu\"]: an empty quantity"
    );
}

#[test]
fn deployment_built_by_hand() {
    let container = Msg::new()
        .str(1, "app")
        .str(2, "nginx")
        .msg(6, Msg::new().str(1, "http").int(3, 8080).str(4, "TCP"))
        .msg(
            8,
            Msg::new()
                .entry_msg(1, "cpu", Msg::new().str(1, "500m"))
                .entry_msg(2, "memory", Msg::new().str(1, "64Mi")),
        )
        .str(14, "")
        .boolean(16, false);
    let template = Msg::new()
        .msg(1, Msg::new().entry(11, "app", "web"))
        .msg(2, Msg::new().msg(2, container).int(25, -5));
    let spec = Msg::new()
        .int(1, 3)
        .msg(2, Msg::new().entry(1, "app", "web"))
        .msg(3, template)
        .msg(
            4,
            Msg::new().str(1, "RollingUpdate").msg(
                2,
                Msg::new()
                    .msg(1, Msg::new().int(1, 0).int(2, 0))
                    .msg(2, Msg::new().int(1, 1).str(3, "25%")),
            ),
        )
        .int(5, 0)
        .boolean(7, false);
    let d = ok(
        "apps/v1",
        "Deployment",
        Msg::new().msg(1, meta("web")).msg(2, spec),
    );
    assert_eq!(
        d["spec"],
        json!({
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "app",
                        "image": "nginx",
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                        "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}}
                    }],
                    "priority": -5
                }
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}}
        })
    );
    // A non-pointer struct that is absent is still written by Go, as its zero value.
    assert_eq!(d["status"], json!({}));
}

#[test]
fn zero_value_structs_when_a_non_go_encoder_leaves_them_out() {
    let d = ok("apps/v1", "Deployment", Msg::new().msg(1, meta("bare")));
    assert_eq!(
        d,
        json!({
            "kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "bare"},
            "spec": {
                "selector": null,
                "template": {"metadata": {}, "spec": {"containers": null}},
                "strategy": {}
            },
            "status": {}
        })
    );
}

#[test]
fn services_with_acronym_fields() {
    let spec = Msg::new()
        .msg(
            1,
            Msg::new()
                .str(1, "http")
                .int(3, 80)
                .msg(4, Msg::new().int(2, 8080)),
        )
        .msg(
            1,
            Msg::new()
                .str(1, "https")
                .int(3, 443)
                .msg(4, Msg::new().int(1, 1).str(3, "https")),
        )
        .entry(2, "app", "web")
        .str(3, "10.0.0.10")
        .str(18, "10.0.0.10")
        .str(18, "fd00::10")
        .str(4, "LoadBalancer")
        .str(5, "192.0.2.1")
        .str(7, "")
        .boolean(13, false)
        .boolean(20, false);
    let s = ok("v1", "Service", Msg::new().msg(1, meta("web")).msg(2, spec));
    assert_eq!(
        s["spec"],
        json!({
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "https", "port": 443, "targetPort": "https"}
            ],
            "selector": {"app": "web"},
            "clusterIP": "10.0.0.10",
            "clusterIPs": ["10.0.0.10", "fd00::10"],
            "type": "LoadBalancer",
            "externalIPs": ["192.0.2.1"],
            "allocateLoadBalancerNodePorts": false
        })
    );
    let e = err(
        "v1",
        "Service",
        Msg::new().msg(
            2,
            Msg::new().msg(1, Msg::new().msg(4, Msg::new().int(1, 2))),
        ),
    );
    assert_eq!(
        e.to_string(),
        "invalid value at Service.spec.ports[0].targetPort: IntOrString of type 2 (0 is int, 1 is string)"
    );
}

#[test]
fn secrets_and_configmaps() {
    let s = ok(
        "v1",
        "Secret",
        Msg::new()
            .msg(1, meta("creds"))
            .boolean(5, false)
            .msg(
                2,
                Msg::new().str(1, "key").bytes(2, &[0xde, 0xad, 0xbe, 0xef]),
            )
            .msg(2, Msg::new().str(1, "empty"))
            .entry(4, "plain", "text")
            .str(3, "Opaque"),
    );
    assert_eq!(
        s,
        json!({
            "kind": "Secret", "apiVersion": "v1",
            "metadata": {"name": "creds"},
            "immutable": false,
            "data": {"key": "3q2+7w==", "empty": ""},
            "stringData": {"plain": "text"},
            "type": "Opaque"
        })
    );
    let cm = ok(
        "v1",
        "ConfigMap",
        Msg::new()
            .msg(1, meta("cfg"))
            .entry(2, "a", "1")
            .msg(2, Msg::new().str(1, "no-value"))
            .entry(2, "a", "2")
            .msg(3, Msg::new().str(1, "bin").bytes(2, b"\x00\xff")),
    );
    assert_eq!(cm["data"], json!({"a": "2", "no-value": ""}));
    assert_eq!(cm["binaryData"], json!({"bin": "AP8="}));
}

#[test]
fn packed_and_unpacked_repeated_scalars() {
    let pod = ok(
        "v1",
        "Pod",
        Msg::new().msg(
            2,
            Msg::new().msg(
                14,
                Msg::new()
                    .packed(4, &[1000, 2000])
                    .int(4, 3000)
                    .int(2, 0)
                    .boolean(3, true),
            ),
        ),
    );
    assert_eq!(
        pod["spec"]["securityContext"],
        json!({"runAsUser": 0, "runAsNonRoot": true, "supplementalGroups": [1000, 2000, 3000]})
    );
}

#[test]
fn go_slice_types_are_arrays() {
    let review = ok(
        "authentication.k8s.io/v1",
        "TokenReview",
        Msg::new().msg(1, meta("r")).msg(
            3,
            Msg::new().boolean(1, true).msg(
                2,
                Msg::new()
                    .str(1, "alice")
                    .str(3, "devs")
                    .entry_msg(4, "scopes", Msg::new().str(1, "read").str(1, "write"))
                    .entry_msg(4, "none", Msg::new()),
            ),
        ),
    );
    assert_eq!(
        review["status"],
        json!({
            "authenticated": true,
            "user": {
                "username": "alice",
                "groups": ["devs"],
                "extra": {"scopes": ["read", "write"], "none": null}
            }
        })
    );
    assert_eq!(review["spec"], json!({}));
}

#[test]
fn raw_extensions_hold_json_or_nested_objects() {
    let rev = ok(
        "apps/v1",
        "ControllerRevision",
        Msg::new()
            .msg(1, meta("web-1"))
            .msg(2, Msg::new().str(1, r#"{"spec":{"replicas":2}}"#))
            .int(3, 7),
    );
    assert_eq!(rev["data"], json!({"spec": {"replicas": 2}}));
    assert_eq!(rev["revision"], 7);

    let nested = body(
        "v1",
        "ConfigMap",
        Msg::new().msg(1, meta("inner")).entry(2, "k", "v"),
    );
    let rev = ok(
        "apps/v1",
        "ControllerRevision",
        Msg::new().msg(2, Msg::new().bytes(1, &nested)),
    );
    assert_eq!(
        rev["data"],
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "inner"}, "data": {"k": "v"}})
    );
    // Absent: Go's zero RawExtension is null; revision is written even when 0.
    let rev = ok(
        "apps/v1",
        "ControllerRevision",
        Msg::new().msg(1, meta("x")),
    );
    assert_eq!(rev["data"], Value::Null);
    assert_eq!(rev["revision"], 0);

    let e = err(
        "apps/v1",
        "ControllerRevision",
        Msg::new().msg(2, Msg::new().bytes(1, b"\x01\x02not json")),
    );
    assert!(
        matches!(&e, DecodeError::InvalidValue { at, .. } if at == "ControllerRevision.data"),
        "{e}"
    );
}

#[test]
fn crd_schemas_with_or_types_and_json_values() {
    let props = Msg::new()
        .str(5, "object")
        .entry_msg(
            29,
            "replicas",
            Msg::new().str(5, "integer").double(9, 10.0).double(11, 0.5),
        )
        .entry_msg(29, "extra", Msg::new().boolean(38, true))
        .entry_msg(
            29,
            "tags",
            Msg::new()
                .str(5, "array")
                .msg(24, Msg::new().msg(1, Msg::new().str(5, "string"))),
        )
        .msg(30, Msg::new().boolean(1, false))
        .msg(8, Msg::new().bytes(1, br#"{"replicas":1}"#))
        .msg(20, Msg::new().bytes(1, b"\"a\""))
        .str(3, "#/definitions/x");
    let version = Msg::new()
        .str(1, "v1")
        .boolean(2, true)
        .boolean(3, true)
        .msg(4, Msg::new().msg(1, props));
    let crd = ok(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        Msg::new().msg(1, meta("widgets.example.com")).msg(
            2,
            Msg::new()
                .str(1, "example.com")
                .msg(3, Msg::new().str(1, "widgets").str(4, "Widget"))
                .str(4, "Namespaced")
                .msg(7, version),
        ),
    );
    assert_eq!(
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
        json!({
            "$ref": "#/definitions/x",
            "type": "object",
            "default": {"replicas": 1},
            "enum": ["a"],
            "properties": {
                "replicas": {"type": "integer", "maximum": 10, "minimum": 0.5},
                "extra": {"x-kubernetes-preserve-unknown-fields": true},
                "tags": {"type": "array", "items": {"type": "string"}}
            },
            "additionalProperties": false
        })
    );
    let e = err(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        Msg::new().msg(
            2,
            Msg::new().msg(
                7,
                Msg::new().msg(4, Msg::new().msg(1, Msg::new().double(9, f64::NAN))),
            ),
        ),
    );
    assert_eq!(
        e.to_string(),
        "invalid value at CustomResourceDefinition.spec.versions[0].schema.openAPIV3Schema.maximum: \
         a double that is NaN or infinite (not representable in JSON)"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let mut schema = Msg::new().str(5, "object");
    for _ in 0..300 {
        schema = Msg::new().msg(28, schema);
    }
    let e = err(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        Msg::new().msg(
            2,
            Msg::new().msg(7, Msg::new().msg(4, Msg::new().msg(1, schema))),
        ),
    );
    assert!(matches!(e, DecodeError::TooDeep { limit: 100, .. }), "{e}");
}

#[test]
fn proto_merge_rules() {
    // Last scalar wins; a repeated message field merges; unknown fields are skipped.
    let ns = ok(
        "v1",
        "Namespace",
        Msg::new()
            .msg(1, meta("first").entry(11, "a", "1"))
            .msg(1, meta("second").entry(11, "b", "2"))
            .int(999, 5)
            .str(998, "x")
            .fixed32(997, 1)
            .double(996, 1.0),
    );
    assert_eq!(
        ns["metadata"],
        json!({"name": "second", "labels": {"a": "1", "b": "2"}})
    );
    // Invalid UTF-8 in a string is replaced, as Go's encoding/json does.
    let ns = ok(
        "v1",
        "Namespace",
        Msg::new().msg(1, Msg::new().bytes(1, b"a\xffb")),
    );
    assert_eq!(ns["metadata"]["name"], "a\u{fffd}b");
}

#[test]
fn meta_kinds_under_any_group_version() {
    let opts = ok(
        "policy/v1",
        "DeleteOptions",
        Msg::new().int(1, 0).str(4, "Foreground").str(5, "All"),
    );
    assert_eq!(
        opts,
        json!({
            "kind": "DeleteOptions", "apiVersion": "policy/v1",
            "gracePeriodSeconds": 0, "propagationPolicy": "Foreground", "dryRun": ["All"]
        })
    );
}

#[test]
fn envelope_errors() {
    let e = decode(b"k8s\x01rest").err();
    assert_eq!(
        e.map(|e| e.to_string()),
        Some("not a Kubernetes protobuf body: expected the magic bytes 6b 38 73 00 (\"k8s\\0\"), found 6b 38 73 01".into())
    );
    assert!(
        matches!(decode(b""), Err(DecodeError::BadMagic { found }) if found == "an empty body")
    );
    assert!(matches!(
        decode(b"{\"kind\":\"Namespace\"}"),
        Err(DecodeError::BadMagic { .. })
    ));

    let e = err("apps/v1", "Foo", Msg::new());
    assert_eq!(
        e.to_string(),
        "unknown kind `apps/v1 Foo`: not in the protobuf schema (k8s-pb 0.9.0, Kubernetes 1.35.0)"
    );
    assert!(matches!(
        err("v1", "", Msg::new()),
        DecodeError::MissingKind { .. }
    ));

    let mut truncated = body("v1", "Namespace", Msg::new().msg(1, meta("foo")));
    truncated.pop();
    assert!(matches!(
        decode(&truncated),
        Err(DecodeError::Malformed { .. })
    ));

    // A truncated inner message is reported where it is.
    let mut inner = Msg::new().msg(1, meta("foo")).0;
    inner.truncate(inner.len() - 1);
    let unknown = Msg::new()
        .msg(1, Msg::new().str(1, "v1").str(2, "Namespace"))
        .bytes(2, &Msg::new().bytes(1, &inner).0);
    let mut b = b"k8s\0".to_vec();
    b.extend_from_slice(&unknown.0);
    assert_eq!(
        decode(&b).err().map(|e| e.to_string()),
        Some("malformed protobuf at Namespace.metadata: truncated message".into())
    );

    let wrong = err("v1", "Namespace", Msg::new().msg(1, Msg::new().int(1, 5)));
    assert_eq!(
        wrong.to_string(),
        "malformed protobuf at Namespace.metadata.name: expected wire type length-delimited, found varint"
    );

    let gz = Msg::new()
        .msg(1, Msg::new().str(1, "v1").str(2, "Namespace"))
        .str(3, "gzip");
    let mut b = b"k8s\0".to_vec();
    b.extend_from_slice(&gz.0);
    assert_eq!(
        decode(&b),
        Err(DecodeError::UnsupportedContentEncoding("gzip".into()))
    );
}

#[test]
fn envelope_with_a_json_object() {
    let unknown = Msg::new()
        .msg(1, Msg::new().str(1, "v1").str(2, "ConfigMap"))
        .bytes(2, br#"{"metadata":{"name":"j"},"data":{"a":"b"}}"#)
        .str(4, "application/json");
    let mut b = b"k8s\0".to_vec();
    b.extend_from_slice(&unknown.0);
    assert_eq!(
        decode(&b),
        Ok(
            json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "j"}, "data": {"a": "b"}})
        )
    );
    let other = Msg::new()
        .msg(1, Msg::new().str(1, "v1").str(2, "ConfigMap"))
        .str(4, "application/cbor");
    let mut b = b"k8s\0".to_vec();
    b.extend_from_slice(&other.0);
    assert_eq!(
        decode(&b),
        Err(DecodeError::UnsupportedContentType(
            "application/cbor".into()
        ))
    );
}
