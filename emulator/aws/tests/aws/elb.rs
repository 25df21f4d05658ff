//! Classic ELB through the in-process client (the aws-sdk-rust has no classic ELB crate in this
//! build), plus the raw wire format of the query protocol with `Version=2012-06-01`.

use crate::support::{basic_world, instance, subnet, World};
use cloudbox_aws::service::{self, Service};
use serde_json::{json, Value};

fn call(w: &World, op: &str, input: Value) -> Value {
    w.aws
        .call(&format!("elb:{op}"), &input)
        .unwrap_or_else(|e| panic!("{op}: {e}"))
}

fn err(w: &World, op: &str, input: Value) -> (String, String) {
    match w.aws.call(&format!("elb:{op}"), &input) {
        Ok(v) => panic!("{op} succeeded: {v}"),
        Err(e) => (e.code.as_str().to_string(), e.message),
    }
}

fn listeners() -> Value {
    json!([{"Protocol": "TCP", "LoadBalancerPort": 80, "InstanceProtocol": "TCP", "InstancePort": 30080}])
}

fn available(w: &World, subnet: &str) -> i64 {
    w.aws
        .call("ec2:DescribeSubnets", &json!({"SubnetIds": [subnet]}))
        .expect("DescribeSubnets")["Subnets"][0]["AvailableIpAddressCount"]
        .as_i64()
        .expect("count")
}

fn describe(w: &World, name: &str) -> Value {
    call(
        w,
        "DescribeLoadBalancers",
        json!({"LoadBalancerNames": [name]}),
    )["LoadBalancerDescriptions"][0]
        .clone()
}

#[test]
fn docs_list_every_implemented_operation() {
    let doc = include_str!("../../../../docs/elb.md");
    let ops = service::Elb.implemented_operations();
    for op in &ops {
        assert!(doc.contains(op), "docs/elb.md does not mention {op}");
    }
    assert_eq!(ops.len(), 22);
}

#[tokio::test]
async fn create_describe_delete_takes_and_returns_enis() {
    let w = World::new("us-east-1");
    let (vpc, a, b, _) = basic_world(&w).await;
    let (free_a, free_b) = (available(&w, &a), available(&w, &b));
    let out = call(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "a1b2c3", "Listeners": listeners(), "Subnets": [a, b], "Scheme": "internal",
               "Tags": [{"Key": "kubernetes.io/cluster/demo", "Value": "owned"}]}),
    );
    let dns = out["DNSName"].as_str().expect("dns").to_string();
    let digits = dns
        .strip_prefix("internal-a1b2c3-")
        .and_then(|r| r.strip_suffix(".us-east-1.elb.amazonaws.com"))
        .expect("internal-<name>-<n>.<region>.elb.amazonaws.com");
    assert!(
        digits.len() >= 9 && digits.bytes().all(|c| c.is_ascii_digit()),
        "{dns}"
    );
    assert_eq!(available(&w, &a), free_a - 1, "one ENI per subnet");
    assert_eq!(available(&w, &b), free_b - 1);
    let enis = w
        .aws
        .call(
            "ec2:DescribeNetworkInterfaces",
            &json!({"Filters": [{"Name": "description", "Values": ["ELB a1b2c3"]}]}),
        )
        .expect("enis");
    assert_eq!(enis["NetworkInterfaces"].as_array().map(Vec::len), Some(2));

    let d = describe(&w, "a1b2c3");
    assert_eq!(d["DNSName"], dns.as_str());
    assert_eq!(d["Scheme"], "internal");
    assert_eq!(d["VPCId"], vpc.as_str());
    assert_eq!(d["Subnets"], json!([a, b]));
    assert_eq!(d["AvailabilityZones"], json!(["us-east-1a", "us-east-1b"]));
    assert_eq!(d["CanonicalHostedZoneNameID"], "Z35SXDOTRQ7X7K");
    assert!(
        d.get("CanonicalHostedZoneName").is_none(),
        "internal: no public name"
    );
    assert_eq!(d["SourceSecurityGroup"]["GroupName"], "default");
    assert_eq!(d["SourceSecurityGroup"]["OwnerAlias"], "123456789012");
    assert_eq!(d["SecurityGroups"].as_array().map(Vec::len), Some(1));
    assert_eq!(d["ListenerDescriptions"][0]["Listener"], listeners()[0]);
    assert_eq!(
        d["HealthCheck"],
        json!({"Target": "TCP:30080", "Interval": 30, "Timeout": 5, "UnhealthyThreshold": 2, "HealthyThreshold": 10})
    );

    // Same request again: idempotent; a different one: DuplicateLoadBalancerName.
    let again = call(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "a1b2c3", "Listeners": listeners(), "Subnets": [b, a], "Scheme": "internal"}),
    );
    assert_eq!(again["DNSName"], dns.as_str());
    let (code, msg) = err(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "a1b2c3", "Listeners": listeners(), "Subnets": [a], "Scheme": "internal"}),
    );
    assert_eq!(code, "DuplicateLoadBalancerName");
    assert!(msg.contains("a1b2c3"), "{msg}");
    assert_eq!(
        available(&w, &a),
        free_a - 1,
        "a failed create takes nothing"
    );

    call(
        &w,
        "DeleteLoadBalancer",
        json!({"LoadBalancerName": "a1b2c3"}),
    );
    assert_eq!(available(&w, &a), free_a);
    assert_eq!(available(&w, &b), free_b);
    let (code, msg) = err(
        &w,
        "DescribeLoadBalancers",
        json!({"LoadBalancerNames": ["a1b2c3"]}),
    );
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "LoadBalancerNotFound",
            "There is no ACTIVE Load Balancer named 'a1b2c3'"
        )
    );
    // Deleting an unknown load balancer succeeds, as in AWS.
    call(
        &w,
        "DeleteLoadBalancer",
        json!({"LoadBalancerName": "a1b2c3"}),
    );
}

