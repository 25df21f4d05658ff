#!/usr/bin/env bash
# Runs ci/kubectl.sh (the real kubectl) against the Kubernetes API of a fresh `cloudbox up`.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
command -v kubectl >/dev/null || { echo "kubectl is required (see .ci/run)"; exit 1; }
cloudbox_start
bash ./kubectl.sh "$KUBECONFIG"
