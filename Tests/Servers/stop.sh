#!/usr/bin/env bash
# Stops what start.sh started in DIR and removes DIR. Safe to run twice.
dir=${1:?usage: stop.sh DIR}
[ -d "$dir" ] || exit 0
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -f "$dir/pg/postmaster.pid" ]; then
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true
fi
if [ -f "$dir/mosquitto.pid" ]; then
  pid=$(cat "$dir/mosquitto.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
rm -rf "$dir"