#[tokio::test]
async fn create_rules_and_codes() {
    let w = World::new("us-east-1");
    let (vpc, a, b, _) = basic_world(&w).await;
    let a2 = subnet(&w.ec2, &vpc, "10.0.3.0/24", "us-east-1a").await;
    let lb = |extra: Value| {
        let mut v =
            json!({"LoadBalancerName": "lb", "Listeners": listeners(), "Scheme": "internal"});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        v
    };
    let cases = [
        (
            lb(json!({"Subnets": [a, a2]})),
            "InvalidConfigurationRequest",
        ),
        (
            lb(json!({"Subnets": ["subnet-0123456789abcdef0"]})),
            "SubnetNotFound",
        ),
        (lb(json!({})), "ValidationError"),
        (
            lb(json!({"Subnets": [a], "AvailabilityZones": ["us-east-1a"]})),
            "ValidationError",
        ),
        (
            lb(json!({"Subnets": [a], "LoadBalancerName": "-bad"})),
            "ValidationError",
        ),
        (
            lb(json!({"Subnets": [a], "LoadBalancerName": "x".repeat(33)})),
            "ValidationError",
        ),
        (
            lb(json!({"Subnets": [a], "Scheme": "public"})),
            "ValidationError",
        ),
        (
            lb(json!({"Subnets": [a], "SecurityGroups": ["sg-0123456789abcdef0"]})),
            "InvalidSecurityGroup",
        ),
        (
            lb(
                json!({"Subnets": [a], "Listeners": [{"Protocol": "UDP", "LoadBalancerPort": 80, "InstancePort": 80}]}),
            ),
            "UnsupportedProtocol",
        ),
        (
            lb(
                json!({"Subnets": [a], "Listeners": [{"Protocol": "HTTPS", "LoadBalancerPort": 443, "InstancePort": 80}]}),
            ),
            "ValidationError",
        ),
        (
            lb(
                json!({"Subnets": [a], "Listeners": [{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "TCP", "InstancePort": 80}]}),
            ),
            "ValidationError",
        ),
        (
            lb(
                json!({"Subnets": [a], "Listeners": [{"Protocol": "TCP", "LoadBalancerPort": 0, "InstancePort": 80}]}),
            ),
            "ValidationError",
        ),
        (
            lb(
                json!({"Subnets": [a], "Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}),
            ),
            "DuplicateTagKeys",
        ),
        (
            lb(
                json!({"Subnets": [a], "Tags": (0..51).map(|i| json!({"Key": format!("k{i}"), "Value": "v"})).collect::<Vec<_>>()}),
            ),
            "TooManyTags",
        ),
        // basic_world's VPC has no internet gateway.
        (
            lb(json!({"Subnets": [a], "Scheme": "internet-facing"})),
            "InvalidSubnet",
        ),
    ];
    for (input, want) in cases {
        let (code, msg) = err(&w, "CreateLoadBalancer", input.clone());
        assert_eq!(code, want, "{input} -> {msg}");
    }
    let (_, msg) = err(&w, "CreateLoadBalancer", lb(json!({"Subnets": [a, a2]})));
    assert_eq!(
        msg,
        "ELB cannot be attached to multiple subnets in the same AZ."
    );
    assert!(
        call(&w, "DescribeLoadBalancers", json!({}))["LoadBalancerDescriptions"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );

    // Another VPC's subnet.
    let other = crate::support::vpc(&w.ec2, "10.1.0.0/16").await;
    let o = subnet(&w.ec2, &other, "10.1.1.0/24", "us-east-1b").await;
    assert_eq!(
        err(&w, "CreateLoadBalancer", lb(json!({"Subnets": [a, o]}))).0,
        "InvalidSubnet"
    );
    // A subnet with fewer than 8 free addresses (a /28 has 11; fill 4).
    let small = subnet(&w.ec2, &vpc, "10.0.9.0/28", "us-east-1c").await;
    for _ in 0..4 {
        instance(&w.ec2, &small, "t3.micro").await;
    }
    let (code, msg) = err(&w, "CreateLoadBalancer", lb(json!({"Subnets": [small]})));
    assert_eq!(code, "InvalidSubnet");
    assert!(
        msg.contains("ELB requires at least 8 free IP addresses"),
        "{msg}"
    );
    let _ = b;
}

#[tokio::test]
async fn internet_facing_default_vpc_by_availability_zones_and_china_dns() {
    let w = World::new("us-east-1");
    let out = call(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "pub", "Listeners": listeners(), "AvailabilityZones": ["us-east-1a", "us-east-1b"]}),
    );
    let dns = out["DNSName"].as_str().expect("dns");
    assert!(
        dns.starts_with("pub-") && dns.ends_with(".us-east-1.elb.amazonaws.com"),
        "{dns}"
    );
    let d = describe(&w, "pub");
    assert_eq!(d["Scheme"], "internet-facing");
    assert_eq!(d["CanonicalHostedZoneName"], dns);
    assert_eq!(d["AvailabilityZones"], json!(["us-east-1a", "us-east-1b"]));
    assert_eq!(err(&w, "CreateLoadBalancer", json!({"LoadBalancerName": "x", "Listeners": listeners(), "AvailabilityZones": ["us-east-1z"]})).0, "ValidationError");

    let cn = World::new("cn-northwest-1");
    let out = call(
        &cn,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "cn", "Listeners": listeners(), "AvailabilityZones": ["cn-northwest-1a"]}),
    );
    let dns = out["DNSName"].as_str().expect("dns");
    assert!(
        dns.ends_with(".cn-northwest-1.elb.amazonaws.com.cn"),
        "{dns}"
    );
    assert_eq!(
        describe(&cn, "cn")["CanonicalHostedZoneNameID"],
        "ZM7IZAIOVVDZF"
    );
}

