//! IMDS over the router (tower `oneshot`, no socket): IMDSv1 and the v2 token flow, 400/401/404,
//! every path for an instance with two ENIs, and instance-profile credentials that STS accepts.

use crate::support::{basic_world, World};
use cloudbox_aws::app;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const NOT_FOUND: &str = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n <head>\n  <title>404 - Not Found</title>\n </head>\n <body>\n  <h1>404 - Not Found</h1>\n </body>\n</html>\n";

struct Reply {
    status: u16,
    body: String,
    ttl: Option<String>,
}

async fn send(w: &World, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app(w.state.clone())
        .oneshot(req.body(axum::body::Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status().as_u16();
    let ttl = resp
        .headers()
        .get("x-aws-ec2-metadata-token-ttl-seconds")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        ttl,
    }
}

async fn get(w: &World, id: &str, path: &str) -> Reply {
    send(w, "GET", &format!("/_cloudbox/imds/{id}/{path}"), &[]).await
}

async fn body(w: &World, id: &str, path: &str) -> String {
    let r = get(w, id, path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.body
}

async fn token(w: &World, id: &str, ttl: &str) -> Reply {
    send(
        w,
        "PUT",
        &format!("/_cloudbox/imds/{id}/latest/api/token"),
        &[("x-aws-ec2-metadata-token-ttl-seconds", ttl)],
    )
    .await
}

/// An instance with two ENIs (two addresses on the first), an instance profile and user data.
async fn node(w: &World) -> (String, String, String, Value) {
    let (vpc, a, b, _) = basic_world(w).await;
    let out = w
        .aws
        .call(
            "ec2:RunInstances",
            &json!({
                "ImageId": "ami-0abcdef1234567890", "InstanceType": "m5.large", "MinCount": 1, "MaxCount": 1,
                "NetworkInterfaces": [
                    {"DeviceIndex": 0, "SubnetId": a, "SecondaryPrivateIpAddressCount": 1},
                    {"DeviceIndex": 1, "SubnetId": a},
                ],
                "IamInstanceProfile": {"Name": "eks-node"},
                "UserData": "IyEvYmluL2Jhc2gKZWNobyBoZWxsbwo=",
            }),
        )
        .expect("RunInstances");
    let id = out["Instances"][0]["InstanceId"]
        .as_str()
        .expect("id")
        .to_string();
    w.advance(60);
    let d = w
        .aws
        .call("ec2:DescribeInstances", &json!({"InstanceIds": [id]}))
        .expect("DescribeInstances")["Reservations"][0]["Instances"][0]
        .clone();
    let _ = b;
    (vpc, a, id, d)
}

#[tokio::test]
async fn meta_data_of_an_instance_with_two_enis() {
    let w = World::new("us-east-1");
    let (vpc, subnet, id, d) = node(&w).await;
    assert_eq!(
        body(&w, &id, "latest/meta-data/").await,
        "ami-id\nami-launch-index\nhostname\niam/\ninstance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nlocal-hostname\nlocal-ipv4\nmac\nnetwork/\nplacement/\nreservation-id\nsecurity-groups\nservices/"
    );
    assert_eq!(
        body(&w, &id, "latest/meta-data").await,
        body(&w, &id, "latest/meta-data/").await
    );
    let dns = d["PrivateDnsName"].as_str().expect("dns");
    assert!(dns.ends_with(".ec2.internal"), "{dns}");
    assert_eq!(body(&w, &id, "latest/meta-data/local-hostname").await, dns);
    assert_eq!(body(&w, &id, "latest/meta-data/hostname").await, dns);
    assert_eq!(
        body(&w, &id, "latest/meta-data/local-ipv4").await,
        d["PrivateIpAddress"].as_str().expect("ip")
    );
    assert_eq!(body(&w, &id, "latest/meta-data/instance-id").await, id);
    assert_eq!(
        body(&w, &id, "latest/meta-data/instance-type").await,
        "m5.large"
    );
    assert_eq!(
        body(&w, &id, "latest/meta-data/ami-id").await,
        "ami-0abcdef1234567890"
    );
    assert_eq!(
        body(&w, &id, "latest/meta-data/placement/availability-zone").await,
        "us-east-1a"
    );
    assert_eq!(
        body(&w, &id, "latest/meta-data/placement/region").await,
        "us-east-1"
    );
    assert_eq!(
        body(&w, &id, "latest/meta-data/placement/").await,
        "availability-zone\navailability-zone-id\nregion"
    );
    assert_eq!(
        get(&w, &id, "latest/meta-data/public-ipv4").await.status,
        404,
        "no public address"
    );

    let enis = d["NetworkInterfaces"].as_array().expect("enis");
    assert_eq!(enis.len(), 2);
    let primary = enis
        .iter()
        .find(|e| e["Attachment"]["DeviceIndex"] == 0)
        .expect("eth0");
    let mac0 = primary["MacAddress"].as_str().expect("mac");
    assert_eq!(body(&w, &id, "latest/meta-data/mac").await, mac0);
    let mut macs: Vec<String> = enis
        .iter()
        .map(|e| format!("{}/", e["MacAddress"].as_str().expect("mac")))
        .collect();
    macs.sort();
    assert_eq!(
        body(&w, &id, "latest/meta-data/network/interfaces/macs/").await,
        macs.join("\n")
    );
    assert_eq!(
        body(&w, &id, "latest/meta-data/network/").await,
        "interfaces/"
    );
    for e in enis {
        let mac = e["MacAddress"].as_str().expect("mac");
        let p = |leaf: &str| format!("latest/meta-data/network/interfaces/macs/{mac}/{leaf}");
        assert_eq!(
            body(&w, &id, &p("")).await,
            "device-number\ninterface-id\nlocal-hostname\nlocal-ipv4s\nmac\nowner-id\nsecurity-group-ids\nsecurity-groups\nsubnet-id\nsubnet-ipv4-cidr-block\nvpc-id\nvpc-ipv4-cidr-block\nvpc-ipv4-cidr-blocks"
        );
        assert_eq!(
            body(&w, &id, &p("device-number")).await,
            e["Attachment"]["DeviceIndex"].to_string()
        );
        assert_eq!(
            body(&w, &id, &p("interface-id")).await,
            e["NetworkInterfaceId"].as_str().expect("eni")
        );
        assert_eq!(body(&w, &id, &p("subnet-id")).await, subnet);
        assert_eq!(body(&w, &id, &p("vpc-id")).await, vpc);
        assert_eq!(body(&w, &id, &p("mac")).await, mac);
        assert_eq!(body(&w, &id, &p("owner-id")).await, "123456789012");
        assert_eq!(
            body(&w, &id, &p("subnet-ipv4-cidr-block")).await,
            "10.0.1.0/24"
        );
        assert_eq!(
            body(&w, &id, &p("vpc-ipv4-cidr-block")).await,
            "10.0.0.0/16"
        );
        assert_eq!(
            body(&w, &id, &p("vpc-ipv4-cidr-blocks")).await,
            "10.0.0.0/16"
        );
        let groups: Vec<&str> = e["Groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| g["GroupId"].as_str().expect("sg"))
            .collect();
        assert_eq!(
            body(&w, &id, &p("security-group-ids")).await,
            groups.join("\n")
        );
        let ips: Vec<&str> = e["PrivateIpAddresses"]
            .as_array()
            .expect("ips")
            .iter()
            .map(|i| i["PrivateIpAddress"].as_str().expect("ip"))
            .collect();
        assert_eq!(body(&w, &id, &p("local-ipv4s")).await, ips.join("\n"));
        assert_eq!(
            ips.len(),
            if e["Attachment"]["DeviceIndex"] == 0 {
                2
            } else {
                1
            }
        );
    }

    assert_eq!(
        body(&w, &id, "latest/user-data").await,
        "#!/bin/bash\necho hello\n"
    );
    assert_eq!(
        body(&w, &id, "latest").await,
        "dynamic\nmeta-data\nuser-data"
    );
    let doc: Value =
        serde_json::from_str(&body(&w, &id, "latest/dynamic/instance-identity/document").await)
            .expect("json");
    assert_eq!(doc["instanceId"], id.as_str());
    assert_eq!(doc["accountId"], "123456789012");
    assert_eq!(doc["region"], "us-east-1");
    assert_eq!(doc["availabilityZone"], "us-east-1a");
    assert_eq!(doc["privateIp"], d["PrivateIpAddress"]);
    assert_eq!(doc["instanceType"], "m5.large");
}

#[tokio::test]
async fn v2_tokens_and_errors() {
    let w = World::new("us-east-1");
    let (_, _, id, _) = node(&w).await;
    let t = token(&w, &id, "60").await;
    assert_eq!(t.status, 200);
    assert_eq!(t.ttl.as_deref(), Some("60"));
    let tok = t.body;
    let r = send(
        &w,
        "GET",
        &format!("/_cloudbox/imds/{id}/latest/meta-data/instance-id"),
        &[("x-aws-ec2-metadata-token", &tok)],
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, id.as_str()));
    assert_eq!(r.ttl.as_deref(), Some("60"));
    // Wrong token, another instance's token, expired token: 401.
    let bad = send(
        &w,
        "GET",
        &format!("/_cloudbox/imds/{id}/latest/meta-data/instance-id"),
        &[("x-aws-ec2-metadata-token", "AQAEnope")],
    )
    .await;
    assert_eq!(bad.status, 401);
    assert!(
        bad.body.contains("<h1>401 - Unauthorized</h1>"),
        "{}",
        bad.body
    );
    let other = crate::support::instance(
        &w.ec2,
        &crate::support::subnet(
            &w.ec2,
            &crate::support::vpc(&w.ec2, "10.9.0.0/16").await,
            "10.9.1.0/24",
            "us-east-1a",
        )
        .await,
        "t3.micro",
    )
    .await;
    let other_tok = token(&w, &other, "60").await.body;
    let r = send(
        &w,
        "GET",
        &format!("/_cloudbox/imds/{id}/latest/meta-data/instance-id"),
        &[("x-aws-ec2-metadata-token", &other_tok)],
    )
    .await;
    assert_eq!(r.status, 401);
    w.advance(60);
    let r = send(
        &w,
        "GET",
        &format!("/_cloudbox/imds/{id}/latest/meta-data/instance-id"),
        &[("x-aws-ec2-metadata-token", &tok)],
    )
    .await;
    assert_eq!(r.status, 401, "expired");
    // IMDSv1 still answers.
    assert_eq!(body(&w, &id, "latest/meta-data/instance-id").await, id);
    // TTL outside 1..21600 or missing: 400.
    for ttl in ["0", "21601", "x"] {
        assert_eq!(token(&w, &id, ttl).await.status, 400, "{ttl}");
    }
    assert_eq!(
        send(
            &w,
            "PUT",
            &format!("/_cloudbox/imds/{id}/latest/api/token"),
            &[]
        )
        .await
        .status,
        400
    );
    assert_eq!(token(&w, &id, "21600").await.status, 200);
    // Unknown paths and instances: 404 with IMDS's body.
    let r = get(&w, &id, "latest/meta-data/nope").await;
    assert_eq!((r.status, r.body.as_str()), (404, NOT_FOUND));
    assert_eq!(get(&w, &id, "latest/meta-datax").await.status, 404);
    assert_eq!(
        get(&w, "i-0123456789abcdef0", "latest/meta-data/")
            .await
            .status,
        404
    );
    assert_eq!(token(&w, "i-0123456789abcdef0", "60").await.status, 404);
    // An instance without user data: 404; terminated: 404.
    assert_eq!(get(&w, &other, "latest/user-data").await.status, 404);
    assert_eq!(get(&w, &other, "latest/meta-data/iam/").await.status, 404);
    w.aws
        .call("ec2:TerminateInstances", &json!({"InstanceIds": [other]}))
        .expect("terminate");
    w.advance(60);
    assert_eq!(
        get(&w, &other, "latest/meta-data/instance-id").await.status,
        404
    );
}

#[tokio::test]
async fn instance_profile_credentials_are_accepted_by_sts() {
    let w = World::new("us-east-1");
    let (_, _, id, _) = node(&w).await;
    assert_eq!(
        body(&w, &id, "latest/meta-data/iam/").await,
        "info\nsecurity-credentials/"
    );
    assert_eq!(
        body(&w, &id, "latest/meta-data/iam/security-credentials/").await,
        "eks-node"
    );
    let info: Value =
        serde_json::from_str(&body(&w, &id, "latest/meta-data/iam/info").await).expect("json");
    assert_eq!(info["Code"], "Success");
    assert_eq!(
        info["InstanceProfileArn"],
        "arn:aws:iam::123456789012:instance-profile/eks-node"
    );
    let raw = body(
        &w,
        &id,
        "latest/meta-data/iam/security-credentials/eks-node",
    )
    .await;
    assert!(
        raw.starts_with("{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \""),
        "{raw}"
    );
    let c: Value = serde_json::from_str(&raw).expect("json");
    assert_eq!(c["Type"], "AWS-HMAC");
    let key = c["AccessKeyId"].as_str().expect("key");
    assert!(key.starts_with("ASIA"));
    // The same credentials until shortly before they expire.
    let again: Value = serde_json::from_str(
        &body(
            &w,
            &id,
            "latest/meta-data/iam/security-credentials/eks-node",
        )
        .await,
    )
    .expect("json");
    assert_eq!(again["AccessKeyId"], key);
    let sts = crate::sdk_client!(
        aws_sdk_sts,
        &w.state,
        "us-east-1",
        key,
        c["Token"].as_str().map(str::to_string)
    );
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::123456789012:assumed-role/eks-node/{id}").as_str())
    );
    assert_eq!(
        get(
            &w,
            &id,
            "latest/meta-data/iam/security-credentials/other-role"
        )
        .await
        .status,
        404
    );
    w.advance(6 * 3600 - 10 * 60);
    let renewed: Value = serde_json::from_str(
        &body(
            &w,
            &id,
            "latest/meta-data/iam/security-credentials/eks-node",
        )
        .await,
    )
    .expect("json");
    assert_ne!(
        renewed["AccessKeyId"], key,
        "renewed 15 minutes before expiry"
    );
}

#[tokio::test]
async fn http_tokens_required_refuses_imdsv1() {
    let w = World::new("us-east-1");
    let (_, a, _, _) = basic_world(&w).await;
    let run = |tokens: &str| {
        w.aws.call(
            "ec2:RunInstances",
            &json!({"ImageId": "ami-0abcdef1234567890", "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1,
                    "SubnetId": a, "MetadataOptions": {"HttpTokens": tokens}}),
        )
    };
    let err = run("sometimes").expect_err("bad value");
    assert_eq!(err.code.as_str(), "InvalidParameterValue");
    let out = run("required").expect("RunInstances");
    let id = out["Instances"][0]["InstanceId"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        out["Instances"][0]["MetadataOptions"]["HttpTokens"],
        "required"
    );
    let r = get(&w, &id, "latest/meta-data/instance-id").await;
    assert_eq!(r.status, 401);
    assert!(
        r.body.contains("<title>401 - Unauthorized</title>"),
        "{}",
        r.body
    );
    let tok = token(&w, &id, "30").await.body;
    let r = send(
        &w,
        "GET",
        &format!("/_cloudbox/imds/{id}/latest/meta-data/instance-id"),
        &[("x-aws-ec2-metadata-token", &tok)],
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, id.as_str()));
}
