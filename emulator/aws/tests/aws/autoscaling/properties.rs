//! Invariants under random sequences of Create/Update/SetDesiredCapacity/Terminate/EC2
//! termination/time (proptest, through the in-process client): every request answers a
//! result or a coded 4xx (never a 5xx), every group stays within min..max, and once the clock
//! has moved on each group has exactly its desired capacity in service, balanced across its
//! AZs within one.

use crate::support::*;
use cloudbox_aws::AwsClient;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Create(usize, i64, i64, i64),
    Update(usize, Option<i64>, Option<i64>, Option<i64>),
    SetDesired(usize, i64),
    Terminate(usize, usize, bool),
    Ec2Terminate(usize, usize),
    Protect(usize, usize),
    Delete(usize, bool),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..4i64, 0..8i64, 0..8i64).prop_map(|(g, a, b, c)| Op::Create(g, a, b, c)),
        valid_create(),
        (
            0..3usize,
            proptest::option::of(-1..5i64),
            proptest::option::of(0..9i64),
            proptest::option::of(0..9i64)
        )
            .prop_map(|(g, a, b, c)| Op::Update(g, a, b, c)),
        (0..3usize, -1..10i64).prop_map(|(g, d)| Op::SetDesired(g, d)),
        (0..3usize, 0..8usize, any::<bool>()).prop_map(|(g, i, d)| Op::Terminate(g, i, d)),
        (0..3usize, 0..8usize).prop_map(|(g, i)| Op::Ec2Terminate(g, i)),
        (0..3usize, 0..8usize).prop_map(|(g, i)| Op::Protect(g, i)),
        (0..3usize, any::<bool>()).prop_map(|(g, f)| Op::Delete(g, f)),
        (1..90u64).prop_map(Op::Advance),
    ]
}

/// A create that passes the size rules (min <= desired <= max).
fn valid_create() -> impl Strategy<Value = Op> {
    (0..3usize, 0..3i64, 0..6i64, 0..6i64)
        .prop_map(|(g, min, span, d)| Op::Create(g, min, min + span, min + d.min(span)))
}

const NAMES: [&str; 3] = ["alpha", "beta", "gamma"];

fn call(aws: &AwsClient, op: &str, input: Value) -> Option<Value> {
    match aws.call(op, &input) {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(e.status() < 500, "{op} {input} answered {e}");
            None
        }
    }
}

fn groups(aws: &AwsClient) -> Vec<Value> {
    call(
        aws,
        "autoscaling:DescribeAutoScalingGroups",
        json!({"MaxRecords": 100}),
    )
    .and_then(|v| v["AutoScalingGroups"].as_array().cloned())
    .unwrap_or_default()
}

fn member(aws: &AwsClient, g: usize, i: usize) -> Option<String> {
    let gs = groups(aws);
    let grp = gs.iter().find(|x| x["AutoScalingGroupName"] == NAMES[g])?;
    let inst = grp["Instances"].as_array()?;
    if inst.is_empty() {
        return None;
    }
    inst[i % inst.len()]["InstanceId"]
        .as_str()
        .map(str::to_string)
}

