//! The load generator's HTTP side: one hyper client per worker (HTTP/1.1 keep-alive, so one
//! connection per worker while the server keeps it open), the fixed request shape every target
//! receives, and [`run_load`], which drives N workers against a [`Work`] until a unit budget or a
//! time budget runs out and returns every latency.
//!
//! Every target gets exactly the same bytes: `POST /`, a form-encoded body and the fixed SigV4
//! `Authorization` header below for the request's service (signatures are not checked by
//! cloudbox or moto).

use anyhow::{bail, Context};
use bytes::Bytes;
use http::{header, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The Authorization header sent with EC2 requests: SigV4 scope `us-east-1/ec2`.
pub const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0";
/// The same for Elastic Load Balancing (`Version=2015-12-01` bodies).
const AUTHORIZATION_ELB: &str = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=0";
/// The same for Auto Scaling (`Version=2011-01-01` bodies).
const AUTHORIZATION_ASG: &str = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/autoscaling/aws4_request, SignedHeaders=host, Signature=0";

/// The header for a body: the SigV4 scope names the service its `Version` belongs to (both
/// cloudbox and moto route by the scope).
fn authorization(body: &[u8]) -> &'static str {
    if contains(body, b"Version=2015-12-01") {
        AUTHORIZATION_ELB
    } else if contains(body, b"Version=2011-01-01") {
        AUTHORIZATION_ASG
    } else {
        AUTHORIZATION
    }
}

/// A client holding at most one idle connection: a worker sends one request at a time, so it
/// uses exactly one connection as long as the server keeps connections alive.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A new client for one worker.
pub fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build(connector)
}

/// A whole HTTP response: status and body.
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// The body, fully read.
    pub body: Bytes,
}