#[tokio::test]
async fn dns_names_are_deterministic_per_seed() {
    let mk = |seed| async move {
        let w = World::with_seed("us-east-1", seed);
        call(&w, "CreateLoadBalancer", json!({"LoadBalancerName": "d", "Listeners": listeners(), "AvailabilityZones": ["us-east-1a"]}))["DNSName"].clone()
    };
    assert_eq!(mk(7).await, mk(7).await);
    assert_ne!(mk(7).await, mk(8).await);
}

#[tokio::test]
async fn paging_with_markers() {
    let w = World::new("us-east-1");
    for i in 0..5 {
        call(
            &w,
            "CreateLoadBalancer",
            json!({"LoadBalancerName": format!("lb{i}"), "Listeners": listeners(), "AvailabilityZones": ["us-east-1a"]}),
        );
    }
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut input = json!({"PageSize": 2});
        if let Some(m) = &marker {
            input["Marker"] = json!(m);
        }
        let page = call(&w, "DescribeLoadBalancers", input);
        for d in page["LoadBalancerDescriptions"].as_array().expect("list") {
            names.push(d["LoadBalancerName"].as_str().expect("name").to_string());
        }
        match page.get("NextMarker").and_then(Value::as_str) {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    assert_eq!(names, ["lb0", "lb1", "lb2", "lb3", "lb4"]);
    assert_eq!(
        err(&w, "DescribeLoadBalancers", json!({"PageSize": 401})).0,
        "ValidationError"
    );
    assert_eq!(
        err(&w, "DescribeLoadBalancers", json!({"Marker": "zz"})).0,
        "ValidationError"
    );
    assert_eq!(
        err(
            &w,
            "DescribeLoadBalancers",
            json!({"LoadBalancerNames": ["lb0", "nope"]})
        )
        .0,
        "LoadBalancerNotFound"
    );
}

#[tokio::test]
async fn listeners_duplicate_and_delete() {
    let w = World::new("us-east-1");
    call(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "l", "Listeners": listeners(), "AvailabilityZones": ["us-east-1a"]}),
    );
    // Identical listener: fine. Same port, other instance port: DuplicateListener.
    call(
        &w,
        "CreateLoadBalancerListeners",
        json!({"LoadBalancerName": "l", "Listeners": listeners()}),
    );
    let (code, msg) = err(
        &w,
        "CreateLoadBalancerListeners",
        json!({"LoadBalancerName": "l", "Listeners": [{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 30081}]}),
    );
    assert_eq!(code, "DuplicateListener");
    assert!(msg.contains("LoadBalancerPort 80"), "{msg}");
    call(
        &w,
        "CreateLoadBalancerListeners",
        json!({"LoadBalancerName": "l", "Listeners": [{"Protocol": "http", "LoadBalancerPort": 8080, "InstancePort": 30082}]}),
    );
    let d = describe(&w, "l");
    assert_eq!(
        d["ListenerDescriptions"][1]["Listener"],
        json!({"Protocol": "HTTP", "LoadBalancerPort": 8080, "InstanceProtocol": "HTTP", "InstancePort": 30082})
    );
    call(
        &w,
        "DeleteLoadBalancerListeners",
        json!({"LoadBalancerName": "l", "LoadBalancerPorts": [80, 9999]}),
    );
    let d = describe(&w, "l");
    assert_eq!(d["ListenerDescriptions"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        err(
            &w,
            "CreateLoadBalancerListeners",
            json!({"LoadBalancerName": "nope", "Listeners": listeners()})
        )
        .0,
        "LoadBalancerNotFound"
    );
}

