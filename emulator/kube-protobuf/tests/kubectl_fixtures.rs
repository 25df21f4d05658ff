//! Real request bodies from kubectl v1.32.4 (captured by `tests/fixtures/capture.py`): each
//! `<case>.pb` must decode to `<case>.json`, kubectl's own `--dry-run=client -o json` of the
//! same object, i.e. what it would have sent as JSON.
//!
//! One deliberate difference: kubectl 1.32 writes `"creationTimestamp": null`; the Kubernetes
//! 1.35 types the schema follows tag that field `omitzero`, so the decoder leaves it out.

use serde_json::{json, Value};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(case: &str) -> Value {
    cloudbox_kube_protobuf::decode(&fixture(&format!("{case}.pb")))
        .unwrap_or_else(|e| panic!("{case}.pb: {e}"))
}

/// kubectl's JSON with the 1.32-only `creationTimestamp: null` removed.
fn kubectl_json(case: &str) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.get("creationTimestamp") == Some(&Value::Null) {
                    m.remove("creationTimestamp");
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let text = fixture(&format!("{case}.json"));
    let mut v: Value = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{case}.json: {e}"));
    strip(&mut v);
    v
}

fn check(case: &str) {
    let got = decode(case);
    let want = kubectl_json(case);
    assert_eq!(
        got,
        want,
        "{case}: decoded\n{}\nkubectl JSON\n{}",
        serde_json::to_string_pretty(&got).unwrap_or_default(),
        serde_json::to_string_pretty(&want).unwrap_or_default()
    );
}

#[test]
fn field_order_follows_go() {
    // Objects compare regardless of order; the text shows the decoder also writes fields in Go
    // struct order, as encoding/json does. (kubectl's printer puts ownerReferences before
    // labels in job_from_cronjob, which Go's struct order does not, so that case is left out.)
    for case in [
        "namespace",
        "deployment",
        "service_clusterip",
        "ingress",
        "cronjob",
        "role",
    ] {
        assert_eq!(
            serde_json::to_string(&decode(case)).unwrap_or_default(),
            serde_json::to_string(&kubectl_json(case)).unwrap_or_default(),
            "{case}"
        );
    }
}

#[test]
fn namespace() {
    check("namespace");
    assert_eq!(
        decode("namespace"),
        json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "foo"}, "spec": {}, "status": {}})
    );
}

#[test]
fn configmap_with_data_and_binary_data() {
    check("configmap");
    let cm = decode("configmap");
    assert_eq!(cm["data"]["greeting"], "hello world");
    assert_eq!(cm["data"]["notes.txt"], "line one\nline two\n");
    assert_eq!(cm["binaryData"]["blob"], "AAEC/v+A");
}

#[test]
fn deployment() {
    check("deployment");
    let d = decode("deployment");
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["spec"]["selector"]["matchLabels"], json!({"app": "web"}));
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"],
        json!({"app": "web"})
    );
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:1.27");
    assert_eq!(c["ports"], json!([{"containerPort": 80}]));
    assert_eq!(c["resources"], json!({}));
}

#[test]
fn deployment_keeps_zero_replicas() {
    check("deployment_zero");
    assert_eq!(decode("deployment_zero")["spec"]["replicas"], 0);
}

#[test]
fn secrets() {
    check("secret_generic");
    let s = decode("secret_generic");
    assert_eq!(s["type"], "Opaque");
    assert_eq!(s["data"], json!({"pass": "czNjcjN0", "user": "YWRtaW4="}));
    check("secret_docker");
    assert_eq!(
        decode("secret_docker")["type"],
        "kubernetes.io/dockerconfigjson"
    );
}

#[test]
fn services() {
    check("service_clusterip");
    let s = decode("service_clusterip");
    assert_eq!(s["spec"]["type"], "ClusterIP");
    assert_eq!(s["spec"]["ports"][0]["targetPort"], 8080);
    assert_eq!(s["spec"]["ports"][1]["targetPort"], "https");
    check("service_headless");
    assert_eq!(decode("service_headless")["spec"]["clusterIP"], "None");
    check("service_nodeport");
    assert_eq!(
        decode("service_nodeport")["spec"]["ports"][0]["nodePort"],
        30080
    );
    check("service_externalname");
    assert_eq!(
        decode("service_externalname")["spec"]["externalName"],
        "db.example.com"
    );
}

#[test]
fn serviceaccount() {
    check("serviceaccount");
}

#[test]
fn job_and_cronjob() {
    check("job");
    check("cronjob");
    assert_eq!(decode("cronjob")["spec"]["schedule"], "*/5 * * * *");
}

#[test]
fn job_from_cronjob_has_the_rich_pod_template() {
    check("job_from_cronjob");
    let job = decode("job_from_cronjob");
    assert_eq!(job["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(job["spec"]["backoffLimit"], 0);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["terminationGracePeriodSeconds"], 0);
    assert_eq!(pod["automountServiceAccountToken"], false);
    // Volume's VolumeSource and Probe's handler are embedded Go structs: merged, not nested.
    assert_eq!(
        pod["volumes"][0],
        json!({"name": "cache", "emptyDir": {"sizeLimit": "512Mi"}})
    );
    let c = &pod["containers"][0];
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "metrics");
    assert_eq!(c["livenessProbe"], json!({"tcpSocket": {"port": 9090}}));
    assert_eq!(
        c["resources"]["requests"],
        json!({"cpu": "250m", "memory": "64Mi"})
    );
    assert_eq!(c["securityContext"]["runAsUser"], 0);
}

#[test]
fn rbac() {
    for case in ["role", "rolebinding", "clusterrole", "clusterrolebinding"] {
        check(case);
    }
    assert_eq!(
        decode("clusterrole")["rules"][0]["nonResourceURLs"],
        json!(["/healthz", "/livez"])
    );
}

#[test]
fn ingress() {
    check("ingress");
    let ing = decode("ingress");
    let path = &ing["spec"]["rules"][0]["http"]["paths"][0];
    assert_eq!(path["pathType"], "Prefix");
    assert_eq!(path["backend"]["service"]["port"]["number"], 8080);
    assert_eq!(ing["spec"]["tls"][0]["secretName"], "web-cert");
}

#[test]
fn pod_disruption_budgets() {
    check("pdb_percent");
    assert_eq!(decode("pdb_percent")["spec"]["minAvailable"], "50%");
    check("pdb_int");
    assert_eq!(decode("pdb_int")["spec"]["maxUnavailable"], 1);
}

#[test]
fn priorityclass_and_quota() {
    check("priorityclass");
    assert_eq!(decode("priorityclass")["value"], 1000);
    check("quota");
    assert_eq!(
        decode("quota")["spec"]["hard"],
        json!({"cpu": "2", "memory": "1Gi", "pods": "10"})
    );
}

#[test]
fn token_request() {
    // `kubectl create token` has no --dry-run; this is the TokenRequest it POSTs to
    // serviceaccounts/builder/token.
    assert_eq!(
        decode("token"),
        json!({
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {},
            "spec": {"audiences": ["api"], "expirationSeconds": 3600, "boundObjectRef": null},
            "status": {"token": "", "expirationTimestamp": null}
        })
    );
}
