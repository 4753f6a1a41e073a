#!/usr/bin/env bash
# `make demo-scaled`: the production layout on one machine (README, "Production layout"):
# nginx (5005) -> two `rasa run` replicas (5006, 5007) -> one action server (5055), sharing
# PostgreSQL (the plugin's store and Rasa's tracker store) and Redis. Every server runs as a plain
# process with its data, configuration and logs in .handoff/scaled/ (no system service is used).
# Ctrl-C stops them all. Ports and the state directory can be changed for tests:
# DEMO_STATE_DIR, PUBLIC_PORT, REPLICA_PORTS, ACTIONS_PORT, PG_PORT, REDIS_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export RASA_TELEMETRY_ENABLED=${RASA_TELEMETRY_ENABLED:-false}
STATE=${DEMO_STATE_DIR:-.handoff}
SCALED=$(mkdir -p "$STATE/scaled" && cd "$STATE/scaled" && pwd)
STATE=$(cd "$STATE" && pwd)
LOGS=$SCALED/logs
PUBLIC_PORT=${PUBLIC_PORT:-5005}
read -r -a REPLICAS <<<"${REPLICA_PORTS:-5006 5007}"
ACTIONS_PORT=${ACTIONS_PORT:-5055}
PG_PORT=${PG_PORT:-5440}
REDIS_PORT=${REDIS_PORT:-6390}
mkdir -p "$LOGS"
chmod 700 "$STATE"

secret_in() {  # file bytes -> prints the secret kept in file
  if [ ! -s "$1" ]; then
    (umask 077; "$VENV/bin/python" -c "import secrets; print(secrets.token_urlsafe($2))" >"$1")
  fi
  cat "$1"
}
export HANDOFF_ACTIONS_TOKEN=${HANDOFF_ACTIONS_TOKEN:-$(secret_in "$STATE/actions-token" 32)}
export RASA_API_TOKEN=${RASA_API_TOKEN:-$(secret_in "$STATE/rasa-api-token" 32)}
PG_PASSWORD=$(secret_in "$SCALED/postgres-password" 24)
export PG_PASSWORD
# Saved secrets (Slack token, webhook secret, the session secret) are encrypted in PostgreSQL with
# this Fernet key, generated once (README, "Security"); production sets its own.
if [ ! -s "$SCALED/secret.key" ]; then
  (umask 077; "$VENV/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' >"$SCALED/secret.key")
fi
export HANDOFF_SECURITY_SECRET_KEY=${HANDOFF_SECURITY_SECRET_KEY:-$(cat "$SCALED/secret.key")}

for port in "$PUBLIC_PORT" "${REPLICAS[@]}" "$ACTIONS_PORT" "$PG_PORT" "$REDIS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo-scaled: port $port is already in use (another demo running?)." >&2
    exit 1
  fi
done

pids=()
pg_started=""
stop() {
  local status=${1:-$?}
  trap - INT TERM EXIT
  echo; echo "demo-scaled: stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$pg_started" ]; then
    bash scripts/postgres_cluster.sh stop "$SCALED/postgres" >>"$LOGS/postgres.log" 2>&1 || true
  fi
  echo "demo-scaled: stopped"
  exit "$status"
}
trap 'stop 0' INT TERM
trap stop EXIT

wait_for() {  # what pid check-command...
  local what=$1 pid=$2; shift 2
  for _ in $(seq 1 240); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo-scaled: $what exited during start-up; last lines of $LOGS/$what.log:" >&2
      tail -20 "$LOGS/$what.log" >&2; exit 1
    fi
    sleep 0.5
  done
  echo "demo-scaled: $what did not start within 120 s (see $LOGS/$what.log)" >&2; exit 1
}

# --- PostgreSQL: a cluster of our own in $SCALED/postgres (pg_ctl: it runs in the background) ---
if [ "$(id -u)" = 0 ]; then  # the postgres user (and nginx's workers) must reach their dirs
  chmod 711 "$STATE" "$SCALED"
fi
pg_started=yes
bash scripts/postgres_cluster.sh start "$SCALED/postgres" "$PG_PORT" >>"$LOGS/postgres.log" 2>&1 \
  || { tail -20 "$LOGS/postgres.log" >&2; echo "demo-scaled: PostgreSQL did not start (logs in $SCALED/postgres/)" >&2; exit 1; }
bash scripts/postgres_cluster.sh createdb "$SCALED/postgres" "$PG_PORT" handoff rasa >>"$LOGS/postgres.log" 2>&1

# --- Redis: no persistence (the database is the source of truth) ---
mkdir -p "$SCALED/redis"
cat >"$SCALED/redis/redis.conf" <<EOT
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize no
dir $SCALED/redis
save ""
appendonly no
EOT
redis-server "$SCALED/redis/redis.conf" >>"$LOGS/redis.log" 2>&1 &
pids+=($!)
redis_pid=${pids[-1]}
wait_for redis "$redis_pid" redis-cli -p "$REDIS_PORT" ping

