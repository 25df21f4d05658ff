//! What a node's data plane looks like under the VPC CNI, derived from ipamd's datastore: the
//! host veth of each pod, `ip route` (table main), `ip rule`, the route table of each secondary
//! ENI, and inside each pod its `eth0` and routes — the seed's §4 listings.
//!
//! Upstream: aws/amazon-vpc-cni-k8s@v1.19.6 `pkg/networkutils/names.go`
//! (`GeneratePodHostVethName`: prefix + the first 11 hex digits of sha1("<ns>.<pod>")),
//! `cmd/routed-eni-cni-plugin/driver/driver.go` (`setupIPBasedContainerRouteRules`: `<podIP>
//! dev <veth> scope link`, rule 512 `to <podIP> lookup main`, rule 1536 `from <podIP> lookup
//! <N>` for a secondary ENI; in the pod `default via 169.254.1.1 dev eth0` and `169.254.1.1 dev
//! eth0 scope link`, the /32 address, a permanent ARP entry for the gateway),
//! `pkg/networkutils/network.go` (`setupENINetwork`: table N = device index + 1 with
//! `<gateway> dev <if> scope link` and `default via <gateway> dev <if>`; rule 32765 `from <ENI
//! primary IP> lookup N`; `hostRulePriority` 1024 `fwmark 0x80/0x80 lookup main`).
//!
//! Interfaces are named as the EKS/AL2023 Nitro AMIs name them: device index d → `ens{5+d}`
//! (the seed's secondary ENI is `ens6`).
//!
//! The 1536 rule follows the plugin version of the aws-node settings (`image`): the seed's
//! v1.5.3 wrote `from <podIP> to <VPC CIDR> lookup N` with external SNAT off (`SetupNS`), v1.19
//! writes `from <podIP> lookup N` ([`Settings::rules_per_vpc_cidr`]).
//!
//! Not modelled: iptables (AWS-SNAT-CHAIN-0, AWS-CONNMARK-CHAIN-0), link indexes (`eth0@ifN` is
//! numbered by the pod's order), real MACs of host veths (derived from the pod's uid).

use super::datastore::PodRef;
use super::ipamd::{Ipamd, NodeIpam};
use super::Settings;
use crate::Context;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The network of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeNetwork {
    /// The Node.
    pub node: String,
    /// Its instance.
    pub instance_id: String,
    /// The VPC CIDR.
    pub vpc_cidr: String,
    /// ENIs by device index.
    pub enis: Vec<EniView>,
    /// Pods with a VPC address.
    pub pods: Vec<PodNetwork>,
    /// `ip route` (table main).
    pub ip_route: Vec<String>,
    /// `ip rule`.
    pub ip_rule: Vec<String>,
    /// `ip route show table N` for each secondary ENI's table.
    pub tables: BTreeMap<u32, Vec<String>>,
}

/// One ENI as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EniView {
    /// `eni-…`.
    pub id: String,
    /// Device index.
    pub device: i64,
    /// Host interface (`ens5`, `ens6`, …).
    pub interface: String,
    /// MAC address.
    pub mac: String,
    /// Primary private address.
    pub primary_ip: String,
    /// Secondary addresses in the pool.
    pub secondary_ips: Vec<String>,
    /// Its route table (None for the primary ENI, which uses main).
    pub route_table: Option<u32>,
}

/// One pod's network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodNetwork {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The pod's address.
    pub ip: String,
    /// The ENI it came from.
    pub eni: String,
    /// Host side of the veth pair (`eni<11 hex>`).
    pub host_veth: String,
    /// Host veth MAC (the pod's ARP entry for 169.254.1.1).
    pub host_veth_mac: String,
    /// `ip addr show eth0` inside the pod.
    pub ip_addr: Vec<String>,
    /// `ip route` inside the pod.
    pub ip_route: Vec<String>,
    /// `ip neigh` inside the pod.
    pub ip_neigh: Vec<String>,
}

/// `GeneratePodHostVethName`.
pub fn host_veth_name(prefix: &str, namespace: &str, name: &str) -> String {
    let digest = sha1(format!("{namespace}.{name}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{}", &hex[..11])
}

fn interface(device: i64) -> String {
    format!("ens{}", 5 + device)
}

fn gateway(subnet_cidr: &str) -> Option<Ipv4Addr> {
    let (ip, _) = subnet_cidr.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    Some(Ipv4Addr::from(u32::from(ip) + 1))
}

/// A locally administered MAC derived from the pod's uid.
fn veth_mac(pod: &PodRef) -> String {
    let d = sha1(pod.uid.as_bytes());
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        (d[0] & 0xfe) | 0x02,
        d[1],
        d[2],
        d[3],
        d[4],
        d[5]
    )
}

/// The view of `node`, None when ipamd does not run there.
pub fn node_network(ctx: &Context, node: &str) -> Option<NodeNetwork> {
    let settings = ctx.config.vpc_cni.clone()?;
    let ipamd = ctx.memory.get::<Ipamd>();
    let nodes = ipamd.lock();
    let st = nodes.get(node)?;
    Some(build(node, st, &settings))
}

