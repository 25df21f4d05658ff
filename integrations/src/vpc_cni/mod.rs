//! The Amazon VPC CNI (the `aws-node` DaemonSet): ipamd keeps a warm pool of ENIs and secondary
//! IPv4 addresses per node through the EC2 API, and the CNI plugin gives each pod one of them,
//! so a pod's address is always a private address of an ENI attached to its node.
//!
//! Upstream: aws/amazon-vpc-cni-k8s@v1.19.6
//!
//! Files modelled (one module each):
//! - [`datastore`] models `pkg/ipamd/datastore/data_store.go` (ENIs, addresses, cooldown, stats,
//!   deletable ENIs);
//! - [`ipamd`] models `pkg/ipamd/ipamd.go` (`nodeInit`, `updateIPPoolIfRequired`,
//!   `isDatastorePoolTooLow`/`TooHigh`, `increaseDatastorePool`, `tryAssignIPs`,
//!   `tryAllocateENI`, `decreaseDatastorePool`, `tryFreeENI`, `shouldRemoveExtraENIs`,
//!   `datastoreTargetState`) and `pkg/awsutils/awsutils.go` (`AllocENI`, `createENI`,
//!   `buildENITags`, `attachENI`, `AllocIPAddresses`, `FreeENI`, `DeallocIPAddresses`);
//! - [`cni`] models `cmd/routed-eni-cni-plugin/cni.go` (ADD: "add cmd: failed to assign an IP address
//!   to container"; DEL) and the kubelet's `FailedCreatePodSandBox` event;
//! - [`dataplane`] models `cmd/routed-eni-cni-plugin/driver/driver.go`,
//!   `pkg/networkutils/network.go` and `names.go` (host veth `eni<sha1[:11]>`, `ip route`,
//!   `ip rule` 512/1536, per-ENI route tables, the pod's `eth0`).
//!
//! Settings ([`Settings`]) are the aws-node environment (`WARM_ENI_TARGET` 1,
//! `WARM_IP_TARGET` and `MINIMUM_IP_TARGET` unset, `IP_COOLDOWN_PERIOD` 30 s), read from the
//! topology's `spec.controllers.aws-node`. The CNI is on when [`crate::Config::vpc_cni`] is set;
//! otherwise the kubelet keeps its per-node pod range.
//!
//! Not modelled:
//! - prefix delegation, IPv6, custom networking (ENIConfig), subnet discovery, security groups
//!   for pods (trunk/branch ENIs), multi-NIC, EFA;
//! - the aws-node pod itself and its readiness gating the node's (the CNI is ready at once);
//! - IMDS polling (`WaitForENIAndIPsAttached`) and the 60 s `nodeIPPoolReconcile` against EC2:
//!   the emulator's attach is immediate and nothing else edits the node's ENIs;
//! - leaked-ENI cleanup and `TagENI` at startup; `MAX_ENI`; unschedulable-node handling;
//! - iptables (SNAT and connmark chains) in the data-plane view.

pub mod cni;
pub mod dataplane;
pub mod datastore;
pub mod ipamd;

pub use ipamd::{reconcile_once, Summary};

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The aws-node settings ipamd reads from its environment, with upstream's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `WARM_ENI_TARGET`: keep this many whole ENIs of free addresses (1).
    pub warm_eni_target: usize,
    /// `WARM_IP_TARGET`: free addresses to keep; 0 = unset. With it or `MINIMUM_IP_TARGET`
    /// set, the ENI target is ignored.
    pub warm_ip_target: usize,
    /// `MINIMUM_IP_TARGET`: a floor on the node's total addresses; 0 = unset.
    pub minimum_ip_target: usize,
    /// `IP_COOLDOWN_PERIOD`: a freed address is not reused before this (30 s).
    pub ip_cooldown: Duration,
    /// `ipPoolMonitorInterval`: how often the pool is checked (5 s).
    pub pool_interval: Duration,
    /// `decreaseIPPoolInterval`: at most one decrease per interval (30 s).
    pub decrease_interval: Duration,
    /// `insufficientCidrErrorCooldown`: no new addresses for this long after
    /// `InsufficientFreeAddressesInSubnet` (120 s).
    pub insufficient_cidr_cooldown: Duration,
    /// `AWS_VPC_ENI_MTU` (9001).
    pub mtu: u32,
    /// `AWS_VPC_K8S_CNI_VETHPREFIX` (`eni`).
    pub veth_prefix: String,
    /// The plugin's version, from the `image` tag of the aws-node settings
    /// (`…/amazon-k8s-cni:v1.5.3`); v1.19 when not given.
    pub version: (u32, u32),
    /// `AWS_VPC_K8S_CNI_EXTERNALSNAT` (false).
    pub external_snat: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            warm_eni_target: 1,
            warm_ip_target: 0,
            minimum_ip_target: 0,
            ip_cooldown: Duration::from_secs(30),
            pool_interval: Duration::from_secs(5),
            decrease_interval: Duration::from_secs(30),
            insufficient_cidr_cooldown: Duration::from_secs(120),
            mtu: 9001,
            veth_prefix: "eni".to_string(),
            version: (1, 19),
            external_snat: false,
        }
    }
}

