//! Temporary credentials: AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken, and the
//! instance-profile credentials IMDS hands out.
//!
//! Rules (AWS's `ValidationError` messages): `RoleArn` at least 20 characters and of the form
//! `arn:<partition>:iam::<12 digits>:role/[<path>/]<name>` in the caller's partition ("Request
//! ARN is invalid"); `RoleSessionName` 2-64 characters of `[\w+=,.@-]`; `DurationSeconds`
//! 900-43200 (GetSessionToken: 900-129600), at most 3600 when a role session assumes a role
//! (role chaining); GetSessionToken with session credentials is `AccessDenied`; a web identity
//! token must be a JWT (`InvalidIdentityToken`) whose `exp` has not passed
//! (`ExpiredTokenException`). Credentials are `ASIA` + 16 characters, a 40-character secret and
//! a session token, all from the seeded id stream; they expire on the simulation clock.

use super::{Caller, Session};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::sts as m;
use crate::region::RegionState;
use cloudbox_sim::IdGen;
use serde_json::{json, Value};

/// How long instance-profile credentials from IMDS last.
pub const INSTANCE_CREDENTIALS_SECS: u64 = 6 * 3600;
/// IMDS hands out new instance-profile credentials this long before the old ones expire.
pub const INSTANCE_CREDENTIALS_REFRESH_SECS: u64 = 15 * 60;

/// A role named by a role ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The role ARN as given.
    pub arn: String,
    /// Its account.
    pub account: String,
    /// Its name (the last part of the path).
    pub name: String,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Parses and checks a role ARN in the caller's partition.
pub fn parse_role_arn(arn: &str, partition: &str) -> AwsResult<Role> {
    if arn.chars().count() < 20 {
        return Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value '{arn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
        ));
    }
    let invalid = || aws_err!(ValidationError, "Request ARN is invalid");
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, part, service, region, account, resource] = parts[..] else {
        return Err(invalid());
    };
    let name = resource
        .strip_prefix("role/")
        .and_then(|r| r.rsplit('/').next());
    let ok = prefix == "arn"
        && part == partition
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    match name {
        Some(n) if ok && (1..=64).contains(&n.len()) && n.chars().all(is_name_char) => Ok(Role {
            arn: arn.to_string(),
            account: account.to_string(),
            name: n.to_string(),
        }),
        _ => Err(invalid()),
    }
}

/// Checks a role session name: 2-64 characters of `[\w+=,.@-]`.
pub fn check_session_name(name: &str) -> AwsResult<()> {
    let n = name.chars().count();
    if !(2..=64).contains(&n) {
        return Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must have length {}",
            if n < 2 { "greater than or equal to 2" } else { "less than or equal to 64" }
        ));
    }
    if !name.chars().all(is_name_char) {
        return Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        ));
    }
    Ok(())
}

/// `DurationSeconds` within `min..=max` (default `default`).
fn duration(input: &Value, default: i64, min: i64, max: i64) -> AwsResult<i64> {
    let d = input.opt_i64(m::DurationSeconds).unwrap_or(default);
    if d < min {
        return Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {min}"
        ));
    }
    if d > max {
        return Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {max}"
        ));
    }
    Ok(d)
}

/// The unique id of a role (`AROA` + 17 characters), the same for every session of the role.
pub fn role_id(role_arn: &str) -> String {
    let mut g = IdGen::derived(0x5354_5321, role_arn);
    format!("AROA{}", key_chars(&mut g, 17))
}

/// `n` characters of `[A-Z2-7]`, as AWS key ids use.
fn key_chars(g: &mut IdGen, n: usize) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..n)
        .map(|_| ALPHABET[(g.next_u64() % 32) as usize] as char)
        .collect()
}

fn base64_chars(g: &mut IdGen, n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..n)
        .map(|_| ALPHABET[(g.next_u64() % 64) as usize] as char)
        .collect()
}

/// Issues a session acting as `caller` for `secs` seconds and stores it. Returns it with its
/// access key (in `caller.access_key`).
pub fn issue(
    st: &mut RegionState,
    mut caller: Caller,
    secs: u64,
    issued_for: Option<String>,
) -> Session {
    let access_key = format!("ASIA{}", key_chars(&mut st.ids, 16));
    let secret_key = base64_chars(&mut st.ids, 40);
    let token = format!("IQoJb3JpZ2luX2VjE{}", base64_chars(&mut st.ids, 300));
    let issued_ms = st.now.as_millis() / 1000 * 1000;
    let expires_ms = issued_ms + secs * 1000;
    caller.access_key = access_key.clone();
    caller.expires_ms = Some(expires_ms);
    let session = Session {
        caller,
        secret_key,
        token,
        expires_ms,
        issued_ms,
        issued_for,
    };
    st.sessions.insert(access_key, session.clone());
    session
}

/// The caller a role session is.
pub fn role_caller(st: &RegionState, role: &Role, session_name: &str) -> Caller {
    Caller {
        access_key: String::new(),
        account: role.account.clone(),
        arn: format!(
            "arn:{}:sts::{}:assumed-role/{}/{session_name}",
            st.region.partition, role.account, role.name
        ),
        user_id: format!("{}:{session_name}", role_id(&role.arn)),
        expires_ms: None,
    }
}

/// A session as the `Credentials` shape.
pub fn credentials_json(s: &Session) -> Value {
    json!({
        "AccessKeyId": s.caller.access_key,
        "SecretAccessKey": s.secret_key,
        "SessionToken": s.token,
        "Expiration": cloudbox_sim::SimTime(s.expires_ms).to_rfc3339_secs(),
    })
}

fn assumed_role_user(s: &Session) -> Value {
    json!({"AssumedRoleId": s.caller.user_id, "Arn": s.caller.arn})
}