#[tokio::test]
async fn instances_register_and_become_healthy_on_the_clock() {
    let w = World::new("us-east-1");
    let (vpc, a, b, i) = basic_world(&w).await;
    call(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "h", "Listeners": listeners(), "Subnets": [a, b], "Scheme": "internal"}),
    );
    let hc = call(
        &w,
        "ConfigureHealthCheck",
        json!({"LoadBalancerName": "h", "HealthCheck": {"Target": "TCP:30080", "Interval": 10, "Timeout": 5, "UnhealthyThreshold": 6, "HealthyThreshold": 2}}),
    );
    assert_eq!(hc["HealthCheck"]["Interval"], 10);
    let out = call(
        &w,
        "RegisterInstancesWithLoadBalancer",
        json!({"LoadBalancerName": "h", "Instances": [{"InstanceId": i}]}),
    );
    assert_eq!(out["Instances"], json!([{"InstanceId": i}]));
    let health = call(
        &w,
        "DescribeInstanceHealth",
        json!({"LoadBalancerName": "h"}),
    );
    assert_eq!(
        health["InstanceStates"][0],
        json!({"InstanceId": i, "State": "OutOfService", "ReasonCode": "ELB",
        "Description": "Instance has not passed the configured HealthyThreshold number of health checks consecutively."})
    );
    w.advance(19);
    assert_eq!(
        call(
            &w,
            "DescribeInstanceHealth",
            json!({"LoadBalancerName": "h"})
        )["InstanceStates"][0]["State"],
        "OutOfService"
    );
    w.advance(1);
    let health = call(
        &w,
        "DescribeInstanceHealth",
        json!({"LoadBalancerName": "h"}),
    );
    assert_eq!(
        health["InstanceStates"][0],
        json!({"InstanceId": i, "State": "InService", "ReasonCode": "N/A", "Description": "N/A"})
    );

    // A stopped instance is OutOfService for the instance's reason.
    w.aws
        .call("ec2:StopInstances", &json!({"InstanceIds": [i]}))
        .expect("stop");
    w.advance(60);
    let health = call(
        &w,
        "DescribeInstanceHealth",
        json!({"LoadBalancerName": "h", "Instances": [{"InstanceId": i}]}),
    );
    assert_eq!(health["InstanceStates"][0]["ReasonCode"], "Instance");
    assert_eq!(
        health["InstanceStates"][0]["Description"],
        "Instance is in stopped state."
    );

    // Unknown and other-VPC instances: InvalidInstance; nothing registered.
    let (code, msg) = err(
        &w,
        "RegisterInstancesWithLoadBalancer",
        json!({"LoadBalancerName": "h", "Instances": [{"InstanceId": "i-0123456789abcdef0"}]}),
    );
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "InvalidInstance",
            "Could not find EC2 instance i-0123456789abcdef0."
        )
    );
    let other = crate::support::vpc(&w.ec2, "10.1.0.0/16").await;
    let o = subnet(&w.ec2, &other, "10.1.1.0/24", "us-east-1a").await;
    let oi = instance(&w.ec2, &o, "t3.micro").await;
    let (code, _) = err(
        &w,
        "RegisterInstancesWithLoadBalancer",
        json!({"LoadBalancerName": "h", "Instances": [{"InstanceId": oi}]}),
    );
    assert_eq!(code, "InvalidInstance");
    // Not registered but existing: Unknown.
    let health = call(
        &w,
        "DescribeInstanceHealth",
        json!({"LoadBalancerName": "h", "Instances": [{"InstanceId": oi}]}),
    );
    assert_eq!(health["InstanceStates"][0]["State"], "Unknown");
    assert_eq!(
        health["InstanceStates"][0]["Description"],
        "Instance is not currently registered with the LoadBalancer."
    );

    let out = call(
        &w,
        "DeregisterInstancesFromLoadBalancer",
        json!({"LoadBalancerName": "h", "Instances": [{"InstanceId": i}]}),
    );
    assert_eq!(out["Instances"], json!([]));
    assert_eq!(describe(&w, "h")["Instances"], json!([]));
    let _ = vpc;
}

#[tokio::test]
async fn health_check_validation() {
    let w = World::new("us-east-1");
    call(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "v", "Listeners": listeners(), "AvailabilityZones": ["us-east-1a"]}),
    );
    let hc = |target: &str, interval: i64, timeout: i64| json!({"LoadBalancerName": "v", "HealthCheck": {"Target": target, "Interval": interval, "Timeout": timeout, "UnhealthyThreshold": 6, "HealthyThreshold": 2}});
    for good in ["TCP:80", "HTTP:10256/healthz", "HTTPS:443/", "SSL:443"] {
        call(&w, "ConfigureHealthCheck", hc(good, 10, 5));
    }
    for bad in [
        "TCP:80/x",
        "HTTP:80",
        "UDP:80",
        "TCP:",
        "TCP:70000",
        "tcp80",
        "HTTP:abc/x",
    ] {
        assert_eq!(
            err(&w, "ConfigureHealthCheck", hc(bad, 10, 5)).0,
            "ValidationError",
            "{bad}"
        );
    }
    assert_eq!(
        err(&w, "ConfigureHealthCheck", hc("TCP:80", 5, 5)).1,
        "HealthCheck Timeout must be less than Interval"
    );
    assert_eq!(
        err(&w, "ConfigureHealthCheck", hc("TCP:80", 301, 5)).0,
        "ValidationError"
    );
    assert_eq!(
        describe(&w, "v")["HealthCheck"]["Target"],
        "SSL:443",
        "failed calls changed nothing"
    );
}

