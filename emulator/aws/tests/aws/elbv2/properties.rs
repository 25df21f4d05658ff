//! Invariants under random sequences of ELBv2 calls (proptest): no call answers 5xx or an
//! uncoded error, no listener default action or rule forwards to a deleted target group, no ALB
//! is ever in fewer than two AZs, target groups name only live load balancers, and load
//! balancers hold exactly one ENI per subnet (none leaked after deletes).

use super::*;
use crate::support::*;
use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::RuleCondition;
use proptest::prelude::*;
use std::collections::HashSet;

#[derive(Debug, Clone)]
enum Op {
    CreateLb(bool, u8),
    DeleteLb(usize),
    SetSubnets(usize, u8),
    CreateTg(bool, u16),
    DeleteTg(usize),
    CreateListener(usize, usize, u16),
    DeleteListener(usize),
    CreateRule(usize, usize, i32),
    DeleteRule(usize),
    Register(usize, usize),
    Deregister(usize, usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), 0..16u8).prop_map(|(a, m)| Op::CreateLb(a, m)),
        1 => (0..6usize).prop_map(Op::DeleteLb),
        1 => (0..6usize, 0..16u8).prop_map(|(i, m)| Op::SetSubnets(i, m)),
        3 => (any::<bool>(), 0..4u16).prop_map(|(h, p)| Op::CreateTg(h, p)),
        1 => (0..6usize).prop_map(Op::DeleteTg),
        5 => (0..6usize, 0..6usize, 0..3u16).prop_map(|(l, t, p)| Op::CreateListener(l, t, p)),
        1 => (0..6usize).prop_map(Op::DeleteListener),
        5 => (0..6usize, 0..6usize, 1..7i32).prop_map(|(l, t, p)| Op::CreateRule(l, t, p)),
        1 => (0..6usize).prop_map(Op::DeleteRule),
        2 => (0..6usize, 0..2usize).prop_map(|(t, i)| Op::Register(t, i)),
        1 => (0..6usize, 0..2usize).prop_map(|(t, i)| Op::Deregister(t, i)),
        1 => (1..400u64).prop_map(Op::Advance),
    ]
}

struct Ids {
    subnets: Vec<String>,
    instances: Vec<String>,
    lbs: Vec<String>,
    tgs: Vec<String>,
    listeners: Vec<String>,
    rules: Vec<String>,
    seq: usize,
}

fn pick(v: &[String], i: usize) -> Option<String> {
    (!v.is_empty()).then(|| v[i % v.len()].clone())
}

fn masked(subnets: &[String], mask: u8) -> Vec<String> {
    subnets
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, s)| s.clone())
        .collect()
}

