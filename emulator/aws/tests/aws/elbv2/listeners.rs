//! Listeners, actions, rules and tags.

use super::*;
use crate::support::*;
use aws_sdk_elasticloadbalancingv2::types::{
    Certificate, FixedResponseActionConfig, ForwardActionConfig, HostHeaderConditionConfig,
    RedirectActionConfig, RedirectActionStatusCodeEnum, RuleCondition, RulePriorityPair, Tag,
    TargetGroupTuple,
};

const CERT: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012";

fn redirect_to_https() -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Redirect)
        .redirect_config(
            RedirectActionConfig::builder()
                .protocol("HTTPS")
                .port("443")
                .status_code(RedirectActionStatusCodeEnum::Http301)
                .build(),
        )
        .build()
}

fn fixed(code: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code(code)
                .content_type("text/plain")
                .build(),
        )
        .build()
}

#[tokio::test]
async fn listener_protocols_certificates_and_actions() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let lb = alb(&w, &n, "web").await;
    let http = tg(&w, &n.vpc, "http", ProtocolEnum::Http, 80).await;
    let tcp = tg(&w, &n.vpc, "tcp", ProtocolEnum::Tcp, 80).await;
    let create = |protocol: ProtocolEnum, port: i32, action: Action| {
        w.elbv2
            .create_listener()
            .load_balancer_arn(&lb)
            .protocol(protocol)
            .port(port)
            .default_actions(action)
            .send()
    };
    assert_eq!(
        code_msg(create(ProtocolEnum::Tcp, 80, forward(&http)).await),
        (
            "ValidationError".to_string(),
            "Listener protocol 'TCP' must be one of 'HTTPS, HTTP'".to_string()
        )
    );
    assert_eq!(
        code(create(ProtocolEnum::Http, 0, forward(&http)).await),
        "ValidationError"
    );
    assert_eq!(
        code(create(ProtocolEnum::Https, 443, forward(&http)).await),
        "ValidationError"
    );
    let https = |cert: &str| {
        w.elbv2
            .create_listener()
            .load_balancer_arn(&lb)
            .protocol(ProtocolEnum::Https)
            .port(443)
            .certificates(Certificate::builder().certificate_arn(cert).build())
            .default_actions(forward(&http))
    };
    assert_eq!(
        code(https("arn:aws:s3:::bucket").send().await),
        "CertificateNotFound"
    );
    assert_eq!(
        code(https(CERT).ssl_policy("NoSuchPolicy").send().await),
        "SSLPolicyNotFound"
    );
    let l443 = https(CERT).send().await.expect("https");
    assert_eq!(
        l443.listeners()[0].ssl_policy(),
        Some("ELBSecurityPolicy-2016-08")
    );
    assert_eq!(
        l443.listeners()[0].certificates()[0].certificate_arn(),
        Some(CERT)
    );

    let (c, m) = code_msg(create(ProtocolEnum::Http, 80, forward("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0000000000000000")).await);
    assert_eq!(c, "TargetGroupNotFound");
    assert_eq!(m, "Target groups 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0000000000000000' not found");
    assert_eq!(
        code(create(ProtocolEnum::Http, 80, forward(&tcp)).await),
        "IncompatibleProtocols"
    );

    let l80 = create(ProtocolEnum::Http, 80, redirect_to_https())
        .await
        .expect("redirect");
    let a = &l80.listeners()[0].default_actions()[0];
    let rc = a.redirect_config().expect("redirect config");
    assert_eq!(
        (rc.protocol(), rc.port(), rc.host(), rc.path(), rc.query()),
        (
            Some("HTTPS"),
            Some("443"),
            Some("#{host}"),
            Some("/#{path}"),
            Some("#{query}")
        )
    );
    assert_eq!(a.order(), Some(1));
    let l80_arn = l80.listeners()[0].listener_arn().expect("arn").to_string();
    assert_eq!(
        create(ProtocolEnum::Http, 80, redirect_to_https())
            .await
            .expect("same again")
            .listeners()[0]
            .listener_arn(),
        Some(l80_arn.as_str()),
        "idempotent"
    );
    let (c, m) = code_msg(create(ProtocolEnum::Http, 80, fixed("404")).await);
    assert_eq!(c, "DuplicateListener");
    assert_eq!(
        m,
        format!("A listener already exists on this port for this load balancer '{lb}'")
    );
    let loop_redirect = Action::builder()
        .r#type(ActionTypeEnum::Redirect)
        .redirect_config(
            RedirectActionConfig::builder()
                .status_code(RedirectActionStatusCodeEnum::Http302)
                .build(),
        )
        .build();
    assert_eq!(
        code(create(ProtocolEnum::Http, 81, loop_redirect).await),
        "ValidationError"
    );
    assert_eq!(
        code(create(ProtocolEnum::Http, 81, fixed("302")).await),
        "ValidationError"
    );
    create(ProtocolEnum::Http, 81, fixed("404"))
        .await
        .expect("fixed response");

    // A forward shows both TargetGroupArn and ForwardConfig; weighted forwards are ALB-only.
    let l8080 = create(ProtocolEnum::Http, 8080, forward(&http))
        .await
        .expect("forward");
    let a = &l8080.listeners()[0].default_actions()[0];
    assert_eq!(a.target_group_arn(), Some(http.as_str()));
    let fc = a.forward_config().expect("forward config");
    assert_eq!(
        fc.target_groups()[0].target_group_arn(),
        Some(http.as_str())
    );
    assert_eq!(fc.target_groups()[0].weight(), Some(1));
    let http2 = tg(&w, &n.vpc, "http2", ProtocolEnum::Http, 8080).await;
    let weighted = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(&http)
                        .weight(3)
                        .build(),
                )
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(&http2)
                        .weight(1)
                        .build(),
                )
                .build(),
        )
        .build();
    let lw = create(ProtocolEnum::Http, 8081, weighted)
        .await
        .expect("weighted");
    assert!(lw.listeners()[0].default_actions()[0]
        .target_group_arn()
        .is_none());

    // A target group serves one load balancer only.
    let other = lb_named(&w, &n, "other").await;
    let (c, m) = code_msg(
        w.elbv2
            .create_listener()
            .load_balancer_arn(&other)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .default_actions(forward(&http))
            .send()
            .await,
    );
    assert_eq!(c, "TargetGroupAssociationLimit");
    assert_eq!(m, format!("The following target groups cannot be associated with more than one load balancer: {http}"));

    // NLB: layer-4 protocols and forward only.
    let nlb = super::lb(
        &w,
        "net",
        LoadBalancerTypeEnum::Network,
        LoadBalancerSchemeEnum::Internal,
        &[&n.a],
    )
    .await;
    let nl = |protocol: ProtocolEnum, action: Action| {
        w.elbv2
            .create_listener()
            .load_balancer_arn(&nlb)
            .protocol(protocol)
            .port(80)
            .default_actions(action)
            .send()
    };
    assert_eq!(
        code_msg(nl(ProtocolEnum::Http, forward(&tcp)).await),
        (
            "ValidationError".to_string(),
            "Listener protocol 'HTTP' must be one of 'TLS, TCP, TCP_UDP, UDP'".to_string()
        )
    );
    assert_eq!(
        code(nl(ProtocolEnum::Tcp, fixed("200")).await),
        "InvalidLoadBalancerAction"
    );
    assert_eq!(
        code(nl(ProtocolEnum::Udp, forward(&tcp)).await),
        "IncompatibleProtocols"
    );
    nl(ProtocolEnum::Tcp, forward(&tcp))
        .await
        .expect("tcp listener");

    // Describe, modify, delete.
    let d = w
        .elbv2
        .describe_listeners()
        .load_balancer_arn(&lb)
        .send()
        .await
        .expect("describe");
    let ports: Vec<i32> = d.listeners().iter().filter_map(|l| l.port()).collect();
    assert_eq!(ports, [443, 80, 81, 8080, 8081]);
    assert_eq!(
        code(w.elbv2.describe_listeners().send().await),
        "ValidationError"
    );
    assert_eq!(
        code_msg(
            w.elbv2
                .modify_listener()
                .listener_arn(&l80_arn)
                .port(443)
                .send()
                .await
        ),
        (
            "ValidationError".to_string(),
            "Listener port '443' is already in use".to_string()
        )
    );
    let m = w
        .elbv2
        .modify_listener()
        .listener_arn(&l80_arn)
        .port(8888)
        .default_actions(forward(&http))
        .send()
        .await
        .expect("modify");
    assert_eq!(m.listeners()[0].port(), Some(8888));
    w.elbv2
        .delete_listener()
        .listener_arn(&l80_arn)
        .send()
        .await
        .expect("delete");
    assert_eq!(
        code(
            w.elbv2
                .describe_listeners()
                .listener_arns(&l80_arn)
                .send()
                .await
        ),
        "ListenerNotFound"
    );
    assert_eq!(
        code(
            w.elbv2
                .delete_listener()
                .listener_arn(&l80_arn)
                .send()
                .await
        ),
        "ListenerNotFound"
    );
}

