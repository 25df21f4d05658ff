//! Field selectors per kind, as kube-rs lists with them: each kind's labels and their values
//! when unset (upstream formats booleans and counters, so `spec.hostNetwork=false` selects pods
//! without the field), label aliases (`spec.host`), each conversion's error wording, and a
//! CRD's `selectableFields`; plus the per-kind subresource dispatch.

use crate::support::{get, post, send};
use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use http::{Method, StatusCode};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node, Pod, ReplicationController, Service};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use kube::core::GroupVersionKind;
use kube::Client;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

fn in_process() -> (KubeState, Client) {
    let st = KubeState::new(Clock::manual(), 7);
    let client = Client::new(app(st.clone()), "default");
    (st, client)
}

async fn create<K>(api: &Api<K>, v: Value) -> anyhow::Result<K>
where
    K: kube::Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    Ok(api
        .create(&PostParams::default(), &serde_json::from_value(v)?)
        .await?)
}

/// The names a list with `fields` returns, sorted.
async fn names<K>(api: &Api<K>, fields: &str) -> anyhow::Result<Vec<String>>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut v: Vec<String> = api
        .list(&ListParams::default().fields(fields))
        .await?
        .items
        .iter()
        .filter_map(|o| o.meta().name.clone())
        .collect();
    v.sort();
    Ok(v)
}

/// The message of a list refused with 400.
async fn refused<K>(api: &Api<K>, fields: &str) -> String
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    match api.list(&ListParams::default().fields(fields)).await {
        Err(kube::Error::Api(s)) if s.code == 400 => s.message,
        other => format!("not refused: {other:?}"),
    }
}

fn pod(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    spec["containers"] = json!([{"name": "c", "image": "i"}]);
    json!({"metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn pod_labels_alias_and_unset_booleans() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let pods: Api<Pod> = Api::default_namespaced(client);
    create(&pods, pod("plain", json!({"nodeName": "n1"}))).await?;
    create(
        &pods,
        pod("host", json!({"nodeName": "n2", "hostNetwork": true})),
    )
    .await?;
    assert_eq!(names(&pods, "spec.hostNetwork=false").await?, ["plain"]);
    assert_eq!(names(&pods, "spec.hostNetwork=true").await?, ["host"]);
    // v1 clients' spec.host is spec.nodeName
    assert_eq!(names(&pods, "spec.host=n2").await?, ["host"]);
    assert_eq!(
        names(
            &pods,
            "spec.restartPolicy=Always,spec.schedulerName=default-scheduler"
        )
        .await?,
        ["host", "plain"]
    );
    // accepted, never set: matches the empty value only
    assert_eq!(names(&pods, "status.podIPs=").await?, ["host", "plain"]);
    assert_eq!(
        refused(&pods, "spec.bogus=x").await,
        "field label not supported: spec.bogus"
    );
    Ok(())
}

#[tokio::test]
async fn cluster_scoped_kinds_refuse_namespace_labels() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let nodes: Api<Node> = Api::all(client.clone());
    create(&nodes, json!({"metadata": {"name": "n1"}})).await?;
    create(
        &nodes,
        json!({"metadata": {"name": "n2"}, "spec": {"unschedulable": true}}),
    )
    .await?;
    assert_eq!(names(&nodes, "spec.unschedulable=false").await?, ["n1"]);
    assert_eq!(names(&nodes, "spec.unschedulable!=false").await?, ["n2"]);
    assert_eq!(
        refused(&nodes, "metadata.namespace=default").await,
        "field label not supported: metadata.namespace"
    );
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
    assert_eq!(
        names(&namespaces, "metadata.name=default,status.phase=Active").await?,
        ["default"]
    );
    Ok(())
}

#[tokio::test]
async fn service_rc_job_secret_and_default_labels() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let svcs: Api<Service> = Api::default_namespaced(client.clone());
    let port = json!([{"port": 80}]);
    create(
        &svcs,
        json!({"metadata": {"name": "headless"}, "spec": {"clusterIP": "None", "ports": port}}),
    )
    .await?;
    create(
        &svcs,
        json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": port}}),
    )
    .await?;
    // kube-proxy's selector; `kubernetes` is the default namespace's API service
    assert_eq!(
        names(&svcs, "spec.clusterIP!=None").await?,
        ["kubernetes", "lb"]
    );
    assert_eq!(names(&svcs, "spec.type=LoadBalancer").await?, ["lb"]);

    let rcs: Api<ReplicationController> = Api::default_namespaced(client.clone());
    let tmpl = json!({"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    create(
        &rcs,
        json!({"metadata": {"name": "rc"}, "spec": {"replicas": 0, "template": tmpl}}),
    )
    .await?;
    assert_eq!(names(&rcs, "status.replicas=0").await?, ["rc"]);

    let jobs: Api<Job> = Api::default_namespaced(client.clone());
    let jtmpl =
        json!({"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}});
    create(
        &jobs,
        json!({"metadata": {"name": "j"}, "spec": {"template": jtmpl}}),
    )
    .await?;
    assert_eq!(names(&jobs, "status.successful=0").await?, ["j"]);
    assert_eq!(
        refused(&jobs, "status.succeeded=1").await,
        r#"field label "status.succeeded" not supported for batchv1.Job"#
    );

    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::default_namespaced(client.clone());
    create(
        &secrets,
        json!({"metadata": {"name": "s"}, "type": "example.com/x"}),
    )
    .await?;
    assert_eq!(names(&secrets, "type=example.com/x").await?, ["s"]);

    // kinds without a conversion of their own: the default one's wording
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    assert_eq!(
        refused(&cms, "data.k=v").await,
        r#""data.k" is not a known field selector: only "metadata.name", "metadata.namespace""#
    );
    Ok(())
}

#[tokio::test]
async fn event_labels_differ_by_group() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let events: Api<Event> = Api::default_namespaced(client.clone());
    create(&events, json!({"metadata": {"name": "e"}, "reason": "Pulled", "type": "Normal",
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "source": {"component": "kubelet"}})).await?;
    assert_eq!(
        names(&events, "source=kubelet,involvedObject.kind=Pod").await?,
        ["e"]
    );
    assert_eq!(
        refused(&events, "regarding.kind=Pod").await,
        "field label not supported: regarding.kind"
    );
    let gvk = GroupVersionKind::gvk("events.k8s.io", "v1", "Event");
    let new_events: Api<DynamicObject> =
        Api::default_namespaced_with(client, &ApiResource::from_gvk(&gvk));
    assert_eq!(
        names(&new_events, "regarding.kind=Pod,reason=Pulled").await?,
        ["e"]
    );
    assert_eq!(
        refused(&new_events, "source=kubelet").await,
        "field label not supported: source"
    );
    Ok(())
}

#[tokio::test]
async fn certificate_signing_requests_by_signer() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let gvk = GroupVersionKind::gvk("certificates.k8s.io", "v1", "CertificateSigningRequest");
    let csrs: Api<DynamicObject> = Api::all_with(client, &ApiResource::from_gvk(&gvk));
    let csr = |name: &str, signer: &str| -> anyhow::Result<DynamicObject> {
        Ok(serde_json::from_value(
            json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name}, "spec": {"request": "cmVx", "signerName": signer, "usages": ["client auth"]}}),
        )?)
    };
    csrs.create(
        &PostParams::default(),
        &csr("a", "kubernetes.io/kube-apiserver-client")?,
    )
    .await?;
    csrs.create(&PostParams::default(), &csr("b", "example.com/signer")?)
        .await?;
    assert_eq!(
        names(&csrs, "spec.signerName=example.com/signer").await?,
        ["b"]
    );
    assert_eq!(
        refused(&csrs, "metadata.namespace=x").await,
        "field label not supported: metadata.namespace"
    );
    Ok(())
}

