#!/usr/bin/env bash
# The demo's last act: a 5-pod Deployment rolled under load with the safe
# set-up (readiness gate, preStop sleep, connection_drain), through the ELB
# emulator's pool listener on loopback. It runs the lab's CI test, which
# brings up its own control plane and kwok from the cached builds, and
# prints its one-line-per-second timeline, its summary table and the plot's
# path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
plots="${CCICTL_LAB_PLOTS:-${TMPDIR:-/tmp}/ccictl-demo-rollout}"
mkdir -p "$plots"
printf '\n# a live rollout: 5 pods rolled (maxSurge 25%%, maxUnavailable 0) under 100 requests/s\n'
printf '# and 4 long-lived connections, with readiness gates, preStop sleep and connection_drain\n'
cd "$root"
CCICTL_LOCALCLUSTER_BIN="${CCICTL_LOCALCLUSTER_BIN:-$(bash hack/localcluster-bin.sh)}" CCICTL_LAB_PLOTS="$plots" \
  go test -count=1 -v -timeout 10m -run '^TestRolloutLabSafeSetUpFailsNothing$' ./cmd/ccictl 2>&1 |
  awk '
    # A log line of the lab: its timeline, its LAB lines, and the rows of
    # the LAB SUMMARY table that follow it (continuation lines, indented).
    /^ *e2e_lab_test.go:[0-9]+: / { sub(/^ *e2e_lab_test.go:[0-9]+: /, ""); summary = /^LAB SUMMARY/; if (/^(t= *[0-9]+s |LAB )/) print; next }
    summary && /^        / { sub(/^        /, ""); print; next }
    { summary = 0 }
    /^--- (PASS|FAIL)/ { print }'
