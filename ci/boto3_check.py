#!/usr/bin/env python3
"""boto3 against a running `cloudbox up` (AWS_ENDPOINT_URL set): the VPC CNI's and EBS drivers'
calls and the error codes they branch on. Exits non-zero on any failure."""
import os
import sys
import urllib.error
import urllib.request

import boto3
from botocore.exceptions import ClientError

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=ENDPOINT,
                   aws_access_key_id="cloudbox", aws_secret_access_key="cloudbox")
passed = failed = 0


def check(name, expected, actual):
    global passed, failed
    if expected == actual:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}: expected {expected!r}, got {actual!r}")


def error_code(name, code, fn, **kw):
    global passed, failed
    try:
        fn(**kw)
    except ClientError as e:
        check(name, code, e.response["Error"]["Code"])
        return
    failed += 1
    print(f"FAIL {name}: succeeded, expected {code}")


def advance(by):
    urllib.request.urlopen(urllib.request.Request(f"{ENDPOINT}/_cloudbox/clock/advance?by={by}", method="POST")).read()


vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
small = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/28", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
big = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
check("reserved addresses", 11, ec2.describe_subnets(SubnetIds=[small])["Subnets"][0]["AvailableIpAddressCount"])
error_code("14 instances into a /28", "InsufficientFreeAddressesInSubnet", ec2.run_instances,
           ImageId="ami-0123456789abcdef0", InstanceType="t3.medium", SubnetId=small, MinCount=14, MaxCount=14)
check("nothing taken by the refusal", 11, ec2.describe_subnets(SubnetIds=[small])["Subnets"][0]["AvailableIpAddressCount"])

