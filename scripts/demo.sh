#!/usr/bin/env bash
# `make demo`: the bot (5005), the action server (5055), and what to open. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=5055  # endpoints.yml names this port
# .handoff/ holds the database, its secret.key (made there on first start) and the demo password:
# only its owner may read it.
(umask 077; mkdir -p .handoff/logs) && chmod 700 .handoff

# The demo's notifications: email to a demo address, printed here instead of sent (no SMTP host).
# Set HANDOFF_EMAIL_SMTP_HOST (and friends, see README) to send real ones.
export HANDOFF_EMAIL_ENABLED=${HANDOFF_EMAIL_ENABLED:-true}
export HANDOFF_EMAIL_RECIPIENTS=${HANDOFF_EMAIL_RECIPIENTS:-support@example.com}
export HANDOFF_INBOX_PUBLIC_URL=${HANDOFF_INBOX_PUBLIC_URL:-http://localhost:$RASA_PORT/webhooks/inbox}

# Secrets are generated once and kept in .handoff/ (private to you, not in git).
secret_in() {  # file bytes -> prints the secret kept in file
  if [ ! -s "$1" ]; then
    (umask 077; "$VENV/bin/python" -c "import secrets; print(secrets.token_urlsafe($2))" >"$1")
  fi
  cat "$1"
}
# Rasa sends the action token with every action call (endpoints.yml `token:`); the action server
# refuses calls without it. The Rasa HTTP API answers only requests with ?token=<api token>.
export HANDOFF_ACTIONS_TOKEN=${HANDOFF_ACTIONS_TOKEN:-$(secret_in .handoff/actions-token 32)}
API_TOKEN_FILE=.handoff/rasa-api-token
export RASA_API_TOKEN=${RASA_API_TOKEN:-$(secret_in "$API_TOKEN_FILE" 32)}

# DEMO_SLACK=1: escalations also start a thread in a local stand-in for Slack (no Slack account
# needed), answered from there with scripts/slack_chat.py (see README, "Answering from Slack").
SLACK_PORT=${SLACK_PORT:-5099}
if [ "${DEMO_SLACK:-0}" = 1 ]; then
  export HANDOFF_SLACK_ENABLED=true HANDOFF_SLACK_BOT_TOKEN=xoxb-demo HANDOFF_SLACK_CHANNEL='#support'
  export HANDOFF_SLACK_API_URL=http://127.0.0.1:$SLACK_PORT/api/
  HANDOFF_SLACK_SIGNING_SECRET=${HANDOFF_SLACK_SIGNING_SECRET:-$(secret_in .handoff/slack-signing-secret 24)}
  export HANDOFF_SLACK_SIGNING_SECRET
fi

"$VENV/bin/handoff" check >/dev/null
"$VENV/bin/handoff" db upgrade
if [ ! -f vendor/rasa-webchat/index.js ]; then
  bash scripts/fetch_webchat.sh
fi

# A demo agent for the inbox (an admin: the demo shows the Settings page too): its password is generated once and kept in .handoff/ (not in git).
DEMO_AGENT=${DEMO_AGENT:-agent@example.com}
PASSWORD_FILE=.handoff/demo-agent-password
DEMO_PASSWORD=$(secret_in "$PASSWORD_FILE" 12)
if ! "$VENV/bin/handoff" agent list | grep -q "^$DEMO_AGENT "; then
  printf '%s\n' "$DEMO_PASSWORD" | "$VENV/bin/handoff" agent add "$DEMO_AGENT" --name "Demo Agent" --role admin --password-stdin
fi
# A second agent (not an admin), to try claiming, transfers and presence in a second browser.
DEMO_AGENT_2=${DEMO_AGENT_2:-agent2@example.com}
PASSWORD_FILE_2=.handoff/demo-agent2-password
DEMO_PASSWORD_2=$(secret_in "$PASSWORD_FILE_2" 12)
if ! "$VENV/bin/handoff" agent list | grep -q "^$DEMO_AGENT_2 "; then
  printf '%s\n' "$DEMO_PASSWORD_2" | "$VENV/bin/handoff" agent add "$DEMO_AGENT_2" --name "Second Agent" --role agent --password-stdin
fi

pids=()
stop() {
  local status=${1:-$?}
  trap - INT TERM EXIT
  echo; echo "demo: stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped"
  exit "$status"
}
trap 'stop 0' INT TERM
trap stop EXIT

for port in "$RASA_PORT" "$ACTIONS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port is already in use (another demo running?). Stop it (or set RASA_PORT for Rasa's port)." >&2
    exit 1
  fi
done

if [ "${DEMO_SLACK:-0}" = 1 ]; then
  echo "demo: starting the Slack stand-in on port $SLACK_PORT (its threads are printed here)"
  "$VENV/bin/python" scripts/slack_chat.py serve --port "$SLACK_PORT" --email "U0DEMO=$DEMO_AGENT" &
  pids+=($!)
fi
echo "demo: starting the action server on port $ACTIONS_PORT (log: .handoff/logs/actions.log)"
# Its log also goes through a filter that shows the console emails (no SMTP host) right here.
VENV=$VENV ACTIONS_PORT=$ACTIONS_PORT bash scripts/run_actions.sh > >(
  tee .handoff/logs/actions.log \
    | sed -u -n '/^=* handoff: email NOT sent/,/end of email =*$/p'
) 2>&1 &
actions_pid=$!
pids+=($actions_pid)
echo "demo: starting Rasa on port $RASA_PORT (log: .handoff/logs/rasa.log)"
VENV=$VENV RASA_PORT=$RASA_PORT bash scripts/run_rasa.sh --model models/handoff.tar.gz \
  --credentials credentials.yml --endpoints endpoints.yml >.handoff/logs/rasa.log 2>&1 &
rasa_pid=$!
pids+=($rasa_pid)

wait_for() {  # url name pid
  for _ in $(seq 1 240); do
    if curl -fsS "$1" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then
      echo "demo: $2 exited during start-up; last lines of its log:" >&2
      tail -20 ".handoff/logs/$2.log" >&2; exit 1
    fi
    sleep 0.5
  done
  echo "demo: $2 did not start within 120 s (see .handoff/logs/$2.log)" >&2; exit 1
}
wait_for "http://127.0.0.1:$ACTIONS_PORT/health" actions "$actions_pid"
wait_for "http://127.0.0.1:$RASA_PORT/status?token=$RASA_API_TOKEN" rasa "$rasa_pid"

SLACK_HINT=""
if [ "${DEMO_SLACK:-0}" = 1 ]; then
  SLACK_HINT="  Answer from Slack (the stand-in prints each thread here), as the Slack user U0DEMO:
    .venv/bin/python scripts/slack_chat.py reply \"Hi, how can I help?\"
    .venv/bin/python scripts/slack_chat.py click end      (or: click claim; see README)
"
fi
cat <<EOT

  rasa-handoff demo is running.

  Agent inbox:      http://localhost:$RASA_PORT/webhooks/inbox
                    log in as $DEMO_AGENT / $DEMO_PASSWORD
                    (the password is kept in $PASSWORD_FILE; change it with
                     .venv/bin/handoff agent passwd $DEMO_AGENT)
                    a second agent, for a second browser (or a private window):
                    $DEMO_AGENT_2 / $DEMO_PASSWORD_2
  Visitor chat:     http://localhost:$RASA_PORT/webhooks/livechat/demo
                    (rasa-webchat; ask for a person, then answer from the inbox)

$SLACK_HINT
  Talk to the bot (REST channel):
    curl -s localhost:$RASA_PORT/webhooks/rest/webhook -d '{"sender": "me", "message": "I want to talk to a human"}'
  Socket.io for your own rasa-webchat page: http://localhost:$RASA_PORT  (socket path /socket.io)
  Rasa HTTP API (token in $API_TOKEN_FILE):
    curl -s "localhost:$RASA_PORT/status?token=\$(cat $API_TOKEN_FILE)"
  Action server:            http://localhost:$ACTIONS_PORT/health (calls need .handoff/actions-token)
  Both listen on 127.0.0.1 only; see README, "Security", before exposing anything.
  Escalations and transcripts are stored in .handoff/handoff.db; logs in .handoff/logs/.
  Notification emails to $HANDOFF_EMAIL_RECIPIENTS are printed below (no SMTP server configured).

  Press Ctrl-C to stop.
EOT
wait -n "$actions_pid" "$rasa_pid" || true
echo "demo: a server exited unexpectedly; see .handoff/logs/" >&2
exit 1
