#!/usr/bin/env bash
# Configures and builds Tessera into ./build (or $TESSERA_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
# Usage: build.sh [cmake -D options...] [-- build targets...]
build_dir=${TESSERA_BUILD_DIR:-build}
configure=()
targets=()
while (($#)); do
  if [[ $1 == -- ]]; then
    shift
    targets=("$@")
    break
  fi
  configure+=("$1")
  shift
done
# ccache hits across clones in different directories (CI clones afresh).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" "${configure[@]}" >/dev/null
if ((${#targets[@]})); then
  cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
else
  cmake --build "$build_dir" -j "$(nproc)"
fi
