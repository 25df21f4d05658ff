//! The `Reservation` and `Instance` shapes (DescribeInstances, RunInstances), written member by
//! member from the state records into a [`Sink`]: straight to XML on the HTTP path, to JSON for
//! the in-process client. No intermediate JSON tree is built for the 365 KiB a DescribeInstances
//! over 100 instances answers.

use super::cidr::ip_to_string;
use super::domain::ROOT_DEVICE;
use super::state::{Eni, Instance, InstanceState, RegionState};
use crate::members::ec2 as m;
use crate::protocol::render::{JsonSink, Sink};
use serde_json::Value;

/// One reservation with its instances.
pub fn write_reservation(
    st: &RegionState,
    reservation_id: &str,
    instances: &[&Instance],
    s: &mut dyn Sink,
) {
    s.str(m::ReservationId, reservation_id);
    s.str(m::OwnerId, &st.account);
    s.objects(m::Groups, 0, &mut |_, _| {});
    s.objects(m::Instances, instances.len(), &mut |s, n| {
        write_instance(st, instances[n], s)
    });
}

/// An instance as model-shaped JSON (the `Instance` shape; IMDS reads it so the metadata and
/// DescribeInstances agree).
pub fn instance_json(st: &RegionState, i: &Instance) -> Value {
    JsonSink::build(|s| write_instance(st, i, s))
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
    s.objects(m::BlockDeviceMappings, devices.len(), &mut |s, n| {
        let (device, vol_id, a) = devices[n];
        s.str(m::DeviceName, device);
        s.object(m::Ebs, &mut |s| {
            s.str(m::VolumeId, vol_id);
            s.str(m::Status, a.state);
            s.str(m::AttachTime, &a.time.to_iso8601_millis());
            s.bool(m::DeleteOnTermination, a.delete_on_termination);
        });
    });
}

/// The `BlockDeviceMappings` of an instance as JSON (DescribeInstanceAttribute).
pub fn block_devices_json(st: &RegionState, i: &Instance) -> Value {
    let mut v = JsonSink::build(|s| write_block_devices(st, i, s));
    v.get_mut(m::BlockDeviceMappings)
        .map(Value::take)
        .unwrap_or(Value::Array(Vec::new()))
}

