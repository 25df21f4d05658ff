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

use super::support::{get, post, send, Resp};

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

async fn put(st: &KubeState, uri: &str, body: Value) -> anyhow::Result<Resp> {
    send(
        st,
        Method::PUT,
        uri,
        "application/json",
        "application/json",
        Some(body),
    )
    .await
}

fn ready_pod(name: &str, labels: Value, ready: bool) -> Value {
    json!({"metadata": {"name": name, "labels": labels},
           "spec": {"containers": [{"name": "c", "image": "nginx:1.25",
                                    "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]},
           "ready": ready})
}

/// Creates a pod and marks it Running (and Ready when asked) through `/status`.
async fn running_pod(st: &KubeState, ns: &str, spec: Value) -> anyhow::Result<()> {
    let ready = spec["ready"].as_bool().unwrap_or(false);
    let mut body = spec.clone();
    if let Some(m) = body.as_object_mut() {
        m.remove("ready");
    }
    let name = body["metadata"]["name"].as_str().unwrap_or("").to_string();
    let r = post(st, &format!("/api/v1/namespaces/{ns}/pods"), body).await?;
    anyhow::ensure!(r.status == StatusCode::CREATED, "{:?}", r.body);
    let mut pod = r.body;
    pod["spec"]["nodeName"] = json!("node-1");
    let r = put(st, &format!("/api/v1/namespaces/{ns}/pods/{name}"), pod).await?;
    anyhow::ensure!(r.status == StatusCode::OK, "{:?}", r.body);
    let mut pod = r.body;
    pod["status"] = json!({"phase": "Running",
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
        "containerStatuses": [{"name": "c", "image": "nginx:1.25", "imageID": "", "ready": ready, "restartCount": 0,
                               "state": {"running": {"startedAt": "2026-01-01T00:00:05Z"}}}]});
    let r = put(
        st,
        &format!("/api/v1/namespaces/{ns}/pods/{name}/status"),
        pod,
    )
    .await?;
    anyhow::ensure!(r.status == StatusCode::OK, "{:?}", r.body);
    Ok(())
}

mod added_kinds {
    use super::*;

    #[tokio::test]
    async fn discovery_lists_the_added_kinds() -> anyhow::Result<()> {
        let st = state();
        let core = get(&st, "/api/v1").await?;
        let names: Vec<&str> = core.body["resources"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["name"].as_str()).collect())
            .unwrap_or_default();
        for n in [
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "podtemplates",
            "limitranges",
            "resourcequotas/status",
            "pods/log",
            "pods/exec",
            "pods/ephemeralcontainers",
            "serviceaccounts/token",
        ] {
            assert!(names.contains(&n), "{n} missing from /api/v1");
        }
        let rc = core.body["resources"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["name"] == "replicationcontrollers"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(rc["shortNames"], json!(["rc"]));
        assert_eq!(rc["categories"], json!(["all"]));
        for (gv, plural) in [
            ("batch/v1", "jobs"),
            ("batch/v1", "cronjobs"),
            ("policy/v1", "poddisruptionbudgets"),
            ("autoscaling/v2", "horizontalpodautoscalers"),
            ("autoscaling/v1", "horizontalpodautoscalers"),
            ("rbac.authorization.k8s.io/v1", "clusterroles"),
            ("scheduling.k8s.io/v1", "priorityclasses"),
            ("node.k8s.io/v1", "runtimeclasses"),
            ("networking.k8s.io/v1", "networkpolicies"),
            (
                "certificates.k8s.io/v1",
                "certificatesigningrequests/approval",
            ),
            (
                "admissionregistration.k8s.io/v1",
                "validatingadmissionpolicies",
            ),
            ("authorization.k8s.io/v1", "selfsubjectaccessreviews"),
            ("authentication.k8s.io/v1", "selfsubjectreviews"),
            ("apps/v1", "controllerrevisions"),
        ] {
            let r = get(&st, &format!("/apis/{gv}")).await?;
            let found = r.body["resources"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["name"] == plural));
            assert!(found, "{gv} {plural}");
        }
        let g = get(&st, "/apis/autoscaling").await?;
        assert_eq!(g.body["preferredVersion"]["version"], "v2");
        Ok(())
    }

    #[tokio::test]
    async fn bootstrap_roles_and_priority_classes() -> anyhow::Result<()> {
        let st = state();
        for name in ["cluster-admin", "admin", "edit", "view", "system:discovery"] {
            let r = get(
                &st,
                &format!("/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"),
            )
            .await?;
            assert_eq!(r.status, StatusCode::OK, "{name}");
        }
        // admin aggregates edit, which aggregates view
        let admin = get(&st, "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin").await?;
        let rules = admin.body["rules"].as_array().cloned().unwrap_or_default();
        let grants = |res: &str, verb: &str| {
            rules.iter().any(|r| {
                r["resources"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == res))
                    && r["verbs"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == verb))
            })
        };
        assert!(
            grants("roles", "create")
                && grants("deployments", "update")
                && grants("pods/log", "get")
        );
        // a chart's role labelled aggregate-to-view reaches view, edit and admin
        let r = post(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            json!({"metadata": {"name": "widgets-view", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
                   "rules": [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get", "list", "watch"]}]}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        for role in ["view", "edit", "admin"] {
            let r = get(
                &st,
                &format!("/apis/rbac.authorization.k8s.io/v1/clusterroles/{role}"),
            )
            .await?;
            let has = r.body["rules"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["resources"] == json!(["widgets"])));
            assert!(has, "{role} did not aggregate widgets-view");
        }
        let b = get(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/cluster-admin",
        )
        .await?;
        assert_eq!(b.body["subjects"][0]["name"], "system:masters");
        let pc = get(
            &st,
            "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical",
        )
        .await?;
        assert_eq!(pc.body["value"], 2_000_001_000);
        // a user class may not take the system prefix nor exceed one billion
        let r = post(
            &st,
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            json!({"metadata": {"name": "huge"}, "value": 2_000_000_000i64}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = post(
            &st,
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            json!({"metadata": {"name": "high"}, "value": 1000}),
        )
        .await?;
        assert_eq!(r.body["preemptionPolicy"], "PreemptLowerPriority");
        let t = table(&st, "/apis/scheduling.k8s.io/v1/priorityclasses").await?;
        assert_eq!(
            column_names(&t.body),
            ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"]
        );
        Ok(())
    }

    #[tokio::test]
    async fn jobs_get_defaults_a_generated_selector_and_columns() -> anyhow::Result<()> {
        let st = state();
        let r = post(
            &st,
            "/apis/batch/v1/namespaces/default/jobs",
            json!({"metadata": {"name": "pi"}, "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "pi", "image": "perl:5.34"}]}}}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let uid = r.body["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let spec = &r.body["spec"];
        assert_eq!(
            (
                spec["completions"].as_i64(),
                spec["parallelism"].as_i64(),
                spec["backoffLimit"].as_i64(),
                spec["completionMode"].as_str(),
                spec["podReplacementPolicy"].as_str(),
            ),
            (
                Some(1),
                Some(1),
                Some(6),
                Some("NonIndexed"),
                Some("TerminatingOrFailed")
            )
        );
        assert_eq!(
            spec["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
            json!(uid)
        );
        assert_eq!(spec["template"]["metadata"]["labels"]["job-name"], "pi");
        let r = post(
            &st,
            "/apis/batch/v1/namespaces/default/jobs",
            json!({"metadata": {"name": "bad"}, "spec": {"template": {"spec": {
                "containers": [{"name": "c", "image": "busybox"}]}}}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body["message"].as_str().unwrap_or("").contains(
            "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
        ));
        let t = table(&st, "/apis/batch/v1/namespaces/default/jobs").await?;
        assert_eq!(
            column_names(&t.body),
            [
                "Name",
                "Status",
                "Completions",
                "Duration",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
        assert_eq!(t.body["rows"][0]["cells"][1], "Running");
        assert_eq!(t.body["rows"][0]["cells"][2], "0/1");
        let r = post(
            &st,
            "/apis/batch/v1/namespaces/default/cronjobs",
            json!({"metadata": {"name": "tick"}, "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                "containers": [{"name": "c", "image": "busybox"}]}}}}}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(r.body["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(r.body["spec"]["successfulJobsHistoryLimit"], 3);
        let t = table(&st, "/apis/batch/v1/namespaces/default/cronjobs").await?;
        assert_eq!(
            t.body["rows"][0]["cells"],
            json!([
                "tick",
                "*/5 * * * *",
                "<none>",
                "False",
                0,
                "<none>",
                "0s",
                "c",
                "busybox",
                "<none>"
            ])
        );
        Ok(())
    }

    #[tokio::test]
    async fn replication_controllers_default_scale_and_print() -> anyhow::Result<()> {
        let st = state();
        let r = post(
            &st,
            "/api/v1/namespaces/default/replicationcontrollers",
            json!({"metadata": {"name": "rc1"}, "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(r.body["spec"]["selector"], json!({"app": "x"}));
        assert_eq!(r.body["metadata"]["labels"], json!({"app": "x"}));
        let s = get(
            &st,
            "/api/v1/namespaces/default/replicationcontrollers/rc1/scale",
        )
        .await?;
        assert_eq!(s.body["status"]["selector"], "app=x");
        assert_eq!(s.body["spec"]["replicas"], 2);
        let t = table(&st, "/api/v1/namespaces/default/replicationcontrollers").await?;
        assert_eq!(
            column_names(&t.body),
            [
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
        assert_eq!(t.body["rows"][0]["cells"][1], 2);
        Ok(())
    }

    #[tokio::test]
    async fn hpa_is_served_as_v1_and_v2_from_one_store() -> anyhow::Result<()> {
        let st = state();
        let r = post(
            &st,
            "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers",
            json!({"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "maxReplicas": 5, "targetCPUUtilizationPercentage": 60}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(r.body["apiVersion"], "autoscaling/v1");
        assert_eq!(r.body["spec"]["targetCPUUtilizationPercentage"], 60);
        assert_eq!(r.body["spec"]["minReplicas"], 1);
        let v2 = get(
            &st,
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web",
        )
        .await?;
        assert_eq!(
            v2.body["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            60
        );
        let t = table(
            &st,
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
        )
        .await?;
        assert_eq!(
            t.body["rows"][0]["cells"],
            json!([
                "web",
                "Deployment/web",
                "cpu: <unknown>/60%",
                "1",
                5,
                0,
                "0s"
            ])
        );
        Ok(())
    }

    #[tokio::test]
    async fn rbac_objects_print_and_validate() -> anyhow::Result<()> {
        let st = state();
        let r = post(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            json!({"metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let r = post(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            json!({"metadata": {"name": "read-pods"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                   "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}, {"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let t = table(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
        )
        .await?;
        assert_eq!(
            t.body["rows"][0]["cells"],
            json!(["read-pods", "Role/reader", "0s", "jane", "", "default/bot"])
        );
        let r = post(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            json!({"metadata": {"name": "bad"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        Ok(())
    }

    #[tokio::test]
    async fn csr_approval_and_stored_only_kinds() -> anyhow::Result<()> {
        let st = state();
        let r = post(
            &st,
            "/apis/certificates.k8s.io/v1/certificatesigningrequests",
            json!({"metadata": {"name": "c1"}, "spec": {"request": "LS0t", "signerName": "kubernetes.io/kube-apiserver-client",
                   "usages": ["client auth"], "username": "jane"}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        // The requester is the request's user (`PrepareForCreate`), whatever the body says.
        assert_eq!(r.body["spec"]["username"], "kubernetes-admin");
        assert_eq!(
            r.body["spec"]["groups"],
            json!(["system:masters", "system:authenticated"])
        );
        let mut csr = r.body;
        csr["status"] = json!({"conditions": [{"type": "Approved", "status": "True", "reason": "KubectlApprove", "message": "ok"}]});
        csr["spec"]["username"] = json!("mallory");
        let r = put(
            &st,
            "/apis/certificates.k8s.io/v1/certificatesigningrequests/c1/approval",
            csr,
        )
        .await?;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["status"]["conditions"][0]["type"], "Approved");
        assert_eq!(r.body["spec"]["username"], "kubernetes-admin");
        let t = table(
            &st,
            "/apis/certificates.k8s.io/v1/certificatesigningrequests",
        )
        .await?;
        assert_eq!(t.body["rows"][0]["cells"][5], "Approved");
        for (uri, body) in [
            (
                "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
                json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}}),
            ),
            (
                "/apis/node.k8s.io/v1/runtimeclasses",
                json!({"metadata": {"name": "gvisor"}, "handler": "runsc"}),
            ),
            (
                "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
                json!({"metadata": {"name": "hook"}, "webhooks": [{"name": "v.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                    "clientConfig": {"service": {"namespace": "default", "name": "svc"}}}]}),
            ),
            (
                "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
                json!({"metadata": {"name": "pol"}, "spec": {"validations": [{"expression": "true"}]}}),
            ),
            (
                "/api/v1/namespaces/default/limitranges",
                json!({"metadata": {"name": "lr"}, "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}}),
            ),
            (
                "/api/v1/namespaces/default/podtemplates",
                json!({"metadata": {"name": "pt"}, "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}),
            ),
            (
                "/apis/apps/v1/namespaces/default/controllerrevisions",
                json!({"metadata": {"name": "cr"}, "revision": 3}),
            ),
        ] {
            let r = post(&st, uri, body).await?;
            assert_eq!(r.status, StatusCode::CREATED, "{uri}: {:?}", r.body);
        }
        let np = get(
            &st,
            "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/deny",
        )
        .await?;
        assert_eq!(np.body["spec"]["policyTypes"], json!(["Ingress"]));
        let hook = get(
            &st,
            "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/hook",
        )
        .await?;
        assert_eq!(hook.body["webhooks"][0]["failurePolicy"], "Fail");
        assert_eq!(hook.body["webhooks"][0]["timeoutSeconds"], 10);
        let lr = get(&st, "/api/v1/namespaces/default/limitranges/lr").await?;
        assert_eq!(lr.body["spec"]["limits"][0]["defaultRequest"]["cpu"], "1");
        let cr = table(&st, "/apis/apps/v1/namespaces/default/controllerrevisions").await?;
        assert_eq!(
            cr.body["rows"][0]["cells"],
            json!(["cr", "<none>", 3, "0s"])
        );
        Ok(())
    }
}

mod quota {
    use super::*;

    #[tokio::test]
    async fn usage_is_computed_and_over_quota_pods_are_refused() -> anyhow::Result<()> {
        let st = state();
        let r = post(
            &st,
            "/api/v1/namespaces/default/resourcequotas",
            json!({"metadata": {"name": "compute"}, "spec": {"hard": {"pods": "2", "requests.cpu": "1", "requests.memory": "1Gi", "configmaps": "10"}}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        for n in ["a", "b"] {
            running_pod(&st, "default", ready_pod(n, json!({"app": "q"}), true)).await?;
        }
        let q = get(&st, "/api/v1/namespaces/default/resourcequotas/compute").await?;
        assert_eq!(q.body["status"]["hard"]["pods"], "2");
        assert_eq!(
            q.body["status"]["used"],
            json!({"pods": "2", "requests.cpu": "500m", "requests.memory": "128Mi", "configmaps": "0"})
        );
        let r = post(
            &st,
            "/api/v1/namespaces/default/pods",
            ready_pod("c", json!({}), false),
        )
        .await?;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            r.body["message"],
            "pods \"c\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2"
        );
        assert_eq!(r.body["details"]["kind"], "pods");
        // a pod without requests cannot be admitted against a cpu quota
        let r = post(
            &st,
            "/api/v1/namespaces/default/pods",
            json!({"metadata": {"name": "d"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            r.body["message"],
            "pods \"d\" is forbidden: failed quota: compute: must specify requests.cpu,requests.memory"
        );
        let t = table(&st, "/api/v1/namespaces/default/resourcequotas").await?;
        assert_eq!(
            t.body["rows"][0]["cells"],
            json!([
                "compute",
                "configmaps: 0/10, pods: 2/2, requests.cpu: 500m/1, requests.memory: 128Mi/1Gi",
                "",
                "0s"
            ])
        );
        // freeing a pod frees the quota
        send(
            &st,
            Method::DELETE,
            "/api/v1/namespaces/default/pods/a?gracePeriodSeconds=0",
            "",
            "application/json",
            None,
        )
        .await?;
        let q = get(&st, "/api/v1/namespaces/default/resourcequotas/compute").await?;
        assert_eq!(q.body["status"]["used"]["pods"], "1");
        Ok(())
    }
}

mod disruption {
    use super::*;

    async fn evict(st: &KubeState, pod: &str) -> anyhow::Result<Resp> {
        post(
            st,
            &format!("/api/v1/namespaces/default/pods/{pod}/eviction"),
            json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": "default"}}),
        )
        .await
    }

    #[tokio::test]
    async fn budget_status_and_evictions() -> anyhow::Result<()> {
        let st = state();
        for (n, ready) in [("w1", true), ("w2", true), ("w3", false)] {
            running_pod(&st, "default", ready_pod(n, json!({"app": "web"}), ready)).await?;
        }
        let r = post(
            &st,
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
            json!({"metadata": {"name": "web"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let p = get(
            &st,
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web",
        )
        .await?;
        let s = &p.body["status"];
        assert_eq!(
            (
                s["currentHealthy"].as_i64(),
                s["desiredHealthy"].as_i64(),
                s["expectedPods"].as_i64(),
                s["disruptionsAllowed"].as_i64()
            ),
            (Some(2), Some(1), Some(3), Some(1))
        );
        assert_eq!(s["conditions"][0]["reason"], "SufficientPods");
        assert_eq!(s["observedGeneration"], 1);
        // the not-ready pod may go while the budget holds
        assert_eq!(evict(&st, "w3").await?.status, StatusCode::CREATED);
        // one healthy pod may go, the next one may not
        assert_eq!(evict(&st, "w1").await?.status, StatusCode::CREATED);
        let r = evict(&st, "w2").await?;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.body["reason"], "TooManyRequests");
        assert_eq!(
            r.body["message"],
            "Cannot evict pod as it would violate the pod's disruption budget."
        );
        assert_eq!(
            r.body["details"]["causes"][0],
            json!({"reason": "DisruptionBudget", "message": "The disruption budget web needs 1 healthy pods and has 1 currently"})
        );
        let t = table(
            &st,
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
        )
        .await?;
        assert_eq!(
            t.body["rows"][0]["cells"],
            json!(["web", "1", "N/A", 0, "0s"])
        );
        Ok(())
    }
}

mod access {
    use super::*;

    async fn ssar(st: &KubeState, headers: &[(&str, &str)], attrs: Value) -> anyhow::Result<Value> {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": attrs});
        let resp = app(st.clone())
            .oneshot(req.body(Body::from(serde_json::to_vec(&body)?))?)
            .await?;
        anyhow::ensure!(resp.status() == StatusCode::CREATED, "{}", resp.status());
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok(serde_json::from_slice(&bytes)?)
    }

    async fn with_token(
        st: &KubeState,
        method: Method,
        uri: &str,
        token: &str,
    ) -> anyhow::Result<Resp> {
        let resp = app(st.clone())
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(uri)
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())?,
            )
            .await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok(Resp {
            status,
            content_type: String::new(),
            warnings: Vec::new(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }

    async fn bind_reader(st: &KubeState) -> anyhow::Result<()> {
        post(
            st,
            "/api/v1/namespaces/default/serviceaccounts",
            json!({"metadata": {"name": "bot"}}),
        )
        .await?;
        post(
            st,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            json!({"metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}]}),
        )
        .await?;
        post(
            st,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            json!({"metadata": {"name": "bot-reads"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                   "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]}),
        )
        .await?;
        Ok(())
    }

    #[tokio::test]
    async fn access_reviews_answer_from_rbac() -> anyhow::Result<()> {
        let st = state();
        bind_reader(&st).await?;
        let admin = ssar(
            &st,
            &[],
            json!({"resourceAttributes": {"verb": "delete", "resource": "nodes"}}),
        )
        .await?;
        assert_eq!(admin["status"], json!({"allowed": true}));
        let oncall = [
            ("impersonate-user", "sam"),
            ("impersonate-group", "system:masters"),
        ];
        let r = ssar(
            &st,
            &oncall,
            json!({"resourceAttributes": {"verb": "delete", "resource": "nodes"}}),
        )
        .await?;
        assert_eq!(r["status"], json!({"allowed": true}));
        let r = post(
            &st,
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json!({"spec": {"user": "sam", "groups": ["ops"], "resourceAttributes": {"verb": "delete", "resource": "nodes"}}}),
        )
        .await?;
        assert_eq!(r.body["status"], json!({"allowed": false}));
        post(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            json!({"metadata": {"name": "ops-admin"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ops"}]}),
        )
        .await?;
        let r = post(
            &st,
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json!({"spec": {"user": "sam", "groups": ["ops"], "resourceAttributes": {"verb": "delete", "resource": "nodes"}}}),
        )
        .await?;
        assert_eq!(
            r.body["status"]["reason"],
            "RBAC: allowed by ClusterRoleBinding \"ops-admin\" of ClusterRole \"cluster-admin\" to Group \"ops\""
        );
        let bot = [("impersonate-user", "system:serviceaccount:default:bot")];
        let r = ssar(&st, &bot, json!({"resourceAttributes": {"namespace": "default", "verb": "list", "resource": "pods"}})).await?;
        assert_eq!(r["status"]["allowed"], true);
        assert_eq!(
            r["status"]["reason"],
            "RBAC: allowed by RoleBinding \"bot-reads/default\" of Role \"reader\" to ServiceAccount \"default/bot\""
        );
        let r = ssar(&st, &bot, json!({"resourceAttributes": {"namespace": "default", "verb": "get", "resource": "pods", "subresource": "log"}})).await?;
        assert_eq!(r["status"]["allowed"], true);
        let r = ssar(&st, &bot, json!({"resourceAttributes": {"namespace": "other", "verb": "list", "resource": "pods"}})).await?;
        assert_eq!(r["status"]["allowed"], false);
        let r = ssar(
            &st,
            &bot,
            json!({"nonResourceAttributes": {"verb": "get", "path": "/healthz"}}),
        )
        .await?;
        assert_eq!(r["status"]["allowed"], true);
        // SubjectAccessReview names the subject
        let r = post(
            &st,
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json!({"spec": {"user": "jane", "groups": ["system:authenticated"], "resourceAttributes": {"verb": "create", "group": "authorization.k8s.io", "resource": "selfsubjectaccessreviews"}}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.body["status"]["allowed"], true);
        // rules review and whoami
        let r = post(
            &st,
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            json!({"spec": {"namespace": "default"}}),
        )
        .await?;
        assert_eq!(r.body["status"]["incomplete"], false);
        assert!(r.body["status"]["resourceRules"]
            .as_array()
            .is_some_and(|a| !a.is_empty()));
        let r = post(
            &st,
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json!({}),
        )
        .await?;
        assert_eq!(r.body["status"]["userInfo"]["username"], "kubernetes-admin");
        // reviews are create-only
        let r = get(
            &st,
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        )
        .await?;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        Ok(())
    }

    #[tokio::test]
    async fn service_account_tokens_are_authorized_by_rbac() -> anyhow::Result<()> {
        let st = state();
        bind_reader(&st).await?;
        let r = post(
            &st,
            "/api/v1/namespaces/default/serviceaccounts/bot/token",
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(r.body["spec"]["expirationSeconds"], 3600);
        assert_eq!(
            r.body["status"]["expirationTimestamp"],
            "2026-01-01T01:00:00Z"
        );
        let token = r.body["status"]["token"].as_str().unwrap_or("").to_string();
        assert_eq!(token.split('.').count(), 3);
        let r = with_token(&st, Method::GET, "/api/v1/namespaces/default/pods", &token).await?;
        assert_eq!(r.status, StatusCode::OK);
        let r = with_token(
            &st,
            Method::DELETE,
            "/api/v1/namespaces/default/pods/x",
            &token,
        )
        .await?;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            r.body["message"],
            "pods \"x\" is forbidden: User \"system:serviceaccount:default:bot\" cannot delete resource \"pods\" in API group \"\" in the namespace \"default\""
        );
        let r = with_token(
            &st,
            Method::GET,
            "/apis/apps/v1/namespaces/default/deployments",
            &token,
        )
        .await?;
        assert_eq!(
            r.body["message"],
            "deployments.apps is forbidden: User \"system:serviceaccount:default:bot\" cannot list resource \"deployments\" in API group \"apps\" in the namespace \"default\""
        );
        // TokenReview recognises it
        let r = post(
            &st,
            "/apis/authentication.k8s.io/v1/tokenreviews",
            json!({"spec": {"token": token}}),
        )
        .await?;
        assert_eq!(r.body["status"]["authenticated"], true);
        assert_eq!(
            r.body["status"]["user"]["username"],
            "system:serviceaccount:default:bot"
        );
        // expired tokens no longer authenticate (and fall back to the kubeconfig's rules)
        st.clock().advance(std::time::Duration::from_secs(3601));
        let r = post(
            &st,
            "/apis/authentication.k8s.io/v1/tokenreviews",
            json!({"spec": {"token": token}}),
        )
        .await?;
        assert_eq!(r.body["status"]["authenticated"], Value::Null);
        // a missing account is a 404
        let r = post(
            &st,
            "/api/v1/namespaces/default/serviceaccounts/ghost/token",
            json!({"spec": {}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        Ok(())
    }

    #[tokio::test]
    async fn tokens_die_with_their_account_and_bound_object() -> anyhow::Result<()> {
        // `claims.go`: a bound token stops authenticating when its ServiceAccount or the object
        // it is bound to is deleted; the TokenRequest checks the bound object first.
        let st = state();
        bind_reader(&st).await?;
        let token_for = |body: Value| {
            let st = st.clone();
            async move {
                let r = post(
                    &st,
                    "/api/v1/namespaces/default/serviceaccounts/bot/token",
                    body,
                )
                .await?;
                anyhow::Ok(r)
            }
        };
        let pods = "/api/v1/namespaces/default/pods";
        // Bound to a pod that does not exist: 404; to a kind that cannot hold a token: 400.
        let r = token_for(
            json!({"spec": {"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web"}}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
        assert_eq!(r.body["message"], "pods \"web\" not found");
        let r = token_for(json!({"spec": {"boundObjectRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}})).await?;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            r.body["message"],
            "cannot bind token for serviceaccount \"bot\" to object of type apps/v1, Kind=Deployment"
        );
        let pod = post(&st, pods, json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})).await?;
        let uid = pod.body["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let r = token_for(json!({"spec": {"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "other"}}})).await?;
        assert_eq!(r.status, StatusCode::CONFLICT);
        let r = token_for(json!({"spec": {"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": uid}}})).await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let bound = r.body["status"]["token"].as_str().unwrap_or("").to_string();
        let plain = token_for(json!({"spec": {}})).await?.body["status"]["token"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert_eq!(
            with_token(&st, Method::GET, pods, &bound).await?.status,
            StatusCode::OK
        );

        // The pod deleted (at once: it is not bound to a node): the bound token is refused.
        send(
            &st,
            Method::DELETE,
            &format!("{pods}/web"),
            "",
            "application/json",
            None,
        )
        .await?;
        assert_eq!(
            with_token(&st, Method::GET, pods, &bound).await?.status,
            StatusCode::UNAUTHORIZED
        );
        let r = post(
            &st,
            "/apis/authentication.k8s.io/v1/tokenreviews",
            json!({"spec": {"token": bound}}),
        )
        .await?;
        assert_eq!(
            r.body["status"]["error"],
            "[invalid bearer token, service account token has been invalidated]"
        );
        assert_eq!(
            with_token(&st, Method::GET, pods, &plain).await?.status,
            StatusCode::OK
        );

        // The account deleted and created again (another uid): the old token is refused.
        send(
            &st,
            Method::DELETE,
            "/api/v1/namespaces/default/serviceaccounts/bot",
            "",
            "application/json",
            None,
        )
        .await?;
        assert_eq!(
            with_token(&st, Method::GET, pods, &plain).await?.status,
            StatusCode::UNAUTHORIZED
        );
        post(
            &st,
            "/api/v1/namespaces/default/serviceaccounts",
            json!({"metadata": {"name": "bot"}}),
        )
        .await?;
        assert_eq!(
            with_token(&st, Method::GET, pods, &plain).await?.status,
            StatusCode::UNAUTHORIZED
        );
        let r = post(
            &st,
            "/apis/authentication.k8s.io/v1/tokenreviews",
            json!({"spec": {"token": plain}}),
        )
        .await?;
        assert!(
            r.body["status"]["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("[invalid bearer token, service account UID (")),
            "{:?}",
            r.body
        );
        // A fresh token for the new account works.
        let fresh = token_for(json!({"spec": {}})).await?.body["status"]["token"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert_eq!(
            with_token(&st, Method::GET, pods, &fresh).await?.status,
            StatusCode::OK
        );
        Ok(())
    }

    #[tokio::test]
    async fn kube_namespaces_have_the_bootstrap_roles() -> anyhow::Result<()> {
        // `namespace_policy.go`: kube-system's leader-locking and authentication-reader roles
        // (add-on charts bind to `extension-apiserver-authentication-reader`), kube-public's
        // bootstrap-signer role.
        let st = state();
        let sar = |user: &str, ns: &str, verb: &str, resource: &str, name: &str| {
            json!({"spec": {"user": user, "groups": ["system:authenticated"], "resourceAttributes":
                {"namespace": ns, "verb": verb, "resource": resource, "name": name}}})
        };
        let allowed = |body: Value| {
            let st = st.clone();
            async move {
                let r = post(
                    &st,
                    "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                    body,
                )
                .await?;
                anyhow::Ok(r.body["status"]["allowed"] == true)
            }
        };
        assert!(
            allowed(sar(
                "system:kube-scheduler",
                "kube-system",
                "update",
                "configmaps",
                "kube-scheduler"
            ))
            .await?
        );
        assert!(
            !allowed(sar(
                "system:kube-scheduler",
                "kube-system",
                "update",
                "configmaps",
                "other"
            ))
            .await?
        );
        assert!(
            allowed(sar(
                "system:kube-controller-manager",
                "kube-system",
                "get",
                "configmaps",
                "extension-apiserver-authentication"
            ))
            .await?
        );
        assert!(
            allowed(sar(
                "system:serviceaccount:kube-system:bootstrap-signer",
                "kube-public",
                "update",
                "configmaps",
                "cluster-info"
            ))
            .await?
        );
        let r = get(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles",
        )
        .await?;
        let names: Vec<&str> = r.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["metadata"]["name"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "extension-apiserver-authentication-reader",
                "system::leader-locking-kube-controller-manager",
                "system::leader-locking-kube-scheduler",
                "system:controller:bootstrap-signer",
                "system:controller:cloud-provider",
                "system:controller:token-cleaner"
            ]
        );
        Ok(())
    }
}

mod pods {
    use super::*;

    #[tokio::test]
    async fn logs_streams_and_ephemeral_containers() -> anyhow::Result<()> {
        let st = state();
        running_pod(&st, "default", ready_pod("web", json!({}), true)).await?;
        let r = send(
            &st,
            Method::GET,
            "/api/v1/namespaces/default/pods/web/log",
            "",
            "*/*",
            None,
        )
        .await?;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.content_type, "text/plain");
        let text = r.body.as_str().unwrap_or("").to_string();
        assert!(
            text.starts_with("cloudbox: simulated container \"c\" of pod default/web\n"),
            "{text}"
        );
        assert!(text.contains("image nginx:1.25 started at 2026-01-01T00:00:05Z on node node-1"));
        let r = get(&st, "/api/v1/namespaces/default/pods/web/log?tailLines=1").await?;
        assert_eq!(r.body.as_str().map(|t| t.lines().count()), Some(1));
        let r = get(
            &st,
            "/api/v1/namespaces/default/pods/web/log?container=nope",
        )
        .await?;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.body["message"], "container nope is not valid for pod web");
        post(&st, "/api/v1/namespaces/default/pods", json!({"metadata": {"name": "pending"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})).await?;
        let r = get(&st, "/api/v1/namespaces/default/pods/pending/log").await?;
        assert_eq!(
            r.body["message"],
            "pod pending does not have a host assigned"
        );
        for sub in ["exec", "attach", "portforward"] {
            let r = post(
                &st,
                &format!("/api/v1/namespaces/default/pods/web/{sub}"),
                json!({}),
            )
            .await?;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{sub}");
            assert!(r.body["message"]
                .as_str()
                .unwrap_or("")
                .contains("is not simulated by cloudbox"));
        }
        // kubectl debug: a strategic merge patch of pods/ephemeralcontainers
        let r = send(
            &st,
            Method::PATCH,
            "/api/v1/namespaces/default/pods/web/ephemeralcontainers",
            "application/strategic-merge-patch+json",
            "application/json",
            Some(json!({"spec": {"ephemeralContainers": [{"name": "debugger", "image": "busybox", "stdin": true}], "nodeName": "elsewhere"}})),
        )
        .await?;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["spec"]["ephemeralContainers"][0]["name"], "debugger");
        assert_eq!(r.body["spec"]["nodeName"], "node-1");
        Ok(())
    }

    #[tokio::test]
    async fn metrics_count_requests() -> anyhow::Result<()> {
        let st = state();
        get(&st, "/api/v1/namespaces/default/configmaps").await?;
        get(&st, "/api/v1/namespaces/default/configmaps/nope").await?;
        let r = send(&st, Method::GET, "/metrics", "", "text/plain", None).await?;
        assert_eq!(r.status, StatusCode::OK);
        let text = r.body.as_str().unwrap_or("").to_string();
        assert!(text.contains("apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"configmaps\",scope=\"namespace\",subresource=\"\",verb=\"LIST\",version=\"v1\"} 1"), "{text}");
        assert!(text.contains("apiserver_request_total{code=\"404\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"configmaps\",scope=\"resource\",subresource=\"\",verb=\"GET\",version=\"v1\"} 1"));
        assert!(text.contains("apiserver_storage_objects{resource=\"namespaces\"} 4"));
        assert!(text.contains("kubernetes_build_info{"));
        Ok(())
    }
}

mod rbac_prop {
    //! RBAC answers (SubjectAccessReview through the API) match a reference evaluation written
    //! from the RBAC documentation, for random roles, bindings and requests.
    use super::*;
    use proptest::prelude::*;

    const VERBS: &[&str] = &["get", "list", "delete", "*"];
    const GROUPS: &[&str] = &["", "apps", "*"];
    const RESOURCES: &[&str] = &["pods", "deployments", "pods/log", "*"];
    const USERS: &[&str] = &["alice", "bob"];
    const UGROUPS: &[&str] = &["devs", "ops"];
    const NAMESPACES: &[&str] = &["default", "kube-public"];

    #[derive(Debug, Clone)]
    struct Rule {
        verbs: Vec<&'static str>,
        groups: Vec<&'static str>,
        resources: Vec<&'static str>,
    }

    #[derive(Debug, Clone)]
    struct Binding {
        /// `None`: ClusterRoleBinding; `Some(ns)`: RoleBinding in ns.
        ns: Option<&'static str>,
        /// Refers to the ClusterRole (true) or the Role of the same index in ns (false).
        cluster_role: bool,
        role: usize,
        /// Subject kind and name.
        subject: (&'static str, &'static str),
    }

    fn pick(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
        proptest::sample::select(list)
    }

    fn rule() -> impl Strategy<Value = Rule> {
        (
            proptest::collection::vec(pick(VERBS), 1..3),
            proptest::collection::vec(pick(GROUPS), 1..2),
            proptest::collection::vec(pick(RESOURCES), 1..3),
        )
            .prop_map(|(verbs, groups, resources)| Rule {
                verbs,
                groups,
                resources,
            })
    }

    fn binding() -> impl Strategy<Value = Binding> {
        (
            proptest::option::of(pick(NAMESPACES)),
            any::<bool>(),
            0usize..3,
            prop_oneof![
                pick(USERS).prop_map(|u| ("User", u)),
                pick(UGROUPS).prop_map(|g| ("Group", g)),
            ],
        )
            .prop_map(|(ns, cluster_role, role, subject)| Binding {
                cluster_role: cluster_role || ns.is_none(),
                ns,
                role,
                subject,
            })
    }

    fn allows(rules: &[Rule], verb: &str, group: &str, resource: &str) -> bool {
        rules.iter().any(|r| {
            r.verbs.iter().any(|v| *v == "*" || *v == verb)
                && r.groups.iter().any(|g| *g == "*" || *g == group)
                && r.resources.iter().any(|x| *x == "*" || *x == resource)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn reference(
        roles: &[Vec<Rule>],
        bindings: &[Binding],
        user: &str,
        groups: &[&str],
        ns: &str,
        verb: &str,
        group: &str,
        resource: &str,
    ) -> bool {
        bindings.iter().any(|b| {
            let subject_ok = match b.subject {
                ("User", n) => n == user,
                (_, g) => groups.contains(&g),
            };
            let scope_ok = b.ns.is_none_or(|bns| bns == ns);
            // Roles exist only in "default" (namespaced role `role-i`); cluster roles everywhere.
            let role_exists = b.cluster_role || b.ns == Some("default");
            subject_ok && scope_ok && role_exists && allows(&roles[b.role], verb, group, resource)
        })
    }

    async fn run(
        roles: Vec<Vec<Rule>>,
        bindings: Vec<Binding>,
        requests: Vec<(usize, usize, usize, usize, usize, usize)>,
    ) -> anyhow::Result<()> {
        let st = state();
        let rules_json = |rs: &[Rule]| {
            json!(rs
                .iter()
                .map(|r| json!({"verbs": r.verbs, "apiGroups": r.groups, "resources": r.resources}))
                .collect::<Vec<_>>())
        };
        for (i, rs) in roles.iter().enumerate() {
            let r = post(
                &st,
                "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                json!({"metadata": {"name": format!("prop-{i}")}, "rules": rules_json(rs)}),
            )
            .await?;
            anyhow::ensure!(r.status == StatusCode::CREATED, "{:?}", r.body);
            let r = post(
                &st,
                "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
                json!({"metadata": {"name": format!("prop-{i}")}, "rules": rules_json(rs)}),
            )
            .await?;
            anyhow::ensure!(r.status == StatusCode::CREATED, "{:?}", r.body);
        }
        for (i, b) in bindings.iter().enumerate() {
            let kind = if b.cluster_role {
                "ClusterRole"
            } else {
                "Role"
            };
            let body = json!({"metadata": {"name": format!("b-{i}")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": format!("prop-{}", b.role)},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": b.subject.0, "name": b.subject.1}]});
            let uri = match b.ns {
                None => "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings".to_string(),
                Some(ns) => {
                    format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings")
                }
            };
            let r = post(&st, &uri, body).await?;
            anyhow::ensure!(r.status == StatusCode::CREATED, "{:?}", r.body);
        }
        for (u, g, n, v, gr, res) in requests {
            let user = USERS[u % USERS.len()];
            let groups = [UGROUPS[g % UGROUPS.len()]];
            let ns = NAMESPACES[n % NAMESPACES.len()];
            let verb = VERBS[v % (VERBS.len() - 1)];
            let group = GROUPS[gr % (GROUPS.len() - 1)];
            let resource = RESOURCES[res % (RESOURCES.len() - 1)];
            let (resource_name, sub) = resource.split_once('/').unwrap_or((resource, ""));
            let r = post(
                &st,
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                json!({"spec": {"user": user, "groups": groups, "resourceAttributes": {
                    "namespace": ns, "verb": verb, "group": group, "resource": resource_name, "subresource": sub}}}),
            )
            .await?;
            let got = r.body["status"]["allowed"].as_bool().unwrap_or(false);
            let want = reference(&roles, &bindings, user, &groups, ns, verb, group, resource);
            anyhow::ensure!(
                got == want,
                "{user} {groups:?} {verb} {group}/{resource} in {ns}: got {got}, want {want}"
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn rbac_matches_the_reference(
            roles in proptest::collection::vec(proptest::collection::vec(rule(), 1..3), 3),
            bindings in proptest::collection::vec(binding(), 0..5),
            requests in proptest::collection::vec((0usize..2, 0usize..2, 0usize..2, 0usize..3, 0usize..2, 0usize..3), 1..12),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
            let result = rt.map_err(anyhow::Error::from).and_then(|rt| rt.block_on(run(roles, bindings, requests)));
            prop_assert!(result.is_ok(), "{:?}", result.err());
        }
    }
}

mod limit_ranges {
    use super::*;

    #[tokio::test]
    async fn pods_get_defaults_and_are_held_to_min_and_max() -> anyhow::Result<()> {
        let st = state();
        let r = post(
            &st,
            "/api/v1/namespaces/default/limitranges",
            json!({"metadata": {"name": "lr"}, "spec": {"limits": [{"type": "Container",
                "max": {"cpu": "1"}, "default": {"cpu": "500m", "memory": "256Mi"}, "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let r = post(
            &st,
            "/api/v1/namespaces/default/pods",
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(
            r.body["spec"]["containers"][0]["resources"],
            json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}})
        );
        assert_eq!(
            r.body["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
            "LimitRanger plugin set: cpu, memory request for container nginx; cpu, memory limit for container nginx"
        );
        let r = post(
            &st,
            "/api/v1/namespaces/default/pods",
            json!({"metadata": {"name": "big"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25",
                "resources": {"limits": {"cpu": "2"}}}]}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            r.body["message"],
            "pods \"big\" is forbidden: maximum cpu usage per Container is 1, but limit is 2"
        );
        Ok(())
    }
}

mod priority {
    use super::*;

    #[tokio::test]
    async fn pods_take_their_priority_class() -> anyhow::Result<()> {
        let st = state();
        let r = post(
            &st,
            "/api/v1/namespaces/kube-system/pods",
            json!({"metadata": {"name": "dns"}, "spec": {"priorityClassName": "system-cluster-critical",
                   "containers": [{"name": "c", "image": "coredns:1.11"}]}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(r.body["spec"]["priority"], 2_000_000_000);
        let r = post(
            &st,
            "/api/v1/namespaces/default/pods",
            json!({"metadata": {"name": "x"}, "spec": {"priorityClassName": "nope",
                   "containers": [{"name": "c", "image": "busybox"}]}}),
        )
        .await?;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            r.body["message"],
            "pods \"x\" is forbidden: no PriorityClass with name nope was found"
        );
        post(
            &st,
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            json!({"metadata": {"name": "normal"}, "value": 100, "globalDefault": true, "preemptionPolicy": "Never"}),
        )
        .await?;
        let r = post(
            &st,
            "/api/v1/namespaces/default/pods",
            json!({"metadata": {"name": "y"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
        )
        .await?;
        assert_eq!(
            (
                r.body["spec"]["priorityClassName"].as_str(),
                r.body["spec"]["priority"].as_i64(),
                r.body["spec"]["preemptionPolicy"].as_str()
            ),
            (Some("normal"), Some(100), Some("Never"))
        );
        Ok(())
    }
}

/// The upstream defaulters in full (§4): what `kubectl get -o yaml` shows on a real 1.32 cluster
/// for fields the manifest left out.
mod defaulters {
    use super::*;

    #[tokio::test]
    async fn pod_volumes_probes_handlers_and_requests() -> anyhow::Result<()> {
        let st = state();
        let pod = json!({"metadata": {"name": "full"}, "spec": {
            "hostNetwork": true,
            "containers": [{
                "name": "app", "image": "nginx:1.25",
                "ports": [{"containerPort": 8080}],
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
                "livenessProbe": {"httpGet": {"port": 8080}},
                "readinessProbe": {"grpc": {"port": 9090}, "periodSeconds": 5},
                "startupProbe": {"tcpSocket": {"port": 8080}},
                "lifecycle": {"preStop": {"httpGet": {"port": 8080, "path": ""}}},
                "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
            }],
            "initContainers": [{"name": "init", "image": "busybox", "resources": {"limits": {"memory": "64Mi"}}}],
            "volumes": [
                {"name": "scratch"},
                {"name": "cfg", "configMap": {"name": "c"}},
                {"name": "sec", "secret": {"secretName": "s"}},
                {"name": "host", "hostPath": {"path": "/var/log"}},
                {"name": "info", "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}},
                {"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
                {"name": "eph", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}}
            ]
        }});
        let r = post(&st, "/api/v1/namespaces/default/pods", pod).await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let c = &r.body["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(
            c["ports"][0],
            json!({"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"})
        );
        // requests default to limits, keeping what was requested
        assert_eq!(
            c["resources"]["requests"],
            json!({"cpu": "100m", "memory": "128Mi"})
        );
        assert_eq!(
            c["livenessProbe"],
            json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                   "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(c["readinessProbe"]["periodSeconds"], 5);
        assert_eq!(
            c["readinessProbe"]["grpc"],
            json!({"port": 9090, "service": ""})
        );
        assert_eq!(c["startupProbe"]["failureThreshold"], 3);
        assert_eq!(c["lifecycle"]["preStop"]["httpGet"]["path"], "/");
        assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
        let init = &r.body["spec"]["initContainers"][0];
        assert_eq!(init["imagePullPolicy"], "Always");
        assert_eq!(init["resources"]["requests"], json!({"memory": "64Mi"}));
        let v = &r.body["spec"]["volumes"];
        assert_eq!(v[0], json!({"name": "scratch", "emptyDir": {}}));
        assert_eq!(v[1]["configMap"]["defaultMode"], 420);
        assert_eq!(v[2]["secret"]["defaultMode"], 420);
        assert_eq!(v[3]["hostPath"]["type"], "");
        assert_eq!(v[4]["downwardAPI"]["defaultMode"], 420);
        assert_eq!(
            v[4]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"],
            "v1"
        );
        assert_eq!(v[5]["projected"]["defaultMode"], 420);
        assert_eq!(
            v[5]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3600
        );
        assert_eq!(
            v[6]["ephemeral"]["volumeClaimTemplate"]["spec"]["volumeMode"],
            "Filesystem"
        );
        Ok(())
    }

    #[tokio::test]
    async fn templates_get_container_defaults_but_not_pod_only_ones() -> anyhow::Result<()> {
        let st = state();
        let d = json!({"metadata": {"name": "web"}, "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "containers": [{"name": "c", "image": "nginx", "resources": {"limits": {"cpu": "1"}},
                                "readinessProbe": {"httpGet": {"port": 80}}}],
                "volumes": [{"name": "v"}]}}}});
        let r = post(&st, "/apis/apps/v1/namespaces/default/deployments", d).await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let ps = &r.body["spec"]["template"]["spec"];
        assert_eq!(ps["containers"][0]["readinessProbe"]["timeoutSeconds"], 1);
        assert_eq!(
            ps["containers"][0]["readinessProbe"]["httpGet"]["scheme"],
            "HTTP"
        );
        assert_eq!(ps["volumes"][0]["emptyDir"], json!({}));
        // SetDefaults_Pod is for Pods only: no requests from limits, no enableServiceLinks
        assert!(ps["containers"][0]["resources"].get("requests").is_none());
        assert!(ps.get("enableServiceLinks").is_none());
        let sts = json!({"metadata": {"name": "db"}, "spec": {
            "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "pg:16"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}});
        let r = post(&st, "/apis/apps/v1/namespaces/default/statefulsets", sts).await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let t = &r.body["spec"]["volumeClaimTemplates"][0];
        assert_eq!(t["spec"]["volumeMode"], "Filesystem");
        assert_eq!(t["status"]["phase"], "Pending");
        Ok(())
    }

    #[tokio::test]
    async fn services_endpoints_bindings_and_csidrivers() -> anyhow::Result<()> {
        let st = state();
        let svc = json!({"metadata": {"name": "sticky"}, "spec": {
            "sessionAffinity": "ClientIP", "selector": {"app": "x"},
            "ports": [{"port": 80, "targetPort": 0}]}});
        let r = post(&st, "/api/v1/namespaces/default/services", svc).await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(
            r.body["spec"]["sessionAffinityConfig"],
            json!({"clientIP": {"timeoutSeconds": 10800}})
        );
        assert_eq!(r.body["spec"]["ports"][0]["targetPort"], 80);
        let svc = json!({"metadata": {"name": "plain"}, "spec": {
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}, "ports": [{"port": 80}]}});
        let r = post(&st, "/api/v1/namespaces/default/services", svc).await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert!(
            r.body["spec"].get("sessionAffinityConfig").is_none(),
            "{}",
            r.body
        );
        let ep = json!({"metadata": {"name": "manual"}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]});
        let r = post(&st, "/api/v1/namespaces/default/endpoints", ep).await?;
        assert_eq!(r.body["subsets"][0]["ports"][0]["protocol"], "TCP");
        let rb = json!({"metadata": {"name": "rb"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "name": "default", "namespace": "default"}]});
        let r = post(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            rb,
        )
        .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(
            r.body["subjects"][0]["apiGroup"],
            "rbac.authorization.k8s.io"
        );
        assert!(r.body["subjects"][1]
            .get("apiGroup")
            .is_none_or(|g| g == ""));
        let drv = json!({"metadata": {"name": "ebs.csi.aws.com"}, "spec": {}});
        let r = post(&st, "/apis/storage.k8s.io/v1/csidrivers", drv).await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(
            r.body["spec"],
            json!({"attachRequired": true, "podInfoOnMount": false, "storageCapacity": false,
                   "fsGroupPolicy": "ReadWriteOnceWithFSType", "volumeLifecycleModes": ["Persistent"],
                   "requiresRepublish": false, "seLinuxMount": false})
        );
        let t = table(&st, "/apis/storage.k8s.io/v1/csidrivers").await?;
        assert_eq!(
            column_names(&t.body),
            [
                "Name",
                "AttachRequired",
                "PodInfoOnMount",
                "StorageCapacity",
                "TokenRequests",
                "RequiresRepublish",
                "Modes",
                "Age"
            ]
        );
        assert_eq!(t.body["rows"][0]["cells"][4], "<unset>");
        assert_eq!(t.body["rows"][0]["cells"][6], "Persistent");
        Ok(())
    }
}

/// The bootstrap policy's controller roles: each kube-controller-manager controller's
/// ServiceAccount can do what upstream's `system:controller:<name>` role grants, and no more.
mod controller_roles {
    use super::*;

    async fn allowed(
        st: &KubeState,
        sa: &str,
        verb: &str,
        group: &str,
        resource: &str,
        sub: &str,
    ) -> anyhow::Result<bool> {
        let r = post(
            st,
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json!({"spec": {
                "user": format!("system:serviceaccount:kube-system:{sa}"),
                "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
                "resourceAttributes": {"namespace": "default", "verb": verb, "group": group, "resource": resource, "subresource": sub}}}),
        )
        .await?;
        Ok(r.body["status"]["allowed"] == json!(true))
    }

    #[tokio::test]
    async fn controller_service_accounts_get_upstream_rules() -> anyhow::Result<()> {
        let st = state();
        let r = get(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:controller:deployment-controller",
        )
        .await?;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.body["metadata"]["labels"]["kubernetes.io/bootstrapping"],
            "rbac-defaults"
        );
        let r = get(
            &st,
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:controller:replicaset-controller",
        )
        .await?;
        assert_eq!(
            r.body["subjects"],
            json!([{"kind": "ServiceAccount", "name": "replicaset-controller", "namespace": "kube-system"}])
        );
        for (sa, verb, group, resource, sub, want) in [
            (
                "deployment-controller",
                "update",
                "apps",
                "deployments",
                "status",
                true,
            ),
            (
                "deployment-controller",
                "patch",
                "apps",
                "deployments",
                "status",
                false,
            ),
            (
                "deployment-controller",
                "create",
                "apps",
                "replicasets",
                "",
                true,
            ),
            ("deployment-controller", "create", "", "pods", "", false),
            ("replicaset-controller", "create", "", "pods", "", true),
            ("replicaset-controller", "create", "", "events", "", true),
            (
                "daemon-set-controller",
                "create",
                "",
                "pods",
                "binding",
                true,
            ),
            ("pod-garbage-collector", "patch", "", "pods", "status", true),
            (
                "pod-garbage-collector",
                "update",
                "",
                "pods",
                "status",
                false,
            ),
            ("job-controller", "update", "batch", "jobs", "status", true),
            (
                "ttl-after-finished-controller",
                "delete",
                "batch",
                "jobs",
                "",
                true,
            ),
            (
                "ttl-after-finished-controller",
                "delete",
                "",
                "pods",
                "",
                false,
            ),
            (
                "attachdetach-controller",
                "create",
                "storage.k8s.io",
                "volumeattachments",
                "",
                true,
            ),
            (
                "generic-garbage-collector",
                "delete",
                "example.com",
                "widgets",
                "",
                true,
            ),
            (
                "namespace-controller",
                "deletecollection",
                "apps",
                "deployments",
                "",
                true,
            ),
            (
                "service-account-controller",
                "create",
                "",
                "serviceaccounts",
                "",
                true,
            ),
            (
                "service-account-controller",
                "delete",
                "",
                "serviceaccounts",
                "",
                false,
            ),
        ] {
            assert_eq!(
                allowed(&st, sa, verb, group, resource, sub).await?,
                want,
                "{sa} {verb} {group}/{resource}/{sub}"
            );
        }
        Ok(())
    }
}
