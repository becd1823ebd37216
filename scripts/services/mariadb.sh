#!/usr/bin/env bash
# A throwaway MariaDB server for the tests, on loopback, in a directory of
# its own.
#
#   scripts/services/mariadb.sh start DIR   installs mariadb-server and
#       mariadb-client if missing, creates DIR/data, starts mariadbd on a free
#       port with DIR/mysql.sock and DIR/mariadb.pid, creates user
#       tessera/tessera and database tessera_test, and prints one line
#       TESSERA_TEST_MYSQL_URL=mysql://tessera:tessera@127.0.0.1:PORT/tessera_test
#   scripts/services/mariadb.sh stop DIR    stops exactly the server whose PID
#       is in DIR/mariadb.pid, waits for it to exit, and removes DIR.
#
# The server reads no option file (--no-defaults): nothing on the machine
# changes it, and it changes nothing on the machine. Grant tables are real
# (no --skip-grant-tables): the driver logs in with a password as a service
# would.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 2
}

log() { echo "mariadb.sh: $*" >&2; }

install_packages() {
  local missing=() p
  for p in mariadb-server mariadb-client; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

free_port() {
  python3 - <<'EOF' 2>/dev/null && return 0
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
  # No python: probe from a random start with bash's /dev/tcp.
  local port=$((20000 + RANDOM % 20000))
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

start() {
  local dir=$1
  install_packages
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ -f $dir/mariadb.pid ]] && kill -0 "$(cat "$dir/mariadb.pid")" 2>/dev/null; then
    log "a server already runs from $dir (pid $(cat "$dir/mariadb.pid"))"
    exit 1
  fi
  local user_args=()
  [[ $(id -u) -eq 0 ]] && user_args=(--user=root)

  if [[ ! -d $dir/data/mysql ]]; then
    mariadb-install-db --no-defaults --datadir="$dir/data" "${user_args[@]}" \
      --auth-root-authentication-method=socket --skip-test-db >"$dir/install.log" 2>&1 || {
      cat "$dir/install.log" >&2
      exit 1
    }
  fi

  local port
  port=$(free_port)
  mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysql.sock" --port="$port" \
    --bind-address=127.0.0.1 --pid-file="$dir/mariadb.pid" "${user_args[@]}" \
    --log-error="$dir/error.log" --innodb-buffer-pool-size=64M --innodb-log-file-size=32M \
    --skip-log-bin --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
    --max-connections=200 >/dev/null 2>&1 &
  local launched=$!
  echo "$port" >"$dir/port"

  local client=(mariadb --no-defaults --protocol=socket --socket="$dir/mysql.sock" -uroot)
  local i
  for ((i = 0; i < 300; i++)); do
    "${client[@]}" -e "SELECT 1" >/dev/null 2>&1 && break
    if ! kill -0 "$launched" 2>/dev/null; then
      log "mariadbd exited during startup; $dir/error.log:"
      tail -n 30 "$dir/error.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  ((i < 300)) || {
    log "mariadbd did not answer within 30 s"
    exit 1
  }

  "${client[@]}" <<'EOF'
CREATE USER IF NOT EXISTS 'tessera'@'127.0.0.1' IDENTIFIED BY 'tessera';
CREATE USER IF NOT EXISTS 'tessera'@'localhost' IDENTIFIED BY 'tessera';
CREATE DATABASE IF NOT EXISTS tessera_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
GRANT ALL PRIVILEGES ON tessera_test.* TO 'tessera'@'127.0.0.1';
GRANT ALL PRIVILEGES ON tessera_test.* TO 'tessera'@'localhost';
-- KILL of the user's own other connections and the server's status counters
-- need nothing more; PROCESS lets tests see every connection.
GRANT PROCESS ON *.* TO 'tessera'@'127.0.0.1';
GRANT PROCESS ON *.* TO 'tessera'@'localhost';
-- The benchmark gives each library a database of its own.
GRANT ALL PRIVILEGES ON `tessera\_bench\_%`.* TO 'tessera'@'127.0.0.1';
GRANT ALL PRIVILEGES ON `tessera\_bench\_%`.* TO 'tessera'@'localhost';
FLUSH PRIVILEGES;
EOF
  log "started mariadbd (pid $(cat "$dir/mariadb.pid")) on 127.0.0.1:$port, socket $dir/mysql.sock"
  echo "TESSERA_TEST_MYSQL_URL=mysql://tessera:tessera@127.0.0.1:$port/tessera_test"
}

stop() {
  local dir=$1
  [[ -d $dir ]] && dir=$(cd "$dir" && pwd)
  local pidfile=$dir/mariadb.pid
  if [[ ! -f $pidfile ]]; then
    log "no $pidfile: nothing to stop"
    return 0
  fi
  local pid
  pid=$(cat "$pidfile")
  # Only a mariadbd started from this directory: a stale pid file must not
  # make us signal an unrelated process that reused the number.
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
    grep -q -- "--pid-file=$pidfile"; then
    kill -TERM "$pid"
    local i
    for ((i = 0; i < 600; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "mariadbd (pid $pid) did not stop within 60 s; killing it"
      kill -KILL "$pid"
    fi
    log "stopped mariadbd (pid $pid)"
  else
    log "pid $pid from $pidfile is not a mariadbd of $dir; not signalling it"
  fi
  rm -rf "$dir"
}

[[ $# -eq 2 ]] || usage
case $1 in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
