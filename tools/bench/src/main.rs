//! `cloudbox-bench`: the load generator of issue 2 §6. It sends the same form-encoded EC2
//! requests, with the same fixed SigV4 header, over loopback HTTP/1.1 to `cloudbox up`,
//! `moto_server` and a bare axum server answering a fixed body (the machine's loopback ceiling),
//! and prints markdown tables of req/s and p50/p99 latency per scenario and connection count,
//! the ratios, the time from spawn to first answer, and which of the issue's goals are met.
//!
//! Every measured cell (target × scenario × connections) of cloudbox and moto runs on a freshly
//! started server with only that scenario's setup, so cells do not disturb each other (moto
//! keeps working on requests the client abandoned). The bare server runs for the whole bench and
//! is measured within each scenario right after cloudbox, so the two see the same machine. Each
//! cell is bounded by a unit count and a time budget; units still running `--grace-secs` after
//! the budget are abandoned and reported as "cut". Each cell also reports the CPU its server, the
//! client and the rest of the machine used (see [`cpu`]).
//!
//! ```text
//! cargo build --release -p cloudbox -p cloudbox-bench
//! cargo run --release -p cloudbox-bench -- [--target cloudbox|moto|bare|URL]... [--connections 1,16,64]
//!     [--duration-secs 3] [--moto-duration-secs 8] [--requests 100000] [--scenario NAME]...
//! ```

mod cpu;
mod load;
mod report;
mod scenarios;
mod servers;

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use load::{Limits, LoadResult, Work};
use report::Cell;
use scenarios::Scenario;
use servers::Kind;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "cloudbox-bench",
    about = "Load generator: cloudbox vs moto_server vs a bare HTTP server"
)]
struct Args {
    /// Targets: cloudbox, moto, bare, or an http:// URL of a running endpoint (repeat or
    /// comma-separate).
    #[arg(long, value_delimiter = ',', default_values_t = ["cloudbox".to_string(), "moto".to_string(), "bare".to_string()])]
    target: Vec<String>,
    /// Concurrent connections to measure (one worker and connection each).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 16, 64])]
    connections: Vec<usize>,
    /// Time budget per cell (cloudbox, bare, URL).
    #[arg(long, default_value_t = 3.0)]
    duration_secs: f64,
    /// Time budget per cell for moto.
    #[arg(long, default_value_t = 8.0)]
    moto_duration_secs: f64,
    /// Units still running this long after the budget are abandoned ("cut").
    #[arg(long, default_value_t = 5.0)]
    grace_secs: f64,
    /// Most units per cell (mutating scenarios are also capped at 60,000 by the /16 subnet).
    #[arg(long, default_value_t = 100_000)]
    requests: u64,
    /// Warm-up before each measured cell (not for moto), at most 1,000 units.
    #[arg(long, default_value_t = 0.3)]
    warmup_secs: f64,
    /// Scenarios to run (default: all).
    #[arg(long, value_delimiter = ',')]
    scenario: Vec<String>,
    /// Fresh starts measured for the time to first answer (moto: at most 3).
    #[arg(long, default_value_t = 5)]
    first_answer_runs: usize,
    /// The cloudbox binary (default: `cloudbox` beside this binary, else
    /// $CARGO_TARGET_DIR/release/cloudbox).
    #[arg(long)]
    cloudbox_bin: Option<PathBuf>,
    /// The moto_server command.
    #[arg(long, default_value = "moto_server")]
    moto_bin: String,
    /// Internal: run the bare server (used by the `bare` target).
    #[arg(long, hide = true)]
    serve_bare: bool,
}

/// A target under load.
#[derive(Debug, Clone)]
enum Target {
    Server(Kind),
    Url(http::Uri),
}

impl Target {
    fn label(&self) -> String {
        match self {
            Target::Server(Kind::Cloudbox(_)) => "cloudbox".into(),
            Target::Server(Kind::Moto(_)) => "moto".into(),
            Target::Server(Kind::Bare) => "bare".into(),
            Target::Url(u) => u.to_string(),
        }
    }
    fn is_moto(&self) -> bool {
        matches!(self, Target::Server(Kind::Moto(_)))
    }
}

