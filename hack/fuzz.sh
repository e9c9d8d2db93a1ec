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
    if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$dur" "$d"; then
      failed+=("$pkg $t")
      echo "--- FAIL: $pkg $t; the failing input is in $d/testdata/fuzz/$t/" >&2
    fi
  done
done

printf '\nfuzz: %d targets, %ss\n' "$ran" "$(( $(date +%s) - start ))"
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'fuzz: FAILED:\n' >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz: ok"
