# Sourced by scripts/setup.sh and scripts/lock.sh: finds an interpreter of a given major.minor.
find_python() {  # $1 = major.minor
  local want="$1" candidate
  for candidate in "python$want" "$HOME/.pyenv/versions/$want"*/bin/python "/usr/bin/python$want" "/usr/local/bin/python$want"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import sys,venv; assert sys.version.startswith('$want.')" 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}
