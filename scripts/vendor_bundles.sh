#!/usr/bin/env bash
# Fetches the browser bundles the pages serve from the npm registry, once, each pinned by version and tarball hash
# (scripts/setup.sh and the application image run it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# The web chat demo page (/demo/webchat) serves the unmodified rasa-webchat widget: its UMD bundle
# (global `WebChat`), fetched once from the npm registry, pinned by version and tarball hash.
WEBCHAT_DIR=var/vendor/rasa-webchat-1.0.1
WEBCHAT_SHA256=cd2a8ee5211df95c626fc78bcf9d7d3a50368eacd43c7154476d29e519d42685
if [ ! -s "$WEBCHAT_DIR/lib/index.js" ]; then
  log "fetching rasa-webchat 1.0.1 from the npm registry"
  tarball_dir="$(mktemp -d)"
  (cd "$tarball_dir" && npm pack --silent rasa-webchat@1.0.1 >/dev/null)
  echo "$WEBCHAT_SHA256  $tarball_dir/rasa-webchat-1.0.1.tgz" | sha256sum -c --quiet - \
    || { log "rasa-webchat tarball does not match its pinned hash"; exit 1; }
  mkdir -p "$WEBCHAT_DIR"
  tar -xzf "$tarball_dir/rasa-webchat-1.0.1.tgz" -C "$WEBCHAT_DIR" --strip-components=1 \
    package/lib/index.js package/LICENSE package/package.json
  rm -rf "$tarball_dir"
fi
grep -qs "WebChat" "$WEBCHAT_DIR/lib/index.js" || { log "$WEBCHAT_DIR/lib/index.js is not the widget bundle"; exit 1; }
# The supervisor's KPI dashboard (/console/kpis) draws its charts with Chart.js: its UMD bundle (global `Chart`),
# fetched the same way, pinned by version and tarball hash.
CHARTJS_DIR=var/vendor/chart.js-4.6.1
CHARTJS_SHA256=9345dacdf4bb4c5d40321f4b9aafab6fe676d37a534fc0bc2d17c4c4e29c4f00
if [ ! -s "$CHARTJS_DIR/dist/chart.umd.min.js" ]; then
  log "fetching chart.js 4.6.1 from the npm registry"
  tarball_dir="$(mktemp -d)"
  (cd "$tarball_dir" && npm pack --silent chart.js@4.6.1 >/dev/null)
  echo "$CHARTJS_SHA256  $tarball_dir/chart.js-4.6.1.tgz" | sha256sum -c --quiet - \
    || { log "chart.js tarball does not match its pinned hash"; exit 1; }
  mkdir -p "$CHARTJS_DIR"
  tar -xzf "$tarball_dir/chart.js-4.6.1.tgz" -C "$CHARTJS_DIR" --strip-components=1 \
    package/dist/chart.umd.min.js package/LICENSE.md package/package.json
  rm -rf "$tarball_dir"
fi
grep -qs "Chart" "$CHARTJS_DIR/dist/chart.umd.min.js" || { log "$CHARTJS_DIR/dist/chart.umd.min.js is not the Chart.js bundle"; exit 1; }
