//! The EC2 view both controllers share: the cluster's instances (`ec2:DescribeInstances`) and
//! their types' capacity (`ec2:DescribeInstanceTypes`), decoded from model-shaped JSON.

use crate::{Context, Error};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The members of an `Instance` the node controllers read.
#[derive(Debug, Clone)]
pub(crate) struct Ec2Instance {
    pub id: String,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`.
    pub state: String,
    pub instance_type: String,
    /// `x86_64` or `arm64` (EC2's spelling).
    pub architecture: String,
    pub az: String,
    pub az_id: Option<String>,
    pub private_ip: Option<String>,
    pub private_dns: String,
    pub public_ip: Option<String>,
    pub public_dns: String,
    /// LaunchTime in milliseconds since the epoch.
    pub launch_ms: u64,
    pub tags: BTreeMap<String, String>,
}

impl Ec2Instance {
    fn from_json(v: &Value) -> Option<Ec2Instance> {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let opt = |k: &str| v[k].as_str().filter(|x| !x.is_empty()).map(str::to_string);
        let tags = v["Tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| (s_of(&t["Key"]), s_of(&t["Value"])))
                    .collect()
            })
            .unwrap_or_default();
        Some(Ec2Instance {
            id: v["InstanceId"].as_str()?.to_string(),
            state: v["State"]["Name"].as_str()?.to_string(),
            instance_type: s("InstanceType"),
            architecture: s("Architecture"),
            az: v["Placement"]["AvailabilityZone"].as_str()?.to_string(),
            az_id: v["Placement"]["AvailabilityZoneId"]
                .as_str()
                .map(str::to_string),
            private_ip: opt("PrivateIpAddress"),
            private_dns: s("PrivateDnsName"),
            public_ip: opt("PublicIpAddress"),
            public_dns: s("PublicDnsName"),
            launch_ms: v["LaunchTime"]
                .as_str()
                .and_then(cloudbox_sim::time_fmt::parse_iso8601)
                .unwrap_or_default(),
            tags,
        })
    }

    /// The Kubernetes architecture (`amd64`, `arm64`) of EC2's `x86_64` / `arm64`.
    pub fn kube_arch(&self) -> &'static str {
        if self.architecture == "arm64" {
            "arm64"
        } else {
            "amd64"
        }
    }

    /// `aws:///<az>/<instance-id>` (cloud-provider-aws `aws.go`).
    pub fn provider_id(&self) -> String {
        format!("aws:///{}/{}", self.az, self.id)
    }
}

fn s_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Every instance matching `filters`, over all pages.
async fn describe(ctx: &Context, filters: Value) -> Result<Vec<Ec2Instance>, Error> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"Filters": filters, "MaxResults": 1000});
        if let Some(t) = &token {
            input["NextToken"] = json!(t);
        }
        let page = ctx
            .aws
            .call("ec2:DescribeInstances", &input)
            .map_err(|e| Error::DescribeInstances(Box::new(e)))?;
        for r in page["Reservations"].as_array().into_iter().flatten() {
            for i in r["Instances"].as_array().into_iter().flatten() {
                out.extend(Ec2Instance::from_json(i));
            }
        }
        token = page["NextToken"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The instances carrying the cluster tag (`tag-key` = `kubernetes.io/cluster/<cluster>`).
pub(crate) async fn cluster_instances(ctx: &Context) -> Result<Vec<Ec2Instance>, Error> {
    describe(
        ctx,
        json!([{"Name": "tag-key", "Values": [ctx.config.cluster_tag()]}]),
    )
    .await
}

/// The instances with these ids that still exist (an unknown id is simply absent, as with the
/// `instance-id` filter; an `InstanceIds` list would fail the whole call).
pub(crate) async fn instances_by_id(
    ctx: &Context,
    ids: &BTreeSet<String>,
) -> Result<Vec<Ec2Instance>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let ids: Vec<&String> = ids.iter().collect();
    // Deviation(upstream): cloud-provider-aws batches by 200 ids; a filter holds at most 200
    // values on EC2 as well.
    for chunk in ids.chunks(200) {
        out.extend(describe(ctx, json!([{"Name": "instance-id", "Values": chunk}])).await?);
    }
    Ok(out)
}

/// The capacity of an instance type (`DescribeInstanceTypes`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypeInfo {
    pub vcpus: u64,
    pub memory_mib: u64,
    pub max_enis: u64,
    pub ipv4_per_eni: u64,
}

/// The capacity of each named type.
pub(crate) async fn instance_types(
    ctx: &Context,
    names: &BTreeSet<String>,
) -> Result<BTreeMap<String, TypeInfo>, Error> {
    let mut out = BTreeMap::new();
    if names.is_empty() {
        return Ok(out);
    }
    let names: Vec<&String> = names.iter().collect();
    for chunk in names.chunks(100) {
        let page = ctx
            .aws
            .call(
                "ec2:DescribeInstanceTypes",
                &json!({"InstanceTypes": chunk}),
            )
            .map_err(|e| Error::DescribeInstanceTypes(Box::new(e)))?;
        for t in page["InstanceTypes"].as_array().into_iter().flatten() {
            let n = |v: &Value| v.as_u64().unwrap_or_default();
            out.insert(
                s_of(&t["InstanceType"]),
                TypeInfo {
                    vcpus: n(&t["VCpuInfo"]["DefaultVCpus"]),
                    memory_mib: n(&t["MemoryInfo"]["SizeInMiB"]),
                    max_enis: n(&t["NetworkInfo"]["MaximumNetworkInterfaces"]),
                    ipv4_per_eni: n(&t["NetworkInfo"]["Ipv4AddressesPerInterface"]),
                },
            );
        }
    }
    Ok(out)
}

/// Whether `have` contains everything in `want`: objects by key (recursively), arrays element
/// by element with equal lengths, scalars equal. Compares a desired fragment to a live object
/// without tripping over fields the API server adds.
pub(crate) fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w.iter().all(|(k, wv)| {
            h.get(k).is_some_and(|hv| contains(hv, wv)) || wv.is_null() && h.get(k).is_none()
        }),
        (Value::Array(h), Value::Array(w)) => {
            h.len() == w.len() && h.iter().zip(w).all(|(a, b)| contains(a, b))
        }
        _ => have == want,
    }
}
