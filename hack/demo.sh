#!/usr/bin/env bash
# The main job on the local embedded default: a real kube-apiserver + etcd +
# kube-controller-manager on loopback with the PoolBinding CRD, the seed
# objects from testdata/, the documented ccictl commands against them, and
# `ccictl sync` filling and then converging an ELB pool served by the ELB v3
# emulator (a test double of the documented API, not Huawei Cloud). Needs
# only Go, git and make.
#
# CCICTL_DEMO_FLAVOUR picks the control plane: cci2 (default) runs ccictl as a
# CCI 2.0 tenant, the vendor's way: cci/v2 manifests, an endpoint that serves
# the cci/v2 API, PoolBindings and Leases only (docs/cci2.md); kubernetes
# runs it on plain Kubernetes (core v1, EndpointSlices) as the cluster admin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ccictl="$root/bin/ccictl"
[ -x "$ccictl" ] || { echo "bin/ccictl missing: run 'make demo'" >&2; exit 1; }

lc=$(bash hack/localcluster-bin.sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/ccictl-demo.XXXXXX")
cleanup() {
  [ -n "${watchpid:-}" ] && kill "$watchpid" 2>/dev/null && wait "$watchpid" 2>/dev/null || true
  [ -n "${emupid:-}" ] && kill "$emupid" 2>/dev/null && wait "$emupid" 2>/dev/null || true
  [ -n "${lcpid:-}" ] && kill "$lcpid" 2>/dev/null && wait "$lcpid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

flavour=${CCICTL_DEMO_FLAVOUR:-cci2}
case "$flavour" in
  cci2) echo "# starting the local control plane, CCI 2.0 flavour (etcd, kube-apiserver, kube-controller-manager, the cci/v2 API)" ;;
  kubernetes) echo "# starting the local control plane (etcd, kube-apiserver, kube-controller-manager)" ;;
  *) echo "CCICTL_DEMO_FLAVOUR must be cci2 or kubernetes, not '$flavour'" >&2; exit 2 ;;
esac
"$lc" up --dir "$work/cluster" --crds pkg/apis/loadbalancer/v1/crd --flavour "$flavour" >"$work/localcluster.log" 2>&1 &
lcpid=$!
for _ in $(seq 1 900); do
  [ -f "$work/cluster/state.json" ] && break
  kill -0 "$lcpid" 2>/dev/null || { echo "local control plane exited:" >&2; tail -40 "$work/localcluster.log" "$work"/cluster/logs/*.log >&2; exit 1; }
  sleep 0.2
done
[ -f "$work/cluster/state.json" ] || { echo "local control plane not ready after 180s" >&2; tail -40 "$work"/cluster/logs/*.log >&2; exit 1; }
# ccictl's config: the CCI 2.0 tenant's, or the Kubernetes admin's. The
# stand-in for a kubelet always writes pod status with the admin's.
admin="$work/cluster/kubeconfig"
manifests=testdata
if [ "$flavour" = cci2 ]; then
  export CLICONFIG="$work/cluster/kubeconfig-cci2"
  manifests=testdata/cci2
else
  export CLICONFIG="$admin"
fi

# The ELB emulator and the stand-in for a kubelet (pod status), built once.
go build -o bin/elbemulator ./pkg/elb/elbemulator/cmd/elbemulator
go build -o bin/demopods ./hack/demopods
pool=$(sed -n 's/^ *id: *//p' testdata/poolbinding.yaml)
project=0123456789abcdef0123456789abcdef
echo "# starting the ELB v3 emulator (test double) with pool $pool"
# The pool takes at most 6 members (quota API: members_per_pool) and has a
# health monitor: a new member is INITIAL for 1s, then ONLINE.
ELBEMU_TOKEN=demo-elb-token bin/elbemulator -addr 127.0.0.1:0 -project-id "$project" -pool "$pool" \
  -quota 6 -health-monitor -health-delay 1s >"$work/elbemulator.json" 2>"$work/elbemulator.log" &
emupid=$!
for _ in $(seq 1 100); do
  [ -s "$work/elbemulator.json" ] && break
  kill -0 "$emupid" 2>/dev/null || { echo "ELB emulator exited:" >&2; cat "$work/elbemulator.log" >&2; exit 1; }
  sleep 0.1
done
elb=$(sed -n 's/.*"endpoint":"\([^"]*\)".*/\1/p' "$work/elbemulator.json")
[ -n "$elb" ] || { echo "ELB emulator did not report its endpoint" >&2; exit 1; }
# How sync finds the ELB: endpoint, project and credentials from the env.
export CCICTL_ELB_ENDPOINT="$elb" HW_PROJECT_ID="$project" CCICTL_ELB_TOKEN=demo-elb-token
echo "# CCICTL_ELB_ENDPOINT=$elb HW_PROJECT_ID=$project CCICTL_ELB_TOKEN=(set)"

run() { printf '\n$ ccictl %s\n' "$*"; "$ccictl" "$@"; }
pods() { printf '\n$ demopods -n test-ns -service test-name -replicas %s %s  # ready pods, as a kubelet would report them\n' "$1" "${*:2}"; bin/demopods -kubeconfig "$admin" -n test-ns -service test-name -replicas "$1" "${@:2}"; }
members() { printf '\n# members of ELB pool %s:\n' "$pool"; bin/elbemulator -endpoint "$elb" -members "$pool"; }

run version
if [ "$flavour" = cci2 ]; then
  printf '\n# a CCI 2.0 tenant: every resource is cci/v2; no core v1, no EndpointSlices\n'
  run api-resources
fi
run create -f $manifests/namespace.yaml
run create -f $manifests/service.yaml
run get svc -n test-ns
run create -f testdata/poolbinding.yaml
run get poolbindings -n test-ns -oyaml
run get plb -n test-ns
run get poolbindings -n test-ns test-c1 -o jsonpath='{.spec.poolRef.id}{"\n"}'

printf '\n# sync: fill the pool with the ready endpoints of Service test-name (port 123 -> targetPort 8080)\n'
pods 3
run sync -n test-ns
members
run get plb -n test-ns
run get plb -n test-ns test-c1 -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}){"\n"}{end}'

