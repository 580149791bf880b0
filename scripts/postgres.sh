#!/usr/bin/env bash
# Prints a PostgreSQL URL (SQLAlchemy form) for the ledger tests that answers: LEDGER_TEST_PG_URL if set,
# the local server at 127.0.0.1:5432 (database `test`, user postgres, trust auth), or a private cluster
# we start ourselves in var/postgres-test on port 5440 (like scripts/redis.sh does for Redis).
# Exits 1, saying why, if none can be had: the PostgreSQL tests then fail loudly instead of skipping.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${COLLECTIONS_TEST_PG_PORT:-5440}"
DEFAULT_URL="${COLLECTIONS_TEST_PG_DEFAULT_URL:-postgresql://postgres@127.0.0.1:5432/test}"
say() { printf '\033[1m[postgres]\033[0m %s\n' "$*" >&2; }
answers() { psql "$1" -Atqc 'SELECT 1' 2>/dev/null | grep -q '^1$'; }
sqlalchemy() { echo "${1/#postgresql:\/\//postgresql+psycopg2://}"; }

if [ -n "${LEDGER_TEST_PG_URL:-}" ]; then
  plain="${LEDGER_TEST_PG_URL/#postgresql+psycopg2:\/\//postgresql://}"
  answers "$plain" || { say "LEDGER_TEST_PG_URL does not answer: $LEDGER_TEST_PG_URL"; exit 1; }
  echo "$LEDGER_TEST_PG_URL"; exit 0
fi
if answers "$DEFAULT_URL"; then sqlalchemy "$DEFAULT_URL"; exit 0; fi

private="postgresql://postgres@127.0.0.1:$PORT/test"
if answers "$private"; then sqlalchemy "$private"; exit 0; fi

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] || {
  say "no PostgreSQL server binaries (Debian package postgresql); scripts/setup.sh installs them"; exit 1; }

DATA="$ROOT/var/postgres-test"
mkdir -p "$DATA"
# initdb and postgres refuse to run as root: as root, the cluster belongs to the postgres user.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { say "running as root and there is no postgres user to run the server"; exit 1; }
  chown postgres "$DATA"
  as_owner() { runuser -u postgres -- "$@"; }
else
  as_owner() { "$@"; }
fi
if [ ! -s "$DATA/PG_VERSION" ]; then
  say "creating a private test cluster in $DATA (port $PORT)"
  as_owner "$bindir/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$DATA.initdb.log" 2>&1 \
    || { say "initdb failed; see $DATA.initdb.log"; exit 1; }
fi
say "starting the private test cluster on 127.0.0.1:$PORT"
as_owner "$bindir/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
  -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
  || { say "the private cluster did not start; see $DATA/server.log"; exit 1; }
admin="postgresql://postgres@127.0.0.1:$PORT/postgres"
if ! psql "$admin" -Atqc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
  psql "$admin" -qc 'CREATE DATABASE test' >/dev/null
fi
answers "$private" || { say "the private cluster does not answer at $private"; exit 1; }
sqlalchemy "$private"
