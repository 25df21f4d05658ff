#!/usr/bin/env bash
# Drives the real kubectl (1.32) against cloudbox's Kubernetes API.
#
# Usage: ci/kubectl.sh [KUBECONFIG]
#   The kubeconfig comes from the argument or $KUBECONFIG (e.g. the one `cloudbox up` writes).
#   With neither, the script starts `cargo run -p cloudbox-kube --example serve` itself.
# Every kubectl call is bounded by `timeout`; the whole script by $CLOUDBOX_KUBECTL_TIMEOUT (300 s).
# Exits non-zero on the first failed check.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${CLOUDBOX_KUBECTL_INNER:-}" ]; then
  export CLOUDBOX_KUBECTL_INNER=1
  exec timeout "${CLOUDBOX_KUBECTL_TIMEOUT:-300}" "$0" "$@"
fi

KCFG=${1:-${KUBECONFIG:-}}
if [ -z "$KCFG" ]; then
  KCFG="$WORK/kubeconfig"
  (cd "$ROOT" && cargo build -q -p cloudbox-kube --example serve)
  TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
  "$TARGET/debug/examples/serve" 0 "$KCFG" > "$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    grep -q '^ready' "$WORK/serve.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '^ready' "$WORK/serve.log" || { echo "server did not start"; cat "$WORK/serve.log"; exit 1; }
fi

SEED="$ROOT/fixtures/seed"
NS="kubectl-ci-$$"
PASS=0
k() { timeout 60 kubectl --kubeconfig "$KCFG" --cache-dir "$WORK/cache" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
expect_eq() { # description actual expected
  [ "$2" = "$3" ] || fail "$1: expected [$3], got [$2]"
  ok "$1"
}
expect_match() { # description text regex
  echo "$2" | grep -Eq -- "$3" || fail "$1: [$2] does not match /$3/"
  ok "$1"
}

k version -o json > /dev/null || fail "kubectl version"
ok "version"
# typed `create` subcommands send protobuf bodies
k create namespace "$NS" > /dev/null
ok "create namespace (protobuf body)"
kn() { k -n "$NS" "$@"; }

# api-resources from aggregated discovery
RES=$(k api-resources)
expect_match "api-resources lists deployments" "$RES" '^deployments +deploy +apps/v1 +true +Deployment'
expect_match "api-resources lists legacy ingress group" "$(k api-resources --api-group=networking.k8s.io)" 'ingresses +ing'

kn create configmap from-literal --from-literal=a=1 > /dev/null
expect_eq "create configmap (protobuf body)" "$(kn get cm from-literal -o jsonpath='{.data.a}')" "1"
kn create secret generic s1 --from-literal=p=secret > /dev/null
expect_eq "create secret (protobuf body)" "$(kn get secret s1 -o jsonpath='{.data.p}')" "c2VjcmV0"
kn create deployment made --image=nginx:1.25 --replicas=2 > /dev/null
expect_eq "create deployment (protobuf body)" "$(kn get deploy made -o jsonpath='{.spec.replicas}/{.spec.template.spec.containers[0].imagePullPolicy}')" "2/IfNotPresent"

# the seed's manifests, unchanged; applied twice so the second run takes the strategic merge patch path
for f in storageclass-standard pvc-ebs-standard-30g pod-nginx-pvc service-kubernetes-bootcamp-v1-nlb ingress-int32bit-aws-alb deployment-nginx; do
  kn apply -f "$SEED/$f.yaml" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "apply $f"; }
  ok "apply $f"
done
for f in storageclass-standard pvc-ebs-standard-30g pod-nginx-pvc service-kubernetes-bootcamp-v1-nlb ingress-int32bit-aws-alb deployment-nginx; do
  OUT=$(kn apply -f "$SEED/$f.yaml" 2>&1) || { echo "$OUT"; fail "re-apply $f"; }
  expect_match "re-apply $f" "$OUT" '(unchanged|configured)'
done

