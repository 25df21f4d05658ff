//! Load balancers: DNS names, ARNs, hosted zones, states on the clock, ENIs taken from subnets,
//! subnet and security group rules, names, paging, Set*, attributes.

use super::*;
use crate::support::*;
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancerAttribute, LoadBalancerStateEnum, SubnetMapping,
};

fn digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

fn hex(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

async fn lb_enis(w: &World) -> Vec<aws_sdk_ec2::types::NetworkInterface> {
    w.ec2
        .describe_network_interfaces()
        .send()
        .await
        .expect("enis")
        .network_interfaces()
        .iter()
        .filter(|e| e.description().is_some_and(|d| d.starts_with("ELB ")))
        .cloned()
        .collect()
}

#[tokio::test]
async fn alb_takes_enis_has_aws_names_and_becomes_active_on_the_clock() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let before = available_ips(&w.ec2, &n.a).await;
    let out = w
        .elbv2
        .create_load_balancer()
        .name("web")
        .subnets(&n.a)
        .subnets(&n.b)
        .send()
        .await
        .expect("create");
    let lb = &out.load_balancers()[0];
    let arn = lb.load_balancer_arn().expect("arn");
    let (head, id) = arn.rsplit_once('/').expect("id");
    assert!(head.starts_with("arn:aws:elasticloadbalancing:us-east-1:"));
    assert!(head.ends_with(":loadbalancer/app/web"), "{arn}");
    assert_eq!(id.len(), 16);
    assert!(hex(id));
    let dns = lb.dns_name().expect("dns");
    let host = dns
        .strip_suffix(".us-east-1.elb.amazonaws.com")
        .expect("ALB DNS suffix");
    let num = host.strip_prefix("web-").expect("name prefix");
    assert!(digits(num) && num.len() == 10, "{dns}");
    assert_eq!(lb.canonical_hosted_zone_id(), Some("Z35SXDOTRQ7X7K"));
    assert_eq!(lb.r#type().map(|t| t.as_str()), Some("application"));
    assert_eq!(lb.scheme().map(|s| s.as_str()), Some("internet-facing"));
    assert_eq!(lb.vpc_id(), Some(n.vpc.as_str()));
    assert_eq!(lb.ip_address_type().map(|t| t.as_str()), Some("ipv4"));
    assert!(lb.created_time().is_some());
    assert_eq!(
        lb.state().and_then(|s| s.code()),
        Some(&LoadBalancerStateEnum::Provisioning)
    );
    let zones: Vec<(&str, &str)> = lb
        .availability_zones()
        .iter()
        .map(|z| {
            (
                z.zone_name().unwrap_or_default(),
                z.subnet_id().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        zones,
        [("us-east-1a", n.a.as_str()), ("us-east-1b", n.b.as_str())]
    );
    // The ALB got the VPC's default security group.
    let default_sg = w
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &[&n.vpc]))
        .filters(filter("group-name", &["default"]))
        .send()
        .await
        .expect("sgs")
        .security_groups()[0]
        .group_id()
        .expect("id")
        .to_string();
    assert_eq!(lb.security_groups(), std::slice::from_ref(&default_sg));

    // One requester-managed ENI per subnet, its address taken from the subnet.
    let enis = lb_enis(&w).await;
    assert_eq!(enis.len(), 2);
    for e in &enis {
        assert_eq!(e.description(), Some(format!("ELB app/web/{id}").as_str()));
        assert_eq!(e.requester_managed(), Some(true));
        assert_eq!(e.groups()[0].group_id(), Some(default_sg.as_str()));
    }
    assert_eq!(available_ips(&w.ec2, &n.a).await, before - 1);
    // The ENI cannot be deleted by the user, nor the subnet while the LB is in it.
    let eni = enis[0].network_interface_id().expect("eni");
    assert_eq!(
        code(
            w.ec2
                .delete_network_interface()
                .network_interface_id(eni)
                .send()
                .await
        ),
        "OperationNotPermitted"
    );
    assert_eq!(
        code(w.ec2.delete_subnet().subnet_id(&n.a).send().await),
        "DependencyViolation"
    );

    // provisioning → active after three minutes on the clock.
    w.advance(179);
    let state = |w: &World| {
        let c = w.elbv2.clone();
        let arn = arn.to_string();
        async move {
            c.describe_load_balancers()
                .load_balancer_arns(arn)
                .send()
                .await
                .expect("describe")
                .load_balancers()[0]
                .state()
                .and_then(|s| s.code())
                .cloned()
        }
    };
    assert_eq!(state(&w).await, Some(LoadBalancerStateEnum::Provisioning));
    w.advance(1);
    assert_eq!(state(&w).await, Some(LoadBalancerStateEnum::Active));

    // Delete gives the addresses back; deleting again succeeds as in AWS.
    w.elbv2
        .delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
        .expect("delete");
    assert!(lb_enis(&w).await.is_empty());
    assert_eq!(available_ips(&w.ec2, &n.a).await, before);
    w.elbv2
        .delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
        .expect("delete is idempotent");
    assert_eq!(
        code(
            w.elbv2
                .describe_load_balancers()
                .load_balancer_arns(arn)
                .send()
                .await
        ),
        "LoadBalancerNotFound"
    );
    assert_eq!(
        code_msg(
            w.elbv2
                .delete_load_balancer()
                .load_balancer_arn("not-an-arn")
                .send()
                .await
        ),
        (
            "ValidationError".to_string(),
            "'not-an-arn' must be in ARN format".to_string()
        )
    );
}

#[tokio::test]
async fn dns_names_of_every_kind_in_both_partitions() {
    for (region, suffix, alb_zone, nlb_zone) in [
        (
            "us-east-1",
            "amazonaws.com",
            "Z35SXDOTRQ7X7K",
            "Z26RNL4JYFTOTI",
        ),
        (
            "cn-northwest-1",
            "amazonaws.com.cn",
            "ZM7IZAIOVVDZF",
            "ZQEIKTCZ8352D",
        ),
    ] {
        let w = World::new(region);
        let n = net(&w).await;
        for (t, scheme) in [
            (
                LoadBalancerTypeEnum::Application,
                LoadBalancerSchemeEnum::InternetFacing,
            ),
            (
                LoadBalancerTypeEnum::Application,
                LoadBalancerSchemeEnum::Internal,
            ),
            (
                LoadBalancerTypeEnum::Network,
                LoadBalancerSchemeEnum::InternetFacing,
            ),
            (
                LoadBalancerTypeEnum::Network,
                LoadBalancerSchemeEnum::Internal,
            ),
        ] {
            let alb = t == LoadBalancerTypeEnum::Application;
            let internal = scheme == LoadBalancerSchemeEnum::Internal;
            let name = format!(
                "{}-{}",
                if alb { "a" } else { "n" },
                if internal { "in" } else { "ex" }
            );
            let arn = lb(&w, &name, t, scheme, &[&n.a, &n.b]).await;
            let d = w
                .elbv2
                .describe_load_balancers()
                .names(&name)
                .send()
                .await
                .expect("describe");
            let l = &d.load_balancers()[0];
            assert_eq!(l.load_balancer_arn(), Some(arn.as_str()));
            let partition = if region.starts_with("cn-") {
                "aws-cn"
            } else {
                "aws"
            };
            assert!(arn.starts_with(&format!("arn:{partition}:elasticloadbalancing:{region}:")));
            assert!(arn.contains(if alb {
                ":loadbalancer/app/"
            } else {
                ":loadbalancer/net/"
            }));
            let dns = l.dns_name().expect("dns");
            let prefix = format!("{}{name}-", if internal { "internal-" } else { "" });
            let rest = dns.strip_prefix(&prefix).unwrap_or_else(|| panic!("{dns}"));
            if alb {
                let id = rest
                    .strip_suffix(&format!(".{region}.elb.{suffix}"))
                    .unwrap_or_else(|| panic!("{dns}"));
                assert!(digits(id), "{dns}");
                assert_eq!(l.canonical_hosted_zone_id(), Some(alb_zone));
            } else {
                let id = rest
                    .strip_suffix(&format!(".elb.{region}.{suffix}"))
                    .unwrap_or_else(|| panic!("{dns}"));
                assert!(hex(id) && id.len() == 16, "{dns}");
                assert_eq!(l.canonical_hosted_zone_id(), Some(nlb_zone));
                // NLB: addresses per zone; no security groups unless asked.
                assert!(l.security_groups().is_empty());
                assert_eq!(
                    l.availability_zones()[0].load_balancer_addresses().len(),
                    0,
                    "addresses are listed only when a subnet mapping fixed them"
                );
            }
        }
        // NLB ENIs are network_load_balancer interfaces.
        let enis = lb_enis(&w).await;
        assert_eq!(enis.len(), 8);
        assert!(enis
            .iter()
            .any(|e| e.interface_type().map(|t| t.as_str()) == Some("network_load_balancer")));
    }
}

#[tokio::test]
async fn subnet_and_security_group_rules() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let alb = |subnets: Vec<String>| {
        w.elbv2
            .create_load_balancer()
            .name("rules")
            .set_subnets(Some(subnets))
            .send()
    };
    assert_eq!(
        code_msg(alb(vec![n.a.clone()]).await),
        (
            "ValidationError".to_string(),
            "At least two subnets in two different Availability Zones must be specified"
                .to_string()
        )
    );
    let a2 = subnet(&w.ec2, &n.vpc, "10.0.10.0/24", "us-east-1a").await;
    assert_eq!(
        code_msg(alb(vec![n.a.clone(), a2.clone()]).await),
        (
            "InvalidConfigurationRequest".to_string(),
            "A load balancer cannot be attached to multiple subnets in the same Availability Zone"
                .to_string()
        )
    );
    let other = vpc(&w.ec2, "10.1.0.0/16").await;
    let ob = subnet(&w.ec2, &other, "10.1.2.0/24", "us-east-1b").await;
    assert_eq!(
        code(alb(vec![n.a.clone(), ob.clone()]).await),
        "InvalidConfigurationRequest"
    );
    let (c, m) = code_msg(alb(vec![n.a.clone(), "subnet-0123456789abcdef0".into()]).await);
    assert_eq!(c, "SubnetNotFound");
    assert_eq!(m, "The subnet ID 'subnet-0123456789abcdef0' is not valid");
    assert_eq!(
        code(
            w.elbv2
                .create_load_balancer()
                .name("rules")
                .subnets(&n.a)
                .subnets(&n.b)
                .security_groups("sg-0123456789abcdef0")
                .send()
                .await
        ),
        "InvalidSecurityGroup"
    );
    let foreign_sg = w
        .ec2
        .create_security_group()
        .group_name("x")
        .description("x")
        .vpc_id(&other)
        .send()
        .await
        .expect("sg")
        .group_id()
        .expect("id")
        .to_string();
    assert_eq!(
        code(
            w.elbv2
                .create_load_balancer()
                .name("rules")
                .subnets(&n.a)
                .subnets(&n.b)
                .security_groups(&foreign_sg)
                .send()
                .await
        ),
        "InvalidSecurityGroup"
    );
    // The other VPC has no internet gateway: only internal load balancers fit there.
    let oa = subnet(&w.ec2, &other, "10.1.1.0/24", "us-east-1a").await;
    let (c, m) = code_msg(alb(vec![oa.clone(), ob.clone()]).await);
    assert_eq!(c, "InvalidSubnet");
    assert_eq!(m, format!("VPC {other} has no internet gateway"));
    // Nothing was created by the failures.
    assert!(w
        .elbv2
        .describe_load_balancers()
        .send()
        .await
        .expect("describe")
        .load_balancers()
        .is_empty());
    assert!(lb_enis(&w).await.is_empty());
    lb(
        &w,
        "inside",
        LoadBalancerTypeEnum::Application,
        LoadBalancerSchemeEnum::Internal,
        &[&oa, &ob],
    )
    .await;
    // An NLB may live in one AZ.
    lb(
        &w,
        "one-az",
        LoadBalancerTypeEnum::Network,
        LoadBalancerSchemeEnum::InternetFacing,
        &[&n.c],
    )
    .await;
    // Gateway load balancers are refused with a clear message.
    let (c, m) = code_msg(
        w.elbv2
            .create_load_balancer()
            .name("gw")
            .r#type(LoadBalancerTypeEnum::Gateway)
            .subnets(&n.a)
            .send()
            .await,
    );
    assert_eq!(c, "ValidationError");
    assert!(m.contains("gateway"), "{m}");
    // Subnets and mappings are exclusive; a fixed address only for internal NLBs.
    assert_eq!(
        code(
            w.elbv2
                .create_load_balancer()
                .name("both")
                .subnets(&n.a)
                .subnet_mappings(SubnetMapping::builder().subnet_id(&n.b).build())
                .send()
                .await
        ),
        "ValidationError"
    );
    let fixed = w
        .elbv2
        .create_load_balancer()
        .name("fixed")
        .r#type(LoadBalancerTypeEnum::Network)
        .scheme(LoadBalancerSchemeEnum::Internal)
        .subnet_mappings(
            SubnetMapping::builder()
                .subnet_id(&n.a)
                .private_ipv4_address("10.0.1.100")
                .build(),
        )
        .send()
        .await
        .expect("fixed address");
    let addr = &fixed.load_balancers()[0].availability_zones()[0].load_balancer_addresses()[0];
    assert_eq!(addr.private_ipv4_address(), Some("10.0.1.100"));
    assert_eq!(
        code(
            w.elbv2
                .create_load_balancer()
                .name("fixed2")
                .r#type(LoadBalancerTypeEnum::Network)
                .scheme(LoadBalancerSchemeEnum::Internal)
                .subnet_mappings(
                    SubnetMapping::builder()
                        .subnet_id(&n.a)
                        .private_ipv4_address("10.0.1.100")
                        .build(),
                )
                .send()
                .await
        ),
        "InvalidConfigurationRequest"
    );
}

