//! EBS volumes: states on the clock, AZ rules, device names, modifications.

use crate::support::*;
use aws_sdk_ec2::types::{ResourceType, VolumeState, VolumeType};

async fn volume(w: &World, az: &str, size: i32) -> String {
    w.ec2
        .create_volume()
        .availability_zone(az)
        .size(size)
        .volume_type(VolumeType::Gp2)
        .tag_specifications(tags(
            ResourceType::Volume,
            &[("kubernetes.io/created-for/pvc/name", "ebs-standard-30g")],
        ))
        .send()
        .await
        .expect("volume")
        .volume_id()
        .expect("id")
        .to_string()
}

async fn volume_state(w: &World, id: &str) -> (String, Vec<(String, String)>) {
    let d = w
        .ec2
        .describe_volumes()
        .volume_ids(id)
        .send()
        .await
        .expect("describe");
    let v = &d.volumes()[0];
    (
        v.state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        v.attachments()
            .iter()
            .map(|a| {
                (
                    a.instance_id().unwrap_or_default().to_string(),
                    a.state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect(),
    )
}

#[tokio::test]
async fn create_attach_detach_delete_on_the_clock() {
    let w = World::new("us-east-1");
    let (_v, _a, _b, i) = basic_world(&w).await;
    let vol = volume(&w, "us-east-1a", 30).await;
    assert_eq!(volume_state(&w, &vol).await.0, "creating");
    let r = w
        .ec2
        .attach_volume()
        .volume_id(&vol)
        .instance_id(&i)
        .device("/dev/xvdba")
        .send()
        .await;
    assert_eq!(code(r), "IncorrectState", "still creating");
    w.advance(10);
    let d = w
        .ec2
        .describe_volumes()
        .filters(filter(
            "tag:kubernetes.io/created-for/pvc/name",
            &["ebs-standard-30g"],
        ))
        .send()
        .await
        .expect("by tag");
    let v = &d.volumes()[0];
    assert_eq!(
        (v.size(), v.volume_type(), v.state()),
        (
            Some(30),
            Some(&VolumeType::Gp2),
            Some(&VolumeState::Available)
        )
    );
    assert_eq!(
        v.iops(),
        Some(100),
        "gp2 baseline: 3 IOPS/GiB, at least 100"
    );
    let att = w
        .ec2
        .attach_volume()
        .volume_id(&vol)
        .instance_id(&i)
        .device("/dev/xvdba")
        .send()
        .await
        .expect("attach");
    assert_eq!(att.state().map(|s| s.as_str()), Some("attaching"));
    assert_eq!(
        volume_state(&w, &vol).await,
        ("in-use".into(), vec![(i.clone(), "attaching".into())])
    );
    w.advance(5);
    assert_eq!(
        volume_state(&w, &vol).await,
        ("in-use".into(), vec![(i.clone(), "attached".into())])
    );
    let inst = w
        .ec2
        .describe_instances()
        .instance_ids(&i)
        .send()
        .await
        .expect("describe");
    let bdm: Vec<&str> = inst.reservations()[0].instances()[0]
        .block_device_mappings()
        .iter()
        .filter_map(|b| b.device_name())
        .collect();
    assert_eq!(bdm, ["/dev/xvda", "/dev/xvdba"]);
    assert_eq!(
        code(w.ec2.delete_volume().volume_id(&vol).send().await),
        "VolumeInUse"
    );
    let det = w
        .ec2
        .detach_volume()
        .volume_id(&vol)
        .send()
        .await
        .expect("detach");
    assert_eq!(det.state().map(|s| s.as_str()), Some("detaching"));
    w.advance(10);
    assert_eq!(volume_state(&w, &vol).await, ("available".into(), vec![]));
    assert_eq!(
        code(w.ec2.detach_volume().volume_id(&vol).send().await),
        "IncorrectState"
    );
    w.ec2
        .delete_volume()
        .volume_id(&vol)
        .send()
        .await
        .expect("delete");
    w.advance(10);
    assert_eq!(
        code(w.ec2.describe_volumes().volume_ids(&vol).send().await),
        "InvalidVolume.NotFound"
    );
}

#[tokio::test]
async fn zone_mismatch_multi_attach_and_devices() {
    let w = World::new("us-east-1");
    let (_v, a, _b, i) = basic_world(&w).await;
    let j = instance(&w.ec2, &a, "c5.large").await;
    let far = volume(&w, "us-east-1b", 30).await;
    let near = volume(&w, "us-east-1a", 30).await;
    let near2 = volume(&w, "us-east-1a", 10).await;
    w.advance(30);
    let r = w
        .ec2
        .attach_volume()
        .volume_id(&far)
        .instance_id(&i)
        .device("/dev/xvdba")
        .send()
        .await;
    assert_eq!(
        code_msg(r),
        (
            "InvalidVolume.ZoneMismatch".into(),
            format!("The volume '{far}' is not in the same availability zone as instance '{i}'")
        )
    );
    w.ec2
        .attach_volume()
        .volume_id(&near)
        .instance_id(&i)
        .device("/dev/xvdba")
        .send()
        .await
        .expect("attach");
    let r = w
        .ec2
        .attach_volume()
        .volume_id(&near)
        .instance_id(&j)
        .device("/dev/xvdba")
        .send()
        .await;
    assert_eq!(code(r), "VolumeInUse", "attached to another instance");
    let r = w
        .ec2
        .attach_volume()
        .volume_id(&near2)
        .instance_id(&i)
        .device("/dev/xvdba")
        .send()
        .await;
    assert_eq!(
        code(r),
        "InvalidParameterValue",
        "device name taken on the instance"
    );
    let r = w
        .ec2
        .attach_volume()
        .volume_id(&near2)
        .instance_id(&i)
        .device("/dev/nvme1n1")
        .send()
        .await;
    assert_eq!(code(r), "InvalidParameterValue");
    assert_eq!(
        code(
            w.ec2
                .attach_volume()
                .volume_id("vol-0123456789abcdef0")
                .instance_id(&i)
                .device("/dev/xvdbb")
                .send()
                .await
        ),
        "InvalidVolume.NotFound"
    );
    assert_eq!(
        code(
            w.ec2
                .attach_volume()
                .volume_id(&near2)
                .instance_id("i-0123456789abcdef0")
                .device("/dev/xvdbb")
                .send()
                .await
        ),
        "InvalidInstanceID.NotFound"
    );
    // A volume not attached to the named instance.
    assert_eq!(
        code(
            w.ec2
                .detach_volume()
                .volume_id(&near)
                .instance_id(&j)
                .send()
                .await
        ),
        "InvalidAttachment.NotFound"
    );
    let root = w
        .ec2
        .describe_volumes()
        .filters(filter("attachment.instance-id", &[&i]))
        .filters(filter("attachment.device", &["/dev/xvda"]))
        .send()
        .await
        .expect("root");
    let root = root.volumes()[0].volume_id().expect("id").to_string();
    assert_eq!(
        code(w.ec2.detach_volume().volume_id(&root).send().await),
        "IncorrectState",
        "root of a running instance"
    );
    // Terminating the instance deletes its root volume and frees the data volume.
    w.ec2
        .terminate_instances()
        .instance_ids(&i)
        .send()
        .await
        .expect("terminate");
    w.advance(60);
    assert_eq!(
        code(w.ec2.describe_volumes().volume_ids(&root).send().await),
        "InvalidVolume.NotFound"
    );
    assert_eq!(volume_state(&w, &near).await.0, "available");
}

#[tokio::test]
async fn size_and_iops_limits() {
    let w = World::new("us-east-1");
    let create = |ty: VolumeType, size: i32| {
        w.ec2
            .create_volume()
            .availability_zone("us-east-1a")
            .volume_type(ty)
            .size(size)
    };
    assert_eq!(
        code(create(VolumeType::Gp2, 16385).send().await),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(create(VolumeType::Gp2, 0).send().await),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(create(VolumeType::St1, 100).send().await),
        "InvalidParameterValue",
        "st1 starts at 125 GiB"
    );
    assert_eq!(
        code(create(VolumeType::Gp2, 10).iops(3000).send().await),
        "InvalidParameterCombination"
    );
    assert_eq!(
        code(create(VolumeType::Io1, 10).send().await),
        "MissingParameter"
    );
    assert_eq!(
        code(create(VolumeType::Io1, 10).iops(1000).send().await),
        "InvalidParameterValue",
        "io1: 50 IOPS per GiB"
    );
    create(VolumeType::Io1, 20)
        .iops(1000)
        .send()
        .await
        .expect("io1 at 50:1");
    let gp3 = create(VolumeType::Gp3, 100).send().await.expect("gp3");
    assert_eq!((gp3.iops(), gp3.throughput()), (Some(3000), Some(125)));
    assert_eq!(
        code(create(VolumeType::Gp3, 100).throughput(1000).send().await),
        "InvalidParameterValue",
        "throughput/IOPS ratio"
    );
    assert_eq!(
        code(create(VolumeType::Gp2, 10).throughput(200).send().await),
        "InvalidParameterCombination"
    );
    assert_eq!(
        code(
            w.ec2
                .create_volume()
                .availability_zone("us-east-1z")
                .size(10)
                .send()
                .await
        ),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(
            w.ec2
                .create_volume()
                .availability_zone("us-east-1a")
                .send()
                .await
        ),
        "MissingParameter"
    );
    let all = w.ec2.describe_volumes().send().await.expect("all");
    assert_eq!(all.volumes().len(), 2, "refused creates store nothing");
}

#[tokio::test]
async fn modifications_move_through_their_states() {
    let w = World::new("us-east-1");
    let vol = volume(&w, "us-east-1a", 30).await;
    w.advance(10);
    assert_eq!(
        code(w.ec2.modify_volume().volume_id(&vol).size(20).send().await),
        "InvalidParameterValue"
    );
    let m = w
        .ec2
        .modify_volume()
        .volume_id(&vol)
        .size(50)
        .send()
        .await
        .expect("modify");
    let m = m.volume_modification().expect("mod");
    assert_eq!(
        m.modification_state().map(|s| s.as_str()),
        Some("modifying")
    );
    assert_eq!((m.original_size(), m.target_size()), (Some(30), Some(50)));
    assert_eq!(
        code(w.ec2.modify_volume().volume_id(&vol).size(60).send().await),
        "IncorrectModificationState"
    );
    w.advance(15);
    let d = w
        .ec2
        .describe_volumes_modifications()
        .volume_ids(&vol)
        .send()
        .await
        .expect("mods");
    assert_eq!(
        d.volumes_modifications()[0]
            .modification_state()
            .map(|s| s.as_str()),
        Some("optimizing")
    );
    let v = w
        .ec2
        .describe_volumes()
        .volume_ids(&vol)
        .send()
        .await
        .expect("v");
    assert_eq!(
        v.volumes()[0].size(),
        Some(50),
        "the new size is usable while optimizing"
    );
    w.advance(120);
    let d = w
        .ec2
        .describe_volumes_modifications()
        .volume_ids(&vol)
        .send()
        .await
        .expect("mods");
    assert_eq!(
        d.volumes_modifications()[0]
            .modification_state()
            .map(|s| s.as_str()),
        Some("completed")
    );
    assert_eq!(d.volumes_modifications()[0].progress(), Some(100));
    for size in [60, 70, 80] {
        w.ec2
            .modify_volume()
            .volume_id(&vol)
            .size(size)
            .send()
            .await
            .expect("modify");
        w.advance(200);
    }
    assert_eq!(
        code(w.ec2.modify_volume().volume_id(&vol).size(90).send().await),
        "VolumeModificationRateExceeded",
        "four per 24 hours"
    );
    w.advance(24 * 3600);
    w.ec2
        .modify_volume()
        .volume_id(&vol)
        .volume_type(VolumeType::Gp3)
        .send()
        .await
        .expect("a day later");
    let other = volume(&w, "us-east-1a", 10).await;
    w.advance(10);
    assert_eq!(
        code(
            w.ec2
                .describe_volumes_modifications()
                .volume_ids(&other)
                .send()
                .await
        ),
        "InvalidVolumeModification.NotFound"
    );
}
