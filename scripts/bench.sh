#!/usr/bin/env bash
# Runs every benchmark (benchmarks/, method in docs/performance.md) and writes
# one markdown report, benchmarks/results/latest.md: the machine and the
# versions, then per backend a table of throughputs (medians of R
# repetitions) and ratios against the raw C API, with the row checksums;
# instructions per operation under callgrind (SQLite); peak memory of the
# lazy cursor against a vector over ROWS rows.
#
#   scripts/bench.sh [--n N] [--reps R] [--rss ROWS] [--out FILE]
#                    [--only sqlite|postgresql|mysql|lmdb|callgrind]...
#   (defaults: N 100000, R 5, ROWS 1000000, FILE benchmarks/results/latest.md;
#   --only repeats; with --only, give --out to keep latest.md whole)
#
# Installs what it needs (Debian packages, as root: the servers, SOCI,
# libpqxx, valgrind), builds a Release tree in build-bench (BUILD_DIR), starts
# a throwaway PostgreSQL (statement logging off) and MariaDB on 127.0.0.1 and
# stops exactly those at the end. Exits non-zero when a benchmark fails or
# the checksums of the raw API and Tessera disagree (a peer library's wrong
# result is reported in the table, not fatal). JOBS (default 2) bounds the
# build's parallelism.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-$root/build-bench}"
jobs="${JOBS:-2}"
n=100000
reps=5
rss_rows=1000000
report=benchmarks/results/latest.md
only=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --n) n="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --rss) rss_rows="$2"; shift 2 ;;
    --out) report="$2"; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--n N] [--reps R] [--rss ROWS] [--out FILE] [--only BACKEND]..." >&2; exit 64 ;;
  esac
