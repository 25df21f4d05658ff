//! EBS volumes as launch and AttachVolume/CreateVolume share them: the checked specification of
//! a new volume (size and performance limits per type), creating its record, valid device
//! names, and the root device of every instance.

use crate::aws_err;
use crate::ec2::input::Input;
use crate::ec2::state::{RegionState, Volume};
use crate::error::{AwsError, AwsResult};
use crate::members::ec2 as m;
use serde_json::Value;

/// Root device name of every instance.
pub const ROOT_DEVICE: &str = "/dev/xvda";

/// Size (GiB) range of a volume type.
pub fn size_range(ty: &str) -> Option<(i64, i64)> {
    Some(match ty {
        "gp2" | "gp3" => (1, 16384),
        "io1" => (4, 16384),
        "io2" => (4, 65536),
        "st1" | "sc1" => (125, 16384),
        "standard" => (1, 1024),
        _ => return None,
    })
}

/// The IOPS and throughput a volume gets, after checking what was asked for.
pub fn performance(
    ty: &str,
    size: i64,
    iops: Option<i64>,
    throughput: Option<i64>,
) -> AwsResult<(Option<i64>, Option<i64>)> {
    let (lo, hi) = size_range(ty).ok_or_else(|| {
        aws_err!(
            InvalidParameterValue,
            "Value ({ty}) for parameter volumeType is invalid. Valid types: standard, io1, io2, gp2, gp3, sc1, st1"
        )
    })?;
    if size < lo || size > hi {
        return Err(aws_err!(
            InvalidParameterValue,
            "Volume of {size}GiB is invalid for volume type {ty}; the size must be between {lo} and {hi} GiB."
        ));
    }
    if throughput.is_some() && ty != "gp3" {
        return Err(aws_err!(
            InvalidParameterCombination,
            "The parameter throughput is not supported for {ty} volumes."
        ));
    }
    match ty {
        "gp2" | "st1" | "sc1" | "standard" => {
            if iops.is_some() {
                return Err(aws_err!(
                    InvalidParameterCombination,
                    "The parameter iops is not supported for {ty} volumes."
                ));
            }
            Ok((
                if ty == "gp2" {
                    Some((3 * size).clamp(100, 16000))
                } else {
                    None
                },
                None,
            ))
        }
        "gp3" => {
            let i = iops.unwrap_or(3000);
            if !(3000..=80000).contains(&i) {
                return Err(aws_err!(InvalidParameterValue, "Volume iops of {i} is too {} for gp3; the iops must be between 3000 and 80000.", if i < 3000 { "low" } else { "high" }));
            }
            if i > 3000 && i > 500 * size {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "Iops to volume size ratio of {} is too high; maximum is 500",
                    i / size
                ));
            }
            let t = throughput.unwrap_or(125);
            if !(125..=2000).contains(&t) {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "Throughput of {t} MiB/s is invalid for gp3; it must be between 125 and 2000."
                ));
            }
            if t > 125 && t * 4 > i {
                return Err(aws_err!(InvalidParameterValue, "Throughput to iops ratio of {:.2} is too high; maximum is 0.25 MiBps per iops.", t as f64 / i as f64));
            }
            Ok((Some(i), Some(t)))
        }
        _ => {
            let i = iops.ok_or_else(|| AwsError::missing("iops"))?;
            let (max, ratio) = if ty == "io1" {
                (64000, 50)
            } else {
                (256000, 1000)
            };
            if !(100..=max).contains(&i) {
                return Err(aws_err!(InvalidParameterValue, "Volume iops of {i} is invalid for {ty}; the iops must be between 100 and {max}."));
            }
            if i > ratio * size {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "Iops to volume size ratio of {} is too high; maximum is {ratio}",
                    i / size
                ));
            }
            Ok((Some(i), None))
        }
    }
}

/// What a new volume is made of (checked).
pub struct VolumeSpec {
    /// GiB.
    pub size: i64,
    /// Type.
    pub volume_type: String,
    /// IOPS.
    pub iops: Option<i64>,
    /// Throughput.
    pub throughput: Option<i64>,
    /// Encrypted.
    pub encrypted: bool,
    /// KMS key.
    pub kms_key_id: Option<String>,
}

/// Reads and checks a volume specification (`CreateVolume` or a block-device mapping's `Ebs`).
pub fn volume_spec(v: &Value, default_size: Option<i64>) -> AwsResult<VolumeSpec> {
    if let Some(s) = v.opt_str(m::SnapshotId) {
        return Err(aws_err!(
            InvalidSnapshotNotFound,
            "The snapshot '{s}' does not exist."
        ));
    }
    let size = v
        .opt_i64(m::Size)
        .or(v.opt_i64(m::VolumeSize))
        .or(default_size)
        .ok_or_else(|| AwsError::missing("size or snapshotId"))?;
    let volume_type = v.opt_str(m::VolumeType).unwrap_or("gp2").to_string();
    let (iops, throughput) = performance(
        &volume_type,
        size,
        v.opt_i64(m::Iops),
        v.opt_i64(m::Throughput),
    )?;
    let kms_key_id = v.opt_str(m::KmsKeyId).map(str::to_string);
    Ok(VolumeSpec {
        size,
        encrypted: v.opt_bool(m::Encrypted).unwrap_or(false) || kms_key_id.is_some(),
        volume_type,
        iops,
        throughput,
        kms_key_id,
    })
}

/// Creates a volume record (checks done).
pub fn insert_volume(
    st: &mut RegionState,
    spec: VolumeSpec,
    az: &str,
    state: &'static str,
) -> String {
    let id = st.new_id("vol");
    let now = st.now;
    st.volumes.insert(
        id.clone(),
        Volume {
            id: id.clone(),
            size: spec.size,
            volume_type: spec.volume_type,
            iops: spec.iops,
            throughput: spec.throughput,
            az: az.to_string(),
            state,
            create_time: now,
            encrypted: spec.encrypted,
            kms_key_id: spec.kms_key_id,
            snapshot_id: None,
            attachment: None,
            modification: None,
            modification_starts: vec![],
            client_token: None,
        },
    );
    id
}

/// Whether a device name is one EBS accepts on Linux: `/dev/sd[a-z]`, `/dev/sd[a-z][1-15]`,
/// `/dev/xvd[a-z]`, `/dev/xvd[a-z][a-z]`.
pub fn valid_device(d: &str) -> bool {
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    if let Some(rest) = d.strip_prefix("/dev/xvd") {
        return lower(rest) && rest.len() <= 2;
    }
    if let Some(rest) = d.strip_prefix("/dev/sd") {
        let (letter, num) = rest.split_at(rest.len().min(1));
        return lower(letter)
            && (num.is_empty() || num.parse::<u8>().is_ok_and(|n| (1..=15).contains(&n)));
    }
    false
}
