//! The HTTP face of the fake AWS endpoint: one axum [`app`] serving every AWS service on `/`
//! (routed by the SigV4 credential scope), and the admin API under `/_cloudbox/`:
//!
//! | route | what |
//! |---|---|
//! | `GET /_cloudbox/health` | `{"status":"ok"}` |
//! | `GET /_cloudbox/clock` | the simulation time |
//! | `POST /_cloudbox/clock/advance?by=90s` | moves the clock (state changes fire at their times) |
//! | `POST /_cloudbox/reset` | forgets every resource of every account and region |
//! | `GET /_cloudbox/state` | a JSON summary of every region's resources |
//! | `GET`/`PUT /_cloudbox/imds/<instance-id>/…` | the instance's metadata service ([`crate::imds`]) |
//!
//! [`serve_with`] merges more admin routes in (`cloudbox up` adds its controllers' views, such
//! as `/_cloudbox/nodes/<node>/network`).
//!
//! Handlers are thin: collect the parameters, find the service and operation, call the codec and
//! the service. Only the codecs render errors.

use crate::ec2::catalog;
use crate::error::{AwsError, AwsResult, Code};
use crate::protocol::params::ParamNode;
use crate::protocol::{ec2 as ec2_codec, json_input, query as query_codec, sigv4};
use crate::regions::{Output, Regions};
use crate::service::{self, Protocol, Service};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cloudbox_sim::{Clock, IdGen};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Shared state of the endpoint. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AwsState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: Clock,
    regions: Regions,
    request_ids: Mutex<IdGen>,
    strict_output: bool,
    calls: Mutex<std::collections::VecDeque<CallRecord>>,
}

/// How many calls the call log keeps.
const CALL_LOG_LEN: usize = 1000;

/// One entry of the call log: every operation run, from HTTP or the in-process client.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// Simulation time of the call.
    pub time: String,
    /// `ec2:RunInstances`.
    pub operation: String,
    /// The region.
    pub region: &'static str,
    /// The calling account.
    pub account: String,
    /// The error code, if the call failed.
    pub error: Option<String>,
    /// The error message, if the call failed.
    pub message: Option<String>,
}

impl AwsState {
    /// A fresh endpoint on a clock, with a seed for every id it hands out.
    pub fn new(clock: Clock, seed: u64) -> AwsState {
        AwsState {
            inner: Arc::new(Inner {
                regions: Regions::new(clock.clone(), seed),
                clock,
                request_ids: Mutex::new(IdGen::derived(seed, "request-ids")),
                strict_output: false,
                calls: Mutex::new(std::collections::VecDeque::with_capacity(CALL_LOG_LEN)),
            }),
        }
    }

    /// Like [`AwsState::new`], but an output member that the service model does not have fails
    /// the request (`InternalError`) instead of being dropped. Tests use it so a misspelled
    /// member cannot hide.
    pub fn new_strict(clock: Clock, seed: u64) -> AwsState {
        let mut s = AwsState::new(clock, seed);
        if let Some(inner) = Arc::get_mut(&mut s.inner) {
            inner.strict_output = true;
        }
        s
    }
    /// The simulation clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }
    /// Every account's regions.
    pub fn regions(&self) -> &Regions {
        &self.inner.regions
    }
    fn request_id(&self) -> String {
        self.inner.request_ids.lock().uuid()
    }

