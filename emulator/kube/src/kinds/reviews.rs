//! The virtual, create-only resources answered from the API server's own state and never
//! stored: authorization.k8s.io SelfSubjectAccessReview, SubjectAccessReview,
//! LocalSubjectAccessReview and SelfSubjectRulesReview (answered by the RBAC authorizer, so
//! `kubectl auth can-i` works), authentication.k8s.io SelfSubjectReview (`kubectl auth whoami`)
//! and TokenReview, and `serviceaccounts/{name}/token` (`kubectl create token`).
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/authorization/*/rest.go`,
//! `pkg/registry/authentication/{selfsubjectreview,tokenreview}/storage.go`,
//! `pkg/registry/core/serviceaccount/storage/token.go`.
//!
//! Not modelled: tokens are opaque JWT-shaped strings remembered by the server, not signed
//! (only this server can review them); bound object references are stored but not checked;
//! SelfSubjectRulesReview lists RBAC rules unaggregated (`incomplete: false`).

use super::rbac::{Attributes, Policy, UserInfo};
use crate::error::{Cause, KubeApiError, KubeResult};
use crate::store::Store;
use serde_json::{json, Value};

const RBAC: &str = "rbac.authorization.k8s.io";

/// A token issued by `serviceaccounts/token`.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// Whom it authenticates.
    pub user: UserInfo,
    /// Expiry (simulation clock, ms).
    pub expires_ms: u64,
    /// Audiences.
    pub audiences: Vec<String>,
}

/// The RBAC objects of a namespace ("" for cluster-wide only).
pub fn policy<'a>(store: &'a Store, ns: &'a str) -> Policy<'a> {
    let ns_opt = if ns.is_empty() { None } else { Some(ns) };
    Policy {
        cluster_roles: store
            .list_parsed(&format!("{RBAC}/clusterroles"), None)
            .map(|v| &**v)
            .collect(),
        cluster_role_bindings: store
            .list_parsed(&format!("{RBAC}/clusterrolebindings"), None)
            .map(|v| &**v)
            .collect(),
        roles: match ns_opt {
            Some(n) => store
                .list_parsed(&format!("{RBAC}/roles"), Some(n))
                .map(|v| &**v)
                .collect(),
            None => Vec::new(),
        },
        role_bindings: match ns_opt {
            Some(n) => store
                .list_parsed(&format!("{RBAC}/rolebindings"), Some(n))
                .map(|v| &**v)
                .collect(),
            None => Vec::new(),
        },
    }
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn attributes(spec: &Value, local_ns: Option<&str>) -> KubeResult<Attributes> {
    if let Some(r) = spec.get("resourceAttributes").filter(|r| r.is_object()) {
        return Ok(Attributes {
            verb: s(r, "verb"),
            group: s(r, "group"),
            resource: s(r, "resource"),
            subresource: s(r, "subresource"),
            name: s(r, "name"),
            namespace: local_ns
                .map(str::to_string)
                .unwrap_or_else(|| s(r, "namespace")),
            path: None,
        });
    }
    if let Some(n) = spec.get("nonResourceAttributes").filter(|r| r.is_object()) {
        return Ok(Attributes {
            verb: s(n, "verb"),
            path: Some(s(n, "path")),
            ..Default::default()
        });
    }
    Err(KubeApiError::invalid(
        "SelfSubjectAccessReview",
        "authorization.k8s.io",
        "",
        vec![Cause::new(
            "FieldValueRequired",
            "spec.resourceAttributes",
            "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )],
    ))
}

fn decide(store: &Store, user: &UserInfo, a: &Attributes) -> Value {
    // kube-apiserver's first authorizer allows `system:masters` outright, without a reason.
    if user.groups.iter().any(|g| g == "system:masters") {
        return json!({"allowed": true});
    }
    match policy(store, &a.namespace).authorize(user, a) {
        Some(reason) => json!({"allowed": true, "reason": reason}),
        None => json!({"allowed": false}),
    }
}

fn answer(kind: &str, mut body: Value, status: Value) -> Value {
    if let Some(m) = body.as_object_mut() {
        m.insert("apiVersion".into(), json!(format!("{}/v1", group_of(kind))));
        m.insert("kind".into(), json!(kind));
        let meta = m.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("creationTimestamp".into(), Value::Null);
        }
        m.insert("status".into(), status);
    }
    body
}

fn group_of(kind: &str) -> &'static str {
    match kind {
        "SelfSubjectReview" | "TokenReview" => "authentication.k8s.io",
        _ => "authorization.k8s.io",
    }
}

/// Answers a POST of a review kind by `user`, from the objects in `store`.
pub fn review(
    store: &Store,
    tokens: &std::collections::HashMap<String, IssuedToken>,
    now_ms: u64,
    kind: &str,
    url_ns: Option<&str>,
    body: Value,
    user: &UserInfo,
) -> KubeResult<Value> {
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let status = match kind {
        "SelfSubjectAccessReview" => decide(store, user, &attributes(&spec, None)?),
        "LocalSubjectAccessReview" | "SubjectAccessReview" => {
            let subject = UserInfo {
                name: s(&spec, "user"),
                uid: s(&spec, "uid"),
                groups: spec
                    .get("groups")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|g| g.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            let local = if kind == "LocalSubjectAccessReview" {
                url_ns
            } else {
                None
            };
            decide(store, &subject, &attributes(&spec, local)?)
        }
        "SelfSubjectRulesReview" => {
            let ns = s(&spec, "namespace");
            let p = policy(store, &ns);
            let mut resource_rules = Vec::new();
            let mut non_resource_rules = Vec::new();
            for (r, _) in p.rules_for(user, !ns.is_empty()) {
                if r.get("nonResourceURLs").is_some() {
                    non_resource_rules.push(json!({"verbs": r.get("verbs"), "nonResourceURLs": r.get("nonResourceURLs")}));
                } else {
                    let mut rr = json!({"verbs": r.get("verbs"), "apiGroups": r.get("apiGroups").cloned().unwrap_or(json!([])),
                                        "resources": r.get("resources").cloned().unwrap_or(json!([]))});
                    if let Some(n) = r.get("resourceNames") {
                        rr["resourceNames"] = n.clone();
                    }
                    resource_rules.push(rr);
                }
            }
            json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false})
        }
        "SelfSubjectReview" => json!({"userInfo": user.to_json()}),
        "TokenReview" => {
            let token = s(&spec, "token");
            match tokens.get(&token).filter(|t| t.expires_ms > now_ms) {
                Some(t) => {
                    json!({"authenticated": true, "user": t.user.to_json(), "audiences": t.audiences})
                }
                None => {
                    json!({"user": {}, "error": "[invalid bearer token, service account token has expired]"})
                }
            }
        }
        _ => return Err(KubeApiError::path_not_found()),
    };
    Ok(answer(kind, body, status))
}

fn b64url(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Issues a bound service-account token (`TokenRequest`): the answer object and the token to
/// remember. `sa` is the stored ServiceAccount, `serial` makes each token distinct.
pub fn token_request(
    sa: &Value,
    body: &Value,
    now_ms: u64,
    serial: u64,
) -> KubeResult<(Value, String, IssuedToken)> {
    let ns = sa
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = sa
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let uid = sa
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("");
    if body
        .get("spec")
        .is_some_and(|s| !s.is_object() && !s.is_null())
    {
        return Err(KubeApiError::bad_request(
            "TokenRequest in version \"v1\" cannot be handled as a TokenRequest: json: cannot unmarshal into Go struct field TokenRequest.spec of type v1.TokenRequestSpec",
        ));
    }
    let exp = body
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    if exp < 600 {
        return Err(KubeApiError::invalid(
            "TokenRequest",
            "authentication.k8s.io",
            name,
            vec![Cause::new(
                "FieldValueInvalid",
                "spec.expirationSeconds",
                format!("Invalid value: {exp}: may not specify a duration less than 10 minutes"),
            )],
        ));
    }
    let issuer = "https://kubernetes.default.svc.cluster.local";
    let audiences: Vec<String> = body
        .pointer("/spec/audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .filter(|a: &Vec<String>| !a.is_empty())
        .unwrap_or_else(|| vec![issuer.to_string()]);
    let iat = now_ms / 1000;
    let expires_ms = now_ms + exp as u64 * 1000;
    let claims = json!({
        "aud": audiences, "exp": iat + exp as u64, "iat": iat, "iss": issuer, "nbf": iat,
        "jti": format!("cloudbox-{serial}"),
        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": uid}},
        "sub": format!("system:serviceaccount:{ns}:{name}"),
    });
    let header = json!({"alg": "RS256", "kid": "cloudbox"});
    let token = format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes()),
        b64url(format!("cloudbox-unsigned-{serial}").as_bytes())
    );
    let expiry = cloudbox_sim::SimTime(expires_ms).to_rfc3339_secs();
    let mut answer = body.clone();
    if let Some(m) = answer.as_object_mut() {
        m.insert("apiVersion".into(), json!("authentication.k8s.io/v1"));
        m.insert("kind".into(), json!("TokenRequest"));
        m.insert(
            "metadata".into(),
            json!({"name": name, "namespace": ns, "creationTimestamp": null}),
        );
        let spec = m.entry("spec").or_insert_with(|| json!({}));
        if !spec.is_object() {
            *spec = json!({});
        }
        if let Some(spec) = spec.as_object_mut() {
            spec.insert("audiences".into(), json!(audiences));
            spec.insert("expirationSeconds".into(), json!(exp));
            spec.entry("boundObjectRef").or_insert(Value::Null);
        }
        m.insert(
            "status".into(),
            json!({"token": token, "expirationTimestamp": expiry}),
        );
    }
    let issued = IssuedToken {
        user: UserInfo::service_account(ns, name, uid),
        expires_ms,
        audiences,
    };
    Ok((answer, token, issued))
}