/// Sends one form-encoded POST to `uri` and reads the whole answer.
pub async fn post(client: &HttpClient, uri: &Uri, body: Bytes) -> anyhow::Result<Reply> {
    let req = Request::post(uri.clone())
        .header(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .header(header::AUTHORIZATION, authorization(&body))
        .body(Full::new(body))
        .context("building the request")?;
    let resp = client.request(req).await.context("sending the request")?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .context("reading the response body")?
        .to_bytes();
    Ok(Reply { status, body })
}

/// Sends a setup call and returns the body as text; anything but HTTP 200 is an error.
pub async fn call(client: &HttpClient, uri: &Uri, body: String) -> anyhow::Result<String> {
    let action = body.split('&').next().unwrap_or_default().to_string();
    let reply = post(client, uri, Bytes::from(body)).await?;
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    if reply.status != StatusCode::OK {
        bail!(
            "{action}: HTTP {}: {}",
            reply.status,
            text.chars().take(400).collect::<String>()
        );
    }
    Ok(text)
}

/// Whether `needle` occurs in `hay` (plain byte search; the bodies checked are small or the
/// needle sits near the start, see [`Work`]).
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The text of the first `<tag>…</tag>` in `xml`.
pub fn first_element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// How many times `<tag>` occurs in `xml`.
pub fn count_elements(xml: &str, tag: &str) -> usize {
    xml.matches(&format!("<{tag}>")).count()
}

/// One unit of measured work.
#[derive(Debug, Clone)]
pub enum Work {
    /// One request; unit `n` sends `bodies[n % len]`. A reply counts as good when it is HTTP 200
    /// and, if `expect` is set, `expect` occurs in the first [`HEAD_BYTES`] of the body (every
    /// expected element sits right after `<requestId>`).
    Single {
        /// Request bodies, used round-robin.
        bodies: Vec<Bytes>,
        /// An element the answer must contain near its start.
        expect: Option<&'static str>,
    },
    /// A create and its delete: send `bodies[n % len]`, take the text of `<{id_tag}>` from the
    /// answer and send `{delete}{url-encoded id}` (so a quota on live resources is never hit).
    /// Two HTTP requests per unit; both must be HTTP 200.
    CreateThenDelete {
        /// Create bodies, used round-robin.
        bodies: Vec<Bytes>,
        /// The element holding the new resource's id.
        id_tag: &'static str,
        /// The delete body up to the id (`Action=DeleteLoadBalancer&…&LoadBalancerArn=`).
        delete: String,
    },
    /// A listing: send `body`, then `body&NextToken=…` while the answer has a `<nextToken>`.
    /// Every page must be HTTP 200 and contain `expect` near its start.
    Paged {
        /// The first page's body.
        body: String,
        /// An element every page must contain near its start.
        expect: &'static str,
    },
}

/// How much of a body's start [`Work`] checks for the expected element.
pub const HEAD_BYTES: usize = 8192;

/// The most pages a [`Work::Paged`] listing follows before calling the answer an error.
const MAX_PAGES: u64 = 200;

impl Work {
    /// Runs unit `n`; returns the number of HTTP requests it took.
    pub async fn unit(&self, client: &HttpClient, uri: &Uri, n: u64) -> anyhow::Result<u64> {
        match self {
            Work::Single { bodies, expect } => {
                let len = bodies.len().max(1) as u64;
                let body = bodies
                    .get((n % len) as usize)
                    .cloned()
                    .context("no request body")?;
                let reply = post(client, uri, body).await?;
                check(&reply, *expect)?;
                Ok(1)
            }
            Work::CreateThenDelete {
                bodies,
                id_tag,
                delete,
            } => {
                let len = bodies.len().max(1) as u64;
                let body = bodies
                    .get((n % len) as usize)
                    .cloned()
                    .context("no request body")?;
                let reply = post(client, uri, body).await?;
                check(&reply, None)?;
                let text = String::from_utf8_lossy(&reply.body);
                let id = first_element(&text, id_tag)
                    .with_context(|| format!("no <{id_tag}> in the answer"))?;
                let enc: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
                let reply = post(client, uri, Bytes::from(format!("{delete}{enc}"))).await?;
                check(&reply, None)?;
                Ok(2)
            }
            Work::Paged { body, expect } => {
                let mut pages = 0;
                let mut next: Option<String> = None;
                loop {
                    let req = match &next {
                        None => body.clone(),
                        Some(tok) => {
                            let enc: String =
                                form_urlencoded::byte_serialize(tok.as_bytes()).collect::<String>();
                            format!("{body}&NextToken={enc}")
                        }
                    };
                    let reply = post(client, uri, Bytes::from(req)).await?;
                    check(&reply, Some(expect))?;
                    pages += 1;
                    next = next_token(&reply.body);
                    if next.is_none() {
                        return Ok(pages);
                    }
                    if pages >= MAX_PAGES {
                        bail!("more than {MAX_PAGES} pages");
                    }
                }
            }
        }
    }
}

fn check(reply: &Reply, expect: Option<&str>) -> anyhow::Result<()> {
    if reply.status != StatusCode::OK {
        bail!(
            "HTTP {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body[..reply.body.len().min(300)])
        );
    }
    if let Some(e) = expect {
        let head = &reply.body[..reply.body.len().min(HEAD_BYTES)];
        if !contains(head, e.as_bytes()) {
            bail!(
                "HTTP 200 without {e}: {}",
                String::from_utf8_lossy(&reply.body[..reply.body.len().min(300)])
            );
        }
    }
    Ok(())
}

/// The `<nextToken>` of a listing page: it is the last member of every EC2 listing output, so
/// only the tail of the body is searched.
pub fn next_token(body: &[u8]) -> Option<String> {
    let tail = &body[body.len().saturating_sub(4096)..];
    let text = String::from_utf8_lossy(tail);
    let tok = first_element(&text, "nextToken")?;
    (!tok.is_empty()).then(|| tok.to_string())
}

/// Budgets of one measured run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// No unit starts after this much time.
    pub duration: Duration,
    /// Units still running this long after `duration` are abandoned and counted as cut.
    pub grace: Duration,
    /// No more than this many units in total.
    pub max_units: u64,
}

