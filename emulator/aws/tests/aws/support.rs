//! Test support: the real aws-sdk-rust clients (EC2, ELBv2, Auto Scaling, STS) over an
//! in-process transport (the axum router is called directly as a tower service, no socket), the
//! in-process [`AwsClient`], a manual clock, and small builders.

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use aws_sdk_ec2::Client;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use cloudbox_aws::{app, AwsClient, AwsState};
use cloudbox_sim::Clock;
use http_body_util::BodyExt;
use std::time::Duration;
use tower::ServiceExt;

/// The axum router as an SDK HTTP client.
#[derive(Clone, Debug)]
pub struct InProcess(pub axum::Router);

impl HttpConnector for InProcess {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let router = self.0.clone();
        HttpConnectorFuture::new(async move {
            let req = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(Box::new(e), None))?;
            let (parts, body) = req.into_parts();
            let bytes = body.bytes().map(|b| b.to_vec()).unwrap_or_default();
            let req = http::Request::from_parts(parts, axum::body::Body::from(bytes));
            let resp = router
                .oneshot(req)
                .await
                .map_err(|e| ConnectorError::other(Box::new(e), None))?;
            let (parts, body) = resp.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| ConnectorError::other(Box::new(e), None))?
                .to_bytes();
            HttpResponse::try_from(http::Response::from_parts(parts, SdkBody::from(bytes)))
                .map_err(|e| ConnectorError::other(Box::new(e), None))
        })
    }
}

impl HttpClient for InProcess {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// An emulator with a manual clock and clients of every service for one region.
#[allow(dead_code)] // each service module uses its own clients
pub struct World {
    pub state: AwsState,
    pub ec2: Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub asg: aws_sdk_autoscaling::Client,
    pub sts: aws_sdk_sts::Client,
    /// The in-process client (what built-in controllers use).
    pub aws: AwsClient,
}

impl World {
    pub fn new(region: &str) -> World {
        World::with_seed(region, 42)
    }
    pub fn with_seed(region: &str, seed: u64) -> World {
        let state = AwsState::new_strict(Clock::manual(), seed);
        let ec2 = client(&state, region, "AKIDCLOUDBOXTEST");
        World {
            elbv2: crate::sdk_client!(
                aws_sdk_elasticloadbalancingv2,
                &state,
                region,
                "AKIDCLOUDBOXTEST"
            ),
            asg: crate::sdk_client!(aws_sdk_autoscaling, &state, region, "AKIDCLOUDBOXTEST"),
            sts: crate::sdk_client!(aws_sdk_sts, &state, region, "AKIDCLOUDBOXTEST"),
            aws: AwsClient::new(&state, region).expect("region"),
            state,
            ec2,
        }
    }
    /// Moves the simulation clock.
    pub fn advance(&self, secs: u64) {
        self.state.clock().advance(Duration::from_secs(secs));
    }
}

/// A client of any aws-sdk crate on a state, region and access key (and optional session
/// token): `sdk_client!(aws_sdk_sts, &state, "us-east-1", "AKID")`.
#[macro_export]
macro_rules! sdk_client {
    ($krate:ident, $state:expr, $region:expr, $key:expr) => {
        $crate::sdk_client!($krate, $state, $region, $key, None)
    };
    ($krate:ident, $state:expr, $region:expr, $key:expr, $token:expr) => {{
        let conf = $krate::Config::builder()
            .behavior_version($krate::config::BehaviorVersion::latest())
            .region($krate::config::Region::new($region.to_string()))
            .credentials_provider($krate::config::Credentials::new(
                $key, "secret", $token, None, "test",
            ))
            .endpoint_url("http://cloudbox.invalid")
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .http_client($crate::support::InProcess(cloudbox_aws::app(
                $state.clone(),
            )))
            .build();
        $krate::Client::from_conf(conf)
    }};
}

/// An EC2 client on a state, region and access key.
pub fn client(state: &AwsState, region: &str, access_key: &str) -> Client {
    let conf = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(access_key, "secret", None, None, "test"))
        .endpoint_url("http://cloudbox.invalid")
        .retry_config(RetryConfig::disabled())
        .http_client(InProcess(app(state.clone())))
        .build();
    Client::from_conf(conf)
}

/// The AWS error code of a failed call.
pub fn code<T, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => panic!("expected an AWS error, the call succeeded"),
        Err(e) => e
            .code()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no code in {e:?}")),
    }
}

/// The AWS error message of a failed call.
pub fn message<T, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => panic!("expected an AWS error, the call succeeded"),
        Err(e) => e.message().unwrap_or_default().to_string(),
    }
}

pub fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
        .build()
}

pub fn tags(rt: ResourceType, kv: &[(&str, &str)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(
            kv.iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .build()
}

pub async fn vpc(ec2: &Client, cidr: &str) -> String {
    ec2.create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string()
}

pub async fn subnet(ec2: &Client, vpc: &str, cidr: &str, az: &str) -> String {
    ec2.create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .availability_zone(az)
        .send()
        .await
        .expect("CreateSubnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_string()
}

pub async fn instance(ec2: &Client, subnet: &str, ty: &str) -> String {
    ec2.run_instances()
        .image_id("ami-0abcdef1234567890")
        .instance_type(ty.into())
        .subnet_id(subnet)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .expect("RunInstances")
        .instances()[0]
        .instance_id()
        .expect("instance id")
        .to_string()
}

pub async fn available_ips(ec2: &Client, subnet: &str) -> i32 {
    ec2.describe_subnets()
        .subnet_ids(subnet)
        .send()
        .await
        .expect("DescribeSubnets")
        .subnets()[0]
        .available_ip_address_count()
        .expect("count")
}

/// A VPC 10.0.0.0/16 with subnets in two AZs (a and b) of us-east-1, and a running c5.large in
/// the first. Returns (vpc, subnet_a, subnet_b, instance).
pub async fn basic_world(w: &World) -> (String, String, String, String) {
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    let a = subnet(&w.ec2, &v, "10.0.1.0/24", "us-east-1a").await;
    let b = subnet(&w.ec2, &v, "10.0.2.0/24", "us-east-1b").await;
    let i = instance(&w.ec2, &a, "c5.large").await;
    w.advance(60);
    (v, a, b, i)
}

/// Code and message of a failed call.
pub fn code_msg<T, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> (String, String) {
    match r {
        Ok(_) => panic!("expected an AWS error, the call succeeded"),
        Err(e) => (
            e.code().unwrap_or_default().to_string(),
            e.message().unwrap_or_default().to_string(),
        ),
    }
}
