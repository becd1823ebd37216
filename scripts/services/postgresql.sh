#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests.
#
#   scripts/services/postgresql.sh start DIR   # prints TESSERA_TEST_POSTGRESQL_URL=...
#   scripts/services/postgresql.sh stop DIR    # stops exactly the server of DIR
#
# start: installs the Debian postgresql package if missing, creates a
# cluster in DIR (which must be empty or absent), listening on 127.0.0.1 on
# a free port and on a unix socket in DIR, with every statement logged to
# DIR/server.log (log_statement=all, parameters not logged), starts it, and
# creates role tessera (password tessera) owning database tessera_test. The
# server's PID is in DIR/postmaster.pid. Starting a DIR whose server already
# runs only prints its URL again.
#
# If TESSERA_TEST_POSTGRESQL_URL is already set, start prints it and starts
# nothing (point the tests at another server that way).
#
# TESSERA_PG_LOG_STATEMENT (default all) sets log_statement: the tests count
# round trips in the log; scripts/bench.sh sets none, since logging every
# statement inflates the server's cost per statement.
#
# The cluster is for tests only: fsync is off and local connections through
# the socket in DIR are trusted.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 2
}
(($# == 2)) || usage
command=$1
dir=$2
[[ $dir = /* ]] || dir="$(pwd)/$dir"

# Commands that touch the cluster run as the postgres system user when we
# are root: the server refuses to run as root.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n $d && -x $d/initdb ]] || { echo "postgresql.sh: no PostgreSQL server binaries found" >&2; exit 1; }
  echo "$d"
}

install_server() {
  if dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q "install ok installed"; then
    return
  fi
  echo "postgresql.sh: installing postgresql" >&2
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

url_file() { echo "$dir/tessera_test_url"; }

running() {
  [[ -f $dir/postmaster.pid ]] && as_owner "$(pg_bindir)/pg_ctl" status -D "$dir" >/dev/null 2>&1
}

# Starts the cluster of $dir on port $2, or on another free port if that one
# is taken, recording the port in postgresql.conf and the URL file.
start_server() {
  local bin=$1 port=$2 attempt
  for attempt in 1 2 3; do
    as_owner sed -i "s/^port = .*/port = $port/" "$dir/postgresql.conf"
    if as_owner "$bin/pg_ctl" start -D "$dir" -l "$dir/server.log" -w -t 60 >/dev/null; then
      if [[ -f $(url_file) ]]; then
        echo "postgresql://tessera:tessera@127.0.0.1:$port/tessera_test" | as_owner tee "$(url_file)" >/dev/null
      fi
      return
    fi
    port=$(free_port)
  done
  tail -n 20 "$dir/server.log" >&2 || true
  echo "postgresql.sh: the server in $dir did not start" >&2
  exit 1
}

start() {
  if [[ -n ${TESSERA_TEST_POSTGRESQL_URL:-} ]]; then
    echo "TESSERA_TEST_POSTGRESQL_URL=$TESSERA_TEST_POSTGRESQL_URL"
    return
  fi
  install_server
  local bin
  bin=$(pg_bindir)
  if [[ -f $dir/PG_VERSION && -f $(url_file) ]]; then
    # A cluster made by an earlier start: running, or stopped (say by a
    # reboot or a crashed test run); start it again.
    running || start_server "$bin" "$(sed -n 's/^port = //p' "$dir/postgresql.conf" | tail -n 1)"
    echo "TESSERA_TEST_POSTGRESQL_URL=$(cat "$(url_file)")"
    return
  fi
  if [[ -d $dir ]] && [[ -n $(ls -A "$dir") ]]; then
    echo "postgresql.sh: $dir exists and is not empty; give an empty or new directory" >&2
    exit 1
  fi
  mkdir -p "$dir"
  [[ $(id -u) -ne 0 ]] || chown postgres:postgres "$dir"
  chmod 700 "$dir"

  as_owner "$bin/initdb" -D "$dir" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir.initdb.log" 2>&1 || {
    cat "$dir.initdb.log" >&2
    exit 1
  }
  rm -f "$dir.initdb.log"

  local port
  port=$(free_port)
  as_owner tee -a "$dir/postgresql.conf" >/dev/null <<CONF

# Tessera test cluster (scripts/services/postgresql.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_statement = '${TESSERA_PG_LOG_STATEMENT:-all}'
log_parameter_max_length = 0
log_line_prefix = '%m [%p] %d '
timezone = 'UTC'
CONF

  start_server "$bin" "$port"
  port=$(sed -n 's/^port = //p' "$dir/postgresql.conf" | tail -n 1)

  as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
    -c "CREATE ROLE tessera LOGIN PASSWORD 'tessera'" \
    -c "CREATE DATABASE tessera_test OWNER tessera" >/dev/null

  local url="postgresql://tessera:tessera@127.0.0.1:$port/tessera_test"
  echo "$url" | as_owner tee "$(url_file)" >/dev/null
  echo "TESSERA_TEST_POSTGRESQL_URL=$url"
}

stop() {
  if [[ ! -f $dir/postmaster.pid ]]; then
    echo "postgresql.sh: no server running in $dir" >&2
    return
  fi
  # pg_ctl reads the PID from DIR/postmaster.pid and signals only that
  # postmaster.
  as_owner "$(pg_bindir)/pg_ctl" stop -D "$dir" -m fast -w -t 60 >/dev/null
}

case $command in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
