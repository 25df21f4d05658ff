//! The in-process client and the HTTP door run the same checks, handlers and codes, and both
//! land in the call log.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn in_process_and_http_agree() {
    let w = World::new("cn-northwest-1");
    // Same success answer.
    let via_sdk = w
        .ec2
        .describe_availability_zones()
        .send()
        .await
        .expect("sdk");
    let via_client = w
        .aws
        .call("ec2:DescribeAvailabilityZones", &json!({}))
        .expect("in process");
    assert_eq!(
        via_sdk.availability_zones().len(),
        via_client["AvailabilityZones"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_default()
    );
    // Same error codes for the same mistakes.
    let e = w
        .aws
        .call(
            "ec2:AttachVolume",
            &json!({"VolumeId": "vol-0", "InstanceId": "i-0", "Device": "/dev/xvdf"}),
        )
        .expect_err("unknown volume");
    let sdk = w
        .ec2
        .attach_volume()
        .volume_id("vol-0")
        .instance_id("i-0")
        .device("/dev/xvdf")
        .send()
        .await;
    assert_eq!(e.code.as_str(), code(sdk));
    let e = w
        .aws
        .call(
            "ec2:AttachVolume",
            &json!({"VolumeId": "vol-0", "InstanceId": "i-0"}),
        )
        .expect_err("missing member");
    assert_eq!(e.code.as_str(), "MissingParameter");
    let e = w
        .aws
        .call("ec2:DescribeVpcs", &json!({"VpcIds": "vpc-1"}))
        .expect_err("wrong type");
    assert_eq!(e.code.as_str(), "InvalidParameterValue");
    let e = w
        .aws
        .call("ec2:DescribeVpcs", &json!({"Nope": 1}))
        .expect_err("unknown member");
    assert_eq!(e.code.as_str(), "UnknownParameter");
    let e = w
        .aws
        .call("ec2:Frobnicate", &json!({}))
        .expect_err("unknown op");
    assert_eq!(e.code.as_str(), "InvalidAction");
    let e = w
        .aws
        .call("s3:ListBuckets", &json!({}))
        .expect_err("unknown service");
    assert_eq!(e.code.as_str(), "InvalidAction");
    let e = w
        .aws
        .call("DescribeVpcs", &json!({}))
        .expect_err("no service");
    assert_eq!(e.code.as_str(), "InvalidAction");
    // Both doors are in the call log, failures with their codes.
    let calls = w.state.recent_calls(100);
    assert!(calls.iter().any(|c| c.operation == "ec2:AttachVolume"
        && c.error.as_deref() == Some("InvalidVolume.NotFound")));
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.operation == "ec2:DescribeAvailabilityZones")
            .count(),
        2
    );
}

#[tokio::test]
async fn typed_describe_instances_reaches_the_sdk() {
    let w = World::new("us-east-1");
    let (_, a, _, i) = basic_world(&w).await;
    let out = w
        .ec2
        .describe_instances()
        .instance_ids(&i)
        .send()
        .await
        .expect("describe");
    let inst = &out.reservations()[0].instances()[0];
    assert_eq!(inst.subnet_id(), Some(a.as_str()));
    assert_eq!(
        inst.state().and_then(|s| s.name()).map(|n| n.as_str()),
        Some("running")
    );
    assert!(inst
        .private_dns_name()
        .is_some_and(|d| d.ends_with(".ec2.internal")));
    assert_eq!(inst.network_interfaces().len(), 1);
    assert_eq!(inst.block_device_mappings().len(), 1);
    // The in-process client sees the same instance through the same writer.
    let v = w
        .aws
        .call("ec2:DescribeInstances", &json!({"InstanceIds": [i]}))
        .expect("in process");
    assert_eq!(
        v["Reservations"][0]["Instances"][0]["PrivateDnsName"],
        inst.private_dns_name().unwrap_or_default()
    );
}
