//! ELBv2 through the real aws-sdk-elasticloadbalancingv2 client, in process: every rule asserts
//! AWS's exact error code. One module per resource family, shared builders here.

mod listeners;
mod load_balancers;
mod more;
mod properties;
mod target_groups;

use crate::support::*;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, ProtocolEnum,
    TargetDescription,
};

/// docs/elbv2.md lists every implemented operation.
#[test]
fn docs_list_every_implemented_operation() {
    let doc = include_str!("../../../../../docs/elbv2.md");
    for op in cloudbox_aws::elbv2::implemented_operations() {
        assert!(doc.contains(op), "docs/elbv2.md does not mention {op}");
    }
    assert_eq!(cloudbox_aws::elbv2::implemented_operations().len(), 35);
}

/// A VPC 10.0.0.0/16 with an internet gateway, subnets in three AZs and a running instance.
#[allow(dead_code)]
pub struct Net {
    pub vpc: String,
    pub a: String,
    pub b: String,
    pub c: String,
    pub instance: String,
}

pub async fn net(w: &World) -> Net {
    let az = |l: &str| format!("{}{l}", w.aws.region());
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    let igw = w
        .ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("igw")
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id())
        .expect("igw id")
        .to_string();
    w.ec2
        .attach_internet_gateway()
        .internet_gateway_id(igw)
        .vpc_id(&v)
        .send()
        .await
        .expect("attach igw");
    let a = subnet(&w.ec2, &v, "10.0.1.0/24", &az("a")).await;
    let b = subnet(&w.ec2, &v, "10.0.2.0/24", &az("b")).await;
    let c = subnet(&w.ec2, &v, "10.0.3.0/24", &az("c")).await;
    let i = instance(&w.ec2, &a, "c5.large").await;
    w.advance(60);
    Net {
        vpc: v,
        a,
        b,
        c,
        instance: i,
    }
}

/// Creates a load balancer and answers its ARN.
pub async fn lb(
    w: &World,
    name: &str,
    t: LoadBalancerTypeEnum,
    scheme: LoadBalancerSchemeEnum,
    subnets: &[&str],
) -> String {
    let mut req = w
        .elbv2
        .create_load_balancer()
        .name(name)
        .r#type(t)
        .scheme(scheme);
    for s in subnets {
        req = req.subnets(*s);
    }
    req.send()
        .await
        .expect("CreateLoadBalancer")
        .load_balancers()[0]
        .load_balancer_arn()
        .expect("arn")
        .to_string()
}

/// An internet-facing ALB in subnets a and b.
pub async fn alb(w: &World, n: &Net, name: &str) -> String {
    lb(
        w,
        name,
        LoadBalancerTypeEnum::Application,
        LoadBalancerSchemeEnum::InternetFacing,
        &[&n.a, &n.b],
    )
    .await
}

/// A target group of instances; answers its ARN.
pub async fn tg(w: &World, vpc: &str, name: &str, protocol: ProtocolEnum, port: i32) -> String {
    w.elbv2
        .create_target_group()
        .name(name)
        .protocol(protocol)
        .port(port)
        .vpc_id(vpc)
        .send()
        .await
        .expect("CreateTargetGroup")
        .target_groups()[0]
        .target_group_arn()
        .expect("arn")
        .to_string()
}

/// A forward action to one target group.
pub fn forward(tg: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(tg)
        .build()
}

/// A listener forwarding to a target group; answers its ARN.
pub async fn listener(w: &World, lb: &str, protocol: ProtocolEnum, port: i32, tg: &str) -> String {
    w.elbv2
        .create_listener()
        .load_balancer_arn(lb)
        .protocol(protocol)
        .port(port)
        .default_actions(forward(tg))
        .send()
        .await
        .expect("CreateListener")
        .listeners()[0]
        .listener_arn()
        .expect("arn")
        .to_string()
}

/// A target description.
pub fn target(id: &str, port: Option<i32>) -> TargetDescription {
    TargetDescription::builder().id(id).set_port(port).build()
}
