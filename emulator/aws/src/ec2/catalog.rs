//! Static catalogues: regions with their availability zones and zone ids, partitions, and the
//! 1,108 instance types of `fixtures/instance-types.tsv` (ENI and IPv4 limits from
//! amazon-vpc-cni-k8s v1.23.1 `vpc_ip_resource_limit.go`; vCPU, memory, GPU and architecture
//! from cluster-autoscaler's `ec2_instance_types.go`).
//!
//! Zone-name ↔ zone-id pairs are fixed here; in real AWS the letter mapping differs per account.

use std::collections::HashMap;
use std::sync::OnceLock;

/// One availability zone.
#[derive(Debug)]
pub struct Az {
    /// `cn-northwest-1a`.
    pub name: String,
    /// `cnnw1-az1`.
    pub id: String,
    /// The region's name.
    pub region: &'static str,
}

/// One region.
#[derive(Debug)]
pub struct Region {
    /// `us-east-1`.
    pub name: &'static str,
    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: &'static str,
    /// Its zones.
    pub azs: Vec<Az>,
}

impl Region {
    /// DNS suffix of the partition: `amazonaws.com` or `amazonaws.com.cn`.
    pub fn dns_suffix(&self) -> &'static str {
        if self.partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }
    /// The EC2 endpoint host.
    pub fn ec2_endpoint(&self) -> String {
        format!("ec2.{}.{}", self.name, self.dns_suffix())
    }
    /// Private DNS name of an address: `ip-10-0-0-5.ec2.internal` in us-east-1,
    /// `ip-10-0-0-5.<region>.compute.internal` elsewhere.
    pub fn private_dns(&self, ip: &str) -> String {
        let mut out = String::with_capacity(48);
        out.push_str("ip-");
        out.extend(ip.chars().map(|c| if c == '.' { '-' } else { c }));
        if self.name == "us-east-1" {
            out.push_str(".ec2.internal");
        } else {
            out.push('.');
            out.push_str(self.name);
            out.push_str(".compute.internal");
        }
        out
    }
    /// Public DNS name of a public address.
    pub fn public_dns(&self, ip: &str) -> String {
        let host = format!("ec2-{}", ip.replace('.', "-"));
        if self.name == "us-east-1" {
            format!("{host}.compute-1.amazonaws.com")
        } else {
            format!("{host}.{}.compute.{}", self.name, self.dns_suffix())
        }
    }
    /// An AZ of this region by name.
    pub fn az(&self, name: &str) -> Option<&Az> {
        self.azs.iter().find(|a| a.name == name)
    }
    /// An AZ of this region by zone id.
    pub fn az_by_id(&self, id: &str) -> Option<&Az> {
        self.azs.iter().find(|a| a.id == id)
    }
}

/// One row of the region table: (region, partition, zone-id prefix, [(zone letter, zone-id number)]).
type RegionRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(char, u8)],
);

const REGIONS: &[RegionRow] = &[
    (
        "us-east-1",
        "aws",
        "use1",
        &[('a', 1), ('b', 2), ('c', 4), ('d', 6), ('e', 3), ('f', 5)],
    ),
    ("us-east-2", "aws", "use2", &[('a', 1), ('b', 2), ('c', 3)]),
    ("us-west-1", "aws", "usw1", &[('a', 1), ('c', 3)]),
    (
        "us-west-2",
        "aws",
        "usw2",
        &[('a', 2), ('b', 1), ('c', 3), ('d', 4)],
    ),
    (
        "ca-central-1",
        "aws",
        "cac1",
        &[('a', 1), ('b', 2), ('d', 4)],
    ),
    ("sa-east-1", "aws", "sae1", &[('a', 1), ('b', 2), ('c', 3)]),
    ("eu-west-1", "aws", "euw1", &[('a', 1), ('b', 2), ('c', 3)]),
    ("eu-west-2", "aws", "euw2", &[('a', 2), ('b', 3), ('c', 1)]),
    ("eu-west-3", "aws", "euw3", &[('a', 1), ('b', 2), ('c', 3)]),
    (
        "eu-central-1",
        "aws",
        "euc1",
        &[('a', 2), ('b', 3), ('c', 1)],
    ),
    ("eu-north-1", "aws", "eun1", &[('a', 1), ('b', 2), ('c', 3)]),
    ("ap-south-1", "aws", "aps1", &[('a', 1), ('b', 3), ('c', 2)]),
    (
        "ap-northeast-1",
        "aws",
        "apne1",
        &[('a', 4), ('c', 1), ('d', 2)],
    ),
    (
        "ap-northeast-2",
        "aws",
        "apne2",
        &[('a', 1), ('b', 2), ('c', 3), ('d', 4)],
    ),
    (
        "ap-southeast-1",
        "aws",
        "apse1",
        &[('a', 1), ('b', 2), ('c', 3)],
    ),
    (
        "ap-southeast-2",
        "aws",
        "apse2",
        &[('a', 1), ('b', 3), ('c', 2)],
    ),
    (
        "cn-north-1",
        "aws-cn",
        "cnn1",
        &[('a', 1), ('b', 2), ('d', 4)],
    ),
    (
        "cn-northwest-1",
        "aws-cn",
        "cnnw1",
        &[('a', 1), ('b', 2), ('c', 3)],
    ),
    (
        "us-gov-west-1",
        "aws-us-gov",
        "usgw1",
        &[('a', 1), ('b', 2), ('c', 3)],
    ),
    (
        "us-gov-east-1",
        "aws-us-gov",
        "usge1",
        &[('a', 1), ('b', 2), ('c', 3)],
    ),
];

