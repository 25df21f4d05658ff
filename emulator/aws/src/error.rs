//! The one AWS error type, and the catalogue of error codes cloudbox answers with.
//!
//! Handlers return `Result<_, AwsError>`; only the protocol codecs turn an error into its wire
//! envelope (`protocol::ec2::serialize_error`). Codes are spelled exactly as AWS spells them,
//! because clients branch on them (the VPC CNI on `PrivateIpAddressLimitExceeded`, the EBS
//! drivers on `VolumeInUse`, …).

use std::fmt;

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, $status:literal; )*) => {
        /// An AWS error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }
        impl Code {
            /// AWS's exact spelling.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $text, )* }
            }
            /// The HTTP status AWS answers with.
            pub fn status(self) -> u16 {
                match self { $( Code::$variant => $status, )* }
            }
        }
    };
}

codes! {
    /// The action is not an operation of the service.
    InvalidAction = "InvalidAction", 400;
    /// The operation exists in AWS's model but cloudbox does not implement it.
    UnsupportedOperation = "UnsupportedOperation", 400;
    /// The request has no `Action`.
    MissingAction = "MissingAction", 400;
    /// A required parameter is missing.
    MissingParameter = "MissingParameter", 400;
    /// A parameter the operation does not have.
    UnknownParameter = "UnknownParameter", 400;
    /// A value is malformed or out of range.
    InvalidParameterValue = "InvalidParameterValue", 400;
    /// Parameters that cannot be used together.
    InvalidParameterCombination = "InvalidParameterCombination", 400;
    /// A parameter is not valid (generic).
    InvalidParameter = "InvalidParameter", 400;
    /// A filter name the operation does not support.
    InvalidFilter = "InvalidFilter", 400;
    /// The paging token is not one we issued.
    InvalidNextToken = "InvalidNextToken", 400;
    /// The request is not signed with SigV4.
    MissingAuthenticationToken = "MissingAuthenticationToken", 403;
    /// The signature's scope is not valid (e.g. an unknown region).
    AuthFailure = "AuthFailure", 401;
    /// `DryRun` was set and the request would have succeeded.
    DryRunOperation = "DryRunOperation", 412;
    /// Throttled (fault injection).
    RequestLimitExceeded = "RequestLimitExceeded", 503;
    /// An internal failure (fault injection only; cloudbox itself never answers 500 by accident).
    InternalError = "InternalError", 500;
    /// Resource id of the wrong shape.
    InvalidId = "InvalidID", 400;
    /// No such instance.
    InvalidInstanceIdNotFound = "InvalidInstanceID.NotFound", 400;
    /// Malformed instance id.
    InvalidInstanceIdMalformed = "InvalidInstanceID.Malformed", 400;
    /// No such VPC.
    InvalidVpcIdNotFound = "InvalidVpcID.NotFound", 400;
    /// No such subnet.
    InvalidSubnetIdNotFound = "InvalidSubnetID.NotFound", 400;
    /// Subnet CIDR overlaps another subnet.
    InvalidSubnetConflict = "InvalidSubnet.Conflict", 400;
    /// Subnet CIDR not inside the VPC, or of a bad size.
    InvalidSubnetRange = "InvalidSubnet.Range", 400;
    /// VPC CIDR of a bad size.
    InvalidVpcRange = "InvalidVpc.Range", 400;
    /// No such ENI.
    InvalidNetworkInterfaceIdNotFound = "InvalidNetworkInterfaceID.NotFound", 400;
    /// The ENI is attached already.
    InvalidNetworkInterfaceInUse = "InvalidNetworkInterface.InUse", 400;
    /// No such ENI attachment.
    InvalidAttachmentIdNotFound = "InvalidAttachmentID.NotFound", 400;
    /// No such attachment (volumes).
    InvalidAttachmentNotFound = "InvalidAttachment.NotFound", 400;
    /// Too many ENIs for the instance type.
    AttachmentLimitExceeded = "AttachmentLimitExceeded", 400;
    /// Too many private IPv4 addresses on one ENI.
    PrivateIpAddressLimitExceeded = "PrivateIpAddressLimitExceeded", 400;
    /// The subnet has no free addresses left.
    InsufficientFreeAddressesInSubnet = "InsufficientFreeAddressesInSubnet", 400;
    /// The requested private address is taken.
    InvalidIpAddressInUse = "InvalidIPAddress.InUse", 400;
    /// No such volume.
    InvalidVolumeNotFound = "InvalidVolume.NotFound", 400;
    /// Volume and instance in different AZs.
    InvalidVolumeZoneMismatch = "InvalidVolume.ZoneMismatch", 400;
    /// The volume is attached (or attached elsewhere).
    VolumeInUse = "VolumeInUse", 400;
    /// The resource is not in a state that allows the operation.
    IncorrectState = "IncorrectState", 400;
    /// The instance is not in a state that allows the operation.
    IncorrectInstanceState = "IncorrectInstanceState", 400;
    /// A volume modification is in progress.
    IncorrectModificationState = "IncorrectModificationState", 400;
    /// A volume was modified four times in the last 24 hours.
    VolumeModificationRateExceeded = "VolumeModificationRateExceeded", 400;
    /// A modification that does not change anything, or an unsupported change.
    InvalidVolumeModificationNotFound = "InvalidVolumeModification.NotFound", 400;
    /// The operation is not allowed on this resource.
    OperationNotPermitted = "OperationNotPermitted", 400;
    /// Something still depends on the resource.
    DependencyViolation = "DependencyViolation", 400;
    /// No such security group.
    InvalidGroupNotFound = "InvalidGroup.NotFound", 400;
    /// A security group with that name exists in the VPC.
    InvalidGroupDuplicate = "InvalidGroup.Duplicate", 400;
    /// The rule exists already.
    InvalidPermissionDuplicate = "InvalidPermission.Duplicate", 400;
    /// The rule does not exist.
    InvalidPermissionNotFound = "InvalidPermission.NotFound", 400;
    /// No such security group rule.
    InvalidSecurityGroupRuleIdNotFound = "InvalidSecurityGroupRuleId.NotFound", 400;
    /// No such route table.
    InvalidRouteTableIdNotFound = "InvalidRouteTableID.NotFound", 400;
    /// No such route.
    InvalidRouteNotFound = "InvalidRoute.NotFound", 400;
    /// A route to that destination exists already.
    RouteAlreadyExists = "RouteAlreadyExists", 400;
    /// No such route-table association.
    InvalidAssociationIdNotFound = "InvalidAssociationID.NotFound", 400;
    /// The resource is associated already.
    ResourceAlreadyAssociated = "Resource.AlreadyAssociated", 400;
    /// No such internet gateway.
    InvalidInternetGatewayIdNotFound = "InvalidInternetGatewayID.NotFound", 400;
    /// The gateway is not attached to that VPC.
    GatewayNotAttached = "Gateway.NotAttached", 400;
    /// No such NAT gateway.
    NatGatewayNotFound = "NatGatewayNotFound", 400;
    /// No such Elastic IP allocation.
    InvalidAllocationIdNotFound = "InvalidAllocationID.NotFound", 400;
    /// No such launch template.
    InvalidLaunchTemplateIdNotFound = "InvalidLaunchTemplateId.NotFound", 400;
    /// No such launch template name.
    InvalidLaunchTemplateNameNotFound = "InvalidLaunchTemplateName.NotFoundException", 400;
    /// Launch template name taken.
    InvalidLaunchTemplateNameAlreadyExists = "InvalidLaunchTemplateName.AlreadyExistsException", 400;
    /// No such launch template version.
    InvalidLaunchTemplateIdVersionNotFound = "InvalidLaunchTemplateId.VersionNotFound", 400;
    /// Unknown instance type in DescribeInstanceTypes.
    InvalidInstanceType = "InvalidInstanceType", 400;
    /// The security group named is the default group and cannot be deleted.
    CannotDelete = "CannotDelete", 400;
    /// The paging token is not valid.
    InvalidPaginationToken = "InvalidPaginationToken", 400;
    /// No such snapshot.
    InvalidSnapshotNotFound = "InvalidSnapshot.NotFound", 400;
    /// Malformed AMI id.
    InvalidAmiIdMalformed = "InvalidAMIID.Malformed", 400;
    /// No capacity for the instance type in the AZ (fault injection).
    InsufficientInstanceCapacity = "InsufficientInstanceCapacity", 500;
    /// Too many tags on a resource.
    TagLimitExceeded = "TagLimitExceeded", 400;
    /// Unknown availability zone.
    InvalidAvailabilityZone = "InvalidAvailabilityZone", 400;

    // ---- shared by the query-protocol services (ELB, ELBv2, Auto Scaling, STS) ----
    /// The input fails a constraint (query-protocol services' generic validation code).
    ValidationError = "ValidationError", 400;

    // ---- ELBv2 ----
    /// No such load balancer (ELBv2).
    LoadBalancerNotFound = "LoadBalancerNotFound", 400;
    /// No such target group.
    TargetGroupNotFound = "TargetGroupNotFound", 400;
    /// No such listener.
    ListenerNotFound = "ListenerNotFound", 400;
    /// No such listener rule.
    RuleNotFound = "RuleNotFound", 400;
    /// A load balancer of that name exists with other settings.
    DuplicateLoadBalancerName = "DuplicateLoadBalancerName", 400;
    /// A target group of that name exists with other settings.
    DuplicateTargetGroupName = "DuplicateTargetGroupName", 400;
    /// A listener exists on that port with other settings.
    DuplicateListener = "DuplicateListener", 400;
    /// A tag key is given twice in one request.
    DuplicateTagKeys = "DuplicateTagKeys", 400;
    /// More than 50 tags on a resource.
    TooManyTags = "TooManyTags", 400;
    /// The request does not fit the resource's configuration.
    InvalidConfigurationRequest = "InvalidConfigurationRequest", 400;
    /// No such subnet (ELBv2's own code).
    SubnetNotFound = "SubnetNotFound", 400;
    /// The subnet cannot be used (no room, no internet gateway, no IPv6 block).
    InvalidSubnet = "InvalidSubnet", 400;
    /// No such security group, or one of another VPC.
    InvalidSecurityGroup = "InvalidSecurityGroup", 400;
    /// The target does not exist, is not in the VPC, or is terminated.
    InvalidTarget = "InvalidTarget", 400;
    /// A rule of the listener has that priority.
    PriorityInUse = "PriorityInUse", 400;
    /// A listener or rule still uses the target group.
    ResourceInUse = "ResourceInUse", 400;
    /// A target group may be used by one load balancer only.
    TargetGroupAssociationLimit = "TargetGroupAssociationLimit", 400;
    /// The target group's protocol does not fit the listener's.
    IncompatibleProtocols = "IncompatibleProtocols", 400;
    /// The listener protocol does not fit the load balancer type.
    UnsupportedProtocol = "UnsupportedProtocol", 400;
    /// The certificate ARN is not one of ACM or IAM.
    CertificateNotFound = "CertificateNotFound", 400;
    /// The action does not fit the load balancer type.
    InvalidLoadBalancerAction = "InvalidLoadBalancerAction", 400;
    /// More than 50 listeners on a load balancer.
    TooManyListeners = "TooManyListeners", 400;
    /// More than 100 rules on a listener.
    TooManyRules = "TooManyRules", 400;
    /// More than 3000 target groups in the region.
    TooManyTargetGroups = "TooManyTargetGroups", 400;
    /// More than 50 load balancers in the region.
    TooManyLoadBalancers = "TooManyLoadBalancers", 400;
    /// More than 1000 targets in a target group.
    TooManyTargets = "TooManyTargets", 400;
    /// More than 5 target groups in one forward action, or too many actions.
    TooManyActions = "TooManyActions", 400;
    /// No such Elastic IP allocation (subnet mappings).
    AllocationIdNotFound = "AllocationIdNotFound", 400;
    /// No such SSL policy.
    SSLPolicyNotFound = "SSLPolicyNotFound", 400;
    /// More certificates than the listener may have.
    TooManyCertificates = "TooManyCertificates", 400;

    // ---- classic ELB ----
    /// Classic ELB: no load balancer of that name.
    ElbLoadBalancerNotFound = "LoadBalancerNotFound", 400;
    /// Classic ELB: the name is taken by a load balancer configured differently.
    ElbDuplicateLoadBalancerName = "DuplicateLoadBalancerName", 400;
    /// Classic ELB: a listener on that port exists with another configuration.
    ElbDuplicateListener = "DuplicateListener", 400;
    /// Classic ELB: no listener on that port.
    ElbListenerNotFound = "ListenerNotFound", 400;
    /// Classic ELB: an instance that does not exist or is not in the load balancer's VPC.
    ElbInvalidInstance = "InvalidInstance", 400;
    /// Classic ELB: a subnet that cannot be used (other VPC, too few free addresses).
    ElbInvalidSubnet = "InvalidSubnet", 400;
    /// Classic ELB: no such subnet.
    ElbSubnetNotFound = "SubnetNotFound", 400;
    /// Classic ELB: a security group that does not exist or is in another VPC.
    ElbInvalidSecurityGroup = "InvalidSecurityGroup", 400;
    /// Classic ELB: more tags than a load balancer may carry.
    ElbTooManyTags = "TooManyTags", 400;
    /// Classic ELB: one tag key given twice.
    ElbDuplicateTagKeys = "DuplicateTagKeys", 400;
    /// Classic ELB: a configuration the load balancer cannot take (HTTP 409).
    ElbInvalidConfigurationRequest = "InvalidConfigurationRequest", 409;
    /// Classic ELB: no such policy.
    ElbPolicyNotFound = "PolicyNotFound", 400;
    /// Classic ELB: no such policy type.
    ElbPolicyTypeNotFound = "PolicyTypeNotFound", 400;
    /// Classic ELB: a policy of that name exists.
    ElbDuplicatePolicyName = "DuplicatePolicyName", 400;
    /// Classic ELB: an attribute the load balancer does not have.
    ElbLoadBalancerAttributeNotFound = "LoadBalancerAttributeNotFound", 400;
    /// Classic ELB: the account's load balancer quota is reached.
    ElbTooManyLoadBalancers = "TooManyLoadBalancers", 400;
    /// Classic ELB: a listener protocol ELB does not support.
    ElbUnsupportedProtocol = "UnsupportedProtocol", 400;

    // ---- Auto Scaling ----
    /// A group or launch configuration of that name exists already.
    AsgAlreadyExists = "AlreadyExists", 400;
    /// The launch configuration is used by a group, or the group still has instances.
    AsgResourceInUse = "ResourceInUse", 400;
    /// The group has scaling activities in progress.
    ScalingActivityInProgress = "ScalingActivityInProgress", 400;
    /// A quota of the account (tags per group, groups, launch configurations) is reached.
    AsgLimitExceeded = "LimitExceeded", 400;

    // ---- STS ----
    /// A request signed with temporary credentials past their expiration (any service).
    ExpiredToken = "ExpiredToken", 403;
    /// STS: a web identity token past its `exp` claim.
    StsExpiredTokenException = "ExpiredTokenException", 400;
    /// STS: the caller may not do this (GetSessionToken with session credentials).
    StsAccessDenied = "AccessDenied", 403;
    /// STS: the web identity token was rejected.
    StsInvalidIdentityToken = "InvalidIdentityToken", 400;
}

