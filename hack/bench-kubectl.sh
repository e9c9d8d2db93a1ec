#!/usr/bin/env bash
# ccictl against kubectl on the same real API server in one run (issue 5,
# benchmark 5): wall time and peak RSS of
#   get poolbindings -A -o yaml   (1,000 objects)
#   get plb -A                    (table)
#   version --client              (start-up)
# Runs alternate ccictl/kubectl (the order flips every round), one warm-up
# round is discarded, and the table shows medians and the ratio
# ccictl/kubectl (target ≤ 1.0).
#
#   hack/bench-kubectl.sh [ROUNDS] [OBJECTS]     # defaults: 15 rounds, 1000 objects
#
# Needs kubectl on PATH and GNU time (/usr/bin/time; installed with apt-get
# when missing). ccictl is built like `make build` (static, stripped) so it is
# compared as released, as kubectl is.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=${1:-15}
objects=${2:-1000}
namespaces=10

kubectl=$(command -v kubectl) || { echo "kubectl is required on PATH" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
  echo "# installing GNU time" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq time >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq time >/dev/null; fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ccictl-bench.XXXXXX")
cleanup() {
  if [ -n "${lcpid:-}" ]; then kill "$lcpid" 2>/dev/null || true; wait "$lcpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "# building ccictl (as make build)" >&2
CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags '-s -w' -o "$work/ccictl" ./cmd/ccictl
ccictl="$work/ccictl"

echo "# starting the local control plane" >&2
lc=$(bash hack/localcluster-bin.sh)
"$lc" up --dir "$work/cluster" --crds pkg/apis/loadbalancer/v1/crd >"$work/localcluster.log" 2>&1 &
lcpid=$!
for _ in $(seq 1 900); do
  [ -f "$work/cluster/state.json" ] && break
  kill -0 "$lcpid" 2>/dev/null || { echo "local control plane exited:" >&2; tail -40 "$work/localcluster.log" >&2; exit 1; }
  sleep 0.2
done
[ -f "$work/cluster/state.json" ] || { echo "local control plane not ready after 180s" >&2; exit 1; }
kubeconfig="$work/cluster/kubeconfig"

echo "# creating $objects PoolBindings in $namespaces namespaces" >&2
{
  for n in $(seq 0 $((namespaces - 1))); do
    printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench-%02d\n' "$n"
  done
} >"$work/ns.yaml"
"$ccictl" --cliconfig "$kubeconfig" create -f "$work/ns.yaml" >/dev/null
awk -v n="$objects" -v nss="$namespaces" 'BEGIN {
  for (i = 0; i < n; i++) {
    printf "---\napiVersion: loadbalancer.networking.openvessel.io/v1\nkind: PoolBinding\nmetadata:\n  name: plb-%04d\n  namespace: bench-%02d\n  labels: {app: web}\nspec:\n  poolRef:\n    id: e0812a4c-6b1d-4c8e-9f3a-%012d\n  targetRef:\n    kind: Service\n    group: cci/v2\n    name: web-%04d\n    port: 80\n", i, i % nss, i, i
  }
}' >"$work/plb.yaml"
"$ccictl" --cliconfig "$kubeconfig" create -f "$work/plb.yaml" >/dev/null
got=$("$kubectl" --kubeconfig "$kubeconfig" get plb -A --no-headers | wc -l)
[ "$got" -eq "$objects" ] || { echo "expected $objects PoolBindings, found $got" >&2; exit 1; }

# Each tool gets its own clean HOME; kubectl keeps its discovery cache there
# across runs, as it does for a user (the warm-up round fills it).
mkdir -p "$work/home-ccictl" "$work/home-kubectl"
run() { # tool cmd-index -> "seconds maxrss_kb"
  local tool=$1 args=$2 home bin
  if [ "$tool" = ccictl ]; then home="$work/home-ccictl"; bin=("$ccictl" --cliconfig "$kubeconfig")
  else home="$work/home-kubectl"; bin=("$kubectl" --kubeconfig "$kubeconfig"); fi
  # shellcheck disable=SC2086
  HOME="$home" /usr/bin/time -f '%e %M' -o "$work/t" "${bin[@]}" $args >"$work/out.$tool" 2>"$work/err.$tool" \
    || { echo "$tool $args failed:" >&2; cat "$work/err.$tool" >&2; exit 1; }
  cat "$work/t"
}
cmds=("get poolbindings -A -o yaml" "get plb -A" "version --client")
: >"$work/samples"
for r in $(seq 0 "$rounds"); do
  for i in "${!cmds[@]}"; do
    if [ $((r % 2)) -eq 0 ]; then order="ccictl kubectl"; else order="kubectl ccictl"; fi
    for tool in $order; do
      read -r secs kb < <(run "$tool" "${cmds[$i]}")
      [ "$r" -eq 0 ] && continue # warm-up
      echo "$i $tool $secs $kb" >>"$work/samples"
    done
    if [ "$r" -eq 0 ]; then
      printf '# %-28s output bytes: ccictl %s, kubectl %s\n' "${cmds[$i]}" "$(wc -c <"$work/out.ccictl")" "$(wc -c <"$work/out.kubectl")" >&2
    fi
  done
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "ccictl $("$ccictl" version --client 2>/dev/null | head -1)"
echo "kubectl $("$kubectl" version --client 2>/dev/null | head -1)"
echo "$rounds rounds (after 1 warm-up), $objects PoolBindings, medians; load: $(uptime | sed 's/.*load/load/')"
echo
printf '| %-28s | %12s | %12s | %6s | %12s | %12s | %6s |\n' command "ccictl wall" "kubectl wall" ratio "ccictl RSS" "kubectl RSS" ratio
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..30})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..8})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..8})"
for i in "${!cmds[@]}"; do
  cw=$(awk -v i="$i" '$1==i && $2=="ccictl" {print $3}' "$work/samples" | median)
  kw=$(awk -v i="$i" '$1==i && $2=="kubectl" {print $3}' "$work/samples" | median)
  cm=$(awk -v i="$i" '$1==i && $2=="ccictl" {print $4}' "$work/samples" | median)
  km=$(awk -v i="$i" '$1==i && $2=="kubectl" {print $4}' "$work/samples" | median)
  awk -v c="${cmds[$i]}" -v cw="$cw" -v kw="$kw" -v cm="$cm" -v km="$km" 'BEGIN {
    printf "| %-28s | %10.3f s | %10.3f s | %6.2f | %8.1f MiB | %8.1f MiB | %6.2f |\n", c, cw, kw, (kw > 0 ? cw / kw : 0), cm / 1024, km / 1024, (km > 0 ? cm / km : 0)
  }'
done