impl Settings {
    /// The settings from aws-node environment variables (`WARM_ENI_TARGET: 1`, numbers or
    /// strings); unknown or malformed values keep the default, as `getEnvInt` does.
    pub fn from_env(env: &BTreeMap<String, Value>) -> Settings {
        let mut s = Settings::default();
        let num = |k: &str| -> Option<u64> {
            match env.get(k)? {
                Value::Number(n) => n.as_u64(),
                Value::String(v) => v.trim().parse().ok(),
                _ => None,
            }
        };
        let text = |k: &str| env.get(k).and_then(Value::as_str).map(str::to_string);
        if let Some(v) = num("WARM_ENI_TARGET") {
            s.warm_eni_target = v as usize;
        }
        if let Some(v) = num("WARM_IP_TARGET") {
            s.warm_ip_target = v as usize;
        }
        if let Some(v) = num("MINIMUM_IP_TARGET") {
            s.minimum_ip_target = v as usize;
        }
        if let Some(v) = num("IP_COOLDOWN_PERIOD") {
            s.ip_cooldown = Duration::from_secs(v);
        }
        if let Some(v) = num("AWS_VPC_ENI_MTU") {
            s.mtu = v as u32;
        }
        if let Some(v) = text("AWS_VPC_K8S_CNI_VETHPREFIX") {
            s.veth_prefix = v;
        }
        if let Some(v) = text("AWS_VPC_K8S_CNI_EXTERNALSNAT") {
            s.external_snat = v.trim().eq_ignore_ascii_case("true");
        }
        if let Some(v) = text("image").as_deref().and_then(image_version) {
            s.version = v;
        }
        s
    }

    /// Whether a pod on a secondary ENI gets one 1536 rule per VPC CIDR (`from <podIP> to
    /// <VPC CIDR> lookup N`), as the plugin's `SetupNS` wrote them with external SNAT off
    /// (v1.5.3, the seed's), or a single `from <podIP> lookup N` (v1.19.6's
    /// `setupIPBasedContainerRouteRules`). Versions in between are taken as the older form:
    /// the release that changed it is not pinned down here.
    pub fn rules_per_vpc_cidr(&self) -> bool {
        self.version < (1, 19) && !self.external_snat
    }

    /// `warmIPTargetsDefined`.
    pub fn warm_ip_targets_defined(&self) -> bool {
        self.warm_ip_target > 0 || self.minimum_ip_target > 0
    }
}

/// `…/amazon-k8s-cni:v1.5.3` → (1, 5).
fn image_version(image: &str) -> Option<(u32, u32)> {
    let tag = image.rsplit(':').next()?.trim_start_matches('v');
    let mut parts = tag.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_plugin_version_decides_the_1536_rule() {
        let seed = BTreeMap::from([(
            "image".to_string(),
            json!("602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.5.3"),
        )]);
        let s = Settings::from_env(&seed);
        assert_eq!(s.version, (1, 5));
        assert!(s.rules_per_vpc_cidr());
        let mut snat = seed.clone();
        snat.insert("AWS_VPC_K8S_CNI_EXTERNALSNAT".into(), json!("true"));
        assert!(!Settings::from_env(&snat).rules_per_vpc_cidr());
        assert!(!Settings::default().rules_per_vpc_cidr());
    }

    #[test]
    fn settings_read_the_aws_node_environment() {
        let env: BTreeMap<String, Value> = [
            ("WARM_ENI_TARGET".to_string(), json!(2)),
            ("WARM_IP_TARGET".to_string(), json!("5")),
            ("MINIMUM_IP_TARGET".to_string(), json!("x")),
            ("IP_COOLDOWN_PERIOD".to_string(), json!(10)),
        ]
        .into_iter()
        .collect();
        let s = Settings::from_env(&env);
        assert_eq!(
            (s.warm_eni_target, s.warm_ip_target, s.minimum_ip_target),
            (2, 5, 0)
        );
        assert_eq!(s.ip_cooldown, Duration::from_secs(10));
        assert!(s.warm_ip_targets_defined());
        let d = Settings::from_env(&BTreeMap::new());
        assert_eq!(d, Settings::default());
        assert!(!d.warm_ip_targets_defined());
        assert_eq!(
            (d.warm_eni_target, d.mtu, d.veth_prefix.as_str()),
            (1, 9001, "eni")
        );
    }
}
