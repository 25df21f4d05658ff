//! Nodes from EC2 instances: the kubelet's registration and the cloud node lifecycle, driven pass
//! by pass on a manual clock against the in-process AWS endpoint and API server.

use anyhow::{anyhow, Context as _, Result};
use cloudbox_aws::{AwsClient, AwsState};
use cloudbox_integrations::{cloud_node, kubelet_node, Config, Context, MaxPods};
use cloudbox_kube::KubeState;
use cloudbox_sim::Clock;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const REGION: &str = "cn-northwest-1";
const CLUSTER: &str = "int32bit-kubernetes";
const CP_NAME: &str = "ip-192-168-193-172.cn-northwest-1.compute.internal";

struct World {
    kube: KubeState,
    clock: Clock,
    ctx: Context,
    subnet_a: String,
    subnet_b: String,
}

fn world(config: Config) -> Result<World> {
    let clock = Clock::manual();
    let aws_state = AwsState::new(clock.clone(), 7);
    let kube = KubeState::new(clock.clone(), 7);
    let aws = AwsClient::new(&aws_state, REGION)?;
    let vpc = aws.call("ec2:CreateVpc", &json!({"CidrBlock": "192.168.192.0/22"}))?["Vpc"]["VpcId"]
        .as_str()
        .ok_or_else(|| anyhow!("VpcId"))?
        .to_string();
    let subnet = |cidr: &str, az: &str| -> Result<String> {
        let out = aws.call(
            "ec2:CreateSubnet",
            &json!({"VpcId": vpc, "CidrBlock": cidr, "AvailabilityZone": az}),
        )?;
        Ok(out["Subnet"]["SubnetId"]
            .as_str()
            .ok_or_else(|| anyhow!("SubnetId"))?
            .to_string())
    };
    let subnet_a = subnet("192.168.193.0/24", "cn-northwest-1a")?;
    let subnet_b = subnet("192.168.194.0/24", "cn-northwest-1b")?;
    let ctx = Context::new(
        kube::Client::new(cloudbox_kube::app(kube.clone()), "default"),
        aws,
        clock.clone(),
        config,
    );
    Ok(World {
        kube,
        clock,
        ctx,
        subnet_a,
        subnet_b,
    })
}

impl World {
    fn run(&self, input: Value, tags: &[(&str, &str)]) -> Result<String> {
        let mut input = input;
        input["ImageId"] = json!("ami-0abcdef1234567890");
        input["MinCount"] = json!(1);
        input["MaxCount"] = json!(1);
        if !tags.is_empty() {
            let tags: Vec<Value> = tags
                .iter()
                .map(|(k, v)| json!({"Key": k, "Value": v}))
                .collect();
            input["TagSpecifications"] = json!([{"ResourceType": "instance", "Tags": tags}]);
        }
        let out = self.ctx.aws.call("ec2:RunInstances", &input)?;
        Ok(out["Instances"][0]["InstanceId"]
            .as_str()
            .ok_or_else(|| anyhow!("InstanceId"))?
            .to_string())
    }

