#!/usr/bin/env bash
# Seed §3 with the real kubectl and aws CLI against `cloudbox up` (the seed topology): the
# StorageClass `standard` (in-tree `kubernetes.io/aws-ebs`, served by the EBS CSI driver model),
# the claim `ebs-standard-30g` Bound to `pvc-<uid>`, its gp2 volume in `describe-volumes`, and the
# nginx pod Running with the volume in-use on its node's instance. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
CB_TOPOLOGY=seed cloudbox_start
export AWS_PAGER=""
kubectl wait nodes --all --for=condition=Ready --timeout=120s >/dev/null
kubectl apply -f ../scenarios/storage/manifests/seed-storage.yaml >/dev/null
check "kubectl get storageclasses shows the provisioner" "standard kubernetes.io/aws-ebs" \
  "$(kubectl get storageclasses --no-headers | awk '{print $1, $2}')"
kubectl wait pvc/ebs-standard-30g --for=jsonpath='{.status.phase}'=Bound --timeout=60s >/dev/null
UID_=$(kubectl get pvc ebs-standard-30g -o jsonpath='{.metadata.uid}')
check "claim bound to pvc-<uid>" "pvc-$UID_" "$(kubectl get pvc ebs-standard-30g -o jsonpath='{.spec.volumeName}')"
check "claim capacity" "30Gi" "$(kubectl get pvc ebs-standard-30g -o jsonpath='{.status.capacity.storage}')"
Q="Volumes[0].[Size,VolumeType,State]"
F="Name=tag:kubernetes.io/created-for/pvc/name,Values=ebs-standard-30g"
check "the gp2 volume in describe-volumes" "30	gp2	available" \
  "$(aws ec2 describe-volumes --filters "$F" --query "$Q" --output text)"
check "tagged with the PV name" "pvc-$UID_" \
  "$(aws ec2 describe-volumes --filters "$F" --query "Volumes[0].Tags[?Key=='kubernetes.io/created-for/pv/name'].Value" --output text)"
kubectl apply -f ../scenarios/storage/manifests/seed-nginx.yaml >/dev/null
kubectl wait pod/nginx --for=condition=Ready --timeout=60s >/dev/null
NODE=$(kubectl get pod nginx -o jsonpath='{.spec.nodeName}')
INSTANCE=$(aws ec2 describe-volumes --filters "$F" --query 'Volumes[0].Attachments[0].InstanceId' --output text)
check "volume in-use" "in-use" "$(aws ec2 describe-volumes --filters "$F" --query 'Volumes[0].State' --output text)"
check "attached to the pod's node's instance" "$NODE" \
  "$(aws ec2 describe-instances --instance-ids "$INSTANCE" --query 'Reservations[0].Instances[0].PrivateDnsName' --output text)"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