# get: server-side Table columns
expect_match "get storageclass columns" "$(k get storageclass standard)" '^NAME +PROVISIONER +RECLAIMPOLICY +VOLUMEBINDINGMODE +ALLOWVOLUMEEXPANSION +AGE'
expect_match "get storageclass row" "$(k get storageclass standard --no-headers)" '^standard +kubernetes.io/aws-ebs +Retain +Immediate +true'
SVC=$(kn get service kubernetes-bootcamp-v1)
expect_match "get service columns" "$SVC" '^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE'
# EXTERNAL-IP is <pending> until a load-balancer controller (cloudbox up's, if running) fills it
expect_match "get service row" "$SVC" 'kubernetes-bootcamp-v1 +LoadBalancer +10\.[0-9.]+ +[^ ]+ +8080:3[0-9]{4}/TCP'
expect_match "get pods columns" "$(kn get pods)" '^NAME +READY +STATUS +RESTARTS +AGE'
expect_match "get pod row" "$(kn get pod nginx --no-headers)" '^nginx +[01]/1 +[A-Za-z]+ +[0-9]+ '
expect_match "get pods wide" "$(kn get pods -o wide)" 'IP +NODE +NOMINATED NODE +READINESS GATES'
expect_match "get pvc columns" "$(kn get pvc)" '^NAME +STATUS +VOLUME +CAPACITY +ACCESS MODES +STORAGECLASS'
expect_match "get deployment columns" "$(kn get deploy)" '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE'
expect_match "get ingress columns" "$(kn get ingress)" '^NAME +CLASS +HOSTS +ADDRESS +PORTS +AGE'
expect_match "get namespaces" "$(k get ns)" 'kube-system +Active'

# get -w: the watch is served as Tables (kubectl prints server columns)
OUT=$(timeout 3 kubectl --kubeconfig "$KCFG" --cache-dir "$WORK/cache" -n "$NS" get pvc -w 2>&1 || true)
expect_match "get -w prints table rows" "$OUT" 'ebs-standard-30g +Pending'

# jsonpath: the legacy Ingress is served as networking.k8s.io/v1
expect_eq "ingress converted to v1" "$(kn get ingress int32bit-aws-alb-ingress -o jsonpath='{.spec.rules[0].http.paths[0].backend.service.name}:{.spec.rules[0].http.paths[0].backend.service.port.number}')" "kubernetes-bootcamp-v1:8080"
expect_eq "deployment replicas" "$(kn get deploy nginx -o jsonpath='{.spec.replicas}')" "10"
expect_eq "pod defaults" "$(kn get pod nginx -o jsonpath='{.spec.restartPolicy}/{.spec.containers[0].imagePullPolicy}/{.spec.containers[0].ports[0].protocol}')" "Always/Always/TCP"
expect_match "service nodePort" "$(kn get svc kubernetes-bootcamp-v1 -o jsonpath='{.spec.ports[0].nodePort}')" '^3[0-9]{4}$'

# client-side apply of a changed manifest (strategic merge patch)
sed 's/replicas: 10/replicas: 4/' "$SEED/deployment-nginx.yaml" | kn apply -f - > /dev/null
expect_eq "apply changed manifest" "$(kn get deploy nginx -o jsonpath='{.spec.replicas}/{.metadata.generation}')" "4/2"

# patch types, diff (server-side dry run), rollout restart (strategic merge patch of the template)
kn patch deploy nginx --type=merge -p '{"metadata":{"labels":{"m":"1"}}}' > /dev/null
kn patch deploy nginx --type=json -p '[{"op":"add","path":"/metadata/labels/j","value":"2"}]' > /dev/null
kn patch deploy nginx -p '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"E","value":"v"}]}]}}}}' > /dev/null
expect_eq "patch merge/json/strategic" "$(kn get deploy nginx -o jsonpath='{.metadata.labels.m}{.metadata.labels.j}/{.spec.template.spec.containers[0].image}/{.spec.template.spec.containers[0].env[0].value}')" "12/nginx:latest/v"
set +e
sed 's/replicas: 10/replicas: 5/' "$SEED/deployment-nginx.yaml" | kn diff -f - > "$WORK/diff" 2>&1
RC=$?
set -e
[ "$RC" = 1 ] || { cat "$WORK/diff"; fail "kubectl diff exit code $RC"; }
expect_match "diff shows the change" "$(cat "$WORK/diff")" '^\+  replicas: 5'
expect_eq "diff did not write" "$(kn get deploy nginx -o jsonpath='{.spec.replicas}')" "4"
kn rollout restart deploy nginx > /dev/null
expect_match "rollout restart" "$(kn get deploy nginx -o jsonpath='{.spec.template.metadata.annotations}')" 'restartedAt'
expect_match "get all (category)" "$(kn get all 2>&1)" 'deployment.apps/nginx'