#[tokio::test]
async fn attributes_defaults_and_modify() {
    let w = World::new("us-east-1");
    call(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "at", "Listeners": listeners(), "AvailabilityZones": ["us-east-1a"]}),
    );
    let a = call(
        &w,
        "DescribeLoadBalancerAttributes",
        json!({"LoadBalancerName": "at"}),
    );
    assert_eq!(
        a["LoadBalancerAttributes"],
        json!({
            "CrossZoneLoadBalancing": {"Enabled": false},
            "AccessLog": {"Enabled": false},
            "ConnectionDraining": {"Enabled": false, "Timeout": 300},
            "ConnectionSettings": {"IdleTimeout": 60},
            "AdditionalAttributes": [{"Key": "elb.http.desyncmitigationmode", "Value": "defensive"}],
        })
    );
    let m = call(
        &w,
        "ModifyLoadBalancerAttributes",
        json!({"LoadBalancerName": "at", "LoadBalancerAttributes": {
        "CrossZoneLoadBalancing": {"Enabled": true}, "ConnectionDraining": {"Enabled": true, "Timeout": 30}, "ConnectionSettings": {"IdleTimeout": 120}}}),
    );
    assert_eq!(m["LoadBalancerName"], "at");
    assert_eq!(
        m["LoadBalancerAttributes"]["ConnectionDraining"],
        json!({"Enabled": true, "Timeout": 30})
    );
    let a = call(
        &w,
        "DescribeLoadBalancerAttributes",
        json!({"LoadBalancerName": "at"}),
    );
    assert_eq!(
        a["LoadBalancerAttributes"]["CrossZoneLoadBalancing"]["Enabled"],
        true
    );
    assert_eq!(
        a["LoadBalancerAttributes"]["ConnectionSettings"]["IdleTimeout"],
        120
    );
    for bad in [
        json!({"ConnectionSettings": {"IdleTimeout": 0}}),
        json!({"ConnectionDraining": {"Enabled": true, "Timeout": 3601}}),
        json!({"AccessLog": {"Enabled": true}}),
        json!({"AccessLog": {"Enabled": true, "S3BucketName": "b", "EmitInterval": 10}}),
        json!({"CrossZoneLoadBalancing": {"Enabled": false}, "AdditionalAttributes": [{"Key": "elb.http.desyncmitigationmode", "Value": "lax"}]}),
    ] {
        let (code, _) = err(
            &w,
            "ModifyLoadBalancerAttributes",
            json!({"LoadBalancerName": "at", "LoadBalancerAttributes": bad.clone()}),
        );
        assert_eq!(code, "ValidationError", "{bad}");
    }
    assert_eq!(err(&w, "ModifyLoadBalancerAttributes", json!({"LoadBalancerName": "at", "LoadBalancerAttributes": {"AdditionalAttributes": [{"Key": "nope", "Value": "x"}]}})).0, "LoadBalancerAttributeNotFound");
    let a = call(
        &w,
        "DescribeLoadBalancerAttributes",
        json!({"LoadBalancerName": "at"}),
    );
    assert_eq!(
        a["LoadBalancerAttributes"]["CrossZoneLoadBalancing"]["Enabled"], true,
        "failed modifies changed nothing"
    );
}

#[tokio::test]
async fn tags_add_remove_describe() {
    let w = World::new("us-east-1");
    call(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "t", "Listeners": listeners(), "AvailabilityZones": ["us-east-1a"], "Tags": [{"Key": "a", "Value": "1"}]}),
    );
    call(
        &w,
        "AddTags",
        json!({"LoadBalancerNames": ["t"], "Tags": [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}]}),
    );
    let t = call(&w, "DescribeTags", json!({"LoadBalancerNames": ["t"]}));
    assert_eq!(
        t["TagDescriptions"],
        json!([{"LoadBalancerName": "t", "Tags": [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]}])
    );
    call(
        &w,
        "RemoveTags",
        json!({"LoadBalancerNames": ["t"], "Tags": [{"Key": "a"}, {"Key": "zzz"}]}),
    );
    let t = call(&w, "DescribeTags", json!({"LoadBalancerNames": ["t"]}));
    assert_eq!(
        t["TagDescriptions"][0]["Tags"],
        json!([{"Key": "b", "Value": "2"}])
    );
    let many: Vec<Value> = (0..50)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    assert_eq!(
        err(
            &w,
            "AddTags",
            json!({"LoadBalancerNames": ["t"], "Tags": many})
        )
        .0,
        "TooManyTags"
    );
    assert_eq!(
        err(
            &w,
            "AddTags",
            json!({"LoadBalancerNames": ["nope"], "Tags": [{"Key": "a"}]})
        )
        .0,
        "LoadBalancerNotFound"
    );
    assert_eq!(
        err(
            &w,
            "AddTags",
            json!({"LoadBalancerNames": ["t"], "Tags": [{"Key": "aws:x", "Value": "1"}]})
        )
        .0,
        "ValidationError"
    );
    assert_eq!(
        err(
            &w,
            "DescribeTags",
            json!({"LoadBalancerNames": ["t", "nope"]})
        )
        .0,
        "LoadBalancerNotFound"
    );
}

