#!/usr/bin/env bash
# The PostgreSQL sink benchmark of issue 6, floor and subject in the same run:
#   data:    1,000,000 records {"id", "body" (100 bytes), "at" (timestamp)} in a topic
#   subject: a `sink: postgres` connector loading them into an empty table, mode insert (no key)
#            and mode upsert (primary key id), batch_size $BATCH (default 5000, the bulk-load
#            setting the README recommends; the connector's own default is 1000); timed from the task reporting RUNNING to the sink writing its offsets row
#            for the last record (the row's updated_at)
#   floor:   psql `\copy` of the same rows from a CSV file into an empty table
# RSS is the worker's peak (VmHWM) during a sink round; the worker is restarted before each.
# ROUNDS and RECORDS override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/bench-lib.sh
source Benchmarks/bench-lib.sh
rounds=${ROUNDS:-3}
records=${RECORDS:-1000000}
batch=${BATCH:-5000}

bench_setup
db="$url"
sql() { psql "$db" -XAtq -v ON_ERROR_STOP=1 -c "$1" 2>&1 | grep -v '^NOTICE' || true; }

api=$(free_port)
mkdir -p "$work/connectors"
cat >"$work/worker.yaml" <<YAML
data_dir: $work/data
connectors_dir: $work/connectors
api: { listen: 127.0.0.1:$api }
log: { partitions: 1 }
YAML

start_worker() {
  "$bin/sluice" run --config "$work/worker.yaml" >>"$work/worker.log" 2>&1 &
  worker=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$api/connectors" && return; sleep 0.1; done
  echo "worker did not start"; tail -20 "$work/worker.log"; exit 1
}
stop_worker() { kill "$worker"; wait "$worker" 2>/dev/null || true; worker=""; }
end_offset() {
  curl -s "http://127.0.0.1:$api/topics/$1" | python3 -c 'import json,sys; print(sum(p["end_offset"] for p in json.load(sys.stdin).get("partitions", [])))' 2>/dev/null || echo 0
}

echo "generating $records records"
python3 - "$records" "$work/rows.jsonl" "$work/rows.csv" <<'PY'
import sys
n, jsonl, csv = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = "b" * 100
with open(jsonl, "w") as j, open(csv, "w") as c:
    for i in range(1, n + 1):
        at = "2026-11-25T10:%02d:%02d.%03dZ" % (i // 60000 % 60, i // 1000 % 60, i % 1000)
        j.write('{"id": %d, "body": "%s", "at": "%s"}\n' % (i, body, at))
        c.write('%d,%s,%s\n' % (i, body, at))
PY
start_worker
cat >"$work/connectors/load.yaml" <<YAML
name: load
source: file
topic: bench.rows
config: { path: $work/rows.jsonl, batch_lines: 5000, poll_ms: 20 }
YAML
until [ "$(end_offset bench.rows)" -ge "$records" ]; do sleep 0.5; done
rm "$work/connectors/load.yaml"
stop_worker

floor_round() {
  sql "DROP TABLE IF EXISTS floor_rows; CREATE TABLE floor_rows (id bigint, body text, at timestamptz)"
  local t0 t1
  t0=$(now)
  psql "$db" -XAtq -v ON_ERROR_STOP=1 -c "\\copy floor_rows FROM '$work/rows.csv' WITH (FORMAT csv)"
  t1=$(now)
  awk -v n="$records" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}'
}

# sink_round MODE: loads the topic into a fresh table; prints "rate peak_rss_mib".
sink_round() {
  local mode=$1 table="sink_$1" key="" t0 t1
  if [ "$mode" = upsert ]; then key="PRIMARY KEY"; fi
  sql "DROP TABLE IF EXISTS $table; CREATE TABLE $table (id bigint $key, body text, at timestamptz)"
  sql "CREATE TABLE IF NOT EXISTS sluice_sink_offsets (connector text NOT NULL, topic text NOT NULL, \"partition\" integer NOT NULL, next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (connector, topic, \"partition\")); DELETE FROM sluice_sink_offsets"
  rm -rf "$work/data/offsets"
  start_worker
  cat >"$work/connectors/sink.yaml" <<YAML
name: bench-sink
sink: postgres
topics: [bench.rows]
config: { url: "$db", table: $table, mode: $mode, primary_key: [id], batch_size: $batch }
YAML
  until curl -s "http://127.0.0.1:$api/connectors/bench-sink/status" | grep -q RUNNING; do sleep 0.01; done
  t0=$(now)
  # Poll slowly (each psql costs CPU the worker and PostgreSQL would use); the end time is the
  # moment the sink wrote its last offsets row (updated_at = clock_timestamp(), same host clock).
  until [ "$(sql "SELECT coalesce(sum(next_offset), 0) FROM sluice_sink_offsets WHERE connector = 'bench-sink'")" -ge "$records" ]; do
    sleep 0.25
  done
  t1=$(sql "SELECT extract(epoch FROM max(updated_at)) FROM sluice_sink_offsets WHERE connector = 'bench-sink'")
  local rss
  rss=$(peak_rss_mib "$worker")
  rm "$work/connectors/sink.yaml"
  stop_worker
  local rows
  rows=$(sql "SELECT count(*) FROM $table")
  [ "$rows" -eq "$records" ] || { echo "table $table has $rows rows, want $records" >&2; exit 1; }
  echo "$(awk -v n="$records" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}') $rss"
}

echo "postgres sink benchmark: $records records, batch_size $batch, $rounds rounds"
: >"$work/floor"; : >"$work/insert"; : >"$work/upsert"; : >"$work/rss"
for round in $(seq 1 "$rounds"); do
  f=$(floor_round)
  read -r i irss < <(sink_round insert)
  read -r u ursss < <(sink_round upsert)
  echo "round $round: floor (psql \\copy) $f rows/s | insert $i rows/s (peak RSS $irss MiB) | upsert $u rows/s (peak RSS $ursss MiB)"
  echo "$f" >>"$work/floor"; echo "$i" >>"$work/insert"; echo "$u" >>"$work/upsert"
  echo "$irss" >>"$work/rss"; echo "$ursss" >>"$work/rss"
done
f=$(median <"$work/floor"); i=$(median <"$work/insert"); u=$(median <"$work/upsert")
maxrss=$(sort -n "$work/rss" | tail -1)
echo "median: floor $f rows/s | insert $i rows/s, ratio $(awk -v a="$i" -v b="$f" 'BEGIN {printf "%.2f", a / b}') (target >= 0.60) | upsert $u rows/s, ratio $(awk -v a="$u" -v b="$f" 'BEGIN {printf "%.2f", a / b}') (target >= 0.40) | peak RSS $maxrss MiB (target < 64)"
