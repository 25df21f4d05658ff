//! The controllers call the API server under their own accounts (kube-controller-manager's
//! `--use-service-account-credentials`): RBAC decides what a pass may do, and the accounts'
//! bound tokens are renewed on the simulation clock.

use anyhow::{anyhow, Result};
use cloudbox_integrations::identity::{Account, TOKEN_EXPIRATION_SECONDS};
use cloudbox_integrations::{scheduler, workloads};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::time::Duration;

const RS_BINDING: &str = "system:controller:replicaset-controller";

fn replica_set(name: &str, replicas: i64) -> Result<ReplicaSet> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}
    }))?)
}

async fn pods(kube: &kube::Client) -> Result<usize> {
    let api: Api<Pod> = Api::namespaced(kube.clone(), "default");
    Ok(api.list(&ListParams::default()).await?.items.len())
}

async fn scale(kube: &kube::Client, name: &str, replicas: i64) -> Result<()> {
    let api: Api<ReplicaSet> = Api::namespaced(kube.clone(), "default");
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": replicas}})),
    )
    .await?;
    Ok(())
}

/// A client that sends `Authorization: Bearer <token>` over `admin`'s transport.
fn with_bearer(admin: kube::Client, token: String) -> kube::Client {
    let service = tower::service_fn(move |mut req: http::Request<kube::client::Body>| {
        let admin = admin.clone();
        if let Ok(v) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
            req.headers_mut().insert(http::header::AUTHORIZATION, v);
        }
        async move { admin.send(req).await }
    });
    kube::Client::new(service, "default")
}

#[tokio::test]
async fn replicaset_controller_is_authorized_by_its_rbac_binding() -> Result<()> {
    let w = super::support::world()?;
    let admin = w.ctx.kube.clone();
    let rss: Api<ReplicaSet> = Api::namespaced(admin.clone(), "default");
    rss.create(&PostParams::default(), &replica_set("web", 2)?)
        .await?;
    let bindings: Api<ClusterRoleBinding> = Api::all(admin.clone());
    let saved = bindings.get(RS_BINDING).await?;
    bindings
        .delete(RS_BINDING, &DeleteParams::default())
        .await?;

    // Without its binding the controller's account may not create pods: the pass fails with
    // kube-apiserver's 403 text and nothing is created.
    let err = workloads::replicaset::reconcile_once(&w.ctx)
        .await
        .err()
        .ok_or_else(|| anyhow!("the pass succeeded without the controller's binding"))?;
    let text = format!("{err}");
    assert!(
        text.contains(
            "pods is forbidden: User \"system:serviceaccount:kube-system:replicaset-controller\" \
             cannot create resource \"pods\" in API group \"\" in the namespace \"default\""
        ),
        "{text}"
    );
    assert_eq!(pods(&admin).await?, 0);
    // `getOrCreateServiceAccount`: the account exists in kube-system.
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "kube-system");
    assert!(sas.get_opt("replicaset-controller").await?.is_some());

    // The binding restored, the same pass converges: pods created, then the status updated
    // (PUT of `replicasets/status`, the only write the role grants on it).
    let mut restored = saved.clone();
    restored.metadata.resource_version = None;
    restored.metadata.uid = None;
    restored.metadata.creation_timestamp = None;
    restored.metadata.managed_fields = None;
    bindings.create(&PostParams::default(), &restored).await?;
    workloads::replicaset::reconcile_once(&w.ctx).await?;
    assert_eq!(pods(&admin).await?, 2);
    workloads::replicaset::reconcile_once(&w.ctx).await?;
    let rs: Value = serde_json::to_value(rss.get("web").await?)?;
    assert_eq!(rs["status"]["replicas"], 2, "{rs}");
    Ok(())
}

