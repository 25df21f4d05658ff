//! The world benchmark of issue 8 §10: N EC2 instances become Ready nodes, a Deployment of P
//! replicas goes to all Running, then it is deleted — everything in process on the virtual clock,
//! through the same controller passes the scenario runner uses.
//!
//! `cargo run --release -p cloudbox-scenarios --example world_bench -- [nodes] [pods] [wall-limit-s] [vpc-cni]`
//! (defaults 1000, 30000, 300, 0; `1` as the fourth argument turns the VPC CNI model on, so
//! every pod address is a secondary IP of an ENI of its node). Prints virtual time, wall time, passes and RSS per phase.

use anyhow::{anyhow, Result};
use cloudbox_aws::{AwsClient, AwsState};
use cloudbox_integrations::{Config, Context};
use cloudbox_kube::KubeState;
use cloudbox_scenarios::IDLE_STEP;
use cloudbox_sim::Clock;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

// The allocator of the `cloudbox` binary (`src/main.rs`), so the benchmark measures what
// `cloudbox run` does: with glibc's malloc, allocation was a third of a world run's instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Resident set size and its peak, in MiB (Linux `/proc/self/status`).
fn rss_mib() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// One measured phase.
struct Phase {
    started_wall: Instant,
    started_virtual: u64,
    passes: u64,
}

type Check<'a> = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = Result<bool>> + 'a>> + 'a>;

/// Runs the controllers as the scenario runner does (passes until quiet, then the clock to the
/// next due event), until `done` holds.
async fn until(
    ctx: &Context,
    clock: &Clock,
    aws: &AwsState,
    kube: &KubeState,
    limit: Instant,
    what: &str,
    mut done: Check<'_>,
) -> Result<Phase> {
    let mut p = Phase {
        started_wall: Instant::now(),
        started_virtual: clock.now().0,
        passes: 0,
    };
    loop {
        let (errors, requeue) = cloudbox_scenarios::settle(ctx, kube).await;
        p.passes += 1;
        if !errors.is_empty() {
            eprintln!("{what}: controller errors: {errors:?}");
        }
        if done().await? {
            return Ok(p);
        }
        if Instant::now() > limit {
            return Err(anyhow!(
                "{what}: wall-time limit reached after {} passes",
                p.passes
            ));
        }
        let now = clock.now();
        let next = cloudbox_scenarios::next_instant(now, IDLE_STEP, aws, requeue);
        clock.advance(Duration::from_millis(next.0 - now.0));
    }
}