fn apply(w: &World, subnets: &str, op: &Op) {
    let aws = &w.aws;
    match op {
        Op::Create(g, min, max, desired) => {
            call(
                aws,
                "autoscaling:CreateAutoScalingGroup",
                json!({"AutoScalingGroupName": NAMES[*g], "LaunchTemplate": {"LaunchTemplateName": "workers", "Version": "$Latest"},
                       "VPCZoneIdentifier": subnets, "MinSize": min, "MaxSize": max, "DesiredCapacity": desired}),
            );
        }
        Op::Update(g, min, max, desired) => {
            let mut input = json!({"AutoScalingGroupName": NAMES[*g]});
            if let Some(v) = min {
                input["MinSize"] = json!(v);
            }
            if let Some(v) = max {
                input["MaxSize"] = json!(v);
            }
            if let Some(v) = desired {
                input["DesiredCapacity"] = json!(v);
            }
            call(aws, "autoscaling:UpdateAutoScalingGroup", input);
        }
        Op::SetDesired(g, d) => {
            call(
                aws,
                "autoscaling:SetDesiredCapacity",
                json!({"AutoScalingGroupName": NAMES[*g], "DesiredCapacity": d}),
            );
        }
        Op::Terminate(g, i, dec) => {
            let id = member(aws, *g, *i).unwrap_or_else(|| "i-0123456789abcdef0".into());
            call(
                aws,
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                json!({"InstanceId": id, "ShouldDecrementDesiredCapacity": dec}),
            );
        }
        Op::Ec2Terminate(g, i) => {
            if let Some(id) = member(aws, *g, *i) {
                call(aws, "ec2:TerminateInstances", json!({"InstanceIds": [id]}));
            }
        }
        Op::Protect(g, i) => {
            if let Some(id) = member(aws, *g, *i) {
                call(
                    aws,
                    "autoscaling:SetInstanceProtection",
                    json!({"AutoScalingGroupName": NAMES[*g], "InstanceIds": [id], "ProtectedFromScaleIn": false}),
                );
            }
        }
        Op::Delete(g, force) => {
            call(
                aws,
                "autoscaling:DeleteAutoScalingGroup",
                json!({"AutoScalingGroupName": NAMES[*g], "ForceDelete": force}),
            );
        }
        Op::Advance(s) => w.advance(*s),
    }
}

fn check_bounds(aws: &AwsClient) {
    for g in groups(aws) {
        let (min, max, d) = (
            g["MinSize"].as_i64().unwrap_or(-1),
            g["MaxSize"].as_i64().unwrap_or(-1),
            g["DesiredCapacity"].as_i64().unwrap_or(-1),
        );
        assert!(0 <= min && min <= d && d <= max, "{g}");
    }
}