#[tokio::test]
async fn custom_resources_select_their_selectable_fields() -> anyhow::Result<()> {
    let (st, client) = in_process();
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "selectableFields": [{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.size"}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
                    "properties": {"color": {"type": "string"}, "size": {"type": "integer"}, "shape": {"type": "string"}}}}}}}]}});
    let r = post(
        &st,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        crd,
    )
    .await?;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let widgets: Api<DynamicObject> =
        Api::default_namespaced_with(client, &ApiResource::from_gvk(&gvk));
    for (name, color, size) in [("a", "blue", 1), ("b", "red", 2), ("c", "blue", 3)] {
        let w: DynamicObject = serde_json::from_value(
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": name}, "spec": {"color": color, "size": size, "shape": "round"}}),
        )?;
        widgets.create(&PostParams::default(), &w).await?;
    }
    assert_eq!(names(&widgets, "spec.color=blue").await?, ["a", "c"]);
    assert_eq!(
        names(&widgets, "spec.color=blue,spec.size!=1").await?,
        ["c"]
    );
    assert_eq!(
        refused(&widgets, "spec.shape=round").await,
        "field label not supported: spec.shape"
    );
    Ok(())
}

#[tokio::test]
async fn subresources_are_the_kinds_own() -> anyhow::Result<()> {
    let st = KubeState::new(Clock::manual(), 7);
    let cm = json!({"metadata": {"name": "c"}});
    let r = post(&st, "/api/v1/namespaces/default/configmaps", cm).await?;
    assert_eq!(r.status, StatusCode::CREATED);
    // pods/log is the pod's; a ConfigMap has no log, exec or token
    for sub in ["log", "exec", "token", "finalize", "eviction"] {
        let r = get(
            &st,
            &format!("/api/v1/namespaces/default/configmaps/c/{sub}"),
        )
        .await?;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{sub}");
    }
    // namespaces/finalize writes the namespace itself
    let r = get(&st, "/api/v1/namespaces/default").await?;
    let r = send(
        &st,
        Method::PUT,
        "/api/v1/namespaces/default/finalize",
        "application/json",
        "application/json",
        Some(r.body),
    )
    .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["kind"], "Namespace");
    Ok(())
}
