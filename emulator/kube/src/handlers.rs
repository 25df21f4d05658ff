//! HTTP layer: routes, request parsing (paths, query parameters, bodies, content types) and
//! response rendering. Handlers are thin: they parse, call [`crate::ops`] under the state's
//! lock, and render the result as JSON, a Table or a watch stream.

use crate::discovery;
use crate::error::{success_status, KubeApiError, KubeResult};
use crate::kinds::rbac::{self, Attributes, UserInfo};
use crate::ops::{prepare_create, Db, DeleteOpts, FieldValidation, Sub, WriteOpts, Written};
use crate::patch::PatchType;
use crate::registry::ResourceDef;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::watch::{self, WatchRequest};
use crate::{convert, openapi, table, KubeState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::{BufMut, Bytes, BytesMut};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Largest accepted request body.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The router of the whole API.
pub fn routes(state: KubeState) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/healthz", get(ok))
        .route("/readyz", get(ok))
        .route("/livez", get(ok))
        .route("/metrics", get(metrics))
        .route("/api", get(api_root))
        .route("/apis", get(apis_root))
        .route("/openapi/v3", get(openapi_index))
        .route("/openapi/v3/{*path}", get(openapi_doc))
        .route("/openapi/v2", get(openapi_v2))
        .fallback(resource)
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .with_state(state)
}

async fn auth(State(st): State<KubeState>, mut req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    // A service-account token issued by `serviceaccounts/token` authenticates its account.
    // It stops authenticating once its account or bound object is deleted (`claims.go`).
    let sa_user = given.as_deref().and_then(|t| {
        let now = st.clock().now().as_millis();
        let db = st.db().read();
        db.tokens
            .get(t)
            .filter(|i| i.expires_ms > now)
            .filter(|i| crate::kinds::reviews::invalidated(&db.store, i).is_none())
            .map(|i| i.user.clone())
    });
    let user = match sa_user {
        Some(u) => u,
        None => {
            let path = req.uri().path();
            let open = matches!(path, "/healthz" | "/readyz" | "/livez" | "/version");
            // A bearer token that is neither the kubeconfig's nor a live service-account token
            // (expired, never issued) is refused, as upstream's token authenticators do; no
            // token at all is the kubeconfig user when the server requires none.
            let refused = match (st.token(), given.as_deref()) {
                (Some(token), g) => g != Some(token),
                (None, Some(_)) => true,
                (None, None) => false,
            };
            if refused && !open {
                return KubeApiError::unauthorized().into_response();
            }
            UserInfo::admin()
        }
    };
    let user = match impersonated(req.headers()) {
        // Only the cluster-admin may impersonate (upstream checks the `impersonate` verb).
        Some(other) if user.is_admin() => other,
        _ => user,
    };
    req.extensions_mut().insert(user);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    st.metrics().record(&method, &path, resp.status().as_u16());
    resp
}

/// The user of `Impersonate-User` / `Impersonate-Group` headers (`kubectl --as`, `--as-group`).
fn impersonated(headers: &HeaderMap) -> Option<UserInfo> {
    let name = headers.get("impersonate-user")?.to_str().ok()?.to_string();
    let mut groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    if let Some(rest) = name.strip_prefix("system:serviceaccount:") {
        if let Some((ns, sa)) = rest.split_once(':') {
            let mut u = UserInfo::service_account(ns, sa, "");
            u.groups.retain(|g| !groups.contains(g));
            groups.extend(u.groups);
            return Some(UserInfo { groups, ..u });
        }
    }
    if !groups.iter().any(|g| g == "system:authenticated") {
        groups.push("system:authenticated".into());
    }
    Some(UserInfo {
        name,
        uid: String::new(),
        groups,
    })
}

