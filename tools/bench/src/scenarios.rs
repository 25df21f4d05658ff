//! The five scenarios of issue 2 §6, each as a setup (run once per measured cell on a fresh
//! server, through the same client as the load) and the [`Work`] the load repeats.
//!
//! | scenario | setup | unit of work |
//! |---|---|---|
//! | DescribeInstances | VPC + /16 subnet, `RunInstances` MinCount=MaxCount=100 | one `DescribeInstances` listing all 100 |
//! | DescribeInstancesUncached | the same | the same listing, each call with a different `MaxResults` (100…1000, all 100 instances fit), so a server cannot answer from a cache of rendered outputs |
//! | DescribeAvailabilityZones | none | one call |
//! | DescribeInstanceTypes | none | every page, following `NextToken` to the end |
//! | RunInstances | VPC + /16 subnet | one call launching 1 instance (+ its ENI and root volume) |
//! | AssignPrivateIpAddresses | VPC + /16 subnet, 256 unattached ENIs | one call adding 1 IP to the next ENI |
//! | CreateLoadBalancer | VPC + two /17 subnets in two AZs | one ELBv2 `CreateLoadBalancer` of an internal ALB over both subnets (an internet-facing one would need an internet gateway), a new name each call, then its `DeleteLoadBalancer` (cloudbox enforces AWS's quota of 50 live load balancers); rates count both requests |
//! | DescribeTargetHealth | VPC + subnet, 20 running instances registered in one target group | one `DescribeTargetHealth` of that group (always computed anew: health depends on the time) |
//! | DescribeAutoScalingGroups | a launch configuration and 50 groups (desired 0) over two subnets | one `DescribeAutoScalingGroups` listing all 50 |
//! | DescribeAutoScalingGroupsUncached | the same | the same listing with `MaxRecords` cycling 50…100, so no rendered answer is reused |

use crate::load::{self, HttpClient, Work};
use anyhow::{bail, Context};
use bytes::Bytes;
use http::Uri;

/// The API version every request names.
const VERSION: &str = "2016-11-15";
/// An AMI id of the right shape (neither target checks that it exists).
const IMAGE: &str = "ami-0123456789abcdef0";
/// ENIs the AssignPrivateIpAddresses scenario spreads its calls over.
const ENIS: usize = 256;
/// Units a mutating scenario may run per cell: each takes one address of the /16 subnet
/// (65,531 usable, minus the ENIs' primary addresses and the warm-up).
pub const MUTATING_MAX_UNITS: u64 = 60_000;

/// A benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// DescribeInstances over 100 instances.
    DescribeInstances,
    /// DescribeInstances over 100 instances, a different request each time (no cache hits).
    DescribeInstancesUncached,
    /// DescribeAvailabilityZones (a small call).
    DescribeAvailabilityZones,
    /// DescribeInstanceTypes, every page.
    DescribeInstanceTypes,
    /// RunInstances, one instance per call.
    RunInstances,
    /// AssignPrivateIpAddresses, one address per call on fresh unattached ENIs.
    AssignPrivateIpAddresses,
    /// ELBv2 CreateLoadBalancer (an ALB over two AZs), a new name per call.
    CreateLoadBalancer,
    /// ELBv2 DescribeTargetHealth of a target group with 20 instances.
    DescribeTargetHealth,
    /// Auto Scaling DescribeAutoScalingGroups over 50 groups.
    DescribeAutoScalingGroups,
    /// The same, a different request each time (no cache hits).
    DescribeAutoScalingGroupsUncached,
}

/// A scenario ready to run against one server.
pub struct Prepared {
    /// What each unit does.
    pub work: Work,
    /// What the setup verified (for the report).
    pub note: String,
}

impl Scenario {
    /// Every scenario, in run order.
    pub const ALL: [Scenario; 10] = [
        Scenario::DescribeInstances,
        Scenario::DescribeInstancesUncached,
        Scenario::DescribeAvailabilityZones,
        Scenario::DescribeInstanceTypes,
        Scenario::RunInstances,
        Scenario::AssignPrivateIpAddresses,
        Scenario::CreateLoadBalancer,
        Scenario::DescribeTargetHealth,
        Scenario::DescribeAutoScalingGroups,
        Scenario::DescribeAutoScalingGroupsUncached,
    ];

