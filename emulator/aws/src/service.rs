//! The services the endpoint serves, looked up by how a request names them.
//!
//! A [`Service`] is a model (the botocore `service-2.json` it speaks), the protocol that model
//! declares, and a table from operation name to [`Handler`]. The HTTP dispatcher
//! (`server.rs`) and the in-process client (`client.rs`) find a service the same way — by the
//! SigV4 signing name and, where two services share one (`elasticloadbalancing`: classic ELB
//! and ELBv2), by the request's `Version` — and run the same handlers, so an operation behaves
//! identically whichever door it came through.
//!
//! Every service of one account and region shares one [`RegionState`] behind one lock.

use crate::error::{AwsError, AwsResult};
use crate::protocol::model::{self, ServiceModel};
use crate::protocol::render::Sink;
use crate::region::RegionState;
use serde_json::Value;

/// A handler of one operation: validated, model-shaped input (member names as keys) in, the
/// output structure out. Handlers validate everything before they change anything.
pub type Handler = fn(&mut RegionState, &Value) -> AwsResult<Value>;

/// A handler that writes its output member by member into a [`Sink`] (XML on the HTTP path)
/// instead of returning JSON; for big answers. It must return its error before writing.
pub type RenderHandler = fn(&mut RegionState, &Value, &mut dyn Sink) -> AwsResult<()>;

/// No operation of the service has a [`RenderHandler`].
fn no_render(_: &str) -> Option<RenderHandler> {
    None
}

/// The wire protocol of a service, as its model declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// EC2's own dialect of the query protocol.
    Ec2,
    /// The query protocol (ELB, Auto Scaling, STS).
    Query,
}

/// One AWS service served by the endpoint.
pub trait Service: Sync + 'static {
    /// The short name used in in-process calls and scenario files (`ec2`, `elbv2`,
    /// `elasticloadbalancing`, `autoscaling`, `sts`): `"ec2:RunInstances"`.
    fn name(&self) -> &'static str;
    /// The SigV4 signing name that routes HTTP requests to it.
    fn signing_name(&self) -> &'static str;
    /// The human name used in messages (`EC2`, `Elastic Load Balancing v2`).
    fn title(&self) -> &'static str;
    /// Its service model.
    fn model(&self) -> &'static ServiceModel;
    /// The handler of an operation, if cloudbox implements it.
    fn handler(&self, op: &str) -> Option<Handler>;
    /// The typed-output handler of an operation, where one exists (used on the HTTP path;
    /// [`Service::handler`] still answers the in-process client).
    fn render_handler(&self, op: &str) -> Option<RenderHandler>;
    /// Whether an operation only reads, so its rendered answer may be reused while the region
    /// is unchanged.
    fn read_only(&self, op: &str) -> bool {
        op.starts_with("Describe")
    }
    /// The wire protocol.
    fn protocol(&self) -> Protocol {
        if self.model().protocol == "ec2" {
            Protocol::Ec2
        } else {
            Protocol::Query
        }
    }
    /// Every implemented operation of the model, sorted (for docs and tests).
    fn implemented_operations(&self) -> Vec<&'static str> {
        let mut ops: Vec<&'static str> = self
            .model()
            .operations
            .keys()
            .map(String::as_str)
            .filter(|op| self.handler(op).is_some())
            .collect();
        ops.sort_unstable();
        ops
    }
}

macro_rules! service {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $signing:literal, $title:literal, $model:path, $table:path, $render:path) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty;
        impl Service for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn signing_name(&self) -> &'static str {
                $signing
            }
            fn title(&self) -> &'static str {
                $title
            }
            fn model(&self) -> &'static ServiceModel {
                $model()
            }
            fn handler(&self, op: &str) -> Option<Handler> {
                $table(op)
            }
            fn render_handler(&self, op: &str) -> Option<RenderHandler> {
                $render(op)
            }
        }
    };
}

service!(
    /// EC2 (2016-11-15).
    Ec2,
    "ec2",
    "ec2",
    "EC2",
    model::ec2,
    crate::ec2::operation,
    crate::ec2::render_operation
);
service!(
    /// Elastic Load Balancing v2 (2015-12-01): application and network load balancers.
    Elbv2,
    "elbv2",
    "elasticloadbalancing",
    "Elastic Load Balancing v2",
    model::elbv2,
    crate::elbv2::operation,
    no_render
);
service!(
    /// Classic Elastic Load Balancing (2012-06-01).
    Elb,
    "elb",
    "elasticloadbalancing",
    "Elastic Load Balancing",
    model::elb,
    crate::elb::operation,
    no_render
);
service!(
    /// Auto Scaling (2011-01-01).
    AutoScaling,
    "autoscaling",
    "autoscaling",
    "Auto Scaling",
    model::autoscaling,
    crate::autoscaling::operation,
    no_render
);
service!(
    /// STS (2011-06-15).
    Sts,
    "sts",
    "sts",
    "STS",
    model::sts,
    crate::sts::operation,
    no_render
);

/// Every served service.
pub fn all() -> [&'static dyn Service; 5] {
    [&Ec2, &Elbv2, &Elb, &AutoScaling, &Sts]
}

/// The service a request is for: by signing name, and by `Version` where two services share
/// one. A missing `Version` on `elasticloadbalancing` means ELBv2 (what current SDKs send).
pub fn by_scope(signing_name: &str, version: Option<&str>) -> Option<&'static dyn Service> {
    let mut candidates = all()
        .into_iter()
        .filter(|s| s.signing_name() == signing_name)
        .peekable();
    let first = *candidates.peek()?;
    match version {
        Some(v) => candidates
            .find(|s| s.model().api_version == v)
            .or(Some(first)),
        None => Some(first),
    }
}

/// A service by its short name (`ec2`, `elbv2`, `elb`, `autoscaling`, `sts`). The signing
/// names are accepted too (`elasticloadbalancing` is ELBv2).
pub fn by_name(name: &str) -> Option<&'static dyn Service> {
    all()
        .into_iter()
        .find(|s| s.name() == name)
        .or_else(|| all().into_iter().find(|s| s.signing_name() == name))
}

/// The error for an operation of the model that cloudbox does not implement.
pub fn not_implemented(service: &dyn Service, op: &str) -> AwsError {
    AwsError::not_implemented(service.title(), op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_by_scope_and_version() {
        assert_eq!(by_scope("ec2", None).map(|s| s.name()), Some("ec2"));
        assert_eq!(
            by_scope("elasticloadbalancing", Some("2012-06-01")).map(|s| s.name()),
            Some("elb")
        );
        assert_eq!(
            by_scope("elasticloadbalancing", Some("2015-12-01")).map(|s| s.name()),
            Some("elbv2")
        );
        assert_eq!(
            by_scope("autoscaling", None).map(|s| s.name()),
            Some("autoscaling")
        );
        assert!(by_scope("s3", None).is_none());
        assert_eq!(
            by_name("elasticloadbalancing").map(|s| s.name()),
            Some("elbv2")
        );
    }
}
