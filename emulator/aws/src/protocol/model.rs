//! AWS service models (botocore `service-2.json`) loaded into an index the codecs walk.
//!
//! Only what the wire format needs is kept: operations with their input and output shapes, and
//! for each shape its type, members, serialized names (`locationName`, `queryName`), list member
//! names, `flattened`, and required members.

use std::collections::HashMap;

/// Index of a shape inside [`ServiceModel::shapes`].
pub type ShapeId = usize;

/// A member of a structure, or the element of a list.
#[derive(Debug, Clone)]
pub struct Member {
    /// The member's name in the model (`InstanceIds`).
    pub name: String,
    /// Its shape.
    pub shape: ShapeId,
    /// `locationName`: the XML element name (`instancesSet`, `item`), and for EC2 requests the
    /// capitalised wire name.
    pub location_name: Option<String>,
    /// `queryName`: the EC2 request name when it differs from `locationName`.
    pub query_name: Option<String>,
    /// `flattened` (Query protocol lists without a wrapper element).
    pub flattened: bool,
}

/// What kind of value a shape holds.
#[derive(Debug, Clone)]
pub enum ShapeKind {
    /// A structure with named members, in model order.
    Structure {
        /// Members in model order.
        members: Vec<Member>,
        /// Names of the required members.
        required: Vec<String>,
    },
    /// A list of one member shape.
    List {
        /// The element.
        member: Member,
        /// Whether the list is flattened (no wrapper element).
        flattened: bool,
    },
    /// A map (Query protocol `entry/key/value`).
    Map {
        /// Key shape.
        key: ShapeId,
        /// Value shape.
        value: ShapeId,
    },
    /// A string (enums included).
    String,
    /// A 32-bit integer.
    Integer,
    /// A 64-bit integer.
    Long,
    /// A boolean.
    Boolean,
    /// A float or double.
    Double,
    /// A timestamp (ISO 8601 on the wire for EC2 and Query).
    Timestamp,
    /// Base64 bytes.
    Blob,
}

/// One shape.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Its name in the model.
    pub name: String,
    /// Its kind.
    pub kind: ShapeKind,
    /// `min`/`max` constraints where the model gives them.
    pub min: Option<i64>,
    /// See `min`.
    pub max: Option<i64>,
}

/// One operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `RunInstances`.
    pub name: String,
    /// Input structure.
    pub input: Option<ShapeId>,
    /// Output structure.
    pub output: Option<ShapeId>,
    /// Query protocol: the element wrapping the output members (`CreateLoadBalancerResult`).
    pub result_wrapper: Option<String>,
}

/// A whole service model.
#[derive(Debug)]
pub struct ServiceModel {
    /// `2016-11-15`.
    pub api_version: String,
    /// `ec2` or `query`.
    pub protocol: String,
    /// XML namespace of responses.
    pub xml_namespace: String,
    /// Operations by name.
    pub operations: HashMap<String, Operation>,
    /// All shapes.
    pub shapes: Vec<Shape>,
    by_name: HashMap<String, ShapeId>,
}

/// Why a model could not be loaded (only ever a build defect: models are embedded).
#[derive(Debug, thiserror::Error)]
#[error("service model is malformed: {0}")]
pub struct ModelError(String);

