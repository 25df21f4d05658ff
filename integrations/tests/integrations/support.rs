//! The world every module starts from: a manual clock, the in-process AWS endpoint and
//! Kubernetes API server on it, and a controller [`Context`] over their clients.

use anyhow::Result;
use cloudbox_aws::{AwsClient, AwsState};
use cloudbox_integrations::{Config, Context};
use cloudbox_kube::KubeState;
use cloudbox_sim::Clock;

/// A clock, the API server's state and a controller context on both APIs.
pub struct World {
    pub clock: Clock,
    pub ctx: Context,
    /// The API server (kept alive for tests that build more clients on it).
    #[allow(dead_code)]
    pub kube: KubeState,
}

/// A world in us-east-1 for the cluster `test`.
pub fn world() -> Result<World> {
    world_in("us-east-1", "test")
}

/// A world in `region` for the cluster `cluster`, seed 7.
pub fn world_in(region: &str, cluster: &str) -> Result<World> {
    let clock = Clock::manual();
    let aws_state = AwsState::new(clock.clone(), 7);
    let kube = KubeState::new(clock.clone(), 7);
    let aws = AwsClient::new(&aws_state, region)?;
    let ctx = Context::new(
        kube::Client::new(cloudbox_kube::app(kube.clone()), "default"),
        aws,
        clock.clone(),
        Config::new(cluster),
    );
    Ok(World { clock, ctx, kube })
}

/// [`world_in`] as the (context, clock) pair some modules pass around.
pub fn context_in(region: &str, cluster: &str) -> Result<(Context, Clock)> {
    let w = world_in(region, cluster)?;
    Ok((w.ctx, w.clock))
}

/// Deletes the ClusterRoleBinding `name` through `admin`; the saved object, ready to be created
/// again with [`restore_binding`].
pub async fn delete_binding(
    admin: &kube::Client,
    name: &str,
) -> Result<k8s_openapi::api::rbac::v1::ClusterRoleBinding> {
    use kube::api::{Api, DeleteParams};
    let api: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(admin.clone());
    let mut saved = api.get(name).await?;
    api.delete(name, &DeleteParams::default()).await?;
    saved.metadata.resource_version = None;
    saved.metadata.uid = None;
    saved.metadata.creation_timestamp = None;
    saved.metadata.managed_fields = None;
    Ok(saved)
}

/// Creates a binding [`delete_binding`] saved.
pub async fn restore_binding(
    admin: &kube::Client,
    saved: &k8s_openapi::api::rbac::v1::ClusterRoleBinding,
) -> Result<()> {
    use kube::api::{Api, PostParams};
    let api: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(admin.clone());
    api.create(&PostParams::default(), saved).await?;
    Ok(())
}
