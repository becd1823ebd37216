#!/usr/bin/env bash
# Installs the Debian packages Tessera needs, idempotently: only missing
# packages are installed, and apt-get update runs only when something is.
# Run as root (CI and the dev machines are root); uses sudo otherwise.
#
#   install-deps.sh            what building needs (compilers, libraries, client headers)
#   install-deps.sh --servers  also the PostgreSQL and MariaDB servers the tests start
#   install-deps.sh --peers    also the peer libraries and tools the benchmarks compare
#                              with (SOCI, libpqxx; SQLiteCpp is always there) and valgrind
# The flags combine.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config git
  libsqlite3-dev sqlite3
  libpq-dev
  libmariadb-dev
  liblmdb-dev
  libboost1.81-dev
  libspdlog-dev
  doctest-dev
  libsqlitecpp-dev
)
for flag in "$@"; do
  case "$flag" in
    --servers) packages+=(postgresql postgresql-client mariadb-server mariadb-client) ;;
    --peers) packages+=(libsoci-dev libpqxx-dev valgrind) ;;
    *) echo "usage: $0 [--servers] [--peers]" >&2; exit 64 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
