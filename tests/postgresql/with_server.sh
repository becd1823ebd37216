#!/usr/bin/env bash
# Runs a test command against the PostgreSQL test server.
#
#   with_server.sh SERVER_DIR command args...
#
# The server is the one TESSERA_TEST_POSTGRESQL_URL names, or else the one
# the CTest fixture started in SERVER_DIR (scripts/services/postgresql.sh
# writes its URL to SERVER_DIR/tessera_test_url). With neither, this fails
# loudly: a PostgreSQL test that silently passes without a server proves
# nothing. Exports TESSERA_TEST_POSTGRESQL_URL and TESSERA_TEST_URL (read by
# tessera-conformance), and TESSERA_TEST_POSTGRESQL_LOG (the server's
# statement log) when the fixture's server is used.
set -euo pipefail
dir=$1
shift
if [[ -z ${TESSERA_TEST_POSTGRESQL_URL:-} ]]; then
  if [[ -f $dir/tessera_test_url ]]; then
    TESSERA_TEST_POSTGRESQL_URL=$(cat "$dir/tessera_test_url")
    export TESSERA_TEST_POSTGRESQL_LOG="$dir/server.log"
  else
    echo "FATAL: TESSERA_TEST_POSTGRESQL_URL is not set and no test server runs in $dir." >&2
    echo "       Start one: eval \"export \$(scripts/services/postgresql.sh start /tmp/pg)\"" >&2
    exit 1
  fi
fi
export TESSERA_TEST_POSTGRESQL_URL
export TESSERA_TEST_URL=$TESSERA_TEST_POSTGRESQL_URL
exec "$@"