# describe (uses events with involvedObject field selectors)
expect_match "describe pod" "$(kn describe pod nginx)" 'Name: +nginx'
expect_match "describe service" "$(kn describe svc kubernetes-bootcamp-v1)" 'Type: +LoadBalancer'

# label / annotate / scale
kn label pod nginx tier=web > /dev/null
expect_eq "label selector" "$(kn get pods -l 'tier in (web),app!=x' -o name)" "pod/nginx"
kn annotate deploy nginx note=hello > /dev/null
expect_eq "annotate" "$(kn get deploy nginx -o jsonpath='{.metadata.annotations.note}')" "hello"
kn scale deploy nginx --replicas=3 > /dev/null
expect_eq "scale" "$(kn get deploy nginx -o jsonpath='{.spec.replicas}')" "3"

# wait: jsonpath, condition (status written through the status subresource), delete
kn wait --for=jsonpath='{.spec.replicas}'=3 deploy/nginx --timeout=20s > /dev/null
ok "wait --for=jsonpath"
kn patch pod nginx --subresource=status --type=merge -p '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}' > /dev/null
kn wait --for=condition=Ready pod/nginx --timeout=20s > /dev/null
ok "wait --for=condition"

# server-side apply, field ownership conflicts and --force-conflicts
cat > "$WORK/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa
data:
  a: "1"
YAML
kn apply --server-side -f "$WORK/cm.yaml" > /dev/null
sed 's/"1"/"2"/' "$WORK/cm.yaml" | kn apply --server-side -f - > /dev/null
expect_eq "server-side apply" "$(kn get cm ssa -o jsonpath='{.data.a}')" "2"
if OUT=$(sed 's/replicas: 10/replicas: 7/' "$SEED/deployment-nginx.yaml" | kn apply --server-side -f - 2>&1); then
  fail "server-side apply over kubectl-client-side-apply's field should conflict: $OUT"
fi
expect_match "server-side apply conflict" "$OUT" 'conflict'
sed 's/replicas: 10/replicas: 7/' "$SEED/deployment-nginx.yaml" | kn apply --server-side --force-conflicts -f - > /dev/null
expect_eq "server-side apply --force-conflicts" "$(kn get deploy nginx -o jsonpath='{.spec.replicas}')" "7"

# strict field validation (kubectl's default --validate=strict)
cat > "$WORK/bad.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: bad
spec:
  foo: 1
YAML
if OUT=$(kn apply -f "$WORK/bad.yaml" 2>&1); then fail "unknown field accepted: $OUT"; fi
expect_match "strict validation" "$OUT" 'unknown field "spec"'

# delete with cascade: a ConfigMap owned by the Deployment goes with it
UID_=$(kn get deploy nginx -o jsonpath='{.metadata.uid}')
cat <<YAML | kn apply -f - > /dev/null
apiVersion: v1
kind: ConfigMap
metadata:
  name: owned
  ownerReferences:
  - apiVersion: apps/v1
    kind: Deployment
    name: nginx
    uid: $UID_
YAML
kn delete deploy nginx --cascade=foreground --timeout=20s > /dev/null
kn wait --for=delete cm/owned --timeout=20s > /dev/null 2>&1 || true
expect_match "cascade deleted dependents" "$(kn get cm owned 2>&1 || true)" 'NotFound|not found'
# grace 0: without a kubelet a bound pod would wait for one forever
kn delete pod nginx --wait=false --grace-period=0 --force > /dev/null 2>&1
kn wait --for=delete pod/nginx --timeout=20s > /dev/null
ok "wait --for=delete"

# issue 7: the kinds controllers and charts create first, RBAC answers, upstream refusals
if OUT=$(k delete ns default 2>&1); then fail "deleting namespace default succeeded: $OUT"; fi
expect_match "delete ns default refused" "$OUT" 'namespaces "default" is forbidden: this namespace may not be deleted'
cat <<YAML | kn apply -f - > /dev/null
apiVersion: v1
kind: ReplicationController
metadata:
  name: rc1
spec:
  replicas: 2
  template:
    metadata:
      labels: {app: rc1}
    spec:
      containers: [{name: c, image: "nginx:1.25"}]