    /// The most recent calls, oldest first (at most `n`).
    pub fn recent_calls(&self, n: usize) -> Vec<CallRecord> {
        let calls = self.inner.calls.lock();
        calls
            .iter()
            .skip(calls.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    fn log_call<T>(
        &self,
        svc: &dyn Service,
        op: &str,
        region: &'static catalog::Region,
        account: &str,
        result: &AwsResult<T>,
    ) {
        let (error, message) = match result {
            Ok(_) => (None, None),
            Err(e) => (Some(e.code.as_str().to_string()), Some(e.message.clone())),
        };
        let rec = CallRecord {
            time: self.clock().now().to_iso8601_millis(),
            operation: format!("{}:{op}", svc.name()),
            region: region.name,
            account: account.to_string(),
            error,
            message,
        };
        let mut calls = self.inner.calls.lock();
        if calls.len() >= CALL_LOG_LEN {
            calls.pop_front();
        }
        calls.push_back(rec);
    }

    /// Fails an output member the model does not have, in strict mode (tests).
    fn check_output(&self, svc: &dyn Service, op: &str, out: &Value) -> AwsResult<()> {
        if !self.inner.strict_output {
            return Ok(());
        }
        let m = svc.model();
        if let Some(shape) = m.operations.get(op).and_then(|o| o.output) {
            let unknown = crate::protocol::xml::unknown_members(m, shape, out);
            if !unknown.is_empty() {
                return Err(AwsError::new(
                    Code::InternalError,
                    format!("cloudbox bug: {op} output members not in the model: {unknown:?}"),
                ));
            }
        }
        Ok(())
    }

    /// Runs a typed-output writer into an XML sink over the operation's output shape.
    fn render_typed(
        &self,
        m: &'static crate::protocol::model::ServiceModel,
        op: &crate::protocol::model::Operation,
        write: &mut dyn FnMut(&mut dyn crate::protocol::render::Sink) -> AwsResult<()>,
    ) -> AwsResult<String> {
        let Some(shape) = op.output else {
            return Err(AwsError::new(
                Code::InternalError,
                format!("cloudbox bug: {} has no output shape to write", op.name),
            ));
        };
        // Sized like the last typed answer: growing a 365 KiB buffer by doubling copied it twice.
        static LAST_LEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let hint = LAST_LEN.load(std::sync::atomic::Ordering::Relaxed);
        let mut out = String::with_capacity((hint + hint / 8).clamp(4096, 8 << 20));
        let mut unknown = Vec::new();
        write(&mut crate::protocol::render::XmlSink::new(
            m,
            shape,
            &mut out,
            &mut unknown,
        ))?;
        if self.inner.strict_output && !unknown.is_empty() {
            return Err(AwsError::new(
                Code::InternalError,
                format!(
                    "cloudbox bug: {} output members not in the model: {unknown:?}",
                    op.name
                ),
            ));
        }
        LAST_LEN.store(out.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(out)
    }

    /// Runs `op` of `svc` with model-shaped JSON input, as `access_key` in `region`: the
    /// in-process door ([`crate::AwsClient`]). Same checks, handlers, codes and call log as HTTP.
    pub fn invoke(
        &self,
        svc: &'static dyn Service,
        access_key: &str,
        region: &'static catalog::Region,
        op: &str,
        input: &Value,
    ) -> AwsResult<Value> {
        let caller = self.regions().caller(access_key, region);
        let result = (|| {
            let m = svc.model();
            let operation = m.operations.get(op).ok_or_else(|| {
                AwsError::new(
                    Code::InvalidAction,
                    format!("The action {op} is not valid for this web service."),
                )
            })?;
            let input =
                json_input::check(m, operation.input, input).map_err(|e| match svc.protocol() {
                    Protocol::Query => query_codec::missing_as_validation(e),
                    Protocol::Ec2 => e,
                })?;
            let out = self.regions().call(svc, &caller, region, op, &input)?;
            self.check_output(svc, op, &out)?;
            Ok(out)
        })();
        self.log_call(svc, op, region, &caller.account, &result);
        result
    }
}

/// The router: AWS services on `/`, admin API under `/_cloudbox/`.
pub fn app(state: AwsState) -> Router {
    Router::new()
        .route("/_cloudbox/health", get(health))
        .route("/_cloudbox/clock", get(clock_now))
        .route("/_cloudbox/clock/advance", post(clock_advance))
        .route("/_cloudbox/reset", post(reset))
        .route("/_cloudbox/state", get(state_dump))
        .route("/_cloudbox/calls", get(calls))
        .merge(crate::imds::routes())
        .fallback(aws_request)
        .with_state(state)
}

/// Serves the app on a bound listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AwsState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Router::new(), shutdown).await
}

/// [`serve`] with more admin routes merged in (the binary's `/_cloudbox/nodes/…` views of the
/// built-in controllers).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AwsState,
    extra: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Load the service model before the first request so that call is answered at once.
    for svc in service::all() {
        let _ = svc.model();
    }
    let _ = catalog::instance_types();
    axum::serve(listener, extra.merge(app(state)))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn health() -> Json<Value> {
    let services: Vec<&str> = service::all().iter().map(|s| s.name()).collect();
    Json(json!({"status": "ok", "services": services}))
}

async fn calls(State(s): State<AwsState>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let n = q.get("n").and_then(|v| v.parse().ok()).unwrap_or(100);
    Json(json!({"calls": s.recent_calls(n)}))
}

async fn clock_now(State(s): State<AwsState>) -> Json<Value> {
    let now = s.clock().now();
    Json(
        json!({"now": now.to_iso8601_millis(), "epochMillis": now.as_millis(), "manual": s.clock().is_manual(), "timeScale": s.clock().scale()}),
    )
}

/// Parses `90s`, `5m`, `1h`, `250ms`, `2d`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

async fn clock_advance(
    State(s): State<AwsState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(d) = q.get("by").and_then(|v| parse_duration(v)) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "query parameter 'by' must be a duration such as 90s, 5m, 1h"})),
        )
            .into_response();
    };
    s.clock().advance(d);
    clock_now(State(s)).await.into_response()
}

