//! Condition kinds, listener certificates and modification, Elastic IP subnet mappings, and
//! malformed input through the in-process client (always a coded 4xx).

use super::*;
use crate::support::*;
use aws_sdk_elasticloadbalancingv2::types::{
    Certificate, HttpHeaderConditionConfig, HttpRequestMethodConditionConfig,
    QueryStringConditionConfig, QueryStringKeyValuePair, RuleCondition, SourceIpConditionConfig,
    SubnetMapping,
};
use serde_json::json;

#[tokio::test]
async fn every_condition_kind_round_trips() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let lb = alb(&w, &n, "web").await;
    let t = tg(&w, &n.vpc, "web", ProtocolEnum::Http, 80).await;
    let l = listener(&w, &lb, ProtocolEnum::Http, 80, &t).await;
    let out = w
        .elbv2
        .create_rule()
        .listener_arn(&l)
        .priority(1)
        .conditions(
            RuleCondition::builder()
                .field("http-header")
                .http_header_config(
                    HttpHeaderConditionConfig::builder()
                        .http_header_name("X-Env")
                        .values("canary")
                        .build(),
                )
                .build(),
        )
        .conditions(
            RuleCondition::builder()
                .field("http-request-method")
                .http_request_method_config(
                    HttpRequestMethodConditionConfig::builder()
                        .values("GET")
                        .build(),
                )
                .build(),
        )
        .conditions(
            RuleCondition::builder()
                .field("query-string")
                .query_string_config(
                    QueryStringConditionConfig::builder()
                        .values(
                            QueryStringKeyValuePair::builder()
                                .key("v")
                                .value("2")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .conditions(
            RuleCondition::builder()
                .field("source-ip")
                .source_ip_config(
                    SourceIpConditionConfig::builder()
                        .values("10.0.0.0/8")
                        .build(),
                )
                .build(),
        )
        .actions(forward(&t))
        .send()
        .await
        .expect("rule");
    let c = out.rules()[0].conditions();
    assert_eq!(c.len(), 4);
    assert_eq!(
        c[0].http_header_config().and_then(|h| h.http_header_name()),
        Some("X-Env")
    );
    assert_eq!(
        c[2].query_string_config().map(|q| q.values()[0].key()),
        Some(Some("v"))
    );
    let bad_ip = RuleCondition::builder()
        .field("source-ip")
        .source_ip_config(SourceIpConditionConfig::builder().values("nope").build())
        .build();
    assert_eq!(
        code(
            w.elbv2
                .create_rule()
                .listener_arn(&l)
                .priority(2)
                .conditions(bad_ip)
                .actions(forward(&t))
                .send()
                .await
        ),
        "ValidationError"
    );
    let two_paths = w
        .elbv2
        .create_rule()
        .listener_arn(&l)
        .priority(2)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .values("/a")
                .build(),
        )
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .values("/b")
                .build(),
        )
        .actions(forward(&t))
        .send()
        .await;
    assert_eq!(code(two_paths), "ValidationError");
    // Rules on an NLB listener are refused.
    let nlb = lb_internal_nlb(&w, &n).await;
    let tcp = tg(&w, &n.vpc, "tcp", ProtocolEnum::Tcp, 80).await;
    let nl = listener(&w, &nlb, ProtocolEnum::Tcp, 80, &tcp).await;
    assert_eq!(
        code(
            w.elbv2
                .create_rule()
                .listener_arn(&nl)
                .priority(1)
                .conditions(
                    RuleCondition::builder()
                        .field("path-pattern")
                        .values("/a")
                        .build()
                )
                .actions(forward(&tcp))
                .send()
                .await
        ),
        "ValidationError"
    );
    // Changing an NLB listener to UDP while it forwards to a TCP group is refused.
    assert_eq!(
        code(
            w.elbv2
                .modify_listener()
                .listener_arn(&nl)
                .protocol(ProtocolEnum::Udp)
                .send()
                .await
        ),
        "IncompatibleProtocols"
    );
}

async fn lb_internal_nlb(w: &World, n: &Net) -> String {
    lb(
        w,
        "net",
        LoadBalancerTypeEnum::Network,
        LoadBalancerSchemeEnum::Internal,
        &[&n.a],
    )
    .await
}