done
wanted() {
  ((${#only[@]} == 0)) && return 0
  local o
  for o in "${only[@]}"; do [[ $o == "$1" ]] && return 0; done
  return 1
}

scripts/install-deps.sh --servers --peers

export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTESSERA_BUILD_BENCHMARKS=ON \
  -DTESSERA_BUILD_TESTS=OFF -DTESSERA_BUILD_EXAMPLES=OFF "${launcher[@]}" >/dev/null
targets=(tessera_bench_sqlite tessera_bench_point tessera_bench_postgresql tessera_bench_mysql
         tessera_bench_lmdb)
cmake --build "$build" -j"$jobs" --target "${targets[@]}"
bin="$build/benchmarks"

work=$(mktemp -d /tmp/tessera-bench.XXXXXX)
chmod 755 "$work"  # the servers run as their own system users
started=()
cleanup() {
  local s
  for s in "${started[@]}"; do
    scripts/services/"$s".sh stop "$work/$s" >/dev/null || echo "bench: stopping $s failed" >&2
  done
  rm -rf "$work"
}
trap cleanup EXIT

# start_service NAME VARIABLE: starts the server, exports its URL variable.
start_service() {
  local line
  line=$(scripts/services/"$1".sh start "$work/$1" | grep "^$2=" | tail -n 1)
  started+=("$1")
  [[ -n $line ]] || { echo "bench: $1 did not report $2" >&2; exit 1; }
  export "${line?}"
}

status=0
sections=()
# run_bench NAME COMMAND...: runs one benchmark, keeps its report.
run_bench() {
  local name=$1
  shift
  echo "bench: $name" >&2
  if "$@" --out "$work/$name.md" >"$work/$name.log" 2>&1; then
    sections+=("$work/$name.md")
  else
    echo "bench: $name failed (exit $?); its output:" >&2
    cat "$work/$name.log" >&2
    status=1
    [[ -f $work/$name.md ]] && sections+=("$work/$name.md")
  fi
}

if wanted sqlite; then
  run_bench sqlite "$bin/tessera_bench_sqlite" --n "$n" --reps "$reps" --rss "$rss_rows"
fi
if wanted postgresql && [[ -x $bin/tessera_bench_postgresql ]]; then
  TESSERA_PG_LOG_STATEMENT=none start_service postgresql TESSERA_TEST_POSTGRESQL_URL
  run_bench postgresql "$bin/tessera_bench_postgresql" --n "$n" --reps "$reps" --settle 15
fi
if wanted mysql && [[ -x $bin/tessera_bench_mysql ]]; then
  start_service mariadb TESSERA_TEST_MYSQL_URL
  run_bench mysql "$bin/tessera_bench_mysql" --n "$n" --reps "$reps" --settle 15
fi
if wanted lmdb && [[ -x $bin/tessera_bench_lmdb ]]; then
  run_bench lmdb "$bin/tessera_bench_lmdb" --n "$n" --reps "$reps"
fi

# Instructions per operation under callgrind: only the measured loop is
# counted (tessera_bench_point switches collection on around it), so the
# count is repeatable whatever else the machine does.
callgrind_section() {
  local out=$work/callgrind.md rows=20000 k=20000
  {
    echo "## SQLite, instructions per operation (callgrind)"
    echo
    echo "- in-memory table of $rows rows; find: $k lookups by random key (Tessera: find(), a fresh"
    echo "  std::optional per lookup; the raw and SQLiteCpp loops read into one reused struct);"
    echo "  find_into: the same lookups, Tessera's find_into() into one reused struct; insert: $rows rows in"
    echo "  one transaction; scan: all rows into a vector; update: $((k / 4)) updates by key in"
    echo "  one transaction (Tessera: update(row, only(&Item::qty))); update_dsl: the same through"
    echo "  execute(update<Item>().set(..).where(..)); update_prepared: the same statement with"
    echo "  param<T>() placeholders, prepared once and run by execute(qty, id);"
    echo "  range: $((k / 10)) x qty BETWEEN ? AND ? ORDER"
    echo "  BY price DESC LIMIT 20; valgrind $(valgrind --version | sed 's/valgrind-//')"
    echo
    echo "- raw sqlite3 opens its handle in the default (serialized) threading mode, the baseline"
    echo "  everywhere else; Tessera opens its connections with SQLITE_OPEN_NOMUTEX (each is used"
    echo "  by one thread at a time), which spares SQLite's handle mutex on every call; the"
    echo "  \"raw, NOMUTEX\" column is the raw loop opened the same way: the floor for Tessera's own"
    echo "  code"
    echo
    echo "| workload | raw sqlite3 | tessera | tessera / raw | raw, NOMUTEX | tessera / raw, NOMUTEX | SQLiteCpp | SQLiteCpp / raw |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  } >"$out"
  local w lib ops total raw per line tessera_per
  for w in find find_into insert scan update update_dsl update_prepared range; do
    line="| $w |"
    raw=""
    tessera_per=""
    for lib in raw tessera raw_nomutex sqlitecpp; do
      if [[ $lib == sqlitecpp && $w != find* ]]; then line+=" – | – |"; continue; fi
      local args=(--lib "$lib" --workload "$w" --rows "$rows" --lookups "$k")
      [[ $w == update* ]] && args=(--lib "$lib" --workload "$w" --rows "$rows" --lookups $((k / 4)))
      if ! ops=$(valgrind --tool=callgrind --collect-atstart=no \
          --callgrind-out-file="$work/cg.$w.$lib" "$bin/tessera_bench_point" "${args[@]}" \
          2>/dev/null | sed -n 's/.* operations \([0-9]*\) .*/\1/p'); then
        line+=" – |"; [[ $lib == raw ]] || line+=" – |"; continue
      fi
      [[ -n $ops ]] || { line+=" – |"; [[ $lib == raw ]] || line+=" – |"; continue; }
      total=$(sed -n 's/^totals: //p' "$work/cg.$w.$lib")
      per=$(awk -v t="$total" -v o="$ops" 'BEGIN { printf "%.0f", t / o }')
      line+=" $per |"
      if [[ $lib == raw ]]; then
        raw=$per
      elif [[ $lib == raw_nomutex ]]; then
        line+=" $(awk -v a="$tessera_per" -v b="$per" 'BEGIN { printf "%.3f", a / b }') |"
      else
        [[ $lib == tessera ]] && tessera_per=$per
        line+=" $(awk -v a="$per" -v b="$raw" 'BEGIN { printf "%.3f", a / b }') |"
      fi
    done
    echo "$line" >>"$out"
  done
  echo >>"$out"
  sections+=("$out")
}
if wanted callgrind; then
  if command -v valgrind >/dev/null; then
    echo "bench: callgrind" >&2
    callgrind_section
  else
    echo "bench: valgrind missing, no instruction counts" >&2
  fi
fi

mkdir -p "$(dirname "$report")"
{
  echo "# Tessera benchmarks"
  echo
  echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "- $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo);" \
    "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "- $(g++ --version | head -n 1); Release build (-O3)"
  printf -- "- packages:"
  for p in libsqlite3-0 libpq5 libmariadb3 liblmdb0 libsqlitecpp-dev libsoci-dev libpqxx-dev \
           postgresql mariadb-server; do
    v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
    [[ -n $v ]] && printf ' %s %s,' "$p" "$v"
  done
  echo
  echo "- N = $n rows, $reps repetitions (medians); peak memory over $rss_rows rows"
  echo "- how to read it, targets and what is behind: docs/performance.md"
  echo
  for s in "${sections[@]}"; do
    cat "$s"
    echo
  done
} >"$report"
echo "bench: wrote $report" >&2
exit $status
