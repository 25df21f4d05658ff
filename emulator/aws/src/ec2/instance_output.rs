//! The `Reservation` and `Instance` shapes (DescribeInstances, RunInstances), written member by
//! member from the state records into a [`Sink`]: straight to XML on the HTTP path, to JSON for
//! the in-process client. No intermediate JSON tree is built for the 365 KiB a DescribeInstances
//! over 100 instances answers.

use super::cidr::ip_to_string;
use super::instances::ROOT_DEVICE;
use super::state::{Eni, Instance, InstanceState, RegionState};
use crate::protocol::render::{JsonSink, Sink};
use serde_json::Value;

/// One reservation with its instances.
pub fn write_reservation(
    st: &RegionState,
    reservation_id: &str,
    instances: &[&Instance],
    s: &mut dyn Sink,
) {
    s.str("ReservationId", reservation_id);
    s.str("OwnerId", &st.account);
    s.objects("Groups", 0, &mut |_, _| {});
    s.objects("Instances", instances.len(), &mut |s, n| {
        write_instance(st, instances[n], s)
    });
}

/// One reservation as model-shaped JSON (RunInstances' output).
pub fn reservation_json(st: &RegionState, reservation_id: &str, instances: &[&Instance]) -> Value {
    JsonSink::build(|s| write_reservation(st, reservation_id, instances, s))
}

/// The `BlockDeviceMappings` member of an instance.
pub fn write_block_devices(st: &RegionState, i: &Instance, s: &mut dyn Sink) {
    let devices: Vec<_> = i
        .devices
        .iter()
        .filter_map(|(device, vol_id)| {
            let a = st.volumes.get(vol_id)?.attachment.as_ref()?;
            Some((device, vol_id, a))
        })
        .collect();
    s.objects("BlockDeviceMappings", devices.len(), &mut |s, n| {
        let (device, vol_id, a) = devices[n];
        s.str("DeviceName", device);
        s.object("Ebs", &mut |s| {
            s.str("VolumeId", vol_id);
            s.str("Status", a.state);
            s.str("AttachTime", &a.time.to_iso8601_millis());
            s.bool("DeleteOnTermination", a.delete_on_termination);
        });
    });
}

/// The `BlockDeviceMappings` of an instance as JSON (DescribeInstanceAttribute).
pub fn block_devices_json(st: &RegionState, i: &Instance) -> Value {
    let mut v = JsonSink::build(|s| write_block_devices(st, i, s));
    v.get_mut("BlockDeviceMappings")
        .map(Value::take)
        .unwrap_or(Value::Array(Vec::new()))
}

fn write_groups(st: &RegionState, groups: &[String], member: &str, s: &mut dyn Sink) {
    s.objects(member, groups.len(), &mut |s, n| {
        let g = &groups[n];
        s.str("GroupId", g);
        s.str(
            "GroupName",
            st.security_groups
                .get(g)
                .map(|sg| sg.name.as_str())
                .unwrap_or_default(),
        );
    });
}

