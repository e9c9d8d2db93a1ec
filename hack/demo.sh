#!/usr/bin/env bash
# The main job on the local embedded default: a real kube-apiserver + etcd +
# kube-controller-manager on loopback with the PoolBinding CRD, the seed
# objects from testdata/, and the documented ccictl commands against them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ccictl="$root/bin/ccictl"
[ -x "$ccictl" ] || { echo "bin/ccictl missing: run 'make demo'" >&2; exit 1; }

lc=$(bash hack/localcluster-bin.sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/ccictl-demo.XXXXXX")
cleanup() {
  [ -n "${lcpid:-}" ] && kill "$lcpid" 2>/dev/null && wait "$lcpid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "# starting the local control plane (etcd, kube-apiserver, kube-controller-manager)"
"$lc" up --dir "$work/cluster" --crds pkg/apis/loadbalancer/v1/crd >"$work/localcluster.log" 2>&1 &
lcpid=$!
for _ in $(seq 1 900); do
  [ -f "$work/cluster/state.json" ] && break
  kill -0 "$lcpid" 2>/dev/null || { echo "local control plane exited:" >&2; tail -40 "$work/localcluster.log" "$work"/cluster/logs/*.log >&2; exit 1; }
  sleep 0.2
done
[ -f "$work/cluster/state.json" ] || { echo "local control plane not ready after 180s" >&2; tail -40 "$work"/cluster/logs/*.log >&2; exit 1; }
export CLICONFIG="$work/cluster/kubeconfig"

run() { printf '\n$ ccictl %s\n' "$*"; "$ccictl" "$@"; }

run version
run create -f testdata/namespace.yaml
run create -f testdata/service.yaml
run create -f testdata/poolbinding.yaml
run get poolbindings -n test-ns -oyaml
run get plb -n test-ns
run get poolbindings -n test-ns test-c1 -o jsonpath='{.spec.poolRef.id}{"\n"}'
printf '\n# the vendor docs example pasted as printed (with // comments) is refused:\n'
run create -f testdata/bad/seed000-doc-comments.yaml || echo "(exit $?)"
run delete poolbindings -n test-ns test-c1
run get plb -n test-ns
echo
echo "# demo finished"