/// The outcome of one measured run.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Units answered correctly.
    pub ok: u64,
    /// Units that failed (transport error, non-200, missing element).
    pub errors: u64,
    /// Units abandoned at the hard deadline.
    pub cut: u64,
    /// HTTP requests of the good units.
    pub requests: u64,
    /// Wall time from the first unit to the last worker's end.
    pub elapsed: Duration,
    /// Latencies of the good units, sorted.
    pub latencies: Vec<Duration>,
    /// The first error seen, for the log.
    pub first_error: Option<String>,
    /// CPU used during the run by the server, the client and the rest of the machine.
    pub cpu: crate::cpu::Usage,
}

impl LoadResult {
    /// Good units per second.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.ok as f64 / s
        } else {
            0.0
        }
    }
    /// CPU microseconds per good unit.
    pub fn cpu_per_unit(&self, cpu: Option<Duration>) -> Option<f64> {
        let cpu = cpu?;
        (self.ok > 0).then(|| cpu.as_secs_f64() * 1e6 / self.ok as f64)
    }
    /// The `p`th percentile latency (nearest rank), if any unit succeeded.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        let n = self.latencies.len();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.latencies.get(rank.clamp(1, n) - 1).copied()
    }
}

#[derive(Default)]
struct WorkerResult {
    ok: u64,
    errors: u64,
    cut: u64,
    requests: u64,
    latencies: Vec<Duration>,
    first_error: Option<String>,
}

/// Runs `work` on `connections` workers (one client and connection each) until `limits` run out.
pub async fn run_load(
    uri: &Uri,
    connections: usize,
    limits: Limits,
    work: Arc<Work>,
) -> anyhow::Result<LoadResult> {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let soft = start + limits.duration;
    let hard = tokio::time::Instant::from_std(soft + limits.grace);
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        let (next, work, uri) = (next.clone(), work.clone(), uri.clone());
        tasks.push(tokio::spawn(async move {
            let client = client();
            let mut r = WorkerResult::default();
            loop {
                if Instant::now() >= soft {
                    break;
                }
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= limits.max_units {
                    break;
                }
                let t0 = Instant::now();
                match tokio::time::timeout_at(hard, work.unit(&client, &uri, n)).await {
                    Ok(Ok(reqs)) => {
                        r.latencies.push(t0.elapsed());
                        r.ok += 1;
                        r.requests += reqs;
                    }
                    Ok(Err(e)) => {
                        r.errors += 1;
                        r.first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                    Err(_) => {
                        r.cut += 1;
                        break;
                    }
                }
            }
            r
        }));
    }
    let mut out = LoadResult::default();
    for t in tasks {
        let r = t.await.context("a load worker panicked")?;
        out.ok += r.ok;
        out.errors += r.errors;
        out.cut += r.cut;
        out.requests += r.requests;
        out.latencies.extend(r.latencies);
        if out.first_error.is_none() {
            out.first_error = r.first_error;
        }
    }
    out.elapsed = start.elapsed();
    out.latencies.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tokens_and_elements() {
        let xml = b"<R><requestId>x</requestId><set><item/></set><nextToken>cb164</nextToken></R>";
        assert_eq!(next_token(xml).as_deref(), Some("cb164"));
        assert_eq!(next_token(b"<R><nextToken></nextToken></R>"), None);
        assert_eq!(next_token(b"<R/>"), None);
        let s = "<a><vpcId>vpc-1</vpcId><vpcId>vpc-2</vpcId></a>";
        assert_eq!(first_element(s, "vpcId"), Some("vpc-1"));
        assert_eq!(count_elements(s, "vpcId"), 2);
        assert!(contains(b"hello world", b"o w"));
        assert!(!contains(b"hello", b""));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let r = LoadResult {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ..LoadResult::default()
        };
        assert_eq!(r.percentile(50.0), Some(Duration::from_millis(50)));
        assert_eq!(r.percentile(99.0), Some(Duration::from_millis(99)));
        assert_eq!(r.percentile(100.0), Some(Duration::from_millis(100)));
        assert_eq!(LoadResult::default().percentile(50.0), None);
    }
}
