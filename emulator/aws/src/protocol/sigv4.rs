//! What cloudbox reads from a SigV4 signature: the credential scope
//! `Credential=<access key>/<date>/<region>/<service>/aws4_request`, from the `Authorization`
//! header or the presigned `X-Amz-Credential` query parameter. The scope routes the request to a
//! service and a region; the access key selects the account. Signatures are not verified
//! (any secret key is accepted), as in every local AWS emulator.

/// The parsed credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    /// Access key id.
    pub access_key: String,
    /// Region, e.g. `cn-northwest-1`.
    pub region: String,
    /// Signing name, e.g. `ec2`, `elasticloadbalancing`, `autoscaling`, `sts`.
    pub service: String,
}

/// Parses the scope from an `Authorization` header value.
pub fn from_authorization(header: &str) -> Option<CredentialScope> {
    let rest = header.trim().strip_prefix("AWS4-HMAC-SHA256")?;
    let cred = rest
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("Credential="))?;
    from_credential(cred)
}

/// Parses `<key>/<date>/<region>/<service>/aws4_request`.
pub fn from_credential(cred: &str) -> Option<CredentialScope> {
    let mut parts = cred.split('/');
    let access_key = parts.next()?.to_string();
    let _date = parts.next()?;
    let region = parts.next()?.to_string();
    let service = parts.next()?.to_string();
    if parts.next()? != "aws4_request" || access_key.is_empty() {
        return None;
    }
    Some(CredentialScope {
        access_key,
        region,
        service,
    })
}

/// The account an access key belongs to: a 12-digit access key is taken as the account id
/// (handy for multi-account tests); every other key is account `123456789012`.
pub fn account_for(access_key: &str) -> String {
    if access_key.len() == 12 && access_key.bytes().all(|b| b.is_ascii_digit()) {
        access_key.to_string()
    } else {
        DEFAULT_ACCOUNT.to_string()
    }
}

/// The default account id.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scope() {
        let s = from_authorization("AWS4-HMAC-SHA256 Credential=AKID/20260101/cn-northwest-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc").expect("scope");
        assert_eq!(s.region, "cn-northwest-1");
        assert_eq!(s.service, "ec2");
        assert_eq!(account_for(&s.access_key), DEFAULT_ACCOUNT);
        assert_eq!(account_for("111122223333"), "111122223333");
        assert!(from_authorization("Bearer x").is_none());
        assert!(from_credential("a/b/c").is_none());
    }
}