    /// The operation name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::DescribeInstances => "DescribeInstances",
            Scenario::DescribeInstancesUncached => "DescribeInstancesUncached",
            Scenario::DescribeAvailabilityZones => "DescribeAvailabilityZones",
            Scenario::DescribeInstanceTypes => "DescribeInstanceTypes",
            Scenario::RunInstances => "RunInstances",
            Scenario::AssignPrivateIpAddresses => "AssignPrivateIpAddresses",
            Scenario::CreateLoadBalancer => "CreateLoadBalancer",
            Scenario::DescribeTargetHealth => "DescribeTargetHealth",
            Scenario::DescribeAutoScalingGroups => "DescribeAutoScalingGroups",
            Scenario::DescribeAutoScalingGroupsUncached => "DescribeAutoScalingGroupsUncached",
        }
    }

    /// A heading for the report.
    pub fn title(self) -> &'static str {
        match self {
            Scenario::DescribeInstances => "DescribeInstances over 100 instances",
            Scenario::DescribeInstancesUncached => {
                "DescribeInstances over 100 instances, uncached (MaxResults varies 100…1000 per call)"
            }
            Scenario::DescribeAvailabilityZones => "DescribeAvailabilityZones",
            Scenario::DescribeInstanceTypes => {
                "DescribeInstanceTypes, all types (one unit = every page, following NextToken)"
            }
            Scenario::RunInstances => "RunInstances, 1 instance per call, /16 subnet",
            Scenario::AssignPrivateIpAddresses => {
                "AssignPrivateIpAddresses, SecondaryPrivateIpAddressCount=1, 256 unattached ENIs, /16 subnet"
            }
            Scenario::CreateLoadBalancer => {
                "ELBv2 CreateLoadBalancer + DeleteLoadBalancer, an internal ALB over two AZs, a new name per unit (HTTP req/s counts both calls)"
            }
            Scenario::DescribeTargetHealth => {
                "ELBv2 DescribeTargetHealth, one target group with 20 instance targets"
            }
            Scenario::DescribeAutoScalingGroups => "DescribeAutoScalingGroups over 50 groups",
            Scenario::DescribeAutoScalingGroupsUncached => {
                "DescribeAutoScalingGroups over 50 groups, uncached (MaxRecords varies 50…100 per call)"
            }
        }
    }

    /// Parses a scenario name (case-insensitive).
    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name().eq_ignore_ascii_case(s))
    }

    /// Whether moto is measured: not for the uncached variant, since moto keeps no cache and
    /// its figure is the one of [`Scenario::DescribeInstances`].
    pub fn measures_moto(self) -> bool {
        !matches!(
            self,
            Scenario::DescribeInstancesUncached | Scenario::DescribeAutoScalingGroupsUncached
        )
    }

    /// The scenario whose moto figures stand for this one (moto keeps no cache, so its cached
    /// and uncached figures are the same).
    pub fn moto_twin(self) -> Scenario {
        match self {
            Scenario::DescribeInstancesUncached => Scenario::DescribeInstances,
            Scenario::DescribeAutoScalingGroupsUncached => Scenario::DescribeAutoScalingGroups,
            other => other,
        }
    }

    /// Whether each unit creates resources (and so is bounded by the subnet's size).
    pub fn mutating(self) -> bool {
        matches!(
            self,
            Scenario::RunInstances
                | Scenario::AssignPrivateIpAddresses
                | Scenario::CreateLoadBalancer
        )
    }

    /// Sets the scenario up on a server. `cell` makes CIDRs distinct when state persists
    /// across cells (an external URL target).
    pub async fn prepare(
        self,
        client: &HttpClient,
        uri: &Uri,
        cell: u32,
    ) -> anyhow::Result<Prepared> {
        let cidr = format!("10.{}.0.0/16", cell % 256);
        match self {
            Scenario::DescribeAvailabilityZones => {
                let body = format!("Action=DescribeAvailabilityZones&Version={VERSION}");
                let text = load::call(client, uri, body.clone()).await?;
                let zones = load::count_elements(&text, "zoneName");
                Ok(Prepared {
                    work: Work::Single {
                        bodies: vec![Bytes::from(body)],
                        expect: Some("<availabilityZoneInfo>"),
                    },
                    note: format!("{zones} zones"),
                })
            }
            Scenario::DescribeInstanceTypes => {
                let body = format!("Action=DescribeInstanceTypes&Version={VERSION}");
                let (types, pages) = list_types(client, uri, &body).await?;
                Ok(Prepared {
                    work: Work::Paged {
                        body,
                        expect: "<instanceTypeSet>",
                    },
                    note: format!("{types} types in {pages} pages"),
                })
            }
            Scenario::DescribeInstances | Scenario::DescribeInstancesUncached => {
                let subnet = vpc_and_subnet(client, uri, &cidr).await?;
                load::call(
                    client,
                    uri,
                    format!("Action=RunInstances&Version={VERSION}&ImageId={IMAGE}&InstanceType=t3.micro&MinCount=100&MaxCount=100&SubnetId={subnet}"),
                )
                .await?;
                let body = format!("Action=DescribeInstances&Version={VERSION}");
                let text = load::call(client, uri, body.clone()).await?;
                let n = load::count_elements(&text, "instanceState");
                if n < 100 {
                    bail!("DescribeInstances lists {n} instances after launching 100");
                }
                let bodies = if self == Scenario::DescribeInstancesUncached {
                    (100..=1000)
                        .map(|m| Bytes::from(format!("{body}&MaxResults={m}")))
                        .collect()
                } else {
                    vec![Bytes::from(body)]
                };
                Ok(Prepared {
                    work: Work::Single {
                        bodies,
                        expect: Some("<reservationSet>"),
                    },
                    note: format!("{n} instances, {} KiB per answer", text.len() / 1024),
                })
            }
            Scenario::RunInstances => {
                let subnet = vpc_and_subnet(client, uri, &cidr).await?;
                let body = format!("Action=RunInstances&Version={VERSION}&ImageId={IMAGE}&InstanceType=t3.micro&MinCount=1&MaxCount=1&SubnetId={subnet}");
                Ok(Prepared {
                    work: Work::Single {
                        bodies: vec![Bytes::from(body)],
                        expect: Some("<instancesSet>"),
                    },
                    note: format!("subnet {cidr}"),
                })
            }
            Scenario::AssignPrivateIpAddresses => {
                let subnet = vpc_and_subnet(client, uri, &cidr).await?;
                let enis = create_enis(uri, &subnet, ENIS).await?;
                let bodies = enis
                    .iter()
                    .map(|e| {
                        Bytes::from(format!("Action=AssignPrivateIpAddresses&Version={VERSION}&NetworkInterfaceId={e}&SecondaryPrivateIpAddressCount=1"))
                    })
                    .collect();
                Ok(Prepared {
                    work: Work::Single {
                        bodies,
                        expect: Some("<assignedPrivateIpAddressesSet>"),
                    },
                    note: format!("{} ENIs in subnet {cidr}", enis.len()),
                })
            }
            Scenario::CreateLoadBalancer => {
                let (a, b) = two_subnets(client, uri, cell).await?;
                let bodies = (0..MUTATING_MAX_UNITS + 2_000)
                    .map(|i| {
                        Bytes::from(format!("Action=CreateLoadBalancer&Version=2015-12-01&Name=lb-{cell}-{i}&Type=application&Scheme=internal&Subnets.member.1={a}&Subnets.member.2={b}"))
                    })
                    .collect();
                Ok(Prepared {
                    work: Work::CreateThenDelete {
                        bodies,
                        id_tag: "LoadBalancerArn",
                        delete: "Action=DeleteLoadBalancer&Version=2015-12-01&LoadBalancerArn="
                            .to_string(),
                    },
                    note: "internal ALB over 2 AZs, deleted again (AWS's quota: 50 live)"
                        .to_string(),
                })
            }
            Scenario::DescribeTargetHealth => {
                let subnet = vpc_and_subnet(client, uri, &cidr).await?;
                let vpc = vpc_of(client, uri, &subnet).await?;
                let text = load::call(
                    client,
                    uri,
                    format!("Action=RunInstances&Version={VERSION}&ImageId={IMAGE}&InstanceType=t3.micro&MinCount=20&MaxCount=20&SubnetId={subnet}"),
                )
                .await?;
                let ids: Vec<&str> = elements(&text, "instanceId");
                // ELBv2 registers only running instances: let them boot (cloudbox's admin API
                // moves its clock; moto's instances run at once and it has no such route).
                advance_clock(client, uri, "60s").await;
                let text = load::call(
                    client,
                    uri,
                    format!("Action=CreateTargetGroup&Version=2015-12-01&Name=tg-{cell}&Protocol=HTTP&Port=80&VpcId={vpc}&TargetType=instance"),
                )
                .await?;
                let tg = load::first_element(&text, "TargetGroupArn")
                    .context("CreateTargetGroup answer without TargetGroupArn")?
                    .to_string();
                let targets: String = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| format!("&Targets.member.{}.Id={id}", i + 1))
                    .collect();
                load::call(
                    client,
                    uri,
                    format!(
                        "Action=RegisterTargets&Version=2015-12-01&TargetGroupArn={tg}{targets}"
                    ),
                )
                .await?;
                let body =
                    format!("Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn={tg}");
                let text = load::call(client, uri, body.clone()).await?;
                let n = load::count_elements(&text, "TargetHealth");
                Ok(Prepared {
                    work: Work::Single {
                        bodies: vec![Bytes::from(body)],
                        expect: Some("<TargetHealthDescriptions>"),
                    },
                    note: format!("{n} targets"),
                })
            }
            Scenario::DescribeAutoScalingGroups | Scenario::DescribeAutoScalingGroupsUncached => {
                let (a, b) = two_subnets(client, uri, cell).await?;
                load::call(
                    client,
                    uri,
                    format!("Action=CreateLaunchConfiguration&Version=2011-01-01&LaunchConfigurationName=lc-{cell}&ImageId={IMAGE}&InstanceType=t3.micro"),
                )
                .await?;
                for g in 0..GROUPS {
                    load::call(
                        client,
                        uri,
                        format!("Action=CreateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=asg-{cell}-{g:02}&LaunchConfigurationName=lc-{cell}&MinSize=0&MaxSize=10&DesiredCapacity=0&VPCZoneIdentifier={a}%2C{b}&Tags.member.1.Key=k8s.io%2Fcluster-autoscaler%2Fenabled&Tags.member.1.Value=true&Tags.member.1.PropagateAtLaunch=true"),
                    )
                    .await?;
                }
                let body = "Action=DescribeAutoScalingGroups&Version=2011-01-01".to_string();
                let text = load::call(client, uri, format!("{body}&MaxRecords=100")).await?;
                let n = load::count_elements(&text, "AutoScalingGroupName");
                if n < GROUPS {
                    bail!("DescribeAutoScalingGroups lists {n} groups after creating {GROUPS}");
                }
                let bodies = if self == Scenario::DescribeAutoScalingGroupsUncached {
                    (50..=100)
                        .map(|m| Bytes::from(format!("{body}&MaxRecords={m}")))
                        .collect()
                } else {
                    vec![Bytes::from(format!("{body}&MaxRecords=100"))]
                };
                Ok(Prepared {
                    work: Work::Single {
                        bodies,
                        expect: Some("<AutoScalingGroups>"),
                    },
                    note: format!("{n} groups, {} KiB per answer", text.len() / 1024),
                })
            }
        }
    }
}