/// An instance as the `Instance` shape.
pub fn write_instance(st: &RegionState, i: &Instance, s: &mut dyn Sink) {
    let terminated = i.state == InstanceState::Terminated;
    let primary = i.enis.get(&0).and_then(|e| st.enis.get(e));
    let private_ip = primary
        .and_then(|e| e.ips.first())
        .map(|ip| ip_to_string(*ip));
    let ty = RegionState::instance_type(&i.instance_type);
    let threads = if i.architecture == "arm64" || ty.is_some_and(|t| t.vcpu == 1) {
        1
    } else {
        2
    };
    let vcpu = ty.map_or(1, |t| t.vcpu);
    let launch_time = i.launch_time.to_iso8601_millis();
    s.str("InstanceId", &i.id);
    s.str("ImageId", &i.image_id);
    s.object("State", &mut |s| {
        s.int("Code", i.state.code());
        s.str("Name", i.state.name());
    });
    let private_dns = match (&private_ip, terminated) {
        (Some(p), false) => st.region.private_dns(p),
        _ => String::new(),
    };
    s.str("PrivateDnsName", &private_dns);
    let public_dns = i
        .public_ip
        .as_ref()
        .map(|p| st.region.public_dns(p))
        .unwrap_or_default();
    s.str("PublicDnsName", &public_dns);
    s.str("StateTransitionReason", &i.state_reason);
    s.opt_str("KeyName", i.key_name.as_deref());
    s.int("AmiLaunchIndex", i.launch_index);
    s.objects("ProductCodes", 0, &mut |_, _| {});
    s.str("InstanceType", &i.instance_type);
    s.str("LaunchTime", &launch_time);
    s.object("Placement", &mut |s| {
        s.str("AvailabilityZone", &i.az);
        s.opt_str("AvailabilityZoneId", st.az(&i.az).map(|a| a.id.as_str()));
        s.str("GroupName", "");
        s.str("Tenancy", "default");
    });
    s.object("Monitoring", &mut |s| s.str("State", "disabled"));
    if !terminated {
        s.str("SubnetId", &i.subnet_id);
        s.str("VpcId", &i.vpc_id);
        s.opt_str("PrivateIpAddress", private_ip.as_deref());
    }
    s.opt_str("PublicIpAddress", i.public_ip.as_deref());
    match i.state {
        InstanceState::Pending => s.object("StateReason", &mut |s| {
            s.str("Code", "pending");
            s.str("Message", "pending");
        }),
        InstanceState::ShuttingDown
        | InstanceState::Terminated
        | InstanceState::Stopping
        | InstanceState::Stopped => s.object("StateReason", &mut |s| {
            s.str("Code", "Client.UserInitiatedShutdown");
            s.str(
                "Message",
                "Client.UserInitiatedShutdown: User initiated shutdown",
            );
        }),
        InstanceState::Running => {}
    }
    s.str("Architecture", &i.architecture);
    s.str("RootDeviceType", "ebs");
    s.str("RootDeviceName", ROOT_DEVICE);
    write_block_devices(st, i, s);
    s.str("VirtualizationType", "hvm");
    s.str("ClientToken", i.client_token.as_deref().unwrap_or_default());
    let tags: Vec<(&String, &String)> = st
        .tags
        .get(&i.id)
        .map(|t| t.iter().collect())
        .unwrap_or_default();
    s.objects("Tags", tags.len(), &mut |s, n| {
        s.str("Key", tags[n].0);
        s.str("Value", tags[n].1);
    });
    write_groups(
        st,
        primary.map(|e| e.groups.as_slice()).unwrap_or_default(),
        "SecurityGroups",
        s,
    );
    s.bool("SourceDestCheck", i.source_dest_check);
    s.str("Hypervisor", "xen");
    let enis: Vec<&Eni> = i.enis.values().filter_map(|e| st.enis.get(e)).collect();
    s.objects("NetworkInterfaces", enis.len(), &mut |s, n| {
        write_instance_eni(st, enis[n], s)
    });
    if let Some(arn) = &i.iam_profile_arn {
        s.object("IamInstanceProfile", &mut |s| {
            s.str("Arn", arn);
            s.str(
                "Id",
                &format!("AIPA{}", i.id.get(2..).unwrap_or_default().to_uppercase()),
            );
        });
    }
    s.bool("EbsOptimized", i.ebs_optimized);
    s.bool("EnaSupport", true);
    s.object("CpuOptions", &mut |s| {
        s.int("CoreCount", i64::from((vcpu / threads).max(1)));
        s.int("ThreadsPerCore", i64::from(threads));
    });
    s.object("CapacityReservationSpecification", &mut |s| {
        s.str("CapacityReservationPreference", "open")
    });
    s.object("HibernationOptions", &mut |s| s.bool("Configured", false));
    s.object("MetadataOptions", &mut |s| {
        s.str("State", "applied");
        s.str("HttpTokens", "optional");
        s.int("HttpPutResponseHopLimit", 1);
        s.str("HttpEndpoint", "enabled");
        s.str("HttpProtocolIpv6", "disabled");
        s.str("InstanceMetadataTags", "disabled");
    });
    s.object("EnclaveOptions", &mut |s| s.bool("Enabled", false));
    s.str("PlatformDetails", "Linux/UNIX");
    s.str("UsageOperation", "RunInstances");
    s.str("UsageOperationUpdateTime", &launch_time);
    s.object("PrivateDnsNameOptions", &mut |s| {
        s.str("HostnameType", "ip-name");
        s.bool("EnableResourceNameDnsARecord", false);
        s.bool("EnableResourceNameDnsAAAARecord", false);
    });
    s.object("MaintenanceOptions", &mut |s| {
        s.str("AutoRecovery", "default")
    });
    s.str("CurrentInstanceBootMode", "legacy-bios");
}

/// The public address of an ENI as the `Association` shape.
fn write_association(st: &RegionState, e: &Eni, s: &mut dyn Sink) {
    if let Some(ip) = &e.public_ip {
        s.object("Association", &mut |s| {
            s.str("PublicIp", ip);
            s.str("PublicDnsName", &st.region.public_dns(ip));
            s.str("IpOwnerId", "amazon");
        });
    }
}

/// An attached ENI as the `InstanceNetworkInterface` shape.
fn write_instance_eni(st: &RegionState, e: &Eni, s: &mut dyn Sink) {
    let ips: Vec<String> = e.ips.iter().map(|ip| ip_to_string(*ip)).collect();
    let primary = ips.first();
    s.str("NetworkInterfaceId", &e.id);
    s.str("SubnetId", &e.subnet_id);
    s.str("VpcId", &e.vpc_id);
    s.str("Description", &e.description);
    s.str("OwnerId", &st.account);
    s.str(
        "Status",
        if e.attachment.is_some() {
            "in-use"
        } else {
            "available"
        },
    );
    s.str("MacAddress", &e.mac);
    s.opt_str("PrivateIpAddress", primary.map(String::as_str));
    if let Some(p) = primary {
        s.str("PrivateDnsName", &st.region.private_dns(p));
    }
    s.bool("SourceDestCheck", e.source_dest_check);
    write_groups(st, &e.groups, "Groups", s);
    if let Some(a) = &e.attachment {
        s.object("Attachment", &mut |s| {
            s.str("AttachmentId", &a.id);
            s.str("AttachTime", &a.time.to_iso8601_millis());
            s.bool("DeleteOnTermination", a.delete_on_termination);
            s.int("DeviceIndex", a.device_index);
            s.int("NetworkCardIndex", 0);
            s.str("Status", a.status);
        });
    }
    write_association(st, e, s);
    s.objects("PrivateIpAddresses", ips.len(), &mut |s, n| {
        s.bool("Primary", n == 0);
        s.str("PrivateIpAddress", &ips[n]);
        s.str("PrivateDnsName", &st.region.private_dns(&ips[n]));
        if n == 0 {
            write_association(st, e, s);
        }
    });
    s.objects("Ipv6Addresses", 0, &mut |_, _| {});
    s.str("InterfaceType", &e.interface_type);
}

