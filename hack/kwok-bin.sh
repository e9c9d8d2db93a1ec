#!/usr/bin/env bash
# Prints the path of the kwok binary the rollout lab simulates nodes and pod
# status with, building it first from the Go module proxy if the cache has
# none. kwok is built in its own module (go install pkg@version) rather than
# imported, so its Kubernetes libraries never meet ccictl's.
set -euo pipefail
version=v0.8.0
cache="${CCICTL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccictl}"
bin="$cache/kwok-$version/kwok"
if [ ! -x "$bin" ]; then
  mkdir -p "$(dirname "$bin")"
  echo "building kwok $version from the Go module proxy (a few minutes, cached afterwards)..." >&2
  GOBIN="$(dirname "$bin")" GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$version"
fi
echo "$bin"
