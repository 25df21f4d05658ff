# Shared helpers for the ci/ scripts: start `cloudbox up` on free ports, wait for it, stop it.
# Source this file; it needs CLOUDBOX_BIN (path to the built binary).

CLOUDBOX_BIN=${CLOUDBOX_BIN:-${CARGO_TARGET_DIR:-target}/debug/cloudbox}

cloudbox_start() {
  CB_DIR=$(mktemp -d)
  CB_LOG="$CB_DIR/up.log"
  # The conformance scripts build their own resources on a bare endpoint unless told otherwise
  # (CB_TOPOLOGY=seed brings up the seed cluster, as `cloudbox up` does by default).
  "$CLOUDBOX_BIN" up --aws-port 0 --kube-port 0 --kubeconfig "$CB_DIR/kubeconfig" --topology "${CB_TOPOLOGY:-empty}" "$@" >"$CB_LOG" 2>&1 &
  CB_PID=$!
  trap cloudbox_stop EXIT
  for _ in $(seq 1 200); do
    if grep -q '^export AWS_ENDPOINT_URL=' "$CB_LOG"; then
      break
    fi
    if ! kill -0 "$CB_PID" 2>/dev/null; then
      echo "cloudbox up exited early:"; cat "$CB_LOG"; return 1
    fi
    sleep 0.05
  done
  eval "$(grep '^export ' "$CB_LOG")"
  echo "cloudbox up: AWS $AWS_ENDPOINT_URL, KUBECONFIG $KUBECONFIG"
}

cloudbox_stop() {
  if [ -n "${CB_PID:-}" ] && kill -0 "$CB_PID" 2>/dev/null; then
    kill -INT "$CB_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$CB_PID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$CB_PID" 2>/dev/null || true
  fi
}

# Moves the simulation clock (no wall-clock waiting).
cloudbox_advance() {
  curl -fsS -X POST "$AWS_ENDPOINT_URL/_cloudbox/clock/advance?by=$1" >/dev/null
}

PASS=0
FAIL=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then PASS=$((PASS + 1)); echo "ok   $1"; else FAIL=$((FAIL + 1)); echo "FAIL $1: expected '$2', got '$3'"; fi
}
# expect_error NAME CODE command... : the command must fail with that AWS error code.
expect_error() {
  local name=$1 code=$2; shift 2
  local out
  if out=$("$@" 2>&1); then
    FAIL=$((FAIL + 1)); echo "FAIL $name: succeeded, expected $code"
  elif grep -q "($code)" <<<"$out"; then
    PASS=$((PASS + 1)); echo "ok   $name ($code)"
  else
    FAIL=$((FAIL + 1)); echo "FAIL $name: expected $code, got: $out"
  fi
}