    /// The seed's cluster: a tagged control plane at 192.168.193.172, two tagged workers (one
    /// arm64 with a public address), one untagged bastion. Returns their ids.
    fn seed_instances(&self) -> Result<[String; 4]> {
        let owned = ("kubernetes.io/cluster/int32bit-kubernetes", "owned");
        let cp = self.run(
            json!({"InstanceType": "c5.xlarge", "SubnetId": self.subnet_a, "PrivateIpAddress": "192.168.193.172"}),
            &[owned, ("node-role.kubernetes.io/control-plane", ""), ("KubernetesCluster", CLUSTER)],
        )?;
        let w1 = self.run(
            json!({"InstanceType": "c5.large", "SubnetId": self.subnet_a}),
            &[owned],
        )?;
        let w2 = self.run(
            json!({"InstanceType": "m6g.large", "NetworkInterfaces": [
                {"DeviceIndex": 0, "SubnetId": self.subnet_b, "AssociatePublicIpAddress": true}]}),
            &[owned],
        )?;
        let bastion = self.run(
            json!({"InstanceType": "t3.medium", "SubnetId": self.subnet_b}),
            &[("Name", "bastion")],
        )?;
        Ok([cp, w1, w2, bastion])
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// One driver step: the kubelets, then the cloud node controller.
    async fn step(&self) -> Result<(kubelet_node::Summary, cloud_node::Summary)> {
        let k = kubelet_node::reconcile_once(&self.ctx).await?;
        let c = cloud_node::reconcile_once(&self.ctx).await?;
        Ok((k, c))
    }

    fn describe(&self, id: &str) -> Result<Value> {
        let out = self
            .ctx
            .aws
            .call("ec2:DescribeInstances", &json!({"InstanceIds": [id]}))?;
        Ok(out["Reservations"][0]["Instances"][0].clone())
    }

    async fn nodes(&self) -> Result<BTreeMap<String, Value>> {
        let api: Api<Node> = Api::all(self.ctx.kube.clone());
        let mut out = BTreeMap::new();
        for n in api.list(&ListParams::default()).await?.items {
            let name = n.metadata.name.clone().unwrap_or_default();
            out.insert(name, serde_json::to_value(&n)?);
        }
        Ok(out)
    }

    async fn node_of(&self, id: &str) -> Result<Value> {
        let dns = self.describe(id)?["PrivateDnsName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.nodes()
            .await?
            .remove(&dns)
            .with_context(|| format!("no Node {dns} for {id}"))
    }
}

fn condition<'a>(node: &'a Value, ty: &str) -> &'a Value {
    node["status"]["conditions"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["type"] == ty))
        .unwrap_or(&Value::Null)
}

