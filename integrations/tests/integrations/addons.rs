//! The add-on charts' RBAC: what each chart installs, once, before its controllers call the API
//! server under its account.

use anyhow::Result;
use cloudbox_integrations::{charts, cloud_node};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams};

#[tokio::test]
async fn a_chart_is_installed_once_and_a_deleted_object_stays_deleted() -> Result<()> {
    let w = super::support::world()?;
    let admin = w.ctx.kube.clone();
    // The first pass of cloud-controller-manager installs its chart's objects.
    cloud_node::reconcile_once(&w.ctx).await?;
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "kube-system");
    assert!(sas.get_opt("cloud-controller-manager").await?.is_some());
    let role = Api::<ClusterRole>::all(admin.clone())
        .get("system:cloud-controller-manager")
        .await?;
    let rules = serde_json::to_value(&role.rules)?;
    assert!(
        rules
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["resources"][0] == "nodes" && r["verbs"][0] == "*"),
        "{rules}"
    );
    let binding = Api::<ClusterRoleBinding>::all(admin.clone())
        .get("system:cloud-controller-manager")
        .await?;
    let subject = &binding.subjects.unwrap_or_default()[0];
    assert_eq!(
        (subject.kind.as_str(), subject.name.as_str()),
        ("ServiceAccount", "cloud-controller-manager")
    );
    // Its RoleBinding names the bootstrap Role kube-apiserver writes into kube-system.
    let rb = Api::<RoleBinding>::namespaced(admin.clone(), "kube-system")
        .get("cloud-controller-manager:apiserver-authentication-reader")
        .await?;
    Api::<Role>::namespaced(admin.clone(), "kube-system")
        .get(&rb.role_ref.name)
        .await?;

    // Helm does not put back what a user deletes, and neither does the next pass: the
    // controller's requests are refused from then on.
    let bindings: Api<ClusterRoleBinding> = Api::all(admin.clone());
    bindings
        .delete("system:cloud-controller-manager", &DeleteParams::default())
        .await?;
    cloud_node::reconcile_once(&w.ctx).await?;
    assert!(bindings
        .get_opt("system:cloud-controller-manager")
        .await?
        .is_none());

    // Installing again (`helm install` of the same chart) creates only what is missing.
    assert_eq!(
        charts::install(&admin, &charts::CLOUD_CONTROLLER_MANAGER).await?,
        1
    );
    assert_eq!(
        charts::install(&admin, &charts::CLOUD_CONTROLLER_MANAGER).await?,
        0
    );
    Ok(())
}

#[tokio::test]
async fn every_chart_creates_what_its_manifest_lists() -> Result<()> {
    let w = super::support::world()?;
    let admin = w.ctx.kube.clone();
    for chart in [
        charts::CLOUD_CONTROLLER_MANAGER,
        charts::EBS_CSI_DRIVER,
        charts::VPC_CNI,
    ] {
        let n = chart.objects()?.len();
        assert_eq!(charts::install(&admin, &chart).await?, n, "{}", chart.name);
    }
    // The EBS chart: both accounts, the four sidecar roles and the node role, the leases Role.
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "kube-system");
    for sa in ["ebs-csi-controller-sa", "ebs-csi-node-sa", "aws-node"] {
        assert!(sas.get_opt(sa).await?.is_some(), "{sa}");
    }
    let roles: Api<ClusterRole> = Api::all(admin.clone());
    for r in [
        "ebs-external-provisioner-role",
        "ebs-external-attacher-role",
        "ebs-external-resizer-role",
        "ebs-external-snapshotter-role",
        "ebs-csi-node-role",
        "aws-node",
    ] {
        assert!(roles.get_opt(r).await?.is_some(), "{r}");
    }
    assert!(Api::<Role>::namespaced(admin.clone(), "kube-system")
        .get_opt("ebs-csi-leases-role")
        .await?
        .is_some());
    Ok(())
}
