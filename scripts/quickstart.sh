#!/usr/bin/env bash
# Installs what is needed, builds the quickstart example and the SQLite
# plugin, and runs the example on SQLite: the program links only the public
# API and loads the driver at run time from the build tree's plugin folder.
# Pass another URL to run it elsewhere (sqlite:///tmp/qs.db, lmdb:///tmp/qs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -- quickstart
echo "---- build/examples/quickstart ${1:-sqlite::memory:}"
exec "${TESSERA_BUILD_DIR:-build}"/examples/quickstart "$@"