async fn apply(w: &World, vpc: &str, ids: &mut Ids, op: &Op) {
    let c = &w.elbv2;
    macro_rules! coded {
        ($r:expr) => {
            match $r {
                Ok(v) => Some(v),
                Err(e) => {
                    let code = e.code().map(str::to_string);
                    if std::env::var_os("ELBV2_PROP_STATS").is_some() {
                        eprintln!("{op:?}: {:?} {:?}", code, e.message());
                    }
                    assert!(
                        code.as_deref()
                            .is_some_and(|c| c != "InternalError" && !c.is_empty()),
                        "uncoded or 5xx failure for {op:?}: {e:?}"
                    );
                    None
                }
            }
        };
    }
    ids.seq += 1;
    match op {
        Op::CreateLb(alb, mask) => {
            let t = if *alb {
                LoadBalancerTypeEnum::Application
            } else {
                LoadBalancerTypeEnum::Network
            };
            let r = c
                .create_load_balancer()
                .name(format!("lb{}", ids.seq))
                .r#type(t)
                .scheme(LoadBalancerSchemeEnum::Internal)
                .set_subnets(Some(masked(&ids.subnets, *mask)))
                .send()
                .await;
            if let Some(r) = coded!(r) {
                ids.lbs.extend(
                    r.load_balancers()
                        .iter()
                        .filter_map(|l| l.load_balancer_arn().map(str::to_string)),
                );
            }
        }
        Op::DeleteLb(i) => {
            if let Some(a) = pick(&ids.lbs, *i) {
                if coded!(c.delete_load_balancer().load_balancer_arn(&a).send().await).is_some() {
                    ids.lbs.retain(|x| *x != a);
                }
            }
        }
        Op::SetSubnets(i, mask) => {
            if let Some(a) = pick(&ids.lbs, *i) {
                coded!(
                    c.set_subnets()
                        .load_balancer_arn(&a)
                        .set_subnets(Some(masked(&ids.subnets, *mask)))
                        .send()
                        .await
                );
            }
        }
        Op::CreateTg(http, port) => {
            let p = if *http {
                ProtocolEnum::Http
            } else {
                ProtocolEnum::Tcp
            };
            let r = c
                .create_target_group()
                .name(format!("tg{}", ids.seq))
                .protocol(p)
                .port(8080 + i32::from(*port))
                .vpc_id(vpc)
                .send()
                .await;
            if let Some(r) = coded!(r) {
                ids.tgs.extend(
                    r.target_groups()
                        .iter()
                        .filter_map(|t| t.target_group_arn().map(str::to_string)),
                );
            }
        }
        Op::DeleteTg(i) => {
            if let Some(a) = pick(&ids.tgs, *i) {
                if coded!(c.delete_target_group().target_group_arn(&a).send().await).is_some() {
                    ids.tgs.retain(|x| *x != a);
                }
            }
        }
        Op::CreateListener(l, t, port) => {
            if let Some(lb) = pick(&ids.lbs, *l) {
                'groups: for k in 0..ids.tgs.len() {
                    let tg = ids.tgs[(t + k) % ids.tgs.len()].clone();
                    for protocol in [ProtocolEnum::Http, ProtocolEnum::Tcp] {
                        let r = c
                            .create_listener()
                            .load_balancer_arn(&lb)
                            .protocol(protocol)
                            .port(80 + i32::from(*port))
                            .default_actions(forward(&tg))
                            .send()
                            .await;
                        if let Some(r) = coded!(r) {
                            ids.listeners.extend(
                                r.listeners()
                                    .iter()
                                    .filter_map(|l| l.listener_arn().map(str::to_string)),
                            );
                            break 'groups;
                        }
                    }
                }
            }
        }
        Op::DeleteListener(i) => {
            if let Some(a) = pick(&ids.listeners, *i) {
                if coded!(c.delete_listener().listener_arn(&a).send().await).is_some() {
                    ids.listeners.retain(|x| *x != a);
                }
            }
        }
        Op::CreateRule(l, t, p) => {
            // Try the groups in turn from `t`: most pairings do not fit (NLB, protocol, owner).
            if let Some(l) = pick(&ids.listeners, *l) {
                for k in 0..ids.tgs.len() {
                    let tg = ids.tgs[(t + k) % ids.tgs.len()].clone();
                    let r = c
                        .create_rule()
                        .listener_arn(&l)
                        .priority(*p)
                        .conditions(
                            RuleCondition::builder()
                                .field("path-pattern")
                                .values("/p/*")
                                .build(),
                        )
                        .actions(forward(&tg))
                        .send()
                        .await;
                    if let Some(r) = coded!(r) {
                        ids.rules.extend(
                            r.rules()
                                .iter()
                                .filter_map(|r| r.rule_arn().map(str::to_string)),
                        );
                        break;
                    }
                }
            }
        }
        Op::DeleteRule(i) => {
            if let Some(a) = pick(&ids.rules, *i) {
                if coded!(c.delete_rule().rule_arn(&a).send().await).is_some() {
                    ids.rules.retain(|x| *x != a);
                }
            }
        }
        Op::Register(t, i) => {
            if let Some(tg) = pick(&ids.tgs, *t) {
                coded!(
                    c.register_targets()
                        .target_group_arn(&tg)
                        .targets(target(&ids.instances[*i], None))
                        .send()
                        .await
                );
            }
        }
        Op::Deregister(t, i) => {
            if let Some(tg) = pick(&ids.tgs, *t) {
                coded!(
                    c.deregister_targets()
                        .target_group_arn(&tg)
                        .targets(target(&ids.instances[*i], None))
                        .send()
                        .await
                );
            }
        }
        Op::Advance(s) => w.advance(*s),
    }
}

