#!/usr/bin/env bash
# The demo's last act: a 5-pod Deployment rolled under load with the safe
# set-up (readiness gate, preStop sleep, connection_drain), through the ELB
# emulator's pool listener on loopback. It runs the lab's CI test, which
# brings up its own control plane and kwok from the cached builds, and
# prints its one-line-per-second timeline and the plot's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
plots="${CCICTL_LAB_PLOTS:-${TMPDIR:-/tmp}/ccictl-demo-rollout}"
mkdir -p "$plots"
printf '\n# a live rollout: 5 pods rolled (maxSurge 25%%, maxUnavailable 0) under 100 requests/s\n'
printf '# and 4 long-lived connections, with readiness gates, preStop sleep and connection_drain\n'
cd "$root"
CCICTL_LOCALCLUSTER_BIN="${CCICTL_LOCALCLUSTER_BIN:-$(bash hack/localcluster-bin.sh)}" CCICTL_LAB_PLOTS="$plots" \
  go test -count=1 -v -timeout 10m -run '^TestRolloutLabSafeSetUpFailsNothing$' ./cmd/ccictl 2>&1 |
  sed -n -e 's/^ *e2e_lab_test.go:[0-9]*: \(t= *[0-9]*s .*\)/\1/p' -e 's/^ *e2e_lab_test.go:[0-9]*: \(LAB .*\)/\1/p' -e 's/^--- \(PASS\|FAIL\).*/\0/p'