/// Auto Scaling groups the DescribeAutoScalingGroups scenarios list.
const GROUPS: usize = 50;

/// Every `<tag>…</tag>` text in `xml`.
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(&after[..end]);
        rest = &after[end..];
    }
    out
}

/// Moves cloudbox's simulation clock; a target without the admin API (moto) ignores it.
async fn advance_clock(client: &HttpClient, uri: &Uri, by: &str) {
    let Ok(target) = format!("{}_cloudbox/clock/advance?by={by}", uri).parse::<Uri>() else {
        return;
    };
    if let Ok(req) = http::Request::post(target).body(http_body_util::Full::new(Bytes::new())) {
        let _ = client.request(req).await;
    }
}

/// The VPC of a subnet.
async fn vpc_of(client: &HttpClient, uri: &Uri, subnet: &str) -> anyhow::Result<String> {
    let text = load::call(
        client,
        uri,
        format!("Action=DescribeSubnets&Version={VERSION}&SubnetId.1={subnet}"),
    )
    .await?;
    Ok(load::first_element(&text, "vpcId")
        .context("DescribeSubnets answer without vpcId")?
        .to_string())
}

/// A VPC 10.<cell>.0.0/16 with two /17 subnets in us-east-1a and us-east-1b.
async fn two_subnets(
    client: &HttpClient,
    uri: &Uri,
    cell: u32,
) -> anyhow::Result<(String, String)> {
    let c = cell % 256;
    let text = load::call(
        client,
        uri,
        format!("Action=CreateVpc&Version={VERSION}&CidrBlock=10.{c}.0.0/16"),
    )
    .await?;
    let vpc = load::first_element(&text, "vpcId").context("CreateVpc answer without vpcId")?;
    let mut ids = Vec::new();
    for (cidr, az) in [("0.0/17", "us-east-1a"), ("128.0/17", "us-east-1b")] {
        let text = load::call(
            client,
            uri,
            format!("Action=CreateSubnet&Version={VERSION}&VpcId={vpc}&CidrBlock=10.{c}.{cidr}&AvailabilityZone={az}"),
        )
        .await?;
        ids.push(
            load::first_element(&text, "subnetId")
                .context("CreateSubnet answer without subnetId")?
                .to_string(),
        );
    }
    Ok((ids[0].clone(), ids[1].clone()))
}