#[tokio::test]
async fn security_groups_and_subnets_change() {
    let w = World::new("us-east-1");
    let (vpc, a, b, _) = basic_world(&w).await;
    let c = subnet(&w.ec2, &vpc, "10.0.3.0/24", "us-east-1c").await;
    let a2 = subnet(&w.ec2, &vpc, "10.0.4.0/24", "us-east-1a").await;
    call(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "s", "Listeners": listeners(), "Subnets": [a], "Scheme": "internal"}),
    );
    let sg = w
        .aws
        .call("ec2:CreateSecurityGroup", &json!({"GroupName": "k8s-elb-s", "Description": "Security group for Kubernetes ELB s", "VpcId": vpc}))
        .expect("sg")["GroupId"]
        .as_str()
        .expect("id")
        .to_string();
    let out = call(
        &w,
        "ApplySecurityGroupsToLoadBalancer",
        json!({"LoadBalancerName": "s", "SecurityGroups": [sg]}),
    );
    assert_eq!(out["SecurityGroups"], json!([sg]));
    let d = describe(&w, "s");
    assert_eq!(d["SourceSecurityGroup"]["GroupName"], "k8s-elb-s");
    assert_eq!(
        err(
            &w,
            "ApplySecurityGroupsToLoadBalancer",
            json!({"LoadBalancerName": "s", "SecurityGroups": ["sg-0123456789abcdef0"]})
        )
        .0,
        "InvalidSecurityGroup"
    );

    let free_b = available(&w, &b);
    let out = call(
        &w,
        "AttachLoadBalancerToSubnets",
        json!({"LoadBalancerName": "s", "Subnets": [b, c]}),
    );
    assert_eq!(out["Subnets"], json!([a, b, c]));
    assert_eq!(available(&w, &b), free_b - 1);
    let (code, _) = err(
        &w,
        "AttachLoadBalancerToSubnets",
        json!({"LoadBalancerName": "s", "Subnets": [a2]}),
    );
    assert_eq!(code, "InvalidConfigurationRequest");
    // Attaching an attached subnet again is a no-op.
    call(
        &w,
        "AttachLoadBalancerToSubnets",
        json!({"LoadBalancerName": "s", "Subnets": [a]}),
    );
    let out = call(
        &w,
        "DetachLoadBalancerFromSubnets",
        json!({"LoadBalancerName": "s", "Subnets": [b]}),
    );
    assert_eq!(out["Subnets"], json!([a, c]));
    assert_eq!(available(&w, &b), free_b);
    let (code, _) = err(
        &w,
        "DetachLoadBalancerFromSubnets",
        json!({"LoadBalancerName": "s", "Subnets": [a, c]}),
    );
    assert_eq!(code, "InvalidConfigurationRequest");
    assert_eq!(
        describe(&w, "s")["AvailabilityZones"],
        json!(["us-east-1a", "us-east-1c"])
    );
}

#[tokio::test]
async fn policies_for_proxy_protocol() {
    let w = World::new("us-east-1");
    call(
        &w,
        "CreateLoadBalancer",
        json!({"LoadBalancerName": "p", "Listeners": listeners(), "AvailabilityZones": ["us-east-1a"]}),
    );
    let policy = json!({"LoadBalancerName": "p", "PolicyName": "k8s-proxyprotocol-enabled", "PolicyTypeName": "ProxyProtocolPolicyType",
        "PolicyAttributes": [{"AttributeName": "ProxyProtocol", "AttributeValue": "true"}]});
    call(&w, "CreateLoadBalancerPolicy", policy.clone());
    assert_eq!(
        err(&w, "CreateLoadBalancerPolicy", policy).0,
        "DuplicatePolicyName"
    );
    assert_eq!(
        err(
            &w,
            "CreateLoadBalancerPolicy",
            json!({"LoadBalancerName": "p", "PolicyName": "x", "PolicyTypeName": "Nope"})
        )
        .0,
        "PolicyTypeNotFound"
    );
    call(
        &w,
        "SetLoadBalancerPoliciesForBackendServer",
        json!({"LoadBalancerName": "p", "InstancePort": 30080, "PolicyNames": ["k8s-proxyprotocol-enabled"]}),
    );
    assert_eq!(
        err(
            &w,
            "SetLoadBalancerPoliciesForBackendServer",
            json!({"LoadBalancerName": "p", "InstancePort": 30080, "PolicyNames": ["nope"]})
        )
        .0,
        "PolicyNotFound"
    );
    assert_eq!(
        err(
            &w,
            "SetLoadBalancerPoliciesOfListener",
            json!({"LoadBalancerName": "p", "LoadBalancerPort": 443, "PolicyNames": []})
        )
        .0,
        "ListenerNotFound"
    );
    let d = describe(&w, "p");
    assert_eq!(
        d["BackendServerDescriptions"],
        json!([{"InstancePort": 30080, "PolicyNames": ["k8s-proxyprotocol-enabled"]}])
    );
    assert_eq!(
        d["Policies"]["OtherPolicies"],
        json!(["k8s-proxyprotocol-enabled"])
    );
    let p = call(
        &w,
        "DescribeLoadBalancerPolicies",
        json!({"LoadBalancerName": "p"}),
    );
    assert_eq!(
        p["PolicyDescriptions"][0]["PolicyAttributeDescriptions"],
        json!([{"AttributeName": "ProxyProtocol", "AttributeValue": "true"}])
    );
    assert_eq!(
        err(
            &w,
            "DeleteLoadBalancerPolicy",
            json!({"LoadBalancerName": "p", "PolicyName": "k8s-proxyprotocol-enabled"})
        )
        .0,
        "InvalidConfigurationRequest"
    );
    call(
        &w,
        "SetLoadBalancerPoliciesForBackendServer",
        json!({"LoadBalancerName": "p", "InstancePort": 30080, "PolicyNames": []}),
    );
    call(
        &w,
        "DeleteLoadBalancerPolicy",
        json!({"LoadBalancerName": "p", "PolicyName": "k8s-proxyprotocol-enabled"}),
    );
    assert_eq!(describe(&w, "p")["Policies"]["OtherPolicies"], json!([]));
}

