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
//! Tokens are checked as the service-account authenticator checks a bound token
//! (`pkg/serviceaccount/claims.go`): it is refused once expired, once its ServiceAccount is
//! deleted or recreated (another uid), and once the object of its `boundObjectRef` (a Pod, Secret
//! or Node, which must exist when the token is requested) is gone; expired tokens are forgotten
//! when the next one is issued.
//!
//! Not modelled: tokens are opaque JWT-shaped strings remembered by the server, not signed
//! (only this server can review them); SelfSubjectRulesReview lists RBAC rules unaggregated
//! (`incomplete: false`).

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
    /// The object it is bound to (`spec.boundObjectRef`).
    pub bound: Option<BoundObject>,
}

/// The object a token is bound to: the token is valid while it exists with this uid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundObject {
    /// `Pod`, `Secret` or `Node`.
    pub kind: &'static str,
    /// Its store key.
    pub storage: &'static str,
    /// Its namespace ("" for a Node).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
}

/// The object `spec.boundObjectRef` of a TokenRequest for ServiceAccount `sa` in `ns` names,
/// as it is stored now: 400 for a kind a token cannot be bound to, 404 when it is missing, 409
/// when the reference's uid is not the stored one.
pub fn bound_object(
    store: &Store,
    ns: &str,
    sa: &str,
    body: &Value,
) -> KubeResult<Option<BoundObject>> {
    let Some(r) = body
        .pointer("/spec/boundObjectRef")
        .filter(|r| r.is_object())
    else {
        return Ok(None);
    };
    let api_version = s(r, "apiVersion");
    let kind = s(r, "kind");
    let name = s(r, "name");
    let (kind, storage, namespace) = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Pod") => ("Pod", "pods", ns),
        ("v1", "Secret") => ("Secret", "secrets", ns),
        ("v1", "Node") => ("Node", "nodes", ""),
        _ => {
            let (g, v) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
            return Err(KubeApiError::bad_request(format!(
                "cannot bind token for serviceaccount {sa:?} to object of type {g}/{v}, Kind={kind}"
            )));
        }
    };
    let Some(obj) = store.get(storage, namespace, &name) else {
        return Err(KubeApiError::not_found(crate::error::Subject {
            group: "",
            resource: storage,
            name: &name,
        }));
    };
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let want = s(r, "uid");
    if !want.is_empty() && want != uid {
        return Err(KubeApiError::conflict(
            crate::error::Subject {
                group: "",
                resource: kind,
                name: &name,
            },
            &format!(
                "the UID in the bound object reference ({want}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
        ));
    }
    Ok(Some(BoundObject {
        kind,
        storage,
        namespace: namespace.to_string(),
        name,
        uid,
    }))
}

/// Why a remembered, unexpired token no longer authenticates (the authenticator's words), or
/// None while its ServiceAccount and bound object exist as they were when it was issued.
pub fn invalidated(store: &Store, t: &IssuedToken) -> Option<String> {
    let (ns, name) = t
        .user
        .name
        .strip_prefix("system:serviceaccount:")
        .and_then(|r| r.split_once(':'))?;
    let uid_of = |storage: &str, ns: &str, name: &str, parsed: bool| {
        let obj = if parsed {
            store.get_parsed(storage, ns, name)
        } else {
            store.get(storage, ns, name)
        }?;
        Some(
            obj.pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        )
    };
    match uid_of("serviceaccounts", ns, name, true) {
        None => return Some("service account token has been invalidated".into()),
        Some(uid) if !t.user.uid.is_empty() && uid != t.user.uid => {
            return Some(format!(
                "service account UID ({uid}) does not match claim ({})",
                t.user.uid
            ))
        }
        Some(_) => {}
    }
    let b = t.bound.as_ref()?;
    match uid_of(b.storage, &b.namespace, &b.name, false) {
        None => Some("service account token has been invalidated".into()),
        Some(uid) if uid != b.uid => Some(format!(
            "{} UID ({uid}) does not match claim ({})",
            b.kind.to_lowercase(),
            b.uid
        )),
        Some(_) => None,
    }
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
            match tokens.get(&token) {
                Some(t) if t.expires_ms <= now_ms => {
                    json!({"user": {}, "error": "[invalid bearer token, service account token has expired]"})
                }
                Some(t) => match invalidated(store, t) {
                    None => {
                        json!({"authenticated": true, "user": t.user.to_json(), "audiences": t.audiences})
                    }
                    Some(why) => {
                        json!({"user": {}, "error": format!("[invalid bearer token, {why}]")})
                    }
                },
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
    bound: Option<BoundObject>,
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
    let mut claims = json!({
        "aud": audiences, "exp": iat + exp as u64, "iat": iat, "iss": issuer, "nbf": iat,
        "jti": format!("cloudbox-{serial}"),
        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": uid}},
        "sub": format!("system:serviceaccount:{ns}:{name}"),
    });
    if let Some(b) = &bound {
        claims["kubernetes.io"][b.kind.to_lowercase()] = json!({"name": b.name, "uid": b.uid});
    }
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
        bound,
    };
    Ok((answer, token, issued))
}