/// All regions served.
pub fn regions() -> &'static [Region] {
    static R: OnceLock<Vec<Region>> = OnceLock::new();
    R.get_or_init(|| {
        REGIONS
            .iter()
            .map(|(name, partition, prefix, zones)| Region {
                name,
                partition,
                azs: zones
                    .iter()
                    .map(|(letter, n)| Az {
                        name: format!("{name}{letter}"),
                        id: format!("{prefix}-az{n}"),
                        region: name,
                    })
                    .collect(),
            })
            .collect()
    })
}

/// A region by name.
pub fn region(name: &str) -> Option<&'static Region> {
    regions().iter().find(|r| r.name == name)
}

/// One EC2 instance type.
#[derive(Debug)]
pub struct InstanceType {
    /// `c5.large`.
    pub name: String,
    /// Default vCPUs.
    pub vcpu: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// GPUs.
    pub gpu: u32,
    /// `x86_64` or `arm64`.
    pub arch: String,
    /// `NetworkInfo.MaximumNetworkInterfaces` (default card).
    pub max_enis: u32,
    /// `NetworkInfo.Ipv4AddressesPerInterface` (the primary address counts).
    pub ipv4_per_eni: u32,
    /// Network cards.
    pub network_cards: u32,
    /// `nitro` or `xen`.
    pub hypervisor: String,
    /// Bare metal.
    pub bare_metal: bool,
}

/// The instance-type catalogue, in the fixture's (alphabetical) order.
pub struct InstanceTypes {
    /// All types.
    pub all: Vec<InstanceType>,
    by_name: HashMap<String, usize>,
}

impl InstanceTypes {
    /// A type by name.
    pub fn get(&self, name: &str) -> Option<&InstanceType> {
        self.by_name.get(name).map(|i| &self.all[*i])
    }
}

/// The catalogue, parsed once from the embedded fixture.
pub fn instance_types() -> &'static InstanceTypes {
    static T: OnceLock<InstanceTypes> = OnceLock::new();
    T.get_or_init(|| {
        let tsv = include_str!("../../../../fixtures/instance-types.tsv");
        let mut all = Vec::new();
        for line in tsv.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 10 {
                continue;
            }
            let n = |i: usize| f[i].trim().parse::<u64>().unwrap_or(0);
            all.push(InstanceType {
                name: f[0].to_string(),
                vcpu: n(1) as u32,
                memory_mib: n(2),
                gpu: n(3) as u32,
                // The fixture spells x86-64 as Go does (`amd64`); EC2 says `x86_64`.
                arch: if f[4] == "amd64" {
                    "x86_64".to_string()
                } else {
                    f[4].to_string()
                },
                max_enis: n(5) as u32,
                ipv4_per_eni: n(6) as u32,
                network_cards: n(7) as u32,
                hypervisor: f[8].to_string(),
                bare_metal: f[9].trim() == "true",
            });
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let by_name = all
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        InstanceTypes { all, by_name }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_matches_fixture_spot_checks() {
        let t = instance_types();
        assert_eq!(t.all.len(), 1108);
        let c5 = t.get("c5.large").expect("c5.large");
        assert_eq!(
            (c5.vcpu, c5.memory_mib, c5.max_enis, c5.ipv4_per_eni),
            (2, 4096, 3, 10)
        );
        let x = t.get("c5.xlarge").expect("c5.xlarge");
        assert_eq!((x.max_enis, x.ipv4_per_eni), (4, 15));
        assert_eq!(
            t.get("t3.medium").map(|t| (t.max_enis, t.ipv4_per_eni)),
            Some((3, 6))
        );
    }

    #[test]
    fn partitions_and_dns() {
        let cn = region("cn-northwest-1").expect("region");
        assert_eq!(cn.partition, "aws-cn");
        assert_eq!(
            cn.private_dns("192.168.193.172"),
            "ip-192-168-193-172.cn-northwest-1.compute.internal"
        );
        assert_eq!(cn.ec2_endpoint(), "ec2.cn-northwest-1.amazonaws.com.cn");
        let use1 = region("us-east-1").expect("region");
        assert_eq!(use1.private_dns("10.0.0.5"), "ip-10-0-0-5.ec2.internal");
        assert!(regions().iter().all(|r| r.azs.len() >= 2));
    }
}