/// The view of one node's ipamd state.
pub fn build(node: &str, st: &NodeIpam, settings: &Settings) -> NodeNetwork {
    let (veth_prefix, mtu) = (settings.veth_prefix.as_str(), settings.mtu);
    let gw = gateway(&st.subnet_cidr)
        .map(|g| g.to_string())
        .unwrap_or_default();
    let primary_ip = st
        .ds
        .enis
        .get(&0)
        .map(|e| e.primary_ip.to_string())
        .unwrap_or_default();
    let mut ip_route = vec![
        format!("default via {gw} dev ens5"),
        format!(
            "{} dev ens5 proto kernel scope link src {primary_ip}",
            st.subnet_cidr
        ),
    ];
    let mut rules = vec![(0u32, "from all lookup local".to_string())];
    rules.push((1024, "from all fwmark 0x80/0x80 lookup main".to_string()));
    let mut tables = BTreeMap::new();
    let mut enis = Vec::new();
    for e in st.ds.enis.values() {
        let table = (e.device != 0).then_some(e.device as u32 + 1);
        if let Some(n) = table {
            let ifname = interface(e.device);
            tables.insert(
                n,
                vec![
                    format!("default via {gw} dev {ifname}"),
                    format!("{gw} dev {ifname} scope link"),
                ],
            );
            rules.push((32765, format!("from {} lookup {n}", e.primary_ip)));
        }
        enis.push(EniView {
            id: e.id.clone(),
            device: e.device,
            interface: interface(e.device),
            mac: e.mac.clone(),
            primary_ip: e.primary_ip.to_string(),
            secondary_ips: e.addresses.keys().map(Ipv4Addr::to_string).collect(),
            route_table: table,
        });
    }
    let mut pods = Vec::new();
    for (i, (ip, device, pod)) in st.ds.assignments().into_iter().enumerate() {
        let veth = host_veth_name(veth_prefix, &pod.namespace, &pod.name);
        let mac = veth_mac(&pod);
        ip_route.push(format!("{ip} dev {veth} scope link"));
        rules.push((512, format!("from all to {ip} lookup main")));
        if device != 0 {
            let table = device + 1;
            if settings.rules_per_vpc_cidr() {
                rules.push((1536, format!("from {ip} to {} lookup {table}", st.vpc_cidr)));
            } else {
                rules.push((1536, format!("from {ip} lookup {table}")));
            }
        }
        let eni = st
            .ds
            .enis
            .get(&device)
            .map(|e| e.id.clone())
            .unwrap_or_default();
        pods.push(PodNetwork {
            namespace: pod.namespace.clone(),
            name: pod.name.clone(),
            ip: ip.to_string(),
            eni,
            host_veth: veth.clone(),
            host_veth_mac: mac.clone(),
            ip_addr: vec![
                format!(
                    "3: eth0@if{}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu {mtu} qdisc noqueue state UP group default",
                    i + 4
                ),
                format!("    inet {ip}/32 scope global eth0"),
            ],
            ip_route: vec![
                "default via 169.254.1.1 dev eth0".to_string(),
                "169.254.1.1 dev eth0 scope link".to_string(),
            ],
            ip_neigh: vec![format!(
                "169.254.1.1 dev eth0 lladdr {mac} PERMANENT"
            )],
        });
    }
    rules.push((32766, "from all lookup main".to_string()));
    rules.push((32767, "from all lookup default".to_string()));
    rules.sort_by_key(|(p, _)| *p);
    NodeNetwork {
        node: node.to_string(),
        instance_id: st.instance_id.clone(),
        vpc_cidr: st.vpc_cidr.clone(),
        enis,
        pods,
        ip_route,
        ip_rule: rules
            .into_iter()
            .map(|(p, r)| format!("{p}:\t{r}"))
            .collect(),
        tables,
    }
}

impl NodeNetwork {
    /// The listings as a shell session on the node would print them.
    pub fn to_text(&self) -> String {
        let mut out = format!("# node {} ({})\n$ ip rule\n", self.node, self.instance_id);
        for l in &self.ip_rule {
            out.push_str(l);
            out.push('\n');
        }
        out.push_str("$ ip route\n");
        for l in &self.ip_route {
            out.push_str(l);
            out.push('\n');
        }
        for (n, lines) in &self.tables {
            out.push_str(&format!("$ ip route show table {n}\n"));
            for l in lines {
                out.push_str(l);
                out.push('\n');
            }
        }
        for p in &self.pods {
            out.push_str(&format!(
                "# pod {}/{} ({} on {}, host veth {})\n",
                p.namespace, p.name, p.ip, p.eni, p.host_veth
            ));
            for l in p.ip_addr.iter().chain(&p.ip_route).chain(&p.ip_neigh) {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

/// SHA-1 (FIPS 180-4), for the veth names only.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_known_digests() {
        let hex = |d: [u8; 20]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn veth_names_as_the_plugin_derives_them() {
        let name = host_veth_name("eni", "default", "nginx");
        assert_eq!(name.len(), 14);
        assert!(name.starts_with("eni"));
        let hex = sha1(b"default.nginx")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        assert_eq!(&name[3..], &hex[..11]);
    }
}
