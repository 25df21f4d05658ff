//! Target groups: AWS's defaults per protocol, validation, duplicates, attributes, deletion while
//! in use; targets: registration rules and the health state machine on the clock.

use super::*;
use crate::support::*;
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, TargetGroupAttribute, TargetHealthReasonEnum, TargetHealthStateEnum,
};
use std::collections::HashMap;

async fn tg_attrs(w: &World, arn: &str) -> HashMap<String, String> {
    w.elbv2
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .expect("attrs")
        .attributes()
        .iter()
        .map(|a| {
            (
                a.key().unwrap_or_default().to_string(),
                a.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn defaults_per_protocol_as_aws() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let out = w
        .elbv2
        .create_target_group()
        .name("web")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(&n.vpc)
        .send()
        .await
        .expect("http tg");
    let t = &out.target_groups()[0];
    let arn = t.target_group_arn().expect("arn");
    let (head, id) = arn.rsplit_once('/').expect("id");
    assert!(
        head.starts_with("arn:aws:elasticloadbalancing:us-east-1:")
            && head.ends_with(":targetgroup/web")
    );
    assert_eq!(id.len(), 16);
    assert_eq!(t.health_check_protocol(), Some(&ProtocolEnum::Http));
    assert_eq!(t.health_check_port(), Some("traffic-port"));
    assert_eq!(t.health_check_path(), Some("/"));
    assert_eq!(t.health_check_interval_seconds(), Some(30));
    assert_eq!(t.health_check_timeout_seconds(), Some(5));
    assert_eq!(t.healthy_threshold_count(), Some(5));
    assert_eq!(t.unhealthy_threshold_count(), Some(2));
    assert_eq!(t.matcher().and_then(|m| m.http_code()), Some("200"));
    assert_eq!(t.health_check_enabled(), Some(true));
    assert_eq!(t.target_type().map(|x| x.as_str()), Some("instance"));
    assert_eq!(t.protocol_version(), Some("HTTP1"));
    assert!(t.load_balancer_arns().is_empty());
    let a = tg_attrs(&w, arn).await;
    assert_eq!(a["deregistration_delay.timeout_seconds"], "300");
    assert_eq!(a["stickiness.type"], "lb_cookie");
    assert_eq!(a["stickiness.enabled"], "false");

    let out = w
        .elbv2
        .create_target_group()
        .name("tcp")
        .protocol(ProtocolEnum::Tcp)
        .port(30080)
        .vpc_id(&n.vpc)
        .send()
        .await
        .expect("tcp tg");
    let t = &out.target_groups()[0];
    assert_eq!(t.health_check_protocol(), Some(&ProtocolEnum::Tcp));
    assert_eq!(t.health_check_timeout_seconds(), Some(10));
    assert_eq!(t.healthy_threshold_count(), Some(5));
    assert_eq!(t.unhealthy_threshold_count(), Some(2));
    assert!(t.health_check_path().is_none());
    assert!(t.matcher().is_none());
    let a = tg_attrs(&w, t.target_group_arn().expect("arn")).await;
    assert_eq!(a["stickiness.type"], "source_ip");
    assert_eq!(a["preserve_client_ip.enabled"], "true");
    assert_eq!(a["proxy_protocol_v2.enabled"], "false");

    let out = w
        .elbv2
        .create_target_group()
        .name("tcp-http-check")
        .protocol(ProtocolEnum::Tcp)
        .port(30081)
        .vpc_id(&n.vpc)
        .health_check_protocol(ProtocolEnum::Http)
        .health_check_path("/healthz")
        .health_check_port("10256")
        .send()
        .await
        .expect("tcp tg with http check");
    let t = &out.target_groups()[0];
    assert_eq!(t.health_check_timeout_seconds(), Some(6));
    assert_eq!(t.health_check_path(), Some("/healthz"));
    assert_eq!(t.health_check_port(), Some("10256"));
    assert_eq!(t.matcher().and_then(|m| m.http_code()), Some("200-399"));
}

#[tokio::test]
async fn target_group_rules_and_lifecycle() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let base = || {
        w.elbv2
            .create_target_group()
            .name("t")
            .protocol(ProtocolEnum::Http)
            .port(80)
            .vpc_id(&n.vpc)
    };
    assert_eq!(
        code(base().vpc_id("vpc-0123456789abcdef0").send().await),
        "ValidationError"
    );
    assert_eq!(
        code(base().set_vpc_id(None).send().await),
        "ValidationError"
    );
    assert_eq!(code(base().set_port(None).send().await), "ValidationError");
    assert_eq!(code(base().port(0).send().await), "ValidationError");
    assert_eq!(
        code(base().name("bad_name").send().await),
        "ValidationError"
    );
    assert_eq!(code(base().name("-x").send().await), "ValidationError");
    assert_eq!(
        code(base().target_type("lambda".into()).send().await),
        "ValidationError"
    );
    assert_eq!(
        code(
            base()
                .health_check_interval_seconds(10)
                .health_check_timeout_seconds(10)
                .send()
                .await
        ),
        "ValidationError"
    );
    assert_eq!(
        code(base().healthy_threshold_count(11).send().await),
        "ValidationError"
    );
    assert_eq!(
        code(base().health_check_path("nope").send().await),
        "ValidationError"
    );
    assert_eq!(
        code(
            base()
                .matcher(Matcher::builder().http_code("600").build())
                .send()
                .await
        ),
        "ValidationError"
    );
    assert_eq!(
        code(
            w.elbv2
                .create_target_group()
                .name("t")
                .protocol(ProtocolEnum::Tcp)
                .port(80)
                .vpc_id(&n.vpc)
                .health_check_path("/x")
                .send()
                .await
        ),
        "InvalidConfigurationRequest",
        "path only for HTTP checks"
    );
    assert!(w
        .elbv2
        .describe_target_groups()
        .send()
        .await
        .expect("list")
        .target_groups()
        .is_empty());

    let arn = tg(&w, &n.vpc, "t", ProtocolEnum::Http, 80).await;
    assert_eq!(
        tg(&w, &n.vpc, "t", ProtocolEnum::Http, 80).await,
        arn,
        "idempotent"
    );
    let (c, m) = code_msg(base().port(8080).send().await);
    assert_eq!(c, "DuplicateTargetGroupName");
    assert_eq!(
        m,
        "A target group with the same name 't' exists, but with different settings"
    );

    let (c, m) = code_msg(w.elbv2.describe_target_groups().names("nope").send().await);
    assert_eq!(c, "TargetGroupNotFound");
    assert_eq!(m, "Target groups '[nope]' not found");
    let by_name = w
        .elbv2
        .describe_target_groups()
        .names("t")
        .send()
        .await
        .expect("by name");
    assert_eq!(
        by_name.target_groups()[0].target_group_arn(),
        Some(arn.as_str())
    );

    let m = w
        .elbv2
        .modify_target_group()
        .target_group_arn(&arn)
        .health_check_path("/ready")
        .health_check_interval_seconds(10)
        .healthy_threshold_count(2)
        .send()
        .await
        .expect("modify");
    let t = &m.target_groups()[0];
    assert_eq!(t.health_check_path(), Some("/ready"));
    assert_eq!(t.health_check_interval_seconds(), Some(10));
    assert_eq!(t.health_check_timeout_seconds(), Some(5));
    assert_eq!(
        code(
            w.elbv2
                .modify_target_group()
                .target_group_arn(&arn)
                .health_check_timeout_seconds(10)
                .send()
                .await
        ),
        "ValidationError"
    );

    let set = |k: &str, v: &str| {
        w.elbv2
            .modify_target_group_attributes()
            .target_group_arn(&arn)
            .attributes(TargetGroupAttribute::builder().key(k).value(v).build())
            .send()
    };
    set("deregistration_delay.timeout_seconds", "30")
        .await
        .expect("delay");
    assert_eq!(
        tg_attrs(&w, &arn).await["deregistration_delay.timeout_seconds"],
        "30"
    );
    assert_eq!(
        code(set("deregistration_delay.timeout_seconds", "4000").await),
        "ValidationError"
    );
    assert_eq!(
        code(set("stickiness.type", "source_ip").await),
        "ValidationError"
    );
    assert_eq!(
        code(set("proxy_protocol_v2.enabled", "true").await),
        "ValidationError",
        "NLB-only key"
    );

    // In use by a listener: cannot be deleted; DescribeTargetGroups by LB finds it.
    let lb = alb(&w, &n, "web").await;
    let l = listener(&w, &lb, ProtocolEnum::Http, 80, &arn).await;
    let by_lb = w
        .elbv2
        .describe_target_groups()
        .load_balancer_arn(&lb)
        .send()
        .await
        .expect("by lb");
    assert_eq!(
        by_lb.target_groups()[0].load_balancer_arns(),
        std::slice::from_ref(&lb)
    );
    let (c, m) = code_msg(
        w.elbv2
            .delete_target_group()
            .target_group_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(c, "ResourceInUse");
    assert_eq!(
        m,
        format!("Target group '{arn}' is currently in use by a listener or a rule")
    );
    w.elbv2
        .delete_listener()
        .listener_arn(&l)
        .send()
        .await
        .expect("delete listener");
    w.elbv2
        .delete_target_group()
        .target_group_arn(&arn)
        .send()
        .await
        .expect("delete tg");
    assert_eq!(
        code(
            w.elbv2
                .describe_target_groups()
                .target_group_arns(&arn)
                .send()
                .await
        ),
        "TargetGroupNotFound"
    );
    w.elbv2
        .delete_target_group()
        .target_group_arn(&arn)
        .send()
        .await
        .expect("idempotent");
}

#[tokio::test]
async fn registration_rules() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let arn = tg(&w, &n.vpc, "inst", ProtocolEnum::Http, 80).await;
    let reg = |id: &str| {
        w.elbv2
            .register_targets()
            .target_group_arn(&arn)
            .targets(target(id, None))
            .send()
    };
    let (c, m) = code_msg(reg("i-0123456789abcdef0").await);
    assert_eq!(c, "InvalidTarget");
    assert!(m.contains("i-0123456789abcdef0"), "{m}");
    let other = vpc(&w.ec2, "10.9.0.0/16").await;
    let os = subnet(&w.ec2, &other, "10.9.1.0/24", "us-east-1a").await;
    let foreign = instance(&w.ec2, &os, "t3.micro").await;
    assert_eq!(code(reg(&foreign).await), "InvalidTarget");
    let doomed = instance(&w.ec2, &n.a, "t3.micro").await;
    w.ec2
        .terminate_instances()
        .instance_ids(&doomed)
        .send()
        .await
        .expect("terminate");
    w.advance(60);
    assert_eq!(code(reg(&doomed).await), "InvalidTarget");
    let (c, m) = code_msg(reg(&doomed).await);
    assert_eq!(c, "InvalidTarget");
    assert_eq!(
        m,
        format!(
            "The following targets are not in a running state and cannot be registered: '{doomed}'"
        )
    );
    let stopped = instance(&w.ec2, &n.a, "t3.micro").await;
    assert_eq!(
        code(reg(&stopped).await),
        "InvalidTarget",
        "pending is not running"
    );
    w.advance(60);
    w.ec2
        .stop_instances()
        .instance_ids(&stopped)
        .send()
        .await
        .expect("stop");
    w.advance(60);
    assert_eq!(
        code(reg(&stopped).await),
        "InvalidTarget",
        "stopped is not running"
    );
    reg(&n.instance).await.expect("register");
    reg(&n.instance).await.expect("registering twice is fine");
    assert_eq!(
        code(
            w.elbv2
                .register_targets()
                .target_group_arn(&arn)
                .targets(target(&n.instance, Some(0)))
                .send()
                .await
        ),
        "ValidationError"
    );

    let ip_tg = w
        .elbv2
        .create_target_group()
        .name("ips")
        .protocol(ProtocolEnum::Tcp)
        .port(8080)
        .vpc_id(&n.vpc)
        .target_type("ip".into())
        .send()
        .await
        .expect("ip tg")
        .target_groups()[0]
        .target_group_arn()
        .expect("arn")
        .to_string();
    let reg_ip = |ip: &str, az: Option<&str>| {
        w.elbv2
            .register_targets()
            .target_group_arn(&ip_tg)
            .targets(
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(ip)
                    .set_availability_zone(az.map(str::to_string))
                    .build(),
            )
            .send()
    };
    reg_ip("10.0.1.50", None).await.expect("in the VPC");
    assert_eq!(code(reg_ip("192.168.1.5", None).await), "InvalidTarget");
    reg_ip("192.168.1.5", Some("all"))
        .await
        .expect("private, outside the VPC, AZ all");
    assert_eq!(code(reg_ip("8.8.8.8", Some("all")).await), "InvalidTarget");
    assert_eq!(
        code(reg_ip("10.0.1.51", Some("all")).await),
        "InvalidTarget"
    );
    assert_eq!(code(reg_ip("not-an-ip", None).await), "InvalidTarget");
    let h = w
        .elbv2
        .describe_target_health()
        .target_group_arn(&ip_tg)
        .send()
        .await
        .expect("health");
    assert_eq!(h.target_health_descriptions().len(), 2);
    assert_eq!(
        h.target_health_descriptions()[1]
            .target()
            .and_then(|t| t.availability_zone()),
        Some("all")
    );
}

async fn health(
    w: &World,
    tg: &str,
    id: &str,
) -> (TargetHealthStateEnum, Option<TargetHealthReasonEnum>) {
    let h = w
        .elbv2
        .describe_target_health()
        .target_group_arn(tg)
        .targets(target(id, None))
        .send()
        .await
        .expect("health");
    let d = h.target_health_descriptions()[0]
        .target_health()
        .expect("health");
    (d.state().cloned().expect("state"), d.reason().cloned())
}

#[tokio::test]
async fn health_moves_through_aws_states_on_the_clock() {
    use TargetHealthReasonEnum as R;
    use TargetHealthStateEnum as S;
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let second = instance(&w.ec2, &n.b, "c5.large").await;
    w.advance(60);
    let arn = tg(&w, &n.vpc, "web", ProtocolEnum::Http, 80).await;
    w.elbv2
        .register_targets()
        .target_group_arn(&arn)
        .targets(target(&n.instance, None))
        .targets(target(&second, None))
        .send()
        .await
        .expect("register");
    assert_eq!(
        health(&w, &arn, &n.instance).await,
        (S::Unused, Some(R::NotInUse))
    );

    let lb = alb(&w, &n, "web").await;
    listener(&w, &lb, ProtocolEnum::Http, 80, &arn).await;
    assert_eq!(
        health(&w, &arn, &n.instance).await,
        (S::Initial, Some(R::RegistrationInProgress))
    );
    // The LB is active after 180 s; health checks (30 s × 5) pass 150 s later.
    w.advance(180 + 149);
    assert_eq!(
        health(&w, &arn, &n.instance).await,
        (S::Initial, Some(R::RegistrationInProgress))
    );
    w.advance(1);
    assert_eq!(health(&w, &arn, &n.instance).await, (S::Healthy, None));
    let all = w
        .elbv2
        .describe_target_health()
        .target_group_arn(&arn)
        .send()
        .await
        .expect("all");
    assert_eq!(all.target_health_descriptions().len(), 2);
    assert_eq!(
        all.target_health_descriptions()[0].health_check_port(),
        Some("80")
    );

    // A stopping instance fails its checks; a stopped one is unused.
    w.ec2
        .stop_instances()
        .instance_ids(&n.instance)
        .send()
        .await
        .expect("stop");
    assert_eq!(
        health(&w, &arn, &n.instance).await,
        (S::Unhealthy, Some(R::FailedHealthChecks))
    );
    w.advance(30);
    assert_eq!(
        health(&w, &arn, &n.instance).await,
        (S::Unused, Some(R::InvalidState))
    );

    assert_eq!(
        code(
            w.elbv2
                .deregister_targets()
                .target_group_arn(&arn)
                .targets(target("i-0123456789abcdef0", None))
                .send()
                .await
        ),
        "ValidationError",
        "deregistering an instance that does not exist"
    );
    // Deregistration drains for the deregistration delay, then the target is gone.
    w.elbv2
        .deregister_targets()
        .target_group_arn(&arn)
        .targets(target(&second, None))
        .send()
        .await
        .expect("deregister");
    assert_eq!(
        health(&w, &arn, &second).await,
        (S::Draining, Some(R::DeregistrationInProgress))
    );
    w.advance(299);
    assert_eq!(health(&w, &arn, &second).await.0, S::Draining);
    w.advance(1);
    assert_eq!(
        health(&w, &arn, &second).await,
        (S::Unused, Some(R::NotRegistered))
    );
    let all = w
        .elbv2
        .describe_target_health()
        .target_group_arn(&arn)
        .send()
        .await
        .expect("all");
    assert_eq!(all.target_health_descriptions().len(), 1);
    assert_eq!(
        code(
            w.elbv2
                .describe_target_health()
                .target_group_arn(&arn)
                .targets(target("i-0123456789abcdef0", None))
                .send()
                .await
        ),
        "InvalidTarget"
    );
}
