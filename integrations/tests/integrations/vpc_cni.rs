//! The VPC CNI model: ipamd's warm pool on EC2, pod addresses from the node's ENIs through the
//! kubelet, the data-plane view, and the invariants of issue 9 §7 as a property test.

use anyhow::{anyhow, Result};
use cloudbox_aws::{AwsClient, AwsState};
use cloudbox_integrations::vpc_cni::{self, dataplane, Settings};
use cloudbox_integrations::{kubelet_node, kubelet_pods, Config, Context};
use cloudbox_kube::KubeState;
use cloudbox_sim::Clock;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const REGION: &str = "cn-northwest-1";
const CLUSTER: &str = "int32bit-kubernetes";

struct World {
    _kube: KubeState,
    aws_state: AwsState,
    clock: Clock,
    ctx: Context,
    /// Node name → instance id.
    nodes: BTreeMap<String, String>,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A VPC with a /24 subnet (and a /28 one), `instances` c5.large workers in the /24 (or the /28
/// with `small_subnet`), registered as Ready nodes, ipamd on.
async fn world(instances: usize, small_subnet: bool, settings: Settings) -> Result<World> {
    let clock = Clock::manual();
    let aws_state = AwsState::new(clock.clone(), 7);
    let kube = KubeState::new(clock.clone(), 7);
    let aws = AwsClient::new(&aws_state, REGION)?;
    let vpc =
        s(&aws.call("ec2:CreateVpc", &json!({"CidrBlock": "192.168.192.0/22"}))?["Vpc"]["VpcId"]);
    let cidr = if small_subnet {
        "192.168.195.0/28"
    } else {
        "192.168.193.0/24"
    };
    let subnet = s(&aws.call(
        "ec2:CreateSubnet",
        &json!({"VpcId": vpc, "CidrBlock": cidr, "AvailabilityZone": "cn-northwest-1a"}),
    )?["Subnet"]["SubnetId"]);
    for _ in 0..instances {
        aws.call(
            "ec2:RunInstances",
            &json!({"ImageId": "ami-0abcdef1234567890", "InstanceType": "c5.large",
                "MinCount": 1, "MaxCount": 1, "SubnetId": subnet,
                "TagSpecifications": [{"ResourceType": "instance", "Tags": [
                    {"Key": format!("kubernetes.io/cluster/{CLUSTER}"), "Value": "owned"}]}]}),
        )?;
    }
    let mut config = Config::new(CLUSTER);
    config.vpc_cni = Some(settings);
    config.seed = 7;
    let ctx = Context::new(
        kube::Client::new(cloudbox_kube::app(kube.clone()), "default"),
        aws,
        clock.clone(),
        config,
    );
    let w = World {
        _kube: kube,
        aws_state,
        clock,
        ctx,
        nodes: BTreeMap::new(),
    };
    w.clock.advance(Duration::from_secs(61));
    for _ in 0..3 {
        kubelet_node::reconcile_once(&w.ctx).await?;
        w.clock.advance(Duration::from_secs(1));
    }
    let mut w = w;
    for n in Api::<Node>::all(w.ctx.kube.clone())
        .list(&ListParams::default())
        .await?
        .items
    {
        let name = n.metadata.name.clone().unwrap_or_default();
        let provider = n.spec.and_then(|s| s.provider_id).unwrap_or_default();
        let id = provider.rsplit('/').next().unwrap_or_default().to_string();
        w.nodes.insert(name, id);
    }
    if w.nodes.len() != instances {
        return Err(anyhow!("{} nodes registered", w.nodes.len()));
    }
    Ok(w)
}

impl World {
    /// One controller pass (ipamd, then the kubelets), then `secs` of clock.
    async fn step(&self, secs: u64) -> Result<vpc_cni::Summary> {
        let sum = vpc_cni::reconcile_once(&self.ctx).await?;
        kubelet_pods::reconcile_once(&self.ctx).await?;
        self.clock.advance(Duration::from_secs(secs));
        Ok(sum)
    }

    async fn steps(&self, n: usize) -> Result<()> {
        for _ in 0..n {
            self.step(1).await?;
        }
        Ok(())
    }

    async fn pod(&self, name: &str, node: &str, host_network: bool) -> Result<()> {
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "hostNetwork": host_network,
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "nginx", "image": "nginx"}]},
        }))?;
        Api::<Pod>::namespaced(self.ctx.kube.clone(), "default")
            .create(&PostParams::default(), &pod)
            .await?;
        Ok(())
    }

    async fn delete_pod(&self, name: &str) -> Result<()> {
        match Api::<Pod>::namespaced(self.ctx.kube.clone(), "default")
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn pods(&self) -> Result<Vec<Value>> {
        let list = Api::<Pod>::all(self.ctx.kube.clone())
            .list(&ListParams::default())
            .await?;
        Ok(list
            .items
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?)
    }

    /// The ENIs attached to an instance.
    fn enis(&self, instance: &str) -> Result<Vec<Value>> {
        let out = self.ctx.aws.call(
            "ec2:DescribeNetworkInterfaces",
            &json!({"Filters": [{"Name": "attachment.instance-id", "Values": [instance]}]}),
        )?;
        Ok(out["NetworkInterfaces"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// The §7 invariants: no address on two pods, ENI and per-ENI address limits kept, every pod
    /// address a secondary address of an ENI attached to the pod's node.
    async fn check_invariants(&self) -> Result<()> {
        let mut secondary: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (node, instance) in &self.nodes {
            let enis = self.enis(instance)?;
            if enis.len() > 3 {
                return Err(anyhow!("{node}: {} ENIs on a c5.large", enis.len()));
            }
            let ips = secondary.entry(node.clone()).or_default();
            for e in &enis {
                let addrs = e["PrivateIpAddresses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if addrs.len() > 10 {
                    return Err(anyhow!("{node}: {} addresses on one ENI", addrs.len()));
                }
                for a in addrs.iter().filter(|a| a["Primary"] != true) {
                    ips.insert(s(&a["PrivateIpAddress"]));
                }
            }
        }
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for p in self.pods().await? {
            let ip = s(&p["status"]["podIP"]);
            if ip.is_empty() || p["spec"]["hostNetwork"] == true {
                continue;
            }
            let name = s(&p["metadata"]["name"]);
            let node = s(&p["spec"]["nodeName"]);
            if let Some(other) = seen.insert(ip.clone(), name.clone()) {
                return Err(anyhow!("{ip} given to both {other} and {name}"));
            }
            if !secondary.get(&node).is_some_and(|s| s.contains(&ip)) {
                return Err(anyhow!(
                    "{name}'s {ip} is not a secondary address of {node}'s ENIs"
                ));
            }
        }
        Ok(())
    }
}

fn rt() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[tokio::test]
async fn warm_pool_fills_the_primary_eni_then_keeps_one_spare_eni() -> Result<()> {
    let w = world(1, false, Settings::default()).await?;
    let (node, instance) = w.nodes.iter().next().ok_or_else(|| anyhow!("no node"))?;
    let first = w.step(1).await?;
    assert_eq!(first.initialized, vec![node.to_string()]);
    assert_eq!(first.ips_assigned, 9, "WARM_ENI_TARGET=1: one ENI's worth");
    w.steps(10).await?;
    assert_eq!(w.enis(instance)?.len(), 1, "no pod: no second ENI");
    w.pod("p0", node, false).await?;
    w.steps(7).await?;
    let enis = w.enis(instance)?;
    assert_eq!(enis.len(), 2);
    let spare = enis
        .iter()
        .find(|e| e["Attachment"]["DeviceIndex"] == 1)
        .ok_or_else(|| anyhow!("no ENI at device index 1"))?;
    assert_eq!(spare["Description"], format!("aws-K8S-{instance}"));
    assert_eq!(spare["Attachment"]["DeleteOnTermination"], true);
    let tags: BTreeMap<String, String> = spare["TagSet"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (s(&t["Key"]), s(&t["Value"])))
        .collect();
    assert_eq!(tags["node.k8s.amazonaws.com/instance_id"], *instance);
    assert_eq!(tags["cluster.k8s.amazonaws.com/name"], CLUSTER);
    assert_eq!(tags["node.k8s.amazonaws.com/createdAt"].len(), 20);
    // A second pass with nothing changed makes no AWS call that changes anything.
    let quiet = w.step(5).await?;
    assert!(quiet.enis_created.is_empty() && quiet.ips_assigned == 0);
    w.check_invariants().await
}

#[tokio::test]
async fn hostnetwork_pods_keep_the_node_address() -> Result<()> {
    let w = world(1, false, Settings::default()).await?;
    let node = w.nodes.keys().next().cloned().unwrap_or_default();
    w.step(1).await?;
    w.pod("agent", &node, true).await?;
    w.steps(3).await?;
    let pods = w.pods().await?;
    assert_eq!(pods[0]["status"]["podIP"], pods[0]["status"]["hostIP"]);
    Ok(())
}

#[tokio::test]
async fn a_full_subnet_is_handled_as_ipamd_does() -> Result<()> {
    // A /28 has 11 usable addresses: the instance's own and 9 secondary ones leave 1, too few
    // for another ENI (1 + 9): InsufficientFreeAddressesInSubnet, and pods beyond 9 wait.
    let w = world(1, true, Settings::default()).await?;
    let node = w.nodes.keys().next().cloned().unwrap_or_default();
    w.step(1).await?;
    for i in 0..10 {
        w.pod(&format!("p{i}"), &node, false).await?;
    }
    let mut failures = Vec::new();
    for _ in 0..20 {
        failures.extend(w.step(1).await?.failures);
    }
    assert!(
        failures
            .iter()
            .any(|f| f.contains("ec2:CreateNetworkInterface: InsufficientFreeAddressesInSubnet")),
        "{failures:?}"
    );
    // The 120 s cooldown: one failed attempt in those 20 s, not one per check.
    assert_eq!(failures.len(), 1, "{failures:?}");
    let pods = w.pods().await?;
    let waiting: Vec<&Value> = pods
        .iter()
        .filter(|p| p["status"]["podIP"].is_null())
        .collect();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        waiting[0]["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "ContainerCreating"
    );
    let events = Api::<Event>::namespaced(w.ctx.kube.clone(), "default")
        .list(&ListParams::default().fields("reason=FailedCreatePodSandBox"))
        .await?;
    assert_eq!(events.items.len(), 1);
    let message = events.items[0].message.clone().unwrap_or_default();
    assert!(
        message.ends_with("failed (add): add cmd: failed to assign an IP address to container"),
        "{message}"
    );
    w.check_invariants().await
}

#[tokio::test]
async fn ipamd_rebuilds_its_datastore_from_ec2_and_the_pods() -> Result<()> {
    let w = world(1, false, Settings::default()).await?;
    let node = w.nodes.keys().next().cloned().unwrap_or_default();
    for i in 0..12 {
        w.pod(&format!("p{i}"), &node, false).await?;
    }
    w.steps(20).await?;
    w.check_invariants().await?;
    // aws-node restarts: a fresh memory, the same AWS and API server.
    let restarted = Context::new(
        w.ctx.kube.clone(),
        w.ctx.aws.clone(),
        w.clock.clone(),
        w.ctx.config.clone(),
    );
    let sum = vpc_cni::reconcile_once(&restarted).await?;
    assert_eq!(sum.initialized, vec![node.to_string()]);
    assert!(sum.released.is_empty());
    let view = dataplane::node_network(&restarted, &node).ok_or_else(|| anyhow!("no view"))?;
    assert_eq!(view.pods.len(), 12, "every running pod adopted");
    let w2 = World {
        _kube: w._kube.clone(),
        aws_state: w.aws_state.clone(),
        clock: w.clock.clone(),
        ctx: restarted,
        nodes: w.nodes.clone(),
    };
    for i in 12..20 {
        w2.pod(&format!("p{i}"), &node, false).await?;
    }
    w2.steps(20).await?;
    w2.check_invariants().await
}

#[tokio::test]
async fn the_data_plane_view_follows_the_model() -> Result<()> {
    let w = world(1, false, Settings::default()).await?;
    let node = w.nodes.keys().next().cloned().unwrap_or_default();
    for i in 0..11 {
        w.pod(&format!("web-{i}"), &node, false).await?;
    }
    w.steps(20).await?;
    let view = dataplane::node_network(&w.ctx, &node).ok_or_else(|| anyhow!("no view"))?;
    assert_eq!(view.vpc_cidr, "192.168.192.0/22");
    assert_eq!(view.enis.len(), 3);
    assert_eq!(view.enis[1].interface, "ens6");
    assert_eq!(view.enis[1].route_table, Some(2));
    let pods = w.pods().await?;
    for p in &pods {
        let name = s(&p["metadata"]["name"]);
        let ip = s(&p["status"]["podIP"]);
        let net = view
            .pods
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| anyhow!("{name} not in the view"))?;
        assert_eq!(net.ip, ip);
        assert_eq!(
            net.host_veth,
            dataplane::host_veth_name("eni", "default", &name)
        );
        assert!(view
            .ip_route
            .contains(&format!("{ip} dev {} scope link", net.host_veth)));
        assert!(view
            .ip_rule
            .contains(&format!("512:\tfrom all to {ip} lookup main")));
        let on_secondary = view.enis.iter().any(|e| e.device != 0 && e.id == net.eni);
        assert_eq!(
            view.ip_rule.contains(&format!("1536:\tfrom {ip} lookup 2")),
            on_secondary,
            "{name} on {}",
            net.eni
        );
        assert_eq!(
            net.ip_addr[1],
            format!("    inet {ip}/32 scope global eth0")
        );
        assert!(net.ip_addr[0].contains("mtu 9001"));
        assert_eq!(net.ip_route[0], "default via 169.254.1.1 dev eth0");
    }
    // 9 pods on the primary ENI, 2 on the ENI at device index 1.
    assert_eq!(
        view.ip_rule
            .iter()
            .filter(|r| r.starts_with("1536:"))
            .count(),
        2
    );
    assert_eq!(
        view.tables[&2],
        [
            "default via 192.168.193.1 dev ens6",
            "192.168.193.1 dev ens6 scope link"
        ]
    );
    let text = view.to_text();
    assert!(text.contains("$ ip rule\n0:\tfrom all lookup local\n"));
    // The seed's plugin (v1.5.3, external SNAT off) wrote the 1536 rule per VPC CIDR.
    let mut seed_plugin = w.ctx.clone();
    seed_plugin.config.vpc_cni = Some(Settings::from_env(&BTreeMap::from([(
        "image".to_string(),
        json!("602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.5.3"),
    )])));
    let old = dataplane::node_network(&seed_plugin, &node).ok_or_else(|| anyhow!("no view"))?;
    let old_rules: Vec<&String> = old
        .ip_rule
        .iter()
        .filter(|r| r.starts_with("1536:"))
        .collect();
    assert_eq!(old_rules.len(), 2);
    for r in old_rules {
        assert!(r.ends_with(" to 192.168.192.0/22 lookup 2"), "{r}");
    }
    Ok(())
}

#[tokio::test]
async fn warm_ip_target_keeps_just_that_many_free() -> Result<()> {
    let settings = Settings {
        warm_ip_target: 3,
        minimum_ip_target: 5,
        ..Settings::default()
    };
    let w = world(1, false, settings).await?;
    let (node, instance) = w.nodes.iter().next().ok_or_else(|| anyhow!("no node"))?;
    w.steps(2).await?;
    let addrs = |w: &World| -> Result<usize> {
        Ok(w.enis(instance)?
            .iter()
            .map(|e| e["PrivateIpAddresses"].as_array().map_or(0, Vec::len) - 1)
            .sum())
    };
    assert_eq!(addrs(&w)?, 5, "MINIMUM_IP_TARGET");
    for i in 0..4 {
        w.pod(&format!("p{i}"), node, false).await?;
    }
    w.steps(12).await?;
    assert_eq!(addrs(&w)?, 7, "4 used + WARM_IP_TARGET 3");
    for i in 0..4 {
        w.delete_pod(&format!("p{i}")).await?;
    }
    // Released after the cooldown, then unassigned down to the minimum.
    w.steps(80).await?;
    assert_eq!(addrs(&w)?, 5);
    w.check_invariants().await
}

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Delete(usize),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..2).prop_map(Op::Create),
        2 => (0usize..64).prop_map(Op::Delete),
        1 => (1u64..40).prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random pod creations and deletions over two c5.large nodes never give one address to two
    /// pods, never exceed 3 ENIs or 10 addresses an ENI, and leave every pod address on its own
    /// node's ENIs.
    #[test]
    fn pod_addresses_stay_unique_and_on_the_node(ops in proptest::collection::vec(op(), 1..40)) {
        let result: Result<()> = rt().and_then(|rt| rt.block_on(async {
            let w = world(2, false, Settings::default()).await?;
            let nodes: Vec<String> = w.nodes.keys().cloned().collect();
            let mut created = 0usize;
            for op in ops {
                match op {
                    Op::Create(n) => {
                        w.pod(&format!("p{created}"), &nodes[n], false).await?;
                        created += 1;
                    }
                    Op::Delete(k) if created > 0 => w.delete_pod(&format!("p{}", k % created)).await?,
                    Op::Delete(_) => {}
                    Op::Wait(secs) => w.clock.advance(Duration::from_secs(secs)),
                }
                w.step(1).await?;
                w.check_invariants().await?;
            }
            Ok(())
        }));
        prop_assert!(result.is_ok(), "{:?}", result.err());
    }
}

