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