fn taint_keys(node: &Value) -> Vec<String> {
    node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            format!(
                "{}:{}",
                t["key"].as_str().unwrap_or_default(),
                t["effect"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test]
async fn tagged_instances_register_after_the_boot_delay() -> Result<()> {
    let w = world(Config::new(CLUSTER))?;
    let [cp, w1, w2, bastion] = w.seed_instances()?;
    w.advance(30);
    let (k, _) = w.step().await?;
    assert!(k.registered.is_empty(), "{k:?}");
    assert_eq!(k.booting, 3);
    assert!(w.nodes().await?.is_empty());

    w.advance(30);
    let (k, c) = w.step().await?;
    assert_eq!(k.registered.len(), 3, "{k:?}");
    assert_eq!(k.leases, 3);
    assert_eq!(c, cloud_node::Summary::default());
    let nodes = w.nodes().await?;
    assert_eq!(
        nodes.len(),
        3,
        "the untagged bastion never registers: {:?}",
        nodes.keys()
    );
    let bastion_dns = w.describe(&bastion)?["PrivateDnsName"].clone();
    assert!(!nodes.contains_key(bastion_dns.as_str().unwrap_or_default()));

    // The control plane, field by field.
    let n = &nodes[CP_NAME];
    let az = "cn-northwest-1a";
    assert_eq!(n["spec"]["providerID"], format!("aws:///{az}/{cp}"));
    let labels = &n["metadata"]["labels"];
    for (k, v) in [
        ("kubernetes.io/hostname", CP_NAME),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", "amd64"),
        ("node.kubernetes.io/instance-type", "c5.xlarge"),
        ("beta.kubernetes.io/instance-type", "c5.xlarge"),
        ("topology.kubernetes.io/zone", az),
        ("failure-domain.beta.kubernetes.io/zone", az),
        ("topology.kubernetes.io/region", REGION),
        ("failure-domain.beta.kubernetes.io/region", REGION),
        ("node-role.kubernetes.io/control-plane", ""),
    ] {
        assert_eq!(labels[k], v, "label {k}");
    }
    let zone_id = w.describe(&cp)?["Placement"]["AvailabilityZoneId"].clone();
    assert!(zone_id.is_string());
    assert_eq!(labels["topology.k8s.aws/zone-id"], zone_id);
    assert_eq!(
        n["spec"]["taints"],
        json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    );
    let st = &n["status"];
    assert_eq!(
        st["capacity"],
        json!({"cpu": "4", "ephemeral-storage": "20971520Ki", "hugepages-1Gi": "0",
               "hugepages-2Mi": "0", "memory": "8388608Ki", "pods": "110"})
    );
    assert_eq!(
        st["allocatable"],
        json!({"cpu": "4", "ephemeral-storage": "19327352832", "hugepages-1Gi": "0",
               "hugepages-2Mi": "0", "memory": "8286208Ki", "pods": "110"})
    );
    assert_eq!(
        st["addresses"],
        json!([{"type": "InternalIP", "address": "192.168.193.172"},
               {"type": "InternalDNS", "address": CP_NAME},
               {"type": "Hostname", "address": CP_NAME}])
    );
    assert_eq!(
        st["daemonEndpoints"],
        json!({"kubeletEndpoint": {"Port": 10250}})
    );
    let info = &st["nodeInfo"];
    assert_eq!(info["kubeletVersion"], "v1.32.4");
    assert_eq!(info["kubeProxyVersion"], "v1.32.4");
    assert_eq!(info["operatingSystem"], "linux");
    assert_eq!(info["architecture"], "amd64");
    assert_eq!(info["containerRuntimeVersion"], "containerd://1.7.25");
    assert!(info["osImage"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(info["machineID"].as_str().map(str::len), Some(32));
    assert!(info["systemUUID"]
        .as_str()
        .is_some_and(|s| s.starts_with("ec2") && s.len() == 36));
    assert_eq!(info["bootID"].as_str().map(str::len), Some(36));
    let now = w.clock.now().to_rfc3339_secs();
    assert_eq!(
        condition(n, "Ready"),
        &json!({"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
                "lastHeartbeatTime": now, "lastTransitionTime": now})
    );
    for (ty, reason) in [
        ("MemoryPressure", "KubeletHasSufficientMemory"),
        ("DiskPressure", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "KubeletHasSufficientPID"),
    ] {
        assert_eq!(condition(n, ty)["status"], "False", "{ty}");
        assert_eq!(condition(n, ty)["reason"], reason, "{ty}");
    }

    // A worker: no role label or taint; the arm64 one with its public addresses.
    let n1 = w.node_of(&w1).await?;
    assert!(n1["metadata"]["labels"]
        .get("node-role.kubernetes.io/control-plane")
        .is_none());
    assert!(n1["spec"].get("taints").is_none(), "{}", n1["spec"]);
    assert_eq!(n1["status"]["capacity"]["cpu"], "2");
    assert_eq!(n1["status"]["allocatable"]["memory"], "4091904Ki");
    let n2 = w.node_of(&w2).await?;
    let d2 = w.describe(&w2)?;
    assert_eq!(n2["metadata"]["labels"]["kubernetes.io/arch"], "arm64");
    assert_eq!(n2["status"]["nodeInfo"]["architecture"], "arm64");
    assert_eq!(
        n2["metadata"]["labels"]["topology.kubernetes.io/zone"],
        "cn-northwest-1b"
    );
    let types: Vec<&str> = n2["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "InternalIP",
            "ExternalIP",
            "InternalDNS",
            "Hostname",
            "ExternalDNS"
        ]
    );
    assert_eq!(
        n2["status"]["addresses"][1]["address"],
        d2["PublicIpAddress"]
    );
    assert_eq!(n2["status"]["addresses"][4]["address"], d2["PublicDnsName"]);

    // Each node's Lease in kube-node-lease, owned by the Node.
    let leases: Api<Lease> = Api::namespaced(w.ctx.kube.clone(), "kube-node-lease");
    let l = serde_json::to_value(leases.get(CP_NAME).await?)?;
    assert_eq!(l["spec"]["holderIdentity"], CP_NAME);
    assert_eq!(l["spec"]["leaseDurationSeconds"], 40);
    assert!(
        l["spec"]["renewTime"]
            .as_str()
            .is_some_and(|t| t.starts_with(&now[..19])),
        "{}",
        l["spec"]
    );
    assert_eq!(l["metadata"]["ownerReferences"][0]["kind"], "Node");
    assert_eq!(
        l["metadata"]["ownerReferences"][0]["uid"],
        n["metadata"]["uid"]
    );
    Ok(())
}

#[tokio::test]
async fn a_second_pass_writes_nothing() -> Result<()> {
    let w = world(Config::new(CLUSTER))?;
    w.seed_instances()?;
    w.advance(60);
    w.step().await?;
    let before = w.nodes().await?;
    let rv = w.kube.resource_version();
    let (k, c) = w.step().await?;
    assert_eq!(k.writes + c.writes, 0, "{k:?} {c:?}");
    assert_eq!(w.kube.resource_version(), rv, "nothing was written");
    let after = w.nodes().await?;
    for (name, n) in &before {
        assert_eq!(
            after[name]["metadata"]["resourceVersion"], n["metadata"]["resourceVersion"],
            "{name}"
        );
    }
    // 5 s later only nothing is due; 10 s after registration the Leases renew, and the
    // status is posted again only after 5 minutes.
    w.advance(5);
    let (k, _) = w.step().await?;
    assert_eq!(k.writes, 0, "{k:?}");
    w.advance(5);
    let (k, _) = w.step().await?;
    assert_eq!((k.leases, k.writes), (3, 3), "{k:?}");
    w.advance(290);
    let (k, _) = w.step().await?;
    assert_eq!(k.updated.len(), 3, "{k:?}");
    let n = &w.nodes().await?[CP_NAME];
    let ready = condition(n, "Ready");
    assert_eq!(ready["lastHeartbeatTime"], w.clock.now().to_rfc3339_secs());
    assert_eq!(
        ready["lastTransitionTime"],
        before[CP_NAME]["status"]["conditions"][3]["lastTransitionTime"]
    );
    Ok(())
}

#[tokio::test]
async fn stopped_goes_not_ready_terminated_is_deleted() -> Result<()> {
    let w = world(Config::new(CLUSTER))?;
    let [_, w1, w2, _] = w.seed_instances()?;
    w.advance(60);
    w.step().await?;
    let name1 = w.node_of(&w1).await?["metadata"]["name"].clone();

    w.ctx
        .aws
        .call("ec2:StopInstances", &json!({"InstanceIds": [w1]}))?;
    let (_, c) = w.step().await?;
    assert_eq!(c.not_ready, [name1.as_str().unwrap_or_default()], "{c:?}");
    let n = w.node_of(&w1).await?;
    let ready = condition(&n, "Ready");
    assert_eq!(ready["status"], "Unknown");
    assert_eq!(ready["reason"], "NodeStatusUnknown");
    assert_eq!(ready["message"], "Kubelet stopped posting node status.");
    assert_eq!(condition(&n, "MemoryPressure")["status"], "Unknown");
    let keys = taint_keys(&n);
    assert!(
        keys.contains(&"node.kubernetes.io/unreachable:NoSchedule".to_string()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"node.kubernetes.io/unreachable:NoExecute".to_string()),
        "{keys:?}"
    );
    // Marking again writes nothing.
    let rv = w.kube.resource_version();
    let (k, c) = w.step().await?;
    assert_eq!((k.writes, c.writes), (0, 0), "{k:?} {c:?}");
    assert_eq!(w.kube.resource_version(), rv);

    // Once stopped, cloud-provider-aws reports the instance shut down.
    w.advance(120);
    assert_eq!(w.describe(&w1)?["State"]["Name"], "stopped");
    w.step().await?;
    let keys = taint_keys(&w.node_of(&w1).await?);
    assert!(
        keys.contains(&"node.cloudprovider.kubernetes.io/shutdown:NoSchedule".to_string()),
        "{keys:?}"
    );

    // Started again: the kubelet posts Ready after its boot, the taints go.
    w.ctx
        .aws
        .call("ec2:StartInstances", &json!({"InstanceIds": [w1]}))?;
    w.advance(60);
    let (k, c) = w.step().await?;
    assert_eq!(k.updated, [name1.as_str().unwrap_or_default()], "{k:?}");
    assert_eq!(c.recovered.len(), 1, "{c:?}");
    let n = w.node_of(&w1).await?;
    assert_eq!(condition(&n, "Ready")["status"], "True");
    assert!(taint_keys(&n).is_empty(), "{:?}", taint_keys(&n));

    // Terminated: the Node is deleted, the others stay.
    let name2 = w.node_of(&w2).await?["metadata"]["name"].clone();
    w.ctx
        .aws
        .call("ec2:TerminateInstances", &json!({"InstanceIds": [w2]}))?;
    w.advance(120);
    let (_, c) = w.step().await?;
    assert_eq!(c.deleted, [name2.as_str().unwrap_or_default()], "{c:?}");
    let nodes = w.nodes().await?;
    assert_eq!(nodes.len(), 2);
    assert!(nodes.contains_key(CP_NAME));
    Ok(())
}

#[tokio::test]
async fn eni_max_pods() -> Result<()> {
    let mut config = Config::new(CLUSTER);
    config.max_pods = MaxPods::Eni;
    let w = world(config)?;
    let [cp, w1, _, _] = w.seed_instances()?;
    w.advance(60);
    w.step().await?;
    // c5.large: 3 ENIs × (10 − 1) + 2; c5.xlarge: 4 × (15 − 1) + 2.
    assert_eq!(w.node_of(&w1).await?["status"]["capacity"]["pods"], "29");
    assert_eq!(w.node_of(&cp).await?["status"]["allocatable"]["pods"], "58");
    Ok(())
}

#[tokio::test]
async fn legacy_master_tag_shared_clusters_and_provider_ids() -> Result<()> {
    let w = world(Config::new(CLUSTER))?;
    let master = w.run(
        json!({"InstanceType": "t3.medium", "SubnetId": w.subnet_b}),
        &[
            ("kubernetes.io/cluster/int32bit-kubernetes", "shared"),
            ("kubernetes.io/role", "master"),
        ],
    )?;
    let other = w.run(
        json!({"InstanceType": "t3.medium", "SubnetId": w.subnet_b}),
        &[("kubernetes.io/cluster/another-cluster", "owned")],
    )?;
    w.advance(59);
    assert!(w.step().await?.0.registered.is_empty());
    w.advance(1);
    let (k, _) = w.step().await?;
    assert_eq!(k.registered.len(), 1, "only this cluster's instance: {k:?}");
    let n = w.node_of(&master).await?;
    assert_eq!(
        n["metadata"]["labels"]["node-role.kubernetes.io/control-plane"],
        ""
    );
    assert_eq!(
        taint_keys(&n),
        ["node-role.kubernetes.io/control-plane:NoSchedule"]
    );
    assert!(w.node_of(&other).await.is_err());

    assert_eq!(
        cloud_node::instance_id("aws:///cn-northwest-1a/i-0123456789abcdef0"),
        Some("i-0123456789abcdef0")
    );
    assert_eq!(
        cloud_node::instance_id("aws:////i-0123456789abcdef0"),
        Some("i-0123456789abcdef0")
    );
    assert_eq!(cloud_node::instance_id("kwok://node-1"), None);
    assert_eq!(
        cloud_node::instance_id("aws:///cn-northwest-1a/fargate-192.168.1.1"),
        None
    );
    Ok(())
}

#[tokio::test]
async fn cloud_controller_manager_is_authorized_by_its_chart_role() -> Result<()> {
    // cloud-controller-manager calls as the chart's `cloud-controller-manager` account: without
    // the chart's ClusterRoleBinding the Node of a terminated instance cannot be deleted.
    let w = world(Config::new(CLUSTER))?;
    let [_, _, w2, _] = w.seed_instances()?;
    w.advance(60);
    w.step().await?;
    let name = w.node_of(&w2).await?["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let admin = w.ctx.kube.clone();
    let saved = super::support::delete_binding(&admin, "system:cloud-controller-manager").await?;
    w.ctx
        .aws
        .call("ec2:TerminateInstances", &json!({"InstanceIds": [w2]}))?;
    w.advance(120);
    let err = cloud_node::reconcile_once(&w.ctx)
        .await
        .err()
        .ok_or_else(|| anyhow!("the pass succeeded without the chart's binding"))?;
    let text = format!("{err}");
    assert!(
        text.contains(&format!(
            "nodes \"{name}\" is forbidden: User \
             \"system:serviceaccount:kube-system:cloud-controller-manager\" cannot delete \
             resource \"nodes\" in API group \"\" at the cluster scope"
        )),
        "{text}"
    );
    assert!(w.nodes().await?.contains_key(&name));

    super::support::restore_binding(&admin, &saved).await?;
    let c = cloud_node::reconcile_once(&w.ctx).await?;
    assert_eq!(c.deleted, std::slice::from_ref(&name), "{c:?}");
    assert!(!w.nodes().await?.contains_key(&name));
    Ok(())
}
