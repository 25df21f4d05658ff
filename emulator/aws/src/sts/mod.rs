//! STS (2011-06-15): who a caller is, and temporary credentials.
//!
//! [`Caller`] is who signed a request, resolved from its access key before any handler runs (of
//! any service): an access key handed out by STS acts as its session's identity in the session's
//! account until it expires (then every service answers `ExpiredToken`, HTTP 403); any other key
//! is an account's root (a 12-digit key selects that account). [`SharedSessions`] is the
//! process-wide store of sessions, shared by all regions (STS credentials are global).
//!
//! Operations: GetCallerIdentity ([`identity`]), AssumeRole, AssumeRoleWithWebIdentity,
//! GetSessionToken ([`credentials`]). Instance-profile credentials of IMDS are sessions of the
//! same store ([`credentials::instance_credentials`]).
//!
//! Simplified: there is no IAM, so any well-formed role ARN can be assumed by anyone (no trust
//! policies, no `MaxSessionDuration` below 12 hours, policies and tags are accepted and
//! ignored); signatures and session tokens are not verified; web identity tokens are read but
//! their signatures are not checked.

pub mod credentials;
pub mod identity;

use crate::ec2::catalog::Region;
use crate::service::Handler;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who made a request: resolved from its access key before the handler runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The access key id the request was signed with.
    pub access_key: String,
    /// The account the key belongs to.
    pub account: String,
    /// The principal's ARN (`arn:aws:iam::123456789012:root`,
    /// `arn:aws:sts::123456789012:assumed-role/<role>/<session>`).
    pub arn: String,
    /// `UserId` as GetCallerIdentity answers it.
    pub user_id: String,
    /// For temporary credentials: when they expire (milliseconds on the simulation clock).
    pub expires_ms: Option<u64>,
}

impl Caller {
    /// Whether the caller uses temporary (STS session) credentials.
    pub fn is_session(&self) -> bool {
        self.expires_ms.is_some()
    }
}

/// One temporary credential set handed out by STS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who the credentials act as.
    pub caller: Caller,
    /// The secret key.
    pub secret_key: String,
    /// The session token.
    pub token: String,
    /// Expiry, milliseconds on the simulation clock.
    pub expires_ms: u64,
    /// Issued at, milliseconds on the simulation clock.
    pub issued_ms: u64,
    /// What the session was issued for outside STS (`imds:<instance-id>`), if anything.
    pub issued_for: Option<String>,
}

/// Every STS session of every account, shared by all regions (STS credentials are global).
#[derive(Debug, Clone, Default)]
pub struct SharedSessions(Arc<Mutex<BTreeMap<String, Session>>>);

impl SharedSessions {
    /// Who an access key is: the session's identity, else the account's root identity
    /// (a 12-digit key selects that account; any other key is the default account).
    pub fn caller(&self, access_key: &str, region: &'static Region) -> Caller {
        if let Some(s) = self.0.lock().get(access_key) {
            return s.caller.clone();
        }
        let account = crate::protocol::sigv4::account_for(access_key);
        Caller {
            access_key: access_key.to_string(),
            arn: format!("arn:{}:iam::{account}:root", region.partition),
            user_id: account.clone(),
            account,
            expires_ms: None,
        }
    }
    /// Stores a session under its access key.
    pub fn insert(&self, access_key: String, session: Session) {
        self.0.lock().insert(access_key, session);
    }
    /// A session by access key.
    pub fn get(&self, access_key: &str) -> Option<Session> {
        self.0.lock().get(access_key).cloned()
    }
    /// The newest session issued for `purpose` that is still valid at `valid_at_ms`.
    pub fn issued_for(&self, purpose: &str, valid_at_ms: u64) -> Option<Session> {
        self.0
            .lock()
            .values()
            .filter(|s| s.issued_for.as_deref() == Some(purpose) && s.expires_ms > valid_at_ms)
            .max_by_key(|s| s.issued_ms)
            .cloned()
    }
    /// Forgets every session.
    pub fn clear(&self) {
        self.0.lock().clear();
    }
}

/// The handler of an STS operation, by its model name.
pub fn operation(name: &str) -> Option<Handler> {
    Some(match name {
        "GetCallerIdentity" => identity::get_caller_identity,
        "AssumeRole" => credentials::assume_role,
        "AssumeRoleWithWebIdentity" => credentials::assume_role_with_web_identity,
        "GetSessionToken" => credentials::get_session_token,
        _ => return None,
    })
}
