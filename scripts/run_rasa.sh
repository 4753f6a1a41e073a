#!/usr/bin/env bash
# `rasa run` closed by default, as the demo runs it (tests/security/ attacks exactly this):
# loopback only, the HTTP API behind RASA_API_TOKEN, CORS for the server's own origin only.
# Behind a reverse proxy, RASA_PUBLIC_PORT adds the proxy's loopback origin to CORS.
# Extra arguments (model, credentials, endpoints) are passed on.
set -euo pipefail
VENV=${VENV:-.venv}
RASA_PORT=${RASA_PORT:-5005}
: "${RASA_API_TOKEN:?set RASA_API_TOKEN (scripts/demo.sh generates it into .handoff/rasa-api-token)}"
exec "$VENV/bin/rasa" run --interface 127.0.0.1 --port "$RASA_PORT" \
  --enable-api --auth-token "$RASA_API_TOKEN" \
  --cors "http://localhost:$RASA_PORT" "http://127.0.0.1:$RASA_PORT" \
  ${RASA_PUBLIC_PORT:+"http://localhost:$RASA_PUBLIC_PORT" "http://127.0.0.1:$RASA_PUBLIC_PORT"} "$@"