#[tokio::test]
async fn enis_attached_by_others_take_slots_and_the_limit_is_handled() -> Result<()> {
    let w = world(1, false, Settings::default()).await?;
    let (node, instance) = w.nodes.iter().next().ok_or_else(|| anyhow!("no node"))?;
    w.step(1).await?;
    // Someone else attaches an ENI at device index 1 (ipamd's datastore does not know it).
    let primary = &w.enis(instance)?[0];
    let other = s(&w.ctx.aws.call(
        "ec2:CreateNetworkInterface",
        &json!({"SubnetId": primary["SubnetId"], "Description": "not ipamd's"}),
    )?["NetworkInterface"]["NetworkInterfaceId"]);
    w.ctx.aws.call(
        "ec2:AttachNetworkInterface",
        &json!({"NetworkInterfaceId": other, "InstanceId": instance, "DeviceIndex": 1}),
    )?;
    for i in 0..19 {
        w.pod(&format!("p{i}"), node, false).await?;
    }
    let mut failures = Vec::new();
    for _ in 0..30 {
        failures.extend(w.step(1).await?.failures);
    }
    // ipamd attached at device 2, then its next ENI was refused and deleted again.
    assert!(
        failures
            .iter()
            .any(|f| f.contains("ec2:AttachNetworkInterface: AttachmentLimitExceeded")),
        "{failures:?}"
    );
    let enis = w.enis(instance)?;
    assert_eq!(enis.len(), 3);
    let all = w
        .ctx
        .aws
        .call("ec2:DescribeNetworkInterfaces", &json!({}))?;
    let loose = all["NetworkInterfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["Status"] == "available")
        .count();
    assert_eq!(loose, 0, "a refused ENI is deleted");
    let waiting = w
        .pods()
        .await?
        .iter()
        .filter(|p| p["status"]["podIP"].is_null())
        .count();
    assert_eq!(waiting, 1, "18 addresses on ipamd's two ENIs");
    w.check_invariants().await
}

#[tokio::test]
async fn ipamd_is_authorized_by_the_aws_node_role() -> Result<()> {
    // ipamd calls as the chart's `aws-node`; a ClusterRole without the `nodes` rule refuses the
    // Node read that starts it, so the node gets no warm pool until the rule is back.
    let w = world(1, false, Settings::default()).await?;
    let admin = w.ctx.kube.clone();
    cloudbox_integrations::charts::install(&admin, &cloudbox_integrations::charts::VPC_CNI).await?;
    let roles: Api<k8s_openapi::api::rbac::v1::ClusterRole> = Api::all(admin.clone());
    let role = roles.get("aws-node").await?;
    let mut rules = role.rules.clone().unwrap_or_default();
    rules.retain(|r| r.resources.as_deref() != Some(&["nodes".to_string()][..]));
    assert_eq!(rules.len() + 1, role.rules.as_ref().map_or(0, Vec::len));
    let mut narrowed = role.clone();
    narrowed.rules = Some(rules);
    roles
        .replace("aws-node", &PostParams::default(), &narrowed)
        .await?;

    let (node, _) = w.nodes.iter().next().ok_or_else(|| anyhow!("no node"))?;
    let err = vpc_cni::reconcile_once(&w.ctx)
        .await
        .err()
        .ok_or_else(|| anyhow!("ipamd started without reading its Node"))?;
    let text = format!("{err}");
    assert!(
        text.contains(&format!(
            "nodes \"{node}\" is forbidden: User \"system:serviceaccount:kube-system:aws-node\" \
             cannot get resource \"nodes\" in API group \"\" at the cluster scope"
        )),
        "{text}"
    );
    let enis = w.ctx.aws.call(
        "ec2:DescribeNetworkInterfaces",
        &json!({"Filters": [{"Name": "attachment.instance-id", "Values": [w.nodes[node]]}]}),
    )?;
    assert_eq!(enis["NetworkInterfaces"].as_array().map_or(0, Vec::len), 1);

    let mut restored = roles.get("aws-node").await?;
    restored.rules = role.rules.clone();
    roles
        .replace("aws-node", &PostParams::default(), &restored)
        .await?;
    let sum = w.step(1).await?;
    assert_eq!(sum.initialized, std::slice::from_ref(node), "{sum:?}");
    Ok(())
}
