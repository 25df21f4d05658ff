//! AWS service models (botocore `service-2.json`) loaded into an index the codecs walk.
//!
//! Only what the wire format needs is kept: operations with their input and output shapes, and
//! for each shape its type, members, serialized names (`locationName`, `queryName`), list member
//! names, `flattened`, and required members.

use serde_json::Value;
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
    /// Parses a (documentation-stripped) botocore `service-2.json`.
    pub fn from_json(json: &str) -> Result<ServiceModel, ModelError> {
        let v: Value = serde_json::from_str(json).map_err(|e| ModelError(e.to_string()))?;
        let meta = &v["metadata"];
        let text = |x: &Value| x.as_str().unwrap_or_default().to_string();
        let shapes_json = v["shapes"]
            .as_object()
            .ok_or_else(|| ModelError("no shapes".into()))?;
        let mut by_name = HashMap::with_capacity(shapes_json.len());
        for (i, name) in shapes_json.keys().enumerate() {
            by_name.insert(name.clone(), i);
        }
        let lookup = |name: &Value| -> Result<ShapeId, ModelError> {
            let n = name.as_str().unwrap_or_default();
            by_name
                .get(n)
                .copied()
                .ok_or_else(|| ModelError(format!("unknown shape {n}")))
        };
        let member = |name: &str, m: &Value| -> Result<Member, ModelError> {
            Ok(Member {
                name: name.to_string(),
                shape: lookup(&m["shape"])?,
                location_name: m["locationName"].as_str().map(str::to_string),
                query_name: m["queryName"].as_str().map(str::to_string),
                flattened: m["flattened"].as_bool().unwrap_or(false),
            })
        };
        let mut shapes = Vec::with_capacity(shapes_json.len());
        for (name, s) in shapes_json {
            let kind = match s["type"].as_str().unwrap_or_default() {
                "structure" => {
                    let mut members = Vec::new();
                    if let Some(ms) = s["members"].as_object() {
                        for (mn, m) in ms {
                            members.push(member(mn, m)?);
                        }
                    }
                    let required = s["required"]
                        .as_array()
                        .map(|r| {
                            r.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    ShapeKind::Structure { members, required }
                }
                "list" => ShapeKind::List {
                    member: member("member", &s["member"])?,
                    flattened: s["flattened"].as_bool().unwrap_or(false),
                },
                "map" => ShapeKind::Map {
                    key: lookup(&s["key"]["shape"])?,
                    value: lookup(&s["value"]["shape"])?,
                },
                "integer" => ShapeKind::Integer,
                "long" => ShapeKind::Long,
                "boolean" => ShapeKind::Boolean,
                "float" | "double" => ShapeKind::Double,
                "timestamp" => ShapeKind::Timestamp,
                "blob" => ShapeKind::Blob,
                _ => ShapeKind::String,
            };
            shapes.push(Shape {
                name: name.clone(),
                kind,
                min: s["min"].as_i64(),
                max: s["max"].as_i64(),
            });
        }
        let mut operations = HashMap::new();
        if let Some(ops) = v["operations"].as_object() {
            for (name, op) in ops {
                let input = match op.get("input") {
                    Some(i) => Some(lookup(&i["shape"])?),
                    None => None,
                };
                let output = match op.get("output") {
                    Some(o) => Some(lookup(&o["shape"])?),
                    None => None,
                };
                operations.insert(
                    name.clone(),
                    Operation {
                        name: name.clone(),
                        input,
                        output,
                    },
                );
            }
        }
        Ok(ServiceModel {
            api_version: text(&meta["apiVersion"]),
            protocol: text(&meta["protocol"]),
            xml_namespace: text(&meta["xmlNamespace"]),
            operations,
            shapes,
            by_name,
        })
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

/// The EC2 model (API 2016-11-15), parsed once per process.
pub fn ec2() -> &'static ServiceModel {
    static MODEL: std::sync::OnceLock<ServiceModel> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| {
        #[allow(clippy::expect_used)]
        // the model is embedded at build time; a failure is a build defect
        ServiceModel::from_json(include_str!(concat!(
            env!("OUT_DIR"),
            "/ec2-2016-11-15.json"
        )))
        .expect("embedded EC2 model parses")
    })
}

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
}
