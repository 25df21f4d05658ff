//! `cloudbox up`'s world: a topology realized through the AWS API, its bring-up fast-forwarded in
//! virtual time (instances boot, kubelets register, nodes turn Ready) before the endpoints are
//! announced, and the built-in controllers' context for the rest of the run.

use crate::runner::{controllers_for, next_instant, settle, IDLE_STEP};
use crate::topology::{self, Topology};
use cloudbox_aws::{AwsClient, AwsState};
use cloudbox_kube::KubeState;
use cloudbox_sim::Clock;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use std::path::Path;
use std::time::Duration;

/// The most virtual time a bring-up may take before it is reported as stuck.
const BRING_UP_LIMIT: Duration = Duration::from_secs(15 * 60);

/// A realized topology with its nodes up.
pub struct BroughtUp {
    /// The topology.
    pub topology: Topology,
    /// Its region.
    pub region: String,
    /// Ready nodes at the end of the bring-up.
    pub ready_nodes: usize,
    /// Instances the topology launched.
    pub instances: usize,
    /// Virtual time the bring-up took.
    pub virtual_elapsed: Duration,
    /// The built-in controllers (None for a topology without a cluster).
    pub controllers: Option<cloudbox_integrations::Context>,
}

/// Loads `reference` (a name under fixtures/topologies or a path), realizes it and moves the clock
/// until every launched instance is a Ready node (or the topology has no cluster).
pub async fn bring_up(
    reference: &str,
    aws: &AwsState,
    kube: &KubeState,
    clock: &Clock,
    seed: u64,
) -> anyhow::Result<BroughtUp> {
    let topology = topology::load(reference, Path::new("."))?;
    let region = topology
        .spec
        .region
        .clone()
        .unwrap_or_else(|| "us-east-1".to_string());
    let aws_client = AwsClient::new(aws, &region)
        .map_err(|e| anyhow::anyhow!("region '{region}': {}", e.message))?;
    topology.realize(&aws_client)?;
    let instances = topology.spec.instances.len();
    let client = kube::Client::new(cloudbox_kube::app(kube.clone()), "default");
    let controllers = controllers_for(&topology, client.clone(), aws_client, clock.clone(), seed);
    let start = clock.now();
    let mut ready_nodes = 0;
    if let Some(ctx) = &controllers {
        let nodes: Api<Node> = Api::all(client);
        loop {
            let (errors, requeue) = settle(ctx, kube).await;
            ready_nodes = nodes
                .list(&ListParams::default())
                .await
                .map(|l| {
                    l.items
                        .iter()
                        .filter(|n| {
                            n.status
                                .as_ref()
                                .and_then(|s| s.conditions.as_ref())
                                .is_some_and(|c| {
                                    c.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                                })
                        })
                        .count()
                })
                .unwrap_or(0);
            let elapsed = Duration::from_millis(clock.now().0.saturating_sub(start.0));
            if ready_nodes >= instances {
                break;
            }
            if elapsed >= BRING_UP_LIMIT {
                anyhow::bail!(
                    "topology {reference}: {ready_nodes} of {instances} nodes Ready after {}s of \
                     virtual time{}",
                    elapsed.as_secs(),
                    if errors.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", errors.join("; "))
                    }
                );
            }
            // Step to the next due event (an AWS timer, a controller's requeue).
            let now = clock.now();
            let next = next_instant(now, IDLE_STEP, aws, requeue);
            clock.advance(Duration::from_millis(next.0 - now.0));
        }
    }
    Ok(BroughtUp {
        virtual_elapsed: Duration::from_millis(clock.now().0.saturating_sub(start.0)),
        topology,
        region,
        ready_nodes,
        instances,
        controllers,
    })
}