mod wire {
    use cloudbox_aws::{app, AwsState};
    use cloudbox_sim::Clock;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn post(state: &AwsState, body: &str) -> (u16, String) {
        let req = http::Request::post("/")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=x")
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        let resp = app(state.clone()).oneshot(req).await.expect("response");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn query_protocol_envelopes_of_2012_06_01() {
        let state = AwsState::new_strict(Clock::manual(), 1);
        let (status, body) = post(&state, "Action=CreateLoadBalancer&Version=2012-06-01&LoadBalancerName=w&Listeners.member.1.Protocol=TCP&Listeners.member.1.LoadBalancerPort=80&Listeners.member.1.InstancePort=30080&AvailabilityZones.member.1=us-east-1a").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<CreateLoadBalancerResponse"), "{body}");
        assert!(
            body.contains("<CreateLoadBalancerResult><DNSName>w-"),
            "{body}"
        );
        let (status, body) = post(
            &state,
            "Action=DescribeLoadBalancers&Version=2012-06-01&LoadBalancerNames.member.1=nope",
        )
        .await;
        assert_eq!(status, 400);
        assert!(body.contains("<ErrorResponse><Error><Type>Sender</Type><Code>LoadBalancerNotFound</Code><Message>There is no ACTIVE Load Balancer named &apos;nope&apos;</Message>")
            || body.contains("<ErrorResponse><Error><Type>Sender</Type><Code>LoadBalancerNotFound</Code><Message>There is no ACTIVE Load Balancer named 'nope'</Message>"), "{body}");
        let (status, body) = post(&state, "Action=DescribeLoadBalancers&Version=2012-06-01").await;
        assert_eq!(status, 200);
        assert!(
            body.contains(
                "<LoadBalancerDescriptions><member><LoadBalancerName>w</LoadBalancerName>"
            ),
            "{body}"
        );
        let (status, body) = post(&state, "Action=CreateLoadBalancer&Version=2012-06-01&LoadBalancerName=w2&Listeners.member.1.Protocol=TCP&Listeners.member.1.LoadBalancerPort=80&Listeners.member.1.InstancePort=1&Subnets.member.1=subnet-1&Subnets.member.2=subnet-2").await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("<Code>SubnetNotFound</Code>"), "{body}");
    }
}

mod properties {
    //! Random sequences of classic ELB operations: every failure carries an ELB/EC2 code, every
    //! load balancer holds exactly one ENI per subnet, subnet counts stay exact, and deleting
    //! every load balancer gives every address back.

