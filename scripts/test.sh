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
export COLLECTIONS_TEST_MODEL="$(bash scripts/train.sh)"
export COLLECTIONS_TEST_REDIS_URL="$(bash scripts/redis.sh)"
echo "[test] model $COLLECTIONS_TEST_MODEL, redis $COLLECTIONS_TEST_REDIS_URL"
exec .venv/bin/python -m pytest tests "$@"
