#!/usr/bin/env bash
# Sets everything up and starts the whole system with embedded defaults (SQLite ledger; in-memory conversation state
# unless REDIS_URL is set). Demo borrowers are seeded only into an empty ledger, and only while no real carrier, SMS or
# WeChat provider is configured: their numbers have a real format, and a real provider would reach them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The ledger, logs and audit key hold personal data and secrets: this user's alone, including files an
# older version left readable to others.
umask 077
bash scripts/setup.sh
mkdir -p var && chmod -R go= var
.venv/bin/python -m ledger init
.venv/bin/python -m ledger seed --count 1000 --for-demo
.venv/bin/python -m bot.console seed-demo   # console logins agent1 / supervisor1 / reviewer1 (README)
model="$(bash scripts/train.sh)"
# The campaign worker's jobs, locks and contact caps need Redis even when conversations stay in memory: the one
# REDIS_URL names, the local default, or a private redis-server under var/ (scripts/redis.sh).
exec .venv/bin/python -m bot.launcher --model "$model" --campaign-redis-url "$(bash scripts/redis.sh)" "$@"
