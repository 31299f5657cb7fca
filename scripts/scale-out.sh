#!/usr/bin/env bash
# The scale-out stack on one machine without Docker: PostgreSQL and Redis on loopback, then
# `hub migrate`, two `hub web` and two `hub worker` processes sharing them.
#
#   bash scripts/scale-out.sh [DIR]      # state in DIR (default ./scale-out), Ctrl+C stops all
#
# Ports (override with the same names): PG_PORT 55432, REDIS_PORT 56379, WEB_PORTS "8080 8081",
# WORKER_METRICS_PORTS "9101 9102". Put a proxy (nginx, Caddy) in front of the web ports and give
# its URL as HUB_PUBLIC_URL. Channel variables (HUB_TELEGRAM_*, HUB_TWILIO_*, ...) are passed on.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/hub ] || bash scripts/setup.sh

state=$(realpath -m "${1:-scale-out}")
pg_port=${PG_PORT:-55432}
redis_port=${REDIS_PORT:-56379}
read -r -a web_ports <<<"${WEB_PORTS:-8080 8081}"
read -r -a metrics_ports <<<"${WORKER_METRICS_PORTS:-9101 9102}"

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

mkdir -p "$state/logs"
pids=()
stop_all() {
  echo "stopping…" >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  run_pg "$pg_bin/pg_ctl" -D "$state/pg" -m fast stop >/dev/null 2>&1 || true
}
trap stop_all EXIT INT TERM

# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
run_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres "$state/pg" 2>/dev/null || true
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

if [ ! -f "$state/pg/PG_VERSION" ]; then
  mkdir -p "$state/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres "$state/pg"
  run_pg "$pg_bin/initdb" -D "$state/pg" -U hub --auth=trust -E UTF8 >"$state/logs/initdb.log"
fi
run_pg "$pg_bin/pg_ctl" -D "$state/pg" -l "$state/pg/server.log" -w \
  -o "-p $pg_port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
run_pg "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U hub -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname='hub'" | grep -q 1 ||
  run_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U hub hub

redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$state" --appendonly yes \
  --appendfsync everysec --maxmemory-policy noeviction --save "" \
  >"$state/logs/redis.log" 2>&1 &
pids+=($!)

export HUB_DATABASE_URL="postgresql://hub@127.0.0.1:$pg_port/hub"
export HUB_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export HUB_PUBLIC_URL="${HUB_PUBLIC_URL:-http://127.0.0.1:${web_ports[0]}}"
for _ in $(seq 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
.venv/bin/hub migrate

for port in "${web_ports[@]}"; do
  HUB_PORT=$port .venv/bin/hub web >"$state/logs/web-$port.log" 2>&1 &
  pids+=($!)
done
for port in "${metrics_ports[@]}"; do
  .venv/bin/hub worker --metrics-port "$port" >"$state/logs/worker-$port.log" 2>&1 &
  pids+=($!)
done

for port in "${web_ports[@]}"; do
  for _ in $(seq 300); do
    .venv/bin/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null && break
    sleep 0.1
  done
done
cat <<EOF
scale-out stack running (state and logs in $state):
  PostgreSQL  $HUB_DATABASE_URL
  Redis       $HUB_REDIS_URL
  hub web     ${web_ports[*]/#/http://127.0.0.1:}
  hub worker  metrics on ${metrics_ports[*]/#/http://127.0.0.1:}
Create an operator: HUB_DATABASE_URL=$HUB_DATABASE_URL .venv/bin/hub operator create --email you@shop.test --name You --role admin
Ctrl+C stops everything.
EOF
wait -n "${pids[@]}" || true
echo "a process of the stack exited; see $state/logs" >&2
