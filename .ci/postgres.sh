#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for the tests and the benchmark.
#
#   .ci/postgres.sh start [PORT]    install the server if missing (as root), initdb, start; print DATABASE_URL
#   .ci/postgres.sh url [PORT]      print the DATABASE_URL of a running server
#   .ci/postgres.sh stop [PORT|URL] stop it and delete its data
#   .ci/postgres.sh install         only install the server package when it is missing
#
# PORT defaults to 54329 (start takes the next free one when it is busy). The server listens on
# 127.0.0.1 only, keeps its data, socket and log under $PG_TMP (default /tmp)/grocery-update-pg.PORT, and
# its one role is a superuser with a random password, because pytest-django creates and drops test_*
# databases. PostgreSQL refuses to run as root: as root it runs as the `postgres` user (created if missing).
# PG_FAST=1 turns fsync and synchronous_commit off: right for tests on a database that is thrown away,
# wrong for benchmark figures, which should pay for durable commits as production does.
set -euo pipefail

PORT_DEFAULT=54329
ROLE=grocery
DB=grocery

say() { echo "postgres.sh: $*" >&2; }

server_bin() {
    local initdb
    initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$initdb" ] && dirname "$initdb"
}

install_server() {
    if [ -n "$(server_bin)" ]; then
        return
    fi
    if [ "$(id -u)" -ne 0 ]; then
        say "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin; install the 'postgresql' package"
        exit 1
    fi
    say "installing the distribution's PostgreSQL server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The Debian package would create and start a cluster of its own; this script only needs the binaries.
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    if [ -z "$(server_bin)" ]; then
        say "apt-get installed postgresql but no initdb was found"
        exit 1
    fi
}

# Run a server binary as the user the server may run as: `postgres` when we are root, else ourselves.
as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

root_dir() { echo "${PG_TMP:-/tmp}/grocery-update-pg.$1"; }

port_of() {
    local arg=${1:-$PORT_DEFAULT}
    if [[ $arg == *://* ]]; then
        arg=${arg##*:}
        arg=${arg%%/*}
    fi
    echo "$arg"
}

start() {
    local port=${1:-$PORT_DEFAULT}
    install_server
    local bin
    bin=$(server_bin)
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    local tries=0
    while port_in_use "$port" || [ -e "$(root_dir "$port")" ]; do
        port=$((port + 1))
        tries=$((tries + 1))
        if [ $tries -ge 50 ]; then
            say "no free port found from ${1:-$PORT_DEFAULT}"
            exit 1
        fi
    done
    local root
    root=$(root_dir "$port")
    mkdir -p "$root"
    chmod 700 "$root"
    local password
    password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$password" >"$root/password"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres: "$root"
    fi
    as_server_user "$bin/initdb" --pgdata="$root/data" --username="$ROLE" --pwfile="$root/password" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$root/initdb.log" 2>&1 \
        || { say "initdb failed:"; cat "$root/initdb.log" >&2; rm -rf "$root"; exit 1; }
    local options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$root"
    if [ "${PG_FAST:-0}" = 1 ]; then
        options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    as_server_user "$bin/pg_ctl" --pgdata="$root/data" --log="$root/server.log" --wait --timeout=60 \
        --options="$options" start >/dev/null \
        || { say "the server did not start:"; cat "$root/server.log" >&2; rm -rf "$root"; exit 1; }
    PGPASSWORD=$password "$bin/createdb" --host=127.0.0.1 --port="$port" --username="$ROLE" "$DB"
    say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $root"
    url "$port"
}

url() {
    local port root
    port=$(port_of "${1:-}")
    root=$(root_dir "$port")
    if [ ! -r "$root/password" ]; then
        say "no server of this script on port $port"
        exit 1
    fi
    echo "postgres://$ROLE:$(cat "$root/password")@127.0.0.1:$port/$DB"
}

stop() {
    local port root bin
    port=$(port_of "${1:-}")
    root=$(root_dir "$port")
    bin=$(server_bin)
    if [ -n "$bin" ] && [ -f "$root/data/postmaster.pid" ]; then
        as_server_user "$bin/pg_ctl" --pgdata="$root/data" --mode=fast --wait stop >/dev/null || true
    fi
    rm -rf "$root"
}

case "${1:-}" in
    start) start "${2:-}" ;;
    url) url "${2:-}" ;;
    stop) stop "${2:-}" ;;
    install) install_server ;;
    *) echo "usage: $0 start [PORT] | url [PORT] | stop [PORT|URL] | install" >&2; exit 2 ;;
esac