YAML
expect_match "get rc columns" "$(kn get rc)" '^NAME +DESIRED +CURRENT +READY +AGE'
expect_match "get rc row" "$(kn get rc rc1 --no-headers)" '^rc1 +2 +0 +0 '
expect_match "get all lists replicationcontrollers" "$(kn get all 2>&1)" 'replicationcontroller/rc1'
kn create job pi --image=perl:5.34 -- perl -e 'print 1' > /dev/null
expect_match "create job" "$(kn get jobs)" '^NAME +STATUS +COMPLETIONS +DURATION +AGE'
expect_match "job generated selector" "$(kn get job pi -o jsonpath='{.spec.selector.matchLabels}')" 'batch.kubernetes.io/controller-uid'
kn create cronjob tick --image=busybox --schedule='*/5 * * * *' > /dev/null
expect_match "create cronjob" "$(kn get cj tick --no-headers)" '^tick +\*/5 \* \* \* \* +<none> +False +0 +<none>'
kn create role pod-reader --verb=get,list --resource=pods > /dev/null
kn create sa bot > /dev/null
kn create rolebinding bot-reads --role=pod-reader --serviceaccount="$NS:bot" > /dev/null
expect_match "create role / rolebinding" "$(kn get rolebinding bot-reads -o wide)" "Role/pod-reader .*$NS/bot"
expect_eq "auth can-i (admin)" "$(kn auth can-i create deployments)" "yes"
expect_eq "auth can-i (bound service account)" "$(kn auth can-i list pods --as="system:serviceaccount:$NS:bot")" "yes"
expect_eq "auth can-i (not granted)" "$(kn auth can-i delete pods --as="system:serviceaccount:$NS:bot" 2>/dev/null || true)" "no"
DC="system:serviceaccount:kube-system:deployment-controller"
expect_eq "auth can-i (controller role)" "$(kn auth can-i update deployments.apps --subresource=status --as="$DC")" "yes"
expect_eq "auth can-i (controller role, not granted)" "$(kn auth can-i create pods --as="$DC" 2>/dev/null || true)" "no"
TOKEN=$(kn create token bot)
# kubectl sends no bearer token over plain HTTP, so the token is presented with curl
SERVER=$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')
expect_match "service-account token: allowed" "$(curl -s -H "Authorization: Bearer $TOKEN" "$SERVER/api/v1/namespaces/$NS/pods")" '"kind":"PodList"'
expect_match "service-account token: RBAC 403" "$(curl -s -H "Authorization: Bearer $TOKEN" "$SERVER/apis/apps/v1/namespaces/$NS/deployments")" "deployments.apps is forbidden: User ..system:serviceaccount:$NS:bot.. cannot list resource ..deployments.. in API group ..apps.. in the namespace"
expect_match "auth whoami" "$(k auth whoami)" 'kubernetes-admin'
expect_eq "unknown bearer token: 401" "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer not-a-token" "$SERVER/api/v1/namespaces/$NS/pods")" "401"
# Issue 7 §3: the in-process scheduler runs as system:kube-scheduler (its two bootstrap roles).
expect_eq "auth can-i (system:volume-scheduler)" "$(kn auth can-i patch persistentvolumeclaims --as=system:kube-scheduler)" "yes"
kn create pdb web --selector=app=web --min-available=1 > /dev/null
expect_match "create pdb" "$(kn get pdb web --no-headers)" '^web +1 +N/A +0 '
expect_match "priority classes" "$(k get pc)" 'system-node-critical +2000001000'
# CertificateSigningRequest: the requester is the request's user; approval through `approval`.
CSR_NAME="jane-$NS"
cat <<YAML | k apply -f - > /dev/null
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: $CSR_NAME
spec:
  request: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0KTUlJQ1lqQ0NBVW9DQVFBd0hURU5NQXNHQTFVRUF3d0VhbUZ1WlRFTU1Bb0dBMVVFQ2d3RFpHVjJNSUlCSWpBTgpCZ2txaGtpRzl3MEJBUUVGQUFPQ0FROEFNSUlCQ2dLQ0FRRUFyOFJHSGJyUDYrL2s3Vm1hSGpiazFGaHdXTGpSClRXdXpKKzgza3ZIS25CcjYzTUV5NWJEdDY4LzJZSXBVYittVFdMT29QSmNvQngrU0hBaUNIRUVLQWY5Smc1NXMKYmRLQ2lGRTR0RFhzakNqZnYzSWpCVlBhTXoxZE80UGxYVkRpNmpmMXZXZWF6Z045T3JtaitvSTJMZXFITE9aYwpQeUE4K1lVRnpVd1RXV1dWTzV6Ry9PL1UwWDNKRFhGcXM1WGsxRGhMejg3ZVFBZ0FZUFpvbVpkcDEvcE1keEFDCmNTNW1VQnRPTm9CNERVZ3FnR2tmRzd2TlVlS1NEWWhlQnU5VytRcTArV2lLQU4vNmlZT2tGL0VpRE5oaWR1RmQKcXVacEVKNnhxOS85Sk5nRnNHazM1Z0lFWWZ5cy9jak1ySGlHTDJHWlEvQkhVbUZ3elhCaXpid2w5d0lEQVFBQgpvQUF3RFFZSktvWklodmNOQVFFTEJRQURnZ0VCQUFBaHdyaURmQ0ZoeHUyc2ZpazVwY29acmNDb2JTOGxGMkJaCm5yWGMvaXFUUy9ETmdZdkxCTjVOUHJ6TXJjMGs5bFdWejRDMndhZG95cG82WTZ4RHNvd2pGVUt2M3B2UlRkQ1gKQ3J1OWltRmJCTGVRTHVlWmpuN1RqQytPUFpqbEFUc1NlKzRmUVZYRHhkWW8wcmRyb1Nhd1hFeUdOOUg5clRSMgptV2ExVWZPakVtenpLMm41ajY0Z3ExcStQdUt3SUJqaURsaEVnY0o1YnMvVjFDY3krMG9XQlM3M3BJaksrWTNGCkdaRGszZnhlR2l1bklPaGRhaTdUL2MrM21MSjZEUWZNcGY0eXA3VVJUbm5EWXVNcTRJVVZQMXNOeE9Jd212U0oKeFJvNjJZSUZ1WnFnQW1sQ05zUW5JS3BPMXJTa2tzemF5U3FjTDZRVndpRkFKY0NyZUUwPQotLS0tLUVORCBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K
  signerName: kubernetes.io/kube-apiserver-client
  usages: [client auth]
