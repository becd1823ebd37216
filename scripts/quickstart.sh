#!/usr/bin/env bash
# Installs what is needed, builds, and runs the quickstart example on SQLite
# (the driver is loaded at run time as a plugin from the build tree).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
TESSERA_BUILD_TESTS=OFF scripts/build.sh -DTESSERA_BUILD_TESTS=OFF
echo "---- running build/examples/quickstart ${1:-sqlite::memory:}"
exec build/examples/quickstart "$@"