fn check_converged(aws: &AwsClient) {
    for g in groups(aws) {
        let desired = g["DesiredCapacity"].as_i64().unwrap_or(-1) as usize;
        let inst = g["Instances"].as_array().cloned().unwrap_or_default();
        let in_service: Vec<&Value> = inst
            .iter()
            .filter(|i| i["LifecycleState"] == "InService")
            .collect();
        assert_eq!(in_service.len(), inst.len(), "all settled: {g}");
        assert_eq!(in_service.len(), desired, "converged: {g}");
        let mut per_az: BTreeMap<String, usize> = BTreeMap::new();
        for az in g["AvailabilityZones"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            per_az.insert(az.as_str().unwrap_or_default().to_string(), 0);
        }
        for i in &in_service {
            *per_az
                .entry(
                    i["AvailabilityZone"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
                .or_default() += 1;
        }
        let hi = per_az.values().max().copied().unwrap_or(0);
        let lo = per_az.values().min().copied().unwrap_or(0);
        assert!(hi - lo <= 1, "balanced within one: {per_az:?} {g}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn groups_converge_to_desired_balanced_and_never_5xx(
        creates in proptest::collection::vec(valid_create(), 1..4),
        ops in proptest::collection::vec(op(), 1..25),
    ) {
        let w = World::new("us-east-1");
        let aws = &w.aws;
        let vpc = call(aws, "ec2:CreateVpc", json!({"CidrBlock": "10.0.0.0/16"})).expect("vpc");
        let vpc = vpc["Vpc"]["VpcId"].as_str().unwrap_or_default().to_string();
        let mut subnets = Vec::new();
        for (i, az) in ["us-east-1a", "us-east-1b", "us-east-1c"].iter().enumerate() {
            let s = call(aws, "ec2:CreateSubnet", json!({"VpcId": vpc, "CidrBlock": format!("10.0.{i}.0/24"), "AvailabilityZone": az})).expect("subnet");
            subnets.push(s["Subnet"]["SubnetId"].as_str().unwrap_or_default().to_string());
        }
        call(aws, "ec2:CreateLaunchTemplate", json!({"LaunchTemplateName": "workers", "LaunchTemplateData": {"ImageId": "ami-0abcdef1234567890", "InstanceType": "t3.medium"}})).expect("lt");
        let subnets = subnets.join(",");
        for op in creates.iter().chain(&ops) {
            apply(&w, &subnets, op);
            check_bounds(aws);
        }
        // Let every launch boot, every termination finish and health checks replace losses.
        for _ in 0..6 {
            w.advance(60);
            check_bounds(aws);
        }
        check_converged(aws);
    }
}

/// Sends a raw Auto Scaling form body to the endpoint; returns the status and body.
async fn raw(app: axum::Router, body: String) -> (u16, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = http::Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/autoscaling/aws4_request, SignedHeaders=host, Signature=0")
        .body(axum::body::Body::from(body))
        .expect("request");
    let resp = app.oneshot(req).await.expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn param() -> impl Strategy<Value = (String, String)> {
    let key = prop_oneof![
        Just("AutoScalingGroupName".to_string()),
        Just("AutoScalingGroupNames.member.1".to_string()),
        Just("MinSize".to_string()),
        Just("MaxSize".to_string()),
        Just("DesiredCapacity".to_string()),
        Just("VPCZoneIdentifier".to_string()),
        Just("AvailabilityZones.member.1".to_string()),
        Just("LaunchTemplate.LaunchTemplateName".to_string()),
        Just("LaunchTemplate.LaunchTemplateId".to_string()),
        Just("LaunchTemplate.Version".to_string()),
        Just(
            "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName"
                .to_string()
        ),
        Just("MixedInstancesPolicy.LaunchTemplate.Overrides.member.1.InstanceType".to_string()),
        Just("LaunchConfigurationName".to_string()),
        Just("ImageId".to_string()),
        Just("InstanceType".to_string()),
        Just("InstanceId".to_string()),
        Just("InstanceIds.member.1".to_string()),
        Just("ShouldDecrementDesiredCapacity".to_string()),
        Just("ProtectedFromScaleIn".to_string()),
        Just("ForceDelete".to_string()),
        Just("Tags.member.1.ResourceId".to_string()),
        Just("Tags.member.1.Key".to_string()),
        Just("Tags.member.1.Value".to_string()),
        Just("Filters.member.1.Name".to_string()),
        Just("Filters.member.1.Values.member.1".to_string()),
        Just("MaxRecords".to_string()),
        Just("NextToken".to_string()),
        "[A-Za-z.0-9]{1,20}",
    ];
    let value = prop_oneof![
        Just("g".to_string()),
        Just("workers".to_string()),
        Just("$Latest".to_string()),
        Just("$Default".to_string()),
        Just("0".to_string()),
        Just("3".to_string()),
        Just("-1".to_string()),
        Just("2147483647".to_string()),
        Just("99999999999999999999".to_string()),
        Just("ami-0abcdef1234567890".to_string()),
        Just("c5.large".to_string()),
        Just("us-east-1a".to_string()),
        Just("tag-key".to_string()),
        Just("true".to_string()),
        Just("i-0123456789abcdef0".to_string()),
        ".{0,12}",
    ];
    (key, value)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]
    /// Whatever the parameters, every implemented Auto Scaling operation answers a 200 or a
    /// coded 4xx in the query protocol's error envelope: never a panic, never a 5xx.
    #[test]
    fn malformed_requests_get_coded_client_errors(
        op in proptest::sample::select(cloudbox_aws::autoscaling::implemented_operations()),
        params in proptest::collection::vec(param(), 0..7),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let state = cloudbox_aws::AwsState::new(cloudbox_sim::Clock::manual(), 1);
            let aws = AwsClient::new(&state, "us-east-1").expect("client").with_access_key("AKID");
            call(&aws, "ec2:CreateLaunchTemplate", json!({"LaunchTemplateName": "workers", "LaunchTemplateData": {"ImageId": "ami-0abcdef1234567890", "InstanceType": "t3.medium"}})).expect("lt");
            call(&aws, "autoscaling:CreateAutoScalingGroup", json!({"AutoScalingGroupName": "g", "LaunchTemplate": {"LaunchTemplateName": "workers"}, "AvailabilityZones": ["us-east-1a", "us-east-1b"], "MinSize": 1, "MaxSize": 3})).expect("group");
            let app = cloudbox_aws::app(state);
            let mut body = format!("Action={op}&Version=2011-01-01");
            for (k, v) in &params {
                let enc: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
                body.push_str(&format!("&{k}={enc}"));
            }
            let (status, text) = raw(app, body.clone()).await;
            assert!(status == 200 || (400..500).contains(&status), "{status} for {body}: {text}");
            if status != 200 {
                assert!(text.contains("<ErrorResponse"), "not a query error: {text}");
            }
        });
    }
}