inst = ec2.run_instances(ImageId="ami-0123456789abcdef0", InstanceType="t3.medium", SubnetId=big,
                         MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
advance("60s")
paginator = ec2.get_paginator("describe_instances")
states = [i["State"]["Name"] for page in paginator.paginate() for r in page["Reservations"] for i in r["Instances"]]
check("running", ["running"], states)
enis = [ec2.create_network_interface(SubnetId=big)["NetworkInterface"]["NetworkInterfaceId"] for _ in range(3)]
ec2.attach_network_interface(NetworkInterfaceId=enis[0], InstanceId=inst, DeviceIndex=1)
ec2.attach_network_interface(NetworkInterfaceId=enis[1], InstanceId=inst, DeviceIndex=2)
error_code("t3.medium has 3 ENIs", "AttachmentLimitExceeded", ec2.attach_network_interface,
           NetworkInterfaceId=enis[2], InstanceId=inst, DeviceIndex=3)
error_code("device index in use", "InvalidParameterValue", ec2.attach_network_interface,
           NetworkInterfaceId=enis[2], InstanceId=inst, DeviceIndex=1)
ec2.assign_private_ip_addresses(NetworkInterfaceId=enis[0], SecondaryPrivateIpAddressCount=5)
error_code("t3.medium: 6 addresses per ENI", "PrivateIpAddressLimitExceeded", ec2.assign_private_ip_addresses,
           NetworkInterfaceId=enis[0], SecondaryPrivateIpAddressCount=1)
addresses = [a["PrivateIpAddress"] for n in ec2.describe_network_interfaces()["NetworkInterfaces"] for a in n["PrivateIpAddresses"]]
check("no address twice", len(addresses), len(set(addresses)))

vol = ec2.create_volume(AvailabilityZone="us-east-1b", Size=30, VolumeType="gp2")["VolumeId"]
advance("10s")
error_code("cross-AZ attach", "InvalidVolume.ZoneMismatch", ec2.attach_volume, VolumeId=vol, InstanceId=inst, Device="/dev/xvdba")
error_code("unknown volume", "InvalidVolume.NotFound", ec2.describe_volumes, VolumeIds=["vol-0123456789abcdef0"])
error_code("bad filter", "InvalidParameterValue", ec2.describe_volumes, Filters=[{"Name": "nope", "Values": ["x"]}])
types = [t["InstanceType"] for page in ec2.get_paginator("describe_instance_types").paginate() for t in page["InstanceTypes"]]
check("instance types", 1108, len(types))

# ---- classic ELB (what cloud-provider-aws calls for a Service of type LoadBalancer) ----
elb = boto3.client("elb", region_name="us-east-1", endpoint_url=ENDPOINT,
                   aws_access_key_id="cloudbox", aws_secret_access_key="cloudbox")
elb_b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
elb_a2 = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.3.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
free_big = ec2.describe_subnets(SubnetIds=[big])["Subnets"][0]["AvailableIpAddressCount"]
listeners = [{"Protocol": "TCP", "LoadBalancerPort": 80, "InstanceProtocol": "TCP", "InstancePort": 30080}]
dns = elb.create_load_balancer(LoadBalancerName="a0123456789abcdef", Listeners=listeners, Subnets=[big, elb_b],
                               Scheme="internal", Tags=[{"Key": "kubernetes.io/cluster/demo", "Value": "owned"}])["DNSName"]
check("CLB internal DNS name", True, dns.startswith("internal-a0123456789abcdef-") and dns.endswith(".us-east-1.elb.amazonaws.com"))
check("CLB takes an address per subnet", free_big - 1, ec2.describe_subnets(SubnetIds=[big])["Subnets"][0]["AvailableIpAddressCount"])
desc = elb.describe_load_balancers(LoadBalancerNames=["a0123456789abcdef"])["LoadBalancerDescriptions"][0]
check("CLB VPCId", vpc, desc["VPCId"])
check("CLB AZs", ["us-east-1a", "us-east-1b"], desc["AvailabilityZones"])
check("CLB hosted zone", "Z35SXDOTRQ7X7K", desc["CanonicalHostedZoneNameID"])
error_code("CLB two subnets in one AZ", "InvalidConfigurationRequest", elb.create_load_balancer,
           LoadBalancerName="two", Listeners=listeners, Subnets=[big, elb_a2], Scheme="internal")
error_code("CLB internet-facing without an internet gateway", "InvalidSubnet", elb.create_load_balancer,
           LoadBalancerName="pub", Listeners=listeners, Subnets=[big])
error_code("CLB unknown", "LoadBalancerNotFound", elb.describe_load_balancers, LoadBalancerNames=["nope"])
error_code("CLB duplicate listener", "DuplicateListener", elb.create_load_balancer_listeners,
           LoadBalancerName="a0123456789abcdef",
           Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstanceProtocol": "TCP", "InstancePort": 30081}])
error_code("CLB unknown instance", "InvalidInstance", elb.register_instances_with_load_balancer,
           LoadBalancerName="a0123456789abcdef", Instances=[{"InstanceId": "i-0123456789abcdef0"}])
elb.configure_health_check(LoadBalancerName="a0123456789abcdef", HealthCheck={
    "Target": "TCP:30080", "Interval": 10, "Timeout": 5, "UnhealthyThreshold": 6, "HealthyThreshold": 2})
error_code("CLB health check target", "ValidationError", elb.configure_health_check, LoadBalancerName="a0123456789abcdef",
           HealthCheck={"Target": "HTTP:80", "Interval": 10, "Timeout": 5, "UnhealthyThreshold": 6, "HealthyThreshold": 2})
elb.register_instances_with_load_balancer(LoadBalancerName="a0123456789abcdef", Instances=[{"InstanceId": inst}])
health = elb.describe_instance_health(LoadBalancerName="a0123456789abcdef")["InstanceStates"][0]
check("CLB instance not yet healthy", ("OutOfService", "ELB"), (health["State"], health["ReasonCode"]))
advance("20s")
health = elb.describe_instance_health(LoadBalancerName="a0123456789abcdef")["InstanceStates"][0]
check("CLB instance InService after interval x healthy threshold", ("InService", "N/A", "N/A"),
      (health["State"], health["ReasonCode"], health["Description"]))
attrs = elb.describe_load_balancer_attributes(LoadBalancerName="a0123456789abcdef")["LoadBalancerAttributes"]
check("CLB default attributes", (False, False, 60), (attrs["CrossZoneLoadBalancing"]["Enabled"],
      attrs["ConnectionDraining"]["Enabled"], attrs["ConnectionSettings"]["IdleTimeout"]))
elb.add_tags(LoadBalancerNames=["a0123456789abcdef"], Tags=[{"Key": "kubernetes.io/service-name", "Value": "default/web"}])
tags = elb.describe_tags(LoadBalancerNames=["a0123456789abcdef"])["TagDescriptions"][0]["Tags"]
check("CLB tags", 2, len(tags))
error_code("CLB too many tags", "TooManyTags", elb.add_tags, LoadBalancerNames=["a0123456789abcdef"],
           Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
names = [d["LoadBalancerName"] for page in elb.get_paginator("describe_load_balancers").paginate(PaginationConfig={"PageSize": 1})
         for d in page["LoadBalancerDescriptions"]]
check("CLB pages", ["a0123456789abcdef"], names)
elb.delete_load_balancer(LoadBalancerName="a0123456789abcdef")
check("CLB delete returns the addresses", free_big, ec2.describe_subnets(SubnetIds=[big])["Subnets"][0]["AvailableIpAddressCount"])

# ---- STS and IMDS ----
sts = boto3.client("sts", region_name="us-east-1", endpoint_url=ENDPOINT,
                   aws_access_key_id="cloudbox", aws_secret_access_key="cloudbox")
check("STS root", "arn:aws:iam::123456789012:root", sts.get_caller_identity()["Arn"])
creds = sts.assume_role(RoleArn="arn:aws:iam::111122223333:role/ci", RoleSessionName="boto3")["Credentials"]
role = boto3.client("sts", region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
check("STS assumed role", "arn:aws:sts::111122223333:assumed-role/ci/boto3", role.get_caller_identity()["Arn"])
error_code("STS bad role ARN", "ValidationError", sts.assume_role, RoleArn="arn:aws:iam::111122223333:user/x", RoleSessionName="s1")
error_code("STS session name", "ValidationError", sts.assume_role, RoleArn="arn:aws:iam::111122223333:role/ci", RoleSessionName="a b")
imds = f"{ENDPOINT}/_cloudbox/imds/{inst}/latest"
token = urllib.request.urlopen(urllib.request.Request(f"{imds}/api/token", method="PUT",
                               headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})).read().decode()
iid = urllib.request.urlopen(urllib.request.Request(f"{imds}/meta-data/instance-id",
                             headers={"X-aws-ec2-metadata-token": token})).read().decode()
check("IMDSv2 instance-id", inst, iid)
try:
    urllib.request.urlopen(urllib.request.Request(f"{imds}/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": "bad"}))
    check("IMDS bad token", 401, 200)
except urllib.error.HTTPError as e:
    check("IMDS bad token", 401, e.code)

# botocore's own IMDS client (what an SDK on the node does) fetches instance-profile credentials.
from botocore.credentials import InstanceMetadataProvider
from botocore.utils import InstanceMetadataFetcher
node = ec2.run_instances(ImageId="ami-0123456789abcdef0", InstanceType="t3.medium", SubnetId=big, MinCount=1, MaxCount=1,
                         IamInstanceProfile={"Name": "eks-node"})["Instances"][0]["InstanceId"]
fetcher = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=f"{ENDPOINT}/_cloudbox/imds/{node}/")
node_creds = InstanceMetadataProvider(iam_role_fetcher=fetcher).load().get_frozen_credentials()
as_node = boto3.client("sts", region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id=node_creds.access_key,
                       aws_secret_access_key=node_creds.secret_key, aws_session_token=node_creds.token)
check("IMDS credentials via botocore", f"arn:aws:sts::123456789012:assumed-role/eks-node/{node}",
      as_node.get_caller_identity()["Arn"])

print(f"boto3: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
