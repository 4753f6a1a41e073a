#!/usr/bin/env bash
# System packages the integration tests and `make demo-scaled` need (installed with apt when missing).
set -euo pipefail

apt_install() {  # package...
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "services: $* missing and apt-get is not available; install it with your package manager" >&2
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "services: installing $* (apt-get)"
  if ! $sudo apt-get update -qq >/tmp/rasa-handoff-apt.log 2>&1 \
    || ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >>/tmp/rasa-handoff-apt.log 2>&1; then
    tail -15 /tmp/rasa-handoff-apt.log >&2
    echo "services: could not install $* with apt-get (full log: /tmp/rasa-handoff-apt.log)" >&2
    return 1
  fi
}

# Headless Chromium for the browser tests (Playwright drives /usr/bin/chromium; it cannot
# download its own browser here).
if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
# The IANA timezone database business hours are computed in (absent from minimal images).
if [ ! -e /usr/share/zoneinfo/Europe/Berlin ]; then
  apt_install tzdata
fi
# nginx: `make demo-scaled` runs its own (generated config, never the system service).
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  apt_install nginx
fi
# PostgreSQL server binaries: the scale-out tests start a throwaway cluster with initdb.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  apt_install postgresql
fi
# redis-server binary: the scale-out tests start their own on a free port (never the service).
if ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server
fi
echo "services: system packages ready"
