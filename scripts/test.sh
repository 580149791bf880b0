#!/usr/bin/env bash
# Sets everything up and runs the whole test suite, as CI does (.ci/run calls this).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
echo "[test] rasa data validate"
if ! validation="$(PYTHONPATH="$ROOT" RASA_TELEMETRY_ENABLED=false .venv-rasa/bin/rasa data validate \
      --domain domain.yml --data data --config config.yml 2>&1)"; then
  echo "$validation" | grep -v Warning | tail -40
  exit 1
fi
# Assigned first, then exported: `export X="$(cmd)"` would hide a failing command from `set -e`.
model="$(bash scripts/train.sh)"
export COLLECTIONS_TEST_MODEL="$model"
# No Redis URL: the tests start redis-servers of their own (tests/stack.py), so a developer's Redis is never
# written to, and two test sessions on one machine never share one.
# The ledger's PostgreSQL variants always run: the local server, or a private cluster started here.
postgres_url="$(bash scripts/postgres.sh)"
export LEDGER_TEST_PG_URL="$postgres_url"
echo "[test] model $COLLECTIONS_TEST_MODEL, postgresql $LEDGER_TEST_PG_URL"
exec .venv/bin/python -m pytest tests --durations=40 "$@"
