//! Who a built-in controller calls the API server as: kube-controller-manager's
//! `--use-service-account-credentials`, so the bootstrap RBAC policy (the
//! `system:controller:*` ClusterRoles bound to kube-system ServiceAccounts) decides what each
//! controller may do, as on a real cluster, and a controller's RBAC manifest is tested for real.
//!
//! Upstream: kubernetes v1.32,
//! `staging/src/k8s.io/controller-manager/pkg/clientbuilder/client_builder_dynamic.go`
//! (`DynamicControllerClientBuilder`: get or create the ServiceAccount, a TokenRequest of
//! `defaultExpirationSeconds` = 3600 through the controller-manager's own client, the token
//! renewed once 80 % of its lifetime has passed — `defaultLeewayPercent` = 20 — and reset when
//! a request answers 401), `client-go/transport/token_source.go`
//! (`ResettableTokenSourceWrapTransport`), `cmd/kube-controller-manager/app/*.go` (which account
//! each controller runs as; the taint eviction controller borrows `node-controller`'s).
//!
//! How: an [`Account`]'s client is a `kube::Client` over a small service that sets
//! `Authorization: Bearer <token>` on every request and hands it to the admin client's transport
//! (the in-process API server), so it reaches the server exactly as an external client does.
//! Tokens live on the simulation clock; [`Identities::client`] renews a token whose renewal time
//! has come before it hands out the client, so renewal happens at a deterministic point: the
//! start of a controller pass.
//!
//! Plain users (`system:kube-scheduler`): kube-scheduler authenticates with the x509 client
//! certificate of its kubeconfig (`CN=system:kube-scheduler`). The in-process transport has no
//! TLS handshake to carry one and the API server issues tokens only for ServiceAccounts, so the
//! scheduler's client sends the admin client's impersonation headers (`Impersonate-User`): the
//! API server then authenticates and authorizes every request as that user, with its groups
//! (`system:authenticated`), which is what RBAC sees for the certificate.
//!
//! Not modelled: the per-controller user agent (`kube-controller-manager/v1.32 …/<sa>`), the
//! retry backoff of a failed TokenRequest (a pass fails and the next pass tries again), creating
//! the namespace of the account (kube-system always exists).

use crate::context::Error;
use cloudbox_sim::Clock;
use http::{HeaderName, HeaderValue, Request, StatusCode};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use kube::client::Body;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// `defaultExpirationSeconds` of the dynamic client builder.
pub const TOKEN_EXPIRATION_SECONDS: u64 = 3600;

/// `defaultLeewayPercent`: a token is renewed once this share of its lifetime is left.
pub const TOKEN_LEEWAY_PERCENT: u64 = 20;

/// The shortest lifetime the builder assumes (`time.Minute * 10`, "possible clock skew").
const MIN_LIFETIME_MS: u64 = 10 * 60 * 1000;

/// Who a client calls the API server as.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// A ServiceAccount, authenticated with a bound token from `serviceaccounts/token`.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A plain user (a certificate's CN upstream), reached through impersonation.
    User(String),
}

impl Account {
    /// The kube-system ServiceAccount kube-controller-manager runs controller `name` as
    /// (`deployment-controller`, `replicaset-controller`, …).
    pub fn controller(name: &str) -> Account {
        Account::ServiceAccount {
            namespace: "kube-system".into(),
            name: name.into(),
        }
    }

    /// kube-scheduler's user.
    pub fn scheduler() -> Account {
        Account::User("system:kube-scheduler".into())
    }

    /// The user name the API server sees (`system:serviceaccount:kube-system:x`).
    pub fn username(&self) -> String {
        match self {
            Account::ServiceAccount { namespace, name } => {
                format!("system:serviceaccount:{namespace}:{name}")
            }
            Account::User(u) => u.clone(),
        }
    }
}

/// The bearer token an account's client sends, and when to renew it.
#[derive(Default)]
struct Token {
    /// `Bearer <token>`; None until the first TokenRequest.
    header: Option<HeaderValue>,
    /// Simulation time (ms) from which the token is renewed (0: renew now).
    renew_at_ms: u64,
}

/// One account's client and its token.
struct Credential {
    client: kube::Client,
    token: Arc<Mutex<Token>>,
}

/// The clients of every account a controller asked for, over one admin client. Cheap to
/// clone; clones share the clients and tokens.
#[derive(Clone)]
pub struct Identities {
    admin: kube::Client,
    clock: Clock,
    accounts: Arc<Mutex<BTreeMap<Account, Arc<Credential>>>>,
    requests: Arc<std::sync::atomic::AtomicU64>,
}

impl Identities {
    /// Identities whose ServiceAccounts and tokens are managed through `admin` (the
    /// controller-manager's own `system:kube-controller-manager` credentials upstream).
    pub fn new(admin: kube::Client, clock: Clock) -> Identities {
        Identities {
            admin,
            clock,
            accounts: Arc::default(),
            requests: Arc::default(),
        }
    }

