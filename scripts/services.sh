#!/usr/bin/env bash
# Make sure the named services are up, starting them the way a machine without
# systemd needs; a service already running is left alone.
#   scripts/services.sh docker postgres redis caddy
set -euo pipefail

wait_for() {  # wait_for NAME COMMAND...
    local name=$1
    shift
    for _ in $(seq 1 60); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "services: $name did not come up" >&2
    exit 1
}

docker_answers() { docker version --format '{{.Server.Version}}'; }
postgres_answers() { pg_isready -q -h 127.0.0.1 -p 5432; }
caddy_admin() { echo "${HOSTMGR_CADDY_ADMIN_URL:-http://127.0.0.1:2019}"; }
caddy_answers() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$(caddy_admin)/config/"
}
redis_answers() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }

start_docker() {
    docker_answers >/dev/null 2>&1 && return 0
    echo "services: starting dockerd"
    setsid dockerd >/var/log/hostmgr-dockerd.log 2>&1 </dev/null &
    wait_for dockerd docker_answers
}

start_postgres() {
    if ! postgres_answers 2>/dev/null; then
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        echo "services: starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        wait_for PostgreSQL postgres_answers
    fi
    # The tests connect as postgres over TCP without a password.
    if ! psql -h 127.0.0.1 -U postgres -tAc 'select 1' >/dev/null 2>&1; then
        echo "services: PostgreSQL at 127.0.0.1 must let postgres in (trust)" >&2
        exit 1
    fi
}

start_caddy() {
    caddy_answers 2>/dev/null && return 0
    local admin=${HOSTMGR_CADDY_ADMIN_URL:-http://127.0.0.1:2019}
    echo "services: starting Caddy (admin API $admin)"
    local config
    config=$(mktemp)
    printf '{"admin": {"listen": "%s"}}\n' "${admin#http://}" >"$config"
    # No --resume: an autosaved config may name another admin address. The
    # panel puts its routes back within seconds of Caddy starting.
    setsid caddy run --config "$config" \
        >/var/log/hostmgr-caddy.log 2>&1 </dev/null &
    wait_for Caddy caddy_answers
}

start_redis() {
    redis_answers 2>/dev/null && return 0
    echo "services: starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/hostmgr.log
    wait_for Redis redis_answers
}

for service in "$@"; do
    case "$service" in
        docker) start_docker ;;
        postgres) start_postgres ;;
        redis) start_redis ;;
        podman) ;; # hostmgr runs its own Podman API service
        caddy) start_caddy ;;
        *)
            echo "services: unknown service $service" >&2
            exit 2
            ;;
    esac
    echo "services: $service is up"
done