/// The role-session checks shared by AssumeRole and AssumeRoleWithWebIdentity.
fn role_request(st: &RegionState, input: &Value) -> AwsResult<(Role, String, i64)> {
    let role = parse_role_arn(input.req_str(m::RoleArn)?, st.region.partition)?;
    let session_name = input.req_str(m::RoleSessionName)?;
    check_session_name(session_name)?;
    let secs = duration(input, 3600, 900, 43200)?;
    Ok((role, session_name.to_string(), secs))
}

/// `PackedPolicySize` (percent of the packed limit), answered only when session policies or
/// tags were passed; a rough measure of their size.
fn packed_policy_size(input: &Value) -> Option<i64> {
    let policy = input.opt_str(m::Policy).map_or(0, str::len);
    let arns = input.obj_list(m::PolicyArns).len();
    let tags = input.obj_list(m::Tags).len();
    if policy == 0 && arns == 0 && tags == 0 {
        return None;
    }
    Some(((policy / 20 + arns * 5 + tags * 2) as i64).clamp(1, 100))
}

/// AssumeRole.
pub fn assume_role(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let (role, session_name, secs) = role_request(st, input)?;
    if st.caller.arn.contains(":assumed-role/") && secs > 3600 {
        return Err(aws_err!(
            ValidationError,
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        ));
    }
    let caller = role_caller(st, &role, &session_name);
    let s = issue(st, caller, secs as u64, None);
    let mut out =
        json!({"Credentials": credentials_json(&s), "AssumedRoleUser": assumed_role_user(&s)});
    if let Some(size) = packed_policy_size(input) {
        out["PackedPolicySize"] = json!(size);
    }
    if let Some(src) = input.opt_str(m::SourceIdentity) {
        out["SourceIdentity"] = json!(src);
    }
    Ok(out)
}

/// Decodes base64 (standard or URL-safe alphabet, padding optional, ASCII whitespace ignored).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .take_while(|b| *b != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The claims of a JWT (not verified).
fn jwt_claims(token: &str) -> AwsResult<Value> {
    let invalid = || {
        aws_err!(
            StsInvalidIdentityToken,
            "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
        )
    };
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(invalid());
    }
    let payload = base64_decode(parts[1]).ok_or_else(invalid)?;
    let claims: Value = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    if claims.is_object() {
        Ok(claims)
    } else {
        Err(invalid())
    }
}

/// AssumeRoleWithWebIdentity (unsigned in AWS; the account is the role's).
pub fn assume_role_with_web_identity(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let (role, session_name, secs) = role_request(st, input)?;
    let token = input.req_str(m::WebIdentityToken)?;
    let claims = jwt_claims(token)?;
    let now_s = st.now.as_millis() / 1000;
    if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
        if exp <= now_s {
            return Err(aws_err!(
                StsExpiredTokenException,
                "Token expired: current date/time {now_s} must be before the expiration date/time {exp}"
            ));
        }
    }
    let caller = role_caller(st, &role, &session_name);
    let s = issue(st, caller, secs as u64, None);
    let mut out =
        json!({"Credentials": credentials_json(&s), "AssumedRoleUser": assumed_role_user(&s)});
    if let Some(size) = packed_policy_size(input) {
        out["PackedPolicySize"] = json!(size);
    }
    if let Some(sub) = claims.get("sub").and_then(Value::as_str) {
        out["SubjectFromWebIdentityToken"] = json!(sub);
    }
    let aud = match claims.get("aud") {
        Some(Value::String(a)) => Some(a.clone()),
        Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    if let Some(a) = aud {
        out["Audience"] = json!(a);
    }
    if let Some(iss) = claims.get("iss").and_then(Value::as_str) {
        let host = iss.strip_prefix("https://").unwrap_or(iss);
        out["Provider"] = json!(format!(
            "arn:{}:iam::{}:oidc-provider/{host}",
            st.region.partition, role.account
        ));
    }
    Ok(out)
}

/// GetSessionToken: the caller's own identity for 900-129600 seconds (default 43200); not
/// with session credentials.
pub fn get_session_token(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    if st.caller.is_session() {
        return Err(aws_err!(
            StsAccessDenied,
            "Cannot call GetSessionToken with session credentials"
        ));
    }
    let secs = duration(input, 43200, 900, 129_600)?;
    let caller = st.caller.clone();
    let s = issue(st, caller, secs as u64, None);
    Ok(json!({"Credentials": credentials_json(&s)}))
}

/// The instance-profile credentials of an instance, as IMDS hands them out: a session of the
/// role named like the instance profile (`instance-profile/<name>` → `role/<name>`), session
/// name = instance id, valid six hours and renewed fifteen minutes before expiry. `None` when
/// the instance has no instance profile.
pub fn instance_credentials(st: &mut RegionState, instance_id: &str) -> Option<(String, Session)> {
    let profile = st.instances.get(instance_id)?.iam_profile_arn.clone()?;
    let role_name = profile.rsplit('/').next().unwrap_or("").to_string();
    let account = profile.split(':').nth(4).unwrap_or(&st.account).to_string();
    let role = Role {
        arn: format!(
            "arn:{}:iam::{account}:role/{role_name}",
            st.region.partition
        ),
        account,
        name: role_name.clone(),
    };
    let purpose = format!("imds:{}:{instance_id}", st.region.name);
    let fresh_until = st.now.as_millis() + INSTANCE_CREDENTIALS_REFRESH_SECS * 1000;
    if let Some(s) = st.sessions.issued_for(&purpose, fresh_until) {
        return Some((role_name, s));
    }
    let caller = role_caller(st, &role, instance_id);
    let s = issue(st, caller, INSTANCE_CREDENTIALS_SECS, Some(purpose));
    Some((role_name, s))
}