#[tokio::test]
async fn listener_certificates_and_tls() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let lb = alb(&w, &n, "web").await;
    let t = tg(&w, &n.vpc, "web", ProtocolEnum::Http, 80).await;
    let l = listener(&w, &lb, ProtocolEnum::Http, 80, &t).await;
    let cert = "arn:aws:iam::123456789012:server-certificate/web";
    assert_eq!(
        code(
            w.elbv2
                .modify_listener()
                .listener_arn(&l)
                .protocol(ProtocolEnum::Https)
                .send()
                .await
        ),
        "ValidationError",
        "HTTPS needs a certificate"
    );
    let m = w
        .elbv2
        .modify_listener()
        .listener_arn(&l)
        .protocol(ProtocolEnum::Https)
        .port(443)
        .certificates(Certificate::builder().certificate_arn(cert).build())
        .ssl_policy("ELBSecurityPolicy-TLS13-1-2-2021-06")
        .send()
        .await
        .expect("to https");
    assert_eq!(
        m.listeners()[0].ssl_policy(),
        Some("ELBSecurityPolicy-TLS13-1-2-2021-06")
    );
    let certs = w
        .elbv2
        .describe_listener_certificates()
        .listener_arn(&l)
        .send()
        .await
        .expect("certs");
    assert_eq!(certs.certificates()[0].certificate_arn(), Some(cert));
    assert_eq!(certs.certificates()[0].is_default(), Some(true));
    // Back to HTTP drops the certificate and policy.
    let m = w
        .elbv2
        .modify_listener()
        .listener_arn(&l)
        .protocol(ProtocolEnum::Http)
        .send()
        .await
        .expect("to http");
    assert!(m.listeners()[0].certificates().is_empty());
    assert!(m.listeners()[0].ssl_policy().is_none());
}

#[tokio::test]
async fn elastic_ips_on_internet_facing_nlbs() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let eip = w.ec2.allocate_address().send().await.expect("eip");
    let alloc = eip.allocation_id().expect("alloc").to_string();
    let public = eip.public_ip().expect("ip").to_string();
    let mapping = |a: &str| {
        SubnetMapping::builder()
            .subnet_id(&n.a)
            .allocation_id(a)
            .build()
    };
    let out = w
        .elbv2
        .create_load_balancer()
        .name("pub")
        .r#type(LoadBalancerTypeEnum::Network)
        .subnet_mappings(mapping(&alloc))
        .send()
        .await
        .expect("nlb with eip");
    let addr = &out.load_balancers()[0].availability_zones()[0].load_balancer_addresses()[0];
    assert_eq!(addr.ip_address(), Some(public.as_str()));
    assert_eq!(addr.allocation_id(), Some(alloc.as_str()));
    // The Elastic IP is associated with the load balancer's ENI, and cannot be released.
    let d = w
        .ec2
        .describe_addresses()
        .allocation_ids(&alloc)
        .send()
        .await
        .expect("addresses");
    let eni = d.addresses()[0]
        .network_interface_id()
        .expect("associated")
        .to_string();
    assert!(d.addresses()[0].association_id().is_some());
    assert!(w
        .ec2
        .release_address()
        .allocation_id(&alloc)
        .send()
        .await
        .is_err());
    assert_eq!(
        code(
            w.elbv2
                .create_load_balancer()
                .name("pub2")
                .r#type(LoadBalancerTypeEnum::Network)
                .subnet_mappings(mapping(&alloc))
                .send()
                .await
        ),
        "InvalidConfigurationRequest",
        "an Elastic IP serves one load balancer"
    );
    assert_eq!(
        code(
            w.elbv2
                .create_load_balancer()
                .name("pub3")
                .r#type(LoadBalancerTypeEnum::Network)
                .subnet_mappings(mapping("eipalloc-0123456789abcdef0"))
                .send()
                .await
        ),
        "AllocationIdNotFound"
    );
    assert_eq!(
        code(
            w.elbv2
                .create_load_balancer()
                .name("pub4")
                .subnet_mappings(mapping(&alloc))
                .subnet_mappings(SubnetMapping::builder().subnet_id(&n.b).build())
                .send()
                .await
        ),
        "ValidationError",
        "no Elastic IPs on an ALB"
    );
    // Deleting the load balancer frees the address.
    let arn = out.load_balancers()[0].load_balancer_arn().expect("arn");
    w.elbv2
        .delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
        .expect("delete");
    let d = w
        .ec2
        .describe_addresses()
        .allocation_ids(&alloc)
        .send()
        .await
        .expect("addresses");
    assert!(d.addresses()[0].association_id().is_none());
    assert_eq!(
        code(
            w.ec2
                .describe_network_interfaces()
                .network_interface_ids(&eni)
                .send()
                .await
        ),
        "InvalidNetworkInterfaceID.NotFound"
    );
    w.ec2
        .release_address()
        .allocation_id(&alloc)
        .send()
        .await
        .expect("release");
}

