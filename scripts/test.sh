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
# The model trains while the tests that need none run: they come first, and the first test that needs it waits
# for the training's status (tests/stack.py, trained_model). Its own process group, so it can be stopped.
training="$(mktemp -d)"
: > "$training/log"
setsid bash -c 'bash scripts/train.sh > "$1/model" 2> "$1/log"; echo $? > "$1/status"' _ "$training" &
echo $! > "$training/pid"
export COLLECTIONS_TEST_MODEL_TRAINING="$training"
stop_training() { kill -- "-$(cat "$training/pid")" 2>/dev/null || true; rm -rf "$training"; }
trap stop_training EXIT
# No Redis URL: the tests start redis-servers of their own (tests/stack.py), so a developer's Redis is never
# written to, and two test sessions on one machine never share one.
# The ledger's PostgreSQL variants always run: the local server, or a private cluster started here.
postgres_url="$(bash scripts/postgres.sh)"
export LEDGER_TEST_PG_URL="$postgres_url"
echo "[test] model training in the background (log: $training/log), postgresql $LEDGER_TEST_PG_URL"
.venv/bin/python -m pytest tests --durations=40 "$@"
