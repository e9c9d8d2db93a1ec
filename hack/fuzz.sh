#!/usr/bin/env bash
# Runs every Go fuzz target of the module for DURATION each (default 20s)
# and fails if any target finds an input that fails. Targets are discovered,
# not listed: packages whose tests declare `func Fuzz…` are asked for their
# targets with `go test -list '^Fuzz'`. A failing input is written by the Go
# tool to the package's testdata/fuzz/<Target>/ — keep it there (it becomes a
# regression seed that plain `go test` runs) and fix the code.
#
#   hack/fuzz.sh 20s      # make fuzz
#   hack/fuzz.sh 5s       # make fuzz-ci (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-20s}
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

# Packages with fuzz targets (main module only; localcluster/ is its own module).
mapfile -t dirs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . \
  | grep -v '^\./localcluster/' | xargs -r -n1 dirname | sort -u)
if [ "${#dirs[@]}" -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi

failed=() ran=0 start=$(date +%s)
for d in "${dirs[@]}"; do
  pkg=$(go list "$d")
  mapfile -t targets < <(go test -list '^Fuzz' "$d" | grep -E '^Fuzz' || true)
  for t in "${targets[@]}"; do
    printf '=== fuzz %s %s (%s)\n' "$pkg" "$t" "$dur"
    ran=$((ran + 1))
    log=$(mktemp)
    if go test -run '^$' -fuzz "^${t}\$" -fuzztime "$dur" "$d" 2>&1 | tee "$log"; then
      rm -f "$log"; continue
    fi
    # A finding always comes with "Failing input written to …". Without one,
    # a bare "context deadline exceeded" is the fuzz engine running out of
    # time while it minimizes a new interesting input (seen on a loaded
    # 2-core machine). Rerun once on a fixed execution budget with one
    # worker, which has no such deadline; if that fails too, it is a failure.
    if ! grep -q 'Failing input written to' "$log" && grep -q 'context deadline exceeded' "$log"; then
      echo "fuzz: $pkg $t: the engine hit its deadline without a finding; rerunning with -fuzztime 2000x -parallel 1" >&2
      if go test -run '^$' -fuzz "^${t}\$" -fuzztime 2000x -parallel 1 "$d"; then
        rm -f "$log"; continue
      fi
    fi
    rm -f "$log"
    failed+=("$pkg $t")
    echo "--- FAIL: $pkg $t; the failing input is in $d/testdata/fuzz/$t/" >&2
  done
done

printf '\nfuzz: %d targets, %ss\n' "$ran" "$(( $(date +%s) - start ))"
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'fuzz: FAILED:\n' >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz: ok"
