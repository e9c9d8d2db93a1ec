#!/usr/bin/env bash
# Prints the path of a Go tool at a pinned version, installing it through the
# Go module proxy into a versioned cache directory the first time.
# usage: hack/tool.sh MODULE VERSION BINARY
set -euo pipefail
mod=$1 version=$2 name=$3
cache="${CCICTL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccictl}/tools/$name-$version"
if [ ! -x "$cache/$name" ]; then
  mkdir -p "$cache"
  echo "installing $name $version (once; cached in $cache)..." >&2
  GOBIN="$cache" GOFLAGS=-buildvcs=false go install "$mod@$version" >&2
fi
echo "$cache/$name"
