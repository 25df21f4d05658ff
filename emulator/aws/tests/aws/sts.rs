//! STS through the real aws-sdk-sts client: identities, AssumeRole and its rules, sessions acting
//! as their role in its account, expiry on the simulation clock, web identity, GetSessionToken.

use crate::support::{code, code_msg, World};
use aws_sdk_sts::primitives::DateTime;

const ROLE: &str = "arn:aws:iam::111122223333:role/eks/node-role";

fn jwt(claims: &str) -> String {
    fn b64url(s: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in s.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64url(br#"{"alg":"RS256","kid":"k"}"#),
        b64url(claims.as_bytes())
    )
}

#[test]
fn docs_list_every_implemented_operation() {
    use cloudbox_aws::service::{self, Service};
    let doc = include_str!("../../../../docs/sts.md");
    let ops = service::Sts.implemented_operations();
    for op in &ops {
        assert!(doc.contains(op), "docs/sts.md does not mention {op}");
    }
    assert_eq!(ops.len(), 4);
}

#[tokio::test]
async fn caller_identity_of_root_and_of_other_accounts() {
    let w = World::new("us-east-1");
    let id = w
        .sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(id.account(), Some("123456789012"));
    assert_eq!(id.arn(), Some("arn:aws:iam::123456789012:root"));
    assert_eq!(id.user_id(), Some("123456789012"));
    let other = crate::sdk_client!(aws_sdk_sts, &w.state, "us-east-1", "444455556666");
    let id = other
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(id.arn(), Some("arn:aws:iam::444455556666:root"));
    let cn = World::new("cn-north-1");
    let id = cn
        .sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(id.arn(), Some("arn:aws-cn:iam::123456789012:root"));
}

#[tokio::test]
async fn assume_role_credentials_act_as_the_role_until_they_expire() {
    let w = World::new("us-east-1");
    let out = w
        .sts
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("ci@build-1")
        .duration_seconds(900)
        .send()
        .await
        .expect("AssumeRole");
    let c = out.credentials().expect("credentials");
    assert!(
        c.access_key_id().starts_with("ASIA") && c.access_key_id().len() == 20,
        "{}",
        c.access_key_id()
    );
    assert!(c.access_key_id()[4..]
        .bytes()
        .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
    assert_eq!(c.secret_access_key().len(), 40);
    assert!(!c.session_token().is_empty());
    let start = DateTime::from_millis(w.state.clock().now().as_millis() as i64);
    assert_eq!(c.expiration().secs() - start.secs(), 900);
    let user = out.assumed_role_user().expect("user");
    assert_eq!(
        user.arn(),
        "arn:aws:sts::111122223333:assumed-role/node-role/ci@build-1"
    );
    assert!(
        user.assumed_role_id().starts_with("AROA")
            && user.assumed_role_id().ends_with(":ci@build-1")
    );

    let role = crate::sdk_client!(
        aws_sdk_sts,
        &w.state,
        "us-east-1",
        c.access_key_id(),
        Some(c.session_token().to_string())
    );
    let id = role
        .get_caller_identity()
        .send()
        .await
        .expect("as the role");
    assert_eq!(id.account(), Some("111122223333"));
    assert_eq!(id.arn(), Some(user.arn()));
    assert_eq!(id.user_id(), Some(user.assumed_role_id()));
    // The role's id is the same for every session of the role.
    let again = w
        .sts
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("other")
        .send()
        .await
        .expect("AssumeRole");
    let rid = |s: &str| s.split(':').next().map(str::to_string);
    assert_eq!(
        rid(again.assumed_role_user().expect("user").assumed_role_id()),
        rid(user.assumed_role_id())
    );

    // Its EC2 calls land in the role's account.
    let ec2 = crate::support::client(&w.state, "us-east-1", c.access_key_id());
    let vpcs = ec2.describe_vpcs().send().await.expect("DescribeVpcs");
    assert_eq!(vpcs.vpcs()[0].owner_id(), Some("111122223333"));

    // Role chaining is limited to one hour.
    let (code_, msg) = code_msg(
        role.assume_role()
            .role_arn(ROLE)
            .role_session_name("chain")
            .duration_seconds(3601)
            .send()
            .await,
    );
    assert_eq!(code_, "ValidationError");
    assert_eq!(msg, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
    role.assume_role()
        .role_arn(ROLE)
        .role_session_name("chain")
        .duration_seconds(3600)
        .send()
        .await
        .expect("chained");

    w.advance(900);
    let (code_, msg) = code_msg(role.get_caller_identity().send().await);
    assert_eq!(code_, "ExpiredToken");
    assert_eq!(msg, "The security token included in the request is expired");
    assert_eq!(code(ec2.describe_vpcs().send().await), "ExpiredToken");
}

#[tokio::test]
async fn assume_role_rules() {
    let w = World::new("us-east-1");
    let try_ = |arn: &str, name: &str, secs: Option<i32>| {
        w.sts
            .assume_role()
            .role_arn(arn)
            .role_session_name(name)
            .set_duration_seconds(secs)
            .send()
    };
    for bad_arn in [
        "arn:aws:iam::111122223333:user/bob",
        "arn:aws:iam::1111:role/short-account",
        "arn:aws:s3:::bucket/role/x-yyyyyy",
        "arn:aws-cn:iam::111122223333:role/other-partition",
        "arn:aws:iam:us-east-1:111122223333:role/regional",
        "arn:aws:iam::111122223333:role/",
    ] {
        let (c, m) = code_msg(try_(bad_arn, "s1", None).await);
        assert_eq!(
            (c.as_str(), m.as_str()),
            ("ValidationError", "Request ARN is invalid"),
            "{bad_arn}"
        );
    }
    let (c, m) = code_msg(try_("arn:aws:iam", "s1", None).await);
    assert_eq!(c, "ValidationError");
    assert!(m.contains("at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"), "{m}");
    for bad_name in ["a", "has space", "slash/no", &"x".repeat(65)] {
        let (c, m) = code_msg(try_(ROLE, bad_name, None).await);
        assert_eq!(c, "ValidationError", "{bad_name}");
        assert!(m.contains("'roleSessionName'"), "{m}");
    }
    for (secs, bound) in [
        (899, "greater than or equal to 900"),
        (43201, "less than or equal to 43200"),
    ] {
        let (c, m) = code_msg(try_(ROLE, "s1", Some(secs)).await);
        assert_eq!(c, "ValidationError");
        assert!(m.contains(bound), "{m}");
    }
    try_(ROLE, "s1", Some(43200)).await.expect("12 hours");
    // PackedPolicySize only with a session policy (in-process: the SDK deprecates the member).
    let plain = w
        .aws
        .call(
            "sts:AssumeRole",
            &serde_json::json!({"RoleArn": ROLE, "RoleSessionName": "p0"}),
        )
        .expect("plain");
    assert!(plain.get("PackedPolicySize").is_none());
    let with_policy = w
        .aws
        .call(
            "sts:AssumeRole",
            &serde_json::json!({"RoleArn": ROLE, "RoleSessionName": "p1",
                "Policy": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#}),
        )
        .expect("with a session policy");
    assert!(with_policy["PackedPolicySize"]
        .as_i64()
        .is_some_and(|p| (1..=100).contains(&p)));
    try_(
        "arn:aws:iam::111122223333:role/path/to/Role_+=,.@-1",
        "a_+=,.@-1",
        None,
    )
    .await
    .expect("every allowed character");
}

#[tokio::test]
async fn assume_role_with_web_identity_is_unsigned() {
    let w = World::new("us-east-1");
    let now = w.state.clock().now().as_millis() / 1000;
    let token = jwt(&format!(
        r#"{{"iss":"https://oidc.eks.us-east-1.amazonaws.com/id/ABC","sub":"system:serviceaccount:kube-system:aws-node","aud":["sts.amazonaws.com"],"exp":{}}}"#,
        now + 3600
    ));
    let out = w
        .sts
        .assume_role_with_web_identity()
        .role_arn(ROLE)
        .role_session_name("botocore-session-1")
        .web_identity_token(&token)
        .send()
        .await
        .expect("AssumeRoleWithWebIdentity");
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some("system:serviceaccount:kube-system:aws-node")
    );
    assert_eq!(out.audience(), Some("sts.amazonaws.com"));
    assert_eq!(
        out.provider(),
        Some("arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC")
    );
    let c = out.credentials().expect("credentials");
    let role = crate::sdk_client!(
        aws_sdk_sts,
        &w.state,
        "us-east-1",
        c.access_key_id(),
        Some(c.session_token().to_string())
    );
    let id = role
        .get_caller_identity()
        .send()
        .await
        .expect("as the role");
    assert_eq!(
        id.arn(),
        Some("arn:aws:sts::111122223333:assumed-role/node-role/botocore-session-1")
    );

    let (c, m) = code_msg(
        w.sts
            .assume_role_with_web_identity()
            .role_arn(ROLE)
            .role_session_name("s1")
            .web_identity_token("not-a-jwt")
            .send()
            .await,
    );
    assert_eq!(c, "InvalidIdentityToken");
    assert_eq!(m, "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)");
    let expired = jwt(&format!(r#"{{"sub":"x","exp":{}}}"#, now - 1));
    assert_eq!(
        code(
            w.sts
                .assume_role_with_web_identity()
                .role_arn(ROLE)
                .role_session_name("s1")
                .web_identity_token(expired)
                .send()
                .await
        ),
        "ExpiredTokenException"
    );
}

#[tokio::test]
async fn session_tokens_of_long_term_credentials_only() {
    let w = World::new("us-east-1");
    let out = w
        .sts
        .get_session_token()
        .send()
        .await
        .expect("GetSessionToken");
    let c = out.credentials().expect("credentials");
    let start = DateTime::from_millis(w.state.clock().now().as_millis() as i64);
    assert_eq!(c.expiration().secs() - start.secs(), 43200);
    let s = crate::sdk_client!(
        aws_sdk_sts,
        &w.state,
        "us-east-1",
        c.access_key_id(),
        Some(c.session_token().to_string())
    );
    let id = s.get_caller_identity().send().await.expect("identity");
    assert_eq!(id.arn(), Some("arn:aws:iam::123456789012:root"));
    let (c, m) = code_msg(s.get_session_token().send().await);
    assert_eq!(
        (c.as_str(), m.as_str()),
        (
            "AccessDenied",
            "Cannot call GetSessionToken with session credentials"
        )
    );
    assert_eq!(
        code(
            w.sts
                .get_session_token()
                .duration_seconds(129_601)
                .send()
                .await
        ),
        "ValidationError"
    );
}
