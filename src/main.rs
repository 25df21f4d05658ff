//! The `cloudbox` command line: parse arguments and call the crates.
//!
//! - `cloudbox up`: serve the fake AWS endpoint (and, once wired, the Kubernetes API) until Ctrl-C.

use anyhow::Context;
use clap::{Parser, Subcommand};
use cloudbox_sim::Clock;
use std::net::{IpAddr, SocketAddr};

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
    /// Serve the AWS endpoint (EC2) for aws CLI, boto3, SDKs and controllers.
    Up(UpArgs),
}

#[derive(clap::Args)]
struct UpArgs {
    /// Port of the AWS endpoint (0 = any free port).
    #[arg(long, default_value_t = 4566)]
    aws_port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Resource state changes happen this many times faster than AWS's usual delays.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Seed for every id and random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Region printed in the export lines.
    #[arg(long, default_value = "us-east-1")]
    region: String,
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
    }
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        anyhow::bail!("--time-scale must be a positive number");
    }
    let clock = Clock::wall(args.time_scale);
    let state = cloudbox_aws::AwsState::new(clock, args.seed);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.aws_port))
        .await
        .with_context(|| {
            format!(
                "binding the AWS endpoint on {}:{}",
                args.bind, args.aws_port
            )
        })?;
    let addr = listener.local_addr()?;
    println!("cloudbox: AWS endpoint listening on http://{addr}");
    println!("export AWS_ENDPOINT_URL=http://{addr}");
    println!("export AWS_REGION={}", args.region);
    println!("export AWS_DEFAULT_REGION={}", args.region);
    println!("export AWS_ACCESS_KEY_ID=cloudbox");
    println!("export AWS_SECRET_ACCESS_KEY=cloudbox");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    cloudbox_aws::serve(listener, state, shutdown).await?;
    println!("cloudbox: stopped");
    Ok(())
}