/// Lists every instance type once; returns (types, pages).
async fn list_types(client: &HttpClient, uri: &Uri, body: &str) -> anyhow::Result<(usize, usize)> {
    let (mut types, mut pages) = (0, 0);
    let mut next: Option<String> = None;
    loop {
        let req = match &next {
            None => body.to_string(),
            Some(t) => format!(
                "{body}&NextToken={}",
                form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
            ),
        };
        let text = load::call(client, uri, req).await?;
        // Each InstanceTypeInfo item opens with its <instanceType> name.
        types += text.matches("<item><instanceType>").count();
        pages += 1;
        next = load::next_token(text.as_bytes());
        if next.is_none() || pages > 200 {
            return Ok((types, pages));
        }
    }
}

/// Creates a VPC and one subnet covering all of it (in us-east-1a); returns the subnet id.
async fn vpc_and_subnet(client: &HttpClient, uri: &Uri, cidr: &str) -> anyhow::Result<String> {
    let text = load::call(
        client,
        uri,
        format!("Action=CreateVpc&Version={VERSION}&CidrBlock={cidr}"),
    )
    .await?;
    let vpc = load::first_element(&text, "vpcId").context("CreateVpc answer without vpcId")?;
    let text = load::call(
        client,
        uri,
        format!("Action=CreateSubnet&Version={VERSION}&VpcId={vpc}&CidrBlock={cidr}&AvailabilityZone=us-east-1a"),
    )
    .await?;
    Ok(load::first_element(&text, "subnetId")
        .context("CreateSubnet answer without subnetId")?
        .to_string())
}

/// Creates `n` unattached ENIs in `subnet` over 16 connections.
async fn create_enis(uri: &Uri, subnet: &str, n: usize) -> anyhow::Result<Vec<String>> {
    const WORKERS: usize = 16;
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (uri, subnet) = (uri.clone(), subnet.to_string());
        let count = n / WORKERS + usize::from(w < n % WORKERS);
        tasks.push(tokio::spawn(async move {
            let client = load::client();
            let mut ids = Vec::with_capacity(count);
            for _ in 0..count {
                let text = load::call(
                    &client,
                    &uri,
                    format!("Action=CreateNetworkInterface&Version={VERSION}&SubnetId={subnet}"),
                )
                .await?;
                let id = load::first_element(&text, "networkInterfaceId")
                    .context("CreateNetworkInterface answer without networkInterfaceId")?;
                ids.push(id.to_string());
            }
            anyhow::Ok(ids)
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.extend(t.await.context("an ENI setup task panicked")??);
    }
    Ok(out)
}