    /// The cluster-admin client the identities were built on.
    pub fn admin(&self) -> &kube::Client {
        &self.admin
    }

    /// How many TokenRequests were made so far (tests: a pass reuses its token).
    pub fn token_requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The client of `account`: a ServiceAccount's with a valid bound token (the account is
    /// created if missing and the token requested or renewed when due), a user's through
    /// impersonation.
    pub async fn client(&self, account: &Account) -> Result<kube::Client, Error> {
        let cred = self.credential(account);
        let Account::ServiceAccount { namespace, name } = account else {
            return Ok(cred.client.clone());
        };
        let now = self.clock.now().as_millis();
        let due = {
            let t = cred.token.lock().unwrap_or_else(PoisonError::into_inner);
            t.header.is_none() || now >= t.renew_at_ms
        };
        if due {
            let (header, renew_at_ms) = self.request_token(namespace, name, now).await?;
            let mut t = cred.token.lock().unwrap_or_else(PoisonError::into_inner);
            *t = Token {
                header: Some(header),
                renew_at_ms,
            };
        }
        Ok(cred.client.clone())
    }

    fn credential(&self, account: &Account) -> Arc<Credential> {
        let mut all = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        all.entry(account.clone())
            .or_insert_with(|| Arc::new(self.build(account)))
            .clone()
    }

    fn build(&self, account: &Account) -> Credential {
        let token: Arc<Mutex<Token>> = Arc::default();
        let admin = self.admin.clone();
        let client = match account {
            Account::ServiceAccount { .. } => {
                let shared = token.clone();
                let service = tower::service_fn(move |mut req: Request<Body>| {
                    let admin = admin.clone();
                    let shared = shared.clone();
                    let header = shared
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .header
                        .clone();
                    if let Some(h) = header {
                        req.headers_mut().insert(http::header::AUTHORIZATION, h);
                    }
                    async move {
                        let resp = admin.send(req).await?;
                        if resp.status() == StatusCode::UNAUTHORIZED {
                            // ResettableTokenSource: a refused token is renewed next time.
                            shared
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .renew_at_ms = 0;
                        }
                        Ok::<_, kube::Error>(resp)
                    }
                });
                kube::Client::new(service, "default")
            }
            Account::User(user) => {
                let value = HeaderValue::from_str(user).ok();
                let service = tower::service_fn(move |mut req: Request<Body>| {
                    let admin = admin.clone();
                    if let Some(v) = value.clone() {
                        req.headers_mut()
                            .insert(HeaderName::from_static("impersonate-user"), v);
                    }
                    async move { admin.send(req).await }
                });
                kube::Client::new(service, "default")
            }
        };
        Credential { client, token }
    }

    /// `getOrCreateServiceAccount`, then a TokenRequest of [`TOKEN_EXPIRATION_SECONDS`]; the
    /// header and the renewal time (80 % of the lifetime the server granted).
    async fn request_token(
        &self,
        namespace: &str,
        name: &str,
        now_ms: u64,
    ) -> Result<(HeaderValue, u64), Error> {
        let err = |what: &str| {
            let what = format!("{what} ServiceAccount {namespace}/{name}");
            move |source: kube::Error| Error::Identity {
                what,
                source: Box::new(source),
            }
        };
        let api: Api<ServiceAccount> = Api::namespaced(self.admin.clone(), namespace);
        if api.get_opt(name).await.map_err(err("get"))?.is_none() {
            let sa = ServiceAccount {
                metadata: kube::api::ObjectMeta {
                    name: Some(name.into()),
                    namespace: Some(namespace.into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            match api.create(&PostParams::default(), &sa).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(err("create")(e)),
            }
        }
        let url = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token");
        let body = json!({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS}
        });
        let req = Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string().into_bytes())
            .map_err(|e| err("request a token for")(kube::Error::HttpError(e)))?;
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let answer: Value = self
            .admin
            .request(req)
            .await
            .map_err(err("request a token for"))?;
        let token = answer
            .pointer("/status/token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let expires_ms = answer
            .pointer("/status/expirationTimestamp")
            .and_then(Value::as_str)
            .and_then(cloudbox_sim::time_fmt::parse_iso8601)
            .unwrap_or(now_ms + TOKEN_EXPIRATION_SECONDS * 1000);
        let lifetime = expires_ms.saturating_sub(now_ms).max(MIN_LIFETIME_MS);
        let renew_at = now_ms + lifetime - lifetime * TOKEN_LEEWAY_PERCENT / 100;
        let header = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            err("read the token of")(kube::Error::Service("token is not a header value".into()))
        })?;
        Ok((header, renew_at))
    }
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let all = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Identities")
            .field("accounts", &all.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