#[tokio::test]
async fn a_full_subnet_is_invalid_subnet() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let small = subnet(&w.ec2, &n.vpc, "10.0.9.0/28", "us-east-1c").await;
    w.ec2
        .run_instances()
        .image_id("ami-0abcdef1234567890")
        .instance_type("t3.micro".into())
        .subnet_id(&small)
        .min_count(4)
        .max_count(4)
        .send()
        .await
        .expect("fill");
    assert_eq!(available_ips(&w.ec2, &small).await, 7);
    let (c, m) = code_msg(
        w.elbv2
            .create_load_balancer()
            .name("full")
            .subnets(&n.a)
            .subnets(&small)
            .send()
            .await,
    );
    assert_eq!(c, "InvalidSubnet");
    assert_eq!(
        m,
        format!("Not enough IP space available in {small}. ELB requires at least 8 free IP addresses in each subnet.")
    );
    assert_eq!(available_ips(&w.ec2, &small).await, 7, "nothing taken");
    assert_eq!(available_ips(&w.ec2, &n.a).await, 250, "nothing taken");
}

#[tokio::test]
async fn names_duplicates_and_idempotency() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    for bad in [
        "a234567890123456789012345678901233",
        "under_score",
        "-lead",
        "trail-",
        "internal-web",
        "",
    ] {
        assert_eq!(
            code(
                w.elbv2
                    .create_load_balancer()
                    .name(bad)
                    .subnets(&n.a)
                    .subnets(&n.b)
                    .send()
                    .await
            ),
            "ValidationError",
            "{bad}"
        );
    }
    let (_, m) = code_msg(
        w.elbv2
            .create_load_balancer()
            .name("a234567890123456789012345678901233")
            .subnets(&n.a)
            .subnets(&n.b)
            .send()
            .await,
    );
    assert_eq!(
        m,
        "The load balancer name 'a234567890123456789012345678901233' cannot be longer than '32' characters"
    );
    let first = alb(&w, &n, "web").await;
    assert_eq!(
        alb(&w, &n, "web").await,
        first,
        "same settings: the same LB"
    );
    let (c, m) = code_msg(
        w.elbv2
            .create_load_balancer()
            .name("web")
            .subnets(&n.a)
            .subnets(&n.c)
            .send()
            .await,
    );
    assert_eq!(c, "DuplicateLoadBalancerName");
    assert_eq!(
        m,
        "A load balancer with the same name 'web' exists, but with different settings"
    );
    assert_eq!(
        code(
            w.elbv2
                .create_load_balancer()
                .name("bogus")
                .r#type("bogus".into())
                .subnets(&n.a)
                .send()
                .await
        ),
        "ValidationError"
    );
}

