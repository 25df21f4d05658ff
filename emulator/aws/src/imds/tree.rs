//! The paths IMDS serves for one instance, rendered from what EC2's DescribeInstances says
//! about it (so private DNS names, addresses, MACs and ENIs agree with the API):
//!
//! - `latest/meta-data/` (directory listings one entry per line, directories with a trailing
//!   `/`): `ami-id`, `ami-launch-index`, `hostname`, `instance-action`, `instance-id`,
//!   `instance-life-cycle`, `instance-type`, `local-hostname`, `local-ipv4`, `mac`,
//!   `placement/{availability-zone,availability-zone-id,region}`, `public-hostname` and
//!   `public-ipv4` (when the instance has a public address), `reservation-id`,
//!   `security-groups`, `services/{domain,partition}`, `iam/{info,security-credentials/<role>}`
//!   (when it has an instance profile), and `network/interfaces/macs/<mac>/{device-number,
//!   interface-id, local-hostname, local-ipv4s, mac, owner-id, public-hostname, public-ipv4s,
//!   security-group-ids, security-groups, subnet-id, subnet-ipv4-cidr-block, vpc-id,
//!   vpc-ipv4-cidr-block, vpc-ipv4-cidr-blocks}` for every attached ENI;
//! - `latest/user-data` (decoded; 404 when there is none);
//! - `latest/dynamic/instance-identity/document` (JSON).
//!
//! Instance-profile credentials are real STS sessions ([`crate::sts::credentials`]), so the
//! endpoint accepts them. Not served: block-device mappings, events, spot, tags, IPv6, signatures
//! of the identity document.

use crate::ec2::input::Input;
use crate::region::RegionState;
use serde_json::Value;
use std::collections::BTreeMap;

/// JSON the way IMDS prints it: two-space indent, `"key" : value`, members in the given order.
pub fn imds_json(members: &[(&str, Value)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("  \"{k}\" : {v}"))
        .collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}

fn s(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or_default().to_string()
}

/// Every leaf under `meta-data/` except `iam/`: relative path → value.
fn meta_data(st: &RegionState, id: &str) -> Option<BTreeMap<String, String>> {
    let i = st.instances.get(id)?;
    let v = crate::ec2::instance_output::instance_json(st, i);
    let mut m = BTreeMap::new();
    let mut put = |k: &str, val: String| {
        m.insert(k.to_string(), val);
    };
    let dns = s(&v, &["PrivateDnsName"]);
    put("ami-id", s(&v, &["ImageId"]));
    put("ami-launch-index", i.launch_index.to_string());
    put("hostname", dns.clone());
    put("local-hostname", dns);
    put("instance-action", "none".into());
    put("instance-id", i.id.clone());
    put("instance-life-cycle", "on-demand".into());
    put("instance-type", i.instance_type.clone());
    put("local-ipv4", s(&v, &["PrivateIpAddress"]));
    put("placement/availability-zone", i.az.clone());
    put(
        "placement/availability-zone-id",
        s(&v, &["Placement", "AvailabilityZoneId"]),
    );
    put("placement/region", st.region.name.to_string());
    put("reservation-id", i.reservation_id.clone());
    let groups: Vec<String> = v["SecurityGroups"]
        .as_array()
        .map(|a| a.iter().map(|g| s(g, &["GroupName"])).collect())
        .unwrap_or_default();
    put("security-groups", groups.join("\n"));
    put("services/domain", st.region.dns_suffix().to_string());
    put("services/partition", st.region.partition.to_string());
    if let Some(ip) = v.opt_str("PublicIpAddress") {
        put("public-ipv4", ip.to_string());
        put("public-hostname", s(&v, &["PublicDnsName"]));
    }
    for e in v["NetworkInterfaces"].as_array().into_iter().flatten() {
        let mac = s(e, &["MacAddress"]);
        if e["Attachment"]["DeviceIndex"].as_i64() == Some(0) {
            m.insert("mac".into(), mac.clone());
        }
        let base = format!("network/interfaces/macs/{mac}/");
        let mut put_eni = |k: &str, val: String| {
            m.insert(format!("{base}{k}"), val);
        };
        put_eni(
            "device-number",
            e["Attachment"]["DeviceIndex"]
                .as_i64()
                .unwrap_or_default()
                .to_string(),
        );
        put_eni("interface-id", s(e, &["NetworkInterfaceId"]));
        put_eni("local-hostname", s(e, &["PrivateDnsName"]));
        let ips: Vec<String> = e["PrivateIpAddresses"]
            .as_array()
            .map(|a| a.iter().map(|p| s(p, &["PrivateIpAddress"])).collect())
            .unwrap_or_default();
        put_eni("local-ipv4s", ips.join("\n"));
        put_eni("mac", mac.clone());
        put_eni("owner-id", st.account.clone());
        if let Some(ip) = e["Association"].opt_str("PublicIp") {
            put_eni("public-ipv4s", ip.to_string());
            put_eni("public-hostname", s(e, &["Association", "PublicDnsName"]));
        }
        let gids: Vec<String> = e["Groups"]
            .as_array()
            .map(|a| a.iter().map(|g| s(g, &["GroupId"])).collect())
            .unwrap_or_default();
        let gnames: Vec<String> = e["Groups"]
            .as_array()
            .map(|a| a.iter().map(|g| s(g, &["GroupName"])).collect())
            .unwrap_or_default();
        put_eni("security-group-ids", gids.join("\n"));
        put_eni("security-groups", gnames.join("\n"));
        let subnet_id = s(e, &["SubnetId"]);
        let vpc_id = s(e, &["VpcId"]);
        put_eni(
            "subnet-ipv4-cidr-block",
            st.subnets
                .get(&subnet_id)
                .map(|x| x.cidr.to_string())
                .unwrap_or_default(),
        );
        let vpc_cidr = st
            .vpcs
            .get(&vpc_id)
            .map(|x| x.cidr.to_string())
            .unwrap_or_default();
        put_eni("subnet-id", subnet_id);
        put_eni("vpc-id", vpc_id);
        put_eni("vpc-ipv4-cidr-block", vpc_cidr.clone());
        put_eni("vpc-ipv4-cidr-blocks", vpc_cidr);
    }
    Some(m)
}

