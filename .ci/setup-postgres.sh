#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the search's PostgreSQL test.
#
# Installs Debian's `postgresql` package when no server binaries are present, creates a
# cluster in $TWEETSENT_PG_DIR (default /tmp/tweetsent-pg) listening on 127.0.0.1 only, port
# $TWEETSENT_PG_PORT (default 54329), with a user and a database `tweetsent`, and prints the
# database URL on stdout (everything else goes to stderr). Running it again reuses the cluster.
#
#   export TWEETSENT_TEST_PG_URL="$(bash .ci/setup-postgres.sh)"
set -euo pipefail
PORT="${TWEETSENT_PG_PORT:-54329}"
DIR="${TWEETSENT_PG_DIR:-/tmp/tweetsent-pg}"
PASSWORD="tweetsent"

if ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
    echo "setup-postgres: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

# initdb and the server refuse to run as root: use the package's `postgres` user then.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mkdir -p "$DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"
if [ ! -f "$DIR/data/PG_VERSION" ]; then
    echo "setup-postgres: new cluster in $DIR/data" >&2
    as_pg "$BIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync >&2
fi
if ! as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off" start >&2
fi

psql_admin() { as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qtA "$@"; }
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'tweetsent'")" ]; then
    psql_admin -c "CREATE ROLE tweetsent LOGIN PASSWORD '$PASSWORD'" >&2
fi
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'tweetsent'")" ]; then
    psql_admin -c "CREATE DATABASE tweetsent OWNER tweetsent" >&2
fi
echo "postgresql://tweetsent:$PASSWORD@127.0.0.1:$PORT/tweetsent"
