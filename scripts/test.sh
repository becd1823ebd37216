#!/usr/bin/env bash
# Installs what is needed, builds everything, starts a throwaway MariaDB
# server on loopback (PostgreSQL is started by its CTest fixture), runs the
# whole test suite through CTest, and stops exactly the servers it started. A server URL already in the environment (TESSERA_TEST_POSTGRESQL_URL,
# TESSERA_TEST_MYSQL_URL) is used instead of starting one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --servers --peers  # peers: the benchmarks build against SOCI and libpqxx too
scripts/build.sh -DTESSERA_BUILD_BENCHMARKS=ON  # benchmarks build too: bench_smoke checks their checksums
build_dir=${TESSERA_BUILD_DIR:-build}

services_dir=$(mktemp -d /tmp/tessera-services.XXXXXX)
started=()
stop_services() {
  local s
  for s in "${started[@]}"; do
    scripts/services/"$s".sh stop "$services_dir/$s" || echo "test: stopping $s failed" >&2
  done
  rm -rf "$services_dir"
}
trap stop_services EXIT

# start_service NAME URL_VARIABLE PLUGIN_FILE
start_service() {
  local name=$1 var=$2 plugin=$3
  [[ -x scripts/services/$name.sh && -e $build_dir/plugins/$plugin ]] || return 0
  if [[ -n ${!var:-} ]]; then
    echo "test: using $var from the environment"
    return 0
  fi
  local line
  line=$(scripts/services/"$name".sh start "$services_dir/$name" | grep "^$var=" | tail -n 1)
  started+=("$name")
  [[ -n $line ]] || { echo "test: $name did not report $var" >&2; exit 1; }
  export "${line?}"
  echo "test: started $name for the tests"
}
# PostgreSQL: the CTest fixture in tests/postgresql starts and stops its own
# throwaway cluster, so `ctest` alone works too.
start_service mariadb TESSERA_TEST_MYSQL_URL libtessera-mysql.so

status=0
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@" || status=$?

# What each conformance run covered: the driver, how many test cases ran,
# and every skip with its reason (CTest shows a passing test's output only
# in its log).
log=$build_dir/Testing/Temporary/LastTest.log
if [[ -f $log ]]; then
  echo "---- conformance summaries"
  grep -E '^(conformance: driver|conformance: [0-9]+ test cases|SKIP )' "$log" || true
fi
exit $status
