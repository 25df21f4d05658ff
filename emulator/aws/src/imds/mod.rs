//! Instance metadata (IMDSv1 and IMDSv2) per instance, served under
//! `/_cloudbox/imds/<instance-id>/` on the AWS endpoint, so an SDK or agent pointed at it with
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:4566/_cloudbox/imds/<instance-id>/` sees
//! that instance's metadata.
//!
//! IMDSv2: `PUT latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` (1-21600, else
//! 400) answers a token bound to the instance; a GET with `X-aws-ec2-metadata-token` must carry a
//! valid, unexpired token of that instance (else 401). A GET without a token is IMDSv1: accepted
//! unless the instance was launched with `MetadataOptions.HttpTokens=required` (then 401).
//! Unknown or terminated instances and unknown paths answer 404 with IMDS's HTML error body. The paths are in [`tree`].
//!
//! Tokens are stateless (instance id, expiry and a check value), so they survive nothing but
//! also need no store; they are not secret.

pub mod tree;

use crate::region::RegionState;
use crate::server::AwsState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

/// The token TTL header of IMDSv2.
pub const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
/// The token header of IMDSv2.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// Longest token lifetime, seconds.
pub const MAX_TTL: u64 = 21600;

/// The IMDS routes, merged into the endpoint's router.
pub fn routes() -> Router<AwsState> {
    Router::new().route("/_cloudbox/imds/{*rest}", any(imds))
}

/// IMDS's error page (`404 - Not Found`).
pub fn error_body(status: StatusCode) -> String {
    let title = format!(
        "{} - {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n </body>\n</html>\n"
    )
}

fn error(status: StatusCode) -> Response {
    let mut r = (status, error_body(status)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

fn text(body: String, ttl_left: Option<u64>) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    if let Some(t) = ttl_left.and_then(|t| HeaderValue::from_str(&t.to_string()).ok()) {
        h.insert(TTL_HEADER, t);
    }
    r
}

fn check_value(instance_id: &str, expires_ms: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in instance_id
        .bytes()
        .chain(expires_ms.to_le_bytes())
        .chain(*b"cloudbox-imds-v2")
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A token of an instance valid until `expires_ms`.
pub fn token(instance_id: &str, expires_ms: u64) -> String {
    format!(
        "AQAE{expires_ms:016x}{:016x}",
        check_value(instance_id, expires_ms)
    )
}

/// The expiry of a token if it is one of this instance's.
fn token_expiry(instance_id: &str, token: &str) -> Option<u64> {
    let rest = token.strip_prefix("AQAE")?;
    if rest.len() != 32 || !rest.is_ascii() {
        return None;
    }
    let expires = u64::from_str_radix(&rest[..16], 16).ok()?;
    let check = u64::from_str_radix(&rest[16..], 16).ok()?;
    (check == check_value(instance_id, expires)).then_some(expires)
}

/// Runs `f` on the region state holding a live (not terminated) instance.
fn with_instance<T>(s: &AwsState, id: &str, f: impl FnOnce(&mut RegionState) -> T) -> Option<T> {
    let now = s.clock().now();
    for (_, st) in s.regions().all_states() {
        let mut st = st.lock();
        if !st.instances.contains_key(id) {
            continue;
        }
        st.settle(now);
        let live = st
            .instances
            .get(id)
            .is_some_and(|i| i.state != crate::ec2::state::InstanceState::Terminated);
        return live.then(|| f(&mut st));
    }
    None
}

async fn imds(
    State(s): State<AwsState>,
    Path(rest): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let (id, path) = rest.split_once('/').unwrap_or((rest.as_str(), ""));
    let path = path.trim_start_matches('/');
    let now_ms = s.clock().now().as_millis();
    if method == Method::PUT {
        if path.trim_end_matches('/') != "latest/api/token" {
            return error(StatusCode::FORBIDDEN);
        }
        let ttl = headers
            .get(TTL_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|t| (1..=MAX_TTL).contains(t));
        let Some(ttl) = ttl else {
            return error(StatusCode::BAD_REQUEST);
        };
        if with_instance(&s, id, |_| ()).is_none() {
            return error(StatusCode::NOT_FOUND);
        }
        return text(token(id, now_ms + ttl * 1000), Some(ttl));
    }
    if method != Method::GET && method != Method::HEAD {
        return error(StatusCode::METHOD_NOT_ALLOWED);
    }
    let ttl_left = match headers.get(TOKEN_HEADER) {
        None if with_instance(&s, id, |st| {
            st.instances
                .get(id)
                .is_some_and(|i| i.http_tokens == "required")
        }) == Some(true) =>
        {
            return error(StatusCode::UNAUTHORIZED)
        }
        None => None,
        Some(v) => {
            let exp = v.to_str().ok().and_then(|t| token_expiry(id, t));
            match exp {
                Some(e) if e > now_ms => Some((e - now_ms) / 1000),
                _ => return error(StatusCode::UNAUTHORIZED),
            }
        }
    };
    match with_instance(&s, id, |st| tree::get(st, id, path)) {
        Some(Some(body)) => text(body, ttl_left),
        _ => error(StatusCode::NOT_FOUND),
    }
}