YAML
expect_match "csr REQUESTOR and CONDITION" "$(k get csr "$CSR_NAME" --no-headers)" "^$CSR_NAME +[0-9]+s +kubernetes.io/kube-apiserver-client +kubernetes-admin +<none> +Pending"
k certificate approve "$CSR_NAME" > /dev/null
expect_match "certificate approve" "$(k get csr "$CSR_NAME" --no-headers)" ' +Approved$'
k delete csr "$CSR_NAME" > /dev/null
# LimitRange defaults and max; ResourceQuota admission; HPA; stored-only kinds.
cat <<YAML | kn apply -f - > /dev/null
apiVersion: v1
kind: LimitRange
metadata: {name: lim}
spec:
  limits:
  - type: Container
    default: {cpu: 500m}
    defaultRequest: {cpu: 250m}
    max: {cpu: "1"}
YAML
kn run lr-default --image=nginx > /dev/null
expect_eq "limitrange defaults" "$(kn get pod lr-default -o jsonpath='{.spec.containers[0].resources.requests.cpu}/{.spec.containers[0].resources.limits.cpu}')" "250m/500m"
OUT=$(kn run lr-max --image=nginx --overrides='{"spec":{"containers":[{"name":"lr-max","image":"nginx","resources":{"limits":{"cpu":"2"}}}]}}' 2>&1 || true)
expect_match "limitrange max" "$OUT" 'pods "lr-max" is forbidden: maximum cpu usage per Container is 1, but limit is 2'
kn delete limitrange lim > /dev/null
USED=$(kn get pods --no-headers 2>/dev/null | wc -l | tr -d ' ')
kn create quota q1 --hard=pods="$USED" > /dev/null
OUT=$(kn run over-quota --image=nginx 2>&1 || true)
expect_match "quota admission" "$OUT" "pods \"over-quota\" is forbidden: exceeded quota: q1, requested: pods=1, used: pods=$USED, limited: pods=$USED"
expect_match "quota columns" "$(kn get quota q1 --no-headers)" "^q1 +pods: $USED/$USED +[0-9]+s"
kn delete quota q1 > /dev/null
kn create deployment hpa-web --image=nginx > /dev/null
kn autoscale deployment hpa-web --max=3 --cpu-percent=50 > /dev/null
expect_match "autoscale (HPA)" "$(kn get hpa hpa-web --no-headers)" '^hpa-web +Deployment/hpa-web +cpu: <unknown>/50% +1 +3 '
cat <<YAML | kn apply -f - > /dev/null
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec: {podSelector: {}}
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tmpl}
template:
  metadata: {labels: {a: b}}
  spec: {containers: [{name: c, image: nginx}]}
