#!/usr/bin/env bash
# Installs what is needed, builds everything, and runs the whole test suite
# through CTest: unit and golden-SQL tests, compile-fail tests, plugin
# loading failures, and the conformance suite on every driver built.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DTESSERA_BUILD_TESTS=ON
build_dir=${TESSERA_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