async fn check_invariants(w: &World) {
    let c = &w.elbv2;
    let lbs = c.describe_load_balancers().send().await.expect("lbs");
    let tgs = c.describe_target_groups().send().await.expect("tgs");
    let live_tgs: HashSet<String> = tgs
        .target_groups()
        .iter()
        .filter_map(|t| t.target_group_arn().map(str::to_string))
        .collect();
    let live_lbs: HashSet<String> = lbs
        .load_balancers()
        .iter()
        .filter_map(|l| l.load_balancer_arn().map(str::to_string))
        .collect();
    let mut zones = 0;
    for lb in lbs.load_balancers() {
        let azs: HashSet<&str> = lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name())
            .collect();
        assert_eq!(
            azs.len(),
            lb.availability_zones().len(),
            "one subnet per AZ"
        );
        if lb.r#type().map(|t| t.as_str()) == Some("application") {
            assert!(azs.len() >= 2, "ALB in one AZ: {lb:?}");
        }
        zones += azs.len();
        let arn = lb.load_balancer_arn().expect("arn");
        let ls = c
            .describe_listeners()
            .load_balancer_arn(arn)
            .send()
            .await
            .expect("listeners");
        for l in ls.listeners() {
            let rules = c
                .describe_rules()
                .listener_arn(l.listener_arn().expect("arn"))
                .send()
                .await
                .expect("rules");
            let actions = l
                .default_actions()
                .iter()
                .chain(rules.rules().iter().flat_map(|r| r.actions()));
            for a in actions {
                let mut targets: Vec<&str> = a.target_group_arn().into_iter().collect();
                if let Some(fc) = a.forward_config() {
                    targets.extend(
                        fc.target_groups()
                            .iter()
                            .filter_map(|t| t.target_group_arn()),
                    );
                }
                for t in targets {
                    assert!(
                        live_tgs.contains(t),
                        "action forwards to deleted target group {t}"
                    );
                }
            }
            assert_eq!(
                rules
                    .rules()
                    .iter()
                    .filter(|r| r.is_default() == Some(true))
                    .count(),
                1,
                "one default rule per listener"
            );
        }
    }
    for t in tgs.target_groups() {
        for l in t.load_balancer_arns() {
            assert!(
                live_lbs.contains(l),
                "target group names a deleted load balancer"
            );
        }
        c.describe_target_health()
            .target_group_arn(t.target_group_arn().expect("arn"))
            .send()
            .await
            .expect("health");
    }
    let enis = w
        .ec2
        .describe_network_interfaces()
        .send()
        .await
        .expect("enis");
    let lb_enis = enis
        .network_interfaces()
        .iter()
        .filter(|e| e.description().is_some_and(|d| d.starts_with("ELB ")))
        .count();
    assert_eq!(
        lb_enis, zones,
        "one ENI per load balancer subnet, none leaked"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn random_sequences_keep_the_invariants(ops in proptest::collection::vec(op(), 10..80), seed in 0u64..1000) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let w = World::with_seed("us-east-1", seed);
            let n = net(&w).await;
            let a2 = subnet(&w.ec2, &n.vpc, "10.0.4.0/24", "us-east-1a").await;
            let second = instance(&w.ec2, &n.b, "t3.micro").await;
            let mut ids = Ids {
                subnets: vec![n.a.clone(), n.b.clone(), n.c.clone(), a2],
                instances: vec![n.instance.clone(), second],
                lbs: vec![], tgs: vec![], listeners: vec![], rules: vec![], seq: 0,
            };
            for o in &ops {
                apply(&w, &n.vpc, &mut ids, o).await;
                check_invariants(&w).await;
            }
            if std::env::var_os("ELBV2_PROP_STATS").is_some() {
                eprintln!("lbs {} tgs {} listeners {} rules {}", ids.lbs.len(), ids.tgs.len(), ids.listeners.len(), ids.rules.len());
            }
        });
    }
}