async fn metrics(State(st): State<KubeState>) -> Response {
    let body = {
        let db = st.db().read();
        st.metrics().render(&db)
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

fn json_response(code: StatusCode, v: &Value, warnings: &[String]) -> Response {
    bytes_response(
        code,
        Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
        warnings,
    )
}

/// A JSON answer whose body is already serialized.
fn bytes_response(code: StatusCode, body: Bytes, warnings: &[String]) -> Response {
    let mut r = (code, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append("Warning", v);
        }
    }
    r
}

async fn version() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "major": "1", "minor": "32", "gitVersion": crate::KUBE_VERSION,
            "gitCommit": "cloudbox", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.23.6", "compiler": "gc", "platform": "linux/amd64",
        }),
        &[],
    )
}

async fn ok() -> &'static str {
    "ok"
}

fn accept(headers: &HeaderMap) -> String {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string()
}

fn discovery_response(headers: &HeaderMap, st: &KubeState, core: bool) -> Response {
    let db = st.db().read();
    if let Some(v) = discovery::wants_aggregated(&accept(headers)) {
        let doc = discovery::aggregated(&db.registry, core, v);
        let mut r = json_response(StatusCode::OK, &doc, &[]);
        if let Ok(ct) = HeaderValue::from_str(&discovery::aggregated_content_type(v)) {
            r.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        return r;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:6443");
    let doc = if core {
        discovery::api_versions(host)
    } else {
        discovery::api_group_list(&db.registry)
    };
    json_response(StatusCode::OK, &doc, &[])
}

async fn api_root(State(st): State<KubeState>, headers: HeaderMap) -> Response {
    discovery_response(&headers, &st, true)
}

async fn apis_root(State(st): State<KubeState>, headers: HeaderMap) -> Response {
    discovery_response(&headers, &st, false)
}

async fn openapi_index(State(st): State<KubeState>) -> Response {
    let docs = openapi::served_documents(&st.db().read().registry);
    json_response(StatusCode::OK, &openapi::index(&docs), &[])
}

async fn openapi_doc(State(st): State<KubeState>, req: Request) -> Response {
    let path = req.uri().path().trim_start_matches("/openapi/v3/");
    let doc = openapi::v3_document_at(&st.db().read().registry, path);
    let Some(doc) = doc else {
        return KubeApiError::path_not_found().into_response();
    };
    let query = Query::parse(req.uri().query());
    let cache = match query.get("hash") {
        // A stale hash is redirected to the current document's URL.
        Some(h) if h != doc.hash => {
            let url = format!("/openapi/v3/{path}?hash={}", doc.hash);
            let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
            if let Ok(v) = HeaderValue::from_str(&url) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        Some(_) => "public, immutable",
        None => "no-cache, private",
    };
    openapi_response(
        req.headers(),
        doc.bytes,
        &doc.hash,
        "application/json",
        cache,
    )
}

async fn openapi_v2(State(st): State<KubeState>, headers: HeaderMap) -> Response {
    let docs = openapi::served_documents(&st.db().read().registry);
    // Built (or taken from the cache) outside the state lock.
    let v2 = openapi::v2::document(&docs);
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let protobuf = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .find(|t| t.starts_with("application/com.github.proto-openapi.spec.v2"));
    match protobuf {
        // Upstream answers with this spelling (`@` is not valid in a media type Go parses).
        Some(_) => openapi_response(
            &headers,
            v2.protobuf.clone(),
            &v2.hash,
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            "no-cache, private",
        ),
        None => openapi_response(
            &headers,
            v2.json.clone(),
            &v2.hash,
            "application/json",
            "no-cache, private",
        ),
    }
}

/// An OpenAPI document with its ETag; `If-None-Match` on the same ETag answers 304.
fn openapi_response(
    req_headers: &HeaderMap,
    body: Bytes,
    hash: &str,
    content_type: &str,
    cache_control: &'static str,
) -> Response {
    let etag = format!("\"{hash}\"");
    let unchanged = req_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut r = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if !unchanged {
        if let Ok(v) = HeaderValue::from_str(content_type) {
            h.insert(header::CONTENT_TYPE, v);
        }
    }
    r
}

/// Query parameters.
struct Query(HashMap<String, String>);

impl Query {
    fn parse(q: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(q.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true" | "1" | "True"))
    }
    fn write_opts(&self, headers: &HeaderMap) -> KubeResult<WriteOpts> {
        let validation = match self.get("fieldValidation") {
            None | Some("") => FieldValidation::Warn,
            Some("Strict") => FieldValidation::Strict,
            Some("Warn") => FieldValidation::Warn,
            Some("Ignore") => FieldValidation::Ignore,
            Some(other) => {
                return Err(KubeApiError::bad_request(format!(
                    "fieldValidation must be one of Ignore, Warn, or Strict, got {other:?}"
                )))
            }
        };
        let dry_run = match self.get("dryRun") {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                return Err(KubeApiError::bad_request(format!(
                    "dryRun: Unsupported value: \"{other}\": supported values: \"All\""
                )))
            }
        };
        let manager = match self.get("fieldManager") {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .and_then(|ua| ua.split('/').next())
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
                .chars()
                .take(128)
                .collect(),
        };
        Ok(WriteOpts {
            dry_run,
            manager,
            validation,
            force: self.flag("force"),
            requester: None,
        })
    }
}

/// What a resource path addresses.
struct Target {
    def: Arc<ResourceDef>,
    ns: Option<String>,
    name: Option<String>,
    sub: Sub,
}

fn decode_seg(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

async fn resource(State(st): State<KubeState>, req: Request) -> Response {
    match dispatch(st, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn dispatch(st: KubeState, req: Request) -> KubeResult<Response> {
    let (parts, body) = req.into_parts();
    let user = parts
        .extensions
        .get::<UserInfo>()
        .cloned()
        .unwrap_or_else(UserInfo::admin);
    let mut q = Query::parse(parts.uri.query());
    let mut segs: Vec<String> = parts
        .uri
        .path()
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_seg)
        .collect();
    let (group, version, rest_at) = match segs.first().map(String::as_str) {
        Some("api") => (String::new(), segs.get(1).cloned(), 2),
        Some("apis") => match segs.get(1) {
            Some(g) => (g.clone(), segs.get(2).cloned(), 3),
            None => return Err(KubeApiError::path_not_found()),
        },
        _ => return Err(KubeApiError::path_not_found()),
    };
    let Some(version) = version else {
        // /apis/{group}
        let db = st.db().read();
        return discovery::api_group(&db.registry, &group)
            .map(|g| json_response(StatusCode::OK, &g, &[]))
            .ok_or_else(KubeApiError::path_not_found);
    };
    let mut rest: Vec<String> = segs.split_off(rest_at.min(segs.len()));
    if rest.is_empty() {
        if parts.method != Method::GET {
            return Err(KubeApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
        let db = st.db().read();
        return discovery::api_resource_list(&db.registry, &group, &version)
            .map(|l| json_response(StatusCode::OK, &l, &[]))
            .ok_or_else(KubeApiError::path_not_found);
    }
    if rest.first().map(String::as_str) == Some("watch") {
        rest.remove(0);
        q.0.insert("watch".into(), "true".into());
    }
    let target = resolve(&st.registry(), &group, &version, &rest)?;
    if st.authorization() == crate::Authorization::Rbac && !user.is_admin() {
        authorize(&st, &user, &parts.method, &q, &target)?;
    }
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| KubeApiError::bad_request("request body too large or unreadable"))?;
    handle(st, parts.method, &parts.headers, q, target, body, &user).await
}

/// RBAC authorization of a request by a service account (the kubeconfig user is
/// `system:masters`, which upstream's authorizer short-circuits the same way).
fn authorize(
    st: &KubeState,
    user: &UserInfo,
    method: &Method,
    q: &Query,
    t: &Target,
) -> KubeResult<()> {
    let verb = match (method, t.name.is_some()) {
        (&Method::GET, _) if q.flag("watch") => "watch",
        (&Method::GET, false) => "list",
        (&Method::GET, true) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, false) => "deletecollection",
        (&Method::DELETE, true) => "delete",
        _ => "get",
    };
    let a = Attributes {
        verb: verb.to_string(),
        group: t.def.group.clone(),
        resource: t.def.plural.clone(),
        subresource: t.sub.name().to_string(),
        name: t.name.clone().unwrap_or_default(),
        namespace: t.ns.clone().unwrap_or_default(),
        path: None,
    };
    let db = st.db().read();
    let policy = crate::kinds::reviews::policy(&db.store, &a.namespace);
    if policy.allows(user, &a) {
        return Ok(());
    }
    let mut e = KubeApiError::forbidden(rbac::forbidden_message(user, &a));
    e.details = Some(json!({"name": a.name, "group": a.group, "kind": a.resource}));
    Err(e)
}

fn resolve(
    reg: &crate::registry::Registry,
    group: &str,
    version: &str,
    rest: &[String],
) -> KubeResult<Target> {
    let r: Vec<&str> = rest.iter().map(String::as_str).collect();
    let lookup = |plural: &str| {
        reg.get(group, version, plural)
            .ok_or_else(KubeApiError::path_not_found)
    };
    let sub = |s: &str, def: &ResourceDef| -> KubeResult<Sub> {
        crate::kinds::strategy::subresource(def, s).ok_or_else(KubeApiError::path_not_found)
    };
    let t = |def: Arc<ResourceDef>, ns: Option<&str>, name: Option<&str>, s: Sub| Target {
        def,
        ns: ns.map(str::to_string),
        name: name.map(str::to_string),
        sub: s,
    };
    match r.as_slice() {
        ["namespaces", ns, plural] if *plural != "status" && *plural != "finalize" => {
            let def = lookup(plural)?;
            if !def.namespaced {
                return Err(KubeApiError::path_not_found());
            }
            Ok(t(def, Some(ns), None, Sub::Main))
        }
        ["namespaces", ns, plural, name] => {
            let def = lookup(plural)?;
            if !def.namespaced {
                return Err(KubeApiError::path_not_found());
            }
            Ok(t(def, Some(ns), Some(name), Sub::Main))
        }
        ["namespaces", ns, plural, name, s] => {
            let def = lookup(plural)?;
            if !def.namespaced {
                return Err(KubeApiError::path_not_found());
            }
            let s = sub(s, &def)?;
            Ok(t(def, Some(ns), Some(name), s))
        }
        [plural] => Ok(t(lookup(plural)?, None, None, Sub::Main)),
        [plural, name] => {
            let def = lookup(plural)?;
            if def.namespaced {
                return Err(KubeApiError::path_not_found());
            }
            Ok(t(def, None, Some(name), Sub::Main))
        }
        [plural, name, s] => {
            let def = lookup(plural)?;
            if def.namespaced {
                return Err(KubeApiError::path_not_found());
            }
            let s = sub(s, &def)?;
            Ok(t(def, None, Some(name), s))
        }
        _ => Err(KubeApiError::path_not_found()),
    }
}

fn parse_body(headers: &HeaderMap, body: &Bytes) -> KubeResult<Value> {
    if body.is_empty() {
        return Err(KubeApiError::bad_request("the request body is empty"));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if cloudbox_kube_protobuf::is_protobuf(ct) {
        return cloudbox_kube_protobuf::decode(body)
            .map_err(|e| KubeApiError::bad_request(format!("error decoding protobuf body: {e}")));
    }
    if ct.contains("protobuf") || ct.contains("cbor") {
        return Err(KubeApiError::unsupported_media_type(ct));
    }
    if ct.contains("yaml") {
        return serde_yaml_ng::from_slice::<Value>(body)
            .map_err(|e| KubeApiError::bad_request(format!("error decoding YAML: {e}")));
    }
    serde_json::from_slice::<Value>(body).map_err(|e| {
        KubeApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    })
}

fn written(w: Written, default: StatusCode) -> Response {
    let code = if w.created {
        StatusCode::CREATED
    } else {
        default
    };
    match &w.change {
        // The stored bytes are the answer when no conversion applies: no second serialization.
        Some(c) => bytes_response(code, c.obj_json().clone(), &w.warnings),
        None => json_response(code, &w.obj, &w.warnings),
    }
}

fn selectors(q: &Query, def: &ResourceDef) -> KubeResult<(LabelSelector, FieldSelector)> {
    let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(
        q.get("fieldSelector").unwrap_or(""),
        def,
        crate::kinds::strategy::for_kind(def).field_labels(),
    )?;
    Ok((labels, fields))
}

fn delete_opts(q: &Query, headers: &HeaderMap, body: &Bytes) -> KubeResult<DeleteOpts> {
    let mut o = DeleteOpts::default();
    if !body.is_empty() {
        let v = parse_body(headers, body)?;
        o.propagation = v
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .map(str::to_string);
        o.grace = v.get("gracePeriodSeconds").and_then(Value::as_i64);
        o.uid = v
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string);
        o.rv = v
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string);
        o.dry_run = v
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x == "All"));
        if v.get("orphanDependents").and_then(Value::as_bool) == Some(true)
            && o.propagation.is_none()
        {
            o.propagation = Some("Orphan".into());
        }
    }
    if let Some(p) = q.get("propagationPolicy") {
        o.propagation = Some(p.to_string());
    }
    if let Some(g) = q.get("gracePeriodSeconds") {
        o.grace = Some(
            g.parse()
                .map_err(|_| KubeApiError::bad_request("gracePeriodSeconds must be an integer"))?,
        );
    }
    if q.get("dryRun") == Some("All") {
        o.dry_run = true;
    }
    if q.get("orphanDependents") == Some("true") && o.propagation.is_none() {
        o.propagation = Some("Orphan".into());
    }
    Ok(o)
}

fn list_json(
    def: &ResourceDef,
    items: &[Arc<crate::store::Change>],
    rv: u64,
    cont: Option<&str>,
    remaining: Option<usize>,
) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    if let Some(r) = remaining {
        meta["remainingItemCount"] = json!(r);
    }
    let mut buf = BytesMut::with_capacity(256 + items.len() * 1024);
    buf.put_slice(b"{\"kind\":");
    buf.put_slice(&serde_json::to_vec(&def.list_kind()).unwrap_or_default());
    buf.put_slice(b",\"apiVersion\":");
    buf.put_slice(&serde_json::to_vec(&def.api_version()).unwrap_or_default());
    buf.put_slice(b",\"metadata\":");
    buf.put_slice(&serde_json::to_vec(&meta).unwrap_or_default());
    buf.put_slice(b",\"items\":[");
    let convert = convert::needs_conversion(def);
    for (i, o) in items.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b',');
        }
        if convert {
            let bytes = serde_json::to_vec(&convert::from_storage(def, &o.obj()));
            buf.put_slice(&bytes.unwrap_or_default());
        } else {
            // Each object is serialized once, when stored, and shared by lists and watches.
            buf.put_slice(o.obj_json());
        }
    }
    buf.put_slice(b"]}");
    buf.freeze()
}

