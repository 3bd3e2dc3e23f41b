#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1; start any that do not.
set -euo pipefail

wait_for() {  # name, check command
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "$name did not come up" >&2; return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432 -q
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
fi
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_for RabbitMQ rabbitmqctl -q status
fi
# Both the port and the AMQP handshake must be ready before tests connect.
wait_for "RabbitMQ listener" bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672'

db=${GTV_DB_NAME:-gtvision}
if ! psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -qc "create database $db"
fi
psql -h 127.0.0.1 -U postgres -d template1 -qc "create extension if not exists pg_trgm" >/dev/null
# The services' roles (owners run migrations, least-privilege roles run the services).
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d "$db" \
  -f "$(dirname "$0")/../../deploy/postgres/roles.sql"
echo "services ready: PostgreSQL, Redis, RabbitMQ"