# --- Settings every process shares (the same HANDOFF_* as `make demo` are honoured) ---
export HANDOFF_DATABASE_URL=${HANDOFF_DATABASE_URL:-postgresql+asyncpg://handoff:$PG_PASSWORD@127.0.0.1:$PG_PORT/handoff}
if "$VENV/bin/python" -c "import sys; from handoff_plugin.config.settings import Settings; sys.exit('redis' not in Settings.__fields__)"; then
  export HANDOFF_REDIS_URL=${HANDOFF_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}
fi
export HANDOFF_EMAIL_ENABLED=${HANDOFF_EMAIL_ENABLED:-true}
export HANDOFF_EMAIL_RECIPIENTS=${HANDOFF_EMAIL_RECIPIENTS:-support@example.com}
export HANDOFF_INBOX_PUBLIC_URL=${HANDOFF_INBOX_PUBLIC_URL:-http://localhost:$PUBLIC_PORT/webhooks/inbox}
# The visitor page is served through nginx: its origin is nginx's, not a replica's.
export HANDOFF_LIVECHAT_CORS_ALLOWED_ORIGINS=${HANDOFF_LIVECHAT_CORS_ALLOWED_ORIGINS:-http://localhost:$PUBLIC_PORT;http://127.0.0.1:$PUBLIC_PORT}
# nginx appends the visitor's address (right-most); per-address limits count visitors, not nginx.
export HANDOFF_LIVECHAT_TRUSTED_PROXY_HEADER=${HANDOFF_LIVECHAT_TRUSTED_PROXY_HEADER:-X-Forwarded-For}

# Rasa's side: tracker store in PostgreSQL, tracker lock in Redis, the action server's port.
cat >"$SCALED/endpoints.yml" <<EOT
# Generated by scripts/demo_scaled.sh; values in \${...} come from the environment.
action_endpoint:
  url: "http://127.0.0.1:$ACTIONS_PORT/webhook"
  token: \${HANDOFF_ACTIONS_TOKEN}
tracker_store:
  type: SQL
  dialect: postgresql
  url: 127.0.0.1
  port: $PG_PORT
  db: rasa
  username: handoff
  password: \${PG_PASSWORD}
lock_store:
  type: redis
  url: 127.0.0.1
  port: $REDIS_PORT
  db: 1
EOT

# Migrations once per deployment, before any replica starts.
"$VENV/bin/handoff" check >/dev/null
"$VENV/bin/handoff" db upgrade
if [ ! -f vendor/rasa-webchat/index.js ]; then
  bash scripts/fetch_webchat.sh
fi
DEMO_AGENT=${DEMO_AGENT:-agent@example.com}
PASSWORD_FILE=$STATE/demo-agent-password
DEMO_PASSWORD=$(secret_in "$PASSWORD_FILE" 12)
if ! "$VENV/bin/handoff" agent list | grep -q "^$DEMO_AGENT "; then
  printf '%s\n' "$DEMO_PASSWORD" | "$VENV/bin/handoff" agent add "$DEMO_AGENT" --name "Demo Agent" --role admin --password-stdin
fi

# --- The action server and the Rasa replicas ---
VENV=$VENV ACTIONS_PORT=$ACTIONS_PORT bash scripts/run_actions.sh >"$LOGS/actions.log" 2>&1 &
pids+=($!)
actions_pid=${pids[-1]}
replica_pids=()
for port in "${REPLICAS[@]}"; do
  VENV=$VENV RASA_PORT=$port RASA_PUBLIC_PORT=$PUBLIC_PORT bash scripts/run_rasa.sh \
    --model models/handoff.tar.gz --credentials credentials.yml \
    --endpoints "$SCALED/endpoints.yml" >"$LOGS/rasa-$port.log" 2>&1 &
  pids+=($!)
  replica_pids+=($!)
  echo "${pids[-1]}" >"$SCALED/rasa-$port.pid"
done

# --- nginx in front (its own prefix, pid, logs and temp paths) ---
NGINX_DIR=$SCALED/nginx
mkdir -p "$NGINX_DIR/logs" "$NGINX_DIR/temp"
upstreams=""
for port in "${REPLICAS[@]}"; do upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'; done
sed -e "s|@NGINX_DIR@|$NGINX_DIR|g" -e "s|@LISTEN@|127.0.0.1:$PUBLIC_PORT|" \
  -e "/@UPSTREAM_SERVERS@/{r /dev/stdin" -e "d}" deploy/nginx.conf.template \
  <<<"${upstreams%$'\n'}" >"$NGINX_DIR/nginx.conf"
nginx -p "$NGINX_DIR" -c nginx.conf -e "$NGINX_DIR/logs/error.log" -g 'daemon off;' >>"$LOGS/nginx.log" 2>&1 &
pids+=($!)
nginx_pid=${pids[-1]}

wait_for actions "$actions_pid" curl -fsS "http://127.0.0.1:$ACTIONS_PORT/health"
for i in "${!REPLICAS[@]}"; do
  port=${REPLICAS[$i]}
  wait_for "rasa-$port" "${replica_pids[$i]}" curl -fsS "http://127.0.0.1:$port/status?token=$RASA_API_TOKEN"
done
wait_for nginx "$nginx_pid" curl -fsS "http://127.0.0.1:$PUBLIC_PORT/webhooks/livechat/"

cat <<EOT

  rasa-handoff, scaled: nginx :$PUBLIC_PORT -> Rasa replicas ${REPLICAS[*]} -> actions :$ACTIONS_PORT,
  PostgreSQL :$PG_PORT and Redis :$REDIS_PORT (data, configs and logs in $SCALED).

  Visitor chat:     http://localhost:$PUBLIC_PORT/webhooks/livechat/demo
  Agent inbox:      http://localhost:$PUBLIC_PORT/webhooks/inbox
                    log in as $DEMO_AGENT / $DEMO_PASSWORD (kept in $PASSWORD_FILE)

  Press Ctrl-C to stop.
EOT
echo "demo-scaled: ready" >"$SCALED/ready"
# A replica that dies is not the end: nginx sends its visitors to the others. The shared servers are.
wait -n "$actions_pid" "$redis_pid" "$nginx_pid" || true
echo "demo-scaled: a server exited unexpectedly; see $LOGS/" >&2
exit 1