#[tokio::test]
async fn describe_by_names_arns_and_pages() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let mut arns = Vec::new();
    for name in ["one", "two", "three"] {
        arns.push(
            lb(
                &w,
                name,
                LoadBalancerTypeEnum::Network,
                LoadBalancerSchemeEnum::Internal,
                &[&n.a],
            )
            .await,
        );
    }
    let p1 = w
        .elbv2
        .describe_load_balancers()
        .page_size(2)
        .send()
        .await
        .expect("page 1");
    let names: Vec<&str> = p1
        .load_balancers()
        .iter()
        .filter_map(|l| l.load_balancer_name())
        .collect();
    assert_eq!(names, ["one", "two"], "creation order");
    let marker = p1.next_marker().expect("marker");
    let p2 = w
        .elbv2
        .describe_load_balancers()
        .page_size(2)
        .marker(marker)
        .send()
        .await
        .expect("page 2");
    assert_eq!(p2.load_balancers().len(), 1);
    assert!(p2.next_marker().is_none());
    assert_eq!(
        code(w.elbv2.describe_load_balancers().page_size(0).send().await),
        "ValidationError"
    );
    assert_eq!(
        code(
            w.elbv2
                .describe_load_balancers()
                .marker("garbage")
                .send()
                .await
        ),
        "ValidationError"
    );
    let (c, m) = code_msg(
        w.elbv2
            .describe_load_balancers()
            .names("one")
            .names("nope")
            .send()
            .await,
    );
    assert_eq!(c, "LoadBalancerNotFound");
    assert_eq!(m, "Load balancers '[nope]' not found");
    let gone = arns[0].replace(&arns[0][arns[0].len() - 16..], "0000000000000000");
    assert_eq!(
        code(
            w.elbv2
                .describe_load_balancers()
                .load_balancer_arns(&gone)
                .send()
                .await
        ),
        "LoadBalancerNotFound"
    );
    assert_eq!(
        code(
            w.elbv2
                .describe_load_balancers()
                .load_balancer_arns("arn:bogus")
                .send()
                .await
        ),
        "ValidationError"
    );
    assert_eq!(
        code(
            w.elbv2
                .describe_load_balancers()
                .load_balancer_arns(&arns[0])
                .names("one")
                .send()
                .await
        ),
        "ValidationError"
    );
    let d = w
        .elbv2
        .describe_load_balancers()
        .load_balancer_arns(&arns[2])
        .load_balancer_arns(&arns[0])
        .send()
        .await
        .expect("by arns");
    assert_eq!(d.load_balancers().len(), 2);
}

