#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 server for the test suite, on 127.0.0.1 and a free port.
#   scripts/postgres-test-server.sh start DIR   prints the URL to use as COFFER_TEST_POSTGRES_URL
#   scripts/postgres-test-server.sh stop DIR
#   scripts/postgres-test-server.sh halt DIR     stops it at once (-m immediate, as a crash would), keeping the data
#   scripts/postgres-test-server.sh resume DIR   starts a halted server again on the same port
# The server refuses to run as root, so as root it runs as the unprivileged user `coffer-pg`.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
action=${1:?usage: $0 start|stop DIR}
dir=$(realpath -m "${2:?usage: $0 start|stop DIR}")

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u coffer-pg -- "$@"; else "$@"; fi
}

case "$action" in
start)
    if [ ! -x "$PGBIN/initdb" ]; then
        echo "PostgreSQL 15 server binaries not found in $PGBIN: run 'make deps' (it installs postgresql-15)" >&2
        exit 1
    fi
    if [ "$(id -u)" = 0 ] && ! id coffer-pg >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin coffer-pg
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown coffer-pg "$dir"
    as_owner "$PGBIN/initdb" -D "$dir/data" --auth=trust -E UTF8 --no-locale -U coffer >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # The test superuser `coffer` needs no password; every other role (the ones rotation and dynamic
    # credentials create) must log in with its password, so tests can prove an old password is refused.
    as_owner bash -c "cat > '$dir/data/pg_hba.conf'" <<'HBA'
local all coffer trust
host  all coffer 127.0.0.1/32 trust
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
HBA
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U coffer coffer_test
    echo "$port" > "$dir/port"
    echo "postgres://coffer@127.0.0.1:$port/coffer_test"
    ;;
halt)
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
resume)
    port=$(cat "$dir/port")
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    ;;
stop)
    if [ -d "$dir/data" ]; then
        as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop|halt|resume DIR" >&2
    exit 2
    ;;
esac
