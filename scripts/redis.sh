#!/usr/bin/env bash
# Prints a Redis URL that answers: REDIS_URL if set, the local default server, or one we start.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
answers() { redis-cli -u "$1" ping 2>/dev/null | grep -q PONG; }
if [ -n "${REDIS_URL:-}" ] && answers "$REDIS_URL"; then echo "$REDIS_URL"; exit 0; fi
if answers "redis://127.0.0.1:6379/0"; then echo "redis://127.0.0.1:6379/0"; exit 0; fi
port=6390
mkdir -p "$ROOT/var/redis"
if ! answers "redis://127.0.0.1:$port/0"; then
  # Persistence: every write goes to an append-only file before it is acknowledged, so a restarted (or
  # killed) Redis comes back with every conversation, transcript and tracker.
  redis-server --port "$port" --bind 127.0.0.1 --dir "$ROOT/var/redis" --save "" \
    --appendonly yes --appendfsync always --daemonize yes \
    --pidfile "$ROOT/var/redis.pid" --logfile "$ROOT/var/redis.log" >/dev/null
  for _ in $(seq 50); do answers "redis://127.0.0.1:$port/0" && break; sleep 0.1; done
fi
answers "redis://127.0.0.1:$port/0" || { echo "could not start redis-server" >&2; exit 1; }
echo "redis://127.0.0.1:$port/0"
