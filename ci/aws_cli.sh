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

# ---- ELBv2: the seed's NLB and ALB rules (§5, §6) ----
elb() { aws elbv2 "$@" --output text; }
expect_error "ALB in one subnet" ValidationError aws elbv2 create-load-balancer --name one-az --subnets "$SA"
SA2=$(q create-subnet --vpc-id "$VPC" --cidr-block 192.168.195.0/25 --availability-zone cn-northwest-1a --query Subnet.SubnetId)
expect_error "ALB with two subnets in one AZ" InvalidConfigurationRequest aws elbv2 create-load-balancer --name same-az --subnets "$SA" "$SA2"
expect_error "internet-facing LB in a VPC without an internet gateway" InvalidSubnet aws elbv2 create-load-balancer --name no-igw --subnets "$SA" "$SB"
IGW=$(q create-internet-gateway --query InternetGateway.InternetGatewayId)
aws ec2 attach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC"
ALB=$(elb create-load-balancer --name int32bit-alb --subnets "$SA" "$SB" --query 'LoadBalancers[0].LoadBalancerArn')
check "ALB DNS name in the China partition" "int32bit-alb-" "$(elb describe-load-balancers --load-balancer-arns "$ALB" --query 'LoadBalancers[0].DNSName' | grep -o '^int32bit-alb-')"
check "ALB DNS suffix" ".cn-northwest-1.elb.amazonaws.com.cn" "$(elb describe-load-balancers --load-balancer-arns "$ALB" --query 'LoadBalancers[0].DNSName' | grep -o '\.cn-northwest-1\.elb\.amazonaws\.com\.cn$')"
check "ALB ARN partition" "arn:aws-cn:elasticloadbalancing:cn-northwest-1:" "$(echo "$ALB" | grep -o '^arn:aws-cn:elasticloadbalancing:cn-northwest-1:')"
check "ALB provisioning first" "provisioning" "$(elb describe-load-balancers --names int32bit-alb --query 'LoadBalancers[0].State.Code')"
check "same name, same settings: idempotent, the same LB" "$ALB" "$(elb create-load-balancer --name int32bit-alb --subnets "$SA" "$SB" --query 'LoadBalancers[0].LoadBalancerArn')"
expect_error "same name, other settings" DuplicateLoadBalancerName aws elbv2 create-load-balancer --name int32bit-alb --scheme internal --subnets "$SA" "$SB"
NLB=$(elb create-load-balancer --name bootcamp-nlb --type network --subnets "$SA" --query 'LoadBalancers[0].LoadBalancerArn')
check "NLB DNS name form" "bootcamp-nlb-" "$(elb describe-load-balancers --load-balancer-arns "$NLB" --query 'LoadBalancers[0].DNSName' | grep -o '^bootcamp-nlb-')"
check "NLB DNS suffix" ".elb.cn-northwest-1.amazonaws.com.cn" "$(elb describe-load-balancers --load-balancer-arns "$NLB" --query 'LoadBalancers[0].DNSName' | grep -o '\.elb\.cn-northwest-1\.amazonaws\.com\.cn$')"
TG=$(elb create-target-group --name bootcamp-tg --protocol TCP --port 30080 --vpc-id "$VPC" --target-type instance --query 'TargetGroups[0].TargetGroupArn')
aws elbv2 register-targets --target-group-arn "$TG" --targets Id="$I" >/dev/null
expect_error "unknown instance target" InvalidTarget aws elbv2 register-targets --target-group-arn "$TG" --targets Id=i-0123456789abcdef0
aws elbv2 create-listener --load-balancer-arn "$NLB" --protocol TCP --port 8080 --default-actions Type=forward,TargetGroupArn="$TG" >/dev/null
TG2=$(elb create-target-group --name bootcamp-tg2 --protocol TCP --port 30081 --vpc-id "$VPC" --target-type instance --query 'TargetGroups[0].TargetGroupArn')
expect_error "another listener on a used port" DuplicateListener aws elbv2 create-listener --load-balancer-arn "$NLB" --protocol TCP --port 8080 --default-actions Type=forward,TargetGroupArn="$TG2"
check "target initial after register" "initial" "$(elb describe-target-health --target-group-arn "$TG" --query 'TargetHealthDescriptions[0].TargetHealth.State')"
cloudbox_advance 10m
check "target healthy on the clock" "healthy" "$(elb describe-target-health --target-group-arn "$TG" --query 'TargetHealthDescriptions[0].TargetHealth.State')"
check "LB active on the clock" "active" "$(elb describe-load-balancers --names bootcamp-nlb --query 'LoadBalancers[0].State.Code')"
expect_error "delete a target group in use" ResourceInUse aws elbv2 delete-target-group --target-group-arn "$TG"
expect_error "unknown load balancer" LoadBalancerNotFound aws elbv2 describe-load-balancers --names nope

# ---- Auto Scaling: the seed's worker group (§7) ----
asg() { aws autoscaling "$@" --output text; }
aws autoscaling create-launch-configuration --launch-configuration-name workers --image-id ami-0123456789abcdef0 --instance-type c5.large
aws autoscaling create-auto-scaling-group --auto-scaling-group-name workers --launch-configuration-name workers \
  --min-size 0 --max-size 4 --desired-capacity 0 --vpc-zone-identifier "$SA,$SB" \
  --tags Key=k8s.io/cluster-autoscaler/enabled,Value=true,PropagateAtLaunch=true Key=k8s.io/cluster-autoscaler/int32bit-kubernetes,Value=owned,PropagateAtLaunch=true
check "auto-discovery by tag key" "workers" "$(asg describe-auto-scaling-groups --filters Name=tag-key,Values=k8s.io/cluster-autoscaler/enabled --query 'AutoScalingGroups[].AutoScalingGroupName')"
expect_error "desired above max" ValidationError aws autoscaling set-desired-capacity --auto-scaling-group-name workers --desired-capacity 40
expect_error "unknown group" ValidationError aws autoscaling set-desired-capacity --auto-scaling-group-name nope --desired-capacity 1
aws autoscaling set-desired-capacity --auto-scaling-group-name workers --desired-capacity 4
cloudbox_advance 5m
check "four InService" "4" "$(asg describe-auto-scaling-groups --auto-scaling-group-names workers --query 'length(AutoScalingGroups[0].Instances[?LifecycleState==`InService`])')"
check "balanced over two AZs" "2 2" "$(asg describe-auto-scaling-groups --auto-scaling-group-names workers --query 'AutoScalingGroups[0].Instances[].AvailabilityZone' | tr '\t' '\n' | sort | uniq -c | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
check "group tag on the instances" "4" "$(q describe-instances --filters Name=tag:aws:autoscaling:groupName,Values=workers --query 'length(Reservations[].Instances[])')"
check "launch activities recorded" "True" "$(asg describe-scaling-activities --auto-scaling-group-name workers --query 'length(Activities) >= `4`')"

# ---- STS ----
check "caller identity" "123456789012" "$(aws sts get-caller-identity --query Account --output text)"
CREDS=$(aws sts assume-role --role-arn arn:aws-cn:iam::123456789012:role/node --role-session-name kubelet --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
read -r AK SK ST <<<"$CREDS"
check "assumed-role identity" "arn:aws-cn:sts::123456789012:assumed-role/node/kubelet" \
  "$(AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_SESSION_TOKEN=$ST aws sts get-caller-identity --query Arn --output text)"

echo "aws CLI: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
