//! STS (2011-06-15): who a caller is, and temporary credentials.
//!
//! Skeleton: identities of callers ([`Caller`]) and the process-wide store of sessions
//! ([`SharedSessions`]) that `AssumeRole` fills and every request's access key is looked up in.

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
}

/// Every STS session of every account, shared by all regions (STS credentials are global).
#[derive(Debug, Clone, Default)]
pub struct SharedSessions(Arc<Mutex<BTreeMap<String, Session>>>);

impl SharedSessions {
    /// Who an access key is: the session's assumed role, else the account's root identity
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
    /// Forgets every session.
    pub fn clear(&self) {
        self.0.lock().clear();
    }
}

/// The handler of an STS operation, by its model name.
pub fn operation(_name: &str) -> Option<Handler> {
    None
}