#[cfg(test)]
mod tests {
    use crate::protocol::{ec2 as codec, model};
    use crate::regions::Output;
    use crate::service::Ec2;
    use crate::{AwsClient, AwsState};
    use cloudbox_sim::Clock;
    use serde_json::json;

    /// Every `<leaf>text</leaf>` and empty `<list/>` of a document, sorted: the same data in any
    /// member order.
    fn leaves(xml: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = xml;
        while let Some(start) = rest.find('<') {
            rest = &rest[start + 1..];
            let Some(end) = rest.find('>') else { break };
            let tag = &rest[..end];
            if tag.ends_with('/') {
                out.push(format!("<{tag}>"));
            } else if !tag.starts_with('/') {
                let body = &rest[end + 1..];
                if let Some(close) = body.find('<') {
                    if body[close..].starts_with(&format!("</{tag}>")) {
                        out.push(format!("{tag}={}", &body[..close]));
                    }
                }
            }
            rest = &rest[end + 1..];
        }
        out.sort();
        out
    }

    #[test]
    fn typed_xml_carries_what_the_json_carries() {
        let state = AwsState::new_strict(Clock::manual(), 7);
        let aws = AwsClient::new(&state, "cn-northwest-1").expect("region");
        let vpc = aws
            .call("ec2:CreateVpc", &json!({"CidrBlock": "192.168.192.0/22"}))
            .expect("vpc")["Vpc"]["VpcId"]
            .clone();
        let subnet = aws
            .call(
                "ec2:CreateSubnet",
                &json!({"VpcId": vpc, "CidrBlock": "192.168.193.0/24", "AvailabilityZone": "cn-northwest-1a"}),
            )
            .expect("subnet")["Subnet"]["SubnetId"]
            .clone();
        let run = aws
            .call(
                "ec2:RunInstances",
                &json!({"ImageId": "ami-0123456789abcdef0", "InstanceType": "c5.large", "MinCount": 3, "MaxCount": 3,
                        "SubnetId": subnet, "KeyName": "k",
                        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "a&b"}]}]}),
            )
            .expect("run");
        let id = run["Instances"][0]["InstanceId"].clone();
        let eni = aws
            .call(
                "ec2:CreateNetworkInterface",
                &json!({"SubnetId": subnet, "SecondaryPrivateIpAddressCount": 2}),
            )
            .expect("eni")["NetworkInterface"]["NetworkInterfaceId"]
            .clone();
        state.clock().advance(std::time::Duration::from_secs(60));
        aws.call(
            "ec2:AttachNetworkInterface",
            &json!({"NetworkInterfaceId": eni, "InstanceId": id, "DeviceIndex": 1}),
        )
        .expect("attach");
        let m = model::ec2();
        let op = &m.operations["DescribeInstances"];
        let as_json = aws
            .call("ec2:DescribeInstances", &json!({}))
            .expect("describe");
        let via_json = codec::serialize_members(m, op, &as_json);
        let caller = state.regions().caller(
            "AKIACLOUDBOXINPROCESS",
            crate::ec2::catalog::region("cn-northwest-1").expect("region"),
        );
        let typed = state
            .regions()
            .call_rendered(
                &Ec2,
                &caller,
                crate::ec2::catalog::region("cn-northwest-1").expect("region"),
                "DescribeInstances",
                &json!({}),
                |o| match o {
                    Output::Typed(write) => {
                        let (mut out, mut unknown) = (String::new(), Vec::new());
                        let shape = op.output.expect("output");
                        write(&mut crate::protocol::render::XmlSink::new(
                            m,
                            shape,
                            &mut out,
                            &mut unknown,
                        ))?;
                        assert!(unknown.is_empty(), "{unknown:?}");
                        Ok(out)
                    }
                    Output::Json(_) => panic!("DescribeInstances is typed"),
                },
            )
            .expect("typed");
        assert!(typed.contains("<value>a&amp;b</value>"), "{typed}");
        assert!(typed.contains("<networkInterfaceSet><item>"), "{typed}");
        assert_eq!(leaves(&typed), leaves(&via_json));
        assert_eq!(leaves(&typed).len(), leaves(&via_json).len());
        assert!(leaves(&typed).len() > 150);
    }
}