async fn reset(State(s): State<AwsState>) -> Json<Value> {
    s.regions().reset();
    Json(json!({"reset": true}))
}

async fn state_dump(State(s): State<AwsState>) -> Json<Value> {
    let now = s.clock().now();
    let mut out = Vec::new();
    for ((account, region), st) in s.regions().all_states() {
        let mut st = st.lock();
        st.settle(now);
        out.push(crate::ec2::summary(&st, &account, region));
    }
    Json(json!({"now": now.to_iso8601_millis(), "ec2": out}))
}

fn xml_response(status: u16, body: String, request_id: &str) -> Response {
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        body,
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=UTF-8"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

/// A query-protocol error envelope, for requests that name a service cloudbox does not serve.
fn query_error(code: &str, message: &str, request_id: &str, status: u16) -> Response {
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Type>Sender</Type><Code>");
    crate::protocol::xml::escape(&mut body, code);
    body.push_str("</Code><Message>");
    crate::protocol::xml::escape(&mut body, message);
    body.push_str("</Message></Error><RequestId>");
    body.push_str(request_id);
    body.push_str("</RequestId></ErrorResponse>");
    xml_response(status, body, request_id)
}

async fn aws_request(
    State(s): State<AwsState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = s.request_id();
    let mut pairs: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    if method == Method::POST && !body.is_empty() {
        pairs.extend(form_urlencoded::parse(&body).into_owned());
    }
    let scope = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(sigv4::from_authorization)
        .or_else(|| {
            pairs
                .iter()
                .find(|(k, _)| k == "X-Amz-Credential")
                .and_then(|(_, v)| sigv4::from_credential(v))
        });
    let scope = scope.or_else(|| unsigned_scope(&pairs, &headers));
    // Presigned requests carry the signature in the query string; it is not an input member.
    pairs.retain(|(k, _)| !k.starts_with("X-Amz-"));
    let version = pairs
        .iter()
        .find(|(k, _)| k == "Version")
        .map(|(_, v)| v.as_str());
    let svc = scope
        .as_ref()
        .and_then(|sc| service::by_scope(&sc.service, version));
    // Errors before a service is known are answered in EC2's envelope when the scope names EC2
    // (or nothing), else in the query protocol's.
    let render_error = |svc: Option<&dyn Service>, e: AwsError| match svc.map(|s| s.protocol()) {
        Some(Protocol::Query) => xml_response(
            e.status(),
            query_codec::serialize_error(None, &e, &request_id),
            &request_id,
        ),
        _ => xml_response(
            e.status(),
            ec2_codec::serialize_error(&e, &request_id),
            &request_id,
        ),
    };
    if method != Method::POST && method != Method::GET {
        return render_error(
            svc,
            AwsError::new(
                Code::InvalidAction,
                format!("The HTTP method {method} is not supported."),
            ),
        );
    }
    let Some(scope) = scope else {
        return render_error(
            None,
            AwsError::new(
                Code::MissingAuthenticationToken,
                "Request is missing Authentication Token",
            ),
        );
    };
    let Some(svc) = svc else {
        return query_error(
            "InvalidAction",
            &format!("The service '{}' is not served by cloudbox.", scope.service),
            &request_id,
            400,
        );
    };
    let Some(region) = catalog::region(&scope.region) else {
        return render_error(
            Some(svc),
            AwsError::new(
                Code::AuthFailure,
                format!(
                    "Credential should be scoped to a valid region, not '{}'.",
                    scope.region
                ),
            ),
        );
    };
    let params = ParamNode::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    match call_http(&s, svc, &scope.access_key, region, &params, &request_id) {
        Ok(parts) => {
            let mut resp = xml_response(200, String::new(), &request_id);
            *resp.body_mut() = axum::body::Body::new(parts);
            resp
        }
        Err(e) => render_error(Some(svc), e),
    }
}

/// STS actions AWS serves without a signature (`AssumeRoleWithWebIdentity`,
/// `AssumeRoleWithSAML`): routed to STS in the region the `Host` names
/// (`sts.<region>.amazonaws.com`), else us-east-1 (the global endpoint), as an anonymous caller.
fn unsigned_scope(
    pairs: &[(String, String)],
    headers: &HeaderMap,
) -> Option<sigv4::CredentialScope> {
    let action = pairs.iter().find(|(k, _)| k == "Action")?.1.as_str();
    if action != "AssumeRoleWithWebIdentity" && action != "AssumeRoleWithSAML" {
        return None;
    }
    let region = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("sts."))
        .and_then(|h| h.split('.').next())
        .filter(|r| catalog::region(r).is_some())
        .unwrap_or("us-east-1");
    Some(sigv4::CredentialScope {
        access_key: String::new(),
        region: region.to_string(),
        service: "sts".to_string(),
    })
}

