#!/usr/bin/env python3
"""boto3 against a running `cloudbox up` (AWS_ENDPOINT_URL set): the VPC CNI's and EBS drivers'
calls and the error codes they branch on. Exits non-zero on any failure."""
import os
import sys
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

print(f"boto3: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