#[tokio::test]
async fn a_role_without_the_rule_refuses_the_write_the_controller_makes() -> Result<()> {
    // The rule that grants `update` on `replicasets/status` taken out of the role: pods are
    // still created (another rule), the status write is refused with upstream's text.
    let w = super::support::world()?;
    let admin = w.ctx.kube.clone();
    let rss: Api<ReplicaSet> = Api::namespaced(admin.clone(), "default");
    rss.create(&PostParams::default(), &replica_set("api", 1)?)
        .await?;
    let roles: Api<k8s_openapi::api::rbac::v1::ClusterRole> = Api::all(admin.clone());
    let mut role = roles.get(RS_BINDING).await?;
    let rules = role.rules.take().unwrap_or_default();
    role.rules = Some(
        rules
            .into_iter()
            .filter(|r| {
                !r.resources
                    .iter()
                    .flatten()
                    .any(|x| x == "replicasets/status")
            })
            .collect(),
    );
    roles
        .replace(RS_BINDING, &PostParams::default(), &role)
        .await?;
    let err = workloads::replicaset::reconcile_once(&w.ctx)
        .await
        .err()
        .ok_or_else(|| anyhow!("the status update was allowed"))?;
    assert_eq!(pods(&admin).await?, 1);
    assert!(
        format!("{err}").contains(
            "replicasets.apps \"api\" is forbidden: User \
             \"system:serviceaccount:kube-system:replicaset-controller\" cannot update resource \
             \"replicasets/status\" in API group \"apps\" in the namespace \"default\""
        ),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn controller_tokens_are_reused_renewed_at_80_percent_and_expire() -> Result<()> {
    let w = super::support::world()?;
    let admin = w.ctx.kube.clone();
    let rss: Api<ReplicaSet> = Api::namespaced(admin.clone(), "default");
    rss.create(&PostParams::default(), &replica_set("web", 1)?)
        .await?;
    let ids = w.ctx.identities().clone();
    workloads::replicaset::reconcile_once(&w.ctx).await?;
    workloads::replicaset::reconcile_once(&w.ctx).await?;
    assert_eq!(ids.token_requests(), 1, "one token for two passes");
    assert_eq!(pods(&admin).await?, 1);

    // Just before 80 % of the hour-long lifetime: the same token.
    let lifetime = Duration::from_secs(TOKEN_EXPIRATION_SECONDS);
    w.clock.advance(lifetime * 79 / 100);
    scale(&admin, "web", 2).await?;
    workloads::replicaset::reconcile_once(&w.ctx).await?;
    assert_eq!(ids.token_requests(), 1);
    assert_eq!(pods(&admin).await?, 2);

    // Past 80 %: renewed before the pass writes.
    w.clock.advance(lifetime * 2 / 100);
    scale(&admin, "web", 3).await?;
    workloads::replicaset::reconcile_once(&w.ctx).await?;
    assert_eq!(ids.token_requests(), 2);
    assert_eq!(pods(&admin).await?, 3);

    // Two lifetimes without a pass: the token in hand has expired, and the next pass still
    // works (renewed first).
    w.clock.advance(lifetime * 2);
    scale(&admin, "web", 4).await?;
    workloads::replicaset::reconcile_once(&w.ctx).await?;
    assert_eq!(ids.token_requests(), 3);
    assert_eq!(pods(&admin).await?, 4);

    // An expired bound token is refused (401), as upstream's token authenticator does.
    let tr = admin
        .request::<Value>(
            http::Request::post(
                "/api/v1/namespaces/kube-system/serviceaccounts/replicaset-controller/token",
            )
            .header("content-type", "application/json")
            .body(br#"{"spec":{"expirationSeconds":600}}"#.to_vec())?,
        )
        .await?;
    let token = tr["status"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let as_sa = with_bearer(admin.clone(), token);
    assert_eq!(pods(&as_sa).await?, 4, "a live token lists pods");
    w.clock.advance(Duration::from_secs(601));
    match pods(&as_sa).await {
        Err(e) => match e.downcast_ref::<kube::Error>() {
            Some(kube::Error::Api(s)) => assert_eq!(s.code, 401, "{s:?}"),
            other => return Err(anyhow!("expected a 401, got {other:?}")),
        },
        Ok(n) => return Err(anyhow!("an expired token listed {n} pods")),
    }
    Ok(())
}

#[tokio::test]
async fn the_scheduler_binds_as_system_kube_scheduler() -> Result<()> {
    let w = super::support::world()?;
    let admin = w.ctx.kube.clone();
    assert_eq!(
        Account::scheduler().username(),
        "system:kube-scheduler".to_string()
    );
    let bindings: Api<ClusterRoleBinding> = Api::all(admin.clone());
    bindings
        .delete("system:kube-scheduler", &DeleteParams::default())
        .await?;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    let p: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}
    }))?;
    pods.create(&PostParams::default(), &p).await?;
    // With no node there is nothing to bind; the scheduler records FailedScheduling, which
    // its role allows only through the binding just deleted.
    let err = scheduler::reconcile_once(&w.ctx)
        .await
        .err()
        .ok_or_else(|| anyhow!("the scheduler wrote without its binding"))?;
    assert!(
        format!("{err}").contains("User \"system:kube-scheduler\" cannot"),
        "{err}"
    );
    Ok(())
}