fn secs(s: f64, what: &str) -> anyhow::Result<Duration> {
    if !(s.is_finite() && s >= 0.0) {
        bail!("{what} must be a non-negative number of seconds");
    }
    Ok(Duration::from_secs_f64(s))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve_bare {
        return servers::serve_bare();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = rt.block_on(run(args));
    servers::remove_scratch_dir();
    result
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

struct Plan {
    targets: Vec<Target>,
    scenarios: Vec<Scenario>,
    args: Args,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut targets = Vec::new();
    for t in &args.target {
        targets.push(match t.as_str() {
            "cloudbox" => Target::Server(Kind::Cloudbox(servers::cloudbox_bin(
                args.cloudbox_bin.as_deref(),
            )?)),
            "moto" => Target::Server(Kind::Moto(args.moto_bin.clone())),
            "bare" => Target::Server(Kind::Bare),
            u if u.starts_with("http://") => {
                let uri: http::Uri = u.parse().with_context(|| format!("bad URL {u}"))?;
                Target::Url(uri)
            }
            other => bail!("unknown target {other:?} (cloudbox, moto, bare or an http:// URL)"),
        });
    }
    // moto last, so the bare server is measured right after cloudbox in each scenario.
    targets.sort_by_key(Target::is_moto);
    let scenarios = if args.scenario.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.scenario
            .iter()
            .map(|s| Scenario::parse(s).with_context(|| format!("unknown scenario {s:?}")))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    if args.connections.contains(&0) {
        bail!("--connections must be positive");
    }
    let plan = Plan {
        targets,
        scenarios,
        args,
    };
    let load_before = loadavg();
    let started = std::time::Instant::now();
    let mut out = String::new();
    out.push_str(&format!(
        "Cores: {}. Load average (1/5/15 min) before: {load_before}.\n\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));

    // Time to first answer.
    let mut first = Vec::new();
    for t in &plan.targets {
        let Target::Server(kind) = t else { continue };
        let runs = if t.is_moto() {
            plan.args.first_answer_runs.min(3)
        } else {
            plan.args.first_answer_runs
        };
        if runs == 0 {
            continue;
        }
        eprintln!("first answer: {} × {runs}", t.label());
        first.push((t.label(), servers::first_answer(kind, runs).await?));
    }
    if !first.is_empty() {
        out.push_str("### Time from spawn to the first HTTP 200 (DescribeAvailabilityZones)\n\n| target | runs | min ms | median ms | max ms |\n|---|---:|---:|---:|---:|\n");
        for (label, v) in &first {
            out.push_str(&format!(
                "| {label} | {} | {} | {} | {} |\n",
                v.len(),
                report::ms(v[0]),
                report::ms(v[v.len() / 2]),
                report::ms(v[v.len() - 1])
            ));
        }
        out.push('\n');
    }

    // The bare server runs for the whole bench; it is measured within each scenario.
    let bare_server = if plan
        .targets
        .iter()
        .any(|t| matches!(t, Target::Server(Kind::Bare)))
    {
        Some(servers::start_ready(&Kind::Bare).await?)
    } else {
        None
    };

    let mut all: Vec<(Scenario, Vec<Cell>)> = Vec::new();
    let mut cell_no = 0u32;
    for &sc in &plan.scenarios {
        let mut cells = Vec::new();
        for t in &plan.targets {
            if t.is_moto() && !sc.measures_moto() {
                continue;
            }
            if matches!(t, Target::Server(Kind::Bare)) {
                if let (Some(server), Some((body, note))) = (&bare_server, bare_body(sc)) {
                    cells.extend(measure_bare(&plan, server, body, note).await?);
                }
                continue;
            }
            for &c in &plan.args.connections {
                cell_no += 1;
                eprintln!("{}: {} at {c} connections", sc.name(), t.label());
                let cell = run_cell(&plan, t, sc, c, cell_no).await?;
                if let Some(e) = &cell.result.first_error {
                    eprintln!("  first error: {e}");
                }
                eprintln!(
                    "  {} ok, {} errors, {} cut, {}/s, p50 {} ms",
                    cell.result.ok,
                    cell.result.errors,
                    cell.result.cut,
                    report::rate(cell.result.rate()),
                    cell.result
                        .percentile(50.0)
                        .map(report::ms)
                        .unwrap_or_default()
                );
                cells.push(cell);
            }
        }
        all.push((sc, cells));
    }

    for (sc, cells) in &all {
        out.push_str(&format!("### {}\n\n", sc.title()));
        let rows: Vec<&Cell> = cells.iter().collect();
        let paged = *sc == Scenario::DescribeInstanceTypes;
        out.push_str(&report::table(&rows, paged));
        out.push('\n');
        // moto keeps no cache: its cached figures stand for the uncached variants too.
        let moto_cells = if sc.moto_twin() != *sc {
            all.iter()
                .find(|(x, _)| *x == sc.moto_twin())
                .map_or(&[][..], |(_, c)| c.as_slice())
        } else {
            cells.as_slice()
        };
        out.push_str(&ratios(cells, moto_cells, paged));
        out.push('\n');
    }
    drop(bare_server);
    out.push_str(&goals(&first, &all));
    out.push_str(&format!(
        "\nLoad average after: {}. Whole run: {:.0} s.\n",
        loadavg(),
        started.elapsed().as_secs_f64()
    ));
    println!("{out}");
    Ok(())
}

/// What the bare server is sent in a scenario, if it is measured there: the small probe, or
/// for `DescribeInstances` a call it answers with a body of the size cloudbox's has.
fn bare_body(sc: Scenario) -> Option<(&'static str, &'static str)> {
    match sc {
        Scenario::DescribeInstanceTypes => None,
        Scenario::DescribeInstances | Scenario::DescribeInstancesUncached => Some((
            "Action=DescribeInstances&Version=2016-11-15",
            "fixed 365 KiB XML answer",
        )),
        _ => Some((servers::PROBE_BODY, "fixed 400-byte XML answer")),
    }
}

/// The bare server at every connection count, answering requests with `body`.
async fn measure_bare(
    plan: &Plan,
    server: &servers::Server,
    body: &'static str,
    note: &str,
) -> anyhow::Result<Vec<Cell>> {
    let work = Arc::new(Work::Single {
        bodies: vec![Bytes::from_static(body.as_bytes())],
        expect: None,
    });
    let mut cells = Vec::new();
    for &c in &plan.args.connections {
        eprintln!("bare ({note}): {c} connections");
        let result = measure(
            plan,
            &Target::Server(Kind::Bare),
            &server.uri,
            c,
            work.clone(),
            false,
            Some(server.pid()),
        )
        .await?;
        cells.push(Cell {
            target: "bare".into(),
            connections: c,
            result,
            note: note.into(),
        });
    }
    Ok(cells)
}

/// Warm-up (not for moto) and the measured run of one prepared cell.
async fn measure(
    plan: &Plan,
    target: &Target,
    uri: &http::Uri,
    connections: usize,
    work: Arc<Work>,
    mutating: bool,
    server_pid: Option<u32>,
) -> anyhow::Result<LoadResult> {
    let a = &plan.args;
    let grace = secs(a.grace_secs, "--grace-secs")?;
    if !target.is_moto() {
        let warm = secs(a.warmup_secs, "--warmup-secs")?;
        if !warm.is_zero() {
            let limits = Limits {
                duration: warm,
                grace,
                max_units: 1_000,
            };
            load::run_load(uri, connections, limits, work.clone()).await?;
        }
    }
    let duration = if target.is_moto() {
        secs(a.moto_duration_secs, "--moto-duration-secs")?
    } else {
        secs(a.duration_secs, "--duration-secs")?
    };
    let max_units = if mutating {
        a.requests.min(scenarios::MUTATING_MAX_UNITS)
    } else {
        a.requests
    };
    let limits = Limits {
        duration,
        grace,
        max_units,
    };
    let before = cpu::Snapshot::take(server_pid);
    let mut result = load::run_load(uri, connections, limits, work).await?;
    let after = cpu::Snapshot::take(server_pid);
    result.cpu = before.usage(&after, result.elapsed);
    Ok(result)
}

/// One target × scenario × connection count, on a fresh server when the target is one we start.
async fn run_cell(
    plan: &Plan,
    target: &Target,
    sc: Scenario,
    connections: usize,
    cell_no: u32,
) -> anyhow::Result<Cell> {
    let (server, uri) = match target {
        Target::Server(kind) => {
            let s = servers::start_ready(kind).await?;
            let uri = s.uri.clone();
            (Some(s), uri)
        }
        Target::Url(u) => (None, u.clone()),
    };
    let client = load::client();
    let prepared = sc
        .prepare(&client, &uri, cell_no)
        .await
        .with_context(|| format!("setting up {} on {}", sc.name(), target.label()))?;
    let result = measure(
        plan,
        target,
        &uri,
        connections,
        Arc::new(prepared.work),
        sc.mutating(),
        server.as_ref().map(servers::Server::pid),
    )
    .await?;
    drop(server);
    Ok(Cell {
        target: target.label(),
        connections,
        result,
        note: prepared.note,
    })
}

fn find<'a>(cells: &'a [Cell], target: &str, c: usize) -> Option<&'a Cell> {
    cells
        .iter()
        .find(|x| x.target == target && x.connections == c)
}

fn best<'a>(cells: &'a [Cell], target: &str) -> Option<&'a Cell> {
    cells
        .iter()
        .filter(|x| x.target == target)
        .max_by(|a, b| a.result.rate().total_cmp(&b.result.rate()))
}