printf '\n# the endpoints change: scale 3 -> 5, then one pod goes away\n'
pods 5
run sync -n test-ns --dry-run --exit-code || echo "(exit $?: changes pending)"
run sync -n test-ns
pods 4
run sync -n test-ns -o yaml
members
run sync -n test-ns --dry-run --exit-code; echo "(exit 0: in sync)"

printf '\n# a rollout replaces every pod, and on CCI every new pod has a new IP. The\n'
printf '# pool holds 4 members and takes at most 6, so the 4 new ones cannot be added\n'
printf '# at once: sync stages the replacement in rounds (add what fits, wait until\n'
printf '# the new members are ONLINE, then remove as many old ones) within one pass.\n'
pods 4 -revision v2 -ip-prefix 10.0.1.
run sync -n test-ns --dry-run
run sync -n test-ns --wait-healthy --health-interval 250ms -o yaml
members
printf '\n# the vendor docs example pasted as printed (with // comments) is refused:\n'
run create -f testdata/bad/seed000-doc-comments.yaml || echo "(exit $?)"

printf '\n# continuous mode: the same pipeline as a controller (in a cluster: deploy/).\n'
printf '# It reconciles whenever the binding, its Service or its endpoints change.\n'
printf '\n$ ccictl sync --watch -n test-ns --resync-period 1h &   # log lines below are its stderr\n'
"$ccictl" sync --watch -n test-ns --resync-period 1h 2>"$work/watch.log" &
watchpid=$!
count() { bin/elbemulator -endpoint "$elb" -members "$pool" | sed -n 's/^(\([0-9]*\) member(s).*/\1/p'; }
waitcount() { for _ in $(seq 1 100); do [ "$(count)" = "$1" ] && return 0; sleep 0.1; done; echo "pool did not reach $1 members" >&2; cat "$work/watch.log" >&2; return 1; }
waitcount 4
pods 5 -revision v2 -ip-prefix 10.0.1.
waitcount 5
printf '# no sync was run: the controller added the fifth pod by itself\n'
members
printf '\n# deleting the binding: the controller removes its members, then its finalizer\n'
run delete poolbindings -n test-ns test-c1
waitcount 0
members
kill -TERM "$watchpid" && wait "$watchpid" || { echo "sync --watch did not stop cleanly" >&2; exit 1; }
printf '\n# the controller'"'"'s log:\n'
cat "$work/watch.log"
run get plb -n test-ns
bash "$(dirname "$0")/demo-rollout.sh"
echo
echo "# demo finished"
