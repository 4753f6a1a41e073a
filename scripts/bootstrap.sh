#!/usr/bin/env bash
# Create .venv on Python 3.10 and install the pinned dependencies (Rasa 3.6 needs Python <3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

find_python310() {
  local candidate
  # PYTHON=/path/to/python3.10 picks the interpreter explicitly.
  for candidate in ${PYTHON:-python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10 \
    "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /root/.pyenv/versions/3.10*/bin/python3.10}; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys, venv; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY=$(find_python310) || {
    echo "setup: Python 3.10 not found (Rasa 3.6 needs Python 3.8-3.10). Install it (e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv') and run again." >&2
    exit 1
  }
  echo "setup: creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

echo "setup: installing pinned dependencies into $VENV (first run: a few minutes, ~3 GB)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip==24.0" || {
  echo "setup: could not upgrade pip in $VENV; check network access to PyPI" >&2; exit 1; }
if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c constraints.txt -e ".[dev]"; then
  echo "setup: installing dependencies failed (see pip's message above); fix it and run 'make setup' again" >&2
  exit 1
fi
"$VENV/bin/python" -m pip check >/dev/null || {
  echo "setup: 'pip check' reports broken requirements in $VENV:" >&2
  "$VENV/bin/python" -m pip check >&2; exit 1; }
echo "setup: done"
