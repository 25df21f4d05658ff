#!/usr/bin/env bash
# The real aws CLI against `cloudbox up`: the calls a platform engineer makes, and the errors AWS
# gives where moto says yes. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
cloudbox_start
export AWS_REGION=cn-northwest-1 AWS_DEFAULT_REGION=cn-northwest-1 AWS_PAGER=""
q() { aws ec2 "$@" --output text; }

check "regions of the China partition" "cn-north-1	cn-northwest-1" "$(q describe-regions --query 'Regions[].RegionName' | tr '\n' '\t' | sed 's/\t$//')"
check "three AZs" "3" "$(q describe-availability-zones --query 'length(AvailabilityZones)')"
VPC=$(q create-vpc --cidr-block 192.168.192.0/22 --tag-specifications 'ResourceType=vpc,Tags=[{Key=kubernetes.io/cluster/int32bit-kubernetes,Value=shared}]' --query Vpc.VpcId)
SA=$(q create-subnet --vpc-id "$VPC" --cidr-block 192.168.193.0/24 --availability-zone cn-northwest-1a --query Subnet.SubnetId)
SB=$(q create-subnet --vpc-id "$VPC" --cidr-block 192.168.194.0/24 --availability-zone cn-northwest-1b --query Subnet.SubnetId)
check "available addresses of a /24" "251" "$(q describe-subnets --subnet-ids "$SA" --query 'Subnets[0].AvailableIpAddressCount')"
aws ec2 create-tags --resources "$SA" "$SB" --tags Key=kubernetes.io/role/elb,Value=1
check "subnets by role tag" "2" "$(q describe-subnets --filters Name=tag:kubernetes.io/role/elb,Values=1 --query 'length(Subnets)')"
check "c5.large ENI limits" "3	10" "$(q describe-instance-types --instance-types c5.large --query 'InstanceTypes[0].NetworkInfo.[MaximumNetworkInterfaces,Ipv4AddressesPerInterface]')"
check "all instance types (CLI pages through)" "1108" "$(q describe-instance-types --query 'InstanceTypes[].InstanceType' | wc -w)"

I=$(q run-instances --image-id ami-0123456789abcdef0 --instance-type c5.large --subnet-id "$SA" --private-ip-address 192.168.193.172 --query 'Instances[0].InstanceId')
check "private DNS name" "ip-192-168-193-172.cn-northwest-1.compute.internal" "$(q describe-instances --instance-ids "$I" --query 'Reservations[0].Instances[0].PrivateDnsName')"
check "pending first" "pending" "$(q describe-instances --instance-ids "$I" --query 'Reservations[0].Instances[0].State.Name')"
cloudbox_advance 60s
check "running after the boot delay" "running" "$(q describe-instances --instance-ids "$I" --query 'Reservations[0].Instances[0].State.Name')"
expect_error "unknown instance type" InvalidParameterValue aws ec2 run-instances --image-id ami-0123456789abcdef0 --instance-type foo.bar --subnet-id "$SA"
AUTH="AWS4-HMAC-SHA256 Credential=cloudbox/20260101/cn-northwest-1/ec2/aws4_request, SignedHeaders=host, Signature=0"
check "unknown action is an EC2 error, not a 500" "400 InvalidAction" \
  "$(curl -s -o /tmp/cb-err.xml -w '%{http_code}' -X POST "$AWS_ENDPOINT_URL/" -H "Authorization: $AUTH" -d 'Action=Nope&Version=2016-11-15') $(sed -n 's/.*<Code>\(.*\)<\/Code>.*/\1/p' /tmp/cb-err.xml)"

for n in 1 2; do
  E=$(q create-network-interface --subnet-id "$SA" --query NetworkInterface.NetworkInterfaceId)
  aws ec2 attach-network-interface --network-interface-id "$E" --instance-id "$I" --device-index "$n" >/dev/null
done
E=$(q create-network-interface --subnet-id "$SA" --query NetworkInterface.NetworkInterfaceId)
expect_error "fourth ENI on a c5.large" AttachmentLimitExceeded aws ec2 attach-network-interface --network-interface-id "$E" --instance-id "$I" --device-index 3
PRIMARY=$(q describe-instances --instance-ids "$I" --query 'Reservations[0].Instances[0].NetworkInterfaces[?Attachment.DeviceIndex==`0`].NetworkInterfaceId')
expect_error "eleventh address on an ENI" PrivateIpAddressLimitExceeded aws ec2 assign-private-ip-addresses --network-interface-id "$PRIMARY" --secondary-private-ip-address-count 10

V=$(q create-volume --availability-zone cn-northwest-1b --size 30 --volume-type gp2 --query VolumeId)
cloudbox_advance 10s
expect_error "volume in another AZ" InvalidVolume.ZoneMismatch aws ec2 attach-volume --volume-id "$V" --instance-id "$I" --device /dev/xvdba
V2=$(q create-volume --availability-zone cn-northwest-1a --size 30 --volume-type gp2 --query VolumeId)
cloudbox_advance 10s
aws ec2 attach-volume --volume-id "$V2" --instance-id "$I" --device /dev/xvdba >/dev/null
cloudbox_advance 10s
check "attached volume in BlockDeviceMappings" "/dev/xvdba" "$(q describe-instances --instance-ids "$I" --query 'Reservations[0].Instances[0].BlockDeviceMappings[1].DeviceName')"
expect_error "delete an attached volume" VolumeInUse aws ec2 delete-volume --volume-id "$V2"

echo "aws CLI: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