#[tokio::test]
async fn set_subnets_security_groups_and_ip_address_type() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let arn = alb(&w, &n, "web").await;
    let before_b = available_ips(&w.ec2, &n.b).await;
    let out = w
        .elbv2
        .set_subnets()
        .load_balancer_arn(&arn)
        .subnets(&n.a)
        .subnets(&n.c)
        .send()
        .await
        .expect("set subnets");
    let subnets: Vec<&str> = out
        .availability_zones()
        .iter()
        .filter_map(|z| z.subnet_id())
        .collect();
    assert_eq!(subnets, [n.a.as_str(), n.c.as_str()]);
    assert_eq!(
        available_ips(&w.ec2, &n.b).await,
        before_b + 1,
        "b's ENI given back"
    );
    assert_eq!(lb_enis(&w).await.len(), 2);
    assert_eq!(
        code(
            w.elbv2
                .set_subnets()
                .load_balancer_arn(&arn)
                .subnets(&n.a)
                .send()
                .await
        ),
        "ValidationError",
        "never an ALB in one AZ"
    );
    let sg = w
        .ec2
        .create_security_group()
        .group_name("web")
        .description("web")
        .vpc_id(&n.vpc)
        .send()
        .await
        .expect("sg")
        .group_id()
        .expect("id")
        .to_string();
    let out = w
        .elbv2
        .set_security_groups()
        .load_balancer_arn(&arn)
        .security_groups(&sg)
        .send()
        .await
        .expect("set sgs");
    assert_eq!(out.security_group_ids(), std::slice::from_ref(&sg));
    assert!(lb_enis(&w)
        .await
        .iter()
        .all(|e| e.groups()[0].group_id() == Some(sg.as_str())));
    assert_eq!(
        code(
            w.elbv2
                .set_security_groups()
                .load_balancer_arn(&arn)
                .security_groups("sg-0123456789abcdef0")
                .send()
                .await
        ),
        "InvalidSecurityGroup"
    );
    let nlb = lb(
        &w,
        "net",
        LoadBalancerTypeEnum::Network,
        LoadBalancerSchemeEnum::Internal,
        &[&n.a],
    )
    .await;
    assert_eq!(
        code(
            w.elbv2
                .set_security_groups()
                .load_balancer_arn(&nlb)
                .security_groups(&sg)
                .send()
                .await
        ),
        "InvalidConfigurationRequest"
    );
    let with_sg = w
        .elbv2
        .create_load_balancer()
        .name("net-sg")
        .r#type(LoadBalancerTypeEnum::Network)
        .scheme(LoadBalancerSchemeEnum::Internal)
        .subnets(&n.a)
        .security_groups(&sg)
        .send()
        .await
        .expect("nlb with a group");
    let l = &with_sg.load_balancers()[0];
    assert_eq!(l.security_groups(), std::slice::from_ref(&sg));
    assert_eq!(
        l.enforce_security_group_inbound_rules_on_private_link_traffic(),
        Some("on")
    );
    let out = w
        .elbv2
        .set_security_groups()
        .load_balancer_arn(l.load_balancer_arn().expect("arn"))
        .security_groups(&sg)
        .send()
        .await
        .expect("nlb created with groups may change them");
    assert_eq!(out.security_group_ids(), std::slice::from_ref(&sg));
    assert_eq!(
        code(
            w.elbv2
                .set_ip_address_type()
                .load_balancer_arn(&arn)
                .ip_address_type("dualstack".into())
                .send()
                .await
        ),
        "InvalidSubnet"
    );
    let ok = w
        .elbv2
        .set_ip_address_type()
        .load_balancer_arn(&arn)
        .ip_address_type("ipv4".into())
        .send()
        .await
        .expect("ipv4");
    assert_eq!(ok.ip_address_type().map(|t| t.as_str()), Some("ipv4"));
}