/// An AWS error: a code and a message. Rendered by the protocol codec of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The code clients branch on.
    pub code: Code,
    /// A human message in AWS's wording.
    pub message: String,
}

impl AwsError {
    /// An error with a code and message.
    pub fn new(code: Code, message: impl Into<String>) -> AwsError {
        AwsError {
            code,
            message: message.into(),
        }
    }
    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.code.status()
    }
    /// `MissingParameter` with AWS's message.
    pub fn missing(param: &str) -> AwsError {
        AwsError::new(
            Code::MissingParameter,
            format!("The request must contain the parameter {param}"),
        )
    }
    /// `InvalidParameterValue`.
    pub fn invalid(message: impl Into<String>) -> AwsError {
        AwsError::new(Code::InvalidParameterValue, message)
    }
    /// An operation present in the model that cloudbox does not implement.
    pub fn not_implemented(service: &str, op: &str) -> AwsError {
        AwsError::new(
            Code::UnsupportedOperation,
            format!("The {service} operation {op} is not implemented by cloudbox."),
        )
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for AwsError {}

/// `aws_err!(Code, "format {}", args)` builds an [`AwsError`] in one line.
#[macro_export]
macro_rules! aws_err {
    ($code:ident, $($fmt:tt)+) => {
        $crate::error::AwsError::new($crate::error::Code::$code, format!($($fmt)+))
    };
}

/// Result of an AWS handler.
pub type AwsResult<T> = Result<T, AwsError>;
