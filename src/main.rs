//! The `cloudbox` command line: parse arguments and call the crates.
//!
//! - `cloudbox up`: serve the fake AWS endpoint and the embedded Kubernetes API until Ctrl-C.
//! - `cloudbox run PATH…`: run scenario files (docs/scenarios.md) on a virtual clock.

mod admin;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cloudbox_sim::Clock;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cloudbox",
    version,
    about = "A local, deterministic emulator of a Kubernetes cluster on AWS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the AWS endpoint (EC2, ELBv2, classic ELB, Auto Scaling, STS, instance metadata) and
    /// the Kubernetes API for aws CLI, boto3, SDKs, kubectl,
    /// kube-rs and controllers.
    Up(UpArgs),
    /// Run scenario files (files, or folders searched recursively): a line per step, a summary,
    /// exit code 1 when one fails.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Seed for every id and random choice (overrides each file's `spec.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Write a JUnit XML report here (one test case per scenario).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// After a failure, keep the failed scenario's world serving (AWS endpoint and Kubernetes API,
    /// as `cloudbox up`) until Ctrl-C.
    #[arg(long)]
    keep: bool,
    /// Port of the AWS endpoint with --keep (0 = any free port).
    #[arg(long, default_value_t = 4566)]
    aws_port: u16,
    /// Port of the Kubernetes API server with --keep (0 = any free port).
    #[arg(long, default_value_t = 6443)]
    kube_port: u16,
    /// Where --keep writes the kubeconfig.
    #[arg(long, default_value = ".cloudbox/kubeconfig")]
    kubeconfig: PathBuf,
}