/// Random values of random members for every operation, on a world that has real resources to
/// name: never a 5xx, never a panic.
mod fuzz {
    use super::*;
    use serde_json::{json, Value};

    const OPS: [&str; 34] = [
        "CreateLoadBalancer",
        "DescribeLoadBalancers",
        "DeleteLoadBalancer",
        "SetSubnets",
        "SetSecurityGroups",
        "SetIpAddressType",
        "DescribeLoadBalancerAttributes",
        "ModifyLoadBalancerAttributes",
        "CreateTargetGroup",
        "DescribeTargetGroups",
        "ModifyTargetGroup",
        "DeleteTargetGroup",
        "DescribeTargetGroupAttributes",
        "ModifyTargetGroupAttributes",
        "RegisterTargets",
        "DeregisterTargets",
        "DescribeTargetHealth",
        "CreateListener",
        "DescribeListeners",
        "ModifyListener",
        "DeleteListener",
        "DescribeListenerCertificates",
        "AddListenerCertificates",
        "RemoveListenerCertificates",
        "DescribeListenerAttributes",
        "ModifyListenerAttributes",
        "CreateRule",
        "DescribeRules",
        "ModifyRule",
        "DeleteRule",
        "SetRulePriorities",
        "AddTags",
        "RemoveTags",
        "DescribeTags",
    ];

    const KEYS: [&str; 24] = [
        "Name",
        "Subnets",
        "SubnetMappings",
        "SecurityGroups",
        "Scheme",
        "Type",
        "LoadBalancerArn",
        "LoadBalancerArns",
        "Names",
        "Marker",
        "PageSize",
        "Protocol",
        "Port",
        "VpcId",
        "TargetGroupArn",
        "Targets",
        "ListenerArn",
        "DefaultActions",
        "RuleArn",
        "Conditions",
        "Actions",
        "Priority",
        "ResourceArns",
        "Attributes",
    ];

    fn value(pool: &[String], kind: u8, a: usize, n: i64) -> Value {
        let s = || Value::from(pool[a % pool.len()].clone());
        match kind % 8 {
            0 => s(),
            1 => Value::from(n),
            2 => json!([s(), s()]),
            3 => json!([{"Type": "forward", "TargetGroupArn": s(), "Id": s(), "Port": n}]),
            4 => json!([{"Field": "path-pattern", "Values": [s()], "Key": s(), "Value": s()}]),
            5 => json!([{"SubnetId": s(), "PrivateIPv4Address": "10.0.1.77"}]),
            6 => Value::from(n % 2 == 0),
            _ => json!({"HttpCode": s()}),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
        #[test]
        fn random_input_is_always_a_coded_4xx(
            calls in proptest::collection::vec(
                (0..34usize, proptest::collection::vec((0..24usize, any::<u8>(), any::<usize>(), any::<i64>()), 0..6)),
                1..25,
            )
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let w = World::new("us-east-1");
                let n = net(&w).await;
                let lb = alb(&w, &n, "fz").await;
                let t = tg(&w, &n.vpc, "fz", ProtocolEnum::Http, 80).await;
                let l = listener(&w, &lb, ProtocolEnum::Http, 80, &t).await;
                let pool: Vec<String> = vec![
                    lb.clone(), t.clone(), l.clone(), n.a.clone(), n.b.clone(), n.vpc.clone(),
                    n.instance.clone(), "".into(), "x".into(), "HTTP".into(), "TCP".into(),
                    "network".into(), "internal".into(), "idle_timeout.timeout_seconds".into(),
                    "-1".into(), "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/a/b".into(),
                    "10.0.1.50".into(), "*".into(), "200-299".into(),
                ];
                for (op, members) in calls {
                    let mut input = serde_json::Map::new();
                    for (k, kind, a, v) in members {
                        input.insert(KEYS[k].to_string(), value(&pool, kind, a, v));
                    }
                    if let Err(e) = w.aws.call(&format!("elbv2:{}", OPS[op]), &Value::Object(input.clone())) {
                        assert!(e.status() < 500, "{} {:?}: {e}", OPS[op], input);
                    }
                }
            });
        }
    }
}
