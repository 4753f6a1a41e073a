#!/usr/bin/env bash
# `rasa run actions` closed by default, as the demo runs it (tests/security/ attacks exactly this):
# loopback only; the handoff hook refuses calls without HANDOFF_ACTIONS_TOKEN.
# Extra arguments are passed on.
set -euo pipefail
VENV=${VENV:-.venv}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
: "${HANDOFF_ACTIONS_TOKEN:?set HANDOFF_ACTIONS_TOKEN (scripts/demo.sh generates it into .handoff/actions-token)}"
export SANIC_HOST=127.0.0.1  # rasa-sdk's only way to choose the interface
exec "$VENV/bin/rasa" run actions --port "$ACTIONS_PORT" --actions actions "$@"