fn write_groups(st: &RegionState, groups: &[String], member: &'static str, s: &mut dyn Sink) {
    s.objects(member, groups.len(), &mut |s, n| {
        let g = &groups[n];
        s.str(m::GroupId, g);
        s.str(
            m::GroupName,
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
    s.str(m::InstanceId, &i.id);
    s.str(m::ImageId, &i.image_id);
    s.object(m::State, &mut |s| {
        s.int(m::Code, i.state.code());
        s.str(m::Name, i.state.name());
    });
    let private_dns = match (&private_ip, terminated) {
        (Some(p), false) => st.region.private_dns(p),
        _ => String::new(),
    };
    s.str(m::PrivateDnsName, &private_dns);
    let public_dns = i
        .public_ip
        .as_ref()
        .map(|p| st.region.public_dns(p))
        .unwrap_or_default();
    s.str(m::PublicDnsName, &public_dns);
    s.str(m::StateTransitionReason, &i.state_reason);
    s.opt_str(m::KeyName, i.key_name.as_deref());
    s.int(m::AmiLaunchIndex, i.launch_index);
    s.objects(m::ProductCodes, 0, &mut |_, _| {});
    s.str(m::InstanceType, &i.instance_type);
    s.str(m::LaunchTime, &launch_time);
    s.object(m::Placement, &mut |s| {
        s.str(m::AvailabilityZone, &i.az);
        s.opt_str(m::AvailabilityZoneId, st.az(&i.az).map(|a| a.id.as_str()));
        s.str(m::GroupName, "");
        s.str(m::Tenancy, "default");
    });
    s.object(m::Monitoring, &mut |s| s.str(m::State, "disabled"));
    if !terminated {
        s.str(m::SubnetId, &i.subnet_id);
        s.str(m::VpcId, &i.vpc_id);
        s.opt_str(m::PrivateIpAddress, private_ip.as_deref());
    }
    s.opt_str(m::PublicIpAddress, i.public_ip.as_deref());
    match i.state {
        InstanceState::Pending => s.object(m::StateReason, &mut |s| {
            s.str(m::Code, "pending");
            s.str(m::Message, "pending");
        }),
        InstanceState::ShuttingDown
        | InstanceState::Terminated
        | InstanceState::Stopping
        | InstanceState::Stopped => s.object(m::StateReason, &mut |s| {
            s.str(m::Code, "Client.UserInitiatedShutdown");
            s.str(
                m::Message,
                "Client.UserInitiatedShutdown: User initiated shutdown",
            );
        }),
        InstanceState::Running => {}
    }
    s.str(m::Architecture, &i.architecture);
    s.str(m::RootDeviceType, "ebs");
    s.str(m::RootDeviceName, ROOT_DEVICE);
    write_block_devices(st, i, s);
    s.str(m::VirtualizationType, "hvm");
    s.str(
        m::ClientToken,
        i.client_token.as_deref().unwrap_or_default(),
    );
    let tags: Vec<(&String, &String)> = st
        .tags
        .get(&i.id)
        .map(|t| t.iter().collect())
        .unwrap_or_default();
    s.objects(m::Tags, tags.len(), &mut |s, n| {
        s.str(m::Key, tags[n].0);
        s.str(m::Value, tags[n].1);
    });
    write_groups(
        st,
        primary.map(|e| e.groups.as_slice()).unwrap_or_default(),
        m::SecurityGroups,
        s,
    );
    s.bool(m::SourceDestCheck, i.source_dest_check);
    s.str(m::Hypervisor, "xen");
    let enis: Vec<&Eni> = i.enis.values().filter_map(|e| st.enis.get(e)).collect();
    s.objects(m::NetworkInterfaces, enis.len(), &mut |s, n| {
        write_instance_eni(st, enis[n], s)
    });
    if let Some(arn) = &i.iam_profile_arn {
        s.object(m::IamInstanceProfile, &mut |s| {
            s.str(m::Arn, arn);
            s.str(
                m::Id,
                &format!("AIPA{}", i.id.get(2..).unwrap_or_default().to_uppercase()),
            );
        });
    }
    s.bool(m::EbsOptimized, i.ebs_optimized);
    s.bool(m::EnaSupport, true);
    s.object(m::CpuOptions, &mut |s| {
        s.int(m::CoreCount, i64::from((vcpu / threads).max(1)));
        s.int(m::ThreadsPerCore, i64::from(threads));
    });
    s.object(m::CapacityReservationSpecification, &mut |s| {
        s.str(m::CapacityReservationPreference, "open")
    });
    s.object(m::HibernationOptions, &mut |s| s.bool(m::Configured, false));
    s.object(m::MetadataOptions, &mut |s| {
        s.str(m::State, "applied");
        s.str(m::HttpTokens, &i.http_tokens);
        s.int(m::HttpPutResponseHopLimit, 1);
        s.str(m::HttpEndpoint, "enabled");
        s.str(m::HttpProtocolIpv6, "disabled");
        s.str(m::InstanceMetadataTags, "disabled");
    });
    s.object(m::EnclaveOptions, &mut |s| s.bool(m::Enabled, false));
    s.str(m::PlatformDetails, "Linux/UNIX");
    s.str(m::UsageOperation, "RunInstances");
    s.str(m::UsageOperationUpdateTime, &launch_time);
    s.object(m::PrivateDnsNameOptions, &mut |s| {
        s.str(m::HostnameType, "ip-name");
        s.bool(m::EnableResourceNameDnsARecord, false);
        s.bool(m::EnableResourceNameDnsAAAARecord, false);
    });
    s.object(m::MaintenanceOptions, &mut |s| {
        s.str(m::AutoRecovery, "default")
    });
    s.str(m::CurrentInstanceBootMode, "legacy-bios");
}

/// The public address of an ENI as the `Association` shape.
fn write_association(st: &RegionState, e: &Eni, s: &mut dyn Sink) {
    if let Some(ip) = &e.public_ip {
        s.object(m::Association, &mut |s| {
            s.str(m::PublicIp, ip);
            s.str(m::PublicDnsName, &st.region.public_dns(ip));
            s.str(m::IpOwnerId, "amazon");
        });
    }
}

/// An attached ENI as the `InstanceNetworkInterface` shape.
fn write_instance_eni(st: &RegionState, e: &Eni, s: &mut dyn Sink) {
    let ips: Vec<String> = e.ips.iter().map(|ip| ip_to_string(*ip)).collect();
    let dns: Vec<String> = ips.iter().map(|ip| st.region.private_dns(ip)).collect();
    let primary = ips.first();
    s.str(m::NetworkInterfaceId, &e.id);
    s.str(m::SubnetId, &e.subnet_id);
    s.str(m::VpcId, &e.vpc_id);
    s.str(m::Description, &e.description);
    s.str(m::OwnerId, &st.account);
    s.str(
        m::Status,
        if e.attachment.is_some() {
            "in-use"
        } else {
            "available"
        },
    );
    s.str(m::MacAddress, &e.mac);
    s.opt_str(m::PrivateIpAddress, primary.map(String::as_str));
    if let Some(d) = dns.first() {
        s.str(m::PrivateDnsName, d);
    }
    s.bool(m::SourceDestCheck, e.source_dest_check);
    write_groups(st, &e.groups, m::Groups, s);
    if let Some(a) = &e.attachment {
        s.object(m::Attachment, &mut |s| {
            s.str(m::AttachmentId, &a.id);
            s.str(m::AttachTime, &a.time.to_iso8601_millis());
            s.bool(m::DeleteOnTermination, a.delete_on_termination);
            s.int(m::DeviceIndex, a.device_index);
            s.int(m::NetworkCardIndex, 0);
            s.str(m::Status, a.status);
        });
    }
    write_association(st, e, s);
    s.objects(m::PrivateIpAddresses, ips.len(), &mut |s, n| {
        s.bool(m::Primary, n == 0);
        s.str(m::PrivateIpAddress, &ips[n]);
        s.str(m::PrivateDnsName, &dns[n]);
        if n == 0 {
            write_association(st, e, s);
        }
    });
    s.objects(m::Ipv6Addresses, 0, &mut |_, _| {});
    s.str(m::InterfaceType, &e.interface_type);
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