impl ServiceModel {
    /// Parses the line format `build.rs` writes from a botocore `service-2.json` (see there).
    pub fn from_compact(text: &str) -> Result<ServiceModel, ModelError> {
        let bad = |line: &str| ModelError(format!("bad model line: {line}"));
        let opt = |f: &str| (f != "-").then(|| f.to_string());
        let mut model = ServiceModel {
            api_version: String::new(),
            protocol: String::new(),
            xml_namespace: String::new(),
            operations: HashMap::new(),
            shapes: Vec::with_capacity(4096),
            by_name: HashMap::with_capacity(4096),
        };
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let id = |i: usize| f.get(i).and_then(|v| v.parse::<ShapeId>().ok());
            match f.first().copied() {
                Some("V") if f.len() == 4 => {
                    model.api_version = f[1].to_string();
                    model.protocol = f[2].to_string();
                    model.xml_namespace = f[3].to_string();
                }
                Some("S") if f.len() == 5 => {
                    let kind = match f[2] {
                        "structure" => ShapeKind::Structure {
                            members: Vec::new(),
                            required: Vec::new(),
                        },
                        "list" => ShapeKind::List {
                            member: Member {
                                name: "member".into(),
                                shape: 0,
                                location_name: None,
                                query_name: None,
                                flattened: false,
                            },
                            flattened: false,
                        },
                        "map" => ShapeKind::Map { key: 0, value: 0 },
                        "integer" => ShapeKind::Integer,
                        "long" => ShapeKind::Long,
                        "boolean" => ShapeKind::Boolean,
                        "float" | "double" => ShapeKind::Double,
                        "timestamp" => ShapeKind::Timestamp,
                        "blob" => ShapeKind::Blob,
                        _ => ShapeKind::String,
                    };
                    model.by_name.insert(f[1].to_string(), model.shapes.len());
                    model.shapes.push(Shape {
                        name: f[1].to_string(),
                        kind,
                        min: f[3].parse().ok(),
                        max: f[4].parse().ok(),
                    });
                }
                Some("m") if f.len() == 6 => {
                    let shape = id(2).ok_or_else(|| bad(line))?;
                    let Some(ShapeKind::Structure { members, .. }) =
                        model.shapes.last_mut().map(|s| &mut s.kind)
                    else {
                        return Err(bad(line));
                    };
                    members.push(Member {
                        name: f[1].to_string(),
                        shape,
                        location_name: opt(f[3]),
                        query_name: opt(f[4]),
                        flattened: f[5] == "1",
                    });
                }
                Some("r") => {
                    let Some(ShapeKind::Structure { required, .. }) =
                        model.shapes.last_mut().map(|s| &mut s.kind)
                    else {
                        return Err(bad(line));
                    };
                    required.extend(f[1..].iter().map(|r| r.to_string()));
                }
                Some("l") if f.len() == 4 => {
                    let shape = id(1).ok_or_else(|| bad(line))?;
                    let Some(ShapeKind::List { member, flattened }) =
                        model.shapes.last_mut().map(|s| &mut s.kind)
                    else {
                        return Err(bad(line));
                    };
                    member.shape = shape;
                    member.location_name = opt(f[2]);
                    *flattened = f[3] == "1";
                }
                Some("p") if f.len() == 3 => {
                    let (k, v) = (
                        id(1).ok_or_else(|| bad(line))?,
                        id(2).ok_or_else(|| bad(line))?,
                    );
                    let Some(ShapeKind::Map { key, value }) =
                        model.shapes.last_mut().map(|s| &mut s.kind)
                    else {
                        return Err(bad(line));
                    };
                    *key = k;
                    *value = v;
                }
                Some("O") if f.len() == 5 => {
                    model.operations.insert(
                        f[1].to_string(),
                        Operation {
                            name: f[1].to_string(),
                            input: id(2),
                            output: id(3),
                            result_wrapper: opt(f[4]),
                        },
                    );
                }
                _ => return Err(bad(line)),
            }
        }
        let n = model.shapes.len();
        let dangling = model.shapes.iter().any(|s| match &s.kind {
            ShapeKind::Structure { members, .. } => members.iter().any(|m| m.shape >= n),
            ShapeKind::List { member, .. } => member.shape >= n,
            ShapeKind::Map { key, value } => *key >= n || *value >= n,
            _ => false,
        });
        if dangling || model.operations.is_empty() {
            return Err(ModelError(
                "dangling shape reference or no operations".into(),
            ));
        }
        Ok(model)
    }

    /// A shape by id.
    pub fn shape(&self, id: ShapeId) -> &Shape {
        &self.shapes[id]
    }

    /// A shape id by name.
    pub fn shape_id(&self, name: &str) -> Option<ShapeId> {
        self.by_name.get(name).copied()
    }
}

macro_rules! embedded_model {
    ($(#[$doc:meta])* $fn:ident, $file:literal) => {
        $(#[$doc])*
        pub fn $fn() -> &'static ServiceModel {
            static MODEL: std::sync::OnceLock<ServiceModel> = std::sync::OnceLock::new();
            MODEL.get_or_init(|| {
                #[allow(clippy::expect_used)]
                // the model is embedded at build time; a failure is a build defect
                ServiceModel::from_compact(include_str!(concat!(env!("OUT_DIR"), "/", $file)))
                    .expect("embedded service model parses")
            })
        }
    };
}

embedded_model!(
    /// The EC2 model (API 2016-11-15), parsed once per process.
    ec2,
    "ec2-2016-11-15.model"
);
embedded_model!(
    /// The Elastic Load Balancing v2 model (API 2015-12-01: ALB, NLB).
    elbv2,
    "elbv2-2015-12-01.model"
);
embedded_model!(
    /// The classic Elastic Load Balancing model (API 2012-06-01).
    elb,
    "elb-2012-06-01.model"
);
embedded_model!(
    /// The Auto Scaling model (API 2011-01-01).
    autoscaling,
    "autoscaling-2011-01-01.model"
);
embedded_model!(
    /// The STS model (API 2011-06-15).
    sts,
    "sts-2011-06-15.model"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_model_loads() {
        let m = ec2();
        assert_eq!(m.protocol, "ec2");
        assert_eq!(m.api_version, "2016-11-15");
        assert!(m.operations.len() > 700);
        let run = &m.operations["RunInstances"];
        let input = m.shape(run.input.expect("input"));
        match &input.kind {
            ShapeKind::Structure { required, .. } => {
                assert!(required.contains(&"MinCount".to_string()))
            }
            _ => panic!("structure expected"),
        }
    }

    #[test]
    fn query_models_load_with_result_wrappers() {
        for (m, op, wrapper) in [
            (elbv2(), "CreateLoadBalancer", "CreateLoadBalancerResult"),
            (elb(), "CreateLoadBalancer", "CreateLoadBalancerResult"),
            (
                autoscaling(),
                "DescribeAutoScalingGroups",
                "DescribeAutoScalingGroupsResult",
            ),
            (sts(), "GetCallerIdentity", "GetCallerIdentityResult"),
        ] {
            assert_eq!(m.protocol, "query");
            assert_eq!(m.operations[op].result_wrapper.as_deref(), Some(wrapper));
        }
        assert_eq!(elbv2().api_version, "2015-12-01");
        assert_eq!(elb().api_version, "2012-06-01");
    }
}
