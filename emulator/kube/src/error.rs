//! Kubernetes API errors: one [`KubeApiError`] type rendered as a `meta.k8s.io/v1` `Status`
//! object with the canonical `reason` and HTTP code, so `kube::Error::Api(s).is_not_found()`,
//! client-go's `IsConflict` and kubectl's messages all work unchanged.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Value};

/// One cause of an `Invalid` (or conflict) error: `{reason, message, field}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Machine-readable cause type (`FieldValueRequired`, `FieldValueInvalid`, ...).
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// The JSON path of the field (`spec.containers[0].name`).
    pub field: String,
}

impl Cause {
    /// A cause with the given type, field and message.
    pub fn new(reason: &str, field: impl Into<String>, message: impl Into<String>) -> Cause {
        Cause {
            reason: reason.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error answered as a Kubernetes `Status`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct KubeApiError {
    /// HTTP status code.
    pub code: u16,
    /// `Status.reason` (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...).
    pub reason: &'static str,
    /// `Status.message`.
    pub message: String,
    /// `Status.details` (name, group, kind, causes); `None` renders no details.
    pub details: Option<Value>,
}

/// Result alias of the API server.
pub type KubeResult<T> = Result<T, KubeApiError>;

/// Identifies the object an error is about, for `Status.details`.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// API group ("" for core).
    pub group: &'a str,
    /// Resource plural (`pods`), used as `details.kind` like the real server.
    pub resource: &'a str,
    /// Object name.
    pub name: &'a str,
}

impl<'a> Subject<'a> {
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    fn details(&self) -> Value {
        json!({"name": self.name, "group": self.group, "kind": self.resource})
    }
}

impl KubeApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> KubeApiError {
        KubeApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 404 NotFound for an object: `pods "x" not found`.
    pub fn not_found(s: Subject<'_>) -> KubeApiError {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", s.qualified(), s.name),
        );
        e.details = Some(s.details());
        e
    }

    /// 404 NotFound for an unknown path or resource type. Like kube-apiserver's not-found
    /// handler it carries empty `details` (clients such as `kubectl debug` read
    /// `details.name` to tell a missing subresource from a missing object).
    pub fn path_not_found() -> KubeApiError {
        let mut e = Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        e.details = Some(json!({}));
        e
    }

    /// 409 AlreadyExists: `pods "x" already exists`.
    pub fn already_exists(s: Subject<'_>) -> KubeApiError {
        let mut e = Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", s.qualified(), s.name),
        );
        e.details = Some(s.details());
        e
    }

    /// 409 Conflict on a stale resourceVersion or failed precondition.
    pub fn conflict(s: Subject<'_>, why: &str) -> KubeApiError {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                s.qualified(),
                s.name,
                why
            ),
        );
        e.details = Some(s.details());
        e
    }

    /// 409 Conflict of server-side apply, listing the conflicting fields.
    pub fn apply_conflict(s: Subject<'_>, conflicts: &[(String, String, String)]) -> KubeApiError {
        let mut msg = if conflicts.len() == 1 {
            "Apply failed with 1 conflict:".to_string()
        } else {
            format!("Apply failed with {} conflicts:", conflicts.len())
        };
        let mut causes = Vec::new();
        for (manager, api_version, field) in conflicts {
            msg.push_str(&format!(
                " conflict with \"{manager}\" using {api_version}: {field}"
            ));
            causes.push(json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with \"{manager}\" using {api_version}"),
                "field": field,
            }));
        }
        let mut e = Self::new(409, "Conflict", msg);
        let mut d = s.details();
        d["causes"] = Value::Array(causes);
        e.details = Some(d);
        e
    }

    /// 422 Invalid with field causes: `Pod "x" is invalid: spec.containers: Required value`.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> KubeApiError {
        let parts: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let summary = if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("[{}]", parts.join(", "))
        };
        let qualified = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{qualified} \"{name}\" is invalid: {summary}"),
        );
        let causes: Vec<Value> = causes
            .into_iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        e.details = Some(json!({"name": name, "group": group, "kind": kind, "causes": causes}));
        e
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> KubeApiError {
        Self::new(400, "BadRequest", message)
    }

    /// 401 Unauthorized (missing or wrong bearer token).
    pub fn unauthorized() -> KubeApiError {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 Forbidden (e.g. creating in a terminating namespace).
    pub fn forbidden(message: impl Into<String>) -> KubeApiError {
        Self::new(403, "Forbidden", message)
    }

    /// 403 Forbidden about one object, as upstream's `NewForbidden`:
    /// `namespaces "default" is forbidden: this namespace may not be deleted`.
    pub fn forbidden_for(s: Subject<'_>, why: &str) -> KubeApiError {
        let mut e = Self::new(
            403,
            "Forbidden",
            format!("{} \"{}\" is forbidden: {}", s.qualified(), s.name, why),
        );
        e.details = Some(s.details());
        e
    }

    /// 429 TooManyRequests (an eviction refused by a PodDisruptionBudget), with `details`.
    pub fn too_many_requests(message: impl Into<String>, details: Value) -> KubeApiError {
        let mut e = Self::new(429, "TooManyRequests", message);
        e.details = Some(details);
        e
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(message: impl Into<String>) -> KubeApiError {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 406 NotAcceptable.
    pub fn not_acceptable(message: impl Into<String>) -> KubeApiError {
        Self::new(406, "NotAcceptable", message)
    }

    /// 410 Gone / Expired: the resourceVersion is older than the kept history.
    pub fn expired(message: impl Into<String>) -> KubeApiError {
        Self::new(410, "Expired", message)
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(content_type: &str) -> KubeApiError {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type:?})"),
        )
    }

    /// 500 InternalError (never expected; kept so no path has to panic).
    pub fn internal(message: impl Into<String>) -> KubeApiError {
        Self::new(500, "InternalError", message)
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

impl IntoResponse for KubeApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_status()).unwrap_or_default();
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (code, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// A `Status` of success (e.g. the answer of deletecollection in some clients).
pub fn success_status(details: Option<Value>) -> Value {
    let mut s = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"});
    if let Some(d) = details {
        s["details"] = d;
    }
    s
}