#[allow(clippy::too_many_arguments)] // the request's parts
async fn handle(
    st: KubeState,
    method: Method,
    headers: &HeaderMap,
    q: Query,
    t: Target,
    body: Bytes,
    user: &UserInfo,
) -> KubeResult<Response> {
    let def = t.def.clone();
    let ns_str = t.ns.clone().unwrap_or_default();
    let now = st.clock().now();
    let wants_table = table::wants_table(&accept(headers));
    if let Sub::Stream(sub) = t.sub {
        return Err(crate::kinds::pod_log::stream_refused(
            sub,
            t.name.as_deref().unwrap_or(""),
        ));
    }
    let post_only = matches!(t.sub, Sub::Binding | Sub::Eviction | Sub::Token)
        || (def.verbs.len() == 1 && def.allows("create"));
    if post_only && method != Method::POST || t.sub == Sub::Log && method != Method::GET {
        return Err(KubeApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    if def.verbs.len() == 1 && def.allows("create") {
        // Virtual review resources: answered, never stored.
        let body = parse_body(headers, &body)?;
        let db = st.db().read();
        let answer = crate::kinds::reviews::review(
            &db.store,
            &db.tokens,
            now.as_millis(),
            &def.kind,
            t.ns.as_deref(),
            body,
            user,
        )?;
        return Ok(json_response(StatusCode::CREATED, &answer, &[]));
    }
    if let (Sub::Log, Some(name)) = (t.sub, t.name.as_deref()) {
        let pod = st.db().read().get(&def, &ns_str, name)?;
        let tail = q.get("tailLines").and_then(|n| n.parse::<usize>().ok());
        let text = crate::kinds::pod_log::log(
            &pod,
            q.get("container"),
            q.flag("previous"),
            q.flag("timestamps"),
            tail,
        )?;
        let mut r = (StatusCode::OK, text).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return Ok(r);
    }
    if let (Sub::Token, Some(name)) = (t.sub, t.name.as_deref()) {
        let body = parse_body(headers, &body)?;
        let mut db = st.db().write();
        let sa = db.get(&def, &ns_str, name)?;
        db.token_serial += 1;
        let serial = db.token_serial;
        let bound = crate::kinds::reviews::bound_object(&db.store, &ns_str, name, &body)?;
        let (answer, token, issued) =
            crate::kinds::reviews::token_request(&sa, &body, bound, now.as_millis(), serial)?;
        // Expired tokens are forgotten (they could only be refused).
        let now_ms = now.as_millis();
        db.tokens.retain(|_, t| t.expires_ms > now_ms);
        db.tokens.insert(token, issued);
        return Ok(json_response(StatusCode::CREATED, &answer, &[]));
    }
    match (&method, t.name.as_deref()) {
        (&Method::GET, None) => {
            let (labels, fields) = selectors(&q, &def)?;
            if q.flag("watch") {
                return watch_response(st, &q, def, t.ns, labels, fields, wants_table);
            }
            if q.get("sendInitialEvents").is_some() {
                return Err(KubeApiError::invalid(
                    "ListOptions",
                    "meta.k8s.io",
                    "",
                    vec![crate::error::Cause::new(
                        "FieldValueForbidden",
                        "sendInitialEvents",
                        "Forbidden: sendInitialEvents is forbidden for list",
                    )],
                ));
            }
            let limit = match q.get("limit") {
                Some(l) => Some(l.parse::<usize>().map_err(|_| {
                    KubeApiError::bad_request(format!("limit: Invalid value: {l:?}"))
                })?),
                None => None,
            };
            let opts = crate::list::ListOptions {
                limit,
                cont: q.get("continue").map(str::to_string),
                rv: q.get("resourceVersion").map(str::to_string),
                rv_match: q.get("resourceVersionMatch").map(str::to_string),
            };
            let listed = {
                let db = st.db().read();
                crate::list::list(&db.store, &def, t.ns.as_deref(), &labels, &fields, &opts)?
            };
            if wants_table {
                let items: Vec<Value> = listed
                    .items
                    .iter()
                    .map(|o| convert::from_storage(&def, &o.obj()))
                    .collect();
                let tbl = table::table(
                    &def,
                    &items,
                    listed.rv,
                    listed.cont.as_deref(),
                    now.as_millis(),
                    q.get("includeObject").unwrap_or("Metadata"),
                );
                return Ok(table_response(&tbl));
            }
            let bytes = list_json(
                &def,
                &listed.items,
                listed.rv,
                listed.cont.as_deref(),
                listed.remaining,
            );
            let mut r = (StatusCode::OK, bytes).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(r)
        }
        (&Method::GET, Some(name)) => {
            if q.flag("watch") {
                let (labels, _) = selectors(&q, &def)?;
                let fields = FieldSelector::parse(
                    &format!("metadata.name={name}"),
                    &def,
                    crate::kinds::strategy::for_kind(&def).field_labels(),
                )?;
                return watch_response(st, &q, def, t.ns, labels, fields, wants_table);
            }
            let db = st.db().read();
            let obj = match t.sub {
                Sub::Scale => db.get_scale(&def, &ns_str, name)?,
                _ => db.get(&def, &ns_str, name)?,
            };
            drop(db);
            if wants_table && t.sub == Sub::Main {
                let tbl = table::table(
                    &def,
                    std::slice::from_ref(&obj),
                    st.resource_version(),
                    None,
                    now.as_millis(),
                    q.get("includeObject").unwrap_or("Metadata"),
                );
                return Ok(table_response(&tbl));
            }
            Ok(json_response(StatusCode::OK, &obj, &[]))
        }
        (&Method::POST, None) => {
            let mut opts = q.write_opts(headers)?;
            opts.requester = Some(user.clone());
            let mut body = parse_body(headers, &body)?;
            // Decoding, defaults, validation and managedFields run without the lock; only the
            // commit (name, uid, admission, quota, the write) takes it.
            Db::check_gvk(&def, &mut body)?;
            let sdef = st
                .registry()
                .storage_def(&def.storage)
                .unwrap_or_else(|| def.clone());
            let p = prepare_create(sdef, now, &def, t.ns.as_deref(), body, &opts, false)?;
            let w = st.db().write().commit_create(&def, p, &opts)?;
            Ok(written(w, StatusCode::CREATED))
        }
        (&Method::POST, Some(name)) if t.sub == Sub::Binding => {
            let opts = q.write_opts(headers)?;
            let body = parse_body(headers, &body)?;
            let status = st
                .db()
                .write()
                .bind(now, &def, &ns_str, name, &body, &opts)?;
            Ok(json_response(StatusCode::CREATED, &status, &[]))
        }
        (&Method::POST, Some(name)) if t.sub == Sub::Eviction => {
            // PodDisruptionBudgets are checked first (429 when the eviction would break one).
            let body = parse_body(headers, &body)?;
            let mut opts = DeleteOpts::default();
            if let Some(d) = body.get("deleteOptions") {
                let bytes = Bytes::from(serde_json::to_vec(d).unwrap_or_default());
                opts = delete_opts(&Query(HashMap::new()), &HeaderMap::new(), &bytes)?;
            }
            st.db().write().evict(now, &def, &ns_str, name, &opts)?;
            Ok(json_response(
                StatusCode::CREATED,
                &success_status(None),
                &[],
            ))
        }
        (&Method::PUT, Some(name)) => {
            let opts = q.write_opts(headers)?;
            let body = parse_body(headers, &body)?;
            let w = put(&st, now, &def, &ns_str, name, t.sub, body, &opts)?;
            Ok(written(w, StatusCode::OK))
        }
        (&Method::PATCH, Some(name)) => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let ptype = PatchType::from_content_type(ct)
                .ok_or_else(|| KubeApiError::unsupported_media_type(ct))?;
            let mut opts = q.write_opts(headers)?;
            if ptype == PatchType::Apply && q.get("fieldManager").is_none_or(str::is_empty) {
                opts.manager = String::new();
            }
            if ptype != PatchType::Apply && q.get("force").is_some() {
                return Err(KubeApiError::bad_request(
                    "force: Forbidden: may not be specified for non-apply patch",
                ));
            }
            let patch = if ptype == PatchType::Apply {
                let mut h = HeaderMap::new();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/yaml"),
                );
                parse_body(&h, &body)?
            } else {
                parse_body(&HeaderMap::new(), &body)?
            };
            let w = if t.sub == Sub::Scale {
                st.db()
                    .write()
                    .patch(now, &def, &ns_str, name, t.sub, ptype, &patch, &opts)?
            } else {
                // Patching, decoding and validation run outside the lock (optimistic commit).
                crate::ops::write_optimistic(
                    st.db(),
                    now,
                    &def,
                    &ns_str,
                    name,
                    &opts,
                    |sdef, cur| {
                        crate::ops::plan_patch(
                            now, &def, sdef, cur, &ns_str, name, t.sub, ptype, &patch, &opts,
                        )
                    },
                )?
            };
            Ok(written(w, StatusCode::OK))
        }
        (&Method::DELETE, Some(name)) => {
            if t.sub != Sub::Main {
                return Err(KubeApiError::method_not_allowed(
                    "the server does not allow this method on the requested resource",
                ));
            }
            let opts = delete_opts(&q, headers, &body)?;
            let obj = st.db().write().delete(now, &def, &ns_str, name, &opts)?;
            let pending = obj.pointer("/metadata/deletionTimestamp").is_some() && !opts.dry_run;
            let still_there = pending && st.db().read().get(&def, &ns_str, name).is_ok();
            let code = if still_there {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            Ok(json_response(code, &obj, &[]))
        }
        (&Method::DELETE, None) => {
            let (labels, fields) = selectors(&q, &def)?;
            let opts = delete_opts(&q, headers, &body)?;
            let items = st.db().write().delete_collection(
                now,
                &def,
                t.ns.as_deref(),
                &labels,
                &fields,
                &opts,
            )?;
            let rv = st.resource_version();
            let list = json!({"kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": {"resourceVersion": rv.to_string()}, "items": items});
            Ok(json_response(StatusCode::OK, &list, &[]))
        }
        _ => Err(KubeApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    }
}

/// PUT: the object is planned outside the lock and committed optimistically.
#[allow(clippy::too_many_arguments)] // mirrors the request's parts
fn put(
    st: &KubeState,
    now: cloudbox_sim::SimTime,
    def: &ResourceDef,
    ns: &str,
    name: &str,
    sub: Sub,
    mut body: Value,
    opts: &WriteOpts,
) -> KubeResult<Written> {
    if sub == Sub::Scale {
        return st.db().write().update(now, def, ns, name, sub, body, opts);
    }
    crate::ops::Db::check_gvk(def, &mut body)?;
    crate::ops::write_optimistic(st.db(), now, def, ns, name, opts, |sdef, cur| {
        crate::ops::plan_put(now, def, sdef, cur, ns, name, sub, body.clone(), opts)
    })
}

fn table_response(tbl: &Value) -> Response {
    let mut r = json_response(StatusCode::OK, tbl, &[]);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;as=Table;v=v1;g=meta.k8s.io"),
    );
    r
}

fn watch_response(
    st: KubeState,
    q: &Query,
    def: Arc<ResourceDef>,
    ns: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    table: bool,
) -> KubeResult<Response> {
    let send_initial = q.flag("sendInitialEvents");
    if send_initial && q.get("resourceVersionMatch") != Some("NotOlderThan") {
        return Err(KubeApiError::invalid(
            "ListOptions",
            "meta.k8s.io",
            "",
            vec![crate::error::Cause::new(
            "FieldValueForbidden", "resourceVersionMatch",
            "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")],
        ));
    }
    let rv =
        match q.get("resourceVersion") {
            None | Some("") | Some("0") => None,
            Some(s) => Some(s.parse::<u64>().map_err(|_| {
                KubeApiError::bad_request(format!("invalid resource version: {s:?}"))
            })?),
        };
    let timeout = match q.get("timeoutSeconds") {
        Some(s) => Duration::from_secs(s.parse::<u64>().map_err(|_| {
            KubeApiError::bad_request("timeoutSeconds must be a non-negative integer")
        })?),
        None => Duration::from_secs(1800),
    };
    let req = WatchRequest {
        def,
        ns,
        labels,
        fields,
        rv,
        bookmarks: q.flag("allowWatchBookmarks"),
        timeout,
        send_initial,
        table: table.then(|| q.get("includeObject").unwrap_or("Metadata").to_string()),
    };
    let stream = watch::start(st, req);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(decode_seg("a%3Ab"), "a:b");
        assert_eq!(decode_seg("abc%"), "abc%");
        assert_eq!(decode_seg("x%zz"), "x%zz");
    }
}
