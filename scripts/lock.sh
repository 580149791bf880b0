#!/usr/bin/env bash
# Regenerates the hashed lock files (requirements/*.lock) from the top-level pins (requirements/*.txt).
# Run it after changing a pin (`bash scripts/lock.sh app` or `rasa` for one environment; Rasa's takes about
# 25 minutes, hashing TensorFlow's wheels). scripts/setup.sh installs only from the lock files, hashes required.
# Pins already in a lock file are kept; delete the lock file to re-resolve everything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/python.sh
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT

lock() {  # $1 = interpreter, $2 = top-level requirements, $3 = lock file
  local venv="$tools/$(basename "$3")"
  "$1" -m venv "$venv"
  "$venv/bin/python" -m pip install -q pip-tools==7.6.2
  # The lock is resolved for the interpreter that will run it (Rasa's environment is Python 3.10).
  "$venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --no-header \
    --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --output-file "$3" "$2"
}

which="${1:-all}"
case "$which" in app|rasa|all) ;; *) echo "usage: $0 [app|rasa]" >&2; exit 2 ;; esac
[ "$which" = rasa ] || lock "$(find_python 3.11)" requirements/app.txt requirements/app.lock
[ "$which" = app ] || lock "$(find_python 3.10)" requirements/rasa.txt requirements/rasa.lock
