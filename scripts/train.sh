#!/usr/bin/env bash
# Trains the Rasa model unless one trained from exactly these inputs already exists.
# Prints the model path on stdout (everything else goes to stderr).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
inputs_hash="$(cat config.yml domain.yml requirements/rasa.txt \
  $(find data nlu dialogue chinese_text english_text -type f \( -name '*.yml' -o -name '*.py' -o -name '*.txt' \) | sort) | sha256sum | cut -c1-16)"
model="models/collections-$inputs_hash.tar.gz"
if [ ! -f "$model" ]; then
  echo "[train] training Rasa model $model (about 10 minutes on 2 cores)" >&2
  mkdir -p models
  # Trained beside the others and renamed into place, so a concurrent run never loads a half-written model.
  staging="$(mktemp -d models/.training-XXXXXX)"
  trap 'rm -rf "$staging"' EXIT
  PYTHONPATH="$ROOT" RASA_TELEMETRY_ENABLED=false .venv-rasa/bin/rasa train \
    --config config.yml --domain domain.yml --data data --out "$staging" \
    --fixed-model-name "collections-$inputs_hash" >&2
  mv -f "$staging/collections-$inputs_hash.tar.gz" "$model"
fi
echo "$model"