#[test]
fn malformed_input_is_always_a_coded_4xx() {
    let w = World::new("us-east-1");
    let inputs = [
        (
            "CreateLoadBalancer",
            json!({"Name": "x", "Subnets": "subnet-1"}),
        ),
        (
            "CreateLoadBalancer",
            json!({"Name": "x", "Subnets": [], "Type": "network"}),
        ),
        (
            "CreateLoadBalancer",
            json!({"Name": "x", "SubnetMappings": [{}]}),
        ),
        (
            "CreateTargetGroup",
            json!({"Name": "x", "Protocol": "HTTP", "Port": 99999, "VpcId": "vpc-1"}),
        ),
        (
            "CreateListener",
            json!({"LoadBalancerArn": "x", "DefaultActions": []}),
        ),
        (
            "CreateRule",
            json!({"ListenerArn": "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/a/b/c", "Conditions": [], "Priority": 1, "Actions": []}),
        ),
        ("SetRulePriorities", json!({"RulePriorities": [{}]})),
        (
            "RegisterTargets",
            json!({"TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/a/b", "Targets": [{"Id": "i-1"}]}),
        ),
        ("DescribeTargetHealth", json!({"TargetGroupArn": ""})),
        (
            "DescribeTags",
            json!({"ResourceArns": ["arn:aws:ec2:us-east-1:1:instance/i-1"]}),
        ),
        (
            "ModifyLoadBalancerAttributes",
            json!({"LoadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/a/b", "Attributes": []}),
        ),
        ("DescribeLoadBalancers", json!({"PageSize": -5})),
        ("DescribeRules", json!({})),
        (
            "DescribeTargetGroups",
            json!({"Marker": "cbx-18446744073709551615"}),
        ),
        (
            "DescribeLoadBalancers",
            json!({"Marker": "cbx-99999999999999999999999"}),
        ),
        (
            "AddTags",
            json!({"ResourceArns": [], "Tags": [{"Key": ""}]}),
        ),
    ];
    for (op, input) in inputs {
        let err = w
            .aws
            .call(&format!("elbv2:{op}"), &input)
            .expect_err("malformed input fails");
        assert!(err.status() < 500, "{op}: {err}");
    }
    let limits = w
        .aws
        .call("elbv2:DescribeAccountLimits", &json!({}))
        .expect("limits");
    assert!(limits["Limits"].as_array().is_some_and(|l| l
        .iter()
        .any(|x| x["Name"] == "target-groups" && x["Max"] == "3000")));
    let err = w
        .aws
        .call("elbv2:DescribeTrustStores", &json!({}))
        .expect_err("not served");
    assert_eq!(err.code.as_str(), "UnsupportedOperation");
}

#[tokio::test]
async fn sni_certificates_and_listener_attributes() {
    use aws_sdk_elasticloadbalancingv2::types::ListenerAttribute;
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let lb = alb(&w, &n, "web").await;
    let t = tg(&w, &n.vpc, "web", ProtocolEnum::Http, 80).await;
    let cert = |i: u32| {
        format!(
            "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-00000000000{i}"
        )
    };
    let l = w
        .elbv2
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Https)
        .port(443)
        .certificates(Certificate::builder().certificate_arn(cert(1)).build())
        .default_actions(forward(&t))
        .send()
        .await
        .expect("https")
        .listeners()[0]
        .listener_arn()
        .expect("arn")
        .to_string();
    let added = w
        .elbv2
        .add_listener_certificates()
        .listener_arn(&l)
        .certificates(Certificate::builder().certificate_arn(cert(2)).build())
        .send()
        .await
        .expect("add");
    assert_eq!(added.certificates().len(), 2);
    let all = w
        .elbv2
        .describe_listener_certificates()
        .listener_arn(&l)
        .send()
        .await
        .expect("certs");
    let defaults: Vec<Option<bool>> = all.certificates().iter().map(|c| c.is_default()).collect();
    assert_eq!(defaults, [Some(true), Some(false)]);
    // DescribeListeners shows the default certificate only.
    let d = w
        .elbv2
        .describe_listeners()
        .listener_arns(&l)
        .send()
        .await
        .expect("describe");
    assert_eq!(d.listeners()[0].certificates().len(), 1);
    assert_eq!(
        code(
            w.elbv2
                .remove_listener_certificates()
                .listener_arn(&l)
                .certificates(Certificate::builder().certificate_arn(cert(1)).build())
                .send()
                .await
        ),
        "ValidationError",
        "the default certificate stays"
    );
    w.elbv2
        .remove_listener_certificates()
        .listener_arn(&l)
        .certificates(Certificate::builder().certificate_arn(cert(2)).build())
        .send()
        .await
        .expect("remove");

    // Listener attributes: ALB response headers, NLB TCP idle timeout.
    let attrs = w
        .elbv2
        .describe_listener_attributes()
        .listener_arn(&l)
        .send()
        .await
        .expect("attrs");
    assert!(attrs
        .attributes()
        .iter()
        .any(|a| a.key() == Some("routing.http.response.server.enabled")
            && a.value() == Some("true")));
    let nlb = lb_internal_nlb(&w, &n).await;
    let tcp = tg(&w, &n.vpc, "tcp", ProtocolEnum::Tcp, 80).await;
    let nl = listener(&w, &nlb, ProtocolEnum::Tcp, 80, &tcp).await;
    let set = |v: &str| {
        w.elbv2
            .modify_listener_attributes()
            .listener_arn(&nl)
            .attributes(
                ListenerAttribute::builder()
                    .key("tcp.idle_timeout.seconds")
                    .value(v)
                    .build(),
            )
            .send()
    };
    let m = set("600").await.expect("modify");
    assert_eq!(m.attributes()[0].value(), Some("600"));
    assert_eq!(code(set("30").await), "ValidationError");
}