YAML
expect_match "networkpolicy" "$(kn get netpol deny-all --no-headers)" '^deny-all +<none> '
expect_match "podtemplate" "$(kn get podtemplate tmpl --no-headers)" '^tmpl +c +nginx +a=b'
cat <<YAML | k apply -f - > /dev/null
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: gvisor-$NS}
handler: runsc
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replicas-$NS}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules: [{apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE"], resources: ["deployments"]}]
  validations: [{expression: "object.spec.replicas <= 5"}]
YAML
expect_match "runtimeclass" "$(k get runtimeclass "gvisor-$NS" --no-headers)" "^gvisor-$NS +runsc "
expect_match "validatingadmissionpolicy stored" "$(k get validatingadmissionpolicy "replicas-$NS" --no-headers)" "^replicas-$NS +1 +<unset> "
k delete runtimeclass "gvisor-$NS" > /dev/null
k delete validatingadmissionpolicy "replicas-$NS" > /dev/null
cat > "$WORK/tr.yaml" <<YAML
apiVersion: authentication.k8s.io/v1
kind: TokenReview
spec: {token: "$(kn create token bot)"}
YAML
expect_eq "tokenreview" "$(k create -f "$WORK/tr.yaml" -o jsonpath='{.status.authenticated}/{.status.user.username}')" "true/system:serviceaccount:$NS:bot"
expect_match "api-resources lists rbac and batch" "$(k api-resources)" 'clusterroles +rbac.authorization.k8s.io/v1 +false +ClusterRole'
expect_match "metrics" "$(k get --raw /metrics)" 'apiserver_request_total\{code="201",component="apiserver"'
# Issue 7 §4/§5: chunked lists (kubectl pages with limit/continue) and list resourceVersion rules.
expect_match "chunked get pages through continue tokens" "$(k get ns --chunk-size=1 --no-headers | wc -l | tr -d ' ')" '^[4-9]$'
expect_match "list RV too large is 504" "$(k get --raw "/api/v1/namespaces?resourceVersion=999999999&resourceVersionMatch=NotOlderThan" 2>&1 || true)" 'Too large resource version|Timeout|timed out|504'
expect_match "Exact without RV is 422" "$(k get --raw "/api/v1/namespaces?resourceVersionMatch=Exact" 2>&1 || true)" 'resourceVersionMatch is forbidden unless resourceVersion is provided|Invalid|422'

# issue 7 §4: OpenAPI v3/v2 and kubectl explain (upstream 1.32 schemas; CRD documents from their schemas)
OUT=$(k explain pods)
expect_match "explain pods: KIND" "$(echo "$OUT" | sed -n 1p)" '^KIND: +Pod$'
expect_match "explain pods: VERSION" "$(echo "$OUT" | sed -n 2p)" '^VERSION: +v1$'
expect_match "explain pods: DESCRIPTION" "$OUT" 'Pod is a collection of containers that can run on a host'
expect_match "explain pods: FIELDS" "$OUT" '^  spec	<PodSpec>'
OUT=$(k explain pods.spec.containers)
expect_match "explain pods.spec.containers: FIELD" "$OUT" '^FIELD: +containers <\[\]Container>$'
expect_match "explain pods.spec.containers: image" "$OUT" '^  image	<string>'
OUT=$(k explain deployments.spec.strategy --recursive)
expect_match "explain --recursive: GROUP/KIND" "$(echo "$OUT" | sed -n 1,2p | tr '\n' ' ')" '^GROUP: +apps KIND: +Deployment $'
expect_match "explain --recursive: nested field" "$OUT" '^    maxSurge	<IntOrString>'
expect_match "explain --api-version" "$(k explain hpa --api-version=autoscaling/v1 | sed -n 1,3p | tr '\n' ' ')" '^GROUP: +autoscaling KIND: +HorizontalPodAutoscaler VERSION: +v1 $'
expect_match "explain (openapi v2, protobuf)" "$(k explain pods.spec --output=plaintext-openapiv2 | sed -n 1,6p | tr '\n' ' ')" '^KIND: +Pod VERSION: +v1 +RESOURCE: +spec <(Object|PodSpec)>'
cat <<'YAML' | k apply -f - > /dev/null
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: CronTab runs a command on a schedule.
        properties:
          spec:
            type: object
            description: The desired schedule.
            properties:
              cronSpec: {type: string, description: The cron schedule.}
              replicas: {type: integer}
YAML
k wait --for=condition=Established crd/crontabs.stable.example.com --timeout=20s > /dev/null
OUT=$(k explain crontabs)
expect_match "explain CRD: KIND/VERSION" "$(echo "$OUT" | sed -n 1,3p | tr '\n' ' ')" '^GROUP: +stable.example.com KIND: +CronTab VERSION: +v1 $'
expect_match "explain CRD: DESCRIPTION" "$OUT" 'CronTab runs a command on a schedule.'
OUT=$(k explain crontabs.spec.cronSpec)
expect_match "explain CRD field" "$OUT" '^FIELD: +cronSpec <string>$'
expect_match "explain CRD field description" "$OUT" 'The cron schedule.'
cat > "$WORK/typo.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: typo
spec:
  containers:
  - name: c
    image: nginx:1.25
    imagePullPolicyy: Always
YAML
if OUT=$(kn create --validate=strict -f "$WORK/typo.yaml" 2>&1); then fail "unknown field accepted: $OUT"; fi
expect_match "create --validate=strict: unknown field" "$OUT" 'strict decoding error: unknown field "spec.containers\[0\].imagePullPolicyy"'
cat <<'YAML' > "$WORK/ct.yaml"
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: ct1
spec:
  cronSpec: "* * * * */5"
  replicas: 1
  colour: blue
YAML
if OUT=$(kn create --validate=strict -f "$WORK/ct.yaml" 2>&1); then fail "unknown CR field accepted: $OUT"; fi
expect_match "create --validate=strict: unknown CR field" "$OUT" 'unknown field "spec.colour"'
# client-side apply with the served schemas' merge keys: remove a container port, reorder containers
cat > "$WORK/dep.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: order
spec:
  replicas: 0
  selector: {matchLabels: {app: order}}
  template:
    metadata: {labels: {app: order}}
    spec:
      containers:
      - name: a
        image: nginx:1.25
        ports: [{containerPort: 80}, {containerPort: 443}]
      - name: b
        image: busybox:1.36
YAML
kn apply -f "$WORK/dep.yaml" > /dev/null
sed 's/, {containerPort: 443}//' "$WORK/dep.yaml" > "$WORK/dep2.yaml"
kn apply -f "$WORK/dep2.yaml" > /dev/null
expect_eq "apply removes a container port" "$(kn get deploy order -o jsonpath='{.spec.template.spec.containers[0].ports[*].containerPort}')" "80"
# the same containers, b first
awk '/^      - name: a/{a=1} /^      - name: b/{a=0; b=1} a{A=A $0 "\n"; next} b{B=B $0 "\n"; next} {print} END{printf "%s%s", B, A}' "$WORK/dep2.yaml" > "$WORK/dep3.yaml"
kn apply -f "$WORK/dep3.yaml" > /dev/null
expect_eq "apply reorders containers" "$(kn get deploy order -o jsonpath='{.spec.template.spec.containers[*].name}')" "b a"
expect_eq "reordered containers keep their ports" "$(kn get deploy order -o jsonpath='{.spec.template.spec.containers[1].ports[*].containerPort}')" "80"
k delete crd crontabs.stable.example.com > /dev/null

# CRD structural schemas: a violating custom resource gets the upstream 422, rendered by kubectl
cat > "$WORK/crd.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ciwidgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: ciwidgets, singular: ciwidget, kind: CiWidget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations: [{rule: "self.replicas <= 5", message: "at most 5 replicas"}]
            properties:
              replicas: {type: integer, minimum: 1}
              mode: {type: string, enum: [fast, safe]}
YAML
k apply -f "$WORK/crd.yaml" > /dev/null
printf 'apiVersion: example.com/v1\nkind: CiWidget\nmetadata: {name: w}\nspec: {replicas: "two"}\n' > "$WORK/cr-bad.yaml"
if OUT=$(kn apply -f "$WORK/cr-bad.yaml" 2>&1); then fail "schema violation accepted: $OUT"; fi
expect_match "CR rejected (422)" "$OUT" 'The CiWidget "w" is invalid'
expect_match "CR type error" "$OUT" 'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'
expect_match "CEL skipped after a type error" "$OUT" 'some validation rules were not checked because the object was invalid'
printf 'apiVersion: example.com/v1\nkind: CiWidget\nmetadata: {name: w}\nspec: {replicas: 2, mode: slow}\n' > "$WORK/cr-bad.yaml"
if OUT=$(kn apply -f "$WORK/cr-bad.yaml" 2>&1); then fail "enum violation accepted: $OUT"; fi
expect_match "CR enum error" "$OUT" 'spec.mode: Unsupported value: "slow": supported values: "fast", "safe"'
printf 'apiVersion: example.com/v1\nkind: CiWidget\nmetadata: {name: w}\nspec: {replicas: 9}\n' > "$WORK/cr-bad.yaml"
if OUT=$(kn apply -f "$WORK/cr-bad.yaml" 2>&1); then fail "CEL violation accepted: $OUT"; fi
expect_match "CR CEL rule" "$OUT" 'The CiWidget "w" is invalid: spec: Invalid value: "object": at most 5 replicas'
printf 'apiVersion: example.com/v1\nkind: CiWidget\nmetadata: {name: w}\nspec: {replicas: 2, mode: safe}\n' > "$WORK/cr-ok.yaml"
kn apply -f "$WORK/cr-ok.yaml" > /dev/null
expect_match "valid CR applied" "$(kn get ciwidget w -o jsonpath='{.spec.mode}')" '^safe$'
sed 's/type: object$/type: objekt/;0,/objekt/s//object/' "$WORK/crd.yaml" | sed 's/name: ciwidgets.example.com/name: badwidgets.example.com/' > "$WORK/crd-bad.yaml"
if OUT=$(k apply -f "$WORK/crd-bad.yaml" 2>&1); then fail "invalid CRD accepted: $OUT"; fi
expect_match "CRD self-validation" "$OUT" 'CustomResourceDefinition(.apiextensions.k8s.io)? "badwidgets.example.com" is invalid'
expect_match "CRD structural type" "$OUT" 'openAPIV3Schema.properties\[spec\].type: Unsupported value: "objekt"'
k delete crd ciwidgets.example.com > /dev/null
# issue 7 §1: garbage collection — --cascade=orphan keeps the dependent (its reference dropped);
# an ownerReference to a uid that does not exist is collected as dangling
kn create deployment gc-owner --image=nginx > /dev/null
GC_UID=$(kn get deploy gc-owner -o jsonpath='{.metadata.uid}')
cat <<YAML | kn create -f - > /dev/null
apiVersion: v1
kind: ConfigMap
metadata:
  name: gc-dependent
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: gc-owner, uid: $GC_UID}
YAML
kn delete deployment gc-owner --cascade=orphan > /dev/null
expect_eq "delete --cascade=orphan keeps the dependent" "$(kn get cm gc-dependent -o jsonpath='{.metadata.name}:{.metadata.ownerReferences}')" "gc-dependent:"
cat <<YAML | kn create -f - > /dev/null
apiVersion: v1
kind: ConfigMap
metadata:
  name: gc-dangling
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: gc-owner, uid: 0b9a4c1e-0000-4000-8000-000000000000}
YAML
expect_match "dangling owner reference collected" "$(kn get cm gc-dangling 2>&1 || true)" 'NotFound|not found'
# issue 7 §1: field labels are the kind's (1.32 conversions): an unset boolean is `false`,
# Service spec.type is selectable, and each conversion words its refusal
kn run fs-pod --image=nginx > /dev/null
expect_eq "field selector on an unset boolean" "$(kn get pods --field-selector spec.hostNetwork=false,metadata.name=fs-pod -o name)" "pod/fs-pod"
expect_match "cluster-scoped kinds refuse metadata.namespace" "$(k get nodes --field-selector metadata.namespace=x 2>&1 || true)" 'field label not supported: metadata.namespace'
expect_match "Job field labels are batchv1.Job's" "$(kn get jobs --field-selector status.succeeded=1 2>&1 || true)" 'field label "status.succeeded" not supported for batchv1.Job'
expect_eq "Service spec.type field selector" "$(kn get svc --field-selector spec.type=LoadBalancer -o name)" "service/kubernetes-bootcamp-v1"

k delete namespace "$NS" --timeout=30s > /dev/null
expect_match "namespace deleted" "$(k get ns "$NS" 2>&1 || true)" 'NotFound|not found'
k delete storageclass standard --ignore-not-found > /dev/null
echo "kubectl.sh: $PASS checks passed"