async fn lb_named(w: &World, n: &Net, name: &str) -> String {
    alb(w, n, name).await
}

fn path(p: &str) -> RuleCondition {
    RuleCondition::builder()
        .field("path-pattern")
        .values(p)
        .build()
}

#[tokio::test]
async fn rules_priorities_default_rule_and_cascades() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let lb = alb(&w, &n, "web").await;
    let api = tg(&w, &n.vpc, "api", ProtocolEnum::Http, 80).await;
    let web = tg(&w, &n.vpc, "web", ProtocolEnum::Http, 80).await;
    let l = listener(&w, &lb, ProtocolEnum::Http, 80, &web).await;
    let rule = |priority: i32, c: RuleCondition| {
        w.elbv2
            .create_rule()
            .listener_arn(&l)
            .priority(priority)
            .conditions(c)
            .actions(forward(&api))
            .send()
    };
    let r10 = rule(10, path("/api/*")).await.expect("rule 10");
    let r10 = &r10.rules()[0];
    assert_eq!(r10.priority(), Some("10"));
    assert_eq!(r10.is_default(), Some(false));
    let c = &r10.conditions()[0];
    assert_eq!(c.values(), ["/api/*".to_string()]);
    assert_eq!(
        c.path_pattern_config().map(|p| p.values().to_vec()),
        Some(vec!["/api/*".to_string()])
    );
    let r10 = r10.rule_arn().expect("arn").to_string();
    assert!(r10.contains(":listener-rule/app/web/"));
    let host = RuleCondition::builder()
        .field("host-header")
        .host_header_config(
            HostHeaderConditionConfig::builder()
                .values("api.example.com")
                .values("*.example.org")
                .build(),
        )
        .build();
    let r5 = rule(5, host).await.expect("rule 5").rules()[0]
        .rule_arn()
        .expect("arn")
        .to_string();
    let (c, m) = code_msg(rule(10, path("/x")).await);
    assert_eq!(c, "PriorityInUse");
    assert_eq!(m, "Priority '10' is currently in use");
    assert_eq!(code(rule(0, path("/x")).await), "ValidationError");
    assert_eq!(code(rule(50001, path("/x")).await), "ValidationError");
    assert_eq!(
        code(
            rule(
                20,
                RuleCondition::builder().field("cookie").values("x").build()
            )
            .await
        ),
        "ValidationError"
    );
    let six = RuleCondition::builder()
        .field("host-header")
        .host_header_config(
            HostHeaderConditionConfig::builder()
                .set_values(Some((0..6).map(|i| format!("h{i}.example.com")).collect()))
                .build(),
        )
        .build();
    assert_eq!(code(rule(20, six).await), "ValidationError");
    assert_eq!(
        code_msg(
            w.elbv2
                .create_rule()
                .listener_arn(&l)
                .priority(20)
                .actions(forward(&api))
                .send()
                .await
        ),
        (
            "ValidationError".to_string(),
            "1 validation error detected: Value null at 'conditions' failed to satisfy constraint: Member must not be null".to_string()
        ),
        "Conditions is required: the query services' framework answers a missing member this way"
    );

    let list = |w: &World| {
        let c = w.elbv2.clone();
        let l = l.clone();
        async move {
            c.describe_rules()
                .listener_arn(l)
                .send()
                .await
                .expect("rules")
                .rules()
                .iter()
                .map(|r| {
                    (
                        r.priority().unwrap_or_default().to_string(),
                        r.is_default().unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(&w).await,
        [
            ("5".to_string(), false),
            ("10".to_string(), false),
            ("default".to_string(), true)
        ]
    );
    let default_rule = w
        .elbv2
        .describe_rules()
        .listener_arn(&l)
        .send()
        .await
        .expect("rules")
        .rules()[2]
        .rule_arn()
        .expect("arn")
        .to_string();
    assert_eq!(
        code(w.elbv2.delete_rule().rule_arn(&default_rule).send().await),
        "OperationNotPermitted"
    );
    let pair = |arn: &str, p: i32| {
        RulePriorityPair::builder()
            .rule_arn(arn)
            .priority(p)
            .build()
    };
    w.elbv2
        .set_rule_priorities()
        .rule_priorities(pair(&r10, 5))
        .rule_priorities(pair(&r5, 10))
        .send()
        .await
        .expect("swap");
    let rules = w
        .elbv2
        .describe_rules()
        .listener_arn(&l)
        .send()
        .await
        .expect("rules");
    assert_eq!(rules.rules()[0].rule_arn(), Some(r10.as_str()));
    assert_eq!(
        code(
            w.elbv2
                .set_rule_priorities()
                .rule_priorities(pair(&r10, 10))
                .send()
                .await
        ),
        "PriorityInUse"
    );
    assert_eq!(
        code(
            w.elbv2
                .set_rule_priorities()
                .rule_priorities(pair(&default_rule, 7))
                .send()
                .await
        ),
        "OperationNotPermitted"
    );
    let m = w
        .elbv2
        .modify_rule()
        .rule_arn(&r10)
        .conditions(path("/v2/*"))
        .send()
        .await
        .expect("modify");
    assert_eq!(m.rules()[0].conditions()[0].values(), ["/v2/*".to_string()]);

    // The api group is in use by rules only: still not deletable.
    assert_eq!(
        code(
            w.elbv2
                .delete_target_group()
                .target_group_arn(&api)
                .send()
                .await
        ),
        "ResourceInUse"
    );
    w.elbv2
        .delete_rule()
        .rule_arn(&r10)
        .send()
        .await
        .expect("delete rule");
    assert_eq!(
        code(w.elbv2.delete_rule().rule_arn(&r10).send().await),
        "RuleNotFound"
    );
    // Deleting the load balancer deletes its listeners and rules; the groups become free.
    w.elbv2
        .delete_load_balancer()
        .load_balancer_arn(&lb)
        .send()
        .await
        .expect("delete lb");
    assert_eq!(
        code(w.elbv2.describe_rules().rule_arns(&r5).send().await),
        "RuleNotFound"
    );
    assert_eq!(
        code(w.elbv2.describe_listeners().listener_arns(&l).send().await),
        "ListenerNotFound"
    );
    let g = w
        .elbv2
        .describe_target_groups()
        .target_group_arns(&api)
        .send()
        .await
        .expect("tg");
    assert!(g.target_groups()[0].load_balancer_arns().is_empty());
    w.elbv2
        .delete_target_group()
        .target_group_arn(&api)
        .send()
        .await
        .expect("free now");
    w.elbv2
        .delete_target_group()
        .target_group_arn(&web)
        .send()
        .await
        .expect("free now");
}

#[tokio::test]
async fn tags_on_every_resource_kind() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let lb = alb(&w, &n, "web").await;
    let t = tg(&w, &n.vpc, "web", ProtocolEnum::Http, 80).await;
    let l = listener(&w, &lb, ProtocolEnum::Http, 80, &t).await;
    let r = w
        .elbv2
        .create_rule()
        .listener_arn(&l)
        .priority(1)
        .conditions(path("/x"))
        .actions(forward(&t))
        .tags(Tag::builder().key("on-create").value("1").build())
        .send()
        .await
        .expect("rule")
        .rules()[0]
        .rule_arn()
        .expect("arn")
        .to_string();
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let (c, m) = code_msg(
        w.elbv2
            .add_tags()
            .resource_arns(&lb)
            .resource_arns(&t)
            .tags(tag("k", "v"))
            .send()
            .await,
    );
    assert_eq!(
        (c.as_str(), m.as_str()),
        (
            "ValidationError",
            "Only one resource can be tagged at a time"
        )
    );
    for arn in [&lb, &t, &l, &r] {
        w.elbv2
            .add_tags()
            .resource_arns(arn)
            .tags(tag("kubernetes.io/cluster/demo", "owned"))
            .send()
            .await
            .expect("add tags");
    }
    let d = w
        .elbv2
        .describe_tags()
        .resource_arns(&lb)
        .resource_arns(&r)
        .send()
        .await
        .expect("describe tags");
    assert_eq!(d.tag_descriptions().len(), 2);
    assert_eq!(d.tag_descriptions()[0].resource_arn(), Some(lb.as_str()));
    assert_eq!(
        d.tag_descriptions()[0].tags()[0].key(),
        Some("kubernetes.io/cluster/demo")
    );
    assert_eq!(d.tag_descriptions()[1].tags().len(), 2);
    let (c, _) = code_msg(
        w.elbv2
            .add_tags()
            .resource_arns(&lb)
            .tags(tag("k", "1"))
            .tags(tag("k", "2"))
            .send()
            .await,
    );
    assert_eq!(c, "DuplicateTagKeys");
    let many: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    assert_eq!(
        code(
            w.elbv2
                .add_tags()
                .resource_arns(&lb)
                .set_tags(Some(many))
                .send()
                .await
        ),
        "TooManyTags"
    );
    assert_eq!(
        code(
            w.elbv2
                .add_tags()
                .resource_arns(&lb)
                .tags(tag("aws:x", "1"))
                .send()
                .await
        ),
        "ValidationError"
    );
    w.elbv2
        .remove_tags()
        .resource_arns(&lb)
        .tag_keys("kubernetes.io/cluster/demo")
        .send()
        .await
        .expect("remove");
    let d = w
        .elbv2
        .describe_tags()
        .resource_arns(&lb)
        .send()
        .await
        .expect("describe");
    assert!(d.tag_descriptions()[0].tags().is_empty());
    let gone = format!("{}/0000000000000000", lb.rsplit_once('/').expect("id").0);
    assert_eq!(
        code(w.elbv2.describe_tags().resource_arns(&gone).send().await),
        "LoadBalancerNotFound"
    );
    assert_eq!(
        code(
            w.elbv2
                .add_tags()
                .resource_arns(t.replace("targetgroup/web", "targetgroup/nope"))
                .tags(tag("a", "b"))
                .send()
                .await
        ),
        "TargetGroupNotFound"
    );
}
