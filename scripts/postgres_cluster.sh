#!/usr/bin/env bash
# A PostgreSQL cluster of our own in a directory (Debian's binaries, no system service), TCP on
# loopback only, password auth. Used by scripts/demo_scaled.sh and its tests.
#   postgres_cluster.sh start DIR PORT    (initdb on first use; the superuser is `handoff`,
#                                          its password read from DIR/../postgres-password)
#   postgres_cluster.sh stop DIR
#   postgres_cluster.sh createdb DIR PORT NAME...   (only those that do not exist yet)
set -euo pipefail
command=$1 dir=$2
bindir=""
for candidate in "$(pg_config --bindir 2>/dev/null || true)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
  if [ -n "$candidate" ] && [ -x "$candidate/initdb" ]; then bindir=$candidate; break; fi
done
if [ -z "$bindir" ]; then
  echo "postgres: no initdb found; apt-get install postgresql (scripts/system_services.sh does it)" >&2
  exit 1
fi
as_owner() {  # PostgreSQL refuses to run as root: run its tools as the postgres user then
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
password_file=$(dirname "$dir")/postgres-password

case $command in
  start)
    port=$3
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
      chown postgres "$dir"; chmod 700 "$dir"
      if ! runuser -u postgres -- test -x "$dir"; then
        echo "postgres: the postgres user cannot reach $dir (a parent directory is private);" \
          "run as a normal user, or from a checkout every user can enter" >&2
        exit 1
      fi
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      # The postgres user cannot read our private password file: a copy in its own 700 dir.
      pwfile=$dir/initdb-password
      (umask 077; cp "$password_file" "$pwfile")
      if [ "$(id -u)" = 0 ]; then chown postgres "$pwfile"; fi
      as_owner "$bindir/initdb" -D "$dir/data" -U handoff --pwfile="$pwfile" \
        --auth=scram-sha-256 -E UTF8 >"$dir/initdb.log" || { rm -f "$pwfile"; exit 1; }
      rm -f "$pwfile"
    fi
    # No Unix socket (TCP on 127.0.0.1 only), fsync off: a demo's data, not a bank's.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off"
    ;;
  stop)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop
    ;;
  createdb)
    port=$3; shift 3
    export PGPASSWORD
    PGPASSWORD=$(cat "$password_file")
    for name in "$@"; do
      if ! "$bindir/psql" -h 127.0.0.1 -p "$port" -U handoff -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        "$bindir/createdb" -h 127.0.0.1 -p "$port" -U handoff "$name"
      fi
    done
    ;;
  *)
    echo "usage: postgres_cluster.sh start|stop|createdb DIR [PORT] [NAME...]" >&2
    exit 2
    ;;
esac