#[derive(clap::Args)]
struct UpArgs {
    /// Port of the AWS endpoint (0 = any free port).
    #[arg(long, default_value_t = 4566)]
    aws_port: u16,
    /// Port of the Kubernetes API server (0 = any free port).
    #[arg(long, default_value_t = 6443)]
    kube_port: u16,
    /// Where to write the kubeconfig (written before the API reports ready).
    #[arg(long, default_value = ".cloudbox/kubeconfig")]
    kubeconfig: PathBuf,
    /// Require `Authorization: Bearer <token>` on the Kubernetes API (written into the kubeconfig).
    #[arg(long)]
    kube_token: Option<String>,
    /// How service-account tokens are authorized on the Kubernetes API: `RBAC` (their Roles
    /// and bindings, else 403 as kube-apiserver) or `AlwaysAllow`.
    #[arg(long, default_value = "RBAC", value_parser = ["RBAC", "AlwaysAllow"])]
    authorization: String,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Resource state changes happen this many times faster than AWS's usual delays.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Seed for every id and random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Region printed in the export lines (default: the topology's region, else us-east-1).
    #[arg(long)]
    region: Option<String>,
    /// The starting world: a name under fixtures/topologies/ (`seed`, `empty`) or a topology
    /// file. `seed` (the default) brings up the seed's VPC, subnets and instances, with Ready
    /// nodes, before the export lines print; `empty` is a bare AWS endpoint and API server with no
    /// controllers running.
    #[arg(long, default_value = "seed")]
    topology: String,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLOUDBOX_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Up(args) => runtime.block_on(up(args)),
        Command::Run(args) => {
            let passed = runtime.block_on(run(args))?;
            if !passed {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

/// Runs every scenario under the paths; Ok(false) when one failed.
async fn run(args: RunArgs) -> anyhow::Result<bool> {
    let files = cloudbox_scenarios::collect(&args.paths)?;
    if files.is_empty() {
        anyhow::bail!("no scenario files (kind: Scenario) under the given paths");
    }
    let options = cloudbox_scenarios::Options { seed: args.seed };
    let mut outcomes = Vec::new();
    let mut kept = None;
    for file in &files {
        let scenario = match cloudbox_scenarios::load(file) {
            Ok(s) => s,
            Err(e) => {
                println!("{e:#}");
                outcomes.push(cloudbox_scenarios::Outcome {
                    name: file.display().to_string(),
                    file: file.clone(),
                    passed_steps: 0,
                    total_steps: 0,
                    virtual_elapsed: std::time::Duration::ZERO,
                    wall: std::time::Duration::ZERO,
                    failure: Some(cloudbox_scenarios::report::Failure {
                        step: 0,
                        line: None,
                        message: format!("{e:#}"),
                        details: String::new(),
                    }),
                });
                continue;
            }
        };
        println!("scenario {} ({})", scenario.metadata.name, file.display());
        let (outcome, world) =
            cloudbox_scenarios::run(&scenario, &options, &mut |l| println!("{l}")).await;
        if let Some(text) = outcome.failure_text() {
            println!("{text}");
        }
        let failed = !outcome.passed();
        outcomes.push(outcome);
        if failed && args.keep {
            kept = world;
            break;
        }
    }
    println!("{}", cloudbox_scenarios::report::summary(&outcomes));
    if let Some(path) = &args.junit {
        std::fs::write(path, cloudbox_scenarios::report::junit_xml(&outcomes))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let passed = outcomes.iter().all(|o| o.passed());
    if let Some(world) = kept {
        println!(
            "cloudbox: keeping the failed scenario's world (virtual clock stopped); Ctrl-C to stop"
        );
        let serve = Serve {
            bind: IpAddr::from([127, 0, 0, 1]),
            aws_port: args.aws_port,
            kube_port: args.kube_port,
            kubeconfig: args.kubeconfig,
            kube_token: None,
            region: world.region.clone(),
            controllers: None,
        };
        serve_until_ctrl_c(serve, world.aws.clone(), world.kube.clone()).await?;
    }
    Ok(passed)
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        anyhow::bail!("--time-scale must be a positive number");
    }
    let clock = Clock::wall(args.time_scale);
    let aws = cloudbox_aws::AwsState::new(clock.clone(), args.seed);
    let authorization = if args.authorization == "AlwaysAllow" {
        cloudbox_kube::Authorization::AlwaysAllow
    } else {
        cloudbox_kube::Authorization::Rbac
    };
    let kube = cloudbox_kube::KubeState::with_authorization(
        clock.clone(),
        args.seed,
        args.kube_token.clone(),
        cloudbox_kube::DEFAULT_HISTORY,
        authorization,
    );
    // The topology's bring-up runs in virtual time: the clock is moved past the instances' boot
    // and the kubelets' registration, so the nodes are Ready when the export lines print; from
    // then on the clock follows the wall clock.
    let mut controllers = None;
    let mut region = args.region.clone();
    if args.topology != "empty" {
        let up =
            cloudbox_scenarios::bring_up::bring_up(&args.topology, &aws, &kube, &clock, args.seed)
                .await
                .with_context(|| format!("bringing up topology '{}'", args.topology))?;
        println!(
            "cloudbox: topology {}: {} instances in {}, {} nodes Ready (bring-up took {}s of virtual time)",
            args.topology,
            up.instances,
            up.region,
            up.ready_nodes,
            up.virtual_elapsed.as_secs()
        );
        region.get_or_insert(up.region);
        controllers = up.controllers;
    }
    let region = region.unwrap_or_else(|| "us-east-1".to_string());
    let serve = Serve {
        bind: args.bind,
        aws_port: args.aws_port,
        kube_port: args.kube_port,
        kubeconfig: args.kubeconfig,
        kube_token: args.kube_token,
        region,
        controllers,
    };
    serve_until_ctrl_c(serve, aws, kube).await
}

/// Where and how to serve a world.
struct Serve {
    bind: IpAddr,
    aws_port: u16,
    kube_port: u16,
    kubeconfig: PathBuf,
    kube_token: Option<String>,
    region: String,
    /// The built-in controllers to run on the wall clock (a topology with a cluster).
    controllers: Option<cloudbox_integrations::Context>,
}

/// Serves the AWS endpoint and the Kubernetes API, prints the export lines, and stops on Ctrl-C.
async fn serve_until_ctrl_c(
    args: Serve,
    aws: cloudbox_aws::AwsState,
    kube: cloudbox_kube::KubeState,
) -> anyhow::Result<()> {
    let region = args.region;
    let controllers = args.controllers;
    let aws_listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.aws_port))
        .await
        .with_context(|| {
            format!(
                "binding the AWS endpoint on {}:{}",
                args.bind, args.aws_port
            )
        })?;
    let kube_listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.kube_port))
        .await
        .with_context(|| {
            format!(
                "binding the Kubernetes API on {}:{}",
                args.bind, args.kube_port
            )
        })?;
    let aws_addr = aws_listener.local_addr()?;
    let kube_url = format!("http://{}", kube_listener.local_addr()?);
    if let Some(dir) = args
        .kubeconfig
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(
        &args.kubeconfig,
        cloudbox_kube::kubeconfig_yaml(&kube_url, args.kube_token.as_deref()),
    )
    .with_context(|| format!("writing the kubeconfig {}", args.kubeconfig.display()))?;
    let kubeconfig = std::fs::canonicalize(&args.kubeconfig).unwrap_or(args.kubeconfig.clone());

    println!("cloudbox: AWS endpoint listening on http://{aws_addr}");
    println!("cloudbox: Kubernetes API listening on {kube_url}");
    println!("export AWS_ENDPOINT_URL=http://{aws_addr}");
    println!("export AWS_REGION={region}");
    println!("export AWS_DEFAULT_REGION={region}");
    println!("export AWS_ACCESS_KEY_ID=cloudbox");
    println!("export AWS_SECRET_ACCESS_KEY=cloudbox");
    println!("export KUBECONFIG={}", kubeconfig.display());

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let aws_task = tokio::spawn(cloudbox_aws::serve_with(
        aws_listener,
        aws,
        admin::routes(controllers.clone()),
        stopped(stop_rx.clone()),
    ));
    let controller_kube = kube.clone();
    let kube_task = tokio::spawn(cloudbox_kube::serve(kube_listener, kube, stopped(stop_rx)));
    // The built-in controllers follow the wall clock in `up`: every half second, passes until
    // nothing more is written (a pass that changes nothing writes nothing).
    let controller_task = controllers.map(|ctx| {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_millis(500));
            loop {
                every.tick().await;
                let (errors, _) = cloudbox_scenarios::settle(&ctx, &controller_kube).await;
                for e in errors {
                    tracing::warn!("{e}");
                }
            }
        })
    });
    let _ = tokio::signal::ctrl_c().await;
    if let Some(t) = controller_task {
        t.abort();
    }
    let _ = stop_tx.send(true);
    // In-flight requests get a moment to finish; open watches would otherwise hold shutdown
    // until their own timeouts (minutes), so after the grace period the servers are dropped.
    let grace = std::time::Duration::from_secs(2);
    let both = async {
        let aws = aws_task.await.context("AWS endpoint task")?;
        let kube = kube_task.await.context("Kubernetes API task")?;
        aws.context("AWS endpoint")?;
        kube.context("Kubernetes API")?;
        anyhow::Ok(())
    };
    match tokio::time::timeout(grace, both).await {
        Ok(result) => result?,
        Err(_) => eprintln!("cloudbox: closing open connections (watches) after {grace:?}"),
    }
    println!("cloudbox: stopped");
    Ok(())
}
