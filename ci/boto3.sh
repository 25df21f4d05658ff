#!/usr/bin/env bash
# Runs ci/boto3_check.py against a fresh `cloudbox up`.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
cloudbox_start
python3 ./boto3_check.py
