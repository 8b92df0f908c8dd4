#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 (wal_level=logical) and mosquitto broker on loopback, with all
# their files in DIR, and writes the addresses tests need to DIR/env (sourced by run-tests.sh).
# Usage: start.sh DIR
set -euo pipefail
dir=${1:?usage: start.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pg_bin/initdb" ] || { echo "start.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
pg_port=$(free_port)
pg_data="$dir/pg"
mkdir -p "$pg_data" "$dir/pg-socket" "$dir/pg-log"
chown -R postgres:postgres "$pg_data" "$dir/pg-socket" "$dir/pg-log"
chmod 755 "$dir"
echo sluice > "$dir/pg-password"
chown postgres "$dir/pg-password"
runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
  --pwfile="$dir/pg-password" -E UTF8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
cat >>"$pg_data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$dir/pg-socket'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
cat >"$pg_data/pg_hba.conf" <<HBA
local   all          all                   trust
local   replication  all                   trust
host    all          all    127.0.0.1/32   scram-sha-256
host    replication  all    127.0.0.1/32   scram-sha-256
HBA
if ! runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$dir/pg-log/postgres.log" -w -t 60 start >/dev/null; then
  echo "start.sh: PostgreSQL did not start; its log:" >&2; tail -30 "$dir/pg-log/postgres.log" >&2; exit 1
fi
psql_admin() { runuser -u postgres -- psql -h "$dir/pg-socket" -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_admin -c "CREATE ROLE sluice LOGIN REPLICATION SUPERUSER PASSWORD 'sluice'" >/dev/null
psql_admin -c "CREATE DATABASE sluice_test OWNER sluice" >/dev/null
[ "$(psql_admin -c 'SHOW wal_level')" = logical ] || { echo "start.sh: wal_level is not logical" >&2; exit 1; }

mqtt_port=$(free_port)
cat >"$dir/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence true
# Persistent MQTT sessions keep what arrives while the subscriber is away; the default (1000)
# would drop the rest.
max_queued_messages 1000000
persistence_location $dir/mqtt/
log_dest file $dir/mosquitto.log
pid_file $dir/mosquitto.pid
user root
CONF
mkdir -p "$dir/mqtt"
mosquitto -c "$dir/mosquitto.conf" -d
for _ in $(seq 1 100); do
  if mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -t sluice/probe -m ok -q 1 2>/dev/null; then break; fi
  sleep 0.1
done
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -t sluice/probe -m ok -q 1 || {
  echo "start.sh: mosquitto did not start; its log:" >&2; tail -30 "$dir/mosquitto.log" >&2; exit 1; }

cat >"$dir/env" <<ENV
export SLUICE_TEST_PG_URL=postgresql://sluice:sluice@127.0.0.1:$pg_port/sluice_test
export SLUICE_TEST_PG_ADMIN_URL=postgresql://postgres:sluice@127.0.0.1:$pg_port/postgres
export SLUICE_TEST_PG_DATA=$pg_data
export SLUICE_TEST_MQTT_URL=mqtt://127.0.0.1:$mqtt_port
ENV
echo "PostgreSQL on 127.0.0.1:$pg_port, mosquitto on 127.0.0.1:$mqtt_port (files in $dir)"