fn report(name: &str, p: &Phase, clock: &Clock) {
    let (rss, peak) = rss_mib();
    println!(
        "| {name} | {:.0} s | {:.2} s | {} | {rss:.0} MiB | {peak:.0} MiB |",
        clock.now().0.saturating_sub(p.started_virtual) as f64 / 1000.0,
        p.started_wall.elapsed().as_secs_f64(),
        p.passes
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let nodes = usize::try_from(*args.first().unwrap_or(&1000))?;
    let pods = i32::try_from(*args.get(1).unwrap_or(&30000))?;
    let limit = Instant::now() + Duration::from_secs(*args.get(2).unwrap_or(&300));
    let vpc_cni = args.get(3).is_some_and(|&v| v == 1);
    let clock = Clock::manual();
    let aws_state = AwsState::new(clock.clone(), 7);
    let kube_state = KubeState::new(clock.clone(), 7);
    let aws = AwsClient::new(&aws_state, "cn-northwest-1").map_err(|e| anyhow!("{e}"))?;
    let vpc = aws
        .call("ec2:CreateVpc", &json!({"CidrBlock": "10.0.0.0/16"}))
        .map_err(|e| anyhow!("{e}"))?["Vpc"]["VpcId"]
        .clone();
    let subnet = aws
        .call(
            "ec2:CreateSubnet",
            &json!({"VpcId": vpc, "CidrBlock": "10.0.0.0/17", "AvailabilityZone": "cn-northwest-1a"}),
        )
        .map_err(|e| anyhow!("{e}"))?["Subnet"]["SubnetId"]
        .clone();
    let (rss0, _) = rss_mib();
    println!("{nodes} nodes, a Deployment of {pods} replicas; RSS at start {rss0:.0} MiB\n");
    println!("| phase | virtual time | wall time | instants | RSS after | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    let wall = Instant::now();
    let mut left = nodes;
    while left > 0 {
        let n = left.min(500);
        aws.call(
            "ec2:RunInstances",
            &json!({"ImageId": "ami-0abcdef1234567890", "InstanceType": "c5.4xlarge", "MinCount": n, "MaxCount": n,
                    "SubnetId": subnet,
                    "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "kubernetes.io/cluster/bench", "Value": "owned"}]}]}),
        )
        .map_err(|e| anyhow!("{e}"))?;
        left -= n;
    }
    let client = kube::Client::new(cloudbox_kube::app(kube_state.clone()), "default");
    let mut config = Config::new("bench");
    if vpc_cni {
        config.vpc_cni = Some(cloudbox_integrations::vpc_cni::Settings::default());
    }
    let ctx = Context::new(client.clone(), aws.clone(), clock.clone(), config);
    let node_api: Api<Node> = Api::all(client.clone());
    let p = until(
        &ctx,
        &clock,
        &aws_state,
        &kube_state,
        limit,
        "nodes",
        Box::new(|| {
            let api = node_api.clone();
            Box::pin(async move {
                let list = api.list(&ListParams::default()).await?;
                Ok(list.items.len() >= nodes)
            })
        }),
    )
    .await?;
    report(&format!("{nodes} instances → Ready nodes"), &p, &clock);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench"},
        "spec": {"replicas": pods, "selector": {"matchLabels": {"app": "bench"}},
                 "template": {"metadata": {"labels": {"app": "bench"}},
                              "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}
    }))?;
    deployments.create(&PostParams::default(), &d).await?;
    let p = until(
        &ctx,
        &clock,
        &aws_state,
        &kube_state,
        limit,
        "pods",
        Box::new(|| {
            let api = deployments.clone();
            Box::pin(async move {
                let d = api.get("bench").await?;
                Ok(d.status.and_then(|s| s.ready_replicas).unwrap_or(0) >= pods)
            })
        }),
    )
    .await?;
    report(
        &format!("Deployment of {pods} → all Running and Ready"),
        &p,
        &clock,
    );
    let (rss_full, _) = rss_mib();
    deployments
        .delete("bench", &DeleteParams::default())
        .await?;
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let p = until(
        &ctx,
        &clock,
        &aws_state,
        &kube_state,
        limit,
        "delete",
        Box::new(|| {
            let api = pod_api.clone();
            Box::pin(async move {
                let list = api.list(&ListParams::default().limit(1)).await?;
                Ok(list.items.is_empty())
            })
        }),
    )
    .await?;
    report("Deployment deleted → no pods", &p, &clock);
    if vpc_cni {
        let enis = aws
            .call("ec2:DescribeNetworkInterfaces", &json!({}))
            .map_err(|e| anyhow!("{e}"))?;
        let list = enis["NetworkInterfaces"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let addresses: usize = list
            .iter()
            .map(|e| e["PrivateIpAddresses"].as_array().map_or(0, Vec::len))
            .sum();
        println!(
            "\nVPC CNI on: {} ENIs with {addresses} private addresses left after the delete",
            list.len()
        );
    }
    println!("\n| controller | passes | wall time in its passes |\n|---|---:|---:|");
    for (what, d, n) in cloudbox_scenarios::PASS_TIMES.snapshot() {
        println!("| {what} | {n} | {:.2} s |", d.as_secs_f64());
    }
    let (_, peak) = rss_mib();
    println!(
        "\nwhole run: {:.1} s wall; peak RSS {peak:.0} MiB; {:.1} KiB of RSS per running pod \
         (RSS with every pod Running minus RSS at start, over {pods} pods; nodes included)",
        wall.elapsed().as_secs_f64(),
        (rss_full - rss0) * 1024.0 / f64::from(pods.max(1))
    );
    Ok(())
}