/// A response body of a few chunks, sent without being copied into one buffer: the members of a
/// cached read-only response are shared between responses, only the envelope is new.
struct Chunks(std::collections::VecDeque<Bytes>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.iter().map(|b| b.len() as u64).sum())
    }
}

/// Lets shared rendered members back a `Bytes` without a copy.
struct SharedText(Arc<String>);

impl AsRef<[u8]> for SharedText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Runs one request of `svc`; returns the response document as chunks.
fn call_http(
    s: &AwsState,
    svc: &'static dyn Service,
    access_key: &str,
    region: &'static catalog::Region,
    params: &ParamNode,
    request_id: &str,
) -> Result<Chunks, AwsError> {
    let action = params
        .children
        .get("Action")
        .and_then(|n| n.value.as_deref())
        .ok_or_else(|| {
            AwsError::new(
                Code::MissingAction,
                "The request must contain the parameter Action",
            )
        })?;
    let m = svc.model();
    let op = m.operations.get(action).ok_or_else(|| {
        AwsError::new(
            Code::InvalidAction,
            format!("The action {action} is not valid for this web service."),
        )
    })?;
    let caller = s.regions().caller(access_key, region);
    let result = (|| {
        if svc.handler(action).is_none() {
            return Err(service::not_implemented(svc, action));
        }
        if let Some(v) = params
            .children
            .get("Version")
            .and_then(|n| n.value.as_deref())
        {
            if v != m.api_version {
                return Err(AwsError::new(
                    Code::InvalidParameterValue,
                    format!(
                        "Invalid API version {v}; cloudbox serves {} API {}.",
                        svc.title(),
                        m.api_version
                    ),
                ));
            }
        }
        let protocol = svc.protocol();
        let input = match protocol {
            Protocol::Ec2 => ec2_codec::parse(m, op, params)?,
            Protocol::Query => query_codec::parse(m, op, params)?,
        };
        let members = s
            .regions()
            .call_rendered(svc, &caller, region, action, &input, |out| match out {
                Output::Json(out) => {
                    s.check_output(svc, action, out)?;
                    Ok(match protocol {
                        Protocol::Ec2 => ec2_codec::serialize_members(m, op, out),
                        Protocol::Query => query_codec::serialize_members(m, op, out),
                    })
                }
                Output::Typed(write) => s.render_typed(m, op, write),
            })?;
        let (head, tail) = match protocol {
            Protocol::Ec2 => ec2_codec::envelope_parts(m, op, request_id),
            Protocol::Query => query_codec::envelope_parts(m, op, request_id),
        };
        Ok(Chunks(
            [
                Bytes::from(head),
                Bytes::from_owner(SharedText(members)),
                Bytes::from(tail),
            ]
            .into(),
        ))
    })();
    s.log_call(svc, action, region, &caller.account, &result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn send(app: Router, body: &str, auth: Option<&str>) -> (StatusCode, String) {
        let mut req = axum::http::Request::post("/")
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = app
            .oneshot(
                req.body(axum::body::Body::from(body.to_string()))
                    .expect("request"),
            )
            .await
            .expect("response");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x";

    #[tokio::test]
    async fn protocol_errors_are_shaped_like_ec2() {
        let app = app(AwsState::new(Clock::manual(), 1));
        let (status, body) =
            send(app.clone(), "Action=DescribeVpcs&Version=2016-11-15", None).await;
        assert_eq!(status, 403);
        assert!(
            body.contains("<Code>MissingAuthenticationToken</Code>"),
            "{body}"
        );
        let (status, body) = send(
            app.clone(),
            "Action=Frobnicate&Version=2016-11-15",
            Some(AUTH),
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            body.contains("<Response><Errors><Error><Code>InvalidAction</Code>"),
            "{body}"
        );
        assert!(body.contains("<RequestID>"), "{body}");
        let (status, body) = send(
            app.clone(),
            "Action=CreateFleet&Version=2016-11-15",
            Some(AUTH),
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            body.contains("UnsupportedOperation") && body.contains("CreateFleet"),
            "{body}"
        );
        let (_, body) = send(app.clone(), "Version=2016-11-15", Some(AUTH)).await;
        assert!(body.contains("MissingAction"), "{body}");
        let bad_region = AUTH.replace("us-east-1", "mars-north-1");
        let (status, body) = send(
            app.clone(),
            "Action=DescribeVpcs&Version=2016-11-15",
            Some(&bad_region),
        )
        .await;
        assert_eq!(status, 401);
        assert!(body.contains("AuthFailure"), "{body}");
        let (status, body) = send(
            app,
            "Action=DescribeVpcs&Version=2016-11-15&DryRun=true",
            Some(AUTH),
        )
        .await;
        assert_eq!(status, 412);
        assert!(body.contains("DryRunOperation"), "{body}");
    }

    #[tokio::test]
    async fn responses_follow_the_model() {
        let app = app(AwsState::new(Clock::manual(), 1));
        let (status, body) = send(app, "Action=DescribeVpcs&Version=2016-11-15", Some(AUTH)).await;
        assert_eq!(status, 200);
        assert!(body.starts_with("<?xml"));
        assert!(body.contains("<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>"), "{body}");
        assert!(
            body.contains("<vpcSet><item><ownerId>123456789012</ownerId>"),
            "members in model order: {body}"
        );
        assert!(body.contains("<vpcId>vpc-0"), "{body}");
        assert!(body.contains("<isDefault>true</isDefault>"), "{body}");
    }

    #[tokio::test]
    async fn get_query_strings_are_parsed_like_forms() {
        let app = app(AwsState::new(Clock::manual(), 1));
        let req = axum::http::Request::get(
            "/?Action=DescribeAvailabilityZones&Version=2016-11-15&ZoneName.1=us-east-1b",
        )
        .header("authorization", AUTH)
        .body(axum::body::Body::empty())
        .expect("request");
        let resp = app.oneshot(req).await.expect("response");
        assert_eq!(resp.status(), 200);
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = String::from_utf8_lossy(&bytes);
        assert!(body.contains("<zoneName>us-east-1b</zoneName>"), "{body}");
        assert!(!body.contains("us-east-1a"), "{body}");
    }

    #[tokio::test]
    async fn presigned_requests_are_accepted() {
        let app = app(AwsState::new(Clock::manual(), 1));
        let req = axum::http::Request::get(
            "/?Action=DescribeAvailabilityZones&Version=2016-11-15&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKID%2F20260101%2Fcn-northwest-1%2Fec2%2Faws4_request\
             &X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=abc",
        )
        .body(axum::body::Body::empty())
        .expect("request");
        let resp = app.oneshot(req).await.expect("response");
        assert_eq!(resp.status(), 200);
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = String::from_utf8_lossy(&bytes);
        assert!(
            body.contains("<zoneName>cn-northwest-1a</zoneName>"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn query_services_are_routed_by_scope_and_version() {
        let app = app(AwsState::new(Clock::manual(), 1));
        let elb = AUTH.replace("/ec2/", "/elasticloadbalancing/");
        // An operation of the classic ELB model that ELBv2 does not have: routed by Version.
        let (status, body) = send(
            app.clone(),
            "Action=DescribeLoadBalancerPolicyTypes&Version=2012-06-01",
            Some(&elb),
        )
        .await;
        assert_ne!(status, 500, "{body}");
        assert!(!body.contains("InvalidAction"), "{body}");
        let (status, body) = send(
            app.clone(),
            "Action=DescribeLoadBalancerPolicyTypes&Version=2015-12-01",
            Some(&elb),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body.contains("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>"),
            "query-protocol envelope: {body}"
        );
        let (status, body) = send(
            app,
            "Action=GetCallerIdentity&Version=2011-06-15",
            Some(&AUTH.replace("/ec2/", "/s3/")),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("not served by cloudbox"), "{body}");
    }

    #[tokio::test]
    async fn admin_clock_advances() {
        let state = AwsState::new(Clock::manual(), 1);
        let t0 = state.clock().now();
        let resp = app(state.clone())
            .oneshot(
                axum::http::Request::post("/_cloudbox/clock/advance?by=5m")
                    .body(axum::body::Body::empty())
                    .expect("req"),
            )
            .await
            .expect("resp");
        assert_eq!(resp.status(), 200);
        assert_eq!(state.clock().now().0 - t0.0, 300_000);
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("x"), None);
    }
}