#[tokio::test]
async fn attributes_defaults_modify_and_deletion_protection() {
    let w = World::new("us-east-1");
    let n = net(&w).await;
    let arn = alb(&w, &n, "web").await;
    let attrs = |arn: String| {
        let c = w.elbv2.clone();
        async move {
            c.describe_load_balancer_attributes()
                .load_balancer_arn(arn)
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
                .collect::<std::collections::HashMap<_, _>>()
        }
    };
    let a = attrs(arn.clone()).await;
    assert_eq!(a["idle_timeout.timeout_seconds"], "60");
    assert_eq!(a["deletion_protection.enabled"], "false");
    assert_eq!(a["routing.http2.enabled"], "true");
    assert_eq!(a["load_balancing.cross_zone.enabled"], "true");
    let nlb = lb(
        &w,
        "net",
        LoadBalancerTypeEnum::Network,
        LoadBalancerSchemeEnum::Internal,
        &[&n.a],
    )
    .await;
    let b = attrs(nlb.clone()).await;
    assert_eq!(b["load_balancing.cross_zone.enabled"], "false");
    assert!(!b.contains_key("idle_timeout.timeout_seconds"));
    let set = |arn: &str, k: &str, v: &str| {
        w.elbv2
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .attributes(LoadBalancerAttribute::builder().key(k).value(v).build())
            .send()
    };
    set(&arn, "idle_timeout.timeout_seconds", "120")
        .await
        .expect("modify");
    assert_eq!(
        attrs(arn.clone()).await["idle_timeout.timeout_seconds"],
        "120"
    );
    assert_eq!(
        code(set(&arn, "idle_timeout.timeout_seconds", "0").await),
        "ValidationError"
    );
    assert_eq!(code(set(&arn, "no.such.key", "1").await), "ValidationError");
    assert_eq!(
        code(set(&nlb, "idle_timeout.timeout_seconds", "60").await),
        "ValidationError"
    );
    assert_eq!(
        code(set(&arn, "deletion_protection.enabled", "yes").await),
        "ValidationError"
    );
    set(&arn, "deletion_protection.enabled", "true")
        .await
        .expect("protect");
    assert_eq!(
        code(
            w.elbv2
                .delete_load_balancer()
                .load_balancer_arn(&arn)
                .send()
                .await
        ),
        "OperationNotPermitted"
    );
    set(&arn, "deletion_protection.enabled", "false")
        .await
        .expect("unprotect");
    w.elbv2
        .delete_load_balancer()
        .load_balancer_arn(&arn)
        .send()
        .await
        .expect("delete");
}