fn ratios(cells: &[Cell], moto_cells: &[Cell], paged: bool) -> String {
    let mut conns: Vec<usize> = cells.iter().map(|c| c.connections).collect();
    conns.sort_unstable();
    conns.dedup();
    let mut out = String::from("| conns | cloudbox / moto | cloudbox / bare |\n|---:|---:|---:|\n");
    for c in conns {
        let Some(cb) = find(cells, "cloudbox", c) else {
            continue;
        };
        let moto = find(moto_cells, "moto", c)
            .map_or("—".into(), |m| report::ratio(&cb.result, &m.result));
        let bare = if paged {
            "n/a (a unit is a whole listing)".into()
        } else {
            find(cells, "bare", c).map_or("—".into(), |b| report::ratio(&cb.result, &b.result))
        };
        out.push_str(&format!("| {c} | {moto} | {bare} |\n"));
    }
    if let (Some(cb), Some(m)) = (best(cells, "cloudbox"), best(moto_cells, "moto")) {
        out.push_str(&format!(
            "| best vs best | {} ({} conns vs {} conns) | |\n",
            report::ratio(&cb.result, &m.result),
            cb.connections,
            m.connections
        ));
    }
    out
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**missed**"
    }
}

fn goals(first: &[(String, Vec<Duration>)], all: &[(Scenario, Vec<Cell>)]) -> String {
    let mut out = String::from("### Goals (issue 2 §6)\n\n");
    let cells_of = |s: Scenario| all.iter().find(|(x, _)| *x == s).map(|(_, c)| c.as_slice());
    if let Some(cells) = cells_of(Scenario::DescribeInstances) {
        if let (Some(cb), Some(m)) = (best(cells, "cloudbox"), best(cells, "moto")) {
            let x = report::ratio_value(&cb.result, &m.result).unwrap_or(0.0);
            out.push_str(&format!(
                "- DescribeInstances over 100 instances ≥ 1000× moto (best vs best): {} — {}\n",
                report::ratio(&cb.result, &m.result),
                verdict(x >= 1000.0)
            ));
            if let Some(b) = best(cells, "bare") {
                out.push_str(&format!(
                    "  (moto's best: {}/s, so the goal is {}/s; the bare server sends a body this size at {}/s, cloudbox reaches {} of that)\n",
                    report::rate(m.result.rate()),
                    report::rate(m.result.rate() * 1000.0),
                    report::rate(b.result.rate()),
                    report::ratio(&cb.result, &b.result)
                ));
            }
            if let Some(u) =
                cells_of(Scenario::DescribeInstancesUncached).and_then(|c| best(c, "cloudbox"))
            {
                let x = report::ratio_value(&u.result, &m.result).unwrap_or(0.0);
                out.push_str(&format!(
                    "- DescribeInstances over 100 instances, uncached (every call rendered anew) ≥ 300× moto: {}/s, {} moto — {}\n",
                    report::rate(u.result.rate()),
                    report::ratio(&u.result, &m.result),
                    verdict(x >= 300.0)
                ));
            }
        }
    }
    for s in [
        Scenario::DescribeAvailabilityZones,
        Scenario::AssignPrivateIpAddresses,
        Scenario::RunInstances,
    ] {
        let Some(cells) = cells_of(s) else { continue };
        let mut parts = Vec::new();
        let mut ok = true;
        for b in cells.iter().filter(|c| c.target == "bare") {
            if let Some(cb) = find(cells, "cloudbox", b.connections) {
                let x = report::ratio_value(&cb.result, &b.result).unwrap_or(0.0);
                ok &= x >= 0.5;
                parts.push(format!(
                    "{} at {} conns",
                    report::ratio(&cb.result, &b.result),
                    b.connections
                ));
            }
        }
        if !parts.is_empty() {
            out.push_str(&format!(
                "- {} ≥ ½ of the bare server's rate: {} — {}\n",
                s.name(),
                parts.join(", "),
                verdict(ok)
            ));
        }
    }
    if let Some(cells) = cells_of(Scenario::DescribeInstanceTypes) {
        if let Some(cb) = cells
            .iter()
            .filter(|c| c.target == "cloudbox")
            .min_by_key(|c| c.connections)
        {
            if let (Some(p50), Some(p99)) = (cb.result.percentile(50.0), cb.result.percentile(99.0))
            {
                out.push_str(&format!(
                    "- all instance types listed in < 20 ms ({} conn): p50 {} ms, p99 {} ms — {}\n",
                    cb.connections,
                    report::ms(p50),
                    report::ms(p99),
                    verdict(p50 < Duration::from_millis(20))
                ));
            }
        }
        if let Some(m) = cells
            .iter()
            .filter(|c| c.target == "moto")
            .min_by_key(|c| c.connections)
        {
            if let Some(p50) = m.result.percentile(50.0) {
                out.push_str(&format!("  (moto: p50 {} ms)\n", report::ms(p50)));
            }
        }
    }
    for (label, v) in first {
        if label == "cloudbox" {
            let median = v[v.len() / 2];
            out.push_str(&format!(
                "- `cloudbox up` answers its first call within 100 ms: median {} ms, max {} ms — {}\n",
                report::ms(median),
                report::ms(v[v.len() - 1]),
                verdict(median < Duration::from_millis(100))
            ));
        }
    }
    out
}
