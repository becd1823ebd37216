#!/usr/bin/env bash
# Builds and runs the SQLite benchmark (benchmarks/, docs/performance.md) in
# a separate Release build directory and writes benchmarks/results/latest.md.
#
#   scripts/bench.sh [--n N] [--reps R]     (defaults: 100000, 3)
#
# Installs SQLiteCpp (libsqlitecpp-dev) with apt-get when missing and run as
# root; without it the benchmark compares Tessera with raw sqlite3 only.
# JOBS (default 2) bounds the build's parallelism.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
jobs="${JOBS:-2}"
n=100000
reps=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --n) n="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    *) echo "usage: $0 [--n N] [--reps R]" >&2; exit 64 ;;
  esac
done

if ! dpkg -s libsqlitecpp-dev >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing libsqlitecpp-dev" >&2
    apt-get install -y --no-install-recommends libsqlitecpp-dev >/dev/null ||
      { apt-get update >/dev/null && apt-get install -y --no-install-recommends libsqlitecpp-dev >/dev/null; } ||
      echo "warning: libsqlitecpp-dev not installed; SQLiteCpp is skipped" >&2
  else
    echo "warning: libsqlitecpp-dev missing (not root); SQLiteCpp is skipped" >&2
  fi
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTESSERA_BUILD_BENCHMARKS=ON \
  -DTESSERA_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target tessera_bench_sqlite

mkdir -p "$root/benchmarks/results"
"$build/benchmarks/tessera_bench_sqlite" --n "$n" --reps "$reps" \
  --out "$root/benchmarks/results/latest.md"
echo "wrote benchmarks/results/latest.md" >&2
