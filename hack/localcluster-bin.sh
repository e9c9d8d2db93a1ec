#!/usr/bin/env bash
# Prints the path of the ccictl-localcluster binary, building it first if the
# cache has no build of the current localcluster module. The key is a hash of
# the module's go.mod, go.sum and non-test sources (its packages included),
# so a dependency bump rebuilds and nothing else does. The build takes
# several minutes on 2 cores; cached runs take milliseconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mod="$root/localcluster"
cache="${CCICTL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccictl}"
key=$( (cd "$mod" && cat go.mod go.sum $(find . -name "*.go" ! -name "*_test.go" | sort); cat "$root/hack/localcluster-bin.sh") | sha256sum | cut -c1-16)
bin="$cache/localcluster-$key/ccictl-localcluster"
if [ ! -x "$bin" ]; then
  mkdir -p "$(dirname "$bin")"
  echo "building ccictl-localcluster (kube-apiserver + etcd + kube-controller-manager from source; several minutes, cached afterwards)..." >&2
  start=$(date +%s)
  # Stamp the Kubernetes version the module pins, so `version` and discovery
  # report what a real v1.x server reports instead of a placeholder.
  kv=$(awk '$1=="k8s.io/kubernetes" {print $2; exit}' "$mod/go.mod")
  major=${kv#v}; major=${major%%.*}
  minor=${kv#v$major.}; minor=${minor%%.*}
  pkgv=k8s.io/component-base/version
  ld="-X $pkgv.gitVersion=$kv -X $pkgv.gitMajor=$major -X $pkgv.gitMinor=$minor -X $pkgv.gitTreeState=clean -X $pkgv.buildDate=1970-01-01T00:00:00Z"
  (cd "$mod" && GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  echo "built $bin in $(( $(date +%s) - start ))s" >&2
fi
echo "$bin"