/// The listing of directory `dir` (`""` or ending in `/`) among `leaves`, or `None`.
fn listing<'a>(leaves: impl Iterator<Item = &'a String>, dir: &str) -> Option<String> {
    let mut entries: Vec<String> = Vec::new();
    for leaf in leaves {
        let Some(rest) = leaf.strip_prefix(dir) else {
            continue;
        };
        let entry = match rest.split_once('/') {
            Some((d, _)) => format!("{d}/"),
            None => rest.to_string(),
        };
        if !entries.contains(&entry) {
            entries.push(entry);
        }
    }
    if entries.is_empty() {
        None
    } else {
        entries.sort();
        Some(entries.join("\n"))
    }
}

/// The `iam/` leaves (issuing or reusing instance-profile credentials only when asked).
fn iam(st: &mut RegionState, id: &str, rest: &str) -> Option<String> {
    let profile = st.instances.get(id)?.iam_profile_arn.clone()?;
    let role = profile.rsplit('/').next().unwrap_or_default().to_string();
    match rest {
        "" => Some("info\nsecurity-credentials/".into()),
        "security-credentials" => Some(role),
        "info" => {
            let (_, session) = crate::sts::credentials::instance_credentials(st, id)?;
            let profile_id = format!("AIPA{}", &crate::sts::credentials::role_id(&profile)[4..]);
            Some(imds_json(&[
                ("Code", "Success".into()),
                (
                    "LastUpdated",
                    cloudbox_sim::SimTime(session.issued_ms)
                        .to_rfc3339_secs()
                        .into(),
                ),
                ("InstanceProfileArn", profile.into()),
                ("InstanceProfileId", profile_id.into()),
            ]))
        }
        r if r.strip_prefix("security-credentials/") == Some(role.as_str()) => {
            let (_, s) = crate::sts::credentials::instance_credentials(st, id)?;
            Some(imds_json(&[
                ("Code", "Success".into()),
                (
                    "LastUpdated",
                    cloudbox_sim::SimTime(s.issued_ms).to_rfc3339_secs().into(),
                ),
                ("Type", "AWS-HMAC".into()),
                ("AccessKeyId", s.caller.access_key.clone().into()),
                ("SecretAccessKey", s.secret_key.clone().into()),
                ("Token", s.token.clone().into()),
                (
                    "Expiration",
                    cloudbox_sim::SimTime(s.expires_ms).to_rfc3339_secs().into(),
                ),
            ]))
        }
        _ => None,
    }
}

fn identity_document(st: &RegionState, id: &str) -> Option<String> {
    let i = st.instances.get(id)?;
    let v = crate::ec2::instance_output::instance_json(st, i);
    Some(imds_json(&[
        ("accountId", st.account.clone().into()),
        ("architecture", i.architecture.clone().into()),
        ("availabilityZone", i.az.clone().into()),
        ("billingProducts", Value::Null),
        ("devpayProductCodes", Value::Null),
        ("marketplaceProductCodes", Value::Null),
        ("imageId", i.image_id.clone().into()),
        ("instanceId", i.id.clone().into()),
        ("instanceType", i.instance_type.clone().into()),
        ("kernelId", Value::Null),
        ("pendingTime", i.launch_time.to_rfc3339_secs().into()),
        ("privateIp", s(&v, &["PrivateIpAddress"]).into()),
        ("ramdiskId", Value::Null),
        ("region", st.region.name.into()),
        ("version", "2017-09-30".into()),
    ]))
}

/// The body of `path` (relative to the instance's IMDS root) for instance `id`, or `None` (404).
pub fn get(st: &mut RegionState, id: &str, path: &str) -> Option<String> {
    let path = path.trim_end_matches('/');
    let has_user_data = st.instances.get(id)?.user_data.is_some();
    match path {
        "" => return Some("latest".into()),
        "latest" => {
            return Some(if has_user_data {
                "dynamic\nmeta-data\nuser-data".into()
            } else {
                "dynamic\nmeta-data".into()
            })
        }
        "latest/user-data" => {
            let raw = st.instances.get(id)?.user_data.clone()?;
            let bytes = crate::sts::credentials::base64_decode(&raw)?;
            return Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        "latest/dynamic" => return Some("instance-identity/".into()),
        "latest/dynamic/instance-identity" => return Some("document".into()),
        "latest/dynamic/instance-identity/document" => return identity_document(st, id),
        _ => {}
    }
    let rest = if path == "latest/meta-data" {
        ""
    } else {
        path.strip_prefix("latest/meta-data/")?
    };
    if rest == "iam" || rest.starts_with("iam/") {
        return iam(
            st,
            id,
            rest.strip_prefix("iam")
                .unwrap_or_default()
                .trim_start_matches('/'),
        );
    }
    let mut leaves = meta_data(st, id)?;
    if rest.is_empty() && st.instances.get(id)?.iam_profile_arn.is_some() {
        leaves.insert("iam/info".into(), String::new());
    }
    if let Some(v) = leaves.get(rest) {
        return Some(v.clone());
    }
    let dir = if rest.is_empty() {
        String::new()
    } else {
        format!("{rest}/")
    };
    listing(leaves.keys(), &dir)
}
