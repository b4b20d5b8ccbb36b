#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the tests (installing Debian's postgresql
# when missing) and prints the URL to use. Data lives in a temporary folder; stop it with
# `scripts/start-test-postgres.sh stop`.
set -euo pipefail
port="${MOVIOLA_TEST_POSTGRES_PORT:-55432}"
dir="${MOVIOLA_TEST_POSTGRES_DIR:-/tmp/moviola-test-postgres}"

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "PostgreSQL is not installed: sudo apt-get install -y postgresql" >&2; exit 1; fi
  echo "installing postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi

# PostgreSQL refuses to run as root: use the postgres account when we are root.
as_db_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "stop" ]; then
  [ -d "$dir" ] && as_db_user "$bindir/pg_ctl" -D "$dir" -m fast stop >&2 || true
  exit 0
fi

if ! as_db_user "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  rm -rf "$dir"
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  as_db_user "$bindir/initdb" -D "$dir" -U moviola --auth=trust -E UTF8 >/dev/null
  as_db_user "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2
  as_db_user "$bindir/createdb" -h 127.0.0.1 -p "$port" -U moviola moviola_test
fi
echo "postgres://moviola@127.0.0.1:$port/moviola_test"