    use crate::support::World;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    #[derive(Debug, Clone)]
    enum Op {
        Create(usize, Vec<usize>, bool),
        Delete(usize),
        Attach(usize, usize),
        Detach(usize, usize),
        Register(usize, usize),
        Listener(usize, i64, i64),
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                0..4usize,
                proptest::collection::vec(0..4usize, 0..3),
                any::<bool>()
            )
                .prop_map(|(n, s, i)| Op::Create(n, s, i)),
            (0..4usize).prop_map(Op::Delete),
            (0..4usize, 0..4usize).prop_map(|(n, s)| Op::Attach(n, s)),
            (0..4usize, 0..4usize).prop_map(|(n, s)| Op::Detach(n, s)),
            (0..4usize, 0..3usize).prop_map(|(n, i)| Op::Register(n, i)),
            (0..4usize, 0..3i64, 0..3i64).prop_map(|(n, p, q)| Op::Listener(n, p, q)),
            (1..60u64).prop_map(Op::Advance),
        ]
    }

    fn ok_or_coded(r: Result<Value, cloudbox_aws::AwsError>) {
        if let Err(e) = r {
            assert!(e.status() == 400 || e.status() == 409, "{e}");
            assert!(!e.message.is_empty());
        }
    }

    fn used(w: &World, subnet: &str) -> i64 {
        let s = &w
            .aws
            .call("ec2:DescribeSubnets", &json!({"SubnetIds": [subnet]}))
            .expect("subnet")["Subnets"][0];
        let size = 1i64
            << (32
                - s["CidrBlock"]
                    .as_str()
                    .and_then(|c| c.split('/').nth(1))
                    .and_then(|p| p.parse::<u32>().ok())
                    .expect("prefix"));
        size - 5 - s["AvailableIpAddressCount"].as_i64().expect("count")
    }

    fn enis_in(w: &World, subnet: &str) -> i64 {
        let out = w
            .aws
            .call(
                "ec2:DescribeNetworkInterfaces",
                &json!({"Filters": [{"Name": "subnet-id", "Values": [subnet]}]}),
            )
            .expect("enis");
        out["NetworkInterfaces"]
            .as_array()
            .expect("list")
            .iter()
            .map(|e| e["PrivateIpAddresses"].as_array().map_or(0, Vec::len) as i64)
            .sum()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
        #[test]
        fn random_sequences_keep_eni_accounting(ops in proptest::collection::vec(op(), 1..40), seed in 0u64..1000) {
            let w = World::with_seed("us-east-1", seed);
            let vpc = w.aws.call("ec2:CreateVpc", &json!({"CidrBlock": "10.0.0.0/16"})).expect("vpc")["Vpc"]["VpcId"].as_str().expect("id").to_string();
            if seed % 2 == 0 {
                let igw = w.aws.call("ec2:CreateInternetGateway", &json!({})).expect("igw")["InternetGateway"]["InternetGatewayId"].as_str().expect("id").to_string();
                w.aws.call("ec2:AttachInternetGateway", &json!({"InternetGatewayId": igw, "VpcId": vpc})).expect("attach");
            }
            let subnets: Vec<String> = [("10.0.0.0/28", "us-east-1a"), ("10.0.1.0/27", "us-east-1b"), ("10.0.2.0/26", "us-east-1a"), ("10.0.3.0/24", "us-east-1c")]
                .iter()
                .map(|(c, az)| w.aws.call("ec2:CreateSubnet", &json!({"VpcId": vpc, "CidrBlock": c, "AvailabilityZone": az})).expect("subnet")["Subnet"]["SubnetId"].as_str().expect("id").to_string())
                .collect();
            let instances: Vec<String> = (0..3)
                .map(|i| w.aws.call("ec2:RunInstances", &json!({"ImageId": "ami-0abcdef1234567890", "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1, "SubnetId": subnets[i % 2 + 1]})).expect("run")["Instances"][0]["InstanceId"].as_str().expect("id").to_string())
                .collect();
            let before: Vec<i64> = subnets.iter().map(|s| used(&w, s)).collect();
            let name = |n: usize| format!("lb{n}");
            for o in &ops {
                let r = match o {
                    Op::Create(n, s, internal) => w.aws.call("elb:CreateLoadBalancer", &json!({"LoadBalancerName": name(*n),
                        "Listeners": [{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 30080}],
                        "Subnets": s.iter().map(|i| subnets[*i].clone()).collect::<Vec<_>>(),
                        "Scheme": if *internal { "internal" } else { "internet-facing" }})),
                    Op::Delete(n) => w.aws.call("elb:DeleteLoadBalancer", &json!({"LoadBalancerName": name(*n)})),
                    Op::Attach(n, s) => w.aws.call("elb:AttachLoadBalancerToSubnets", &json!({"LoadBalancerName": name(*n), "Subnets": [subnets[*s]]})),
                    Op::Detach(n, s) => w.aws.call("elb:DetachLoadBalancerFromSubnets", &json!({"LoadBalancerName": name(*n), "Subnets": [subnets[*s]]})),
                    Op::Register(n, i) => w.aws.call("elb:RegisterInstancesWithLoadBalancer", &json!({"LoadBalancerName": name(*n), "Instances": [{"InstanceId": instances[*i]}]})),
                    Op::Listener(n, p, q) => w.aws.call("elb:CreateLoadBalancerListeners", &json!({"LoadBalancerName": name(*n),
                        "Listeners": [{"Protocol": "TCP", "LoadBalancerPort": 80 + p, "InstancePort": 30080 + q}]})),
                    Op::Advance(s) => {
                        w.advance(*s);
                        w.aws.call("elb:DescribeLoadBalancers", &json!({}))
                    }
                };
                ok_or_coded(r);
                let lbs = w.aws.call("elb:DescribeLoadBalancers", &json!({})).expect("describe");
                for (i, s) in subnets.iter().enumerate() {
                    let holders = lbs["LoadBalancerDescriptions"].as_array().expect("list").iter()
                        .filter(|d| d["Subnets"].as_array().is_some_and(|a| a.iter().any(|x| x == s.as_str()))).count() as i64;
                    prop_assert_eq!(used(&w, s), before[i] + holders, "subnet {} after {:?}", s, o);
                    prop_assert_eq!(used(&w, s), enis_in(&w, s));
                }
                for d in lbs["LoadBalancerDescriptions"].as_array().expect("list") {
                    let mut azs: Vec<&str> = d["AvailabilityZones"].as_array().expect("azs").iter().filter_map(Value::as_str).collect();
                    let n = azs.len();
                    azs.sort_unstable();
                    azs.dedup();
                    prop_assert_eq!(n, azs.len(), "one subnet per AZ");
                }
            }
            for n in 0..4 {
                w.aws.call("elb:DeleteLoadBalancer", &json!({"LoadBalancerName": name(n)})).expect("delete");
            }
            for (i, s) in subnets.iter().enumerate() {
                prop_assert_eq!(used(&w, s), before[i]);
            }
        }
    }
}
