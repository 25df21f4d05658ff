#!/usr/bin/env bash
# `cloudbox up` on its default topology, the seed's (§2): the real kubectl and aws CLI see the
# cluster the walkthrough built — Ready nodes named after the instances' private DNS names, the
# control plane's role and taint, instances in two AZs with the cluster tags. Exits non-zero on
# any failure.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
CB_TOPOLOGY=seed cloudbox_start
export AWS_PAGER=""
check "region of the export lines" "cn-northwest-1" "$AWS_REGION"
check "three Ready nodes" "3" "$(kubectl get nodes --no-headers | awk '$2 == "Ready"' | wc -l | tr -d ' ')"
check "control plane node name" "ip-192-168-193-172.cn-northwest-1.compute.internal" \
  "$(kubectl get nodes -l node-role.kubernetes.io/control-plane -o jsonpath='{.items[0].metadata.name}')"
check "control plane ROLES column" "control-plane" \
  "$(kubectl get node ip-192-168-193-172.cn-northwest-1.compute.internal --no-headers | awk '{print $3}')"
check "control plane taint" "node-role.kubernetes.io/control-plane:NoSchedule" \
  "$(kubectl get node ip-192-168-193-172.cn-northwest-1.compute.internal -o jsonpath='{.spec.taints[0].key}:{.spec.taints[0].effect}')"
check "INTERNAL-IP column" "192.168.193.172" \
  "$(kubectl get node ip-192-168-193-172.cn-northwest-1.compute.internal -o wide --no-headers | awk '{print $6}')"
check "provider id" "aws:///cn-northwest-1a/" \
  "$(kubectl get node ip-192-168-193-172.cn-northwest-1.compute.internal -o jsonpath='{.spec.providerID}' | grep -o '^aws:///cn-northwest-1a/')"
check "nodes in two zones" "2" \
  "$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.labels.topology\.kubernetes\.io/zone}{"\n"}{end}' | sort -u | wc -l | tr -d ' ')"
check "cluster instances running" "3" \
  "$(aws ec2 describe-instances --filters Name=tag:KubernetesCluster,Values=int32bit-kubernetes Name=instance-state-name,Values=running --query 'length(Reservations[].Instances[])' --output text)"
check "worker group found by the autoscaler's tag" "k8s-workers" \
  "$(aws autoscaling describe-auto-scaling-groups --filters Name=tag-key,Values=k8s.io/cluster-autoscaler/enabled --query 'AutoScalingGroups[0].AutoScalingGroupName' --output text)"
# Seed §7, first half, with the real kubectl: the 2G nginx replicas that fit run, the rest stay
# Pending with the scheduler's message (the controllers follow the wall clock in `up`, a pass a
# second; `kubectl wait` watches for it).
kubectl apply -f ../fixtures/seed/deployment-nginx.yaml >/dev/null
kubectl wait deployment/nginx --for=jsonpath='{.status.readyReplicas}'=4 --timeout=60s >/dev/null
check "nginx replicas ready" "4" "$(kubectl get deployment nginx -o jsonpath='{.status.readyReplicas}')"
check "nginx pods Pending" "6" "$(kubectl get pods -l app=nginx --field-selector status.phase=Pending --no-headers | wc -l | tr -d ' ')"
check "FailedScheduling names the memory shortage" "2 Insufficient memory" \
  "$(kubectl get events --field-selector reason=FailedScheduling -o jsonpath='{.items[0].message}' | grep -o '2 Insufficient memory')"
check "no nginx pod on the control plane" "0" \
  "$(kubectl get pods -l app=nginx --field-selector spec.nodeName=ip-192-168-193-172.cn-northwest-1.compute.internal --no-headers 2>/dev/null | wc -l | tr -d ' ')"
check "default ServiceAccount (serviceaccounts controller)" "default" \
  "$(kubectl get serviceaccount default -o jsonpath='{.metadata.name}')"
check "kubectl create token default" "yes" \
  "$( [ -n "$(kubectl create token default 2>/dev/null)" ] && echo yes || echo no)"
# Seed §4 with the aws CLI: every running nginx pod's IP is a secondary private IP of an ENI
# attached to its node's instance (the VPC CNI model), never an ENI's primary address.
ips_ok=0
ips_total=0
for pod in $(kubectl get pods -l app=nginx --field-selector status.phase=Running -o jsonpath='{range .items[*]}{.status.podIP}/{.spec.nodeName}{"\n"}{end}'); do
  ip="${pod%%/*}"; node="${pod##*/}"
  ips_total=$((ips_total + 1))
  instance="$(kubectl get node "$node" -o jsonpath='{.spec.providerID}' | sed 's#.*/##')"
  found="$(aws ec2 describe-network-interfaces \
    --filters Name=attachment.instance-id,Values="$instance" Name=addresses.private-ip-address,Values="$ip" \
    --query "NetworkInterfaces[].PrivateIpAddresses[?PrivateIpAddress=='$ip' && Primary==\`false\`][] | length(@)" --output text)"
  [ "$found" = "1" ] && ips_ok=$((ips_ok + 1))
done
check "running nginx pods" "4" "$ips_total"
check "pod IPs are secondary IPs of their node's ENIs" "$ips_total" "$ips_ok"
# Issue 7 §2: logs, exec and debug on a running pod with the real kubectl.
pod="$(kubectl get pods -l app=nginx --field-selector status.phase=Running -o jsonpath='{.items[0].metadata.name}')"
out="$(kubectl logs "$pod")"
check "kubectl logs (simulated application)" "yes" \
  "$(grep -q "simulated container \"nginx\" of pod default/$pod" <<<"$out" && echo yes || echo no)"
out="$(timeout 20 kubectl exec "$pod" -- ls 2>&1 || true)"
check "kubectl exec names what is not simulated" "yes" \
  "$(grep -q 'pods/exec is not simulated by cloudbox' <<<"$out" && echo yes || echo no)"
out="$(timeout 30 kubectl debug -it "$pod" --image=busybox --container=dbg --profile=general 2>&1 || true)"
check "kubectl debug -it waits for the ephemeral container, then says attach is not simulated" "yes" \
  "$(grep -q 'pods/attach is not simulated by cloudbox' <<<"$out" && echo yes || echo no)"
check "ephemeral container running" "true" \
  "$( [ -n "$(kubectl get pod "$pod" -o jsonpath='{.status.ephemeralContainerStatuses[?(@.name=="dbg")].state.running.startedAt}')" ] && echo true || echo false)"
# Issue 7 §3: the add-on controllers run under their Helm charts' accounts.
check "EBS CSI controller account may create PVs" "yes" \
  "$(kubectl auth can-i create persistentvolumes --as=system:serviceaccount:kube-system:ebs-csi-controller-sa 2>/dev/null)"
check "EBS CSI controller account may not delete nodes" "no" \
  "$(kubectl auth can-i delete nodes --as=system:serviceaccount:kube-system:ebs-csi-controller-sa 2>/dev/null || true)"
check "cloud-controller-manager may delete nodes" "yes" \
  "$(kubectl auth can-i delete nodes --as=system:serviceaccount:kube-system:cloud-controller-manager 2>/dev/null)"
check "aws-node may get nodes, not patch them" "yes/no" \
  "$(kubectl auth can-i get nodes --as=system:serviceaccount:kube-system:aws-node 2>/dev/null)/$(kubectl auth can-i patch nodes --as=system:serviceaccount:kube-system:aws-node 2>/dev/null || true)"
# (Stopped and terminated workers are covered in virtual time by scenarios/cluster/seed-cluster-up.yaml.)
echo "seed up: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
