#!/usr/bin/env bash
# Make sure the services the tests use are up: PostgreSQL and Redis on loopback.
# Starts them the way a machine without systemd needs; does nothing if they run.
set -euo pipefail

wait_for() {  # wait_for NAME COMMAND...
    local name=$1; shift
    for _ in $(seq 1 60); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "services: $name did not come up" >&2
    exit 1
}

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "services: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
fi
# The tests connect as postgres over TCP without a password.
if ! psql -h 127.0.0.1 -U postgres -tAc 'select 1' >/dev/null 2>&1; then
    echo "services: PostgreSQL at 127.0.0.1 must let user postgres in (trust auth)" >&2
    exit 1
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    echo "services: starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/hostmgr-ci.log
    wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
fi
echo "services: PostgreSQL and Redis are up"
